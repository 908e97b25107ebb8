"""One moto server per test worker, and the AWS world on it built once.

moto keeps its backends in process-wide state: a second server in the same process would
share them anyway. So each worker runs one `ThreadedMotoServer` for the whole session, and a
module asks for the world it reads by name: the first asks it to be built, later modules that
ask for the same name get it as it is (they only read), and a module asking for another name,
or for a clean server, gets moto's state reset first (`/moto-api/reset`, one HTTP call).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import requests

World = TypeVar("World")


class MotoServer:
    def __init__(self) -> None:
        self._server: Any = None
        self.url = ""
        self._name: str | None = None
        self._world: Any = None

    def start(self) -> str:
        if self._server is None:
            from moto.server import ThreadedMotoServer

            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self.url = f"http://{host}:{port}"
        return self.url

    def world(self, name: str, build: Callable[[str], World]) -> World:
        """The world ``name``, built by ``build(url)`` unless it is the one the server holds."""
        if self._name != name:
            self.fresh()
            self._world = build(self.url)
            self._name = name
        return self._world

    def fresh(self) -> str:
        """An empty server (nothing created, IAM not enforced) for a module that builds its own."""
        self.start()
        self._name, self._world = None, None
        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()
        requests.post(f"{self.url}/moto-api/reset-auth", data=b"inf", timeout=30).raise_for_status()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
