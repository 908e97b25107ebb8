"""GitHub's API payloads into the values translation reads (`OrgData`, `TeamData`, `RepoData`).

The fetch side hands every payload, as GitHub returns it, to a function here; translation
reads only these values. Nothing here does I/O, so translation is tested on payloads in the
shapes GitHub documents (tests/connectors/test_github_translate.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...model import Gap, resource_key
from .codeowners import CodeOwners, from_blobs

ROLE_RANK = {"none": -1, "read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}


@dataclass
class TeamData:
    slug: str
    name: str
    parent: str | None
    privacy: str
    id: int = 0
    members: list[tuple[str, str]] = field(default_factory=list)  # (login, MEMBER|MAINTAINER), immediate
    repos: dict[str, str] | None = None  # full name -> role_name; None: could not be read
    node_id: str = ""  # GraphQL id, to read the rest of a list
    graphql_repos: dict[str, Any] | None = None  # the first page of Team.repositories (built-in roles only)
    idp_groups: list[dict[str, str]] = field(default_factory=list)  # IdP groups that set its members


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
    collaborator_ids: dict[int, str] = field(default_factory=dict)  # user id -> login (ruleset bypass actors)
    codeowners: CodeOwners | None = None
    actions_can_approve: bool | None = False  # "Allow GitHub Actions to create and approve pull requests"; None: unknown
    ruleset_details: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    environments: list[dict[str, Any]] | None = None  # REST environments; None: not readable
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    oidc: dict[str, Any] | None = None  # repo OIDC subject customisation, when fetched
    scan: Any = None  # workflows.WorkflowScan, parsed once
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
    actions_can_approve: bool | None = False  # the organisation's setting; None: could not be read
    private_forks: bool | None = None  # members_can_fork_private_repositories; None: not visible
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


# ---------------------------------------------------------------- organisation payloads


def org_from_rest(data: dict[str, Any], login: str) -> OrgData:
    """``GET /orgs/{org}``: the organisation, its base permission and plan.

    ``default_repository_permission`` is nullable in GitHub's description and absent for a
    token that is not an owner's: then the base permission is ``unknown`` and a Gap says so.
    """
    base = data.get("default_repository_permission")
    org = OrgData(login=str(data.get("login") or login), name=str(data.get("name") or ""),
                  base_permission=str(base) if base in ROLE_RANK else "unknown",
                  plan=str((data.get("plan") or {}).get("name", "")))
    forks = data.get("members_can_fork_private_repositories")
    org.private_forks = forks if isinstance(forks, bool) else None
    if org.base_permission == "unknown":
        shown = "null" if "default_repository_permission" in data else "absent"
        org.gaps.append(Gap("github", org.key, f"GET /orgs/{org.login}: default_repository_permission is {shown} "
                            "(visible to organisation owners only)",
                            "the base permission every member holds on every repository (none, read, write or admin)"))
    return org


def add_members(org: OrgData, page: dict[str, Any]) -> None:
    """One page of the GraphQL ``membersWithRole`` connection: members, owners (role ADMIN), ids.

    ``edges``, its items, ``node`` and ``role`` are all nullable in GitHub's schema: a null
    edge is skipped, a null ``role`` is a Gap (never read as "member", which could hide an owner).
    """
    for edge in page.get("edges") or []:
        user = (edge or {}).get("node") or {}
        if not user.get("login"):
            continue
        if user.get("databaseId"):
            org.user_ids[int(user["databaseId"])] = user["login"]
        role = edge.get("role")
        if role not in ("ADMIN", "MEMBER"):
            role_name = "unknown"
            org.gaps.append(Gap("github", org.key, f"membersWithRole: role of {user['login']} is "
                                f"{'null' if role is None else repr(role)} (OrganizationMemberEdge.role)",
                                f"whether {user['login']} is an owner (admin on every repository)"))
        else:
            role_name = "owner" if role == "ADMIN" else "member"
        org.members[user["login"]] = {"name": user.get("name") or "", "email": user.get("email") or "",
                                      "role": role_name}


def add_saml_identities(org: OrgData, page: dict[str, Any]) -> None:
    """One page of the GraphQL ``externalIdentities`` connection: GitHub login -> corporate email."""
    for node in page.get("nodes") or []:
        if not node:
            continue
        login = (node.get("user") or {}).get("login")
        email = saml_email(node.get("samlIdentity") or {})
        if login and email:
            org.saml[login] = email


def custom_roles_from_rest(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``GET /orgs/{org}/custom-repository-roles``: role name -> role (base_role, permissions, id)."""
    return {r["name"]: r for r in (data or {}).get("custom_roles") or [] if r and r.get("name")}


def reaches_code(role: dict[str, Any]) -> bool:
    """An organisation role (``GET /orgs/{org}/organization-roles``) whose base role writes code."""
    return ROLE_RANK.get(str(role.get("base_role") or "none"), -1) >= ROLE_RANK["write"]


def org_role_from_rest(role: dict[str, Any], teams: list[dict[str, Any]], users: list[dict[str, Any]]
                       ) -> dict[str, Any]:
    """An organisation role with the teams and users it is assigned to (two more REST lists).

    ``GET …/organization-roles/{id}/users`` items are ``user-role-assignment``s: ``assignment``
    is ``direct``, ``indirect`` (held only through the teams in ``inherited_from``) or
    ``mixed``; teams likewise (a child team holds it ``indirect``ly through its parent).
    """
    def assignment(item: dict[str, Any]) -> str:
        return str(item.get("assignment") or "direct")

    return {**role,
            "teams": [t["slug"] for t in teams if t and t.get("slug")],
            "team_assignment": {t["slug"]: assignment(t) for t in teams if t and t.get("slug")},
            "users": [u["login"] for u in users if u and u.get("login")],
            "user_assignment": {u["login"]: (assignment(u), [t.get("slug") for t in u.get("inherited_from") or []
                                                             if t and t.get("slug")])
                                for u in users if u and u.get("login")}}


def actions_can_approve(data: dict[str, Any] | None) -> bool | None:
    """``GET …/actions/permissions/workflow``: ``can_approve_pull_request_reviews`` (None if absent)."""
    value = (data or {}).get("can_approve_pull_request_reviews")
    return value if isinstance(value, bool) else None


def oidc_claim_keys(data: dict[str, Any] | None) -> list[str]:
    """``GET /orgs/{org}/actions/oidc/customization/sub``: the claim keys of the subject template."""
    return list((data or {}).get("include_claim_keys") or [])


# ---------------------------------------------------------------- team and repository payloads


def team_from_graphql(node: dict[str, Any]) -> TeamData:
    """A GraphQL `Team` node (`TEAMS_QUERY`) with the first page of its immediate members."""
    team = TeamData(slug=node["slug"], name=node.get("name") or node["slug"],
                    parent=(node.get("parentTeam") or {}).get("slug"),
                    privacy=str(node.get("privacy") or "VISIBLE").lower(),
                    id=int(node.get("databaseId") or 0))
    team.members = team_members((node.get("members") or {}).get("edges"))
    team.node_id = str(node.get("id") or "")
    team.graphql_repos = node.get("repositories")
    return team


def teams_from_graphql(page: dict[str, Any]) -> list[tuple[TeamData, bool]]:
    """One page of ``organization.teams``: each team, and whether it has more members than the page
    held. ``nodes`` items are nullable in GitHub's schema: a null one is skipped."""
    out = []
    for node in page.get("nodes") or []:
        if not node or not node.get("slug"):
            continue
        more = bool(((node.get("members") or {}).get("pageInfo") or {}).get("hasNextPage"))
        out.append((team_from_graphql(node), more))
    return out


def team_members(edges: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """``TeamMemberEdge``s: (login, MEMBER | MAINTAINER)."""
    return [(e["node"]["login"], e.get("role") or "MEMBER") for e in edges or []
            if e and e.get("node") and e["node"].get("login")]


def team_repos_from_graphql(edges: list[dict[str, Any]] | None) -> dict[str, str]:
    """``TeamRepositoryEdge``s: repository full name -> the team's role. GraphQL names built-in roles
    only (``RepositoryPermission``), so a team's custom role is read over REST (`fetch.Fetcher`)."""
    return {e["node"]["nameWithOwner"]: str(e.get("permission") or "READ").lower() for e in edges or []
            if e and (e.get("node") or {}).get("nameWithOwner")}


def collaborators_from_graphql(edges: list[dict[str, Any]] | None) -> tuple[dict[str, str], dict[int, str]]:
    """``Repository.collaborators(affiliation: DIRECT)`` edges: (login -> role, user id -> login).

    The role is the one the repository itself grants (the ``permissionSources`` entry whose source
    is the Repository, by ``roleName``: custom roles by name, built-in ones as GitHub spells them);
    the edge's ``permission``, the highest of all sources, only when no source says.
    """
    roles: dict[str, str] = {}
    ids: dict[int, str] = {}
    for edge in edges or []:
        user = (edge or {}).get("node") or {}
        login = user.get("login")
        if not login:
            continue
        own = [s for s in edge.get("permissionSources") or []
               if s and (s.get("source") or {}).get("__typename") == "Repository" and s.get("roleName")]
        if own:
            name = str(own[0]["roleName"])
            role = {"pull": "read", "push": "write"}.get(name.lower(), name.lower())
            roles[login] = role if role in ROLE_RANK else name
        else:
            roles[login] = str(edge.get("permission") or "READ").lower()
        if user.get("databaseId"):
            ids[int(user["databaseId"])] = login
    return roles, ids


_BYPASS_MODES = {"ALWAYS": "always", "PULL_REQUEST": "pull_request"}


def bypass_from_graphql(conn: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """``RepositoryRuleset.bypassActors`` in the shape of REST's ``bypass_actors``, or None when GraphQL
    cannot say all of it: no list, a page that is not the whole list, or an actor GraphQL cannot name
    (its ``BypassActor`` union holds apps and teams: a user or enterprise role comes back as nothing,
    the ``exempt`` mode as a null mode). REST's ruleset detail is then the one to read."""
    if conn is None:
        return None
    nodes = conn.get("nodes")
    if nodes is None or (conn.get("totalCount") or 0) != len(nodes):
        return None
    out = []
    for node in nodes:
        mode = _BYPASS_MODES.get(str((node or {}).get("bypassMode")))
        if node is None or mode is None:
            return None
        actor = node.get("actor") or {}
        kind = actor.get("__typename")
        if node.get("organizationAdmin"):
            entry = {"actor_type": "OrganizationAdmin", "actor_id": None}
        elif node.get("deployKey"):
            entry = {"actor_type": "DeployKey", "actor_id": None}
        elif node.get("enterpriseOwner"):
            entry = {"actor_type": "EnterpriseOwner", "actor_id": None}
        elif node.get("repositoryRoleDatabaseId") is not None:
            entry = {"actor_type": "RepositoryRole", "actor_id": int(node["repositoryRoleDatabaseId"])}
        elif kind == "Team" and actor.get("databaseId") is not None:
            entry = {"actor_type": "Team", "actor_id": int(actor["databaseId"])}
        elif kind == "App" and actor.get("databaseId") is not None:
            entry = {"actor_type": "Integration", "actor_id": int(actor["databaseId"])}
        else:
            return None
        out.append({**entry, "bypass_mode": mode})
    return out


def same_bypass(rest: list[dict[str, Any]], graphql: list[dict[str, Any]]) -> bool:
    """Whether REST's ``bypass_actors`` and `bypass_from_graphql`'s say the same (ids only where they name someone)."""
    def key(entry: dict[str, Any]) -> tuple[str, Any, str]:
        kind = str(entry.get("actor_type"))
        ident = entry.get("actor_id") if kind in ("Team", "Integration", "RepositoryRole", "User") else None
        return kind, None if ident is None else int(ident), str(entry.get("bypass_mode") or "always")

    return sorted(map(key, rest)) == sorted(map(key, graphql))


def role_of(item: dict[str, Any]) -> str:
    """The role in a REST repository or collaborator item: ``role_name``, else the legacy flags."""
    return str(item.get("role_name") or legacy_role(item.get("permissions") or {}))


def roles_by_repo(items: list[dict[str, Any]]) -> dict[str, str]:
    """``GET /orgs/{org}/teams/{slug}/repos``: repository full name -> the team's role there."""
    return {item["full_name"]: role_of(item) for item in items}


def roles_by_login(items: list[dict[str, Any]]) -> dict[str, str]:
    """``GET /repos/{owner}/{repo}/collaborators?affiliation=direct``: login -> role."""
    return {item["login"]: role_of(item) for item in items if item and item.get("login")}


def ids_by_login(items: list[dict[str, Any]]) -> dict[int, str]:
    """The same list: user id -> login, to resolve ruleset bypass actors of type ``User``."""
    return {int(item["id"]): item["login"] for item in items if item and item.get("login") and item.get("id")}


def repos_from_graphql(page: dict[str, Any]) -> list[RepoData]:
    """One page of ``organization.repositories``; null nodes (allowed by GitHub's schema) skipped."""
    return [repo_from_graphql(node) for node in page.get("nodes") or [] if node and node.get("nameWithOwner")]


def repo_from_graphql(node: dict[str, Any]) -> RepoData:
    """A GraphQL `Repository` node (`REPOS_QUERY`): protection rules, rulesets, environments, workflows,
    and the CODEOWNERS file. Null items of any list are skipped (GitHub's schema allows them)."""
    default = node.get("defaultBranchRef") or {}
    workflows: dict[str, str | None] = {}
    tree = node.get("workflows") or {}
    for entry in tree.get("entries") or []:
        name = (entry or {}).get("name") or ""
        if entry.get("type") != "blob" or not name.endswith((".yml", ".yaml")):
            continue
        blob = entry.get("object") or {}
        workflows[name] = None if blob.get("isBinary") or blob.get("isTruncated") else blob.get("text")
    rulesets = []
    for ruleset in (node.get("rulesets") or {}).get("nodes") or []:
        if not ruleset:
            continue
        rules = ruleset.get("rules") or {}
        rulesets.append({**ruleset, "rules": {**rules, "nodes": [r for r in rules.get("nodes") or [] if r]}})
    repo = RepoData(
        full=node["nameWithOwner"], name=node["name"], archived=bool(node.get("isArchived")),
        visibility=str(node.get("visibility") or "PRIVATE").lower(), default_branch=default.get("name") or "main",
        classic=[n for n in (node.get("branchProtectionRules") or {}).get("nodes") or [] if n],
        default_rule_id=(default.get("branchProtectionRule") or {}).get("id"),
        rulesets=rulesets,
        environment_names=[n["name"] for n in (node.get("environments") or {}).get("nodes") or [] if n and n.get("name")],
        workflows=workflows,
        codeowners=from_blobs([(".github/CODEOWNERS", node.get("codeownersGithub")),
                               ("CODEOWNERS", node.get("codeownersRoot")),
                               ("docs/CODEOWNERS", node.get("codeownersDocs"))]),
    )
    if node.get("collaborators") is not None:  # None: not asked, or not readable (a Gap from fetch)
        repo.collaborators, repo.collaborator_ids = collaborators_from_graphql(node["collaborators"].get("edges"))
    key = repo.key
    for label, conn, items in (("branch protection rules", node.get("branchProtectionRules"), "nodes"),
                               ("rulesets", node.get("rulesets"), "nodes"),
                               ("environments", node.get("environments"), "nodes"),
                               ("direct collaborators", node.get("collaborators"), "edges")):
        if conn and (conn.get("totalCount") or 0) > len(conn.get(items) or []):
            repo.gaps.append(Gap("github", key, f"more than {len(conn.get(items) or [])} {label}; the rest were not read",
                                 f"{label} beyond the first page"))
    for rule in repo.classic:
        for label in ("pushAllowances", "bypassPullRequestAllowances", "matchingRefs"):
            conn = rule.get(label) or {}
            if (conn.get("totalCount") or 0) > len(conn.get("nodes") or []):
                repo.gaps.append(Gap("github", key, f"branch rule {rule.get('pattern')}: {label} truncated",
                                     "branches the rule protects" if label == "matchingRefs"
                                     else "actors allowed to push or bypass reviews"))
    for ruleset in repo.rulesets:
        rules = ruleset.get("rules") or {}
        if (rules.get("totalCount") or 0) > len(rules.get("nodes") or []):
            repo.gaps.append(Gap("github", key, f"ruleset '{ruleset.get('name')}': more than "
                                 f"{len(rules.get('nodes') or [])} rules; the rest were not read",
                                 "rules that may require a review or restrict who creates or updates refs"))
        if ruleset_matters(ruleset) and ruleset.get("databaseId") is None:
            repo.gaps.append(Gap("github", key, f"ruleset '{ruleset.get('name')}' has no databaseId "
                                 "(RepositoryRuleset.databaseId is null): its bypass list cannot be read",
                                 "ruleset bypass actors who may merge without review"))
    for name, text in workflows.items():
        if text is None:
            repo.gaps.append(Gap("github", key, f".github/workflows/{name} could not be read as text (binary or too large)",
                                 "cloud identities that workflow takes on"))
    return repo


RULE_TYPES_THAT_GATE = ("PULL_REQUEST", "UPDATE", "CREATION", "LOCK_BRANCH")


def ruleset_matters(ruleset: dict[str, Any]) -> bool:
    """Active branch or tag rulesets that gate merging or restrict who creates or updates refs:
    the only ones whose bypass list we need."""
    if ruleset.get("enforcement") != "ACTIVE" or (ruleset.get("target") or "BRANCH") not in ("BRANCH", "TAG"):
        return False
    return any((r or {}).get("type") in RULE_TYPES_THAT_GATE for r in (ruleset.get("rules") or {}).get("nodes") or [])


def graphql_error(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    kind = first.get("type") or "ERROR"
    return f"GraphQL {kind}: {str(first.get('message', ''))[:160]}"


def saml_email(identity: dict[str, Any]) -> str:
    candidates = [identity.get("nameId") or ""] + [e.get("value", "") for e in identity.get("emails") or []]
    for value in candidates:
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value or ""):
            return value.strip()
    return ""


def legacy_role(permissions: dict[str, bool]) -> str:
    for role in ("admin", "maintain", "push", "triage", "pull"):
        if permissions.get(role):
            return {"push": "write", "pull": "read"}.get(role, role)
    return "read"
