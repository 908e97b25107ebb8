"""Demo-connector datasets: source results as JSON Lines, written and read as a stream.

The first line is a header naming the format (and each source's activity period); every other
line is one principal, resource, grant, edge, gap or activity record of one source.
`[sources.demo] dataset` reads these, and benchmarks/generate.py writes them for the
synthetic enterprise.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Iterable

from .activity import KINDS, ActivityPeriod, activity_order, decode, encode
from .errors import InputError
from .model import Edge, Gap, Grant, Principal, Resource, SourceResult

FORMAT = "foureyes-dataset/1"
_TYPES = {"principal": Principal, "resource": Resource, "grant": Grant, "edge": Edge, "gap": Gap}
_FIELDS = {name: tuple(cls.__dataclass_fields__) for name, cls in _TYPES.items()}


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def dump(results: Iterable[SourceResult], path: str | Path) -> None:
    path = Path(path)
    results = list(results)
    with _open(path, "w") as out:
        header = {"format": FORMAT, "sources": [
            {"name": r.name, "system": r.system, "stats": dict(r.stats),
             **({"period": {"start": r.period.start, "end": r.period.end}} if r.period else {})} for r in results]}
        out.write(json.dumps(header) + "\n")
        for r in results:
            for kind, items in (("principal", r.principals), ("resource", r.resources), ("grant", r.grants),
                                ("edge", r.edges), ("gap", r.gaps)):
                fields = list(_FIELDS[kind])
                for item in items:
                    record = {}
                    for name in fields:
                        value = getattr(item, name)
                        if value in ("", None, ()) or (name == "attrs" and not value):
                            continue
                        record[name] = dict(value) if name == "attrs" else value
                    out.write(json.dumps({"source": r.name, "type": kind, **record}, ensure_ascii=False) + "\n")
            for activity in r.activity:
                out.write(json.dumps({"source": r.name, "type": "activity", "kind": type(activity).KIND,
                                      "record": encode(activity)}, ensure_ascii=False) + "\n")


def load(path: str | Path) -> list[SourceResult]:
    """Read a dataset; a malformed file is one InputError naming the line."""
    path = Path(path)
    try:
        handle = _open(path, "r")
    except FileNotFoundError:
        raise InputError(f"{path}: dataset file not found") from None
    buckets: dict[str, dict[str, list[Any]]] = {}
    systems: dict[str, str] = {}
    stats: dict[str, Any] = {}
    periods: dict[str, ActivityPeriod] = {}
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
            if number == 1:
                if not isinstance(record, dict) or record.get("format") != FORMAT:
                    raise InputError(f"{path}:1: not a foureyes dataset (expected a header with "
                                     f"\"format\": \"{FORMAT}\")")
                for s in record.get("sources", []):
                    systems[s["name"]] = s["system"]
                    stats[s["name"]] = s.get("stats", {})
                    buckets[s["name"]] = {k: [] for k in (*_TYPES, "activity")}
                    if s.get("period"):
                        periods[s["name"]] = ActivityPeriod(s["period"]["start"], s["period"]["end"])
                continue
            kind = str(record.get("type", "record"))
            try:
                source, kind = record.pop("source"), record.pop("type")
                if kind == "activity":
                    if record.get("kind") not in KINDS:
                        raise InputError(f"{path}:{number}: unknown activity kind {record.get('kind')!r}")
                    buckets[source]["activity"].append(decode(record["kind"], record["record"]))
                    continue
                cls = _TYPES[kind]
                unknown = set(record) - set(_FIELDS[kind])
                if unknown:
                    raise InputError(f"{path}:{number}: unknown field {sorted(unknown)[0]!r} in a {kind}")
                if "attrs" in record:
                    record["attrs"] = MappingProxyType(record["attrs"])
                if kind == "grant" and "capabilities" in record:
                    record["capabilities"] = tuple(record["capabilities"])
                buckets[source][kind].append(cls(**record))
            except InputError:
                raise
            except (KeyError, TypeError) as exc:
                raise InputError(f"{path}:{number}: malformed {kind} ({exc})") from None
    return [
        SourceResult(name=name, system=systems[name], principals=tuple(b["principal"]),
                     resources=tuple(b["resource"]), grants=tuple(b["grant"]), edges=tuple(b["edge"]),
                     gaps=tuple(b["gap"]), stats=stats.get(name, {}),
                     activity=tuple(sorted(b["activity"], key=activity_order)), period=periods.get(name))
        for name, b in buckets.items()
    ]
