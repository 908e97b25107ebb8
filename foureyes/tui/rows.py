"""Table rows for the TUI: display cells made safe once, sort keys, and the filter language.

Pure Python (no Textual), so screens build rows in worker threads and the benchmark and
tests can measure filtering without a terminal.
"""

from __future__ import annotations

import shlex
from operator import attrgetter, itemgetter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..textsafe import safe_text


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a `RecordTable`, and how it gives way when the terminal is narrow.

    A column is as wide as its longest cell (at most ``width`` when set). When the columns
    do not all fit, each shrinks toward ``min_width`` (cut cells end in "…"); when even that
    does not fit, the columns of the highest ``priority`` number are hidden first. Priority 0
    is never hidden (an id, a title, a name). A ``whole`` column is never cut (ids). Width
    left over once every cell shows whole goes to the columns that ``grow`` (titles, reasons).
    """

    key: str
    label: str
    width: int = 0  # the most it takes; 0: as wide as its longest cell
    align: str = "left"  # left | right | center
    min_width: int = 8
    priority: int = 2  # 0: never hidden; higher numbers are hidden first
    grow: int = 0  # share of the width left over
    whole: bool = False  # never cut: always as wide as its longest cell
    short: str = ""  # the header when the column is narrower than its label

    def header(self, width: int) -> str:
        return self.short if self.short and len(self.label) > width >= len(self.short) else self.label


PADDING = 2  # a space either side of every cell


def natural_widths(columns: Sequence[Column], rows: Sequence["Row"]) -> list[int]:
    """Each column's longest cell (with its header), in characters; one pass per column."""
    widest = [max(map(len, c.label.split("\n"))) for c in columns]
    if rows:
        cells = list(map(attrgetter("cells"), rows))
        # (the columns every row has; each distinct text measured once: a queue repeats its names)
        for n in range(min(len(widest), min(map(len, cells)))):
            widest[n] = max(widest[n], max(map(len, set(map(itemgetter(n), cells)))))
    return widest


def layout(columns: Sequence[Column], natural: Sequence[int], available: int, *, fill: bool = True
           ) -> list[int | None]:
    """The width of each column in ``available`` cells (padding included), None for a hidden one.

    Every column first gets its least width; columns are hidden, highest priority number and
    rightmost first, while even that does not fit. The width left is shared out toward each
    column's longest cell (a column that grows by a bigger share), and with ``fill`` what is
    left after that goes to the columns that grow: the table spans the width it is given.
    """
    count = len(columns)
    wants: list[int] = []
    least: list[int] = []
    for column, widest in zip(columns, natural):
        if column.whole:
            want = max(widest, len(column.short or column.label))
            wants.append(want)
            least.append(want)
            continue
        want = min(widest, column.width) if column.width else widest
        want = max(want, 1)
        wants.append(want)
        least.append(min(want, max(column.min_width, 1)))
    shown = set(range(count))
    for index in sorted(range(count), key=lambda i: (-columns[i].priority, -i)):
        if sum(least[i] + PADDING for i in shown) <= available:
            break
        if columns[index].priority > 0:
            shown.discard(index)
    widths = {i: least[i] for i in shown}
    left = available - sum(w + PADDING for w in widths.values())
    while left > 0:  # toward each column's longest cell, a text that grows taking a bigger share
        wanting = sorted((i for i in shown if widths[i] < wants[i]), key=lambda i: (columns[i].priority, i))
        if not wanting:
            break
        weights = sum(max(columns[i].grow, 1) for i in wanting)
        pool = left
        for i in wanting:
            give = min(max(1, pool * max(columns[i].grow, 1) // weights), wants[i] - widths[i], left)
            widths[i] += give
            left -= give
            if not left:
                break
    growing = [i for i in sorted(shown) if columns[i].grow]
    if fill and left > 0 and growing:
        total = sum(columns[i].grow for i in growing)
        given = 0
        for i in growing:
            part = left * columns[i].grow // total
            widths[i] += part
            given += part
        widths[growing[0]] += left - given
    return [widths.get(i) for i in range(count)]


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


class CellCache:
    """`safe_text` once per distinct text while many rows are made (a review queue's 500,000 items
    name a few thousand people, grants and apps): text -> (cell, cell lowercased). One per batch of
    rows, dropped with it."""

    __slots__ = ("limit", "cells")

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self.cells: dict[str, tuple[str, str]] = {}

    def cell(self, value: Any) -> tuple[str, str]:
        if type(value) is not str:  # 1 and True are equal keys with different texts: never cached
            text = safe_text(value, limit=self.limit)
            return text, text.lower()
        found = self.cells.get(value)
        if found is None:
            text = safe_text(value, limit=self.limit)
            found = self.cells[value] = (text, text.lower())
        return found


def make_row(key: str, values: Sequence[Any], *, sort: Sequence[Any] | None = None,
             fields: Mapping[str, Any] | None = None, style: str = "", cell_styles: Sequence[str] = (),
             data: Any = None, limit: int = 200, cache: CellCache | None = None) -> Row:
    """A row from raw values: every value is neutralised (audited text is never markup).
    With ``cache`` (made with the same ``limit``), each distinct text is neutralised once."""
    if cache is not None and not fields:
        assert cache.limit == limit
        known = cache.cells.get
        pairs = [(known(v) or cache.cell(v)) if type(v) is str else cache.cell(v) for v in values]
        cells = tuple([p[0] for p in pairs])
        lowered_cells = [p[1] for p in pairs]
        return Row(key=key, cells=cells, sort=tuple(sort) if sort is not None else tuple(lowered_cells),
                   fields={}, haystack="\x00".join(lowered_cells), style=style, cell_styles=tuple(cell_styles),
                   data=data)
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


# A filter in a worker asks whether it is still wanted after this many rows (a few milliseconds:
# the one a key replaced stops soon instead of competing with the key's frame for the GIL).
FILTER_CHUNK = 2048


def apply_filter(rows: Sequence[Row], row_filter: RowFilter | Callable[[Row], bool] | None,
                 stop: Callable[[], bool] | None = None, candidates: list[int] | None = None) -> list[int] | None:
    """Indexes of the rows that pass; None when ``stop`` says, between chunks of rows, that the
    answer is no longer wanted (a newer filter was typed: a thread cannot be cancelled, and one
    left testing 500,000 rows slows every key after it). ``candidates`` are the places to test, in
    the order the answer is to have, when the caller knows them: the rows of a team's members
    (ascending), or every row in a sort's order."""
    places: Sequence[int] = range(len(rows)) if candidates is None else candidates
    if row_filter is None or getattr(row_filter, "empty", False):
        return list(places)
    if stop is None:
        return [i for i in places if row_filter(rows[i])]
    view: list[int] = []
    for start in range(0, len(places), FILTER_CHUNK):
        if stop():
            return None
        view.extend(i for i in places[start:start + FILTER_CHUNK] if row_filter(rows[i]))
    return view
