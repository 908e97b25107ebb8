"""The GitHub connector: `[sources.github]` read (`fetch.py`), then translated (`translate.py`).

A token from the environment variable the config names, or a GitHub App installation;
nothing is written to GitHub and the token is never stored or shown.
"""

from __future__ import annotations

from ...activity import ActivityPeriod
from ...config import Config, GitHubSource
from ...errors import SourceError
from ...model import SourceResult
from ..base import Progress, ProgressEvent, Secrets, SourceBuilder, no_progress, utcnow
from .activity_fetch import ActivityFetcher, OrgActivity, RepoActivity
from .activity_translate import translate_activity
from .api import SOURCE, GitHubApi
from .fetch import Fetcher
from .payloads import OrgData
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

    def collect(self, progress: Progress = no_progress, *, period: ActivityPeriod | None = None) -> SourceResult:
        started = utcnow()
        api = GitHubApi(self.section, progress, secrets=self.secrets)
        self.watch = api.meter.watch  # what the read cost, also when it fails (snapshot --stats)
        fetcher = Fetcher(api, self.section, progress)
        org = fetcher.fetch()
        progress(ProgressEvent(SOURCE, f"translating {len(org.repos)} repositories"))
        result = translate(org, self.config, self.section)
        stats: dict[str, object] = {}
        if period is not None:
            before = api.meter.stats()["requests"]
            reader = ActivityFetcher(api, self.section, progress,
                                     team_changes=bool(self.config.just_in_time.github_teams))
            activity = reader.fetch(production_activity(org, result, period))
            translate_activity(activity, result)
            stats["activity_requests"] = api.meter.stats()["requests"] - before
        return result.result(self.name, "github", started_at=started, finished_at=utcnow(),
                             stats={**api.meter.stats(), **stats}, period=period)


def production_activity(org: OrgData, b: SourceBuilder, period: ActivityPeriod) -> OrgActivity:
    """What to read activity for: repositories of the production tier or with a production
    environment, their default branch, production environments and the rules on the branch."""
    out = OrgActivity(org.login, org.plan, period)
    environments = [r for r in b.resources.values() if r.kind == "environment" and r.tier == "production"]
    for repo in org.repos:
        resource = b.resources.get(repo.key)
        envs = [e for e in environments if e.parent == repo.key]
        if resource is None or (resource.tier != "production" and not envs):
            continue
        names = sorted(e.id[len(repo.full) + 1:] for e in envs)
        reviewed = {e.id[len(repo.full) + 1:] for e in envs if e.attrs.get("reviewers") or e.attrs.get("unknown")}
        out.repos[repo.full] = RepoActivity(repo.full, repo.key, repo.default_branch, names, reviewed,
                                            protected=bool(resource.attrs.get("protected")))
    return out
