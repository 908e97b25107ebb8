"""Branch protection: who can land a change on a branch without an independent approval.

Classic protection rules and active rulesets (repository, organisation and enterprise
level) are each a `Requirement`; `BranchGuard` decides, per holder, which requirements it
passes and why: no approving review needed, admins not enforced, a bypass list, a custom
role that may bypass (reference §1.5, docs/connectors.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...model import Via
from .context import Context, Holding
from .payloads import RepoData, ruleset_matters

# Built-in repository roles as ruleset bypass actors (actor_type RepositoryRole).
ROLE_IDS = {2: "maintain", 4: "write", 5: "admin"}


@dataclass
class Requirement:
    """One thing that gates merging into a branch: a classic rule or an active ruleset."""

    kind: str  # classic | ruleset
    name: str
    approvals: int
    requires_pr: bool
    enforce_admins: bool = True
    blocks_updates: bool = False
    pr_allowances: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())  # (users, teams)
    push_restricted: bool = False
    push_allowances: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    bypass: list[dict[str, Any]] | None = None  # ruleset bypass actors; None: not visible
    last_push_approval: bool = False
    code_owners: bool = False

    @property
    def gates_review(self) -> bool:
        return (self.requires_pr and self.approvals > 0) or self.blocks_updates


class BranchGuard:
    """Decides, per branch, who can land a change without an independent approval."""

    def __init__(self, ctx: Context, repo: RepoData, holdings: list[Holding]):
        self.ctx = ctx
        self.repo = repo
        self.holdings = holdings
        self.default = repo.default_branch

    # -- what protects a branch

    def classic_rule(self, branch: str) -> dict[str, Any] | None:
        if branch == self.default and self.repo.default_rule_id:
            return next((r for r in self.repo.classic if r.get("id") == self.repo.default_rule_id), None)
        exact = [r for r in self.repo.classic if r.get("pattern") == branch]
        if exact:
            return exact[0]
        return next((r for r in self.repo.classic if branch_glob(r.get("pattern", "")).fullmatch(branch)), None)

    def rulesets(self, branch: str) -> list[dict[str, Any]]:
        return [rs for rs in self.repo.rulesets if rs.get("enforcement") == "ACTIVE"
                and (rs.get("target") or "BRANCH") == "BRANCH" and self._targets(rs, branch)]

    def _targets(self, ruleset: dict[str, Any], branch: str) -> bool:
        cond = (ruleset.get("conditions") or {}).get("refName") or {}

        def hit(pattern: str) -> bool:
            if pattern == "~ALL":
                return True
            if pattern == "~DEFAULT_BRANCH":
                return branch == self.default
            name = pattern[len("refs/heads/"):] if pattern.startswith("refs/heads/") else pattern
            return bool(branch_glob(name).fullmatch(branch))

        return any(hit(p) for p in cond.get("include") or []) and not any(hit(p) for p in cond.get("exclude") or [])

    def requirements(self, branch: str) -> list[Requirement]:
        out: list[Requirement] = []
        rule = self.classic_rule(branch)
        if rule is not None:
            out.append(Requirement(
                kind="classic", name=f"branch protection rule {rule.get('pattern')}",
                approvals=int(rule.get("requiredApprovingReviewCount") or 0) if rule.get("requiresApprovingReviews") else 0,
                requires_pr=bool(rule.get("requiresApprovingReviews")),
                enforce_admins=bool(rule.get("isAdminEnforced")), blocks_updates=bool(rule.get("lockBranch")),
                pr_allowances=_actor_sets(rule.get("bypassPullRequestAllowances")),
                push_restricted=bool(rule.get("restrictsPushes")), push_allowances=_actor_sets(rule.get("pushAllowances")),
                last_push_approval=bool(rule.get("requireLastPushApproval")),
                code_owners=bool(rule.get("requiresCodeOwnerReviews")),
            ))
        for rs in self.rulesets(branch):
            rules = (rs.get("rules") or {}).get("nodes") or []
            pr = [r for r in rules if r.get("type") == "PULL_REQUEST"]
            approvals = max((int((r.get("parameters") or {}).get("requiredApprovingReviewCount") or 0) for r in pr),
                            default=0)
            detail = self.repo.ruleset_details.get(int(rs.get("databaseId") or 0))
            bypass = None if detail is None else detail.get("bypass_actors")
            if detail is None and not ruleset_matters(rs):
                bypass = []
            out.append(Requirement(
                kind="ruleset", name=f"ruleset '{rs.get('name')}'", approvals=approvals, requires_pr=bool(pr),
                blocks_updates=any(r.get("type") == "UPDATE" for r in rules), bypass=bypass,
                last_push_approval=any((r.get("parameters") or {}).get("requireLastPushApproval") for r in pr),
                code_owners=any((r.get("parameters") or {}).get("requireCodeOwnerReview") for r in pr),
            ))
        return out

    def protected(self, branch: str) -> bool:
        """Classic protection, or an active ruleset that requires a pull request (docs/connectors.md)."""
        return any(r.kind == "classic" or r.requires_pr or r.blocks_updates for r in self.requirements(branch))

    def protected_names(self) -> list[str]:
        names: set[str] = set()
        for rule in self.repo.classic:
            names.update(n["name"] for n in (rule.get("matchingRefs") or {}).get("nodes") or [] if n)
        if self.protected(self.default):
            names.add(self.default)
        for rs in self.rulesets(self.default) + [r for r in self.repo.rulesets if r.get("enforcement") == "ACTIVE"]:
            for p in ((rs.get("conditions") or {}).get("refName") or {}).get("include") or []:
                name = p[len("refs/heads/"):] if p.startswith("refs/heads/") else p
                if not re.search(r"[*?\[~]", name):
                    names.add(name)
        return sorted(names)

    # -- who passes a requirement

    def passes(self, req: Requirement, *, holding: Holding | None = None, login: str | None = None,
               team: str | None = None, owner: bool = False) -> str | None:
        """Why this holder needs nobody else's approval under ``req``, or None."""
        users, teams = req.pr_allowances
        if req.kind == "classic":
            if req.push_restricted and not (
                    (holding and holding.admin) or owner or login in req.push_allowances[0]
                    or team in req.push_allowances[1]):
                return None
            if not req.gates_review:
                return f"{req.name} requires no approving review"
            admin = owner or (holding is not None and holding.admin)
            if admin and not req.enforce_admins and not req.blocks_updates:
                return f"admins are not enforced by {req.name}: admins may merge without approval"
            if holding and "bypass_branch_protection" in holding.permissions and not req.enforce_admins:
                return f"custom role {holding.role} may bypass branch protections ({req.name} does not enforce them)"
            if (login and login in users) or (team and team in teams):
                return f"on the bypass list for pull request reviews of {req.name}"
            return None
        if not req.gates_review:
            return f"{req.name} requires no approving review"
        for actor in req.bypass or []:
            why = self._bypass_match(actor, holding=holding, login=login, team=team, owner=owner)
            if why:
                return f"{req.name} bypass ({why}), mode {actor.get('bypass_mode', 'always')}"
        return None

    def _bypass_match(self, actor: dict[str, Any], *, holding: Holding | None, login: str | None, team: str | None,
                      owner: bool) -> str:
        kind = actor.get("actor_type")
        ident = actor.get("actor_id")
        if kind == "OrganizationAdmin" and owner:
            return "organisation owners"
        if kind == "RepositoryRole" and holding is not None:
            role = ROLE_IDS.get(int(ident or 0))
            if role is None:
                custom = next((name for name, r in (self.ctx.org.custom_roles or {}).items() if r.get("id") == ident), None)
                if custom and holding.role == custom:
                    return f"custom role {custom}"
            elif holding.base == role or (role == "admin" and holding.admin):
                return f"role {role}"
            if owner and role == "admin":
                return "role admin"
        if kind == "Team" and team is not None and self.ctx.team_ids.get(int(ident or 0)) == team:
            return f"team {team}"
        if kind == "User" and login is not None and self.ctx.user_ids.get(int(ident or 0)) == login:
            return f"user {login}"
        return ""

    def unreviewed(self, branch: str) -> dict[str, tuple[str, str]]:
        """Principal key -> (via, reason) for everyone who can land on ``branch`` alone."""
        reqs = self.requirements(branch)
        out: dict[str, tuple[str, str]] = {}
        for h in self.holdings:
            if not h.writes or self.repo.archived:
                continue
            login = h.key.split(":", 1)[1] if not h.key.startswith(("github:team/", "github:org/")) else None
            team = h.key.rsplit("/", 1)[1] if h.key.startswith("github:team/") else None
            reasons = []
            for req in reqs:
                why = self.passes(req, holding=h, login=login, team=team, owner=h.owner)
                if why is None:
                    break
                reasons.append(why)
            else:
                reason = "; ".join(reasons) if reasons else "not protected (no branch protection rule, no active ruleset)"
                out.setdefault(h.key, (h.via, reason))
        # Actors named on bypass lists who are not themselves holders: users and teams.
        for key, (via, reason) in self._listed_actors(reqs, branch).items():
            out.setdefault(key, (via, reason))
        return out

    def _listed_actors(self, reqs: list[Requirement], branch: str) -> dict[str, tuple[str, str]]:
        ctx = self.ctx
        candidates: set[tuple[str | None, str | None]] = set()
        for req in reqs:
            candidates |= {(u, None) for u in req.pr_allowances[0]} | {(None, t) for t in req.pr_allowances[1]}
            for actor in req.bypass or []:
                if actor.get("actor_type") == "User":
                    user = ctx.user_ids.get(int(actor.get("actor_id") or 0))
                    if user:
                        candidates.add((user, None))
                if actor.get("actor_type") == "Team":
                    slug = ctx.team_ids.get(int(actor.get("actor_id") or 0))
                    if slug:
                        candidates.add((None, slug))
        out: dict[str, tuple[str, str]] = {}
        for login, team in sorted(candidates, key=str):
            if team is not None and team in ctx.org.teams:
                writers = self._writer_logins(ctx.team_members(team))
                if self._team_writes(team):
                    targets = [(ctx.team(team), None, team)]
                else:  # the team itself holds no write: only its members who write elsewhere can merge
                    targets = [(ctx.user(u), u, team) for u in sorted(writers)]
            elif login is not None:
                if login not in self._writer_logins({login}):
                    continue
                targets = [(ctx.user(login), login, None)]
            else:
                continue
            for key, who, slug in targets:
                best = self._best_holding(who, slug)
                reasons = []
                for req in reqs:
                    why = self.passes(req, holding=best, login=who, team=slug, owner=who in ctx.org.owners if who else False)
                    if why is None:
                        break
                    reasons.append(why)
                else:
                    out[key] = (Via.BYPASS, "; ".join(reasons))
        return out

    def _team_writes(self, slug: str) -> bool:
        keys = {self.ctx.team(s) for s in [slug] + self.ctx.ancestors(slug)}
        return any(h.key in keys and h.writes for h in self.holdings)

    def _writer_logins(self, logins: set[str]) -> set[str]:
        return {login for login in logins if (self._best_holding(login, None) or _NO).writes}

    def _best_holding(self, login: str | None, team: str | None) -> Holding | None:
        ctx = self.ctx
        keys: set[str] = set()
        if login:
            keys.add(ctx.user(login))
            keys |= {ctx.team(s) for s in ctx.teams_of(login)}
            if login in ctx.org.members and login not in ctx.org.outside:
                keys.add(ctx.members_key)
        if team:
            keys |= {ctx.team(s) for s in [team] + ctx.ancestors(team)}
        found = [h for h in self.holdings if h.key in keys]
        return max(found, key=lambda h: (h.rank, bool(h.permissions)), default=None)

    def admins(self) -> list[Holding]:
        return [h for h in self.holdings if h.admin]

    def writers(self) -> list[Holding]:
        return [h for h in self.holdings if h.writes and not self.repo.archived]


_NO = Holding("", "none", "none", "", "")


def _actor_sets(conn: dict[str, Any] | None) -> tuple[frozenset[str], frozenset[str]]:
    users, teams = set(), set()
    for node in (conn or {}).get("nodes") or []:
        actor = (node or {}).get("actor") or {}
        if actor.get("__typename") == "User" and actor.get("login"):
            users.add(actor["login"])
        elif actor.get("__typename") == "Team" and actor.get("slug"):
            teams.add(actor["slug"])
    return frozenset(users), frozenset(teams)


def branch_glob(pattern: str) -> "re.Pattern[str]":
    """GitHub's branch pattern syntax (File::fnmatch): ``*`` stops at ``/``, ``**`` does not."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(out)


def admin_bypass(actor: dict[str, Any]) -> bool:
    """A ruleset bypass actor that every admin matches: organisation admins or the admin role."""
    return actor.get("actor_type") == "OrganizationAdmin" or (
        actor.get("actor_type") == "RepositoryRole" and int(actor.get("actor_id") or 0) == 5)
