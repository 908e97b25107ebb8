"""The top line: the sections (click or press their number) and the snapshot being triaged."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from ...textsafe import safe_text
from ..navigation import DESTINATIONS
from ..state import Triage, when


class NavTab(Static):
    """One section of the app; clicking it goes there."""

    def __init__(self, destination_id: str, label: str, *, current: bool) -> None:
        super().__init__(Text(label), classes="-current" if current else "")
        self.destination_id = destination_id

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        await self.app.run_action(f"go('{self.destination_id}')")


class SnapshotBadge(Static):
    """Which snapshot is on screen; clicking it opens the snapshot switcher."""

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        await self.app.run_action("switch_snapshot")

    def show(self, triage: Triage | None, status: str = "") -> None:
        if triage is None:
            busy = status.startswith(("Opening", "Loading", "Analysing"))
            self.update(Text("loading…" if busy else "no snapshot", style="italic"))
            return
        info = triage.info
        latest = triage.snapshots[-1].id if triage.snapshots else info.id
        text = Text()
        text.append(f"snapshot {info.id}", style="bold")
        text.append("" if info.id == latest else " (not the latest)", style="yellow")
        text.append(f" · {when(info.taken_at)}")
        if info.label:
            text.append(f" · {safe_text(info.label, limit=40)}")
        text.append("  s", style="bold")
        self.update(text)


class NavBar(Horizontal):
    DEFAULT_CSS = """
    NavBar { dock: top; height: 1; background: $panel; }
    NavBar > #brand { width: auto; padding: 0 1; text-style: bold; color: $accent; }
    NavBar > NavTab { width: auto; padding: 0 1; color: $text-muted; }
    NavBar > NavTab:hover { background: $boost; color: $text; }
    NavBar > NavTab.-current { background: $accent; color: $text; text-style: bold; }
    NavBar > SnapshotBadge { width: 1fr; content-align: right middle; padding: 0 1; }
    NavBar > SnapshotBadge:hover { background: $boost; }
    """

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield Static("foureyes", id="brand")
        for d in DESTINATIONS:
            yield NavTab(d.id, f"{d.key} {d.title}", current=d.id == self.current)
        yield SnapshotBadge(id="snapshot-badge")

    def on_mount(self) -> None:
        app = self.app
        self.query_one(SnapshotBadge).show(getattr(app, "triage", None), getattr(app, "status", ""))
        if hasattr(app, "triage_changed"):
            app.triage_changed.subscribe(self, lambda triage: self.query_one(SnapshotBadge).show(triage))
            app.status_changed.subscribe(
                self, lambda status: self.query_one(SnapshotBadge).show(getattr(app, "triage", None), status))
