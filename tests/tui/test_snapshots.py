"""SVG snapshots of every screen and dialog on the Acme demo, at 100×30 and at 160×48.

One app per size walks through every screen (starting an app costs more than a screen does),
taking a snapshot at each step (the dialogs at 100×30, where they are tightest), with the clock at the demo's November snapshot so dates in
campaigns and dialogs do not move. At 100×30 every table on every screen must keep its id
and title columns (what matters most, `rows.Column.priority` 0) and never cut an id.

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the SVGs in __snapshots__ (render them to PNG) before committing them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
import time_machine
from pytest_textual_snapshot import SVGImageExtension

from foureyes.tui import make_app
from foureyes.tui.rows import natural_widths
from foureyes.tui.widgets.table import RecordTable

from .conftest import press, screen_text, settle, type_text


def shows(app, words: str) -> bool:
    """``words`` are on screen, wherever a dialog wrapped them."""
    return "".join(words.split()) in "".join(screen_text(app).split())

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
PRISCILLA = "priscilla.payne@acme.com"

# (snapshot, keys from where the step before left the app). "text:…" types; the walk's order matters.
WALK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("overview", ()),
    ("conflicts", ("2", "down", "down", "down", "down", "down", "down", "down", "down")),  # Paul Platt, FE-SOD-003
    ("path", ("enter", "down")),
    ("proof", ("escape", "home")),  # FE-ACT-001: Max shipped a change alone, proven hop by hop
    ("changes", ("7", "f", "text:hotfix", "enter")),  # the population, filtered to Max's change and its proof
    ("matrix", ("3", "down")),
    ("people", ("4",)),
    ("person", ("f", "text:max", "enter", "enter")),
    ("gaps", ("escape", "5")),
    ("search", ("slash", "text:sam")),
    ("snapshots", ("escape", "s")),
    ("help", ("escape", "f1")),
    ("review-first-steps", ("escape", "6")),  # no campaign, nobody said who they are
    ("campaign-new", ("ctrl+n",)),
    ("review-who", ("ctrl+s",)),  # a campaign now, still nobody reviewing
    ("review-as", ("i", "text:" + PRISCILLA)),
    ("review", ("enter", "down", "down")),
    ("exception", ("e", "text:on call until the deploy bot ships")),
    ("export", ("escape", "x")),
)
SIZES = {"100x30": (100, 30), "160x48": (160, 48)}
# Dialogs are laid out for 100 columns and centred wider: the wide walk takes only the screens.
DIALOGS = {"campaign-new", "review-who", "review-as", "exception", "export"}


def essential_columns_missing(app) -> list[str]:
    """Each table on screen that hides a column of priority 0, or cuts one that is `whole`."""
    found = []
    for table in app.screen.query(RecordTable):
        if not table.display or not table.region.width:
            continue
        shown = dict((c.key, w) for c, w in table.shown_columns)
        natural = dict(zip((c.key for c in table.columns), natural_widths(table.columns, table.rows)))
        for column in table.columns:
            if column.priority == 0 and column.key not in shown:
                found.append(f"{type(app.screen).__name__} #{table.id}: {column.key} hidden")
            elif column.whole and column.key in shown and shown[column.key] < natural[column.key]:
                found.append(f"{type(app.screen).__name__} #{table.id}: {column.key} cut")
    return found


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_screen(size, snapshot, demo_url, monkeypatch):
    monkeypatch.chdir("/")  # the export dialog shows the file it would write, in the working directory
    snap = snapshot.use_extension(SVGImageExtension)
    width, height = SIZES[size]
    differ: list[str] = []
    cramped: list[str] = []

    async def walk() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=(width, height)) as pilot:
            await settle(app, pilot)
            for name, keys in WALK:
                for key in keys:
                    if key.startswith("text:"):
                        await type_text(app, pilot, key[5:])
                    elif key == "down":  # a run of moves settles once (the detail pane follows the last)
                        await pilot.press(key)
                    else:
                        await settle(app, pilot)
                        await press(app, pilot, key)
                await settle(app, pilot)
                await pilot.wait_for_scheduled_animations()
                await pilot.pause()
                if width == 100:
                    cramped.extend(essential_columns_missing(app))
                if width == 100 or name not in DIALOGS:
                    if not snap(name=name) == app.export_screenshot(title=app.title, simplify=True):
                        differ.append(name)
                if width == 100:
                    await behaviour(name, app, pilot)

    with time_machine.travel(NOW, tick=False):
        asyncio.run(walk())
    assert not cramped, cramped
    assert not differ, f"snapshots differ at {size}: {differ} (see __snapshots__; --snapshot-update after a look)"


async def behaviour(name: str, app, pilot) -> None:
    """What the walk also checks where it passes: the review tab's first steps, a refused
    exception that keeps what was typed, the export dialog chosen with the arrows."""
    screen = app.screen
    if name == "review-first-steps":
        text = screen_text(app)
        assert "1  Who are you?" in text and "Press i and type your email" in text
        assert "None is open. Press ctrl+n to create one" in text
        footer = {k.key for k in screen.query("FooterKey")}
        assert {"i", "ctrl+n"} <= footer and not {"c", "v", "d", "e", "u", "x", "space"} & footer  # nothing dead
        assert not screen.query("ProgressBar") and len(app.screen_stack) == 1  # no bar at --%, no dialog taking keys
        await press(app, pilot, "c")  # a deciding key does nothing yet: no error, no dialog
        assert app.screen is screen and len(app.screen_stack) == 1
    elif name == "review":
        assert "34 items in your queue" in screen_text(app)
    elif name == "exception":
        review = app.screen_stack[-2]
        item = review.table.current_key
        expires = screen.query_one("#exception-expires")
        await press(app, pilot, "enter")  # the reason is typed: on to the expiry
        expires.value = "2030-01-31"  # past the campaign's 365 days
        await press(app, pilot, "enter")
        assert app.screen is screen, "a refused exception closed the dialog"
        error = screen.query_one("#exception-error")
        assert "must be after today and at most 365 days ahead (by 2027-11-02)" in str(error.render())
        assert screen.query_one("#exception-reason").value == "on call until the deploy bot ships"
        # refused by the store (the item changed since the queue was loaded): the dialog stays too
        decided = app.workspace.decide(int(item), "defer", actor=PRISCILLA)
        assert decided.item.state == "defer"
        expires.value = "2027-01-31"
        await press(app, pilot, "enter")
        assert app.screen is screen and str(error.render()).startswith("Refused: "), str(error.render())
        assert screen.query_one("#exception-reason").value == "on call until the deploy bot ships"
        await press(app, pilot, "escape")
        assert review.table.current_key == item  # the cursor did not move on as if decided
        await press(app, pilot, "x")  # (the walk's next step closes the dialog first)
        await press(app, pilot, "escape")
    elif name == "export":
        chosen = [c.id for c in screen.query("RadioButton") if c.value]
        await press(app, pilot, "down")  # the arrows choose: the preview follows at once
        now = [c.id for c in screen.query("RadioButton") if c.value]
        assert chosen == ["choice-tickets-markdown"] and now == ["choice-tickets-jira-csv"]
        assert screen.query_one("#export-preview").text.startswith("Summary,")
        await press(app, pilot, "up", "q")  # q closes the dialog like esc
        assert type(app.screen).__name__ == "ReviewScreen"
