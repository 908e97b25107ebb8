"""The audit verdict: what `foureyes audit verify` says and the evidence report repeats.

Three checks, in order, and the first problem found is the one named:

1. the chain itself (`store.audit.verify`): every entry's hash and link, the head row, and
   every head kept outside the database (`--expect-head`, `--anchor`);
2. the records against the chain (`store.records.compare`): every campaign, item,
   decision, exception and note as the last entry touching it left it; the rows frozen at
   creation (items, findings, identities) and the campaign's snapshot, by digest;
3. every decision row against the entry that recorded it (also for entries written before
   state commitments).

Entries written before migration 3 carry no state: the records only they speak for cannot
be compared, and the verdict says so (`Verdict.legacy_note`) instead of passing them silently.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import NotFound
from ..model import snapshot_digest
from ..store import Store, audit, records
from .campaigns import NEW, PEOPLE, decisions


@dataclass(frozen=True)
class Verdict:
    chain: audit.Verification
    comparison: records.Comparison | None  # None when the chain itself is broken
    mismatches: tuple[str, ...] = ()  # decision rows that disagree with their entries

    @property
    def differences(self) -> tuple[records.Difference, ...]:
        return self.comparison.differences if self.comparison is not None else ()

    @property
    def checked(self) -> list[tuple[str, int]]:
        """(table, rows compared with the chain), in report order."""
        return records.in_order(self.comparison.checked) if self.comparison is not None else []

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.differences and not self.mismatches

    @property
    def entries(self) -> int:
        return self.chain.entries

    @property
    def head(self) -> audit.Head:
        return self.chain.head

    @property
    def first_bad(self) -> int | None:
        """The entry the first problem is about (for a record: the entry whose state it contradicts)."""
        if not self.chain.ok:
            return self.chain.first_bad
        if self.differences:
            return self.differences[0].seq
        return None

    @property
    def problem(self) -> str:
        if not self.chain.ok:
            return self.chain.problem
        if self.differences:
            first = self.differences[0]
            more = f" (and {len(self.differences) - 1} more difference(s))" if len(self.differences) > 1 else ""
            return f"records differ from the audit chain: {first.describe()}{more}"
        if self.mismatches:
            return f"audit log and records disagree: {self.mismatches[0]}"
        return ""

    @property
    def legacy_note(self) -> str:
        """What the chain cannot vouch for: entries written before state commitments."""
        legacy = self.chain.legacy
        if legacy is None:
            return ""
        span = f"entry {legacy[0]}" if legacy[0] == legacy[1] else f"entries {legacy[0]}–{legacy[1]}"
        verb = "predates" if legacy[0] == legacy[1] else "predate"
        unverified = self.comparison.unverified if self.comparison is not None else {}
        rows = ", ".join(f"{n} {table}" for table, n in records.in_order(unverified))
        left = f"; the records only they speak for ({rows}) are checked by the chain's links alone" if rows else ""
        return f"{span} {verb} state commitments (written before foureyes recorded state){left}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "entries": self.entries, "head": {"seq": self.head.seq, "hash": self.head.hash},
            "first_bad": self.first_bad, "problem": self.problem or None,
            "differences": [d.to_json() for d in self.differences],
            "record_mismatches": list(self.mismatches),
            "checked": dict(self.checked),
            "predate_state": {"first": self.chain.legacy[0], "last": self.chain.legacy[1],
                              "note": self.legacy_note} if self.chain.legacy else None,
            "anchors_checked": self.chain.anchors,
        }


def verify_audit(store: Store, *, expect_head: str | None = None,
                 anchors: Sequence[audit.Anchor] = ()) -> Verdict:
    """The whole verdict; read only."""
    chain = audit.verify(store, expect_head=expect_head, anchors=anchors)
    if not chain.ok:
        return Verdict(chain, None)
    committed = [records.Committed(seq=e.seq, version=e.version, action=e.action, campaign_id=e.campaign_id,
                                   snapshot_digest=e.snapshot_digest, state=e.state)
                 for e in chain.log]
    with store.engine.connect() as conn:
        comparison = records.compare(conn, committed, new_campaign=NEW, people_frozen_action=PEOPLE,
                                     recompute_key_digest=lambda sid: _key_digest(store, sid))
        committed_snapshots = sorted(conn.exec_driver_sql("SELECT DISTINCT snapshot_id FROM campaigns").scalars())
    return Verdict(chain, comparison,
                   tuple(check_against_audit(store, chain.log)) + tuple(_pack_problems(store, committed_snapshots)))


def _key_digest(store: Store, snapshot_id: int) -> str:
    """A snapshot's key digest (`model.snapshot_digest`) recomputed from its stored rows."""
    try:
        return snapshot_digest(store.load_snapshot(snapshot_id, packed=False).sources)
    except NotFound:
        return "(no such snapshot)"


# The parts of a snapshot packed for loading (`Store.read_parts`' ``packed``), as a problem names their rows.
_PACKED = {"grants": "grant", "principals": "principal", "edges": "edge"}


def _pack_problems(store: Store, snapshot_ids: Sequence[int]) -> list[str]:
    """Snapshots a campaign commits to whose packs (the grants, principals and edges their analyses load)
    say otherwise than their rows (what the digests cover): edited outside foureyes. Only those parts
    are read."""
    problems = []
    for snapshot_id in snapshot_ids:
        try:
            info = store.snapshot_info(snapshot_id)
        except NotFound:
            continue  # the campaign's own check names a missing snapshot
        for part, row in _PACKED.items():
            if _rows(store.read_parts(info, (part,), packed=True), part) != \
                    _rows(store.read_parts(info, (part,), packed=False), part):
                problems.append(f"snapshot {snapshot_id}: the {part} packed for loading differ from its {row} rows "
                                "(edited outside foureyes): its analyses read the pack, the digests the rows")
    return problems


def _rows(parts: Mapping[str, Mapping[str, list[Any]]], part: str) -> list[Counter[tuple[Any, str]]]:
    """Each source's grants, principals or edges as a multiset, whatever order the backend returned them
    in: each object with its attributes (no part of an object's equality) as their canonical text. A load
    shares one mapping between the objects whose attributes read the same, so each is encoded once."""
    texts: dict[int, tuple[Any, str]] = {}  # id of a mapping -> (the mapping, kept alive; its text)

    def text(attrs: Mapping[str, Any]) -> str:
        found = texts.get(id(attrs))
        if found is None:
            found = texts[id(attrs)] = (attrs, json.dumps(dict(attrs), sort_keys=True, ensure_ascii=False))
        return found[1]

    return [Counter(zip(got[part], map(text, (found.attrs for found in got[part])))) for got in parts.values()]


def check_against_audit(store: Store, entries: Sequence[audit.AuditEntry] | None = None) -> list[str]:
    """Decision rows that disagree with the audit entry that recorded them (edited outside foureyes)."""
    by_seq = {e.seq: e for e in (entries if entries is not None else audit.entries(store))}
    problems = []
    for d in decisions(store):
        entry = by_seq.get(d.audit_seq or -1)
        if entry is None:
            problems.append(f"decision {d.id} (item {d.item_id}) has no audit entry")
            continue
        if (entry.item_id, entry.decision, entry.actor, entry.detail.get("decision_id")) != \
                (d.item_id, d.decision, d.actor, d.id) or (not d.by_policy and entry.reason != d.reason):
            problems.append(f"decision {d.id} (item {d.item_id}) does not match audit {entry.describe()}")
    return problems
