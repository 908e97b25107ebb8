"""The GCP connector against the fake Acme organisation, over the real client transports.

Resource Manager v3 and IAM v2 travel over REST to tests/fakes/google_server.py; iam_admin_v1
over gRPC to tests/fakes/iam_grpc.py. Each test asserts what a reviewer would read: who holds
which grant where, with which capabilities, edges and gaps.
"""

from __future__ import annotations

import json

import pytest

from fakes import gcp_org
from foureyes.config import parse_config
from foureyes.connectors.gcp.connector import GcpConnector
from foureyes.errors import SourceError
from foureyes.model import ACCESS_ADMIN, DEPLOY_RUN, EdgeKind, Kind, SourceResult, Via, workload_matches

ORG = "gcp:org:424242424242"
WEB = "gcp:project:acme-prod-web"
LEGACY = "gcp:project:acme-prod-legacy"
PAYMENTS = "gcp:project:payments-core"
CHECKOUT = "gcp:project:checkout-live"
STAGING = "gcp:project:acme-staging-web"
RUNTIME = "gcp:serviceAccount:web-runtime@acme-prod-web.iam.gserviceaccount.com"
DEPLOYER = "gcp:serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com"
TERRAFORM = "gcp:serviceAccount:terraform@acme-ci.iam.gserviceaccount.com"


def user(email: str) -> str:
    return f"gcp:user:{email}"


def collect(fake: gcp_org.FakeGcp, **kwargs) -> SourceResult:
    config = parse_config(fake.config_toml(**kwargs))
    return GcpConnector(config.sources.gcp, config=config).collect()


def grants_of(result: SourceResult, principal: str, resource: str | None = None):
    return [g for g in result.grants if g.principal == principal and (resource is None or g.resource == resource)]


def the_grant(result: SourceResult, principal: str, resource: str, role: str):
    found = [g for g in grants_of(result, principal, resource) if g.entitlement.split(" ")[0] == role]
    assert len(found) == 1, [(g.entitlement, g.resource) for g in grants_of(result, principal)]
    return found[0]


def deployers(result: SourceResult, resource: str) -> set[str]:
    return {g.principal for g in result.grants if g.resource == resource and DEPLOY_RUN in g.capabilities}


def edge(result: SourceResult, src: str, dst: str, kind: str = EdgeKind.CAN_ASSUME):
    found = [e for e in result.edges if e.src == src and e.dst == dst and e.kind == kind]
    return found[0] if found else None


@pytest.fixture(scope="module")
def fake():
    started = gcp_org.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def acme(fake) -> SourceResult:
    return collect(fake)


# ---------------------------------------------------------------- hierarchy and tiers


def test_hierarchy_is_read_recursively_with_tiers_from_ids_labels_and_folders(acme):
    resources = {r.key: r for r in acme.resources}
    assert set(resources) == {
        ORG, "gcp:folder:1001", "gcp:folder:1002", "gcp:folder:1003", "gcp:folder:1004", "gcp:folder:1005",
        WEB, LEGACY, PAYMENTS, CHECKOUT, STAGING, "gcp:project:acme-ci"}
    assert resources[PAYMENTS].parent == "gcp:folder:1003"
    assert resources["gcp:folder:1003"].parent == "gcp:folder:1001"
    assert resources["gcp:folder:1001"].parent == ORG
    tiers = {k: r.tier for k, r in resources.items() if r.kind == "project"}
    assert tiers == {
        WEB: "production",  # id glob acme-prod-*
        LEGACY: "production",
        PAYMENTS: "production",  # under folder 1001, two levels down
        CHECKOUT: "production",  # label env=prod
        STAGING: "staging",
        "gcp:project:acme-ci": "unclassified",
    }
    assert resources[PAYMENTS].attrs["folders"] == ["1003", "1001"]
    assert resources[WEB].attrs["number"] == "111001"


def test_lists_are_paged_and_the_alt_query_is_ignored(fake, acme):
    folder_pages = fake.google.seen("GET", "/v3/folders")
    org_pages = [r for r in folder_pages if r.query.get("parent") == ["organizations/424242424242"]]
    assert len(org_pages) == 2 and org_pages[1].query["pageToken"] == ["2"]  # 3 folders, 2 a page
    assert all("%24alt=json%3Benum-encoding%3Dint" in r.raw_path for r in folder_pages)
    assert ("ListServiceAccounts", "projects/acme-prod-web") in fake.iam.calls
    # three service accounts in acme-prod-web came in two gRPC pages, and all were read
    assert {p.id for p in acme.principals if p.home == WEB} == {
        "serviceAccount:web-runtime@acme-prod-web.iam.gserviceaccount.com",
        "serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com",
        "serviceAccount:111001-compute@developer.gserviceaccount.com"}


# ---------------------------------------------------------------- scenarios of issue 6


def test_org_binding_is_inherited_by_production_projects(acme):
    olivia = user("olivia.okafor@acme.com")
    at_org = the_grant(acme, olivia, ORG, "roles/owner")
    assert at_org.via == Via.DIRECT and at_org.capabilities == (ACCESS_ADMIN,)  # no deploy on the org itself
    for project in (WEB, PAYMENTS, CHECKOUT, LEGACY):
        inherited = the_grant(acme, olivia, project, "roles/owner")
        assert inherited.via == Via.INHERITED
        assert set(inherited.capabilities) == {DEPLOY_RUN, ACCESS_ADMIN}
        assert "bound on organization acme.com (424242424242)" in inherited.detail
        assert inherited.attrs["bound_at"] == [ORG]
    assert "resourcemanager.projects.setIamPolicy" in the_grant(acme, olivia, WEB, "roles/owner").attrs["actions"]


def test_folder_binding_reaches_projects_below_through_a_nested_group(acme):
    group = "gcp:group:prod-deployers@acme.com"
    grant = the_grant(acme, group, WEB, "roles/run.developer")
    assert grant.via == Via.INHERITED and DEPLOY_RUN in grant.capabilities
    assert grant.detail == ("roles/run.developer bound on folder production (1001), "
                            "inherited by project acme-prod-web")
    assert grant.attrs["bound_at"] == ["gcp:folder:1001"]
    assert "run.services.update" in grant.attrs["actions"]
    # the group's own serviceAccountUser on the folder gives actAs on a runtime account
    assert grant.attrs["act_as"].endswith("@acme-prod-web.iam.gserviceaccount.com") or \
        grant.attrs["act_as"].endswith("@developer.gserviceaccount.com")
    assert edge(acme, user("frank.fischer@acme.com"), group, EdgeKind.MEMBER_OF)
    assert edge(acme, "gcp:group:release-captains@acme.com", group, EdgeKind.MEMBER_OF)
    assert edge(acme, user("rhea.roth@acme.com"), "gcp:group:release-captains@acme.com", EdgeKind.MEMBER_OF)
    # payments-core is below the folder too, but has no service account to act as: no Cloud Run deploy
    below = the_grant(acme, group, PAYMENTS, "roles/run.developer")
    assert DEPLOY_RUN not in below.capabilities and "actAs" in below.attrs["missing"]


def test_expired_conditional_binding_confers_nothing_and_a_live_one_expires(acme):
    # the expired binding is still in the policy: kept, marked expired, with no capability (FE-EMG-006)
    [expired] = grants_of(acme, user("temp.contractor@acme.com"))
    assert expired.capabilities == () and expired.attrs["expired"] is True and expired.expires
    assert "expired: confers nothing" in expired.detail
    assert acme.stats["expired_bindings"] == 1
    carla = the_grant(acme, user("carla.consultant@acme.com"), WEB, "roles/run.admin")
    assert carla.entitlement == "roles/run.admin if consulting engagement"
    assert carla.condition == 'request.time < timestamp("2099-06-30T00:00:00Z")'
    assert carla.expires == "2099-06-30T00:00:00Z"
    assert carla.attrs["conditional"] is False  # only a time bound
    assert DEPLOY_RUN in carla.capabilities


def test_other_conditions_are_kept_and_still_count(acme):
    sam = the_grant(acme, user("sam.sato@acme.com"), WEB, "roles/run.admin")
    assert sam.condition == 'resource.name.startsWith("projects/acme-prod-web/locations/europe-west1")'
    assert sam.attrs["conditional"] is True and sam.expires is None
    assert DEPLOY_RUN in sam.capabilities


def test_policies_are_requested_at_version_3(fake, acme):
    posts = [r for r in fake.google.requests if r.method == "POST" and r.path.endswith(":getIamPolicy")]
    assert posts and all(r.body == {"options": {"requestedPolicyVersion": 3}} for r in posts)
    # the fake mangles conditional roles for callers below version 3, as IAM does
    assert not any("_withcond_" in g.entitlement for g in acme.grants)


def test_deny_policy_removes_run_services_update(fake, acme):
    dan = the_grant(acme, user("dan.denied@acme.com"), WEB, "projects/acme-prod-web/roles/webDeployer")
    rita = the_grant(acme, user("rita.reyes@acme.com"), WEB, "projects/acme-prod-web/roles/webDeployer")
    assert DEPLOY_RUN in rita.capabilities and "run.services.update" in rita.attrs["actions"]
    assert dan.capabilities == ()
    assert dan.attrs["denied"] == ["run.services.update"]
    assert dan.attrs["deny_policies"] == ["no Cloud Run changes for dan"]
    assert "run.services.update" not in dan.attrs["actions"]
    # actAs without any way to start a workload is no path to a service account
    assert not [e for e in acme.edges if e.src == user("dan.denied@acme.com")]
    # list omits the rules, so each policy was fetched in full, through a double-encoded name
    gets = [r for r in fake.google.requests if r.path.startswith("/v2/policies/")]
    assert any(r.path.endswith("/denypolicies/no-run-for-dan") for r in gets)
    assert all("%252F" in r.raw_path for r in gets)


def test_deny_names_in_service_fqdn_format_map_to_allow_names(acme):
    # cloudresourcemanager.googleapis.com/projects.setIamPolicy denies resourcemanager.projects.setIamPolicy
    gina = the_grant(acme, user("gina.garcia@acme.com"), WEB, "roles/resourcemanager.projectIamAdmin")
    assert gina.capabilities == () and gina.attrs["denied"] == ["resourcemanager.projects.setIamPolicy"]
    # olivia is an exception principal of that rule
    assert ACCESS_ADMIN in the_grant(acme, user("olivia.okafor@acme.com"), WEB, "roles/owner").capabilities
    # terraform keeps folders.setIamPolicy on the folder above: still admin of the project
    terraform = the_grant(acme, TERRAFORM, WEB, "roles/resourcemanager.folderAdmin")
    assert ACCESS_ADMIN in terraform.capabilities and terraform.attrs["denied"] == [
        "resourcemanager.projects.setIamPolicy"]


def test_deny_rule_with_a_tag_condition_is_not_applied_but_said(acme):
    grant = the_grant(acme, "gcp:group:prod-deployers@acme.com", WEB, "roles/run.developer")
    assert DEPLOY_RUN in grant.capabilities
    assert any("only when resource.matchTag('424242424242/freeze', 'on')" in u for u in grant.attrs["uncertain"])


def test_custom_role_is_expanded_through_list_roles_full_view(fake, acme):
    rita = the_grant(acme, user("rita.reyes@acme.com"), WEB, "projects/acme-prod-web/roles/webDeployer")
    assert rita.attrs["actions"] == ["run.services.update", "iam.serviceAccounts.actAs"]
    assert ("ListRoles", "projects/acme-prod-web") in fake.iam.calls
    assert ("ListRoles", "organizations/424242424242") in fake.iam.calls
    assert ("GetRole", "projects/acme-prod-web/roles/webDeployer") not in fake.iam.calls  # cached from the list
    auditor = the_grant(acme, "gcp:group:security@acme.com", ORG, "organizations/424242424242/roles/auditor")
    assert auditor.capabilities == () and "uncertain" not in auditor.attrs


def test_act_as_on_the_runtime_service_account_decides_cloud_run_deploys(acme):
    pat = the_grant(acme, user("pat.price@acme.com"), WEB, "roles/run.developer")
    quinn = the_grant(acme, user("quinn.quigley@acme.com"), WEB, "roles/run.developer")
    assert DEPLOY_RUN in pat.capabilities
    assert pat.attrs["act_as"] == "web-runtime@acme-prod-web.iam.gserviceaccount.com"
    assert quinn.capabilities == ()
    assert quinn.attrs["missing"].startswith("iam.serviceAccounts.actAs on a service account of acme-prod-web")
    assert "run.services.update" in quinn.attrs["missing"]
    # pat's actAs is a path to the runtime account (with the workload permission that makes it one)
    pat_edge = edge(acme, user("pat.price@acme.com"), RUNTIME)
    assert pat_edge and "iam.serviceAccounts.actAs" in pat_edge.label and "run.services." in pat_edge.label
    assert edge(acme, user("quinn.quigley@acme.com"), RUNTIME) is None
    # the binding on the service account itself is a grant a reviewer can certify or revoke
    on_sa = the_grant(acme, user("pat.price@acme.com"), WEB, "roles/iam.serviceAccountUser")
    assert on_sa.entitlement == ("roles/iam.serviceAccountUser on "
                                 "serviceAccount:web-runtime@acme-prod-web.iam.gserviceaccount.com")
    assert on_sa.capabilities == ()


def test_platforms_without_act_as_deploy_on_their_own(acme):
    max_ = the_grant(acme, user("max.mueller@acme.com"), PAYMENTS, "roles/container.developer")
    assert DEPLOY_RUN in max_.capabilities and "container.deployments.update" in max_.attrs["actions"]
    wanda = the_grant(acme, user("wanda.webb@acme.com"), CHECKOUT, "roles/editor")
    assert DEPLOY_RUN in wanda.capabilities and ACCESS_ADMIN not in wanda.capabilities


def test_wif_principal_set_for_a_repository_becomes_a_ci_pattern(acme):
    principals = {p.key: p for p in acme.principals}
    pattern = principals["ci:repo:acme/api:*"]
    assert pattern.kind == Kind.WORKLOAD_PATTERN
    assert pattern.attrs["oidc_subjects"] == ["repo:acme/api:*"] and pattern.attrs["oidc_wildcard"] is True
    assert pattern.attrs["members"] == [
        "principalSet://iam.googleapis.com/projects/111004/locations/global/workloadIdentityPools/github"
        "/attribute.repository/acme/api"]
    assume = edge(acme, "ci:repo:acme/api:*", DEPLOYER)
    assert assume and "roles/iam.workloadIdentityUser" in assume.label and "getAccessToken" in assume.label
    deployer = principals[DEPLOYER]
    assert deployer.home == WEB and deployer.attrs["oidc_wildcard"] is True
    assert deployer.attrs["oidc_subjects"] == ["repo:acme/api:*"]
    assert DEPLOY_RUN in the_grant(acme, DEPLOYER, WEB, "roles/run.admin").capabilities
    # the GitHub side's concrete contexts join this pattern through model.workload_matches
    assert workload_matches("repo:acme/api:environment:production", pattern.id)
    assert workload_matches("repo:acme/api:pull_request", pattern.id)
    assert not workload_matches("repo:acme/api-fork:pull_request", pattern.id)


def test_direct_workload_identity_holds_grants_of_its_own(acme):
    key = "ci:repo:acme/infra:environment:production"
    principal = {p.key: p for p in acme.principals}[key]
    assert principal.kind == Kind.WORKLOAD_PATTERN and principal.attrs["oidc_wildcard"] is False
    grant = the_grant(acme, key, WEB, "roles/run.admin")
    assert DEPLOY_RUN in grant.capabilities
    assert grant.attrs["act_as"] == "web-runtime@acme-prod-web.iam.gserviceaccount.com"


def test_unexpandable_group_stays_a_group_and_its_binding_is_a_gap(acme):
    key = "gcp:group:web-oncall@acme.com"
    group = {p.key: p for p in acme.principals}[key]
    assert group.kind == Kind.GROUP and group.attrs["expanded"] is False
    assert not [e for e in acme.edges if e.dst == key and e.kind == EdgeKind.MEMBER_OF]
    assert DEPLOY_RUN in the_grant(acme, key, WEB, "roles/run.admin").capabilities  # kept, not dropped
    gaps = [g for g in acme.gaps if "web-oncall" in g.reason]
    unknown = "members of group:web-oncall@acme.com unknown (not in [sources.gcp.groups])"
    assert {(g.resource, g.reason) for g in gaps} == {
        (WEB, f"{unknown}; it holds roles/run.admin on project acme-prod-web"),
        (WEB, f"{unknown}; it holds roles/iam.serviceAccountUser on project acme-prod-web")}
    assert "people who hold roles/run.admin on project acme-prod-web through group:web-oncall@acme.com" in {
        g.hides for g in gaps}


def test_permission_error_on_one_project_is_a_gap_and_inherited_grants_stay(acme):
    gaps = {g.reason for g in acme.gaps if g.resource == LEGACY}
    assert gaps == {
        "cannot read the allow policy of projects/acme-prod-legacy: 403 Forbidden: "
        "injected 403 for POST /v3/projects/acme-prod-legacy:getIamPolicy",
        "cannot list the service accounts of projects/acme-prod-legacy: 403 PERMISSION_DENIED: "
        "injected PERMISSION_DENIED for ListServiceAccounts projects/acme-prod-legacy",
    }
    legacy = next(r for r in acme.resources if r.key == LEGACY)
    assert legacy.attrs["policy_readable"] is False and legacy.tier == "production"
    # what is known from above still applies; unknown actAs is assumed, and said
    assert set(the_grant(acme, user("olivia.okafor@acme.com"), LEGACY, "roles/owner").capabilities) == {
        DEPLOY_RUN, ACCESS_ADMIN}
    group = the_grant(acme, "gcp:group:prod-deployers@acme.com", LEGACY, "roles/run.developer")
    assert DEPLOY_RUN in group.capabilities
    assert any("could not be read; assumed" in u for u in group.attrs["uncertain"])


def test_unreadable_role_is_a_gap(acme):
    (gap,) = [g for g in acme.gaps if "roles/iam.workloadIdentityPoolAdmin" in g.reason]
    assert gap.reason.startswith("cannot read role roles/iam.workloadIdentityPoolAdmin: 404 NOT_FOUND")
    grant = the_grant(acme, "gcp:group:security@acme.com", "gcp:project:acme-ci", "roles/iam.workloadIdentityPoolAdmin")
    assert "its permissions are unknown" in grant.attrs["uncertain"][0]


def test_impersonation_and_admin_service_accounts(acme):
    ivan = edge(acme, user("ivan.ivanov@acme.com"), TERRAFORM)
    assert ivan and ivan.label.startswith("can impersonate it (iam.serviceAccounts.getAccessToken")
    terraform = {p.key: p for p in acme.principals}[TERRAFORM]
    assert terraform.kind == Kind.SERVICE_ACCOUNT and terraform.home == "gcp:project:acme-ci"
    assert terraform.attrs["user_managed_keys"] == 1  # the system-managed key is not counted
    assert ACCESS_ADMIN in the_grant(acme, TERRAFORM, "gcp:folder:1001", "roles/resourcemanager.folderAdmin").capabilities
    # owners can create keys for every service account: that is impersonation too
    assert "iam.serviceAccountKeys.create" in edge(acme, user("olivia.okafor@acme.com"), TERRAFORM).label


def test_principals_follow_the_connector_contract(acme):
    principals = {p.key: p for p in acme.principals}
    pat = principals[user("pat.price@acme.com")]
    assert pat.kind == Kind.USER and pat.email == "pat.price@acme.com" and pat.attrs["email_source"] == "member"
    assert principals["gcp:serviceAccount:111001-compute@developer.gserviceaccount.com"].home == WEB
    assert all(p.system == "ci" for p in acme.principals if p.kind == Kind.WORKLOAD_PATTERN)
    assert not any("leo.lindqvist" in p.id for p in acme.principals)  # deleted member
    assert acme.stats["deleted_members"] == 1
    assert acme.stats["requests"] > 40 and acme.stats["retries"] == 0
    json.dumps(dict(acme.stats))  # stats are plain data


# ---------------------------------------------------------------- scope, retries, groups, credentials


def test_projects_only_scope_reads_the_ancestors_for_inheritance(fake):
    result = collect(fake, scope='projects = ["acme-prod-web"]')
    assert {r.key for r in result.resources} == {WEB, "gcp:folder:1001", ORG}
    assert {r.attrs["audited"] for r in result.resources if r.kind != "project"} == {False}
    owner = the_grant(result, user("olivia.okafor@acme.com"), WEB, "roles/owner")
    assert owner.via == Via.INHERITED and DEPLOY_RUN in owner.capabilities
    assert deployers(result, WEB) == deployers(collect(fake), WEB)


def test_folder_scope_reads_its_subtree_only(fake):
    result = collect(fake, scope='folders = ["1003"]')
    assert {r.key for r in result.resources if r.kind == "project"} == {PAYMENTS}
    assert deployers(result, PAYMENTS) == {user("max.mueller@acme.com"), user("olivia.okafor@acme.com")}


def test_transient_errors_are_retried_by_google_api_core(acme):
    fake = gcp_org.start()
    try:
        fake.google.fail("POST", "/v3/projects/acme-prod-web:getIamPolicy", 503, times=1)
        fake.google.fail("GET", "/v3/folders", 429, times=1, retry_after="1")
        fake.iam.fail("GetRole", "roles/run.admin", "UNAVAILABLE", times=1)
        result = collect(fake)
    finally:
        fake.stop()
    assert result.stats["retries"] == 3
    assert {g.key for g in result.gaps} == {g.key for g in acme.gaps}  # no new unknowns
    assert DEPLOY_RUN in the_grant(result, user("pat.price@acme.com"), WEB, "roles/run.developer").capabilities


def test_cloud_identity_expands_groups_when_configured(fake):
    result = collect(fake, extra="cloud_identity = true")
    oncall = "gcp:group:web-oncall@acme.com"
    assert edge(result, user("omar.osman@acme.com"), oncall, EdgeKind.MEMBER_OF)
    assert edge(result, "gcp:group:nested-oncall@acme.com", oncall, EdgeKind.MEMBER_OF)
    assert edge(result, user("hana.hoshino@acme.com"), "gcp:group:nested-oncall@acme.com", EdgeKind.MEMBER_OF)
    assert not [g for g in result.gaps if "web-oncall" in g.reason]
    assert {p.attrs["members_source"] for p in result.principals if p.key == oncall} == {"Cloud Identity"}


def test_group_neither_configured_nor_in_cloud_identity_is_still_a_gap(fake):
    result = collect(fake, extra="cloud_identity = true", groups=False)
    reasons = {g.reason.split(";")[0] for g in result.gaps if "prod-deployers" in g.reason}
    assert reasons == {"members of group:prod-deployers@acme.com unknown (not in [sources.gcp.groups] "
                       "and not expandable through Cloud Identity)"}


def test_missing_credentials_file_is_one_clear_error(fake, tmp_path):
    config = parse_config(f'[sources.gcp]\norganization = "organizations/424242424242"\n'
                          f'credentials_file = "{tmp_path / "missing.json"}"\n')
    with pytest.raises(SourceError) as raised:
        GcpConnector(config.sources.gcp, config=config).collect()
    assert "missing.json" in str(raised.value) and "\n" not in str(raised.value)


def test_a_scope_is_required(fake):
    config = parse_config(f"[sources.gcp]\napi_endpoint = \"{fake.google.url}\"\nanonymous = true\n")
    with pytest.raises(SourceError, match="needs organization, folders or projects"):
        GcpConnector(config.sources.gcp, config=config).collect()


def test_a_malformed_key_file_is_named_and_its_content_never_shown(tmp_path):
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----SECRET-MATERIAL"}))
    config = parse_config(f'[sources.gcp]\nprojects = ["p"]\ncredentials_file = "{key}"\n')
    with pytest.raises(SourceError) as raised:
        GcpConnector(config.sources.gcp, config=config).collect()
    assert str(raised.value) == f"[sources.gcp] credentials_file '{key}' is not a service-account key file"
    assert "SECRET" not in str(raised.value)


def test_an_unreadable_organisation_is_a_gap_and_its_folders_are_still_walked(acme):
    fake = gcp_org.start()
    try:
        fake.google.fail("GET", "/v3/organizations/424242424242", 403, times=None)
        result = collect(fake)
    finally:
        fake.stop()
    (gap,) = [g for g in result.gaps if g.resource == ORG]
    assert gap.reason.startswith("cannot read organizations/424242424242: 403 Forbidden")
    assert {r.key for r in result.resources} == {r.key for r in acme.resources}
    assert deployers(result, WEB) == deployers(acme, WEB)
