"""The GitHub connector under load and failure: request budget, retries, rate limits, gaps.

Faults are injected by the fake server (real HTTP); the client is PyGithub with its retry.
A faulty run must produce exactly the clean run's data (nothing lost, nothing doubled),
and the stats must agree with what the server counted.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from fakes import github_config
from fakes.github_server import FakeGitHub, load_fixture, synthetic_org
from foureyes.connectors.base import ProgressEvent
from foureyes.connectors.github.api import ApiFailure, Budget, MinuteWindow
from foureyes.connectors.github.connector import GitHubConnector
from foureyes.errors import SourceError
from foureyes.model import SourceResult

REPO_NAMES = "nodes { id name nameWithOwner isArchived }"  # only the repositories' name chain asks this

TOKEN = "ghp_fault_token_do_not_leak_4711"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


def run(fixture: dict, plan: Callable[[FakeGitHub], None] | None = None, *, extra: str = "", latency: float = 0.0,
        **server: Any) -> tuple[SourceResult, FakeGitHub, list[ProgressEvent]]:
    events: list[ProgressEvent] = []
    with FakeGitHub(fixture, latency=latency, **server) as gh:
        if plan:
            plan(gh)
        config = github_config(gh.url, org=fixture["org"]["login"], extra=extra)
        result = GitHubConnector(config.sources.github, config=config).collect(events.append)
    return result, gh, events


def content(result: SourceResult) -> tuple:
    return ({p.key for p in result.principals}, {r.key for r in result.resources}, {g.key for g in result.grants},
            {e.key for e in result.edges}, {g.key for g in result.gaps}, len(result.grants), len(result.edges))


@pytest.fixture(scope="module")
def clean() -> SourceResult:
    mp = pytest.MonkeyPatch()
    mp.setenv("GITHUB_TOKEN", TOKEN)
    try:
        result, gh, _ = run(load_fixture("scenarios.yaml"))
    finally:
        mp.undo()
    assert result.stats["requests"] == gh.stats.total and result.stats["retries"] == 0
    return result


def test_secondary_rate_limit_and_500_lose_nothing_and_count_nothing_twice(clean):
    def plan(gh: FakeGitHub) -> None:
        gh.faults.secondary_rate_limit("/orgs/acme/teams/payments/repos", retry_after=1)
        gh.faults.server_error("/repos/acme/payments-api/environments")
        gh.faults.server_error("/graphql", nth=3)

    result, gh, events = run(load_fixture("scenarios.yaml"), plan)
    assert not gh.faults.pending  # every fault fired
    assert content(result) == content(clean)
    assert gh.stats.count("/orgs/acme/teams/payments/repos") == 2
    assert gh.stats.count("/repos/acme/payments-api/environments") == 2
    assert result.stats["retries"] == 3
    assert result.stats["requests"] == gh.stats.total == clean.stats["requests"] + 3
    assert 0.9 <= result.stats["rate_limit_wait_s"] < 3
    assert any(e.level == "warning" and "rate limit" in e.message for e in events)


def test_connection_reset_malformed_json_and_truncated_page_are_retried(clean):
    def plan(gh: FakeGitHub) -> None:
        gh.faults.add("/repos/acme/storefront/environments", action="reset")
        gh.faults.add("/orgs/acme/teams/sre/repos", action="malformed")
        gh.faults.add("/orgs/acme/outside_collaborators", action="truncate")

    result, gh, _ = run(load_fixture("scenarios.yaml"), plan)
    assert not gh.faults.pending
    assert content(result) == content(clean)
    assert result.stats["retries"] == 3
    assert result.stats["requests"] == gh.stats.total


def test_exhausted_primary_budget_waits_for_the_reset_and_says_until_when(clean):
    result, gh, events = run(load_fixture("scenarios.yaml"),
                             lambda gh: gh.faults.add("/orgs/acme", action="exhaust", delay=1.0))
    assert content(result) == content(clean)
    waits = [e for e in events if "rate limit exhausted: waiting until" in e.message]
    assert waits and waits[0].message.endswith("UTC")
    assert 0 < result.stats["rate_limit_wait_s"] <= 1.1


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit_error_is_retried_after_the_reset(clean, status):
    """GitHub, "Rate limits for the REST API": exceeding the primary limit answers 403 or 429 with
    x-ratelimit-remaining 0; wait until x-ratelimit-reset, then retry. The wait names the limit."""
    result, gh, events = run(load_fixture("scenarios.yaml"),
                             lambda gh: gh.faults.primary_rate_limit("/repos/acme/deploy-tools/actions/oidc/customization/sub",
                                                                     reset_in=0, status=status))
    assert content(result) == content(clean)
    assert gh.stats.count("/repos/acme/deploy-tools/actions/oidc/customization/sub") == 2
    assert result.stats["retries"] == 1
    (wait,) = [e.message for e in events if "rate limit" in e.message]
    assert wait.startswith(f"GitHub primary rate limit ({status}): waiting ") and wait.endswith(" s before retrying")
    assert "secondary" not in wait and "a moment" not in wait


def test_the_graphql_budget_is_waited_for_not_overrun(clean):
    """GitHub, "Rate limits and query limits for the GraphQL API": each query costs its score of
    the hour's points. With 5 points an hour (here: every 2 s) the snapshot's 6 do not fit: the
    scheduler reserves each query's score before sending it and waits for the reset instead of
    being answered RATE_LIMITED."""
    result, gh, events = run(load_fixture("scenarios.yaml"), graphql_limit=5, window=2)
    assert content(result) == content(clean)
    assert result.stats["retries"] == 0 and result.stats["graphql_points"] == 6  # never refused, nothing asked twice
    assert result.stats["rate_limit_wait_s"] > 0
    # the points used count across the reset: every REST call and query score, each window once
    gh.settle()
    assert result.stats["rate_limit_points"] == gh.stats.points + gh.stats.rest
    (wait,) = [e.message for e in events if "rate limit" in e.message]
    assert wait.startswith("GitHub graphql rate limit exhausted: waiting until ")


def test_the_per_minute_limit_counts_a_request_from_its_answer():
    """GitHub's secondary limit: at most 900 points a minute per REST endpoint, counted as requests
    arrive. A request holds its point until a minute after its answer, and one not yet answered
    holds it too, so the limiter never lets a request through that GitHub would still count."""
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    window = MinuteWindow(3, clock=lambda: clock[0], sleep=sleep)
    tickets = [window.take()[1] for _ in range(3)]
    clock[0] = 10.0
    window.done(tickets[0])  # answered at 10 s: its point is free at 70 s
    clock[0] = 20.0
    window.done(tickets[1])
    waited, fourth = window.take()
    assert clock[0] == 70.0 and waited == 50.0  # not 60 s after it was sent, 60 s after its answer
    window.done(fourth)  # answered at once, at 70 s
    waited, _ = window.take()  # the second frees at 80 s (answered at 20 s)
    assert clock[0] == 80.0 and waited == 10.0
    window.take()  # the third is still unanswered: only the fourth frees, at 130 s
    assert clock[0] == 130.0 and slept == [50.0, 10.0, 50.0]


def test_the_budget_believes_the_latest_window_and_a_spent_answer():
    """Answers arrive out of order: within a window (same reset) the lowest remaining is the latest;
    an answer from a window already past is not believed; one that says the budget is spent holds
    every request until its reset, even beside a window that says otherwise."""
    now = time.time()
    budget = Budget("graphql")

    def answer(remaining: int, reset: float) -> None:
        budget.settle(0, {"x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": str(int(reset))})

    answer(4000, now + 3000)
    answer(4100, now + 3000)  # sent earlier, answered later
    assert budget.remaining == 4000
    answer(10, now - 600)  # the window before
    assert budget.remaining == 4000
    budget.reserve(4000, max_wait=0)  # fits exactly
    budget.settle(4000, {})
    answer(3, now + 3000)
    with pytest.raises(ApiFailure, match="beyond max_rate_limit_wait"):
        budget.reserve(5, max_wait=0)  # a query of 5 points waits for the reset, and no wait is allowed
    answer(0, now + 2)  # rate limited, until a reset GitHub states
    assert budget.blocked_until == int(now + 2) and budget.remaining == 3
    with pytest.raises(ApiFailure, match="rate limit exhausted until"):
        budget.reserve(1, max_wait=0)
    waits: list[float] = []
    budget.reserve(1, max_wait=5, waiting=waits.append)
    assert waits == [int(now + 2)] and time.time() >= int(now + 2)


def test_secondary_rate_limit_429_with_retry_after_says_secondary(clean):
    """GitHub: a secondary limit answers 403 or 429, with retry-after when it says how long."""
    def plan(gh: FakeGitHub) -> None:
        gh.faults.add("/orgs/acme/teams/sre/repos", status=429, headers={"Retry-After": "1"},
                      body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
                                       "you try again."})

    result, gh, events = run(load_fixture("scenarios.yaml"), plan)
    assert content(result) == content(clean) and gh.stats.count("/orgs/acme/teams/sre/repos") == 2
    (wait,) = [e.message for e in events if "rate limit" in e.message]
    assert wait == "GitHub secondary rate limit (429): waiting 1 s before retrying"


def test_graphql_rate_limited_on_the_repositories_query_waits_and_asks_again(clean):
    """GitHub, "Rate limits and node limits for the GraphQL API": over the primary limit, GraphQL
    answers 200 with errors[].type RATE_LIMITED and x-ratelimit-remaining 0; the repositories
    are read after the reset instead of becoming a Gap over every repository."""
    result, gh, events = run(load_fixture("scenarios.yaml"),
                             lambda gh: gh.faults.graphql_rate_limited(REPO_NAMES, reset_in=1))
    assert not gh.faults.pending
    assert content(result) == content(clean)
    assert result.stats["retries"] == 1 and result.stats["rate_limit_wait_s"] > 0
    assert any("graphql rate limit exhausted: waiting until" in e.message for e in events)


def test_graphql_rate_limited_past_the_retries_is_one_gap(clean):
    result, gh, _ = run(load_fixture("scenarios.yaml"),
                        lambda gh: gh.faults.graphql_rate_limited(REPO_NAMES, reset_in=0, times=10),
                        extra="max_retries = 2\n")
    (gap,) = [g for g in result.gaps if "RATE_LIMITED" in g.reason]
    assert gap.resource == "github:org:acme" and "repositories" in gap.hides


def test_a_request_that_keeps_failing_becomes_a_gap_on_that_repository(clean):
    result, gh, _ = run(load_fixture("scenarios.yaml"),
                        lambda gh: gh.faults.server_error("/repos/acme/webhooks/environments", times=50),
                        extra="max_retries = 2\n")
    gaps = [g for g in result.gaps if g.resource == "github:repo:acme/webhooks"]
    assert len(gaps) == 1
    assert gaps[0].reason.startswith("500 on GET /repos/acme/webhooks/environments")
    assert "environments" in gaps[0].hides
    assert gh.stats.count("/repos/acme/webhooks/environments") == 3  # the first try and two retries
    # the rest of the organisation is intact
    other = {g.key for g in clean.grants if "acme/webhooks" not in g.resource}
    assert other <= {g.key for g in result.grants}
    assert TOKEN not in repr(result)


def test_collaborators_graphql_will_not_show_are_a_gap_on_that_repository_only(clean):
    """Direct collaborators come with the repositories page (GraphQL); where GitHub answers that
    list with FORBIDDEN and null, that repository has a Gap and the page's others are read."""
    fixture = load_fixture("scenarios.yaml")
    next(r for r in fixture["repos"] if r["name"] == "infra")["collaborators_forbidden"] = True
    result, gh, _ = run(fixture)
    (gap,) = [g for g in result.gaps if g.resource == "github:repo:acme/infra"]
    assert gap.reason == ("GraphQL FORBIDDEN: Must have push access to view repository collaborators. "
                          "(Repository.collaborators)")
    assert gap.hides == "direct collaborators and their roles"
    assert not any(g.principal == "github:rita" and g.resource == "github:repo:acme/infra" for g in result.grants)
    other = {g.key for g in clean.grants if "acme/infra" not in g.resource}
    assert other <= {g.key for g in result.grants}
    assert len(result.gaps) == len(clean.gaps) + 1


def test_forbidden_org_ruleset_is_a_gap_on_each_repository_it_covers(monkeypatch):
    fixture = load_fixture("scenarios.yaml")
    fixture["org_rulesets"] = [{"id": 70, "name": "org main", "enforcement": "active",
                                "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []},
                                               "repository_name": {"include": ["ledger", "infra"], "exclude": []}},
                                "rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1}}],
                                "bypass_actors": [{"actor_type": "OrganizationAdmin", "bypass_mode": "always"}]}]
    fixture["token"] = {"org_admin": False}
    result, gh, _ = run(fixture)
    covered = {g.resource for g in result.gaps if "organisation ruleset 'org main'" in g.reason}
    assert covered == {"github:repo:acme/ledger", "github:repo:acme/infra"}
    assert gh.stats.count("/orgs/acme/rulesets/70") == 1  # read once, shared by both repositories
    # admins-not-enforced on infra no longer suffices: the org ruleset needs a review too
    infra = [g for g in result.grants if g.resource == "github:repo:acme/infra" and g.entitlement == "merge unreviewed"]
    assert infra == []


def test_bad_token_fails_the_source_with_one_clear_line():
    fixture = load_fixture("scenarios.yaml")
    fixture["token"] = {"reject": True}
    with pytest.raises(SourceError, match="401 Bad credentials") as info:
        run(fixture)
    assert TOKEN not in str(info.value)


def test_missing_token_names_the_variable(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(SourceError, match="GITHUB_TOKEN"):
        run(load_fixture("scenarios.yaml"))


@pytest.mark.slow
def test_request_budget_on_200_repositories():
    fixture = synthetic_org(repos=200, members=300, teams=20, org="synth")
    result, gh, events = run(fixture, latency=0.002)
    repos = [r for r in result.resources if r.kind == "repo"]
    assert len(repos) == 200 and result.gaps == ()
    budget = len(repos) // 4 + 20  # 200 repositories: 40 with environments or OIDC, ~5 pages of GraphQL
    assert gh.stats.total <= budget, gh.stats.per_path
    assert result.stats["requests"] == gh.stats.total
    # collaborators and team repositories come with the GraphQL pages (no custom roles here)
    assert gh.stats.count("/repos/synth/*/collaborators") == 0
    assert gh.stats.count("/orgs/synth/teams/*/repos") == 0
    assert gh.stats.count("/repos/synth/*/rulesets/*") == 1  # GraphQL's bypass lists, checked once against REST
    assert gh.stats.points + gh.stats.rest <= 40 * len(repos) / 100  # GitHub's score and REST calls
    assert result.stats["graphql_points"] == gh.stats.points and result.stats["rest_requests"] == gh.stats.rest
    assert gh.stats.count("/repos/synth/*/environments") == 20  # only where GraphQL saw environments
    assert gh.stats.count("/repos/synth/*/actions/oidc/customization/sub") == 20  # only where workflows use OIDC
    assert 1 < result.stats["max_in_flight"] <= 8  # the configured concurrency bounds the pool
    assert gh.stats.max_in_flight <= 8
    assert len([e for e in events if e.message.startswith("read synth/")]) == 200
