"""A snapshot's rows as they are written, and the content digest a campaign commits to, computed
from those rows (`records.snapshot_digest`'s format, which `audit verify` recomputes from the tables).

The digest is a pure function of the rows, so a big snapshot's is worked out on the machine's
other core: a forked worker builds the same rows, hashes them and hands back the few digests
(`DigestWorker`) while this process inserts. Hashing in a thread beside the inserts was slower
(the two threads pass the GIL to and fro); a forked process shares the results without copying
them (copy on write) and sends back a few hundred bytes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import marshal
import mmap
import os
import pickle
from array import array
from itertools import chain, islice, repeat
from operator import add, itemgetter
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..errors import StoreError
from ..model import SourceResult, grant_keys, snapshot_digest
from . import schema as t
from .forking import Child, fork_with_pipe, parallel_possible, read_exactly, write_all

# Rows (grants, principals, …) from which the content digest is computed in a forked worker:
# below it, a fork costs more than it saves.
PARALLEL_ROWS = 50_000


# ---------------------------------------------------------------- rows as written


def _attrs_encoder() -> Callable[[dict[str, Any]], str]:
    """``json.dumps(value, sort_keys=True, ensure_ascii=False)``, its C encoder made once: ``dumps``
    makes an encoder per call (a third of the cost of a short mapping's text, and a million-grant
    snapshot has ~140,000 distinct attribute mappings). The same arguments ``JSONEncoder.iterencode``
    gives it, so the same text and the same errors."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False)
    like = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
    markers: dict[int, Any] = {}  # (check_circular, as dumps: emptied again after each mapping)
    chunks = make(markers, like.default, json.encoder.encode_basestring, like.indent, like.key_separator,
                  like.item_separator, like.sort_keys, like.skipkeys, like.allow_nan)
    join = "".join

    def encode(value: dict[str, Any]) -> str:
        try:
            return join(chunks(value, 0))
        except BaseException:
            markers.clear()  # (what a failed encoding left marked must not fail the next one)
            raise

    return encode


_encode_attrs = _attrs_encoder()


def _dumps(value: Mapping[str, Any]) -> str:
    return _encode_attrs(dict(value)) if value else ""


def _dumps_shared() -> Callable[[Mapping[str, Any]], str]:
    """`_dumps`, each mapping encoded once: connectors share one attributes mapping between many
    rows (a million grants carry a few hundred distinct ones). Keyed by identity, so use it only
    while the mappings live (one write)."""
    seen: dict[int, str] = {}

    def dumps(value: Mapping[str, Any]) -> str:
        if not value:
            return ""
        found = seen.get(id(value))
        if found is None:
            found = seen[id(value)] = _dumps(value)
        return found

    return dumps


def source_rows(sid: int, r: SourceResult, activity_texts: list[str],
                dumps: Callable[[Mapping[str, Any]], str]) -> list[tuple[Any, Iterable[tuple[Any, ...]]]]:
    """A source's rows but its grants, per table (tuples in the table's column order)."""
    counts = r.counts()
    name = r.name
    return [
        (t.sources, [(
            sid, name, r.system, r.started_at, r.finished_at,
            r.error.replace("\x00", "\ufffd") if r.error else r.error, _dumps(r.stats),
            counts["principals"], counts["resources"], counts["grants"], counts["edges"], counts["gaps"],
            len(r.activity), r.period.start if r.period else None, r.period.end if r.period else None,
        )]),
        # Attributes are encoded once per distinct mapping (connectors share them between rows).
        (t.principals, ((sid, name, p.system, p.id, p.kind, p.display_name, p.email, p.home, dumps(p.attrs))
                        for p in r.principals)),
        (t.resources, ((sid, name, x.system, x.kind, x.id, x.name, x.tier, x.app, x.parent, dumps(x.attrs))
                       for x in r.resources)),
        (t.edges, ((sid, name, e.src, e.dst, e.kind, e.label, e.condition, dumps(e.attrs)) for e in r.edges)),
        (t.gaps, ((sid, name, g.system, g.resource, g.reason, g.hides, g.about) for g in r.gaps)),
        (t.activity, ((sid, name, type(a).KIND, a.key, a.system, a.id, a.at, text)
                      for a, text in zip(r.activity, activity_texts))),
    ]


def grant_keys_of(results: Sequence[SourceResult]) -> list[list[str]]:
    """Each source's grants' keys, in the order of its grants (a SHA-256 each)."""
    return [grant_keys(r.grants) for r in results]


def key_order(keys: list[str]) -> list[int]:
    """The grants' positions in the order of their keys (equal keys in source order): the order
    the (snapshot, key) index reads them back in, so a load reads the table front to back."""
    return sorted(range(len(keys)), key=keys.__getitem__)


def grant_rows(sid: int, results: Sequence[SourceResult], keys: Sequence[str], order: Sequence[int] | None,
               dumps: Callable[[Mapping[str, Any]], str]) -> Iterator[tuple[Any, ...]]:
    """The grant rows, ``keys`` the grants' keys (in the sources' order), in ``order`` (positions
    in the sources' grants; None: the sources' order). The rows are built in the sources' order
    and then put in ``order``: built in key order, each grant's fields were fetched from here
    and there in memory, twice as slow at a million grants."""
    rows = rows_of_tails(sid, results, keys, grant_tails(results, dumps))
    return iter(rows) if order is None else map(rows.__getitem__, order)


def grant_tails(results: Sequence[SourceResult],
                dumps: Callable[[Mapping[str, Any]], str]) -> list[tuple[Any, ...]]:
    """Each grant's row from its system on (`grant_rows`' columns after the key), in the sources'
    order: what the write makes while the digest worker hashes the keys."""
    return [(g.system, g.principal, g.entitlement, g.resource, " ".join(g.capabilities),
             g.via, g.detail, g.condition, g.expires, g.last_used, dumps(g.attrs)) for r in results for g in r.grants]


def rows_of_tails(sid: int, results: Sequence[SourceResult], keys: Sequence[str],
                  tails: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`grant_rows` (in the sources' order) of `grant_tails` and the keys."""
    names = [r.name for r in results for _ in r.grants]
    return [(sid, name, key, *tail) for name, key, tail in zip(names, keys, tails)]


def for_backend(rows: Iterable[tuple[Any, ...]], is_sqlite: bool) -> Iterable[tuple[Any, ...]]:
    """Rows as the database keeps them: PostgreSQL text cannot hold NUL, so a NUL from an audited
    system becomes U+FFFD there (SQLite keeps it, and every renderer shows it escaped)."""
    if is_sqlite:
        return rows
    return (tuple(v.replace("\x00", "\ufffd") if type(v) is str and "\x00" in v else v for v in row)
            for row in rows)


# ---------------------------------------------------------------- the grants packed for loading

PACK_FORMAT = 1  # of `pack_grants`: a load reads a pack of this format only
_SHAPE = itemgetter(3, 5, 7, 8, 9, 10, 11, 12, 13)  # a grant row's columns but its key, principal and resource


def _indexed(column: Iterable[Any]) -> tuple[tuple[Any, ...], bytes]:
    """A column as its distinct values (in order of appearance) and each row's index among them."""
    values = list(column)
    distinct = dict.fromkeys(values)
    index = {value: i for i, value in enumerate(distinct)}
    return tuple(distinct), array("I", map(index.__getitem__, values)).tobytes()


def pack_grants(found: Mapping[str, Sequence[tuple[Any, ...]]]) -> bytes:
    """A snapshot's grant rows as written (after `for_backend`), per source in stored order, packed for
    loading in one read (`schema.snapshot_packs`): per source its keys (joined by newlines) and, for
    the principals, the resources and the rest of the row (a few dozen distinct "shapes" per source),
    the distinct values and each row's index among them; `marshal`led. The values are those of the
    rows, so a snapshot loads the same from either."""
    return packed_parts([pack_part(name, rows) for name, rows in found.items()])


def pack_part(name: str, rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """One source's part of `pack_grants` (sources are packed apart: the write packs some on each core)."""
    keys: Any = "\n".join(map(itemgetter(2), rows))
    if keys.count("\n") != max(len(rows) - 1, 0):  # (never: keys are hex)
        keys = tuple(map(itemgetter(2), rows))
    return (name, len(rows), keys, _indexed(map(itemgetter(4), rows)), _indexed(map(itemgetter(6), rows)),
            _indexed(map(_SHAPE, rows)))


def packed_parts(parts: list[tuple[Any, ...]]) -> bytes:
    """`pack_grants` of its sources' `pack_part` (in the sources' order)."""
    return marshal.dumps((PACK_FORMAT, array("I").itemsize, parts), 4)


def packed_by_child(results: Sequence[SourceResult]) -> list[int]:
    """The sources (their positions) whose grants a `DigestWorker` packs: the biggest first, until it
    has at least half of the grants; the writing process packs the others from its rows while the
    child finishes the digests (it waited idle for them as long as the child packed)."""
    sizes = [len(r.grants) for r in results]
    mine, count = [], 0
    for i in sorted(range(len(results)), key=lambda i: -sizes[i]):
        if 2 * count >= sum(sizes):
            break
        mine.append(i)
        count += sizes[i]
    return sorted(mine)


def pack_others(results: Sequence[SourceResult], rows: Sequence[tuple[Any, ...]], order: Sequence[int],
                is_sqlite: bool) -> dict[int, tuple[Any, ...]]:
    """`pack_part` of the sources a `DigestWorker` leaves to the writing process (not `packed_by_child`),
    by position: ``rows`` the grant rows in the sources' order, ``order`` their positions in key order
    (the order they are stored in), the values as written (`for_backend`)."""
    theirs = set(packed_by_child(results))
    parts, start = {}, 0
    for i, r in enumerate(results):
        end = start + len(r.grants)
        if i not in theirs:
            stored = [rows[n] for n in order if start <= n < end]
            parts[i] = pack_part(r.name, list(for_backend(stored, is_sqlite)))
        start = end
    return parts


# ---------------------------------------------------------------- principals and edges packed for loading

PART_PACK_FORMAT = 1  # of `pack_rows`: a load reads a part pack of this format only
# The parts packed apart from the grants (`schema.snapshot_part_packs`), and how many columns their rows
# have after (snapshot_id, source).
PACKED_PARTS = {"principals": 7, "edges": 6}


def _column(values: list[Any]) -> tuple[tuple[Any, ...], bytes | None]:
    """A column of `pack_rows`: its distinct values and each row's index among them where values
    repeat (kinds, systems, a few hundred attribute texts), else its values as they are (None)."""
    distinct = dict.fromkeys(values)
    if 2 * len(distinct) > len(values):
        return tuple(values), None
    index = {value: i for i, value in enumerate(distinct)}
    return tuple(distinct), array("I", map(index.__getitem__, values)).tobytes()


def pack_rows(part: str, snapshot_id: int, found: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> bytes:
    """A snapshot's rows of ``part`` (principals, edges) as written (after `for_backend`), per source in
    the order they were inserted (the order a load reads them back in), packed for loading in one read
    (`schema.snapshot_part_packs`): the part and the snapshot it belongs to, then per source its name,
    its row count and each column after the snapshot and source (`_column`); `marshal`led. The values
    are those of the rows, so a snapshot loads the same from either."""
    width = PACKED_PARTS[part]
    parts = [(name, len(rows), [_column([row[2 + i] for row in rows]) for i in range(width)])
             for name, rows in found]
    return marshal.dumps((PART_PACK_FORMAT, array("I").itemsize, part, snapshot_id, parts), 4)


class RowsKept:
    """`Store.insert_rows`' ``written`` for the principals and edges: keeps each source's rows as inserted,
    for `pack_rows` (a few hundred thousand tuples at full size, held until the snapshot's pack is made)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[str, list[tuple[Any, ...]]]]] = {part: [] for part in PACKED_PARTS}

    def written(self, table: Any, then: Callable[[list[tuple[Any, ...]]], None] | None
                ) -> Callable[[list[tuple[Any, ...]]], None] | None:
        """``then`` (the hasher's, or None), and the rows kept where ``table`` is a packed part."""
        found = self.rows.get(table.name)
        if found is None:
            return then
        kept: list[tuple[Any, ...]] = []

        def keep(batch: list[tuple[Any, ...]]) -> None:
            if not kept:
                found.append((batch[0][1], kept))
            kept.extend(batch)
            if then is not None:
                then(batch)

        return keep

    def packs(self, snapshot_id: int, names: Sequence[str]) -> list[tuple[str, int, bytes]]:
        """(part, rows, pack) of each packed part, its sources in ``names``' order (a source without rows
        is in no batch: packed empty); none where two sources share a name (a load could not tell them
        apart)."""
        if len(set(names)) != len(names):
            return []
        out = []
        for part, found in self.rows.items():
            by_name = dict(found)
            out.append((part, sum(map(len, by_name.values())),
                        pack_rows(part, snapshot_id, [(name, by_name.get(name, [])) for name in names])))
        return out


# ---------------------------------------------------------------- SQLite's grants from their pack


def grant_form(parts: list[tuple[Any, ...]],
               sources: Sequence[int] | bytes) -> tuple[list[tuple[Any, ...]], bytes] | None:
    """The grant rows as SQLite's write inserts them from a `DigestWorker`: every source's `pack_part`
    (its rows in stored order: keys, and the distinct principals, resources and shapes with each
    row's index among them) and ``sources``, each stored row's source (its position), in the order
    the rows are stored. `form_rows` puts the rows together again; `Store` binds four values a row
    (SQLite's cost of an insert is mostly per bound value) and SQLite joins the rest. None where a
    value is neither text nor NULL: distinct values are told apart by Python's equality, which
    holds 1 and 1.0 equal (the pack's values are compared decoded; the rows must be the same)."""
    for part in parts:
        (principals, _), (resources, _), (shapes, _) = part[3:6]
        if not (all(type(v) is str for v in principals) and all(type(v) is str for v in resources)
                and all(type(v) is str or v is None for shape in shapes for v in shape)):
            return None
    if len(parts) > 1 << 16:  # (never: a source per connector)
        return None
    return parts, sources if type(sources) is bytes else array("H", sources).tobytes()


def form_parts(form: tuple[list[tuple[Any, ...]], bytes]) -> tuple[list[tuple[Any, ...]], list[str], list[str],
                                                                   Iterator[tuple[str, int, int, int]]]:
    """A `grant_form` as four tables: the shapes (the source's name, then the pack's shape: `SHAPE_COLUMNS`),
    the principals and resources (each source's distinct ones, one after the other), and each row in
    stored order as its key and the positions of its shape, principal and resource among them."""
    parts, sources = form
    shapes: list[tuple[Any, ...]] = []
    principals: list[str] = []
    resources: list[str] = []
    rows = []
    for name, count, keys, (found_principals, principal_at), (found_resources, resource_at), (found_shapes, shape_at) \
            in parts:
        if type(keys) is str:
            keys = keys.split("\n") if count else []
        at = [map(add, array("I", data), repeat(len(found)))
              for data, found in ((shape_at, shapes), (principal_at, principals), (resource_at, resources))]
        rows.append(zip(keys, *at))
        shapes += [(name, *shape) for shape in found_shapes]
        principals += found_principals
        resources += found_resources
    # (in C: each stored row taken from its source's rows, in order)
    return shapes, principals, resources, map(next, map(rows.__getitem__, array("H", sources)))


SHAPE_COLUMNS = ("source", "system", "entitlement", "capabilities", "via", "detail", "condition", "expires",
                 "last_used", "attrs")  # a grant's columns but its snapshot, key, principal and resource (`_SHAPE`)


def form_keys(form: tuple[list[tuple[Any, ...]], bytes]) -> list[list[str]]:
    """Each source's grant keys in a `grant_form`, sorted (the order they are stored in)."""
    return [(keys.split("\n") if count else []) if type(keys) is str else list(keys) for _, count, keys, *_ in form[0]]


def form_rows(form: tuple[list[tuple[Any, ...]], bytes]) -> Iterator[tuple[Any, ...]]:
    """The grant rows (without their snapshot) a `grant_form` stands for, in stored order."""
    shapes, principals, resources, rows = form_parts(form)
    for key, shape, principal, resource in rows:
        source, system, entitlement, *rest = shapes[shape]
        yield (source, key, system, principals[principal], entitlement, resources[resource], *rest)


_FORM_ROWS = 100  # rows a statement `insert_grant_form` binds (400 values: SQLite allows 32,766)


def insert_grant_form(conn: Any, snapshot_id: int, form: tuple[Any, ...]) -> int:
    """SQLite: a snapshot's grants from their `grant_form` (made by the write's forked child), in
    its order; the number of rows. Four values are bound a row (its key and three indexes) into a
    temporary table, and SQLite puts each row together from the distinct shapes, principals and
    resources (temporary tables too) as it inserts them: the same rows in the same order as binding
    all fourteen values a row, at half the cost (a million grants: ~3.3 s CPU instead of ~6.8 s; an
    insert's cost is mostly per bound value and per statement, SQLite's own work the smaller part)."""
    shapes, principals, resources, rows = form_parts(form)
    if not form[1]:
        return 0
    cursor = conn.connection.driver_connection.cursor()
    # the temporary tables cached like the store's tables (default 2 MiB: a million rows went to a file and back)
    cache = cursor.execute("PRAGMA temp.cache_size").fetchone()[0]
    cursor.execute("PRAGMA temp.cache_size=-131072")
    try:
        shape = ", ".join(SHAPE_COLUMNS)
        cursor.execute(f"CREATE TEMP TABLE foureyes_grant_shapes ({shape})")
        cursor.execute("CREATE TEMP TABLE foureyes_grant_principals (value)")
        cursor.execute("CREATE TEMP TABLE foureyes_grant_resources (value)")
        cursor.execute("CREATE TEMP TABLE foureyes_grant_rows (key, shape, principal, resource)")
        marks = ", ".join("?" * (1 + len(SHAPE_COLUMNS)))
        cursor.executemany(f"INSERT INTO temp.foureyes_grant_shapes (rowid, {shape}) VALUES ({marks})",
                           ((i, *values) for i, values in enumerate(shapes)))
        for table, values in (("principals", principals), ("resources", resources)):
            cursor.executemany(f"INSERT INTO temp.foureyes_grant_{table} (rowid, value) VALUES (?, ?)",
                               enumerate(values))
        # 100 rows a statement (a statement per row cost twice as much), the rest one by one
        many, stored = _FORM_ROWS, len(form[1]) // 2
        flat = chain.from_iterable(rows)
        cursor.executemany("INSERT INTO temp.foureyes_grant_rows VALUES " + ", ".join(["(?, ?, ?, ?)"] * many),
                           (tuple(islice(flat, 4 * many)) for _ in range(stored // many)))
        cursor.executemany("INSERT INTO temp.foureyes_grant_rows VALUES (?, ?, ?, ?)",
                           (tuple(islice(flat, 4)) for _ in range(stored % many)))
        columns = [c.name for c in t.grants.columns]
        made = {"snapshot_id": "?", "key": "g.key", "principal": "p.value", "resource": "r.value",
                **{name: f"s.{name}" for name in SHAPE_COLUMNS}}
        # (CROSS JOIN: the rows read in their order, each shape, principal and resource found by its rowid)
        cursor.execute(
            f"INSERT INTO grants ({', '.join(columns)}) SELECT {', '.join(made[name] for name in columns)} "
            "FROM temp.foureyes_grant_rows AS g CROSS JOIN temp.foureyes_grant_shapes AS s ON s.rowid = g.shape "
            "CROSS JOIN temp.foureyes_grant_principals AS p ON p.rowid = g.principal "
            "CROSS JOIN temp.foureyes_grant_resources AS r ON r.rowid = g.resource ORDER BY g.rowid",
            (snapshot_id,))
        count = cursor.rowcount
        if count != sum(part[1] for part in form[0]) or 2 * count != len(form[1]):  # pragma: no cover - never
            raise StoreError("the grants' form is not the snapshot's grants")
        for table in ("rows", "shapes", "principals", "resources"):
            cursor.execute(f"DROP TABLE temp.foureyes_grant_{table}")
    finally:
        cursor.execute(f"PRAGMA temp.cache_size={int(cache)}")
        cursor.close()
    return count


class GrantPacker:
    """`Store.insert_rows`' ``written`` for the grants: keeps the rows as inserted, for `pack_grants`."""

    def __init__(self, then: Callable[[list[tuple[Any, ...]]], None] | None = None, *, keep: bool = True):
        self._batches: list[list[tuple[Any, ...]]] = []
        self._then = then
        self.kept = keep  # False: only counted (a forked `DigestWorker` packs its own copy of the rows)
        self.count = 0

    def written(self, batch: list[tuple[Any, ...]]) -> None:
        if self.kept:
            self._batches.append(batch)
        self.count += len(batch)
        if self._then is not None:
            self._then(batch)

    def data(self, sources: Sequence[str]) -> bytes:
        """`pack_grants` of the rows inserted, ``sources`` the sources' names in order."""
        found: dict[str, list[tuple[Any, ...]]] = {name: [] for name in sources}
        adds = {name: rows.append for name, rows in found.items()}
        for batch in self._batches:  # (in key order: the source changes from row to row)
            for row in batch:
                adds[row[1]](row)
        self._batches = []
        return pack_grants(found)


# ---------------------------------------------------------------- the content digest, as written

def _row_encoder() -> Callable[[list[Any]], str]:
    """``records``' JSON of a row (compact, not ASCII-escaped), its C encoder made once: made per
    call (what ``JSONEncoder.encode`` does), it costs as much as the encoding of a short row."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return encode
    chunks = make(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    join = "".join
    return lambda row: join(chunks(row, 0))


_encode_row = _row_encoder()


def row_hashes(rows: Sequence[Sequence[Any]], *, skip: int = 1) -> list[bytes]:
    """Each row's SHA-256 as `records.rows_digest` computes it (a JSON array), without its first
    ``skip`` columns (the snapshot or analysis id)."""
    sha256, encode = hashlib.sha256, _encode_row
    # the C encoder writes a tuple as the JSON array it writes for a list: no list made per row
    return [sha256(encode(row[skip:] if type(row) is tuple else list(row[skip:])).encode("utf-8", "surrogatepass"))
            .digest() for row in rows]


def hashes_digest(hashes: Iterable[bytes]) -> dict[str, Any]:
    """`records.rows_digest` of rows given by their `row_hashes`: the count and a digest of the sorted hashes."""
    found = sorted(hashes)
    whole = hashlib.sha256(len(found).to_bytes(8, "big"))
    whole.update(b"".join(found))  # the same bytes as one update per hash
    return {"rows": len(found), "digest": whole.hexdigest()}


def written_digest(snapshot_id: int, row: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """`records.snapshot_digest` of a snapshot from what was written: ``row`` its row in `snapshots`
    (every column but id, as it reads back) and ``tables`` its rows' `hashes_digest` per table.
    Computed while the rows are at hand, it saves reading a million rows back for the first campaign;
    `audit verify` still recomputes it from the tables."""
    tables = {table.name: dict(tables.get(table.name) or hashes_digest(())) for table in t.SNAPSHOT_TABLES}
    row = dict(row)
    digest = hashlib.sha256(json.dumps([row, tables], sort_keys=True, ensure_ascii=False)
                            .encode("utf-8", "surrogatepass")).hexdigest()
    return {"id": snapshot_id, "row": row, "tables": tables, "digest": digest}


class RowHasher:
    """Each written row's hash (`row_hashes`), per table, as `Store.insert_rows` writes it."""

    def __init__(self) -> None:
        self._found: dict[str, list[bytes]] = {}

    def written(self, table: Any) -> Callable[[list[tuple[Any, ...]]], None]:
        """An `insert_rows` ``written``: the batch is hashed for ``table``."""
        found = self._found.setdefault(table.name, [])
        return lambda batch: found.extend(row_hashes(batch))

    def digests(self) -> dict[str, dict[str, Any]]:
        """Every table's `hashes_digest`."""
        return {name: hashes_digest(found) for name, found in self._found.items()}


def content_digests(results: Sequence[SourceResult], texts: list[list[str]], is_sqlite: bool,
                    grant_keys: list[list[str]] | None = None, *, sorted_keys: list[list[str]] | None = None,
                    keep_grants: list[tuple[Any, ...]] | None = None,
                    grants_made: list[tuple[Any, ...]] | None = None,
                    grants_only: bool = False) -> tuple[str, dict[str, dict[str, Any]]]:
    """The snapshot's key digest (`model.snapshot_digest`) and each table's `hashes_digest` of the
    rows `Store.write_snapshot` writes: what the write computes as it goes, worked out apart.
    ``sorted_keys``: each source's ``grant_keys`` in order already (the digest sorts them again,
    in one pass over a sorted list). ``keep_grants`` gets the grant rows as hashed (the sources' order);
    ``grants_made``: those rows made already (`grant_rows` in the sources' order, for SQLite).
    ``grants_only``: the grants' digest only, and no key digest ("": SQLite's write hashes the other tables as it
    inserts them, and computes the key digest from the keys sorted in a `grant_form`)."""
    if grant_keys is None:
        grant_keys = grant_keys_of(results)
    digest = "" if grants_only else snapshot_digest(results, grant_keys=sorted_keys or grant_keys,
                                                    activity_texts=texts)
    dumps = _dumps_shared()
    found: dict[str, list[bytes]] = {table.name: [] for table in t.SNAPSHOT_TABLES}
    parts = [part for r, activity_texts in zip(results, texts) for part in source_rows(0, r, activity_texts, dumps)
             if not grants_only]
    keys = [key for found_keys in grant_keys for key in found_keys]
    made = grant_rows(0, results, keys, None, dumps) if grants_made is None else grants_made
    parts.append((t.grants, made))  # (the digest sorts the hashes)
    for table, rows in parts:
        rows = iter(for_backend(rows, is_sqlite))
        while batch := list(islice(rows, 10_000)):
            found[table.name] += row_hashes(batch)
            if keep_grants is not None and table is t.grants:
                keep_grants += batch
    return digest, {name: hashes_digest(hashes) for name, hashes in found.items()
                    if not grants_only or name == "grants"}


# ---------------------------------------------------------------- on the other core


_KEY = 20  # characters of a grant key (`model.stable_hash`): keys pass between the processes packed
_AT = array("I").itemsize  # bytes of a grant's position in key order


class DigestWorker(Child):
    """The grants' keys and `content_digests` in a forked child while the caller inserts the rows:
    `keys` hands over the keys as soon as the child has them (through memory shared with it),
    `order` their order once it has sorted them, `result` waits for the digests. Where no fork is
    safe (not Linux, or other threads running: a lock one of them holds would never be released in
    the child) or the child fails, all are computed here."""

    def __init__(self, results: Sequence[SourceResult], texts: list[list[str]], is_sqlite: bool):
        self._args = (results, texts, is_sqlite)
        self.from_child = False  # whether `result` was the child's answer
        # the child's `pack_part` of the sources it packs (`packed_by_child`), by position, with its answer
        self.pack: dict[int, tuple[Any, ...]] | None = None
        self._keys: list[list[str]] | None = None
        self._ordering = False  # the child sent the keys: their order follows
        self._signals = True  # the child sends the keys (then their order, or, SQLite, its `form`)
        self._known: list[str] | None = None  # the keys `form` read (where it did not make the form)
        count = sum(len(r.grants) for r in results)
        if not parallel_possible():
            return
        # MAP_SHARED: the child's writes are seen here (the keys and their order; SQLite's `form` comes by the pipe)
        shared = mmap.mmap(-1, max(1, count * (_KEY + _AT)))
        if (forked := fork_with_pipe()) is None:
            return
        pid, read, write = forked
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            _child(write, read, shared, count, self._args)
        self._started(pid, read, write)
        self._shared, self._count = shared, count

    def form(self) -> tuple[Any, ...] | None:
        """SQLite: the grant rows as stored, in their `grant_form`: the child packs the biggest sources
        (`packed_by_child`) and sends them with each stored row's source; the others are packed here
        from the keys the child sent first, while it packs its own. None where there is no child or no
        form (the caller then makes the rows from `keys` and `order`)."""
        if not self._pid or not self._args[2]:
            return None
        keys = self._known = self.keys()
        if not self._ordering:  # (the child did not send the keys: it sends no form either)
            return None
        self._ordering = False
        results = self._args[0]
        theirs, ours, start, dumps = set(packed_by_child(results)), {}, 0, _dumps_shared()
        for i, r in enumerate(results):
            end = start + len(r.grants)
            if i not in theirs:  # (SQLite keeps the rows as made: no `for_backend`)
                own = keys[start:end]
                ours[i] = pack_part(r.name, list(grant_rows(0, (r,), own, key_order(own), dumps)))
            start = end
        if os.read(self._read, 1) != b"G":  # (b"": the child died)
            return None
        size = int.from_bytes(read_exactly(self._read, 8), "big")
        data = read_exactly(self._read, size)
        try:
            theirs_packed, sources = marshal.loads(data) if len(data) == size else ({}, b"")
        except (EOFError, ValueError, TypeError):  # pragma: no cover - cut off: the child died
            return None
        self.pack = theirs_packed  # (if the form is refused: the pack's parts all the same)
        parts = {**theirs_packed, **ours}
        if sorted(parts) != list(range(len(results))):  # pragma: no cover - never
            return None
        return grant_form([parts[i] for i in range(len(results))], sources)

    def keys(self) -> list[str]:
        """All grants' keys, in the sources' order (as soon as the child has hashed them: their
        order, `order`, comes after it has sorted them, while the caller makes the rows)."""
        if self._known is not None:
            return self._known
        if self._pid and self._signals:
            self._signals = False
            said = os.read(self._read, 1)
            if said == b"K":
                self._ordering = True
                packed = self._shared[:self._count * _KEY].decode("ascii")
                return [packed[i:i + _KEY] for i in range(0, self._count * _KEY, _KEY)]
        self._keys = grant_keys_of(self._args[0])
        return [key for found in self._keys for key in found]

    def order(self, keys: list[str]) -> Sequence[int]:
        """The grants' positions in key order (`key_order` of ``keys``, what `keys` returned)."""
        if self._ordering and not self._args[2]:
            self._ordering = False
            if os.read(self._read, 1) == b"O":
                count, shared = self._count, self._shared
                order = array("I")
                order.frombytes(shared[count * _KEY:count * (_KEY + _AT)])
                shared.close()
                return order
        return key_order(keys)

    def result(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """The snapshot's key digest and each table's digest."""
        done, found = self.answer()
        if done:
            self.from_child = True
            self.pack = found[2] if found[2] is not None else self.pack
            return found[0], found[1]
        return content_digests(*self._args, grant_keys=self._keys)

    # `cancel` (the write failed: nothing waits for its answer) is `Child`'s


def _share_keys(keys: list[str], count: int, shared: mmap.mmap) -> bool:
    """Put the keys in the memory shared with the parent, if they are ``count`` keys of `_KEY` ASCII characters."""
    packed = "".join(keys).encode("utf-8")
    fixed = len(keys) == count < 1 << 32 and packed.isascii() and all(map(_KEY.__eq__, map(len, keys)))
    if fixed:
        shared[:len(packed)] = packed
    return fixed


def _stored(results: Sequence[SourceResult], rows: list[tuple[Any, ...]], order: Sequence[int],
            owner: list[int]) -> list[list[tuple[Any, ...]]]:
    """Each source's grant rows in the order they are stored (key order), ``rows`` in the sources' order."""
    stored: list[list[tuple[Any, ...]]] = [[] for _ in results]
    if len(rows) == len(order):
        adds = [found.append for found in stored]
        for n in order:
            adds[owner[n]](rows[n])
    return stored


def _child(write: int, read: int, shared: mmap.mmap, count: int,
           args: tuple[Any, ...]) -> None:  # pragma: no cover - runs in the child
    """Compute, send, and leave without running anything of the parent's (no atexit, no finalizers:
    the parent's database connections are not the child's to close)."""
    code = 1
    try:
        os.close(read)
        gc.disable()  # short-lived tuples only; a collection would walk (and copy) the parent's heap
        results, is_sqlite = args[0], args[2]
        grant_keys = grant_keys_of(results)
        keys = [key for found in grant_keys for key in found]
        rows: list[tuple[Any, ...]] = []
        owner = [i for i, r in enumerate(results) for _ in r.grants]
        if is_sqlite:  # the keys, then the biggest sources' pack parts for the parent's `form`, then the digests
            fixed = _share_keys(keys, count, shared)
            os.write(write, b"K" if fixed else b"k")
            order: Sequence[int] = key_order(keys)
            # the rows (as SQLite keeps them) of the sources packed here first, the others' after the form
            rows = [()] * len(keys)
            dumps, at = _dumps_shared(), [0]
            for r in results:
                at.append(at[-1] + len(r.grants))
            mine = packed_by_child(results)

            def send() -> None:  # the form: the parts of the sources packed here, and each stored row's source
                stored = _stored(results, rows, order, owner)
                packed = {i: pack_part(results[i].name, stored[i]) for i in mine}
                data = marshal.dumps((packed, array("H", map(owner.__getitem__, order)).tobytes()), 4)
                write_all(write, b"G" + len(data).to_bytes(8, "big"))
                write_all(write, data)

            if fixed and not mine:  # (not fixed: the parent reads no form, it makes the rows itself)
                send()
            for i in (*mine, *(i for i in range(len(results)) if i not in mine)):
                rows[at[i]:at[i + 1]] = grant_rows(0, (results[i],), keys[at[i]:at[i + 1]], None, dumps)
                if fixed and i == mine[-1]:
                    send()
            parts: dict[int, tuple[Any, ...]] | None = None  # (the parent packs the form's parts)
            # (the key digest is the parent's where it has a form: from its keys, sorted)
            digest, tables = content_digests(*args, grant_keys=grant_keys, grants_made=rows, grants_only=True)
            if not fixed:
                digest = snapshot_digest(results, grant_keys=grant_keys, activity_texts=args[1])
        else:
            # the keys first: the parent makes the rows while their order is sorted out here (not the keys
            # `model.stable_hash` makes: the parent computes them itself)
            fixed = _share_keys(keys, count, shared)
            os.write(write, b"K" if fixed else b"k")
            order = key_order(keys)
            if fixed:
                shared[count * _KEY:count * (_KEY + _AT)] = array("I", order).tobytes()
                os.write(write, b"O")
            sorted_keys: list[list[str]] = [[] for _ in results]
            adds = [found.append for found in sorted_keys]
            for n in order:  # each source's keys in order, from the order of all of them
                adds[owner[n]](keys[n])
            digest, tables = content_digests(*args, grant_keys=grant_keys, sorted_keys=sorted_keys, keep_grants=rows)
            # the pack of the sources the child packs (`packed_by_child`): each source's rows in the order they
            # are stored (key order), as the parent inserts them
            stored = _stored(results, rows, order, owner)
            parts = {i: pack_part(results[i].name, stored[i]) for i in packed_by_child(results)} \
                if len(rows) == len(order) else None
        data = pickle.dumps((digest, tables, parts))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent computes it itself
        pass
    finally:
        os._exit(code)


__all__ = ["DigestWorker", "GrantPacker", "PACK_FORMAT", "PACKED_PARTS", "PART_PACK_FORMAT", "RowsKept",
           "pack_rows", "PARALLEL_ROWS", "pack_grants", "pack_part",
           "packed_by_child", "packed_parts", "pack_others", "RowHasher",
           "content_digests", "for_backend", "grant_keys_of",
           "grant_form", "form_keys", "form_parts", "form_rows", "insert_grant_form", "SHAPE_COLUMNS",
           "grant_rows", "grant_tails", "rows_of_tails", "hashes_digest", "key_order", "row_hashes", "source_rows",
           "written_digest"]
