"""`who-can`, `conflicts`, `matrix`, `drift`, `check`, `identities` and `rules`."""

from __future__ import annotations

from typing import Any, Sequence

import click

from ..errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE
from ..model import CAPABILITIES, SEVERITIES, severity_rank
from ..drift import grant_json
from ..serialize import access_text, finding_json, holding_json, path_json, person_json
from ..workspace import Analysis, Completeness
from . import main
from .common import (
    AppContext,
    announce,
    finish,
    format_option,
    gaps_options,
    pass_app,
    print_gaps,
    reads_in_bulk,
    snapshot_option,
    worst,
)
from .output import Cell, Col, cell, cells_of, counted, note, print_csv, print_json, print_table

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}

# What matters most in a findings table at 100 columns: the id (never wrapped), what it is and whom it is about.
FINDING_COLUMNS = [Col("id", "id", whole=True, priority=0), Col("severity", "severity", whole=True, priority=1),
                   Col("rule", "rule", whole=True, priority=5), Col("title", "title", priority=0, min_width=16, grow=2),
                   Col("person", "person or resource", priority=0, min_width=14, grow=1),
                   Col("scope", "scope", priority=3, min_width=12), Col("capabilities", "capabilities", priority=4),
                   Col("status", "status", whole=True, priority=2)]


def exceptions_option(f: Any) -> Any:
    return click.option("--exceptions", "exception_files", multiple=True, metavar="FILE",
                        type=click.Path(dir_okay=False),
                        help="An exception (waiver) file, in addition to [rules] exceptions (repeatable).")(f)


def load_analysis(app: AppContext, ref: str | None, exception_files: Sequence[str] = ()) -> Analysis:
    # exceptions approved in review campaigns count like those in exception files (the workspace adds them)
    return app.workspace().analysis(ref, exception_files=exception_files)


# ---------------------------------------------------------------- who-can


@main.command("who-can")
@click.argument("capability", type=click.Choice(CAPABILITIES), metavar="CAPABILITY")
@click.option("--tier", default=None, metavar="TIER", help="Only holdings on resources of this tier (e.g. production).")
@click.option("--scope", default="", metavar="SCOPE",
              help="Only this resource: a key or glob, app:NAME, or repo:OWNER/REPO.")
@click.option("--person", default="", metavar="KEY", help="Only this person (email or SYSTEM:ID).")
@snapshot_option
@gaps_options
@format_option()
@pass_app
@reads_in_bulk
def who_can(app: AppContext, capability: str, tier: str | None, scope: str, person: str, snapshot_ref: str | None,
            allow_gaps: bool, strict: bool, fmt: str) -> None:
    """People holding CAPABILITY, each with the path that explains it.

    CAPABILITY is one of code.push, code.merge_unreviewed, code.approve, deploy.run,
    deploy.approve, access.admin.

    Exit 3 when a source of the snapshot failed (unless --allow-gaps): "nobody" would be a guess."""
    workspace = app.workspace()
    found = workspace.who_can(capability, tier=tier, scope=scope, snapshot=snapshot_ref)
    analysis = found.analysis
    completeness = workspace.completeness(analysis)
    code = announce(completeness, allow_gaps=allow_gaps, strict=strict)
    wanted = person.strip().lower()
    people = [p for p, _ in found.people if not wanted or p.key.lower() == wanted
              or any(a.principal.lower() == wanted for a in p.accounts)]
    by_person = {p.key: holdings for p, holdings in found.people}
    if fmt == "json":
        print_json({
            "capability": capability,
            "tier": tier,
            "scope": scope or None,
            "snapshot": analysis.snapshot.id,
            **completeness.to_json(),
            "people": [
                {
                    **person_json(analysis, p),
                    "paths": [path_json(analysis.path(h)) for h in by_person[p.key]],
                    "holdings": [holding_json(analysis, h) for h in by_person[p.key]],
                }
                for p in people
            ],
        })
        finish(code)
        return
    rows = []
    resources = analysis.snapshot.resources
    for p in people:
        # standing access first, then what expires, then what only an emergency path gives
        for h in sorted(by_person[p.key], key=lambda h: (h.emergency, h.time_bound)):
            resource = resources.get(h.resource)
            rows.append([p.display_name if p.linked else p.key, resource.label if resource else h.resource,
                         h.tier, access_text(analysis, h), " → ".join(path_json(analysis.path(h))[1:])])
    if fmt == "csv":
        print_csv(["person", "resource", "tier", "access", "path"], rows)
        finish(code)
        return
    title = f"who can {capability}" + (f" in {tier}" if tier else "") + f" (snapshot {analysis.snapshot.id})"
    short = cells_of()  # people, resources, tiers and access repeat: each made once
    print_table(title, [Col("person", "person", priority=0, min_width=12),
                        Col("resource", "resource", priority=0, min_width=20, grow=1),
                        Col("tier", "tier", priority=3), Col("access", "access", priority=2, min_width=8),
                        Col("path", "path", priority=0, min_width=30, grow=3)],
                [[*map(short, r[:4]), cell(r[4], limit=None)] for r in rows])
    standing = sum(1 for p in people if any(not h.emergency for h in by_person[p.key]))
    note(counted(len(people), "person", "people")
         + (f" ({standing} standing, {len(people) - standing} through an emergency path only)"
            if standing < len(people) else "")
         + (" (incomplete: a source failed)" if completeness.failed else ""))
    finish(code)


# ---------------------------------------------------------------- conflicts


def _severity_cell(severity: str) -> Cell:
    return Cell(severity, SEVERITY_STYLE.get(severity, ""))


@main.command()
@click.option("--severity", "min_severity", type=click.Choice(SEVERITIES), default="info",
              help="Only findings at or above this severity.")
@click.option("--rule", "rule_ids", multiple=True, metavar="ID", help="Only these rules (repeatable).")
@click.option("--person", default="", metavar="KEY", help="Only this person (email or SYSTEM:ID).")
@click.option("--open", "open_only", is_flag=True, help="Hide findings covered by an active exception.")
@exceptions_option
@snapshot_option
@gaps_options
@format_option()
@pass_app
@reads_in_bulk
def conflicts(app: AppContext, min_severity: str, rule_ids: tuple[str, ...], person: str, open_only: bool,
              exception_files: tuple[str, ...], snapshot_ref: str | None, allow_gaps: bool, strict: bool,
              fmt: str) -> None:
    """Rule findings: separation-of-duties conflicts and posture problems, with paths.

    Exit 3 when a source of the snapshot failed (unless --allow-gaps)."""
    if rule_ids:
        app.workspace().check_rules(rule_ids)
    analysis = load_analysis(app, snapshot_ref, exception_files)
    completeness = app.workspace().completeness(analysis)
    code = announce(completeness, allow_gaps=allow_gaps, strict=strict)
    findings = [
        f for f in analysis.findings
        if f.at_least(min_severity)
        and (not rule_ids or f.rule.id in rule_ids)
        and (not person or f.person == person.lower() or f.person == person)
        and (not open_only or not f.covered)
    ]
    findings.sort(key=lambda f: (-severity_rank(f.severity), f.rule.id, f.person, f.scope))
    if fmt == "json":
        analysis.prefetch_paths([h for f in findings for h in (*f.holdings, *(e.holding for e in f.exposed if e.holding))])
        print_json({"snapshot": analysis.snapshot.id, **completeness.to_json(),
                    "findings": [finding_json(analysis, f) for f in findings]})
        finish(code)
        return
    columns = ["id", "severity", "rule", "title", "person or resource", "scope", "capabilities", "status"]
    rows = [[f.id, f.severity, f.rule.id, f.rule.title, f.subject_label or f.subject, f.scope,
             ", ".join(f.capabilities), "excepted" if f.covered else "open"] for f in findings]
    if fmt == "csv":
        print_csv(columns, rows)
        finish(code)
        return
    short = cells_of()  # rules, titles, scopes, capabilities and status repeat: each made once
    print_table(f"conflicts (snapshot {analysis.snapshot.id})", FINDING_COLUMNS,
                [[cell(r[0]), _severity_cell(r[1]), *map(short, r[2:])] for r in rows])
    open_count = sum(1 for f in findings if not f.covered)
    incomplete = " (incomplete: a source failed)" if completeness.failed else ""
    note(f"{len(findings)} findings, {open_count} open{incomplete}; `foureyes conflicts --format json` shows every path")
    finish(code)


# ---------------------------------------------------------------- matrix


@main.command()
@click.option("--tier", default="production", show_default=True, help="Tier of deploy and access capabilities ('any' for all).")
@click.option("--conflicts-only", is_flag=True, help="Only people with a conflict finding.")
@click.option("--team", default="", metavar="SLUG", help="Only members of this GitHub team (nested teams included).")
@click.option("--app", "app_name", default="", metavar="NAME", help="Only capabilities on this app.")
@snapshot_option
@gaps_options
@format_option()
@pass_app
@reads_in_bulk
def matrix(app: AppContext, tier: str, conflicts_only: bool, team: str, app_name: str, snapshot_ref: str | None,
           allow_gaps: bool, strict: bool, fmt: str) -> None:
    """People × capabilities: how many resources each person holds each capability on.

    Exit 3 when a source of the snapshot failed (unless --allow-gaps)."""
    workspace = app.workspace()
    analysis = workspace.analysis(snapshot_ref)
    if tier != "any":
        workspace.check_tier(tier, analysis)
    completeness = workspace.completeness(analysis)
    code = announce(completeness, allow_gaps=allow_gaps, strict=strict)
    # a table shows how many resources: counted, read without the holdings; JSON lists them
    rows = workspace.matrix(analysis, tier=tier, conflicts_only=conflicts_only, team=team, app_name=app_name,
                            counts=fmt != "json")
    if fmt == "json":
        print_json({"snapshot": analysis.snapshot.id, **completeness.to_json(), "tier": tier,
                    "capabilities": list(CAPABILITIES), "rows": rows})
        finish(code)
        return
    columns = ["person", *CAPABILITIES, "conflict"]
    table_rows = [[r["name"] if r["linked"] else r["person"], *(_cell(r, c) for c in CAPABILITIES),
                   "yes" if r["conflict"] else ""] for r in rows]
    if fmt == "csv":
        print_csv(columns, table_rows)
        finish(code)
        return
    headers = [Col("person", "person", priority=0, min_width=14, grow=1),
               *(Col(c, c.replace(".", "\n", 1), align="center", priority=0) for c in CAPABILITIES),
               Col("conflict", "conflict", whole=True, priority=0)]
    plain, bold = cells_of(), cells_of(style="bold")  # counts repeat: each cell made once
    print_table(f"capability matrix, tier {tier} (snapshot {analysis.snapshot.id})", headers,
                [[*map(bold if r[-1] else plain, r)] for r in table_rows])
    everyone = len(analysis.identities.people)
    where = "in any tier" if tier == "any" else f"in {tier}"
    note(f"{len(rows)} of {everyone} people hold a capability {where}"
         + (f", {sum(1 for r in rows if r['conflict'])} in conflict" if not conflicts_only else " and are in conflict")
         + " (`foureyes identities` lists all of them)")
    finish(code)


def _cell(row: dict[str, Any], capability: str) -> str | int:
    """Resources held standing, and those reached only through an emergency path ("2 +1 emergency"),
    from a row of counts (`Workspace.matrix(counts=True)`)."""
    standing, emergency = row["capabilities"][capability], row.get("emergency", {}).get(capability, 0)
    if not emergency:
        return standing or ""
    return f"{standing} +{emergency} emergency" if standing else f"{emergency} emergency"


# ---------------------------------------------------------------- drift


@main.command()
@click.option("--from", "from_ref", default=None, metavar="ID", help="Older snapshot (default: the one before --to).")
@click.option("--to", "to_ref", default=None, metavar="ID", help="Newer snapshot (default: latest).")
@gaps_options
@format_option()
@pass_app
def drift(app: AppContext, from_ref: str | None, to_ref: str | None, allow_gaps: bool, strict: bool,
          fmt: str) -> None:
    """Grants, capabilities and findings added and removed between two snapshots.

    Exit 3 when a source failed in either snapshot (unless --allow-gaps): what it lacks shows as
    removed, or hides what was added."""
    workspace = app.workspace()
    found = workspace.drift(from_ref, to_ref)
    old, new, d = found.old, found.new, found.drift
    sides = (workspace.completeness(old), workspace.completeness(new))
    # a failed source first, whichever snapshot it is in
    code = worst(*(announce(c, allow_gaps=allow_gaps, strict=strict)
                   for c in sorted(sides, key=lambda c: not c.failed)))
    if fmt == "json":
        print_json({
            "from": d.from_id, "to": d.to_id,
            **_both(*sides),
            "grants": {"added": [grant_json(g, new.snapshot) for g in d.grants_added],
                       "removed": [grant_json(g, old.snapshot) for g in d.grants_removed]},
            "capabilities": {"added": [{"person": h.person, **holding_json(new, h, with_path=True)} for h in d.capabilities_added],
                             "removed": [{"person": h.person, **holding_json(old, h, with_path=False)} for h in d.capabilities_removed]},
            "findings": {"added": [finding_json(new, f) for f in d.findings_added],
                         "removed": [finding_json(old, f) for f in d.findings_removed]},
        })
        finish(code)
        return
    rows: list[list[Any]] = []
    for sign, grants, snap in (("+", d.grants_added, new.snapshot), ("-", d.grants_removed, old.snapshot)):
        for g in grants:
            principal = snap.principals.get(g.principal)
            resource = snap.resources.get(g.resource)
            rows.append([sign, "grant", principal.label if principal else g.principal, g.entitlement,
                         resource.label if resource else g.resource])
    for sign, holdings, a in (("+", d.capabilities_added, new), ("-", d.capabilities_removed, old)):
        for h in holdings:
            resource = a.snapshot.resources.get(h.resource)
            rows.append([sign, "capability", h.person, h.capability, resource.label if resource else h.resource])
    for sign, findings in (("+", d.findings_added), ("-", d.findings_removed)):
        for f in findings:
            rows.append([sign, "finding", f.subject_label or f.subject, f"{f.rule.id} {f.rule.title}", f.scope])
    if fmt == "csv":
        print_csv(["change", "type", "who", "what", "where"], rows)
        finish(code)
        return
    if not rows:
        note(f"no changes between snapshot {d.from_id} and {d.to_id}")
        finish(code)
        return
    styled = [[cell(r[0], style="green" if r[0] == "+" else "red")] + [cell(v) for v in r[1:]] for r in rows]
    print_table(f"drift from snapshot {d.from_id} to {d.to_id}", ["", "type", "who", "what", "where"], styled)
    finish(code)


def _both(old: Completeness, new: Completeness) -> dict[str, Any]:
    """Both snapshots' completeness as one: each failed source and gap says which snapshot it is in."""
    return {"complete": old.complete and new.complete,
            "failed_sources": [{"snapshot": c.snapshot, "source": name}
                               for c in (old, new) for name in c.failed_sources],
            "gaps": [{"snapshot": c.snapshot, **gap} for c in (old, new) for gap in c.to_json()["gaps"]]}


# ---------------------------------------------------------------- check


@main.command()
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="low", show_default=True,
              help="Exit 1 when an open finding is at or above this severity.")
@click.option("--allow-gaps", is_flag=True, help="Do not exit 3 because the snapshot has gaps.")
@exceptions_option
@snapshot_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "sarif"]), default="table", show_default=True,
              help="Output format. JSON is the stable interface for scripts; SARIF 2.1.0 is for GitHub code "
                   "scanning (docs/code-scanning.md).")
@pass_app
def check(app: AppContext, fail_on: str, allow_gaps: bool, exception_files: tuple[str, ...],
          snapshot_ref: str | None, fmt: str) -> None:
    """CI gate. Exit 1 on open findings at or above --fail-on (not covered by an exception);
    otherwise 3 when the snapshot has gaps or a failed source (unless --allow-gaps); else 0.

    With --format sarif, every finding at or above --fail-on is a result (an excepted one
    marked suppressed), located at the line of the config file that makes it matter."""
    analysis = load_analysis(app, snapshot_ref, exception_files)
    completeness = app.workspace().completeness(analysis)
    # check's own rule: any gap fails it (not only a failed source), unless --allow-gaps
    announce(completeness, allow_gaps=allow_gaps)
    failing = [f for f in analysis.findings if not f.covered and f.at_least(fail_on)]
    covered = [f for f in analysis.findings if f.covered]
    gaps = analysis.gaps
    failed_sources = list(completeness.failed_sources)
    if failing:
        code = EXIT_FINDINGS
    elif not completeness.complete and not allow_gaps:
        code = EXIT_SOURCE
    else:
        code = EXIT_OK
    if fmt == "sarif":
        print_json(app.workspace().sarif(analysis, [f for f in analysis.findings if f.at_least(fail_on)]))
        print_gaps(completeness.unread)
    elif fmt == "json":
        print_json({
            "snapshot": analysis.snapshot.id,
            "fail_on": fail_on,
            "exit_code": code,
            "failing": [finding_json(analysis, f) for f in failing],
            "excepted": [f.id for f in covered],
            **completeness.to_json(),
        })
    else:
        if failing:
            print_table(f"open findings at or above {fail_on} (snapshot {analysis.snapshot.id})",
                        [FINDING_COLUMNS[0], FINDING_COLUMNS[1], FINDING_COLUMNS[2], FINDING_COLUMNS[4],
                         FINDING_COLUMNS[5]],
                        [[cell(f.id), _severity_cell(f.severity), cell(f.rule.id), cell(f.subject_label or f.subject),
                          cell(f.scope)] for f in failing])
        print_gaps(completeness.unread)  # a failed source was named in the first line
        note(f"check: {counted(len(failing), 'open finding')} at or above {fail_on}, {len(covered)} excepted, "
             f"{counted(len(gaps), 'gap')}{', sources failed: ' + ', '.join(failed_sources) if failed_sources else ''} "
             f"→ exit {code}")
    finish(code)


# ---------------------------------------------------------------- identities


@main.command()
@click.option("--suggest", is_flag=True, help="List possible links for unlinked accounts, with the evidence (never applied).")
@snapshot_option
@gaps_options
@format_option()
@pass_app
def identities(app: AppContext, suggest: bool, snapshot_ref: str | None, allow_gaps: bool, strict: bool,
               fmt: str) -> None:
    """People and their linked accounts; unlinked accounts are their own person.

    Exit 3 when a source of the snapshot failed (unless --allow-gaps)."""
    workspace = app.workspace()
    snapshot, ids = workspace.identities(snapshot_ref)
    completeness = workspace.completeness(snapshot)
    code = announce(completeness, allow_gaps=allow_gaps, strict=strict)
    if suggest:
        suggestions = workspace.link_suggestions(snapshot, ids)
        if fmt == "json":
            print_json({"snapshot": snapshot.id, **completeness.to_json(), "suggestions": [
                {"account": s.account, "person": s.person, "evidence": s.evidence} for s in suggestions]})
        elif fmt == "csv":
            print_csv(["account", "person", "evidence"], [[s.account, s.person, s.evidence] for s in suggestions])
        else:
            print_table(f"suggested links (snapshot {snapshot.id}); add them under [identity.people] to apply",
                        ["account", "may be", "evidence"], [[s.account, s.person, s.evidence] for s in suggestions])
        finish(code)
        return
    people = list(ids.people.values())
    if fmt == "json":
        print_json({
            "snapshot": snapshot.id,
            **completeness.to_json(),
            "counts": {"people": len(people), "linked": len(ids.linked), "unlinked": len(ids.unlinked),
                       "accounts": sum(len(p.accounts) for p in people)},
            "people": [
                {"person": p.key, "name": p.display_name, "linked": p.linked, "external": p.external,
                 "accounts": [{"account": a.principal, "method": a.method, "evidence": a.evidence} for a in p.accounts]}
                for p in people
            ],
        })
        finish(code)
        return
    rows = [[p.key, p.display_name, "yes" if p.linked else "NO", a.principal, a.method, a.evidence]
            for p in people for a in p.accounts]
    if fmt == "csv":
        print_csv(["person", "name", "linked", "account", "method", "evidence"], rows)
        finish(code)
        return
    print_table(f"identities (snapshot {snapshot.id})",
                [Col("person", "person", priority=0, min_width=22, grow=1), Col("name", "name", priority=2, min_width=12),
                 Col("linked", "linked", whole=True, priority=3), Col("account", "account", priority=0, min_width=24,
                                                                       grow=1),
                 Col("method", "method", whole=True, priority=4), Col("evidence", "evidence", priority=1, min_width=20,
                                                                       grow=1)],
                rows)
    note(f"{len(people)} people: {len(ids.linked)} linked, {counted(len(ids.unlinked), 'unlinked account')} (each a "
         "person of its own: a conflict across systems is invisible for them); `foureyes identities --suggest` "
         "lists possible links")
    finish(code)


# ---------------------------------------------------------------- rules


@main.group()
def rules() -> None:
    """The rule pack: list rules, run their fixtures."""


@rules.command("list")
@format_option("table", "json")
@pass_app
def rules_list(app: AppContext, fmt: str) -> None:
    """The rules in effect (default pack, [rules] paths, minus [rules] disable)."""
    pack = app.workspace().rule_pack()
    if fmt == "json":
        print_json({"rules": [{"id": r.id, "title": r.title, "severity": r.severity, "kind": r.kind,
                               "controls": list(r.controls), "source": r.source} for r in pack]})
        return
    print_table("rules", [Col("id", "id", whole=True, priority=0), Col("severity", "severity", whole=True, priority=1),
                          Col("kind", "kind", whole=True, priority=2), Col("title", "title", priority=0, grow=2),
                          Col("controls", "controls", priority=3, grow=1)],
                [[r.id, r.severity, r.kind, r.title, ", ".join(r.controls)] for r in pack])


@rules.command("test")
@click.argument("fixtures", nargs=-1, type=click.Path(exists=True))
@pass_app
def rules_test(app: AppContext, fixtures: tuple[str, ...]) -> None:
    """Run rule fixtures (must fire / must not fire). Default: every fixture of the pack."""
    failures = 0
    total = 0
    for result in app.workspace().rule_fixture_results(fixtures):
        total += 1
        if not result.ok:
            failures += 1
            note(f"FAIL {result.rule} {result.case}: {result.message}")
    note(f"{counted(total, 'case')}, {counted(failures, 'failure')}")
    finish(EXIT_FINDINGS if failures else EXIT_OK)
