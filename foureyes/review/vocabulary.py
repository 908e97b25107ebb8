"""The review's vocabulary: decisions, item states, scope kinds, reviewer rules, the errors a
reviewer can act on, and how actors are named (case-insensitive emails)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from ..errors import FoureyesError
from ..store.keys import fold

CERTIFY, REVOKE, DEFER, EXCEPTION = "certify", "revoke", "defer", "exception"
DECISIONS: tuple[str, ...] = (CERTIFY, REVOKE, DEFER, EXCEPTION)
PENDING, SKIPPED = "pending", "skipped"
STATES: tuple[str, ...] = (PENDING, CERTIFY, REVOKE, DEFER, EXCEPTION, SKIPPED)

SCOPE_KINDS = ("production", "conflicts", "drift", "leavers", "movers", "unused", "emergency", "all")
REVIEWER_RULES = ("app-owner", "team-maintainer", "manager", "fixed")
CLOSE_POLICIES = ("revoke", "skip")
OPEN, CLOSED = "open", "closed"

# exception statuses
EX_PENDING, EX_APPROVED, EX_REJECTED, EX_WITHDRAWN, EX_LAPSED = "pending", "approved", "rejected", "withdrawn", "lapsed"

PRODUCTION = "production"


class ReviewError(FoureyesError):
    """A review action that is refused, with the reason a reviewer can act on (exit 2)."""


class SelfReview(ReviewError):
    """Nobody decides an item about their own accounts, nor approves their own exception."""


class NotAllowed(ReviewError):
    """The actor is not a reviewer of this item, or the campaign does not allow the action."""


class AlreadyDecided(ReviewError):
    """A bulk decision reached an item decided already: it is left alone unless --overwrite."""


class StaleItem(ReviewError):
    """The item changed after the reviewer loaded it (another reviewer decided it)."""


FOLLOW_STATES = ("pending", "verified", "regressed")


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def norm(who: str | None) -> str:
    """A person or account key as compared: trimmed, NFKC-normalised and casefolded, as every
    key column holds it (`store.keys.fold`)."""
    return fold(who)


def actor_name(who: str) -> str:
    """Who acts, as recorded: an email lowercased; refused when empty."""
    actor = (who or "").strip()
    if not actor:
        raise ReviewError("say who you are: --as REVIEWER (a person's email)")
    return actor.lower() if "@" in actor else actor


def dumps(value: Any) -> str:
    """JSON as stored in the review tables (sorted keys, so fingerprints and rows are stable)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
