"""Escalation routes that end in a production deployment, end to end on moto.

An organisation with two member accounts. In acme-dev, user deploy-bot and role deploy-role
can assume role prod-deployer in acme-prod, which deploys; one person per route can make
themselves deploy-bot or deploy-role (an access key, a console password, a rewritten trust,
a service that runs code as the role). In acme-prod, one person per route can administer
themselves into a deployment. Each route has three twins whose first hop is blocked: by an
explicit deny in their own policy, by a permissions boundary, by an SCP. `foureyes snapshot`
reads it with the real AWS connector; `who-can deploy.run --tier production` must list the
escalating person, marked as an escalation with the route in the path, and none of the twins.

Routes follow the AWS documentation of each action (IAM API Reference: CreateAccessKey,
CreateLoginProfile, UpdateLoginProfile, UpdateAssumeRolePolicy, AddUserToGroup; "Granting a
user permissions to pass a role to an AWS service" for iam:PassRole and iam:PassedToService)
and the service edges of PMapper (reference §3.4).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from . import aws_moto
from .aws_moto import allow, doc
from foureyes.dataset import dump
from foureyes.model import CODE_PUSH, Grant, Kind, Principal, Resource, SourceResult

TARGET_USER, TARGET_ROLE, PROD_ROLE = "deploy-bot", "deploy-role", "prod-deployer"
SERVICES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com", "codebuild.amazonaws.com",
            "ecs-tasks.amazonaws.com", "sagemaker.amazonaws.com", "glue.amazonaws.com", "datapipeline.amazonaws.com"]


def deny(action: Any, resource: Any = "*") -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


# route id: (account, escalator kind, first hop, the rest of what it needs, what the path says)
def routes(dev: str, prod: str) -> dict[str, tuple[str, str, str, list[dict], str]]:
    bot, role = f"arn:aws:iam::{dev}:user/{TARGET_USER}", f"arn:aws:iam::{dev}:role/{TARGET_ROLE}"

    def passing(*actions: str) -> list[dict]:
        return [allow("iam:PassRole", role), allow(list(actions))]

    return {
        "create-access-key": ("dev", "user", "iam:CreateAccessKey", [allow("iam:CreateAccessKey", bot)],
                              f"can create an access key for user {TARGET_USER} (iam:CreateAccessKey)"),
        "create-login-profile": ("dev", "user", "iam:CreateLoginProfile", [allow("iam:CreateLoginProfile", bot)],
                                 f"can create a console password for user {TARGET_USER}"),
        "update-login-profile": ("dev", "role", "iam:UpdateLoginProfile", [allow("iam:UpdateLoginProfile", bot)],
                                 f"can reset the console password of user {TARGET_USER}"),
        "rewrite-trust-and-assume": ("dev", "user", "iam:UpdateAssumeRolePolicy",
                                     [allow("iam:UpdateAssumeRolePolicy", role)],
                                     f"can rewrite the trust policy of role {TARGET_ROLE} to trust itself, then assume it"),
        "pass-role-sagemaker-notebook": ("dev", "user", "iam:PassRole", passing("sagemaker:CreateNotebookInstance"),
                                         f"can create a SageMaker notebook instance that runs as role {TARGET_ROLE}"),
        "pass-role-ec2": ("dev", "user", "iam:PassRole", passing("ec2:RunInstances"),
                          f"can launch an EC2 instance with the instance profile of role {TARGET_ROLE}"),
        "pass-role-lambda-invoke": ("dev", "role", "iam:PassRole",
                                    passing("lambda:CreateFunction", "lambda:InvokeFunction"),
                                    f"can create a Lambda function that runs as role {TARGET_ROLE} and invoke it"),
        "pass-role-lambda-event-source": ("dev", "user", "iam:PassRole",
                                          passing("lambda:CreateFunction", "lambda:CreateEventSourceMapping"),
                                          "and trigger it from an event source"),
        "pass-role-cloudformation": ("dev", "user", "iam:PassRole", passing("cloudformation:CreateStack"),
                                     f"can create a CloudFormation stack that runs as role {TARGET_ROLE}"),
        "pass-role-codebuild": ("dev", "user", "iam:PassRole", passing("codebuild:CreateProject", "codebuild:StartBuild"),
                                f"can create a CodeBuild project that runs as role {TARGET_ROLE} and start a build"),
        "pass-role-ecs-run-task": ("dev", "user", "iam:PassRole", passing("ecs:RegisterTaskDefinition", "ecs:RunTask"),
                                   f"can register an ECS task definition whose task role is role {TARGET_ROLE}"),
        "pass-role-glue-dev-endpoint": ("dev", "user", "iam:PassRole", passing("glue:CreateDevEndpoint"),
                                        f"can create a Glue development endpoint that runs as role {TARGET_ROLE}"),
        "pass-role-glue-job": ("dev", "user", "iam:PassRole", passing("glue:CreateJob", "glue:StartJobRun"),
                               f"can create a Glue job that runs as role {TARGET_ROLE} and start it"),
        "pass-role-datapipeline": ("dev", "user", "iam:PassRole",
                                   passing("datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
                                           "datapipeline:ActivatePipeline"),
                                   f"can create and activate a Data Pipeline that runs as role {TARGET_ROLE}"),
        "pass-role-autoscaling-launch-configuration": (
            "dev", "user", "iam:PassRole",
            passing("autoscaling:CreateLaunchConfiguration", "autoscaling:CreateAutoScalingGroup"),
            f"can create an Auto Scaling launch configuration with the instance profile of role {TARGET_ROLE}"),
        "pass-role-autoscaling-launch-template": (
            "dev", "user", "iam:PassRole", passing("ec2:CreateLaunchTemplate", "autoscaling:CreateAutoScalingGroup"),
            f"can create an EC2 launch template with the instance profile of role {TARGET_ROLE}"),
        # -- in acme-prod: administer yourself first, then deploy
        "add-user-to-group": ("prod", "user", "iam:AddUserToGroup",
                              [allow("iam:AddUserToGroup", f"arn:aws:iam::{prod}:group/prod-deployers")],
                              "can add itself to IAM group prod-deployers (iam:AddUserToGroup)"),
        "put-own-user-policy": ("prod", "user", "iam:PutUserPolicy", [allow("iam:PutUserPolicy", "{self}")],
                                "can write an inline policy onto itself (iam:PutUserPolicy), then allow itself"),
        "attach-own-user-policy": ("prod", "user", "iam:AttachUserPolicy", [allow("iam:AttachUserPolicy", "{self}")],
                                   "can attach AdministratorAccess to itself (iam:AttachUserPolicy), then allow itself"),
        "put-own-role-policy": ("prod", "role", "iam:PutRolePolicy", [allow("iam:PutRolePolicy", "{self}")],
                                "can write an inline policy onto itself (iam:PutRolePolicy), then allow itself"),
        "attach-own-role-policy": ("prod", "role", "iam:AttachRolePolicy", [allow("iam:AttachRolePolicy", "{self}")],
                                   "can attach AdministratorAccess to itself (iam:AttachRolePolicy), then allow itself"),
        "create-policy-version": ("prod", "user", "iam:CreatePolicyVersion", [],  # its own attached policy, below
                                  "can rewrite a customer-managed policy attached to itself (iam:CreatePolicyVersion)"),
        "create-role-and-attach": ("prod", "user", "iam:CreateRole",
                                   [allow(["iam:CreateRole", "iam:AttachRolePolicy"], f"arn:aws:iam::{prod}:role/new/*")],
                                   "then, as that role, ecs:UpdateService"),
    }


USER_ONLY = {"add-user-to-group", "put-own-user-policy", "attach-own-user-policy"}  # moto ignores user boundaries
VARIANTS = ("esc", "deny", "scp", "bnd")


def person(variant: str, route: str, kind: str) -> str:
    """The email of whoever starts the route: the escalating user, or the user who assumes the escalating role."""
    return f"{'via-' if kind == 'role' or variant == 'bnd' else ''}{variant}-{route}@acme.com"


def build(url: str) -> SimpleNamespace:
    org = aws_moto.client(url, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    accounts = {name: org.create_account(Email=f"{name}@acme.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
                for name in ("acme-dev", "acme-prod")}
    dev, prod = accounts["acme-dev"], accounts["acme-prod"]
    table = routes(dev, prod)
    first_hops = sorted({hop for _, _, hop, _, _ in table.values()})
    scp = org.create_policy(Name="block-scp-principals", Description="first hops of scp-* principals",
                            Type="SERVICE_CONTROL_POLICY", Content=doc({
                                "Effect": "Deny", "Action": first_hops, "Resource": "*",
                                "Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:user/scp-*",
                                                                               "arn:aws:iam::*:role/scp-*"]}}}))
    org.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=root)
    iams = {"dev": aws_moto.client(url, "iam", aws_moto._assumed(url, dev)),
            "prod": aws_moto.client(url, "iam", aws_moto._assumed(url, prod))}
    ids = {"dev": dev, "prod": prod}

    # acme-prod: the role that deploys, trusted by the two dev principals; a group that deploys.
    iam = iams["prod"]
    iam.create_role(RoleName=PROD_ROLE, AssumeRolePolicyDocument=doc({
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": [f"arn:aws:iam::{dev}:user/{TARGET_USER}", f"arn:aws:iam::{dev}:role/{TARGET_ROLE}"]}}))
    iam.put_role_policy(RoleName=PROD_ROLE, PolicyName="deploy", PolicyDocument=aws_moto.ECS_DEPLOY)
    iam.create_group(GroupName="prod-deployers")
    iam.put_group_policy(GroupName="prod-deployers", PolicyName="deploy", PolicyDocument=aws_moto.ECS_DEPLOY)
    # acme-dev: the two principals that reach it; the role runs code for every service.
    iam = iams["dev"]
    reach_prod = doc(allow("sts:AssumeRole", f"arn:aws:iam::{prod}:role/{PROD_ROLE}"))
    iam.create_user(UserName=TARGET_USER)
    iam.put_user_policy(UserName=TARGET_USER, PolicyName="reach-prod", PolicyDocument=reach_prod)
    iam.create_role(RoleName=TARGET_ROLE, AssumeRolePolicyDocument=doc({
        "Effect": "Allow", "Principal": {"Service": SERVICES}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName=TARGET_ROLE, PolicyName="reach-prod", PolicyDocument=reach_prod)
    iam.create_instance_profile(InstanceProfileName=TARGET_ROLE)
    iam.add_role_to_instance_profile(InstanceProfileName=TARGET_ROLE, RoleName=TARGET_ROLE)

    boundaries: dict[tuple[str, str], str] = {}
    for route, (where, kind, hop, needs, _) in table.items():
        iam, account = iams[where], ids[where]
        for variant in VARIANTS:
            if variant == "bnd" and route in USER_ONLY:
                continue
            as_role = kind == "role" or variant == "bnd"
            name = f"{variant}-{route}"
            arn = f"arn:aws:iam::{account}:{'role' if as_role else 'user'}/{name}"
            statements = [json.loads(json.dumps(s).replace("{self}", arn)) for s in needs]
            if variant == "deny":
                statements.append(deny(hop))
            if as_role:
                via = f"via-{name}"
                iam.create_user(UserName=via, Tags=[{"Key": "email", "Value": f"{via}@acme.com"}])
                kwargs: dict[str, Any] = {}
                if variant == "bnd":
                    if (where, hop) not in boundaries:
                        boundaries[(where, hop)] = iam.create_policy(
                            PolicyName=f"everything-but-{hop.split(':')[1]}",
                            PolicyDocument=doc({"Effect": "Allow", "NotAction": hop, "Resource": "*"}))["Policy"]["Arn"]
                    kwargs["PermissionsBoundary"] = boundaries[(where, hop)]
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({
                    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/{via}"},
                    "Action": "sts:AssumeRole"}), **kwargs)
            else:
                iam.create_user(UserName=name, Tags=[{"Key": "email", "Value": f"{name}@acme.com"}])
            if route == "create-policy-version":
                own = iam.create_policy(PolicyName=f"self-{name}", PolicyDocument=doc(deny("s3:DeleteBucket")))["Policy"]["Arn"]
                extra = [allow("iam:CreatePolicyVersion", own)] + ([deny(hop)] if variant == "deny" else [])
                iam.create_policy_version(PolicyArn=own, PolicyDocument=doc(*extra), SetAsDefault=True)
                (iam.attach_role_policy(RoleName=name, PolicyArn=own) if as_role
                 else iam.attach_user_policy(UserName=name, PolicyArn=own))
                continue
            document = doc(*statements)
            (iam.put_role_policy(RoleName=name, PolicyName="escalate", PolicyDocument=document) if as_role
             else iam.put_user_policy(UserName=name, PolicyName="escalate", PolicyDocument=document))
    return SimpleNamespace(dev=dev, prod=prod, table=table)


def github_side() -> SourceResult:
    """The person behind create-access-key also pushes code: the SoD rules must see the escalation."""
    login = "esc-key-gh"
    return SourceResult(name="github", system="github", principals=(
        Principal("github", login, Kind.USER, display_name="Esc Key", email="esc-create-access-key@acme.com",
                  attrs={"email_source": "saml"}),),
        resources=(Resource("github", "repo", "acme/api", name="acme/api"),),
        grants=(Grant("github", f"github:{login}", "write", "github:repo:acme/api", (CODE_PUSH,)),))


@pytest.fixture(scope="module")
def world(tmp_path_factory, moto):
    home = tmp_path_factory.mktemp("escalation")
    url = moto.fresh()  # this worker's moto server, emptied; the tests read only what the CLI printed
    made = build(url)
    dump([github_side()], home / "github.jsonl")
    config = home / "foureyes.toml"
    config.write_text(f"""
[store]
url = "sqlite:///{home / 'foureyes.db'}"

[tiers.production]
aws_accounts = ["{made.prod}"]

[identity]
email_domains = ["acme.com"]

[sources.aws]
endpoint_url = "{url}"
organization = true
max_attempts = 1

[sources.demo]
dataset = "{home / 'github.jsonl'}"
""")
    from foureyes.cli import main

    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "FOUREYES_STORE_URL"):
            mp.delenv(var, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_CONFIG_FILE", str(home / "none"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "none"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")

        def foureyes(*args: str) -> Any:
            return runner.invoke(main, ["-c", str(config), *args], catch_exceptions=False)

        done = foureyes("snapshot", "--format", "json")
        assert done.exit_code == 0, done.output
        who = foureyes("who-can", "deploy.run", "--tier", "production", "--format", "json")
        assert who.exit_code == 0, who.output
        conflicts = foureyes("conflicts", "--person", "esc-create-access-key@acme.com", "--format", "json")
    yield SimpleNamespace(**vars(made), people={p["person"]: p for p in json.loads(who.stdout)["people"]},
                          conflicts=json.loads(conflicts.stdout))


ROUTE_IDS = list(routes("1", "2"))


@pytest.mark.parametrize("route", ROUTE_IDS)
def test_the_escalating_person_deploys_to_production_by_the_route(world, route):
    where, kind, hop, _, says = world.table[route]
    found = world.people.get(person("esc", route, kind))
    assert found is not None, f"{route}: not in who-can deploy.run"
    (holding,) = [h for h in found["holdings"] if h["resource"] == f"aws:account:{world.prod}"]
    assert holding["escalation"] is True
    hops = holding["hops"]
    if where == "dev" or route == "add-user-to-group":
        (step,) = [h for h in hops if h["kind"] == "can-escalate"]
        assert says in step["how"], step
        if where == "dev":  # ... then the target's own way into production
            after = hops[hops.index(step) + 1]
            assert (after["kind"], after["key"]) == ("can-assume", f"aws:arn:aws:iam::{world.prod}:role/{PROD_ROLE}")
    else:
        (step,) = [h for h in hops if h["kind"] == "grant" and h["node"].startswith("escalation:")]
        assert says in step["how"], step
        assert "ecs:UpdateService" in step["how"]
    assert hops[-1]["kind"] == "capability" and "ecs:UpdateService" in hops[-1]["node"] + hops[-1]["how"]


@pytest.mark.parametrize("variant", ["deny", "scp", "bnd"])
@pytest.mark.parametrize("route", ROUTE_IDS)
def test_blocking_the_first_hop_removes_the_person(world, route, variant):
    if variant == "bnd" and route in USER_ONLY:
        pytest.skip("moto ignores permissions boundaries on users: see test_a_boundary_blocks_a_user_escalation")
    _, kind, _, _, _ = world.table[route]
    assert person(variant, route, kind) not in world.people


def test_the_sod_rules_see_a_deployment_reached_by_escalation(world):
    (finding,) = [f for f in world.conflicts["findings"] if f["rule"] == "FE-SOD-002"]
    deploys = next(e for e in finding["evidence"] if e["requirement"].startswith("deploy.run"))
    assert [h["escalation"] for h in deploys["holdings"]] == [True]
    assert any("can create an access key for user deploy-bot" in step for step in finding["paths"][-1])


# ---------------------------------------------------------------- on recorded payloads (no moto)
# GetAccountAuthorizationDetails as AWS returns it: user boundaries (which moto ignores), access
# keys, instance profiles and trust policies decide whether a hop exists.

from foureyes.model import ACCESS_ADMIN, DEPLOY_RUN, EdgeKind  # noqa: E402

from .test_aws_translate import A, account, key, managed, role, run, user  # noqa: E402

ECS = doc(allow("ecs:UpdateService"))
NO_DEPLOY = f"arn:aws:iam::{A}:policy/NoDeploy"
ONLY_PUT_ROLE_POLICY = f"arn:aws:iam::{A}:policy/OnlyPutRolePolicy"
BOUNDARIES = [managed(NO_DEPLOY, json.loads(doc(allow(["iam:*User*", "s3:*"])))),
              managed(ONLY_PUT_ROLE_POLICY, json.loads(doc(allow("iam:PutRolePolicy"))))]


def everything_but(action: str) -> tuple[str, dict]:
    arn = f"arn:aws:iam::{A}:policy/everything-but-{action.split(':')[1]}"
    return arn, managed(arn, json.loads(doc({"Effect": "Allow", "NotAction": action, "Resource": "*"})))


def edges_from(out, src: str) -> list:
    return [e for e in out.edges.values() if e.src == src and e.kind == EdgeKind.CAN_ESCALATE]


def escalation_grants(out, principal: str) -> list:
    return [g for g in out.grants.values() if g.principal == principal and g.attrs.get("escalation")]


def test_a_boundary_blocks_a_user_escalation():
    """IAM User Guide, "Permissions boundaries for IAM entities": the boundary caps the user's own
    identity policies, so the first hop of a user-only route is not allowed. moto ignores user
    boundaries, so these three routes are tested here rather than above."""
    group_arn = f"arn:aws:iam::{A}:group/prod-deployers"
    cases = {
        "iam:AddUserToGroup": doc(allow("iam:AddUserToGroup", group_arn)),
        "iam:PutUserPolicy": doc(allow("iam:PutUserPolicy", f"arn:aws:iam::{A}:user/{{name}}")),
        "iam:AttachUserPolicy": doc(allow("iam:AttachUserPolicy", f"arn:aws:iam::{A}:user/{{name}}")),
    }
    users, policies = [], []
    for action, policy in cases.items():
        boundary, document = everything_but(action)
        policies.append(document)
        for name, capped in ((f"free-{action[4:]}", None), (f"capped-{action[4:]}", boundary)):
            users.append(user(name, inline={"escalate": json.loads(policy.replace("{name}", name))}, boundary=capped))
    group = {"Path": "/", "GroupName": "prod-deployers", "GroupId": "AGPADEPLOY", "Arn": group_arn,
             "GroupPolicyList": [{"PolicyName": "deploy", "PolicyDocument": json.loads(ECS)}],
             "AttachedManagedPolicies": []}
    out = run(account(users=users, groups=[group], policies=policies))
    for action in cases:
        free, capped = key("user", f"free-{action[4:]}"), key("user", f"capped-{action[4:]}")
        assert edges_from(out, free) or escalation_grants(out, free), action
        assert not edges_from(out, capped) and not escalation_grants(out, capped), action


def test_administering_itself_stays_inside_the_boundary_unless_it_can_delete_it():
    """A role whose boundary allows iam:PutRolePolicy and nothing else can write itself any policy —
    the admin test of reference §3.4 says admin — but every policy it writes is capped by the
    boundary, so it can deploy nothing. PMapper's admin short-circuit says it can do anything
    (docs/reference-notes.md). One that may also delete its boundary is not capped."""
    self_policy = {"self": json.loads(doc(allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/capped")))}
    may_drop = {"self": json.loads(doc(allow(["iam:PutUserPolicy", "iam:DeleteUserPermissionsBoundary"],
                                             f"arn:aws:iam::{A}:user/dropper")))}
    trust = json.loads(doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole"}))
    out = run(account(roles=[role("capped", trust, inline=self_policy, boundary=ONLY_PUT_ROLE_POLICY)],
                      users=[user("dropper", inline=may_drop, boundary=NO_DEPLOY),
                             user("kept", inline={"self": json.loads(doc(allow("iam:PutUserPolicy",
                                                                                f"arn:aws:iam::{A}:user/kept")))},
                                  boundary=NO_DEPLOY)],
                      policies=BOUNDARIES))
    capped = key("role", "capped")
    assert {c for g in out.grants.values() if g.principal == capped for c in g.capabilities} == {ACCESS_ADMIN}
    assert escalation_grants(out, capped) == []
    assert escalation_grants(out, key("user", "kept")) == []  # its boundary keeps every deployment out of reach
    (dropped,) = escalation_grants(out, key("user", "dropper"))
    assert dropped.capabilities == (DEPLOY_RUN,) and dropped.detail.endswith("after deleting its permissions boundary")


def test_what_the_target_must_be_for_a_hop():
    """IAM API Reference, CreateAccessKey ("Each IAM user can have a maximum of two access keys"),
    UpdateAssumeRolePolicy on an IAM Identity Center role (refused: "this role is only modifiable
    by AWS"), "Granting a user permissions to pass a role to an AWS service" (the service must be
    able to assume the role), "Using instance profiles" (EC2 takes a role through one)."""
    deploys = {"deploy": json.loads(ECS)}

    def administers(name: str) -> dict:
        return {"self": json.loads(doc(allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/{name}")))}

    def hop(*actions: str) -> dict:
        return {"p": json.loads(doc(allow(list(actions))))}

    def targets(out, name: str) -> set[str]:
        return {e.dst.rsplit("/", 1)[-1] for e in edges_from(out, key("user", name))}

    # A third access key needs one of the two deleted first.
    out = run(account(users=[user("full-keys", inline=deploys), user("keys-only", inline=hop("iam:CreateAccessKey")),
                             user("keys-and-delete", inline=hop("iam:CreateAccessKey", "iam:DeleteAccessKey"))],
                      access_keys={"full-keys": [{"AccessKeyId": "AKIA1"}, {"AccessKeyId": "AKIA2"}]}))
    assert targets(out, "keys-and-delete") == {"full-keys"}
    # keys-only cannot take a key of full-keys; it can of keys-and-delete, who then can (a chain).
    assert targets(out, "keys-only") == {"keys-and-delete"}
    out = run(account(users=[user("one-key", inline=deploys), user("keys-only", inline=hop("iam:CreateAccessKey"))],
                      access_keys={"one-key": [{"AccessKeyId": "AKIA3"}]}))
    assert targets(out, "keys-only") == {"one-key"}

    # No trust rewrite for an IAM Identity Center role, however powerful.
    sso_trust = json.loads(doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{A}:saml-provider/AWSSSO_x"},
                                "Action": "sts:AssumeRoleWithSAML"}))
    everything = {"all": json.loads(doc(allow("*")))}
    out = run(account(users=[user("trust-writer", inline=hop("iam:UpdateAssumeRolePolicy"))],
                      roles=[role("AWSReservedSSO_Admin_0123456789abcdef", sso_trust, path="/aws-reserved/sso.amazonaws.com/",
                                  inline=everything), role("plain-admin", sso_trust, inline=everything)]))
    assert targets(out, "trust-writer") == {"plain-admin"}

    # EC2 takes a role only through an instance profile, and only a role that trusts EC2.
    ec2_trust = json.loads(doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                "Action": "sts:AssumeRole"}))
    profiled = role("with-profile", ec2_trust, inline=deploys)
    profiled["InstanceProfileList"] = [{"InstanceProfileName": "p", "Arn": f"arn:aws:iam::{A}:instance-profile/p"}]
    out = run(account(
        users=[user("scaler", inline=hop("iam:PassRole", "autoscaling:CreateLaunchConfiguration",
                                         "autoscaling:CreateAutoScalingGroup")),
               user("notebooks", inline=hop("iam:PassRole", "sagemaker:CreateNotebookInstance"))],
        roles=[profiled, role("no-profile", ec2_trust, inline=administers("no-profile"))]))
    assert targets(out, "scaler") == {"with-profile"}
    assert targets(out, "notebooks") == set()  # neither role trusts SageMaker


def test_an_administrator_by_another_route_reaches_the_deployment_of_the_one_it_becomes():
    """A user that can rewrite the trust of an administering role is an administrator (reference
    §3.4: taking over an admin role); the role deploys only after writing itself a policy. The user
    must reach that deployment through the role, not stop at "admin"."""
    trust = json.loads(doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole"}))
    self_admin = {"self": json.loads(doc(allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/admin")))}
    rewriter = {"p": json.loads(doc(allow("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{A}:role/admin")))}
    out = run(account(users=[user("rewriter", inline=rewriter)], roles=[role("admin", trust, inline=self_admin)]))
    rewriter_key, role_key = key("user", "rewriter"), key("role", "admin")
    assert {c for g in out.grants.values() if g.principal == rewriter_key for c in g.capabilities} == {ACCESS_ADMIN}
    assert [e.dst for e in edges_from(out, rewriter_key)] == [role_key]
    (deploys,) = escalation_grants(out, role_key)
    assert deploys.capabilities == (DEPLOY_RUN,)
