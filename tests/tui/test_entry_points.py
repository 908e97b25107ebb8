"""`foureyes demo` and `foureyes tui` run in a real pseudo-terminal, as a user starts them."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>()][0-9A-B]?")


class Terminal:
    """A child process on a 160×45 pseudo-terminal; ``text`` is what it drew, escapes removed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "45", **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "foureyes", *args], stdin=slave, stdout=slave,
                                        stderr=slave, env=full_env, start_new_session=True)
        os.close(slave)
        self.raw = b""

    @property
    def text(self) -> str:
        return _ESCAPES.sub(b"", self.raw).decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{needle!r} never appeared; the terminal showed:\n{self.text[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:
                    break

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def __enter__(self) -> "Terminal":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:  # a failed test must not leave a TUI running
            self.process.kill()
            self.process.wait(timeout=10)
        try:
            os.close(self.master)
        except OSError:
            pass

    def close(self, timeout: float = 30) -> int:
        """Wait for the app to exit on its own (after "q") and return its exit code."""
        try:
            deadline = time.monotonic() + timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if ready:
                    try:
                        self.raw += os.read(self.master, 65536)
                    except OSError:
                        break
            return self.process.wait(timeout=5)
        finally:
            self.__exit__()


@pytest.mark.slow
def test_foureyes_demo_stores_acme_and_opens_the_overview_then_quits():
    with Terminal("demo") as term:
        term.wait_for("Snapshot 2 · demo: Acme (November)")
        term.wait_for("+ FE-SOD-001 Nina Nakamura")  # drift came from the worker
        term.send("2")
        term.wait_for("44 findings")
        term.send("q")
        assert term.close() == 0


@pytest.mark.slow
def test_foureyes_tui_opens_the_latest_stored_snapshot(demo_url):
    with Terminal("tui", env={"FOUREYES_STORE_URL": demo_url}) as term:
        term.wait_for("Snapshot 2 · demo: Acme (November)")
        term.send("q")
        assert term.close() == 0
