"""End to end: `foureyes snapshot --source github` against the fake server, then the analysis.

The CLI runs as a user runs it, with its own environment (in this process: tests/conftest.py's
run_cli); the fake GitHub runs in the test process on loopback. Capabilities and paths are asserted through `who-can` and `check` (JSON).
"""

from __future__ import annotations

import json
import re
import os
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli
from fakes import config_toml
from fakes.github_server import FakeGitHub, load_fixture

TOKEN = "ghp_end_to_end_secret_token_9001"


class Cli:
    def __init__(self, tmp: Path, url: str):
        self.config = tmp / "foureyes.toml"
        self.config.write_text(config_toml(url), encoding="utf-8")
        self.db = tmp / "github-e2e.db"
        self.env = dict(os.environ, GITHUB_TOKEN=TOKEN, FOUREYES_STORE_URL=f"sqlite:///{self.db}")
        self.env.pop("FOUREYES_DEBUG", None)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = run_cli("-c", str(self.config), *args, env=self.env, replace_env=True)
        assert TOKEN not in result.stdout and TOKEN not in result.stderr
        return result

    def json(self, *args: str) -> dict:
        result = self(*args, "--format", "json")
        assert result.returncode in (0, 1), result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def acme(tmp_path_factory):
    """One snapshot of the scenario organisation, stored through the CLI."""
    tmp = tmp_path_factory.mktemp("github-e2e")
    with FakeGitHub(load_fixture("scenarios.yaml")) as gh:
        cli = Cli(tmp, gh.url)
        snap = cli("snapshot", "--source", "github", "--stats")
        cli.snapshot = snap  # type: ignore[attr-defined]
        gh.settle()
        cli.server_requests = gh.stats.total  # type: ignore[attr-defined]
        cli.server_points = gh.stats.points + gh.stats.rest  # type: ignore[attr-defined]
    return cli


def people(data: dict) -> dict[str, dict]:
    return {p["person"]: p for p in data["people"]}


def test_snapshot_prints_stats_and_the_gap(acme):
    snap = acme.snapshot
    assert snap.returncode == 3, snap.stderr  # stored, but the hidden bypass list is a gap
    assert "snapshot 1 stored" in snap.stdout
    # --stats: what the source cost, one row (requests, retries, pages, rate-limit points, waited, time)
    row = _stats_row(snap.stdout, "github")
    assert row[:2] == [f"{acme.server_requests:,}", "0"] and int(row[2].replace(",", "")) > 0
    # the rise of the fake's x-ratelimit-used while it read: a REST call is a point of the core
    # budget, a GraphQL query what GitHub's formula charges (it can be more than one point)
    points = int(row[3].replace(",", ""))
    assert points == acme.server_points and row[4] == "0.0 s" and row[5].endswith(" s") and row[6] == "ok"
    assert "github: read acme/payments-api" in snap.stderr
    assert "foureyes: gap: [github] github:repo:acme/legacy: ruleset 'legacy': bypass list not visible" in snap.stderr
    listed = acme.json("snapshots")["snapshots"]
    assert [s["gaps"] for s in listed] == [1]
    stored = listed[0]["sources"][0]["stats"]
    assert stored["requests"] == acme.server_requests and stored["rate_limit_points"] == points
    assert stored["pages"] == int(row[2].replace(",", "")) and stored["elapsed_s"] > 0


def _stats_row(stdout: str, source: str) -> list[str]:
    """A source's row of `snapshot --stats`' table, cell by cell."""
    lines = stdout.splitlines()
    start = lines.index("what each source cost")  # the table's title
    return next(re.split(r"\s{2,}", line.strip()) for line in lines[start:] if line.split()[:1] == [source])[1:]


def test_stats_say_what_a_failed_source_cost(tmp_path):
    """A source that fails still says what it sent before it failed: requests, retries, time."""
    with FakeGitHub(load_fixture("scenarios.yaml")) as gh:
        gh.faults.add("/orgs/acme", status=502, times=100)
        cli = Cli(tmp_path, gh.url)
        result = cli("snapshot", "--source", "github", "--stats")
        gh.settle()
        sent = gh.stats.total
    assert result.returncode == 3 and "foureyes: source github failed: " in result.stderr, result.stderr
    requests, retries, pages, points, waited, elapsed, status = _stats_row(result.stdout, "github")
    assert sent > 1 and (requests, retries, pages) == (str(sent), str(sent - 1), "0")
    assert points == str(sent) and elapsed.endswith("s") and status == "FAILED (below)"
    stored = cli.json("snapshots")["snapshots"][0]["sources"][0]["stats"]
    assert (stored["requests"], stored["retries"], stored["pages"]) == (sent, sent - 1, 0)


def test_who_can_deploy_to_production(acme):
    data = acme.json("who-can", "deploy.run", "--tier", "production")
    assert {"capability", "tier", "snapshot", "people"} <= set(data)
    who = people(data)
    assert set(who) == {"sam@acme.com", "walt@acme.com", "olivia@acme.com", "github:contractor", "github:nina"}
    (sam,) = who["sam@acme.com"]["paths"]
    assert sam == [
        "Sam Sato <sam@acme.com>",
        "Sam Sato (linked by SAML identity nameId sam@acme.com)",
        "job in environment production of acme/storefront (required reviewer of production who may approve their "
        "own run (can create unprotected branch release/x matching release/*))",
        "deploy through environment production on environment production of acme/storefront (jobs in production "
        "receive its secrets and deploy; workflows on the default branch impersonate "
        "web-deployer@acme-prod-web.iam.gserviceaccount.com via "
        "projects/9999/locations/global/workloadIdentityPools/github/providers/github)",
        "deploy.run (impersonate web-deployer@acme-prod-web.iam.gserviceaccount.com via "
        "projects/9999/locations/global/workloadIdentityPools/github/providers/github)",
    ]
    (walt,) = who["walt@acme.com"]["paths"]
    assert walt[2] == "team web (member of team web)"
    assert walt[3].startswith("job in environment production of acme/webhooks (can push acme/webhooks and "
                              "environment production has no required reviewer")
    assert who["github:contractor"]["accounts"] == ["github:contractor"]
    # payments-api production needs an independent reviewer: neither its admin nor its reviewers deploy alone
    assert "max@acme.com" not in who and "petra@acme.com" not in who


def test_who_can_merge_unreviewed_and_push(acme):
    merge = people(acme.json("who-can", "code.merge_unreviewed"))
    by_repo = {p: {h["resource"]: h["latent"] for h in d["holdings"]} for p, d in merge.items()}
    assert by_repo["max@acme.com"] == {"github:repo:acme/payments-api": False}
    assert by_repo["rita@acme.com"] == {"github:repo:acme/infra": False}
    assert by_repo["bob@acme.com"] == by_repo["cara@acme.com"] == by_repo["tina@acme.com"] == {
        "github:repo:acme/ledger": False}
    assert by_repo["fatima@acme.com"] == {"github:repo:acme/ml-models": False}
    assert by_repo["olivia@acme.com"]["github:repo:acme/storefront"] is True
    assert "ruth@acme.com" not in by_repo and "sue@acme.com" not in by_repo
    tina_path = merge["tina@acme.com"]["paths"][0]
    assert tina_path[2] == "team release-managers (member of team release-managers)"
    assert "bypass (team release-managers), mode pull_request" in tina_path[3]

    push = people(acme.json("who-can", "code.push", "--scope", "repo:acme/payments-api"))
    assert set(push) == {"olivia@acme.com", "max@acme.com", "priscilla@acme.com", "pedro@acme.com", "petra@acme.com"}
    petra = push["petra@acme.com"]["paths"][0]
    assert petra[2:4] == ["team payments-leads (member of team payments-leads)",
                          "team payments (parent of team payments-leads)"]


def test_check_fails_on_conflicts_and_lists_the_gap(acme):
    result = acme("check", "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["gaps"] == [{
        "system": "github", "resource": "github:repo:acme/legacy",
        "reason": "ruleset 'legacy': bypass list not visible with this token "
                  "(GET /repos/acme/legacy/rulesets/9 returned no bypass_actors)",
        "hides": "ruleset bypass actors who may merge without review"}]
    failing = {(f["rule"], f["person"] or f["subject"]) for f in data["failing"]}
    assert ("FE-SOD-004", "sam@acme.com") in failing  # approves his own production deployment
    assert ("FE-SOD-003", "walt@acme.com") in failing  # lands unreviewed code and deploys it
    assert ("FE-POS-001", "github:environment:acme/webhooks/production") in failing
    assert ("FE-POS-003", "github:repo:acme/payments-api") in failing
    assert not any(person == "max@acme.com" for _, person in failing)


def test_the_token_is_stored_nowhere(acme):
    assert TOKEN.encode() not in acme.db.read_bytes()


def test_a_faulty_snapshot_equals_a_clean_one(tmp_path):
    digests = []
    for faulty in (False, True):
        with FakeGitHub(load_fixture("scenarios.yaml")) as gh:
            if faulty:
                gh.faults.secondary_rate_limit("/orgs/acme/teams/web/repos", retry_after=1)
                gh.faults.server_error("/repos/acme/storefront/environments/production/deployment-branch-policies")
                gh.faults.server_error("/repos/acme/webhooks/environments")
            cli = Cli(tmp_path, gh.url)
            result = cli("snapshot", "--source", "github", "--stats")
            assert result.returncode == 3, result.stderr
            if faulty:
                assert not gh.faults.pending
                assert _stats_row(result.stdout, "github")[1] == "3"  # retries
        digests.append(cli.json("snapshots")["snapshots"][-1])
    clean, faulty = digests
    assert faulty["digest"] == clean["digest"]  # same principals, grants, edges and gaps: nothing lost or doubled
    assert faulty["sources"][0]["counts"] == clean["sources"][0]["counts"]
