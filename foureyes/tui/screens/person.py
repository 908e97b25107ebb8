"""Person: every linked account and how it was linked, every grant, every capability with its path."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from ...textsafe import safe_text
from ..actions import Action
from ..messages import RowsReady
from ..state import (
    ACCOUNT_COLUMNS,
    FINDING_COLUMNS,
    GRANT_COLUMNS,
    HOLDING_COLUMNS,
    Triage,
    account_rows,
    finding_rows,
    grant_rows,
    holding_rows,
    person_grants,
    person_label,
    roster_style,
)
from ..widgets.table import RecordTable
from .base import DetailScreen

TABS = ("accounts", "capabilities", "grants", "findings")


class PersonScreen(DetailScreen):
    ACTIONS = (
        DetailScreen.BACK,
        Action("person.open", "enter", "open", "Path", "person",
               "Draw the path of the selected capability, or the paths of the selected finding", show=True),
        Action("person.accounts", "a", "tab('accounts')", "Accounts tab", "person", "Linked accounts"),
        Action("person.capabilities", "c", "tab('capabilities')", "Capabilities tab", "person",
               "Capabilities with their paths"),
        Action("person.grants", "g", "tab('grants')", "Grants tab", "person", "Grants across systems"),
        Action("person.findings", "i", "tab('findings')", "Findings tab", "person", "Findings about this person"),
    )

    def __init__(self, triage: Triage, person_key: str) -> None:
        super().__init__(triage)
        self.person_key = person_key
        self.person = triage.analysis.person(person_key)

    def compose_body(self) -> ComposeResult:
        yield Static(self._heading(), id="person-title", classes="summary")
        with TabbedContent(id="person-tabs", initial="capabilities"):
            with TabPane(f"Accounts ({len(self.person.accounts) if self.person else 0})", id="accounts"):
                yield RecordTable(ACCOUNT_COLUMNS, id="accounts-table", empty_text="No accounts.")
            with TabPane("Capabilities", id="capabilities"):
                yield RecordTable(HOLDING_COLUMNS, id="capabilities-table", empty_text="No capabilities.")
            with TabPane("Grants", id="grants"):
                yield RecordTable(GRANT_COLUMNS, id="grants-table", empty_text="No grants.")
            findings = len(self.triage.findings_by_person.get(self.person_key, []))
            with TabPane(f"Findings ({findings})", id="findings"):
                yield RecordTable(FINDING_COLUMNS, id="findings-table", empty_text="No findings about this person.")

    def _heading(self) -> Text:
        person = self.person
        text = Text()
        if person is None:
            text.append(f"{safe_text(self.person_key)} is not in this snapshot", style="bold")
            return text
        text.append(safe_text(person.display_name), style="bold")
        text.append(f"  {safe_text(person.key)}")
        if not person.linked:
            text.append("  unlinked: this account could not be tied to a person", style="bold yellow")
        elif person.external:
            text.append("  linked by an email outside the corporate domains", style="yellow")
        findings = self.triage.findings_by_person.get(person.key, [])
        open_count = sum(1 for f in findings if not f.covered)
        text.append(f"\n{len(person.accounts)} account{'s' if len(person.accounts) != 1 else ''} · "
                    f"{len(self.triage.analysis.holdings(person.key))} capabilities · ")
        text.append(f"{open_count} open finding{'s' if open_count != 1 else ''}", style="bold" if open_count else "")
        record = person.roster
        if record is not None:  # who the roster says they are
            text.append("\nRoster: ")
            text.append(f" {'LEFT: ' if record.is_leaver else ''}{record.status} ", style=roster_style(record.status))
            details = [f"since {record.left_on}" if record.is_leaver and record.left_on else "",
                       f"({record.status_reason})" if record.status_reason else "",
                       f"manager {record.manager}" if record.manager else "",
                       f"department {record.department}" if record.department else "",
                       f"ends {record.end}" if record.end and not record.is_leaver else ""]
            text.append(" " + safe_text(" · ".join(d for d in details if d), limit=150))
        return text

    def on_mount(self) -> None:
        if self.person is None:
            return
        self.query_one("#accounts-table", RecordTable).set_rows(account_rows(self.triage, self.person))
        self.query_one("#findings-table", RecordTable).set_rows(
            finding_rows(self.triage, self.triage.findings_by_person.get(self.person.key, [])))
        self.fill(self.triage)
        self.query_one("#capabilities-table", RecordTable).focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="person",
          description="build a person's capabilities and grants")
    def fill(self, triage: Triage) -> None:
        """Capabilities (each with its path) and grants can be many: built off the UI thread."""
        assert self.person is not None
        worker = get_current_worker()
        holdings = holding_rows(triage, triage.analysis.holdings(self.person.key))
        if worker.is_cancelled:
            return
        self.post_message(RowsReady(triage.snapshot_id, holdings, purpose="capabilities"))
        grants = grant_rows(triage, person_grants(triage, self.person))
        if not worker.is_cancelled:
            self.post_message(RowsReady(triage.snapshot_id, grants, purpose="grants"))

    def on_rows_ready(self, message: RowsReady) -> None:
        table = self.query_one(f"#{message.purpose}-table", RecordTable)
        table.set_rows(message.rows)
        tabs = self.query_one("#person-tabs", TabbedContent)
        tabs.get_tab(message.purpose).label = f"{message.purpose.capitalize()} ({len(message.rows)})"

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane
        if pane is not None and pane.id in TABS:
            self.query_one(f"#{pane.id}-table", RecordTable).focus()

    def action_tab(self, name: str) -> None:
        self.query_one("#person-tabs", TabbedContent).active = name
        self.query_one(f"#{name}-table", RecordTable).focus()

    @on(RecordTable.Selected)
    def _selected(self, event: RecordTable.Selected) -> None:
        self.action_open()

    def action_open(self) -> None:
        active = self.query_one("#person-tabs", TabbedContent).active
        if active == "capabilities":
            table = self.query_one("#capabilities-table", RecordTable)
            row = table.current
            if row is None:
                return
            holdings = [r.data for r in table.visible_rows]
            title = f"{person_label(self.person, self.person_key)}: capabilities and their paths"
            self.app.open_paths(title, holdings, selected=row.data)  # type: ignore[attr-defined]
        elif active == "findings":
            row = self.query_one("#findings-table", RecordTable).current
            if row is None or not row.data.holdings:
                self.app.bell()
                return
            finding = row.data
            title = f"{finding.rule.id} {finding.rule.title} · {person_label(self.person)} · {finding.scope}"
            self.app.open_paths(title, list(finding.holdings), finding=finding)  # type: ignore[attr-defined]
        else:
            self.app.bell()
