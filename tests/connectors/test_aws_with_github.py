"""Both real connectors in one snapshot: GitHub (fake server) and AWS (moto), joined by OIDC.

The GitHub connector emits the CI contexts a person can cause alone; the AWS connector
emits the trust patterns of the roles; `who-can` joins them. Nothing is hand-built.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import run_cli
from fakes.github_server import FakeGitHub

from . import aws_moto

TOKEN = "ghp_aws_join_test_token_0001"

ORG = {
    "org": {"login": "acme", "name": "Acme Corp", "default_repository_permission": "read", "saml": True,
            "plan": "enterprise"},
    "people": [
        {"login": "lena", "name": "Lena Lopez", "role": "member", "saml": "lena@acme.com"},
        {"login": "omar", "name": "Omar Osman", "role": "member", "saml": "omar@acme.com"},
        {"login": "rhea", "name": "Rhea Reader", "role": "member", "saml": "rhea@acme.com"},  # read only
    ],
    "teams": [],
    "repos": [
        {   # production has no reviewer: lena, a writer, deploys through it alone
            "name": "api", "branches": ["main"], "collaborators": {"lena": "write"},
            "protection": [{"pattern": "main", "required_approvals": 1, "enforce_admins": True}],
            "environments": [{"name": "production", "reviewers": [], "prevent_self_review": False,
                              "can_admins_bypass": False}],
        },
        {   # no environment at all: omar's branches are what a repo:acme/* trust admits
            "name": "web", "branches": ["main"], "collaborators": {"omar": "write"},
            "protection": [{"pattern": "main", "required_approvals": 1, "enforce_admins": True}],
        },
    ],
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory, moto):
    home = tmp_path_factory.mktemp("aws-github")
    world = moto.world("acme", aws_moto.build_world)  # built once per worker; the tests only read it
    url = world.url
    try:
        with FakeGitHub(ORG) as gh:
            config = home / "foureyes.toml"
            config.write_text(f"""
[store]
url = "sqlite:///{home / 'foureyes.db'}"

[tiers.production]
aws_account_tags = {{ env = "prod" }}
aws_ous = ["/Root/Workloads/Prod"]
github_environments = ["production"]

[identity]
email_domains = ["acme.com"]

[sources.github]
org = "acme"
base_url = "{gh.url}"
timeout = 5.0

[sources.aws]
endpoint_url = "{url}"
organization = true
assume_role_name = "{aws_moto.AUDIT_ROLE}"
max_attempts = 1
""")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FOUREYES_", "GITHUB_"))}
            env.update(world.auditor)
            env.update({"GITHUB_TOKEN": TOKEN, "AWS_CONFIG_FILE": str(home / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"), "AWS_EC2_METADATA_DISABLED": "true",
                        "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "c")})

            def foureyes(*args: str) -> subprocess.CompletedProcess:
                done = run_cli("-c", str(config), *args, env=env, replace_env=True, cwd=home)
                assert TOKEN not in done.stdout + done.stderr
                assert world.auditor["AWS_SECRET_ACCESS_KEY"] not in done.stdout + done.stderr
                return done

            aws_moto.enforce_iam(url, True)
            try:
                snapshot = foureyes("snapshot")
            finally:
                aws_moto.enforce_iam(url, False)
        yield world, snapshot, foureyes
    finally:
        aws_moto.enforce_iam(url, False)  # the server is shared: leave it as the next module expects


def test_both_sources_are_read(cli):
    _, snapshot, _ = cli
    assert snapshot.returncode == 3, snapshot.stderr  # the AWS gaps (acme-legacy, moto's missing API)
    assert "github: " in snapshot.stderr and "aws: read account acme-prod" in snapshot.stderr


def test_github_contexts_reach_aws_roles_through_oidc_trust(cli):
    world, _, foureyes = cli
    done = foureyes("who-can", "deploy.run", "--tier", "production", "--scope", "aws:account:*", "--format", "json")
    assert done.returncode == 0, done.stderr
    people = {p["person"]: p for p in json.loads(done.stdout)["people"]}
    assert {"lena@acme.com", "omar@acme.com"} <= set(people)
    assert "rhea@acme.com" not in people  # read access causes no CI context
    (lena,) = people["lena@acme.com"]["holdings"]
    # The exact subject is the GitHub context itself: no "matches" hop, straight to the role.
    assert [(h["kind"], h["key"]) for h in lena["hops"]][1:4] == [
        ("account", "github:lena"), ("can-trigger", "ci:repo:acme/api:environment:production"),
        ("can-assume", f"aws:arn:aws:iam::{world.prod}:role/gha-api-prod")]
    assert (lena["resource"], lena["repo"]) == (f"aws:account:{world.prod}", "acme/api")
    omar = people["omar@acme.com"]
    (holding,) = omar["holdings"]
    keys = [hop["key"] for hop in holding["hops"]]
    assert keys[1] == "github:omar"
    assert "ci:repo:acme/*" in keys  # the wildcard pattern, joined by the graph
    assert keys[keys.index("ci:repo:acme/*") + 1] == f"aws:arn:aws:iam::{world.prod}:role/gha-acme-any"
    assert holding["repo"] == "acme/web"
