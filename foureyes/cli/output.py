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


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=Text(safe_text(title), style="bold") if title else None, title_justify="left",
                  show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(safe_text(column), overflow="fold")
    for row in rows:
        table.add_row(*(v if isinstance(v, Text) else cell(v) for v in row))
    stdout_console().print(table)


def print_json(value: Any) -> None:
    click.echo(json_text(value))


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    sys.stdout.write(buffer.getvalue())
