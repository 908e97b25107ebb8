"""The shared vocabulary of foureyes: accounts, resources, grants, edges, gaps and snapshots.

Every connector produces these values and every later step (identity, graph, rules,
review, export) reads them. They are frozen; change them with `dataclasses.replace`.

Conventions every connector follows (the rule pack and the TUI rely on them):

* A principal's key is ``SYSTEM:ID`` (``github:alice``, ``aws:arn:aws:iam::1111:role/x``,
  ``gcp:user:alice@acme.com``, ``ci:repo:acme/api:environment:production``).
* A resource's key is ``SYSTEM:KIND:ID`` (``github:repo:acme/api``,
  ``github:environment:acme/api/production``, ``aws:account:111111111111``,
  ``gcp:project:acme-prod``).
* A grant carries the capabilities it confers (see `CAPABILITIES`). Connectors decide
  them, because only the connector knows its system's semantics.
* CI workload contexts are OIDC ``sub`` strings in GitHub's default format; see
  `ci_subject` and `workload_matches`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import not_
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from .activity import ActivityPeriod, Record, canonical, content_hash

# ---------------------------------------------------------------- vocabulary

SYSTEMS = ("github", "aws", "gcp", "ci")
# Identity sources: who works here and who should have access (no capabilities of their own).
IDENTITY_SYSTEMS = ("okta", "entra", "google_workspace", "roster")

CODE_PUSH = "code.push"
CODE_MERGE_UNREVIEWED = "code.merge_unreviewed"
CODE_APPROVE = "code.approve"
DEPLOY_RUN = "deploy.run"
DEPLOY_APPROVE = "deploy.approve"
ACCESS_ADMIN = "access.admin"

CAPABILITIES: tuple[str, ...] = (
    CODE_PUSH,
    CODE_MERGE_UNREVIEWED,
    CODE_APPROVE,
    DEPLOY_RUN,
    DEPLOY_APPROVE,
    ACCESS_ADMIN,
)

CAPABILITY_MEANING: Mapping[str, str] = MappingProxyType(
    {
        CODE_PUSH: "can push commits to a repository (any branch)",
        CODE_MERGE_UNREVIEWED: "can land a change on the default branch with no independent approval",
        CODE_APPROVE: "an approval counts toward required reviews on the repository",
        DEPLOY_RUN: "can cause a production deployment",
        DEPLOY_APPROVE: "required reviewer of a deployment environment",
        ACCESS_ADMIN: "can change who has access in scope (can grant itself anything)",
    }
)


class Kind:
    """Principal kinds."""

    USER = "user"
    TEAM = "team"
    GROUP = "group"
    ROLE = "role"
    SERVICE_ACCOUNT = "service-account"
    WORKLOAD = "workload"  # a concrete CI run context a person can cause
    WORKLOAD_PATTERN = "workload-pattern"  # a cloud trust condition over CI contexts
    APP = "app"  # GitHub App, deploy key, other non-human integration
    PERSON = "person"  # a person's record in an identity source (HR roster, IdP directory): not an account

    HUMAN = frozenset({USER})


class EdgeKind:
    MEMBER_OF = "member-of"
    CAN_ASSUME = "can-assume"
    CAN_TRIGGER = "can-trigger"
    MATCHES = "matches"  # computed by the graph: workload context ⊨ trust pattern
    # The source can make itself the destination by a privilege escalation (create its access
    # key, rewrite its trust, pass it to a service that runs code as it): never a routine path.
    CAN_ESCALATE = "can-escalate"


class Via:
    """How a grant reaches its principal (``Grant.via``)."""

    DIRECT = "direct"
    TEAM = "team"
    GROUP = "group"
    BASE = "base permission"
    OWNER = "owner"
    BYPASS = "bypass list"
    POLICY = "policy"
    INHERITED = "inherited"
    REVIEWER = "required reviewer"
    CI = "ci"
    ESCALATION = "escalation"  # a capability reached only by first granting oneself more


SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def severity_rank(severity: str) -> int:
    """Position of a severity in `SEVERITIES` (unknown severities rank lowest)."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return -1


def stable_hash(*parts: str, length: int = 20) -> str:
    """Hex digest of the parts, NUL-separated, so ('a', 'bc') and ('ab', 'c') differ."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:length]


def principal_key(system: str, id: str) -> str:
    return f"{system}:{id}"


def resource_key(system: str, kind: str, id: str) -> str:
    return f"{system}:{kind}:{id}"


def split_principal_key(key: str) -> tuple[str, str]:
    system, _, ident = key.partition(":")
    return system, ident


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Principal:
    """An account in one system: a user, team, group, role, service account or CI context."""

    system: str
    id: str
    kind: str
    display_name: str = ""
    email: str | None = None
    # Resource key of the place the principal lives in (AWS account, GCP project), so
    # posture rules can ask for the tier of a role.
    home: str = ""
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    @property
    def key(self) -> str:
        return principal_key(self.system, self.id)

    @property
    def label(self) -> str:
        return self.display_name or self.id


@dataclass(frozen=True, slots=True)
class Resource:
    """Where a right applies: repo, environment, AWS account, GCP project/folder/org."""

    system: str
    kind: str
    id: str
    name: str = ""
    tier: str = ""
    app: str = ""
    parent: str = ""  # resource key of the parent (repo of an environment, folder of a project)
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    @property
    def key(self) -> str:
        return resource_key(self.system, self.kind, self.id)

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Grant:
    """A principal holds an entitlement on a resource, conferring some capabilities.

    The key is a hash of system, principal, entitlement and resource only, so drift
    between snapshots is a set difference on keys.
    """

    system: str
    principal: str  # principal key
    entitlement: str
    resource: str  # resource key
    capabilities: tuple[str, ...] = ()
    via: str = Via.DIRECT
    detail: str = ""  # readable provenance: "team platform (child of engineering)"
    condition: str = ""  # condition text (CEL, IAM condition) when the grant is conditional
    expires: str | None = None  # ISO 8601, for time-bound grants
    last_used: str | None = None  # ISO 8601 usage evidence, when the system reports it
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    @property
    def key(self) -> str:
        return stable_hash(self.system, self.principal, self.entitlement, self.resource)


def grant_keys(grants: Iterable[Grant]) -> list[str]:
    """Each grant's `Grant.key`, in bulk: the same hash of the same text, without two calls and
    a tuple per grant (a million grants are keyed when a snapshot is written)."""
    sha256 = hashlib.sha256
    return [sha256(f"{g.system}\x00{g.principal}\x00{g.entitlement}\x00{g.resource}"
                   .encode("utf-8", "surrogatepass")).hexdigest()[:20] for g in grants]


@dataclass(frozen=True, slots=True)
class Edge:
    """The source principal can act as the destination principal."""

    src: str  # principal key
    dst: str  # principal key
    kind: str  # EdgeKind
    label: str = ""  # why, readable: "trust policy allows sub repo:acme/api:*"
    condition: str = ""
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)

    @property
    def key(self) -> str:
        return stable_hash(self.src, self.kind, self.dst)


@dataclass(frozen=True, slots=True)
class Gap:
    """Something a connector could not read. Unknown, never 'no access'."""

    system: str
    resource: str  # resource key, or "" when the gap is source-wide
    reason: str  # what failed: "403 Forbidden on GET /repos/acme/api/rulesets"
    hides: str = ""  # what it may hide: "ruleset bypass actors"
    about: str = ""  # "activity" for what happened in the review period; "" for who can do what

    @property
    def key(self) -> str:
        return stable_hash(self.system, self.resource, self.reason)


@dataclass(frozen=True, slots=True)
class AccountLink:
    principal: str  # principal key
    method: str  # config | email | saml | tag | sso | member | alias | unlinked
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    """A human, keyed by lowercased email, or by ``SYSTEM:ID`` when unlinked."""

    key: str
    display_name: str
    accounts: tuple[AccountLink, ...]
    linked: bool = True
    external: bool = False  # linked by an email outside the configured corporate domains
    # Who the roster says they are; None when no identity source is in the snapshot.
    roster: RosterPerson | None = None

    @property
    def email(self) -> str | None:
        return self.key if self.linked else None

    @property
    def status(self) -> str:
        """The roster status (`RosterStatus`), or "" when no roster is configured."""
        return self.roster.status if self.roster is not None else ""

    @property
    def is_leaver(self) -> bool:
        return self.roster is not None and self.roster.is_leaver


# ---------------------------------------------------------------- the roster


class RosterStatus:
    """A person's standing, merged from every identity source that knows them."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    UNKNOWN = "unknown"  # an identity source that should say could not be read
    NOT_IN_ROSTER = "not in roster"

    LEAVERS = frozenset({SUSPENDED, TERMINATED})
    ALL = (ACTIVE, SUSPENDED, TERMINATED, UNKNOWN, NOT_IN_ROSTER)


# A Gap whose `hides` is this says an identity source could not read its people: their
# status is unknown, never "active".
PEOPLE_UNREAD = "people and their status (leavers, managers, departments)"


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """What one identity source says about one person (from a `Kind.PERSON` principal)."""

    source: str  # system: okta | entra | google_workspace | roster
    id: str  # the principal key of the record
    status: str  # RosterStatus.ACTIVE / SUSPENDED / TERMINATED
    raw_status: str = ""  # as the source says it: DEPROVISIONED, accountEnabled=false, "Leaver"
    manager: str = ""  # manager's email, when the source names one
    department: str = ""
    end: str = ""  # ISO date employment ends (or ended)


@dataclass(frozen=True, slots=True)
class RosterPerson:
    """One person as the roster knows them: the merge of every source's entry."""

    email: str
    name: str
    status: str  # RosterStatus
    status_reason: str = ""  # why: "okta: DEPROVISIONED", "end date 2026-10-15 has passed"
    manager: str = ""  # email
    department: str = ""
    title: str = ""
    employee_number: str = ""
    start: str = ""  # ISO date
    end: str = ""  # ISO date
    left_on: str = ""  # ISO date the person left, when known (end date, or the source's status change)
    entries: tuple[RosterEntry, ...] = ()
    groups: tuple[str, ...] = ()  # principal keys of identity-provider groups
    apps: tuple[str, ...] = ()  # applications assigned in the identity provider ("GitHub", "AWS")

    @property
    def is_leaver(self) -> bool:
        return self.status in RosterStatus.LEAVERS

    @property
    def in_roster(self) -> bool:
        return self.status != RosterStatus.NOT_IN_ROSTER


@dataclass(frozen=True)
class SourceResult:
    """What one connector read from one system."""

    name: str  # source name in config: "github", "aws", "demo"
    system: str  # "github", "aws", "gcp", "ci" or "multi" for the demo
    principals: tuple[Principal, ...] = ()
    resources: tuple[Resource, ...] = ()
    grants: tuple[Grant, ...] = ()
    edges: tuple[Edge, ...] = ()
    gaps: tuple[Gap, ...] = ()
    started_at: str = ""
    finished_at: str = ""
    error: str | None = None  # the connector failed as a whole; its gaps say what is unknown
    stats: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    # Grant keys in the order of `grants`, when already known (the store has them): saves
    # hashing a million grants again. Empty means "compute them".
    grant_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Activity in the review period (foureyes/activity.py), read only when asked for
    # (`snapshot --activity`); ``period`` None: this source read no activity.
    activity: tuple[Record, ...] = ()
    period: ActivityPeriod | None = None

    def keyed_grants(self) -> Iterable[tuple[str, Grant]]:
        return zip(self.keys_of_grants(), self.grants)

    def keys_of_grants(self) -> Iterable[str]:
        """The grants' keys, in the order of `grants`."""
        if len(self.grant_keys) == len(self.grants):
            return self.grant_keys
        return (g.key for g in self.grants)

    def counts(self) -> dict[str, int]:
        return {
            "principals": len(self.principals),
            "resources": len(self.resources),
            "grants": len(self.grants),
            "edges": len(self.edges),
            "gaps": len(self.gaps),
        }


@dataclass(frozen=True)
class SnapshotInfo:
    """A stored snapshot without its content."""

    id: int
    taken_at: str
    label: str
    digest: str
    sources: tuple[SourceSummary, ...] = ()

    @property
    def gap_count(self) -> int:
        return sum(s.gaps for s in self.sources)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources if s.error)


@dataclass(frozen=True)
class SourceSummary:
    name: str
    system: str
    principals: int
    resources: int
    grants: int
    edges: int
    gaps: int
    started_at: str = ""
    finished_at: str = ""
    error: str | None = None
    stats: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    activity: int = 0  # activity records read for the period
    period: tuple[str, str] | None = None  # (start, end) of the activity period, when activity was read


@dataclass(frozen=True)
class Snapshot:
    """An immutable, stored picture of who could do what at one time."""

    id: int
    taken_at: str
    label: str
    sources: tuple[SourceResult, ...]
    digest: str = ""

    # Indexes are built on first use; the dataclass stays frozen for callers.
    def _index(self) -> dict[str, Any]:
        cached = self.__dict__.get("_idx")
        if cached is None:
            cached = {
                "principals": {p.key: p for s in self.sources for p in s.principals},
                "resources": {r.key: r for s in self.sources for r in s.resources},
            }
            object.__setattr__(self, "_idx", cached)
        return cached

    @property
    def principals(self) -> Mapping[str, Principal]:
        return self._index()["principals"]

    @property
    def resources(self) -> Mapping[str, Resource]:
        return self._index()["resources"]

    def grants(self) -> Iterable[Grant]:
        for source in self.sources:
            yield from source.grants

    def edges(self) -> Iterable[Edge]:
        for source in self.sources:
            yield from source.edges

    def keyed_grants(self) -> Iterable[tuple[str, Grant]]:
        for source in self.sources:
            yield from source.keyed_grants()

    def grants_not_in(self, other: "Snapshot") -> list[Grant]:
        """This snapshot's grants whose key `other` lacks; set work in C, for a million grants."""
        theirs = set(chain.from_iterable(s.keys_of_grants() for s in other.sources))
        keys = chain.from_iterable(s.keys_of_grants() for s in self.sources)
        grants = chain.from_iterable(s.grants for s in self.sources)
        return list(compress(grants, map(not_, map(theirs.__contains__, keys))))

    def gaps(self) -> list[Gap]:
        return [g for s in self.sources for g in s.gaps]

    def grants_of(self, principals: Iterable[str]) -> list[Grant]:
        """Grants held by these principals themselves (not through anything)."""
        wanted = set(principals)
        return [g for g in self.grants() if g.principal in wanted]

    def grants_by_key(self, keys: Iterable[str]) -> dict[str, Grant]:
        wanted = set(keys)
        return {k: g for k, g in self.keyed_grants() if k in wanted}

    def source(self, name: str) -> SourceResult | None:
        return next((s for s in self.sources if s.name == name), None)

    def activity(self) -> Iterable[Record]:
        for source in self.sources:
            yield from source.activity

    @property
    def period(self) -> ActivityPeriod | None:
        """The activity period (the widest of the sources' periods); None: no activity was read."""
        periods = [s.period for s in self.sources if s.period is not None]
        if not periods:
            return None
        return ActivityPeriod(min(p.start for p in periods), max(p.end for p in periods))


def snapshot_digest(sources: Iterable[SourceResult], *, grant_keys: list[list[str]] | None = None,
                    activity_texts: list[list[str]] | None = None) -> str:
    """Content digest over every key in the snapshot: equal content, equal digest.

    Activity records count with their whole content (kind, key and the hash of their canonical
    JSON), and the activity period with its bounds; a source without activity adds nothing, so
    digests of snapshots taken without activity stay what they were.
    ``grant_keys`` (one list per source, in order) saves hashing every grant twice, and
    ``activity_texts`` (each record's `activity.canonical` text) encoding every record twice.
    """
    h = hashlib.sha256()
    listed = list(sources)
    keys_of = {id(s): (grant_keys[i] if grant_keys else None) for i, s in enumerate(listed)}
    texts_of = {id(s): (activity_texts[i] if activity_texts else None) for i, s in enumerate(listed)}
    for source in sorted(listed, key=lambda s: s.name):
        h.update(f"source\x00{source.name}\x00{source.system}\n".encode())
        known = keys_of[id(source)]
        for tag, keys in (
            ("p", sorted(p.key for p in source.principals)),
            ("r", sorted(r.key for r in source.resources)),
            ("g", sorted(known if known is not None else (g.key for g in source.grants))),
            ("e", sorted(e.key for e in source.edges)),
            ("x", sorted(g.key for g in source.gaps)),
        ):
            # the lines of a part in batches (one ``update`` per key cost a third of the digest): the same bytes
            for start in range(0, len(keys), _DIGEST_BATCH):
                h.update(_key_lines(tag, keys[start:start + _DIGEST_BATCH]).encode("utf-8", "surrogatepass"))
        if source.period is not None or source.activity:
            for line in _activity_lines(source, texts_of[id(source)]):
                h.update(line.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


_DIGEST_BATCH = 10000  # keys hashed per ``update``: a few hundred kilobytes of text at a time


def _key_lines(tag: str, keys: list[str]) -> str:
    """``"{tag}\\x00{key}\\n"`` for each key, as one text."""
    if not keys:
        return ""
    return f"{tag}\x00" + f"\n{tag}\x00".join(keys) + "\n"


def _activity_lines(source: SourceResult, texts: list[str] | None) -> list[str]:
    period = source.period
    lines = [f"period\x00{period.start if period else ''}\x00{period.end if period else ''}\n"]
    if texts is None:
        texts = [canonical(r) for r in source.activity]
    lines += sorted(f"a\x00{type(r).KIND}\x00{r.key}\x00{content_hash(t)}\n" for r, t in zip(source.activity, texts))
    return lines


# ---------------------------------------------------------------- CI workload contexts

_SUBJECT_FIELD = re.compile(r"^repo:(?P<repo>[^:]+):(?P<rest>.*)$")


def ci_subject(
    repo: str,
    *,
    environment: str | None = None,
    ref: str | None = None,
    pull_request: bool = False,
) -> str:
    """The default GitHub OIDC ``sub`` for a job (reference §2.1).

    Precedence is GitHub's: an environment wins over a pull request, which wins over a
    ref. ``ref`` is a full ref (``refs/heads/main``); ``refs/heads/*`` stands for "any
    branch the person can create that is not protected".
    """
    if environment is not None:
        return f"repo:{repo}:environment:{environment}"
    if pull_request:
        return f"repo:{repo}:pull_request"
    if ref is None:
        raise ValueError("a CI subject needs an environment, a pull request or a ref")
    return f"repo:{repo}:ref:{ref}"


def ci_principal_key(subject: str) -> str:
    return principal_key("ci", subject)


def subject_repo(subject: str) -> str:
    """``acme/api`` for ``repo:acme/api:...``, or "" for a string that is not a subject."""
    m = _SUBJECT_FIELD.match(subject)
    return m.group("repo") if m else ""


ANY_BRANCH = "refs/heads/*"
_BAD_BRANCH = re.compile(r"[\s:~^?*\[\\]|\.\.|^/|/$|^-")


def workload_matches(context: str, pattern: str, *, protected: Iterable[str] = ()) -> bool:
    """Can a person who obtains ``context`` present a token that ``pattern`` accepts?

    ``context`` is a concrete subject, except that a ref of ``refs/heads/*`` means "a
    branch of the person's choosing that is not one of ``protected`` (branch names)".
    ``pattern`` is a trust condition in glob form (AWS ``StringLike``: ``*`` and ``?``,
    which may span ``/`` and ``:``). A pattern without wildcards is an exact match.
    """
    if fnmatch.fnmatchcase(context, pattern):
        return True
    if not context.endswith(":ref:" + ANY_BRANCH):
        return False
    prefix = context[:-1]  # "repo:O/R:ref:refs/heads/"
    blocked = set(protected)
    for branch in _branch_candidates(pattern):
        if branch in blocked or not branch or _BAD_BRANCH.search(branch):
            continue
        if fnmatch.fnmatchcase(prefix + branch, pattern):
            return True
    return False


def _branch_candidates(pattern: str) -> list[str]:
    """Branch names a person could create to satisfy ``pattern``, most specific first."""
    candidates = []
    at = pattern.rfind("refs/heads/")
    if at >= 0:
        glob = pattern[at + len("refs/heads/") :]
        candidates.append(glob.replace("*", "x").replace("?", "x"))
        candidates.append(glob.replace("*", "").replace("?", "x"))
    candidates.append("foureyes-any-branch")
    return candidates
