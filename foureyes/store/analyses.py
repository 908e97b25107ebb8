"""Every SQL statement of the stored analysis: writing one beside its snapshot in one transaction,
finding it by its key, and reading its parts (people, holdings, findings, closures, teams) on demand.

Rows in, rows out; `foureyes.stored` owns the meaning, the encodings and the key. A reader never
sees an analysis half written: it is marked complete in the transaction that writes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Boolean, LargeBinary, Table, select

from ..bulk import gc_paused
from . import Store, hashes_digest, now_iso, row_hashes
from . import schema as t

KEEP = 3  # analyses kept per snapshot (another config, a CI run with its own exception file)
CHUNK = 900  # keys per IN (...) list: under every backend's limit on bound parameters


@dataclass(frozen=True)
class AnalysisRow:
    id: int
    snapshot_id: int
    base_key: str
    inputs: Mapping[str, str]
    format: int
    created_at: str
    digest: str
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class Parts:
    """The rows of one analysis, as `foureyes.stored` encodes them (tuples in table column order,
    without analysis_id): lists, or iterators read once (encoded as they are written)."""

    people: Iterable[tuple[Any, ...]]
    holdings: Iterable[tuple[Any, ...]]
    findings: Iterable[tuple[Any, ...]]
    nodes: Iterable[tuple[Any, ...]]
    teams: Iterable[tuple[Any, ...]]
    roster: Iterable[tuple[Any, ...]] = ()  # one row (the roster's blob) where identity sources are read
    counts: Iterable[tuple[Any, ...]] = ()  # the nodes table's last rows, known once the holdings are written
    # the row hashes (`holding_hashes`) of the holdings' rows last read, where known already (a
    # forked child's, worked out beside its rows), else None: the others are hashed here
    hashed: Callable[[int], list[bytes | None]] | None = None

    def tables(self) -> Iterator[tuple[Table, Iterable[tuple[Any, ...]]]]:
        """Each table's rows in the order they are written. What forked children work out comes
        as late as it can, so that this process writes the rest meanwhile and waits for them the
        least: the people (their reach) just before the holdings (which a child encodes for the most
        part, `stored_holdings`; the people's rows count each one's holdings, which writing them
        may let go), then the nodes table's ``counts``, known once the holdings are. Each table's
        rows keep their order."""
        yield t.analysis_findings, self.findings
        yield t.analysis_nodes, self.nodes
        yield t.analysis_teams, self.teams
        yield t.analysis_roster, self.roster
        yield t.analysis_people, self.people
        yield t.analysis_holdings, self.holdings
        yield t.analysis_nodes, self.counts


def _row(row: Any) -> AnalysisRow:
    return AnalysisRow(id=row.id, snapshot_id=row.snapshot_id, base_key=row.base_key, inputs=json.loads(row.inputs),
                       format=row.format, created_at=row.created_at, digest=row.digest,
                       summary=json.loads(row.summary) if row.summary else {})


# ---------------------------------------------------------------- finding one


def find(store: Store, snapshot_id: int, base_key: str) -> AnalysisRow | None:
    """The newest complete analysis of the snapshot under this key."""
    with store.engine.connect() as conn:
        row = conn.execute(select(t.analyses).where(
            t.analyses.c.snapshot_id == snapshot_id, t.analyses.c.base_key == base_key,
            t.analyses.c.status == "complete").order_by(t.analyses.c.id.desc()).limit(1)).first()
    return _row(row) if row is not None else None


def latest(store: Store, snapshot_id: int) -> AnalysisRow | None:
    """The newest complete analysis of the snapshot, whatever its key (shown as stale while the
    current one is computed)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(t.analyses).where(
            t.analyses.c.snapshot_id == snapshot_id, t.analyses.c.status == "complete")
            .order_by(t.analyses.c.id.desc()).limit(1)).first()
    return _row(row) if row is not None else None


def get(store: Store, analysis_id: int) -> AnalysisRow | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(t.analyses).where(t.analyses.c.id == analysis_id,
                                                    t.analyses.c.status == "complete")).first()
    return _row(row) if row is not None else None


# ---------------------------------------------------------------- writing


def write(store: Store, snapshot_id: int, *, base_key: str, inputs: Mapping[str, str], format: int,
          summary: Mapping[str, Any], parts: Parts) -> AnalysisRow:
    """Store an analysis in one transaction; older ones of the snapshot beyond `KEEP` go. The parts
    may be iterators: their rows are encoded as they are written and never all held, and the
    content digest (`parts_digest`) is computed from them on the way."""
    hashes: dict[str, list[bytes]] = {}
    with gc_paused(), store.engine.begin() as conn:
        analysis_id = conn.execute(t.analyses.insert().values(
            snapshot_id=snapshot_id, base_key=base_key, inputs=json.dumps(dict(inputs), sort_keys=True),
            format=format, status="writing", created_at=now_iso(), digest="",
            summary=json.dumps(dict(summary), sort_keys=True))).inserted_primary_key[0]
        for table, rows in parts.tables():
            found = hashes.setdefault(table.name, [])
            known = parts.hashed if table is t.analysis_holdings else None
            store.insert_rows(conn, table, ((analysis_id, *row) for row in rows),
                              written=partial(_hash_rows, table, found, known, store.is_sqlite))
        digest = _digest_of(base_key, {name: hashes_digest(found) for name, found in hashes.items()})
        conn.execute(t.analyses.update().where(t.analyses.c.id == analysis_id).values(status="complete",
                                                                                      digest=digest))
        older = [r.id for r in conn.execute(select(t.analyses.c.id).where(
            t.analyses.c.snapshot_id == snapshot_id, t.analyses.c.id != analysis_id)
            .order_by(t.analyses.c.id.desc()))][KEEP - 1:]
        _delete(conn, older)
    found_row = get(store, analysis_id)
    assert found_row is not None
    return found_row


def _hash_rows(table: Table, found: list[bytes], known: Callable[[int], list[bytes | None]] | None, as_given: bool,
               batch: list[tuple[Any, ...]]) -> None:
    """The row hashes of a batch as written (analysis id first), for the content digest: those
    known already taken where the rows are written as given (SQLite: PostgreSQL replaces NUL)."""
    given = known(len(batch)) if known is not None else None
    if given is None or not as_given:
        found.extend(row_hashes([_hashable(table, row[1:]) for row in batch], skip=0))
        return
    missing = [n for n, h in enumerate(given) if h is None]
    for n, h in zip(missing, row_hashes([_hashable(table, batch[n][1:]) for n in missing], skip=0)):
        given[n] = h
    found.extend(given)  # type: ignore[arg-type]


def holding_hashes(rows: Sequence[tuple[str, str, bytes]]) -> list[bytes]:
    """The holdings' rows (person, capability, blob) hashed as `write` hashes them for the content digest."""
    return row_hashes([_hashable(t.analysis_holdings, row) for row in rows], skip=0)


def _delete(conn: Any, ids: Sequence[int]) -> None:
    """Children first: SQLite enforces the foreign keys but a store may predate ON DELETE CASCADE."""
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        for table in t.ANALYSIS_TABLES:
            conn.execute(table.delete().where(table.c.analysis_id.in_(chunk)))
        conn.execute(t.analyses.delete().where(t.analyses.c.id.in_(chunk)))


def delete_all(store: Store, snapshot_id: int | None = None) -> int:
    """Drop stored analyses (of one snapshot, or all): they are recomputed when next needed."""
    with store.engine.begin() as conn:
        query = select(t.analyses.c.id)
        if snapshot_id is not None:
            query = query.where(t.analyses.c.snapshot_id == snapshot_id)
        ids = [r.id for r in conn.execute(query)]
        _delete(conn, ids)
    return len(ids)


def coverage(store: Store, analysis_id: int, key: str) -> tuple[list[str], dict[str, list[int]]] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(t.analysis_coverage).where(
            t.analysis_coverage.c.analysis_id == analysis_id, t.analysis_coverage.c.key == key)).first()
    return (json.loads(row.waivers), json.loads(row.covers)) if row is not None else None


def write_coverage(store: Store, analysis_id: int, key: str, waivers: Sequence[str],
                   covers: Mapping[str, list[int]]) -> None:
    """Which exceptions cover which findings; a concurrent writer of the same key wins quietly."""
    with store.engine.begin() as conn:
        exists = conn.execute(select(t.analysis_coverage.c.key).where(
            t.analysis_coverage.c.analysis_id == analysis_id, t.analysis_coverage.c.key == key)).first()
        if exists is None:
            conn.execute(t.analysis_coverage.insert().values(
                analysis_id=analysis_id, key=key, waivers=json.dumps(list(waivers)),
                covers=json.dumps(dict(covers), sort_keys=True), created_at=now_iso()))


# ---------------------------------------------------------------- reading parts


def _select(store: Store, table: Table, columns: str, analysis_id: int, where: str = "",
            params: Sequence[Any] = (), order: str = "") -> list[tuple[Any, ...]]:
    """Rows through the driver's cursor (SQLAlchemy's per-row wrapping costs seconds at 20,000 people)."""
    mark = "?" if store.engine.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT {columns} FROM {table.name} WHERE analysis_id = {mark}{where.replace('?', mark)}{order}"
    with store.engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, (analysis_id, *params))
            rows = cursor.fetchall()
            # blobs as bytes on every backend (PostgreSQL's driver gives memoryviews); a column's
            # values are all of one type, so the first row says whether there is any to convert
            if rows and any(isinstance(v, memoryview) for v in rows[0]):
                return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
            return [tuple(row) for row in rows]
        finally:
            cursor.close()


def people(store: Store, analysis_id: int) -> list[tuple[Any, ...]]:
    return _select(store, t.analysis_people, "person, name, linked, external, accounts, holdings", analysis_id,
                   order=" ORDER BY seq")


def person_names(store: Store, analysis_id: int, keys: Sequence[str]) -> list[tuple[str, str, Any]]:
    """(person, name, linked) of a few people (up to `CHUNK`)."""
    if not keys:
        return []
    return _select(store, t.analysis_people, "person, name, linked", analysis_id,
                   f" AND person IN ({', '.join('?' * len(keys))})", list(keys))


def reach(store: Store, analysis_id: int) -> list[tuple[str, str]]:
    """(person, reach JSON) of everyone, in person order."""
    return _select(store, t.analysis_people, "person, reach", analysis_id, order=" ORDER BY seq")


def holdings(store: Store, analysis_id: int, *, person: str | None = None, people: Sequence[str] = (),
             capability: str | None = None) -> list[tuple[str, str, bytes]]:
    """(person, capability, blob): the holdings of one person, of a few people (up to `CHUNK`), of
    one capability, or of everyone."""
    column = "holdings"
    where, params = "", []
    if person is not None:
        where, params = " AND person = ?", [person]
    elif people:
        where, params = f" AND person IN ({', '.join('?' * len(people))})", list(people)
    elif capability is not None:
        where, params = " AND capability = ?", [capability]
    return _select(store, t.analysis_holdings, f"person, capability, {column}", analysis_id, where, params)


def findings(store: Store, analysis_id: int) -> list[tuple[Any, ...]]:
    return _select(store, t.analysis_findings,
                   "seq, finding_id, rule, person, scope, subject, subject_label, evidence, details",
                   analysis_id, order=" ORDER BY seq")


def finding_people(store: Store, analysis_id: int) -> list[tuple[str, str]]:
    """(rule, person) of every finding."""
    return _select(store, t.analysis_findings, "rule, person", analysis_id)


def nodes(store: Store, analysis_id: int) -> list[tuple[str, bytes]]:
    return _select(store, t.analysis_nodes, "node, closure", analysis_id)


def node(store: Store, analysis_id: int, name: str) -> bytes | None:
    """One row of the nodes table by name (a closure, or a summary stored under a name no node has)."""
    found = _select(store, t.analysis_nodes, "closure", analysis_id, " AND node = ?", [name])
    return found[0][0] if found else None


def teams(store: Store, analysis_id: int) -> list[tuple[str, str, str]]:
    return _select(store, t.analysis_teams, "team, members, maintainers", analysis_id)


def roster(store: Store, analysis_id: int) -> bytes | None:
    found = _select(store, t.analysis_roster, "roster", analysis_id)
    return found[0][0] if found else None


# ---------------------------------------------------------------- content digest


def _hashable(table: Table, row: Sequence[Any]) -> list[Any]:
    """A row as the digest reads it: booleans as booleans on both backends, blobs by their SHA-256."""
    kinds = _KINDS.get(table.name)
    if kinds is None:
        kinds = _KINDS[table.name] = _column_kinds(table)
    if not any(kinds):
        out = list(row)
        del out[len(kinds):]
        return out
    out: list[Any] = []
    for kind, value in zip(kinds, row):
        if kind == _BLOB:
            value = hashlib.sha256(bytes(value)).hexdigest()
        elif kind == _BOOL and value is not None:
            value = bool(value)
        out.append(value)
    return out


_BLOB, _BOOL = 1, 2
_KINDS: dict[str, tuple[int, ...]] = {}  # per table: each column's kind (0, _BLOB, _BOOL), analysis_id left out


def _column_kinds(table: Table) -> tuple[int, ...]:
    return tuple(_BLOB if isinstance(c.type, LargeBinary) else _BOOL if isinstance(c.type, Boolean) else 0
                 for c in table.columns if c.name != "analysis_id")


def parts_digest(base_key: str, parts: Parts) -> str:
    """A digest of every row, independent of row order (`records.rows_digest` per table)."""
    from .records import rows_digest  # the audit's own row digest

    rows_of: dict[str, list[Any]] = {}  # a table listed twice (the nodes): its rows together
    for table, rows in parts.tables():
        rows_of.setdefault(table.name, []).extend(_hashable(table, row) for row in rows)
    return _digest_of(base_key, {name: rows_digest(rows) for name, rows in rows_of.items()})


def _digest_of(base_key: str, digests: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps([base_key, digests], sort_keys=True).encode()).hexdigest()


def stored_digest(store: Store, analysis_id: int) -> str:
    """The content digest recomputed from the rows as they are in the tables now."""
    row = get(store, analysis_id)
    if row is None:
        return ""
    parts = Parts(**{table.name.removeprefix("analysis_"): _all_rows(store, table, analysis_id)
                     for table in (t.analysis_people, t.analysis_holdings, t.analysis_findings, t.analysis_nodes,
                                   t.analysis_teams, t.analysis_roster)})
    return parts_digest(row.base_key, parts)


def _all_rows(store: Store, table: Table, analysis_id: int) -> list[tuple[Any, ...]]:
    columns = ", ".join(c.name for c in table.columns if c.name != "analysis_id")
    return _select(store, table, columns, analysis_id)


def ids_in_chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch
