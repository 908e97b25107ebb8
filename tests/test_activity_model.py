"""Activity records: kept with their snapshot in the store, covered by its digest, read for a period."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from foureyes.activity import (
    SQUASH,
    ActivityPeriod,
    Actor,
    Approval,
    AuditEvent,
    BypassUse,
    Change,
    Commit,
    Deployment,
    LastUsed,
    canonical,
    decode,
    encode,
    period_from,
)
from foureyes.config import parse_config
from foureyes.connectors.base import SourceBuilder
from foureyes.errors import ConfigError
from foureyes.model import Resource, snapshot_digest
from foureyes.store import Store, migrations

PERIOD = ActivityPeriod("2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z")
ALICE = Actor("github:alice", "alice", via="login", kind="user")
BOB = Actor("github:bob", "bob", via="login", kind="user")


def _records():
    change = Change(
        "github", "acme/api#7", "github:repo:acme/api", "2026-10-01T10:00:00Z", branch="main", number=7,
        title="Pay faster", author=ALICE, merged_by=ALICE, merge_method=SQUASH, required_approvals=1,
        require_last_push_approval=True, head_sha="c2", last_push_at="2026-10-01T09:30:00Z",
        commits=(Commit("c1", author=Actor("github:alice", "Alice", "alice@acme.com", "commit author"),
                        co_authors=(Actor(email="bob@acme.com", name="Bob", via="Co-authored-by trailer"),)),
                 Commit("c2", author=ALICE)),
        approvals=(Approval(BOB, "2026-10-01T09:00:00Z", commit="c1"),),
        evidence={"url": "https://github.com/acme/api/pull/7", "labels": ["x", "y"], "nested": {"a": 1}})
    deployment = Deployment(
        "github", "acme/api/deployments/9", "github:repo:acme/api", "github:environment:acme/api/production",
        "2026-10-01T11:00:00Z", sha="m1", creator=ALICE, run_id=42, run_actor=ALICE, triggering_actor=ALICE,
        approvals=(Approval(ALICE, "2026-10-01T10:59:00Z"),), status="success")
    bypass = BypassUse("github", "acme/api/rule-suites/3", "github:repo:acme/api", "2026-10-02T08:00:00Z",
                       actor=BOB, ref="refs/heads/main", after_sha="d1", rules=("ruleset main: pull_request",),
                       source="rule suite")
    event = AuditEvent("aws", "ev-1", "2026-10-03T08:00:00Z", "ecs:UpdateService",
                       actor=Actor("aws:arn:aws:iam::111111111111:role/deploy", "alice@acme.com", "alice@acme.com",
                                   "role session name", "role"),
                       resource="aws:account:111111111111", result="success")
    unused = LastUsed("aws", "aws:arn:aws:iam::111111111111:role/old", "s3", resource="aws:account:111111111111",
                      tracked_since="2026-01-01T00:00:00Z")
    return change, deployment, bypass, event, unused


def _source(records=None, period=PERIOD):
    b = SourceBuilder()
    b.resource(Resource("github", "repo", "acme/api", tier="production"))
    for record in records if records is not None else _records():
        b.activity(record)
    return b.result("github", "github", period=period)


def test_records_round_trip_through_json_exactly():
    for record in _records():
        again = decode(type(record).KIND, encode(record))
        assert again == record
        assert canonical(again) == canonical(record)
    change = _records()[0]
    assert [a.email or a.principal for a in change.authors] == ["github:alice", "bob@acme.com"]


def test_store_keeps_activity_with_its_snapshot_and_the_digest_holds(store_url):
    source = _source()
    with Store(store_url) as store:
        info = store.write_snapshot([source], label="with activity")
        plain = store.write_snapshot([_source([], None)], label="without")
        loaded = store.load_snapshot(info.id)
        assert store.load_snapshot(plain.id).period is None
    assert loaded.period == PERIOD
    assert loaded.sources[0].activity == source.activity
    assert info.sources[0].activity == 5 and info.sources[0].period == (PERIOD.start, PERIOD.end)
    assert snapshot_digest(loaded.sources) == info.digest
    kinds = sorted(type(r).KIND for r in loaded.activity())
    assert kinds == ["bypass", "change", "deployment", "event", "last_used"]


def test_the_digest_covers_every_activity_record_and_the_period():
    source = _source()
    digest = snapshot_digest([source])
    change = source.activity[[type(r).KIND for r in source.activity].index("change")]
    tampered = [
        dataclasses.replace(change, merged_by=BOB),  # a field of the record
        dataclasses.replace(change, approvals=change.approvals[:0]),  # a nested list
        dataclasses.replace(change, commits=(dataclasses.replace(change.commits[0], co_authors=()),)),
    ]
    for other in tampered:
        changed = dataclasses.replace(source, activity=tuple(other if r is change else r for r in source.activity))
        assert snapshot_digest([changed]) != digest
    dropped = dataclasses.replace(source, activity=tuple(r for r in source.activity if r is not change))
    assert snapshot_digest([dropped]) != digest
    moved = dataclasses.replace(source, period=ActivityPeriod(PERIOD.start, "2026-11-02T00:00:00Z"))
    assert snapshot_digest([moved]) != digest
    # no activity read: the digest is what it was before activity existed
    bare = dataclasses.replace(source, activity=(), period=None)
    assert snapshot_digest([bare]) == snapshot_digest([dataclasses.replace(bare, activity=())])
    assert snapshot_digest([bare]) != snapshot_digest([dataclasses.replace(bare, period=PERIOD)])


def test_a_version_2_store_migrates_and_keeps_its_snapshots(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        for number, description, step in migrations.MIGRATIONS[:2]:
            step(conn)
            migrations.record(conn, number, description)
        conn.execute(text("INSERT INTO snapshots (taken_at, label, digest, status, stored_at) "
                          "VALUES ('2026-01-01', 'old', 'd', 'complete', '2026-01-01')"))
        conn.execute(text("INSERT INTO sources (snapshot_id, name, system, started_at, finished_at, stats, principals,"
                          " resources, grants, edges, gaps) VALUES (1, 'github', 'github', '', '', '', 0, 0, 0, 0, 0)"))
    engine.dispose()
    with Store(url) as store:
        info = store.snapshot_info(1)
        assert info.sources[0].activity == 0 and info.sources[0].period is None
        assert store.load_snapshot(1).period is None


def test_activity_period_from_config_and_command_line():
    now = datetime(2026, 11, 2, 8, 30, tzinfo=timezone.utc)
    assert parse_config("").activity_period(now=now) == ActivityPeriod("2026-08-04T08:30:00Z", "2026-11-02T08:30:00Z")
    dated = parse_config("[activity]\nstart = 2026-07-01\nend = 2026-09-30\n")
    assert dated.activity_period(now=now) == ActivityPeriod("2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z")
    assert dated.activity_period(since="2w", now=now).start == "2026-10-19T08:30:00Z"
    assert period_from(since="90d", end=date(2026, 9, 30)).end == "2026-10-01T00:00:00Z"
    with pytest.raises(ConfigError, match=r"activity.since: '3 months' is not a period"):
        parse_config('[activity]\nsince = "3 months"\n')
    with pytest.raises(ConfigError, match=r"activity: activity period starts \(2026-10-01\) on or after"):
        parse_config("[activity]\nstart = 2026-10-01\nend = 2026-09-01\n").activity_period()
    with pytest.raises(ConfigError, match="--since: activity period 'soon'"):
        parse_config("").activity_period(since="soon")
    assert PERIOD.contains("2026-09-01T12:00:00+02:00") and not PERIOD.contains("2026-11-01T00:00:00Z")
