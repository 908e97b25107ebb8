"""How every identity source (HR roster, Okta, Entra ID, Google Workspace) describes people and
groups, so `foureyes.identity` can merge them without knowing where they came from.

A person is a `Kind.PERSON` principal whose attrs use the keys below; a group is a
`Kind.GROUP` principal; membership is a member-of edge from the person record to the group.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ...model import Edge, EdgeKind, Kind, Principal, RosterStatus
from ..base import SourceBuilder

# attrs of a person record (all optional except status)
STATUS = "status"  # RosterStatus.ACTIVE / SUSPENDED / TERMINATED
RAW_STATUS = "raw_status"  # as the source says it
MANAGER = "manager"  # the manager's email, when it could be resolved
MANAGER_REF = "manager_ref"  # what the source names when it could not (an id, a display name)
DEPARTMENT = "department"
TITLE = "title"
EMPLOYEE_NUMBER = "employee_number"
START = "start"  # ISO date
END = "end"  # ISO date
STATUS_CHANGED = "status_changed"  # ISO date the source last changed the status (Okta statusChanged)
ALIASES = "aliases"  # other addresses and logins of the same person (login, UPN, proxy addresses)
APPS = "apps"  # labels of applications assigned to the person (Okta)
ORG_UNIT = "org_unit"  # Google Workspace organisational unit path

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def person(system: str, ident: str, *, name: str, email: str, status: str, **attrs: Any) -> Principal:
    """A person record. ``ident`` is the source's stable id; empty attrs are left out."""
    if status not in (RosterStatus.ACTIVE, RosterStatus.SUSPENDED, RosterStatus.TERMINATED):
        raise ValueError(f"not a roster status: {status!r}")
    kept = {k: (list(v) if isinstance(v, (tuple, set)) else v) for k, v in attrs.items() if v not in ("", None, (), [])}
    return Principal(system, f"person/{ident}", Kind.PERSON, display_name=name or email, email=email.strip().lower() or None,
                     attrs={STATUS: status, **kept})


def group(system: str, ident: str, *, name: str, **attrs: Any) -> Principal:
    return Principal(system, f"group/{ident}", Kind.GROUP, display_name=name or ident,
                     attrs={"group_id": ident, "name": name or ident, **{k: v for k, v in attrs.items() if v}})


def membership(out: SourceBuilder, member: str, group_key: str, label: str, **attrs: Any) -> None:
    out.edge(Edge(member, group_key, EdgeKind.MEMBER_OF, label, attrs=attrs))


def iso_date(value: Any) -> str:
    """``2026-10-15`` from a date, an ISO date or an ISO timestamp; "" when empty."""
    text = str(value or "").strip()
    return text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", text) else ""


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip().lower() for v in values if v and v.strip()))
