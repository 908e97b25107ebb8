"""Keys are data: every binding has an id, each footer shows its screen's keys whole, the palette and
the help screen offer every action."""

from __future__ import annotations

import asyncio
import importlib
import re

from foureyes.tui import make_app
from foureyes.tui.app import FoureyesApp
from foureyes.tui.commands import palette_commands
from foureyes.tui.navigation import DESTINATIONS
from foureyes.tui.screens.help import help_markdown
from foureyes.tui.screens.path import PathScreen
from foureyes.tui.screens.person import PersonScreen
from foureyes.tui.screens.search import SearchScreen
from foureyes.tui.screens.snapshots import SnapshotsScreen
from foureyes.tui.widgets.table import RecordTable

from .conftest import SIZE, press, screen_text, settle, type_text


def _shown(app, selector: str) -> str:
    """What one widget shows on screen, its rows joined (cut at its own edges, not the background's)."""
    region = app.screen.query_one(selector).content_region
    rows = screen_text(app).splitlines()[region.y:region.y + region.height]
    return "".join(row[region.x:region.x + region.width] for row in rows)


def _screen_classes():
    for d in DESTINATIONS:
        module_name, _, name = d.screen.partition(":")
        yield getattr(importlib.import_module(module_name, "foureyes.tui"), name)
    yield from (PersonScreen, PathScreen, SearchScreen, SnapshotsScreen)


def test_every_binding_has_an_id_that_names_one_key_and_action():
    """A keymap names binding ids: one id must mean one thing wherever it is bound."""
    seen: dict[str, tuple[str, str]] = {}
    for cls in (FoureyesApp, RecordTable, *_screen_classes()):
        ids = []
        for binding in cls.__dict__.get("BINDINGS", []):  # Textual's own inherited keys aside
            assert binding.id, f"{cls.__name__}: binding {binding.key} has no id"
            ids.append(binding.id)
            meaning = seen.setdefault(binding.id, (binding.key, binding.action))
            assert meaning == (binding.key, binding.action), f"{binding.id} means two things"
        assert len(ids) == len(set(ids)), cls.__name__


def test_each_footer_shows_its_screens_keys_whole_at_100_columns(demo_url):
    """The footer offers the keys of the screen on it (the ones its actions mark for the footer),
    and at 100 columns every one of them is whole, left of the palette's hint."""

    def shown(app) -> tuple[set[str], bool]:
        keys = [k for k in app.screen.query("FooterKey") if not k.has_class("-command-palette")]
        palette = [k for k in app.screen.query("FooterKey") if k.has_class("-command-palette")]
        edge = palette[0].region.x if palette else app.size.width
        return {k.key for k in keys}, all(k.region.right <= edge for k in keys)

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            for keys, name in ((["1"], "overview"), (["2"], "conflicts"), (["3"], "matrix"), (["4"], "people"),
                               (["5"], "gaps"), (["7"], "changes"), (["4", "enter"], "person"),
                               (["2", "f", "s", "o", "d", "enter", "enter"], "path"), (["escape", "escape", "6"], "review")):
                await press(app, pilot, *keys)
                assert type(app.screen).__name__.lower().startswith(name)
                footer, whole = shown(app)
                assert whole, f"{name}: a footer key is cut at 100 columns"
                wanted = {a.keys.split(",")[0] for a in getattr(type(app.screen), "ACTIONS", ()) if a.show}
                if name == "review":  # no campaign yet: only the first steps, nothing that would do nothing
                    assert {"i", "ctrl+n"} <= footer and not {"c", "v", "d", "e", "x", "space"} & footer
                else:
                    assert wanted <= footer, (name, wanted - footer)
                assert {"question_mark", "q"} <= footer

    asyncio.run(main())


def test_palette_commands_are_named_category_action_and_run(demo_url):
    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "3")
            names = [name for name, _, _ in palette_commands(app, app.screen)]
            assert all(re.match(r"^[a-z]+: \S", n) for n in names), names
            for expected in ("go: conflicts", "app: search", "snapshot: switch snapshot", "matrix: team sre",
                             "matrix: app payments", "matrix: conflicts only",
                             "snapshot: open 1 taken 2026-10-01 08:00 UTC"):
                assert expected in names
            # through the real palette, by keys
            await press(app, pilot, "ctrl+p")
            await type_text(app, pilot, "go: gaps")
            await press(app, pilot, "enter")
            await settle(app, pilot)
            assert app.current_mode == "gaps"

    asyncio.run(main())


def test_help_lists_every_section_and_key(demo_url):
    text = help_markdown()
    for d in DESTINATIONS:
        assert f"## {d.key} {d.title}" in text
    for fragment in ("| `/` |", "| `?, f1` |", "| `s` | Choose which stored snapshot", "| `enter` | Draw every path",
                     "## Filtering", "## Untrusted text"):
        assert fragment in text

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "f1")
            assert type(app.screen).__name__ == "HelpScreen"
            assert "foureyes shows who can change code and put it into production" in screen_text(app)
            await press(app, pilot, "escape", "question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            await press(app, pilot, "escape")
            assert type(app.screen).__name__ == "OverviewScreen"

    asyncio.run(main())


def test_a_keymap_file_rebinds_keys_by_binding_id(demo_url, isolated_dirs):
    keymap = isolated_dirs / "config" / "foureyes" / "keymap.toml"
    keymap.parent.mkdir(parents=True)
    keymap.write_text('[keys]\n"app.search" = "ctrl+k"\n"go.matrix" = "m"\n', encoding="utf-8")

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "m")
            assert app.current_mode == "matrix"
            await press(app, pilot, "ctrl+k")
            assert type(app.screen).__name__ == "SearchScreen"

    asyncio.run(main())


def test_a_keymap_with_an_unknown_binding_id_is_one_clear_message(demo_url, isolated_dirs):
    keymap = isolated_dirs / "config" / "foureyes" / "keymap.toml"
    keymap.parent.mkdir(parents=True)
    keymap.write_text('[keys]\n"conflicts.filtre" = "ctrl+f"\n', encoding="utf-8")

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ErrorScreen"
            expected = (f"{keymap}:2: keys.\"conflicts.filtre\": not a binding id (did you mean 'conflicts.filter'?); "
                        "the help (F1) shows each key's binding id")
            assert app.screen.message == expected
            # on screen as written, wherever the terminal wrapped the long path
            assert "".join(expected.split()) in "".join(_shown(app, "#error-message").split())
            await press(app, pilot, "escape", "2")  # the defaults still work
            assert app.current_mode == "conflicts"

    asyncio.run(main())


def test_palette_offers_a_sections_commands_from_anywhere(demo_url):
    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "ctrl+p")
            await type_text(app, pilot, "matrix: team sre")
            await press(app, pilot, "enter")
            await settle(app, pilot)
            assert app.current_mode == "matrix"
            assert {r.cells[0] for r in app.screen.table.visible_rows} == {"Sam Sato", "Sid Shah", "Sue Sorensen"}

    asyncio.run(main())
