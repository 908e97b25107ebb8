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
import sys
from typing import Any, Iterable, Sequence

import click
from rich.cells import cell_len, chop_cells
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..textsafe import csv_cell, json_text, safe_text

PREFIX = "foureyes"


# ---------------------------------------------------------------- lines


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


def stdout_console() -> Console:
    # Wide enough that piped tables are not squeezed into 80 columns.
    return Console(file=sys.stdout, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def cell(value: Any, *, limit: int | None = 80, style: str | None = None) -> Text:
    """A table cell that shows untrusted text literally (no markup, no escapes)."""
    return Text(safe_text(value, limit=limit), style=style or "")


# From this many rows a table is laid out here rather than by Rich, whose per-cell measuring
# took 20 s for 12,000 rows (`who-can` on a large organisation); it looks the same.
LARGE_TABLE = 500


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [[v if isinstance(v, Text) else cell(v) for v in row] for row in rows]
    console = stdout_console()
    if len(cells) >= LARGE_TABLE:
        _print_large_table(console, safe_text(title) if title else "", [safe_text(c) for c in columns], cells)
        return
    table = Table(title=Text(safe_text(title), style="bold") if title else None, title_justify="left",
                  show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(safe_text(column), overflow="fold")
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _print_large_table(console: Console, title: str, columns: list[str], rows: list[list[Text]]) -> None:
    """Rich's default table (heavy head, words wrapped, long words folded), laid out in one pass."""
    widths = [cell_len(c) for c in columns]
    for row in rows:
        for n, value in enumerate(row):
            width = cell_len(value.plain)
            if width > widths[n]:
                widths[n] = width
    excess = sum(widths) + 3 * len(widths) + 1 - console.width
    while excess > 0:  # narrow the widest column, as far as the next widest (or the excess)
        widest = max(range(len(widths)), key=widths.__getitem__)
        others = max((w for n, w in enumerate(widths) if n != widest), default=1)
        cut = min(excess, max(widths[widest] - others, 1), widths[widest] - 1)
        if cut <= 0:
            break
        widths[widest] -= cut
        excess -= cut
    styled = console.is_terminal  # piped: plain text, no styles to carry
    lines: list[Any] = []
    if title:
        lines.append(Text(title, style="bold") if styled else title)
    lines.append("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓")
    lines.extend(_table_lines([Text(c, style="bold") for c in columns], widths, "┃", styled))
    lines.append("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩")
    for row in rows:
        lines.extend(_table_lines(row, widths, "│", styled))
    lines.append("└" + "┴".join("─" * (w + 2) for w in widths) + "┘")
    if styled:
        console.print(Text("\n").join(line if isinstance(line, Text) else Text(line) for line in lines),
                      soft_wrap=True)
    else:
        console.file.write("".join(line + "\n" for line in lines))
        console.file.flush()


def _table_lines(row: Sequence[Text], widths: Sequence[int], bar: str, styled: bool) -> list[Any]:
    wrapped = [_wrap(value.plain, width) for value, width in zip(row, widths)]
    height = max(len(w) for w in wrapped)
    out: list[Any] = []
    for at in range(height):
        parts = [p[at] if at < len(p) else "" for p in wrapped]
        if not styled:
            out.append(bar + "".join(f" {part}{' ' * (width - cell_len(part))} {bar}"
                                     for part, width in zip(parts, widths)))
            continue
        line = Text(bar)
        for value, part, width in zip(row, parts, widths):
            line.append(" ")
            line.append(part, style=value.style)
            line.append(" " * (width - cell_len(part)) + " " + bar)
        out.append(line)
    return out


def _wrap(text: str, width: int) -> list[str]:
    """Words to lines of ``width`` cells; a word longer than that is folded."""
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
