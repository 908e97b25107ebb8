"""GitHub Actions workflow files: which jobs run in which environment, and which cloud
identities they take on (AWS role to assume, GCP service account or principal set). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .payloads import RepoData

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster
AWS_ACTION = "aws-actions/configure-aws-credentials"
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
                                     reusable=str(job.get("uses") or "")))
    return scan


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
