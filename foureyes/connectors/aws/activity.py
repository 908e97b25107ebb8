"""Activity in production accounts, read-only: CloudTrail ``LookupEvents`` for the catalogue's
deploy actions, IAM Access Advisor and ``RoleLastUsed`` for when each principal last used AWS.

Reads per account, with the account's own clients (the caller's, or the assumed audit role's);
`usage.py` turns what was read into activity records. A read that fails is a Gap about
activity on the account (``about="activity"``), never a quiet period: a deployment in an
account whose CloudTrail could not be read has an unknown actor, not none.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from ...activity import ABOUT, HIDES_DEPLOYMENTS, ActivityPeriod, parse_time
from ...config import AwsSource
from ...model import Gap
from ..base import Progress, ProgressEvent
from .api import READ_ERRORS, Clients, Failed, call, describe_failure
from .reads import SYSTEM, AccountRead

# CloudTrail's event history (LookupEvents) keeps the last 90 days of management events.
HISTORY_DAYS = 90
HIDES_DEPLOYS = f"{HIDES_DEPLOYMENTS} (CloudTrail)"
# Access Advisor reports are made asynchronously: poll, backing off, within access_advisor_wait.
POLL_FIRST_S = 0.2
POLL_MAX_S = 5.0


@dataclass
class AccountActivity:
    """What was read about one account's activity, as the APIs returned it."""

    account: AccountRead
    records: list[dict[str, Any]] = field(default_factory=list)  # CloudTrail records (the CloudTrailEvent JSON)
    services: dict[str, tuple[list[dict[str, Any]], str]] = field(default_factory=dict)  # ARN -> (services, reported)
    roles: dict[str, tuple[dict[str, Any] | None, str]] = field(default_factory=dict)  # role ARN -> (RoleLastUsed, via)
    gaps: list[Gap] = field(default_factory=list)

    def gap(self, reason: str, hides: str) -> None:
        self.gaps.append(Gap(SYSTEM, self.account.key, reason, hides, about=ABOUT))


class ActivityReader:
    """The activity reads of one collection; `event_names` are what LookupEvents is asked for."""

    def __init__(self, section: AwsSource, period: ActivityPeriod, event_names: Iterable[str], progress: Progress,
                 name: str = "aws", *, now: datetime | None = None):
        self.section = section
        self.period = period
        self.event_names = sorted(set(event_names))
        self.progress = progress
        self.name = name
        self.now = now or datetime.now(timezone.utc)

    @property
    def regions(self) -> list[str]:
        return list(dict.fromkeys(self.section.regions or [self.section.region]))

    def read(self, clients: Clients, account: AccountRead, principals: list[str]) -> AccountActivity:
        """CloudTrail events in the period, and last use of ``principals`` (IAM ARNs) of the account."""
        out = AccountActivity(account)
        self.cloudtrail(clients, out)
        self.access_advisor(clients, out, principals)
        self.roles_last_used(clients, out, [p for p in principals if ":role/" in p])
        return out

    # -- CloudTrail ---------------------------------------------------------------

    def cloudtrail(self, clients: Clients, out: AccountActivity) -> None:
        start, end = parse_time(self.period.start), parse_time(self.period.end)
        oldest = self.now - timedelta(days=HISTORY_DAYS)
        if start < oldest:
            out.gap(f"CloudTrail event history keeps {HISTORY_DAYS} days: the period starts {start.date()}, "
                    f"history on {oldest.date()}", f"{HIDES_DEPLOYS} before {_iso(oldest)} (read them from a "
                    "trail's S3 bucket or CloudTrail Lake)")
            start = oldest
        if start >= end:
            return
        for region in self.regions:
            client = clients("cloudtrail", region)
            read = 0
            for name in self.event_names:
                try:
                    for page in client.get_paginator("lookup_events").paginate(
                            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                            StartTime=start, EndTime=end):
                        for entry in page.get("Events", []):
                            out.records.append(_record(entry))
                    read += 1
                except READ_ERRORS as exc:
                    what = "unreadable" if not read else f"incomplete (read {read} of {len(self.event_names)} event names)"
                    out.gap(f"CloudTrail {what} in {region}: {describe_failure(exc, 'cloudtrail:LookupEvents')}",
                            HIDES_DEPLOYS)
                    break  # denied or throttled beyond retries: the other names would fail alike

    def window(self) -> tuple[datetime, datetime]:
        """The part of the period CloudTrail's event history still holds."""
        start, end = parse_time(self.period.start), parse_time(self.period.end)
        return max(start, self.now - timedelta(days=HISTORY_DAYS)), end

    def lookup(self, clients: Clients, region: str, key: str, value: str, start: datetime,
               end: datetime) -> list[dict[str, Any]]:
        """Every record LookupEvents has for one attribute (``ResourceName``, ``Username``, ``EventName``)
        between ``start`` and ``end``; raises what botocore raises (the caller makes the Gap)."""
        client = clients("cloudtrail", region)
        found = []
        for page in client.get_paginator("lookup_events").paginate(
                LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], StartTime=start, EndTime=end):
            found.extend(_record(entry) for entry in page.get("Events", []))
        return found

    # -- IAM Access Advisor -------------------------------------------------------

    def access_advisor(self, clients: Clients, out: AccountActivity, principals: list[str]) -> None:
        if not principals:
            return
        iam = clients("iam")
        jobs: dict[str, str] = {}
        for arn in principals:
            try:
                jobs[arn] = call("iam:GenerateServiceLastAccessedDetails", lambda: iam.generate_service_last_accessed_details(
                    Arn=arn, Granularity="SERVICE_LEVEL"))["JobId"]
            except Failed as failed:
                if "AccessDenied" in failed.reason:  # the same for every principal of the account
                    out.gap(f"Access Advisor unreadable: {failed.reason}", _hides_last_use(principals, arn))
                    return
                out.gap(f"Access Advisor unreadable for {_name(arn)}: {failed.reason}", _hides_last_use([arn], arn))
        deadline = time.monotonic() + self.section.access_advisor_wait
        wait = POLL_FIRST_S
        while jobs:
            for arn, job in list(jobs.items()):
                try:
                    first = call("iam:GetServiceLastAccessedDetails",
                                 lambda: iam.get_service_last_accessed_details(JobId=job))
                except Failed as failed:
                    out.gap(f"Access Advisor report of {_name(arn)} unreadable: {failed.reason}", _hides_last_use([arn], arn))
                    del jobs[arn]
                    continue
                status = first.get("JobStatus")
                if status == "IN_PROGRESS":
                    continue
                del jobs[arn]
                if status != "COMPLETED":
                    error = (first.get("Error") or {}).get("Code", "") or status
                    out.gap(f"Access Advisor report of {_name(arn)} failed ({error}) on "
                            "iam:GetServiceLastAccessedDetails", _hides_last_use([arn], arn))
                    continue
                try:
                    services = self._rest_of(iam, job, first)
                except Failed as failed:
                    out.gap(f"Access Advisor report of {_name(arn)} incomplete: {failed.reason}",
                            _hides_last_use([arn], arn))
                    continue
                reported = first.get("JobCompletionDate") or first.get("JobCreationDate")
                out.services[arn] = (services, _iso(reported))
            if not jobs:
                break
            if time.monotonic() + wait > deadline:
                for arn in jobs:
                    out.gap(f"Access Advisor report of {_name(arn)} not ready within [sources.aws] "
                            f"access_advisor_wait ({self.section.access_advisor_wait:g} s)", _hides_last_use([arn], arn))
                return
            time.sleep(wait)
            wait = min(POLL_MAX_S, wait * 2)

    @staticmethod
    def _rest_of(iam: Any, job: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        """Every page of a completed report (IAM pages with Marker; botocore has no paginator for it)."""
        services = list(first.get("ServicesLastAccessed", []))
        page = first
        while page.get("IsTruncated") and page.get("Marker"):
            marker = page["Marker"]
            page = call("iam:GetServiceLastAccessedDetails", lambda: iam.get_service_last_accessed_details(
                JobId=job, Marker=marker))
            services.extend(page.get("ServicesLastAccessed", []))
        return services

    # -- RoleLastUsed -------------------------------------------------------------

    def roles_last_used(self, clients: Clients, out: AccountActivity, roles: list[str]) -> None:
        """From GetAccountAuthorizationDetails where it carried RoleLastUsed, else GetRole."""
        details = {r.get("Arn"): r for r in (out.account.iam or {}).get("RoleDetailList", [])}
        iam = clients("iam")
        for arn in roles:
            detail = details.get(arn)
            if detail is not None and "RoleLastUsed" in detail:
                out.roles[arn] = (detail.get("RoleLastUsed"), "GetAccountAuthorizationDetails")
                continue
            name = arn.rsplit("/", 1)[-1]
            try:
                role = call("iam:GetRole", lambda: iam.get_role(RoleName=name))["Role"]
            except Failed as failed:
                out.gap(f"last use of role {name} unreadable: {failed.reason}", f"last use of role {name}")
                continue
            out.roles[arn] = (role.get("RoleLastUsed"), "GetRole")

    def announce(self, account: AccountRead) -> None:
        self.progress(ProgressEvent(self.name, f"reading activity of {account.name or account.id}"))


def _record(entry: dict[str, Any]) -> dict[str, Any]:
    """The CloudTrail record of a LookupEvents entry (its CloudTrailEvent JSON), else the summary."""
    try:
        record = json.loads(entry.get("CloudTrailEvent") or "")
        if isinstance(record, dict):
            return record
    except ValueError:
        pass
    return {"eventID": entry.get("EventId", ""), "eventName": entry.get("EventName", ""),
            "eventSource": entry.get("EventSource", ""), "eventTime": _iso(entry.get("EventTime")),
            "userIdentity": {"accessKeyId": entry.get("AccessKeyId", ""), "userName": entry.get("Username", "")}}


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(value or "")


def _name(arn: str) -> str:
    return arn.split(":", 5)[-1]


def _hides_last_use(principals: list[str], arn: str) -> str:
    if len(principals) > 1:
        return f"last use of {len(principals)} principals with production grants (unused grants cannot be told)"
    return f"last use of {_name(arn)} (whether its grants are used)"
