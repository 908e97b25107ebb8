"""GitHub Actions workflow files: which jobs run in which environment, and which cloud
identities they take on (AWS role to assume, GCP service account or principal set). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .payloads import RepoData

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster
AWS_ACTION = "aws-actions/configure-aws-credentials"
CHECKOUT = "actions/checkout"
# Events whose runs have GITHUB_REF on the default branch (pull_request_target: the pull request's
# base branch) though someone without write access can cause them ("Events that trigger
# workflows"): the run gets the secrets, environments and OIDC subject of that branch.
BASE_CONTEXT_EVENTS = frozenset({"pull_request_target", "issue_comment", "workflow_run", "issues",
                                 "discussion", "discussion_comment"})
# What a pull request's or an issue's author controls, as workflow expressions (GitHub Security
# Lab, "Keeping your GitHub Actions and workflows secure"): checked out, or pasted into a script.
_UNTRUSTED_REF = re.compile(r"github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|refs/pull/|"
                            r"github\.event\.workflow_run\.head_(sha|branch)|github\.event\.issue\.number|"
                            r"github\.event\.pull_request\.number|github\.event\.number")
_UNTRUSTED_TEXT = re.compile(r"\$\{\{\s*github\.event\.(issue\.(title|body)|comment\.body|pull_request\.(title|body)|"
                             r"pull_request\.head\.(ref|label)|review\.body|discussion\.(title|body)|"
                             r"workflow_run\.head_branch)\s*\}\}|\$\{\{\s*github\.head_ref\s*\}\}")
_PR_CHECKOUT_COMMANDS = re.compile(r"gh\s+pr\s+checkout|git\s+fetch\s+\S+\s+(\+?refs/)?pull/")
GCP_ACTION = "google-github-actions/auth"


@dataclass(frozen=True)
class WorkflowJob:
    """One job of a workflow on the default branch, with what it deploys as."""

    file: str
    job: str
    environment: str | None  # a name, an expression ("${{ … }}"), or None
    identities: tuple[str, ...] = ()  # "assume arn:aws:iam::…:role/x", "impersonate sa@… via …"
    id_token: bool = False  # the job may mint an OIDC token
    reusable: str = ""  # a called reusable workflow, whose jobs we do not see
    triggers: tuple[str, ...] = ()  # the workflow's events (`on:`)
    untrusted: str = ""  # the step that runs code or text from a pull request or an issue, if any

    @property
    def base_context(self) -> tuple[str, ...]:
        """Events this job runs on with the default (or base) branch's context for someone outside."""
        return tuple(t for t in self.triggers if t in BASE_CONTEXT_EVENTS)


@dataclass
class WorkflowScan:
    jobs: list[WorkflowJob] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, message)

    @property
    def uses_oidc(self) -> bool:
        return any(j.id_token or j.identities for j in self.jobs)

    def identities_for(self, environment: str | None) -> list[str]:
        found: list[str] = []
        for job in self.jobs:
            if job.environment == environment:
                found += [i for i in job.identities if i not in found]
        return found


def parse_workflow(file: str, text: str) -> WorkflowScan:
    """The jobs of one workflow file; a YAML error is recorded, never raised."""
    scan = WorkflowScan()
    try:
        doc = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        scan.errors.append((file, f"not valid YAML{where}"))
        return scan
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), dict):
        scan.errors.append((file, "no jobs mapping"))
        return scan
    top_token = _id_token(doc.get("permissions"))
    triggers = _triggers(doc.get("on", doc.get(True)))  # YAML 1.1 reads a bare `on` as true
    for job_id, job in doc["jobs"].items():
        if not isinstance(job, dict):
            continue
        env = job.get("environment")
        if isinstance(env, dict):
            env = env.get("name")
        environment = str(env) if env is not None else None
        identities: list[str] = []
        for step in job.get("steps") or []:
            if not isinstance(step, dict) or not isinstance(step.get("uses"), str):
                continue
            action = step["uses"].split("@", 1)[0].strip().lower()
            args = step.get("with") if isinstance(step.get("with"), dict) else {}
            if action == AWS_ACTION and args.get("role-to-assume"):
                identities.append(f"assume {args['role-to-assume']}")
            elif action == GCP_ACTION and (args.get("service_account") or args.get("workload_identity_provider")):
                who = args.get("service_account") or "a principal set (direct workload identity)"
                via = f" via {args['workload_identity_provider']}" if args.get("workload_identity_provider") else ""
                identities.append(f"impersonate {who}{via}")
        job_token = _id_token(job.get("permissions")) if "permissions" in job else top_token
        scan.jobs.append(WorkflowJob(file=file, job=str(job_id), environment=environment,
                                     identities=tuple(identities), id_token=job_token or bool(identities),
                                     reusable=str(job.get("uses") or ""), triggers=triggers,
                                     untrusted=_untrusted(job) if set(triggers) & BASE_CONTEXT_EVENTS else ""))
    return scan


def _triggers(on: Any) -> tuple[str, ...]:
    if isinstance(on, str):
        return (on,)
    if isinstance(on, list):
        return tuple(str(t) for t in on if isinstance(t, str))
    if isinstance(on, dict):
        return tuple(str(t) for t in on)
    return ()


def _untrusted(job: dict[str, Any]) -> str:
    """The first step that runs what an outsider wrote: a checkout of the pull request's head (then
    any later step runs its code), a `gh pr checkout`, or an event field pasted into a script."""
    checked_out = ""
    for step in job.get("steps") or []:
        if not isinstance(step, dict):
            continue
        uses = str(step.get("uses") or "").split("@", 1)[0].strip().lower()
        args = step.get("with") if isinstance(step.get("with"), dict) else {}
        run = str(step.get("run") or "")
        shown_run = f"run: {run.strip().splitlines()[0][:60]}" if run.strip() else "a step"
        name = str(step.get("name") or uses or shown_run)
        if uses == CHECKOUT and _UNTRUSTED_REF.search(str(args.get("ref") or "")):
            checked_out = f"step '{name}' checks out the pull request's head (ref: {args.get('ref')})"
            continue
        if run and _PR_CHECKOUT_COMMANDS.search(run):
            checked_out = f"step '{name}' fetches the pull request's head"
            continue
        if run and _UNTRUSTED_TEXT.search(run):
            return f"step '{name}' pastes {_UNTRUSTED_TEXT.search(run).group(0)} into a script"
        if checked_out and (run or uses):
            return f"{checked_out}, and step '{name}' then runs in it"
    return ""


def _id_token(permissions: Any) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and str(permissions.get("id-token", "")).lower() == "write"


def scan_repo(repo: RepoData) -> WorkflowScan:
    if repo.scan is not None:
        return repo.scan
    total = WorkflowScan()
    for file, text in sorted(repo.workflows.items()):
        if text is None:
            continue
        part = parse_workflow(file, text)
        total.jobs += part.jobs
        total.errors += part.errors
    repo.scan = total
    return total
