"""AWS activity: CloudTrail deploy events and last use, read through boto3 from a loopback fake.

moto has neither CloudTrail LookupEvents nor Access Advisor, so tests/fakes/aws_activity.py
answers those (JSON 1.1 and the IAM query protocol, paged, with AccessDenied and throttling)
and forwards everything else to moto's server; boto3 reaches both through the one
``endpoint_url``. One production account, moto's default, holds the people and roles below.
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from . import aws_moto
from .test_aws_connector import aws_env
from fakes.aws_activity import (
    AwsActivityFake,
    cloudtrail_event,
    identity_iam_user,
    identity_role_session,
    service,
    web_identity_event,
)
from foureyes.activity import AuditEvent, Deployment, LastUsed, Actor, ActivityPeriod, of_kind
from foureyes.attribution import Attributor
from foureyes.config import parse_config
from foureyes.connectors.aws.activity import ActivityReader
from foureyes.connectors.aws.api import Clients, RequestCounter
from foureyes.connectors.aws.connector import AwsConnector
from foureyes.connectors.aws.policy import evaluate
from foureyes.connectors.aws.reads import AccountRead
from foureyes.connectors.aws.usage import NOT_LOOKED_UP, lookups
from foureyes.identity import link
from foureyes.model import Snapshot, SourceResult

A = aws_moto.MANAGEMENT  # moto's default account: the one production account here
REGION = aws_moto.REGION
NOW = datetime.now(timezone.utc).replace(microsecond=0)
PERIOD = ActivityPeriod((NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
SUBJECT = "repo:acme/api:environment:production"
SSO_ROLE = "AWSReservedSSO_ProdDeployer_0123456789abcdef"
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
ROOT = Path(__file__).resolve().parents[2]


def ago(days: float, hours: float = 0) -> str:
    return (NOW - timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def arn(kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{A}:{kind}{path}{name}"


def ecs(event_id: str, at: str, identity: dict, **kw: Any) -> dict:
    return cloudtrail_event(event_id=event_id, at=at, source="ecs.amazonaws.com", name="UpdateService", account=A,
                            region=REGION, identity=identity,
                            request={"cluster": "prod", "service": "api", "forceNewDeployment": True}, **kw)


def build(url: str) -> dict[str, str]:
    """The production account: people, roles and the Identity Center user kate."""
    iam = aws_moto.client(url, "iam")
    deploy = iam.create_policy(PolicyName="DeployECS", PolicyDocument=aws_moto.ECS_DEPLOY)["Policy"]["Arn"]
    iam.create_group(GroupName="deployers")
    iam.attach_group_policy(GroupName="deployers", PolicyArn=deploy)
    aws_moto._user(iam, "alice", ("email", "alice@acme.com"), groups=("deployers",))
    aws_moto._user(iam, "bob", ("email", "bob@acme.com"))
    iam.create_open_id_connect_provider(Url=f"https://{aws_moto.GITHUB}", ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    aws_moto._role(iam, "gha-api-prod", aws_moto._trust_github(A, "StringEquals", SUBJECT),
                   inline={"ecs": aws_moto.ECS_DEPLOY})
    aws_moto._role(iam, "release", aws_moto._trust_aws(f"arn:aws:iam::{A}:root"), inline={"cd": aws_moto.CODEDEPLOY})
    aws_moto._role(iam, "ops-deploy", aws_moto._trust_aws(f"arn:aws:iam::{A}:root"),
                   inline={"lambda": aws_moto.LAMBDA_DEPLOY})
    aws_moto._role(iam, SSO_ROLE, aws_moto._trust_sso(A), path=SSO_PATH, inline={"AwsSSOInlinePolicy": aws_moto.ECS_DEPLOY})
    sso = aws_moto.client(url, "sso-admin")
    store = sso.list_instances()["Instances"][0]["IdentityStoreId"]
    aws_moto.client(url, "identitystore").create_user(
        IdentityStoreId=store, UserName="kate", DisplayName="Kate Kim", Name={"GivenName": "Kate", "FamilyName": "Kim"},
        Emails=[{"Value": "kate@acme.com", "Type": "work", "Primary": True}])
    return {"store": store}


def seed(fake: AwsActivityFake) -> None:
    gha_key = "ASIAGHAPROD00000001"
    fake.add_events(A, REGION,
                    ecs("e-alice", ago(3), identity_iam_user(A, "alice")),
                    ecs("e-kate", ago(4), identity_role_session(A, SSO_ROLE, "kate", path=SSO_PATH)),
                    web_identity_event(event_id="e-oidc", at=ago(5, 1), account=A, region=REGION, role="gha-api-prod",
                                       subject=SUBJECT, key=gha_key),
                    ecs("e-gha", ago(5), identity_role_session(A, "gha-api-prod", "GitHubActions", key=gha_key)),
                    ecs("e-bob-denied", ago(6), identity_iam_user(A, "bob"), error="AccessDenied"),
                    ecs("e-bot", ago(7), identity_role_session(A, "ops-deploy", "nightly-bot")),
                    ecs("e-old", ago(45), identity_iam_user(A, "alice")),  # before the period
                    cloudtrail_event(event_id="e-carol", at=ago(8), source="codedeploy.amazonaws.com",
                                     name="CreateDeployment", account=A, region=REGION,
                                     identity=identity_role_session(A, "release", "ci-session",
                                                                    source_identity="carol@acme.com"),
                                     request={"applicationName": "payments", "deploymentGroupName": "prod"}),
                    cloudtrail_event(event_id="e-contractor", at=ago(9), source="lambda.amazonaws.com",
                                     name="UpdateFunctionCode20150331v2", account=A, region=REGION,
                                     identity=identity_role_session(A, "ops-deploy", "dev@contractor.example"),
                                     request={"functionName": "api-handler"}),
                    cloudtrail_event(event_id="e-apprunner", at=ago(2), source="apprunner.amazonaws.com",
                                     name="UpdateService", account=A, region=REGION,
                                     identity=identity_iam_user(A, "alice"), request={"serviceArn": "arn:apprunner"}))
    fake.add_events(A, "eu-west-1", cloudtrail_event(
        event_id="e-eu", at=ago(2), source="ecs.amazonaws.com", name="UpdateService", account=A, region="eu-west-1",
        identity=identity_iam_user(A, "alice")))
    fake.advisor[arn("user", "alice")] = [service("ecs", "Amazon Elastic Container Service")]
    fake.advisor[arn("group", "deployers")] = [
        service("ecs", "Amazon Elastic Container Service", ago(3), arn("user", "alice"))]
    fake.advisor[arn("role", "gha-api-prod")] = [
        service("ecs", "Amazon Elastic Container Service", ago(5), arn("role", "gha-api-prod")),
        service("sts", "AWS Security Token Service", ago(5), arn("role", "gha-api-prod")),
        service("s3", "Amazon S3")]
    fake.advisor[arn("role", "release")] = [
        service("codedeploy", "AWS CodeDeploy", ago(143), arn("role", "release"))]
    fake.advisor[arn("role", "ops-deploy")] = [service("lambda", "AWS Lambda", ago(7), arn("role", "ops-deploy"))]
    fake.advisor[arn("role", SSO_ROLE, SSO_PATH)] = [
        service("ecs", "Amazon Elastic Container Service", ago(4), arn("role", SSO_ROLE, SSO_PATH))]


@pytest.fixture(scope="module")
def fake(moto):
    url = moto.fresh()  # this worker's moto server, emptied: the module builds its own account
    front = AwsActivityFake(url).start()
    try:
        build(url)
        seed(front)
        yield front
    finally:
        front.stop()


def config(url: str, **aws: Any):
    settings = {"endpoint_url": url, "max_attempts": 1, "regions": [REGION], **aws}
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    return parse_config(f"""
[tiers.production]
aws_accounts = ["{A}"]

[identity]
email_domains = ["acme.com"]

[sources.aws]
{lines}
""")


@dataclass
class Run:
    """One collection, with what the fake answered and was asked meanwhile."""

    result: SourceResult
    responses: list[tuple[str, int, bytes]]
    calls: list[Any]

    def called(self, operation: str) -> list[Any]:
        return [c for c in self.calls if c.operation == operation]


def run(fake: AwsActivityFake, *, faults: tuple[tuple[str, str, dict], ...] = (), failed_jobs: dict | None = None,
        period: ActivityPeriod = PERIOD, **aws: Any) -> Run:
    fake.reset()
    for operation, code, kwargs in faults:
        fake.fail(operation, code, **kwargs)
    fake.failed_jobs.update(failed_jobs or {})
    try:
        cfg = config(fake.url, **aws)
        with pytest.MonkeyPatch.context() as mp:
            aws_env(mp, {"AWS_ACCESS_KEY_ID": "AKIDAUDITOR", "AWS_SECRET_ACCESS_KEY": "x"})
            result = AwsConnector(cfg.sources.aws, config=cfg).collect(lambda e: None, period=period)
    finally:
        fake.failed_jobs.clear()
    return Run(result, list(fake.responses), list(fake.calls))


@pytest.fixture(scope="module")
def clean(fake) -> Run:
    return run(fake)


@pytest.fixture(scope="module")
def read(clean) -> SourceResult:
    return clean.result


@pytest.fixture(scope="module")
def rough(fake, clean) -> Run:
    """The second LookupEvents call throttled once (retried), Access Advisor denied."""
    return run(fake, faults=(("LookupEvents", "ThrottlingException", {"nth": 2}),
                             ("GenerateServiceLastAccessedDetails", "AccessDenied", {"times": None})), max_attempts=2)


@pytest.fixture(scope="module")
def denied(fake, rough) -> Run:
    """CloudTrail denied; one principal's Access Advisor report fails."""
    return run(fake, faults=(("LookupEvents", "AccessDeniedException", {"times": None}),),
               failed_jobs={arn("role", "ops-deploy"): "ServiceFailure"})


def events(result: SourceResult) -> dict[str, AuditEvent]:
    return {e.id: e for e in of_kind(result.activity, AuditEvent)}


def last_used(result: SourceResult) -> dict[tuple[str, str], LastUsed]:
    return {(u.principal, u.service): u for u in of_kind(result.activity, LastUsed)}


def who(result: SourceResult, cfg: Any = None):
    cfg = cfg or config("http://unused")
    snapshot = Snapshot(1, "t", "", (result,))
    return Attributor(snapshot, link(snapshot, cfg), cfg)


# ---------------------------------------------------------------- CloudTrail


def test_deploy_calls_in_the_period_are_read_with_their_actors(read):
    found = events(read)
    deploys = {i for i, e in found.items() if e.action != "sts:AssumeRoleWithWebIdentity"}
    # the period bounds the query; another region is read only when configured; App Runner's
    # UpdateService is a catalogue deploy action of its own, not ECS's
    assert deploys == {"e-alice", "e-kate", "e-gha", "e-bob-denied", "e-bot", "e-carol", "e-contractor", "e-apprunner"}
    alice = found["e-alice"]
    assert (alice.action, alice.result, alice.resource, alice.target) == (
        "ecs:UpdateService", "success", f"aws:account:{A}", "prod/api")
    assert alice.actor == Actor(principal=f"aws:{arn('user', 'alice')}", name="alice", via="IAM user", kind="user")
    assert found["e-bob-denied"].result == "denied"
    assert found["e-apprunner"].action == "apprunner:UpdateService"
    # Lambda's CloudTrail names carry the API version; the record says the catalogue's action
    assert found["e-contractor"].action == "lambda:UpdateFunctionCode"
    assert found["e-contractor"].evidence["eventName"] == "UpdateFunctionCode20150331v2"
    assert all(e.system == "aws" and PERIOD.contains(e.at) for e in found.values())


def test_lookup_asks_one_event_name_at_a_time_and_follows_next_token(clean):
    calls = clean.called("LookupEvents")
    names = [c.params["LookupAttributes"][0]["AttributeValue"] for c in calls]
    assert all(len(c.params["LookupAttributes"]) == 1 for c in calls)
    assert {"UpdateService", "CreateDeployment", "UpdateFunctionCode20150331v2", "AssumeRoleWithWebIdentity"} <= set(names)
    assert "PassRole" not in names and "PutObject" not in names  # not management events: never asked
    # UpdateService has more events than one page (page size 2): the token was followed
    assert sum(1 for c in calls if c.params.get("NextToken")) >= 2
    assert {c.region for c in calls} == {REGION}


def test_identity_center_sessions_name_the_user(read):
    kate = events(read)["e-kate"]
    assert kate.actor.via == "Identity Center session" and kate.session == "kate"
    assert kate.actor.principal.startswith("aws:sso:") and kate.actor.principal.endswith(":user/kate")
    assert who(read).who(kate.actor).known


def test_source_identity_names_the_person_behind_a_shared_role(read):
    carol = events(read)["e-carol"]
    assert carol.actor == Actor(principal=f"aws:{arn('role', 'release')}", name="carol@acme.com",
                                email="carol@acme.com", via="sourceIdentity", kind="user")
    assert carol.session == "carol@acme.com" and carol.target == "payments"
    answer = who(read).who(carol.actor)
    assert answer.known and answer.person == "carol@acme.com"  # a corporate address, though no account of hers


def test_web_identity_sessions_carry_the_oidc_subject_and_join_the_github_run(read):
    gha = events(read)["e-gha"]
    assert gha.ci_subject == SUBJECT and gha.actor.kind == "workload"
    assert gha.actor.principal == f"aws:{arn('role', 'gha-api-prod')}"
    sign_in = events(read)["e-oidc"]
    assert (sign_in.action, sign_in.ci_subject, sign_in.target) == (
        "sts:AssumeRoleWithWebIdentity", SUBJECT, arn("role", "gha-api-prod"))
    attributor = who(read)
    assert attributor.who(gha.actor).machine  # the role alone names nobody
    run = Deployment("github", "acme/api/deployments/7", "github:repo:acme/api", "github:environment:acme/api/production",
                     at=ago(5, 0.5), run_id=42, ci_subject=SUBJECT,
                     triggering_actor=Actor(email="alice@acme.com", name="alice", via="login", kind="user"))
    stale = replace(run, id="acme/api/deployments/6", at=ago(5, 3), run_id=41)
    joined = attributor.via_run(gha, [stale, run])
    assert joined is not None and joined.person == "alice@acme.com" and "run 42" in joined.how
    other = replace(run, ci_subject="repo:acme/api:ref:refs/heads/main")
    assert attributor.via_run(gha, [other]) is None  # no run with that subject: unknown, not someone


def test_actors_that_name_no_person_stay_unknown(read):
    attributor = who(read)
    bot = attributor.who(events(read)["e-bot"].actor)
    assert bot.machine and not bot.known and "role" in bot.how
    contractor = attributor.who(events(read)["e-contractor"].actor)
    assert contractor.actor.via == "role session name" and contractor.actor.email == "dev@contractor.example"
    assert not contractor.known and not contractor.person  # an address outside [identity] email_domains


def test_other_regions_and_history_older_than_ninety_days(fake):
    long = ActivityPeriod(ago(120), PERIOD.end)
    both = run(fake, regions=[REGION, "eu-west-1"], period=long)
    assert "e-eu" in events(both.result) and "e-old" in events(both.result)
    assert {c.region for c in both.called("LookupEvents")} == {REGION, "eu-west-1"}
    assert both.result.period == long
    # CloudTrail's event history keeps 90 days: what lies before is a gap, not a quiet time
    gap = next(g for g in both.result.gaps if "event history" in g.reason)
    assert "CloudTrail Lake" in gap.hides and gap.about == "activity"
    starts = {c.params["StartTime"] for c in both.called("LookupEvents")}
    assert min(starts) > (NOW - timedelta(days=91)).timestamp()


# ---------------------------------------------------------------- last use


def test_access_advisor_reports_last_use_per_principal_and_service(clean):
    read = clean.result
    used = last_used(read)
    release = used[(f"aws:{arn('role', 'release')}", "codedeploy")]
    assert release.last_used == ago(143) and release.resource == f"aws:account:{A}"
    assert release.entity == arn("role", "release") and release.region == REGION
    never = used[(f"aws:{arn('user', 'alice')}", "ecs")]
    assert never.last_used is None and never.tracked_since < ago(399)  # no use in IAM's 400-day window
    assert used[(f"aws:{arn('group', 'deployers')}", "ecs")].entity == arn("user", "alice")
    # the report was paged (page size 2) and its job polled until COMPLETED
    assert (f"aws:{arn('role', 'gha-api-prod')}", "s3") in used
    gets = clean.called("GetServiceLastAccessedDetails")
    assert any(c.params.get("Marker") for c in gets)
    generated = {c.params["Arn"] for c in clean.called("GenerateServiceLastAccessedDetails")}
    assert arn("user", "bob") not in generated  # bob holds no production grant: not asked about


def test_role_last_used_comes_with_the_iam_snapshot(read):
    used = last_used(read)
    release = used[(f"aws:{arn('role', 'release')}", "")]
    assert release.last_used is None and release.evidence["source"] == "RoleLastUsed (GetAccountAuthorizationDetails)"


def test_role_last_used_falls_back_to_get_role(fake):
    cfg = config(fake.url)
    with pytest.MonkeyPatch.context() as mp:
        aws_env(mp, {"AWS_ACCESS_KEY_ID": "AKIDAUDITOR", "AWS_SECRET_ACCESS_KEY": "x"})
        import boto3
        clients = Clients(boto3.Session(region_name=REGION), cfg.sources.aws, RequestCounter())
        account = AccountRead(id=A, iam={"RoleDetailList": [{"Arn": arn("role", "release")}]})
        reader = ActivityReader(cfg.sources.aws, PERIOD, [], lambda e: None)
        from foureyes.connectors.aws.activity import AccountActivity
        out = AccountActivity(account)
        reader.roles_last_used(clients, out, [arn("role", "release"), arn("role", "gone")])
    assert out.roles[arn("role", "release")] == ({}, "GetRole")
    assert [g.hides for g in out.gaps] == ["last use of role gone"]  # NoSuchEntity from moto


# ---------------------------------------------------------------- what cannot be read


def test_cloudtrail_access_denied_is_a_gap_about_activity_never_a_quiet_period(denied):
    result = denied.result
    assert not events(result)
    gaps = [g for g in result.gaps if "CloudTrail" in g.reason]
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap.resource == f"aws:account:{A}" and gap.about == "activity"
    assert gap.reason == (f"CloudTrail unreadable in {REGION}: AccessDeniedException (HTTP 400) on "
                          "cloudtrail:LookupEvents")
    assert gap.hides.startswith("deployments and their actors")
    assert len(denied.called("LookupEvents")) == 1  # denied once: the other event names are not tried
    assert (f"aws:{arn('role', 'release')}", "codedeploy") in last_used(result)  # Access Advisor still read
    # the change population (foureyes changes, the evidence report) lists it with the period's other unknowns
    from foureyes.changes import population

    cfg = config("http://unused")
    snapshot = Snapshot(1, "t", "", (result,))
    assert gap in population(snapshot, link(snapshot, cfg), cfg).gaps


def test_a_failed_access_advisor_report_is_a_gap_on_that_principal(denied):
    gaps = [g for g in denied.result.gaps if "Access Advisor" in g.reason]
    assert [(g.reason, g.hides) for g in gaps] == [(
        "Access Advisor report of role/ops-deploy failed (ServiceFailure) on iam:GetServiceLastAccessedDetails",
        "last use of role/ops-deploy (whether its grants are used)")]
    assert not [u for u in last_used(denied.result) if u[0].endswith("role/ops-deploy") and u[1]]


def test_a_throttled_lookup_is_retried(rough):
    assert "e-alice" in events(rough.result)
    assert not [g for g in rough.result.gaps if "CloudTrail" in g.reason]
    assert ("LookupEvents", 400) in {(op, status) for op, status, _ in rough.responses}


def test_access_advisor_denied_is_one_gap_on_the_account(rough):
    gaps = [g for g in rough.result.gaps if "Access Advisor" in g.reason]
    assert [g.reason for g in gaps] == ["Access Advisor unreadable: AccessDenied (HTTP 403) on "
                                        "iam:GenerateServiceLastAccessedDetails"]
    assert gaps[0].about == "activity" and "principals with production grants" in gaps[0].hides
    assert len(rough.called("GenerateServiceLastAccessedDetails")) == 1
    assert not [u for u in last_used(rough.result) if u[1]]  # no service-level last use at all


def test_without_a_period_no_activity_is_read(fake):
    fake.reset()
    cfg = config(fake.url)
    with pytest.MonkeyPatch.context() as mp:
        aws_env(mp, {"AWS_ACCESS_KEY_ID": "AKIDAUDITOR", "AWS_SECRET_ACCESS_KEY": "x"})
        result = AwsConnector(cfg.sources.aws, config=cfg).collect(lambda e: None)
    assert result.activity == () and result.period is None
    assert not fake.calls


# ---------------------------------------------------------------- the fake speaks AWS's shapes


def _model(service_name: str) -> Any:
    return botocore.session.get_session().get_service_model(service_name)


def _json_fits(value: Any, shape: Any, where: str) -> None:
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        for key, item in value.items():
            assert key in shape.members, f"{where}.{key} is not in the model"
            _json_fits(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            _json_fits(item, shape.member, f"{where}[{i}]")
    elif shape.type_name == "timestamp":
        assert isinstance(value, (int, float)), f"{where}: JSON 1.1 timestamps are epoch seconds"
    elif shape.type_name == "string":
        assert isinstance(value, str), where
        assert not shape.enum or value in shape.enum, where
    elif shape.type_name in ("integer", "long"):
        assert isinstance(value, int), where
    elif shape.type_name == "boolean":
        assert isinstance(value, bool), where


def _xml_fits(element: ET.Element, shape: Any, where: str) -> None:
    if shape.type_name == "structure":
        for child in element:
            name = child.tag.split("}", 1)[-1]
            assert name in shape.members, f"{where}.{name} is not in the model"
            _xml_fits(child, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list":
        for child in element:
            assert child.tag.split("}", 1)[-1] == "member", where
            _xml_fits(child, shape.member, f"{where}[]")
    elif shape.type_name == "timestamp":
        datetime.fromisoformat((element.text or "").replace("Z", "+00:00"))
    elif shape.type_name == "string" and shape.enum:
        assert element.text in shape.enum, where


def test_the_fake_answers_in_the_shapes_of_botocores_service_models(clean, rough, denied):
    cloudtrail, iam = _model("cloudtrail"), _model("iam")
    assert cloudtrail.metadata["targetPrefix"] + ".LookupEvents" == (
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
    lookup = cloudtrail.operation_model("LookupEvents")
    declared = {e.name for e in lookup.error_shapes} | {"AccessDeniedException", "ThrottlingException"}
    seen = set()
    for operation, status, body in clean.responses + rough.responses + denied.responses:
        if operation == "LookupEvents":
            data = json.loads(body)
            if status == 200:
                _json_fits(data, lookup.output_shape, "LookupEvents")
                for event in data["Events"]:
                    assert json.loads(event["CloudTrailEvent"])["eventID"] == event["EventId"]
            else:
                assert data["__type"] in declared
        else:
            op = iam.operation_model(operation)
            root = ET.fromstring(body)
            if status == 200:
                assert root.tag == f"{{{iam.metadata['xmlNamespace']}}}{operation}Response"
                result = root.find(f"{{{iam.metadata['xmlNamespace']}}}{op.output_shape.serialization['resultWrapper']}")
                assert result is not None
                _xml_fits(result, op.output_shape, operation)
                missing = set(op.output_shape.required_members) - {c.tag.split('}', 1)[-1] for c in result}
                if result.findtext(f"{{{iam.metadata['xmlNamespace']}}}JobStatus") == "IN_PROGRESS":
                    # the model calls it required; its documentation: "null if the job is still in progress"
                    missing.discard("JobCompletionDate")
                assert not missing, f"{operation} lacks {missing}"
            else:
                code = root.findtext(f"{{{iam.metadata['xmlNamespace']}}}Error/{{{iam.metadata['xmlNamespace']}}}Code")
                assert code in {e.name for e in op.error_shapes} | {"AccessDenied", "Throttling"}, code
        seen.add((operation, status))
    assert {("LookupEvents", 200), ("LookupEvents", 400), ("GenerateServiceLastAccessedDetails", 200),
            ("GenerateServiceLastAccessedDetails", 403), ("GetServiceLastAccessedDetails", 200)} <= seen
    # what the connector sent fits the input shapes too
    calls = clean.calls + rough.calls + denied.calls
    for call in (c for c in calls if c.operation == "LookupEvents"):
        _json_fits(call.params, lookup.input_shape, "LookupEventsRequest")
    for call in (c for c in calls if c.operation != "LookupEvents"):
        members = iam.operation_model(call.operation).input_shape.members
        assert set(call.params) - {"Action", "Version"} <= set(members), call.params


def test_the_documented_read_only_policy_allows_every_activity_call():
    from .aws_moto import docs_policies

    caller, member, _trust = docs_policies()
    for document in (caller, member):
        for action in ("cloudtrail:LookupEvents", "iam:GenerateServiceLastAccessedDetails",
                       "iam:GetServiceLastAccessedDetails", "iam:GetRole"):
            decision = evaluate(action, f"arn:aws:iam::{A}:role/release", identity_policies=[document])
            assert decision.outcome == "allowed", (action, decision)


def test_security_audit_covers_the_activity_calls_and_view_only_does_not():
    managed = json.loads((ROOT / "tests/fixtures/aws_managed_policies/policies.json").read_text())
    calls = ("cloudtrail:LookupEvents", "iam:GenerateServiceLastAccessedDetails", "iam:GetServiceLastAccessedDetails",
             "iam:GetRole")

    def allowed(name: str) -> set[str]:
        document = managed[name]["document"]
        return {c for c in calls if evaluate(c, f"arn:aws:iam::{A}:role/x", identity_policies=[document]).allowed}

    assert allowed("SecurityAudit") == set(calls) and allowed("ReadOnlyAccess") == set(calls)
    assert "iam:GenerateServiceLastAccessedDetails" not in allowed("ViewOnlyAccess")  # docs/sources/aws.md says so


def test_every_catalogue_deploy_action_is_looked_up_or_said_why_not():
    from foureyes.connectors.aws.capabilities import load_catalogue
    from foureyes.model import DEPLOY_RUN

    actions = {a for way in load_catalogue().for_capability(DEPLOY_RUN) for a in way.actions}
    names = lookups(actions)
    looked = {a for found in names.values() for a in found}
    assert actions - looked == set(NOT_LOOKED_UP) & actions
    assert set(names["UpdateService"]) == {"apprunner:UpdateService", "ecs:UpdateService"}


# ---------------------------------------------------------------- the change population


def github_side(deployed_at: str) -> SourceResult:
    """acme/api's production change, approved by someone else, and the deployment whose run used gha-api-prod."""
    from foureyes.activity import Approval, Change, Commit
    from foureyes.model import Resource

    def person(login: str) -> Actor:
        return Actor(name=login, email=f"{login}@acme.com", via="login", kind="user")

    repo, env = "github:repo:acme/api", "github:environment:acme/api/production"
    change = Change("github", "acme/api#7", repo, ago(5, 2), branch="main", sha="m7", head_sha="c7", author=person("dora"),
                    commits=(Commit("c7", person("dora")),), approvals=(Approval(person("eve"), ago(5, 3), commit="c7"),),
                    merged_by=person("dora"), required_approvals=1)
    run = Deployment("github", "acme/api/deployments/7", repo, env, deployed_at, sha="m7", ref="main", run_id=42,
                     run_actor=person("dora"), triggering_actor=person("dora"), ci_subject=SUBJECT)
    return SourceResult("github", "github", resources=(
        Resource("github", "repo", "acme/api", tier="production"),
        Resource("github", "environment", "acme/api/production", tier="production", parent=repo)),
        activity=(change, run), period=PERIOD)


def changes_of(result: SourceResult):
    from foureyes.changes import population

    cfg = config("http://unused")
    snapshot = Snapshot(1, "t", "", (github_side(ago(5, 0.5)), result))
    return population(snapshot, link(snapshot, cfg), cfg)


def test_cloudtrail_deploys_join_the_change_population(read):
    found = changes_of(read)
    rows = {r.change.id: r for r in found.rows}
    # people's own sessions deployed by hand: an IAM user, an Identity Center user, sourceIdentity on a shared role
    hand = {i for i, r in rows.items() if r.source == "CloudTrail" and r.verdict == "not independent"}
    assert hand == {"e-alice", "e-apprunner", "e-kate", "e-carol"}
    assert {f.scope for f in found.facts if f.kind == "hand-deployed"} == {f"cloud-deploy:{i}" for i in hand}
    # a role nobody is behind, and a session named by an outside address: listed, unknown, with why
    assert rows["e-bot"].verdict == "unknown" and "trusted by no GitHub OIDC subject" in rows["e-bot"].why
    assert rows["e-contractor"].verdict == "unknown" and "not linked to a person" in rows["e-contractor"].why
    # the OIDC role's call is the GitHub run's: a hop of the deployment, not a row; denied calls deployed nothing
    assert not {"e-gha", "e-oidc", "e-bob-denied"} & set(rows)
    change = rows["acme/api#7"]
    assert change.verdict == "independent"
    [call] = change.deployments[0].events
    assert call.event.id == "e-gha" and call.run is not None and call.run.run_id == 42


def test_cloudtrail_access_denied_makes_the_changes_deployed_there_unknown_never_independent(denied):
    found = changes_of(denied.result)
    [change] = found.rows  # no CloudTrail event was read: only GitHub's change
    assert change.verdict == "unknown"
    assert "CloudTrail unreadable in us-east-1: AccessDeniedException" in change.why
    assert found.counts() == {"independent": 0, "not independent": 0, "unknown": 1}
    # and the population as a whole says what it lacks
    [note] = found.notes
    assert note.startswith(f"{A}: CloudTrail unreadable") and "missing from this population" in note
