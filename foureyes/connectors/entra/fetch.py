"""Reading Entra ID through the Microsoft Graph SDK. Pages follow @odata.nextLink; the SDK's
retry middleware waits out 429/503/504 as Retry-After says; what still fails becomes a Gap.
Payloads are kept as Graph's wire names (camelCase), so translation is tested on them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...config import EntraSource
from ...errors import SourceError
from ...model import PEOPLE_UNREAD, Gap
from ..base import Progress, ProgressEvent, Secrets, Stopwatch

SYSTEM = "entra"
CONCURRENCY = 4
USER_FIELDS = ["id", "displayName", "mail", "userPrincipalName", "accountEnabled", "department", "jobTitle",
               "employeeId", "otherMails", "proxyAddresses"]
MEMBER_FIELDS = ["id", "mail", "userPrincipalName"]
GROUP_FIELDS = ["id", "displayName", "mailNickname", "securityEnabled", "groupTypes"]


@dataclass
class EntraRead:
    tenant: str
    users: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids (transitive)
    gaps: list[Gap] = field(default_factory=list)


def _user(u: Any) -> dict[str, Any]:
    out = {"id": u.id, "displayName": u.display_name, "mail": u.mail, "userPrincipalName": u.user_principal_name,
           "accountEnabled": u.account_enabled, "department": u.department, "jobTitle": u.job_title,
           "employeeId": u.employee_id, "otherMails": list(u.other_mails or ()),
           "proxyAddresses": list(u.proxy_addresses or ()),
           "deletedDateTime": u.deleted_date_time.isoformat() if getattr(u, "deleted_date_time", None) else None}
    manager = getattr(u, "manager", None)
    if manager is not None:
        out["manager"] = {"id": manager.id, "mail": getattr(manager, "mail", None),
                          "userPrincipalName": getattr(manager, "user_principal_name", None)}
    return out


def make_client(section: EntraSource, secrets: Secrets | None = None) -> Any:
    try:
        import httpx
        from kiota_abstractions.authentication import AnonymousAuthenticationProvider
        from kiota_http.middleware.options import RetryHandlerOption
        from msgraph import GraphServiceClient
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph_core import GraphClientFactory
    except ModuleNotFoundError as exc:
        raise SourceError(f"source 'entra' needs the Python package {exc.name!r}: "
                          "pip install 'foureyes[entra]'") from None
    host = urlsplit(section.api_endpoint).hostname or ""
    if section.anonymous:
        auth: Any = AnonymousAuthenticationProvider()
    else:
        from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider)

        tenant = section.tenant_id or os.environ.get("AZURE_TENANT_ID", "")
        if tenant and os.environ.get("AZURE_CLIENT_ID") and os.environ.get("AZURE_CLIENT_SECRET"):
            if secrets is not None:
                secrets.add(os.environ["AZURE_CLIENT_SECRET"])
            credential: Any = ClientSecretCredential(tenant, os.environ["AZURE_CLIENT_ID"],
                                                     os.environ["AZURE_CLIENT_SECRET"])
        else:
            credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[f"https://{host}/.default"],
                                                   allowed_hosts=[host])
    retry = RetryHandlerOption(delay=1.0, max_retries=min(max(section.max_retries, 0), 10))
    http = GraphClientFactory.create_with_default_middleware(options={RetryHandlerOption.get_key(): retry})
    http.timeout = httpx.Timeout(section.timeout)
    adapter = GraphRequestAdapter(auth, http)
    adapter.base_url = section.api_endpoint.rstrip("/")
    return GraphServiceClient(request_adapter=adapter), http


class Fetcher:
    def __init__(self, section: EntraSource, progress: Progress, name: str = "entra",
                 secrets: Secrets | None = None):
        self.secrets = secrets if secrets is not None else Secrets()
        self.secrets.add_url(section.api_endpoint)
        self.section = section
        self.progress = progress
        self.name = name
        self.watch = Stopwatch()
        self.tenant = section.tenant_id or os.environ.get("AZURE_TENANT_ID", "") or "tenant"

    def fetch(self) -> EntraRead:
        return asyncio.run(self._fetch())

    async def _fetch(self) -> EntraRead:
        client, http = make_client(self.section, self.secrets)
        read = EntraRead(tenant=self.tenant)
        try:
            await self._users(client, read)
            await self._groups(client, read)
        finally:
            await http.aclose()
        return read

    async def _pages(self, builder: Any, params: Any) -> tuple[list[Any], str]:
        """Every page of a collection; and the error that stopped it ("")."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration

        out: list[Any] = []
        try:
            self.watch.count(requests=1, pages=1)
            page = await builder.get(request_configuration=RequestConfiguration(query_parameters=params))
            while page is not None:
                out.extend(page.value or ())
                if not page.odata_next_link:
                    break
                self.watch.count(requests=1, pages=1)
                page = await builder.with_url(page.odata_next_link).get()
        except Exception as exc:  # APIError (an HTTP status), a reset, a timeout
            return out, _message(exc)
        return out, ""

    async def _users(self, client: Any, read: EntraRead) -> None:
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder

        where = f"entra:tenant:{self.tenant}"
        self.progress(ProgressEvent(self.name, "reading users"))
        params = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            select=USER_FIELDS, top=self.section.page_size,
            expand=[f"manager($select={','.join(MEMBER_FIELDS)})"])
        users, error = await self._pages(client.users, params)
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET /users: {error}", PEOPLE_UNREAD))
        read.users = [_user(u) for u in users]
        from msgraph.generated.directory.deleted_items.graph_user.graph_user_request_builder import (
            GraphUserRequestBuilder)

        deleted, error = await self._pages(
            client.directory.deleted_items.graph_user,
            GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(select=USER_FIELDS + ["deletedDateTime"],
                                                                              top=self.section.page_size))
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET /directory/deletedItems/microsoft.graph.user: {error}",
                                 PEOPLE_UNREAD))
        read.deleted = [_user(u) for u in deleted]

    async def _groups(self, client: Any, read: EntraRead) -> None:
        from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
        from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (
            GraphUserRequestBuilder)

        groups, error = await self._pages(client.groups, GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
            select=GROUP_FIELDS, top=self.section.page_size))
        if error:
            read.gaps.append(Gap(SYSTEM, f"entra:tenant:{self.tenant}", f"GET /groups: {error}",
                                 "identity-provider groups and the teams they feed"))
        read.groups = [{"id": g.id, "displayName": g.display_name, "mailNickname": g.mail_nickname,
                        "securityEnabled": g.security_enabled, "groupTypes": list(g.group_types or ())}
                       for g in groups]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def members(group: dict[str, Any]) -> None:
            async with gate:
                found, err = await self._pages(
                    client.groups.by_group_id(group["id"]).transitive_members.graph_user,
                    GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(select=MEMBER_FIELDS,
                                                                                      top=self.section.page_size))
            read.members[group["id"]] = [u.id for u in found]
            if err:
                read.gaps.append(Gap(SYSTEM, f"entra:group/{group['id']}",
                                     f"GET /groups/{group['id']}/transitiveMembers: {err}",
                                     f"members of Entra group {group.get('displayName') or group['id']}"))

        await asyncio.gather(*(members(g) for g in read.groups))


def _message(exc: Exception) -> str:
    status = getattr(exc, "response_status_code", None)
    error = getattr(exc, "error", None)  # ODataError's main error: code and message
    if error is not None and getattr(error, "code", None):
        return f"{status} {error.code}: {getattr(error, 'message', '') or ''}".strip()
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{status} {text}" if status else f"{type(exc).__name__}: {text}"
