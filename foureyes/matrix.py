"""The people × capabilities matrix: who holds which capability, per tier, team and app.

Shared by `foureyes matrix` and the TUI's Matrix screen, so both show the same cells.
"""

from __future__ import annotations

from typing import Any

from .analysis import Analysis
from .model import CAPABILITIES


def team_members(analysis: Analysis, team: str) -> set[str]:
    """Person keys that reach the GitHub team (directly or through child teams)."""
    return analysis.team_members(team)


def matrix_rows(analysis: Analysis, *, tier: str, conflicts_only: bool = False, team: str = "",
                app_name: str = "") -> list[dict[str, Any]]:
    """One row per person holding anything in scope: the resources behind each capability.

    Code capabilities have no deployment tier of their own, so they count for every tier.
    Rows with a conflict finding come first. Read from the analysis's matrix cells (each
    distinct resource, tier and app a person holds a capability on), stored or computed.
    """
    in_conflict = analysis.people_in_conflict()
    members = team_members(analysis, team) if team else None
    found: dict[str, dict[str, dict[str, None]]] = {}
    for person_key, capability, cells in analysis.matrix_cells():
        if members is not None and person_key not in members:
            continue
        if conflicts_only and person_key not in in_conflict:
            continue
        code = capability.startswith("code.")
        # dicts keep first-seen order and make the de-duplication O(1) for people with many holdings
        resources: dict[str, None] | None = None
        for resource, cell_tier, app in cells:
            if tier != "any" and cell_tier != tier and not code:
                continue
            if app_name and app != app_name:
                continue
            if resources is None:
                resources = found.setdefault(person_key, {c: {} for c in CAPABILITIES}).setdefault(capability, {})
            resources[resource] = None
    people = analysis.identities.people
    rows = []
    for person_key, capabilities in found.items():
        person = people[person_key]
        rows.append({"person": person_key, "name": person.display_name, "linked": person.linked,
                     "conflict": person_key in in_conflict,
                     "capabilities": {c: list(resources) for c, resources in capabilities.items()}})
    rows.sort(key=lambda r: (not r["conflict"], r["person"]))
    return rows
