"""Deployments made in the cloud, for the change population: CloudTrail and Cloud Audit Logs
events of the catalogue's deploy actions in production accounts and projects, tied to the
GitHub run that made them where the OIDC subject (or the role's trust) and the times allow,
and what could not be read there.

Pure, like `changes`, which builds rows and facts from what this module finds:

* `cloud_deploys` — each successful deploy call (the catalogue's deploy actions and permissions)
  in a production account or project, with its actor attributed — a role session followed back
  through the AssumeRole records to whoever started it — and, for a CI identity, the GitHub
  `Deployment` whose run made it;
* `blind_spots` — the production accounts and projects whose deploy log could not be read
  for the period (an activity Gap), wholly or before a date;
* `Targets` — where a GitHub run's OIDC subject can deploy: the production accounts and
  projects of the roles and service accounts that trust it, so a change deployed into an
  account with a blind spot is "unknown", never "independent".
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from .activity import ABOUT, HIDES_DEPLOYMENTS, Actor, AuditEvent, Deployment, parse_time, utc
from .attribution import Who
from .model import DEPLOY_RUN, Gap, Snapshot, workload_matches

PRODUCTION = "production"
# The log each cloud's deploy events come from, as the population names it (its "source").
SOURCE_NAMES: Mapping[str, str] = {"aws": "CloudTrail", "gcp": "Cloud Audit Logs"}
GITHUB = "GitHub"
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML")  # how a role session starts (role chaining)
CHAIN_DEPTH = 4  # AssumeRole hops followed back from a call
SESSION_MAX_S = 12 * 3600  # the longest an AWS role session lasts
# A run's cloud calls follow its deployment record within this time (Attributor.via_run's window).
RUN_WINDOW_S = 3600
_BEFORE = re.compile(r"\bbefore (\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?")
_SOURCE_FAILED = "source failed"


@dataclass(frozen=True)
class CloudDeploy:
    """One deploy call in a production account or project, as its log recorded it."""

    event: AuditEvent
    source: str  # "CloudTrail" | "Cloud Audit Logs"
    place: str  # the account or project, as shown: "acme-prod (111111111111)"
    app: str
    actor: Who  # the event's actor, attributed (a CI role is a machine)
    run: Deployment | None = None  # the GitHub deployment whose run made the call
    link: str = ""  # how it was tied to that run, or why it could not be
    identity: str = ""  # the account the call was made as, as the snapshot names it ("role gha-deploy in acme-prod")
    chain: tuple[AuditEvent, ...] = ()  # the AssumeRole records that started the call's session, first first
    emergency: str = ""  # the declared emergency path ([[break_glass]]) whose use the session was

    @property
    def ci(self) -> bool:
        """Made by a CI identity (an OIDC subject, or a machine identity of a pipeline)."""
        return bool(self.event.ci_subject) or self.actor.machine

    @property
    def by_hand(self) -> bool:
        """Made by a person linked by evidence, not by a pipeline: a deployment nobody reviewed."""
        return self.run is None and not self.ci and self.actor.known

    def describe(self) -> str:
        """``CloudTrail: ecs:UpdateService on arn:… in acme-prod (1111…) by role gha-deploy (session …)``."""
        e = self.event
        target = f" on {e.target}" if e.target else ""
        by = f"{self.actor.label} ({self.actor.how})" if not self.actor.machine else (
            f"{self.actor.label} ({self.identity})" if self.identity and self.identity != self.actor.label
            else self.actor.label)
        session = f", session {e.session}" if e.session and e.session not in by else ""
        subject = f", OIDC subject {e.ci_subject}" if e.ci_subject else ""
        return f"{self.source}: {e.action}{target} in {self.place} by {by}{session}{subject}"


@dataclass(frozen=True)
class Blind:
    """A production account or project (``resource`` "" = all of ``system``'s) whose deploy log
    could not be read for the period, wholly or only before ``before``."""

    system: str
    resource: str
    gap: Gap
    before: str = ""  # only what happened before this time is missing ("" = the whole period)

    def covers(self, resource: str, at: str = "") -> bool:
        """Could a deployment into ``resource`` at ``at`` have gone unseen?"""
        where = resource == self.resource if self.resource else resource.startswith(f"{self.system}:")
        return where and (not self.before or not at or at < self.before)


def cloud_deploys(snapshot: Snapshot, who: Callable[[Actor], Who], deployments: Iterable[Deployment],
                  emergency: Mapping[str, str] | None = None) -> list[CloudDeploy]:
    """Every successful deploy call in a production account or project, oldest first, each tied to
    the GitHub deployment whose run made it when the subject (or the role's trust) and times allow.
    ``emergency``: the AssumeRole record of each use of a declared emergency path → the path's name."""
    resources = snapshot.resources
    principals = snapshot.principals
    emergency = emergency or {}
    runs = _Runs(deployments)
    wanted = deploy_actions()
    out = []
    events = [r for r in snapshot.activity() if isinstance(r, AuditEvent) and r.system in SOURCE_NAMES]
    sessions = _Sessions(events)
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        place = resources.get(event.resource)
        if event.action not in wanted or event.result != "success" or place is None or place.tier != PRODUCTION:
            continue
        actor = who(event.actor)
        account = principals.get(event.actor.principal) if event.actor.principal else None
        identity = account.label if account is not None else event.actor.principal.partition(":")[2]
        chain: tuple[AuditEvent, ...] = ()
        if actor.machine and not event.ci_subject:
            chain = tuple(sessions.chain(event))
            if chain and not (started := who(chain[0].actor)).machine:  # a person's session of the role
                hops = " → ".join(e.target.rsplit("/", 1)[-1] for e in chain)
                actor = Who(started.person, started.label, f"{started.how}, through {hops} (session {event.session})",
                            started.actor, linked=started.linked)
        view = CloudDeploy(event, SOURCE_NAMES[event.system], place.label, place.app, actor, identity=identity)
        run, link = _run_of(view, runs, principals)
        path = emergency.get(chain[0].id, "") if chain else ""
        out.append(CloudDeploy(view.event, view.source, view.place, view.app, actor, run, link, identity, chain, path))
    return out


@lru_cache(maxsize=1)
def deploy_actions() -> frozenset[str]:
    """What a deploy call is: the AWS catalogue's deploy actions (``ecs:UpdateService``, as the AWS
    connector names a CloudTrail event) and the GCP catalogue's deploy permissions (``run.services.update``,
    the permission a Cloud Audit Logs entry needed)."""
    from .connectors.aws.capabilities import load_catalogue as aws_catalogue
    from .connectors.gcp.iam import load_catalogue as gcp_catalogue

    found = {a for way in aws_catalogue().for_capability(DEPLOY_RUN) for a in way.actions}
    found |= {p for platform in gcp_catalogue().deploy for p in platform.permissions}
    return frozenset(found)


class _Sessions:
    """AssumeRole records by the role and session name they started, to follow a role session's call
    back to whoever started the session (role chaining included)."""

    def __init__(self, events: Iterable[AuditEvent]):
        self._by: dict[tuple[str, str], list[AuditEvent]] = defaultdict(list)
        for e in events:
            if (e.system == "aws" and e.action in ASSUME_ACTIONS and e.result in ("", "success") and e.target
                    and e.session):
                self._by[(e.target, e.session)].append(e)

    def chain(self, event: AuditEvent) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        current = event
        for _ in range(CHAIN_DEPTH):
            role = current.actor.principal.removeprefix("aws:")
            if ":role/" not in role or not current.session:
                break
            when = parse_time(current.at)
            found = [a for a in self._by.get((role, current.session), ()) if a.at <= current.at
                     and (when - parse_time(a.at)).total_seconds() <= SESSION_MAX_S and a not in out]
            if not found:
                break
            current = max(found, key=lambda a: (a.at, a.id))
            out.append(current)
        return out[::-1]


class _Runs:
    """Production deployments with an OIDC subject, by subject and time, for joining calls to them."""

    def __init__(self, deployments: Iterable[Deployment]):
        by_subject: dict[str, list[Deployment]] = defaultdict(list)
        for d in deployments:
            if d.ci_subject and d.at:
                by_subject[d.ci_subject].append(d)
        self._by_subject = {k: _timed(v) for k, v in by_subject.items()}
        self._trusting: dict[tuple[str, ...], tuple[list[str], list[Deployment]]] = {}

    def of_subject(self, subject: str) -> tuple[list[str], list[Deployment]]:
        return self._by_subject.get(subject, ([], []))

    def trusted_by(self, patterns: tuple[str, ...]) -> tuple[list[str], list[Deployment]]:
        """The deployments whose subject one of ``patterns`` (a role's trust) accepts."""
        found = self._trusting.get(patterns)
        if found is None:
            found = self._trusting[patterns] = _timed([
                d for subject, (_, runs) in self._by_subject.items()
                if any(workload_matches(subject, p) for p in patterns) for d in runs])
        return found


def _timed(runs: list[Deployment]) -> tuple[list[str], list[Deployment]]:
    """Deployments oldest first, with their times (ISO 8601 UTC: they compare as strings)."""
    ordered = sorted(runs, key=lambda d: (d.at, d.id))
    return [d.at for d in ordered], ordered


def _run_of(view: CloudDeploy, runs: _Runs, principals: Mapping) -> tuple[Deployment | None, str]:
    """The GitHub deployment whose run made the call: its OIDC subject is the event's (or one the
    event's role trusts) and it started at most `RUN_WINDOW_S` before the call."""
    event = view.event
    if event.ci_subject:
        times, candidates = runs.of_subject(event.ci_subject)
        how = f"OIDC subject {event.ci_subject}"
        same = "of the same OIDC subject"
    elif view.actor.machine and event.actor.principal:
        principal = principals.get(event.actor.principal)
        patterns = tuple((principal.attrs.get("oidc_subjects") or ()) if principal is not None else ())
        name = view.identity or view.actor.label
        if not patterns:
            return None, f"{name} is trusted by no GitHub OIDC subject: no run can be tied to it"
        times, candidates = runs.trusted_by(patterns)
        how = f"an OIDC subject {name} trusts ({', '.join(patterns)})"
        same = f"{name} trusts (the log names no subject)"
    else:
        return None, ""
    when = parse_time(event.at)
    earliest = utc((when - timedelta(seconds=RUN_WINDOW_S)).isoformat())
    best: tuple[float, Deployment] | None = None
    for d in candidates[bisect_left(times, earliest):bisect_right(times, event.at)]:
        lag = (when - parse_time(d.at)).total_seconds()
        if 0 <= lag <= RUN_WINDOW_S and (best is None or lag <= best[0]):
            best = (lag, d)  # the latest run before the call
    if best is None:
        return None, (f"no GitHub deployment by {how} started in the {RUN_WINDOW_S // 60} minutes before it "
                      "(a workflow that deploys without a GitHub environment leaves no deployment record)")
    lag, run = best
    if not event.ci_subject:
        same = f"of OIDC subject {run.ci_subject}, which {same}"
    return run, f"run {run.run_id or '?'} ({run.id}) {same}, started {int(lag // 60)} min before"


# ---------------------------------------------------------------- what could not be read


def blind_spots(snapshot: Snapshot) -> list[Blind]:
    """The production accounts and projects whose deploy log could not be read for the period."""
    out = []
    for gap in snapshot.gaps():
        if gap.system not in SOURCE_NAMES:
            continue
        failed = not gap.resource and gap.reason.startswith(_SOURCE_FAILED)
        hides = gap.about == ABOUT and (gap.hides.startswith(HIDES_DEPLOYMENTS) or not gap.resource)
        if not (failed or hides):
            continue
        before = ""
        m = _BEFORE.search(gap.hides)
        if m and m.group(2) and gap.resource:  # only the time before the log's history is missing
            before = m.group(1) + m.group(2)
        elif m and gap.resource:  # a day only: rounded up, so nothing unseen looks seen
            before = utc((parse_time(m.group(1) + "T00:00:00Z") + timedelta(days=1)).isoformat())
        out.append(Blind(gap.system, gap.resource, gap, before))
    return out


class Targets:
    """Where a GitHub run can deploy: the production accounts and projects in which a role or
    service account that trusts its OIDC subject holds deploy.run."""

    def __init__(self, snapshot: Snapshot):
        resources = snapshot.resources
        places: dict[str, set[str]] = defaultdict(set)
        for grant in snapshot.grants():
            place = resources.get(grant.resource)
            if DEPLOY_RUN in grant.capabilities and place is not None and place.tier == PRODUCTION:
                places[grant.principal].add(grant.resource)
        self._trusts: list[tuple[tuple[str, ...], frozenset[str]]] = []
        for principal in snapshot.principals.values():
            patterns = tuple(principal.attrs.get("oidc_subjects") or ())
            if principal.system in SOURCE_NAMES and patterns and places.get(principal.key):
                self._trusts.append((patterns, frozenset(places[principal.key])))
        self._seen: dict[str, frozenset[str]] = {}
        self._environments: dict[str, list[str]] | None = None

    def of(self, subject: str) -> frozenset[str]:
        found = self._seen.get(subject)
        if found is None:
            hits: set[str] = set()
            for patterns, places in self._trusts:
                if any(workload_matches(subject, p) for p in patterns):
                    hits |= places
            found = self._seen[subject] = frozenset(hits)
        return found

    def environments(self, snapshot: Snapshot, repo_key: str) -> list[str]:
        """The names of a repository's production environments."""
        if self._environments is None:
            self._environments = defaultdict(list)
            for r in snapshot.resources.values():
                if r.kind == "environment" and r.tier == PRODUCTION and r.parent:
                    name = r.parent.removeprefix("github:repo:")
                    self._environments[r.parent].append(r.id[len(name) + 1:] if r.id.startswith(name + "/") else r.id)
        return self._environments.get(repo_key, [])

    def of_repo(self, repo: str, branch: str, environments: Iterable[str]) -> frozenset[str]:
        """Where a repository's runs can deploy: its default branch and its production environments."""
        subjects = [f"repo:{repo}:environment:{e}" for e in environments]
        if branch:
            subjects.append(f"repo:{repo}:ref:refs/heads/{branch}")
        return frozenset().union(*(self.of(s) for s in subjects)) if subjects else frozenset()
