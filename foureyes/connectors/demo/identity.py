"""Acme's HR roster and its Okta organisation, as the roster and Okta connectors would read them:
two leavers who still hold access (one still in a GitHub team synchronised from Okta), a mover,
and accounts that belong to nobody in the roster.
"""

from __future__ import annotations

from ...config import Config
from ...model import SourceResult
from ..base import SourceBuilder
from ..roster import records as r
from .acme import LEAVERS, MOVERS, PEOPLE, ROSTER, SYNCED_TEAMS, finish

ACTIVE, SUSPENDED, TERMINATED = "active", "suspended", "terminated"
_STARTS = {"nina.nakamura@acme.com": "2026-10-20"}


def _row(email: str, stage: str) -> tuple[str, str, str, str, str]:
    """(HR status word, end date, Okta status, department, manager) at a stage."""
    department, manager, _ = ROSTER[email]
    after = stage == "after"
    if after and email in MOVERS:
        department = MOVERS[email]
        manager = "priya.patel@acme.com"
    if after and email in LEAVERS:
        hr, end, okta = LEAVERS[email]
        return hr, end, okta, department, manager
    return "Active", "", "ACTIVE", department, manager


def _names() -> dict[str, str]:
    names = {h.email: h.name for h in PEOPLE if h.email}
    names["carmen.castillo@acme.com"] = "Carmen Castillo"
    names["zed.zimmer@acme.com"] = "Zed Zimmer"
    return names


def _present(email: str, stage: str) -> bool:
    return not (stage == "before" and email in _STARTS)


def roster_source(stage: str, config: Config) -> SourceResult:
    """The HR export (what `[sources.roster]` reads from a file)."""
    b = SourceBuilder()
    names = _names()
    for email in sorted(ROSTER):
        if not _present(email, stage):
            continue
        hr, end, _, department, manager = _row(email, stage)
        status = TERMINATED if hr == "Terminated" else ACTIVE
        b.principal(r.person("roster", email, name=names.get(email, email), email=email, status=status,
                             **{r.RAW_STATUS: hr, r.MANAGER: manager, r.DEPARTMENT: department,
                                r.TITLE: ROSTER[email][2], r.START: _STARTS.get(email, "2021-03-01"), r.END: end,
                                "file": "acme-hr-export.csv"}))
    return finish(b, "roster", stage)


def okta_source(stage: str, config: Config) -> SourceResult:
    """Acme's Okta: users with status and profile, groups, and the group team web is synchronised from."""
    b = SourceBuilder()
    names = _names()
    ids = {email: f"00u{n:04d}acme" for n, email in enumerate(sorted(ROSTER))}
    logins = {h.email: h.login for h in PEOPLE if h.email}
    for email in sorted(ROSTER):
        if not _present(email, stage) or email in ("john.smith@acme.com",):  # the contractor has no Okta account
            continue
        _, _, okta, department, manager = _row(email, stage)
        status = {"ACTIVE": ACTIVE, "SUSPENDED": SUSPENDED}.get(okta, TERMINATED)
        apps = ["GitHub Enterprise Cloud", "AWS IAM Identity Center"] if email in logins and okta == "ACTIVE" else []
        b.principal(r.person("okta", ids[email], name=names.get(email, email), email=email, status=status,
                             **{r.RAW_STATUS: okta, r.MANAGER: manager, r.DEPARTMENT: department,
                                r.STATUS_CHANGED: LEAVERS[email][1] if okta != "ACTIVE" else "",
                                r.ALIASES: [email.split("@")[0]], r.APPS: apps}))
    for slug, group in SYNCED_TEAMS.items():
        key = b.principal(r.group("okta", group["id"], name=group["name"]))
        department = {"web": "Web"}[slug]
        for email in sorted(ROSTER):
            _, _, okta, dept, _ = _row(email, stage)
            if dept == department and okta == "ACTIVE" and _present(email, stage):
                # Okta removes deactivated users from their groups
                r.membership(b, f"okta:person/{ids[email]}", key, f"member of Okta group {group['name']}")
    return finish(b, "okta", stage)
