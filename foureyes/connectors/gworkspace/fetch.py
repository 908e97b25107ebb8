"""Reading the Directory API. The client ships the API's discovery document (no network to
build it); pages follow nextPageToken; `execute(num_retries=…)` retries 429 and 5xx with
exponential backoff; what still fails becomes a Gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ...config import GoogleWorkspaceSource
from ...errors import SourceError
from ...model import PEOPLE_UNREAD, Gap
from ..base import Progress, ProgressEvent, Secrets, Stopwatch

SYSTEM = "google_workspace"
SCOPES = ["https://www.googleapis.com/auth/admin.directory.user.readonly",
          "https://www.googleapis.com/auth/admin.directory.group.readonly",
          "https://www.googleapis.com/auth/admin.directory.group.member.readonly"]


@dataclass
class DirectoryRead:
    customer: str
    users: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # group id -> members (derived)
    gaps: list[Gap] = field(default_factory=list)


def make_service(section: GoogleWorkspaceSource, secrets: Secrets | None = None) -> Any:
    try:
        import google.auth
        import google_auth_httplib2
        import httplib2
        from google.auth.credentials import AnonymousCredentials
        from googleapiclient.discovery import build
    except ModuleNotFoundError as exc:
        raise SourceError(f"source 'google_workspace' needs the Python package {exc.name!r}; "
                          "reinstall foureyes") from None
    if section.anonymous:
        credentials: Any = AnonymousCredentials()
    elif section.credentials_file:
        from google.oauth2 import service_account

        try:
            credentials = service_account.Credentials.from_service_account_file(section.credentials_file,
                                                                                scopes=SCOPES)
        except (OSError, ValueError) as exc:
            raise SourceError(f"[sources.google_workspace] credentials_file: {exc}") from None
        if section.subject:
            credentials = credentials.with_subject(section.subject)
    else:
        try:
            credentials, _ = google.auth.default(scopes=SCOPES)
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise SourceError(f"Google Workspace: no credentials ({str(exc).splitlines()[0]})") from None
        if section.subject and hasattr(credentials, "with_subject"):
            credentials = credentials.with_subject(section.subject)
    if secrets is not None:  # the access token once refreshed, a user credential's refresh token and secret
        secrets.watch(lambda: [getattr(credentials, name, None)
                               for name in ("token", "refresh_token", "client_secret")])
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=section.timeout))
    options = {"api_endpoint": section.api_endpoint} if section.api_endpoint else None
    return build("admin", "directory_v1", http=http, static_discovery=True, cache_discovery=False,
                 client_options=options)


class Fetcher:
    def __init__(self, section: GoogleWorkspaceSource, progress: Progress, name: str = "google_workspace",
                 secrets: Secrets | None = None):
        self.secrets = secrets if secrets is not None else Secrets()
        self.secrets.add_url(section.api_endpoint)
        self.section = section
        self.progress = progress
        self.name = name
        self.watch = Stopwatch()

    def fetch(self) -> DirectoryRead:
        service = make_service(self.section, self.secrets)
        read = DirectoryRead(customer=self.section.customer)
        scope = {"domain": self.section.domain} if self.section.domain else {"customer": self.section.customer}
        where = f"google_workspace:customer:{self.section.customer}"
        self.progress(ProgressEvent(self.name, "reading users"))
        users = service.users()
        read.users, error = self._all(users, users.list(projection="full", maxResults=self.section.page_size,
                                                         orderBy="email", **scope), "users")
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET admin/directory/v1/users: {error}", PEOPLE_UNREAD))
        read.deleted, error = self._all(users, users.list(projection="full", maxResults=self.section.page_size,
                                                           showDeleted="true", **scope), "users")
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET admin/directory/v1/users?showDeleted=true: {error}",
                                 PEOPLE_UNREAD))
        groups = service.groups()
        read.groups, error = self._all(groups, groups.list(maxResults=200, **scope), "groups")
        if error:
            read.gaps.append(Gap(SYSTEM, where, f"GET admin/directory/v1/groups: {error}",
                                 "identity-provider groups and the teams they feed"))
        members = service.members()
        for group in read.groups:
            found, error = self._all(members, members.list(groupKey=group["id"], maxResults=200,
                                                           includeDerivedMembership=True), "members")
            read.members[group["id"]] = found
            if error:
                read.gaps.append(Gap(SYSTEM, f"google_workspace:group/{group['id']}",
                                     f"GET admin/directory/v1/groups/{group['id']}/members: {error}",
                                     f"members of group {group.get('email', group['id'])}"))
        self.progress(ProgressEvent(self.name, f"read {len(read.users)} users and {len(read.groups)} groups"))
        return read

    def _all(self, collection: Any, request: Any, key: str) -> tuple[list[dict[str, Any]], str]:
        """Every page (list_next follows nextPageToken); and the error that stopped it ("")."""
        from googleapiclient.errors import HttpError

        out: list[dict[str, Any]] = []
        nxt: Callable[..., Any] = getattr(collection, "list_next")
        try:
            while request is not None:
                self.watch.count(requests=1, pages=1)
                response = request.execute(num_retries=self.section.num_retries)
                out.extend(response.get(key, ()))
                request = nxt(request, response)
        except HttpError as exc:
            return out, f"{exc.status_code} {exc.reason}"
        except Exception as exc:  # a reset, a timeout, a body that is not JSON
            return out, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}"
        return out, ""
