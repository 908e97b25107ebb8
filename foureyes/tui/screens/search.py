"""Search everywhere (/): people, findings, resources, rules and gaps; enter opens the result."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ..messages import RowsReady
from ..rows import Row, parse_filter
from ..state import SEARCH_COLUMNS, SEARCH_FIELDS, Triage, search_rows
from ..widgets.inputs import FilterBox
from ..widgets.table import RecordTable
from .base import ReportsWorkerFailures

class SearchBox(FilterBox):
    DEFAULT_CSS = "SearchBox { dock: none; display: block; }"


class SearchScreen(ReportsWorkerFailures, ModalScreen[Any]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="search.close", tooltip="Close the search"),
        Binding("down", "move(1)", "Next", show=False, id="search.down", priority=True),
        Binding("up", "move(-1)", "Previous", show=False, id="search.up", priority=True),
        Binding("pagedown", "move(10)", "Next page", show=False, id="search.page_down", priority=True),
        Binding("pageup", "move(-10)", "Previous page", show=False, id="search.page_up", priority=True),
        Binding("enter", "open", "Open", id="search.open", priority=True, tooltip="Open the selected result"),
    ]

    def __init__(self, triage: Triage) -> None:
        super().__init__()
        self.triage = triage

    def compose(self) -> ComposeResult:
        with Vertical(id="search-panel"):
            yield Static(Text("Search people, accounts, findings, resources, rules and gaps · kind:person narrows",
                              style="dim"))
            yield SearchBox(placeholder="type to search…", id="search-input")
            yield RecordTable(SEARCH_COLUMNS, id="search-results", empty_text="Indexing…")
            yield Static(id="search-count", classes="summary")

    def on_mount(self) -> None:
        self.query_one("#search-input").focus()
        if self.triage.search_index is not None:  # built once per snapshot, reused by every search
            self._show(self.triage.search_index)
        else:
            self.index(self.triage)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search-index",
          description="index the snapshot for search")
    def index(self, triage: Triage) -> None:
        rows = search_rows(triage)
        if not get_current_worker().is_cancelled:
            self.post_message(RowsReady(triage.snapshot_id, rows))

    def on_rows_ready(self, message: RowsReady) -> None:
        self.triage.search_index = message.rows
        self._show(message.rows)

    def _show(self, rows: list[Row]) -> None:
        table = self.query_one("#search-results", RecordTable)
        table.empty_text = "Nothing found."
        table.set_rows(rows)
        self._apply(self.query_one("#search-input", Input).value)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self._apply(event.value)

    def _apply(self, text: str) -> None:
        table = self.query_one("#search-results", RecordTable)
        table.set_filter(parse_filter(text, SEARCH_FIELDS))
        count = Text(f"{table.row_count} of {len(table.rows)}", style="bold")
        count.append(" · ↑↓ choose · enter open · esc close", style="dim")
        self.query_one("#search-count", Static).update(count)

    def action_move(self, delta: int) -> None:
        self.query_one("#search-results", RecordTable).action_cursor(delta)

    @on(RecordTable.Selected, "#search-results")
    def _selected(self, event: RecordTable.Selected) -> None:
        self.action_open()

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.query_one("#search-results", RecordTable).current
        if row is None:
            self.app.bell()
            return
        self.dismiss(row.data)
