"""The application layer: one config and one store, opened once, behind every question the CLI
and the TUI ask. Analyses (approved campaign exceptions included, once), snapshots, drift,
the matrix, who-can, campaigns and decisions, follow-through, tickets, the evidence report
and the demo organisation. The CLI and the TUI call only this, and read the values it returns.

Thread-safe: the store is one SQLAlchemy engine and each call takes its own connection, so
the TUI's workers share one `Workspace`.
"""

from __future__ import annotations

import fnmatch
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from . import review
from .analysis import Analysis, analyze, rule_pack, waivers_for
from .collect import collect, is_source_failure
from .config import DEFAULT_TIER, Config
from .connectors.base import Progress, no_progress
from .drift import Drift, compare
from .emergency import USE_VIA, duration_text
from .errors import FoureyesError, InputError, NotFound
from .export import github_issues, report, sarif, tickets
from .export.files import ExportFormat, refuse_protected, write_file
from .graph import Holding
from .identity import Identities, Suggestion, link, suggest
from .matrix import matrix_rows
from .model import SYSTEMS, Gap, Person, Snapshot, SnapshotInfo, SourceResult
from .review import Campaign, CampaignSpec, Item, ReviewerRules, Scope
from .rules import RulePack
from .rules.fixtures import CaseResult, default_fixture_files, run_fixture_file
from .store import Store, analyses, audit, now_iso, store_url
from .stored import StoredAnalysis, open_latest_stored, open_stored
from .textsafe import safe_text
from .usage import UsageIndex

TICKET_FORMATS: tuple[ExportFormat, ...] = tickets.FORMATS
REPORT_FORMATS: tuple[ExportFormat, ...] = report.FORMATS
ISSUE_WRITES: tuple[str, ...] = github_issues.WRITES

__all__ = ["Workspace", "Analysis", "Completeness", "Drift", "DriftResult", "WhoCan", "TICKET_FORMATS",
           "REPORT_FORMATS", "ISSUE_WRITES", "demo_config", "is_source_failure", "USE_VIA",
           "duration_text"]


@dataclass(frozen=True)
class Completeness:
    """What one snapshot could not read: the sources that failed (with their error) and the
    gaps. Unknown is never "no access": every data command says so before its answer."""

    snapshot: int
    failed: tuple[tuple[str, str], ...] = ()  # (source name, error)
    gaps: tuple[Gap, ...] = ()

    @classmethod
    def of(cls, snapshot: Snapshot) -> "Completeness":
        return cls(snapshot.id, tuple((s.name, s.error) for s in snapshot.sources if s.error),
                   tuple(snapshot.gaps()))

    @property
    def complete(self) -> bool:
        return not self.failed and not self.gaps

    @property
    def failed_sources(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.failed)

    @property
    def unread(self) -> tuple[Gap, ...]:
        """The gaps other than a failed source's own (which `failed` already names)."""
        return tuple(g for g in self.gaps if not is_source_failure(g))

    def to_json(self) -> dict[str, Any]:
        """``complete``, ``failed_sources`` and ``gaps``: the keys every data command's JSON carries."""
        return {"complete": self.complete, "failed_sources": list(self.failed_sources),
                "gaps": [{"system": g.system, "resource": g.resource, "reason": g.reason, "hides": g.hides}
                         for g in self.gaps]}


@dataclass(frozen=True)
class DriftResult:
    """Two analysed snapshots and what changed between them."""

    old: Analysis
    new: Analysis
    drift: Drift


@dataclass(frozen=True)
class WhoCan:
    """The people holding a capability, each with the holdings (and so the paths) behind it."""

    analysis: Analysis
    people: tuple[tuple[Person, tuple[Holding, ...]], ...]


def demo_config() -> Config:
    """The sample organisation's own tiers, apps, identity and campaign settings."""
    from .connectors import demo  # the sample organisation is built only when asked for

    return demo.demo_config()


def demo_config_text() -> str:
    """The sample organisation's config as a file would hold it (`foureyes demo --config`)."""
    from .connectors import demo  # the sample organisation is built only when asked for

    return demo.demo_config_text()


class Workspace:
    """A config and the store it names. Open it, use it, `close` it (or use it as a context manager)."""

    def __init__(self, config: Config, store: Store, *, warn: Callable[[str], None] | None = None):
        self.config = config
        self._store = store
        self._people_checked = False
        self._warn = warn or store._warn

    @classmethod
    def open(cls, config: Config, *, url: str | None = None,
             warn: Callable[[str], None] | None = None) -> "Workspace":
        """Open (and migrate) the store at ``url``, else the one the config and environment name."""
        return cls(config, Store(url or store_url(config), warn=warn), warn=warn)

    @classmethod
    def open_demo(cls, *, warn: Callable[[str], None] | None = None) -> "Workspace":
        """The sample organisation in its own database (never mixed with real snapshots), loaded."""
        from .connectors import demo  # the sample organisation is built only when asked for

        workspace = cls(demo.demo_config(), Store(demo.demo_store_url(), warn=warn), warn=warn)
        workspace.load_demo()
        return workspace

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        """The store's URL without its password."""
        return self._store.display_url

    # ------------------------------------------------------------ snapshots

    def snapshots(self) -> list[SnapshotInfo]:
        return self._store.list_snapshots()

    def resolve(self, ref: str | int | None) -> int:
        """A snapshot id from None/"latest", "previous", "latest~N" or a number."""
        return self._store.resolve(ref)

    def previous_id(self, snapshot_id: int) -> int | None:
        return self._store.previous_id(snapshot_id)

    def take_snapshot(self, sources: Sequence[str] = (), *, label: str = "", activity: bool = False,
                      since: str = "", progress: Progress = no_progress) -> tuple[SnapshotInfo, list[SourceResult]]:
        """Run the connectors (each failure becomes a gap), store one snapshot, and analyse it
        (stored beside it, so the commands and the TUI that follow read it at once); with
        ``activity``, the activity of the `[activity]` period (or ``since``) is read and stored with it."""
        period = self.config.activity_period(since=since) if activity or since else None
        results = collect(self.config, sources, progress, period=period)
        info = self._store.write_snapshot(results, label=label)
        self.prepare_snapshot(info.id)
        return info, results

    def prepare_snapshot(self, ref: str | int | None = None) -> None:
        """What the commands, the TUI and campaigns read of a snapshot, computed once: its analysis
        (stored beside it) and the content digest a campaign's creation commits to."""
        snapshot_id = self._store.resolve(ref)
        try:
            self.analysis(snapshot_id)
        except FoureyesError as error:  # the snapshot stands; the analysis waits for a fixed config
            self._warn(f"snapshot {snapshot_id} was stored but not analysed: {error}")
        self._store.remember_snapshot_digest(snapshot_id)

    def completeness(self, of: "Analysis | Snapshot | str | int | None" = None) -> Completeness:
        """What a snapshot (an analysed one, a loaded one, or one named) could not read."""
        if isinstance(of, Analysis):
            return Completeness.of(of.snapshot)
        if isinstance(of, Snapshot):
            return Completeness.of(of)
        info = self._store.snapshot_info(self._store.resolve(of))
        return Completeness(info.id, tuple((s.name, s.error) for s in info.sources if s.error),
                            tuple(self._store.gaps(info.id)) if info.gap_count else ())

    def load_demo(self) -> list[tuple[SnapshotInfo, bool]]:
        """Store the sample organisation's two snapshots (once): (info, stored now) each."""
        from .connectors import demo  # the sample organisation is built only when asked for

        return list(demo.load_into(self._store))

    # ------------------------------------------------------------ analysis

    def analysis(self, ref: str | int | None = None, *, exception_files: Sequence[str] = (),
                 today: date | None = None, progress: Callable[[str], None] = lambda text: None) -> Analysis:
        """One snapshot's analysis: the one stored beside it when its inputs are unchanged, else
        computed now and stored (`foureyes.stored`). Exceptions approved in campaigns count like
        those in exception files (`check`, `conflicts`, the TUI and drift all see the same findings)."""
        pack = self.rule_pack()
        snapshot_id = self._store.resolve(ref)
        found = open_stored(self._store, self.config, snapshot_id, pack=pack,
                            waivers=self._waivers(pack, exception_files, today), today=today,
                            baseline=review.mover_baseline(self._store, snapshot_id), progress=progress)
        assert found is not None
        return found

    def stored_analysis(self, ref: str | int | None = None, *, today: date | None = None) -> StoredAnalysis | None:
        """The stored analysis for today's inputs without computing one; else the newest stored
        one marked `stale` with what changed (the TUI shows it while the current one is computed);
        None when the snapshot has none."""
        snapshot_id = self._store.resolve(ref)
        pack = self.rule_pack()
        waivers = self._waivers(pack, (), today)
        baseline = review.mover_baseline(self._store, snapshot_id)
        return (open_stored(self._store, self.config, snapshot_id, pack=pack, waivers=waivers, today=today,
                            baseline=baseline, compute=False)
                or open_latest_stored(self._store, self.config, snapshot_id, pack=pack, waivers=waivers, today=today,
                                      baseline=baseline))

    def forget_analyses(self, ref: str | int | None = None) -> int:
        """Drop the stored analyses (of one snapshot, or all): recomputed when next asked for."""
        return analyses.delete_all(self._store, None if ref is None else self._store.resolve(ref))

    def _waivers(self, pack: RulePack, exception_files: Sequence[str], today: date | None) -> list[Any]:
        return (waivers_for(self.config, pack, extra_files=exception_files)
                + review.approved_waivers(self._store, today=today))

    def load_snapshot(self, ref: str | int | None = None) -> Snapshot:
        return self._store.load_snapshot(self._store.resolve(ref))

    def analyse_snapshot(self, snapshot: Snapshot, *, exception_files: Sequence[str] = (),
                         today: date | None = None) -> Analysis:
        """A loaded snapshot analysed, with the approved campaign exceptions (the one place they are added)."""
        return analyze(snapshot, self.config, exception_files=exception_files,
                       extra_waivers=review.approved_waivers(self._store, today=today), today=today,
                       baseline=review.mover_baseline(self._store, snapshot.id))

    def changes(self, ref: str | int | None = None) -> Analysis:
        """A snapshot analysed with its change population (`analysis.changes`); refused with what
        to run when the snapshot was taken without activity."""
        analysis = self.analysis(ref)
        if analysis.changes is None:
            raise NotFound(f"snapshot {analysis.snapshot.id} was taken without activity; run "
                           "`foureyes snapshot --activity` (the period is [activity] in the config)")
        return analysis

    def rule_pack(self) -> RulePack:
        return rule_pack(self.config)

    def rule_fixture_results(self, files: Sequence[str] = ()) -> list[CaseResult]:
        """Run rule fixtures (must fire / must not fire); default: every fixture of the pack."""
        pack = self.rule_pack()
        return [result for path in (list(files) or [str(p) for p in default_fixture_files()])
                for result in run_fixture_file(path, pack)]

    def identities(self, ref: str | int | None = None) -> tuple[Snapshot, Identities]:
        """A snapshot's accounts linked into people."""
        snapshot = self.load_snapshot(ref)
        return snapshot, link(snapshot, self.config)

    @staticmethod
    def link_suggestions(snapshot: Snapshot, identities: Identities) -> list[Suggestion]:
        """Possible links for unlinked accounts, with their evidence (never applied)."""
        return suggest(snapshot, identities)

    def drift(self, from_ref: str | int | None = None, to_ref: str | int | None = None) -> DriftResult:
        """What changed from one snapshot (default: the one before ``to_ref``) to another (default: latest)."""
        to_id = self._store.resolve(to_ref)
        if from_ref is None:
            from_id = self._store.previous_id(to_id)
            if from_id is None:
                raise NotFound(f"snapshot {to_id} is the first one; there is nothing to compare it with")
        else:
            from_id = self._store.resolve(from_ref)
        old, new = self.analysis(from_id), self.analysis(to_id)
        return DriftResult(old, new, compare(old, new))

    def drift_from_previous(self, analysis: Analysis) -> Drift | None:
        """An analysed snapshot compared with the one before it (None for the first)."""
        previous = self._store.previous_id(analysis.snapshot.id)
        return None if previous is None else compare(self.analysis(previous), analysis)

    @staticmethod
    def matrix(analysis: Analysis, *, tier: str, conflicts_only: bool = False, team: str = "",
               app_name: str = "", counts: bool = False) -> list[dict[str, Any]]:
        """People × capabilities (`foureyes.matrix`), the same cells for the CLI and the TUI
        (`check_tier` first for a tier a user typed); ``counts``: how many resources, not which."""
        return matrix_rows(analysis, tier=tier, conflicts_only=conflicts_only, team=team, app_name=app_name,
                           counts=counts)

    # ------------------------------------------------------------ names a user types

    def known_tiers(self, analysis: Analysis | None = None) -> list[str]:
        """The config's tiers, the default one, and any tier a resource of the snapshot has."""
        found = dict.fromkeys([*self.config.tiers, DEFAULT_TIER])
        if analysis is not None:
            found.update(dict.fromkeys(sorted({r.tier for r in analysis.snapshot.resources.values() if r.tier})))
        return list(found)

    def check_tier(self, tier: str, analysis: Analysis | None = None) -> None:
        """A mistyped tier would answer "nobody": refuse it (exit 2), listing the known ones."""
        known = self.known_tiers(analysis)
        if tier not in known:
            raise InputError(f"unknown tier {tier!r}; known tiers: {', '.join(known)}")

    def check_rules(self, rule_ids: Iterable[str]) -> None:
        """Rule ids that are not in the pack in effect are refused (exit 2), listing them."""
        known = [r.id for r in self.rule_pack()]
        unknown = [r for r in rule_ids if r not in known]
        if unknown:
            raise InputError(f"unknown rule {unknown[0]!r}; rules in effect: {', '.join(known)}")

    def check_systems(self, systems: Iterable[str], snapshot: str | int | None = None) -> None:
        """System names that neither foureyes nor a source of the snapshot uses are refused
        (exit 2), listing the known ones."""
        info = self._store.snapshot_info(self._store.resolve(snapshot))
        known = list(dict.fromkeys([*SYSTEMS, *sorted({s.system for s in info.sources})]))
        unknown = [s for s in systems if s not in known]
        if unknown:
            raise InputError(f"unknown system {unknown[0]!r}; known systems: {', '.join(known)}")

    @staticmethod
    def used_holdings(analysis: Analysis, holdings: Iterable[Holding]) -> set[tuple[str, str, str, str]]:
        """Keys of the holdings whose grant was used in the snapshot's activity period (`foureyes.usage`)."""
        period = analysis.snapshot.period
        if period is None:
            return set()
        index = UsageIndex(analysis.snapshot)
        grants = {g.key: g for g in analysis.snapshot.grants()}
        return {h.key for h in holdings
                if h.grant in grants and index.used_in_period(grants[h.grant], (h.account,), period.start)}

    @staticmethod
    def team_members(analysis: Analysis, team: str) -> set[str]:
        """Person keys of a GitHub team, child teams included (slug, org/slug, id or key)."""
        return analysis.team_members(team)

    def who_can(self, capability: str, *, tier: str | None = None, scope: str = "",
                snapshot: str | int | None = None) -> WhoCan:
        """People holding ``capability`` (on ``tier``; on ``scope``: a resource key or glob,
        app:NAME or repo:OWNER/REPO), in person order. An unknown tier is refused (exit 2)."""
        analysis = self.analysis(snapshot)
        if tier:
            self.check_tier(tier, analysis)
        by_person: dict[str, list[Holding]] = defaultdict(list)
        for person, held in analysis.holdings_of(capability).items():
            for holding in held:
                if (not tier or holding.tier == tier) and _in_scope(holding, scope, analysis):
                    by_person[person].append(holding)
        people = analysis.identities.people
        # each holding is shown with its path: what those name is read in a few queries, not one per path
        analysis.prefetch_paths(h for held in by_person.values() for h in held)
        return WhoCan(analysis, tuple((people[k], tuple(by_person[k])) for k in sorted(by_person)))

    # ------------------------------------------------------------ campaigns

    def campaigns(self, status: str | None = None) -> list[Campaign]:
        return review.list_campaigns(self._store, status=status)

    def campaign(self, campaign_id: int) -> Campaign:
        return review.get_campaign(self._store, campaign_id)

    def choose_campaign(self, campaign_id: int | None = None) -> Campaign:
        """The campaign named, else the one open campaign; none or several open is refused
        with the list (`review.SeveralOpen`): the one rule for the CLI and the TUI."""
        return review.choose_campaign(self._store, campaign_id)

    def campaign_spec(self, *, name: str, scope: Scope | None = None, reviewers: ReviewerRules | None = None,
                      due: date | None = None, close_policy: str | None = None) -> CampaignSpec:
        """A campaign spec with the config's [campaigns] defaults for whatever is not given."""
        return review.spec_from_config(self.config, name=name, scope=scope, reviewers=reviewers, due=due,
                                       close_policy=close_policy)

    def create_campaign(self, spec: CampaignSpec, *, actor: str, snapshot: str | int | None = None) -> Campaign:
        return review.create_campaign(self._store, self.config, spec, actor=actor,
                                      snapshot_id=self._store.resolve(snapshot), analysis_of=self.analysis)

    def create_from_template(self, template: str, *, actor: str,
                             snapshot: str | int | None = None) -> tuple[Campaign, bool]:
        """This period's campaign of a template, created now (True) or found (False)."""
        return review.create_from_template(self._store, self.config, template, actor=actor,
                                           snapshot_id=self._store.resolve(snapshot), analysis_of=self.analysis)

    def close_campaign(self, campaign_id: int, *, actor: str, force: bool = False,
                       reason: str = "") -> tuple[Campaign, list[int]]:
        self._freeze_people()
        return review.close_campaign(self._store, campaign_id, actor=actor, force=force, reason=reason)

    def campaign_summaries(self, status: str | None = review.OPEN) -> list[review.CampaignSummary]:
        """Campaigns with progress and follow-through (recorded checks; see `check_revocations`)."""
        return review.summaries(self._store, status=status)

    def progress(self, campaign_id: int) -> review.Progress:
        return review.progress(self._store, campaign_id)

    def reviewer_counts(self, campaign: int | review.Campaign) -> dict[str, Any]:
        """Reviewer -> item states; of a campaign this process has just created (given as the
        `Campaign` its creation returned), as its items were written, without reading them back."""
        if isinstance(campaign, review.Campaign):
            counted = review.created_counts(campaign)
            if counted is not None:
                return counted
            campaign = campaign.id
        return review.reviewer_counts(self._store, campaign)

    # ------------------------------------------------------------ items and decisions

    def items(self, campaign_id: int, *, reviewer: str | None = None,
              where: review.ItemFilter | None = None) -> list[Item]:
        """A campaign's items in queue order (one reviewer's, by any spelling of theirs; those
        matching ``where``)."""
        self._freeze_people()
        return self._matching(campaign_id, review.items(self._store, campaign_id, reviewer=reviewer), where)

    def reviewer_queue(self, campaign: Campaign, reviewer: str, *,
                       where: review.ItemFilter | None = None) -> list[Item]:
        """What a reviewer may decide (everything not about them, for the fallback reviewer)."""
        self._freeze_people()
        return self._matching(campaign.id, review.reviewer_queue(self._store, campaign, reviewer), where)

    def who_is(self, campaign_id: int, spelling: str) -> review.Who:
        """The person a spelling (email, linked account, alias) names in a campaign."""
        self._freeze_people()
        return review.who_is(self._store, campaign_id, spelling)

    def _freeze_people(self) -> None:
        """Open campaigns created before identities were frozen with campaigns get theirs now
        (once per workspace: an audited step), so every guard sees one notion of a person."""
        if self._people_checked:
            return
        for campaign in review.list_campaigns(self._store, status=review.OPEN):
            if not campaign.people_frozen:
                review.freeze_people(self._store, self.config, campaign.id)
        self._people_checked = True

    def _matching(self, campaign_id: int, items: list[Item], where: review.ItemFilter | None) -> list[Item]:
        if not where:
            return items
        # `state:awaiting`: the item's exception waits for its second approver, as the TUI shows it
        awaiting = {e.item_id for e in review.exceptions(self._store, campaign_id=campaign_id,
                                                         status=review.EX_PENDING)}
        return [i for i in items if where.matches(i, awaiting=i.id in awaiting)]

    def item(self, item_id: int) -> Item:
        return review.get_item(self._store, item_id)

    def decisions(self, *, campaign_id: int | None = None, item_id: int | None = None,
                  include_undone: bool = True) -> list[review.Decision]:
        return review.decisions(self._store, campaign_id=campaign_id, item_id=item_id, include_undone=include_undone)

    def exceptions(self, *, campaign_id: int | None = None, status: str | None = None) -> list[review.ExceptionRequest]:
        return review.exceptions(self._store, campaign_id=campaign_id, status=status)

    def current_exception(self, item_id: int) -> review.ExceptionRequest | None:
        return review.current_exception(self._store, item_id)

    def approvable_by(self, campaign: Campaign, actor: str) -> list[tuple[review.ExceptionRequest, Item]]:
        self._freeze_people()
        return review.approvable_by(self._store, campaign, actor)

    def notes(self, item_id: int) -> list[review.Note]:
        return review.notes(self._store, item_id)

    def decide(self, item_id: int, decision: str, *, actor: str, reason: str = "", expires: date | None = None,
               note: str = "", expect_version: int | None = None) -> review.Outcome:
        """One decision; it replaces the item's earlier one (the reviewer named this item)."""
        self._freeze_people()
        return review.decide(self._store, item_id, decision, actor=actor, reason=reason, expires=expires, note=note,
                             expect_version=expect_version)

    def decide_many(self, item_ids: Sequence[int], decision: str, *, actor: str, reason: str = "",
                    expires: date | None = None, note: str = "", overwrite: bool = False) -> review.BulkOutcome:
        """The same decision on many items; those decided already are skipped unless ``overwrite``."""
        self._freeze_people()
        return review.decide_many(self._store, item_ids, decision, actor=actor, reason=reason, expires=expires,
                                  note=note, overwrite=overwrite)

    def undo_last(self, campaign_id: int, *, actor: str) -> list[review.Outcome]:
        self._freeze_people()
        return review.undo_last(self._store, campaign_id, actor=actor)

    def add_note(self, item_id: int, text: str, *, actor: str) -> review.Note:
        return review.add_note(self._store, item_id, text, actor=actor)

    def approve_exception(self, exception_id: int, *, actor: str, note: str = "") -> review.Outcome:
        self._freeze_people()
        return review.approve_exception(self._store, exception_id, actor=actor, note=note)

    def reject_exception(self, exception_id: int, *, actor: str, reason: str) -> review.Outcome:
        self._freeze_people()
        return review.reject_exception(self._store, exception_id, actor=actor, reason=reason)

    # ------------------------------------------------------------ follow-through and audit

    def check_revocations(self, campaign_id: int | None = None) -> int:
        """The follow-through step, and the only one that writes checks: revoked grants against
        every later snapshot not checked yet. Returns how many checks were recorded."""
        return review.check_revocations(self._store, self.config, campaign_id=campaign_id)

    def follow_through_counts(self, campaign_id: int | None = None) -> dict[str, int]:
        return review.follow_through_counts(self._store, campaign_id=campaign_id)

    def audit_verify(self, *, expect_head: str | None = None,
                     anchor_files: Sequence[str | Path] = ()) -> review.Verdict:
        """The audit verdict (`review.verifying`): the chain, the records against it, the heads
        kept outside (``expect_head``, anchor files). The evidence report shows the same."""
        anchors = [a for path in anchor_files for a in read_anchors(path)]
        return review.verify_audit(self._store, expect_head=expect_head, anchors=anchors)

    def audit_anchor(self, *, campaign_id: int | None = None,
                     file: str | Path | None = None) -> tuple[review.Verdict, str]:
        """State the chain's head in one line, after verifying it: appended to ``file`` (never
        overwritten) or returned for a ticket or a chat. Nothing is written when it fails."""
        verdict = self.audit_verify()
        if not verdict.ok:
            return verdict, ""
        campaign = None
        if campaign_id is not None:
            campaign = self.campaign(campaign_id)
        else:
            opened = self.campaigns(status=review.OPEN)
            campaign = opened[0] if len(opened) == 1 else None
        named = f"{campaign.id} ({safe_text(campaign.name, limit=80)})" if campaign is not None else ""
        line = audit.anchor_line(verdict.head, at=now_iso(), campaign=named)
        if file is not None:
            refuse_protected(file, self._store.files)  # appending would corrupt the database
            append_line(file, line)
        return verdict, line

    def audit_entries(self, *, campaign_id: int | None = None) -> list[audit.AuditEntry]:
        return audit.entries(self._store, campaign_id=campaign_id)

    # ------------------------------------------------------------ exports (read only)

    def tickets(self, campaign_id: int, *, group: bool = False) -> tickets.TicketSet:
        """A campaign's revocations as tickets; never writes to the store."""
        return tickets.build(self._store, self.config, campaign_id, group=group)

    def render_tickets(self, found: tickets.TicketSet, fmt: str, *, completeness: Completeness | None = None) -> str:
        """Tickets in a file format; JSON carries the campaign snapshot's completeness when given."""
        return tickets.render(found, fmt, self.config,
                              completeness=completeness.to_json() if completeness is not None else None)

    def file_github_issues(self, found: tickets.TicketSet, *, apply: bool = False,
                           on_action: Callable[[Any], None] | None = None) -> github_issues.IssueExport:
        """Plan (or, with ``apply``, carry out) the GitHub issues of the tickets ([export.github])."""
        return github_issues.export(found, self.config, apply=apply, on_action=on_action)

    def sarif(self, analysis: Analysis, findings: Sequence[Any], *, root: str | os.PathLike[str] = ".") -> dict[str, Any]:
        """Findings as SARIF 2.1.0 for GitHub code scanning (export/sarif.py): each result points at
        the line of the config file that makes it matter, as a path relative to ``root`` (the
        repository the SARIF is uploaded for; default the working directory)."""
        from . import __version__

        path = Path(self.config.path) if self.config.path else None
        text = path.read_text(encoding="utf-8") if path is not None and path.is_file() else ""
        uri = "foureyes.toml"
        if path is not None:
            try:
                uri = path.resolve().relative_to(Path(root).resolve()).as_posix()
            except ValueError:  # the config is outside the repository: name the file
                uri = path.name
        info = {"id": analysis.snapshot.id, "taken_at": analysis.snapshot.taken_at, "label": analysis.snapshot.label}
        return sarif.sarif_log(findings, analysis.pack, version=__version__, config_text=text, config_uri=uri,
                               snapshot=info, describe=lambda f: sarif.describe(analysis, f))

    def report(self, campaign_id: int) -> report.Evidence:
        """A campaign's evidence for auditors; never writes to the store."""
        return report.gather(self._store, self.config, campaign_id)

    @staticmethod
    def render_report(evidence: report.Evidence, fmt: str) -> str:
        return report.render(evidence, fmt)

    def write_export(self, path: str | Path, text: str, *, force: bool = False) -> Path:
        """Write an export whole (through a temporary file), or fail with one line: an existing
        file only with ``force``, the store's own files never."""
        return write_file(path, text, force=force, protected=self._store.files)


def read_anchors(path: str | Path) -> list[audit.Anchor]:
    """The anchor lines of a file (`audit anchor --file`, or pasted from a ticket or chat)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"anchor file {path}: cannot read it: {exc.strerror}") from None
    found = audit.parse_anchors(text, where=str(path))
    if not found:
        raise InputError(f"anchor file {path} holds no anchor line (`foureyes audit anchor --file {path}` "
                         f"appends them; they start '{audit.ANCHOR_PREFIX}')")
    return found


def append_line(path: str | Path, line: str) -> None:
    """Append one line to a file, creating it; never truncates what is there."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise InputError(f"cannot append to {path}: {exc.strerror}") from None


def _in_scope(holding: Holding, scope: str, analysis: Analysis) -> bool:
    if not scope:
        return True
    if scope.startswith("app:"):
        return holding.app == scope[4:]
    if scope.startswith("repo:"):
        return fnmatch.fnmatchcase(holding.repo, scope[5:])
    resource = analysis.snapshot.resources.get(holding.resource)
    candidates: Iterable[str] = [holding.resource] + ([resource.id, resource.label] if resource is not None else [])
    return any(fnmatch.fnmatchcase(c, scope) for c in candidates)
