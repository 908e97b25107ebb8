"""The stable JSON shapes of people, holdings, paths and findings (docs/cli.md).

Scripts rely on these; add fields freely, never rename or remove one.
"""

from __future__ import annotations

import json
from typing import Any

from .analysis import Analysis
from .attribution import Who
from .changes import ChangeRow, DeploymentView, Population, ProofStep
from .deploys import CloudDeploy
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
        "access": access_kind(holding),
    }
    if holding.emergency or holding.time_bound:
        marks = analysis.graph.marks_of(holding)
        data["emergency_paths"] = list(marks.emergency)
        data["expires"] = marks.expires or None
    if with_path:
        steps = analysis.path(holding)
        data["path"] = path_json(steps)
        data["hops"] = hops_json(steps)
    return data


def access_kind(holding: Holding) -> str:
    """``emergency`` (only through a declared break-glass path), ``time-bound`` (only through grants
    or assignments that expire) or ``standing``."""
    return "emergency" if holding.emergency else "time-bound" if holding.time_bound else "standing"


def access_text(analysis: Analysis, holding: Holding) -> str:
    """``standing``, ``emergency: NAME`` or ``time-bound until DATE`` (``time-bound`` when its expiry is unknown)."""
    if not (holding.emergency or holding.time_bound):
        return "standing"
    marks = analysis.graph.marks_of(holding)
    if holding.emergency:
        return "emergency: " + ", ".join(marks.emergency) if marks.emergency else "emergency"
    return f"time-bound until {marks.expires[:10]}" if marks.expires else "time-bound"


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
        "proof": [proof_json(step) for step in finding.proof],
    }


def proof_json(step: ProofStep) -> dict[str, str]:
    return {"hop": step.hop, "at": step.at, "text": step.text, "ref": step.ref}


# ---------------------------------------------------------------- the change population

CHANGE_COLUMNS = ("change", "repository", "app", "kind", "landed", "title", "authors", "approvers", "merged by",
                  "merge method", "deployed by", "deployment approvers", "environments", "verdict", "why",
                  "bypasses", "url", "source")


def who_json(who: Who) -> dict[str, Any]:
    return {"person": who.person or None, "name": who.label, "linked": who.linked, "machine": who.machine,
            "account": who.actor.principal or None, "email": who.actor.email or None, "how": who.how}


def _names(people: tuple[Who, ...] | list[Who]) -> str:
    seen = dict.fromkeys(w.person or w.label for w in people)
    labels = {w.person or w.label: (w.person if w.person and "@" in w.person else w.label) for w in people}
    return "; ".join(labels[k] for k in seen)


def deployment_json(view: DeploymentView) -> dict[str, Any]:
    d = view.deployment
    return {"id": d.id, "environment": d.environment, "environment_name": view.environment, "at": d.at,
            "sha": d.sha, "ref": d.ref, "exact": view.exact, "run": d.run_id or None, "run_url": d.run_url or None,
            "workflow": d.workflow or None, "event": d.event or None, "status": d.status or None,
            "triggered_by": [who_json(w) for w in view.triggered_by],
            "approved_by": [who_json(w) for w in view.approvers], "unknown": list(view.unknown),
            "cloud_events": [cloud_json(c) for c in view.events]}


def cloud_json(call: CloudDeploy) -> dict[str, Any]:
    """A deploy call in a production account or project, as its log recorded it."""
    e = call.event
    return {"id": e.id, "source": call.source, "at": e.at, "action": e.action, "resource": e.resource,
            "place": call.place, "target": e.target or None, "session": e.session or None,
            "ci_subject": e.ci_subject or None, "actor": who_json(call.actor),
            "run": ({"deployment": call.run.id, "run": call.run.run_id or None, "url": call.run.run_url or None}
                    if call.run is not None else None),
            "link": call.link or None, "by_hand": call.by_hand}


def change_json(row: ChangeRow) -> dict[str, Any]:
    c = row.change
    return {
        "id": c.id, "repository": row.repo, "app": row.app or None, "tier": row.tier, "kind": c.kind,
        "landed_at": c.at, "branch": c.branch, "number": c.number or None, "title": c.title, "url": c.url or None,
        "sha": c.sha or None, "head_sha": c.head_sha or None,
        "authors": [who_json(w) for w in row.authors],
        "commits": [{"sha": x.sha, "authors": [a.email or a.principal or a.name for a in x.authors], "at": x.at}
                    for x in c.commits],
        "commits_complete": c.commits_complete,
        "approvals": [{**who_json(a.who), "state": a.approval.state, "at": a.approval.at or None,
                       "commit": a.approval.commit or None, "counts": a.counts, "why": a.why} for a in row.approvals],
        "merged_by": who_json(row.merger), "merge_method": c.merge_method or None,
        "required_approvals": c.required_approvals, "require_last_push_approval": c.require_last_push_approval,
        "deployments": [deployment_json(d) for d in row.deployments],
        "verdict": row.verdict, "why": row.why, "bypasses": list(row.bypasses),
        "source": row.source, "cloud_event": cloud_json(row.cloud) if row.cloud is not None else None,
    }


def change_row(row: ChangeRow) -> list[str]:
    """One change as the CSV and table columns (`CHANGE_COLUMNS`)."""
    c = row.change
    approvers = [a.who for a in row.approvals if a.counts]
    places = [d.environment for d in row.deployments] + ([row.cloud.place] if row.cloud is not None else [])
    return [c.id, row.repo, row.app, c.kind.replace("_", " "), c.at, c.title, _names(row.authors), _names(approvers),
            _names([row.merger]) if row.cloud is None else "", c.merge_method, _names(list(row.deployers)),
            _names([w for d in row.deployments for w in d.approvers]),
            "; ".join(dict.fromkeys(places)), row.verdict, row.why, "; ".join(row.bypasses), c.url, row.source]


def population_json(population: Population) -> dict[str, Any]:
    period = population.period
    return {
        "period": {"start": period.start, "end": period.end} if period else None,
        "counts": population.counts(),
        "changes": [change_json(r) for r in population.rows],
        "gaps": [{"system": g.system, "resource": g.resource, "reason": g.reason, "hides": g.hides}
                 for g in population.gaps],
        # production accounts and projects whose deploy log could not be read: what the population lacks
        "unseen": [{"system": b.system, "resource": b.resource or None, "reason": b.gap.reason,
                    "before": b.before or None} for b in population.blind],
        "notes": list(population.notes),
    }
