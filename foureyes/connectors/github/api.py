"""The GitHub HTTP layer: PyGithub's requester and retry, one client per worker thread.

Counts every request, retry, page, rate-limit point and rate-limit wait for ``snapshot
--stats``, waits when the primary budget is spent (saying until when), and turns failures
into `ApiFailure`.
"""

from __future__ import annotations

import json
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

SOURCE = "github"


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
        self._spent: dict[str, list[int]] = {}  # resource -> [used before the first answer, most used seen]
        self._points = 0  # points of windows that reset while reading

    def page(self) -> None:
        """A page of a list (a REST page or a GraphQL query) was read."""
        self.watch.count(pages=1)

    def spent(self, headers: Any) -> None:
        """Rate-limit points, from GitHub's ``x-ratelimit-used`` (points used in the current
        window, per ``x-ratelimit-resource``): the rise of that count while this source reads.
        Another client on the same token in the same window counts too."""
        try:
            used = int(str(headers.get("x-ratelimit-used", "")).strip())
        except ValueError:
            return
        resource = str(headers.get("x-ratelimit-resource", "core"))
        with self._lock:
            span = self._spent.get(resource)
            if span is None or used < span[0]:  # the first answer, or a window that reset
                if span is not None:
                    self._points += span[1] - span[0]
                self._spent[resource] = [used - 1, used]  # an answer costs at least a point
            else:
                span[1] = max(span[1], used)
            self.watch.rate_limit_points = self._points + sum(hi - lo for lo, hi in self._spent.values())
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

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self.watch.as_stats()


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
        self._blocked_until: dict[str, float] = {}
        self._waits_reported: set[float] = set()
        self.slots = Slots(section.concurrency)
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
                body: Any = None, urgent: bool = False) -> Page:
        """One request with PyGithub's retry; broken bodies are retried here (twice).

        Each attempt holds one of the `concurrency` slots (PyGithub's own retries included).
        """
        from github import GithubException, RateLimitExceededException
        from requests import RequestException

        requester = self._client().requester
        shown = _shown(url)
        attempts = 3
        for attempt in range(attempts):
            self._wait_for_budget("graphql" if shown.endswith("graphql") else "core")
            self.slots.acquire(urgent)
            self.meter.started()
            try:
                headers, data = requester.requestJsonAndCheck(verb, url, parameters=params, input=body)
            except RateLimitExceededException as exc:
                self._note_rate(exc.headers or {})
                self.meter.spent(exc.headers or {})
                raise ApiFailure(verb, shown, exc.status, "rate limit exhausted and the wait would exceed "
                                 f"max_rate_limit_wait ({self.section.max_rate_limit_wait:g} s)") from None
            except GithubException as exc:
                self._note_rate(exc.headers or {})
                self.meter.spent(exc.headers or {})
                raise ApiFailure(verb, shown, exc.status, _message(exc.data)) from None
            except ValueError as exc:  # a body that is not JSON: retry, then give up
                failure = ApiFailure(verb, shown, None, f"malformed JSON in the response ({type(exc).__name__})")
            except RequestException as exc:
                failure = ApiFailure(verb, shown, None, _transport(exc))
                if not _body_error(exc):
                    raise failure from None  # urllib3 already retried connection errors and timeouts
            else:
                self._note_rate(headers)
                self.meter.spent(headers)
                return Page(headers, data)
            finally:
                self.meter.finished()
                self.slots.release()
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
        attempt = 0
        while True:
            page = self.request("POST", self._client().requester.graphql_url,
                                body={"query": query, "variables": variables}, urgent=urgent)
            self.meter.page()
            data = page.data if isinstance(page.data, dict) else {}
            errors = list(data.get("errors") or [])
            if not any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
                return data.get("data") or {}, errors
            attempt += 1
            if attempt > max(1, self.section.max_retries):
                raise ApiFailure("POST", "/graphql", None, "GraphQL RATE_LIMITED after "
                                 f"{attempt} tries; the rest waits for the next snapshot")
            self.meter.retried(request=False)
            kind = rate_limit_kind(page.headers)
            if kind == "primary":
                self._note_rate(page.headers)  # the next request waits for the reset (max_rate_limit_wait)
                continue
            wait = float(self.section.secondary_rate_wait)
            self.progress(ProgressEvent(SOURCE, f"GitHub GraphQL secondary rate limit (RATE_LIMITED): waiting "
                                        f"{wait:.3g} s before retrying", level="warning"))
            time.sleep(wait)
            self.meter.waited(wait)

    # ------------------------------------------------------------ primary rate limit

    def _note_rate(self, headers: dict[str, Any]) -> None:
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            if int(float(remaining)) > 0:
                return
            until = float(reset)
        except ValueError:
            return
        resource = str(headers.get("x-ratelimit-resource", "core"))
        with self._rate_lock:
            self._blocked_until[resource] = max(self._blocked_until.get(resource, 0.0), until)

    def _wait_for_budget(self, resource: str) -> None:
        with self._rate_lock:
            until = self._blocked_until.get(resource, 0.0)
        wait = until - time.time()
        if wait <= 0:
            return
        if wait > self.section.max_rate_limit_wait:
            raise ApiFailure("GET", resource, 403, f"rate limit exhausted until {_clock(until)}, beyond "
                             f"max_rate_limit_wait ({self.section.max_rate_limit_wait:g} s)")
        with self._rate_lock:
            first = until not in self._waits_reported  # threads wait together: count the window once
            self._waits_reported.add(until)
        if first:
            self.progress(ProgressEvent(SOURCE, f"GitHub {resource} rate limit exhausted: waiting until "
                                        f"{_clock(until)}", level="warning"))
        time.sleep(wait)
        if first:
            self.meter.waited(wait)
        with self._rate_lock:
            if self._blocked_until.get(resource, 0.0) <= until:
                self._blocked_until.pop(resource, None)


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
