"""A stored snapshot's rows made into model objects: read from the tables (a loader per table, one
cursor's rows at a time) or unpacked from the packs written beside them (`writing.pack_grants`,
`writing.pack_rows`: the same values, decoded the same way, each distinct value once)."""

from __future__ import annotations

import json
import marshal
import sys
from array import array
from dataclasses import fields
from collections import deque
from itertools import compress, repeat
from operator import and_, itemgetter
from types import MappingProxyType, MemberDescriptorType
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..activity import activity_order, decode
from ..model import Edge, Gap, Grant, Principal, Resource
from . import writing

_EMPTY: Mapping[str, Any] = MappingProxyType({})

SNAPSHOT_PARTS = ("principals", "resources", "grants", "edges", "gaps", "activity")


def _maker(cls: type) -> Callable[..., Any]:
    """A constructor of a frozen, slotted dataclass that sets its fields straight through their
    slots: the dataclass's own ``__init__`` goes through ``object.__setattr__`` once per field,
    a third of loading a million grants. Only where ``__init__`` does nothing else: a class with
    ``__post_init__`` (or without slots) is constructed as usual."""
    names = [f.name for f in fields(cls)]
    if hasattr(cls, "__post_init__") or not all(isinstance(getattr(cls, n, None), MemberDescriptorType) for n in names):
        return cls
    setters = [getattr(cls, n).__set__ for n in names]
    new = object.__new__
    namespace: dict[str, Any] = {"new": new, "cls": cls, **{f"set{i}": f for i, f in enumerate(setters)}}
    arguments = ", ".join(f"a{i}" for i in range(len(names)))
    body = "".join(f"    set{i}(obj, a{i})\n" for i in range(len(names)))
    exec(f"def make({arguments}):\n    obj = new(cls)\n{body}    return obj\n", namespace)  # noqa: S102
    return namespace["make"]  # type: ignore[no-any-return]


_grant, _principal, _edge, _resource = _maker(Grant), _maker(Principal), _maker(Edge), _maker(Resource)


def _column_maker(cls: type) -> Callable[[int, Sequence[Iterable[Any]]], list[Any]]:
    """`_maker`'s objects made from columns (each an iterable of one field's values, in field order) a
    field at a time: the objects made first (``object.__new__``), then each field's slot set on all of
    them by `map` over its setter. No Python step per object: a million grants take ~0.55 s instead of
    ~0.75 s. Where `_maker` would construct as usual, so does this."""
    if _maker(cls) is cls:
        return lambda count, columns: list(map(cls, *columns))
    setters = [getattr(cls, f.name).__set__ for f in fields(cls)]
    new = object.__new__

    def made(count: int, columns: Sequence[Iterable[Any]]) -> list[Any]:
        if len(columns) != len(setters):
            raise TypeError(f"{cls.__name__} has {len(setters)} fields, not {len(columns)}")
        objects = list(map(new, repeat(cls, count)))
        for setter, column in zip(setters, columns):
            deque(map(setter, objects, column), 0)  # (each column has ``count`` values)
        return objects

    return made


_grants_made, _principals_made, _edges_made = _column_maker(Grant), _column_maker(Principal), _column_maker(Edge)


def _appender(buckets: dict[str, dict[str, list[Any]]], part: str) -> Callable[[str], Callable[[Any], None]]:
    """The ``append`` of each source's list of ``part``, found once per source (rows come a
    source at a time, a million of them)."""
    found: dict[str, Callable[[Any], None]] = {}

    def of(src: str) -> Callable[[Any], None]:
        append = found.get(src)
        if append is None:
            append = found[src] = buckets[src][part].append
        return append

    return of


def _load_principals(rows: Any, buckets: dict[str, dict[str, list[Any]]]) -> None:
    intern, loads, add = sys.intern, _loads_shared(), _appender(buckets, "principals")
    for src, system, ident, kind, display, email, home, attrs in rows(
            "principals", "system, ident, kind, display_name, email, home, attrs"):
        add(src)(_principal(system, intern(ident), kind, display, email, home, loads(attrs)))


def _load_resources(rows: Any, buckets: dict[str, dict[str, list[Any]]]) -> None:
    intern, loads, add = sys.intern, _loads_shared(), _appender(buckets, "resources")
    for src, system, kind, ident, name, tier, app, parent, attrs in rows(
            "resources", "system, kind, ident, name, tier, app, parent, attrs"):
        add(src)(_resource(system, kind, intern(ident), name, tier, app, parent, loads(attrs)))


def _load_grants(rows: Any, buckets: dict[str, dict[str, list[Any]]]) -> None:
    intern, caps, known_caps, loads, empty = sys.intern, _caps, _caps_cache.get, _loads_shared(), _EMPTY
    # rows come in key order, so the source changes from row to row: its lists are looked up per row
    appenders = {name: (bucket["keys"].append, bucket["grants"].append) for name, bucket in buckets.items()}
    for (src, key, system, principal, entitlement, resource, capabilities, via, detail, condition, expires,
         last_used, attrs) in rows(
            "grants", "key, system, principal, entitlement, resource, capabilities, via, detail, condition, "
                      "expires, last_used, attrs"):
        keys, grants = appenders[src]
        keys(key)
        grants(_grant(system, intern(principal), entitlement, intern(resource),
                      known_caps(capabilities) or caps(capabilities), via, detail, condition, expires, last_used,
                      loads(attrs) if attrs else empty))


def unpack_grants(data: bytes, count: int, sources: Mapping[str, int],
                   buckets: dict[str, dict[str, list[Any]]], *, capable_only: bool = False,
                   on_resources: set[str] | None = None) -> bool:
    """`_load_grants` from a pack (`writing.pack_grants`): the same values decoded the same way, each
    distinct value once, the grants made by `map` over the columns (in C). False, with nothing loaded,
    when the pack does not fit the snapshot (its sources, their grant counts) or cannot be read.
    ``capable_only``: only the grants that confer a capability (on one of ``on_resources`` where given),
    as `SnapshotView.capability_grants` reads them from the rows."""
    intern, loads, empty = sys.intern, _loads_shared(), _EMPTY
    try:
        fmt, itemsize, parts = marshal.loads(data)
        if (fmt != writing.PACK_FORMAT or itemsize != array("I").itemsize or len(parts) != len(sources)
                or {p[0] for p in parts} != set(sources) or count != sum(sources.values())
                or any(p[1] != sources[p[0]] for p in parts)):
            return False
        decoded = []
        for name, size, keys, *columns in parts:
            keys = (keys.split("\n") if size else []) if type(keys) is str else list(keys)
            indexes = []
            for distinct, packed in columns:
                index = array("I")
                index.frombytes(packed)
                if len(index) != size or (size and max(index) >= len(distinct)):
                    return False
                indexes.append(index)
            (principals, _), (resources, _), (shapes, _) = columns
            if len(keys) != size:
                return False
            # a shape: system, entitlement, capabilities, via, detail, condition, expires, last_used, attrs
            made = [(system, entitlement, _caps(caps), via, detail, condition, expires, last_used,
                     loads(attrs) if attrs else empty)
                    for system, entitlement, caps, via, detail, condition, expires, last_used, attrs in shapes]
            decoded.append((name, keys, tuple(map(intern, principals)), tuple(map(intern, resources)), made,
                            indexes, bytes(1 if shape[2] != "" else 0 for shape in shapes)))
    except (ValueError, EOFError, TypeError, AttributeError):  # (a JSON error is a ValueError)
        return False
    for name, keys, principals, resources, made, (p_index, r_index, s_index), shape_ok in decoded:
        if not keys:
            continue
        if capable_only:  # the rows picked by their shape's capability text and their resource
            resource_ok = bytes(1 if on_resources is None or key in on_resources else 0 for key in resources)
            picked = list(compress(range(len(keys)), map(and_, map(shape_ok.__getitem__, s_index),
                                                          map(resource_ok.__getitem__, r_index))))
            keys = list(map(keys.__getitem__, picked))
            p_index, r_index, s_index = (list(map(index.__getitem__, picked)) for index in (p_index, r_index, s_index))
            if not keys:
                continue
        each = list(map(made.__getitem__, s_index))
        column = [list(map(itemgetter(i), each)) for i in range(9)]
        buckets[name]["keys"].extend(keys)
        buckets[name]["grants"].extend(_grants_made(len(keys), (
            column[0], map(principals.__getitem__, p_index), column[1], map(resources.__getitem__, r_index),
            *column[2:])))
    return True


# A packed part's columns that a load interns (as `_load_principals` and `_load_edges` do): the principal's
# ident; the edge's source and destination keys.
_INTERNED = {"principals": (1,), "edges": (0, 1)}


def unpack_part(part: str, snapshot_id: int, data: bytes, count: int, sources: Mapping[str, int],
                 buckets: dict[str, dict[str, list[Any]]]) -> bool:
    """`_load_principals` or `_load_edges` from a pack (`writing.pack_rows`): the same values decoded the
    same way (attributes parsed once per distinct text, keys interned), the objects made by `map` over
    the columns (in C). False, with nothing loaded, when the pack does not fit the snapshot (its part,
    the snapshot it was made for, its sources, their counts) or cannot be read."""
    intern, loads = sys.intern, _loads_shared()
    width = writing.PACKED_PARTS[part]
    try:
        fmt, itemsize, packed_part, packed_for, parts = marshal.loads(data)
        if (fmt != writing.PART_PACK_FORMAT or itemsize != array("I").itemsize or packed_part != part
                or packed_for != snapshot_id
                or len(parts) != len(sources) or {p[0] for p in parts} != set(sources)
                or count != sum(sources.values()) or any(p[1] != sources[p[0]] for p in parts)):
            return False
        made = []
        for name, size, columns in parts:
            if len(columns) != width:
                return False
            decoded: list[Sequence[Any]] = []
            for n, (values, packed) in enumerate(columns):
                if n in _INTERNED[part]:
                    values = tuple(map(intern, values))
                elif n == width - 1:  # the attributes' text
                    values = tuple(map(loads, values))
                if packed is None:
                    if len(values) != size:
                        return False
                    decoded.append(values)
                    continue
                index = array("I")
                index.frombytes(packed)
                if len(index) != size or (size and max(index) >= len(values)):
                    return False
                decoded.append(list(map(values.__getitem__, index)))
            made.append((name, decoded))
    except (ValueError, EOFError, TypeError, AttributeError):  # (a JSON error is a ValueError)
        return False
    made_of = _principals_made if part == "principals" else _edges_made
    for name, decoded in made:
        buckets[name][part].extend(made_of(len(decoded[0]), decoded))
    return True


def _load_edges(rows: Any, buckets: dict[str, dict[str, list[Any]]]) -> None:
    intern, loads, add = sys.intern, _loads_shared(), _appender(buckets, "edges")
    current: Any = None
    edges: Any = None
    for src, s_key, d_key, kind, label, condition, attrs in rows("edges", "src, dst, kind, label, condition, attrs"):
        if src != current:
            current, edges = src, add(src)
        edges(_edge(intern(s_key), intern(d_key), kind, label, condition, loads(attrs)))


def _load_gaps(rows: Any, buckets: dict[str, dict[str, list[Any]]]) -> None:
    for src, system, resource, reason, hides, about in rows("gaps", "system, resource, reason, hides, about"):
        buckets[src]["gaps"].append(Gap(system, resource, reason, hides, about))


def _load_activity(rows: Any, buckets: dict[str, dict[str, list[Any]]]) -> None:
    for src, kind, content in rows("activity", "kind, content"):
        buckets[src]["activity"].append(decode(kind, json.loads(content)))
    for bucket in buckets.values():  # rows come back in no promised order: the builder's order
        bucket["activity"].sort(key=activity_order)


LOADERS = {"principals": _load_principals, "resources": _load_resources, "grants": _load_grants,
            "edges": _load_edges, "gaps": _load_gaps, "activity": _load_activity}



_caps_cache: dict[str, tuple[str, ...]] = {}


def _caps(text: str) -> tuple[str, ...]:
    found = _caps_cache.get(text)
    if found is None:
        found = _caps_cache[text] = tuple(text.split()) if text else ()
    return found


def loads(text: str) -> Mapping[str, Any]:
    return json.loads(text) if text else _EMPTY


def _loads_shared() -> Callable[[str], Mapping[str, Any]]:
    """`loads`, each distinct text parsed once and its mapping shared by the rows that carry it
    (a million grants carry a few hundred distinct attributes; nothing changes a loaded mapping)."""
    seen: dict[str, Mapping[str, Any]] = {}

    def loads(text: str) -> Mapping[str, Any]:
        if not text:
            return _EMPTY
        found = seen.get(text)
        if found is None:
            found = seen[text] = json.loads(text)
        return found

    return loads
