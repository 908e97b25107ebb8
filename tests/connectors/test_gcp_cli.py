"""End to end: `foureyes snapshot` on the fake GCP organisation, then `who-can`, person by person.

The GCP connector reads the fake servers over the real transports; a small GitHub-side dataset
(tests/fixtures/gcp/github-side.jsonl, through [sources.demo]) supplies the CI contexts people
can trigger, so workload identity paths reach people the way the GitHub connector's would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from fakes import gcp_org

GITHUB_SIDE = gcp_org.FIXTURES / "github-side.jsonl"

# Who can deploy to production, and a hop each path must show (the reason a reviewer reads).
EXPECTED_DEPLOYERS = {
    "olivia.okafor@acme.com": "roles/owner on project acme-prod-web (roles/owner bound on organization acme.com "
                              "(424242424242), inherited by project acme-prod-web)",
    "frank.fischer@acme.com": "group prod-deployers@acme.com (member of group prod-deployers@acme.com "
                              "([sources.gcp.groups]))",
    "rhea.roth@acme.com": "group release-captains@acme.com (member of group release-captains@acme.com "
                          "([sources.gcp.groups]))",
    "carla.consultant@acme.com": "roles/run.admin if consulting engagement on project acme-prod-web "
                                 "(roles/run.admin bound on project acme-prod-web; condition: request.time < "
                                 "timestamp(\"2099-06-30T00:00:00Z\"); expires 2099-06-30T00:00:00Z)",
    "sam.sato@acme.com": "roles/run.admin if europe-west1 only on project acme-prod-web (roles/run.admin bound on "
                         "project acme-prod-web; condition: resource.name.startsWith("
                         "\"projects/acme-prod-web/locations/europe-west1\"))",
    "rita.reyes@acme.com": "projects/acme-prod-web/roles/webDeployer on project acme-prod-web "
                           "(projects/acme-prod-web/roles/webDeployer bound on project acme-prod-web)",
    "pat.price@acme.com": "roles/run.developer on project acme-prod-web (roles/run.developer bound on project "
                          "acme-prod-web)",
    "max.mueller@acme.com": "roles/container.developer on project payments-core (roles/container.developer bound "
                            "on project payments-core)",
    "wanda.webb@acme.com": "roles/editor on project checkout-live (roles/editor bound on project checkout-live)",
    "nina.nakamura@acme.com": "workload identity attribute.repository/acme/api (pool github) (its OIDC token "
                              "subject is accepted by repo:acme/api:*)",
    "ian.ingram@acme.com": "roles/run.admin on project acme-prod-web (roles/run.admin bound on project "
                           "acme-prod-web)",
}
NOT_DEPLOYERS = {
    "temp.contractor@acme.com",  # expired conditional binding
    "dan.denied@acme.com",  # deny policy removes run.services.update
    "quinn.quigley@acme.com",  # run.developer without actAs on a runtime service account
    "gina.garcia@acme.com", "ivan.ivanov@acme.com",  # admins, not deployers
    "walter.wong@acme.com",  # staging only
    "oscar.olsen@acme.com",  # his CI context is in another organisation's repository
    "sofia.silva@acme.com", "alex.adeyemi@acme.com",  # reviewers
}


@pytest.fixture(scope="module")
def fake():
    started = gcp_org.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def snapshot(fake, tmp_path_factory):
    # one snapshot for the module: each test only reads it
    tmp_path = tmp_path_factory.mktemp("gcp-e2e")
    config = tmp_path / "foureyes.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "fe.db"}"\n'
        '[identity]\nemail_domains = ["acme.com"]\n'
        f'[sources.demo]\ndataset = "{GITHUB_SIDE}"\n'
        + fake.config_toml(), encoding="utf-8")
    result = run_cli("-c", str(config), "snapshot", "--format", "json")
    return config, result


def who_can(cli, config: Path, capability: str) -> dict:
    result = cli("-c", str(config), "who-can", capability, "--tier", "production", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_snapshot_stores_the_gcp_source_and_exits_3_for_its_gaps(snapshot):
    _, result = snapshot
    assert result.returncode == 3, result.stderr  # stored, but some things are unknown
    info = json.loads(result.stdout)
    gcp = next(s for s in info["sources"] if s["name"] == "gcp")
    assert gcp["error"] is None and gcp["counts"]["gaps"] == 5
    assert gcp["stats"]["requests"] > 40
    assert "gap: [gcp] gcp:project:acme-prod-legacy: cannot read the allow policy" in result.stderr
    assert "members of group:web-oncall@acme.com unknown" in result.stderr


def test_who_can_deploy_to_production_lists_exactly_the_expected_people(snapshot, cli):
    config, _ = snapshot
    data = who_can(cli, config, "deploy.run")
    assert data["capability"] == "deploy.run" and data["tier"] == "production" and data["snapshot"] == 1
    people = {p["person"]: p for p in data["people"]}
    assert set(people) == set(EXPECTED_DEPLOYERS)
    assert not NOT_DEPLOYERS & set(people)
    for email, hop in EXPECTED_DEPLOYERS.items():
        person = people[email]
        assert person["paths"], email
        for path in person["paths"]:
            assert path[0].endswith(f"<{email}>"), path
            assert path[-1].startswith("deploy.run ("), path
        assert any(hop in path for path in person["paths"]), (email, person["paths"])


def test_paths_name_the_places_and_accounts_a_reviewer_checks(snapshot, cli):
    config, _ = snapshot
    people = {p["person"]: p for p in who_can(cli, config, "deploy.run")["people"]}
    olivia = people["olivia.okafor@acme.com"]
    projects = sorted(path[2].split(" on project ")[1].split(" ")[0] for path in olivia["paths"])
    assert projects == ["acme-prod-legacy", "acme-prod-web", "checkout-live", "payments-core"]
    rhea = people["rhea.roth@acme.com"]["paths"][0]
    assert [step.split(" (")[0] for step in rhea[2:5]] == [
        "group release-captains@acme.com", "group prod-deployers@acme.com", "roles/run.developer on project acme-prod-legacy"]
    nina = people["nina.nakamura@acme.com"]
    assert nina["accounts"] == ["github:nina-api"]
    (path,) = nina["paths"]
    assert [step.split(" (")[0] for step in path[2:6]] == [
        "job in environment production of acme/api",
        "workload identity attribute.repository/acme/api",
        "service account web-deployer in acme-prod-web",
        "roles/run.admin on project acme-prod-web"]
    assert path[-1] == "deploy.run (run.services.update, run.services.create, run.jobs.update, run.jobs.create)"
    # one person, two systems: the GitHub SAML identity and the GCP member share the email
    assert people["pat.price@acme.com"]["accounts"] == ["gcp:user:pat.price@acme.com", "github:pat-gh"]


def test_who_can_administer_production(snapshot, cli):
    config, _ = snapshot
    people = {p["person"]: p for p in who_can(cli, config, "access.admin")["people"]}
    assert set(people) == {"olivia.okafor@acme.com", "ivan.ivanov@acme.com"}
    ivan = people["ivan.ivanov@acme.com"]["paths"][0]
    assert ivan[2].startswith("service account terraform in acme-ci (can impersonate it")
    assert ivan[-1] == "access.admin (resourcemanager.folders.setIamPolicy)"


def test_wildcard_workload_identity_on_a_production_service_account_is_a_finding(snapshot, cli):
    config, _ = snapshot
    result = cli("-c", str(config), "conflicts", "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["subject"]) for f in findings if f["rule"] == "FE-POS-004"] == [
        ("FE-POS-004", "gcp:serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com")]


def test_unreadable_credentials_fail_the_source_not_the_snapshot(tmp_path, cli):
    config = tmp_path / "foureyes.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "fe.db"}"\n[sources.gcp]\n'
                      f'organization = "organizations/1"\ncredentials_file = "{tmp_path / "nope.json"}"\n')
    result = cli("-c", str(config), "snapshot")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert f"credentials_file '{tmp_path / 'nope.json'}' does not exist" in result.stderr
