"""The audit log: a hash chain that names the first edited, deleted or reordered entry."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from foureyes import review
from foureyes.store import audit

from .conftest import FALLBACK, TODAY


@pytest.fixture
def decided(store, review_config):
    """A campaign with five decisions: audit entries 1 (campaign.new) to 6."""
    spec = review.spec_from_config(review_config, name="audit", today=TODAY)
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    for item, decision in zip(review.items(store, campaign.id)[:5], ["certify", "revoke", "certify", "defer", "revoke"]):
        review.decide(store, item.id, decision, actor=FALLBACK, reason=f"reason {item.id}")
    result = audit.verify(store)
    assert result.ok and result.entries == 6 and result.head.seq == 6
    return store


def _sql(store, statement: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _swap(store, a: int, b: int) -> None:
    _sql(store, "UPDATE audit_log SET seq = -1 WHERE seq = :a", a=a)
    _sql(store, "UPDATE audit_log SET seq = :a WHERE seq = :b", a=a, b=b)
    _sql(store, "UPDATE audit_log SET seq = :b WHERE seq = -1", b=b)


TAMPERING = {
    "edited reason": (lambda s: _sql(s, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3"),
                      3, "was edited"),
    "edited actor": (lambda s: _sql(s, "UPDATE audit_log SET actor = 'someone.else@acme.com' WHERE seq = 4"),
                     4, "was edited"),
    "edited decision": (lambda s: _sql(s, "UPDATE audit_log SET decision = 'certify' WHERE seq = 3"),
                        3, "was edited"),
    "deleted in the middle": (lambda s: _sql(s, "DELETE FROM audit_log WHERE seq = 3"), 3, "entry 3 missing"),
    "deleted the first": (lambda s: _sql(s, "DELETE FROM audit_log WHERE seq = 1"), 1, "entry 1 missing"),
    "deleted the last": (lambda s: _sql(s, "DELETE FROM audit_log WHERE seq = 6"), 6,
                         "entries at the end were deleted"),
    "reordered": (lambda s: _swap(s, 2, 3), 2, "entry 2"),
    "head edited": (lambda s: _sql(s, "UPDATE audit_head SET hash = :h WHERE id = 1", h="f" * 64), 6,
                    "head row was edited"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_verify_names_the_first_bad_entry(decided, case):
    tamper, first_bad, words = TAMPERING[case]
    tamper(decided)
    result = audit.verify(decided)
    assert not result.ok
    assert result.first_bad == first_bad, result.problem
    assert words in result.problem


def test_reordering_with_rehashed_entries_is_caught_by_the_links(decided):
    # an attacker who knows the hash function re-hashes the swapped entries: the prev links still break
    _swap(decided, 2, 3)
    with decided.engine.begin() as conn:
        for seq in (2, 3):
            row = conn.execute(text("SELECT * FROM audit_log WHERE seq = :s"), {"s": seq}).mappings().one()
            entry = audit.AuditEntry(seq=row["seq"], at=row["at"], actor=row["actor"], action=row["action"],
                                     campaign_id=row["campaign_id"], item_id=row["item_id"],
                                     decision=row["decision"], reason=row["reason"],
                                     snapshot_digest=row["snapshot_digest"],
                                     detail=json.loads(row["detail"]) if row["detail"] else {},
                                     prev_hash=row["prev_hash"])
            conn.execute(text("UPDATE audit_log SET hash = :h WHERE seq = :s"),
                         {"h": entry.computed_hash(), "s": seq})
    result = audit.verify(decided)
    assert not result.ok and result.first_bad == 2
    assert "does not follow entry 1" in result.problem


def test_a_fully_rewritten_chain_is_caught_by_a_head_kept_outside(decided):
    kept = audit.head(decided).hash
    # rewrite entry 3's reason and re-chain everything after it, head included
    rows = audit.entries(decided)
    prev = rows[1].hash
    with decided.engine.begin() as conn:
        for entry in rows[2:]:
            changed = audit.AuditEntry(**{**entry.__dict__, "prev_hash": prev,
                                          "reason": "rewritten" if entry.seq == 3 else entry.reason, "hash": ""})
            prev = changed.computed_hash()
            conn.execute(text("UPDATE audit_log SET reason = :r, prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"r": changed.reason, "p": changed.prev_hash, "h": prev, "s": entry.seq})
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})
    assert audit.verify(decided).ok  # self-consistent: only an anchor outside the database can tell
    result = audit.verify(decided, expect_head=kept)
    assert not result.ok and "is not in the chain" in result.problem
    # an honest chain that merely grew still contains the kept head
    assert audit.verify(decided, expect_head=prev).ok


def test_a_decision_row_edited_behind_the_logs_back_is_reported(decided):
    _sql(decided, "UPDATE decisions SET decision = 'certify' WHERE decision = 'revoke'")
    assert audit.verify(decided).ok  # the chain itself is intact
    problems = review.check_against_audit(decided)
    assert len(problems) == 2 and all("does not match audit entry" in p for p in problems)


@pytest.mark.parametrize("case", ["edited reason", "deleted in the middle", "reordered"])
def test_audit_verify_cli_exits_1_naming_the_entry(decided, store_url, cli, case):
    env = {"FOUREYES_STORE_URL": store_url}
    ok = cli("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("audit log intact: 6 entries; head 6 ")
    tamper, first_bad, words = TAMPERING[case]
    tamper(decided)
    result = cli("audit", "verify", env=env)
    assert result.returncode == 1, result.stderr
    assert f"audit log broken at entry {first_bad}:" in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr
    as_json = json.loads(cli("audit", "verify", "--format", "json", env=env).stdout)
    assert as_json["ok"] is False and as_json["first_bad"] == first_bad


def test_audit_verify_cli_reports_edited_records(decided, store_url, cli):
    _sql(decided, "UPDATE decisions SET actor = 'mallory@acme.com' WHERE id = 1")
    result = cli("audit", "verify", env={"FOUREYES_STORE_URL": store_url})
    assert result.returncode == 1
    assert "audit log and records disagree: decision 1" in result.stderr


def test_every_entry_carries_actor_time_item_decision_reason_digest_and_hashes(decided):
    entries = audit.entries(decided)
    assert entries[0].prev_hash == audit.GENESIS
    for before, entry in zip(entries, entries[1:]):
        assert entry.prev_hash == before.hash and entry.hash == entry.computed_hash()
        assert entry.actor == FALLBACK and entry.at.startswith("20") and entry.item_id
        assert entry.decision and entry.reason.startswith("reason ")
        assert len(entry.snapshot_digest) == 64
        assert entry.detail["grant"] and entry.detail["person"]
