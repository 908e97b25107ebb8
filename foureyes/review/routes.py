"""Routes to grants for a whole campaign from a stored analysis: a person's hops to each principal
they reach, drawn from the stored breadth-first reach (`StoredAnalysis._reach_of`) and each from its
parent's, each edge's step drawn once for everyone. The same steps `StoredAnalysis.grant_route`
draws one grant at a time (the bulk test compares them item by item); this module reads the
stored analysis's reach and edges as that method does, so the two stay one reading."""

from __future__ import annotations

from typing import Any, Callable

from ..graph import Step
from ..graph.steps import edge_step, grant_capability_step, grant_step, head_steps
from ..model import EdgeKind, Grant
from ..stored import StoredAnalysis

Hops = Callable[[str], "tuple[Step, ...] | None"]


class RouteHops:
    """``of(person)``: the person's hops to a principal (`grant_route` without the grant's two
    steps, `grant_steps`), None where they do not reach it. None for an analysis whose routes the
    graph must draw (computed, or stored with hops the stored form does not annotate)."""

    def __init__(self, analysis: Any):
        self._analysis = analysis if isinstance(analysis, StoredAnalysis) and not analysis.marked else None
        self._steps: dict[tuple[str, str, str], Step] = {}  # (src, dst, kind) -> its step

    def _hop(self, src: str, dst: str, kind: str) -> Step:
        step = self._steps.get((src, dst, kind))
        if step is None:
            analysis = self._analysis
            assert analysis is not None
            out_edges = analysis.snapshot.edges_from(() if kind == EdgeKind.MATCHES else (src,))
            step = self._steps[(src, dst, kind)] = edge_step(analysis._edge(src, dst, kind, out_edges),
                                                             analysis.snapshot.principals)
        return step

    def of(self, person: str) -> Hops | None:
        analysis = self._analysis
        if analysis is None:
            return None
        reach = analysis._reach_of(person)
        where = {row[0]: n for n, row in enumerate(reach)}
        drawn: dict[int, tuple[Step, ...]] = {}
        found = analysis.identities.people.get(person)
        principals = analysis.snapshot.principals

        def hops(principal: str) -> tuple[Step, ...] | None:
            at = where.get(principal)
            if at is None:
                return None
            chain = []
            n = at
            while n not in drawn and reach[n][1] >= 0:
                chain.append(n)
                n = reach[n][1]
            if n not in drawn:  # the account the route starts from
                drawn[n] = tuple(head_steps(found, person, reach[n][0], principals))
            for child in reversed(chain):
                parent = reach[child][1]
                drawn[child] = (*drawn[parent], self._hop(reach[parent][0], reach[child][0], reach[child][2]))
            return drawn[at]
        return hops

    def grant_steps(self, grant: Grant) -> tuple[Step, Step]:
        """A grant's own two steps at the end of a route to it (`grant_route`'s last two)."""
        resources = self._analysis.snapshot.resources if self._analysis is not None else {}
        return grant_step(grant, resources), grant_capability_step(grant, resources)


def reached_principals(analysis: Any) -> Callable[[str], list[str]] | None:
    """The principals a person's accounts reach (what `reachable_grants` looks their grants up by),
    from a stored analysis; None for a computed one."""
    if not isinstance(analysis, StoredAnalysis):
        return None
    return lambda person: [row[0] for row in analysis._reach_of(person)]
