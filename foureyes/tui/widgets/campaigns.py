"""The Overview's "Open campaigns" panel: progress, exceptions awaiting approval and revocation
follow-through of every open campaign, read from the store in a worker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from ..review_state import CampaignsSummary, campaigns_renderable, load_campaigns
from ..state import Triage
from .overview import OverviewPanel


@dataclass
class CampaignsReady(Message):
    summary: CampaignsSummary


class CampaignsPanel(OverviewPanel):
    TITLE = "Open campaigns"
    DRAWN_IN_WORKER = False  # reads the store in a worker of its own

    def on_mount(self) -> None:
        super().on_mount()
        self.update(Text("Reading campaigns…", style="italic"))
        self.app.campaigns_changed.subscribe(self, lambda _: self.load())  # type: ignore[attr-defined]

    def show(self, triage: Triage) -> None:
        self.load()  # a new snapshot may settle revocations

    @work(thread=True, exclusive=True, exit_on_error=False, group="campaigns-panel",
          description="read open campaigns")
    def load(self) -> None:
        summary = load_campaigns(self.app.workspace)  # type: ignore[attr-defined]
        if not get_current_worker().is_cancelled:
            self.post_message(CampaignsReady(summary))

    def on_campaigns_ready(self, message: CampaignsReady) -> None:
        self.update(campaigns_renderable(message.summary))
