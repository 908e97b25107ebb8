"""SQLite's write-ahead log checkpointed beside a big commit, not inside it.

A transaction that writes hundreds of megabytes (a campaign of 500,000 items) leaves them in the
log: SQLite's auto-checkpoint then copies them into the database inside COMMIT (seconds at full
size: the log read, the database written, both synced) before the command can read its answer
back. `defer`, inside such a transaction, turns its connection's auto-checkpoint off; once it has
committed (`after`, from `audit.transaction`), the same checkpoint (PASSIVE, as the automatic
one) runs on a connection of its own in a thread (`sqlite3` lets go of the GIL while it works)
while the command goes on. The commit is durable either way (the log holds it); the checkpoint
only moves it into the database. `settle` waits for it: the store's close does (its engine's
`engine_disposed`), and the interpreter waits for the thread (not a daemon) before it exits, so
the next command never finds the log still to copy.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

# Rows a transaction writes from which its log is worth checkpointing beside the commit (~15 MB of
# items): below it the checkpoint takes milliseconds, and a thread left running would keep this
# process from forking (`forking.parallel_possible`) for no gain.
BIG = 20_000

_KEY = "foureyes.wal_deferred"  # (in the DBAPI connection's `info`: its auto-checkpoint before, the file)
_running: list[threading.Thread] = []
_lock = threading.Lock()


def defer(conn: Any) -> None:
    """Inside a big write transaction (``conn``): its auto-checkpoint off until the transaction
    ends, and the log checkpointed beside it if it commits (`after`). Nothing where the store is
    not a SQLite file."""
    url = conn.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or _KEY in conn.info:
        return
    before = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
    conn.info[_KEY] = (int(before), url.database)


def after(conn: Any, *, committed: bool) -> None:
    """The transaction of ``conn`` has ended: its auto-checkpoint back as it was (the pool hands
    the connection out again) and, where `defer` was called and it committed, the log
    checkpointed by a thread."""
    deferred = conn.info.pop(_KEY, None)
    if deferred is None:
        return
    before, path = deferred
    try:
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={before}")
    except SQLAlchemyError:  # pragma: no cover - (a connection gone bad: never handed out again; and
        conn.invalidate()    # nothing raised after the commit, which a retry would repeat)
    if committed:
        _checkpoint_apart(conn.engine, path)


def waited() -> None:
    """Wait for the checkpoints running now, leaving them to `settle` too (the store's close still
    waits for any started later)."""
    with _lock:
        running = list(_running)
    for thread in running:
        thread.join()


def settle() -> None:
    """Wait for every checkpoint started beside a commit."""
    while True:
        with _lock:
            if not _running:
                return
            thread = _running.pop()
        thread.join()


def _checkpoint_apart(engine: Any, path: str) -> None:
    """The connection is opened, and has read, here: before the committing connection goes back
    (or is closed: one that had a file attached is). An open connection holds a shared lock, so
    that one is not the last to close and does not checkpoint the log itself as it closes."""
    try:
        # (mode=rw: a file removed meanwhile is not made again, empty)
        db = sqlite3.connect(Path(path).as_uri() + "?mode=rw", timeout=30, uri=True, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.Error:  # pragma: no cover - (the log stays: the last close's checkpoint copies it)
        return
    if not event.contains(engine, "engine_disposed", _disposed):
        event.listen(engine, "engine_disposed", _disposed)
    thread = threading.Thread(target=_checkpoint, args=(db,), name="foureyes-wal-checkpoint")
    with _lock:
        _running.append(thread)
    thread.start()


def _disposed(_engine: Any) -> None:
    settle()


def _checkpoint(db: sqlite3.Connection) -> None:
    with closing(db):
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # pragma: no cover - (busy: the next commit's or the last close's checkpoint copies it)
            pass
