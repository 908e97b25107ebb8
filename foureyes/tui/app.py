"""The foureyes Textual app: a summary of the latest snapshot (screens come in the TUI issue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from ..model import SnapshotInfo
from ..textsafe import safe_text


@dataclass
class SnapshotsLoaded(Message):
    infos: list[SnapshotInfo]


class FoureyesApp(App[None]):
    TITLE = "foureyes"
    BINDINGS = [Binding("q", "quit", "Quit", id="app.quit")]
    CSS = """
    #summary { padding: 1 2; height: auto; }
    DataTable { height: 1fr; }
    """

    def __init__(self, *, store_url: str, config: Any = None, demo: bool = False):
        super().__init__()
        self.store_url = store_url
        self.config = config
        self.demo = demo
        self.sub_title = "sample organisation Acme" if demo else ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading snapshots…", id="summary")
        yield DataTable(id="sources", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sources", DataTable)
        table.add_columns("snapshot", "taken at", "source", "principals", "grants", "edges", "gaps")
        self.load_snapshots()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load_snapshots(self) -> None:
        from ..store import Store

        with Store(self.store_url) as store:
            infos = store.list_snapshots()
        self.post_message(SnapshotsLoaded(infos))

    def on_snapshots_loaded(self, message: SnapshotsLoaded) -> None:
        summary = self.query_one("#summary", Static)
        if not message.infos:
            summary.update("No snapshots yet. Run `foureyes snapshot` or `foureyes demo --load`.")
            return
        latest = message.infos[-1]
        summary.update(Text(
            f"Snapshot {latest.id} taken {latest.taken_at} — {safe_text(latest.label)}\n"
            f"{len(latest.sources)} sources, {latest.gap_count} gap(s)"
        ))
        table = self.query_one("#sources", DataTable)
        for info in reversed(message.infos):
            for s in info.sources:
                table.add_row(str(info.id), info.taken_at, Text(safe_text(s.name)), str(s.principals),
                              str(s.grants), str(s.edges), str(s.gaps))
