"""The GCP connector under failure: resets, timeouts, 5xx bursts, rate limits, malformed and cut-off answers.

Faults are injected by the fake Google servers (real HTTP for Resource Manager, IAM v2, pools
and Cloud Identity; real gRPC for iam_admin_v1); the clients are Google's own, retried by
google-api-core. A fault that clears must give exactly the clean run's data; one that does not
must end, within [sources.gcp] retry_deadline, as a Gap naming the resource and the cause.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable

import pytest

from fakes import gcp_org
from foureyes.config import parse_config
from foureyes.connectors.base import ProgressEvent
from foureyes.connectors.gcp.connector import GcpConnector
from foureyes.model import SourceResult

ORG = "organizations/424242424242"
WEB_DEPLOYER = "projects/acme-prod-web/serviceAccounts/web-deployer@acme-prod-web.iam.gserviceaccount.com"
POOL = "/v1/projects/111004/locations/global/workloadIdentityPools/github"


def deny_list(resource: str) -> str:
    return f"/v2/policies/cloudresourcemanager.googleapis.com/{resource}/denypolicies"


class Run:
    def __init__(self, result: SourceResult, fake: gcp_org.FakeGcp, events: list[ProgressEvent], elapsed: float):
        self.result, self.fake, self.events, self.elapsed = result, fake, events, elapsed

    def gaps(self, resource: str, start: str) -> list[str]:
        return [g.reason for g in self.result.gaps if g.resource == resource and g.reason.startswith(start)]


def run(plan: Callable[[gcp_org.FakeGcp], None] | None = None, *, timeout: float = 0.75,
        retry_deadline: float = 5.0) -> Run:
    """Collect the Acme organisation (Cloud Identity on) with the faults ``plan`` adds."""
    fake = gcp_org.start()
    events: list[ProgressEvent] = []
    try:
        if plan:
            plan(fake)
        config = parse_config(gcp_org.TIERS + f"""
[sources.gcp]
organization = "{ORG}"
api_endpoint = "{fake.google.url}"
iam_admin_endpoint = "{fake.iam.target}"
anonymous = true
timeout = {timeout}
retry_deadline = {retry_deadline}
cloud_identity = true
""" + gcp_org.GROUPS)
        started = time.monotonic()
        result = GcpConnector(config.sources.gcp, config=config).collect(events.append)
        elapsed = time.monotonic() - started
    finally:
        fake.stop()
    return Run(result, fake, events, elapsed)


def data(result: SourceResult) -> tuple[Any, ...]:
    return result.principals, result.resources, result.grants, result.edges, result.gaps


def planned(fake: gcp_org.FakeGcp) -> list[Any]:
    """The faults a test added (the fixture's own permanent 403s left out)."""
    rest = [f for f in fake.google.faults if f.status != 403]
    grpc_ = [f for f in fake.iam.faults if f.code != "PERMISSION_DENIED"]
    return rest + grpc_


def served(fake: gcp_org.FakeGcp, expected: int | None = None) -> int:
    """Requests the fakes received. With ``expected``: waited for (up to 10 s) to reach it, since a
    delayed answer the client stopped waiting for is logged only when the fake's sleep ends, which on
    a loaded machine can be after the source has finished."""
    deadline = time.monotonic() + (10 if expected is not None else 0)
    while True:
        count = len(fake.google.requests) + len(fake.iam.calls)
        if expected is None or count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def assert_nothing_silently_missing(faulty: SourceResult, clean: SourceResult) -> None:
    """Whatever the clean run had and the faulty one lacks sits under a new Gap."""
    new_gaps = set(faulty.gaps) - set(clean.gaps)
    gapped = {g.resource for g in new_gaps}
    parents = {r.key: r.parent for r in clean.resources}

    def covered(key: str) -> bool:
        while key:
            if key in gapped:
                return True
            key = parents.get(key, "")
        return "" in gapped  # a source-wide gap (an unreadable role) can hide a grant anywhere

    lost_resources = {r.key for r in clean.resources} - {r.key for r in faulty.resources}
    assert all(covered(parents[key]) for key in lost_resources), lost_resources
    kept = {g.key for g in faulty.grants}
    lost_grants = [g for g in clean.grants if g.key not in kept]
    assert all(covered(g.resource) for g in lost_grants), [(g.principal, g.resource) for g in lost_grants]


@pytest.fixture(scope="module")
def clean() -> SourceResult:
    # the reference run has no fault to time out: a long timeout, not the faulty runs' 0.75 s, which
    # requests outlasted twice on a loaded machine (a fresh clone's `make test`, two workers on two cores)
    found = run(timeout=30.0)
    assert found.result.stats["retries"] == 0 and found.result.stats["requests"] == served(found.fake, found.result.stats["requests"])
    return found.result


# ---------------------------------------------------------------- faults that clear


def assert_retried_and_nothing_else(faulty: Run, clean: SourceResult, faults: int) -> None:
    """Every failed request was retried, and apart from retries the run asked exactly what the clean one did."""
    stats = faulty.result.stats
    assert stats["requests"] == served(faulty.fake, stats["requests"])
    assert stats["requests"] - stats["retries"] == clean.stats["requests"]
    assert stats["retries"] >= faults  # more only if the loaded machine let a request outlast the timeout


def rate_limited(events: list[ProgressEvent]) -> list[str]:
    return [e.message for e in events if e.level == "warning" and "rate limited" in e.message]


def test_rest_resets_timeouts_5xx_bursts_rate_limits_malformed_and_truncated_pages_are_retried_to_the_clean_result(
        clean):
    def plan(fake: gcp_org.FakeGcp) -> None:
        faults = fake.google.faults
        faults.add("POST", "/v3/folders/1003:getIamPolicy", status=429, retry_after="1")
        faults.add("POST", "/v3/projects/acme-prod-web:getIamPolicy", "reset")
        faults.add("GET", "/v3/projects", "delay", delay=0.9, query={"parent": "folders/1001"})
        # the second page of the organisation's folders, announced whole and cut off
        faults.add("GET", "/v3/folders", "truncate", query={"parent": ORG, "pageToken": "2"})
        faults.add("GET", deny_list("folders/1001"), "malformed")
        for status in (502, 503, 500):  # one burst: three answers in a row
            faults.add("GET", f"/v3/{ORG}", status=status)
        faults.add("GET", "/v1/groups:lookup", status=503, times=2, query={"groupKey.id": "web-oncall@acme.com"})
        faults.add("GET", f"{POOL}/providers", "malformed")

    faulty = run(plan)
    faults = planned(faulty.fake)
    assert all(f.fired == f.times for f in faults)
    assert data(faulty.result) == data(clean)
    assert_retried_and_nothing_else(faulty, clean, sum(f.fired for f in faults))
    # the rate limit was waited out for as long as Retry-After and RetryInfo asked, not the 0.25 s backoff
    first, retried = (r.at for r in faulty.fake.google.seen("POST", "/v3/folders/1003:getIamPolicy"))
    assert retried - first >= 1.0
    assert faulty.result.stats["throttled"] == 1
    assert rate_limited(faulty.events) == ["rate limited (429 Too Many Requests: injected 429 for POST "
                                           "/v3/folders/1003:getIamPolicy): retrying each call for up to 5 s"]


def test_grpc_unavailable_bursts_deadlines_rate_limits_and_undecodable_answers_are_retried_to_the_clean_result(
        clean):
    def plan(fake: gcp_org.FakeGcp) -> None:
        fake.iam.fail("GetRole", "roles/owner", "RESOURCE_EXHAUSTED", retry_delay=0.6)
        fake.iam.fail("GetRole", "roles/run.admin", "UNAVAILABLE", times=3)
        # the second page of acme-prod-web's service accounts answers after the client's deadline
        fake.iam.fail("ListServiceAccounts", "projects/acme-prod-web", "DELAY", nth=2, delay=0.9)
        fake.iam.fail("GetIamPolicy", WEB_DEPLOYER, "DEADLINE_EXCEEDED")
        fake.iam.fail("ListRoles", "projects/acme-prod-web", "UNDECODABLE")
        fake.iam.fail("ListServiceAccountKeys", "projects/acme-ci/serviceAccounts/*", "INTERNAL")

    faulty = run(plan)
    faults = planned(faulty.fake)
    assert all(f.fired == f.times for f in faults)
    assert data(faulty.result) == data(clean)
    assert_retried_and_nothing_else(faulty, clean, sum(f.fired for f in faults))
    first, retried = faulty.fake.iam.seen("GetRole", "roles/owner")
    assert retried - first >= 0.6  # RetryInfo asked for 0.6 s; the backoff alone starts at 0.25 s
    assert faulty.result.stats["throttled"] == 1 and len(rate_limited(faulty.events)) == 1


# ---------------------------------------------------------------- faults that do not clear


def test_an_exhausted_rate_limit_ends_at_the_retry_deadline_as_a_gap_on_the_resource(clean):
    def plan(fake: gcp_org.FakeGcp) -> None:
        fake.google.fail("POST", "/v3/projects/acme-prod-web:getIamPolicy", 429, times=None)
        # a wait beyond the deadline is not waited for at all
        fake.iam.fail("GetIamPolicy", WEB_DEPLOYER, "RESOURCE_EXHAUSTED", times=None, retry_delay=30)

    faulty = run(plan, retry_deadline=1.0)
    (policy,) = faulty.gaps("gcp:project:acme-prod-web", "cannot read the allow policy")
    assert policy.startswith("cannot read the allow policy of projects/acme-prod-web: gave up after ")
    assert policy.endswith("([sources.gcp] retry_deadline 1 s): 429 Too Many Requests: "
                           "injected 429 for POST /v3/projects/acme-prod-web:getIamPolicy")
    assert len(faulty.fake.google.seen("POST", "/v3/projects/acme-prod-web:getIamPolicy")) >= 3
    (account,) = faulty.gaps("gcp:project:acme-prod-web", "cannot read the IAM policy of service account")
    assert account == ("cannot read the IAM policy of service account web-deployer@acme-prod-web.iam.gserviceaccount.com"
                       ": gave up after 1 attempt: the service asks to wait 30 s, beyond [sources.gcp] retry_deadline "
                       f"(1 s): 429 RESOURCE_EXHAUSTED: injected RESOURCE_EXHAUSTED for GetIamPolicy {WEB_DEPLOYER}")
    assert len(faulty.fake.iam.seen("GetIamPolicy", WEB_DEPLOYER)) == 1
    assert faulty.elapsed < 1.0 + 2.5  # bounded by the deadline, not by the 30 s asked for
    # the project is still there, marked unreadable; what the clean run saw elsewhere is intact
    web = next(r for r in faulty.result.resources if r.key == "gcp:project:acme-prod-web")
    assert web.attrs["policy_readable"] is False
    assert {r.key for r in faulty.result.resources} == {r.key for r in clean.resources}
    assert_nothing_silently_missing(faulty.result, clean)
    elsewhere = {g for g in clean.grants if g.resource != "gcp:project:acme-prod-web"}
    assert elsewhere <= set(faulty.result.grants)


def test_faults_that_never_clear_become_gaps_naming_the_resource_and_the_cause(clean):
    def plan(fake: gcp_org.FakeGcp) -> None:
        faults = fake.google.faults
        faults.add("POST", "/v3/folders/1001:getIamPolicy", "reset", times=None)
        faults.add("GET", deny_list("projects/checkout-live"), "malformed", times=None)
        faults.add("GET", "/v3/projects", "truncate", times=None, query={"parent": "folders/1003"})
        faults.add("GET", POOL, "delay", times=None, delay=0.35)
        faults.add("GET", "/v1/groups:lookup", status=503, times=None, query={"groupKey.id": "web-oncall@acme.com"})
        fake.iam.fail("ListServiceAccounts", "projects/acme-staging-web", "UNAVAILABLE", times=None)
        fake.iam.fail("GetRole", "roles/run.developer", "DELAY", times=None, delay=0.35)
        fake.iam.fail("ListServiceAccountKeys", "projects/acme-ci/serviceAccounts/*", "UNDECODABLE", times=None)

    faulty = run(plan, timeout=0.25, retry_deadline=0.4)
    gave_up = "gave up after "
    expected = {
        ("gcp:folder:1001", "cannot read the allow policy of folders/1001: "): "cannot reach 127.0.0.1:",
        ("gcp:project:checkout-live", "cannot read the deny policies of projects/checkout-live: "):
            "malformed response (ParseError",
        ("gcp:folder:1003", "cannot list projects under folders/1003: "): "connection failed (ChunkedEncodingError",
        ("gcp:project:acme-ci", "cannot read workload identity pool projects/111004/locations/global/"
                                "workloadIdentityPools/github: "): "no answer in time (ReadTimeout",
        ("gcp:project:acme-staging-web", "cannot list the service accounts of projects/acme-staging-web: "):
            "503 UNAVAILABLE: injected UNAVAILABLE",
        ("", "cannot read role roles/run.developer: "): "504 DEADLINE_EXCEEDED",
        ("gcp:project:acme-ci", "cannot list the keys of service account terraform@acme-ci.iam.gserviceaccount.com: "):
            "500 INTERNAL",
    }
    for (resource, start), cause in expected.items():
        (reason,) = faulty.gaps(resource, start)
        assert reason.startswith(start + gave_up) and "([sources.gcp] retry_deadline 0.4 s): " + cause in reason, reason
        # the last attempt may start just before the deadline and take its whole timeout
        assert float(re.search(r" in ([0-9.]+) s ", reason).group(1)) <= 0.4 + 0.25 + 0.1, reason
    oncall = [g for g in faulty.result.gaps if g.reason.startswith("members of group:web-oncall@acme.com unknown")]
    assert oncall and all("; Cloud Identity answered: gave up after " in g.reason and
                          "503 UNAVAILABLE: injected 503" in g.reason for g in oncall)
    # payments-core sits under the folder whose project list never arrived whole: gone, but not silently
    assert "gcp:project:payments-core" not in {r.key for r in faulty.result.resources}
    assert_nothing_silently_missing(faulty.result, clean)
    # Every request the fakes saw was counted. One they never saw can only be a call whose 0.25 s
    # deadline passed while it waited for a worker of the gRPC fake (busy sleeping in DELAY faults)
    # on a loaded machine; it failed and was retried, so it is among the retries.
    stats = faulty.result.stats
    seen = served(faulty.fake, stats["requests"])
    assert seen <= stats["requests"] <= seen + stats["retries"], (seen, dict(stats))
