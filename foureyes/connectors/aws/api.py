"""The boto3 side of the AWS connector: shared clients with botocore's bounded retries, counted
requests, paging, and failures described safely (error code and call, never a message body).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from ...config import AwsSource
from ..base import unreachable

T = TypeVar("T")


class Failed(Exception):
    """A read failed; ``reason`` is safe to show (error code and operation, never a credential)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MalformedResponse(BotoCoreError):
    """An answer cut short of its Content-Length, or a JSON answer that does not parse."""

    fmt = "{problem}"


# ResponseParserError is not a BotoCoreError; its message quotes the body (AssumeRole's holds a secret key).
READ_ERRORS = (ClientError, BotoCoreError, ResponseParserError)
THROTTLED = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")
_TRANSPORT = {ReadTimeoutError: "no answer within [sources.aws] timeout",
              ConnectTimeoutError: "no connection within [sources.aws] timeout",
              ConnectionClosedError: "connection closed before an answer"}


def describe_failure(exc: BaseException, operation: str = "") -> str:
    """"AccessDenied (HTTP 403) on iam:GetAccountAuthorizationDetails": code and call, no message text."""
    where = f" on {operation}" if operation else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = error.get("Code") or "error"
        status = meta.get("HTTPStatusCode")
        attempts = meta.get("RetryAttempts") or 0
        text = f"{code}" + (f" (HTTP {status})" if status else "") + where
        return text + (f" after {attempts + 1} attempts" if attempts else "")
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found" + where
    if isinstance(exc, MalformedResponse):
        return f"malformed response ({exc}){where}"
    if isinstance(exc, ResponseParserError):
        return f"malformed response (not the XML expected){where}"
    gloss = next((text for kind, text in _TRANSPORT.items() if isinstance(exc, kind)), "")
    if not gloss:
        found = unreachable(exc)
        if found:
            return found + where
    return f"{type(exc).__name__}" + (f" ({gloss})" if gloss else "") + where


def _refuse_cut_or_malformed(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore reads a body without checking its length, and a JSON body that does not parse as
    ``{"message": body}``: either would pass for a page with nothing on it."""
    body = response_dict.get("body")
    if not isinstance(body, bytes):
        return  # a streamed body: none of the calls here
    announced = response_dict.get("headers", {}).get("content-length", "")
    if announced.isdigit() and int(announced) != len(body):
        raise MalformedResponse(problem=f"cut off after {len(body)} of {announced} bytes")
    model = operation_model.service_model
    protocol = getattr(model, "resolved_protocol", None) or model.metadata.get("protocol", "")
    status = response_dict.get("status_code", 0)
    if protocol in ("json", "rest-json") and 200 <= status < 300 and operation_model.output_shape is not None:
        try:
            json.loads(body)
        except ValueError:
            raise MalformedResponse(problem="not JSON") from None


class RequestCounter:
    """Requests and retries across threads, for `SourceResult.stats`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.attempts = 0

    def call(self, **_: Any) -> None:
        with self.lock:
            self.calls += 1

    def attempt(self, **_: Any) -> None:
        with self.lock:
            self.attempts += 1


@dataclass
class Clients:
    """boto3 clients of one session, built once and shared (clients are thread-safe; sessions are not)."""

    session: boto3.Session
    source: AwsSource
    counter: RequestCounter
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, Any] = field(default_factory=dict)

    def __call__(self, service: str, region: str = "") -> Any:
        """The client of ``service`` in ``region`` (default: [sources.aws] region)."""
        region = region or self.source.region
        with self.lock:
            client = self.cache.get(f"{service}@{region}")
            if client is None:
                client = self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.source.endpoint_url or None,
                    config=BotoConfig(
                        retries={"mode": self.source.retry_mode, "max_attempts": self.source.max_attempts},
                        user_agent_extra="foureyes",
                        connect_timeout=min(10.0, self.source.timeout),
                        read_timeout=self.source.timeout,
                    ),
                )
                client.meta.events.register("before-parse.*.*", _refuse_cut_or_malformed)
                client.meta.events.register("before-call.*.*", self.counter.call)
                client.meta.events.register("before-send.*.*", self.counter.attempt)
                self.cache[f"{service}@{region}"] = client
            return client


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paginated list call, through boto3's paginator."""
    out: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


def call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except READ_ERRORS as exc:
        raise Failed(describe_failure(exc, what)) from None
