"""GitHub translation on payloads in the shapes GitHub documents (REST and GraphQL), no server.

Each payload goes through the same `payloads` function the fetch side hands it to, then the
pure `translate`; assertions are on what a reviewer reads: who holds which capability on
which repository or environment, through what, and what stayed unknown. Semantics cited
from /work/shared/reference/permission-semantics.md §1 and §2.
"""

from __future__ import annotations

import pytest

from foureyes.config import parse_config
from foureyes.connectors.github import payloads
from foureyes.connectors.github.payloads import OrgData, RepoData
from foureyes.connectors.github.translate import translate
from foureyes.model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    EdgeKind,
    Kind,
    Via,
)

CONFIG = parse_config("""
[tiers.production]
github_environments = ["production"]
github_repos = ["acme/api"]

[sources.github]
org = "acme"
""")
API = "github:repo:acme/api"
PROD = "github:environment:acme/api/production"
MEMBERS = "github:org/acme/members"


# ---------------------------------------------------------------- payloads, as GitHub documents them


def rest_org(base: str = "read") -> dict:
    """GET /orgs/{org} (the fields the connector reads, among many)."""
    return {"login": "acme", "id": 1, "node_id": "O_kgDO", "name": "Acme Corp", "type": "Organization",
            "default_repository_permission": base, "members_can_create_repositories": True,
            "two_factor_requirement_enabled": True, "plan": {"name": "enterprise", "space": 976562499,
                                                              "private_repos": 999999, "seats": 50}}


def members_page(*people: tuple[str, str]) -> dict:
    """GraphQL organization.membersWithRole: an OrganizationMemberConnection page."""
    return {"pageInfo": {"hasNextPage": False, "endCursor": "Y3Vyc29yOjI="}, "totalCount": len(people),
            "edges": [{"role": role, "node": {"login": login, "name": login.title(), "email": "",
                                              "databaseId": 1000 + i}}
                      for i, (login, role) in enumerate(people)]}


def team_node(slug: str, *members: tuple[str, str], parent: str | None = None, database_id: int = 0) -> dict:
    """GraphQL organization.teams node, with the first page of immediate members."""
    return {"databaseId": database_id or 100 + len(slug), "slug": slug, "name": slug.title(), "privacy": "VISIBLE",
            "parentTeam": {"slug": parent} if parent else None,
            "members": {"totalCount": len(members), "pageInfo": {"hasNextPage": False, "endCursor": None},
                        "edges": [{"role": role, "node": {"login": login, "name": login.title()}}
                                  for login, role in members]}}


LEGACY = {"pull": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
          "push": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
          "admin": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}}


def rest_team_repo(full: str, role: str) -> dict:
    """GET /orgs/{org}/teams/{slug}/repos item (a minimal-repository with role_name)."""
    legacy = "admin" if role == "admin" else "push" if role in ("write", "maintain") else "pull"
    return {"id": 1296269, "name": full.split("/")[1], "full_name": full, "private": True,
            "permissions": LEGACY[legacy], "role_name": role}


def rest_collaborator(login: str, role: str | None, legacy: str = "push") -> dict:
    """GET /repos/{owner}/{repo}/collaborators?affiliation=direct item."""
    item = {"login": login, "id": 583231, "type": "User", "site_admin": False, "permissions": LEGACY[legacy]}
    if role is not None:
        item["role_name"] = role
    return item


def classic_rule(pattern: str = "main", *, approvals: int = 1, requires_reviews: bool = True,
                 admins_enforced: bool = False, bypass: tuple = (), restricts_pushes: bool = False,
                 push: tuple = (), last_push: bool = False, rule_id: str = "BPR_kwDOA1") -> dict:
    """GraphQL BranchProtectionRule, as REPOS_QUERY selects it."""
    def actors(names: tuple) -> dict:
        return {"totalCount": len(names), "nodes": [
            {"actor": {"__typename": "Team", "slug": n[5:]} if n.startswith("team:") else
             {"__typename": "User", "login": n}} for n in names]}

    return {"id": rule_id, "pattern": pattern, "requiresApprovingReviews": requires_reviews,
            "requiredApprovingReviewCount": approvals, "isAdminEnforced": admins_enforced,
            "requireLastPushApproval": last_push, "requiresCodeOwnerReviews": False, "dismissesStaleReviews": True,
            "restrictsPushes": restricts_pushes, "blocksCreations": False, "lockBranch": False,
            "pushAllowances": actors(push), "bypassPullRequestAllowances": actors(bypass),
            "matchingRefs": {"totalCount": 1, "nodes": [{"name": pattern}]}}


def ruleset_node(database_id: int, name: str, *, approvals: int = 1, enforcement: str = "ACTIVE",
                 include: tuple = ("~DEFAULT_BRANCH",), exclude: tuple = (), source: str = "Repository") -> dict:
    """GraphQL RepositoryRuleset (rulesets(includeParents: true)), with a pull_request rule."""
    owner = {"__typename": "Repository", "nameWithOwner": "acme/api"} if source == "Repository" else \
        {"__typename": "Organization", "login": "acme"}
    return {"databaseId": database_id, "name": name, "enforcement": enforcement, "target": "BRANCH", "source": owner,
            "conditions": {"refName": {"include": list(include), "exclude": list(exclude)}},
            "rules": {"totalCount": 2, "nodes": [
                {"type": "DELETION", "parameters": None},
                {"type": "PULL_REQUEST", "parameters": {
                    "__typename": "PullRequestParameters", "requiredApprovingReviewCount": approvals,
                    "requireLastPushApproval": True, "requireCodeOwnerReview": False,
                    "dismissStaleReviewsOnPush": True}}]}}


def rest_ruleset(database_id: int, name: str, *bypass: tuple[str, int | None, str]) -> dict:
    """GET /repos/{owner}/{repo}/rulesets/{id} (bypass_actors: visible to a token that may edit it)."""
    return {"id": database_id, "name": name, "target": "branch", "source_type": "Repository", "source": "acme/api",
            "enforcement": "active", "node_id": "RRS_lACkVXNlcgQB",
            "bypass_actors": [{"actor_id": actor_id, "actor_type": kind, "bypass_mode": mode}
                              for kind, actor_id, mode in bypass],
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 2}}]}


def workflow(text: str, name: str = "deploy.yml") -> dict:
    """A GraphQL TreeEntry of HEAD:.github/workflows with its Blob."""
    return {"name": name, "type": "blob", "object": {"text": text, "isBinary": False, "isTruncated": False,
                                                     "byteSize": len(text)}}


def repo_node(name: str = "api", *, rules: tuple = (), rulesets: tuple = (), environments: tuple = (),
              workflows: tuple = (), archived: bool = False, default_rule: str | None = None) -> dict:
    """GraphQL Repository node, as REPOS_QUERY selects it."""
    return {"databaseId": 5000 + len(name), "name": name, "nameWithOwner": f"acme/{name}", "isArchived": archived,
            "isFork": False, "visibility": "PRIVATE",
            "defaultBranchRef": {"name": "main", "branchProtectionRule": {"id": default_rule} if default_rule else None},
            "branchProtectionRules": {"totalCount": len(rules), "nodes": list(rules)},
            "rulesets": {"totalCount": len(rulesets), "nodes": list(rulesets)},
            "environments": {"totalCount": len(environments), "nodes": [{"name": e} for e in environments]},
            "workflows": {"entries": list(workflows)} if workflows else None}


def rest_environment(name: str, *, reviewers: tuple = (), prevent_self_review: bool = False,
                     can_admins_bypass: bool = True, branch_policy: dict | None = None, wait: int = 0) -> dict:
    """An item of GET /repos/{owner}/{repo}/environments → environments[]."""
    rules: list[dict] = []
    if wait:
        rules.append({"id": 3736, "node_id": "MDQ6R2F0ZTM3MzY=", "type": "wait_timer", "wait_timer": wait})
    if reviewers:
        rules.append({"id": 3755, "node_id": "MDQ6R2F0ZTM3NTU=", "type": "required_reviewers",
                      "prevent_self_review": prevent_self_review, "reviewers": [
                          {"type": "Team", "reviewer": {"id": 1, "slug": r[5:], "name": r[5:]}} if r.startswith("team:")
                          else {"type": "User", "reviewer": {"login": r, "id": 1, "type": "User"}}
                          for r in reviewers]})
    if branch_policy:
        rules.append({"id": 3756, "node_id": "MDQ6R2F0ZTM3NTY=", "type": "branch_policy"})
    return {"id": 161088068, "node_id": "MDExOkVudmlyb25tZW50MTYxMDg4MDY4", "name": name,
            "url": f"https://api.github.com/repos/acme/api/environments/{name}",
            "created_at": "2020-11-23T22:00:40Z", "updated_at": "2020-11-23T22:00:40Z",
            "can_admins_bypass": can_admins_bypass, "protection_rules": rules,
            "deployment_branch_policy": branch_policy}


# ---------------------------------------------------------------- an organisation from those payloads


def organisation(*, base: str = "read", members: tuple = (("olivia", "ADMIN"), ("walter", "MEMBER")),
                 outside: tuple = (), teams: tuple = (), team_repos: dict | None = None, custom_roles: dict | None = None,
                 org_roles: tuple = ()) -> OrgData:
    org = payloads.org_from_rest(rest_org(base), "acme")
    payloads.add_members(org, members_page(*members))
    org.outside = {u["login"] for u in outside}  # GET /orgs/{org}/outside_collaborators
    for node in teams:
        team = payloads.team_from_graphql(node)
        team.repos = payloads.roles_by_repo((team_repos or {}).get(team.slug, []))
        org.teams[team.slug] = team
    org.custom_roles = payloads.custom_roles_from_rest(custom_roles or {"total_count": 0, "custom_roles": []})
    org.org_roles = list(org_roles)
    return org


def with_repo(org: OrgData, node: dict, *, collaborators: tuple = (), ruleset_details: dict | None = None,
              environments: tuple | None = None, branch_policies: dict | None = None, oidc: dict | None = None
              ) -> RepoData:
    repo = payloads.repo_from_graphql(node)
    repo.collaborators = payloads.roles_by_login(list(collaborators))
    repo.ruleset_details = dict(ruleset_details or {})
    if environments is not None:
        repo.environments = list(environments)
    repo.branch_policies = dict(branch_policies or {})
    repo.oidc = oidc
    org.repos.append(repo)
    return repo


def run(org: OrgData):
    return translate(org, CONFIG, CONFIG.sources.github)


def grants(b, principal: str, resource: str = API) -> dict[str, object]:
    return {g.entitlement: g for g in b.grants.values() if g.principal == principal and g.resource == resource}


def roles(b, principal: str, resource: str = API) -> dict[str, object]:
    """Role grants only (not the merge-unreviewed grants an unprotected branch adds)."""
    return {k: g for k, g in grants(b, principal, resource).items() if k not in ("merge unreviewed", "latent bypass")}


def caps(b, principal: str, resource: str = API) -> set[str]:
    return {c for g in grants(b, principal, resource).values() for c in g.capabilities}


def edges(b, src: str = "", dst: str = "", kind: str = "") -> list:
    return [e for e in b.edges.values() if (not src or e.src == src) and (not dst or e.dst == dst)
            and (not kind or e.kind == kind)]


def user(login: str) -> str:
    return f"github:{login}"


def team(slug: str) -> str:
    return f"github:team/acme/{slug}"


# ---------------------------------------------------------------- people and roles (reference §1.1)


@pytest.mark.parametrize("base, expected", [
    ("read", set()), ("write", {CODE_PUSH, CODE_APPROVE}), ("admin", {CODE_PUSH, CODE_APPROVE, ACCESS_ADMIN})])
def test_the_org_base_permission_reaches_every_member_on_every_repository(base, expected):
    org = organisation(base=base, outside=({"login": "jq", "id": 7},))
    with_repo(org, repo_node())
    with_repo(org, repo_node("web"))
    b = run(org)
    for repo in (API, "github:repo:acme/web"):
        (grant,) = roles(b, MEMBERS, repo).values()
        assert grant.entitlement == base and grant.via == Via.BASE and set(grant.capabilities) == expected
    # members reach it through the org's members group; an outside collaborator does not
    assert edges(b, user("walter"), MEMBERS, EdgeKind.MEMBER_OF)
    assert not edges(b, user("jq"), MEMBERS)
    assert b.resources["github:org:acme"].attrs["base_permission"] == base


def test_no_base_permission_grants_nothing():
    org = organisation(base="none")
    with_repo(org, repo_node())
    assert grants(run(org), MEMBERS) == {}


def test_owners_administer_the_org_and_every_repository():
    org = organisation(members=(("olivia", "ADMIN"), ("walter", "MEMBER")))
    with_repo(org, repo_node())
    b = run(org)
    assert caps(b, user("olivia"), "github:org:acme") == {ACCESS_ADMIN}
    admin = grants(b, user("olivia"))["admin"]
    assert admin.via == Via.OWNER and ACCESS_ADMIN in admin.capabilities
    assert b.principals[user("olivia")].attrs["org_role"] == "owner"
    assert caps(b, user("walter")) == set() and caps(b, user("walter"), "github:org:acme") == set()


def test_a_team_grant_belongs_to_the_team_that_holds_it_and_reaches_child_team_members():
    # GitHub lists a parent's access on the child team too; the grant is the parent's (reference §1.1)
    org = organisation(
        teams=(team_node("engineering", ("eve", "MAINTAINER")),
               team_node("payments", ("petra", "MEMBER"), parent="engineering"),
               team_node("leads", ("lena", "MEMBER"), parent="payments")),
        team_repos={"engineering": [rest_team_repo("acme/api", "write")],
                    "payments": [rest_team_repo("acme/api", "write")],
                    "leads": [rest_team_repo("acme/api", "maintain")]})
    with_repo(org, repo_node())
    b = run(org)
    assert set(roles(b, team("engineering"))) == {"write"}
    assert grants(b, team("payments")) == {}  # inherited, not its own
    assert grants(b, team("leads"))["maintain"].via == Via.TEAM  # more than it inherits: its own grant
    assert "inherited by child teams payments" in grants(b, team("engineering"))["write"].detail
    # petra reaches engineering's write through payments → engineering
    assert edges(b, user("petra"), team("payments"), EdgeKind.MEMBER_OF)
    assert edges(b, team("payments"), team("engineering"), EdgeKind.MEMBER_OF)
    assert edges(b, team("leads"), team("payments"), EdgeKind.MEMBER_OF)
    assert edges(b, user("eve"), team("engineering"))[0].label == "maintainer of team engineering"


def test_an_outside_collaborator_holds_a_direct_grant_and_is_not_a_member():
    org = organisation(outside=({"login": "jq", "id": 7, "type": "User"},))
    with_repo(org, repo_node(), collaborators=(rest_collaborator("jq", "write"),))
    b = run(org)
    grant = grants(b, user("jq"))["write"]
    assert grant.via == Via.DIRECT and set(grant.capabilities) == {CODE_PUSH, CODE_APPROVE}
    assert grant.detail == "direct collaborator with write (outside collaborator)"
    assert b.principals[user("jq")].attrs["org_role"] == "outside"
    assert b.principals[user("jq")].kind == Kind.USER


def test_without_role_name_the_legacy_permission_flags_give_the_role():
    org = organisation()
    with_repo(org, repo_node(), collaborators=(rest_collaborator("walter", None, legacy="push"),
                                               rest_collaborator("wendy", None, legacy="pull")))
    b = run(org)
    assert set(roles(b, user("walter"))) == {"write"}
    assert caps(b, user("wendy")) == set()


def test_a_custom_role_keeps_its_base_role_and_its_bypass_right():
    roles = {"total_count": 1, "custom_roles": [{"id": 8030, "name": "release-manager", "base_role": "write",
                                                 "permissions": ["bypass_branch_protection"],
                                                 "organization": {"login": "acme"}}]}
    org = organisation(custom_roles=roles)
    with_repo(org, repo_node(rules=(classic_rule(approvals=2),), default_rule="BPR_kwDOA1"),
              collaborators=(rest_collaborator("rita", "release-manager"),))
    b = run(org)
    grant = grants(b, user("rita"))["release-manager"]
    assert set(grant.capabilities) == {CODE_PUSH, CODE_APPROVE}
    assert grant.attrs["base_role"] == "write" and grant.attrs["permissions"] == ["bypass_branch_protection"]
    merge = grants(b, user("rita"))["merge unreviewed"]
    assert "custom role release-manager may bypass branch protections" in merge.detail


def test_an_organisation_role_for_all_repositories_reaches_each_one():
    role = payloads.org_role_from_rest(
        {"id": 8132, "name": "all_repo_write", "base_role": "write", "permissions": []},
        teams=[{"id": 1, "slug": "platform", "name": "Platform"}], users=[{"login": "walter", "id": 2}])
    org = organisation(teams=(team_node("platform", ("paul", "MEMBER")),), org_roles=(role,))
    with_repo(org, repo_node())
    b = run(org)
    assert grants(b, team("platform"))["write"].via == Via.TEAM
    assert "organisation role all_repo_write" in grants(b, user("walter"))["write"].detail


def test_an_archived_repository_cannot_be_pushed_to():
    org = organisation(base="write")
    with_repo(org, repo_node(archived=True))
    b = run(org)
    (grant,) = grants(b, MEMBERS).values()
    assert CODE_PUSH not in grant.capabilities and grant.attrs["archived"] is True
    assert not [g for g in b.grants.values() if CODE_MERGE_UNREVIEWED in g.capabilities]


def test_saml_identities_give_emails_for_linking():
    org = organisation(members=(("walter", "MEMBER"),))
    payloads.add_saml_identities(org, {"pageInfo": {"hasNextPage": False}, "nodes": [
        {"samlIdentity": {"nameId": "walter.wong@acme.com", "emails": [{"value": "walter.wong@acme.com"}]},
         "user": {"login": "walter"}},
        {"samlIdentity": {"nameId": "WWONG", "emails": [{"value": "w.wong@acme.com"}]}, "user": {"login": "wes"}},
        {"samlIdentity": {"nameId": "nobody@acme.com", "emails": []}, "user": None}]})
    org.saml_state = "ok"
    b = run(org)
    walter = b.principals[user("walter")]
    assert walter.email == "walter.wong@acme.com" and walter.attrs["email_source"] == "saml"
    assert org.saml["wes"] == "w.wong@acme.com"  # nameId is not an email: the first email value is


# ---------------------------------------------------------------- branch protection (reference §1.3, §1.5)


def merge_unreviewed(b) -> dict[str, object]:
    return {g.principal: g for g in b.grants.values()
            if CODE_MERGE_UNREVIEWED in g.capabilities and not g.attrs.get("latent")}


def latent(b) -> set[str]:
    return {g.principal for g in b.grants.values() if g.attrs.get("latent")}


def protected_org(node: dict, **kw) -> tuple[OrgData, RepoData]:
    org = organisation(teams=(team_node("web", ("walter", "MEMBER")),),
                       team_repos={"web": [rest_team_repo("acme/api", "write")]})
    repo = with_repo(org, node, **kw)
    return org, repo


def test_an_unprotected_default_branch_lets_every_writer_land_alone():
    org, _ = protected_org(repo_node())
    b = run(org)
    landed = merge_unreviewed(b)
    assert set(landed) == {team("web"), user("olivia")}
    assert "not protected" in landed[team("web")].detail
    assert b.resources[API].attrs["protected"] is False


def test_a_required_review_stops_writers_but_not_admins_when_admins_are_not_enforced():
    org, _ = protected_org(repo_node(rules=(classic_rule(approvals=1),), default_rule="BPR_kwDOA1"))
    b = run(org)
    landed = merge_unreviewed(b)
    assert set(landed) == {user("olivia")}
    assert "admins are not enforced" in landed[user("olivia")].detail
    attrs = b.resources[API].attrs
    assert attrs["protected"] is True and attrs["required_approvals"] == 1 and attrs["enforce_admins"] is False


def test_enforced_admins_keep_only_a_latent_bypass():
    org, _ = protected_org(repo_node(rules=(classic_rule(approvals=1, admins_enforced=True),),
                                     default_rule="BPR_kwDOA1"))
    b = run(org)
    assert merge_unreviewed(b) == {}
    assert latent(b) == {user("olivia")}  # an admin can switch protection off


def test_zero_required_approvals_is_no_review():
    org, _ = protected_org(repo_node(rules=(classic_rule(approvals=0),), default_rule="BPR_kwDOA1"))
    landed = merge_unreviewed(run(org))
    assert team("web") in landed and "requires no approving review" in landed[team("web")].detail


def test_the_pull_request_bypass_list_lands_alone():
    org, _ = protected_org(repo_node(rules=(classic_rule(approvals=2, admins_enforced=True, bypass=("walter",)),),
                                     default_rule="BPR_kwDOA1"))
    landed = merge_unreviewed(run(org))
    assert set(landed) == {user("walter")}
    assert landed[user("walter")].via == Via.BYPASS and "bypass list" in landed[user("walter")].detail


def test_restricted_pushes_keep_out_writers_not_on_the_push_list():
    rule = classic_rule(approvals=0, admins_enforced=True, restricts_pushes=True, push=("team:web",))
    org, _ = protected_org(repo_node(rules=(rule,), default_rule="BPR_kwDOA1"),
                           collaborators=(rest_collaborator("carl", "write"),))
    landed = merge_unreviewed(run(org))
    assert team("web") in landed and user("carl") not in landed


def test_a_ruleset_bypass_actor_lands_alone_and_its_mode_is_said():
    org, _ = protected_org(
        repo_node(rulesets=(ruleset_node(7, "main review", approvals=2),)),
        ruleset_details={7: rest_ruleset(7, "main review", ("Team", 104, "pull_request"),
                                         ("OrganizationAdmin", 1, "always"))})
    org.teams["web"].id = 104
    b = run(org)
    landed = merge_unreviewed(b)
    assert set(landed) == {team("web"), user("olivia")}
    assert "ruleset 'main review' bypass (team web), mode pull_request" in landed[team("web")].detail
    assert "organisation owners" in landed[user("olivia")].detail
    assert b.resources[API].attrs["required_approvals"] == 2 and b.resources[API].attrs["enforce_admins"] is False


def test_rulesets_in_evaluate_mode_or_excluding_the_branch_protect_nothing():
    org, _ = protected_org(repo_node(rulesets=(
        ruleset_node(7, "trial", enforcement="EVALUATE"),
        ruleset_node(8, "org rule", include=("~ALL",), exclude=("refs/heads/main",), source="Organization"))))
    b = run(org)
    assert team("web") in merge_unreviewed(b)
    assert b.resources[API].attrs["protected"] is False


def test_an_unreadable_bypass_list_is_never_read_as_nobody_may_bypass():
    # GET …/rulesets/{id} without bypass_actors (the token may not edit it): fetch records a Gap
    org, _ = protected_org(repo_node(rulesets=(ruleset_node(7, "main review"),)),
                           ruleset_details={7: {**rest_ruleset(7, "main review"), "bypass_actors": None}})
    b = run(org)
    assert merge_unreviewed(b) == {}  # nobody is claimed…
    assert b.resources[API].attrs["protected"] is True


def test_connections_beyond_the_first_page_are_gaps():
    node = repo_node(rules=(classic_rule(),))
    node["branchProtectionRules"]["totalCount"] = 51
    node["rulesets"]["totalCount"] = 60
    node["workflows"] = {"entries": [{"name": "big.yml", "type": "blob",
                                      "object": {"text": None, "isBinary": False, "isTruncated": True}}]}
    repo = payloads.repo_from_graphql(node)
    reasons = [g.reason for g in repo.gaps]
    assert "more than 1 branch protection rules; the rest were not read" in reasons
    assert "more than 0 rulesets; the rest were not read" in reasons
    assert any("big.yml could not be read" in r for r in reasons)
    org = organisation()
    org.repos.append(repo)
    assert {g.reason for g in run(org).gaps} >= set(reasons)


# ---------------------------------------------------------------- environments (reference §1.6)


DEPLOY_YML = """
on: {push: {branches: [main]}}
permissions: {id-token: write, contents: read}
jobs:
  deploy:
    environment: production
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: {role-to-assume: "arn:aws:iam::111111111111:role/gha-deploy", aws-region: us-east-1}
  test:
    runs-on: ubuntu-latest
    steps: [{run: make test}]
"""


def env_org(environment: dict, *, rules: tuple = (), policies: dict | None = None, oidc: dict | None = None,
            workflows: tuple = (workflow(DEPLOY_YML),)) -> OrgData:
    org = organisation(members=(("olivia", "ADMIN"), ("walter", "MEMBER"), ("sam", "MEMBER"), ("sue", "MEMBER")),
                       teams=(team_node("web", ("walter", "MEMBER")), team_node("sre", ("sam", "MEMBER"), ("sue", "MEMBER"))),
                       team_repos={"web": [rest_team_repo("acme/api", "write")],
                                   "sre": [rest_team_repo("acme/api", "read")]})
    with_repo(org, repo_node(rules=rules, default_rule="BPR_kwDOA1" if rules else None, environments=("production",),
                             workflows=workflows),
              collaborators=(rest_collaborator("sam", "write"),), environments=(environment,),
              branch_policies=policies, oidc=oidc)
    return org


def test_an_environment_without_reviewers_is_deployed_by_anyone_who_can_push():
    b = run(env_org(rest_environment("production")))
    context = "ci:repo:acme/api:environment:production"
    assert b.resources[PROD].tier == "production" and b.resources[PROD].attrs["reviewers"] == 0
    (deploy,) = [g for g in b.grants.values() if g.principal == context]
    assert deploy.capabilities == (DEPLOY_RUN,) and deploy.resource == PROD
    triggers = {e.src: e.label for e in edges(b, dst=context, kind=EdgeKind.CAN_TRIGGER)}
    assert set(triggers) == {team("web"), user("sam"), user("olivia")}
    assert "has no required reviewer (any branch may deploy)" in triggers[team("web")]


def test_required_reviewers_approve_and_may_approve_their_own_run_without_prevent_self_review():
    b = run(env_org(rest_environment("production", reviewers=("team:sre",), can_admins_bypass=False)))
    context = "ci:repo:acme/api:environment:production"
    approve = grants(b, team("sre"), PROD)["required reviewer"]
    assert approve.capabilities == (DEPLOY_APPROVE,) and approve.attrs["self_review_allowed"] is True
    # sam can push and is a reviewer: alone he starts and approves the run; sue cannot push
    triggers = {e.src: e.label for e in edges(b, dst=context, kind=EdgeKind.CAN_TRIGGER)}
    assert set(triggers) == {user("sam")}
    assert "may approve their own run" in triggers[user("sam")]
    assert b.resources[PROD].attrs["reviewer_names"] == ["team sre"]


def test_prevent_self_review_and_no_admin_bypass_leave_nobody_alone():
    b = run(env_org(rest_environment("production", reviewers=("team:sre", "sue"), prevent_self_review=True,
                                     can_admins_bypass=False, wait=30)))
    assert edges(b, dst="ci:repo:acme/api:environment:production", kind=EdgeKind.CAN_TRIGGER) == []
    assert grants(b, user("sue"), PROD)["required reviewer"].attrs["self_review_allowed"] is False
    assert b.resources[PROD].attrs["wait_timer"] == 30 and b.resources[PROD].attrs["prevent_self_review"] is True


def test_admins_may_bypass_the_environment_unless_it_says_otherwise():
    b = run(env_org(rest_environment("production", reviewers=("sue",), prevent_self_review=True)))
    (edge,) = edges(b, dst="ci:repo:acme/api:environment:production", kind=EdgeKind.CAN_TRIGGER)
    assert edge.src == user("olivia") and "may bypass the protection rules of production" in edge.label


def test_protected_branches_only_with_no_protection_rule_lets_any_branch_deploy():
    b = run(env_org(rest_environment("production", can_admins_bypass=False,
                                     branch_policy={"protected_branches": True, "custom_branch_policies": False})))
    labels = [e.label for e in edges(b, dst="ci:repo:acme/api:environment:production", kind=EdgeKind.CAN_TRIGGER)]
    assert labels and all("has no branch protection rule, so any branch may deploy" in x for x in labels)


def test_selected_branches_admit_whoever_can_create_a_matching_unprotected_branch():
    policy = {"protected_branches": False, "custom_branch_policies": True}
    patterns = {"production": [{"id": 361471, "node_id": "MDE2OkdhdGVCcmFuY2hQb2xpY3kzNjE0NzE=", "name": "release/*",
                                "type": "branch"}]}
    b = run(env_org(rest_environment("production", branch_policy=policy, can_admins_bypass=False),
                    rules=(classic_rule("main", approvals=1, admins_enforced=True),), policies=patterns))
    triggers = {e.src: e.label for e in edges(b, dst="ci:repo:acme/api:environment:production", kind=EdgeKind.CAN_TRIGGER)}
    assert team("web") in triggers
    assert "can create unprotected branch release/x matching release/*" in triggers[team("web")]
    assert b.resources[PROD].attrs["branch_patterns"] == ["release/*"]


def test_unreadable_branch_policies_are_assumed_to_admit_any_branch():
    policy = {"protected_branches": False, "custom_branch_policies": True}
    b = run(env_org(rest_environment("production", branch_policy=policy, can_admins_bypass=False),
                    rules=(classic_rule("main", approvals=1, admins_enforced=True),), policies={"production": None}))
    labels = [e.label for e in edges(b, dst="ci:repo:acme/api:environment:production", kind=EdgeKind.CAN_TRIGGER)]
    assert labels and all("could not be read" in x for x in labels)


# ---------------------------------------------------------------- Actions OIDC contexts (reference §1.7, §2)


def test_ci_contexts_carry_the_cloud_identities_their_workflows_take_on():
    b = run(env_org(rest_environment("production")))
    env_ctx = b.principals["ci:repo:acme/api:environment:production"]
    assert env_ctx.kind == Kind.WORKLOAD
    assert env_ctx.attrs["assumes"] == ["assume arn:aws:iam::111111111111:role/gha-deploy"]
    assert env_ctx.attrs["jobs"] == ["deploy.yml:deploy"] and env_ctx.attrs["oidc_sub_claims"] == ["repo", "context"]
    # any writer can push a branch and run a workflow on it, or open a pull request
    branch = "ci:repo:acme/api:ref:refs/heads/*"
    assert b.principals[branch].attrs["assumes"] == []
    assert {e.src for e in edges(b, dst=branch, kind=EdgeKind.CAN_TRIGGER)} == {team("web"), user("sam"), user("olivia")}
    assert {e.src for e in edges(b, dst="ci:repo:acme/api:pull_request")} == {team("web"), user("sam"), user("olivia")}


def test_a_custom_oidc_subject_template_is_a_gap_on_cloud_matching():
    oidc = {"use_default": False, "include_claim_keys": ["repo", "context", "job_workflow_ref"]}
    b = run(env_org(rest_environment("production"), oidc=oidc))
    assert b.principals["ci:repo:acme/api:environment:production"].attrs["oidc_sub_claims"] == oidc["include_claim_keys"]
    assert any("custom OIDC subject template" in g.reason for g in b.gaps)


def test_a_workflow_that_is_not_yaml_is_a_gap_not_silence():
    b = run(env_org(rest_environment("production"), workflows=(workflow("jobs: [unclosed", "broken.yml"),)))
    assert any(g.reason.startswith(".github/workflows/broken.yml: not valid YAML") for g in b.gaps)


def test_environments_that_could_not_be_read_stay_unknown():
    org = organisation()
    with_repo(org, repo_node(environments=("production",)), environments=None)
    b = run(org)
    assert b.resources[PROD].attrs == {"unknown": True}
    assert not [g for g in b.grants.values() if g.resource == PROD]


# ---------------------------------------------------------------- layers per account, code owners (issue 23)


def test_the_base_permission_passes_one_layer_and_a_listed_member_the_other():
    """GitHub, "About rulesets" (layering) and "Creating rulesets for a repository" (bypass by
    repository role): members writing through the base permission get past a ruleset that lets
    the write role bypass; only a member also on the classic rule's bypass list gets past both."""
    org = organisation(base="write", members=(("olivia", "ADMIN"), ("walter", "MEMBER"), ("wendy", "MEMBER")))
    with_repo(org, repo_node(rules=(classic_rule(approvals=1, admins_enforced=True, bypass=("walter",)),),
                             rulesets=(ruleset_node(7, "main review"),), default_rule="BPR_kwDOA1"),
              ruleset_details={7: rest_ruleset(7, "main review", ("RepositoryRole", 4, "always"))})
    landed = merge_unreviewed(run(org))
    assert set(landed) == {user("walter")}
    assert "ruleset 'main review' bypass (role write)" in landed[user("walter")].detail
    assert "bypass list for pull request reviews of branch protection rule main" in landed[user("walter")].detail


def codeowners_node(text: str, *, where: str = "codeownersGithub") -> dict:
    rule = classic_rule(approvals=0, admins_enforced=True)
    rule["requiresCodeOwnerReviews"] = True
    node = repo_node(rules=(rule,), default_rule="BPR_kwDOA1")
    node[where] = {"text": text, "isBinary": False, "isTruncated": False, "byteSize": len(text)}
    return node


def test_an_owner_line_without_a_valid_owner_leaves_its_paths_unowned():
    """GitHub, "About code owners": owners need write access, and a team must be one of the
    organisation's; a line left with no valid owner owns nothing (foureyes's reading: its paths
    have no owner, so zero approvals let writers change them alone)."""
    org, _ = protected_org(codeowners_node("* @acme/web\n/vendor/ @other-org/team @wendy\n"))
    b = run(org)
    landed = merge_unreviewed(b)
    assert team("web") in landed and "/vendor/ in .github/CODEOWNERS have no code owner" in landed[team("web")].detail
    assert b.resources[API].attrs["codeowners"]["ignored_owners"] == ["@other-org/team", "@wendy"]


def test_an_email_code_owner_foureyes_cannot_map_is_a_gap():
    org, _ = protected_org(codeowners_node("* walter@acme.com\n/docs/ nobody@acme.com\n", where="codeownersRoot"))
    org.saml["walter"] = "walter@acme.com"
    b = run(org)
    assert merge_unreviewed(b) == {}  # everything is owned
    owner = grants(b, user("walter"))["code owner"]
    assert owner.attrs["paths"] == ["*"] and owner.attrs["codeowners"] == "CODEOWNERS"
    assert any("code owner nobody@acme.com is an email foureyes cannot map" in g.reason for g in b.gaps)
