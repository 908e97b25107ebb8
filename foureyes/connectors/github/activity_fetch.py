"""Reads what happened in a review period on the production repositories (the fetch half).

Per repository: merged pull requests (GraphQL: commits, reviews and merge path in one query),
pushes to the default branch (the repository activity API), deployments to production
environments (GraphQL) with their Actions runs and environment approvals (REST); per
organisation: rule suites with a bypass, and the audit log where the plan has one. Payloads go
to `activity_translate`; every failure becomes a Gap on what it concerns.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ...activity import ABOUT, ActivityPeriod, parse_time, utc
from ...config import GitHubSource
from ...model import Gap
from ..base import Progress, ProgressEvent
from .activity_queries import DEPLOYMENTS_QUERY, PR_COMMITS, PR_COMMITS_QUERY, PULL_REQUESTS_QUERY
from .api import SOURCE, ApiFailure, GitHubApi, next_link
from .payloads import graphql_error

# How far back each GitHub list reaches (its `time_period` values, in days).
ACTIVITY_PERIODS = (("day", 1), ("week", 7), ("month", 30), ("quarter", 90), ("year", 365))
RULE_SUITE_PERIODS = (("hour", 0), ("day", 1), ("week", 7), ("month", 30))
_RUN_URL = re.compile(r"/actions/runs/(\d+)")
AUDIT_PHRASE = "action:protected_branch"  # policy_override, destroy, update_*: who went around or changed protection
TEAM_PHRASE = "action:team.add_member"  # when a just-in-time team membership was granted ([just_in_time] github_teams)


@dataclass
class RepoActivity:
    """One production repository's activity payloads, as GitHub returned them."""

    full: str
    key: str  # resource key
    default_branch: str
    environments: list[str]  # production environments (names)
    reviewed: set[str]  # those with required reviewers: their runs' approvals are read
    protected: bool = False
    pulls: list[dict[str, Any]] = field(default_factory=list)  # GraphQL PullRequest nodes, commits complete
    pushes: list[dict[str, Any]] = field(default_factory=list)  # repository activity items (push, force_push)
    compares: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # "before...after" -> compare
    deployments: list[dict[str, Any]] = field(default_factory=list)  # GraphQL Deployment nodes
    runs: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # run id -> run (None: unreadable)
    approvals: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)  # run id -> approvals
    rule_suites: list[dict[str, Any]] = field(default_factory=list)  # rule suites with result bypass, detailed
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class OrgActivity:
    login: str
    plan: str
    period: ActivityPeriod
    repos: dict[str, RepoActivity] = field(default_factory=dict)
    audit_log: list[dict[str, Any]] | None = None  # None: not read (a Gap says why)
    gaps: list[Gap] = field(default_factory=list)


class ActivityFetcher:
    """Reads the activity of the given repositories in ``period``; failures become Gaps."""

    def __init__(self, api: GitHubApi, section: GitHubSource, progress: Progress, *, now: datetime | None = None,
                 team_changes: bool = False):
        self.api = api
        self.section = section
        self.progress = progress
        # also read team.add_member: when each membership of a [just_in_time] team was granted
        self.team_changes = team_changes
        self.now = now or datetime.now(timezone.utc)
        self._lock = threading.Lock()
        self._done = 0

    def fetch(self, org: OrgActivity) -> OrgActivity:
        repos = list(org.repos.values())
        self.progress(ProgressEvent(SOURCE, f"reading activity {org.period.label()} of {len(repos)} "
                                    "production repositories", 0, len(repos)))
        with ThreadPoolExecutor(max_workers=max(1, self.section.concurrency), thread_name_prefix="github-act") as pool:
            org_reads = [pool.submit(self._org_rule_suites, org), pool.submit(self._audit_log, org)]
            jobs = [pool.submit(self._repo, org, repo) for repo in repos]
            for job in org_reads + jobs:
                job.result()
        return org

    def _guard(self, gaps: list[Gap], resource: str, hides: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except ApiFailure as exc:
            with self._lock:
                gaps.append(Gap("github", resource, str(exc), hides, about=ABOUT))
            return None

    def _repo(self, org: OrgActivity, repo: RepoActivity) -> None:
        period = org.period
        self._guard(repo.gaps, repo.key, f"pull requests merged into {repo.default_branch} in the period "
                    "(authors, approvals, mergers)", lambda: self._pulls(repo, period))
        self._guard(repo.gaps, repo.key, f"pushes to {repo.default_branch} without a pull request in the period",
                    lambda: self._pushes(repo, period))
        for env in repo.environments:
            self._guard(repo.gaps, f"github:environment:{repo.full}/{env}",
                        "deployments to this environment in the period, who started and approved them",
                        lambda env=env: self._deployments(repo, env, period))
        self._runs(repo, period)
        with self._lock:
            self._done += 1
            done = self._done
        self.progress(ProgressEvent(SOURCE, f"activity of {repo.full}", done, len(org.repos)))

    # ------------------------------------------------------------ pull requests

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        data, errors = self.api.graphql(query, variables)
        if errors:
            raise ApiFailure("POST", "/graphql", None, graphql_error(errors))
        return data

    def _pulls(self, repo: RepoActivity, period: ActivityPeriod) -> None:
        owner, name = repo.full.split("/", 1)
        after = None
        while True:
            data = self._graphql(PULL_REQUESTS_QUERY, {"owner": owner, "name": name, "branch": repo.default_branch,
                                                       "after": after})
            conn = ((data.get("repository") or {}).get("pullRequests")) or {}
            nodes = [n for n in conn.get("nodes") or [] if n]
            for node in nodes:
                merged = utc(node.get("mergedAt") or "")
                if merged and period.contains(merged):
                    self._complete_commits(repo, node)
                    repo.pulls.append(node)
            # Ordered by last update, newest first: a pull request merged in the period was updated
            # at or after its merge, so once updates fall before the period nothing later can be in it.
            oldest = min((utc(n.get("updatedAt") or "") for n in nodes), default="")
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage") or (oldest and oldest < period.start):
                return
            after = info.get("endCursor")

    def _complete_commits(self, repo: RepoActivity, node: dict[str, Any]) -> None:
        commits = node.get("commits") or {}
        total = int(commits.get("totalCount") or 0)
        if total <= PR_COMMITS:
            return
        owner, name = repo.full.split("/", 1)
        nodes: list[dict[str, Any]] = []
        after = None
        try:
            while True:
                data = self._graphql(PR_COMMITS_QUERY, {"owner": owner, "name": name, "number": node["number"],
                                                        "after": after})
                conn = (((data.get("repository") or {}).get("pullRequest") or {}).get("commits")) or {}
                nodes += [n for n in conn.get("nodes") or [] if n]
                info = conn.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    break
                after = info.get("endCursor")
        except ApiFailure as exc:
            with self._lock:
                repo.gaps.append(Gap("github", repo.key, f"pull request #{node['number']}: {exc}",
                                     f"authors of its commits beyond the last {PR_COMMITS}", about=ABOUT))
            return
        node["commits"] = {"totalCount": total, "nodes": nodes}

    # ------------------------------------------------------------ direct pushes

    def _pushes(self, repo: RepoActivity, period: ActivityPeriod) -> None:
        window = _time_period(self.now, period.start, ACTIVITY_PERIODS)
        if window is None:
            with self._lock:
                repo.gaps.append(Gap("github", repo.key, "the repository activity API reaches back one year; the "
                                     f"period starts {period.start[:10]}",
                                     f"pushes to {repo.default_branch} before the last year", about=ABOUT))
            window = "year"
        ref = f"refs/heads/{repo.default_branch}"
        for item in self.api.paginate(f"/repos/{repo.full}/activity", ref=ref, time_period=window,
                                      direction="desc"):
            when = utc(str(item.get("timestamp") or ""))
            if when and when < period.start:
                break
            if item.get("activity_type") in ("push", "force_push") and period.contains(when):
                repo.pushes.append(item)
        for item in repo.pushes:
            before, after = str(item.get("before") or ""), str(item.get("after") or "")
            basehead = f"{before}...{after}"
            if before.strip("0") and after.strip("0"):
                repo.compares[basehead] = self._guard(
                    repo.gaps, repo.key, f"commits pushed directly to {repo.default_branch} ({after[:7]}) and their "
                    "authors", lambda basehead=basehead: self.api.get(f"/repos/{repo.full}/compare/{basehead}",
                                                                      per_page=100))

    # ------------------------------------------------------------ deployments, runs, approvals

    def _deployments(self, repo: RepoActivity, env: str, period: ActivityPeriod) -> None:
        owner, name = repo.full.split("/", 1)
        after = None
        while True:
            data = self._graphql(DEPLOYMENTS_QUERY, {"owner": owner, "name": name, "environments": [env],
                                                     "after": after})
            conn = ((data.get("repository") or {}).get("deployments")) or {}
            nodes = [n for n in conn.get("nodes") or [] if n]
            for node in nodes:
                if period.contains(utc(node.get("createdAt") or "")):
                    repo.deployments.append(node)
            oldest = min((utc(n.get("createdAt") or "") for n in nodes), default="")
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage") or (oldest and oldest < period.start):
                return
            after = info.get("endCursor")

    def _runs(self, repo: RepoActivity, period: ActivityPeriod) -> None:
        """Each deployment's run (actor, triggering actor) and, where the environment has reviewers,
        its approvals. Runs come from the repository's list of runs in the period when that takes
        fewer pages than asking for each (one page is read to know); the rest one by one."""
        wanted: dict[int, bool] = {}
        for node in repo.deployments:
            run = run_id_of(node)
            if run:
                wanted[run] = wanted.get(run, False) or node.get("environment") in repo.reviewed
        if len(wanted) > 1:
            self._guard(repo.gaps, repo.key, "Actions runs of the period (who started each deployment)",
                        lambda: self._run_list(repo, period, set(wanted)))
        for run, reviewed in sorted(wanted.items()):
            if run not in repo.runs:
                repo.runs[run] = self._guard(repo.gaps, repo.key, f"Actions run {run}: who started it (actor, "
                                             "triggering actor)", lambda run=run: self.api.get(
                                                 f"/repos/{repo.full}/actions/runs/{run}"))
            if reviewed and repo.runs[run] is not None:  # an unreadable run's approvals are unreadable too
                repo.approvals[run] = self._guard(
                    repo.gaps, repo.key, f"Actions run {run}: who approved its environment",
                    lambda run=run: list(self.api.get(f"/repos/{repo.full}/actions/runs/{run}/approvals") or []))

    def _run_list(self, repo: RepoActivity, period: ActivityPeriod, wanted: set[int]) -> None:
        path = f"/repos/{repo.full}/actions/runs"
        page = self.api.request("GET", path, params={"created": f">={period.start[:10]}", "per_page": 100,
                                                     "exclude_pull_requests": "true"})
        total = int((page.data or {}).get("total_count") or 0)
        if -(-total // 100) >= len(wanted):
            return  # asking for each run is cheaper
        while True:
            for run in (page.data or {}).get("workflow_runs") or []:
                if run.get("id") in wanted:
                    repo.runs[int(run["id"])] = run
            url = next_link(page.headers)
            if not url or wanted <= set(repo.runs):
                return
            page = self.api.request("GET", url)

    # ------------------------------------------------------------ organisation: rule suites, audit log

    def _org_rule_suites(self, org: OrgActivity) -> None:
        """Rule suites with a bypass, for the whole organisation in one list (else per repository)."""
        window = _time_period(self.now, org.period.start, RULE_SUITE_PERIODS)
        covered_from = org.period.start
        if window is None:
            window = "month"
            covered_from = utc((self.now.replace(microsecond=0) - _days(30)).isoformat())
        try:
            items = list(self.api.paginate(f"/orgs/{org.login}/rulesets/rule-suites", time_period=window,
                                           rule_suite_result="bypass"))
        except ApiFailure as exc:
            if exc.status in (403, 404):
                for repo in org.repos.values():
                    self._guard(repo.gaps, repo.key, "ruleset bypasses used in the period (rule suites)",
                                lambda repo=repo: self._repo_rule_suites(org, repo, window))
            else:
                with self._lock:
                    org.gaps.append(Gap("github", f"github:org:{org.login}", str(exc),
                                        "ruleset bypasses used in the period (rule suites)", about=ABOUT))
            items = None
        if items is not None:
            by_name = {r.full.split("/", 1)[1]: r for r in org.repos.values()}
            for item in items:
                repo = by_name.get(str(item.get("repository_name") or ""))
                if repo is not None:
                    self._keep_suite(org, repo, item)
        if covered_from > org.period.start:
            with self._lock:
                org.gaps.append(Gap("github", f"github:org:{org.login}", "the rule insights API reaches back one "
                                    f"month; the period starts {org.period.start[:10]}",
                                    f"ruleset bypasses used before {covered_from[:10]} (the audit log, where the "
                                    "plan has one, still shows protection overrides)", about=ABOUT))

    def _repo_rule_suites(self, org: OrgActivity, repo: RepoActivity, window: str) -> None:
        for item in self.api.paginate(f"/repos/{repo.full}/rulesets/rule-suites", time_period=window,
                                      rule_suite_result="bypass"):
            self._keep_suite(org, repo, item)

    def _keep_suite(self, org: OrgActivity, repo: RepoActivity, item: dict[str, Any]) -> None:
        if not org.period.contains(utc(str(item.get("pushed_at") or ""))):
            return
        if "bypass" not in (item.get("result"), item.get("evaluation_result")):
            return
        detail = self._guard(repo.gaps, repo.key, f"rule suite {item.get('id')}: which rules were bypassed",
                             lambda: self.api.get(f"/repos/{repo.full}/rulesets/rule-suites/{item['id']}"))
        with self._lock:
            repo.rule_suites.append({**item, **(detail or {})})

    def _audit_log(self, org: OrgActivity) -> None:
        phrases = [AUDIT_PHRASE] + ([TEAM_PHRASE] if self.team_changes else [])
        try:
            entries: dict[str, dict[str, Any]] = {}
            for phrase in phrases:
                for entry in self.api.paginate(f"/orgs/{org.login}/audit-log", include="web", order="desc",
                                               phrase=f"{phrase} created:>={org.period.start[:10]}"):
                    entries.setdefault(str(entry.get("_document_id") or len(entries)), entry)
            org.audit_log = list(entries.values())
        except ApiFailure as exc:
            plan = f"the {org.plan} plan" if org.plan else "this plan"
            if exc.status == 404:
                why = f"the organisation audit log API is not available on {plan} (GitHub Enterprise Cloud only)"
            elif exc.status == 403:
                why = f"the organisation audit log is not readable with this token ({exc}); on {plan} it needs an " \
                      "owner's token with read:audit_log, or an App with Administration read"
            else:
                why = str(exc)
            with self._lock:
                org.gaps.append(Gap("github", f"github:org:{org.login}", why,
                                    "protection overrides and changes in the period (protected_branch.policy_override "
                                    "and similar audit-log events)", about=ABOUT))


def run_id_of(deployment: dict[str, Any]) -> int:
    """The Actions run behind a deployment: its latest status's log URL names it."""
    status = deployment.get("latestStatus") or {}
    m = _RUN_URL.search(str(status.get("logUrl") or ""))
    return int(m.group(1)) if m else 0


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


def _time_period(now: datetime, start: str, periods: tuple[tuple[str, int], ...]) -> str | None:
    """The smallest `time_period` value that reaches back to ``start``; None when none does."""
    back = now - parse_time(start)
    for name, days in periods:
        if days and back <= _days(days):
            return name
    return None
