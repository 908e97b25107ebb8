"""Reads accounts, IAM, SCPs and IAM Identity Center with boto3, read-only: the fetch half of
the AWS connector; `translate.py` turns what was read (`reads.py`) into model objects.

One account with the default credential chain, or an AWS Organization: list its accounts
and assume a read-only role in each. Failures (AccessDenied, throttling, 5xx, resets and
timeouts after botocore's bounded retries, malformed or cut-off answers) become Gaps on the
account they concern; an account that could not be read is never reported as an empty one.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ...config import AwsSource
from ...model import Gap
from ..base import Progress, ProgressEvent, Secrets
from .api import READ_ERRORS, Clients, Failed, call, describe_failure, pages
from .reads import SSO_ROLE_PATH, SYSTEM, AccountRead, PermissionSetRead, SsoRead, sso_role_permission_set

T = TypeVar("T")
SESSION_NAME = "foureyes-audit"
ACCOUNT_WORKERS = 8
_ALL_ACCOUNTS = "every IAM user, group and role of this account and what they can do"


class Fetcher:
    """The reads of one collection; every failure becomes a Gap on what it concerns."""

    def __init__(self, section: AwsSource, name: str = "aws", secrets: Secrets | None = None):
        self.section = section
        self.name = name
        self.secrets = secrets if secrets is not None else Secrets()

    # -- accounts ---------------------------------------------------------------

    def accounts(self, base: Clients, caller_account: str, gaps: list[Gap], progress: Progress) -> list[AccountRead]:
        wanted = set(self.section.accounts)
        if self.section.organization:
            try:
                return self._organization(base, caller_account, wanted, progress)
            except Failed as failed:
                gaps.append(Gap(SYSTEM, "", f"could not list the organization's accounts: {failed.reason}",
                                "every other account of the organization and the SCPs that apply"))
                return [AccountRead(id=caller_account)]
        ids = sorted(wanted) if wanted else [caller_account]
        return [AccountRead(id=i) for i in ids]

    def _organization(self, base: Clients, caller_account: str, wanted: set[str],
                      progress: Progress) -> list[AccountRead]:
        org = base("organizations")
        progress(ProgressEvent(self.name, "listing the organization's accounts"))
        organization = call("organizations:DescribeOrganization", org.describe_organization)["Organization"]
        management = organization.get("MasterAccountId", "")
        roots = call("organizations:ListRoots", lambda: pages(org, "list_roots", "Roots"))
        root = roots[0] if roots else {}
        types = root.get("PolicyTypes") or []
        scp_type = next((t for t in types if t.get("Type") == "SERVICE_CONTROL_POLICY"), None)
        # A root that does not list the type: read what is attached anyway. AWS detaches every
        # SCP when the type is disabled, and the translation ignores SCPs when none is attached.
        scps_enabled = scp_type is None or scp_type.get("Status") == "ENABLED"
        listed = call("organizations:ListAccounts", lambda: pages(org, "list_accounts", "Accounts"))
        known: dict[tuple[str, str], Future[Any]] = {}
        lock = threading.Lock()

        def once(key: tuple[str, str], read: Callable[[], T]) -> T:
            """``read()`` once per key, shared by every account that asks, also while it is under
            way (accounts are read in parallel and share OUs and SCPs). A failure is not kept:
            whoever asks later tries again."""
            with lock:
                future = known.get(key)
                mine = future is None
                if mine:
                    future = known[key] = Future()
            assert future is not None
            if mine:
                try:
                    future.set_result(read())
                except BaseException as exc:
                    with lock:
                        known.pop(key, None)
                    future.set_exception(exc)
            return future.result()

        def name_of(target: str, kind: str) -> str:
            if kind == "ROOT":
                return root.get("Name", "Root") if root.get("Id") == target else target
            return once(("ou", target), lambda: call(
                "organizations:DescribeOrganizationalUnit", lambda: org.describe_organizational_unit(
                    OrganizationalUnitId=target))["OrganizationalUnit"].get("Name", target))

        def describe(policy_id: str) -> tuple[str, str, Any]:
            described = call("organizations:DescribePolicy", lambda: org.describe_policy(PolicyId=policy_id))["Policy"]
            return (policy_id, described["PolicySummary"].get("Name", policy_id), described["Content"])

        def scps_of(target: str) -> list[tuple[str, str, Any]]:
            ids = once(("target", target), lambda: [p["Id"] for p in call(
                "organizations:ListPoliciesForTarget", lambda: pages(
                    org, "list_policies_for_target", "Policies", TargetId=target, Filter="SERVICE_CONTROL_POLICY"))])
            return [once(("policy", policy_id), lambda: describe(policy_id)) for policy_id in ids]

        def account(item: dict[str, Any]) -> AccountRead:
            read = AccountRead(id=item["Id"], name=item.get("Name", ""), management=item["Id"] == management,
                               organization_id=organization.get("Id", ""))
            try:
                read.tags = {t["Key"]: t["Value"] for t in call("organizations:ListTagsForResource", lambda: pages(
                    org, "list_tags_for_resource", "Tags", ResourceId=read.id))}
            except Failed as failed:
                read.gaps.append(Gap(SYSTEM, read.key, f"account tags unreadable: {failed.reason}",
                                     "a tier given by account tags (the account may be in the wrong tier)"))
            try:
                chain: list[tuple[str, str]] = []  # (id, type) from the account up to the root
                child = read.id
                for _ in range(8):  # Organizations nests at most five OUs deep
                    parent = call("organizations:ListParents", lambda: pages(
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
            except Failed as failed:
                read.gaps.append(Gap(SYSTEM, read.key, f"organization path or SCPs unreadable: {failed.reason}",
                                     "SCP denies (access is shown as if no SCP applied) and a tier given by OU"))
            return read

        chosen = [a for a in listed if a.get("Status", "ACTIVE") == "ACTIVE" and (not wanted or a["Id"] in wanted)]
        with ThreadPoolExecutor(max_workers=max(1, min(ACCOUNT_WORKERS, len(chosen))),
                                thread_name_prefix="aws-org") as pool:
            return list(pool.map(account, chosen))

    def assume(self, base: Clients, account: AccountRead, partition: str) -> Clients | None:
        role_arn = f"arn:{partition}:iam::{account.id}:role/{self.section.assume_role_name}"
        try:
            creds = base("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        except READ_ERRORS as exc:
            account.gaps.append(Gap(SYSTEM, account.key,
                                    f"could not assume {role_arn}: {describe_failure(exc, 'sts:AssumeRole')}",
                                    _ALL_ACCOUNTS))
            return None
        # The temporary credentials live only in this session object; they are never stored,
        # and scrubbed from whatever the account's answers echo.
        self.secrets.add(creds.get("AccessKeyId"), creds.get("SecretAccessKey"), creds.get("SessionToken"))
        session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"], region_name=self.section.region)
        return Clients(session, self.section, base.counter)

    # -- IAM --------------------------------------------------------------------

    def read_iam(self, clients: Clients, account: AccountRead) -> None:
        iam = clients("iam")
        merged: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                                        "Policies": []}
        try:
            # 1,000 items a page, GetAccountAuthorizationDetails's most (its default is 100): an account of
            # 80 principals and their policies is one request instead of two or more
            for page in iam.get_paginator("get_account_authorization_details").paginate(
                    PaginationConfig={"PageSize": 1000}):
                for key in merged:
                    merged[key].extend(page.get(key, []))
        except READ_ERRORS as exc:
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
                policy = call("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn))["Policy"]
                version = call("iam:GetPolicyVersion", lambda: iam.get_policy_version(
                    PolicyArn=arn, VersionId=policy["DefaultVersionId"]))["PolicyVersion"]
                account.extra_policies[arn] = (policy.get("PolicyName") or arn.rsplit("/", 1)[-1], version["Document"])
            except Failed as failed:
                account.gaps.append(Gap(SYSTEM, account.key, f"{failed.reason} for {arn}",
                                        f"what policy {arn.rsplit('/', 1)[-1]} allows"))

    def _access_keys(self, iam: Any, account: AccountRead) -> None:
        keys: dict[str, list[dict[str, Any]]] = {}
        try:
            for user in account.iam["UserDetailList"]:
                name = user["UserName"]
                found = call("iam:ListAccessKeys", lambda: pages(iam, "list_access_keys", "AccessKeyMetadata",
                                                                   UserName=name))
                for key in found:
                    last = call("iam:GetAccessKeyLastUsed", lambda: iam.get_access_key_last_used(
                        AccessKeyId=key["AccessKeyId"])).get("AccessKeyLastUsed", {})
                    key["LastUsedDate"] = last.get("LastUsedDate")
                    key["ServiceName"] = last.get("ServiceName") if last.get("ServiceName") != "N/A" else ""
                keys[name] = found
        except Failed as failed:
            account.gaps.append(Gap(SYSTEM, account.key, f"access keys unreadable: {failed.reason}",
                                    "access-key age and last use of IAM users (usage evidence, not access)"))
            return
        account.access_keys = keys

    # -- IAM Identity Center ------------------------------------------------------

    def identity_center(self, base: Clients, accounts: list[AccountRead], gaps: list[Gap],
             progress: Progress) -> SsoRead | None:
        admin = base("sso-admin")
        try:
            instances = call("sso:ListInstances", lambda: pages(admin, "list_instances", "Instances"))
        except Failed as failed:
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
            sso.users = call("identitystore:ListUsers", lambda: pages(
                store, "list_users", "Users", IdentityStoreId=sso.store_id))
            sso.groups = call("identitystore:ListGroups", lambda: pages(
                store, "list_groups", "Groups", IdentityStoreId=sso.store_id))
            for group in sso.groups:
                members = call("identitystore:ListGroupMemberships", lambda: pages(
                    store, "list_group_memberships", "GroupMemberships", IdentityStoreId=sso.store_id,
                    GroupId=group["GroupId"]))
                sso.memberships.extend((group["GroupId"], m["MemberId"]["UserId"]) for m in members
                                       if "UserId" in (m.get("MemberId") or {}))
        except Failed as failed:
            sso.gaps.append(Gap(SYSTEM, "", f"Identity Center users or groups unreadable: {failed.reason}",
                                "people who reach accounts through Identity Center"))
        try:
            for arn in call("sso:ListPermissionSets", lambda: pages(
                    admin, "list_permission_sets", "PermissionSets", InstanceArn=sso.instance_arn)):
                described = call("sso:DescribePermissionSet", lambda: admin.describe_permission_set(
                    InstanceArn=sso.instance_arn, PermissionSetArn=arn))["PermissionSet"]
                sso.permission_sets[arn] = PermissionSetRead(arn=arn, name=described.get("Name", arn),
                                                             description=described.get("Description", ""))
        except Failed as failed:
            sso.gaps.append(Gap(SYSTEM, "", f"permission sets unreadable: {failed.reason}",
                                "every Identity Center account assignment"))
            return sso

        # Assignments per account and permission set: moto does not track provisioning (reference §5),
        # and provisioned-account lists can lag, so every account in scope is asked.
        def assignments(pair: tuple[AccountRead, PermissionSetRead]) -> list[dict[str, Any]]:
            account, ps = pair
            try:
                return call("sso:ListAccountAssignments", lambda: pages(
                    admin, "list_account_assignments", "AccountAssignments", InstanceArn=sso.instance_arn,
                    AccountId=account.id, PermissionSetArn=ps.arn))
            except Failed as failed:
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
            ps.managed = [p["Arn"] for p in call("sso:ListManagedPoliciesInPermissionSet", lambda: pages(
                admin, "list_managed_policies_in_permission_set", "AttachedManagedPolicies", **args))]
            ps.customer = [(r["Name"], r.get("Path", "/")) for r in call(
                "sso:ListCustomerManagedPolicyReferencesInPermissionSet", lambda: pages(
                    admin, "list_customer_managed_policy_references_in_permission_set",
                    "CustomerManagedPolicyReferences", **args))]
            ps.inline = call("sso:GetInlinePolicyForPermissionSet", lambda: admin.get_inline_policy_for_permission_set(
                **args)).get("InlinePolicy") or None
            ps.definition_read = True
        except Failed as failed:
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
                policy = call("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn))["Policy"]
                version = call("iam:GetPolicyVersion", lambda: iam.get_policy_version(
                    PolicyArn=arn, VersionId=policy["DefaultVersionId"]))["PolicyVersion"]
                sso.aws_managed[arn] = (policy.get("PolicyName") or arn.rsplit("/", 1)[-1], version["Document"])
            except Failed:
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
