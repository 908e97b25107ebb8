"""A fake Okta management API on loopback, over HTTPS (the SDK refuses plain HTTP).

It answers the way Okta does: lists paged by cursor, `Link` headers (rel="self" first, then
rel="next" with an `after` cursor), X-Rate-Limit-Limit/-Remaining/-Reset on every answer,
429 with those headers and a Date, Okta's error bodies (errorCode, errorSummary), SSWS
tokens, and the default user list leaving DEPROVISIONED users out (a filter or a search
returns them). Payload shapes follow Okta's OpenAPI description, which the SDK's models are
generated from; tests check the fixtures deserialise into those models without leftovers.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .tls import server_context

ERRORS = {
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
}
_FILTER = re.compile(r'^status eq "([A-Z_]+)"$')


@dataclass
class Fault:
    path: str  # regex over the path without query
    status: int
    times: int | None = 1  # None: always
    nth: int = 1
    echo: bool = False  # a careless server: the request's credential quoted in the error
    seen: int = 0
    fired: int = 0


@dataclass
class FakeOkta:
    fixture: dict[str, Any]
    token: str = "test-okta-token"
    page_size: int = 2
    requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "FakeOkta":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = server_context().wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-okta", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, path: str, status: int, *, times: int | None = 1, nth: int = 1, echo: bool = False) -> None:
        self.faults.append(Fault(path, status, times, nth, echo))

    def seen(self, path: str) -> list[dict[str, list[str]]]:
        with self._lock:
            return [q for p, q, _ in self.requests if p == path]

    # -- HTTP

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        query = parse_qs(split.query)
        with self._lock:
            self.requests.append((split.path, query, dict(handler.headers)))
            fault = next((f for f in self.faults if re.fullmatch(f.path, split.path) and self._claims(f)), None)
        headers = self._rate_headers(limited=fault is not None and fault.status == 429)
        # Okta documents "SSWS <token>"; okta 3.x sends "SSWS<token>" (reference-notes: Okta)
        if handler.headers.get("Authorization") not in (f"SSWS {self.token}", f"SSWS{self.token}"):
            return self._send(handler, 401, _error(401), headers)
        if fault is not None:
            error = _error(fault.status)
            if fault.echo:
                error["errorSummary"] += f" (credential presented: {handler.headers.get('Authorization')})"
            return self._send(handler, fault.status, error, headers)
        try:
            items = self._route(split.path, query)
        except LookupError:
            return self._send(handler, 404, _error(404), headers)
        size = min(int(query.get("limit", [self.page_size])[0] or self.page_size), self.page_size)
        after = query.get("after", [""])[0]
        start = next((n + 1 for n, item in enumerate(items) if _cursor(item) == after), 0) if after else 0
        page = items[start:start + size]
        base = f"{self.url}{split.path}"
        keep = {k: v[0] for k, v in query.items() if k != "after"}
        links = [f'<{base}?{urlencode(keep)}>; rel="self"']
        if start + size < len(items):
            links.append(f'<{base}?{urlencode({**keep, "after": _cursor(page[-1])})}>; rel="next"')
        self._send(handler, 200, page, headers, links)

    def _claims(self, fault: Fault) -> bool:
        fault.seen += 1
        if fault.seen >= fault.nth and (fault.times is None or fault.fired < fault.times):
            fault.fired += 1
            return True
        return False

    def _rate_headers(self, *, limited: bool) -> dict[str, str]:
        now = int(time.time())
        return {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0" if limited else "599",
                # on a 429 the window resets now: the SDK waits (reset - Date + 1) = one second
                "X-Rate-Limit-Reset": str(now if limited else now + 60),
                "Date": email.utils.formatdate(now, usegmt=True)}

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str],
              links: list[str] = ()) -> None:  # type: ignore[assignment]
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        for link in links:  # Okta sends one Link header per relation
            handler.send_header("Link", link)
        handler.end_headers()
        handler.wfile.write(data)

    # -- routes (lists only: foureyes reads)

    def _route(self, path: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        parts = [p for p in path.split("/") if p][2:]  # after /api/v1
        users = self.fixture.get("users", [])
        groups = self.fixture.get("groups", [])
        apps = self.fixture.get("apps", [])
        if parts == ["users"]:
            wanted = query.get("filter", [""])[0] or query.get("search", [""])[0]
            if wanted:
                m = _FILTER.match(wanted)
                if not m:
                    raise LookupError(wanted)
                return [u for u in users if u["status"] == m.group(1)]
            return [u for u in users if u["status"] != "DEPROVISIONED"]
        if parts == ["groups"]:
            return [{k: v for k, v in g.items() if k != "members"} for g in groups]
        if len(parts) == 3 and parts[0] == "groups" and parts[2] == "users":
            group = next((g for g in groups if g["id"] == parts[1]), None)
            if group is None:
                raise LookupError(parts[1])
            by_id = {u["id"]: u for u in users}
            return [by_id[m] for m in group.get("members", []) if m in by_id]
        if parts == ["apps"]:
            return [{k: v for k, v in a.items() if k not in ("users", "groups")} for a in apps]
        if len(parts) == 3 and parts[0] == "apps" and parts[2] in ("users", "groups"):
            app = next((a for a in apps if a["id"] == parts[1]), None)
            if app is None:
                raise LookupError(parts[1])
            if parts[2] == "users":
                return [{"id": uid, "scope": "USER", "status": "ACTIVE", "credentials": {"userName": uid},
                         "profile": {}, "_links": {}} for uid in app.get("users", [])]
            return [{"id": gid, "priority": n, "profile": {}, "_links": {}} for n, gid in enumerate(app.get("groups", []))]
        raise LookupError(path)


def _cursor(item: dict[str, Any]) -> str:
    return str(item["id"])


def _error(status: int) -> dict[str, Any]:
    code, summary = ERRORS.get(status, ("E0000009", "Internal Server Error"))
    return {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oae-fake", "errorCauses": []}
