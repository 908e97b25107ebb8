"""Workflows that someone without write access can start in the default branch's context.

GitHub's "Events that trigger workflows": a run for ``pull_request_target`` has
``GITHUB_REF`` on the pull request's base branch (the default branch, for a pull request
against it), and ``issue_comment``, ``issues``, ``discussion``, ``discussion_comment`` and
``workflow_run`` runs have it on the default branch. Such a run gets that branch's secrets,
its environments (a deployment branch policy admitting ``main`` admits it) and its OIDC
subject (``repo:O/R:ref:refs/heads/main``), although anyone who can open a pull request or
comment starts it. When the job checks out the pull request's head and runs anything from it,
or pastes an event field into a script, that person runs their own code there.

Who can start it: on a public repository, anyone with a GitHub account; on a private or
internal one, whoever can read it (they fork it and open a pull request), or only writers
when the organisation forbids forking private repositories. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...model import Edge, EdgeKind, Kind, Principal, ci_subject
from .context import Context
from .payloads import RepoData
from .protection import BranchGuard, branch_glob
from .workflows import WorkflowScan

ANYONE = "public/anyone"  # a person-like principal for every GitHub account (no login has a "/")


@dataclass(frozen=True)
class EnvironmentGate:
    """What stands between a run and an environment's secrets (from actions._environment)."""

    name: str
    context: str  # principal key of the environment's CI context
    has_reviewers: bool
    reviewer_logins: set[str]
    prevent_self_review: bool
    branch_policy: str  # none | protected | custom
    patterns: list[dict[str, Any]] | None


def outsider_runs(ctx: Context, repo: RepoData, guard: BranchGuard, scan: WorkflowScan,
                  gates: dict[str, EnvironmentGate], common: dict[str, Any], *, unknown: frozenset[str] | set[str] = frozenset()
                  ) -> None:
    """can-trigger edges from whoever can start a default-branch-context run that executes their code."""
    jobs = [j for j in scan.jobs if j.base_context and j.untrusted]
    if not jobs or repo.archived:
        return
    openers, how = _openers(ctx, repo, guard)
    b = ctx.b
    for job in sorted(jobs, key=lambda j: (j.file, j.job)):
        ref = f"refs/heads/{repo.default_branch}"
        events = ", ".join(job.base_context)
        what = (f"{job.file} job {job.job} runs on {events} with {ref} as GITHUB_REF and {job.untrusted}")
        environment = job.environment
        if environment is None:
            target = b.principal(Principal(
                "ci", ci_subject(repo.full, ref=ref), Kind.WORKLOAD,
                display_name=f"workflow on {repo.default_branch} of {repo.full}",
                attrs={**common, "ref": ref, "assumes": list(job.identities)}))
        elif environment in gates:
            gate = gates[environment]
            if not _admits_default(gate, repo, guard):
                continue
            target = gate.context
            if gate.has_reviewers:  # a reviewer must approve the run: only a reviewer who may approve their own
                if gate.prevent_self_review:
                    continue
                for login in sorted(gate.reviewer_logins):
                    if ctx.user(ANYONE) in openers or guard.reach(login) & set(openers):
                        b.edge(Edge(ctx.user(login), target, EdgeKind.CAN_TRIGGER,
                                    f"{how}; {what}; required reviewer of {environment} who may approve their own run"))
                continue
        else:  # an environment named by an expression, or one that could not be read: say so on the path
            if environment not in unknown and "${{" not in environment:
                continue
            target = b.principal(Principal(
                "ci", ci_subject(repo.full, ref=ref), Kind.WORKLOAD,
                display_name=f"workflow on {repo.default_branch} of {repo.full}",
                attrs={**common, "ref": ref, "assumes": list(job.identities)}))
        for key in openers:
            b.edge(Edge(key, target, EdgeKind.CAN_TRIGGER, f"{how}; {what}"))


def _openers(ctx: Context, repo: RepoData, guard: BranchGuard) -> tuple[list[str], str]:
    """Principal keys of whoever can open a pull request (or comment), and how to say it."""
    if repo.visibility == "public":
        anyone = ctx.b.principal(Principal("github", ANYONE, Kind.USER, display_name="anyone with a GitHub account",
                                           attrs={"org_role": ANYONE}))
        readers = sorted({h.key for h in guard.readers()})
        return [anyone] + readers, f"{repo.full} is public: anyone can open a pull request or comment"
    if ctx.org.private_forks is False:
        return (sorted({h.key for h in guard.writers()}),
                f"can push a branch of {repo.full} and open a pull request")
    return (sorted({h.key for h in guard.readers()}),
            f"can read {repo.full}, fork it and open a pull request or comment")


def _admits_default(gate: EnvironmentGate, repo: RepoData, guard: BranchGuard) -> bool:
    """Whether the environment's deployment branch policy admits the default branch."""
    if gate.branch_policy == "none" or gate.patterns is None:
        return True
    if gate.branch_policy == "protected":
        return not repo.classic or guard.classic_rule(repo.default_branch) is not None
    return any(p.get("type", "branch") == "branch" and branch_glob(str(p.get("name", ""))).fullmatch(repo.default_branch)
               for p in gate.patterns)
