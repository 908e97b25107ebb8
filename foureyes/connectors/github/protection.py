"""Branch and tag protection: who can land a change without an independent approval, and who
can create or move the refs a deployment policy admits.

Classic protection rules and active rulesets (repository, organisation and enterprise
level) are each a `Requirement`, a layer; GitHub applies every layer to the one account
that pushes or merges, and that account must get past each of them ("Layering": a ruleset
does not replace a classic rule, the most restrictive applies). `BranchGuard` decides per
`Actor` — a holder of a role (user, team, the members group), an account with all its
teams and roles at once, an app or the repository's deploy keys — which layers it passes
and why (reference §1.5 and its corrections, docs/sources/github.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ...model import Gap, Kind, Principal, Via
from .codeowners import Coverage, coverage
from .context import Context, Holding
from .payloads import RepoData, ruleset_matters

# Built-in repository roles as ruleset bypass actors (actor_type RepositoryRole).
ROLE_IDS = {2: "maintain", 4: "write", 5: "admin"}
NOT_PROTECTED = "not protected (no branch protection rule, no active ruleset)"


@dataclass(frozen=True)
class Actor:
    """Who pushes or merges: one principal, with every team and role GitHub counts for it."""

    key: str
    login: str | None = None  # a user account
    teams: frozenset[str] = frozenset()  # its teams and their ancestors (bypass lists name teams)
    holdings: tuple[Holding, ...] = ()
    owner: bool = False
    app: int | None = None  # a GitHub App (database id)
    app_slug: str | None = None
    deploy_keys: bool = False  # the repository's deploy keys

    @property
    def machine(self) -> bool:
        return self.app is not None or self.app_slug is not None or self.deploy_keys

    @property
    def writes(self) -> bool:
        return self.machine or self.owner or any(h.writes for h in self.holdings)

    @property
    def admin(self) -> bool:
        return self.owner or any(h.admin for h in self.holdings)


@dataclass
class Requirement:
    """One layer that gates a ref: a classic rule or an active ruleset."""

    kind: str  # classic | ruleset
    name: str
    approvals: int
    requires_pr: bool
    enforce_admins: bool = True
    blocks_updates: bool = False
    pr_allowances: tuple[frozenset[str], frozenset[str], frozenset[str]] = (frozenset(), frozenset(), frozenset())
    push_restricted: bool = False
    push_allowances: tuple[frozenset[str], frozenset[str], frozenset[str]] = (frozenset(), frozenset(), frozenset())
    bypass: list[dict[str, Any]] | None = None  # ruleset bypass actors; None: not visible
    last_push_approval: bool = False
    code_owners: bool = False
    creation_restricted: bool = False
    update_restricted: bool = False
    apps: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # slug -> (database id, name), classic lists


class BranchGuard:
    """Decides, per ref, who can land a change without an independent approval."""

    def __init__(self, ctx: Context, repo: RepoData, holdings: list[Holding]):
        self.ctx = ctx
        self.repo = repo
        self.holdings = holdings
        self.default = repo.default_branch
        self.gaps: list[Gap] = []
        self._seen_gaps: set[str] = set()
        self._cache: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        self.owners: Coverage = self._code_owners()

    # -- what protects a ref

    def classic_rule(self, branch: str) -> dict[str, Any] | None:
        if branch == self.default and self.repo.default_rule_id:
            return next((r for r in self.repo.classic if r.get("id") == self.repo.default_rule_id), None)
        exact = [r for r in self.repo.classic if r.get("pattern") == branch]
        if exact:
            return exact[0]
        return next((r for r in self.repo.classic if branch_glob(r.get("pattern", "")).fullmatch(branch)), None)

    def rulesets(self, branch: str, target: str = "BRANCH") -> list[dict[str, Any]]:
        return [rs for rs in self.repo.rulesets if rs.get("enforcement") == "ACTIVE"
                and (rs.get("target") or "BRANCH") == target and self._targets(rs, branch, target)]

    def _targets(self, ruleset: dict[str, Any], name: str, target: str) -> bool:
        cond = (ruleset.get("conditions") or {}).get("refName") or {}
        prefix = "refs/tags/" if target == "TAG" else "refs/heads/"

        def hit(pattern: str) -> bool:
            if pattern == "~ALL":
                return True
            if pattern == "~DEFAULT_BRANCH":
                return target == "BRANCH" and name == self.default
            bare = pattern[len(prefix):] if pattern.startswith(prefix) else pattern
            return bool(branch_glob(bare).fullmatch(name))

        return any(hit(p) for p in cond.get("include") or []) and not any(hit(p) for p in cond.get("exclude") or [])

    def requirements(self, branch: str) -> list[Requirement]:
        out: list[Requirement] = []
        rule = self.classic_rule(branch)
        if rule is not None:
            name = f"branch protection rule {rule.get('pattern')}"
            pr_allowed = self._actor_sets(rule.get("bypassPullRequestAllowances"), name, "bypassPullRequestAllowances")
            push_allowed = self._actor_sets(rule.get("pushAllowances"), name, "pushAllowances")
            out.append(Requirement(
                kind="classic", name=name,
                approvals=int(rule.get("requiredApprovingReviewCount") or 0) if rule.get("requiresApprovingReviews") else 0,
                requires_pr=bool(rule.get("requiresApprovingReviews")),
                enforce_admins=bool(rule.get("isAdminEnforced")), blocks_updates=bool(rule.get("lockBranch")),
                pr_allowances=pr_allowed[:3], push_restricted=bool(rule.get("restrictsPushes")),
                push_allowances=push_allowed[:3],
                last_push_approval=bool(rule.get("requireLastPushApproval")),
                code_owners=bool(rule.get("requiresCodeOwnerReviews")),
                creation_restricted=bool(rule.get("restrictsPushes")) and bool(rule.get("blocksCreations")),
                apps={**pr_allowed[3], **push_allowed[3]},
            ))
        return out + [self._ruleset_requirement(rs) for rs in self.rulesets(branch)]

    def tag_requirements(self, tag: str) -> list[Requirement]:
        return [self._ruleset_requirement(rs) for rs in self.rulesets(tag, "TAG")]

    def _ruleset_requirement(self, rs: dict[str, Any]) -> Requirement:
        rules = [r for r in (rs.get("rules") or {}).get("nodes") or [] if r]
        types = {r.get("type") for r in rules}
        pr = [r for r in rules if r.get("type") == "PULL_REQUEST"]
        approvals = max((int((r.get("parameters") or {}).get("requiredApprovingReviewCount") or 0) for r in pr),
                        default=0)
        rid = rs.get("databaseId")
        detail = self.repo.ruleset_details.get(int(rid)) if rid is not None else None
        bypass = None if detail is None else detail.get("bypass_actors")
        if detail is None and not ruleset_matters(rs):
            bypass = []
        name = f"ruleset '{rs.get('name')}'"
        req = Requirement(
            kind="ruleset", name=name, approvals=approvals, requires_pr=bool(pr),
            blocks_updates="UPDATE" in types or "LOCK_BRANCH" in types, bypass=bypass,
            last_push_approval=any((r.get("parameters") or {}).get("requireLastPushApproval") for r in pr),
            code_owners=any((r.get("parameters") or {}).get("requireCodeOwnerReview") for r in pr),
            creation_restricted="CREATION" in types, update_restricted="UPDATE" in types or "LOCK_BRANCH" in types,
        )
        if ruleset_matters(rs):
            for actor in bypass or []:
                self._check_bypass_actor(actor, name)
        return req

    def protected(self, branch: str) -> bool:
        """Classic protection, or an active ruleset that requires a pull request (docs/connectors.md)."""
        return any(r.kind == "classic" or r.requires_pr or r.blocks_updates for r in self.requirements(branch))

    def protected_names(self) -> list[str]:
        names: set[str] = set()
        for rule in self.repo.classic:
            names.update(n["name"] for n in (rule.get("matchingRefs") or {}).get("nodes") or [] if n and n.get("name"))
        if self.protected(self.default):
            names.add(self.default)
        for rs in self.rulesets(self.default) + [r for r in self.repo.rulesets if r.get("enforcement") == "ACTIVE"
                                                 and (r.get("target") or "BRANCH") == "BRANCH"]:
            for p in ((rs.get("conditions") or {}).get("refName") or {}).get("include") or []:
                name = p[len("refs/heads/"):] if p.startswith("refs/heads/") else p
                if not re.search(r"[*?\[~]", name):
                    names.add(name)
        return sorted(names)

    # -- code owners

    def _code_owners(self) -> Coverage:
        ctx, owners = self.ctx, self.repo.codeowners
        return coverage(owners, org=ctx.org.login, email_logins=ctx.email_logins,
                        user_writes=lambda login: self.user_actor(login).writes,
                        team_writes=lambda slug: slug in ctx.org.teams and self._team_writes(slug))

    def review_gate(self, req: Requirement) -> tuple[bool, str]:
        """(gates, why not): whether ``req`` stops a change nobody else approved on this repository."""
        if req.blocks_updates or (req.requires_pr and req.approvals > 0):
            return True, ""
        if req.requires_pr and req.code_owners:
            if self.owners.gates:
                return True, ""
            if self.owners.state == "partial":
                return False, (f"{req.name} requires no approving review but a code owner's, and "
                               f"{_listed(self.owners.unowned)} in {self.repo.codeowners.path if self.repo.codeowners else 'CODEOWNERS'} "
                               "have no code owner")
            return False, f"{req.name} requires no approving review but a code owner's, and there is no CODEOWNERS file"
        return False, f"{req.name} requires no approving review"

    # -- who passes a layer

    def passes(self, req: Requirement, actor: Actor, action: str = "merge") -> str | None:
        """Why ``actor`` gets past ``req`` alone for ``action`` (merge, create, update), or None."""
        if action != "merge":
            restricted = req.creation_restricted if action == "create" else req.update_restricted
            if not restricted:
                return f"{req.name} does not restrict {'creating' if action == 'create' else 'updating'} it"
            if req.kind == "classic":
                return self._may_push(req, actor)
            return self._bypasses(req, actor)
        if req.kind == "classic" and req.push_restricted and self._may_push(req, actor) is None:
            return None
        gates, why = self.review_gate(req)
        if not gates:
            return why
        if req.kind == "classic":
            if actor.admin and not req.enforce_admins and not req.blocks_updates:
                return f"admins are not enforced by {req.name}: admins may merge without approval"
            custom = next((h for h in actor.holdings if "bypass_branch_protection" in h.permissions), None)
            if custom is not None and not req.enforce_admins:
                return f"custom role {custom.role} may bypass branch protections ({req.name} does not enforce them)"
            users, teams, apps = req.pr_allowances
            if actor.login and actor.login in users:
                return f"on the bypass list for pull request reviews of {req.name}"
            listed = sorted(actor.teams & teams)
            if listed:
                return f"on the bypass list for pull request reviews of {req.name} through team {listed[0]}"
            if actor.app_slug and actor.app_slug in apps:
                return f"GitHub App {actor.app_slug} is on the bypass list for pull request reviews of {req.name}"
        else:
            why = self._bypasses(req, actor)
            if why:
                return why
        return self._actions_approve(req, actor)

    def _may_push(self, req: Requirement, actor: Actor) -> str | None:
        users, teams, apps = req.push_allowances
        if actor.admin:
            return f"admins may always push to branches of {req.name}"
        if actor.login and actor.login in users:
            return f"may push to branches of {req.name}"
        listed = sorted(actor.teams & teams)
        if listed:
            return f"may push to branches of {req.name} through team {listed[0]}"
        if actor.app_slug and actor.app_slug in apps:
            return f"GitHub App {actor.app_slug} may push to branches of {req.name}"
        return None

    def _bypasses(self, req: Requirement, actor: Actor) -> str | None:
        for entry in req.bypass or []:
            why = self._bypass_match(entry, actor)
            if why:
                return f"{req.name} bypass ({why}), mode {entry.get('bypass_mode', 'always')}"
        return None

    def _actions_approve(self, req: Requirement, actor: Actor) -> str | None:
        """"Allow GitHub Actions to create and approve pull requests": a workflow's token approves."""
        if not self.repo.actions_can_approve or actor.machine or not actor.writes:
            return None
        if req.blocks_updates or req.approvals != 1 or (req.code_owners and self.owners.gates):
            return None
        return (f"GitHub Actions may approve pull requests in {self.repo.full}: a workflow pushed on a branch "
                f"approves with its token, and {req.name} needs one approval")

    def _bypass_match(self, entry: dict[str, Any], actor: Actor) -> str:
        kind = entry.get("actor_type")
        ident = entry.get("actor_id")
        if kind == "OrganizationAdmin" and actor.owner:
            return "organisation owners"
        if kind == "RepositoryRole":
            role = ROLE_IDS.get(_int(ident))
            for h in actor.holdings:
                if role is None:
                    custom = self._custom_role(ident)
                    if custom and h.role == custom:
                        return f"custom role {custom}"
                elif h.base == role or (role == "admin" and h.admin):
                    return f"role {role}"
            if actor.owner and role == "admin":
                return "role admin"
        if kind == "Team" and actor.teams:
            slug = self.ctx.team_ids.get(_int(ident))
            if slug in actor.teams:
                return f"team {slug}"
        if kind == "User" and actor.login is not None and self._user(ident) == actor.login:
            return f"user {actor.login}"
        if kind == "Integration" and actor.app is not None and _int(ident) == actor.app:
            return f"GitHub App {actor.app_slug or actor.app}"
        if kind == "DeployKey" and actor.deploy_keys:
            return "deploy keys"
        return ""

    def _custom_role(self, ident: Any) -> str | None:
        return next((name for name, r in (self.ctx.org.custom_roles or {}).items() if r.get("id") == ident), None)

    def _user(self, ident: Any) -> str | None:
        number = _int(ident)
        return self.ctx.user_ids.get(number) or self.repo.collaborator_ids.get(number)

    def _check_bypass_actor(self, entry: dict[str, Any], name: str) -> None:
        """A Gap for a bypass actor foureyes cannot turn into principals (never "nobody bypasses")."""
        kind, ident = entry.get("actor_type"), entry.get("actor_id")
        why = ""
        if kind == "Team" and self.ctx.team_ids.get(_int(ident)) is None:
            why = "is not a team of the organisation this token can list (a secret or another organisation's team)"
        elif kind == "User" and self._user(ident) is None:
            why = "is neither a member nor a direct collaborator this token can list"
        elif kind == "RepositoryRole" and ROLE_IDS.get(_int(ident)) is None and self._custom_role(ident) is None:
            why = "is not a built-in role or a custom role this token can read"
        elif kind == "Integration" and ident is None:
            why = "names no app"
        elif kind in ("EnterpriseOwner", "EnterpriseRole"):
            why = "is an enterprise role; foureyes does not read enterprise membership"
        elif kind not in ("OrganizationAdmin", "RepositoryRole", "Team", "User", "Integration", "DeployKey"):
            why = "is an actor type foureyes does not know"
        if why:
            shown = f"{kind} {ident}" if ident is not None else str(kind)
            self._gap(f"{name} lets bypass actor {shown} bypass it, which {why}",
                      "who may merge or push to protected refs without review")

    def _gap(self, reason: str, hides: str) -> None:
        if reason not in self._seen_gaps:
            self._seen_gaps.add(reason)
            self.gaps.append(Gap("github", self.repo.key, reason, hides))

    def _actor_sets(self, conn: dict[str, Any] | None, name: str, label: str
                    ) -> tuple[frozenset[str], frozenset[str], frozenset[str], dict[str, tuple[int | None, str]]]:
        users: set[str] = set()
        teams: set[str] = set()
        apps: set[str] = set()
        names: dict[str, tuple[int | None, str]] = {}
        for node in (conn or {}).get("nodes") or []:
            actor = (node or {}).get("actor") or {}
            kind = actor.get("__typename")
            if kind == "User" and actor.get("login"):
                users.add(actor["login"])
            elif kind == "Team" and actor.get("slug"):
                teams.add(actor["slug"])
            elif kind == "App" and actor.get("slug"):
                apps.add(actor["slug"])
                names[actor["slug"]] = (_int(actor.get("databaseId")) or None, str(actor.get("name") or actor["slug"]))
            else:
                self._gap(f"{name}: an actor in {label} is {'null' if not actor else kind} (deleted or not visible)",
                          "who may push or bypass reviews")
        return frozenset(users), frozenset(teams), frozenset(apps), names

    # -- actors

    def actor_of(self, key: str) -> Actor:
        """The actor for a holder key: a user account (with all it holds), a team, or the members group."""
        ctx = self.ctx
        if key.startswith("github:team/"):
            slug = key.rsplit("/", 1)[1]
            teams = frozenset([slug] + ctx.ancestors(slug))
            keys = {ctx.team(s) for s in teams}
            return Actor(key, teams=teams, holdings=tuple(h for h in self.holdings if h.key in keys))
        if key.startswith("github:org/"):
            return Actor(key, holdings=tuple(h for h in self.holdings if h.key == key))
        return self.user_actor(key.split(":", 1)[1])

    def user_actor(self, login: str) -> Actor:
        ctx = self.ctx
        keys = self.reach(login)
        return Actor(ctx.user(login), login=login, teams=frozenset(ctx.teams_of(login)),
                     holdings=tuple(h for h in self.holdings if h.key in keys), owner=login in ctx.org.owners)

    def reach(self, login: str) -> set[str]:
        """The principal keys whose repository roles a user holds: itself, its teams, the members group."""
        ctx = self.ctx
        keys = {ctx.user(login)} | {ctx.team(s) for s in ctx.teams_of(login)}
        if login in ctx.org.members and login not in ctx.org.outside:
            keys.add(ctx.members_key)
        return keys

    def _team_writes(self, slug: str) -> bool:
        keys = {self.ctx.team(s) for s in [slug] + self.ctx.ancestors(slug)}
        return any(h.key in keys and h.writes for h in self.holdings)

    def machines(self, reqs: list[Requirement]) -> list[Actor]:
        """Apps and deploy keys named on any layer's lists (non-human principals, Kind.APP)."""
        found: dict[str, Actor] = {}
        for req in reqs:
            for slug, (app, name) in req.apps.items():
                key = self.app_principal(app, slug, name)
                found.setdefault(key, Actor(key, app=app, app_slug=slug))
            for entry in req.bypass or []:
                if entry.get("actor_type") == "Integration" and entry.get("actor_id") is not None:
                    app = _int(entry["actor_id"])
                    slug = next((s for r in reqs for s, (ident, _) in r.apps.items() if ident == app), None)
                    key = self.app_principal(app, slug, "")
                    found.setdefault(key, Actor(key, app=app, app_slug=slug))
                elif entry.get("actor_type") == "DeployKey":
                    key = self.ctx.b.principal(Principal(
                        "github", f"deploy-keys/{self.repo.full}", Kind.APP,
                        display_name=f"deploy keys of {self.repo.full}",
                        attrs={"repo": self.repo.full, "note": "anyone holding a deploy key with write access"}))
                    found.setdefault(key, Actor(key, deploy_keys=True))
        return [found[k] for k in sorted(found)]

    def app_principal(self, app: int | None, slug: str | None, name: str) -> str:
        ident = f"app/{app}" if app is not None else f"app/{slug}"
        shown = name or slug or f"id {app}"
        return self.ctx.b.principal(Principal("github", ident, Kind.APP, display_name=f"GitHub App {shown}",
                                              attrs={"app_id": app, "slug": slug or ""}))

    # -- who gets past every layer

    def unreviewed(self, branch: str) -> dict[str, tuple[str, str]]:
        """Principal key -> (via, reason) for everyone who can land on ``branch`` alone."""
        cached = self._cache.get(("merge", branch))
        if cached is None:
            reqs = self.requirements(branch)
            cached = self._cache[("merge", branch)] = self.who_passes(reqs, "merge")
        return cached

    def creators(self, ref: str, *, tag: bool = False) -> dict[str, tuple[str, str]]:
        """Principal key -> (via, reason) for who may create a new ``ref`` (a branch or a tag name) alone."""
        key = ("create-tag" if tag else "create", ref)
        if key not in self._cache:
            reqs = self.tag_requirements(ref) if tag else self.requirements(ref)
            self._cache[key] = self.who_passes(reqs, "create")
        return self._cache[key]

    def updaters(self, tag: str) -> dict[str, tuple[str, str]]:
        """Who may move an existing tag ``tag`` alone (rulesets' "Restrict updates")."""
        key = ("update-tag", tag)
        if key not in self._cache:
            self._cache[key] = self.who_passes(self.tag_requirements(tag), "update")
        return self._cache[key]

    def who_passes(self, reqs: list[Requirement], action: str) -> dict[str, tuple[str, str]]:
        """Every principal that gets past all of ``reqs`` alone: holders first, then accounts whose
        teams and roles pass different layers (a team on one list, the user on another), then
        apps and deploy keys."""
        out: dict[str, tuple[str, str]] = {}
        if self.repo.archived:
            return out

        def check(actor: Actor) -> list[str] | None:
            reasons = []
            for req in reqs:
                why = self.passes(req, actor, action)
                if why is None:
                    return None
                reasons.append(why)
            return reasons

        restricting = [req for req in reqs if self.restricts(req, action)]
        partial: list[str] = []  # holders that get past some restricting layer, not all
        for h in self.holdings:
            if not h.writes or h.key in out:
                continue
            actor = self.actor_of(h.key)
            reasons = check(actor)
            if reasons is not None:
                out[h.key] = (h.via, "; ".join(reasons) or NOT_PROTECTED)
            elif len(restricting) > 1 and any(self.passes(req, actor, action) for req in restricting):
                partial.append(h.key)
        if len(reqs) > 1 or any(self._listed(req) for req in reqs):
            for slug in sorted(self._listed_teams(reqs)):
                key = self.ctx.team(slug)
                if key in out or slug not in self.ctx.org.teams:
                    continue
                actor = self.actor_of(key)
                if actor.writes:
                    reasons = check(actor)
                    if reasons is not None:
                        out[key] = (Via.BYPASS, "; ".join(reasons))
            for login in sorted(self._candidates(reqs, partial)):
                key = self.ctx.user(login)
                if key in out or self.reach(login) & out.keys():
                    continue  # lands alone already, through a team or the base permission
                actor = self.user_actor(login)
                if not actor.writes:
                    continue
                reasons = check(actor)
                if reasons is not None:
                    out[key] = (Via.BYPASS, "; ".join(reasons))
        for actor in self.machines(reqs):
            reasons = check(actor)
            if reasons is not None:
                out.setdefault(actor.key, (Via.BYPASS, "; ".join(reasons)))
        return out

    def restricts(self, req: Requirement, action: str) -> bool:
        """Whether a layer stops anyone at all for ``action`` (else everyone gets past it)."""
        if action == "create":
            return req.creation_restricted
        if action == "update":
            return req.update_restricted
        return (req.kind == "classic" and req.push_restricted) or self.review_gate(req)[0]

    @staticmethod
    def _listed(req: Requirement) -> bool:
        return any(req.pr_allowances) or any(req.push_allowances) or bool(req.bypass)

    def _listed_teams(self, reqs: list[Requirement]) -> set[str]:
        slugs: set[str] = set()
        for req in reqs:
            slugs |= req.pr_allowances[1] | req.push_allowances[1]
            for entry in req.bypass or []:
                if entry.get("actor_type") == "Team":
                    slug = self.ctx.team_ids.get(_int(entry.get("actor_id")))
                    if slug:
                        slugs.add(slug)
        return slugs

    def _candidates(self, reqs: list[Requirement], partial: Iterable[str]) -> set[str]:
        """Accounts that might pass every layer only as a combination of their teams and roles."""
        ctx = self.ctx
        logins: set[str] = set()
        for req in reqs:
            logins |= req.pr_allowances[0] | req.push_allowances[0]
            for entry in req.bypass or []:
                if entry.get("actor_type") == "User":
                    user = self._user(entry.get("actor_id"))
                    if user:
                        logins.add(user)
        for slug in self._listed_teams(reqs):
            logins |= ctx.team_members(slug)
        # Holders that pass some layers: their members may pass the rest through something else
        # they hold. For the members group that is only those who hold something more (a member
        # with the base permission alone is the group itself, already judged; lists are above).
        holders = {h.key for h in self.holdings}
        for key in partial:
            if key.startswith("github:team/"):
                logins |= ctx.team_members(key.rsplit("/", 1)[1])
            elif key == ctx.members_key:
                for other in holders - {key}:
                    if other.startswith("github:team/"):
                        logins |= ctx.team_members(other.rsplit("/", 1)[1])
                    elif not other.startswith("github:org/"):
                        logins.add(other.split(":", 1)[1])
            else:
                logins.add(key.split(":", 1)[1])
        return logins

    def admins(self) -> list[Holding]:
        return [h for h in self.holdings if h.admin]

    def writers(self) -> list[Holding]:
        return [h for h in self.holdings if h.writes and not self.repo.archived]

    def readers(self) -> list[Holding]:
        return [h for h in self.holdings if h.rank >= 0]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:3])
    return shown + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def branch_glob(pattern: str) -> "re.Pattern[str]":
    """GitHub's branch pattern syntax (File::fnmatch): ``*`` stops at ``/``, ``**`` does not."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(out)


def admin_bypass(actor: dict[str, Any]) -> bool:
    """A ruleset bypass actor that every admin matches: organisation admins or the admin role."""
    return actor.get("actor_type") == "OrganizationAdmin" or (
        actor.get("actor_type") == "RepositoryRole" and _int(actor.get("actor_id")) == 5)

