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
    """``GET /orgs/{org}``: the organisation, its base permission and plan."""
    return OrgData(login=str(data.get("login") or login), name=str(data.get("name") or ""),
                   base_permission=str(data.get("default_repository_permission") or "read"),
                   plan=str((data.get("plan") or {}).get("name", "")))


def add_members(org: OrgData, page: dict[str, Any]) -> None:
    """One page of the GraphQL ``membersWithRole`` connection: members, owners (role ADMIN), ids."""
    for edge in page.get("edges") or []:
        user = edge.get("node") or {}
        if user.get("login"):
            if user.get("databaseId"):
                org.user_ids[int(user["databaseId"])] = user["login"]
            org.members[user["login"]] = {
                "name": user.get("name") or "", "email": user.get("email") or "",
                "role": "owner" if edge.get("role") == "ADMIN" else "member"}


def add_saml_identities(org: OrgData, page: dict[str, Any]) -> None:
    """One page of the GraphQL ``externalIdentities`` connection: GitHub login -> corporate email."""
    for node in page.get("nodes") or []:
        login = ((node or {}).get("user") or {}).get("login")
        email = saml_email(node.get("samlIdentity") or {})
        if login and email:
            org.saml[login] = email


def custom_roles_from_rest(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``GET /orgs/{org}/custom-repository-roles``: role name -> role (base_role, permissions, id)."""
    return {r["name"]: r for r in (data or {}).get("custom_roles", [])}


def reaches_code(role: dict[str, Any]) -> bool:
    """An organisation role (``GET /orgs/{org}/organization-roles``) whose base role writes code."""
    return ROLE_RANK.get(str(role.get("base_role") or "none"), -1) >= ROLE_RANK["write"]


def org_role_from_rest(role: dict[str, Any], teams: list[dict[str, Any]], users: list[dict[str, Any]]
                       ) -> dict[str, Any]:
    """An organisation role with the teams and users it is assigned to (two more REST lists)."""
    return {**role, "teams": [t["slug"] for t in teams], "users": [u["login"] for u in users]}


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
    return team


def team_members(edges: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """``TeamMemberEdge``s: (login, MEMBER | MAINTAINER)."""
    return [(e["node"]["login"], e.get("role", "MEMBER")) for e in edges or [] if e.get("node")]


def role_of(item: dict[str, Any]) -> str:
    """The role in a REST repository or collaborator item: ``role_name``, else the legacy flags."""
    return str(item.get("role_name") or legacy_role(item.get("permissions") or {}))


def roles_by_repo(items: list[dict[str, Any]]) -> dict[str, str]:
    """``GET /orgs/{org}/teams/{slug}/repos``: repository full name -> the team's role there."""
    return {item["full_name"]: role_of(item) for item in items}


def roles_by_login(items: list[dict[str, Any]]) -> dict[str, str]:
    """``GET /repos/{owner}/{repo}/collaborators?affiliation=direct``: login -> role."""
    return {item["login"]: role_of(item) for item in items}


def repo_from_graphql(node: dict[str, Any]) -> RepoData:
    """A GraphQL `Repository` node (`REPOS_QUERY`): protection rules, rulesets, environments, workflows."""
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


def ruleset_matters(ruleset: dict[str, Any]) -> bool:
    """Active branch rulesets that gate merging: the only ones whose bypass list we need."""
    if ruleset.get("enforcement") != "ACTIVE" or (ruleset.get("target") or "BRANCH") != "BRANCH":
        return False
    return any(r.get("type") in ("PULL_REQUEST", "UPDATE") for r in (ruleset.get("rules") or {}).get("nodes") or [])


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
