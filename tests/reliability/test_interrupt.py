"""Ctrl-C during a snapshot: foureyes stops at once (exit 130), says so, and writes nothing.

The sources read in threads; an interrupt must not wait for them to finish reading (against a
server that stalls, that is never), and a half-read organisation must never become a snapshot.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import subprocess
import sys
import time

import pytest

from fakes import config_toml
from fakes.github_server import FakeGitHub, load_fixture
from foureyes.store import Store


def _to_a_source_thread(pid: int) -> None:
    """SIGINT delivered to one of the process's other threads, as the kernel may choose to: Python
    runs its handler in the main thread only, so a main thread blocked in an endless wait never
    saw it until the stalled source ended (a load-dependent failure of the fresh-clone runs)."""
    tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert tids, "the snapshot has no source thread"
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(234, pid, tids[-1], signal.SIGINT) == 0, os.strerror(ctypes.get_errno())  # tgkill


# (where SIGINT goes, which answers stall): "*" stalls the first request, before the connector's
# pool exists; "/graphql" lets the organisation's REST reads answer, so the pool's workers are the
# ones waiting (concurrent.futures joins them at exit: foureyes waited for the server).
CASES = [("process", "*"), ("process", "/graphql")]
if sys.platform == "linux" and platform.machine() == "x86_64":
    CASES.append(("a-source-thread", "*"))


@pytest.mark.parametrize(("target", "stall"), CASES)
def test_ctrl_c_while_a_source_stalls_exits_130_promptly_and_writes_nothing(tmp_path, target, stall):
    store = tmp_path / "interrupt.db"
    gh = FakeGitHub(load_fixture("scenarios.yaml")).start()
    try:
        gh.faults.add(stall, action="delay", delay=20.0, times=1000)  # those answers take 20 s
        config = tmp_path / "foureyes.toml"
        config.write_text(config_toml(gh.url).replace("timeout = 5.0", "timeout = 60.0"))
        env = {**os.environ, "FOUREYES_STORE_URL": f"sqlite:///{store}", "GITHUB_TOKEN": "ghp_" + "x" * 36}
        # Ctrl-C's default disposition, as a terminal's foreground job has it: a run started in the
        # background of a non-interactive shell (`make test &`, nohup) inherits SIGINT ignored.
        proc = subprocess.Popen([sys.executable, "-m", "foureyes", "-c", str(config), "snapshot"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 30
            while gh.stats.in_flight == 0 and time.monotonic() < deadline:  # the read has begun
                time.sleep(0.05)
            while stall != "*" and gh.stats.in_flight < 2 and time.monotonic() < deadline:
                time.sleep(0.05)  # the organisation's lists are being read, in the pool's threads
            assert gh.stats.in_flight > 0, "the snapshot never reached the fake"
            interrupted = time.monotonic()
            if target == "process":
                proc.send_signal(signal.SIGINT)
            else:
                _to_a_source_thread(proc.pid)
            out, err = proc.communicate(timeout=15)
            took = time.monotonic() - interrupted
        finally:
            proc.kill()
    finally:
        gh.stop(settle=0)  # its answers are stalled on purpose: do not wait for them
    assert proc.returncode == 130, err
    assert took < 5, f"exited {took:.1f} s after Ctrl-C: it waited for the stalled source"
    assert "interrupted" in err and "Traceback" not in err
    with Store(f"sqlite:///{store}") as opened:
        assert opened.list_snapshots() == []
