"""Routes to grants for a whole campaign from a stored analysis: a person's hops to each principal
they reach, drawn from the stored breadth-first reach (`StoredAnalysis._reach_of`) and each from its
parent's, each edge's step drawn once for everyone. The same steps `StoredAnalysis.grant_route`
draws one grant at a time (the bulk test compares them item by item); this module reads the
stored analysis's reach and edges as that method does, so the two stay one reading."""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterable, Sequence, TypeVar

from ..graph import Step
from ..graph.steps import edge_step, grant_capability_step, grant_step, head_steps
from ..model import EdgeKind, Grant
from ..stored import StoredAnalysis
from ..stored_form import reach_nodes

P = TypeVar("P")


def _steps(steps: Sequence[Step]) -> tuple[Step, ...]:
    return tuple(steps)


def _add(steps: tuple[Step, ...], step: Step) -> tuple[Step, ...]:
    return (*steps, step)


class RouteHops(Generic[P]):
    """``of(person)``: the person's hops to a principal (`grant_route` without the grant's two
    steps, `grant_steps`), None where they do not reach it; None for an analysis whose routes the
    graph must draw (computed, or stored with hops the stored form does not annotate).

    The hops come as ``start`` makes them of the first steps (the person, the account) and
    ``extend`` of a parent's and one more step: by default the steps themselves; planning keeps
    their texts, extended hop by hop rather than worked out again for each principal."""

    def __init__(self, analysis: Any, start: Callable[[Sequence[Step]], P] = _steps,  # type: ignore[assignment]
                 extend: Callable[[P, Step], P] = _add):  # type: ignore[assignment]
        self._analysis = analysis if isinstance(analysis, StoredAnalysis) and not analysis.marked else None
        self._steps: dict[tuple[str, str, str], Step] = {}  # (src, dst, kind) -> its step
        self._start, self._extend = start, extend

    def _hop(self, src: str, dst: str, kind: str) -> Step:
        step = self._steps.get((src, dst, kind))
        if step is None:
            analysis = self._analysis
            assert analysis is not None
            out_edges = analysis.snapshot.edges_from(() if kind == EdgeKind.MATCHES else (src,))
            step = self._steps[(src, dst, kind)] = edge_step(analysis._edge(src, dst, kind, out_edges),
                                                             analysis.snapshot.principals)
        return step

    def of(self, person: str) -> Callable[[str], P | None] | None:
        analysis = self._analysis
        if analysis is None:
            return None
        reach = analysis._reach_of(person)
        where = {row[0]: n for n, row in enumerate(reach)}
        drawn: dict[int, P] = {}
        found = analysis.identities.people.get(person)
        principals = analysis.snapshot.principals

        def hops(principal: str) -> P | None:
            at = where.get(principal)
            if at is None:
                return None
            chain = []
            n = at
            while n not in drawn and reach[n][1] >= 0:
                chain.append(n)
                n = reach[n][1]
            if n not in drawn:  # the account the route starts from
                drawn[n] = self._start(head_steps(found, person, reach[n][0], principals))
            for child in reversed(chain):
                parent = reach[child][1]
                drawn[child] = self._extend(drawn[parent], self._hop(reach[parent][0], reach[child][0],
                                                                     reach[child][2]))
            return drawn[at]
        return hops

    def grant_steps(self, grant: Grant, key: str = "") -> tuple[Step, Step]:
        """A grant's own two steps at the end of a route to it (`grant_route`'s last two); ``key``
        the grant's key when the caller knows it."""
        resources = self._analysis.snapshot.resources if self._analysis is not None else {}
        key = key or grant.key
        return grant_step(grant, resources, key=key), grant_capability_step(grant, resources, key)


def reached_principals(analysis: Any) -> Callable[[str], list[str]] | None:
    """The principals a person's accounts reach (what `reachable_grants` looks their grants up by),
    from a stored analysis; None for a computed one. Taken from the stored reach's column of
    principals where it was not decoded yet (`decode_reach`'s first column: its own texts)."""
    if not isinstance(analysis, StoredAnalysis):
        return None
    analysis._reach_of("")  # (reads every person's, as stored)
    stored = analysis._reach

    def reached(person: str) -> list[str]:
        found = stored.get(person) if stored is not None else None
        nodes = reach_nodes(found) if type(found) is str else None
        return nodes if nodes is not None else [row[0] for row in analysis._reach_of(person)]
    return reached


def reachable_grants_of(analysis: Any, people: Iterable[str], tier: str | None) -> dict[str, dict[str, Grant]]:
    """`reachable_grants(person, tier=tier)` of each of ``people``; of a stored analysis in one pass
    (its grants by principal looked up once, each principal's added with one `dict.update`: most
    principals a person reaches hold none), the same grants in the same order."""
    if not isinstance(analysis, StoredAnalysis):
        return {person: analysis.reachable_grants(person, tier=tier) for person in people}
    get, reach_of = analysis._capability_grants(tier).get, analysis._reach_of
    out: dict[str, dict[str, Grant]] = {}
    for person in people:
        found = out[person] = {}
        for node, _, _ in reach_of(person):
            grants = get(node)
            if grants:
                found.update(grants)
    return out
