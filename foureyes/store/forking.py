"""Work on the machine's other core: a forked child, where a fork is safe.

The snapshot write (`writing.DigestWorker`), storing an analysis (`stored_holdings`) and creating a
campaign (`Forked`) hand pure work to a forked child that shares what it reads copy on write. A
fork is safe only on Linux and where the calling thread is the only one: a lock another thread
held at the fork would never be released in the child. Every child leaves through `os._exit`
(no atexit, no finalizers: the parent's database connections are not its to close), and every
caller does the work itself where no child answers.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from typing import Any, Callable


def parallel_possible() -> bool:
    """A fork is safe here: Linux, and this thread the only one running."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def reap(pid: int) -> None:
    """Wait for a child that has ended or is about to."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # pragma: no cover - SIGCHLD ignored: the system reaped it
        pass


def stop(pid: int) -> None:
    """Kill a child nothing waits for any more, and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it had finished
        pass
    reap(pid)


class Forked:
    """``work()`` done by a forked child on the machine's other core while this process goes on
    (what it reads is shared with it, copy on write); its answer comes back pickled through a pipe.
    `result` is (True, the answer), or (False, None) where no fork is safe (`parallel_possible`:
    not Linux, or other threads running: a lock one of them holds would never be released in the
    child) or the child failed: the caller then does the work itself. The child leaves without
    running anything of the parent's (no atexit, no finalizers: the parent's connections are not
    its to close); ``work`` must not write, nor use a database connection opened before the fork."""

    def __init__(self, work: Callable[[], Any]):
        self._pid, self._read = 0, -1
        if not parallel_possible():
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            code = 1
            try:
                os.close(read)
                gc.disable()  # a collection would walk (and copy) the parent's heap
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent does the work itself
                pass
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> tuple[bool, Any]:
        if not self._pid:
            return False, None
        data = b""
        try:
            with os.fdopen(self._read, "rb") as pipe:
                self._read = -1
                data = pipe.read()
        finally:
            self._reap()
        try:  # the child writes its answer only once it has all of it
            return True, pickle.loads(data)  # noqa: S301 - our own child's answer, through our own pipe
        except Exception:  # noqa: BLE001 - it died on the way (killed, out of memory): done here
            return False, None

    def cancel(self) -> None:
        """Stop the child: nothing waits for its answer."""
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
        if self._pid:
            stop(self._pid)
            self._pid = 0

    def _reap(self) -> None:
        reap(self._pid)
        self._pid = 0


__all__ = ["Forked", "parallel_possible", "reap", "stop"]
