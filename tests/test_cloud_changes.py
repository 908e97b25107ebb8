"""Deployments made in the cloud in the change population (foureyes.deploys, foureyes.changes).

Worlds are written like the FE-ACT rule fixtures (foureyes/rules/activity_fixtures.py): the
repository acme/api with a production environment, the production AWS account 111111111111
and GCP project acme-prod, each with a CI identity that trusts the OIDC subject of acme/api's
production environment. The connectors' side (CloudTrail through boto3, Cloud Audit Logs
through the logging client) is tested in tests/connectors/test_aws_activity.py and
test_gcp_activity.py; here, what the population makes of their records.
"""

from __future__ import annotations

import json

from foureyes.activity import ABOUT
from foureyes.changes import CLOUD_DEPLOY, HAND_DEPLOYED, INDEPENDENT, NOT_INDEPENDENT, UNKNOWN, population
from foureyes.model import Gap
from foureyes.rules.activity_fixtures import FIXTURE_CONFIG, fixture_world
from foureyes.serialize import CHANGE_COLUMNS, change_json, change_row, population_json

SUBJECT = "repo:acme/api:environment:production"
ACCOUNT = "aws:account:111111111111"
DENIED = Gap("aws", ACCOUNT, "CloudTrail unreadable in us-east-1: AccessDeniedException (HTTP 400) on "
             "cloudtrail:LookupEvents", "deployments and their actors in the period (CloudTrail)", about=ABOUT)

# bob's change, approved by carol, deployed by dave's run whose role made the ECS call 4 minutes later
REVIEWED = {"id": "acme/api#1", "author": "bob", "sha": "m1", "commits": [{"sha": "c1"}], "approvals": ["carol"],
            "at": "2026-09-01T12:00:00Z"}
RUN = {"id": "acme/api/deployments/1", "sha": "m1", "triggered_by": "dave", "approvals": ["carol"], "subject": SUBJECT,
       "at": "2026-09-01T13:00:00Z", "run": 42}
CI_CALL = {"id": "e-ci", "role": "GitHubActions", "subject": SUBJECT, "at": "2026-09-01T13:04:00Z"}


def world(case: dict, gaps: tuple[Gap, ...] = ()):
    snapshot, identities = fixture_world(case, gaps)
    return population(snapshot, identities, FIXTURE_CONFIG)


def rows(found) -> dict[str, object]:
    return {r.change.id: r for r in found.rows}


def test_a_persons_own_deploy_call_is_a_change_nobody_reviewed():
    found = world({"changes": [REVIEWED], "deployments": [RUN],
                   "events": [{"id": "e-hand", "by": "alice", "at": "2026-09-02T22:00:00Z"}]})
    hand = rows(found)["e-hand"]
    assert (hand.verdict, hand.source, hand.change.kind, hand.repo) == (
        NOT_INDEPENDENT, "CloudTrail", CLOUD_DEPLOY, "111111111111 (production)")
    assert "deployed by hand by alice in 111111111111 (production)" in hand.why and "outside any GitHub run" in hand.why
    assert [w.person for w in hand.deployers] == ["alice@example.com"] and not hand.approvers
    fact = next(f for f in found.facts if f.kind == HAND_DEPLOYED)
    assert (fact.person, fact.scope, fact.attrs["action"]) == ("alice@example.com", "cloud-deploy:e-hand",
                                                              "ecs:UpdateService")
    assert [s.hop for s in fact.proof] == ["event", "verdict"]
    assert "CloudTrail: ecs:UpdateService on prod/api in 111111111111 (production)" in fact.proof[0].text
    # the CSV and JSON an auditor samples say where the row comes from
    csv_row = dict(zip(CHANGE_COLUMNS, change_row(hand)))
    assert (csv_row["source"], csv_row["kind"], csv_row["deployed by"], csv_row["merged by"], csv_row["environments"]) == (
        "CloudTrail", "cloud deploy", "alice@example.com", "", "111111111111 (production)")
    assert change_json(hand)["cloud_event"]["by_hand"] is True
    assert change_json(rows(found)["acme/api#1"])["source"] == "GitHub"


def test_a_ci_call_joins_the_github_run_that_made_it_as_a_hop_of_its_proof():
    found = world({"changes": [REVIEWED], "deployments": [RUN], "events": [CI_CALL]})
    assert set(rows(found)) == {"acme/api#1"}  # no row of its own: it is that deployment
    change = rows(found)["acme/api#1"]
    assert change.verdict == INDEPENDENT
    [view] = change.deployments
    [call] = view.events
    assert call.run is not None and call.run.run_id == 42 and "of the same OIDC subject, started 4 min before" in call.link
    assert not found.facts
    assert change_json(change)["deployments"][0]["cloud_events"][0]["run"]["run"] == 42


def test_a_ci_roles_call_without_a_subject_joins_a_run_of_a_subject_the_role_trusts():
    no_subject = {**CI_CALL, "subject": ""}
    found = world({"changes": [REVIEWED], "deployments": [RUN], "events": [no_subject]})
    [call] = found.cloud
    assert call.run is not None and f"of OIDC subject {SUBJECT}, which" in call.link and "gha-deploy trusts" in call.link
    late = {**no_subject, "at": "2026-09-01T15:30:00Z"}  # two and a half hours after the run: not its call
    stray = rows(world({"changes": [REVIEWED], "deployments": [RUN], "events": [late]}))["e-ci"]
    assert stray.verdict == UNKNOWN and "no GitHub deployment" in stray.why


def test_a_ci_call_no_run_can_be_tied_to_is_listed_unknown_with_why():
    found = world({"changes": [REVIEWED], "events": [CI_CALL]})
    ci = rows(found)["e-ci"]
    assert ci.verdict == UNKNOWN
    assert "a CI identity no GitHub deployment run can be tied to" in ci.why and SUBJECT in ci.why
    assert not found.facts  # a pipeline's call is not a person's hand deployment


def test_an_actor_not_linked_to_a_person_makes_the_deployment_unknown_never_independent():
    found = world({"events": [{"id": "e-x", "by": "dev@contractor.example"}, {"id": "g-x", "system": "gcp",
                                                                               "by": "someone@gmail.com"}]})
    for key in ("e-x", "g-x"):
        row = rows(found)[key]
        assert row.verdict == UNKNOWN and "not linked to a person" in row.why
    assert rows(found)["g-x"].source == "Cloud Audit Logs"
    assert not found.facts


def test_failed_and_staging_calls_are_no_production_change():
    found = world({"events": [{"id": "e-denied", "by": "alice", "result": "denied"},
                              {"id": "e-failed", "by": "alice", "result": "failed"},
                              {"id": "e-staging", "by": "alice", "account": "staging"}]})
    assert not found.rows and not found.cloud


def test_cloudtrail_unread_where_a_change_deploys_makes_it_unknown_not_independent():
    bypassed = {"id": "acme/api#2", "author": "erin", "sha": "m2", "commits": [{"sha": "c2"}], "approvals": [],
                "at": "2026-09-03T12:00:00Z"}
    run2 = {**RUN, "id": "acme/api/deployments/2", "sha": "m2", "at": "2026-09-03T13:00:00Z", "run": 43}
    found = world({"changes": [REVIEWED, bypassed], "deployments": [RUN, run2]}, gaps=(DENIED,))
    reviewed, alone = rows(found)["acme/api#1"], rows(found)["acme/api#2"]
    assert reviewed.verdict == UNKNOWN
    assert DENIED.reason in reviewed.why and "111111111111 (production)" in reviewed.why
    assert "approved by carol" in reviewed.why  # what GitHub proved is kept
    assert any(DENIED.reason in u for u in reviewed.deployments[0].unknown)
    assert alone.verdict == NOT_INDEPENDENT  # GitHub's evidence alone proves it: a gap changes nothing
    assert found.counts() == {INDEPENDENT: 0, NOT_INDEPENDENT: 1, UNKNOWN: 1}
    [note] = found.notes
    assert DENIED.reason in note and "missing from this population" in note and "1 change(s)" in note
    data = population_json(found)
    assert data["unseen"] == [{"system": "aws", "resource": ACCOUNT, "reason": DENIED.reason, "before": None}]
    assert data["notes"] == [note]


def test_a_change_without_a_deployment_record_is_unknown_where_its_repository_deploys_unseen():
    found = world({"changes": [REVIEWED]}, gaps=(DENIED,))
    assert rows(found)["acme/api#1"].verdict == UNKNOWN
    # a gap in another account, where nothing of acme/api deploys, leaves it independent
    other = Gap("aws", "aws:account:999999999999", DENIED.reason, DENIED.hides, about=ABOUT)
    assert rows(world({"changes": [REVIEWED]}, gaps=(other,)))["acme/api#1"].verdict == INDEPENDENT
    # a gap about last use (Access Advisor) hides no deployment
    advisor = Gap("aws", ACCOUNT, "Access Advisor unreadable: AccessDenied", "last use of 3 principals", about=ABOUT)
    assert rows(world({"changes": [REVIEWED]}, gaps=(advisor,)))["acme/api#1"].verdict == INDEPENDENT


def test_a_failed_cloud_source_and_a_short_history_make_what_they_cover_unknown():
    failed = Gap("gcp", "", "source failed: PermissionDenied on projects.list")
    assert rows(world({"changes": [REVIEWED], "deployments": [RUN]}, gaps=(failed,)))["acme/api#1"].verdict == UNKNOWN
    # CloudTrail's 90 days of history: only what was deployed before it began is unseen
    history = Gap("aws", ACCOUNT, "CloudTrail event history keeps 90 days: the period starts 2026-08-01, history on "
                  "2026-08-20", "deployments and their actors in the period (CloudTrail) before 2026-08-20 (read "
                  "them from a trail's S3 bucket or CloudTrail Lake)", about=ABOUT)
    early = {**REVIEWED, "id": "acme/api#3", "sha": "m3", "at": "2026-08-10T12:00:00Z"}
    early_run = {**RUN, "id": "acme/api/deployments/3", "sha": "m3", "at": "2026-08-10T13:00:00Z"}
    found = world({"changes": [REVIEWED, early], "deployments": [RUN, early_run]}, gaps=(history,))
    assert rows(found)["acme/api#3"].verdict == UNKNOWN
    assert rows(found)["acme/api#1"].verdict == INDEPENDENT
    assert "before 2026-08-21" in found.notes[0]  # a day only: rounded up
    # the AWS connector names the moment the history begins: what was deployed after it was seen
    exact = Gap("aws", ACCOUNT, history.reason, "deployments and their actors in the period (CloudTrail) before "
                "2026-08-10T12:30:00Z (read them from a trail's S3 bucket or CloudTrail Lake)", about=ABOUT)
    later = {**early_run, "at": "2026-08-10T12:45:00Z"}
    found = world({"changes": [early], "deployments": [later]}, gaps=(exact,))
    assert rows(found)["acme/api#3"].verdict == INDEPENDENT and "before 2026-08-10 " in found.notes[0]


def test_the_stored_snapshot_gives_the_same_population_on_each_store(store_url, cli, tmp_path):
    from foureyes.store import Store

    snapshot, _ = fixture_world({"changes": [REVIEWED], "deployments": [RUN],
                                 "events": [{"id": "e-hand", "by": "alice", "at": "2026-09-02T22:00:00Z"}]},
                                gaps=(DENIED,))
    with Store(store_url) as store:
        store.write_snapshot(list(snapshot.sources), label="quarter")
    config = tmp_path / "foureyes.toml"
    config.write_text('[identity]\nemail_domains = ["example.com"]\n', encoding="utf-8")
    done = cli("-c", str(config), "changes", "--format", "json", env={"FOUREYES_STORE_URL": store_url})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    verdicts = {c["id"]: (c["source"], c["verdict"]) for c in data["changes"]}
    # the account's CloudTrail was denied for part of it (another region, say): what was read still counts
    assert verdicts == {"acme/api#1": ("GitHub", UNKNOWN), "e-hand": ("CloudTrail", NOT_INDEPENDENT)}
    assert data["unseen"][0]["reason"] == DENIED.reason and data["notes"]
    assert "not seen: 111111111111 (production): CloudTrail unreadable" in cli(
        "-c", str(config), "changes", env={"FOUREYES_STORE_URL": store_url}).stderr
    conflicts = json.loads(cli("-c", str(config), "conflicts", "--format", "json",
                               env={"FOUREYES_STORE_URL": store_url}).stdout)
    assert [(f["rule"], f["scope"]) for f in conflicts["findings"]] == [("FE-ACT-004", "cloud-deploy:e-hand")]


def test_a_role_sessions_call_is_the_person_who_assumed_the_role():
    case = {"assumes": [{"id": "a1", "by": "carol@example.com", "role": "deployer", "session": "carol",
                         "did": [{"action": "ecs:UpdateService", "at": "2026-09-01T10:05:00Z", "target": "prod/api"},
                                 {"action": "iam:CreateAccessKey", "at": "2026-09-01T10:06:00Z"}]}]}
    snapshot, identities = fixture_world(case)
    found = population(snapshot, identities, FIXTURE_CONFIG)
    [row] = found.rows  # the access key is no deployment; the AssumeRole itself neither
    assert row.change.id == "a1-0" and row.verdict == NOT_INDEPENDENT
    assert [w.person for w in row.deployers] == ["carol@example.com"]
    assert "through deployer (session carol)" in row.cloud.actor.how
    [fact] = found.facts
    assert [s.ref for s in fact.proof] == ["a1", "a1-0", ""]  # the AssumeRole, the call, the verdict
    assert fact.proof[0].text.startswith("CloudTrail: sts:AssumeRole of arn:aws:iam::111111111111:role/deployer")
    # the same session as a use of a declared emergency path: not independent, reviewed as that use instead
    emergency = population(snapshot, identities, FIXTURE_CONFIG, {"a1": "prod-breakglass"})
    [row] = emergency.rows
    assert row.verdict == NOT_INDEPENDENT and "in a session of the emergency path prod-breakglass" in row.why
    assert not emergency.facts
