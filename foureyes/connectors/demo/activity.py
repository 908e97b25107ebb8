"""Acme's quarter of history (the "after" snapshot's review period): about three hundred production
changes and their deployments, and what the AWS and GCP sources report of last use.

Almost everything is ordinary: a teammate approves the last commit, someone else approves the
deployment. Seeded on purpose, and found by the FE-ACT rules:

* payments-api: Max merges his own change without an approval (admins are not bound there)
  and deploys it — shipped alone, and a bypass;
* payments-worker: Rita merges past the ruleset's two approvals with her release-manager bypass
  (a rule suite with result "bypass");
* storefront-api: Sam triggers a production deployment and approves it himself;
* acme-prod: Olivia rolls the payments ECS service by hand from her Identity Center session, outside
  any GitHub run (CloudTrail; the payments runs' own calls are tied to their deployments);
* unknowns: a change by the unlinked contractor, a deployment whose Actions run could not be read;
* the declared break-glass role, used twice: once with the incident's ticket within the hour, once
  without a ticket for four hours (FE-EMG-001, FE-EMG-002);
* AWS and GCP grants unused for months (`LastUsed`).

Deterministic: one seeded random generator, fixed times.
"""

from __future__ import annotations

import functools
import hashlib
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from ...activity import (ABOUT, DIRECT_PUSH, MERGE_QUEUE, PULL_REQUEST, SQUASH, ActivityPeriod, Actor, Approval,
                         AuditEvent, BypassUse, Change, Commit, Deployment, LastUsed)
from ...model import Gap, ci_subject
from ..base import SourceBuilder
from .acme import ORG, PEOPLE, PROD, STAGING, TAKEN_AT

END = datetime.fromisoformat(TAKEN_AT["after"])
PERIOD = ActivityPeriod((END - timedelta(days=90)).isoformat().replace("+00:00", "Z"),
                        END.isoformat().replace("+00:00", "Z"))
EMAILS = {h.login: h.email for h in PEOPLE}

# repository -> (authors, code reviewers, approvals required, environment approvers or None, changes, deploy every)
REPOS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, tuple[str, ...] | None, int, int]] = {
    "payments-api": (("max-pay", "pedro-pay", "priscilla-p", "petra-pay"), ("priscilla-p", "petra-pay", "pedro-pay"),
                     1, ("petra-pay", "priscilla-p"), 70, 3),
    "payments-worker": (("pedro-pay", "max-pay", "priscilla-p"), ("priscilla-p", "petra-pay", "pedro-pay", "max-pay"),
                        2, ("petra-pay", "priscilla-p"), 40, 3),
    "storefront-web": (("wanda-web", "walter-web", "omar-web", "nina-new"), ("wanda-web", "walter-web", "omar-web"),
                       1, None, 60, 2),
    "storefront-api": (("walter-web", "wanda-web", "omar-web", "sid-sre"), ("wanda-web", "walter-web", "sue-sre"),
                       1, ("sue-sre", "sid-sre", "sam-sre"), 50, 3),
    "deploy-tools": (("paul-plat", "ravi-infra", "sam-sre"), ("paul-plat", "ravi-infra", "sid-sre"), 0, None, 40, 0),
    "infra": (("paul-plat", "ravi-infra"), ("paul-plat", "ravi-infra", "sid-sre", "sue-sre"), 2, None, 40, 0),
}
UNREADABLE_RUN = 90_000_013  # the storefront-web run the demo's token could not read


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _who(login: str, via: str = "login") -> Actor:
    if login.endswith("[bot]"):
        return Actor(f"github:{login}", login, via=via, kind="bot")
    return Actor(f"github:{login}", login, via=via, kind="user")


def _git(login: str, via: str = "commit author") -> Actor:
    return Actor(f"github:{login}", login, EMAILS.get(login, ""), via, "user")


class _Quarter:
    """Builds the quarter repository by repository; ``seq`` numbers pull requests, runs and shas."""

    def __init__(self, b: SourceBuilder):
        self.b = b
        self.rng = random.Random(17)
        self.seq = 0
        self.start = datetime.fromisoformat(PERIOD.start.replace("Z", "+00:00"))
        self.deployed: list[str] = []
        self.self_approved = False

    def sha(self, prefix: str) -> str:
        self.seq += 1
        return hashlib.sha1(f"{prefix}{self.seq}".encode()).hexdigest()

    def when(self, index: int, count: int) -> datetime:
        span = (90 * 24 - 30) / max(count, 1)
        return self.start + timedelta(hours=6 + span * index + self.rng.random() * span * 0.6)

    def change(self, repo: str, number: int, at: datetime, author: str, reviewers: tuple[str, ...], required: int,
               *, approvals: int | None = None, merged_by: str = "", co_author: str = "", title: str = "",
               bypasses: tuple[str, ...] = (), method: str = SQUASH, decision: str = "APPROVED") -> Change:
        full = f"{ORG}/{repo}"
        first, head = self.sha("c"), self.sha("c")
        commits = (Commit(first, _git(author), at=_iso(at - timedelta(hours=5)), message="first cut"),
                   Commit(head, _git(author), co_authors=(_git(co_author, "Co-authored-by trailer"),) if co_author else (),
                          at=_iso(at - timedelta(hours=2)), message=title or "address review"))
        pool = [r for r in reviewers if r not in (author, co_author)]
        wanted = max(required, 1) if approvals is None else approvals
        chosen = self.rng.sample(pool, min(wanted, len(pool)))
        reviews = tuple(Approval(_who(r), _iso(at - timedelta(minutes=40 + 7 * i)), commit=head)
                        for i, r in enumerate(chosen))
        return Change(
            "github", f"{full}#{number}", f"github:repo:{full}", _iso(at), kind=PULL_REQUEST, branch="main",
            number=number, title=title or f"{repo}: change {number}",
            url=f"https://github.com/{full}/pull/{number}", sha=self.sha("m"), head_sha=head,
            author=_who(author), commits=commits, approvals=reviews, merged_by=_who(merged_by or author),
            merge_method=method, last_push_at=commits[-1].at, last_pusher=_git(author, "committer"),
            required_approvals=required, require_last_push_approval=required > 0, bypasses=bypasses,
            review_decision=decision if required else "", evidence={"demo": True})

    def deployment(self, repo: str, at: datetime, sha: str, trigger: str, approver: str | None, *,
                   run: int = 0, readable: bool = True) -> Deployment:
        full = f"{ORG}/{repo}"
        self.seq += 1
        self.deployed.append(repo)
        run = run or 90_000_000 + self.seq
        actor = _who(trigger, "run actor") if readable else Actor()
        return Deployment(
            "github", f"{full}/deployments/{7_000_000 + self.seq}", f"github:repo:{full}",
            f"github:environment:{full}/production", _iso(at), sha=sha, ref="main", creator=_who(trigger, "deployment creator"),
            run_id=run, run_url=f"https://github.com/{full}/actions/runs/{run}", workflow=".github/workflows/deploy.yml",
            event="push", run_actor=actor, triggering_actor=Actor(actor.principal, actor.name, via="run triggering actor",
                                                                   kind=actor.kind) if readable else Actor(),
            approvals=(Approval(_who(approver, "environment approval"), ""),) if approver else (), status="success",
            ci_subject=ci_subject(full, environment="production"),
            evidence={"demo": True, "run_read": readable, "approvals_read": readable if approver else None})


@functools.cache
def _quarter() -> tuple[Any, ...]:
    """Every record of the quarter, built once: GitHub's, and CloudTrail's view of the same deployments."""
    b = SourceBuilder()
    _build(b)
    return b.result("quarter", "multi").activity


def github_activity(b: SourceBuilder) -> None:
    """The GitHub side of the quarter: changes, deployments, the used bypass, a gap."""
    for record in _quarter():
        if record.system == "github":
            b.activity(record)
    b.gap(Gap("github", f"github:repo:{ORG}/storefront-web",
              f"403 on GET /repos/{ORG}/storefront-web/actions/runs/{UNREADABLE_RUN}: Resource not accessible by "
              "integration", f"Actions run {UNREADABLE_RUN}: who started it (actor, triggering actor)", about=ABOUT))


def _build(b: SourceBuilder) -> None:
    q = _Quarter(b)
    for repo, (authors, reviewers, required, env_approvers, count, every) in REPOS.items():
        batch: list[Change] = []
        for i in range(count):
            at = q.when(i, count)
            number = 1000 + i * 3 + len(repo)
            author = authors[i % len(authors)] if i % 5 else q.rng.choice(authors)
            co = q.rng.choice([a for a in authors if a != author]) if q.rng.random() < 0.1 else ""
            kw: dict[str, Any] = {}
            if repo == "payments-api" and i == 41:  # Max ships a change alone
                kw = dict(approvals=0, title="Hotfix: skip the fraud check for partner Zeta", decision="REVIEW_REQUIRED",
                          bypasses=("merged by max-pay with 0 of the 1 required approvals (reviewDecision "
                                    "REVIEW_REQUIRED): an administrator or a bypass actor merged past the rule",))
                author, co = "max-pay", ""
            elif repo == "payments-worker" and i == 22:  # Rita's release bypass
                kw = dict(approvals=0, title="Release 4.2: ship the settlement batch fix", decision="REVIEW_REQUIRED",
                          bypasses=("merged by rita-rel with 0 of the 2 required approvals (reviewDecision "
                                    "REVIEW_REQUIRED): an administrator or a bypass actor merged past the rule",))
                author, co = "rita-rel", ""
            elif repo == "storefront-web" and i == 17:  # the unlinked contractor
                author, co = "contractor-jq", ""
            elif repo == "storefront-api" and i % 11 == 4:
                kw = dict(method=MERGE_QUEUE)
            elif repo == "deploy-tools" and i % 4 == 0:  # unprotected: merged without review (not independent)
                kw = dict(approvals=0)
            elif repo == "payments-api" and i % 9 == 0:  # the first reviewer asked for changes, the next approved
                kw = dict(approvals=2 if required < 2 else required)
            change = q.change(repo, number, at, author, reviewers, required, co_author=co, **kw)
            b.activity(change)
            batch.append(change)
            if repo == "payments-worker" and i == 22:
                b.activity(BypassUse(
                    "github", f"{ORG}/{repo}/rule-suites/{880_000 + i}", change.repo, change.at, actor=_who("rita-rel",
                    "rule suite actor"), ref="refs/heads/main", before_sha=q.sha("b"), after_sha=change.sha,
                    rules=("Repository ruleset 'main protection': pull_request (bypass)",), source="rule suite",
                    evidence={"demo": True, "result": "bypass", "evaluation_result": "bypass"}))
            if every and (len(batch) >= every or i == count - 1):
                _deploy(q, repo, batch, env_approvers)
                batch = []
    # A direct push by the platform lead to the unprotected deploy-tools (not independent, no bypass)
    at = q.when(70, 90)
    push = q.sha("p")
    b.activity(Change("github", f"{ORG}/deploy-tools@{push}", f"github:repo:{ORG}/deploy-tools", _iso(at),
                      kind=DIRECT_PUSH, branch="main", title="Bump the deploy image", sha=push, head_sha=push,
                      author=_who("paul-plat", "pusher"), commits=(Commit(push, _git("paul-plat"), at=_iso(at)),),
                      merged_by=_who("paul-plat", "pusher"), merge_method="push", required_approvals=0,
                      evidence={"demo": True}))


def _deploy(q: _Quarter, repo: str, batch: list[Change], env_approvers: tuple[str, ...] | None) -> None:
    last = batch[-1]
    at = datetime.fromisoformat(last.at.replace("Z", "+00:00")) + timedelta(hours=1, minutes=q.rng.randrange(50))
    authors = {a.principal.removeprefix("github:") for c in batch for a in c.authors}
    seeded_alone = any(c.title.startswith("Hotfix: skip") for c in batch)
    if seeded_alone:
        trigger = "max-pay"
    else:
        pool = [a for a in REPOS[repo][0] if a not in ("contractor-jq",)]
        trigger = q.rng.choice(pool)
    approver = None
    if env_approvers:
        fair = [a for a in env_approvers if a != trigger and a not in authors]
        approver = q.rng.choice(fair) if fair else None
        if repo == "storefront-api" and not q.self_approved and len(q.deployed) > 70 and "sam-sre" not in authors:
            q.self_approved = True
            trigger = approver = "sam-sre"  # Sam approves his own deployment (self-review allowed there)
            q.b.activity(q.deployment(repo, at, last.sha, trigger, approver))
            return
    readable = not (repo == "storefront-web" and any(c.author.name == "contractor-jq" for c in batch))
    q.b.activity(q.deployment(repo, at, last.sha, trigger, approver,
                              run=UNREADABLE_RUN if not readable else 0, readable=readable))
    if repo == "payments-api":  # the CloudTrail side of the OIDC deployment
        q.b.activity(AuditEvent(
            "aws", f"demo-ct-{q.seq}", _iso(at + timedelta(minutes=3)), "ecs:UpdateService",
            actor=Actor(f"aws:arn:aws:iam::{PROD}:role/gha-deploy-payments", f"GitHubActions-{q.seq}",
                        via="web identity", kind="workload"),
            resource=f"aws:account:{PROD}", target=f"arn:aws:ecs:us-east-1:{PROD}:service/payments/api",
            result="success", ci_subject=ci_subject(f"{ORG}/{repo}", environment="production"),
            session=f"GitHubActions-{q.seq}", evidence={"demo": True, "eventSource": "ecs.amazonaws.com"}))


def _break_glass(b: SourceBuilder) -> None:
    """Two uses of the declared break-glass role by Alex, as CloudTrail records them in acme-prod:
    in September with the incident in the session name, within the hour; in October without one,
    for a four-hour session (FE-EMG-001, FE-EMG-002). Each assumes ops-admin and acts as it."""
    alex = Actor(f"aws:arn:aws:iam::{STAGING}:user/alex", "alex", via="IAM user", kind="user")
    breakglass, admin = (f"arn:aws:iam::{PROD}:role/{name}" for name in ("ops-breakglass", "ops-admin"))

    def session(role: str, name: str) -> Actor:
        return Actor(f"aws:{role}", f"{role.rsplit('/', 1)[-1]}/{name}", via="role session name", kind="role")

    def event(ident: str, at: str, action: str, actor: Actor, target: str, name: str, by: str = "",
              **extra: Any) -> AuditEvent:
        identity = ({"type": "IAMUser", "arn": alex.principal.removeprefix("aws:"), "accountId": STAGING,
                     "userName": "alex"} if not by else
                    {"type": "AssumedRole", "arn": f"arn:aws:sts::{PROD}:assumed-role/{by}/{name}", "accountId": PROD})
        return AuditEvent("aws", ident, at, action, actor=actor, resource=f"aws:account:{PROD}", target=target,
                          result="success", session=name,
                          evidence={"demo": True, "eventSource": f"{action.split(':')[0]}.amazonaws.com",
                                    "userIdentity": identity, **extra})

    for ident, name, start, hours, acts in [
        ("demo-ct-bg-0914", "INC-4711-alex", "2026-09-14T02:13:07Z", 1,
         [("2026-09-14T02:17:40Z", "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{PROD}:service/payments/api"),
          ("2026-09-14T02:38:12Z", "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{PROD}:service/payments/worker")]),
        ("demo-ct-bg-1021", "alex", "2026-10-21T19:40:31Z", 4,
         [("2026-10-21T19:46:02Z", "iam:AttachRolePolicy", f"arn:aws:iam::{PROD}:role/gha-deploy-payments"),
          ("2026-10-21T22:58:44Z", "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{PROD}:service/payments/api")]),
    ]:
        b.activity(event(ident, start, "sts:AssumeRole", alex, breakglass, name, durationSeconds=hours * 3600,
                         mfaAuthenticated="true"))
        chained = _iso(datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(minutes=2))
        b.activity(event(f"{ident}-chain", chained, "sts:AssumeRole", session(breakglass, name), admin, name,
                         by="ops-breakglass", durationSeconds=hours * 3600))
        for n, (at, action, target) in enumerate(acts):
            b.activity(event(f"{ident}-{n}", at, action, session(admin, name), target, name, by="ops-admin"))


def aws_activity(b: SourceBuilder) -> None:
    """CloudTrail's record of the payments deployments (made by the GitHub OIDC role) and of the two
    break-glass uses, and Access Advisor and RoleLastUsed as the AWS source reports them: some grants
    unused for months."""
    for record in _quarter():
        if record.system == "aws":
            b.activity(record)
    # Olivia's Saturday-night rollback of the payments service, by hand from her AdministratorAccess session
    olivia = "olivia.okafor@acme.com"
    b.activity(AuditEvent(
        "aws", "demo-ct-hand", "2026-10-17T22:41:09Z", "ecs:UpdateService",
        actor=Actor("aws:sso:d-9067c1a2b3:user/olivia.okafor", olivia, olivia, "Identity Center session", "user"),
        resource=f"aws:account:{PROD}", target=f"arn:aws:ecs:us-east-1:{PROD}:service/payments/api", result="success",
        session=olivia, evidence={"demo": True, "eventSource": "ecs.amazonaws.com", "eventName": "UpdateService",
                                  "awsRegion": "us-east-1", "userIdentity": {
                                      "type": "AssumedRole", "accountId": PROD,
                                      "arn": f"arn:aws:sts::{PROD}:assumed-role/AWSReservedSSO_AdministratorAccess_"
                                             f"a1b2c3d4/{olivia}"},
                                  "sourceIPAddress": "203.0.113.77"}))
    _break_glass(b)
    since = "2025-11-02T00:00:00Z"

    def role(name: str) -> str:
        return f"aws:arn:aws:iam::{PROD}:role/{name}"

    sso = "aws-reserved/sso.amazonaws.com/AWSReservedSSO_{}_a1b2c3d4"
    for principal, service, last in [
        (role("gha-deploy-payments"), "ecs", "2026-11-01T14:12:00Z"),
        (role("gha-deploy-payments"), "iam", "2026-11-01T14:12:00Z"),
        (role("gha-legacy-deploy"), "codedeploy", "2026-04-12T09:30:00Z"),  # 204 days before the snapshot
        (role("ops-admin"), "", "2026-10-21T22:58:44Z"),  # the break-glass uses (_break_glass)
        (role("ops-breakglass"), "", "2026-10-21T19:42:31Z"),
        (role(sso.format("AdministratorAccess")), "iam", "2026-10-30T16:05:00Z"),
        (role(sso.format("ProdDeployer")), "ecs", "2026-06-21T11:00:00Z"),  # 134 days
        (role(sso.format("ReadOnly")), "ecs", "2026-11-01T08:00:00Z"),
        (f"aws:arn:aws:iam::{PROD}:user/ci-legacy", "ecs", "2026-09-30T22:10:00Z"),
    ]:
        b.activity(LastUsed("aws", principal, service, resource=f"aws:account:{PROD}", last_used=last,
                            tracked_since=since, region="us-east-1",
                            evidence={"demo": True, "source": "RoleLastUsed" if not service else "Access Advisor"}))


def gcp_activity(b: SourceBuilder) -> None:
    """The IAM recommender's view: permissions used, or unused over its 90-day window."""
    window = PERIOD.start
    for principal, permission, project, last in [
        ("gcp:serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com", "run.services.update",
         "acme-prod-web", "2026-11-01T10:00:00Z"),
        ("gcp:user:gina.garcia@acme.com", "resourcemanager.projects.setIamPolicy", "acme-prod-web", None),
        ("gcp:user:priya.patel@acme.com", "run.services.update", "acme-prod-web", "2026-06-20T12:00:00Z"),
    ]:
        b.activity(LastUsed("gcp", principal, permission, resource=f"gcp:project:{project}", last_used=last,
                            tracked_since=window, evidence={"demo": True, "source": "IAM recommender insight"}))
