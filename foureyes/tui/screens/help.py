"""F1 / ? help: what each screen is for, every key (from the same `Action`s as the bindings),
the filter language and how untrusted text is shown."""

from __future__ import annotations

import importlib
from importlib import resources

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

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


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close the help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-panel"):
            yield Markdown(help_markdown(), id="help")

    def on_mount(self) -> None:
        self.query_one("#help-panel").focus()
