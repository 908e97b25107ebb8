"""Overview: which snapshot this is, its sources and gaps, people, findings, drift, emergency access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.worker import get_current_worker

from ..state import Triage
from ..widgets.campaigns import CampaignsPanel
from ..widgets.overview import DriftPanel, EmergencyPanel, FindingsPanel, OverviewPanel, PeoplePanel, SnapshotPanel
from .base import SectionScreen

# The panels, in reading order (two columns; the first spans both); a tuple is one cell whose
# panels stand one above the other (emergency access under the findings, beside the taller people).
PANELS: tuple[type[OverviewPanel] | tuple[type[OverviewPanel], ...], ...] = (
    SnapshotPanel, (FindingsPanel, EmergencyPanel), PeoplePanel, DriftPanel, CampaignsPanel)


@dataclass
class PanelsReady(Message):
    """The panels' contents for one snapshot, made in a worker."""

    triage: Triage
    renderables: list[tuple[OverviewPanel, Any]]


class OverviewScreen(SectionScreen):
    """The panels are made in a worker (reading every person of a large snapshot takes a while),
    and only while the Overview is on screen: a snapshot loaded while another section shows is
    drawn here when the Overview is next opened, and does not compete with that section's rows."""

    DESTINATION = "overview"
    _undrawn: Triage | None = None  # a snapshot given while the Overview was not on screen

    def compose_body(self) -> ComposeResult:
        with Grid(id="overview-grid"):
            for entry in PANELS:
                if isinstance(entry, tuple):
                    with Vertical(classes="overview-stack"):
                        for panel in entry:
                            yield panel()
                else:
                    yield entry(classes="-wide" if entry is PANELS[0] else "")

    def on_mount(self) -> None:
        super().on_mount()
        self.app.drift_changed.subscribe(self, self._drift_changed)  # type: ignore[attr-defined]

    def show_triage(self, triage: Triage) -> None:
        self._undrawn = triage
        if self.is_current:
            self._draw()

    def on_screen_resume(self) -> None:
        if self._undrawn is not None:
            self._draw()

    def _draw(self) -> None:
        triage, self._undrawn = self._undrawn, None
        if triage is None:
            return
        in_worker = []
        for panel in self.query(OverviewPanel):
            if panel.DRAWN_IN_WORKER:
                in_worker.append(panel)
            else:
                panel.show(triage)
        self.building = True
        self.render_panels(triage, in_worker)

    @work(thread=True, exclusive=True, exit_on_error=False, group="overview", description="draw the overview")
    def render_panels(self, triage: Triage, panels: list[OverviewPanel]) -> None:
        renderables = [(panel, panel.render_triage(triage)) for panel in panels]
        if not get_current_worker().is_cancelled:
            self.post_message(PanelsReady(triage, renderables))

    def on_panels_ready(self, message: PanelsReady) -> None:
        if message.triage is self.triage:
            for panel, renderable in message.renderables:
                panel.update(renderable)
            self.section_shown()

    def _drift_changed(self, triage: Triage) -> None:
        if triage is self.triage:
            for panel in self.query(OverviewPanel):
                panel.show_drift(triage)
