"""`analyze`'s ``split``: a later run of the people worked out elsewhere (storing an analysis forks
a child for it: `stored_holdings.start_later`) gives the findings of working everyone out here, in
the same order, and a person whose findings depend on everyone's holdings (a mover measured
against the roster baseline) keeps everyone here. In process here: the forked child's own path is
tested in test_stored_analysis.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from foureyes.analysis import analyze, roster_baseline
from foureyes.connectors.demo import TAKEN_AT, build, demo_config
from foureyes.model import Person, Snapshot
from foureyes.rules.engine import PeoplePass


@dataclass
class _Here:
    """The later run worked out when asked, in this process (or failed: None); ``resolved``: the
    people whose holdings the graph had then."""

    start: int
    work: Callable[[Sequence[Person]], PeoplePass]
    people: Sequence[Person]
    graph: Any
    fails: bool = False
    resolved: set[str] | None = None

    def result(self) -> PeoplePass | None:
        self.resolved = set(self.graph.by_person())
        return None if self.fails else self.work(self.people[self.start:])


def _snapshot(n: int, stage: str, config: Any) -> Snapshot:
    return Snapshot(id=n, taken_at=TAKEN_AT[stage], label=stage, sources=tuple(build(stage, config)))


def _findings(analysis: Any) -> list[tuple[str, str, str, int, int]]:
    return [(f.id, f.rule.id, f.person, len(f.evidence), len(f.exposed)) for f in analysis.findings]


def test_a_later_run_worked_out_elsewhere_gives_the_same_findings_in_the_same_order() -> None:
    config = demo_config()
    whole = analyze(_snapshot(2, "after", config), config, waivers=[])
    asked: list[_Here] = []
    people = list(whole.identities.people.values())
    with_findings = [n for n, p in enumerate(people) if any(f.person == p.key for f in whole.findings)]
    middle = with_findings[len(with_findings) // 2]  # people with findings on both sides of it
    assert with_findings[0] < middle

    for start, fails in ((1, False), (middle, False), (middle, True)):
        def split(graph: Any, identities: Any, work: Any, start: int = start, fails: bool = fails) -> _Here:
            asked.append(_Here(start, work, list(identities.people.values()), graph, fails))
            return asked[-1]

        parted = analyze(_snapshot(2, "after", config), config, waivers=[], split=split)
        assert _findings(parted) == _findings(whole) and parted.findings == whole.findings
        # the earlier people's holdings were resolved here, the later ones' not before they were asked for
        here = asked[-1]
        assert here.resolved == {p.key for p in here.people[:start]}
        assert set(parted.graph.by_person()) == {p.key for p in here.people}  # (all of them, in this process)
    assert [(h.start, h.fails) for h in asked] == [(1, False), (middle, False), (middle, True)]
    # the exposure findings need the later people's holdings on the subjects: the sample has them
    assert any(f.exposed for f in whole.findings)


def test_mover_rules_against_a_baseline_keep_everyone_here() -> None:
    config = demo_config()
    before = _snapshot(1, "before", config)
    baseline = roster_baseline(before, "the October snapshot")
    assert baseline is not None
    asked: list[Any] = []
    found = analyze(_snapshot(2, "after", config), config, waivers=[], baseline=baseline,
                    split=lambda *args: asked.append(args))
    assert not asked
    assert any(f.rule.id == "FE-ROS-003" for f in found.findings)  # the mover, found against everyone's holdings


def test_the_closures_built_before_a_split_and_each_runs_own_give_the_whole_graphs() -> None:
    """`Graph.build_closures` builds every closure but the accounts' own (each person's, most of the
    work) in the traversal `by_person` makes; `Graph.resolve` then builds those of its people only.
    Resolved run by run, every holding, in order, and the closures paths continue through, in
    order, are the whole graph's: on the sample and on a generated enterprise."""
    import sys
    from pathlib import Path

    from foureyes.config import parse_config
    from foureyes.graph import Graph

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate

    demo = demo_config()
    generated = parse_config('[identity]\nemail_domains = ["bigco.example"]\n', "<generated>")
    for snapshot, config in ((_snapshot(2, "after", demo), demo),
                             (Snapshot(1, "t", "", tuple(generate(0.003)[0])), generated)):
        analysis = analyze(snapshot, config, waivers=[])
        people = list(analysis.identities.people.values())
        whole = Graph(snapshot, analysis.identities, analysis.emergency.marks)
        holdings, closures = dict(whole.by_person()), list(whole.shared_closures())
        parted = Graph(snapshot, analysis.identities, analysis.emergency.marks)
        parted.build_closures()
        # (what shares the people out: each account's own grants and next hops, overlaps counted twice)
        assert sum(parted.estimated_size(p) for p in people) >= sum(map(len, holdings.values())) > 100
        middle = len(people) // 2
        first = parted.resolve(people[:middle])
        assert list(first) == [p.key for p in people[:middle]]  # (the later people's not resolved yet)
        parted.resolve(people[middle:])
        assert parted.by_person() == holdings and list(parted.by_person()) == list(holdings)
        assert list(parted.shared_closures()) == closures
