"""Planning a campaign: which grants of which people it reviews, why each is there (path,
conflicts, drift, earlier decisions) and who reviews it. Pure: an analysis in, item drafts out.

Whether a grant takes part in a conflict is the rules engine's answer (`takes_part`), not
decided again here.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Callable, Mapping, Sequence

from ..analysis import Analysis
from ..config import CampaignTemplate, Config
from ..errors import ConfigError, InputError
from ..graph import Graph, Holding, Step
from ..identity import Identities
from ..model import EdgeKind, Grant, Kind, RosterStatus, Snapshot
from ..roster import Roster
from ..rules.engine import repo_apps, takes_part
from ..rules.pack import MOVER
from ..store.keys import fold
from ..usage import Usage, UsageIndex
from .people import Lookup, Who, aliases_of, dict_lookup, resolve
from .values import CampaignSpec, ConflictRef, Policy, PreviousDecision, ReviewerRules, Scope
from .vocabulary import PRODUCTION, dumps, norm, utc_today


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
    reviewer_key: str = ""  # the person the reviewer resolves to (store.keys.fold)
    reviewer_rule: str = ""
    previous: PreviousDecision | None = None
    person_status: str = ""  # the roster's, "" without one
    person_manager: str = ""
    person_department: str = ""
    usage: Usage = Usage()


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
    return hashlib.sha256(dumps(data).encode()).hexdigest()


def plan_items(
    analysis: Analysis,
    config: Config,
    scope: Scope,
    reviewers: ReviewerRules,
    *,
    baseline: set[tuple[str, str]] | None = None,
    previous: Mapping[tuple[str, str], tuple[PreviousDecision, str]] | None = None,
    aliases: Mapping[str, Mapping[str, str]] | None = None,
) -> list[ItemDraft]:
    """The items of a campaign on one analysed snapshot: pure, no store access.

    ``baseline`` is the (person, grant) pairs of the snapshot new grants are measured
    against; ``previous`` maps (person, grant) to an earlier decision and its fingerprint;
    ``aliases`` (`people.aliases_of`, computed when not given) says who each reviewer is.
    """
    snapshot, graph, identities = analysis.snapshot, analysis.graph, analysis.identities
    if aliases is None:
        aliases = aliases_of(snapshot, identities, config.identity)
    if scope.kind == "emergency":
        assigned = _assign(use_drafts(analysis, scope, aliases), config, reviewers,
                           graph.team_maintainers() if "team-maintainer" in reviewers.rules else {}, dict_lookup(aliases))
        return [_with_previous(d, previous) for d in assigned] if previous else assigned
    repo_app = repo_apps(snapshot.resources)
    findings_of: dict[str, list[Any]] = defaultdict(list)
    moved: dict[str, set[str]] = defaultdict(set)  # mover -> grant keys behind the old team's capabilities
    for finding in analysis.findings:
        if finding.person and finding.rule.kind == "conflict":
            findings_of[finding.person].append(finding)
        if finding.person and finding.rule.condition == MOVER and not finding.covered:
            moved[finding.person].update(h.grant for h in finding.holdings)
    reach: dict[str, dict[str, Grant]] = {
        p.key: graph.reachable_grants(a.principal for a in p.accounts) for p in identities.people.values()
    }
    holders = Counter(key for grants in reach.values() for key in grants)
    members: set[str] | None = None
    if scope.teams:
        members = set().union(*(graph.team_members(team) for team in scope.teams))
    lookup = dict_lookup(aliases)
    # a person named by any spelling: their key, an account, an alias
    people_filter = {k for p in scope.people for k in (norm(p), *resolve(p, lookup).people)}
    systems = set(scope.systems)
    maintainers = graph.team_maintainers() if "team-maintainer" in reviewers.rules else {}
    usage_of = UsageIndex(snapshot)
    # a production grant unused this many days is suggested for revocation in every campaign
    idle_days = scope.unused_days if scope.kind == "unused" else config.campaigns.unused_days
    drafts: list[ItemDraft] = []
    for person in identities.people.values():
        grants = reach[person.key]
        if not grants:
            continue
        if scope.kind == "leavers" and not person.is_leaver:
            continue
        if scope.kind == "movers" and person.key not in moved:
            continue
        accounts = tuple(a.principal for a in person.accounts)
        if members is not None and person.key not in members:
            continue
        if people_filter and norm(person.key) not in people_filter and not (
                people_filter & {norm(a) for a in accounts}):
            continue
        # the cheap filters first: explaining a grant (its path) is the costly part
        wanted: dict[str, Grant] = {}
        for key, grant in grants.items():
            resource = snapshot.resources.get(grant.resource)
            if scope.kind in ("production", "drift", "unused") and (resource.tier if resource else "") != PRODUCTION:
                continue
            if scope.kind == "drift" and baseline is not None and (person.key, key) in baseline:
                continue
            if scope.kind == "movers" and key not in moved[person.key]:
                continue
            if systems and not systems & {grant.system, grant.resource.split(":", 1)[0]}:
                continue
            if scope.apps and resource is not None and resource.app and resource.app not in scope.apps:
                continue
            wanted[key] = grant
        usages = {key: usage_of.of(grant, accounts).suggest(idle_days) for key, grant in wanted.items()}
        if scope.kind == "unused":
            wanted = {k: g for k, g in wanted.items() if usages[k].unused_for(scope.unused_days)}
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
                if any(takes_part(f, h, repo_app) for h in holdings)
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
                person_status=person.status, person_manager=person.roster.manager if person.roster else "",
                person_department=person.roster.department if person.roster else "",
                usage=usages[key],
            ))
    assigned = _assign(drafts, config, reviewers, maintainers, lookup, identities.roster)
    if previous:
        assigned = [_with_previous(d, previous) for d in assigned]
    return assigned


def use_drafts(analysis: Analysis, scope: Scope, aliases: Mapping[str, Mapping[str, str]]) -> list[ItemDraft]:
    """Scope "emergency": one item per use of a declared emergency path in the snapshot's period,
    its subject the person who used it; the scope's filters narrow the uses."""
    snapshot, identities = analysis.snapshot, analysis.identities
    if not analysis.emergency.paths:
        raise InputError("scope 'emergency' reviews the uses of declared emergency paths, and the config declares "
                         "none: add a [[break_glass]] table (docs/emergency.md)")
    if snapshot.period is None:
        raise InputError(f"scope 'emergency' reviews the uses of [[break_glass]] paths in an activity period, and "
                         f"snapshot {snapshot.id} was taken without activity; run `foureyes snapshot --activity`")
    lookup = dict_lookup(aliases)
    people_filter = {k for p in scope.people for k in (norm(p), *resolve(p, lookup).people)}
    members = set().union(*(analysis.graph.team_members(t) for t in scope.teams)) if scope.teams else None
    findings: dict[str, list[ConflictRef]] = defaultdict(list)
    for f in analysis.findings:
        if f.scope.startswith("use:"):
            findings[f.scope].append(ConflictRef(f.id, f.rule.id, f.rule.title, f.rule.severity, f.scope))
    drafts = []
    for use in analysis.emergency.uses:
        resource = snapshot.resources.get(use.resource)
        app = resource.app if resource else ""
        person = identities.people.get(use.person)
        accounts = tuple(a.principal for a in person.accounts) if person else tuple(
            a for a in (use.who.actor.principal,) if a)
        if scope.systems and use.system not in scope.systems:
            continue
        if scope.apps and app not in scope.apps:
            continue
        if members is not None and use.person not in members:
            continue
        if people_filter and norm(use.person) not in people_filter and not people_filter & {norm(a) for a in accounts}:
            continue
        capabilities = tuple(sorted({h.capability for h in analysis.graph.holdings(use.person)
                                     if h.emergency and use.path in analysis.graph.marks_of(h).emergency}))
        grant = use.as_grant(capabilities)
        principal = snapshot.principals.get(grant.principal)
        drafts.append(ItemDraft(
            grant=grant, person=use.person, person_name=use.who.label, accounts=accounts,
            principal_name=principal.label if principal else use.target,
            resource_name=resource.label if resource else use.resource, tier=resource.tier if resource else "",
            app=app, path=use.lines(), teams=(), conflicts=tuple(findings.get(f"use:{use.path}:{use.id}", ())),
            holders=0, is_new=False, fingerprint=hashlib.sha256(dumps(list(use.lines())).encode()).hexdigest()))
    return drafts


def _with_previous(draft: ItemDraft, previous: Mapping[tuple[str, str], tuple[PreviousDecision, str]]) -> ItemDraft:
    found = previous.get((draft.person, draft.grant.key))
    if found is None:
        return draft
    decision, fingerprint = found
    return replace(draft, previous=replace(decision, unchanged=fingerprint == draft.fingerprint))


def _assign(drafts: list[ItemDraft], config: Config, reviewers: ReviewerRules,
            maintainers: Mapping[str, list[str]], lookup: Lookup,
            roster: Roster | None = None) -> list[ItemDraft]:
    """The first rule that names someone other than the item's subject reviews it: other
    than the subject under any of their spellings (a linked account, an alias)."""
    rotation = 0
    out = []
    roster = roster or Roster()
    resolved: dict[str, Who] = {}

    def who(candidate: str) -> Who:
        if candidate not in resolved:
            resolved[candidate] = resolve(candidate, lookup)
        return resolved[candidate]

    for draft in drafts:
        subject = {fold(draft.person), *(fold(a) for a in draft.accounts)}

        def eligible(candidate: str) -> bool:
            found = who(candidate)
            return bool(found.key) and found.key not in subject and not found.people & subject

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
            elif rule == "manager":
                chosen, why = manager_for(draft.person, roster, eligible)
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
            why = "unassigned: " + _nobody(draft, config, reviewers, maintainers, eligible)
        out.append(replace(draft, reviewer=chosen, reviewer_key=who(chosen).key if chosen else "",
                           reviewer_rule=why))
    return out


def _nobody(draft: ItemDraft, config: Config, reviewers: ReviewerRules, maintainers: Mapping[str, list[str]],
            eligible: Callable[[str], bool]) -> str:
    """Why no rule named a reviewer, rule by rule: an owner missing from the config reads
    differently from an owner who is the item's subject."""
    said = []
    for rule in reviewers.rules:
        if rule == "app-owner":
            app = config.app(draft.app) if draft.app else None
            said.append("no app owner (" + ("the grant is in no configured app" if app is None
                                            else f"app {draft.app} has no owner in [[apps]]" if not app.owner
                                            else f"the owner of app {draft.app} is the subject") + ")")
        elif rule == "team-maintainer":
            with_maintainers = [t for t in draft.teams if maintainers.get(t)]
            said.append("no team maintainer (" + ("the grant comes through no team" if not draft.teams
                                                  else "its teams have no maintainers" if not with_maintainers
                                                  else "each maintainer is the subject") + ")")
        elif rule == "manager":
            said.append("no manager in the roster who may review it")
        elif rule == "fixed":
            said.append("no fixed reviewer" if not reviewers.fixed else "each fixed reviewer is the subject")
    if not reviewers.fallback:
        said.append("no fallback reviewer")
    elif not eligible(reviewers.fallback):
        said.append("the fallback reviewer is the subject")
    return "; ".join(said)


def manager_for(person: str, roster: Roster, eligible: Callable[[str], bool]) -> tuple[str, str]:
    """The person's manager from the roster; the next manager up when a manager has left (or is
    the subject, or otherwise not eligible). ("", "") when the roster names no one who can review."""
    record = roster.people.get(person)
    if record is None or not record.manager:
        return "", ""
    skipped: list[str] = []
    for manager in roster.manager_chain(person):
        found = roster.people.get(manager)
        if found is not None and found.is_leaver:
            skipped.append(f"{manager} has left")
        elif not eligible(manager):
            skipped.append(f"{manager} is the subject")
        else:
            # an unknown status (a source could not be read) is said, not skipped: they may well be there
            doubt = "; their status is unknown" if found is not None and found.status == RosterStatus.UNKNOWN else ""
            if not skipped:
                return manager, f"manager (roster{doubt})"
            return manager, f"next manager up (roster{doubt}): {'; '.join(skipped)}"
    return "", ""


# ---------------------------------------------------------------- campaign specs


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
        due=due or (today or utc_today()) + timedelta(days=c.due_days),
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
    day = today or utc_today()
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
                    teams=tuple(template.teams), people=tuple(template.people),
                    unused_days=template.unused_days or config.campaigns.unused_days),
        reviewers=reviewers,
        due=day + timedelta(days=template.due_days),
        policy=replace(base.policy, close_policy=template.close_policy or base.policy.close_policy),
        template=template_name,
        period=period if template.recurrence != "none" else None,
    )


def _period(recurrence: str, today: date) -> str:
    if recurrence == "monthly":
        return f"{today.year}-{today.month:02d}"
    if recurrence == "quarterly":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    if recurrence == "yearly":
        return str(today.year)
    return today.isoformat()
