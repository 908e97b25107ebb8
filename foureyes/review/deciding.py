"""Deciding: decisions, bulk decisions, undo, notes, exceptions with a second approver and
closing a campaign, each in its own committed transaction that also appends to the audit log,
with the guards (nobody reviews their own access; only an item's reviewers decide it).

A review killed halfway loses nothing already decided.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any, Callable, Sequence

from ..errors import NotFound
from ..store import Store, now_iso
from ..store import audit
from ..store import review as rows
from .campaigns import get_campaign, requested_by, who_is
from .people import Who
from .values import (
    BulkOutcome,
    Campaign,
    Decision,
    Item,
    Note,
    Outcome,
    campaign_of,
    decision_of,
    exception_of,
    item_of,
)
from .vocabulary import (
    CLOSED,
    DECISIONS,
    DEFER,
    EX_APPROVED,
    EX_LAPSED,
    EX_PENDING,
    EX_REJECTED,
    EX_WITHDRAWN,
    EXCEPTION,
    PENDING,
    REVOKE,
    SKIPPED,
    NotAllowed,
    AlreadyDecided,
    ReviewError,
    SelfReview,
    StaleItem,
    actor_name,
    dumps,
    norm,
    utc_today,
)

Connection = Any  # the write transaction's connection (`store.audit.run`)


def decide(
    store: Store,
    item_id: int,
    decision: str,
    *,
    actor: str,
    reason: str = "",
    expires: date | None = None,
    note: str = "",
    expect_version: int | None = None,
    bulk: str | None = None,
    today: date | None = None,
    overwrite: bool = True,
) -> Outcome:
    """Record one decision in its own transaction: checks, item update, decision row and audit entry.

    With ``overwrite`` false an item decided already is left alone (`AlreadyDecided`): bulk
    decisions never replace earlier ones unless asked to."""
    actor = actor_name(actor)
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r}: expected one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    day = today or utc_today()

    def work(conn: Connection) -> Outcome:
        item_row = rows.item(conn, item_id)
        if item_row is None:
            raise NotFound(f"item {item_id} does not exist; `foureyes campaign show ID --items` lists them")
        campaign = _lock_campaign(conn, item_row.campaign_id, share=True)
        item = _lock_item(conn, item_id)
        me = _acting(conn, campaign, actor)
        _check_may_decide(conn, campaign, item, me)
        if expect_version is not None and item.version != expect_version:
            by = f" ({item.state} by {item.decided_by})" if item.decided_by else ""
            raise StaleItem(f"item {item.id} changed since you loaded it{by}; reload and decide again")
        if not overwrite and item.state != PENDING:
            raise AlreadyDecided(f"item {item.id} is decided already ({item.state} by {item.decided_by or '?'}); "
                                 "left alone (--overwrite replaces it)")
        if decision == EXCEPTION:
            _check_exception_terms(campaign, reason, expires, day)
        warnings = []
        conflicted, conflict_note = _reviewer_conflict(conn, campaign, item, me)
        if conflicted:
            warnings.append(f"{actor} holds the same conflicting combination ({conflict_note}) as "
                            f"{item.person}: the decision on item {item.id} is marked as made by a "
                            "conflicted reviewer")
        at = now_iso()
        _withdraw_open_exception(conn, item.id, f"superseded by a {decision} decision of {actor}")
        decision_id = rows.insert_decision(conn, dict(
            campaign_id=campaign.id, item_id=item.id, decision=decision, reason=reason, actor=actor,
            actor_key=me.key, at=at, reviewer_conflicted=conflicted, conflict_note=conflict_note, by_policy=False,
            bulk=bulk, prior_state=item.state, prior_decision_id=item.decision_id,
        ))
        exception_row = None
        if decision == EXCEPTION:
            assert expires is not None
            covers = sorted({(c.rule, c.scope) for c in item.conflicts})
            exception_row = rows.insert_exception(conn, dict(
                campaign_id=campaign.id, item_id=item.id, decision_id=decision_id, person=item.person,
                covers=dumps([list(c) for c in covers]), reason=reason, expires=expires.isoformat(),
                requested_by=actor, requested_by_key=me.key, requested_at=at, status=EX_PENDING, resolution_note="",
            ))
        _set_item(conn, item, state=decision, decision_id=decision_id, decided_by=actor, decided_at=at)
        if note.strip():
            rows.insert_note(conn, item_id=item.id, actor=actor, at=at, text=note.strip())
        entry = audit.append(
            conn, actor=actor, action="decide", campaign_id=campaign.id, item_id=item.id, decision=decision,
            reason=reason, snapshot_digest=campaign.snapshot_digest, at=at, items=[item.id],
            detail={**_item_ref(item), "decision_id": decision_id, "reviewer_conflicted": conflicted,
                    "conflict_note": conflict_note, "bulk": bulk, "note": note.strip(),
                    "expires": expires.isoformat() if decision == EXCEPTION and expires else None,
                    "exception_id": exception_row.id if exception_row is not None else None},
        )
        rows.set_audit_seq(conn, decision_id, entry.seq)
        return Outcome(item=_read_item(conn, item.id), decision=_read_decision(conn, decision_id),
                       warnings=tuple(warnings),
                       exception=exception_of(exception_row) if exception_row is not None else None)

    return audit.run(store, work)


def decide_many(
    store: Store,
    item_ids: Sequence[int],
    decision: str,
    *,
    actor: str,
    reason: str = "",
    expires: date | None = None,
    note: str = "",
    today: date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
) -> BulkOutcome:
    """The same decision on many items, each committed on its own; refusals are collected, not
    fatal. Items decided already are skipped (each checked under its lock) unless ``overwrite``."""
    bulk = "bulk-" + uuid.uuid4().hex[:12]
    done: list[Outcome] = []
    refused: list[tuple[int, str]] = []
    skipped: list[tuple[int, str]] = []
    for n, item_id in enumerate(item_ids, 1):
        try:
            done.append(decide(store, item_id, decision, actor=actor, reason=reason, expires=expires, note=note,
                               bulk=bulk, today=today, overwrite=overwrite))
        except AlreadyDecided as exc:
            skipped.append((item_id, str(exc)))
        except ReviewError as exc:
            refused.append((item_id, str(exc)))
        if on_progress:
            on_progress(n, len(item_ids))
    return BulkOutcome(bulk=bulk, done=tuple(done), refused=tuple(refused), skipped=tuple(skipped))


def undo_last(store: Store, campaign_id: int, *, actor: str) -> list[Outcome]:
    """Undo the actor's last decision in the campaign (all of it, when it was a bulk decision)."""
    actor = actor_name(actor)

    def work(conn: Connection) -> list[Outcome]:
        campaign = _lock_campaign(conn, campaign_id, share=True)
        if not campaign.is_open:
            raise NotAllowed(f"campaign {campaign.id} is closed; its decisions can no longer be undone")
        me = _acting(conn, campaign, actor)
        last = rows.last_decision_of(conn, campaign_id, me.key)
        if last is None:
            raise ReviewError(f"{actor} has no decision to undo in campaign {campaign_id}")
        group = [last]
        if last.bulk:
            group = rows.bulk_decisions(conn, last.bulk)
        at = now_iso()
        out = []
        for row in group:
            item = _lock_item(conn, row.item_id)
            if item.decision_id != row.id:
                if len(group) == 1:
                    raise StaleItem(f"item {item.id} was decided again since ({item.state} by {item.decided_by}); "
                                    "only the latest decision on an item can be undone")
                continue
            rows.mark_undone(conn, row.id, actor=actor, at=at)
            _withdraw_open_exception(conn, item.id, f"its decision was undone by {actor}")
            prior = _read_decision(conn, row.prior_decision_id) if row.prior_decision_id else None
            if prior is not None and prior.decision == EXCEPTION:
                # the exception that decision replaced needs its second approver again
                rows.set_exception_status(conn, decision_id=prior.id, status=EX_PENDING, approver=None,
                                          approver_key=None, approved_at=None,
                                          note=f"restored by an undo of {actor}; needs approval again")
            _set_item(conn, item, state=row.prior_state, decision_id=row.prior_decision_id,
                      decided_by=prior.actor if prior is not None else None,
                      decided_at=prior.at if prior is not None else None)
            audit.append(conn, actor=actor, action="undo", campaign_id=campaign.id, item_id=item.id,
                         decision=row.decision, reason="", snapshot_digest=campaign.snapshot_digest, at=at,
                         items=[item.id],
                         detail={**_item_ref(item), "decision_id": row.id, "restored_state": row.prior_state,
                                 "bulk": row.bulk})
            out.append(Outcome(item=_read_item(conn, item.id), decision=_read_decision(conn, row.id)))
        return out

    return audit.run(store, work)


def add_note(store: Store, item_id: int, text: str, *, actor: str) -> Note:
    """A note on any item, by anyone; it is audited like a decision."""
    actor = actor_name(actor)
    text = (text or "").strip()
    if not text:
        raise ReviewError("a note needs some text")

    def work(conn: Connection) -> Note:
        item = _lock_item(conn, item_id)
        campaign = get_campaign(store, item.campaign_id, conn)
        at = now_iso()
        note_id = rows.insert_note(conn, item_id=item.id, actor=actor, at=at, text=text)
        audit.append(conn, actor=actor, action="note", campaign_id=campaign.id, item_id=item.id, reason=text,
                     snapshot_digest=campaign.snapshot_digest, at=at, detail={**_item_ref(item), "note_id": note_id},
                     items=[item.id])
        return Note(id=note_id, item_id=item.id, actor=actor, at=at, text=text)

    return audit.run(store, work)


def approve_exception(store: Store, exception_id: int, *, actor: str, note: str = "",
                      today: date | None = None) -> Outcome:
    """The second pair of eyes: neither the requester nor the subject may approve."""
    actor = actor_name(actor)
    return _resolve_exception(store, exception_id, actor=actor, approve=True, note=note, today=today)


def reject_exception(store: Store, exception_id: int, *, actor: str, reason: str) -> Outcome:
    """Refuse an exception: the item goes back to pending for its reviewer to decide again."""
    actor = actor_name(actor)
    if not (reason or "").strip():
        raise ReviewError("rejecting an exception needs a --reason")
    return _resolve_exception(store, exception_id, actor=actor, approve=False, note=reason.strip())


def _resolve_exception(store: Store, exception_id: int, *, actor: str, approve: bool, note: str,
                       today: date | None = None) -> Outcome:
    def work(conn: Connection) -> Outcome:
        row = rows.exception(conn, exception_id)
        if row is None:
            raise NotFound(f"exception {exception_id} does not exist; `foureyes exception list` lists them")
        campaign = _lock_campaign(conn, row.campaign_id, share=True)
        if not campaign.is_open:
            raise NotAllowed(f"campaign {campaign.id} is closed")
        item = _lock_item(conn, row.item_id)
        request = exception_of(rows.exception(conn, exception_id, lock=True))
        if request.status != EX_PENDING:
            raise ReviewError(f"exception {request.id} is {request.status}, not awaiting approval")
        me = _acting(conn, campaign, actor)
        if requested_by(conn, me, request):
            same = "" if norm(actor) == norm(request.requested_by) else \
                f", and {actor} is the same person{_as(me, actor)}"
            raise SelfReview(f"exception {request.id} was requested by {request.requested_by}{same}: an exception "
                             "needs a second person to approve it")
        if item.is_about(me):
            raise SelfReview(f"exception {request.id} is about {actor}'s own access{_as(me, actor)}: someone else "
                             "must approve it")
        approvers = {who_is(conn, campaign.id, a).key for a in campaign.policy.exception_approvers}
        if approve and approvers and me.key not in approvers:
            raise NotAllowed(f"{actor} may not approve exceptions in campaign {campaign.id}; approvers: "
                             + ", ".join(sorted(campaign.policy.exception_approvers)))
        if approve and request.expires < (today or utc_today()):
            raise ReviewError(f"exception {request.id} expired on {request.expires}; it cannot be approved")
        warnings = []
        conflicted, conflict_note = _reviewer_conflict(conn, campaign, item, me)
        if conflicted:
            warnings.append(f"{actor}{_as(me, actor)} holds the same conflicting combination ({conflict_note}) "
                            f"as {item.person}")
        at = now_iso()
        rows.set_exception_status(conn, exception_id=request.id, status=EX_APPROVED if approve else EX_REJECTED,
                                  approver=actor, approver_key=me.key, approved_at=at, note=note)
        if approve:
            _set_item(conn, item, state=item.state, decision_id=item.decision_id, decided_by=item.decided_by,
                      decided_at=item.decided_at)
        else:
            _set_item(conn, item, state=PENDING, decision_id=None, decided_by=None, decided_at=None)
        audit.append(conn, actor=actor, action="exception.approve" if approve else "exception.reject",
                     campaign_id=campaign.id, item_id=item.id, decision=EXCEPTION, reason=note,
                     snapshot_digest=campaign.snapshot_digest, at=at, items=[item.id],
                     detail={**_item_ref(item), "exception_id": request.id, "requested_by": request.requested_by,
                             "expires": request.expires.isoformat(), "covers": [list(c) for c in request.covers],
                             "approver_conflicted": conflicted, "conflict_note": conflict_note})
        fresh = exception_of(rows.exception(conn, request.id))
        return Outcome(item=_read_item(conn, item.id), decision=None, warnings=tuple(warnings), exception=fresh)

    return audit.run(store, work)


def close_campaign(store: Store, campaign_id: int, *, actor: str, force: bool = False,
                   reason: str = "") -> tuple[Campaign, list[int]]:
    """Close a campaign. Unresolved items need ``force`` and a reason; they then follow the close policy.

    Returns the closed campaign and the ids of the items the policy decided.
    """
    actor = actor_name(actor)
    reason = (reason or "").strip()

    def work(conn: Connection) -> tuple[Campaign, list[int]]:
        campaign = _lock_campaign(conn, campaign_id, share=False)
        if not campaign.is_open:
            raise NotAllowed(f"campaign {campaign.id} is already closed ({campaign.closed_at} by {campaign.closed_by})")
        me = _acting(conn, campaign, actor)
        all_rows = rows.items_to_close(conn, campaign_id)
        waiting = rows.items_with_exception(conn, campaign_id, status=EX_PENDING)
        unresolved = [r for r in all_rows
                      if r.state in (PENDING, DEFER) or (r.state == EXCEPTION and r.id in waiting)]
        if unresolved and not force:
            kinds = Counter("pending" if r.state == PENDING else "deferred" if r.state == DEFER
                            else "exceptions awaiting approval" for r in unresolved)
            detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            policy = "become revoke" if campaign.policy.close_policy == "revoke" else "are skipped"
            raise ReviewError(f"campaign {campaign.id} has {len(unresolved)} unresolved item{'' if len(unresolved) == 1 else 's'} ({detail}); decide "
                              f"them, or close with --force --reason (unresolved items then {policy}, the close "
                              "policy of this campaign)")
        if unresolved and not reason:
            raise ReviewError("closing a campaign with unresolved items needs --reason")
        at = now_iso()
        outcome = REVOKE if campaign.policy.close_policy == "revoke" else SKIPPED
        decided = []
        for row in unresolved:
            item = item_of(row)
            if row.id in waiting:
                rows.set_exception_status(conn, item_id=row.id, only=(EX_PENDING,), status=EX_LAPSED,
                                          note="not approved before the campaign closed")
            decision_id = rows.insert_decision(conn, dict(
                campaign_id=campaign.id, item_id=item.id, decision=outcome, actor=actor, actor_key=me.key, at=at,
                reason=f"unresolved when the campaign was closed: {reason}", reviewer_conflicted=False,
                conflict_note="", by_policy=True, bulk=None, prior_state=item.state,
                prior_decision_id=item.decision_id,
            ))
            _set_item(conn, item, state=outcome, decision_id=decision_id, decided_by=actor, decided_at=at)
            entry = audit.append(conn, actor=actor, action="close.policy", campaign_id=campaign.id, item_id=item.id,
                                 decision=outcome, reason=reason, snapshot_digest=campaign.snapshot_digest, at=at,
                                 items=[item.id],
                                 detail={**_item_ref(item), "decision_id": decision_id, "prior_state": item.state,
                                         "policy": campaign.policy.close_policy})
            rows.set_audit_seq(conn, decision_id, entry.seq)
            decided.append(item.id)
        rows.mark_closed(conn, campaign.id, status=CLOSED, at=at, actor=actor, reason=reason)
        audit.append(conn, actor=actor, action="campaign.close", campaign_id=campaign.id, reason=reason,
                     snapshot_digest=campaign.snapshot_digest, at=at, campaigns=[campaign.id],
                     detail={"forced": bool(unresolved), "policy": campaign.policy.close_policy,
                             "policy_items": len(decided), "items": len(all_rows)})
        return get_campaign(store, campaign.id, conn), decided

    return audit.run(store, work)


# ---------------------------------------------------------------- guards


def _acting(conn: Connection, campaign: Campaign, actor: str) -> Who:
    """The person ``actor`` names in the campaign; a spelling that names several is refused."""
    me = who_is(conn, campaign.id, actor)
    if me.ambiguous:
        raise ReviewError(f"{actor} names several people in campaign {campaign.id} ({', '.join(sorted(me.people))}); "
                          "act as one of them by their own email")
    return me


def _as(me: Who, actor: str) -> str:
    """", that is omar.osman@acme.com" when the spelling was another of theirs."""
    return f" (that is {me.key})" if me.key and me.key != norm(actor) else ""


def _check_may_decide(conn: Connection, campaign: Campaign, item: Item, me: Who) -> None:
    actor = me.given
    if not campaign.is_open:
        raise NotAllowed(f"campaign {campaign.id} is closed ({campaign.closed_at} by {campaign.closed_by}); "
                         "its decisions are final")
    if item.is_about(me):
        raise SelfReview(f"{actor} cannot decide item {item.id}: it is about their own access{_as(me, actor)} "
                         f"({item.label}); nobody reviews their own accounts")
    reviewer = item.reviewer_key or norm(item.reviewer)
    fallback = who_is(conn, campaign.id, campaign.reviewers.fallback)
    if not ((reviewer and (me.key == reviewer or reviewer in me.people)) or (fallback.key and me.is_(fallback))):
        owner = item.reviewer or "nobody (unassigned)"
        also = f" or the fallback reviewer {campaign.reviewers.fallback}" if campaign.reviewers.fallback else ""
        raise NotAllowed(f"{actor} is not a reviewer of item {item.id}: it is assigned to {owner}{also}")


def _check_exception_terms(campaign: Campaign, reason: str, expires: date | None, today: date) -> None:
    if not reason:
        raise ReviewError("an exception needs a --reason: why the access is accepted")
    if expires is None:
        raise ReviewError("an exception needs an --expires date (YYYY-MM-DD)")
    if expires <= today:
        raise ReviewError(f"an exception's expiry must be in the future, not {expires.isoformat()}")
    limit = today + timedelta(days=campaign.policy.exception_max_days)
    if expires > limit:
        raise ReviewError(f"an exception may last at most {campaign.policy.exception_max_days} days "
                          f"(until {limit.isoformat()}), not until {expires.isoformat()}")


def _reviewer_conflict(conn: Connection, campaign: Campaign, item: Item, me: Who) -> tuple[bool, str]:
    """Does the actor (whichever spelling) hold a conflict of the same rule as one the item takes part in?"""
    rules = {c.rule for c in item.conflicts}
    if not rules:
        return False, ""
    found = rows.findings(conn, campaign.id, people={me.key, *me.people}, rules=rules)
    if not found:
        return False, ""
    return True, "; ".join(f"{r.rule} {r.title} ({r.scope})" for r in found)


# ---------------------------------------------------------------- inside a transaction


def _lock_campaign(conn: Connection, campaign_id: int, *, share: bool) -> Campaign:
    row = rows.campaign(conn, campaign_id, lock="share" if share else "update")
    if row is None:
        raise NotFound(f"campaign {campaign_id} does not exist; `foureyes campaign list` lists them")
    return campaign_of(row)


def _lock_item(conn: Connection, item_id: int) -> Item:
    row = rows.item(conn, item_id, lock=True)
    if row is None:
        raise NotFound(f"item {item_id} does not exist; `foureyes campaign show ID --items` lists them")
    return item_of(row)


def _read_item(conn: Connection, item_id: int) -> Item:
    return item_of(rows.item(conn, item_id))


def _read_decision(conn: Connection, decision_id: int) -> Decision:
    return decision_of(rows.decision(conn, decision_id))


def _set_item(conn: Connection, item: Item, *, state: str, decision_id: int | None, decided_by: str | None,
              decided_at: str | None) -> None:
    """Compare-and-set on the version read under the row lock: a lost update fails loudly."""
    if not rows.set_item(conn, item.id, item.version, state=state, decision_id=decision_id, decided_by=decided_by,
                         decided_at=decided_at):
        raise StaleItem(f"item {item.id} changed while it was being decided; reload and decide again")


def _withdraw_open_exception(conn: Connection, item_id: int, why: str) -> None:
    rows.set_exception_status(conn, item_id=item_id, only=(EX_PENDING, EX_APPROVED), status=EX_WITHDRAWN, note=why)


def _item_ref(item: Item) -> dict[str, Any]:
    """What an audit entry says about its item, so the log reads on its own."""
    return {"grant": item.grant_key, "person": item.person, "entitlement": item.entitlement,
            "resource": item.resource, "capabilities": list(item.capabilities)}
