"""The AWS connector: `[sources.aws]` read with boto3 (`fetch.py`), then translated (`translate.py`).

Credentials come from the profile named in the config or boto3's default chain; nothing
is written to AWS and no credential is kept.
"""

from __future__ import annotations

import threading
from typing import Any
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound
from botocore.parsers import ResponseParserError

from ...activity import HIDES_DEPLOYMENTS, ActivityPeriod
from ...config import AwsSource, Config
from ...errors import SourceError
from ...model import DEPLOY_RUN, EdgeKind, Gap, SourceResult
from ..base import Progress, ProgressEvent, Secrets, SourceBuilder, Stopwatch, utcnow
from .activity import ActivityReader
from .api import THROTTLED, Clients, MalformedResponse, RequestCounter, describe_failure
from .break_glass import Declared, assignment_events, read_assignments, read_sessions, role_arns, use_events
from .capabilities import load_catalogue
from .fetch import ACCOUNT_WORKERS, Fetcher
from .reads import SYSTEM, AccountRead, SsoRead
from .translate import translate
from .usage import audit_events, lookups, role_last_used, service_last_used, web_identity_sessions

PRODUCTION = "production"


class AwsConnector:
    """`[sources.aws]`: IAM, Organizations SCPs and IAM Identity Center, decided by the catalogue."""

    name = "aws"

    def __init__(self, section: AwsSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()  # the session's keys and token, and each assumed role's
        self.secrets.add_url(section.endpoint_url)

    def collect(self, progress: Progress, *, period: ActivityPeriod | None = None) -> SourceResult:
        started = utcnow()
        self._watch = watch = Stopwatch()
        self._counter = counter = RequestCounter()
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

        clients_of: dict[str, Clients] = {}

        def read(account: AccountRead) -> None:
            clients = base if account.id == caller_account else fetcher.assume(base, account, partition)
            if clients is not None:
                with lock:
                    clients_of[account.id] = clients
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
        if period is not None:
            self._activity(result, accounts, clients_of, sso, period, progress, caller_account)
        watch.max_in_flight = min(ACCOUNT_WORKERS, max(1, total))
        stats = {**self.stats(), "accounts": total, "accounts_read": sum(1 for a in accounts if a.iam is not None)}
        return result.result(self.name, SYSTEM, started_at=started, finished_at=utcnow(), stats=stats, period=period)

    def stats(self) -> dict[str, Any]:
        """Requests sent (botocore's retries included), retries, and pages: each answered call is one
        page of a list or one object. AWS has no points budget, only throttling (retried)."""
        watch, counter = self._watch, self._counter
        watch.requests = counter.attempts
        watch.retries = max(0, counter.attempts - counter.calls)
        watch.pages = counter.calls
        return watch.as_stats()

    def _activity(self, result: SourceBuilder, accounts: list[AccountRead], clients_of: dict[str, Clients],
                  sso: SsoRead | None, period: ActivityPeriod, progress: Progress, caller_account: str = "") -> None:
        """CloudTrail deploy events and last use in the production accounts that could be read."""
        catalogue = load_catalogue()
        actions = lookups(a for way in catalogue.for_capability(DEPLOY_RUN) for a in way.actions)
        reader = ActivityReader(self.section, period, actions, progress, self.name)
        sso_users = {str(p.attrs.get("user_name", "")).lower(): p.key for p in result.principals.values()
                     if p.key.startswith(f"{SYSTEM}:sso:") and p.attrs.get("user_name")}
        wanted = [a for a in accounts if a.id in clients_of and a.iam is not None
                  and getattr(result.resources.get(a.key), "tier", "") == PRODUCTION]
        unread = [a for a in accounts if a not in wanted
                  and getattr(result.resources.get(a.key), "tier", "") == PRODUCTION]
        for account in unread:
            result.gap(Gap(SYSTEM, account.key, "activity not read: the account's IAM could not be read (see its "
                           "other gaps)", f"{HIDES_DEPLOYMENTS}, and last use of its grants",
                           about="activity"))
        held: dict[str, set[str]] = {a.key: set() for a in wanted}
        for grant in result.grants.values():
            if grant.resource in held and grant.capabilities and ":iam::" in grant.principal:
                held[grant.resource].add(grant.principal.split(":", 1)[1])  # IAM users, groups and roles
        for edge in result.edges.values():  # a group's members: its report names only the last of them
            group = edge.dst.split(":", 1)[1]
            if edge.kind == EdgeKind.MEMBER_OF and ":group/" in group and ":user/" in edge.src:
                for arns in held.values():
                    if group in arns:
                        arns.add(edge.src.split(":", 1)[1])

        declared = Declared.of(self.config)

        def one(account: AccountRead) -> None:
            reader.announce(account)
            read = reader.read(clients_of[account.id], account, sorted(held[account.key]))
            sessions = web_identity_sessions(read.records)
            records = audit_events(read.records, actions, sso_users=sso_users, sessions=sessions, account=account.id)
            if declared:  # uses of declared break-glass roles, and what their sessions did
                found = read_sessions(reader, clients_of[account.id], account.id,
                                      role_arns(result.principals.values(), account.id, declared))
                records += use_events(found, account.id, sso_users)
                read.gaps.extend(found.gaps)
            last = [u for arn, (services, reported) in sorted(read.services.items())
                    for u in service_last_used(arn, account.id, services, reported)]
            last += [role_last_used(arn, account.id, found, via=via) for arn, (found, via) in sorted(read.roles.items())]
            with lock:
                for record in [*records, *last]:
                    result.activity(record)
                for gap in read.gaps:
                    result.gap(gap)

        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=max(1, min(ACCOUNT_WORKERS, len(wanted))),
                                thread_name_prefix="aws-activity") as pool:
            list(pool.map(one, wanted))
        if self.config.just_in_time.aws_permission_sets and caller_account in clients_of:
            # when the access-request system made each assignment: its expiry is that plus max_duration
            found, gaps = read_assignments(reader, clients_of[caller_account], caller_account)
            for record in assignment_events(found, caller_account):
                result.activity(record)
            for gap in gaps:
                result.gap(gap)


def _credential_values(session: boto3.Session) -> tuple[str | None, ...]:
    """The key id, secret key and session token boto3's chain found (read again: they may refresh)."""
    try:
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except BotoCoreError:  # no usable credentials: the first call says so
        return ()
    return (frozen.access_key, frozen.secret_key, frozen.token) if frozen is not None else ()
