"""Overview: which snapshot this is, its sources and gaps, people, findings, drift, emergency access."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Vertical

from ..state import Triage
from ..widgets.campaigns import CampaignsPanel
from ..widgets.overview import DriftPanel, EmergencyPanel, FindingsPanel, OverviewPanel, PeoplePanel, SnapshotPanel
from .base import SectionScreen

# The panels, in reading order (two columns; the first spans both); a tuple is one cell whose
# panels stand one above the other (emergency access under the findings, beside the taller people).
PANELS: tuple[type[OverviewPanel] | tuple[type[OverviewPanel], ...], ...] = (
    SnapshotPanel, (FindingsPanel, EmergencyPanel), PeoplePanel, DriftPanel, CampaignsPanel)


class OverviewScreen(SectionScreen):
    DESTINATION = "overview"

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
        for panel in self.query(OverviewPanel):
            panel.show(triage)

    def _drift_changed(self, triage: Triage) -> None:
        if triage is self.triage:
            for panel in self.query(OverviewPanel):
                panel.show_drift(triage)
