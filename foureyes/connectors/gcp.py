"""The GCP connector: org/folder/project IAM, roles to permissions, service accounts, workload identity.

`GcpConnector.collect` reads through `gcp_fetch` and translates here: effective bindings per
resource (own and inherited), minus deny rules, into grants with deploy.run / access.admin,
can-assume edges to service accounts, and CI trust patterns (docs/connectors.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from ..config import Config, GcpSource
from ..model import (
    ACCESS_ADMIN,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
    principal_key,
)
from .base import Progress, ProgressEvent, SourceBuilder, no_progress, utcnow
from .gcp_fetch import Binding, Clients, Fetcher, Inventory, Node, credentials_for
from .gcp_iam import (
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
    now_utc,
    parse_member,
    service_account_project,
    workload_trusts,
)

SYSTEM = "gcp"


class GcpConnector:
    """`[sources.gcp]`: reads an organisation (or folders, or projects) read-only."""

    name = "gcp"

    def __init__(self, section: GcpSource, *, config: Config):
        self.section = section
        self.config = config

    def collect(self, progress: Progress = no_progress) -> SourceResult:
        started = utcnow()
        clients = Clients(self.section, credentials_for(self.section))
        try:
            fetcher = Fetcher(self.section, clients, progress, self.name)
            inventory = fetcher.fetch()
        finally:
            clients.close()
        progress(ProgressEvent(self.name, "translating bindings into grants"))
        result = translate(inventory, self.config, now=now_utc(), name=self.name)
        stats = {**fetcher.stats(), **dict(result.stats)}
        return SourceResult(
            name=result.name, system=SYSTEM, principals=result.principals, resources=result.resources,
            grants=result.grants, edges=result.edges, gaps=result.gaps, started_at=started,
            finished_at=utcnow(), stats=stats,
        )


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
        self.member_of: dict[str, set[str]] = defaultdict(set)  # member id -> group emails containing it
        self.group_members: dict[str, list[str]] = {}
        self.domains: set[str] = set()  # domain:X members seen in bindings
        self.public: set[str] = set()  # allUsers / allAuthenticatedUsers seen
        self.sa_access: dict[str, dict[str, _Access]] = defaultdict(dict)  # SA email -> principal key -> access
        self.projects_below: dict[str, list[Node]] = defaultdict(list)
        self._chains: dict[str, list[Node]] = {}
        self._containers: dict[str, set[str]] = {}
        self._members: dict[str, tuple[list[str], list[str]]] = {}
        # role permission sets are shared frozensets (their hash is cached): memoise per set
        self._deploy_cache: dict[frozenset[str], tuple[list[str], list[str]]] = {}
        self._interesting_cache: dict[frozenset[str], list[str]] = {}
        self._without_cache: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}
        # (principal key, project id) -> workload-starting permissions its own bindings give it there
        self.project_permissions: dict[tuple[str, str], set[str]] = defaultdict(set)

    # -- entry

    def run(self) -> SourceResult:
        self._resources()
        self._groups()
        self._everyone_members()
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
        self._domain_edges()
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
                SYSTEM, node.kind, node.id, name=_node_label(node), tier=tier, app=app,
                parent=parent.key if parent else "", attrs=attrs))

    def node_of_project(self, project_id: str) -> Node | None:
        return self.inv.nodes.get(f"projects/{project_id}")

    # -- principals

    def _principal(self, key: str, *, system: str, id: str, kind: str, display_name: str = "",
                   email: str | None = None, home: str = "", attrs: dict[str, Any] | None = None) -> str:
        if key not in self.b.principals:
            self.b.principal(Principal(system, id, kind, display_name, email, home, _known(attrs or {})))
        return key

    def keys_for(self, member: Member, where: Node | None, role: str) -> list[str]:
        """Principal keys a member string stands for (a WIF member may stand for several)."""
        kind = member.kind
        if kind == "user":
            email = member.value.lower()
            return [self._principal(principal_key(SYSTEM, f"user:{email}"), system=SYSTEM, id=f"user:{email}",
                                    kind=Kind.USER, display_name=email, email=email,
                                    attrs={"email_source": "member"})]
        if kind == "group":
            email = member.value.lower()
            known = self.inv.groups.get(email)
            return [self._principal(principal_key(SYSTEM, f"group:{email}"), system=SYSTEM, id=f"group:{email}",
                                    kind=Kind.GROUP, display_name=f"group {email}",
                                    attrs={"expanded": known is not None,
                                           "members_source": known[1] if known else ""})]
        if kind == "serviceAccount":
            return [self.service_account_key(member.value.lower())]
        if kind == "domain":
            domain = member.value.lower()
            self.domains.add(domain)
            return [self._principal(principal_key(SYSTEM, f"domain:{domain}"), system=SYSTEM, id=f"domain:{domain}",
                                    kind=Kind.GROUP, display_name=f"everyone in domain {domain}")]
        if kind == "public":
            self.public.add(member.raw)
            shown = "anyone on the internet" if member.raw == "allUsers" else "anyone with a Google account"
            return [self._principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.GROUP,
                                    display_name=f"{member.raw} ({shown})")]
        if kind == "wif" and where is not None:
            return self._workload_keys(member, where, role)
        if kind == "workforce":
            single = member.raw.startswith("principal://")
            return [self._principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw,
                                    kind=Kind.USER if single else Kind.GROUP,
                                    display_name=f"workforce identity {member.raw.rsplit('/', 1)[-1]}")]
        if kind == "deleted":
            return []
        return [self._principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.GROUP,
                                display_name=member.raw)]

    def service_account_key(self, email: str) -> str:
        sa = self.inv.service_accounts.get(email)
        project = sa.project if sa else service_account_project(email)
        node = self.node_of_project(project) if project else None
        if node is None and email.endswith("-compute@developer.gserviceaccount.com"):
            node = self.inv.node_by_number(email.split("-", 1)[0])
        attrs: dict[str, Any] = {}
        if sa is not None:
            attrs = {"disabled": sa.disabled, "unique_id": sa.unique_id}
            if sa.user_managed_keys is not None:
                attrs["user_managed_keys"] = sa.user_managed_keys
        where = f" in {node.id}" if node else ""
        return self._principal(principal_key(SYSTEM, f"serviceAccount:{email}"), system=SYSTEM,
                               id=f"serviceAccount:{email}", kind=Kind.SERVICE_ACCOUNT,
                               display_name=f"service account {email.split('@')[0]}{where}",
                               home=node.key if node else "", attrs=attrs)

    def _workload_keys(self, member: Member, where: Node, role: str) -> list[str]:
        pool = self.inv.pools.get(member.pool)
        pool_id = member.pool.rsplit("/", 1)[-1]
        selector = {"subject": f"subject {member.selected}", "all": "every identity",
                    "attribute": f"attribute.{member.attribute}/{member.selected}",
                    "group": f"group {member.selected}"}[member.selector]
        if pool is not None and (pool.disabled or not any(p.github for p in pool.providers if not p.disabled)):
            if pool.disabled:
                self.counts["disabled_pool_members"] += 1
                return []
            # federation from something other than GitHub Actions: visible, not joinable to CI contexts
            issuers = sorted({p.issuer for p in pool.providers})
            return [self._principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.APP,
                                    display_name=f"workload identity {selector} of pool {pool_id}",
                                    attrs={"issuers": issuers})]
        trusts, problems = workload_trusts(member, pool)
        for problem in problems:
            self.gap(where.key, f"workload identity member {member.raw} ({role}): {problem}",
                     "which CI runs it admits, and so who can use it")
        if not trusts:
            if not problems:
                self.counts["unmatchable_wif_members"] += 1
                return []
            return [self._principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.APP,
                                    display_name=f"workload identity {selector} of pool {pool_id}")]
        keys = []
        for trust in trusts:
            key = principal_key("ci", trust.pattern)
            self._principal(key, system="ci", id=trust.pattern, kind=Kind.WORKLOAD_PATTERN,
                            display_name=f"workload identity {selector} (pool {pool_id})",
                            attrs={"oidc_subjects": [trust.pattern], "oidc_wildcard": admits_any_context(trust.pattern),
                                   "members": [], "uncertain": []})
            attrs = self.b.principals[key].attrs
            members, uncertain = list(attrs.get("members", [])), list(attrs.get("uncertain", []))
            if member.raw not in members:
                members.append(member.raw)
            for note in trust.uncertain:
                if note not in uncertain:
                    uncertain.append(note)
            self.b.with_attrs(key, **_known({"members": members, "uncertain": uncertain}))
            keys.append(key)
        return keys

    # -- groups

    def _groups(self) -> None:
        for email, found in sorted(self.inv.groups.items()):
            if found is None:
                continue
            members, source = found
            self.group_members[email] = members
            group_key = self._principal(principal_key(SYSTEM, f"group:{email}"), system=SYSTEM, id=f"group:{email}",
                                        kind=Kind.GROUP, display_name=f"group {email}",
                                        attrs={"expanded": True, "members_source": source})
            for raw in members:
                member = parse_member(raw)
                if member.kind not in ("user", "group", "serviceAccount"):
                    continue
                self.member_of[member.principal_id.lower()].add(email)
                (key,) = self.keys_for(member, None, "")
                self.edge(key, group_key, EdgeKind.MEMBER_OF, f"member of group {email} ({source})")

    def _everyone_members(self) -> None:
        """domain:, allUsers and allAuthenticatedUsers members, known before any membership is asked."""
        bindings = [b for n in self.inv.nodes.values() for b in n.bindings or []]
        bindings += [b for sa in self.inv.service_accounts.values() for b in sa.bindings or []]
        for binding in bindings:
            for raw in binding.members:
                member = parse_member(raw)
                if member.kind == "domain":
                    self.domains.add(member.value.lower())
                elif member.kind == "public":
                    self.public.add(member.raw)

    def containers(self, key: str) -> set[str]:
        """Principal keys whose grants also apply to ``key``: its groups (transitively), domain, public."""
        found = self._containers.get(key)
        if found is None:
            found = self._containers[key] = self._find_containers(key)
        return found

    def _find_containers(self, key: str) -> set[str]:
        ident = key.split(":", 1)[1].lower()
        found: set[str] = set()
        queue = list(self.member_of.get(ident, ()))
        while queue:
            email = queue.pop()
            group = f"gcp:group:{email}"
            if group in found:
                continue
            found.add(group)
            queue.extend(self.member_of.get(f"group:{email}", ()))
        if key.startswith("gcp:user:") or key.startswith("gcp:group:"):
            domain = ident.rsplit("@", 1)[-1]
            if domain in self.domains:
                found.add(f"gcp:domain:{domain}")
        if key.startswith(("gcp:user:", "gcp:serviceAccount:", "gcp:group:")):
            found.update(f"gcp:{p}" for p in self.public)
        return found

    def transitive_members(self, email: str) -> tuple[list[str], list[str]]:
        """(member ids, group emails that could not be expanded) below a group."""
        found = self._members.get(email)
        if found is None:
            found = self._members[email] = self._find_members(email)
        return found

    def _find_members(self, email: str) -> tuple[list[str], list[str]]:
        out: list[str] = []
        unknown: list[str] = []
        seen = {email}
        queue = [email]
        while queue:
            current = queue.pop(0)
            members = self.group_members.get(current)
            if members is None:
                unknown.append(current)
                continue
            for raw in members:
                member = parse_member(raw)
                ident = member.principal_id.lower()
                if ident not in out:
                    out.append(ident)
                if member.kind == "group" and member.value.lower() not in seen:
                    seen.add(member.value.lower())
                    queue.append(member.value.lower())
        return out, unknown

    def _membership_gaps(self, member: Member, where: Node, role: str, scope: str) -> None:
        if member.kind == "group":
            _, unknown = self.transitive_members(member.value.lower())
            for email in unknown:
                how = "not in [sources.gcp.groups]" + (" and not expandable through Cloud Identity"
                                                        if self.inv.cloud_identity else "")
                nested = "" if email == member.value.lower() else f" (inside group {member.value.lower()})"
                error = self.inv.group_errors.get(email)
                self.gap(where.key, f"members of group:{email}{nested} unknown ({how}); "
                         f"it holds {role} on {scope}" + (f"; Cloud Identity answered: {error}" if error else ""),
                         f"people who hold {role} on {scope} through group:{member.value.lower()}")
        elif member.kind in ("domain", "public"):
            self.gap(where.key, f"{member.raw} holds {role} on {scope}: its members cannot be listed",
                     "people outside the accounts seen in GCP policies who hold this role")
        elif member.kind == "workforce" and member.raw.startswith("principalSet://"):
            self.gap(where.key, f"workforce identity set {member.raw} holds {role} on {scope}: "
                     "its members cannot be listed", "the people in that workforce pool set")
        elif member.kind == "unknown":
            self.gap(where.key, f"member {member.raw!r} of {role} on {scope} is not understood",
                     "who holds this role through it")

    # -- deny

    def identities(self, key: str, member: Member) -> set[str]:
        forms = deny_forms(member)
        for container in self.containers(key):
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
            members, _ = self.transitive_members(member.value.lower())
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
            project = self.node_of_project(sa.project)
            if project is None:
                continue
            sa_key = self.service_account_key(email)
            for binding in sa.bindings or []:
                self._service_account_binding(email, project, binding)
            sources: list[tuple[Binding, str, Node]] = [(b, f"service account {email}", project)
                                                        for b in sa.bindings or []]
            for node in self.chain(project):
                sources += [(b, _node_label(node), node) for b in node.bindings or []]
            for binding, where, where_node in sources:
                if binding.condition and binding.condition.expired(self.now):
                    continue
                role = self.inv.roles.get(binding.role)
                permissions = (role.permissions if role and not role.deleted else frozenset()) & wanted
                if not permissions:
                    continue
                for raw in binding.members:
                    member = parse_member(raw)
                    for key in self.keys_for(member, where_node, binding.role):
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
                        access.uncertain += notes

    def _service_account_binding(self, email: str, project: Node, binding: Binding) -> None:
        """A role bound on a service account: a grant to review (its power flows through edges)."""
        condition = binding.condition
        if condition and condition.expired(self.now):
            self.counts["expired_bindings"] += 1
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
            self._membership_gaps(member, project, binding.role, where)
            for key in self.keys_for(member, project, binding.role):
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

    def act_as(self, key: str, project: Node) -> Any:
        """A service account of ``project`` the principal may act as, None, or UNKNOWN."""
        emails = self.inv.project_service_accounts.get(project.id)
        if emails is None:
            return UNKNOWN
        mine = {key} | self.containers(key)
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
        for holder in sorted({key} | self.containers(key)):
            held = self.project_permissions.get((holder, project.id), set())
            found = [p for p in self.catalogue.act_as_vehicles if p in held]
            if found:
                return found[0]
        return ""

    def _service_account_edges(self) -> None:
        catalogue = self.catalogue
        for email, holders in sorted(self.sa_access.items()):
            sa_key = self.service_account_key(email)
            project = self.node_of_project(self.inv.service_accounts[email].project)
            trusted: list[str] = []
            for holder, access in sorted(holders.items()):
                reasons = list(dict.fromkeys(access.reasons))
                through = "; ".join(reasons[:3]) + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else "")
                condition = "" if "" in access.conditions else access.conditions[0]
                attrs: dict[str, Any] = {"permissions": sorted(access.permissions)}
                if access.uncertain:
                    attrs["uncertain"] = list(dict.fromkeys(access.uncertain))
                token = sorted(access.permissions & catalogue.token)
                if token or access.permissions & catalogue.grant_self:
                    how = (f"can impersonate it ({', '.join(token)})" if token
                           else "can grant itself impersonation (iam.serviceAccounts.setIamPolicy)")
                    self.edge(holder, sa_key, EdgeKind.CAN_ASSUME, f"{how} through {through}",
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
            members, _ = self.transitive_members(group)
            for ident in members:
                kind, _, email = ident.partition(":")
                if kind == "user":
                    candidates.append((principal_key(SYSTEM, f"user:{email}"), f" (member of group:{group})"))
                elif kind == "serviceaccount":
                    candidates.append((self.service_account_key(email), f" (member of group:{group})"))
        made = False
        for candidate, membership in candidates:
            vehicle = self.vehicle(candidate, project)
            if not vehicle:
                continue
            made = True
            self.edge(candidate, sa_key, EdgeKind.CAN_ASSUME,
                      f"can run a workload as it: iam.serviceAccounts.actAs through {through}{membership}, "
                      f"and {vehicle} on {_node_label(project)}", condition=condition, attrs=attrs)
            if candidate == holder:
                break  # members reach the group's edge through member-of
        if not made:
            self.counts["act_as_without_workload_permission"] += 1

    # -- bindings into grants

    def _applications(self, bound: Node, binding: Binding) -> list[_Application]:
        condition = binding.condition
        if condition and condition.expired(self.now):
            self.counts["expired_bindings"] += 1
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
            keys = self.keys_for(member, bound, binding.role)
            self._membership_gaps(member, bound, binding.role, _node_label(bound))
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
            via, detail = Via.DIRECT, f"{binding.role} bound on {_node_label(bound)}{group}"
        else:
            via, detail = Via.INHERITED, f"{binding.role} bound on {_node_label(bound)}, inherited by {_node_label(target)}"
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
            members, _ = self.transitive_members(group)
            for ident in members:
                if not ident.startswith(("user:", "serviceaccount:")):
                    continue
                kind, _, email = ident.partition(":")
                key = (principal_key(SYSTEM, f"user:{email}") if kind == "user"
                       else self.service_account_key(email))
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

    # -- edges and gaps

    def edge(self, src: str, dst: str, kind: str, label: str, *, condition: str = "",
             attrs: dict[str, Any] | None = None) -> None:
        self.b.edge(Edge(src, dst, kind, label, condition, attrs or {}))

    def gap(self, resource: str, reason: str, hides: str) -> None:
        self.b.gap(Gap(SYSTEM, resource, reason, hides))

    def _domain_edges(self) -> None:
        for key, principal in sorted(self.b.principals.items()):
            if principal.kind != Kind.USER or not principal.email:
                continue
            domain = principal.email.rsplit("@", 1)[-1]
            if domain in self.domains:
                self.edge(key, f"gcp:domain:{domain}", EdgeKind.MEMBER_OF, f"account in domain {domain}")
            for public in sorted(self.public):
                self.edge(key, f"gcp:{public}", EdgeKind.MEMBER_OF, f"included in {public}")

    # -- result

    def _result(self) -> SourceResult:
        for record in self.grants.values():
            attrs = _known(record.attrs)
            capabilities = tuple(c for c in (DEPLOY_RUN, ACCESS_ADMIN) if c in record.capabilities)
            self.b.grant(Grant(SYSTEM, record.principal, record.entitlement, record.resource, capabilities,
                               via=record.via, detail=record.detail, condition=record.condition,
                               expires=record.expires, attrs=attrs))
        stats = {f"{k}": v for k, v in sorted(self.counts.items())}
        # Reads run in parallel: the result is sorted so that every run gives the same one.
        return self.b.result(self.name, SYSTEM, ordered=True, stats=stats)


def _known(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes with a value: an empty list or string says nothing a reader needs."""
    return {k: v for k, v in attrs.items() if v not in (None, [], "")}


def _node_label(node: Node) -> str:
    if node.kind == "org":
        return f"organization {node.display}" + (f" ({node.id})" if node.display != node.id and node.display != node.name else "")
    if node.kind == "folder":
        return f"folder {node.display}" + (f" ({node.id})" if node.display not in (node.id, node.name) else "")
    return f"project {node.id}"
