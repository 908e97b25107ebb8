"""Gaps: what the connectors could not read, and what that may hide. Unknown is not "no access"."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...textsafe import safe_text
from ..actions import Action
from ..rows import Row
from ..state import GAP_COLUMNS, GAP_FIELDS, Triage, gap_rows
from ..widgets.table import RecordTable
from .tabular import TableScreen

UNKNOWN = ("foureyes could not read this, so anything it would have shown is unknown, not absent: a "
           "capability or conflict may exist that no screen shows. Give the connector the permission it "
           "lacked (or fix the failure) and take a new snapshot; `foureyes check` fails while gaps remain.")


class GapsScreen(TableScreen):
    DESTINATION = "gaps"
    COLUMNS = GAP_COLUMNS
    FIELDS = GAP_FIELDS
    NOUN = "gaps"
    NOUN_ONE = "gap"
    EMPTY = "No gaps: every source read everything it tried to."
    ACTIONS = (
        Action("gaps.filter", "f", "filter", "Filter", "gaps", "Filter by words, system:…, resource:…", show=True),
        Action("gaps.close_filter", "escape", "close_filter", "Leave filter", "gaps",
               "Back to the table; the filter stays"),
    )

    def compose_detail(self) -> ComposeResult:
        with VerticalScroll(id="detail", classes="detail"):
            yield Static(Text(UNKNOWN, style="italic"), id="detail-body")

    def make_rows(self, triage: Triage) -> list[Row]:
        return gap_rows(triage.analysis)

    @on(RecordTable.Highlighted, "#table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        body = self.query_one("#detail-body", Static)
        if event.row is None:
            body.update(Text(UNKNOWN, style="italic"))
            return
        system, where = event.row.cells[:2]
        kind, item = event.row.data
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="bold", width=16, no_wrap=True)
        facts.add_column(ratio=1)
        facts.add_row("System", Text(system))
        facts.add_row("Where", Text(where))
        if kind == "gap":
            if item.resource:
                facts.add_row("Resource key", Text(safe_text(item.resource)))
            facts.add_row("Could not read", Text(safe_text(item.reason)))  # in full: table cells are cut
            facts.add_row("May hide", Text(safe_text(item.hides or "not stated")))
        else:
            facts.add_row("Source failed", Text(safe_text(item.error)))
            facts.add_row("May hide", Text("everything this source would have read"))
        body.update(Group(facts, Text(""), Text(UNKNOWN, style="italic")))
