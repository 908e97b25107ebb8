"""The AWS connector against moto's server: the Acme organisation, read as an auditor.

boto3 talks HTTP to a ThreadedMotoServer on loopback; moto enforces IAM while the connector
runs, and the auditor holds exactly the policies docs/sources/aws.md documents. The
assertions go person by person, at the SourceResult level.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from . import aws_moto
from foureyes.config import Config, parse_config
from foureyes.connectors.aws.connector import AwsConnector
from foureyes.errors import SourceError
from foureyes.model import ACCESS_ADMIN, DEPLOY_RUN, EdgeKind, SourceResult

AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def aws_env(mp: pytest.MonkeyPatch, creds: dict[str, str] | None, tmp: Any = "/nonexistent") -> None:
    """Credentials from the environment only: no profile files from the machine running the tests."""
    for var in AWS_ENV:
        mp.delenv(var, raising=False)
    mp.setenv("AWS_CONFIG_FILE", f"{tmp}/config")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp}/credentials")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_DEFAULT_REGION", aws_moto.REGION)
    for var, value in (creds or {}).items():
        mp.setenv(var, value)


def make_config(world: aws_moto.AwsWorld, **aws: Any) -> Config:
    settings = {"endpoint_url": world.url, "organization": True, "assume_role_name": aws_moto.AUDIT_ROLE,
                "max_attempts": 1, **aws}
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    return parse_config(f"""
[tiers.production]
aws_account_tags = {{ env = "prod" }}
aws_ous = ["/Root/Workloads/Prod"]

[tiers.staging]
aws_accounts = ["{world.staging}"]

[[apps]]
name = "payments"
aws_accounts = ["{world.payments}"]

[sources.aws]
{lines}
""")


def collect(world: aws_moto.AwsWorld, creds: dict[str, str] | None, *, enforce: bool = True,
            **aws: Any) -> tuple[SourceResult, list[Any]]:
    config = make_config(world, **aws)
    events: list[Any] = []
    with pytest.MonkeyPatch.context() as mp:
        aws_env(mp, creds)
        aws_moto.enforce_iam(world.url, enforce)
        try:
            result = AwsConnector(config.sources.aws, config=config).collect(events.append)
        finally:
            aws_moto.enforce_iam(world.url, False)
    return result, events


@pytest.fixture(scope="module")
def world(moto):
    world = moto.world("acme", aws_moto.build_world)  # built once per worker; the tests only read it
    yield world
    aws_moto.enforce_iam(world.url, False)


@pytest.fixture(scope="module")
def read(world):
    result, events = collect(world, world.auditor)
    return View(world, result, events)


class View:
    """Questions a reviewer asks of one SourceResult."""

    def __init__(self, world: aws_moto.AwsWorld, result: SourceResult, events: list[Any]):
        self.world = world
        self.result = result
        self.events = events
        self.principals = {p.key: p for p in result.principals}
        self.resources = {r.key: r for r in result.resources}

    def user(self, account: str, name: str) -> str:
        return f"aws:arn:aws:iam::{account}:user/{name}"

    def role(self, account: str, name: str, path: str = "/") -> str:
        return f"aws:arn:aws:iam::{account}:role{path}{name}"

    def group(self, account: str, name: str) -> str:
        return f"aws:arn:aws:iam::{account}:group/{name}"

    def sso(self, kind: str, name: str) -> str:
        return f"aws:sso:{self.world.store_id}:{kind}/{name}"

    def account(self, account: str) -> str:
        return f"aws:account:{account}"

    def grants(self, principal: str) -> list:
        return [g for g in self.result.grants if g.principal == principal]

    def capabilities(self, principal: str) -> set[tuple[str, str]]:
        return {(c, g.resource) for g in self.grants(principal) for c in g.capabilities}

    def edges(self, src: str = "", dst: str = "", kind: str = "") -> list:
        return [e for e in self.result.edges
                if (not src or e.src == src) and (not dst or e.dst == dst) and (not kind or e.kind == kind)]

    def gaps(self, account: str | None = None) -> list:
        return [g for g in self.result.gaps if account is None or g.resource == self.account(account)]


# ---------------------------------------------------------------- accounts and tiers


def test_accounts_are_mapped_to_tiers_by_tag_ou_path_and_id(read):
    w = read.world
    tiers = {r.id: r.tier for r in read.result.resources}
    assert tiers == {aws_moto.MANAGEMENT: "unclassified", w.prod: "production", w.payments: "production",
                     w.staging: "staging", w.legacy: "production"}
    payments = read.resources[read.account(w.payments)]
    assert payments.name == f"acme-payments ({w.payments})"
    assert payments.app == "payments"
    assert payments.attrs["ou_names"] == "/Root/Workloads/Prod"
    assert payments.attrs["ou_path"].startswith("/r-")
    assert read.resources[read.account(w.prod)].attrs["tags"] == {"env": "prod"}
    assert read.resources[read.account(aws_moto.MANAGEMENT)].attrs["management"] is True


# ---------------------------------------------------------------- deploy through a group


def test_a_user_deploys_through_an_iam_group(read):
    w = read.world
    alice, deployers = read.user(w.prod, "alice"), read.group(w.prod, "deployers")
    person = read.principals[alice]
    assert person.kind == "user" and person.email == "alice@acme.com"
    assert person.attrs["email_source"] == "tag"
    assert person.home == read.account(w.prod)
    (edge,) = read.edges(src=alice)
    assert (edge.dst, edge.kind, edge.label) == (deployers, EdgeKind.MEMBER_OF, "member of IAM group deployers")
    (grant,) = read.grants(deployers)
    assert grant.entitlement == "policy DeployECS"
    assert grant.capabilities == (DEPLOY_RUN,)
    assert grant.resource == read.account(w.prod)
    assert grant.attrs["actions"] == ["ecs:UpdateService"]
    assert grant.detail == "policy DeployECS attached to IAM group deployers allows ecs:UpdateService"
    assert read.grants(alice) == []  # the group holds the grant; the path names the group


def test_a_machine_user_without_an_email_tag_is_kept_with_its_keys(read):
    w = read.world
    ci = read.principals[read.user(w.prod, "ci-legacy")]
    assert ci.email is None and "email_source" not in ci.attrs
    (key,) = ci.attrs["access_keys"]
    assert key["status"] == "Active" and key["last_used"] is None
    assert key["id"].startswith("AKIA") and "…" in key["id"] and len(key["id"]) == 9
    assert read.edges(src=ci.key, dst=read.group(w.prod, "deployers"))


def test_emails_come_from_the_email_tag_in_any_case(read):
    w = read.world
    assert read.principals[read.user(w.prod, "bob")].email == "bob@acme.com"  # tag key EMAIL
    assert read.principals[read.user(w.prod, "carol")].email == "Carol@Acme.com"  # tag key eMail


# ---------------------------------------------------------------- roles and trust


def test_a_role_assumable_from_a_user_its_trust_policy_names(read):
    w = read.world
    bob, ops = read.user(w.prod, "bob"), read.role(w.prod, "ops-deploy")
    (edge,) = read.edges(src=bob)
    assert (edge.dst, edge.kind) == (ops, EdgeKind.CAN_ASSUME)
    assert edge.label == "trust policy of role ops-deploy names IAM user bob"
    assert read.capabilities(ops) == {(DEPLOY_RUN, read.account(w.prod))}
    (grant,) = read.grants(ops)
    assert grant.attrs["actions"] == ["lambda:UpdateFunctionCode"]
    assert read.principals[ops].home == read.account(w.prod)


def test_trust_in_the_account_root_needs_the_callers_own_permission(read):
    w = read.world
    release = read.role(w.prod, "release")
    callers = {e.src for e in read.edges(dst=release)}
    # carol holds sts:AssumeRole on it; henry's NotAction and olivia's "*" include sts:AssumeRole too
    assert callers == {read.user(w.prod, "carol"), read.user(w.prod, "henry"), read.user(w.prod, "olivia")}
    (carol,) = read.edges(src=read.user(w.prod, "carol"))
    assert carol.label == ("trust policy of role release trusts account acme-prod; assume-release allows the "
                           "user sts:AssumeRole")
    assert read.edges(src=read.user(w.prod, "dan")) == []


def test_a_staging_user_reaches_a_prod_role_across_accounts(read):
    w = read.world
    sam = read.user(w.staging, "sam")
    (edge,) = read.edges(src=sam)
    assert edge.dst == read.role(w.prod, "cross-deploy")
    assert "trusts account acme-staging" in edge.label
    assert read.capabilities(sam) == {(DEPLOY_RUN, read.account(w.staging))}


# ---------------------------------------------------------------- SCPs, boundaries, NotAction


def test_an_scp_denying_deploy_in_a_prod_account(read):
    w = read.world
    erin, frank = read.user(w.payments, "erin"), read.user(w.payments, "frank")
    (erin_grant,) = read.grants(erin)
    assert erin_grant.entitlement == "inline policy ecs" and erin_grant.capabilities == ()
    assert read.capabilities(frank) == {(DEPLOY_RUN, read.account(w.payments))}
    levels = read.resources[read.account(w.payments)].attrs["scp_levels"]
    assert levels == ["root Root", "OU Workloads", "OU Prod", "account acme-payments"]


def test_scps_do_not_restrict_service_linked_roles(read):
    w = read.world
    slr = read.role(w.payments, "AWSServiceRoleForECS", "/aws-service-role/ecs.amazonaws.com/")
    assert read.principals[slr].attrs["service_linked"] is True
    assert read.capabilities(slr) == {(DEPLOY_RUN, read.account(w.payments))}
    assert read.edges(dst=slr) == []  # a service, not a person, assumes it


def test_scps_do_not_restrict_the_management_account(read):
    w = read.world
    mallory = read.user(aws_moto.MANAGEMENT, "mgmt-admin")
    management = read.account(aws_moto.MANAGEMENT)
    assert read.capabilities(mallory) == {(ACCESS_ADMIN, management), (DEPLOY_RUN, management)}
    # She deploys only by first writing herself a policy: the deploy grant says so.
    (deploys,) = [g for g in read.grants(mallory) if DEPLOY_RUN in g.capabilities]
    assert deploys.attrs["escalation"] is True and deploys.capabilities == (DEPLOY_RUN,)
    assert deploys.detail.startswith("can write an inline policy onto itself (iam:PutUserPolicy), then allow itself")
    # the same self-service policy in a member account is denied by the root SCP
    (ivan,) = read.grants(read.user(w.prod, "ivan"))
    assert ivan.capabilities == ()
    olivia = read.capabilities(read.user(w.prod, "olivia"))
    assert olivia == {(DEPLOY_RUN, read.account(w.prod)), (ACCESS_ADMIN, read.account(w.prod))}


def test_a_permissions_boundary_caps_a_deployer(read):
    w = read.world
    capped = read.role(w.prod, "capped-deployer")
    assert read.principals[capped].attrs["boundary"] == "ReadOnlyECSBoundary"
    (grant,) = read.grants(capped)
    assert grant.entitlement == "policy AmazonECS_FullAccess" and grant.capabilities == ()
    # gina can assume it, and that is all it gives her
    (edge,) = read.edges(src=read.user(w.prod, "gina"))
    assert edge.dst == capped


def test_notaction_admin_minus_iam_deploys_but_does_not_administer(read):
    w = read.world
    henry = read.user(w.prod, "henry")
    assert read.capabilities(henry) == {(DEPLOY_RUN, read.account(w.prod))}
    (grant,) = read.grants(henry)
    assert "ecs:UpdateService" in grant.attrs["actions"]
    assert not any(a.startswith("iam:") and a != "iam:PassRole" for a in grant.attrs["actions"])


# ---------------------------------------------------------------- IAM Identity Center


def test_an_sso_permission_set_assigned_to_a_group(read):
    w = read.world
    kate, group = read.sso("user", "kate"), read.sso("group", "prod-deployers")
    person = read.principals[kate]
    assert (person.kind, person.email, person.attrs["email_source"]) == ("user", "kate@acme.com", "sso")
    assert person.display_name == "Kate Kim (SSO)"
    assert read.edges(src=kate, dst=group, kind=EdgeKind.MEMBER_OF)
    role = read.role(w.prod, "AWSReservedSSO_ProdDeployer_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/")
    (assignment,) = read.edges(src=group)
    assert (assignment.dst, assignment.kind) == (role, EdgeKind.CAN_ASSUME)
    assert assignment.label == "Identity Center assignment of permission set ProdDeployer in acme-prod"
    assert read.principals[role].attrs["permission_set"] == "ProdDeployer"
    assert read.capabilities(role) == {(DEPLOY_RUN, read.account(w.prod))}


def test_a_read_only_permission_set_confers_nothing(read):
    (edge,) = read.edges(src=read.sso("group", "everyone"))
    assert edge.dst.endswith("AWSReservedSSO_ReadOnly_fedcba9876543210")
    assert read.capabilities(edge.dst) == set()
    assert read.edges(src=read.sso("user", "leo")) == read.edges(src=read.sso("user", "leo"), kind=EdgeKind.MEMBER_OF)


def test_an_assignment_whose_role_is_not_in_the_account_is_decided_from_the_permission_set(read):
    w = read.world
    mia = read.sso("user", "mia")
    (assignment,) = read.edges(src=mia, kind=EdgeKind.CAN_ASSUME)
    assert assignment.dst == f"aws:sso:{w.store_id}:permission-set/BreakGlass/{w.payments}"
    role = read.principals[assignment.dst]
    assert role.attrs["from_definition"] is True and role.home == read.account(w.payments)
    assert read.capabilities(assignment.dst) == {(DEPLOY_RUN, read.account(w.payments))}
    # its inline policy, and the customer-managed policy it references by name in that account
    grants = {g.entitlement: g.capabilities for g in read.grants(assignment.dst)}
    assert grants == {"inline policy": (DEPLOY_RUN,), "policy PaymentsRelease": (DEPLOY_RUN,)}
    # moto 5.2.5 does not implement GetPermissionsBoundaryForPermissionSet: unknown, so shown as a gap
    (gap,) = [g for g in read.gaps(w.payments) if "BreakGlass" in g.reason]
    assert "permissions boundary" in gap.reason and "500" in gap.reason


# ---------------------------------------------------------------- GitHub OIDC


def test_oidc_roles_become_workload_patterns(read):
    w = read.world
    exact, wild = "ci:repo:acme/api:environment:production", "ci:repo:acme/*"
    assert read.principals[exact].kind == "workload-pattern"
    assert read.principals[exact].attrs["oidc_wildcard"] is False
    assert read.principals[wild].attrs["oidc_wildcard"] is True
    (e1,) = read.edges(src=exact)
    (e2,) = read.edges(src=wild)
    assert (e1.dst, e1.kind) == (read.role(w.prod, "gha-api-prod"), EdgeKind.CAN_ASSUME)
    assert e2.dst == read.role(w.prod, "gha-acme-any")
    assert e2.label.endswith("StringLike repo:acme/* (any branch, pull request or environment)")
    api = read.principals[read.role(w.prod, "gha-api-prod")].attrs
    assert (api["oidc_subjects"], api["oidc_wildcard"]) == (["repo:acme/api:environment:production"], False)
    any_repo = read.principals[read.role(w.prod, "gha-acme-any")].attrs
    assert (any_repo["oidc_subjects"], any_repo["oidc_wildcard"]) == (["repo:acme/*"], True)
    assert read.principals[read.role(w.prod, "release")].attrs["oidc_subjects"] == []


# ---------------------------------------------------------------- gaps, usage, credentials


def test_access_denied_on_one_account_is_a_gap_not_an_empty_account(read):
    w = read.world
    (gap,) = read.gaps(w.legacy)
    assert gap.reason == "AccessDenied (HTTP 403) on iam:GetAccountAuthorizationDetails"
    assert "every IAM user, group and role" in gap.hides
    legacy = read.resources[read.account(w.legacy)]
    assert legacy.tier == "production" and legacy.attrs["iam_read"] is False
    assert not [p for p in read.result.principals if p.home == legacy.key]
    assert read.result.stats["accounts_read"] == 4 and read.result.stats["accounts"] == 5


def test_the_documented_read_only_policy_is_enough(read):
    # Everything else was readable under moto's IAM enforcement with docs/sources/aws.md's policies.
    others = [g for g in read.result.gaps if g.resource != read.account(read.world.legacy)
              and "GetPermissionsBoundaryForPermissionSet" not in g.reason]
    assert others == []
    assert read.result.stats["requests"] > 50


def test_usage_evidence_and_no_credential_in_the_result(read):
    auditor = read.principals[read.user(aws_moto.MANAGEMENT, "foureyes-auditor")]
    (key,) = auditor.attrs["access_keys"]
    assert key["last_used"] is not None
    role = read.principals[read.role(read.world.prod, "foureyes-audit")]
    assert role.attrs["last_used"] is not None
    dump = json.dumps([asdict(x) if hasattr(x, "__dataclass_fields__") else x for x in
                       (*read.result.principals, *read.result.grants, *read.result.gaps)], default=str)
    for secret in read.world.auditor.values():
        assert secret not in dump


def test_progress_is_reported_per_account(read):
    messages = [e.message for e in read.events]
    assert "listing the organization's accounts" in messages
    assert sum(1 for m in messages if m.startswith("read account")) == 5
    assert read.events[-1].message == "deciding capabilities"


def test_one_account_with_the_default_chain(world):
    result, _ = collect(world, world.auditor, organization=False)
    assert [r.id for r in result.resources] == [aws_moto.MANAGEMENT]
    keys = {p.key for p in result.principals}
    assert f"aws:arn:aws:iam::{aws_moto.MANAGEMENT}:user/mgmt-admin" in keys
    assert not any(world.prod in k for k in keys if k.startswith("aws:arn"))


def test_listed_accounts_without_organizations(world):
    result, _ = collect(world, world.auditor, organization=False, accounts=[world.staging])
    assert [r.id for r in result.resources] == [world.staging]
    assert f"aws:arn:aws:iam::{world.staging}:user/sam" in {p.key for p in result.principals}
    assert result.resources[0].tier == "staging"


def test_missing_credentials_are_one_clear_error(world):
    with pytest.raises(SourceError, match="no AWS credentials found"):
        collect(world, None, enforce=False)


def test_rejected_credentials_are_one_clear_error(world):
    creds = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "not-a-secret-at-all"}
    with pytest.raises(SourceError) as caught:
        collect(world, creds)
    assert "InvalidClientTokenId" in str(caught.value)
    assert "not-a-secret-at-all" not in str(caught.value)


def test_an_unknown_profile_is_one_clear_error(world):
    with pytest.raises(SourceError, match="profile 'nope' not found"):
        collect(world, None, enforce=False, profile="nope")
