"""The store: round trips, atomic snapshot writes, file permissions, schema versions."""

from __future__ import annotations

import os
import sqlite3
import stat
from array import array
from dataclasses import replace
from itertools import chain

import pytest
from sqlalchemy import event, inspect, text

from conftest import store_at_version

from foureyes.connectors import demo
from foureyes.errors import StoreError
from foureyes.model import Edge, Gap, Grant, Principal, Resource, SourceResult, snapshot_digest
from foureyes.store import PAGE_SIZE, Store, migrations, schema


def _result(n_grants: int = 10, name: str = "github") -> SourceResult:
    principals = tuple(Principal("github", f"user{i}", "user", display_name=f"User {i}") for i in range(n_grants))
    repo = Resource("github", "repo", "acme/api", tier="production", attrs={"protected": True})
    grants = tuple(Grant("github", p.key, "write", repo.key, ("code.push",), detail="direct") for p in principals)
    edges = (Edge(principals[0].key, "github:team/acme/x", "member-of", "member of team x"),)
    gaps = (Gap("github", repo.key, "403 on rulesets", "bypass actors"),)
    return SourceResult(name=name, system="github", principals=principals, resources=(repo,), grants=grants,
                        edges=edges, gaps=gaps, stats={"requests": 3})


def test_round_trip_keeps_everything(store_url):
    with Store(store_url) as store:
        info = store.write_snapshot([_result()], label="first")
        snap = store.load_snapshot(info.id)
    source = snap.sources[0]
    original = _result()
    assert sorted(g.key for g in source.grants) == sorted(g.key for g in original.grants)
    assert source.grants[0].capabilities == ("code.push",)
    assert source.resources[0].attrs == {"protected": True}
    assert source.gaps == original.gaps
    assert source.stats == {"requests": 3}
    assert info.label == "first" and info.gap_count == 1
    assert info.sources[0].grants == 10


def test_demo_round_trip_preserves_digest(store_url):
    with Store(store_url) as store:
        infos = [info for info, _ in demo.load_into(store)]
        assert [created for _, created in demo.load_into(store)] == [False, False]  # idempotent
        assert len(store.list_snapshots()) == 2

        for info in infos:
            assert snapshot_digest(store.load_snapshot(info.id).sources) == info.digest


def test_failure_halfway_through_a_write_leaves_no_partial_snapshot(store_url):
    url = store_url
    store = Store(url)
    store.write_snapshot([_result(5)], label="good")
    inserts = {"grants": 0}

    def explode(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO grants"):
            inserts["grants"] += 1
            if inserts["grants"] == 2:  # the second batch of grants: principals are already written
                raise RuntimeError("disk pulled out")

    event.listen(store.engine, "before_cursor_execute", explode)
    import foureyes.store as store_module

    old_batch = store_module.BATCH
    store_module.BATCH = 3  # several batches so the failure lands in the middle
    try:
        with pytest.raises(RuntimeError):
            store.write_snapshot([_result(10)], label="broken")
    finally:
        store_module.BATCH = old_batch
        event.remove(store.engine, "before_cursor_execute", explode)
    assert inserts["grants"] == 2
    infos = store.list_snapshots()
    assert [i.label for i in infos] == ["good"]
    with store.engine.connect() as conn:
        # nothing of the broken write survives, not even rows a reader could stumble on
        assert conn.execute(text("SELECT count(*) FROM snapshots")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM principals")).scalar() == 5
    store.close()
    # and a fresh process sees the same
    with Store(url) as again:
        assert [i.label for i in again.list_snapshots()] == ["good"]


def test_sqlite_file_is_private_and_a_wide_mode_is_warned(tmp_path):
    path = tmp_path / "private" / "s.db"
    warnings: list[str] = []
    Store(f"sqlite:///{path}", warn=warnings.append).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert warnings == []
    os.chmod(path, 0o644)
    Store(f"sqlite:///{path}", warn=warnings.append).close()
    assert len(warnings) == 1 and "chmod 600" in warnings[0]


def test_a_new_sqlite_store_has_big_pages_and_an_existing_one_keeps_its_own(tmp_path):
    """A new store's pages are `PAGE_SIZE` (fewer to write and checkpoint); a store made with
    SQLite's default 4 KiB pages opens, keeps them (SQLite changes a page size only by VACUUM) and
    takes a snapshot as before."""
    new = tmp_path / "new.db"
    with Store(f"sqlite:///{new}") as store:
        demo.load_into(store)
    with sqlite3.connect(new) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE != 4096
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("PRAGMA page_size=4096")
        db.execute("CREATE TABLE before_foureyes (x)")  # (a file with pages already written)
    with Store(f"sqlite:///{old}") as store:
        for info, created in demo.load_into(store):
            assert created and snapshot_digest(store.load_snapshot(info.id).sources) == info.digest
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_new_sqlite_stores_page_cache_is_its_size_in_its_own_pages(tmp_path, monkeypatch):
    """The connection that makes a new store (`PAGE_SIZE` pages) caches `CACHE_KIB` of them, not that size
    counted in SQLite's default 4 KiB pages (four times the memory): a transaction that changes more than
    the cache writes the rest to the log as it goes instead of keeping it all in memory."""
    import foureyes.store as store_module

    monkeypatch.setattr(store_module, "CACHE_KIB", 4096)  # 4 MiB: 16 MiB of 16 KiB pages counted at 4 KiB
    path = tmp_path / "new.db"
    with Store(f"sqlite:///{path}") as store, store.engine.connect() as conn:
        db = conn.connection.driver_connection
        assert db.execute("PRAGMA page_size").fetchone()[0] == store_module.PAGE_SIZE
        logged = os.path.getsize(f"{path}-wal")
        db.execute("BEGIN")
        db.execute("CREATE TABLE filler (x)")
        db.executemany("INSERT INTO filler VALUES (?)", (("x" * 1000,) for _ in range(10_000)))  # ~10 MB
        logged = os.path.getsize(f"{path}-wal") - logged  # (before the commit: only what the cache let go)
        db.execute("ROLLBACK")
    assert logged >= 4 << 20


def test_schema_is_versioned_and_a_newer_schema_is_refused(store_url):
    url = store_url
    with Store(url) as store:
        with store.engine.begin() as conn:
            assert migrations.current_version(conn) == migrations.LATEST
            conn.execute(text("INSERT INTO schema_version VALUES (999, 'from the future', 'x')"))
    with pytest.raises(StoreError, match="newer than this foureyes"):
        Store(url)


def test_migrations_build_exactly_the_current_schema(store_url):
    with Store(store_url) as store:
        inspector = inspect(store.engine)
        actual = {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}
        indexes = {name: {i["name"] for i in inspector.get_indexes(name) if not i.get("duplicates_constraint")}
                   for name in inspector.get_table_names()}  # (PostgreSQL lists a unique key's index too)
    expected = {name: {c.name for c in table.columns} for name, table in schema.metadata.tables.items()}
    assert actual == expected
    # and the indexes the schema declares, no more (migration 9 dropped two of the items')
    assert indexes == {name: {i.name for i in table.indexes} for name, table in schema.metadata.tables.items()}


def test_snapshot_references(store_url):
    with Store(store_url) as store:
        from foureyes.errors import NotFound

        with pytest.raises(NotFound, match="no snapshots yet"):
            store.resolve(None)
        a = store.write_snapshot([_result(1)]).id
        b = store.write_snapshot([_result(2)]).id
        assert store.resolve(None) == store.resolve("latest") == b
        assert store.resolve("previous") == store.resolve("latest~1") == a
        assert store.resolve(str(a)) == a
        with pytest.raises(NotFound):
            store.resolve("latest~5")
        with pytest.raises(NotFound):
            store.resolve("99")


def test_invalid_store_url_is_a_clear_error():
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        Store("not a url")


def test_grant_changes_in_sql_match_the_model(store_url):
    from foureyes.drift import grant_changes

    with Store(store_url) as store:
        ids = [info.id for info, _ in demo.load_into(store)]
        added, removed = store.grant_changes(*ids)
        old, new = (store.load_snapshot(i) for i in ids)
    in_memory_added, in_memory_removed = grant_changes(old, new)
    assert added == sorted(g.key for g in in_memory_added) and len(added) == 4
    assert removed == sorted(g.key for g in in_memory_removed) and len(removed) == 2


@pytest.mark.parametrize("forked", [False, True], ids=["inline", "forked"])
def test_the_content_digest_written_with_a_snapshot_is_the_one_read_back(store_url, forked, monkeypatch):
    """`write_snapshot` keeps the content digest campaigns commit to, computed from the rows as it
    writes them: it equals `records.snapshot_digest` recomputed from the tables, for the demo's
    snapshots (activity included) and for values that read back otherwise than given (NUL on
    PostgreSQL, no expiry, text beyond ASCII, a source that failed); whether the digests are
    computed as the rows are inserted or by a forked worker beside the inserts (a big snapshot's;
    checked in a fresh process where other tests left threads in this one, as a fork needs one thread)."""
    import subprocess
    import sys

    from foureyes.store import writing

    if not forked:
        _check_the_written_content_digest(store_url)
    elif writing.parallel_possible():
        monkeypatch.setattr(writing, "PARALLEL_ROWS", 0)
        _check_the_written_content_digest(store_url, forked=True)
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        code = ("import sys, test_store; from foureyes.store import writing; writing.PARALLEL_ROWS = 0; "
                "test_store._check_the_written_content_digest(sys.argv[1], forked=True)")
        done = subprocess.run([sys.executable, "-c", code, store_url], cwd=here, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr


def _check_the_written_content_digest(store_url: str, forked: bool = False) -> None:
    import json as _json

    from foureyes.model import snapshot_digest as key_digest
    from foureyes.store import writing
    from foureyes.store.records import remembered_snapshot_digest, snapshot_digest

    assert not forked or (writing.parallel_possible() and writing.PARALLEL_ROWS == 0)
    odd = _result(3)
    odd = SourceResult(name="odd", system="github", principals=odd.principals,
                       resources=(Resource("github", "repo", "acme/ü\x00x", attrs={"z": 1, "a": ["é"]}),),
                       grants=(Grant("github", odd.principals[0].key, "admin", "github:repo:acme/ü\x00x",
                                     ("code.push", "access.admin"), detail="line\x00two ✓",
                                     expires="2027-01-01T00:00:00+00:00", attrs={"latent": True}),
                               *odd.grants),
                       edges=odd.edges, gaps=odd.gaps, error="403 \x00 forbidden", stats={"requests": 3})
    with Store(store_url) as store:
        ids = [info.id for info, _ in demo.load_into(store)]
        ids.append(store.write_snapshot([_result(), odd], label="odd ✓").id)
        assert store.snapshot_info(ids[-1]).digest == key_digest([_result(), odd])
        with store.engine.begin() as conn:
            for snapshot_id in ids:
                kept = conn.exec_driver_sql("SELECT digest FROM snapshot_digests WHERE snapshot_id = "
                                            + str(int(snapshot_id))).scalar()
                assert kept is not None, "the write keeps the digest"
                read_back = snapshot_digest(conn, snapshot_id)
                assert _json.loads(kept) == read_back
                assert remembered_snapshot_digest(conn, snapshot_id) == read_back
        activity = sum(s.activity for i in ids for s in store.snapshot_info(i).sources)
    assert activity > 0, "the demo's snapshots carry activity: its rows are digested too"


def test_the_forked_digest_worker_answers_what_is_computed_here():
    """A big snapshot's grant keys (in their order) and the content digests of its rows come from a
    forked child (`DigestWorker`): its answers are the child's, and equal to what is computed in this
    process, on SQLite's rows and on PostgreSQL's (where NUL becomes U+FFFD). The worker forks only a
    process with one thread; a test worker that other tests left threads in checks it in a fresh one."""
    import subprocess
    import sys

    from foureyes.store import writing

    if writing.parallel_possible():
        _check_the_forked_digest_worker()
        return
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, "-c", "import test_store; test_store._check_the_forked_digest_worker()"],
                          cwd=here, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _check_the_forked_digest_worker() -> None:
    import marshal

    from foureyes.activity import canonical
    from foureyes.store import writing

    assert writing.parallel_possible(), "a fresh process has one thread"
    odd = _result(3)
    odd = SourceResult(name="odd", system="github", principals=odd.principals, resources=odd.resources,
                       grants=(Grant("github", odd.principals[0].key, "admin\x00x", "github:repo:acme/api",
                                     ("code.push",), detail="ü ✓", attrs={"latent": True}), *odd.grants),
                       edges=odd.edges, gaps=odd.gaps)
    results = [*demo.build("after"), odd]
    texts = [[canonical(a) for a in r.activity] for r in results]
    keys = [g.key for r in results for g in r.grants]
    assert [key for found in writing.grant_keys_of(results) for key in found] == keys  # keyed in bulk, the same
    order = writing.key_order(keys)
    assert keys != sorted(keys), "the sources' grants are not in key order already"
    # SQLite: the child sends the keys, then the grants' form (the pack's parts and each stored row's source:
    # the parts of the sources it packs, the others packed here from the keys) before its digests, and hashes
    # the grants only (the writing process hashes the other tables as it inserts them)
    here = writing.content_digests(results, texts, True)
    worker = writing.DigestWorker(results, texts, True)
    form = worker.form()
    assert form is not None, "the form is the child's"
    made = list(writing.grant_rows(0, results, keys, None, writing._dumps_shared()))
    stored = [made[n] for n in order]
    assert list(writing.form_rows(form)) == [row[1:] for row in stored], "the rows as stored, in their order"
    assert marshal.loads(writing.packed_parts(form[0])) == marshal.loads(writing.pack_grants(
        {r.name: [row for row in stored if row[1] == r.name] for r in results})), "the form is the pack's parts"
    assert worker.result() == ("", {"grants": here[1]["grants"]}) and worker.from_child
    assert writing.form_keys(form) == [sorted(g.key for g in r.grants) for r in results], "the key digest's keys"
    # the child packs the biggest sources (at least half of the grants), this process the others from the keys
    assert worker.pack is not None
    assert sorted(worker.pack) == writing.packed_by_child(results) != list(range(len(results)))
    assert all(form[0][i] == part for i, part in worker.pack.items())
    refused = writing.pack_part("x", [(0, "x", "k" * 20, "github", "p", "e", "r", "", "", "", "", 1, None, "")])
    assert writing.grant_form([refused], [0]) is None, "a value neither text nor NULL: the rows are bound as they are"
    for is_sqlite in (False,):  # PostgreSQL: the keys, their order, every digest and a part of the pack
        here = writing.content_digests(results, texts, is_sqlite)
        worker = writing.DigestWorker(results, texts, is_sqlite)
        sent_keys = worker.keys()  # the keys first, their order once the child has sorted them
        sent_order = worker.order(sent_keys)
        assert sent_keys == keys and list(sent_order) == order
        assert isinstance(sent_order, array), "the order is the child's (sent through shared memory)"
        assert worker.result() == here and worker.from_child
        # the child packs the biggest sources (at least half of the grants); the writing process the others
        assert worker.pack is not None and sorted(worker.pack) == writing.packed_by_child(results)
        assert 2 * sum(len(results[i].grants) for i in worker.pack) >= len(keys) > sum(
            len(results[i].grants) for i in worker.pack) and len(worker.pack) < len(results)
        assert here[1]["grants"]["rows"] == len(keys)
    on_sqlite = writing.content_digests(results, texts, True)
    assert on_sqlite[1]["grants"] != here[1]["grants"], "a NUL reads back otherwise on PostgreSQL"
    for is_sqlite in (True, False):
        stopped = writing.DigestWorker(results, texts, is_sqlite)
        stopped.cancel()  # a failed write stops its worker: nothing is left running; what it would say is computed here
        assert stopped.form() is None
        assert stopped.keys() == keys and stopped.order(keys) == order
        assert stopped.result() == writing.content_digests(results, texts, is_sqlite) and not stopped.from_child


def test_a_forked_write_stores_the_rows_an_inline_write_stores(tmp_path):
    """A big snapshot's grants go into SQLite from the forked child's compact form (`writing.grant_form`):
    every table's rows (in their order), the digests and the pack are those of a write that binds every
    value of every row here, for text beyond ASCII, NUL, no expiry, and for a value that is not text (the
    form is refused: 1 and 1.0 are one value to it; the rows are then bound as they are)."""
    import subprocess
    import sys

    from foureyes.store import writing

    if writing.parallel_possible():
        _check_forked_and_inline_rows(str(tmp_path))
        return
    here = os.path.dirname(os.path.abspath(__file__))
    code = "import sys, test_store; test_store._check_forked_and_inline_rows(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=here, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def _check_forked_and_inline_rows(folder: str) -> None:
    import marshal
    import sqlite3

    from foureyes.store import writing

    assert writing.parallel_possible(), "a fresh process has one thread"
    odd = _result(3)
    odd = SourceResult(name="odd", system="github", principals=odd.principals, resources=odd.resources,
                       grants=(Grant("github", odd.principals[0].key, "admin\x00x", "github:repo:acme/ü",
                                     ("code.push", "access.admin"), detail="ü ✓", expires="2027-01-01",
                                     attrs={"latent": True}), *odd.grants),
                       edges=odd.edges, gaps=odd.gaps, error="403")
    numbers = _result(4, name="numbers")
    numbers = replace(numbers, grants=(replace(numbers.grants[0], detail=1), replace(numbers.grants[1], detail=1.0),
                                       *numbers.grants[2:]))
    written = {}
    saved = writing.PARALLEL_ROWS
    try:
        for forked in (False, True):
            writing.PARALLEL_ROWS = 0 if forked else 10**9
            path = os.path.join(folder, f"{forked}.db")
            with Store(f"sqlite:///{path}") as store:
                for results in (demo.build("before"), [*demo.build("after"), odd], [_result(), numbers],
                                [SourceResult("empty", "aws", principals=numbers.principals, error="denied")],
                                [_result(3), _result(5)]):  # (two sources of one name: packed from the rows)
                    store.write_snapshot(results, taken_at="2026-01-01T00:00:00+00:00", label="x")
            with sqlite3.connect(path) as conn:
                written[forked] = {table: conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()
                                   for table in ("snapshots", "sources", "principals", "resources", "grants", "edges",
                                                 "gaps", "activity", "snapshot_packs")}
                written[forked]["digests"] = [_json_loads(text) for (text,) in conn.execute(
                    "SELECT digest FROM snapshot_digests ORDER BY snapshot_id")]
    finally:
        writing.PARALLEL_ROWS = saved
    inline, forked_rows = written[False], written[True]
    for rows in (inline, forked_rows):  # (a TEXT column keeps a number as its text)
        assert {row[10] for row in rows["grants"] if row[2] == "numbers"} == {"1", "1.0", "direct"}
    for table in inline:
        if table in ("snapshots", "digests", "snapshot_packs"):
            continue
        assert forked_rows[table] == inline[table], table
    assert [(*row[:4], marshal.loads(row[4])) for row in forked_rows["snapshot_packs"]] == [
        (*row[:4], marshal.loads(row[4])) for row in inline["snapshot_packs"]]
    assert [row[:5] for row in forked_rows["snapshots"]] == [row[:5] for row in inline["snapshots"]]
    assert [d["tables"] for d in forked_rows["digests"]] == [d["tables"] for d in inline["digests"]]
    assert sum(row[2] == "numbers" for row in inline["grants"]) == 4


def _json_loads(text: str) -> dict:
    import json as _json

    return _json.loads(text)


def test_loaded_records_are_the_dataclasses_they_were_written_as():
    """The loader sets a record's slots directly (a third of loading a million grants): what it
    makes equals, hashes and prints as the dataclass made the usual way, and a class whose
    ``__init__`` does more (``__post_init__``) is constructed the usual way."""
    from dataclasses import dataclass, fields

    from foureyes.store.loading import _column_maker, _maker

    made = (Grant("aws", "aws:role/x", "AdministratorAccess", "aws:account:1", ("access.admin",), "policy", "d", "c",
                  "2027-01-01", None, {"actions": ["*"]}),
            Principal("github", "ann", "user", "Ann", "ann@acme.com", "", {"email_source": "saml"}),
            Resource("github", "repo", "acme/api", "api", "production", "payments", "", {"protected": True}),
            Edge("github:ann", "github:team/acme/x", "member-of", "member of x", "", {"role": "maintainer"}))
    for record in made:
        again = _maker(type(record))(*(getattr(record, f.name) for f in fields(record)))
        assert type(again) is type(record) and again == record and hash(again) == hash(record)
        assert repr(again) == repr(record) and again.key == record.key
        # made a field at a time from columns (a pack's load): the same records, each its own object
        twice = _column_maker(type(record))(2, [[getattr(record, f.name)] * 2 for f in fields(record)])
        assert [type(r) for r in twice] == [type(record)] * 2 and twice == [record, record]
        assert twice[0] is not twice[1] and [r.attrs for r in twice] == [record.attrs] * 2
        assert [repr(r) for r in twice] == [repr(record)] * 2 and {hash(r) for r in twice} == {hash(record)}

    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert _maker(Checked) is Checked
    assert _column_maker(Checked)(2, [[1, 2]]) == [Checked(1), Checked(2)]
    with pytest.raises(ValueError, match="negative"):
        _column_maker(Checked)(1, [[-1]])
    with pytest.raises(TypeError, match="Grant has 11 fields, not 2"):
        _column_maker(Grant)(1, [["aws"], ["aws:role/x"]])


def _loads_the_same_from_its_pack_as_from_its_rows(store: Store, snapshot_id: int) -> dict[str | None, list]:
    """The snapshot loads from its packs (`writing.pack_grants`, `writing.pack_rows`: its grants, principals
    and edges, written with it) exactly as from its rows: the same grants, principals and edges in the same
    order, keys, attributes, interned principal, resource and edge keys; and the grants that confer a
    capability (on one tier's resources) are picked from the pack as the rows' query gives them."""
    import sys
    from unittest import mock

    import foureyes.store.loading as loading

    used: list[bool] = []
    used_parts: list[tuple[str, bool]] = []
    real, real_part = loading.unpack_grants, loading.unpack_part

    def unpack(*args, **kwargs):
        used.append(real(*args, **kwargs))
        return used[-1]

    def unpack_part(part, *args):
        used_parts.append((part, real_part(part, *args)))
        return used_parts[-1][1]

    with mock.patch.object(loading, "unpack_grants", unpack), mock.patch.object(loading, "unpack_part", unpack_part):
        packed = store.load_snapshot(snapshot_id)
        assert used == [True], "the grants were loaded from the pack"
        assert sorted(used_parts) == [("edges", True), ("principals", True)], "and the principals and edges"
        capable = {tier: store.snapshot_view(snapshot_id).capability_grants(tier) for tier in (None, "production")}
        assert used == [True] * 3, "the capability grants were picked from the pack"
    where = f" WHERE snapshot_id = {int(snapshot_id)}"
    with store.engine.begin() as conn:
        saved = conn.exec_driver_sql("SELECT format, grants, data FROM snapshot_packs" + where).one()
        parts = conn.exec_driver_sql("SELECT snapshot_id, part, format, rows, data FROM snapshot_part_packs"
                                     + where).all()
        conn.exec_driver_sql("DELETE FROM snapshot_packs" + where)
        conn.exec_driver_sql("DELETE FROM snapshot_part_packs" + where)
    try:
        rows = store.load_snapshot(snapshot_id)  # no pack: from the rows
        from_rows = {tier: store.snapshot_view(snapshot_id).capability_grants(tier) for tier in (None, "production")}
    finally:
        with store.engine.begin() as conn:
            conn.execute(schema.snapshot_packs.insert().values(snapshot_id=snapshot_id, format=saved[0],
                                                               grants=saved[1], data=saved[2]))
            conn.execute(schema.snapshot_part_packs.insert(), [dict(row._mapping) for row in parts])
    assert saved[1] == sum(len(s.grants) for s in rows.sources) > 0
    assert {row.part: row.rows for row in parts} == {"principals": sum(len(s.principals) for s in rows.sources),
                                                     "edges": sum(len(s.edges) for s in rows.sources)}
    if store.is_sqlite:  # the rows read back in the order they were written
        assert packed == rows
        assert capable == from_rows
    else:  # PostgreSQL returns them in an order of its choosing: the packs keep the written one (key order)
        assert packed.id == rows.id and packed.digest == rows.digest
        assert [replace(s, grants=(), grant_keys=(), principals=(), edges=()) for s in packed.sources] == [
            replace(s, grants=(), grant_keys=(), principals=(), edges=()) for s in rows.sources]
        assert {tier: sorted(found, key=repr) for tier, found in capable.items()} == {
            tier: sorted(found, key=repr) for tier, found in from_rows.items()}
    for ours, theirs in zip(packed.sources, rows.sources, strict=True):
        assert list(ours.grant_keys) == sorted(ours.grant_keys), "stored in key order"
        assert _grants_by_key(ours) == _grants_by_key(theirs)
        assert sorted(map(repr, ours.principals)) == sorted(map(repr, theirs.principals))
        assert sorted(map(repr, ours.edges)) == sorted(map(repr, theirs.edges))
        if store.is_sqlite:
            assert ours.grants == theirs.grants and ours.grant_keys == theirs.grant_keys
            assert [g.attrs for g in ours.grants] == [g.attrs for g in theirs.grants]
            assert ours.principals == theirs.principals and ours.edges == theirs.edges
            assert [p.attrs for p in ours.principals] == [p.attrs for p in theirs.principals]
            assert [e.attrs for e in ours.edges] == [e.attrs for e in theirs.edges]
        assert all(g.principal is sys.intern(g.principal) and g.resource is sys.intern(g.resource) for g in ours.grants)
        assert all(p.id is sys.intern(p.id) for p in ours.principals)
        assert all(e.src is sys.intern(e.src) and e.dst is sys.intern(e.dst) for e in ours.edges)
    return capable


def _grants_by_key(source: SourceResult) -> list[tuple[str, str, str]]:
    """A source's grants with their keys and attributes, in an order of their own (PostgreSQL returns
    rows in an order of its choosing)."""
    return sorted((key, repr(g), repr(dict(g.attrs))) for key, g in zip(source.grant_keys, source.grants, strict=True))


@pytest.mark.parametrize("forked", [False, True], ids=["inline", "forked"])
def test_a_snapshot_loads_the_same_from_its_pack_as_from_its_rows(store_url, forked):
    """A snapshot's grants are written twice: as rows (what `audit verify` and every query read) and packed
    for loading in one read. Both load the same, on the demo, on a small generated enterprise and on
    values that read back otherwise than given (NUL on PostgreSQL, text beyond ASCII, attributes), whether
    this process packed the rows it inserted or the forked digest worker packed the rows it hashed (checked
    in a fresh process where other tests left threads in this one, as a fork needs one thread). A pack
    that does not fit its snapshot (another's) is not used: the rows are."""
    import subprocess
    import sys

    from foureyes.store import writing

    if forked and not writing.parallel_possible():
        here = os.path.dirname(os.path.abspath(__file__))
        done = subprocess.run([sys.executable, "-c", "import sys, test_store; test_store._check_the_pack(sys.argv[1], True)",
                               store_url], cwd=here, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
    else:
        _check_the_pack(store_url, forked)


def _check_the_pack(store_url: str, forked: bool) -> None:
    import sys
    from pathlib import Path

    from foureyes.store import writing

    assert not forked or writing.parallel_possible(), "a fresh process has one thread"

    root = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(root))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(root))
    big, _ = generate(0.004)
    odd = _result(3)
    odd = SourceResult(name="odd", system="github", principals=odd.principals,
                       resources=(Resource("github", "repo", "acme/ü\x00x", attrs={"z": 1, "a": ["é"]}),),
                       grants=(Grant("github", odd.principals[0].key, "admin\x00", "github:repo:acme/ü\x00x",
                                     ("code.push", "access.admin"), detail="line\x00two ✓",
                                     expires="2027-01-01T00:00:00+00:00", attrs={"latent": True}),
                               *odd.grants),
                       edges=odd.edges, gaps=odd.gaps, stats={"requests": 3})
    saved = writing.PARALLEL_ROWS
    with Store(store_url) as store:
        ids = [info.id for info, _ in demo.load_into(store)]
        writing.PARALLEL_ROWS = 0 if forked else 10**9
        try:
            ids.append(store.write_snapshot([_result(), odd, SourceResult("empty", "aws", error="denied")],
                                            label=f"odd {forked}").id)
            ids.append(store.write_snapshot(big, label=f"big {forked}").id)
            if forked:  # a child that dies: the rows it would have packed are packed here
                real, writing._child = writing._child, lambda *args: os._exit(3)
                try:
                    ids.append(store.write_snapshot(big, label="big, its child died").id)
                finally:
                    writing._child = real
        finally:
            writing.PARALLEL_ROWS = saved
        capable = [_loads_the_same_from_its_pack_as_from_its_rows(store, snapshot_id) for snapshot_id in ids]
        big_one = capable[ids.index(ids[-2] if forked else ids[-1])]
        assert 0 < len(big_one["production"]) < len(big_one[None]), "a tier picks some of them"
        before, after = ids[:2]
        from_rows = store.load_snapshot(before)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE snapshot_packs SET data = (SELECT data FROM snapshot_packs WHERE snapshot_id"
                                 f" = {int(after)}) WHERE snapshot_id = {int(before)}")
            # (another snapshot's principals and edges, under this one's row counts: their sources do not fit)
            conn.exec_driver_sql(f"UPDATE snapshot_part_packs SET data = (SELECT p.data FROM snapshot_part_packs p "
                                 f"WHERE p.snapshot_id = {int(after)} AND p.part = snapshot_part_packs.part) "
                                 f"WHERE snapshot_id = {int(before)}")
            conn.exec_driver_sql(f"UPDATE snapshot_packs SET grants = grants + 1 WHERE snapshot_id = {int(ids[2])}")
        assert store.load_snapshot(before) == from_rows
        assert [s.grant_keys for s in store.load_snapshot(before).sources] == [s.grant_keys for s in from_rows.sources]
        assert store.load_snapshot(ids[2]).sources[0].grants == _loaded_rows(store, ids[2]).sources[0].grants
        # rows deleted by hand (what `audit verify` catches): the pack no longer fits, the rows are loaded
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM grants WHERE snapshot_id = {int(after)} "
                                 "AND principal = 'github:owen-it'")
        loaded, from_rows = store.load_snapshot(after), _loaded_rows(store, after)
        assert [_grants_by_key(s) for s in loaded.sources] == [_grants_by_key(s) for s in from_rows.sources]
        assert not any(g.principal == "github:owen-it" for s in loaded.sources for g in s.grants)
        # an edge deleted by hand: the edges' pack no longer fits, the edges come from the rows
        assert any(e.src == "github:owen-it" for s in loaded.sources for e in s.edges)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM edges WHERE snapshot_id = {int(after)} AND src = 'github:owen-it'")
        loaded, from_rows = store.load_snapshot(after), _loaded_rows(store, after)
        assert [sorted(map(repr, s.edges)) for s in loaded.sources] == [
            sorted(map(repr, s.edges)) for s in from_rows.sources]
        assert not any(e.src == "github:owen-it" for s in loaded.sources for e in s.edges)


def _loaded_rows(store: Store, snapshot_id: int):
    from unittest import mock

    import foureyes.store.loading as loading

    with mock.patch.object(loading, "unpack_grants", return_value=False), \
            mock.patch.object(loading, "unpack_part", return_value=False):
        return store.load_snapshot(snapshot_id)


def _copied_into(old: Store, results: list[SourceResult], label: str, tables: tuple[str, ...] = ()):
    """``results`` written by this code into a new store, and its snapshot's rows (and ``tables``')
    copied into ``old`` (a store at an earlier version) with their ids: (its info, the snapshot as loaded)."""
    with Store("sqlite://") as current:
        info = current.write_snapshot(results, label=label)
        written = current.load_snapshot(info.id)
        with current.engine.connect() as read, old.engine.begin() as write:
            for table in ("snapshots", *(t.name for t in schema.SNAPSHOT_TABLES), *tables):
                columns = [c["name"] for c in inspect(write).get_columns(table)]
                rows = read.execute(text(f"SELECT {', '.join(columns)} FROM {table}")).all()
                marks = ", ".join(f":{c}" for c in columns)
                write.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"),
                              [dict(zip(columns, row)) for row in rows])
            if write.dialect.name == "postgresql":
                write.execute(text("SELECT setval(pg_get_serial_sequence('snapshots', 'id'), "
                                   "(SELECT max(id) FROM snapshots))"))
    return info, written


def test_a_version_7_store_gains_snapshot_packs_and_loads_its_snapshots_from_the_rows(store_url):
    """Migration 8: a store written before it has snapshots without a pack; they load from their rows as
    written, and a snapshot written after it has its grants packed too."""
    from foureyes.model import snapshot_digest as model_digest

    old = store_at_version(store_url, 7)
    assert not inspect(old.engine).has_table("snapshot_packs")
    results = demo.build("after")
    info, written = _copied_into(old, results, "from version 7")
    old.close()
    with Store(store_url) as store:
        with store.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.LATEST >= 8
            assert conn.exec_driver_sql("SELECT count(*) FROM snapshot_packs").scalar() == 0
        loaded = store.load_snapshot(info.id)
        assert loaded.digest == info.digest and model_digest(loaded.sources) == info.digest
        assert [_grants_by_key(s) for s in loaded.sources] == [_grants_by_key(s) for s in written.sources]
        if store.is_sqlite:  # (PostgreSQL returns the copied rows in an order of its choosing)
            assert loaded == written
        after = store.write_snapshot(results, label="after migration 8").id
        _loads_the_same_from_its_pack_as_from_its_rows(store, after)
        again = store.load_snapshot(after)
        assert [_grants_by_key(s) for s in again.sources] == [_grants_by_key(s) for s in written.sources]
        assert again.sources == written.sources or not store.is_sqlite


def test_a_version_9_store_gains_part_packs_and_loads_older_snapshots_principals_and_edges_from_the_rows(
        store_url):
    """Migration 10: a snapshot written before it has its grants packed but not its principals and edges;
    it loads them from its rows (its grants still from their pack), and its stored view reads every
    principal and edge the same; a snapshot written after it has them packed too."""
    from unittest import mock

    import foureyes.store.loading as loading

    old = store_at_version(store_url, 9)
    assert inspect(old.engine).has_table("snapshot_packs")
    assert not inspect(old.engine).has_table("snapshot_part_packs")
    results = demo.build("after")
    info, written = _copied_into(old, results, "from version 9", ("snapshot_packs",))
    old.close()
    with Store(store_url) as store:
        with store.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.LATEST >= 10
            assert conn.exec_driver_sql("SELECT count(*) FROM snapshot_part_packs").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM snapshot_packs").scalar() == 1
        parts: list[str] = []
        real = loading.unpack_part
        with mock.patch.object(loading, "unpack_part", lambda part, *a: parts.append(part) or real(part, *a)):
            loaded = store.load_snapshot(info.id)
            view = store.snapshot_view(info.id)
            principals, edges = view.all_principals(), view.edges_from(view.all_principals())
        assert parts == [], "no part pack to read"
        assert loaded.digest == info.digest
        assert [sorted(map(repr, s.principals)) for s in loaded.sources] == [
            sorted(map(repr, s.principals)) for s in written.sources]
        assert [sorted(map(repr, s.edges)) for s in loaded.sources] == [sorted(map(repr, s.edges)) for s in written.sources]
        assert principals == {p.key: p for s in written.sources for p in s.principals}
        assert sorted(map(repr, chain.from_iterable(edges.values()))) == sorted(
            repr(e) for s in written.sources for e in s.edges)
        if store.is_sqlite:  # (PostgreSQL returns the copied rows in an order of its choosing)
            assert loaded == written
        after = store.write_snapshot(results, label="after migration 10").id
        _loads_the_same_from_its_pack_as_from_its_rows(store, after)
