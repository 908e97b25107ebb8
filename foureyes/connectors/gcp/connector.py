"""The GCP connector: `[sources.gcp]` read through the Google clients (`fetch.py`), then
translated (`translate.py`). Credentials: anonymous (local test endpoints), a key file, or
Application Default Credentials; nothing is written to GCP.
"""

from __future__ import annotations

from typing import Any

from ...config import Config, GcpSource
from ...model import SourceResult
from ..base import Progress, ProgressEvent, Secrets, no_progress, utcnow
from .fetch import Clients, Fetcher, credentials_for
from .iam import now_utc
from .inventory import SYSTEM
from .translate import translate


class GcpConnector:
    """`[sources.gcp]`: reads an organisation (or folders, or projects) read-only."""

    name = "gcp"

    def __init__(self, section: GcpSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()  # the access token (read again: it is refreshed) and what refreshes it
        self.secrets.add_url(section.api_endpoint)

    def collect(self, progress: Progress = no_progress) -> SourceResult:
        started = utcnow()
        credentials = credentials_for(self.section)
        self.secrets.watch(lambda: _credential_values(credentials))
        clients = Clients(self.section, credentials)
        try:
            fetcher = Fetcher(self.section, clients, progress, self.name)
            inventory = fetcher.fetch()
        finally:
            clients.close()
        progress(ProgressEvent(self.name, "translating bindings into grants"))
        result = translate(inventory, self.config, now=now_utc(), name=self.name)
        stats = {**fetcher.stats(), **dict(result.stats)}
        return SourceResult(
            name=result.name, system=SYSTEM, principals=result.principals, resources=result.resources,
            grants=result.grants, edges=result.edges, gaps=result.gaps, started_at=started,
            finished_at=utcnow(), stats=stats,
        )


def _credential_values(credentials: Any) -> list[Any]:
    """What google-auth credentials hold that would let someone act as them: the access token
    (once refreshed), a refresh token and its client secret (user credentials)."""
    return [getattr(credentials, name, None) for name in ("token", "refresh_token", "client_secret")]
