"""The GCP connector: `[sources.gcp]` read through the Google clients (`fetch.py`), then
translated (`translate.py`). Credentials: anonymous (local test endpoints), a key file, or
Application Default Credentials; nothing is written to GCP.
"""

from __future__ import annotations

from typing import Any

from ...activity import ActivityPeriod, Record, activity_order
from ...config import Config, GcpSource
from ...model import EdgeKind, Gap, SourceResult
from ..base import Progress, ProgressEvent, Secrets, no_progress, utcnow
from .fetch import Clients, Fetcher, credentials_for
from .iam import load_catalogue, now_utc
from .inventory import SYSTEM
from .translate import translate

PRODUCTION = "production"


class GcpConnector:
    """`[sources.gcp]`: reads an organisation (or folders, or projects) read-only."""

    name = "gcp"
    _fetcher: Fetcher | None = None

    def stats(self) -> dict[str, Any]:
        """What the read cost so far (`snapshot --stats`), also after a failure."""
        return self._fetcher.stats() if self._fetcher is not None else {}

    def __init__(self, section: GcpSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()  # the access token (read again: it is refreshed) and what refreshes it
        self.secrets.add_url(section.api_endpoint)

    def collect(self, progress: Progress = no_progress, *, period: ActivityPeriod | None = None) -> SourceResult:
        started = utcnow()
        credentials = credentials_for(self.section)
        self.secrets.watch(lambda: _credential_values(credentials))
        clients = Clients(self.section, credentials)
        try:
            fetcher = self._fetcher = Fetcher(self.section, clients, progress, self.name)
            inventory = fetcher.fetch()
        finally:
            clients.close()
        progress(ProgressEvent(self.name, "translating bindings into grants"))
        result = translate(inventory, self.config, now=now_utc(), name=self.name)
        records: list[Record] = []
        gaps: list[Gap] = []
        if period is not None:
            records, gaps = self._activity(result, credentials, fetcher, period, progress)
        stats = {**fetcher.stats(), **dict(result.stats)}
        return SourceResult(
            name=result.name, system=SYSTEM, principals=result.principals, resources=result.resources,
            grants=result.grants, edges=result.edges, gaps=result.gaps + tuple(gaps), started_at=started,
            finished_at=utcnow(), stats=stats, activity=tuple(sorted(records, key=activity_order)), period=period,
        )

    def _activity(self, result: SourceResult, credentials: object, fetcher: Fetcher, period: ActivityPeriod,
                  progress: Progress) -> tuple[list[Record], list[Gap]]:
        """Audit-log deploy calls and IAM insights of the production projects (imports the clients only now)."""
        from .activity import ActivityClients, ActivityReader, audit_events, insight_last_used, member_events

        projects = [r for r in result.resources if r.kind == "project" and r.tier == PRODUCTION]
        if not projects:
            return [], []
        permissions = [p for platform in load_catalogue().deploy for p in platform.permissions]
        members = break_glass_members(result, self.config)
        clients = ActivityClients(self.section, credentials)
        try:
            reader = ActivityReader(self.section, clients, period, permissions, fetcher, progress, self.name)
            read = reader.read(projects)
            for found in read:
                if members.get(found.project.key):
                    reader.member_logs(found, members[found.project.key])
        finally:
            clients.close()
        records: list[Record] = []
        gaps: list[Gap] = []
        seen: set[str] = set()
        for found in read:
            for record in [*audit_events(found.entries, found.project, permissions),
                           *member_events(found.entries, found.project, members.get(found.project.key, ())),
                           *insight_last_used(found.insights or [], found.project, result.grants)]:
                if record.key not in seen:  # an entry in both logs, or read twice: one record
                    seen.add(record.key)
                    records.append(record)
            gaps += found.gaps
        return records, gaps


def _credential_values(credentials: Any) -> list[Any]:
    """What google-auth credentials hold that would let someone act as them: the access token
    (once refreshed), a refresh token and its client secret (user credentials)."""
    return [getattr(credentials, name, None) for name in ("token", "refresh_token", "client_secret")]


def break_glass_members(result: SourceResult, config: Config) -> dict[str, list[str]]:
    """Project key -> the addresses of the members of `[[break_glass]]` GCP bindings there (users,
    service accounts, and the users of a group the binding names)."""
    paths = [b for declared in config.break_glass for b in declared.gcp_bindings]
    if not paths:
        return {}
    resources = {r.key: r for r in result.resources}
    members_of: dict[str, list[str]] = {}
    for edge in result.edges:
        if edge.kind == EdgeKind.MEMBER_OF and edge.dst.startswith("gcp:group:"):
            members_of.setdefault(edge.dst, []).append(edge.src)
    out: dict[str, set[str]] = {}
    for grant in result.grants:
        if grant.system != SYSTEM or not grant.condition:
            continue
        resource = resources.get(grant.resource)
        where = {grant.resource.split(":", 2)[-1], *(str(b).split(":", 2)[-1] for b in grant.attrs.get("bound_at", ())),
                 str(resource.attrs.get("resource_name", "")) if resource else ""}
        role = grant.entitlement.split(" ", 1)[0]
        if not any(p.matches(role, str(grant.attrs.get("condition_title", "")), grant.condition, where) for p in paths):
            continue
        for key in [grant.principal, *members_of.get(grant.principal, ())]:
            kind, _, email = key.removeprefix("gcp:").partition(":")
            if kind in ("user", "serviceAccount") and email:
                out.setdefault(grant.resource, set()).add(email)
    return {k: sorted(v) for k, v in out.items()}
