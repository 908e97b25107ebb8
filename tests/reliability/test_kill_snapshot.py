"""kill -9 in the middle of a snapshot write: the store opens cleanly and shows no partial snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from foureyes.store import Store

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
sys.path.insert(0, {bench!r})
from generate import generate
from foureyes.connectors import demo
from foureyes.store import Store
results, _ = generate(0.15)
store = Store({url!r})
list(demo.load_into(store))          # two complete snapshots first
print("ready", flush=True)
inserting = Store.insert_rows


def paused(self, conn, table, rows, **kwargs):
    # in the middle of the write's transaction: the snapshot's row, principals, resources and edges
    # are in, its grants next; held here until killed
    if table.name == "grants":
        print("inside", flush=True)
        time.sleep(600)
    return inserting(self, conn, table, rows, **kwargs)


Store.insert_rows = paused
store.write_snapshot(results, label="big")   # killed in the middle of this
print("done", flush=True)
"""


def _run_and_kill(url: str, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(bench=str(ROOT / "benchmarks"), url=url))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    # held inside the write's transaction (a fixed sleep once let a faster write commit first)
    assert proc.stdout.readline().strip() == "inside"
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_during_snapshot_write_leaves_no_partial_snapshot(store_url, tmp_path):
    _run_and_kill(store_url, tmp_path)
    with Store(store_url) as store:
        assert [i.label for i in store.list_snapshots()] == ["demo: Acme (October)", "demo: Acme (November)"]
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM snapshots")).scalar() == 2
            big = conn.execute(text("SELECT count(*) FROM grants WHERE snapshot_id > 2")).scalar()
            assert big == 0
            if store.is_sqlite:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        # the store is fully usable afterwards
        info = store.write_snapshot(store.load_snapshot(2).sources, label="after the crash")
        assert info.id > 2  # PostgreSQL may skip the id the killed transaction took
        assert store.load_snapshot(info.id).digest == store.snapshot_info(2).digest
