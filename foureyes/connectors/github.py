"""GitHub: who can push, merge unreviewed, approve and administer each repository.

Fetch (thin, paged, counted: `github_api`) → translate (pure: payloads to principals,
grants, edges and gaps). GitHub Actions (environments, workflows, OIDC) is `actions.py`.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..config import Config, GitHubSource
from ..errors import SourceError
from ..model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
    principal_key,
    resource_key,
)
from .base import Progress, ProgressEvent, SourceBuilder, no_progress, utcnow
from .github_api import SOURCE, ApiFailure, GitHubApi

ROLE_RANK = {"none": -1, "read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}
# Built-in repository roles as ruleset bypass actors (actor_type RepositoryRole).
ROLE_IDS = {2: "maintain", 4: "write", 5: "admin"}
REPO_PAGE = 25  # repositories per GraphQL page: keeps each query far below GitHub's node limit

# ---------------------------------------------------------------- GraphQL documents

MEMBERS_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  membersWithRole(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    edges { role node { login name email databaseId } } } } }
"""

SAML_QUERY = """
query($org: String!, $after: String) { organization(login: $org) { samlIdentityProvider {
  externalIdentities(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { samlIdentity { nameId emails { value } } user { login } } } } } }
"""

TEAMS_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  teams(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { databaseId slug name privacy parentTeam { slug }
      members(first: 100, membership: IMMEDIATE) { totalCount pageInfo { hasNextPage endCursor }
        edges { role node { login name } } } } } } }
"""

TEAM_MEMBERS_QUERY = """
query($org: String!, $slug: String!, $after: String) { organization(login: $org) { team(slug: $slug) {
  members(first: 100, after: $after, membership: IMMEDIATE) { pageInfo { hasNextPage endCursor }
    edges { role node { login name } } } } } }
"""

_ACTOR = "actor { __typename ... on User { login } ... on Team { slug } ... on App { slug } }"
REPOS_QUERY = """
query($org: String!, $after: String, $first: Int!) { organization(login: $org) {
  repositories(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes {
      databaseId name nameWithOwner isArchived isFork visibility
      defaultBranchRef { name branchProtectionRule { id } }
      branchProtectionRules(first: 50) { totalCount nodes {
        id pattern requiresApprovingReviews requiredApprovingReviewCount isAdminEnforced
        requireLastPushApproval requiresCodeOwnerReviews dismissesStaleReviews restrictsPushes
        blocksCreations lockBranch
        pushAllowances(first: 50) { totalCount nodes { %(actor)s } }
        bypassPullRequestAllowances(first: 50) { totalCount nodes { %(actor)s } }
        matchingRefs(first: 50) { totalCount nodes { name } } } }
      rulesets(first: 50, includeParents: true) { totalCount nodes {
        databaseId name enforcement target
        source { __typename ... on Repository { nameWithOwner } ... on Organization { login } ... on Enterprise { slug } }
        conditions { refName { include exclude } }
        rules(first: 50) { totalCount nodes { type parameters { __typename
          ... on PullRequestParameters { requiredApprovingReviewCount requireLastPushApproval requireCodeOwnerReview
                                         dismissStaleReviewsOnPush } } } } } }
      environments(first: 50) { totalCount nodes { name } }
      workflows: object(expression: "HEAD:.github/workflows") { ... on Tree {
        entries { name type object { ... on Blob { text isBinary isTruncated byteSize } } } } }
    } } } }
""" % {"actor": _ACTOR}


# ---------------------------------------------------------------- fetched data


@dataclass
class TeamData:
    slug: str
    name: str
    parent: str | None
    privacy: str
    id: int = 0
    members: list[tuple[str, str]] = field(default_factory=list)  # (login, MEMBER|MAINTAINER), immediate
    repos: dict[str, str] | None = None  # full name -> role_name; None: could not be read


@dataclass
class RepoData:
    full: str
    name: str
    archived: bool
    visibility: str
    default_branch: str
    classic: list[dict[str, Any]]  # GraphQL BranchProtectionRule nodes
    default_rule_id: str | None
    rulesets: list[dict[str, Any]]  # GraphQL RepositoryRuleset nodes (repo, org and enterprise level)
    environment_names: list[str]
    workflows: dict[str, str | None]  # file name -> YAML text (None: binary or truncated)
    collaborators: dict[str, str] | None = None  # login -> role_name (direct); None: not readable
    ruleset_details: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    environments: list[dict[str, Any]] | None = None  # REST environments (actions.py)
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    oidc: dict[str, Any] | None = None  # repo OIDC subject customisation, when fetched
    scan: Any = None  # actions.WorkflowScan, parsed once
    gaps: list[Gap] = field(default_factory=list)

    @property
    def key(self) -> str:
        return resource_key("github", "repo", self.full)


@dataclass
class OrgData:
    login: str
    name: str
    base_permission: str
    plan: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # login -> {name, email, role}
    user_ids: dict[int, str] = field(default_factory=dict)  # databaseId -> login (ruleset bypass actors)
    outside: set[str] = field(default_factory=set)
    saml: dict[str, str] = field(default_factory=dict)  # login -> email
    saml_state: str = "unknown"  # ok | absent | forbidden | failed
    teams: dict[str, TeamData] = field(default_factory=dict)
    custom_roles: dict[str, dict[str, Any]] | None = field(default_factory=dict)  # None: not readable
    org_roles: list[dict[str, Any]] = field(default_factory=list)
    oidc: list[str] | None = None
    repos: list[RepoData] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def owners(self) -> set[str]:
        found = self.__dict__.get("_owners")
        if found is None or found[0] != len(self.members):  # members are only added while fetching
            found = (len(self.members), {login for login, m in self.members.items() if m.get("role") == "owner"})
            self.__dict__["_owners"] = found
        return found[1]

    @property
    def key(self) -> str:
        return resource_key("github", "org", self.login)


# ---------------------------------------------------------------- the connector


class GitHubConnector:
    """`[sources.github]`: one organisation, its repositories, and their GitHub Actions."""

    name = "github"

    def __init__(self, section: GitHubSource, *, config: Config):
        self.section = section
        self.config = config
        if not section.org:
            raise SourceError("[sources.github] org is empty; name the organisation to audit")

    def collect(self, progress: Progress = no_progress) -> SourceResult:
        started = utcnow()
        api = GitHubApi(self.section, progress)
        fetcher = Fetcher(api, self.section, progress)
        org = fetcher.fetch()
        progress(ProgressEvent(SOURCE, f"translating {len(org.repos)} repositories"))
        result = translate(org, self.config, self.section)
        return result.result(self.name, "github", started_at=started, finished_at=utcnow(),
                             stats=api.meter.stats())


class Fetcher:
    """Reads one organisation with a bounded pool; every failure becomes a Gap."""

    def __init__(self, api: GitHubApi, section: GitHubSource, progress: Progress):
        self.api = api
        self.section = section
        self.progress = progress
        self.org_login = section.org
        self._lock = threading.Lock()
        self._org_rulesets: dict[int, Future[dict[str, Any] | None]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Future[None]] = []
        self._repos_done = 0
        self._repos_expected = 0  # the organisation's repositories less those left out so far

    # ------------------------------------------------------------ orchestration

    def fetch(self) -> OrgData:
        org = self._org()
        readers = (self._repositories, self._teams, self._members, self._saml, self._outside, self._custom_roles,
                   self._org_roles, self._org_oidc)
        # The organisation's lists are cursor chains, each read in a thread of its own; what a page
        # makes possible (a team's repositories, a repository's collaborators, environments …)
        # starts as soon as the page arrives, in the pool. `api.slots` bounds what is in flight.
        with ThreadPoolExecutor(max_workers=max(1, self.section.concurrency), thread_name_prefix="github") as pool, \
                ThreadPoolExecutor(max_workers=len(readers), thread_name_prefix="github-list") as lists:
            self._pool = pool
            for reader in [lists.submit(read, org) for read in readers]:
                reader.result()
            with self._lock:
                jobs = list(self._jobs)  # every list has been read: nothing submits any more
            for job in jobs:
                job.result()
        self._pool = None
        org.repos.sort(key=lambda r: r.full)
        return org

    def _submit(self, work: Callable[..., None], *args: Any) -> None:
        assert self._pool is not None
        with self._lock:
            self._jobs.append(self._pool.submit(work, *args))

    def _read_repo(self, org: OrgData, repo: RepoData) -> None:
        from . import actions

        self._repo_details(org, repo)
        actions.fetch_repo(self, org, repo)
        with self._lock:
            self._repos_done += 1
            count, total = self._repos_done, max(self._repos_done, self._repos_expected)
        self.progress(ProgressEvent(SOURCE, f"read {repo.full}", count, total))

    def guard(self, gaps: list[Gap], resource: str, hides: str, action: Callable[[], Any],
              *, missing_ok: bool = False) -> Any:
        """Run one read; a failure becomes a Gap on ``resource`` and None is returned."""
        try:
            return action()
        except ApiFailure as exc:
            if missing_ok and exc.status == 404:
                return None
            with self._lock:
                gaps.append(Gap("github", resource, str(exc), hides))
            return None

    # ------------------------------------------------------------ organisation

    def _org(self) -> OrgData:
        try:
            data = self.api.get(f"/orgs/{self.org_login}")
        except ApiFailure as exc:
            if exc.status == 401:
                raise SourceError("GitHub rejected the token (401 Bad credentials); check "
                                  f"${self.section.token_env} or the GitHub App settings") from None
            if exc.status == 404:
                raise SourceError(f"GitHub organisation {self.org_login!r} not found, or the token cannot see it") from None
            raise SourceError(f"cannot read the GitHub organisation {self.org_login!r}: {exc}") from None
        return OrgData(login=str(data.get("login") or self.org_login), name=str(data.get("name") or ""),
                       base_permission=str(data.get("default_repository_permission") or "read"),
                       plan=str((data.get("plan") or {}).get("name", "")))

    def _graphql_pages(self, query: str, variables: dict[str, Any], path: list[str]) -> Iterable[dict[str, Any]]:
        """Each page's connection object at ``path``; raises ApiFailure on GraphQL errors."""
        after = None
        while True:
            data, errors = self.api.graphql(query, {**variables, "after": after}, urgent=True)
            if errors:
                raise ApiFailure("POST", "/graphql", None, _graphql_error(errors))
            node: Any = data
            for step in path:
                node = (node or {}).get(step)
            if node is None:
                return
            yield node
            info = node.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")

    def _members(self, org: OrgData) -> None:
        def read() -> None:
            for page in self._graphql_pages(MEMBERS_QUERY, {"org": org.login}, ["organization", "membersWithRole"]):
                for edge in page.get("edges") or []:
                    user = edge.get("node") or {}
                    if user.get("login"):
                        if user.get("databaseId"):
                            org.user_ids[int(user["databaseId"])] = user["login"]
                        org.members[user["login"]] = {
                            "name": user.get("name") or "", "email": user.get("email") or "",
                            "role": "owner" if edge.get("role") == "ADMIN" else "member"}

        self.guard(org.gaps, org.key, "organisation members and owners (owners hold admin on every repository)", read)

    def _outside(self, org: OrgData) -> None:
        def read() -> None:
            for user in self.api.paginate(f"/orgs/{org.login}/outside_collaborators"):
                org.outside.add(user["login"])

        self.guard(org.gaps, org.key, "which accounts are outside collaborators", read)

    def _saml(self, org: OrgData) -> None:
        after = None
        try:
            while True:
                data, errors = self.api.graphql(SAML_QUERY, {"org": org.login, "after": after}, urgent=True)
                if errors:
                    org.saml_state = "forbidden"
                    self.progress(ProgressEvent(SOURCE, "SAML identities are not visible with this token "
                                                f"({_graphql_error(errors)}); GitHub logins are linked by config only",
                                                level="warning"))
                    with self._lock:
                        org.gaps.append(Gap("github", org.key, f"SAML identities not readable: {_graphql_error(errors)}",
                                            "links between GitHub logins and corporate emails"))
                    return
                idp = ((data.get("organization") or {}).get("samlIdentityProvider"))
                if idp is None:
                    org.saml_state = "absent"
                    self.progress(ProgressEvent(SOURCE, f"SAML single sign-on is not set up for {org.login}; "
                                                "GitHub logins are linked through [identity] only", level="warning"))
                    return
                conn = idp.get("externalIdentities") or {}
                for node in conn.get("nodes") or []:
                    login = ((node or {}).get("user") or {}).get("login")
                    email = _saml_email(node.get("samlIdentity") or {})
                    if login and email:
                        org.saml[login] = email
                org.saml_state = "ok"
                info = conn.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    return
                after = info.get("endCursor")
        except ApiFailure as exc:
            org.saml_state = "failed"
            with self._lock:
                org.gaps.append(Gap("github", org.key, str(exc), "links between GitHub logins and corporate emails"))

    def _custom_roles(self, org: OrgData) -> None:
        def read() -> dict[str, dict[str, Any]]:
            data = self.api.get(f"/orgs/{org.login}/custom-repository-roles")
            return {r["name"]: r for r in (data or {}).get("custom_roles", [])}

        try:
            org.custom_roles = read()
        except ApiFailure as exc:
            if exc.status == 404:  # not on this plan: there are no custom roles
                org.custom_roles = {}
                return
            org.custom_roles = None
            with self._lock:
                org.gaps.append(Gap("github", org.key, str(exc),
                                    "permissions of custom repository roles (treated as their base role, "
                                    "without bypass rights)"))

    def _org_roles(self, org: OrgData) -> None:
        def read() -> None:
            data = self.api.get(f"/orgs/{org.login}/organization-roles")
            for role in (data or {}).get("roles", []):
                if ROLE_RANK.get(str(role.get("base_role") or "none"), -1) < ROLE_RANK["write"]:
                    continue  # only roles that reach code matter here
                role = dict(role)
                role["teams"] = [t["slug"] for t in self.api.paginate(
                    f"/orgs/{org.login}/organization-roles/{role['id']}/teams")]
                role["users"] = [u["login"] for u in self.api.paginate(
                    f"/orgs/{org.login}/organization-roles/{role['id']}/users")]
                org.org_roles.append(role)

        self.guard(org.gaps, org.key, "organisation roles that grant access to every repository", read,
                   missing_ok=True)

    def _org_oidc(self, org: OrgData) -> None:
        data = self.guard(org.gaps, org.key, "the organisation's OIDC subject template",
                          lambda: self.api.get(f"/orgs/{org.login}/actions/oidc/customization/sub"), missing_ok=True)
        if data:
            org.oidc = list(data.get("include_claim_keys") or [])

    # ------------------------------------------------------------ teams

    def _teams(self, org: OrgData) -> None:
        def read() -> None:
            for page in self._graphql_pages(TEAMS_QUERY, {"org": org.login}, ["organization", "teams"]):
                for node in page.get("nodes") or []:
                    team = TeamData(slug=node["slug"], name=node.get("name") or node["slug"],
                                    parent=(node.get("parentTeam") or {}).get("slug"),
                                    privacy=str(node.get("privacy") or "VISIBLE").lower(),
                                    id=int(node.get("databaseId") or 0))
                    members = node.get("members") or {}
                    team.members = [(e["node"]["login"], e.get("role", "MEMBER")) for e in members.get("edges") or []
                                    if e.get("node")]
                    if (members.get("pageInfo") or {}).get("hasNextPage"):
                        more = self._graphql_pages(TEAM_MEMBERS_QUERY, {"org": org.login, "slug": team.slug},
                                                   ["organization", "team", "members"])
                        seen = False
                        for extra in more:
                            if not seen:  # the first page repeats what we have
                                seen = True
                                continue
                            team.members += [(e["node"]["login"], e.get("role", "MEMBER"))
                                             for e in extra.get("edges") or [] if e.get("node")]
                    org.teams[team.slug] = team
                    self._submit(self._team_repos, org, team)

        self.guard(org.gaps, org.key, "teams, their members and their repository access", read)

    def _team_repos(self, org: OrgData, team: TeamData) -> None:
        def read() -> dict[str, str]:
            out = {}
            for repo in self.api.paginate(f"/orgs/{org.login}/teams/{team.slug}/repos"):
                out[repo["full_name"]] = str(repo.get("role_name") or _legacy_role(repo.get("permissions") or {}))
            return out

        team.repos = self.guard(org.gaps, org.key, f"the repositories team {team.slug} can reach, and its roles there",
                                read)

    # ------------------------------------------------------------ repositories

    def _repositories(self, org: OrgData) -> None:
        def read() -> None:
            first = True
            for page in self._graphql_pages(REPOS_QUERY, {"org": org.login, "first": REPO_PAGE},
                                            ["organization", "repositories"]):
                wanted = []
                for node in page.get("nodes") or []:
                    if node is None:
                        continue
                    repo = _repo_from_graphql(node)
                    if self._wanted(repo):
                        wanted.append(repo)
                with self._lock:  # the progress total: what the organisation has, less what is left out
                    if first:
                        self._repos_expected = int(page.get("totalCount") or 0)
                        first = False
                    self._repos_expected -= len(page.get("nodes") or []) - len(wanted)
                    org.repos += wanted
                for repo in wanted:
                    self._submit(self._read_repo, org, repo)

        self.guard(org.gaps, org.key, "repositories (and everything about them)", read)

    def _wanted(self, repo: RepoData) -> bool:
        if repo.archived and not self.section.include_archived:
            return False
        names = (repo.name, repo.full)
        if not any(fnmatch.fnmatchcase(n, p) for n in names for p in self.section.include):
            return False
        return not any(fnmatch.fnmatchcase(n, p) for n in names for p in self.section.exclude)

    def _repo_details(self, org: OrgData, repo: RepoData) -> None:
        def collaborators() -> dict[str, str]:
            out = {}
            for user in self.api.paginate(f"/repos/{repo.full}/collaborators", affiliation="direct"):
                out[user["login"]] = str(user.get("role_name") or _legacy_role(user.get("permissions") or {}))
            return out

        repo.collaborators = self.guard(repo.gaps, repo.key, "direct collaborators and their roles", collaborators)
        for ruleset in repo.rulesets:
            if not _ruleset_matters(ruleset):
                continue
            rid = int(ruleset["databaseId"])
            source = ruleset.get("source") or {}
            if source.get("__typename") == "Organization":
                repo.ruleset_details[rid] = self._org_ruleset(org, repo, rid, ruleset["name"])
            else:
                repo.ruleset_details[rid] = self._ruleset(repo, f"/repos/{repo.full}/rulesets/{rid}", ruleset["name"])

    def _ruleset(self, repo: RepoData, path: str, name: str) -> dict[str, Any] | None:
        detail = self.guard(repo.gaps, repo.key, f"bypass actors of ruleset '{name}' (who may merge without review)",
                            lambda: self.api.get(path))
        if detail is not None and "bypass_actors" not in detail:
            with self._lock:
                repo.gaps.append(Gap("github", repo.key, f"ruleset '{name}': bypass list not visible with this token "
                                     f"(GET {path} returned no bypass_actors)",
                                     "ruleset bypass actors who may merge without review"))
            detail = dict(detail, bypass_actors=None)
        return detail

    def _org_ruleset(self, org: OrgData, repo: RepoData, rid: int, name: str) -> dict[str, Any] | None:
        path = f"/orgs/{org.login}/rulesets/{rid}"
        with self._lock:
            future = self._org_rulesets.get(rid)
            owner = future is None
            if owner:
                future = Future()
                self._org_rulesets[rid] = future
        assert future is not None
        if owner:
            try:
                future.set_result(self.api.get(path))
            except ApiFailure as exc:
                future.set_exception(exc)
        try:
            detail = future.result()
        except ApiFailure as exc:
            with self._lock:
                repo.gaps.append(Gap("github", repo.key, f"organisation ruleset '{name}': {exc}",
                                     "ruleset bypass actors who may merge without review"))
            return None
        if detail is not None and "bypass_actors" not in detail:
            with self._lock:
                repo.gaps.append(Gap("github", repo.key, f"organisation ruleset '{name}': bypass list not visible "
                                     f"with this token (GET {path} returned no bypass_actors)",
                                     "ruleset bypass actors who may merge without review"))
            detail = dict(detail, bypass_actors=None)
        return detail


def _repo_from_graphql(node: dict[str, Any]) -> RepoData:
    default = node.get("defaultBranchRef") or {}
    workflows: dict[str, str | None] = {}
    tree = node.get("workflows") or {}
    for entry in tree.get("entries") or []:
        name = entry.get("name", "")
        if entry.get("type") != "blob" or not name.endswith((".yml", ".yaml")):
            continue
        blob = entry.get("object") or {}
        workflows[name] = None if blob.get("isBinary") or blob.get("isTruncated") else blob.get("text")
    repo = RepoData(
        full=node["nameWithOwner"], name=node["name"], archived=bool(node.get("isArchived")),
        visibility=str(node.get("visibility") or "PRIVATE").lower(), default_branch=default.get("name") or "main",
        classic=[n for n in (node.get("branchProtectionRules") or {}).get("nodes") or [] if n],
        default_rule_id=(default.get("branchProtectionRule") or {}).get("id"),
        rulesets=[n for n in (node.get("rulesets") or {}).get("nodes") or [] if n],
        environment_names=[n["name"] for n in (node.get("environments") or {}).get("nodes") or [] if n],
        workflows=workflows,
    )
    key = repo.key
    for label, conn in (("branch protection rules", node.get("branchProtectionRules")),
                        ("rulesets", node.get("rulesets")), ("environments", node.get("environments"))):
        if conn and conn.get("totalCount", 0) > len(conn.get("nodes") or []):
            repo.gaps.append(Gap("github", key, f"more than {len(conn.get('nodes') or [])} {label}; the rest were not read",
                                 f"{label} beyond the first page"))
    for rule in repo.classic:
        for label in ("pushAllowances", "bypassPullRequestAllowances"):
            conn = rule.get(label) or {}
            if conn.get("totalCount", 0) > len(conn.get("nodes") or []):
                repo.gaps.append(Gap("github", key, f"branch rule {rule.get('pattern')}: {label} truncated",
                                     "actors allowed to push or bypass reviews"))
    for name, text in workflows.items():
        if text is None:
            repo.gaps.append(Gap("github", key, f".github/workflows/{name} could not be read as text (binary or too large)",
                                 "cloud identities that workflow takes on"))
    return repo


def _ruleset_matters(ruleset: dict[str, Any]) -> bool:
    """Active branch rulesets that gate merging: the only ones whose bypass list we need."""
    if ruleset.get("enforcement") != "ACTIVE" or (ruleset.get("target") or "BRANCH") != "BRANCH":
        return False
    return any(r.get("type") in ("PULL_REQUEST", "UPDATE") for r in (ruleset.get("rules") or {}).get("nodes") or [])


def _graphql_error(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    kind = first.get("type") or "ERROR"
    return f"GraphQL {kind}: {str(first.get('message', ''))[:160]}"


def _saml_email(identity: dict[str, Any]) -> str:
    candidates = [identity.get("nameId") or ""] + [e.get("value", "") for e in identity.get("emails") or []]
    for value in candidates:
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value or ""):
            return value.strip()
    return ""


def _legacy_role(permissions: dict[str, bool]) -> str:
    for role in ("admin", "maintain", "push", "triage", "pull"):
        if permissions.get(role):
            return {"push": "write", "pull": "read"}.get(role, role)
    return "read"


# ---------------------------------------------------------------- translation


@dataclass(frozen=True)
class Holding:
    """A principal's role on one repository, and how it got it."""

    key: str  # principal key
    role: str  # role name (custom roles by name)
    base: str  # built-in role it is based on
    via: str
    detail: str
    permissions: frozenset[str] = frozenset()  # custom role permissions
    owner: bool = False

    @property
    def rank(self) -> int:
        return ROLE_RANK.get(self.base, 0)

    @property
    def writes(self) -> bool:
        return self.rank >= ROLE_RANK["write"]

    @property
    def admin(self) -> bool:
        return self.base == "admin"


@dataclass
class Requirement:
    """One thing that gates merging into a branch: a classic rule or an active ruleset."""

    kind: str  # classic | ruleset
    name: str
    approvals: int
    requires_pr: bool
    enforce_admins: bool = True
    blocks_updates: bool = False
    pr_allowances: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())  # (users, teams)
    push_restricted: bool = False
    push_allowances: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    bypass: list[dict[str, Any]] | None = None  # ruleset bypass actors; None: not visible
    last_push_approval: bool = False
    code_owners: bool = False

    @property
    def gates_review(self) -> bool:
        return (self.requires_pr and self.approvals > 0) or self.blocks_updates


class Context:
    """What translation needs to know about the organisation while it walks repositories."""

    def __init__(self, org: OrgData, config: Config, section: GitHubSource, b: SourceBuilder):
        self.org = org
        self.config = config
        self.section = section
        self.b = b
        self.members_key = principal_key("github", f"org/{org.login}/members")
        self.team_ids: dict[int, str] = {t.id: slug for slug, t in org.teams.items() if t.id}
        self.user_ids: dict[int, str] = dict(org.user_ids)
        self.parents = {slug: t.parent for slug, t in org.teams.items()}
        self.user_teams: dict[str, set[str]] = {}
        for slug, team in org.teams.items():
            for login, _ in team.members:
                self.user_teams.setdefault(login, set()).add(slug)
        self.children: dict[str, list[str]] = {}
        for slug, parent in self.parents.items():
            if parent:
                self.children.setdefault(parent, []).append(slug)
        # repository -> (team, role) in team order: each repository looks only at the teams that reach it
        self.repo_teams: dict[str, list[tuple[str, str]]] = {}
        for slug, team in sorted(org.teams.items()):
            for full, role in (team.repos or {}).items():
                self.repo_teams.setdefault(full, []).append((slug, role))

    def user(self, login: str) -> str:
        return principal_key("github", login)

    def team(self, slug: str) -> str:
        return principal_key("github", f"team/{self.org.login}/{slug}")

    def ancestors(self, slug: str) -> list[str]:
        chain, parent, seen = [], self.parents.get(slug), {slug}
        while parent and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.parents.get(parent)
        return chain

    def teams_of(self, login: str) -> set[str]:
        """Teams whose access a user has: their own teams and those teams' ancestors."""
        out: set[str] = set()
        for slug in self.user_teams.get(login, ()):
            out.add(slug)
            out.update(self.ancestors(slug))
        return out

    def team_members(self, slug: str) -> set[str]:
        """Everyone a team's access reaches: its members and those of its descendants."""
        out = {login for login, _ in self.org.teams[slug].members} if slug in self.org.teams else set()
        for child in self.children.get(slug, ()):
            out |= self.team_members(child)
        return out

    def role_info(self, role: str) -> tuple[str, frozenset[str]]:
        if role in ROLE_RANK:
            return role, frozenset()
        custom = (self.org.custom_roles or {}).get(role)
        if custom is None:
            return "write", frozenset()  # unknown custom role: write-based (GitHub's minimum for custom roles)
        return str(custom.get("base_role") or "read"), frozenset(custom.get("permissions") or [])

    def holding(self, key: str, role: str, via: str, detail: str, *, owner: bool = False) -> Holding:
        base, perms = self.role_info(role)
        return Holding(key, role, base, via, detail, perms, owner)


def translate(org: OrgData, config: Config, section: GitHubSource) -> SourceBuilder:
    """Everything the organisation's payloads say, as model objects. Pure: no I/O."""
    b = SourceBuilder()
    ctx = Context(org, config, section, b)
    for gap in org.gaps:
        b.gap(gap)
    b.resource(Resource(
        "github", "org", org.login, name=f"GitHub org {org.login}",
        tier=config.tier_for(system="github", kind="org", id=org.login),
        attrs={"base_permission": org.base_permission, "saml": org.saml_state == "ok", "saml_state": org.saml_state,
               "plan": org.plan, "oidc_sub_claims": org.oidc or []},
    ))
    _people(ctx)
    _teams(ctx)
    from . import actions

    for repo in org.repos:
        for gap in repo.gaps:
            b.gap(gap)
        holdings = _repo_access(ctx, repo)
        guard = BranchGuard(ctx, repo, holdings)
        _repo_resource(ctx, repo, guard)
        _merge_unreviewed(ctx, repo, guard, holdings)
        actions.translate_repo(ctx, repo, guard, holdings)
    return b


def _people(ctx: Context) -> None:
    org, b = ctx.org, ctx.b
    for login in sorted(set(org.members) | org.outside):
        info = org.members.get(login, {})
        role = "outside" if login in org.outside else info.get("role", "member")
        attrs: dict[str, Any] = {"org_role": role}
        email = org.saml.get(login)
        if email:
            attrs["email_source"] = "saml"
        if info.get("email"):
            attrs["public_email"] = info["email"]
        b.principal(Principal("github", login, Kind.USER, display_name=info.get("name") or login,
                              email=email or None, attrs=attrs))
        if role == "owner":
            b.grant(Grant("github", ctx.user(login), "owner", org.key, (ACCESS_ADMIN,), via=Via.OWNER,
                          detail=f"owner of the {org.login} organisation"))
    b.principal(Principal("github", f"org/{org.login}/members", Kind.GROUP, display_name=f"all members of {org.login}",
                          attrs={"base_permission": org.base_permission}))
    for login in sorted(org.members):
        if login not in org.outside:
            b.edge(Edge(ctx.user(login), ctx.members_key, EdgeKind.MEMBER_OF, f"member of the {org.login} organisation"))


def _ensure_user(ctx: Context, login: str) -> str:
    """A principal for an account seen only in a repository or environment (an outside collaborator)."""
    key = ctx.user(login)
    if key not in ctx.b.principals:
        attrs: dict[str, Any] = {"org_role": "outside" if login not in ctx.org.members else "member"}
        email = ctx.org.saml.get(login)
        if email:
            attrs["email_source"] = "saml"
        ctx.b.principal(Principal("github", login, Kind.USER, display_name=login, email=email or None, attrs=attrs))
    return key


def _teams(ctx: Context) -> None:
    org, b = ctx.org, ctx.b
    for slug, team in sorted(org.teams.items()):
        b.principal(Principal("github", f"team/{org.login}/{slug}", Kind.TEAM, display_name=f"team {slug}",
                              attrs={"slug": slug, "name": team.name, "parent": team.parent or "",
                                     "privacy": team.privacy}))
    for slug, team in sorted(org.teams.items()):
        for login, role in team.members:
            _ensure_user(ctx, login)
            word = "maintainer" if role == "MAINTAINER" else "member"
            b.edge(Edge(ctx.user(login), ctx.team(slug), EdgeKind.MEMBER_OF, f"{word} of team {slug}"))
        if team.parent and team.parent in org.teams:
            b.edge(Edge(ctx.team(slug), ctx.team(team.parent), EdgeKind.MEMBER_OF, f"child team of {team.parent}"))


def _repo_access(ctx: Context, repo: RepoData) -> list[Holding]:
    """Every role grant on the repository, emitted as grants; returns them for later reasoning."""
    org, b = ctx.org, ctx.b
    out: list[Holding] = []

    def hold(h: Holding) -> None:
        caps: tuple[str, ...] = ()
        if h.writes:
            caps = (CODE_PUSH, CODE_APPROVE)
        if h.admin:
            caps = (CODE_PUSH, CODE_APPROVE, ACCESS_ADMIN)
        attrs: dict[str, Any] = {"base_role": h.base}
        if h.permissions:
            attrs["permissions"] = sorted(h.permissions)
        if repo.archived:
            caps = tuple(c for c in caps if c != CODE_PUSH)  # archived: read-only until unarchived
            attrs["archived"] = True
        b.grant(Grant("github", h.key, h.role, repo.key, caps, via=h.via, detail=h.detail, attrs=attrs))
        out.append(h)

    if org.base_permission not in ("none", ""):
        hold(ctx.holding(ctx.members_key, org.base_permission, Via.BASE,
                         f"base permission of the {org.login} organisation"))
    for login in sorted(org.owners):
        hold(ctx.holding(ctx.user(login), "admin", Via.OWNER, f"owner of the {org.login} organisation", owner=True))
    for slug, role in ctx.repo_teams.get(repo.full, ()):
        # A child team lists what it inherits; the grant belongs to the ancestor that holds it.
        inherited = [a for a in ctx.ancestors(slug)
                     if ROLE_RANK.get(ctx.role_info((org.teams[a].repos or {}).get(repo.full, "none"))[0], -1)
                     >= ROLE_RANK.get(ctx.role_info(role)[0], 0)]
        if inherited:
            continue
        children = ctx.children.get(slug, [])
        note = f" (inherited by child teams {', '.join(sorted(children))})" if children else ""
        base, _ = ctx.role_info(role)
        custom = f", a custom role based on {base}" if role not in ROLE_RANK else ""
        hold(ctx.holding(ctx.team(slug), role, Via.TEAM, f"team {slug} has {role}{custom}{note}"))
    for login, role in sorted((repo.collaborators or {}).items()):
        _ensure_user(ctx, login)
        base, perms = ctx.role_info(role)
        if role in ROLE_RANK:
            detail = f"direct collaborator with {role}"
        else:
            extra = f", may {', '.join(sorted(perms))}" if perms else ""
            detail = f"custom role {role} (based on {base}{extra}), as a direct collaborator"
        if login in org.outside:
            detail += " (outside collaborator)"
        hold(ctx.holding(ctx.user(login), role, Via.DIRECT, detail))
    for role in org.org_roles:
        base = str(role.get("base_role"))
        for slug in role.get("teams", []):
            if slug in org.teams:
                hold(ctx.holding(ctx.team(slug), base, Via.TEAM,
                                 f"organisation role {role['name']} gives team {slug} {base} on every repository"))
        for login in role.get("users", []):
            _ensure_user(ctx, login)
            hold(ctx.holding(ctx.user(login), base, Via.DIRECT,
                             f"organisation role {role['name']} gives {base} on every repository"))
    return out


class BranchGuard:
    """Decides, per branch, who can land a change without an independent approval."""

    def __init__(self, ctx: Context, repo: RepoData, holdings: list[Holding]):
        self.ctx = ctx
        self.repo = repo
        self.holdings = holdings
        self.default = repo.default_branch

    # -- what protects a branch

    def classic_rule(self, branch: str) -> dict[str, Any] | None:
        if branch == self.default and self.repo.default_rule_id:
            return next((r for r in self.repo.classic if r.get("id") == self.repo.default_rule_id), None)
        exact = [r for r in self.repo.classic if r.get("pattern") == branch]
        if exact:
            return exact[0]
        return next((r for r in self.repo.classic if branch_glob(r.get("pattern", "")).fullmatch(branch)), None)

    def rulesets(self, branch: str) -> list[dict[str, Any]]:
        return [rs for rs in self.repo.rulesets if rs.get("enforcement") == "ACTIVE"
                and (rs.get("target") or "BRANCH") == "BRANCH" and self._targets(rs, branch)]

    def _targets(self, ruleset: dict[str, Any], branch: str) -> bool:
        cond = (ruleset.get("conditions") or {}).get("refName") or {}

        def hit(pattern: str) -> bool:
            if pattern == "~ALL":
                return True
            if pattern == "~DEFAULT_BRANCH":
                return branch == self.default
            name = pattern[len("refs/heads/"):] if pattern.startswith("refs/heads/") else pattern
            return bool(branch_glob(name).fullmatch(branch))

        return any(hit(p) for p in cond.get("include") or []) and not any(hit(p) for p in cond.get("exclude") or [])

    def requirements(self, branch: str) -> list[Requirement]:
        out: list[Requirement] = []
        rule = self.classic_rule(branch)
        if rule is not None:
            out.append(Requirement(
                kind="classic", name=f"branch protection rule {rule.get('pattern')}",
                approvals=int(rule.get("requiredApprovingReviewCount") or 0) if rule.get("requiresApprovingReviews") else 0,
                requires_pr=bool(rule.get("requiresApprovingReviews")),
                enforce_admins=bool(rule.get("isAdminEnforced")), blocks_updates=bool(rule.get("lockBranch")),
                pr_allowances=_actor_sets(rule.get("bypassPullRequestAllowances")),
                push_restricted=bool(rule.get("restrictsPushes")), push_allowances=_actor_sets(rule.get("pushAllowances")),
                last_push_approval=bool(rule.get("requireLastPushApproval")),
                code_owners=bool(rule.get("requiresCodeOwnerReviews")),
            ))
        for rs in self.rulesets(branch):
            rules = (rs.get("rules") or {}).get("nodes") or []
            pr = [r for r in rules if r.get("type") == "PULL_REQUEST"]
            approvals = max((int((r.get("parameters") or {}).get("requiredApprovingReviewCount") or 0) for r in pr),
                            default=0)
            detail = self.repo.ruleset_details.get(int(rs.get("databaseId") or 0))
            bypass = None if detail is None else detail.get("bypass_actors")
            if detail is None and not _ruleset_matters(rs):
                bypass = []
            out.append(Requirement(
                kind="ruleset", name=f"ruleset '{rs.get('name')}'", approvals=approvals, requires_pr=bool(pr),
                blocks_updates=any(r.get("type") == "UPDATE" for r in rules), bypass=bypass,
                last_push_approval=any((r.get("parameters") or {}).get("requireLastPushApproval") for r in pr),
                code_owners=any((r.get("parameters") or {}).get("requireCodeOwnerReview") for r in pr),
            ))
        return out

    def protected(self, branch: str) -> bool:
        """Classic protection, or an active ruleset that requires a pull request (docs/connectors.md)."""
        return any(r.kind == "classic" or r.requires_pr or r.blocks_updates for r in self.requirements(branch))

    def protected_names(self) -> list[str]:
        names: set[str] = set()
        for rule in self.repo.classic:
            names.update(n["name"] for n in (rule.get("matchingRefs") or {}).get("nodes") or [] if n)
        if self.protected(self.default):
            names.add(self.default)
        for rs in self.rulesets(self.default) + [r for r in self.repo.rulesets if r.get("enforcement") == "ACTIVE"]:
            for p in ((rs.get("conditions") or {}).get("refName") or {}).get("include") or []:
                name = p[len("refs/heads/"):] if p.startswith("refs/heads/") else p
                if not re.search(r"[*?\[~]", name):
                    names.add(name)
        return sorted(names)

    # -- who passes a requirement

    def passes(self, req: Requirement, *, holding: Holding | None = None, login: str | None = None,
               team: str | None = None, owner: bool = False) -> str | None:
        """Why this holder needs nobody else's approval under ``req``, or None."""
        users, teams = req.pr_allowances
        if req.kind == "classic":
            if req.push_restricted and not (
                    (holding and holding.admin) or owner or login in req.push_allowances[0]
                    or team in req.push_allowances[1]):
                return None
            if not req.gates_review:
                return f"{req.name} requires no approving review"
            admin = owner or (holding is not None and holding.admin)
            if admin and not req.enforce_admins and not req.blocks_updates:
                return f"admins are not enforced by {req.name}: admins may merge without approval"
            if holding and "bypass_branch_protection" in holding.permissions and not req.enforce_admins:
                return f"custom role {holding.role} may bypass branch protections ({req.name} does not enforce them)"
            if (login and login in users) or (team and team in teams):
                return f"on the bypass list for pull request reviews of {req.name}"
            return None
        if not req.gates_review:
            return f"{req.name} requires no approving review"
        for actor in req.bypass or []:
            why = self._bypass_match(actor, holding=holding, login=login, team=team, owner=owner)
            if why:
                return f"{req.name} bypass ({why}), mode {actor.get('bypass_mode', 'always')}"
        return None

    def _bypass_match(self, actor: dict[str, Any], *, holding: Holding | None, login: str | None, team: str | None,
                      owner: bool) -> str:
        kind = actor.get("actor_type")
        ident = actor.get("actor_id")
        if kind == "OrganizationAdmin" and owner:
            return "organisation owners"
        if kind == "RepositoryRole" and holding is not None:
            role = ROLE_IDS.get(int(ident or 0))
            if role is None:
                custom = next((name for name, r in (self.ctx.org.custom_roles or {}).items() if r.get("id") == ident), None)
                if custom and holding.role == custom:
                    return f"custom role {custom}"
            elif holding.base == role or (role == "admin" and holding.admin):
                return f"role {role}"
            if owner and role == "admin":
                return "role admin"
        if kind == "Team" and team is not None and self.ctx.team_ids.get(int(ident or 0)) == team:
            return f"team {team}"
        if kind == "User" and login is not None and self.ctx.user_ids.get(int(ident or 0)) == login:
            return f"user {login}"
        return ""

    def unreviewed(self, branch: str) -> dict[str, tuple[str, str]]:
        """Principal key -> (via, reason) for everyone who can land on ``branch`` alone."""
        reqs = self.requirements(branch)
        out: dict[str, tuple[str, str]] = {}
        for h in self.holdings:
            if not h.writes or self.repo.archived:
                continue
            login = h.key.split(":", 1)[1] if not h.key.startswith(("github:team/", "github:org/")) else None
            team = h.key.rsplit("/", 1)[1] if h.key.startswith("github:team/") else None
            reasons = []
            for req in reqs:
                why = self.passes(req, holding=h, login=login, team=team, owner=h.owner)
                if why is None:
                    break
                reasons.append(why)
            else:
                reason = "; ".join(reasons) if reasons else "not protected (no branch protection rule, no active ruleset)"
                out.setdefault(h.key, (h.via, reason))
        # Actors named on bypass lists who are not themselves holders: users and teams.
        for key, (via, reason) in self._listed_actors(reqs, branch).items():
            out.setdefault(key, (via, reason))
        return out

    def _listed_actors(self, reqs: list[Requirement], branch: str) -> dict[str, tuple[str, str]]:
        ctx = self.ctx
        candidates: set[tuple[str | None, str | None]] = set()
        for req in reqs:
            candidates |= {(u, None) for u in req.pr_allowances[0]} | {(None, t) for t in req.pr_allowances[1]}
            for actor in req.bypass or []:
                if actor.get("actor_type") == "User":
                    user = ctx.user_ids.get(int(actor.get("actor_id") or 0))
                    if user:
                        candidates.add((user, None))
                if actor.get("actor_type") == "Team":
                    slug = ctx.team_ids.get(int(actor.get("actor_id") or 0))
                    if slug:
                        candidates.add((None, slug))
        out: dict[str, tuple[str, str]] = {}
        for login, team in sorted(candidates, key=str):
            if team is not None and team in ctx.org.teams:
                writers = self._writer_logins(ctx.team_members(team))
                if self._team_writes(team):
                    targets = [(ctx.team(team), None, team)]
                else:  # the team itself holds no write: only its members who write elsewhere can merge
                    targets = [(ctx.user(u), u, team) for u in sorted(writers)]
            elif login is not None:
                if login not in self._writer_logins({login}):
                    continue
                targets = [(ctx.user(login), login, None)]
            else:
                continue
            for key, who, slug in targets:
                best = self._best_holding(who, slug)
                reasons = []
                for req in reqs:
                    why = self.passes(req, holding=best, login=who, team=slug, owner=who in ctx.org.owners if who else False)
                    if why is None:
                        break
                    reasons.append(why)
                else:
                    out[key] = (Via.BYPASS, "; ".join(reasons))
        return out

    def _team_writes(self, slug: str) -> bool:
        keys = {self.ctx.team(s) for s in [slug] + self.ctx.ancestors(slug)}
        return any(h.key in keys and h.writes for h in self.holdings)

    def _writer_logins(self, logins: set[str]) -> set[str]:
        return {login for login in logins if (self._best_holding(login, None) or _NO).writes}

    def _best_holding(self, login: str | None, team: str | None) -> Holding | None:
        ctx = self.ctx
        keys: set[str] = set()
        if login:
            keys.add(ctx.user(login))
            keys |= {ctx.team(s) for s in ctx.teams_of(login)}
            if login in ctx.org.members and login not in ctx.org.outside:
                keys.add(ctx.members_key)
        if team:
            keys |= {ctx.team(s) for s in [team] + ctx.ancestors(team)}
        found = [h for h in self.holdings if h.key in keys]
        return max(found, key=lambda h: (h.rank, bool(h.permissions)), default=None)

    def admins(self) -> list[Holding]:
        return [h for h in self.holdings if h.admin]

    def writers(self) -> list[Holding]:
        return [h for h in self.holdings if h.writes and not self.repo.archived]


_NO = Holding("", "none", "none", "", "")


def _actor_sets(conn: dict[str, Any] | None) -> tuple[frozenset[str], frozenset[str]]:
    users, teams = set(), set()
    for node in (conn or {}).get("nodes") or []:
        actor = (node or {}).get("actor") or {}
        if actor.get("__typename") == "User" and actor.get("login"):
            users.add(actor["login"])
        elif actor.get("__typename") == "Team" and actor.get("slug"):
            teams.add(actor["slug"])
    return frozenset(users), frozenset(teams)


def branch_glob(pattern: str) -> "re.Pattern[str]":
    """GitHub's branch pattern syntax (File::fnmatch): ``*`` stops at ``/``, ``**`` does not."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(out)


def _repo_resource(ctx: Context, repo: RepoData, guard: BranchGuard) -> None:
    reqs = guard.requirements(repo.default_branch)
    classic = next((r for r in reqs if r.kind == "classic"), None)
    ruleset_reqs = [r for r in reqs if r.kind == "ruleset" and (r.requires_pr or r.blocks_updates)]
    if classic is not None:
        enforce = classic.enforce_admins
    elif ruleset_reqs:
        enforce = not any(_admin_bypass(a) for r in ruleset_reqs for a in (r.bypass or []))
    else:
        enforce = False
    ctx.b.resource(Resource(
        "github", "repo", repo.full, name=repo.full,
        tier=ctx.config.tier_for(system="github", kind="repo", id=repo.full),
        app=ctx.config.app_for(system="github", kind="repo", id=repo.full),
        parent=ctx.org.key,
        attrs={
            "default_branch": repo.default_branch,
            "protected": guard.protected(repo.default_branch),
            "enforce_admins": enforce,
            "required_approvals": max((r.approvals for r in reqs if r.requires_pr), default=0),
            "protected_branches": guard.protected_names(),
            "require_last_push_approval": any(r.last_push_approval for r in reqs),
            "require_code_owner_reviews": any(r.code_owners for r in reqs),
            "rulesets": [f"{rs.get('name')} ({str(rs.get('enforcement', '')).lower()})" for rs in repo.rulesets],
            "visibility": repo.visibility,
            "archived": repo.archived,
        },
    ))


def _admin_bypass(actor: dict[str, Any]) -> bool:
    return actor.get("actor_type") == "OrganizationAdmin" or (
        actor.get("actor_type") == "RepositoryRole" and int(actor.get("actor_id") or 0) == 5)


def _merge_unreviewed(ctx: Context, repo: RepoData, guard: BranchGuard, holdings: list[Holding]) -> None:
    """code.merge_unreviewed on the default branch (reference §1.5), latent for admins."""
    b = ctx.b
    branch = repo.default_branch
    landed = guard.unreviewed(branch)
    for key, (via, reason) in sorted(landed.items()):
        b.grant(Grant("github", key, "merge unreviewed", repo.key, (CODE_MERGE_UNREVIEWED,), via=via,
                      detail=f"{branch} of {repo.full}: {reason}", attrs={"latent": False, "branch": branch}))
    if not guard.protected(branch) or repo.archived:
        return
    for h in holdings:
        if h.key in landed:
            continue
        if h.admin:
            reason = f"repository admin can edit or switch off the protection of {branch} of {repo.full}"
        elif "edit_repo_protections" in h.permissions:
            reason = f"custom role {h.role} can edit the protection of {branch} of {repo.full}"
        else:
            continue
        b.grant(Grant("github", h.key, "latent bypass", repo.key, (CODE_MERGE_UNREVIEWED,), via=h.via,
                      detail=reason, attrs={"latent": True, "branch": branch}))
