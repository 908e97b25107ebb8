"""The analysis stored beside its snapshot (`foureyes.stored`): the same answers as an analysis
computed now, read back while its inputs are unchanged, and computed again when any of them
changes: a rule edited, tiers changed, the day or the roster baseline moved. Exceptions (a file,
one approved in a campaign) are its cheap second layer: the base is kept, what they cover is new.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import load_demo
from foureyes import review, stored_form
from foureyes.config import load_config_file
from foureyes.connectors import demo
from foureyes.stored import StoredAnalysis, verify
from foureyes.workspace import Workspace

CISO = "ciso@acme.com"
RULE = """
[[rule]]
id = "ACME-001"
title = "Pushes code and deploys to {tier}"
severity = "low"
kind = "conflict"
same = "any"
all_of = [{{ capability = "code.push" }}, {{ capability = "deploy.run", tier = "{tier}" }}]
rationale = "A house rule."
controls = ["SOC 2 CC8.1"]
remediation = "Split the duties."
"""


@pytest.fixture
def acme(tmp_path: Path, store_templates: Any) -> Any:
    """The demo's store and a config file (with a house rule) a test may edit; `open()` is a
    fresh workspace on them, as a new command would be."""
    url = store_templates.copy("demo", load_demo, f"sqlite:///{tmp_path / 'acme.db'}")
    rule = tmp_path / "house.toml"
    rule.write_text(RULE.format(tier="production"), encoding="utf-8")
    config = tmp_path / "foureyes.toml"
    config.write_text(demo.DEMO_CONFIG_TOML + f'\n[rules]\npaths = ["{rule.name}"]\n'
                      f'\n[campaigns]\nfallback_reviewer = "{CISO}"\nexception_max_days = 180\n', encoding="utf-8")
    opened: list[Workspace] = []

    class Acme:
        def __init__(self) -> None:
            self.url, self.rule, self.config, self.db = url, rule, config, tmp_path / "acme.db"

        def open(self) -> Workspace:
            workspace = Workspace.open(load_config_file(config), url=url)
            opened.append(workspace)
            return workspace

    yield Acme()
    for workspace in opened:
        workspace.close()


def _analysis(workspace: Workspace, ref: Any = None, **kwargs: Any) -> tuple[StoredAnalysis, bool]:
    """The analysis and whether it was computed now (the progress says so only then)."""
    said: list[str] = []
    found = workspace.analysis(ref, progress=said.append, **kwargs)
    assert isinstance(found, StoredAnalysis)
    return found, any(text.startswith("Analysing") for text in said)


def _rows(acme: Any) -> list[tuple[int, int]]:
    """(analysis id, snapshot id) of every stored analysis."""
    with sqlite3.connect(acme.db) as con:
        return con.execute("SELECT id, snapshot_id FROM analyses WHERE status = 'complete' ORDER BY id").fetchall()


def _holding(h: Any) -> tuple[Any, ...]:
    """A holding as both kinds of analysis must agree on it (not how it points into a graph,
    nor attributes no rule or path reads)."""
    return (*h[:11], h.escalation, h.time_bound, h.emergency, tuple(list(h.attrs.get("actions") or ())[:4]))


def _finding(f: Any) -> tuple[Any, ...]:
    return (f.id, f.rule.id, f.person, f.scope, f.subject, f.subject_label, f.waiver.id if f.waiver else None,
            [w.id for w in f.expired_waivers], [(r.describe(), [_holding(h) for h in hs]) for r, hs in f.evidence],
            list(f.settings), [(e.person, e.steps, e.holding and _holding(e.holding)) for e in f.exposed],
            dict(f.facts), f.fact)


def _by_capability(by_person: Any) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Each person's holdings of each capability, in order (which capability comes first is not an answer)."""
    out: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for person, held in by_person.items():
        for h in held:
            out.setdefault((person, h.capability), []).append(_holding(h))
    return out


def _people(analysis: Any) -> list[tuple[Any, ...]]:
    return [(p.key, p.display_name, p.accounts, p.linked, p.external, p.roster)
            for p in analysis.identities.people.values()]


def test_the_stored_analysis_answers_as_the_computed_one(acme):
    """People with their roster records, findings (conflicts, posture with who they expose, the
    roster's with their facts), every holding and its path, teams, matrix cells and IdP feeds."""
    workspace = acme.open()
    for sid in (1, 2):
        stored, _ = _analysis(workspace, sid)
        computed = workspace.analyse_snapshot(workspace.load_snapshot(sid))
        # a table's capabilities, read from the evidence JSON before any finding's holdings are made
        assert [f.capabilities for f in stored.findings] == [f.capabilities for f in computed.findings]
        people = stored.identities.people  # a matrix row's name and link, read without making the person
        assert [people.label(k) for k in people] == [(p.display_name, p.linked)
                                                      for p in computed.identities.people.values()]
        assert _people(stored) == _people(computed)
        roster, again = stored.identities.roster, computed.identities.roster
        assert (dict(roster.people), dict(roster.aliases), roster.unreadable, roster.sources) == (
            dict(again.people), dict(again.aliases), again.unreadable, again.sources)
        assert [_finding(f) for f in stored.findings] == [_finding(f) for f in computed.findings]
        kinds = {f.rule.kind for f in stored.findings}
        assert {"conflict", "posture", "roster"} <= kinds, kinds
        assert any(f.exposed for f in stored.findings) and any(f.facts for f in stored.findings)
        assert _by_capability(stored.by_person()) == _by_capability(computed.by_person())
        for capability in {h.capability for held in computed.by_person().values() for h in held}:
            assert ({k: [_holding(h) for h in v] for k, v in stored.holdings_of(capability).items()}
                    == {k: [_holding(h) for h in v] for k, v in computed.holdings_of(capability).items()})
        # every holding's path, read through the stored closures, is the graph's shortest
        fresh = acme.open().analysis(sid)
        standing = [h for h in fresh.holdings() if not (h.emergency or h.time_bound)]
        fresh.prefetch_paths(standing)
        drawn = {(_holding(h), fresh.path(h)) for h in standing}
        assert not fresh.graph_loaded  # no permission graph was built for any of those
        # a time-bound or emergency hop is annotated by the graph, built for those alone
        drawn |= {(_holding(h), fresh.path(h)) for h in fresh.holdings() if h.emergency or h.time_bound}
        assert drawn == {(_holding(h), computed.path(h)) for h in computed.holdings()}
        assert [fresh.marks_of(h) for h in fresh.holdings()] == [computed.marks_of(h) for h in fresh.holdings()]
        for team in stored.team_keys():
            assert stored.team_members(team) == computed.team_members(team)
        assert stored.team_keys() == computed.team_keys()
        assert stored.team_maintainers() == computed.team_maintainers()
        assert sorted(stored.matrix_cells()) == sorted(computed.matrix_cells())
        for tier in ("production", "staging"):
            assert workspace.matrix(stored, tier=tier) == workspace.matrix(computed, tier=tier)
            # what a table shows, counted from the stored counts (emergency-only resources apart)
            rows = workspace.matrix(computed, tier=tier)
            assert workspace.matrix(stored, tier=tier, counts=True) == [
                {**r, **{part: {c: len(v) for c, v in r[part].items()} for part in ("capabilities", "emergency", "used")}}
                for r in rows]
        assert any(r["emergency"] for r in workspace.matrix(stored, tier="production", counts=True))
        assert stored.feeds == computed.feeds and stored.baseline == computed.baseline
        assert stored.emergency == computed.emergency and stored.changes == computed.changes
    assert verify(workspace._store, workspace.config, stored) == []


def test_the_people_and_holdings_are_written_after_the_other_tables_and_before_the_matrix_counts(acme, monkeypatch):
    """Storing writes the holdings (encoded for the most part by a forked child) after the findings,
    closures and teams, which this process writes meanwhile, and the people (their reach worked out
    by another child); the matrix's counts, known once every holding is counted, come last. Every
    row is covered by the content digest."""
    from foureyes.store import Store

    written: list[tuple[str, list[Any]]] = []
    insert = Store.insert_rows

    def recording(self: Any, conn: Any, table: Any, rows: Any, **kwargs: Any) -> None:
        rows = list(rows)
        written.append((table.name, rows))
        insert(self, conn, table, rows, **kwargs)

    monkeypatch.setattr(Store, "insert_rows", recording)
    workspace = acme.open()
    stored, computed = _analysis(workspace, 2)
    assert computed
    order = [name for name, rows in written if rows]
    assert order[-3:] == ["analysis_people", "analysis_holdings", "analysis_nodes"]
    assert {"analysis_findings", "analysis_nodes", "analysis_teams"} <= set(order[:-3])
    nodes = [row[1] for name, rows in written if name == "analysis_nodes" for row in rows]
    counts = [node for node in nodes if node.startswith(stored_form.MATRIX_NODE)]
    assert counts and nodes[-len(counts):] == counts  # the closures first, then the counts
    assert [row[1] for row in written[-1][1]] == counts
    assert verify(workspace._store, workspace.config, stored) == []


def test_paths_drawn_hop_by_hop_or_a_few_hops_a_read_are_the_graphs(acme: Any, monkeypatch: Any) -> None:
    """A stored path's hop is drawn once and kept: drawn when first met (no `prefetch_paths`: its
    source's edges read then) or by a prefetch reading a few hops' sources and destinations at a
    time, every standing holding's path is the computed graph's, and drawn again the same."""
    workspace = acme.open()
    _analysis(workspace, 2)
    computed = workspace.analyse_snapshot(workspace.load_snapshot(2))
    expected = {(_holding(h), computed.path(h)) for h in computed.holdings() if not (h.emergency or h.time_bound)}
    assert any(s.kind == "matches" for _, steps in expected for s in steps)  # a pattern's hop is drawn too
    lazy = acme.open().analysis(2)
    monkeypatch.setattr(stored_form, "HOPS_PER_READ", 4)  # a read per few hops, or all of one source's edges
    batched = acme.open().analysis(2)
    batched.prefetch_paths(batched.holdings())
    for analysis in (lazy, batched):
        standing = [h for h in analysis.holdings() if not (h.emergency or h.time_bound)]
        assert {(_holding(h), analysis.path(h)) for h in standing} == expected
        assert [analysis.path(h) for h in standing] == [analysis.path(h) for h in standing]
        assert not analysis.graph_loaded


def test_who_can_draws_the_graphs_paths_on_either_backend(store_url: str, store_templates: Any) -> None:
    """who-can's paths (their hops' edges read by source and destination) on SQLite and PostgreSQL."""
    url = store_templates.copy("demo", load_demo, store_url)
    with Workspace.open(demo.demo_config(), url=url) as workspace:
        computed = workspace.analyse_snapshot(workspace.load_snapshot())
        for capability in ("code.push", "deploy.run", "access.admin"):
            found = workspace.who_can(capability)
            assert isinstance(found.analysis, StoredAnalysis) and found.people
            drawn = {(_holding(h), found.analysis.path(h)) for _, held in found.people for h in held}
            assert drawn == {(_holding(h), computed.path(h)) for held in computed.holdings_of(capability).values()
                             for h in held}


def test_unchanged_inputs_read_the_stored_analysis(acme):
    first, computed = _analysis(acme.open())
    assert computed  # the demo's snapshots are stored without one: the first command computes it
    again, computed_again = _analysis(acme.open())
    assert not computed_again and again.row.id == first.row.id
    assert [f.id for f in again.findings] == [f.id for f in first.findings]
    assert len(_rows(acme)) == 1


def test_an_edited_rule_recomputes_it_and_the_stale_one_says_so(acme):
    before, _ = _analysis(acme.open())
    assert {f.person for f in before.findings if f.rule.id == "ACME-001"}
    acme.rule.write_text(RULE.format(tier="staging"), encoding="utf-8")  # the rule file edited, config not
    workspace = acme.open()
    stale = workspace.stored_analysis()
    assert stale is not None and stale.stale is not None and stale.stale.changed == ("rules",)
    assert stale.row.id == before.row.id and "rule pack" in stale.stale.describe()
    after, computed = _analysis(workspace)
    assert computed and after.row.id != before.row.id and after.stale is None
    expected = workspace.analyse_snapshot(workspace.load_snapshot())
    assert ([_finding(f) for f in after.findings if f.rule.id == "ACME-001"]
            == [_finding(f) for f in expected.findings if f.rule.id == "ACME-001"])
    assert {_holding(h)[4] for f in after.findings if f.rule.id == "ACME-001" for h in f.holdings} >= {"staging"}
    current = workspace.stored_analysis()
    assert current is not None and current.stale is None and current.row.id == after.row.id


def test_changed_tiers_recompute_it(acme):
    before, _ = _analysis(acme.open())
    text = acme.config.read_text(encoding="utf-8")
    acme.config.write_text(text.replace('[tiers.dev]\n', '[tiers.dev]\ngithub_repos = ["acme/sandbox"]\n'),
                           encoding="utf-8")
    workspace = acme.open()
    stale = workspace.stored_analysis()
    assert stale is not None and stale.stale is not None and stale.stale.changed == ("config",)
    after, computed = _analysis(workspace)
    assert computed and after.row.id != before.row.id


def test_another_day_or_a_moved_roster_baseline_recomputes_it(acme):
    """Leavers' days since leaving count from the day asked for; movers are measured against the
    last closed campaign's snapshot: closing one on snapshot 2 makes 2 its own baseline."""
    workspace = acme.open()
    before, _ = _analysis(workspace)
    later, computed = _analysis(workspace, today=date(2027, 3, 1))
    assert computed and later.row.id != before.row.id
    days = {f.person: f.facts["days_since_leaving"] for f in later.findings if f.rule.id == "FE-ROS-001"}
    assert days and all(days[p] > f.facts["days_since_leaving"] for f in before.findings
                        if f.rule.id == "FE-ROS-001" for p in [f.person])
    assert {f.person for f in before.findings if f.rule.id == "FE-ROS-003"} == {"pedro.pinto@acme.com"}
    campaign = workspace.create_campaign(workspace.campaign_spec(
        name="Leavers", scope=review.Scope(kind="leavers")), actor="security@acme.com")
    workspace.close_campaign(campaign.id, actor="security@acme.com", force=True, reason="test")
    moved, computed = _analysis(workspace)
    assert computed and moved.row.id not in (before.row.id, later.row.id)
    assert moved.baseline is not None and moved.baseline.label.startswith("snapshot 2 ")
    assert not [f for f in moved.findings if f.rule.id == "FE-ROS-003"]


def test_an_exception_file_keeps_the_base_and_covers_the_finding(acme, tmp_path):
    before, _ = _analysis(acme.open())
    target = next(f for f in before.findings if f.rule.id == "FE-SOD-004" and not f.covered)
    waiver = tmp_path / "exceptions.toml"
    waiver.write_text(f'[[exception]]\nrule = "{target.rule.id}"\nperson = "{target.person}"\n'
                      f'scope = "{target.scope}"\nreason = "on-call rota"\napprover = "{CISO}"\n'
                      f'expires = 2099-01-01\n', encoding="utf-8")
    after, computed = _analysis(acme.open(), exception_files=[str(waiver)])
    assert not computed and after.row.id == before.row.id
    covered = after.finding(target.id)
    assert covered is not None and covered.covered and covered.waiver.reason == "on-call rota"
    # named in the config instead: the same base still
    text = acme.config.read_text(encoding="utf-8")
    acme.config.write_text(text.replace("[rules]\n", f'[rules]\nexceptions = ["{waiver}"]\n'), encoding="utf-8")
    named, computed = _analysis(acme.open())
    assert not computed and named.row.id == before.row.id and named.finding(target.id).covered
    assert len(_rows(acme)) == 1


def test_an_exception_approved_in_a_campaign_covers_the_finding_on_the_same_base(acme):
    workspace = acme.open()
    before, _ = _analysis(workspace)
    campaign = workspace.create_campaign(workspace.campaign_spec(name="Q4"), actor="security@acme.com")
    sam = next(i for i in workspace.items(campaign.id) if i.person == "sam.sato@acme.com"
               and any(c.rule == "FE-SOD-004" for c in i.conflicts))
    finding_id = next(c.id for c in sam.conflicts if c.rule == "FE-SOD-004")
    assert not before.finding(finding_id).covered
    outcome = workspace.decide(sam.id, "exception", actor=CISO, reason="on-call rota",
                               expires=datetime.now(timezone.utc).date() + timedelta(days=30))
    workspace.approve_exception(outcome.exception.id, actor="priscilla.payne@acme.com")
    after, computed = _analysis(acme.open())
    assert not computed and after.row.id == before.row.id
    assert after.finding(finding_id).covered and after.finding(finding_id).waiver.source.startswith("campaign ")


def test_a_tampered_stored_analysis_is_caught(acme):
    workspace = acme.open()
    stored, _ = _analysis(workspace)
    with sqlite3.connect(acme.db) as con:
        con.execute("UPDATE analysis_findings SET person = 'nobody@acme.com' WHERE seq = 0")
    problems = verify(workspace._store, workspace.config, stored)
    assert problems and "content digest" in problems[0]


def test_without_emergency_paths_or_activity_those_views_are_read_as_empty(tmp_path):
    """Nothing declared, time-bound or used: the emergency view and the change population come
    back empty without reading the whole snapshot (the TUI's Overview asks for both)."""
    from foureyes.config import parse_config
    from foureyes.connectors.base import SourceBuilder
    from foureyes.model import CODE_PUSH, Grant, Kind, Principal, Resource

    gh = SourceBuilder()
    repo = gh.resource(Resource("github", "repo", "acme/api", tier="production"))
    gh.principal(Principal("github", "ann", Kind.USER, "Ann", "ann@acme.com", attrs={"email_source": "saml"}))
    gh.grant(Grant("github", "github:ann", "write", repo, (CODE_PUSH,), detail="direct collaborator"))
    config = parse_config('[identity]\nemail_domains = ["acme.com"]\n', "<no emergency>")
    with Workspace.open(config, url=f"sqlite:///{tmp_path / 'small.db'}") as workspace:
        workspace._store.write_snapshot([gh.result("github", "github")], taken_at="2026-11-02T08:00:00+00:00")
        workspace.analysis()
        stored, computed = workspace.analysis(), workspace.analyse_snapshot(workspace.load_snapshot())
        assert (stored.emergency, stored.changes) == (computed.emergency, computed.changes)
        assert stored.snapshot._full is None  # neither needed the whole snapshot


def test_a_generated_enterprise_reads_back_as_computed(tmp_path):
    """The stored form at a (small) scale the demo does not reach: the rows written as they are
    encoded carry the digest of the rows as read back, computing the analysis again gives the same
    rows, and every person's holdings, the findings and the matrix read back as computed."""
    import sys as _sys

    from foureyes.config import parse_config

    _sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate

    results, _ = generate(0.003)
    config = parse_config('[identity]\nemail_domains = ["bigco.example"]\n', "<generated>")
    with Workspace.open(config, url=f"sqlite:///{tmp_path / 'big.db'}") as workspace:
        workspace._store.write_snapshot(results, label="generated")
        stored, computed = workspace.analysis(), workspace.analyse_snapshot(workspace.load_snapshot())
        assert isinstance(stored, StoredAnalysis)
        assert verify(workspace._store, workspace.config, stored) == []
        assert len(stored.findings) > 10 and stored.row.summary["holdings"] > 1000
        assert [f.capabilities for f in stored.findings] == [f.capabilities for f in computed.findings]  # not decoded
        assert not any(f.evidence._value for f in stored.findings)  # (the capabilities were read without holdings)
        assert [_finding(f) for f in stored.findings] == [_finding(f) for f in computed.findings]
        assert _by_capability(stored.by_person()) == _by_capability(computed.by_person())
        assert sorted(stored.matrix_cells()) == sorted(computed.matrix_cells())


def test_first_hops_through_one_edge_read_back_whatever_their_repositories_hold():
    """`encode_holdings` builds a hop's text from its edge's part, worked out once per edge and kept
    across calls: each hop still reads back as the graph names it (the grant itself as 0), and a
    repository name holding a separator still sends its blob to the JSON form."""
    from foureyes.graph import Holding
    from foureyes.stored_form import JSON_FORM, SEP_HOP, decode_holdings, encode_holdings

    edges = [("github:team/acme/platform", "member-of"), ("aws:role/deploy", "can-assume")]

    def hop_of(h: Any) -> Any:  # `Graph.stored_hop`'s form: 0, or [next principal, edge kind, next repo]
        ref, following = h.first_hop
        return 0 if ref < 0 else [*edges[ref], following[2] if following else ""]

    def held(*hops: tuple[int, Any]) -> list[Any]:
        return [Holding("p", "code.push", f"github:repo:acme/r{n}", f"acme/r{n}", "production", "", "github",
                        f"g{n}", "github:alice", 2, first_hop=hop) for n, hop in enumerate(hops)]

    def place(resource: str, repo: str) -> tuple[str, str, str]:
        return ("production", "", "github")

    seen: dict[Any, str] = {}
    batches = [
        held((0, ("code.push", "github:repo:acme/r0", "acme/r0")), (0, ("code.push", "x", "acme/r1")), (-3, None),
             (1, None), (0, None)),
        held((0, ("code.push", "x", "acme/r2")), (1, ("deploy.run", "x", "acme/api"))),
        held((0, ("code.push", "x", f"acme/odd{SEP_HOP}name")), (0, ("code.push", "x", "acme/r3"))),
    ]
    for batch in batches:
        blob = encode_holdings(batch, frozenset(), hop_of, seen)
        assert [h.first_hop for h in decode_holdings("p", "code.push", blob, place)] == [
            (None, tuple(hop_of(h)) if hop_of(h) else 0) for h in batch]
    assert blob[:1] == JSON_FORM  # the separator inside a name: this blob is JSON
    assert encode_holdings(batches[1], frozenset(), hop_of, seen)[:1] != JSON_FORM


def test_accounts_and_hops_written_once_per_blob_read_back_holding_by_holding():
    """FORMAT 7 writes a blob's accounts and first hops as tables of distinct values (a hop whose
    text ends with the holding's own repository keeps only what comes before it): every holding
    reads back with its own account and hop, whether or not its hop's repository is its own, one
    account or several; a repository holding the hops' separator sends the blob to JSON; and a
    blob in FORMAT 6's columnar form (a stale analysis, still shown) reads as before."""
    import zlib

    from foureyes.graph import Holding
    from foureyes.stored_form import (COLUMNS, JSON_FORM, SEP_COLUMN, SEP_HOP, TABLES, cells,
                                      decode_holdings, encode_holdings)

    edges = [("github:team/acme/platform", "member-of"), ("aws:role/deploy", "can-assume")]

    def hop_of(h: Any) -> Any:
        ref, following = h.first_hop
        return 0 if ref < 0 else [*edges[ref], following[2] if following else ""]

    def held(*rows: tuple[str, str, Any]) -> list[Any]:  # (repo, account, first hop)
        return [Holding("p", "code.push", f"github:repo:{repo or 'none'}", repo, "production", "", "github",
                        f"g{n}", account, n, first_hop=hop) for n, (repo, account, hop) in enumerate(rows)]

    def place(resource: str, repo: str) -> tuple[str, str, str]:
        return ("production", "", "github")

    def expected(batch: list[Any]) -> list[tuple[Any, ...]]:
        return [(h.repo, h.account, (None, tuple(hop_of(h)) if hop_of(h) else 0), h.distance) for h in batch]

    seen: dict[Any, str] = {}
    one_account = held(("acme/r0", "github:alice", (0, ("code.push", "x", "acme/r0"))),
                       ("acme/r1", "github:alice", (0, ("code.push", "x", "acme/r1"))),  # the edge's part, known
                       ("acme/r2", "github:alice", (-1, None)),  # the grant itself
                       ("acme/r3", "github:alice", (0, ("code.push", "x", "acme/other"))),  # another repository
                       ("", "github:alice", (1, None)))  # no repository at all
    several = held(("acme/r0", "aws:alice", (1, ("deploy.run", "x", "acme/r0"))),
                   ("acme/r4", "github:alice", (0, ("code.push", "x", "acme/r4"))),
                   ("r0", "aws:alice", (0, ("code.push", "x", "acme/r0"))),  # the hop ends with the repository
                   ("acme/r5", "github:bob", (0, ("code.push", "x", ""))))
    for batch in (one_account, several, list(reversed(several))):
        blob = encode_holdings(batch, frozenset(), hop_of, seen)
        assert blob[:1] == TABLES
        back = decode_holdings("p", "code.push", blob, place)
        assert [(h.repo, h.account, h.first_hop, h.distance) for h in back] == expected(batch)
        assert cells(blob, place) == list(dict.fromkeys((h.resource, "production", "", False) for h in batch))
    odd = held((f"acme/odd{SEP_HOP}name", "github:alice", (-1, None)))
    assert encode_holdings(odd, frozenset(), hop_of, seen)[:1] == JSON_FORM
    assert decode_holdings("p", "code.push", encode_holdings(odd, frozenset(), hop_of, seen), place)[0].repo == \
        f"acme/odd{SEP_HOP}name"
    # FORMAT 6's form: every value written out
    text = SEP_COLUMN.join(["github:repo:acme/r0", "acme/r0", "g0", "github:alice",
                            SEP_HOP.join(["github:team/acme/platform", "member-of", "acme/r0"]), "2", "1", "0", "0",
                            "0", ""])
    old = decode_holdings("p", "code.push", COLUMNS + zlib.compress(text.encode()), place)
    assert [(h.repo, h.account, h.first_hop, h.distance, h.latent) for h in old] == [
        ("acme/r0", "github:alice", (None, ("github:team/acme/platform", "member-of", "acme/r0")), 2, True)]


def test_blobs_are_zstd_and_the_zlib_blobs_of_analyses_stored_before_format_8_still_read():
    """Format 8 compresses every blob with zstd; an analysis stored before it (zlib: a stale one is
    shown while the current one is computed) reads the same, holdings, closures and counts alike,
    whichever thread reads it. The compressor's version is part of the analysis's key."""
    import threading
    import zlib

    from foureyes.graph import Holding
    from foureyes.stored import code_digest
    from foureyes.stored_encode import packed, unpacked
    from foureyes.stored_form import COMPRESSOR, TABLES, decode_holdings, encode_holdings, squeeze, unsqueeze

    batch = [Holding("p", "code.push", f"github:repo:acme/r{n}", f"acme/r{n}", "production", "", "github", f"g{n}",
                     "github:alice", 1, first_hop=(-1, None)) for n in range(50)]
    blob = encode_holdings(batch, frozenset(), lambda h: 0, {})
    assert blob[:1] == TABLES and blob[1:5] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    text = unsqueeze(blob[1:])
    old = TABLES + zlib.compress(text, 1)  # the same text as format 7 wrote it

    def place(resource: str, repo: str) -> tuple[str, str, str]:
        return ("production", "", "github")

    back = decode_holdings("p", "code.push", blob, place)
    assert decode_holdings("p", "code.push", old, place) == back
    assert [(h.resource, h.repo, h.grant, h.account, h.distance) for h in back] == [
        (h.resource, h.repo, h.grant, h.account, h.distance) for h in batch]
    closure = [["code.push", "github:repo:acme/r0", "acme/r0", 0, 0, "g0"]]
    assert unpacked(zlib.compress(unsqueeze(packed(closure)), 1)) == unpacked(packed(closure)) == closure
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(unsqueeze(squeeze(text))))  # a context per thread
    reader.start()
    reader.join()
    assert found == [text]
    assert COMPRESSOR.startswith("zstd ") and code_digest()  # (`code_digest` hashes it with the code)


def _in_one_thread(check: str) -> None:
    """Run this module's ``check`` here where a fork is safe, else in a fresh process: the children
    fork only from a process with one thread, and a test worker may hold threads other tests left."""
    import subprocess
    import sys as _sys

    from foureyes.store.writing import parallel_possible

    if parallel_possible():
        globals()[check]()
        return
    done = subprocess.run([_sys.executable, "-c", f"import test_stored_analysis as t; t.{check}()"],
                          cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr


def _generated() -> tuple[Any, Any]:
    """A small generated enterprise's source results, and the config its people link by."""
    import sys as _sys

    from foureyes.config import parse_config

    _sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate

    return generate(0.003)[0], parse_config('[identity]\nemail_domains = ["bigco.example"]\n', "<generated>")


def test_holdings_encoded_by_a_forked_child_are_the_ones_encoded_here():
    """`stored_holdings.holding_rows` hands the second part of the people to a forked child: the
    rows, their order and the matrix's counts are those of encoding everything here, also when
    the child stops after its first chunk (the parent encodes the rest), and with the holdings let
    go as they are written. The child forks only from a process with one thread: a test worker
    that other tests left threads in checks it in a fresh process."""
    _in_one_thread("_check_forked_holdings")


def _failing_in_children(encode: Any) -> tuple[Any, dict[str, int]]:
    """``encode`` (`stored_holdings.person_rows`) failing in a forked child after its first few
    people, and the count of its calls there (each child counts its own)."""
    import os

    parent, calls = os.getpid(), {"n": 0}

    def failing(*args: Any) -> Any:
        if os.getpid() != parent:
            calls["n"] += 1
            if calls["n"] > 5:
                raise MemoryError
        return encode(*args)
    return failing, calls


def _check_forked_holdings() -> None:
    import os as _os

    from foureyes import stored_holdings
    from foureyes.analysis import analyze
    from foureyes.model import CAPABILITIES, Snapshot
    from foureyes.store.forking import Forked
    from foureyes.stored_encode import attr_keys, encode, start_holdings
    from foureyes.stored_holdings import start_reach
    from foureyes.stored_form import MatrixCounts
    from foureyes.store.writing import parallel_possible

    assert parallel_possible(), "a fresh process has one thread"
    results, config = _generated()
    analysis = analyze(Snapshot(1, "t", "", tuple(results)), config, waivers=[])
    people, keep, hop = list(analysis.identities.people.values()), attr_keys(analysis.pack), analysis.graph.stored_hop

    def rows(consume: bool = False) -> tuple[list[Any], Any]:
        matrix = MatrixCounts(CAPABILITIES)
        by_person = dict(analysis.graph.by_person())
        found = list(stored_holdings.holding_rows(people, by_person, keep, hop, consume, matrix))
        assert not consume or not any(by_person.get(p.key) for p in people)
        return found, matrix.rows()

    here = rows()
    assert len(here[0]) > 100
    everything = [list(rows) for _, rows in encode(analysis)[0].tables()]  # encoded here alone
    saved = (stored_holdings.PARALLEL_HOLDINGS, stored_holdings.CHUNK_PEOPLE, stored_holdings.person_rows,
             stored_holdings.PARALLEL_PEOPLE, stored_holdings.SHARE)
    try:
        stored_holdings.PARALLEL_HOLDINGS, stored_holdings.CHUNK_PEOPLE, stored_holdings.PARALLEL_PEOPLE = 0, 5, 0
        for share in (0.15, saved[-1]):  # the first people's encoded here, the rest by the child; then as by default
            stored_holdings.SHARE = share
            split = stored_holdings._split(people, analysis.graph.by_person())
            assert (0 < split if share else split == 0) and split < len(people) - 10  # the child has people to encode
            assert rows() == here
            assert rows(consume=True) == here

        # begun as soon as the holdings are known, before the rules run (as `open_stored` does):
        # every table the same as encoding everything here afterwards
        # and the people's reach worked out by another child while the holdings are resolved
        started: list[Any] = []
        reach: list[Any] = []
        again = analyze(Snapshot(1, "t", "", tuple(results)), config, waivers=[],
                        graph_ready=lambda g, i: reach.append(start_reach(g, i)),
                        holdings_ready=lambda g, i, p: started.append(start_holdings(g, i, p)))
        assert len(started) == 1 and started[0][0].gi_frame.f_locals["runs"][1].worker is not None  # a child encodes
        assert len(reach) == 1 and reach[0]._pid  # a child works the reach out
        assert [list(rows) for _, rows in encode(again, started=started[0], reach=reach[0])[0].tables()] == everything
        # a reach child that failed, or answered for other people: worked out here
        for failed in (Forked(lambda: 1 / 0), Forked(lambda: ["C\x1e"])):
            assert [list(rows) for _, rows in encode(analysis, reach=failed)[0].tables()] == everything

        # the child is forked when the rows are asked for (it encodes while the people and findings
        # are written); rows never read (a write failed before the holdings) leave no child behind
        unread = stored_holdings.holding_rows(people, dict(analysis.graph.by_person()), keep, hop)
        child = unread.gi_frame.f_locals["runs"][1].worker._pid
        assert child
        del unread
        try:
            _os.waitpid(child, _os.WNOHANG)
            raise AssertionError("the child of unread rows was not reaped")
        except ChildProcessError:
            pass

        encode = stored_holdings.person_rows
        failing, _ = _failing_in_children(encode)  # the child stops after its first chunk
        stored_holdings.person_rows = failing
        assert rows() == here
        stored_holdings.person_rows = encode

        # stored: the content digest takes the row hashes the child works out beside its rows
        # (wrong ones are caught by `verify`), and holds for the rows written
        import tempfile

        from foureyes import stored
        from foureyes.store import Store
        from foureyes.store import analyses as store_analyses

        with tempfile.TemporaryDirectory() as folder, Store(f"sqlite:///{folder}/generated.db") as store:
            snapshot_id = store.write_snapshot(results, label="generated").id
            hashes = stored_holdings.holding_hashes
            for wrong in (True, False):
                stored_holdings.holding_hashes = (lambda rows: [bytes(32)] * len(rows)) if wrong else hashes
                store_analyses.delete_all(store)
                found = stored.open_stored(store, config, snapshot_id, pack=analysis.pack, waivers=[])
                assert found is not None
                problems = stored.verify(store, config, found)
                assert bool(problems) == wrong, problems
            stored_holdings.holding_hashes = hashes
    finally:
        (stored_holdings.PARALLEL_HOLDINGS, stored_holdings.CHUNK_PEOPLE, stored_holdings.person_rows,
         stored_holdings.PARALLEL_PEOPLE, stored_holdings.SHARE) = saved


def test_the_later_people_worked_out_by_a_forked_child_store_what_one_process_would():
    """Storing a computed analysis (`stored_encode.computed_parts`) hands the later people to a forked
    child (`stored_holdings.start_later`): it resolves their holdings, runs their conflict and roster
    rules, sends those findings and encodes their rows. Every table and the summary are those of
    analysing and encoding everything in one process; also when that child dies before it sends its
    findings (its people are then worked out here), or after its first rows (the rest resolved and
    encoded here). The child forks only from a process with one thread: a test worker that other
    tests left threads in checks it in a fresh process."""
    _in_one_thread("_check_split_people")


def _check_split_people() -> None:
    import os as _os

    from foureyes import stored_encode, stored_holdings
    from foureyes.analysis import analyze
    from foureyes.model import Snapshot
    from foureyes.store.writing import parallel_possible

    assert parallel_possible(), "a fresh process has one thread"
    results, config = _generated()
    alone = analyze(Snapshot(1, "t", "", tuple(results)), config, waivers=[])  # too small for any child
    parts, summary = stored_encode.encode(alone)
    everything = [list(rows) for _, rows in parts.tables()]
    assert summary["findings"] > 10 and sum(len(rows) for rows in everything) > 300
    people = list(alone.identities.people.values())
    parent, real = _os.getpid(), stored_holdings.start_later
    splits: list[Any] = []

    def recorded(graph: Any, identities: Any, work: Any, keep: Any, hop: Any) -> Any:
        found = real(graph, identities, work, keep, hop)
        splits.append(found)
        return found

    def stored_tables() -> tuple[list[Any], dict[str, Any]]:
        with stored_encode.computed_parts(Snapshot(1, "t", "", tuple(results)), config, alone.pack) as (found, told):
            return [list(rows) for _, rows in found.tables()], told

    saved = (stored_holdings.PARALLEL_HOLDINGS, stored_holdings.CHUNK_PEOPLE, stored_holdings.person_rows,
             stored_holdings.PARALLEL_PEOPLE, stored_encode.start_later)
    try:
        stored_holdings.PARALLEL_HOLDINGS, stored_holdings.CHUNK_PEOPLE, stored_holdings.PARALLEL_PEOPLE = 0, 5, 0
        stored_encode.start_later = recorded
        assert stored_tables() == (everything, summary)
        later, = splits
        assert later is not None and 0 < later.start < len(people) - 10  # the child had people of its own
        assert len(later.counts) == len(people) - later.start  # and told how many holdings each has

        def dying(graph: Any, identities: Any, work: Any, keep: Any, hop: Any) -> Any:  # before its findings
            return recorded(graph, identities, lambda run: _os._exit(3) if _os.getpid() != parent else work(run),
                            keep, hop)

        stored_encode.start_later = dying
        splits.clear()
        assert stored_tables() == (everything, summary)
        assert splits[0] is not None and not splits[0].counts  # it was forked, and said nothing

        failing, calls = _failing_in_children(stored_holdings.person_rows)  # each child stops after its first chunk
        stored_encode.start_later, stored_holdings.person_rows = recorded, failing
        splits.clear()
        assert stored_tables() == (everything, summary)
        assert splits[0].counts and calls["n"] == 0  # its findings came (in the children: most of the rows did not)
    finally:
        (stored_holdings.PARALLEL_HOLDINGS, stored_holdings.CHUNK_PEOPLE, stored_holdings.person_rows,
         stored_holdings.PARALLEL_PEOPLE, stored_encode.start_later) = saved
