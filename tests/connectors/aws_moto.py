"""The Acme AWS organisation that the AWS connector tests read, built on moto's server on loopback
(one per worker: tests/fakes/aws_server.py, the `moto` fixture).

Everything is created through boto3 over HTTP, the way an administrator would; the
connector then reads it as an auditor holding exactly the policies of docs/sources/aws.md,
with moto's IAM enforcement switched on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[2]
MANAGED = json.loads((ROOT / "tests/fixtures/aws_managed_policies/policies.json").read_text())
MANAGEMENT = "123456789012"  # moto's default account: the organization's management account
REGION = "us-east-1"
AUDIT_ROLE = "foureyes-audit"
GITHUB = "token.actions.githubusercontent.com"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def docs_policies() -> list[dict]:
    """The JSON policies of docs/sources/aws.md, in order (caller policy, member policy, trust)."""
    text = (ROOT / "docs/sources/aws.md").read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def enforce_iam(url: str, on: bool) -> None:
    """moto checks every request against the caller's IAM policies while this is on."""
    requests.post(f"{url}/moto-api/reset-auth", data=b"0" if on else b"inf", timeout=10)


def client(url: str, service: str, creds: dict | None = None) -> Any:
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=url, region_name=REGION, **creds)


@dataclass
class AwsWorld:
    url: str
    prod: str = ""
    payments: str = ""
    staging: str = ""
    legacy: str = ""
    store_id: str = ""
    auditor: dict[str, str] = field(default_factory=dict)  # access key id and secret of the auditor

    def arn(self, account: str, kind: str, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{account}:{kind}{path}{name}"


def _assumed(url: str, account: str) -> dict[str, str]:
    creds = client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="setup")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def _user(iam: Any, name: str, email_tag: tuple[str, str] | None = None, groups: tuple[str, ...] = (),
          inline: dict[str, str] | None = None, keys: bool = False) -> None:
    tags = [{"Key": email_tag[0], "Value": email_tag[1]}] if email_tag else []
    iam.create_user(UserName=name, Tags=tags)
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    for policy_name, document in (inline or {}).items():
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=document)
    if keys:
        iam.create_access_key(UserName=name)


def _role(iam: Any, name: str, trust: str, *, path: str = "/", inline: dict[str, str] | None = None,
          attach: tuple[str, ...] = (), boundary: str | None = None) -> None:
    kwargs: dict[str, Any] = {"RoleName": name, "Path": path, "AssumeRolePolicyDocument": trust}
    if boundary:
        kwargs["PermissionsBoundary"] = boundary
    iam.create_role(**kwargs)
    for policy_name, document in (inline or {}).items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
    for arn in attach:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def _trust_aws(*principals: str, condition: dict | None = None) -> str:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return doc(stmt)


def _trust_github(account: str, operator: str, subject: str) -> str:
    return doc({
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}, operator: {f"{GITHUB}:sub": subject}},
    })


def _trust_sso(account: str) -> str:
    return doc({
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account}:saml-provider/AWSSSO_0123abcd_DO_NOT_DELETE"},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
    })


ECS_DEPLOY = doc(allow(["ecs:UpdateService", "ecs:DescribeServices"]))
LAMBDA_DEPLOY = doc(allow(["lambda:UpdateFunctionCode", "lambda:GetFunction"], "arn:aws:lambda:*:*:function:api-*"))
CODEDEPLOY = doc(allow("codedeploy:CreateDeployment"))
POWER_USER = doc(  # the shape of AWS's PowerUserAccess: everything but IAM, Organizations and Account
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
    allow(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
           "organizations:DescribeOrganization", "account:ListRegions"]),
)
READ_ONLY_ECS = doc(allow(["ecs:Describe*", "ecs:List*"]))


def build_world(url: str) -> AwsWorld:
    """The Acme organisation: four member accounts, SCPs, IAM, OIDC roles and Identity Center."""
    world = AwsWorld(url)
    org = client(url, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod_ou = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    staging_ou = org.create_organizational_unit(ParentId=workloads, Name="Staging")["OrganizationalUnit"]["Id"]

    def account(name: str, ou: str, tags: list[dict] | None = None) -> str:
        made = org.create_account(Email=f"{name}@acme.com", AccountName=name, Tags=tags or [])
        account_id = made["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou)
        return account_id

    world.prod = account("acme-prod", prod_ou, [{"Key": "env", "Value": "prod"}])
    world.payments = account("acme-payments", prod_ou)
    world.staging = account("acme-staging", staging_ou)
    world.legacy = account("acme-legacy", prod_ou)

    def scp(name: str, content: str, target: str) -> None:
        policy = org.create_policy(Name=name, Description=name, Type="SERVICE_CONTROL_POLICY", Content=content)
        org.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=target)

    # Nobody in a member account may give an IAM user more rights (the management account is exempt).
    scp("protect-iam-users", doc({"Effect": "Deny", "Action": ["iam:PutUserPolicy", "iam:AttachUserPolicy"],
                                  "Resource": "*"}), root)
    # Payments ships through CodeDeploy only: ECS and Lambda changes are denied in that account.
    scp("payments-codedeploy-only", doc({"Effect": "Deny", "Action": ["ecs:*", "lambda:*"], "Resource": "*"}),
        world.payments)

    caller_policy, member_policy, audit_trust = docs_policies()
    audit_trust = json.dumps(audit_trust).replace("123456789012", MANAGEMENT)

    # -- the management account: the auditor, and an IAM admin whom SCPs cannot restrict
    iam = client(url, "iam")
    iam.create_user(UserName="foureyes-auditor")
    iam.put_user_policy(UserName="foureyes-auditor", PolicyName="foureyes-read-only",
                        PolicyDocument=json.dumps(caller_policy))
    key = iam.create_access_key(UserName="foureyes-auditor")["AccessKey"]
    world.auditor = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    _user(iam, "mgmt-admin", ("email", "mallory@acme.com"),
          inline={"self-service": doc(allow("iam:PutUserPolicy", f"arn:aws:iam::{MANAGEMENT}:user/mgmt-admin"))})

    # -- acme-prod
    iam = client(url, "iam", _assumed(url, world.prod))
    P = world.prod
    _role(iam, AUDIT_ROLE, audit_trust, inline={"read": json.dumps(member_policy)})
    deploy_ecs = iam.create_policy(PolicyName="DeployECS", PolicyDocument=ECS_DEPLOY)["Policy"]["Arn"]
    ecs_full = iam.create_policy(PolicyName="AmazonECS_FullAccess",
                                 PolicyDocument=json.dumps(MANAGED["AmazonECS_FullAccess"]["document"]))["Policy"]["Arn"]
    read_only_ecs = iam.create_policy(PolicyName="ReadOnlyECSBoundary", PolicyDocument=READ_ONLY_ECS)["Policy"]["Arn"]
    iam.create_group(GroupName="deployers")
    iam.attach_group_policy(GroupName="deployers", PolicyArn=deploy_ecs)
    _user(iam, "alice", ("email", "alice@acme.com"), groups=("deployers",))
    _user(iam, "ci-legacy", None, groups=("deployers",), keys=True)
    _user(iam, "bob", ("EMAIL", "bob@acme.com"))
    _user(iam, "carol", ("eMail", "Carol@Acme.com"),
          inline={"assume-release": doc(allow("sts:AssumeRole", f"arn:aws:iam::{P}:role/release"))})
    _user(iam, "dan", ("email", "dan@acme.com"))
    _user(iam, "gina", ("email", "gina@acme.com"))
    _user(iam, "henry", ("email", "henry@acme.com"), inline={"power-user": POWER_USER})
    _user(iam, "ivan", ("email", "ivan@acme.com"),
          inline={"self-service": doc(allow("iam:PutUserPolicy", f"arn:aws:iam::{P}:user/ivan"))})
    _user(iam, "olivia", ("email", "olivia@acme.com"), inline={"admin": doc(allow("*"))})
    _role(iam, "ops-deploy", _trust_aws(f"arn:aws:iam::{P}:user/bob"), inline={"lambda": LAMBDA_DEPLOY})
    _role(iam, "release", _trust_aws(f"arn:aws:iam::{P}:root"), inline={"codedeploy": CODEDEPLOY})
    _role(iam, "capped-deployer", _trust_aws(f"arn:aws:iam::{P}:user/gina"), attach=(ecs_full,),
          boundary=read_only_ecs)
    _role(iam, "cross-deploy", _trust_aws(f"arn:aws:iam::{world.staging}:root"), inline={"ecs": ECS_DEPLOY})
    iam.create_open_id_connect_provider(Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    _role(iam, "gha-api-prod", _trust_github(P, "StringEquals", "repo:acme/api:environment:production"),
          inline={"ecs": ECS_DEPLOY})
    _role(iam, "gha-acme-any", _trust_github(P, "StringLike", "repo:acme/*"), inline={"lambda": LAMBDA_DEPLOY})
    _role(iam, "AWSReservedSSO_ProdDeployer_0123456789abcdef", _trust_sso(P), path="/aws-reserved/sso.amazonaws.com/",
          inline={"AwsSSOInlinePolicy": ECS_DEPLOY})
    _role(iam, "AWSReservedSSO_ReadOnly_fedcba9876543210", _trust_sso(P), path="/aws-reserved/sso.amazonaws.com/",
          inline={"AwsSSOInlinePolicy": READ_ONLY_ECS})

    # -- acme-payments: ECS and Lambda denied by SCP; a service-linked role the SCP cannot touch
    iam = client(url, "iam", _assumed(url, world.payments))
    _role(iam, AUDIT_ROLE, audit_trust, inline={"read": json.dumps(member_policy)})
    _user(iam, "erin", ("email", "erin@acme.com"), inline={"ecs": ECS_DEPLOY})
    _user(iam, "frank", ("email", "frank@acme.com"), inline={"codedeploy": CODEDEPLOY})
    iam.create_policy(PolicyName="PaymentsRelease", PolicyDocument=CODEDEPLOY)  # for permission set BreakGlass
    _role(iam, "AWSServiceRoleForECS", doc({"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"},
                                            "Action": "sts:AssumeRole"}),
          path="/aws-service-role/ecs.amazonaws.com/", inline={"ecs": doc(allow("ecs:*"))})

    # -- acme-staging
    iam = client(url, "iam", _assumed(url, world.staging))
    _role(iam, AUDIT_ROLE, audit_trust, inline={"read": json.dumps(member_policy)})
    _user(iam, "sam", ("email", "sam@acme.com"), inline={
        "ecs": ECS_DEPLOY,
        "assume-prod": doc(allow("sts:AssumeRole", f"arn:aws:iam::{P}:role/cross-deploy")),
    })

    # -- acme-legacy: the audit role exists but cannot read IAM
    iam = client(url, "iam", _assumed(url, world.legacy))
    _role(iam, AUDIT_ROLE, audit_trust, inline={"read": doc(allow("s3:ListAllMyBuckets"))})
    _user(iam, "zoe", ("email", "zoe@acme.com"), inline={"admin": doc(allow("*"))})

    # -- IAM Identity Center in the management account
    sso = client(url, "sso-admin")
    store = client(url, "identitystore")
    instance = sso.list_instances()["Instances"][0]
    world.store_id = instance["IdentityStoreId"]
    ia = instance["InstanceArn"]

    def sso_user(name: str, display: str) -> str:
        return store.create_user(IdentityStoreId=world.store_id, UserName=name, DisplayName=display,
                                 Name={"GivenName": display.split()[0], "FamilyName": display.split()[-1]},
                                 Emails=[{"Value": f"{name}@acme.com", "Type": "work", "Primary": True}])["UserId"]

    def sso_group(name: str, members: list[str]) -> str:
        group = store.create_group(IdentityStoreId=world.store_id, DisplayName=name)["GroupId"]
        for member in members:
            store.create_group_membership(IdentityStoreId=world.store_id, GroupId=group, MemberId={"UserId": member})
        return group

    def permission_set(name: str, inline: str) -> str:
        arn = sso.create_permission_set(InstanceArn=ia, Name=name)["PermissionSet"]["PermissionSetArn"]
        sso.put_inline_policy_to_permission_set(InstanceArn=ia, PermissionSetArn=arn, InlinePolicy=inline)
        return arn

    def assign(account: str, ps: str, kind: str, principal: str) -> None:
        sso.create_account_assignment(InstanceArn=ia, TargetId=account, TargetType="AWS_ACCOUNT",
                                      PermissionSetArn=ps, PrincipalType=kind, PrincipalId=principal)

    kate, leo, mia = sso_user("kate", "Kate Kim"), sso_user("leo", "Leo Lang"), sso_user("mia", "Mia Moss")
    deployers = sso_group("prod-deployers", [kate])
    everyone = sso_group("everyone", [kate, leo, mia])
    prod_deployer = permission_set("ProdDeployer", ECS_DEPLOY)
    read_only = permission_set("ReadOnly", READ_ONLY_ECS)
    break_glass = permission_set("BreakGlass", CODEDEPLOY)  # never provisioned into acme-payments' IAM
    sso.attach_customer_managed_policy_reference_to_permission_set(
        InstanceArn=ia, PermissionSetArn=break_glass, CustomerManagedPolicyReference={"Name": "PaymentsRelease"})
    assign(world.prod, prod_deployer, "GROUP", deployers)
    assign(world.prod, read_only, "GROUP", everyone)
    assign(world.payments, break_glass, "USER", mia)
    return world
