"""CloudTrail LookupEvents and IAM Access Advisor on loopback, in front of moto (which has neither).

boto3 reaches this server through its ordinary ``endpoint_url``: it answers CloudTrail's
JSON 1.1 ``LookupEvents`` (``X-Amz-Target``) and IAM's query-protocol
``GenerateServiceLastAccessedDetails`` / ``GetServiceLastAccessedDetails`` (XML) itself, and
forwards every other request, byte for byte and with its signature, to moto's server. It
learns which account a set of credentials belongs to from the STS answers it forwards
(``GetCallerIdentity``, ``AssumeRole``), so events and denials are per account.

Paging: ``NextToken`` (CloudTrail, at most ``MaxResults`` ≤ 50 and at most ``page_size``),
``Marker``/``IsTruncated`` (IAM). Errors the real services send: ``AccessDeniedException``,
``ThrottlingException``, ``InvalidLookupAttributesException`` (more than one attribute),
``InvalidNextTokenException`` (CloudTrail); lookups by ``EventName``, ``EventSource``, ``ReadOnly``,
``Username``, ``AccessKeyId``, ``EventId`` and ``ResourceName``; ``AccessDenied``, ``Throttling``,
``NoSuchEntity`` (IAM, XML ``ErrorResponse``). Access Advisor jobs answer ``IN_PROGRESS``
``polls`` times before ``COMPLETED``, and only to the credentials that generated them.
tests/connectors/test_aws_activity.py checks every shape against botocore's service models.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

CLOUDTRAIL_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
ADVISOR = ("GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails")
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_XML_TAG = re.compile(r"<(AccessKeyId|Arn|Account)>([^<]*)</\1>")


# ---------------------------------------------------------------- CloudTrail records, as AWS writes them


def iso(when: str) -> str:
    return when if when.endswith("Z") else when + "Z"


def epoch(when: str) -> float:
    return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()


def identity_iam_user(account: str, name: str, key: str = "AKIAEXAMPLEUSER0001") -> dict[str, Any]:
    return {"type": "IAMUser", "principalId": f"AIDA{name.upper()[:12]:0<12}", "accountId": account,
            "arn": f"arn:aws:iam::{account}:user/{name}", "accessKeyId": key, "userName": name}


def identity_role_session(account: str, role: str, session: str, *, path: str = "/", key: str = "ASIAEXAMPLE00000001",
                          source_identity: str = "", web_identity: bool = False) -> dict[str, Any]:
    """An assumed-role session, as CloudTrail's userIdentity shows it."""
    context: dict[str, Any] = {
        "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLE00001", "accountId": account,
                          "arn": f"arn:aws:iam::{account}:role{path}{role}", "userName": role},
        "attributes": {"creationDate": "2026-10-01T00:00:00Z", "mfaAuthenticated": "false"},
    }
    if web_identity:
        context["webIdFederationData"] = {
            "federatedProvider": f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com",
            "attributes": {}}
    if source_identity:
        context["sourceIdentity"] = source_identity
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLEROLE00001:{session}", "accountId": account,
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}", "accessKeyId": key,
            "sessionContext": context}


def cloudtrail_event(*, event_id: str, at: str, source: str, name: str, account: str, region: str,
                     identity: dict[str, Any], request: dict[str, Any] | None = None,
                     response: dict[str, Any] | None = None, error: str = "", read_only: bool = False,
                     resources: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """One CloudTrail record (the CloudTrailEvent document), in the shape CloudTrail writes."""
    record: dict[str, Any] = {
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": iso(at), "eventSource": source,
        "eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0", "requestParameters": request, "responseElements": response,
        "requestID": str(uuid.uuid5(uuid.NAMESPACE_URL, event_id)), "eventID": event_id, "readOnly": read_only,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"] = error
        record["errorMessage"] = "User is not authorized to perform this operation"
    if resources:
        record["resources"] = resources
    return record


def web_identity_event(*, event_id: str, at: str, account: str, region: str, role: str, subject: str,
                       key: str, session: str = "GitHubActions") -> dict[str, Any]:
    """sts:AssumeRoleWithWebIdentity by a GitHub Actions job, in the role's account."""
    provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    return cloudtrail_event(
        event_id=event_id, at=at, source="sts.amazonaws.com", name="AssumeRoleWithWebIdentity", account=account,
        region=region,
        identity={"type": "WebIdentityUser", "principalId": f"{provider}:sts.amazonaws.com:{subject}",
                  "userName": subject, "identityProvider": provider},
        request={"roleArn": f"arn:aws:iam::{account}:role/{role}", "roleSessionName": session},
        response={"credentials": {"accessKeyId": key, "expiration": "Oct 1, 2026, 1:00:00 AM",
                                  "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                  "subjectFromWebIdentityToken": subject, "audience": "sts.amazonaws.com",
                  "assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLEROLE00001:{session}",
                                      "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}"},
                  "provider": provider})


def lookup_entry(record: dict[str, Any]) -> dict[str, Any]:
    """A record as LookupEvents lists it: summary fields and the record as a JSON string."""
    identity = record.get("userIdentity") or {}
    username = identity.get("userName") or (identity.get("sessionContext") or {}).get("sessionIssuer", {}).get(
        "userName", "")
    if identity.get("type") == "AssumedRole":
        username = identity.get("arn", "").rsplit("/", 1)[-1]
    entry = {"EventId": record["eventID"], "EventName": record["eventName"],
             "ReadOnly": "true" if record.get("readOnly") else "false",
             "EventTime": epoch(record["eventTime"]), "EventSource": record["eventSource"],
             "Username": username, "CloudTrailEvent": json.dumps(record)}
    if identity.get("accessKeyId"):
        entry["AccessKeyId"] = identity["accessKeyId"]
    entry["Resources"] = [{"ResourceType": r.get("type", ""), "ResourceName": r.get("ARN", "")}
                          for r in record.get("resources", [])]
    return entry


def service(namespace: str, name: str, last: str | None = None, entity: str = "", region: str = "us-east-1"
            ) -> dict[str, Any]:
    """One ServicesLastAccessed entry (``last`` None: allowed but not used in the tracking period)."""
    out: dict[str, Any] = {"ServiceName": name, "ServiceNamespace": namespace}
    if last:
        out.update(LastAuthenticated=iso(last), LastAuthenticatedEntity=entity, LastAuthenticatedRegion=region,
                   TotalAuthenticatedEntities=1)
    else:
        out["TotalAuthenticatedEntities"] = 0
    return out


# ---------------------------------------------------------------- the server


@dataclass
class Fault:
    """The ``nth`` (1-based) matching call and ``times`` in all fail with ``code`` (None: ever after)."""

    operation: str  # "LookupEvents", "GenerateServiceLastAccessedDetails", ...
    code: str  # AccessDeniedException, ThrottlingException (CloudTrail); AccessDenied, Throttling (IAM)
    account: str = "*"
    times: int | None = 1
    nth: int = 1
    seen: int = 0
    fired: int = 0

    def claims(self, operation: str, account: str) -> bool:
        if self.operation != operation or self.account not in ("*", account):
            return False
        self.seen += 1
        if self.seen >= self.nth and (self.times is None or self.fired < self.times):
            self.fired += 1
            return True
        return False


@dataclass
class Job:
    arn: str
    owner: str  # the access key that generated it
    created: str
    polls: int
    granularity: str


@dataclass
class Call:
    operation: str
    account: str
    region: str
    params: dict[str, Any] = field(default_factory=dict)


class AwsActivityFake:
    """Start with `start()`, point boto3 at `url`; `upstream` is moto's server."""

    def __init__(self, upstream: str, *, page_size: int = 2, polls: int = 1):
        self.upstream = urlsplit(upstream)
        self.page_size = page_size
        self.polls = polls
        self.events: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (account, region) -> records
        self.advisor: dict[str, list[dict[str, Any]]] = {}  # principal ARN -> ServicesLastAccessed
        self.failed_jobs: dict[str, str] = {}  # principal ARN -> error code the job fails with
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.responses: list[tuple[str, int, bytes]] = []  # (operation, status, body) of what it answered
        self.accounts: dict[str, str] = {}  # access key id -> account, learned from STS answers
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control

    def add_events(self, account: str, region: str, *records: dict[str, Any]) -> None:
        self.events.setdefault((account, region), []).extend(records)

    def fail(self, operation: str, code: str, *, account: str = "*", times: int | None = 1, nth: int = 1) -> Fault:
        fault = Fault(operation, code, account, times, nth)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.calls.clear()
            self.responses.clear()
            self.jobs.clear()

    def called(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    def start(self) -> "AwsActivityFake":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave in separate writes

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-aws-activity", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- HTTP

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        credential = _CREDENTIAL.search(handler.headers.get("authorization", ""))
        key, region, signing = credential.groups() if credential else ("", "", "")
        target = handler.headers.get("x-amz-target", "")
        form = parse_qs(body.decode("utf-8", "replace")) if signing == "iam" else {}
        action = (form.get("Action") or [""])[0]
        try:
            if target.startswith(CLOUDTRAIL_TARGET):
                self._cloudtrail(handler, target.removeprefix(CLOUDTRAIL_TARGET), body, key, region)
            elif action in ADVISOR:
                self._advisor(handler, action, {k: v[0] for k, v in form.items()}, key, region)
            else:
                self._forward(handler, body, key, signing, form)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, handler: BaseHTTPRequestHandler, operation: str, status: int, body: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        with self._lock:
            self.responses.append((operation, status, body))
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (extra or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes, key: str, signing: str,
                 form: dict[str, list[str]]) -> None:
        """Everything else goes to moto as it came (the signature covers the Host header, kept as is)."""
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items()}
            connection.request(handler.command, handler.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            status, reply_headers = answer.status, answer.getheaders()
        finally:
            connection.close()
        if signing == "sts" and status == 200:
            self._learn(key, data)
        handler.send_response(status)
        for name, value in reply_headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()

    def _learn(self, key: str, data: bytes) -> None:
        found = dict(_XML_TAG.findall(data.decode("utf-8", "replace")))
        with self._lock:
            if "Account" in found and key:  # GetCallerIdentity: the caller's own key
                self.accounts.setdefault(key, found["Account"])
            if "AccessKeyId" in found and "Arn" in found:  # AssumeRole*: the new session's key
                self.accounts[found["AccessKeyId"]] = found["Arn"].split(":")[4]

    def _account(self, key: str) -> str:
        with self._lock:
            return self.accounts.get(key, "")

    def _fault(self, operation: str, account: str) -> Fault | None:
        with self._lock:
            return next((f for f in self.faults if f.claims(operation, account)), None)

    # -- CloudTrail (JSON 1.1)

    def _cloudtrail_error(self, handler: BaseHTTPRequestHandler, code: str, message: str, status: int = 400) -> None:
        body = json.dumps({"__type": code, "message": message}).encode()
        self._send(handler, "LookupEvents", status, body, "application/x-amz-json-1.1", {"x-amzn-ErrorType": code})

    def _cloudtrail(self, handler: BaseHTTPRequestHandler, operation: str, body: bytes, key: str, region: str) -> None:
        account = self._account(key)
        params = json.loads(body or b"{}")
        with self._lock:
            self.calls.append(Call(operation, account, region, params))
        if operation != "LookupEvents":
            self._cloudtrail_error(handler, "UnknownOperationException", f"{operation} is not served here")
            return
        fault = self._fault(operation, account)
        if fault is not None:
            message = (f"User: arn:aws:iam::{account}:user/x is not authorized to perform: cloudtrail:LookupEvents"
                       if fault.code.startswith("AccessDenied") else "Rate exceeded")
            self._cloudtrail_error(handler, fault.code, message)
            return
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            self._cloudtrail_error(handler, "InvalidLookupAttributesException",
                                   "You cannot specify more than one lookup attribute.")
            return
        size = int(params.get("MaxResults") or 50)
        if not 1 <= size <= 50:
            self._cloudtrail_error(handler, "InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
            return
        start, end = params.get("StartTime"), params.get("EndTime")
        if start is not None and end is not None and start > end:
            self._cloudtrail_error(handler, "InvalidTimeRangeException", "StartTime is after EndTime.")
            return
        records = [r for r in self.events.get((account, region), []) if _matches(r, attributes)
                   and (start is None or epoch(r["eventTime"]) >= start) and (end is None or epoch(r["eventTime"]) <= end)]
        records.sort(key=lambda r: (r["eventTime"], r["eventID"]), reverse=True)  # the most recent first
        # The token binds the query it continues, as CloudTrail's does.
        query = json.dumps([attributes, start, end], sort_keys=True)
        offset = 0
        if params.get("NextToken"):
            try:
                bound, offset = json.loads(params["NextToken"])
            except (ValueError, TypeError):
                bound = None
            if bound != query:
                self._cloudtrail_error(handler, "InvalidNextTokenException", "Invalid NextToken.")
                return
        size = min(size, self.page_size)
        page = records[offset:offset + size]
        out: dict[str, Any] = {"Events": [lookup_entry(r) for r in page]}
        if offset + size < len(records):
            out["NextToken"] = json.dumps([query, offset + size])
        self._send(handler, operation, 200, json.dumps(out).encode(), "application/x-amz-json-1.1")

    # -- IAM Access Advisor (query protocol, XML)

    def _iam_error(self, handler: BaseHTTPRequestHandler, operation: str, code: str, message: str, status: int) -> None:
        body = (f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
                f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
                "</ErrorResponse>").encode()
        self._send(handler, operation, status, body, "text/xml")

    def _iam_answer(self, handler: BaseHTTPRequestHandler, operation: str, result: str) -> None:
        body = (f'<{operation}Response xmlns="{IAM_NS}"><{operation}Result>{result}</{operation}Result>'
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                f"</{operation}Response>").encode()
        self._send(handler, operation, 200, body, "text/xml")

    def _advisor(self, handler: BaseHTTPRequestHandler, operation: str, params: dict[str, str], key: str,
                 region: str) -> None:
        account = self._account(key)
        with self._lock:
            self.calls.append(Call(operation, account, region, params))
        fault = self._fault(operation, account)
        if fault is not None:
            status = 403 if fault.code == "AccessDenied" else 400
            message = (f"User: arn:aws:iam::{account}:user/x is not authorized to perform: iam:{operation}"
                       if fault.code == "AccessDenied" else "Rate exceeded")
            self._iam_error(handler, operation, fault.code, message, status)
            return
        if operation == "GenerateServiceLastAccessedDetails":
            arn = params.get("Arn", "")
            if arn.split(":")[4:5] != [account] or (arn not in self.advisor and arn not in self.failed_jobs):
                self._iam_error(handler, operation, "NoSuchEntity", f"The entity {arn} cannot be found.", 404)
                return
            job_id = str(uuid.uuid4())
            with self._lock:
                self.jobs[job_id] = Job(arn, key, _now(), self.polls, params.get("Granularity", "SERVICE_LEVEL"))
            self._iam_answer(handler, operation, f"<JobId>{job_id}</JobId>")
            return
        job = self.jobs.get(params.get("JobId", ""))
        if job is None or job.owner != key:  # a job answers only the credentials that generated it
            self._iam_error(handler, operation, "NoSuchEntity", f"Job {params.get('JobId')} not found.", 404)
            return
        head = f"<JobType>{job.granularity}</JobType><JobCreationDate>{job.created}</JobCreationDate>"
        with self._lock:
            waiting = job.polls > 0
            job.polls -= 1
        if waiting:
            self._iam_answer(handler, operation, f"<JobStatus>IN_PROGRESS</JobStatus>{head}"
                             "<ServicesLastAccessed/><IsTruncated>false</IsTruncated>")
            return
        if job.arn in self.failed_jobs:
            code = self.failed_jobs[job.arn]
            self._iam_answer(handler, operation, f"<JobStatus>FAILED</JobStatus>{head}<JobCompletionDate>{_now()}"
                             f"</JobCompletionDate><ServicesLastAccessed/><IsTruncated>false</IsTruncated>"
                             f"<Error><Message>report failed</Message><Code>{code}</Code></Error>")
            return
        services = sorted(self.advisor[job.arn], key=lambda s: s["ServiceNamespace"])
        size = min(int(params.get("MaxItems") or 100), self.page_size)
        offset = int(params.get("Marker") or 0)
        page = services[offset:offset + size]
        members = "".join("<member>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in s.items()) + "</member>"
                          for s in page)
        more = offset + size < len(services)
        tail = f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>" + (
            f"<Marker>{offset + size}</Marker>" if more else "")
        self._iam_answer(handler, operation, f"<JobStatus>COMPLETED</JobStatus>{head}<JobCompletionDate>{_now()}"
                         f"</JobCompletionDate><ServicesLastAccessed>{members}</ServicesLastAccessed>{tail}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _matches(record: dict[str, Any], attributes: list[dict[str, str]]) -> bool:
    for attribute in attributes:
        key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
        entry = lookup_entry(record)
        if key == "EventName" and record["eventName"] != value:
            return False
        if key == "EventSource" and record["eventSource"] != value:
            return False
        if key == "ReadOnly" and entry["ReadOnly"] != value:
            return False
        if key in ("Username", "AccessKeyId", "EventId") and entry.get(key) != value:
            return False
        if key == "ResourceName" and value not in {r["ResourceName"] for r in entry["Resources"]}:
            return False
    return True
