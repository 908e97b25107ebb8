"""Conflicts: every finding in a sortable, filterable table; the selected one explained below."""

from __future__ import annotations

from functools import partial
from typing import Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from ...model import SEVERITIES
from ...rules import Finding
from ..actions import Action
from ..messages import DetailReady
from ..rows import Row
from ..state import CONFLICT_COLUMNS, CONFLICT_FIELDS, Triage, conflict_rows, iter_conflict_rows, person_label
from ..widgets.finding import finding_detail
from ..widgets.table import RecordTable
from .base import Command
from .tabular import FIRST_ROWS, TableScreen


class ConflictsScreen(TableScreen):
    DESTINATION = "conflicts"
    COLUMNS = CONFLICT_COLUMNS
    FIELDS = CONFLICT_FIELDS
    NOUN = "findings"
    NOUN_ONE = "finding"
    EMPTY = "No findings: no rule fired on this snapshot."
    FILTER_HINT = ("filter: words, severity:high, rule:FE-SOD-001, person:…, app:…, repo:…, system:aws, "
                   "status:open")
    ACTIONS = (
        Action("conflicts.path", "enter", "open_path", "Path", "conflicts",
               "Draw every path behind the selected finding, hop by hop", show=True),
        Action("conflicts.filter", "f", "filter", "Filter", "conflicts",
               "Filter by words or field:value (severity, rule, person, app, repo, system, status)", show=True),
        Action("conflicts.person", "p", "open_person", "Person", "conflicts",
               "Open the person of the selected finding", show=True),
        Action("conflicts.sort", "o", "sort", "Sort by next column", "conflicts",
               "Cycle the sort column (click a header to sort by it)"),
        Action("conflicts.open_only", "x", "open_only", "Open only", "conflicts",
               "Hide or show findings covered by an exception", show=True),
        Action("conflicts.close_filter", "escape", "close_filter", "Leave filter", "conflicts",
               "Back to the table; the filter stays"),
    )

    def compose_detail(self) -> ComposeResult:
        with VerticalScroll(id="detail", classes="detail"):
            yield Static(Text("Select a finding to read its rule, paths and exception.", style="italic"),
                         id="detail-body")

    def make_rows(self, triage: Triage) -> list[Row]:
        return conflict_rows(triage.analysis)

    def iter_rows(self, triage: Triage) -> Iterable[Row]:
        return iter_conflict_rows(triage.analysis, FIRST_ROWS)

    def summary_extra(self) -> Text:
        open_count = self.table.count_visible("status", "excepted", equal=False)
        return Text(f"{open_count} open", style="bold" if open_count else "")

    # ------------------------------------------------------------ detail

    @on(RecordTable.Highlighted, "#table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        if event.row is None or self.triage is None:
            self.query_one("#detail-body", Static).update(Text(""))
            return
        self.explain(self.triage, event.row.data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail",
          description="explain a finding")
    def explain(self, triage: Triage, finding: Finding) -> None:
        renderable = finding_detail(triage, finding)
        if not get_current_worker().is_cancelled:
            self.post_message(DetailReady(finding.id, renderable))

    def on_detail_ready(self, message: DetailReady) -> None:
        if message.key == self.table.current_key:
            self.query_one("#detail-body", Static).update(message.renderable)
            self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    # ------------------------------------------------------------ actions

    @on(RecordTable.Selected, "#table")
    def _selected(self, event: RecordTable.Selected) -> None:
        self.action_open_path()

    def action_open_path(self) -> None:
        row = self.table.current
        if row is None or self.triage is None:
            self.app.bell()
            return
        finding: Finding = row.data
        if not finding.holdings:
            what = ("A proven violation is what happened, not a path: its proof, hop by hop, is below."
                    if finding.proof else "A posture finding is about a resource, not a person's path: its detail "
                    "is below.")
            self.notify(what, markup=False, timeout=4)
            return
        who = person_label(self.triage.analysis.identities.people.get(finding.person), finding.person)
        title = f"{finding.rule.id} {finding.rule.title} · {who} · {finding.scope}"
        self.app.open_paths(title, list(finding.holdings), finding=finding)  # type: ignore[attr-defined]

    def action_open_person(self) -> None:
        row = self.table.current
        if row is None or not row.data.person:
            self.app.bell()
            return
        self.app.open_person(row.data.person)  # type: ignore[attr-defined]

    def action_open_only(self) -> None:
        box_value = self.query_one("#filter").value  # type: ignore[attr-defined]
        words = box_value.split()
        if "-status:excepted" in words:
            words.remove("-status:excepted")
        else:
            words.append("-status:excepted")
        self.set_filter_text(" ".join(words))

    def commands(self) -> Iterable[Command]:
        for column in self.COLUMNS:
            yield (f"conflicts: sort by {column.label.lower()}", partial(self._sort_by, column.key),
                   "Click a header to sort by it; again to reverse")
        for severity in reversed(SEVERITIES):
            yield (f"conflicts: only {severity}", partial(self.set_filter_text, f"severity:{severity}"),
                   f"Show {severity} findings")
        yield ("conflicts: clear filter", self.action_clear_filter, "Show every finding")

    def _sort_by(self, column: str) -> None:
        self.table.sort_by(column)
        self.update_summary()
