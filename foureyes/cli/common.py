"""Shared plumbing for CLI commands: the lazy config and workspace, options, and the one rule
for saying that a snapshot is incomplete (output goes through `output`)."""

from __future__ import annotations

import functools
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import click

from ..bulk import gc_paused
from ..config import Config, load_config
from ..errors import EXIT_OK, EXIT_SOURCE, InputError
from ..workspace import Completeness, Workspace
from . import output
from .output import note

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
            self._workspace = Workspace.open(self.config, warn=output.warning)
            click.get_current_context().call_on_close(self._workspace.close)
        return self._workspace


    def leave(self) -> None:
        """End the process as soon as a command that made millions of objects has answered:
        the store closed (with SQLite, the write-ahead log checkpointed into the database as at
        any close), stdout and stderr flushed, then `os._exit(0)`: the interpreter's clean-up
        would free every object one by one (seconds after a campaign of 500,000 items) and has
        nothing else to do (no other thread runs but daemon ones, nothing is open for writing;
        closing the store waits for a checkpoint of its log still running beside the command).
        Only where the process is foureyes' own (`python -m foureyes`, the `foureyes` script):
        elsewhere (a test's runner, a program calling the CLI) it returns and the command ends
        as any other. Where a flush fails (a reader that went away) it returns too: the usual
        ending says so."""
        if not _own_process():
            return
        if self._workspace is not None:
            self._workspace.close()  # (waits for a checkpoint of the log still running beside)
        if any(not thread.daemon for thread in threading.enumerate() if thread is not threading.current_thread()):
            return  # (a daemon thread, such as one letting a campaign's rows go, ends with the process)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            return
        os._exit(0)


def _own_process() -> bool:
    """Does this process run foureyes' command line and nothing else?"""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", "") == "foureyes.__main__" or os.path.basename(sys.argv[0] or "") == "foureyes"


pass_app = click.make_pass_decorator(AppContext)


def reads_in_bulk(f: Callable[..., Any]) -> Callable[..., Any]:
    """A command that reads a stored analysis and prints it, then ends (who-can, conflicts, matrix):
    run with the cyclic GC paused (`bulk.gc_paused`). The findings, people and holdings it reads
    are acyclic and live until it prints; each automatic collection walked them all again (a
    third of `conflicts` at full size)."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        with gc_paused():
            return f(*args, **kwargs)

    return run


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


def gaps_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--allow-gaps and --strict: how a data command exits on an incomplete snapshot."""
    f = click.option("--strict", is_flag=True,
                     help="Exit 3 when the snapshot has gaps (parts a source could not read).")(f)
    return click.option("--allow-gaps", is_flag=True,
                        help="Answer with exit 0 even when a source of the snapshot failed (it is still said).")(f)


def out_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--out FILE and --force: an export written to a file, never over one without --force."""
    f = click.option("--force", is_flag=True, help="With --out: replace FILE if it exists (never the store).")(f)
    return click.option("--out", default=None, metavar="FILE",
                        help="Write to FILE instead of stdout (refused if it exists, unless --force).")(f)


# ---------------------------------------------------------------- incomplete snapshots


def _failures(c: Completeness) -> str:
    return "; ".join(f"{name}: {error}" for name, error in c.failed)


def announce(c: Completeness, *, allow_gaps: bool = False, strict: bool = False, what: str = "snapshot") -> int:
    """Say first, in one line, what a snapshot could not read; return the exit code it calls for.

    A failed source: exit 3 unless ``allow_gaps`` (an answer without it would read as "nobody
    has access"). Gaps only: one line counting them; exit 3 with ``strict``, else 0.
    """
    label = f"{what} {c.snapshot}"
    if c.failed:
        names = ", ".join(c.failed_sources)
        extra = f", and {output.counted(len(c.unread), 'gap')} elsewhere" if c.unread else ""
        note(f"foureyes: INCOMPLETE: {label}: source{'s' if len(c.failed) > 1 else ''} {names} failed, so what "
             f"follows lacks everything {'they' if len(c.failed) > 1 else 'it'} would have read{extra} "
             f"({_failures(c)})")
        return EXIT_OK if allow_gaps else EXIT_SOURCE
    if c.gaps:
        note(f"foureyes: {label} has {output.counted(len(c.gaps), 'gap')}: parts a source could not read, unknown rather than "
             "no access (`foureyes check` lists them)")
        return EXIT_SOURCE if strict else EXIT_OK
    return EXIT_OK


def finish(code: int) -> None:
    """End a data command with the code `announce` gave (0 returns normally)."""
    if code:
        sys.stdout.flush()
        sys.exit(code)


def worst(*codes: int) -> int:
    return max(codes, default=EXIT_OK)


def gap_line(g: Any) -> str:
    return (f"foureyes: gap: [{g.system}] {g.resource or 'source'}: {g.reason}"
            + (f" (may hide: {g.hides})" if g.hides else ""))


def print_gaps(gaps: Sequence[Any]) -> None:
    for g in gaps:
        note(gap_line(g))


def need_terminal(command: str) -> None:
    """The TUI draws on a terminal and reads keys from one: with stdout or stdin redirected it
    would run unseen and never end, so it is refused (exit 2) with what to use instead."""
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        which = "stdout" if not sys.stdout.isatty() else "stdin"
        raise InputError(f"`foureyes {command}` needs a terminal, and {which} is not one; for output a script or a "
                         "file can use, run the data commands (who-can, conflicts, matrix, drift, check, "
                         "report) with --format json")
