"""What every screen shares: the navigation bar and footer, keys from `Action`s, and the one
place where a failed worker becomes an error modal.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from ...textsafe import safe_text
from ..actions import Action, bindings
from ..state import Triage
from ..widgets.inputs import FilterBox
from ..widgets.navbar import IncompleteBanner, NavBar

# A palette command a screen offers: (name "category: action", callback, help line).
Command = tuple[str, Callable[[], Any], str]


class ReportsWorkerFailures:
    """Mixed into the app and every screen: a failed worker opens the error modal."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_failure(event.worker)  # type: ignore[attr-defined]


class FilterActions:
    """Mixed into screens with a table and a ``#filter`` box: show the box, hide it when it is
    empty, fill it from elsewhere. The screen supplies ``table`` and ``apply_filter``."""

    def action_filter(self) -> None:
        box = self.query_one("#filter", FilterBox)  # type: ignore[attr-defined]
        box.add_class("-shown")
        box.focus()

    def action_close_filter(self) -> None:
        box = self.query_one("#filter", FilterBox)  # type: ignore[attr-defined]
        if not box.value:
            box.remove_class("-shown")
        self.table.focus()  # type: ignore[attr-defined]

    def set_filter_text(self, text: str) -> None:
        box = self.query_one("#filter", FilterBox)  # type: ignore[attr-defined]
        box.add_class("-shown")
        box.value = text
        self.apply_filter()  # type: ignore[attr-defined]
        self.table.focus()  # type: ignore[attr-defined]


class FoureyesScreen(ReportsWorkerFailures, Screen[None]):
    """A screen with the navigation bar on top and the footer below."""

    DESTINATION: ClassVar[str] = ""  # the section highlighted in the navigation bar
    ACTIONS: ClassVar[tuple[Action, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "ACTIONS" in cls.__dict__:
            cls.BINDINGS = bindings(cls.ACTIONS)  # type: ignore[assignment]
        super().__init_subclass__(**kwargs)

    def compose(self) -> ComposeResult:
        yield NavBar(self.DESTINATION)
        yield IncompleteBanner(id="incomplete")
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def triage(self) -> Triage | None:
        return self.app.triage  # type: ignore[attr-defined, no-any-return]

    def commands(self) -> Iterable[Command]:
        """Extra palette commands that only make sense on this screen."""
        return ()


class SectionScreen(FoureyesScreen):
    """A top-level section: shows the loading status until a snapshot is analysed, then
    `show_triage` each time another snapshot is loaded."""

    def compose(self) -> ComposeResult:
        yield NavBar(self.DESTINATION)
        yield IncompleteBanner(id="incomplete")
        yield Static(id="status", classes="status")
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Footer(compact=True)

    # The snapshot this section was last given (`show_triage`); None before the first.
    shown: Triage | None = None
    # True while this section makes its view of that snapshot in a worker: the app holds back
    # other work (drift, the help's layout) until `section_shown`, so that worker has the CPU.
    building = False

    def on_mount(self) -> None:
        self.app.triage_changed.subscribe(self, self._triage_changed)  # type: ignore[attr-defined]
        self.app.status_changed.subscribe(self, self._status_changed)  # type: ignore[attr-defined]
        if self.triage is not None:
            self._triage_changed(self.triage)
        else:
            self._status_changed(self.app.status)  # type: ignore[attr-defined]

    def _status_changed(self, status: str) -> None:
        if self.triage is None:
            self.query_one("#status", Static).update(Text(safe_text(status), style="italic"))
            self.query_one("#status").display = True
            self.query_one("#body").display = False

    def _triage_changed(self, triage: Triage) -> None:
        self.query_one("#status").display = False
        self.query_one("#body").display = True
        if triage is not self.shown:  # a reload of the same snapshot is a new analysis too
            self.shown = triage
            self.building = False
            self.show_triage(triage)
            if not self.building:
                self.app.section_shown()  # type: ignore[attr-defined]

    def show_triage(self, triage: Triage) -> None:
        """Fill the screen for this snapshot."""

    def section_shown(self) -> None:
        """This section shows its snapshot now (its first rows, its panels)."""
        if self.building:
            self.building = False
            self.app.section_shown()  # type: ignore[attr-defined]


class DetailScreen(FoureyesScreen):
    """A screen pushed over a section for one thing (a person, a path); escape goes back."""

    BACK = Action("detail.back", "escape", "back", "Back", "view", "Close this view", show=True)

    def __init__(self, triage: Triage) -> None:
        super().__init__()
        self._triage = triage

    @property
    def triage(self) -> Triage:
        return self._triage

    def action_back(self) -> None:
        self.dismiss()
