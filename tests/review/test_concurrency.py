"""Several reviewer processes on one campaign, and a reviewer killed with SIGKILL mid-transaction.

Runs on SQLite (WAL) and PostgreSQL: every decision is its own transaction, items are
locked while decided, and audit appends queue on the chain head so the chain never forks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from foureyes import review
from foureyes.store import audit

from .conftest import FALLBACK, TODAY

WORKER = str(Path(__file__).with_name("worker.py"))
DECISIONS = ("certify", "revoke", "defer", "certify")


@pytest.fixture
def campaign(store, review_config):
    spec = review.spec_from_config(review_config, name="race", today=TODAY)
    return review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("FOUREYES_DEBUG", None)
    return subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _race(store_url: str, tmp_path: Path, ids: list[int], expect: str) -> list[list[str]]:
    go = tmp_path / "go"
    workers = [_spawn("race", store_url, FALLBACK, decision, str(go), expect, *map(str, ids[::step]))
               for step, decision in zip((1, -1, 1, -1), DECISIONS)]  # two forwards, two backwards
    for w in workers:
        assert w.stdout.readline().strip() == "ready", w.stderr.read()
    go.write_text("go")
    outputs = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        outputs.append(out.split("\n"))
    return outputs


def test_racing_reviewers_with_a_loaded_version_decide_each_item_exactly_once(store, store_url, campaign, tmp_path):
    ids = [i.id for i in review.items(store, campaign.id)][:24]
    outputs = _race(store_url, tmp_path, ids, "expect")
    winners = Counter(line.split()[1] for out in outputs for line in out if line.startswith("ok "))
    assert sorted(int(i) for i in winners) == sorted(ids) and set(winners.values()) == {1}
    stale = sum(1 for out in outputs for line in out if line.startswith("stale "))
    assert stale == 3 * len(ids)
    assert len(review.decisions(store, campaign_id=campaign.id)) == len(ids)
    result = audit.verify(store)
    assert result.ok and result.entries == 1 + len(ids)
    assert review.check_against_audit(store) == []


def test_racing_reviewers_never_fork_the_audit_chain(store, store_url, campaign, tmp_path):
    ids = [i.id for i in review.items(store, campaign.id)][:15]
    _race(store_url, tmp_path, ids, "overwrite")
    stored = review.decisions(store, campaign_id=campaign.id)
    assert len(stored) == 4 * len(ids)
    result = audit.verify(store)
    assert result.ok, result.problem
    assert result.entries == 1 + 4 * len(ids)
    with store.engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM audit_log ORDER BY seq"))]
    assert seqs == list(range(1, len(seqs) + 1))
    # each item shows the last decision made on it, and every decision row matches its entry
    last = {}
    for d in stored:
        last[d.item_id] = d
    for item in review.items(store, campaign.id):
        if item.id in last:
            assert (item.state, item.decision_id, item.version) == (last[item.id].decision, last[item.id].id, 4)
    assert review.check_against_audit(store) == []


def test_a_review_killed_mid_transaction_keeps_every_committed_decision(store, store_url, campaign):
    ids = [i.id for i in review.items(store, campaign.id)][:8]
    worker = _spawn("stall", store_url, FALLBACK, "revoke", "5", *map(str, ids))
    committed = []
    for line in worker.stdout:
        line = line.strip()
        if line == "MID":
            break
        committed.append(int(line.split()[1]))
    else:
        pytest.fail(f"the worker ended before stalling: {worker.stderr.read()}")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert committed == ids[:5]
    by_item = {i.id: i for i in review.items(store, campaign.id)}
    assert [by_item[i].state for i in ids] == ["revoke"] * 5 + ["pending"] * 3
    assert [d.item_id for d in review.decisions(store, campaign_id=campaign.id)] == ids[:5]
    result = audit.verify(store)
    assert result.ok and result.entries == 6  # campaign.new + five decisions; the sixth never happened
    # the killed transaction's locks are gone: the item it was deciding can be decided now
    review.decide(store, ids[5], "certify", actor=FALLBACK)
    assert audit.verify(store).ok and review.check_against_audit(store) == []
