"""IAM users, groups and roles of each account: their policies, the capabilities decided from
them, and the grants that explain those capabilities (pure: no I/O).

`translate.py` runs the steps; role trust is `trust.py`, Identity Center `identity_center.py`.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from ...config import DEFAULT_TIER, AwsSource, Config
from ...model import (
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
)
from ..base import SourceBuilder
from .capabilities import AccountAdmins, CapabilityDecider, Catalogue, Holder, Reach
from .policy import Policy, PolicyError, RequestContext
from .reads import SERVICE_ROLE_PATH, SSO_ROLE_NAME, SSO_ROLE_PATH, SYSTEM, AccountRead


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


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[1] else "aws"


def iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def policy_document(value: Any) -> Any:
    """Policy documents as botocore decodes them (dicts), or URL-encoded JSON from elsewhere."""
    if isinstance(value, str) and value.lstrip().startswith("%7B"):
        return urllib.parse.unquote(value)
    return value


def mask_key_id(key_id: str) -> str:
    """Access key ids are identifiers, not secrets; show them shortened all the same."""
    return f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) > 8 else "…"


def tag_map(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in items or ()}


def email_tag(tags: Mapping[str, str]) -> str | None:
    for key, value in tags.items():
        if key.strip().lower() == "email" and value.strip():
            return value.strip()
    return None


def short_list(values: Iterable[str], limit: int = 4) -> str:
    values = list(values)
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# ---------------------------------------------------------------- accounts and IAM entities


@dataclass
class Entity:
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
    groups: list["Entity"] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{'IAM ' if self.kind != 'role' else ''}{self.kind} {self.name}"


class Translator:
    """The translation's state: what was read, decided and emitted so far (into `out`)."""

    def __init__(self, config: Config, source: AwsSource, catalogue: Catalogue | None, partition: str):
        self.config = config
        self.source = source
        self.partition = partition
        self.decider = CapabilityDecider(catalogue, deploy_buckets=source.deploy_buckets)
        self.out = SourceBuilder()
        self.entities: dict[str, Entity] = {}
        self.by_account: dict[str, list[Entity]] = {}
        self.accounts: dict[str, AccountRead] = {}
        self._parsed: dict[tuple[str, str], Policy] = {}
        self._scps: dict[tuple[str, bool], tuple[tuple[Policy, ...], ...]] = {}  # parsed once per account

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
        """The account's SCP levels, parsed once per account: every principal there shares them, and
        with them what the policy evaluator compiles of them (`policy.PolicySet`)."""
        key = (account.id, service_linked)
        found = self._scps.get(key)
        if found is None:
            found = self._scps[key] = self._read_scps(account, service_linked=service_linked)
        return found

    def _read_scps(self, account: AccountRead, *, service_linked: bool) -> tuple[tuple[Policy, ...], ...]:
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
                    policies.append(Policy.of(policy_document(document), name=f"{policy_name} ({name})"))
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
        entities: list[Entity] = []
        groups_by_name: dict[str, Entity] = {}
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
                managed: Mapping[str, tuple[str, Any]], inline_key: str) -> Entity:
        arn = detail["Arn"]
        entity = Entity(aws_key(arn), arn, kind, name, account, detail)
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
                    entity.boundary = Policy.of(policy_document(managed[boundary_arn][1]), name=entity.boundary_name)
                except PolicyError as exc:
                    self.out.gap(Gap(SYSTEM, account.key, f"permissions boundary of {label} unreadable: {exc}",
                                     f"a cap on what {label} can do (evaluated without it)"))
            else:
                self.out.gap(Gap(SYSTEM, account.key, f"the permissions boundary {boundary_arn} of {label} could "
                                 "not be read", f"a cap on what {label} can do (evaluated without it)"))
        return entity

    def _add_managed(self, entity: Entity, ref: PolicyRef, arn: str, document: Any) -> None:
        # A managed policy attached to many principals is parsed once per account.
        cache_key = (entity.account.id, arn)
        template = self._parsed.get(cache_key)
        if template is None:
            try:
                template = Policy.of(policy_document(document), name=ref.name)
            except PolicyError as exc:
                entity.unreadable.append(ref)
                self.out.gap(Gap(SYSTEM, entity.account.key, f"{ref.entitlement} ({arn}) unreadable: {exc}",
                                 f"what {ref.entitlement} allows {ref.holder_label}"))
                return
            self._parsed[cache_key] = template
        entity.own.append(template.attached(ref.name, ref))

    def _add_policy(self, entity: Entity, ref: PolicyRef, document: Any) -> None:
        try:
            entity.own.append(Policy.of(policy_document(document), name=ref.name, source=ref))
        except PolicyError as exc:
            entity.unreadable.append(ref)
            self.out.gap(Gap(SYSTEM, entity.account.key, f"{ref.entitlement} of {ref.holder_label} unreadable: {exc}",
                             f"what {ref.entitlement} allows {ref.holder_label}"))

    def _principal(self, entity: Entity) -> Principal:
        detail = entity.detail
        account = entity.account
        where = account.name or account.id
        attrs: dict[str, Any] = {"name": entity.name, "path": detail.get("Path", "/")}
        if entity.boundary_name:
            attrs["boundary"] = entity.boundary_name
        if entity.kind == "user":
            tags = tag_map(detail.get("Tags"))
            email = email_tag(tags)
            if email:
                attrs["email_source"] = "tag"
            keys = (account.access_keys or {}).get(entity.name)
            if keys is not None:
                attrs["access_keys"] = [
                    {"id": mask_key_id(k.get("AccessKeyId", "")), "status": k.get("Status", ""),
                     "created": iso(k.get("CreateDate")), "last_used": iso(k.get("LastUsedDate")),
                     "last_service": k.get("ServiceName") or ""}
                    for k in keys
                ]
            return Principal(SYSTEM, entity.arn, Kind.USER, display_name=f"IAM user {entity.name} in {where}",
                             email=email, home=account.key, attrs=attrs)
        if entity.kind == "group":
            return Principal(SYSTEM, entity.arn, Kind.GROUP, display_name=f"IAM group {entity.name} in {where}",
                             home=account.key, attrs=attrs)
        last = detail.get("RoleLastUsed") or {}
        attrs["last_used"] = iso(last.get("LastUsedDate"))
        attrs["service_linked"] = detail.get("Path", "").startswith(SERVICE_ROLE_PATH)
        attrs["oidc_subjects"] = []
        attrs["oidc_wildcard"] = False
        m = SSO_ROLE_NAME.match(entity.name)
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
            tags = tag_map(entity.detail.get("Tags"))
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
                partition=partition_of(entity.arn), groups=tuple(g.arn for g in entity.groups),
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
                self.policy_grants(entity, entity.own, set(entity.reach))
            for ref in entity.unreadable:
                self.out.grant(Grant(SYSTEM, entity.key, ref.entitlement, entity.account.key, (), via=Via.POLICY,
                                     detail=f"{describe_ref(ref)} (document unreadable: see gaps)",
                                     attrs={"policy_arn": ref.arn, "unreadable": True}))

    def policy_grants(self, entity: Entity, policies: Sequence[Policy], capabilities: set[str],
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
            detail = describe_ref(ref) + (f" allows {short_list(actions)}" if actions else "") + note
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

    def _user_grants(self, user: Entity) -> None:
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
        self.policy_grants(user, user.own, mine)
        residual: dict[int, tuple[Policy, Entity, set[str]]] = {}
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
            self.policy_grants(user, [policy], capabilities, via=Via.GROUP, note=why)
        if capped:
            self.out.with_attrs(user.key, capped_groups=capped)

    def _last_used(self, entity: Entity) -> str | None:
        if entity.kind == "role":
            return iso((entity.detail.get("RoleLastUsed") or {}).get("LastUsedDate"))
        if entity.kind == "user":
            dates = [k.get("LastUsedDate") for k in (entity.account.access_keys or {}).get(entity.name, [])]
            found = sorted(iso(d) for d in dates if d)
            return found[-1] if found else None
        return None


def describe_ref(ref: PolicyRef) -> str:
    if ref.kind == "inline":
        return f"inline policy {ref.name} of {ref.holder_label}"
    if ref.kind == "permission-set":
        return f"{ref.name} of {ref.holder_label}"
    owner = "AWS managed policy" if ref.kind == "aws-managed" else "policy"
    return f"{owner} {ref.name} attached to {ref.holder_label}"
