"""Changes: every production change of the review period, with its verdict; the selected one
proven hop by hop below (change → commits → approvals → merge → deployments → cloud events).
Deployments made in the cloud outside a GitHub run are rows too (source CloudTrail or Cloud
Audit Logs)."""

from __future__ import annotations

from functools import partial
from typing import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...changes import VERDICTS, ChangeRow, change_proof, deployment_steps
from ...textsafe import safe_text
from ..actions import Action
from ..rows import Column, Row, make_row
from ..state import Triage
from ..widgets.finding import proof_table
from ..widgets.table import RecordTable
from .base import Command
from .tabular import TableScreen

VERDICT_STYLE = {"independent": "green", "not independent": "bold red", "unknown": "yellow"}
CHANGE_COLUMNS = (
    Column("landed", "Landed", whole=True, priority=1),
    Column("change", "Change", min_width=24, priority=0, grow=3),
    Column("authors", "Authors", min_width=12, priority=1, grow=1),
    Column("approvers", "Approved by", min_width=12, priority=2, grow=1),
    Column("merger", "Merged by", min_width=10, priority=3),
    Column("deployers", "Deployed by", min_width=10, priority=4),
    Column("verdict", "Verdict", whole=True, priority=0),
)
CHANGE_FIELDS = ("verdict", "repo", "person", "author", "approver", "deployer", "kind", "bypass", "app", "source")
NO_ACTIVITY = ("This snapshot was taken without activity: `foureyes snapshot --activity` reads the review "
               "period ([activity] in the config) and stores it with the snapshot.")


def _names(people: Iterable[object]) -> str:
    return ", ".join(dict.fromkeys(getattr(w, "label") for w in people))


def change_table_rows(triage: Triage) -> list[Row]:
    population = triage.analysis.changes
    if population is None:
        return []
    rows = []
    for r in population.rows:
        c = r.change
        approvers = [a.who for a in r.approvals if a.counts]
        people = " ".join(f"{w.person} {w.label}" for w in (*r.authors, *approvers, r.merger, *r.deployers))
        what = f"{c.id} {c.title}" if r.cloud is None else f"{r.source}: {c.title} ({r.repo})"
        rows.append(make_row(
            c.id,
            (c.at[:16].replace("T", " "), what, _names(r.authors) or "—", _names(approvers) or "—",
             r.merger.label, _names(r.deployers) or "—", r.verdict),
            sort=(c.at, c.id, _names(r.authors).lower(), _names(approvers).lower(), r.merger.label.lower(),
                  _names(r.deployers).lower(), VERDICTS.index(r.verdict)),
            fields={"verdict": r.verdict, "repo": r.repo, "person": people,
                    "author": " ".join(f"{w.person} {w.label}" for w in r.authors),
                    "approver": " ".join(f"{w.person} {w.label}" for w in approvers),
                    "deployer": " ".join(f"{w.person} {w.label}" for w in r.deployers),
                    "kind": c.kind.replace("_", "-"), "bypass": "yes" if r.bypasses else "no", "app": r.app,
                    "source": r.source},
            style="bold" if r.verdict == "not independent" else "",
            cell_styles=("", "", "", "", "", "", VERDICT_STYLE.get(r.verdict, "")),
            data=r,
        ))
    return rows


def change_detail(row: ChangeRow) -> RenderableType:
    """The change proven hop by hop, with everyone named and how they were linked."""
    c = row.change
    head = Text()
    head.append(safe_text(c.id), style="bold")
    if c.title:
        head.append("  " + safe_text(c.title))
    where = (f"into {safe_text(c.branch or 'the default branch')}" if row.cloud is None
             else f"recorded by {row.source}, outside any GitHub run")
    sub = Text(f"{safe_text(row.repo)} · {c.kind.replace('_', ' ')} {where} · {c.at[:16].replace('T', ' ')} · ")
    sub.append(row.verdict, style=VERDICT_STYLE.get(row.verdict, ""))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True, width=14)
    facts.add_column(ratio=1)
    facts.add_row("Why", Text(safe_text(row.why)))
    if row.authors:
        facts.add_row("Authors", Text("\n".join(safe_text(f"{w.label} — {w.how}") for w in row.authors)))
    if row.cloud is not None:
        facts.add_row("Deployed by", Text(safe_text(f"{row.cloud.actor.label} — {row.cloud.actor.how}")))
    if c.required_approvals is not None:
        rule = f"{c.required_approvals} approval(s) required"
        if c.require_last_push_approval:
            rule += ", of the most recent push"
        facts.add_row("Branch rule", Text(rule))
    if c.bypasses:
        facts.add_row("Bypass", Text("\n".join(safe_text(b) for b in c.bypasses), style="red"))
    if c.url:
        facts.add_row("Link", Text(safe_text(c.url)))
    steps = change_proof(row)[:-1] + [s for d in row.deployments for s in deployment_steps(d)]
    parts: list[RenderableType] = [head, sub, Text(""), facts, Text(""),
                                   Text("Hop by hop", style="bold underline"), proof_table(steps)]
    unknown = [u for d in row.deployments for u in d.unknown]
    if unknown:
        parts += [Text(""), Text("Unknown", style="bold yellow"), Text("\n".join(safe_text(u) for u in unknown))]
    return Group(*parts)


class ChangesScreen(TableScreen):
    DESTINATION = "changes"
    COLUMNS = CHANGE_COLUMNS
    FIELDS = CHANGE_FIELDS
    NOUN = "changes"
    NOUN_ONE = "change"
    EMPTY = "No production change in the review period."
    FILTER_HINT = ("filter: words, verdict:unknown, repo:acme/api, person:…, author:…, approver:…, deployer:…, "
                   "kind:direct-push, bypass:yes, source:CloudTrail")
    ACTIONS = (
        Action("changes.filter", "f", "filter", "Filter", "changes",
               "Filter by words or field:value (verdict, repo, person, author, approver, deployer, kind, bypass, "
               "source)",
               show=True),
        Action("changes.not_independent", "n", "not_independent", "Not independent", "changes",
               "Show only the changes nobody independent approved", show=True),
        Action("changes.sort", "o", "sort", "Sort by next column", "changes",
               "Cycle the sort column (click a header to sort by it)"),
        Action("changes.close_filter", "escape", "close_filter", "Leave filter", "changes",
               "Back to the table; the filter stays"),
    )

    def compose_detail(self) -> ComposeResult:
        with VerticalScroll(id="detail", classes="detail"):
            yield Static(Text("Select a change to read who authored, approved, merged and deployed it.",
                              style="italic"), id="detail-body")

    def show_triage(self, triage: Triage) -> None:
        if triage.analysis.changes is None:
            self.table.empty_text = NO_ACTIVITY
        super().show_triage(triage)

    def make_rows(self, triage: Triage) -> list[Row]:
        return change_table_rows(triage)

    def summary_extra(self) -> Text:
        population = self.triage.analysis.changes if self.triage is not None else None
        if population is None:
            return Text("no activity in this snapshot", style="italic")
        text = Text(f"period {population.period.label()}" if population.period else "")
        for verdict in VERDICTS:
            count = self.table.count_visible("verdict", verdict)
            text.append(" · ")
            text.append(f"{count} {verdict}", style=VERDICT_STYLE[verdict] if count else "dim")
        if population.gaps:
            text.append(f" · {len(population.gaps)} gap{'' if len(population.gaps) == 1 else 's'} about the period", style="yellow")
        if population.blind:  # an account or project whose deploy log was not read: rows may be missing
            blind = len(population.blind)
            text.append(f" · deploy log unread in {blind} production {'account or project' if blind == 1 else 'accounts or projects'}",
                        style="yellow")
        return text

    @on(RecordTable.Highlighted, "#table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        body = self.query_one("#detail-body", Static)
        if event.row is None:
            body.update(Text(""))
            return
        body.update(change_detail(event.row.data))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    def action_not_independent(self) -> None:
        self.set_filter_text("verdict:not")

    def commands(self) -> Iterable[Command]:
        for verdict in VERDICTS:
            yield (f"changes: only {verdict}", partial(self.set_filter_text, f'verdict:"{verdict}"'),
                   f"Show the changes whose verdict is {verdict}")
        yield ("changes: only bypasses", partial(self.set_filter_text, "bypass:yes"),
               "Show the changes that went around a protection")
        yield ("changes: clear filter", self.action_clear_filter, "Show every change")
