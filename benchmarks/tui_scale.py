"""Times the TUI on a large synthetic snapshot: first paint, cursor move and filter.

Builds its own org (default 10,000 people, 100,000 grants) from foureyes.model objects,
stores it in a temporary SQLite file and drives the real app headless with Pilot.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from foureyes.config import Config, parse_config
from foureyes.model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
    principal_key,
    resource_key,
)

DOMAIN = "bench.example"
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gus", "Hal", "Ida", "Jon", "Kai", "Lea", "Mo", "Nia",
         "Oli", "Pia", "Raj", "Sol", "Tia", "Uma", "Vic", "Wes", "Xia", "Yan", "Zoe")
LAST = ("Adams", "Baker", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hill", "Ito", "Jones", "Khan", "Lee",
        "Moss", "Ng", "Ortiz", "Park", "Quinn", "Rossi", "Singh", "Tan", "Ueda", "Vega", "Wu", "Young")
CONFIG_TOML = f"""
[identity]
email_domains = ["{DOMAIN}"]
"""


def bench_config() -> Config:
    return parse_config(CONFIG_TOML, "<benchmark config>")


def synthetic_org(people: int = 10_000, grants: int = 100_000, seed: int = 7) -> list[SourceResult]:
    """A deterministic org of roughly ``people`` humans and ``grants`` grants in three systems."""
    rng = random.Random(seed)
    n_teams = max(people // 40, 4)
    n_repos = max(people // 4, 8)
    n_apps = max(n_repos // 20, 2)
    n_accounts = max(n_apps // 5, 2)
    gh_p: list[Principal] = []
    gh_r: list[Resource] = []
    gh_g: list[Grant] = []
    gh_e: list[Edge] = []
    aws_p: list[Principal] = []
    aws_r: list[Resource] = []
    aws_g: list[Grant] = []
    aws_e: list[Edge] = []
    gcp_p: list[Principal] = []
    gcp_r: list[Resource] = []
    gcp_g: list[Grant] = []

    def app_of_repo(j: int) -> str:
        return f"app-{j % n_apps:03d}"

    for t in range(n_teams):
        gh_p.append(Principal("github", f"team/bench/team-{t:03d}", Kind.TEAM, f"team team-{t:03d}"))
        if t >= 10:
            gh_e.append(Edge(principal_key("github", f"team/bench/team-{t:03d}"),
                             principal_key("github", f"team/bench/team-{t % 10:03d}"), EdgeKind.MEMBER_OF,
                             f"child team of team-{t % 10:03d}"))
    for j in range(n_repos):
        production = j % 3 == 0
        protected = j % 17 != 0
        gh_r.append(Resource("github", "repo", f"bench/repo-{j:05d}", tier="production" if production else "",
                             app=app_of_repo(j), attrs={"protected": protected, "enforce_admins": True}))
        team = principal_key("github", f"team/bench/team-{j % n_teams:03d}")
        caps = (CODE_PUSH, CODE_APPROVE) + (() if protected else (CODE_MERGE_UNREVIEWED,))
        gh_g.append(Grant("github", team, "write", resource_key("github", "repo", f"bench/repo-{j:05d}"), caps,
                          Via.TEAM, f"team team-{j % n_teams:03d}"))
        if production and j % 9 == 0:
            env = f"bench/repo-{j:05d}/production"
            gh_r.append(Resource("github", "environment", env, tier="production", app=app_of_repo(j),
                                 parent=resource_key("github", "repo", f"bench/repo-{j:05d}"),
                                 attrs={"reviewers": 1, "self_review_allowed": j % 2 == 0}))
            gh_g.append(Grant("github", team, "required reviewer", resource_key("github", "environment", env),
                              (DEPLOY_APPROVE,), Via.REVIEWER, "environment reviewers",
                              attrs={"self_review_allowed": j % 2 == 0}))
    for a in range(n_accounts):
        account = f"{100000000000 + a}"
        aws_r.append(Resource("aws", "account", account, f"bench-{a:02d}", tier="production" if a % 2 == 0 else "staging",
                              app=f"app-{(a * 5) % n_apps:03d}"))
    projects = [f"bench-prod-{k:02d}" for k in range(max(n_accounts, 2))]
    for k, project in enumerate(projects):
        gcp_r.append(Resource("gcp", "project", project, tier="production", app=f"app-{(k * 5 + 1) % n_apps:03d}"))

    per_person = max(int(grants * 0.8 / people) - 1, 1)
    for i in range(people):
        login = f"u{i:05d}"
        email = f"{login}@{DOMAIN}"
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
        user = principal_key("github", login)
        gh_p.append(Principal("github", login, Kind.USER, name, email, attrs={"email_source": "saml"}))
        for t in {rng.randrange(n_teams) for _ in range(rng.randint(1, 2))}:
            gh_e.append(Edge(user, principal_key("github", f"team/bench/team-{t:03d}"), EdgeKind.MEMBER_OF,
                             f"member of team-{t:03d}"))
        for j in {rng.randrange(n_repos) for _ in range(per_person)}:
            unreviewed = rng.random() < 0.05
            caps = (CODE_PUSH, CODE_APPROVE) + ((CODE_MERGE_UNREVIEWED,) if unreviewed else ())
            gh_g.append(Grant("github", user, "admin" if unreviewed else "write",
                              resource_key("github", "repo", f"bench/repo-{j:05d}"), caps, Via.DIRECT,
                              "direct collaborator"))
        if i % 3 == 0:
            sso = f"arn:aws:sso:::user/{login}"
            aws_p.append(Principal("aws", sso, Kind.USER, f"{name} (SSO)", email, attrs={"email_source": "sso"}))
            for a in {rng.randrange(n_accounts) for _ in range(3)}:
                admin = rng.random() < 0.03
                aws_g.append(Grant("aws", principal_key("aws", sso), "AdministratorAccess" if admin else "Deployer",
                                   resource_key("aws", "account", f"{100000000000 + a}"),
                                   (DEPLOY_RUN, ACCESS_ADMIN) if admin else (DEPLOY_RUN,), Via.POLICY,
                                   "permission set", attrs={"actions": ["ecs:UpdateService"]}))
        if i % 5 == 1:
            member = f"user:{email}"
            gcp_p.append(Principal("gcp", member, Kind.USER, name, email, attrs={"email_source": "member"}))
            for project in {projects[rng.randrange(len(projects))] for _ in range(3)}:
                gcp_g.append(Grant("gcp", principal_key("gcp", member), "roles/run.developer",
                                   resource_key("gcp", "project", project), (DEPLOY_RUN,), Via.DIRECT,
                                   "project IAM binding", attrs={"actions": ["run.services.update"]}))
    gaps = [Gap("github", resource_key("github", "repo", f"bench/repo-{j:05d}"), "403 on rulesets",
                "ruleset bypass actors") for j in range(0, n_repos, max(n_repos // 20, 1))]
    stamp = "2026-11-02T08:00:00+00:00"
    return [
        SourceResult("github", "github", tuple(gh_p), tuple(gh_r), tuple(gh_g), tuple(gh_e), tuple(gaps), stamp, stamp),
        SourceResult("aws", "aws", tuple(aws_p), tuple(aws_r), tuple(aws_g), tuple(aws_e), (), stamp, stamp),
        SourceResult("gcp", "gcp", tuple(gcp_p), tuple(gcp_r), tuple(gcp_g), (), (), stamp, stamp),
    ]
