"""`version`, `snapshot`, `snapshots` and `demo`."""

from __future__ import annotations

import sys
import threading
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_OK, EXIT_SOURCE
from ..model import SnapshotInfo, SourceResult
from ..workspace import Workspace, demo_config_text, is_source_failure
from . import main
from .common import AppContext, finish, format_option, gap_line, need_terminal, pass_app
from .output import Col, ProgressLine, counted, data, note, out, print_csv, print_json, print_table, warning


@main.command()
@format_option("table", "json")
def version(fmt: str) -> None:
    """Print the foureyes version."""
    if fmt == "json":
        print_json({"version": __version__, "python": sys.version.split()[0]})
    else:
        out(f"foureyes {__version__}")


def info_json(info: SnapshotInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "taken_at": info.taken_at,
        "label": info.label,
        "digest": info.digest,
        "complete": not info.gap_count and not info.failed,
        "gaps": info.gap_count,
        "failed_sources": list(info.failed),
        "sources": [
            {
                "name": s.name,
                "system": s.system,
                "counts": {
                    "principals": s.principals,
                    "resources": s.resources,
                    "grants": s.grants,
                    "edges": s.edges,
                    "gaps": s.gaps,
                },
                "started_at": s.started_at,
                "finished_at": s.finished_at,
                "error": s.error,
                "stats": dict(s.stats),
                "activity": s.activity,
                "period": {"start": s.period[0], "end": s.period[1]} if s.period else None,
            }
            for s in info.sources
        ],
    }


def _source_rows(info: SnapshotInfo, *, errors: bool = True) -> list[list[Any]]:
    """One row per source; without ``errors`` (the table after a run) a failure says only
    "FAILED", its message is printed once, below."""
    return [
        [info.id, info.taken_at, s.name, s.principals, s.resources, s.grants, s.edges, s.gaps,
         (s.error if errors else "FAILED (below)") if s.error else ""]
        for s in info.sources
    ]


SOURCE_COLUMNS = ["snapshot", "taken at", "source", "principals", "resources", "grants", "edges", "gaps", "error"]


@main.command()
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Run only this source (repeatable). Default: every configured source.")
@click.option("--label", default="", help="A label stored with the snapshot.")
@click.option("--stats", is_flag=True,
              help="Also print what each source cost: requests, retries, pages, rate-limit points and time "
                   "(failed sources too; in JSON, each source's stats).")
@click.option("--activity", is_flag=True,
              help="Also read what happened in the review period ([activity] in the config, default the last "
                   "90 days): changes, deployments, bypasses used, audit events, last use.")
@click.option("--since", default="", metavar="PERIOD",
              help="The review period back from now, such as 90d or 12w (implies --activity).")
@format_option("table", "json")
@pass_app
def snapshot(app: AppContext, sources: tuple[str, ...], label: str, stats: bool, activity: bool, since: str,
             fmt: str) -> None:
    """Run the connectors and store one snapshot.

    Exits 3 when a source failed or left gaps (what it could not read); the snapshot is
    stored either way. With --activity the activity of the review period is stored with the
    snapshot, under the same digest (`foureyes changes` lists the changes).
    Each failure is said once: a failed source in one line, each gap in one.
    """
    workspace = app.workspace()
    reporter = _ProgressPrinter()
    info, results = workspace.take_snapshot(sources, label=label, activity=activity, since=since,
                                            progress=reporter)
    reporter.finish()
    if fmt == "json":
        data = info_json(info)
        print_json(data)
    else:
        out(f"snapshot {info.id} stored ({workspace.display_url})")
        print_table(None, SOURCE_COLUMNS[2:], [row[2:] for row in _source_rows(info, errors=False)])
        if stats:
            print_stats(results)
    for result in results:
        if result.period is not None:
            kinds: dict[str, int] = {}
            for record in result.activity:
                kinds[type(record).KIND] = kinds.get(type(record).KIND, 0) + 1
            note(f"foureyes: activity: {result.name} {result.period.label()}: "
                 + (", ".join(counted(n, kind.replace("_", " ")) for kind, n in sorted(kinds.items()))
                   or "nothing happened")
                 + " (`foureyes changes` lists the changes)")
    if workspace.check_revocations():  # each new snapshot checks the grants reviewers revoked
        counts = workspace.follow_through_counts()
        note("foureyes: revocations: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
    for result in results:
        if result.error:
            note(f"foureyes: source {result.name} failed: {result.error}")
        for gap in result.gaps:
            if not is_source_failure(gap):  # the failure itself was the line above
                note(gap_line(gap))
    finish(EXIT_SOURCE if info.failed or info.gap_count else EXIT_OK)


STATS_COLUMNS = [Col("source", "source", whole=True, priority=0),
                 Col("requests", "requests", align="right", whole=True, priority=0),
                 Col("retries", "retries", align="right", whole=True, priority=0),
                 Col("pages", "pages", align="right", whole=True, priority=0),
                 Col("points", "rate-limit points", align="right", min_width=6, priority=0),
                 Col("waited", "waited", align="right", whole=True, priority=1),
                 Col("time", "time", align="right", whole=True, priority=0),
                 Col("status", "status", whole=True, priority=1)]


def stats_row(result: SourceResult) -> list[Any]:
    """One source's cost as `print_stats` shows it: "-" where the source does not count it."""
    s = dict(result.stats)

    def number(key: str) -> str:
        value = s.get(key)
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "-"

    def seconds(key: str) -> str:
        value = s.get(key)
        return f"{value:.1f} s" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"

    status = "FAILED (below)" if result.error else "demo: read nothing" if s.get("demo") else "ok"
    return [result.name, number("requests"), number("retries"), number("pages"), number("rate_limit_points"),
            seconds("rate_limit_wait_s"), seconds("elapsed_s"), status]


def print_stats(results: list[SourceResult]) -> None:
    """What each source cost, failed ones too (what it sent before it failed)."""
    print_table("what each source cost", STATS_COLUMNS, [stats_row(r) for r in results])


class _ProgressPrinter:
    """Connector progress as lines on stderr (one per message, throttled per source)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, str] = {}
        self._line = ProgressLine()

    def __call__(self, event: Any) -> None:
        count = f" [{event.done}/{event.total}]" if event.total else ""
        line = f"{event.source}: {event.message}{count}"
        with self._lock:
            if event.level == "warning":
                self._line.clear()
                warning(line)
            elif self._line.tty or self._last.get(event.source) != event.message:
                self._line.show(line)
            self._last[event.source] = event.message

    def finish(self) -> None:
        self._line.clear()


@main.command()
@format_option("table", "json", "csv")
@pass_app
def snapshots(app: AppContext, fmt: str) -> None:
    """List stored snapshots with per-source counts and gaps."""
    infos = app.workspace().snapshots()
    if fmt == "json":
        print_json({"snapshots": [info_json(i) for i in infos]})
    elif fmt == "csv":
        print_csv(SOURCE_COLUMNS, [row for i in infos for row in _source_rows(i)])
    else:
        if not infos:
            note("no snapshots yet: run `foureyes snapshot`, or `foureyes demo --load` for the sample organisation")
            return
        rows = []
        for i in infos:
            counts = {k: sum(getattr(s, k) for s in i.sources) for k in ("principals", "grants", "gaps")}
            rows.append([i.id, i.taken_at, i.label, ", ".join(s.name for s in i.sources),
                         counts["principals"], counts["grants"], counts["gaps"],
                         ", ".join(i.failed)])
        print_table(None, ["id", "taken at", "label", "sources", "principals", "grants", "gaps", "failed"], rows)


@main.command()
@click.option("--load", is_flag=True, help="Store the two sample snapshots in the configured store and exit.")
@click.option("--config", "show_config", is_flag=True,
              help="Print the sample organisation's config (tiers, apps and their owners, identity, campaigns) "
                   "and exit: `foureyes demo --config > foureyes.toml`.")
@pass_app
def demo(app: AppContext, load: bool, show_config: bool) -> None:
    """Open the TUI on the embedded sample organisation "Acme".

    The sample lives in its own database in the data directory, so it never mixes with
    real snapshots; `--load` puts it into the configured store instead, and `--config`
    prints the config it is analysed with, for the commands to use on it.
    """
    if show_config:
        data(demo_config_text())
        return
    if load:
        workspace = app.workspace()
        for info, created in workspace.load_demo():
            verb = "stored" if created else "already stored"
            note(f"{verb}: snapshot {info.id} ({info.label}) in {workspace.display_url}")
        if not app.config.apps:
            note("foureyes: the commands answer with your config; for the demo's tiers, apps, owners and campaign "
                 "settings: `foureyes demo --config > foureyes.toml`")
        return
    need_terminal("demo")
    from ..tui import run_app  # Textual is imported only by the commands that open the TUI

    with Workspace.open_demo(warn=warning) as workspace:
        run_app(workspace=workspace, demo=True)


@main.command()
@pass_app
def tui(app: AppContext) -> None:
    """Open the terminal UI on the configured store (latest snapshot)."""
    workspace = app.workspace()  # open (and migrate) now, so a store problem is one line, not a TUI crash
    need_terminal("tui")
    from ..tui import run_app  # Textual is imported only by the commands that open the TUI

    run_app(workspace=workspace)

