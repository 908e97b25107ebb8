"""Where roster rules are decided: leavers who still hold access, accounts that belong to nobody
in the roster, movers who keep their old team's capabilities, and identity-provider groups whose
members differ from the team they feed. Values in, findings out; no graph walking.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from ..graph import Holding
from ..model import Person, RosterStatus
from ..roster import GroupFeed
from .pack import GROUP_DRIFT, LEAVER, MOVER, ORPHAN, Rule

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class RosterFacts:
    """What roster rules need besides people and holdings."""

    today: date
    # person key -> department at the baseline (the last closed campaign's snapshot, else the
    # previous one); None when there is no baseline to compare with
    departments_then: Mapping[str, str] | None = None
    baseline: str = ""  # readable: "snapshot 3 (campaign 2, closed)"
    feeds: tuple[GroupFeed, ...] = ()
    departments_now: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # every person's department


def person_findings(rule: Rule, person: Person, holdings: Sequence[Holding], facts: RosterFacts,
                    peers: "Peers | None", satisfies: Any) -> tuple[tuple[Holding, ...], dict[str, Any]] | None:
    """(the holdings that make the finding, its facts), or None when the rule does not fire."""
    record = person.roster
    if record is None:
        return None
    wanted = [h for h in holdings if any(satisfies(h, r) for r in rule.any_of)]
    if not wanted:
        return None
    accounts = sorted({h.account for h in wanted})
    if rule.condition == LEAVER:
        if not record.is_leaver:
            return None
        days = None
        if record.left_on:
            days = (facts.today - date.fromisoformat(record.left_on[:10])).days
        return _ordered(wanted), {
            "status": record.status, "status_reason": record.status_reason, "left_on": record.left_on,
            "days_since_leaving": days, "manager": record.manager, "department": record.department,
            "accounts": accounts, "apps": list(record.apps),
        }
    if rule.condition == ORPHAN:
        if record.status != RosterStatus.NOT_IN_ROSTER:
            return None
        return _ordered(wanted), {"status": record.status, "accounts": [a.principal for a in person.accounts],
                                  "linked": person.linked}
    if rule.condition == MOVER:
        if facts.departments_then is None or peers is None or not record.department:
            return None
        then = facts.departments_then.get(person.key, "")
        if not then or then == record.department or record.is_leaver:
            return None
        kept = [h for h in wanted if peers.of_old_team(h, then, record.department)]
        if not kept:
            return None
        return _ordered(kept), {"department_then": then, "department_now": record.department,
                                "baseline": facts.baseline, "manager": record.manager, "accounts": accounts}
    return None


def drift_findings(rule: Rule, facts: RosterFacts) -> list[tuple[GroupFeed, dict[str, Any]]]:
    if rule.condition != GROUP_DRIFT:
        return []
    return [(feed, {"idp_group": feed.idp_group, "idp_label": feed.idp_label, "idp_system": feed.idp_system,
                    "how": feed.how, "extra": sorted(feed.extra), "missing": sorted(feed.missing),
                    "without_account": sorted(feed.without_account)})
            for feed in facts.feeds if feed.drifted]


class Peers:
    """Who else holds each capability, by department: a capability is the old team's when someone
    else in the old department holds it and nobody else in the new one does."""

    def __init__(self, holdings_of: Mapping[str, Sequence[Holding]], departments: Mapping[str, str]):
        self._count: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for person, holdings in holdings_of.items():
            department = departments.get(person, "")
            if not department:
                continue
            for key in {(h.capability, h.resource) for h in holdings}:
                self._count[key][department] += 1

    def of_old_team(self, holding: Holding, old: str, new: str) -> bool:
        count = self._count.get((holding.capability, holding.resource), Counter())
        # the mover is counted in the new department (where the roster has them now)
        return count[old] >= 1 and count[new] <= 1


def _ordered(holdings: Sequence[Holding]) -> tuple[Holding, ...]:
    return tuple(sorted(holdings, key=lambda h: (h.tier != "production", h.capability, h.resource, h.distance)))
