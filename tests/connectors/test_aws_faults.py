"""The AWS connector under failure: resets, read timeouts, 5xx bursts, throttling, malformed and cut-off answers.

boto3 talks to moto's server through the fault proxy of tests/connectors/aws_faults.py. A
fault that clears within botocore's retries ([sources.aws] max_attempts) must give exactly
the clean run's data; one that does not must end as a Gap on the account naming the API and
the cause, never as an empty page, and never with a credential in it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from . import aws_moto
from .aws_faults import MANAGEMENT, FaultProxy
from .aws_moto import ECS_DEPLOY, LAMBDA_DEPLOY, allow, client, doc
from foureyes.config import parse_config
from foureyes.connectors.aws.connector import AwsConnector
from foureyes.connectors.base import ProgressEvent
from foureyes.errors import SourceError
from foureyes.model import SourceResult

SECRET = "canary-secret-key-do-not-leak-4711"  # what the connector signs with; moto does not check it


@pytest.fixture(scope="module")
def world(moto):
    """A small organisation: the management account, acme-prod (tagged, under an SCP), Identity Center."""
    url = moto.fresh()  # this worker's moto server, emptied
    proxy = FaultProxy(url)
    try:
        org = client(url, "organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        prod = org.create_account(Email="prod@acme.com", AccountName="acme-prod",
                                  Tags=[{"Key": "env", "Value": "prod"}])["CreateAccountStatus"]["AccountId"]
        scp = org.create_policy(Name="no-user-policies", Description="", Type="SERVICE_CONTROL_POLICY",
                                Content=doc({"Effect": "Deny", "Action": "iam:PutUserPolicy", "Resource": "*"}))
        org.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=prod)
        aws_moto._user(client(url, "iam"), "una", ("email", "una@acme.com"), inline={"admin": doc(allow("*"))},
                       keys=True)
        iam = client(url, "iam", aws_moto._assumed(url, prod))
        iam.create_group(GroupName="deployers")
        iam.put_group_policy(GroupName="deployers", PolicyName="ecs", PolicyDocument=ECS_DEPLOY)
        aws_moto._user(iam, "alice", ("email", "alice@acme.com"), groups=("deployers",), keys=True)
        aws_moto._user(iam, "bob", ("email", "bob@acme.com"))
        aws_moto._role(iam, "ops-deploy", aws_moto._trust_aws(f"arn:aws:iam::{prod}:user/bob"),
                       inline={"lambda": LAMBDA_DEPLOY})
        sso, store = client(url, "sso-admin"), client(url, "identitystore")
        instance = sso.list_instances()["Instances"][0]
        store_id, arn = instance["IdentityStoreId"], instance["InstanceArn"]
        kate = store.create_user(IdentityStoreId=store_id, UserName="kate", DisplayName="Kate Kim",
                                 Name={"GivenName": "Kate", "FamilyName": "Kim"},
                                 Emails=[{"Value": "kate@acme.com", "Type": "work", "Primary": True}])["UserId"]
        group = store.create_group(IdentityStoreId=store_id, DisplayName="deployers")["GroupId"]
        store.create_group_membership(IdentityStoreId=store_id, GroupId=group, MemberId={"UserId": kate})
        deployer = sso.create_permission_set(InstanceArn=arn, Name="Deployer")["PermissionSet"]["PermissionSetArn"]
        sso.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=deployer, InlinePolicy=ECS_DEPLOY)
        sso.create_account_assignment(InstanceArn=arn, TargetId=prod, TargetType="AWS_ACCOUNT",
                                      PermissionSetArn=deployer, PrincipalType="GROUP", PrincipalId=group)
        yield proxy, prod
    finally:
        proxy.stop()


class Run:
    def __init__(self, result: SourceResult, proxy: FaultProxy, events: list[ProgressEvent]):
        self.result, self.proxy, self.events = result, proxy, events

    def gap(self, account: str, reason: str) -> Any:
        resource = f"aws:account:{account}" if account else ""
        found = [g for g in self.result.gaps if g.resource == resource and g.reason == reason]
        assert len(found) == 1, [(g.resource, g.reason) for g in self.result.gaps]
        return found[0]


def collect(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, events: list[ProgressEvent], **aws: Any) -> SourceResult:
    settings = {"endpoint_url": proxy.url, "organization": True, "max_attempts": 2, "timeout": 1.0, **aws}
    config = parse_config("[tiers.production]\naws_account_tags = { env = \"prod\" }\n[sources.aws]\n"
                          + "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items()))
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return AwsConnector(config.sources.aws, config=config).collect(events.append)


def run(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, plan: Callable[[FaultProxy], None] | None = None,
        **aws: Any) -> Run:
    proxy.reset()
    # moto lacks this call; AWS answers it so when a permission set has no boundary
    proxy.add("GetPermissionsBoundaryForPermissionSet", status=400, code="ResourceNotFoundException", times=None)
    if plan:
        plan(proxy)
    events: list[ProgressEvent] = []
    result = collect(proxy, monkeypatch, events, **aws)
    shown = repr(result) + "\n".join(e.message for e in events)
    for secret in {SECRET, *proxy.secrets}:
        assert secret not in shown
    return Run(result, proxy, events)


def data(result: SourceResult) -> tuple[Any, ...]:
    return result.principals, result.resources, result.grants, result.edges, result.gaps


def planned(proxy: FaultProxy) -> list[Any]:
    return [f for f in proxy.faults if f.action != "GetPermissionsBoundaryForPermissionSet"]


def assert_nothing_silently_missing(faulty: SourceResult, clean: SourceResult) -> None:
    """Every resource is still there; every grant the clean run had sits on a resource with a new Gap."""
    assert {r.key for r in faulty.resources} >= {r.key for r in clean.resources}
    gapped = {g.resource for g in set(faulty.gaps) - set(clean.gaps)}
    kept = {g.key for g in faulty.grants}
    lost = [g for g in clean.grants if g.key not in kept]
    assert all(g.resource in gapped or "" in gapped for g in lost), [(g.principal, g.resource) for g in lost]


@pytest.fixture(scope="module")
def clean(world) -> SourceResult:
    proxy, _ = world
    with pytest.MonkeyPatch.context() as mp:
        found = run(proxy, mp, timeout=10.0)  # no faults: a loaded machine must not make it retry
    assert found.result.stats["retries"] == 0 and found.result.stats["requests"] == len(proxy.requests)
    assert not [g for g in found.result.gaps]  # the clean organisation reads whole
    return found.result


# ---------------------------------------------------------------- faults that clear


def test_resets_read_timeouts_and_5xx_bursts_are_retried_to_the_clean_result(world, clean, monkeypatch):
    proxy, prod = world

    def plan(p: FaultProxy) -> None:
        p.add("GetCallerIdentity", "reset")
        p.add("AssumeRole", "delay", delay=1.4)  # [sources.aws] timeout is 1 s
        p.add("ListAccounts", status=503)
        p.add("ListAccounts", status=500)  # the same call's second answer: a burst of two
        p.add("GetAccountAuthorizationDetails", "reset", account=prod)
        p.add("ListGroupMemberships", status=502)
        p.add("ListPermissionSets", "throttle")

    faulty = run(proxy, monkeypatch, plan)
    faults = planned(proxy)
    assert all(f.fired == f.times for f in faults)
    assert data(faulty.result) == data(clean)
    # each failed call was asked again until it answered, and no more
    asked = {"GetCallerIdentity": 2, "AssumeRole": 2, "ListAccounts": 3, "ListGroupMemberships": 2,
             "ListPermissionSets": 2}
    assert {action: len(proxy.seen(action)) for action in asked} == asked
    assert len(proxy.seen("GetAccountAuthorizationDetails", prod)) == 2
    assert faulty.result.stats["retries"] >= 7  # more only if the loaded machine let a request outlast the timeout
    assert faulty.result.stats["requests"] == len(proxy.requests)


# ---------------------------------------------------------------- faults that do not clear


def test_exhausted_throttling_resets_timeouts_and_5xx_end_after_max_attempts_as_gaps_naming_the_api(
        world, clean, monkeypatch):
    proxy, prod = world

    def plan(p: FaultProxy) -> None:
        p.add("GetAccountAuthorizationDetails", "throttle", account=prod, times=None)
        p.add("ListPoliciesForTarget", "throttle", times=None)
        p.add("ListAccountAssignments", "throttle", times=None)
        p.add("ListTagsForResource", "reset", times=None)
        p.add("ListAccessKeys", "delay", delay=0.8, account=MANAGEMENT, times=None)
        p.add("ListUsers", status=500, times=None)

    faulty = run(proxy, monkeypatch, plan, max_attempts=1, timeout=0.6)
    iam = faulty.gap(prod, "Throttling (HTTP 400) on iam:GetAccountAuthorizationDetails after 2 attempts")
    assert iam.hides == "every IAM user, group and role of this account and what they can do"
    assert len(proxy.seen("GetAccountAuthorizationDetails", prod)) == 2  # max_attempts = 1: one retry, no more
    faulty.gap(prod, "organization path or SCPs unreadable: TooManyRequestsException (HTTP 400) on "
                     "organizations:ListPoliciesForTarget after 2 attempts")
    faulty.gap(prod, "Identity Center assignments of permission set Deployer unreadable: ThrottlingException "
                     "(HTTP 400) on sso:ListAccountAssignments after 2 attempts")
    for account in (MANAGEMENT, prod):
        faulty.gap(account, "account tags unreadable: ConnectionClosedError (connection closed before an answer) "
                            "on organizations:ListTagsForResource")
    faulty.gap(MANAGEMENT, "access keys unreadable: ReadTimeoutError (no answer within [sources.aws] timeout) on "
                           "iam:ListAccessKeys")
    faulty.gap("", "Identity Center users or groups unreadable: InternalFailure (HTTP 500) on "
                   "identitystore:ListUsers after 2 attempts")
    assert all(len(proxy.seen(f.action)) == f.fired for f in planned(proxy) if f.account == "")
    assert_nothing_silently_missing(faulty.result, clean)
    # acme-prod is there and unread, not empty; what the management account grants is intact
    assert faulty.result.stats["accounts"] == 2 and faulty.result.stats["accounts_read"] == 1
    management = {g for g in clean.grants if g.resource == f"aws:account:{MANAGEMENT}"}
    assert management and management <= set(faulty.result.grants)


def test_malformed_and_cut_off_answers_are_gaps_naming_the_api_never_empty_pages(world, clean, monkeypatch):
    proxy, prod = world

    def plan(p: FaultProxy) -> None:
        p.add("GetAccountAuthorizationDetails", "truncate", account=prod)
        p.add("ListAccessKeys", "malformed", account=MANAGEMENT)
        p.add("ListGroups", "malformed")
        p.add("ListPermissionSets", "truncate")
        p.add("ListTagsForResource", "malformed")

    faulty = run(proxy, monkeypatch, plan)
    assert all(f.fired == 1 for f in planned(proxy))
    (iam,) = [g for g in faulty.result.gaps if g.resource == f"aws:account:{prod}" and "GetAccountAuth" in g.reason]
    assert iam.reason.startswith("malformed response (cut off after ")
    assert iam.reason.endswith(" bytes) on iam:GetAccountAuthorizationDetails")
    faulty.gap(MANAGEMENT, "access keys unreadable: malformed response (not the XML expected) on iam:ListAccessKeys")
    faulty.gap("", "Identity Center users or groups unreadable: malformed response (not JSON) on "
                   "identitystore:ListGroups")
    (sets,) = [g for g in faulty.result.gaps if g.reason.startswith("permission sets unreadable: ")]
    assert sets.reason.endswith(" bytes) on sso:ListPermissionSets") and "cut off after" in sets.reason
    tags = [g for g in faulty.result.gaps if g.reason.startswith("account tags unreadable: malformed response")]
    assert len(tags) == 1 and "tier given by account tags" in tags[0].hides
    assert faulty.result.stats["retries"] == 0  # botocore does not retry what it could not parse
    assert_nothing_silently_missing(faulty.result, clean)


def test_a_cut_off_account_list_or_assume_role_answer_is_a_gap_and_leaks_no_secret(world, clean, monkeypatch):
    proxy, prod = world
    faulty = run(proxy, monkeypatch, lambda p: p.add("AssumeRole", "truncate", times=None))  # retries too
    assert proxy.secrets  # the half that went out carried the secret key: run() checked it shows nowhere
    (assume,) = [g for g in faulty.result.gaps if g.resource == f"aws:account:{prod}"]
    assert assume.reason.startswith(f"could not assume arn:aws:iam::{prod}:role/OrganizationAccountAccessRole: "
                                    "malformed response (cut off after ")
    assert_nothing_silently_missing(faulty.result, clean)

    faulty = run(proxy, monkeypatch, lambda p: p.add("ListAccounts", "truncate"))
    (listing,) = [g for g in faulty.result.gaps if g.resource == ""]
    assert listing.reason.startswith("could not list the organization's accounts: malformed response (cut off after ")
    assert listing.hides == "every other account of the organization and the SCPs that apply"
    assert {r.id for r in faulty.result.resources} == {MANAGEMENT}  # read alone, and said so


def test_a_caller_identity_that_cannot_be_read_fails_the_source_with_one_clear_line(world, monkeypatch):
    proxy, _ = world
    with pytest.raises(SourceError) as failed:
        run(proxy, monkeypatch, lambda p: p.add("GetCallerIdentity", status=500, times=None), max_attempts=1)
    assert str(failed.value) == "AWS could not answer: InternalFailure (HTTP 500) on sts:GetCallerIdentity after 2 attempts"
    with pytest.raises(SourceError) as failed:
        run(proxy, monkeypatch, lambda p: p.add("GetCallerIdentity", "malformed"))
    assert str(failed.value) == (f"no usable answer from AWS at {proxy.url}: malformed response (not the XML expected) "
                                 "on sts:GetCallerIdentity")
    assert SECRET not in str(failed.value)
