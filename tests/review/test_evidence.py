"""Evidence an auditor can rely on (issue 16): the audit chain commits to the review's state, so
plain SQL on the record tables is caught by `audit verify` and the evidence report stops saying
"intact"; anchors outside the database catch a chain cut back or rewritten as a whole; stores
written before state commitments say which entries predate them."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import text

from foureyes import review
from foureyes.model import snapshot_digest
from foureyes.store import Store, audit

from .conftest import PRISCILLA, WANDA


def _sql(store, statement: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _cut_tail(store, keep: int) -> None:
    """Delete the entries after ``keep`` and make the head row agree: the chain alone is consistent."""
    _sql(store, "DELETE FROM audit_log WHERE seq > :keep", keep=keep)
    _sql(store, "UPDATE audit_head SET seq = :keep, hash = (SELECT hash FROM audit_log WHERE seq = :keep) "
                "WHERE id = 1", keep=keep)


def _rewrite_snapshot_digest(store, snapshot_id: int) -> None:
    """What an attacker who knows the digest function does after deleting rows."""
    digest = snapshot_digest(store.load_snapshot(snapshot_id).sources)
    _sql(store, "UPDATE snapshots SET digest = :d WHERE id = :i", d=digest, i=snapshot_id)


TAMPERING = {
    # the findings, one by one: (tamper, words of the first difference named)
    "exception approved by SQL": (
        lambda s, ids: _sql(s, "UPDATE exceptions SET status = 'approved', approver = :who, "
                               "approved_at = '2026-11-21T09:00:00+00:00' WHERE id = 1", who=PRISCILLA),
        "table exceptions, id 1, column status: the chain says 'pending' (entry 4), the table says 'approved'"),
    "item state changed from revoke to certify": (
        lambda s, ids: _sql(s, "UPDATE campaign_items SET state = 'certify' WHERE id = :i", i=ids["walter"]),
        "table campaign_items, id {walter}, column state: the chain says 'revoke' (entry 2), "
        "the table says 'certify'"),
    "decision row deleted, item set back to pending": (
        lambda s, ids: (_sql(s, "DELETE FROM decisions WHERE item_id = :i", i=ids["walter"]),
                        _sql(s, "UPDATE campaign_items SET state = 'pending', decision_id = NULL, decided_by = NULL, "
                                "decided_at = NULL WHERE id = :i", i=ids["walter"])),
        "table campaign_items, id {walter}, column state: the chain says 'revoke' (entry 2), "
        "the table says 'pending'"),
    "campaign snapshot_digest changed": (
        lambda s, ids: _sql(s, "UPDATE campaigns SET snapshot_digest = (SELECT digest FROM snapshots WHERE id = 1)"),
        "table campaigns, id 1, column snapshot_digest: the chain says '"),
    "grants deleted and the snapshot digest rewritten": (
        lambda s, ids: (_sql(s, "DELETE FROM grants WHERE snapshot_id = 2 AND principal = 'github:owen-it'"),
                        _rewrite_snapshot_digest(s, 2)),
        "table snapshots, id 2, column digest: the chain says '"),
    "tail truncated and the head row fixed": (
        lambda s, ids: _cut_tail(s, 5),
        "table campaign_items, id {max}, column state: the chain says 'pending' (entry 1), "
        "the table says 'revoke'"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_record_tampering_fails_verify_naming_the_first_difference_and_the_report(evidence, case):
    tamper, words = TAMPERING[case]
    words = words.format(**evidence.ids)
    assert evidence.run("audit", "verify").returncode == 0
    tamper(evidence.store, evidence.ids)

    result = evidence.run("audit", "verify")
    assert result.returncode == 1, result.stderr
    assert "audit log intact" not in result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith("foureyes: records differ from the audit chain: ") and words in first, result.stderr
    verdict = json.loads(evidence.run("audit", "verify", "--format", "json").stdout)
    assert verdict["ok"] is False and words in verdict["problem"]

    report = evidence.run("report", "--campaign", "1", "--format", "markdown")
    assert report.returncode == 0, report.stderr
    assert "Audit chain: **BROKEN**" in report.stdout and "intact" not in report.stdout
    assert words in report.stdout


def test_the_extra_detail_of_two_tamperings(evidence):
    """Deleted grants are named besides the rewritten digest; a cut tail leaves decisions no entry recorded."""
    TAMPERING["grants deleted and the snapshot digest rewritten"][0](evidence.store, evidence.ids)
    verdict = review.verify_audit(evidence.store)
    assert [(d.table, d.id) for d in verdict.differences] == [("snapshots", "2"), ("grants", "snapshot 2")]
    assert "rows deleted, added or edited since" in verdict.differences[1].describe()

    _cut_tail(evidence.store, 5)
    verdict = review.verify_audit(evidence.store)
    named = {(d.table, d.id) for d in verdict.differences}
    assert {("campaign_items", str(evidence.ids["max"])), ("campaign_items", str(evidence.ids["paul"]))} <= named
    assert any(d.table == "decisions" and "no entry recorded it" in d.describe() for d in verdict.differences)
    assert verdict.mismatches  # the decisions' own audit_seq points past the end


def test_the_snapshot_digest_covers_every_table_that_holds_part_of_a_snapshot():
    """A table added to snapshots (activity data, say) is covered once it is listed in
    schema.SNAPSHOT_TABLES, the one list the content digest reads; this keeps the list whole.
    Derived tables (the stored analysis, recomputed from the content) are listed apart."""
    from foureyes.store import schema

    cascading = {table.name for table in schema.metadata.tables.values() for fk in table.foreign_keys
                 if fk.column.table.name == "snapshots" and fk.ondelete == "CASCADE"}
    assert cascading == {table.name for table in schema.SNAPSHOT_TABLES + schema.DERIVED_TABLES}
    assert not {t.name for t in schema.SNAPSHOT_TABLES} & {t.name for t in schema.DERIVED_TABLES}


def test_an_untouched_world_verifies_and_says_what_it_checked(evidence):
    result = evidence.run("audit", "verify")
    assert result.returncode == 0, result.stderr
    head = audit.head(evidence.store)
    assert result.stdout == f"audit log intact: 7 entries; head 7 {head.hash}\n"
    assert "records match the chain: 1 campaigns, 111 campaign_items, 5 decisions, 1 exceptions, 1 item_notes" \
        in result.stderr
    assert "`audit anchor`" in result.stderr and "predate" not in result.stderr
    report = evidence.run("report", "--campaign", "1", "--format", "markdown").stdout
    assert "Audit chain: **intact** (head entry 7" in report
    assert f"`{head.hash}`" in report and "foureyes audit anchor --campaign 1 --file FILE" in report


def test_anchors_outside_the_database_catch_a_cut_back_or_rewritten_chain(evidence, tmp_path):
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("notes kept by the security team\n", encoding="utf-8")
    first = evidence.run("audit", "anchor", "--file", str(anchors))
    assert first.returncode == 0 and first.stdout == ""
    head7 = audit.head(evidence.store)
    line = f"foureyes audit anchor: entry 7 head {head7.hash} at "
    assert line in first.stderr
    printed = evidence.run("audit", "anchor")  # for a ticket or a chat
    assert printed.stdout.startswith(line) and printed.stdout.rstrip().endswith("campaign 1 (Q4 evidence)")
    review.decide(evidence.store, evidence.ids["nina"], "revoke", actor=WANDA, reason="left")  # entry 8
    assert evidence.run("audit", "anchor", "--file", str(anchors)).returncode == 0
    kept = anchors.read_text(encoding="utf-8").splitlines()
    assert kept[0] == "notes kept by the security team" and len(kept) == 3  # appended, never overwritten
    assert kept[1].startswith(line) and kept[2].startswith("foureyes audit anchor: entry 8 head ")
    assert evidence.run("audit", "verify", "--anchor", str(anchors)).returncode == 0

    # the whole tail cut back and every record put back as it was at entry 7: only an anchor tells
    _cut_tail(evidence.store, 7)
    with evidence.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM decisions WHERE id = (SELECT MAX(id) FROM decisions)"))
        conn.execute(text("UPDATE campaign_items SET state = 'certify', version = version - 1 WHERE id = :i"),
                     {"i": evidence.ids["nina"]})
        decision = conn.execute(text("SELECT MAX(id) FROM decisions WHERE item_id = :i"),
                                {"i": evidence.ids["nina"]}).scalar()
        row = conn.execute(text("SELECT actor, at FROM decisions WHERE id = :d"), {"d": decision}).one()
        conn.execute(text("UPDATE campaign_items SET decision_id = :d, decided_by = :a, decided_at = :t WHERE id = :i"),
                     {"d": decision, "a": row.actor, "t": row.at, "i": evidence.ids["nina"]})
    assert evidence.run("audit", "verify").returncode == 0
    caught = evidence.run("audit", "verify", "--anchor", str(anchors))
    assert caught.returncode == 1
    assert "the chain ends at entry 7, but entry 8 head" in caught.stderr and "(truncated)" in caught.stderr
    assert f"{anchors} line 3" in caught.stderr

    # the whole chain rewritten (entry 3's time changed, every later entry re-hashed): the head differs
    entries = audit.entries(evidence.store)
    prev = entries[1].hash
    with evidence.store.engine.begin() as conn:
        for entry in entries[2:]:
            changed = audit.AuditEntry(**{**entry.__dict__, "prev_hash": prev, "hash": "",
                                          "at": "2026-11-01T00:00:00+00:00" if entry.seq == 3 else entry.at})
            prev = changed.computed_hash()
            conn.execute(text("UPDATE audit_log SET at = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"a": changed.at, "p": changed.prev_hash, "h": prev, "s": entry.seq})
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})
    rewritten = evidence.run("audit", "verify", "--anchor", str(anchors), "--format", "json")
    assert rewritten.returncode == 1
    problem = json.loads(rewritten.stdout)["problem"]
    assert "entry 7 no longer has the hash of entry 7 head" in problem and "the chain was rewritten" in problem
    expected = evidence.run("audit", "verify", "--expect-head", head7.hash)
    assert expected.returncode == 1 and "is not in the chain" in expected.stderr

    # a broken chain is not anchored; a file without anchors is a usage error
    refused = evidence.run("audit", "anchor", "--file", str(tmp_path / "new.txt"))
    assert refused.returncode == 0  # the rewritten chain is self-consistent: anchoring it now is the user's call
    _sql(evidence.store, "UPDATE audit_log SET reason = 'edited' WHERE seq = 2")
    broken = evidence.run("audit", "anchor", "--file", str(tmp_path / "other.txt"))
    assert broken.returncode == 1 and "not anchored" in broken.stderr and not (tmp_path / "other.txt").exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n", encoding="utf-8")
    usage = evidence.run("audit", "verify", "--anchor", str(empty))
    assert usage.returncode == 2 and "holds no anchor line" in usage.stderr


def test_a_bulk_decision_leaves_earlier_decisions_alone_without_overwrite(evidence):
    run = evidence.run
    shown = json.loads(run("campaign", "show", "1", "--where", "app=payments", "--where", "conflict=no",
                           "--format", "json").stdout)["items"]
    mine = [i for i in shown if i["reviewer"] == PRISCILLA]
    first = mine[0]["id"]
    # docs/review.md in order: one revocation, then the bulk certification of the rest
    assert run("decide", str(first), "revoke", "--reason", "left the team", "--as", PRISCILLA).returncode == 0
    bulk = run("decide", "--where", "app=payments", "--where", "conflict=no", "certify", "--as", PRISCILLA, "--yes")
    assert bulk.returncode == 0, bulk.stderr
    assert f"{len(mine) - 1} decided, 1 skipped (already decided), 0 refused" in bulk.stderr
    assert f"foureyes: skipped: item {first} is decided already (revoke by {PRISCILLA})" in bulk.stderr
    assert evidence.store and review.get_item(evidence.store, first).state == "revoke"
    # --overwrite replaces it, and says so
    again = run("decide", "--where", f"id={first}", "--where", "app=payments", "defer", "--as", PRISCILLA, "--yes",
                "--format", "json")
    assert json.loads(again.stdout)["decided"][0]["state"] == "defer"  # one item named: decided as asked
    two = run("decide", str(first), str(mine[1]["id"]), "revoke", "--as", PRISCILLA, "--yes", "--overwrite",
              "--reason", "team left")
    assert "2 decided, 0 skipped (already decided), 0 refused" in two.stderr
    assert review.get_item(evidence.store, first).state == "revoke"
    assert run("audit", "verify").returncode == 0


def test_the_tui_bulk_confirmation_counts_what_it_leaves_alone():
    from foureyes.tui.screens.review import bulk_message

    class Item:
        def __init__(self, state: str):
            self.state = state

    targets = [Item("pending")] * 9 + [Item("revoke")]
    assert bulk_message("certify", targets, "priscilla.payne@acme.com") == (
        "certify 9 items as priscilla.payne@acme.com? 1 decided already is skipped (not overwritten). "
        "Each is committed on its own; `u` undoes the whole batch.")


# ---------------------------------------------------------------- stores from before state commitments


def _as_written_before_migration_3(path) -> None:
    """Turn a store into what foureyes wrote before migration 3: version-1 entries (no state, the
    old hash), no key columns, no frozen identities, no activity, schema version 2."""
    con = sqlite3.connect(path)
    prev = audit.GENESIS
    for seq, at, actor, action, campaign, item, decision, reason, digest, detail in con.execute(
            "SELECT seq, at, actor, action, campaign_id, item_id, decision, reason, snapshot_digest, detail "
            "FROM audit_log ORDER BY seq").fetchall():
        old = audit.AuditEntry(seq=seq, at=at, actor=actor, action=action, campaign_id=campaign, item_id=item,
                               decision=decision, reason=reason, snapshot_digest=digest,
                               detail=json.loads(detail) if detail else {}, prev_hash=prev, version=1)
        prev = old.computed_hash()
        con.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (old.prev_hash, prev, seq))
    con.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    con.execute("DROP INDEX ix_campaign_items_reviewer_key")
    con.execute("DROP INDEX ix_decisions_campaign_actor_key")
    for table, column in (("campaigns", "people_frozen"), ("campaign_items", "reviewer_key"),
                          ("campaign_findings", "person_key"), ("decisions", "actor_key"),
                          ("exceptions", "requested_by_key"), ("exceptions", "approver_key"), ("audit_log", "v"),
                          ("audit_log", "state")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("DROP TABLE campaign_people")
    # what migrations 4 (roster), 5 (activity) and 6 (item usage) added came later still
    con.execute("DROP TABLE activity")
    for table, column in (("campaign_items", "person_status"), ("campaign_items", "person_manager"),
                          ("campaign_items", "person_department"), ("sources", "activity"),
                          ("sources", "period_start"), ("sources", "period_end"), ("gaps", "about"),
                          ("campaign_items", "usage")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for table in ("analysis_coverage", "analysis_people", "analysis_holdings", "analysis_findings", "analysis_nodes",
                  "analysis_teams", "analysis_roster", "analyses", "snapshot_digests"):  # and migration 7's
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DROP INDEX IF EXISTS ix_edges_src")
    con.execute("DROP INDEX IF EXISTS ix_principals_key")
    con.execute("DELETE FROM schema_version WHERE version >= 3")
    con.commit()
    con.close()


def test_a_store_from_before_state_commitments_says_which_entries_predate_them(evidence_before_activity):
    evidence = evidence_before_activity  # a store of then held no activity (migration 5 came later)
    evidence.store.close()
    _as_written_before_migration_3(evidence.path)
    with Store(evidence.url) as store:  # migration 3 runs
        result = evidence.run("audit", "verify", "--format", "json")
        assert result.returncode == 0, result.stderr
        verdict = json.loads(result.stdout)
        assert verdict["predate_state"]["first"] == 1 and verdict["predate_state"]["last"] == 7
        note = verdict["predate_state"]["note"]
        assert note.startswith("entries 1–7 predate state commitments")
        assert "(1 campaigns, 111 campaign_items, 5 decisions, 1 exceptions, 1 item_notes) are checked by the " \
               "chain's links alone" in note
        shown = evidence.run("audit", "verify")
        assert "foureyes: note: entries 1–7 predate state commitments" in shown.stderr
        report = evidence.run("report", "--campaign", "1", "--format", "markdown").stdout
        assert "**Not covered:** `entries 1–7 predate state commitments" in report

        # the first action freezes the campaign's identities (an entry of its own): Omar is Omar
        omar = next(i for i in review.items(store, 1) if i.person == "omar.osman@acme.com")
        refused = evidence.run("decide", str(omar.id), "certify", "--as", "omar.osman@acme.io")
        assert refused.returncode == 2 and "about their own access (that is omar.osman@acme.com)" in refused.stderr
        entries = audit.entries(store)
        assert [(e.seq, e.action, e.version) for e in entries[7:]] == [(8, "campaign.people", 2)]
        assert evidence.run("decide", str(omar.id), "revoke", "--as", WANDA, "--reason", "x").returncode == 0
        # what entries 9 on say is checked: the item decided since is compared with its state
        _sql(store, "UPDATE campaign_items SET state = 'certify' WHERE id = :i", i=omar.id)
        caught = review.verify_audit(store)
        assert not caught.ok and caught.differences[0].describe().startswith(
            f"table campaign_items, id {omar.id}, column state: the chain says 'revoke'")
        # an entry without state after one with state is a rewrite, even re-hashed as the old kind
        last = audit.entries(store)[-1]
        old = audit.AuditEntry(**{**last.__dict__, "version": 1, "state": {}, "hash": ""})
        _sql(store, "UPDATE audit_log SET v = 1, state = '', hash = :h WHERE seq = :s", h=old.computed_hash(),
             s=last.seq)
        _sql(store, "UPDATE audit_head SET hash = :h WHERE id = 1", h=old.computed_hash())
        downgraded = audit.verify(store)
        assert not downgraded.ok and downgraded.first_bad == last.seq
        assert "carries no state, yet entry 8 before it did" in downgraded.problem


def test_a_grants_pack_that_says_otherwise_than_the_rows_fails_verify(evidence):
    """A snapshot's grants are also packed for loading (migration 8), and analyses read the pack: one
    edited to fit its snapshot yet say otherwise (a grant moved to another principal) would change what
    every analysis shows while the rows stay as committed; `audit verify` compares the two."""
    import marshal

    store = evidence.store
    with store.engine.connect() as conn:
        data = bytes(conn.exec_driver_sql("SELECT data FROM snapshot_packs WHERE snapshot_id = 2").scalar())
    fmt, itemsize, parts = marshal.loads(data)
    name, size, keys, principals, *rest = next(p for p in parts if len(p[3][0]) > 1)
    moved = (principals[0][1], principals[0][0], *principals[0][2:])  # the first two principals' grants swapped
    parts = [(name, size, keys, (moved, principals[1]), *rest) if p[0] == name else p for p in parts]
    _sql(store, "UPDATE snapshot_packs SET data = :d WHERE snapshot_id = 2",
         d=marshal.dumps((fmt, itemsize, parts), 4))
    assert store.load_snapshot(2) != store.load_snapshot(2, packed=False)  # the pack fits and is read

    verdict = review.verify_audit(store)
    assert not verdict.ok
    assert any(m.startswith("snapshot 2: the grants packed for loading differ from its grant rows")
               for m in verdict.mismatches), verdict.mismatches
    result = evidence.run("audit", "verify")
    assert result.returncode == 1 and "snapshot 2: the grants packed" in result.stderr, result.stderr


def test_a_grants_pack_whose_attributes_say_otherwise_than_the_rows_fails_verify(evidence):
    """A grant's attributes are read by the analysis (whether it is latent, what a policy allows, its
    conditions), but are no part of a grant's equality: `audit verify` compares them too, as mappings. A pack whose grant
    attributes were edited (a shape's attribute text) fits its snapshot, is read, and is named."""
    import json
    import marshal

    store = evidence.store
    with store.engine.connect() as conn:
        data = bytes(conn.exec_driver_sql("SELECT data FROM snapshot_packs WHERE snapshot_id = 2").scalar())
    fmt, itemsize, parts = marshal.loads(data)
    name, size, keys, principals, resources, (shapes, index) = parts[0]
    first = shapes[0]
    edited = (*first[:8], json.dumps({**json.loads(first[8] or "{}"), "condition": "none"}, sort_keys=True))
    parts = [(name, size, keys, principals, resources, ((edited, *shapes[1:]), index)), *parts[1:]]
    _sql(store, "UPDATE snapshot_packs SET data = :d WHERE snapshot_id = 2",
         d=marshal.dumps((fmt, itemsize, parts), 4))
    packed, rows = store.load_snapshot(2), store.load_snapshot(2, packed=False)
    assert packed == rows, "equal as grants: the attributes are not compared"
    assert [g.attrs for s in packed.sources for g in s.grants] != [g.attrs for s in rows.sources for g in s.grants]

    verdict = review.verify_audit(store)
    assert not verdict.ok
    assert [m for m in verdict.mismatches if m.startswith("snapshot 2: the ")] == [
        "snapshot 2: the grants packed for loading differ from its grant rows (edited outside foureyes): "
        "its analyses read the pack, the digests the rows"], verdict.mismatches


@pytest.mark.parametrize("part", ["principals", "edges"])
def test_a_principals_or_edges_pack_that_says_otherwise_than_the_rows_fails_verify(evidence, part):
    """A snapshot's principals and edges are packed for loading too (migration 10): one edited to say
    otherwise than its rows (a person's name, or an edge turned into another kind) fits its snapshot and
    is read, so `audit verify` compares those parts as it does the grants."""
    import marshal

    store = evidence.store
    with store.engine.connect() as conn:
        data = bytes(conn.exec_driver_sql(f"SELECT data FROM snapshot_part_packs WHERE snapshot_id = 2 "
                                          f"AND part = '{part}'").scalar())
    fmt, itemsize, packed_part, snapshot_id, parts = marshal.loads(data)
    assert (packed_part, snapshot_id) == (part, 2)
    column = 3 if part == "principals" else 2  # a display name; an edge's kind
    name, size, columns = next(p for p in parts if p[1] > 1)
    values, index = columns[column]
    edited = (("Someone Else", *values[1:]) if part == "principals" else tuple(reversed(values)), index)
    assert edited != columns[column]
    parts = [(name, size, [edited if n == column else c for n, c in enumerate(columns)]) if p[0] == name else p
             for p in parts]
    _sql(store, f"UPDATE snapshot_part_packs SET data = :d WHERE snapshot_id = 2 AND part = '{part}'",
         d=marshal.dumps((fmt, itemsize, packed_part, snapshot_id, parts), 4))
    assert store.load_snapshot(2) != store.load_snapshot(2, packed=False)  # the pack fits and is read

    verdict = review.verify_audit(store)
    assert not verdict.ok
    assert any(m.startswith(f"snapshot 2: the {part} packed for loading differ from its "
                            f"{part.removesuffix('s')} rows") for m in verdict.mismatches), verdict.mismatches
    assert not any("grants packed" in m for m in verdict.mismatches)
    result = evidence.run("audit", "verify")
    assert result.returncode == 1 and f"snapshot 2: the {part} packed" in result.stderr, result.stderr
