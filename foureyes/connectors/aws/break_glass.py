"""Emergency and just-in-time evidence from CloudTrail (``snapshot --activity``): each
``AssumeRole``/``AssumeRoleWithSAML`` of a role `[[break_glass]]` declares, every call the
session made (and the sessions it assumed in turn), and the Identity Center assignments of the
permission sets `[just_in_time]` names, with when they were made.

Reads use LookupEvents by ``ResourceName`` (the declared role's ARN: only its own events, never
every AssumeRole of the account) and by ``Username`` (a role session's calls carry its session
name). What fails is a Gap about activity on the account. The translation is pure.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable, Mapping

from ...activity import ABOUT, Actor, AuditEvent, parse_time, utc
from ...config import Config
from ...model import Gap, resource_key
from .activity import ActivityReader
from .api import READ_ERRORS, Clients, describe_failure
from .reads import SYSTEM, sso_role_permission_set
from .usage import action_of, actor_of, target_of

ASSUME_NAMES = ("AssumeRole", "AssumeRoleWithSAML")
ASSIGNMENT = "CreateAccountAssignment"
DEFAULT_SESSION_S = 3600  # AssumeRole's default DurationSeconds
MAX_SESSIONS = 200  # session lookups per account: a role assumed more often than this in a period is no break glass
HIDES = "uses of declared break-glass roles and what their sessions did (CloudTrail)"


@dataclass(frozen=True)
class Declared:
    """The role name (or ARN) and permission set globs of every `[[break_glass]]`."""

    roles: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: Config) -> "Declared":
        return cls(tuple(p for b in config.break_glass for p in b.aws_roles),
                   tuple(p for b in config.break_glass for p in b.aws_permission_sets))

    def __bool__(self) -> bool:
        return bool(self.roles or self.permission_sets)

    def names(self, arn: str) -> bool:
        name = arn.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatchcase(arn, p) if p.startswith("arn:") else fnmatch.fnmatchcase(name, p)
               for p in self.roles):
            return True
        ps = sso_role_permission_set(name)
        return bool(ps) and any(fnmatch.fnmatchcase(ps, p) for p in self.permission_sets)


@dataclass
class SessionsRead:
    """What was read about one account's break-glass sessions, as CloudTrail returned it."""

    assumed: list[dict[str, Any]] = field(default_factory=list)  # AssumeRole* records of declared roles
    calls: list[dict[str, Any]] = field(default_factory=list)  # records of sessions named like theirs
    gaps: list[Gap] = field(default_factory=list)


def read_sessions(reader: ActivityReader, clients: Clients, account: str, roles: Iterable[str]) -> SessionsRead:
    """The declared roles' AssumeRole* records in the period, and the calls made under their session names."""
    out = SessionsRead()
    start, end = reader.window()
    if start >= end:
        return out
    key = resource_key(SYSTEM, "account", account)
    for region in reader.regions:
        try:
            for arn in sorted(roles):
                out.assumed.extend(r for r in reader.lookup(clients, region, "ResourceName", arn, start, end)
                                   if r.get("eventName") in ASSUME_NAMES
                                   and (r.get("requestParameters") or {}).get("roleArn") == arn)
            looked: set[tuple[str, str]] = set()
            queue = [(s, w) for s, w in _windows(out.assumed)]
            while queue and len(looked) < MAX_SESSIONS:
                session, (begin, until) = queue.pop()
                if (session, begin) in looked:
                    continue
                looked.add((session, begin))
                found = reader.lookup(clients, region, "Username", session, parse_time(begin),
                                      min(parse_time(until), end))
                out.calls.extend(found)
                queue += [w for w in _windows(r for r in found if r.get("eventName") in ASSUME_NAMES)
                          if (w[0], w[1][0]) not in looked]
        except READ_ERRORS as exc:
            out.gaps.append(Gap(SYSTEM, key, f"CloudTrail break-glass sessions unreadable in {region}: "
                                f"{describe_failure(exc, 'cloudtrail:LookupEvents')}", HIDES, about=ABOUT))
    return out


def _windows(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, tuple[str, str]]]:
    """(new session name, (start, end of its validity)) of AssumeRole* records."""
    out = []
    for record in records:
        request = record.get("requestParameters") or {}
        session = request.get("roleSessionName", "")
        if not session or record.get("errorCode"):
            continue
        start = parse_time(record.get("eventTime", ""))
        seconds = int(request.get("durationSeconds") or DEFAULT_SESSION_S)
        out.append((session, (utc(start.isoformat()), utc((start + timedelta(seconds=seconds)).isoformat()))))
    return out


# ---------------------------------------------------------------- translation (pure)


def caller_of(identity: Mapping[str, Any], sso_users: Mapping[str, str] | None = None) -> Actor:
    """Who called AssumeRole*: a SAML user by the name its identity provider asserted, else as `actor_of`."""
    if identity.get("type") == "SAMLUser":
        # Identity Center asserts its user name; another identity provider, whatever its NameID is
        name = str(identity.get("userName", ""))
        user = (sso_users or {}).get(name.lower(), "")
        return Actor(principal=user, email=name.lower() if "@" in name else "", name=name,
                     via="Identity Center user" if user else "SAML user", kind="user")
    return actor_of(identity, sso_users=sso_users)[0]


def use_events(read: SessionsRead, account: str, sso_users: Mapping[str, str] | None = None) -> list[AuditEvent]:
    """Each AssumeRole* of a declared role, and every call its session (or a session it assumed)
    made while it was valid, as `AuditEvent`s; an AssumeRole's ``session`` is the new session's name."""
    out = [_event(r, account, sso_users) for r in read.assumed]
    allowed: dict[tuple[str, str], tuple[str, str]] = {}
    for record in read.assumed:
        for session, window in _windows([record]):
            role = str((record.get("requestParameters") or {}).get("roleArn", "")).rsplit("/", 1)[-1]
            allowed[(role, session)] = window
    calls = sorted({r.get("eventID", ""): r for r in read.calls}.values(), key=lambda r: r.get("eventTime", ""))
    changed = True
    kept: dict[str, dict[str, Any]] = {}
    while changed:  # a session's AssumeRole admits the session it made (role chaining)
        changed = False
        for record in calls:
            pair = _session(record)
            window = allowed.get(pair) if pair else None
            if window is None or record.get("eventID") in kept:
                continue
            if not window[0] <= utc(record.get("eventTime", "")) <= window[1]:
                continue
            kept[record["eventID"]] = record
            if record.get("eventName") in ASSUME_NAMES:
                role = str((record.get("requestParameters") or {}).get("roleArn", "")).rsplit("/", 1)[-1]
                for session, inner in _windows([record]):
                    if (role, session) not in allowed:
                        allowed[(role, session)] = (inner[0], min(inner[1], window[1]))
                        changed = True
    out += [_event(r, account, sso_users) for r in kept.values()]
    return out


def _session(record: Mapping[str, Any]) -> tuple[str, str] | None:
    arn = str((record.get("userIdentity") or {}).get("arn", ""))
    if ":assumed-role/" not in arn:
        return None
    role, _, session = arn.split(":assumed-role/", 1)[1].partition("/")
    return role, session


def _event(record: Mapping[str, Any], account: str, sso_users: Mapping[str, str] | None) -> AuditEvent:
    identity = record.get("userIdentity") or {}
    request = record.get("requestParameters") or {}
    name = str(record.get("eventName", ""))
    error = str(record.get("errorCode", ""))
    evidence: dict[str, Any] = {
        "eventSource": record.get("eventSource", ""), "eventName": name, "awsRegion": record.get("awsRegion", ""),
        "errorCode": error, "sourceIPAddress": record.get("sourceIPAddress", ""),
        "userIdentity": {k: identity.get(k) for k in ("type", "arn", "accountId", "userName") if identity.get(k)},
        "mfaAuthenticated": ((identity.get("sessionContext") or {}).get("attributes") or {}).get("mfaAuthenticated", "")}
    if name in ASSUME_NAMES:
        actor = caller_of(identity, sso_users)
        session = str(request.get("roleSessionName", ""))
        target = str(request.get("roleArn", ""))
        tags = {str(t.get("key", "")): str(t.get("value", "")) for t in request.get("tags") or [] if t.get("key")}
        evidence.update(durationSeconds=int(request.get("durationSeconds") or DEFAULT_SESSION_S),
                        sourceIdentity=str(request.get("sourceIdentity", "")), tags=tags)
    else:
        actor, session = actor_of(identity, sso_users=sso_users)
        target = target_of(record)
    return AuditEvent(
        system=SYSTEM, id=str(record.get("eventID", "")), at=utc(str(record.get("eventTime", ""))),
        action=action_of(record), actor=actor,
        resource=resource_key(SYSTEM, "account", str(record.get("recipientAccountId") or account)), target=target,
        result="success" if not error else ("denied" if "AccessDenied" in error or "Unauthorized" in error else "failed"),
        session=session, evidence=evidence)


# ---------------------------------------------------------------- just-in-time assignments


def read_assignments(reader: ActivityReader, clients: Clients, account: str) -> tuple[list[dict[str, Any]], list[Gap]]:
    """Identity Center's CreateAccountAssignment calls in the period (the management account's trail)."""
    start, end = reader.window()
    records: list[dict[str, Any]] = []
    gaps: list[Gap] = []
    if start >= end:
        return records, gaps
    for region in reader.regions:
        try:
            records += reader.lookup(clients, region, "EventName", ASSIGNMENT, start, end)
        except READ_ERRORS as exc:
            gaps.append(Gap(SYSTEM, resource_key(SYSTEM, "account", account),
                            f"CloudTrail unreadable in {region}: {describe_failure(exc, 'cloudtrail:LookupEvents')}",
                            "when just-in-time Identity Center assignments were made (so when they expire)",
                            about=ABOUT))
    return records, gaps


def assignment_events(records: Iterable[Mapping[str, Any]], account: str) -> list[AuditEvent]:
    """CreateAccountAssignment calls as `AuditEvent`s whose evidence names the assignment."""
    out = []
    for record in records:
        if record.get("eventName") != ASSIGNMENT or not record.get("eventID"):
            continue
        request = record.get("requestParameters") or {}
        error = str(record.get("errorCode", ""))
        out.append(AuditEvent(
            system=SYSTEM, id=str(record["eventID"]), at=utc(str(record.get("eventTime", ""))),
            action="sso:CreateAccountAssignment", actor=actor_of(record.get("userIdentity") or {})[0],
            resource=resource_key(SYSTEM, "account", str(request.get("targetId") or account)),
            target=str(request.get("permissionSetArn", "")), result="success" if not error else "failed",
            evidence={"permissionSetArn": request.get("permissionSetArn", ""), "targetId": request.get("targetId", ""),
                      "principalId": request.get("principalId", ""), "principalType": request.get("principalType", ""),
                      "instanceArn": request.get("instanceArn", ""), "errorCode": error}))
    return out


def role_arns(principals: Iterable[Any], account: str, declared: Declared) -> list[str]:
    """The ARNs of the account's roles a declaration names."""
    out = []
    for p in principals:
        arn = str(getattr(p, "id", ""))
        if getattr(p, "kind", "") == "role" and arn.startswith("arn:") and arn.split(":")[4:5] == [account] \
                and declared.names(arn):
            out.append(arn)
    return sorted(out)
