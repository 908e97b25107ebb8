"""Acme's AWS accounts, IAM, OIDC roles and Identity Center, as the AWS connector would read them."""

from __future__ import annotations

from typing import Any

from ...config import Config
from ...model import (
    ACCESS_ADMIN,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
)
from ..base import SourceBuilder
from .activity import PERIOD, aws_activity
from .acme import ACCOUNT_NAMES, DEV, PROD, STAGING, finish


def _arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def aws_source(stage: str, config: Config) -> SourceResult:
    after = stage == "after"
    b = SourceBuilder()
    accounts = {}
    for account, name in ACCOUNT_NAMES.items():
        accounts[account] = b.resource(Resource(
            "aws", "account", account, name=f"{name} ({account})",
            tier=config.tier_for(system="aws", kind="account", id=account),
            app=config.app_for(system="aws", kind="account", id=account),
            attrs={"name": name, "ou_path": "/r-acme/ou-workloads"},
        ))

    def user(account: str, name: str, email: str | None = None, display: str = "", **attrs: Any) -> str:
        p = Principal("aws", _arn(account, "user", name), Kind.USER,
                      display_name=display or f"IAM user {name} in {ACCOUNT_NAMES[account]}",
                      email=email, home=accounts[account],
                      attrs={**({"email_source": "tag"} if email else {}), **attrs})
        return b.principal(p)

    def group(account: str, name: str) -> str:
        return b.principal(Principal("aws", _arn(account, "group", name), Kind.GROUP,
                                     display_name=f"IAM group {name} in {ACCOUNT_NAMES[account]}", home=accounts[account]))

    def role(account: str, name: str, **attrs: Any) -> str:
        return b.principal(Principal("aws", _arn(account, "role", name), Kind.ROLE,
                                     display_name=f"role {name} in {ACCOUNT_NAMES[account]}", home=accounts[account],
                                     attrs=attrs))

    def policy(holder: str, account: str, name: str, caps: tuple[str, ...], actions: list[str], detail: str,
               last_used: str | None = None) -> None:
        b.grant(Grant("aws", holder, f"policy {name}", accounts[account], caps, via=Via.POLICY, detail=detail,
                      last_used=last_used, attrs={"actions": actions}))

    deploy_actions = ["ecs:UpdateService", "ecs:RegisterTaskDefinition", "iam:PassRole"]
    # -- acme-prod: a deployers group with a long-lived CI user nobody owns
    deployers = group(PROD, "deployers")
    policy(deployers, PROD, "DeployECS", (DEPLOY_RUN,), deploy_actions,
           "inline policy DeployECS of group deployers allows ecs:UpdateService")
    ci_legacy = user(PROD, "ci-legacy", access_keys=[{"id": "AKIA…LEGACY", "last_used": "2026-09-30"}])
    b.edge(Edge(ci_legacy, deployers, EdgeKind.MEMBER_OF, "member of IAM group deployers"))
    if not after:
        leo = user(PROD, "leo", "leo.lindqvist@acme.com")
        policy(leo, PROD, "ReadOnlyAccess", (), ["*:Describe*"], "AWS managed policy ReadOnlyAccess attached to user leo")

    # -- OIDC roles for GitHub Actions
    gha_payments = role(PROD, "gha-deploy-payments", oidc_subjects=["repo:acme/payments-api:environment:production"],
                        oidc_wildcard=False)
    policy(gha_payments, PROD, "DeployECS", (DEPLOY_RUN,), deploy_actions,
           "policy DeployECS attached to role gha-deploy-payments allows ecs:UpdateService")
    pattern = "repo:acme/payments-api:environment:production"
    pat_key = b.principal(Principal("ci", pattern, Kind.WORKLOAD_PATTERN,
                                    display_name=f"OIDC subject {pattern}",
                                    attrs={"oidc_subjects": [pattern], "oidc_wildcard": False}))
    b.edge(Edge(pat_key, gha_payments, EdgeKind.CAN_ASSUME,
                "trust policy: token.actions.githubusercontent.com:sub StringEquals " + pattern))

    legacy = role(PROD, "gha-legacy-deploy", oidc_subjects=["repo:acme/deploy-tools:*"], oidc_wildcard=True)
    policy(legacy, PROD, "AWSCodeDeployDeployerAccess", (DEPLOY_RUN,), ["codedeploy:CreateDeployment"],
           "AWS managed policy AWSCodeDeployDeployerAccess attached to role gha-legacy-deploy")
    wildcard = "repo:acme/deploy-tools:*"
    wild_key = b.principal(Principal("ci", wildcard, Kind.WORKLOAD_PATTERN,
                                     display_name=f"OIDC subject {wildcard}",
                                     attrs={"oidc_subjects": [wildcard], "oidc_wildcard": True}))
    b.edge(Edge(wild_key, legacy, EdgeKind.CAN_ASSUME,
                "trust policy: token.actions.githubusercontent.com:sub StringLike " + wildcard
                + " (any branch, pull request or environment)"))

    # -- IAM Identity Center: permission sets provisioned as AWSReservedSSO_* roles
    store = "d-9067c1a2b3"

    instance = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"

    def sso_user(name: str, email: str, display: str) -> str:
        return b.principal(Principal("aws", f"sso:{store}:user/{name}", Kind.USER, display_name=f"{display} (SSO)",
                                     email=email, attrs={"email_source": "sso", "user_name": email,
                                                         "user_id": f"9067c1a2b3-{name.replace('.', '-')}"}))

    def sso_group(name: str) -> str:
        return b.principal(Principal("aws", f"sso:{store}:group/{name}", Kind.GROUP,
                                     display_name=f"SSO group {name}", attrs={"group_id": f"9067c1a2b3-g-{name}"}))

    sso_people = {
        "olivia.okafor": ("olivia.okafor@acme.com", "Olivia Okafor"),
        "max.mueller": ("max.mueller@acme.com", "Max Mueller"),
        "sam.sato": ("sam.sato@acme.com", "Sam Sato"),
        "ravi.rao": ("ravi.rao@acme.com", "Ravi Rao"),
        "pedro.pinto": ("pedro.pinto@acme.com", "Pedro Pinto"),
        "wanda.webb": ("wanda.webb@acme.com", "Wanda Webb"),
        "alex.adeyemi": ("alex.adeyemi@acme.com", "Alex Adeyemi"),
    }
    sso = {n: sso_user(n, e, d) for n, (e, d) in sso_people.items()}
    groups = {g: sso_group(g) for g in ("aws-admins", "payments-oncall", "engineering")}
    for person, grp in [("olivia.okafor", "aws-admins"), ("max.mueller", "payments-oncall"),
                        ("pedro.pinto", "engineering"), ("ravi.rao", "engineering"),
                        ("wanda.webb", "engineering"), ("sam.sato", "engineering"),
                        ("max.mueller", "engineering")]:
        b.edge(Edge(sso[person], groups[grp], EdgeKind.MEMBER_OF, f"member of SSO group {grp}",
                    attrs={"identity_store_id": store, "group_id": f"9067c1a2b3-g-{grp}",
                           "user_id": f"9067c1a2b3-{person.replace('.', '-')}"}))

    def permission_set(account: str, name: str, caps: tuple[str, ...], actions: list[str], detail: str) -> str:
        r = role(account, f"aws-reserved/sso.amazonaws.com/AWSReservedSSO_{name}_a1b2c3d4", permission_set=name)
        policy(r, account, name, caps, actions, detail)
        return r

    admin_ps = permission_set(PROD, "AdministratorAccess", (DEPLOY_RUN, ACCESS_ADMIN), ["*"],
                              "permission set AdministratorAccess (AWS managed policy AdministratorAccess)")
    deployer_ps = permission_set(PROD, "ProdDeployer", (DEPLOY_RUN,), deploy_actions,
                                 "permission set ProdDeployer (inline policy: ECS deploy)")
    readonly_ps = permission_set(PROD, "ReadOnly", (), ["*:Describe*", "*:List*"],
                                 "permission set ReadOnly (AWS managed policy ReadOnlyAccess)")
    staging_ps = permission_set(STAGING, "StagingDeployer", (DEPLOY_RUN,), deploy_actions,
                                "permission set StagingDeployer")
    for grp, ps, account in [("aws-admins", admin_ps, PROD), ("payments-oncall", deployer_ps, PROD),
                             ("engineering", readonly_ps, PROD), ("engineering", staging_ps, STAGING)]:
        ps_name = ps.split("AWSReservedSSO_")[1].rsplit("_", 1)[0]
        b.edge(Edge(groups[grp], ps, EdgeKind.CAN_ASSUME,
                    f"SSO account assignment in {ACCOUNT_NAMES[account]}",
                    attrs={"sso_assignment": True, "instance_arn": instance,
                           "permission_set_arn": f"{instance.replace(':instance/', ':permissionSet/')}/ps-{ps_name.lower()}",
                           "account_id": account, "principal_type": "GROUP",
                           "principal_id": f"9067c1a2b3-g-{grp}"}))

    # -- a break-glass role chain with a cycle, reached from a staging IAM user
    alex = user(STAGING, "alex", "Alex.Adeyemi@acme.com")
    breakglass = role(PROD, "ops-breakglass")
    ops_admin = role(PROD, "ops-admin")
    b.edge(Edge(alex, breakglass, EdgeKind.CAN_ASSUME, "trust policy names arn:aws:iam::222222222222:user/alex (MFA required)",
                condition="aws:MultiFactorAuthPresent = true (unknown at snapshot time)"))
    b.edge(Edge(breakglass, ops_admin, EdgeKind.CAN_ASSUME, "trust policy names role ops-breakglass"))
    b.edge(Edge(ops_admin, breakglass, EdgeKind.CAN_ASSUME, "trust policy names role ops-admin"))
    policy(ops_admin, PROD, "AdministratorAccess", (DEPLOY_RUN, ACCESS_ADMIN), ["*"],
           "AWS managed policy AdministratorAccess attached to role ops-admin")

    # -- John Smith's IAM user carries an email tag; his GitHub account has no SAML identity
    john = user(DEV, "jsmith", "john.smith@acme.com", display="John Smith")
    policy(john, DEV, "PowerUserAccess", (DEPLOY_RUN,), ["*"], "AWS managed policy PowerUserAccess")
    if after:
        policy(staging_ps, STAGING, "AmazonECS_FullAccess", (DEPLOY_RUN,), ["ecs:*"],
               "AWS managed policy AmazonECS_FullAccess added to permission set StagingDeployer")
    if stage == "after":  # the quarter of history before the "after" snapshot
        aws_activity(b)
        return finish(b, "aws", stage, PERIOD)
    return finish(b, "aws", stage)
