"""The store: round trips, atomic snapshot writes, file permissions, schema versions."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import event, inspect, text

from foureyes.connectors import demo
from foureyes.errors import StoreError
from foureyes.model import Edge, Gap, Grant, Principal, Resource, SourceResult
from foureyes.store import Store, migrations, schema


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
        from foureyes.model import snapshot_digest

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
    expected = {name: {c.name for c in table.columns} for name, table in schema.metadata.tables.items()}
    assert actual == expected


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
    for is_sqlite in (True, False):
        here = writing.content_digests(results, texts, is_sqlite)
        worker = writing.DigestWorker(results, texts, is_sqlite)
        sent_keys, sent_order = worker.keys()
        assert sent_keys == keys and list(sent_order) == order
        assert worker.result() == here and worker.from_child
        assert here[1]["grants"]["rows"] == len(keys)
    on_sqlite = writing.content_digests(results, texts, True)
    assert on_sqlite[1]["grants"] != here[1]["grants"], "a NUL reads back otherwise on PostgreSQL"
    stopped = writing.DigestWorker(results, texts, True)
    stopped.cancel()  # a failed write stops its worker: nothing is left running; what it would say is computed here
    assert stopped.keys() == (keys, order)
    assert stopped.result() == on_sqlite and not stopped.from_child


def test_loaded_records_are_the_dataclasses_they_were_written_as():
    """The loader sets a record's slots directly (a third of loading a million grants): what it
    makes equals, hashes and prints as the dataclass made the usual way, and a class whose
    ``__init__`` does more (``__post_init__``) is constructed the usual way."""
    from dataclasses import dataclass, fields

    from foureyes.store import _maker

    made = (Grant("aws", "aws:role/x", "AdministratorAccess", "aws:account:1", ("access.admin",), "policy", "d", "c",
                  "2027-01-01", None, {"actions": ["*"]}),
            Principal("github", "ann", "user", "Ann", "ann@acme.com", "", {"email_source": "saml"}),
            Resource("github", "repo", "acme/api", "api", "production", "payments", "", {"protected": True}),
            Edge("github:ann", "github:team/acme/x", "member-of", "member of x", "", {"role": "maintainer"}))
    for record in made:
        again = _maker(type(record))(*(getattr(record, f.name) for f in fields(record)))
        assert type(again) is type(record) and again == record and hash(again) == hash(record)
        assert repr(again) == repr(record) and again.key == record.key

    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert _maker(Checked) is Checked
