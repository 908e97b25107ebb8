"""Planning a campaign: which grants of which people it reviews, why each is there (path,
conflicts, drift, earlier decisions) and who reviews it. Pure: an analysis in, item drafts out.

Whether a grant takes part in a conflict is the rules engine's answer (`takes_part`, through its
two tests `satisfies` and `scopes_of`, asked once per rule and holding), not decided again here.
"""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring as _encode_str
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import chain, repeat
from operator import itemgetter
from typing import AbstractSet, Any, Callable, Mapping, Sequence

from ..analysis import Analysis
from ..config import CampaignTemplate, Config
from ..errors import ConfigError, InputError
from ..graph import Step
from ..model import EdgeKind, Grant, Kind, Person, Resource, subject_repo
from ..rules.engine import repo_apps, satisfies, scopes_of, where_value
from ..rules.pack import MOVER
from ..usage import Usage, UsageIndex
from .assigning import Decide, _assign, manager_for, reviewer_of  # noqa: F401 (`_assign`, `manager_for`: moved there)
from .people import aliases_of, dict_lookup, resolve
from .routes import RouteHops, reachable_grants_of, reached_principals
from .values import CampaignSpec, ConflictRef, Policy, PreviousDecision, ReviewerRules, Scope
from .vocabulary import PENDING, PRODUCTION, dumps, norm, utc_today


@dataclass(slots=True)
class ItemDraft:
    """An item before it is stored: everything the reviewer will see. Planning fills in the
    reviewer and any earlier decision in place (a campaign has hundreds of thousands)."""

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
    key: str = ""  # the grant's key (as stored; computed from the grant when not given)

    usage: Usage = Usage()
    path_json: str = ""  # `path` as stored (JSON), when planning wrote it already

    @property
    def grant_key(self) -> str:
        return self.key or self.grant.key


def held_pairs(analysis: Analysis, *, tier: str | None = None,
               grant_principals: Sequence[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """(person, grant key) for every capability-conferring grant (on a resource of ``tier``)
    every person reaches. ``grant_principals`` (for a stored analysis: `store.review.grant_principals`
    of its snapshot) spares decoding the grants: which principal holds which is all it takes."""
    return {(person, key) for person, keys in held_by_person(
        analysis, tier=tier, grant_principals=grant_principals).items() for key in keys}


def held_by_person(analysis: Analysis, *, tier: str | None = None,
                   grant_principals: Sequence[tuple[str, str]] | None = None) -> dict[str, frozenset[str]]:
    """`held_pairs` by person: each person who reaches any such grant -> their keys. Made and
    pickled in a fraction of the time of the pairs (a campaign's baseline comes from a forked child)."""
    reached = reached_principals(analysis)
    people = analysis.identities.people
    if grant_principals is None or reached is None:
        found = {person: frozenset(analysis.reachable_grants(person, tier=tier)) for person in people}
    else:
        keys_of: dict[str, list[str]] = defaultdict(list)
        for key, principal in grant_principals:
            keys_of[principal].append(key)
        get = keys_of.get
        found = {person: frozenset(chain.from_iterable(map(get, reached(person), repeat(())))) for person in people}
    return {person: keys for person, keys in found.items() if keys}


def _fingerprint(grant: Grant, route: Sequence[Step], key: str = "") -> str:
    data = [key or grant.key, sorted(grant.capabilities), [[s.kind, s.key] for s in route], grant.condition,
            grant.expires or ""]
    return hashlib.sha256(dumps(data).encode()).hexdigest()


def _json_text(value: Any) -> str:
    """`dumps(value)`, for a str without the encoder's Python layers (the same C function writes it)."""
    return _encode_str(value) if type(value) is str else dumps(value)


def _json_list(values: list[Any]) -> str:
    """`dumps(values)`, for a list of str written item by item as `_json_text` does."""
    if all(type(v) is str for v in values):
        return "[" + ", ".join(map(_encode_str, values)) + "]"
    return dumps(values)


_Parts = tuple[tuple[str, ...], str, str, tuple[str, ...]]
_NO_ROUTE: _Parts = ((), "", "", ())


class _RouteTexts:
    """A route's steps as an item keeps them (text, JSON, the fingerprint's [kind, key]), worked
    out once per step: a stored analysis hands out the same step objects for every route that
    shares them (a person's hops to a principal, a grant's own two steps), and a campaign has
    hundreds of thousands of items over a few thousand of those."""

    def __init__(self, principals: Mapping[str, Any]):
        self._principals = principals
        self._steps: dict[int, tuple[Step, str, str, str, str]] = {}  # id -> (step, text, JSON, [kind, key], team)
        self._values: dict[Step, tuple[Step, str, str, str, str]] = {}  # the same, by value (an edge's, for anyone)
        self._grants: dict[str, tuple[str, str]] = {}  # grant key -> the fingerprint's JSON before and after the route

    def _step(self, step: Step) -> tuple[Step, str, str, str, str]:
        found = self._steps.get(id(step))
        if found is None or found[0] is not step:  # (kept with the step: an id is only unique while it lives)
            found = self._values.get(step)
            if found is None:
                text = str(step)
                team = step.key if step.kind == EdgeKind.MEMBER_OF and getattr(
                    self._principals.get(step.key), "kind", "") == Kind.TEAM else ""
                kind, key = step.kind, step.key
                found = self._values[step] = (
                    step, text, _json_text(text),
                    f"[{_json_text(kind)}, {_json_text(key)}]" if type(kind) is str and type(key) is str
                    else dumps([kind, key]), team)
            found = self._steps[id(step)] = (step, *found[1:])
        return found

    def parts(self, steps: Sequence[Step]) -> "_Parts":
        """Part of a route: its texts, their JSON (as `dumps` writes a list's items), its hops as
        the fingerprint lists them (JSON, without the brackets) and the teams it goes through."""
        found = [self._step(s) for s in steps]
        return (tuple(p[1] for p in found), ", ".join(p[2] for p in found), ", ".join(p[3] for p in found),
                tuple(dict.fromkeys(p[4] for p in found if p[4])))

    def extend(self, parts: "_Parts", step: Step) -> "_Parts":
        """`parts` of a route part and one more step, from the part's."""
        _, text, json, hop, team = self._step(step)
        texts, jsons, hops, teams = parts
        if not texts:
            return self.parts((step,))
        return ((*texts, text), f"{jsons}, {json}", f"{hops}, {hop}",
                teams if not team or team in teams else (*teams, team))

    @staticmethod
    def join(head: "_Parts", tail: "_Parts | None") -> tuple[tuple[str, ...], str, str, tuple[str, ...]]:
        """The whole route's texts, their JSON list, its hops (for `fingerprint`) and its teams."""
        if tail is None or head is _NO_ROUTE:
            return (), "[]", "", ()
        if not head[0] or not tail[0]:  # (a route has the person and the grant's steps: not seen)
            return (head[0] + tail[0], f"[{head[1]}{tail[1]}]", head[2] + tail[2],
                    tuple(dict.fromkeys(head[3] + tail[3])))
        teams = head[3] if not tail[3] else tuple(dict.fromkeys(head[3] + tail[3]))
        return head[0] + tail[0], f"[{head[1]}, {tail[1]}]", f"{head[2]}, {tail[2]}", teams

    def fingerprint(self, grant: Grant, key: str, hops: str) -> str:
        """`_fingerprint(grant, route, key)`, from the route's hops as `of` gives them."""
        around = self._around(grant, key)
        return hashlib.sha256((around[0] + hops + around[1]).encode()).hexdigest()

    def _around(self, grant: Grant, key: str) -> tuple[str, str]:
        """What the text `fingerprint` hashes has before and after a route's hops, for this grant."""
        around = self._grants.get(key)
        if around is None:
            around = self._grants[key] = (
                "[" + _json_text(key) + ", " + _json_list(sorted(grant.capabilities)) + ", [",
                "], " + _json_text(grant.condition) + ", " + _json_text(grant.expires or "") + "]")
        return around

    def ends(self, grant: Grant, key: str, tail: "_Parts") -> tuple[str, str, str]:
        """Of a grant and its own steps (``tail``, not empty): what follows a head's JSON in the
        route's JSON list (`join`), and what comes before and after a head's hops in the text the
        fingerprint hashes (`fingerprint`): a route's are then `"[" + head JSON + ends[0]` and
        `ends[1] + head hops + ends[2]`."""
        around = self._around(grant, key)
        return f", {tail[1]}]", around[0], f", {tail[2]}{around[1]}"


# a holding's capability, repo, tier, app and system (`Holding`'s fields 1, 3, 4, 5, 6): what
# `_Conflicts` tests read of it besides the attributes a `where` names
_HOLDING_KIND = itemgetter(1, 3, 4, 5, 6)


class _Conflicts:
    """The conflict findings of one person each of their grants takes part in: those any holding
    the grant gives takes part in (`takes_part`), its own holdings and those it also confers by
    another route (the same resource and capability). Each holding is tested once, each kind of
    holding (what the tests read of it) once per rule, however many items share them."""

    def __init__(self, findings: Sequence[Any], holdings: Sequence[Any], repo_app: Mapping[str, str],
                 tested: dict[Any, Any] | None = None):
        # ``tested``: (rule id, what a `where` names, kind of holding) -> the scopes the holding counts in
        # for that rule where it meets one of its requirements, else None; shared by everyone's
        # `_Conflicts` (people hold the same kinds of holdings: the same repositories and apps)
        tested = {} if tested is None else tested
        # `takes_part` per rule: a holding meets one of its requirements (whatever the scope), then
        # the scopes it counts in are worked out once for each of the rule's findings (their scopes)
        rules: dict[str, tuple[Any, list[tuple[int, str]]]] = {}
        for n, f in enumerate(findings):
            rules.setdefault(f.rule.id, (f.rule, []))[1].append((n, f.scope))
        # those two tests read only a holding's capability, tier, system, repo, app and what a `where` names
        named = tuple(dict.fromkeys(k for rule, _ in rules.values() for req in rule.requirements for k in req.where))
        self._refs = [ConflictRef(f.id, f.rule.id, f.rule.title, f.rule.severity, f.scope) for f in findings]
        self._by_grant: dict[str, int] = defaultdict(int)  # grant key -> its holdings' findings (bit n: finding n)
        self._on: dict[str, dict[str, int]] = {}  # resource -> capability -> the same
        # (a holding of a capability no requirement names meets none: skipped without a look)
        named_capabilities: set[str] | None = {req.capability for rule, _ in rules.values() for req in rule.requirements}
        if "*" in named_capabilities:
            named_capabilities = None
        masks: dict[Any, int] = {}
        kind_of = _HOLDING_KIND
        for h in holdings:
            if named_capabilities is not None and h.capability not in named_capabilities:
                continue
            seen: Any = kind_of(h) if not named else (*kind_of(h), *(where_value(h, k) for k in named))
            try:
                mask = masks.get(seen)
            except TypeError:  # (an attribute that is a list or a table: this holding alone)
                seen = id(h)
                mask = masks.get(seen)
            if mask is None:
                mask = 0
                for rule, scoped in rules.values():
                    found = tested.get((rule.id, named, seen), False) if type(seen) is tuple else False
                    if found is False:
                        found = scopes_of(h, rule.same, repo_app) if any(
                            satisfies(h, req) for req in rule.requirements) else None
                        if type(seen) is tuple:
                            tested[(rule.id, named, seen)] = found
                    if found:
                        for n, scope in scoped:
                            if scope in found:
                                mask |= 1 << n
                masks[seen] = mask
            if mask:
                self._by_grant[h.grant] |= mask
                on = self._on.get(h.resource)
                if on is None:
                    on = self._on[h.resource] = {}
                on[h.capability] = on.get(h.capability, 0) | mask
        self._answers: dict[int, tuple[ConflictRef, ...]] = {0: ()}

    def of(self, key: str, grant: Grant) -> tuple[ConflictRef, ...]:
        found = self._by_grant.get(key, 0)
        on = self._on.get(grant.resource)
        if on is not None:  # (a grant on a resource none of those holdings is on: nothing to look up)
            for capability in grant.capabilities:
                found |= on.get(capability, 0)
        answer = self._answers.get(found)
        if answer is None:
            answer = self._answers[found] = tuple(r for n, r in enumerate(self._refs) if found >> n & 1)
        return answer


def _keys_by_person(pairs: AbstractSet[tuple[str, str]] | None) -> Callable[[str], AbstractSet[str]] | None:
    """Of a baseline's (person, grant key) pairs, a person's keys (empty where none): looked up once
    per person rather than a pair per item (a campaign's baseline comes by person already:
    `AheadPairs.seconds_of`)."""
    if pairs is None:
        return None
    seconds_of = getattr(pairs, "seconds_of", None)
    if seconds_of is not None:
        return seconds_of  # type: ignore[no-any-return]
    by: dict[str, set[str]] = defaultdict(set)
    for person, key in pairs:
        by[person].add(key)
    none: frozenset[str] = frozenset()
    return lambda person: by.get(person, none)


def _conflict_capabilities(findings_of: Mapping[str, Sequence[Any]]) -> dict[str, set[str] | None]:
    """Of each person with a conflict finding, the capabilities its rules' requirements name (None:
    any, where one names "*"): `_Conflicts` skips holdings of the others unseen, so they need not
    be decoded (a stored analysis's: about three quarters of them)."""
    named: dict[str, set[str] | None] = {}
    for person, found in findings_of.items():
        capabilities = {req.capability for f in found for req in f.rule.requirements}
        named[person] = None if "*" in capabilities else capabilities
    return named


def _grant_repo(resource: Resource | None) -> str:
    """The GitHub repository a resource is or belongs to ("" for anything else)."""
    if resource is None or resource.system != "github":
        return ""
    if resource.kind == "repo":
        return resource.id
    return resource.parent.removeprefix("github:repo:") if resource.parent.startswith("github:repo:") else ""


def _item_app(resource: Resource | None, route: Sequence[Step], principals: Mapping[str, Any],
              repo_app: Mapping[str, str]) -> str:
    """The app an item concerns: its resource's, else its repository's, else (a cloud grant reached
    through a CI workflow) the app of the repository whose workflow is nearest the grant on the route."""
    app = (resource.app if resource else "") or repo_app.get(_grant_repo(resource), "")
    if app:
        return app
    for step in reversed(route):
        if step.system == "ci":
            principal = principals.get(step.key)
            if principal is not None and principal.kind == Kind.WORKLOAD:
                repo = str(principal.attrs.get("repo", "")) or subject_repo(principal.id)
                if repo:
                    return repo_app.get(repo, "")
    return ""


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
    """The items of a campaign on one analysed snapshot (computed, or stored beside it): no
    writes.

    ``baseline`` is the (person, grant) pairs of the snapshot new grants are measured
    against; ``previous`` maps (person, grant) to an earlier decision and its fingerprint;
    ``aliases`` (`people.aliases_of`, computed when not given) says who each reviewer is.
    An item's path is the shortest route from the person to its grant.
    """
    if aliases is None:
        aliases = aliases_of(analysis.snapshot, analysis.identities, config.identity)
    if scope.kind == "emergency":
        assigned = _assign(use_drafts(analysis, scope, aliases), config, reviewers,
                           analysis.team_maintainers() if "team-maintainer" in reviewers.rules else {},
                           dict_lookup(aliases))
        return [_with_previous(d, previous) for d in assigned] if previous else assigned
    people, plan = planner(analysis, config, scope, reviewers, baseline=baseline, previous=previous, aliases=aliases)
    return plan(people)


def planner(
    analysis: Analysis,
    config: Config,
    scope: Scope,
    reviewers: ReviewerRules,
    *,
    baseline: set[tuple[str, str]] | None,
    previous: Mapping[tuple[str, str], tuple[PreviousDecision, str]] | None,
    aliases: Mapping[str, Mapping[str, str]],
) -> tuple[list[tuple[Person, int]], Callable[..., list[Any]]]:
    """`plan_items` (any scope but "emergency") in two steps: what all items share worked out once,
    then the people who may have items (with how many grants each reaches, in the order their items
    come) and what plans the items of any run of them. The items of consecutive runs, put together,
    are `plan_items`' but for a reviewer taken in turn from a fixed list (the turn runs on across
    people): with that rule, plan everyone at once."""
    snapshot, identities = analysis.snapshot, analysis.identities
    principals, resources = snapshot.principals, snapshot.resources
    repo_app = repo_apps(resources)
    findings_of: dict[str, list[Any]] = defaultdict(list)
    moved: dict[str, set[str]] = defaultdict(set)  # mover -> grant keys behind the old team's capabilities
    for finding in analysis.findings:
        if finding.person and finding.rule.kind == "conflict":
            findings_of[finding.person].append(finding)
        if finding.person and finding.rule.condition == MOVER and not finding.covered:
            moved[finding.person].update(h.grant for h in finding.holdings)
    tier = PRODUCTION if scope.kind in ("production", "drift", "unused") else None
    baseline_of = _keys_by_person(baseline)
    reach: dict[str, dict[str, Grant]] = reachable_grants_of(analysis, identities.people, tier)
    holders = Counter(chain.from_iterable(reach.values()))  # (each person's grant keys)
    members: set[str] | None = None
    if scope.teams:
        members = set().union(*(analysis.team_members(team) for team in scope.teams))
    lookup = dict_lookup(aliases)
    # a person named by any spelling: their key, an account, an alias
    people_filter = {k for p in scope.people for k in (norm(p), *resolve(p, lookup).people)}
    systems = set(scope.systems)
    maintainers = analysis.team_maintainers() if "team-maintainer" in reviewers.rules else {}
    analysis.prepare_routes()
    usage_of = UsageIndex(snapshot)
    # a production grant unused this many days is suggested for revocation in every campaign
    idle_days = scope.unused_days if scope.kind == "unused" else config.campaigns.unused_days
    texts = _RouteTexts(principals)
    # a stored analysis draws the hops to each principal once per person, each from its parent's
    # (their texts extended by a step), each edge's step once for everyone
    routes = RouteHops(analysis, texts.parts, texts.extend)
    # places where an account's own use may answer: elsewhere a grant's usage is the grant's alone
    used_at = {resource for _, resource in usage_of.by_principal}
    tails: dict[str, _Parts] = {}  # grant key -> its own two steps' parts
    tail_ends: dict[str, tuple[str, str, str]] = {}  # grant key -> `_RouteTexts.ends` of them
    # grant key -> its resource, the item's principal and resource names, tier, the team holding
    # it ("" for no team), its capabilities as an item row has them, how many others reach it, the
    # resource's app, and its usage and that usage's JSON where the usage is the grant's alone (else
    # None): the same on every item of that grant, looked up once
    about: dict[str, tuple[Resource | None, str, str, str, str, str, int, str, Usage | None, str | None]] = {}
    order: dict[str, tuple[str, str, str]] = {}  # grant key -> where its items come among a person's
    tested: dict[Any, Any] = {}  # what `_Conflicts` found of a kind of holding for a rule, for everyone
    usage_texts: dict[Usage, str] = {}  # a usage -> its JSON (`Usage.to_json`)
    lists: dict[tuple[Any, ...], str] = {(): "[]"}  # teams, conflicts -> their JSON (a few thousand lists)

    def plan(people: Sequence[tuple[Person, int]], *, rows: bool = False) -> list[Any]:
        """The items of a run of people: drafts, or (``rows``) straight away the rows a campaign
        stores (`campaigns._ROW_COLUMNS`, as `campaigns._draft_rows` makes of the drafts)."""
        # whether a grant takes part in a conflict needs the person's holdings: read those of people with one
        with_findings = {p.key: findings_of[p.key] for p, _ in people if p.key in findings_of}
        holdings_of = analysis.holdings_of_people(with_findings, _conflict_capabilities(with_findings))
        if rows:
            return _plan(people, holdings_of, reviewer_of(config, reviewers, maintainers, lookup, identities.roster))
        assigned = _assign(_plan(people, holdings_of, None), config, reviewers, maintainers, lookup, identities.roster)
        if previous:
            assigned = [_with_previous(d, previous) for d in assigned]
        return assigned

    def _plan(people: Sequence[tuple[Person, int]], holdings_of: Mapping[str, Sequence[Any]],
              decide: Decide | None) -> list[Any]:
        out: list[Any] = []
        kind, apps = scope.kind, scope.apps
        sha256 = hashlib.sha256
        memo = "fixed" not in reviewers.rules  # (a fixed list's turn runs on from item to item)
        for person, _ in people:
            grants = reach[person.key]
            heads: dict[str, _Parts] = {}  # principal -> the parts of the person's route to it
            hops_to = routes.of(person.key)
            if kind == "leavers" and not person.is_leaver:
                continue
            if kind == "movers" and person.key not in moved:
                continue
            accounts = tuple(a.principal for a in person.accounts)
            if members is not None and person.key not in members:
                continue
            if people_filter and norm(person.key) not in people_filter and not (
                    people_filter & {norm(a) for a in accounts}):
                continue
            conflicts_of = findings_of.get(person.key, ())
            in_conflicts = (_Conflicts(conflicts_of, holdings_of.get(person.key, ()), repo_app, tested)
                            if conflicts_of else None)
            if kind == "conflicts" and not conflicts_of:
                continue
            pk, name, status = person.key, person.display_name, person.status
            then = baseline_of(pk) if baseline_of is not None else None  # (the keys they reached then)
            manager = person.roster.manager if person.roster else ""
            department = person.roster.department if person.roster else ""
            accounts_json = dumps(list(accounts))
            decided: dict[tuple[str, tuple[str, ...]], tuple[str, str, str]] = {}  # (app, teams) -> reviewer
            for key in [k for k in grants if k not in order]:
                grant = grants[key]
                order[key] = (grant.resource, grant.entitlement, key)
            for key in sorted(grants, key=order.__getitem__):
                grant = grants[key]
                known = about.get(key)
                if known is None:
                    resource = resources.get(grant.resource)
                    principal = principals.get(grant.principal)
                    # its usage where no account's own use can answer (the grant's alone), and that as stored
                    usage = None if grant.resource in used_at else usage_of.of(grant, accounts).suggest(idle_days)
                    text = None if usage is None else usage_texts.get(usage)
                    if usage is not None and text is None:
                        text = usage_texts[usage] = usage.to_json()
                    known = about[key] = (
                        resource, principal.label if principal else grant.principal,
                        resource.label if resource else grant.resource, resource.tier if resource else "",
                        grant.principal if principal is not None and principal.kind == Kind.TEAM else "",
                        " ".join(grant.capabilities), holders[key] - 1,
                        # the resource's app, else its repository's: the same for every item on it
                        (resource.app if resource else "") or repo_app.get(_grant_repo(resource), ""), usage, text)
                resource = known[0]
                if kind == "drift" and then is not None and key in then:
                    continue
                if kind == "movers" and key not in moved[pk]:
                    continue
                if systems and not systems & {grant.system, grant.resource.split(":", 1)[0]}:
                    continue
                if apps and resource is not None and resource.app and resource.app not in apps:
                    continue
                usage, usage_text = known[8], known[9]
                if usage is None:  # (an account's own use may answer)
                    usage = usage_of.of(grant, accounts).suggest(idle_days)
                if kind == "unused" and not usage.unused_for(scope.unused_days):
                    continue
                # the route: the person's hops to the grant's principal (the same for each of its grants),
                # then the grant's own two steps (the same for everyone); drawn once per person and principal
                head, tail = heads.get(grant.principal), tails.get(key)
                if hops_to is not None and (head is None or tail is None):  # (a stored analysis)
                    if head is None:
                        head = heads[grant.principal] = hops_to(grant.principal) or _NO_ROUTE
                    if tail is None and head is not _NO_ROUTE:
                        tail = tails[key] = texts.parts(routes.grant_steps(grant, key))
                elif head is None or tail is None:
                    route = analysis.grant_route(pk, grant)
                    if route:
                        head = heads[grant.principal] = texts.parts(route[:-2])
                        tail = tails[key] = texts.parts(route[-2:])
                    else:  # (not reached: no route to any grant of that principal)
                        head = heads[grant.principal] = _NO_ROUTE
                app = known[7]
                if not app:
                    app = _item_app(resource, analysis.grant_route(pk, grant), principals, repo_app)
                if apps and app not in apps:
                    continue
                conflicts = in_conflicts.of(key, grant) if in_conflicts is not None else ()
                if kind == "conflicts" and not conflicts:
                    continue
                if decide is not None and tail is not None and head[0] and tail[0]:  # (a row: no path tuple)
                    ends = tail_ends.get(key)
                    if ends is None:
                        ends = tail_ends[key] = texts.ends(grant, key, tail)
                    path_json = "[" + head[1] + ends[0]
                    teams = head[3] if not tail[3] else tuple(dict.fromkeys(head[3] + tail[3]))
                    fingerprint = sha256((ends[1] + head[2] + ends[2]).encode()).hexdigest()
                else:
                    path, path_json, hops, teams = texts.join(head, tail)
                    fingerprint = texts.fingerprint(grant, key, hops)
                team = known[4]
                if team and team not in teams:
                    teams = teams + (team,)
                is_new = then is not None and key not in then
                if decide is None:
                    out.append(ItemDraft(
                        grant=grant, person=pk, person_name=name, accounts=accounts,
                        principal_name=known[1], resource_name=known[2], tier=known[3], app=app,
                        path=path, teams=teams, conflicts=conflicts, holders=known[6], is_new=is_new,
                        fingerprint=fingerprint, key=key, person_status=status, person_manager=manager,
                        person_department=department, usage=usage, path_json=path_json,
                    ))
                    continue
                # the row: `campaigns._draft_rows` of the draft above, after `_assign` and `_with_previous`
                found = decided.get((app, teams)) if memo else None
                if found is None:
                    found = decide(pk, accounts, app, teams)
                    if memo:
                        decided[(app, teams)] = found
                earlier = ""
                if previous:
                    was = previous.get((pk, key))
                    if was is not None:
                        p = was[0]
                        earlier = dumps({"campaign_id": p.campaign_id, "campaign_name": p.campaign_name,
                                         "decision": p.decision, "by": p.by, "at": p.at,
                                         "unchanged": was[1] == fingerprint})
                if usage_text is None:
                    usage_text = usage_texts.get(usage)
                    if usage_text is None:
                        usage_text = usage_texts[usage] = usage.to_json()
                teams_json = lists.get(teams)
                if teams_json is None:
                    teams_json = lists[teams] = dumps(list(teams))
                conflicts_json = lists.get(conflicts) if conflicts else "[]"  # (ConflictRefs: never teams)
                if conflicts_json is None:
                    conflicts_json = lists[conflicts] = dumps([c.__dict__ for c in conflicts])
                out.append((
                    key, pk, name, accounts_json, grant.system, grant.principal, known[1], grant.entitlement,
                    grant.resource, known[2], known[3], app, known[5], grant.via, grant.detail, grant.condition,
                    grant.expires, grant.last_used, path_json, teams_json, conflicts_json, known[6], is_new, earlier,
                    fingerprint, *found, PENDING, None, None, None, 0, status, manager, department, usage_text))
        return out

    return [(p, len(reach[p.key])) for p in identities.people.values() if reach[p.key]], plan


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
    members = set().union(*(analysis.team_members(t) for t in scope.teams)) if scope.teams else None
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
        capabilities = tuple(sorted({h.capability for h in analysis.holdings(use.person)
                                     if h.emergency and use.path in analysis.marks_of(h).emergency}))
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
    found = previous.get((draft.person, draft.grant_key))
    if found is None:
        return draft
    decision, fingerprint = found
    draft.previous = replace(decision, unchanged=fingerprint == draft.fingerprint)
    return draft


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
