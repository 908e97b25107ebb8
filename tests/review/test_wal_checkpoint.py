"""A big campaign's commit leaves SQLite's write-ahead log to a thread to checkpoint (`store.wal`):
the campaign is committed and readable at once, the log is copied into the database beside the
command's next steps, and the store's close waits for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from foureyes import review
from foureyes.store import Store, audit, wal

from .conftest import TODAY

CREATOR = "security@acme.com"


def _written(path: Path) -> tuple[int, int]:
    """When the file was last written, and its size (by `stat`: opening and closing the database
    file here would drop this process's SQLite locks on it, POSIX locks being per process)."""
    found = path.stat()
    return found.st_mtime_ns, found.st_size


def _held_checkpoints(monkeypatch) -> tuple[threading.Event, list[threading.Thread]]:
    """Checkpoints beside a commit wait for the gate before they run; the threads they run in, each
    as it is started (not once it runs: on a loaded machine it may not have yet when the commit returns)."""
    gate, started = threading.Event(), []
    real = wal._checkpoint

    def held(db):
        assert gate.wait(30)
        real(db)

    class Recorded(threading.Thread):
        def start(self) -> None:
            if self.name == "foureyes-wal-checkpoint":
                started.append(self)
            super().start()

    monkeypatch.setattr(wal, "_checkpoint", held)
    monkeypatch.setattr(threading, "Thread", Recorded)
    return gate, started


def test_a_big_campaigns_log_is_checkpointed_beside_its_commit_and_before_the_store_closes(
        store, review_config, monkeypatch):
    monkeypatch.setattr(wal, "BIG", 1)  # (the demo's 111 items count as big)
    gate, started = _held_checkpoints(monkeypatch)
    if store.is_sqlite:
        # every commit checkpoints its log (the auto-checkpoint after 1 page, not 1000): unless deferred
        store.engine.dispose()
        event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA wal_autocheckpoint=1"))
        assert store.path is not None
        database, log = store.path, store.path.with_name(store.path.name + "-wal")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _written(database)
    spec = review.spec_from_config(review_config, name="Q4", scope=review.Scope(kind="production"), today=TODAY)
    campaign = review.create_campaign(store, review_config, spec, actor=CREATOR, today=TODAY)
    # committed: the campaign, its items and its audit entry read back while the checkpoint waits
    assert len(review.items(store, campaign.id)) == 111
    assert [e.action for e in audit.entries(store, campaign_id=campaign.id)] == ["campaign.new"]
    if not store.is_sqlite:  # (nothing to defer in PostgreSQL)
        assert started == []
        return
    assert len(started) == 1 and started[0].is_alive()
    # the commit wrote the log only; the database file is untouched until the checkpoint runs
    assert _written(database) == before and log.stat().st_size > 0
    gate.set()
    store.close()  # waits for the checkpoint; the last connection closed removes the log
    assert not started[0].is_alive() and not log.exists() and _written(database) != before
    with Store(f"sqlite:///{database}") as again:
        assert len(review.items(again, campaign.id)) == 111
        assert audit.verify(again).ok


def test_a_big_transaction_that_fails_leaves_no_checkpoint_behind_and_its_connection_as_it_was(
        store, monkeypatch):
    if not store.is_sqlite:
        pytest.skip("SQLite's write-ahead log")
    gate, started = _held_checkpoints(monkeypatch)
    gate.set()
    with pytest.raises(RuntimeError, match="failed"):
        with audit.transaction(store) as conn:
            raw = conn.connection.dbapi_connection
            wal.defer(conn)
            assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            audit.append(conn, actor=CREATOR, action="note", reason="rolled back")
            raise RuntimeError("failed")
    assert started == [] and raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert audit.entries(store) == []
    # and one that commits: checkpointed by a thread, which the store's close waits for; the
    # connection's auto-checkpoint back as it was
    with audit.transaction(store) as conn:
        raw = conn.connection.dbapi_connection
        wal.defer(conn)
        audit.append(conn, actor=CREATOR, action="note", reason="kept")
    assert len(started) == 1 and raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    store.close()
    assert not started[0].is_alive() and [e.reason for e in audit.entries(store)] == ["kept"]


def test_a_big_campaigns_rows_are_let_go_by_a_thread_and_the_later_runs_file_removed_before_it_returns(
        store, review_config, monkeypatch, forks):
    """What a big campaign's creation leaves (its rows, planning's state) is freed by a daemon
    thread while the caller goes on; the file a forked child wrote the later run's rows into is
    removed before `create_campaign` returns (the process may end before the thread runs), and
    the GC runs again."""
    import gc
    import os

    from foureyes.review import campaigns
    from foureyes.store import review as item_rows

    if not store.is_sqlite:
        pytest.skip("a SQLite file store's big campaign")
    monkeypatch.setattr(wal, "BIG", 1)
    monkeypatch.setattr(campaigns, "PARALLEL_GRANTS", 1)  # (the later run's rows planned by a forked child)
    files: list[str] = []
    made = item_rows.new_items_file

    def new_items_file(at):
        found = made(at)
        files.extend([found] if found else [])
        return found

    monkeypatch.setattr(item_rows, "new_items_file", new_items_file)
    gate, entered, threads, left = threading.Event(), threading.Event(), [], []
    let_go = campaigns._let_go

    def held(things):
        left.append(things)
        threads.append(threading.current_thread())
        entered.set()
        assert gate.wait(30)
        let_go(things)

    monkeypatch.setattr(campaigns, "_let_go", lambda things: threading.Thread(target=held, args=(things,)).start())
    closed: list[tuple[threading.Thread, object]] = []  # (an earlier test's let-go thread may close its own here)
    close = campaigns._Planned.close

    def recorded_close(self):
        closed.append((threading.current_thread(), self))
        close(self)

    monkeypatch.setattr(campaigns._Planned, "close", recorded_close)
    spec = review.spec_from_config(review_config, name="Q4", scope=review.Scope(kind="production"), today=TODAY)
    campaign = review.create_campaign(store, review_config, spec, actor=CREATOR, today=TODAY)
    assert gc.isenabled() and len(review.items(store, campaign.id)) == 111
    assert entered.wait(30)  # (the thread given what is let go has started)
    planned = next(thing for thing in left[0] if isinstance(thing, campaigns._Planned))
    assert len(planned.first) > 0  # (not let go yet)
    assert len(files) == int(forks) and not any(map(os.path.exists, files))
    assert [on for on, what in closed if what is planned] == []
    gate.set()
    threads[0].join(30)
    # closed (rows let go) by a daemon thread of its own: it never keeps the process from ending. That
    # thread first waits for the log's checkpoint, which may still be running on a loaded machine
    deadline = time.monotonic() + 30
    while not (closed_on := [on for on, what in closed if what is planned]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(closed_on) == 1 and closed_on[0].daemon and closed_on[0] is not threads[0]
    closed_on[0].join(30)
    assert planned.first == [] and left[0] == []
    wal.settle()


def test_what_a_big_campaign_leaves_is_let_go_only_once_the_logs_checkpoint_is_done(monkeypatch):
    """Freeing a big campaign's rows and planning's state is a second of CPU (one deallocation
    holding the GIL): it waits for the checkpoint running beside the commit, which the command's
    end waits for, and leaves that checkpoint to `settle` (the store's close) as well."""
    from foureyes.review import campaigns

    gate = threading.Event()
    checkpoint = threading.Thread(target=gate.wait, args=(30,), name="checkpoint")
    monkeypatch.setattr(wal, "_running", [checkpoint])
    checkpoint.start()
    planned = campaigns._Planned([("a row",)])
    left: list = [planned, {"an identity": {}}]
    before = set(threading.enumerate())
    campaigns._let_go(left)
    letting_go = next(t for t in threading.enumerate() if t.name == "foureyes-let-go" and t not in before)
    letting_go.join(0.3)
    assert letting_go.is_alive() and planned.first == [("a row",)] and len(left) == 2  # (not before the checkpoint)
    gate.set()
    letting_go.join(30)
    assert planned.first == [] and left == []
    assert wal._running == [checkpoint]  # (still the store's close's to wait for)
    wal.settle()
    assert wal._running == [] and not checkpoint.is_alive()
