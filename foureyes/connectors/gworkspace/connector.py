"""`[sources.google_workspace]`: reads Google Workspace read-only through the Directory API."""

from __future__ import annotations

from ...config import Config, GoogleWorkspaceSource
from ...model import SourceResult
from ..base import Progress, ProgressEvent, Secrets, no_progress, utcnow
from .fetch import SYSTEM, Fetcher
from .translate import translate


class GoogleWorkspaceConnector:
    name = "google_workspace"

    def __init__(self, section: GoogleWorkspaceSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()

    def collect(self, progress: Progress = no_progress) -> SourceResult:
        started = utcnow()
        fetcher = Fetcher(self.section, progress, self.name, self.secrets)
        self.watch = fetcher.watch  # what the read cost, also when it fails
        read = fetcher.fetch()
        progress(ProgressEvent(self.name, "translating users and groups"))
        out = translate(read)
        return out.result(self.name, SYSTEM, ordered=True, started_at=started, finished_at=utcnow(),
                          stats={**fetcher.watch.as_stats(), "people": len(read.users), "groups": len(read.groups)})
