"""End to end: `foureyes snapshot` reads the moto organisation, `foureyes who-can` answers.

The CLI runs as a user runs it (its own environment holding the credentials, moto
enforcing IAM), in this process (tests/conftest.py's run_cli). The GitHub side of the OIDC
scenario — who can run which workflow context — comes from a dataset in the shapes
docs/connectors.md gives the GitHub connector, so the graph joins `ci:` contexts with the AWS trust patterns.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import run_cli

from . import aws_moto
from foureyes.dataset import dump
from foureyes.model import Edge, EdgeKind, Kind, Principal, Resource, SourceResult

PRODUCTION = "production"


def github_side() -> SourceResult:
    """Three GitHub users, the CI contexts each can cause alone, and nothing else."""
    users = [("lena-gh", "Lena Lopez", "lena@acme.com"), ("omar-gh", "Omar Osman", "omar@acme.com"),
             ("pat-gh", "Pat Parker", "pat@acme.com")]
    principals = [Principal("github", login, Kind.USER, display_name=name, email=email,
                            attrs={"email_source": "saml"}) for login, name, email in users]
    contexts = {
        "lena-gh": ("repo:acme/api:environment:production", "acme/api", {}),
        "omar-gh": ("repo:acme/web:ref:refs/heads/*", "acme/web", {"protected": ["main"]}),
        "pat-gh": ("repo:other-org/tool:ref:refs/heads/*", "other-org/tool", {"protected": []}),
    }
    edges = []
    for login, (subject, repo, extra) in contexts.items():
        principals.append(Principal("ci", subject, Kind.WORKLOAD, display_name=f"workflow run {subject}",
                                    attrs={"repo": repo, **extra}))
        edges.append(Edge(f"github:{login}", f"ci:{subject}", EdgeKind.CAN_TRIGGER,
                          f"can run a workflow as {subject} without another person's approval"))
    resources = [Resource("github", "repo", repo, name=repo) for repo in ("acme/api", "acme/web", "other-org/tool")]
    return SourceResult(name="github", system="github", principals=tuple(principals), resources=tuple(resources),
                        edges=tuple(edges))


@pytest.fixture(scope="module")
def run(tmp_path_factory, moto):
    """Snapshot once; return a function running more foureyes commands against that store."""
    world = moto.world("acme", aws_moto.build_world)  # built once per worker; the tests only read it
    url = world.url
    home = tmp_path_factory.mktemp("who-can")
    try:
        dump([github_side()], home / "github.jsonl")
        config = home / "foureyes.toml"
        config.write_text(f"""
[store]
url = "sqlite:///{home / 'foureyes.db'}"

[tiers.production]
aws_account_tags = {{ env = "prod" }}
aws_ous = ["/Root/Workloads/Prod"]
github_environments = ["production"]

[tiers.staging]
aws_accounts = ["{world.staging}"]

[identity]
email_domains = ["acme.com"]

[sources.aws]
endpoint_url = "{url}"
organization = true
assume_role_name = "{aws_moto.AUDIT_ROLE}"
max_attempts = 1

[sources.demo]
dataset = "github.jsonl"
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FOUREYES_"))}
        env.update(world.auditor)
        env.update({"AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
                    "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
                    "XDG_CONFIG_HOME": str(home / "config")})

        def foureyes(*args: str) -> subprocess.CompletedProcess:
            return run_cli("-c", str(config), *args, env=env, replace_env=True, cwd=home)

        aws_moto.enforce_iam(url, True)
        try:
            snapshot = foureyes("snapshot", "--format", "json")
        finally:
            aws_moto.enforce_iam(url, False)
        yield world, snapshot, foureyes
    finally:
        aws_moto.enforce_iam(url, False)  # the server is shared: leave it as the next module expects


@pytest.fixture(scope="module")
def who_can(run):
    world, _, foureyes = run
    done = foureyes("who-can", "deploy.run", "--tier", PRODUCTION, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return world, data, {p["person"]: p for p in data["people"]}


def hops(person: dict) -> list[list[tuple[str, str]]]:
    """Each holding's path as (kind, key) pairs."""
    return [[(h["kind"], h["key"]) for h in holding["hops"]] for holding in person["holdings"]]


def test_the_snapshot_is_stored_and_exits_3_because_one_account_could_not_be_read(run):
    world, snapshot, _ = run
    assert snapshot.returncode == 3, snapshot.stderr
    info = json.loads(snapshot.stdout)
    sources = {s["name"]: s for s in info["sources"]}
    assert set(sources) == {"aws", "github"}
    assert sources["aws"]["error"] is None
    assert sources["aws"]["counts"]["gaps"] == 2
    assert (f"foureyes: gap: [aws] aws:account:{world.legacy}: AccessDenied (HTTP 403) on "
            "iam:GetAccountAuthorizationDetails") in snapshot.stderr


def test_who_can_deploy_to_production_lists_exactly_the_expected_people(who_can):
    world, data, people = who_can
    assert (data["capability"], data["tier"]) == ("deploy.run", PRODUCTION)
    assert isinstance(data["snapshot"], int)
    assert set(people) == {
        "alice@acme.com",  # IAM group deployers
        f"aws:arn:aws:iam::{world.prod}:user/ci-legacy",  # the same group, nobody's email
        "bob@acme.com",  # role ops-deploy names him
        "carol@acme.com",  # role release trusts the account; her policy allows AssumeRole
        "henry@acme.com",  # NotAction iam:* (and release, through the same NotAction)
        "olivia@acme.com",  # "*"
        "sam@acme.com",  # staging user, cross-account role
        "frank@acme.com",  # CodeDeploy in acme-payments, which the SCP allows
        "kate@acme.com",  # SSO group -> permission set ProdDeployer
        "mia@acme.com",  # SSO permission set BreakGlass, decided from its definition
        "lena@acme.com",  # GitHub environment production -> OIDC role gha-api-prod
        "omar@acme.com",  # any branch of acme/web -> OIDC role trusting repo:acme/*
    }
    # dan (no AssumeRole), erin (SCP), gina (boundary), ivan (admin only), leo (read only),
    # mallory (management account), zoe (unreadable account) and pat (other org) are absent.
    for person in people.values():
        assert person["paths"] and all(len(p) >= 4 for p in person["paths"])


def test_alice_deploys_through_her_group(who_can):
    world, _, people = who_can
    alice = people["alice@acme.com"]
    assert alice["accounts"] == [f"aws:arn:aws:iam::{world.prod}:user/alice"]
    (path,) = hops(alice)
    assert [k for k, _ in path] == ["person", "account", "member-of", "grant", "capability"]
    assert path[2][1] == f"aws:arn:aws:iam::{world.prod}:group/deployers"
    (text,) = alice["paths"]
    assert text[1].endswith("(linked by IAM user tag email alice@acme.com)")
    assert text[2] == "IAM group deployers in acme-prod (member of IAM group deployers)"
    assert text[3].startswith(f"policy DeployECS on acme-prod ({world.prod}) (policy DeployECS attached")
    assert text[4] == "deploy.run (ecs:UpdateService)"


def test_bob_and_carol_assume_roles(who_can):
    world, _, people = who_can
    (bob,) = hops(people["bob@acme.com"])
    assert [k for k, _ in bob] == ["person", "account", "can-assume", "grant", "capability"]
    assert bob[2][1] == f"aws:arn:aws:iam::{world.prod}:role/ops-deploy"
    (carol,) = hops(people["carol@acme.com"])
    assert carol[2][1] == f"aws:arn:aws:iam::{world.prod}:role/release"
    assert "trusts account acme-prod" in people["carol@acme.com"]["paths"][0][2]


def test_sam_reaches_production_from_staging(who_can):
    world, _, people = who_can
    (sam,) = hops(people["sam@acme.com"])
    assert sam[1][1] == f"aws:arn:aws:iam::{world.staging}:user/sam"
    assert sam[2] == ("can-assume", f"aws:arn:aws:iam::{world.prod}:role/cross-deploy")
    (holding,) = people["sam@acme.com"]["holdings"]
    assert holding["resource"] == f"aws:account:{world.prod}"


def test_frank_deploys_in_the_account_whose_scp_denies_ecs(who_can):
    world, _, people = who_can
    (holding,) = people["frank@acme.com"]["holdings"]
    assert holding["resource"] == f"aws:account:{world.payments}"
    assert holding["path"][-1] == "deploy.run (codedeploy:CreateDeployment)"


def test_kate_and_mia_deploy_through_identity_center(who_can):
    world, _, people = who_can
    (kate,) = hops(people["kate@acme.com"])
    assert [k for k, _ in kate] == ["person", "account", "member-of", "can-assume", "grant", "capability"]
    assert kate[1][1] == f"aws:sso:{world.store_id}:user/kate"
    assert kate[2][1] == f"aws:sso:{world.store_id}:group/prod-deployers"
    assert kate[3][1].endswith("role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ProdDeployer_0123456789abcdef")
    text = people["kate@acme.com"]["paths"][0]
    assert "Identity Center assignment of permission set ProdDeployer in acme-prod" in text[3]
    (mia,) = hops(people["mia@acme.com"])
    assert [k for k, _ in mia] == ["person", "account", "can-assume", "grant", "capability"]
    assert mia[2][1] == f"aws:sso:{world.store_id}:permission-set/BreakGlass/{world.payments}"


def test_oidc_joins_the_github_contexts_to_the_trusting_roles(who_can):
    world, _, people = who_can
    (lena,) = hops(people["lena@acme.com"])
    # An exact trusted subject is the context itself: the join needs no "matches" hop.
    assert [k for k, _ in lena] == ["person", "account", "can-trigger", "can-assume", "grant", "capability"]
    assert lena[2][1] == "ci:repo:acme/api:environment:production"
    assert lena[3][1] == f"aws:arn:aws:iam::{world.prod}:role/gha-api-prod"
    text = people["lena@acme.com"]["paths"][0]
    assert "sub StringEquals repo:acme/api:environment:production" in text[3]
    (holding,) = people["lena@acme.com"]["holdings"]
    assert holding["repo"] == "acme/api"
    (omar,) = hops(people["omar@acme.com"])
    assert [k for k, _ in omar] == ["person", "account", "can-trigger", "matches", "can-assume", "grant",
                                    "capability"]
    assert omar[2][1] == "ci:repo:acme/web:ref:refs/heads/*"
    assert omar[3][1] == "ci:repo:acme/*"  # only the wildcard admits a branch of acme/web
    assert omar[4][1] == f"aws:arn:aws:iam::{world.prod}:role/gha-acme-any"


def test_who_can_administer_production(run):
    world, _, foureyes = run
    done = foureyes("who-can", "access.admin", "--tier", PRODUCTION, "--format", "json")
    assert done.returncode == 0, done.stderr
    people = {p["person"] for p in json.loads(done.stdout)["people"]}
    # henry's NotAction excludes IAM; ivan's self-service is denied by the root SCP;
    # mallory's is not, but the management account is not production.
    assert people == {"olivia@acme.com"}


def test_staging_deployers_are_not_production(run):
    world, _, foureyes = run
    done = foureyes("who-can", "deploy.run", "--tier", "staging", "--format", "json")
    people = {p["person"] for p in json.loads(done.stdout)["people"]}
    assert people == {"sam@acme.com"}
