"""What changed between two snapshots: grants, capabilities and findings, added and removed.

Grants compare by key (a hash of system, principal, entitlement and resource), holdings by
(person, capability, resource, repo), findings by their stable id.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from .analysis import Analysis
from .bulk import gc_paused
from .graph import Holding
from .model import Grant, Snapshot
from .rules import Finding


@dataclass(frozen=True)
class Drift:
    from_id: int
    to_id: int
    grants_added: tuple[Grant, ...]
    grants_removed: tuple[Grant, ...]
    capabilities_added: tuple[Holding, ...]
    capabilities_removed: tuple[Holding, ...]
    findings_added: tuple[Finding, ...]
    findings_removed: tuple[Finding, ...]

    @property
    def empty(self) -> bool:
        return not any((self.grants_added, self.grants_removed, self.capabilities_added,
                        self.capabilities_removed, self.findings_added, self.findings_removed))


def grant_changes(old: Snapshot, new: Snapshot) -> tuple[tuple[Grant, ...], tuple[Grant, ...]]:
    with gc_paused():
        added, removed = new.grants_not_in(old), old.grants_not_in(new)
    return tuple(sorted(added, key=_grant_order)), tuple(sorted(removed, key=_grant_order))


# A holding's key is its first four fields; itemgetter extracts them in C for millions of holdings.
_holding_key = itemgetter(0, 1, 2, 3)


def capability_changes(old: Analysis, new: Analysis) -> tuple[tuple[Holding, ...], tuple[Holding, ...]]:
    """Holdings whose key one side lacks, compared person by person: most people's holdings
    are unchanged, and telling so needs no dictionary of 1.7 million keys."""
    before_by, after_by = old.graph.by_person(), new.graph.by_person()
    added: list[Holding] = []
    removed: list[Holding] = []
    with gc_paused():
        for person, after in after_by.items():
            before = before_by.get(person, ())
            if len(before) == len(after) and list(map(_holding_key, before)) == list(map(_holding_key, after)):
                continue
            before_keyed = dict(zip(map(_holding_key, before), before))
            after_keyed = dict(zip(map(_holding_key, after), after))
            added.extend(h for k, h in after_keyed.items() if k not in before_keyed)
            removed.extend(h for k, h in before_keyed.items() if k not in after_keyed)
        for person, before in before_by.items():
            if person not in after_by:
                removed.extend({_holding_key(h): h for h in before}.values())
    return tuple(sorted(added, key=_holding_key)), tuple(sorted(removed, key=_holding_key))


def compare(old: Analysis, new: Analysis) -> Drift:
    grants_added, grants_removed = grant_changes(old.snapshot, new.snapshot)
    capabilities_added, capabilities_removed = capability_changes(old, new)
    # Proven violations (activity rules) belong to their review period, not to what changed in access.
    old_findings = {f.id: f for f in old.findings if f.rule.kind != "activity"}
    new_findings = {f.id: f for f in new.findings if f.rule.kind != "activity"}
    return Drift(
        from_id=old.snapshot.id,
        to_id=new.snapshot.id,
        grants_added=grants_added,
        grants_removed=grants_removed,
        capabilities_added=capabilities_added,
        capabilities_removed=capabilities_removed,
        findings_added=tuple(new_findings[k] for k in sorted(new_findings.keys() - old_findings.keys())),
        findings_removed=tuple(old_findings[k] for k in sorted(old_findings.keys() - new_findings.keys())),
    )


def _grant_order(g: Grant) -> tuple[str, str, str]:
    return (g.resource, g.principal, g.entitlement)


def grant_json(g: Grant, snapshot: Snapshot | None = None) -> dict[str, Any]:
    principal = snapshot.principals.get(g.principal) if snapshot else None
    resource = snapshot.resources.get(g.resource) if snapshot else None
    return {
        "key": g.key,
        "system": g.system,
        "principal": g.principal,
        "principal_name": principal.display_name if principal else "",
        "entitlement": g.entitlement,
        "resource": g.resource,
        "resource_name": resource.label if resource else "",
        "tier": resource.tier if resource else "",
        "capabilities": list(g.capabilities),
        "via": g.via,
        "detail": g.detail,
    }
