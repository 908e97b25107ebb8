"""The analysis stored beside its snapshot: computed once, kept under the digest of everything it
was computed from, and read back part by part (`StoredAnalysis`) by every command and the TUI.

The key (`inputs_of`) covers the snapshot, the rule pack's content, the config (every section but
[store], [campaigns] and [export]), the analysis code itself, the day end dates are measured
against and the roster baseline movers are measured against; exceptions (files and those
approved in campaigns) are a second, cheap layer (`coverage`): when only they change, the base is
kept and only which exception covers which finding is decided again. A stored analysis whose key
does not match is never used. Its rows carry a content digest, and it can always be recomputed
from the snapshot (`verify`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .analysis import Analysis, RosterBaseline, analyze, snapshot_day
from .changes import population
from .emergency import Emergency, prepare, with_uses
from .bulk import gc_paused
from .config import Config
from .graph import (Graph, Holding, RouteMarks, Step, capability_step, edge_step, grant_capability_step, grant_step, head_steps,
                    match_edge)
from .identity import Identities
from .model import CAPABILITIES, Edge, EdgeKind, SnapshotInfo
from .roster import GroupFeed, Roster, group_feeds
from .rules import Finding, Rule, RulePack, Waiver
from .store import Store, analyses
from .store.analyses import AnalysisRow
from .stored_encode import computed_parts, encode, unpacked
from .stored_form import (COMPRESSOR, MATRIX_NODE, Decoded, PersonOf, Place, StoredPeople, canonical, cells,
                          code_only, decode_holdings, decode_reach, hop_edges,
                          evidence_capabilities, exposures_of, fact_of, matrix_node, placer,
                          roster_of, stored_evidence)

FORMAT = 8  # the stored form's version: part of the key, so a new form is recomputed (8: zstd)
# Modules whose code decides an analysis: a change to any of them recomputes stored analyses.
ANALYSIS_MODULES = ("foureyes.analysis", "foureyes.graph", "foureyes.identity", "foureyes.model", "foureyes.roster",
                    "foureyes.rules.engine", "foureyes.rules.pack", "foureyes.rules.roster_rules",
                    "foureyes.rules.waivers", "foureyes.stored", "foureyes.stored_encode", "foureyes.stored_form",
                    "foureyes.stored_holdings", "foureyes.emergency")
# Config sections an analysis never reads (where the store is, how campaigns and exports look).
NOT_ANALYSIS_CONFIG = ("store", "campaigns", "export", "path")
INPUTS = ("snapshot", "rules", "config", "code", "day", "baseline")  # what `inputs_of` names
# Paths through up to this many principals read their hops' edges by index (a who-can's 10,000 are a
# fraction of the snapshot's 209,000 edges: reading every edge cost three times as much).
EDGES_BY_INDEX_UP_TO = 25_000
_NO_CLOSURE: dict[tuple[str, str, str], list[Any]] = {}  # a node no path passes (never written)


# ---------------------------------------------------------------- the key


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(canonical(value), sort_keys=True, ensure_ascii=False)
                          .encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The analysis code's own digest (with the stored form's version and the compressor that
    decides its blobs' bytes)."""
    h = hashlib.sha256(f"format {FORMAT}\n{COMPRESSOR}\n".encode())
    for name in ANALYSIS_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        h.update(name.encode() + b"\n" + (Path(origin).read_bytes() if origin else b"") + b"\n")
    return h.hexdigest()


def inputs_of(info: SnapshotInfo, config: Config, pack: RulePack, *, today: date | None = None,
              baseline: RosterBaseline | None = None) -> dict[str, str]:
    """Each input of the base analysis, by its digest: what `base_key` is made of. ``today``
    (default: the day the snapshot was taken) decides roster statuses and days since leaving;
    ``baseline`` is the roster's departments movers are measured against."""
    sections = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in NOT_ANALYSIS_CONFIG}
    # exception files are the cheap second layer (`coverage_key`); the rule pack has its own digest
    sections["rules"] = replace(config.rules, exceptions=[])
    rules = [{k: v for k, v in canonical(rule).items() if k != "source"} for rule in pack]  # not where it lives
    return {"snapshot": f"{info.id}:{info.digest}", "rules": digest(rules), "config": digest(sections),
            "code": code_digest(), "day": (today or snapshot_day(info.taken_at)).isoformat(),
            "baseline": digest(baseline) if baseline is not None else ""}


def base_key(inputs: Mapping[str, str]) -> str:
    return digest(dict(inputs))


def ordered_waivers(waivers: Iterable[Waiver]) -> list[Waiver]:
    """Exceptions in one order whatever order they were read in (the coverage numbers them)."""
    return sorted(waivers, key=lambda w: json.dumps(canonical(w), sort_keys=True))


def coverage_key(base: str, waivers: Sequence[Waiver]) -> str:
    return digest([base, [canonical(w) for w in ordered_waivers(waivers)]])


# ---------------------------------------------------------------- opening one


@dataclass(frozen=True)
class Stale:
    """What changed since a stored analysis was computed (it is shown, marked, while the current
    one is computed)."""

    changed: tuple[str, ...]  # inputs whose digest differs: snapshot, rules, config, code, exceptions

    def describe(self) -> str:
        names = {"rules": "the rule pack", "config": "the config", "code": "foureyes itself",
                 "snapshot": "the snapshot", "exceptions": "the exceptions", "day": "the day",
                 "baseline": "the roster baseline"}
        return ", ".join(names.get(c, c) for c in self.changed) or "its inputs"


def open_stored(store: Store, config: Config, snapshot_id: int, *, pack: RulePack, waivers: Sequence[Waiver],
                today: date | None = None, baseline: RosterBaseline | None = None, compute: bool = True,
                progress: Callable[[str], None] = lambda text: None) -> "StoredAnalysis | None":
    """The snapshot's analysis for these inputs: the stored one when its key matches, else
    computed now and stored (None when not found and ``compute`` is false)."""
    info = store.snapshot_info(snapshot_id)
    inputs = inputs_of(info, config, pack, today=today, baseline=baseline)
    key = base_key(inputs)
    row = analyses.find(store, snapshot_id, key)
    if row is None:
        if not compute:
            return None
        progress(f"Loading snapshot {snapshot_id}…")
        with computed_parts(store.load_snapshot(snapshot_id), config, pack, today=today, baseline=baseline,
                            progress=progress) as (parts, summary):
            row = analyses.write(store, snapshot_id, base_key=key, inputs=inputs, format=FORMAT, summary=summary,
                                 parts=parts)
    return StoredAnalysis(store, row, store.snapshot_view(snapshot_id), pack, waivers, today=today, baseline=baseline,
                          config=config)


def open_latest_stored(store: Store, config: Config, snapshot_id: int, *, pack: RulePack,
                       waivers: Sequence[Waiver], today: date | None = None,
                       baseline: RosterBaseline | None = None) -> "StoredAnalysis | None":
    """The newest stored analysis of the snapshot whatever its key, marked `stale` with what changed
    when its key is not the current one (None when the snapshot has none)."""
    row = analyses.latest(store, snapshot_id)
    if row is None:
        return None
    current = inputs_of(store.snapshot_info(snapshot_id), config, pack, today=today, baseline=baseline)
    changed = tuple(k for k in INPUTS if row.inputs.get(k) != current.get(k))
    usable = pack if "rules" not in changed else _pack_of(pack, row)
    found = StoredAnalysis(store, row, store.snapshot_view(snapshot_id), usable, waivers, today=today, config=config,
                           baseline=baseline)
    if changed or row.format != FORMAT:
        found.stale = Stale(changed or ("code",))
    return found


def _pack_of(pack: RulePack, row: AnalysisRow) -> RulePack:
    """The current pack stands in for the one a stale analysis used; its findings of rules since
    removed are left out when read."""
    return pack


# ---------------------------------------------------------------- reading one back


class StoredAnalysis(Analysis):
    """An `Analysis` read from the store part by part, as each is first asked for.

    People, findings, one person's or one capability's holdings, matrix cells and team members
    come from the stored rows; paths are walked through the stored closures with only the grants
    and edges they name read from the snapshot. What needs the whole permission graph (every route
    of a capability, reachable grants) loads the snapshot and builds it (`graph`), once.
    """

    def __init__(self, store: Store, row: AnalysisRow, snapshot: Any, pack: RulePack, waivers: Sequence[Waiver], *,
                 today: date | None = None, baseline: RosterBaseline | None = None, config: Config | None = None):
        self._store = store
        self.row = row
        self._snapshot = snapshot
        self._pack = pack
        self._waivers = ordered_waivers(waivers)  # the order the coverage numbers them in
        given = {id(w): n for n, w in enumerate(waivers)}
        self._given_order = [given[id(w)] for w in self._waivers]  # the order they were given in decides
        self._today = today
        self._baseline = baseline
        self._config = config or Config()
        self._emergency: Emergency | None = None
        self._changes: Any = False  # not computed yet (None: no activity)
        self._feeds: list[GroupFeed] | None = None
        self.stale: Stale | None = None
        self._lock = threading.RLock()
        self._identities: Identities | None = None
        self._findings: list[Finding] | None = None
        self._graph: Graph | None = None
        self._by_person: dict[str, list[Holding]] | None = None
        self._closures: dict[str, Any] | None = None  # a node's closure, or its blob until first read
        self._teams: dict[str, tuple[list[str], list[str]]] | None = None
        self._holding_counts: dict[str, int] = {}
        self._placer: Place | None = None
        self._reach: dict[str, Any] | None = None
        self._own: dict[str | None, dict[str, list[tuple[str, Any]]]] = {}
        self._grant_steps: dict[int, tuple[Any, Step, Step]] = {}  # a grant's last two steps, by grant
        self._route_memo: tuple[str, dict[str, int], dict[int, tuple[Step, ...]]] = ("", {}, {})
        self._edge_index: dict[str, tuple[Any, dict[tuple[str, str], Edge]]] = {}  # (`_edge`: a path's hops)
        self._tails: dict[tuple[str, tuple[str, str, str]], tuple[tuple[str, str, str], ...]] = {}  # (`_tail`)
        self._hop_steps: dict[tuple[str, str, str], Step] = {}  # each hop's step, drawn once (`path`)
        self._grant_ends: dict[str, tuple[Step, ...]] = {}  # each grant's step, by key (`path`)

    def __repr__(self) -> str:
        return f"<StoredAnalysis {self.row.id} of snapshot {self.row.snapshot_id}>"

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    # ------------------------------------------------------------ the Analysis fields

    @property  # type: ignore[override]
    def snapshot(self) -> Any:
        return self._snapshot

    @property  # type: ignore[override]
    def pack(self) -> RulePack:
        return self._pack

    @property  # type: ignore[override]
    def waivers(self) -> list[Waiver]:
        return list(self._waivers)

    @property  # type: ignore[override]
    def baseline(self) -> RosterBaseline | None:
        return self._baseline

    @property
    def today(self) -> date | None:
        """The day given for end dates and exceptions (None: the snapshot's own day)."""
        return self._today

    @property  # type: ignore[override]
    def identities(self) -> Identities:
        with self._lock:
            if self._identities is None:
                blob = analyses.roster(self._store, self.row.id)
                roster = roster_of(unpacked(blob)) if blob is not None else Roster()
                rows = analyses.people(self._store, self.row.id)
                self._holding_counts.update((row[0], row[5]) for row in rows)
                people = StoredPeople(rows, roster)  # each person made when first asked for
                person_of = PersonOf(rows)
                self._identities = Identities(people=people, person_of=person_of, roster=roster)
            return self._identities

    @property  # type: ignore[override]
    def feeds(self) -> list[GroupFeed]:
        """IdP groups and the teams they feed (from the whole snapshot, on first use)."""
        with self._lock:
            if self._feeds is None:
                identities = self.identities
                self._feeds = (group_feeds(self.snapshot.full(), identities.people, identities.person_of,
                                           identities.roster) if identities.roster.configured else [])
            return self._feeds

    @property  # type: ignore[override]
    def findings(self) -> list[Finding]:
        with self._lock:
            if self._findings is None:
                self._findings = self._read_findings()
            return self._findings

    @property  # type: ignore[override]
    def graph(self) -> Graph:
        """The whole permission graph, built from the whole snapshot on first use (slow at scale)."""
        with self._lock:
            if self._graph is None:
                self._graph = Graph(self.snapshot.full(), self.identities, self.emergency.marks)
            return self._graph

    @property  # type: ignore[override]
    def emergency(self) -> Emergency:
        """Declared emergency paths, time-bound access and their uses: computed from the whole
        snapshot when first asked for (the stored rows keep only whether any hop is marked)."""
        with self._lock:
            if self._emergency is None and not self.row.summary.get("emergency", True):
                self._emergency = Emergency()  # nothing declared, time-bound or used: nothing to read
            if self._emergency is None:
                snapshot, identities = self.snapshot.full(), self.identities
                found = prepare(snapshot, identities, self._config)
                self._emergency = with_uses(found, snapshot, identities, self._config, self.team_members)
            return self._emergency

    @property  # type: ignore[override]
    def changes(self) -> Any:
        """The review period's change population (None: no activity read), computed when first asked for."""
        with self._lock:
            if self._changes is False:
                uses = {u.id: u.path for u in self.emergency.uses if u.system == "aws"}  # as `analyze` does
                self._changes = (population(self.snapshot.full(), self.identities, self._config, uses)
                                 if self.snapshot.period is not None else None)
            return self._changes

    @property
    def marked(self) -> bool:
        """Some hop is time-bound or a declared emergency path (its paths are the graph's to draw)."""
        return bool(self.row.summary.get("marked", True))

    def marks_of(self, holding: Holding) -> RouteMarks:
        if not (holding.emergency or holding.time_bound) or not self.marked:
            return RouteMarks()
        return self.graph.marks_of(holding)

    @property
    def graph_loaded(self) -> bool:
        return self._graph is not None

    def people_in_conflict(self) -> set[str]:
        """Read from two columns of the stored findings, without decoding their evidence."""
        if self._findings is not None:
            return super().people_in_conflict()
        return {person for rule_id, person in analyses.finding_people(self._store, self.row.id)
                if person and getattr(self._pack.get(rule_id), "kind", "") == "conflict"}

    def holding_count(self, person: str) -> int:
        self.identities
        return self._holding_counts.get(person, 0)

    def person_names(self, keys: Iterable[str]) -> dict[str, tuple[str, bool]]:
        """From those people's rows alone while everyone is unread (a table's first screenful)."""
        keys = list(dict.fromkeys(keys))
        if self._identities is not None or len(keys) > analyses.CHUNK:
            return super().person_names(keys)
        return {k: (name, bool(linked)) for k, name, linked in analyses.person_names(self._store, self.row.id, keys)}

    # ------------------------------------------------------------ findings

    def _read_findings(self) -> list[Finding]:
        coverage = self._coverage()
        today = self._today
        out: list[Finding] = []
        rules: dict[str, Rule | None] = {}  # `RulePack.get` scans the pack: once per rule here
        for seq, finding_id, rule_id, person, scope, subject, label, evidence, details in analyses.findings(
                self._store, self.row.id):
            rule = rules[rule_id] if rule_id in rules else rules.setdefault(rule_id, self._pack.get(rule_id))
            if rule is None:  # a stale analysis of a rule removed since
                continue
            parts = Decoded(evidence, partial(stored_evidence, person, rule.requirements),  # decoded when first read
                            partial(evidence_capabilities, len(rule.requirements)))  # (a table needs only these)
            if (not details or details == "{}") and not coverage.get(str(seq)):  # most: no exception, nothing more
                out.append(Finding(id=finding_id, rule=rule, person=person, scope=scope, subject=subject,
                                   subject_label=label, evidence=parts))
                continue
            matching = [self._waivers[i] for i in sorted((i for i in coverage.get(str(seq), ()) if i < len(self._waivers)),
                                                         key=self._given_order.__getitem__)]
            active = [w for w in matching if w.active(today)]
            extra = json.loads(details) if details and details != "{}" else {}  # most have nothing more
            exposed = extra.get("exposed", ())
            exposed = Decoded(exposed, exposures_of) if isinstance(exposed, str) else exposures_of(exposed)
            out.append(Finding(id=finding_id, rule=rule, person=person, scope=scope, subject=subject,
                               subject_label=label, evidence=parts, waiver=active[0] if active else None,
                               expired_waivers=tuple(w for w in matching if not w.active(today)),
                               settings=tuple((k, v) for k, v in extra.get("settings", ())), exposed=exposed,
                               facts=extra.get("facts", {}), fact=fact_of(extra.get("fact"))))
        return out

    def _coverage(self) -> dict[str, list[int]]:
        """Which exception (an index into the ordered list) covers which finding, stored under the
        key of the base and the exceptions; decided now when this set of exceptions is new."""
        key = coverage_key(self.row.base_key, self._waivers)
        found = analyses.coverage(self._store, self.row.id, key)
        if found is not None:
            return found[1]
        covers: dict[str, list[int]] = {}
        if self._waivers:
            by_rule: dict[str, list[int]] = {}
            for n, waiver in enumerate(self._waivers):
                by_rule.setdefault(waiver.rule, []).append(n)
            for seq, _, rule_id, person, scope, *_ in analyses.findings(self._store, self.row.id):
                hits = [n for n in by_rule.get(rule_id, ()) if self._waivers[n].covers(rule_id, person, scope)]
                if hits:
                    covers[str(seq)] = hits
        analyses.write_coverage(self._store, self.row.id, key, [w.id for w in self._waivers], covers)
        return covers

    # ------------------------------------------------------------ holdings

    def holdings(self, person: str | None = None) -> list[Holding]:
        if person is None:
            return [h for held in self.by_person().values() for h in held]
        if self._by_person is not None:
            return list(self._by_person.get(person, ()))
        return [h for row in analyses.holdings(self._store, self.row.id, person=person) for h in self._decode(row)]

    def by_person(self) -> Mapping[str, list[Holding]]:
        with self._lock:
            if self._by_person is None:
                found: dict[str, list[Holding]] = {}
                with gc_paused(keep=True):
                    for row in analyses.holdings(self._store, self.row.id):
                        found.setdefault(row[0], []).extend(self._decode(row))
                order = self.identities.people
                self._by_person = {k: found[k] for k in order if k in found}
            return self._by_person

    def holding_digests(self) -> dict[str, str]:
        """A digest of each person's stored holdings: equal digests, equal holdings (drift reads
        back only the people whose digests differ)."""
        found: dict[str, Any] = {}
        for person, capability, blob in analyses.holdings(self._store, self.row.id):
            found.setdefault(person, hashlib.sha256()).update(capability.encode() + b"\0" + blob)
        return {person: h.hexdigest() for person, h in found.items()}

    def holdings_of(self, capability: str) -> dict[str, list[Holding]]:
        """Everyone's holdings of one capability, by person."""
        out: dict[str, list[Holding]] = {}
        for row in analyses.holdings(self._store, self.row.id, capability=capability):
            out.setdefault(row[0], []).extend(self._decode(row))
        return out

    def matrix_cells(self) -> Iterator[tuple[str, str, list[tuple[str, str, str]]]]:
        place = self._place()
        for person, capability, blob in analyses.holdings(self._store, self.row.id):
            yield person, capability, cells(blob, place)

    def matrix_counts(self, tier: str) -> tuple[list[str], list[int]] | None:
        """The people holding anything in ``tier`` ("any": anywhere) and their counts, six standing
        then six only through an emergency path each (`stored_form.MatrixCounts`), read from one
        row; None when the stored form has none (a stale analysis of an older form)."""
        blob = analyses.node(self._store, self.row.id, matrix_node(tier))
        if blob is not None:
            people, counts = unpacked(blob)
            return people, counts
        blob = analyses.node(self._store, self.row.id, MATRIX_NODE)
        if blob is None:
            return None
        people, counts = unpacked(blob)
        return code_only(people, counts, CAPABILITIES)  # a tier nothing but code capabilities counts in

    def _place(self) -> Place:
        with self._lock:
            if self._placer is None:
                self._placer = placer(self.snapshot.resources)
            return self._placer

    def _decode(self, row: tuple[str, str, bytes]) -> list[Holding]:
        person, capability, blob = row
        return decode_holdings(person, capability, blob, self._place())

    # ------------------------------------------------------------ teams

    def _team_rows(self) -> dict[str, tuple[list[str], list[str]]]:
        with self._lock:
            if self._teams is None:
                self._teams = {team: (json.loads(members), json.loads(maintainers))
                               for team, members, maintainers in analyses.teams(self._store, self.row.id)}
            return self._teams

    def team_members(self, team: str) -> set[str]:
        found: set[str] = set()
        for key, (members, _) in self._team_rows().items():
            ident = key.partition(":")[2]
            if ident == team or key == team or ident.endswith("/" + team):
                found.update(members)
        return found

    def team_maintainers(self) -> dict[str, list[str]]:
        return {team: maintainers for team, (_, maintainers) in self._team_rows().items() if maintainers}

    def team_keys(self) -> list[str]:
        return sorted(self._team_rows())

    # ------------------------------------------------------------ paths

    def _closure_of(self, node: str) -> dict[tuple[str, str, str], list[Any]]:
        with self._lock:
            if self._closures is None:  # each node's closure decoded when a path first passes it
                self._closures = {name: blob for name, blob in analyses.nodes(self._store, self.row.id)
                                  if not name.startswith(MATRIX_NODE)}  # (not a closure: the matrix's counts)
            found = self._closures.get(node, _NO_CLOSURE)
            if isinstance(found, bytes):
                found = self._closures[node] = {(c, r, p): [d, hop, g] for c, r, p, d, hop, g in unpacked(found)}
            return found

    def _walk(self, holding: Holding) -> tuple[tuple[str, str, str], ...]:
        """The edges of the holding's stored path, by (source, destination, kind) (first hop: dst, kind, repo)."""
        ref, hop = holding.first_hop
        if ref is not None:  # a holding of a computed graph
            return tuple((e.src, e.dst, e.kind) for e in self.graph.route(holding)[0])
        if not hop:
            return ()
        return ((holding.account, hop[0], hop[1]), *self._tail(hop[0], (*holding[1:3], hop[2])))[:64]

    def _tail(self, node: str, key: tuple[str, str, str]) -> tuple[tuple[str, str, str], ...]:
        """The stored path's edges on from ``node`` (at most 64), kept: paths share their tails."""
        found = self._tails.get((node, key))
        if found is None:
            edges, at, on, entry = [], node, key, self._closure_of(node).get(key)
            while entry is not None and entry[1] and len(edges) < 64:
                dst, kind, next_repo = entry[1]
                edges.append((at, dst, kind))
                on = (on[0], on[1], next_repo)
                at, entry = dst, self._closure_of(dst).get(on)
            found = self._tails[node, key] = tuple(edges)
        return found

    def prefetch_paths(self, holdings: Iterable[Holding]) -> None:
        """Read what the paths of these holdings name (the edges of their hops, grants) in a few queries."""
        hops: set[tuple[str, str, str]] = set()
        grants: set[str] = set()
        named: set[str] = set()
        for holding in holdings:
            grants.add(holding.grant)
            named.add(holding.account)
            for hop in self._walk(holding):
                named.add(hop[1])
                if hop[2] != EdgeKind.MATCHES and hop not in self._hop_steps:
                    hops.add(hop)
        self.snapshot.grants_by_key(grants)
        self.snapshot.principals_by_key(named)
        if len({src for src, _, _ in hops}) > EDGES_BY_INDEX_UP_TO:  # most of the snapshot's principals:
            self.snapshot.edges_from({src for src, _, _ in hops})  # every edge, in one pass (`path` draws them)
            return
        for hop, edge in hop_edges(self._store, self.snapshot.info, hops).items():  # each hop's one edge
            self._hop_steps[hop] = edge_step(edge, self.snapshot.principals)

    def path(self, holding: Holding) -> tuple[Step, ...]:
        if self.marked and (holding.emergency or holding.time_bound):  # hops the stored form does not annotate
            return self.graph.path(holding)
        principals = self.snapshot.principals
        steps = head_steps(self.identities.people.get(holding.person), holding.person, holding.account, principals)
        walked, drawn = self._walk(holding), self._hop_steps
        if any(hop not in drawn for hop in walked):  # the edges leaving the hops not drawn yet, in one read
            self.snapshot.edges_from({s for s, d, k in walked if k != EdgeKind.MATCHES and (s, d, k) not in drawn})
        steps += [drawn.get(hop) or self._hop_step(hop, walked) for hop in walked]
        ends = self._grant_ends.get(holding.grant)
        if ends is None:  # a grant's step is drawn once too
            grant = self.snapshot.grants_by_key([holding.grant]).get(holding.grant)
            ends = self._grant_ends[holding.grant] = () if grant is None else (grant_step(grant, self.snapshot.resources),)
        return (*steps, *ends, capability_step(holding))

    def _hop_step(self, hop: tuple[str, str, str], walked: Sequence[tuple[str, str, str]]) -> Step:
        view = self.snapshot  # each hop's step is drawn once and kept (`prefetch_paths` draws many at a time)
        if hop[2] == EdgeKind.MATCHES and view.principals.get(hop[1]) is None:  # among the walk's edges, as ever
            return edge_step(self._edge(*hop, view.edges_from({s for s, _, k in walked if k != EdgeKind.MATCHES})),
                             view.principals)
        edges = view.edges_from(() if hop[2] == EdgeKind.MATCHES else (hop[0],))
        return self._hop_steps.setdefault(hop, edge_step(self._edge(*hop, edges), view.principals))

    def _edge(self, src: str, dst: str, kind: str, out_edges: Mapping[str, list[Edge]]) -> Edge:
        if kind == EdgeKind.MATCHES:
            pattern = self.snapshot.principals.get(dst)
            if pattern is not None:
                return match_edge(src, pattern)
        edges = out_edges.get(src, ())
        index = self._edge_index.get(src)
        if index is None or index[0] is not edges:  # each source's edges by (destination, kind), the first kept
            index = self._edge_index[src] = (edges, {})
            for e in edges:
                index[1].setdefault((e.dst, e.kind), e)
        found = index[1].get((dst, kind))
        return found if found is not None else Edge(src, dst, kind)

    def paths(self, holding: Holding, *, limit: int = 8) -> list[tuple[Step, ...]]:
        return self.graph.paths(holding, limit=limit)

    # ------------------------------------------------------------ routes to grants (campaign planning)

    def _reach_of(self, person: str) -> list[list[Any]]:
        """The principals the person's accounts reach, breadth first: [node, parent index, edge kind]."""
        with self._lock:
            if self._reach is None:
                self._reach = {key: blob for key, blob in analyses.reach(self._store, self.row.id)}
            found = self._reach.get(person)
            if isinstance(found, str):
                found = self._reach[person] = decode_reach(found)
            return found or []

    def _capability_grants(self, tier: str | None) -> dict[str, list[tuple[str, Any]]]:
        """Capability-conferring grants by principal, in the order the graph keeps them."""
        with self._lock:
            if tier not in self._own:
                own: dict[str, list[tuple[str, Any]]] = {}
                for key, grant in self.snapshot.capability_grants(tier):
                    own.setdefault(grant.principal, []).append((key, grant))
                for found in own.values():
                    if len(found) > 1:
                        found.sort(key=lambda kg: (kg[1].resource, kg[1].entitlement, kg[1].system))
                self._own[tier] = own
            return self._own[tier]

    def reachable_grants(self, person: str, *, tier: str | None = None) -> dict[str, Any]:
        own = self._capability_grants(tier)
        out: dict[str, Any] = {}
        for node, _, _ in self._reach_of(person):
            for key, grant in own.get(node, ()):
                out[key] = grant
        return out

    def grant_route(self, person: str, grant: Any) -> tuple[Step, ...]:
        if self.marked:  # hops the stored form does not annotate: the graph draws them
            return super().grant_route(person, grant)
        reach = self._reach_of(person)
        with self._lock:
            if self._route_memo[0] != person:
                self._route_memo = (person, {row[0]: n for n, row in enumerate(reach)}, {})
            _, where, heads = self._route_memo
        at = where.get(grant.principal)
        if at is None:
            return ()
        principals, resources = self.snapshot.principals, self.snapshot.resources
        hops = heads.get(at)
        if hops is None:
            chain = []
            n = at
            while reach[n][1] >= 0:
                parent = reach[n][1]
                chain.append((reach[parent][0], reach[n][0], reach[n][2]))
                n = parent
            account = reach[n][0]
            out_edges = self.snapshot.edges_from({src for src, _, kind in chain if kind != EdgeKind.MATCHES})
            hops = heads[at] = (*head_steps(self.identities.people.get(person), person, account, principals),
                                *(edge_step(self._edge(src, dst, kind, out_edges), principals)
                                  for src, dst, kind in reversed(chain)))
        tail = self._grant_steps.get(id(grant))
        if tail is None or tail[0] is not grant:
            tail = self._grant_steps[id(grant)] = (grant, grant_step(grant, resources),
                                                   grant_capability_step(grant, resources))
        return (*hops, tail[1], tail[2])

    def prepare_routes(self) -> None:
        """Read every principal and edge at once: routes are about to be drawn for everyone."""
        self.snapshot.edges_from(self.snapshot.all_principals())

    def holdings_of_people(self, people: Iterable[str],
                           capabilities: Mapping[str, set[str] | None] | None = None) -> dict[str, list[Holding]]:
        wanted = list(dict.fromkeys(people))
        if self._by_person is not None or (capabilities is None and len(wanted) > len(self.identities.people) // 2):
            by_person = self.by_person()
            return {p: list(by_person.get(p, ())) for p in wanted}
        out: dict[str, list[Holding]] = {p: [] for p in wanted}
        for batch in analyses.ids_in_chunks(wanted):
            for row in analyses.holdings(self._store, self.row.id, people=batch):  # (person, capability, …)
                named = capabilities.get(row[0]) if capabilities is not None else None
                if named is None or row[1] in named:  # the others left encoded
                    out[row[0]].extend(self._decode(row))
        return out


def verify(store: Store, config: Config, analysis: StoredAnalysis) -> list[str]:
    """Problems with a stored analysis: its rows against its content digest, and the analysis
    recomputed from its snapshot against the stored one. Empty when both hold."""
    problems = []
    row = analysis.row
    now = analyses.stored_digest(store, row.id)
    if now != row.digest:
        problems.append(f"analysis {row.id}: its rows do not match their content digest "
                        f"(stored {row.digest[:16]}…, recomputed {now[:16]}…)")
    snapshot = store.load_snapshot(row.snapshot_id)
    parts, _ = encode(analyze(snapshot, config, pack=analysis.pack, waivers=[], today=analysis.today,
                              baseline=analysis.baseline))
    again = analyses.parts_digest(row.base_key, parts)
    if again != row.digest:
        problems.append(f"analysis {row.id}: computing it again from snapshot {row.snapshot_id} gives other rows "
                        f"(stored {row.digest[:16]}…, recomputed {again[:16]}…)")
    return problems
