"""A fake Google REST server on loopback: Resource Manager v3, IAM v2 deny policies, IAM v1 pools, Cloud Identity,
Recommender v1 insights (google.iam.policy.Insight), and the Admin SDK Directory API (users, deleted users,
groups, members; paged by maxResults and nextPageToken).

It serves a declarative organisation (tests/fixtures/gcp/*.json) the way the real APIs answer
the real client libraries: paged lists with nextPageToken, `$alt=json;enum-encoding=int`
ignored, deny-policy attachment points double-encoded (`%252F`), policies downgraded when
version 3 is not requested, Google-style JSON errors, and a fault plan (`faults`): error
statuses with Retry-After and RetryInfo, resets, delays, malformed and truncated bodies.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
          500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


@dataclass
class Fault:
    """One planned misbehaviour: the ``nth`` (1-based) matching request, and ``times`` in all (None: ever after).

    ``action``: ``status`` (a Google JSON error with ``status``; ``retry_after`` adds a
    Retry-After header and a google.rpc.RetryInfo detail), ``reset`` (close the connection
    without a response), ``delay`` (sleep ``delay`` seconds, then answer normally),
    ``malformed`` (200 with the real body cut in half, Content-Length agreeing), ``truncate``
    (announce the whole real body, send half, close).
    """

    method: str
    path: str  # glob over the decoded path without query ("/v3/projects/*:getIamPolicy")
    action: str = "status"
    status: int = 500
    nth: int = 1
    times: int | None = 1
    retry_after: str | None = None
    delay: float = 0.0
    query: dict[str, str] = field(default_factory=dict)  # parameters the request must carry ({"parent": ...})
    seen: int = 0
    fired: int = 0

    def claims(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        if self.method not in ("*", method) or not fnmatch.fnmatchcase(path, self.path):
            return False
        if any(query.get(k, [None])[0] != v for k, v in self.query.items()):
            return False
        self.seen += 1
        if self.seen >= self.nth and (self.times is None or self.fired < self.times):
            self.fired += 1
            return True
        return False


class FaultPlan:
    """The faults the server injects; the first that claims a request wins."""

    ACTIONS = ("status", "reset", "delay", "malformed", "truncate")

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, method: str, path: str, action: str = "status", **kwargs: Any) -> Fault:
        if action not in self.ACTIONS:
            raise ValueError(f"unknown fault action {action!r}")
        fault = Fault(method, path, action, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def match(self, method: str, path: str, query: dict[str, list[str]]) -> Fault | None:
        with self._lock:
            return next((f for f in self._faults if f.claims(method, path, query)), None)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    @property
    def pending(self) -> list[Fault]:
        """Faults that have not fired as often as planned (never empty for ``times=None``)."""
        with self._lock:
            return [f for f in self._faults if f.times is None or f.fired < f.times]


@dataclass
class Request:
    method: str
    path: str  # decoded path, one level of encoding kept for deny attachment points
    raw_path: str
    query: dict[str, list[str]]
    body: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it arrived


class GoogleError(Exception):
    def __init__(self, status: int, message: str, *, retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP reset, no response at all."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    handler.connection.close()


def _decode(segment: str) -> str:
    """Fully decode a path segment (`%252F` -> `%2F` -> `/`)."""
    previous = None
    while previous != segment:
        previous, segment = segment, unquote(segment)
    return segment


class FakeGoogle:
    """Start with `start()`, point clients at `url`, stop with `stop()`."""

    def __init__(self, fixture: dict[str, Any], *, page_size: int = 2):
        self.fixture = fixture
        self.page_size = page_size
        self.requests: list[Request] = []
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        for failure in fixture.get("errors", []):
            self.fail(failure["method"], failure["path"], failure["status"], times=failure.get("times"))

    # -- control

    def start(self) -> "FakeGoogle":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-google", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, method: str, path: str, status: int, *, times: int | None = 1,
             retry_after: str | None = None) -> None:
        """Answer ``method path`` (decoded, no query) with ``status``, ``times`` times (None: always)."""
        self.faults.add(method, path, status=status, times=times, retry_after=retry_after)

    def seen(self, method: str, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # -- HTTP

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        segments = [_decode(s) for s in split.path.split("/")]
        path = "/".join(segments)
        query = {k: v for k, v in parse_qs(split.query).items() if k != "$alt"}
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw.strip() else {}
        request = Request(method, path, handler.path, query, body)
        with self._lock:
            self.requests.append(request)
        fault = self.faults.match(method, path, query)
        try:
            if fault is not None and fault.action == "reset":
                _reset(handler)
                return
            if fault is not None and fault.action == "delay":
                time.sleep(fault.delay)  # the client gave up meanwhile: what follows goes nowhere
            self._answer(handler, request, segments, fault)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request, segments: list[str],
                fault: Fault | None) -> None:
        headers: dict[str, str] = {}
        try:
            if fault is not None and fault.action == "status":
                if fault.retry_after:
                    headers["Retry-After"] = fault.retry_after
                raise GoogleError(fault.status, f"injected {fault.status} for {request.method} {request.path}",
                                  retry_after=fault.retry_after)
            status, payload = 200, self._route(request, segments)
        except GoogleError as exc:
            status = exc.status
            error: dict[str, Any] = {"code": exc.status, "message": exc.message,
                                     "status": STATUS.get(exc.status, "UNKNOWN")}
            if exc.retry_after:
                error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                     "retryDelay": f"{exc.retry_after}s"}]
            payload = {"error": error}
        data = json.dumps(payload).encode()
        announced = len(data)
        if fault is not None and fault.action in ("malformed", "truncate"):
            announced = len(data) // 2 if fault.action == "malformed" else len(data)
            data = data[: len(data) // 2]
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(announced))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()
        if fault is not None and fault.action == "truncate":
            handler.close_connection = True

    def _page(self, request: Request, items: list[Any], key: str) -> dict[str, Any]:
        size = int(request.query.get("pageSize", [self.page_size])[0]) or self.page_size
        size = min(size, self.page_size)
        start = int(request.query.get("pageToken", ["0"])[0] or 0)
        out: dict[str, Any] = {key: items[start:start + size]}
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    # -- routes

    def _route(self, request: Request, segments: list[str]) -> dict[str, Any]:
        parts = [s for s in segments if s]
        if not parts:
            raise GoogleError(404, "no such route")
        version, rest = parts[0], parts[1:]
        if parts[:3] == ["admin", "directory", "v1"]:
            return self._directory(request, parts[3:])
        if version == "v3":
            return self._resource_manager(request, rest)
        if version == "v2" and rest and rest[0] == "policies":
            return self._deny(request, rest[1:])
        if version == "v1" and rest and rest[0] in ("groups", "groups:lookup"):
            return self._cloud_identity(request, rest)
        if version == "v1" and len(rest) >= 6 and rest[0] == "projects" and rest[4] == "insightTypes":
            return self._insights(request, rest)
        if version == "v1" and rest and rest[0] == "projects":
            return self._pools(request, rest)
        raise GoogleError(404, f"no route for {request.method} {request.path}")

    def _organization(self) -> dict[str, Any]:
        return self.fixture["organization"]

    def _folders(self) -> list[dict[str, Any]]:
        return self.fixture.get("folders", [])

    def _projects(self) -> list[dict[str, Any]]:
        return self.fixture.get("projects", [])

    def _project(self, ident: str) -> dict[str, Any]:
        for project in self._projects():
            if ident in (project["projectId"], str(project["number"])):
                return project
        # Google answers 403 for a project that does not exist, to hide what exists
        raise GoogleError(403, f"The caller does not have permission to read projects/{ident}")

    def _project_json(self, project: dict[str, Any]) -> dict[str, Any]:
        return {"name": f"projects/{project['number']}", "projectId": project["projectId"],
                "parent": project["parent"], "displayName": project.get("displayName", project["projectId"]),
                "labels": project.get("labels", {}), "state": "ACTIVE"}

    def _resource_manager(self, request: Request, rest: list[str]) -> dict[str, Any]:
        last = rest[-1]
        if request.method == "POST" and last.endswith(":getIamPolicy"):
            collection = rest[0]
            ident = last.removesuffix(":getIamPolicy") if len(rest) == 2 else ""
            if collection == "projects":
                ident = self._project(ident)["projectId"]
            name = f"{collection}/{ident}"
            known = {self._organization()["name"]} | {f["name"] for f in self._folders()} | {
                f"projects/{p['projectId']}" for p in self._projects()}
            if name not in known:
                raise GoogleError(403, f"The caller does not have permission on {name}")
            requested = int((request.body.get("options") or {}).get("requestedPolicyVersion", 0) or 0)
            return _policy(self.fixture.get("policies", {}).get(name, {}), requested)
        if request.method != "GET":
            raise GoogleError(404, f"no route for {request.method} {request.path}")
        if rest == ["folders"]:
            parent = request.query.get("parent", [""])[0]
            folders = [f for f in self._folders() if f["parent"] == parent]
            return self._page(request, [{**f, "state": "ACTIVE"} for f in folders], "folders")
        if rest == ["projects"]:
            parent = request.query.get("parent", [""])[0]
            projects = [self._project_json(p) for p in self._projects() if p["parent"] == parent]
            return self._page(request, projects, "projects")
        if len(rest) == 2 and rest[0] == "organizations":
            if f"organizations/{rest[1]}" != self._organization()["name"]:
                raise GoogleError(403, f"The caller does not have permission on organizations/{rest[1]}")
            return {**self._organization(), "state": "ACTIVE"}
        if len(rest) == 2 and rest[0] == "folders":
            for folder in self._folders():
                if folder["name"] == f"folders/{rest[1]}":
                    return {**folder, "state": "ACTIVE"}
            raise GoogleError(403, f"The caller does not have permission on folders/{rest[1]}")
        if len(rest) == 2 and rest[0] == "projects":
            return self._project_json(self._project(rest[1]))
        raise GoogleError(404, f"no route for {request.method} {request.path}")

    def _deny(self, request: Request, rest: list[str]) -> dict[str, Any]:
        # rest: [attachment, "denypolicies"] or [attachment, "denypolicies", id]
        if len(rest) < 2 or rest[1] != "denypolicies" or request.method != "GET":
            raise GoogleError(404, f"no route for {request.method} {request.path}")
        attachment = rest[0]
        prefix = "cloudresourcemanager.googleapis.com/"
        if not attachment.startswith(prefix):
            raise GoogleError(400, f"unsupported attachment point {attachment}")
        resource = attachment[len(prefix):]
        if resource.startswith("projects/"):
            project = self._project(resource.split("/", 1)[1])
            resource, number = f"projects/{project['projectId']}", str(project["number"])
        else:
            number = resource.split("/", 1)[1]
        policies = self.fixture.get("denyPolicies", {}).get(resource, [])
        kind = resource.split("/", 1)[0]
        # Responses name the attachment point with the numeric id, URL-encoded.
        encoded = f"policies/cloudresourcemanager.googleapis.com%2F{kind}%2F{number}/denypolicies"

        def full(policy: dict[str, Any]) -> dict[str, Any]:
            return {"name": f"{encoded}/{policy['id']}", "kind": "DenyPolicy",
                    "displayName": policy.get("displayName", policy["id"]), "rules": policy.get("rules", [])}

        if len(rest) == 2:
            # the list call leaves the rules out
            return self._page(request, [{k: v for k, v in full(p).items() if k != "rules"} for p in policies],
                              "policies")
        for policy in policies:
            if policy["id"] == rest[2]:
                return full(policy)
        raise GoogleError(404, f"deny policy {rest[2]} not found")

    def _pools(self, request: Request, rest: list[str]) -> dict[str, Any]:
        # projects/N/locations/global/workloadIdentityPools/POOL[/providers]
        if len(rest) < 6 or rest[4] != "workloadIdentityPools":
            raise GoogleError(404, f"no route for {request.method} {request.path}")
        project = self._project(rest[1])
        name = f"projects/{project['number']}/locations/{rest[3]}/workloadIdentityPools/{rest[5]}"
        pool = self.fixture.get("workloadIdentityPools", {}).get(name)
        if pool is None:
            raise GoogleError(404, f"Requested entity was not found: {name}")
        if len(rest) == 6:
            return {"name": name, "state": "ACTIVE", **pool.get("pool", {})}
        if rest[6:] == ["providers"]:
            providers = [{"name": f"{name}/providers/{p['id']}", "state": "ACTIVE",
                          **{k: v for k, v in p.items() if k != "id"}} for p in pool.get("providers", [])]
            return self._page(request, providers, "workloadIdentityPoolProviders")
        raise GoogleError(404, f"no route for {request.method} {request.path}")

    def _insights(self, request: Request, rest: list[str]) -> dict[str, Any]:
        # projects/P/locations/L/insightTypes/T/insights: what recommender_v1's list_insights asks
        if request.method != "GET" or rest[6:] != ["insights"] or rest[2] != "locations":
            raise GoogleError(404, f"no route for {request.method} {request.path}")
        project = self._project(rest[1])
        if rest[5] != "google.iam.policy.Insight" or rest[3] != "global":
            raise GoogleError(400, f"insight type {rest[5]} in {rest[3]} is not served here")
        served = self.fixture.get("insights", {})
        if project["projectId"] not in served:
            raise GoogleError(403, f"Permission 'recommender.iamPolicyInsights.list' denied on projects/{rest[1]}")
        parent = f"projects/{project['number']}/locations/global/insightTypes/google.iam.policy.Insight"
        wanted = request.query.get("filter", [""])[0]
        if wanted and wanted not in ('stateInfo.state = "ACTIVE"', "stateInfo.state=ACTIVE"):
            raise GoogleError(400, f"unsupported filter {wanted!r}")
        items = [{"name": f"{parent}/insights/{i['id']}", "insightSubtype": "PERMISSIONS_USAGE", "category": "SECURITY",
                  "targetResources": [f"//cloudresourcemanager.googleapis.com/projects/{project['number']}"],
                  "stateInfo": {"state": i.get("state", "ACTIVE")}, "etag": f"\"{i['id']}\"",
                  **{k: v for k, v in i.items() if k not in ("id", "state")}}
                 for i in served[project["projectId"]]]
        if wanted:
            items = [i for i in items if i["stateInfo"]["state"] == "ACTIVE"]
        return self._page(request, items, "insights")

    def _directory(self, request: Request, rest: list[str]) -> dict[str, Any]:
        """admin/directory/v1/… as the Admin SDK answers: users (showDeleted=true lists only deleted
        ones), groups, and members (includeDerivedMembership expands nested groups)."""
        directory = self.fixture.get("directory", {})
        if request.method != "GET":
            raise GoogleError(404, f"no route for {request.method} {request.path}")
        if not (request.query.get("customer") or request.query.get("domain") or rest[-1:] == ["members"]):
            raise GoogleError(400, "Bad Request: customer or domain is required")
        if rest == ["users"]:
            deleted = request.query.get("showDeleted", ["false"])[0] == "true"
            users = directory.get("deleted" if deleted else "users", [])
            return _directory_page(request, [{"kind": "admin#directory#user", **u} for u in users], "users",
                                   self.page_size, "admin#directory#users")
        if rest == ["groups"]:
            groups = [{"kind": "admin#directory#group", **{k: v for k, v in g.items() if k != "members"}}
                      for g in directory.get("groups", [])]
            return _directory_page(request, groups, "groups", self.page_size, "admin#directory#groups")
        if len(rest) == 3 and rest[0] == "groups" and rest[2] == "members":
            by_key = {k: g for g in directory.get("groups", []) for k in (g["id"], g["email"])}
            group = by_key.get(rest[1])
            if group is None:
                raise GoogleError(404, "Resource Not Found: groupKey")
            derived = request.query.get("includeDerivedMembership", ["false"])[0] == "true"
            members: list[dict[str, Any]] = []
            todo, seen = [group], {group["id"]}
            while todo:
                for member in todo.pop().get("members", []):
                    members.append({"kind": "admin#directory#member", "status": "ACTIVE", "role": "MEMBER", **member})
                    nested = by_key.get(member.get("email", ""))
                    if derived and member.get("type") == "GROUP" and nested and nested["id"] not in seen:
                        seen.add(nested["id"])
                        todo.append(nested)
            return _directory_page(request, members, "members", self.page_size, "admin#directory#members")
        raise GoogleError(404, f"no route for {request.method} {request.path}")

    def _cloud_identity(self, request: Request, rest: list[str]) -> dict[str, Any]:
        groups = self.fixture.get("cloudIdentity", {}).get("groups", {})
        if rest == ["groups:lookup"]:
            email = request.query.get("groupKey.id", [""])[0]
            if email not in groups:
                raise GoogleError(403, f"Permission denied or group {email} does not exist")
            return {"name": f"groups/{groups[email]['id']}"}
        if len(rest) == 3 and rest[0] == "groups" and rest[2] == "memberships":
            for email, group in groups.items():
                if group["id"] == rest[1]:
                    memberships = [{"name": f"groups/{group['id']}/memberships/{i}",
                                    "preferredMemberKey": {"id": m["id"]}, "type": m.get("type", "USER")}
                                   for i, m in enumerate(group["members"])]
                    return self._page(request, memberships, "memberships")
            raise GoogleError(404, f"group {rest[1]} not found")
        raise GoogleError(404, f"no route for {request.method} {request.path}")


def _directory_page(request: Request, items: list[Any], key: str, page_size: int, kind: str) -> dict[str, Any]:
    size = min(int(request.query.get("maxResults", [page_size])[0]) or page_size, page_size)
    start = int(request.query.get("pageToken", ["0"])[0] or 0)
    out: dict[str, Any] = {"kind": kind, "etag": '"fake"', key: items[start:start + size]}
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    return out


def _policy(policy: dict[str, Any], requested: int) -> dict[str, Any]:
    bindings = policy.get("bindings", [])
    etag = hashlib.sha256(json.dumps(bindings, sort_keys=True).encode()).digest()[:8]
    conditional = any("condition" in b for b in bindings)
    if conditional and requested < 3:
        # What IAM does for a caller that did not ask for version 3: conditions vanish and the
        # role names are mangled, so conditional bindings cannot be read faithfully.
        bindings = [
            {"role": f"{b['role']}_withcond_{hashlib.sha1(json.dumps(b['condition']).encode()).hexdigest()[:20]}",
             "members": b["members"]} if "condition" in b else b
            for b in bindings
        ]
        version = 1
    else:
        version = 3 if conditional else 1
    return {"version": version, "bindings": bindings, "etag": base64.b64encode(etag).decode()}
