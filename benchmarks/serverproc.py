"""A loopback fake served from a process of its own, so its CPU is not the client's: shared by the
GitHub and AWS scale benchmarks. ``target(*args, conn)`` builds the fake, sends its first message
(``hello``: the URL, or the URL and a summary), then answers commands until "stop"."""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable


class ServerProcess:
    def __init__(self, target: Callable[..., None], *args: Any):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=target, args=(*args, child), daemon=True)
        self._process.start()
        self.hello: Any = self._conn.recv()

    def call(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.call("stop")
        finally:
            self._process.join(10)
