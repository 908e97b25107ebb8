"""Revocation follow-through: each later snapshot either still shows a revoked grant, no longer
does (verified), shows it again (regressed), or cannot tell because of a gap.

Computing checks only reads (`pending_checks`); recording them is the one explicit step that
writes (`check_revocations`), run when a snapshot is taken and when follow-through is shown.
Exports read the recorded checks plus the pending ones they are given, and never write.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Mapping, Sequence

from ..config import Config
from ..emergency import USE_VIA
from ..graph import Graph
from ..identity import link
from ..model import Snapshot
from ..store import Store, now_iso
from ..store import review as rows
from .campaigns import list_campaigns, progress
from .values import CampaignSummary, FollowUp
from .vocabulary import FOLLOW_STATES, OPEN, REVOKE

Check = Mapping[str, Any]  # item_id, snapshot_id, present (None: unknown), note, checked_at


def pending_checks(store: Store, config: Config, *, campaign_id: int | None = None) -> list[Check]:
    """Checks of revoked items against every later snapshot that none is recorded for yet;
    computed (each such snapshot is loaded and linked), not written.

    A revoked grant absent from a snapshot whose source failed or left a gap on it is
    unknown: a gap is never proof that access is gone.
    """
    revoked = rows.items_in_state(store, REVOKE, campaign_id=campaign_id, not_via=USE_VIA)
    if not revoked:
        return []
    done = {(r.item_id, r.snapshot_id) for r in rows.revocation_checks(store, [r.id for r in revoked])}
    first = min(r.snapshot_id for r in revoked)
    out: list[Check] = []
    for sid in [i.id for i in store.list_snapshots() if i.id > first]:
        todo = [r for r in revoked if sid > r.snapshot_id and (r.id, sid) not in done]
        if not todo:
            continue
        snapshot = store.load_snapshot(sid)
        identities = link(snapshot, config)
        graph = Graph(snapshot, identities)
        checked_at = now_iso()
        reached: dict[str, set[str]] = {}
        for r in todo:
            if r.person not in reached:
                person = identities.people.get(r.person)
                reached[r.person] = set(graph.reachable_grants(a.principal for a in person.accounts)) \
                    if person is not None else set()
            present, note = _presence(snapshot, r.person in identities.people, reached[r.person], r.grant_key,
                                      r.resource)
            out.append({"item_id": r.id, "snapshot_id": sid, "present": present, "note": note,
                        "checked_at": checked_at})
    return out


def check_revocations(store: Store, config: Config, *, campaign_id: int | None = None) -> int:
    """Check revoked items against every later snapshot not checked yet and record the checks
    (this writes); returns how many were recorded."""
    return rows.record_checks(store, pending_checks(store, config, campaign_id=campaign_id))


def _presence(snapshot: Snapshot, person_present: bool, reached: set[str], grant_key: str,
              resource: str) -> tuple[bool | None, str]:
    if grant_key in reached:
        return True, "still held"
    system = resource.split(":", 1)[0]
    parent = getattr(snapshot.resources.get(resource), "parent", "")
    failed = [s.name for s in snapshot.sources if s.error and s.system in (system, "multi", "ci")]
    if failed:
        return None, f"unknown: source {', '.join(failed)} failed in this snapshot"
    for gap in snapshot.gaps():
        if gap.about:  # what happened in the review period says nothing about who holds access
            continue
        if gap.resource in (resource, parent) or (not gap.resource and gap.system == system):
            return None, f"unknown: gap [{gap.system}] {gap.resource or 'source'}: {gap.reason}"
    if not person_present:
        return False, "gone: the person has no accounts in this snapshot"
    return False, "gone"


def follow_through(store: Store, *, campaign_id: int | None = None,
                   unrecorded: Sequence[Check] = ()) -> list[FollowUp]:
    """The state of every currently revoked item, from the checks recorded so far and the
    ``unrecorded`` ones given (from `pending_checks`). A revoked use of an emergency path (scope
    "emergency": the use was not justified) is no grant to look for in later snapshots: not followed."""
    revoked = rows.items_in_state(store, REVOKE, campaign_id=campaign_id, not_via=USE_VIA)
    checks: dict[int, dict[int, Any]] = defaultdict(dict)
    for check in unrecorded:
        checks[check["item_id"]][check["snapshot_id"]] = check.get("present")
    for row in rows.revocation_checks(store, [r.id for r in revoked]):
        checks[row.item_id][row.snapshot_id] = row.present
    out = []
    for r in revoked:
        state, gone_in, back_in, last, unknown = "pending", None, None, None, []
        for snapshot_id, present in sorted(checks.get(r.id, {}).items()):
            last = snapshot_id
            if present is None:
                unknown.append(snapshot_id)
            elif not present:
                gone_in = gone_in or snapshot_id
                state = "verified"
            elif gone_in is not None:
                state, back_in = "regressed", snapshot_id
        out.append(FollowUp(item_id=r.id, campaign_id=r.campaign_id, state=state, gone_in=gone_in,
                            back_in=back_in, last_checked=last, unknown_in=tuple(unknown)))
    return out


def follow_through_counts(store: Store, *, campaign_id: int | None = None,
                          unrecorded: Sequence[Check] = ()) -> dict[str, int]:
    counts = Counter(f.state for f in follow_through(store, campaign_id=campaign_id, unrecorded=unrecorded))
    return {state: counts.get(state, 0) for state in FOLLOW_STATES}


def summaries(store: Store, *, status: str | None = OPEN) -> list[CampaignSummary]:
    """Campaigns with their progress and revocation follow-through (recorded checks only)."""
    out = []
    for campaign in list_campaigns(store, status=status):
        prog = progress(store, campaign.id)
        out.append(CampaignSummary(campaign=campaign, progress=prog,
                                   follow_through=follow_through_counts(store, campaign_id=campaign.id),
                                   exceptions_waiting=prog.exception_waiting))
    return out
