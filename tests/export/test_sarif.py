"""`check --format sarif`: valid SARIF 2.1.0 (the official schema, vendored in
tests/fixtures/sarif with its notice) in the shape GitHub code scanning documents for uploads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

SCHEMA = Path(__file__).resolve().parent.parent / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
WAIVER = """
[[exception]]
rule = "FE-SOD-004"
person = "sam.sato@acme.com"
scope = "repo:acme/storefront-api"
reason = "release captain until the deploy bot ships"
expires = 2099-12-31
approver = "ciso@acme.com"
"""


@pytest.fixture(scope="module")
def logs(tmp_path_factory, store_templates):
    """The demo's two snapshots checked as SARIF from a repository holding the config (and an
    exception file for one of Sam's findings)."""
    from conftest import load_demo, run_cli
    from foureyes.connectors.demo import DEMO_CONFIG_TOML

    repo = tmp_path_factory.mktemp("security-repo")
    (repo / "access").mkdir()
    config = repo / "access" / "foureyes.toml"
    config.write_text(DEMO_CONFIG_TOML, encoding="utf-8")
    (repo / "waivers.toml").write_text(WAIVER, encoding="utf-8")
    url = store_templates.copy("demo", load_demo, f"sqlite:///{repo / 'store.db'}")
    out = {}
    for snapshot in ("1", "2"):
        result = run_cli("-c", str(config), "check", "--format", "sarif", "--snapshot", snapshot, "--exceptions",
                         str(repo / "waivers.toml"), env={"FOUREYES_STORE_URL": url}, cwd=repo)
        assert result.returncode == 1, result.stderr  # the gate's exit code, whatever the format
        out[snapshot] = json.loads(result.stdout)
    gate = run_cli("-c", str(config), "check", "--format", "json", "--exceptions", str(repo / "waivers.toml"),
                   env={"FOUREYES_STORE_URL": url}, cwd=repo)
    out["check"] = json.loads(gate.stdout)
    out["config"] = config.read_text(encoding="utf-8").splitlines()
    return out


def test_the_log_validates_against_the_sarif_2_1_0_schema(logs):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    for snapshot in ("1", "2"):
        errors = sorted(validator.iter_errors(logs[snapshot]), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    # and the validator does see a broken log
    broken = json.loads(json.dumps(logs["2"]))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(broken))


def test_the_shape_github_code_scanning_reads(logs):
    log = logs["2"]
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "foureyes" and driver["version"]
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and "FE-SOD-003" in ids and "FE-ROS-001" in ids  # every rule of the pack
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert 0.0 < float(rule["properties"]["security-severity"]) <= 10.0  # GitHub's scale
        assert "security" in rule["properties"]["tags"]
    results = run["results"]
    gate = logs["check"]  # the same findings as the gate: the open ones, and the one excepted
    assert len(results) == len(gate["failing"]) + len(gate["excepted"]) and len(gate["excepted"]) == 1
    assert {r["properties"]["finding"] for r in results} == {f["id"] for f in gate["failing"]} | set(gate["excepted"])
    assert run["automationDetails"]["id"] == "foureyes/check/"
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        # a path in the repository, relative to its root, as upload-sarif matches files
        assert physical["artifactLocation"]["uri"] == "access/foureyes.toml"
        assert physical["region"]["startLine"] >= 1
        assert set(result["partialFingerprints"]) == {"foureyes/finding/v1"}


def test_a_result_points_at_the_config_line_that_makes_it_matter(logs):
    config = logs["config"]
    results = {r["properties"]["finding"]: r for r in logs["2"]["runs"][0]["results"]}
    max_payments = next(r for r in results.values() if r["ruleId"] == "FE-SOD-003"
                        and r["properties"]["subject"] == "max.mueller@acme.com")
    line = max_payments["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert config[line - 1].strip() == 'name = "payments"'
    assert "ProdDeployer" in max_payments["message"]["text"] and "deploy.run: " in max_payments["message"]["text"]
    repo_scoped = next(r for r in results.values() if r["properties"]["scope"] == "repo:acme/storefront-api")
    line = repo_scoped["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert '"acme/storefront-api"' in config[line - 1]
    anywhere = next(r for r in results.values() if r["properties"]["scope"] == "any")
    line = anywhere["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert config[line - 1].strip() == "[tiers.production]"


def test_alerts_keep_their_fingerprint_across_snapshots_and_an_exception_is_a_suppression(logs):
    october = {r["partialFingerprints"]["foureyes/finding/v1"]: r for r in logs["1"]["runs"][0]["results"]}
    november = {r["partialFingerprints"]["foureyes/finding/v1"]: r for r in logs["2"]["runs"][0]["results"]}
    kept = set(october) & set(november)
    assert kept and set(november) - set(october)  # the same alerts, and November's new ones
    for fingerprint in kept:
        assert re.fullmatch(r"FE-[A-Z]+-\d{3}:[0-9a-f]{10}", fingerprint)
        assert october[fingerprint]["ruleId"] == november[fingerprint]["ruleId"]
    [waived] = [r for r in november.values() if r.get("suppressions")]
    assert waived["properties"]["subject"] == "sam.sato@acme.com" and waived["ruleId"] == "FE-SOD-004"
    assert waived["suppressions"] == [{"kind": "external", "status": "accepted", "justification":
                                       "exception until 2099-12-31: release captain until the deploy bot ships"}]
