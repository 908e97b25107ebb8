"""The people × capabilities matrix: who holds which capability, per tier, team and app.

Shared by `foureyes matrix` and the TUI's Matrix screen, so both show the same cells.
"""

from __future__ import annotations

from typing import Any

from .analysis import Analysis
from .model import CAPABILITIES
from .usage import UsageIndex


def team_members(analysis: Analysis, team: str) -> set[str]:
    """Person keys that reach the GitHub team (directly or through child teams)."""
    return analysis.team_members(team)


def matrix_rows(analysis: Analysis, *, tier: str, conflicts_only: bool = False, team: str = "",
                app_name: str = "", counts: bool = False) -> list[dict[str, Any]]:
    """One row per person holding anything in scope: the resources behind each capability.

    Code capabilities have no deployment tier of their own, so they count for every tier.
    Resources reached only through a declared emergency path are listed apart (``emergency``),
    never among the standing ``capabilities``. Rows with a conflict finding come first. Without
    activity the rows come from the analysis's matrix cells (stored or computed); with it, from
    the holdings, each checked for use in the period (``used``).

    ``counts``: each capability's number of resources instead of the resources (what a table
    shows); a stored analysis reads them from its stored counts without its holdings.
    """
    in_conflict = analysis.people_in_conflict()
    members = team_members(analysis, team) if team else None
    period = analysis.snapshot.period
    if counts:
        stored = getattr(analysis, "matrix_counts", None)
        read = stored(tier) if stored is not None and period is None and not app_name else None
        if read is not None:
            return _count_rows(analysis, *read, in_conflict, members, conflicts_only)
        return [_counted(row) for row in matrix_rows(analysis, tier=tier, conflicts_only=conflicts_only, team=team,
                                                     app_name=app_name)]
    usage = UsageIndex(analysis.snapshot) if period is not None else None
    grants = {g.key: g for g in analysis.snapshot.grants()} if usage is not None else {}
    found: dict[str, tuple[dict[str, dict[str, None]], ...]] = {}

    def person_cells(person_key: str) -> tuple[dict[str, dict[str, None]], ...]:
        cells = found.get(person_key)
        if cells is None:
            cells = found[person_key] = tuple({c: {} for c in CAPABILITIES} for _ in range(3))
        return cells

    if usage is None:
        for person_key, capability, cells in analysis.matrix_cells():
            if (members is not None and person_key not in members) or (conflicts_only and person_key not in in_conflict):
                continue
            code = capability.startswith("code.")
            standing = emergency = None
            for resource, cell_tier, app, through_emergency in cells:
                if tier != "any" and cell_tier != tier and not code:
                    continue
                if app_name and app != app_name:
                    continue
                if through_emergency:  # only through a declared break-glass path: not standing access
                    emergency = emergency if emergency is not None else person_cells(person_key)[1][capability]
                    emergency[resource] = None
                else:
                    standing = standing if standing is not None else person_cells(person_key)[0][capability]
                    standing[resource] = None
    else:
        for person_key, holdings in analysis.by_person().items():
            if (members is not None and person_key not in members) or (conflicts_only and person_key not in in_conflict):
                continue
            for h in holdings:
                if tier != "any" and h.tier != tier and not h.capability.startswith("code."):
                    continue
                if app_name and h.app != app_name:
                    continue
                standing, emergency, used = person_cells(person_key)
                if h.emergency:
                    emergency[h.capability][h.resource] = None
                    continue
                standing[h.capability][h.resource] = None
                grant = grants.get(h.grant)
                if grant is not None and usage.used_in_period(grant, (h.account,), period.start):
                    used[h.capability][h.resource] = None
    people = analysis.identities.people
    rows = []
    for person_key, (standing, emergency, used) in found.items():
        for capability, resources in standing.items():
            for resource in resources:
                emergency[capability].pop(resource, None)  # held standing too: standing
        if not any(standing.values()) and not any(emergency.values()):
            continue
        person = people[person_key]
        rows.append({"person": person_key, "name": person.display_name, "linked": person.linked,
                     "conflict": person_key in in_conflict,
                     "capabilities": {c: list(resources) for c, resources in standing.items()},
                     # resources reached only through a declared emergency path, counted apart
                     "emergency": {c: list(resources) for c, resources in emergency.items() if resources},
                     # resources where a grant behind the capability was used in the activity period
                     "used": {c: list(resources) for c, resources in used.items() if resources}})
    rows.sort(key=lambda r: (not r["conflict"], r["person"]))
    return rows


def _counted(row: dict[str, Any]) -> dict[str, Any]:
    """A row of resources as a row of counts."""
    return {**row, **{part: {c: len(resources) for c, resources in row[part].items()}
                      for part in ("capabilities", "emergency", "used")}}


def _count_rows(analysis: Analysis, people_keys: list[str], counts: list[int], in_conflict: set[str],
                members: set[str] | None, conflicts_only: bool) -> list[dict[str, Any]]:
    """`matrix_rows(counts=True)` from a stored analysis's counts of one tier: each person's six
    standing counts, then six only through an emergency path (`StoredAnalysis.matrix_counts`)."""
    people = analysis.identities.people
    label = getattr(people, "label", None) or (lambda key: (people[key].display_name, people[key].linked))
    width = len(CAPABILITIES)
    rows = []
    for n, person_key in enumerate(people_keys):
        if (members is not None and person_key not in members) or (conflicts_only and person_key not in in_conflict):
            continue
        found = counts[2 * width * n:2 * width * (n + 1)]
        name, linked = label(person_key)  # (stored people: without making each person)
        rows.append({"person": person_key, "name": name, "linked": linked,
                     "conflict": person_key in in_conflict, "capabilities": dict(zip(CAPABILITIES, found)),
                     "emergency": {c: e for c, e in zip(CAPABILITIES, found[width:]) if e}, "used": {}})
    rows.sort(key=lambda r: (not r["conflict"], r["person"]))
    return rows
