"""The Connector protocol, the progress channel, and a registry that imports lazily.

A connector reads one system and returns a `SourceResult`. It never writes to the system
it audits, never prints (it reports through `Progress`), and turns what it cannot read
into Gaps instead of raising.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from ..activity import ActivityPeriod, Record, activity_order, canonical, decode
from ..config import Config
from ..errors import SourceError
from ..model import Edge, Gap, Grant, Principal, Resource, SourceResult
from ..textsafe import REDACTED, redact_credentials


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


class Secrets:
    """The credential values one connector holds, and their removal from any text it gives back.

    A connector registers each value as it obtains it (a token from the environment, keys
    from the SDK's chain, an assumed role's session, a password in a URL) or a way to read
    it later (`watch`: an access token that is refreshed). `collect` scrubs every message,
    progress line, gap and result of the connector with `scrub`, before anything is stored,
    printed or exported: a server that echoes the request's Authorization header into its
    error, or into a name, cannot make foureyes repeat it. Well-known credential shapes are
    removed too, registered or not.
    """

    MIN_LENGTH = 8  # a shorter value would blank ordinary words

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._watched: list[Callable[[], Iterable[Any]]] = []
        self._lock = threading.Lock()

    def add(self, *values: Any) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if isinstance(value, str):
                    for part in {value, value.strip(), *value.strip().splitlines()}:
                        if len(part.strip()) >= self.MIN_LENGTH:
                            self._values.add(part.strip())

    def add_url(self, url: str | None) -> None:
        """The password of a URL's ``user:password@`` part, as written and decoded."""
        if not url:
            return
        try:
            password = urlsplit(url).password
        except ValueError:
            return
        if password:
            self.add(password, unquote(password))

    def watch(self, read: Callable[[], Iterable[Any]]) -> None:
        """Values read again at each scrub (and kept once seen): a token that is refreshed."""
        with self._lock:
            self._watched.append(read)

    def values(self) -> list[str]:
        for read in list(self._watched):
            try:
                self.add(*read())
            except Exception:  # reading a credential must never break a scrub
                continue
        with self._lock:
            return sorted(self._values, key=len, reverse=True)  # a longer value first: no half-scrubs

    def scrub(self, text: str) -> str:
        """``text`` without any registered value or credential-shaped string."""
        if not text:
            return text
        for value in self.values():
            if value in text:
                text = text.replace(value, REDACTED)
        return redact_credentials(text)

    def progress(self, progress: "Progress") -> "Progress":
        """``progress`` with every message scrubbed."""

        def report(event: ProgressEvent) -> None:
            progress(replace(event, message=self.scrub(event.message)))

        return report

    def scrub_result(self, result: SourceResult) -> SourceResult:
        """A result with every registered value removed from every string in it (names, attrs,
        gaps, the error) and credential shapes removed from its gaps and error."""
        values = self.values()
        gaps = tuple(replace(g, reason=self.scrub(g.reason), hides=self.scrub(g.hides),
                             resource=self.scrub(g.resource)) for g in result.gaps)
        error = self.scrub(result.error) if result.error else result.error
        result = replace(result, gaps=gaps, error=error)
        if not values:
            return result
        # One pass over all the text first: a result that holds no secret (the usual case) is kept as it is.
        blob = "\0".join(_texts(result))
        if not any(v in blob for v in values):
            return result
        return replace(result, activity=tuple(self._scrub_record(r, values) for r in result.activity),
                       **{name: tuple(self._scrub_value(x, values) for x in getattr(result, name))
                          for name in ("principals", "resources", "grants", "edges")})

    def _scrub_record(self, record: Any, values: list[str]) -> Any:
        """An activity record (nested actors, evidence) through its canonical JSON."""
        text = canonical(record)
        escaped = [json.dumps(v, ensure_ascii=False)[1:-1] for v in values]
        if not any(v in text for v in escaped):
            return record
        return decode(record.KIND, json.loads(self._replace_all(text, escaped)))

    def _scrub_value(self, item: Any, values: list[str]) -> Any:
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(item):
            value = getattr(item, f.name)
            if isinstance(value, str) and any(v in value for v in values):
                changes[f.name] = self._replace_all(value, values)
            elif isinstance(value, tuple) and any(isinstance(x, str) and any(v in x for v in values) for x in value):
                changes[f.name] = tuple(self._replace_all(x, values) if isinstance(x, str) else x for x in value)
            elif f.name == "attrs" and value:
                text = json.dumps(dict(value), ensure_ascii=False, default=str)
                if any(v in text for v in values):
                    changes[f.name] = json.loads(self._replace_all(text, [json.dumps(v)[1:-1] for v in values]))
        return replace(item, **changes) if changes else item

    @staticmethod
    def _replace_all(text: str, values: list[str]) -> str:
        for value in values:
            text = text.replace(value, REDACTED)
        return text


def _texts(result: SourceResult) -> Iterable[str]:
    yield from (canonical(r) for r in result.activity)
    for group in (result.principals, result.resources, result.grants, result.edges):
        for item in group:
            for f in dataclasses.fields(item):
                value = getattr(item, f.name)
                if isinstance(value, str):
                    yield value
                elif isinstance(value, tuple):
                    yield from (x for x in value if isinstance(x, str))
                elif f.name == "attrs" and value:
                    yield json.dumps(dict(value), ensure_ascii=False, default=str)


@runtime_checkable
class Connector(Protocol):
    """Reads one system. Constructed with its config section and the whole config; the
    credential values it obtains go into ``secrets`` (see `Secrets`)."""

    name: str
    secrets: Secrets

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
    "okta": "foureyes.connectors.okta.connector:OktaConnector",
    "entra": "foureyes.connectors.entra.connector:EntraConnector",
    "google_workspace": "foureyes.connectors.gworkspace.connector:GoogleWorkspaceConnector",
    "roster": "foureyes.connectors.roster.connector:RosterConnector",
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


def clock() -> float:
    """The clock a source's time is measured with (seconds; `tools/docs_samples.py` stops it)."""
    return time.monotonic()


class Stopwatch:
    """What one source's reading cost, for ``snapshot --stats`` (docs/cli.md): requests sent
    (retries included), retries, pages of lists read, rate-limit points spent (None where the
    system has no points budget), time waited for a rate limit, and the time it took.

    A connector keeps its stopwatch as ``self.watch`` (or offers ``stats()``), so that a source
    that fails still says what it cost up to the failure (`partial_stats`)."""

    def __init__(self) -> None:
        self.started = clock()
        self.requests = 0
        self.retries = 0
        self.pages = 0
        self.rate_limit_points: int | None = None
        self.max_in_flight = 0
        self.rate_limit_wait = 0.0
        self._lock = threading.Lock()

    def count(self, *, requests: int = 0, retries: int = 0, pages: int = 0, points: int = 0) -> None:
        """Add to the counters (from any thread)."""
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.pages += pages
            if points:
                self.rate_limit_points = (self.rate_limit_points or 0) + points

    def as_stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "pages": self.pages,
            "rate_limit_points": self.rate_limit_points,
            "max_in_flight": self.max_in_flight,
            "rate_limit_wait_s": round(self.rate_limit_wait, 3),
            "elapsed_s": round(clock() - self.started, 3),
        }


def partial_stats(connector: Any, started: float) -> dict[str, Any]:
    """What a connector counted before it failed (its ``stats()`` or ``watch``), with the time it
    took; never raises (a failed source must still be stored)."""
    try:
        stats = getattr(connector, "stats", None)
        if callable(stats):
            found = dict(stats())
        else:
            watch = getattr(connector, "watch", None)
            found = watch.as_stats() if isinstance(watch, Stopwatch) else {}
    except Exception:
        found = {}
    found.setdefault("elapsed_s", round(clock() - started, 3))
    return found


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


# ---------------------------------------------------------------- connection failures

# The class names of transport errors (requests, urllib3, botocore, grpc, the socket module),
# matched by name so that this module imports none of them; the first found in an
# exception's chain says what went wrong, in words.
_CAUSES = (
    (("NameResolutionError", "gaierror", "EndpointResolutionError"), "the host name does not resolve"),
    (("ConnectionRefusedError",), "connection refused"),
    (("ConnectTimeoutError", "ConnectTimeout"), "no connection within the timeout"),
    (("ReadTimeoutError", "ReadTimeout", "TimeoutError", "timeout"), "no answer within the timeout"),
    (("SSLError", "SSLCertVerificationError"), "TLS failed"),
    (("ProxyError", "ProxyConnectionError"), "the proxy failed"),
    (("ConnectionResetError", "RemoteDisconnected", "ConnectionClosedError", "ProtocolError",
      "ConnectionAbortedError", "BrokenPipeError"), "the connection was closed before an answer"),
    (("NetworkUnreachableError",), "the network is unreachable"),
)
_TRANSPORT_NAMES = {"ConnectionError", "MaxRetryError", "NewConnectionError", "EndpointConnectionError",
                    "ConnectTimeoutError", "HTTPClientError", "Timeout"} | {n for names, _ in _CAUSES for n in names}


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    stack = [exc]
    while stack:
        item = stack.pop(0)
        if any(item is seen for seen in found):
            continue
        found.append(item)
        kwargs = getattr(item, "kwargs", None)
        nested = [item.__cause__, item.__context__, getattr(item, "reason", None),
                  kwargs.get("error") if isinstance(kwargs, dict) else None, *getattr(item, "args", ())]
        stack += [n for n in nested if isinstance(n, BaseException)]
    return found


def _where(chain: list[BaseException], url: str | None) -> str:
    for item in chain:
        for holder in (getattr(item, "pool", None), getattr(item, "conn", None)):
            host = getattr(holder, "host", None)
            if isinstance(host, str) and host:
                port = getattr(holder, "port", None)
                return f"{host}:{port}" if port else host
        kwargs = getattr(item, "kwargs", None)
        if isinstance(kwargs, dict) and isinstance(kwargs.get("endpoint_url"), str):
            url = kwargs["endpoint_url"]
            break
        request = getattr(item, "request", None)
        if url is None and isinstance(getattr(request, "url", None), str):
            url = request.url
    if url:
        try:
            parts = urlsplit(url if "://" in url else f"//{url}")
            if parts.hostname:
                port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
                return f"{parts.hostname}:{port}" if port else parts.hostname
        except ValueError:
            pass
    return "the server"


def unreachable(exc: BaseException, url: str | None = None) -> str | None:
    """"cannot reach api.example.com:443 (the host name does not resolve)": one readable line for
    a failure to connect or to get an answer, naming the host and the cause; None when ``exc``
    is not a transport failure. ``url`` is the endpoint asked, when the exception lacks it."""
    chain = _chain(exc)
    names = [type(item).__name__ for item in chain]
    if not _TRANSPORT_NAMES & set(names):
        return None
    cause = next((words for kinds, words in _CAUSES for name in reversed(names) if name in kinds), "")
    if cause == "TLS failed":
        reason = next((getattr(item, "reason", None) for item in chain
                       if type(item).__name__ in ("SSLCertVerificationError", "SSLError")
                       and isinstance(getattr(item, "reason", None), str)), None)
        cause += f" ({reason})" if reason else ""
    if not cause:
        errno_item = next((item for item in reversed(chain) if isinstance(item, OSError) and item.strerror), None)
        cause = errno_item.strerror.lower() if errno_item is not None and errno_item.strerror else names[-1]
    return f"cannot reach {_where(chain, url)} ({cause})"
