"""`foureyes check`: exit 1 on open findings, 3 on gaps, 0 when both are handled."""

from __future__ import annotations

import json
from pathlib import Path

from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.model import Gap, Grant, Principal, Resource, Snapshot, SourceResult

DATA = Path(__file__).parent / "data"


def test_check_on_the_demo_exits_1(cli, demo_store, demo_config_file):
    result = cli("-c", str(demo_config_file), "check")
    assert result.returncode == 1, result.stderr
    assert "44 open findings" in result.stderr  # 33 possible, 4 of the roster, 7 proven in the quarter (2 break-glass, 1 by hand)


def test_exceptions_for_every_finding_leave_the_gap_then_allow_gaps(cli, demo_store, demo_config_file):
    exceptions = str(DATA / "demo-exceptions.toml")
    result = cli("-c", str(demo_config_file), "check", "--exceptions", exceptions, "--format", "json")
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["failing"] == [] and len(data["excepted"]) == 44
    assert data["gaps"][0]["resource"] == "github:repo:acme/legacy-billing"
    allowed = cli("-c", str(demo_config_file), "check", "--exceptions", exceptions, "--allow-gaps")
    assert allowed.returncode == 0, allowed.stderr


def test_fail_on_threshold(cli, demo_store, demo_config_file):
    # every demo finding is medium or above, so --fail-on critical keeps only the critical ones
    result = cli("-c", str(demo_config_file), "check", "--fail-on", "critical", "--format", "json")
    assert result.returncode == 1
    assert {f["severity"] for f in json.loads(result.stdout)["failing"]} == {"critical"}


def test_expired_exception_does_not_count(cli, demo_store, demo_config_file, tmp_path):
    expired = tmp_path / "old.toml"
    expired.write_text((DATA / "demo-exceptions.toml").read_text().replace("2099-12-31", "2020-01-01"))
    result = cli("-c", str(demo_config_file), "check", "--exceptions", str(expired), "--format", "json")
    assert result.returncode == 1
    assert len(json.loads(result.stdout)["failing"]) == 44


def test_exception_approved_by_its_own_subject_is_refused(cli, demo_store, demo_config_file, tmp_path):
    bad = tmp_path / "self.toml"
    bad.write_text('[[exception]]\nrule = "FE-SOD-002"\nperson = "priya.patel@acme.com"\nscope = "any"\n'
                   'reason = "I need it"\nexpires = 2099-01-01\napprover = "priya.patel@acme.com"\n')
    result = cli("-c", str(demo_config_file), "check", "--exceptions", str(bad))
    assert result.returncode == 2
    assert "needs a second person" in result.stderr and str(bad) in result.stderr


def test_a_gap_never_removes_a_capability_and_check_reports_it(cli, tmp_path):
    repo = Resource("github", "repo", "acme/api", tier="production")
    env = Resource("github", "environment", "acme/api/production", tier="production", parent=repo.key)
    alice = Principal("github", "alice", "user", display_name="Alice", email="alice@acme.com",
                      attrs={"email_source": "saml"})
    grants = (Grant("github", alice.key, "write", repo.key, ("code.push", "code.approve")),)
    gap = Gap("github", repo.key, "403 on GET /repos/acme/api/collaborators", "collaborators of acme/api")
    gap_on_env = Gap("github", env.key, "timeout reading environment production", "its reviewers")
    with_gap = SourceResult("github", "github", principals=(alice,), resources=(repo, env), grants=grants,
                            gaps=(gap, gap_on_env))
    without_gap = SourceResult("github", "github", principals=(alice,), resources=(repo, env), grants=grants)
    config = parse_config("")
    caps = []
    for result in (without_gap, with_gap):
        analysis = analyze(Snapshot(1, "t", "", (result,)), config, waivers=[])
        caps.append({(h.capability, h.resource) for h in analysis.holdings("alice@acme.com")})
        # the environment's reviewers are unknown: no "no reviewer" finding is invented either
        assert not [f for f in analysis.findings if f.rule.id == "FE-POS-001"]
    assert caps[0] == caps[1] == {("code.push", repo.key), ("code.approve", repo.key)}

    from foureyes.store import Store

    url = f"sqlite:///{tmp_path / 'gap.db'}"
    with Store(url) as store:
        store.write_snapshot([with_gap])
    checked = cli("check", "--format", "json", env={"FOUREYES_STORE_URL": url})
    assert checked.returncode == 3, checked.stderr
    gaps = json.loads(checked.stdout)["gaps"]
    assert sorted(g["reason"] for g in gaps) == sorted([gap.reason, gap_on_env.reason])
    listed = json.loads(cli("snapshots", "--format", "json", env={"FOUREYES_STORE_URL": url}).stdout)
    assert listed["snapshots"][0]["gaps"] == 2
