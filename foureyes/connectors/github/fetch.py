"""Reads one GitHub organisation: the fetch half of the GitHub connector (thin, paged, counted).

REST and GraphQL through `api.GitHubApi` (PyGithub's requester and retry), a bounded pool
for the per-team and per-repository reads; each payload goes to a function of `payloads.py`.
Every failure becomes a Gap on what it concerns, never an empty answer.
"""

from __future__ import annotations

import fnmatch
import threading
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

from ...config import GitHubSource
from ...errors import SourceError
from ...model import Gap, resource_key
from ..base import Progress, ProgressEvent
from .api import SOURCE, ApiFailure, GitHubApi
from .payloads import (
    OrgData,
    RepoData,
    TeamData,
    add_members,
    actions_can_approve,
    add_saml_identities,
    custom_roles_from_rest,
    graphql_error,
    ids_by_login,
    oidc_claim_keys,
    org_from_rest,
    org_role_from_rest,
    reaches_code,
    repos_from_graphql,
    roles_by_login,
    roles_by_repo,
    ruleset_matters,
    teams_from_graphql,
    team_members,
)
from .queries import MEMBERS_QUERY, REPO_PAGE, REPOS_QUERY, SAML_QUERY, TEAM_MEMBERS_QUERY, TEAMS_QUERY
from .workflows import scan_repo


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

    def _read_repo(self, org: OrgData, repo: RepoData) -> None:
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
        def read() -> None:
            first = True
            for page in self._graphql_pages(REPOS_QUERY, {"org": org.login, "first": REPO_PAGE},
                                            ["organization", "repositories"]):
                wanted = [repo for repo in repos_from_graphql(page) if self._wanted(repo)]
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
            items = list(self.api.paginate(f"/repos/{repo.full}/collaborators", affiliation="direct"))
            repo.collaborator_ids = ids_by_login(items)
            return roles_by_login(items)

        repo.collaborators = self.guard(repo.gaps, repo.key, "direct collaborators and their roles", collaborators)
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
