"""A stored snapshot read on demand, for the stored analysis: what a command shows (labels of
resources and principals, gaps, the grants and edges of a few paths) without loading a million
grants. `full()` loads the whole snapshot for what needs all of it (a graph, drift).

Safe to share between threads (the TUI's workers): each part is read once, under a lock.
"""

from __future__ import annotations

import threading
from itertools import chain
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..model import ActivityPeriod, Edge, Gap, Grant, Principal, Resource, Snapshot, SnapshotInfo, SourceSummary
from .analyses import ids_in_chunks


# Asked for more principals' edges than this, one pass reads every edge of the snapshot.
WHOLE_READ = 2000


class SnapshotView:
    """Duck-types `model.Snapshot` for what the stored analysis's readers ask; the rest goes
    through `full()`."""

    def __init__(self, store: Any, info: SnapshotInfo):
        self._store = store
        self.info = info
        self._lock = threading.RLock()
        self._principals: dict[str, Principal] | None = None
        self._principal_cache: dict[str, Principal | None] = {}
        self._lazy_principals = _Principals(self)
        self._resources: dict[str, Resource] | None = None
        self._gaps: list[Gap] | None = None
        self._full: Snapshot | None = None
        self._grants: dict[str, Grant] = {}
        self._edges: dict[str, list[Edge]] = {}
        self._all_edges = False  # every edge of the snapshot is in `_edges`

    def __repr__(self) -> str:
        return f"<SnapshotView {self.info.id}>"

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def taken_at(self) -> str:
        return self.info.taken_at

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def digest(self) -> str:
        return self.info.digest

    @property
    def sources(self) -> tuple[SourceSummary, ...]:
        """Each source's name, system, counts and error (not its rows: `full()` has those)."""
        return self.info.sources

    @property
    def period(self) -> ActivityPeriod | None:
        """The activity period (the widest of the sources'); None: no activity was read."""
        periods = [s.period for s in self.info.sources if s.period]
        if not periods:
            return None
        return ActivityPeriod(min(p[0] for p in periods), max(p[1] for p in periods))

    def activity(self) -> Iterable[Any]:
        """The activity records (the whole snapshot is read when any source has some)."""
        if not any(s.activity for s in self.info.sources):
            return iter(())
        return self.full().activity()

    # ------------------------------------------------------------ small parts, read whole

    def _parts(self, table: str) -> list[Any]:
        parts = self._store.read_parts(self.info, (table,), packed=True)
        return list(chain.from_iterable(parts[s.name][table] for s in self.info.sources))

    @property
    def principals(self) -> Mapping[str, Principal]:
        """Every principal by key: looked up key by key as asked for (a finding's subject, the
        hops of a path), read whole only when something iterates them."""
        return self._lazy_principals

    def all_principals(self) -> dict[str, Principal]:
        with self._lock:
            if self._principals is None:
                self._principals = {p.key: p for p in self._parts("principals")}
            return self._principals

    def principals_by_key(self, keys: Iterable[str]) -> dict[str, Principal]:
        """The principals with these keys (those the snapshot has), read in batches and kept."""
        wanted = set(keys)
        with self._lock:
            if self._principals is not None:
                return {k: self._principals[k] for k in wanted if k in self._principals}
            missing = [k for k in wanted if k not in self._principal_cache]
            by_system: dict[str, list[str]] = {}
            for key in sorted(missing):
                system, _, ident = key.partition(":")
                by_system.setdefault(system, []).append(ident)
                self._principal_cache[key] = None
            for system, idents in by_system.items():
                for batch in ids_in_chunks(idents):
                    parts = self._store.read_parts(self.info, ("principals",), where=" AND system = ?" + _in("ident", batch),
                                                   params=[system, *batch])
                    for source in self.info.sources:  # a later source's record wins, as in a whole read
                        for principal in parts[source.name]["principals"]:
                            self._principal_cache[principal.key] = principal
            return {k: p for k in wanted if (p := self._principal_cache.get(k)) is not None}

    @property
    def resources(self) -> Mapping[str, Resource]:
        with self._lock:
            if self._resources is None:
                self._resources = {r.key: r for r in self._parts("resources")}
            return self._resources

    def gaps(self) -> list[Gap]:
        with self._lock:
            if self._gaps is None:
                self._gaps = self._parts("gaps")
            return list(self._gaps)

    # ------------------------------------------------------------ grants and edges, by key

    def grants_by_key(self, keys: Iterable[str]) -> dict[str, Grant]:
        """The grants with these keys (those the snapshot has), read in batches and kept."""
        wanted = set(keys)
        with self._lock:
            missing = sorted(k for k in wanted if k not in self._grants)
            for batch in ids_in_chunks(missing):
                parts = self._store.read_parts(self.info, ("grants",), where=_in("key", batch), params=batch)
                for source in self.info.sources:
                    for key, grant in zip(parts[source.name]["keys"], parts[source.name]["grants"]):
                        self._grants.setdefault(key, grant)
            return {k: self._grants[k] for k in wanted if k in self._grants}

    def capability_grants(self, tier: str | None = None) -> list[tuple[str, Grant]]:
        """(key, grant) of every grant that confers a capability (on a resource of ``tier``), in
        stored order; each is kept for `grants_by_key` too."""
        # picked from the grants' pack where it fits: the same grants in the same order as the rows' query
        parts = self._store.packed_capability_grants(self.info, tier)
        if parts is None:
            where, params = " AND capabilities <> ''", []
            if tier is not None:
                where += (" AND resource IN (SELECT system || ':' || kind || ':' || ident FROM resources"
                          " WHERE snapshot_id = ? AND tier = ?)")
                params = [self.info.id, tier]
            parts = self._store.read_parts(self.info, ("grants",), where=where, params=params)
        found = [kg for s in self.info.sources for kg in zip(parts[s.name]["keys"], parts[s.name]["grants"])]
        with self._lock:
            for key, grant in found:
                self._grants.setdefault(key, grant)
        return found

    def edges_from(self, sources: Iterable[str]) -> dict[str, list[Edge]]:
        """Every edge leaving these principals, in the order the whole snapshot lists them
        (all of them read in one pass when many are asked for)."""
        wanted = set(sources)
        with self._lock:
            if self._all_edges:
                return {k: self._edges.get(k, []) for k in wanted}
            # (not `wanted - keys`: a set minus a dict's keys copies the keys, all of them)
            missing = [k for k in wanted if k not in self._edges]  # (sorted below, where read in batches)
            if len(missing) > WHOLE_READ:
                self._all_edges = True
                by_src: dict[str, list[Edge]] = {}
                parts = self._store.read_parts(self.info, ("edges",), packed=True)
                for source in self.info.sources:
                    for edge in parts[source.name]["edges"]:
                        by_src.setdefault(edge.src, []).append(edge)
                self._edges = by_src
                missing = []
            if self._all_edges:
                return {k: self._edges.get(k, []) for k in wanted}
            missing.sort()
            for key in missing:
                self._edges[key] = []
            for batch in ids_in_chunks(missing):
                parts = self._store.read_parts(self.info, ("edges",), where=_in("src", batch), params=batch)
                for source in self.info.sources:
                    for edge in parts[source.name]["edges"]:
                        self._edges[edge.src].append(edge)
            return {k: self._edges[k] for k in wanted}

    def grants_of(self, principals: Iterable[str]) -> list[Grant]:
        """Grants held by these principals themselves (not through anything)."""
        batch = sorted(set(principals))
        found: list[Grant] = []
        for chunk in ids_in_chunks(batch):
            parts = self._store.read_parts(self.info, ("grants",), where=_in("principal", chunk), params=chunk)
            found += chain.from_iterable(parts[s.name]["grants"] for s in self.info.sources)
        return found

    # ------------------------------------------------------------ the whole snapshot

    def full(self) -> Snapshot:
        with self._lock:
            if self._full is None:
                self._full = self._store.load_snapshot(self.info.id)
            return self._full

    def grants(self) -> Iterable[Grant]:
        return self.full().grants()

    def edges(self) -> Iterable[Edge]:
        return self.full().edges()

    def keyed_grants(self) -> Iterable[tuple[str, Grant]]:
        return self.full().keyed_grants()

    def grants_not_in(self, other: Any) -> list[Grant]:
        """This snapshot's grants whose key ``other`` lacks: for another stored snapshot, the keys
        come from a set difference in SQL and only those grants are read."""
        if isinstance(other, SnapshotView) and other._store is self._store:
            added, _ = self._store.grant_changes(other.id, self.id)
            found = self.grants_by_key(added)
            return [found[k] for k in added if k in found]
        return self.full().grants_not_in(other.full() if isinstance(other, SnapshotView) else other)

    def source(self, name: str) -> Any:
        return self.full().source(name)


class _Principals(Mapping[str, Principal]):
    """`SnapshotView.principals`: a key at a time, or all of them when iterated."""

    def __init__(self, view: SnapshotView):
        self._view = view

    def __getitem__(self, key: str) -> Principal:
        whole = self._view._principals  # read already: a plain look-up (campaign planning asks millions)
        if whole is not None:
            found = whole.get(key)
        else:  # read by key already (a path's hops, asked again for every path through them): a look-up
            found = self._view._principal_cache.get(key)  # (None: not read, or not there; asked under the lock)
            if found is None:
                found = self._view.principals_by_key((key,)).get(key)
        if found is None:
            raise KeyError(key)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        whole = self._view._principals
        if whole is not None:
            return key in whole
        return isinstance(key, str) and key in self._view.principals_by_key((key,))

    def __iter__(self) -> Iterator[str]:
        return iter(self._view.all_principals())

    def __len__(self) -> int:
        return len(self._view.all_principals())


def _in(column: str, values: Sequence[str]) -> str:
    return f" AND {column} IN ({', '.join('?' * len(values))})"
