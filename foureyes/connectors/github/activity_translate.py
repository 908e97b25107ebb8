"""GitHub activity payloads into activity records (pure, no I/O): changes, deployments, bypasses
used and audit-log events, with every actor as GitHub named it.

A GitHub user is ``github:LOGIN``; a commit author GitHub did not match to an account keeps its
address (and ``users.noreply.github.com`` addresses name their login); bots and apps are
machines. Nothing here guesses who someone is: `foureyes.attribution` does that on evidence.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

from ...activity import (DIRECT_PUSH, MERGE, MERGE_QUEUE, PULL_REQUEST, PUSH, UNKNOWN, Actor, Approval, AuditEvent,
                         BypassUse, Change, Commit, Deployment, utc)
from ...model import ci_subject
from ..base import SourceBuilder
from .activity_fetch import OrgActivity, RepoActivity, run_id_of

_NOREPLY = re.compile(r"^(?:\d+\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$", re.I)
_TRAILER = re.compile(r"^co-authored-by:\s*(?P<name>.*?)\s*<(?P<email>[^>]+)>\s*$", re.I | re.M)
SQUASH_OR_REBASE = "squash or rebase"


def translate_activity(data: OrgActivity, b: SourceBuilder) -> None:
    """Every record of the organisation's activity payloads, with the fetch's gaps."""
    for gap in data.gaps:
        b.gap(gap)
    for repo in data.repos.values():
        for gap in repo.gaps:
            b.gap(gap)
        rules = b.resources[repo.key].attrs if repo.key in b.resources else {}
        changes = [change_from_pull(repo, node, rules) for node in repo.pulls]
        changes += [change_from_push(repo, item, repo.compares.get(f"{item.get('before')}...{item.get('after')}"),
                                     rules) for item in repo.pushes]
        for change in changes:
            b.activity(change)
        for node in repo.deployments:
            b.activity(deployment_from(repo, node))
        for suite in repo.rule_suites:
            b.activity(bypass_from_suite(repo, suite))
    by_name = {r.full: r for r in data.repos.values()}
    for entry in data.audit_log or []:
        event = audit_event_from(data.login, entry)
        b.activity(event)
        if entry.get("action") == "protected_branch.policy_override" and str(entry.get("repo")) in by_name:
            b.activity(bypass_from_audit(by_name[str(entry["repo"])], event, entry))


# ---------------------------------------------------------------- actors


def user_actor(node: Mapping[str, Any] | None, via: str = "login") -> Actor:
    """A GraphQL ``Actor`` / REST ``simple-user``: a login, a bot or an app."""
    if not node or not node.get("login"):
        return UNKNOWN
    login = str(node["login"])
    typename = str(node.get("__typename") or node.get("type") or "User")
    kind = "bot" if typename == "Bot" or login.endswith("[bot]") else "app" if typename in ("App", "Mannequin") \
        else "user"
    if typename == "Mannequin":
        kind = ""  # an imported account with no user behind it
    return Actor(f"github:{login.removesuffix('[bot]') + '[bot]' if kind == 'bot' else login}", login, via=via,
                 kind=kind)


def git_actor(node: Mapping[str, Any] | None, via: str) -> Actor:
    """A GraphQL ``GitActor`` (commit author, co-author, committer): its GitHub account when GitHub
    matched one, else its address (a noreply address names its login)."""
    if not node:
        return UNKNOWN
    user = node.get("user") or {}
    email = str(node.get("email") or "")
    name = str(node.get("name") or "")
    if user.get("login"):
        return Actor(f"github:{user['login']}", user["login"], email if not _NOREPLY.match(email) else "", via,
                     "bot" if str(user["login"]).endswith("[bot]") else "user")
    m = _NOREPLY.match(email)
    if m:
        login = m.group(1)
        return Actor(f"github:{login}", login, via=f"{via} (noreply address)",
                     kind="bot" if login.endswith("[bot]") else "user")
    return Actor("", name or email, email, via) if email or name else UNKNOWN


def _commit(node: Mapping[str, Any]) -> Commit:
    """A GraphQL commit: its author (GitHub's account where it matched one) and the co-authors its
    message's ``Co-authored-by`` trailers name (by address; a noreply address names its login)."""
    commit = node.get("commit") or node
    message = str(commit.get("message") or "")
    return Commit(str(commit.get("oid") or ""), author=git_actor(commit.get("author"), "commit author"),
                  committer=git_actor(commit.get("committer"), "committer"), co_authors=_co_authors(message),
                  at=utc(str(commit.get("committedDate") or "")), message=message.split("\n", 1)[0][:200])


def _co_authors(message: str) -> tuple[Actor, ...]:
    return tuple(git_actor({"email": m.group("email"), "name": m.group("name")}, "Co-authored-by trailer")
                 for m in _TRAILER.finditer(message))


def _rest_commit(item: Mapping[str, Any]) -> Commit:
    """A REST commit (compare): author and committer accounts, and the message's co-author trailers."""
    inner = item.get("commit") or {}
    message = str(inner.get("message") or "")

    def person(account: Mapping[str, Any] | None, git: Mapping[str, Any] | None, via: str) -> Actor:
        if account and account.get("login"):
            return Actor(f"github:{account['login']}", account["login"], str((git or {}).get("email") or ""), via,
                         "bot" if account.get("type") == "Bot" else "user")
        return git_actor({"email": (git or {}).get("email"), "name": (git or {}).get("name")}, via)

    return Commit(str(item.get("sha") or ""), author=person(item.get("author"), inner.get("author"), "commit author"),
                  committer=person(item.get("committer"), inner.get("committer"), "committer"),
                  co_authors=_co_authors(message),
                  at=utc(str((inner.get("committer") or {}).get("date") or "")), message=message.split("\n", 1)[0][:200])


# ---------------------------------------------------------------- changes


def change_from_pull(repo: RepoActivity, node: Mapping[str, Any], rules: Mapping[str, Any]) -> Change:
    """A merged pull request (`PULL_REQUESTS_QUERY` node) as a Change, with the bypass it shows."""
    number = int(node.get("number") or 0)
    commits_conn = node.get("commits") or {}
    commits = tuple(_commit(n) for n in commits_conn.get("nodes") or [] if n)
    head = str(node.get("headRefOid") or (commits[-1].sha if commits else ""))
    reviews = tuple(
        Approval(user_actor(r.get("author")), utc(str(r.get("submittedAt") or "")), state=str(r.get("state") or ""),
                 commit=str((r.get("commit") or {}).get("oid") or ""))
        for r in (node.get("reviews") or {}).get("nodes") or [] if r)
    timeline = [t for t in (node.get("timelineItems") or {}).get("nodes") or [] if t]
    queued = [t for t in timeline if t.get("__typename") == "AddedToMergeQueueEvent"]
    forced = [t for t in timeline if t.get("__typename") == "HeadRefForcePushedEvent"]
    merge = node.get("mergeCommit") or {}
    parents = int(((merge.get("parents") or {}).get("totalCount")) or 0)
    method = MERGE_QUEUE if queued else MERGE if parents >= 2 else SQUASH_OR_REBASE if parents == 1 else ""
    last_push_at, last_pusher = commits[-1].at if commits else "", UNKNOWN
    if commits:
        head_commit = commits[-1]
        last_pusher = head_commit.committer if head_commit.committer.principal and \
            head_commit.committer.principal != "github:web-flow" else head_commit.author
    if forced:
        latest = max(forced, key=lambda t: str(t.get("createdAt") or ""))
        when = utc(str(latest.get("createdAt") or ""))
        if when >= last_push_at:
            last_push_at, last_pusher = when, user_actor(latest.get("actor"))
    author = user_actor(node.get("author"))
    merged_by = user_actor(node.get("mergedBy"))
    required = rules.get("required_approvals") if rules else None
    last_push_rule = bool(rules.get("require_last_push_approval")) if rules else False
    bypasses = _merge_bypass(author, merged_by, reviews, head, last_pusher, required, last_push_rule,
                             str(node.get("reviewDecision") or ""), bool(queued))
    return Change(
        "github", f"{repo.full}#{number}", repo.key, utc(str(node.get("mergedAt") or "")), kind=PULL_REQUEST,
        branch=str(node.get("baseRefName") or repo.default_branch), number=number, title=str(node.get("title") or "")[:300],
        url=str(node.get("url") or ""), sha=str(merge.get("oid") or ""), head_sha=head, author=author, commits=commits,
        commits_complete=len(commits) >= int(commits_conn.get("totalCount") or 0), approvals=reviews,
        merged_by=merged_by, merge_method=method, last_push_at=last_push_at, last_pusher=last_pusher,
        required_approvals=required if isinstance(required, int) else None, require_last_push_approval=last_push_rule,
        review_decision=str(node.get("reviewDecision") or ""), bypasses=bypasses,
        evidence={"url": node.get("url"), "mergedAt": node.get("mergedAt"), "createdAt": node.get("createdAt"),
                  "reviewDecision": node.get("reviewDecision"), "mergeCommit": merge.get("oid"),
                  "merge_queue": [t.get("enqueuer", {}).get("login") for t in queued]})


def _merge_bypass(author: Actor, merged_by: Actor, reviews: tuple[Approval, ...], head: str, pusher: Actor,
                  required: Any, last_push_rule: bool, decision: str, queued: bool) -> tuple[str, ...]:
    """GitHub's own count of approvals (the author's never counts; with the last-push rule, only
    approvals of the head commit by someone other than the last pusher): fewer than required
    means someone merged past the rule — an administrator, or a bypass actor."""
    if not isinstance(required, int) or required <= 0 or queued:
        return ()
    latest: dict[str, Approval] = {}
    for review in sorted(reviews, key=lambda r: r.at):
        latest[review.reviewer.principal] = review  # a reviewer's latest review is their vote
    counted = {k for k, r in latest.items() if k and r.approves and k != author.principal
               and (not last_push_rule or ((not r.commit or r.commit == head) and k != pusher.principal))}
    if len(counted) >= required:
        return ()
    who = merged_by.label if merged_by.named else "someone"
    return (f"merged by {who} with {len(counted)} of the {required} required approvals "
            f"(reviewDecision {decision or 'unknown'}): an administrator or a bypass actor merged past the rule",)


def change_from_push(repo: RepoActivity, item: Mapping[str, Any], compare: Mapping[str, Any] | None,
                     rules: Mapping[str, Any]) -> Change:
    """A push to the default branch that was not a pull request's merge (repository activity API)."""
    after, before = str(item.get("after") or ""), str(item.get("before") or "")
    pusher = user_actor(item.get("actor"), via="pusher")
    commits = tuple(_rest_commit(c) for c in (compare or {}).get("commits") or [])
    forced = item.get("activity_type") == "force_push"
    bypasses: list[str] = []
    if rules.get("protected"):
        bypasses.append(f"{'force-' if forced else ''}pushed directly to the protected branch {repo.default_branch}")
    total = int((compare or {}).get("total_commits") or len(commits))
    return Change(
        "github", f"{repo.full}@{after}", repo.key, utc(str(item.get("timestamp") or "")), kind=DIRECT_PUSH,
        branch=repo.default_branch, title=commits[-1].message if commits else "", sha=after, before_sha=before,
        head_sha=after, author=pusher, commits=commits, commits_complete=compare is not None and len(commits) >= total,
        merged_by=pusher, merge_method=PUSH, last_push_at=utc(str(item.get("timestamp") or "")), last_pusher=pusher,
        required_approvals=rules.get("required_approvals") if isinstance(rules.get("required_approvals"), int) else None,
        require_last_push_approval=bool(rules.get("require_last_push_approval")), bypasses=tuple(bypasses),
        evidence={"activity_id": item.get("id"), "activity_type": item.get("activity_type"), "ref": item.get("ref"),
                  "before": before, "after": after, "timestamp": item.get("timestamp")})


# ---------------------------------------------------------------- deployments and bypasses


def deployment_from(repo: RepoActivity, node: Mapping[str, Any]) -> Deployment:
    env = str(node.get("environment") or "")
    run_id = run_id_of(node)
    run = repo.runs.get(run_id) or {}
    approvals = tuple(
        # GitHub's review history of a run gives no time for an approval: "" (the deployment's time bounds it)
        Approval(user_actor(a.get("user"), via="environment approval"), "",
                 state=str(a.get("state") or "").upper(), comment=str(a.get("comment") or "")[:300])
        for a in repo.approvals.get(run_id) or []
        if not a.get("environments") or any(e.get("name") == env for e in a.get("environments") or []))
    status = node.get("latestStatus") or {}
    ref = str((node.get("ref") or {}).get("name") or "") or str(run.get("head_branch") or "")
    return Deployment(
        "github", f"{repo.full}/deployments/{node.get('databaseId')}", repo.key,
        f"github:environment:{repo.full}/{env}", utc(str(node.get("createdAt") or "")), sha=str(node.get("commitOid") or ""),
        ref=ref, creator=user_actor(node.get("creator"), via="deployment creator"), run_id=run_id,
        run_url=str(run.get("html_url") or status.get("logUrl") or ""), workflow=str(run.get("path") or ""),
        event=str(run.get("event") or ""), run_actor=user_actor(run.get("actor"), via="run actor"),
        triggering_actor=user_actor(run.get("triggering_actor"), via="run triggering actor"), approvals=approvals,
        status=str(status.get("state") or "").lower(),
        ci_subject=ci_subject(repo.full, environment=env) if env else "",
        evidence={"deployment": node.get("databaseId"), "task": node.get("task"), "log_url": status.get("logUrl"),
                  "run": run_id or None, "run_attempt": run.get("run_attempt"), "run_read": bool(run),
                  # approvals are read where the environment has reviewers; None: not readable
                  "approvals_read": run_id in repo.approvals and repo.approvals[run_id] is not None
                  if env in repo.reviewed else None})


def bypass_from_suite(repo: RepoActivity, suite: Mapping[str, Any]) -> BypassUse:
    """A rule suite whose result is ``bypass`` (``GET …/rulesets/rule-suites[/{id}]``)."""
    rules = []
    for ev in suite.get("rule_evaluations") or []:
        source = ev.get("rule_source") or {}
        if ev.get("result") == "bypass" or ev.get("enforcement") == "active":
            rules.append(f"{source.get('type', 'ruleset')} '{source.get('name', '')}': {ev.get('rule_type', '')}"
                         f" ({ev.get('result', '')})")
    actor_name = str(suite.get("actor_name") or "")
    actor = Actor(f"github:{actor_name}", actor_name, via="rule suite actor", kind="user") if actor_name else UNKNOWN
    return BypassUse(
        "github", f"{repo.full}/rule-suites/{suite.get('id')}", repo.key, utc(str(suite.get("pushed_at") or "")),
        actor=actor, ref=str(suite.get("ref") or ""), before_sha=str(suite.get("before_sha") or ""),
        after_sha=str(suite.get("after_sha") or ""), rules=tuple(rules), result=str(suite.get("result") or "bypass"),
        source="rule suite",
        evidence={k: suite.get(k) for k in ("id", "actor_id", "actor_name", "ref", "before_sha", "after_sha",
                                            "pushed_at", "result", "evaluation_result")})


def audit_event_from(org: str, entry: Mapping[str, Any]) -> AuditEvent:
    """One organisation audit-log entry (``GET /orgs/{org}/audit-log``)."""
    stamp = entry.get("@timestamp") or entry.get("created_at")
    when = datetime.fromtimestamp(stamp / 1000, timezone.utc).isoformat() if isinstance(stamp, (int, float)) \
        else str(stamp or "")
    repo = str(entry.get("repo") or "")
    actor = str(entry.get("actor") or "")
    return AuditEvent(
        "github", str(entry.get("_document_id") or f"{entry.get('action')}:{stamp}:{repo}"), utc(when),
        str(entry.get("action") or ""),
        actor=Actor(f"github:{actor}", actor, via="audit log actor", kind="user") if actor else UNKNOWN,
        resource=f"github:repo:{repo}" if repo else f"github:org:{org}", target=str(entry.get("branch") or repo),
        result="success", evidence={k: v for k, v in entry.items() if isinstance(v, (str, int, float, bool))})


def bypass_from_audit(repo: RepoActivity, event: AuditEvent, entry: Mapping[str, Any]) -> BypassUse:
    branch = str(entry.get("branch") or repo.default_branch)
    return BypassUse("github", f"{repo.full}/audit/{event.id}", repo.key, event.at, actor=event.actor,
                     ref=branch if branch.startswith("refs/") else f"refs/heads/{branch}",
                     after_sha=str(entry.get("after") or entry.get("sha") or ""),
                     rules=(f"branch protection of {branch} (protected_branch.policy_override)",),
                     source="audit log", evidence=dict(event.evidence))
