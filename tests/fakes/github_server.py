"""A fake GitHub (REST v3 + GraphQL v4) on loopback, serving a declarative organisation.

Real HTTP, real Link-header pagination, rate-limit headers, GitHub's error bodies, a
fault plan (rate limits, 5xx bursts, resets, timeouts, malformed or truncated bodies), a
request log with counters, and enough of issues and search for a ticket exporter.

Use it as a context manager or through the ``github_server`` helpers in tests::

    with FakeGitHub(load_fixture("scenarios.yaml")) as gh:
        Github(base_url=gh.url, auth=Auth.Token("t"))...
        gh.faults.add("/orgs/acme/teams", status=500)
        gh.stats.total, gh.stats.max_in_flight, gh.stats.per_path
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import json
import math
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable

import graphql
import yaml

from .github_activity import Cursored, GqlRepoActivity, Listed, rest_routes
from .github_cost import NODE_LIMIT, QueryCost, query_cost

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github"
SCHEMA_PATH = FIXTURES / "schema.graphql"
ROLE_IDS = {"read": 1, "triage": 3, "maintain": 2, "write": 4, "admin": 5}  # built-in RepositoryRole ids
ROLE_RANK = {"read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}


def load_fixture(name: str) -> dict[str, Any]:
    """A fixture file from tests/fixtures/github (YAML or JSON), as a dict."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return yaml.safe_load(text) if name.endswith((".yaml", ".yml")) else json.loads(text)


# ---------------------------------------------------------------- faults, stats


@dataclass
class Fault:
    """One planned misbehaviour: the ``nth`` (1-based) matching request, and ``times`` after it.

    ``action``: ``status`` (send ``status``/``headers``/``body``), ``reset`` (close the
    connection without a response), ``delay`` (sleep ``delay`` seconds, then answer
    normally), ``malformed`` (200 with a body that is not JSON), ``truncate`` (announce the
    whole body, send half, close), ``exhaust`` (answer normally, but report the primary
    budget spent until ``delay`` seconds from now), ``echo`` (send ``status`` with the
    request's Authorization header quoted in the message, as a hostile server would).
    """

    path: str  # glob over the path without query ("/repos/acme/*/rulesets/*"), or "*"
    method: str = "*"
    nth: int = 1
    times: int = 1
    action: str = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    body_contains: str = ""  # only requests whose body holds this text (one GraphQL query among others)
    seen: int = 0
    fired: int = 0

    def claims(self, method: str, path: str, body: str = "") -> bool:
        if self.method not in ("*", method) or not fnmatch.fnmatchcase(path, self.path):
            return False
        if self.body_contains and self.body_contains not in body:
            return False
        self.seen += 1
        if self.seen >= self.nth and self.fired < self.times:
            self.fired += 1
            return True
        return False


class FaultPlan:
    """The faults a server will inject, matched in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, path: str, **kwargs: Any) -> Fault:
        fault = Fault(path=path, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def secondary_rate_limit(self, path: str, *, nth: int = 1, retry_after: int = 1, times: int = 1) -> Fault:
        return self.add(path, nth=nth, times=times, status=403, headers={"Retry-After": str(retry_after)},
                        body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                                         "before you try again.",
                              "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})

    def server_error(self, path: str, *, nth: int = 1, times: int = 1, status: int = 500) -> Fault:
        return self.add(path, nth=nth, times=times, status=status, body={"message": "Server Error"})

    def primary_rate_limit(self, path: str, *, nth: int = 1, reset_in: float = 1.0, status: int = 403) -> Fault:
        """403 or 429 'API rate limit exceeded' with x-ratelimit-remaining 0 and a reset ``reset_in`` s away."""
        reset = str(int(time.time() + reset_in))
        return self.add(path, nth=nth, status=status,
                        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
                        body={"message": "API rate limit exceeded for user ID 1.",
                              "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})

    def graphql_rate_limited(self, query_contains: str, *, reset_in: float = 1.0, times: int = 1) -> Fault:
        """GitHub's GraphQL primary limit: 200, ``errors[].type`` RATE_LIMITED, the budget spent."""
        reset = str(int(time.time() + reset_in))
        return self.add("/graphql", method="POST", body_contains=query_contains, times=times, status=200,
                        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset,
                                 "x-ratelimit-resource": "graphql"},
                        body={"errors": [{"type": "RATE_LIMITED",
                                          "message": "API rate limit already exceeded for user ID 1."}]})

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def match(self, method: str, path: str, body: str = "") -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.claims(method, path, body):
                    return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        return [f for f in self._faults if f.fired < f.times]


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    started: float
    ended: float
    fault: str = ""
    answered: bool = False  # the answer is on its way: no longer in flight
    points: int = 0  # GraphQL rate-limit points this request was charged (GitHub's formula)


class ServerStats:
    """Counters over every request the server received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.log: list[LoggedRequest] = []
        self.in_flight = 0  # received and not yet answered
        self.max_in_flight = 0
        self.unlogged = 0  # received and not yet in the log

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.unlogged += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def answered(self, entry: LoggedRequest) -> None:
        """Called just before the answer is written: the client may send its next request once it has it."""
        with self._lock:
            if not entry.answered:
                entry.answered = True
                self.in_flight -= 1

    def leave(self, entry: LoggedRequest) -> None:
        self.answered(entry)
        with self._lock:
            self.unlogged -= 1
            self.log.append(entry)

    @property
    def total(self) -> int:
        return len(self.log)

    @property
    def points(self) -> int:
        """GraphQL rate-limit points charged (GitHub's formula: `github_cost.query_cost`)."""
        return sum(e.points for e in list(self.log))

    @property
    def rest(self) -> int:
        """REST requests: each costs one request of the REST primary budget."""
        return sum(1 for e in list(self.log) if e.path != "/graphql")

    @property
    def per_path(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in list(self.log):
            counts[entry.path] = counts.get(entry.path, 0) + 1
        return counts

    def settled(self, timeout: float = 5.0) -> None:
        """Wait until every request answered has been logged (the server logs just after answering)."""
        deadline = time.monotonic() + timeout
        while self.unlogged > 0 and time.monotonic() < deadline:
            time.sleep(0.005)

    def count(self, pattern: str, method: str = "*") -> int:
        """Requests whose path matches the glob ``pattern`` (once the last answer is logged)."""
        self.settled()
        return sum(1 for e in list(self.log)
                   if fnmatch.fnmatchcase(e.path, pattern) and method in ("*", e.method))

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self.max_in_flight = self.in_flight


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# ---------------------------------------------------------------- the organisation


class Org:
    """The declarative fixture, indexed, with ids assigned deterministically."""

    def __init__(self, data: dict[str, Any]):
        self.data = copy.deepcopy(data)
        org = self.data["org"]
        self.login: str = org["login"]
        self.token = {"bypass_actors_visible": True, "saml_visible": True, "org_admin": True,
                      **self.data.get("token", {})}
        self.people = {p["login"]: p for p in self.data.get("people", [])}
        self.user_ids = {login: 1000 + i for i, login in enumerate(self.people)}
        self.teams = {t["slug"]: t for t in self.data.get("teams", [])}
        self.team_ids = {slug: 2000 + i for i, slug in enumerate(self.teams)}
        self.repos = {r["name"]: r for r in self.data.get("repos", [])}
        self.repo_ids = {name: 3000 + i for i, name in enumerate(self.repos)}
        self.custom_roles = {r["name"]: r for r in self.data.get("custom_roles", [])}
        self.apps = {a["slug"]: a for a in self.data.get("apps", [])}
        self.org_rulesets = {r["id"]: r for r in self.data.get("org_rulesets", [])}
        self.issues: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()

    # -- people and teams

    def members(self, role: str = "all") -> list[str]:
        wanted = {"all": ("owner", "member"), "admin": ("owner",), "member": ("member",)}[role]
        return [login for login, p in self.people.items() if p.get("role", "member") in wanted]

    def outside(self) -> list[str]:
        return [login for login, p in self.people.items() if p.get("role") == "outside"]

    def user(self, login: str) -> dict[str, Any]:
        p = self.people.get(login, {"login": login})
        uid = self.user_ids.get(login, 9999)
        kind = "Bot" if login.endswith("[bot]") else "User"
        return {"login": login, "id": uid, "node_id": f"U_{uid}", "type": kind, "site_admin": False,
                "url": f"/users/{login}", "html_url": f"https://github.example/{login}",
                "name": p.get("name"), "email": p.get("email") or None}

    def identity(self, token: str) -> str:
        """Who a token acts as: ``token.users`` maps tokens to logins (default ``token.login``,
        else foureyes-bot); an installation token (``ghs_``) is its app's bot, ``SLUG[bot]``."""
        if token.startswith("ghs_"):
            return f"{self.token.get('app_slug', 'foureyes-app')}[bot]"
        return self.token.get("users", {}).get(token) or self.token.get("login", "foureyes-bot")

    def team(self, slug: str) -> dict[str, Any]:
        t = self.teams[slug]
        tid = self.team_ids[slug]
        parent = t.get("parent")
        return {"id": tid, "node_id": f"T_{tid}", "slug": slug, "name": t.get("name", slug),
                "privacy": t.get("privacy", "closed"), "permission": "pull",
                "url": f"/orgs/{self.login}/teams/{slug}",
                "parent": self.team(parent) if parent else None}

    def team_members(self, slug: str, role: str = "all") -> list[str]:
        """GitHub's REST list: immediate members plus members of child teams."""
        t = self.teams[slug]
        out: list[str] = []
        if role in ("all", "maintainer"):
            out += t.get("maintainers", [])
        if role in ("all", "member"):
            out += t.get("members", [])
            for child, ct in self.teams.items():
                if ct.get("parent") == slug:
                    out += [m for m in self.team_members(child, "all") if m not in out]
        return list(dict.fromkeys(out))

    def team_repo_roles(self, slug: str) -> dict[str, str]:
        """A team's repository roles, inherited from its parents (highest wins)."""
        roles: dict[str, str] = {}
        current: str | None = slug
        while current:
            for repo, role in self.teams[current].get("repos", {}).items():
                if repo not in roles or _rank(role, self) > _rank(roles[repo], self):
                    roles[repo] = role
            current = self.teams[current].get("parent")
        return roles

    def repo_team_roles(self, repo: str) -> dict[str, str]:
        """Teams with a role on ``repo`` (inherited from parents included), built once for all repositories."""
        index = self.__dict__.get("_repo_team_roles")
        if index is None:
            index = {}
            for slug in self.teams:
                for name, role in self.team_repo_roles(slug).items():
                    index.setdefault(name, {})[slug] = role
            self.__dict__["_repo_team_roles"] = index
        return index.get(repo, {})

    # -- repositories

    def repo(self, name: str) -> dict[str, Any]:
        r = self.repos.get(name)
        if r is None:
            raise ApiError(404, "Not Found")
        return r

    def repo_json(self, name: str, role: str | None = None) -> dict[str, Any]:
        r = self.repo(name)
        rid = self.repo_ids[name]
        out = {"id": rid, "node_id": f"R_{rid}", "name": name, "full_name": f"{self.login}/{name}",
               "private": r.get("visibility", "private") != "public", "visibility": r.get("visibility", "private"),
               "archived": bool(r.get("archived", False)), "default_branch": r.get("default_branch", "main"),
               "owner": {"login": self.login, "id": 1, "type": "Organization"},
               "url": f"/repos/{self.login}/{name}", "html_url": f"https://github.example/{self.login}/{name}",
               "has_issues": True}
        if role is not None:
            out["role_name"] = role
            out["permissions"] = _permissions(role, self)
        return out

    def base_role(self, role: str) -> str:
        custom = self.custom_roles.get(role)
        return custom["base_role"] if custom else role

    def protection_rule(self, repo: dict[str, Any], branch: str) -> dict[str, Any] | None:
        """The classic rule that applies to a branch: an exact pattern wins over a glob."""
        rules = repo.get("protection", [])
        exact = [r for r in rules if r["pattern"] == branch]
        if exact:
            return exact[0]
        return next((r for r in rules if branch_glob(r["pattern"]).fullmatch(branch)), None)

    def actor_id(self, actor: dict[str, Any]) -> int | None:
        kind = actor["actor_type"]
        if "actor_id" in actor:  # an id the fixture states (an enterprise role, a team of another organisation)
            return actor["actor_id"]
        if kind == "OrganizationAdmin":
            return 1
        if kind == "DeployKey":
            return None
        name = actor.get("actor")
        if kind == "Team":
            return self.team_ids[name]
        if kind == "User":
            return self.user_ids[name]
        if kind == "RepositoryRole":
            if name in ROLE_IDS:
                return ROLE_IDS[name]
            return self.custom_roles[name]["id"]
        if kind == "Integration":
            return self.apps[name]["id"]
        return actor.get("actor_id")

    def ruleset_json(self, ruleset: dict[str, Any], source: str, source_type: str, *, detail: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": ruleset["id"], "name": ruleset["name"], "target": ruleset.get("target", "branch"),
            "source_type": source_type, "source": source, "enforcement": ruleset.get("enforcement", "active"),
            "node_id": f"RRS_{ruleset['id']}", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "_links": {"self": {"href": f"/repos/{source}/rulesets/{ruleset['id']}"}},
        }
        if detail:
            out["conditions"] = ruleset.get("conditions", {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}})
            out["rules"] = ruleset.get("rules", [])
            out["current_user_can_bypass"] = "never"
            if self.token["bypass_actors_visible"] and not ruleset.get("hide_bypass_actors"):
                out["bypass_actors"] = [
                    {"actor_id": self.actor_id(a), "actor_type": a["actor_type"], "bypass_mode": a.get("bypass_mode", "always")}
                    for a in ruleset.get("bypass_actors", [])
                ]
        return out

    def org_rulesets_for(self, repo_name: str) -> list[dict[str, Any]]:
        out = []
        for ruleset in self.org_rulesets.values():
            cond = ruleset.get("conditions", {}).get("repository_name", {"include": ["~ALL"], "exclude": []})
            include = any(p == "~ALL" or fnmatch.fnmatchcase(repo_name, p) for p in cond.get("include", []))
            exclude = any(fnmatch.fnmatchcase(repo_name, p) for p in cond.get("exclude", []))
            if include and not exclude:
                out.append(ruleset)
        return out


def branch_glob(pattern: str) -> "re.Pattern[str]":
    """GitHub's branch pattern syntax: ``*`` stops at ``/``, ``**`` does not."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(out)


def _rank(role: str, org: Org) -> int:
    return ROLE_RANK.get(org.base_role(role), 0) + (0.5 if role in org.custom_roles else 0)  # type: ignore[return-value]


def _permissions(role: str, org: Org) -> dict[str, bool]:
    rank = ROLE_RANK.get(org.base_role(role), 0)
    return {"pull": True, "triage": rank >= 1, "push": rank >= 2, "maintain": rank >= 3, "admin": rank >= 4}


# ---------------------------------------------------------------- GraphQL


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) + 1
    except Exception:
        raise graphql.GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: list[Any], args: dict[str, Any], name: str, edge: Callable[[Any], dict[str, Any]] | None = None,
               make: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """A GitHub-style connection with first/after, GitHub's limits and messages.

    ``make`` builds a node from an item of the page only: large organisations are paged
    through many times, and building every node for every page would cost O(n²).
    """
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise graphql.GraphQLError(f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.")
    size = first if first is not None else last
    if size > 100 or size < 0:
        raise graphql.GraphQLError(
            f"Requesting {size} records on the `{name}` connection exceeds the `{'first' if first is not None else 'last'}` "
            f"limit of 100 records.")
    start = _offset(args.get("after"))
    page = items[start:start + size]
    if make is not None:
        page = [make(item) for item in page]
    edges = []
    for i, item in enumerate(page):
        e = {"cursor": _cursor(start + i), "node": item}
        if edge:
            e.update(edge(item))
        edges.append(e)
    return {
        "edges": edges,
        "nodes": page,
        "totalCount": len(items),
        "pageInfo": {"hasNextPage": start + size < len(items), "hasPreviousPage": start > 0,
                     "startCursor": edges[0]["cursor"] if edges else None,
                     "endCursor": edges[-1]["cursor"] if edges else None},
    }


class Forbidden(graphql.GraphQLError):
    """A field the token may not read: GitHub answers with data null and a FORBIDDEN error."""

    gh_type = "FORBIDDEN"


class GqlOrg:
    __typename = "Organization"

    def __init__(self, org: Org):
        self.org = org
        self.login = org.login
        self.name = org.data["org"].get("name", org.login)
        self.databaseId = 1
        self.id = "O_1"

    def membersWithRole(self, info: Any, **args: Any) -> dict[str, Any]:
        logins = self.org.members("all")
        return connection(logins, args, "membersWithRole", make=lambda login: _gql_user(self.org, login),
                          edge=lambda u: {"role": "ADMIN" if self.org.people[u["login"]].get("role") == "owner"
                                          else "MEMBER", "hasTwoFactorEnabled": True})

    def samlIdentityProvider(self, info: Any) -> Any:
        if not self.org.data["org"].get("saml", False):
            return None
        if not self.org.token["saml_visible"]:
            raise Forbidden("Resource not accessible by integration")
        return GqlIdp(self.org)

    def teams(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(list(self.org.teams), args, "teams", make=lambda slug: GqlTeam(self.org, slug))

    def team(self, info: Any, slug: str) -> Any:
        return GqlTeam(self.org, slug) if slug in self.org.teams else None

    def repositories(self, info: Any, **args: Any) -> dict[str, Any]:
        names = list(self.org.repos)
        if args.get("isArchived") is not None:
            names = [n for n in names if bool(self.org.repos[n].get("archived")) == args["isArchived"]]
        return connection(names, args, "repositories", make=lambda name: GqlRepo(self.org, name))


def _gql_user(org: Org, login: str) -> dict[str, Any]:
    p = org.people.get(login, {})
    uid = org.user_ids.get(login, 9999)
    return {"__typename": "User", "login": login, "name": p.get("name"), "email": p.get("email") or "",
            "databaseId": uid, "id": f"U_{uid}"}


class GqlIdp:
    def __init__(self, org: Org):
        self.org = org
        self.id = "OIP_1"

    def externalIdentities(self, info: Any, **args: Any) -> dict[str, Any]:
        def identity(login: str) -> dict[str, Any]:
            p = self.org.people[login]
            return {"guid": f"guid-{login}", "id": f"EI_{login}",
                    "samlIdentity": {"nameId": p["saml"], "emails": [{"value": p["saml"], "primary": True, "type": "work"}],
                                     "username": p["saml"], "givenName": None, "familyName": None},
                    "user": _gql_user(self.org, login) if not p.get("saml_unlinked") else None}

        logins = [login for login, p in self.org.people.items() if p.get("saml")]
        return connection(logins, args, "externalIdentities", make=identity)


class GqlTeam:
    __typename = "Team"

    def __init__(self, org: Org, slug: str):
        self.org = org
        t = org.teams[slug]
        self.slug = slug
        self.name = t.get("name", slug)
        self.databaseId = org.team_ids[slug]
        self.id = f"T_{self.databaseId}"
        self.privacy = "SECRET" if t.get("privacy") == "secret" else "VISIBLE"

    def parentTeam(self, info: Any) -> Any:
        parent = self.org.teams[self.slug].get("parent")
        return GqlTeam(self.org, parent) if parent else None

    def members(self, info: Any, membership: str = "ALL", role: str | None = None, **args: Any) -> dict[str, Any]:
        t = self.org.teams[self.slug]
        maint = t.get("maintainers", [])
        if membership == "IMMEDIATE":
            logins = list(dict.fromkeys(maint + t.get("members", [])))
        else:
            logins = self.org.team_members(self.slug)
        if role == "MAINTAINER":
            logins = [m for m in logins if m in maint]
        elif role == "MEMBER":
            logins = [m for m in logins if m not in maint]
        return connection([_gql_user(self.org, m) for m in logins], args, "members",
                          lambda u: {"role": "MAINTAINER" if u["login"] in maint else "MEMBER"})

    def repositories(self, info: Any, **args: Any) -> dict[str, Any]:
        roles = self.org.team_repo_roles(self.slug)
        return connection([GqlRepo(self.org, name) for name in roles if name in self.org.repos], args, "repositories",
                          lambda r: {"permission": self.org.base_role(roles[r.name]).upper()})


class GqlRepo(GqlRepoActivity):
    __typename = "Repository"

    def __init__(self, org: Org, name: str):
        self.org = org
        self.r = org.repo(name)
        self.name = name
        self.nameWithOwner = f"{org.login}/{name}"
        self.databaseId = org.repo_ids[name]
        self.id = f"R_{self.databaseId}"
        self.isArchived = bool(self.r.get("archived", False))
        self.isFork = False
        self.visibility = self.r.get("visibility", "private").upper()

    def defaultBranchRef(self, info: Any) -> Any:
        branch = self.r.get("default_branch", "main")
        return {"name": branch, "prefix": "refs/heads/", "id": f"REF_{self.name}_{branch}",
                "branchProtectionRule": self._bpr(self.org.protection_rule(self.r, branch))}

    def _bpr(self, rule: dict[str, Any] | None) -> Any:
        return GqlBranchProtection(self.org, self.r, rule) if rule else None

    def branchProtectionRules(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection([self._bpr(rule) for rule in self.r.get("protection", [])], args, "branchProtectionRules")

    def rulesets(self, info: Any, includeParents: bool = True, **args: Any) -> dict[str, Any]:
        items = [GqlRuleset(self.org, rs, {"__typename": "Repository", "nameWithOwner": self.nameWithOwner,
                                           "id": self.id}) for rs in self.r.get("rulesets", [])]
        if includeParents:
            items += [GqlRuleset(self.org, rs, {"__typename": "Organization", "login": self.org.login, "id": "O_1"})
                      for rs in self.org.org_rulesets_for(self.name)]
        return connection(items, args, "rulesets")

    def collaborators(self, info: Any, affiliation: str | None = None, login: str | None = None,
                      query: str | None = None, **args: Any) -> dict[str, Any]:
        """``Repository.collaborators``: each edge's ``permission`` is the user's highest role here,
        its ``permissionSources`` every grant behind it (the repository's own, teams, the
        organisation's base permission or ownership), each with the role's name."""
        org, r = self.org, self.r
        if r.get("collaborators_forbidden"):
            raise Forbidden("Must have push access to view repository collaborators.")
        direct = dict(r.get("collaborators", {}))
        if affiliation == "OUTSIDE":
            logins = [u for u in direct if org.people.get(u, {}).get("role") == "outside"]
        elif affiliation == "DIRECT":
            logins = list(direct)
        else:
            logins = list(direct)
            for slug in org.repo_team_roles(self.name):
                logins += [m for m in org.team_members(slug) if m not in logins]
            logins += [m for m in org.members("all") if m not in logins]
        if login:
            logins = [u for u in logins if u == login]
        gql_org = GqlOrg(org)
        base = org.data["org"].get("default_repository_permission", "read")

        def sources(user: str) -> list[dict[str, Any]]:
            out = []
            if user in direct:
                out.append((direct[user], self))
            for slug, role in org.repo_team_roles(self.name).items():
                if user in org.team_members(slug):
                    out.append((role, GqlTeam(org, slug)))
            if org.people.get(user, {}).get("role") == "owner":
                out.append(("admin", gql_org))
            elif user in org.people and org.people[user].get("role", "member") != "outside" and base != "none":
                out.append((base, gql_org))
            return [{"organization": gql_org, "roleName": role, "source": source,
                     "permission": _DEFAULT_FIELD[org.base_role(role)]} for role, source in out]

        def edge(user: str) -> dict[str, Any]:
            found = sources(user)
            best = max((f["roleName"] for f in found), key=lambda role: _rank(role, org), default="read")
            return {"permission": org.base_role(best).upper(), "permissionSources": found}

        return connection(logins, args, "collaborators", make=lambda user: _gql_user(org, user),
                          edge=lambda u: edge(u["login"]))

    def environments(self, info: Any, names: list[str] | None = None, **args: Any) -> dict[str, Any]:
        envs = [e for e in self.r.get("environments", []) if not names or e["name"] in names]
        return connection([{"name": e["name"], "databaseId": 4000 + i, "id": f"EN_{self.name}_{i}"}
                           for i, e in enumerate(envs)], args, "environments")

    def object(self, info: Any, expression: str | None = None, oid: str | None = None) -> Any:
        owners = self.r.get("codeowners") or {}
        for prefix in ("HEAD:", f"{self.r.get('default_branch', 'main')}:"):
            if expression and expression.startswith(prefix) and expression[len(prefix):] in owners:
                text = owners[expression[len(prefix):]]
                blob = {"__typename": "Blob", "id": f"B_{self.name}_co", "oid": "2" * 40, "byteSize": len(text.encode()),
                        "isBinary": False, "isTruncated": False, "text": text}
                if text == "<binary>":
                    blob.update(isBinary=True, text=None)
                return blob
        if expression not in ("HEAD:.github/workflows", f"{self.r.get('default_branch', 'main')}:.github/workflows"):
            return None
        workflows = self.r.get("workflows")
        if not workflows:
            return None
        entries = []
        for fname, text in workflows.items():
            blob: dict[str, Any] = {"__typename": "Blob", "id": f"B_{self.name}_{fname}", "oid": "0" * 40,
                                    "byteSize": len(text.encode()), "isBinary": False, "isTruncated": False,
                                    "text": text}
            if text == "<binary>":
                blob.update(isBinary=True, text=None)
            entries.append({"name": fname, "path": f".github/workflows/{fname}", "type": "blob", "mode": 33188,
                            "object": blob})
        return {"__typename": "Tree", "id": f"TR_{self.name}", "oid": "1" * 40, "entries": entries}


_DEFAULT_FIELD = {"read": "READ", "triage": "READ", "write": "WRITE", "maintain": "WRITE", "admin": "ADMIN",
                  "none": "NONE"}  # DefaultRepositoryPermissionField has no TRIAGE or MAINTAIN


class GqlBranchProtection:
    __typename = "BranchProtectionRule"

    def __init__(self, org: Org, repo: dict[str, Any], rule: dict[str, Any]):
        self.org = org
        self.repo = repo
        self.rule = rule
        self.id = f"BPR_{repo['name']}_{rule['pattern']}"
        self.databaseId = abs(hash(self.id)) % 100000
        self.pattern = rule["pattern"]
        approvals = rule.get("required_approvals")
        self.requiresApprovingReviews = approvals is not None
        self.requiredApprovingReviewCount = approvals
        self.isAdminEnforced = bool(rule.get("enforce_admins", False))
        self.requireLastPushApproval = bool(rule.get("require_last_push_approval", False))
        self.requiresCodeOwnerReviews = bool(rule.get("require_code_owner_reviews", False))
        self.dismissesStaleReviews = bool(rule.get("dismiss_stale_reviews", False))
        self.restrictsPushes = rule.get("push_restrictions") is not None
        self.restrictsReviewDismissals = False
        self.allowsDeletions = False
        self.allowsForcePushes = False
        self.blocksCreations = bool(rule.get("blocks_creations", False))
        self.lockBranch = bool(rule.get("lock_branch", False))
        self.requiresCommitSignatures = False
        self.requiresLinearHistory = False
        self.requiresStatusChecks = False

    def _actors(self, spec: dict[str, Any] | None) -> list[dict[str, Any]]:
        spec = spec or {}
        out: list[dict[str, Any]] = [_gql_user(self.org, u) for u in spec.get("users", [])]
        for slug in spec.get("teams", []):
            out.append(GqlTeam(self.org, slug))
        for slug in spec.get("apps", []):
            app = self.org.apps.get(slug, {"id": 1, "name": slug})
            out.append({"__typename": "App", "slug": slug, "name": app.get("name", slug), "databaseId": app["id"],
                        "id": f"A_{app['id']}"})
        return [{"actor": a, "id": f"PA_{i}"} for i, a in enumerate(out)]

    def pushAllowances(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self._actors(self.rule.get("push_restrictions")), args, "pushAllowances")

    def bypassPullRequestAllowances(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self._actors(self.rule.get("bypass_pull_request_allowances")), args,
                          "bypassPullRequestAllowances")

    def matchingRefs(self, info: Any, **args: Any) -> dict[str, Any]:
        names = [b for b in self.repo.get("branches", [self.repo.get("default_branch", "main")])
                 if self.org.protection_rule(self.repo, b) is self.rule]
        return connection([{"name": b, "prefix": "refs/heads/", "id": f"REF_{b}", "branchProtectionRule": None}
                           for b in names], args, "matchingRefs")


class GqlRuleset:
    __typename = "RepositoryRuleset"

    def __init__(self, org: Org, rs: dict[str, Any], source: dict[str, Any]):
        self.org = org
        self.rs = rs
        self.databaseId = rs["id"]
        self.id = f"RRS_{rs['id']}"
        self.name = rs["name"]
        self.enforcement = rs.get("enforcement", "active").upper()
        self.target = rs.get("target", "branch").upper()
        self.source = source
        ref = rs.get("conditions", {}).get("ref_name", {"include": ["~DEFAULT_BRANCH"], "exclude": []})
        self.conditions = {"refName": {"include": ref.get("include", []), "exclude": ref.get("exclude", [])}}

    def bypassActors(self, info: Any, **args: Any) -> dict[str, Any]:
        """``RepositoryRuleset.bypassActors``. GitHub's union ``BypassActor`` holds apps and teams
        only: a ``User`` or ``EnterpriseRole`` actor comes back with no actor and no flag set, and the
        ``exempt`` mode (not in the enum) as a null mode. A token that may not see the list gets an
        empty one here: the worst GitHub could do, which foureyes must not read as "nobody"."""
        org, rs = self.org, self.rs
        visible = org.token["bypass_actors_visible"] and not rs.get("hide_bypass_actors")
        items = []
        for i, actor in enumerate(rs.get("bypass_actors", []) if visible else []):
            kind, name = actor["actor_type"], actor.get("actor")
            node: dict[str, Any] = {
                "id": f"RRSBA_{self.databaseId}_{i}", "actor": None, "deployKey": kind == "DeployKey",
                "enterpriseOwner": kind == "EnterpriseOwner", "organizationAdmin": kind == "OrganizationAdmin",
                "repositoryRoleDatabaseId": None, "repositoryRoleName": None,
                "bypassMode": {"always": "ALWAYS", "pull_request": "PULL_REQUEST"}.get(actor.get("bypass_mode", "always"))}
            if kind == "RepositoryRole":
                node["repositoryRoleDatabaseId"] = org.actor_id(actor)
                node["repositoryRoleName"] = name
            elif kind == "Team":
                if name in org.teams and "actor_id" not in actor:
                    node["actor"] = GqlTeam(org, name)
                else:
                    tid = org.actor_id(actor)
                    node["actor"] = {"__typename": "Team", "databaseId": tid, "id": f"T_{tid}",
                                     "slug": name or f"team-{tid}", "name": name or f"team-{tid}", "privacy": "SECRET"}
            elif kind == "Integration":
                app = org.apps.get(name, {"id": actor.get("actor_id"), "name": name})
                node["actor"] = {"__typename": "App", "databaseId": org.actor_id(actor), "id": f"A_{app['id']}",
                                 "slug": name, "name": app.get("name", name)}
            items.append(node)
        return connection(items, args, "bypassActors")

    def rules(self, info: Any, type: str | None = None, **args: Any) -> dict[str, Any]:
        out = []
        for i, rule in enumerate(self.rs.get("rules", [])):
            params = None
            p = rule.get("parameters") or {}
            if rule["type"] == "pull_request":
                params = {"__typename": "PullRequestParameters",
                          "requiredApprovingReviewCount": p.get("required_approving_review_count", 0),
                          "requireLastPushApproval": p.get("require_last_push_approval", False),
                          "requireCodeOwnerReview": p.get("require_code_owner_review", False),
                          "dismissStaleReviewsOnPush": p.get("dismiss_stale_reviews_on_push", False),
                          "requiredReviewThreadResolution": p.get("required_review_thread_resolution", False),
                          "allowedMergeMethods": ["merge", "squash", "rebase"]}
            elif rule["type"] == "update":
                params = {"__typename": "UpdateParameters",
                          "updateAllowsFetchAndMerge": p.get("update_allows_fetch_and_merge", False)}
            kind = rule["type"].upper()
            if type is None or type == kind:
                out.append({"id": f"RR_{self.databaseId}_{i}", "type": kind, "parameters": params})
        return connection(out, args, "rules")


_SCHEMA: graphql.GraphQLSchema | None = None


def schema() -> graphql.GraphQLSchema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = graphql.build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    return _SCHEMA


def check_schema(full_schema: "str | Path | graphql.GraphQLSchema") -> list[str]:
    """Differences between the fake's schema subset and GitHub's whole schema (a path or a built
    schema): every type, field with its type, argument with its type, enum value and union
    member of the fake must be GitHub's."""
    if isinstance(full_schema, graphql.GraphQLSchema):
        full = full_schema
    else:
        full = graphql.build_schema(Path(full_schema).read_text(encoding="utf-8"), assume_valid_sdl=True)
    problems = []
    for name, typ in schema().type_map.items():
        if name.startswith("__"):
            continue
        theirs = full.type_map.get(name)
        if theirs is None or type(theirs) is not type(typ):
            problems.append(f"type {name} is not in GitHub's schema (or is another kind of type)")
            continue
        for fname, f in getattr(typ, "fields", {}).items():
            other = theirs.fields.get(fname)  # type: ignore[union-attr]
            if other is None or str(other.type) != str(f.type):
                problems.append(f"{name}.{fname}")
                continue
            for aname, arg in getattr(f, "args", {}).items():
                their_arg = other.args.get(aname)
                if their_arg is None or str(their_arg.type) != str(arg.type):
                    problems.append(f"{name}.{fname}({aname})")
        if isinstance(typ, graphql.GraphQLEnumType):
            problems += [f"{name}.{v}" for v in typ.values if v not in theirs.values]  # type: ignore[union-attr]
        if isinstance(typ, graphql.GraphQLUnionType):
            theirs_members = {t.name for t in theirs.types}  # type: ignore[union-attr]
            problems += [f"{name} | {t.name}" for t in typ.types if t.name not in theirs_members]
    return problems


# ---------------------------------------------------------------- HTTP


class FakeGitHub:
    """The server. ``url`` is the API base (``http://127.0.0.1:PORT``) to give PyGithub."""

    def __init__(self, fixture: dict[str, Any], *, latency: float = 0.0, rate_limit: int = 5000,
                 graphql_limit: int = 5000, secondary: "SecondaryLimits | None" = None, window: int = 3600):
        self.org = Org(fixture)
        self.latency = latency
        # GitHub's two primary budgets, per hour: REST requests and GraphQL points
        # (github_cost.query_cost). Both start again every ``window`` seconds (an hour).
        self.rate_limit = rate_limit
        self.rate_used = 0
        self.graphql_limit = graphql_limit
        self.graphql_used = 0
        self.window = window
        self.reset_at = math.ceil(time.time()) + window
        self._counted = False  # no request counted yet: the first starts the window
        self.secondary = secondary if secondary is not None else SecondaryLimits()
        self._windows: dict[str, list[float]] = {}  # endpoint -> answer times in the last minute
        self._current = threading.local()  # the request a handler thread is serving
        self.faults = FaultPlan()
        self.stats = ServerStats()
        self.tokens: list[str] = []  # what clients sent, so tests can prove they never leak it
        self._documents: dict[str, Any] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> "FakeGitHub":
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-github", daemon=True)
        self._thread.start()
        return self

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every request has been logged (the server logs just after answering)."""
        self.stats.settled(timeout)

    def stop(self, *, settle: float = 5.0) -> None:
        """``settle``: how long to wait for answers still on their way (0: a test left them stalled)."""
        self.settle(settle)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- routing

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
              token: str = "") -> tuple[int, Any, dict[str, str]]:
        org = self.org
        o = re.escape(org.login)
        q = {k: v[-1] for k, v in query.items()}
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/rate_limit", lambda: {"resources": {"core": self._rate_info("core"),
                                                           "graphql": self._rate_info("graphql")},
                                             "rate": self._rate_info("core")}),
            ("POST", r"/graphql", lambda: self.graphql(body, token)),
            ("GET", r"/user", lambda: self._authenticated_user(token)),
            ("GET", rf"/orgs/{o}", lambda: self._org_json()),
            ("GET", rf"/orgs/{o}/members", lambda: [org.user(m) for m in org.members(q.get("role", "all"))]),
            ("GET", rf"/orgs/{o}/outside_collaborators", lambda: [org.user(m) for m in org.outside()]),
            ("GET", rf"/orgs/{o}/teams", lambda: [org.team(s) for s in org.teams]),
            ("GET", rf"/orgs/{o}/teams/(?P<slug>[^/]+)", lambda slug: org.team(self._team(slug))),
            ("GET", rf"/orgs/{o}/teams/(?P<slug>[^/]+)/members",
             lambda slug: [org.user(m) for m in org.team_members(self._team(slug), q.get("role", "all"))]),
            ("GET", rf"/orgs/{o}/teams/(?P<slug>[^/]+)/teams",
             lambda slug: [org.team(c) for c, t in org.teams.items() if t.get("parent") == self._team(slug)]),
            ("GET", rf"/orgs/{o}/teams/(?P<slug>[^/]+)/team-sync/group-mappings",
             lambda slug: self._team_sync(org, self._team(slug))),
            ("GET", rf"/orgs/{o}/teams/(?P<slug>[^/]+)/repos",
             lambda slug: [org.repo_json(n, role) for n, role in org.team_repo_roles(self._team(slug)).items()
                           if n in org.repos]),
            ("GET", rf"/orgs/{o}/repos", lambda: [org.repo_json(n) for n in org.repos]),
            ("GET", rf"/orgs/{o}/custom-repository-roles", lambda: self._custom_roles()),
            ("GET", rf"/orgs/{o}/organization-roles", lambda: self._org_roles()),
            ("GET", rf"/orgs/{o}/organization-roles/(?P<rid>\d+)/teams",
             lambda rid: [self._role_team(t) for t in self._org_role(rid).get("teams", [])]),
            ("GET", rf"/orgs/{o}/organization-roles/(?P<rid>\d+)/users",
             lambda rid: [self._role_user(u) for u in self._org_role(rid).get("users", [])]),
            ("GET", rf"/orgs/{o}/actions/permissions/workflow", lambda: self._workflow_permissions(None)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/actions/permissions/workflow",
             lambda repo: self._workflow_permissions(repo)),
            ("GET", rf"/orgs/{o}/rulesets", lambda: [org.ruleset_json(rs, org.login, "Organization", detail=False)
                                                      for rs in org.org_rulesets.values()]),
            ("GET", rf"/orgs/{o}/rulesets/(?P<rid>\d+)", lambda rid: self._org_ruleset(int(rid))),
            ("GET", rf"/orgs/{o}/actions/oidc/customization/sub",
             lambda: {"include_claim_keys": org.data["org"].get("oidc_sub") or ["repo", "context"]}),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)", lambda repo: org.repo_json(repo)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/collaborators", lambda repo: self._collaborators(repo, q)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/teams", lambda repo: self._repo_teams(repo)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/branches/(?P<branch>[^/]+)", lambda repo, branch: self._branch(repo, branch)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/branches/(?P<branch>.+)/protection",
             lambda repo, branch: self._protection(repo, urllib.parse.unquote(branch))),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/rulesets", lambda repo: self._repo_rulesets(repo, q)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/rulesets/(?P<rid>\d+)", lambda repo, rid: self._repo_ruleset(repo, int(rid))),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/environments", lambda repo: self._environments(repo)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/environments/(?P<env>[^/]+)",
             lambda repo, env: self._environment(repo, urllib.parse.unquote(env))),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/environments/(?P<env>[^/]+)/deployment-branch-policies",
             lambda repo, env: self._branch_policies(repo, urllib.parse.unquote(env))),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/actions/oidc/customization/sub", lambda repo: self._repo_oidc(repo)),
            # issues, for the ticket exporter
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/issues", lambda repo: self._issues(repo, q)),
            ("POST", rf"/repos/{o}/(?P<repo>[^/]+)/issues", lambda repo: self._create_issue(repo, body, token)),
            ("GET", rf"/repos/{o}/(?P<repo>[^/]+)/issues/(?P<num>\d+)", lambda repo, num: self._issue(repo, int(num))),
            ("PATCH", rf"/repos/{o}/(?P<repo>[^/]+)/issues/(?P<num>\d+)",
             lambda repo, num: self._update_issue(repo, int(num), body)),
            ("POST", rf"/repos/{o}/(?P<repo>[^/]+)/issues/(?P<num>\d+)/comments",
             lambda repo, num: self._comment(repo, int(num), body, token)),
            ("GET", r"/search/issues", lambda: self._search_issues(q.get("q", ""))),
            *rest_routes(self, o, q),  # activity: repository activity, compare, rule suites, runs, audit log
            ("POST", r"/app/installations/(?P<iid>\d+)/access_tokens",
             lambda iid: (201, {"token": f"ghs_installation_{iid}", "expires_at": "2099-01-01T00:00:00Z",
                                "permissions": {}, "repository_selection": "all"})),
        ]
        for verb, pattern, handler in routes:
            m = re.fullmatch(pattern, path)
            if m and verb == method:
                self._per_minute(f"{verb} {pattern}", 1 if verb in ("GET", "HEAD", "OPTIONS") or pattern == "/graphql"
                                 else 5)
                result = handler(**m.groupdict())
                status, headers = 200, {}
                if isinstance(result, tuple):
                    status, result, *rest = result
                    headers = rest[0] if rest else {}
                return status, result, headers
            if m and verb != method and not any(re.fullmatch(p, path) and v == method for v, p, _ in routes):
                raise ApiError(404, "Not Found")
        raise ApiError(404, "Not Found")

    def roll(self) -> None:
        """A window starts with the first request it counts; past its reset, both budgets start
        again (call with ``org.lock`` held)."""
        now = time.time()
        if now >= self.reset_at or not self._counted:
            self.rate_used = self.graphql_used = 0
            self.reset_at = math.ceil(now) + self.window
        self._counted = True

    def _rate_info(self, resource: str = "core") -> dict[str, Any]:
        limit, used = ((self.graphql_limit, self.graphql_used) if resource == "graphql"
                       else (self.rate_limit, self.rate_used))
        return {"limit": limit, "remaining": max(0, limit - used), "reset": self.reset_at, "used": used,
                "resource": resource}

    def rate_headers(self, resource: str) -> dict[str, str]:
        info = self._rate_info(resource)
        return {"x-ratelimit-limit": str(info["limit"]), "x-ratelimit-remaining": str(info["remaining"]),
                "x-ratelimit-reset": str(info["reset"]), "x-ratelimit-used": str(info["used"]),
                "x-ratelimit-resource": resource}

    def _per_minute(self, endpoint: str, points: int) -> None:
        """GitHub's secondary limit on points per minute for one endpoint (REST 900, GraphQL 2,000)."""
        limit = self.secondary.graphql_per_minute if endpoint.endswith(" /graphql") else self.secondary.rest_per_minute
        if not limit:
            return
        now = time.monotonic()
        with self.org.lock:
            window = [t for t in self._windows.get(endpoint, []) if t > now - 60]
            if len(window) + points > limit:
                self._windows[endpoint] = window
                raise ApiError(403, SECONDARY_MESSAGE, {"Retry-After": str(max(1, math.ceil(window[0] + 60 - now)))})
            window += [now] * points
            self._windows[endpoint] = window

    def _team(self, slug: str) -> str:
        if slug not in self.org.teams:
            raise ApiError(404, "Not Found")
        return slug

    @staticmethod
    def _team_sync(org: Any, slug: str) -> dict[str, Any]:
        """GitHub's team synchronisation mapping (docs: "List IdP groups for a team"); a team whose
        fixture names no `idp_groups` has none (an org without team sync answers 404)."""
        if not org.data.get("team_sync"):
            raise ApiError(404, "Not Found")
        groups = org.teams[slug].get("idp_groups", [])
        return {"groups": [{"group_id": g["id"], "group_name": g["name"], "group_description": g.get("description", "")}
                           for g in groups]}

    def _org_json(self) -> dict[str, Any]:
        data = self.org.data["org"]
        return {"login": self.org.login, "id": 1, "node_id": "O_1", "name": data.get("name", self.org.login),
                "type": "Organization", "url": f"/orgs/{self.org.login}",
                "default_repository_permission": data.get("default_repository_permission", "read"),
                "members_can_create_repositories": True, "two_factor_requirement_enabled": True,
                "plan": {"name": data.get("plan", "enterprise")}}

    def _custom_roles(self) -> dict[str, Any]:
        if not self.org.token["org_admin"]:
            raise ApiError(403, "Must have admin rights to Repository.")
        roles = [{"id": r["id"], "name": r["name"], "description": r.get("description", ""),
                  "base_role": r["base_role"], "permissions": r.get("permissions", []),
                  "organization": {"login": self.org.login, "id": 1}} for r in self.org.custom_roles.values()]
        return {"total_count": len(roles), "custom_roles": roles}

    def _org_roles(self) -> dict[str, Any]:
        roles = [{"id": r["id"], "name": r["name"], "description": r.get("description", ""),
                  "base_role": r.get("base_role"), "permissions": r.get("permissions", []),
                  "source": r.get("source", "Predefined"), "organization": {"login": self.org.login, "id": 1}}
                 for r in self.org.data.get("org_roles", [])]
        return {"total_count": len(roles), "roles": roles}

    def _org_role(self, rid: str) -> dict[str, Any]:
        for r in self.org.data.get("org_roles", []):
            if str(r["id"]) == rid:
                return r
        raise ApiError(404, "Not Found")

    def _role_user(self, spec: Any) -> dict[str, Any]:
        """A user-role-assignment: ``assignment`` direct, indirect (through ``inherited_from``) or mixed."""
        spec = {"login": spec} if isinstance(spec, str) else spec
        user = self.org.user(spec["login"])
        user["assignment"] = spec.get("assignment", "direct")
        user["inherited_from"] = [{k: v for k, v in self.org.team(t).items() if k != "parent"}
                                  for t in spec.get("via", [])]
        return user

    def _role_team(self, spec: Any) -> dict[str, Any]:
        spec = {"slug": spec} if isinstance(spec, str) else spec
        team = self.org.team(spec["slug"])
        team["assignment"] = spec.get("assignment", "direct")
        return team

    def _workflow_permissions(self, repo: str | None) -> dict[str, Any]:
        """GET …/actions/permissions/workflow: off at the organisation is off in every repository."""
        data = self.org.data["org"]
        if data.get("actions_forbidden"):
            raise ApiError(403, "Resource not accessible by integration")
        allowed = bool(data.get("actions_can_approve", False))
        if repo is not None:
            allowed = allowed and bool(self.org.repo(repo).get("actions_can_approve", allowed))
        return {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": allowed}

    def _org_ruleset(self, rid: int) -> dict[str, Any]:
        rs = self.org.org_rulesets.get(rid)
        if rs is None:
            raise ApiError(404, "Not Found")
        if not self.org.token["org_admin"]:
            raise ApiError(403, "Must be an organization owner.")
        return self.org.ruleset_json(rs, self.org.login, "Organization", detail=True)

    def _collaborators(self, repo: str, q: dict[str, str]) -> list[dict[str, Any]]:
        r = self.org.repo(repo)
        if r.get("collaborators_forbidden"):
            raise ApiError(403, "Must have push access to view repository collaborators.")
        affiliation = q.get("affiliation", "all")
        roles: dict[str, str] = {}
        if affiliation in ("direct", "outside", "all"):
            for login, role in r.get("collaborators", {}).items():
                if affiliation == "outside" and self.org.people.get(login, {}).get("role") != "outside":
                    continue
                roles[login] = role
        if affiliation == "all":
            for slug in self.org.teams:
                role = self.org.team_repo_roles(slug).get(repo)
                if role:
                    for m in self.org.team_members(slug):
                        if m not in roles or _rank(role, self.org) > _rank(roles[m], self.org):
                            roles[m] = role
            base = self.org.data["org"].get("default_repository_permission", "read")
            for m in self.org.members("all"):
                if base != "none" and m not in roles:
                    roles[m] = base
            for m in self.org.members("admin"):
                roles[m] = "admin"
        out = []
        for login, role in roles.items():
            user = self.org.user(login)
            user.update(permissions=_permissions(role, self.org), role_name=role)
            out.append(user)
        return out

    def _repo_teams(self, repo: str) -> list[dict[str, Any]]:
        out = []
        for slug in self.org.teams:
            role = self.org.team_repo_roles(slug).get(repo)
            if role:
                team = self.org.team(slug)
                team["permission"] = {"read": "pull", "write": "push"}.get(self.org.base_role(role), self.org.base_role(role))
                out.append(team)
        return out

    def _branch(self, repo: str, branch: str) -> dict[str, Any]:
        r = self.org.repo(repo)
        branch = urllib.parse.unquote(branch)
        if branch not in r.get("branches", [r.get("default_branch", "main")]):
            raise ApiError(404, "Branch not found")
        protected = self.org.protection_rule(r, branch) is not None
        base = f"{self.url}/repos/{self.org.login}/{repo}/branches/{branch}"
        return {"name": branch, "commit": {"sha": "0" * 40, "url": base}, "protected": protected,
                "protection_url": base + "/protection", "_links": {"self": base}}

    def _protection(self, repo: str, branch: str) -> dict[str, Any]:
        r = self.org.repo(repo)
        rule = self.org.protection_rule(r, branch)
        if rule is None:
            raise ApiError(404, "Branch not protected")
        base = f"{self.url}/repos/{self.org.login}/{repo}/branches/{branch}/protection"
        out: dict[str, Any] = {"url": base, "enforce_admins": {"url": base + "/enforce_admins",
                                                               "enabled": bool(rule.get("enforce_admins"))},
                               "required_linear_history": {"enabled": False},
                               "allow_force_pushes": {"enabled": False}, "allow_deletions": {"enabled": False}}

        def actors(spec: dict[str, Any] | None) -> dict[str, Any]:
            spec = spec or {}
            return {"users": [self.org.user(u) for u in spec.get("users", [])],
                    "teams": [self.org.team(t) for t in spec.get("teams", [])],
                    "apps": [{"slug": a, "id": self.org.apps.get(a, {"id": 1})["id"]} for a in spec.get("apps", [])]}

        if rule.get("required_approvals") is not None:
            out["required_pull_request_reviews"] = {
                "url": base + "/required_pull_request_reviews",
                "dismiss_stale_reviews": bool(rule.get("dismiss_stale_reviews")),
                "require_code_owner_reviews": bool(rule.get("require_code_owner_reviews")),
                "required_approving_review_count": rule["required_approvals"],
                "require_last_push_approval": bool(rule.get("require_last_push_approval")),
                "bypass_pull_request_allowances": actors(rule.get("bypass_pull_request_allowances")),
            }
        if rule.get("push_restrictions") is not None:
            out["restrictions"] = {"url": base + "/restrictions", **actors(rule["push_restrictions"])}
        return out

    def _repo_rulesets(self, repo: str, q: dict[str, str]) -> list[dict[str, Any]]:
        r = self.org.repo(repo)
        full = f"{self.org.login}/{repo}"
        out = [self.org.ruleset_json(rs, full, "Repository", detail=False) for rs in r.get("rulesets", [])]
        if q.get("includes_parents", "true") == "true":
            out += [self.org.ruleset_json(rs, self.org.login, "Organization", detail=False)
                    for rs in self.org.org_rulesets_for(repo)]
        return out

    def _repo_ruleset(self, repo: str, rid: int) -> dict[str, Any]:
        r = self.org.repo(repo)
        for rs in r.get("rulesets", []):
            if rs["id"] == rid:
                return self.org.ruleset_json(rs, f"{self.org.login}/{repo}", "Repository", detail=True)
        for rs in self.org.org_rulesets_for(repo):
            if rs["id"] == rid:
                return self.org.ruleset_json(rs, self.org.login, "Organization", detail=True)
        raise ApiError(404, "Not Found")

    def _env_json(self, repo: str, index: int, env: dict[str, Any]) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        eid = 4000 + index
        if env.get("wait_timer"):
            rules.append({"id": eid * 10 + 1, "node_id": f"GA_{eid}_1", "type": "wait_timer",
                          "wait_timer": env["wait_timer"]})
        if env.get("reviewers"):
            reviewers = []
            for rv in env["reviewers"]:
                if rv["type"] == "Team":
                    reviewers.append({"type": "Team", "reviewer": self.org.team(rv["slug"])})
                else:
                    reviewers.append({"type": "User", "reviewer": self.org.user(rv["login"])})
            rules.append({"id": eid * 10 + 2, "node_id": f"GA_{eid}_2", "type": "required_reviewers",
                          "prevent_self_review": bool(env.get("prevent_self_review", False)), "reviewers": reviewers})
        policy = env.get("deployment_branch_policy")
        if policy is not None:
            rules.append({"id": eid * 10 + 3, "node_id": f"GA_{eid}_3", "type": "branch_policy"})
        return {"id": eid, "node_id": f"EN_{repo}_{index}", "name": env["name"],
                "url": f"/repos/{self.org.login}/{repo}/environments/{env['name']}",
                "html_url": f"https://github.example/{self.org.login}/{repo}/deployments/activity_log?environments_filter={env['name']}",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "can_admins_bypass": bool(env.get("can_admins_bypass", True)),
                "protection_rules": rules, "deployment_branch_policy": policy}

    def _environments(self, repo: str) -> dict[str, Any]:
        r = self.org.repo(repo)
        envs = [self._env_json(repo, i, e) for i, e in enumerate(r.get("environments", []))]
        return {"total_count": len(envs), "environments": envs}

    def _environment(self, repo: str, name: str) -> dict[str, Any]:
        r = self.org.repo(repo)
        for i, e in enumerate(r.get("environments", [])):
            if e["name"] == name:
                return self._env_json(repo, i, e)
        raise ApiError(404, "Not Found")

    def _branch_policies(self, repo: str, name: str) -> dict[str, Any]:
        r = self.org.repo(repo)
        for e in r.get("environments", []):
            if e["name"] == name:
                policies = [{"id": 5000 + i, "node_id": f"DBP_{i}", "name": p["name"], "type": p.get("type", "branch")}
                            for i, p in enumerate(e.get("branch_policies", []))]
                return {"total_count": len(policies), "branch_policies": policies}
        raise ApiError(404, "Not Found")

    def _repo_oidc(self, repo: str) -> dict[str, Any]:
        r = self.org.repo(repo)
        custom = r.get("oidc_sub")
        if custom is None:
            return {"use_default": True}
        return {"use_default": False, "include_claim_keys": custom}

    # -- issues

    def _issue_list(self, repo: str) -> list[dict[str, Any]]:
        self.org.repo(repo)
        return self.org.issues.setdefault(repo, [])

    def _issues(self, repo: str, q: dict[str, str]) -> list[dict[str, Any]]:
        state = q.get("state", "open")
        labels = [label for label in q.get("labels", "").split(",") if label]
        return [i for i in self._issue_list(repo) if (state == "all" or i["state"] == state)
                and all(label in [x["name"] for x in i["labels"]] for label in labels)]

    def _authenticated_user(self, token: str) -> dict[str, Any]:
        """GET /user: an installation token may not read it, as on GitHub."""
        if token.startswith("ghs_"):
            raise ApiError(403, "Resource not accessible by integration")
        return self.org.user(self.org.identity(token))

    def plant_issue(self, repo: str, *, title: str, body: str, author: str, labels: tuple[str, ...] = (),
                    state: str = "open") -> dict[str, Any]:
        """An issue someone else opened (for tests of what the exporter adopts)."""
        _, issue = self._create_issue(repo, {"title": title, "body": body, "labels": list(labels)}, "", author=author)
        if state == "closed":
            self._update_issue(repo, issue["number"], {"state": "closed", "state_reason": "completed"})
        return issue

    def _create_issue(self, repo: str, body: Any, token: str, *, author: str | None = None) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not body.get("title"):
            raise ApiError(422, "Validation Failed")
        with self.org.lock:
            issues = self._issue_list(repo)
            number = len(issues) + 1
            issue = {"id": 7000 + number, "node_id": f"I_{repo}_{number}", "number": number,
                     "title": body["title"], "body": body.get("body", ""), "state": "open", "state_reason": None,
                     "labels": [{"name": label} for label in body.get("labels", [])],
                     "assignees": [self.org.user(a) for a in body.get("assignees", [])],
                     "comments": 0, "comment_bodies": [],
                     "url": f"{self.url}/repos/{self.org.login}/{repo}/issues/{number}",
                     "html_url": f"https://github.example/{self.org.login}/{repo}/issues/{number}",
                     "repository_url": f"{self.url}/repos/{self.org.login}/{repo}",
                     "user": self.org.user(author or self.org.identity(token)), "created_at": "2026-01-01T00:00:00Z",
                     "updated_at": "2026-01-01T00:00:00Z", "closed_at": None}
            issues.append(issue)
        return 201, issue

    def _issue(self, repo: str, number: int) -> dict[str, Any]:
        for issue in self._issue_list(repo):
            if issue["number"] == number:
                return issue
        raise ApiError(404, "Not Found")

    def _update_issue(self, repo: str, number: int, body: Any) -> dict[str, Any]:
        issue = self._issue(repo, number)
        with self.org.lock:
            for key in ("title", "body", "state", "state_reason"):
                if key in body:
                    issue[key] = body[key]
            if "labels" in body:
                issue["labels"] = [{"name": label} for label in body["labels"]]
            if body.get("state") == "closed":
                issue["closed_at"] = "2026-01-02T00:00:00Z"
        return issue

    def _comment(self, repo: str, number: int, body: Any, token: str) -> tuple[int, dict[str, Any]]:
        issue = self._issue(repo, number)
        with self.org.lock:
            issue["comments"] += 1
            issue["comment_bodies"].append(body.get("body", ""))
        return 201, {"id": 8000 + issue["comments"], "body": body.get("body", ""),
                     "user": self.org.user(self.org.identity(token))}

    def _search_issues(self, query: str) -> dict[str, Any]:
        """GitHub issue search: quoted phrases and bare words in title or body, plus repo:/is:/state:."""
        terms = re.findall(r'(\w+):("[^"]*"|\S+)|"([^"]*)"|(\S+)', query)
        repo_filter, state, words = None, None, []
        for key, value, phrase, word in terms:
            value = value.strip('"')
            if key == "repo":
                repo_filter = value.split("/", 1)[-1]
            elif key in ("is", "state") and value in ("open", "closed"):
                state = value
            elif key in ("is", "type", "in"):
                continue
            elif key:
                words.append(f"{key}:{value}")
            else:
                words.append(phrase or word)
        found = []
        for repo, issues in self.org.issues.items():
            if repo_filter and repo != repo_filter:
                continue
            for issue in issues:
                text = f"{issue['title']}\n{issue['body']}".lower()
                if state and issue["state"] != state:
                    continue
                if all(w.lower() in text for w in words):
                    found.append(issue)
        return {"total_count": len(found), "incomplete_results": False, "items": found}

    # -- GraphQL

    def graphql(self, body: Any, token: str = "") -> tuple[int, dict[str, Any], dict[str, str]]:
        """One GraphQL call: validated, charged GitHub's rate-limit score, refused beyond the node limit."""
        if not isinstance(body, dict) or "query" not in body:
            raise ApiError(400, "Problems parsing JSON")
        document = self._documents.get(body["query"])
        if document is None:  # parse and validate each distinct query once: it is most of the cost
            try:
                document = graphql.parse(body["query"])
            except graphql.GraphQLError as exc:
                return 200, {"errors": [{**exc.formatted, "type": "INVALID"}]}, self.rate_headers("graphql")
            errors = graphql.validate(schema(), document)
            if errors:
                return 200, {"errors": [{**e.formatted, "type": "INVALID"} for e in errors]}, self.rate_headers("graphql")
            self._documents[body["query"]] = document
        variables = body.get("variables") or {}
        cost = query_cost(document, variables)
        if cost.nodes > NODE_LIMIT:  # GitHub's two wordings: one connection over the limit, or the whole query
            if cost.most > NODE_LIMIT:
                said = (f"By the time this query traverses to the {cost.deepest.rsplit('.', 1)[-1]} connection, it is "
                        f"requesting up to {cost.most:,} possible nodes")
            else:
                said = f"This query requests up to {cost.nodes:,} possible nodes"
            return 200, {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": (
                f"{said} which exceeds the maximum limit of {NODE_LIMIT:,}.")}]}, self.rate_headers("graphql")
        with self.org.lock:
            self.roll()
            if self.graphql_used + cost.points > self.graphql_limit:
                refused = True
            else:
                refused = False
                self.graphql_used += cost.points
        if refused:
            return 200, {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 1."}]}, \
                {**self.rate_headers("graphql"), "x-ratelimit-remaining": "0"}
        entry = getattr(self._current, "entry", None)
        if entry is not None:
            entry.points = cost.points
        result = graphql.execute(schema(), document, root_value=_Root(self.org, token, self, cost),
                                 variable_values=variables)
        out: dict[str, Any] = {}
        if result.errors:
            errors = []
            for error in result.errors:
                entry = error.formatted
                original = getattr(error, "original_error", None)
                entry["type"] = getattr(original, "gh_type", None) or getattr(error, "gh_type", None) or "INVALID"
                errors.append(entry)
            out["errors"] = errors
        if result.data is not None or not result.errors:
            out["data"] = result.data
        return 200, out, self.rate_headers("graphql")


@dataclass(frozen=True)
class SecondaryLimits:
    """GitHub's secondary rate limits that a reader can meet ("Rate limits for the REST API",
    secondary-rate-limit-rest-graphql): requests in flight at once, and points per minute per
    endpoint (a GET or a GraphQL query 1 point, other REST verbs 5). 0 switches one off."""

    concurrent: int = 100
    rest_per_minute: int = 900
    graphql_per_minute: int = 2000


SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                     "If you reach out to GitHub Support for help, please include the request ID FAKE.")


class _Root:
    def __init__(self, org: Org, token: str = "", fake: "FakeGitHub | None" = None, cost: QueryCost | None = None):
        self._org = org
        self._token = token
        self._fake = fake
        self._cost = cost

    def viewer(self, info: Any) -> dict[str, Any]:
        """The token's own identity: an installation token's is its app's bot, ``SLUG[bot]``."""
        login = self._org.identity(self._token)
        return {**_gql_user(self._org, login), "login": login}

    def node(self, info: Any, id: str) -> Any:
        """``node(id:)`` for the objects foureyes pages through a second time."""
        org = self._org
        kind, _, rest = id.partition("_")
        if kind == "R":
            by_id = org.__dict__.setdefault("_repo_by_id", {str(i): n for n, i in org.repo_ids.items()})
            name = by_id.get(rest)
            return GqlRepo(org, name) if name else None
        if kind == "T":
            slug = next((s for s, i in org.team_ids.items() if str(i) == rest), None)
            return GqlTeam(org, slug) if slug else None
        if kind == "RRS":
            for name, repo in org.repos.items():
                for rs in repo.get("rulesets", []):
                    if str(rs["id"]) == rest:
                        return GqlRuleset(org, rs, {"__typename": "Repository", "nameWithOwner": f"{org.login}/{name}",
                                                    "id": f"R_{org.repo_ids[name]}"})
            rs = next((r for r in org.org_rulesets.values() if str(r["id"]) == rest), None)
            return GqlRuleset(org, rs, {"__typename": "Organization", "login": org.login, "id": "O_1"}) if rs else None
        if kind == "BPR":
            for repo in org.repos.values():
                for rule in repo.get("protection", []):
                    found = GqlBranchProtection(org, repo, rule)
                    if found.id == id:
                        return found
        return None

    def organization(self, info: Any, login: str) -> Any:
        if login.lower() != self._org.login.lower():
            raise graphql.GraphQLError(f"Could not resolve to an Organization with the login of '{login}'.")
        return GqlOrg(self._org)

    def repository(self, info: Any, owner: str, name: str, followRenames: bool = True) -> Any:
        if owner.lower() != self._org.login.lower() or name not in self._org.repos:
            raise graphql.GraphQLError(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return GqlRepo(self._org, name)

    def rateLimit(self, info: Any, dryRun: bool = False) -> dict[str, Any]:
        """This query's score (GitHub's formula) and the GraphQL budget after it was charged."""
        fake, cost = self._fake, self._cost
        if fake is None or cost is None:
            return {"cost": 1, "limit": 5000, "nodeCount": 0, "remaining": 4999, "resetAt": "2099-01-01T00:00:00Z",
                    "used": 1}
        info_ = fake._rate_info("graphql")
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info_["reset"]))
        return {"cost": cost.points, "limit": info_["limit"], "nodeCount": cost.nodes,
                "remaining": info_["remaining"], "resetAt": reset, "used": info_["used"]}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK and every answer costs ~40 ms more on loopback than the configured latency.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.fake
        started = time.monotonic()
        fake.stats.enter()
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        entry = LoggedRequest(method, path, parsed.query, 0, started, started)
        fake._current.entry = entry
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if fake.latency:
                time.sleep(fake.latency)
            auth = self.headers.get("Authorization", "")
            if auth:
                fake.tokens.append(auth.split(" ", 1)[-1])
            fault = fake.faults.match(method, path, raw.decode("utf-8", "replace"))
            if fault is not None:
                entry.fault = fault.action
                if self._inject(fault, entry):
                    return
            if auth and fake.org.token.get("reject"):
                self._send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                           {}, entry)
                return
            if fake.secondary.concurrent and fake.stats.in_flight > fake.secondary.concurrent:
                self._send(403, {"message": SECONDARY_MESSAGE, "documentation_url":
                                 "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                           {"Retry-After": "60"}, entry)
                return
            if not auth and not path.startswith("/app/"):
                self._send(401, {"message": "Requires authentication",
                                 "documentation_url": "https://docs.github.com/rest"}, {}, entry)
                return
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._send(400, {"message": "Problems parsing JSON"}, {}, entry)
                return
            query = urllib.parse.parse_qs(parsed.query)
            try:
                token = auth.split(" ", 1)[-1] if auth else ""
                status, data, headers = fake.route(method, path, query, body, token)
            except ApiError as exc:
                self._send(exc.status, {"message": exc.message,
                                        "documentation_url": "https://docs.github.com/rest"}, exc.headers, entry)
                return
            if isinstance(data, list):
                data, headers = self._paginate(data, parsed, query)
            elif isinstance(data, (Cursored, Listed)):
                data, headers = data.page(self.headers.get("Host", "127.0.0.1"), parsed, query)
            self._send(status, data, headers, entry)
        except (BrokenPipeError, ConnectionResetError):
            entry.status = -1
        finally:
            entry.ended = time.monotonic()
            fake.stats.leave(entry)

    def _inject(self, fault: Fault, entry: LoggedRequest) -> bool:
        """Misbehave as planned; True when the response has been dealt with."""
        if fault.action == "delay":
            time.sleep(fault.delay)
            return False
        if fault.action == "exhaust":
            self._exhausted_until = time.time() + fault.delay
            return False
        if fault.action == "reset":
            entry.status = -1
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            self.connection.close()
            return True
        if fault.action == "echo":
            auth = self.headers.get("Authorization", "")
            self._send(fault.status, {"message": f"Forbidden for the credentials you sent: Authorization: {auth}",
                                      "documentation_url": "https://docs.github.com/rest"}, dict(fault.headers), entry)
            return True
        if fault.action == "malformed":
            payload = b'{"login": "acme", "oops": '
            self._raw(200, payload, {"Content-Type": "application/json; charset=utf-8"}, entry)
            return True
        if fault.action == "truncate":
            payload = json.dumps([{"login": f"user{i}"} for i in range(20)]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            entry.status = 200
            self.close_connection = True
            return True
        self._send(fault.status, fault.body if fault.body is not None else {"message": "Server Error"},
                   dict(fault.headers), entry)
        return True

    def _paginate(self, items: list[Any], parsed: urllib.parse.SplitResult,
                  query: dict[str, list[str]]) -> tuple[list[Any], dict[str, str]]:
        try:
            per_page = min(100, max(1, int(query.get("per_page", ["30"])[-1])))
            page = max(1, int(query.get("page", ["1"])[-1]))
        except ValueError:
            raise ApiError(422, "Invalid pagination parameter") from None
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        host = self.headers.get("Host", "127.0.0.1")

        def link(p: int) -> str:
            params = {k: v[-1] for k, v in query.items()}
            params.update(per_page=str(per_page), page=str(p))
            return f"<http://{host}{parsed.path}?{urllib.parse.urlencode(params)}>"

        rels = []
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
        return chunk, ({"Link": ", ".join(rels)} if rels else {})

    def _send(self, status: int, data: Any, headers: dict[str, str], entry: LoggedRequest) -> None:
        payload = json.dumps(data).encode()
        self._raw(status, payload, {"Content-Type": "application/json; charset=utf-8", **headers}, entry)

    def _raw(self, status: int, payload: bytes, headers: dict[str, str], entry: LoggedRequest) -> None:
        fake = self.fake
        resource = "graphql" if entry.path == "/graphql" else "core"
        if resource == "core":  # a GraphQL call is charged its points in `graphql`, not a REST request
            with fake.org.lock:
                fake.roll()
                fake.rate_used += 1
        rate = {**fake.rate_headers(resource), "X-GitHub-Request-Id": f"FAKE:{fake.stats.total}"}
        exhausted = getattr(self, "_exhausted_until", None)
        if exhausted is not None:
            # GitHub's reset is in whole epoch seconds: answer at the start of a second, so the
            # window is `delay` long. Truncated at any moment, a 1 s window was 0 to 1 s away and,
            # on a busy machine, already past when the client read it.
            window = round(exhausted - time.time())
            second = math.ceil(time.time())
            time.sleep(max(0.0, second - time.time()))
            rate.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(second + window)})
            self._exhausted_until = None
        lowered = {k.lower() for k in headers}
        self.send_response(status)
        for key, value in {**{k: v for k, v in rate.items() if k.lower() not in lowered}, **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        fake.stats.answered(entry)
        self.end_headers()
        self.wfile.write(payload)
        entry.status = status


# ---------------------------------------------------------------- synthetic organisations


def synthetic_org(*, repos: int, members: int, teams: int, org: str = "synth", environments_every: int = 10,
                  rulesets_every: int = 7, seed: int = 7) -> dict[str, Any]:
    """A large, deterministic fixture for budget and scale tests (no randomness beyond ``seed``)."""
    people = [{"login": f"user{i:05d}", "name": f"User {i}", "role": "owner" if i < 2 else "member",
               "saml": f"user{i:05d}@{org}.example"} for i in range(members)]
    team_list = []
    for t in range(teams):
        team_list.append({
            "slug": f"team-{t:03d}", "name": f"Team {t}", "parent": f"team-{t // 5 * 5:03d}" if t % 5 else None,
            "maintainers": [people[(t * 7 + seed) % members]["login"]],
            "members": [people[(t * 7 + j + 1 + seed) % members]["login"] for j in range(min(8, members))],
            "repos": {f"repo-{r:04d}": ("write" if (r + t) % 3 else "maintain")
                      for r in range(t, repos, max(1, teams))},
        })
    repo_list = []
    for r in range(repos):
        repo: dict[str, Any] = {
            "name": f"repo-{r:04d}", "default_branch": "main", "branches": ["main", "develop"],
            "collaborators": {people[(r * 13) % members]["login"]: "write"} if r % 4 == 0 else {},
            "protection": [{"pattern": "main", "required_approvals": 1 + r % 2, "enforce_admins": r % 3 == 0}]
            if r % 5 else [],
        }
        if r % rulesets_every == 0:
            repo["rulesets"] = [{"id": 90000 + r, "name": "main", "enforcement": "active",
                                 "rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1}}],
                                 "bypass_actors": [{"actor_type": "RepositoryRole", "actor": "admin",
                                                    "bypass_mode": "always"}]}]
        if r % environments_every == 0:
            team = team_list[r % teams]["slug"] if teams else None
            repo["environments"] = [{"name": "production", "reviewers": [{"type": "Team", "slug": team}] if team else [],
                                     "prevent_self_review": True, "can_admins_bypass": False,
                                     "deployment_branch_policy": {"protected_branches": True,
                                                                  "custom_branch_policies": False}}]
            repo["workflows"] = {"deploy.yml": _SYNTH_WORKFLOW.format(org=org, repo=f"repo-{r:04d}")}
        repo_list.append(repo)
    return {"org": {"login": org, "name": org.title(), "default_repository_permission": "read", "saml": True},
            "people": people, "teams": team_list, "repos": repo_list}


_SYNTH_WORKFLOW = """name: deploy
on: {{push: {{branches: [main]}}}}
permissions: {{id-token: write, contents: read}}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::111111111111:role/{repo}-deploy
          aws-region: us-east-1
"""


def iter_logins(org: dict[str, Any]) -> Iterable[str]:
    return (p["login"] for p in org.get("people", []))
