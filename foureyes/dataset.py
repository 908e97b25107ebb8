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

from dataclasses import dataclass

from .activity import KINDS, ActivityPeriod, activity_order, decode, encode
from .errors import InputError
from .model import Edge, Gap, Grant, Principal, Resource, SourceResult

FORMAT = "foureyes-dataset/1"
_TYPES = {"principal": Principal, "resource": Resource, "grant": Grant, "edge": Edge, "gap": Gap}
_FIELDS = {name: tuple(cls.__dataclass_fields__) for name, cls in _TYPES.items()}


@dataclass(frozen=True)
class Limits:
    """Bounds on a dataset, each raised by the `[sources.demo]` key of the same name: reading
    stops at the first one exceeded (a gzip bomb is never inflated past them)."""

    max_dataset_bytes: int = 4 * 2**30  # decompressed
    max_line_bytes: int = 16 * 2**20
    max_nesting: int = 64


def _size(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _too_much(path: Path, number: int, what: str, key: str, value: int) -> InputError:
    shown = f"{value} levels" if key == "max_nesting" else _size(value)
    return InputError(f"{path}:{number}: {what} ({shown}, [sources.demo] {key} = {value}); "
                      f"raise {key} if the file is trusted")


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed value (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item if isinstance(v, (dict, list)))
    return deepest


def _lines(handle: IO[bytes], path: Path, limits: Limits) -> Iterable[tuple[int, str]]:
    """(number, text) of each line, read at most ``max_line_bytes`` at a time: a line or a
    file over its limit ends the reading there, with the key that raises it."""
    total = 0
    number = 0
    while True:
        # never more than the line, or the rest of the file, may hold (and one byte to tell)
        raw = handle.readline(min(limits.max_line_bytes + 1, limits.max_dataset_bytes - total + 1))
        if not raw:
            return
        number += 1
        total += len(raw)
        if total > limits.max_dataset_bytes:
            raise _too_much(path, number, "the dataset is larger than the limit once decompressed",
                            "max_dataset_bytes", limits.max_dataset_bytes)
        if len(raw) > limits.max_line_bytes and not (len(raw) == limits.max_line_bytes + 1 and raw.endswith(b"\n")):
            raise _too_much(path, number, "a line longer than the limit", "max_line_bytes", limits.max_line_bytes)
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}:{number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


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


def load(path: str | Path, *, limits: Limits = Limits()) -> list[SourceResult]:
    """Read a dataset; a malformed file, or one beyond `limits`, is one InputError naming the line."""
    path = Path(path)
    try:
        raw: IO[bytes] = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
        handle = io.BufferedReader(raw, 1 << 20)  # type: ignore[arg-type]  # readline(limit) at C speed
    except FileNotFoundError:
        raise InputError(f"{path}: dataset file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the dataset ({exc.strerror})") from None
    buckets: dict[str, dict[str, list[Any]]] = {}
    systems: dict[str, str] = {}
    stats: dict[str, Any] = {}
    periods: dict[str, ActivityPeriod] = {}
    with handle:
        for number, line in _read(handle, path, limits):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
            except RecursionError:
                raise _too_much(path, number, "arrays or objects nested deeper than the limit", "max_nesting",
                                limits.max_nesting) from None
            # counting brackets is cheap; walking the record only when there could be too many
            if (line.count("[") + line.count("{") > limits.max_nesting
                    and _depth(record) > limits.max_nesting):
                raise _too_much(path, number, "arrays or objects nested deeper than the limit", "max_nesting",
                                limits.max_nesting)
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


def _read(handle: IO[bytes], path: Path, limits: Limits) -> Iterable[tuple[int, str]]:
    try:
        yield from _lines(handle, path, limits)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:  # a cut or corrupt gzip stream
        raise InputError(f"{path}: cannot read the dataset ({exc})") from None
