"""Campaigns in the store: creating one (items frozen from an analysed snapshot) and reading
campaigns, items, decisions, exceptions, notes, frozen findings and progress back.

The SQL is in `foureyes.store.review`; this module turns rows into `values`.
"""

from __future__ import annotations

import gc
import os
import threading
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import replace
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable, Iterable, Mapping

from ..analysis import Analysis, RosterBaseline, analyze, roster_baseline
from ..bulk import gc_paused
from ..config import Config
from ..errors import InputError, NotFound
from ..identity import link
from ..rules import Waiver
from ..store import Store, now_iso
from ..stored import StoredAnalysis
from ..store import audit, records, wal
from ..store import review as rows
from .ahead import Ahead, AheadMapping, AheadPairs
from .people import Lookup, Who, aliases_of, dict_lookup, resolve
from .planning import ItemDraft, held_by_person, plan_items, planner, spec_from_template
from .values import (
    Campaign,
    CampaignFinding,
    CampaignSpec,
    ConflictRef,
    Decision,
    ExceptionRequest,
    Item,
    Note,
    PreviousDecision,
    Progress,
    campaign_of,
    decision_of,
    exception_of,
    item_of,
    items_of,
)
from .vocabulary import (
    CERTIFY,
    CLOSE_POLICIES,
    CLOSED,
    DEFER,
    EX_APPROVED,
    EX_PENDING,
    EXCEPTION,
    OPEN,
    PENDING,
    PRODUCTION,
    REVOKE,
    SKIPPED,
    ReviewError,
    actor_name,
    dumps,
    norm,
    utc_today,
)

NEW, PEOPLE = "campaign.new", "campaign.people"  # the audit actions that create a campaign, freeze its people

# ---------------------------------------------------------------- creating


# A snapshot's analysis as the caller keeps it (`Workspace.analysis`: the one stored beside it).
AnalysisOf = Callable[[int], Analysis]


def create_campaign(store: Store, config: Config, spec: CampaignSpec, *, actor: str,
                    snapshot_id: int | None = None, today: date | None = None,
                    analysis_of: AnalysisOf | None = None) -> Campaign:
    """Freeze the items of ``spec`` from a snapshot (default: the latest) into a new campaign.
    ``analysis_of`` gives a snapshot's analysis (default: computed here)."""
    return _create(store, config, spec, actor=actor, snapshot_id=snapshot_id, today=today,
                   analysis_of=analysis_of)[0]


def create_from_template(store: Store, config: Config, template_name: str, *, actor: str,
                         snapshot_id: int | None = None, today: date | None = None,
                         analysis_of: AnalysisOf | None = None) -> tuple[Campaign, bool]:
    """Create this period's campaign of a template, or return the one that exists (safe to run from cron).

    Returns the campaign and whether it was created now.
    """
    spec = spec_from_template(config, template_name, today=today)
    if spec.period:
        existing = find_campaign(store, template=template_name, period=spec.period)
        if existing is not None:
            return existing, False
    return _create(store, config, spec, actor=actor, snapshot_id=snapshot_id, today=today, analysis_of=analysis_of)


def _computed(store: Store, config: Config, today: date | None) -> AnalysisOf:
    def analysis_of(snapshot_id: int) -> Analysis:
        return analyze(store.load_snapshot(snapshot_id), config, extra_waivers=approved_waivers(store, today=today),
                       today=today, baseline=mover_baseline(store, snapshot_id))
    return analysis_of


def _create(store: Store, config: Config, spec: CampaignSpec, *, actor: str, snapshot_id: int | None,
            today: date | None, analysis_of: AnalysisOf | None = None) -> tuple[Campaign, bool]:
    # The cyclic GC paused from the analysis to the commit: what a campaign makes is acyclic, and
    # each pause that ended on the way (after planning, after the items' insert) let a collection
    # walk the hundreds of thousands of rows and drafts still alive (a second each at full size).
    # It resumes once they are freed (`_creating`'s frame gone).
    with gc_paused():
        campaign, created, left = _creating(store, config, spec, actor=actor, snapshot_id=snapshot_id, today=today,
                                            analysis_of=analysis_of)
        if left:
            # A big campaign's rows, planning's state and identities are let go by a thread while the
            # command reads the campaign back and answers (~1 s of freeing at full size, which a
            # command that then ends skips), moved out of the GC's reach first: no collection walks
            # them meanwhile (`gc.freeze`: nothing of a campaign's making is in a cycle).
            gc.freeze()
            _let_go(left)
    return campaign, created


def _let_go(left: list[Any]) -> None:
    def run() -> None:
        # after the log's checkpoint: freeing is ~0.9 s of CPU (the planner's state, one deallocation
        # holding the GIL) that took a core from the checkpoint and the read-back, and a command that
        # then ends (`os._exit`) needs none of it
        wal.waited()
        for thing in left:
            if isinstance(thing, _Planned):
                thing.close()
        left.clear()

    threading.Thread(target=run, name="foureyes-let-go", daemon=True).start()


def _creating(store: Store, config: Config, spec: CampaignSpec, *, actor: str, snapshot_id: int | None,
              today: date | None, analysis_of: AnalysisOf | None = None) -> tuple[Campaign, bool, list[Any] | None]:
    """`_create`, and what a big campaign's creation leaves for a thread to let go (None: let go here)."""
    actor = actor_name(actor)
    if not spec.name.strip():
        raise InputError("a campaign needs a name")
    if spec.policy.close_policy not in CLOSE_POLICIES:
        raise InputError(f"close policy {spec.policy.close_policy!r}: expected revoke or skip")
    sid = store.resolve(snapshot_id)
    info = store.snapshot_info(sid)
    analysis_of = analysis_of or _computed(store, config, today)
    analysis = analysis_of(sid)
    baseline_id = _baseline_snapshot(store, sid, drift=spec.scope.kind == "drift")
    # new grants are measured against what people reached then (production ones suffice for those scopes)
    tier = PRODUCTION if spec.scope.kind in ("production", "drift") else None
    baseline, aliases, ahead = _worked_out_ahead(store, config, analysis, None if baseline_id is None else (
        baseline_id, tier, analysis_of(baseline_id)))
    planned = _planned_rows(store, analysis, config, spec, baseline=baseline, previous=_previous_decisions(store),
                            aliases=aliases)
    created = now_iso()
    due = spec.due or (today or utc_today()) + timedelta(days=config.campaigns.due_days)
    big = False
    counts: Counter[str] | None = None

    def work(conn: Any) -> int:
        nonlocal big, counts
        campaign_id = rows.insert_campaign(conn, dict(
            name=spec.name.strip(), snapshot_id=sid, snapshot_digest=info.digest,
            scope=dumps(spec.scope.to_json()), reviewer_rules=dumps(spec.reviewers.to_json()),
            policy=dumps(spec.policy.to_json()), status=OPEN, created_at=created, created_by=actor,
            due=due.isoformat(), template=spec.template, period=spec.period, baseline_snapshot_id=baseline_id,
            people_frozen=True,
        ))
        # the findings and identities first: a forked child may still be planning the later run's
        # items, and this process would otherwise wait for them after inserting the first run's
        rows.insert_findings(conn, [
            {"campaign_id": campaign_id, "finding_id": f.id, "rule": f.rule.id, "person": f.person,
             "person_key": norm(f.person), "scope": f.scope, "severity": f.rule.severity, "title": f.rule.title,
             "covered": f.covered}
            for f in analysis.findings if f.person and f.rule.kind == "conflict"
        ])
        rows.insert_people(conn, campaign_id, aliases)
        # the first run's rows go in while a forked child may still plan the later run's
        written = rows.insert_items(conn, campaign_id, planned.first, more=planned.rest, told=planned.ids)
        big = written["rows"] >= wal.BIG
        counts = planned.reviewers()
        if big:  # (the commit then leaves the log to a thread to checkpoint)
            wal.defer(conn)
        audit.append(conn, actor=actor, action=NEW, campaign_id=campaign_id,
                     snapshot_digest=info.digest, campaigns=[campaign_id],
                     frozen=records.freeze(conn, campaign_id, sid, items=written, people=ahead.later()),
                     detail={"name": spec.name.strip(), "snapshot": sid, "scope": spec.scope.to_json(),
                             "reviewers": spec.reviewers.to_json(), "policy": spec.policy.to_json(),
                             "due": due.isoformat(), "items": written["rows"], "template": spec.template,
                             "period": spec.period, "baseline_snapshot": baseline_id})
        return campaign_id

    done = False
    try:
        campaign_id = audit.run(store, work)
        done = True
    except rows.PeriodTaken:
        # another cron run created this period's campaign between our check and our insert
        if spec.template and spec.period:
            existing = find_campaign(store, template=spec.template, period=spec.period)
            if existing is not None:
                return existing, False, None
        raise
    finally:
        if not (done and big):
            planned.close()  # (a child still planning when the transaction failed, the later run's file, the GC's pause)
    campaign = get_campaign(store, campaign_id)
    if counts is not None:
        campaign = replace(campaign, created_items=tuple(sorted(counts.items())))
    if not big:
        return campaign, True, None
    later = planned.rest()  # (its file removed here, not by the thread: the process may end first)
    if isinstance(later, rows.ItemsFile):
        with suppress(FileNotFoundError):
            os.remove(later.path)
    return campaign, True, [planned, aliases, baseline, ahead]


def _worked_out_ahead(store: Store, config: Config, analysis: Analysis,
                      earlier: tuple[int, str | None, Analysis] | None) -> tuple[AheadPairs | None, AheadMapping, Ahead]:
    """The campaign's baseline (`held_pairs` of ``earlier``, its snapshot, the tier, its analysis, made
    by person: `held_by_person`)
    and identities (`aliases_of`; then the digest of their rows the creation commits to), worked out
    by a forked child (`ahead.Ahead`: the third) while this process sets planning up, which needs
    them only then. The analyses are opened here (opening one may store it); a stored snapshot's
    principals are read whole first, in one query, shared with the child: planning looks up most
    of them too."""
    snapshot, identities = analysis.snapshot, analysis.identities
    whole = getattr(snapshot, "all_principals", None)
    if whole is not None:
        whole()

    def work() -> tuple[dict[str, frozenset[str]] | None, dict[str, dict[str, str]]]:
        baseline = None
        if earlier is not None:
            snapshot_id, tier, then = earlier
            baseline = held_by_person(then, tier=tier, grant_principals=rows.grant_principals(
                store, snapshot_id, tier) if isinstance(then, StoredAnalysis) else None)
        return baseline, aliases_of(snapshot, identities, config.identity)

    # the digest of the identities' rows only once the rest is sent: planning (and its fork) waits
    # for the baseline and the identities, the digest is read at the end (`Ahead.later`)
    ahead = Ahead(work, forget=lambda: store.engine.dispose(close=False),
                  then=lambda found: rows.people_digest_of(found[1]))
    return (None if earlier is None else AheadPairs(ahead, itemgetter(0))), AheadMapping(ahead, itemgetter(1)), ahead


# Grants the people of a campaign reach from which the later run of them is planned by a forked
# child (`rows.Forked`) while this process plans the first: below it, a fork costs more than it saves.
PARALLEL_GRANTS = 50_000
# The first run's share of the grants (per cent): this process plans it and then inserts its rows
# while the child plans the later run, and (in a SQLite file store) writes that run's rows into a
# file of its own and hashes them; this process then copies them in with one statement. At full
# size (CPU): this process ~0.32 s per per cent (planning, inserting), the child ~0.31 (planning,
# writing, hashing): both are done at about 49.
FIRST_SHARE = 49


class _Planned:
    """A campaign's item rows: ``first``, then what `rest` gives (the later run's rows, from the
    child planning them, or in the file it wrote them into (`rows.ItemsFile`), or planned here
    where it failed; none where there was no split). `close` once done with them."""

    def __init__(self, first: list[tuple[Any, ...]], child: Any = None,
                 later: Callable[[], list[tuple[Any, ...]]] | None = None, file: str | None = None):
        self.first, self._child, self._later, self._file = first, child, later, file
        self._gc = False  # (the cyclic GC to be let run again by `close`)
        self._rest: rows.Later | None = None if later is not None else []
        self._hashes: Any = None

    def ids(self, campaign_id: int, first: int) -> None:
        """Tell the child the campaign's id and the later run's first id (its rows' hashes need them)."""
        if self._child is not None and self._file is not None:
            self._child.tell((campaign_id, first))

    def rest(self) -> rows.Later:
        if self._rest is None:  # (once: a transaction retried inserts the same rows)
            child = self._child
            if child is not None and self._file is not None:  # (the file, once written; its hashes later)
                done, theirs = child.early()
                if done:
                    self._rest = replace(theirs, hashed=self._hashed)
                    return self._rest
            self._child = None
            done, theirs = child.result() if child is not None else (False, None)
            later = self._later
            assert later is not None  # (set wherever `_rest` is not)
            self._rest = theirs if done else later()
        return self._rest

    def _hashed(self) -> Any:
        """The ids the child hashed the rows of its file for and their hashes (None if it failed):
        it hashes them while this process copies them in."""
        child, self._child = self._child, None
        if child is not None:
            done, answer = child.result()
            self._hashes = answer if done else None
        return self._hashes

    def close(self) -> None:
        """Stop a child nothing will wait for (the campaign's transaction failed before its rows),
        remove the file the later run's rows were written into (whatever happened), let the rows
        go and let the cyclic GC run again (`_planned_rows` paused it)."""
        child, self._child = self._child, None
        if child is not None:
            child.cancel()
        file, self._file = self._file, None
        if file is not None:
            with suppress(FileNotFoundError):
                os.remove(file)
        self.first, self._rest, self._later = [], [], None
        if self._gc:
            self._gc = False
            gc.enable()

    def reviewers(self) -> Counter[str] | None:
        """How many of the rows name each reviewer (None where the child's file did not say)."""
        found = rows.reviewers_of(self.first)
        rest = self.rest()
        if isinstance(rest, rows.ItemsFile):
            if rest.reviewers is None:
                return None
            found.update(dict(rest.reviewers))
        else:
            found.update(rows.reviewers_of(rest))
        return found

    def rows(self) -> list[tuple[Any, ...]]:
        rest = self.rest()
        return self.first + (rows.read_items_file(rest) if isinstance(rest, rows.ItemsFile) else list(rest))


def _planned_rows(store: Store, analysis: Analysis, config: Config, spec: CampaignSpec, *,
                  baseline: set[tuple[str, str]] | None, previous: Any,
                  aliases: Mapping[str, Mapping[str, str]]) -> _Planned:
    """`_rows_planned`, with the cyclic GC paused until `_Planned.close`: hundreds of thousands of
    items, none in a cycle, that live until they are written. A collection in between walked them
    all (and the planner's state) each time: ~1 s at full size, twice (`bulk.gc_paused`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        planned = _rows_planned(store, analysis, config, spec, baseline=baseline, previous=previous, aliases=aliases)
    except BaseException:
        if enabled:
            gc.enable()
        raise
    planned._gc = enabled
    return planned


def _rows_planned(store: Store, analysis: Analysis, config: Config, spec: CampaignSpec, *,
                  baseline: set[tuple[str, str]] | None, previous: Any,
                  aliases: Mapping[str, Mapping[str, str]]) -> _Planned:
    """`_draft_rows(plan_items(...))`; for a big campaign, the people split in two runs, the later
    run's rows planned by a forked child (from what `planner` worked out once, shared with it) while
    this process plans the first's and then inserts them (`_Planned.rest` waits for the child's):
    the same rows in the same order. In a SQLite file store the child writes its rows into a file
    of its own (`rows.write_items_file`), says so (`rows.Forked`'s ``early``: this process copies
    them in meanwhile) and, once told their ids, hashes them: what comes back is that file, then
    the hashes, not the rows."""
    scope, reviewers = spec.scope, spec.reviewers
    if scope.kind == "emergency" or "fixed" in reviewers.rules:  # (a fixed list's turn runs across people)
        return _Planned(_draft_rows(plan_items(analysis, config, scope, reviewers, baseline=baseline,
                                               previous=previous, aliases=aliases)))
    people, plan = planner(analysis, config, scope, reviewers, baseline=baseline, previous=previous, aliases=aliases)
    total = sum(n for _, n in people)
    if total < PARALLEL_GRANTS:
        return _Planned(plan(people, rows=True))
    split, so_far = 0, 0
    while split < len(people) and so_far < total * FIRST_SHARE // 100:
        so_far += people[split][1]
        split += 1
    first, later = people[:split], people[split:]

    def later_rows() -> list[tuple[Any, ...]]:
        return plan(later, rows=True)

    def in_child() -> list[tuple[Any, ...]]:
        store.engine.dispose(close=False)  # the child opens connections of its own if it reads
        return later_rows()

    file = rows.new_items_file(store)

    def into_file(heard: Callable[[], tuple[int, int]], say: Callable[[rows.ItemsFile], None]) -> Any:
        assert file is not None
        theirs = in_child()
        say(rows.write_items_file(file, theirs))  # (copied in while the rows are hashed here)
        campaign_id, start = heard()
        return (campaign_id, start), rows.item_hashes(campaign_id, theirs, start)

    try:
        child = rows.Forked(into_file, told=True, early=True) if file is not None else rows.Forked(in_child)
        try:
            mine = plan(first, rows=True)
        except BaseException:
            child.cancel()
            raise
    except BaseException:
        if file is not None:
            os.remove(file)
        raise
    return _Planned(mine, child, later_rows, file)


def baseline_snapshot(store: Store, snapshot_id: int) -> tuple[int | None, str]:
    """What new grants and movers are measured against: the last closed campaign's snapshot, else
    the previous one; with a readable label."""
    found = rows.last_closed_snapshot(store, snapshot_id, closed=CLOSED)
    if found is not None:
        return found, f"snapshot {found} (the last closed campaign's)"
    previous = store.previous_id(snapshot_id)
    return previous, (f"snapshot {previous} (the previous one; no campaign closed yet)" if previous else "")


def mover_baseline(store: Store, snapshot_id: int) -> RosterBaseline | None:
    """The roster's departments at the baseline snapshot, for the mover rule (None: no baseline,
    or it has no identity source)."""
    found, label = baseline_snapshot(store, snapshot_id)
    return None if found is None else roster_baseline(store.load_people(found), label)


def freeze_people(store: Store, config: Config, campaign_id: int, *, actor: str = "foureyes") -> bool:
    """Freeze the identities of a campaign created before foureyes froze them with campaigns:
    from its snapshot, with today's identity config; its items' reviewers are resolved again.
    An audited step (its entry commits to the identities); False when they were frozen already."""
    campaign = get_campaign(store, campaign_id)
    if campaign.people_frozen:
        return False
    snapshot = store.load_snapshot(campaign.snapshot_id)
    aliases = aliases_of(snapshot, link(snapshot, config), config.identity)
    lookup = dict_lookup(aliases)

    def work(conn: Any) -> bool:
        row = rows.campaign(conn, campaign_id, lock="update")
        if row is None or row.people_frozen:
            return False  # another process froze them first
        rows.insert_people(conn, campaign_id, aliases)
        for item in rows.items(conn, campaign_id):
            if item.reviewer:
                rows.set_reviewer_key(conn, item.id, resolve(item.reviewer, lookup).key)
        rows.mark_people_frozen(conn, campaign_id)
        audit.append(conn, actor=actor, action=PEOPLE, campaign_id=campaign_id,
                     snapshot_digest=campaign.snapshot_digest, campaigns=[campaign_id],
                     frozen={"people": records.people_digest(conn, campaign_id)},
                     detail={"aliases": len(aliases), "why": "campaign created before identities were frozen"})
        return True

    return audit.run(store, work)


def _baseline_snapshot(store: Store, snapshot_id: int, *, drift: bool) -> int | None:
    """What new grants are measured against: the last closed campaign's snapshot, else the previous one."""
    found = rows.last_closed_snapshot(store, snapshot_id, closed=CLOSED)
    if found is not None:
        return found
    if drift:
        raise ReviewError("scope 'drift' needs a closed campaign to measure against, and there is none yet; "
                          "run a campaign with scope 'production' first")
    return store.previous_id(snapshot_id)


def _previous_decisions(store: Store) -> dict[tuple[str, str], tuple[PreviousDecision, str]]:
    """(person, grant) -> the latest final decision in any earlier campaign, with that item's fingerprint."""
    out: dict[tuple[str, str], tuple[PreviousDecision, str]] = {}
    for row in rows.final_states(store, (CERTIFY, REVOKE, EXCEPTION, SKIPPED)):
        out[(row.person, row.grant_key)] = (
            PreviousDecision(campaign_id=row.id, campaign_name=row.name, decision=row.state,
                             by=row.decided_by or "", at=row.decided_at or "", unchanged=False),
            row.fingerprint,
        )
    return out


@lru_cache(maxsize=1 << 16)
def _json_list(values: tuple[str, ...]) -> str:
    """A person's accounts or a route's teams as stored: the same few lists recur on every item."""
    return dumps(list(values))


# `_draft_rows`' values, in this order: the table's columns but the id and the campaign's (`rows.ITEM_COLUMNS`)
_ROW_COLUMNS = (
    "grant_key", "person", "person_name", "accounts", "system", "principal", "principal_name",
    "entitlement", "resource", "resource_name", "tier", "app", "capabilities", "via", "detail", "condition",
    "expires", "last_used", "path", "teams", "conflicts", "holders", "is_new", "previous", "fingerprint", "reviewer",
    "reviewer_key", "reviewer_rule", "state", "decision_id", "decided_by", "decided_at", "version", "person_status",
    "person_manager", "person_department", "usage")
assert _ROW_COLUMNS == rows.ITEM_COLUMNS[1:], "campaign_items' columns changed: change _draft_rows with them"


def _draft_rows(drafts: list[ItemDraft]) -> list[tuple[Any, ...]]:
    """Each draft as its item row (`_ROW_COLUMNS`: the campaign's id is added as they are
    written); what many items share (a usage, a grant's capabilities) is written once."""
    usage_json: dict[Any, str] = {}
    capabilities: dict[tuple[str, ...], str] = {}
    conflicts_json: dict[tuple[Any, ...], str] = {(): "[]"}  # (a few thousand lists over all items)
    out = []
    for d in drafts:
        g = d.grant
        previous = ""
        if d.previous is not None:
            p = d.previous
            previous = dumps({"campaign_id": p.campaign_id, "campaign_name": p.campaign_name,
                              "decision": p.decision, "by": p.by, "at": p.at, "unchanged": p.unchanged})
        usage = usage_json.get(d.usage)
        if usage is None:
            usage = usage_json[d.usage] = d.usage.to_json()
        caps = capabilities.get(g.capabilities)
        if caps is None:
            caps = capabilities[g.capabilities] = " ".join(g.capabilities)
        conflicts = conflicts_json.get(d.conflicts)
        if conflicts is None:
            conflicts = conflicts_json[d.conflicts] = dumps([c.__dict__ for c in d.conflicts])
        out.append((
            d.grant_key, d.person, d.person_name, _json_list(d.accounts), g.system, g.principal,
            d.principal_name, g.entitlement, g.resource, d.resource_name, d.tier, d.app, caps, g.via, g.detail,
            g.condition, g.expires, g.last_used, d.path_json or dumps(list(d.path)), _json_list(d.teams),
            conflicts, d.holders, bool(d.is_new), previous,
            d.fingerprint, d.reviewer, d.reviewer_key, d.reviewer_rule, PENDING, None, None, None, 0,
            d.person_status, d.person_manager, d.person_department, usage,
        ))
    return out


# ---------------------------------------------------------------- reading campaigns


def get_campaign(store: Store, campaign_id: int, conn: Any = None) -> Campaign:
    row = rows.campaign(conn if conn is not None else store, campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id} does not exist; `foureyes campaign list` lists them")
    return campaign_of(row)


def find_campaign(store: Store, *, template: str, period: str) -> Campaign | None:
    row = rows.campaign_of_period(store, template, period)
    return campaign_of(row) if row else None


def list_campaigns(store: Store, *, status: str | None = None) -> list[Campaign]:
    return [campaign_of(row) for row in rows.campaigns(store, status=status)]


class SeveralOpen(InputError):
    """Several campaigns are open and none was named: which one is meant is not guessed."""

    def __init__(self, campaigns: list[Campaign]):
        self.campaigns = campaigns
        super().__init__(f"{len(campaigns)} campaigns are open ({', '.join(str(c.id) for c in campaigns)}): "
                         "pass --campaign ID")


def choose_campaign(store: Store, campaign_id: int | None = None) -> Campaign:
    """The campaign an action is about: the one named, else the one open campaign.

    The one rule for the CLI and the TUI: with none open (`NotFound`) or several (`SeveralOpen`,
    which lists them) it refuses rather than guess.
    """
    if campaign_id is not None:
        return get_campaign(store, campaign_id)
    opened = list_campaigns(store, status=OPEN)
    if not opened:
        raise NotFound("no campaign is open; `foureyes campaign new` creates one")
    if len(opened) > 1:
        raise SeveralOpen(opened)
    return opened[0]


# ---------------------------------------------------------------- reading items and their records


def people_lookup(db: Any, campaign_id: int) -> Lookup:
    """Who the spellings name in a campaign, from its frozen identities (``db``: store or connection)."""
    return lambda aliases: rows.people_named(db, campaign_id, aliases)


def who_is(db: Any, campaign_id: int, spelling: str | None) -> Who:
    """The person a spelling names in a campaign: its key, a linked account or an alias."""
    return resolve(spelling, people_lookup(db, campaign_id))


def items(store: Store, campaign_id: int, *, reviewer: str | None = None,
          states: Iterable[str] | None = None) -> list[Item]:
    """A campaign's items in queue order (person, resource, entitlement); ``reviewer``'s, by any
    spelling of theirs."""
    key = who_is(store, campaign_id, reviewer).key if reviewer is not None else None
    with gc_paused(keep=True):  # a queue of 500,000 items lives on in the TUI
        return items_of(*rows.item_values(store, campaign_id, states=states, reviewer_key=key))


def reviewer_queue(store: Store, campaign: Campaign, reviewer: str) -> list[Item]:
    """What a reviewer may decide: their items, or every item (not about them) for the fallback reviewer."""
    me = who_is(store, campaign.id, reviewer)
    if me.key and me.is_(who_is(store, campaign.id, campaign.reviewers.fallback)):
        about: dict[tuple[str, tuple[str, ...]], bool] = {}  # (person, accounts) -> about me: the same on their items
        out = []
        for i in items(store, campaign.id):
            mine = about.get((i.person, i.accounts))
            if mine is None:
                mine = about[(i.person, i.accounts)] = i.is_about(me)
            if not mine:
                out.append(i)
        return out
    with gc_paused(keep=True):
        return items_of(*rows.item_values(store, campaign.id, reviewer_key=me.key))


def get_item(store: Store, item_id: int) -> Item:
    row = rows.item(store, item_id)
    if row is None:
        raise NotFound(f"item {item_id} does not exist; `foureyes campaign show ID --items` lists them")
    return item_of(row)


def decisions(store: Store, *, campaign_id: int | None = None, item_id: int | None = None,
              include_undone: bool = True) -> list[Decision]:
    return [decision_of(row) for row in rows.decisions(store, campaign_id=campaign_id, item_id=item_id,
                                                       include_undone=include_undone)]


def exceptions(store: Store, *, campaign_id: int | None = None, status: str | None = None,
               item_id: int | None = None) -> list[ExceptionRequest]:
    return [exception_of(row) for row in rows.exceptions(store, campaign_id=campaign_id, status=status,
                                                         item_id=item_id)]


def current_exception(store: Store, item_id: int) -> ExceptionRequest | None:
    """The item's exception that is pending or approved, if any."""
    found = [e for e in exceptions(store, item_id=item_id) if e.status in (EX_PENDING, EX_APPROVED)]
    return found[-1] if found else None


def approvable_by(store: Store, campaign: Campaign, actor: str) -> list[tuple[ExceptionRequest, Item]]:
    """Pending exceptions of a campaign that ``actor`` may approve: not requested by them, not
    about them, and ``actor`` is one of the campaign's approvers when it names any."""
    me = who_is(store, campaign.id, actor)
    approvers = {who_is(store, campaign.id, a).key for a in campaign.policy.exception_approvers}
    if approvers and me.key not in approvers:
        return []
    by_id = {i.id: i for i in items(store, campaign.id)}
    return [(e, by_id[e.item_id]) for e in exceptions(store, campaign_id=campaign.id, status=EX_PENDING)
            if e.item_id in by_id and not requested_by(store, me, e) and not by_id[e.item_id].is_about(me)]


def requested_by(db: Any, me: Who, request: ExceptionRequest) -> bool:
    """Is ``me`` (any spelling) the person who requested the exception? The requester's spelling
    is resolved again through the campaign's identities (a request older than its key may
    carry a key that is only folded)."""
    theirs = who_is(db, request.campaign_id, request.requested_by)
    keys = {request.requested_by_key, theirs.key} - {""}
    return me.key in keys or bool(me.people & (keys | theirs.people))


def notes(store: Store, item_id: int) -> list[Note]:
    return [Note(id=r.id, item_id=r.item_id, actor=r.actor, at=r.at, text=r.text) for r in rows.notes(store, item_id)]


def campaign_findings(store: Store, campaign_id: int, *, person: str | None = None) -> list[ConflictRef]:
    found = rows.findings(store, campaign_id, people={norm(person)} if person is not None else None)
    return [ConflictRef(r.finding_id, r.rule, r.title, r.severity, r.scope) for r in found]


def campaign_finding_records(store: Store, campaign_id: int) -> list[CampaignFinding]:
    """Every conflict frozen into the campaign, ordered by rule, person and scope (evidence reports)."""
    return [CampaignFinding(r.finding_id, r.rule, r.title, r.severity, r.person, r.scope, bool(r.covered))
            for r in rows.findings(store, campaign_id, ordered=True)]


def progress(store: Store, campaign_id: int, *, reviewer: str | None = None) -> Progress:
    counts: Counter[str] = Counter()
    key = who_is(store, campaign_id, reviewer).key if reviewer is not None else None
    for reviewer_key, state, count in rows.state_counts(store, campaign_id, by="reviewer_key"):
        if key is None or reviewer_key == key:
            counts[state] += count
    # an exception awaiting its second approver is counted apart
    pending_ex = rows.items_with_exception(store, campaign_id, status=EX_PENDING)
    waiting = sum(1 for r in rows.item_states(store, campaign_id, ids=pending_ex)
                  if r.state == EXCEPTION and (key is None or r.reviewer_key == key))
    counts[EXCEPTION] -= waiting
    return Progress(total=sum(counts.values()) + waiting, pending=counts[PENDING], certified=counts[CERTIFY],
                    revoked=counts[REVOKE], deferred=counts[DEFER], exception_waiting=waiting, excepted=counts[EXCEPTION],
                    skipped=counts[SKIPPED])


def created_counts(campaign: Campaign) -> dict[str, Counter[str]] | None:
    """`reviewer_counts` of a campaign this process has just created, as its items were written
    (None for any other): read back, they took a scan of all its items (0.6 s at full size)."""
    if campaign.created_items is None:
        return None
    return {reviewer: Counter({PENDING: n}) for reviewer, n in campaign.created_items}


def reviewer_counts(store: Store, campaign_id: int) -> dict[str, Counter[str]]:
    """Reviewer -> item states, for `campaign show`."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for reviewer, state, count in rows.state_counts(store, campaign_id):
        out[reviewer][state] += count
    return dict(out)


def approved_waivers(store: Store, *, today: date | None = None, include_expired: bool = False) -> list[Waiver]:
    """Approved campaign exceptions as waivers, for `analyze(extra_waivers=…)`: they count like file ones."""
    found = exceptions(store, status=EX_APPROVED)
    day = today or utc_today()
    return [w for e in found if include_expired or e.counts(day) for w in e.waivers()]
