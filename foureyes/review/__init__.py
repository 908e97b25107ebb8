"""Recertification campaigns: scopes, reviewer assignment, items frozen from a snapshot,
decisions, exceptions with a second approver, independence guards and revocation follow-through.

The package's modules: `vocabulary` (decisions, states, errors), `values` (frozen records),
`planning` (which grants a campaign reviews, pure), `campaigns` (creating and reading),
`deciding` (decisions, with the guards), `people` (who a spelling names), `follow` (revocation
follow-through), `verifying` (the audit verdict), `filters` (choosing items) and `shapes`
(the JSON shapes). Their SQL is in `foureyes.store.review`.
Callers import the names below from `foureyes.review`, never a module of the package.
"""

from __future__ import annotations

from .campaigns import (
    approvable_by,
    approved_waivers,
    campaign_finding_records,
    campaign_findings,
    choose_campaign,
    create_campaign,
    create_from_template,
    created_counts,
    current_exception,
    decisions,
    exceptions,
    find_campaign,
    freeze_people,
    get_campaign,
    get_item,
    items,
    list_campaigns,
    mover_baseline,
    notes,
    progress,
    reviewer_counts,
    reviewer_queue,
    SeveralOpen,
    who_is,
)
from .deciding import (
    add_note,
    approve_exception,
    close_campaign,
    decide,
    decide_many,
    reject_exception,
    undo_last,
)
from .filters import FILTER_KEYS, ItemFilter, item_fields
from .people import Who
from .verifying import Verdict, check_against_audit, verify_audit
from .follow import (
    check_revocations,
    follow_through,
    follow_through_counts,
    pending_checks,
    summaries,
)
from .planning import ItemDraft, held_pairs, plan_items, spec_from_config, spec_from_template
from .shapes import campaign_json, decision_json, exception_json, item_json
from .values import (
    BulkOutcome,
    Campaign,
    CampaignFinding,
    CampaignSpec,
    CampaignSummary,
    ConflictRef,
    Decision,
    ExceptionRequest,
    FollowUp,
    Item,
    Note,
    Outcome,
    Policy,
    PreviousDecision,
    Progress,
    ReviewerRules,
    Scope,
)
from .vocabulary import (
    CERTIFY,
    CLOSE_POLICIES,
    CLOSED,
    DECISIONS,
    DEFER,
    EX_APPROVED,
    EX_LAPSED,
    EX_PENDING,
    EX_REJECTED,
    EX_WITHDRAWN,
    EXCEPTION,
    FOLLOW_STATES,
    OPEN,
    PENDING,
    PRODUCTION,
    REVIEWER_RULES,
    REVOKE,
    SCOPE_KINDS,
    SKIPPED,
    STATES,
    AlreadyDecided,
    NotAllowed,
    ReviewError,
    SelfReview,
    StaleItem,
)
