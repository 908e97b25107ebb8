"""The permission graph: which person reaches which capability, and the path that explains it.

Principals are nodes; member-of, can-assume and can-trigger edges connect them; grants
attach capabilities. Each node's reachable capabilities are computed once (strongly
connected components, so role cycles are fine) and shared by everyone who reaches it.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict, deque
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..identity import Identities
from ..model import (
    Edge,
    EdgeKind,
    Grant,
    Kind,
    Person,
    Principal,
    Snapshot,
    Via,
    subject_repo,
    workload_matches,
)
from .steps import (
    Holding,
    Marks,
    RouteMarks,
    Step,
    _label,
    capability_step,
    edge_step,
    grant_capability_step,
    grant_step,
    head_steps,
    match_edge,
    person_step,
)

__all__ = ["Graph", "Holding", "Marks", "RouteMarks", "Step", "capability_step", "edge_step",
           "grant_capability_step", "grant_step", "head_steps", "match_edge", "person_step"]

# A closure entry: (distance, ref, next key, grant index). ref >= 0 is an edge index, ref < 0
# is grant index -(ref + 1). The next key is the key in the successor's closure; the grant
# index is the grant the path ends in. An escalation (a can-escalate edge, a grant marked
# "escalation") adds ESCALATION to the distance, so a route without one always wins and
# distance // ESCALATION counts the escalations on the chosen route.
Entry = tuple[int, int, "tuple[str, str, str] | None", int]
ESCALATION = 1000
# A time-bound hop (a grant with an expiry, a just-in-time assignment) and a hop through a
# declared emergency path cost more still, the same way: a standing route always wins, and a
# holding whose every route is time-bound (or an emergency) is marked so. Emergency is dearest:
# what can be reached by escalating standing rights is standing access, not an emergency.
TIME_BOUND = 1_000_000
EMERGENCY = 1_000_000_000
HoldKey = tuple[str, str, str]  # (capability, resource key, repo)



_NO_CLOSURE: Mapping[HoldKey, Entry] = MappingProxyType({})
_new_holding = tuple.__new__  # a `Holding` from all its fields at once (`Graph._holding`)


class Graph:
    """Capabilities of every person in a snapshot, with shortest explaining paths."""

    def __init__(self, snapshot: Snapshot, identities: Identities, marks: Marks | None = None):
        self.snapshot = snapshot
        self.identities = identities
        self.marks = marks or Marks()
        self.principals: Mapping[str, Principal] = snapshot.principals
        self.resources = snapshot.resources
        # The indexes below are the graph's own: other modules use the traversal API instead.
        self._grants: list[Grant] = list(snapshot.grants())
        self._edges: list[Edge] = sorted(snapshot.edges(), key=lambda e: (e.src, e.kind, e.dst))
        self._edges.extend(self._workload_matches())
        self._out: dict[str, list[int]] = defaultdict(list)
        for index, edge in enumerate(self._edges):
            self._out[edge.src].append(index)
        self._cost = [ESCALATION + 1 if e.kind == EdgeKind.CAN_ESCALATE else 1 for e in self._edges]
        # the extra cost each marked grant starts with, by grant index
        self._grant_cost: dict[int, int] = {}
        if self.marks:
            nodes, timed = self.marks.emergency_nodes, self.marks.timed_edges
            for index, edge in enumerate(self._edges):
                if edge.dst in nodes:
                    self._cost[index] += EMERGENCY
                if (edge.src, edge.dst) in timed:
                    self._cost[index] += TIME_BOUND
            for position in self.marks.emergency_grants:
                self._grant_cost[position] = self._grant_cost.get(position, 0) + EMERGENCY
            for position in self.marks.timed_grants:
                self._grant_cost[position] = self._grant_cost.get(position, 0) + TIME_BOUND
        self._in: dict[str, list[int]] | None = None  # edges by destination, built on first use
        self._own: dict[str, list[int]] = defaultdict(list)
        for index, grant in enumerate(self._grants):
            if grant.capabilities:
                self._own[grant.principal].append(index)
        # Ties between equally short paths break on the grant itself, never on load order.
        grants = self._grants
        for indexes in self._own.values():
            if len(indexes) > 1:
                indexes.sort(key=lambda i: (grants[i].resource, grants[i].entitlement, grants[i].system))
        self._repo_of_resource: dict[str, str] = {}
        # keys the store already knows, aligned with self._grants; otherwise hashed on demand
        self._known_keys: list[str] | None = None
        if all(len(s.grant_keys) == len(s.grants) for s in snapshot.sources):
            self._known_keys = [k for s in snapshot.sources for k in s.grant_keys]
        self._grant_keys: dict[int, str] = {}
        self._where: dict[tuple[str, str], tuple[str, str, str]] = {}  # (resource, repo) -> tier, app, system
        reached = {e.dst for e in self._edges}
        self._sources_only = {a.principal for p in identities.people.values() for a in p.accounts} - reached
        self._closure: dict[str, dict[HoldKey, Entry]] = {}
        self._holdings: dict[str, list[Holding]] | None = None
        self._members_of: dict[str, list[str]] | None = None  # principal -> its direct members (member-of)
        self._succ: dict[str, list[tuple[str, str]]] | None = None  # `_successors`, built on first use

    # ------------------------------------------------------------ public

    def holdings(self, person: str | None = None) -> list[Holding]:
        """Every capability holding, or one person's; computed once, then cached."""
        if self._holdings is None:
            self._holdings = self._compute()
        if person is None:
            return [h for hs in self._holdings.values() for h in hs]
        return list(self._holdings.get(person, ()))

    def by_person(self) -> Mapping[str, list[Holding]]:
        if self._holdings is None:
            self._holdings = self._compute()
        return self._holdings

    def build_closures(self) -> None:
        """The closures of every node but the accounts nobody else reaches, built now as the first
        `by_person` builds them (the same traversal, so the same closures in the same order; a child
        forked afterwards shares them): each such account's own closure, most of the work, is left
        to `resolve`, which builds those of its people only."""
        self._build_closures(defer_sources=True)

    def estimated_size(self, person: Person) -> int:
        """About how many holdings the person has once `build_closures` ran: what each of their
        accounts' own grants and next hops confer (overlaps counted twice)."""
        own, grants, closure, edges = self._own, self._grants, self._closure, self._edges
        return sum(sum(len(grants[g].capabilities) for g in own.get(a.principal, ()))
                   + sum(len(closure.get(edges[e].dst, ())) for e in self._out.get(a.principal, ()))
                   for a in person.accounts)

    def resolve(self, people: Sequence[Person]) -> Mapping[str, list[Holding]]:
        """The holdings of these people, added to what `by_person` gives (which, until every
        person is resolved, holds only those: the others' are worked out elsewhere, `analyze`'s
        ``split``)."""
        found = self._compute(people)
        if self._holdings is None:
            self._holdings = found
        else:
            self._holdings.update(found)
        return found

    def path(self, holding: Holding) -> tuple[Step, ...]:
        """The shortest path from the person to the capability, hop by hop."""
        person = self.identities.people.get(holding.person)
        steps: list[Step] = head_steps(person, holding.person, holding.account, self.principals)
        node = holding.account
        ref, next_key = self._first_hop(holding)
        guard = 0
        while ref is not None:
            guard += 1
            if guard > 10_000:  # a broken closure must not hang the UI
                break
            if ref < 0:
                steps.append(self._grant_step(self._grants[-ref - 1], -ref - 1))
                break
            edge = self._edges[ref]
            steps.append(self._edge_step(edge))
            node = edge.dst
            if next_key is None:
                break
            entry = self._closure_of(node).get(next_key)
            if entry is None:
                break
            _, ref, next_key, _ = entry
        steps.append(capability_step(holding))
        return tuple(steps)

    def _first_hop(self, holding: Holding) -> tuple[int | None, Any]:
        """The holding's first hop into this graph; a holding read back from the store carries
        its hop by name (ref None), so it is found again in the account's closure."""
        ref, next_key = holding.first_hop
        if ref is not None:
            return ref, next_key
        entry = self._closure_of(holding.account).get((holding.capability, holding.resource, holding.repo))
        return (entry[1], entry[2]) if entry is not None else (None, None)

    # ------------------------------------------------------------ the stored form (`foureyes.stored`)

    def stored_hop(self, holding: Holding) -> Any:
        """The first hop by name: 0 for the grant itself, else [next principal, edge kind, next repo]."""
        return self._hop(*self._first_hop(holding))

    def _hop(self, ref: int | None, next_key: Any) -> Any:
        if ref is None or ref < 0:
            return 0
        edge = self._edges[ref]
        return [edge.dst, edge.kind, next_key[2] if next_key else ""]

    def shared_closures(self) -> Iterator[tuple[str, list[list[Any]]]]:
        """Every closure kept after `holdings` (nodes more than one path goes through), by name:
        [capability, resource, repo, distance, hop, grant key] per entry. Paths continue through these."""
        self.by_person()
        for node, closure in self._closure.items():
            if node in self._sources_only:  # (those of people resolved elsewhere: `resolve`)
                continue
            yield node, [[key[0], key[1], key[2], entry[0], self._hop(entry[1], entry[2]),
                          self._grant_key(entry[3])] for key, entry in closure.items()]

    def reach(self, accounts: Iterable[str]) -> list[list[Any]]:
        """Every principal the accounts reach, breadth first, each with the index of the node it is
        reached from and the edge's kind ([account, -1, ""] for the accounts): shortest routes to
        every grant the accounts reach, for campaign planning."""
        out: list[list[Any]] = []
        where: dict[str, int] = {}
        for account in accounts:
            if account not in where:
                where[account] = len(out)
                out.append([account, -1, ""])
        successors = self._successors()
        at = 0
        while at < len(out):
            for dst, kind in successors.get(out[at][0], ()):
                if dst not in where:
                    where[dst] = len(out)
                    out.append([dst, at, kind])
            at += 1
        return out

    def _successors(self) -> dict[str, list[tuple[str, str]]]:
        """(destination, kind) of the edges leaving each principal, in `_out`'s order: `reach` runs
        once per person."""
        if self._succ is None:
            edges = self._edges
            self._succ = {src: [(edges[i].dst, edges[i].kind) for i in indexes] for src, indexes in self._out.items()}
        return self._succ

    def route(self, holding: Holding) -> tuple[list[Edge], Grant | None]:
        """The edges of the holding's shortest path, from its account, and the grant it ends in."""
        edges, grant = self._route_indexes(holding)
        return [self._edges[i] for i in edges], (self._grants[grant] if grant is not None else None)

    def _route_indexes(self, holding: Holding) -> tuple[list[int], int | None]:
        edges: list[int] = []
        ref, next_key = self._first_hop(holding)
        for _ in range(10_000):
            if ref is None:
                break
            if ref < 0:
                return edges, -ref - 1
            edges.append(ref)
            entry = self._closure_of(self._edges[ref].dst).get(next_key) if next_key else None
            if entry is None:
                break
            ref, next_key = entry[1], entry[2]
        return edges, None

    def marks_of(self, holding: Holding) -> RouteMarks:
        """The emergency paths and time-bound hops on the holding's shortest route."""
        if not self.marks or not (holding.emergency or holding.time_bound):
            return RouteMarks()
        edges, position = self._route_indexes(holding)
        names: list[str] = []
        expiries: list[str] = []
        timed = False
        for edge in (self._edges[i] for i in edges):
            name = self.marks.emergency_nodes.get(edge.dst)
            if name and name not in names:
                names.append(name)
            if (edge.src, edge.dst) in self.marks.timed_edges:
                timed = True
                expiries.append(self.marks.timed_edges[(edge.src, edge.dst)])
        if position is not None:
            name = self.marks.emergency_grants.get(position, "")
            if name and name not in names:
                names.append(name)
            if position in self.marks.timed_grants:
                timed = True
                expiries.append(self.marks.timed_grants[position])
        known = [e for e in expiries if e]
        expires = min(known) if known and len(known) == len(expiries) else ""
        return RouteMarks(tuple(names), timed and holding.time_bound, expires)

    def paths(self, holding: Holding, *, limit: int = 8) -> list[tuple[Step, ...]]:
        """Every distinct route (up to ``limit``) by which the person holds this capability."""
        person = self.identities.people.get(holding.person)
        if person is None:
            return [self.path(holding)]
        found: list[tuple[Step, ...]] = []
        seen_grants: set[tuple[str, ...]] = set()
        for link in person.accounts:
            for route in self._routes(link.principal, holding, depth=0, visited=frozenset(), budget=[2000]):
                signature = tuple(route)
                if signature in seen_grants:
                    continue
                seen_grants.add(signature)
                account = self.principals.get(link.principal)
                head = [self._person_step(person, person.key)]
                if account is not None and person.linked:
                    head.append(Step(account.system, "account", _label(account), f"linked by {link.evidence}",
                                     account.key))
                body = [self._edge_step(self._edges[r]) if r >= 0 else self._grant_step(self._grants[-r - 1], -r - 1)
                        for r in route]
                found.append(tuple(head + body + [self._capability_step(holding)]))
                if len(found) >= limit:
                    return sorted(found, key=len)
        return sorted(found, key=len) or [self.path(holding)]

    # ------------------------------------------------------------ traversal

    def reachable_grants(self, accounts: Iterable[str]) -> dict[str, Grant]:
        """Every capability-conferring grant the accounts reach through member-of, can-assume,
        can-trigger and CI-match edges, by grant key (breadth first; cycles are fine)."""
        seen = set(accounts)
        queue = deque(seen)
        found: dict[str, Grant] = {}
        while queue:
            node = queue.popleft()
            for index in self._own.get(node, ()):
                found[self._grant_key(index)] = self._grants[index]
            for index in self._out.get(node, ()):
                succ = self._edges[index].dst
                if succ not in seen:
                    seen.add(succ)
                    queue.append(succ)
        return found

    def route_to(self, accounts: Iterable[str], principal: str) -> list[Edge] | None:
        """The shortest chain of edges from one of the accounts to ``principal`` (the holder of a
        grant): ``[]`` when it is one of the accounts, None when none of them reaches it."""
        found = self.route_from(accounts, principal)
        return None if found is None else found[1]

    def route_from(self, accounts: Iterable[str], principal: str) -> tuple[str, list[Edge]] | None:
        """`route_to`, with the account the chain starts from."""
        starts = list(dict.fromkeys(accounts))
        if principal in starts:
            return principal, []
        came: dict[str, tuple[str, int] | None] = {a: None for a in starts}
        queue = deque(starts)
        while queue:
            node = queue.popleft()
            for index in self._out.get(node, ()):
                succ = self._edges[index].dst
                if succ in came:
                    continue
                came[succ] = (node, index)
                if succ == principal:
                    chain: list[Edge] = []
                    step, start = came[succ], succ
                    while step is not None:
                        start, edge_index = step
                        chain.append(self._edges[edge_index])
                        step = came[start]
                    return start, chain[::-1]
                queue.append(succ)
        return None

    def team_members(self, team: str) -> set[str]:
        """Person keys reaching a GitHub team, its child teams' members included.

        ``team`` is a slug (``web``), ``org/slug`` (``acme/web``), the team's id
        (``team/acme/web``) or its key (``github:team/acme/web``); a slug matches that team in
        every organisation of the snapshot.
        """
        targets = [k for k, p in self.principals.items()
                   if p.kind == Kind.TEAM and (p.id == team or k == team or p.id.endswith("/" + team))]
        return self.members_of(targets)

    def members_of(self, targets: Iterable[str]) -> set[str]:
        """Person keys reaching any of these principals through member-of edges (child teams' members)."""
        targets = list(targets)
        if not targets:
            return set()
        members = self._member_index()
        seen, frontier = set(targets), list(targets)
        while frontier:
            for src in members.get(frontier.pop(), ()):
                if src not in seen:
                    seen.add(src)
                    frontier.append(src)
        person_of = self.identities.person_of
        return {person_of[k] for k in seen if k in person_of}

    def team_maintainers(self) -> dict[str, list[str]]:
        """Team principal key -> person keys of its maintainers (member-of edges labelled so)."""
        out: dict[str, set[str]] = defaultdict(set)
        for edge in self.snapshot.edges():
            if edge.kind != EdgeKind.MEMBER_OF:
                continue
            if edge.attrs.get("role") == "maintainer" or edge.label.startswith("maintainer of"):
                person = self.identities.person_of.get(edge.src)
                if person:
                    out[edge.dst].add(person)
        return {team: sorted(people) for team, people in out.items()}

    def index_teams(self) -> None:
        """Build the team-membership index now (in a worker): at 20,000 people a scan of every
        edge takes a fifth of a second, and `team_members` is then instant."""
        self._member_index()

    def _member_index(self) -> dict[str, list[str]]:
        """Principal -> its direct members (member-of edges), built once."""
        if self._members_of is None:
            members: dict[str, list[str]] = defaultdict(list)
            for edge in self._edges:
                if edge.kind == EdgeKind.MEMBER_OF:
                    members[edge.dst].append(edge.src)
            self._members_of = dict(members)
        return self._members_of

    def inbound(self, node: str) -> list[Edge]:
        """The edges into ``node`` (who can act as it, one hop away)."""
        return [self._edges[i] for i in self._inbound().get(node, ())]

    def reaching(self, node: str, *, first: Callable[[Edge], bool] | None = None) -> list[tuple[str, tuple[Step, ...]]]:
        """People who can act as ``node``, each with a shortest path to it (person first, ``node`` last).

        ``first`` chooses which edges into ``node`` count (the wildcard trust patterns of a
        role, say): a posture finding's blast radius is everyone who reaches it that way.
        """
        inbound = self._inbound()
        toward: dict[str, tuple[int, int]] = {}  # principal -> (distance, edge index toward node)
        frontier: list[str] = []
        for index in inbound.get(node, ()):
            src = self._edges[index].src
            if src not in toward and (first is None or first(self._edges[index])):
                toward[src] = (1, index)
                frontier.append(src)
        distance = 1
        while frontier:
            distance += 1
            found: list[str] = []
            for current in frontier:
                for index in inbound.get(current, ()):
                    src = self._edges[index].src
                    if src != node and src not in toward:
                        toward[src] = (distance, index)
                        found.append(src)
            frontier = found
        out: list[tuple[str, tuple[Step, ...]]] = []
        person_of, people = self.identities.person_of, self.identities.people
        for key in sorted({person_of[n] for n in toward if n in person_of}):
            person = people[key]
            starts = [(toward[a.principal][0], a.principal, a) for a in person.accounts if a.principal in toward]
            _, start, _ = min(starts, key=lambda s: (s[0], s[1]))
            steps = head_steps(person, person.key, start, self.principals)
            current = start
            for _ in range(10_000):  # a broken index must not hang the caller
                if current == node or current not in toward:
                    break
                edge = self._edges[toward[current][1]]
                steps.append(self._edge_step(edge))
                current = edge.dst
            out.append((person.key, tuple(steps)))
        return sorted(out, key=lambda item: (len(item[1]), item[0]))

    def _inbound(self) -> dict[str, list[int]]:
        if self._in is None:
            self._in = defaultdict(list)
            for index, edge in enumerate(self._edges):
                self._in[edge.dst].append(index)
        return self._in

    # ------------------------------------------------------------ closure

    def _compute(self, people: Sequence[Person] | None = None) -> dict[str, list[Holding]]:
        """Every person's holdings (only those of ``people`` where given)."""
        theirs = None if people is None else {a.principal for p in people for a in p.accounts}
        self._build_closures(None if theirs is None else sorted(theirs))
        result: dict[str, list[Holding]] = {}
        make = self._holding
        # `_holding`'s common case (no escalation, emergency or time-bound hop), inlined: this builds
        # every holding of the organisation, a million and more
        new, where, granted = _new_holding, _Places(self), _Granted(self)
        for person in self.identities.people.values() if people is None else people:
            accounts = person.accounts
            if len(accounts) == 1:  # most people: one account's closure, nothing to merge
                account, key_of = accounts[0].principal, person.key
                result[key_of] = [
                    new(Holding, (key_of, *where[key], grant[0], account, entry[0] + 1,
                                  grant[1], grant[2], (entry[1], entry[2]), False, False, False))
                    if entry[0] < ESCALATION and (grant := granted[entry[3]]) is not None
                    else make(key_of, key, account, entry)
                    for key, entry in self._closure_of(account).items()]
                continue
            merged: dict[HoldKey, tuple[int, str, Entry]] = {}
            for link in accounts:
                for key, entry in self._closure_of(link.principal).items():
                    best = merged.get(key)
                    if best is None or entry[0] < best[0]:
                        merged[key] = (entry[0], link.principal, entry)
            key_of = person.key
            result[key_of] = [  # as above
                new(Holding, (key_of, *where[key], grant[0], account, entry[0] + 1,
                              grant[1], grant[2], (entry[1], entry[2]), False, False, False))
                if entry[0] < ESCALATION and (grant := granted[entry[3]]) is not None
                else make(key_of, key, account, entry)
                for key, (_, account, entry) in merged.items()]
        # Closures of accounts nobody else reaches are not needed again: each holding keeps
        # its first hop, and paths continue through shared nodes whose closures stay.
        gone = self._sources_only if theirs is None else theirs & self._sources_only
        for node in gone:
            self._closure.pop(node, None)
        return result

    def _holding(self, person: str, key: HoldKey, account: str, entry: Entry) -> Holding:
        capability, resource_key, repo = key
        where = self._where.get((resource_key, repo))
        if where is None:
            where = self._where[(resource_key, repo)] = self._place(resource_key, repo)
        attrs = self._grants[entry[3]].attrs
        # every field, straight into the tuple (a million named tuples are built here: the named
        # tuple's own __new__, a Python function, cost a third of it)
        holding = _new_holding(Holding, (person, capability, resource_key, repo, where[0], where[1], where[2],
                                         self._grant_key(entry[3]), account, entry[0] + 1,
                                         bool(attrs.get("latent", False)) if attrs else False, attrs,
                                         (entry[1], entry[2]), False, False, False))
        if entry[0] >= ESCALATION:  # rare: keep the common case to one construction
            cost = entry[0]
            emergency, cost = cost >= EMERGENCY, cost % EMERGENCY
            time_bound, cost = cost >= TIME_BOUND, cost % TIME_BOUND
            holding = holding._replace(distance=cost % ESCALATION + 1, escalation=cost >= ESCALATION,
                                       time_bound=time_bound, emergency=emergency)
        return holding

    def _place(self, resource_key: str, repo: str) -> tuple[str, str, str]:
        """(tier, app, system) of a holding on this resource, concerning this repository."""
        resource = self.resources.get(resource_key)
        app = resource.app if resource else ""
        if not app and repo:
            repo_resource = self.resources.get(f"github:repo:{repo}")
            app = repo_resource.app if repo_resource else ""
        return (resource.tier if resource else "", app,
                resource.system if resource else resource_key.split(":", 1)[0])

    def _grant_key(self, index: int) -> str:
        if self._known_keys is not None:
            return self._known_keys[index]
        found = self._grant_keys.get(index)
        if found is None:
            found = self._grant_keys[index] = self._grants[index].key
        return found

    def _closure_of(self, node: str) -> dict[HoldKey, Entry]:
        found = self._closure.get(node)
        if found is None:
            self._build_closures(roots=[node])
            found = self._closure.get(node, {})
        return found

    def _build_closures(self, roots: list[str] | None = None, *, defer_sources: bool = False) -> None:
        """Tarjan's SCCs, iteratively; each SCC is finished after everything it reaches.
        ``defer_sources``: an account nobody else reaches is left unfinished (nothing waits for
        its closure; a later call finishes it alone, as this one would have)."""
        if roots is None:
            roots = sorted({a.principal for p in self.identities.people.values() for a in p.accounts})
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        counter = 0
        for root in roots:
            if root in self._closure or root in index:
                continue
            work: list[tuple[str, Iterator[int]]] = [(root, iter(self._out.get(root, ())))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, edges = work[-1]
                advanced = False
                for edge_index in edges:
                    succ = self._edges[edge_index].dst
                    if succ in self._closure:
                        continue  # finished in an earlier call
                    if succ not in index:
                        index[succ] = low[succ] = counter
                        counter += 1
                        stack.append(succ)
                        on_stack.add(succ)
                        work.append((succ, iter(self._out.get(succ, ()))))
                        advanced = True
                        break
                    if succ in on_stack:
                        low[node] = min(low[node], index[succ])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if not (defer_sources and len(component) == 1 and node in self._sources_only):
                        self._finish_component(component)

    def _finish_component(self, component: list[str]) -> None:
        members = set(component)
        closures: dict[str, dict[HoldKey, Entry]] = {}
        for node in component:
            closure: dict[HoldKey, Entry] = {}
            for grant_index in self._own.get(node, ()):
                grant = self._grants[grant_index]
                repo = self._grant_repo(grant)
                start = (ESCALATION if grant.via == Via.ESCALATION else 0) + self._grant_cost.get(grant_index, 0)
                for capability in grant.capabilities:
                    key = self._retag(node, (capability, grant.resource, repo))
                    if key not in closure or start < closure[key][0]:
                        closure[key] = (start, -grant_index - 1, None, grant_index)
            # `_retag`, inlined: what it adds to a key without a repository depends on the node alone
            node_repo = self._retag(node, ("", "", ""))[2]
            get = closure.get
            for edge_index in self._out.get(node, ()):
                succ = self._edges[edge_index].dst
                if succ in members:
                    continue
                cost = self._cost[edge_index]
                for key, entry in self._closure.get(succ, _NO_CLOSURE).items():
                    mine = key if key[2] or not node_repo else (key[0], key[1], node_repo)
                    best = get(mine)
                    distance = entry[0] + cost
                    if best is None or distance < best[0]:
                        closure[mine] = (distance, edge_index, key, entry[3])
            closures[node] = closure
        if len(component) > 1 or any(self._edges[e].dst == component[0] for e in self._out.get(component[0], ())):
            changed = True
            while changed:  # shortest paths inside the cycle
                changed = False
                for node in component:
                    for edge_index in self._out.get(node, ()):
                        succ = self._edges[edge_index].dst
                        if succ not in members or succ == node:
                            continue
                        cost = self._cost[edge_index]
                        for key, entry in list(closures[succ].items()):
                            mine = self._retag(node, key)
                            best = closures[node].get(mine)
                            if best is None or entry[0] + cost < best[0]:
                                closures[node][mine] = (entry[0] + cost, edge_index, key, entry[3])
                                changed = True
        self._closure.update(closures)

    def _retag(self, node: str, key: HoldKey) -> HoldKey:
        """Capabilities reached through a CI context concern that context's repository."""
        if key[2]:
            return key
        principal = self.principals.get(node)
        if principal is None or principal.system != "ci":
            return key
        # A concrete CI context, whichever source described it: an exact trust subject and the
        # GitHub context it names share one key, and either record may be the one kept.
        if principal.kind != Kind.WORKLOAD and re.search(r"[*?\[]", principal.id):
            return key
        repo = str(principal.attrs.get("repo", "")) or subject_repo(principal.id)
        return (key[0], key[1], repo) if repo else key

    def _grant_repo(self, grant: Grant) -> str:
        found = self._repo_of_resource.get(grant.resource)
        if found is None:
            found = ""
            resource = self.resources.get(grant.resource)
            if resource is not None and resource.system == "github":
                if resource.kind == "repo":
                    found = resource.id
                elif resource.parent.startswith("github:repo:"):
                    found = resource.parent.removeprefix("github:repo:")
            self._repo_of_resource[grant.resource] = found
        return found

    # ------------------------------------------------------------ CI joins

    def _workload_matches(self) -> list[Edge]:
        """Edges from concrete CI contexts to the cloud trust patterns that accept them."""
        workloads = sorted(p.id for p in self.principals.values() if p.system == "ci" and p.kind == Kind.WORKLOAD)
        patterns = [p for p in self.principals.values() if p.system == "ci" and p.kind == Kind.WORKLOAD_PATTERN]
        out: list[Edge] = []
        for pattern in sorted(patterns, key=lambda p: p.id):
            fixed = re.split(r"[*?\[]", pattern.id, maxsplit=1)[0]
            start = bisect.bisect_left(workloads, fixed)
            for context in workloads[start:]:
                if not context.startswith(fixed):
                    break
                workload = self.principals[f"ci:{context}"]
                protected = workload.attrs.get("protected", ()) or ()
                if workload_matches(context, pattern.id, protected=protected):
                    out.append(match_edge(f"ci:{context}", pattern))
        return out

    # ------------------------------------------------------------ steps (the module's, with this graph's marks)

    def _person_step(self, person: Person | None, key: str) -> Step:
        return person_step(person, key, self.principals)

    def _edge_step(self, edge: Edge) -> Step:
        return edge_step(edge, self.principals, self.marks)

    def _grant_step(self, grant: Grant, position: int = -1) -> Step:
        return grant_step(grant, self.resources, self.marks.emergency_grants.get(position, ""),
                          self.marks.timed_grants.get(position) if position in self.marks.timed_grants else None)

    def _capability_step(self, holding: Holding) -> Step:
        return capability_step(holding)

    def _routes(self, node: str, holding: Holding, *, depth: int, visited: frozenset[str],
                budget: list[int]) -> Iterator[list[int]]:
        """Depth-first routes from ``node`` to grants giving the holding's capability."""
        for route in self._raw_routes(node, holding, depth=depth, visited=visited, budget=budget):
            if self._route_repo(node, route) == holding.repo:
                yield route

    def _raw_routes(self, node: str, holding: Holding, *, depth: int, visited: frozenset[str],
                    budget: list[int]) -> Iterator[list[int]]:
        budget[0] -= 1
        if budget[0] < 0 or depth > 12 or node in visited:
            return
        closure = self._closure_of(node)
        wanted = (holding.capability, holding.resource)
        if (*wanted, holding.repo) not in closure and (*wanted, "") not in closure:
            return  # nothing down here gives this capability
        for grant_index in self._own.get(node, ()):
            grant = self._grants[grant_index]
            if grant.resource == holding.resource and holding.capability in grant.capabilities:
                yield [-grant_index - 1]
        for edge_index in self._out.get(node, ()):
            succ = self._edges[edge_index].dst
            for route in self._raw_routes(succ, holding, depth=depth + 1, visited=visited | {node},
                                          budget=budget):
                yield [edge_index] + route

    def _route_repo(self, start: str, route: list[int]) -> str:
        """The repository a route's capability concerns (the CI context nearest the grant)."""
        nodes = [start] + [self._edges[r].dst for r in route if r >= 0]
        grant = self._grants[-route[-1] - 1]
        repo = self._grant_repo(grant)
        for node in reversed(nodes):
            if repo:
                break
            repo = self._retag(node, ("", "", ""))[2]
        return repo


class _Places(dict):  # type: ignore[type-arg]
    """A holding's key (capability, resource, repo) followed by its tier, app and system, by its key
    (`Graph._place`): the six fields of a `Holding` after its person."""

    def __init__(self, graph: Graph):
        super().__init__()
        self._graph = graph

    def __missing__(self, key: HoldKey) -> tuple[str, str, str, str, str, str]:
        found = self[key] = (*key, *self._graph._place(key[1], key[2]))
        return found


class _Granted(dict):  # type: ignore[type-arg]
    """A grant's key, whether it is latent and its attributes, by its index: the three fields of a
    `Holding` that come from its grant, worked out once per grant (None where it has no attributes)."""

    def __init__(self, graph: Graph):
        super().__init__()
        self._graph = graph

    def __missing__(self, index: int) -> tuple[str, bool, Any] | None:
        attrs = self._graph._grants[index].attrs
        found = self[index] = None if attrs is None else (
            self._graph._grant_key(index), bool(attrs.get("latent", False)) if attrs else False, attrs)
        return found
