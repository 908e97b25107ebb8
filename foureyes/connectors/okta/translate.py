"""Okta payloads as person records, groups and memberships (pure; tested on payloads in Okta's
documented shapes). A user's status becomes the roster's: SUSPENDED is suspended,
DEPROVISIONED is terminated, anything else (ACTIVE, STAGED, PROVISIONED, RECOVERY,
LOCKED_OUT, PASSWORD_EXPIRED) still has an account that works or will.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ...model import Gap, RosterStatus
from ..base import SourceBuilder
from ..roster import records as r
from .fetch import SYSTEM, OktaRead, app_kind

STATUS = {"SUSPENDED": RosterStatus.SUSPENDED, "DEPROVISIONED": RosterStatus.TERMINATED}


def translate(read: OktaRead) -> SourceBuilder:
    out = SourceBuilder()
    for gap in read.gaps:
        out.gap(gap)
    users = {u["id"]: u for u in read.users if u.get("id")}
    email_of = {uid: _email(u) for uid, u in users.items()}
    by_ref: dict[str, str] = {}  # login, employee number, id -> e-mail: what managerId may hold
    by_name: dict[str, list[str]] = defaultdict(list)
    for uid, user in users.items():
        profile = user.get("profile") or {}
        email = email_of[uid]
        for ref in (uid, profile.get("login"), profile.get("employeeNumber")):
            if ref and email:
                by_ref[str(ref).lower()] = email
        if email:
            by_name[_name(profile).lower()].append(email)
    apps = _apps(read)
    for uid, user in users.items():
        email = email_of[uid]
        profile = user.get("profile") or {}
        if not email:
            out.gap(Gap(SYSTEM, f"okta:person/{uid}", f"Okta user {uid} has no e-mail address",
                        "which person this Okta user is"))
            continue
        manager, manager_ref = "", str(profile.get("managerId") or profile.get("manager") or "")
        if profile.get("managerId"):
            manager = by_ref.get(str(profile["managerId"]).lower(), "")
        if not manager and profile.get("manager"):  # the manager's display name: only when it is unique
            named = by_name.get(str(profile["manager"]).lower(), [])
            manager = named[0] if len(named) == 1 else ""
        raw = str(user.get("status") or "")
        aliases = [a for a in r.unique((profile.get("login") or "", profile.get("secondEmail") or "")) if a != email]
        out.principal(r.person(
            SYSTEM, uid, name=_name(profile) or email, email=email, status=STATUS.get(raw, RosterStatus.ACTIVE),
            **{r.RAW_STATUS: raw, r.MANAGER: manager, r.MANAGER_REF: "" if manager else manager_ref,
               r.DEPARTMENT: profile.get("department") or "", r.TITLE: profile.get("title") or "",
               r.EMPLOYEE_NUMBER: profile.get("employeeNumber") or "",
               r.STATUS_CHANGED: r.iso_date(user.get("statusChanged")), r.ALIASES: aliases,
               r.APPS: sorted(apps.get(uid, ()))}))
    for group in read.groups:
        gid = group["id"]
        name = (group.get("profile") or {}).get("name") or gid
        key = out.principal(r.group(SYSTEM, gid, name=name, type=group.get("type", "")))
        for uid in read.members.get(gid, ()):
            if uid in users and email_of.get(uid):
                r.membership(out, f"okta:person/{uid}", key, f"member of Okta group {name}")
    return out


def _email(user: dict[str, Any]) -> str:
    profile = user.get("profile") or {}
    for candidate in (profile.get("email"), profile.get("login")):
        if candidate and r.is_email(str(candidate)):
            return str(candidate).strip().lower()
    return ""


def _name(profile: dict[str, Any]) -> str:
    return str(profile.get("displayName") or " ".join(
        x for x in (profile.get("firstName"), profile.get("lastName")) if x)).strip()


def _apps(read: OktaRead) -> dict[str, set[str]]:
    """User id -> labels of the audited-system apps assigned to them (directly or through a group)."""
    out: dict[str, set[str]] = defaultdict(set)
    for app in read.apps:
        if not app_kind(app) or str(app.get("status", "ACTIVE")) != "ACTIVE":
            continue
        label = str(app.get("label") or app.get("name") or app["id"])
        for assigned in read.app_users.get(app["id"], ()):
            if assigned.get("id"):
                out[assigned["id"]].add(label)
        for assigned in read.app_groups.get(app["id"], ()):
            for uid in read.members.get(assigned.get("id", ""), ()):
                out[uid].add(label)
    return out
