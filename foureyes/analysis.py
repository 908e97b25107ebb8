"""From a stored snapshot to people, capabilities and findings, in one call.

Pure: everything here works on a snapshot and the config; no network. The CLI, the TUI,
campaigns and exports all go through `analyze`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from .bulk import gc_paused
from .config import Config
from .graph import Graph, Holding, Step
from .identity import Identities, link
from .model import Gap, Person, Snapshot
from .rules import Finding, RulePack, Waiver, evaluate, load_pack, load_waivers


@dataclass
class Analysis:
    snapshot: Snapshot
    identities: Identities
    graph: Graph
    pack: RulePack
    findings: list[Finding]
    waivers: list[Waiver] = field(default_factory=list)

    @property
    def gaps(self) -> list[Gap]:
        return self.snapshot.gaps()

    def holdings(self, person: str | None = None) -> list[Holding]:
        return self.graph.holdings(person)

    def path(self, holding: Holding) -> tuple[Step, ...]:
        return self.graph.path(holding)

    def person(self, key: str) -> Person | None:
        return self.identities.people.get(key)

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

    def holdings_of(self, capability: str) -> dict[str, list[Holding]]:
        """Everyone's holdings of one capability, by person."""
        out: dict[str, list[Holding]] = {}
        for person, held in self.graph.by_person().items():
            mine = [h for h in held if h.capability == capability]
            if mine:
                out[person] = mine
        return out

    def paths(self, holding: Holding, *, limit: int = 8) -> list[tuple[Step, ...]]:
        """Every distinct route (up to ``limit``) by which the person holds the capability."""
        return self.graph.paths(holding, limit=limit)

    def prefetch_paths(self, holdings: Iterable[Holding]) -> None:
        """Nothing to read ahead: the graph is in memory."""

    def team_members(self, team: str) -> set[str]:
        """Person keys of a GitHub team, child teams included (slug, org/slug, id or key)."""
        return self.graph.team_members(team)

    def team_maintainers(self) -> dict[str, list[str]]:
        return self.graph.team_maintainers()

    def team_keys(self) -> list[str]:
        return sorted(k for k, p in self.snapshot.principals.items() if p.kind == "team")

    def matrix_cells(self) -> Iterator[tuple[str, str, list[list[str]]]]:
        """(person, capability, [[resource, tier, app], ...]) with each distinct cell once, in holding order."""
        for person, held in self.graph.by_person().items():
            cells: dict[str, dict[tuple[str, str, str], None]] = {}
            for h in held:
                cells.setdefault(h.capability, {})[(h.resource, h.tier, h.app)] = None
            for capability, found in cells.items():
                yield person, capability, [list(c) for c in found]


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
) -> Analysis:
    """``extra_waivers`` add to the file ones: exceptions approved in review campaigns
    (`review.approved_waivers`), which count like file-based exceptions."""
    pack = pack or rule_pack(config)
    waiver_list = list(waivers) if waivers is not None else waivers_for(config, pack, extra_files=exception_files)
    waiver_list += list(extra_waivers)
    with gc_paused(keep=True):  # saves a fifth of the time on a large organisation
        identities = link(snapshot, config)
        graph = Graph(snapshot, identities)
        findings = evaluate(
            pack,
            people=identities.people.values(),
            holdings_of=graph.by_person(),
            resources=snapshot.resources,
            principals=snapshot.principals,
            waivers=waiver_list,
            today=today,
        )
    return Analysis(snapshot=snapshot, identities=identities, graph=graph, pack=pack, findings=findings,
                    waivers=waiver_list)


def _relative(base: Path, entry: str) -> str:
    path = Path(entry).expanduser()
    return str(path if path.is_absolute() else base / path)
