"""Recertification campaigns: scopes, reviewer assignment, items frozen from a snapshot,
decisions, exceptions with a second approver, independence guards and revocation follow-through.

Every decision is its own committed transaction that also appends to the audit log, so a
review killed halfway loses nothing already decided. Readers for exports are at the end.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from . import audit
from .analysis import Analysis, analyze
from .config import CampaignTemplate, Config
from .errors import ConfigError, FoureyesError, InputError, NotFound
from .graph import Graph, Holding, Step
from .identity import Identities, link
from .model import EdgeKind, Grant, Kind, Snapshot
from .rules import Waiver
from .rules.engine import satisfies, scopes_of  # the engine's own test of "holding counts for rule"
from .store import Store, now_iso
from .store import schema as t

# ---------------------------------------------------------------- vocabulary

CERTIFY, REVOKE, DEFER, EXCEPTION = "certify", "revoke", "defer", "exception"
DECISIONS: tuple[str, ...] = (CERTIFY, REVOKE, DEFER, EXCEPTION)
PENDING, SKIPPED = "pending", "skipped"
STATES: tuple[str, ...] = (PENDING, CERTIFY, REVOKE, DEFER, EXCEPTION, SKIPPED)

SCOPE_KINDS = ("production", "conflicts", "drift", "all")
REVIEWER_RULES = ("app-owner", "team-maintainer", "fixed")
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


class StaleItem(ReviewError):
    """The item changed after the reviewer loaded it (another reviewer decided it)."""


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Scope:
    """Which grants a campaign reviews: a kind, narrowed by optional filters."""

    kind: str = "production"  # production | conflicts | drift | all
    systems: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise InputError(f"scope {self.kind!r}: expected one of {', '.join(SCOPE_KINDS)}")

    def describe(self) -> str:
        text = {"production": "all production grants", "conflicts": "grants in a conflict",
                "drift": "production grants new since the last closed campaign", "all": "all grants"}[self.kind]
        for label, values in (("system", self.systems), ("app", self.apps), ("team", self.teams),
                              ("person", self.people)):
            if values:
                text += f", {label} {'/'.join(values)}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "systems": list(self.systems), "apps": list(self.apps),
                "teams": list(self.teams), "people": list(self.people)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Scope":
        return cls(kind=data.get("kind", "production"), systems=tuple(data.get("systems", ())),
                   apps=tuple(data.get("apps", ())), teams=tuple(data.get("teams", ())),
                   people=tuple(data.get("people", ())))


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

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def overdue(self, today: date | None = None) -> bool:
        return self.is_open and (today or _today()) > self.due


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

    @property
    def label(self) -> str:
        return f"{self.entitlement} on {self.resource_name or self.resource}"

    @property
    def unchanged_since_certified(self) -> bool:
        return bool(self.previous and self.previous.unchanged and self.previous.decision == CERTIFY)

    def is_about(self, who: str) -> bool:
        """Is ``who`` (a person key or an account key) the subject of this item?"""
        key = _norm(who)
        return bool(key) and (key == _norm(self.person) or key in {_norm(a) for a in self.accounts})


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

    def counts(self, today: date | None = None) -> bool:
        return self.status == EX_APPROVED and self.expires >= (today or _today())

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


# ---------------------------------------------------------------- small helpers


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _norm(who: str | None) -> str:
    return (who or "").strip().casefold()


def _actor(who: str) -> str:
    actor = (who or "").strip()
    if not actor:
        raise ReviewError("say who you are: --as REVIEWER (a person's email)")
    return actor.lower() if "@" in actor else actor


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _period(recurrence: str, today: date) -> str:
    if recurrence == "monthly":
        return f"{today.year}-{today.month:02d}"
    if recurrence == "quarterly":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    if recurrence == "yearly":
        return str(today.year)
    return today.isoformat()


# ---------------------------------------------------------------- planning (pure)


@dataclass(frozen=True)
class ItemDraft:
    """An item before it is stored: everything the reviewer will see, frozen."""

    grant: Grant
    person: str
    person_name: str
    accounts: tuple[str, ...]
    principal_name: str
    resource_name: str
    tier: str
    app: str
    path: tuple[str, ...]
    teams: tuple[str, ...]
    conflicts: tuple[ConflictRef, ...]
    holders: int
    is_new: bool
    fingerprint: str
    reviewer: str = ""
    reviewer_rule: str = ""
    previous: PreviousDecision | None = None


def _explanations(graph: Graph, person: str,
                  grants: Mapping[str, Grant]) -> dict[str, tuple[tuple[Step, ...], list[Holding]]]:
    """For each grant the person reaches: an explaining path, and the holdings the grant gives.

    A holding's own shortest path ends in one grant; only when another reached grant gives
    the same capability on the same resource are the holding's other routes enumerated
    (`Graph.paths` is costly on a large organisation).
    """
    holdings = graph.holdings(person)
    primary: dict[str, list[Holding]] = defaultdict(list)
    by_target: dict[tuple[str, str], list[Holding]] = defaultdict(list)
    for holding in holdings:
        primary[holding.grant].append(holding)
        by_target[(holding.resource, holding.capability)].append(holding)
    routes_of: dict[tuple[str, str, str, str], list[tuple[Step, ...]]] = {}
    out: dict[str, tuple[tuple[Step, ...], list[Holding]]] = {}
    for key, grant in grants.items():
        explained = list(primary.get(key, ()))
        route: tuple[Step, ...] = graph.path(explained[0]) if explained else ()
        for capability in grant.capabilities:
            for holding in by_target.get((grant.resource, capability), ()):
                if holding.grant == key or holding in explained:
                    continue
                if holding.key not in routes_of:
                    routes_of[holding.key] = graph.paths(holding, limit=64)
                through = [r for r in routes_of[holding.key] if any(s.kind == "grant" and s.key == key for s in r)]
                if through:
                    explained.append(holding)
                    shortest = min(through, key=len)
                    if not route or len(shortest) < len(route):
                        route = shortest
        out[key] = (route, explained)
    return out


def held_pairs(snapshot: Snapshot, identities: Identities, graph: Graph | None = None) -> set[tuple[str, str]]:
    """(person, grant key) for every capability-conferring grant every person reaches."""
    graph = graph or Graph(snapshot, identities)
    return {(person.key, key) for person in identities.people.values()
            for key in graph.reachable_grants(a.principal for a in person.accounts)}


def _fingerprint(grant: Grant, route: Sequence[Step]) -> str:
    data = [grant.key, sorted(grant.capabilities), [[s.kind, s.key] for s in route], grant.condition,
            grant.expires or ""]
    return hashlib.sha256(_dumps(data).encode()).hexdigest()


def plan_items(
    analysis: Analysis,
    config: Config,
    scope: Scope,
    reviewers: ReviewerRules,
    *,
    baseline: set[tuple[str, str]] | None = None,
    previous: Mapping[tuple[str, str], tuple[PreviousDecision, str]] | None = None,
) -> list[ItemDraft]:
    """The items of a campaign on one analysed snapshot: pure, no store access.

    ``baseline`` is the (person, grant) pairs of the snapshot new grants are measured
    against; ``previous`` maps (person, grant) to an earlier decision and its fingerprint.
    """
    snapshot, graph, identities = analysis.snapshot, analysis.graph, analysis.identities
    repo_app = {r.id: r.app for r in snapshot.resources.values() if r.system == "github" and r.kind == "repo"}
    findings_of: dict[str, list[Any]] = defaultdict(list)
    for finding in analysis.findings:
        if finding.person and finding.rule.kind == "conflict":
            findings_of[finding.person].append(finding)
    reach: dict[str, dict[str, Grant]] = {
        p.key: graph.reachable_grants(a.principal for a in p.accounts) for p in identities.people.values()
    }
    holders = Counter(key for grants in reach.values() for key in grants)
    members: set[str] | None = None
    if scope.teams:
        members = set().union(*(graph.team_members(team) for team in scope.teams))
    people_filter = {_norm(p) for p in scope.people}
    systems = set(scope.systems)
    maintainers = graph.team_maintainers() if "team-maintainer" in reviewers.rules else {}
    drafts: list[ItemDraft] = []
    for person in identities.people.values():
        grants = reach[person.key]
        if not grants:
            continue
        accounts = tuple(a.principal for a in person.accounts)
        if members is not None and person.key not in members:
            continue
        if people_filter and _norm(person.key) not in people_filter and not (
                people_filter & {_norm(a) for a in accounts}):
            continue
        # the cheap filters first: explaining a grant (its path) is the costly part
        wanted: dict[str, Grant] = {}
        for key, grant in grants.items():
            resource = snapshot.resources.get(grant.resource)
            if scope.kind in ("production", "drift") and (resource.tier if resource else "") != PRODUCTION:
                continue
            if scope.kind == "drift" and baseline is not None and (person.key, key) in baseline:
                continue
            if systems and not systems & {grant.system, grant.resource.split(":", 1)[0]}:
                continue
            if scope.apps and resource is not None and resource.app and resource.app not in scope.apps:
                continue
            wanted[key] = grant
        explained = _explanations(graph, person.key, wanted)
        for key in sorted(wanted, key=lambda k: (wanted[k].resource, wanted[k].entitlement, k)):
            grant = wanted[key]
            resource = snapshot.resources.get(grant.resource)
            route, holdings = explained.get(key, ((), []))
            if not holdings:  # more routes than paths() lists: explain by the holdings it gives
                holdings = [h for h in graph.holdings(person.key)
                            if h.resource == grant.resource and h.capability in grant.capabilities]
                route = graph.path(holdings[0]) if holdings else ()
            tier = resource.tier if resource else ""
            app = (resource.app if resource else "") or next((h.app for h in holdings if h.app), "")
            is_new = baseline is not None and (person.key, key) not in baseline
            if scope.apps and app not in scope.apps:
                continue
            conflicts = tuple(
                ConflictRef(f.id, f.rule.id, f.rule.title, f.rule.severity, f.scope)
                for f in findings_of.get(person.key, ())
                if any(satisfies(h, req) and f.scope in scopes_of(h, f.rule.same, repo_app)
                       for h in holdings for req in f.rule.requirements)
            )
            if scope.kind == "conflicts" and not conflicts:
                continue
            principal = snapshot.principals.get(grant.principal)
            teams = tuple(dict.fromkeys(
                s.key for s in route
                if s.kind == EdgeKind.MEMBER_OF and getattr(snapshot.principals.get(s.key), "kind", "") == Kind.TEAM
            ))
            if principal is not None and principal.kind == Kind.TEAM and grant.principal not in teams:
                teams = teams + (grant.principal,)
            drafts.append(ItemDraft(
                grant=grant, person=person.key, person_name=person.display_name, accounts=accounts,
                principal_name=principal.label if principal else grant.principal,
                resource_name=resource.label if resource else grant.resource, tier=tier, app=app,
                path=tuple(str(s) for s in route), teams=teams, conflicts=conflicts,
                holders=holders[key] - 1, is_new=is_new, fingerprint=_fingerprint(grant, route),
            ))
    assigned = _assign(drafts, config, reviewers, maintainers)
    if previous:
        assigned = [_with_previous(d, previous) for d in assigned]
    return assigned


def _with_previous(draft: ItemDraft, previous: Mapping[tuple[str, str], tuple[PreviousDecision, str]]) -> ItemDraft:
    found = previous.get((draft.person, draft.grant.key))
    if found is None:
        return draft
    decision, fingerprint = found
    return replace(draft, previous=replace(decision, unchanged=fingerprint == draft.fingerprint))


def _assign(drafts: list[ItemDraft], config: Config, reviewers: ReviewerRules,
            maintainers: Mapping[str, list[str]]) -> list[ItemDraft]:
    """The first rule that names someone other than the item's subject reviews it."""
    rotation = 0
    out = []
    for draft in drafts:
        def eligible(candidate: str) -> bool:
            key = _norm(candidate)
            return bool(key) and key != _norm(draft.person) and key not in {_norm(a) for a in draft.accounts}

        chosen, why = "", ""
        for rule in reviewers.rules:
            if rule == "app-owner" and draft.app:
                app = config.app(draft.app)
                if app and app.owner and eligible(app.owner):
                    chosen, why = app.owner.strip().lower(), f"owner of app {draft.app}"
            elif rule == "team-maintainer":
                for team in reversed(draft.teams):  # the team that holds the grant first
                    candidates = [m for m in maintainers.get(team, ()) if eligible(m)]
                    if candidates:
                        chosen, why = candidates[0], f"maintainer of team {team.rsplit('/', 1)[-1]}"
                        break
            elif rule == "fixed":
                candidates = [r.strip().lower() for r in reviewers.fixed if eligible(r)]
                if candidates:
                    chosen, why = candidates[rotation % len(candidates)], "fixed reviewer list"
                    rotation += 1
            if chosen:
                break
        if not chosen and reviewers.fallback and eligible(reviewers.fallback):
            chosen, why = reviewers.fallback.strip().lower(), "fallback reviewer"
        if not chosen:
            why = "unassigned: every candidate reviewer is the subject"
        out.append(replace(draft, reviewer=chosen, reviewer_rule=why))
    return out


# ---------------------------------------------------------------- creating campaigns


def spec_from_config(config: Config, *, name: str, scope: Scope | None = None,
                     reviewers: ReviewerRules | None = None, due: date | None = None,
                     close_policy: str | None = None, today: date | None = None) -> CampaignSpec:
    """A campaign spec with [campaigns] defaults for whatever is not given."""
    c = config.campaigns
    if c.due_days < 0:
        raise ConfigError(config.path or "<config>", "must not be negative", key="campaigns.due_days")
    if c.exception_max_days < 1:
        raise ConfigError(config.path or "<config>", "must be at least 1", key="campaigns.exception_max_days")
    return CampaignSpec(
        name=name,
        scope=scope or Scope(),
        reviewers=reviewers or ReviewerRules(rules=tuple(c.reviewers), fallback=c.fallback_reviewer.strip().lower()),
        due=due or (today or _today()) + timedelta(days=c.due_days),
        policy=Policy(close_policy=close_policy or c.close_policy, exception_max_days=c.exception_max_days,
                      exception_approvers=tuple(a.strip().lower() for a in c.exception_approvers)),
    )


def spec_from_template(config: Config, template_name: str, *, today: date | None = None) -> CampaignSpec:
    templates = config.campaigns.templates
    template: CampaignTemplate | None = templates.get(template_name)
    if template is None:
        known = ", ".join(sorted(templates)) or "none are configured"
        raise InputError(f"campaign template {template_name!r} is not in [campaigns.templates] ({known})")
    if template.due_days < 0:
        raise ConfigError(config.path or "<config>", "must not be negative",
                          key=f"campaigns.templates.{template_name}.due_days")
    day = today or _today()
    period = _period(template.recurrence, day)
    name = template.name.replace("{period}", period).replace("{date}", day.isoformat())
    base = spec_from_config(config, name=name, today=day)
    try:
        reviewers = ReviewerRules(
            rules=tuple(template.reviewers), fixed=tuple(r.strip().lower() for r in template.fixed_reviewers),
            fallback=(template.fallback_reviewer or config.campaigns.fallback_reviewer).strip().lower())
    except InputError as exc:
        raise ConfigError(config.path or "<config>", str(exc), key=f"campaigns.templates.{template_name}.reviewers")
    return replace(
        base,
        scope=Scope(kind=template.scope, systems=tuple(template.systems), apps=tuple(template.apps),
                    teams=tuple(template.teams), people=tuple(template.people)),
        reviewers=reviewers,
        due=day + timedelta(days=template.due_days),
        policy=replace(base.policy, close_policy=template.close_policy or base.policy.close_policy),
        template=template_name,
        period=period if template.recurrence != "none" else None,
    )


def create_campaign(store: Store, config: Config, spec: CampaignSpec, *, actor: str,
                    snapshot_id: int | None = None, today: date | None = None) -> Campaign:
    """Freeze the items of ``spec`` from a snapshot (default: the latest) into a new campaign."""
    return _create(store, config, spec, actor=actor, snapshot_id=snapshot_id, today=today)[0]


def create_from_template(store: Store, config: Config, template_name: str, *, actor: str,
                         snapshot_id: int | None = None, today: date | None = None) -> tuple[Campaign, bool]:
    """Create this period's campaign of a template, or return the one that exists (safe to run from cron).

    Returns the campaign and whether it was created now.
    """
    spec = spec_from_template(config, template_name, today=today)
    if spec.period:
        existing = find_campaign(store, template=template_name, period=spec.period)
        if existing is not None:
            return existing, False
    return _create(store, config, spec, actor=actor, snapshot_id=snapshot_id, today=today)


def _create(store: Store, config: Config, spec: CampaignSpec, *, actor: str, snapshot_id: int | None,
            today: date | None) -> tuple[Campaign, bool]:
    actor = _actor(actor)
    if not spec.name.strip():
        raise InputError("a campaign needs a name")
    if spec.policy.close_policy not in CLOSE_POLICIES:
        raise InputError(f"close policy {spec.policy.close_policy!r}: expected revoke or skip")
    sid = store.resolve(snapshot_id)
    info = store.snapshot_info(sid)
    snapshot = store.load_snapshot(sid)
    analysis = analyze(snapshot, config, extra_waivers=approved_waivers(store, today=today), today=today)
    baseline_id = _baseline_snapshot(store, sid, drift=spec.scope.kind == "drift")
    baseline = None
    if baseline_id is not None:
        base_snapshot = store.load_snapshot(baseline_id)
        baseline = held_pairs(base_snapshot, link(base_snapshot, config))
    drafts = plan_items(analysis, config, spec.scope, spec.reviewers, baseline=baseline,
                        previous=_previous_decisions(store))
    created = now_iso()
    due = spec.due or (today or _today()) + timedelta(days=config.campaigns.due_days)

    def work(conn: Connection) -> int:
        campaign_id = conn.execute(t.campaigns.insert().values(
            name=spec.name.strip(), snapshot_id=sid, snapshot_digest=info.digest,
            scope=_dumps(spec.scope.to_json()), reviewer_rules=_dumps(spec.reviewers.to_json()),
            policy=_dumps(spec.policy.to_json()), status=OPEN, created_at=created, created_by=actor,
            due=due.isoformat(), template=spec.template, period=spec.period, baseline_snapshot_id=baseline_id,
        )).inserted_primary_key[0]
        rows = [_draft_row(campaign_id, d) for d in drafts]
        for start in range(0, len(rows), 2000):
            conn.execute(t.campaign_items.insert(), rows[start:start + 2000])
        findings = [
            {"campaign_id": campaign_id, "finding_id": f.id, "rule": f.rule.id, "person": f.person,
             "scope": f.scope, "severity": f.rule.severity, "title": f.rule.title, "covered": f.covered}
            for f in analysis.findings if f.person and f.rule.kind == "conflict"
        ]
        if findings:
            conn.execute(t.campaign_findings.insert(), findings)
        audit.append(conn, actor=actor, action="campaign.new", campaign_id=campaign_id,
                     snapshot_digest=info.digest,
                     detail={"name": spec.name.strip(), "snapshot": sid, "scope": spec.scope.to_json(),
                             "reviewers": spec.reviewers.to_json(), "policy": spec.policy.to_json(),
                             "due": due.isoformat(), "items": len(rows), "template": spec.template,
                             "period": spec.period, "baseline_snapshot": baseline_id})
        return campaign_id

    try:
        campaign_id = audit.run(store, work)
    except IntegrityError:
        # another cron run created this period's campaign between our check and our insert
        if spec.template and spec.period:
            existing = find_campaign(store, template=spec.template, period=spec.period)
            if existing is not None:
                return existing, False
        raise
    return get_campaign(store, campaign_id), True


def _baseline_snapshot(store: Store, snapshot_id: int, *, drift: bool) -> int | None:
    """What new grants are measured against: the last closed campaign's snapshot, else the previous one."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(t.campaigns.c.snapshot_id).where(t.campaigns.c.status == CLOSED,
                                                    t.campaigns.c.snapshot_id <= snapshot_id)
            .order_by(t.campaigns.c.closed_at.desc(), t.campaigns.c.id.desc()).limit(1)
        ).first()
    if row is not None:
        return row.snapshot_id
    if drift:
        raise ReviewError("scope 'drift' needs a closed campaign to measure against, and there is none yet; "
                          "run a campaign with scope 'production' first")
    return store.previous_id(snapshot_id)


def _previous_decisions(store: Store) -> dict[tuple[str, str], tuple[PreviousDecision, str]]:
    """(person, grant) -> the latest final decision in any earlier campaign, with that item's fingerprint."""
    final = (CERTIFY, REVOKE, EXCEPTION, SKIPPED)
    query = (
        select(t.campaign_items.c.person, t.campaign_items.c.grant_key, t.campaign_items.c.state,
               t.campaign_items.c.decided_by, t.campaign_items.c.decided_at, t.campaign_items.c.fingerprint,
               t.campaigns.c.id, t.campaigns.c.name)
        .join(t.campaigns, t.campaigns.c.id == t.campaign_items.c.campaign_id)
        .where(t.campaign_items.c.state.in_(final))
        .order_by(t.campaigns.c.id)
    )
    out: dict[tuple[str, str], tuple[PreviousDecision, str]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            out[(row.person, row.grant_key)] = (
                PreviousDecision(campaign_id=row.id, campaign_name=row.name, decision=row.state,
                                 by=row.decided_by or "", at=row.decided_at or "", unchanged=False),
                row.fingerprint,
            )
    return out


def _draft_row(campaign_id: int, d: ItemDraft) -> dict[str, Any]:
    g = d.grant
    previous = ""
    if d.previous is not None:
        p = d.previous
        previous = _dumps({"campaign_id": p.campaign_id, "campaign_name": p.campaign_name, "decision": p.decision,
                           "by": p.by, "at": p.at, "unchanged": p.unchanged})
    return {
        "campaign_id": campaign_id, "grant_key": g.key, "person": d.person, "person_name": d.person_name,
        "accounts": _dumps(list(d.accounts)), "system": g.system, "principal": g.principal,
        "principal_name": d.principal_name, "entitlement": g.entitlement, "resource": g.resource,
        "resource_name": d.resource_name, "tier": d.tier, "app": d.app, "capabilities": " ".join(g.capabilities),
        "via": g.via, "detail": g.detail, "condition": g.condition, "expires": g.expires,
        "last_used": g.last_used, "path": _dumps(list(d.path)), "teams": _dumps(list(d.teams)),
        "conflicts": _dumps([c.__dict__ for c in d.conflicts]), "holders": d.holders, "is_new": d.is_new,
        "previous": previous, "fingerprint": d.fingerprint, "reviewer": d.reviewer,
        "reviewer_rule": d.reviewer_rule, "state": PENDING, "decision_id": None, "decided_by": None,
        "decided_at": None, "version": 0,
    }


# ---------------------------------------------------------------- reading


def get_campaign(store: Store, campaign_id: int, conn: Connection | None = None) -> Campaign:
    def read(c: Connection) -> Any:
        return c.execute(select(t.campaigns).where(t.campaigns.c.id == campaign_id)).first()

    if conn is not None:
        row = read(conn)
    else:
        with store.engine.connect() as c:
            row = read(c)
    if row is None:
        raise NotFound(f"campaign {campaign_id} does not exist; `foureyes campaign list` lists them")
    return _campaign(row)


def find_campaign(store: Store, *, template: str, period: str) -> Campaign | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(t.campaigns).where(t.campaigns.c.template == template,
                                                     t.campaigns.c.period == period)).first()
    return _campaign(row) if row else None


def list_campaigns(store: Store, *, status: str | None = None) -> list[Campaign]:
    query = select(t.campaigns).order_by(t.campaigns.c.id)
    if status:
        query = query.where(t.campaigns.c.status == status)
    with store.engine.connect() as conn:
        return [_campaign(row) for row in conn.execute(query)]


def latest_open_campaign(store: Store) -> Campaign | None:
    opened = list_campaigns(store, status=OPEN)
    return opened[-1] if opened else None


def items(store: Store, campaign_id: int, *, reviewer: str | None = None,
          states: Iterable[str] | None = None) -> list[Item]:
    """A campaign's items in queue order (person, resource, entitlement)."""
    query = select(t.campaign_items).where(t.campaign_items.c.campaign_id == campaign_id)
    if states is not None:
        query = query.where(t.campaign_items.c.state.in_(list(states)))
    if reviewer is not None:
        query = query.where(func.lower(t.campaign_items.c.reviewer) == _norm(reviewer))
    query = query.order_by(t.campaign_items.c.person, t.campaign_items.c.resource, t.campaign_items.c.entitlement,
                           t.campaign_items.c.id)
    with store.engine.connect() as conn:
        return [_item(row) for row in conn.execute(query)]


def reviewer_queue(store: Store, campaign: Campaign, reviewer: str) -> list[Item]:
    """What a reviewer may decide: their items, or every item (not about them) for the fallback reviewer."""
    who = _norm(reviewer)
    if who and who == _norm(campaign.reviewers.fallback):
        return [i for i in items(store, campaign.id) if not i.is_about(who)]
    return items(store, campaign.id, reviewer=who)


def get_item(store: Store, item_id: int) -> Item:
    with store.engine.connect() as conn:
        row = conn.execute(select(t.campaign_items).where(t.campaign_items.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"item {item_id} does not exist; `foureyes campaign show ID --items` lists them")
    return _item(row)


def decisions(store: Store, *, campaign_id: int | None = None, item_id: int | None = None,
              include_undone: bool = True) -> list[Decision]:
    query = select(t.decisions).order_by(t.decisions.c.id)
    if campaign_id is not None:
        query = query.where(t.decisions.c.campaign_id == campaign_id)
    if item_id is not None:
        query = query.where(t.decisions.c.item_id == item_id)
    if not include_undone:
        query = query.where(t.decisions.c.undone_by.is_(None))
    with store.engine.connect() as conn:
        return [_decision(row) for row in conn.execute(query)]


def exceptions(store: Store, *, campaign_id: int | None = None, status: str | None = None,
               item_id: int | None = None) -> list[ExceptionRequest]:
    query = select(t.exceptions).order_by(t.exceptions.c.id)
    if campaign_id is not None:
        query = query.where(t.exceptions.c.campaign_id == campaign_id)
    if status is not None:
        query = query.where(t.exceptions.c.status == status)
    if item_id is not None:
        query = query.where(t.exceptions.c.item_id == item_id)
    with store.engine.connect() as conn:
        return [_exception(row) for row in conn.execute(query)]


def current_exception(store: Store, item_id: int) -> ExceptionRequest | None:
    """The item's exception that is pending or approved, if any."""
    found = [e for e in exceptions(store, item_id=item_id) if e.status in (EX_PENDING, EX_APPROVED)]
    return found[-1] if found else None


def approvable_by(store: Store, campaign: Campaign, actor: str) -> list[tuple[ExceptionRequest, Item]]:
    """Pending exceptions of a campaign that ``actor`` may approve: not requested by them, not
    about them, and ``actor`` is one of the campaign's approvers when it names any."""
    approvers = {_norm(a) for a in campaign.policy.exception_approvers}
    if approvers and _norm(actor) not in approvers:
        return []
    by_id = {i.id: i for i in items(store, campaign.id)}
    return [(e, by_id[e.item_id]) for e in exceptions(store, campaign_id=campaign.id, status=EX_PENDING)
            if e.item_id in by_id and _norm(e.requested_by) != _norm(actor) and not by_id[e.item_id].is_about(actor)]


def notes(store: Store, item_id: int) -> list[Note]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.item_notes).where(t.item_notes.c.item_id == item_id)
                            .order_by(t.item_notes.c.id)).all()
    return [Note(id=r.id, item_id=r.item_id, actor=r.actor, at=r.at, text=r.text) for r in rows]


def campaign_findings(store: Store, campaign_id: int, *, person: str | None = None) -> list[ConflictRef]:
    query = select(t.campaign_findings).where(t.campaign_findings.c.campaign_id == campaign_id)
    if person is not None:
        query = query.where(func.lower(t.campaign_findings.c.person) == _norm(person))
    with store.engine.connect() as conn:
        return [ConflictRef(r.finding_id, r.rule, r.title, r.severity, r.scope) for r in conn.execute(query)]


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


def campaign_finding_records(store: Store, campaign_id: int) -> list[CampaignFinding]:
    """Every conflict frozen into the campaign, ordered by rule, person and scope (evidence reports)."""
    query = (select(t.campaign_findings).where(t.campaign_findings.c.campaign_id == campaign_id)
             .order_by(t.campaign_findings.c.rule, t.campaign_findings.c.person, t.campaign_findings.c.scope))
    with store.engine.connect() as conn:
        return [CampaignFinding(r.finding_id, r.rule, r.title, r.severity, r.person, r.scope, bool(r.covered))
                for r in conn.execute(query)]


def progress(store: Store, campaign_id: int, *, reviewer: str | None = None) -> Progress:
    counts: Counter[str] = Counter()
    waiting = 0
    with store.engine.connect() as conn:
        query = select(t.campaign_items.c.state, t.campaign_items.c.id, t.campaign_items.c.reviewer) \
            .where(t.campaign_items.c.campaign_id == campaign_id)
        rows = [r for r in conn.execute(query) if reviewer is None or _norm(r.reviewer) == _norm(reviewer)]
        pending_ex = {r.item_id for r in conn.execute(
            select(t.exceptions.c.item_id).where(t.exceptions.c.campaign_id == campaign_id,
                                                 t.exceptions.c.status == EX_PENDING))}
    for row in rows:
        if row.state == EXCEPTION and row.id in pending_ex:
            waiting += 1
        else:
            counts[row.state] += 1
    return Progress(total=len(rows), pending=counts[PENDING], certified=counts[CERTIFY], revoked=counts[REVOKE],
                    deferred=counts[DEFER], exception_waiting=waiting, excepted=counts[EXCEPTION],
                    skipped=counts[SKIPPED])


def reviewer_counts(store: Store, campaign_id: int) -> dict[str, Counter[str]]:
    """Reviewer -> item states, for `campaign show`."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    with store.engine.connect() as conn:
        for row in conn.execute(select(t.campaign_items.c.reviewer, t.campaign_items.c.state)
                                .where(t.campaign_items.c.campaign_id == campaign_id)):
            out[row.reviewer][row.state] += 1
    return dict(out)


def approved_waivers(store: Store, *, today: date | None = None, include_expired: bool = False) -> list[Waiver]:
    """Approved campaign exceptions as waivers, for `analyze(extra_waivers=…)`: they count like file ones."""
    found = exceptions(store, status=EX_APPROVED)
    day = today or _today()
    return [w for e in found if include_expired or e.counts(day) for w in e.waivers()]


# ---------------------------------------------------------------- deciding


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
) -> Outcome:
    """Record one decision in its own transaction: checks, item update, decision row and audit entry."""
    actor = _actor(actor)
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r}: expected one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    day = today or _today()

    def work(conn: Connection) -> Outcome:
        item_row = conn.execute(select(t.campaign_items).where(t.campaign_items.c.id == item_id)).first()
        if item_row is None:
            raise NotFound(f"item {item_id} does not exist; `foureyes campaign show ID --items` lists them")
        campaign = _lock_campaign(conn, item_row.campaign_id, share=True)
        item = _item(_lock_item(conn, item_id))
        _check_may_decide(campaign, item, actor)
        if expect_version is not None and item.version != expect_version:
            by = f" ({item.state} by {item.decided_by})" if item.decided_by else ""
            raise StaleItem(f"item {item.id} changed since you loaded it{by}; reload and decide again")
        if decision == EXCEPTION:
            _check_exception_terms(campaign, reason, expires, day)
        warnings = []
        conflicted, conflict_note = _reviewer_conflict(conn, campaign, item, actor)
        if conflicted:
            warnings.append(f"{actor} holds the same conflicting combination ({conflict_note}) as "
                            f"{item.person}: the decision on item {item.id} is marked as made by a "
                            "conflicted reviewer")
        at = now_iso()
        _withdraw_open_exception(conn, item.id, at, f"superseded by a {decision} decision of {actor}")
        decision_id = conn.execute(t.decisions.insert().values(
            campaign_id=campaign.id, item_id=item.id, decision=decision, reason=reason, actor=actor, at=at,
            reviewer_conflicted=conflicted, conflict_note=conflict_note, by_policy=False, bulk=bulk,
            prior_state=item.state, prior_decision_id=item.decision_id,
        )).inserted_primary_key[0]
        exception_row = None
        if decision == EXCEPTION:
            assert expires is not None
            covers = sorted({(c.rule, c.scope) for c in item.conflicts})
            exception_id = conn.execute(t.exceptions.insert().values(
                campaign_id=campaign.id, item_id=item.id, decision_id=decision_id, person=item.person,
                covers=_dumps([list(c) for c in covers]), reason=reason, expires=expires.isoformat(),
                requested_by=actor, requested_at=at, status=EX_PENDING, resolution_note="",
            )).inserted_primary_key[0]
            exception_row = conn.execute(select(t.exceptions).where(t.exceptions.c.id == exception_id)).one()
        _set_item(conn, item, state=decision, decision_id=decision_id, decided_by=actor, decided_at=at)
        if note.strip():
            conn.execute(t.item_notes.insert().values(item_id=item.id, actor=actor, at=at, text=note.strip()))
        entry = audit.append(
            conn, actor=actor, action="decide", campaign_id=campaign.id, item_id=item.id, decision=decision,
            reason=reason, snapshot_digest=campaign.snapshot_digest, at=at,
            detail={**_item_ref(item), "decision_id": decision_id, "reviewer_conflicted": conflicted,
                    "conflict_note": conflict_note, "bulk": bulk, "note": note.strip(),
                    "expires": expires.isoformat() if decision == EXCEPTION and expires else None,
                    "exception_id": exception_row.id if exception_row is not None else None},
        )
        conn.execute(t.decisions.update().where(t.decisions.c.id == decision_id).values(audit_seq=entry.seq))
        return Outcome(item=_item(_read_item(conn, item.id)), decision=_decision(_read_decision(conn, decision_id)),
                       warnings=tuple(warnings),
                       exception=_exception(exception_row) if exception_row is not None else None)

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
) -> BulkOutcome:
    """The same decision on many items, each committed on its own; refusals are collected, not fatal."""
    bulk = "bulk-" + uuid.uuid4().hex[:12]
    done: list[Outcome] = []
    refused: list[tuple[int, str]] = []
    for n, item_id in enumerate(item_ids, 1):
        try:
            done.append(decide(store, item_id, decision, actor=actor, reason=reason, expires=expires, note=note,
                               bulk=bulk, today=today))
        except ReviewError as exc:
            refused.append((item_id, str(exc)))
        if on_progress:
            on_progress(n, len(item_ids))
    return BulkOutcome(bulk=bulk, done=tuple(done), refused=tuple(refused))


def undo_last(store: Store, campaign_id: int, *, actor: str) -> list[Outcome]:
    """Undo the actor's last decision in the campaign (all of it, when it was a bulk decision)."""
    actor = _actor(actor)

    def work(conn: Connection) -> list[Outcome]:
        campaign = _lock_campaign(conn, campaign_id, share=True)
        if not campaign.is_open:
            raise NotAllowed(f"campaign {campaign.id} is closed; its decisions can no longer be undone")
        last = conn.execute(
            select(t.decisions).where(t.decisions.c.campaign_id == campaign_id,
                                      func.lower(t.decisions.c.actor) == _norm(actor),
                                      t.decisions.c.undone_by.is_(None), t.decisions.c.by_policy == False)  # noqa: E712
            .order_by(t.decisions.c.id.desc()).limit(1)
        ).first()
        if last is None:
            raise ReviewError(f"{actor} has no decision to undo in campaign {campaign_id}")
        group = [last]
        if last.bulk:
            group = conn.execute(
                select(t.decisions).where(t.decisions.c.bulk == last.bulk, t.decisions.c.undone_by.is_(None))
                .order_by(t.decisions.c.id.desc())).all()
        at = now_iso()
        out = []
        for row in group:
            item = _item(_lock_item(conn, row.item_id))
            if item.decision_id != row.id:
                if len(group) == 1:
                    raise StaleItem(f"item {item.id} was decided again since ({item.state} by {item.decided_by}); "
                                    "only the latest decision on an item can be undone")
                continue
            conn.execute(t.decisions.update().where(t.decisions.c.id == row.id).values(undone_by=actor, undone_at=at))
            _withdraw_open_exception(conn, item.id, at, f"its decision was undone by {actor}")
            prior = _read_decision(conn, row.prior_decision_id) if row.prior_decision_id else None
            if prior is not None and prior.decision == EXCEPTION:
                # the exception that decision replaced needs its second approver again
                conn.execute(t.exceptions.update().where(t.exceptions.c.decision_id == prior.id)
                             .values(status=EX_PENDING, approver=None, approved_at=None,
                                     resolution_note=f"restored by an undo of {actor}; needs approval again"))
            _set_item(conn, item, state=row.prior_state, decision_id=row.prior_decision_id,
                      decided_by=prior.actor if prior is not None else None,
                      decided_at=prior.at if prior is not None else None)
            audit.append(conn, actor=actor, action="undo", campaign_id=campaign.id, item_id=item.id,
                         decision=row.decision, reason="", snapshot_digest=campaign.snapshot_digest, at=at,
                         detail={**_item_ref(item), "decision_id": row.id, "restored_state": row.prior_state,
                                 "bulk": row.bulk})
            out.append(Outcome(item=_item(_read_item(conn, item.id)), decision=_decision(_read_decision(conn, row.id))))
        return out

    return audit.run(store, work)


def add_note(store: Store, item_id: int, text: str, *, actor: str) -> Note:
    """A note on any item, by anyone; it is audited like a decision."""
    actor = _actor(actor)
    text = (text or "").strip()
    if not text:
        raise ReviewError("a note needs some text")

    def work(conn: Connection) -> Note:
        item = _item(_lock_item(conn, item_id))
        campaign = get_campaign(store, item.campaign_id, conn)
        at = now_iso()
        note_id = conn.execute(t.item_notes.insert().values(item_id=item.id, actor=actor, at=at, text=text)) \
            .inserted_primary_key[0]
        audit.append(conn, actor=actor, action="note", campaign_id=campaign.id, item_id=item.id, reason=text,
                     snapshot_digest=campaign.snapshot_digest, at=at, detail={**_item_ref(item), "note_id": note_id})
        return Note(id=note_id, item_id=item.id, actor=actor, at=at, text=text)

    return audit.run(store, work)


def approve_exception(store: Store, exception_id: int, *, actor: str, note: str = "",
                      today: date | None = None) -> Outcome:
    """The second pair of eyes: neither the requester nor the subject may approve."""
    actor = _actor(actor)
    return _resolve_exception(store, exception_id, actor=actor, approve=True, note=note, today=today)


def reject_exception(store: Store, exception_id: int, *, actor: str, reason: str) -> Outcome:
    """Refuse an exception: the item goes back to pending for its reviewer to decide again."""
    actor = _actor(actor)
    if not (reason or "").strip():
        raise ReviewError("rejecting an exception needs a --reason")
    return _resolve_exception(store, exception_id, actor=actor, approve=False, note=reason.strip())


def _resolve_exception(store: Store, exception_id: int, *, actor: str, approve: bool, note: str,
                       today: date | None = None) -> Outcome:
    def work(conn: Connection) -> Outcome:
        row = conn.execute(select(t.exceptions).where(t.exceptions.c.id == exception_id)).first()
        if row is None:
            raise NotFound(f"exception {exception_id} does not exist; `foureyes exception list` lists them")
        campaign = _lock_campaign(conn, row.campaign_id, share=True)
        if not campaign.is_open:
            raise NotAllowed(f"campaign {campaign.id} is closed")
        item = _item(_lock_item(conn, row.item_id))
        request = _exception(conn.execute(select(t.exceptions).where(t.exceptions.c.id == exception_id)
                                          .with_for_update()).one())
        if request.status != EX_PENDING:
            raise ReviewError(f"exception {request.id} is {request.status}, not awaiting approval")
        if _norm(actor) == _norm(request.requested_by):
            raise SelfReview(f"exception {request.id} was requested by {actor}: an exception needs a second "
                             "person to approve it")
        if item.is_about(actor):
            raise SelfReview(f"exception {request.id} is about {actor}'s own access: someone else must approve it")
        approvers = {_norm(a) for a in campaign.policy.exception_approvers}
        if approve and approvers and _norm(actor) not in approvers:
            raise NotAllowed(f"{actor} may not approve exceptions in campaign {campaign.id}; approvers: "
                             + ", ".join(sorted(campaign.policy.exception_approvers)))
        if approve and request.expires < (today or _today()):
            raise ReviewError(f"exception {request.id} expired on {request.expires}; it cannot be approved")
        warnings = []
        conflicted, conflict_note = _reviewer_conflict(conn, campaign, item, actor)
        if conflicted:
            warnings.append(f"{actor} holds the same conflicting combination ({conflict_note}) as {item.person}")
        at = now_iso()
        if approve:
            conn.execute(t.exceptions.update().where(t.exceptions.c.id == request.id)
                         .values(status=EX_APPROVED, approver=actor, approved_at=at, resolution_note=note))
            _set_item(conn, item, state=item.state, decision_id=item.decision_id, decided_by=item.decided_by,
                      decided_at=item.decided_at)
        else:
            conn.execute(t.exceptions.update().where(t.exceptions.c.id == request.id)
                         .values(status=EX_REJECTED, approver=actor, approved_at=at, resolution_note=note))
            _set_item(conn, item, state=PENDING, decision_id=None, decided_by=None, decided_at=None)
        audit.append(conn, actor=actor, action="exception.approve" if approve else "exception.reject",
                     campaign_id=campaign.id, item_id=item.id, decision=EXCEPTION, reason=note,
                     snapshot_digest=campaign.snapshot_digest, at=at,
                     detail={**_item_ref(item), "exception_id": request.id, "requested_by": request.requested_by,
                             "expires": request.expires.isoformat(), "covers": [list(c) for c in request.covers],
                             "approver_conflicted": conflicted, "conflict_note": conflict_note})
        fresh = _exception(conn.execute(select(t.exceptions).where(t.exceptions.c.id == request.id)).one())
        return Outcome(item=_item(_read_item(conn, item.id)), decision=None, warnings=tuple(warnings),
                       exception=fresh)

    return audit.run(store, work)


def close_campaign(store: Store, campaign_id: int, *, actor: str, force: bool = False,
                   reason: str = "") -> tuple[Campaign, list[int]]:
    """Close a campaign. Unresolved items need ``force`` and a reason; they then follow the close policy.

    Returns the closed campaign and the ids of the items the policy decided.
    """
    actor = _actor(actor)
    reason = (reason or "").strip()

    def work(conn: Connection) -> tuple[Campaign, list[int]]:
        campaign = _lock_campaign(conn, campaign_id, share=False)
        if not campaign.is_open:
            raise NotAllowed(f"campaign {campaign.id} is already closed ({campaign.closed_at} by {campaign.closed_by})")
        rows = conn.execute(select(t.campaign_items).where(t.campaign_items.c.campaign_id == campaign_id)
                            .order_by(t.campaign_items.c.id).with_for_update()).all()
        waiting = {r.item_id for r in conn.execute(select(t.exceptions.c.item_id).where(
            t.exceptions.c.campaign_id == campaign_id, t.exceptions.c.status == EX_PENDING))}
        unresolved = [r for r in rows if r.state in (PENDING, DEFER) or (r.state == EXCEPTION and r.id in waiting)]
        if unresolved and not force:
            kinds = Counter("pending" if r.state == PENDING else "deferred" if r.state == DEFER
                            else "exceptions awaiting approval" for r in unresolved)
            detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            policy = "become revoke" if campaign.policy.close_policy == "revoke" else "are skipped"
            raise ReviewError(f"campaign {campaign.id} has {len(unresolved)} unresolved item(s) ({detail}); decide "
                              f"them, or close with --force --reason (unresolved items then {policy}, the close "
                              "policy of this campaign)")
        if unresolved and not reason:
            raise ReviewError("closing a campaign with unresolved items needs --reason")
        at = now_iso()
        outcome = REVOKE if campaign.policy.close_policy == "revoke" else SKIPPED
        decided = []
        for row in unresolved:
            item = _item(row)
            if row.id in waiting:
                conn.execute(t.exceptions.update().where(t.exceptions.c.item_id == row.id,
                                                         t.exceptions.c.status == EX_PENDING)
                             .values(status=EX_LAPSED, resolution_note="not approved before the campaign closed"))
            decision_id = conn.execute(t.decisions.insert().values(
                campaign_id=campaign.id, item_id=item.id, decision=outcome, actor=actor, at=at,
                reason=f"unresolved when the campaign was closed: {reason}", reviewer_conflicted=False,
                conflict_note="", by_policy=True, bulk=None, prior_state=item.state,
                prior_decision_id=item.decision_id,
            )).inserted_primary_key[0]
            _set_item(conn, item, state=outcome, decision_id=decision_id, decided_by=actor, decided_at=at)
            entry = audit.append(conn, actor=actor, action="close.policy", campaign_id=campaign.id, item_id=item.id,
                                 decision=outcome, reason=reason, snapshot_digest=campaign.snapshot_digest, at=at,
                                 detail={**_item_ref(item), "decision_id": decision_id, "prior_state": item.state,
                                         "policy": campaign.policy.close_policy})
            conn.execute(t.decisions.update().where(t.decisions.c.id == decision_id).values(audit_seq=entry.seq))
            decided.append(item.id)
        conn.execute(t.campaigns.update().where(t.campaigns.c.id == campaign.id)
                     .values(status=CLOSED, closed_at=at, closed_by=actor, close_reason=reason))
        audit.append(conn, actor=actor, action="campaign.close", campaign_id=campaign.id, reason=reason,
                     snapshot_digest=campaign.snapshot_digest, at=at,
                     detail={"forced": bool(unresolved), "policy": campaign.policy.close_policy,
                             "policy_items": len(decided), "items": len(rows)})
        return get_campaign(store, campaign.id, conn), decided

    return audit.run(store, work)


# ---------------------------------------------------------------- guards and row helpers


def _check_may_decide(campaign: Campaign, item: Item, actor: str) -> None:
    if not campaign.is_open:
        raise NotAllowed(f"campaign {campaign.id} is closed ({campaign.closed_at} by {campaign.closed_by}); "
                         "its decisions are final")
    if item.is_about(actor):
        raise SelfReview(f"{actor} cannot decide item {item.id}: it is about their own access "
                         f"({item.label}); nobody reviews their own accounts")
    allowed = {_norm(item.reviewer), _norm(campaign.reviewers.fallback)} - {""}
    if _norm(actor) not in allowed:
        owner = item.reviewer or "nobody (unassigned)"
        fallback = f" or the fallback reviewer {campaign.reviewers.fallback}" if campaign.reviewers.fallback else ""
        raise NotAllowed(f"{actor} is not a reviewer of item {item.id}: it is assigned to {owner}{fallback}")


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


def _reviewer_conflict(conn: Connection, campaign: Campaign, item: Item, actor: str) -> tuple[bool, str]:
    """Does the actor hold a conflict of the same rule as one the item takes part in?"""
    rules = {c.rule for c in item.conflicts}
    if not rules:
        return False, ""
    rows = conn.execute(select(t.campaign_findings).where(
        t.campaign_findings.c.campaign_id == campaign.id,
        func.lower(t.campaign_findings.c.person) == _norm(actor),
        t.campaign_findings.c.rule.in_(sorted(rules)),
    ).order_by(t.campaign_findings.c.rule, t.campaign_findings.c.scope)).all()
    if not rows:
        return False, ""
    return True, "; ".join(f"{r.rule} {r.title} ({r.scope})" for r in rows)


def _lock_campaign(conn: Connection, campaign_id: int, *, share: bool) -> Campaign:
    query = select(t.campaigns).where(t.campaigns.c.id == campaign_id).with_for_update(read=share)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"campaign {campaign_id} does not exist; `foureyes campaign list` lists them")
    return _campaign(row)


def _lock_item(conn: Connection, item_id: int) -> Any:
    row = conn.execute(select(t.campaign_items).where(t.campaign_items.c.id == item_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"item {item_id} does not exist; `foureyes campaign show ID --items` lists them")
    return row


def _read_item(conn: Connection, item_id: int) -> Any:
    return conn.execute(select(t.campaign_items).where(t.campaign_items.c.id == item_id)).one()


def _read_decision(conn: Connection, decision_id: int) -> Any:
    return conn.execute(select(t.decisions).where(t.decisions.c.id == decision_id)).one()


def _set_item(conn: Connection, item: Item, *, state: str, decision_id: int | None, decided_by: str | None,
              decided_at: str | None) -> None:
    """Compare-and-set on the version read under the row lock: a lost update fails loudly."""
    result = conn.execute(
        t.campaign_items.update()
        .where(t.campaign_items.c.id == item.id, t.campaign_items.c.version == item.version)
        .values(state=state, decision_id=decision_id, decided_by=decided_by, decided_at=decided_at,
                version=item.version + 1)
    )
    if result.rowcount != 1:
        raise StaleItem(f"item {item.id} changed while it was being decided; reload and decide again")


def _withdraw_open_exception(conn: Connection, item_id: int, at: str, why: str) -> None:
    conn.execute(t.exceptions.update().where(t.exceptions.c.item_id == item_id,
                                             t.exceptions.c.status.in_((EX_PENDING, EX_APPROVED)))
                 .values(status=EX_WITHDRAWN, resolution_note=why))


def _item_ref(item: Item) -> dict[str, Any]:
    """What an audit entry says about its item, so the log reads on its own."""
    return {"grant": item.grant_key, "person": item.person, "entitlement": item.entitlement,
            "resource": item.resource, "capabilities": list(item.capabilities)}


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row.id, name=row.name, snapshot_id=row.snapshot_id, snapshot_digest=row.snapshot_digest,
        scope=Scope.from_json(json.loads(row.scope)), reviewers=ReviewerRules.from_json(json.loads(row.reviewer_rules)),
        policy=Policy.from_json(json.loads(row.policy)), status=row.status, created_at=row.created_at,
        created_by=row.created_by, due=date.fromisoformat(row.due), template=row.template, period=row.period,
        baseline_snapshot_id=row.baseline_snapshot_id, closed_at=row.closed_at, closed_by=row.closed_by,
        close_reason=row.close_reason,
    )


def _item(row: Any) -> Item:
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
        decided_by=row.decided_by, decided_at=row.decided_at, version=row.version,
    )


def _decision(row: Any) -> Decision:
    return Decision(
        id=row.id, campaign_id=row.campaign_id, item_id=row.item_id, decision=row.decision, reason=row.reason,
        actor=row.actor, at=row.at, reviewer_conflicted=bool(row.reviewer_conflicted),
        conflict_note=row.conflict_note, by_policy=bool(row.by_policy), bulk=row.bulk, prior_state=row.prior_state,
        prior_decision_id=row.prior_decision_id, undone_by=row.undone_by, undone_at=row.undone_at,
        audit_seq=row.audit_seq,
    )


def _exception(row: Any) -> ExceptionRequest:
    return ExceptionRequest(
        id=row.id, campaign_id=row.campaign_id, item_id=row.item_id, decision_id=row.decision_id,
        person=row.person, covers=tuple((c[0], c[1]) for c in json.loads(row.covers)), reason=row.reason,
        expires=date.fromisoformat(row.expires), requested_by=row.requested_by, requested_at=row.requested_at,
        status=row.status, approver=row.approver, approved_at=row.approved_at,
        resolution_note=row.resolution_note,
    )


# ---------------------------------------------------------------- filters


FILTER_KEYS = ("id", "person", "name", "app", "system", "resource", "entitlement", "reviewer", "state", "tier",
               "team", "via", "new", "conflict", "unchanged")
_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}


@dataclass(frozen=True)
class ItemFilter:
    """``key=glob`` terms, all of which must match (case-insensitive): ``app=payments``, ``new=yes``."""

    terms: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> "ItemFilter":
        terms = []
        for text in texts:
            key, sep, value = text.partition("=")
            key = key.strip().lower()
            if not sep or key not in FILTER_KEYS:
                raise InputError(f"filter {text!r}: expected KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
            value = value.strip()
            if key in ("new", "conflict", "unchanged") and value.lower() not in _TRUE | _FALSE:
                raise InputError(f"filter {text!r}: {key} takes yes or no")
            terms.append((key, value))
        return cls(tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, item: Item) -> bool:
        return all(self._term(item, key, value) for key, value in self.terms)

    @staticmethod
    def _term(item: Item, key: str, value: str) -> bool:
        def glob(*candidates: str) -> bool:
            return any(fnmatch.fnmatchcase((c or "").casefold(), value.casefold()) for c in candidates)

        flag = value.lower() in _TRUE
        if key == "id":
            return str(item.id) == value
        if key == "person":
            return glob(item.person, *item.accounts)
        if key == "name":
            return glob(item.person_name)
        if key == "app":
            return glob(item.app)
        if key == "system":
            return glob(item.system, item.resource.split(":", 1)[0])
        if key == "resource":
            return glob(item.resource, item.resource_name)
        if key == "entitlement":
            return glob(item.entitlement)
        if key == "reviewer":
            return glob(item.reviewer)
        if key == "state":
            return glob(item.state)
        if key == "tier":
            return glob(item.tier)
        if key == "via":
            return glob(item.via)
        if key == "team":
            return glob(*(t_.rsplit("/", 1)[-1] for t_ in item.teams), *item.teams)
        if key == "new":
            return item.is_new == flag
        if key == "conflict":
            return bool(item.conflicts) == flag
        if key == "unchanged":
            return item.unchanged_since_certified == flag
        return False  # pragma: no cover - parse() admits only FILTER_KEYS


# ---------------------------------------------------------------- revocation follow-through


def check_revocations(store: Store, config: Config, *, campaign_id: int | None = None) -> int:
    """Check revoked items against every later snapshot not checked yet; returns the checks recorded.

    A revoked grant absent from a snapshot whose source failed or left a gap on it is
    recorded as unknown: a gap is never proof that access is gone.
    """
    query = (select(t.campaign_items.c.id, t.campaign_items.c.person, t.campaign_items.c.grant_key,
                    t.campaign_items.c.resource, t.campaigns.c.snapshot_id)
             .join(t.campaigns, t.campaigns.c.id == t.campaign_items.c.campaign_id)
             .where(t.campaign_items.c.state == REVOKE))
    if campaign_id is not None:
        query = query.where(t.campaign_items.c.campaign_id == campaign_id)
    with store.engine.connect() as conn:
        revoked = conn.execute(query).all()
        if not revoked:
            return 0
        done = {(r.item_id, r.snapshot_id) for r in conn.execute(
            select(t.revocation_checks.c.item_id, t.revocation_checks.c.snapshot_id)
            .where(t.revocation_checks.c.item_id.in_([r.id for r in revoked])))}
    first = min(r.snapshot_id for r in revoked)
    later = [i.id for i in store.list_snapshots() if i.id > first]
    recorded = 0
    for sid in later:
        todo = [r for r in revoked if sid > r.snapshot_id and (r.id, sid) not in done]
        if not todo:
            continue
        snapshot = store.load_snapshot(sid)
        identities = link(snapshot, config)
        graph = Graph(snapshot, identities)
        checked_at = now_iso()
        rows = []
        reached: dict[str, set[str]] = {}
        for r in todo:
            if r.person not in reached:
                person = identities.people.get(r.person)
                reached[r.person] = set(graph.reachable_grants(a.principal for a in person.accounts)) \
                    if person is not None else set()
            present, note = _presence(snapshot, r.person in identities.people, reached[r.person], r.grant_key,
                                      r.resource)
            rows.append({"item_id": r.id, "snapshot_id": sid, "present": present, "note": note,
                         "checked_at": checked_at})
        recorded += _insert_checks(store, rows)
    return recorded


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
        if gap.resource in (resource, parent) or (not gap.resource and gap.system == system):
            return None, f"unknown: gap [{gap.system}] {gap.resource or 'source'}: {gap.reason}"
    if not person_present:
        return False, "gone: the person has no accounts in this snapshot"
    return False, "gone"


def _insert_checks(store: Store, rows: list[dict[str, Any]]) -> int:
    """Insert check rows; another process may have recorded the same checks first (same truth)."""
    inserted = 0
    for row in rows:
        try:
            with store.engine.begin() as conn:
                conn.execute(t.revocation_checks.insert().values(**row))
            inserted += 1
        except IntegrityError:
            continue
    return inserted


def follow_through(store: Store, *, campaign_id: int | None = None) -> list[FollowUp]:
    """The state of every currently revoked item, from the checks recorded so far."""
    query = (select(t.campaign_items.c.id, t.campaign_items.c.campaign_id)
             .where(t.campaign_items.c.state == REVOKE).order_by(t.campaign_items.c.id))
    if campaign_id is not None:
        query = query.where(t.campaign_items.c.campaign_id == campaign_id)
    with store.engine.connect() as conn:
        revoked = conn.execute(query).all()
        checks: dict[int, list[Any]] = defaultdict(list)
        if revoked:
            for row in conn.execute(select(t.revocation_checks)
                                    .where(t.revocation_checks.c.item_id.in_([r.id for r in revoked]))
                                    .order_by(t.revocation_checks.c.snapshot_id)):
                checks[row.item_id].append(row)
    out = []
    for r in revoked:
        state, gone_in, back_in, last, unknown = "pending", None, None, None, []
        for check in checks.get(r.id, ()):
            last = check.snapshot_id
            if check.present is None:
                unknown.append(check.snapshot_id)
            elif not check.present:
                gone_in = gone_in or check.snapshot_id
                state = "verified"
            elif gone_in is not None:
                state, back_in = "regressed", check.snapshot_id
        out.append(FollowUp(item_id=r.id, campaign_id=r.campaign_id, state=state, gone_in=gone_in,
                            back_in=back_in, last_checked=last, unknown_in=tuple(unknown)))
    return out


def follow_through_counts(store: Store, *, campaign_id: int | None = None) -> dict[str, int]:
    counts = Counter(f.state for f in follow_through(store, campaign_id=campaign_id))
    return {state: counts.get(state, 0) for state in FOLLOW_STATES}


# ---------------------------------------------------------------- for the Overview and exports


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    progress: Progress
    follow_through: Mapping[str, int]
    exceptions_waiting: int


def summaries(store: Store, *, status: str | None = OPEN) -> list[CampaignSummary]:
    """Campaigns with their progress and revocation follow-through (recorded checks only)."""
    out = []
    for campaign in list_campaigns(store, status=status):
        prog = progress(store, campaign.id)
        out.append(CampaignSummary(campaign=campaign, progress=prog,
                                   follow_through=follow_through_counts(store, campaign_id=campaign.id),
                                   exceptions_waiting=prog.exception_waiting))
    return out


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


def check_against_audit(store: Store) -> list[str]:
    """Decision rows that disagree with the audit entry that recorded them (edited outside foureyes)."""
    entries = {e.seq: e for e in audit.entries(store)}
    problems = []
    for d in decisions(store):
        entry = entries.get(d.audit_seq or -1)
        if entry is None:
            problems.append(f"decision {d.id} (item {d.item_id}) has no audit entry")
            continue
        if (entry.item_id, entry.decision, entry.actor, entry.detail.get("decision_id")) != \
                (d.item_id, d.decision, d.actor, d.id) or (not d.by_policy and entry.reason != d.reason):
            problems.append(f"decision {d.id} (item {d.item_id}) does not match audit {entry.describe()}")
    return problems
