"""The snapshot switcher: every stored snapshot; enter triages the chosen one."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..rows import Column, make_row
from ..state import Triage, when
from ..widgets.table import RecordTable

SNAPSHOT_COLUMNS = (
    Column("on", "", 1, min_width=1, priority=0),
    Column("id", "Id", align="right", whole=True, priority=0),
    Column("taken", "Taken", whole=True, priority=0),
    Column("label", "Label", min_width=16, priority=0, grow=2),
    Column("sources", "Sources", min_width=12, priority=2, grow=1),
    Column("grants", "Grants", align="right", min_width=6, priority=3),
    Column("gaps", "Gaps", align="right", min_width=4, priority=1),
    Column("failed", "Failed", min_width=6, priority=1, grow=1),
)


class SnapshotsScreen(ModalScreen[int | None]):
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="snapshots.close", tooltip="Close without switching"),
        Binding("enter", "choose", "Open", id="snapshots.open", tooltip="Triage the selected snapshot"),
    ]

    def __init__(self, triage: Triage) -> None:
        super().__init__()
        self.triage = triage

    def compose(self) -> ComposeResult:
        with Vertical(id="snapshots-panel"):
            yield Static(Text("Stored snapshots · enter opens one · esc closes", style="bold"))
            yield RecordTable(SNAPSHOT_COLUMNS, id="snapshots-table")

    def on_mount(self) -> None:
        rows = []
        for info in reversed(self.triage.snapshots):
            current = info.id == self.triage.snapshot_id
            rows.append(make_row(
                str(info.id),
                ("●" if current else "", info.id, when(info.taken_at), info.label,
                 ", ".join(s.name for s in info.sources), sum(s.grants for s in info.sources), info.gap_count,
                 ", ".join(info.failed)),
                sort=(0, info.id, info.taken_at, info.label, "", 0, info.gap_count, ""),
                style="bold" if current else "", data=info.id))
        table = self.query_one("#snapshots-table", RecordTable)
        table.set_rows(rows, keep=str(self.triage.snapshot_id))
        table.focus()

    @on(RecordTable.Selected)
    def _selected(self, event: RecordTable.Selected) -> None:
        self.action_choose()

    def action_choose(self) -> None:
        row = self.query_one("#snapshots-table", RecordTable).current
        self.dismiss(row.data if row is not None else None)
