"""Activity in production projects, read-only: Cloud Audit Logs for the catalogue's deploy
permissions, and IAM recommender insights for the permissions each binding used.

Cloud Logging's ``entries.list`` (gRPC: the logging client has no REST transport) with a
filter on the audit log and the permissions of foureyes' GCP deploy catalogue, and
Recommender's ``google.iam.policy.Insight`` insights (REST). The Google packages are imported
here only, when a period is read. Entries and insights are kept in the JSON form the APIs
document (camelCase), so the translation below is pure and tested on recorded payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable, Mapping

from ...activity import ABOUT, HIDES_DEPLOYMENTS, Actor, ActivityPeriod, AuditEvent, LastUsed, parse_time, utc
from ...config import GcpSource
from ...model import Gap, Grant, Resource
from ..base import Progress, ProgressEvent
from .fetch import describe_error

SYSTEM = "gcp"
ACTIVITY_LOG = "cloudaudit.googleapis.com%2Factivity"
DATA_ACCESS_LOG = "cloudaudit.googleapis.com%2Fdata_access"
INSIGHT_TYPE = "google.iam.policy.Insight"
HIDES_DEPLOYS = f"{HIDES_DEPLOYMENTS} (Cloud Audit Logs)"
PAGE_SIZE = 1000
_WIF_SUBJECT = "/subject/"
_DENIED_CODES = (7, 16)  # PERMISSION_DENIED, UNAUTHENTICATED


@dataclass
class ProjectActivity:
    """What was read about one project, as the APIs returned it (JSON form)."""

    project: Resource
    entries: list[dict[str, Any]] = field(default_factory=list)
    insights: list[dict[str, Any]] | None = None  # None: not read
    gaps: list[Gap] = field(default_factory=list)

    def gap(self, reason: str, hides: str) -> None:
        self.gaps.append(Gap(SYSTEM, self.project.key, reason, hides, about=ABOUT))


class ActivityClients:
    """The logging (gRPC) and recommender (REST) clients of one collection."""

    def __init__(self, section: GcpSource, credentials: Any):
        from google.api_core.client_options import ClientOptions
        from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
        from google.cloud.recommender_v1 import RecommenderClient

        if section.logging_endpoint and section.anonymous:
            import grpc
            from google.cloud.logging_v2.services.logging_service_v2.transports import LoggingServiceV2GrpcTransport

            channel = grpc.insecure_channel(section.logging_endpoint)
            self.logging = LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
        elif section.logging_endpoint:
            self.logging = LoggingServiceV2Client(
                credentials=credentials, client_options=ClientOptions(api_endpoint=section.logging_endpoint))
        else:
            self.logging = LoggingServiceV2Client(credentials=credentials)
        options = ClientOptions(api_endpoint=section.api_endpoint) if section.api_endpoint else None
        self.recommender = RecommenderClient(transport="rest", credentials=credentials, client_options=options)

    def close(self) -> None:
        for client in (self.logging, self.recommender):
            client.transport.close()


def audit_filter(project: str, log: str, permissions: Iterable[str], period: ActivityPeriod) -> str:
    """The Logging query for one project's audit log: catalogue permissions within the period."""
    names = " OR ".join(f'"{p}"' for p in sorted(set(permissions)))
    return (f'logName="projects/{project}/logs/{log}" AND protoPayload.authorizationInfo.permission=({names}) '
            f'AND timestamp>="{period.start}" AND timestamp<"{period.end}"')


class ActivityReader:
    """Reads audit logs and insights per production project, with the connector's retry and counting."""

    def __init__(self, section: GcpSource, clients: ActivityClients, period: ActivityPeriod,
                 permissions: Iterable[str], fetcher: Any, progress: Progress, name: str = "gcp"):
        self.section = section
        self.clients = clients
        self.period = period
        # exact names: the Logging query has no glob, and the catalogue's globs name no one permission
        self.permissions = sorted({p for p in permissions if "*" not in p})
        self.fetcher = fetcher  # fetch.Fetcher: PacedRetry, request counting, parallelism
        self.progress = progress
        self.name = name

    def read(self, projects: list[Resource]) -> list[ProjectActivity]:
        out = [ProjectActivity(p) for p in projects]
        self.progress(ProgressEvent(self.name, f"reading audit logs and IAM insights of {len(out)} production projects"))
        self.fetcher._parallel(self._one, out)
        return out

    def _one(self, found: ProjectActivity) -> None:
        self.audit_logs(found)
        self.insights(found)

    def audit_logs(self, found: ProjectActivity) -> None:
        from google.cloud.logging_v2.types import LogEntry
        from google.protobuf import json_format

        project = found.project.id
        for log, what in ((ACTIVITY_LOG, "Admin Activity"), (DATA_ACCESS_LOG, "Data Access")):
            query = audit_filter(project, log, self.permissions, self.period)
            try:
                pager = self.fetcher._counted(lambda: self.clients.logging.list_log_entries(
                    request={"resource_names": [f"projects/{project}"], "filter": query,
                             "order_by": "timestamp desc", "page_size": PAGE_SIZE},
                    retry=self.fetcher.retry, timeout=self.section.timeout))
                for page in pager.pages:
                    found.entries.extend(json_format.MessageToDict(LogEntry.pb(e)) for e in page.entries)
            except Exception as exc:  # noqa: BLE001 - every failure is a Gap, never a crash
                hides = HIDES_DEPLOYS if log == ACTIVITY_LOG else (
                    "deploys recorded only in Data Access logs (Artifact Registry uploads) and their actors")
                found.gap(f"Cloud Audit Logs ({what}) unreadable for projects/{project}: {describe_error(exc)}", hides)

    def member_logs(self, found: ProjectActivity, emails: Iterable[str]) -> None:
        """Admin Activity entries made by the members of a declared break-glass binding (what they did
        while they held it is decided by the analysis, against the binding's window)."""
        from google.cloud.logging_v2.types import LogEntry
        from google.protobuf import json_format

        project = found.project.id
        names = " OR ".join(f'"{e}"' for e in sorted(set(emails)))
        query = (f'logName="projects/{project}/logs/{ACTIVITY_LOG}" AND protoPayload.authenticationInfo.principalEmail='
                 f'({names}) AND timestamp>="{self.period.start}" AND timestamp<"{self.period.end}"')
        try:
            pager = self.fetcher._counted(lambda: self.clients.logging.list_log_entries(
                request={"resource_names": [f"projects/{project}"], "filter": query, "order_by": "timestamp desc",
                         "page_size": PAGE_SIZE}, retry=self.fetcher.retry, timeout=self.section.timeout))
            for page in pager.pages:
                found.entries.extend(json_format.MessageToDict(LogEntry.pb(e)) for e in page.entries)
        except Exception as exc:  # noqa: BLE001 - every failure is a Gap, never a crash
            found.gap(f"Cloud Audit Logs (Admin Activity) of break-glass members unreadable for projects/{project}: "
                      f"{describe_error(exc)}", "uses of declared break-glass bindings and what was done under them")

    def insights(self, found: ProjectActivity) -> None:
        from google.cloud.recommender_v1 import Insight
        from google.protobuf import json_format

        project = found.project.id
        parent = f"projects/{project}/locations/global/insightTypes/{INSIGHT_TYPE}"
        try:
            pager = self.fetcher._counted(lambda: self.clients.recommender.list_insights(
                request={"parent": parent, "filter": 'stateInfo.state = "ACTIVE"'},
                retry=self.fetcher.retry, timeout=self.section.timeout))
            found.insights = [json_format.MessageToDict(Insight.pb(i)) for page in pager.pages for i in page.insights]
        except Exception as exc:  # noqa: BLE001
            found.gap(f"IAM recommender insights unreadable for projects/{project}: {describe_error(exc)}",
                      "which permissions of each binding were used, so whether its grants are used")


# ---------------------------------------------------------------- translation (pure)


def actor_of(auth: Mapping[str, Any]) -> tuple[Actor, str]:
    """The actor of an AuditLog's authenticationInfo, and the workload identity subject if any."""
    email = str(auth.get("principalEmail", ""))
    delegation = list(auth.get("serviceAccountDelegationInfo") or [])
    subject = _subject(auth.get("principalSubject", ""))
    for hop in delegation:
        subject = subject or _subject(hop.get("principalSubject", ""))
    if email.endswith(".gserviceaccount.com"):
        key = f"{SYSTEM}:serviceAccount:{email.lower()}"
        humans = [h.get("firstPartyPrincipal", {}).get("principalEmail", "") for h in delegation]
        human = next((h for h in humans if h and not h.endswith(".gserviceaccount.com")), "")
        if human:  # who impersonated the service account: the person behind the call
            return Actor(principal=key, name=human, email=human.lower(), via="service account delegation",
                         kind="user"), ""
        if subject:
            return Actor(principal=key, name=subject, via="workload identity federation", kind="workload"), subject
        return Actor(principal=key, name=email, via="principalEmail", kind="service-account"), ""
    if email:
        return Actor(principal=f"{SYSTEM}:user:{email.lower()}", name=email, email=email.lower(), via="principalEmail",
                     kind="user"), ""
    if subject:
        return Actor(name=subject, via="workload identity federation", kind="workload"), subject
    return Actor(), ""


def _subject(principal: str) -> str:
    """``repo:acme/api:environment:production`` of a workload identity pool's principal:// subject."""
    return principal.split(_WIF_SUBJECT, 1)[1] if _WIF_SUBJECT in principal else ""


def audit_events(entries: Iterable[Mapping[str, Any]], project: Resource, permissions: Iterable[str]) -> list[AuditEvent]:
    """Audit log entries as `AuditEvent`s; ``action`` is the catalogue permission the call needed."""
    wanted = set(permissions)
    out = []
    for entry in entries:
        payload = entry.get("protoPayload") or {}
        checks = payload.get("authorizationInfo") or []
        needed = [a for a in checks if a.get("permission") in wanted]
        if not needed or not entry.get("insertId"):
            continue
        actor, subject = actor_of(payload.get("authenticationInfo") or {})
        code = int((payload.get("status") or {}).get("code", 0) or 0)
        if code in _DENIED_CODES or any(a.get("granted") is False for a in needed):
            result = "denied"
        else:
            result = "success" if code == 0 else "failed"
        out.append(AuditEvent(
            system=SYSTEM, id=str(entry["insertId"]), at=utc(str(entry.get("timestamp", ""))),
            action=str(needed[0]["permission"]), actor=actor, resource=project.key,
            target=str(payload.get("resourceName") or needed[0].get("resource", "")), result=result,
            ci_subject=subject,
            evidence={"methodName": payload.get("methodName", ""), "serviceName": payload.get("serviceName", ""),
                      "logName": entry.get("logName", ""), "permissions": [a.get("permission") for a in checks],
                      "status": code, "callerIp": (payload.get("requestMetadata") or {}).get("callerIp", "")}))
    return out


def member_events(entries: Iterable[Mapping[str, Any]], project: Resource, emails: Iterable[str]) -> list[AuditEvent]:
    """Every entry made by one of ``emails`` as an `AuditEvent`; ``action`` is the first permission
    it needed (or its method)."""
    wanted = {e.lower() for e in emails}
    out = []
    for entry in entries:
        payload = entry.get("protoPayload") or {}
        auth = payload.get("authenticationInfo") or {}
        if str(auth.get("principalEmail", "")).lower() not in wanted or not entry.get("insertId"):
            continue
        actor, subject = actor_of(auth)
        checks = payload.get("authorizationInfo") or []
        code = int((payload.get("status") or {}).get("code", 0) or 0)
        result = "denied" if code in _DENIED_CODES else "success" if code == 0 else "failed"
        out.append(AuditEvent(
            system=SYSTEM, id=str(entry["insertId"]), at=utc(str(entry.get("timestamp", ""))),
            action=str((checks[0] if checks else {}).get("permission") or payload.get("methodName", "")),
            actor=actor, resource=project.key, target=str(payload.get("resourceName", "")), result=result,
            ci_subject=subject,
            evidence={"methodName": payload.get("methodName", ""), "serviceName": payload.get("serviceName", ""),
                      "logName": entry.get("logName", ""), "permissions": [a.get("permission") for a in checks],
                      "status": code, "callerIp": (payload.get("requestMetadata") or {}).get("callerIp", "")}))
    return out


def insight_last_used(insights: Iterable[Mapping[str, Any]], project: Resource, grants: Iterable[Grant]) -> list[LastUsed]:
    """One `LastUsed` per insight: the binding it is about (its grant), used or not in the window.

    The recommender says which permissions a binding exercised in the observation window, not
    when: a binding that exercised any is recorded as used at the insight's refresh time (the
    window's end), with the window in ``tracked_since``; one that exercised none has no use.
    """
    by_binding: dict[tuple[str, str], Grant] = {}
    for grant in grants:
        if grant.resource == project.key:
            role = grant.entitlement.split(" ", 1)[0]
            by_binding.setdefault((grant.principal, role), grant)
    out = []
    for insight in insights:
        if insight.get("insightSubtype", "PERMISSIONS_USAGE") != "PERMISSIONS_USAGE":
            continue
        content = insight.get("content") or {}
        member, role = str(content.get("member", "")), str(content.get("role", ""))
        if not member or not role:
            continue
        kind, _, ident = member.partition(":")
        principal = f"{SYSTEM}:{kind}:{ident.lower()}" if kind in ("user", "group", "serviceAccount") else f"{SYSTEM}:{member}"
        grant = by_binding.get((principal, role))
        refreshed = utc(str(insight.get("lastRefreshTime", "")))
        window = _seconds(insight.get("observationPeriod", ""))
        since = utc((parse_time(refreshed) - timedelta(seconds=window)).isoformat()) if refreshed and window else ""
        exercised = sorted(p.get("permission", "") for p in content.get("exercisedPermissions") or [])
        out.append(LastUsed(
            system=SYSTEM, principal=principal, service="", resource=project.key,
            last_used=refreshed if exercised else None, tracked_since=since, grant=grant.key if grant else "",
            entity=role,
            evidence={"source": "IAM recommender", "insight": insight.get("name", ""), "role": role,
                      "exercised": exercised,
                      "inferred": sorted(p.get("permission", "") for p in content.get("inferredPermissions") or []),
                      "permissions": content.get("currentTotalPermissionsCount", ""),
                      "precision": "observation window"}))
    return out


def _seconds(duration: Any) -> float:
    """``"7776000s"`` (a protobuf Duration in JSON) as seconds."""
    try:
        return float(str(duration).removesuffix("s"))
    except ValueError:
        return 0.0

