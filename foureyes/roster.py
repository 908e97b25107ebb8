"""The roster: who works here, merged from every identity source in a snapshot (HR file, Okta,
Entra ID, Google Workspace), with each person's status, manager, department and end date; and
the identity-provider groups that feed a GitHub team or an IAM Identity Center group.

Pure: a snapshot in, values out. A source that could not read its people makes everyone it
might know "unknown", never "active".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from .model import (IDENTITY_SYSTEMS, PEOPLE_UNREAD, EdgeKind, Kind, Person, Principal, RosterEntry, RosterPerson,
                    RosterStatus, Snapshot)

# Whose word wins for manager, department, title and dates: the HR system first.
SOURCE_ORDER = ("roster", "okta", "entra", "google_workspace")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Roster:
    configured: bool = False  # an identity source is in the snapshot
    people: Mapping[str, RosterPerson] = field(default_factory=lambda: _EMPTY)  # by primary e-mail
    aliases: Mapping[str, tuple[str, str]] = field(default_factory=lambda: _EMPTY)  # alias -> (e-mail, where)
    unreadable: tuple[str, ...] = ()  # "okta: source failed: 403 …": why a status may be unknown
    sources: tuple[str, ...] = ()  # the identity sources' names

    def record_for(self, email: str, name: str = "") -> RosterPerson:
        """The roster's person for a linked person's e-mail; for anyone else "not in roster", or
        "unknown" when a source that might know them could not be read."""
        found = self.people.get(email) if email else None
        if found is not None:
            return found
        if self.unreadable:
            return RosterPerson(email=email, name=name, status=RosterStatus.UNKNOWN,
                                status_reason="could not read " + "; ".join(self.unreadable))
        return RosterPerson(email=email, name=name, status=RosterStatus.NOT_IN_ROSTER,
                            status_reason="in no identity source (" + ", ".join(self.sources) + ")")

    def manager_chain(self, email: str, *, limit: int = 50) -> list[str]:
        """The person's manager, their manager, and so on (e-mails; stops at a cycle)."""
        chain: list[str] = []
        seen: set[str] = set()
        current = self.people.get(email)
        while current is not None and current.manager and len(chain) < limit:
            if current.manager in seen:
                break
            chain.append(current.manager)
            seen.add(current.manager)
            current = self.people.get(current.manager)
        return chain

    def status_of(self, email: str) -> str:
        return self.record_for(email).status


def identity_sources(snapshot: Snapshot) -> list[Any]:
    return [s for s in snapshot.sources
            if s.system in IDENTITY_SYSTEMS or any(p.kind == Kind.PERSON for p in s.principals)]


def build_roster(snapshot: Snapshot, *, today: date | None = None) -> Roster:
    sources = identity_sources(snapshot)
    if not sources:
        return Roster()
    today = today or date.today()
    unreadable: list[str] = []
    records: list[Principal] = []
    for source in sources:
        if source.error:
            unreadable.append(f"{source.name}: {source.error}")
        unreadable.extend(f"{source.name}: {g.reason}" for g in source.gaps if g.hides == PEOPLE_UNREAD)
        records.extend(p for p in source.principals if p.kind == Kind.PERSON and p.email)
    primaries = {p.email for p in records if p.email}
    aliases: dict[str, tuple[str, str]] = {}
    for p in records:
        for alias in p.attrs.get("aliases", ()) or ():
            alias = str(alias).strip().lower()
            if alias and alias not in primaries and alias not in aliases:
                aliases[alias] = (str(p.email), f"{p.system} {_alias_kind(alias)}")

    def canonical(address: str) -> str:
        address = address.strip().lower()
        return aliases[address][0] if address not in primaries and address in aliases else address

    by_email: dict[str, list[Principal]] = defaultdict(list)
    for p in records:
        by_email[str(p.email)].append(p)
    groups = _groups_of(snapshot, {p.key for p in records})
    people = {email: _merge(email, found, canonical, today, groups)
              for email, found in sorted(by_email.items())}
    if unreadable:  # "active" where a source could not say otherwise is not known to be active
        people = {email: p if p.is_leaver else replace(
            p, status=RosterStatus.UNKNOWN, status_reason=f"{p.status_reason}; could not read {'; '.join(unreadable)}")
            for email, p in people.items()}
    return Roster(configured=True, people=MappingProxyType(people), aliases=MappingProxyType(aliases),
                  unreadable=tuple(unreadable), sources=tuple(s.name for s in sources))


def _alias_kind(alias: str) -> str:
    return "address" if "@" in alias else "login"


def _groups_of(snapshot: Snapshot, record_keys: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for edge in snapshot.edges():
        if edge.kind == EdgeKind.MEMBER_OF and edge.src in record_keys:
            out[edge.src].append(edge.dst)
    return out


def _rank(p: Principal) -> int:
    return SOURCE_ORDER.index(p.system) if p.system in SOURCE_ORDER else len(SOURCE_ORDER)


def _merge(email: str, found: list[Principal], canonical: Any, today: date,
           groups: Mapping[str, list[str]]) -> RosterPerson:
    found = sorted(found, key=lambda p: (_rank(p), p.key))

    def first(key: str) -> str:
        return next((str(p.attrs[key]) for p in found if p.attrs.get(key)), "")

    entries = tuple(RosterEntry(
        source=p.system, id=p.key, status=str(p.attrs.get("status", RosterStatus.ACTIVE)),
        raw_status=str(p.attrs.get("raw_status", "")), manager=canonical(str(p.attrs.get("manager", ""))),
        department=str(p.attrs.get("department", "")), end=str(p.attrs.get("end", ""))) for p in found)
    end = first("end")
    status, reason, left_on = RosterStatus.ACTIVE, "", ""
    for wanted in (RosterStatus.TERMINATED, RosterStatus.SUSPENDED):
        saying = [(e, p) for e, p in zip(entries, found) if e.status == wanted]
        if saying:
            entry, record = saying[0]
            status = wanted
            reason = "; ".join(f"{e.source}: {e.raw_status or e.status}" for e, _ in saying)
            left_on = end if end and end <= today.isoformat() else str(record.attrs.get("status_changed", ""))[:10]
            break
    if status == RosterStatus.ACTIVE and end and end < today.isoformat():
        status, reason, left_on = RosterStatus.TERMINATED, f"end date {end} has passed", end
    if status == RosterStatus.ACTIVE:
        reason = "; ".join(f"{e.source}: {e.raw_status or e.status}" for e in entries)
    # a self-reference (HR exports list the top of the tree as their own manager) is kept: the
    # manager reviewer rule skips it as "the subject" and looks further up
    manager = next((e.manager for e in entries if e.manager and e.manager != email),
                   next((e.manager for e in entries if e.manager), ""))
    return RosterPerson(
        email=email, name=first("name") or next((p.display_name for p in found if p.display_name), email),
        status=status, status_reason=reason, manager=manager, department=first("department"),
        title=first("title"), employee_number=first("employee_number"), start=first("start"), end=end,
        left_on=left_on, entries=entries,
        groups=tuple(dict.fromkeys(g for p in found for g in groups.get(p.key, ()))),
        apps=tuple(dict.fromkeys(str(a) for p in found for a in (p.attrs.get("apps") or ()))),
    )


# ---------------------------------------------------------------- groups that feed access


@dataclass(frozen=True)
class GroupFeed:
    """A GitHub team or an IAM Identity Center group whose members an identity-provider group sets."""

    target: str  # principal key of the team or group fed
    target_label: str
    target_system: str
    idp_group: str  # principal key of the identity-provider group
    idp_label: str
    idp_system: str
    how: str  # "GitHub team synchronisation", "SCIM provisioning into IAM Identity Center"
    idp_members: frozenset[str]  # person keys (e-mails)
    target_members: frozenset[str]  # person keys
    without_account: frozenset[str]  # identity-provider members with no account in the target's system

    @property
    def extra(self) -> frozenset[str]:
        """In the team, not in the identity-provider group: access nobody granted there."""
        return self.target_members - self.idp_members

    @property
    def missing(self) -> frozenset[str]:
        return self.idp_members - self.target_members - self.without_account

    @property
    def drifted(self) -> bool:
        return bool(self.extra or self.missing)


def group_feeds(snapshot: Snapshot, people: Mapping[str, Person], person_of: Mapping[str, str],
                roster: Roster) -> list[GroupFeed]:
    """Every team or group a snapshot says is fed by an identity-provider group, with both member lists."""
    if not roster.configured:
        return []
    principals = snapshot.principals
    idp_groups = [p for p in principals.values() if p.kind == Kind.GROUP and p.system in IDENTITY_SYSTEMS]
    if not idp_groups:
        return []
    by_id = {str(g.attrs.get("group_id", "")): g.key for g in idp_groups}
    by_name = {str(g.attrs.get("name", g.display_name)).strip().lower(): g.key for g in idp_groups}
    members_of: dict[str, list[str]] = defaultdict(list)  # group -> direct members (any principal)
    for edge in snapshot.edges():
        if edge.kind == EdgeKind.MEMBER_OF:
            members_of[edge.dst].append(edge.src)
    systems_of: dict[str, set[str]] = {key: {a.principal.split(":", 1)[0] for a in p.accounts}
                                       for key, p in people.items()}
    out = []
    for target in principals.values():
        if target.system in IDENTITY_SYSTEMS:
            continue
        for ref, how in _feed_refs(target):
            group_key = by_id.get(ref.get("id", "")) or by_name.get(ref.get("name", "").strip().lower())
            if group_key is None:
                continue
            idp = principals[group_key]
            idp_members = frozenset(_idp_members(group_key, members_of, principals, roster))
            target_members = frozenset(person_of[m] for m in members_of.get(target.key, ()) if m in person_of)
            without = frozenset(m for m in idp_members if target.system not in systems_of.get(m, set()))
            out.append(GroupFeed(
                target=target.key, target_label=target.label, target_system=target.system,
                idp_group=group_key, idp_label=idp.display_name or idp.id, idp_system=idp.system, how=how,
                idp_members=idp_members, target_members=target_members, without_account=without))
    return sorted(out, key=lambda f: (f.target, f.idp_group))


def _feed_refs(target: Principal) -> Iterable[tuple[dict[str, str], str]]:
    for ref in target.attrs.get("idp_groups", ()) or ():
        if isinstance(ref, dict):
            yield {"id": str(ref.get("id", "")), "name": str(ref.get("name", ""))}, str(
                ref.get("how", "GitHub team synchronisation" if target.system == "github" else "group provisioning"))
    for ref in target.attrs.get("external_ids", ()) or ():
        if isinstance(ref, dict):
            yield {"id": str(ref.get("Id", "")), "name": ""}, "SCIM provisioning into IAM Identity Center"


def _idp_members(group: str, members_of: Mapping[str, list[str]], principals: Mapping[str, Principal],
                 roster: Roster) -> set[str]:
    """Person e-mails in an identity-provider group, nested groups included."""
    found: set[str] = set()
    seen, todo = {group}, [group]
    while todo:
        for member in members_of.get(todo.pop(), ()):
            p = principals.get(member)
            if p is None or member in seen:
                continue
            seen.add(member)
            if p.kind == Kind.PERSON and p.email:
                email = p.email.lower()
                found.add(roster.aliases[email][0] if email not in roster.people and email in roster.aliases
                          else email)
            elif p.kind == Kind.GROUP:
                todo.append(member)
    return found
