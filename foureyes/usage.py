"""When a grant was last used, and by what evidence, from a snapshot's last-use records
(Access Advisor, RoleLastUsed, IAM insights) and its gaps about activity. Pure. Campaign
items freeze it at planning (`foureyes.review`); the matrix marks what was used in the period.

Four answers, never mixed up: ``used`` (a date and its source), ``unused`` (no use seen in the
window the source tracks), ``unknown`` (the source could not be read: a gap says why) and
``""`` (no usage was read for the grant: GitHub reports none, or the snapshot read no activity).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable, Mapping

from .activity import LastUsed, parse_time
from .model import Grant, Snapshot

USED, UNUSED, UNKNOWN, UNTRACKED = "used", "unused", "unknown", ""
USAGE_STATES = (USED, UNUSED, UNKNOWN, UNTRACKED)


@dataclass(frozen=True)
class Usage:
    """An item's last use as the snapshot knows it; ``idle_days`` counts to the snapshot's time."""

    state: str = UNTRACKED
    last_used: str | None = None
    since: str = ""  # the start of the window the source tracks (unused), or of the use's window
    evidence: str = ""  # the source and what it said, or the gap's reason (unknown)
    idle_days: int | None = None  # days without use before the snapshot; None: not known
    suggestion: str = ""  # "revoke: unused for 143 days", decided at planning (`suggest`)

    def describe(self) -> str:
        if self.state == USED:
            return f"last used {self.last_used[:10] if self.last_used else '?'} ({self.evidence})"
        if self.state == UNUSED:
            return f"no use seen in the period ({self.evidence}, tracked since {self.since[:10] or '?'})"
        if self.state == UNKNOWN:
            return f"unknown: could not read usage ({self.evidence})"
        return "unknown: no usage was read for this grant (the system reports none, or no activity was read)"

    def unused_for(self, days: int) -> bool:
        """No use for at least ``days`` days before the snapshot (unknown is never unused)."""
        return self.state in (USED, UNUSED) and self.idle_days is not None and self.idle_days >= days

    def suggestion_for(self, days: int) -> str:
        """``revoke: unused for 143 days`` once the grant has gone ``days`` days without use."""
        if not self.unused_for(days):
            return ""
        at_least = "at least " if self.state == UNUSED else ""
        return f"revoke: unused for {at_least}{self.idle_days} days"

    def to_json(self) -> str:
        if self.state == UNTRACKED and not self.evidence:
            return ""
        return json.dumps({"state": self.state, "last_used": self.last_used, "since": self.since,
                           "evidence": self.evidence, "idle_days": self.idle_days,
                           "suggestion": self.suggestion}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None, last_used: str | None = None) -> "Usage":
        if not text:
            return cls(USED, last_used, evidence="as the snapshot's grant reported it") if last_used else cls()
        data = json.loads(text)
        return cls(data.get("state", UNTRACKED), data.get("last_used"), data.get("since", ""),
                   data.get("evidence", ""), data.get("idle_days"), data.get("suggestion", ""))

    def suggest(self, days: int) -> "Usage":
        """The same usage with its suggestion for a campaign that calls ``days`` days unused."""
        suggestion = self.suggestion_for(days)
        return self if suggestion == self.suggestion else replace(self, suggestion=suggestion)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state or None, "last_used": self.last_used, "since": self.since or None,
                "evidence": self.evidence, "idle_days": self.idle_days, "text": self.describe(),
                "suggestion": self.suggestion or None}


_LAST_USE_WORDS = ("last use", "whether its grants are used")


class UsageIndex:
    """Answers `of(grant, accounts)` for one snapshot (build once per plan)."""

    def __init__(self, snapshot: Snapshot):
        self.at = _moment(snapshot.period.end if snapshot.period else snapshot.taken_at)
        self.by_grant: dict[str, list[LastUsed]] = defaultdict(list)
        self.by_principal: dict[tuple[str, str], list[LastUsed]] = defaultdict(list)
        for record in snapshot.activity():
            if isinstance(record, LastUsed):
                if record.grant:
                    self.by_grant[record.grant].append(record)
                self.by_principal[(record.principal, record.resource)].append(record)
        self.gaps: dict[str, list[str]] = defaultdict(list)
        for gap in snapshot.gaps():
            if gap.about == "activity" and any(w in gap.hides for w in _LAST_USE_WORDS):
                self.gaps[gap.resource].append(gap.reason)

    def of(self, grant: Grant, accounts: Iterable[str] = ()) -> Usage:
        """The grant's last use: its own record (an insight), else its holder's or the person's own
        account's in the same place for the services the grant allows, else a gap, else the grant's
        own ``last_used``."""
        found = self.by_grant.get(grant.key)
        if not found and self.by_principal:  # (a snapshot without activity has none to look through)
            services = _services(grant)
            for principal in [grant.principal, *[a for a in accounts if a != grant.principal]]:
                records = self.by_principal.get((principal, grant.resource), [])
                found = [r for r in records if r.service and r.service in services] or [
                    r for r in records if not r.service]
                if found:
                    break
        if found:
            return self._answer(found)
        reasons = self.gaps.get(grant.resource)
        if reasons:
            return Usage(UNKNOWN, evidence="; ".join(sorted(set(reasons))))
        if grant.last_used:
            return Usage(USED, grant.last_used, evidence="as the snapshot's grant reported it",
                         idle_days=self._days(grant.last_used))
        return Usage()

    def used_in_period(self, grant: Grant, accounts: Iterable[str] = (), start: str = "") -> bool:
        """Used on or after ``start`` (the activity period's start); a usage window that merely
        overlaps the period (an IAM insight's) counts when it ends inside it."""
        usage = self.of(grant, accounts)
        return usage.state == USED and bool(usage.last_used) and (not start or usage.last_used >= start)

    def _answer(self, records: list[LastUsed]) -> Usage:
        used = [r for r in records if r.last_used]
        if used:
            latest = max(used, key=lambda r: r.last_used or "")
            return Usage(USED, latest.last_used, latest.tracked_since, _source(latest, with_entity=True),
                         self._days(latest.last_used))
        since = min((r.tracked_since for r in records if r.tracked_since), default="")
        return Usage(UNUSED, None, since, _source(records[0]), self._days(since) if since else None)

    def _days(self, when: str | None) -> int | None:
        if not when or self.at is None:
            return None
        try:
            return max(0, (self.at - parse_time(when)).days)
        except ValueError:
            return None


def _moment(text: str) -> datetime | None:
    try:
        return parse_time(text) if text else None
    except ValueError:
        return None


def _services(grant: Grant) -> set[str]:
    """What a last-use record may name for this grant: AWS service namespaces its policy allows
    (``ecs`` of ``ecs:UpdateService``), GCP permissions its role holds (``run.services.update``)."""
    actions = [str(a) for a in grant.attrs.get("actions") or []]
    return {a.split(":", 1)[0].lower() if ":" in a else a for a in actions}


def _source(record: LastUsed, *, with_entity: bool = False) -> str:
    evidence: Mapping[str, Any] = record.evidence or {}
    source = str(evidence.get("source") or record.system)
    what = record.service or ""
    if record.system == "gcp" and evidence.get("exercised"):
        shown = ", ".join(evidence["exercised"][:3]) + (" …" if len(evidence["exercised"]) > 3 else "")
        return f"{source}: used {shown} in the window"
    entity = record.entity.split(":", 5)[-1] if with_entity and record.entity and record.system == "aws" else ""
    parts = [source + (f": {what}" if what else "")]
    if entity:
        parts.append(f"by {entity}")
    return " ".join(parts)
