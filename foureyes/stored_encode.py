"""A computed analysis encoded as the rows of its stored form (`stored.open_stored` writes them),
the other core working beside this one: the people's reach, the later run of the people and the
earlier run's holdings' rows are each worked out by a forked child (`stored_holdings`)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date
from typing import Any, Callable, Iterator

from .analysis import Analysis, RosterBaseline, analyze
from .bulk import gc_paused
from .config import Config
from .graph import Graph, Holding
from .identity import Identities
from .model import CAPABILITIES, Kind, Snapshot
from .rules import Finding, RulePack
from .store.analyses import Parts
from .store.forking import Forked
from .stored_form import MatrixCounts, canonical, kept_attrs, roster_json, squeeze, unsqueeze
from .stored_holdings import KnownHashes, Later, holding_rows, people_rows, start_later, start_reach


def packed(value: Any) -> bytes:
    """JSON, compressed: a closure's or a roster's row."""
    return squeeze(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def unpacked(blob: bytes) -> Any:
    """What `packed` packed."""
    return json.loads(unsqueeze(blob).decode("utf-8", "surrogatepass"))


def attr_keys(pack: RulePack) -> frozenset[str]:
    """The grant attributes a holding keeps: those rules test (`where`), and the actions a path names."""
    return frozenset({"actions"} | {k for rule in pack for r in rule.requirements for k in r.where})


def start_holdings(graph: Graph, identities: Identities, pack: RulePack, *, consume: bool = False,
                   later: Later | None = None) -> tuple[Iterator[tuple[str, str, bytes]], MatrixCounts, KnownHashes]:
    """The holdings' rows of `encode` (and the matrix's counts, counted as they are read), begun:
    where a child encodes part of them, it starts now. `open_stored` begins them as soon as the
    holdings are known (`analyze`'s ``holdings_ready``), so the child encodes while the rules run.
    ``later``: the later run of the people, whose holdings another child resolved (`start_later`)."""
    matrix = MatrixCounts(CAPABILITIES)  # the matrix's counts per tier, read without the holdings
    known = KnownHashes()  # the row hashes the child works out beside its rows
    rows = holding_rows(list(identities.people.values()), graph.by_person(), attr_keys(pack), graph.stored_hop,
                        consume, matrix, known, later=later, resolve=graph.resolve)
    return rows, matrix, known


def encode(analysis: Analysis, *, consume: bool = False,
           started: tuple[Iterator[tuple[str, str, bytes]], MatrixCounts, KnownHashes] | None = None,
           reach: Forked | None = None, later: Later | None = None) -> tuple[Parts, dict[str, Any]]:
    """An analysis (computed, without exceptions) as the rows of its stored form, and its summary.
    People, holdings and closures are iterators, encoded as they are written (`analyses.write`):
    at a million holdings their rows would otherwise all be held at the peak. ``consume``: the
    analysis is not used afterwards, and each person's holdings are let go once written.
    ``started``, ``reach``: the analysis's `start_holdings` (the same ``consume``) and `start_reach`;
    ``later``: its `start_later`, whose people's holdings are not this analysis's (their counts are)."""
    graph, identities = analysis.graph, analysis.identities
    keep = attr_keys(analysis.pack)
    hop = graph.stored_hop
    with gc_paused():
        by_person = graph.by_person()
        people = list(identities.people.values())
        # first: where a child encodes part of the holdings, it starts now, beside everything below
        holding_part, matrix, known = started or start_holdings(graph, identities, analysis.pack, consume=consume)
        finding_rows = []
        for seq, f in enumerate(analysis.findings):
            evidence = [[_requirement_index(f, req), [[h.capability, *_held(h, keep, hop)] for h in holdings]]
                        for req, holdings in f.evidence]
            finding_rows.append((seq, f.id, f.rule.id, f.person, f.scope, f.subject, f.subject_label,
                                 json.dumps(evidence, ensure_ascii=False), _details(f, keep, hop)))
        maintainers = graph.team_maintainers()
        team_rows = []
        for key, principal in analysis.snapshot.principals.items():
            if principal.kind == Kind.TEAM:
                team_rows.append((key, json.dumps(sorted(graph.members_of([key]))),
                                  json.dumps(maintainers.get(key, []))))
    roster_rows = [(packed(roster_json(identities.roster)),)] if identities.roster.configured else []
    # "marked": some hop is time-bound or a declared emergency path: such paths are drawn by the graph
    found = analysis.emergency
    theirs = later.counts if later is not None else {}

    def count(key: str) -> int:
        found = theirs.get(key)
        return len(by_person.get(key, ())) if found is None else found

    summary = {"people": len(people), "holdings": sum(count(p.key) for p in people),
               "findings": len(finding_rows), "marked": bool(found.marks),
               # anything declared, time-bound or used: else the emergency view is empty, read as such
               "emergency": bool(found.paths or found.timed or found.uses or found.facts or found.annotations)}
    closures = ((node, packed(entries)) for node, entries in graph.shared_closures())  # (nodes: the counts come last)
    return Parts(people_rows(graph, people, count, reach), holding_part, finding_rows, closures,
                 team_rows, roster_rows, counts=_count_rows(matrix), hashed=known), summary


def _count_rows(matrix: MatrixCounts) -> Iterator[tuple[Any, ...]]:
    """The nodes table's last rows: the matrix's counts, counted while the holdings were written."""
    if not matrix.finished:
        raise RuntimeError("the matrix's counts are read before the holdings were all written")
    yield from matrix.rows()


def _held(h: Holding, keep: frozenset[str], hop: Callable[[Holding], Any]) -> list[Any]:
    """A holding of a finding's evidence or exposure, without its person and capability (JSON)."""
    return [h.resource, h.repo, h.tier, h.app, h.system, h.grant, h.account, h.distance, int(h.latent),
            kept_attrs(h.attrs, keep), hop(h), int(h.escalation), int(h.time_bound), int(h.emergency)]


def _details(f: Finding, keep: frozenset[str], hop: Callable[[Holding], Any]) -> str:
    """What a posture finding (settings, who it exposes) and a roster finding (facts) add."""
    out: dict[str, Any] = {}
    if f.settings:
        out["settings"] = [[k, v] for k, v in f.settings]
    if f.exposed:  # JSON in the JSON: read with the finding, decoded when first asked for (thousands of people)
        out["exposed"] = json.dumps([[e.person, [[s.system, s.kind, s.node, s.how, s.key] for s in e.steps],
                                      [e.holding.person, e.holding.capability, *_held(e.holding, keep, hop)]
                                      if e.holding else 0] for e in f.exposed], ensure_ascii=False, default=_jsonable)
    if f.facts:
        out["facts"] = dict(f.facts)
    if f.fact is not None:
        out["fact"] = canonical(f.fact)
    return json.dumps(out, ensure_ascii=False, default=_jsonable) if out else "{}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _requirement_index(finding: Finding, requirement: Any) -> int:
    requirements = finding.rule.requirements
    for n, r in enumerate(requirements):
        if r is requirement:
            return n
    return requirements.index(requirement)




@contextmanager
def computed_parts(snapshot: Snapshot, config: Config, pack: RulePack, *, today: date | None = None,
                   baseline: RosterBaseline | None = None, progress: Callable[[str], None] = lambda text: None
                   ) -> Iterator[tuple[Parts, dict[str, Any]]]:
    """The snapshot analysed (without exceptions) and encoded for storing (`encode`, consumed as
    written), the other core working beside this one: a forked child works out the people's reach
    (`start_reach`), another the later run of the people (`start_later`: their holdings, their
    conflict and roster rules, their holdings' rows), a third the rows of the earlier run's
    holdings (`start_holdings`). Children still running when the parts are let go are stopped."""
    snapshot_id = snapshot.id
    progress(f"Analysing snapshot {snapshot_id}: linking people, resolving paths, running rules…")
    started: list[Any] = []
    reach: list[Forked | None] = []
    later: list[Later] = []

    def split(graph: Graph, identities: Identities, work: Any) -> Later | None:
        found = start_later(graph, identities, work, attr_keys(pack), graph.stored_hop)
        later.extend([found] if found is not None else [])
        return found

    try:
        computed = analyze(snapshot, config, pack=pack, waivers=[], today=today, baseline=baseline,
                           graph_ready=lambda graph, identities: reach.append(start_reach(graph, identities)),
                           split=split,
                           holdings_ready=lambda graph, identities, pack: started.append(
                               start_holdings(graph, identities, pack, consume=True,
                                              later=later[0] if later else None)))
        del snapshot
        progress(f"Storing the analysis of snapshot {snapshot_id}…")
        found = encode(computed, consume=True, started=started.pop() if started else None,
                       reach=reach[0] if reach else None, later=later[0] if later else None)
        del computed
        yield found
    finally:
        for child in reach:  # not asked for (something failed on the way): stopped
            if child is not None:
                child.cancel()
        for run in later:  # (its rows all read, or something failed on the way)
            run.stop()


