"""Emergency access on GitHub, through the fake GitHub and the CLI: a ruleset's bypass list and a
team declared as break-glass paths, each bypass by them a use; a [just_in_time] team whose
memberships the audit log dates (team.add_member), one of them past its maximum."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from fakes import config_toml
from fakes.github_activity import activity_fixture
from fakes.github_server import FakeGitHub
from foureyes.analysis import analyze
from foureyes.cli import main
from foureyes.config import parse_config
from foureyes.store import Store
from foureyes.workspace import Workspace

SETTINGS = """
[tiers.production]
github_environments = ["production"]
github_repos = ["acme/api", "acme/web"]

[identity]
email_domains = ["acme.com"]

[[break_glass]]
name = "main-protection"
github_rulesets = ["main protection"]
ticket = "INC-[0-9]+"

[[break_glass]]
name = "release-team"
github_teams = ["acme/release"]
allowed = ["carol@acme.com"]

[just_in_time]
github_teams = ["release"]
max_duration = "8h"
"""


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("github-emergency")
    data = activity_fixture()
    # the access-request system added carol to release when alice overrode the protection: past its eight hours
    added = next(e for e in data["audit_log"] if e["action"] == "protected_branch.policy_override")["created_at"]
    data["audit_log"].append({"action": "team.add_member", "actor": "olivia", "team": "acme/release", "user": "carol",
                              "created_at": added, "id": "doc-team-carol"})
    with FakeGitHub(data) as gh:
        config = tmp / "foureyes.toml"
        config.write_text(config_toml(gh.url, tiers=SETTINGS), encoding="utf-8")
        env = {"GITHUB_TOKEN": "t", "FOUREYES_STORE_URL": f"sqlite:///{tmp / 'emergency.db'}"}
        done = CliRunner().invoke(main, ["-c", str(config), "snapshot", "--activity", "--since", "60d"], env=env,
                                  catch_exceptions=False)
        assert done.exit_code == 3, done.output  # stored; the unreadable run is a gap
        gh.settle()
        audit_reads = gh.stats.count("/orgs/acme/audit-log")
        os.environ["FOUREYES_STORE_URL"] = env["FOUREYES_STORE_URL"]
        try:
            with Workspace.open(parse_config(config.read_text(), str(config))) as ws:
                found = ws.analysis()
                # the stored analysis reads its snapshot on demand; the round trip needs the whole of it
                with Store(env["FOUREYES_STORE_URL"]) as store:
                    found.full_snapshot = store.load_snapshot(found.snapshot.id)
                yield found, gh, audit_reads
        finally:
            os.environ.pop("FOUREYES_STORE_URL", None)


def test_each_bypass_through_a_declared_path_is_a_use(analysis):
    found, _, _ = analysis
    uses = sorted((u.path, u.id, u.who.person) for u in found.emergency.uses)
    assert uses == [
        ("main-protection", "acme/api/rule-suites/77", "alice@acme.com"),  # the ruleset's bypass list
        ("release-team", "acme/api/audit/doc-override-1", "alice@acme.com"),  # alice is in release
        ("release-team", "acme/api/rule-suites/77", "alice@acme.com"),
    ]
    suite = next(u for u in found.emergency.uses if u.path == "main-protection")
    assert suite.actions[0].endswith("Hotfix straight to main") and "the change's title" in suite.ticket_sources
    assert [k for k, _ in suite.problems] == ["emergency-use-without-ticket"]
    team = [u for u in found.emergency.uses if u.path == "release-team"]
    assert all([k for k, _ in u.problems] == ["emergency-use-not-allowed"] for u in team)  # no ticket asked
    rules = {(f.rule.id, f.scope) for f in found.findings if f.rule.id in ("FE-EMG-001", "FE-EMG-003")}
    assert rules == {("FE-EMG-001", "use:main-protection:acme/api/rule-suites/77"),
                     ("FE-EMG-003", "use:release-team:acme/api/rule-suites/77"),
                     ("FE-EMG-003", "use:release-team:acme/api/audit/doc-override-1")}


def test_just_in_time_memberships_are_dated_by_the_audit_log(analysis):
    found, _, audit_reads = analysis
    assert audit_reads == 2  # protection overrides, then team.add_member (asked for [just_in_time] teams only)
    timed = {t.principal: t for t in found.emergency.timed if t.kind == "membership"}
    assert set(timed) == {"github:alice", "github:carol"}
    carol, alice = timed["github:carol"], timed["github:alice"]
    assert carol.expired and carol.started and "team.add_member" in carol.source
    assert not alice.expired and alice.expires == "" and "not known" in alice.source  # added before the period
    assert ("FE-EMG-006", "github:carol") in {(f.rule.id, f.subject) for f in found.findings}


def test_a_declared_team_is_not_standing_access(analysis):
    found, _, _ = analysis
    carol = [h for h in found.holdings("carol@acme.com") if h.capability == "deploy.approve"]
    assert carol and all(h.emergency for h in carol)  # she approves production only as a member of release
    assert found.graph.marks_of(carol[0]).emergency == ("release-team",)
    alice = [h for h in found.holdings("alice@acme.com") if h.capability == "code.push" and h.repo == "acme/api"]
    assert alice and not any(h.emergency for h in alice)  # she also writes through eng: standing


def test_uses_survive_the_store_on_both_backends(analysis, store_url):
    """The snapshot read from the fake, written to SQLite and to PostgreSQL, gives the same uses."""
    found, _, _ = analysis
    with Store(store_url) as store:
        info = store.write_snapshot(list(found.full_snapshot.sources), label="github emergency")
        loaded = store.load_snapshot(info.id)
    config = parse_config(config_toml("http://127.0.0.1:1", tiers=SETTINGS))  # the analysis needs no URL

    def uses(found_uses):
        return sorted((u.path, u.id, u.who.person, tuple(k for k, _ in u.problems)) for u in found_uses)

    expected = uses(found.emergency.uses)
    assert expected  # the fixture's bypasses are uses
    assert uses(analyze(loaded, config).emergency.uses) == expected
