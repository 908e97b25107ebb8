"""People: everyone in the snapshot, linked or not, with their accounts, capabilities and findings."""

from __future__ import annotations

from rich.text import Text
from textual import on

from ..actions import Action
from ..rows import Row
from ..state import PEOPLE_COLUMNS, PEOPLE_FIELDS, Triage, people_rows
from ..widgets.table import RecordTable
from .tabular import TableScreen


class PeopleScreen(TableScreen):
    DESTINATION = "people"
    COLUMNS = PEOPLE_COLUMNS
    FIELDS = PEOPLE_FIELDS
    NOUN = "people"
    NOUN_ONE = "person"
    EMPTY = "No human accounts in this snapshot."
    FILTER_HINT = "filter: words, name:…, person:…, system:aws, linked:unlinked"
    ACTIONS = (
        Action("people.open", "enter", "open", "Open", "people", "Open the selected person", show=True),
        Action("people.filter", "f", "filter", "Filter", "people", "Filter by words or field:value", show=True),
        Action("people.unlinked", "u", "unlinked", "Unlinked only", "people",
               "Show only accounts that could not be linked to a person (again: everyone)", show=True),
        Action("people.sort", "o", "sort", "Sort by next column", "people", "Cycle the sort column"),
        Action("people.close_filter", "escape", "close_filter", "Leave filter", "people",
               "Back to the table; the filter stays"),
    )

    def make_rows(self, triage: Triage) -> list[Row]:
        return people_rows(triage)

    def summary_extra(self) -> Text:
        unlinked = self.table.count_visible("linked", "unlinked")
        return Text(f"{unlinked} unlinked", style="yellow" if unlinked else "")

    @on(RecordTable.Selected, "#table")
    def _selected(self, event: RecordTable.Selected) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.table.current
        if row is None:
            self.app.bell()
            return
        self.app.open_person(row.key)  # type: ignore[attr-defined]

    def action_unlinked(self) -> None:
        value = self.query_one("#filter").value  # type: ignore[attr-defined]
        words = value.split()
        if "linked:unlinked" in words:
            words.remove("linked:unlinked")
        else:
            words.append("linked:unlinked")
        self.set_filter_text(" ".join(words))
