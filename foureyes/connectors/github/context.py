"""What GitHub translation knows about the organisation while it walks repositories: teams
and their nesting, who is in which team, roles (built-in and custom), and who holds what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...config import Config, GitHubSource
from ...model import Kind, Principal, principal_key
from ..base import SourceBuilder
from .payloads import ROLE_RANK, OrgData


@dataclass(frozen=True)
class Holding:
    """A principal's role on one repository, and how it got it."""

    key: str  # principal key
    role: str  # role name (custom roles by name)
    base: str  # built-in role it is based on
    via: str
    detail: str
    permissions: frozenset[str] = frozenset()  # custom role permissions
    owner: bool = False

    @property
    def rank(self) -> int:
        return ROLE_RANK.get(self.base, 0)

    @property
    def writes(self) -> bool:
        return self.rank >= ROLE_RANK["write"]

    @property
    def admin(self) -> bool:
        return self.base == "admin"


class Context:
    """What translation needs to know about the organisation while it walks repositories."""

    def __init__(self, org: OrgData, config: Config, section: GitHubSource, b: SourceBuilder):
        self.org = org
        self.config = config
        self.section = section
        self.b = b
        self.members_key = principal_key("github", f"org/{org.login}/members")
        self.team_ids: dict[int, str] = {t.id: slug for slug, t in org.teams.items() if t.id}
        self.user_ids: dict[int, str] = dict(org.user_ids)
        self.parents = {slug: t.parent for slug, t in org.teams.items()}
        self.user_teams: dict[str, set[str]] = {}
        for slug, team in org.teams.items():
            for login, _ in team.members:
                self.user_teams.setdefault(login, set()).add(slug)
        self.children: dict[str, list[str]] = {}
        for slug, parent in self.parents.items():
            if parent:
                self.children.setdefault(parent, []).append(slug)
        # repository -> (team, role) in team order: each repository looks only at the teams that reach it
        self.repo_teams: dict[str, list[tuple[str, str]]] = {}
        for slug, team in sorted(org.teams.items()):
            for full, role in (team.repos or {}).items():
                self.repo_teams.setdefault(full, []).append((slug, role))

    @property
    def email_logins(self) -> dict[str, str]:
        """Email (lowercased) -> login, SAML first, then public member emails: for CODEOWNERS entries.
        Built once per organisation (every repository's code owners ask)."""
        found = self.__dict__.get("_email_logins")
        if found is None:
            found = {email.lower(): login for login, email in self.org.saml.items()}
            found.update({str(m.get("email")).lower(): login for login, m in self.org.members.items()
                          if m.get("email") and str(m.get("email")).lower() not in found})
            self.__dict__["_email_logins"] = found
        return found

    def user(self, login: str) -> str:
        return principal_key("github", login)

    def team(self, slug: str) -> str:
        return principal_key("github", f"team/{self.org.login}/{slug}")

    def ancestors(self, slug: str) -> list[str]:
        chain, parent, seen = [], self.parents.get(slug), {slug}
        while parent and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.parents.get(parent)
        return chain

    def teams_of(self, login: str) -> set[str]:
        """Teams whose access a user has: their own teams and those teams' ancestors."""
        out: set[str] = set()
        for slug in self.user_teams.get(login, ()):
            out.add(slug)
            out.update(self.ancestors(slug))
        return out

    def team_members(self, slug: str) -> set[str]:
        """Everyone a team's access reaches: its members and those of its descendants."""
        out = {login for login, _ in self.org.teams[slug].members} if slug in self.org.teams else set()
        for child in self.children.get(slug, ()):
            out |= self.team_members(child)
        return out

    def role_info(self, role: str) -> tuple[str, frozenset[str]]:
        if role in ROLE_RANK:
            return role, frozenset()
        custom = (self.org.custom_roles or {}).get(role)
        if custom is None:
            return "write", frozenset()  # unknown custom role: write-based (GitHub's minimum for custom roles)
        return str(custom.get("base_role") or "read"), frozenset(custom.get("permissions") or [])

    def holding(self, key: str, role: str, via: str, detail: str, *, owner: bool = False) -> Holding:
        base, perms = self.role_info(role)
        return Holding(key, role, base, via, detail, perms, owner)

    def ensure_user(self, login: str) -> str:
        """A principal for an account seen only in a repository or environment (an outside collaborator)."""
        key = self.user(login)
        if key not in self.b.principals:
            attrs: dict[str, Any] = {"org_role": "outside" if login not in self.org.members else "member"}
            email = self.org.saml.get(login)
            if email:
                attrs["email_source"] = "saml"
            self.b.principal(Principal("github", login, Kind.USER, display_name=login, email=email or None, attrs=attrs))
        return key
