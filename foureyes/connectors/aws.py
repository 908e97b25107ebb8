"""The AWS connector: reads accounts, IAM, SCPs and IAM Identity Center with boto3, read-only.
Fetching only; `aws_translate` turns what was read into principals, grants, edges and gaps.

One account with the default credential chain, or an AWS Organization: list its accounts
and assume a read-only role in each. Failures (AccessDenied, throttling, 5xx, resets and
timeouts after botocore's bounded retries, malformed or cut-off answers) become Gaps on the
account they concern; an account that could not be read is never reported as an empty one.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
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
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from ..config import AwsSource, Config
from ..errors import SourceError
from ..model import Gap, SourceResult
from .aws_translate import (
    SSO_ROLE_PATH,
    SYSTEM,
    AccountRead,
    PermissionSetRead,
    SsoRead,
    sso_role_permission_set,
    translate,
)
from .base import Progress, ProgressEvent, Stopwatch, utcnow

T = TypeVar("T")
SESSION_NAME = "foureyes-audit"
ACCOUNT_WORKERS = 8
_ALL_ACCOUNTS = "every IAM user, group and role of this account and what they can do"


class _Failed(Exception):
    """A read failed; ``reason`` is safe to show (error code and operation, never a credential)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MalformedResponse(BotoCoreError):
    """An answer cut short of its Content-Length, or a JSON answer that does not parse."""

    fmt = "{problem}"


# ResponseParserError is not a BotoCoreError; its message quotes the body (AssumeRole's holds a secret key).
_READ_ERRORS = (ClientError, BotoCoreError, ResponseParserError)
_THROTTLED = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")
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


class _Counter:
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
class _Clients:
    """boto3 clients of one session, built once and shared (clients are thread-safe; sessions are not)."""

    session: boto3.Session
    source: AwsSource
    counter: _Counter
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, Any] = field(default_factory=dict)

    def __call__(self, service: str) -> Any:
        with self.lock:
            client = self.cache.get(service)
            if client is None:
                client = self.session.client(
                    service,
                    region_name=self.source.region,
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
                self.cache[service] = client
            return client


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paginated list call, through boto3's paginator."""
    out: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except _READ_ERRORS as exc:
        raise _Failed(describe_failure(exc, what)) from None


class AwsConnector:
    """`[sources.aws]`: IAM, Organizations SCPs and IAM Identity Center, decided by the catalogue."""

    name = "aws"

    def __init__(self, section: AwsSource, *, config: Config):
        self.section = section
        self.config = config

    # -- entry point ----------------------------------------------------------

    def collect(self, progress: Progress) -> SourceResult:
        started = utcnow()
        watch = Stopwatch()
        counter = _Counter()
        try:
            session = boto3.Session(profile_name=self.section.profile or None, region_name=self.section.region)
        except ProfileNotFound:
            raise SourceError(f"AWS profile {self.section.profile!r} not found; fix [sources.aws] profile "
                              "or the AWS config files") from None
        base = _Clients(session, self.section, counter)
        try:
            caller = base("sts").get_caller_identity()
        except NoCredentialsError:
            raise SourceError("no AWS credentials found: set AWS_PROFILE or [sources.aws] profile, or the "
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables") from None
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            what = "AWS could not answer" if status >= 500 or error in _THROTTLED else "AWS rejected the credentials"
            raise SourceError(f"{what}: {describe_failure(exc, 'sts:GetCallerIdentity')}") from None
        except (BotoCoreError, ResponseParserError) as exc:
            where = f" at {self.section.endpoint_url}" if self.section.endpoint_url else ""
            what = ("no usable answer from AWS" if isinstance(exc, (MalformedResponse, ResponseParserError))
                    else "cannot reach AWS")
            raise SourceError(f"{what}{where}: {describe_failure(exc, 'sts:GetCallerIdentity')}") from None
        caller_account = caller["Account"]
        partition = caller["Arn"].split(":")[1] or "aws"
        gaps: list[Gap] = []

        accounts = self._accounts(base, caller_account, gaps, progress)
        total = len(accounts)
        done = [0]
        lock = threading.Lock()

        def read(account: AccountRead) -> None:
            clients = base if account.id == caller_account else self._assume(base, account, partition)
            if clients is not None:
                self._read_iam(clients, account)
            with lock:
                done[0] += 1
                progress(ProgressEvent(self.name, f"read account {account.name or account.id}", done[0], total))

        with ThreadPoolExecutor(max_workers=max(1, min(ACCOUNT_WORKERS, total)),
                                thread_name_prefix="aws-account") as pool:
            list(pool.map(read, accounts))

        sso = self._sso(base, accounts, gaps, progress)
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

    # -- accounts ---------------------------------------------------------------

    def _accounts(self, base: _Clients, caller_account: str, gaps: list[Gap], progress: Progress) -> list[AccountRead]:
        wanted = set(self.section.accounts)
        if self.section.organization:
            try:
                return self._organization(base, caller_account, wanted, progress)
            except _Failed as failed:
                gaps.append(Gap(SYSTEM, "", f"could not list the organization's accounts: {failed.reason}",
                                "every other account of the organization and the SCPs that apply"))
                return [AccountRead(id=caller_account)]
        ids = sorted(wanted) if wanted else [caller_account]
        return [AccountRead(id=i) for i in ids]

    def _organization(self, base: _Clients, caller_account: str, wanted: set[str],
                      progress: Progress) -> list[AccountRead]:
        org = base("organizations")
        progress(ProgressEvent(self.name, "listing the organization's accounts"))
        organization = _call("organizations:DescribeOrganization", org.describe_organization)["Organization"]
        management = organization.get("MasterAccountId", "")
        roots = _call("organizations:ListRoots", lambda: _pages(org, "list_roots", "Roots"))
        root = roots[0] if roots else {}
        types = root.get("PolicyTypes") or []
        scp_type = next((t for t in types if t.get("Type") == "SERVICE_CONTROL_POLICY"), None)
        # A root that does not list the type: read what is attached anyway. AWS detaches every
        # SCP when the type is disabled, and the translation ignores SCPs when none is attached.
        scps_enabled = scp_type is None or scp_type.get("Status") == "ENABLED"
        listed = _call("organizations:ListAccounts", lambda: _pages(org, "list_accounts", "Accounts"))
        names: dict[str, str] = {}
        policies: dict[str, tuple[str, str, Any]] = {}
        attached: dict[str, list[str]] = {}
        lock = threading.Lock()

        def name_of(target: str, kind: str) -> str:
            with lock:
                if target in names:
                    return names[target]
            if kind == "ROOT":
                name = root.get("Name", "Root") if root.get("Id") == target else target
            else:
                name = _call("organizations:DescribeOrganizationalUnit", lambda: org.describe_organizational_unit(
                    OrganizationalUnitId=target))["OrganizationalUnit"].get("Name", target)
            with lock:
                names[target] = name
            return name

        def scps_of(target: str) -> list[tuple[str, str, Any]]:
            with lock:
                ids = attached.get(target)
            if ids is None:
                found = _call("organizations:ListPoliciesForTarget", lambda: _pages(
                    org, "list_policies_for_target", "Policies", TargetId=target, Filter="SERVICE_CONTROL_POLICY"))
                ids = [p["Id"] for p in found]
                with lock:
                    attached[target] = ids
            out = []
            for policy_id in ids:
                with lock:
                    known = policies.get(policy_id)
                if known is None:
                    described = _call("organizations:DescribePolicy",
                                      lambda: org.describe_policy(PolicyId=policy_id))["Policy"]
                    known = (policy_id, described["PolicySummary"].get("Name", policy_id), described["Content"])
                    with lock:
                        policies[policy_id] = known
                out.append(known)
            return out

        def account(item: dict[str, Any]) -> AccountRead:
            read = AccountRead(id=item["Id"], name=item.get("Name", ""), management=item["Id"] == management,
                               organization_id=organization.get("Id", ""))
            try:
                read.tags = {t["Key"]: t["Value"] for t in _call("organizations:ListTagsForResource", lambda: _pages(
                    org, "list_tags_for_resource", "Tags", ResourceId=read.id))}
            except _Failed as failed:
                read.gaps.append(Gap(SYSTEM, read.key, f"account tags unreadable: {failed.reason}",
                                     "a tier given by account tags (the account may be in the wrong tier)"))
            try:
                chain: list[tuple[str, str]] = []  # (id, type) from the account up to the root
                child = read.id
                for _ in range(8):  # Organizations nests at most five OUs deep
                    parent = _call("organizations:ListParents", lambda: _pages(
                        org, "list_parents", "Parents", ChildId=child))[0]
                    chain.append((parent["Id"], parent["Type"]))
                    if parent["Type"] == "ROOT":
                        break
                    child = parent["Id"]
                chain.reverse()
                read.ou_path = "/" + "/".join(i for i, _ in chain)
                read.ou_names = "/" + "/".join(name_of(i, kind) for i, kind in chain)
                if scps_enabled and not read.management:
                    levels = [(i, f"{'root' if kind == 'ROOT' else 'OU'} {name_of(i, kind)}") for i, kind in chain]
                    levels.append((read.id, f"account {read.name or read.id}"))
                    read.scps = [scps_of(i) for i, _ in levels]
                    read.scp_levels = [label for _, label in levels]
            except _Failed as failed:
                read.gaps.append(Gap(SYSTEM, read.key, f"organization path or SCPs unreadable: {failed.reason}",
                                     "SCP denies (access is shown as if no SCP applied) and a tier given by OU"))
            return read

        chosen = [a for a in listed if a.get("Status", "ACTIVE") == "ACTIVE" and (not wanted or a["Id"] in wanted)]
        with ThreadPoolExecutor(max_workers=max(1, min(ACCOUNT_WORKERS, len(chosen))),
                                thread_name_prefix="aws-org") as pool:
            return list(pool.map(account, chosen))

    def _assume(self, base: _Clients, account: AccountRead, partition: str) -> _Clients | None:
        role_arn = f"arn:{partition}:iam::{account.id}:role/{self.section.assume_role_name}"
        try:
            creds = base("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        except _READ_ERRORS as exc:
            account.gaps.append(Gap(SYSTEM, account.key,
                                    f"could not assume {role_arn}: {describe_failure(exc, 'sts:AssumeRole')}",
                                    _ALL_ACCOUNTS))
            return None
        # The temporary credentials live only in this session object; they are never stored.
        session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"], region_name=self.section.region)
        return _Clients(session, self.section, base.counter)

    # -- IAM --------------------------------------------------------------------

    def _read_iam(self, clients: _Clients, account: AccountRead) -> None:
        iam = clients("iam")
        merged: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                                        "Policies": []}
        try:
            for page in iam.get_paginator("get_account_authorization_details").paginate():
                for key in merged:
                    merged[key].extend(page.get(key, []))
        except _READ_ERRORS as exc:
            reason = describe_failure(exc, "iam:GetAccountAuthorizationDetails")
            if any(merged.values()):
                account.gaps.append(Gap(SYSTEM, account.key, f"IAM snapshot incomplete: {reason}",
                                        "the users, groups, roles and policies on the pages not read"))
            else:
                account.gaps.append(Gap(SYSTEM, account.key, reason, _ALL_ACCOUNTS))
                return
        account.iam = merged
        self._missing_policies(iam, account)
        self._access_keys(iam, account)

    def _missing_policies(self, iam: Any, account: AccountRead) -> None:
        """Attached or boundary policies whose documents GetAccountAuthorizationDetails left out."""
        known = {p.get("Arn") for p in account.iam["Policies"]}
        wanted: set[str] = set()
        for kind in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
            for detail in account.iam[kind]:
                wanted.update(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies", []) or [])
                boundary = (detail.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
                if boundary:
                    wanted.add(boundary)
        for arn in sorted(wanted - known):
            try:
                policy = _call("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn))["Policy"]
                version = _call("iam:GetPolicyVersion", lambda: iam.get_policy_version(
                    PolicyArn=arn, VersionId=policy["DefaultVersionId"]))["PolicyVersion"]
                account.extra_policies[arn] = (policy.get("PolicyName") or arn.rsplit("/", 1)[-1], version["Document"])
            except _Failed as failed:
                account.gaps.append(Gap(SYSTEM, account.key, f"{failed.reason} for {arn}",
                                        f"what policy {arn.rsplit('/', 1)[-1]} allows"))

    def _access_keys(self, iam: Any, account: AccountRead) -> None:
        keys: dict[str, list[dict[str, Any]]] = {}
        try:
            for user in account.iam["UserDetailList"]:
                name = user["UserName"]
                found = _call("iam:ListAccessKeys", lambda: _pages(iam, "list_access_keys", "AccessKeyMetadata",
                                                                   UserName=name))
                for key in found:
                    last = _call("iam:GetAccessKeyLastUsed", lambda: iam.get_access_key_last_used(
                        AccessKeyId=key["AccessKeyId"])).get("AccessKeyLastUsed", {})
                    key["LastUsedDate"] = last.get("LastUsedDate")
                    key["ServiceName"] = last.get("ServiceName") if last.get("ServiceName") != "N/A" else ""
                keys[name] = found
        except _Failed as failed:
            account.gaps.append(Gap(SYSTEM, account.key, f"access keys unreadable: {failed.reason}",
                                    "access-key age and last use of IAM users (usage evidence, not access)"))
            return
        account.access_keys = keys

    # -- IAM Identity Center ------------------------------------------------------

    def _sso(self, base: _Clients, accounts: list[AccountRead], gaps: list[Gap],
             progress: Progress) -> SsoRead | None:
        admin = base("sso-admin")
        try:
            instances = _call("sso:ListInstances", lambda: _pages(admin, "list_instances", "Instances"))
        except _Failed as failed:
            gaps.append(Gap(SYSTEM, "", f"IAM Identity Center unreadable: {failed.reason}",
                            "Identity Center users, groups and their account assignments"))
            return None
        if not instances:
            return None
        instance = instances[0]
        sso = SsoRead(instance_arn=instance["InstanceArn"], store_id=instance["IdentityStoreId"])
        if len(instances) > 1:
            sso.gaps.append(Gap(SYSTEM, "", f"{len(instances)} Identity Center instances; foureyes reads the first",
                                "assignments made in the other instances"))
        progress(ProgressEvent(self.name, "reading IAM Identity Center"))
        store = base("identitystore")
        try:
            sso.users = _call("identitystore:ListUsers", lambda: _pages(
                store, "list_users", "Users", IdentityStoreId=sso.store_id))
            sso.groups = _call("identitystore:ListGroups", lambda: _pages(
                store, "list_groups", "Groups", IdentityStoreId=sso.store_id))
            for group in sso.groups:
                members = _call("identitystore:ListGroupMemberships", lambda: _pages(
                    store, "list_group_memberships", "GroupMemberships", IdentityStoreId=sso.store_id,
                    GroupId=group["GroupId"]))
                sso.memberships.extend((group["GroupId"], m["MemberId"]["UserId"]) for m in members
                                       if "UserId" in (m.get("MemberId") or {}))
        except _Failed as failed:
            sso.gaps.append(Gap(SYSTEM, "", f"Identity Center users or groups unreadable: {failed.reason}",
                                "people who reach accounts through Identity Center"))
        try:
            for arn in _call("sso:ListPermissionSets", lambda: _pages(
                    admin, "list_permission_sets", "PermissionSets", InstanceArn=sso.instance_arn)):
                described = _call("sso:DescribePermissionSet", lambda: admin.describe_permission_set(
                    InstanceArn=sso.instance_arn, PermissionSetArn=arn))["PermissionSet"]
                sso.permission_sets[arn] = PermissionSetRead(arn=arn, name=described.get("Name", arn),
                                                             description=described.get("Description", ""))
        except _Failed as failed:
            sso.gaps.append(Gap(SYSTEM, "", f"permission sets unreadable: {failed.reason}",
                                "every Identity Center account assignment"))
            return sso

        # Assignments per account and permission set: moto does not track provisioning (reference §5),
        # and provisioned-account lists can lag, so every account in scope is asked.
        def assignments(pair: tuple[AccountRead, PermissionSetRead]) -> list[dict[str, Any]]:
            account, ps = pair
            try:
                return _call("sso:ListAccountAssignments", lambda: _pages(
                    admin, "list_account_assignments", "AccountAssignments", InstanceArn=sso.instance_arn,
                    AccountId=account.id, PermissionSetArn=ps.arn))
            except _Failed as failed:
                sso.gaps.append(Gap(SYSTEM, account.key, f"Identity Center assignments of permission set {ps.name} "
                                    f"unreadable: {failed.reason}", f"who holds permission set {ps.name} here"))
                return []

        pairs = [(a, ps) for a in accounts for ps in sso.permission_sets.values()]
        with ThreadPoolExecutor(max_workers=ACCOUNT_WORKERS, thread_name_prefix="aws-sso") as pool:
            for found in pool.map(assignments, pairs):
                sso.assignments.extend(found)

        # Definitions are needed only where the provisioned role was not seen in the account.
        by_id = {a.id: a for a in accounts}
        needed: dict[str, list[str]] = {}
        for assignment in sso.assignments:
            ps = sso.permission_sets.get(assignment["PermissionSetArn"])
            if ps is not None and ps.name not in _provisioned(by_id.get(assignment["AccountId"])):
                needed.setdefault(ps.arn, []).append(assignment["AccountId"])
        for arn, account_ids in sorted(needed.items()):
            self._permission_set_definition(admin, base("iam"), sso, sso.permission_sets[arn], sorted(set(account_ids)))
        return sso

    def _permission_set_definition(self, admin: Any, iam: Any, sso: SsoRead, ps: PermissionSetRead,
                                   account_ids: list[str]) -> None:
        args = {"InstanceArn": sso.instance_arn, "PermissionSetArn": ps.arn}
        where = [AccountRead(id=i).key for i in account_ids]

        def gap(reason: str, hides: str) -> None:
            sso.gaps.extend(Gap(SYSTEM, key, reason, hides) for key in where)

        try:
            ps.managed = [p["Arn"] for p in _call("sso:ListManagedPoliciesInPermissionSet", lambda: _pages(
                admin, "list_managed_policies_in_permission_set", "AttachedManagedPolicies", **args))]
            ps.customer = [(r["Name"], r.get("Path", "/")) for r in _call(
                "sso:ListCustomerManagedPolicyReferencesInPermissionSet", lambda: _pages(
                    admin, "list_customer_managed_policy_references_in_permission_set",
                    "CustomerManagedPolicyReferences", **args))]
            ps.inline = _call("sso:GetInlinePolicyForPermissionSet", lambda: admin.get_inline_policy_for_permission_set(
                **args)).get("InlinePolicy") or None
            ps.definition_read = True
        except _Failed as failed:
            gap(f"permission set {ps.name} unreadable: {failed.reason}",
                f"what permission set {ps.name} allows where its role was not seen")
        try:
            ps.boundary = admin.get_permissions_boundary_for_permission_set(**args).get("PermissionsBoundary")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":  # that one means: none set
                gap(f"the permissions boundary of permission set {ps.name} is unreadable: "
                    f"{describe_failure(exc, 'sso:GetPermissionsBoundaryForPermissionSet')}",
                    f"a cap on permission set {ps.name} (evaluated without it)")
        except (BotoCoreError, ResponseParserError) as exc:
            gap(f"the permissions boundary of permission set {ps.name} is unreadable: "
                f"{describe_failure(exc, 'sso:GetPermissionsBoundaryForPermissionSet')}",
                f"a cap on permission set {ps.name} (evaluated without it)")
        aws_managed = [a for a in ps.managed if ":iam::aws:policy/" in a]
        if ps.boundary and ps.boundary.get("ManagedPolicyArn"):
            aws_managed.append(ps.boundary["ManagedPolicyArn"])
        for arn in aws_managed:
            if arn in sso.aws_managed:
                continue
            try:
                policy = _call("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn))["Policy"]
                version = _call("iam:GetPolicyVersion", lambda: iam.get_policy_version(
                    PolicyArn=arn, VersionId=policy["DefaultVersionId"]))["PolicyVersion"]
                sso.aws_managed[arn] = (policy.get("PolicyName") or arn.rsplit("/", 1)[-1], version["Document"])
            except _Failed:
                continue  # the translation records the unreadable policy as a gap on the account


def _provisioned(account: AccountRead | None) -> set[str]:
    """Permission-set names whose AWSReservedSSO_* role the account's IAM snapshot holds."""
    if account is None or account.iam is None:
        return set()
    found = set()
    for role in account.iam.get("RoleDetailList", []):
        if role.get("Path", "").startswith(SSO_ROLE_PATH):
            name = sso_role_permission_set(role.get("RoleName", ""))
            if name:
                found.add(name)
    return found
