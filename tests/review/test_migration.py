"""Store migrations: an existing version-1 store upgrades in place and keeps its snapshots."""

from __future__ import annotations

from sqlalchemy import inspect, text

from conftest import store_at_version

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
        assert migrations.LATEST == 10
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
    old = store_at_version(store_url, 4)
    assert not inspect(old.engine).has_table("activity")
    with Store("sqlite://") as current:
        info = current.write_snapshot(_small(activity=False), label="from version 4")
        _copy_as_version_1(old, current)  # the columns both have
    with old.engine.begin() as conn:  # rows copied with their ids: move PostgreSQL's sequence past them
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('snapshots', 'id'), (SELECT max(id) FROM snapshots))"))
    old.close()

    with Store(store_url) as store:
        with store.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.LATEST == 10
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


def test_a_version_8_store_drops_the_item_indexes_no_query_used_and_its_campaign_reads_and_verifies_the_same(
        store, store_url, review_config):
    """Migration 9 drops the items' indexes by grant and by (campaign, reviewer): a campaign made while
    the store had them reads back the same items, the same queue and still verifies."""
    from foureyes import review

    from .conftest import TODAY

    spec = review.spec_from_config(review_config, name="Q4", today=TODAY)
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    before = review.items(store, campaign.id)
    queues = {r: review.items(store, campaign.id, reviewer=r) for r in {i.reviewer for i in before}}
    with store.engine.begin() as conn:  # as version 8 left it
        conn.exec_driver_sql("CREATE INDEX ix_campaign_items_campaign ON campaign_items (campaign_id, reviewer)")
        conn.exec_driver_sql("CREATE INDEX ix_campaign_items_grant ON campaign_items (grant_key)")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version >= 9")
        conn.exec_driver_sql("DROP TABLE snapshot_part_packs")
    store.close()

    with Store(store_url) as upgraded:
        with upgraded.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.LATEST == 10
            assert {i["name"] for i in inspect(conn).get_indexes("campaign_items")} == {"ix_campaign_items_reviewer_key"}
        assert review.items(upgraded, campaign.id) == before and len(before) > 10
        assert {r: review.items(upgraded, campaign.id, reviewer=r) for r in queues} == queues and len(queues) > 1
        assert review.verify_audit(upgraded).differences == ()
