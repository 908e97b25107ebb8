"""The GitHub HTTP layer: PyGithub's requester and retry, one client per worker thread.

Counts every request, retry, page, rate-limit point and rate-limit wait for ``snapshot
--stats``, and schedules within both of GitHub's budgets: the primary ones (REST requests and
GraphQL points per hour, as the answers' ``x-ratelimit-*`` headers tell them, each GraphQL
query's score reserved before it is sent) and the secondary ones (at most 100 requests in
flight; per minute, 900 points for each REST endpoint and 2,000 for GraphQL). Failures become
`ApiFailure`.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ...config import GitHubSource
from ...errors import SourceError
from ..base import Progress, ProgressEvent, Secrets, Stopwatch, unreachable
from .cost import NODE_LIMIT, query_cost

SOURCE = "github"

# GitHub's secondary rate limits ("Rate limits for the REST API", secondary-rate-limit-rest-graphql):
# no more than 100 concurrent requests, REST and GraphQL together; no more than 900 points per
# minute for a REST endpoint (a GET is 1 point) and 2,000 for the GraphQL endpoint (a query is 1).
MOST_IN_FLIGHT = 100
REST_POINTS_PER_MINUTE = 900
GRAPHQL_POINTS_PER_MINUTE = 2000


class ApiFailure(Exception):
    """A request that failed for good (after PyGithub's retries). Never carries a credential."""

    def __init__(self, verb: str, path: str, status: int | None, message: str):
        self.verb = verb
        self.path = path
        self.status = status
        self.message = message
        what = f"{status}" if status else "error"
        super().__init__(f"{what} on {verb} {path}: {message}")

    @property
    def denied(self) -> bool:
        """403/404: a token with more rights might see this."""
        return self.status in (401, 403, 404)


class Meter:
    """Thread-safe request counters, filled by `GitHubApi` and `CountingRetry`."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.watch = Stopwatch()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._rest = self._graphql = self._graphql_points = 0  # answered: REST calls, GraphQL queries and scores
        # (resource, reset) -> [used before the lowest answer, most used seen], per rate-limit window
        self._spent: dict[tuple[str, str], list[int]] = {}

    def page(self) -> None:
        """A page of a list (a REST page or a GraphQL query) was read."""
        self.watch.count(pages=1)

    def spent(self, headers: Any) -> None:
        """Rate-limit points, from GitHub's ``x-ratelimit-used`` (points used in the current
        window, per ``x-ratelimit-resource``; a window is known by its ``x-ratelimit-reset``): the
        rise of that count while this source reads. Another client on the same token in the same
        window counts too. Answers arrive out of order (a query charged first may answer last), so
        each window's span is the lowest count seen less a point to the highest; and what this
        source itself was charged (`charged`) is a floor, since the first answer of a window may
        have cost more than the point assumed for it."""
        try:
            used = int(str(headers.get("x-ratelimit-used", "")).strip())
        except ValueError:
            return
        window = (str(headers.get("x-ratelimit-resource", "core")), str(headers.get("x-ratelimit-reset", "")))
        with self._lock:
            span = self._spent.get(window)
            if span is None:
                self._spent[window] = [used - 1, used]  # an answer costs at least a point
            else:
                span[0], span[1] = min(span[0], used - 1), max(span[1], used)
            self._tally()

    def _tally(self) -> None:
        seen = sum(hi - lo for lo, hi in self._spent.values())
        self.watch.rate_limit_points = max(seen, self._rest + self._graphql_points)

    def started(self) -> None:
        with self._lock:
            self.watch.requests += 1
            self._in_flight += 1
            self.watch.max_in_flight = max(self.watch.max_in_flight, self._in_flight)

    def finished(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def retried(self, *, request: bool = True) -> None:
        """A retry; ``request`` when it is sent without passing `started` (urllib3's own)."""
        with self._lock:
            self.watch.retries += 1
            if request:
                self.watch.requests += 1

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.watch.rate_limit_wait += seconds

    def charged(self, resource: str, points: int) -> None:
        """What an answered request cost: a REST request, or a GraphQL query's score."""
        with self._lock:
            if resource == "graphql":
                self._graphql += 1
                self._graphql_points += points
            else:
                self._rest += 1
            if self._spent:
                self._tally()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.watch.as_stats(), "rest_requests": self._rest, "graphql_requests": self._graphql,
                    "graphql_points": self._graphql_points}


class Slots:
    """At most ``limit`` requests in flight, across every thread and request path.

    An ``urgent`` request (the next page of a list that later work waits on) takes the next
    free slot before ordinary ones, so a long cursor chain is not held up by the fan-out.
    """

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._free = self.limit
        self._urgent = 0
        self._cond = threading.Condition()

    def acquire(self, urgent: bool = False) -> None:
        with self._cond:
            if urgent:
                self._urgent += 1
            try:
                while self._free == 0 or (not urgent and self._urgent):
                    self._cond.wait()
            finally:
                if urgent:
                    self._urgent -= 1
            self._free -= 1

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()


class Budget:
    """One primary budget — REST requests or GraphQL points per hour — as GitHub's answers state it.

    A request reserves what it will cost before it is sent (a GraphQL query's score, `cost.py`);
    when what is left of the window, less what is reserved, does not cover it, it waits for the
    window's reset (at most ``max_wait`` seconds, else `ApiFailure`). Answers arrive out of order:
    within one window (the same reset) the lowest ``remaining`` is believed, an answer from a
    window already past is not. An answer that says the budget is spent (``remaining`` 0, as a
    rate-limited answer does) holds every request until its reset, whatever else was seen.
    """

    def __init__(self, resource: str):
        self.resource = resource
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset = 0.0
        self.blocked_until = 0.0
        self._reserved = 0
        self._cond = threading.Condition()

    def reserve(self, cost: int, *, max_wait: float, waiting: Any = None) -> None:
        with self._cond:
            while True:
                now = time.time()
                if self.blocked_until > now:
                    until = self.blocked_until
                elif self.remaining is None or self.reset <= now or self.remaining - self._reserved >= cost:
                    self._reserved += cost
                    return
                elif self.remaining >= cost and self._reserved:
                    self._cond.wait(1.0)  # what is in flight may have been counted already: see its answers first
                    continue
                else:
                    until = self.reset
                if until - now > max_wait:
                    raise ApiFailure("GET" if self.resource == "core" else "POST", self.resource, 403,
                                     f"rate limit exhausted until {_clock(until)}, beyond max_rate_limit_wait "
                                     f"({max_wait:g} s)")
                if waiting is not None:
                    waiting(until)
                self._cond.wait(max(0.0, until - now))

    def settle(self, cost: int, headers: Any) -> None:
        """The request is answered: release its reservation and believe the headers."""
        with self._cond:
            self._reserved = max(0, self._reserved - cost)
            self.note(headers)
            self._cond.notify_all()

    def note(self, headers: Any) -> None:
        try:
            remaining = int(float(headers.get("x-ratelimit-remaining")))
            reset = float(headers.get("x-ratelimit-reset"))
        except (TypeError, ValueError):
            return
        if remaining <= 0:
            self.blocked_until = max(self.blocked_until, reset)
        if self.remaining is None or reset > self.reset + 1:  # the first answer, or a new window
            self.reset, self.remaining = reset, remaining
        elif reset >= self.reset - 1:  # the same window: the lowest count is the latest
            self.reset, self.remaining = max(self.reset, reset), min(self.remaining, remaining)
        limit = headers.get("x-ratelimit-limit")
        if limit is not None and str(limit).isdigit():
            self.limit = int(limit)


class MinuteWindow:
    """At most ``limit`` points in any 60 seconds for one endpoint (GitHub's secondary limit).

    GitHub counts a request when it arrives, which is some time after it was sent; so a request
    holds its points from when it is sent until 60 s after its answer (`done`), which is never
    earlier than GitHub's own count lets them go.
    """

    def __init__(self, limit: int, clock: Any = time.monotonic, sleep: Any = time.sleep):
        self.limit = limit
        self._held: list[list[float]] = []  # [since, points]; since is inf while unanswered
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def take(self, points: int = 1) -> tuple[float, list[float]]:
        """Wait until ``points`` fit in the last minute; (seconds waited, the ticket for `done`)."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._held = [h for h in self._held if h[0] > now - 60]
                used = sum(int(h[1]) for h in self._held)
                if used + points <= self.limit:
                    ticket = [math.inf, float(points)]
                    self._held.append(ticket)
                    return waited, ticket
                wait = 1.0  # everything held is still unanswered: look again in a moment
                freed = 0
                for since, held in sorted(self._held):
                    if since == math.inf:
                        break
                    freed += int(held)
                    if used - freed + points <= self.limit:
                        wait = since + 60 - now
                        break
            self._sleep(max(wait, 0.001))
            waited += max(wait, 0.001)

    def done(self, ticket: list[float]) -> None:
        """The request was answered: its points count for 60 s from now."""
        with self._lock:
            ticket[0] = self._clock()


_ENDPOINT = re.compile(r"^/(repos/[^/]+/[^/]+|orgs/[^/]+|users/[^/]+)(/.*)?$")


def endpoint(path: str) -> str:
    """The endpoint a REST path belongs to, for the per-endpoint limit: names and ids become ``*``
    (``/repos/*/*/environments/*/deployment-branch-policies``)."""
    m = _ENDPOINT.match(path)
    if not m:
        return path
    head = "/".join(["*" if i else part for i, part in enumerate(m.group(1).split("/"))])
    rest = (m.group(2) or "").split("/")
    named = {"teams", "environments", "organization-roles", "rulesets", "branches", "issues", "collaborators"}
    out = []
    for i, part in enumerate(rest):
        out.append("*" if part.isdigit() or (i and rest[i - 1] in named and part) else part)
    return "/" + head + "/".join(out)


def rate_limit_kind(headers: Any) -> str:
    """GitHub's documented split (rate limits for the REST API): ``x-ratelimit-remaining: 0`` on a
    403 or 429 is the primary limit; any other rate-limit answer is a secondary limit."""
    return "primary" if str(headers.get("x-ratelimit-remaining", "")).strip() == "0" else "secondary"


def _retry_class() -> type:
    from github.GithubException import RateLimitExceededExceedsMaxWait
    from github.GithubRetry import GithubRetry

    class CountingRetry(GithubRetry):
        """PyGithub's retry (Retry-After, rate-limit messages, 5xx), counted and reported, and 429
        treated like 403: GitHub answers either status when a rate limit is exceeded."""

        meter: Meter | None = None

        def __init__(self, **kw: Any) -> None:
            forcelist = list(kw.get("status_forcelist", range(500, 600)))
            kw["status_forcelist"] = forcelist + [429] * (429 not in forcelist)
            super().__init__(**kw)

        def new(self, **kw: Any) -> Any:
            fresh = super().new(**kw)
            fresh.meter = self.meter
            return fresh

        def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                      _pool: Any = None, _stacktrace: Any = None) -> Any:
            fresh = super().increment(method, url, response, error, _pool, _stacktrace)
            if response is not None and response.status == 429 and "Retry-After" not in response.headers:
                backoff = self._limit_backoff(response.headers)
                if self.max_rate_limit_wait is not None and backoff > self.max_rate_limit_wait:
                    raise RateLimitExceededExceedsMaxWait(429, {"message": "rate limit exceeded"},
                                                          dict(response.headers), wait=backoff)
                backoff = max(backoff, fresh.get_backoff_time())
                fresh.get_backoff_time = lambda: backoff
            if self.meter is not None:
                self.meter.retried()
                if response is not None:  # an answer retried here never reaches GitHubApi.request
                    self.meter.spent(response.headers)
            return fresh

        def _limit_backoff(self, headers: Any) -> float:
            """Until ``x-ratelimit-reset`` for a primary limit, else ``secondary_rate_wait`` (GitHub's docs)."""
            if rate_limit_kind(headers) == "primary":
                try:
                    return max(0.0, float(headers.get("x-ratelimit-reset")) - time.time()) + 1
                except (TypeError, ValueError):
                    pass
            return float(self.secondary_rate_wait)

        def sleep(self, response: Any = None) -> None:
            started = time.monotonic()
            limited = response is not None and (response.status in (403, 429) or "Retry-After" in response.headers)
            if limited and self.meter is not None:
                after = response.headers.get("Retry-After")
                wait = float(after) if after and str(after).strip().isdigit() else self.get_backoff_time()
                self.meter.progress(ProgressEvent(
                    SOURCE, f"GitHub {rate_limit_kind(response.headers)} rate limit ({response.status}): "
                    f"waiting {wait:.3g} s before retrying", level="warning"))
            super().sleep(response)
            if limited and self.meter is not None:
                self.meter.waited(time.monotonic() - started)

    return CountingRetry


@dataclass(frozen=True)
class Page:
    headers: dict[str, Any]
    data: Any


def next_link(headers: dict[str, Any]) -> str | None:
    """The ``rel="next"`` URL of a Link header, or None on the last page."""
    for part in str(headers.get("link", "")).split(","):
        if 'rel="next"' in part:
            return part.split(";", 1)[0].strip().strip("<>")
    return None


class GitHubApi:
    """REST and GraphQL through PyGithub's requester, safe to call from many threads.

    PyGithub's connection objects are not thread-safe (PyGithub issue #2052), so each worker
    thread gets its own `Github` client; they share the token, the counters and the
    rate-limit state.
    """

    def __init__(self, section: GitHubSource, progress: Progress, *, token: str | None = None,
                 secrets: Secrets | None = None):
        self.section = section
        self.secrets = secrets if secrets is not None else Secrets()
        self.meter = Meter(progress)
        self.progress = progress
        self._local = threading.local()
        self._rate_lock = threading.Lock()
        self._waits_reported: set[float] = set()
        self.budgets = {"core": Budget("core"), "graphql": Budget("graphql")}
        self._windows: dict[str, MinuteWindow] = {}
        self.slots = Slots(min(section.concurrency, MOST_IN_FLIGHT))
        self._token = token if token is not None else self._credentials()
        self.secrets.add(self._token)

    # ------------------------------------------------------------ credentials

    def _credentials(self) -> str:
        s = self.section
        if s.app_id is not None:
            if not s.private_key_path or s.installation_id is None:
                raise SourceError("[sources.github] app_id needs private_key_path and installation_id too")
            try:
                key = Path(s.private_key_path).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise SourceError(f"[sources.github] private_key_path {s.private_key_path}: {exc.strerror}") from None
            self.secrets.add(key)
            from github import Auth, GithubException, GithubIntegration

            integration = GithubIntegration(auth=Auth.AppAuth(s.app_id, key), base_url=s.base_url,
                                            retry=self._retry())
            self.slots.acquire()
            self.meter.started()
            try:
                return integration.get_access_token(s.installation_id).token
            except GithubException as exc:
                raise SourceError(f"GitHub App installation {s.installation_id}: cannot get a token "
                                  f"({exc.status})") from None
            except Exception as exc:  # a malformed key, an unreachable host: one line, no secret
                raise SourceError(f"GitHub App installation {s.installation_id}: cannot get a token "
                                  f"({type(exc).__name__})") from None
            finally:
                self.meter.finished()
                self.slots.release()
        looks_like_token = s.token_env.startswith(("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")) or (
            len(s.token_env) >= 30 and not s.token_env.isupper())
        if looks_like_token or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s.token_env):
            # Someone pasted the token itself into the config: say so without repeating it.
            raise SourceError("[sources.github] token_env must be the NAME of an environment variable "
                              "(such as GITHUB_TOKEN), not a token; remove the token from the config file "
                              "and revoke it, since it was written to disk")
        token = os.environ.get(s.token_env, "").strip()
        self.secrets.add(token)
        if not token:
            raise SourceError(f"no GitHub token: set the environment variable {s.token_env} to a read-only token "
                              "(docs/sources/github.md), or configure a GitHub App in [sources.github]")
        return token

    def _retry(self) -> Any:
        # raise_on_status=False: when retries run out, PyGithub sees the last answer (500, 403)
        # and raises GithubException with its status, instead of urllib3's MaxRetryError.
        retry = _retry_class()(total=self.section.max_retries, backoff_factor=self.section.backoff_factor,
                               secondary_rate_wait=self.section.secondary_rate_wait,
                               max_rate_limit_wait=self.section.max_rate_limit_wait, raise_on_status=False)
        retry.meter = self.meter
        return retry

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            from github import Auth, Github

            from ... import __version__

            client = Github(base_url=self.section.base_url, auth=Auth.Token(self._token),
                            timeout=max(1, int(round(self.section.timeout))), per_page=self.section.per_page,
                            retry=self._retry(),
                            pool_size=2, seconds_between_requests=None, seconds_between_writes=None,
                            user_agent=f"foureyes/{__version__} (read-only audit)")
            self._local.client = client
        return client

    # ------------------------------------------------------------ requests

    def request(self, verb: str, url: str, *, params: dict[str, Any] | None = None,
                body: Any = None, urgent: bool = False, cost: int = 1) -> Page:
        """One request with PyGithub's retry; broken bodies are retried here (twice).

        Each attempt first takes its point in the endpoint's minute (secondary limit), then
        reserves ``cost`` in its primary budget (a REST request, or a GraphQL query's score),
        then holds one of the `concurrency` slots (PyGithub's own retries included).
        """
        from github import GithubException, RateLimitExceededException
        from requests import RequestException

        requester = self._client().requester
        shown = _shown(url)
        resource = "graphql" if shown.endswith("/graphql") else "core"
        budget = self.budgets[resource]
        window = self._window(resource, shown)
        attempts = 3
        for attempt in range(attempts):
            waited, ticket = window.take(1 if resource == "graphql" or verb in ("GET", "HEAD", "OPTIONS") else 5)
            if waited:
                self.meter.waited(waited)
            try:
                self._reserve(budget, cost)
            except ApiFailure:
                window.done(ticket)
                raise
            self.slots.acquire(urgent)
            self.meter.started()
            answered: Any = {}
            try:
                headers, data = requester.requestJsonAndCheck(verb, url, parameters=params, input=body)
            except RateLimitExceededException as exc:
                answered = exc.headers or {}
                self.meter.spent(answered)
                raise ApiFailure(verb, shown, exc.status, "rate limit exhausted and the wait would exceed "
                                 f"max_rate_limit_wait ({self.section.max_rate_limit_wait:g} s)") from None
            except GithubException as exc:
                answered = exc.headers or {}
                self.meter.spent(answered)
                raise ApiFailure(verb, shown, exc.status, _message(exc.data)) from None
            except ValueError as exc:  # a body that is not JSON: retry, then give up
                failure = ApiFailure(verb, shown, None, f"malformed JSON in the response ({type(exc).__name__})")
            except RequestException as exc:
                failure = ApiFailure(verb, shown, None, _transport(exc))
                if not _body_error(exc):
                    raise failure from None  # urllib3 already retried connection errors and timeouts
            else:
                answered = headers
                self.meter.spent(headers)
                if resource == "core":
                    self.meter.charged("core", 1)
                return Page(headers, data)
            finally:
                window.done(ticket)
                self.meter.finished()
                self.slots.release()
                budget.settle(cost, answered)
            if attempt + 1 < attempts:
                self.meter.retried(request=False)  # the retry is counted when it starts
        raise failure

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).data

    def paginate(self, path: str, *, item_key: str | None = None, **params: Any) -> Iterator[Any]:
        """Every item of a REST list, following the Link header (``per_page`` from config)."""
        params = {"per_page": self.section.per_page, **params}
        url: str | None = path
        first = True
        while url:
            page = self.request("GET", url, params=params if first else None)
            self.meter.page()
            first = False
            data = page.data
            items = data.get(item_key, []) if item_key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise ApiFailure("GET", _shown(path), None, "expected a list in the response")
            yield from items
            url = next_link(page.headers)

    def graphql(self, query: str, variables: dict[str, Any], *, urgent: bool = False
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """``(data, errors)``: GitHub answers partly when some fields are forbidden; keep both.

        GraphQL's primary rate limit is a 200 whose ``errors`` say ``RATE_LIMITED`` (GitHub's
        GraphQL rate-limit docs): wait — until ``x-ratelimit-reset`` when the budget is spent,
        else ``secondary_rate_wait`` — and ask again, ``max_retries`` times at most.
        """
        predicted = query_cost(query, variables)
        if predicted.nodes > NODE_LIMIT:
            raise ApiFailure("POST", "/graphql", None, f"the query asks for up to {predicted.nodes:,} nodes, more than "
                             f"GitHub's limit of {NODE_LIMIT:,}")
        attempt = 0
        while True:
            page = self.request("POST", self._client().requester.graphql_url,
                                body={"query": query, "variables": variables}, urgent=urgent, cost=predicted.points)
            self.meter.page()
            data = page.data if isinstance(page.data, dict) else {}
            errors = list(data.get("errors") or [])
            if not any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
                rate = (data.get("data") or {}).get("rateLimit") or {}
                self.meter.charged("graphql", int(rate.get("cost") or predicted.points))
                return data.get("data") or {}, errors
            attempt += 1
            if attempt > max(1, self.section.max_retries):
                raise ApiFailure("POST", "/graphql", None, "GraphQL RATE_LIMITED after "
                                 f"{attempt} tries; the rest waits for the next snapshot")
            self.meter.retried(request=False)
            kind = rate_limit_kind(page.headers)
            if kind == "primary":
                continue  # the budget now knows it is spent: the next attempt waits for the reset
            wait = float(self.section.secondary_rate_wait)
            self.progress(ProgressEvent(SOURCE, f"GitHub GraphQL secondary rate limit (RATE_LIMITED): waiting "
                                        f"{wait:.3g} s before retrying", level="warning"))
            time.sleep(wait)
            self.meter.waited(wait)

    # ------------------------------------------------------------ budgets

    def _window(self, resource: str, path: str) -> MinuteWindow:
        key = "/graphql" if resource == "graphql" else endpoint(path)
        with self._rate_lock:
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = MinuteWindow(
                    GRAPHQL_POINTS_PER_MINUTE if resource == "graphql" else REST_POINTS_PER_MINUTE)
        return window

    def _reserve(self, budget: Budget, cost: int) -> None:
        """Reserve ``cost`` in ``budget``; a wait for the reset is said once per window and counted once."""
        waits: list[tuple[float, float, bool]] = []

        def waiting(until: float) -> None:
            with self._rate_lock:
                first = until not in self._waits_reported  # threads wait together: count the window once
                self._waits_reported.add(until)
            if first:
                self.progress(ProgressEvent(SOURCE, f"GitHub {budget.resource} rate limit exhausted: waiting until "
                                            f"{_clock(until)}", level="warning"))
            waits.append((until, time.monotonic(), first))

        budget.reserve(cost, max_wait=self.section.max_rate_limit_wait, waiting=waiting)
        counted = {until for until, _, first in waits if first}
        for until in counted:
            started = min(t for u, t, _ in waits if u == until)
            self.meter.waited(time.monotonic() - started)


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S UTC")


def _shown(url: str) -> str:
    """A request's path for messages: no scheme, host or query (nothing secret ever is, but keep it short)."""
    if "://" in url:
        url = "/" + url.split("://", 1)[1].split("/", 1)[-1]
    return url.split("?", 1)[0]


def _message(data: Any) -> str:
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"]).splitlines()[0][:200]
    if isinstance(data, str):
        return data.splitlines()[0][:200] if data else "no message"
    try:
        return json.dumps(data)[:200]
    except (TypeError, ValueError):
        return "no message"


def _transport(exc: Exception) -> str:
    """One readable line: the host and the cause, not urllib3's nested repr cut mid-string."""
    found = unreachable(exc)
    if found:
        return found
    kind = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{kind}: {text[:160]}" if text else kind


def _body_error(exc: Exception) -> bool:
    from requests.exceptions import ChunkedEncodingError, ContentDecodingError

    return isinstance(exc, (ChunkedEncodingError, ContentDecodingError))
