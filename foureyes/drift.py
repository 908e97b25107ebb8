"""What changed between two snapshots: grants, capabilities and findings, added and removed.

Grants compare by key (a hash of system, principal, entitlement and resource), holdings by
(person, capability, resource, repo), findings by their stable id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .analysis import Analysis
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
    before = dict(old.keyed_grants())
    after = dict(new.keyed_grants())
    added = tuple(sorted((after[k] for k in after.keys() - before.keys()), key=_grant_order))
    removed = tuple(sorted((before[k] for k in before.keys() - after.keys()), key=_grant_order))
    return added, removed


def compare(old: Analysis, new: Analysis) -> Drift:
    grants_added, grants_removed = grant_changes(old.snapshot, new.snapshot)
    # A holding's key is its first four fields: slicing is the cheap way to get millions of them.
    before = {h[:4]: h for h in old.holdings()}
    after = {h[:4]: h for h in new.holdings()}
    old_findings = {f.id: f for f in old.findings}
    new_findings = {f.id: f for f in new.findings}
    return Drift(
        from_id=old.snapshot.id,
        to_id=new.snapshot.id,
        grants_added=grants_added,
        grants_removed=grants_removed,
        capabilities_added=tuple(after[k] for k in sorted(after.keys() - before.keys())),
        capabilities_removed=tuple(before[k] for k in sorted(before.keys() - after.keys())),
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
