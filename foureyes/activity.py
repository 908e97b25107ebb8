"""Who did, not only who could: activity records read for a review period.

Connectors read these next to permissions and the store keeps them with the snapshot they
belong to; the snapshot's digest covers each record's whole content. They are facts as the
audited system reported them: actors are named as the system named them (`Actor`), and
turning an actor into a person is the analysis' job (`foureyes.attribution`), never a guess
made here. See docs/activity.md for the rules every source follows.

Records: `Change` (a pull request merged into, or a direct push to, a default branch),
`Deployment` (an environment deployment with the run that made it and who approved it),
`BypassUse` (a protection bypass that was used), `AuditEvent` (one entry of an audit log:
GitHub's, CloudTrail, Cloud Audit Logs) and `LastUsed` (when a principal last used a service
or permission). Each has ``system``, a stable ``id`` in that system, ``at`` (ISO 8601 UTC)
and ``evidence`` (the raw facts, as the system returned them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Union

_EMPTY: Mapping[str, Any] = MappingProxyType({})

# Kinds of change and how they landed.
PULL_REQUEST, DIRECT_PUSH = "pull_request", "direct_push"
# Merge methods (`Change.merge_method`).
MERGE, SQUASH, REBASE, MERGE_QUEUE, PUSH = "merge", "squash", "rebase", "merge queue", "push"
# Review states that count as an approval (GitHub's review state; environment approvals).
APPROVED = "APPROVED"
# `Gap.about` of what could not be read about the review period.
ABOUT = "activity"
# How a gap that hides a cloud's deploy log begins its `hides` (CloudTrail, Cloud Audit Logs): the
# change population makes what was deployed there "unknown" (foureyes.deploys.blind_spots).
HIDES_DEPLOYMENTS = "deployments and their actors in the period"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


# ---------------------------------------------------------------- actors


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone (or something) the audited system named as doing a thing.

    ``principal`` is the account's principal key in the snapshot's convention
    (``github:alice``, ``aws:arn:aws:iam::1111:role/deploy``, ``gcp:user:a@acme.com``) when the
    system names an account; ``email`` an address the system showed (a commit's author email,
    a ``Co-authored-by`` trailer, CloudTrail's session name or ``sourceIdentity`` when it is an
    address, Cloud Audit Logs' ``principalEmail``). ``via`` says where the name came from, so a
    reader sees why an actor became a person. An actor with neither is unknown: the analysis
    makes its verdicts "unknown", never "independent".
    """

    principal: str = ""
    name: str = ""  # as the system showed it: login, commit author name, role session name
    email: str = ""
    via: str = ""  # "login", "commit author", "Co-authored-by trailer", "role session name", "sourceIdentity" ...
    kind: str = ""  # user | bot | app | role | service-account | workload; "" when the system did not say

    @property
    def named(self) -> bool:
        return bool(self.principal or self.email)

    @property
    def label(self) -> str:
        return self.name or self.principal.partition(":")[2] or self.email or "unknown"


UNKNOWN = Actor()


@dataclass(frozen=True, slots=True)
class Approval:
    """A review or an environment approval: who, when, on which commit, with what outcome."""

    reviewer: Actor
    at: str
    state: str = APPROVED  # GitHub review: APPROVED, DISMISSED, CHANGES_REQUESTED, COMMENTED; environments: APPROVED, REJECTED
    commit: str = ""  # the commit the review was made on (pull requests)
    comment: str = ""

    @property
    def approves(self) -> bool:
        return self.state == APPROVED


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit of a change, with everyone it names as an author."""

    sha: str
    author: Actor = UNKNOWN
    committer: Actor = UNKNOWN
    co_authors: tuple[Actor, ...] = ()  # Co-authored-by trailers
    at: str = ""  # committed date
    message: str = ""  # the first line

    @property
    def authors(self) -> tuple[Actor, ...]:
        return (self.author,) + self.co_authors


# ---------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Change:
    """A production change: a pull request merged into a default branch, or a direct push to it.

    ``required_approvals`` and ``require_last_push_approval`` are the branch's rules as the
    snapshot read them (GitHub keeps no history of them outside the audit log).
    """

    system: str
    id: str  # "acme/api#123" for a pull request, "acme/api@<sha>" for a direct push
    repo: str  # resource key of the repository
    at: str  # when it reached the branch (merged, pushed)
    kind: str = PULL_REQUEST  # PULL_REQUEST | DIRECT_PUSH
    branch: str = ""
    number: int = 0
    title: str = ""
    url: str = ""
    sha: str = ""  # the branch's commit after it landed (merge commit, pushed head)
    before_sha: str = ""  # the branch's commit before (direct pushes)
    head_sha: str = ""  # the pull request's last commit
    author: Actor = UNKNOWN  # who opened the pull request, or who pushed
    commits: tuple[Commit, ...] = ()
    commits_complete: bool = True  # False: more commits than were read (a Gap says so)
    approvals: tuple[Approval, ...] = ()
    merged_by: Actor = UNKNOWN
    merge_method: str = ""  # MERGE | SQUASH | REBASE | MERGE_QUEUE | PUSH ("" when the system did not say)
    last_push_at: str = ""  # the last push to the pull request's head, when known
    last_pusher: Actor = UNKNOWN
    required_approvals: int | None = None  # None: the snapshot could not read the branch's rules
    require_last_push_approval: bool = False
    review_decision: str = ""  # GitHub's reviewDecision when read: APPROVED, REVIEW_REQUIRED, CHANGES_REQUESTED
    bypasses: tuple[str, ...] = ()  # protections this change went around, in words
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    KIND = "change"

    @property
    def key(self) -> str:
        return _hash(self.KIND, self.system, self.id)

    @property
    def authors(self) -> tuple[Actor, ...]:
        """The change's author and every author and co-author of its commits, once each."""
        seen: dict[str, Actor] = {}
        for actor in (self.author,) + tuple(a for c in self.commits for a in c.authors):
            seen.setdefault(actor.principal or actor.email.lower() or f"name:{actor.name}", actor)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment to an environment, with the run that made it and who approved it."""

    system: str
    id: str  # "acme/api/deployments/4711"
    repo: str  # resource key of the repository
    environment: str  # resource key of the environment
    at: str  # created
    sha: str = ""
    ref: str = ""
    creator: Actor = UNKNOWN
    run_id: int = 0
    run_url: str = ""
    workflow: str = ""  # the workflow file
    event: str = ""  # what started the run: push, workflow_dispatch ...
    run_actor: Actor = UNKNOWN  # the run's `actor`
    triggering_actor: Actor = UNKNOWN  # the run's `triggering_actor` (a re-run's is who re-ran it)
    approvals: tuple[Approval, ...] = ()  # environment approvals (state APPROVED or REJECTED)
    status: str = ""  # the latest deployment status: success, failure, in_progress ...
    ci_subject: str = ""  # the OIDC subject the run's jobs got ("repo:acme/api:environment:production")
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    KIND = "deployment"

    @property
    def key(self) -> str:
        return _hash(self.KIND, self.system, self.id)


@dataclass(frozen=True, slots=True)
class BypassUse:
    """A protection that was actually bypassed: a ruleset rule suite with result "bypass",
    an audit-log override."""

    system: str
    id: str  # "acme/api/rule-suites/42"
    repo: str  # resource key of the repository
    at: str
    actor: Actor = UNKNOWN
    ref: str = ""  # "refs/heads/main"
    before_sha: str = ""
    after_sha: str = ""
    rules: tuple[str, ...] = ()  # the rules (or rulesets) that were bypassed, in words
    result: str = "bypass"
    source: str = ""  # "rule suite" | "audit log"
    change: str = ""  # the `Change.id` it let through, when known
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    KIND = "bypass"

    @property
    def key(self) -> str:
        return _hash(self.KIND, self.system, self.id)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of an audit log: GitHub's organisation audit log, CloudTrail, Cloud Audit Logs."""

    system: str
    id: str  # the log's own id: GitHub `_document_id`, CloudTrail EventId, Cloud Logging insertId
    at: str
    action: str  # "protected_branch.policy_override", "ecs:UpdateService", "run.services.update"
    actor: Actor = UNKNOWN
    resource: str = ""  # resource key where it happened: github:repo:…, aws:account:…, gcp:project:…
    target: str = ""  # what it acted on, as the log names it (ARN, service name, branch)
    result: str = ""  # "success" | "denied" | "" (the log did not say)
    ci_subject: str = ""  # OIDC subject of a CI identity (AssumeRoleWithWebIdentity, WIF), when there is one
    session: str = ""  # role session name / sourceIdentity, as logged
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    KIND = "event"

    @property
    def key(self) -> str:
        return _hash(self.KIND, self.system, self.id)


@dataclass(frozen=True, slots=True)
class LastUsed:
    """When a principal last used a service or permission, as the system tracks it.

    ``last_used`` None means "no use in the tracked window" (which starts at
    ``tracked_since``), not "unknown": what could not be read is a Gap instead.
    """

    system: str
    principal: str  # principal key
    service: str  # "s3", "ecs" (Access Advisor), "run.services.update" (a permission), "" for the principal as a whole
    resource: str = ""  # resource key where it applies (account, project)
    last_used: str | None = None
    tracked_since: str = ""  # the start of the window the system tracks
    grant: str = ""  # the grant's key, when the system reports for one grant
    region: str = ""
    entity: str = ""  # what the use went through, as reported (a policy ARN, a role)
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    KIND = "last_used"

    @property
    def id(self) -> str:
        return f"{self.principal}|{self.service}|{self.resource}|{self.grant}"

    @property
    def at(self) -> str:
        return self.last_used or ""

    @property
    def key(self) -> str:
        return _hash(self.KIND, self.system, self.id)


Record = Union[Change, Deployment, BypassUse, AuditEvent, LastUsed]
KINDS: Mapping[str, type] = MappingProxyType({
    cls.KIND: cls for cls in (Change, Deployment, BypassUse, AuditEvent, LastUsed)})
_NESTED: Mapping[str, type] = MappingProxyType({"Actor": Actor, "Approval": Approval, "Commit": Commit})


# ---------------------------------------------------------------- the period


@dataclass(frozen=True, slots=True)
class ActivityPeriod:
    """The review period activity was read for: [start, end), ISO 8601 UTC."""

    start: str
    end: str

    def contains(self, when: str) -> bool:
        return bool(when) and self.start <= _utc(when) < self.end

    @property
    def days(self) -> int:
        return (parse_time(self.end) - parse_time(self.start)).days

    def label(self) -> str:
        return f"{self.start[:10]} to {self.end[:10]}"


_SINCE = re.compile(r"^(\d{1,4})([dw])$")


def parse_since(text: str) -> timedelta | None:
    """``"90d"`` or ``"12w"`` as a timedelta; None when the text is neither."""
    m = _SINCE.match(text.strip())
    if not m:
        return None
    n = int(m.group(1))
    return timedelta(days=n if m.group(2) == "d" else 7 * n)


def period_from(*, since: str = "", start: date | None = None, end: date | None = None,
                now: datetime | None = None) -> ActivityPeriod:
    """The period from ``[activity]``: explicit dates (``end`` inclusive, to midnight after), else
    ``since`` back from ``end`` (default: now)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    stop = datetime.combine(end + timedelta(days=1), time(), timezone.utc) if end else now
    if start is not None:
        begin = datetime.combine(start, time(), timezone.utc)
    else:
        back = parse_since(since or "90d")
        if back is None:
            raise ValueError(f"activity period {since!r}: expected a number of days or weeks, such as 90d or 12w")
        begin = stop - back
    if begin >= stop:
        raise ValueError(f"activity period starts ({begin.date()}) on or after its end ({stop.date()})")
    return ActivityPeriod(_iso(begin), _iso(stop))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(when: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; naive means UTC) as an aware datetime."""
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _utc(when: str) -> str:
    """Any ISO 8601 time as the period's form (``...Z``), so times compare as strings."""
    try:
        return _iso(parse_time(when))
    except ValueError:
        return when


def utc(when: str) -> str:
    """An ISO 8601 time from a system (``+00:00``, ``Z``, offsets) as UTC ``YYYY-MM-DDTHH:MM:SSZ``."""
    return _utc(when) if when else ""


# ---------------------------------------------------------------- JSON, for the store and the digest


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    found = _FIELD_NAMES.get(cls)
    if found is None:
        found = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


def encode(record: Any) -> dict[str, Any]:
    """A record as plain JSON values (nested actors, approvals and commits as objects)."""
    return {name: _plain(getattr(record, name)) for name in _names(type(record))}


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind in (tuple, list):
        return [_plain(v) for v in value]
    if kind in (dict, MappingProxyType):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"_": kind.__name__, **encode(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def decode(kind: str, data: Mapping[str, Any]) -> Record:
    """The record of ``kind`` a JSON object (from `encode`) describes."""
    return _build(KINDS[kind], data)


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    known = _names(cls)
    return cls(**{name: _value(raw, name == "evidence") for name, raw in data.items() if name in known})


def _value(raw: Any, frozen_map: bool) -> Any:
    if isinstance(raw, dict):
        nested = _NESTED.get(raw.get("_", ""))
        if nested is not None:
            return _build(nested, raw)
        return MappingProxyType({k: _value(v, False) for k, v in raw.items()}) if frozen_map else raw
    if isinstance(raw, list):
        return tuple(_value(v, False) for v in raw) if not frozen_map else raw
    return raw


def canonical(record: Any) -> str:
    """The record's JSON text: the same record gives the same text, stored and hashed."""
    return json.dumps(encode(record), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def activity_order(record: Any) -> tuple[str, str, str]:
    """The order records are kept in: by kind, time and id (the builder's and the store's)."""
    return (type(record).KIND, record.at, record.id)


def kind_of(record: Any) -> str:
    return type(record).KIND


def of_kind(records: Iterable[Any], cls: type) -> list[Any]:
    return [r for r in records if type(r) is cls]
