"""The Overview's panels. Each shows one aspect of the loaded snapshot; the Overview screen
lists them in `PANELS` (a tuple there stacks panels in one cell), so a new panel is one class
here and one entry there."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...textsafe import safe_text
from ...workspace import duration_text
from ..state import EMERGENCY_STYLE, SEVERITY_STYLE, TIME_BOUND_STYLE, Triage, person_label, severity_counts, when


class OverviewPanel(Static):
    """A bordered panel that redraws from a `Triage`."""

    TITLE = ""
    # Drawn by the Overview in a worker (`render_triage` only reads the triage); False: `show` on
    # the UI thread (a panel that is quick to draw, or that reads in a worker of its own).
    DRAWN_IN_WORKER: ClassVar[bool] = True

    DEFAULT_CSS = """
    OverviewPanel { border: round $primary 60%; padding: 0 1; height: auto; }
    """

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    def show(self, triage: Triage) -> None:
        self.update(self.render_triage(triage))

    def show_drift(self, triage: Triage) -> None:
        """Drift arrives after the rest; most panels do not use it."""

    def render_triage(self, triage: Triage) -> RenderableType:
        raise NotImplementedError


class SnapshotPanel(OverviewPanel):
    TITLE = "Snapshot"

    def render_triage(self, triage: Triage) -> RenderableType:
        info = triage.info
        head = Text()
        head.append(f"Snapshot {info.id}", style="bold")
        if info.label:
            head.append(f" · {safe_text(info.label)}")
        head.append(f"\ntaken {when(info.taken_at)} · {len(triage.snapshots)} stored")
        if triage.previous_id is not None:
            head.append(f" · previous: {triage.previous_id}")
        if triage.snapshots and triage.snapshots[-1].id != info.id:
            head.append(" · not the latest (press s to switch)", style="yellow")
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for name, justify in (("source", "left"), ("system", "left"), ("principals", "right"),
                              ("resources", "right"), ("grants", "right"), ("edges", "right"),
                              ("gaps", "right"), ("status", "left")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for s in info.sources:
            status = Text(safe_text(s.error, limit=40), style="bold red") if s.error else Text("ok", style="green")
            table.add_row(Text(safe_text(s.name)), Text(safe_text(s.system)), str(s.principals), str(s.resources),
                          str(s.grants), str(s.edges),
                          Text(str(s.gaps), style="bold yellow" if s.gaps else ""), status)
        gaps = info.gap_count
        foot = Text()
        if gaps or info.failed:
            foot.append(f"{gaps} gap{'s' if gaps != 1 else ''}", style="bold yellow")
            if info.failed:
                foot.append(f", failed sources: {safe_text(', '.join(info.failed))}", style="bold red")
            foot.append(": what could not be read is unknown, not “no access” (5 Gaps)")
        else:
            foot.append("No gaps: every source read everything it tried to.", style="green")
        return Group(head, table, foot)


class PeoplePanel(OverviewPanel):
    TITLE = "People and accounts"

    def render_triage(self, triage: Triage) -> RenderableType:
        identities = triage.analysis.identities
        linked = identities.linked
        unlinked = identities.unlinked
        accounts = sum(len(p.accounts) for p in identities.people.values())
        by_system = Counter(a.principal.split(":", 1)[0] for p in identities.people.values() for a in p.accounts)
        external = [p for p in linked if p.external]
        text = Text()
        text.append(f"{len(identities.people)}", style="bold")
        text.append(" people: ")
        text.append(f"{len(linked)}", style="bold")
        text.append(" linked across systems, ")
        text.append(f"{len(unlinked)}", style="bold yellow" if unlinked else "bold")
        text.append(f" unlinked {'account' if len(unlinked) == 1 else 'accounts'}, each a person of its own "
                    "(a conflict across systems is invisible for them)\n")
        text.append(f"{accounts}", style="bold")
        text.append(" human accounts: " + ", ".join(f"{safe_text(k)} {v}" for k, v in sorted(by_system.items())))
        text.append("\n")
        if external:
            text.append(f"{len(external)}", style="bold")
            text.append(f" {'person' if len(external) == 1 else 'people'} linked by an email outside the "
                        "corporate domains\n")
        for person in unlinked[:5]:
            text.append("  · ", style="dim")
            text.append(safe_text(person_label(person), limit=60))
            text.append("\n")
        if len(unlinked) > 5:
            text.append(f"  … and {len(unlinked) - 5} more (4 People, filter linked:unlinked)\n", style="dim")
        if identities.roster.configured:
            text.append_text(roster_lines(triage))
        text.rstrip()
        return text


def roster_lines(triage: Triage) -> Text:
    """Who should have access: leavers who still hold some, orphans, movers, unknown statuses."""
    analysis = triage.analysis
    open_ = [f for f in analysis.findings if f.rule.kind == "roster" and not f.covered]
    leavers = [f for f in open_ if f.rule.condition == "leaver"]
    text = Text("\n")
    text.append(f"{len(leavers)}", style="bold white on red" if leavers else "bold green")
    text.append(f" {'leaver' if len(leavers) == 1 else 'leavers'} still holding access")
    for f in leavers[:4]:
        days = f.facts.get("days_since_leaving")
        text.append("\n  · ", style="dim")
        text.append(safe_text(f.subject_label, limit=40), style="bold red")
        text.append(f" left {days} days ago" if days is not None else " has left", style="red")
        text.append(f", {len(f.holdings)} capabilities", style="dim")
    if len(leavers) > 4:
        text.append(f"\n  … and {len(leavers) - 4} more (2 Conflicts, filter rule:FE-ROS-001)", style="dim")
    counts = Counter(f.rule.condition for f in open_)
    statuses = Counter(p.status for p in analysis.identities.people.values())
    one = {"orphan": ("account belongs", "accounts belong"), "mover": ("mover keeps", "movers keep"),
           "group-drift": ("IdP group differs from the team it feeds", "IdP groups differ from the teams they feed")}
    words = {k: one[k][0] if counts[k] == 1 else one[k][1] for k in one}
    text.append(f"\n{counts['orphan']} {words['orphan']} to nobody in the roster · {counts['mover']} "
                f"{words['mover']} their old team's access · {counts['group-drift']} {words['group-drift']}")
    if statuses.get("unknown"):
        text.append(f"\n{statuses['unknown']} people of unknown status: an identity source could not be read",
                    style="bold yellow")
    return text


class FindingsPanel(OverviewPanel):
    TITLE = "Findings by severity"

    def render_triage(self, triage: Triage) -> RenderableType:
        counts = severity_counts(triage.analysis.findings)
        top = max((o for o, _ in counts.values()), default=0) or 1
        table = Table.grid(padding=(0, 1))
        table.add_column(width=9)
        table.add_column(justify="right", width=5)
        table.add_column(width=24)
        table.add_column()
        for severity, (open_, excepted) in counts.items():
            bar = "█" * max(1 if open_ else 0, round(open_ / top * 24))
            table.add_row(Text(severity, style=SEVERITY_STYLE.get(severity, "")), str(open_),
                          Text(bar, style=SEVERITY_STYLE.get(severity, "")),
                          Text(f"+{excepted} excepted" if excepted else "", style="dim"))
        total_open = sum(o for o, _ in counts.values())
        total_excepted = sum(e for _, e in counts.values())
        conflicts = sum(1 for f in triage.analysis.findings if f.rule.kind == "conflict" and not f.covered)
        proven = sum(1 for f in triage.analysis.findings if f.rule.kind == "activity" and not f.covered)
        foot = Text(f"{total_open} open ({conflicts} separation-of-duties conflicts"
                    + (f", {proven} proven in the review period" if proven else "")
                    + f"), {total_excepted} excepted · 2 Conflicts", style="")
        population = triage.analysis.changes
        if population is not None:
            counts_ = population.counts()
            foot.append(f"\nReview period {population.period.label() if population.period else ''}: "
                        f"{len(population.rows)} production changes, ")
            foot.append(f"{counts_['not independent']} not independent",
                        style="bold red" if counts_["not independent"] else "")
            foot.append(f", {counts_['unknown']} unknown · 7 Changes")
        return Group(table, Text(""), foot)


class DriftPanel(OverviewPanel):
    TITLE = "Drift since the previous snapshot"
    LISTED = 6
    DRAWN_IN_WORKER = False  # drift arrives later, on its own; a few lines

    def render_triage(self, triage: Triage) -> RenderableType:
        if triage.previous_id is None:
            return Text("This is the first snapshot: nothing to compare with yet.", style="italic")
        if triage.drift is None:
            return Text(f"Comparing with snapshot {triage.previous_id}…", style="italic")
        d = triage.drift
        before = next((i for i in triage.snapshots if i.id == d.from_id), None)
        head = Text(f"From snapshot {d.from_id}" + (f" ({when(before.taken_at)})" if before else "") +
                    f" to {d.to_id}\n")
        table = Table.grid(padding=(0, 2))
        table.add_column(width=14)
        table.add_column(justify="right")
        table.add_column(justify="right")
        table.add_row(Text("", style="bold"), Text("added", style="bold"), Text("removed", style="bold"))
        for name, added, removed in (("grants", d.grants_added, d.grants_removed),
                                     ("capabilities", d.capabilities_added, d.capabilities_removed),
                                     ("findings", d.findings_added, d.findings_removed)):
            table.add_row(name, Text(f"+{len(added)}", style="green" if added else "dim"),
                          Text(f"−{len(removed)}", style="red" if removed else "dim"))
        lines = Text()
        changes = [("+", f) for f in d.findings_added] + [("−", f) for f in d.findings_removed]
        for sign, f in changes[:self.LISTED]:
            lines.append(f"\n{sign} ", style="bold green" if sign == "+" else "bold red")
            lines.append(f"{f.rule.id} ", style=SEVERITY_STYLE.get(f.severity, ""))
            lines.append(safe_text(f"{f.subject_label} · {f.scope}", limit=70))
        if len(changes) > self.LISTED:
            lines.append(f"\n… and {len(changes) - self.LISTED} more", style="dim")
        if d.empty:
            lines.append("\nNo changes.", style="italic")
        return Group(head, table, lines)

    def show_drift(self, triage: Triage) -> None:
        self.show(triage)


class EmergencyPanel(OverviewPanel):
    """Declared emergency paths, their uses in the period (those with a finding listed), and
    time-bound access: kept to a few lines, it stands under the findings."""

    TITLE = "Emergency and time-bound access"
    LISTED = 3

    def render_triage(self, triage: Triage) -> RenderableType:
        analysis = triage.analysis
        found = analysis.emergency
        text = Text()
        if not found.paths and not found.timed:
            text.append("No emergency path is declared ([[break_glass]], docs/emergency.md); nothing is time-bound.",
                        style="italic")
            return text
        holders: dict[str, set[str]] = {p.name: set() for p in found.paths}
        for holding in analysis.holdings():
            if holding.emergency:
                for name in analysis.marks_of(holding).emergency:
                    holders.setdefault(name, set()).add(holding.person)
        for path in found.paths:
            uses = [u for u in found.uses if u.path == path.name]
            flagged = sum(1 for u in uses if u.problems)
            reach = len(holders.get(path.name, ()))
            text.append("⚑ ", style=EMERGENCY_STYLE)
            text.append(safe_text(path.name, limit=30), style="bold")
            text.append(f"  {len(uses)} use{'s' if len(uses) != 1 else ''}")
            if flagged:
                text.append(f", {flagged} with a finding", style="bold red")
            text.append(f" · {reach} {'person' if reach == 1 else 'people'} only through it")
            if not path.matched:
                text.append(" · matches nothing in this snapshot", style="yellow")
            text.append("\n")
        flagged_uses = [u for u in found.uses if u.problems]
        for use in flagged_uses[: self.LISTED]:
            text.append(f"  {use.start[:16].replace('T', ' ')} ", style="dim")
            text.append(safe_text(use.who.label, limit=28))
            text.append(f" · {duration_text(max(use.duration_s, use.active_s))} · ")
            text.append("; ".join(_PROBLEM_WORD.get(kind, kind) for kind, _ in use.problems), style="red")
            text.append("\n")
        if len(flagged_uses) > self.LISTED:
            text.append(f"  … and {len(flagged_uses) - self.LISTED} more\n", style="dim")
        expired = len(found.expired)
        text.append(f"{len(found.timed)}", style=TIME_BOUND_STYLE)
        text.append(" time-bound")
        if expired:
            text.append(f" ({expired} expired, still in place)", style="bold yellow")
        if found.uses:
            text.append(" · review the uses: 6, ctrl+n, scope emergency", style="dim")
        return text


_PROBLEM_WORD = {"emergency-use-without-ticket": "no ticket", "emergency-use-too-long": "too long",
                 "emergency-use-not-allowed": "not allowed"}
