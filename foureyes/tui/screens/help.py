"""F1 / ? help: what each screen is for, every key (from the same `Action`s as the bindings),
the filter language and how untrusted text is shown."""

from __future__ import annotations

import importlib
from functools import lru_cache, partial
from importlib import resources

from rich.console import Console
from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import APP_ACTIONS, Action
from ..navigation import DESTINATIONS

# Detail screens are not sections, but their keys belong in the help too.
DETAIL_SCREENS = (("Person", ".screens.person:PersonScreen"), ("Path", ".screens.path:PathScreen"))


def _table(actions: list[Action]) -> str:
    lines = ["| key | does | binding id |", "|---|---|---|"]
    for action in actions:
        lines.append(f"| `{action.display_keys}` | {action.help or action.description} | `{action.id}` |")
    return "\n".join(lines)


def _screen_actions(path: str) -> list[Action]:
    module_name, _, class_name = path.partition(":")
    module = importlib.import_module(module_name, "foureyes.tui")
    return list(getattr(module, class_name).ACTIONS)


def help_markdown() -> str:
    text = resources.files("foureyes.tui").joinpath("help.md").read_text(encoding="utf-8")
    parts = [text, "## Keys everywhere", _table(list(APP_ACTIONS) + [d.action for d in DESTINATIONS]),
             "`ctrl+p` opens the command palette: every key below is there as a \"category: action\" "
             "command, with more (sort by a column, a matrix team or app, open a snapshot).",
             "To change a key, map its binding id in `keymap.toml` beside your `foureyes.toml` in the "
             "user config directory (or the file $FOUREYES_KEYMAP names), for example:\n\n"
             "```toml\n[keys]\n\"app.search\" = \"ctrl+k\"\n```"]
    for destination in DESTINATIONS:
        parts += [f"## {destination.key} {destination.title}", destination.help + ".",
                  _table(_screen_actions(destination.screen))]
    for title, path in DETAIL_SCREENS:
        parts += [f"## {title}", _table(_screen_actions(path))]
    return "\n\n".join(parts)


@lru_cache(maxsize=1)
def help_document() -> RichMarkdown:
    """The help as one Rich renderable, parsed once."""
    return RichMarkdown(help_markdown(), code_theme="ansi_dark", inline_code_theme="ansi_dark")


def help_width(terminal_width: int) -> int:
    """The width the help is laid out at: the panel (90% of the terminal) less border, padding
    and scroll bar."""
    return max(terminal_width * 9 // 10 - 6, 20)


@lru_cache(maxsize=4)
def help_text(width: int) -> Text:
    """The help laid out once for a width, as plain styled lines: drawing those costs nothing,
    where Rich laid the Markdown (and its tables) out again for every paint and every measure,
    and Textual's Markdown widget mounted a widget per block (either took seconds to open)."""
    console = Console(width=width, force_terminal=True, color_system="truecolor", legacy_windows=False)
    lines = console.render_lines(help_document(), console.options.update_width(width), pad=False)
    text = Text("\n").join(Text.assemble(*((seg.text, seg.style) for seg in line if not seg.control))
                           for line in lines)
    _ready.add(width)
    return text


def prepare_help(terminal_width: int) -> None:
    """Lay the help out ahead of time (the app calls this in a worker once it has started)."""
    help_text(help_width(terminal_width))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        width = help_width(self.app.size.width)
        with VerticalScroll(id="help-panel"):
            yield Static(help_text(width) if _laid_out(width) else Text("Laying out the help…", style="italic"),
                         id="help")

    def on_mount(self) -> None:
        self.query_one("#help-panel").focus()
        width = help_width(self.app.size.width)
        if not _laid_out(width):
            self.run_worker(partial(self._lay_out, width), thread=True, exclusive=True, group="help",
                            exit_on_error=False)

    def _lay_out(self, width: int) -> None:
        text = help_text(width)
        self.app.call_from_thread(self._show, text)

    def _show(self, text: Text) -> None:
        for static in self.query("#help").results(Static):  # none once the help was closed
            static.update(text)


_ready: set[int] = set()


def _laid_out(width: int) -> bool:
    return width in _ready
