"""IAM Identity Center: its users and groups, and account assignments as can-assume edges to
the permission set's role in each account (or to the permission set's own rights, decided
from its definition, where that role was not seen).
"""

from __future__ import annotations

from typing import Any

from ...model import Edge, EdgeKind, Gap, Grant, Kind, Principal, Via, principal_key, resource_key
from .capabilities import Holder
from .iam import Entity, PolicyRef, Translator, policy_document
from .policy import Policy, PolicyError, RequestContext
from .reads import SSO_ROLE_NAME, SSO_ROLE_PATH, SYSTEM, AccountRead, PermissionSetRead, SsoRead


def add_identity_center(t: Translator, sso: SsoRead) -> None:
    """Identity Center users, groups, memberships and assignments, into the translation."""
    _IdentityCenter(t).run(sso)


class _IdentityCenter:
    def __init__(self, t: Translator):
        self.out = t.out
        self.accounts = t.accounts
        self.by_account = t.by_account
        self.account_label = t.account_label
        self.scps_for = t.scps_for
        self.decider = t.decider
        self.policy_grants = t.policy_grants
        self.partition = t.partition

    def run(self, sso: SsoRead) -> None:
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
            attrs = {"group_id": group["GroupId"]}
            if group.get("ExternalIds"):  # provisioned by SCIM from an identity provider's group
                attrs["external_ids"] = [{"Issuer": x.get("Issuer", ""), "Id": x.get("Id", "")}
                                         for x in group["ExternalIds"]]
            groups[group["GroupId"]] = self.out.principal(Principal(
                SYSTEM, f"sso:{store}:group/{name}", Kind.GROUP, display_name=f"SSO group {name}", attrs=attrs))
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
                m = SSO_ROLE_NAME.match(entity.name)
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
                policies.append(Policy.of(policy_document(document), name=name, source=ref))
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
                    boundary = Policy.of(policy_document(found[1]), name=found[0])
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
        entity = Entity(key, arn, "role", f"AWSReservedSSO_{ps.name}", account, {}, own=policies,
                         boundary=boundary, boundary_name=boundary.name if boundary else "", holder=holder,
                         reach=reach)
        self.policy_grants(entity, policies, set(reach),
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
