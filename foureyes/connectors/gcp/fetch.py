"""Reads a GCP organisation's IAM state into an `Inventory`: the I/O half of the GCP connector.

Resource Manager v3 and IAM v2 (deny) over REST, iam_admin_v1 (roles, service accounts)
over gRPC, workload identity pools and Cloud Identity over google-auth's AuthorizedSession.
Every call is retried by google-api-core within [sources.gcp] retry_deadline, paced by the
server when it says how long to wait; whatever cannot be read becomes a Gap with the cause.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import quote

import requests
from google.api_core import exceptions as core_exceptions
from google.api_core import retry as core_retry
from google.protobuf import json_format
from google.rpc import error_details_pb2

from ...config import GcpSource
from ...errors import SourceError
from ...model import Gap
from ..base import Progress, ProgressEvent, clock, unreachable
from .iam import DenyRule, Pool, Provider, parse_condition, parse_member
from .inventory import Binding, Inventory, Node, Role, ServiceAccount

T = TypeVar("T")
SCOPES = [
    "https://www.googleapis.com/auth/cloud-platform.read-only",
    "https://www.googleapis.com/auth/cloud-identity.groups.readonly",
]
IAM_REST = "https://iam.googleapis.com"
CLOUD_IDENTITY_REST = "https://cloudidentity.googleapis.com"
# Truncated exponential backoff for transient errors, within [sources.gcp] retry_deadline.
RETRY_INITIAL_S = 0.25
RETRY_MAXIMUM_S = 8.0
_REQUEST_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")


# ---------------------------------------------------------------- clients


def credentials_for(section: GcpSource) -> Any:
    """Anonymous (local test endpoints), a key file, or Application Default Credentials."""
    import google.auth
    from google.auth import exceptions as auth_exceptions
    from google.auth.credentials import AnonymousCredentials

    if section.anonymous:
        return AnonymousCredentials()
    try:
        if section.credentials_file:
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_file(section.credentials_file, scopes=SCOPES)
        credentials, _ = google.auth.default(scopes=SCOPES)
    except FileNotFoundError:
        raise SourceError(f"[sources.gcp] credentials_file {section.credentials_file!r} does not exist") from None
    except (ValueError, KeyError):
        # the parser's message could quote the key material: say only what is wrong
        raise SourceError(f"[sources.gcp] credentials_file {section.credentials_file!r} is not a "
                          "service-account key file") from None
    except auth_exceptions.DefaultCredentialsError as exc:
        # the message names files and variables, never secrets
        first = str(exc).splitlines()[0] if str(exc) else "no credentials found"
        raise SourceError(f"GCP credentials: {first} (run `gcloud auth application-default login`, "
                          "or set [sources.gcp] credentials_file)") from None
    return credentials


class Clients:
    """The Google clients one collection uses, built once."""

    def __init__(self, section: GcpSource, credentials: Any):
        from google.api_core.client_options import ClientOptions
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import iam_admin_v1, iam_v2, resourcemanager_v3

        options = ClientOptions(api_endpoint=section.api_endpoint) if section.api_endpoint else None
        rest = {"transport": "rest", "credentials": credentials, "client_options": options}
        self.organizations = resourcemanager_v3.OrganizationsClient(**rest)
        self.folders = resourcemanager_v3.FoldersClient(**rest)
        self.projects = resourcemanager_v3.ProjectsClient(**rest)
        self.deny = iam_v2.PoliciesClient(**rest)
        # iam_admin_v1 has no REST transport: roles and service accounts travel over gRPC
        if section.iam_admin_endpoint and section.anonymous:
            import grpc
            from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport

            channel = grpc.insecure_channel(section.iam_admin_endpoint)
            self.iam = iam_admin_v1.IAMClient(transport=IAMGrpcTransport(channel=channel))
        elif section.iam_admin_endpoint:
            self.iam = iam_admin_v1.IAMClient(
                credentials=credentials, client_options=ClientOptions(api_endpoint=section.iam_admin_endpoint))
        else:
            self.iam = iam_admin_v1.IAMClient(credentials=credentials)
        self.session = AuthorizedSession(credentials)
        base = section.api_endpoint.rstrip("/") if section.api_endpoint else ""
        self.iam_rest = base or IAM_REST
        self.cloud_identity_rest = base or CLOUD_IDENTITY_REST

    def close(self) -> None:
        self.session.close()
        for client in (self.organizations, self.folders, self.projects, self.deny, self.iam):
            client.transport.close()


# ---------------------------------------------------------------- the fetcher


# A malformed or cut-off body (a proxy's error page, a dropped connection) is worth another try.
_MALFORMED = (json_format.ParseError, requests.exceptions.JSONDecodeError)
_TIMED_OUT = (requests.exceptions.Timeout, core_exceptions.DeadlineExceeded, core_exceptions.GatewayTimeout)


def _transient(exc: Exception) -> bool:
    return core_retry.if_transient_error(exc) or isinstance(
        exc, (core_exceptions.BadGateway, *_TIMED_OUT, *_MALFORMED))


def server_delay(exc: BaseException) -> float | None:
    """Seconds a throttled or unavailable service asks to wait: google.rpc.RetryInfo, or Retry-After."""
    if not isinstance(exc, core_exceptions.GoogleAPICallError):
        return None
    for detail in exc.details or ():
        if isinstance(detail, error_details_pb2.RetryInfo):  # gRPC
            return detail.retry_delay.ToTimedelta().total_seconds()
        if isinstance(detail, dict) and detail.get("@type", "").endswith("/google.rpc.RetryInfo"):  # REST
            try:
                return float(str(detail.get("retryDelay", "")).removesuffix("s"))
            except ValueError:
                pass
    headers = getattr(exc.response, "headers", None)
    value = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class GaveUp(Exception):
    """A call still failing when [sources.gcp] retry_deadline ran out, or would have before the server's wait."""

    def __init__(self, cause: BaseException, attempts: int, elapsed: float, deadline: float):
        super().__init__(str(cause))
        self.cause = cause
        self.attempts = attempts
        self.elapsed = elapsed
        self.deadline = deadline

    def describe(self) -> str:
        asked = server_delay(self.cause)
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if asked is not None and asked >= self.deadline:  # no wait within the deadline could have helped
            why = (f"gave up after {tries}: the service asks to wait {asked:g} s, beyond [sources.gcp] "
                   f"retry_deadline ({self.deadline:g} s)")
        else:
            why = f"gave up after {tries} in {self.elapsed:.1f} s ([sources.gcp] retry_deadline {self.deadline:g} s)"
        return f"{why}: {describe_error(self.cause)}"


class PacedRetry:
    """google-api-core's retry for every call and every page, paced by the server when it asks.

    Truncated exponential backoff on transient errors for at most ``deadline`` seconds; a
    RetryInfo or Retry-After sets the next wait, and one beyond the deadline ends the call at
    once. ``on_attempt(retry)`` is told of every request sent, ``on_error`` of every retried error.
    """

    def __init__(self, deadline: float, on_attempt: Callable[[bool], None],
                 on_error: Callable[[Exception], Any] | None = None):
        self.deadline = deadline
        self.on_attempt = on_attempt
        self.on_error = on_error

    def __call__(self, func: Callable[..., T], on_error: Callable[[Exception], Any] | None = None) -> Callable[..., T]:
        on_error = self.on_error or on_error

        @functools.wraps(func)
        def retried(*args: Any, **kwargs: Any) -> T:
            asked: list[float] = []
            attempts = 0
            started = time.monotonic()

            def attempt() -> T:
                nonlocal attempts
                self.on_attempt(attempts > 0)
                attempts += 1
                return func(*args, **kwargs)

            def noted(exc: Exception) -> None:
                delay = server_delay(exc)
                if delay is not None:
                    asked.append(delay)
                if on_error is not None:
                    on_error(exc)

            def sleeps() -> Iterable[float]:
                # api-core draws the next sleep after on_error: a server's wait replaces the backoff
                for backoff in core_retry.exponential_sleep_generator(RETRY_INITIAL_S, RETRY_MAXIMUM_S, 2.0):
                    yield max(backoff, asked.pop()) if asked else backoff

            try:
                return core_retry.retry_target(attempt, _transient, sleeps(), timeout=self.deadline, on_error=noted)
            except core_exceptions.RetryError as exc:
                raise GaveUp(exc.cause or exc, attempts, time.monotonic() - started, self.deadline) from None

        return retried


def describe_error(exc: BaseException) -> str:
    """One line for a Gap: status and the server's message (never request headers)."""
    if isinstance(exc, GaveUp):
        return exc.describe()
    if isinstance(exc, core_exceptions.GoogleAPICallError):
        message = (exc.message or "").splitlines()[0] if exc.message else ""
        # REST errors start with "METHOD URL: "; the URL adds nothing a reviewer needs
        message = _REQUEST_PREFIX.sub("", message)
        grpc_code = getattr(exc, "grpc_status_code", None)
        phrase = grpc_code.name if grpc_code is not None else _http_phrase(exc.code)
        status = " ".join(str(p) for p in (exc.code, phrase) if p)
        return f"{status}: {message[:200]}" if message else status
    text = str(exc).splitlines()[0] if str(exc) else ""
    what = f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
    if isinstance(exc, _MALFORMED):
        return f"malformed response ({what})"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer in time ({what})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"connection failed ({what})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return unreachable(exc) or f"connection failed ({what})"
    return what


class Fetcher:
    """Reads everything the GCP connector translates; failures become Gaps in the inventory."""

    def __init__(self, section: GcpSource, clients: Clients, progress: Progress, name: str = "gcp"):
        self.section = section
        self.clients = clients
        self.progress = progress
        self.name = name
        self.inventory = Inventory()
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.pages = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = clock()
        self.timeout = section.timeout
        # passed to every GAPIC call, which hands it on to the pager for each further page
        self.retry = PacedRetry(section.retry_deadline, self._on_attempt, self._on_transient)
        self.throttled = 0

    # -- plumbing

    def _on_attempt(self, retry: bool) -> None:
        with self._lock:
            self.requests += 1
            self.retries += retry

    def _on_transient(self, exc: Exception) -> None:
        if not isinstance(exc, core_exceptions.TooManyRequests):
            return
        with self._lock:
            self.throttled += 1
            first = self.throttled == 1
        if first:  # once a run: every throttled call says the same
            self.progress(ProgressEvent(self.name, f"rate limited ({describe_error(exc)}): retrying each call for "
                                        f"up to {self.section.retry_deadline:g} s", level="warning"))

    def _counted(self, fn: Callable[[], T]) -> T:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return fn()
        finally:
            with self._lock:
                self.in_flight -= 1

    def _pages(self, pager: Any) -> Iterable[Any]:
        """Pages of a GAPIC pager; each page's request is retried and counted by ``self.retry``."""
        for page in pager.pages:
            with self._lock:
                self.pages += 1
            yield page

    def gap(self, resource: str, reason: str, hides: str) -> None:
        with self._lock:
            self.inventory.gaps.append(Gap("gcp", resource, reason, hides))

    def _rest_get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            response = self.clients.session.get(url, params=params, timeout=self.timeout)
            if response.status_code >= 400:
                raise core_exceptions.from_http_response(response)
            return response.json()

        return self._counted(lambda: self.retry(call)())

    def _rest_pages(self, url: str, items: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params = dict(params or {})
        while True:
            page = self._rest_get(url, params)
            with self._lock:
                self.pages += 1
            found.extend(page.get(items, []))
            token = page.get("nextPageToken")
            if not token:
                return found
            params["pageToken"] = token

    def _parallel(self, fn: Callable[[Any], None], items: list[Any]) -> None:
        if not items:
            return
        with ThreadPoolExecutor(max_workers=max(1, min(self.section.concurrency, len(items))),
                                thread_name_prefix="gcp") as pool:
            list(pool.map(fn, items))

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "pages": self.pages,
            "rate_limit_points": None,  # quotas are per minute and not reported per call; throttling is retried
            "throttled": self.throttled,
            "max_in_flight": self.max_in_flight,
            "elapsed_s": round(clock() - self.started, 3),
        }

    # -- the whole read

    def fetch(self) -> Inventory:
        self.progress(ProgressEvent(self.name, "reading the resource hierarchy"))
        self.read_hierarchy()
        nodes = list(self.inventory.nodes.values())
        self.progress(ProgressEvent(self.name, f"reading allow and deny policies of {len(nodes)} resources"))
        self._parallel(self.read_policies, nodes)
        projects = [n for n in nodes if n.kind == "project" and n.audited]
        self.progress(ProgressEvent(self.name, f"reading service accounts of {len(projects)} projects"))
        self._parallel(self.read_service_accounts, projects)
        self.read_roles()
        self.read_pools()
        self.read_groups()
        return self.inventory

    # -- hierarchy

    def read_hierarchy(self) -> None:
        section = self.section
        org = _normalise(section.organization, "organizations")
        folders = [_normalise(f, "folders") for f in section.folders]
        projects = list(section.projects)
        if not (org or folders or projects):
            raise SourceError("[sources.gcp] needs organization, folders or projects")
        if projects or folders:
            for project_id in projects:
                self._read_project(project_id)
            for folder in folders:
                # even when the folder itself cannot be read, its children may be listable
                self._read_container(folder, audited=True)
                self._walk(folder)
        else:
            self._read_container(org, audited=True)
            self._walk(org)
        self._read_ancestors()

    def _read_container(self, name: str, *, audited: bool) -> bool:
        """Reads an organisation or folder into a node; False (and a Gap) when unreadable."""
        kind = "org" if name.startswith("organizations/") else "folder"
        node_id = name.split("/", 1)[1]
        try:
            if kind == "org":
                found = self._counted(lambda: self.clients.organizations.get_organization(
                    name=name, retry=self.retry, timeout=self.timeout))
                node = Node("org", name, node_id, display=found.display_name or name)
            else:
                found = self._counted(lambda: self.clients.folders.get_folder(
                    name=name, retry=self.retry, timeout=self.timeout))
                node = Node("folder", name, node_id, display=found.display_name or name, parent=found.parent)
        except Exception as exc:  # noqa: BLE001 - every failure is a Gap, never a crash
            node = Node(kind, name, node_id, display=name)
            self.gap(node.key, f"cannot read {name}: {describe_error(exc)}",
                     "its parent, so bindings inherited from above it")
            node.audited = audited
            self.inventory.nodes.setdefault(name, node)
            return False
        node.audited = audited
        self.inventory.nodes.setdefault(name, node)
        return True

    def _walk(self, root: str) -> None:
        """Folders (recursively) and projects below an organisation or folder, a level at a time."""
        level = [root]
        while level:
            found: list[str] = []

            def children(parent: str) -> None:
                parent_key = self.inventory.nodes[parent].key
                try:
                    pager = self._counted(lambda: self.clients.folders.list_folders(
                        parent=parent, retry=self.retry, timeout=self.timeout))
                    folders = [f for page in self._pages(pager) for f in page.folders]
                except Exception as exc:  # noqa: BLE001
                    folders = []
                    self.gap(parent_key, f"cannot list folders under {parent}: {describe_error(exc)}",
                             f"folders and projects below {parent}, and everyone's access to them")
                try:
                    pager = self._counted(lambda: self.clients.projects.list_projects(
                        parent=parent, retry=self.retry, timeout=self.timeout))
                    projects = [p for page in self._pages(pager) for p in page.projects]
                except Exception as exc:  # noqa: BLE001
                    projects = []
                    self.gap(parent_key, f"cannot list projects under {parent}: {describe_error(exc)}",
                             f"projects directly under {parent}, and everyone's access to them")
                with self._lock:
                    for folder in folders:
                        if folder.name not in self.inventory.nodes:
                            self.inventory.nodes[folder.name] = Node(
                                "folder", folder.name, folder.name.split("/", 1)[1],
                                display=folder.display_name or folder.name, parent=parent)
                            found.append(folder.name)
                    for project in projects:
                        self._add_project(project, audited=True)

            self._parallel(children, level)
            level = sorted(found)

    def _read_project(self, project_id: str) -> None:
        name = f"projects/{project_id}"
        try:
            project = self._counted(lambda: self.clients.projects.get_project(
                name=name, retry=self.retry, timeout=self.timeout))
        except Exception as exc:  # noqa: BLE001
            node = Node("project", name, project_id, display=project_id)
            self.inventory.nodes.setdefault(name, node)
            self.gap(node.key, f"cannot read {name}: {describe_error(exc)}",
                     "its folder and organisation, so bindings inherited from them")
            return
        self._add_project(project, audited=True)

    def _add_project(self, project: Any, *, audited: bool) -> None:
        name = f"projects/{project.project_id}"
        if name in self.inventory.nodes:
            return
        self.inventory.nodes[name] = Node(
            "project", name, project.project_id, display=project.display_name or project.project_id,
            parent=project.parent, number=project.name.split("/", 1)[1], labels=dict(project.labels),
            audited=audited)

    def _read_ancestors(self) -> None:
        """Folders and the organisation above the audited nodes, for inherited bindings."""
        pending = [n.parent for n in list(self.inventory.nodes.values()) if n.parent]
        while pending:
            name = pending.pop()
            if not name or name in self.inventory.nodes:
                continue
            if self._read_container(name, audited=False):
                parent = self.inventory.nodes[name].parent
                if parent:
                    pending.append(parent)

    # -- allow and deny policies

    def read_policies(self, node: Node) -> None:
        client = {"org": self.clients.organizations, "folder": self.clients.folders,
                  "project": self.clients.projects}[node.kind]
        try:
            policy = self._counted(lambda: client.get_iam_policy(
                request={"resource": node.name, "options": {"requested_policy_version": 3}},
                retry=self.retry, timeout=self.timeout))
            node.bindings = [_binding(b) for b in policy.bindings]
        except Exception as exc:  # noqa: BLE001
            self.gap(node.key, f"cannot read the allow policy of {node.name}: {describe_error(exc)}",
                     f"every role bound on {node.name} (and inherited below it)")
        self.read_deny(node)

    def read_deny(self, node: Node) -> None:
        # The attachment point is a URL-encoded full resource name inside the path.
        attachment = quote(f"cloudresourcemanager.googleapis.com/{node.name}", safe="")
        parent = f"policies/{attachment}/denypolicies"
        try:
            pager = self._counted(lambda: self.clients.deny.list_policies(
                parent=parent, retry=self.retry, timeout=self.timeout))
            names = [p.name for page in self._pages(pager) for p in page.policies]
            rules = []
            for name in names:
                # list_policies leaves the rules out: each policy is read in full
                policy = self._counted(lambda: self.clients.deny.get_policy(
                    name=name, retry=self.retry, timeout=self.timeout))
                for rule in policy.rules:
                    deny = rule.deny_rule
                    rules.append(DenyRule(
                        policy=policy.display_name or policy.name, attached_to=node.name,
                        denied_principals=tuple(deny.denied_principals),
                        exception_principals=tuple(deny.exception_principals),
                        denied_permissions=tuple(deny.denied_permissions),
                        exception_permissions=tuple(deny.exception_permissions),
                        condition=deny.denial_condition.expression if deny.denial_condition else "",
                    ))
            node.deny = rules
        except Exception as exc:  # noqa: BLE001
            self.gap(node.key, f"cannot read the deny policies of {node.name}: {describe_error(exc)}",
                     f"permissions denied on {node.name}: rights below it may be overstated")

    # -- service accounts

    def read_service_accounts(self, node: Node) -> None:
        from google.cloud.iam_admin_v1 import types as iam_types

        try:
            pager = self._counted(lambda: self.clients.iam.list_service_accounts(
                name=node.name, retry=self.retry, timeout=self.timeout))
            accounts = [a for page in self._pages(pager) for a in page.accounts]
        except Exception as exc:  # noqa: BLE001
            self.inventory.project_service_accounts[node.id] = None
            self.gap(node.key, f"cannot list the service accounts of {node.name}: {describe_error(exc)}",
                     "who can act as or impersonate them, and deploys that need actAs")
            return
        emails = []
        for account in accounts:
            sa = ServiceAccount(account.email, node.id, display=account.display_name,
                                unique_id=account.unique_id, disabled=account.disabled)
            resource = f"{node.name}/serviceAccounts/{account.email}"
            try:
                policy = self._counted(lambda: self.clients.iam.get_iam_policy(
                    request={"resource": resource, "options": {"requested_policy_version": 3}},
                    retry=self.retry, timeout=self.timeout))
                sa.bindings = [_binding(b) for b in policy.bindings]
            except Exception as exc:  # noqa: BLE001
                self.gap(node.key, f"cannot read the IAM policy of service account {account.email}: "
                         f"{describe_error(exc)}", f"who can act as or impersonate {account.email}")
            try:
                keys = self._counted(lambda: self.clients.iam.list_service_account_keys(
                    request={"name": resource,
                             "key_types": [iam_types.ListServiceAccountKeysRequest.KeyType.USER_MANAGED]},
                    retry=self.retry, timeout=self.timeout))
                sa.user_managed_keys = sum(1 for k in keys.keys if not k.disabled)
            except Exception as exc:  # noqa: BLE001
                self.gap(node.key, f"cannot list the keys of service account {account.email}: "
                         f"{describe_error(exc)}", f"long-lived keys of {account.email}")
            emails.append(account.email)
            with self._lock:
                self.inventory.service_accounts[account.email] = sa
        self.inventory.project_service_accounts[node.id] = emails

    # -- roles

    def read_roles(self) -> None:
        names: set[str] = set()
        for bindings in self._all_bindings():
            names.update(b.role for b in bindings)
        custom_parents = sorted({n.rsplit("/roles/", 1)[0] for n in names if "/roles/" in n and not n.startswith("roles/")})
        self.progress(ProgressEvent(self.name, f"expanding {len(names)} roles to permissions"))
        from google.cloud.iam_admin_v1 import types as iam_types

        for parent in custom_parents:
            try:
                pager = self._counted(lambda: self.clients.iam.list_roles(
                    request={"parent": parent, "view": iam_types.RoleView.FULL, "show_deleted": True},
                    retry=self.retry, timeout=self.timeout))
                for page in self._pages(pager):
                    for role in page.roles:
                        self.inventory.roles[role.name] = _role(role)
            except Exception as exc:  # noqa: BLE001
                # fall back to reading each custom role on its own below
                self.progress(ProgressEvent(self.name, f"cannot list custom roles of {parent}: "
                                            f"{describe_error(exc)}", level="warning"))
        missing = sorted(n for n in names if n not in self.inventory.roles)

        def read(name: str) -> None:
            try:
                role = self._counted(lambda: self.clients.iam.get_role(
                    request={"name": name}, retry=self.retry, timeout=self.timeout))
                found: Role | None = _role(role)
            except Exception as exc:  # noqa: BLE001
                found = None
                self.gap("", f"cannot read role {name}: {describe_error(exc)}",
                         f"the permissions of {name}, so what its holders can do")
            with self._lock:
                self.inventory.roles[name] = found

        self._parallel(read, missing)

    def _all_bindings(self) -> Iterable[list[Binding]]:
        for node in self.inventory.nodes.values():
            if node.bindings:
                yield node.bindings
        for sa in self.inventory.service_accounts.values():
            if sa.bindings:
                yield sa.bindings

    # -- workload identity pools

    def read_pools(self) -> None:
        names = sorted({parse_member(m).pool for bindings in self._all_bindings() for b in bindings
                        for m in b.members if parse_member(m).kind == "wif"})

        def read(name: str) -> None:
            try:
                pool = self._rest_get(f"{self.clients.iam_rest}/v1/{name}")
                providers = self._rest_pages(f"{self.clients.iam_rest}/v1/{name}/providers", "workloadIdentityPoolProviders")
                found: Pool | None = Pool(
                    name=name, disabled=bool(pool.get("disabled")) or pool.get("state") == "DELETED",
                    providers=tuple(
                        Provider(name=p.get("name", ""), issuer=(p.get("oidc") or {}).get("issuerUri", ""),
                                 attribute_mapping=dict(p.get("attributeMapping") or {}),
                                 attribute_condition=p.get("attributeCondition", ""),
                                 disabled=bool(p.get("disabled")) or p.get("state") == "DELETED")
                        for p in providers))
            except Exception as exc:  # noqa: BLE001
                found = None
                project = self.inventory.node_by_number(name.split("/")[1])
                self.gap(project.key if project else "", f"cannot read workload identity pool {name}: "
                         f"{describe_error(exc)}", "which CI runs its members admit (assumed the GitHub defaults)")
            with self._lock:
                self.inventory.pools[name] = found

        self._parallel(read, names)

    # -- groups

    def read_groups(self) -> None:
        configured = {k.removeprefix("group:").lower(): v for k, v in self.section.groups.items()}
        self.inventory.cloud_identity = self.section.cloud_identity
        wanted = sorted({parse_member(m).value.lower() for bindings in self._all_bindings() for b in bindings
                         for m in b.members if parse_member(m).kind == "group"})
        wanted += sorted({p.removeprefix("principalSet://goog/group/").lower()
                          for n in self.inventory.nodes.values() for r in (n.deny or [])
                          for p in r.denied_principals + r.exception_principals
                          if p.startswith("principalSet://goog/group/")})
        seen: set[str] = set()
        while wanted:
            email = wanted.pop(0)
            if email in seen:
                continue
            seen.add(email)
            members: list[str] | None = None
            source = ""
            if email in configured:
                members, source = list(configured[email]), "[sources.gcp.groups]"
            elif self.section.cloud_identity:
                members, source = self._cloud_identity_members(email), "Cloud Identity"
            self.inventory.groups[email] = (members, source) if members is not None else None
            for member in members or []:
                parsed = parse_member(member)
                if parsed.kind == "group":
                    wanted.append(parsed.value.lower())

    def _cloud_identity_members(self, email: str) -> list[str] | None:
        base = f"{self.clients.cloud_identity_rest}/v1"
        try:
            found = self._rest_get(f"{base}/groups:lookup", {"groupKey.id": email})
            memberships = self._rest_pages(f"{base}/{found['name']}/memberships", "memberships", {"view": "FULL"})
        except Exception as exc:  # noqa: BLE001
            with self._lock:
                self.inventory.group_errors[email] = describe_error(exc)
            self.progress(ProgressEvent(self.name, f"cannot expand group {email} through Cloud Identity: "
                                        f"{describe_error(exc)}", level="warning"))
            return None
        kinds = {"USER": "user", "GROUP": "group", "SERVICE_ACCOUNT": "serviceAccount"}
        members = []
        for membership in memberships:
            key = (membership.get("preferredMemberKey") or {}).get("id", "")
            kind = kinds.get(membership.get("type", "USER"), "user")
            if key:
                members.append(f"{kind}:{key}")
        return members


def _http_phrase(code: Any) -> str:
    try:
        return HTTPStatus(int(code)).phrase
    except (TypeError, ValueError):
        return ""


def _normalise(value: str, collection: str) -> str:
    value = value.strip()
    if not value:
        return ""
    return value if value.startswith(collection + "/") else f"{collection}/{value}"


def _binding(binding: Any) -> Binding:
    condition = None
    if binding.HasField("condition") and binding.condition.expression:
        condition = parse_condition(binding.condition.expression, binding.condition.title)
    return Binding(binding.role, tuple(binding.members), condition)


def _role(role: Any) -> Role:
    return Role(role.name, role.title, frozenset(role.included_permissions), bool(role.deleted))
