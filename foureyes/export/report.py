"""The evidence report of a campaign, for auditors: scope, snapshot and sources with gaps,
reviewers, decisions, exceptions, findings, the change population, emergency access (declared
paths, each use and its review), revocation follow-through and the audit head.

`gather` reads everything from the store once; `render_html` (self-contained, printable,
with an inline SVG chart) and `render_markdown` fill the templates in export/templates/.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__, review
from ..analysis import Analysis, analyze
from ..config import Config
from ..changes import Population
from ..emergency import DeclaredPath, TimedAccess, Use
from ..model import SEVERITIES, Gap, SnapshotInfo
from ..rules import Finding
from ..serialize import change_row
from ..store import Store, audit
from ..textsafe import MdSafe, md_literal, md_value, safe_multiline, safe_text
from .files import ExportFormat

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The one list of report formats: the CLI's --format choices and the TUI's export dialog.
FORMATS: tuple[ExportFormat, ...] = (ExportFormat("html", "HTML", "evidence.html"),
                                     ExportFormat("markdown", "Markdown", "evidence.md"))
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
DECIDED = (review.CERTIFY, review.REVOKE, review.EXCEPTION, review.DEFER, review.SKIPPED)
STATE_WORD = {review.PENDING: "pending", review.CERTIFY: "certified", review.REVOKE: "revoked",
              review.DEFER: "deferred", review.EXCEPTION: "exception", review.SKIPPED: "skipped"}
# colours readable on screen and paper, and told apart by more than hue (each bar segment is labelled)
COLOURS = {review.CERTIFY: "#2e7d32", review.REVOKE: "#c62828", review.EXCEPTION: "#b26a00",
           review.DEFER: "#1565c0", review.SKIPPED: "#757575"}


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class ReviewerRow:
    reviewer: str
    items: int
    decided: int
    pending: int  # pending, deferred, or an exception awaiting its second approver

    @property
    def completion(self) -> float:
        return self.decided / self.items if self.items else 1.0


@dataclass(frozen=True)
class DecisionRow:
    item: review.Item
    decision: review.Decision | None
    exception: review.ExceptionRequest | None

    @property
    def state(self) -> str:
        if self.item.state == review.EXCEPTION and self.exception is not None and \
                self.exception.status == review.EX_PENDING:
            return "exception (awaiting approval)"
        return STATE_WORD.get(self.item.state, self.item.state)

    @property
    def flags(self) -> str:
        d = self.decision
        out = []
        if d is not None and d.by_policy:
            out.append("close policy")
        if d is not None and d.reviewer_conflicted:
            out.append("conflicted reviewer")
        if d is not None and d.bulk:
            out.append("bulk")
        if self.item.is_new:
            out.append("new")
        return ", ".join(out)


@dataclass(frozen=True)
class FindingRow:
    finding: review.CampaignFinding
    status: str  # open | excepted | resolved | unverified
    note: str = ""


@dataclass(frozen=True)
class FollowRow:
    item: review.Item
    follow: review.FollowUp


@dataclass(frozen=True)
class Segment:
    decision: str
    count: int
    x: float
    width: float
    colour: str


@dataclass(frozen=True)
class Bar:
    actor: str
    total: int
    segments: tuple[Segment, ...]
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...]  # (decision word, colour)


@dataclass(frozen=True)
class ChangeSection:
    """The review period's change population (what an auditor samples) and its proven violations."""

    population: Population
    rows: tuple[tuple[str, ...], ...]  # serialize.CHANGE_COLUMNS, one row per change
    violations: tuple[Finding, ...]

    @property
    def counts(self) -> dict[str, int]:
        return self.population.counts()


@dataclass(frozen=True)
class UseRow:
    """A use of a declared emergency path in the campaign's period, and its review (an item of an
    emergency campaign on the same snapshot), when it has one."""

    use: Use
    review: review.Item | None
    campaign: int | None = None

    @property
    def state(self) -> str:
        if self.review is None:
            return "not in an emergency campaign"
        return STATE_WORD.get(self.review.state, self.review.state)


@dataclass(frozen=True)
class EmergencySection:
    """Declared emergency paths, time-bound access, and each use with its review."""

    paths: tuple[DeclaredPath, ...]
    uses: tuple[UseRow, ...]
    timed: int  # time-bound grants and assignments
    expired: tuple[TimedAccess, ...]


@dataclass(frozen=True)
class Evidence:
    campaign: review.Campaign
    snapshot: SnapshotInfo
    gaps: tuple[Gap, ...]
    progress: review.Progress
    reviewers: tuple[ReviewerRow, ...]
    decisions: tuple[DecisionRow, ...]
    undone: int
    exceptions: tuple[tuple[review.ExceptionRequest, review.Item | None], ...]
    findings: tuple[FindingRow, ...]
    findings_against: SnapshotInfo
    follow: tuple[FollowRow, ...]
    follow_counts: dict[str, int]
    chain: review.Verdict  # exactly `audit verify`'s verdict
    campaign_entries: int
    chart: Chart
    changes: ChangeSection | None = None  # None: the campaign's snapshot was taken without activity
    emergency: EmergencySection | None = None  # None: no [[break_glass]] declared and nothing time-bound
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    version: str = __version__

    @property
    def open_findings(self) -> list[FindingRow]:
        return [f for f in self.findings if f.status in ("open", "unverified")]

    @property
    def closed_findings(self) -> list[FindingRow]:
        return [f for f in self.findings if f.status in ("resolved", "excepted")]

    @property
    def verify_command(self) -> str:
        return f"foureyes audit verify --expect-head {self.chain.head.hash}"

    @property
    def anchor_command(self) -> str:
        return f"foureyes audit anchor --campaign {self.campaign.id} --file FILE"


# ---------------------------------------------------------------- gathering


def gather(store: Store, config: Config, campaign_id: int, *, today: date | None = None) -> Evidence:
    """Everything the report shows, read once; never writes. Follow-through counts the recorded
    checks and those later snapshots would add, computed but not recorded."""
    campaign = review.get_campaign(store, campaign_id)
    pending = review.pending_checks(store, config, campaign_id=campaign.id)
    items = review.items(store, campaign.id)
    by_id = {i.id: i for i in items}
    decisions = review.decisions(store, campaign_id=campaign.id)
    decision_of = {d.id: d for d in decisions}
    exceptions = review.exceptions(store, campaign_id=campaign.id)
    exception_of: dict[int, review.ExceptionRequest] = {}
    for e in exceptions:  # the latest request of each item
        exception_of[e.item_id] = e
    rows = tuple(DecisionRow(i, decision_of.get(i.decision_id or -1), exception_of.get(i.id))
                 for i in sorted(items, key=lambda i: i.id))
    follow = review.follow_through(store, campaign_id=campaign.id, unrecorded=pending)
    snapshot = store.snapshot_info(campaign.snapshot_id)
    findings, against = _findings(store, config, campaign, today=today)
    loaded = store.load_snapshot(campaign.snapshot_id)
    analysis = analyze(loaded, config, extra_waivers=review.approved_waivers(store, today=today), today=today)
    return Evidence(
        # access gaps here; those about the review period are the change population's
        campaign=campaign, snapshot=snapshot, gaps=tuple(g for g in loaded.gaps() if not g.about),
        progress=review.progress(store, campaign.id), reviewers=_reviewers(rows), decisions=rows,
        undone=sum(1 for d in decisions if d.undone),
        exceptions=tuple((e, by_id.get(e.item_id)) for e in exceptions), findings=findings,
        findings_against=against, follow=tuple(FollowRow(by_id[f.item_id], f) for f in follow if f.item_id in by_id),
        follow_counts=review.follow_through_counts(store, campaign_id=campaign.id, unrecorded=pending),
        chain=review.verify_audit(store), campaign_entries=len(audit.entries(store, campaign_id=campaign.id)),
        chart=decision_chart(rows), changes=_changes(analysis), emergency=_emergency(store, analysis),
    )


def _emergency(store: Store, analysis: Analysis) -> EmergencySection | None:
    """The uses of the campaign snapshot's period, each with its review in an emergency campaign."""
    found = analysis.emergency
    if not found.paths and not found.timed:
        return None
    reviews: dict[str, tuple[review.Item, int]] = {}
    for campaign in review.list_campaigns(store):
        if campaign.scope.kind == "emergency" and campaign.snapshot_id == analysis.snapshot.id:
            for item in review.items(store, campaign.id):
                reviews.setdefault(item.grant_key, (item, campaign.id))
    rows = []
    for use in found.uses:
        item, campaign_id = reviews.get(use.as_grant().key, (None, None))
        rows.append(UseRow(use, item, campaign_id))
    return EmergencySection(found.paths, tuple(rows), len(found.timed), found.expired)


def _changes(analysis: Analysis) -> ChangeSection | None:
    """The change population of the campaign's snapshot, when it was taken with activity."""
    if analysis.snapshot.period is None or analysis.changes is None:
        return None
    violations = tuple(sorted((f for f in analysis.findings if f.rule.kind == "activity"),
                              key=lambda f: (-SEVERITIES.index(f.severity), f.rule.id, f.scope)))
    return ChangeSection(analysis.changes, tuple(tuple(change_row(r)) for r in analysis.changes.rows), violations)


def _reviewers(rows: tuple[DecisionRow, ...]) -> tuple[ReviewerRow, ...]:
    items: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for row in rows:
        who = row.item.reviewer or "(unassigned)"
        items[who] += 1
        if row.item.state in (review.CERTIFY, review.REVOKE, review.SKIPPED) or (
                row.item.state == review.EXCEPTION and not (row.exception and row.exception.status == review.EX_PENDING)):
            decided[who] += 1
    return tuple(ReviewerRow(r, items[r], decided[r], items[r] - decided[r]) for r in sorted(items))


def _findings(store: Store, config: Config, campaign: review.Campaign, *,
              today: date | None) -> tuple[tuple[FindingRow, ...], SnapshotInfo]:
    """The campaign's conflicts, looked up in the latest snapshot: still open, excepted, or gone."""
    frozen = review.campaign_finding_records(store, campaign.id)
    latest = store.resolve(None)
    info = store.snapshot_info(latest)
    if not frozen:
        return (), info
    snapshot = store.load_snapshot(latest)
    analysis = analyze(snapshot, config, extra_waivers=review.approved_waivers(store, today=today), today=today)
    current = {f.id: f for f in analysis.findings}
    rows = []
    for f in frozen:
        now = current.get(f.id)
        if now is not None and now.waiver is not None:
            w = now.waiver
            rows.append(FindingRow(f, "excepted", f"{w.source or w.ticket or 'exception'}, approved by "
                                                 f"{w.approver or '?'}, until {w.expires.isoformat()}"))
        elif now is not None:
            rows.append(FindingRow(f, "open", f"still in snapshot {latest}"))
        elif info.failed:
            rows.append(FindingRow(f, "unverified", f"not in snapshot {latest}, but its source(s) "
                                                   f"{', '.join(info.failed)} failed"))
        else:
            rows.append(FindingRow(f, "resolved", f"not in snapshot {latest}"))
    rows.sort(key=lambda r: (-SEVERITIES.index(r.finding.severity) if r.finding.severity in SEVERITIES else 0,
                             r.finding.rule, r.finding.person))
    return tuple(rows), info


def decision_chart(rows: tuple[DecisionRow, ...], *, width: int = 640, label_width: int = 220) -> Chart:
    """Decisions per reviewer who made them, as stacked horizontal bars (the report's SVG)."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row.item.state not in DECIDED:
            continue
        d = row.decision
        actor = "close policy" if d is not None and d.by_policy else (row.item.decided_by or "?")
        per[actor][row.item.state] += 1
    top = max((sum(c.values()) for c in per.values()), default=1)
    scale = (width - label_width - 40) / top
    bars = []
    for n, actor in enumerate(sorted(per, key=lambda a: (-sum(per[a].values()), a))):
        x, segments = float(label_width), []
        for decision in DECIDED:
            count = per[actor][decision]
            if count:
                segments.append(Segment(STATE_WORD[decision], count, x, count * scale, COLOURS[decision]))
                x += count * scale
        bars.append(Bar(actor, sum(per[actor].values()), tuple(segments), 30 + n * 26))
    height = 30 + 26 * max(len(bars), 1) + 10
    legend = tuple((STATE_WORD[d], COLOURS[d]) for d in DECIDED)
    return Chart(width, height, label_width, tuple(bars), legend)


# ---------------------------------------------------------------- rendering


def _environment(autoescape: bool) -> Any:
    import jinja2  # deferred: only rendering a report needs Jinja2, not every command that imports exports

    # Every {{ … }} passes through `finalize`, so a value a template forgot to mark is still
    # neutralised: in HTML control characters become visible (Jinja then escapes the markup);
    # in Markdown anything but numbers and plain words becomes a code span.
    finalize = _html_value if autoescape else md_value
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, finalize=finalize)
    # untrusted text: one line with visible escapes, or (HTML) lines kept as lines
    env.filters["one_line"] = safe_text
    env.filters["lines"] = safe_multiline
    env.filters["lit"] = lambda value: MdSafe(md_literal(value))
    env.filters["cell"] = lambda value: MdSafe(md_literal(value, in_table=True) or "–")
    env.filters["pct"] = lambda value: f"{value * 100:.0f}%"
    env.filters["short"] = lambda value, n=16: (value or "")[:n]
    return env


def _html_value(value: Any) -> Any:
    import markupsafe  # Jinja2's own dependency, loaded with it

    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return safe_multiline(value)
    return value


def render_html(evidence: Evidence) -> str:
    """One self-contained page: inline CSS and SVG, no script, no external request."""
    return _environment(True).get_template("report.html.j2").render(e=evidence)


def render_markdown(evidence: Evidence) -> str:
    return _environment(False).get_template("report.md.j2").render(e=evidence)


def render(evidence: Evidence, fmt: str) -> str:
    if fmt == "html":
        return render_html(evidence)
    if fmt == "markdown":
        return render_markdown(evidence)
    raise ValueError(f"unknown report format {fmt!r}")
