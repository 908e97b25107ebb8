"""Reads one GitHub organisation: the fetch half of the GitHub connector (thin, paged, counted).

REST and GraphQL through `api.GitHubApi` (PyGithub's requester and retry), a bounded pool
for the per-team and per-repository reads; each payload goes to a function of `payloads.py`.
Every failure becomes a Gap on what it concerns, never an empty answer.
"""

from __future__ import annotations

import fnmatch
import threading
import urllib.parse
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable, Iterable

from ...config import GitHubSource
from ...errors import SourceError
from ...model import Gap, resource_key
from ..base import Progress, ProgressEvent
from .api import SOURCE, ApiFailure, GitHubApi
from .cost import QueryCost, query_cost
from .payloads import (
    OrgData,
    RepoData,
    TeamData,
    add_members,
    actions_can_approve,
    add_saml_identities,
    bypass_from_graphql,
    custom_roles_from_rest,
    graphql_error,
    oidc_claim_keys,
    org_from_rest,
    org_role_from_rest,
    reaches_code,
    repo_from_graphql,
    roles_by_repo,
    ruleset_matters,
    same_bypass,
    team_members,
    team_repos_from_graphql,
    teams_from_graphql,
)
from .queries import (
    MEMBERS_QUERY,
    MORE_QUERIES,
    NESTED,
    REPO_LISTS,
    REPO_NAMES_QUERY,
    REPO_PAGES,
    RULE_LISTS,
    RULES_MORE,
    RULESET_LISTS,
    RULESETS_MORE,
    SAML_QUERY,
    TEAM_MEMBERS_QUERY,
    TEAM_REPOS_QUERY,
    TEAMS_QUERY,
    repos_query,
)
from .workflows import scan_repo

NODE_BUDGET = 250_000  # half GitHub's node limit per query: a repository page also carries file contents


class Fetcher:
    """Reads one organisation with a bounded pool; every failure becomes a Gap."""

    def __init__(self, api: GitHubApi, section: GitHubSource, progress: Progress):
        self.api = api
        self.section = section
        self.progress = progress
        self.org_login = section.org
        self._lock = threading.Lock()
        self._org_rulesets: dict[int, Future[dict[str, Any] | None]] = {}
        self._more: dict[tuple[str, str], Future[dict[str, Any]]] = {}  # (node id, list) -> the rest of the list
        self._custom_roles_read = threading.Event()
        self._bypass = BypassTrust()
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Future[None]] = []
        self._repos_done = 0
        self._repos_expected = 0  # the organisation's repositories less those left out so far

    # ------------------------------------------------------------ orchestration

    def fetch(self) -> OrgData:
        org = self._org()
        readers = (self._repositories, self._teams, self._members, self._saml, self._outside, self._custom_roles,
                   self._org_roles, self._org_oidc)
        self._org_actions(org)  # before the repositories: whether each one's own setting needs reading
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

    def _read_repo(self, org: OrgData, node: dict[str, Any], errors: list[dict[str, Any]]) -> None:
        """One repository of a GraphQL page: the rest of any list that did not fit, then its REST reads."""
        gaps: list[Gap] = []
        key = resource_key("github", "repo", node["nameWithOwner"])
        self._complete(node, key, gaps)
        repo = repo_from_graphql(node)
        repo.gaps += gaps
        if node.get("collaborators") is None:  # GraphQL answered null: not visible to this token
            why = [e for e in errors if (e.get("path") or [None])[0] == "collaborators"]
            repo.gaps.append(Gap("github", key, graphql_error(why) + " (Repository.collaborators)" if why
                                 else "Repository.collaborators not returned", "direct collaborators and their roles"))
        for error in errors:  # any other part GitHub could not return; a bypass list is read over REST instead
            path = [str(p) for p in error.get("path") or []]
            if path[:1] != ["collaborators"] and "bypassActors" not in path:
                repo.gaps.append(Gap("github", key, f"{graphql_error([error])} (at {'.'.join(path)})",
                                     f"{path[0] if path else 'part of the repository'} as GitHub holds it"))
        with self._lock:
            org.repos.append(repo)
        self._repo_details(org, repo)
        self._actions(repo)
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
        return org_from_rest(data, self.org_login)

    def _graphql_pages(self, query: str, variables: dict[str, Any], path: list[str]) -> Iterable[dict[str, Any]]:
        """Each page's connection object at ``path``; raises ApiFailure on GraphQL errors."""
        after = None
        while True:
            data, errors = self.api.graphql(query, {**variables, "after": after}, urgent=True)
            if errors:
                raise ApiFailure("POST", "/graphql", None, graphql_error(errors))
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
                add_members(org, page)

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
                                                f"({graphql_error(errors)}); GitHub logins are linked by config only",
                                                level="warning"))
                    with self._lock:
                        org.gaps.append(Gap("github", org.key, f"SAML identities not readable: {graphql_error(errors)}",
                                            "links between GitHub logins and corporate emails"))
                    return
                idp = ((data.get("organization") or {}).get("samlIdentityProvider"))
                if idp is None:
                    org.saml_state = "absent"
                    self.progress(ProgressEvent(SOURCE, f"SAML single sign-on is not set up for {org.login}; "
                                                "GitHub logins are linked through [identity] only", level="warning"))
                    return
                conn = idp.get("externalIdentities") or {}
                add_saml_identities(org, conn)
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
            return custom_roles_from_rest(self.api.get(f"/orgs/{org.login}/custom-repository-roles"))

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
        finally:
            self._custom_roles_read.set()  # team repositories wait: GraphQL or REST depends on it

    def _org_roles(self, org: OrgData) -> None:
        def read() -> None:
            data = self.api.get(f"/orgs/{org.login}/organization-roles")
            for role in (data or {}).get("roles", []):
                if not reaches_code(role):
                    continue  # only roles that reach code matter here
                teams = list(self.api.paginate(f"/orgs/{org.login}/organization-roles/{role['id']}/teams"))
                users = list(self.api.paginate(f"/orgs/{org.login}/organization-roles/{role['id']}/users"))
                org.org_roles.append(org_role_from_rest(role, teams, users))

        self.guard(org.gaps, org.key, "organisation roles that grant access to every repository", read,
                   missing_ok=True)

    def _org_oidc(self, org: OrgData) -> None:
        data = self.guard(org.gaps, org.key, "the organisation's OIDC subject template",
                          lambda: self.api.get(f"/orgs/{org.login}/actions/oidc/customization/sub"), missing_ok=True)
        if data:
            org.oidc = oidc_claim_keys(data)

    def _org_actions(self, org: OrgData) -> None:
        """"Allow GitHub Actions to create and approve pull requests" for the organisation.

        Off at the organisation means off everywhere (a repository cannot turn it on), so the
        repositories' own setting is read only when it is on here, or unknown.
        """
        data = self.guard(org.gaps, org.key, "whether GitHub Actions may approve pull requests (a workflow's token "
                          "then counts as one approval)",
                          lambda: self.api.get(f"/orgs/{org.login}/actions/permissions/workflow"), missing_ok=True)
        org.actions_can_approve = actions_can_approve(data) if data is not None else None

    # ------------------------------------------------------------ teams

    def _teams(self, org: OrgData) -> None:
        def read() -> None:
            for page in self._graphql_pages(TEAMS_QUERY, {"org": org.login}, ["organization", "teams"]):
                for team, more_members in teams_from_graphql(page):
                    if more_members:
                        more = self._graphql_pages(TEAM_MEMBERS_QUERY, {"org": org.login, "slug": team.slug},
                                                   ["organization", "team", "members"])
                        seen = False
                        for extra in more:
                            if not seen:  # the first page repeats what we have
                                seen = True
                                continue
                            team.members += team_members(extra.get("edges"))
                    org.teams[team.slug] = team
                    self._submit(self._team_repos, org, team)

        self.guard(org.gaps, org.key, "teams, their members and their repository access", read)

    def _team_repos(self, org: OrgData, team: TeamData) -> None:
        """A team's repositories and roles: over GraphQL (already on the teams page) when the organisation
        has no custom repository roles, since GraphQL names built-in roles only; else over REST."""
        self._custom_roles_read.wait()
        conn = team.graphql_repos
        if org.custom_roles == {} and conn is not None and team.node_id:
            def more() -> dict[str, str]:
                edges = list(conn.get("edges") or [])
                info = conn.get("pageInfo") or {}
                if info.get("hasNextPage"):
                    edges += self._rest_of(team.node_id, "Team", "repositories", info.get("endCursor"),
                                           TEAM_REPOS_QUERY, "edges")
                return team_repos_from_graphql(edges)

            team.repos = self.guard(org.gaps, org.key, f"the repositories team {team.slug} can reach, and its roles "
                                    "there", more)
            return

        def read() -> dict[str, str]:
            return roles_by_repo(list(self.api.paginate(f"/orgs/{org.login}/teams/{team.slug}/repos")))

        team.repos = self.guard(org.gaps, org.key, f"the repositories team {team.slug} can reach, and its roles there",
                                read)
        if self.section.team_sync:
            self._team_idp_groups(org, team)

    def _team_idp_groups(self, org: OrgData, team: TeamData) -> None:
        """Which identity-provider group sets the team's members: team synchronisation (Okta,
        Entra ID) or an external group (Enterprise Managed Users). 404: not in use."""
        where = f"github:team/{org.login}/{team.slug}"
        for path, how in ((f"/orgs/{org.login}/teams/{team.slug}/team-sync/group-mappings", "GitHub team synchronisation"),
                          (f"/orgs/{org.login}/teams/{team.slug}/external-groups", "GitHub external group (EMU)")):
            found = self.guard(org.gaps, where, f"which identity-provider group sets team {team.slug}'s members",
                               lambda path=path: self.api.get(path), missing_ok=True)
            for group in (found or {}).get("groups") or ():
                team.idp_groups.append({"id": str(group.get("group_id", "")), "name": group.get("group_name") or "",
                                        "how": how})

    # ------------------------------------------------------------ repositories

    def _repositories(self, org: OrgData) -> None:
        """The repositories' names as a cursor chain (cheap, 100 a page), read in batches in the pool
        as the names arrive: the chain is the snapshot's critical path, the batches are not."""
        pager = RepoPager()

        def read() -> None:
            first, waiting = True, []
            for page in self._graphql_pages(REPO_NAMES_QUERY, {"org": org.login}, ["organization", "repositories"]):
                nodes = page.get("nodes") or []
                wanted = [n for n in nodes if n and n.get("nameWithOwner") and n.get("id") and self._wanted(n)]
                with self._lock:  # the progress total: what the organisation has, less what is left out
                    if first:
                        self._repos_expected = int(page.get("totalCount") or 0)
                        first = False
                    self._repos_expected -= len(nodes) - len(wanted)
                waiting += wanted
                sizes = pager.sizes()
                while len(waiting) >= sizes["first"]:
                    batch, waiting = waiting[:sizes["first"]], waiting[sizes["first"]:]
                    if pager.seen:
                        self._submit(self._batch, org, batch, pager)
                    else:  # the first batch teaches the page sizes: the others wait for it
                        self._batch(org, batch, pager)
                    sizes = pager.sizes()
            if waiting:
                self._submit(self._batch, org, waiting, pager)

        self.guard(org.gaps, org.key, "repositories (and everything about them)", read)

    def _batch(self, org: OrgData, names: list[dict[str, Any]], pager: "RepoPager") -> None:
        """One batch of repositories by node id. An error that concerns one repository stays with it
        (a list it may not read); a batch that fails is a Gap on each of its repositories."""
        sizes = pager.sizes(len(names))  # what the batches answered so far say, when this one starts
        variables: dict[str, Any] = {"rules": sizes["rules"], "rulesets": sizes["rulesets"]}
        variables.update({f"r{i}": n["id"] for i, n in enumerate(names)})
        try:
            data, errors = self.api.graphql(repos_query(len(names)), variables)
        except ApiFailure as exc:
            with self._lock:
                org.gaps += [Gap("github", resource_key("github", "repo", n["nameWithOwner"]), str(exc),
                                 "everything about this repository") for n in names]
            return
        per_repo: dict[int, list[dict[str, Any]]] = {}
        for error in errors:
            path = error.get("path") or []
            alias = str(path[0]) if path else ""
            if alias.startswith("r") and alias[1:].isdigit() and int(alias[1:]) < len(names):
                per_repo.setdefault(int(alias[1:]), []).append({**error, "path": path[1:]})
            else:  # an error about the whole query: nothing it returned can be trusted
                with self._lock:
                    org.gaps += [Gap("github", resource_key("github", "repo", n["nameWithOwner"]),
                                     graphql_error([error]), "everything about this repository") for n in names]
                return
        nodes = [data.get(f"r{i}") for i in range(len(names))]
        pager.saw(nodes)
        for i, (listed, node) in enumerate(zip(names, nodes)):
            if node and node.get("nameWithOwner"):
                self._submit(self._read_repo, org, node, per_repo.get(i, []))
                continue
            why = graphql_error(per_repo[i]) if per_repo.get(i) else "GitHub returned nothing for it"
            with self._lock:
                org.gaps.append(Gap("github", resource_key("github", "repo", listed["nameWithOwner"]),
                                    f"repository could not be read: {why}", "everything about this repository"))

    def _wanted(self, node: dict[str, Any]) -> bool:
        if node.get("isArchived") and not self.section.include_archived:
            return False
        names = (node.get("name") or "", node["nameWithOwner"])
        if not any(fnmatch.fnmatchcase(n, p) for n in names for p in self.section.include):
            return False
        return not any(fnmatch.fnmatchcase(n, p) for n in names for p in self.section.exclude)

    # ------------------------------------------------------------ the rest of truncated lists

    def _complete(self, node: dict[str, Any], key: str, gaps: list[Gap]) -> None:
        """Read the rest of every list of a repository node that did not fit on its page, in place.
        A list whose rest cannot be read stays as it is: translation sees it truncated (a Gap)."""
        lists = [("Repository", node, name, "edges" if name == "collaborators" else "nodes")
                 for name in ("branchProtectionRules", "rulesets", *REPO_LISTS)]
        for owner, holder, name, items in lists:
            self._complete_list(owner, holder, name, items, key, gaps)
        for rule in (node.get("branchProtectionRules") or {}).get("nodes") or []:
            for name in RULE_LISTS:
                self._complete_list("BranchProtectionRule", rule or {}, name, "nodes", key, gaps)
        for ruleset in (node.get("rulesets") or {}).get("nodes") or []:
            for name in RULESET_LISTS:
                self._complete_list("RepositoryRuleset", ruleset or {}, name, "nodes", key, gaps)

    def _complete_list(self, owner: str, holder: dict[str, Any], name: str, items: str, key: str,
                       gaps: list[Gap]) -> None:
        conn = holder.get(name)
        info = (conn or {}).get("pageInfo") or {}
        if not conn or not info.get("hasNextPage") or not info.get("endCursor") or not holder.get("id"):
            return
        rest = self.guard(gaps, key, f"{name} beyond the first page", lambda: self._rest_of(
            str(holder["id"]), owner, name, info["endCursor"], MORE_QUERIES[(owner, name)], items))
        if rest is not None:
            conn[items] = list(conn.get(items) or []) + rest
            conn["pageInfo"] = {**info, "hasNextPage": False}

    def _rest_of(self, node_id: str, owner: str, name: str, after: str | None, query: str, items: str) -> list[Any]:
        """Every item after ``after`` of list ``name`` of node ``node_id`` (read once per node and list:
        an organisation ruleset appears on every repository it covers)."""
        with self._lock:
            future = self._more.get((node_id, name))
            mine = future is None
            if mine:
                future = self._more[(node_id, name)] = Future()
        assert future is not None
        if mine:
            try:
                out: list[Any] = []
                for page in self._graphql_pages(query, {"id": node_id, "after": after}, ["node", name]):
                    out += page.get(items) or []
                future.set_result({"items": out})
            except ApiFailure as exc:
                future.set_exception(exc)
        return list(future.result()["items"])

    def _repo_details(self, org: OrgData, repo: RepoData) -> None:
        if org.actions_can_approve is not False:
            data = self.guard(repo.gaps, repo.key, "whether GitHub Actions may approve pull requests here (a workflow's "
                              "token then counts as one approval)",
                              lambda: self.api.get(f"/repos/{repo.full}/actions/permissions/workflow"))
            repo.actions_can_approve = actions_can_approve(data) if data is not None else None
        for ruleset in repo.rulesets:
            if not ruleset_matters(ruleset) or ruleset.get("databaseId") is None:
                continue  # no databaseId: a Gap from payloads.repo_from_graphql
            rid = int(ruleset["databaseId"])
            source = ruleset.get("source") or {}
            if source.get("__typename") == "Organization":
                repo.ruleset_details[rid] = self._org_ruleset(org, repo, rid, ruleset["name"])
                continue
            path = f"/repos/{repo.full}/rulesets/{rid}"
            repo.ruleset_details[rid] = self._bypass.detail(
                bypass_from_graphql(ruleset.get("bypassActors")), lambda: self._ruleset(repo, path, ruleset["name"]))

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

    # ------------------------------------------------------------ GitHub Actions

    def _actions(self, repo: RepoData) -> None:
        """Environments (only where GraphQL saw some) and the OIDC template (only where workflows use OIDC)."""
        api = self.api
        if repo.environment_names:
            envs = self.guard(repo.gaps, repo.key, "environments: required reviewers, self-review, admin bypass "
                              "and branch policies", lambda: list(api.paginate(f"/repos/{repo.full}/environments",
                                                                               item_key="environments")))
            repo.environments = envs
            for env in envs or []:
                policy = env.get("deployment_branch_policy") or {}
                if policy.get("custom_branch_policies"):
                    name = env["name"]
                    quoted = urllib.parse.quote(name, safe="")
                    policies = self.guard(
                        repo.gaps, resource_key("github", "environment", f"{repo.full}/{name}"),
                        "which branches and tags may deploy to this environment",
                        lambda quoted=quoted: list(api.paginate(
                            f"/repos/{repo.full}/environments/{quoted}/deployment-branch-policies", item_key="branch_policies")))
                    repo.branch_policies[name] = policies if policies is not None else None  # type: ignore[assignment]
        if scan_repo(repo).uses_oidc:
            repo.oidc = self.guard(repo.gaps, repo.key, "the repository's OIDC subject template",
                                   lambda: api.get(f"/repos/{repo.full}/actions/oidc/customization/sub"), missing_ok=True)


# ---------------------------------------------------------------- page sizes and bypass lists


class RepoPager:
    """The sizes of each repositories page: the fewest points per repository, by GitHub's score.

    The score pays every list inside a repository once per repository, and each list inside a
    protection rule or ruleset once per rule or ruleset asked for (`cost.py`); a repository whose
    rules or rulesets do not fit costs a later query (a point) for the rest. So the sizes that
    would have served the repositories seen so far best are chosen for the next page, within
    `NODE_BUDGET` nodes. The score is rounded per query, so a smaller page can be a little
    cheaper per repository; within `LENIENCE` of the cheapest, the largest page wins (fewer
    pages: a shorter cursor chain, which is the snapshot's critical path).
    """

    LENIENCE = 1.15

    def __init__(self) -> None:
        self.rules: Counter[int] = Counter()
        self.rulesets: Counter[int] = Counter()
        self._lock = threading.Lock()

    def saw(self, nodes: list[dict[str, Any] | None]) -> None:
        with self._lock:
            for node in nodes:
                if node:
                    self.rules[int((node.get("branchProtectionRules") or {}).get("totalCount") or 0)] += 1
                    self.rulesets[int((node.get("rulesets") or {}).get("totalCount") or 0)] += 1

    @property
    def seen(self) -> int:
        with self._lock:
            return sum(self.rules.values())

    def sizes(self, first: int | None = None) -> dict[str, int]:
        """The batch size and the rules and rulesets to ask per repository (``first``: a batch size already chosen)."""
        with self._lock:  # before the first batch: room for two of each
            rules, rulesets = dict(self.rules or {2: 1}), dict(self.rulesets or {2: 1})

        def later(counts: dict[int, int], size: int, more: int) -> float:
            """Points per repository for the rest of the lists that do not fit in ``size``."""
            return sum(-(-(c - size) // more) * n for c, n in counts.items() if c > size) / sum(counts.values())

        scored: list[tuple[float, int, int, int]] = []
        for b in NESTED:
            for r in NESTED:
                extra = later(rules, b, RULES_MORE) + later(rulesets, r, RULESETS_MORE)
                for size in ([first] if first else REPO_PAGES):
                    cost = _repos_cost(size, b, r)
                    if cost.nodes <= NODE_BUDGET or size == first:
                        scored.append((cost.points / size + extra, size, b, r))
        cheapest = min(score for score, *_ in scored)
        _, size, b, r = max((s for s in scored if s[0] <= cheapest * self.LENIENCE), key=lambda s: (s[1], -s[0]))
        return {"first": size, "rules": b, "rulesets": r}


@lru_cache(maxsize=1)
def _per_repository() -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A batch's requests and nodes per repository, as ``a + b·rules + c·rulesets`` each: every
    alias is scored alone, so a batch of n costs n times one (checked on a batch of three)."""
    def one(rules: int, rulesets: int) -> QueryCost:
        return query_cost(repos_query(1), {"rules": rules, "rulesets": rulesets})

    base, more_rules, more_rulesets = one(1, 1), one(2, 1), one(1, 2)
    requests = (base.requests - (more_rules.requests - base.requests) - (more_rulesets.requests - base.requests),
                more_rules.requests - base.requests, more_rulesets.requests - base.requests)
    nodes = (base.nodes - (more_rules.nodes - base.nodes) - (more_rulesets.nodes - base.nodes),
             more_rules.nodes - base.nodes, more_rulesets.nodes - base.nodes)
    check = query_cost(repos_query(3), {"rules": 4, "rulesets": 5})
    assert check == QueryCost(3 * (requests[0] + 4 * requests[1] + 5 * requests[2]),
                              3 * (nodes[0] + 4 * nodes[1] + 5 * nodes[2])), "a batch is not n single repositories"
    return requests, nodes


def _repos_cost(first: int, rules: int, rulesets: int) -> QueryCost:
    """What `repos_query(first)` costs with these sizes (GitHub's score, `cost.py`)."""
    (r0, r1, r2), (n0, n1, n2) = _per_repository()
    return QueryCost(first * (r0 + r1 * rules + r2 * rulesets), first * (n0 + n1 * rules + n2 * rulesets))


class BypassTrust:
    """Whether GraphQL's bypass lists can stand in for REST's ruleset detail, for this token.

    GitHub documents who may see ``bypass_actors`` over REST (whoever may edit the ruleset) but
    not what GraphQL's ``bypassActors`` shows a token that may not: if it were an empty list, it
    would read as "nobody may bypass". So an empty GraphQL list is never believed (REST says
    whether it is empty or hidden), and the first non-empty one is read over REST as well: GraphQL
    is used for the others only if REST showed that list and both said the same. Until that is
    known the others wait; if REST hides the list or disagrees, every one is read over REST.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.trusted: bool | None = None
        self._probing = False

    def detail(self, graphql: list[dict[str, Any]] | None,
               rest: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        if not graphql:
            return rest()
        with self._cond:
            while self.trusted is None and self._probing:
                self._cond.wait()
            if self.trusted is None:
                self._probing = True
            elif self.trusted:
                return {"bypass_actors": graphql, "read_from": "graphql"}
            else:
                return rest()
        detail = None
        try:
            detail = rest()
            return detail
        finally:
            with self._cond:
                self._probing = False
                if detail is not None:  # a failed read decides nothing: the next ruleset asks again
                    shown = detail.get("bypass_actors")
                    self.trusted = shown is not None and same_bypass(shown, graphql)
                self._cond.notify_all()
