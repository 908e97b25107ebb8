"""A fake IAM Admin (google.iam.admin.v1.IAM) gRPC server on loopback: roles and service accounts.

iam_admin_v1 has no REST transport, so the real client talks gRPC to this server. It serves
predefined roles (tests/fixtures/gcp/predefined-roles.json.gz, MIT, see NOTICE.md), custom
roles, service accounts, their IAM policies and keys from a declarative fixture, with real
paging (BASIC view hides permissions, as IAM does) and a fault plan: status codes (with
google.rpc.RetryInfo for RESOURCE_EXHAUSTED), answers slower than the client's deadline, and
responses that do not decode.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import grpc
from google.cloud.iam_admin_v1 import types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from google.type import expr_pb2
from grpc_status import rpc_status

SERVICE = "google.iam.admin.v1.IAM"
ROLES_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "gcp" / "predefined-roles.json.gz"


# A length-delimited field that promises 127 bytes and ends: no client can decode it.
UNDECODABLE = b"\x0a\x7fcut"


@dataclass
class GrpcFault:
    """The ``nth`` matching call and ``times`` in all (None: ever after) fail as planned.

    ``code``: abort with that status (``retry_delay`` adds a google.rpc.RetryInfo);
    ``"DELAY"``: sleep ``delay`` seconds, then answer; ``"UNDECODABLE"``: answer bytes that
    are not the response message.
    """

    method: str
    name: str  # glob over the resource name
    code: str
    times: int | None = 1
    nth: int = 1
    delay: float = 0.0
    retry_delay: float | None = None
    seen: int = 0
    fired: int = 0

    def claims(self, method: str, name: str) -> bool:
        if self.method != method or not fnmatch.fnmatchcase(name, self.name):
            return False
        self.seen += 1
        if self.seen >= self.nth and (self.times is None or self.fired < self.times):
            self.fired += 1
            return True
        return False


def predefined_roles() -> dict[str, dict[str, Any]]:
    with gzip.open(ROLES_FILE, "rt", encoding="utf-8") as handle:
        return json.load(handle)["roles"]


class FakeIam:
    """Start with `start()`, point the client at `target` (host:port), stop with `stop()`."""

    def __init__(self, fixture: dict[str, Any], *, page_size: int = 2):
        self.fixture = fixture
        self.page_size = page_size
        self.predefined = predefined_roles()
        self.calls: list[tuple[str, str]] = []  # (method, resource name)
        self.arrived: list[float] = []  # when each of ``calls`` arrived (monotonic)
        self.faults: list[GrpcFault] = []  # the first that claims a call wins
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.port = 0
        for failure in fixture.get("grpcErrors", []):
            self.fail(failure["method"], failure["name"], failure["code"], times=failure.get("times"))

    def fail(self, method: str, name: str, code: str, *, times: int | None = 1, nth: int = 1,
             delay: float = 0.0, retry_delay: float | None = None) -> GrpcFault:
        """Fail ``method`` on ``name`` (a glob): a status code name, "DELAY" or "UNDECODABLE"."""
        if code not in ("DELAY", "UNDECODABLE"):
            grpc.StatusCode[code]  # an unknown name fails here, not in the server thread
        fault = GrpcFault(method, name, code, times, nth, delay, retry_delay)
        with self._lock:
            self.faults.append(fault)
        return fault

    def seen(self, method: str, name: str) -> list[float]:
        """When each ``method`` call on ``name`` arrived."""
        with self._lock:
            return [t for (m, n), t in zip(self.calls, self.arrived) if (m, n) == (method, name)]

    @property
    def pending(self) -> list[GrpcFault]:
        with self._lock:
            return [f for f in self.faults if f.times is None or f.fired < f.times]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "FakeIam":
        handlers = {
            "GetRole": self._unary(self.get_role, types.GetRoleRequest, types.Role),
            "ListRoles": self._unary(self.list_roles, types.ListRolesRequest, types.ListRolesResponse),
            "ListServiceAccounts": self._unary(self.list_service_accounts, types.ListServiceAccountsRequest,
                                               types.ListServiceAccountsResponse),
            "ListServiceAccountKeys": self._unary(self.list_keys, types.ListServiceAccountKeysRequest,
                                                  types.ListServiceAccountKeysResponse),
            "GetIamPolicy": grpc.unary_unary_rpc_method_handler(
                self._guard("GetIamPolicy", lambda r: r.resource, self.get_iam_policy),
                request_deserializer=iam_policy_pb2.GetIamPolicyRequest.FromString,
                response_serializer=_serializer(policy_pb2.Policy.SerializeToString)),
        }
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)

    # -- plumbing

    def _unary(self, fn: Callable[[Any, Any], Any], request: Any, response: Any) -> grpc.RpcMethodHandler:
        method = {self.get_role: "GetRole", self.list_roles: "ListRoles",
                  self.list_service_accounts: "ListServiceAccounts", self.list_keys: "ListServiceAccountKeys"}[fn]

        def name_of(req: Any) -> str:
            return getattr(req, "name", "") or getattr(req, "parent", "")

        return grpc.unary_unary_rpc_method_handler(
            self._guard(method, name_of, fn),
            request_deserializer=request.deserialize, response_serializer=_serializer(response.serialize))

    def _guard(self, method: str, name_of: Callable[[Any], str], fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            name = name_of(request)
            with self._lock:
                self.calls.append((method, name))
                self.arrived.append(time.monotonic())
                fault = next((f for f in self.faults if f.claims(method, name)), None)
            if fault is None:
                return fn(request, context)
            if fault.code == "DELAY":
                time.sleep(fault.delay)  # the client's deadline passes meanwhile
                return fn(request, context)
            if fault.code == "UNDECODABLE":
                return UNDECODABLE
            code = grpc.StatusCode[fault.code]
            message = f"injected {code.name} for {method} {name}"
            if fault.retry_delay is None:
                context.abort(code, message)
            wait = duration_pb2.Duration()
            wait.FromNanoseconds(int(fault.retry_delay * 1e9))
            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.RetryInfo(retry_delay=wait))
            context.abort_with_status(rpc_status.to_status(
                status_pb2.Status(code=code.value[0], message=message, details=[detail])))

        return handle

    def _page(self, items: list[Any], size: int, token: str) -> tuple[list[Any], str]:
        size = min(size or self.page_size, self.page_size)
        start = int(token or 0)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else "")

    def _role(self, name: str, data: dict[str, Any], full: bool = True) -> types.Role:
        return types.Role(name=name, title=data.get("title", ""), description=data.get("description", ""),
                          included_permissions=data.get("includedPermissions", []) if full else [],
                          deleted=bool(data.get("deleted", False)))

    def _custom(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for roles in self.fixture.get("customRoles", {}).values() for r in roles}

    # -- roles

    def get_role(self, request: types.GetRoleRequest, context: grpc.ServicerContext) -> types.Role:
        if request.name in self.predefined:
            return self._role(request.name, self.predefined[request.name])
        custom = self._custom()
        if request.name in custom:
            return self._role(request.name, custom[request.name])
        context.abort(grpc.StatusCode.NOT_FOUND, f"The role named {request.name} was not found.")

    def list_roles(self, request: types.ListRolesRequest, context: grpc.ServicerContext) -> types.ListRolesResponse:
        full = request.view == types.RoleView.FULL  # BASIC, the default, leaves permissions out
        if not request.parent:
            items = [self._role(n, d, full) for n, d in sorted(self.predefined.items())]
        else:
            roles = self.fixture.get("customRoles", {}).get(request.parent, [])
            items = [self._role(r["name"], r, full) for r in roles if request.show_deleted or not r.get("deleted")]
        page, token = self._page(items, request.page_size, request.page_token)
        return types.ListRolesResponse(roles=page, next_page_token=token)

    # -- service accounts

    def _accounts(self, project: str) -> list[dict[str, Any]]:
        return self.fixture.get("serviceAccounts", {}).get(project, [])

    def _account(self, resource: str, context: grpc.ServicerContext) -> dict[str, Any]:
        # projects/P/serviceAccounts/EMAIL
        parts = resource.split("/")
        if len(parts) == 4 and parts[0] == "projects" and parts[2] == "serviceAccounts":
            for account in self._accounts(parts[1]):
                if account["email"] == parts[3]:
                    return account
        context.abort(grpc.StatusCode.NOT_FOUND, f"Service account {resource} does not exist.")
        raise AssertionError("unreachable")

    def list_service_accounts(self, request: types.ListServiceAccountsRequest,
                              context: grpc.ServicerContext) -> types.ListServiceAccountsResponse:
        project = request.name.removeprefix("projects/")
        if project not in {p["projectId"] for p in self.fixture.get("projects", [])}:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"Permission denied on {request.name}")
        items = [types.ServiceAccount(
            name=f"projects/{project}/serviceAccounts/{a['email']}", project_id=project,
            unique_id=a.get("uniqueId", ""), email=a["email"], display_name=a.get("displayName", ""),
            disabled=bool(a.get("disabled", False))) for a in self._accounts(project)]
        page, token = self._page(items, request.page_size, request.page_token)
        return types.ListServiceAccountsResponse(accounts=page, next_page_token=token)

    def get_iam_policy(self, request: iam_policy_pb2.GetIamPolicyRequest,
                       context: grpc.ServicerContext) -> policy_pb2.Policy:
        account = self._account(request.resource, context)
        requested = request.options.requested_policy_version
        policy = policy_pb2.Policy(version=3 if requested >= 3 else 1, etag=b"\x07\x05")
        for binding in account.get("policy", {}).get("bindings", []):
            entry = policy.bindings.add(role=binding["role"], members=binding["members"])
            if "condition" in binding:
                if requested < 3:
                    entry.role = binding["role"] + "_withcond_0"
                else:
                    entry.condition.CopyFrom(expr_pb2.Expr(expression=binding["condition"]["expression"],
                                                           title=binding["condition"].get("title", "")))
        return policy

    def list_keys(self, request: types.ListServiceAccountKeysRequest,
                  context: grpc.ServicerContext) -> types.ListServiceAccountKeysResponse:
        account = self._account(request.name, context)
        wanted = {types.ListServiceAccountKeysRequest.KeyType(k).name for k in request.key_types}
        keys = []
        for index, key in enumerate(account.get("keys", [])):
            kind = key.get("keyType", "USER_MANAGED")
            if wanted and kind not in wanted:
                continue
            keys.append(types.ServiceAccountKey(
                name=f"{request.name}/keys/{index:040x}",
                key_type=types.ListServiceAccountKeysRequest.KeyType[kind],
                disabled=bool(key.get("disabled", False))))
        return types.ListServiceAccountKeysResponse(keys=keys)


def _serializer(serialize: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """The message's serializer, letting planned undecodable bytes through as they are."""
    return lambda message: message if isinstance(message, bytes) else serialize(message)
