"""The GitHub connector against the fake server: each scenario of issue 4, person by person.

The real PyGithub client talks HTTP to tests/fakes/github_server.py, which serves
tests/fixtures/github/scenarios.yaml. Assertions are on the SourceResult: who reaches
which capability on which repository or environment, and through what.
"""

from __future__ import annotations

import copy

import pytest

from fakes import github_config, holdings, reach, unlatent
from fakes.github_server import FakeGitHub, load_fixture
from foureyes.connectors.base import ProgressEvent
from foureyes.connectors.github.connector import GitHubConnector
from foureyes.model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    EdgeKind,
    SourceResult,
)

REPO = "github:repo:acme/"
ENV = "github:environment:acme/"


def collect(fixture: dict, *, extra: str = "", monkeypatch: pytest.MonkeyPatch | None = None
            ) -> tuple[SourceResult, list[ProgressEvent], FakeGitHub]:
    events: list[ProgressEvent] = []
    with FakeGitHub(fixture) as gh:
        config = github_config(gh.url, org=fixture["org"]["login"], extra=extra)
        result = GitHubConnector(config.sources.github, config=config).collect(events.append)
    return result, events, gh


@pytest.fixture(scope="module")
def acme() -> SourceResult:
    mp = pytest.MonkeyPatch()
    mp.setenv("GITHUB_TOKEN", "ghp_scenario_token_0000")
    try:
        result, _, _ = collect(load_fixture("scenarios.yaml"))
    finally:
        mp.undo()
    return result


def resource(result: SourceResult, key: str):
    return next(r for r in result.resources if r.key == key)


def principal(result: SourceResult, key: str):
    return next(p for p in result.principals if p.key == key)


# ------------------------------------------------------------------ people and roles


def test_owner_is_admin_on_every_repository(acme):
    repos = {r.key for r in acme.resources if r.kind == "repo"}
    assert REPO + "old-site" not in repos  # archived: skipped by default
    admin = holdings(acme, "olivia", ACCESS_ADMIN)
    assert set(admin) == repos | {"github:org:acme"}
    assert all(g.via == "owner" for gs in admin.values() for g in gs)
    # a plain member administers nothing
    assert holdings(acme, "pedro", ACCESS_ADMIN) == {}


def test_nested_team_inheritance(acme):
    # petra is only in payments-leads, a child of payments, which holds write on payments-api
    pushes = holdings(acme, "petra", CODE_PUSH)
    assert REPO + "payments-api" in pushes
    (grant,) = pushes[REPO + "payments-api"]
    assert grant.principal == "github:team/acme/payments" and grant.via == "team"
    path = reach(acme, "github:petra")["github:team/acme/payments"]
    assert path == ["member of team payments-leads", "parent of team payments-leads"]
    # the child team holds nothing of its own: the grant names the parent
    assert not [g for g in acme.grants if g.principal == "github:team/acme/payments-leads" and g.resource.startswith(REPO)]
    # ... and grandparent engineering's write on handbook reaches her too
    assert REPO + "handbook" in pushes
    # a parent team does not inherit its children's access
    assert REPO + "payments-api" not in holdings(acme, "eve", CODE_PUSH)
    assert REPO + "handbook" in holdings(acme, "eve", CODE_PUSH)
    maint = reach(acme, "github:priscilla")
    assert maint["github:team/acme/payments"] == ["maintainer of team payments"]


def test_base_permission_read_gives_no_code_capability(acme):
    base = [g for g in acme.grants if g.principal == "github:org/acme/members"]
    assert base and all(g.entitlement == "read" and g.via == "base permission" and not g.capabilities for g in base)
    assert holdings(acme, "dora", CODE_PUSH) == {}
    # outside collaborators are not members: the base permission does not reach them
    assert "github:org/acme/members" not in reach(acme, "github:contractor")
    assert set(holdings(acme, "contractor", CODE_PUSH)) == {REPO + "webhooks"}


def test_custom_role_based_on_write(acme):
    rita = [g for g in acme.grants if g.principal == "github:rita" and g.resource == REPO + "infra"]
    role = next(g for g in rita if g.entitlement == "release-manager")
    assert set(role.capabilities) == {CODE_PUSH, CODE_APPROVE} and role.attrs["base_role"] == "write"
    assert "bypass_branch_protection" in role.detail
    merge = unlatent(holdings(acme, "rita", CODE_MERGE_UNREVIEWED)[REPO + "infra"])
    assert merge and "custom role release-manager may bypass branch protections" in merge[0].detail
    # a custom role based on write without the bypass permission pushes but cannot merge alone
    assert REPO + "infra" in holdings(acme, "ruth", CODE_PUSH)
    assert REPO + "infra" not in holdings(acme, "ruth", CODE_MERGE_UNREVIEWED)


def test_admins_not_enforced(acme):
    repo = resource(acme, REPO + "payments-api")
    assert repo.attrs["protected"] is True and repo.attrs["enforce_admins"] is False
    assert repo.attrs["required_approvals"] == 1 and repo.attrs["protected_branches"] == ["main"]
    for admin in ("max", "olivia"):
        merge = unlatent(holdings(acme, admin, CODE_MERGE_UNREVIEWED)[REPO + "payments-api"])
        assert merge and "admins are not enforced" in merge[0].detail
    for writer in ("pedro", "priscilla", "petra"):
        assert REPO + "payments-api" in holdings(acme, writer, CODE_PUSH)
        assert REPO + "payments-api" not in holdings(acme, writer, CODE_MERGE_UNREVIEWED)


def test_enforced_protection_leaves_admins_a_latent_bypass_only(acme):
    merge = holdings(acme, "olivia", CODE_MERGE_UNREVIEWED)[REPO + "storefront"]
    assert [g.attrs["latent"] for g in merge] == [True]
    assert "can edit or switch off the protection" in merge[0].detail


def test_ruleset_bypass_in_each_mode(acme):
    repo = resource(acme, REPO + "ledger")
    assert repo.attrs["protected"] is True and repo.attrs["required_approvals"] == 2
    assert repo.attrs["enforce_admins"] is True  # only a ruleset protects, and it has no admin bypass
    expected = {"bob": "mode always", "tina": "mode pull_request", "cara": "mode exempt"}
    for login, mode in expected.items():
        merge = unlatent(holdings(acme, login, CODE_MERGE_UNREVIEWED).get(REPO + "ledger", []))
        assert merge, login
        assert "ruleset 'main protection' bypass" in merge[0].detail and mode in merge[0].detail, login
    tina = holdings(acme, "tina", CODE_MERGE_UNREVIEWED)[REPO + "ledger"][0]
    assert tina.principal == "github:team/acme/release-managers"
    # a writer not on the bypass list needs two approvals
    assert REPO + "ledger" in holdings(acme, "sue", CODE_PUSH)
    assert REPO + "ledger" not in holdings(acme, "sue", CODE_MERGE_UNREVIEWED)
    # owners are not on this bypass list: only a latent bypass
    assert [g.attrs["latent"] for g in holdings(acme, "olivia", CODE_MERGE_UNREVIEWED)[REPO + "ledger"]] == [True]


def test_ruleset_in_evaluate_mode_protects_nothing(acme):
    repo = resource(acme, REPO + "ml-models")
    assert repo.attrs["protected"] is False and repo.attrs["required_approvals"] == 0
    assert repo.attrs["rulesets"] == ["signed commits (trial) (evaluate)"]
    merge = unlatent(holdings(acme, "fatima", CODE_MERGE_UNREVIEWED)[REPO + "ml-models"])
    assert merge and "not protected" in merge[0].detail


def test_zero_required_approvals_lets_every_writer_merge(acme):
    for login in ("eve", "pedro", "petra", "priscilla"):  # engineering and its child teams
        merge = unlatent(holdings(acme, login, CODE_MERGE_UNREVIEWED)[REPO + "handbook"])
        assert merge and merge[0].principal == "github:team/acme/engineering"
        assert "requires no approving review" in merge[0].detail


def test_hidden_bypass_list_is_a_gap_not_no_bypass(acme):
    gaps = [g for g in acme.gaps if g.resource == REPO + "legacy"]
    assert len(gaps) == 1
    assert "bypass list not visible with this token" in gaps[0].reason
    assert "bypass" in gaps[0].hides
    assert "ghp_" not in gaps[0].reason  # never a credential in a gap


# ------------------------------------------------------------------ environments and CI


def triggers(result: SourceResult, ctx: str) -> set[str]:
    return {e.src for e in result.edges if e.kind == EdgeKind.CAN_TRIGGER and e.dst == ctx}


def test_environment_with_reviewers_and_prevent_self_review(acme):
    env = resource(acme, ENV + "payments-api/production")
    assert env.tier == "production" and env.parent == REPO + "payments-api"
    assert env.attrs["reviewers"] == 1 and env.attrs["prevent_self_review"] is True
    assert env.attrs["can_admins_bypass"] is False and env.attrs["branch_policy"] == "protected"
    approve = holdings(acme, "petra", DEPLOY_APPROVE)[env.key]
    assert approve[0].principal == "github:team/acme/payments-leads"
    assert approve[0].attrs["self_review_allowed"] is False
    # nobody can run a job in it alone: an independent reviewer stands in between
    assert triggers(acme, "ci:repo:acme/payments-api:environment:production") == set()
    for login in ("max", "olivia", "petra", "pedro"):
        assert env.key not in holdings(acme, login, DEPLOY_RUN)


def test_environment_with_reviewers_but_self_review_allowed(acme):
    env = resource(acme, ENV + "storefront/production")
    assert env.attrs["prevent_self_review"] is False and env.attrs["branch_policy"] == "custom"
    assert env.attrs["branch_patterns"] == ["main", "release/*"]
    approve = holdings(acme, "sam", DEPLOY_APPROVE)[env.key]
    assert approve[0].attrs["self_review_allowed"] is True
    # sam can push release/x (unprotected, admitted by release/*) and approve his own run
    run = holdings(acme, "sam", DEPLOY_RUN)
    assert env.key in run
    path = reach(acme, "github:sam")["ci:repo:acme/storefront:environment:production"]
    assert "who may approve their own run" in path[-1] and "release/x" in path[-1]
    # other writers need sam's approval
    for login in ("sue", "walt"):
        assert env.key not in holdings(acme, login, DEPLOY_RUN)
    # admins may bypass the protection rules
    assert "github:olivia" in triggers(acme, "ci:repo:acme/storefront:environment:production")


def test_protected_branches_only_without_any_protection_means_any_branch(acme):
    env = resource(acme, ENV + "webhooks/production")
    assert env.attrs["branch_policy"] == "protected" and env.attrs["reviewers"] == 0
    who = triggers(acme, "ci:repo:acme/webhooks:environment:production")
    assert {"github:contractor", "github:team/acme/web", "github:olivia"} <= who
    for login in ("contractor", "walt", "nina"):
        assert env.key in holdings(acme, login, DEPLOY_RUN), login
    label = next(e.label for e in acme.edges if e.src == "github:contractor" and e.dst.endswith("webhooks:environment:production"))
    assert "no branch protection rule, so any branch may deploy" in label
    assert env.key not in holdings(acme, "sue", DEPLOY_RUN)


def test_custom_branch_patterns_admit_only_what_the_person_can_land(acme):
    # storefront's "main" pattern is protected (1 approval, admins enforced): it admits nobody
    # alone; "release/*" admits an unprotected branch, which is why sam gets in.
    label = next(e.label for e in acme.edges if e.src == "github:sam" and e.dst.endswith("storefront:environment:production"))
    assert "matching release/*" in label


def test_workflow_assuming_an_aws_role(acme):
    ctx = principal(acme, "ci:repo:acme/payments-api:environment:production")
    assert ctx.attrs["assumes"] == ["assume arn:aws:iam::111111111111:role/gha-deploy-payments"]
    assert ctx.attrs["jobs"] == ["deploy.yml:deploy"] and ctx.attrs["repo"] == "acme/payments-api"
    grant = next(g for g in acme.grants if g.principal == ctx.key)
    assert grant.capabilities == (DEPLOY_RUN,) and grant.resource == ENV + "payments-api/production"
    assert "arn:aws:iam::111111111111:role/gha-deploy-payments" in grant.attrs["actions"][0]
    branch = principal(acme, "ci:repo:acme/deploy-tools:ref:refs/heads/*")
    assert branch.attrs["assumes"] == ["assume arn:aws:iam::111111111111:role/gha-legacy-deploy"]
    assert branch.attrs["protected"] == ["main"]
    assert "github:walt" in triggers(acme, branch.key)
    gcp = principal(acme, "ci:repo:acme/storefront:environment:production")
    assert gcp.attrs["assumes"][0].startswith("impersonate web-deployer@acme-prod-web.iam.gserviceaccount.com via ")


def test_writers_obtain_branch_and_pull_request_contexts(acme):
    for ctx in ("ci:repo:acme/ledger:ref:refs/heads/*", "ci:repo:acme/ledger:pull_request"):
        who = triggers(acme, ctx)
        assert {"github:bob", "github:cara", "github:sue", "github:team/acme/release-managers", "github:olivia"} <= who
        assert "github:org/acme/members" not in who  # the base permission is read
    assert principal(acme, "ci:repo:acme/ledger:ref:refs/heads/*").attrs["protected"] == ["main"]


# ------------------------------------------------------------------ identity


def test_saml_identities_link_logins_to_emails(acme):
    max_ = principal(acme, "github:max")
    assert max_.email == "max@acme.com" and max_.attrs["email_source"] == "saml"
    assert max_.display_name == "Max Admin" and max_.attrs["org_role"] == "member"
    nina = principal(acme, "github:nina")
    assert nina.email is None and nina.attrs["public_email"] == "nina@example.org"
    assert principal(acme, "github:contractor").attrs["org_role"] == "outside"
    assert principal(acme, "github:olivia").attrs["org_role"] == "owner"


def test_saml_not_set_up_is_said_once_and_not_a_gap(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    fixture = load_fixture("scenarios.yaml")
    fixture["org"]["saml"] = False
    result, events, _ = collect(fixture)
    saml = [e for e in events if "SAML" in e.message]
    assert len(saml) == 1 and saml[0].level == "warning"
    assert all("SAML" not in g.reason for g in result.gaps)
    assert principal(result, "github:max").email is None


def test_saml_forbidden_is_a_gap(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    fixture = load_fixture("scenarios.yaml")
    fixture["token"] = {"saml_visible": False}
    result, _, _ = collect(fixture)
    assert any("SAML identities not readable" in g.reason and g.resource == "github:org:acme" for g in result.gaps)


# ------------------------------------------------------------------ base permission, config


def test_base_permission_write(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    fixture = {
        "org": {"login": "beta", "default_repository_permission": "write", "saml": False},
        "people": [{"login": "ann", "role": "member"}, {"login": "ben", "role": "member"},
                   {"login": "oz", "role": "outside"}],
        "repos": [{"name": "app", "protection": [{"pattern": "main", "required_approvals": 1, "enforce_admins": True}]},
                  {"name": "scratch"}],
    }
    result, _, _ = collect(fixture)
    for login in ("ann", "ben"):
        push = holdings(result, login, CODE_PUSH)
        assert set(push) == {"github:repo:beta/app", "github:repo:beta/scratch"}
        assert push["github:repo:beta/app"][0].via == "base permission"
        merge = holdings(result, login, CODE_MERGE_UNREVIEWED)
        assert set(merge) == {"github:repo:beta/scratch"}
        assert merge["github:repo:beta/scratch"][0].principal == "github:org/beta/members"
    assert holdings(result, "oz", CODE_PUSH) == {}
    assert "github:org/beta/members" in triggers(result, "ci:repo:beta/app:ref:refs/heads/*")


def test_include_exclude_and_archived(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    fixture = load_fixture("scenarios.yaml")
    result, _, _ = collect(fixture, extra='include = ["pay*", "old-*", "acme/ledger"]\nexclude = ["*-api"]\n'
                                          "include_archived = true\n")
    repos = sorted(r.id for r in result.resources if r.kind == "repo")
    assert repos == ["acme/ledger", "acme/old-site"]
    old = resource(result, REPO + "old-site")
    assert old.attrs["archived"] is True
    dora = next(g for g in result.grants if g.principal == "github:dora" and g.resource == old.key)
    assert CODE_PUSH not in dora.capabilities and ACCESS_ADMIN in dora.capabilities  # read-only until unarchived


def test_production_environments_from_the_source_section(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    fixture = load_fixture("scenarios.yaml")
    fixture = copy.deepcopy(fixture)
    fixture["repos"][2]["environments"][0]["name"] = "live-eu"
    result, _, _ = collect(fixture, extra='production_environments = ["live-*"]\n')
    assert resource(result, ENV + "webhooks/live-eu").tier == "production"
    assert resource(result, ENV + "storefront/production").tier == "production"


def test_progress_reports_each_repository(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    _, events, _ = collect(load_fixture("scenarios.yaml"))
    per_repo = [e for e in events if e.message.startswith("read acme/")]
    assert len(per_repo) == 9 and {e.total for e in per_repo} == {9}
    assert sorted(e.done for e in per_repo) == list(range(1, 10))


def test_github_app_credentials(tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "app.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    result, _, gh = collect(load_fixture("scenarios.yaml"),
                            extra=f'app_id = 4242\nprivate_key_path = "{pem}"\ninstallation_id = 77\n')
    assert gh.stats.count("/app/installations/77/access_tokens", "POST") == 1
    assert set(gh.tokens[1:]) == {"ghs_installation_77"}  # every API call used the installation token
    assert any(r.key == REPO + "payments-api" for r in result.resources)
    assert result.stats["requests"] == gh.stats.total


def test_a_workflow_that_is_not_yaml_is_a_gap(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    fixture = load_fixture("scenarios.yaml")
    fixture["repos"][0]["workflows"]["broken.yml"] = "on: push\njobs:\n  a: [unclosed\n"
    result, _, _ = collect(fixture)
    gap = next(g for g in result.gaps if g.resource == REPO + "payments-api")
    assert gap.reason == ".github/workflows/broken.yml: not valid YAML at line 4"
    # the valid workflow next to it is still read
    assert principal(result, "ci:repo:acme/payments-api:environment:production").attrs["assumes"]


def test_team_sync_names_the_identity_provider_group_behind_a_team(monkeypatch):
    """`team_sync = true` reads GitHub's team synchronisation mapping: the IdP group whose members
    GitHub copies into the team (the roster's group-drift rule compares the two)."""
    fixture = copy.deepcopy(load_fixture("scenarios.yaml"))
    fixture["team_sync"] = True
    team = next(t for t in fixture["teams"] if t["slug"] == "payments")
    team["idp_groups"] = [{"id": "00g1payments", "name": "Engineering - Payments"}]
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_scenario_token_0000")
    result, _, gh = collect(fixture, extra="team_sync = true")
    assert principal(result, "github:team/acme/payments").attrs["idp_groups"] == [
        {"id": "00g1payments", "name": "Engineering - Payments", "how": "GitHub team synchronisation"}]
    assert "idp_groups" not in principal(result, "github:team/acme/engineering").attrs
    # no Enterprise Managed Users here: the external-groups read answers 404 and is not a gap
    assert not [g for g in result.gaps if "identity-provider group" in g.hides]
