"""GCP activity: Cloud Audit Logs and IAM recommender insights of the production projects.

The logging client talks gRPC to tests/fakes/logging_grpc.py, the recommender client REST to
tests/fakes/google_server.py, both serving tests/fixtures/gcp/activity.json with paging,
permission errors and throttling. The review period is 2026-08-04 to 2026-11-02.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fakes import gcp_org
from foureyes.activity import Actor, ActivityPeriod, AuditEvent, Deployment, LastUsed, of_kind
from foureyes.attribution import Attributor
from foureyes.config import parse_config
from foureyes.connectors.gcp.activity import audit_filter
from foureyes.connectors.gcp.connector import GcpConnector
from foureyes.identity import link
from foureyes.model import Snapshot, SourceResult

PERIOD = ActivityPeriod("2026-08-04T00:00:00Z", "2026-11-02T00:00:00Z")
WEB = "gcp:project:acme-prod-web"
PAYMENTS = "gcp:project:payments-core"
CHECKOUT = "gcp:project:checkout-live"
SA = "web-deployer@acme-prod-web.iam.gserviceaccount.com"
INFRA = "repo:acme/infra:environment:production"
IDENTITY = '\n[identity]\nemail_domains = ["acme.com"]\n'


@pytest.fixture(scope="module")
def fake():
    started = gcp_org.start(gcp_org.with_activity())
    yield started
    started.stop()


def collect(fake: gcp_org.FakeGcp, period: ActivityPeriod | None = PERIOD, **kwargs) -> SourceResult:
    config = parse_config(fake.config_toml(**kwargs) + IDENTITY)
    return GcpConnector(config.sources.gcp, config=config).collect(period=period)


@pytest.fixture(scope="module")
def read(fake) -> SourceResult:
    fake.logging.reset()
    return collect(fake)


def events(result: SourceResult) -> dict[str, AuditEvent]:
    return {e.id: e for e in of_kind(result.activity, AuditEvent)}


def attributor(result: SourceResult) -> Attributor:
    config = parse_config(IDENTITY)
    snapshot = Snapshot(1, "t", "", (result,))
    return Attributor(snapshot, link(snapshot, config), config)


def test_deploy_calls_of_production_projects_are_read_with_the_permission_they_needed(read):
    found = events(read)
    # w6 lies before the period and w7 needed no deploy permission: the query leaves both out
    assert set(found) == {"w1", "w2", "w3", "w4", "w5", "w8", "w9", "p1"}
    pat = found["w1"]
    assert (pat.action, pat.result, pat.resource) == ("run.services.update", "success", WEB)
    assert pat.target == "projects/acme-prod-web/locations/europe-west1/services/storefront"
    assert pat.actor == Actor(principal="gcp:user:pat.price@acme.com", name="pat.price@acme.com",
                              email="pat.price@acme.com", via="principalEmail", kind="user")
    assert pat.evidence["methodName"] == "google.cloud.run.v2.Services.UpdateService"
    assert found["w5"].result == "denied"
    # an Artifact Registry upload is in the Data Access log, read as well
    assert found["w8"].action == "artifactregistry.repositories.uploadArtifacts"
    assert found["w8"].evidence["logName"].endswith("%2Fdata_access")
    assert found["p1"].resource == PAYMENTS and found["p1"].action == "container.deployments.update"


def test_the_query_names_the_log_the_catalogue_permissions_and_the_period(read, fake):
    requests = [r for r in fake.logging.requests if list(r.resource_names) == ["projects/acme-prod-web"]]
    assert len({r.filter for r in requests}) == 2  # Admin Activity and Data Access
    first = next(r for r in requests if "activity" in r.filter and not r.page_token)
    assert first.filter == audit_filter("acme-prod-web", "cloudaudit.googleapis.com%2Factivity",
                                        _permissions(first.filter), PERIOD)
    assert '"run.services.update"' in first.filter and "run.services.get" not in first.filter
    assert first.order_by == "timestamp desc"
    assert any(r.page_token for r in requests)  # more entries than one page (page size 2)
    # only production projects are read: staging and CI projects are not asked
    asked = {n for r in fake.logging.requests for n in r.resource_names}
    assert asked == {"projects/acme-prod-web", "projects/acme-prod-legacy", "projects/payments-core",
                     "projects/checkout-live"}


def _permissions(text: str) -> list[str]:
    import re

    return re.findall(r'"([a-z]+\.[A-Za-z.]+)"', text.split("permission=(", 1)[1].split(")", 1)[0])


def test_impersonation_names_the_person_behind_a_service_account(read):
    rita = events(read)["w2"]
    assert rita.actor == Actor(principal=f"gcp:serviceAccount:{SA}", name="rita.reyes@acme.com",
                               email="rita.reyes@acme.com", via="service account delegation", kind="user")
    assert attributor(read).who(rita.actor).person == "rita.reyes@acme.com"


def test_workload_identity_calls_carry_the_subject_and_join_the_github_run(read):
    found = events(read)
    ci = found["w3"]
    assert ci.ci_subject == INFRA and ci.actor.kind == "workload"
    direct = found["p1"]
    assert direct.ci_subject == "repo:acme/payments:ref:refs/heads/main" and direct.actor.principal == ""
    who = attributor(read)
    run = Deployment("github", "acme/infra/deployments/3", "github:repo:acme/infra",
                     "github:environment:acme/infra/production", at="2026-10-22T10:50:00Z", run_id=77,
                     ci_subject=INFRA, triggering_actor=Actor(email="frank.fischer@acme.com", via="login", kind="user"))
    joined = who.via_run(ci, [run])
    assert joined is not None and joined.person == "frank.fischer@acme.com" and "run 77" in joined.how
    assert who.via_run(ci, [replace(run, at="2026-10-22T08:00:00Z")]) is None  # too long before: no match


def test_actors_that_name_no_person_stay_unknown(read):
    who = attributor(read)
    outsider = who.who(events(read)["w4"].actor)
    assert not outsider.known and not outsider.person
    robot = who.who(events(read)["w9"].actor)  # the service account itself, nobody behind it in the log
    assert robot.machine and not robot.known


def test_insights_say_which_bindings_were_used_in_the_observation_window(read):
    used = {(u.principal, u.entity): u for u in of_kind(read.activity, LastUsed)}
    pat = used[("gcp:user:pat.price@acme.com", "roles/run.developer")]
    assert pat.last_used == "2026-11-01T00:00:00Z" and pat.tracked_since == "2026-08-03T00:00:00Z"
    assert pat.evidence["exercised"] == ["run.services.get", "run.services.update"]
    grant = next(g for g in read.grants if g.key == pat.grant)
    assert (grant.principal, grant.entitlement, grant.resource) == (
        "gcp:user:pat.price@acme.com", "roles/run.developer", WEB)
    quinn = used[("gcp:user:quinn.quigley@acme.com", "roles/run.developer")]
    assert quinn.last_used is None and quinn.grant  # no permission exercised in 90 days
    assert ("gcp:user:gina.garcia@acme.com", "roles/resourcemanager.projectIamAdmin") not in used  # dismissed
    # payments-core's binding is inherited from a folder grant with another key: matched when it is the project's own
    assert used[("gcp:user:max.mueller@acme.com", "roles/container.developer")].resource == PAYMENTS


def test_unreadable_logs_and_insights_are_gaps_about_activity(read):
    gaps = {(g.reason.split(" for ")[0], g.resource): g for g in read.gaps if g.about == "activity"}
    activity = gaps[("Cloud Audit Logs (Admin Activity) unreadable", CHECKOUT)]
    assert "403" in activity.reason or "PERMISSION_DENIED" in activity.reason
    assert activity.hides.startswith("deployments and their actors")
    assert ("Cloud Audit Logs (Data Access) unreadable", CHECKOUT) in gaps
    insights = gaps[("IAM recommender insights unreadable", CHECKOUT)]
    assert "403" in insights.reason and "whether its grants are used" in insights.hides
    assert not [g for g in read.gaps if g.about == "activity" and g.resource != CHECKOUT]
    assert not [e for e in events(read).values() if e.resource == CHECKOUT]
    from foureyes.changes import population

    config = parse_config(IDENTITY)
    snapshot = Snapshot(1, "t", "", (read,))
    assert activity in population(snapshot, link(snapshot, config), config).gaps


def test_a_throttled_log_read_is_retried_as_the_server_asks(fake):
    fake.logging.reset()
    fake.logging.fail("projects/acme-prod-legacy", "RESOURCE_EXHAUSTED", retry_delay=0.1)
    try:
        result = collect(fake)
    finally:
        fake.logging.faults.clear()
    assert not [g for g in result.gaps if g.resource == "gcp:project:acme-prod-legacy" and g.about == "activity"]
    assert result.stats["retries"] >= 1
    asked = [r for r in fake.logging.requests if list(r.resource_names) == ["projects/acme-prod-legacy"]]
    assert len(asked) == 3  # Admin Activity twice (throttled, then answered), Data Access once


def test_the_security_reviewer_role_already_allows_the_activity_reads():
    from fakes.iam_grpc import predefined_roles

    granted = set(predefined_roles()["roles/iam.securityReviewer"]["includedPermissions"])
    assert {"logging.logEntries.list", "logging.privateLogEntries.list",
            "recommender.iamPolicyInsights.list"} <= granted  # docs/sources/gcp.md relies on it


def test_without_a_period_no_activity_is_read(fake):
    fake.logging.reset()
    result = collect(fake, period=None)
    assert result.activity == () and result.period is None and not fake.logging.requests


def test_cloud_audit_log_deploys_join_the_change_population(read):
    from foureyes.activity import Approval, Change, Commit
    from foureyes.changes import population
    from foureyes.model import Resource

    def person(login: str) -> Actor:
        return Actor(name=login, email=f"{login}@acme.com", via="login", kind="user")

    repo = "github:repo:acme/infra"
    change = Change("github", "acme/infra#3", repo, "2026-10-22T09:00:00Z", branch="main", sha="m3", head_sha="c3",
                    author=person("frank.fischer"), commits=(Commit("c3", person("frank.fischer")),),
                    approvals=(Approval(person("gina.garcia"), "2026-10-22T08:30:00Z", commit="c3"),),
                    merged_by=person("frank.fischer"))
    run = Deployment("github", "acme/infra/deployments/3", repo, "github:environment:acme/infra/production",
                     at="2026-10-22T10:50:00Z", sha="m3", ref="main", run_id=77, ci_subject=INFRA,
                     triggering_actor=person("frank.fischer"))
    github = SourceResult("github", "github", resources=(
        Resource("github", "repo", "acme/infra", tier="production"),
        Resource("github", "environment", "acme/infra/production", tier="production", parent=repo)),
        activity=(change, run), period=PERIOD)
    config = parse_config(IDENTITY)
    snapshot = Snapshot(1, "t", "", (github, read))
    found = population(snapshot, link(snapshot, config), config)
    rows = {r.change.id: r for r in found.rows}
    # pat's own calls, and rita's through the service account she impersonated: deployed by hand
    hand = {i for i, r in rows.items() if r.verdict == "not independent"}
    assert hand == {"w1", "w2", "w8"} and {rows[i].source for i in hand} == {"Cloud Audit Logs"}
    rita = next(f for f in found.facts if f.scope == "cloud-deploy:w2")
    assert rita.person == "rita.reyes@acme.com" and "service account delegation" in rita.proof[0].text
    # workload identity federation: the infra run's call is a hop of its deployment
    assert "w3" not in rows and [c.event.id for c in rows["acme/infra#3"].deployments[0].events] == ["w3"]
    assert rows["acme/infra#3"].verdict == "independent"
    # a subject with no deployment record, the service account alone, an outside address: unknown, with why
    assert "no GitHub deployment by OIDC subject repo:acme/payments:ref:refs/heads/main" in rows["p1"].why
    assert rows["w9"].verdict == "unknown" and "web-deployer in acme-prod-web trusts (repo:acme/api:*)" in rows["w9"].why
    assert rows["w4"].verdict == "unknown" and "not linked to a person" in rows["w4"].why
    assert "w5" not in rows  # denied: nothing was deployed
    # checkout-live's audit log could not be read: the population says what it lacks
    [note] = found.notes  # its Data Access log hides Artifact Registry uploads only: no note of its own
    assert note.startswith("project checkout-live: Cloud Audit Logs (Admin Activity) unreadable")
