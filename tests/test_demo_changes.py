"""The demo's quarter of history: `foureyes changes` lists its population, the seeded violations
are found with their evidence, and the evidence report carries the change population."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from foureyes.cli import main


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from foureyes.connectors import demo
    from foureyes.store import Store

    path = tmp_path_factory.mktemp("demo-changes")
    config = path / "foureyes.toml"
    config.write_text(demo.DEMO_CONFIG_TOML, encoding="utf-8")
    url = f"sqlite:///{path / 'demo.db'}"
    with Store(url) as store:
        list(demo.load_into(store))
    return {"FOUREYES_STORE_URL": url}, str(config)


def invoke(demo_db, *args: str):
    env, config = demo_db
    result = CliRunner().invoke(main, ["-c", config, *args], env=env, catch_exceptions=False)
    return result


def test_changes_csv_on_the_demo_lists_the_quarter(demo_db):
    result = invoke(demo_db, "changes", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 305 and {r["repository"] for r in rows} == {
        "acme/payments-api", "acme/payments-worker", "acme/storefront-web", "acme/storefront-api",
        "acme/deploy-tools", "acme/infra", "acme-prod (111111111111)"}
    assert sum(r["source"] == "GitHub" for r in rows) == 301
    alone = next(r for r in rows if r["change"] == "acme/payments-api#1135")
    assert alone["title"] == "Hotfix: skip the fraud check for partner Zeta"
    assert (alone["authors"], alone["approvers"], alone["merged by"], alone["deployed by"]) == (
        "max.mueller@acme.com", "", "max.mueller@acme.com", "max.mueller@acme.com")
    assert alone["verdict"] == "not independent" and "0 of the 1 required approvals" in alone["bypasses"]
    contractor = [r for r in rows if r["verdict"] == "unknown"]
    assert [r["authors"] for r in contractor] == ["contractor-jq"]  # unlinked: unknown, never independent
    assert sum(r["verdict"] == "independent" for r in rows) == 287
    # Olivia's rollback from her Identity Center session: a production deployment nobody reviewed; the 24
    # CloudTrail calls of the payments runs are hops of their GitHub deployments, not rows
    cloud = {r["change"]: r for r in rows if r["source"] == "CloudTrail"}
    hand = cloud.pop("demo-ct-hand")
    assert (hand["kind"], hand["deployed by"], hand["verdict"]) == (
        "cloud deploy", "olivia.okafor@acme.com", "not independent")
    assert hand["title"] == "ecs:UpdateService arn:aws:ecs:us-east-1:111111111111:service/payments/api"
    assert "outside any GitHub run: nobody reviewed or approved it" in hand["why"]
    # Alex's three ECS updates in his break-glass sessions, followed back through ops-admin and ops-breakglass
    assert set(cloud) == {"demo-ct-bg-0914-0", "demo-ct-bg-0914-1", "demo-ct-bg-1021-1"}
    assert {(r["deployed by"], r["verdict"]) for r in cloud.values()} == {("alex.adeyemi@acme.com", "not independent")}
    assert all("in a session of the emergency path prod-breakglass" in r["why"] for r in cloud.values())


def test_activity_shows_what_the_snapshot_holds_of_its_period(demo_db):
    data = json.loads(invoke(demo_db, "activity", "--format", "json").stdout)
    assert data["period"] == {"start": "2026-08-04T08:00:00Z", "end": "2026-11-02T08:00:00Z"}
    by_source = {s["source"]: s for s in data["sources"]}
    assert by_source["github"]["records"] == {"bypass": 1, "change": 301, "deployment": 85}
    # CloudTrail's record of the payments deployments, of two break-glass sessions (4 calls each) and of
    # Olivia's rollback; last use, some of it months ago
    assert by_source["aws"]["records"] == {"event": 33, "last_used": 9}
    assert by_source["gcp"]["records"] == {"last_used": 3}
    older = invoke(demo_db, "changes", "--snapshot", "1")  # October was stored without activity
    assert older.exit_code == 2 and "taken without activity; run `foureyes snapshot --activity`" in older.output


def test_demo_violations_carry_their_proof(demo_db):
    data = json.loads(invoke(demo_db, "conflicts", "--format", "json").stdout)
    proven = {(f["rule"], f["scope"]): f for f in data["findings"] if f["kind"] == "activity"}
    assert set(proven) == {("FE-ACT-001", "change:acme/payments-api#1135"),
                           ("FE-ACT-002", "change:acme/payments-api#1135"),
                           ("FE-ACT-002", "bypass:acme/payments-worker/rule-suites/880022"),
                           ("FE-ACT-003", "deployment:acme/storefront-api/deployments/7000619"),
                           ("FE-EMG-001", "use:prod-breakglass:demo-ct-bg-1021"),
                           ("FE-EMG-002", "use:prod-breakglass:demo-ct-bg-1021"),
                           ("FE-ACT-004", "cloud-deploy:demo-ct-hand")}
    max_proof = proven[("FE-ACT-001", "change:acme/payments-api#1135")]["proof"]
    hops = [s["hop"] for s in max_proof]
    assert hops == ["change", "commits", "approvals", "merge", "bypass", "verdict", "deployment", "event"]
    # the deployment's CloudTrail event: the OIDC role's ECS call, tied to Max's run
    assert max_proof[-1]["text"].startswith("CloudTrail: ecs:UpdateService on arn:aws:ecs:us-east-1:111111111111:"
                                            "service/payments/api in acme-prod (111111111111) by GitHubActions-")
    assert "of the same OIDC subject" in max_proof[-1]["text"] and max_proof[-2]["ref"].endswith(
        max_proof[-1]["text"].split("made by run ")[1].split(" ")[0])
    olivia = proven[("FE-ACT-004", "cloud-deploy:demo-ct-hand")]
    assert olivia["person"] == "olivia.okafor@acme.com" and [s["hop"] for s in olivia["proof"]] == ["event", "verdict"]
    assert "Identity Center" in olivia["proof"][0]["text"] and olivia["proof"][0]["ref"] == "demo-ct-hand"
    rita = proven[("FE-ACT-002", "bypass:acme/payments-worker/rule-suites/880022")]
    assert rita["person"] == "rita.reyes@acme.com" and "rule suite" in rita["proof"][0]["text"]
    assert any(s["hop"] == "merge" for s in rita["proof"])  # the change the bypass let through
    sam = proven[("FE-ACT-003", "deployment:acme/storefront-api/deployments/7000619")]
    assert sam["person"] == "sam.sato@acme.com" and "who triggered it" in sam["proof"][1]["text"]


def test_evidence_report_has_the_change_population(demo_db):
    created = invoke(demo_db, "campaign", "new", "--name", "Q4", "--as", "ciso@acme.com", "--format", "json")
    assert created.exit_code == 0, created.output
    campaign = json.loads(created.stdout)["id"]
    report = invoke(demo_db, "report", "--campaign", str(campaign), "--format", "markdown")
    assert report.exit_code == 0, report.output
    text = report.stdout
    assert "## Change population" in text and "**305** changes: 287 independent, 17 not independent, 1 unknown" in text
    assert "**FE-ACT-001** (critical)" in text and "`acme/payments-api#1135`" in text
    assert "**FE-ACT-004** (high) `Production deployed by hand`: `Olivia Okafor`" in text
    assert "| `demo-ct-hand` (CloudTrail) | 2026-10-17 22:41 |" in text
    html = invoke(demo_db, "report", "--campaign", str(campaign), "--format", "html").stdout
    assert '<h2 id="changes">Change population</h2>' in html and "Hotfix: skip the fraud check" in html
