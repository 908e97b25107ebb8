"""The stable JSON shapes of people, holdings, paths and findings (docs/cli.md).

Scripts rely on these; add fields freely, never rename or remove one.
"""

from __future__ import annotations

import json
from typing import Any

from .analysis import Analysis
from .graph import Holding, Step
from .model import Person
from .rules import Exposure, Finding


def path_json(steps: tuple[Step, ...]) -> list[str]:
    return [str(step) for step in steps]


def hops_json(steps: tuple[Step, ...]) -> list[dict[str, str]]:
    return [{"system": s.system, "kind": s.kind, "node": s.node, "how": s.how, "key": s.key} for s in steps]


def person_json(analysis: Analysis, person: Person) -> dict[str, Any]:
    return {
        "person": person.key,
        "name": person.display_name,
        "linked": person.linked,
        "external": person.external,
        "accounts": [a.principal for a in person.accounts],
        "links": [{"account": a.principal, "method": a.method, "evidence": a.evidence} for a in person.accounts],
    }


def holding_json(analysis: Analysis, holding: Holding, *, with_path: bool = True) -> dict[str, Any]:
    resource = analysis.snapshot.resources.get(holding.resource)
    data: dict[str, Any] = {
        "capability": holding.capability,
        "resource": holding.resource,
        "resource_name": resource.label if resource else holding.resource,
        "tier": holding.tier,
        "app": holding.app,
        "repo": holding.repo,
        "system": holding.system,
        "grant": holding.grant,
        "account": holding.account,
        "latent": holding.latent,
        "escalation": holding.escalation,
    }
    if with_path:
        steps = analysis.path(holding)
        data["path"] = path_json(steps)
        data["hops"] = hops_json(steps)
    return data


def exposed_json(analysis: Analysis, finding: Finding) -> list[dict[str, Any]]:
    """The people a posture finding exposes, each with the path by which they can exploit it."""
    out = []
    for exposure in finding.exposed:
        person = analysis.identities.people.get(exposure.person)
        steps = exposure_steps(analysis, exposure)
        out.append({"person": exposure.person, "name": person.display_name if person else exposure.person,
                    "path": path_json(steps), "hops": hops_json(steps)})
    return out


def exposure_steps(analysis: Analysis, exposure: Exposure) -> tuple[Step, ...]:
    """The path by which the person can exploit the finding."""
    if exposure.holding is not None and not exposure.steps:
        return analysis.path(exposure.holding)
    return exposure.steps


def finding_json(analysis: Analysis, finding: Finding) -> dict[str, Any]:
    rule = finding.rule
    paths = [path_json(analysis.path(h)) for h in finding.holdings]
    evidence = [
        {"requirement": req.describe(), "holdings": [holding_json(analysis, h) for h in hs]}
        for req, hs in finding.evidence
    ]
    if rule.kind == "posture":
        # What matched, and everyone who can use it: the settings, and the holdings that exploit them.
        paths = [path_json(exposure_steps(analysis, e)) for e in finding.exposed]
        conditions = ", ".join(f"{k} = {json.dumps(v)}" for k, v in rule.when.items())
        evidence = [{"requirement": f"{conditions}; exposes {rule.exposes.describe() if rule.exposes else 'nobody named'}",
                     "settings": dict(finding.settings),
                     "holdings": [holding_json(analysis, e.holding) for e in finding.exposed if e.holding]}]
    waiver = finding.waiver
    return {
        "id": finding.id,
        "rule": rule.id,
        "title": rule.title,
        "severity": rule.severity,
        "kind": rule.kind,
        "person": finding.person or None,
        "subject": finding.subject,
        "subject_name": finding.subject_label,
        "scope": finding.scope,
        "capabilities": list(finding.capabilities),
        "paths": paths,
        "evidence": evidence,
        "settings": dict(finding.settings),
        "exposed": exposed_json(analysis, finding),
        "controls": list(rule.controls),
        "rationale": rule.rationale,
        "remediation": rule.remediation,
        # roster findings: days since leaving, departments, the IdP group and who differs
        "facts": dict(finding.facts),
        "exception": None if waiver is None else {
            "id": waiver.id, "reason": waiver.reason, "expires": waiver.expires.isoformat(),
            "approver": waiver.approver, "source": waiver.source,
        },
        "status": "excepted" if waiver else "open",
    }
