"""Runs the configured connectors and turns their output (or their failure) into results.

A connector that raises still yields a SourceResult: with `error` set and a source-wide
Gap, so a failed source is visible in the snapshot instead of looking empty.
"""

from __future__ import annotations

import dataclasses
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from .activity import ABOUT, ActivityPeriod
from .config import Config
from .connectors.base import Progress, ProgressEvent, make_connector, no_progress, utcnow
from .errors import FoureyesError, SourceError
from .model import Gap, SourceResult

_SYSTEM_OF = {"github": "github", "aws": "aws", "gcp": "gcp", "demo": "multi"}


def selected_sources(config: Config, names: Sequence[str]) -> list[str]:
    configured = config.sources.configured()
    if not names:
        if not configured:
            raise SourceError(
                "no sources configured; add [sources.github], [sources.aws] or [sources.gcp] "
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
        started = utcnow()
        try:
            connector = connectors[name]
            if period is None:
                result: Any = connector.collect(progress)
            elif _reads_activity(connector):
                result = connector.collect(progress, period=period)
            else:
                result = [_no_activity(r) for r in _listed(connector.collect(progress))]
            return _listed(result)
        except FoureyesError as exc:
            message = str(exc)
        except Exception as exc:  # a connector bug must not lose the other sources
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}"
        progress(ProgressEvent(name, f"failed: {message}", level="warning"))
        return [
            SourceResult(
                name=name,
                system=_SYSTEM_OF.get(name, name),
                gaps=(Gap(system=_SYSTEM_OF.get(name, name), resource="", reason=f"source failed: {message}",
                          hides="everything this source would have read"),),
                started_at=started,
                finished_at=utcnow(),
                error=message,
            )
        ]

    with ThreadPoolExecutor(max_workers=max(1, len(chosen)), thread_name_prefix="source") as pool:
        batches = list(pool.map(run, chosen))
    return [result for batch in batches for result in batch]


def _listed(result: Any) -> list[SourceResult]:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _reads_activity(connector: Any) -> bool:
    return "period" in inspect.signature(connector.collect).parameters


def _no_activity(result: SourceResult) -> SourceResult:
    gap = Gap(system=result.system, resource="", reason=f"source {result.name} does not read activity",
              hides="what happened in the review period on this system (changes, deployments, use)", about=ABOUT)
    return dataclasses.replace(result, gaps=result.gaps + (gap,))
