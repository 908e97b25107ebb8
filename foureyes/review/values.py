"""The review's values: scopes, reviewer rules, campaigns, items, decisions, exceptions and
progress, frozen dataclasses, and how each is read back from its store row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InputError
from ..model import RosterStatus
from ..rules import Waiver
from ..usage import Usage
from .people import Who
from .vocabulary import (
    CERTIFY,
    EX_APPROVED,
    EXCEPTION,
    OPEN,
    REVIEWER_RULES,
    REVOKE,
    SCOPE_KINDS,
    SKIPPED,
    norm,
    utc_today,
)


@dataclass(frozen=True)
class Scope:
    """Which grants a campaign reviews: a kind, narrowed by optional filters."""

    kind: str = "production"  # production | conflicts | drift | leavers | movers | unused | emergency | all
    systems: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    unused_days: int = 90  # scope "unused": production grants with no use seen for this many days

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise InputError(f"scope {self.kind!r}: expected one of {', '.join(SCOPE_KINDS)}")
        if self.unused_days < 1:
            raise InputError(f"unused days {self.unused_days}: expected at least 1")

    def describe(self) -> str:
        text = {"production": "all production grants", "conflicts": "grants in a conflict",
                "drift": "production grants new since the last closed campaign",
                "leavers": "every grant of people the roster says have left",
                "movers": "grants movers keep from their old team",
                "unused": f"production grants unused for {self.unused_days} days or more",
                "emergency": "each use of a declared emergency path in the snapshot's activity period",
                "all": "all grants"}[self.kind]
        for label, values in (("system", self.systems), ("app", self.apps), ("team", self.teams),
                              ("person", self.people)):
            if values:
                text += f", {label} {'/'.join(values)}"
        return text

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "systems": list(self.systems), "apps": list(self.apps),
               "teams": list(self.teams), "people": list(self.people)}
        if self.kind == "unused":
            out["unused_days"] = self.unused_days
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Scope":
        return cls(kind=data.get("kind", "production"), systems=tuple(data.get("systems", ())),
                   apps=tuple(data.get("apps", ())), teams=tuple(data.get("teams", ())),
                   people=tuple(data.get("people", ())), unused_days=int(data.get("unused_days", 90)))


@dataclass(frozen=True)
class ReviewerRules:
    """Who reviews an item: the first rule that names someone other than its subject."""

    rules: tuple[str, ...] = ("app-owner", "team-maintainer")
    fixed: tuple[str, ...] = ()
    fallback: str = ""

    def __post_init__(self) -> None:
        for rule in self.rules:
            if rule not in REVIEWER_RULES:
                raise InputError(f"reviewer rule {rule!r}: expected one of {', '.join(REVIEWER_RULES)}")
        if "fixed" in self.rules and not self.fixed:
            raise InputError("reviewer rule 'fixed' needs a list of reviewers (fixed_reviewers / --reviewer)")

    def to_json(self) -> dict[str, Any]:
        return {"rules": list(self.rules), "fixed": list(self.fixed), "fallback": self.fallback}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ReviewerRules":
        return cls(rules=tuple(data.get("rules", ())), fixed=tuple(data.get("fixed", ())),
                   fallback=data.get("fallback", ""))


@dataclass(frozen=True)
class Policy:
    """Rules frozen into a campaign when it is created, so a config edit cannot change them midway."""

    close_policy: str = "revoke"  # revoke | skip: what pending items become on a forced close
    exception_max_days: int = 365
    exception_approvers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"close_policy": self.close_policy, "exception_max_days": self.exception_max_days,
                "exception_approvers": list(self.exception_approvers)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Policy":
        return cls(close_policy=data.get("close_policy", "revoke"),
                   exception_max_days=int(data.get("exception_max_days", 365)),
                   exception_approvers=tuple(data.get("exception_approvers", ())))


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    scope: Scope = field(default_factory=Scope)
    reviewers: ReviewerRules = field(default_factory=ReviewerRules)
    due: date | None = None
    policy: Policy = field(default_factory=Policy)
    template: str | None = None
    period: str | None = None


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    snapshot_id: int
    snapshot_digest: str
    scope: Scope
    reviewers: ReviewerRules
    policy: Policy
    status: str
    created_at: str
    created_by: str
    due: date
    template: str | None = None
    period: str | None = None
    baseline_snapshot_id: int | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    people_frozen: bool = True  # false: created before identities were frozen with campaigns
    # (reviewer, how many items name them), sorted, of a campaign this process has just created,
    # as its items were written (all pending); None otherwise (`campaigns.created_counts`)
    created_items: tuple[tuple[str, int], ...] | None = field(default=None, compare=False)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def overdue(self, today: date | None = None) -> bool:
        return self.is_open and (today or utc_today()) > self.due


@dataclass(frozen=True)
class ConflictRef:
    """A conflict finding an item takes part in."""

    id: str
    rule: str
    title: str
    severity: str
    scope: str


@dataclass(frozen=True)
class PreviousDecision:
    """The last final decision on the same person and grant in an earlier campaign."""

    campaign_id: int
    campaign_name: str
    decision: str
    by: str
    at: str
    unchanged: bool  # same grant, same path, same capabilities as then

    def describe(self) -> str:
        verb = {CERTIFY: "certified", REVOKE: "revoked", EXCEPTION: "excepted", SKIPPED: "skipped"}.get(
            self.decision, self.decision)
        text = f"{verb} {self.at[:10]} by {self.by} (campaign {self.campaign_id})"
        return text + ("; unchanged since" if self.unchanged else "; changed since")


@dataclass(frozen=True)
class Item:
    """One person's grant, frozen from the campaign's snapshot, with its review state."""

    id: int
    campaign_id: int
    grant_key: str
    person: str
    person_name: str
    accounts: tuple[str, ...]
    system: str
    principal: str
    principal_name: str
    entitlement: str
    resource: str
    resource_name: str
    tier: str
    app: str
    capabilities: tuple[str, ...]
    via: str
    detail: str
    condition: str
    expires: str | None
    last_used: str | None
    path: tuple[str, ...]
    teams: tuple[str, ...]
    conflicts: tuple[ConflictRef, ...]
    holders: int  # other people who hold the same grant
    is_new: bool  # not held in the baseline snapshot: the drift badge
    previous: PreviousDecision | None
    fingerprint: str
    reviewer: str
    reviewer_rule: str
    state: str
    decision_id: int | None
    decided_by: str | None
    decided_at: str | None
    version: int
    reviewer_key: str = ""  # the person the reviewer resolves to (folded)
    # what the roster said of the person when the campaign was created ("" without a roster)
    person_status: str = ""
    person_manager: str = ""
    person_department: str = ""
    usage: Usage = field(default_factory=Usage)  # last use and its evidence, frozen at planning

    @property
    def label(self) -> str:
        return f"{self.entitlement} on {self.resource_name or self.resource}"

    @property
    def person_left(self) -> bool:
        return self.person_status in RosterStatus.LEAVERS

    @property
    def unchanged_since_certified(self) -> bool:
        return bool(self.previous and self.previous.unchanged and self.previous.decision == CERTIFY)

    def is_about(self, who: "str | Who") -> bool:
        """Is ``who`` the subject of this item: a spelling (person or account key) as it is, or a
        resolved `Who` naming the subject (through any linked account or alias)?"""
        subject = {norm(self.person), *(norm(a) for a in self.accounts)}
        if isinstance(who, Who):
            return bool(who.key) and (who.key in subject or bool(who.people & subject))
        key = norm(who)
        return bool(key) and key in subject


@dataclass(frozen=True)
class Decision:
    id: int
    campaign_id: int
    item_id: int
    decision: str  # certify | revoke | defer | exception | skipped
    reason: str
    actor: str
    at: str
    reviewer_conflicted: bool
    conflict_note: str
    by_policy: bool
    bulk: str | None
    prior_state: str
    prior_decision_id: int | None
    undone_by: str | None
    undone_at: str | None
    audit_seq: int | None
    actor_key: str = ""  # the person the actor resolves to (folded)

    @property
    def undone(self) -> bool:
        return self.undone_by is not None


@dataclass(frozen=True)
class ExceptionRequest:
    """An `exception` decision: counts (as a waiver) only once a second person approves it."""

    id: int
    campaign_id: int
    item_id: int
    decision_id: int
    person: str
    covers: tuple[tuple[str, str], ...]  # (rule, scope) of each conflict it waives
    reason: str
    expires: date
    requested_by: str
    requested_at: str
    status: str  # pending | approved | rejected | withdrawn | lapsed
    approver: str | None
    approved_at: str | None
    resolution_note: str
    requested_by_key: str = ""
    approver_key: str | None = None

    def counts(self, today: date | None = None) -> bool:
        return self.status == EX_APPROVED and self.expires >= (today or utc_today())

    def waivers(self) -> list[Waiver]:
        return [Waiver(rule=rule, person=self.person, scope=scope, reason=self.reason, expires=self.expires,
                       approver=self.approver or "", requested_by=self.requested_by,
                       ticket=f"exception {self.id}",
                       source=f"campaign {self.campaign_id}, item {self.item_id}, exception {self.id}")
                for rule, scope in self.covers]


@dataclass(frozen=True)
class Note:
    id: int
    item_id: int
    actor: str
    at: str
    text: str


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    certified: int
    revoked: int
    deferred: int
    exception_waiting: int  # an exception awaiting its second approver
    excepted: int  # approved exceptions
    skipped: int

    @property
    def done(self) -> int:
        return self.certified + self.revoked + self.excepted + self.skipped

    @property
    def unresolved(self) -> int:
        return self.total - self.done

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "pending": self.pending, "certified": self.certified,
                "revoked": self.revoked, "deferred": self.deferred, "exception_waiting": self.exception_waiting,
                "excepted": self.excepted, "skipped": self.skipped}


@dataclass(frozen=True)
class Outcome:
    """What one decision did: the item after it, the decision row, and warnings to show."""

    item: Item
    decision: Decision | None
    warnings: tuple[str, ...] = ()
    exception: ExceptionRequest | None = None


@dataclass(frozen=True)
class BulkOutcome:
    bulk: str
    done: tuple[Outcome, ...]
    refused: tuple[tuple[int, str], ...]  # (item id, why)
    skipped: tuple[tuple[int, str], ...] = ()  # (item id, its state): already decided, left alone

    def summary(self) -> str:
        """"9 decided, 1 skipped (already decided), 0 refused"."""
        return f"{len(self.done)} decided, {len(self.skipped)} skipped (already decided), {len(self.refused)} refused"

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(w for o in self.done for w in o.warnings)


@dataclass(frozen=True)
class FollowUp:
    """Revocation follow-through of one revoked item across later snapshots."""

    item_id: int
    campaign_id: int
    state: str  # pending | verified | regressed
    gone_in: int | None  # first later snapshot without the grant
    back_in: int | None  # snapshot where it came back after being gone
    last_checked: int | None
    unknown_in: tuple[int, ...] = ()  # snapshots whose gaps leave it unknown


FOLLOW_STATES = ("pending", "verified", "regressed")


@dataclass(frozen=True)
class CampaignFinding:
    """A conflict finding frozen when the campaign was created, with its subject."""

    id: str
    rule: str
    title: str
    severity: str
    person: str
    scope: str
    covered: bool  # an exception covered it when the campaign was created


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    progress: Progress
    follow_through: Mapping[str, int]
    exceptions_waiting: int


# ---------------------------------------------------------------- from store rows


def campaign_of(row: Any) -> Campaign:
    return Campaign(
        id=row.id, name=row.name, snapshot_id=row.snapshot_id, snapshot_digest=row.snapshot_digest,
        scope=Scope.from_json(json.loads(row.scope)), reviewers=ReviewerRules.from_json(json.loads(row.reviewer_rules)),
        policy=Policy.from_json(json.loads(row.policy)), status=row.status, created_at=row.created_at,
        created_by=row.created_by, due=date.fromisoformat(row.due), template=row.template, period=row.period,
        baseline_snapshot_id=row.baseline_snapshot_id, closed_at=row.closed_at, closed_by=row.closed_by,
        close_reason=row.close_reason, people_frozen=bool(row.people_frozen),
    )


def item_of(row: Any) -> Item:
    previous = None
    if row.previous:
        p = json.loads(row.previous)
        previous = PreviousDecision(campaign_id=p["campaign_id"], campaign_name=p["campaign_name"],
                                    decision=p["decision"], by=p["by"], at=p["at"], unchanged=p["unchanged"])
    return Item(
        id=row.id, campaign_id=row.campaign_id, grant_key=row.grant_key, person=row.person,
        person_name=row.person_name, accounts=tuple(json.loads(row.accounts)), system=row.system,
        principal=row.principal, principal_name=row.principal_name, entitlement=row.entitlement,
        resource=row.resource, resource_name=row.resource_name, tier=row.tier, app=row.app,
        capabilities=tuple(row.capabilities.split()) if row.capabilities else (), via=row.via, detail=row.detail,
        condition=row.condition, expires=row.expires, last_used=row.last_used, path=tuple(json.loads(row.path)),
        teams=tuple(json.loads(row.teams)), conflicts=tuple(ConflictRef(**c) for c in json.loads(row.conflicts)),
        holders=row.holders, is_new=bool(row.is_new), previous=previous, fingerprint=row.fingerprint,
        reviewer=row.reviewer, reviewer_rule=row.reviewer_rule, state=row.state, decision_id=row.decision_id,
        decided_by=row.decided_by, decided_at=row.decided_at, version=row.version, reviewer_key=row.reviewer_key,
        person_status=row.person_status, person_manager=row.person_manager, person_department=row.person_department,
        usage=Usage.from_json(getattr(row, "usage", ""), row.last_used),
    )


@lru_cache(maxsize=1 << 14)
def _strings(text: str) -> tuple[str, ...]:
    """A JSON list of strings as stored (accounts, teams): the same few recur on many items."""
    return tuple(json.loads(text))


@lru_cache(maxsize=1 << 12)
def _conflicts(text: str) -> tuple[ConflictRef, ...]:
    return tuple(ConflictRef(**c) for c in json.loads(text))


@lru_cache(maxsize=1 << 12)
def _usage(text: str, last_used: str | None) -> Usage:
    return Usage.from_json(text, last_used)


def items_of(names: Sequence[str], values: Iterable[Sequence[Any]]) -> list[Item]:
    """`item_of` for many rows given as plain tuples (``names``: their columns): what many items
    share (a person's accounts, a route's teams, a usage, a conflict list) is decoded once."""
    loads = json.loads
    out = []
    for row in values:
        v = dict(zip(names, row))
        previous = None
        if v["previous"]:
            p = loads(v["previous"])
            previous = PreviousDecision(campaign_id=p["campaign_id"], campaign_name=p["campaign_name"],
                                        decision=p["decision"], by=p["by"], at=p["at"], unchanged=p["unchanged"])
        capabilities = v["capabilities"]
        out.append(Item(
            id=v["id"], campaign_id=v["campaign_id"], grant_key=v["grant_key"], person=v["person"],
            person_name=v["person_name"], accounts=_strings(v["accounts"]), system=v["system"],
            principal=v["principal"], principal_name=v["principal_name"], entitlement=v["entitlement"],
            resource=v["resource"], resource_name=v["resource_name"], tier=v["tier"], app=v["app"],
            capabilities=tuple(capabilities.split()) if capabilities else (), via=v["via"], detail=v["detail"],
            condition=v["condition"], expires=v["expires"], last_used=v["last_used"], path=tuple(loads(v["path"])),
            teams=_strings(v["teams"]), conflicts=_conflicts(v["conflicts"]) if v["conflicts"] != "[]" else (),
            holders=v["holders"], is_new=bool(v["is_new"]), previous=previous, fingerprint=v["fingerprint"],
            reviewer=v["reviewer"], reviewer_rule=v["reviewer_rule"], state=v["state"], decision_id=v["decision_id"],
            decided_by=v["decided_by"], decided_at=v["decided_at"], version=v["version"],
            reviewer_key=v["reviewer_key"], person_status=v["person_status"], person_manager=v["person_manager"],
            person_department=v["person_department"], usage=_usage(v["usage"] or "", v["last_used"]),
        ))
    return out


def decision_of(row: Any) -> Decision:
    return Decision(
        id=row.id, campaign_id=row.campaign_id, item_id=row.item_id, decision=row.decision, reason=row.reason,
        actor=row.actor, at=row.at, reviewer_conflicted=bool(row.reviewer_conflicted),
        conflict_note=row.conflict_note, by_policy=bool(row.by_policy), bulk=row.bulk, prior_state=row.prior_state,
        prior_decision_id=row.prior_decision_id, undone_by=row.undone_by, undone_at=row.undone_at,
        audit_seq=row.audit_seq, actor_key=row.actor_key,
    )


def exception_of(row: Any) -> ExceptionRequest:
    return ExceptionRequest(
        id=row.id, campaign_id=row.campaign_id, item_id=row.item_id, decision_id=row.decision_id,
        person=row.person, covers=tuple((c[0], c[1]) for c in json.loads(row.covers)), reason=row.reason,
        expires=date.fromisoformat(row.expires), requested_by=row.requested_by, requested_at=row.requested_at,
        status=row.status, approver=row.approver, approved_at=row.approved_at,
        resolution_note=row.resolution_note, requested_by_key=row.requested_by_key, approver_key=row.approver_key,
    )
