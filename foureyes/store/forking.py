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


# Children that had sent their answer but were still ending when it was read (`Child.answer`):
# reaped by a later answer or fork, not waited for then. A child's exit unmaps its copy-on-write
# view of this process's memory (~0.07 s at full size, per child), which nothing needs to wait for.
_ending: list[int] = []


def reap_ended() -> None:
    """Reap the children of `_ending` that have ended since (the others stay listed)."""
    for pid in list(_ending):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # pragma: no cover - not this process's child (a forked child
            done = pid  # inherits the list), or SIGCHLD ignored: the system reaped it
        if done:
            _ending.remove(pid)


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
    reap_ended()
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
        except BaseException:
            self._reap()
            raise
        # the pipe is closed: the child has written all it will and is ending (`os._exit`), or has
        # died; reaped later where it has not ended yet (`_ending`), its exit not waited for
        pid, self._pid = self._pid, 0
        _ending.append(pid)
        reap_ended()
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
    work itself. ``work`` must not write, nor use a database connection opened before the fork.

    With ``told``, ``work`` is called with ``heard``: a function that waits for what this process
    sends once with `tell` (something it learns only after the fork) and raises where it sends
    nothing (`result` or `cancel` came first: the child then fails, and the caller does the work).
    With ``early``, ``work`` is also called with ``say`` (after ``heard`` where ``told``): it sends
    this process a first answer before the whole one, which `early` waits for."""

    _tell = -1

    def __init__(self, work: Callable[..., Any], *, told: bool = False, early: bool = False):
        if not parallel_possible():
            return
        hear, tell = os.pipe() if told else (-1, -1)
        if (forked := fork_with_pipe()) is None:
            for end in (hear, tell):
                if end >= 0:
                    os.close(end)
            return
        pid, read, write = forked
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            code = 1
            try:
                os.close(read)
                gc.disable()  # a collection would walk (and copy) the parent's heap
                given: list[Any] = [lambda: _heard(hear)] if told else []
                if told:
                    os.close(tell)  # (else the pipe never ends for `heard` where nothing is told)
                if early:
                    given.append(lambda value: _say(write, value))
                answer = work(*given)
                data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent does the work itself
                pass
            finally:
                os._exit(code)
        if told:
            os.close(hear)
            self._tell = tell
        self._started(pid, read, write)

    def tell(self, value: Any) -> None:
        """Send the child what its ``heard`` waits for (once; nothing where there is no child)."""
        end, self._tell = self._tell, -1
        if end >= 0:
            try:
                with os.fdopen(end, "wb") as pipe:
                    pipe.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:  # pragma: no cover - the child died: `result` says so
                pass

    def early(self) -> tuple[bool, Any]:
        """(True, what the child sent with ``say``), or (False, None) where there is no child or it
        failed before (`result` then says (False, None) too)."""
        if not self._pid:
            return False, None
        try:
            size = int.from_bytes(_read(self._read, 8), "big")
            return True, pickle.loads(_read(self._read, size))  # noqa: S301 - our own child's word
        except Exception:  # noqa: BLE001 - it died on the way: `result` reaps it
            self._untold()
            self.cancel()
            return False, None

    def result(self) -> tuple[bool, Any]:
        self._untold()
        return self.answer()

    def cancel(self) -> None:
        self._untold()
        super().cancel()

    def _untold(self) -> None:
        if self._tell >= 0:
            os.close(self._tell)
            self._tell = -1


def read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes from a pipe (fewer where the other end closed it first)."""
    data = bytearray()
    while len(data) < size and (more := os.read(fd, min(size - len(data), 1 << 20))):
        data += more
    return bytes(data)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read(end: int, size: int) -> bytes:
    """``size`` bytes from the pipe (EOFError where it ends first)."""
    data = read_exactly(end, size)
    if len(data) < size:
        raise EOFError("the child ended before it said it")
    return data


def _say(end: int, value: Any) -> None:  # pragma: no cover - in the child
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    write_all(end, len(data).to_bytes(8, "big") + data)


def _heard(end: int) -> Any:  # pragma: no cover - in the child
    with os.fdopen(end, "rb") as pipe:
        data = pipe.read()
    if not data:
        raise EOFError("the parent told the child nothing")
    return pickle.loads(data)  # noqa: S301 - our own parent's word, through our own pipe


__all__ = ["Child", "Forked", "fork_with_pipe", "parallel_possible", "reap", "stop"]
