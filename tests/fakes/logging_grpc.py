"""A fake Cloud Logging (google.logging.v2.LoggingServiceV2) gRPC server on loopback: ListLogEntries.

The logging GAPIC client has no REST transport, so it talks gRPC to this server, as it does
to logging.googleapis.com. It serves Cloud Audit Logs entries from a declarative fixture
(``auditLogs``: project id → entries in the JSON form `gcloud logging read` prints, with an
``AuditLog`` protoPayload), filtered by the subset of the Logging query language the GCP
connector writes — ``logName="…"``, ``protoPayload.authorizationInfo.permission=("a" OR "b")``,
``protoPayload.authenticationInfo.principalEmail=("a" OR "b")``,
``timestamp>="…"`` and ``timestamp<"…"`` joined by AND; anything else is INVALID_ARGUMENT, as a
query the real service would read differently must not pass here. Pages with
``next_page_token``; faults as in iam_grpc (status codes with RetryInfo).
"""

from __future__ import annotations

import re
import threading
from concurrent import futures
from typing import Any

import grpc
from google.cloud.audit import audit_log_pb2  # noqa: F401 - registers AuditLog for the protoPayload Any
from google.cloud.logging_v2.types import ListLogEntriesRequest, ListLogEntriesResponse, LogEntry
from google.protobuf import json_format

from .iam_grpc import GrpcFault, _serializer

SERVICE = "google.logging.v2.LoggingServiceV2"
_CLAUSE = re.compile(
    r'^(?:(?P<log>logName)\s*=\s*"(?P<log_value>[^"]+)"'
    r'|(?P<perm>protoPayload\.authorizationInfo\.permission)\s*=\s*\((?P<perm_values>"[^"]+"(?:\s+OR\s+"[^"]+")*)\)'
    r'|(?P<who>protoPayload\.authenticationInfo\.principalEmail)\s*=\s*\((?P<who_values>"[^"]+"(?:\s+OR\s+"[^"]+")*)\)'
    r'|(?P<time>timestamp)\s*(?P<op>>=|<)\s*"(?P<time_value>[^"]+)")$')


def parse_filter(text: str) -> dict[str, Any]:
    """The connector's filter as {log, permissions, since, until}; ValueError for anything else."""
    out: dict[str, Any] = {"log": "", "permissions": None, "principals": None, "since": "", "until": ""}
    for clause in re.split(r"\s+AND\s+", text.strip()):
        m = _CLAUSE.match(clause.strip())
        if m is None:
            raise ValueError(f"unsupported filter clause: {clause!r}")
        if m.group("log"):
            out["log"] = m.group("log_value")
        elif m.group("perm"):
            out["permissions"] = set(re.findall(r'"([^"]+)"', m.group("perm_values")))
        elif m.group("who"):
            out["principals"] = set(re.findall(r'"([^"]+)"', m.group("who_values")))
        elif m.group("op") == ">=":
            out["since"] = m.group("time_value")
        else:
            out["until"] = m.group("time_value")
    return out


class FakeLogging:
    """Start with `start()`, point the client at `target` (host:port), stop with `stop()`."""

    def __init__(self, fixture: dict[str, Any], *, page_size: int = 2):
        self.entries: dict[str, list[dict[str, Any]]] = fixture.get("auditLogs", {})
        self.page_size = page_size
        self.requests: list[ListLogEntriesRequest] = []
        self.faults: list[GrpcFault] = []
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.port = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def fail(self, name: str, code: str, *, times: int | None = 1, nth: int = 1,
             retry_delay: float | None = None) -> GrpcFault:
        """Fail ListLogEntries on resource names matching ``name`` (a glob, e.g. "projects/acme-prod-web")."""
        grpc.StatusCode[code]
        fault = GrpcFault("ListLogEntries", name, code, times, nth, 0.0, retry_delay)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def start(self) -> "FakeLogging":
        handler = grpc.unary_unary_rpc_method_handler(
            self._list, request_deserializer=ListLogEntriesRequest.deserialize,
            response_serializer=_serializer(ListLogEntriesResponse.serialize))
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            SERVICE, {"ListLogEntries": handler}),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)

    def _list(self, request: ListLogEntriesRequest, context: grpc.ServicerContext) -> ListLogEntriesResponse:
        names = list(request.resource_names)
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self.faults for n in names if f.claims("ListLogEntries", n)), None)
        if fault is not None:
            _abort(context, fault, names)
        if len(names) != 1 or not names[0].startswith("projects/"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "one resource name, projects/PROJECT_ID, is served here")
        project = names[0].split("/", 1)[1]
        if project not in self.entries:
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          f"Permission 'logging.logEntries.list' denied on resource {names[0]}")
        try:
            query = parse_filter(request.filter)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if request.order_by not in ("", "timestamp asc", "timestamp desc"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"order_by {request.order_by!r}")
        found = [e for e in self.entries[project] if _matches(e, query)]
        found.sort(key=lambda e: (e["timestamp"], e["insertId"]), reverse=request.order_by == "timestamp desc")
        size = min(request.page_size or self.page_size, self.page_size)
        start = int(request.page_token or 0)
        page = found[start:start + size]
        token = str(start + size) if start + size < len(found) else ""
        return ListLogEntriesResponse(entries=[LogEntry.wrap(json_format.ParseDict(e, LogEntry.pb(LogEntry())))
                                               for e in page], next_page_token=token)


def _abort(context: grpc.ServicerContext, fault: GrpcFault, names: list[str]) -> None:
    from google.protobuf import any_pb2, duration_pb2
    from google.rpc import error_details_pb2, status_pb2
    from grpc_status import rpc_status

    code = grpc.StatusCode[fault.code]
    message = f"injected {code.name} for ListLogEntries {' '.join(names)}"
    if fault.retry_delay is None:
        context.abort(code, message)
    wait = duration_pb2.Duration()
    wait.FromNanoseconds(int(fault.retry_delay * 1e9))
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=wait))
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message,
                                                                     details=[detail])))


def _matches(entry: dict[str, Any], query: dict[str, Any]) -> bool:
    if query["log"] and entry.get("logName") != query["log"]:
        return False
    if query["since"] and _when(entry["timestamp"]) < _when(query["since"]):
        return False
    if query["until"] and not _when(entry["timestamp"]) < _when(query["until"]):
        return False
    if query["principals"] is not None:
        email = ((entry.get("protoPayload") or {}).get("authenticationInfo") or {}).get("principalEmail", "")
        if email not in query["principals"]:
            return False
    if query["permissions"] is not None:
        granted = {a.get("permission") for a in (entry.get("protoPayload") or {}).get("authorizationInfo", [])}
        if not granted & query["permissions"]:
            return False
    return True


def _when(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

