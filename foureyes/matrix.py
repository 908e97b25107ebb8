"""The people × capabilities matrix: who holds which capability, per tier, team and app.

Shared by `foureyes matrix` and the TUI's Matrix screen, so both show the same cells.
"""

from __future__ import annotations

from typing import Any

from .analysis import Analysis
from .model import CAPABILITIES
from .usage import UsageIndex


def team_members(analysis: Analysis, team: str) -> set[str]:
    """Person keys that reach the GitHub team (directly or through child teams): `Graph.team_members`."""
    return analysis.graph.team_members(team)


def matrix_rows(analysis: Analysis, *, tier: str, conflicts_only: bool = False, team: str = "",
                app_name: str = "") -> list[dict[str, Any]]:
    """One row per person holding anything in scope: the resources behind each capability.

    Code capabilities have no deployment tier of their own, so they count for every tier.
    Resources reached only through a declared emergency path are listed apart (``emergency``),
    never among the standing ``capabilities``. Rows with a conflict finding come first.
    """
    in_conflict = {f.person for f in analysis.findings if f.person and f.rule.kind == "conflict"}
    snapshot = analysis.snapshot
    period = snapshot.period
    usage = UsageIndex(snapshot) if period is not None else None
    grants = {g.key: g for g in snapshot.grants()} if usage is not None else {}
    members = team_members(analysis, team) if team else None
    analysis.graph.index_teams()  # here, in the TUI's worker, so choosing a team later is instant
    rows = []
    for person_key, holdings in analysis.graph.by_person().items():
        if members is not None and person_key not in members:
            continue
        if conflicts_only and person_key not in in_conflict:
            continue
        # dicts keep first-seen order and make the de-duplication O(1) for people with many holdings
        found: dict[str, dict[str, None]] = {c: {} for c in CAPABILITIES}
        used: dict[str, dict[str, None]] = {c: {} for c in CAPABILITIES}
        emergency: dict[str, dict[str, None]] = {c: {} for c in CAPABILITIES}
        for h in holdings:
            if tier != "any" and h.tier != tier and not h.capability.startswith("code."):
                continue
            if app_name and h.app != app_name:
                continue
            if h.emergency:  # only through a declared break-glass path: not standing access
                emergency[h.capability][h.resource] = None
                continue
            found[h.capability][h.resource] = None
            grant = grants.get(h.grant)
            if usage is not None and grant is not None and usage.used_in_period(grant, (h.account,), period.start):
                used[h.capability][h.resource] = None
        for capability, resources in found.items():
            for resource in resources:
                emergency[capability].pop(resource, None)  # held standing too: standing
        if not any(found.values()) and not any(emergency.values()):
            continue
        person = analysis.identities.people[person_key]
        rows.append({"person": person_key, "name": person.display_name, "linked": person.linked,
                     "conflict": person_key in in_conflict,
                     "capabilities": {c: list(resources) for c, resources in found.items()},
                     # resources reached only through a declared emergency path, counted apart
                     "emergency": {c: list(resources) for c, resources in emergency.items() if resources},
                     # resources where a grant behind the capability was used in the activity period
                     "used": {c: list(resources) for c, resources in used.items() if resources}})
    rows.sort(key=lambda r: (not r["conflict"], r["person"]))
    return rows
