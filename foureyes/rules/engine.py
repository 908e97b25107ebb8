"""Where a rule is decided: capability holdings in, findings out. No I/O, no graph walking.

Conflict rules look at one person's holdings; posture rules at resources and principals;
roster rules at a person's roster record and holdings, or at identity-provider groups
(`roster_rules`). A finding's id is a hash of rule, person and scope, so it survives re-snapshots.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import compress
from operator import itemgetter
from typing import Any, Iterable, Mapping, Sequence

from ..changes import Fact, ProofStep
from ..graph import Graph, Holding, Step
from ..model import Edge, Person, Principal, Resource, severity_rank, stable_hash
from .pack import ACTIVITY, ANY, CONFLICT, GROUP_DRIFT, MOVER, POSTURE, ROSTER, Requirement, Rule, RulePack
from .roster_rules import Peers, RosterFacts, drift_findings, person_findings
from .waivers import Waiver

EVIDENCE_PER_REQUIREMENT = 5
# Holding fields a requirement's `where` may name besides the grant's attributes.
_HOLDING_FLAGS = frozenset({"latent", "escalation", "time_bound", "emergency"})
_ABSENT = object()  # (an attribute a subject lacks: equal to no value)
_TIER = itemgetter(Holding._fields.index("tier"))
_REPO_APP = itemgetter(Holding._fields.index("repo"), Holding._fields.index("app"))


@dataclass(frozen=True)
class Exposure:
    """A person who can exploit a posture finding: the path to what it leaves open, or the
    holding that exploits it (for rules whose exposure is a capability on the subject; its
    path is the graph's, drawn when shown: `Analysis.path`)."""

    person: str
    steps: tuple[Step, ...] = ()
    holding: Holding | None = None


@dataclass(frozen=True)
class Finding:
    id: str
    rule: Rule
    person: str  # person key; "" for posture findings
    scope: str  # "app:payments", "repo:acme/api", "any", or a resource/principal key
    subject: str  # the person key, or the resource/principal key of a posture finding
    subject_label: str
    evidence: tuple[tuple[Requirement, tuple[Holding, ...]], ...] = ()
    waiver: Waiver | None = None
    expired_waivers: tuple[Waiver, ...] = ()
    # posture findings: the subject's settings that matched (and the rule's `show` ones), and
    # the people who can exploit them, each with a path
    settings: tuple[tuple[str, Any], ...] = ()
    exposed: tuple[Exposure, ...] = ()
    # roster findings: days since leaving, departments, the IdP group and who differs (JSON-safe)
    facts: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    fact: Fact | None = None  # activity findings: what happened, with its proof hop by hop

    @property
    def proof(self) -> tuple[ProofStep, ...]:
        return self.fact.proof if self.fact is not None else ()

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def capabilities(self) -> tuple[str, ...]:
        named = getattr(self.evidence, "capabilities", None)  # a stored finding's, read without its holdings
        found = named() if named is not None else None
        return found if found is not None else tuple(dict.fromkeys(h.capability for _, hs in self.evidence for h in hs))

    @property
    def holdings(self) -> tuple[Holding, ...]:
        return tuple(h for _, hs in self.evidence for h in hs)

    @property
    def covered(self) -> bool:
        return self.waiver is not None

    def at_least(self, severity: str) -> bool:
        return severity_rank(self.severity) >= severity_rank(severity)


def finding_id(rule_id: str, person: str, scope: str) -> str:
    return f"{rule_id}:{stable_hash(rule_id, person, scope, length=10)}"


@dataclass
class PeoplePass:
    """What the rules find person by person, for a run of people: their findings (in people
    order) and their holdings on the subjects of posture rules that expose a capability
    (`on_subject`, resource key -> holdings, in people order). Runs of people passed in order
    and `merged` make the pass over all of them."""

    findings: list[Finding] = field(default_factory=list)
    on_subject: dict[str, list[Holding]] = field(default_factory=dict)

    def merged(self, later: "PeoplePass") -> "PeoplePass":
        on_subject = {key: list(held) for key, held in self.on_subject.items()}
        for key, held in later.on_subject.items():
            on_subject.setdefault(key, []).extend(held)
        return PeoplePass(self.findings + later.findings, on_subject)


class Rules:
    """A pack's rules over one organisation, in two steps: `people` (conflict and roster rules, a
    person at a time: a run of people may be passed elsewhere, a forked child's) and `finish`
    (posture, activity and group-drift rules, then the exceptions). `evaluate` is both."""

    def __init__(self, pack: RulePack, *, resources: Mapping[str, Resource], principals: Mapping[str, Principal],
                 roster: RosterFacts | None = None):
        self.pack, self.resources, self.principals, self.roster = pack, resources, principals, roster
        self.repo_app = repo_apps(resources)
        self.conflict_rules = [r for r in pack if r.kind == CONFLICT]
        self.people_rules = [r for r in pack if r.kind == ROSTER and r.condition != GROUP_DRIFT] if roster else []
        self.posture = [(r, posture_subjects(r, resources, principals)) for r in pack if r.kind == POSTURE]
        # Holdings on the subjects of posture rules that name a capability: their exposure.
        self.exposing = {key for rule, subjects in self.posture if rule.exposes and rule.exposes.capability
                         for key, _, _ in subjects}
        self.exposing_capabilities = {rule.exposes.capability for rule, subjects in self.posture
                                      if subjects and rule.exposes and rule.exposes.capability}
        self._scopes: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {}  # `scopes_of` by same, (repo, app)

    @property
    def needs_everyone(self) -> bool:
        """Whether a person's findings depend on everyone's holdings (mover rules against a
        baseline compare with the peers of both departments): then no run of people is passed alone."""
        roster = self.roster
        return bool(roster is not None and roster.departments_then
                    and any(r.condition == MOVER for r in self.people_rules))

    def people(self, people: Iterable[Person], holdings_of: Mapping[str, Sequence[Holding]]) -> PeoplePass:
        """The conflict and roster rules over these people (all of them, with everyone's holdings,
        where `needs_everyone`)."""
        roster = self.roster
        conflict_rules, people_rules, repo_app, scopes = self.conflict_rules, self.people_rules, self.repo_app, self._scopes
        exposing, exposing_capabilities = self.exposing, self.exposing_capabilities
        peers = Peers(holdings_of, roster.departments_now) if roster is not None and self.needs_everyone else None
        findings: list[Finding] = []
        on_subject: dict[str, list[Holding]] = defaultdict(list)
        for person in people:
            holdings = holdings_of.get(person.key, ())
            if not holdings:
                continue
            by_capability: dict[str, list[Holding]] = defaultdict(list)
            for holding in holdings:
                by_capability[holding.capability].append(holding)
            for capability in exposing_capabilities:
                for holding in by_capability.get(capability, ()):
                    if holding.resource in exposing:
                        on_subject[holding.resource].append(holding)
            # Reached only through a declared emergency path: not standing access, so no standing conflict
            # (its uses are reviewed instead: foureyes.emergency).
            if any(h.emergency for h in holdings):
                holdings = [h for h in holdings if not h.emergency]
                by_capability = defaultdict(list)
                for holding in holdings:
                    by_capability[holding.capability].append(holding)
            found: list[Finding] = []
            shared: dict[Any, dict[str, list[Holding]]] = {}  # a requirement's holdings by scope, once per person
            for rule in conflict_rules:
                found.extend(conflict_findings(rule, person, holdings, repo_app, by_capability=by_capability,
                                               scopes=scopes, shared=shared))
            for rule in people_rules:
                assert roster is not None
                made = person_findings(rule, person, holdings, roster, peers, satisfies)
                if made is not None:
                    held, person_facts = made
                    found.append(Finding(id=finding_id(rule.id, person.key, ANY), rule=rule, person=person.key,
                                         scope=ANY, subject=person.key, subject_label=person.display_name,
                                         evidence=((rule.any_of[0], held),), facts=person_facts))
            if found:
                findings.extend(_suppress(found))
        return PeoplePass(findings, dict(on_subject))

    def finish(self, passed: PeoplePass, *, waivers: Sequence[Waiver] = (), today: Any = None,
               graph: Graph | None = None, facts: Sequence[Fact] = ()) -> list[Finding]:
        """Everyone's findings: those ``passed`` (`people`, over everyone, in order), then the
        posture, activity and group-drift rules', exceptions attached."""
        findings = list(passed.findings)
        for rule, subjects in self.posture:
            findings.extend(posture_findings(rule, self.resources, self.principals, subjects=subjects,
                                             on_subject=passed.on_subject, graph=graph))
        roster = self.roster
        for rule in self.pack:
            if rule.kind == ACTIVITY:
                findings.extend(activity_findings(rule, facts))
            if rule.kind == ROSTER and rule.condition == GROUP_DRIFT and roster is not None:
                for feed, feed_facts in drift_findings(rule, roster):
                    findings.append(Finding(id=finding_id(rule.id, "", feed.target + "\x00" + feed.idp_group),
                                            rule=rule, person="", scope=feed.target, subject=feed.target,
                                            subject_label=feed.target_label, facts=feed_facts))
        return attach_waivers(findings, waivers, today=today)


def evaluate(
    pack: RulePack,
    *,
    people: Iterable[Person],
    holdings_of: Mapping[str, Sequence[Holding]],
    resources: Mapping[str, Resource],
    principals: Mapping[str, Principal],
    waivers: Sequence[Waiver] = (),
    today: Any = None,
    graph: Graph | None = None,
    facts: Sequence[Fact] = (),
    roster: RosterFacts | None = None,
) -> list[Finding]:
    """All findings of the pack, suppressions applied and exceptions attached.

    With the ``graph``, posture findings carry the people they expose and their paths;
    ``facts`` (from the activity of the review period, `foureyes.changes`) feed the activity rules.
    Roster rules need ``roster`` (people carry their records; without it they stay silent).
    """
    rules = Rules(pack, resources=resources, principals=principals, roster=roster)
    return rules.finish(rules.people(people, holdings_of), waivers=waivers, today=today, graph=graph, facts=facts)


def activity_findings(rule: Rule, facts: Sequence[Fact]) -> list[Finding]:
    """One finding per fact of the rule's kind whose fields (or attributes) equal ``when``."""
    out = []
    for fact in facts:
        if fact.kind != rule.fact or not fact.person:
            continue
        if all(_fact_value(fact, key) == wanted for key, wanted in rule.when.items()):
            out.append(Finding(id=finding_id(rule.id, fact.person, fact.scope), rule=rule, person=fact.person,
                               scope=fact.scope, subject=fact.person, subject_label=fact.person_label, fact=fact))
    return sorted(out, key=lambda f: (f.fact.at if f.fact else "", f.scope))


def _fact_value(fact: Fact, key: str) -> Any:
    if key in ("tier", "repo", "app"):
        return getattr(fact, key)
    return fact.attrs.get(key)


def conflict_findings(rule: Rule, person: Person, holdings: Sequence[Holding],
                      repo_app: Mapping[str, str], *,
                      by_capability: Mapping[str, Sequence[Holding]] | None = None,
                      scopes: dict[str, dict[tuple[str, str], tuple[str, ...]]] | None = None,
                      shared: dict[Any, dict[str, list[Holding]]] | None = None) -> list[Finding]:
    """The rule's findings for one person. ``scopes`` caches `scopes_of` by same, then (repo, app), across
    the calls of one evaluation (the same ``repo_app``): a million holdings share a few thousand.
    ``shared`` keeps, across the rules of one person, each requirement's holdings by scope: rules
    that ask the same of the same scope (pushing anywhere, deploying to production) share them."""
    if rule.subject == "linked" and not person.linked:
        return []
    if rule.subject == "unlinked" and person.linked:
        return []
    if by_capability is None:
        grouped: dict[str, list[Holding]] = defaultdict(list)
        for holding in holdings:
            grouped[holding.capability].append(holding)
        by_capability = grouped

    def candidates(requirement: Requirement) -> Sequence[Holding]:
        return holdings if requirement.capability == "*" else by_capability.get(requirement.capability, ())

    if rule.all_of and any(not candidates(r) for r in rule.all_of):
        return []  # a capability is missing altogether: nothing to combine
    same = rule.same
    known = {} if scopes is None else scopes
    requirements = rule.requirements
    signatures = [(r.capability, r.tier, r.systems, tuple(r.where.items()) if r.where else (), same)
                  for r in requirements]
    found: list[dict[str, list[Holding]] | None] = [None] * len(requirements)
    common: set[str] | None = None
    order: Sequence[int] = range(len(requirements))
    if rule.all_of:  # those already worked out first, then the fewest candidates: each next one
        # keeps only the scopes all before it have, and none left ends the rule
        order = sorted(order, key=lambda n: (shared is None or signatures[n] not in shared,
                                             len(candidates(requirements[n]))))
    for n in order:
        requirement, key = requirements[n], signatures[n]
        by_scope = shared.get(key) if shared is not None else None
        if by_scope is None:
            by_scope = _by_scope(candidates(requirement), requirement, same, repo_app, known, only=common)
            if shared is not None and common is None:
                shared[key] = by_scope  # (read only from here on; one kept to `common` is not shared)
        found[n] = by_scope
        if rule.all_of:
            common = set(by_scope) if common is None else common.intersection(by_scope)
            if not common:
                return []
    per_requirement = [(requirement, by_scope) for requirement, by_scope in zip(requirements, found)
                       if by_scope is not None]
    if common is None:
        common = set().union(*(set(s) for _, s in per_requirement))
    if rule.same == "app":
        apps = {k.removeprefix("app:") for k in common if k.startswith("app:")}
        common = {k for k in common if not (k.startswith("repo:") and repo_app.get(k[5:]) in apps)}
    out = []
    for scope in sorted(common):
        evidence = tuple(
            (req, tuple(sorted(scopes.get(scope, ()), key=lambda h: (h.distance, h.resource))[:EVIDENCE_PER_REQUIREMENT]))
            for req, scopes in per_requirement
            if scopes.get(scope)
        )
        out.append(Finding(
            id=finding_id(rule.id, person.key, scope), rule=rule, person=person.key, scope=scope,
            subject=person.key, subject_label=person.display_name, evidence=evidence,
        ))
    return out


def _by_scope(candidates: Sequence[Holding], requirement: Requirement, same: str, repo_app: Mapping[str, str],
              known: dict[str, dict[tuple[str, str], tuple[str, ...]]], *, only: set[str] | None = None
              ) -> dict[str, list[Holding]]:
    """The candidates meeting a requirement (`satisfies`, inlined: this runs once per holding,
    rule and requirement), by scope, each scope's in the candidates' order; only the scopes in
    ``only`` where given. Candidates hold the requirement's capability unless it is "*"."""
    capability, tier, systems, where = requirement.capability, requirement.tier, requirement.systems, \
        requirement.where
    passing: Sequence[Holding]
    if capability == "*" or systems or where:
        passing = [
            h for h in candidates
            if not ((capability != "*" and h.capability != capability) or (tier != ANY and h.tier != tier)
                    or (systems and h.system not in systems) or (where and not _where_holds(h, where)))]
    elif tier != ANY:  # (the commonest test of all, made in C)
        passing = list(compress(candidates, map(tier.__eq__, map(_TIER, candidates))))
    else:  # (every candidate holds the capability: nothing else is asked)
        passing = candidates
    if same == ANY:  # one scope (`scopes_of`)
        return {ANY: list(passing)} if passing and (only is None or ANY in only) else {}
    by_scope: dict[str, list[Holding]] = defaultdict(list)
    known_same = known.get(same)
    if known_same is None:
        known_same = known[same] = {}
    of = known_same.get
    for holding, where_of in zip(passing, map(_REPO_APP, passing)):
        found_scopes = of(where_of)
        if found_scopes is None:
            found_scopes = known_same[where_of] = tuple(scopes_of(holding, same, repo_app))
        if only is None:
            for scope in found_scopes:
                by_scope[scope].append(holding)
        else:
            for scope in found_scopes:
                if scope in only:
                    by_scope[scope].append(holding)
    return by_scope


def repo_apps(resources: Mapping[str, Resource]) -> dict[str, str]:
    """GitHub repository ("owner/repo") -> the app it belongs to, for same-app scopes."""
    return {r.id: r.app for r in resources.values() if r.system == "github" and r.kind == "repo"}


def takes_part(finding: Finding, holding: Holding, repo_app: Mapping[str, str]) -> bool:
    """Does the holding count toward a conflict finding: it meets one of the rule's requirements
    within the finding's scope (the test `conflict_findings` applies; evidence lists only a few)."""
    return any(satisfies(holding, req) and finding.scope in scopes_of(holding, finding.rule.same, repo_app)
               for req in finding.rule.requirements)


def satisfies(holding: Holding, requirement: Requirement) -> bool:
    """Does the holding meet the requirement (`_by_scope` inlines this test)?"""
    if requirement.capability != "*" and holding.capability != requirement.capability:
        return False
    if requirement.tier != ANY and holding.tier != requirement.tier:
        return False
    if requirement.systems and holding.system not in requirement.systems:
        return False
    return _where_holds(holding, requirement.where) if requirement.where else True


def _where_holds(holding: Holding, where: Mapping[str, Any]) -> bool:
    for key, wanted in where.items():
        if where_value(holding, key) != wanted:
            return False
    return True


def where_value(holding: Holding, key: str) -> Any:
    """What a requirement's ``where`` compares for ``key``: a holding's flag, else its attribute."""
    return getattr(holding, key) if key in _HOLDING_FLAGS else holding.attrs.get(key)


def scopes_of(holding: Holding, same: str, repo_app: Mapping[str, str]) -> set[str]:
    if same == ANY:
        return {ANY}
    keys: set[str] = set()
    if holding.repo:
        keys.add(f"repo:{holding.repo}")
    if same == "app":
        if holding.app:
            keys.add(f"app:{holding.app}")
        if holding.repo and repo_app.get(holding.repo):
            keys.add(f"app:{repo_app[holding.repo]}")
    return keys


def _suppress(findings: list[Finding]) -> list[Finding]:
    """Drop a finding when a rule it names in ``suppressed_by`` fired for the same person."""
    fired: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        fired[f.rule.id].add(f.scope)
    kept = []
    for f in findings:
        suppressors = [fired.get(other, set()) for other in f.rule.suppressed_by]
        if any(scopes and (f.rule.same == ANY or f.scope in scopes) for scopes in suppressors):
            continue
        kept.append(f)
    return kept


def posture_subjects(rule: Rule, resources: Mapping[str, Resource],
                     principals: Mapping[str, Principal]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(key, label, attributes) of every resource or principal the posture rule fires on."""
    match = rule.match
    assert match is not None
    out = []
    when = tuple(rule.when.items())
    first, wanted_first = when[0] if when else (None, None)
    resource = rule.target == "resource"
    # the settings first, the first alone before the rest: most subjects lack them (a rule over every
    # principal is ~90,000 at full size), and only those that have them are looked up further
    for subject in resources.values() if resource else principals.values():
        # A missing attribute is unknown, not a violation: the connector's Gap says so.
        attrs = subject.attrs
        if first is not None and attrs.get(first, _ABSENT) != wanted_first:
            continue
        if subject.kind not in match.kinds:
            continue
        if not all(key_ in attrs and attrs[key_] == wanted for key_, wanted in when[1:]):
            continue
        if match.system and subject.system != match.system:
            continue
        if resource:
            tier, label = subject.tier, subject.label
        else:
            tier = resources[subject.home].tier if subject.home in resources else ""
            label = subject.display_name or subject.id
        if match.tier != ANY and tier != match.tier:
            continue
        out.append((subject.key, label, attrs))
    return sorted(out, key=lambda s: s[0])


def posture_findings(rule: Rule, resources: Mapping[str, Resource], principals: Mapping[str, Principal], *,
                     subjects: Sequence[tuple[str, str, Mapping[str, Any]]] | None = None,
                     on_subject: Mapping[str, Sequence[Holding]] | None = None,
                     graph: Graph | None = None) -> list[Finding]:
    """One finding per matching subject, with the settings that matched and who can exploit them."""
    if subjects is None:
        subjects = posture_subjects(rule, resources, principals)
    out = []
    for key, label, attrs in subjects:
        settings = [(k, attrs[k]) for k in rule.when]
        settings += [(k, attrs[k]) for k in rule.show if k in attrs and k not in rule.when]
        exposed: tuple[Exposure, ...] = ()
        exposes = rule.exposes
        if exposes is not None and exposes.capability:
            exposed = _holders(exposes.capability, exposes.where, (on_subject or {}).get(key, ()))
        elif exposes is not None and graph is not None:
            def through(edge: Edge, wanted: Mapping[str, Any] = exposes.through) -> bool:
                source = principals.get(edge.src)
                return source is not None and all(source.attrs.get(k) == v for k, v in wanted.items())

            trusted = [e.label for e in graph.inbound(key) if through(e)]
            if trusted:
                settings.append(("trusted_by", trusted))
            exposed = tuple(Exposure(person, steps) for person, steps in graph.reaching(key, first=through))
        out.append(Finding(id=finding_id(rule.id, "", key), rule=rule, person="", scope=key,
                           subject=key, subject_label=label, settings=tuple(settings), exposed=exposed))
    return out


def _holders(capability: str, where: Mapping[str, Any], holdings: Sequence[Holding]) -> tuple[Exposure, ...]:
    """One exposure per person holding ``capability`` (attributes ``where``), by their nearest holding."""
    wanted = Requirement(capability=capability, where=where)
    best: dict[str, Holding] = {}
    for holding in holdings:
        if holding.capability == capability and satisfies(holding, wanted):
            found = best.get(holding.person)
            if found is None or (holding.distance, holding.grant) < (found.distance, found.grant):
                best[holding.person] = holding
    return tuple(Exposure(person, holding=h) for person, h in sorted(best.items()))


def attach_waivers(findings: list[Finding], waivers: Sequence[Waiver], *, today: Any = None) -> list[Finding]:
    if not waivers:
        return findings
    out = []
    for f in findings:
        matching = [w for w in waivers if w.covers(f.rule.id, f.person, f.scope)]
        active = [w for w in matching if w.active(today)]
        expired = tuple(w for w in matching if not w.active(today))
        out.append(replace(f, waiver=active[0] if active else None, expired_waivers=expired))
    return out
