"""Keys and commands as data: one `Action` gives a key binding (with an id), a palette entry
and a help line, so the footer, the command palette and F1 never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    id: str  # binding id, stable for keymaps: "conflicts.filter"
    keys: str  # Textual key names, comma separated: "question_mark,f1"
    action: str  # the Textual action run on the screen (or the app): "filter"
    description: str  # short, for the footer: "Filter"
    category: str  # palette category: "conflicts"
    help: str = ""  # one line for the palette and the help screen
    show: bool = False  # in the footer (at most six keys in all)
    key_display: str | None = None
    priority: bool = False

    @property
    def command(self) -> str:
        """The command palette name: "category: action"."""
        return f"{self.category}: {self.help_title}"

    @property
    def help_title(self) -> str:
        return self.description[0].lower() + self.description[1:] if self.description else self.id

    @property
    def display_keys(self) -> str:
        """Every key that runs it, as the help screen lists them."""
        return key_names(self.keys)

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.show, id=self.id,
                       key_display=self.key_display, priority=self.priority, tooltip=self.help)


# Textual's key names as a user reads them on the keyboard.
KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc", "asterisk": "*", "space": "space",
             "enter": "enter", "plus": "+", "minus": "-"}


def key_names(keys: str) -> str:
    """``question_mark,f1`` as ``?, f1``."""
    return ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def bindings(actions: Iterable[Action]) -> list[Binding]:
    return [a.binding() for a in actions]


# Keys that work on every screen.
APP_ACTIONS: tuple[Action, ...] = (
    Action("app.search", "slash", "search", "Search", "app", "Search people, findings, resources, rules and gaps",
           show=True, key_display="/"),
    Action("app.help", "question_mark,f1", "help", "Help", "help", "Keys, screens and the filter language",
           show=True, key_display="?"),
    Action("app.snapshot", "s", "switch_snapshot", "Switch snapshot", "snapshot",
           "Choose which stored snapshot to triage"),
    Action("app.reload", "r", "reload", "Reload snapshots", "snapshot",
           "Read the store again (after `foureyes snapshot` ran)"),
    Action("app.quit", "q", "quit", "Quit", "app", "Leave foureyes", show=True),
)
