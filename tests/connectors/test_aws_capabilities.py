"""The deploy/admin catalogue and the per-principal decision, on real AWS managed policies.

The policy documents are AWS's own (tests/fixtures/aws_managed_policies, MIT, see NOTICE.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foureyes.connectors.aws.capabilities import (
    AccountAdmins,
    CapabilityDecider,
    Holder,
    load_catalogue,
    parse_catalogue,
)
from foureyes.connectors.aws.policy import Policy, RequestContext
from foureyes.errors import InputError
from foureyes.model import ACCESS_ADMIN, DEPLOY_RUN

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws_managed_policies" / "policies.json"
MANAGED = {name: item["document"] for name, item in json.loads(FIXTURES.read_text()).items()}
ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deployer"


def holder(*documents: dict, kind: str = "role", arn: str = ROLE, boundary: dict | None = None,
           scps=(), **extra) -> Holder:
    return Holder(arn=arn, kind=kind, account=ACCOUNT,
                  policies=tuple(Policy.of(d, name=f"p{i}") for i, d in enumerate(documents)),
                  boundary=Policy.of(boundary, name="boundary") if boundary else None,
                  scps=tuple(tuple(Policy.of(d) for d in level) for level in scps),
                  context=RequestContext({"aws:PrincipalArn": arn, "aws:PrincipalAccount": ACCOUNT}), **extra)


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.fixture(scope="module")
def decider() -> CapabilityDecider:
    return CapabilityDecider(deploy_buckets=["acme-deploy-*"])


def test_the_catalogue_covers_every_deploy_target_of_the_issue():
    catalogue = load_catalogue()
    targets = {w.target for w in catalogue.for_capability(DEPLOY_RUN)}
    assert targets == {"ECS", "Lambda", "EKS", "CodeDeploy", "CodePipeline", "CodeBuild", "CloudFormation", "ECR",
                       "S3", "SSM", "EC2", "Elastic Beanstalk", "App Runner"}
    admin = {w.id for w in catalogue.for_capability(ACCESS_ADMIN)}
    assert {"put-own-user-policy", "attach-own-role-policy", "create-policy-version", "update-assume-role-policy",
            "pass-admin-role-ec2", "pass-admin-role-lambda"} <= admin


@pytest.mark.parametrize("name, expected", [
    ("AWSCloudFormationFullAccess", {DEPLOY_RUN}),
    ("AWSCodeBuildAdminAccess", {DEPLOY_RUN}),
    ("AWSCodeDeployDeployerAccess", {DEPLOY_RUN}),
    ("AWSCodePipeline_FullAccess", {DEPLOY_RUN}),
    ("AWSLambda_FullAccess", {DEPLOY_RUN}),
    ("AmazonEC2ContainerRegistryPowerUser", {DEPLOY_RUN}),
    ("AmazonECS_FullAccess", {DEPLOY_RUN}),
    ("AmazonSSMFullAccess", {DEPLOY_RUN}),
    ("AmazonS3FullAccess", {DEPLOY_RUN}),  # only because acme-deploy-* buckets are configured
    ("IAMFullAccess", {ACCESS_ADMIN}),
    ("AmazonEC2FullAccess", set()),  # launches instances, but can pass no role to them
    ("IAMReadOnlyAccess", set()),
    ("ReadOnlyAccess", set()),
    ("ViewOnlyAccess", set()),
    ("SecurityAudit", set()),
])
def test_aws_managed_policies(decider, name, expected):
    assert set(decider.reach(holder(MANAGED[name]))) == expected


def test_lambda_full_access_passes_roles_only_to_lambda(decider):
    reach = decider.reach(holder(MANAGED["AWSLambda_FullAccess"]))[DEPLOY_RUN]
    assert "lambda-create-function" in reach.ways  # its PassRole is conditioned on lambda.amazonaws.com
    assert "ec2-run-instances-pass-role" not in reach.ways


def test_s3_write_counts_only_on_a_configured_deploy_bucket():
    s3 = doc(allow("s3:PutObject", "arn:aws:s3:::acme-deploy-web/*"))
    assert DEPLOY_RUN in CapabilityDecider(deploy_buckets=["acme-deploy-*"]).reach(holder(s3))
    assert CapabilityDecider(deploy_buckets=["other-*"]).reach(holder(s3)) == {}
    assert CapabilityDecider().reach(holder(s3)) == {}


def test_scoped_resources_still_count_inside_the_account(decider):
    scoped = doc(allow("ecs:UpdateService", "arn:aws:ecs:eu-west-1:111111111111:service/prod/api"))
    reach = decider.reach(holder(scoped))[DEPLOY_RUN]
    assert reach.resources == ("arn:aws:ecs:eu-west-1:111111111111:service/prod/api",)
    elsewhere = doc(allow("ecs:UpdateService", "arn:aws:ecs:eu-west-1:222222222222:service/prod/api"))
    assert decider.reach(holder(elsewhere)) == {}


def test_a_boundary_or_an_scp_removes_deploy(decider):
    ecs = MANAGED["AmazonECS_FullAccess"]
    assert decider.reach(holder(ecs, boundary=doc(allow("ecs:Describe*")))) == {}
    deny = doc({"Effect": "Deny", "Action": "ecs:*", "Resource": "*"})
    levels = [[doc(allow("*"))], [doc(allow("*")), deny]]
    assert decider.reach(holder(doc(allow("ecs:*")), scps=levels)) == {}
    # AmazonECS_FullAccess also grants CodeDeploy, CloudFormation and PassRole of ecsInstanceRole:
    # denying ecs:* leaves those ways to deploy open.
    ways = decider.reach(holder(ecs, scps=levels))[DEPLOY_RUN].ways
    assert not any(w.startswith("ecs-") for w in ways)
    assert "codedeploy-create-deployment" in ways


def test_an_unknown_condition_keeps_the_capability_and_says_so(decider):
    mfa = doc(allow("ecs:UpdateService", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    reach = decider.reach(holder(mfa))[DEPLOY_RUN]
    assert reach.uncertain and "aws:MultiFactorAuthPresent" in reach.uncertain[0]


def test_the_reach_names_the_policies_that_give_it(decider):
    run = Policy.of(doc(allow("ec2:RunInstances")), name="run")
    pass_role = Policy.of(doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app-*")), name="pass")
    reading = Policy.of(doc(allow("ec2:Describe*")), name="read")
    h = Holder(ROLE, "role", ACCOUNT, (run, pass_role, reading), context=RequestContext({"aws:PrincipalArn": ROLE}))
    reach = decider.reach(h)[DEPLOY_RUN]
    assert reach.ways == ("ec2-run-instances-pass-role",)
    assert {p.name for p in reach.policies} == {"run", "pass"}
    assert reach.actions_of(pass_role) == ("iam:PassRole",)


def test_admin_through_an_admin_role(decider):
    admin_role = f"arn:aws:iam::{ACCOUNT}:role/admin"
    pass_admin = doc(allow("iam:PassRole", admin_role), allow("ec2:RunInstances"))
    assert ACCESS_ADMIN not in decider.reach(holder(pass_admin))
    reach = decider.reach(holder(pass_admin), AccountAdmins(roles=(admin_role,)))
    assert reach[ACCESS_ADMIN].ways == ("pass-admin-role-ec2",)
    trust_admin = doc(allow("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/*"))
    assert decider.reach(holder(trust_admin), AccountAdmins(roles=(admin_role,)))[ACCESS_ADMIN].ways == (
        "update-assume-role-policy",)


def test_admin_by_writing_policies_onto_oneself(decider):
    user = f"arn:aws:iam::{ACCOUNT}:user/pat"
    own = doc(allow("iam:PutUserPolicy", user))
    assert decider.reach(holder(own, kind="user", arn=user))[ACCESS_ADMIN].ways == ("put-own-user-policy",)
    # the same permission on somebody else is not admin over oneself
    other = doc(allow("iam:PutUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/quinn"))
    assert decider.reach(holder(other, kind="user", arn=user)) == {}
    # attaching is admin only when the policy may be AdministratorAccess
    attach_readonly = doc(allow("iam:AttachUserPolicy", user, Condition={
        "ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}))
    assert decider.reach(holder(attach_readonly, kind="user", arn=user)) == {}


def test_admin_by_rewriting_an_attached_policy(decider):
    policy = f"arn:aws:iam::{ACCOUNT}:policy/team"
    rewrite = doc(allow("iam:CreatePolicyVersion", policy))
    assert decider.reach(holder(rewrite))  == {}
    reach = decider.reach(holder(rewrite, attached_policies=(policy,)))
    assert reach[ACCESS_ADMIN].ways == ("create-policy-version",)


@pytest.mark.parametrize("broken, message", [
    ({"format": "nope"}, "format"),
    ({"format": "foureyes-aws-catalogue/1", "deploy": [{"id": "x", "all_of": [{"action": "ecs:*", "resource": "*"}]}]},
     "one concrete action"),
    ({"format": "foureyes-aws-catalogue/1", "deploy": [{"id": "x", "al_of": []}]}, "did you mean 'all_of'"),
    ({"format": "foureyes-aws-catalogue/1",
      "admin": [{"id": "x", "all_of": [{"action": "iam:PassRole", "resource": "{nobody}"}]}]}, "unknown template"),
    ({"format": "foureyes-aws-catalogue/1", "deploy": [
        {"id": "x", "all_of": [{"action": "ecs:UpdateService", "resource": "*"}]},
        {"id": "x", "all_of": [{"action": "ecs:UpdateService", "resource": "*"}]}]}, "used twice"),
])
def test_a_broken_catalogue_is_one_clear_error(broken, message):
    with pytest.raises(InputError, match=message) as caught:
        parse_catalogue(broken, "aws_deploy.toml")
    assert str(caught.value).startswith("aws_deploy.toml: ")
