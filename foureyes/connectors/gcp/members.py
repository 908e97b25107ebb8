"""GCP members as principals, and who contains whom: groups (transitively), domains, the public.

Member strings (`user:`, `group:`, `serviceAccount:`, `domain:`, `allUsers`, workload and
workforce identities) become principals; a workload identity for GitHub Actions becomes the
CI subject patterns it admits. What cannot be expanded is a Gap, never "nobody".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ...model import Edge, EdgeKind, Gap, Kind, Principal, principal_key
from ..base import SourceBuilder
from .iam import Member, admits_any_context, parse_member, service_account_project, workload_trusts
from .inventory import SYSTEM, Inventory, Node


class Members:
    """Principals of one translation, and the membership questions the grants ask."""

    def __init__(self, inventory: Inventory, b: SourceBuilder, counts: Counter[str]):
        self.inv = inventory
        self.b = b
        self.counts = counts
        self.member_of: dict[str, set[str]] = defaultdict(set)  # member id -> group emails containing it
        self.group_members: dict[str, list[str]] = {}
        self.domains: set[str] = set()  # domain:X members seen in bindings
        self.public: set[str] = set()  # allUsers / allAuthenticatedUsers seen
        self._containers: dict[str, set[str]] = {}
        self._members: dict[str, tuple[list[str], list[str]]] = {}

    def edge(self, src: str, dst: str, kind: str, label: str, *, condition: str = "",
             attrs: dict[str, Any] | None = None) -> None:
        self.b.edge(Edge(src, dst, kind, label, condition, attrs or {}))

    def gap(self, resource: str, reason: str, hides: str) -> None:
        self.b.gap(Gap(SYSTEM, resource, reason, hides))

    def principal(self, key: str, *, system: str, id: str, kind: str, display_name: str = "",
                   email: str | None = None, home: str = "", attrs: dict[str, Any] | None = None) -> str:
        if key not in self.b.principals:
            self.b.principal(Principal(system, id, kind, display_name, email, home, known_attrs(attrs or {})))
        return key

    def keys_for(self, member: Member, where: Node | None, role: str) -> list[str]:
        """Principal keys a member string stands for (a WIF member may stand for several)."""
        kind = member.kind
        if kind == "user":
            email = member.value.lower()
            return [self.principal(principal_key(SYSTEM, f"user:{email}"), system=SYSTEM, id=f"user:{email}",
                                    kind=Kind.USER, display_name=email, email=email,
                                    attrs={"email_source": "member"})]
        if kind == "group":
            email = member.value.lower()
            known = self.inv.groups.get(email)
            return [self.principal(principal_key(SYSTEM, f"group:{email}"), system=SYSTEM, id=f"group:{email}",
                                    kind=Kind.GROUP, display_name=f"group {email}",
                                    attrs={"expanded": known is not None,
                                           "members_source": known[1] if known else ""})]
        if kind == "serviceAccount":
            return [self.service_account_key(member.value.lower())]
        if kind == "domain":
            domain = member.value.lower()
            self.domains.add(domain)
            return [self.principal(principal_key(SYSTEM, f"domain:{domain}"), system=SYSTEM, id=f"domain:{domain}",
                                    kind=Kind.GROUP, display_name=f"everyone in domain {domain}")]
        if kind == "public":
            self.public.add(member.raw)
            shown = "anyone on the internet" if member.raw == "allUsers" else "anyone with a Google account"
            return [self.principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.GROUP,
                                    display_name=f"{member.raw} ({shown})")]
        if kind == "wif" and where is not None:
            return self.workload_keys(member, where, role)
        if kind == "workforce":
            single = member.raw.startswith("principal://")
            return [self.principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw,
                                    kind=Kind.USER if single else Kind.GROUP,
                                    display_name=f"workforce identity {member.raw.rsplit('/', 1)[-1]}")]
        if kind == "deleted":
            return []
        return [self.principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.GROUP,
                                display_name=member.raw)]

    def service_account_key(self, email: str) -> str:
        sa = self.inv.service_accounts.get(email)
        project = sa.project if sa else service_account_project(email)
        node = self.inv.node_of_project(project) if project else None
        if node is None and email.endswith("-compute@developer.gserviceaccount.com"):
            node = self.inv.node_by_number(email.split("-", 1)[0])
        attrs: dict[str, Any] = {}
        if sa is not None:
            attrs = {"disabled": sa.disabled, "unique_id": sa.unique_id}
            if sa.user_managed_keys is not None:
                attrs["user_managed_keys"] = sa.user_managed_keys
        where = f" in {node.id}" if node else ""
        return self.principal(principal_key(SYSTEM, f"serviceAccount:{email}"), system=SYSTEM,
                               id=f"serviceAccount:{email}", kind=Kind.SERVICE_ACCOUNT,
                               display_name=f"service account {email.split('@')[0]}{where}",
                               home=node.key if node else "", attrs=attrs)

    def workload_keys(self, member: Member, where: Node, role: str) -> list[str]:
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
            return [self.principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.APP,
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
            return [self.principal(principal_key(SYSTEM, member.raw), system=SYSTEM, id=member.raw, kind=Kind.APP,
                                    display_name=f"workload identity {selector} of pool {pool_id}")]
        keys = []
        for trust in trusts:
            key = principal_key("ci", trust.pattern)
            self.principal(key, system="ci", id=trust.pattern, kind=Kind.WORKLOAD_PATTERN,
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
            self.b.with_attrs(key, **known_attrs({"members": members, "uncertain": uncertain}))
            keys.append(key)
        return keys

    # -- groups and who they contain

    def add_groups(self) -> None:
        for email, found in sorted(self.inv.groups.items()):
            if found is None:
                continue
            members, source = found
            self.group_members[email] = members
            group_key = self.principal(principal_key(SYSTEM, f"group:{email}"), system=SYSTEM, id=f"group:{email}",
                                        kind=Kind.GROUP, display_name=f"group {email}",
                                        attrs={"expanded": True, "members_source": source})
            for raw in members:
                member = parse_member(raw)
                if member.kind not in ("user", "group", "serviceAccount"):
                    continue
                self.member_of[member.principal_id.lower()].add(email)
                (key,) = self.keys_for(member, None, "")
                self.edge(key, group_key, EdgeKind.MEMBER_OF, f"member of group {email} ({source})")

    def note_everyone(self) -> None:
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

    def membership_gaps(self, member: Member, where: Node, role: str, scope: str) -> None:
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

    def domain_edges(self) -> None:
        for key, principal in sorted(self.b.principals.items()):
            if principal.kind != Kind.USER or not principal.email:
                continue
            domain = principal.email.rsplit("@", 1)[-1]
            if domain in self.domains:
                self.edge(key, f"gcp:domain:{domain}", EdgeKind.MEMBER_OF, f"account in domain {domain}")
            for public in sorted(self.public):
                self.edge(key, f"gcp:{public}", EdgeKind.MEMBER_OF, f"included in {public}")


def known_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes with a value: an empty list or string says nothing a reader needs."""
    return {k: v for k, v in attrs.items() if v not in (None, [], "")}
