"""A fake Microsoft Graph (v1.0) on loopback: users (with $select and $expand=manager), deleted
users, groups and their transitive user members.

It answers the way Graph does: collections as {"@odata.context", "value", "@odata.nextLink"}
with an absolute next link carrying $skiptoken, $top capped by the page size, errors as
{"error": {"code", "message", "innerError"}}, and 429 with Retry-After. Payload keys are
Graph's metadata names; tests check them against the msgraph-sdk models generated from it.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CODES = {403: "Authorization_RequestDenied", 404: "Request_ResourceNotFound", 429: "TooManyRequests",
         503: "serviceNotAvailable"}


@dataclass
class Fault:
    path: str  # regex over the path
    status: int
    times: int | None = 1
    retry_after: str = ""
    fired: int = 0


@dataclass
class FakeGraph:
    fixture: dict[str, Any]
    page_size: int = 2
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "FakeGraph":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-graph", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1.0"

    def fail(self, path: str, status: int, *, times: int | None = 1, retry_after: str = "") -> None:
        self.faults.append(Fault(path, status, times, retry_after))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        query = parse_qs(split.query)
        path = split.path.removeprefix("/v1.0")
        with self._lock:
            self.requests.append((path, query))
            fault = next((f for f in self.faults if re.fullmatch(f.path, path)
                          and (f.times is None or f.fired < f.times)), None)
            if fault is not None:
                fault.fired += 1
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._send(handler, fault.status, _error(fault.status), headers)
        try:
            items, context = self._route(path, query)
        except LookupError:
            return self._send(handler, 404, _error(404))
        top = min(int(query.get("$top", [self.page_size])[0]), self.page_size)
        start = int(query.get("$skiptoken", ["0"])[0])
        body: dict[str, Any] = {"@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{context}",
                                "value": items[start:start + top]}
        if start + top < len(items):
            keep = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = f"{self.url}{path}?{urlencode({**keep, '$skiptoken': start + top})}"
        self._send(handler, 200, body)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] = {}) -> None:  # noqa: B006
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], str]:
        users = {u["id"]: u for u in self.fixture.get("users", [])}
        select = [s for s in query.get("$select", [""])[0].split(",") if s]
        if path == "/users":
            out = []
            for user in users.values():
                item = _selected(user, select)
                if "manager" in query.get("$expand", [""])[0] and user.get("manager") in users:
                    item["manager"] = {"@odata.type": "#microsoft.graph.user",
                                       **_selected(users[user["manager"]], ["id", "mail", "userPrincipalName"])}
                out.append(item)
            return out, "users"
        # Graph documents the cast as microsoft.graph.user; msgraph-sdk sends the short graph.user
        if re.fullmatch(r"/directory/deletedItems/(microsoft\.)?graph\.user", path):
            return [_selected(u, select) for u in self.fixture.get("deleted", [])], "directory/deletedItems/microsoft.graph.user"
        if path == "/groups":
            return [_selected({k: v for k, v in g.items() if k != "members"}, select)
                    for g in self.fixture.get("groups", [])], "groups"
        m = re.fullmatch(r"/groups/([^/]+)/transitiveMembers/(microsoft\.)?graph\.user", path)
        if m:
            group = next((g for g in self.fixture.get("groups", []) if g["id"] == m.group(1)), None)
            if group is None:
                raise LookupError(path)
            return [_selected(users[u], select) for u in self._transitive(group) if u in users], "users"
        raise LookupError(path)

    def _transitive(self, group: dict[str, Any], seen: set[str] | None = None) -> list[str]:
        seen = seen if seen is not None else {group["id"]}
        groups = {g["id"]: g for g in self.fixture.get("groups", [])}
        out: list[str] = []
        for member in group.get("members", []):
            if member in groups and member not in seen:
                seen.add(member)
                out += self._transitive(groups[member], seen)
            elif member not in groups and member not in out:
                out.append(member)
        return out


def _selected(item: dict[str, Any], select: list[str]) -> dict[str, Any]:
    item = {k: v for k, v in item.items() if k != "manager"}
    return {k: item.get(k) for k in select} if select else item


def _error(status: int) -> dict[str, Any]:
    code = CODES.get(status, "generalException")
    return {"error": {"code": code, "message": f"fake Graph says {status}",
                      "innerError": {"date": "2026-11-02T08:00:00", "request-id": "00000000-fake",
                                     "client-request-id": "00000000-fake"}}}
