"""The Connector protocol, the progress channel, and a registry that imports lazily.

A connector reads one system and returns a `SourceResult`. It never writes to the system
it audits, never prints (it reports through `Progress`), and turns what it cannot read
into Gaps instead of raising.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Protocol, runtime_checkable

from ..activity import ActivityPeriod, Record, activity_order
from ..config import Config
from ..errors import SourceError
from ..model import Edge, Gap, Grant, Principal, Resource, SourceResult


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a connector's work, for a progress bar or a log line."""

    source: str
    message: str
    done: int | None = None
    total: int | None = None
    level: str = "info"  # info | warning


Progress = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    """A `Progress` that discards everything."""


@runtime_checkable
class Connector(Protocol):
    """Reads one system. Constructed with its config section and the whole config."""

    name: str

    def __init__(self, section: Any, *, config: Config) -> None: ...

    def collect(self, progress: Progress, *, period: ActivityPeriod | None = None) -> SourceResult:
        """Read the system; failures become Gaps in the result, not exceptions.

        With a ``period``, also read the activity in it (docs/activity.md) and return it in
        the result's ``activity``, with ``period`` set; a connector that reads no activity
        leaves both empty (and says so in a Gap when asked for a period).
        """
        ...


# Explicit and lazy: importing foureyes never imports boto3, PyGithub or Google clients.
REGISTRY: dict[str, str] = {
    "demo": "foureyes.connectors.demo.connector:DemoConnector",
    "github": "foureyes.connectors.github.connector:GitHubConnector",
    "aws": "foureyes.connectors.aws.connector:AwsConnector",
    "gcp": "foureyes.connectors.gcp.connector:GcpConnector",
}


def connector_class(name: str) -> type[Connector]:
    try:
        target = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise SourceError(f"unknown source {name!r}; known sources: {known}") from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("foureyes"):
            raise SourceError(f"source {name!r} is not available in this build of foureyes") from None
        raise SourceError(
            f"source {name!r} needs the Python package {exc.name!r}; reinstall foureyes"
        ) from None
    return getattr(module, attr)


def make_connector(name: str, config: Config) -> Connector:
    section = getattr(config.sources, name, None)
    if section is None:
        raise SourceError(
            f"source {name!r} is not configured; add a [sources.{name}] table to {config.path or 'the config'}"
        )
    return connector_class(name)(section, config=config)


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Stopwatch:
    """Counts requests and retries for ``snapshot --stats``."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.requests = 0
        self.retries = 0
        self.max_in_flight = 0
        self.rate_limit_wait = 0.0

    def as_stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "max_in_flight": self.max_in_flight,
            "rate_limit_wait_s": round(self.rate_limit_wait, 3),
            "elapsed_s": round(time.monotonic() - self.started, 3),
        }


class SourceBuilder:
    """Accumulates one source's principals, resources, grants, edges and gaps.

    One de-duplication rule for every connector and the demo: the first writer of a key
    wins, so keys stay stable however often a connector meets a thing; a gap is counted
    once however many reads hit it; an edge from a principal to itself explains nothing
    and is dropped. Facts learned later about a principal go through `with_attrs`.
    """

    def __init__(self) -> None:
        self.principals: dict[str, Principal] = {}
        self.resources: dict[str, Resource] = {}
        self.grants: dict[str, Grant] = {}
        self.edges: dict[str, Edge] = {}
        self._gaps: dict[str, Gap] = {}
        self._activity: dict[str, Record] = {}

    def principal(self, p: Principal) -> str:
        self.principals.setdefault(p.key, p)
        return p.key

    def with_attrs(self, key: str, **attrs: Any) -> Principal:
        """Add or replace attributes of a principal already added (frozen values: a new copy)."""
        found = replace(self.principals[key], attrs={**dict(self.principals[key].attrs), **attrs})
        self.principals[key] = found
        return found

    def resource(self, r: Resource) -> str:
        self.resources.setdefault(r.key, r)
        return r.key

    def grant(self, g: Grant) -> None:
        self.grants.setdefault(g.key, g)

    def edge(self, e: Edge) -> None:
        if e.src != e.dst:
            self.edges.setdefault(e.key, e)

    def gap(self, g: Gap) -> None:
        self._gaps.setdefault(g.key, g)

    def activity(self, record: Record) -> str:
        """An activity record (foureyes/activity.py); the first of one kind, system and id wins."""
        self._activity.setdefault(record.key, record)
        return record.key

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return tuple(self._gaps.values())

    def result(self, name: str, system: str, *, ordered: bool = False, **when_and_stats: Any) -> SourceResult:
        """The accumulated source. ``ordered``: sorted by what each thing is about, so a
        connector that reads in parallel gives the same result in the same order every run
        (otherwise: the order things were added in)."""
        principals, resources = list(self.principals.values()), list(self.resources.values())
        grants, edges, gaps = list(self.grants.values()), list(self.edges.values()), list(self._gaps.values())
        if ordered:
            principals.sort(key=lambda p: p.key)
            resources.sort(key=lambda r: r.key)
            grants.sort(key=lambda g: (g.resource, g.principal, g.entitlement))
            edges.sort(key=lambda e: (e.src, e.kind, e.dst))
            gaps.sort(key=lambda g: (g.resource, g.reason))
        return SourceResult(
            name=name, system=system, principals=tuple(principals), resources=tuple(resources),
            grants=tuple(grants), edges=tuple(edges), gaps=tuple(gaps),
            activity=tuple(sorted(self._activity.values(), key=activity_order)), **when_and_stats,
        )
