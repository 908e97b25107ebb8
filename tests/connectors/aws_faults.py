"""A fault-injecting proxy on loopback between boto3 and moto's server.

It forwards every request unchanged (signature headers included) unless a planned fault
claims it: an AWS error status or throttling error in the service's own format (JSON or
XML), a connection reset, an answer slower than the client's read timeout, a body that is
not the service's format, or the real body announced whole and cut off. Faults match the
API action and, optionally, the account whose credentials signed the request.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

MANAGEMENT = "123456789012"  # moto's default account: what the "testing" keys sign as


@dataclass
class AwsFault:
    """The ``nth`` (1-based) matching request, and ``times`` in all (None: ever after).

    ``action``: ``status`` (``status`` with an AWS error ``code``), ``throttle`` (400 with the
    service's throttling code), ``reset`` (close the connection without a response), ``delay``
    (wait ``delay`` seconds, then answer), ``malformed`` (200 with an HTML error page),
    ``truncate`` (the real answer announced whole, half of it sent, then closed).
    """

    action: str  # API action: "GetAccountAuthorizationDetails", "ListAccounts"
    fault: str = "status"
    status: int = 500
    code: str = ""
    account: str = ""  # only requests signed with this account's credentials
    nth: int = 1
    times: int | None = 1
    delay: float = 0.0
    seen: int = 0
    fired: int = 0

    def claims(self, action: str, account: str) -> bool:
        if self.action != action or (self.account and self.account != account):
            return False
        self.seen += 1
        if self.seen >= self.nth and (self.times is None or self.fired < self.times):
            self.fired += 1
            return True
        return False


@dataclass
class Seen:
    action: str
    account: str
    fault: str = ""  # the fault that answered it, "" when forwarded
    at: float = field(default_factory=time.monotonic)


class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.lock = threading.Lock()
        self.faults: list[AwsFault] = []
        self.requests: list[Seen] = []
        self.keys: dict[str, str] = {}  # access key id of assumed-role credentials -> account
        self.secrets: set[str] = set()  # secret keys and session tokens handed out through the proxy
        threading.Thread(target=self.serve_forever, name="aws-fault-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, action: str, fault: str = "status", **kwargs: Any) -> AwsFault:
        planned = AwsFault(action, fault, **kwargs)
        with self.lock:
            self.faults.append(planned)
        return planned

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.requests.clear()

    def seen(self, action: str, account: str = "") -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.action == action and (not account or r.account == account)]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FaultProxy
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits ~40 ms for the client's delayed ACK

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def do_GET(self) -> None:  # noqa: N802
        self._serve(b"")

    def _serve(self, body: bytes) -> None:
        target = self.headers.get("X-Amz-Target", "")
        json_protocol = bool(target)
        action = target.rsplit(".", 1)[-1] if target else parse_qs(body.decode()).get("Action", [""])[0]
        key = re.search(r"Credential=([^/]+)/", self.headers.get("Authorization", ""))
        proxy = self.server
        with proxy.lock:
            account = proxy.keys.get(key.group(1), MANAGEMENT) if key else ""
            fault = next((f for f in proxy.faults if f.claims(action, account)), None)
            proxy.requests.append(Seen(action, account, fault.fault if fault else ""))
        try:
            if fault is None:
                self._send(*self._forward(body, action))
            elif fault.fault == "reset":
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                self.connection.close()
            elif fault.fault == "delay":
                time.sleep(fault.delay)  # the client has given up by now: what follows goes nowhere
                self._send(*self._forward(body, action))
            elif fault.fault == "malformed":
                self._send(200, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body>")
            elif fault.fault == "truncate":
                status, content_type, data = self._forward(body, action)
                self._send(status, content_type, data, cut=True)
            else:
                throttled = fault.fault == "throttle"
                code = fault.code or (("TooManyRequestsException" if "Organizations" in target else
                                       "ThrottlingException" if json_protocol else "Throttling") if throttled
                                      else "ServiceUnavailable" if fault.status == 503 else "InternalFailure")
                status = 400 if throttled else fault.status
                message = "Rate exceeded" if throttled else "injected failure"
                if json_protocol:
                    self._send(status, "application/x-amz-json-1.1",
                               f'{{"__type": "{code}", "message": "{message}"}}'.encode())
                else:
                    kind = "Sender" if status < 500 else "Receiver"
                    self._send(status, "text/xml", f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
                               f"<Message>{message}</Message></Error><RequestId>f</RequestId></ErrorResponse>".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _forward(self, body: bytes, action: str) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if action == "AssumeRole" and response.status == 200:
            self._learn(body, data)
        return response.status, response.getheader("Content-Type", "text/xml"), data

    def _learn(self, body: bytes, data: bytes) -> None:
        """Which account new credentials sign for; and their secrets, which must never show."""
        role = parse_qs(body.decode()).get("RoleArn", [""])[0]
        text = data.decode()
        found = {tag: re.search(rf"<{tag}>([^<]+)</{tag}>", text) for tag in
                 ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        with self.server.lock:
            if found["AccessKeyId"] and role.count(":") >= 4:
                self.server.keys[found["AccessKeyId"].group(1)] = role.split(":")[4]
            self.server.secrets.update(m.group(1) for tag, m in found.items() if m and tag != "AccessKeyId")

    def _send(self, status: int, content_type: str, data: bytes, *, cut: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if cut else data)
        self.wfile.flush()
        if cut:
            self.close_connection = True
