"""The temporary file a big campaign's later run of items is written into (`new_items_file`): a
file a killed `campaign new` left behind (hundreds of megabytes at full size) is removed by the
next creation once its maker is gone and it is old, and never one still in use."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from foureyes.store import review as item_rows
from foureyes.store.forking import parallel_possible


def _gone_pid() -> int:
    """The PID of a process that has ended (and been waited for)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _left(folder: Path, pid: int | str, *, age: float) -> Path:
    path = folder / f"foureyes-items-{pid}-abc123.db"
    path.write_bytes(b"rows")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_a_file_left_by_a_process_that_is_gone_is_removed_once_old(tmp_path):
    gone = _gone_pid()
    old = item_rows.STALE_ITEMS_FILE + 60
    left = _left(tmp_path, gone, age=old)
    young = tmp_path / f"foureyes-items-{gone}-young.db"
    young.write_bytes(b"rows")  # (its maker may be a process of another PID namespace, still writing it)
    mine = _left(tmp_path, os.getpid(), age=old)  # (a running process's: in use, whatever its age)
    strange = _left(tmp_path, "x", age=old)
    other = tmp_path / "foureyes-items-abc.db"  # (an older release's name: no PID to tell by)
    other.write_bytes(b"rows")

    item_rows._remove_left_items_files(str(tmp_path))

    assert not left.exists()
    assert young.exists() and mine.exists() and strange.exists() and other.exists()


def test_a_new_items_file_names_its_maker_and_clears_what_a_killed_one_left(store, tmp_path, monkeypatch):
    if not store.is_sqlite or store.path is None or not parallel_possible():
        pytest.skip("a SQLite file store, where a fork is safe")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    left = _left(tmp_path, _gone_pid(), age=item_rows.STALE_ITEMS_FILE + 60)

    path = item_rows.new_items_file(store)

    assert path is not None and Path(path).parent == tmp_path
    assert Path(path).name.startswith(f"foureyes-items-{os.getpid()}-")
    assert not left.exists()
    os.remove(path)
