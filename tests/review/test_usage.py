"""Last use in reviews: each item says when its grant was last used and by what evidence; the
``unused`` scope and the "revoke: unused for N days" suggestion, on SQLite and PostgreSQL.

A small production estate written straight into the store: one person per kind of answer
(used lately, used long ago, never used in the tracked window, usage unreadable, usage not
reported), with the last-use records the AWS and GCP connectors write.
"""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest

from foureyes import review
from foureyes.activity import ActivityPeriod, LastUsed
from foureyes.config import parse_config
from foureyes.model import DEPLOY_RUN, Gap, Grant, Kind, Principal, Resource, SourceResult, Via
from foureyes.store import Store
from foureyes.usage import UsageIndex

PERIOD = ActivityPeriod("2026-08-04T00:00:00Z", "2026-11-02T00:00:00Z")
PROD, DARK, QUIET = "111111111111", "222222222222", "333333333333"
PROJECT = "acme-prod-web"
CONFIG_TOML = f"""
[tiers.production]
aws_accounts = ["{PROD}", "{DARK}", "{QUIET}"]
gcp_projects = ["{PROJECT}"]

[identity]
email_domains = ["acme.com"]

[campaigns]
fallback_reviewer = "ciso@acme.com"
unused_days = 120
"""


def _user(account: str, name: str) -> Principal:
    return Principal("aws", f"arn:aws:iam::{account}:user/{name}", Kind.USER, display_name=name,
                     email=f"{name}@acme.com", home=f"aws:account:{account}", attrs={"email_source": "tag"})


def _deploy(principal: Principal, account: str) -> Grant:
    return Grant("aws", principal.key, "policy DeployECS", f"aws:account:{account}", (DEPLOY_RUN,), via=Via.POLICY,
                 detail="policy DeployECS allows ecs:UpdateService", attrs={"actions": ["ecs:UpdateService"]})


def _ecs(principal: Principal, account: str, last: str | None) -> LastUsed:
    return LastUsed("aws", principal.key, "ecs", f"aws:account:{account}", last_used=last,
                    tracked_since="2025-09-28T00:00:00Z", entity=principal.id, region="us-east-1",
                    evidence={"source": "IAM Access Advisor", "ServiceName": "Amazon ECS"})


def estate() -> list[SourceResult]:
    alice, bob, carol = _user(PROD, "alice"), _user(PROD, "bob"), _user(PROD, "carol")
    dan, erin = _user(DARK, "dan"), _user(QUIET, "erin")
    people = [alice, bob, carol, dan, erin]
    grants = [_deploy(alice, PROD), _deploy(bob, PROD), _deploy(carol, PROD), _deploy(dan, DARK), _deploy(erin, QUIET)]
    aws = SourceResult(
        "aws", "aws", principals=tuple(people),
        resources=tuple(Resource("aws", "account", a, name=f"account {a}", tier="production")
                        for a in (PROD, DARK, QUIET)),
        grants=tuple(grants),
        gaps=(Gap("aws", f"aws:account:{DARK}", "Access Advisor unreadable: AccessDenied (HTTP 403) on "
                  "iam:GenerateServiceLastAccessedDetails", "last use of 1 principals with production grants",
                  about="activity"),),
        activity=(_ecs(alice, PROD, "2026-10-23T08:00:00Z"), _ecs(bob, PROD, "2026-06-12T08:00:00Z"),
                  _ecs(carol, PROD, None)),
        period=PERIOD)
    pat = Principal("gcp", "user:pat@acme.com", Kind.USER, display_name="pat@acme.com", email="pat@acme.com",
                    attrs={"email_source": "member"})
    run_dev = Grant("gcp", pat.key, "roles/run.developer", f"gcp:project:{PROJECT}", (DEPLOY_RUN,), via=Via.DIRECT)
    gcp = SourceResult(
        "gcp", "gcp", principals=(pat,), resources=(Resource("gcp", "project", PROJECT, name=PROJECT, tier="production"),),
        grants=(run_dev,),
        activity=(LastUsed("gcp", pat.key, "", f"gcp:project:{PROJECT}", last_used=None,
                           tracked_since="2026-08-03T00:00:00Z", grant=run_dev.key, entity="roles/run.developer",
                           evidence={"source": "IAM recommender", "exercised": []}),),
        period=PERIOD)
    return [aws, gcp]


@pytest.fixture
def config():
    return parse_config(CONFIG_TOML, "<usage test config>")


@pytest.fixture
def store(store_url, config):
    with Store(store_url) as opened:
        opened.write_snapshot(estate(), taken_at="2026-11-02T08:00:00+00:00", label="usage")
        yield opened


def _by_person(items) -> dict[str, review.Item]:
    return {i.person: i for i in items}


def test_each_item_says_when_its_grant_was_last_used_and_by_what_evidence(store, config):
    spec = review.spec_from_config(config, name="Q4", today=date(2026, 11, 20))
    campaign = review.create_campaign(store, config, spec, actor="ciso@acme.com", today=date(2026, 11, 20))
    items = _by_person(review.items(store, campaign.id))
    alice = items["alice@acme.com"].usage
    assert (alice.state, alice.last_used, alice.idle_days) == ("used", "2026-10-23T08:00:00Z", 9)
    assert alice.describe() == ("last used 2026-10-23 (IAM Access Advisor: ecs by user/alice)")
    assert alice.suggestion == ""
    bob = items["bob@acme.com"].usage
    assert bob.idle_days == 142 and bob.suggestion == "revoke: unused for 142 days"  # [campaigns] unused_days 120
    carol = items["carol@acme.com"].usage
    assert carol.state == "unused" and carol.last_used is None
    assert carol.describe() == "no use seen in the period (IAM Access Advisor: ecs, tracked since 2025-09-28)"
    assert carol.suggestion == "revoke: unused for at least 400 days"
    dan = items["dan@acme.com"].usage
    assert dan.state == "unknown" and dan.suggestion == ""  # unknown is never "unused"
    assert dan.describe().startswith("unknown: could not read usage (Access Advisor unreadable: AccessDenied")
    erin = items["erin@acme.com"].usage
    assert erin.state == "" and erin.describe().startswith("unknown: no usage was read for this grant")
    pat = items["pat@acme.com"].usage
    assert pat.state == "unused" and pat.evidence == "IAM recommender" and pat.idle_days == 91
    assert pat.suggestion == ""  # 91 days of observation are not the 120 the config asks for
    # the JSON shape carries it for scripts
    shaped = review.item_json(items["bob@acme.com"])["usage"]
    assert shaped["state"] == "used" and shaped["suggestion"] == "revoke: unused for 142 days"


def test_the_unused_scope_takes_only_grants_unused_for_n_days(store, config):
    spec = review.spec_from_config(config, name="unused", scope=review.Scope(kind="unused", unused_days=90),
                                   today=date(2026, 11, 20))
    campaign = review.create_campaign(store, config, spec, actor="ciso@acme.com", today=date(2026, 11, 20))
    items = _by_person(review.items(store, campaign.id))
    # used lately (alice), unknown (dan) and not reported (erin) are never "unused"
    assert set(items) == {"bob@acme.com", "carol@acme.com", "pat@acme.com"}
    assert items["pat@acme.com"].usage.suggestion == "revoke: unused for at least 91 days"
    assert campaign.scope.describe() == "production grants unused for 90 days or more"
    assert review.get_campaign(store, campaign.id).scope.unused_days == 90  # stored with the campaign


def test_campaign_show_lists_last_use_and_the_suggestion(store, store_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from foureyes.cli import main

    path = tmp_path / "foureyes.toml"
    path.write_text(CONFIG_TOML, encoding="utf-8")
    monkeypatch.setenv("FOUREYES_STORE_URL", store_url)
    runner = CliRunner()

    def run(*args: str) -> SimpleNamespace:
        result = runner.invoke(main, ["-c", str(path), *args], catch_exceptions=False)
        return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)

    made = run("campaign", "new", "--scope", "unused", "--as", "ciso@acme.com", "--format", "json")
    assert made.code == 0, made.err
    campaign = json.loads(made.out)
    assert campaign["scope"]["kind"] == "unused" and campaign["scope"]["unused_days"] == 120
    shown = run("campaign", "show", str(campaign["id"]), "--format", "csv")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].endswith("flags,last_used,usage,suggestion")
    assert any("bob@acme.com" in line and "revoke: unused for 142 days" in line for line in lines)
    assert not any("pat@acme.com" in line for line in lines)  # 91 days observed, 120 asked
    table = run("campaign", "show", str(campaign["id"]), "--items")
    assert "none seen" in table.out and "2026-06-12" in table.out and "revoke: unused" in table.out
    wrong = run("campaign", "new", "--unused-days", "30", "--as", "ciso@acme.com")
    assert wrong.code == 2 and "--unused-days goes with --scope unused" in wrong.err


def test_a_usage_window_counts_as_used_in_the_period_only_when_it_reaches_it():
    aws, _gcp = estate()
    from foureyes.model import Snapshot

    index = UsageIndex(Snapshot(1, "2026-11-02T08:00:00+00:00", "", (aws,)))
    alice, bob = aws.grants[0], aws.grants[1]
    assert index.used_in_period(alice, (), PERIOD.start)
    assert not index.used_in_period(bob, (), PERIOD.start)  # used, but in June


def test_the_matrix_and_the_person_screen_mark_capabilities_used_in_the_period(config):
    from foureyes.analysis import analyze
    from foureyes.matrix import matrix_rows
    from foureyes.model import Snapshot
    from foureyes.workspace import Workspace

    analysis = analyze(Snapshot(1, "2026-11-02T08:00:00+00:00", "", tuple(estate())), config, waivers=[])
    rows = {r["person"]: r for r in matrix_rows(analysis, tier="production")}
    assert rows["alice@acme.com"]["used"] == {DEPLOY_RUN: [f"aws:account:{PROD}"]}
    assert rows["bob@acme.com"]["used"] == {}  # last used in June, before the period
    assert rows["dan@acme.com"]["used"] == {}  # unknown is not used
    holdings = analysis.holdings("alice@acme.com") + analysis.holdings("carol@acme.com")
    used = Workspace.used_holdings(analysis, holdings)
    assert {k[0] for k in used} == {"alice@acme.com"}
