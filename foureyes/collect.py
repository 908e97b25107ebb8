"""Runs the configured connectors and turns their output (or their failure) into results.

A connector that raises still yields a SourceResult: with `error` set and a source-wide
Gap, so a failed source is visible in the snapshot instead of looking empty. Whatever a
connector gives back (results, progress, errors) is scrubbed of the credentials it holds
(`Secrets`) before anything else sees it. A malformed input file (a dataset) is the user's
to fix: it is raised (exit 2), not stored as a failed source.
"""

from __future__ import annotations

import threading
from typing import Sequence

from .config import Config
from .connectors.base import Progress, Secrets, make_connector, no_progress, utcnow
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


def collect(config: Config, names: Sequence[str], progress: Progress = no_progress) -> list[SourceResult]:
    """Run each named source (concurrently); never raises for a source's own failure."""
    chosen = selected_sources(config, names)
    # Build connectors first: a configuration problem is the user's to fix (exit 2/3 now).
    connectors = {name: make_connector(name, config) for name in chosen}

    def run(name: str) -> list[SourceResult]:
        started = utcnow()
        secrets: Secrets = getattr(connectors[name], "secrets", None) or Secrets()
        try:
            result = connectors[name].collect(secrets.progress(progress))
            results = list(result) if isinstance(result, (list, tuple)) else [result]
            return [secrets.scrub_result(r) for r in results]
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
        thread.join()
    for name in chosen:
        if name in raised:
            raise raised[name]
    return [result for name in chosen for result in batches[name]]
