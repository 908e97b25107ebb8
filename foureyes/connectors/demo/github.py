"""Acme's GitHub organisation and its Actions environments, as the GitHub connector would read them."""

from __future__ import annotations

from typing import Any

from ...config import Config
from ...model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    ANY_BRANCH,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
    ci_subject,
)
from ..base import SourceBuilder
from .activity import PERIOD, github_activity
from .acme import (
    ORG,
    OUTSIDE_COLLABORATORS,
    OWNERS,
    PEOPLE,
    SYNCED_TEAMS,
    TEAMS,
    WRITE_ROLES,
    finish,
    github_team,
    github_user,
    repos_at,
)


def github_source(stage: str, config: Config) -> SourceResult:
    after = stage == "after"
    b = SourceBuilder()
    people = {h.login: h for h in PEOPLE}
    teams = {slug: (parent, list(members), list(maint)) for slug, (parent, members, maint) in TEAMS.items()}
    if after:
        teams["web"][1].append("nina-new")
        for slug in teams:
            if "leo-leaves" in teams[slug][1]:
                teams[slug][1].remove("leo-leaves")
    present = set(people)
    if not after:
        present.discard("nina-new")
    else:
        present.discard("leo-leaves")

    org_key = b.resource(Resource("github", "org", ORG, name=f"GitHub org {ORG}",
                                  tier=config.tier_for(system="github", kind="org", id=ORG),
                                  attrs={"base_permission": "read", "saml": True}))
    for login in sorted(present):
        h = people[login]
        attrs: dict[str, Any] = {
            "org_role": "owner" if login in OWNERS else "outside" if login in OUTSIDE_COLLABORATORS else "member"
        }
        if h.saml and h.email:
            attrs["email_source"] = "saml"
        b.principal(Principal("github", login, Kind.USER, display_name=h.name,
                              email=h.email if h.saml and h.email else None, attrs=attrs))
        if login in OWNERS:
            b.grant(Grant("github", github_user(login), "owner", org_key, (ACCESS_ADMIN,), via=Via.OWNER,
                          detail=f"owner of the {ORG} organisation"))

    members_key = b.principal(Principal("github", f"org/{ORG}/members", Kind.GROUP,
                                        display_name=f"all members of {ORG}"))
    for login in sorted(present - set(OUTSIDE_COLLABORATORS)):
        b.edge(Edge(github_user(login), members_key, EdgeKind.MEMBER_OF, f"member of the {ORG} organisation"))

    for slug, (parent, members, maintainers) in teams.items():
        attrs = {"slug": slug, "parent": parent or ""}
        if slug in SYNCED_TEAMS:  # GitHub team synchronisation: members come from an Okta group
            attrs["idp_groups"] = [SYNCED_TEAMS[slug]]
        b.principal(Principal("github", f"team/{ORG}/{slug}", Kind.TEAM, display_name=f"team {slug}", attrs=attrs))
        for login in members:
            if login in present:
                b.edge(Edge(github_user(login), github_team(slug), EdgeKind.MEMBER_OF, f"member of team {slug}"))
        for login in maintainers:
            if login in present:
                b.edge(Edge(github_user(login), github_team(slug), EdgeKind.MEMBER_OF, f"maintainer of team {slug}"))
        if parent:
            b.edge(Edge(github_team(slug), github_team(parent), EdgeKind.MEMBER_OF, f"parent of team {slug}"))

    # who reaches which team (for reviewer and admin reasoning below)
    def team_members(slug: str) -> set[str]:
        found = set(m for m in teams[slug][1] + teams[slug][2] if m in present)
        for child, (parent, _, _) in teams.items():
            if parent == slug:
                found |= team_members(child)
        return found

    def ancestors(slug: str) -> list[str]:
        chain, parent = [], teams[slug][0]
        while parent:
            chain.append(parent)
            parent = teams[parent][0]
        return chain

    for repo in repos_at(stage):
        full = f"{ORG}/{repo.name}"
        if repo.archived:
            continue  # archived repositories are skipped by default, as the connector does
        protected_branches = ["main"] if (repo.protected or (repo.ruleset and repo.ruleset["enforcement"] == "active")) else []
        ruleset_active = bool(repo.ruleset and repo.ruleset["enforcement"] == "active")
        approvals = max(repo.approvals if repo.protected else 0,
                        repo.ruleset["approvals"] if ruleset_active and repo.ruleset else 0)
        enforce_admins = repo.enforce_admins if repo.protected else ruleset_active
        repo_key = b.resource(Resource(
            "github", "repo", full, name=full,
            tier=config.tier_for(system="github", kind="repo", id=full),
            app=config.app_for(system="github", kind="repo", id=full),
            parent=org_key,
            attrs={
                "default_branch": "main",
                "protected": repo.protected or ruleset_active,
                "enforce_admins": enforce_admins,
                "required_approvals": approvals,
                "protected_branches": protected_branches,
                "require_last_push_approval": repo.last_push_approval if repo.protected else False,
                "rulesets": [repo.ruleset["name"]] if repo.ruleset else [],
                "visibility": "private",
            },
        ))
        # effective write/admin holders, to reason about bypass and environments
        holders: dict[str, tuple[str, str, str]] = {}  # principal key -> (role, via, detail)

        def hold(key: str, role: str, via: str, detail: str) -> None:
            caps: tuple[str, ...] = ()
            if role in WRITE_ROLES:
                caps = (CODE_PUSH, CODE_APPROVE)
            if role == "admin":
                caps = (CODE_PUSH, CODE_APPROVE, ACCESS_ADMIN)
            b.grant(Grant("github", key, role, repo_key, caps, via=via, detail=detail))
            holders[key] = (role, via, detail)

        # org base permission: read for every member
        hold(members_key, "read", Via.BASE, f"base permission of the {ORG} organisation")
        for login in OWNERS:
            hold(github_user(login), "admin", Via.OWNER, f"owner of the {ORG} organisation")
        for slug, role in repo.teams.items():
            parent_note = " (inherited by child teams)" if any(t[0] == slug for t in teams.values()) else ""
            hold(github_team(slug), role, Via.TEAM, f"team {slug} has {role}{parent_note}")
        for login, role in repo.users.items():
            if login not in present:
                continue
            detail = "custom role release-manager (based on write, may bypass branch protections)" \
                if role == "release-manager" else f"direct collaborator with {role}"
            hold(github_user(login), role, Via.DIRECT, detail)

        # -- who can land code on main without an independent review (reference §1.5)
        def unreviewed(key: str, reason: str, *, latent: bool = False, via: str = Via.BYPASS) -> None:
            b.grant(Grant("github", key, "merge unreviewed" if not latent else "latent bypass", repo_key,
                          (CODE_MERGE_UNREVIEWED,), via=via, detail=reason,
                          attrs={"latent": latent}))

        for key, (role, via, detail) in sorted(holders.items()):
            if role not in WRITE_ROLES:
                continue
            if not (repo.protected or ruleset_active) or approvals == 0:
                unreviewed(key, f"main of {full} requires no approving review", via=via)
            elif role == "admin" and not enforce_admins:
                unreviewed(key, f"admins are not enforced on main of {full}: admins may merge without approval", via=via)
            elif role == "release-manager":
                unreviewed(key, "custom role release-manager may bypass branch protections", via=via)
            elif role == "admin":
                unreviewed(key, f"repository admin can edit or switch off the protection of main of {full}",
                           latent=True, via=via)
        if ruleset_active and repo.ruleset:
            for kind, who, mode in repo.ruleset["bypass"]:
                key = github_team(who) if kind == "Team" else github_user(who)
                unreviewed(key, f"ruleset '{repo.ruleset['name']}' bypass, mode {mode}")
        if repo.hidden_bypass:
            b.gap(Gap("github", repo_key,
                              f"403 on GET /repos/{full}/rulesets/7: bypass list not visible with this token",
                              hides="ruleset bypass actors who may merge without review"))

        # -- environments and CI contexts (reference §1.6, §2.4)
        pushers = {k for k, (role, _, _) in holders.items() if role in WRITE_ROLES}
        admins = {k for k, (role, _, _) in holders.items() if role == "admin"}
        any_branch = ci_subject(full, ref=ANY_BRANCH)
        ci_key = b.principal(Principal("ci", any_branch, Kind.WORKLOAD,
                                       display_name=f"workflow on a new branch of {full}",
                                       attrs={"repo": full, "protected": protected_branches}))
        for key in sorted(pushers):
            b.edge(Edge(key, ci_key, EdgeKind.CAN_TRIGGER,
                        f"can push a branch of {full} and run a workflow on it"))
        for env_name, env in repo.environments.items():
            env_id = f"{full}/{env_name}"
            env_key = b.resource(Resource(
                "github", "environment", env_id, name=f"environment {env_name} of {full}",
                tier=config.tier_for(system="github", kind="environment", id=env_id),
                app=config.app_for(system="github", kind="environment", id=env_id),
                parent=repo_key,
                attrs={
                    "reviewers": len(env["reviewers"]),
                    "reviewer_names": [f"{k} {w}" for k, w in env["reviewers"]],
                    "prevent_self_review": env["prevent_self_review"],
                    "can_admins_bypass": env["can_admins_bypass"],
                    "branch_policy": env["branch_policy"],
                    "branch_patterns": env.get("branch_patterns", []),
                },
            ))
            context = ci_subject(full, environment=env_name)
            ctx_key = b.principal(Principal("ci", context, Kind.WORKLOAD,
                                            display_name=f"job in environment {env_name} of {full}",
                                            attrs={"repo": full, "environment": env_name}))
            b.grant(Grant("ci", ctx_key, f"deploy through environment {env_name}", env_key, (DEPLOY_RUN,),
                          via=Via.CI, detail=f"jobs in {env_name} receive its secrets and deploy"))
            reviewer_people: set[str] = set()
            for kind, who in env["reviewers"]:
                key = github_team(who) if kind == "team" else github_user(who)
                b.grant(Grant("github", key, "required reviewer", env_key, (DEPLOY_APPROVE,),
                              via=Via.REVIEWER,
                              detail=f"required reviewer of {env_name}"
                                     + ("" if env["prevent_self_review"] else "; self-review allowed"),
                              attrs={"self_review_allowed": not env["prevent_self_review"]}))
                reviewer_people |= team_members(who) if kind == "team" else {who}
            # Who can run a job in this environment with nobody else in between?
            if not env["reviewers"]:
                for key in sorted(pushers):
                    b.edge(Edge(key, ctx_key, EdgeKind.CAN_TRIGGER,
                                f"can push {full} and environment {env_name} has no required reviewer"))
            else:
                if not env["prevent_self_review"]:
                    for login in sorted(reviewer_people):
                        if _can_push(github_user(login), pushers, teams, ancestors, present):
                            b.edge(Edge(github_user(login), ctx_key, EdgeKind.CAN_TRIGGER,
                                        f"required reviewer of {env_name} who may approve their own run"))
                if env["can_admins_bypass"]:
                    for key in sorted(admins):
                        b.edge(Edge(key, ctx_key, EdgeKind.CAN_TRIGGER,
                                    f"admin of {full} may bypass the protection rules of {env_name}"))
    if stage == "after":  # the quarter of history before the "after" snapshot
        github_activity(b)
        return finish(b, "github", stage, PERIOD)
    return finish(b, "github", stage)


def _can_push(key: str, pushers: set[str], teams: dict, ancestors: Any, present: set[str]) -> bool:
    if key in pushers:
        return True
    login = key.split(":", 1)[1]
    for slug, (_, members, maintainers) in teams.items():
        if login in members or login in maintainers:
            if github_team(slug) in pushers or any(github_team(a) in pushers for a in ancestors(slug)):
                return True
    return False
