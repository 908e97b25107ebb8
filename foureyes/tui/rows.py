"""Table rows for the TUI: display cells made safe once, sort keys, and the filter language.

Pure Python (no Textual), so screens build rows in worker threads and the benchmark and
tests can measure filtering without a terminal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..textsafe import safe_text


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a `RecordTable`. ``width`` 0 means: take the space that is left."""

    key: str
    label: str
    width: int = 0
    align: str = "left"  # left | right | center
    min_width: int = 8


@dataclass(frozen=True, slots=True)
class Row:
    """One table row. ``cells`` are display strings that have already passed `safe_text`."""

    key: str
    cells: tuple[str, ...]
    sort: tuple[Any, ...]  # one sort value per column
    fields: Mapping[str, str] = field(default_factory=dict)  # lowercased values for `field:value` filters
    haystack: str = ""  # lowercased text free filter words are looked up in
    style: str = ""  # Rich style of the whole row ("bold" for rows in conflict)
    cell_styles: tuple[str, ...] = ()  # Rich style per cell, "" for none
    data: Any = None  # what the row stands for (a Finding, a Person, …)


def make_row(key: str, values: Sequence[Any], *, sort: Sequence[Any] | None = None,
             fields: Mapping[str, Any] | None = None, style: str = "", cell_styles: Sequence[str] = (),
             data: Any = None, limit: int = 200) -> Row:
    """A row from raw values: every value is neutralised (audited text is never markup)."""
    cells = tuple(safe_text(v, limit=limit) for v in values)
    lowered = {k: safe_text(v).lower() for k, v in (fields or {}).items()}
    haystack = "\x00".join(c.lower() for c in cells)
    if lowered:
        haystack += "\x00" + "\x00".join(lowered.values())
    return Row(key=key, cells=cells, sort=tuple(sort) if sort is not None else tuple(c.lower() for c in cells),
               fields=lowered, haystack=haystack, style=style, cell_styles=tuple(cell_styles), data=data)


# ---------------------------------------------------------------- filter language


@dataclass(frozen=True)
class RowFilter:
    """``payments severity:high -rule:FE-SOD-002``: words all match; ``field:`` narrows, ``-`` negates."""

    terms: tuple[tuple[str, str, bool], ...]  # (field or "", lowercased value, negated)
    text: str = ""
    keys: frozenset[str] | None = None  # only rows with these keys (a team's members), when set

    @property
    def empty(self) -> bool:
        return not self.terms and self.keys is None

    def __call__(self, row: Row) -> bool:
        if self.keys is not None and row.key not in self.keys:
            return False
        for name, value, negated in self.terms:
            if name:
                found = value in row.fields.get(name, "")
            else:
                found = value in row.haystack
            if found == negated:
                return False
        return True


def parse_filter(text: str, fields: Iterable[str] = ()) -> RowFilter:
    """Parse the filter box. Unknown ``name:`` prefixes are searched as plain text."""
    known = set(fields)
    try:
        words = shlex.split(text)
    except ValueError:  # an unclosed quote while typing: use what is there
        words = text.replace('"', " ").replace("'", " ").split()
    terms = []
    for word in words:
        negated = word.startswith("-") and len(word) > 1
        if negated:
            word = word[1:]
        name, sep, value = word.partition(":")
        if sep and name.lower() in known and value:
            terms.append((name.lower(), value.lower(), negated))
        else:
            terms.append(("", word.lower(), negated))
    return RowFilter(tuple(terms), text)


def apply_filter(rows: Sequence[Row], row_filter: RowFilter | Callable[[Row], bool] | None) -> list[int]:
    """Indexes of the rows that pass."""
    if row_filter is None or getattr(row_filter, "empty", False):
        return list(range(len(rows)))
    return [i for i, row in enumerate(rows) if row_filter(row)]
