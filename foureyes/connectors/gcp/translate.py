"""GCP IAM translated, pure: effective bindings per resource (own and inherited), minus deny
rules, into grants with deploy.run / access.admin; who may act as or impersonate service
accounts as can-assume edges; CI trust patterns from workload identity (docs/connectors.md).

The fetch side (`fetch.py`) fills an `Inventory` (`inventory.py`); principals and group
membership are `members.py`; IAM semantics (members, conditions, deny, WIF) are `iam.py`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from ...config import Config
from ...model import ACCESS_ADMIN, DEPLOY_RUN, Edge, EdgeKind, Grant, Resource, SourceResult, Via, principal_key
from ..base import SourceBuilder
from .iam import (
    ACT_AS,
    Catalogue,
    Member,
    admin_permissions,
    admits_any_context,
    deny_applies,
    deny_forms,
    denied_permissions,
    iso,
    load_catalogue,
    parse_member,
)
from .inventory import SYSTEM, Binding, Inventory, Node, node_label
from .members import Members, known_attrs


def translate(inventory: Inventory, config: Config, *, now: datetime, name: str = "gcp",
              catalogue: Catalogue | None = None) -> SourceResult:
    """Pure: an inventory read from GCP into principals, resources, grants, edges and gaps."""
    return _Translator(inventory, config, catalogue or load_catalogue(), now, name).run()


# ---------------------------------------------------------------- translation


UNKNOWN = object()  # "could not be read": never the same as "no"


@dataclass
class _GrantRecord:
    principal: str
    entitlement: str
    resource: str
    capabilities: set[str]
    via: str
    detail: str
    condition: str
    expires: str | None
    distance: int  # 0 bound here, 1 parent, ...; the nearest binding explains the grant
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Application:
    """One member of one binding, applied to one resource (where bound, or a project below)."""

    key: str
    member: Member
    binding: Binding
    role: Any
    bound: Node
    target: Node
    effective: frozenset[str]
    removed: set[str]
    policies: list[str]
    notes: list[str]


@dataclass
class _Access:
    """What one principal may do to one service account, and why."""

    permissions: set[str] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)  # "" for an unconditional binding
    expiries: list[str | None] = field(default_factory=list)  # each binding's request.time bound, None: none
    uncertain: list[str] = field(default_factory=list)


class _Translator:
    def __init__(self, inventory: Inventory, config: Config, catalogue: Catalogue, now: datetime, name: str):
        self.inv = inventory
        self.config = config
        self.catalogue = catalogue
        self.now = now
        self.name = name
        self.counts: Counter[str] = Counter()
        self.b = SourceBuilder()
        self.grants: dict[tuple[str, str, str], _GrantRecord] = {}
        for gap in inventory.gaps:
            self.b.gap(gap)
        self.members = Members(inventory, self.b, self.counts)
        self.sa_access: dict[str, dict[str, _Access]] = defaultdict(dict)  # SA email -> principal key -> access
        self.projects_below: dict[str, list[Node]] = defaultdict(list)
        self._chains: dict[str, list[Node]] = {}
        # role permission sets are shared frozensets (their hash is cached): memoise per set
        self._deploy_cache: dict[frozenset[str], tuple[list[str], list[str]]] = {}
        self._interesting_cache: dict[frozenset[str], list[str]] = {}
        self._without_cache: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}
        # (principal key, project id) -> workload-starting permissions its own bindings give it there
        self.project_permissions: dict[tuple[str, str], set[str]] = defaultdict(set)

    # -- entry

    def run(self) -> SourceResult:
        self._resources()
        self.members.add_groups()
        self.members.note_everyone()
        applications = [a for node in sorted(self.inv.nodes.values(), key=lambda n: n.name)
                        for binding in node.bindings or [] for a in self._applications(node, binding)]
        vehicles = set(self.catalogue.act_as_vehicles)
        for app in applications:
            if app.target.kind == "project":
                self.project_permissions[(app.key, app.target.id)] |= app.effective & vehicles
        self._service_account_access()
        for app in applications:
            self._grant(app)
        self._combined_deploy_grants()
        self._service_account_edges()
        self.members.domain_edges()
        return self._result()

    # -- resources

    def chain(self, node: Node) -> list[Node]:
        """The node and its known ancestors, nearest first."""
        found = self._chains.get(node.name)
        if found is None:
            found, seen = [node], {node.name}
            while found[-1].parent and found[-1].parent in self.inv.nodes and found[-1].parent not in seen:
                seen.add(found[-1].parent)
                found.append(self.inv.nodes[found[-1].parent])
            self._chains[node.name] = found
        return found

    def _resources(self) -> None:
        for node in sorted(self.inv.nodes.values(), key=lambda n: n.name):
            chain = self.chain(node)
            folders = [n for n in chain[1:] if n.kind == "folder"]
            tier, app = "", ""
            if node.kind == "project":
                names = [v for f in folders for v in (f.name, f.id, f.display)]
                tier = self.config.tier_for(system=SYSTEM, kind="project", id=node.id, tags=node.labels,
                                            folders=names)
                app = self.config.app_for(system=SYSTEM, kind="project", id=node.id)
                for ancestor in chain[1:]:
                    self.projects_below[ancestor.name].append(node)
            else:
                tier = self.config.tier_for(system=SYSTEM, kind=node.kind, id=node.id)
            parent = self.inv.nodes.get(node.parent)
            attrs: dict[str, Any] = {"resource_name": node.name, "audited": node.audited,
                                     "policy_readable": node.bindings is not None}
            if node.kind == "project":
                attrs.update(labels=dict(node.labels), number=node.number, folders=[f.id for f in folders])
            self.b.resource(Resource(
                SYSTEM, node.kind, node.id, name=node_label(node), tier=tier, app=app,
                parent=parent.key if parent else "", attrs=attrs))

    # -- deny

    def identities(self, key: str, member: Member) -> set[str]:
        forms = deny_forms(member)
        for container in self.members.containers(key):
            forms |= deny_forms(parse_member(container.split(":", 1)[1]))
        return forms

    def deny(self, key: str, member: Member, permissions: Iterable[str], target: Node) -> tuple[set[str], list[str], list[str]]:
        """(permissions denied to the principal on target, deny policies that did it, notes)."""
        rules = [(node, rule) for node in self.chain(target) for rule in node.deny or []]
        if not rules:
            return set(), [], []
        identities = self.identities(key, member)
        removed: set[str] = set()
        policies: list[str] = []
        notes: list[str] = []
        member_forms: set[str] = set()
        if member.kind == "group":
            members, _ = self.members.transitive_members(member.value.lower())
            for ident in members:
                member_forms |= deny_forms(parse_member(ident))
        for node, rule in rules:
            hit = denied_permissions(rule, permissions, self.catalogue)
            if not hit:
                continue
            if rule.condition:
                if deny_applies(rule, identities):
                    notes.append(f"deny policy {rule.policy} on {node.name} denies {', '.join(sorted(hit)[:3])} "
                                 f"only when {rule.condition}: not applied")
                continue
            if deny_applies(rule, identities):
                removed |= hit
                if rule.policy not in policies:
                    policies.append(rule.policy)
            elif member_forms & set(rule.denied_principals):
                some = sorted(member_forms & set(rule.denied_principals))
                notes.append(f"deny policy {rule.policy} on {node.name} denies {', '.join(sorted(hit)[:3])} "
                             f"to some members ({', '.join(some[:3])}); the group's grant still shows them")
        return removed, policies, notes

    # -- service accounts: who can act as or impersonate them

    def _service_account_access(self) -> None:
        wanted = self.catalogue.impersonation
        for email, sa in sorted(self.inv.service_accounts.items()):
            project = self.inv.node_of_project(sa.project)
            if project is None:
                continue
            sa_key = self.members.service_account_key(email)
            for binding in sa.bindings or []:
                self._service_account_binding(email, project, binding)
            sources: list[tuple[Binding, str, Node]] = [(b, f"service account {email}", project)
                                                        for b in sa.bindings or []]
            for node in self.chain(project):
                sources += [(b, node_label(node), node) for b in node.bindings or []]
            for binding, where, where_node in sources:
                if binding.condition and binding.condition.expired(self.now):
                    continue
                role = self.inv.roles.get(binding.role)
                permissions = (role.permissions if role and not role.deleted else frozenset()) & wanted
                if not permissions:
                    continue
                for raw in binding.members:
                    member = parse_member(raw)
                    for key in self.members.keys_for(member, where_node, binding.role):
                        if key == sa_key:
                            continue
                        removed, _, notes = self.deny(key, member, permissions, project)
                        effective = permissions - removed
                        if not effective:
                            continue
                        access = self.sa_access[email].setdefault(key, _Access())
                        access.permissions |= effective
                        access.reasons.append(f"{binding.role} on {where}")
                        access.conditions.append(binding.condition.expression if binding.condition else "")
                        access.expiries.append(iso(binding.condition.expires)
                                               if binding.condition and binding.condition.expires else None)
                        access.uncertain += notes

    def _service_account_binding(self, email: str, project: Node, binding: Binding) -> None:
        """A role bound on a service account: a grant to review (its power flows through edges)."""
        condition = binding.condition
        if condition and condition.expired(self.now):
            self.counts["expired_bindings"] += 1
            self._expired(binding, project, project, f"service account {email}", on=f" on serviceAccount:{email}")
            return
        role = self.inv.roles.get(binding.role)
        permissions = role.permissions if role is not None and not role.deleted else frozenset()
        where = f"service account {email}"
        entitlement = f"{binding.role} on serviceAccount:{email}"
        if condition is not None:
            entitlement += f" if {condition.title or condition.expression}"
        for raw in binding.members:
            member = parse_member(raw)
            if member.kind == "deleted":
                self.counts["deleted_members"] += 1
                continue
            self.members.membership_gaps(member, project, binding.role, where)
            for key in self.members.keys_for(member, project, binding.role):
                attrs: dict[str, Any] = {"bound_at": [project.key], "service_account": email,
                                         "actions": self.interesting(permissions)}
                if role is None:
                    attrs["uncertain"] = [f"role {binding.role} could not be read: its permissions are unknown"]
                if condition is not None:
                    attrs["conditional"] = condition.conditional(self.now)
                self._merge(_GrantRecord(
                    key, entitlement, project.key, set(), Via.DIRECT, f"{binding.role} bound on {where}",
                    condition.expression if condition else "",
                    iso(condition.expires) if condition and condition.expires else None, 0, attrs))

    def _expired(self, binding: Binding, bound: Node, resource: Node, where: str, *, on: str = "") -> None:
        """A binding whose request.time condition has passed: it confers nothing, but it is still in
        the policy, so it is kept as a grant without capabilities, marked expired (FE-EMG-006)."""
        condition = binding.condition
        assert condition is not None and condition.expires is not None
        entitlement = f"{binding.role}{on} if {condition.title or condition.expression}"
        for raw in binding.members:
            member = parse_member(raw)
            if member.kind == "deleted":
                continue
            for key in self.members.keys_for(member, bound, binding.role):
                attrs: dict[str, Any] = {"bound_at": [bound.key], "expired": True, "conditional": False}
                if condition.title:
                    attrs["condition_title"] = condition.title
                if condition.not_before is not None:
                    attrs["not_before"] = iso(condition.not_before)
                self._merge(_GrantRecord(
                    key, entitlement, resource.key, set(), Via.DIRECT,
                    f"{binding.role} bound on {where} until {iso(condition.expires)} (expired: confers nothing)",
                    condition.expression, iso(condition.expires), 0, attrs))

    def act_as(self, key: str, project: Node) -> Any:
        """A service account of ``project`` the principal may act as, None, or UNKNOWN."""
        emails = self.inv.project_service_accounts.get(project.id)
        if emails is None:
            return UNKNOWN
        mine = {key} | self.members.containers(key)
        unreadable = False
        for email in sorted(emails):
            sa = self.inv.service_accounts[email]
            if sa.disabled:
                continue
            if sa.bindings is None:
                unreadable = True
            for holder, access in self.sa_access.get(email, {}).items():
                if holder in mine and ACT_AS in access.permissions:
                    return email
        return UNKNOWN if unreadable else None

    def vehicle(self, key: str, project: Node) -> str:
        """A permission that lets the principal run a workload in ``project`` (what actAs needs), or ""."""
        for holder in sorted({key} | self.members.containers(key)):
            held = self.project_permissions.get((holder, project.id), set())
            found = [p for p in self.catalogue.act_as_vehicles if p in held]
            if found:
                return found[0]
        return ""

    def _service_account_edges(self) -> None:
        catalogue = self.catalogue
        for email, holders in sorted(self.sa_access.items()):
            sa_key = self.members.service_account_key(email)
            project = self.inv.node_of_project(self.inv.service_accounts[email].project)
            trusted: list[str] = []
            for holder, access in sorted(holders.items()):
                reasons = list(dict.fromkeys(access.reasons))
                through = "; ".join(reasons[:3]) + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else "")
                condition = "" if "" in access.conditions else access.conditions[0]
                attrs: dict[str, Any] = {"permissions": sorted(access.permissions)}
                if access.expiries and all(access.expiries):  # every binding behind it expires: time-bound
                    attrs["expires"] = min(e for e in access.expiries if e)
                if access.uncertain:
                    attrs["uncertain"] = list(dict.fromkeys(access.uncertain))
                token = sorted(access.permissions & catalogue.token)
                if token or access.permissions & catalogue.grant_self:
                    how = (f"can impersonate it ({', '.join(token)})" if token
                           else "can grant itself impersonation (iam.serviceAccounts.setIamPolicy)")
                    self.members.edge(holder, sa_key, EdgeKind.CAN_ASSUME, f"{how} through {through}",
                              condition=condition, attrs=attrs)
                elif project is not None:
                    # actAs alone runs nothing: it needs a permission to start a workload as the account
                    self._act_as_edges(holder, sa_key, project, through, condition, attrs)
                if holder.startswith("ci:") and Edge(holder, sa_key, EdgeKind.CAN_ASSUME).key in self.b.edges:
                    trusted.append(holder[3:])
            if trusted:
                self.b.with_attrs(sa_key, oidc_subjects=sorted(trusted),
                                  oidc_wildcard=any(admits_any_context(p) for p in trusted))

    def _act_as_edges(self, holder: str, sa_key: str, project: Node, through: str, condition: str,
                      attrs: dict[str, Any]) -> None:
        candidates = [(holder, "")]
        if holder.startswith("gcp:group:"):
            group = holder.removeprefix("gcp:group:")
            members, _ = self.members.transitive_members(group)
            for ident in members:
                kind, _, email = ident.partition(":")
                if kind == "user":
                    candidates.append((principal_key(SYSTEM, f"user:{email}"), f" (member of group:{group})"))
                elif kind == "serviceaccount":
                    candidates.append((self.members.service_account_key(email), f" (member of group:{group})"))
        made = False
        for candidate, membership in candidates:
            vehicle = self.vehicle(candidate, project)
            if not vehicle:
                continue
            made = True
            self.members.edge(candidate, sa_key, EdgeKind.CAN_ASSUME,
                      f"can run a workload as it: iam.serviceAccounts.actAs through {through}{membership}, "
                      f"and {vehicle} on {node_label(project)}", condition=condition, attrs=attrs)
            if candidate == holder:
                break  # members reach the group's edge through member-of
        if not made:
            self.counts["act_as_without_workload_permission"] += 1

    # -- bindings into grants

    def _applications(self, bound: Node, binding: Binding) -> list[_Application]:
        condition = binding.condition
        if condition and condition.expired(self.now):
            self.counts["expired_bindings"] += 1
            self._expired(binding, bound, bound, node_label(bound))
            return []
        role = self.inv.roles.get(binding.role)
        permissions = role.permissions if role is not None and not role.deleted else frozenset()
        targets = [bound] + sorted(self.projects_below.get(bound.name, []), key=lambda n: n.name)
        found = []
        for raw in binding.members:
            member = parse_member(raw)
            if member.kind == "deleted":
                self.counts["deleted_members"] += 1
                continue
            keys = self.members.keys_for(member, bound, binding.role)
            self.members.membership_gaps(member, bound, binding.role, node_label(bound))
            for key in keys:
                for target in targets:
                    removed, policies, notes = self.deny(key, member, permissions, target)
                    # share the role's set unless a deny changed it: large orgs have many applications
                    effective = self._without(permissions, removed) if removed else permissions
                    found.append(_Application(key, member, binding, role, bound, target,
                                              effective, removed, policies, notes))
        return found

    def _without(self, permissions: frozenset[str], removed: set[str]) -> frozenset[str]:
        """``permissions - removed``, one shared set per distinct result (a deny repeats per project)."""
        key = (permissions, frozenset(removed))
        found = self._without_cache.get(key)
        if found is None:
            found = self._without_cache[key] = frozenset(permissions - removed)
        return found

    def _grant(self, app: _Application) -> None:
        catalogue = self.catalogue
        key, member, binding, role, bound, target = app.key, app.member, app.binding, app.role, app.bound, app.target
        condition = binding.condition
        attrs: dict[str, Any] = {"bound_at": [bound.key]}
        uncertain: list[str] = list(self.b.principals[key].attrs.get("uncertain", []))
        if role is None:
            uncertain.append(f"role {binding.role} could not be read: its permissions are unknown")
        elif role.deleted:
            attrs["role_deleted"] = True
        removed, policies, effective = app.removed, app.policies, app.effective
        uncertain += app.notes
        capabilities: set[str] = set()
        admin = admin_permissions(bound.kind, target.kind, catalogue)
        if effective & admin or (binding.role in catalogue.admin_roles and not removed & admin):
            capabilities.add(ACCESS_ADMIN)
        if target.kind == "project":
            deploys, note = self._deploy(key, effective, target)
            if deploys:
                capabilities.add(DEPLOY_RUN)
            attrs.update(note.get("attrs", {}))
            uncertain += note.get("uncertain", [])
        if capabilities and self.b.principals[key].attrs.get("disabled"):
            # a disabled service account acts only once someone enables it again
            attrs["latent"] = True
            uncertain.append("held by a disabled service account: it needs enabling first")
        attrs["actions"] = self.interesting(effective)
        if removed:
            attrs["denied"] = catalogue.interesting(removed) or sorted(removed)[:20]
            attrs["deny_policies"] = policies
        if condition is not None:
            attrs["conditional"] = condition.conditional(self.now)
            if condition.title:
                attrs["condition_title"] = condition.title
            if condition.not_before is not None:
                attrs["not_before"] = iso(condition.not_before)
        if uncertain:
            attrs["uncertain"] = list(dict.fromkeys(uncertain))
        chain = [n.name for n in self.chain(target)]
        distance = chain.index(bound.name) if bound.name in chain else 0
        group = f" (member group:{member.value.lower()})" if member.kind == "group" else ""
        if distance == 0:
            via, detail = Via.DIRECT, f"{binding.role} bound on {node_label(bound)}{group}"
        else:
            via, detail = Via.INHERITED, f"{binding.role} bound on {node_label(bound)}, inherited by {node_label(target)}"
        entitlement = binding.role
        if condition is not None:
            entitlement += f" if {condition.title or condition.expression}"
        record = _GrantRecord(key, entitlement, target.key, capabilities, via, detail,
                              condition.expression if condition else "",
                              iso(condition.expires) if condition and condition.expires else None, distance, attrs)
        self._merge(record)

    def deploy_permissions(self, permissions: frozenset[str]) -> tuple[list[str], list[str]]:
        """(deploy permissions that suffice alone, those that also need actAs), cached per set."""
        found = self._deploy_cache.get(permissions)
        if found is None:
            plain = [p for platform in self.catalogue.deploy if not platform.needs_act_as
                     for p in platform.matching(permissions)]
            needing = [p for platform in self.catalogue.deploy if platform.needs_act_as
                       for p in platform.matching(permissions)]
            found = self._deploy_cache[permissions] = (plain, needing)
        return found

    def interesting(self, permissions: frozenset[str]) -> list[str]:
        found = self._interesting_cache.get(permissions)
        if found is None:
            found = self._interesting_cache[permissions] = self.catalogue.interesting(permissions)
        return list(found)

    def _deploy(self, key: str, permissions: frozenset[str], project: Node) -> tuple[bool, dict[str, Any]]:
        plain, needing = self.deploy_permissions(permissions)
        if plain:
            return True, {}
        if not needing:
            return False, {}
        found = self.act_as(key, project)
        if found is UNKNOWN:
            return True, {"uncertain": [f"{', '.join(needing[:2])} also needs actAs on a service account of "
                                        f"{project.id}, which could not be read; assumed"]}
        if found:
            return True, {"attrs": {"act_as": found}}
        return False, {"attrs": {"missing": f"iam.serviceAccounts.actAs on a service account of {project.id} "
                                            f"(needed with {', '.join(needing[:2])})"}}

    def _combined_deploy_grants(self) -> None:
        """Group holds the deploy permission, a member holds actAs on its own: the member deploys."""
        for record in list(self.grants.values()):
            if DEPLOY_RUN in record.capabilities or "missing" not in record.attrs:
                continue
            if not record.principal.startswith("gcp:group:"):
                continue
            project = self.inv.nodes.get(self.b.resources[record.resource].attrs["resource_name"])
            group = record.principal.removeprefix("gcp:group:")
            members, _ = self.members.transitive_members(group)
            for ident in members:
                if not ident.startswith(("user:", "serviceaccount:")):
                    continue
                kind, _, email = ident.partition(":")
                key = (principal_key(SYSTEM, f"user:{email}") if kind == "user"
                       else self.members.service_account_key(email))
                found = self.act_as(key, project)
                if not isinstance(found, str):
                    continue
                role = record.entitlement
                self._merge(_GrantRecord(
                    key, f"{role} through group:{group} with actAs", record.resource, {DEPLOY_RUN}, Via.GROUP,
                    f"{record.detail}; member of group:{group}, and may act as {found} on its own",
                    record.condition, record.expires, record.distance,
                    {**record.attrs, "act_as": found, "missing": None, "through_group": f"group:{group}"}))

    def _merge(self, record: _GrantRecord) -> None:
        ident = (record.principal, record.entitlement, record.resource)
        found = self.grants.get(ident)
        if found is None:
            self.grants[ident] = record
            return
        found.capabilities |= record.capabilities
        bound = list(dict.fromkeys(found.attrs.get("bound_at", []) + record.attrs.get("bound_at", [])))
        if record.distance < found.distance:
            record.capabilities = found.capabilities
            record.attrs["bound_at"] = bound
            self.grants[ident] = record
        else:
            found.attrs["bound_at"] = bound

    # -- result

    def _result(self) -> SourceResult:
        for record in self.grants.values():
            attrs = known_attrs(record.attrs)
            capabilities = tuple(c for c in (DEPLOY_RUN, ACCESS_ADMIN) if c in record.capabilities)
            self.b.grant(Grant(SYSTEM, record.principal, record.entitlement, record.resource, capabilities,
                               via=record.via, detail=record.detail, condition=record.condition,
                               expires=record.expires, attrs=attrs))
        stats = {f"{k}": v for k, v in sorted(self.counts.items())}
        # Reads run in parallel: the result is sorted so that every run gives the same one.
        return self.b.result(self.name, SYSTEM, ordered=True, stats=stats)
