"""From a stored snapshot to people, capabilities and findings, in one call.

Pure: everything here works on a snapshot and the config; no network. The CLI, the TUI,
campaigns and exports all go through `analyze`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from .bulk import gc_paused
from .changes import Population, population
from .config import Config
from .emergency import Emergency, prepare, with_uses
from .graph import Graph, Holding, RouteMarks, Step, edge_step, grant_capability_step, grant_step, head_steps
from .identity import Identities, link
from .model import Gap, Grant, Person, Snapshot
from .roster import GroupFeed, build_roster, group_feeds
from .rules import Finding, RulePack, Waiver, load_pack, load_waivers
from .rules.engine import PeoplePass, Rules
from .rules.roster_rules import RosterFacts


@dataclass(frozen=True)
class RosterBaseline:
    """Departments as the roster had them at the baseline: the snapshot of the last closed
    campaign (else the previous snapshot). Movers are measured against it."""

    departments: Mapping[str, str]  # person e-mail -> department
    label: str  # "snapshot 3 (campaign 2, closed 2026-10-20)"


def roster_baseline(snapshot: Snapshot, label: str) -> RosterBaseline | None:
    """The departments in a stored snapshot's identity sources (None when it has none)."""
    roster = build_roster(snapshot)
    if not roster.configured:
        return None
    return RosterBaseline({email: p.department for email, p in roster.people.items() if p.department}, label)


@dataclass
class Analysis:
    snapshot: Snapshot
    identities: Identities
    graph: Graph
    pack: RulePack
    findings: list[Finding]
    waivers: list[Waiver] = field(default_factory=list)
    feeds: list[GroupFeed] = field(default_factory=list)  # IdP groups and the teams they feed
    baseline: RosterBaseline | None = None
    changes: Population | None = None  # the review period's change population (None: no activity read)
    emergency: Emergency = field(default_factory=Emergency)  # declared paths, time-bound access, uses

    @property
    def gaps(self) -> list[Gap]:
        return self.snapshot.gaps()

    def holdings(self, person: str | None = None) -> list[Holding]:
        return self.graph.holdings(person)

    def path(self, holding: Holding) -> tuple[Step, ...]:
        return self.graph.path(holding)

    def person(self, key: str) -> Person | None:
        return self.identities.people.get(key)

    def people_in_conflict(self) -> set[str]:
        """People with a separation-of-duties conflict finding (covered or not)."""
        return {f.person for f in self.findings if f.person and f.rule.kind == "conflict"}

    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.covered]

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    # What the stored analysis (`foureyes.stored.StoredAnalysis`) reads from its rows, computed here
    # from the graph: callers ask these, never the graph, so either kind of analysis serves them.

    stale = None  # a computed analysis is current by definition
    graph_loaded = True

    def by_person(self) -> Mapping[str, list[Holding]]:
        return self.graph.by_person()

    def holding_count(self, person: str) -> int:
        return len(self.graph.by_person().get(person, ()))

    def person_names(self, keys: Iterable[str]) -> dict[str, tuple[str, bool]]:
        """(display name, linked) of each of these people there is."""
        people = self.identities.people
        return {key: (people[key].display_name, people[key].linked) for key in keys if key in people}

    def holdings_of(self, capability: str) -> dict[str, list[Holding]]:
        """Everyone's holdings of one capability, by person."""
        out: dict[str, list[Holding]] = {}
        for person, held in self.graph.by_person().items():
            mine = [h for h in held if h.capability == capability]
            if mine:
                out[person] = mine
        return out

    def marks_of(self, holding: Holding) -> RouteMarks:
        """The emergency paths and time-bound hops on the holding's shortest route."""
        return self.graph.marks_of(holding)

    def paths(self, holding: Holding, *, limit: int = 8) -> list[tuple[Step, ...]]:
        """Every distinct route (up to ``limit``) by which the person holds the capability."""
        return self.graph.paths(holding, limit=limit)

    def prefetch_paths(self, holdings: Iterable[Holding]) -> None:
        """Nothing to read ahead: the graph is in memory."""

    def reachable_grants(self, person: str, *, tier: str | None = None) -> dict[str, Grant]:
        """Every capability-conferring grant the person reaches (on a resource of ``tier``), by key."""
        found = self.identities.people.get(person)
        if found is None:
            return {}
        grants = self.graph.reachable_grants(a.principal for a in found.accounts)
        if tier is None:
            return grants
        resources = self.snapshot.resources
        return {k: g for k, g in grants.items() if getattr(resources.get(g.resource), "tier", "") == tier}

    def grant_route(self, person: str, grant: Grant) -> tuple[Step, ...]:
        """The shortest route from the person to ``grant``: their account, the hops, the grant and
        the capability it confers (empty when the person does not reach it)."""
        found = self.identities.people.get(person)
        route = self.graph.route_from((a.principal for a in found.accounts), grant.principal) if found else None
        if route is None:
            return ()
        account, edges = route
        principals = self.snapshot.principals
        marks = self.graph.marks
        return tuple([*head_steps(found, person, account, principals),
                      *(edge_step(e, principals, marks) for e in edges),
                      grant_step(grant, self.snapshot.resources), grant_capability_step(grant, self.snapshot.resources)])

    def prepare_routes(self) -> None:
        """Nothing to read ahead: the graph is in memory."""

    def holdings_of_people(self, people: Iterable[str],
                           capabilities: Mapping[str, set[str] | None] | None = None) -> dict[str, list[Holding]]:
        """The holdings of these people, by person; where ``capabilities`` names a person's (None:
        all), holdings of other capabilities may be left out (a stored analysis decodes only those)."""
        by_person = self.graph.by_person()
        return {p: list(by_person.get(p, ())) for p in people}

    def team_members(self, team: str) -> set[str]:
        """Person keys of a GitHub team, child teams included (slug, org/slug, id or key)."""
        return self.graph.team_members(team)

    def team_maintainers(self) -> dict[str, list[str]]:
        return self.graph.team_maintainers()

    def team_keys(self) -> list[str]:
        return sorted(k for k, p in self.snapshot.principals.items() if p.kind == "team")

    def matrix_cells(self) -> Iterator[tuple[str, str, list[tuple[str, str, str, bool]]]]:
        """(person, capability, [(resource, tier, app, only through an emergency path), ...]) with
        each distinct cell once, in holding order."""
        for person, held in self.graph.by_person().items():
            cells: dict[str, dict[tuple[str, str, str, bool], None]] = {}
            for h in held:
                cells.setdefault(h.capability, {})[(h.resource, h.tier, h.app, h.emergency)] = None
            for capability, found in cells.items():
                yield person, capability, list(found)


class Elsewhere(Protocol):
    """The later run of the people, from `start` on, worked out elsewhere (`analyze`'s ``split``)."""

    start: int

    def result(self) -> PeoplePass | None:
        """Their rules' person pass (`Rules.people`), None where it failed (it is then run here)."""


# `analyze`'s ``split``: given the graph (`Graph.build_closures` done), the identities and the work
# for a run of people (their holdings resolved, then `Rules.people`), it starts the work for a later
# run of them elsewhere (a forked child), or answers None (everyone here).
Split = Callable[[Graph, Identities, Callable[[Sequence[Person]], PeoplePass]], Elsewhere | None]


def rule_pack(config: Config, *, extra_paths: Sequence[str] = ()) -> RulePack:
    base = Path(config.path).parent if config.path and not config.path.startswith("<") else Path(".")
    paths = [_relative(base, p) for p in config.rules.paths] + list(extra_paths)
    return load_pack(paths, default=config.rules.default_pack, disable=config.rules.disable)


def waivers_for(config: Config, pack: RulePack, *, extra_files: Sequence[str] = ()) -> list[Waiver]:
    base = Path(config.path).parent if config.path and not config.path.startswith("<") else Path(".")
    files = [_relative(base, p) for p in config.rules.exceptions] + list(extra_files)
    return load_waivers(files, known_rules=[r.id for r in pack])


def analyze(
    snapshot: Snapshot,
    config: Config,
    *,
    pack: RulePack | None = None,
    waivers: Iterable[Waiver] | None = None,
    exception_files: Sequence[str] = (),
    extra_waivers: Iterable[Waiver] = (),
    today: date | None = None,
    baseline: RosterBaseline | None = None,
    graph_ready: Callable[[Graph, Identities], None] | None = None,
    holdings_ready: Callable[[Graph, Identities, RulePack], None] | None = None,
    split: Split | None = None,
) -> Analysis:
    """``extra_waivers`` add to the file ones: exceptions approved in review campaigns
    (`review.approved_waivers`), which count like file-based exceptions. ``baseline``: the
    roster's departments to measure movers against. ``today`` decides end dates and days
    since leaving (default: the day the snapshot was taken, so an analysis never changes).
    ``graph_ready`` is called once the graph is built, before the holdings are resolved, and
    ``holdings_ready`` once every holding is known, before the rules run: storing the analysis
    starts working out the people's reach and encoding the holdings there, on the other core.
    ``split`` may take a later run of the people elsewhere (their holdings and their conflict and
    roster rules; not where a person's findings depend on everyone's holdings): the analysis
    then holds the holdings of the others only (`Graph.resolve`), what storing it needs."""
    pack = pack or rule_pack(config)
    waiver_list = list(waivers) if waivers is not None else waivers_for(config, pack, extra_files=exception_files)
    waiver_list += list(extra_waivers)
    day = today or snapshot_day(snapshot.taken_at)
    with gc_paused(keep=True):  # saves a fifth of the time on a large organisation
        identities = link(snapshot, config, today=day)
        emergency = prepare(snapshot, identities, config)
        graph = Graph(snapshot, identities, emergency.marks)
        emergency = with_uses(emergency, snapshot, identities, config, graph.team_members)
        uses = {u.id: u.path for u in emergency.uses if u.system == "aws"}  # their AssumeRole records
        changes = population(snapshot, identities, config, uses) if snapshot.period is not None else None
        feeds: list[GroupFeed] = []
        facts = None
        if identities.roster.configured:
            feeds = group_feeds(snapshot, identities.people, identities.person_of, identities.roster)
            facts = RosterFacts(
                today=day, departments_then=baseline.departments if baseline else None,
                baseline=baseline.label if baseline else "", feeds=tuple(feeds),
                departments_now={k: p.roster.department for k, p in identities.people.items()
                                 if p.roster is not None and p.roster.department})
        if graph_ready is not None:
            graph_ready(graph, identities)
        rules = Rules(pack, resources=snapshot.resources, principals=emergency.principals(snapshot.principals),
                      roster=facts)
        people = list(identities.people.values())
        elsewhere = None
        if split is not None and not rules.needs_everyone:
            graph.build_closures()
            elsewhere = split(graph, identities, lambda run: rules.people(run, graph.resolve(run)))
        mine = people if elsewhere is None else people[:elsewhere.start]
        holdings = graph.by_person() if elsewhere is None else graph.resolve(mine)
        if holdings_ready is not None:
            holdings_ready(graph, identities, pack)
        passed = rules.people(mine, holdings)
        if elsewhere is not None:
            theirs = elsewhere.result()
            if theirs is None:  # (it failed: those people here)
                later = people[elsewhere.start:]
                theirs = rules.people(later, graph.resolve(later))
            passed = passed.merged(theirs)
        findings = rules.finish(passed, waivers=waiver_list, today=today, graph=graph,
                                facts=(changes.facts if changes is not None else ()) + emergency.facts)
    return Analysis(snapshot=snapshot, identities=identities, graph=graph, pack=pack, findings=findings,
                    waivers=waiver_list, changes=changes, feeds=feeds, baseline=baseline,
                    emergency=emergency)


def snapshot_day(taken_at: str) -> date:
    """The day a snapshot was taken: what an analysis measures end dates against unless told otherwise."""
    try:
        return date.fromisoformat(taken_at[:10])
    except ValueError:
        return date.today()


def _relative(base: Path, entry: str) -> str:
    path = Path(entry).expanduser()
    return str(path if path.is_absolute() else base / path)
