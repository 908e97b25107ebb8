"""GitHub's published API shapes: every query foureyes sends, every nullable field and enum value.

The GraphQL schema is GitHub's own (npm @octokit/graphql-schema, vendored under
tests/fixtures/github/octokit/ with its licence); REST examples and enums come from GitHub's
OpenAPI description (npm @octokit/openapi, the few used vendored in openapi-examples.json).
Responses to foureyes's queries are produced by the fake server's executor (in process, no
HTTP) and then, for each field the public schema allows to be null and each enum value it
lists, altered and translated: nothing may raise, and what becomes unknown is a Gap.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import graphql
import pytest

from fakes import github_config
from fakes.github_server import FIXTURES, Org, _Root, check_schema, load_fixture, schema as fake_schema
from foureyes.connectors.github import payloads, queries
from foureyes.connectors.github.translate import translate
from foureyes.model import CODE_MERGE_UNREVIEWED, CODE_PUSH, Gap, resource_key

OCTOKIT = FIXTURES / "octokit"
OPENAPI = json.loads((OCTOKIT / "openapi-examples.json").read_text(encoding="utf-8"))
CONFIG = github_config("http://127.0.0.1:9", org="zeta", tiers='[tiers.production]\ngithub_environments = ["production"]\n')
# The rest of a list that did not fit: its items go where the first page's went (`fetch._complete`).
MORE = {f"MORE {owner}.{name}": (owner, name) for owner, name in queries.MORE_QUERIES}
QUERIES = {**{name: getattr(queries, name) for name in dir(queries) if name.endswith("_QUERY")},
           **{name: queries.MORE_QUERIES[key] for name, key in MORE.items()}}
# REPOS_QUERY's answer is kept as the list of its aliases' repositories, in the order the name chain
# listed them (`execute`), so a path into it reaches every repository at once.
PATH = {"MEMBERS_QUERY": ("organization", "membersWithRole"), "SAML_QUERY": ("organization", "samlIdentityProvider"),
        "TEAMS_QUERY": ("organization", "teams"), "TEAM_MEMBERS_QUERY": ("organization", "team", "members"),
        "REPO_NAMES_QUERY": ("organization", "repositories"), "REPOS_QUERY": ("repos",),
        "TEAM_REPOS_QUERY": ("node", "repositories"),
        **{name: ("node", field) for name, (_, field) in MORE.items()}}
# the semantics fixture's nodes that later pages are asked about: repository combined, its classic
# rule on main, its ruleset 11, team platform
NODE_IDS = {"Repository": "R_3000", "BranchProtectionRule": "BPR_combined_main", "RepositoryRuleset": "RRS_11",
            "Team": "T_2001"}


@pytest.fixture(scope="session")
def public_schema() -> graphql.GraphQLSchema:
    """GitHub's schema. Its SDL defines EnterpriseOwnerInfo.repositoryDeployKeySetting twice, so
    graphql-core's SDL validation must be skipped (docs/reference-notes.md)."""
    text = (OCTOKIT / "graphql-schema.graphql").read_text(encoding="utf-8")
    return graphql.build_ast_schema(graphql.parse(text, no_location=True), assume_valid_sdl=True, assume_valid=True)


# ---------------------------------------------------------------- the queries against GitHub's schema


def test_every_query_foureyes_sends_is_valid_against_githubs_public_schema(public_schema):
    """GitHub GraphQL API: queries are validated against the published schema before they run."""
    assert set(QUERIES) == set(PATH)  # a new query gets a page path here, and so a fuzz below
    for name, text in QUERIES.items():
        errors = graphql.validate(public_schema, graphql.parse(text))
        assert errors == [], (name, [e.message for e in errors])


def test_activity_queries_are_valid_against_githubs_public_schema(public_schema):
    """Issue 17's documents (merged pull requests with commits and reviews, a pull request's
    commits, deployments) are validated the same way."""
    from foureyes.connectors.github import activity_queries

    found = {name: getattr(activity_queries, name) for name in dir(activity_queries) if name.endswith("_QUERY")}
    assert set(found) == {"PULL_REQUESTS_QUERY", "PR_COMMITS_QUERY", "DEPLOYMENTS_QUERY"}
    for name, text in found.items():
        assert graphql.validate(public_schema, graphql.parse(text)) == [], name


def test_the_fake_servers_schema_is_a_subset_of_githubs(public_schema):
    """The fake serves what GitHub would: each type, field (with its type), argument and enum
    value of tests/fixtures/github/schema.graphql is in GitHub's schema."""
    assert check_schema(public_schema) == []


# ---------------------------------------------------------------- responses, nullable fields and enums


def execute(name: str, fixture: dict[str, Any]) -> dict[str, Any]:
    """The fake's answer to one of foureyes's queries (first page), in process. REPOS_QUERY is asked,
    as fetch asks it, for the repositories the name chain listed, one alias each."""
    owner = MORE[name][0] if name in MORE else "Team"
    variables = {"org": fixture["org"]["login"], "after": None, "rules": 5, "rulesets": 5,
                 "slug": "platform", "id": NODE_IDS[owner]}
    text = QUERIES[name]
    if name == "REPOS_QUERY":
        listed = dig(execute("REPO_NAMES_QUERY", fixture), PATH["REPO_NAMES_QUERY"])["nodes"]
        text = queries.repos_query(len(listed))
        variables.update({f"r{i}": node["id"] for i, node in enumerate(listed)})
    result = graphql.execute(fake_schema(), graphql.parse(text), root_value=_Root(Org(fixture)),
                             variable_values=variables)
    assert not result.errors, result.errors
    if name == "REPOS_QUERY":
        return {"repos": [copy.deepcopy(result.data[f"r{i}"]) for i in range(len(listed))]}
    return copy.deepcopy(result.data)


def dig(data: Any, path: tuple[str, ...]) -> Any:
    for step in path:  # as fetch.Fetcher._graphql_pages does: a null anywhere ends the list
        data = (data or {}).get(step)
    return data


def snapshot(rest_org: dict[str, Any], answers: dict[str, dict[str, Any]]):
    """What fetch does with each page, through the same payload functions, then translation."""
    org = payloads.org_from_rest(rest_org, "zeta")
    page = dig(answers["MEMBERS_QUERY"], PATH["MEMBERS_QUERY"])
    if page is not None:
        payloads.add_members(org, page)
    idp = dig(answers["SAML_QUERY"], PATH["SAML_QUERY"])
    if idp is not None:
        payloads.add_saml_identities(org, idp.get("externalIdentities") or {})
    page = dig(answers["TEAMS_QUERY"], PATH["TEAMS_QUERY"])
    for team, _ in payloads.teams_from_graphql(page or {}):  # no custom roles: team repositories over GraphQL
        edges = (team.graphql_repos or {}).get("edges")
        if team.slug == "platform":  # as if its list had not fit
            edges = (dig(answers["TEAM_REPOS_QUERY"], PATH["TEAM_REPOS_QUERY"]) or {}).get("edges")
        team.repos = payloads.team_repos_from_graphql(edges)
        org.teams[team.slug] = team
    extra = dig(answers["TEAM_MEMBERS_QUERY"], PATH["TEAM_MEMBERS_QUERY"])
    if extra is not None and "platform" in org.teams:
        org.teams["platform"].members += payloads.team_members(extra.get("edges"))
    # as fetch does: the name chain lists the repositories (null items and archived ones left out),
    # the batch answers each by alias; one answered null could not be read (a Gap)
    names = dig(answers["REPO_NAMES_QUERY"], PATH["REPO_NAMES_QUERY"])
    batch = dig(answers["REPOS_QUERY"], PATH["REPOS_QUERY"])
    nodes = []
    for listed, node in zip((names or {}).get("nodes") or [], batch):
        if not (listed and listed.get("nameWithOwner") and listed.get("id")) or listed.get("isArchived"):
            continue
        if node and node.get("nameWithOwner"):
            nodes.append(node)
        else:
            org.gaps.append(Gap("github", resource_key("github", "repo", listed["nameWithOwner"]),
                                "repository could not be read", "everything about this repository"))
    for name, (owner, field) in MORE.items():  # each later page stands in for its list of combined
        later = dig(answers[name], PATH[name])
        combined = next((n for n in nodes if n.get("name") == "combined"), None)
        holders = {"Repository": combined}
        if combined is not None:
            holders["BranchProtectionRule"] = next((r for r in (combined.get("branchProtectionRules") or {}).get(
                "nodes") or [] if r), None)
            holders["RepositoryRuleset"] = next((r for r in (combined.get("rulesets") or {}).get("nodes") or []
                                                 if r and r.get("databaseId") == 11), None)
        holder = holders.get(owner)
        if later is not None and holder is not None:
            holder[field] = later
    org.repos += [payloads.repo_from_graphql(node) for node in nodes]
    return translate(org, CONFIG, CONFIG.sources.github)


def positions(schema: graphql.GraphQLSchema, text: str
              ) -> Iterator[tuple[tuple[str, ...], graphql.GraphQLType, bool]]:
    """Every response position of a query: (path, type, may be null); "[]" steps into list items.
    REPOS_QUERY's aliases ``r0`` … are one position, ``repos.[]``, as `execute` keeps its answer."""
    if text == QUERIES["REPOS_QUERY"]:
        for path, kind, may_be_null in positions(schema, queries.repos_query(1)):
            yield ("repos", "[]") + path[1:], kind, may_be_null
        return
    document = graphql.parse(text)
    operation = document.definitions[0]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)}

    def walk(selections: Any, parent: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
        for selection in selections.selections:
            if isinstance(selection, graphql.FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                yield from walk(fragment.selection_set, schema.get_type(fragment.type_condition.name.value), path)
                continue
            if isinstance(selection, graphql.InlineFragmentNode):
                target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                yield from walk(selection.selection_set, target, path)
                continue
            name = selection.name.value
            if name == "__typename":
                continue
            here = path + ((selection.alias or selection.name).value,)
            kind = parent.fields[name].type
            while True:
                required = isinstance(kind, graphql.GraphQLNonNull)
                kind = kind.of_type if required else kind
                yield here, kind, not required
                if not isinstance(kind, graphql.GraphQLList):
                    break
                kind, here = kind.of_type, here + ("[]",)
            if selection.selection_set is not None:
                yield from walk(selection.selection_set, kind, here)

    yield from walk(operation.selection_set, schema.query_type, ())


def nullable(schema: graphql.GraphQLSchema, text: str) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(path for path, _, may_be_null in positions(schema, text) if may_be_null))


def enums(schema: graphql.GraphQLSchema, text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    return [(path, list(kind.values)) for path, kind, _ in positions(schema, text)
            if isinstance(kind, graphql.GraphQLEnumType)]


def put(data: Any, path: tuple[str, ...], value: Any) -> int:
    """Set every instance of ``path`` in ``data`` to ``value``; how many were set."""
    if data is None:
        return 0
    head, rest = path[0], path[1:]
    if head == "[]":
        if not isinstance(data, list):
            return 0
        if not rest:
            for i in range(len(data)):
                data[i] = value
            return len(data)
        return sum(put(item, rest, value) for item in data)
    if not isinstance(data, dict) or head not in data:
        return 0
    if not rest:
        data[head] = value
        return 1
    return put(data[head], rest, value)


@pytest.fixture(scope="module")
def answers() -> dict[str, dict[str, Any]]:
    fixture = load_fixture("semantics.yaml")
    fixture["org"]["saml"] = True
    for person in fixture["people"]:
        person["saml"] = f"{person['login']}@zeta.example"
    return {name: execute(name, fixture) for name in QUERIES}


REST_ORG = {**OPENAPI["examples"]["organization-full"]["value"], "login": "zeta"}  # the example, as zeta


def test_the_baseline_answers_translate(answers):
    """The unaltered answers: what the alterations below are measured against."""
    b = snapshot(REST_ORG, answers)
    assert len([r for r in b.resources if r.startswith("github:repo:zeta/")]) == 10
    assert {g.principal for g in b.grants.values() if g.entitlement == "code owner"
            and g.resource == "github:repo:zeta/owned"} == {"github:team/zeta/owners", "github:erin"}
    assert {g.principal for g in b.grants.values() if CODE_MERGE_UNREVIEWED in g.capabilities
            and g.resource == "github:repo:zeta/half-owned"} >= {"github:sam"}
    assert b.principals["github:olga"].attrs["org_role"] == "owner"
    assert [g.resource for g in b.gaps] == ["github:repo:zeta/unreadable-owners"]


def test_every_nullable_field_and_null_list_item_of_every_query_translates(public_schema, answers):
    """GitHub GraphQL schema: each field without "!" may be null, and so may each item of a list
    whose item type has no "!" (OrganizationMemberConnection.edges, TeamConnection.nodes,
    ExternalIdentityConnection.nodes, RepositoryRuleConnection.nodes, …). None may raise."""
    tried = []
    for name, text in QUERIES.items():
        for path in nullable(public_schema, text):
            changed = copy.deepcopy(answers)
            if put(changed[name], path, None):
                snapshot(REST_ORG, changed)
                tried.append((name, path))
    named = {p for _, p in tried}
    for must in [("organization", "membersWithRole", "edges", "[]"),
                 ("organization", "membersWithRole", "edges", "[]", "role"),
                 ("organization", "teams", "nodes", "[]"),
                 ("organization", "samlIdentityProvider", "externalIdentities", "nodes", "[]"),
                 ("organization", "repositories", "nodes", "[]"),
                 ("repos", "[]"),
                 ("repos", "[]", "collaborators", "edges", "[]", "permissionSources"),
                 ("repos", "[]", "rulesets", "nodes", "[]", "rules", "nodes", "[]"),
                 ("repos", "[]", "rulesets", "nodes", "[]", "databaseId")]:
        assert must in named, must
    assert len(tried) > 60


def test_every_enum_value_of_every_query_translates(public_schema, answers):
    """Every value GitHub's schema lists for the enums foureyes reads (member roles, team
    privacy, visibility, rule enforcement, ruleset targets, rule types …) is handled."""
    count, kinds = 0, set()
    for name, text in QUERIES.items():
        for path, values in enums(public_schema, text):
            for value in values:
                changed = copy.deepcopy(answers)
                if put(changed[name], path, value):
                    snapshot(REST_ORG, changed)
                    count += 1
                    kinds.add(path[-1])
    assert kinds == {"role", "visibility", "enforcement", "target", "type", "privacy",
                     "permission", "bypassMode"}  # collaborators' and teams' repository roles; bypass modes
    assert count >= 45


# ---------------------------------------------------------------- the nullable fields issue 23 names


def test_a_null_member_role_is_a_gap_and_never_demotes_an_owner(answers):
    """GraphQL OrganizationMemberEdge.role is nullable (OrganizationMemberRole): a null role is
    not "member" — that would hide an owner's admin on every repository."""
    changed = copy.deepcopy(answers)
    edges = dig(changed["MEMBERS_QUERY"], PATH["MEMBERS_QUERY"])["edges"]
    olga = next(e for e in edges if e["node"]["login"] == "olga")
    olga["role"] = None
    edges.insert(0, None)
    b = snapshot(REST_ORG, changed)
    assert b.principals["github:olga"].attrs["org_role"] == "unknown"
    assert any("role of olga is null (OrganizationMemberEdge.role)" in g.reason for g in b.gaps)


def test_a_ruleset_without_database_id_is_a_gap_not_a_type_error(answers):
    """GraphQL RepositoryRuleset.databaseId is nullable: its bypass list (REST, by id) cannot be
    read, which is a Gap on the repository; the rest of the source is intact."""
    changed = copy.deepcopy(answers)
    repos = dig(changed["REPOS_QUERY"], PATH["REPOS_QUERY"])
    combined = next(r for r in repos if r["name"] == "combined")
    combined["rulesets"]["nodes"][0]["databaseId"] = None
    combined["rulesets"]["nodes"][0]["rules"]["nodes"].append(None)
    b = snapshot(REST_ORG, changed)
    assert any(g.resource == "github:repo:zeta/combined" and "has no databaseId" in g.reason for g in b.gaps)
    assert "github:repo:zeta/owned" in b.resources


@pytest.mark.parametrize("shown", ["null", "absent"])
def test_a_null_or_absent_base_permission_is_a_gap_not_read(shown):
    """REST "Get an organization": default_repository_permission is nullable (organization-full),
    and only an owner's token sees it."""
    assert OPENAPI["nullable"]["organization-full.default_repository_permission"] is True
    rest = dict(REST_ORG)
    if shown == "null":
        rest["default_repository_permission"] = None
    else:
        del rest["default_repository_permission"]
    org = payloads.org_from_rest(rest, "zeta")
    assert org.base_permission == "unknown"
    (gap,) = org.gaps
    assert f"default_repository_permission is {shown}" in gap.reason and "base permission" in gap.hides
    org.repos.append(payloads.repo_from_graphql({"name": "x", "nameWithOwner": "zeta/x"}))
    b = translate(org, CONFIG, CONFIG.sources.github)
    assert not [g for g in b.grants.values() if g.principal == "github:org/zeta/members"]
    assert b.resources["github:org:zeta"].attrs["base_permission"] == "unknown"
    assert gap in b.gaps


# ---------------------------------------------------------------- REST examples and enums from GitHub's description


def test_documented_rest_examples_translate():
    """The examples of GitHub's REST description for the requests foureyes makes."""
    examples = {k: v["value"] for k, v in OPENAPI["examples"].items()}
    org = payloads.org_from_rest(examples["organization-full"], "github")
    assert org.base_permission == "read" and org.private_forks is False and org.gaps == []
    assert payloads.actions_can_approve(examples["actions-default-workflow-permissions"]) is True
    collaborators = examples["collaborator-items"]
    assert payloads.roles_by_login(collaborators) == {"octocat": "write"}
    assert payloads.ids_by_login(collaborators) == {1: "octocat"}
    role = payloads.org_role_from_rest({"id": 8, "name": "all_repo_write", "base_role": "write"},
                                       examples["team-items"], examples["simple-user-items"])
    assert role["teams"] == ["justice-league"] and role["user_assignment"]["octocat"] == ("direct", [])
    repo = payloads.repo_from_graphql({"name": "hello-world", "nameWithOwner": "github/hello-world",
                                       "environments": {"totalCount": 1, "nodes": [{"name": "staging"}]}})
    repo.environments = examples["environments"]["environments"]
    repo.branch_policies = {"staging": [{"name": "main", "type": "branch"}]}
    org.repos.append(repo)
    b = translate(org, CONFIG, CONFIG.sources.github)
    env = b.resources["github:environment:github/hello-world/staging"]
    assert env.attrs["wait_timer"] == 30 and env.attrs["reviewers"] == 2
    for name in ("repository-ruleset", "org-ruleset"):  # bypass Team 234: not a team this token listed
        gaps = ruleset_gaps(examples[name])
        assert [g for g in gaps if "Team 234" in g], name


def ruleset_gaps(detail: dict[str, Any]) -> list[str]:
    org = payloads.org_from_rest(REST_ORG, "github")
    node = {"name": "api", "nameWithOwner": "zeta/api", "defaultBranchRef": {"name": "main"},
            "rulesets": {"totalCount": 1, "nodes": [{
                "databaseId": detail["id"], "name": detail["name"], "enforcement": "ACTIVE", "target": "BRANCH",
                "conditions": {"refName": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
                "rules": {"totalCount": 1, "nodes": [{"type": "PULL_REQUEST", "parameters": {
                    "__typename": "PullRequestParameters", "requiredApprovingReviewCount": 1}}]}}]}}
    repo = payloads.repo_from_graphql(node)
    repo.collaborators = {"octocat": "write"}
    repo.ruleset_details = {detail["id"]: detail}
    org.repos.append(repo)
    return [g.reason for g in translate(org, CONFIG, CONFIG.sources.github).gaps]


@pytest.mark.parametrize("actor_type", OPENAPI["enums"]["repository-ruleset-bypass-actor.actor_type"]["values"])
@pytest.mark.parametrize("actor_id", [1, 4, 5, None, 424242])
def test_every_bypass_actor_type_is_a_principal_or_a_gap(actor_type, actor_id):
    """REST repository-ruleset-bypass-actor.actor_type (GitHub Enterprise Cloud's description
    lists eight): each is matched to principals, or named in a Gap with its id."""
    detail = dict(OPENAPI["examples"]["repository-ruleset"]["value"],
                  bypass_actors=[{"actor_id": actor_id, "actor_type": actor_type, "bypass_mode": "always"}])
    gaps = ruleset_gaps(detail)
    resolvable = (actor_type in ("OrganizationAdmin", "DeployKey") or (actor_type == "Integration" and actor_id)
                  or (actor_type == "RepositoryRole" and actor_id in (4, 5)))
    named = [g for g in gaps if f"bypass actor {actor_type}" in g]
    assert bool(named) != bool(resolvable), gaps
    if named and actor_id is not None:
        assert f"{actor_type} {actor_id}" in named[0]


@pytest.mark.parametrize("assignment", OPENAPI["enums"]["user-role-assignment.assignment"]["values"])
def test_every_organisation_role_assignment(assignment):
    """REST user-role-assignment.assignment: direct, indirect (through inherited_from teams), mixed."""
    team = {"id": 1, "slug": "platform", "name": "Platform", "assignment": "direct"}
    user = {"login": "walter", "id": 2, "assignment": assignment, "inherited_from": [] if assignment == "direct"
            else [{"id": 1, "slug": "platform", "name": "Platform"}]}
    role = payloads.org_role_from_rest({"id": 8, "name": "all_repo_write", "base_role": "write"}, [team], [user])
    org = payloads.org_from_rest(REST_ORG, "github")
    org.teams["platform"] = payloads.team_from_graphql({"slug": "platform", "members": {"edges": [
        {"role": "MEMBER", "node": {"login": "walter"}}]}})
    org.org_roles = [role]
    org.repos.append(payloads.repo_from_graphql({"name": "api", "nameWithOwner": "zeta/api"}))
    b = translate(org, CONFIG, CONFIG.sources.github)
    direct = [g for g in b.grants.values() if g.principal == "github:walter" and CODE_PUSH in g.capabilities]
    assert bool(direct) == (assignment != "indirect")
    assert [g for g in b.grants.values() if g.principal == "github:team/zeta/platform" and CODE_PUSH in g.capabilities]


def test_vendored_descriptions_carry_their_notices():
    for name in ("LICENSE-graphql-schema.md", "LICENSE-openapi.md"):
        assert "Permission is hereby granted" in (OCTOKIT / name).read_text(encoding="utf-8")
    assert OPENAPI["graphql_schema"].startswith("@octokit/graphql-schema 15.26.1")
    assert Path(OCTOKIT / "README.md").is_file()


def test_a_direct_collaborators_role_is_the_one_the_repository_grants():
    """GraphQL RepositoryCollaboratorEdge: ``permission`` is the highest of all sources (as REST's
    ``role_name`` is: "the highest role ... after considering all sources of grants"), while
    ``permissionSources`` names each grant. A direct collaborator's own grant is the source that is
    the Repository: a team's admin must not become a direct admin grant."""
    def source(kind: str, role: str) -> dict[str, Any]:
        return {"roleName": role, "permission": "ADMIN" if role == "admin" else "WRITE", "source": {"__typename": kind}}

    edges = [
        {"permission": "ADMIN", "node": {"login": "ann", "databaseId": 7},
         "permissionSources": [source("Team", "admin"), source("Repository", "push"), source("Organization", "read")]},
        {"permission": "WRITE", "node": {"login": "bo", "databaseId": 8},
         "permissionSources": [source("Repository", "deployer")]},  # a custom role, by name
        {"permission": "MAINTAIN", "node": {"login": "cy", "databaseId": 9}, "permissionSources": None},
        None, {"node": None},
    ]
    roles, ids = payloads.collaborators_from_graphql(edges)
    assert roles == {"ann": "write", "bo": "deployer", "cy": "maintain"}
    assert ids == {7: "ann", 8: "bo", 9: "cy"}
