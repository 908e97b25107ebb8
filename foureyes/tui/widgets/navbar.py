"""The top lines: the sections (click or press their number), the snapshot being triaged, and
a banner that stays on every screen while that snapshot lacks a source that failed."""

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
    """Which snapshot is on screen; clicking it opens the snapshot switcher. It says as much as
    fits: the label and the time go first when the terminal is narrow, never the snapshot id."""

    _triage: Triage | None = None
    _status: str = ""

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        await self.app.run_action("switch_snapshot")

    def show(self, triage: Triage | None, status: str = "") -> None:
        self._triage, self._status = triage, status
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        triage = self._triage
        if triage is None:
            busy = self._status.startswith(("Opening", "Loading", "Analysing"))
            self.update(Text("loading…" if busy else "no snapshot", style="italic"))
            return
        room = self.content_size.width or 1000
        variants = badge_variants(triage)
        self.update(next((v for v in variants if v.cell_len <= room), variants[-1]))


def badge_variants(triage: Triage) -> list[Text]:
    """The snapshot badge from the longest to the shortest."""
    info = triage.info
    latest = triage.snapshots[-1].id if triage.snapshots else info.id
    old = info.id != latest
    taken = when(info.taken_at)
    day = taken.split(" ")[0]
    out = []
    for name, extra, label in ((f"snapshot {info.id}", f" · {taken}", True), (f"snapshot {info.id}", f" · {taken}", False),
                               (f"snapshot {info.id}", f" · {day}", False), (f"#{info.id}", f" · {day}", False),
                               (f"#{info.id}", "", False)):
        text = Text()
        text.append(name, style="bold")
        if old:
            text.append(" (not the latest)" if label else " (old)", style="yellow")
        text.append(extra)
        if label and info.label:
            text.append(f" · {safe_text(info.label, limit=40)}")
        text.append("  s", style="bold")
        out.append(text)
    return out


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


class IncompleteBanner(Static):
    """Shown on every screen while the snapshot on screen has a failed source: everything below
    lacks what that source would have read, and "nobody" there is unknown, not "no access"."""

    DEFAULT_CSS = """
    IncompleteBanner { height: auto; padding: 0 1; background: $error; color: $text; text-style: bold; display: none; }
    IncompleteBanner.-shown { display: block; }
    """

    def on_mount(self) -> None:
        app = self.app
        self.show(getattr(app, "triage", None))
        if hasattr(app, "triage_changed"):
            app.triage_changed.subscribe(self, self.show)

    def show(self, triage: Triage | None) -> None:
        failed = [s for s in triage.info.sources if s.error] if triage is not None else []
        self.set_class(bool(failed), "-shown")
        if not failed:
            self.update("")
            return
        names = safe_text(", ".join(s.name for s in failed))
        why = "; ".join(f"{s.name}: {s.error}" for s in failed)
        self.update(Text(f"INCOMPLETE: snapshot {triage.info.id} lacks what {names} would have read (the source "  # type: ignore[union-attr]
                         f"failed): who is missing here is unknown, not without access. {safe_text(why, limit=300)}"))
