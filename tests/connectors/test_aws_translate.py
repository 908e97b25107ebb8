"""AWS translation on recorded payloads: the shapes real AWS returns, including what moto omits.

GetAccountAuthorizationDetails returns `PermissionsBoundary` on users too; moto 5.2.5
ignores user boundaries altogether, so the boundary-capped group member is tested here.
"""

from __future__ import annotations

import json

import pytest

from foureyes.config import parse_config
from foureyes.connectors.aws.reads import AccountRead, PermissionSetRead, SsoRead, sso_role_permission_set
from foureyes.connectors.aws.translate import translate
from foureyes.connectors.aws.trust import github_subject_patterns, oidc_wildcard
from foureyes.model import ACCESS_ADMIN, DEPLOY_RUN, EdgeKind, Via

A = "111111111111"
B = "222222222222"
CONFIG = parse_config(f"""
[tiers.production]
aws_accounts = ["{A}"]
[sources.aws]
""")


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def managed(arn: str, document: dict) -> dict:
    # GAAD's ManagedPolicyDetail, default version only as AWS marks it
    return {"PolicyName": arn.rsplit("/", 1)[-1], "Arn": arn, "Path": "/", "DefaultVersionId": "v2",
            "PolicyVersionList": [{"Document": {"Statement": []}, "VersionId": "v1", "IsDefaultVersion": False},
                                  {"Document": document, "VersionId": "v2", "IsDefaultVersion": True}]}


def user(name: str, *, account: str = A, groups=(), inline=None, attached=(), boundary=None, tags=None) -> dict:
    detail = {"Path": "/", "UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"arn:aws:iam::{account}:user/{name}",
              "GroupList": list(groups),
              "UserPolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
              "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached],
              "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
    if boundary:
        detail["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return detail


def group(name: str, *, account: str = A, inline=None, attached=()) -> dict:
    return {"Path": "/", "GroupName": name, "GroupId": f"AGPA{name.upper()}", "Arn": f"arn:aws:iam::{account}:group/{name}",
            "GroupPolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
            "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached]}


def role(name: str, trust: dict, *, account: str = A, path: str = "/", inline=None, attached=(), boundary=None) -> dict:
    detail = {"Path": path, "RoleName": name, "RoleId": f"AROA{name.upper()}",
              "Arn": f"arn:aws:iam::{account}:role{path}{name}", "AssumeRolePolicyDocument": trust,
              "RolePolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
              "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached],
              "RoleLastUsed": {"LastUsedDate": "2026-10-01T08:00:00+00:00", "Region": "us-east-1"}, "Tags": []}
    if boundary:
        detail["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return detail


def account(account_id: str = A, *, users=(), groups=(), roles=(), policies=(), **kw) -> AccountRead:
    return AccountRead(id=account_id, name=f"acct-{account_id[:3]}",
                       iam={"UserDetailList": list(users), "GroupDetailList": list(groups),
                            "RoleDetailList": list(roles), "Policies": list(policies)}, **kw)


def run(*accounts: AccountRead, sso: SsoRead | None = None):
    out = translate(list(accounts), sso, config=CONFIG, source=CONFIG.sources.aws)
    return out


def caps(out, key: str) -> set[str]:
    return {c for g in out.grants.values() if g.principal == key for c in g.capabilities}


def key(kind: str, name: str, account_id: str = A, path: str = "/") -> str:
    return f"aws:arn:aws:iam::{account_id}:{kind}{path}{name}"


DEPLOY = f"arn:aws:iam::{A}:policy/DeployECS"
S3_ONLY = f"arn:aws:iam::{A}:policy/S3Only"
ECS_ONLY = f"arn:aws:iam::{A}:policy/EcsOnly"
POLICIES = [managed(DEPLOY, doc(allow("ecs:UpdateService"))), managed(S3_ONLY, doc(allow("s3:*"))),
            managed(ECS_ONLY, doc(allow("ecs:*")))]
SELF_ADMIN_GROUP = {"self": doc(allow("iam:PutGroupPolicy", f"arn:aws:iam::{A}:group/deployers"))}


def test_a_boundary_that_removes_what_the_group_gives_replaces_the_member_edge():
    out = run(account(users=[user("una", groups=["deployers"], boundary=S3_ONLY),
                             user("vic", groups=["deployers"])],
                      groups=[group("deployers", attached=[DEPLOY])], policies=POLICIES))
    una, vic, deployers = key("user", "una"), key("user", "vic"), key("group", "deployers")
    assert caps(out, deployers) == {DEPLOY_RUN}
    assert [e.dst for e in out.edges.values() if e.src == vic] == [deployers]
    assert [e for e in out.edges.values() if e.src == una] == []  # the edge would overstate her rights
    assert caps(out, una) == set()
    assert out.principals[una].attrs["capped_groups"] == ["deployers"]
    assert out.principals[una].attrs["boundary"] == "S3Only"


def test_a_boundary_that_keeps_part_of_the_group_gives_the_user_its_own_grant():
    out = run(account(users=[user("una", groups=["deployers"], boundary=ECS_ONLY)],
                      groups=[group("deployers", attached=[DEPLOY], inline=SELF_ADMIN_GROUP)], policies=POLICIES))
    una, deployers = key("user", "una"), key("group", "deployers")
    assert caps(out, deployers) == {DEPLOY_RUN, ACCESS_ADMIN}
    (grant,) = [g for g in out.grants.values() if g.principal == una]
    assert grant.entitlement == "policy DeployECS (via IAM group deployers)"
    assert grant.capabilities == (DEPLOY_RUN,) and grant.via == Via.GROUP
    assert "permissions boundary EcsOnly caps the group's other rights" in grant.detail


def test_a_users_own_deny_caps_the_group():
    deny = {"no-ecs": doc({"Effect": "Deny", "Action": "ecs:*", "Resource": "*"})}
    out = run(account(users=[user("una", groups=["deployers"], inline=deny)],
                      groups=[group("deployers", attached=[DEPLOY])], policies=POLICIES))
    assert caps(out, key("user", "una")) == set()
    assert not [e for e in out.edges.values() if e.src == key("user", "una")]


def test_only_the_default_policy_version_counts():
    out = run(account(roles=[role("r", doc(), attached=[DEPLOY])], policies=POLICIES))
    # v1 (not default) is empty; v2 (default) allows ecs:UpdateService
    assert caps(out, key("role", "r")) == {DEPLOY_RUN}


def test_a_missing_or_broken_policy_document_is_a_gap_and_keeps_the_grant():
    broken = {"bad": "{not json"}
    out = run(account(users=[user("una", inline=broken, attached=[f"arn:aws:iam::{A}:policy/Gone"])]))
    grants = {g.entitlement: g for g in out.grants.values()}
    assert grants["inline policy bad"].attrs["unreadable"] is True
    assert grants["policy Gone"].attrs["unreadable"] is True
    reasons = [g.reason for g in out.gaps]
    assert any("inline policy bad of IAM user una unreadable" in r for r in reasons)
    assert any("policy Gone" in r and "could not be read" in r for r in reasons)


def test_scps_apply_except_to_the_management_account_and_when_none_are_attached():
    deny_ecs = [("p-1", "FullAWSAccess", doc(allow("*"))), ("p-2", "no-ecs", doc(
        {"Effect": "Deny", "Action": "ecs:*", "Resource": "*"}))]
    ecs_user = user("una", inline={"ecs": doc(allow("ecs:UpdateService"))})
    member = account(users=[ecs_user], scps=[[deny_ecs[0]], deny_ecs], scp_levels=["root Root", "account a"])
    assert caps(run(member), key("user", "una")) == set()
    management = account(users=[ecs_user], scps=[[deny_ecs[0]], deny_ecs], management=True)
    assert caps(run(management), key("user", "una")) == {DEPLOY_RUN}
    disabled = account(users=[ecs_user], scps=[[], []])  # SCPs off: AWS detaches them all
    assert caps(run(disabled), key("user", "una")) == {DEPLOY_RUN}


def test_admin_through_passing_an_admin_role_is_found_by_the_fixpoint():
    trust_ec2 = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    out = run(account(
        roles=[role("admin", trust_ec2, inline={"all": doc(allow("*"))})],
        users=[user("pat", inline={"launch": doc(allow(["ec2:RunInstances"]),
                                               allow("iam:PassRole", f"arn:aws:iam::{A}:role/admin"))})]))
    assert caps(out, key("user", "pat")) == {ACCESS_ADMIN, DEPLOY_RUN}
    (grant,) = [g for g in out.grants.values() if g.principal == key("user", "pat")]
    assert "pass-admin-role-ec2" in grant.attrs["ways"]


def test_trust_edges_named_account_wildcard_and_external():
    trusts_b = doc({"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{B}:root", "arn:aws:iam::999999999999:root"]},
                    "Action": "sts:AssumeRole"})
    anyone_in_org = doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole",
                         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-acme"}}})
    a = account(roles=[role("from-b", trusts_b), role("org-wide", anyone_in_org)], organization_id="o-acme")
    b = account(B, users=[user("wes", account=B, inline={"assume": doc(allow("sts:AssumeRole"))}),
                          user("xia", account=B)], organization_id="o-acme")
    out = run(a, b)
    from_b, org_wide = key("role", "from-b"), key("role", "org-wide")
    wes, xia = key("user", "wes", B), key("user", "xia", B)
    # "*" names every principal: a role of the same account needs no permission of its own,
    # one in another account does (xia has none).
    assert {(e.src, e.dst) for e in out.edges.values()} == {(wes, from_b), (wes, org_wide), (from_b, org_wide)}
    assert out.principals[from_b].attrs["trusted_external"] == ["arn:aws:iam::999999999999:root"]
    assert out.principals[org_wide].attrs["trusted_external"] == ["*"]
    assert xia not in {e.src for e in out.edges.values()}


def test_an_mfa_condition_on_trust_is_kept_on_the_edge():
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/una"}, "Action": "sts:AssumeRole",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    out = run(account(users=[user("una")], roles=[role("breakglass", trust, inline={"all": doc(allow("*"))})]))
    (edge,) = out.edges.values()
    assert edge.kind == EdgeKind.CAN_ASSUME and "aws:MultiFactorAuthPresent" in edge.condition


def test_other_identity_providers_are_a_gap_when_the_role_matters():
    okta = doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{A}:saml-provider/Okta"},
                "Action": "sts:AssumeRoleWithSAML"})
    out = run(account(roles=[role("okta-admin", okta, inline={"all": doc(allow("*"))}),
                             role("okta-reader", okta, inline={"read": doc(allow("s3:Get*"))})]))
    assert out.principals[key("role", "okta-admin")].attrs["federated"] == [f"arn:aws:iam::{A}:saml-provider/Okta"]
    (gap,) = out.gaps
    assert "role okta-admin trusts identity provider" in gap.reason
    assert "access.admin" in gap.hides and "deploy.run" in gap.hides


def test_github_trust_patterns_and_the_exact_subject_key():
    trust = doc({"Effect": "Allow",
                 "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"},
                 "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                               "StringLike": {"token.actions.githubusercontent.com:sub": [
                                   "repo:acme/api:environment:prod*", "repo:acme/api:ref:refs/heads/main"]}}})
    out = run(account(roles=[role("gha", trust, inline={"ecs": doc(allow("ecs:UpdateService"))})]))
    gha = key("role", "gha")
    assert sorted(e.src for e in out.edges.values()) == ["ci:repo:acme/api:environment:prod*",
                                                          "ci:repo:acme/api:ref:refs/heads/main"]
    assert out.principals[gha].attrs["oidc_subjects"] == ["repo:acme/api:environment:prod*",
                                                          "repo:acme/api:ref:refs/heads/main"]
    assert out.principals[gha].attrs["oidc_wildcard"] is False


def test_a_deny_on_github_tokens_is_noted_on_the_edge_not_subtracted():
    provider = f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"
    trust = doc({"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/api:*"}}},
                {"Sid": "NoPullRequests", "Effect": "Deny", "Principal": {"Federated": provider},
                 "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "*:pull_request"}}})
    out = run(account(roles=[role("gha", trust, inline={"ecs": doc(allow("ecs:UpdateService"))})]))
    (edge,) = out.edges.values()
    assert edge.src == "ci:repo:acme/api:*"
    assert "Sid NoPullRequests denies some GitHub tokens" in edge.condition


@pytest.mark.parametrize("condition, patterns, notes", [
    ({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/api:environment:production"}},
     ["repo:acme/api:environment:production"], 0),
    ({"StringLike": {"token.actions.githubusercontent.com:sub": ["repo:acme/*", "repo:acme-labs/x:*"]}},
     ["repo:acme/*", "repo:acme-labs/x:*"], 0),
    ({"ForAnyValue:StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/api:*"}},
     ["repo:acme/api:*"], 0),
    ({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}, ["*"], 1),
    ({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"},
      "StringNotLike": {"token.actions.githubusercontent.com:sub": "*:pull_request"}}, ["repo:acme/*"], 1),
    ({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"},
      "StringEquals": {"token.actions.githubusercontent.com:sub": ["repo:acme/api:environment:prod",
                                                                  "repo:other/x:environment:prod"]}},
     ["repo:acme/api:environment:prod"], 0),
    ({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/api:environment:prod",
                       "token.actions.githubusercontent.com:job_workflow_ref": "acme/wf/.github/workflows/d.yml@main"}},
     ["repo:acme/api:environment:prod"], 1),
    ({"StringEquals": {"token.actions.githubusercontent.com:sub": ["repo:acme/*", "repo:acme/api:pull_request"]}},
     ["repo:acme/api:pull_request"], 1),
])
def test_github_subject_conditions(condition, patterns, notes):
    found, _, found_notes = github_subject_patterns({"Condition": condition}, "token.actions.githubusercontent.com")
    assert found == patterns
    assert len(found_notes) == notes


@pytest.mark.parametrize("pattern, wildcard", [
    ("repo:acme/api:environment:production", False),
    ("repo:acme/api:environment:prod*", False),
    ("repo:acme/api:ref:refs/heads/main", False),
    ("repo:acme/api:ref:refs/heads/*", True),
    ("repo:acme/api:*", True),
    ("repo:acme/*", True),
    ("repo:acme/api:pull_request", True),
    ("*", True),
])
def test_what_counts_as_a_wildcard_subject(pattern, wildcard):
    assert oidc_wildcard(pattern) is wildcard


def test_sso_role_names():
    assert sso_role_permission_set("AWSReservedSSO_ProdDeployer_0123456789abcdef") == "ProdDeployer"
    assert sso_role_permission_set("AWSReservedSSO_Admin_Access_0123456789abcdef") == "Admin_Access"
    assert sso_role_permission_set("AWSReservedSSO_x_short") == ""
    assert sso_role_permission_set("deploy") == ""


def test_identity_center_users_groups_and_assignments():
    sso_trust = doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{A}:saml-provider/AWSSSO_ab_DO_NOT_DELETE"},
                     "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]})
    provisioned = role("AWSReservedSSO_Deploy_0123456789abcdef", sso_trust, path="/aws-reserved/sso.amazonaws.com/",
                       inline={"AwsSSOInlinePolicy": doc(allow("ecs:UpdateService"))})
    ps = PermissionSetRead(arn="arn:aws:sso:::permissionSet/ssoins-1/ps-1", name="Deploy")
    sso = SsoRead(
        instance_arn="arn:aws:sso:::instance/ssoins-1", store_id="d-123",
        users=[{"UserId": "u-1", "UserName": "ana@acme.com", "DisplayName": "Ana Alves",
                "Emails": [{"Value": "ana.old@acme.com"}, {"Value": "ana@acme.com", "Primary": True}]}],
        groups=[{"GroupId": "g-1", "DisplayName": "deployers"}],
        memberships=[("g-1", "u-1")], permission_sets={ps.arn: ps},
        assignments=[{"AccountId": A, "PermissionSetArn": ps.arn, "PrincipalType": "GROUP", "PrincipalId": "g-1"}],
    )
    out = run(account(roles=[provisioned]), sso=sso)
    ana = out.principals["aws:sso:d-123:user/ana@acme.com"]
    assert (ana.email, ana.attrs["email_source"], ana.display_name) == ("ana@acme.com", "sso", "Ana Alves (SSO)")
    edges = {(e.src, e.kind, e.dst) for e in out.edges.values()}
    role_key = key("role", "AWSReservedSSO_Deploy_0123456789abcdef", path="/aws-reserved/sso.amazonaws.com/")
    assert edges == {("aws:sso:d-123:user/ana@acme.com", EdgeKind.MEMBER_OF, "aws:sso:d-123:group/deployers"),
                     ("aws:sso:d-123:group/deployers", EdgeKind.CAN_ASSUME, role_key)}
    assert caps(out, role_key) == {DEPLOY_RUN}


def test_an_unreadable_account_keeps_its_identity_center_assignments():
    ps = PermissionSetRead(arn="arn:aws:sso:::permissionSet/ssoins-1/ps-2", name="Admin", definition_read=True,
                           managed=["arn:aws:iam::aws:policy/AdministratorAccess"])
    sso = SsoRead(instance_arn="i", store_id="d-123", users=[{"UserId": "u-1", "UserName": "ana"}],
                  permission_sets={ps.arn: ps},
                  assignments=[{"AccountId": A, "PermissionSetArn": ps.arn, "PrincipalType": "USER", "PrincipalId": "u-1"}],
                  aws_managed={"arn:aws:iam::aws:policy/AdministratorAccess": ("AdministratorAccess", doc(allow("*")))})
    unread = AccountRead(id=A, name="prod")  # GetAccountAuthorizationDetails failed here
    out = run(unread, sso=sso)
    target = f"aws:sso:d-123:permission-set/Admin/{A}"
    assert out.principals[target].attrs["from_definition"] is True
    assert caps(out, target) == {DEPLOY_RUN, ACCESS_ADMIN}
    (grant,) = [g for g in out.grants.values() if g.principal == target]
    assert grant.entitlement == "policy AdministratorAccess"


def test_user_attributes_carry_usage_evidence_without_full_key_ids():
    keys = {"una": [{"AccessKeyId": "AKIAABCDEFGHIJKLMNOP", "Status": "Active", "CreateDate": "2024-01-01T00:00:00Z",
                     "LastUsedDate": "2026-09-30T10:00:00Z", "ServiceName": "ecs"}]}
    out = run(account(users=[user("una", tags={"Email": "una@acme.com"}, inline={"ecs": doc(allow("ecs:UpdateService"))})],
                      access_keys=keys))
    una = out.principals[key("user", "una")]
    assert una.attrs["access_keys"] == [{"id": "AKIA…MNOP", "status": "Active", "created": "2024-01-01T00:00:00Z",
                                         "last_used": "2026-09-30T10:00:00Z", "last_service": "ecs"}]
    (grant,) = [g for g in out.grants.values() if g.principal == una.key]
    assert grant.last_used == "2026-09-30T10:00:00Z"
    assert "AKIAABCDEFGHIJKLMNOP" not in json.dumps([dict(p.attrs) for p in out.principals.values()])
