"""A finding explained: its rule's rationale and controls, the paths behind it, its exception."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...changes import ProofStep
from ...rules import Finding
from ...rules.pack import Requirement
from ...textsafe import safe_multiline, safe_text
from ..state import SEVERITY_STYLE, Triage, chain, finding_scope, finding_status, person_label

ROUTES_PER_HOLDING = 4


def finding_detail(triage: Triage, finding: Finding) -> RenderableType:
    analysis = triage.analysis
    rule = finding.rule
    status = finding_status(finding)
    head = Text()
    head.append(f"{rule.id}  ", style="bold")
    head.append(f"{finding.severity}  ", style=SEVERITY_STYLE.get(finding.severity, ""))
    head.append(safe_text(rule.title), style="bold")
    if finding.person:
        who = person_label(analysis.identities.people.get(finding.person), finding.person)
        who = f"{who} <{finding.person}>" if "@" in finding.person else who
    else:
        who = f"{finding.subject_label} ({finding.subject})"
    sub = Text(f"{safe_text(who)} · {safe_text(finding_scope(analysis, finding))} · ", style="")
    sub.append(status, style={"open": "bold", "excepted": "green", "expired": "yellow"}.get(status, ""))

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True, width=14)
    facts.add_column(ratio=1)
    facts.add_row("Why it matters", Text(safe_multiline(rule.rationale).replace("\n", " ")))
    facts.add_row("Controls", Text(" · ".join(safe_text(c) for c in rule.controls) or "none listed"))
    facts.add_row("What to do", Text(safe_multiline(rule.remediation).replace("\n", " ")))
    for name, value in roster_facts(finding):
        facts.add_row(name, value)
    if not finding.person:
        resource = analysis.snapshot.resources.get(finding.subject)
        principal = analysis.snapshot.principals.get(finding.subject)
        thing = resource or principal
        because = ", ".join(f"{safe_text(k)} = {_literal(v)}" for k, v in rule.when.items())
        if rule.kind == "roster":
            because = "its members differ from the identity-provider group it is fed by"
        facts.add_row("Subject", Text(safe_text(f"{thing.label if thing else finding.subject} ({finding.subject})")))
        facts.add_row("Because", Text(because or "the rule's condition holds"))
        shown = [f"{safe_text(k)}: {_setting(v)}" for k, v in finding.settings if k not in rule.when]
        if shown:
            facts.add_row("Settings", Text("\n".join(shown)))
    facts.add_row("Exception", exception_text(finding))

    parts: list[RenderableType] = [head, sub, Text(""), facts]
    if finding.proof:
        parts += [Text(""), Text("Proof, hop by hop (what happened, as the systems recorded it)",
                                 style="bold underline"), proof_table(finding.proof)]
    if not finding.person and rule.kind == "posture":
        who = rule.exposes.describe() if rule.exposes else "who can exploit it"
        parts += [Text(""), Text(f"Exposes {len(finding.exposed)} (" + safe_text(who) + ")", style="bold underline")]
        exposed_grid = Table.grid(padding=(0, 1))
        exposed_grid.add_column(width=3, no_wrap=True)
        exposed_grid.add_column(ratio=1)
        for n, exposure in enumerate(finding.exposed, 1):
            steps = exposure.steps or (analysis.path(exposure.holding) if exposure.holding else ())
            exposed_grid.add_row(Text(f"{n}.", justify="right"), Text(safe_text(chain(steps))))
        parts.append(exposed_grid)
    if finding.evidence:
        parts += [Text(""), Text("Paths (enter draws them hop by hop)", style="bold underline")]
        for requirement, holdings in finding.evidence:
            parts.append(Text(requirement_text(requirement), style="bold"))
            routes_grid = Table.grid(padding=(0, 1))
            routes_grid.add_column(width=3, no_wrap=True)
            routes_grid.add_column(ratio=1)  # long chains wrap inside their column, not under the number
            for holding in holdings:
                resource = analysis.snapshot.resources.get(holding.resource)
                where = resource.label if resource else holding.resource
                routes_grid.add_row("", Text(f"{safe_text(holding.capability)} on {safe_text(where)}", style="italic"))
                routes = analysis.graph.paths(holding, limit=ROUTES_PER_HOLDING)
                for n, steps in enumerate(routes, 1):
                    routes_grid.add_row(Text(f"{n}.", justify="right"), Text(safe_text(chain(steps))))
            parts.append(routes_grid)
    return Group(*parts)


HOP_STYLE = {"change": "bold", "approvals": "cyan", "merge": "magenta", "deployment": "bold green",
             "approval": "green", "bypass": "bold red", "verdict": "yellow", "event": "blue"}


def proof_table(steps: "tuple[ProofStep, ...] | list[ProofStep]") -> Table:
    """Each hop on its own line: what it is, when, and what the system recorded (literally)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=3, no_wrap=True, justify="right")
    grid.add_column(width=11, no_wrap=True)
    grid.add_column(width=17, no_wrap=True)
    grid.add_column(ratio=1)
    for n, step in enumerate(steps, 1):
        grid.add_row(Text(f"{n}."), Text(step.hop, style=HOP_STYLE.get(step.hop, "")),
                     Text(step.at[:16].replace("T", " ") if step.at else "", style="dim"),
                     Text(safe_text(step.text)))
    return grid


def roster_facts(finding: Finding) -> list[tuple[str, Text]]:
    """What a roster finding says beyond its rule: when the person left, how they moved, who differs."""
    f = finding.facts
    out: list[tuple[str, Text]] = []
    if finding.rule.condition == "leaver":
        days = f.get("days_since_leaving")
        left = Text(f" {safe_text(f.get('status', ''))} ", style="bold white on red")
        left.append(f"  left {f.get('left_on') or 'on an unknown day'}"
                    + (f", {days} days before the snapshot" if days is not None else "")
                    + f" ({safe_text(f.get('status_reason', ''))})")
        out.append(("Left", left))
        out.append(("Accounts", Text(safe_text(", ".join(f.get("accounts", ()))))))
        if f.get("manager"):
            out.append(("Manager", Text(safe_text(f["manager"]))))
    elif finding.rule.condition == "mover":
        out.append(("Moved", Text(safe_text(f"{f.get('department_then')} → {f.get('department_now')} "
                                            f"(since {f.get('baseline')})"))))
    elif finding.rule.condition == "group-drift":
        out.append(("Fed by", Text(safe_text(f"{f.get('idp_label')} ({f.get('idp_system')}, {f.get('how')})"))))
        for name, key in (("Only in team", "extra"), ("Only in group", "missing")):
            if f.get(key):
                out.append((name, Text(safe_text(", ".join(f[key])), style="bold")))
    return out


def exception_text(finding: Finding) -> Text:
    waiver = finding.waiver
    text = Text()
    if waiver is not None:
        text.append(f"{waiver.id}: ", style="green bold")
        text.append(safe_text(f"{waiver.reason} · approved by {waiver.approver} · expires "
                              f"{waiver.expires.isoformat()}"))
        if waiver.ticket:
            text.append(safe_text(f" · ticket {waiver.ticket}"))
    for expired in finding.expired_waivers:
        if text:
            text.append("\n")
        text.append(f"{expired.id} expired {expired.expires.isoformat()}: ", style="yellow bold")
        text.append(safe_text(f"{expired.reason} · approved by {expired.approver}"))
    if not text:
        text.append("none", style="dim")
    return text


def requirement_text(requirement: Requirement) -> str:
    """``deploy.run in production on aws/gcp, self review allowed``: what the rule asked for."""
    text = requirement.capability
    if requirement.tier != "any":
        text += f" in {requirement.tier}"
    if requirement.systems:
        text += f" on {'/'.join(requirement.systems)}"
    # latent = false is the rule saying "usable today", which every listed path already is
    conditions = [f"{k.replace('_', ' ')} {_literal(v)}" for k, v in requirement.where.items()
                  if not (k == "latent" and v is False)]
    if conditions:
        text += ", " + ", ".join(conditions)
    return safe_text(text)


def _setting(value: object) -> str:
    """A subject's setting as text: lists joined, booleans as the rule file writes them."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_literal(v) for v in value) or "none"
    return _literal(value)


def _literal(value: object) -> str:
    """A rule condition's value as it is written in the rule file (TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_text(value)
