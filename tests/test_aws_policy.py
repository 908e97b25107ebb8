"""The IAM policy evaluator against the evaluation examples in AWS's IAM User Guide.

Each case names the page it comes from; the expected outcome is the one the page states.
"""

from __future__ import annotations

import json

import pytest

from foureyes.connectors.aws.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Policy,
    PolicyError,
    RequestContext,
    action_matches,
    arn_matches,
    arn_witness,
    evaluate,
)

ACCOUNT = "123456789012"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# ---------------------------------------------------------------- reference_policies_evaluation-logic.md

CARLOS = "arn:aws:iam::123456789012:user/carlossalazar"
CARLOS_POLICY = doc(
    {"Sid": "AllowS3ListRead", "Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints",
                "s3:ListAllMyBuckets"],
     "Resource": "arn:aws:s3:::*"},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)
CARLOS_BUCKET_POLICY = doc(
    {"Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:*",
     "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
)


def test_carlos_saving_to_a_log_bucket_is_explicitly_denied_by_his_own_policy():
    decision = evaluate("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/report.txt",
                        identity_policies=[CARLOS_POLICY], resource_policy=CARLOS_BUCKET_POLICY,
                        context={"aws:PrincipalArn": CARLOS})
    assert decision.outcome == EXPLICIT_DENY
    assert decision.statement.sid == "DenyS3Logs"
    assert decision.statement.layer == "identity"


def test_carlos_saving_to_his_bucket_is_allowed_by_both_policies():
    decision = evaluate("s3:PutObject", "arn:aws:s3:::carlossalazar/report.txt",
                        identity_policies=[CARLOS_POLICY], resource_policy=CARLOS_BUCKET_POLICY,
                        context={"aws:PrincipalArn": CARLOS})
    assert decision.outcome == ALLOWED
    assert decision.uncertain == ()


@pytest.mark.parametrize("identity, bucket", [(True, False), (False, True)])
def test_one_allow_in_the_same_account_is_enough(identity, bucket):
    # "If one of the policy types allows the request and the other doesn't, the request is still allowed."
    decision = evaluate("s3:PutObject", "arn:aws:s3:::carlossalazar/report.txt",
                        identity_policies=[CARLOS_POLICY] if identity else [],
                        resource_policy=CARLOS_BUCKET_POLICY if bucket else None,
                        context={"aws:PrincipalArn": CARLOS})
    assert decision.outcome == ALLOWED
    assert decision.statement.layer == ("identity" if identity else "resource")


def test_actions_that_need_the_star_resource_are_not_allowed_by_a_bucket_arn():
    # AllowS3ListRead names arn:aws:s3:::*, but ListAllMyBuckets acts on "*".
    decision = evaluate("s3:ListAllMyBuckets", "*", identity_policies=[CARLOS_POLICY])
    assert decision.outcome == IMPLICIT_DENY


IAM_REPORTS = doc(
    {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
    {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
)


@pytest.mark.parametrize("action, outcome", [
    ("iam:GetUser", ALLOWED),
    ("iam:ListRoles", ALLOWED),
    ("iam:CreatePolicy", IMPLICIT_DENY),
    ("iam:GetOrganizationsAccessReport", EXPLICIT_DENY),
])
def test_explicit_and_implicit_denies(action, outcome):
    assert evaluate(action, "*", identity_policies=[IAM_REPORTS]).outcome == outcome


def test_a_report_denied_explicitly_stays_denied_when_another_policy_allows_it():
    grant_reports = doc(allow("iam:GenerateCredentialReport"))
    decision = evaluate("iam:GenerateCredentialReport", "*", identity_policies=[IAM_REPORTS, grant_reports])
    assert decision.outcome == EXPLICIT_DENY
    assert decision.statement.sid == "DenyReports"


# ---------------------------------------------------------------- access_policies_boundaries.md

SHIRLEY_BOUNDARY = doc(allow(["s3:*", "cloudwatch:*", "ec2:*"]))


def test_a_boundary_does_not_grant_and_caps_what_identity_policies_grant():
    create_user = doc(allow("iam:CreateUser"))
    decision = evaluate("iam:CreateUser", "*", identity_policies=[create_user], boundary=SHIRLEY_BOUNDARY)
    assert decision.outcome == IMPLICIT_DENY
    assert "boundary" in decision.reason
    # The boundary alone grants nothing.
    assert evaluate("ec2:RunInstances", "*", identity_policies=[], boundary=SHIRLEY_BOUNDARY).outcome == IMPLICIT_DENY
    run = doc(allow("ec2:RunInstances"))
    assert evaluate("ec2:RunInstances", "*", identity_policies=[run], boundary=SHIRLEY_BOUNDARY).outcome == ALLOWED


XCOMPANY_BOUNDARIES = doc(
    {"Sid": "ServiceBoundaries", "Effect": "Allow",
     "Action": ["s3:*", "cloudwatch:*", "ec2:*", "dynamodb:*"], "Resource": "*"},
    {"Sid": "AllowIAMConsoleForCredentials", "Effect": "Allow",
     "Action": ["iam:ListUsers", "iam:GetAccountPasswordPolicy"], "Resource": "*"},
    {"Sid": "AllowManageOwnPasswordAndAccessKeys", "Effect": "Allow",
     "Action": ["iam:*AccessKey*", "iam:ChangePassword", "iam:GetUser", "iam:*ServiceSpecificCredential*",
                "iam:*SigningCertificate*"],
     "Resource": ["arn:aws:iam::*:user/${aws:username}"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]},
    {"Sid": "DenyEC2Production", "Effect": "Deny", "Action": "ec2:*",
     "Resource": "arn:aws:ec2:*:*:instance/i-1234567890abcdef0"},
)
DELEGATED_USER_BOUNDARY = doc(
    {"Sid": "CreateOrChangeOnlyWithBoundary", "Effect": "Allow",
     "Action": ["iam:CreateUser", "iam:DeleteUserPolicy", "iam:AttachUserPolicy", "iam:DetachUserPolicy",
                "iam:PutUserPermissionsBoundary"],
     "Resource": "*",
     "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/XCompanyBoundaries"}}},
    {"Sid": "CloudWatchAndOtherIAMTasks", "Effect": "Allow",
     "Action": ["cloudwatch:*", "iam:GetUser", "iam:ListUsers", "iam:DeleteUser", "iam:UpdateUser",
                "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:GetAccountPasswordPolicy",
                "iam:GetLoginProfile", "iam:*Group*", "iam:CreatePolicy", "iam:DeletePolicy",
                "iam:DeletePolicyVersion", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetUserPolicy",
                "iam:GetRolePolicy", "iam:ListPolicies", "iam:ListPolicyVersions", "iam:ListEntitiesForPolicy",
                "iam:ListUserPolicies", "iam:ListAttachedUserPolicies", "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies", "iam:PutUserPolicy", "iam:SetDefaultPolicyVersion",
                "iam:SimulatePrincipalPolicy", "iam:SimulateCustomPolicy"],
     "Resource": "*"},
    {"Sid": "NoBoundaryPolicyEdit", "Effect": "Deny",
     "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion"],
     "Resource": ["arn:aws:iam::123456789012:policy/XCompanyBoundaries",
                  "arn:aws:iam::123456789012:policy/DelegatedUserBoundary"]},
    {"Sid": "NoBoundaryUserDelete", "Effect": "Deny", "Action": "iam:DeleteUserPermissionsBoundary",
     "Resource": "*"},
)
DELEGATED_USER_PERMISSIONS = doc(
    {"Sid": "IAM", "Effect": "Allow", "Action": "iam:*", "Resource": "*"},
    {"Sid": "CloudWatchLimited", "Effect": "Allow",
     "Action": ["cloudwatch:GetDashboard", "cloudwatch:GetMetricData", "cloudwatch:ListDashboards",
                "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"],
     "Resource": "*"},
    {"Sid": "S3BucketContents", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::ZhangBucket"},
)
ZHANG = "arn:aws:iam::111122223333:user/Zhang"


def zhang(action, resource="*", **context):
    return evaluate(action, resource, identity_policies=[DELEGATED_USER_PERMISSIONS],
                    boundary=DELEGATED_USER_BOUNDARY,
                    context={"aws:PrincipalArn": ZHANG, "aws:username": "Zhang", **context})


def test_zhang_cloudwatch_is_limited_by_his_permissions_policy():
    assert zhang("cloudwatch:GetDashboard").outcome == ALLOWED
    denied = zhang("cloudwatch:PutDashboard")
    assert denied.outcome == IMPLICIT_DENY and "no identity policy" in denied.reason


def test_zhang_cannot_list_his_bucket_because_the_boundary_allows_no_s3():
    decision = zhang("s3:ListBucket", "arn:aws:s3:::ZhangBucket")
    assert decision.outcome == IMPLICIT_DENY
    assert "boundary" in decision.reason


def test_zhang_creates_users_only_with_the_xcompany_boundary():
    with_boundary = zhang("iam:CreateUser", "arn:aws:iam::111122223333:user/Nikhil",
                          **{"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/XCompanyBoundaries"})
    assert with_boundary.outcome == ALLOWED and with_boundary.uncertain == ()
    # He forgot the boundary: the key is absent from the request, and "the operation fails".
    forgot = zhang("iam:CreateUser", "arn:aws:iam::111122223333:user/Nikhil", **{"iam:PermissionsBoundary": None})
    assert forgot.outcome == IMPLICIT_DENY


def test_zhang_cannot_remove_boundaries_or_edit_the_boundary_policies():
    assert zhang("iam:DeleteUserPermissionsBoundary").outcome == EXPLICIT_DENY
    edit = zhang("iam:CreatePolicyVersion", "arn:aws:iam::123456789012:policy/XCompanyBoundaries")
    assert edit.outcome == EXPLICIT_DENY
    assert edit.statement.sid == "NoBoundaryPolicyEdit" and edit.statement.layer == "boundary"


def test_when_zhang_does_not_know_the_request_boundary_access_is_possible_and_said_to_be_uncertain():
    decision = zhang("iam:CreateUser", "arn:aws:iam::111122223333:user/Nikhil")
    assert decision.outcome == ALLOWED
    assert any("iam:PermissionsBoundary" in u for u in decision.uncertain)


IAM_FULL_ACCESS = doc({"Effect": "Allow", "Action": ["iam:*", "organizations:DescribeAccount"], "Resource": "*"})
S3_READ_ONLY = doc(allow(["s3:Get*", "s3:List*"]))
NIKHIL = "arn:aws:iam::111122223333:user/Nikhil"


def nikhil(action, resource="*", resource_policy=None, **context):
    return evaluate(action, resource, identity_policies=[IAM_FULL_ACCESS, S3_READ_ONLY],
                    boundary=XCOMPANY_BOUNDARIES, resource_policy=resource_policy,
                    context={"aws:PrincipalArn": NIKHIL, "aws:username": "Nikhil", **context})


def test_nikhil_can_change_his_own_password_but_not_create_users():
    assert nikhil("iam:ChangePassword", NIKHIL).outcome == ALLOWED
    assert nikhil("iam:ChangePassword", "arn:aws:iam::111122223333:user/Zhang").outcome == IMPLICIT_DENY
    assert nikhil("iam:CreateUser", "arn:aws:iam::111122223333:user/eve").outcome == IMPLICIT_DENY


def test_nikhil_can_never_read_the_logs_bucket():
    assert nikhil("s3:GetObject", "arn:aws:s3:::reports/a.csv").outcome == ALLOWED
    assert nikhil("s3:GetObject", "arn:aws:s3:::logs/a.log").outcome == EXPLICIT_DENY


def test_a_resource_policy_cannot_overcome_a_deny_in_the_boundary():
    instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-1234567890abcdef0"
    instance_policy = doc({"Effect": "Allow", "Principal": {"AWS": NIKHIL},
                           "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": instance})
    assert nikhil("ec2:StartInstances", instance, instance_policy).outcome == EXPLICIT_DENY


def test_boundaries_do_not_limit_a_resource_policy_that_names_the_user():
    secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"
    secret_policy = doc({"Effect": "Allow", "Principal": {"AWS": NIKHIL},
                         "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert nikhil("secretsmanager:GetSecretValue", secret).outcome == IMPLICIT_DENY
    decision = nikhil("secretsmanager:GetSecretValue", secret, secret_policy)
    assert decision.outcome == ALLOWED
    assert decision.statement.layer == "resource"


def test_a_policy_variable_without_a_value_is_uncertain_not_a_denial():
    decision = evaluate("iam:ChangePassword", NIKHIL, identity_policies=[IAM_FULL_ACCESS],
                        boundary=XCOMPANY_BOUNDARIES, context={"aws:PrincipalArn": NIKHIL})
    assert decision.outcome == ALLOWED
    assert any("${aws:username}" in u for u in decision.uncertain)


# ---------------------------------------------------------------- reference_policies_evaluation-logic.md (resource policies, same account)

ROLE = "arn:aws:iam::111122223333:role/examplerole"
SESSION = "arn:aws:sts::111122223333:assumed-role/examplerole/examplerolesessionname"
SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:s-1"
NO_SECRETS_BOUNDARY = doc(allow("s3:*"))


def _role_reads_secret(principal: str):
    policy = doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "secretsmanager:GetSecretValue",
                  "Resource": "*"})
    return evaluate("secretsmanager:GetSecretValue", SECRET, identity_policies=[], boundary=NO_SECRETS_BOUNDARY,
                    resource_policy=policy, context={"aws:PrincipalArn": ROLE})


def test_a_resource_policy_naming_the_role_arn_is_limited_by_the_role_boundary():
    assert _role_reads_secret(ROLE).outcome == IMPLICIT_DENY


def test_a_resource_policy_naming_the_role_session_is_not_limited_by_the_boundary():
    decision = _role_reads_secret(SESSION)
    assert decision.outcome == ALLOWED
    assert decision.uncertain  # the session name is the caller's choice


def test_a_resource_policy_naming_the_account_delegates_to_identity_policies():
    policy = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                  "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    ctx = {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/ana"}
    assert evaluate("secretsmanager:GetSecretValue", SECRET, identity_policies=[], resource_policy=policy,
                    context=ctx).outcome == IMPLICIT_DENY
    reader = doc(allow("secretsmanager:GetSecretValue"))
    assert evaluate("secretsmanager:GetSecretValue", SECRET, identity_policies=[reader], resource_policy=policy,
                    context=ctx).outcome == ALLOWED


# ---------------------------------------------------------------- id_roles (trust policies) and iam-simulate's sts/assumeRole cases

TARGET_ROLE = "arn:aws:iam::111111111111:role/deploy"
ALICE = "arn:aws:iam::111111111111:user/alice"
BOB_ELSEWHERE = "arn:aws:iam::222222222222:user/bob"
ASSUME = doc(allow("sts:AssumeRole", TARGET_ROLE))


def trust(*principals: str) -> dict:
    return doc({"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"})


def assume(caller: str, trust_policy: dict, identity: list) -> str:
    return evaluate("sts:AssumeRole", TARGET_ROLE, identity_policies=identity, resource_policy=trust_policy,
                    resource_policy_required=True, context={"aws:PrincipalArn": caller}).outcome


def test_same_account_trust_naming_the_principal_is_enough():
    assert assume(ALICE, trust(ALICE), []) == ALLOWED


def test_same_account_trust_naming_the_account_needs_an_identity_policy():
    assert assume(ALICE, trust("arn:aws:iam::111111111111:root"), []) == IMPLICIT_DENY
    assert assume(ALICE, trust("111111111111"), [ASSUME]) == ALLOWED


def test_a_trust_policy_must_allow_even_when_the_identity_policy_does():
    assert assume(ALICE, trust("arn:aws:iam::333333333333:root"), [ASSUME]) == IMPLICIT_DENY


def test_cross_account_assume_role_needs_both_sides():
    assert assume(BOB_ELSEWHERE, trust(BOB_ELSEWHERE), []) == IMPLICIT_DENY
    assert assume(BOB_ELSEWHERE, trust("arn:aws:iam::222222222222:root"), [ASSUME]) == ALLOWED
    assert assume(BOB_ELSEWHERE, trust(ALICE), [ASSUME]) == IMPLICIT_DENY


def test_trust_conditions_on_mfa_are_uncertain_and_do_not_hide_the_path():
    mfa_trust = doc({"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole",
                     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    decision = evaluate("sts:AssumeRole", TARGET_ROLE, identity_policies=[], resource_policy=mfa_trust,
                        resource_policy_required=True, context={"aws:PrincipalArn": ALICE})
    assert decision.outcome == ALLOWED
    assert decision.uncertain and "aws:MultiFactorAuthPresent" in decision.uncertain[0]
    known = evaluate("sts:AssumeRole", TARGET_ROLE, identity_policies=[], resource_policy=mfa_trust,
                     resource_policy_required=True,
                     context={"aws:PrincipalArn": ALICE, "aws:MultiFactorAuthPresent": False})
    assert known.outcome == IMPLICIT_DENY


# ---------------------------------------------------------------- reference_policies_elements_notaction.md

def test_notaction_allow_is_scoped_by_the_resource():
    policy = doc({"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"})
    assert evaluate("s3:PutObject", "arn:aws:s3:::b/k", identity_policies=[policy]).outcome == ALLOWED
    assert evaluate("s3:DeleteBucket", "arn:aws:s3:::b", identity_policies=[policy]).outcome == IMPLICIT_DENY
    # "This does not allow users to use the ListAllMyBuckets API operation" nor other services.
    assert evaluate("s3:ListAllMyBuckets", "*", identity_policies=[policy]).outcome == IMPLICIT_DENY
    assert evaluate("ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/*",
                    identity_policies=[policy]).outcome == IMPLICIT_DENY


def test_notaction_iam_allows_everything_except_iam():
    admin_minus_iam = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate("ecs:UpdateService", "*", identity_policies=[admin_minus_iam]).outcome == ALLOWED
    assert evaluate("IAM:CreateUser", "*", identity_policies=[admin_minus_iam]).outcome == IMPLICIT_DENY


DENY_WITHOUT_MFA = doc(
    {"Sid": "DenyAllUsersNotUsingMFA", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
)
EVERYTHING = doc(allow("*"))


@pytest.mark.parametrize("mfa, outcome", [(True, ALLOWED), (False, EXPLICIT_DENY), (None, ALLOWED)])
def test_notaction_deny_without_mfa(mfa, outcome):
    # MFA None: the key is absent (long-term keys), so BoolIfExists holds and the Deny applies ... except
    # that absent is not unknown: see the next test for the unknown case.
    context = {"aws:MultiFactorAuthPresent": mfa} if mfa is not None else {}
    decision = evaluate("s3:GetObject", "arn:aws:s3:::b/k", identity_policies=[EVERYTHING, DENY_WITHOUT_MFA],
                        context=context)
    assert decision.outcome == outcome
    if mfa is None:
        assert any("aws:MultiFactorAuthPresent" in u for u in decision.uncertain)
    assert evaluate("iam:ChangePassword", "*", identity_policies=[EVERYTHING, DENY_WITHOUT_MFA],
                    context=context).outcome == ALLOWED


def test_an_absent_mfa_key_satisfies_bool_if_exists():
    ctx = RequestContext({}, absent=["aws:MultiFactorAuthPresent"])
    decision = evaluate("s3:GetObject", "arn:aws:s3:::b/k", identity_policies=[EVERYTHING, DENY_WITHOUT_MFA],
                        context=ctx)
    assert decision.outcome == EXPLICIT_DENY


# ---------------------------------------------------------------- orgs_manage_policies_scps_evaluation.md

FULL_AWS_ACCESS = doc(allow("*"))


def test_every_scp_level_must_allow():
    ou_allows_ec2_s3 = doc(allow(["ec2:*", "s3:*"]))
    levels = [[FULL_AWS_ACCESS], [ou_allows_ec2_s3], [FULL_AWS_ACCESS]]
    assert evaluate("s3:PutObject", "arn:aws:s3:::b/k", identity_policies=[EVERYTHING], scps=levels).outcome == ALLOWED
    decision = evaluate("ecs:UpdateService", "*", identity_policies=[EVERYTHING], scps=levels)
    assert decision.outcome == IMPLICIT_DENY
    assert "level 2" in decision.reason


def test_a_level_without_any_scp_denies():
    decision = evaluate("s3:PutObject", "*", identity_policies=[EVERYTHING], scps=[[FULL_AWS_ACCESS], []])
    assert decision.outcome == IMPLICIT_DENY


def test_an_scp_deny_wins_over_identity_allows_and_scps_grant_nothing():
    deny_ecs = doc(deny("ecs:*"))
    levels = [[FULL_AWS_ACCESS], [FULL_AWS_ACCESS, deny_ecs]]
    decision = evaluate("ecs:UpdateService", "*", identity_policies=[EVERYTHING], scps=levels)
    assert decision.outcome == EXPLICIT_DENY and decision.statement.layer == "scp" and decision.statement.level == 1
    assert evaluate("s3:PutObject", "*", identity_policies=[], scps=[[FULL_AWS_ACCESS]]).outcome == IMPLICIT_DENY


# ---------------------------------------------------------------- reference_policies_elements_condition_operators.md

@pytest.mark.parametrize("condition, context, expected", [
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, ALLOWED),
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, IMPLICIT_DENY),
    ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, ALLOWED),
    ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}},
     {"s3:prefix": "home/ana/photos", "aws:username": "ana"}, ALLOWED),
    ({"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
     {"s3:prefix": "home/bob/photos", "aws:username": "ana"}, IMPLICIT_DENY),
    ({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
     {"aws:PrincipalArn": "arn:aws:iam::1:role/dev"}, ALLOWED),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, ALLOWED),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, IMPLICIT_DENY),
    ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
     {"aws:TokenIssueTime": "2021-06-01T00:00:00Z"}, ALLOWED),
    ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
     {"aws:CurrentTime": "2021-06-01T00:00:00Z"}, IMPLICIT_DENY),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, ALLOWED),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, IMPLICIT_DENY),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, ALLOWED),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}, IMPLICIT_DENY),
    ({"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]}},
     {"aws:SourceIp": "2001:db8:1234:5678::9"}, IMPLICIT_DENY),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}},
     {"aws:SourceArn": "arn:aws:cloudtrail:us-east-2:111122223333:trail/main"}, ALLOWED),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:REGION:123456789012:TOPIC-ID"}},
     {"aws:SourceArn": "arn:aws:sns:REGION:123456789012:OTHER"}, IMPLICIT_DENY),
    ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": None}, ALLOWED),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": None}, IMPLICIT_DENY),
    ({"StringEqualsIfExists": {"ec2:InstanceType": ["t1.*", "t2.micro"]}}, {"ec2:InstanceType": None}, ALLOWED),
    ({"StringEquals": {"ec2:InstanceType": "t2.micro"}}, {"ec2:InstanceType": None}, IMPLICIT_DENY),
    # "If the key is not present ... negated operators such as StringNotLike ... the condition is true."
    ({"StringNotLike": {"ec2:InstanceType": "p*"}}, {"ec2:InstanceType": None}, ALLOWED),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
     {"aws:TagKeys": ["environment", "owner"]}, ALLOWED),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
     {"aws:TagKeys": ["environment", "owner"]}, IMPLICIT_DENY),
    # The documented ForAllValues pitfall: a missing key (no tags at all) satisfies it.
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
     {"aws:TagKeys": None}, ALLOWED),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}, {"aws:TagKeys": None}, IMPLICIT_DENY),
    ({"ForAllValues:StringLike": {"aws:TagKeys": ["env*"]}}, {"aws:TagKeys": ["environment", "envoy"]}, ALLOWED),
])
def test_condition_operators(condition, context, expected):
    policy = doc(allow("s3:ListBucket", Condition=condition))
    decision = evaluate("s3:ListBucket", "arn:aws:s3:::b", identity_policies=[policy], context=context)
    assert decision.outcome == expected
    assert decision.uncertain == ()


@pytest.mark.parametrize("operator", ["StringEquals", "Bool", "IpAddress", "NumericLessThan", "DateLessThan",
                                      "ArnLike", "Null", "ForAnyValue:StringLike", "StringEqualsIfExists"])
def test_a_condition_on_an_unknown_key_is_uncertain_and_satisfiable(operator):
    policy = doc(allow("ecs:UpdateService", Condition={operator: {"aws:RequestTag/team": "x"}}))
    decision = evaluate("ecs:UpdateService", "*", identity_policies=[policy])
    assert decision.outcome == ALLOWED
    assert decision.uncertain == (f"aws:RequestTag/team {operator} x (unknown at snapshot time) — "
                                  f"policy identity policy 1 statement 1",)


def test_a_deny_with_an_unknown_condition_does_not_hide_access():
    guarded = doc(deny("ecs:*", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    decision = evaluate("ecs:UpdateService", "*", identity_policies=[EVERYTHING, guarded])
    assert decision.outcome == ALLOWED
    assert any("aws:SourceIp" in u for u in decision.uncertain)
    outside = evaluate("ecs:UpdateService", "*", identity_policies=[EVERYTHING, guarded],
                       context={"aws:SourceIp": "8.8.8.8"})
    assert outside.outcome == EXPLICIT_DENY


def test_condition_keys_are_case_insensitive():
    policy = doc(allow("s3:GetObject", Condition={"StringEquals": {"AWS:PrincipalTag/Team": "web"}}))
    assert evaluate("s3:GetObject", "*", identity_policies=[policy],
                    context={"aws:principaltag/team": "web"}).outcome == ALLOWED


# ---------------------------------------------------------------- reference_policies_elements_action.md / _resource.md

@pytest.mark.parametrize("pattern, action, expected", [
    ("iam:*AccessKey*", "iam:CreateAccessKey", True),
    ("iam:*AccessKey*", "iam:ListAccessKeys", True),
    ("iam:*AccessKey*", "iam:CreateUser", False),
    ("ECS:updateservice", "ecs:UpdateService", True),
    ("s3:Get*", "S3:GETOBJECT", True),
    ("ec2:*Instance?", "ec2:RunInstances", True),
    ("ec2:*Instance?", "ec2:RunInstance", False),
    ("*", "anything:AtAll", True),
    ("ecs:*", "ecsx:UpdateService", False),
])
def test_action_wildcards_are_case_insensitive(pattern, action, expected):
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize("pattern, arn, expected", [
    ("arn:aws:iam::*:user/*", "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob", True),
    ("arn:aws:iam::123456789012:user/*", "arn:aws:iam::999999999999:user/Bob", False),
    ("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket/a/b.txt", True),
    ("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket", False),
    ("arn:aws:ecs:*:111:service/*", "arn:aws:ecs:us-east-1:111:service/prod/api", True),
    ("arn:aws:ecs:us-east-?:111:*", "arn:aws:ecs:us-east-2:111:service/x", True),
    ("arn:aws:ecs:us-east-?:111:*", "arn:aws:ecs:us-west-2:111:service/x", False),
    # a star stays inside its component: it does not swallow the account
    ("arn:aws:ecs:us-*:111:service/x", "arn:aws:ecs:us-east-1:extra:111:service/x", False),
    ("arn:aws:lambda:*:111:function:*", "arn:aws:lambda:eu-west-1:111:function:api:prod", True),
    ("arn:aws:iam::111:role/App", "arn:aws:iam::111:role/app", False),
])
def test_arn_wildcards(pattern, arn, expected):
    assert arn_matches(pattern, arn) is expected


def test_documents_may_be_json_strings_and_single_statements():
    text = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecs:UpdateService",
                                                              "Resource": "*"}})
    assert evaluate("ecs:UpdateService", "*", identity_policies=[text]).outcome == ALLOWED


def test_policy_variables_need_the_2012_version():
    old = {"Version": "2008-10-17", "Statement": [allow("s3:*", "arn:aws:s3:::home/${aws:username}/*")]}
    ctx = {"aws:username": "ana"}
    assert evaluate("s3:GetObject", "arn:aws:s3:::home/ana/x", identity_policies=[old], context=ctx).outcome == IMPLICIT_DENY
    new = {**old, "Version": "2012-10-17"}
    assert evaluate("s3:GetObject", "arn:aws:s3:::home/ana/x", identity_policies=[new], context=ctx).outcome == ALLOWED


def test_escaped_wildcards_in_variables_are_literal():
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::b/${*}"))
    assert evaluate("s3:GetObject", "arn:aws:s3:::b/*", identity_policies=[policy]).outcome == ALLOWED
    assert evaluate("s3:GetObject", "arn:aws:s3:::b/x", identity_policies=[policy]).outcome == IMPLICIT_DENY


@pytest.mark.parametrize("bad", ["{not json", "[]", json.dumps({"Version": "2012-10-17"}),
                                 json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*"}]})])
def test_malformed_documents_raise_one_clear_error(bad):
    with pytest.raises(PolicyError):
        evaluate("s3:GetObject", "*", identity_policies=[bad])


def test_the_decision_names_the_policy_that_decided():
    named = Policy.of(doc({"Sid": "Deploy", **allow("ecs:UpdateService")}), name="DeployECS")
    decision = evaluate("ecs:UpdateService", "*", identity_policies=[doc(allow("s3:*")), named])
    assert decision.statement.policy is named
    assert decision.statement.describe() == "policy DeployECS statement 1 (Sid Deploy)"
    assert [s.policy for s in decision.allows] == [named]


def test_arn_witness_finds_a_resource_inside_every_pattern():
    found = arn_witness("arn:aws:ecs:*:111:service/*", "arn:aws:ecs:eu-west-1:*:service/prod/*")
    assert found is not None
    assert arn_matches("arn:aws:ecs:*:111:service/*", found)
    assert arn_matches("arn:aws:ecs:eu-west-1:*:service/prod/*", found)
    assert arn_witness("arn:aws:ecs:*:111:service/*", "arn:aws:ecs:*:222:service/*") is None
    assert arn_witness("arn:aws:ecs:*:111:service/*", "*") is not None


def test_evaluate_is_importable_as_documented_and_states_its_limits():
    import foureyes.connectors.aws.policy as module
    from foureyes.connectors.aws.policy import evaluate as documented

    assert documented is evaluate
    assert "from foureyes.connectors.aws.policy import evaluate" in module.__doc__
    assert "Limits:" in evaluate.__doc__ and "uncertain" in evaluate.__doc__
