"""How a stored analysis writes a person's holdings of one capability, and reads them back.

A million holdings are written every time an analysis is stored, so the form is columnar: one
string per field (resources, repositories, grants, accounts, first hops, distances, flags,
attributes), each joined with a separator and the lot compressed once. Building and splitting
those strings happens in C; JSON per holding cost more than computing the analysis. Tier, app
and system are not stored: they follow from the resource and repository (`place`). Accounts
and first hops are tables of a blob's distinct values and each holding's position in them
(written out per holding they were two fifths of the text compressed).

A value that contains a separator (text from an audited system can hold anything) sends that
blob to the JSON form instead, which every reader also understands: the first byte says which.

Every blob of a stored analysis (holdings, closures, the roster, the matrix's counts) is compressed
by `squeeze` (zstd, level 1) and read by `unsqueeze`, which also reads the zlib streams of analyses
stored before format 8 (shown while the current one is computed): at full size zstd took 0.6 s
where zlib's fastest level took 1.6 s for the same 148 MB, into 46 MB rather than 50, and reads
back in half the time.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import ItemsView, ValuesView
from collections.abc import Sequence as SequenceABC
from dataclasses import fields, is_dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import zstandard

from .changes import Fact, ProofStep
from .graph import Holding, Step
from .model import AccountLink, Edge, Person, Resource, RosterEntry, RosterPerson
from .roster import Roster
from .rules import Exposure

COLUMNS, TABLES, JSON_FORM = b"C", b"T", b"J"  # C: FORMAT 6's columnar form
SEP_COLUMN, SEP_VALUE, SEP_HOP = "\x1e", "\x1f", "\x1d"
_SEPARATORS = (SEP_COLUMN, SEP_VALUE, SEP_HOP)
_BIT = {False: "0", True: "1", 0: "0", 1: "1"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame's first bytes (a zlib stream's first is 0x78)
_contexts = threading.local()  # a zstd context serves one thread at a time: one per thread
# What decides the bytes `squeeze` writes: part of the stored analysis's key (`stored.code_digest`),
# so that another zstd gives a new analysis, not a false "computing it again gives other rows".
COMPRESSOR = f"zstd {zstandard.ZSTD_VERSION} level 1"


def squeeze(data: bytes) -> bytes:
    """A stored analysis's blob compressed (zstd, level 1)."""
    try:
        return _contexts.compressor.compress(data)  # type: ignore[no-any-return]
    except AttributeError:
        _contexts.compressor = zstandard.ZstdCompressor(level=1)
        return _contexts.compressor.compress(data)  # type: ignore[no-any-return]


def unsqueeze(blob: bytes) -> bytes:
    """What `squeeze` (or, before format 8, zlib) compressed."""
    if blob[:4] != _ZSTD_MAGIC:
        return zlib.decompress(blob)
    try:
        return _contexts.decompressor.decompress(blob)  # type: ignore[no-any-return]
    except AttributeError:
        _contexts.decompressor = zstandard.ZstdDecompressor()
        return _contexts.decompressor.decompress(blob)  # type: ignore[no-any-return]


# (resource key, repo) -> (tier, app, system) of a holding there
Place = Callable[[str, str], tuple[str, str, str]]


def placer(resources: Mapping[str, Resource]) -> Place:
    """Tier, app and system of a holding on a resource, concerning a repository (`Graph` places
    its holdings the same way: the resource's app, else its repository's)."""
    cache: dict[tuple[str, str], tuple[str, str, str]] = {}

    def place(resource_key: str, repo: str) -> tuple[str, str, str]:
        found = cache.get((resource_key, repo))
        if found is None:
            resource = resources.get(resource_key)
            app = resource.app if resource else ""
            if not app and repo:
                repo_resource = resources.get(f"github:repo:{repo}")
                app = repo_resource.app if repo_resource else ""
            found = cache[(resource_key, repo)] = (resource.tier if resource else "", app,
                                                   resource.system if resource else resource_key.split(":", 1)[0])
        return found

    return place


def kept_attrs(attrs: Mapping[str, Any], keep: frozenset[str]) -> Any:
    """The attributes a stored holding keeps (those rules test, the first actions); 0 for none."""
    if not attrs:
        return 0
    kept = {k: (list(attrs[k])[:4] if k == "actions" else attrs[k]) for k in keep if k in attrs}
    return kept or 0


def hop_text(hop: Any) -> str:
    """A first hop ([next principal, edge kind, next repo], or 0 for the grant itself) as text."""
    return "" if not hop else SEP_HOP.join(hop)


def _clean(texts: Iterable[str], count: int) -> bool:
    """Do the joined columns split back into ``count`` values each?"""
    return all(t.count(SEP_VALUE) == count - 1 and SEP_COLUMN not in t for t in texts)


def encode_holdings(held: Sequence[Holding], keep: frozenset[str], hop_of: Callable[[Holding], Any],
                    seen: dict[Any, str] | None = None, columns: Sequence[Sequence[Any]] | None = None) -> bytes:
    """One person's holdings of one capability (non-empty), columnar when every value allows.
    ``seen`` caches first hops as text across calls (a graph's hop is its edge and the next
    repository; holdings through one team share it), and each edge's part of them. ``columns``:
    ``list(zip(*held))``, if at hand.

    Accounts and first hops are written once each per blob (a table of the distinct values, then
    each holding's position in it): a person has one or two accounts, and a hop is mostly its
    edge's part followed by the holding's own repository, which is then left out of the table."""
    if columns is None:
        columns = list(zip(*held))
    hop_table: list[str] = []
    hop_pos: dict[str, str] = {}  # table entry -> its position as text
    hop_index: list[str] = []  # per holding: its hop's position in the table
    hop_same: list[str] = []  # per holding: "1" when the holding's repository follows its table entry
    add_index, add_same = hop_index.append, hop_same.append
    clean = True
    seen = {} if seen is None else seen
    for h, (ref, following), own in zip(held, columns[12], columns[3]):
        if ref is not None and ref < 0:  # the grant itself (graph refs below 0 are grants)
            text = ""
            add_same("0")
        elif (following[2] if following else "") == own and (head := seen.get(ref)) is not None:
            text = head  # the edge's part; the holding's repository follows it (a separator in one: JSON below)
            add_same("1")
        else:
            repo = following[2] if following else ""
            key = (ref, repo)
            text = seen.get(key)
            if text is None:
                # A graph's hop through edge ``ref`` is [the edge's destination, its kind, the next
                # repository]: the text before the repository is the edge's, kept once per edge.
                head = seen.get(ref) if ref is not None else None
                if head is not None and not (SEP_HOP in repo or SEP_VALUE in repo or SEP_COLUMN in repo):
                    text = head + repo
                else:
                    hop = hop_of(h)
                    text = hop_text(hop)
                    # a separator inside a part (more SEP_HOPs than the joins put there): this blob goes to JSON
                    if hop and (text.count(SEP_HOP) != len(hop) - 1 or SEP_VALUE in text or SEP_COLUMN in text):
                        text = "\x00" + text  # marks it
                    elif ref is not None and hop and len(hop) == 3 and hop[2] == repo:
                        seen[ref] = text[:len(text) - len(repo)]
                seen[key] = text
            if text[:1] == "\x00":
                clean = False
            if own and text.endswith(own):  # the table keeps what comes before the holding's repository
                text = text[:len(text) - len(own)]
                add_same("1")
            else:
                add_same("0")
        position = hop_pos.get(text)
        if position is None:
            position = hop_pos[text] = str(len(hop_table))
            hop_table.append(text)
        add_index(position)
    accounts = columns[8]
    account_table = list(dict.fromkeys(accounts))
    if len(account_table) == 1:
        account_index = ""  # every holding through the one account
    else:
        account_pos = {a: str(n) for n, a in enumerate(account_table)}
        account_index = ",".join(map(account_pos.__getitem__, accounts))
    texts = [SEP_VALUE.join(columns[2]), SEP_VALUE.join(columns[3]), SEP_VALUE.join(columns[7])]
    if SEP_HOP in texts[1]:  # a repository holding the hops' separator: its hop would not split back
        clean = False
    tables = [SEP_VALUE.join(account_table), SEP_VALUE.join(hop_table)]
    if (clean and _clean(texts, len(held)) and _clean(tables[:1], len(account_table))
            and _clean(tables[1:], len(hop_table))):
        attrs = ([kept_attrs(a, keep) for a in columns[11]] if any(columns[11]) else None)
        texts += [tables[0], account_index, tables[1], ",".join(hop_index), "".join(hop_same),
                  ",".join(map(str, columns[9])), "".join(map(_BIT.__getitem__, columns[10])),
                  "".join(map(_BIT.__getitem__, columns[13])), "".join(map(_BIT.__getitem__, columns[14])),
                  "".join(map(_BIT.__getitem__, columns[15])),
                  json.dumps(attrs, separators=(",", ":"), ensure_ascii=False) if attrs and any(attrs) else ""]
        return TABLES + squeeze(SEP_COLUMN.join(texts).encode("utf-8", "surrogatepass"))
    rows = [[h.resource, h.repo, h.grant, h.account, h.distance, int(h.latent), kept_attrs(h.attrs, keep),
             hop_of(h) or 0, int(h.escalation), int(h.time_bound), int(h.emergency)] for h in held]
    return JSON_FORM + squeeze(json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
                               .encode("utf-8", "surrogatepass"))


def _columns(blob: bytes, *, hops: bool = True) -> tuple[Any, ...]:
    """The columns of a blob: resources, repos, grants, accounts, first hops, distances, and the
    flags latent, escalation, time-bound and emergency (strings of 0 and 1), attrs. ``hops`` false:
    resources, repos and the emergency flags only, the rest empty."""
    form = blob[:1]
    if form == TABLES:
        text = unsqueeze(blob[1:]).decode("utf-8", "surrogatepass")
        (resources, repos, grants, account_table, account_index, hop_table, hop_index, hop_same, distances, latent,
         escalation, time_bound, emergency, attrs) = text.split(SEP_COLUMN)
        repo_list = repos.split(SEP_VALUE)
        if not hops:
            return resources.split(SEP_VALUE), repo_list, [], [], [], [], "", "", "", emergency, None
        table = account_table.split(SEP_VALUE)
        accounts = ([table[int(n)] for n in account_index.split(",")] if account_index
                    else [table[0]] * len(repo_list))
        entries = hop_table.split(SEP_VALUE)
        hop_list = [_first_hop(entries[int(n)] + own if same == "1" else entries[int(n)])
                    for n, same, own in zip(hop_index.split(","), hop_same, repo_list)]
        return (resources.split(SEP_VALUE), repo_list, grants.split(SEP_VALUE), accounts, hop_list,
                [int(d) for d in distances.split(",")], latent, escalation, time_bound, emergency,
                json.loads(attrs) if attrs else None)
    if form == COLUMNS:  # FORMAT 6: every value written out (a stale analysis is still read)
        text = unsqueeze(blob[1:]).decode("utf-8", "surrogatepass")
        (resources, repos, grants, accounts, hop_texts, distances, latent, escalation, time_bound, emergency,
         attrs) = text.split(SEP_COLUMN)
        if not hops:
            return resources.split(SEP_VALUE), repos.split(SEP_VALUE), [], [], [], [], "", "", "", emergency, None
        return (resources.split(SEP_VALUE), repos.split(SEP_VALUE), grants.split(SEP_VALUE),
                accounts.split(SEP_VALUE), [_first_hop(t) for t in hop_texts.split(SEP_VALUE)],
                [int(d) for d in distances.split(",")], latent, escalation, time_bound, emergency,
                json.loads(attrs) if attrs else None)
    rows = json.loads(unsqueeze(blob[1:]).decode("utf-8", "surrogatepass"))
    return ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
            [(None, tuple(r[7]) if r[7] else 0) for r in rows], [r[4] for r in rows],
            "".join(str(r[5]) for r in rows), "".join(str(r[8]) for r in rows), "".join(str(r[9]) for r in rows),
            "".join(str(r[10]) for r in rows), [r[6] for r in rows])


_hops: dict[str, tuple[None, Any]] = {"": (None, 0)}


def _first_hop(text: str) -> tuple[None, Any]:
    found = _hops.get(text)
    if found is None:
        found = _hops[text] = (None, tuple(text.split(SEP_HOP)))
    return found


def decode_holdings(person: str, capability: str, blob: bytes, place: Place) -> list[Holding]:
    """The holdings `encode_holdings` wrote (first hop by name: ref None; see `StoredAnalysis._walk`)."""
    resources, repos, grants, accounts, hops, distances, latent, escalation, time_bound, emergency, attrs = \
        _columns(blob)
    out = []
    for n, (resource, repo, grant, account, hop, distance) in enumerate(
            zip(resources, repos, grants, accounts, hops, distances)):
        tier, app, system = place(resource, repo)
        out.append(Holding(person, capability, resource, repo, tier, app, system, grant, account, distance,
                           latent[n] == "1", (attrs[n] or _EMPTY) if attrs else _EMPTY, hop,
                           escalation[n] == "1", time_bound[n] == "1", emergency[n] == "1"))
    return out


def cells(blob: bytes, place: Place) -> list[tuple[str, str, str, bool]]:
    """The distinct (resource, tier, app, only through an emergency path) of a blob's holdings, in
    holding order: the matrix's cells."""
    columns = _columns(blob, hops=False)
    resources, repos, emergency = columns[0], columns[1], columns[9]
    found: dict[tuple[str, str, str, bool], None] = {}
    for n, (resource, repo) in enumerate(zip(resources, repos)):
        tier, app, _ = place(resource, repo)
        found[(resource, tier, app, emergency[n] == "1")] = None
    return list(found)


# ---------------------------------------------------------------- people


class StoredPeople(Mapping[str, Person]):
    """The people of a stored analysis by key, in their order, each made (its accounts parsed,
    its roster record found) when first asked for: a table of 20,000 people, or who-can's
    9,000, does not make all 29,400. Rows: (person, name, linked, external, accounts JSON, ...)."""

    def __init__(self, rows: Sequence[Sequence[Any]], roster: Roster):
        self._rows = {row[0]: row for row in rows}
        self._roster = roster
        self._made: dict[str, Person] = {}

    def __getitem__(self, key: str) -> Person:
        found = self._made.get(key)
        if found is None:
            row = self._rows[key]
            found = self._make(row, json.loads(row[4]))
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def label(self, key: str) -> tuple[str, bool]:
        """A person's display name and whether their accounts are linked, without making them
        (a matrix of 20,000 rows shows only these)."""
        row = self._rows[key]
        return row[1], bool(row[2])

    def values(self) -> ValuesView[Person]:
        self._make_all()
        return ValuesView(self)

    def items(self) -> ItemsView[str, Person]:
        self._make_all()
        return ItemsView(self)

    def _make_all(self) -> None:
        """Everyone not made yet, their accounts parsed in one call (one call each cost most)."""
        missing = [row for key, row in self._rows.items() if key not in self._made]
        if missing:
            for row, accounts in zip(missing, json.loads("[" + ",".join(row[4] for row in missing) + "]")):
                self._make(row, accounts)

    def _make(self, row: Sequence[Any], accounts: list[list[str]]) -> Person:
        key, name, linked, external = row[:4]
        roster = self._roster
        record = roster.record_for(key if linked else "", name) if roster.configured else None
        person = Person(key, name, tuple(AccountLink(p, m, e) for p, m, e in accounts), bool(linked), bool(external),
                        record)
        return self._made.setdefault(key, person)  # two threads may make one: the first is everyone's

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<StoredPeople of {len(self)}>"


class PersonOf(Mapping[str, str]):
    """Principal key -> person key, from the stored people's accounts, parsed when first asked for."""

    def __init__(self, rows: Sequence[Sequence[Any]]):
        self._rows: Sequence[Sequence[Any]] | None = rows
        self._found: dict[str, str] = {}

    def _all(self) -> dict[str, str]:
        rows = self._rows
        if rows is not None:
            every = json.loads("[" + ",".join(row[4] for row in rows) + "]")
            self._found = {account[0]: row[0] for row, accounts in zip(rows, every) for account in accounts}
            self._rows = None
        return self._found

    def __getitem__(self, key: str) -> str:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, key: object) -> bool:
        return key in self._all()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._all() == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------- findings' evidence


class Decoded(SequenceABC):
    """A stored finding's evidence, decoded from its JSON when first read: listing findings (a
    table's rows, their severities and people) does not build their holdings. Equal to the tuple
    it decodes to, as a computed finding's evidence is."""

    __slots__ = ("_text", "_decode", "_value", "_names")

    def __init__(self, text: str, decode: Callable[[str], tuple[Any, ...]],
                 names: Callable[[str], tuple[str, ...]] | None = None):
        self._text, self._decode, self._value, self._names = text, decode, None, names

    def capabilities(self) -> tuple[str, ...] | None:
        """What ``names`` reads of the JSON without decoding it (a finding's capabilities, for a
        table of thousands of findings); None when not given or decoded already."""
        return self._names(self._text) if self._names is not None and self._value is None else None

    def _get(self) -> tuple[Any, ...]:
        value = self._value
        if value is None:  # two threads may both decode: the same value, either one kept
            value = self._value = self._decode(self._text)
        return value

    def __len__(self) -> int:
        return len(self._get())

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        return self._get() == (other._get() if isinstance(other, Decoded) else other)

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


def stored_evidence(person: str, requirements: Sequence[Any], text: str) -> tuple[Any, ...]:
    """A finding's evidence from its JSON: (requirement, holdings) per requirement."""
    return tuple((requirements[index], tuple(holding_of(person, h[0], h[1:]) for h in held))
                 for index, held in json.loads(text) if index < len(requirements))


def evidence_capabilities(requirements: int, text: str) -> tuple[str, ...]:
    """The capabilities a finding's evidence JSON names, in order (as `Finding.capabilities` lists
    those of `stored_evidence`'s holdings), without making the holdings."""
    return tuple(dict.fromkeys(h[0] for index, held in json.loads(text) if index < requirements for h in held))


def holding_of(person: str, capability: str, h: Sequence[Any]) -> Holding:
    """A holding of a finding's evidence or exposure from its JSON (`stored_encode._held`)."""
    resource, repo, tier, app, system, grant, account, distance, latent, attrs, hop, escalation, timed, emergency = h
    return Holding(person, capability, resource, repo, tier, app, system, grant, account, distance, bool(latent),
                   attrs or _EMPTY, (None, tuple(hop) if hop else 0), bool(escalation), bool(timed), bool(emergency))


def exposures_of(found: str | list[Any]) -> tuple[Exposure, ...]:
    """A posture finding's exposed people from `_details` (its JSON, or a stale older form's list)."""
    return tuple(Exposure(who, tuple(Step(*s) for s in steps), holding_of(h[0], h[1], h[2:]) if h else None)
                 for who, steps, h in (json.loads(found) if isinstance(found, str) else found))


def fact_of(data: Mapping[str, Any] | None) -> Fact | None:
    """An activity finding's fact from its details (`stored_encode._details`)."""
    if not data:
        return None
    return Fact(**{**data, "proof": tuple(ProofStep(**p) for p in data["proof"]),
                   "attrs": MappingProxyType(dict(data.get("attrs") or {}))})


# ---------------------------------------------------------------- the matrix's counts

# The node rows holding the matrix's counts: "#matrix" for every tier, "#matrix:TIER" for one;
# names no principal key has ("system:ident").
MATRIX_NODE = "#matrix"


def matrix_node(tier: str) -> str:
    return MATRIX_NODE if tier == "any" else f"{MATRIX_NODE}:{tier}"


def tier_counts(held: Sequence[Holding], columns: Sequence[Sequence[Any]] | None = None) -> list[list[Any]]:
    """One person's holdings of one capability as the matrix counts them, per tier: [tier,
    resources held standing, resources reached only through an emergency path]. A resource has
    one tier, so the counts of every tier add up to those of "any" (the matrix's cells, counted).
    ``columns``: ``list(zip(*held))``, if at hand."""
    if columns is None:
        columns = list(zip(*held))
    if not any(columns[15]):  # no emergency path
        found: dict[str, int] = {}
        get = found.get
        for tier, _ in set(zip(columns[4], columns[2])):
            found[tier] = get(tier, 0) + 1
        return [[tier, n, 0] for tier, n in found.items()]
    standing: dict[str, set[str]] = {}
    emergency: dict[str, set[str]] = {}
    for h in held:
        (emergency if h.emergency else standing).setdefault(h.tier, set()).add(h.resource)
    return [[tier, len(standing.get(tier, ())), len(emergency.get(tier, set()) - standing.get(tier, set()))]
            for tier in dict.fromkeys([*standing, *emergency])]


class MatrixCounts:
    """The matrix's counts of everyone, per tier, as `encode` stores them: for each tier (and
    "any") the people holding anything there, each with six standing counts and six emergency-only
    counts in `CAPABILITIES` order. Code capabilities count in every tier, as the matrix has it."""

    def __init__(self, capabilities: Sequence[str]):
        self._index = {c: n for n, c in enumerate(capabilities)}
        self._width = len(capabilities)
        self._code = [c.startswith("code.") for c in capabilities]
        self._tiers: dict[str, dict[str, list[int]]] = {"any": {}}
        self.finished = False  # every holding added (`rows` may be asked for)

    def add(self, person: str, capability: str, counts: list[list[Any]]) -> None:
        """One person's `tier_counts` of one capability (none of a capability outside the vocabulary)."""
        at = self._index.get(capability)
        if at is None:
            return
        if self._code[at]:  # every tier's row gets the capability's total; tiers seen later too (`rows`)
            counts = [["", sum(c[1] for c in counts), sum(c[2] for c in counts)]]
        for tier, standing, emergency in counts:
            for name in (("any",) if self._code[at] else ("any", tier)):
                row = self._tiers.setdefault(name, {}).get(person)
                if row is None:
                    row = self._tiers[name][person] = [0] * (2 * self._width)
                row[at] += standing
                row[self._width + at] += emergency

    @property
    def tiers(self) -> dict[str, dict[str, list[int]]]:
        """Each tier's people and their counts so far (a forked child's, for `merge`)."""
        return self._tiers

    def merge(self, tiers: Mapping[str, Mapping[str, list[int]]]) -> None:
        """Other people's counts (another `MatrixCounts`' `tiers`: a forked child's), as if each
        person's holdings had been added here now: every person is counted in one place."""
        for name, people in tiers.items():
            self._tiers.setdefault(name, {}).update(people)

    def rows(self) -> list[tuple[str, bytes]]:
        """(node name, packed [people, flat counts]) per tier: code capabilities copied into each."""
        every = self._tiers["any"]
        code = [n for n, c in enumerate(self._code) if c]
        out = []
        for tier, people in self._tiers.items():
            if tier != "any":
                for person, counts in every.items():
                    if any(counts[n] or counts[self._width + n] for n in code):
                        row = people.setdefault(person, [0] * (2 * self._width))
                        for n in code:
                            row[n], row[self._width + n] = counts[n], counts[self._width + n]
            keys = list(people)
            out.append((matrix_node(tier), squeeze(json.dumps(
                [keys, [n for key in keys for n in people[key]]], separators=(",", ":"), ensure_ascii=False)
                .encode("utf-8", "surrogatepass"))))
        return out


def code_only(people: list[str], counts: list[int], capabilities: Sequence[str]) -> tuple[list[str], list[int]]:
    """The "any" row's people and counts with only code capabilities left: a tier where nothing
    else is held (one the config names that no resource has)."""
    width = len(capabilities)
    keep = [c.startswith("code.") for c in capabilities] * 2
    found_people, found = [], []
    for n, person in enumerate(people):
        row = [v if k else 0 for v, k in zip(counts[2 * width * n:2 * width * (n + 1)], keep)]
        if any(row):
            found_people.append(person)
            found.extend(row)
    return found_people, found


# ---------------------------------------------------------------- a person's reach


def encode_reach(reach: Sequence[Sequence[Any]]) -> str:
    """`Graph.reach` ([principal, parent index, edge kind] each) as three joined columns, or JSON
    when a principal's key holds a separator."""
    if not reach:
        return "[]"
    nodes, parents, kinds = zip(*reach)
    texts = [SEP_VALUE.join(nodes), SEP_VALUE.join(kinds)]
    if _clean(texts, len(reach)):
        return SEP_COLUMN.join(["C", texts[0], ",".join(map(str, parents)), texts[1]])
    return json.dumps([list(r) for r in reach], ensure_ascii=False)


def decode_reach(text: str) -> list[tuple[str, int, str]]:
    if not text.startswith("C" + SEP_COLUMN):
        return [tuple(r) for r in json.loads(text)]  # type: ignore[misc]
    _, nodes, parents, kinds = text.split(SEP_COLUMN)
    return list(zip(nodes.split(SEP_VALUE), map(int, parents.split(",")), kinds.split(SEP_VALUE)))


def reach_nodes(text: str) -> list[str] | None:
    """`decode_reach`'s first column alone (the principals reached), without the rest; None for
    a form that has no column of them to split off (decode it whole)."""
    if not text.startswith("C" + SEP_COLUMN):
        return None
    return text.split(SEP_COLUMN, 2)[1].split(SEP_VALUE)


def roster_json(roster: Roster) -> dict[str, Any]:
    return {"sources": list(roster.sources), "unreadable": list(roster.unreadable),
            "aliases": {k: list(v) for k, v in roster.aliases.items()},
            "people": [canonical(p) for p in roster.people.values()]}


def roster_of(data: Mapping[str, Any]) -> Roster:
    people = {}
    for p in data["people"]:
        entries = tuple(RosterEntry(**e) for e in p.pop("entries"))
        record = RosterPerson(**{**p, "entries": entries, "groups": tuple(p["groups"]), "apps": tuple(p["apps"])})
        people[record.email] = record
    return Roster(configured=True, people=MappingProxyType(people),
                  aliases=MappingProxyType({k: (v[0], v[1]) for k, v in data["aliases"].items()}),
                  unreadable=tuple(data["unreadable"]), sources=tuple(data["sources"]))


def canonical(value: Any) -> Any:
    """A value as plain JSON: dataclasses by field, mappings with sorted keys, dates in ISO."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


# ---------------------------------------------------------------- the edges of paths' hops

HOPS_PER_READ = 900  # sources and destinations bound in one read: under every backend's limit on parameters


def hop_edges(store: Any, info: Any, hops: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], Edge]:
    """Each (source, destination, kind) hop's edge: the first the snapshot lists from that source to
    that destination of that kind, as a read of all the source's edges finds it (`StoredAnalysis._edge`;
    made from the hop when there is none). Read by source and destination: a path names one of the
    hundreds of edges a principal may have (a person's memberships)."""
    wanted = set(hops)
    by_src: dict[str, set[str]] = {}
    for src, dst, _ in wanted:
        by_src.setdefault(src, set()).add(dst)
    found: dict[tuple[str, str, str], Edge] = {}

    def read(sources: list[str], destinations: list[str]) -> None:
        where = f" AND src IN ({', '.join('?' * len(sources))})" + (
            f" AND dst IN ({', '.join('?' * len(destinations))})" if destinations else "")
        parts = store.read_parts(info, ("edges",), where=where, params=[*sources, *destinations])
        for source in info.sources:  # in the order a whole read lists them: the first edge is kept
            for e in parts[source.name]["edges"]:
                found.setdefault((e.src, e.dst, e.kind), e)

    sources: list[str] = []
    destinations: set[str] = set()
    for src in sorted(by_src):
        if len(by_src[src]) >= HOPS_PER_READ // 2:  # many hops leave it: all its edges
            read([src], [])
            continue
        if len(sources) + 1 + len(destinations | by_src[src]) > HOPS_PER_READ:
            read(sources, sorted(destinations))
            sources, destinations = [], set()
        sources.append(src)
        destinations |= by_src[src]
    if sources:
        read(sources, sorted(destinations))
    return {hop: e if (e := found.get(hop)) is not None else Edge(*hop) for hop in wanted}
