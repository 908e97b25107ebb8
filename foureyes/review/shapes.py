"""The stable JSON shapes of campaigns, items, decisions and exceptions (docs/cli.md).

Scripts rely on these; add fields freely, never rename or remove one.
"""

from __future__ import annotations

from typing import Any

from .values import Campaign, Decision, ExceptionRequest, Item


def item_json(item: Item) -> dict[str, Any]:
    """The stable JSON shape of an item (docs/cli.md)."""
    return {
        "id": item.id, "campaign": item.campaign_id, "grant": item.grant_key, "person": item.person,
        "person_name": item.person_name, "accounts": list(item.accounts), "system": item.system,
        "principal": item.principal, "principal_name": item.principal_name, "entitlement": item.entitlement,
        "resource": item.resource, "resource_name": item.resource_name, "tier": item.tier, "app": item.app,
        "capabilities": list(item.capabilities), "via": item.via, "detail": item.detail,
        "condition": item.condition, "expires": item.expires, "last_used": item.last_used,
        "path": list(item.path), "teams": list(item.teams),
        "conflicts": [c.__dict__ for c in item.conflicts], "other_holders": item.holders, "new": item.is_new,
        "previous": None if item.previous is None else {**item.previous.__dict__,
                                                         "text": item.previous.describe()},
        "reviewer": item.reviewer, "reviewer_rule": item.reviewer_rule, "state": item.state,
        "decided_by": item.decided_by, "decided_at": item.decided_at, "version": item.version,
        "roster": {"status": item.person_status, "manager": item.person_manager,
                   "department": item.person_department},
        "usage": item.usage.to_dict(),
    }


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status, "snapshot": campaign.snapshot_id,
        "snapshot_digest": campaign.snapshot_digest, "scope": campaign.scope.to_json(),
        "scope_text": campaign.scope.describe(), "reviewers": campaign.reviewers.to_json(),
        "policy": campaign.policy.to_json(), "created_at": campaign.created_at, "created_by": campaign.created_by,
        "due": campaign.due.isoformat(), "template": campaign.template, "period": campaign.period,
        "baseline_snapshot": campaign.baseline_snapshot_id, "closed_at": campaign.closed_at,
        "closed_by": campaign.closed_by, "close_reason": campaign.close_reason,
    }


def decision_json(d: Decision) -> dict[str, Any]:
    return {**d.__dict__}


def exception_json(e: ExceptionRequest) -> dict[str, Any]:
    return {**e.__dict__, "covers": [list(c) for c in e.covers], "expires": e.expires.isoformat(),
            "counts": e.counts()}
