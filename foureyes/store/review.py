"""Every SQL statement of the review: campaigns, their items and frozen findings, decisions,
exceptions, notes and revocation checks. Rows in, rows out; `foureyes.review` owns the meaning.

Readers take the `Store` (a connection of their own) or the caller's `Connection` (inside a
write transaction, see `store.audit.run`); writers always take the transaction's connection.
States and statuses are the review's words (`review.vocabulary`), passed in, never spelled here.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import repeat
from operator import countOf, eq, itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.exc import IntegrityError

from . import Store, records
from . import schema as t
from .forking import Forked, parallel_possible  # (`campaigns` forks through this module)

ITEM_BATCH = 2000
# Items from which, on SQLite, their digest is worked out in a forked child while they are inserted
# (below it a fork costs more than it saves)
PARALLEL_ITEMS = 50_000

Db = Store | Connection


class PeriodTaken(Exception):
    """Another process created this template's campaign for the period first (a unique key)."""


@contextmanager
def _reading(db: Db) -> Iterator[Connection]:
    if isinstance(db, Connection):
        yield db
    else:
        with db.engine.connect() as conn:
            yield conn


# ---------------------------------------------------------------- campaigns


def grant_principals(db: Db, snapshot_id: int, tier: str | None = None) -> list[tuple[str, str]]:
    """(key, principal) of every grant of a snapshot that confers a capability (on a resource of
    ``tier``): the grants `StoredSnapshot.capability_grants` reads, without decoding them (what a
    campaign's baseline needs of an earlier snapshot is who held which grant)."""
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT key, principal FROM grants WHERE snapshot_id = {mark} AND capabilities <> ''"
    params: list[Any] = [snapshot_id]
    if tier is not None:
        sql += (f" AND resource IN (SELECT system || ':' || kind || ':' || ident FROM resources"
                f" WHERE snapshot_id = {mark} AND tier = {mark})")
        params += [snapshot_id, tier]
    with _reading(db) as conn:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            return [(key, principal) for key, principal in cursor.fetchall()]
        finally:
            cursor.close()


def insert_campaign(conn: Connection, values: Mapping[str, Any]) -> int:
    """A new campaign row; `PeriodTaken` when its (template, period) exists already."""
    try:
        return conn.execute(t.campaigns.insert().values(**values)).inserted_primary_key[0]
    except IntegrityError as exc:
        raise PeriodTaken(str(exc.orig)) from exc


# An item row as `insert_items` takes it: every column but the id, in the table's order.
ITEM_COLUMNS: tuple[str, ...] = tuple(c.name for c in t.campaign_items.columns if c.name != "id")


# Columns that often hold one value on every item of a campaign (or of a run of its items): the
# state items start in, a scope's tier, what a snapshot without a roster, activity or conditions
# leaves empty, a single fallback reviewer. Where one does in all the rows being written, that
# value is written once for them all (a literal of the statement, or one bound value of the copy)
# instead of once per row: SQLite's cost is per bound value, and a NULL's ~4x a string's (the
# driver looks for an adapter for anything but int, float and str). At full size 18 of the 37.
_SHARED = ("tier", "detail", "condition", "expires", "last_used", "previous", "reviewer", "reviewer_key",
           "reviewer_rule", "state", "decision_id", "decided_by", "decided_at", "version", "person_status",
           "person_manager", "person_department", "usage")
_SHARED_AT = tuple(ITEM_COLUMNS.index(c) - 1 for c in _SHARED)  # (in a row: no campaign id)


def _shared(rows: Sequence[Sequence[Any]], *, literal: bool) -> dict[int, Any]:
    """Position in a row -> value, of each `_SHARED` column that holds that one value in every row
    of ``rows`` (and stores as it would have bound: None, an int, a str; as a SQL literal
    (``literal``), a str without NUL). One pass over them where all do (the usual case)."""
    if not rows:
        return {}
    first = rows[0]
    pick = itemgetter(*_SHARED_AT)
    if countOf(map(pick, rows), pick(first)) == len(rows):
        found = list(_SHARED_AT)
    else:  # (each column on its own, stopping at its first other value)
        found = [i for i in _SHARED_AT if all(map(eq, map(itemgetter(i), rows), repeat(first[i])))]
    out = {}
    for i in found:
        value = first[i]
        if type(value) is str:
            if literal and "\x00" in value:
                continue
        elif type(value) is int:  # (equal is not enough: 1 == True == 1.0, which store or hash otherwise)
            if not -(1 << 63) <= value < 1 << 63 or set(map(type, map(itemgetter(i), rows))) != {int}:
                continue
        elif value is not None:
            continue
        out[i] = value
    return out


def _literal(value: Any) -> str:
    """A `_shared` value (as a literal) as SQL: the same value as binding it."""
    if value is None:
        return "NULL"
    return str(value) if type(value) is int else "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ItemsFile:
    """Item rows another process wrote into a SQLite file of their own (`write_items_file`), for
    `insert_items` to copy in with one statement: ``count`` rows, the values of the columns every
    row shared (``shared``: name, value; not in the file), and their hashes
    (`records.item_hashes`) where it worked them out for the ids in ``ids`` (campaign, first item),
    or ``hashed``, which gives both once they are (None where they are not): the writer may still
    be hashing them while they are copied in."""

    path: str
    count: int
    ids: tuple[int, int] | None = None
    hashes: tuple[list[bytes], set[tuple[Any, ...]]] | None = None
    shared: tuple[tuple[str, Any], ...] = ()
    # each reviewer the rows name and how many of them name it (None: not counted), for the
    # creation's answer: read back, a campaign's counts took a scan of all its items
    reviewers: tuple[tuple[str, int], ...] | None = None
    hashed: Callable[[], tuple[tuple[int, int], tuple[list[bytes], set[tuple[Any, ...]]]] | None] | None = field(
        default=None, compare=False)

    def worked_out(self) -> tuple[tuple[int, int] | None, tuple[list[bytes], set[tuple[Any, ...]]] | None]:
        """(the ids the rows were hashed for, their hashes), (None, None) where nobody hashed them."""
        if self.hashes is None and self.hashed is not None:
            found = self.hashed()
            if found is not None:
                return found
        return self.ids, self.hashes

    def select(self) -> tuple[str, list[Any]]:
        """The file's rows as `insert_items` takes them, as a SELECT's list (its table ``items``)
        and the values it binds: the columns they shared as bound values."""
        shared = dict(self.shared)
        return (", ".join("?" if name in shared else name for name in ITEM_COLUMNS[1:]),
                [shared[name] for name in ITEM_COLUMNS[1:] if name in shared])


# A file `new_items_file` made that its maker left behind (killed before it could remove it) is
# removed by a later one once its maker is gone and it is this old (seconds): a campaign's creation
# takes a minute at most, and a process of another PID namespace sharing the folder may look gone.
STALE_ITEMS_FILE = 3600


def new_items_file(store: Store) -> str | None:
    """An empty temporary file for a forked child's `write_items_file`, where the store can copy
    rows from one (a SQLite file) and a fork is safe (None otherwise). The caller removes it; one
    a killed process left (hundreds of megabytes at full size) goes with the next one made
    (`_remove_left_items_files`)."""
    if not store.is_sqlite or store.path is None or not parallel_possible():
        return None
    _remove_left_items_files(tempfile.gettempdir())
    handle, path = tempfile.mkstemp(prefix=f"foureyes-items-{os.getpid()}-", suffix=".db")
    os.close(handle)
    return path


def _remove_left_items_files(folder: str) -> None:
    """Remove the items files in ``folder`` whose maker (the PID in the name) is no longer running
    and that were last written `STALE_ITEMS_FILE` seconds ago or more."""
    now = time.time()
    for path in Path(folder).glob("foureyes-items-*-*.db"):
        pid = path.name.split("-")[2]
        if not pid.isdigit() or _running(int(pid)):
            continue
        with suppress(OSError):  # (gone meanwhile, or not ours to remove: left as it is)
            if now - path.stat().st_mtime >= STALE_ITEMS_FILE:
                path.unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (running, as another user's)
        return True
    return True


def write_items_file(path: str, rows: Sequence[Sequence[Any]]) -> ItemsFile:
    """Item rows (as `insert_items` takes them) into an empty SQLite file, in order, but for the
    columns all of them share (`_shared`: kept in the `ItemsFile`): no journal, no index, big
    pages, and columns without a type, so each value is kept as it was bound and the store's
    columns convert it as they would have had it been bound there."""
    shared = _shared(rows, literal=False)
    kept = [i for i in range(len(ITEM_COLUMNS) - 1) if i not in shared]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA page_size=65536")  # (fewer pages to write, then to read: ~10% less CPU both ways)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(f"CREATE TABLE items ({', '.join(ITEM_COLUMNS[1 + i] for i in kept)})")
        sql = f"INSERT INTO items VALUES ({', '.join(['?'] * len(kept))})"
        pick = itemgetter(*kept)
        conn.execute("BEGIN")
        for at in range(0, len(rows), ITEM_BATCH):
            conn.executemany(sql, map(pick, rows[at:at + ITEM_BATCH]))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return ItemsFile(path, len(rows), shared=tuple((ITEM_COLUMNS[1 + i], v) for i, v in shared.items()),
                     reviewers=tuple(reviewers_of(rows).items()))


_REVIEWER_AT = ITEM_COLUMNS.index("reviewer") - 1  # (in a row: no campaign id)


def reviewers_of(rows: Sequence[Sequence[Any]]) -> Counter[str]:
    """How many of the item rows (as `insert_items` takes them) name each reviewer."""
    return Counter(map(itemgetter(_REVIEWER_AT), rows))


def read_items_file(part: ItemsFile) -> list[tuple[Any, ...]]:
    """The rows `write_items_file` wrote, in order."""
    conn = sqlite3.connect(Path(part.path).as_uri() + "?mode=ro", uri=True)
    try:
        names, values = part.select()
        return conn.execute(f"SELECT {names} FROM items ORDER BY rowid", values).fetchall()
    finally:
        conn.close()


def item_hashes(campaign_id: int, rows: Sequence[Sequence[Any]],
                first: int) -> tuple[list[bytes], set[tuple[Any, ...]]]:
    """`records.item_hashes` of rows as `insert_items` takes them, given the ids from ``first`` on (sorted)."""
    return _hashes_of(campaign_id, rows, first)()


Later = Sequence[Sequence[Any]] | ItemsFile


def insert_items(conn: Connection, campaign_id: int, rows: Sequence[Sequence[Any]], *,
                 more: Callable[[], Later] | None = None, told: Callable[[int, int], None] | None = None,
                 fork_from: int | None = None) -> dict[str, Any]:
    """A campaign's items, in bulk (tuples in `ITEM_COLUMNS` order without the first, the campaign's
    id: ``campaign_id``): plain tuples through the driver's executemany (SQLAlchemy's per-row parameter processing cost more
    than the insert on a campaign of 500,000 items). ``more`` gives the rows that follow ``rows``,
    called once ``rows`` are in (a forked child may still be planning them meanwhile); on SQLite
    it may give them as an `ItemsFile`, copied in with one statement, and ``told`` hears first,
    before ``rows`` go in, the campaign's id and the id the later rows start at.

    Returns what the campaign's creation commits to about them (`records.ItemsDigest`), worked
    out from the rows as written and the ids they were given: reading 500,000 rows back for it
    took as long as writing them. On SQLite, ``fork_from`` items or more (`PARALLEL_ITEMS` when not
    given) have it worked out in a forked child while they are inserted."""
    names = list(ITEM_COLUMNS)
    if conn.dialect.name == "sqlite":
        return _insert_items_sqlite(conn, campaign_id, rows, more, told,
                                    PARALLEL_ITEMS if fork_from is None else fork_from)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO campaign_items ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    parts: list[Sequence[Sequence[Any]]] = [rows]
    for part in range(2):
        for start in range(0, len(parts[part]), ITEM_BATCH):
            # PostgreSQL text cannot hold NUL (U+FFFD, as snapshots do)
            conn.exec_driver_sql(sql, [_clean((campaign_id, *row)) for row in parts[part][start:start + ITEM_BATCH]])
        if part == 0:
            later = more() if more is not None else ()
            assert not isinstance(later, ItemsFile), "an ItemsFile is for SQLite"
            parts.append(later)
    everything = [*parts[0], *parts[1]] if parts[1] else parts[0]
    # each row's id: handed out in insertion order (PostgreSQL's sequence), and only this
    # transaction writes this campaign's items
    ids = [r[0] for r in conn.exec_driver_sql(f"SELECT id FROM campaign_items WHERE campaign_id = {mark} ORDER BY id",
                                              (campaign_id,))]
    if len(ids) != len(everything):  # pragma: no cover - the campaign was created in this transaction
        raise ValueError(f"campaign {campaign_id} has {len(ids)} items, {len(everything)} were written")
    return records.items_digest(ids, (_clean((campaign_id, *row)) for row in everything), ITEM_COLUMNS)


def _insert_items_sqlite(conn: Connection, campaign_id: int, rows: Sequence[Sequence[Any]],
                         more: Callable[[], Later] | None, told: Callable[[int, int], None] | None,
                         fork_from: int) -> dict[str, Any]:
    """`insert_items` on SQLite: the ids SQLite would hand out (one more than the largest, the
    table having no AUTOINCREMENT) given explicitly, so the digest needs no reading back. The
    write lock is held (the campaign's row was written in this transaction): no other writer
    takes an id in between. With the ids known before the rows go in, a campaign of ``fork_from``
    items or more has its digest worked out by a forked child on the other core while SQLite
    writes (`Forked`; in a thread it was slower: SQLite lets go of the GIL for each row
    only, and waits up to the switch interval for it). With ``more``, each part's rows have their
    hashes worked out by a child of their own while they go in (`records.item_hashes`), the later
    part's once ``more`` gave them; an `ItemsFile` comes with its hashes (worked out where its
    rows were, for the ids ``told`` said), and its rows are copied in from it."""
    start = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM campaign_items").scalar_one()) + 1
    if told is not None:
        told(campaign_id, start + len(rows))

    def insert(part: Sequence[Sequence[Any]], first: int) -> None:
        _insert_run(conn, int(campaign_id), part, first)

    # each part's hashes worked out by a child while this process inserts that part (a part of a
    # campaign in two counts double against ``fork_from``: about half of the items)
    parts: list[tuple[Later, int]] = [(rows, start)]
    children: list[Forked | None] = []
    halves = 1 if more is None else 2
    try:
        for n in range(halves):
            part, first = parts[n]
            if isinstance(part, ItemsFile):
                children.append(None)
                _copy_in(conn, campaign_id, part, first)
            else:
                children.append(Forked(_hashes_of(campaign_id, part, first))
                                if len(part) * halves >= fork_from else None)
                insert(part, first)
            if n + 1 < halves and more is not None:
                parts.append((more(), start + len(rows)))
    except BaseException:
        for child in children:
            if child is not None:
                child.cancel()
        raise
    found = []
    for child, (part, first) in zip(children, parts):
        if isinstance(part, ItemsFile):
            ids, hashes = part.worked_out()
            found.append(hashes if hashes is not None and ids == (campaign_id, first)
                         else item_hashes(campaign_id, read_items_file(part), first))
            continue
        done, hashes = child.result() if child is not None else (False, None)
        found.append(hashes if done else _hashes_of(campaign_id, part, first)())
    return records.items_digest_of(found)


def _insert_run(conn: Connection, campaign_id: int, part: Sequence[Sequence[Any]], first: int) -> None:
    """``part``'s rows into the campaign's, their ids from ``first`` on (one more than the largest
    id in the table) in order, through the driver's executemany: the campaign's id and the columns
    all of them share (`_shared`) are literals of the statement, and the ids those SQLite hands out
    (one more than the largest, the table having no AUTOINCREMENT; checked), so each row binds
    only what is its own, as it is, with no tuple made for it but that of those values."""
    if not part:
        return
    shared = _shared(part, literal=True)
    kept = [i for i in range(len(ITEM_COLUMNS) - 1) if i not in shared]
    names = [ITEM_COLUMNS[1 + i] for i in (*kept, *shared)]
    values = ["?"] * len(kept) + [_literal(v) for v in shared.values()]
    sql = f"INSERT INTO campaign_items (campaign_id, {', '.join(names)}) VALUES ({campaign_id}, {', '.join(values)})"
    pick = itemgetter(*kept)  # (never fewer than two: `_SHARED` leaves the grant, the person, the path…)
    cursor = conn.connection.cursor()
    try:
        for at in range(0, len(part), ITEM_BATCH):
            cursor.executemany(sql, map(pick, part[at:at + ITEM_BATCH]))
        last = cursor.execute("SELECT max(id) FROM campaign_items").fetchone()[0]
    finally:
        cursor.close()
    if last != first + len(part) - 1:  # pragma: no cover - the write lock is held, ids are handed out in order
        raise ValueError(f"campaign {campaign_id}'s items were given ids up to {last}, not {first}…{first + len(part) - 1}")


def _copy_in(conn: Connection, campaign_id: int, part: ItemsFile, first: int) -> None:
    """``part``'s rows into the campaign's, their ids from ``first`` on in the file's order: one
    INSERT … SELECT from the file attached to this transaction's connection. SQLite refuses to
    DETACH inside a transaction, so the connection leaves the pool and is closed after it (the
    file is never attached to a connection used again)."""
    conn.detach()
    conn.exec_driver_sql("ATTACH DATABASE ? AS items_part", (part.path,))
    names, values = part.select()
    copied = conn.exec_driver_sql(
        f"INSERT INTO main.campaign_items (id, campaign_id, {', '.join(ITEM_COLUMNS[1:])}) "
        f"SELECT rowid + ?, ?, {names} FROM items_part.items ORDER BY rowid", (first - 1, campaign_id, *values)).rowcount
    if copied != part.count:  # pragma: no cover - the file holds what its writer said
        raise ValueError(f"{part.path} held {copied} items, {part.count} were written")


def _hashes_of(campaign_id: int, rows: Sequence[Sequence[Any]], first: int) -> Callable[[], Any]:
    def hashes() -> tuple[list[bytes], set[tuple[Any, ...]]]:
        found, starts = records.item_hashes(range(first, first + len(rows)), ((campaign_id, *row) for row in rows),
                                            ITEM_COLUMNS)
        found.sort()  # (in the child: the digest sorts all the hashes, and two sorted runs sort 3× faster)
        return found, starts
    return hashes


def _clean(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(v.replace("\x00", "\ufffd") if type(v) is str and "\x00" in v else v for v in row)


def insert_findings(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(t.campaign_findings.insert(), list(rows))


def campaign(db: Db, campaign_id: int, *, lock: str = "") -> Row[Any] | None:
    """One campaign row; ``lock`` "share" or "update" locks it for the transaction."""
    query = select(t.campaigns).where(t.campaigns.c.id == campaign_id)
    if lock:
        query = query.with_for_update(read=lock == "share")
    with _reading(db) as conn:
        return conn.execute(query).first()


def campaign_of_period(db: Db, template: str, period: str) -> Row[Any] | None:
    with _reading(db) as conn:
        return conn.execute(select(t.campaigns).where(t.campaigns.c.template == template,
                                                      t.campaigns.c.period == period)).first()


def campaigns(db: Db, *, status: str | None = None) -> list[Row[Any]]:
    query = select(t.campaigns).order_by(t.campaigns.c.id)
    if status:
        query = query.where(t.campaigns.c.status == status)
    with _reading(db) as conn:
        return list(conn.execute(query))


def last_closed_snapshot(db: Db, snapshot_id: int, *, closed: str) -> int | None:
    """The snapshot of the campaign closed (status ``closed``) last, among those on ``snapshot_id`` or earlier."""
    with _reading(db) as conn:
        row = conn.execute(
            select(t.campaigns.c.snapshot_id).where(t.campaigns.c.status == closed,
                                                    t.campaigns.c.snapshot_id <= snapshot_id)
            .order_by(t.campaigns.c.closed_at.desc(), t.campaigns.c.id.desc()).limit(1)
        ).first()
    return row.snapshot_id if row is not None else None


def people_rows(aliases: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str, str]]:
    """A campaign's identities as `campaign_people` rows without the campaign's id: (alias, person, via)."""
    return [(alias, person, via) for alias, people in sorted(aliases.items()) for person, via in sorted(people.items())]


def people_digest_of(aliases: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """`records.people_digest` of a campaign whose identities are ``aliases``, from them rather than
    read back (100,000 rows at full size)."""
    return records.rows_digest(people_rows(aliases))


def insert_people(conn: Connection, campaign_id: int, aliases: Mapping[str, Mapping[str, str]]) -> None:
    """A campaign's identities: folded alias -> {folded person: how it was linked}."""
    rows = [(campaign_id, *row) for row in people_rows(aliases)]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO campaign_people (campaign_id, alias, person, via) VALUES ({mark}, {mark}, {mark}, {mark})"
    for start in range(0, len(rows), ITEM_BATCH):  # plain tuples, as items (50,000 people have 100,000 spellings)
        conn.exec_driver_sql(sql, rows[start:start + ITEM_BATCH])


def people_named(db: Db, campaign_id: int, aliases: Iterable[str]) -> dict[str, frozenset[str]]:
    """Folded alias -> the folded person keys it names in the campaign, for those that name any."""
    wanted = sorted(set(aliases))
    out: dict[str, set[str]] = {}
    if not wanted:
        return {}
    with _reading(db) as conn:
        for row in conn.execute(select(t.campaign_people.c.alias, t.campaign_people.c.person)
                                .where(t.campaign_people.c.campaign_id == campaign_id,
                                       t.campaign_people.c.alias.in_(wanted))):
            out.setdefault(row.alias, set()).add(row.person)
    return {k: frozenset(v) for k, v in out.items()}


def mark_people_frozen(conn: Connection, campaign_id: int) -> None:
    conn.execute(t.campaigns.update().where(t.campaigns.c.id == campaign_id).values(people_frozen=True))


def mark_closed(conn: Connection, campaign_id: int, *, status: str, at: str, actor: str, reason: str) -> None:
    conn.execute(t.campaigns.update().where(t.campaigns.c.id == campaign_id)
                 .values(status=status, closed_at=at, closed_by=actor, close_reason=reason))


# ---------------------------------------------------------------- items


def items(db: Db, campaign_id: int, *, reviewer_key: str | None = None,
          states: Iterable[str] | None = None) -> list[Row[Any]]:
    """A campaign's items in queue order (person, resource, entitlement); one reviewer's by
    their folded key (`keys.fold`, compared as stored: never SQL's lower())."""
    query = select(t.campaign_items).where(t.campaign_items.c.campaign_id == campaign_id)
    if states is not None:
        query = query.where(t.campaign_items.c.state.in_(list(states)))
    if reviewer_key is not None:
        query = query.where(t.campaign_items.c.reviewer_key == reviewer_key)
    query = query.order_by(t.campaign_items.c.person, t.campaign_items.c.resource, t.campaign_items.c.entitlement,
                           t.campaign_items.c.id)
    with _reading(db) as conn:
        return list(conn.execute(query))


def item_values(db: Db, campaign_id: int, *, reviewer_key: str | None = None,
                states: Iterable[str] | None = None) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """`items` as the column names and plain tuples, through the driver's own cursor: a queue of
    500,000 items read as SQLAlchemy rows cost more than the reading."""
    names = tuple(c.name for c in t.campaign_items.columns)
    mark = "?" if (db.dialect if isinstance(db, Connection) else db.engine.dialect).paramstyle == "qmark" else "%s"
    where, params = f"campaign_id = {mark}", [campaign_id]
    if states is not None:
        wanted = list(states)
        if not wanted:
            return names, []
        where += f" AND state IN ({', '.join([mark] * len(wanted))})"
        params += wanted
    if reviewer_key is not None:
        where += f" AND reviewer_key = {mark}"
        params.append(reviewer_key)
    sql = (f"SELECT {', '.join(names)} FROM campaign_items WHERE {where} "
           "ORDER BY person, resource, entitlement, id")
    with _reading(db) as conn:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return names, cursor.fetchall()
        finally:
            cursor.close()


def item(db: Db, item_id: int, *, lock: bool = False) -> Row[Any] | None:
    query = select(t.campaign_items).where(t.campaign_items.c.id == item_id)
    if lock:
        query = query.with_for_update()
    with _reading(db) as conn:
        return conn.execute(query).first()


def items_to_close(conn: Connection, campaign_id: int) -> list[Row[Any]]:
    """Every item of the campaign, locked, in id order."""
    return list(conn.execute(select(t.campaign_items).where(t.campaign_items.c.campaign_id == campaign_id)
                             .order_by(t.campaign_items.c.id).with_for_update()))


def item_states(db: Db, campaign_id: int, *, ids: Iterable[int] | None = None) -> list[Row[Any]]:
    """(id, state, reviewer, reviewer_key) of each item of the campaign (of those in ``ids``)."""
    query = select(t.campaign_items.c.id, t.campaign_items.c.state, t.campaign_items.c.reviewer,
                   t.campaign_items.c.reviewer_key).where(t.campaign_items.c.campaign_id == campaign_id)
    with _reading(db) as conn:
        if ids is None:
            return list(conn.execute(query))
        wanted = sorted(set(ids))
        return [row for start in range(0, len(wanted), 500)
                for row in conn.execute(query.where(t.campaign_items.c.id.in_(wanted[start:start + 500])))]


def state_counts(db: Db, campaign_id: int, *, by: str = "reviewer") -> list[tuple[str, str, int]]:
    """(``by``: reviewer or reviewer_key, state, how many items) of the campaign, counted by the
    database; each reviewer's states in the order of their first item."""
    c = t.campaign_items.c
    with _reading(db) as conn:
        found = conn.execute(select(c[by], c.state, func.count(), func.min(c.id))
                             .where(c.campaign_id == campaign_id).group_by(c[by], c.state)).all()
    return [(r[0], r[1], r[2]) for r in sorted(found, key=lambda r: (r[0], r[3]))]


def set_item(conn: Connection, item_id: int, version: int, *, state: str, decision_id: int | None,
             decided_by: str | None, decided_at: str | None) -> bool:
    """Compare-and-set on ``version``: False when another writer changed the item first."""
    result = conn.execute(
        t.campaign_items.update()
        .where(t.campaign_items.c.id == item_id, t.campaign_items.c.version == version)
        .values(state=state, decision_id=decision_id, decided_by=decided_by, decided_at=decided_at,
                version=version + 1)
    )
    return result.rowcount == 1


def set_reviewer_key(conn: Connection, item_id: int, key: str) -> None:
    conn.execute(t.campaign_items.update().where(t.campaign_items.c.id == item_id).values(reviewer_key=key))


def final_states(db: Db, states: Sequence[str]) -> list[Row[Any]]:
    """Items in one of ``states`` with their campaign's id and name, oldest campaign first."""
    query = (
        select(t.campaign_items.c.person, t.campaign_items.c.grant_key, t.campaign_items.c.state,
               t.campaign_items.c.decided_by, t.campaign_items.c.decided_at, t.campaign_items.c.fingerprint,
               t.campaigns.c.id, t.campaigns.c.name)
        .join(t.campaigns, t.campaigns.c.id == t.campaign_items.c.campaign_id)
        .where(t.campaign_items.c.state.in_(list(states)))
        .order_by(t.campaigns.c.id)
    )
    with _reading(db) as conn:
        return list(conn.execute(query))


# ---------------------------------------------------------------- decisions


def insert_decision(conn: Connection, values: Mapping[str, Any]) -> int:
    return conn.execute(t.decisions.insert().values(**values)).inserted_primary_key[0]


def decision(db: Db, decision_id: int) -> Row[Any] | None:
    with _reading(db) as conn:
        return conn.execute(select(t.decisions).where(t.decisions.c.id == decision_id)).first()


def set_audit_seq(conn: Connection, decision_id: int, seq: int) -> None:
    conn.execute(t.decisions.update().where(t.decisions.c.id == decision_id).values(audit_seq=seq))


def decisions(db: Db, *, campaign_id: int | None = None, item_id: int | None = None,
              include_undone: bool = True) -> list[Row[Any]]:
    query = select(t.decisions).order_by(t.decisions.c.id)
    if campaign_id is not None:
        query = query.where(t.decisions.c.campaign_id == campaign_id)
    if item_id is not None:
        query = query.where(t.decisions.c.item_id == item_id)
    if not include_undone:
        query = query.where(t.decisions.c.undone_by.is_(None))
    with _reading(db) as conn:
        return list(conn.execute(query))


def last_decision_of(conn: Connection, campaign_id: int, actor_key: str) -> Row[Any] | None:
    """The latest decision in the campaign of the person ``actor_key`` names (folded), not undone
    nor by policy, whichever spelling they used."""
    return conn.execute(
        select(t.decisions).where(t.decisions.c.campaign_id == campaign_id,
                                  t.decisions.c.actor_key == actor_key,
                                  t.decisions.c.undone_by.is_(None), t.decisions.c.by_policy == False)  # noqa: E712
        .order_by(t.decisions.c.id.desc()).limit(1)
    ).first()


def bulk_decisions(conn: Connection, bulk: str) -> list[Row[Any]]:
    """The decisions of one bulk action that are not undone, newest first."""
    return list(conn.execute(select(t.decisions).where(t.decisions.c.bulk == bulk, t.decisions.c.undone_by.is_(None))
                             .order_by(t.decisions.c.id.desc())))


def mark_undone(conn: Connection, decision_id: int, *, actor: str, at: str) -> None:
    conn.execute(t.decisions.update().where(t.decisions.c.id == decision_id).values(undone_by=actor, undone_at=at))


# ---------------------------------------------------------------- exceptions


def insert_exception(conn: Connection, values: Mapping[str, Any]) -> Row[Any]:
    exception_id = conn.execute(t.exceptions.insert().values(**values)).inserted_primary_key[0]
    return conn.execute(select(t.exceptions).where(t.exceptions.c.id == exception_id)).one()


def exception(db: Db, exception_id: int, *, lock: bool = False) -> Row[Any] | None:
    query = select(t.exceptions).where(t.exceptions.c.id == exception_id)
    if lock:
        query = query.with_for_update()
    with _reading(db) as conn:
        return conn.execute(query).first()


def exceptions(db: Db, *, campaign_id: int | None = None, status: str | None = None,
               item_id: int | None = None) -> list[Row[Any]]:
    query = select(t.exceptions).order_by(t.exceptions.c.id)
    if campaign_id is not None:
        query = query.where(t.exceptions.c.campaign_id == campaign_id)
    if status is not None:
        query = query.where(t.exceptions.c.status == status)
    if item_id is not None:
        query = query.where(t.exceptions.c.item_id == item_id)
    with _reading(db) as conn:
        return list(conn.execute(query))


def items_with_exception(db: Db, campaign_id: int, *, status: str) -> set[int]:
    """Ids of the campaign's items with an exception in ``status`` (pending: awaiting its second approver)."""
    with _reading(db) as conn:
        return {r.item_id for r in conn.execute(
            select(t.exceptions.c.item_id).where(t.exceptions.c.campaign_id == campaign_id,
                                                 t.exceptions.c.status == status))}


def set_exception_status(conn: Connection, *, status: str, note: str, exception_id: int | None = None,
                         decision_id: int | None = None, item_id: int | None = None,
                         only: Sequence[str] = (), **values: Any) -> None:
    """Set the status (and ``values``) of the exceptions picked by id, decision or item, those in
    ``only`` statuses when given."""
    query = t.exceptions.update()
    if exception_id is not None:
        query = query.where(t.exceptions.c.id == exception_id)
    if decision_id is not None:
        query = query.where(t.exceptions.c.decision_id == decision_id)
    if item_id is not None:
        query = query.where(t.exceptions.c.item_id == item_id)
    if only:
        query = query.where(t.exceptions.c.status.in_(list(only)))
    conn.execute(query.values(status=status, resolution_note=note, **values))


# ---------------------------------------------------------------- notes and findings


def insert_note(conn: Connection, *, item_id: int, actor: str, at: str, text: str) -> int:
    return conn.execute(t.item_notes.insert().values(item_id=item_id, actor=actor, at=at, text=text)) \
        .inserted_primary_key[0]


def notes(db: Db, item_id: int) -> list[Row[Any]]:
    with _reading(db) as conn:
        return list(conn.execute(select(t.item_notes).where(t.item_notes.c.item_id == item_id)
                                 .order_by(t.item_notes.c.id)))


def findings(db: Db, campaign_id: int, *, people: Iterable[str] | None = None, rules: Iterable[str] | None = None,
             ordered: bool = False) -> list[Row[Any]]:
    """Conflicts frozen into a campaign: some people's (by folded key), of some rules, or all;
    ``ordered`` by rule, person and scope."""
    query = select(t.campaign_findings).where(t.campaign_findings.c.campaign_id == campaign_id)
    if people is not None:
        query = query.where(t.campaign_findings.c.person_key.in_(sorted(people)))
    if rules is not None:
        query = query.where(t.campaign_findings.c.rule.in_(sorted(rules)))
    if ordered:
        query = query.order_by(t.campaign_findings.c.rule, t.campaign_findings.c.person, t.campaign_findings.c.scope)
    elif rules is not None:
        query = query.order_by(t.campaign_findings.c.rule, t.campaign_findings.c.scope)
    with _reading(db) as conn:
        return list(conn.execute(query))


# ---------------------------------------------------------------- revocation checks


def items_in_state(db: Db, state: str, *, campaign_id: int | None = None, not_via: str = "") -> list[Row[Any]]:
    """Items in ``state`` (revoked: for follow-through) with their campaign's snapshot: (id,
    campaign_id, person, grant_key, resource, snapshot_id), in id order; ``not_via`` leaves out
    items whose ``via`` is that (uses of emergency paths, which are no grant to look for)."""
    query = (select(t.campaign_items.c.id, t.campaign_items.c.campaign_id, t.campaign_items.c.person,
                    t.campaign_items.c.grant_key, t.campaign_items.c.resource, t.campaigns.c.snapshot_id)
             .join(t.campaigns, t.campaigns.c.id == t.campaign_items.c.campaign_id)
             .where(t.campaign_items.c.state == state).order_by(t.campaign_items.c.id))
    if campaign_id is not None:
        query = query.where(t.campaign_items.c.campaign_id == campaign_id)
    if not_via:
        query = query.where(t.campaign_items.c.via != not_via)
    with _reading(db) as conn:
        return list(conn.execute(query))


def revocation_checks(db: Db, item_ids: Sequence[int]) -> list[Row[Any]]:
    """Checks recorded for these items, in snapshot order."""
    if not item_ids:
        return []
    with _reading(db) as conn:
        return list(conn.execute(select(t.revocation_checks).where(t.revocation_checks.c.item_id.in_(list(item_ids)))
                                 .order_by(t.revocation_checks.c.snapshot_id)))


def record_checks(store: Store, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert check rows, each on its own; another process may have recorded the same check
    first (the same truth), which is skipped. Returns how many were inserted."""
    inserted = 0
    for row in rows:
        try:
            with store.engine.begin() as conn:
                conn.execute(t.revocation_checks.insert().values(**row))
            inserted += 1
        except IntegrityError:
            continue
    return inserted
