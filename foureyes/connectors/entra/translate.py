"""Graph payloads as person records, groups and memberships (pure). accountEnabled = false is
"suspended" (sign-in blocked: Entra's usual first step when someone leaves); a user in the
deleted items is "terminated"."""

from __future__ import annotations

from typing import Any

from ...model import Gap, RosterStatus
from ..base import SourceBuilder
from ..roster import records as r
from .fetch import SYSTEM, EntraRead


def translate(read: EntraRead) -> SourceBuilder:
    out = SourceBuilder()
    for gap in read.gaps:
        out.gap(gap)
    users = {u["id"]: (u, False) for u in read.users if u.get("id")}
    for u in read.deleted:
        users.setdefault(u["id"], (u, True))
    email_of = {uid: _email(u) for uid, (u, _) in users.items()}
    for uid, (user, deleted) in users.items():
        email = email_of[uid]
        if not email:
            out.gap(Gap(SYSTEM, f"entra:person/{uid}", f"Entra user {uid} has neither mail nor an e-mail UPN",
                        "which person this Entra user is"))
            continue
        if deleted:
            status, raw = RosterStatus.TERMINATED, "deleted"
        elif user.get("accountEnabled") is False:
            status, raw = RosterStatus.SUSPENDED, "accountEnabled=false"
        else:
            status, raw = RosterStatus.ACTIVE, "accountEnabled=true"
        manager = user.get("manager") or {}
        manager_email = email_of.get(manager.get("id", ""), "") or _email(manager)
        aliases = r.unique([user.get("userPrincipalName") or "", *(user.get("otherMails") or ()),
                            *(p.split(":", 1)[1] for p in user.get("proxyAddresses") or () if ":" in p)])
        out.principal(r.person(
            SYSTEM, uid, name=user.get("displayName") or email, email=email, status=status,
            **{r.RAW_STATUS: raw, r.MANAGER: manager_email, r.DEPARTMENT: user.get("department") or "",
               r.TITLE: user.get("jobTitle") or "", r.EMPLOYEE_NUMBER: user.get("employeeId") or "",
               r.STATUS_CHANGED: r.iso_date(user.get("deletedDateTime")),
               r.ALIASES: [a for a in aliases if a != email]}))
    for group in read.groups:
        gid = group["id"]
        name = group.get("displayName") or gid
        key = out.principal(r.group(SYSTEM, gid, name=name, nickname=group.get("mailNickname") or ""))
        for uid in read.members.get(gid, ()):
            if uid in users and email_of.get(uid):
                r.membership(out, f"entra:person/{uid}", key, f"member of Entra group {name} (transitively)")
    return out


def _email(user: dict[str, Any]) -> str:
    for candidate in (user.get("mail"), user.get("userPrincipalName")):
        if candidate and r.is_email(str(candidate)) and "#EXT#" not in str(candidate):
            return str(candidate).strip().lower()
    return ""
