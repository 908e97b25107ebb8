"""What the AWS connector read, turned into principals, grants, edges and gaps (pure functions).
IAM users, groups and roles with their decided capabilities, trust policies as edges, GitHub OIDC
trust as workload patterns, and IAM Identity Center users, groups and assignments.

The fetch side (`aws.py`) fills `AccountRead` and `SsoRead` with API payloads as boto3
returns them; `translate` never does I/O, so it is tested on recorded payloads too.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from ..config import DEFAULT_TIER, AwsSource, Config
from ..model import (
    ACCESS_ADMIN,
    CAPABILITIES,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    Via,
    principal_key,
    resource_key,
)
from .base import SourceBuilder
from .aws_capabilities import AccountAdmins, CapabilityDecider, Catalogue, Holder, Reach
from .aws_policy import (
    Policy,
    PolicyError,
    RequestContext,
    action_matches,
    allow_resource_patterns,
    arn_matches,
    evaluate,
)

SYSTEM = "aws"
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
SERVICE_ROLE_PATH = "/aws-service-role/"
_SSO_ROLE_NAME = re.compile(r"^AWSReservedSSO_(?P<ps>.+)_[0-9a-f]{16}$")
_GITHUB_PROVIDER = re.compile(r"^arn:[^:]+:iam::\d+:oidc-provider/(?P<issuer>token\.actions\.githubusercontent\.com(?:/[^/]+)?)$")
_SSO_SAML_PROVIDER = re.compile(r":saml-provider/AWSSSO_[^/]*$")
ADMIN_POLICY_NAME = "AdministratorAccess"


def sso_role_permission_set(role_name: str) -> str:
    """``ProdDeployer`` for ``AWSReservedSSO_ProdDeployer_0123456789abcdef``, else ""."""
    m = _SSO_ROLE_NAME.match(role_name)
    return m.group("ps") if m else ""


# ---------------------------------------------------------------- what the fetch side reads


@dataclass
class AccountRead:
    """One account as read: organization facts, the IAM snapshot, usage, SCPs, and what failed."""

    id: str
    name: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ou_path: str = ""  # "/r-ab12/ou-ab12-11111111/ou-ab12-22222222"
    ou_names: str = ""  # "/Root/Workloads/Prod"
    management: bool = False
    organization_id: str = ""
    scps: list[list[tuple[str, str, Any]]] | None = None  # per level (root → account): (id, name, document)
    scp_levels: list[str] = field(default_factory=list)  # readable name per level
    iam: dict[str, list[Any]] | None = None  # GetAccountAuthorizationDetails pages merged; None: unread
    extra_policies: dict[str, tuple[str, Any]] = field(default_factory=dict)  # arn -> (name, document)
    access_keys: dict[str, list[dict[str, Any]]] | None = None  # user name -> keys with last use
    gaps: list[Gap] = field(default_factory=list)

    @property
    def key(self) -> str:
        return resource_key(SYSTEM, "account", self.id)


@dataclass
class PermissionSetRead:
    arn: str
    name: str
    description: str = ""
    managed: list[str] = field(default_factory=list)  # managed policy ARNs
    customer: list[tuple[str, str]] = field(default_factory=list)  # (name, path) references
    inline: Any = None  # inline policy document (JSON text) or None
    boundary: dict[str, Any] | None = None  # as GetPermissionsBoundaryForPermissionSet returns it
    definition_read: bool = False  # managed/customer/inline/boundary were read


@dataclass
class SsoRead:
    """IAM Identity Center: one instance, its identity store and its assignments."""

    instance_arn: str
    store_id: str
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[tuple[str, str]] = field(default_factory=list)  # (group id, user id)
    permission_sets: dict[str, PermissionSetRead] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)  # AccountId, PermissionSetArn, PrincipalType, PrincipalId
    aws_managed: dict[str, tuple[str, Any]] = field(default_factory=dict)  # arn -> (name, doc), read globally
    gaps: list[Gap] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyRef:
    """Where a policy sits (kept in `Policy.source`), so decisions map back to grants."""

    holder: str  # principal key of the user, group or role it is attached to
    holder_label: str  # "group deployers"
    entitlement: str  # "policy DeployECS" | "inline policy deploy"
    name: str
    arn: str = ""  # managed policies
    kind: str = "managed"  # inline | managed | aws-managed | permission-set


# ---------------------------------------------------------------- small helpers


def aws_key(arn: str) -> str:
    return principal_key(SYSTEM, arn)


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[1] else "aws"


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _document(value: Any) -> Any:
    """Policy documents as botocore decodes them (dicts), or URL-encoded JSON from elsewhere."""
    if isinstance(value, str) and value.lstrip().startswith("%7B"):
        return urllib.parse.unquote(value)
    return value


def mask_key_id(key_id: str) -> str:
    """Access key ids are identifiers, not secrets; show them shortened all the same."""
    return f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) > 8 else "…"


def _tags(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in items or ()}


def _email_tag(tags: Mapping[str, str]) -> str | None:
    for key, value in tags.items():
        if key.strip().lower() == "email" and value.strip():
            return value.strip()
    return None


def _list(values: Iterable[str], limit: int = 4) -> str:
    values = list(values)
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# ---------------------------------------------------------------- translate


@dataclass
class _Entity:
    """A user, group or role of one account, with its policies and decided capabilities."""

    key: str
    arn: str
    kind: str  # user | group | role
    name: str
    account: AccountRead
    detail: Mapping[str, Any]
    own: list[Policy] = field(default_factory=list)  # its own inline + attached policies
    unreadable: list[PolicyRef] = field(default_factory=list)  # attached, document unknown
    boundary: Policy | None = None
    boundary_name: str = ""
    holder: Holder | None = None
    reach: dict[str, Reach] = field(default_factory=dict)
    groups: list["_Entity"] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{'IAM ' if self.kind != 'role' else ''}{self.kind} {self.name}"


class _Translator:
    def __init__(self, config: Config, source: AwsSource, catalogue: Catalogue | None, partition: str):
        self.config = config
        self.source = source
        self.partition = partition
        self.decider = CapabilityDecider(catalogue, deploy_buckets=source.deploy_buckets)
        self.out = SourceBuilder()
        self.entities: dict[str, _Entity] = {}
        self.by_account: dict[str, list[_Entity]] = {}
        self.accounts: dict[str, AccountRead] = {}
        self._assume_cache: dict[str, list[str]] = {}
        self._parsed: dict[tuple[str, str], Policy] = {}

    # -- accounts -----------------------------------------------------------

    def account_label(self, account_id: str) -> str:
        account = self.accounts.get(account_id)
        return account.name if account and account.name else account_id

    def add_account(self, account: AccountRead) -> None:
        self.accounts[account.id] = account
        tier = self.config.tier_for(system=SYSTEM, kind="account", id=account.id, tags=account.tags,
                                    ou_path=account.ou_path)
        if tier == DEFAULT_TIER and account.ou_names:
            tier = self.config.tier_for(system=SYSTEM, kind="account", id=account.id, tags=account.tags,
                                        ou_path=account.ou_names)
        attrs: dict[str, Any] = {"name": account.name, "management": account.management}
        if account.ou_path:
            attrs["ou_path"] = account.ou_path
            attrs["ou_names"] = account.ou_names
        if account.tags:
            attrs["tags"] = dict(account.tags)
        if account.scp_levels:
            attrs["scp_levels"] = list(account.scp_levels)
        attrs["iam_read"] = account.iam is not None
        self.out.resource(Resource(
            SYSTEM, "account", account.id,
            name=f"{account.name} ({account.id})" if account.name else account.id,
            tier=tier, app=self.config.app_for(system=SYSTEM, kind="account", id=account.id),
            attrs=attrs,
        ))
        for gap in account.gaps:
            self.out.gap(gap)

    def scps_for(self, account: AccountRead, *, service_linked: bool = False) -> tuple[tuple[Policy, ...], ...]:
        # SCPs never restrict the management account or service-linked roles (reference §3.1).
        if account.management or service_linked or not account.scps:
            return ()
        if not any(account.scps):
            return ()  # no SCP attached anywhere: the policy type is not enabled
        levels = []
        for index, level in enumerate(account.scps):
            name = account.scp_levels[index] if index < len(account.scp_levels) else f"level {index + 1}"
            policies = []
            for policy_id, policy_name, document in level:
                try:
                    policies.append(Policy.of(_document(document), name=f"{policy_name} ({name})"))
                except PolicyError as exc:
                    self.out.gap(Gap(SYSTEM, account.key, f"SCP {policy_name} ({policy_id}) unreadable: {exc}",
                                     "SCP denies in this account (it is evaluated as if absent)"))
                    policies.append(Policy.of({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                                              name=f"{policy_name} (unreadable, treated as allowing)"))
            levels.append(tuple(policies))
        return tuple(levels)

    # -- IAM entities -------------------------------------------------------

    def add_iam(self, account: AccountRead) -> None:
        iam = account.iam or {}
        managed: dict[str, tuple[str, Any]] = dict(account.extra_policies)
        for item in iam.get("Policies", []):
            arn = item.get("Arn", "")
            name = item.get("PolicyName") or arn.rsplit("/", 1)[-1]  # moto omits PolicyName (reference §5)
            default = next((v for v in item.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
            if default is not None and "Document" in default:
                managed[arn] = (name, default["Document"])
        entities: list[_Entity] = []
        groups_by_name: dict[str, _Entity] = {}
        for detail in iam.get("GroupDetailList", []):
            entity = self._entity(account, detail, "group", detail["GroupName"], managed, "GroupPolicyList")
            groups_by_name[entity.name] = entity
            entities.append(entity)
        for detail in iam.get("UserDetailList", []):
            entity = self._entity(account, detail, "user", detail["UserName"], managed, "UserPolicyList")
            entity.groups = [groups_by_name[g] for g in detail.get("GroupList", []) if g in groups_by_name]
            for missing in (g for g in detail.get("GroupList", []) if g not in groups_by_name):
                self.out.gap(Gap(SYSTEM, account.key, f"user {entity.name} is in group {missing}, which the IAM "
                                 "snapshot does not list", f"the policies of group {missing}"))
            entities.append(entity)
        for detail in iam.get("RoleDetailList", []):
            entities.append(self._entity(account, detail, "role", detail["RoleName"], managed, "RolePolicyList"))
        self.by_account[account.id] = entities
        for entity in entities:
            self.entities[entity.key] = entity
            self.out.principal(self._principal(entity))

    def _entity(self, account: AccountRead, detail: Mapping[str, Any], kind: str, name: str,
                managed: Mapping[str, tuple[str, Any]], inline_key: str) -> _Entity:
        arn = detail["Arn"]
        entity = _Entity(aws_key(arn), arn, kind, name, account, detail)
        label = entity.label
        seen_names: set[str] = set()
        for item in detail.get(inline_key, []) or []:
            ref = PolicyRef(entity.key, label, f"inline policy {item['PolicyName']}", item["PolicyName"], kind="inline")
            self._add_policy(entity, ref, item.get("PolicyDocument"))
        for item in detail.get("AttachedManagedPolicies", []) or []:
            arn_p = item["PolicyArn"]
            name_p = item.get("PolicyName") or arn_p.rsplit("/", 1)[-1]
            aws_managed = ":iam::aws:policy/" in arn_p
            entitlement = f"policy {name_p}"
            if entitlement in seen_names:
                entitlement = f"policy {name_p} ({'AWS managed' if aws_managed else arn_p})"
            seen_names.add(entitlement)
            ref = PolicyRef(entity.key, label, entitlement, name_p, arn=arn_p,
                            kind="aws-managed" if aws_managed else "managed")
            if arn_p in managed:
                self._add_managed(entity, ref, arn_p, managed[arn_p][1])
            else:
                entity.unreadable.append(ref)
                self.out.gap(Gap(SYSTEM, account.key, f"the document of policy {name_p} ({arn_p}) could not be read",
                                 f"what policy {name_p} allows {label}"))
        boundary = detail.get("PermissionsBoundary") or {}
        boundary_arn = boundary.get("PermissionsBoundaryArn")
        if boundary_arn:
            entity.boundary_name = managed.get(boundary_arn, (boundary_arn.rsplit("/", 1)[-1], None))[0]
            if boundary_arn in managed:
                try:
                    entity.boundary = Policy.of(_document(managed[boundary_arn][1]), name=entity.boundary_name)
                except PolicyError as exc:
                    self.out.gap(Gap(SYSTEM, account.key, f"permissions boundary of {label} unreadable: {exc}",
                                     f"a cap on what {label} can do (evaluated without it)"))
            else:
                self.out.gap(Gap(SYSTEM, account.key, f"the permissions boundary {boundary_arn} of {label} could "
                                 "not be read", f"a cap on what {label} can do (evaluated without it)"))
        return entity

    def _add_managed(self, entity: _Entity, ref: PolicyRef, arn: str, document: Any) -> None:
        # A managed policy attached to many principals is parsed once per account.
        cache_key = (entity.account.id, arn)
        template = self._parsed.get(cache_key)
        if template is None:
            try:
                template = Policy.of(_document(document), name=ref.name)
            except PolicyError as exc:
                entity.unreadable.append(ref)
                self.out.gap(Gap(SYSTEM, entity.account.key, f"{ref.entitlement} ({arn}) unreadable: {exc}",
                                 f"what {ref.entitlement} allows {ref.holder_label}"))
                return
            self._parsed[cache_key] = template
        entity.own.append(template.attached(ref.name, ref))

    def _add_policy(self, entity: _Entity, ref: PolicyRef, document: Any) -> None:
        try:
            entity.own.append(Policy.of(_document(document), name=ref.name, source=ref))
        except PolicyError as exc:
            entity.unreadable.append(ref)
            self.out.gap(Gap(SYSTEM, entity.account.key, f"{ref.entitlement} of {ref.holder_label} unreadable: {exc}",
                             f"what {ref.entitlement} allows {ref.holder_label}"))

    def _principal(self, entity: _Entity) -> Principal:
        detail = entity.detail
        account = entity.account
        where = account.name or account.id
        attrs: dict[str, Any] = {"name": entity.name, "path": detail.get("Path", "/")}
        if entity.boundary_name:
            attrs["boundary"] = entity.boundary_name
        if entity.kind == "user":
            tags = _tags(detail.get("Tags"))
            email = _email_tag(tags)
            if email:
                attrs["email_source"] = "tag"
            keys = (account.access_keys or {}).get(entity.name)
            if keys is not None:
                attrs["access_keys"] = [
                    {"id": mask_key_id(k.get("AccessKeyId", "")), "status": k.get("Status", ""),
                     "created": _iso(k.get("CreateDate")), "last_used": _iso(k.get("LastUsedDate")),
                     "last_service": k.get("ServiceName") or ""}
                    for k in keys
                ]
            return Principal(SYSTEM, entity.arn, Kind.USER, display_name=f"IAM user {entity.name} in {where}",
                             email=email, home=account.key, attrs=attrs)
        if entity.kind == "group":
            return Principal(SYSTEM, entity.arn, Kind.GROUP, display_name=f"IAM group {entity.name} in {where}",
                             home=account.key, attrs=attrs)
        last = detail.get("RoleLastUsed") or {}
        attrs["last_used"] = _iso(last.get("LastUsedDate"))
        attrs["service_linked"] = detail.get("Path", "").startswith(SERVICE_ROLE_PATH)
        attrs["oidc_subjects"] = []
        attrs["oidc_wildcard"] = False
        m = _SSO_ROLE_NAME.match(entity.name)
        if m and detail.get("Path", "").startswith(SSO_ROLE_PATH):
            attrs["permission_set"] = m.group("ps")
        return Principal(SYSTEM, entity.arn, Kind.ROLE, display_name=f"role {entity.name} in {where}",
                         home=account.key, attrs=attrs)

    # -- capabilities -------------------------------------------------------

    def holders(self) -> None:
        for entity in self.entities.values():
            account = entity.account
            policies = list(entity.own)
            if entity.kind == "user":
                for group in entity.groups:
                    policies.extend(group.own)
            # A group is not a caller: its members' ARNs and names stay unknown when it is decided alone.
            values: dict[str, Any] = {
                "aws:PrincipalAccount": account.id,
                "aws:PrincipalType": {"user": "User", "role": "AssumedRole", "group": "User"}[entity.kind],
            }
            if entity.kind != "group":
                values["aws:PrincipalArn"] = entity.arn
            if account.organization_id:
                values["aws:PrincipalOrgID"] = account.organization_id
            absent_prefixes: tuple[str, ...] = ()
            tags = _tags(entity.detail.get("Tags"))
            if entity.kind == "user":
                values["aws:username"] = entity.name
                values["aws:userid"] = entity.detail.get("UserId") or None
                absent_prefixes = ("aws:principaltag/",)  # a user's tags are all in the snapshot
            elif entity.kind == "role":
                values["aws:username"] = None  # roles have no user name; session tags stay unknown
            for k, v in tags.items():
                values[f"aws:PrincipalTag/{k}"] = v
            attached = [p.source.arn for p in policies if p.source.kind == "managed"]
            attached += [r.arn for r in entity.unreadable if r.kind == "managed"]
            service_linked = entity.kind == "role" and entity.detail.get("Path", "").startswith(SERVICE_ROLE_PATH)
            entity.holder = Holder(
                arn=entity.arn, kind=entity.kind, account=account.id, policies=tuple(policies),
                boundary=entity.boundary, scps=self.scps_for(account, service_linked=service_linked),
                context=RequestContext(values, absent_prefixes=absent_prefixes),
                partition=_partition_of(entity.arn), groups=tuple(g.arn for g in entity.groups),
                attached_policies=tuple(dict.fromkeys(attached)),
            )

    def decide(self) -> None:
        for entity in self.entities.values():
            entity.reach = self.decider.reach(entity.holder)
        # Admin through another admin principal (PassRole, UpdateAssumeRolePolicy, ...): a fixpoint.
        for _ in range(6):
            changed = False
            for account_id, entities in self.by_account.items():
                admins = AccountAdmins(
                    roles=tuple(e.arn for e in entities if e.kind == "role" and ACCESS_ADMIN in e.reach),
                    users=tuple(e.arn for e in entities if e.kind == "user" and ACCESS_ADMIN in e.reach),
                    groups=tuple(e.arn for e in entities if e.kind == "group" and ACCESS_ADMIN in e.reach),
                )
                if not (admins.roles or admins.users or admins.groups):
                    continue
                for entity in entities:
                    if ACCESS_ADMIN in entity.reach:
                        continue
                    found = self.decider.reach(entity.holder, admins, capabilities=(ACCESS_ADMIN,))
                    if found:
                        entity.reach.update(found)
                        changed = True
            if not changed:
                break

    # -- grants -------------------------------------------------------------

    def grants(self) -> None:
        for entity in self.entities.values():
            if entity.kind == "user":
                self._user_grants(entity)
            else:
                self._policy_grants(entity, entity.own, set(entity.reach))
            for ref in entity.unreadable:
                self.out.grant(Grant(SYSTEM, entity.key, ref.entitlement, entity.account.key, (), via=Via.POLICY,
                                     detail=f"{_describe_ref(ref)} (document unreadable: see gaps)",
                                     attrs={"policy_arn": ref.arn, "unreadable": True}))

    def _policy_grants(self, entity: _Entity, policies: Sequence[Policy], capabilities: set[str],
                       *, via: str = Via.POLICY, note: str = "") -> None:
        for policy in policies:
            ref: PolicyRef = policy.source
            caps = [c for c in CAPABILITIES if c in capabilities and any(p is policy for p in entity.reach[c].policies)]
            actions: list[str] = []
            uncertain: list[str] = []
            ways: list[str] = []
            for c in caps:
                actions.extend(entity.reach[c].actions_of(policy))
                uncertain.extend(entity.reach[c].uncertain)
                ways.extend(entity.reach[c].ways)
            actions = list(dict.fromkeys(actions))
            detail = _describe_ref(ref) + (f" allows {_list(actions)}" if actions else "") + note
            if entity.boundary is not None and caps:
                detail += f"; within permissions boundary {entity.boundary_name}"
            attrs: dict[str, Any] = {"actions": actions, "uncertain": list(dict.fromkeys(uncertain))}
            if ways:
                attrs["ways"] = list(dict.fromkeys(ways))
            if ref.arn:
                attrs["policy_arn"] = ref.arn
            entitlement = ref.entitlement if ref.holder == entity.key else f"{ref.entitlement} (via {ref.holder_label})"
            self.out.grant(Grant(
                SYSTEM, entity.key, entitlement, entity.account.key, tuple(caps), via=via, detail=detail,
                condition="; ".join(attrs["uncertain"]), last_used=self._last_used(entity), attrs=attrs,
            ))

    def _user_grants(self, user: _Entity) -> None:
        mine = set(user.reach)
        through_groups: set[str] = set()
        capped: list[str] = []
        for group in user.groups:
            theirs = set(group.reach)
            if theirs <= mine:
                self.out.edge(Edge(user.key, group.key, EdgeKind.MEMBER_OF, f"member of IAM group {group.name}"))
                through_groups |= theirs
            else:
                # The group's policies give its members more than this user may use (boundary or
                # own deny): a member-of edge would overstate, so the user gets its own grants.
                capped.append(group.name)
        self._policy_grants(user, user.own, mine)
        residual: dict[int, tuple[Policy, _Entity, set[str]]] = {}
        for capability in mine - through_groups:
            reach = user.reach[capability]
            if any(p.source.holder == user.key for p in reach.policies):
                continue  # already on one of the user's own policy grants
            for policy in reach.policies:
                group = next((g for g in user.groups if any(p is policy for p in g.own)), None)
                if group is not None:
                    residual.setdefault(id(policy), (policy, group, set()))[2].add(capability)
        for policy, group, capabilities in residual.values():
            if group.name not in capped:
                why = " (only together with the user's other policies)"
            elif user.boundary is not None:
                why = f" (permissions boundary {user.boundary_name} caps the group's other rights)"
            else:
                why = " (the user's own denies cap the group's other rights)"
            self._policy_grants(user, [policy], capabilities, via=Via.GROUP, note=why)
        if capped:
            self.out.with_attrs(user.key, capped_groups=capped)

    def _last_used(self, entity: _Entity) -> str | None:
        if entity.kind == "role":
            return _iso((entity.detail.get("RoleLastUsed") or {}).get("LastUsedDate"))
        if entity.kind == "user":
            dates = [k.get("LastUsedDate") for k in (entity.account.access_keys or {}).get(entity.name, [])]
            found = sorted(_iso(d) for d in dates if d)
            return found[-1] if found else None
        return None

    # -- trust: who can assume which role ------------------------------------

    def trust(self) -> None:
        for role in (e for e in self.entities.values() if e.kind == "role"):
            document = role.detail.get("AssumeRolePolicyDocument")
            if not document:
                continue
            try:
                trust = Policy.of(_document(document), name=f"trust policy of role {role.name}")
            except PolicyError as exc:
                self.out.gap(Gap(SYSTEM, role.account.key, f"trust policy of role {role.name} unreadable: {exc}",
                                 f"who can assume role {role.name}"))
                continue
            candidates: dict[str, str] = {}  # principal key -> how the trust names it
            external: list[str] = []
            federated: list[str] = []
            # A Deny on GitHub tokens narrows the trusted subjects; it is noted, never subtracted.
            github_denies = [f"trust policy {'Sid ' + s.sid if s.sid else f'statement {s.index + 1}'} denies some "
                             "GitHub tokens (not subtracted from the subject pattern)"
                             for s in trust.statements if s.effect == "Deny" and s.principals is not None
                             and any(_GITHUB_PROVIDER.match(v) for v in s.principals.get("Federated", ()))]
            for stmt in trust.statements:
                if stmt.effect != "Allow" or stmt.principals is None:
                    continue
                actions = stmt.actions or ()
                for value in stmt.principals.get("AWS", ()):
                    self._aws_candidates(value, candidates, external)
                for value in stmt.principals.get("Federated", ()):
                    github = _GITHUB_PROVIDER.match(value)
                    if github and any(action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions):
                        self._oidc(role, stmt.raw, github.group("issuer"), github_denies)
                    elif _SSO_SAML_PROVIDER.search(value):
                        continue  # Identity Center: edges come from account assignments
                    else:
                        federated.append(value)
            for key, how in sorted(candidates.items()):
                caller = self.entities[key]
                if caller.kind == "group" or key == role.key:
                    continue
                if how.startswith("account ") and not self._may_assume(caller, role.arn):
                    continue  # trust in an account delegates to the caller's own policies, which allow nothing here
                decision = evaluate("sts:AssumeRole", role.arn, identity_policies=caller.holder.policies,
                                    boundary=caller.holder.boundary, scps=caller.holder.scps,
                                    resource_policy=trust, resource_policy_required=True,
                                    context=caller.holder.context)
                if not decision.allowed:
                    continue
                if decision.statement is not None and decision.statement.layer == "resource":
                    label = f"trust policy of role {role.name} names {caller.label}"
                else:
                    granted = decision.statement.policy.name if decision.statement else "an identity policy"
                    label = (f"trust policy of role {role.name} trusts {how}; {granted} allows the "
                             f"{caller.kind} sts:AssumeRole")
                self.out.edge(Edge(key, role.key, EdgeKind.CAN_ASSUME, label,
                                   condition="; ".join(decision.uncertain)))
            extra: dict[str, Any] = {}
            if external:
                extra["trusted_external"] = sorted(set(external))
            if federated:
                extra["federated"] = sorted(set(federated))
                if role.reach:
                    self.out.gap(Gap(SYSTEM, role.account.key,
                                     f"role {role.name} trusts identity provider {_list(sorted(set(federated)), 2)}, "
                                     "whose users foureyes does not read",
                                     f"people who can assume role {role.name} ({', '.join(sorted(role.reach))})"))
            if extra:
                self.out.with_attrs(role.key, **extra)

    def _may_assume(self, entity: _Entity, role_arn: str) -> bool:
        """Could the caller's own policies allow sts:AssumeRole on the role at all? (cheap filter)"""
        patterns = self._assume_cache.get(entity.key)
        if patterns is None:
            patterns = allow_resource_patterns(entity.holder.policies, "sts:AssumeRole", entity.holder.context)
            self._assume_cache[entity.key] = patterns
        return any(arn_matches(p, role_arn) for p in patterns)

    def _aws_candidates(self, value: str, candidates: dict[str, str], external: list[str]) -> None:
        def account_members(account_id: str) -> list[str]:
            return [e.key for e in self.by_account.get(account_id, []) if e.kind in ("user", "role")]

        if value == "*":
            for account_id in self.by_account:
                for key in account_members(account_id):
                    candidates.setdefault(key, "any AWS principal")
            external.append("*")
            return
        account_id = value if re.fullmatch(r"\d{12}", value) else ""
        if not account_id and value.endswith(":root"):
            account_id = _account_of(value)
        if account_id:
            if account_id in self.by_account:
                for key in account_members(account_id):
                    candidates.setdefault(key, f"account {self.account_label(account_id)}")
            else:
                external.append(value)
            return
        m = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/", value)
        if m:
            matches = [e.key for e in self.by_account.get(m.group(2), [])
                       if e.kind == "role" and e.name == m.group(3)]
            if matches:
                candidates[matches[0]] = "a session of its role"
            else:
                external.append(value)
            return
        key = aws_key(value)
        if key in self.entities:
            candidates[key] = self.entities[key].label
        else:
            external.append(value)

    def _oidc(self, role: _Entity, statement: Mapping[str, Any], issuer: str, extra_notes: list[str]) -> None:
        patterns, operator, notes = github_subject_patterns(statement, issuer)
        notes = notes + extra_notes
        wildcard_any = False
        for pattern in patterns:
            wildcard = oidc_wildcard(pattern)
            wildcard_any = wildcard_any or wildcard
            key = self.out.principal(Principal(
                "ci", pattern, Kind.WORKLOAD_PATTERN, display_name=f"OIDC subject {pattern}",
                attrs={"oidc_subjects": [pattern], "oidc_wildcard": wildcard, "issuer": issuer},
            ))
            label = f"trust policy of role {role.name}: {issuer}:sub {operator} {pattern}"
            if wildcard:
                label += " (any branch, pull request or environment)"
            self.out.edge(Edge(key, role.key, EdgeKind.CAN_ASSUME, label, condition="; ".join(notes)))
        principal = self.out.principals[role.key]
        subjects = sorted(set(principal.attrs.get("oidc_subjects", [])) | set(patterns))
        self.out.with_attrs(
            role.key, oidc_subjects=subjects,
            oidc_wildcard=bool(principal.attrs.get("oidc_wildcard")) or wildcard_any,
            oidc_provider=issuer,
        )

    # -- IAM Identity Center --------------------------------------------------

    def sso(self, sso: SsoRead) -> None:
        for gap in sso.gaps:
            self.out.gap(gap)
        store = sso.store_id
        users: dict[str, str] = {}
        for user in sso.users:
            name = user.get("UserName") or user["UserId"]
            emails = user.get("Emails") or []
            primary = next((e for e in emails if e.get("Primary")), emails[0] if emails else None)
            email = (primary or {}).get("Value") or None
            display = user.get("DisplayName") or " ".join(
                x for x in ((user.get("Name") or {}).get("GivenName"), (user.get("Name") or {}).get("FamilyName")) if x
            ) or name
            attrs: dict[str, Any] = {"user_name": name, "user_id": user["UserId"]}
            if email:
                attrs["email_source"] = "sso"
            users[user["UserId"]] = self.out.principal(Principal(
                SYSTEM, f"sso:{store}:user/{name}", Kind.USER, display_name=f"{display} (SSO)", email=email,
                attrs=attrs))
        groups: dict[str, str] = {}
        for group in sso.groups:
            name = group.get("DisplayName") or group["GroupId"]
            groups[group["GroupId"]] = self.out.principal(Principal(
                SYSTEM, f"sso:{store}:group/{name}", Kind.GROUP, display_name=f"SSO group {name}",
                attrs={"group_id": group["GroupId"]}))
        names = {gid: (g.get("DisplayName") or gid) for gid, g in ((g["GroupId"], g) for g in sso.groups)}
        for group_id, user_id in sso.memberships:
            if user_id in users and group_id in groups:
                self.out.edge(Edge(users[user_id], groups[group_id], EdgeKind.MEMBER_OF,
                                   f"member of SSO group {names[group_id]}",
                                   attrs={"identity_store_id": store, "group_id": group_id, "user_id": user_id}))
        for assignment in sso.assignments:
            ps = sso.permission_sets.get(assignment["PermissionSetArn"])
            target = (users if assignment.get("PrincipalType") == "USER" else groups).get(assignment.get("PrincipalId", ""))
            account_id = assignment.get("AccountId", "")
            if ps is None or target is None:
                self.out.gap(Gap(SYSTEM, resource_key(SYSTEM, "account", account_id),
                                 f"an Identity Center assignment names an unknown "
                                 f"{'permission set' if ps is None else 'user or group'}",
                                 "who reaches this account through Identity Center"))
                continue
            role_key = self._sso_role(sso, ps, account_id)
            if role_key is None:
                continue
            self.out.edge(Edge(target, role_key, EdgeKind.CAN_ASSUME,
                               f"Identity Center assignment of permission set {ps.name} in "
                               f"{self.account_label(account_id)}",
                               attrs={"sso_assignment": True, "instance_arn": sso.instance_arn,
                                      "permission_set_arn": ps.arn, "account_id": account_id,
                                      "principal_type": assignment.get("PrincipalType", ""),
                                      "principal_id": assignment.get("PrincipalId", "")}))

    def _sso_role(self, sso: SsoRead, ps: PermissionSetRead, account_id: str) -> str | None:
        for entity in self.by_account.get(account_id, []):
            if entity.kind == "role" and entity.detail.get("Path", "").startswith(SSO_ROLE_PATH):
                m = _SSO_ROLE_NAME.match(entity.name)
                if m and m.group("ps") == ps.name:
                    return entity.key
        return self._permission_set_role(sso, ps, account_id)

    def _permission_set_role(self, sso: SsoRead, ps: PermissionSetRead, account_id: str) -> str | None:
        """The permission set's rights in an account whose provisioned role foureyes did not see."""
        account = self.accounts.get(account_id)
        account_key = resource_key(SYSTEM, "account", account_id)
        if account is None:
            return None  # an account outside the configured scope
        ident = f"sso:{sso.store_id}:permission-set/{ps.name}/{account_id}"
        key = principal_key(SYSTEM, ident)
        if key in self.out.principals:
            return key
        label = f"permission set {ps.name}"
        where = account.name or account_id
        self.out.principal(Principal(
            SYSTEM, ident, Kind.ROLE, display_name=f"permission set {ps.name} in {where} (from its definition)",
            home=account_key,
            attrs={"permission_set": ps.name, "permission_set_arn": ps.arn, "from_definition": True,
                   "oidc_subjects": [], "oidc_wildcard": False},
        ))
        if not ps.definition_read:
            self.out.gap(Gap(SYSTEM, account_key, f"permission set {ps.name} could not be read",
                             f"what permission set {ps.name} allows in {where}"))
        iam_policies = self._account_managed(account)
        policies: list[Policy] = []
        unreadable: list[str] = []

        def add(entitlement: str, name: str, document: Any, arn: str = "", kind: str = "permission-set") -> None:
            ref = PolicyRef(key, label, entitlement, name, arn=arn, kind=kind)
            try:
                policies.append(Policy.of(_document(document), name=name, source=ref))
            except PolicyError:
                unreadable.append(entitlement)

        for arn in ps.managed:
            found = sso.aws_managed.get(arn) or iam_policies.get(arn)
            name = arn.rsplit("/", 1)[-1]
            if found is None:
                unreadable.append(f"policy {name}")
            else:
                add(f"policy {name}", name, found[1], arn=arn, kind="aws-managed")
        for name, path in ps.customer:
            arn = f"arn:{self.partition}:iam::{account_id}:policy{path or '/'}{name}"
            found = iam_policies.get(arn)
            if found is None:
                unreadable.append(f"policy {name}")
            else:
                add(f"policy {name}", name, found[1], arn=arn, kind="managed")
        if ps.inline:
            add("inline policy", "inline policy", ps.inline)
        boundary = None
        if ps.boundary:
            ref = ps.boundary.get("CustomerManagedPolicyReference")
            arn = ps.boundary.get("ManagedPolicyArn") or (
                f"arn:{self.partition}:iam::{account_id}:policy{ref.get('Path') or '/'}{ref['Name']}" if ref else "")
            found = sso.aws_managed.get(arn) or iam_policies.get(arn)
            if found is not None:
                try:
                    boundary = Policy.of(_document(found[1]), name=found[0])
                except PolicyError:
                    boundary = None
            if boundary is None:
                self.out.gap(Gap(SYSTEM, account_key, f"the permissions boundary of permission set {ps.name} "
                                 "could not be read", f"a cap on permission set {ps.name} (evaluated without it)"))
        for entitlement in unreadable:
            self.out.gap(Gap(SYSTEM, account_key, f"{entitlement} of permission set {ps.name} could not be read",
                             f"what permission set {ps.name} allows in {where}"))
        arn = f"arn:{self.partition}:iam::{account_id}:role{SSO_ROLE_PATH}AWSReservedSSO_{ps.name}"
        holder = Holder(arn=arn, kind="role", account=account_id, policies=tuple(policies), boundary=boundary,
                        scps=self.scps_for(account),
                        context=RequestContext({"aws:PrincipalArn": arn, "aws:PrincipalAccount": account_id,
                                                "aws:username": None, "aws:PrincipalType": "AssumedRole"}),
                        partition=self.partition)
        reach = self.decider.reach(holder)
        entity = _Entity(key, arn, "role", f"AWSReservedSSO_{ps.name}", account, {}, own=policies,
                         boundary=boundary, boundary_name=boundary.name if boundary else "", holder=holder,
                         reach=reach)
        self._policy_grants(entity, policies, set(reach),
                            note=f" (permission set {ps.name}; its role was not found in {where})")
        for entitlement in unreadable:
            self.out.grant(Grant(SYSTEM, key, entitlement, account_key, (), via=Via.POLICY,
                                 detail=f"{entitlement} of permission set {ps.name} (document unreadable: see gaps)",
                                 attrs={"unreadable": True}))
        return key

    def _account_managed(self, account: AccountRead) -> dict[str, tuple[str, Any]]:
        found: dict[str, tuple[str, Any]] = dict(account.extra_policies)
        for item in (account.iam or {}).get("Policies", []):
            default = next((v for v in item.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
            if default is not None:
                found[item["Arn"]] = (item.get("PolicyName") or item["Arn"].rsplit("/", 1)[-1], default["Document"])
        return found


def _describe_ref(ref: PolicyRef) -> str:
    if ref.kind == "inline":
        return f"inline policy {ref.name} of {ref.holder_label}"
    if ref.kind == "permission-set":
        return f"{ref.name} of {ref.holder_label}"
    owner = "AWS managed policy" if ref.kind == "aws-managed" else "policy"
    return f"{owner} {ref.name} attached to {ref.holder_label}"


# ---------------------------------------------------------------- GitHub OIDC trust


def github_subject_patterns(statement: Mapping[str, Any], issuer: str) -> tuple[list[str], str, list[str]]:
    """The ``sub`` patterns a GitHub OIDC trust statement accepts, the operator, and notes.

    ``StringEquals``/``StringLike`` (and their ``ForAnyValue:`` forms) on ``ISSUER:sub``
    give the patterns (several values: any of them). A statement without a ``sub``
    condition accepts any repository anywhere (``*``). Negated conditions and conditions
    on other claims cannot be expressed as a pattern: they are kept as notes (the edge is
    shown, never hidden).
    """
    sub_key = f"{issuer}:sub".lower()
    aud_key = f"{issuer}:aud".lower()
    equals: list[list[str]] = []
    likes: list[list[str]] = []
    notes: list[str] = []
    for operator, block in (statement.get("Condition") or {}).items():
        base = operator.lower()
        for prefix in ("foranyvalue:", "forallvalues:"):
            base = base.removeprefix(prefix)
        base = base.removesuffix("ifexists")
        for key, raw in (block or {}).items():
            values = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
            if key.lower() == sub_key:
                if base in ("stringequals", "stringequalsignorecase"):
                    equals.append(values)
                elif base == "stringlike":
                    likes.append(values)
                else:
                    notes.append(f"{key} {operator} {_list(values)} (not expressed in the subject pattern)")
            elif key.lower() == aud_key:
                continue  # any workflow can ask for any audience
            else:
                notes.append(f"{key} {operator} {_list(values)} (not checked by foureyes)")
    if equals:
        candidates = [v for v in equals[0] if all(v in other for other in equals[1:])]
        literal = [v for v in candidates if "*" in v or "?" in v]
        if literal:
            # StringEquals compares literally: GitHub never issues a subject with * or ?.
            notes.append(f"StringEquals on {issuer}:sub with a literal {_list(literal)} matches no token")
            candidates = [v for v in candidates if v not in literal]
        candidates = [v for v in candidates if all(any(_fn(v, p) for p in group) for group in likes)]
        return candidates, "StringEquals", notes
    if likes:
        if len(likes) == 1:
            return likes[0], "StringLike", notes
        # Several StringLike conditions must all hold: keep the patterns the others admit.
        kept = [p for p in likes[0] if all(any(_fn(p, q) or _fn(q, p) for q in group) for group in likes[1:])]
        return kept, "StringLike", notes
    return ["*"], "(no condition)", notes + [f"no {issuer}:sub condition: any repository of any owner"]


def _fn(text: str, pattern: str) -> bool:
    """StringLike matching: ``*`` and ``?`` may span ``/`` and ``:``."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def oidc_wildcard(pattern: str) -> bool:
    """Does a trusted subject admit any branch, pull request or environment of a repository?"""
    m = re.match(r"^repo:([^:]*)", pattern)
    repo = (m.group(1) if m else "*").replace("*", "x").replace("?", "x") or "x/x"
    probes = [f"repo:{repo}:ref:refs/heads/foureyes-any-branch", f"repo:{repo}:pull_request",
              f"repo:{repo}:environment:foureyes-any-environment"]
    return any(_fn(probe, pattern) for probe in probes)


# ---------------------------------------------------------------- entry point


def translate(accounts: Sequence[AccountRead], sso: SsoRead | None, *, config: Config, source: AwsSource,
              catalogue: Catalogue | None = None, partition: str = "aws") -> SourceBuilder:
    """Principals, resources, grants, edges and gaps for everything that was read."""
    t = _Translator(config, source, catalogue, partition)
    for account in accounts:
        t.add_account(account)
    for account in accounts:
        if account.iam is not None:
            t.add_iam(account)
    t.holders()
    t.decide()
    t.grants()
    t.trust()
    if sso is not None:
        t.sso(sso)
    return t.out
