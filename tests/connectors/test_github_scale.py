"""The GitHub snapshot's scale invariants, at 1/50th of the benchmark's organisation.

Whatever the size: never more requests in flight than `concurrency` (GraphQL included),
and no more than 1.2 × the pages that must be fetched (benchmarks/github_scale.py defines
them). No wall-clock assertions: `make bench` measures time.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from fakes import config_toml
from fakes.github_server import FakeGitHub
from foureyes.config import parse_config
from foureyes.connectors.github.connector import GitHubConnector
from foureyes.connectors.github.api import Slots

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from github_scale import ORG, fixture_for, lower_bound, org_size, request_kind  # noqa: E402

SCALE = 0.02


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_scale_test")


def snapshot(concurrency: int, plan=None):
    fixture = fixture_for(SCALE)
    with FakeGitHub(fixture, latency=0.005) as gh:
        if plan:
            plan(gh)
        text = config_toml(gh.url, org=ORG)
        assert "concurrency = 8\n" in text
        config = parse_config(text.replace("concurrency = 8\n", f"concurrency = {concurrency}\n"), "<test config>")
        result = GitHubConnector(config.sources.github, config=config).collect()
        gh.settle()
    return result, gh, lower_bound(fixture)


@pytest.mark.parametrize("concurrency", [3, 16])
def test_requests_stay_near_the_lower_bound_and_in_flight_within_concurrency(concurrency):
    result, gh, bound = snapshot(concurrency)
    size = org_size(SCALE)
    assert size == {"repos": 40, "members": 100, "teams": 5}
    assert sum(1 for r in result.resources if r.kind == "repo") == size["repos"] and result.gaps == ()
    made: dict[str, int] = {}
    for entry in gh.stats.log:
        made[request_kind(entry.method, entry.path)] = made.get(request_kind(entry.method, entry.path), 0) + 1
    # the bound is a lower bound: reading less than it would mean something was not read
    assert all(made.get(kind, 0) >= pages for kind, pages in bound.items()), (made, bound)
    assert gh.stats.total <= 1.2 * sum(bound.values()), (made, bound)
    assert result.stats["requests"] == gh.stats.total
    assert 2 <= gh.stats.max_in_flight <= concurrency
    assert result.stats["max_in_flight"] <= concurrency


def test_retries_and_slow_answers_never_exceed_concurrency():
    def plan(gh: FakeGitHub) -> None:
        gh.faults.server_error(f"/repos/{ORG}/*/environments", nth=2, times=2)  # matched first: faults go in order
        gh.faults.add(f"/repos/{ORG}/*", action="delay", delay=0.05, times=8)  # environments, OIDC, a ruleset
        gh.faults.server_error("/graphql", nth=2)

    result, gh, bound = snapshot(4, plan)
    assert not gh.faults.pending and result.gaps == ()
    assert result.stats["retries"] == 3
    names = -(-org_size(SCALE)["repos"] // 100)  # the repositories' name chain: above the bound, 100 a page
    assert gh.stats.total == sum(bound.values()) + names + 3  # each retry once, nothing else repeated
    assert 2 <= gh.stats.max_in_flight <= 4 and result.stats["max_in_flight"] <= 4


def test_slots_bound_every_thread_and_serve_urgent_requests_first():
    slots = Slots(3)
    lock = threading.Lock()
    holding, most = [0], [0]

    def hold() -> None:
        slots.acquire()
        with lock:
            holding[0] += 1
            most[0] = max(most[0], holding[0])
        time.sleep(0.005)
        with lock:
            holding[0] -= 1
        slots.release()

    threads = [threading.Thread(target=hold) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 3

    one = Slots(1)
    one.acquire()
    order: list[str] = []

    def wait(name: str, urgent: bool) -> None:
        one.acquire(urgent)
        order.append(name)
        one.release()

    ordinary = threading.Thread(target=wait, args=("ordinary", False))
    ordinary.start()
    time.sleep(0.05)  # the ordinary request waits first
    urgent = threading.Thread(target=wait, args=("urgent", True))
    urgent.start()
    while one._urgent == 0:  # noqa: SLF001 - the urgent request is waiting too
        time.sleep(0.001)
    one.release()
    ordinary.join(5)
    urgent.join(5)
    assert order == ["urgent", "ordinary"]
