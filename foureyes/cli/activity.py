"""`changes` (the change population of the review period, for sampling) and `activity` (what a
snapshot holds of the period)."""

from __future__ import annotations

import fnmatch
from collections import Counter
from typing import Any

import click
from rich.text import Text

from ..serialize import CHANGE_COLUMNS, change_row, population_json
from . import main
from .common import AppContext, announce, finish, format_option, gap_line, gaps_options, pass_app, snapshot_option
from .output import cell, note, print_csv, print_json, print_table

VERDICT_STYLE = {"independent": "green", "not independent": "bold red", "unknown": "yellow"}
VERDICTS = ("independent", "not independent", "unknown")


@main.command()
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(VERDICTS),
              help="Only changes with this verdict (repeatable).")
@click.option("--repo", "repos", multiple=True, metavar="GLOB", help="Only these repositories (owner/name globs); for a deployment made in the cloud, "
              "its account or project.")
@click.option("--person", default="", metavar="WHO",
              help="Only changes this person authored, approved, merged or deployed (email, login or name).")
@snapshot_option
@gaps_options
@format_option()
@pass_app
def changes(app: AppContext, verdicts: tuple[str, ...], repos: tuple[str, ...], person: str,
            snapshot_ref: str | None, allow_gaps: bool, strict: bool, fmt: str) -> None:
    """Every production change of the review period: author, approvers, merger, deployer, verdict.

    The population an auditor samples for change-management testing: GitHub's pull requests
    and direct pushes, and deployments made in production accounts and projects outside a
    GitHub run (CloudTrail, Cloud Audit Logs; the "source" column). A verdict is
    "independent" (someone who authored none of it approved it), "not independent" (nobody
    else approved, a direct push, a stale approval under the last-push rule, a deployment
    made by hand) or "unknown" (an actor not linked to a person, commits not all read, a
    cloud log that could not be read where it was deployed), always with why. Needs a
    snapshot taken with --activity. Exit 3 when a source of the snapshot failed (unless
    --allow-gaps): its changes are missing, not absent.
    """
    workspace = app.workspace()
    analysis = workspace.changes(snapshot_ref)
    completeness = workspace.completeness(analysis)
    code = announce(completeness, allow_gaps=allow_gaps, strict=strict)
    population = analysis.changes
    assert population is not None
    rows = [r for r in population.rows
            if (not verdicts or r.verdict in verdicts)
            and (not repos or any(fnmatch.fnmatchcase(r.repo, g) for g in repos))
            and (not person or _involves(r, person))]
    if fmt == "json":
        data = population_json(population)
        data["snapshot"] = analysis.snapshot.id
        # the population's gaps are those of its period (and failed sources): what its verdicts lack
        data.update(complete=completeness.complete, failed_sources=list(completeness.failed_sources))
        data["changes"] = [c for c, r in zip(data["changes"], population.rows) if r in rows]
        print_json(data)
    elif fmt == "csv":
        print_csv(CHANGE_COLUMNS, [change_row(r) for r in rows])
    else:
        shown = ("change", "landed", "authors", "approvers", "merged by", "deployed by", "verdict", "why")
        index = [CHANGE_COLUMNS.index(c) for c in shown]
        table_rows = []
        for r in rows:
            values = change_row(r)
            out: list[Any] = [values[i] for i in index]
            if r.cloud is not None:
                out[0] = f"{r.source} {out[0]}"
            out[1] = out[1][:16].replace("T", " ")
            out[6] = Text(r.verdict, style=VERDICT_STYLE.get(r.verdict, ""))
            out[7] = cell(r.why, limit=90)
            table_rows.append(out)
        period = population.period
        title = f"Changes {period.label()}" if period else "Changes"
        print_table(title, list(shown), table_rows)
    counts = Counter(r.verdict for r in rows)
    note("foureyes: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
         + f" of {len(rows)} production change(s)")
    for gap in population.gaps:
        note(gap_line(gap))
    for line in population.notes:
        note(f"foureyes: not seen: {line}")
    finish(code)


def _involves(row: Any, person: str) -> bool:
    wanted = person.lower()
    people = list(row.authors) + [a.who for a in row.approvals] + [row.merger] + list(row.deployers)
    return any(wanted in (w.person or "").lower() or wanted == w.label.lower()
               or wanted == w.actor.principal.partition(":")[2].lower() for w in people)


@main.command()
@snapshot_option
@format_option("table", "json")
@pass_app
def activity(app: AppContext, snapshot_ref: str | None, fmt: str) -> None:
    """What a snapshot holds of its review period: the period and the records per source and kind."""
    workspace = app.workspace()
    snapshot = workspace.load_snapshot(snapshot_ref)
    sources = []
    for source in snapshot.sources:
        kinds = Counter(type(r).KIND for r in source.activity)
        sources.append({"source": source.name, "system": source.system,
                        "period": {"start": source.period.start, "end": source.period.end} if source.period else None,
                        "records": dict(sorted(kinds.items())), "total": len(source.activity)})
    if fmt == "json":
        print_json({"snapshot": snapshot.id, "period": None if snapshot.period is None else
                    {"start": snapshot.period.start, "end": snapshot.period.end}, "sources": sources})
        return
    if snapshot.period is None:
        note(f"snapshot {snapshot.id} was taken without activity; `foureyes snapshot --activity` reads it")
    kinds = ("change", "deployment", "bypass", "event", "last_used")
    print_table(f"Activity in snapshot {snapshot.id}", ["source", "period", *kinds, "total"], [
        [s["source"], f"{s['period']['start'][:10]} to {s['period']['end'][:10]}" if s["period"] else "not read",
         *(s["records"].get(k, 0) for k in kinds), s["total"]] for s in sources])
