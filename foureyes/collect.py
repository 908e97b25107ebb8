"""Runs the configured connectors and turns their output (or their failure) into results.

A connector that raises still yields a SourceResult: with `error` set and a source-wide
Gap, so a failed source is visible in the snapshot instead of looking empty. Whatever a
connector gives back (results, progress, errors) is scrubbed of the credentials it holds
(`Secrets`) before anything else sees it. A malformed input file (a dataset) is the user's
to fix: it is raised (exit 2), not stored as a failed source.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from typing import Any, Sequence

from .activity import ABOUT, ActivityPeriod
from .config import Config
from .connectors.base import Progress, Secrets, clock, make_connector, no_progress, partial_stats, utcnow
from .errors import FoureyesError, InputError, SourceError
from .model import Gap, SourceResult

_SYSTEM_OF = {"github": "github", "aws": "aws", "gcp": "gcp", "okta": "okta", "entra": "entra",
              "google_workspace": "google_workspace", "roster": "roster", "demo": "multi"}
SOURCE_FAILED = "source failed: "  # the reason of the source-wide gap a failed source leaves


def is_source_failure(gap: Gap) -> bool:
    """The gap that stands for a whole failed source (its error is shown once, as the source's)."""
    return not gap.resource and gap.reason.startswith(SOURCE_FAILED)


def selected_sources(config: Config, names: Sequence[str]) -> list[str]:
    configured = config.sources.configured()
    if not names:
        if not configured:
            raise SourceError(
                "no sources configured; add [sources.github], [sources.aws], [sources.gcp] or an identity "
                "source ([sources.okta], [sources.entra], [sources.google_workspace], [sources.roster]) "
                "to the config (see config.example.toml), or try `foureyes demo`"
            )
        return configured
    missing = [n for n in names if n not in configured]
    if missing:
        raise SourceError(
            f"source {missing[0]!r} is not configured; configured: {', '.join(configured) or 'none'}"
        )
    return list(dict.fromkeys(names))


def collect(config: Config, names: Sequence[str], progress: Progress = no_progress, *,
            period: ActivityPeriod | None = None) -> list[SourceResult]:
    """Run each named source (concurrently); never raises for a source's own failure.

    With a ``period``, each source also reads the activity in it; a source that cannot read
    activity says so in a source-wide Gap (unknown, never "nothing happened").
    """
    chosen = selected_sources(config, names)
    # Build connectors first: a configuration problem is the user's to fix (exit 2/3 now).
    connectors = {name: make_connector(name, config) for name in chosen}

    def run(name: str) -> list[SourceResult]:
        started, ticking = utcnow(), clock()
        secrets: Secrets = getattr(connectors[name], "secrets", None) or Secrets()
        try:
            connector = connectors[name]
            scrubbed = secrets.progress(progress)
            if period is None:
                result: Any = connector.collect(scrubbed)
            elif _reads_activity(connector):
                result = connector.collect(scrubbed, period=period)
            else:
                result = [_no_activity(r) for r in _listed(connector.collect(scrubbed))]
            return [secrets.scrub_result(r) for r in _listed(result)]
        except InputError:
            raise
        except FoureyesError as exc:
            message = secrets.scrub(str(exc))
        except Exception as exc:  # a connector bug must not lose the other sources
            first = str(exc).splitlines()[0] if str(exc) else "failed"
            message = secrets.scrub(f"{type(exc).__name__}: {first}")
        # reported once, by whoever shows the result (its error), not also as progress
        return [
            SourceResult(
                name=name,
                system=_SYSTEM_OF.get(name, name),
                gaps=(Gap(system=_SYSTEM_OF.get(name, name), resource="", reason=f"{SOURCE_FAILED}{message}",
                          hides="everything this source would have read"),),
                started_at=started,
                finished_at=utcnow(),
                error=message,
                stats=partial_stats(connectors[name], ticking),  # what it cost until it failed
                period=period,  # asked to read it, failed: the period's changes are missing, not absent
            )
        ]

    # One daemon thread per source rather than a pool: on Ctrl-C the main thread's join is
    # interrupted and foureyes exits at once (130), with nothing written. A pool's threads would
    # be waited for, both by its shutdown and at interpreter exit, until every source had finished
    # reading (minutes against a large organisation, or never against a server that stalls).
    batches: dict[str, list[SourceResult]] = {}
    raised: dict[str, BaseException] = {}

    def work(name: str) -> None:
        try:
            batches[name] = run(name)
        except BaseException as exc:  # InputError, for the caller (in the order of the sources)
            raised[name] = exc

    threads = [threading.Thread(target=work, args=(name,), name=f"source-{name}", daemon=True) for name in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Joined in short waits: the kernel may deliver SIGINT to a source thread, and then a main
        # thread blocked in an endless join would not run Python's handler until that source ended.
        while thread.is_alive():
            thread.join(0.1)
    for name in chosen:
        if name in raised:
            raise raised[name]
    return [result for name in chosen for result in batches[name]]


def _listed(result: Any) -> list[SourceResult]:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _reads_activity(connector: Any) -> bool:
    return "period" in inspect.signature(connector.collect).parameters


def _no_activity(result: SourceResult) -> SourceResult:
    gap = Gap(system=result.system, resource="", reason=f"source {result.name} does not read activity",
              hides="what happened in the review period on this system (changes, deployments, use)", about=ABOUT)
    return dataclasses.replace(result, gaps=result.gaps + (gap,))
