"""What a path is made of: the steps a route is drawn as, a holding (a person's capability on a
resource, with how it is reached), and the marks a route carries (time-bound, emergency).

Values and drawing only: `foureyes.graph.Graph` computes the holdings and their routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

from ..model import Edge, EdgeKind, Grant, Person, Principal, Resource

_EMPTY: Mapping[str, Any] = MappingProxyType({})

@dataclass(frozen=True)
class Marks:
    """Hops the analysis marks (`foureyes.emergency`): edges into a declared emergency node and
    declared grants (by position in ``snapshot.grants()``), each with its path's name; time-bound
    edges (by ``(src, dst)``) and grants (by position), each with its expiry ("" when unknown)."""

    emergency_nodes: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    emergency_grants: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    timed_edges: Mapping[tuple[str, str], str] = field(default_factory=lambda: _EMPTY)
    timed_grants: Mapping[int, str] = field(default_factory=lambda: _EMPTY)

    def __bool__(self) -> bool:
        return bool(self.emergency_nodes or self.emergency_grants or self.timed_edges or self.timed_grants)


@dataclass(frozen=True)
class RouteMarks:
    """What a holding's shortest route passes: the emergency paths and the earliest expiry of a
    time-bound hop ("" when a time-bound hop's expiry is unknown)."""

    emergency: tuple[str, ...] = ()
    time_bound: bool = False
    expires: str = ""

    def describe(self) -> str:
        parts = []
        if self.emergency:
            parts.append("emergency: " + ", ".join(self.emergency))
        if self.time_bound:
            parts.append(f"time-bound until {self.expires}" if self.expires else "time-bound (expiry unknown)")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Step:
    """One hop of an explaining path."""

    system: str  # github | aws | gcp | ci | person
    kind: str  # person | account | member-of | can-assume | can-trigger | matches | grant | capability
    node: str  # what the hop reaches, readable
    how: str = ""  # why the hop exists
    key: str = ""  # principal, grant or person key

    def __str__(self) -> str:
        return f"{self.node} ({self.how})" if self.how else self.node


class Holding(NamedTuple):
    """A person holds a capability on a resource, through one account.

    A named tuple, not a dataclass: a large organisation has millions of these.
    """

    person: str
    capability: str
    resource: str  # resource key
    repo: str  # "owner/repo" the capability concerns, or ""
    tier: str
    app: str
    system: str  # system of the resource
    grant: str  # grant key
    account: str  # the person's account the path starts from
    distance: int
    latent: bool = False
    attrs: Mapping[str, Any] = _EMPTY
    first_hop: tuple[int, Any] = (0, None)  # (ref, next key) into the graph, for `Graph.path`
    escalation: bool = False  # every route to it needs a privilege escalation first
    time_bound: bool = False  # every route to it passes a grant or assignment that expires
    emergency: bool = False  # every route to it passes a declared emergency path: not standing access

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(person, capability, resource, repo): the first four fields, in order."""
        return self[:4]


def _label(principal: Principal) -> str:
    return principal.display_name or principal.id


# ---------------------------------------------------------------- steps (shared with the stored analysis)


def person_step(person: Person | None, key: str, principals: Mapping[str, Principal]) -> Step:
    if person is None:
        return Step("person", "person", key, "", key)
    if not person.linked:
        principal = principals.get(key)
        system = principal.system if principal else "person"
        return Step(system, "person", person.display_name or key, f"unlinked account {key}", key)
    return Step("person", "person", f"{person.display_name} <{key}>", "", key)


def head_steps(person: Person | None, key: str, account_key: str, principals: Mapping[str, Principal]) -> list[Step]:
    """The person, then (for a linked person) the account the path starts from and how it was linked."""
    steps = [person_step(person, key, principals)]
    account = principals.get(account_key)
    if account is not None and person is not None and person.linked:
        link = next((a for a in person.accounts if a.principal == account_key), None)
        how = "" if link is None else f"linked by {link.evidence}"
        steps.append(Step(account.system, "account", _label(account), how, account.key))
    return steps


def edge_step(edge: Edge, principals: Mapping[str, Principal], marks: Marks | None = None) -> Step:
    target = principals.get(edge.dst)
    node = _label(target) if target else edge.dst
    how = edge.label + (f"; if {edge.condition}" if edge.condition else "")
    if marks:
        if edge.dst in marks.emergency_nodes:
            how += f"; declared emergency path {marks.emergency_nodes[edge.dst]}"
        expires = marks.timed_edges.get((edge.src, edge.dst))
        if expires is not None:
            how += f"; time-bound until {expires}" if expires else "; time-bound (expiry unknown)"
    return Step(edge.dst.split(":", 1)[0], edge.kind, node, how, edge.dst)


def grant_step(grant: Grant, resources: Mapping[str, Resource], emergency: str = "",
               timed: str | None = None, key: str = "") -> Step:
    """The grant a path ends in; ``emergency`` the declared path it is part of, ``timed`` its expiry
    when it is time-bound ("" unknown; None: it is not); ``key`` the grant's key when the caller
    knows it (`Grant.key` hashes the grant each time)."""
    resource = resources.get(grant.resource)
    where = resource.label if resource else grant.resource
    how = grant.detail or grant.via
    if grant.condition:
        how += f"; condition: {grant.condition}"
    if grant.expires:
        how += f"; expires {grant.expires}"
    elif timed is not None:
        how += f"; time-bound until {timed}" if timed else "; time-bound (expiry unknown)"
    if emergency:
        how += f"; declared emergency path {emergency}"
    return Step(grant.system, "grant", f"{grant.entitlement} on {where}", how, key or grant.key)


def capability_step(holding: Holding) -> Step:
    actions = holding.attrs.get("actions") or []
    how = ", ".join(str(a) for a in list(actions)[:4]) if actions else ""
    if holding.latent:
        how = (how + "; " if how else "") + "latent: needs a setting changed first"
    return Step(holding.system, "capability", holding.capability, how, holding.grant)


def grant_capability_step(grant: Grant, resources: Mapping[str, Resource], key: str = "") -> Step:
    """The capability a grant confers (its first), as the last step of a route to the grant
    (``key``: the grant's key, when the caller knows it)."""
    resource = resources.get(grant.resource)
    system = resource.system if resource else grant.resource.split(":", 1)[0]
    actions = grant.attrs.get("actions") or []
    how = ", ".join(str(a) for a in list(actions)[:4]) if actions else ""
    if grant.attrs.get("latent", False):
        how = (how + "; " if how else "") + "latent: needs a setting changed first"
    return Step(system, "capability", grant.capabilities[0] if grant.capabilities else "", how, key or grant.key)


def match_edge(context: str, pattern: Principal) -> Edge:
    """The edge from a concrete CI context to a trust pattern that accepts it (made, not stored)."""
    return Edge(context, pattern.key, EdgeKind.MATCHES, f"its OIDC token subject is accepted by {pattern.id}")
