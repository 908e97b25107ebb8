"""Reading an HR roster export (CSV or JSON) into rows, validated: every problem is one
`InputFileError` naming the file, the line and the column (or key), and what to do (exit 2).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from ...config import RosterColumns, RosterSource, RosterStatuses
from ...errors import InputFileError
from ...model import RosterStatus
from .records import is_email

FIELDS = tuple(f.name for f in fields(RosterColumns))
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_LIST_KEYS = ("people", "employees", "workers", "users", "data", "records")


@dataclass(frozen=True)
class RosterRow:
    line: int
    email: str
    name: str
    status: str  # RosterStatus
    raw_status: str
    manager: str
    department: str
    title: str
    employee_number: str
    start: str
    end: str


def read_roster(section: RosterSource, base: Path | None = None) -> tuple[str, list[RosterRow]]:
    """(the file's path as shown, its validated rows)."""
    path = Path(section.path).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(shown, "roster file not found; check [sources.roster] path") from None
    except OSError as exc:
        raise InputFileError(shown, f"cannot read the roster file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(shown, "not UTF-8 text; export the roster as UTF-8", line=line) from None
    kind = section.format
    if kind == "auto":
        kind = "json" if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{") else "csv"
    records = _json_records(text, shown) if kind == "json" else _csv_records(text, shown, section.columns)
    return shown, _validate(records, shown, section, column_word="key" if kind == "json" else "column")


def _csv_records(text: str, shown: str, columns: RosterColumns) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InputFileError(shown, f"not a CSV file: {exc}", line=1) from None
    if not header:
        raise InputFileError(shown, "the roster is empty: expected a header row naming the columns", line=1)
    _check_columns([h.strip() for h in header], shown, columns, line=1, word="column")
    out = []
    try:
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            if None in row:
                raise InputFileError(shown, f"{len(header) + len(row[None])} fields where the header has "
                                     f"{len(header)}; quote values that contain commas", line=reader.line_num)
            out.append((reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}))
    except csv.Error as exc:
        raise InputFileError(shown, f"malformed CSV: {exc}", line=reader.line_num) from None
    return out


def _json_records(text: str, shown: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(shown, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    start = 0
    if isinstance(data, dict):
        key = next((k for k in _LIST_KEYS if isinstance(data.get(k), list)), None)
        if key is None:
            raise InputFileError(shown, "expected a list of people, or an object with one of "
                                 f"{', '.join(_LIST_KEYS)} holding that list", line=1)
        found = re.search(r'"%s"\s*:\s*\[' % re.escape(key), text)
        start = found.end() - 1 if found else 0
        data = data[key]
    elif not isinstance(data, list):
        raise InputFileError(shown, "expected a list of people", line=1)
    lines = _element_lines(text, start, len(data))
    out = []
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else None
        if not isinstance(item, dict):
            raise InputFileError(shown, f"person #{index + 1} is not an object", line=line)
        out.append((line or 0, {str(k): v for k, v in item.items()}))
    return out


def _element_lines(text: str, start: int, count: int) -> list[int]:
    """The line each element of the JSON array at ``start`` begins on."""
    decoder = json.JSONDecoder()
    at = text.index("[", start) + 1
    lines = []
    for _ in range(count):
        while text[at] in " \t\r\n,":
            at += 1
        lines.append(text.count("\n", 0, at) + 1)
        _, at = decoder.raw_decode(text, at)
    return lines


def _check_columns(present: list[str], shown: str, columns: RosterColumns, *, line: int, word: str) -> None:
    defaults = RosterColumns()
    for name in ("email", "name"):
        wanted = getattr(columns, name)
        if wanted not in present:
            raise InputFileError(shown, f"no {word} {wanted!r} (the {name} of each person); the file has "
                                 f"{', '.join(repr(p) for p in present)}: set [sources.roster.columns] "
                                 f"{name} = \"…\"", line=line)
    for name in FIELDS:
        wanted = getattr(columns, name)
        if wanted != getattr(defaults, name) and wanted not in present:
            raise InputFileError(shown, f"no {word} {wanted!r}, which [sources.roster.columns] {name} names; "
                                 f"the file has {', '.join(repr(p) for p in present)}", line=line)


def _validate(records: list[tuple[int, dict[str, Any]]], shown: str, section: RosterSource, *,
              column_word: str) -> list[RosterRow]:
    columns, statuses = section.columns, _status_words(section.statuses)
    if records and column_word == "key":
        keys = sorted({k for _, r in records for k in r})
        _check_columns(keys, shown, columns, line=records[0][0], word=column_word)
    seen: dict[str, int] = {}
    rows = []
    for line, record in records:
        def value(name: str) -> str:
            raw = record.get(getattr(columns, name))
            if raw is None:
                return ""
            if isinstance(raw, (dict, list)):
                raise InputFileError(shown, f"expected text, found {type(raw).__name__}", line=line,
                                     key=f"{column_word} {getattr(columns, name)}")
            return str(raw).strip()

        def where(name: str) -> str:
            return f"{column_word} {getattr(columns, name)}"

        email = value("email").lower()
        if not is_email(email):
            raise InputFileError(shown, f"{email!r} is not an e-mail address" if email else "the e-mail is empty",
                                 line=line, key=where("email"))
        if email in seen:
            raise InputFileError(shown, f"{email} is listed twice (first on line {seen[email]})", line=line,
                                 key=where("email"))
        seen[email] = line
        raw_status = value("status")
        status = statuses.get(raw_status.casefold())
        has_status = getattr(columns, "status") in record
        if has_status and status is None:
            known = sorted({w for w in statuses})
            raise InputFileError(shown, f"status {raw_status!r} is not one foureyes knows ({', '.join(known)}); "
                                 "map it under [sources.roster.statuses]", line=line, key=where("status"))
        manager = value("manager").lower()
        if manager and not is_email(manager):
            raise InputFileError(shown, f"{manager!r} is not an e-mail address (the manager is named by e-mail)",
                                 line=line, key=where("manager"))
        start, end = (_date(value(n), shown, line, where(n)) for n in ("start", "end"))
        if start and end and end < start:
            raise InputFileError(shown, f"the end date {end} is before the start date {start}", line=line,
                                 key=where("end"))
        rows.append(RosterRow(line=line, email=email, name=value("name"), status=status or RosterStatus.ACTIVE,
                              raw_status=raw_status, manager=manager, department=value("department"),
                              title=value("title"), employee_number=value("employee_number"), start=start, end=end))
    return rows


def _status_words(statuses: RosterStatuses) -> dict[str, str]:
    out: dict[str, str] = {}
    for status, words in ((RosterStatus.ACTIVE, statuses.active), (RosterStatus.SUSPENDED, statuses.suspended),
                          (RosterStatus.TERMINATED, statuses.terminated)):
        for word in words:
            out[word.strip().casefold()] = status
    return out


def _date(text: str, shown: str, line: int, key: str) -> str:
    if not text:
        return ""
    m = _DATE.match(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            pass
    raise InputFileError(shown, f"{text!r} is not a date; write it as YYYY-MM-DD", line=line, key=key)
