"""GCP semantics without a server: conditions, deny names, members, workload identity, catalogue.

The translation (`foureyes.connectors.gcp.translate.translate`) is pure, so the cases the fake
organisation does not show are checked here on small hand-built inventories.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from foureyes.config import parse_config
from foureyes.connectors.gcp.translate import translate
from foureyes.connectors.gcp.inventory import Binding, Inventory, Node, Role, ServiceAccount
from foureyes.connectors.gcp.iam import (
    DenyRule,
    Pool,
    Provider,
    admin_permissions,
    admits_any_context,
    deny_applies,
    deny_to_allow,
    denied_permissions,
    load_catalogue,
    parse_catalogue,
    parse_condition,
    parse_member,
    workload_trusts,
)
from foureyes.errors import InputError
from foureyes.model import DEPLOY_RUN, EdgeKind, Kind, Via

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)
CATALOGUE = load_catalogue()
POOL = "projects/99/locations/global/workloadIdentityPools/github"


# ---------------------------------------------------------------- conditions


def test_time_bound_condition_expires():
    c = parse_condition('request.time < timestamp("2021-01-01T00:00:00Z")', "old")
    assert c.expires == datetime(2021, 1, 1, tzinfo=timezone.utc) and c.expired(NOW)
    assert not c.conditional(NOW)


def test_time_bound_and_other_clause_is_conditional_until_it_expires():
    c = parse_condition("request.time < timestamp('2099-01-01T00:00:00.000Z') && "
                        'resource.type == "run.googleapis.com/Service"')
    assert not c.expired(NOW) and c.conditional(NOW)
    assert c.other == ('resource.type == "run.googleapis.com/Service"',)


def test_an_or_keeps_the_whole_condition_and_never_expires_it():
    c = parse_condition('request.time < timestamp("2000-01-01T00:00:00Z") || resource.name == "x"')
    assert c.expires is None and not c.expired(NOW) and c.conditional(NOW)


def test_a_start_time_in_the_future_is_conditional():
    c = parse_condition('(request.time >= timestamp("2099-01-01T00:00:00Z"))')
    assert c.not_before == datetime(2099, 1, 1, tzinfo=timezone.utc) and c.conditional(NOW)


def test_quoted_operators_do_not_split_clauses():
    c = parse_condition('resource.name.startsWith("a && b") && request.time < timestamp("2099-01-01T00:00:00Z")')
    assert c.other == ('resource.name.startsWith("a && b")',) and c.expires is not None


# ---------------------------------------------------------------- deny rules


@pytest.mark.parametrize("deny, allow", [
    ("run.googleapis.com/services.update", "run.services.update"),
    ("cloudresourcemanager.googleapis.com/projects.setIamPolicy", "resourcemanager.projects.setIamPolicy"),
    ("iam.googleapis.com/serviceAccounts.actAs", "iam.serviceAccounts.actAs"),
    ("container.googleapis.com/deployments.*", "container.deployments.*"),
])
def test_deny_permission_names_map_to_allow_names(deny, allow):
    assert deny_to_allow(deny, CATALOGUE) == allow


def test_deny_permission_groups_and_exceptions():
    rule = DenyRule("p", "projects/x", ("principalSet://goog/public:all",),
                    denied_permissions=("iam.googleapis.com/serviceAccounts.*",),
                    exception_permissions=("iam.googleapis.com/serviceAccounts.get",))
    granted = {"iam.serviceAccounts.actAs", "iam.serviceAccounts.get", "run.services.update"}
    assert denied_permissions(rule, granted, CATALOGUE) == {"iam.serviceAccounts.actAs"}


def test_deny_principals_and_exception_principals():
    rule = DenyRule("p", "projects/x", ("principalSet://goog/public:all",),
                    exception_principals=("principalSet://goog/group/admins@acme.com",))
    assert deny_applies(rule, {"principal://goog/subject/a@acme.com"})
    assert not deny_applies(rule, {"principal://goog/subject/a@acme.com", "principalSet://goog/group/admins@acme.com"})
    named = DenyRule("p", "projects/x", ("principal://goog/subject/a@acme.com",))
    assert deny_applies(named, {"principal://goog/subject/a@acme.com"})
    assert not deny_applies(named, {"principal://goog/subject/b@acme.com"})


# ---------------------------------------------------------------- members


def test_members_are_parsed():
    assert parse_member("user:a@x.com").principal_id == "user:a@x.com"
    assert parse_member("deleted:user:a@x.com?uid=1").kind == "deleted"
    assert parse_member("allAuthenticatedUsers").kind == "public"
    sub = parse_member(f"principal://iam.googleapis.com/{POOL}/subject/repo:acme/api:ref:refs/heads/main")
    assert (sub.kind, sub.pool, sub.selector, sub.selected) == ("wif", POOL, "subject", "repo:acme/api:ref:refs/heads/main")
    attr = parse_member(f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/acme/api")
    assert (attr.selector, attr.attribute, attr.selected) == ("attribute", "repository", "acme/api")
    assert parse_member(f"principalSet://iam.googleapis.com/{POOL}/*").selector == "all"
    assert parse_member("principal://iam.googleapis.com/locations/global/workforcePools/p/subject/x").kind == "workforce"
    assert parse_member("projectOwner:acme").kind == "unknown"


# ---------------------------------------------------------------- workload identity


def github(mapping: dict[str, str] | None = None, condition: str = "", issuer: str = "https://token.actions.githubusercontent.com") -> Pool:
    mapping = mapping or {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository",
                          "attribute.repository_owner": "assertion.repository_owner"}
    return Pool(POOL, providers=(Provider(f"{POOL}/providers/gh", issuer, mapping, condition),))


def trusts(member: str, pool: Pool | None) -> tuple[list[str], list[str], list[str]]:
    found, problems = workload_trusts(parse_member(member), pool)
    return [t.pattern for t in found], [u for t in found for u in t.uncertain], problems


SET = f"principalSet://iam.googleapis.com/{POOL}"


@pytest.mark.parametrize("member, condition, expected", [
    (f"{SET}/attribute.repository/acme/api", "", ["repo:acme/api:*"]),
    (f"{SET}/attribute.repository_owner/acme", "", ["repo:acme/*"]),
    (f"principal://iam.googleapis.com/{POOL}/subject/repo:acme/api:environment:production", "",
     ["repo:acme/api:environment:production"]),
    (f"{SET}/*", "assertion.repository_owner == 'acme'", ["repo:acme/*"]),
    (f"{SET}/*", "", ["*"]),
    (f"{SET}/*", "assertion.repository == 'acme/api' && assertion.environment == 'production'", []),  # unmapped
    (f"{SET}/attribute.repository/other/api", "assertion.repository_owner == 'acme'", []),  # impossible
    (f"{SET}/attribute.environment/production", "", []),  # the provider never sets the attribute
    (f"{SET}/attribute.repository/acme/api", "attribute.repository_owner == \"acme\"", ["repo:acme/api:*"]),
])
def test_workload_identity_members_become_subject_patterns(member, condition, expected):
    mapping = {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository",
               "attribute.repository_owner": "assertion.repository_owner"}
    if "environment ==" in condition:
        mapping["attribute.environment"] = "assertion.environment"
        expected = ["repo:acme/api:environment:production"]
    patterns, _, problems = trusts(member, github(mapping, condition))
    assert patterns == expected and problems == []


def test_claims_a_subject_cannot_express_are_said_not_dropped():
    patterns, uncertain, _ = trusts(f"{SET}/attribute.repository/acme/api",
                                    github(condition="assertion.actor == 'alice' && assertion.repository_owner == 'acme'"))
    assert patterns == ["repo:acme/api:*"]
    assert uncertain == ["claim actor == 'alice' cannot be checked against a GitHub subject; treated as satisfiable"]
    patterns, uncertain, _ = trusts(f"{SET}/attribute.repository/acme/api", github(condition="assertion.ref == 'refs/heads/main'"))
    assert patterns == ["repo:acme/api:ref:refs/heads/main"] and "environment" in uncertain[0]
    patterns, uncertain, _ = trusts(f"{SET}/attribute.repository/acme/api", github(condition="assertion.actor in ['a', 'b']"))
    assert patterns == ["repo:acme/api:*"] and "could not be read" in uncertain[0]


def test_an_attribute_mapped_from_an_expression_is_a_problem():
    mapping = {"google.subject": "assertion.sub", "attribute.repo_ref": "assertion.repository + '@' + assertion.ref"}
    patterns, _, problems = trusts(f"{SET}/attribute.repo_ref/acme/api@refs/heads/main", github(mapping))
    assert patterns == [] and "not a single GitHub claim" in problems[0]


def test_unreadable_pool_assumes_the_conventional_mapping_and_says_so():
    patterns, uncertain, _ = trusts(f"{SET}/attribute.repository/acme/api", None)
    assert patterns == ["repo:acme/api:*"] and uncertain[0].startswith("pool not readable")


def test_only_github_providers_admit_ci_contexts():
    gitlab = github(issuer="https://gitlab.com")
    assert trusts(f"{SET}/attribute.repository/acme/api", gitlab)[0] == []
    enterprise = github(issuer="https://token.actions.githubusercontent.com/acme-enterprise")
    assert trusts(f"{SET}/attribute.repository/acme/api", enterprise)[0] == ["repo:acme/api:*"]
    disabled = Pool(POOL, disabled=True, providers=github().providers)
    assert trusts(f"{SET}/attribute.repository/acme/api", disabled)[0] == []


@pytest.mark.parametrize("pattern, wildcard", [
    ("repo:acme/api:*", True), ("repo:acme/*", True), ("*", True),
    ("repo:acme/api:environment:production", False), ("repo:acme/api:ref:refs/heads/*", False),
])
def test_wildcard_patterns_admit_any_branch_pull_request_or_environment(pattern, wildcard):
    assert admits_any_context(pattern) is wildcard


# ---------------------------------------------------------------- catalogue


def test_catalogue_admin_permissions_follow_the_hierarchy():
    assert admin_permissions("project", "project", CATALOGUE) == {"resourcemanager.projects.setIamPolicy"}
    assert admin_permissions("org", "project", CATALOGUE) == {
        "resourcemanager.organizations.setIamPolicy", "resourcemanager.folders.setIamPolicy",
        "resourcemanager.projects.setIamPolicy"}
    assert admin_permissions("org", "org", CATALOGUE) == {"resourcemanager.organizations.setIamPolicy"}
    run = next(p for p in CATALOGUE.deploy if p.name == "Cloud Run")
    assert run.needs_act_as and "run.services.update" in run.permissions


def test_a_bad_catalogue_is_one_clear_error():
    with pytest.raises(InputError,
                       match=r"^x.toml:3: deploy\[0\]\.permisions: unknown key \(did you mean 'permissions'\?\)"):
        parse_catalogue('[[deploy]]\nplatform = "Run"\npermisions = ["run.services.update"]\n', "x.toml")
    with pytest.raises(InputError, match="no \\[\\[deploy\\]\\] platforms"):
        parse_catalogue("[admin]\nroles = []\n", "x.toml")


# ---------------------------------------------------------------- translation on hand-built inventories


def inventory(project_bindings: list[Binding], sa_bindings: list[Binding] | None = None,
              roles: dict[str, set[str]] | None = None, deny: list[DenyRule] | None = None,
              groups: dict[str, list[str]] | None = None, pools: dict[str, Pool | None] | None = None) -> Inventory:
    inv = Inventory()
    inv.nodes["organizations/1"] = Node("org", "organizations/1", "1", display="acme.com", bindings=[], deny=[])
    inv.nodes["projects/prod"] = Node("project", "projects/prod", "prod", parent="organizations/1", number="7",
                                      bindings=project_bindings, deny=deny or [])
    sa = ServiceAccount("runtime@prod.iam.gserviceaccount.com", "prod", bindings=sa_bindings or [])
    inv.service_accounts[sa.email] = sa
    inv.project_service_accounts["prod"] = [sa.email]
    base = {"roles/run.developer": {"run.services.update", "run.services.get"},
            "roles/iam.serviceAccountUser": {"iam.serviceAccounts.actAs"},
            "roles/viewer": {"run.services.get"}}
    base.update(roles or {})
    inv.roles = {name: Role(name, name, frozenset(perms)) for name, perms in base.items()}
    inv.groups = {email: (members, "[sources.gcp.groups]") for email, members in (groups or {}).items()}
    inv.pools = pools or {}
    return inv


CONFIG = parse_config('[tiers.production]\ngcp_projects = ["prod"]\n')


def test_group_deploy_permission_with_a_members_own_act_as_is_that_members_deploy():
    inv = inventory([Binding("roles/run.developer", ("group:devs@acme.com",))],
                    [Binding("roles/iam.serviceAccountUser", ("user:ana@acme.com",))],
                    groups={"devs@acme.com": ["user:ana@acme.com", "user:bo@acme.com"]})
    result = translate(inv, CONFIG, now=NOW)
    group = next(g for g in result.grants if g.principal == "gcp:group:devs@acme.com")
    assert DEPLOY_RUN not in group.capabilities and "actAs" in group.attrs["missing"]
    combined = [g for g in result.grants if DEPLOY_RUN in g.capabilities]
    assert [(g.principal, g.via) for g in combined] == [("gcp:user:ana@acme.com", Via.GROUP)]
    assert combined[0].entitlement == "roles/run.developer through group:devs@acme.com with actAs"
    # and ana may run a workload as the runtime account; bo may not
    assert {e.src for e in result.edges if e.kind == EdgeKind.CAN_ASSUME} == {"gcp:user:ana@acme.com"}


def test_a_deny_on_some_members_of_a_group_is_said_on_the_group_grant():
    deny = [DenyRule("no-bo", "projects/prod", ("principal://goog/subject/bo@acme.com",),
                     denied_permissions=("run.googleapis.com/services.update",))]
    inv = inventory([Binding("roles/run.developer", ("group:devs@acme.com",)),
                     Binding("roles/iam.serviceAccountUser", ("group:devs@acme.com",))], deny=deny,
                    groups={"devs@acme.com": ["user:ana@acme.com", "user:bo@acme.com"]})
    result = translate(inv, CONFIG, now=NOW)
    grant = next(g for g in result.grants if g.entitlement == "roles/run.developer")
    assert DEPLOY_RUN in grant.capabilities
    assert any("to some members (principal://goog/subject/bo@acme.com)" in u for u in grant.attrs["uncertain"])


def test_domain_and_public_members_are_groups_with_a_gap():
    inv = inventory([Binding("roles/viewer", ("domain:acme.com", "allAuthenticatedUsers")),
                     Binding("roles/run.developer", ("user:ana@acme.com",))])
    result = translate(inv, CONFIG, now=NOW)
    kinds = {p.key: p.kind for p in result.principals}
    assert kinds["gcp:domain:acme.com"] == Kind.GROUP and kinds["gcp:allAuthenticatedUsers"] == Kind.GROUP
    assert {(e.src, e.dst) for e in result.edges if e.kind == EdgeKind.MEMBER_OF} == {
        ("gcp:user:ana@acme.com", "gcp:domain:acme.com"), ("gcp:user:ana@acme.com", "gcp:allAuthenticatedUsers")}
    assert len([g for g in result.gaps if "its members cannot be listed" in g.reason]) == 2


def test_workload_identity_from_another_ci_system_is_kept_as_an_app():
    member = f"principalSet://iam.googleapis.com/{POOL}/attribute.project_path/acme/api"
    gitlab = Pool(POOL, providers=(Provider("gl", "https://gitlab.com", {"attribute.project_path": "assertion.project_path"}),))
    inv = inventory([Binding("roles/run.developer", (member,))], pools={POOL: gitlab})
    result = translate(inv, CONFIG, now=NOW)
    (principal,) = [p for p in result.principals if p.id == member]
    assert principal.system == "gcp" and principal.kind == Kind.APP and principal.attrs["issuers"] == ["https://gitlab.com"]
    assert any(g.principal == principal.key for g in result.grants)


def test_unreadable_pool_still_yields_the_pattern_and_marks_the_grant_uncertain():
    member = f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/acme/api"
    inv = inventory([Binding("roles/run.developer", (member,)), Binding("roles/iam.serviceAccountUser", (member,))],
                    pools={POOL: None})
    result = translate(inv, CONFIG, now=NOW)
    grant = next(g for g in result.grants if g.principal == "ci:repo:acme/api:*" and g.entitlement == "roles/run.developer")
    assert DEPLOY_RUN in grant.capabilities
    assert grant.attrs["uncertain"][0].startswith("pool not readable")


def test_a_disabled_service_account_deploys_only_once_enabled_again():
    inv = inventory([Binding("roles/run.developer", ("serviceAccount:ci@prod.iam.gserviceaccount.com",)),
                     Binding("roles/iam.serviceAccountUser", ("serviceAccount:ci@prod.iam.gserviceaccount.com",))])
    inv.service_accounts["ci@prod.iam.gserviceaccount.com"] = ServiceAccount(
        "ci@prod.iam.gserviceaccount.com", "prod", disabled=True, bindings=[])
    inv.project_service_accounts["prod"].append("ci@prod.iam.gserviceaccount.com")
    result = translate(inv, CONFIG, now=NOW)
    grant = next(g for g in result.grants if g.entitlement == "roles/run.developer")
    assert DEPLOY_RUN in grant.capabilities and grant.attrs["latent"] is True
    assert grant.attrs["act_as"] == "runtime@prod.iam.gserviceaccount.com"  # not itself: it is disabled
