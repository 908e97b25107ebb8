"""The append-only, hash-chained audit log of every review action, and its verification.

Each entry holds the previous entry's hash and its own; the head row is locked by every
append, so concurrent reviewers queue on it and the chain never forks. An entry of version 2
also commits to the records the action left (`state`, see `store.records`), so the tables
can be checked against the chain, not only the chain against itself. Entries written before
migration 3 are version 1: their hash covers the entry alone.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError, OperationalError

from . import Store, now_iso, records, wal
from . import schema as t

GENESIS = "0" * 64
HASH_VERSION = 2  # what new entries are written as
_EMPTY: Mapping[str, Any] = MappingProxyType({})
T = TypeVar("T")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str  # campaign.new | decide | undo | note | exception.approve | exception.reject | campaign.close …
    campaign_id: int | None
    item_id: int | None
    decision: str
    reason: str
    snapshot_digest: str
    detail: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    prev_hash: str = GENESIS
    hash: str = ""
    version: int = HASH_VERSION
    state: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def content(self) -> dict[str, Any]:
        """Everything the hash covers (all but the hash itself); version 1 had no state."""
        content = {
            "v": self.version, "seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
            "campaign": self.campaign_id, "item": self.item_id, "decision": self.decision,
            "reason": self.reason, "snapshot_digest": self.snapshot_digest, "detail": dict(self.detail),
            "prev": self.prev_hash,
        }
        if self.version >= 2:
            content["state"] = dict(self.state)
        return content

    def computed_hash(self) -> str:
        return entry_hash(self.content())

    def describe(self) -> str:
        what = self.action + (f" {self.decision}" if self.decision else "")
        where = f" item {self.item_id}" if self.item_id is not None else (
            f" campaign {self.campaign_id}" if self.campaign_id is not None else "")
        return f"entry {self.seq} ({what}{where} by {self.actor} at {self.at})"


def entry_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- writing


@contextmanager
def transaction(store: Store) -> Iterator[Connection]:
    """A write transaction that takes the write lock up front.

    On SQLite, BEGIN IMMEDIATE: a deferred transaction that reads and then writes can
    fail with "database is locked" against a concurrent writer instead of waiting.
    """
    with store.engine.connect() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        committed = False
        try:
            yield conn
            conn.commit()
            committed = True
        except BaseException:
            conn.rollback()
            raise
        finally:
            wal.after(conn, committed=committed)  # (a big one's log checkpointed beside it: `wal.defer`)


def run(store: Store, work: Callable[[Connection], T], *, attempts: int = 8) -> T:
    """Run ``work`` in its own committed transaction, retrying lock timeouts and deadlocks."""
    for attempt in range(attempts):
        try:
            with transaction(store) as conn:
                return work(conn)
        except (OperationalError, DBAPIError) as exc:
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            time.sleep(min(0.05 * 2 ** attempt, 1.0) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def _retryable(exc: DBAPIError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    # SQLite busy/locked; PostgreSQL deadlock_detected / serialization_failure / lock_not_available
    return "database is locked" in text or "database is busy" in text or sqlstate in ("40P01", "40001", "55P03")


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    campaign_id: int | None = None,
    item_id: int | None = None,
    decision: str = "",
    reason: str = "",
    snapshot_digest: str = "",
    detail: Mapping[str, Any] | None = None,
    at: str | None = None,
    campaigns: Iterable[int] = (),
    items: Iterable[int] = (),
    frozen: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it commits with the action it records).

    The entry commits to the state the action left: the rows of ``campaigns`` and ``items``
    (each item with its decisions, exceptions and notes) as they are now, and ``frozen``
    digests (`records.freeze`) when a campaign is created. Call it after the action's writes.
    """
    head = conn.execute(select(t.audit_head).where(t.audit_head.c.id == 1).with_for_update()).one()
    state = records.capture(conn, campaigns=campaigns, items=items)
    if frozen:
        state["frozen"] = dict(frozen)
    state = json.loads(json.dumps(state))  # as it will read back: ids as text, tuples as lists
    entry = AuditEntry(
        seq=head.seq + 1, at=at or now_iso(), actor=actor, action=action, campaign_id=campaign_id,
        item_id=item_id, decision=decision, reason=reason, snapshot_digest=snapshot_digest,
        detail=MappingProxyType(dict(detail or {})), prev_hash=head.hash, state=MappingProxyType(state),
    )
    entry = AuditEntry(**{**entry.__dict__, "hash": entry.computed_hash()})
    conn.execute(t.audit_log.insert().values(
        seq=entry.seq, v=entry.version, at=entry.at, actor=entry.actor, action=entry.action,
        campaign_id=entry.campaign_id, item_id=entry.item_id, decision=entry.decision, reason=entry.reason,
        snapshot_digest=entry.snapshot_digest, detail=_dumps(entry.detail), state=_dumps(entry.state),
        prev_hash=entry.prev_hash, hash=entry.hash,
    ))
    # Compare-and-set on the head as well: a second writer that slipped past the lock fails here.
    updated = conn.execute(
        t.audit_head.update()
        .where(t.audit_head.c.id == 1, t.audit_head.c.seq == head.seq)
        .values(seq=entry.seq, hash=entry.hash)
    )
    if updated.rowcount != 1:  # pragma: no cover - only without working row locks
        raise RuntimeError("the audit chain head moved during an append")
    return entry


# ---------------------------------------------------------------- reading


def entries(store: Store, *, campaign_id: int | None = None, after: int = 0) -> list[AuditEntry]:
    """Entries in chain order; one campaign's with ``campaign_id``."""
    query = select(t.audit_log).where(t.audit_log.c.seq > after).order_by(t.audit_log.c.seq)
    if campaign_id is not None:
        query = query.where(t.audit_log.c.campaign_id == campaign_id)
    with store.engine.connect() as conn:
        return [_entry(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


def head(store: Store) -> Head:
    """The chain head: keep its hash outside the database to detect a truncated tail later."""
    with store.engine.connect() as conn:
        row = conn.execute(select(t.audit_head).where(t.audit_head.c.id == 1)).one()
    return Head(seq=row.seq, hash=row.hash)


@dataclass(frozen=True)
class Anchor:
    """A head kept outside the database: entry ``seq`` had hash ``hash`` (``seq`` None: some entry)."""

    hash: str
    seq: int | None = None
    at: str = ""
    where: str = ""  # where it was read: "FILE line N", "--expect-head"

    def describe(self) -> str:
        what = f"entry {self.seq} head {self.hash[:16]}…" if self.seq is not None else f"head {self.hash[:16]}…"
        return what + (f" anchored {self.at}" if self.at else "") + (f" ({self.where})" if self.where else "")


ANCHOR_PREFIX = "foureyes audit anchor:"
_ANCHOR = re.compile(r"foureyes audit anchor: entry (?P<seq>\d+) head (?P<hash>[0-9a-f]{64})"
                     r"(?: at (?P<at>\S+))?")


def anchor_line(head: Head, *, at: str, campaign: str = "") -> str:
    """One line that states the head: for a file (appended), a ticket or a chat."""
    return f"{ANCHOR_PREFIX} entry {head.seq} head {head.hash} at {at}" + (f" campaign {campaign}" if campaign else "")


def parse_anchors(text: str, *, where: str) -> list[Anchor]:
    """Every anchor line in ``text`` (other lines are ignored: a pasted chat log will do)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        m = _ANCHOR.search(line)
        if m:
            found.append(Anchor(hash=m.group("hash"), seq=int(m.group("seq")), at=m.group("at") or "",
                                where=f"{where} line {number}"))
    return found


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: Head
    first_bad: int | None = None  # sequence number of the first bad entry
    problem: str = ""
    legacy: tuple[int, int] | None = None  # first and last entry written before state commitments
    anchors: int = 0  # anchors (and expected heads) the chain was found to contain
    log: tuple[AuditEntry, ...] = field(default=(), repr=False, compare=False)


def verify(store: Store, *, expect_head: str | None = None, anchors: Sequence[Anchor] = ()) -> Verification:
    """Walk the chain; the first entry that was edited, deleted, inserted or moved fails it.
    Every anchor (and ``expect_head``) must still be in it: a head kept outside the database
    catches a chain rewritten or cut back as a whole."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
        head_row = conn.execute(select(t.audit_head).where(t.audit_head.c.id == 1)).first()
    recorded = Head(seq=head_row.seq, hash=head_row.hash) if head_row else Head(0, GENESIS)
    prev_hash, expected_seq = GENESIS, 1
    count = 0
    log: list[AuditEntry] = []
    legacy: tuple[int, int] | None = None
    stated: AuditEntry | None = None  # the first entry that commits to state

    def bad(seq: int, problem: str) -> Verification:
        return Verification(ok=False, entries=count, head=recorded, first_bad=seq, problem=problem, legacy=legacy)

    for row in rows:
        entry = _entry(row)
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                missing = f"entry {expected_seq}" if entry.seq == expected_seq + 1 else \
                    f"entries {expected_seq}–{entry.seq - 1}"
                return bad(expected_seq, f"{missing} missing before {entry.describe()}: deleted")
            return bad(entry.seq, f"{entry.describe()} is out of sequence (expected {expected_seq})")
        if entry.prev_hash != prev_hash:
            return bad(entry.seq, f"{entry.describe()} does not follow entry {entry.seq - 1}: "
                                  "its previous hash does not match (reordered, inserted or deleted)")
        if entry.version > HASH_VERSION:
            return bad(entry.seq, f"{entry.describe()} is of version {entry.version}, newer than this foureyes "
                                  "understands; upgrade foureyes")
        if entry.computed_hash() != entry.hash:
            return bad(entry.seq, f"{entry.describe()} was edited: its content does not match its hash")
        if entry.version < 2:
            if stated is not None:
                return bad(entry.seq, f"{entry.describe()} carries no state, yet entry {stated.seq} before it "
                                      "did: entries are never written so since (rewritten)")
            legacy = (legacy[0] if legacy else entry.seq, entry.seq)
        elif stated is None:
            stated = entry
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
        log.append(entry)
    last = Head(seq=expected_seq - 1, hash=prev_hash)
    if head_row is None:
        return bad(last.seq + 1, "the chain head row is missing")
    if (recorded.seq, recorded.hash) != (last.seq, last.hash):
        if recorded.seq > last.seq:
            return bad(last.seq + 1, f"the chain ends at entry {last.seq} but its head records entry "
                                     f"{recorded.seq}: entries at the end were deleted")
        return bad(recorded.seq, f"the chain head records entry {recorded.seq} with another hash: "
                                 "the head row was edited")
    wanted = list(anchors) + ([Anchor(hash=expect_head.strip().lower(), where="--expect-head")] if expect_head else [])
    by_hash = {GENESIS: 0, **{e.hash: e.seq for e in log}}  # an anchor of the empty chain holds for any
    by_seq = {0: GENESIS, **{e.seq: e.hash for e in log}}
    for anchor in wanted:
        if anchor.seq is None:
            if anchor.hash not in by_hash:  # an older head is fine: the chain has grown since
                return bad(last.seq, f"the expected head {anchor.hash[:16]}… is not in the chain: "
                                     "it was rewritten or truncated")
        elif anchor.seq not in by_seq:
            return bad(last.seq, f"the chain ends at entry {last.seq}, but {anchor.describe()} names entry "
                                 f"{anchor.seq}: entries at the end were deleted (truncated)")
        elif by_seq[anchor.seq] != anchor.hash:
            return bad(anchor.seq, f"entry {anchor.seq} no longer has the hash of {anchor.describe()}: "
                                   "the chain was rewritten")
    return Verification(ok=True, entries=count, head=last, legacy=legacy, anchors=len(wanted), log=tuple(log))


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row.seq, at=row.at, actor=row.actor, action=row.action, campaign_id=row.campaign_id,
        item_id=row.item_id, decision=row.decision, reason=row.reason, snapshot_digest=row.snapshot_digest,
        detail=MappingProxyType(json.loads(row.detail) if row.detail else {}), prev_hash=row.prev_hash,
        hash=row.hash, version=row.v, state=MappingProxyType(json.loads(row.state) if row.state else {}),
    )


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, ensure_ascii=False) if value else ""
