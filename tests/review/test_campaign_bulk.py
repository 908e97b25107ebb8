"""Creating a campaign in bulk (issue 19): what planning works out once and shares (a route's
texts, a grant's part of the fingerprint, a usage, a reviewer) gives each item what working it
out item by item gives, from a stored analysis as from a computed one; and the items' digest the
creation entry commits to, worked out as the items are written, is the one `audit verify` reads
back, so an item row edited afterwards is still caught."""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from foureyes import review
from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.model import EdgeKind, Kind
from foureyes.review import campaigns
from foureyes.review.campaigns import NEW
from foureyes.review.people import aliases_of, dict_lookup
from foureyes.review.vocabulary import dumps
from foureyes.review.planning import _assign, _fingerprint, _item_app, plan_items
from foureyes.review.routes import RouteHops
from foureyes.store import Store, audit, records
from foureyes.store import review as item_rows
from foureyes.store.writing import parallel_possible
from foureyes.workspace import Workspace

from .conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]
BIG_CONFIG = """
[identity]
email_domains = ["bigco.example"]

[campaigns]
fallback_reviewer = "ciso@bigco.example"
"""


def _expect_fork() -> None:
    """Run again in a fresh process (the last test), these tests must take the forked paths."""
    import os

    assert parallel_possible() or not os.environ.get("FOUREYES_TEST_EXPECT_FORK"), "a fresh process forks"


def _frozen_items(store: Store, campaign_id: int) -> dict[str, Any]:
    entry = next(e for e in audit.entries(store, campaign_id=campaign_id) if e.action == NEW)
    return dict(entry.state["frozen"]["items"])


def test_the_items_digest_written_is_the_one_read_back_and_an_edited_item_is_caught(store, review_config, monkeypatch,
                                                                                      forks):
    _expect_fork()
    spec = review.spec_from_config(review_config, name="Q4", today=TODAY)
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    said = _frozen_items(store, campaign.id)
    with store.engine.connect() as conn:
        read = records.freeze(conn, campaign.id, campaign.snapshot_id)["items"]
    assert said == read and said["rows"] == len(review.items(store, campaign.id)) > 10
    assert said["start"] == {"state": "pending", "decision_id": None, "decided_by": None, "decided_at": None,
                             "version": 0}
    assert review.verify_audit(store).differences == ()
    # the digest worked out by a forked child while the rows go in (on SQLite, where a fork is safe): the same
    first_rows = review.items(store, campaign.id)
    with store.engine.connect() as conn:
        written = [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT {', '.join(item_rows.ITEM_COLUMNS[1:])} FROM campaign_items WHERE campaign_id = {campaign.id} "
            "ORDER BY id")]
    start = min(i.id for i in first_rows)
    ids = range(start, start + len(written))
    child = item_rows.Forked(lambda: records.items_digest(ids, ((campaign.id, *row) for row in written),
                                                          item_rows.ITEM_COLUMNS))
    assert child.result() == ((True, said) if forks else (False, None))
    # a second campaign's items take the ids after the first's (given explicitly on SQLite): the same digest read
    # back, here worked out beside the insert as a campaign of `PARALLEL_ITEMS` items has it
    monkeypatch.setattr(item_rows, "PARALLEL_ITEMS", 1)
    second = review.create_campaign(store, review_config, review.spec_from_config(review_config, name="Q4 again",
                                                                                  today=TODAY),
                                    actor="security@acme.com", today=TODAY)
    with store.engine.connect() as conn:
        assert _frozen_items(store, second.id) == records.freeze(conn, second.id, second.snapshot_id)["items"]
    assert min(i.id for i in review.items(store, second.id)) > max(i.id for i in review.items(store, campaign.id))

    with store.engine.begin() as conn:  # a frozen column edited behind the log's back
        conn.execute(text("UPDATE campaign_items SET reviewer = 'mallory@acme.com' WHERE id = "
                          "(SELECT min(id) FROM campaign_items)"))
    differences = review.verify_audit(store).differences
    assert [(d.table, d.id) for d in differences] == [("campaign_items", f"campaign {campaign.id}")]
    assert "rows deleted, added or edited since" in differences[0].describe()


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory) -> Any:
    """A generated enterprise (1/100th of the benchmark's) with its analysis stored, as `foureyes
    snapshot` leaves it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    directory = tmp_path_factory.mktemp("bulk")
    config = parse_config(BIG_CONFIG, "<bulk test config>")
    url = f"sqlite:///{directory / 'big.db'}"
    with Store(url) as store:
        results, _ = generate(0.01)
        store.write_snapshot(results, label="generated")
    with Workspace.open(config, url=url) as workspace:
        yield workspace, config


def _reference(analysis: Any, draft: Any) -> tuple[Any, ...]:
    """The item's route-derived parts as planning worked them out item by item before."""
    route = analysis.grant_route(draft.person, draft.grant)
    principals, resources = analysis.snapshot.principals, analysis.snapshot.resources
    teams = tuple(dict.fromkeys(s.key for s in route if s.kind == EdgeKind.MEMBER_OF
                                and getattr(principals.get(s.key), "kind", "") == Kind.TEAM))
    principal = principals.get(draft.grant.principal)
    if principal is not None and principal.kind == Kind.TEAM and draft.grant.principal not in teams:
        teams += (draft.grant.principal,)
    from foureyes.rules.engine import repo_apps
    app = _item_app(resources.get(draft.grant.resource), route, principals, repo_apps(resources))
    return tuple(str(s) for s in route), _fingerprint(draft.grant, route, draft.key), teams, app


def _reference_conflicts(analysis: Any) -> Any:
    """An item's conflicts as planning worked them out item by item before: each finding of the
    person that any holding the grant gives (its own, or on its resource and capability by another
    grant) takes part in, by the rules engine's `takes_part`."""
    from foureyes.rules.engine import repo_apps, takes_part

    repo_app = repo_apps(analysis.snapshot.resources)
    findings = [f for f in analysis.findings if f.person and f.rule.kind == "conflict"]
    holdings = analysis.holdings_of_people({f.person for f in findings})
    assert any(r.where for f in findings for r in f.rule.requirements)  # (the rules a `where` narrows are met)

    def of(draft: Any) -> tuple[Any, ...]:
        grant = draft.grant
        gives = [h for h in holdings.get(draft.person, ())
                 if h.grant == draft.key or (h.resource == grant.resource and h.capability in grant.capabilities)]
        return tuple(review.ConflictRef(f.id, f.rule.id, f.rule.title, f.rule.severity, f.scope) for f in findings
                     if f.person == draft.person and any(takes_part(f, h, repo_app) for h in gives))
    return of


def _shown(draft: Any) -> tuple[Any, ...]:
    return (draft.person, draft.key, draft.path, draft.path_json, draft.fingerprint, draft.teams, draft.app,
            draft.conflicts, draft.holders, draft.usage, draft.reviewer, draft.reviewer_key, draft.reviewer_rule)


def test_items_planned_in_bulk_are_those_worked_out_one_by_one(enterprise, monkeypatch, forks):
    _expect_fork()
    workspace, config = enterprise
    stored = workspace.analysis()
    snapshot = workspace.load_snapshot()
    computed = analyze(snapshot, config, waivers=[])
    rules = review.ReviewerRules(rules=("app-owner", "team-maintainer", "manager"), fallback="ciso@bigco.example")
    aliases = aliases_of(snapshot, computed.identities, config.identity)
    assert stored._by_person is None  # (conflicts from the holdings of the capabilities rules name, decoded alone)
    drafts = plan_items(stored, config, review.Scope(kind="production"), rules, aliases=aliases)
    assert RouteHops(stored).of(drafts[0].person) is not None  # (routes drawn from the stored reach)
    assert len(drafts) > 1000 and any(d.conflicts for d in drafts) and any(len(d.teams) > 1 for d in drafts)

    conflicts_of = _reference_conflicts(stored)
    for draft in drafts:
        path, fingerprint, teams, app = _reference(stored, draft)
        assert (draft.path, draft.fingerprint, draft.teams, draft.app) == (path, fingerprint, teams, app)
        assert draft.path_json == dumps(list(path))
        assert draft.conflicts == conflicts_of(draft)
    # each reviewer as the rules name them for that item alone
    lookup = dict_lookup(aliases)
    maintainers = stored.team_maintainers()
    for draft in drafts[::7]:
        alone = _assign([replace(draft, reviewer="", reviewer_key="", reviewer_rule="")], config, rules,
                        maintainers, lookup, stored.identities.roster)[0]
        assert (alone.reviewer, alone.reviewer_key, alone.reviewer_rule) == (
            draft.reviewer, draft.reviewer_key, draft.reviewer_rule)
    # and from the analysis computed now (no step shared between routes): the same items
    again = plan_items(computed, config, review.Scope(kind="production"), rules, aliases=aliases)
    assert [_shown(d) for d in again] == [_shown(d) for d in drafts]
    # and the people split in two, the later half's rows planned by a forked child (where a fork is safe), as a
    # campaign of `PARALLEL_GRANTS` grants has them: the same rows, in the same order
    answered = []

    class Watched(item_rows.Forked):
        def result(self) -> tuple[bool, Any]:
            found = super().result()
            answered.append(found[0])
            return found

    monkeypatch.setattr(campaigns, "PARALLEL_GRANTS", 1)
    monkeypatch.setattr(item_rows, "Forked", Watched)
    spec = review.spec_from_config(config, name="split", scope=review.Scope(kind="production"), reviewers=rules)
    split = campaigns._planned_rows(workspace._store, stored, config, spec, baseline=None, previous={},
                                    aliases=aliases)
    split.ids(7, 100)  # (as `insert_items` tells it: the child hashes the rows it wrote for those ids)
    later = split.rest()
    expected = campaigns._draft_rows(drafts)
    if forks:  # the child wrote its rows into a file of its own (a SQLite file store) and hashed them
        assert isinstance(later, item_rows.ItemsFile) and os.path.exists(later.path)
        assert later.worked_out() == ((7, 100), item_rows.item_hashes(7, expected[len(split.first):], 100))
    assert split.rows() == expected and answered == [forks]
    assert 0 < len(split.first) < len(drafts)
    split.close()
    assert not isinstance(later, item_rows.ItemsFile) or not os.path.exists(later.path)
    # and created so (the first run's rows inserted while the child plans the later run's, each run's part of the
    # digest worked out by a child of its own as a campaign of `PARALLEL_ITEMS` items has it): the same rows, in
    # the same order, and the digest the creation entry commits to is the one read back
    answered.clear()
    monkeypatch.setattr(item_rows, "PARALLEL_ITEMS", 1)
    files, copied = _watch_files(monkeypatch)
    created = campaigns.create_campaign(workspace._store, config, spec, actor="security@bigco.example",
                                        analysis_of=workspace.analysis)
    # planning, the first run's hashes, and the later run's (written into a file and copied in from it, where a
    # fork is safe; else planned and hashed here)
    assert answered == [forks] * (2 if forks else 3)
    assert len(copied) == len(files) == int(forks) and not any(map(os.path.exists, files))
    assert gc.isenabled()
    with workspace._store.engine.connect() as conn:
        written = [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT {', '.join(item_rows.ITEM_COLUMNS[1:])} FROM campaign_items WHERE campaign_id = {created.id} "
            "ORDER BY id")]
        read = records.freeze(conn, created.id, created.snapshot_id)["items"]
        people = records.people_digest(conn, created.id)
    assert written == expected
    assert _frozen_items(workspace._store, created.id) == read and read["rows"] == len(drafts)
    # the reviewers' counts `campaign new` answers with, as the rows were written (the later run's
    # counted by the child that wrote its file): those read back
    counts = review.reviewer_counts(workspace._store, created.id)
    assert review.created_counts(created) == counts and sum(sum(c.values()) for c in counts.values()) == len(drafts)
    assert review.created_counts(review.get_campaign(workspace._store, created.id)) is None
    # the identities' digest, worked out from them beside planning, is the one read back
    entry = next(e for e in audit.entries(workspace._store, campaign_id=created.id) if e.action == NEW)
    assert entry.state["frozen"]["people"] == people and people["rows"] > 1000


def _watch_files(monkeypatch) -> tuple[list[str], list[int]]:
    """The files made for a later run's rows, and how many rows were copied in from one."""
    files: list[str] = []
    copied: list[int] = []
    made, copy_in = item_rows.new_items_file, item_rows._copy_in

    def new_items_file(store: Store) -> str | None:
        found = made(store)
        files.extend([found] if found else [])
        return found

    def _copy_in(conn: Any, campaign_id: int, part: Any, first: int) -> None:
        copy_in(conn, campaign_id, part, first)
        copied.append(part.count)
    monkeypatch.setattr(item_rows, "new_items_file", new_items_file)
    monkeypatch.setattr(item_rows, "_copy_in", _copy_in)
    return files, copied


def test_a_campaign_whose_creation_fails_after_its_items_are_copied_in_leaves_no_campaign_and_no_file(
        enterprise, monkeypatch, forks):
    _expect_fork()
    workspace, config = enterprise
    store = workspace._store
    monkeypatch.setattr(campaigns, "PARALLEL_GRANTS", 1)
    files, copied = _watch_files(monkeypatch)

    def fails(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk is full")
    monkeypatch.setattr(campaigns.records, "freeze", fails)  # (after the items: findings and people go in first)
    before = review.list_campaigns(store)
    with store.engine.connect() as conn:
        items_before = conn.exec_driver_sql("SELECT count(*) FROM campaign_items").scalar_one()
    spec = review.spec_from_config(config, name="fails", scope=review.Scope(kind="production"))
    with pytest.raises(RuntimeError, match="disk is full"):
        campaigns.create_campaign(store, config, spec, actor="security@bigco.example", analysis_of=workspace.analysis)
    assert len(copied) == len(files) == int(forks)
    assert all(n > 100 for n in copied) and not any(map(os.path.exists, files))
    assert gc.isenabled()  # (paused from planning until the rows were let go)
    assert review.list_campaigns(store) == before
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM campaign_items").scalar_one() == items_before
    # and the store goes on: the same campaign created afterwards
    monkeypatch.undo()
    monkeypatch.setattr(campaigns, "PARALLEL_GRANTS", 1)
    created = campaigns.create_campaign(store, config, spec, actor="security@bigco.example",
                                        analysis_of=workspace.analysis)
    with store.engine.connect() as conn:
        assert _frozen_items(store, created.id) == records.freeze(conn, created.id, created.snapshot_id)["items"]


def test_where_the_child_fails_or_hashed_for_other_ids_the_items_and_digest_are_the_same(enterprise, monkeypatch,
                                                                                         forks):
    """The child that plans the later run fails writing its file: this process plans and inserts
    those rows itself. The child hashed its rows for other ids than they get (a retried
    transaction): they are hashed again from the file. Either way the same items, the digest read
    back, and no file left."""
    _expect_fork()
    workspace, config = enterprise
    store = workspace._store
    monkeypatch.setattr(campaigns, "PARALLEL_GRANTS", 1)
    files, copied = _watch_files(monkeypatch)
    spec = review.spec_from_config(config, name="child fails", scope=review.Scope(kind="production"))

    def full() -> None:
        raise OSError("no space left on device")
    monkeypatch.setattr(item_rows, "write_items_file", lambda *args: full())  # (in the child, which forks after this)
    failed = campaigns.create_campaign(store, config, spec, actor="security@bigco.example",
                                       analysis_of=workspace.analysis)
    assert copied == [] and len(files) == int(forks) and not any(map(os.path.exists, files))
    assert review.created_counts(failed) == review.reviewer_counts(store, failed.id)  # (the later run's rows here)
    monkeypatch.undo()

    monkeypatch.setattr(campaigns, "PARALLEL_GRANTS", 1)
    files, copied = _watch_files(monkeypatch)
    planned = campaigns._planned_rows

    def told_other_ids(*args: Any, **kwargs: Any) -> Any:
        split = planned(*args, **kwargs)
        split.ids(1, 1)  # (not the ids its rows will get)
        return split
    monkeypatch.setattr(campaigns, "_planned_rows", told_other_ids)
    again = campaigns.create_campaign(store, config, replace(spec, name="hashed again"), actor="security@bigco.example",
                                      analysis_of=workspace.analysis)
    assert len(copied) == len(files) == int(forks) and not any(map(os.path.exists, files))
    assert gc.isenabled()
    with store.engine.connect() as conn:
        for made in (failed, again):
            assert _frozen_items(store, made.id) == records.freeze(conn, made.id, made.snapshot_id)["items"]
        made = [[r[2:] for r in conn.exec_driver_sql(f"SELECT * FROM campaign_items WHERE campaign_id = {c.id} "
                                                     "ORDER BY id")] for c in (failed, again)]
    assert made[0] == made[1] and len(made[0]) > 1000


def test_rows_planned_straight_away_are_the_rows_of_the_drafts(enterprise):
    """A campaign's rows planned without drafts (`plan(people, rows=True)`, what `campaign new`
    stores) are the rows `_draft_rows` makes of the drafts after their reviewers and earlier
    decisions are set: every scope, new grants against a baseline, earlier decisions on an
    unchanged and a changed grant, a fixed reviewer list taken in turn; from the stored analysis
    and from one computed now."""
    from foureyes.review.planning import planner
    from foureyes.review.values import PreviousDecision

    workspace, config = enterprise
    stored = workspace.analysis()
    computed = analyze(workspace.load_snapshot(), config, waivers=[])
    aliases = aliases_of(stored.snapshot, stored.identities, config.identity)
    everyone = plan_items(stored, config, review.Scope(kind="all"), review.ReviewerRules(fallback="ciso@bigco.example"),
                          aliases=aliases)
    baseline = {(d.person, d.key) for d in everyone[::2]}
    previous = {(d.person, d.key): (PreviousDecision(3, "Q3", "certify", "ciso@bigco.example", "2024-01-02", False),
                                    d.fingerprint if n % 2 else "changed") for n, d in enumerate(everyone[::5])}
    rules = review.ReviewerRules(rules=("app-owner", "team-maintainer", "manager"), fallback="ciso@bigco.example")
    fixed = review.ReviewerRules(rules=("fixed",), fixed=("ciso@bigco.example", "cto@bigco.example"))
    seen = set()
    for analysis in (stored, computed):
        for scope, reviewers in [(review.Scope(kind=k), rules) for k in (
                "production", "all", "drift", "unused", "conflicts", "leavers", "movers")] + [
                (review.Scope(kind="all"), fixed), (review.Scope(kind="all", apps=("payments",), systems=("github",)),
                                                    rules)]:
            people, plan = planner(analysis, config, scope, reviewers, baseline=baseline, previous=previous,
                                   aliases=aliases)
            straight = plan(people, rows=True)
            assert straight == campaigns._draft_rows(plan_items(analysis, config, scope, reviewers, baseline=baseline,
                                                                previous=previous, aliases=aliases)), scope
            # new: not among the baseline's (person, grant) pairs; a drift campaign's items are all new
            assert all(bool(r[22]) == ((r[1], r[0]) not in baseline) for r in straight), scope
            assert scope.kind != "drift" or all(r[22] for r in straight)
            seen.update((scope.kind, bool(r[22]), r[23][-5:-1]) for r in straight)
    # (new and not new items, earlier decisions unchanged and changed, in the scopes that have them)
    assert {("all", True, "true"), ("all", False, "alse"), ("all", True, "")} <= seen
    assert {k for k, *_ in seen} >= {"production", "all", "drift", "conflicts"}


def test_the_baseline_from_who_holds_which_grant_is_the_one_from_the_grants(enterprise):
    """A campaign's baseline (who held which grant then) read as keys and principals only is the one
    `reachable_grants` gives from the decoded grants, for a tier and for all."""
    from foureyes.review.planning import held_pairs
    from foureyes.review.routes import reachable_grants_of, reached_principals
    from foureyes.store import review as rows

    workspace, _ = enterprise
    stored = workspace.analysis()
    snapshot_id = stored.row.snapshot_id
    for tier in ("production", None):
        light = held_pairs(stored, tier=tier, grant_principals=rows.grant_principals(workspace._store, snapshot_id, tier))
        assert light == held_pairs(stored, tier=tier) and len(light) > 1000
    # the principals each person reaches, read from the stored reach's texts: those decoding it gives
    reached = reached_principals(stored)
    decoded = {person: [row[0] for row in stored._reach_of(person)] for person in stored.identities.people}
    assert {person: reached(person) for person in decoded} == decoded and sum(map(len, decoded.values())) > 1000
    # everyone's reachable grants in one pass: each person's, in the same order
    for tier in ("production", None):
        one_by_one = {person: stored.reachable_grants(person, tier=tier) for person in stored.identities.people}
        at_once = reachable_grants_of(stored, stored.identities.people, tier)
        assert at_once == one_by_one and all(list(at_once[p]) == list(one_by_one[p]) for p in one_by_one)
        assert sum(map(len, at_once.values())) > 1000


def test_a_baseline_and_identities_from_a_child_are_those_worked_out_here_and_a_later_fork_reads_them(
        enterprise, monkeypatch, forks):
    """A campaign's baseline and identities (`campaigns._worked_out_ahead`) are worked out by a
    forked child while its creation goes on: the same as `held_pairs` and `aliases_of` here; a
    process forked meanwhile (the planning child) reads them without working them out again (this
    process takes the answer before any fork: the child's pipe is its alone); where the child fails,
    they are worked out here."""
    _expect_fork()
    from foureyes.review import ahead as ahead_module
    from foureyes.review.planning import held_pairs
    from foureyes.store.forking import Forked

    workspace, config = enterprise
    stored = workspace.analysis()
    snapshot_id = stored.row.snapshot_id
    expected = aliases_of(stored.snapshot, stored.identities, config.identity)
    pairs = held_pairs(stored, tier="production")
    assert len(expected) > 1000 and len(pairs) > 1000
    digest = item_rows.people_digest_of(expected)
    baseline, aliases, ahead = campaigns._worked_out_ahead(workspace._store, config, stored,
                                                        (snapshot_id, "production", stored))
    if forks:  # the child's answer, from here on: never worked out in this process again
        monkeypatch.setattr(campaigns, "aliases_of", lambda *_: pytest.fail("aliases worked out again"))
        monkeypatch.setattr(campaigns, "held_by_person", lambda *_, **__: pytest.fail("baseline worked out again"))
        monkeypatch.setattr(item_rows, "people_digest_of", lambda *_: pytest.fail("digest worked out again"))
    done, seen = Forked(lambda: ({k: dict(v) for k, v in aliases.items()}, set(baseline))).result()
    assert done == forks and (seen == (expected, pairs) or not done)
    assert {k: dict(v) for k, v in aliases.items()} == expected and len(aliases) == len(expected)
    some, pair = next(iter(expected)), next(iter(pairs))
    assert some in aliases and aliases[some] == expected[some] and "nobody@nowhere" not in aliases
    assert pair in baseline and ("nobody", "no grant") not in baseline
    assert baseline == pairs and len(baseline) == len(pairs)
    assert ahead.later() == digest  # (the identities' digest, sent after them)
    # no baseline where there is no earlier snapshot; and a child that fails: worked out here
    monkeypatch.undo()
    failing = ahead_module.Ahead(lambda: "here", forget=lambda: 1 / 0)
    assert failing.value() == "here"
    none, aliases, _ = campaigns._worked_out_ahead(workspace._store, config, stored, None)
    assert none is None and dict(aliases.items()) == expected


def test_a_fork_takes_the_answer_worked_out_ahead_without_waiting_for_what_only_this_process_reads_later(forks):
    """`Ahead` with ``then``: the child sends its answer, then works out ``then(answer)``. A fork
    meanwhile (the planning child) takes the answer alone: it does not wait for the rest, which
    comes from the child later, worked out while the answer waits to be read; where the child fails
    after its answer, or before it, what it did not send is worked out here."""
    _expect_fork()
    import select

    from foureyes.review.ahead import Ahead
    from foureyes.store.forking import Forked

    parent = os.getpid()
    hear, tell = os.pipe()

    def then(answer: str) -> tuple[str, str]:  # in the child: only once this process has forked another
        if os.getpid() == parent:
            return answer, "here"
        ready, _, _ = select.select([hear], [], [], 120)
        return answer, "from the child" if ready else "never told"

    try:
        ahead = Ahead(lambda: "baseline", then=then)
        done, seen = Forked(ahead.value).result()  # (a fork that waited for `then` would wait for ever)
        os.write(tell, b"forked")
        assert done == forks and (seen == "baseline" or not done)
        assert ahead.value() == "baseline"
        assert ahead.later() == ("baseline", "from the child" if forks else "here")
    finally:
        os.close(hear)
        os.close(tell)
    # the child works out the rest while its answer (more than a pipe holds) waits to be read
    hear, tell = os.pipe()

    def started(answer: bytes) -> int:
        if os.getpid() != parent:
            os.write(tell, b"started")
        return len(answer)

    try:
        big = Ahead(lambda: b"x" * (4 << 20), then=started)
        ready, _, _ = select.select([hear], [], [], 120 if forks else 0)
        assert bool(ready) == forks
        assert big.value() == b"x" * (4 << 20) and big.later() == 4 << 20
    finally:
        os.close(hear)
        os.close(tell)
    after = Ahead(lambda: "first", then=lambda answer: (answer, "here") if os.getpid() == parent else 1 / 0)
    assert after.value() == "first" and after.later() == ("first", "here")
    before = Ahead(lambda: "first", forget=lambda: 1 / 0, then=lambda answer: (answer, os.getpid() == parent))
    assert before.later() == ("first", True) and before.value() == "first"


def test_rows_are_encoded_as_the_json_encoder_does():
    """Row digests build the C encoder once (`records._encode_row`): the same JSON as `_encode`."""
    from foureyes.store.records import _encode, _encode_row

    for row in ([1, "é\x00\u202e", None, True, False, 2.5, '"q"\\', ""], [], [[1, "a"], {"b": 1, "a": [None]}]):
        assert _encode_row(list(row)) == _encode(list(row))
    with pytest.raises(TypeError):
        _encode_row([object()])


_FORKED_PATHS = ("test_the_items_digest_written_is_the_one_read_back_and_an_edited_item_is_caught",
                 "test_items_planned_in_bulk_are_those_worked_out_one_by_one",
                 "test_a_campaign_whose_creation_fails_after_its_items_are_copied_in_leaves_no_campaign_and_no_file",
                 "test_where_the_child_fails_or_hashed_for_other_ids_the_items_and_digest_are_the_same",
                 "test_a_baseline_and_identities_from_a_child_are_those_worked_out_here_and_a_later_fork_reads_them",
                 "test_a_fork_takes_the_answer_worked_out_ahead_without_waiting_for_what_only_this_process_reads_later")


def test_the_forked_paths_are_checked_in_a_process_with_one_thread():
    """The two tests above check a big campaign's forked paths (the items' digest beside the insert,
    the later half planned by a child) only where a fork is safe; a test worker that other tests left
    threads in checks the fallback alone. Here they run again in a fresh process, which must fork."""
    import os
    import subprocess

    if parallel_possible():
        pytest.skip("this process forks: the tests above checked the forked paths themselves")
    here = Path(__file__).resolve()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                           *(f"{here}::{name}" for name in _FORKED_PATHS)],
                          cwd=here.parent.parent.parent, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "FOUREYES_TEST_EXPECT_FORK": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
