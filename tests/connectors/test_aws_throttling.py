"""Throttling and unreachable endpoints: botocore's bounded retries, then a Gap on the account.

A small proxy on loopback sits between boto3 and moto's server and answers some calls
with AWS's own throttling errors (JSON for Organizations, XML for IAM); everything else
is forwarded unchanged, signature headers included.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from . import aws_moto
from foureyes.config import parse_config
from foureyes.connectors.aws.connector import AwsConnector
from foureyes.errors import SourceError


class ThrottlingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.lock = threading.Lock()
        self.throttle_tags_of = ""  # account id whose Organizations tags are always throttled
        self.throttle_first_iam_snapshot = True
        self.seen: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, what: str) -> int:
        with self.lock:
            self.seen[what] = self.seen.get(what, 0) + 1
            return self.seen[what]


class _Handler(BaseHTTPRequestHandler):
    server: ThrottlingProxy

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".ListTagsForResource") and self.server.throttle_tags_of:
            if json.loads(body or b"{}").get("ResourceId") == self.server.throttle_tags_of:
                self.server.count("tags")
                return self._reply(400, "application/x-amz-json-1.1",
                                   json.dumps({"__type": "TooManyRequestsException", "Message": "Rate exceeded"}))
        if b"Action=GetAccountAuthorizationDetails" in body:
            if self.server.count("iam-snapshot") == 1 and self.server.throttle_first_iam_snapshot:
                return self._reply(400, "text/xml", "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                                   "<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>")
        self._forward(body)

    def do_GET(self) -> None:
        self._forward(b"")

    def _reply(self, status: int, content_type: str, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, body: bytes) -> None:
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


@pytest.fixture(scope="module")
def setup(moto):
    url = moto.fresh()  # this worker's moto server, emptied
    proxy = ThrottlingProxy(url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        org = aws_moto.client(url, "organizations")
        org.create_organization(FeatureSet="ALL")
        member = org.create_account(Email="pay@acme.com", AccountName="acme-payments",
                                    Tags=[{"Key": "env", "Value": "prod"}])["CreateAccountStatus"]["AccountId"]
        iam = aws_moto.client(url, "iam")
        iam.create_user(UserName="una", Tags=[{"Key": "email", "Value": "una@acme.com"}])
        proxy.throttle_tags_of = member
        yield proxy, member
    finally:
        proxy.shutdown()


def collect(endpoint: str, monkeypatch: pytest.MonkeyPatch, **aws):
    config = parse_config(f"""
[tiers.production]
aws_account_tags = {{ env = "prod" }}
[sources.aws]
endpoint_url = "{endpoint}"
organization = true
assume_role_name = "OrganizationAccountAccessRole"
max_attempts = 1
{chr(10).join(f"{k} = {json.dumps(v)}" for k, v in aws.items())}
""")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return AwsConnector(config.sources.aws, config=config).collect(lambda _: None)


def test_throttling_is_retried_a_bounded_number_of_times_then_becomes_a_gap(setup, monkeypatch):
    proxy, member = setup
    result = collect(proxy.url, monkeypatch)
    (gap,) = [g for g in result.gaps if g.resource == f"aws:account:{member}"]
    assert gap.reason == ("account tags unreadable: TooManyRequestsException (HTTP 400) on "
                          "organizations:ListTagsForResource after 2 attempts")
    assert "tier given by account tags" in gap.hides
    assert proxy.seen["tags"] == 2  # max_attempts = 1 retry: two requests, no more
    # the account is still read; without its tags its tier cannot come from them
    account = next(r for r in result.resources if r.id == member)
    assert account.tier == "unclassified"
    assert any(p.home == account.key for p in result.principals)


def test_a_throttled_call_that_succeeds_on_retry_leaves_no_gap(setup, monkeypatch):
    proxy, member = setup
    with proxy.lock:
        proxy.seen.clear()
    result = collect(proxy.url, monkeypatch)
    assert proxy.seen["iam-snapshot"] >= 2  # the first snapshot request was throttled, then retried
    assert not [g for g in result.gaps if "GetAccountAuthorizationDetails" in g.reason]
    assert "aws:arn:aws:iam::123456789012:user/una" in {p.key for p in result.principals}
    assert result.stats["retries"] >= 1 and result.stats["requests"] > result.stats["retries"]


def test_an_unreachable_endpoint_is_one_clear_error(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(SourceError, match=rf"^cannot reach 127.0.0.1:{port} \(connection refused\) on sts:GetCallerIdentity$"):
        collect(f"http://127.0.0.1:{port}", monkeypatch)
