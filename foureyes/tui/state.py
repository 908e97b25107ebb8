"""What the TUI shows, computed off the UI thread: the loaded snapshot's analysis and its rows.

`load_triage` asks the workspace for one analysed snapshot; the row builders turn findings,
people, gaps and matrix cells into `Row`s. No Textual here: workers and benchmarks call it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Iterator

from ..config import Config
from ..drift import Drift
from ..graph import Holding, Step
from ..model import CAPABILITIES, SEVERITIES, Grant, Person, SnapshotInfo, severity_rank
from ..rules import Finding
from ..textsafe import safe_text
from ..workspace import Analysis, Workspace
from .rows import Column, Row, make_row

# Snapshots up to this many grants get their whole permission graph at once (every route of a
# capability in the detail panes); larger ones build it when a view first needs it.
WHOLE_GRAPH_UP_TO = 50_000
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
SYSTEM_STYLE = {"github": "magenta", "aws": "dark_orange", "gcp": "dodger_blue2", "ci": "green", "person": "bold"}
EMERGENCY_STYLE = "bold orchid"  # reached only through a declared break-glass path
TIME_BOUND_STYLE = "cyan"  # expires
CAPABILITY_STYLE = {
    "code.push": "green",
    "code.merge_unreviewed": "bold yellow",
    "code.approve": "cyan",
    "deploy.run": "bold red",
    "deploy.approve": "magenta",
    "access.admin": "bold red",
}


ROSTER_STYLE = {"terminated": "bold white on red", "suspended": "bold white on red", "unknown": "bold yellow",
                "not in roster": "yellow", "active": "green"}


def roster_style(status: str) -> str:
    """A leaver is unmistakable: white on red wherever a person's roster status shows."""
    return ROSTER_STYLE.get(status, "")


def roster_word(person: Person | None) -> str:
    """The roster status as a cell shows it ("" without a roster)."""
    if person is None or person.roster is None:
        return ""
    return "LEFT" if person.is_leaver else "no record" if not person.roster.in_roster else person.status


def when(iso: str) -> str:
    """``2026-11-02T08:00:00+00:00`` as ``2026-11-02 08:00 UTC`` (stored time, never the clock)."""
    if not iso:
        return "unknown time"
    text = safe_text(iso)
    date, _, rest = text.partition("T")
    if not rest:
        return text
    clock = rest[:5]
    zone = rest[8:] if len(rest) > 8 else ""
    zone = "UTC" if zone in ("+00:00", "Z", "") else zone.lstrip(":")
    return f"{date} {clock} {zone}".strip()


def person_label(person: Person | None, key: str = "") -> str:
    if person is None:
        return key
    return name_label(person.display_name, person.linked, person.key)


def name_label(name: str, linked: bool, key: str) -> str:
    """A person's label from their name: an unlinked account's says which one it is."""
    return name if linked else f"{name} ({key})"


def chain(steps: Iterable[Step]) -> str:
    """A path on one line: ``Paul Platt → team platform → … → deploy.run``."""
    return " → ".join(s.node for s in steps if s.kind != "account")


# ---------------------------------------------------------------- the loaded snapshot


@dataclass
class Triage:
    """One analysed snapshot, the list of snapshots, and (later) drift against the one before."""

    info: SnapshotInfo
    snapshots: list[SnapshotInfo]
    analysis: Analysis
    config: Config
    previous_id: int | None = None
    drift: Drift | None = None
    warnings: list[str] = field(default_factory=list)
    search_index: list[Row] | None = None  # built on the first search

    @property
    def snapshot_id(self) -> int:
        return self.info.id

    def __repr__(self) -> str:  # the default would print the whole analysis
        return f"<Triage snapshot {self.info.id if self.info else '?'}>"

    @cached_property
    def findings_by_person(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = defaultdict(list)
        for finding in self.analysis.findings:
            if finding.person:
                out[finding.person].append(finding)
        return out

    @cached_property
    def teams(self) -> list[str]:
        """GitHub team slugs, for the matrix's team filter."""
        return sorted({key.rsplit("/", 1)[-1] for key in self.analysis.team_keys()})

    @cached_property
    def apps(self) -> list[str]:
        names = {a.name for a in self.config.apps}
        names |= {r.app for r in self.analysis.snapshot.resources.values() if r.app}
        return sorted(names)

    @cached_property
    def tiers(self) -> list[str]:
        """Tiers in the order the config lists them, then any others the snapshot uses, then "any"."""
        configured = list(self.config.tiers)
        used = {r.tier for r in self.analysis.snapshot.resources.values() if r.tier}
        extra = sorted(used - set(configured), key=lambda t: (t != "production", t))
        return configured + extra + ["any"]

    def warm(self) -> None:
        """Build the lazy indexes now (in the worker), not on the UI thread."""
        _ = self.findings_by_person, self.teams, self.apps, self.tiers


def load_triage(workspace: Workspace, ref: int | str | None,
                progress: Callable[[str], None] = lambda message: None) -> Triage | None:
    """Resolve one snapshot and open its analysis (stored beside it, else computed and stored);
    None when the store holds none."""
    snapshots = workspace.snapshots()
    if not snapshots:
        return None
    snapshot_id = workspace.resolve(ref)
    info = next(i for i in snapshots if i.id == snapshot_id)
    progress(f"Reading the analysis of snapshot {snapshot_id}…")
    # exceptions approved in campaigns count here as they do in `foureyes check` (the workspace adds them)
    analysis = workspace.analysis(snapshot_id, progress=progress)
    return _triage(workspace, info, snapshots, analysis)


def _triage(workspace: Workspace, info: SnapshotInfo, snapshots: list[SnapshotInfo], analysis: Analysis) -> Triage:
    if sum(s.grants for s in info.sources) <= WHOLE_GRAPH_UP_TO:
        _ = analysis.graph  # small: every route of a capability is at hand from the start
    triage = Triage(info=info, snapshots=snapshots, analysis=analysis, config=workspace.config,
                    previous_id=workspace.previous_id(info.id))
    triage.warm()
    return triage


def stored_triage(workspace: Workspace, ref: int | str | None) -> Triage | None:
    """The snapshot's stored analysis without computing anything: current, or the newest one
    marked stale (`Analysis.stale` says what changed); None when there is none."""
    snapshots = workspace.snapshots()
    if not snapshots:
        return None
    snapshot_id = workspace.resolve(ref)
    analysis = workspace.stored_analysis(snapshot_id)
    if analysis is None:
        return None
    return _triage(workspace, next(i for i in snapshots if i.id == snapshot_id), snapshots, analysis)


def load_drift(workspace: Workspace, triage: Triage) -> Drift | None:
    """Drift from the snapshot before this one (None for the first snapshot)."""
    if triage.previous_id is None:
        return None
    return workspace.drift_from_previous(triage.analysis)


# ---------------------------------------------------------------- conflicts

# Each table says what matters most (priority 0 is never hidden) and how it gives way (rows.Column).
CONFLICT_COLUMNS = (
    Column("severity", "Severity", 8, min_width=8, priority=1),
    Column("rule", "Rule", whole=True, priority=0),
    Column("title", "Title", min_width=30, priority=0, grow=3),
    Column("subject", "Person or resource", min_width=16, priority=0, grow=2),
    Column("scope", "App or repo", min_width=12, priority=3, grow=1),
    Column("systems", "Systems", min_width=6, priority=4),
    Column("status", "Status", 8, min_width=8, priority=2),
)
CONFLICT_FIELDS = ("severity", "rule", "person", "app", "repo", "system", "status", "title", "kind")


def finding_status(finding: Finding) -> str:
    if finding.waiver is not None:
        return "excepted"
    return "expired" if finding.expired_waivers else "open"


def finding_systems(analysis: Analysis, finding: Finding) -> list[str]:
    if finding.holdings:
        return sorted({h.system for h in finding.holdings})
    if finding.fact is not None:  # what happened: the repository's system (GitHub)
        return ["github"]
    return [finding.subject.split(":", 1)[0]]


def finding_scope(analysis: Analysis, finding: Finding) -> str:
    """Where a finding applies, as an app or repo where there is one."""
    if finding.person:
        return finding.scope
    resource = analysis.snapshot.resources.get(finding.subject)
    if resource is not None:
        if resource.app:
            return f"app:{resource.app}"
        repo = resource.id if resource.kind == "repo" else resource.parent.removeprefix("github:repo:")
        return f"repo:{repo}" if resource.system == "github" else resource.label
    principal = analysis.snapshot.principals.get(finding.subject)
    home = analysis.snapshot.resources.get(principal.home) if principal is not None else None
    return f"app:{home.app}" if home is not None and home.app else (home.label if home else "")


def conflict_rows(analysis: Analysis) -> list[Row]:
    return list(iter_conflict_rows(analysis))


def iter_conflict_rows(analysis: Analysis, first: int = 0) -> Iterator[Row]:
    """The rows in table order, one at a time (the first screenful shows before the rest is built);
    the people of the ``first`` rows are named from a read of them alone, the rest from everyone's."""
    findings = sorted(analysis.findings, key=lambda f: (-severity_rank(f.severity), f.rule.id, f.subject_label,
                                                        f.scope))
    names = analysis.person_names(f.person for f in findings[:first] if f.person)
    for n, f in enumerate(findings):
        if not f.person:
            subject = f.subject_label
        elif n < first:
            name = names.get(f.person)
            subject = name_label(*name, f.person) if name is not None else f.subject
        else:
            subject = person_label(analysis.identities.people.get(f.person), f.subject)
        scope = finding_scope(analysis, f)
        systems = finding_systems(analysis, f)
        status = finding_status(f)
        repos = {h.repo for h in f.holdings if h.repo}
        yield make_row(
            f.id,
            (f.severity, f.rule.id, f.rule.title, subject, scope, "+".join(systems), status),
            sort=(-severity_rank(f.severity), f.rule.id, f.rule.title.lower(), subject.lower(), scope,
                  "+".join(systems), status),
            fields={"severity": f.severity, "rule": f.rule.id, "person": f"{f.person} {subject}",
                    "app": f"{scope} {f.scope}", "repo": " ".join(sorted(repos)) + " " + scope,
                    "system": " ".join(systems), "status": status, "title": f.rule.title, "kind": f.rule.kind},
            style="dim" if status == "excepted" else "",
            cell_styles=(SEVERITY_STYLE.get(f.severity, ""),),
            data=f,
        )


# ---------------------------------------------------------------- people

PEOPLE_COLUMNS = (
    Column("name", "Name", min_width=16, priority=0, grow=1),
    Column("key", "Person", min_width=20, priority=0, grow=1),
    Column("status", "Roster", min_width=6, priority=1),
    Column("linked", "Linked", min_width=6, priority=2),
    Column("accounts", "Accounts", align="right", min_width=4, priority=3, short="Acc."),
    Column("systems", "Systems", min_width=10, priority=4),
    Column("capabilities", "Capabilities", align="right", min_width=5, priority=3, short="Caps"),
    Column("findings", "Findings", align="right", min_width=5, priority=1, short="Find."),  # open ones
)
PEOPLE_FIELDS = ("name", "person", "system", "linked", "status", "department", "manager")


def people_rows(triage: Triage) -> list[Row]:
    analysis = triage.analysis
    rows = []
    for person in analysis.identities.people.values():
        systems = sorted({a.principal.split(":", 1)[0] for a in person.accounts})
        open_findings = sum(1 for f in triage.findings_by_person.get(person.key, ()) if not f.covered)
        linked = "external" if person.external else ("yes" if person.linked else "unlinked")
        capabilities = analysis.holding_count(person.key)
        status = roster_word(person)
        record = person.roster
        rows.append(make_row(
            person.key,
            (person.display_name, person.key, status, linked, len(person.accounts), ", ".join(systems),
             capabilities, open_findings or ""),
            sort=(person.display_name.lower(), person.key, (not person.is_leaver, status), linked,
                  len(person.accounts), ",".join(systems), capabilities, open_findings),
            fields={"name": person.display_name, "person": person.key, "system": " ".join(systems),
                    "linked": linked, "status": f"{person.status} left" if person.is_leaver else person.status,
                    "department": record.department if record else "", "manager": record.manager if record else ""},
            style="bold" if open_findings else "",
            cell_styles=("", "", roster_style(person.status), "yellow" if not person.linked else ""),
            data=person,
        ))
    return rows


# ---------------------------------------------------------------- gaps

GAP_COLUMNS = (
    Column("system", "System", min_width=6, priority=1),
    Column("resource", "Resource", min_width=20, priority=0, grow=1),
    Column("reason", "What could not be read", min_width=24, priority=0, grow=2),
    Column("hides", "What it may hide", min_width=16, priority=1, grow=1),
)
GAP_FIELDS = ("system", "resource")


def gap_rows(analysis: Analysis) -> list[Row]:
    snapshot = analysis.snapshot
    rows = []
    for source in snapshot.sources:
        if source.error:
            rows.append(make_row(
                f"source:{source.name}", (source.system, f"source {source.name} (whole source)", source.error,
                                          "everything this source would have read"),
                fields={"system": source.system, "resource": source.name}, style="bold red",
                data=("source", source),
            ))
    for gap in snapshot.gaps():
        resource = snapshot.resources.get(gap.resource)
        where = resource.label if resource else (gap.resource or "(whole source)")
        rows.append(make_row(
            f"gap:{gap.key}", (gap.system, where, gap.reason, gap.hides or "not stated"),
            fields={"system": gap.system, "resource": f"{gap.resource} {where}"},
            data=("gap", gap),
        ))
    return rows


# ---------------------------------------------------------------- matrix

# Narrow terminals show the capabilities by their short names (the detail pane names them in full).
CAPABILITY_SHORT = {"code.push": "push", "code.merge_unreviewed": "unrev.", "code.approve": "approve",
                    "deploy.run": "deploy", "deploy.approve": "dep.appr", "access.admin": "admin"}
MATRIX_COLUMNS = (
    Column("name", "Person", min_width=16, priority=0, grow=1),
    Column("status", "Roster", align="center", min_width=6, priority=1),
    Column("conflict", "Conflict", align="center", min_width=5, priority=0, short="SoD"),
    *(Column(c, c, align="center", min_width=len(CAPABILITY_SHORT[c]), priority=0, short=CAPABILITY_SHORT[c])
      for c in CAPABILITIES),
)
MATRIX_FIELDS = ("name", "person", "conflict", "status", "used", "emergency")


def matrix_table_rows(triage: Triage, *, tier: str, app_name: str = "", team: str = "") -> list[Row]:
    """The core's matrix (`foureyes.matrix.matrix_rows`) as table rows; cells count resources."""
    people = triage.analysis.identities.people
    rows = []
    entries = Workspace.matrix(triage.analysis, tier=tier, team=team, app_name=app_name)
    # conflicts first, as the core orders them, then by what the reader sees: the name
    entries.sort(key=lambda e: (not e["conflict"], person_label(people.get(e["person"]), e["person"]).lower()))
    for entry in entries:
        person = people.get(entry["person"])
        label = person_label(person, entry["person"])
        counts = [len(entry["capabilities"][c]) for c in CAPABILITIES]
        used = [len(entry.get("used", {}).get(c, ())) for c in CAPABILITIES]  # used in the activity period
        # resources reached only through a declared emergency path: counted apart, never standing
        emergency = [len(entry.get("emergency", {}).get(c, ())) for c in CAPABILITIES]
        conflict = entry["conflict"]
        status = roster_word(person)
        rows.append(make_row(
            entry["person"],
            (label, status, "▲ yes" if conflict else "",
             *(_matrix_cell(n, u, e) for n, u, e in zip(counts, used, emergency))),
            sort=(label.lower(), (not (person is not None and person.is_leaver), status), 0 if conflict else 1,
                  *(-n for n in counts)),
            fields={"name": label, "person": entry["person"], "conflict": "yes" if conflict else "no",
                    "status": (f"{person.status} left" if person.is_leaver else person.status) if person else "",
                    "used": "yes" if any(used) else "no", "emergency": "yes" if any(emergency) else "no"},
            style="bold" if conflict else "",
            cell_styles=("", roster_style(person.status if person else ""), "bold red" if conflict else "",
                         *(CAPABILITY_STYLE[c] if n else EMERGENCY_STYLE if e else "dim"
                           for c, n, e in zip(CAPABILITIES, counts, emergency))),
            data=entry,
        ))
    return rows


def _matrix_cell(standing: int, used: int, emergency: int) -> str:
    """``● 3 ✓1`` (held on 3 resources, 1 used in the period), ``⚑ 1`` (only through an emergency path)."""
    text = (f"● {standing}" + (f" ✓{used}" if used else "")) if standing else ""
    if emergency:
        text += f" ⚑{emergency}" if text else f"⚑ {emergency}"
    return text or "·"


def access_cell(analysis: Analysis, holding: Holding) -> tuple[str, str]:
    """The Access column of a capability: (text, style); empty for standing access."""
    if not (holding.emergency or holding.time_bound):
        return "", ""
    marks = analysis.marks_of(holding)
    if holding.emergency:
        return "⚑ " + (", ".join(marks.emergency) or "emergency"), EMERGENCY_STYLE
    return (f"until {marks.expires[:10]}" if marks.expires else "time-bound"), TIME_BOUND_STYLE


# ---------------------------------------------------------------- one person

ACCOUNT_COLUMNS = (
    Column("account", "Account", min_width=24, priority=0, grow=1),
    Column("system", "System", min_width=6, priority=2),
    Column("kind", "Kind", min_width=6, priority=3),
    Column("method", "Linked by", min_width=6, priority=1),
    Column("evidence", "Evidence", min_width=20, priority=1, grow=2),
)
HOLDING_COLUMNS = (
    Column("capability", "Capability", whole=True, priority=0),
    Column("resource", "Resource", min_width=18, priority=0, grow=1),
    Column("tier", "Tier", min_width=10, priority=4),
    Column("app", "App", min_width=8, priority=4),
    Column("hops", "Hops", align="right", min_width=4, priority=5),
    Column("used", "Used", align="center", min_width=4, priority=3),
    Column("access", "Access", min_width=8, priority=2),
    Column("path", "Path", min_width=36, priority=1, grow=3),
)
GRANT_COLUMNS = (
    Column("system", "System", min_width=6, priority=2),
    Column("entitlement", "Entitlement", min_width=14, priority=0, grow=1),
    Column("resource", "Resource", min_width=18, priority=0, grow=1),
    Column("holder", "Held by", min_width=14, priority=1, grow=1),
    Column("via", "Via", min_width=12, priority=3, grow=1),
)
FINDING_COLUMNS = (
    Column("severity", "Severity", 8, min_width=8, priority=1),
    Column("rule", "Rule", whole=True, priority=0),
    Column("title", "Title", min_width=30, priority=0, grow=3),
    Column("scope", "App or repo", min_width=12, priority=2, grow=1),
    Column("status", "Status", 8, min_width=8, priority=1),
)
HOLDING_FIELDS = ("capability", "resource", "tier", "app", "system", "used", "access")


def account_rows(triage: Triage, person: Person) -> list[Row]:
    principals = triage.analysis.snapshot.principals
    rows = []
    for link in person.accounts:
        principal = principals.get(link.principal)
        system = link.principal.split(":", 1)[0]
        label = f"{principal.label} ({link.principal})" if principal and principal.label != principal.id \
            else link.principal
        rows.append(make_row(link.principal, (label, system, principal.kind if principal else "?", link.method,
                                              link.evidence),
                             cell_styles=("", SYSTEM_STYLE.get(system, ""), "",
                                          "yellow" if link.method == "unlinked" else ""),
                             data=link))
    return rows


def holding_rows(triage: Triage, holdings: Iterable[Holding]) -> list[Row]:
    """Capability rows in a stable order (capability, then resource), whatever order the core keeps."""
    analysis = triage.analysis
    resources = analysis.snapshot.resources
    rank = {c: n for n, c in enumerate(CAPABILITIES)}
    holdings = list(holdings)
    analysis.prefetch_paths(holdings)  # the stored analysis reads what the paths name in a few queries

    def order(h: Holding) -> tuple[bool, bool, int, str, str, str]:
        # standing access first, then what expires, then what only an emergency path gives: apart
        resource = resources.get(h.resource)
        return (h.emergency, h.time_bound, rank.get(h.capability, 99),
                (resource.label if resource else h.resource).lower(), h.resource, h.repo)

    rows = []
    holdings = sorted(holdings, key=order)
    used = Workspace.used_holdings(analysis, holdings)  # a grant behind it used in the activity period
    for h in holdings:
        resource = analysis.snapshot.resources.get(h.resource)
        steps = analysis.path(h)
        label = resource.label if resource else h.resource
        mark = "✓" if h.key in used else ""
        access, access_style = access_cell(analysis, h)
        rows.append(make_row(
            "|".join(h.key), (h.capability, label, h.tier, h.app, len(steps) - 1, mark, access, chain(steps[1:])),
            sort=(CAPABILITIES.index(h.capability) if h.capability in CAPABILITIES else 99, label.lower(), h.tier,
                  h.app, len(steps), mark, (h.emergency, h.time_bound, access), ""),
            fields={"capability": h.capability, "resource": f"{h.resource} {label}", "tier": h.tier,
                    "app": h.app, "system": h.system, "used": "yes" if mark else "no",
                    "access": "emergency" if h.emergency else "time-bound" if h.time_bound else "standing"},
            cell_styles=(CAPABILITY_STYLE.get(h.capability, ""), "", "", "", "", "bold green", access_style),
            data=h, limit=400,
        ))
    return rows


def person_grants(triage: Triage, person: Person) -> list[Grant]:
    """Grants held by the person's accounts, and the grants behind each of their capabilities."""
    snapshot = triage.analysis.snapshot
    found: dict[str, Grant] = {g.key: g for g in snapshot.grants_of(a.principal for a in person.accounts)}
    behind = snapshot.grants_by_key({h.grant for h in triage.analysis.holdings(person.key)})
    for key in sorted(behind):
        found.setdefault(key, behind[key])
    return sorted(found.values(), key=lambda g: (g.system, g.resource, g.entitlement, g.principal))


def grant_rows(triage: Triage, grants: Iterable[Grant]) -> list[Row]:
    snapshot = triage.analysis.snapshot
    rows = []
    for g in grants:
        principal = snapshot.principals.get(g.principal)
        resource = snapshot.resources.get(g.resource)
        via = g.via + (f": {g.detail}" if g.detail and g.detail != g.via else "")
        entitlement = g.entitlement
        if g.expires:  # time-bound: its expiry beside it, in every view
            gone = g.attrs.get("expired")
            entitlement += f" · {'expired' if gone else 'until'} {g.expires[:10]}"
        rows.append(make_row(g.key, (g.system, entitlement, resource.label if resource else g.resource,
                                     principal.label if principal else g.principal, via),
                             cell_styles=(SYSTEM_STYLE.get(g.system, ""), TIME_BOUND_STYLE if g.expires else ""),
                             data=g))
    return rows


def finding_rows(triage: Triage, findings: Iterable[Finding]) -> list[Row]:
    analysis = triage.analysis
    return [make_row(f.id, (f.severity, f.rule.id, f.rule.title, finding_scope(analysis, f), finding_status(f)),
                     sort=(-severity_rank(f.severity), f.rule.id, f.rule.title, f.scope, finding_status(f)),
                     cell_styles=(SEVERITY_STYLE.get(f.severity, ""),), data=f)
            for f in sorted(findings, key=lambda f: (-severity_rank(f.severity), f.rule.id, f.scope))]


# ---------------------------------------------------------------- search everywhere

SEARCH_COLUMNS = (
    Column("kind", "Kind", whole=True, priority=0),
    Column("name", "Name", min_width=20, priority=0, grow=1),
    Column("detail", "Detail", min_width=20, priority=1, grow=2),
)
SEARCH_FIELDS = ("kind",)


def search_rows(triage: Triage) -> list[Row]:
    """People, accounts, findings, resources, rules and gaps, in that order."""
    analysis = triage.analysis
    rows: list[Row] = []
    for person in analysis.identities.people.values():
        accounts = ", ".join(a.principal for a in person.accounts)
        rows.append(make_row(f"person:{person.key}", ("person", person.display_name, f"{person.key} · {accounts}"),
                             fields={"kind": "person"}, data=("person", person.key)))
    for f in analysis.findings:
        rows.append(make_row(f"finding:{f.id}", ("finding", f"{f.rule.id} {f.subject_label}",
                                                 f"{f.severity} · {f.rule.title} · {f.scope}"),
                             fields={"kind": "finding"}, cell_styles=("", "", SEVERITY_STYLE.get(f.severity, "")),
                             data=("finding", f.id)))
    for resource in analysis.snapshot.resources.values():
        rows.append(make_row(f"resource:{resource.key}", ("resource", resource.label,
                                                          f"{resource.system} {resource.kind} · tier "
                                                          f"{resource.tier or '-'} · app {resource.app or '-'}"),
                             fields={"kind": "resource"}, data=("resource", resource.key)))
    for rule in analysis.pack:
        rows.append(make_row(f"rule:{rule.id}", ("rule", f"{rule.id} {rule.title}", f"{rule.severity} {rule.kind}"),
                             fields={"kind": "rule"}, data=("rule", rule.id)))
    for row in gap_rows(analysis):
        rows.append(make_row(f"gap:{row.key}", ("gap", row.cells[1], row.cells[2]), fields={"kind": "gap"},
                             data=("gap", row.key)))
    return rows


# ---------------------------------------------------------------- overview figures


def severity_counts(findings: Iterable[Finding]) -> dict[str, tuple[int, int]]:
    """Per severity, most severe first: (open, excepted)."""
    open_: Counter[str] = Counter()
    excepted: Counter[str] = Counter()
    for f in findings:
        (excepted if f.covered else open_)[f.severity] += 1
    return {s: (open_[s], excepted[s]) for s in reversed(SEVERITIES)}
