"""GitHub, translated (pure, no I/O): who can push, merge unreviewed, approve and administer
each repository, and through what — org base permission, owners, teams (with nesting),
direct and outside collaborators, custom and organisation roles.

Reads the values of `payloads.py`; branch protection is `protection.py`, GitHub Actions
`actions.py`, the organisation's lookups `context.py`.
"""

from __future__ import annotations

from typing import Any

from ...config import Config, GitHubSource
from ...model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    Via,
)
from ..base import SourceBuilder
from . import actions
from .context import Context, Holding
from .payloads import ROLE_RANK, OrgData, RepoData
from .protection import BranchGuard, admin_bypass


def translate(org: OrgData, config: Config, section: GitHubSource) -> SourceBuilder:
    """Everything the organisation's payloads say, as model objects. Pure: no I/O."""
    b = SourceBuilder()
    ctx = Context(org, config, section, b)
    for gap in org.gaps:
        b.gap(gap)
    b.resource(Resource(
        "github", "org", org.login, name=f"GitHub org {org.login}",
        tier=config.tier_for(system="github", kind="org", id=org.login),
        attrs={"base_permission": org.base_permission, "saml": org.saml_state == "ok", "saml_state": org.saml_state,
               "plan": org.plan, "oidc_sub_claims": org.oidc or []},
    ))
    _people(ctx)
    _teams(ctx)
    for repo in org.repos:
        for gap in repo.gaps:
            b.gap(gap)
        holdings = _repo_access(ctx, repo)
        guard = BranchGuard(ctx, repo, holdings)
        _repo_resource(ctx, repo, guard)
        _merge_unreviewed(ctx, repo, guard, holdings)
        _code_owners(ctx, repo, guard)
        actions.translate_repo(ctx, repo, guard, holdings)
        for gap in guard.gaps:
            b.gap(gap)
    return b


def _people(ctx: Context) -> None:
    org, b = ctx.org, ctx.b
    for login in sorted(set(org.members) | org.outside):
        info = org.members.get(login, {})
        role = "outside" if login in org.outside else info.get("role", "member")
        attrs: dict[str, Any] = {"org_role": role}
        email = org.saml.get(login)
        if email:
            attrs["email_source"] = "saml"
        if info.get("email"):
            attrs["public_email"] = info["email"]
        b.principal(Principal("github", login, Kind.USER, display_name=info.get("name") or login,
                              email=email or None, attrs=attrs))
        if role == "owner":
            b.grant(Grant("github", ctx.user(login), "owner", org.key, (ACCESS_ADMIN,), via=Via.OWNER,
                          detail=f"owner of the {org.login} organisation"))
    b.principal(Principal("github", f"org/{org.login}/members", Kind.GROUP, display_name=f"all members of {org.login}",
                          attrs={"base_permission": org.base_permission}))
    for login in sorted(org.members):
        if login not in org.outside:
            b.edge(Edge(ctx.user(login), ctx.members_key, EdgeKind.MEMBER_OF, f"member of the {org.login} organisation"))


def _teams(ctx: Context) -> None:
    org, b = ctx.org, ctx.b
    for slug, team in sorted(org.teams.items()):
        attrs = {"slug": slug, "name": team.name, "parent": team.parent or "", "privacy": team.privacy}
        if team.idp_groups:
            attrs["idp_groups"] = list(team.idp_groups)
        b.principal(Principal("github", f"team/{org.login}/{slug}", Kind.TEAM, display_name=f"team {slug}",
                              attrs=attrs))
    for slug, team in sorted(org.teams.items()):
        for login, role in team.members:
            ctx.ensure_user(login)
            word = "maintainer" if role == "MAINTAINER" else "member"
            b.edge(Edge(ctx.user(login), ctx.team(slug), EdgeKind.MEMBER_OF, f"{word} of team {slug}"))
        if team.parent and team.parent in org.teams:
            b.edge(Edge(ctx.team(slug), ctx.team(team.parent), EdgeKind.MEMBER_OF, f"parent of team {slug}"))


def _repo_access(ctx: Context, repo: RepoData) -> list[Holding]:
    """Every role grant on the repository, emitted as grants; returns them for later reasoning."""
    org, b = ctx.org, ctx.b
    out: list[Holding] = []

    def hold(h: Holding) -> None:
        caps: tuple[str, ...] = ()
        if h.writes:
            caps = (CODE_PUSH, CODE_APPROVE)
        if h.admin:
            caps = (CODE_PUSH, CODE_APPROVE, ACCESS_ADMIN)
        attrs: dict[str, Any] = {"base_role": h.base}
        if h.permissions:
            attrs["permissions"] = sorted(h.permissions)
        if repo.archived:
            caps = tuple(c for c in caps if c != CODE_PUSH)  # archived: read-only until unarchived
            attrs["archived"] = True
        b.grant(Grant("github", h.key, h.role, repo.key, caps, via=h.via, detail=h.detail, attrs=attrs))
        out.append(h)

    if org.base_permission not in ("none", "", "unknown"):  # unknown: a Gap on the organisation says so
        hold(ctx.holding(ctx.members_key, org.base_permission, Via.BASE,
                         f"base permission of the {org.login} organisation"))
    for login in sorted(org.owners):
        hold(ctx.holding(ctx.user(login), "admin", Via.OWNER, f"owner of the {org.login} organisation", owner=True))
    for slug, role in ctx.repo_teams.get(repo.full, ()):
        # A child team lists what it inherits; the grant belongs to the ancestor that holds it.
        inherited = [a for a in ctx.ancestors(slug)
                     if ROLE_RANK.get(ctx.role_info((org.teams[a].repos or {}).get(repo.full, "none"))[0], -1)
                     >= ROLE_RANK.get(ctx.role_info(role)[0], 0)]
        if inherited:
            continue
        children = ctx.children.get(slug, [])
        note = f" (inherited by child teams {', '.join(sorted(children))})" if children else ""
        base, _ = ctx.role_info(role)
        custom = f", a custom role based on {base}" if role not in ROLE_RANK else ""
        hold(ctx.holding(ctx.team(slug), role, Via.TEAM, f"team {slug} has {role}{custom}{note}"))
    for login, role in sorted((repo.collaborators or {}).items()):
        ctx.ensure_user(login)
        base, perms = ctx.role_info(role)
        if role in ROLE_RANK:
            detail = f"direct collaborator with {role}"
        else:
            extra = f", may {', '.join(sorted(perms))}" if perms else ""
            detail = f"custom role {role} (based on {base}{extra}), as a direct collaborator"
        if login in org.outside:
            detail += " (outside collaborator)"
        hold(ctx.holding(ctx.user(login), role, Via.DIRECT, detail))
    for role in org.org_roles:
        base = str(role.get("base_role"))
        assigned = set(role.get("teams", []))
        team_assignment = role.get("team_assignment") or {}
        for slug in role.get("teams", []):
            if slug not in org.teams:
                continue
            if team_assignment.get(slug) == "indirect" and any(a in assigned for a in ctx.ancestors(slug)):
                continue  # a child team holds it through its parent: the child-team edge explains it
            hold(ctx.holding(ctx.team(slug), base, Via.TEAM,
                             f"organisation role {role['name']} gives team {slug} {base} on every repository"))
        user_assignment = role.get("user_assignment") or {}
        for login in role.get("users", []):
            how, via_teams = user_assignment.get(login, ("direct", []))
            known = [t for t in via_teams if t in org.teams and t in assigned]
            if how == "indirect" and known and set(known) == set(via_teams):
                continue  # held through teams that hold the grant: the path names the team
            ctx.ensure_user(login)
            if how == "indirect":  # through a team foureyes cannot see: say which
                hold(ctx.holding(ctx.user(login), base, Via.TEAM,
                                 f"organisation role {role['name']} gives {base} on every repository, through team "
                                 f"{', '.join(via_teams) or 'unknown'}"))
            else:
                hold(ctx.holding(ctx.user(login), base, Via.DIRECT,
                                 f"organisation role {role['name']} gives {base} on every repository"))
    return out


def _repo_resource(ctx: Context, repo: RepoData, guard: BranchGuard) -> None:
    reqs = guard.requirements(repo.default_branch)
    classic = next((r for r in reqs if r.kind == "classic"), None)
    ruleset_reqs = [r for r in reqs if r.kind == "ruleset" and (r.requires_pr or r.blocks_updates)]
    if classic is not None:
        enforce = classic.enforce_admins
    elif ruleset_reqs:
        enforce = not any(admin_bypass(a) for r in ruleset_reqs for a in (r.bypass or []))
    else:
        enforce = False
    ctx.b.resource(Resource(
        "github", "repo", repo.full, name=repo.full,
        tier=ctx.config.tier_for(system="github", kind="repo", id=repo.full),
        app=ctx.config.app_for(system="github", kind="repo", id=repo.full),
        parent=ctx.org.key,
        attrs={
            "default_branch": repo.default_branch,
            "protected": guard.protected(repo.default_branch),
            "enforce_admins": enforce,
            "required_approvals": max((r.approvals for r in reqs if r.requires_pr), default=0),
            "protected_branches": guard.protected_names(),
            "require_last_push_approval": any(r.last_push_approval for r in reqs),
            "require_code_owner_reviews": any(r.code_owners for r in reqs),
            "codeowners": _codeowners_attr(repo, guard),
            "actions_can_approve_pull_requests": repo.actions_can_approve,
            "rulesets": [f"{rs.get('name')} ({str(rs.get('enforcement', '')).lower()})" for rs in repo.rulesets],
            "visibility": repo.visibility,
            "archived": repo.archived,
        },
    ))


def _merge_unreviewed(ctx: Context, repo: RepoData, guard: BranchGuard, holdings: list[Holding]) -> None:
    """code.merge_unreviewed on the default branch (reference §1.5), latent for admins."""
    b = ctx.b
    branch = repo.default_branch
    landed = guard.unreviewed(branch)
    for key, (via, reason) in sorted(landed.items()):
        b.grant(Grant("github", key, "merge unreviewed", repo.key, (CODE_MERGE_UNREVIEWED,), via=via,
                      detail=f"{branch} of {repo.full}: {reason}", attrs={"latent": False, "branch": branch}))
    if not guard.protected(branch) or repo.archived:
        return
    for h in holdings:
        if h.key in landed:
            continue
        if h.admin:
            reason = f"repository admin can edit or switch off the protection of {branch} of {repo.full}"
        elif "edit_repo_protections" in h.permissions:
            reason = f"custom role {h.role} can edit the protection of {branch} of {repo.full}"
        else:
            continue
        b.grant(Grant("github", h.key, "latent bypass", repo.key, (CODE_MERGE_UNREVIEWED,), via=h.via,
                      detail=reason, attrs={"latent": True, "branch": branch}))


def _codeowners_attr(repo: RepoData, guard: BranchGuard) -> dict[str, Any]:
    owners = repo.codeowners
    attrs: dict[str, Any] = {"state": owners.state if owners else "unknown", "path": owners.path if owners else "",
                             "coverage": guard.owners.state}
    if guard.owners.unowned and guard.owners.state != "none":
        attrs["unowned"] = guard.owners.unowned
    if guard.owners.ignored:
        attrs["ignored_owners"] = sorted(set(guard.owners.ignored))
    return attrs


def _code_owners(ctx: Context, repo: RepoData, guard: BranchGuard) -> None:
    """code.approve for code owners, where a layer of the default branch requires their review.

    An owner's approval counts for the paths they own (the last matching CODEOWNERS pattern);
    an author cannot approve their own pull request ("About code owners").
    """
    reqs = [r for r in guard.requirements(repo.default_branch) if r.code_owners and r.requires_pr]
    if not reqs or repo.archived:
        return
    names = ", ".join(r.name for r in reqs)
    owners = guard.owners
    where = repo.codeowners.path if repo.codeowners and repo.codeowners.path else "CODEOWNERS"
    if owners.state == "unknown":
        reason = repo.codeowners.reason if repo.codeowners and repo.codeowners.reason else "CODEOWNERS not read"
        ctx.b.gap(Gap("github", repo.key, f"{reason}; {names} requires a code owner's review",
                      "who must approve changes (code owners), and whether writers can land changes without one"))
        return
    for raw in owners.unresolved:
        ctx.b.gap(Gap("github", repo.key, f"{where}: code owner {raw} is an email foureyes cannot map to a login",
                      "a code owner whose approval counts for the paths they own"))
    for (kind, name), patterns in sorted(owners.owners.items()):
        key = ctx.team(name) if kind == "team" else ctx.ensure_user(name)
        shown = ", ".join(patterns[:5]) + (f" and {len(patterns) - 5} more" if len(patterns) > 5 else "")
        ctx.b.grant(Grant("github", key, "code owner", repo.key, (CODE_APPROVE,),
                          via=Via.TEAM if kind == "team" else Via.DIRECT,
                          detail=f"code owner of {shown} in {where} ({names} requires a code owner's review; "
                                 "an owner cannot approve their own change)",
                          attrs={"paths": list(patterns), "codeowners": where}))
