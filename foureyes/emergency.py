"""Emergency access: declared break-glass paths matched to a snapshot, time-bound (just-in-time)
access told apart from standing access, and each use of a declared path in the review period.

Pure: a snapshot, its people and the config in. `Emergency.marks` tells the graph which hops are
an emergency path or time-bound (so a capability reached only that way is not standing access);
`Emergency.annotations` are the derived attributes the posture rules read (an undeclared
break-glass role, an admin role assumed without MFA, an expired grant still in place); `uses`
are the evidence a campaign of scope "emergency" reviews, and `facts` what the FE-EMG rules
report about them (no ticket, too long, not allowed). docs/emergency.md says what is checked.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from .activity import AuditEvent, BypassUse, Change, parse_time, utc
from .attribution import Attributor, Who
from .changes import Fact, ProofStep
from .config import BreakGlassConfig, Config
from .graph import Marks
from .identity import EmailNormaliser, Identities
from .model import ACCESS_ADMIN, Edge, EdgeKind, Grant, Kind, Principal, Snapshot, Via, stable_hash

# Campaign items of scope "emergency" are uses, not grants: their `via` says so.
USE_VIA = "emergency use"
# Facts the FE-EMG activity rules match on.
USE_WITHOUT_TICKET = "emergency-use-without-ticket"
USE_TOO_LONG = "emergency-use-too-long"
USE_NOT_ALLOWED = "emergency-use-not-allowed"
FACTS = (USE_WITHOUT_TICKET, USE_TOO_LONG, USE_NOT_ALLOWED)
# What a role, team or account is called when it is meant for emergencies.
BREAK_GLASS_NAME = re.compile(r"break[-_. ]?glass|fire[-_. ]?(?:call|fighter)|emergency[-_. ]?(?:access|admin)", re.I)
_BREAK_GLASS_LOWER = re.compile(BREAK_GLASS_NAME.pattern)  # (for lower-cased ASCII text: the pattern is lower case)
assert BREAK_GLASS_NAME.pattern == BREAK_GLASS_NAME.pattern.lower()
# Identity Center's role for a permission set in an account (docs/sources/aws.md).
_SSO_ROLE = re.compile(r":role/aws-reserved/sso\.amazonaws\.com/(?:[^/]+/)?AWSReservedSSO_(?P<ps>.+)_[0-9a-f]+$")
_RULESET = re.compile(r"ruleset '(?P<name>[^']*)' bypass")
# AWS session duration when AssumeRole names none (the API's default).
DEFAULT_SESSION_S = 3600
# Cloud Audit Logs entries of one person under one binding, further apart than this, are two uses.
GCP_IDLE = timedelta(hours=1)
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML")
ASSIGNMENT_ACTION = "sso:CreateAccountAssignment"
TEAM_ADD_ACTION = "team.add_member"
_EMPTY: Mapping[str, Any] = MappingProxyType({})


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class DeclaredPath:
    """A `[[break_glass]]` declaration and what it matched in the snapshot."""

    config: BreakGlassConfig
    nodes: tuple[str, ...] = ()  # principal keys: using one of them is using the path (roles, teams)
    grants: tuple[str, ...] = ()  # grant keys that are the path (GCP conditional bindings, ruleset bypasses)
    labels: tuple[str, ...] = ()  # what matched, readable
    positions: tuple[int, ...] = ()  # the same grants' positions in ``snapshot.grants()`` (the graph's marks)
    holders: tuple[str, ...] = ()  # the principals holding them

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def matched(self) -> bool:
        return bool(self.nodes or self.grants)


@dataclass(frozen=True)
class TimedAccess:
    """A grant or assignment that lasts only for a while: its expiry ("" when unknown) and whether
    it has passed while the access is still there (at the snapshot's time)."""

    kind: str  # "grant" (an expiring GCP binding) | "assignment" (Identity Center) | "membership" (GitHub team)
    principal: str  # who holds it (principal key)
    label: str  # what, readable
    resource: str  # resource key (the account, project or team's organisation)
    expires: str  # ISO 8601 UTC, "" when not known
    source: str  # how foureyes knows it is time-bound, and where the expiry comes from
    expired: bool = False
    started: str = ""  # when it was granted, when known
    grant: str = ""  # grant key (kind "grant")
    edge: tuple[str, str] = ("", "")  # (src, dst) of the assignment or membership edge
    position: int = -1  # kind "grant": its position in ``snapshot.grants()``


@dataclass(frozen=True)
class Use:
    """One use of a declared emergency path in the review period: who, when, how long, what was
    done, the ticket it carried, and what is wrong with it (``problems``, each a fact kind)."""

    path: str  # the declared path's name
    id: str  # the record it comes from (CloudTrail event id, bypass id, first audit entry)
    system: str
    who: Who
    start: str
    end: str  # when it was last seen in use (or its credentials expired)
    resource: str  # where: account, project or repository key
    target: str  # the role, binding or ruleset used, readable
    duration_s: int  # how long the access was held: session validity or binding window, else the span seen
    active_s: int  # from the start to the last action seen
    actions: tuple[str, ...] = ()  # what was done, readable, in order
    ticket: str = ""  # the reference found, "" when none
    ticket_sources: tuple[str, ...] = ()  # where foureyes looked for it
    problems: tuple[tuple[str, str], ...] = ()  # (fact kind, readable why)
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    principal: str = ""  # the path's principal: the role, the binding's member, the account that bypassed

    @property
    def key(self) -> str:
        return stable_hash("emergency-use", self.path, self.system, self.id)

    @property
    def entitlement(self) -> str:
        """What a campaign item about this use is called (unique per use)."""
        return f"emergency use of {self.path} at {self.start[:16].replace('T', ' ')} ({self.id})"

    def as_grant(self, capabilities: tuple[str, ...] = ()) -> Grant:
        """The use as a campaign item's grant (scope "emergency"): its key is unique to the use."""
        return Grant(self.system, self.principal or self.who.actor.principal or self.person, self.entitlement,
                     self.resource, capabilities, via=USE_VIA, detail=self.summary(),
                     condition=f"ticket {self.ticket}" if self.ticket else "", last_used=self.start)

    @property
    def person(self) -> str:
        """The person key, else what the system named (an unlinked account, an address)."""
        return self.who.person or self.who.actor.principal or self.who.actor.email or self.who.label

    def lines(self) -> tuple[str, ...]:
        """The use as a reviewer reads it."""
        out = [f"who: {self.who.label} ({self.who.how})",
               f"when: {self.start} to {self.end}",
               f"how long: {duration_text(self.duration_s)}"
               + (f" (last action after {duration_text(self.active_s)})" if self.actions else ""),
               f"path: {self.path}: {self.target}",
               f"ticket: {self.ticket}" if self.ticket else
               f"ticket: none found (looked in {', '.join(self.ticket_sources) or 'nothing the system records'})"]
        out += [f"did: {a}" for a in self.actions[:20]]
        if len(self.actions) > 20:
            out.append(f"did: … and {len(self.actions) - 20} more")
        out += [f"problem: {why}" for _, why in self.problems]
        return tuple(out)

    def summary(self) -> str:
        done = f"{len(self.actions)} action{'s' if len(self.actions) != 1 else ''}" if self.actions else "no action seen"
        return (f"{self.who.label} used {self.path} ({self.target}) at {self.start[:16].replace('T', ' ')} for "
                f"{duration_text(self.duration_s)}: {done}")


@dataclass(frozen=True)
class Emergency:
    """The emergency view of one analysed snapshot."""

    paths: tuple[DeclaredPath, ...] = ()
    timed: tuple[TimedAccess, ...] = ()
    uses: tuple[Use, ...] = ()
    facts: tuple[Fact, ...] = ()
    marks: Marks = field(default_factory=Marks)
    annotations: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)

    def path(self, name: str) -> DeclaredPath | None:
        return next((p for p in self.paths if p.name == name), None)

    @property
    def expired(self) -> tuple[TimedAccess, ...]:
        return tuple(t for t in self.timed if t.expired)

    def principals(self, principals: Mapping[str, Principal]) -> Mapping[str, Principal]:
        """``principals`` with the derived attributes the posture rules read (the same mapping when none)."""
        if not self.annotations:
            return principals
        out = dict(principals)
        for key, attrs in self.annotations.items():
            found = out.get(key)
            if found is not None:
                out[key] = Principal(found.system, found.id, found.kind, found.display_name, found.email, found.home,
                                     MappingProxyType({**found.attrs, **attrs}))
        return out


def duration_text(seconds: int) -> str:
    minutes = max(0, seconds) // 60
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


# ---------------------------------------------------------------- the whole view


def prepare(snapshot: Snapshot, identities: Identities, config: Config) -> Emergency:
    """Declared paths, time-bound access and the graph's marks; uses come later (`with_uses`),
    once the graph can say who is in a team."""
    paths = declared_paths(snapshot, config)
    timed = timed_access(snapshot, config)
    marks = _marks(snapshot, paths, timed)
    annotations = _annotations(snapshot, paths, timed)
    return Emergency(paths=paths, timed=tuple(timed), marks=marks, annotations=annotations)


def with_uses(found: Emergency, snapshot: Snapshot, identities: Identities, config: Config,
              team_members: Any) -> Emergency:
    """The view with the uses of its declared paths in the snapshot's activity, and their facts.
    ``team_members(team) -> set of person keys`` (`Graph.team_members`)."""
    if not found.paths or snapshot.period is None:
        return found
    attributor = Attributor(snapshot, identities, config)
    uses = _uses(snapshot, found.paths, attributor, config, team_members)
    return Emergency(paths=found.paths, timed=found.timed, uses=tuple(uses), facts=tuple(_facts(uses, snapshot)),
                     marks=found.marks, annotations=found.annotations)


# ---------------------------------------------------------------- declared paths


def _glob(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _role_matches(arn: str, patterns: list[str]) -> bool:
    """A role ARN against ARNs or names (globs): ``ops-breakglass`` matches ``…:role/ops/ops-breakglass``."""
    name = arn.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(arn, p) if p.startswith("arn:") else fnmatch.fnmatchcase(name, p)
               for p in patterns)


def permission_set_of(principal: Principal) -> str:
    """The Identity Center permission set a role (or a permission set's own principal) is, or ""."""
    found = principal.attrs.get("permission_set")
    if found:
        return str(found)
    m = _SSO_ROLE.search(principal.id)
    return m.group("ps") if m else ""


def _team_matches(principal: Principal, patterns: list[str]) -> bool:
    ident = principal.id.removeprefix("team/")  # "acme/web"
    slug = ident.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(ident, p) if "/" in p else fnmatch.fnmatchcase(slug, p) for p in patterns)


def declared_paths(snapshot: Snapshot, config: Config) -> tuple[DeclaredPath, ...]:
    """Each `[[break_glass]]` with the principals and grants it names in the snapshot."""
    out = []
    principals = snapshot.principals
    for declared in config.break_glass:
        nodes: list[str] = []
        labels: list[str] = []
        for key, p in principals.items():
            if p.system == "aws" and p.kind == Kind.ROLE:
                arn = p.id
                if declared.aws_roles and _role_matches(arn, declared.aws_roles):
                    nodes.append(key)
                    labels.append(p.label)
                elif declared.aws_permission_sets and (ps := permission_set_of(p)) and \
                        _glob(ps, declared.aws_permission_sets):
                    nodes.append(key)
                    labels.append(f"permission set {ps}: {p.label}")
            elif p.system == "github" and p.kind == Kind.TEAM and declared.github_teams and \
                    _team_matches(p, declared.github_teams):
                nodes.append(key)
                labels.append(f"GitHub {p.label}" if p.label.startswith("team") else f"GitHub team {p.label}")
        grants: dict[int, Grant] = {}
        if declared.gcp_bindings or declared.github_rulesets:
            for position, grant in enumerate(snapshot.grants()):  # keys hashed for the few that match only
                why = _declared_grant(grant, declared, snapshot)
                if why:
                    grants[position] = grant
                    labels.append(why)
        out.append(DeclaredPath(declared, tuple(sorted(nodes)), tuple(dict.fromkeys(g.key for g in grants.values())),
                                tuple(dict.fromkeys(labels)), tuple(grants),
                                tuple(dict.fromkeys(g.principal for g in grants.values()))))
    return tuple(out)


def _declared_grant(grant: Grant, declared: BreakGlassConfig, snapshot: Snapshot) -> str:
    if grant.system == "gcp" and grant.condition:
        role = grant.entitlement.split(" ", 1)[0]
        title = str(grant.attrs.get("condition_title", ""))
        resource = snapshot.resources.get(grant.resource)
        where = {grant.resource.split(":", 2)[-1], *(str(b).split(":", 2)[-1] for b in grant.attrs.get("bound_at", ()))}
        if resource is not None:
            where.add(str(resource.attrs.get("resource_name", "")))
        if any(b.matches(role, title, grant.condition, where) for b in declared.gcp_bindings):
            return f"GCP binding {grant.entitlement} of {grant.principal.split(':', 1)[1]} on {grant.resource}"
    if grant.system == "github" and grant.via == Via.BYPASS and declared.github_rulesets:
        for m in _RULESET.finditer(grant.detail):
            if _glob(m.group("name"), declared.github_rulesets):
                return f"bypass list of ruleset '{m.group('name')}' ({grant.principal.split(':', 1)[1]} on {grant.resource})"
    return ""


# ---------------------------------------------------------------- time-bound access


def timed_access(snapshot: Snapshot, config: Config) -> list[TimedAccess]:
    """Grants with an expiry, and assignments and memberships `[just_in_time]` says are granted for
    a while (their start read from the audit logs of the period, when there)."""
    now = _taken(snapshot)
    out: list[TimedAccess] = []
    for position, grant in enumerate(snapshot.grants()):
        if not grant.expires:
            continue
        expired = bool(grant.attrs.get("expired")) or _before(grant.expires, now)
        where = "the binding's condition (request.time)" if grant.system == "gcp" else "the grant's expiry"
        out.append(TimedAccess("grant", grant.principal, f"{grant.entitlement} on {grant.resource}", grant.resource,
                               utc(grant.expires), where, expired, grant=grant.key, position=position))
    for edge in snapshot.edges():
        if edge.attrs.get("expires"):  # the system's own expiry (a GCP binding's request.time bound behind it)
            expires = str(edge.attrs["expires"])
            out.append(TimedAccess("edge", edge.src, f"{edge.label} (to {edge.dst})", "", utc(expires),
                                   "the condition of the binding behind it (request.time)", _before(expires, now),
                                   edge=(edge.src, edge.dst)))
    jit = config.just_in_time
    if not jit.configured:
        return out
    events = [r for r in snapshot.activity() if isinstance(r, AuditEvent)]
    assigned = _latest(e for e in events if e.action == ASSIGNMENT_ACTION)
    added = _latest(e for e in events if e.action == TEAM_ADD_ACTION)
    principals = snapshot.principals
    for edge in snapshot.edges():
        target = principals.get(edge.dst)
        if target is None:
            continue
        if edge.kind == EdgeKind.CAN_ASSUME and edge.attrs.get("sso_assignment") and jit.aws_permission_sets:
            ps = permission_set_of(target)
            if not ps or not _glob(ps, jit.aws_permission_sets):
                continue
            key = (str(edge.attrs.get("permission_set_arn", "")), str(edge.attrs.get("account_id", "")),
                   str(edge.attrs.get("principal_id", "")))
            out.append(_timed(edge, "assignment", f"permission set {ps} in account {key[1]}",
                              f"aws:account:{key[1]}", assigned.get(key), jit.max_time, now,
                              "[just_in_time] aws_permission_sets", "assigned", "CloudTrail CreateAccountAssignment"))
        elif edge.kind == EdgeKind.MEMBER_OF and target.kind == Kind.TEAM and jit.github_teams and \
                _team_matches(target, jit.github_teams):
            member = principals.get(edge.src)
            if member is None or member.kind != Kind.USER:
                continue
            team = target.id.removeprefix("team/")
            out.append(_timed(edge, "membership", f"member of team {team}", f"github:org:{team.split('/', 1)[0]}",
                              added.get((team, member.id)), jit.max_time, now, "[just_in_time] github_teams",
                              "added", "audit log team.add_member"))
    return out


def _taken(snapshot: Snapshot) -> datetime:
    """When the snapshot was taken (what "expired" is measured against); now when it does not say."""
    try:
        return parse_time(snapshot.taken_at)
    except ValueError:
        return datetime.now(timezone.utc)


def _timed(edge: Edge, kind: str, label: str, resource: str, started: str | None, longest: timedelta,
           now: datetime, why: str, verb: str, log: str) -> TimedAccess:
    if started:
        expires = utc((parse_time(started) + longest).isoformat())
        return TimedAccess(kind, edge.src, label, resource, expires, f"{why}; {verb} {started} ({log})",
                           _before(expires, now), started, edge=(edge.src, edge.dst))
    return TimedAccess(kind, edge.src, label, resource, "",
                       f"{why}; when it was {verb} is not known ({log} not in the snapshot's period)",
                       edge=(edge.src, edge.dst))


def _before(when: str, now: datetime) -> bool:
    try:
        return parse_time(when) <= now
    except ValueError:
        return False


def _latest(events: Iterable[AuditEvent]) -> dict[Any, str]:
    """The latest time each assignment (or team membership) was made, by what identifies it."""
    out: dict[Any, str] = {}
    for event in events:
        if event.result not in ("", "success"):
            continue
        ev = event.evidence
        if event.action == ASSIGNMENT_ACTION:
            key: Any = (str(ev.get("permissionSetArn", "")), str(ev.get("targetId", "")), str(ev.get("principalId", "")))
        else:
            key = (str(ev.get("team", "")), str(ev.get("user", "")))
        if event.at > out.get(key, ""):
            out[key] = event.at
    return out


# ---------------------------------------------------------------- marks and annotations


def _marks(snapshot: Snapshot, paths: tuple[DeclaredPath, ...], timed: list[TimedAccess]) -> Marks:
    nodes = {node: p.name for p in paths for node in p.nodes}
    emergency_grants = {position: p.name for p in paths for position in p.positions}
    timed_positions = {t.position: t.expires for t in timed if t.position >= 0 and not t.expired}
    timed_edges = {t.edge: t.expires for t in timed if t.edge != ("", "") and not t.expired}
    return Marks(emergency_nodes=MappingProxyType(nodes), emergency_grants=MappingProxyType(emergency_grants),
                 timed_edges=MappingProxyType(timed_edges), timed_grants=MappingProxyType(timed_positions))


def _annotations(snapshot: Snapshot, paths: tuple[DeclaredPath, ...],
                 timed: list[TimedAccess]) -> Mapping[str, Mapping[str, Any]]:
    """Derived attributes for the FE-EMG posture rules, on the principals they concern only."""
    declared = {node for p in paths for node in p.nodes} | {h for p in paths for h in p.holders}
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    principals = snapshot.principals
    inbound: dict[str, list[Edge]] = defaultdict(list)
    for edge in snapshot.edges():
        if edge.kind == EdgeKind.CAN_ASSUME:
            inbound[edge.dst].append(edge)
    for key in _break_glass_named(principals):
        out[key].update(break_glass_name=True, emergency_declared=key in declared,
                        assumable_by=_assumers(inbound.get(key, ()), principals))
    for key in _admins_without_mfa(snapshot, inbound):
        out[key].update(admin_without_mfa=True, emergency_declared=key in declared,
                        assumable_by=_assumers(inbound.get(key, ()), principals, users_only=True))
    expired: dict[str, list[str]] = defaultdict(list)
    for t in timed:
        if t.expired:
            expired[t.principal].append(f"{t.label} (expired {t.expires[:16].replace('T', ' ')}; {t.source})")
    for key, labels in expired.items():
        out[key].update(holds_expired_grant=True, expired_grants=sorted(labels))
    return MappingProxyType({k: MappingProxyType(v) for k, v in out.items()})


_NAMED_KINDS = frozenset({Kind.ROLE, Kind.TEAM, Kind.GROUP, Kind.SERVICE_ACCOUNT, Kind.USER})


def _break_glass_named(principals: Mapping[str, Principal]) -> list[str]:
    """The principals whose name (the last part of the id, then the display name, a space between)
    `BREAK_GLASS_NAME` matches, in order. One search over all the names, a line each, rather than
    one per principal (~90,000 at full size): no match of it can hold a line break, so none spans two
    names, and each is told by where it starts (a name may hold line breaks of its own)."""
    named = [(key, p) for key, p in principals.items() if p.kind in _NAMED_KINDS]
    keys = [key for key, _ in named]
    names = [p.id.rsplit("/", 1)[-1] + " " + p.display_name for _, p in named]
    starts = list(accumulate((len(name) + 1 for name in names), initial=0))
    text = "\n".join(names)
    # ASCII text lower-cased matches the lower-case pattern where the text matches it ignoring case,
    # at the same places, four times as fast; other text may fold otherwise (a long s, a Kelvin sign)
    matches = _BREAK_GLASS_LOWER.finditer(text.lower()) if text.isascii() else BREAK_GLASS_NAME.finditer(text)
    found: dict[str, None] = {}
    for match in matches:
        found[keys[bisect_right(starts, match.start()) - 1]] = None
    return list(found)


def _assumers(edges: Iterable[Edge], principals: Mapping[str, Principal], *, users_only: bool = False) -> list[str]:
    out = []
    for edge in edges:
        source = principals.get(edge.src)
        if users_only and (source is None or source.kind != Kind.USER):
            continue
        out.append(source.label if source is not None else edge.src)
    return sorted(set(out))[:10]


def _admins_without_mfa(snapshot: Snapshot, inbound: Mapping[str, list[Edge]]) -> list[str]:
    """Production AWS roles that can change access and that a user assumes with no MFA condition."""
    admin_roles: set[str] = set()
    for grant in (g for source in snapshot.sources if source.system in ("aws", "multi") for g in source.grants):
        if ACCESS_ADMIN in grant.capabilities and grant.system == "aws":
            resource = snapshot.resources.get(grant.resource)
            if resource is not None and resource.tier == "production":
                admin_roles.add(grant.principal)
    out = []
    for key in sorted(admin_roles):
        role = snapshot.principals.get(key)
        if role is None or role.kind != Kind.ROLE:
            continue
        for edge in inbound.get(key, ()):
            source = snapshot.principals.get(edge.src)
            if source is not None and source.kind == Kind.USER and source.system == "aws" and \
                    "MultiFactorAuthPresent" not in edge.condition and not edge.attrs.get("sso_assignment"):
                out.append(key)
                break
    return out


# ---------------------------------------------------------------- uses


def _uses(snapshot: Snapshot, paths: tuple[DeclaredPath, ...], attributor: Attributor, config: Config,
          team_members: Any) -> list[Use]:
    records = list(snapshot.activity())
    events = [r for r in records if isinstance(r, AuditEvent)]
    normalise = EmailNormaliser(config.identity)
    out: list[Use] = []
    for path in paths:
        found = _aws_uses(path, events, attributor, snapshot) + _gcp_uses(path, events, attributor, snapshot) + \
            _github_uses(path, records, attributor, snapshot, team_members)
        out.extend(_judged(u, path.config, normalise, attributor) for u in found)
    return sorted(out, key=lambda u: (u.start, u.path, u.id))


def _declared_role(arn: str, declared: BreakGlassConfig) -> bool:
    """A role ARN a declaration names, whether or not the snapshot still has the role."""
    if declared.aws_roles and _role_matches(arn, declared.aws_roles):
        return True
    m = _SSO_ROLE.search(arn)
    return bool(m and declared.aws_permission_sets and _glob(m.group("ps"), declared.aws_permission_sets))


def _aws_uses(path: DeclaredPath, events: list[AuditEvent], attributor: Attributor, snapshot: Snapshot) -> list[Use]:
    if not (path.config.aws_roles or path.config.aws_permission_sets):
        return []
    # A session's calls, by (role name, session name): CloudTrail names the session's role in its
    # assumed-role ARN even where the actor is the Identity Center user behind it.
    by_session: dict[tuple[str, str], list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.system == "aws":
            session = _session_of(event)
            if session is not None:
                by_session[session].append(event)
    out = []
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        if event.system != "aws" or event.action not in ASSUME_ACTIONS or event.result not in ("", "success"):
            continue
        role = f"aws:{event.target}"
        if not _declared_role(event.target, path.config):
            continue
        ev = event.evidence
        valid = int(ev.get("durationSeconds") or DEFAULT_SESSION_S)
        start = parse_time(event.at)
        until = start + timedelta(seconds=valid)
        done = _session_calls(by_session, event.target.rsplit("/", 1)[-1], event.session, start, until, {event.id})
        last = parse_time(done[-1].at) if done else start
        tags = ev.get("tags") or {}
        texts = [("role session name", event.session), ("sourceIdentity", str(ev.get("sourceIdentity", "")))]
        texts += [(f"session tag {k}", str(v)) for k, v in sorted(tags.items())] if isinstance(tags, Mapping) else []
        principal = snapshot.principals.get(role)
        out.append(Use(
            path=path.name, id=event.id, system="aws", who=attributor.who(event.actor), start=event.at, principal=role,
            end=utc(until.isoformat()), resource=event.resource, target=principal.label if principal else event.target,
            duration_s=valid, active_s=int((last - start).total_seconds()),
            actions=tuple(f"{e.at[11:16]} {e.action} {e.target}".rstrip() + ("" if e.result in ("", "success")
                                                                              else f" ({e.result})") for e in done),
            ticket_sources=tuple(w for w, _ in texts),
            evidence={"event": event.id, "action": event.action, "session": event.session, "role": event.target,
                      "durationSeconds": valid, "texts": {w: t for w, t in texts if t},
                      "mfa": ev.get("mfaAuthenticated", "")}))
    return out


def _session_calls(by_session: Mapping[tuple[str, str], list[AuditEvent]], role: str, session: str,
                   start: datetime, until: datetime, seen: set[str], depth: int = 0) -> list[AuditEvent]:
    """A session's calls within its validity, and those of the sessions it assumed (role chaining)."""
    calls = [e for e in by_session.get((role, session), ()) if e.id not in seen and start <= parse_time(e.at) <= until]
    seen.update(e.id for e in calls)
    out = list(calls)
    for call in calls:
        if call.action in ASSUME_ACTIONS and call.target and call.session and depth < 4:
            out += _session_calls(by_session, call.target.rsplit("/", 1)[-1], call.session, parse_time(call.at),
                                  until, seen, depth + 1)
    return sorted(out, key=lambda e: (e.at, e.id))


def _session_of(event: AuditEvent) -> tuple[str, str] | None:
    identity = event.evidence.get("userIdentity") or {}
    arn = str(identity.get("arn", "")) if isinstance(identity, Mapping) else ""
    if ":assumed-role/" in arn:
        role, _, session = arn.split(":assumed-role/", 1)[1].partition("/")
        return role, session
    if event.session and event.action not in ASSUME_ACTIONS and ":role/" in event.actor.principal:
        return event.actor.principal.rsplit("/", 1)[-1], event.session
    return None


def _gcp_uses(path: DeclaredPath, events: list[AuditEvent], attributor: Attributor, snapshot: Snapshot) -> list[Use]:
    """Cloud Audit Logs entries of a declared binding's members on its resource, within its window;
    one person's entries further apart than `GCP_IDLE` are separate uses."""
    everything = list(snapshot.grants()) if path.positions else []
    grants = [everything[p] for p in path.positions if everything[p].system == "gcp"]
    if not grants:
        return []
    members: dict[str, set[str]] = defaultdict(set)  # a group -> its member accounts
    for edge in snapshot.edges():
        if edge.kind == EdgeKind.MEMBER_OF and edge.dst.startswith("gcp:group:"):
            members[edge.dst].add(edge.src)
    person_of = attributor.identities.person_of
    out: list[Use] = []
    for grant in grants:
        accounts = {grant.principal} | members.get(grant.principal, set())
        holders = {person_of[a] for a in accounts if a in person_of}
        window_end = parse_time(grant.expires) if grant.expires else None
        not_before = grant.attrs.get("not_before")
        window_start = parse_time(str(not_before)) if not_before else None
        mine = []
        for e in events:
            if e.system != "gcp" or e.resource != grant.resource:
                continue
            when = parse_time(e.at)
            if (window_end and when >= window_end) or (window_start and when < window_start):
                continue
            who = attributor.who(e.actor)
            if e.actor.principal in accounts or (who.person and who.person in holders):
                mine.append((when, e, who))
        mine.sort(key=lambda x: (x[0], x[1].id))
        sessions: list[list[tuple[datetime, AuditEvent, Who]]] = []
        for item in mine:
            # a binding with a window (granted for the emergency) is one use; else a pause ends one
            if sessions and (window_start and window_end or item[0] - sessions[-1][-1][0] <= GCP_IDLE):
                sessions[-1].append(item)
            else:
                sessions.append([item])
        title = str(grant.attrs.get("condition_title", ""))
        for session in sessions:
            first, last = session[0], session[-1]
            if window_start and window_end:
                held = int((window_end - window_start).total_seconds())
            else:
                held = int((last[0] - first[0]).total_seconds())
            out.append(Use(
                path=path.name, id=first[1].id, system="gcp", who=first[2], start=first[1].at, principal=grant.principal,
                end=last[1].at, resource=grant.resource, target=grant.entitlement, duration_s=held,
                active_s=int((last[0] - first[0]).total_seconds()),
                actions=tuple(f"{e.at[11:16]} {e.evidence.get('methodName') or e.action} {e.target}".rstrip()
                              for _, e, _ in session),
                ticket_sources=("the binding's condition title", "its expression"),
                evidence={"binding": grant.entitlement, "condition": grant.condition, "entries": len(session),
                          "texts": {w: t for w, t in (("condition title", title), ("condition", grant.condition))
                                    if t}}))
    return out


def _github_uses(path: DeclaredPath, records: list[Any], attributor: Attributor, snapshot: Snapshot,
                 team_members: Any) -> list[Use]:
    teams = [snapshot.principals[n] for n in path.nodes if n.startswith("github:") and n in snapshot.principals]
    rulesets = path.config.github_rulesets
    if not teams and not rulesets:
        return []
    members: set[str] = set()
    for team in teams:
        members |= set(team_members(team.key))
    changes = {r.id: r for r in records if isinstance(r, Change)}
    by_sha = {r.sha: r for r in changes.values() if r.sha}
    out = []
    for bypass in (r for r in records if isinstance(r, BypassUse)):
        who = attributor.who(bypass.actor)
        through = ""
        if who.person and who.person in members:
            through = "a member of " + ", ".join(t.label for t in teams)
        elif rulesets:
            named = [n for rule in bypass.rules for n in re.findall(r"'([^']*)'", rule) if _glob(n, rulesets)]
            if named:
                through = f"the bypass list of ruleset '{named[0]}'"
        if not through:
            continue
        change = changes.get(bypass.change) or by_sha.get(bypass.after_sha)
        texts = [("the change's title", change.title if change else "")]
        texts += [(f"commit {c.sha[:7]}", c.message) for c in (change.commits if change else ())]
        did = f"{bypass.at[11:16]} bypassed {'; '.join(bypass.rules) or 'the protection'} on {bypass.ref}"
        if change is not None:
            did += f": {change.id} {change.title}"
        out.append(Use(
            path=path.name, id=bypass.id, system="github", who=who, start=bypass.at, end=bypass.at,
            principal=bypass.actor.principal,
            resource=bypass.repo, target=through, duration_s=0, active_s=0, actions=(did,),
            ticket_sources=tuple(w for w, _ in texts),
            evidence={"bypass": bypass.id, "change": change.id if change else "",
                      "texts": {w: t for w, t in texts if t}}))
    return out


def _judged(use: Use, declared: BreakGlassConfig, normalise: EmailNormaliser, attributor: Attributor) -> Use:
    """The use with its ticket and its problems: no ticket, longer than allowed, not allowed."""
    problems: list[tuple[str, str]] = []
    texts: Mapping[str, str] = use.evidence.get("texts", {})
    ticket = ""
    pattern = declared.ticket_pattern
    if pattern is not None:
        for where, text in texts.items():
            m = pattern.search(text)
            if m:
                ticket = f"{m.group(0)} ({where})"
                break
        if not ticket:
            problems.append((USE_WITHOUT_TICKET, f"no ticket or approval reference matching /{declared.ticket}/ in "
                                                 f"{', '.join(use.ticket_sources) or 'anything the system records'}"))
    longest = int(declared.max_time.total_seconds())
    held = max(use.duration_s, use.active_s)
    if held > longest:
        problems.append((USE_TOO_LONG, f"held for {duration_text(held)}, longer than the {declared.max_duration} "
                                       f"{declared.name} allows"))
    if declared.allowed:
        allowed = _allowed(use.who, declared.allowed, normalise, attributor)
        if allowed is False:
            problems.append((USE_NOT_ALLOWED, f"{use.who.label} is not among those allowed to use {declared.name}"))
        elif allowed is None:
            problems.append((USE_NOT_ALLOWED, f"who used it is not known ({use.who.how}), so not whether they "
                                              "were allowed"))
    return replace(use, ticket=ticket, problems=tuple(problems))


def _allowed(who: Who, allowed: list[str], normalise: EmailNormaliser, attributor: Attributor) -> bool | None:
    if not who.known and not who.actor.principal:
        return None
    names = {normalise(a)[0] if "@" in a else a.strip() for a in allowed}
    if who.person and (who.person in names or normalise(who.person)[0] in names):
        return True
    if who.actor.principal and who.actor.principal in names:
        return True
    person = attributor.identities.people.get(who.person)
    if person is not None and any(a.principal in names for a in person.accounts):
        return True
    return False if who.known else None


def _facts(uses: Iterable[Use], snapshot: Snapshot) -> list[Fact]:
    out = []
    for use in uses:
        resource = snapshot.resources.get(use.resource)
        proof = (ProofStep("use", use.start, use.summary(), use.id),) + tuple(
            ProofStep("use", "", line) for line in use.lines()[1:])
        for kind, why in use.problems:
            out.append(Fact(kind, use.person, use.who.label, f"use:{use.path}:{use.id}",
                            resource.tier if resource else "", "", resource.app if resource else "", use.start,
                            proof + (ProofStep("finding", "", why),),
                            MappingProxyType({"path": use.path, "why": why, "system": use.system})))
    return out
