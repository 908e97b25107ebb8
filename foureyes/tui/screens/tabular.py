"""A section that is one big table: a filter box, a summary line, the table, a detail pane.

Rows are built in a worker (`build_rows`), filtered and sorted in memory by `RecordTable`.
"""

from __future__ import annotations

from typing import ClassVar, Iterable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ...textsafe import safe_text
from ..messages import RowsReady
from ..rows import Column, Row, RowFilter, parse_filter
from ..state import Triage
from ..widgets.inputs import FilterBox
from ..widgets.table import RecordTable
from .base import FilterActions, SectionScreen


# A table's first rows are shown once this many are built (about a screenful), the rest after.
FIRST_ROWS = 100
PARTIAL = "partial"


class SummaryLine(Static):
    """The line above a table: its counts, filter and sort."""

    _one_line = False  # the text shown fits on one line

    def show(self, text: Text) -> None:
        """The screen is laid out again only when the line count may change: a layout is a good part
        of a key's frame, and most keys change only the counts."""
        width = self.content_region.width
        fits = width > 0 and "\n" not in text.plain and text.cell_len <= width
        self.update(text, layout=not (fits and self._one_line))
        self._one_line = fits


class TableScreen(FilterActions, SectionScreen):
    COLUMNS: ClassVar[Sequence[Column]] = ()
    FIELDS: ClassVar[Sequence[str]] = ()
    NOUN: ClassVar[str] = "rows"
    NOUN_ONE: ClassVar[str] = "row"
    EMPTY: ClassVar[str] = "Nothing to show."
    FILTER_HINT: ClassVar[str] = "filter: words, field:value, -word"

    def compose_body(self) -> ComposeResult:
        yield FilterBox(placeholder=self.FILTER_HINT, id="filter")
        yield SummaryLine(id="summary", classes="summary")
        yield RecordTable(self.COLUMNS, empty_text=self.EMPTY, id="table")
        yield from self.compose_detail()

    def compose_detail(self) -> ComposeResult:
        yield from ()

    @property
    def table(self) -> RecordTable:
        return self.query_one("#table", RecordTable)

    def on_mount(self) -> None:
        self._pending_reveal: str | None = None
        super().on_mount()
        self.table.focus()

    # ------------------------------------------------------------ rows

    def show_triage(self, triage: Triage) -> None:
        self.query_one("#summary", SummaryLine).show(Text(f"Building the {self.NOUN} table…", style="italic"))
        self.building = True
        self.build_rows(triage)

    @work(thread=True, exclusive=True, exit_on_error=False, group="rows",
          description="build table rows")
    def build_rows(self, triage: Triage) -> None:
        worker = get_current_worker()
        rows: list[Row] = []
        for row in self.iter_rows(triage):
            rows.append(row)
            if len(rows) == FIRST_ROWS:  # the first screenful shows while the rest is built
                if worker.is_cancelled:
                    return
                self.post_message(RowsReady(triage.snapshot_id, list(rows), context=PARTIAL))
        if not worker.is_cancelled:
            self.post_message(RowsReady(triage.snapshot_id, rows))

    def iter_rows(self, triage: Triage) -> Iterable[Row]:
        """Runs in a worker thread; rows in table order (a generator shows the first ones early)."""
        return self.make_rows(triage)

    def make_rows(self, triage: Triage) -> list[Row]:
        """Runs in a worker thread."""
        raise NotImplementedError

    def on_rows_ready(self, message: RowsReady) -> None:
        if self.triage is None or message.snapshot_id != self.triage.snapshot_id:
            return
        if message.context is PARTIAL:
            if not self.table.rows:  # the first screenful; the whole table follows
                self.table.set_rows(message.rows)
                self.section_shown()
            return
        self.table.set_rows(message.rows)
        self.section_shown()
        self.apply_filter()  # the filter may depend on the snapshot (a team's members)
        if self._pending_reveal is not None:
            key, self._pending_reveal = self._pending_reveal, None
            self.reveal(key)
        self.update_summary()

    def count_text(self) -> Text | None:
        """The summary's first words when no filter is on (None: "N rows")."""
        return None

    def update_summary(self) -> None:
        table = self.table
        text = Text()
        filter_text = table.row_filter.text.strip() if table.row_filter is not None else ""
        unfiltered = table.row_filter is None or table.row_filter.empty
        lead = self.count_text() if unfiltered else None
        if lead is not None:
            text.append_text(lead)
        elif not unfiltered:
            text.append(f"{table.row_count}", style="bold")
            text.append(f" of {len(table.rows)} {self.NOUN if len(table.rows) != 1 else self.NOUN_ONE}")
            if filter_text:
                text.append(" match ")
                text.append(safe_text(filter_text, limit=60), style="bold")
        else:
            text.append(f"{table.row_count}", style="bold")
            text.append(f" {self.NOUN if table.row_count != 1 else self.NOUN_ONE}")
        extra = self.summary_extra()
        if extra:
            text.append(" · ")
            text.append_text(extra)
        if table.sort_column:
            label = next((c.label for c in self.COLUMNS if c.key == table.sort_column), table.sort_column)
            text.append(f" · sorted by {label.lower()}{' (reversed)' if table.sort_reverse else ''}", style="dim")
        self.query_one("#summary", SummaryLine).show(text)

    def summary_extra(self) -> Text:
        return Text()

    # ------------------------------------------------------------ filter

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", FilterBox)
        box.value = ""
        box.remove_class("-shown")
        self.table.focus()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self.update_summary()

    def filter_for(self, text: str) -> RowFilter:
        return parse_filter(text, self.FIELDS)

    def apply_filter(self) -> None:
        """Filter the table; a big one in a worker (`RecordTable.filter_later`), the summary
        following when the rows show."""
        text = self.query_one("#filter", FilterBox).value
        self.table.filter_later(lambda: self.filter_for(text))

    @on(RecordTable.ViewChanged, "#table")
    def _view_changed(self, event: RecordTable.ViewChanged) -> None:
        self.update_summary()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def reveal(self, key: str) -> None:
        """Put the cursor on a row, clearing the filter if it hides the row."""
        table = self.table
        if not table.rows:
            self._pending_reveal = key
            return
        if not table.select_key(key):
            self.action_clear_filter()
            table.set_filter(None)
            table.select_key(key)
            self.update_summary()
        table.focus()
