"""CloudTrail records and last-use reports as activity records (pure: tested on recorded payloads).

A CloudTrail record's ``userIdentity`` becomes an `activity.Actor` naming only what the log
says: an IAM user; an Identity Center session (the role ``AWSReservedSSO_*`` and the session
name, which is the user's name); a role session with ``sourceIdentity`` or a session name
that is an address; a GitHub Actions job, whose OIDC subject comes from the
``AssumeRoleWithWebIdentity`` record that issued the session's access key. Access Advisor's
services and ``RoleLastUsed`` become `activity.LastUsed`. docs/sources/aws.md says why each.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from ...activity import Actor, AuditEvent, LastUsed, utc
from ...model import resource_key
from .reads import SSO_ROLE_NAME, SSO_ROLE_PATH, SYSTEM

WEB_IDENTITY = "AssumeRoleWithWebIdentity"
# IAM keeps service and role last use for at least the trailing 400 days.
TRACKED_DAYS = 400
# Lambda's CloudTrail event names carry the API version: UpdateFunctionCode20150331v2.
_VERSIONED = re.compile(r"^(?P<name>[A-Za-z]+?)(?P<version>\d{8}(v\d+)?)$")
# Catalogue actions that are no CloudTrail management event, so LookupEvents cannot show them.
NOT_LOOKED_UP = {
    "iam:PassRole": "a permission checked inside another call, never an event of its own",
    "s3:PutObject": "an S3 data event: LookupEvents returns management events only",
    "lambda:InvokeFunction": "a Lambda data event: LookupEvents returns management events only",
}
# CloudTrail spellings that differ from the action's name.
EVENT_NAMES = {
    "lambda:CreateFunction": ("CreateFunction20150331",),
    "lambda:UpdateFunctionCode": ("UpdateFunctionCode20150331v2",),
    "lambda:UpdateFunctionConfiguration": ("UpdateFunctionConfiguration20150331v2",),
}
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation",
           "UnauthorizedAccess")


def event_source(action: str) -> str:
    return f"{action.split(':', 1)[0]}.amazonaws.com"


def lookups(actions: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """CloudTrail event name → the catalogue actions it can be (``UpdateService``: ECS's and App
    Runner's), for every action LookupEvents can show, and the web-identity sign-in."""
    out: dict[str, tuple[str, ...]] = {}
    for action in sorted(set(actions)):
        if action in NOT_LOOKED_UP or "*" in action:
            continue
        for name in EVENT_NAMES.get(action, (action.split(":", 1)[1],)):
            out[name] = out.get(name, ()) + (action,)
    out[WEB_IDENTITY] = (f"sts:{WEB_IDENTITY}",)
    return out


def action_of(record: Mapping[str, Any]) -> str:
    """``ecs:UpdateService`` for a record of ecs.amazonaws.com's UpdateService (versions stripped)."""
    prefix = str(record.get("eventSource", "")).split(".", 1)[0]
    name = str(record.get("eventName", ""))
    m = _VERSIONED.match(name)
    return f"{prefix}:{m.group('name') if m else name}"


def web_identity_sessions(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Access key of each session AssumeRoleWithWebIdentity issued → the OIDC subject it was issued to."""
    out: dict[str, str] = {}
    for record in records:
        if record.get("eventName") != WEB_IDENTITY or record.get("errorCode"):
            continue
        response = record.get("responseElements") or {}
        key = (response.get("credentials") or {}).get("accessKeyId", "")
        subject = response.get("subjectFromWebIdentityToken") or (record.get("userIdentity") or {}).get("userName", "")
        if key and subject:
            out[key] = subject
    return out


def actor_of(identity: Mapping[str, Any], *, sso_users: Mapping[str, str] | None = None,
             subject: str = "") -> tuple[Actor, str]:
    """The actor a record's ``userIdentity`` names, and the session (role session name or sourceIdentity).

    ``sso_users``: Identity Center user name → principal key, to name the user behind a session
    of an ``AWSReservedSSO_*`` role; ``subject``: the OIDC subject of a web-identity session.
    """
    kind = identity.get("type", "")
    arn = identity.get("arn", "")
    if kind == "IAMUser":
        return Actor(principal=f"{SYSTEM}:{arn}", name=identity.get("userName", ""), via="IAM user", kind="user"), ""
    if kind == "Root":
        return Actor(principal=f"{SYSTEM}:{arn}", name=f"root of {identity.get('accountId', '')}", via="root user",
                     kind="user"), ""
    if kind == "WebIdentityUser":
        sub = identity.get("userName", "") or subject
        return Actor(name=sub, via="web identity", kind="workload"), ""
    if kind != "AssumedRole":
        name = identity.get("invokedBy") or identity.get("principalId") or kind
        return Actor(name=str(name), via=kind or "unknown identity", kind="role" if kind == "AWSService" else ""), ""
    context = identity.get("sessionContext") or {}
    issuer = context.get("sessionIssuer") or {}
    role_arn = issuer.get("arn", "")
    role_name = issuer.get("userName", "") or role_arn.rsplit("/", 1)[-1]
    session = arn.rsplit("/", 1)[-1] if arn.count("/") >= 2 else ""
    role_key = f"{SYSTEM}:{role_arn}" if role_arn else ""
    source_identity = context.get("sourceIdentity", "")
    if source_identity:
        email = source_identity if "@" in source_identity else ""
        return Actor(principal=role_key, name=source_identity, email=email, via="sourceIdentity",
                     kind="user" if email else "role"), source_identity
    if subject or context.get("webIdFederationData"):
        return Actor(principal=role_key, name=subject or session, via="web identity", kind="workload"), session
    if SSO_ROLE_NAME.match(role_name) and SSO_ROLE_PATH in role_arn:
        user = (sso_users or {}).get(session.lower())
        if user:
            return Actor(principal=user, name=session, email=session if "@" in session else "",
                         via="Identity Center session", kind="user"), session
        # the session name is the Identity Center user name; an address names the person
        return Actor(principal="" if "@" not in session else role_key, name=session,
                     email=session if "@" in session else "", via="Identity Center session", kind="user"), session
    if "@" in session:
        return Actor(principal=role_key, name=session, email=session, via="role session name", kind="user"), session
    return Actor(principal=role_key, name=f"{role_name}/{session}" if session else role_name, via="role session name",
                 kind="role"), session


def audit_events(records: Iterable[Mapping[str, Any]], actions: Mapping[str, tuple[str, ...]], *,
                 sso_users: Mapping[str, str] | None = None, sessions: Mapping[str, str] | None = None,
                 account: str = "") -> list[AuditEvent]:
    """Catalogue deploy calls and web-identity sign-ins as `AuditEvent`s.

    ``actions``: CloudTrail event name → catalogue action (`lookups`); ``sessions``: the
    web-identity session keys (`web_identity_sessions`) of the same account.
    """
    sessions = sessions or {}
    out = []
    for record in records:
        name = record.get("eventName", "")
        if name not in actions or not record.get("eventID"):
            continue
        action = action_of(record)
        if action not in actions[name]:
            continue  # the same event name from a service the catalogue does not name
        identity = record.get("userIdentity") or {}
        subject = sessions.get(identity.get("accessKeyId", ""), "")
        if name == WEB_IDENTITY:
            response = record.get("responseElements") or {}
            subject = response.get("subjectFromWebIdentityToken") or identity.get("userName", "")
        actor, session = actor_of(identity, sso_users=sso_users, subject=subject)
        request = record.get("requestParameters") or {}
        if name == WEB_IDENTITY:
            session = request.get("roleSessionName", "")
            target = request.get("roleArn", "")
            actor = Actor(principal=f"{SYSTEM}:{target}" if target else "", name=subject, via="web identity",
                          kind="workload")
        else:
            target = target_of(record)
        error = record.get("errorCode", "")
        result = "success" if not error else ("denied" if error in _DENIED else "failed")
        where = record.get("recipientAccountId") or identity.get("accountId") or account
        out.append(AuditEvent(
            system=SYSTEM, id=record["eventID"], at=utc(record.get("eventTime", "")), action=action, actor=actor,
            resource=resource_key(SYSTEM, "account", where), target=target, result=result, ci_subject=subject,
            session=session,
            evidence={"eventSource": record.get("eventSource", ""), "eventName": name,
                      "awsRegion": record.get("awsRegion", ""), "errorCode": error,
                      "userIdentity": {k: identity.get(k) for k in ("type", "arn", "accountId", "userName")
                                       if identity.get(k)},
                      "sourceIPAddress": record.get("sourceIPAddress", "")},
        ))
    return out


def target_of(record: Mapping[str, Any]) -> str:
    """What the call acted on, as logged: a resource ARN, else the request's service or function name."""
    for resource in record.get("resources") or []:
        if resource.get("ARN"):
            return str(resource["ARN"])
    request = record.get("requestParameters") or {}
    for key in ("service", "functionName", "serviceArn", "applicationName", "pipelineName", "name", "projectName",
                "stackName", "clusterName", "environmentName", "repositoryName", "instanceIds"):
        if request.get(key):
            value = request[key]
            cluster = request.get("cluster", "")
            text = value if isinstance(value, str) else ",".join(str(v) for v in value)
            return f"{cluster}/{text}" if cluster and key == "service" else text
    return ""


def tracked_since(reported: str | None = None) -> str:
    """The start of IAM's last-use window, counted back from when the report was made."""
    try:
        end = datetime.fromisoformat(reported.replace("Z", "+00:00")) if reported else datetime.now(timezone.utc)
    except ValueError:
        end = datetime.now(timezone.utc)
    return utc((end - timedelta(days=TRACKED_DAYS)).isoformat(timespec="seconds"))


def service_last_used(principal_arn: str, account: str, services: Iterable[Mapping[str, Any]],
                      reported: str = "") -> list[LastUsed]:
    """Access Advisor's ServicesLastAccessed for one principal, a `LastUsed` per service."""
    since = tracked_since(reported)
    out = []
    for entry in services:
        when = entry.get("LastAuthenticated")
        out.append(LastUsed(
            system=SYSTEM, principal=f"{SYSTEM}:{principal_arn}", service=str(entry.get("ServiceNamespace", "")),
            resource=resource_key(SYSTEM, "account", account), last_used=utc(_iso(when)) if when else None,
            tracked_since=since, region=str(entry.get("LastAuthenticatedRegion") or ""),
            entity=str(entry.get("LastAuthenticatedEntity") or ""),
            evidence={"source": "IAM Access Advisor", "ServiceName": entry.get("ServiceName", ""),
                      "TotalAuthenticatedEntities": entry.get("TotalAuthenticatedEntities", 0),
                      "reported": reported}))
    return out


def role_last_used(role_arn: str, account: str, last: Mapping[str, Any] | None, *, via: str,
                   reported: str = "") -> LastUsed:
    """A role's RoleLastUsed: when any session of it last called AWS (``via`` names the call read)."""
    last = last or {}
    when = last.get("LastUsedDate")
    return LastUsed(system=SYSTEM, principal=f"{SYSTEM}:{role_arn}", service="",
                    resource=resource_key(SYSTEM, "account", account), last_used=utc(_iso(when)) if when else None,
                    tracked_since=tracked_since(reported), region=str(last.get("Region") or ""),
                    evidence={"source": f"RoleLastUsed ({via})"})


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
