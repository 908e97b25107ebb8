"""The one place where the command line writes: data to stdout, diagnostics to stderr.

Every line goes out neutralised (foureyes/textsafe.py): a message is one visible line
whatever an audited system put in a name, an error or a gap (ANSI escapes, title-setting
sequences, bidi overrides); tables show cells literally; JSON and CSV escape what a
terminal would act on. tests/reliability/test_output_paths.py fails when code outside this
module prints, echoes or writes to a standard stream.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence

import click
from rich import box
from rich.cells import cell_len, chop_cells
from rich.console import Console
from rich.table import Table
from rich.text import Span, Text

from ..textsafe import csv_cell, json_text, safe_text
from ..tui.rows import Column, layout, natural_widths  # pure Python: the TUI's column layout, no Textual

PREFIX = "foureyes"


# ---------------------------------------------------------------- lines


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 item``, ``3 items``: a number and its noun, in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def out(message: object) -> None:
    """One line of data or of a result on stdout (a success line, a dry-run action)."""
    click.echo(safe_text(message))


def note(message: object) -> None:
    """One diagnostic line on stderr (a summary, a hint)."""
    click.echo(safe_text(message), err=True)


def warning(message: object) -> None:
    note(f"{PREFIX}: warning: {safe_text(message)}")


def error(message: object) -> None:
    """The line an error ends a command with."""
    note(f"{PREFIX}: error: {safe_text(message)}")


def data(text: str) -> None:
    """A rendered document on stdout, already neutralised by its renderer (Markdown, HTML,
    CSV, JSON exports); written as it is."""
    sys.stdout.write(text)
    sys.stdout.flush()


def confirm(question: str) -> bool:
    return click.confirm(safe_text(question), err=True, default=False)


# ---------------------------------------------------------------- progress on a terminal


class ProgressLine:
    """One line on stderr that a terminal rewrites in place (a plain log line when piped)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def show(self, message: str) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K" + safe_text(message)[:200])  # our own escape: clear the line
            sys.stderr.flush()
        else:
            note(message)

    def clear(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


# ---------------------------------------------------------------- tables, JSON, CSV


def terminal_width() -> int:
    """The width tables are laid out for: $COLUMNS when set, else the terminal's, else 200 when
    stdout is a pipe or a file (a piped table is not squeezed into 80 columns)."""
    given = os.environ.get("COLUMNS", "").strip()
    if given.isdigit() and int(given) >= 20:
        return int(given)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return 200


def stdout_console() -> Console:
    return Console(file=sys.stdout, soft_wrap=False, width=terminal_width())


class Cell(NamedTuple):
    """A table cell: its text, neutralised, and its style (what `print_table` reads of a `Text`).
    Rich's `Text` scans its text for control codes when made, character by character: a who-can
    table's paths made that most of printing it, and `safe_text` has already escaped them."""

    plain: str
    style: str = ""


def cell(value: Any, *, limit: int | None = 80, style: str | None = None) -> Cell:
    """A table cell that shows untrusted text literally (no markup, no escapes)."""
    return Cell(safe_text(value, limit=limit), style or "")


def cells_of(*, limit: int | None = 80, style: str | None = None) -> Callable[[Any], Cell]:
    """`cell` made once for each distinct text or number (columns whose values repeat thousands of times)."""
    made: dict[tuple[type, Any], Cell] = {}

    def of(value: Any) -> Cell:
        if type(value) is not str and type(value) is not int:  # (True is not 1 here: its own type)
            return cell(value, limit=limit, style=style)
        found = made.get((type(value), value))
        if found is None:
            found = made[type(value), value] = cell(value, limit=limit, style=style)
        return found

    return of


def _as_text(value: Text | Cell) -> Text:
    return value if isinstance(value, Text) else Text(value.plain, style=value.style)


Col = Column  # a column of a printed table: what matters most and how it gives way (foureyes.tui.rows)
GUTTER = 2  # the spaces between two columns (the layout counts them after every column, the last one too)


def print_table(title: str | None, columns: Sequence[str | Column], rows: Iterable[Sequence[Any]]) -> None:
    """A table at most as wide as the terminal: a title, bold headers over a rule, columns two
    spaces apart. Ids and other `whole` columns are never wrapped, no header is broken inside a
    word, and when even the narrowest layout does not fit, the columns that matter least are
    left out (and a line on stderr names them)."""
    specs = [c if isinstance(c, Column) else Column(c, c) for c in columns]
    cells = [[v if isinstance(v, (Text, Cell)) else cell(v) for v in row] for row in rows]
    natural = natural_widths(specs, [_Plain(tuple(t.plain for t in row)) for row in cells])
    for n, spec in enumerate(specs):  # a header's longest word is never cut: it is the least a column takes
        word = max((len(w) for w in spec.label.split()), default=0)
        if word > spec.min_width:
            specs[n] = replace(spec, min_width=word)
    width = terminal_width()
    widths = layout(specs, natural, width + GUTTER, fill=False)
    table = Table(title=Text(safe_text(title), style="bold") if title else None, title_justify="left",
                  show_lines=False, header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  collapse_padding=True)
    shown = [n for n, w in enumerate(widths) if w is not None]
    for n in shown:
        spec = specs[n]
        table.add_column(Text(spec.label), width=widths[n],  # our own words: a header may hold a line break
                         justify=spec.align if spec.align in ("left", "right", "center") else "left",  # type: ignore[arg-type]
                         no_wrap=spec.whole, overflow="fold")
    console = stdout_console()
    if len(cells) >= LARGE_TABLE:  # laid out here, as Rich would: its per-cell measuring took 20 s
        found = _table_lines(title, [specs[n] for n in shown], [widths[n] for n in shown],  # type: ignore[misc]
                             [[row[n] if n < len(row) else Cell("") for n in shown] for row in cells],
                             styled=console.is_terminal)
        lines = [Text(line, style=style, spans=spans) for line, style, spans in found] if console.is_terminal else found
        if console.is_terminal:
            console.print(Text("\n").join(lines), soft_wrap=True)
        else:
            sys.stdout.write("".join(line.rstrip() + "\n" for line, _, _ in lines))
            sys.stdout.flush()
    else:
        for row in cells:
            table.add_row(*(_as_text(row[n]) if n < len(row) else Text("") for n in shown))
        with console.capture() as captured:
            console.print(table)
        # no trailing blanks: a table copied into a document or compared in a test is what it shows
        sys.stdout.write("\n".join(line.rstrip() for line in captured.get().rstrip("\n").split("\n")) + "\n")
        sys.stdout.flush()
    hidden = [specs[n].label for n, w in enumerate(widths) if w is None]
    if hidden:
        note(f"foureyes: {len(hidden)} column{'s' if len(hidden) != 1 else ''} left out at {width} columns "
             f"({', '.join(hidden)}): a wider terminal (or COLUMNS=N) or --format json shows "
             f"{'them' if len(hidden) != 1 else 'it'}")


# From this many rows `print_table` lays the table out itself (`large_table_lines`), exactly as
# Rich draws it (tests/test_large_table.py compares the two): Rich measured and wrapped every cell
# again, 20 s for the 12,000 rows of `who-can` on a quarter of the benchmark enterprise.
LARGE_TABLE = 500


def large_table_lines(title: str | None, specs: Sequence[Column], widths: Sequence[int],
                      rows: Sequence[Sequence[Text | Cell]], *, styled: bool = True) -> list[Text]:
    """`print_table`'s table as lines: the title, bold headers, a rule, the rows; columns two
    spaces apart, words wrapped and long words folded within each column's width."""
    return [Text(line, style=style, spans=spans) for line, style, spans in _table_lines(title, specs, widths, rows,
                                                                                        styled=styled)]


def _table_lines(title: str | None, specs: Sequence[Column], widths: Sequence[int],
                 rows: Sequence[Sequence[Text | Cell]], *, styled: bool) -> list[tuple[str, str, list[Span]]]:
    """`large_table_lines` as (text, style, styled spans): a piped table never becomes Rich's `Text`
    (which scans every line for control codes the cells have already had escaped)."""
    table_width = sum(widths) + GUTTER * (len(widths) - 1)
    lines: list[tuple[str, str, list[Span]]] = []
    if title:
        lines.extend((part, "bold" if styled else "", []) for part in _wrap(safe_text(title), table_width))
    lines.extend(_row_lines([Cell(s.label, "bold" if styled else "") for s in specs], specs, widths, styled,
                            bottom=True))
    lines.append(("─" * table_width, "", []))
    if styled:
        for row in rows:
            lines.extend(_row_lines(row, specs, widths, styled))
    else:
        lines.extend((line, "", []) for line in _plain_lines(rows, specs, widths))
    return lines


def _plain_lines(rows: Sequence[Sequence[Text | Cell]], specs: Sequence[Column], widths: Sequence[int]) -> Iterator[str]:
    """`_row_lines` of rows without styles: each distinct text of a column is wrapped and padded
    once (a matrix's counts, a who-can's people, tiers and resources repeat thousands of times)."""
    made: dict[tuple[str, int, str], list[str]] = {}
    blanks = [" " * width for width in widths]
    gutter = " " * GUTTER
    for row in rows:
        cells = []
        for value, spec, width in zip(row, specs, widths):
            key = (value.plain, width, spec.align)
            found = made.get(key)
            if found is None:
                found = made[key] = _padded(value.plain, width, spec.align)
            cells.append(found)
        height = max(map(len, cells))
        if height == 1:
            yield gutter.join([found[0] for found in cells])
            continue
        for at in range(height):
            yield gutter.join([found[at] if at < len(found) else blank for found, blank in zip(cells, blanks)])


def _padded(text: str, width: int, align: str) -> list[str]:
    """A cell's lines (`_row_lines`' parts), each padded to ``width`` cells as ``align`` says."""
    out = []
    bare = text.replace(_ARROW, "")  # a part of a text of one-cell characters is as wide as it is long
    measure = len if _ARROW_CELLS == 1 and bare.isascii() and bare.isprintable() else _cells
    for part in (part for line in text.split("\n") for part in _wrap(line, width)):
        room = width - measure(part)
        left = _left(room, align)
        out.append(" " * left + part + " " * (room - left))
    return out


def _row_lines(row: Sequence[Text | Cell], specs: Sequence[Column], widths: Sequence[int], styled: bool, *,
               bottom: bool = False) -> list[tuple[str, str, list[Span]]]:
    """One row's lines; a cell shorter than the row sits at its top (a header at its bottom)."""
    wrapped = [[part for text in value.plain.split("\n") for part in _wrap(text, width)]
               for value, width in zip(row, widths)]
    height = max(len(w) for w in wrapped)
    if bottom:
        wrapped = [[""] * (height - len(parts)) + parts for parts in wrapped]
    out = []
    gutter = " " * GUTTER
    for at in range(height):
        # the line's text and its styled spans at once (`Text.append` per piece was most of the time)
        pieces: list[str] = []
        spans: list[Span] = []
        at_char = 0
        for n, (value, parts, spec, width) in enumerate(zip(row, wrapped, specs, widths)):
            part = parts[at] if at < len(parts) else ""
            room = width - _cells(part)
            left = _left(room, spec.align)
            pad = (gutter if n else "") + " " * left
            pieces.append(pad)
            at_char += len(pad)
            if part:
                if styled and value.style:
                    spans.append(Span(at_char, at_char + len(part), value.style))
                pieces.append(part)
                at_char += len(part)
            right = " " * (room - left)
            pieces.append(right)
            at_char += len(right)
        out.append(("".join(pieces), "", spans))
    return out


def _left(room: int, align: str) -> int:
    """Of a cell's ``room`` spare columns, how many go before its text."""
    return room if align == "right" else room // 2 if align == "center" else 0


_ARROW = "→"
_ARROW_CELLS = cell_len(_ARROW)


def _cells(text: str) -> int:
    """`cell_len`, quick for ASCII and for a path's arrows: Rich measures a line that is not all in
    its single-cell set (an arrow is not) character by character. Without a zero-width joiner or a
    variation selector a text's width is the sum of its characters', so the arrows are counted apart."""
    if text.isascii():
        return len(text) if text.isprintable() else cell_len(text)
    if _ARROW not in text or "\u200d" in text or "\ufe0f" in text:
        return cell_len(text)
    return cell_len(text.replace(_ARROW, "")) + text.count(_ARROW) * _ARROW_CELLS


class _Plain(NamedTuple):
    """A row's cells as text, for `natural_widths`."""

    cells: tuple[str, ...]


def _wrap(text: str, width: int) -> list[str]:
    """Words to lines of ``width`` cells; a word longer than that is folded.

    Each word is measured once: without a zero-width joiner or a variation selector (which can
    join characters across a space) a line's width is the sum of its words' and spaces', as Rich
    measures it. A path's arrows are not in Rich's quick single-cell set, so measuring every
    candidate line character by character was most of printing `who-can`."""
    if len(text) <= width and text.isascii():  # an ASCII character takes at most one cell
        return [text]
    if "\u200d" in text or "\ufe0f" in text:
        return _wrap_measured(text, width)
    words = text.split(" ")
    bare = text.replace(_ARROW, "")
    if _ARROW_CELLS == 1 and bare.isascii() and bare.isprintable():  # a path: one cell a character
        if "  " not in text and text[0] != " " and text[-1] != " ":  # one space between words
            found = _wrap_spaced(text, width)
            if found is not None:
                return found
        sizes = list(map(len, words))
    else:
        sizes = [_cells(word) for word in words]
    if sum(sizes) + len(words) - 1 <= width:
        return [text]
    lines: list[str] = []
    current, used = "", 0
    for word, size in zip(words, sizes):
        candidate = used + 1 + size if current else size
        if candidate <= width:
            current, used = (f"{current} {word}" if current else word), candidate
            continue
        if current:
            lines.append(current)
        while size > width:
            head = chop_cells(word, width)[0]
            lines.append(head)
            word = word[len(head):]
            size = cell_len(word)
        current, used = word, size
    if current or not lines:
        lines.append(current)
    return lines


def _wrap_spaced(text: str, width: int) -> list[str] | None:
    """`_wrap` of a text of one-cell characters and words one space apart: each line ends at the
    last space that lets it fit (found by `str.rfind`, not word by word). None when a word is wider
    than ``width`` (it is folded: `_wrap` does that)."""
    lines, start, end = [], 0, len(text)
    while end - start > width:
        at = text.rfind(" ", start, start + width + 1)
        if at <= start:
            return None
        lines.append(text[start:at])
        start = at + 1
    lines.append(text[start:])
    return lines


def _wrap_measured(text: str, width: int) -> list[str]:
    """`_wrap` measuring each candidate line whole (joiners make widths not add up)."""
    if cell_len(text) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if cell_len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while cell_len(word) > width:
            head = chop_cells(word, width)[0]
            lines.append(head)
            word = word[len(head):]
        current = word
    if current or not lines:
        lines.append(current)
    return lines


def print_json(value: Any) -> None:
    click.echo(json_text(value))


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    sys.stdout.write(buffer.getvalue())
