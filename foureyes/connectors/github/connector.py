"""The GitHub connector: `[sources.github]` read (`fetch.py`), then translated (`translate.py`).

A token from the environment variable the config names, or a GitHub App installation;
nothing is written to GitHub and the token is never stored or shown.
"""

from __future__ import annotations

from ...config import Config, GitHubSource
from ...errors import SourceError
from ...model import SourceResult
from ..base import Progress, ProgressEvent, Secrets, no_progress, utcnow
from .api import SOURCE, GitHubApi
from .fetch import Fetcher
from .translate import translate


class GitHubConnector:
    """`[sources.github]`: one organisation, its repositories, and their GitHub Actions."""

    name = "github"

    def __init__(self, section: GitHubSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()  # the token (or App key and installation token) once read
        self.secrets.add_url(section.base_url)
        if not section.org:
            raise SourceError("[sources.github] org is empty; name the organisation to audit")

    def collect(self, progress: Progress = no_progress) -> SourceResult:
        started = utcnow()
        api = GitHubApi(self.section, progress, secrets=self.secrets)
        fetcher = Fetcher(api, self.section, progress)
        org = fetcher.fetch()
        progress(ProgressEvent(SOURCE, f"translating {len(org.repos)} repositories"))
        result = translate(org, self.config, self.section)
        return result.result(self.name, "github", started_at=started, finished_at=utcnow(),
                             stats=api.meter.stats())
