"""The top-level sections (Textual modes) and how each is reached.

A section is one screen file plus one `Destination` line in `DESTINATIONS`; the number key,
the navigation bar, the command palette ("go: …") and the help screen all come from here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from textual.screen import Screen

from .actions import Action


@dataclass(frozen=True)
class Destination:
    id: str  # mode name
    title: str  # navigation bar label
    key: str  # number key
    help: str  # one line for the palette and the help screen
    screen: str  # "module:Class", imported when the section is first opened

    def factory(self) -> Callable[[], Screen]:
        module_name, _, class_name = self.screen.partition(":")

        def make() -> Screen:
            module = importlib.import_module(module_name, __package__)
            return getattr(module, class_name)()

        return make

    @property
    def action(self) -> Action:
        return Action(f"go.{self.id}", self.key, f"go('{self.id}')", self.title, "go", self.help)


DESTINATIONS: tuple[Destination, ...] = (
    Destination("overview", "Overview", "1", "Snapshot, sources, people, findings by severity and drift",
                ".screens.overview:OverviewScreen"),
    Destination("conflicts", "Conflicts", "2", "Every finding: sort, filter, read its rule and paths",
                ".screens.conflicts:ConflictsScreen"),
    Destination("matrix", "Matrix", "3", "People × capabilities for a tier, team or app",
                ".screens.matrix:MatrixScreen"),
    Destination("people", "People", "4", "Everyone, with accounts, capabilities and findings",
                ".screens.people:PeopleScreen"),
    Destination("gaps", "Gaps", "5", "What could not be read, and what it may hide",
                ".screens.gaps:GapsScreen"),
    Destination("review", "Review", "6", "Your recertification queue: certify, revoke, defer, except",
                ".screens.review:ReviewScreen"),
    Destination("changes", "Changes", "7", "Every production change of the review period, with its verdict",
                ".screens.changes:ChangesScreen"),
)


def destination(mode: str) -> Destination | None:
    return next((d for d in DESTINATIONS if d.id == mode), None)
