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


def fork_with_pipe() -> tuple[int, int, int] | None:
    """Fork, with a pipe from the child to this process: (pid, read end, write end), pid 0 in
    the child; None where the fork failed (both ends closed)."""
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    return pid, read, write


class Child:
    """This process's end of a forked child whose answer comes back pickled through a pipe once
    the child has all of it: `answer` waits for it, `cancel` stops a child nothing waits for."""

    _pid = 0
    _read = -1

    def _started(self, pid: int, read: int, write: int) -> None:
        os.close(write)
        self._pid, self._read = pid, read

    def answer(self) -> tuple[bool, Any]:
        """(True, the child's answer), or (False, None) where there was no child or it failed."""
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


class Forked(Child):
    """``work()`` done by a forked child on the machine's other core while this process goes on
    (what it reads is shared with it, copy on write). `result` is (True, the answer), or (False,
    None) where no fork is safe (`parallel_possible`) or the child failed: the caller then does the
    work itself. ``work`` must not write, nor use a database connection opened before the fork."""

    def __init__(self, work: Callable[[], Any]):
        if not parallel_possible() or (forked := fork_with_pipe()) is None:
            return
        pid, read, write = forked
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
        self._started(pid, read, write)

    def result(self) -> tuple[bool, Any]:
        return self.answer()


__all__ = ["Child", "Forked", "fork_with_pipe", "parallel_possible", "reap", "stop"]
