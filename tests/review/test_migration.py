"""Store migrations: an existing version-1 store upgrades in place and keeps its snapshots."""

from __future__ import annotations

from sqlalchemy import inspect, text

from foureyes.store import audit
from foureyes.connectors import demo
from foureyes.store import Store, migrations


def _copy_as_version_1(target: Store, source: Store) -> None:
    """The source's snapshot rows, in the columns a version-1 store has (a store written by foureyes then)."""
    tables = ("snapshots", "sources", "principals", "resources", "grants", "edges", "gaps")
    with source.engine.connect() as read, target.engine.begin() as write:
        for table in tables:
            columns = [c["name"] for c in inspect(write).get_columns(table)]
            rows = read.execute(text(f"SELECT {', '.join(columns)} FROM {table}")).all()
            if rows:
                marks = ", ".join(f":{c}" for c in columns)
                write.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"),
                              [dict(zip(columns, row)) for row in rows])


def test_a_version_1_store_upgrades_to_review_tables(store_url):
    old = Store(store_url, migrate=False)
    with old.engine.begin() as conn:
        number, description, step = migrations.MIGRATIONS[0]
        step(conn)
        migrations.record(conn, number, description)
    with Store("sqlite://") as current:  # a snapshot without activity, as version 1 stored them
        info = current.write_snapshot(demo.build("before"), label="from version 1")
        _copy_as_version_1(old, current)
    old.close()

    with Store(store_url) as store:
        with store.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.LATEST
            versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_version ORDER BY version"))]
        assert versions == list(range(1, migrations.LATEST + 1))
        assert migrations.LATEST == 8
        assert "usage" in {c["name"] for c in inspect(store.engine).get_columns("campaign_items")}  # migration 6
        assert inspect(store.engine).has_table("analyses")  # 7: the analysis stored beside its snapshot
        assert {"campaigns", "campaign_items", "decisions", "exceptions", "audit_log", "audit_head"} <= set(
            inspect(store.engine).get_table_names())
        assert [i.label for i in store.list_snapshots()] == ["from version 1"]
        assert store.load_snapshot(info.id).digest == info.digest
        assert audit.head(store) == audit.Head(seq=0, hash=audit.GENESIS)
        assert audit.verify(store).ok
    # opening again is a no-op
    with Store(store_url) as again:
        assert audit.head(again).seq == 0



def _small(activity: bool) -> list:
    """One repository and one grant; with ``activity``, one merged pull request and its period."""
    from foureyes.activity import Actor, ActivityPeriod, Change
    from foureyes.model import CODE_PUSH, Grant, Principal, Resource, SourceResult

    repo = Resource("github", "repo", "acme/api", name="acme/api", tier="production", app="api")
    alice = Principal("github", "alice", "user", "Alice", "alice@acme.com")
    change = Change("github", "acme/api#1", repo.key, "2026-10-01T10:00:00Z", number=1, title="Add refunds",
                    author=Actor("github:alice", "alice"), merged_by=Actor("github:alice", "alice"))
    return [SourceResult("github", "github", (alice,), (repo,), (Grant("github", alice.key, "write", repo.key,
                                                                      (CODE_PUSH,)),), (), (),
                         activity=(change,) if activity else (),
                         period=ActivityPeriod("2026-08-04T00:00:00Z", "2026-11-02T00:00:00Z") if activity else None)]


def test_a_version_4_store_gains_activity_and_keeps_its_snapshots(store_url):
    """A store the roster's release wrote (version 4: items with roster columns, no activity) upgrades
    to 5 (activity) and 6 (item usage): snapshots keep their digests, then take activity with their period."""
    old = Store(store_url, migrate=False)
    with old.engine.begin() as conn:
        for number, description, step in migrations.MIGRATIONS:
            if number <= 4:
                step(conn)
                migrations.record(conn, number, description)
        assert not inspect(conn).has_table("activity")
    with Store("sqlite://") as current:
        info = current.write_snapshot(_small(activity=False), label="from version 4")
        _copy_as_version_1(old, current)  # the columns both have
    with old.engine.begin() as conn:  # rows copied with their ids: move PostgreSQL's sequence past them
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('snapshots', 'id'), (SELECT max(id) FROM snapshots))"))
    old.close()

    with Store(store_url) as store:
        with store.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.LATEST == 8
            items = {c["name"] for c in inspect(conn).get_columns("campaign_items")}
            sources = {c["name"] for c in inspect(conn).get_columns("sources")}
        assert {"person_status", "person_manager", "person_department"} <= items  # 4 kept
        assert "usage" in items  # 6: each item's last use
        assert {"activity", "period_start", "period_end"} <= sources and inspect(store.engine).has_table("activity")
        assert store.load_snapshot(info.id).digest == info.digest
        after = store.write_snapshot(_small(activity=True), label="with activity")
        loaded = store.load_snapshot(after.id)
        assert [r.id for r in loaded.activity()] == ["acme/api#1"] and loaded.period is not None
        assert loaded.digest == after.digest
