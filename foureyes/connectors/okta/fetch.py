"""Reading Okta through its SDK: users (deprovisioned ones too: the default list leaves them
out), groups with their members, and the GitHub/AWS/Google Cloud apps with their assignments.

The SDK waits out a 429 until X-Rate-Limit-Reset and retries; what still fails becomes a Gap.
Pages follow the `after` cursor of the Link header rel="next".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from ...config import OktaSource
from ...errors import SourceError
from ...model import PEOPLE_UNREAD, Gap
from ..base import Progress, ProgressEvent, Secrets, Stopwatch

SYSTEM = "okta"
CONCURRENCY = 8
# Apps whose assignments say who may sign in to an audited system (name or label contains one)
APP_KINDS = {"github": "GitHub", "amazon_aws": "AWS", "aws": "AWS", "google": "Google Cloud", "gcp": "Google Cloud"}


@dataclass
class OktaRead:
    """What the API answered, as payload dicts (camelCase, as on the wire)."""

    org: str
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids
    apps: list[dict[str, Any]] = field(default_factory=list)
    app_users: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # app id -> app users
    app_groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # app id -> group assignments
    gaps: list[Gap] = field(default_factory=list)


def app_kind(app: dict[str, Any]) -> str:
    text = f"{app.get('name', '')} {app.get('label', '')}".lower()
    return next((kind for key, kind in APP_KINDS.items() if key in text), "")


def client_config(section: OktaSource, secrets: Secrets | None = None) -> dict[str, Any]:
    """The SDK's client settings; the credential comes from the environment (never the config)."""
    config: dict[str, Any] = {"orgUrl": section.org_url.rstrip("/"),
                              "rateLimit": {"maxRetries": section.max_retries},
                              "requestTimeout": int(section.timeout)}
    if section.client_id:
        if not section.private_key_path:
            raise SourceError("[sources.okta] client_id needs private_key_path (a service app's private key)")
        try:
            key = open(os.path.expanduser(section.private_key_path), encoding="utf-8").read()
        except OSError as exc:
            raise SourceError(f"[sources.okta] private_key_path: cannot read it: {exc.strerror}") from None
        if secrets is not None:
            secrets.add(key)
        config.update(authorizationMode="PrivateKey", clientId=section.client_id, scopes=list(section.scopes),
                      privateKey=key)
    else:
        token = os.environ.get(section.token_env, "")
        if not token:
            raise SourceError(f"Okta: set {section.token_env} to a read-only admin's API token "
                              "(or configure client_id and private_key_path)")
        if secrets is not None:
            secrets.add(token)
        config["token"] = token
    return config


def make_client(section: OktaSource, secrets: Secrets | None = None) -> Any:
    """An SDK client with only the APIs foureyes reads: okta.client.Client imports all 130 of them
    (three seconds); the request executor and configuration are the SDK's own."""
    try:
        from okta.api.application_api import ApplicationApi
        from okta.api.application_groups_api import ApplicationGroupsApi
        from okta.api.application_users_api import ApplicationUsersApi
        from okta.api.group_api import GroupApi
        from okta.api.user_api import UserApi
        from okta.cache.no_op_cache import NoOpCache
        from okta.config.config_setter import ConfigSetter
        from okta.config.config_validator import ConfigValidator
        from okta.request_executor import RequestExecutor
    except ModuleNotFoundError as exc:
        raise SourceError(f"source 'okta' needs the Python package {exc.name!r}; reinstall foureyes") from None

    class ReadOnlyOkta(UserApi, GroupApi, ApplicationApi, ApplicationUsersApi, ApplicationGroupsApi):
        def __init__(self, user_config: dict[str, Any]):
            setter = ConfigSetter()
            setter._apply_config({"client": user_config})
            config = setter._prune_config(setter.get_config())
            try:
                ConfigValidator(config)
            except ValueError as exc:
                raise SourceError(f"Okta: {str(exc).strip().splitlines()[-1]}") from None
            super().__init__(configuration=config)
            self._request_executor = RequestExecutor(config, NoOpCache(), None)

    # The SDK logs every failed request at ERROR; foureyes turns them into Gaps, so they are not
    # printed a second time on stderr (Python's last-resort handler would).
    logging.getLogger("okta-sdk-python").addHandler(logging.NullHandler())
    return ReadOnlyOkta(client_config(section, secrets))


class Fetcher:
    def __init__(self, section: OktaSource, progress: Progress, name: str = "okta",
                 secrets: Secrets | None = None):
        self.secrets = secrets if secrets is not None else Secrets()
        self.secrets.add_url(section.org_url)
        self.section = section
        self.progress = progress
        self.name = name
        self.watch = Stopwatch()
        self.org = urlsplit(section.org_url).hostname or section.org_url

    def fetch(self) -> OktaRead:
        return asyncio.run(self._fetch())

    async def _fetch(self) -> OktaRead:
        import aiohttp  # the SDK's own HTTP stack

        client = make_client(self.section, self.secrets)
        context = ssl.create_default_context(cafile=self.section.ca_file or None)
        read = OktaRead(org=self.org)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=CONCURRENCY)) as session:
            client._request_executor.set_session(session)
            await self._users(client, read)
            await self._groups(client, read)
            if self.section.apps:
                await self._apps(client, read)
        return read

    # -- paging

    async def _all(self, call: Callable[..., Awaitable[Any]], **params: Any) -> tuple[list[dict[str, Any]], str]:
        """Every page of a list call, as payload dicts; and the error that stopped it ("" when none)."""
        from okta.pagination import PaginationHelper

        out: list[dict[str, Any]] = []
        after = None
        while True:
            self.watch.count(requests=1, pages=1)
            try:
                data, resp, err = await call(limit=self.section.page_size, after=after, **params)
            except Exception as exc:  # a reset, a timeout, a body the SDK cannot parse
                return out, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}"
            if err is not None:
                return out, _message(err)
            # The wire payload, as Okta sent it: the SDK's models drop read-only fields (id,
            # statusChanged) from to_dict() and keep custom profile attributes apart.
            raw = getattr(resp, "raw_data", b"") or b"[]"
            try:
                page = json.loads(raw)
            except ValueError:
                return out, "the answer is not JSON"
            out.extend(item for item in page if isinstance(item, dict) and item.get("id"))
            # The SDK gives headers as a dict: of Okta's two Link headers only the last (rel="next") stays.
            after = PaginationHelper.extract_next_cursor(dict(getattr(resp, "headers", None) or {}))
            if not after:
                return out, ""

    async def _users(self, client: Any, read: OktaRead) -> None:
        where = f"okta:org:{self.org}"
        self.progress(ProgressEvent(self.name, "reading users"))
        users, error = await self._all(client.list_users)
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET /api/v1/users: {error}", PEOPLE_UNREAD))
        # The default list leaves deprovisioned users out: they are exactly the leavers.
        gone, error = await self._all(client.list_users, filter='status eq "DEPROVISIONED"')
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET /api/v1/users?filter=status eq \"DEPROVISIONED\": {error}",
                                 PEOPLE_UNREAD))
        seen = {u["id"] for u in users}
        read.users = users + [u for u in gone if u["id"] not in seen]
        self.progress(ProgressEvent(self.name, f"read {len(read.users)} users"))

    async def _groups(self, client: Any, read: OktaRead) -> None:
        groups, error = await self._all(client.list_groups)
        if error:
            read.gaps.append(Gap(SYSTEM, f"okta:org:{self.org}", f"GET /api/v1/groups: {error}",
                                 "identity-provider groups and the teams they feed"))
        read.groups = groups
        gate = asyncio.Semaphore(CONCURRENCY)

        async def members(group: dict[str, Any]) -> None:
            async with gate:
                users, err = await self._all(client.list_group_users, group_id=group["id"])
            read.members[group["id"]] = [u["id"] for u in users]
            if err:
                name = (group.get("profile") or {}).get("name", group["id"])
                read.gaps.append(Gap(SYSTEM, f"okta:group/{group['id']}", f"GET /api/v1/groups/{group['id']}/users: "
                                     f"{err}", f"members of Okta group {name}"))

        # "Everyone" holds every user: its members say nothing and cost a page per 200 people
        await asyncio.gather(*(members(g) for g in groups if g.get("type") != "BUILT_IN"))

    async def _apps(self, client: Any, read: OktaRead) -> None:
        apps, error = await self._all(client.list_applications)
        if error:
            read.gaps.append(Gap(SYSTEM, f"okta:org:{self.org}", f"GET /api/v1/apps: {error}",
                                 "who is assigned to the GitHub, AWS and Google Cloud apps"))
        read.apps = [a for a in apps if app_kind(a)]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def assignments(app: dict[str, Any]) -> None:
            async with gate:
                users, err_u = await self._all(client.list_application_users, app_id=app["id"])
                groups, err_g = await self._all(client.list_application_group_assignments, app_id=app["id"])
            read.app_users[app["id"]], read.app_groups[app["id"]] = users, groups
            for err, what in ((err_u, "users"), (err_g, "groups")):
                if err:
                    read.gaps.append(Gap(SYSTEM, f"okta:app:{app['id']}", f"GET /api/v1/apps/{app['id']}/{what}: {err}",
                                         f"who is assigned to {app.get('label', app['id'])}"))

        await asyncio.gather(*(assignments(a) for a in read.apps))


def _message(err: Any) -> str:
    status = getattr(err, "status", None)
    summary = getattr(err, "error_summary", "") or str(err).strip().splitlines()[0]
    code = getattr(err, "error_code", "")
    return " ".join(str(x) for x in (status, code, summary) if x)
