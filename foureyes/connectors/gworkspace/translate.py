"""Directory payloads as person records, groups and memberships (pure). suspended is
"suspended", archived (the account kept, the person gone) and deleted are "terminated"; the
manager comes from `relations[type=manager]`, department and title from the primary
organisation, the employee number from `externalIds[type=organization]`."""

from __future__ import annotations

from typing import Any

from ...model import Gap, RosterStatus
from ..base import SourceBuilder
from ..roster import records as r
from .fetch import SYSTEM, DirectoryRead


def translate(read: DirectoryRead) -> SourceBuilder:
    out = SourceBuilder()
    for gap in read.gaps:
        out.gap(gap)
    users: dict[str, tuple[dict[str, Any], bool]] = {u["id"]: (u, False) for u in read.users if u.get("id")}
    for u in read.deleted:
        if u.get("deletionTime") or u["id"] not in users:
            users[u["id"]] = (u, True)
    by_address = {}
    for uid, (user, _) in users.items():
        for address in [user.get("primaryEmail", ""), *(user.get("aliases") or ())]:
            if address:
                by_address[address.lower()] = str(user.get("primaryEmail", "")).lower()
    for uid, (user, deleted) in users.items():
        email = str(user.get("primaryEmail") or "").strip().lower()
        if not r.is_email(email):
            out.gap(Gap(SYSTEM, f"google_workspace:person/{uid}", f"user {uid} has no primary address",
                        "which person this Workspace user is"))
            continue
        if deleted:
            status, raw = RosterStatus.TERMINATED, "deleted"
        elif user.get("archived"):
            status, raw = RosterStatus.TERMINATED, "archived"
        elif user.get("suspended"):
            status, raw = RosterStatus.SUSPENDED, "suspended" + (
                f" ({user['suspensionReason']})" if user.get("suspensionReason") else "")
        else:
            status, raw = RosterStatus.ACTIVE, "active"
        manager = next((str(rel.get("value", "")).lower() for rel in user.get("relations") or ()
                        if rel.get("type") == "manager"), "")
        organisation = next((o for o in user.get("organizations") or () if o.get("primary")),
                            (user.get("organizations") or [{}])[0])
        employee = next((str(x.get("value", "")) for x in user.get("externalIds") or ()
                         if x.get("type") == "organization"), "")
        aliases = r.unique([*(user.get("aliases") or ()), *(user.get("nonEditableAliases") or ())])
        out.principal(r.person(
            SYSTEM, uid, name=(user.get("name") or {}).get("fullName") or email, email=email, status=status,
            **{r.RAW_STATUS: raw, r.MANAGER: by_address.get(manager, manager),
               r.DEPARTMENT: organisation.get("department") or "", r.TITLE: organisation.get("title") or "",
               r.EMPLOYEE_NUMBER: employee, r.ORG_UNIT: user.get("orgUnitPath") or "",
               r.STATUS_CHANGED: r.iso_date(user.get("deletionTime")),
               r.ALIASES: [a for a in aliases if a != email]}))
    ids = {str(u.get("primaryEmail", "")).lower(): uid for uid, (u, _) in users.items()}
    for group in read.groups:
        gid = group["id"]
        name = group.get("name") or group.get("email") or gid
        key = out.principal(r.group(SYSTEM, gid, name=name, email=group.get("email", "")))
        for member in read.members.get(gid, ()):
            uid = member.get("id") if member.get("id") in users else ids.get(str(member.get("email", "")).lower())
            if member.get("type", "USER") == "USER" and uid in users:
                r.membership(out, f"google_workspace:person/{uid}", key, f"member of group {name}")
    return out
