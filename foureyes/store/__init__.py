"""The snapshot store: SQLite by default, any SQLAlchemy URL (PostgreSQL for teams).

A snapshot is written in one transaction and marked complete in that same transaction,
so an interrupted write never leaves a snapshot that looks complete.
"""

from __future__ import annotations

import json
import os
import re
import stat
from itertools import chain, islice
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ..activity import ActivityPeriod, canonical
from ..bulk import gc_paused
from ..config import STORE_ENV, Config, default_data_dir
from ..errors import NotFound, StoreError
from ..model import (
    Gap,
    Principal,
    Snapshot,
    SnapshotInfo,
    SourceResult,
    SourceSummary,
    resource_key,
    snapshot_digest,
)
from . import loading, migrations, writing
from . import schema as t
from .writing import (  # noqa: F401 - hashes_digest and row_hashes are the store's (analyses.py)
    DigestWorker,
    GrantPacker,
    RowHasher,
    _dumps,
    _dumps_shared,
    for_backend,
    grant_keys_of,
    grant_rows,
    grant_tails,
    hashes_digest,
    key_order,
    row_hashes,
    rows_of_tails,
    source_rows,
    written_digest,
)

BATCH = 5000


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_url() -> str:
    return f"sqlite:///{default_data_dir() / 'foureyes.db'}"


def store_url(config: Config) -> str:
    """$FOUREYES_STORE_URL, else ``[store] url``, else SQLite in the data directory."""
    return os.environ.get(STORE_ENV) or config.store.url or default_url()


# A password in a URL: user:PASSWORD@host, or a query parameter such as ?password= (libpq reads it).
_USERINFO_PASSWORD = re.compile(r"(://[^/?#@:]*):([^/?#@]*)@")
_QUERY_SECRET = re.compile(r"([?&](?:[\w.-]*pass(?:word)?|pwd|[\w.-]*secret|[\w.-]*token)=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """A URL as it may be shown: a password, whether ``user:pw@`` or ``?password=``, is ``***``."""
    return _QUERY_SECRET.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1:***@", url))


def _url_secrets(url: URL) -> list[str]:
    found = [url.password] if url.password else []
    for key, value in url.query.items():
        if _QUERY_SECRET.match(f"?{key}="):
            found += [v for v in ([value] if isinstance(value, str) else value) if v]
    return [str(v) for v in found if len(str(v)) >= 3]


# SQLite URI options (https://sqlite.org/uri.html) a store may use; others are refused.
_SQLITE_MODES = ("rwc", "rw", "memory")


def _sqlite_target(parsed: URL) -> str | None:
    """The file a SQLite URL names, or None for an in-memory database; `file:` URIs and
    ``?mode=`` are read as SQLite reads them, so they get the same 0600 file or none at all."""
    query = dict(parsed.query)
    database = parsed.database or ""
    uri = str(query.pop("uri", "")).lower() in ("true", "1", "yes")
    mode = str(query.pop("mode", "") or "")
    if query:
        raise StoreError(f"store url {mask_url(str(parsed))}: SQLite option {sorted(query)[0]!r} is not supported; "
                         "use sqlite:////absolute/path.db (optionally ?mode=rwc|rw|memory)")
    if mode and mode not in _SQLITE_MODES:
        raise StoreError(f"store url {mask_url(str(parsed))}: ?mode={mode} is not supported (a store is written); "
                         f"use one of {', '.join(_SQLITE_MODES)}")
    if database.startswith("file:"):
        database = database.removeprefix("file:")
        if database.startswith("//"):  # file:///abs/path or file://localhost/abs/path
            host, _, rest = database[2:].partition("/")
            if host not in ("", "localhost"):
                raise StoreError(f"store url {mask_url(str(parsed))}: a file: URI on another host is not supported")
            database = "/" + rest
    elif uri and database and database != ":memory:":
        pass  # a plain path with ?uri=true is that path
    if mode == "memory" or not database or database == ":memory:":
        return None
    if mode == "rw" and not Path(database).exists():
        raise StoreError(f"store {database} does not exist (?mode=rw opens an existing store only)")
    return database


class Store:
    """Snapshots in a database. Open it, use it, `close` it (or use it as a context manager)."""

    def __init__(self, url: str, *, warn: Callable[[str], None] | None = None, migrate: bool = True):
        self.warnings: list[str] = []  # what was said through ``warn`` (kept when no one listens)
        self._warn_to = warn
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(f"store url {mask_url(url)!r} is not a valid SQLAlchemy URL") from None
        self.display_url = mask_url(parsed.render_as_string(hide_password=False))
        self.secrets = _url_secrets(parsed)  # scrubbed from every message the database gives back
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {}
        self.path: Path | None = None
        if self.is_sqlite:
            target = _sqlite_target(parsed)
            if target is not None:
                self.path = Path(target).expanduser().absolute()
                self._prepare_sqlite_file(self.path)
                parsed = URL.create("sqlite", database=str(self.path))
            else:
                parsed = URL.create("sqlite")  # in memory: nothing is written to disk
                options["poolclass"] = StaticPool
            options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            self.engine: Engine = create_engine(parsed, **options)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"store url {self.display_url} needs the Python package {exc.name!r}; "
                "install foureyes[postgres] for PostgreSQL"
            ) from None
        except ArgumentError as exc:
            raise StoreError(f"store url {self.display_url}: {self._scrub(str(exc).splitlines()[0])}") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.migrate()

    # -- lifecycle --------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn_to is not None:
            self._warn_to(message)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return mask_url(text)

    @property
    def files(self) -> tuple[Path, ...]:
        """The SQLite database and the files SQLite keeps beside it (none for other databases)."""
        if self.path is None:
            return ()
        return (self.path, *(self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm", "-journal")))

    def _prepare_sqlite_file(self, path: Path) -> None:
        """Create the database 0600 in a 0700 directory: a permission map is sensitive. Warn
        when the directory lets others replace it, or when someone else owns it."""
        try:
            if not path.parent.exists():
                path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
            folder = path.parent.stat()
            if stat.S_IMODE(folder.st_mode) & 0o022:
                self._warn(f"the store's directory {path.parent} is writable by others (mode "
                           f"{stat.S_IMODE(folder.st_mode):04o}): they could replace the database or its journal; "
                           f"keep the store in a directory only you can write (chmod 700)")
            if not path.exists():
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.close(fd)
            else:
                info = path.stat()
                mode = stat.S_IMODE(info.st_mode)
                if mode & 0o077:
                    self._warn(
                        f"store {path} is readable by others (mode {mode:04o}); "
                        f"it maps who can do what: chmod 600 {path}"
                    )
                if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
                    self._warn(f"store {path} is owned by user id {info.st_uid}, not by you ({os.geteuid()}): "
                               "its owner can change the snapshots and the review records in it")
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the store at {path}: {exc.strerror}") from None

    def migrate(self) -> int:
        """Bring the schema up to date; returns the version. Refuses a newer schema."""
        try:
            with self.engine.begin() as conn:
                version = migrations.current_version(conn)
            if version > migrations.LATEST:
                raise StoreError(
                    f"store {self.display_url} has schema version {version}, newer than this "
                    f"foureyes understands ({migrations.LATEST}); upgrade foureyes"
                )
            for number, description, step in migrations.pending_after(version):
                with self.engine.begin() as conn:
                    if migrations.current_version(conn) >= number:
                        continue  # another process got there first
                    step(conn)
                    migrations.record(conn, number, description)
            return migrations.LATEST
        except OperationalError as exc:
            raise StoreError(f"cannot open store {self.display_url}: {self._scrub(_db_message(exc))}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------

    def write_snapshot(
        self,
        results: Sequence[SourceResult],
        *,
        taken_at: str | None = None,
        label: str = "",
    ) -> SnapshotInfo:
        """Store the results of one run as one snapshot, all or nothing, with the content digest a
        campaign's creation commits to (`written_digest`: computed from the rows as they are written;
        for a big snapshot on the other core, by a forked `DigestWorker`, while the rows are inserted)."""
        # The cyclic GC paused: the rows are acyclic tuples, and each automatic collection walked the
        # caller's million grants again (2-4 s of a full-size write).
        with gc_paused():
            return self._write_snapshot(results, taken_at, label)

    def _write_snapshot(self, results: Sequence[SourceResult], taken_at: str | None, label: str) -> SnapshotInfo:
        taken = taken_at or now_iso()
        texts = [[canonical(a) for a in r.activity] for r in results]  # encoded once: stored and hashed
        size = sum(len(r.grants) + len(r.principals) + len(r.resources) + len(r.edges) for r in results)
        worker = DigestWorker(results, texts, self.is_sqlite) if size >= writing.PARALLEL_ROWS else None
        if worker is None:
            hasher: RowHasher | None = RowHasher()
            grant_keys = grant_keys_of(results)  # hashed once, used twice
            digest = snapshot_digest(results, grant_keys=grant_keys, activity_texts=texts)
        elif self.is_sqlite:  # the keys and the grants' digests are worked out beside this process's inserts (the
            # other tables' are computed here as they are inserted, while the child makes the grants' form)
            hasher, digest = RowHasher(), ""
        else:  # the keys and every digest are worked out beside this process's inserts
            hasher, digest = None, ""
        row = {"taken_at": taken, "label": label, "digest": digest, "status": "writing", "stored_at": now_iso()}
        try:
            with self.engine.begin() as conn:
                snapshot_id = conn.execute(t.snapshots.insert().values(**row)).inserted_primary_key[0]
                dumps = _dumps_shared()
                kept = writing.RowsKept()  # the principals and edges as inserted, packed for loading below
                for result, activity_texts in zip(results, texts):
                    for table, rows in source_rows(snapshot_id, result, activity_texts, dumps):
                        self.insert_rows(conn, table, rows, written=kept.written(table, hasher and hasher.written(table)))
                # Grants in the order of their keys: the order the (snapshot, key) index reads them back
                # in, so a load reads the table front to back, and the index grows at its end.
                made: list[tuple[Any, ...]] = []
                form = worker.form() if worker is not None else None  # (SQLite's; else None)
                if form is not None:  # SQLite: the rows from the child's compact form, put together by SQLite
                    keys, order, rows = [], [], iter(())
                elif worker is not None:  # the rows made while the child hashes the keys, then sorts them
                    tails = grant_tails(results, _dumps_shared())
                    keys = worker.keys()
                    made = rows_of_tails(snapshot_id, results, keys, tails)
                    del tails
                    order = worker.order(keys)
                    rows: Iterable[tuple[Any, ...]] = map(made.__getitem__, order)
                else:
                    keys = [key for found in grant_keys for key in found]
                    order = key_order(keys)
                    rows = grant_rows(snapshot_id, results, keys, order, _dumps_shared())
                # the rows inserted kept for the pack only where no child packs them (it keeps its own)
                packer = GrantPacker(hasher.written(t.grants) if hasher is not None and worker is None else None,
                                     keep=worker is None)
                self.insert_rows(conn, t.grants, rows, written=packer.written)
                names = [r.name for r in results]
                packed = False  # (the pack row inserted)
                if form is not None:
                    packer.count = writing.insert_grant_form(conn, snapshot_id, form)
                    # while the child hashes the grants: the pack (the form is its parts; by source name, so
                    # two sources of one name are packed from the rows below) and the key digest
                    if len(set(names)) == len(names):
                        self._insert_pack(conn, snapshot_id, packer.count, writing.packed_parts(form[0]))
                        packed = True
                    else:
                        keys = [key for found in grant_keys_of(results) for key in found]
                        order = key_order(keys)
                    row["digest"] = snapshot_digest(results, grant_keys=writing.form_keys(form), activity_texts=texts)
                    ours: dict[int, tuple[Any, ...]] = {}
                else:  # the grants packed for loading in one read: the sources the child does not pack, packed
                    # here while it finishes the digests
                    ours = writing.pack_others(results, made, order, self.is_sqlite) if worker is not None else {}
                del rows, form
                made.clear()  # (inserted: not kept while the child finishes)
                # the principals and edges packed for loading, while the child finishes the digests
                for part, count, pack in kept.packs(snapshot_id, names):
                    conn.execute(t.snapshot_part_packs.insert().values(
                        snapshot_id=snapshot_id, part=part, format=writing.PART_PACK_FORMAT, rows=count, data=pack))
                del kept
                if worker is not None:
                    digest, tables = worker.result()
                    # (from a form: computed here; where the form was refused, the child's is not made either)
                    row["digest"] = row["digest"] or digest or snapshot_digest(results, activity_texts=texts)
                    tables = {**(hasher.digests() if hasher is not None else {}), **tables}
                else:
                    tables = hasher.digests()  # type: ignore[union-attr]
                # and the child's part, else from the rows inserted here (made again, as they were
                # inserted, where the child failed)
                parts = {**(worker.pack or {}), **ours} if worker is not None else {}
                if packed:
                    pass
                elif len(parts) == len(results) == len(set(names)) and worker is not None and worker.pack is not None:
                    self._insert_pack(conn, snapshot_id, packer.count,
                                      writing.packed_parts([parts[i] for i in range(len(results))]))
                elif packer.kept:
                    self._insert_pack(conn, snapshot_id, packer.count, packer.data(names))
                else:
                    again = GrantPacker()
                    again.written(list(for_backend(grant_rows(snapshot_id, results, keys, order, _dumps_shared()),
                                                   self.is_sqlite)))
                    self._insert_pack(conn, snapshot_id, packer.count, again.data(names))
                conn.execute(t.snapshots.update().where(t.snapshots.c.id == snapshot_id)
                             .values(status="complete", digest=row["digest"]))
                content = written_digest(snapshot_id, {**row, "status": "complete"}, tables)
                conn.execute(t.snapshot_digests.insert().values(
                    snapshot_id=snapshot_id, digest=json.dumps(content, sort_keys=True, ensure_ascii=False),
                    created_at=now_iso()))
        finally:
            if worker is not None:
                worker.cancel()  # (finished already unless the write failed)
        return self.snapshot_info(snapshot_id)

    @staticmethod
    def _insert_pack(conn: Any, snapshot_id: int, count: int, pack: bytes) -> None:
        conn.execute(t.snapshot_packs.insert().values(snapshot_id=snapshot_id, format=writing.PACK_FORMAT,
                                                      grants=count, data=pack))

    def insert_rows(self, conn: Any, table: Any, rows: Iterable[tuple[Any, ...]], *,
                    written: Callable[[list[tuple[Any, ...]]], None] | None = None) -> None:
        """Insert rows (tuples in the table's column order) in batches; ``written`` is given each
        batch as inserted (the values as they read back: a digest is computed from them)."""
        rows = for_backend(rows, self.is_sqlite)  # (PostgreSQL: NUL becomes U+FFFD)
        columns = [c.name for c in table.columns]
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        rows = iter(rows)
        while batch := list(islice(rows, BATCH)):  # (taken in C: no Python step per row)
            conn.exec_driver_sql(sql, batch)
            if written is not None:
                written(batch)

    # -- reading ----------------------------------------------------------------

    def list_snapshots(self) -> list[SnapshotInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.snapshots).where(t.snapshots.c.status == "complete").order_by(t.snapshots.c.id)
            ).all()
            sources = self._summaries(conn, [row.id for row in rows])
        return [_info(row, sources.get(row.id, ())) for row in rows]

    def snapshot_info(self, snapshot_id: int) -> SnapshotInfo:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.snapshots).where(
                    t.snapshots.c.id == snapshot_id, t.snapshots.c.status == "complete"
                )
            ).first()
            if row is None:
                raise NotFound(f"snapshot {snapshot_id} does not exist; `foureyes snapshots` lists them")
            sources = self._summaries(conn, [snapshot_id])
        return _info(row, sources.get(snapshot_id, ()))

    def _summaries(self, conn: Any, ids: list[int]) -> dict[int, tuple[SourceSummary, ...]]:
        out: dict[int, list[SourceSummary]] = {}
        if not ids:
            return {}
        query = select(t.sources).where(t.sources.c.snapshot_id.in_(ids)).order_by(t.sources.c.name)
        for row in conn.execute(query):
            out.setdefault(row.snapshot_id, []).append(
                SourceSummary(
                    name=row.name, system=row.system, principals=row.principals,
                    resources=row.resources, grants=row.grants, edges=row.edges, gaps=row.gaps,
                    started_at=row.started_at, finished_at=row.finished_at, error=row.error,
                    stats=loading.loads(row.stats), activity=row.activity,
                    period=(row.period_start, row.period_end) if row.period_start is not None else None,
                )
            )
        return {k: tuple(v) for k, v in out.items()}

    def latest_id(self) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(t.snapshots.c.id)).where(t.snapshots.c.status == "complete")
            ).scalar()

    def previous_id(self, snapshot_id: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(t.snapshots.c.id)).where(
                    t.snapshots.c.status == "complete", t.snapshots.c.id < snapshot_id
                )
            ).scalar()

    def resolve(self, ref: str | int | None) -> int:
        """A snapshot id from ``None``/"latest", "previous", "latest~N" or a number."""
        if ref is None or ref == "latest":
            found = self.latest_id()
            if found is None:
                raise NotFound(
                    "the store has no snapshots yet; run `foureyes snapshot` or `foureyes demo --load`"
                )
            return found
        text = str(ref)
        if text == "previous":
            text = "latest~1"
        if text.startswith("latest~"):
            steps = text.removeprefix("latest~")
            if not steps.isdigit():
                raise NotFound(f"snapshot {text!r}: expected latest~N")
            current = self.resolve(None)
            for _ in range(int(steps)):
                prior = self.previous_id(current)
                if prior is None:
                    raise NotFound(f"snapshot {text!r} does not exist: there are fewer snapshots")
                current = prior
            return current
        if not text.isdigit():
            raise NotFound(f"snapshot {text!r}: expected a number, 'latest' or 'previous'")
        return self.snapshot_info(int(text)).id

    def grant_changes(self, from_id: int, to_id: int) -> tuple[list[str], list[str]]:
        """Keys of grants added and removed between two snapshots, as set operations in SQL."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        query = (f"SELECT key FROM grants WHERE snapshot_id = {mark} "
                 f"EXCEPT SELECT key FROM grants WHERE snapshot_id = {mark}")
        with self.engine.connect() as conn:
            added = [row[0] for row in conn.exec_driver_sql(query, (to_id, from_id))]
            removed = [row[0] for row in conn.exec_driver_sql(query, (from_id, to_id))]
        return sorted(added), sorted(removed)

    def find_by_digest(self, digest: str, label: str) -> SnapshotInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.snapshots.c.id).where(
                    t.snapshots.c.digest == digest,
                    t.snapshots.c.label == label,
                    t.snapshots.c.status == "complete",
                )
            ).first()
        return self.snapshot_info(row.id) if row else None

    def gaps(self, snapshot_id: int) -> list[Gap]:
        """A snapshot's gaps, without loading the rest of it."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.gaps.c.system, t.gaps.c.resource, t.gaps.c.reason, t.gaps.c.hides)
                                .where(t.gaps.c.snapshot_id == snapshot_id)).all()
        return [Gap(*row) for row in rows]

    def load_snapshot(self, snapshot_id: int, *, packed: bool = True) -> Snapshot:
        """The whole snapshot; its grants from their pack where it has one that fits (``packed``), else
        from the rows (what checks the rows themselves, `audit verify`, asks for)."""
        info = self.snapshot_info(snapshot_id)
        parts = self.read_parts(info, loading.SNAPSHOT_PARTS, packed=packed)
        results = tuple(
            SourceResult(
                name=s.name, system=s.system,
                principals=tuple(parts[s.name]["principals"]),
                resources=tuple(parts[s.name]["resources"]),
                grants=tuple(parts[s.name]["grants"]),
                edges=tuple(parts[s.name]["edges"]),
                gaps=tuple(parts[s.name]["gaps"]),
                started_at=s.started_at, finished_at=s.finished_at, error=s.error, stats=s.stats,
                grant_keys=tuple(parts[s.name]["keys"]),
                activity=tuple(parts[s.name]["activity"]),
                period=ActivityPeriod(*s.period) if s.period else None,
            )
            for s in info.sources
        )
        return Snapshot(id=info.id, taken_at=info.taken_at, label=info.label, sources=results,
                        digest=info.digest)

    def remember_snapshot_digest(self, snapshot_id: int) -> None:
        """Compute and keep the content digest campaigns of this snapshot commit to (`records`)."""
        from .records import remembered_snapshot_digest

        with self.engine.begin() as conn:
            remembered_snapshot_digest(conn, snapshot_id)

    def snapshot_view(self, snapshot_id: int) -> "SnapshotView":
        """The snapshot read on demand: resources, principals and gaps when first asked for,
        grants and edges by key, the whole of it only when something needs all of it."""
        from .view import SnapshotView

        return SnapshotView(self, self.snapshot_info(snapshot_id))

    def read_parts(self, info: SnapshotInfo, tables: Sequence[str], *, where: str = "",
                   params: Sequence[Any] = (), packed: bool = False) -> dict[str, dict[str, list[Any]]]:
        """Rows of a snapshot's tables as model objects, per source (in the snapshot's source order,
        each in stored order): ``where`` (``" AND key IN (?, ?)"``) narrows every table read. With
        ``packed`` (and no ``where``), the grants, principals and edges come from their packs where they fit."""
        buckets: dict[str, dict[str, list[Any]]] = {
            s.name: {"principals": [], "resources": [], "grants": [], "keys": [], "edges": [], "gaps": [],
                     "activity": []}
            for s in info.sources
        }
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        clause = where.replace("?", mark)

        def chunks(cursor: Any) -> Iterator[list[Any]]:
            while True:
                chunk = cursor.fetchmany(20000)
                if not chunk:
                    break
                yield chunk
            cursor.close()

        def rows(table: str, columns: str) -> Any:
            # The driver's own cursor: per-row wrapping costs seconds on a million grants. The rows
            # are handed out by `chain` (in C): a generator resumed per row cost a tenth of the load.
            cursor = conn.connection.cursor()
            cursor.execute(f"SELECT source, {columns} FROM {table} WHERE snapshot_id = {mark}{clause}",
                           (info.id, *params))
            return chain.from_iterable(chunks(cursor))

        with gc_paused(keep=True), self.engine.connect() as conn:
            for table in tables:
                if table == "grants" and packed and not where and self._load_packed_grants(conn, info, buckets):
                    continue
                if table in writing.PACKED_PARTS and packed and not where \
                        and self._load_packed_part(conn, info, table, buckets):
                    continue
                loading.LOADERS[table](rows, buckets)
        return buckets

    def _load_packed_grants(self, conn: Any, info: SnapshotInfo, buckets: dict[str, dict[str, list[Any]]], *,
                            capable_only: bool = False, on_resources: set[str] | None = None) -> bool:
        """A snapshot's grants and keys from its pack (`writing.GrantPacker`), read in one go; False
        (nothing loaded) where it has none or one that does not fit its sources: then from the rows."""
        found = conn.execute(select(t.snapshot_packs.c.format, t.snapshot_packs.c.grants, t.snapshot_packs.c.data)
                             .where(t.snapshot_packs.c.snapshot_id == info.id)).first()
        if found is None or found.format != writing.PACK_FORMAT:
            return False
        if _row_count(conn, t.grants, info.id) != found.grants:
            return False
        return loading.unpack_grants(bytes(found.data), found.grants, {s.name: s.grants for s in info.sources},
                                     buckets, capable_only=capable_only, on_resources=on_resources)

    def packed_capability_grants(self, info: SnapshotInfo, tier: str | None) -> dict[str, dict[str, list[Any]]] | None:
        """`read_parts`' grants of the grants that confer a capability (on a resource of ``tier``), as
        `SnapshotView.capability_grants` reads them from the rows, but picked from the grants' pack (one
        read, and only the grants picked made); None where it has no pack that fits."""
        buckets: dict[str, dict[str, list[Any]]] = {s.name: {"grants": [], "keys": []} for s in info.sources}
        with gc_paused(keep=True), self.engine.connect() as conn:
            on_resources: set[str] | None = None
            if tier is not None:  # (every resource row of that tier, as the rows' query asks)
                on_resources = {resource_key(*row) for row in conn.execute(
                    select(t.resources.c.system, t.resources.c.kind, t.resources.c.ident)
                    .where(t.resources.c.snapshot_id == info.id, t.resources.c.tier == tier))}
            if not self._load_packed_grants(conn, info, buckets, capable_only=True, on_resources=on_resources):
                return None
        return buckets

    def _load_packed_part(self, conn: Any, info: SnapshotInfo, part: str,
                          buckets: dict[str, dict[str, list[Any]]]) -> bool:
        """A snapshot's principals or edges (``part``) from their pack (`writing.pack_rows`), read in one
        go; False (nothing loaded) where it has none or one that does not fit: then from the rows."""
        packs = t.snapshot_part_packs
        found = conn.execute(select(packs.c.format, packs.c.rows, packs.c.data)
                             .where(packs.c.snapshot_id == info.id, packs.c.part == part)).first()
        if found is None or found.format != writing.PART_PACK_FORMAT:
            return False
        if _row_count(conn, t.principals if part == "principals" else t.edges, info.id) != found.rows:
            return False
        return loading.unpack_part(part, info.id, bytes(found.data), found.rows,
                                   {s.name: getattr(s, part) for s in info.sources}, buckets)

    def load_people(self, snapshot_id: int) -> Snapshot:
        """A snapshot with only its person records (`Kind.PERSON` principals) and gaps: what the
        roster of an earlier snapshot needs, without loading a million grants."""
        info = self.snapshot_info(snapshot_id)
        found: dict[str, list[Principal]] = {s.name: [] for s in info.sources}
        gaps: dict[str, list[Gap]] = {s.name: [] for s in info.sources}
        with self.engine.connect() as conn:
            for row in conn.execute(select(t.principals).where(t.principals.c.snapshot_id == snapshot_id,
                                                               t.principals.c.kind == "person")):
                found[row.source].append(Principal(row.system, row.ident, row.kind, row.display_name, row.email,
                                                   row.home, loading.loads(row.attrs)))
            for row in conn.execute(select(t.gaps).where(t.gaps.c.snapshot_id == snapshot_id)):
                gaps[row.source].append(Gap(row.system, row.resource, row.reason, row.hides))
        results = tuple(SourceResult(name=s.name, system=s.system, principals=tuple(found[s.name]),
                                     gaps=tuple(gaps[s.name]), error=s.error) for s in info.sources)
        return Snapshot(id=info.id, taken_at=info.taken_at, label=info.label, sources=results, digest=info.digest)

# ---------------------------------------------------------------- helpers


# A new SQLite store's page size (existing files keep theirs: SQLite changes it only by VACUUM):
# 16 KiB instead of 4 KiB, fewer pages for a million grants and a campaign of 500,000 items to write,
# log and checkpoint.
PAGE_SIZE = 16384
# A connection's page cache in KiB (default 2 MiB): a million-grant snapshot inserts into indexes
# larger than that, and writes it ~15% faster with them cached.
CACHE_KIB = 131072


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()
    if mode and str(mode[0]).lower() != "memory":
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:  # (a new file: before WAL and any table)
            cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    # After the page size: SQLite counts a size in KiB in pages of the size of the moment and keeps that
    # count when a new file's page size changes (128 MiB of 4 KiB pages became ~31,700 of 16 KiB, ~520 MB,
    # that a connection's writes kept dirty in memory: the writer's second million grants peaked 300 MB higher).
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


def _row_count(conn: Any, table: Any, snapshot_id: int) -> int:
    """A snapshot's rows in ``table`` (an index count: a few hundredths of a second at a million grants).
    A pack whose count differs is not used: rows deleted or added since, by hand (a snapshot's rows are
    never changed otherwise)."""
    return int(conn.execute(select(func.count()).select_from(table).where(table.c.snapshot_id == snapshot_id))
               .scalar())


def _info(row: Any, sources: tuple[SourceSummary, ...]) -> SnapshotInfo:
    return SnapshotInfo(id=row.id, taken_at=row.taken_at, label=row.label, digest=row.digest,
                        sources=sources)


def _db_message(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).strip().splitlines()[0]
