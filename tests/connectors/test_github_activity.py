"""GitHub activity against the fake GitHub: `snapshot --activity`, the change population and the
proven violations, and what stays unknown (tests/fixtures/github/activity.yaml says what each
pull request, push, deployment and bypass demonstrates)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakes import config_toml
from fakes.github_activity import activity_fixture
from fakes.github_server import FakeGitHub
from foureyes.activity import ActivityPeriod, Change, Deployment, period_from
from foureyes.cli import main
from foureyes.config import parse_config
from foureyes.connectors.github.activity_fetch import ActivityFetcher, OrgActivity, RepoActivity
from foureyes.connectors.github.api import GitHubApi
from foureyes.workspace import Workspace

TIERS = """
[tiers.production]
github_environments = ["production"]
github_repos = ["acme/api", "acme/web"]

[identity]
email_domains = ["acme.com"]
"""


class Run:
    def __init__(self, tmp: Path, gh: FakeGitHub):
        self.gh = gh
        self.config = tmp / "foureyes.toml"
        self.config.write_text(config_toml(gh.url, tiers=TIERS), encoding="utf-8")
        self.env = {"GITHUB_TOKEN": "t", "FOUREYES_STORE_URL": f"sqlite:///{tmp / 'activity.db'}"}

    def __call__(self, *args: str):
        result = CliRunner().invoke(main, ["-c", str(self.config), *args], env=self.env, catch_exceptions=False)
        return result


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("github-activity")
    with FakeGitHub(activity_fixture()) as gh:
        runner = Run(tmp, gh)
        runner.snapshot = runner("snapshot", "--activity", "--since", "60d")
        gh.settle()
        runner.requests = dict(gh.stats.per_path)
        os.environ["FOUREYES_STORE_URL"] = runner.env["FOUREYES_STORE_URL"]
        try:
            with Workspace.open(parse_config(runner.config.read_text(), str(runner.config))) as ws:
                runner.analysis = ws.changes()
        finally:
            os.environ.pop("FOUREYES_STORE_URL", None)
        yield runner


def rows(run) -> dict:
    return {r.change.id: r for r in run.analysis.changes.rows}


def test_snapshot_stores_the_period_and_reads_only_production_repositories(run):
    assert run.snapshot.exit_code == 3, run.snapshot.output  # stored; the unreadable run is a gap
    period = run.analysis.snapshot.period
    assert period is not None and period.days == 60
    assert "/repos/acme/docs/activity" not in run.requests  # docs is not production
    assert run.requests["/repos/acme/api/activity"] == 1 and run.requests["/orgs/acme/audit-log"] == 1
    ids = set(rows(run))
    assert "acme/api#8" not in ids and "acme/web#900" not in ids  # merged before the period
    assert not any(i.startswith("acme/docs") for i in ids)
    assert len([i for i in ids if i.startswith("acme/web#")]) == 30  # two GraphQL pages of 25


def test_an_approval_before_a_later_push_does_not_count_under_the_last_push_rule(run):
    row = rows(run)["acme/api#2"]
    (approval,) = row.approvals
    assert approval.who.person == "bob@acme.com" and approval.approval.commit == "a2a"
    assert not approval.counts and "before the last push" in approval.why
    assert row.verdict == "not independent"
    assert row.change.require_last_push_approval and row.change.head_sha == "a2b"
    # GitHub's own count said 0 of 1: someone merged past the rule
    assert row.bypasses and "0 of the 1 required approvals" in row.bypasses[0]


def test_verdicts_independent_co_authored_bot_queue_unknown_and_paged_commits(run):
    found = rows(run)
    assert found["acme/api#1"].verdict == "independent"
    pairing = found["acme/api#3"]  # erin co-authored (Co-authored-by) and approved
    assert pairing.verdict == "not independent" and "erin@acme.com" in {w.person for w in pairing.authors}
    bot = found["acme/api#4"]
    assert bot.verdict == "independent" and bot.authors[0].machine
    assert found["acme/api#5"].change.merge_method == "merge queue"
    unlinked = found["acme/api#6"]
    assert unlinked.verdict == "unknown" and "github:mallory is not linked to a person" in unlinked.why
    big = found["acme/api#7"]
    assert len(big.change.commits) == 60 and big.change.commits_complete
    assert big.verdict == "not independent" and "approved by an author" in big.why  # bob co-authored big005


def test_a_direct_push_with_its_commits_co_author_and_bypass(run):
    push = rows(run)["acme/api@p1"]
    assert push.change.kind == "direct_push" and push.verdict == "not independent"
    assert {w.person for w in push.authors} == {"alice@acme.com", "dave@acme.com"}  # trailer names dave
    assert push.bypasses == ("pushed directly to the protected branch main",)
    assert run.requests["/repos/acme/api/compare/m6...p1"] == 1


def test_proven_violations_with_their_proof_hop_by_hop(run):
    found = {(f.rule.id, f.scope): f for f in run.analysis.findings if f.rule.kind == "activity"}
    shipped = found[("FE-ACT-001", "change:acme/api#2")]
    assert shipped.person == "alice@acme.com"
    hops = [s.hop for s in shipped.proof]
    assert hops[:2] == ["change", "commits"] and "approvals" in hops and "merge" in hops and hops[-1] == "deployment"
    assert "run 102" in shipped.proof[-1].text and "started by Alice Author" in shipped.proof[-1].text
    assert ("FE-ACT-002", "change:acme/api#2") in found  # the admin merge
    suite = found[("FE-ACT-002", "bypass:acme/api/rule-suites/77")]
    assert suite.person == "alice@acme.com" and any(s.ref == "acme/api@p1" or "acme/api@p1" in s.text
                                                    for s in suite.proof)
    # the audit log's override of the same push is the same event: reported once
    assert not any(scope.startswith("bypass:acme/api/audit/") for _, scope in found)
    self_approved = found[("FE-ACT-003", "deployment:acme/api/deployments/502")]
    assert "who triggered it" in self_approved.proof[1].text
    assert ("FE-ACT-003", "deployment:acme/api/deployments/501") not in found  # carol approved alice's


def test_unreadable_run_is_a_gap_and_its_deployer_unknown_never_a_person(run):
    gaps = [g for g in run.analysis.changes.gaps if "runs/103" in g.reason]
    assert gaps and "who started it" in gaps[0].hides
    deployment = next(d for d in run.analysis.changes.deployments if d.deployment.run_id == 103)
    assert deployment.deployment.triggering_actor.principal == ""
    assert any("run 103" in u for u in deployment.unknown)
    rule_suite_reach = [g for g in run.analysis.changes.gaps if "rule insights API reaches back one month" in g.reason]
    assert rule_suite_reach  # a 60-day period: older bypasses cannot be read from rule suites


def test_changes_csv_lists_the_population_for_sampling(run):
    result = run("changes", "--format", "csv")
    assert result.exit_code == 0
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(table) == 38
    two = next(r for r in table if r["change"] == "acme/api#2")
    assert two["authors"] == "alice@acme.com" and two["approvers"] == "" and two["deployed by"] == "alice@acme.com"
    assert two["verdict"] == "not independent" and two["deployment approvers"] == "alice@acme.com"
    only = run("changes", "--format", "json", "--verdict", "unknown")
    data = json.loads(only.stdout)
    assert [c["id"] for c in data["changes"]] == ["acme/api#6"] and data["counts"]["unknown"] == 1


def _org(gh: FakeGitHub) -> tuple[GitHubApi, OrgActivity]:
    section = parse_config(config_toml(gh.url, tiers=TIERS)).sources.github
    api = GitHubApi(section, lambda _e: None, token="t")
    period = period_from(since="20d")
    org = OrgActivity("acme", gh.org.data["org"].get("plan", ""), period)
    org.repos["acme/api"] = RepoActivity("acme/api", "github:repo:acme/api", "main", ["production"], {"production"},
                                         protected=True)
    return api, org


def test_audit_log_on_a_plan_without_one_is_a_gap_naming_the_plan():
    data = activity_fixture()
    data["org"]["plan"] = "team"
    with FakeGitHub(data) as gh:
        api, org = _org(gh)
        org.plan = "team"
        ActivityFetcher(api, api.section, lambda _e: None)._audit_log(org)
    assert org.audit_log is None
    (gap,) = org.gaps
    assert "not available on the team plan" in gap.reason and "policy_override" in gap.hides


def test_denied_org_rule_suites_fall_back_per_repository_and_errors_are_retried():
    data = activity_fixture()
    data["token"] = {"org_rule_suites": False, "audit_log": False}
    with FakeGitHub(data) as gh:
        gh.faults.server_error("/repos/acme/api/activity", times=2)
        gh.faults.secondary_rate_limit("/repos/acme/api/rulesets/rule-suites", retry_after=0)
        api, org = _org(gh)
        ActivityFetcher(api, api.section, lambda _e: None).fetch(org)
        gh.settle()
        repo = org.repos["acme/api"]
        assert [s["id"] for s in repo.rule_suites] == [77]  # read per repository after the org's 403
        assert gh.stats.count("/repos/acme/api/rulesets/rule-suites") == 2  # the secondary limit, then the answer
        assert gh.stats.count("/repos/acme/api/activity") == 3  # two 500s retried
        assert [p["after"] for p in repo.pushes] == ["p1"]
        assert any("read:audit_log" in g.reason for g in org.gaps)  # 403 on the audit log: a gap, not a crash
    assert [g.reason.split(":")[0] for g in repo.gaps] == ["403 on GET /repos/acme/api/actions/runs/103"]


def test_period_reaching_past_the_activity_api_is_a_gap():
    with FakeGitHub(activity_fixture()) as gh:
        api, org = _org(gh)
        org.period = ActivityPeriod("2020-01-01T00:00:00Z", org.period.end)
        repo = org.repos["acme/api"]
        ActivityFetcher(api, api.section, lambda _e: None)._pushes(repo, org.period)
    assert any("reaches back one year" in g.reason for g in repo.gaps)


def test_records_keep_their_raw_evidence(run):
    change = next(r for r in run.analysis.snapshot.activity() if isinstance(r, Change) and r.id == "acme/api#2")
    assert change.evidence["reviewDecision"] == "REVIEW_REQUIRED" and change.url.endswith("/pull/2")
    deployment = next(r for r in run.analysis.snapshot.activity() if isinstance(r, Deployment) and r.run_id == 102)
    assert deployment.ci_subject == "repo:acme/api:environment:production" and deployment.event == "workflow_dispatch"
    assert [a.reviewer.principal for a in deployment.approvals] == ["github:alice"]



def test_nullable_fields_of_a_pull_request_become_unknown_actors_not_errors():
    """GitHub's schema lets author, mergedBy, mergeCommit, a commit author's user and email, a
    review's author and commit be null (a deleted account shows as null): nothing raises, and
    nobody unknown becomes an approver."""
    from foureyes.connectors.github.activity_translate import change_from_pull

    repo = RepoActivity("acme/api", "github:repo:acme/api", "main", [], set())
    node = {"number": 9, "title": None, "url": None, "mergedAt": "2026-10-01T10:00:00Z", "baseRefName": "main",
            "headRefOid": "h1", "reviewDecision": None, "author": None, "mergedBy": None, "mergeCommit": None,
            "commits": {"totalCount": 1, "nodes": [None, {"commit": {"oid": "h1", "committedDate": None,
                                                                        "message": None,
                                                                        "author": {"email": None, "name": None,
                                                                                   "user": None},
                                                                        "committer": None}}]},
            "reviews": {"nodes": [None, {"author": None, "state": "APPROVED", "submittedAt": None, "commit": None}]},
            "timelineItems": {"nodes": [None]}}
    change = change_from_pull(repo, node, {"required_approvals": 1})
    assert change.author.named is False and change.merged_by.named is False
    assert [c.sha for c in change.commits] == ["h1"] and change.commits[0].author.named is False
    assert change.approvals[0].reviewer.named is False
    assert change.bypasses  # nobody named approved it: GitHub's own count is 0 of 1


def test_a_token_echoed_into_a_pull_request_never_reaches_the_store(tmp_path):
    """A server that puts the request's token into what it answers (a title, a commit message)
    cannot make foureyes store it: activity records are scrubbed like the rest of a source's result."""
    token = "ghp_ACTIVITYcanary0123456789abcdefXYZ"
    data = activity_fixture()
    pull = data["repos"][0]["activity"]["pull_requests"][0]
    pull["title"] = f"Add refunds (token {token})"
    with FakeGitHub(data) as gh:
        runner = Run(tmp_path, gh)
        runner.env["GITHUB_TOKEN"] = token
        assert runner("snapshot", "--activity", "--since", "60d").exit_code == 3  # the unreadable run's gap
        shown = runner("changes", "--format", "json")
    assert token in gh.tokens  # it was the token the fake saw
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("activity.db*"))
    assert token.encode() not in stored and token not in shown.stdout
    assert "Add refunds (token «redacted»)" in shown.stdout
