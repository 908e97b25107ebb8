"""The AWS connector: `[sources.aws]` read with boto3 (`fetch.py`), then translated (`translate.py`).

Credentials come from the profile named in the config or boto3's default chain; nothing
is written to AWS and no credential is kept.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound
from botocore.parsers import ResponseParserError

from ...config import AwsSource, Config
from ...errors import SourceError
from ...model import Gap, SourceResult
from ..base import Progress, ProgressEvent, Secrets, Stopwatch, utcnow
from .api import THROTTLED, Clients, MalformedResponse, RequestCounter, describe_failure
from .fetch import ACCOUNT_WORKERS, Fetcher
from .reads import SYSTEM, AccountRead
from .translate import translate


class AwsConnector:
    """`[sources.aws]`: IAM, Organizations SCPs and IAM Identity Center, decided by the catalogue."""

    name = "aws"

    def __init__(self, section: AwsSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()  # the session's keys and token, and each assumed role's
        self.secrets.add_url(section.endpoint_url)

    def collect(self, progress: Progress) -> SourceResult:
        started = utcnow()
        watch = Stopwatch()
        counter = RequestCounter()
        try:
            session = boto3.Session(profile_name=self.section.profile or None, region_name=self.section.region)
        except ProfileNotFound:
            raise SourceError(f"AWS profile {self.section.profile!r} not found; fix [sources.aws] profile "
                              "or the AWS config files") from None
        self.secrets.add(*_credential_values(session))  # resolved here, in one thread
        self.secrets.watch(lambda: _credential_values(session))  # refreshable credentials change
        base = Clients(session, self.section, counter)
        try:
            caller = base("sts").get_caller_identity()
        except NoCredentialsError:
            raise SourceError("no AWS credentials found: set AWS_PROFILE or [sources.aws] profile, or the "
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables") from None
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            what = "AWS could not answer" if status >= 500 or error in THROTTLED else "AWS rejected the credentials"
            raise SourceError(f"{what}: {describe_failure(exc, 'sts:GetCallerIdentity')}") from None
        except (BotoCoreError, ResponseParserError) as exc:
            described = describe_failure(exc, "sts:GetCallerIdentity")
            if described.startswith("cannot reach "):  # names the host and the cause already
                raise SourceError(described) from None
            where = f" at {self.secrets.scrub(self.section.endpoint_url)}" if self.section.endpoint_url else ""
            what = ("no usable answer from AWS" if isinstance(exc, (MalformedResponse, ResponseParserError))
                    else "cannot reach AWS")
            raise SourceError(f"{what}{where}: {described}") from None
        caller_account = caller["Account"]
        partition = caller["Arn"].split(":")[1] or "aws"
        gaps: list[Gap] = []

        fetcher = Fetcher(self.section, self.name, self.secrets)
        accounts = fetcher.accounts(base, caller_account, gaps, progress)
        total = len(accounts)
        done = [0]
        lock = threading.Lock()

        def read(account: AccountRead) -> None:
            clients = base if account.id == caller_account else fetcher.assume(base, account, partition)
            if clients is not None:
                fetcher.read_iam(clients, account)
            with lock:
                done[0] += 1
                progress(ProgressEvent(self.name, f"read account {account.name or account.id}", done[0], total))

        with ThreadPoolExecutor(max_workers=max(1, min(ACCOUNT_WORKERS, total)),
                                thread_name_prefix="aws-account") as pool:
            list(pool.map(read, accounts))

        sso = fetcher.identity_center(base, accounts, gaps, progress)
        progress(ProgressEvent(self.name, "deciding capabilities"))
        result = translate(accounts, sso, config=self.config, source=self.section, partition=partition)
        for gap in gaps:
            result.gap(gap)
        watch.requests = counter.attempts
        watch.retries = max(0, counter.attempts - counter.calls)
        watch.max_in_flight = min(ACCOUNT_WORKERS, max(1, total))
        stats = {**watch.as_stats(), "accounts": total,
                 "accounts_read": sum(1 for a in accounts if a.iam is not None)}
        return result.result(self.name, SYSTEM, started_at=started, finished_at=utcnow(), stats=stats)


def _credential_values(session: boto3.Session) -> tuple[str | None, ...]:
    """The key id, secret key and session token boto3's chain found (read again: they may refresh)."""
    try:
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except BotoCoreError:  # no usable credentials: the first call says so
        return ()
    return (frozen.access_key, frozen.secret_key, frozen.token) if frozen is not None else ()
