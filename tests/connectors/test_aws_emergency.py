"""Emergency access on AWS, read through boto3 from moto and the CloudTrail fake: a declared
break-glass role and an Identity Center permission set, their uses (AssumeRole, AssumeRoleWithSAML,
what each session did, role chaining), a just-in-time assignment whose time is up, and the
posture findings of an undeclared break-glass role and an admin role assumed without MFA.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from . import aws_moto
from .test_aws_connector import aws_env
from fakes.aws_activity import AwsActivityFake, cloudtrail_event, identity_iam_user, identity_role_session
from foureyes.activity import ActivityPeriod, AuditEvent, of_kind
from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.connectors.aws.connector import AwsConnector
from foureyes.model import Snapshot
from foureyes.store import Store

A = aws_moto.MANAGEMENT
REGION = aws_moto.REGION
NOW = datetime.now(timezone.utc).replace(microsecond=0)
PERIOD = ActivityPeriod((NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
EMERGENCY_ROLE = "AWSReservedSSO_Emergency_0123456789abcdef"
DEPLOYER_ROLE = "AWSReservedSSO_ProdDeployer_fedcba9876543210"
ADMIN = aws_moto.doc(aws_moto.allow("*"))


def ago(days: float, minutes: float = 0) -> str:
    return (NOW - timedelta(days=days) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{A}:role{path}{name}"


def build(url: str) -> dict[str, str]:
    iam = aws_moto.client(url, "iam")
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    may_assume = {"assume": aws_moto.doc(aws_moto.allow("sts:AssumeRole", arn("ops-breakglass")))}
    aws_moto._user(iam, "alex", ("email", "alex@acme.com"), inline=may_assume)
    aws_moto._user(iam, "mallory", ("email", "mallory@acme.com"), inline=may_assume)
    aws_moto._user(iam, "bob", ("email", "bob@acme.com"))
    aws_moto._role(iam, "ops-breakglass", aws_moto._trust_aws(f"arn:aws:iam::{A}:root", condition=mfa))
    aws_moto._role(iam, "ops-admin", aws_moto._trust_aws(arn("ops-breakglass")), inline={"admin": ADMIN})
    aws_moto._role(iam, "legacy-break-glass", aws_moto._trust_aws(f"arn:aws:iam::{A}:root", condition=mfa))
    aws_moto._role(iam, "admin-nomfa", aws_moto._trust_aws(f"arn:aws:iam::{A}:user/bob"), inline={"admin": ADMIN})
    aws_moto._role(iam, EMERGENCY_ROLE, aws_moto._trust_sso(A), path=SSO_PATH, inline={"admin": ADMIN})
    aws_moto._role(iam, DEPLOYER_ROLE, aws_moto._trust_sso(A), path=SSO_PATH, inline={"ecs": aws_moto.ECS_DEPLOY})
    sso = aws_moto.client(url, "sso-admin")
    instance = sso.list_instances()["Instances"][0]
    store, ia = instance["IdentityStoreId"], instance["InstanceArn"]
    identity = aws_moto.client(url, "identitystore")
    users = {name: identity.create_user(
        IdentityStoreId=store, UserName=name, DisplayName=name.title(), Name={"GivenName": name, "FamilyName": "X"},
        Emails=[{"Value": f"{name}@acme.com", "Type": "work", "Primary": True}])["UserId"] for name in ("kate", "leo")}
    sets = {}
    for name, policy in (("Emergency", ADMIN), ("ProdDeployer", aws_moto.ECS_DEPLOY)):
        sets[name] = sso.create_permission_set(InstanceArn=ia, Name=name)["PermissionSet"]["PermissionSetArn"]
        sso.put_inline_policy_to_permission_set(InstanceArn=ia, PermissionSetArn=sets[name], InlinePolicy=policy)
    for ps, user in (("Emergency", "kate"), ("ProdDeployer", "leo")):
        sso.create_account_assignment(InstanceArn=ia, TargetId=A, TargetType="AWS_ACCOUNT", PermissionSetArn=sets[ps],
                                      PrincipalType="USER", PrincipalId=users[user])
    return {"instance": ia, "deployer": sets["ProdDeployer"], "leo": users["leo"]}


def assume(event_id: str, at: str, identity: dict, role_arn: str, session: str, *, seconds: int = 3600,
           saml: bool = False) -> dict:
    return cloudtrail_event(
        event_id=event_id, at=at, source="sts.amazonaws.com", name="AssumeRoleWithSAML" if saml else "AssumeRole",
        account=A, region=REGION, identity=identity, read_only=True,
        request={"roleArn": role_arn, "roleSessionName": session, "durationSeconds": seconds},
        response={"credentials": {"accessKeyId": f"ASIA{event_id.upper():0<16}"[:20], "sessionToken": "x"}},
        resources=[{"ARN": role_arn, "accountId": A, "type": "AWS::IAM::Role"}])


def call(event_id: str, at: str, identity: dict, source: str, name: str, request: dict) -> dict:
    return cloudtrail_event(event_id=event_id, at=at, source=source, name=name, account=A, region=REGION,
                            identity=identity, request=request)


def seed(fake: AwsActivityFake, world: dict[str, str]) -> None:
    alex_bg = identity_role_session(A, "ops-breakglass", "INC-1234-alex")
    alex_admin = identity_role_session(A, "ops-admin", "INC-1234-alex")
    saml = {"type": "SAMLUser", "principalId": "AWSSSO:kate", "userName": "kate",
            "identityProvider": f"arn:aws:iam::{A}:saml-provider/AWSSSO_0123abcd_DO_NOT_DELETE"}
    fake.add_events(
        A, REGION,
        # alex breaks the glass with the incident in the session name, chains into ops-admin, acts as it
        assume("bg-alex", ago(3), identity_iam_user(A, "alex"), arn("ops-breakglass"), "INC-1234-alex"),
        assume("bg-alex-chain", ago(3, 2), alex_bg, arn("ops-admin"), "INC-1234-alex"),
        call("bg-alex-1", ago(3, 9), alex_admin, "iam.amazonaws.com", "CreateAccessKey", {"userName": "svc-payments"}),
        call("bg-alex-late", ago(3, 90), alex_admin, "iam.amazonaws.com", "DeleteUser", {"userName": "x"}),  # expired
        # mallory, not allowed, no ticket, a two-hour session
        assume("bg-mallory", ago(5), identity_iam_user(A, "mallory"), arn("ops-breakglass"), "mallory", seconds=7200),
        call("bg-mallory-1", ago(5, 100), identity_role_session(A, "ops-breakglass", "mallory"), "ec2.amazonaws.com",
             "TerminateInstances", {"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
        # kate through Identity Center's Emergency permission set
        assume("sso-kate", ago(7), saml, arn(EMERGENCY_ROLE, SSO_PATH), "kate", saml=True),
        call("sso-kate-1", ago(7, 5), identity_role_session(A, EMERGENCY_ROLE, "kate", path=SSO_PATH),
             "ecs.amazonaws.com", "UpdateService", {"cluster": "prod", "service": "api"}),
        # an ordinary role's session: not a declared path, never asked for
        assume("ordinary", ago(2), identity_iam_user(A, "bob"), arn("admin-nomfa"), "bob"),
        # the access-request system assigned leo ProdDeployer four days ago (max 8h: still there, expired)
        cloudtrail_event(event_id="jit-leo", at=ago(4), source="sso.amazonaws.com", name="CreateAccountAssignment",
                         account=A, region=REGION, identity=identity_role_session(A, "access-request", "grant-leo"),
                         request={"instanceArn": world["instance"], "targetId": A, "targetType": "AWS_ACCOUNT",
                                  "permissionSetArn": world["deployer"], "principalType": "USER",
                                  "principalId": world["leo"]}))


@pytest.fixture(scope="module")
def fake(moto):
    url = moto.fresh()
    front = AwsActivityFake(url).start()
    try:
        seed(front, build(url))
        yield front
    finally:
        front.stop()


CONFIG = """
[tiers.production]
aws_accounts = ["{account}"]

[identity]
email_domains = ["acme.com"]

[[break_glass]]
name = "prod-admin"
aws_roles = ["ops-breakglass"]
allowed = ["alex@acme.com"]
max_duration = "1h"
ticket = "INC-[0-9]+"

[[break_glass]]
name = "sso-emergency"
aws_permission_sets = ["Emergency"]
allowed = ["kate@acme.com"]
max_duration = "1h"

[just_in_time]
aws_permission_sets = ["ProdDeployer"]
max_duration = "8h"

[sources.aws]
endpoint_url = "{url}"
max_attempts = 1
regions = ["{region}"]
access_advisor_wait = 0.0
"""


def collect(fake: AwsActivityFake, *faults: tuple[str, str, dict[str, Any]]):
    fake.reset()
    for operation, code, kwargs in faults:
        fake.fail(operation, code, **kwargs)
    cfg = parse_config(CONFIG.format(account=A, url=fake.url, region=REGION))
    with pytest.MonkeyPatch.context() as mp:
        aws_env(mp, {"AWS_ACCESS_KEY_ID": "AKIDAUDITOR", "AWS_SECRET_ACCESS_KEY": "x"})
        result = AwsConnector(cfg.sources.aws, config=cfg).collect(lambda e: None, period=PERIOD)
    return cfg, result, list(fake.calls)


@pytest.fixture(scope="module")
def read(fake):
    return collect(fake)


@pytest.fixture(scope="module")
def analysis(read):
    cfg, result, _ = read
    return analyze(Snapshot(1, NOW.isoformat(), "", (result,)), cfg)


def test_only_the_declared_roles_are_looked_up_and_their_sessions_by_name(read):
    _, result, calls = read
    lookups = [c.params["LookupAttributes"][0] for c in calls if c.operation == "LookupEvents"]
    by_resource = {a["AttributeValue"] for a in lookups if a["AttributeKey"] == "ResourceName"}
    assert by_resource == {arn("ops-breakglass"), arn(EMERGENCY_ROLE, SSO_PATH)}
    assert {a["AttributeValue"] for a in lookups if a["AttributeKey"] == "Username"} == {
        "INC-1234-alex", "mallory", "kate"}
    found = {e.id: e for e in of_kind(result.activity, AuditEvent)}
    assert "ordinary" not in found  # AssumeRole of a role nobody declared is never read
    alex = found["bg-alex"]
    assert (alex.action, alex.target, alex.session) == ("sts:AssumeRole", arn("ops-breakglass"), "INC-1234-alex")
    assert alex.actor.principal == f"aws:arn:aws:iam::{A}:user/alex" and alex.evidence["durationSeconds"] == 3600
    kate = found["sso-kate"]
    assert kate.action == "sts:AssumeRoleWithSAML" and kate.actor.via == "Identity Center user"
    assert kate.actor.principal.endswith(":user/kate")
    assert found["jit-leo"].action == "sso:CreateAccountAssignment"


def test_each_use_says_who_when_how_long_and_what_was_done(analysis):
    uses = {u.id: u for u in analysis.emergency.uses}
    assert set(uses) == {"bg-alex", "bg-mallory", "sso-kate"}
    alex = uses["bg-alex"]
    assert alex.who.person == "alex@acme.com" and alex.path == "prod-admin"
    assert alex.ticket == "INC-1234 (role session name)" and alex.problems == ()
    # role chaining followed; a call after the session's hour is not part of this use
    assert [a.split(" ", 2)[1] for a in alex.actions] == ["sts:AssumeRole", "iam:CreateAccessKey"]
    assert alex.duration_s == 3600 and alex.active_s == 9 * 60
    kate = uses["sso-kate"]
    assert kate.who.person == "kate@acme.com" and kate.path == "sso-emergency" and kate.problems == ()
    assert kate.actions[0].endswith("ecs:UpdateService prod/api")
    mallory = uses["bg-mallory"]
    assert [kind for kind, _ in mallory.problems] == [
        "emergency-use-without-ticket", "emergency-use-too-long", "emergency-use-not-allowed"]
    assert "held for 2 h" in mallory.problems[1][1]


def test_findings_of_uses_and_posture(analysis):
    found = {(f.rule.id, f.scope) for f in analysis.findings if f.rule.id.startswith("FE-EMG")}
    assert found == {
        ("FE-EMG-001", "use:prod-admin:bg-mallory"), ("FE-EMG-002", "use:prod-admin:bg-mallory"),
        ("FE-EMG-003", "use:prod-admin:bg-mallory"),
        ("FE-EMG-004", f"aws:{arn('legacy-break-glass')}"),  # named so, declared nowhere
        ("FE-EMG-005", f"aws:{arn('admin-nomfa')}"),  # bob assumes it without MFA
        ("FE-EMG-006", f"aws:sso:{_store_of(analysis)}:user/leo"),  # its just-in-time assignment expired
    }
    expired = next(f for f in analysis.findings if f.rule.id == "FE-EMG-006")
    assert "permission set ProdDeployer" in dict(expired.settings)["expired_grants"][0]


def _store_of(analysis) -> str:
    return next(p.id.split(":")[1] for p in analysis.snapshot.principals.values() if p.id.startswith("sso:"))


def test_emergency_holdings_are_not_standing_access(analysis):
    alex = analysis.holdings("alex@acme.com")
    assert alex and all(h.emergency for h in alex if h.tier == "production")
    marks = analysis.graph.marks_of(next(h for h in alex if h.capability == "access.admin"))
    assert marks.emergency == ("prod-admin",)
    bob = [h for h in analysis.holdings("bob@acme.com") if h.capability == "access.admin"]
    assert bob and not any(h.emergency for h in bob)  # admin-nomfa is standing access
    leo = [h for h in analysis.holdings("leo@acme.com") if h.capability == "deploy.run"]
    assert leo and not any(h.time_bound for h in leo)  # expired: no longer counted as time-bound


def test_denied_session_lookups_are_a_gap_never_a_use_without_actions(fake):
    _, result, _ = collect(fake, ("LookupEvents", "AccessDeniedException", {"times": None}))
    gaps = [g for g in result.gaps if "break-glass sessions" in g.reason]
    assert gaps and gaps[0].about == "activity" and "AccessDeniedException" in gaps[0].reason


def test_uses_survive_the_store(read, store_url):
    cfg, result, _ = read
    with Store(store_url) as store:
        info = store.write_snapshot([result], label="emergency")
        loaded = store.load_snapshot(info.id)
    uses = analyze(loaded, cfg).emergency.uses
    assert [(u.id, len(u.actions), tuple(k for k, _ in u.problems)) for u in uses] == [
        (u.id, len(u.actions), tuple(k for k, _ in u.problems)) for u in analyze(
            Snapshot(info.id, loaded.taken_at, "", (result,)), cfg).emergency.uses]
    assert json.dumps([u.id for u in uses]) == json.dumps(["sso-kate", "bg-mallory", "bg-alex"])
