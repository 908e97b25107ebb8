"""F1 / ? help: what each screen is for, every key (from the same `Action`s as the bindings),
the filter language and how untrusted text is shown."""

from __future__ import annotations

import importlib
from functools import lru_cache, partial
from importlib import resources

from typing import Sequence

from rich.console import Console
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..actions import APP_ACTIONS, Action, key_names
from ..navigation import DESTINATIONS

# Detail screens are not sections, but their keys belong in the help too; so do the dialogs'.
DETAIL_SCREENS = (("Person", ".screens.person:PersonScreen"), ("Path", ".screens.path:PathScreen"))
DIALOGS = (("Search (/)", ".screens.search:SearchScreen"), ("Snapshots (s)", ".screens.snapshots:SnapshotsScreen"),
           ("Export (x on Review)", ".screens.export:ExportScreen"),
           ("New campaign (ctrl+n on Review)", ".screens.campaign_new:NewCampaignScreen"),
           ("Exception (e on Review)", ".screens.review_dialogs:ExceptionScreen"),
           ("Bulk confirmation (Review)", ".screens.review_dialogs:ConfirmScreen"),
           ("Help", ".screens.help:HelpScreen"))


def _table(actions: list[Action]) -> str:
    if not actions:
        return "No keys of its own: the keys everywhere (above) work here."
    lines = ["| key | does | binding id |", "|---|---|---|"]
    for action in actions:
        lines.append(f"| `{action.display_keys}` | {action.help or action.description} | `{action.id}` |")
    return "\n".join(lines)


def _class(path: str) -> type:
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name, "foureyes.tui"), class_name)  # type: ignore[no-any-return]


def _screen_actions(path: str) -> list[Action]:
    return list(_class(path).ACTIONS)


def _binding_table(path: str) -> str:
    lines = ["| key | does | binding id |", "|---|---|---|"]
    for binding in _class(path).__dict__.get("BINDINGS", []):
        if isinstance(binding, Binding):
            lines.append(f"| `{key_names(binding.key)}` | {binding.tooltip or binding.description} | `{binding.id}` |")
    return "\n".join(lines)


def help_markdown() -> str:
    text = resources.files("foureyes.tui").joinpath("help.md").read_text(encoding="utf-8")
    parts = [text, "## Keys everywhere", _table(list(APP_ACTIONS) + [d.action for d in DESTINATIONS]),
             "`ctrl+p` opens the command palette: every key below is there as a \"category: action\" "
             "command, with more (sort by a column, a matrix team or app, open a snapshot). `esc` closes a "
             "dialog or a detail screen; `q` closes a dialog you do not type in (help, export, snapshots) and "
             "quits elsewhere.",
             "To change a key, map its binding id in `keymap.toml` beside your `foureyes.toml` in the "
             "user config directory (or the file $FOUREYES_KEYMAP names), for example:\n\n"
             "```toml\n[keys]\n\"app.search\" = \"ctrl+k\"\n```"]
    for destination in DESTINATIONS:
        parts += [f"## {destination.key} {destination.title}", destination.help + ".",
                  _table(_screen_actions(destination.screen))]
    for title, path in DETAIL_SCREENS:
        parts += [f"## {title}", _table(_screen_actions(path))]
    parts.append("## Dialogs")
    for title, path in DIALOGS:
        parts += [f"### {title}", _binding_table(path)]
    return "\n\n".join(parts)


@lru_cache(maxsize=1)
def help_document() -> RichMarkdown:
    """The help as one Rich renderable, parsed once."""
    return RichMarkdown(help_markdown(), code_theme="ansi_dark", inline_code_theme="ansi_dark")


def help_width(terminal_width: int) -> int:
    """The width the help is laid out at: the panel (90% of the terminal) less border, padding
    and scroll bar."""
    return max(terminal_width * 9 // 10 - 6, 20)


_LINES: dict[int, tuple[Strip, ...]] = {}  # the help laid out, by width


def help_lines(width: int, console: Console) -> tuple[Strip, ...]:
    """The help laid out once for a width (by the app's console: nothing is written), as lines
    ready to draw: opening it then draws only the lines on screen. Rich laid the Markdown (and its
    tables) out again for every paint and every measure, and Textual's Markdown widget mounted a
    widget per block; either took seconds."""
    found = _LINES.get(width)
    if found is None:
        lines = console.render_lines(help_document(), console.options.update_width(width), pad=True)
        found = _LINES[width] = tuple(Strip([seg for seg in line if not seg.control], width) for line in lines)
    return found


def prepare_help(terminal_width: int, console: Console) -> None:
    """Lay the help out ahead of time (the app calls this in a worker once it has started)."""
    help_lines(help_width(terminal_width), console)


class HelpLines(ScrollView, can_focus=True):
    """Lines laid out beforehand, drawn as they scroll into view (keys scroll as in any scroll view)."""

    DEFAULT_CSS = "HelpLines { height: 1fr; }"

    def __init__(self, lines: Sequence[Strip], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: Sequence[Strip] = ()
        self.show(lines)

    def show(self, lines: Sequence[Strip]) -> None:
        self.lines = lines
        self.virtual_size = Size(max((s.cell_length for s in lines), default=0), len(lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, style)
        scroll_x = round(self.scroll_x)
        return self.lines[index].crop_extend(scroll_x, scroll_x + width, style)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close the help")]

    def compose(self) -> ComposeResult:
        width = help_width(self.app.size.width)
        waiting = (Strip([Segment("Laying out the help…", Style(italic=True))]),)
        with Vertical(id="help-panel"):
            yield HelpLines(_LINES.get(width, waiting), id="help")

    def on_mount(self) -> None:
        self.query_one("#help").focus()
        width = help_width(self.app.size.width)
        if width not in _LINES:
            self.run_worker(partial(self._lay_out, width), thread=True, exclusive=True, group="help",
                            exit_on_error=False)

    def _lay_out(self, width: int) -> None:
        lines = help_lines(width, self.app.console)
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: Sequence[Strip]) -> None:
        for view in self.query("#help").results(HelpLines):  # none once the help was closed
            view.show(lines)


