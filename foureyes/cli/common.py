"""Shared plumbing for CLI commands: the lazy config and workspace, output formats, safe tables."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import Config, load_config
from ..textsafe import csv_cell, safe_text
from ..workspace import Workspace

FORMATS = ("table", "json", "csv")


@dataclass
class AppContext:
    """What a command runs against: the config (loaded on first use) and the workspace (its
    store opened on first use, closed when the command ends)."""

    config_path: str | None
    _config: Config | None = None
    _workspace: Workspace | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.open(self.config)
            click.get_current_context().call_on_close(self._workspace.close)
        return self._workspace


pass_app = click.make_pass_decorator(AppContext)


def format_option(*choices: str, default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices or FORMATS),
        default=default,
        show_default=True,
        help="Output format. JSON is the stable interface for scripts (docs/cli.md).",
    )


def snapshot_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--snapshot",
        "snapshot_ref",
        metavar="ID",
        default=None,
        help="Snapshot id, 'latest' (default), 'previous' or 'latest~N'.",
    )(f)


def stdout_console() -> Console:
    # Wide enough that piped tables are not squeezed into 80 columns.
    return Console(file=sys.stdout, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def stderr_console() -> Console:
    return Console(file=sys.stderr, stderr=True)


def cell(value: Any, *, limit: int | None = 80, style: str | None = None) -> Text:
    """A table cell that shows untrusted text literally (no markup, no escapes)."""
    return Text(safe_text(value, limit=limit), style=style or "")


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=Text(title, style="bold") if title else None, title_justify="left", show_lines=False,
                  header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(v if isinstance(v, Text) else cell(v) for v in row))
    stdout_console().print(table)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    sys.stdout.write(buffer.getvalue())


def note(message: str) -> None:
    """A diagnostic line on stderr."""
    click.echo(message, err=True)
