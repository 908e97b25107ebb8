"""GitHub snapshot at scale: requests against the lower bound, rate-limit points, wall time against
serial, requests in flight, and what a 20,000-repository organisation costs of an hourly budget.

Runs the real GitHubConnector (PyGithub over HTTP) against the fake GitHub of tests/fakes,
serving a synthetic organisation with added latency per request, in a process of its own.

What is measured, exactly (benchmarks/README.md, "GitHub snapshot", says the same):

- *requests* are what the server received (retries included), against `lower_bound()`:
  the pages that must be fetched to know everything the snapshot reports, each list read
  at GitHub's largest page size — 100 items per REST page and per GraphQL connection,
  except repositories, 50 per GraphQL page at most (the connector's `REPO_PAGES`: a page
  also carries workflow files and must answer within GitHub's 10 s), and the protection
  rules and rulesets inside each, 10 at most on that page (lists inside lists are paid per
  parent). Counted: the organisation, its custom and organisation roles, its OIDC template,
  its outside collaborators and whether Actions may approve pull requests (once each, a page
  per 100; the last per repository too where the organisation allows it); GraphQL pages of
  members, SAML identities, teams (with their first 100 immediate members and repositories;
  more pages where a team has more) and repositories (with their direct collaborators,
  environments, protection rules and rulesets with the lists inside them; more pages where a
  list is longer); per team, its repositories over REST only when the organisation has custom
  repository roles (GraphQL names built-in roles only); per included repository, its
  environments where it has any (and their custom branch policies), REST's detail of a
  ruleset whose bypass list GraphQL cannot give (an empty or unnameable one; organisation
  rulesets once each; and once the first non-empty one, to check GraphQL against REST), and
  its OIDC template where a workflow takes on a cloud identity or mints an OIDC token.
  Not in the bound: the connector's cursor chain of repository names (a page per 100,
  1 point each), which lets the repository batches be read in parallel; one page of
  repositories with everything would do without it.
- *points* are GitHub's rate-limit score of every GraphQL query, as the fake charges it
  (GitHub's documented formula, tests/fakes/github_cost.py), and *REST calls* one each:
  two separate hourly budgets, reported per 100 repositories and together.
- *serial time* is what the same snapshot would take one request at a time: requests ×
  latency + the CPU time the run spent (client process + server process). The model is
  checked with a real concurrency-1 run at `--serial-check-scale` (default: the smaller of
  the scale and 0.1), and that check is reported beside it.
- *in flight* is the server's own counter of requests being served at once, and the
  connector's counter of requests it had sent and not yet seen answered.
- *a 20,000-repository organisation* (`--budget-scale`, 10 at full scale): a snapshot of
  ten times the organisation (no added latency), its points and REST calls against one
  GitHub App installation's hourly budgets (GitHub: on Enterprise Cloud 15,000 REST
  requests and 10,000 GraphQL points; elsewhere 5,000 + 50 per repository and per user
  beyond 20, at most 12,500, for each).

With ``--activity`` it measures activity reading instead (`snapshot --activity`, 90 days): the
same organisation with a quarter of pull requests, pushes, deployments and bypasses
(`synthetic_activity`), every repository counted as production (the worst case), against
`activity_bound()`; what it costs in REST requests and GraphQL points (GitHub's formula:
each connection counted at its ``first``/``last`` size, divided by 100) against GitHub's
hourly budgets.

`python benchmarks/github_scale.py --scale S [--activity] [--json]`; `benchmarks/run.py` runs both.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (str(ROOT), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

import serverproc  # noqa: E402  (benchmarks/, beside this script)

FULL_REPOS, FULL_MEMBERS, FULL_TEAMS = 2000, 5000, 250  # one team per 20 people, as in generate.py
LATENCY = 0.05
PAGE = 100  # GitHub's largest page: REST per_page and GraphQL first
REPO_PAGE = 50  # repositories per GraphQL page at most (see the module docstring)
NESTED = 10  # protection rules or rulesets per repository on that page at most
RULES_MORE, RULESETS_MORE = 33, 49  # per later page (foureyes/connectors/github/queries.py)
# One GitHub App installation's hourly budgets (GitHub docs, "Rate limits for the REST API" and
# "Rate limits and query limits for the GraphQL API").
GHEC_REST, GHEC_GRAPHQL = 15_000, 10_000
ORG = "synth"
TOKEN_ENV = "FOUREYES_BENCH_GITHUB_TOKEN"  # never the user's GITHUB_TOKEN: the fake needs none


@dataclass
class Row:
    name: str
    measured: str
    target: str = ""
    ok: bool | None = None
    note: str = ""


def org_size(scale: float) -> dict[str, int]:
    """2,000 repositories, 5,000 members and 250 teams at scale 1.0; at least a handful of teams."""
    return {"repos": max(1, round(FULL_REPOS * scale)), "members": max(2, round(FULL_MEMBERS * scale)),
            "teams": max(5, round(FULL_TEAMS * scale))}


def fixture_for(scale: float) -> dict[str, Any]:
    from fakes.github_server import synthetic_org

    return synthetic_org(**org_size(scale), org=ORG)


# ---------------------------------------------------------------- the lower bound


def _pages(items: int, per_page: int = PAGE) -> int:
    """A list always costs one page, even when empty."""
    return max(1, math.ceil(items / per_page))


def lower_bound(fixture: dict[str, Any], *, include_archived: bool = False) -> dict[str, int]:
    """The pages that must be fetched to snapshot ``fixture``, by kind of request (see the module docstring)."""
    from fakes.github_server import Org, _rank
    from foureyes.connectors.github.workflows import parse_workflow

    org = Org(fixture)
    visible = org.token
    repos = [r for r in org.repos.values() if include_archived or not r.get("archived")]
    bound = {"organisation": 0, "graphql": 0, "team repositories": 0, "collaborators": 0, "environments": 0,
             "rulesets": 0, "oidc": 0}
    # organisation: itself, custom roles, organisation roles (and the people and teams of those
    # that reach code), the OIDC template, outside collaborators, whether Actions may approve
    # pull requests (per repository too, where the organisation allows it)
    bound["organisation"] += 5 + _pages(len(org.outside()))
    if org.data["org"].get("actions_can_approve"):
        bound["organisation"] += len(repos)
    for role in org.data.get("org_roles", []):
        if _rank(str(role.get("base_role") or "read"), org) >= _rank("write", org):
            bound["organisation"] += _pages(len(role.get("teams", []))) + _pages(len(role.get("users", [])))
    # GraphQL: members, SAML identities, teams with their first 100 immediate members and repositories
    bound["graphql"] += _pages(len(org.members("all")))
    if org.data["org"].get("saml") and visible["saml_visible"]:
        bound["graphql"] += _pages(sum(1 for p in org.people.values() if p.get("saml")))
    else:
        bound["graphql"] += 1  # one query learns there is no identity provider, or that it is hidden
    bound["graphql"] += _pages(len(org.teams))
    custom = bool(org.custom_roles)
    for slug, team in org.teams.items():
        immediate = len(dict.fromkeys(team.get("maintainers", []) + team.get("members", [])))
        bound["graphql"] += _pages(immediate) - 1  # the first page came with the team
        reach = len([n for n in org.team_repo_roles(slug) if n in org.repos])
        if custom:  # GraphQL names built-in roles only: REST's role names
            bound["team repositories"] += _pages(reach)
        else:
            bound["graphql"] += _pages(reach) - 1
    bound["graphql"] += _pages(len(repos), REPO_PAGE)
    # per repository: the rest of lists longer than the repositories page holds
    org_rulesets: set[int] = set()
    probe = 0
    for repo in repos:
        rulesets = list(repo.get("rulesets", [])) + org.org_rulesets_for(repo["name"])
        rules = repo.get("protection", [])
        bound["graphql"] += _more(len(rules), NESTED, RULES_MORE) + _more(len(rulesets), NESTED, RULESETS_MORE)
        bound["graphql"] += _pages(len(repo.get("collaborators", {}))) - 1 + _pages(len(repo.get("environments", []))) - 1
        for rule in rules:
            for key in ("push_restrictions", "bypass_pull_request_allowances"):
                spec = rule.get(key) or {}
                bound["graphql"] += _pages(sum(len(spec.get(k, [])) for k in ("users", "teams", "apps"))) - 1
        for ruleset in rulesets:
            bound["graphql"] += _pages(len(ruleset.get("rules", []))) - 1 + _pages(len(ruleset.get("bypass_actors", []))) - 1
        envs = repo.get("environments", [])
        if envs:
            bound["environments"] += _pages(len(envs))
            for env in envs:
                if (env.get("deployment_branch_policy") or {}).get("custom_branch_policies"):
                    bound["environments"] += _pages(len(env.get("branch_policies", [])))
        for ruleset in repo.get("rulesets", []):
            if _gates_merging(ruleset):
                if _graphql_names(ruleset, visible):
                    probe = 1
                else:
                    bound["rulesets"] += 1
        for ruleset in org.org_rulesets_for(repo["name"]):
            if _gates_merging(ruleset):
                org_rulesets.add(ruleset["id"])
        scans = [parse_workflow(name, text) for name, text in (repo.get("workflows") or {}).items()
                 if text != "<binary>"]
        if any(scan.uses_oidc for scan in scans):
            bound["oidc"] += 1
    bound["rulesets"] += len(org_rulesets) + probe
    return bound


def _more(count: int, first: int, later: int) -> int:
    """Later pages for a list of ``count`` items when the first page held ``first``."""
    return max(0, math.ceil((count - first) / later))


def _graphql_names(ruleset: dict[str, Any], visible: dict[str, Any]) -> bool:
    """Whether GraphQL's bypassActors gives the whole list: a non-empty one of actors its union can name."""
    actors = ruleset.get("bypass_actors", [])
    if not actors or not visible["bypass_actors_visible"] or ruleset.get("hide_bypass_actors"):
        return False
    return all(a["actor_type"] in ("OrganizationAdmin", "RepositoryRole", "Team", "Integration", "DeployKey",
                                   "EnterpriseOwner") and a.get("bypass_mode", "always") in ("always", "pull_request")
               for a in actors)


def _gates_merging(ruleset: dict[str, Any]) -> bool:
    """An active branch or tag ruleset that requires a review or restricts creating or updating refs:
    its bypass list decides who gets past it alone."""
    return (ruleset.get("enforcement", "active") == "active" and ruleset.get("target", "branch") in ("branch", "tag")
            and any(r.get("type") in ("pull_request", "update", "creation", "lock_branch")
                    for r in ruleset.get("rules", [])))


def request_kind(method: str, path: str) -> str:
    """The `lower_bound` kind a logged request belongs to."""
    if path == "/graphql":
        return "graphql"
    if path.startswith("/orgs/") and path.endswith("/repos") and "/teams/" in path:
        return "team repositories"
    if path.endswith("/collaborators") and path.startswith("/repos/"):
        return "collaborators"
    if "/environments" in path:
        return "environments"
    if "/rulesets/" in path:
        return "rulesets"
    if path.startswith("/repos/") and path.endswith("/actions/oidc/customization/sub"):
        return "oidc"
    return "organisation"


# ---------------------------------------------------------------- the server, in its own process


def _serve(scale: float, latency: float, conn: Any, activity: bool = False, now: str = "",
           budgets: tuple[int, int] = (5000, 5000)) -> None:
    """Child process: the fake GitHub, answering 'reset', 'stats' and 'stop' over a pipe."""
    for p in (str(ROOT), str(ROOT / "tests")):
        if p not in sys.path:
            sys.path.insert(0, p)
    from datetime import datetime

    from fakes.github_server import FakeGitHub

    fixture = fixture_for(scale)
    if activity:
        fixture = synthetic_activity(fixture, now=datetime.fromisoformat(now))
    # activity reading exceeds one hour's budget of a token at full size: the fake does not stop it
    # (the rows report the budget in hours), so requests are counted, not waited for
    gh = FakeGitHub(fixture, latency=latency, rate_limit=10**9 if activity else budgets[0],
                 graphql_limit=10**9 if activity else budgets[1]).start()
    graphql_pages: dict[str, int] = {}
    if activity:  # count activity's GraphQL pages by the connection they ask for
        original = gh.graphql

        def counted(body: Any, *args: Any, **kwargs: Any) -> Any:  # the fake's own signature, whatever it grows
            query = str((body or {}).get("query", ""))
            for name in ("pullRequests(", "pullRequest(", "deployments("):
                if name in query:
                    graphql_pages[name[:-1]] = graphql_pages.get(name[:-1], 0) + 1
                    break
            return original(body, *args, **kwargs)

        gh.graphql = counted  # type: ignore[method-assign]
    conn.send(gh.url)
    cpu = time.process_time()
    while True:
        command = conn.recv()
        if command == "reset":
            gh.settle()
            gh.stats.reset()
            cpu = time.process_time()
            conn.send(None)
        elif command == "stats":
            gh.settle()
            kinds: dict[str, int] = {}
            for entry in list(gh.stats.log):
                kind = request_kind(entry.method, entry.path)
                kinds[kind] = kinds.get(kind, 0) + 1
            conn.send({"requests": gh.stats.total, "max_in_flight": gh.stats.max_in_flight, "by_kind": kinds,
                       "cpu_s": time.process_time() - cpu, "points": gh.stats.points, "rest": gh.stats.rest,
                       "errors": sum(1 for e in gh.stats.log if e.status >= 400 or e.status < 0)})
        elif command == "activity-stats":
            gh.settle()
            kinds = {}
            for entry in list(gh.stats.log):
                kind = activity_kind(entry.method, entry.path)
                kinds[kind] = kinds.get(kind, 0) + 1
            conn.send({"requests": gh.stats.total, "by_kind": kinds, "graphql_pages": dict(graphql_pages)})
        elif command == "log":
            gh.settle()
            conn.send([(e.method, e.path, e.started, e.ended) for e in gh.stats.log])
        else:
            gh.stop()
            conn.send(None)
            return


def _serve_last(scale: float, latency: float, activity: bool, now: str, budgets: tuple[int, int],
                conn: Any) -> None:
    _serve(scale, latency, conn, activity, now, budgets)


class ServerProcess(serverproc.ServerProcess):
    def __init__(self, scale: float, latency: float, *, activity: bool = False, now: str = "",
                 budgets: tuple[int, int] = (5000, 5000)):
        super().__init__(_serve_last, scale, latency, activity, now, budgets)
        self.url: str = self.hello


# ---------------------------------------------------------------- one run


@dataclass
class Run:
    scale: float
    concurrency: int
    latency: float
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    requests: int
    server_max_in_flight: int
    client_max_in_flight: int
    by_kind: dict[str, int]
    bound: dict[str, int]
    repos: int
    gaps: int
    errors: int
    points: int = 0  # GraphQL rate-limit points charged
    rest: int = 0  # REST requests
    members: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def per_100(self) -> tuple[float, float]:
        """(GraphQL points, REST requests) per 100 repositories."""
        return self.points * 100 / self.repos, self.rest * 100 / self.repos

    @property
    def lower_bound(self) -> int:
        return sum(self.bound.values())

    @property
    def serial_model_s(self) -> float:
        return self.requests * self.latency + self.client_cpu_s + self.server_cpu_s


def github_config(url: str, concurrency: int | None) -> Any:
    from foureyes.config import parse_config

    extra = f"concurrency = {concurrency}\n" if concurrency is not None else ""
    return parse_config(f'[sources.github]\norg = "{ORG}"\nbase_url = "{url}"\ntoken_env = "{TOKEN_ENV}"\n{extra}',
                        "<benchmark config>")


def measure(scale: float, *, latency: float = LATENCY, concurrency: int | None = None, profile: str = "",
            timeline: str = "", budgets: tuple[int, int] = (5000, 5000)) -> Run:
    """One snapshot; ``budgets``: the fake's hourly REST requests and GraphQL points (a token's by default)."""
    from foureyes.connectors.github.connector import GitHubConnector

    os.environ[TOKEN_ENV] = "bench-token-not-a-secret"
    fixture = fixture_for(scale)
    bound = lower_bound(fixture)
    with ServerProcess(scale, latency, budgets=budgets) as server:
        config = github_config(server.url, concurrency)
        section = config.sources.github
        server.call("reset")
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu, started = time.process_time(), time.perf_counter()
        result = GitHubConnector(section, config=config).collect()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        seen = server.call("stats")
        if timeline:
            log = server.call("log")
            first = min(e[2] for e in log)
            Path(timeline).write_text("".join(f"{s - first:.4f} {e - first:.4f} {request_kind(m, p)} {m} {p}\n"
                                              for m, p, s, e in sorted(log, key=lambda e: e[2])))
    return Run(scale=scale, concurrency=section.concurrency, latency=latency, wall_s=wall, client_cpu_s=cpu,
               server_cpu_s=seen["cpu_s"], requests=seen["requests"], server_max_in_flight=seen["max_in_flight"],
               client_max_in_flight=int(result.stats.get("max_in_flight", 0)), by_kind=seen["by_kind"], bound=bound,
               repos=sum(1 for r in result.resources if r.kind == "repo"), gaps=len(result.gaps),
               errors=seen["errors"], points=seen["points"], rest=seen["rest"],
               members=org_size(scale)["members"], stats=dict(result.stats))


# ---------------------------------------------------------------- activity (--activity)

ACTIVITY_DAYS = 90
PR_PAGE, DEPLOY_PAGE = 25, 100  # foureyes.connectors.github.activity_queries
# GraphQL points per page (GitHub: each connection once per parent, summed, / 100, rounded, at least 1):
# pull requests 1 + 25 commit lists + 25 parents + 25 reviews + 25 timelines (a commit's `authors`
# connection would add 25 × 50: 14 points a page; `author` and the message's trailers add nothing)
PR_PAGE_POINTS = max(1, round((1 + 25 + 25 + 25 + 25) / 100))
COMMITS_PAGE_POINTS = max(1, round((1 + 100) / 100))
DEPLOY_PAGE_POINTS = 1


def synthetic_activity(fixture: dict[str, Any], *, now: Any, days: int = ACTIVITY_DAYS) -> dict[str, Any]:
    """A quarter of history on every repository of ``synthetic_org``: pull requests (60 on every tenth
    repository, 12 on every third, 4 elsewhere; each with 3 commits and an approval), a direct push on
    every fiftieth, 30 deployments with their runs (and 150 CI runs) where there is a production
    environment, a used bypass on every hundredth, and pull requests older than the period."""
    from datetime import timedelta

    people = [p["login"] for p in fixture["people"]]

    def at(hours_ago: float) -> str:
        return (now - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")

    span = days * 24 - 2
    for r, repo in enumerate(fixture["repos"]):
        count = 60 if r % 10 == 0 else 12 if r % 3 == 0 else 4
        author, reviewer = people[(r * 7) % len(people)], people[(r * 7 + 1) % len(people)]
        pulls = []
        for i in range(count + 3):  # three before the period
            hours = span * (i + 0.5) / count if i < count else span + 24 * (i - count + 1)
            pulls.append({"number": i + 1, "author": author, "merged_at": at(hours), "merge_commit": f"m{r}-{i}",
                          "review_decision": "APPROVED",
                          "commits": [{"oid": f"c{r}-{i}-{k}", "committed_at": at(hours + 1)} for k in range(3)],
                          "reviews": [{"author": reviewer, "state": "APPROVED", "submitted_at": at(hours + 0.5),
                                       "commit": f"c{r}-{i}-2"}]})
        pushes = [{"id": i + 1, "actor": author, "before": f"m{r}-{i}", "after": f"m{r}-{i + 1}",
                   "timestamp": p["merged_at"], "type": "pr_merge"} for i, p in enumerate(pulls[:count])]
        commits: dict[str, Any] = {}
        if r % 50 == 0:
            pushes.append({"id": 999, "actor": author, "before": f"m{r}-0", "after": f"p{r}", "timestamp": at(30),
                           "type": "push", "commits": [f"p{r}"]})
            commits[f"p{r}"] = {"author": author, "message": "hotfix"}
        activity: dict[str, Any] = {"pull_requests": pulls, "pushes": pushes, "commits": commits}
        if repo.get("environments"):
            deployer = people[(r * 7 + 2) % len(people)]
            activity["deployments"] = [{"id": r * 1000 + d, "environment": "production", "sha": f"m{r}-{2 * d}",
                                        "ref": "main", "creator": deployer, "created_at": at(span * (d + 0.5) / 30),
                                        "run": r * 1000 + d + 1} for d in range(30)]
            activity["runs"] = {r * 1000 + d + 1: {"actor": deployer, "triggering_actor": deployer,
                                               "created_at": at(span * (d + 0.5) / 30),
                                               "approvals": [{"user": reviewer, "state": "approved"}]}
                                for d in range(30)}
            activity["ci_runs"] = 150
        if r % 100 == 0:
            activity["rule_suites"] = [{"id": 50_000 + r, "actor": author, "before": "m0", "after": "m1",
                                        "pushed_at": at(48), "result": "bypass",
                                        "rules": [{"name": "main", "type": "pull_request", "result": "bypass"}]}]
        repo["activity"] = activity
    fixture["audit_log"] = [{"action": "protected_branch.policy_override", "actor": people[0], "repo": "repo-0000",
                             "branch": "main", "created_at": at(48)}]
    return fixture


def activity_bound(fixture: dict[str, Any]) -> dict[str, int]:
    """The requests activity reading cannot do without, by kind: per production repository the pages of
    its pull requests merged in the period (plus the one older item that proves the list can stop), of
    its activity list, of its deployments; the runs of its deployments (the run list where that takes
    fewer pages), the approvals where the environment has reviewers, a compare per direct push; for the
    organisation one page of rule suites (and each bypass's detail) and one of the audit log."""
    bound = {"activity graphql": 0, "repository activity": 0, "compare": 0, "runs": 0, "approvals": 0,
             "rule suites": 0, "audit log": 1}
    suites = 0
    for repo in fixture["repos"]:
        a = repo.get("activity") or {}
        pulls = a.get("pull_requests", [])
        inside = sum(1 for p in pulls if p["number"] <= len(pulls) - 3)
        bound["activity graphql"] += max(1, math.ceil((inside + (1 if len(pulls) > inside else 0)) / PR_PAGE))
        bound["activity graphql"] += sum(math.ceil(len(p["commits"]) / 100) for p in pulls[:inside]
                                         if len(p["commits"]) > 50)
        bound["repository activity"] += _pages(len(a.get("pushes", [])))
        bound["compare"] += sum(1 for p in a.get("pushes", []) if p.get("type") == "push")
        deployments = a.get("deployments", [])
        if repo.get("environments"):
            bound["activity graphql"] += max(1, math.ceil(len(deployments) / DEPLOY_PAGE))
            runs = len({d["run"] for d in deployments})
            listed = runs + a.get("ci_runs", 0)
            bound["runs"] += min(runs, _pages(listed))
            bound["approvals"] += runs
        suites += len(a.get("rule_suites", []))
    bound["rule suites"] = 1 + suites
    return bound


def activity_kind(method: str, path: str) -> str:
    """The `activity_bound` kind of a request made while reading activity."""
    if path == "/graphql":
        return "activity graphql"
    for fragment, kind in (("/activity", "repository activity"), ("/compare/", "compare"),
                           ("/approvals", "approvals"), ("/actions/runs", "runs"), ("/rule-suites", "rule suites"),
                           ("/audit-log", "audit log")):
        if fragment in path:
            return kind
    return "other"


@dataclass
class ActivityRun:
    scale: float
    wall_s: float
    requests: int
    by_kind: dict[str, int]
    bound: dict[str, int]
    changes: int
    deployments: int
    gaps: int
    graphql_points: int
    graphql_pages: dict[str, int]
    gap_reasons: list[str] = field(default_factory=list)

    @property
    def rest(self) -> int:
        return self.requests - self.by_kind.get("activity graphql", 0)


def measure_activity(scale: float, *, latency: float = LATENCY) -> ActivityRun:
    from datetime import datetime, timezone

    from foureyes.activity import Change, Deployment, period_from
    from foureyes.config import parse_config
    from foureyes.connectors.github.activity_fetch import ActivityFetcher
    from foureyes.connectors.github.activity_translate import translate_activity
    from foureyes.connectors.github.api import GitHubApi
    from foureyes.connectors.github.connector import production_activity
    from foureyes.connectors.github.fetch import Fetcher
    from foureyes.connectors.github.translate import translate

    os.environ[TOKEN_ENV] = "bench-token-not-a-secret"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    fixture = synthetic_activity(fixture_for(scale), now=now)
    bound = activity_bound(fixture)
    with ServerProcess(scale, latency, activity=True, now=now.isoformat()) as server:
        config = parse_config(f'[tiers.production]\ngithub_repos = ["*"]\ngithub_environments = ["production"]\n'
                              f'[sources.github]\norg = "{ORG}"\nbase_url = "{server.url}"\n'
                              f'token_env = "{TOKEN_ENV}"\n', "<benchmark config>")
        section = config.sources.github
        api = GitHubApi(section, lambda _e: None)
        org = Fetcher(api, section, lambda _e: None).fetch()
        builder = translate(org, config, section)
        period = period_from(since=f"{ACTIVITY_DAYS}d", now=now)
        server.call("reset")
        started = time.perf_counter()
        data = ActivityFetcher(api, section, lambda _e: None, now=now).fetch(production_activity(org, builder, period))
        wall = time.perf_counter() - started
        translate_activity(data, builder)
        seen = server.call("activity-stats")
    records = list(builder.result("github", "github").activity)
    pages = seen["graphql_pages"]
    points = (pages.get("pullRequests", 0) * PR_PAGE_POINTS + pages.get("pullRequest", 0) * COMMITS_PAGE_POINTS
              + pages.get("deployments", 0) * DEPLOY_PAGE_POINTS)
    return ActivityRun(scale=scale, wall_s=wall, requests=seen["requests"], by_kind=seen["by_kind"], bound=bound,
                       changes=sum(1 for r in records if isinstance(r, Change)),
                       deployments=sum(1 for r in records if isinstance(r, Deployment)),
                       gaps=len(builder.gaps), graphql_points=points, graphql_pages=pages,
                       gap_reasons=[g.reason for g in builder.gaps][:5])


def activity_rows(run: ActivityRun) -> list[Row]:
    size = org_size(run.scale)
    total_bound = sum(run.bound.values())
    ratio = run.requests / total_bound
    excess = ", ".join(f"{k} {run.by_kind.get(k, 0):,}/{b:,}" for k, b in run.bound.items()
                       if run.by_kind.get(k, 0) != b)
    rows = [
        Row("github activity: 90 days on every repository",
            f"{size['repos']:,} repos, {run.changes:,} changes, {run.deployments:,} deployments",
            note=f"{run.gaps} gaps; read in {fmt_s(run.wall_s)} at {LATENCY * 1000:.0f} ms latency"),
        Row("github activity: requests vs lower bound", f"{run.requests:,} / {total_bound:,} = {ratio:.3f}×",
            "≤ 1.2× lower bound", ratio <= 1.2, "per kind, made/bound: " + (excess or "all kinds at the bound")),
        Row("github activity: REST requests (core budget)", f"{run.rest:,}",
            note=f"{run.rest / 5000:.1f} h of a token's 5,000 per hour; {run.rest / 15000:.1f} h of an Enterprise "
                 "Cloud App's 15,000"),
        Row("github activity: GraphQL points", f"{run.graphql_points:,}",
            note=f"{run.graphql_pages.get('pullRequests', 0):,} pull-request pages × {PR_PAGE_POINTS}, "
                 f"{run.graphql_pages.get('pullRequest', 0):,} commit pages × {COMMITS_PAGE_POINTS}, "
                 f"{run.graphql_pages.get('deployments', 0):,} deployment pages × {DEPLOY_PAGE_POINTS}; "
                 f"{run.graphql_points / 5000:.1f} h of 5,000 points per hour"),
    ]
    if run.scale != 1.0:
        for r in rows:
            if r.target:
                r.target, r.ok = f"({r.target} at full size)", None
    return rows


# ---------------------------------------------------------------- report


def installation_budget(repos: int, users: int) -> tuple[int, int, int]:
    """(REST, GraphQL on Enterprise Cloud, either elsewhere) per hour for one GitHub App installation."""
    elsewhere = min(12_500, 5_000 + 50 * max(0, repos - 20) + 50 * max(0, users - 20))
    return GHEC_REST, GHEC_GRAPHQL, elsewhere


def budget_rows(big: Run) -> list[Row]:
    rest_h, graphql_h, elsewhere = installation_budget(big.repos, big.members)
    hours = max(big.rest / rest_h, big.points / graphql_h)
    hours_elsewhere = max(big.rest, big.points) / elsewhere
    ok = hours <= 1 and hours_elsewhere <= 1
    return [Row(f"github: a {big.repos:,}-repository organisation, one GitHub App installation",
                f"{big.points:,} GraphQL points + {big.rest:,} REST calls = {hours:.2f} h of its budget",
                "within one hour" if big.scale >= 10 else "(within one hour at full size)",
                ok if big.scale >= 10 else None,
                f"{big.members:,} members; budget per hour on Enterprise Cloud {graphql_h:,} points and {rest_h:,} REST "
                f"({hours:.2f} h), elsewhere {elsewhere:,} of each ({hours_elsewhere:.2f} h); a personal token's 5,000 "
                f"of each: {max(big.points, big.rest) / 5000:.1f} h; {big.gaps} gaps; snapshot took "
                f"{fmt_s(big.wall_s)} without added latency, {big.stats.get('rate_limit_wait_s', 0):.0f} s of it "
                "waiting for GitHub's per-minute limits")]


def rows_for(run: Run, check: Run | None) -> list[Row]:
    size = org_size(run.scale)
    rows = [Row("github: synthetic organisation",
                f"{size['repos']:,} repos, {size['members']:,} members, {size['teams']:,} teams",
                note=f"{run.latency * 1000:.0f} ms added latency per request; concurrency {run.concurrency}; "
                     f"{run.repos:,} repositories read, {run.gaps} gaps, {run.errors} error answers")]
    ratio = run.requests / run.lower_bound
    excess = ", ".join(f"{k} {run.by_kind.get(k, 0):,}/{b:,}" for k, b in run.bound.items()
                       if run.by_kind.get(k, 0) != b)
    rows.append(Row("github: requests vs lower bound", f"{run.requests:,} / {run.lower_bound:,} = {ratio:.3f}×",
                    "≤ 1.2× lower bound", ratio <= 1.2,
                    "per kind, made/bound: " + (excess or "all kinds at the bound") +
                    f"; {run.stats.get('retries', 0)} retries"))
    gql, rest = run.per_100
    rows.append(Row("github: rate-limit points per 100 repositories (GraphQL + REST)",
                    f"{gql + rest:.1f} = {gql:.1f} + {rest:.1f}", "≤ 40 in all", gql + rest <= 40,
                    f"{run.points:,} GraphQL points (GitHub's score, tests/fakes/github_cost.py) in "
                    f"{run.by_kind.get('graphql', 0):,} queries and {run.rest:,} REST calls for {run.repos:,} "
                    "repositories; before: ≈ 205 + 135"))
    serial = run.serial_model_s
    fraction = run.wall_s / serial
    note = (f"serial = {run.requests:,} requests × {run.latency * 1000:.0f} ms + CPU "
            f"(client {run.client_cpu_s:.1f} s, server {run.server_cpu_s:.1f} s)")
    if check is not None:
        error = check.wall_s / check.serial_model_s - 1
        note += (f"; model checked by a concurrency-1 run at scale {check.scale:g}: measured "
                 f"{fmt_s(check.wall_s)}, model {fmt_s(check.serial_model_s)} ({error:+.0%})")
    rows.append(Row("github: wall time vs serial", f"{fmt_s(run.wall_s)} / {fmt_s(serial)} = 1/{1 / fraction:.1f}",
                    "≤ 1/8 of serial", fraction <= 1 / 8, note))
    peak = max(run.server_max_in_flight, run.client_max_in_flight)
    rows.append(Row("github: most requests in flight", f"{run.server_max_in_flight} (server), "
                    f"{run.client_max_in_flight} (connector)", f"≤ {run.concurrency} (configured concurrency)",
                    peak <= run.concurrency))
    if run.scale != 1.0:  # targets are for the full size; smaller runs only exercise the script
        for r in rows:
            if r.target:
                r.target, r.ok = f"({r.target} at full size)", None
    return rows


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | measured | target | met | notes |", "|---|---|---|---|---|"]
    for r in rows:
        met = "" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append(f"| {r.name} | {r.measured} | {r.target} | {met} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 2,000 repositories, 5,000 members")
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds added to every request (0.05)")
    parser.add_argument("--concurrency", type=int, default=None, help="default: the connector's default (16)")
    parser.add_argument("--serial-check-scale", type=float, default=None,
                        help="scale of the concurrency-1 run that checks the serial model; 0 skips it")
    parser.add_argument("--profile", default="",
                        help="write a cProfile of the main thread here (translation; for the workers use py-spy)")
    parser.add_argument("--timeline", default="", help="write every request (start, end, kind, path) here")
    parser.add_argument("--budget-scale", type=float, default=None,
                        help="scale of the snapshot measured against an hourly budget (default: 10 × the scale "
                             "from scale 1 up, i.e. 20,000 repositories at full scale; the scale itself below); "
                             "0 skips it")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON on the last line")
    parser.add_argument("--activity", action="store_true",
                        help="measure activity reading (90 days, every repository production) instead")
    args = parser.parse_args(argv)
    if args.activity:
        rows = activity_rows(measure_activity(args.scale, latency=args.latency))
        print(json.dumps([asdict(r) for r in rows]) if args.json else table(rows))
        return 0
    run = measure(args.scale, latency=args.latency, concurrency=args.concurrency, profile=args.profile,
                  timeline=args.timeline)
    check_scale = min(args.scale, 0.1) if args.serial_check_scale is None else args.serial_check_scale
    check = measure(check_scale, latency=args.latency, concurrency=1) if check_scale > 0 else None
    rows = rows_for(run, check)
    # a 20,000-repository organisation at full scale; smaller runs (bench-small) only exercise the row
    default = 10 * args.scale if args.scale >= 1 else args.scale
    budget_scale = default if args.budget_scale is None else args.budget_scale
    if budget_scale > 0:
        rows += budget_rows(measure(budget_scale, latency=0.0, concurrency=args.concurrency,
                                    budgets=(GHEC_REST, GHEC_GRAPHQL)))
    if args.json:
        print(json.dumps([asdict(r) for r in rows]))
    else:
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
