"""GitHub Actions, translated: environments, deployment reviewers and branch policies, and the
CI contexts (workload principals) people can obtain.

Emits deploy.approve for required reviewers, and can-trigger edges from the people who can
obtain a CI context alone (reference §2.4); the cloud connectors match those contexts.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from ...model import (
    ANY_BRANCH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    Via,
    ci_subject,
)
from .context import Context, Holding
from .payloads import OrgData, RepoData
from .protection import BranchGuard, branch_glob
from . import triggers
from .workflows import WorkflowScan, scan_repo

DEFAULT_CLAIMS = ["repo", "context"]


def _claims(org: OrgData, repo: RepoData) -> list[str]:
    """The OIDC subject claim keys in effect for a repository."""
    custom = repo.oidc or {}
    if custom and not custom.get("use_default", True) and custom.get("include_claim_keys"):
        return list(custom["include_claim_keys"])
    if custom and custom.get("use_default") is False and org.oidc:
        return list(org.oidc)
    return list(DEFAULT_CLAIMS)


def translate_repo(ctx: Context, repo: RepoData, guard: BranchGuard, holdings: list[Holding]) -> None:
    b = ctx.b
    scan = scan_repo(repo)
    for file, message in scan.errors:
        b.gap(Gap("github", repo.key, f".github/workflows/{file}: {message}",
                          "the environments and cloud identities that workflow uses"))
    claims = _claims(ctx.org, repo)
    if scan.uses_oidc and claims != DEFAULT_CLAIMS:
        b.gap(Gap("github", repo.key, f"custom OIDC subject template (include_claim_keys {claims}): cloud trust "
                          "conditions are matched against default-format subjects only",
                          "CI paths from this repository to cloud roles"))
    writers = guard.writers()
    protected = guard.protected_names()
    common = {"repo": repo.full, "oidc_sub_claims": claims}

    branch_ctx = b.principal(Principal(
        "ci", ci_subject(repo.full, ref=ANY_BRANCH), Kind.WORKLOAD,
        display_name=f"workflow on a new branch of {repo.full}",
        attrs={**common, "protected": protected, "assumes": scan.identities_for(None)}))
    pr_ctx = b.principal(Principal(
        "ci", ci_subject(repo.full, pull_request=True), Kind.WORKLOAD,
        display_name=f"pull request workflow in {repo.full}", attrs={**common, "assumes": scan.identities_for(None)}))
    for h in sorted(writers, key=lambda h: h.key):
        b.edge(Edge(h.key, branch_ctx, EdgeKind.CAN_TRIGGER, f"can push a branch of {repo.full} and run a workflow on it"))
        b.edge(Edge(h.key, pr_ctx, EdgeKind.CAN_TRIGGER, f"can open a pull request from a branch of {repo.full}"))

    if repo.environment_names and repo.environments is None:
        for name in repo.environment_names:
            _environment_resource(ctx, repo, name, {"unknown": True})
        triggers.outsider_runs(ctx, repo, guard, scan, {}, common, unknown=set(repo.environment_names))
        return
    gates = {}
    for env in repo.environments or []:
        gate = _environment(ctx, repo, guard, env, scan, writers, common)
        gates[gate.name] = gate
    triggers.outsider_runs(ctx, repo, guard, scan, gates, common)


def _environment_resource(ctx: Context, repo: RepoData, name: str, attrs: dict[str, Any]) -> str:
    env_id = f"{repo.full}/{name}"
    tier = ctx.config.tier_for(system="github", kind="environment", id=env_id)
    if tier != "production" and any(fnmatch.fnmatchcase(n, p) for n in (name, env_id)
                                     for p in ctx.section.production_environments):
        tier = "production"
    return ctx.b.resource(Resource(
        "github", "environment", env_id, name=f"environment {name} of {repo.full}", tier=tier,
        app=ctx.config.app_for(system="github", kind="environment", id=env_id), parent=repo.key, attrs=attrs))


def _environment(ctx: Context, repo: RepoData, guard: BranchGuard, env: dict[str, Any], scan: WorkflowScan,
                 writers: list[Holding], common: dict[str, Any]) -> "triggers.EnvironmentGate":
    b = ctx.b
    name = str(env.get("name"))
    reviewers: list[tuple[str, str]] = []  # (User|Team, login|slug)
    prevent_self = False
    other_rules: list[str] = []
    wait_timer = 0
    for rule in env.get("protection_rules") or []:
        kind = rule.get("type")
        if kind == "required_reviewers":
            prevent_self = bool(rule.get("prevent_self_review"))
            for entry in rule.get("reviewers") or []:
                who = entry.get("reviewer") or {}
                if entry.get("type") == "Team" and who.get("slug"):
                    reviewers.append(("Team", who["slug"]))
                elif who.get("login"):
                    reviewers.append(("User", who["login"]))
        elif kind == "wait_timer":
            wait_timer = int(rule.get("wait_timer") or 0)
        elif kind not in ("branch_policy",):
            other_rules.append(str(kind))
    policy = env.get("deployment_branch_policy")
    patterns: list[dict[str, Any]] | None = []
    if not policy:
        branch_policy = "none"
    elif policy.get("protected_branches"):
        branch_policy = "protected"
    else:
        branch_policy = "custom"
        patterns = repo.branch_policies.get(name)  # None: could not be read (a Gap says so)
    can_admins_bypass = bool(env.get("can_admins_bypass", True))
    env_key = _environment_resource(ctx, repo, name, {
        "reviewers": len(reviewers),
        "reviewer_names": [f"{'team' if k == 'Team' else 'user'} {w}" for k, w in reviewers],
        "prevent_self_review": prevent_self,
        "can_admins_bypass": can_admins_bypass,
        "branch_policy": branch_policy,
        "branch_patterns": [p.get("name") for p in patterns or [] if p.get("type", "branch") == "branch"],
        "tag_patterns": [p.get("name") for p in patterns or [] if p.get("type") == "tag"],
        "wait_timer": wait_timer,
        "custom_protection_rules": other_rules,
    })
    context = ci_subject(repo.full, environment=name)
    identities = scan.identities_for(name)
    jobs = sorted({f"{j.file}:{j.job}" for j in scan.jobs if j.environment == name})
    ctx_key = b.principal(Principal("ci", context, Kind.WORKLOAD, display_name=f"job in environment {name} of {repo.full}",
                                    attrs={**common, "environment": name, "assumes": identities, "jobs": jobs}))
    detail = f"jobs in {name} receive its secrets and deploy"
    if identities:
        detail += "; workflows on the default branch " + ", ".join(identities)
    b.grant(Grant("ci", ctx_key, f"deploy through environment {name}", env_key, (DEPLOY_RUN,), via=Via.CI,
                  detail=detail, attrs={"actions": identities or [f"secrets and deployments of environment {name}"],
                                        "jobs": jobs}))

    reviewer_logins: set[str] = set()
    for kind, who in reviewers:
        if kind == "Team":
            key = ctx.team(who)
            reviewer_logins |= ctx.team_members(who)
        else:
            key = ctx.ensure_user(who)
            reviewer_logins.add(who)
        b.grant(Grant("github", key, "required reviewer", env_key, (DEPLOY_APPROVE,), via=Via.REVIEWER,
                      detail=f"required reviewer of {name}" + ("" if prevent_self else "; self-review allowed"),
                      attrs={"self_review_allowed": not prevent_self}))

    admitted = _admitted(ctx, repo, guard, branch_policy, patterns, writers)
    if not reviewers:
        for key, why in sorted(admitted.items()):
            b.edge(Edge(key, ctx_key, EdgeKind.CAN_TRIGGER,
                        f"can push {repo.full} and environment {name} has no required reviewer ({why})"))
    elif not prevent_self:
        for login in sorted(reviewer_logins):
            reach = _reach(ctx, login)
            why = next((admitted[k] for k in sorted(reach) if k in admitted), None)
            if why is not None:
                b.edge(Edge(ctx.user(login), ctx_key, EdgeKind.CAN_TRIGGER,
                            f"required reviewer of {name} who may approve their own run ({why})"))
    if can_admins_bypass and (reviewers or branch_policy != "none"):
        for h in sorted(guard.admins(), key=lambda h: h.key):
            b.edge(Edge(h.key, ctx_key, EdgeKind.CAN_TRIGGER,
                        f"admin of {repo.full} may bypass the protection rules of {name}"))
    return triggers.EnvironmentGate(name, ctx_key, bool(reviewers), reviewer_logins, prevent_self, branch_policy,
                                    patterns)


def _reach(ctx: Context, login: str) -> set[str]:
    keys = {ctx.user(login)} | {ctx.team(s) for s in ctx.teams_of(login)}
    if login in ctx.org.members and login not in ctx.org.outside:
        keys.add(ctx.members_key)
    return keys


def _admitted(ctx: Context, repo: RepoData, guard: BranchGuard, branch_policy: str,
              patterns: list[dict[str, Any]] | None, writers: list[Holding]) -> dict[str, str]:
    """Holder key -> why the environment's branch policy admits a ref this holder can put code on alone."""
    everyone = {h.key: "" for h in writers}
    if branch_policy == "none":
        return {k: "any branch may deploy" for k in everyone}
    if patterns is None:  # unknown is not "no access": assume the patterns admit any branch
        return {k: "the deployment branch policies could not be read" for k in everyone}
    out: dict[str, str] = {}
    if branch_policy == "protected":
        if not repo.classic:
            return {k: f"'protected branches only', and {repo.full} has no branch protection rule, so any branch may "
                       "deploy" for k in everyone}
        for branch, new in _protected_candidates(repo):
            if new:  # a name matching a wildcard rule: whoever may create it puts any commit there
                for key, (_, why) in guard.creators(branch).items():
                    out.setdefault(key, f"can create protected branch {branch} alone: {why}")
                continue
            for key, (_, why) in guard.unreviewed(branch).items():
                out.setdefault(key, f"can land on protected branch {branch} alone: {why}")
        return out
    for policy in patterns:
        pattern = str(policy.get("name", ""))
        if policy.get("type") == "tag":
            tag = _instantiate(pattern)
            if not guard.tag_requirements(tag):
                for key in everyone:
                    out.setdefault(key, f"can push a tag matching {pattern} (no active tag ruleset restricts it)")
                continue
            for key, (_, why) in guard.creators(tag, tag=True).items():
                out.setdefault(key, f"can create tag {tag} matching {pattern}: {why}")
            for key, (_, why) in guard.updaters(tag).items():
                out.setdefault(key, f"can move an existing tag matching {pattern}: {why}")
            continue
        for branch, new in _pattern_candidates(pattern, guard):
            if new and not guard.requirements(branch):
                for key in everyone:
                    out.setdefault(key, f"can create unprotected branch {branch} matching {pattern}")
            elif new:
                for key, (_, why) in guard.creators(branch).items():
                    out.setdefault(key, f"can create branch {branch} matching {pattern}: {why}")
            else:
                for key, (_, why) in guard.unreviewed(branch).items():
                    out.setdefault(key, f"can land on {branch} (matches {pattern}) alone: {why}")
    return out


def _protected_candidates(repo: RepoData) -> list[tuple[str, bool]]:
    """(branch, new): existing branches a classic rule protects, and a new name for each wildcard rule."""
    names: dict[str, bool] = {}
    for rule in repo.classic:
        for n in (rule.get("matchingRefs") or {}).get("nodes") or []:
            if n and n.get("name"):
                names[n["name"]] = False
        pattern = str(rule.get("pattern", ""))
        if re.search(r"[*?]", pattern):
            names.setdefault(_instantiate(pattern), True)
        elif pattern:
            names.setdefault(pattern, False)
    return list(names.items())


def _pattern_candidates(pattern: str, guard: BranchGuard) -> list[tuple[str, bool]]:
    """(branch, new) a deployment branch pattern admits: known branches, and one a writer could create."""
    glob = branch_glob(pattern)
    known = [guard.default] + guard.protected_names()
    names: dict[str, bool] = {n: False for n in known if glob.fullmatch(n)}
    if re.search(r"[*?\[]", pattern):
        names.setdefault(_instantiate(pattern), True)
    elif pattern not in names:
        names[pattern] = True
    return list(names.items())


def _instantiate(pattern: str) -> str:
    """A branch name a person could create that matches a GitHub branch pattern."""
    return re.sub(r"\*\*|\*|\?|\[[^\]]*\]", "x", pattern) or "x"
