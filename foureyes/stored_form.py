"""How a stored analysis writes a person's holdings of one capability, and reads them back.

A million holdings are written every time an analysis is stored, so the form is columnar: one
string per field (resources, repositories, grants, accounts, first hops, distances, flags,
attributes), each joined with a separator and the lot compressed once. Building and splitting
those strings happens in C; JSON per holding cost more than computing the analysis. Tier, app
and system are not stored: they follow from the resource and repository (`place`).

A value that contains a separator (text from an audited system can hold anything) sends that
blob to the JSON form instead, which every reader also understands: the first byte says which.
"""

from __future__ import annotations

import json
import zlib
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

from .graph import Holding
from .model import Resource

COLUMNS, JSON_FORM = b"C", b"J"
SEP_COLUMN, SEP_VALUE, SEP_HOP = "\x1e", "\x1f", "\x1d"
_SEPARATORS = (SEP_COLUMN, SEP_VALUE, SEP_HOP)
_BIT = {False: "0", True: "1", 0: "0", 1: "1"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})

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
                    seen: dict[Any, str] | None = None) -> bytes:
    """One person's holdings of one capability (non-empty), columnar when every value allows.
    ``seen`` caches first hops as text across calls (a graph's hop is its edge and the next
    repository; holdings through one team share it)."""
    columns = list(zip(*held))
    hops = []
    add = hops.append
    clean = True
    seen = {} if seen is None else seen
    for h, (ref, following) in zip(held, columns[12]):
        if ref is not None and ref < 0:  # the grant itself (graph refs below 0 are grants)
            add("")
            continue
        key = (ref, following[2] if following else None)
        text = seen.get(key)
        if text is None:
            hop = hop_of(h)
            text = hop_text(hop)
            # a separator inside a part (more SEP_HOPs than the joins put there): this blob goes to JSON
            if hop and (text.count(SEP_HOP) != len(hop) - 1 or SEP_VALUE in text or SEP_COLUMN in text):
                text = "\x00" + text  # marks it
            seen[key] = text
        if text[:1] == "\x00":
            clean = False
        add(text)
    texts = [SEP_VALUE.join(columns[2]), SEP_VALUE.join(columns[3]), SEP_VALUE.join(columns[7]),
             SEP_VALUE.join(columns[8]), SEP_VALUE.join(hops)]
    if clean and _clean(texts, len(held)):
        attrs = ([kept_attrs(a, keep) for a in columns[11]] if any(columns[11]) else None)
        texts += [",".join(map(str, columns[9])), "".join(map(_BIT.__getitem__, columns[10])),
                  "".join(map(_BIT.__getitem__, columns[13])), "".join(map(_BIT.__getitem__, columns[14])),
                  "".join(map(_BIT.__getitem__, columns[15])),
                  json.dumps(attrs, separators=(",", ":"), ensure_ascii=False) if attrs and any(attrs) else ""]
        return COLUMNS + zlib.compress(SEP_COLUMN.join(texts).encode("utf-8", "surrogatepass"), 1)
    rows = [[h.resource, h.repo, h.grant, h.account, h.distance, int(h.latent), kept_attrs(h.attrs, keep),
             hop_of(h) or 0, int(h.escalation), int(h.time_bound), int(h.emergency)] for h in held]
    return JSON_FORM + zlib.compress(json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
                                     .encode("utf-8", "surrogatepass"), 1)


def _columns(blob: bytes, *, hops: bool = True) -> tuple[Any, ...]:
    """The columns of a blob: resources, repos, grants, accounts, first hops, distances, and the
    flags latent, escalation, time-bound and emergency (strings of 0 and 1), attrs. ``hops`` false:
    resources, repos and the emergency flags only, the rest empty."""
    if blob[:1] == COLUMNS:
        text = zlib.decompress(blob[1:]).decode("utf-8", "surrogatepass")
        (resources, repos, grants, accounts, hop_texts, distances, latent, escalation, time_bound, emergency,
         attrs) = text.split(SEP_COLUMN)
        if not hops:
            return resources.split(SEP_VALUE), repos.split(SEP_VALUE), [], [], [], [], "", "", "", emergency, None
        return (resources.split(SEP_VALUE), repos.split(SEP_VALUE), grants.split(SEP_VALUE),
                accounts.split(SEP_VALUE), [_first_hop(t) for t in hop_texts.split(SEP_VALUE)],
                [int(d) for d in distances.split(",")], latent, escalation, time_bound, emergency,
                json.loads(attrs) if attrs else None)
    rows = json.loads(zlib.decompress(blob[1:]).decode("utf-8", "surrogatepass"))
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
