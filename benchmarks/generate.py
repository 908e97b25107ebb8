"""A deterministic synthetic enterprise at any size, with known seeded conflicts.

Defaults: 20,000 people, 5,000 repositories, 1,000 nested teams, 300 AWS accounts and
1,000 GCP projects — about a million grants. `generate(scale)` returns source results in
memory; run as a script it writes them as a demo-connector dataset (JSON Lines) and a
manifest of what was seeded.

    python benchmarks/generate.py --scale 0.02 --out benchmarks/out/small
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from foureyes.model import (  # noqa: E402
    ACCESS_ADMIN,
    ANY_BRANCH,
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
    ci_subject,
)

ORG = "bigco"
DOMAIN = "bigco.example"


@dataclass
class Size:
    people: int = 20_000
    repos: int = 5_000
    teams: int = 1_000
    aws_accounts: int = 300
    gcp_projects: int = 1_000

    @classmethod
    def scaled(cls, scale: float) -> "Size":
        base = cls()
        return cls(*(max(int(round(getattr(base, f) * scale)), minimum)
                     for f, minimum in (("people", 40), ("repos", 20), ("teams", 8),
                                        ("aws_accounts", 3), ("gcp_projects", 3))))


@dataclass
class Manifest:
    size: dict[str, int]
    seed: int
    seeded: dict[str, list[str]] = field(default_factory=dict)  # rule id -> people/resources seeded
    counts: dict[str, int] = field(default_factory=dict)

    def seed_finding(self, rule: str, subject: str) -> None:
        self.seeded.setdefault(rule, []).append(subject)


class _Source:
    def __init__(self, name: str, system: str):
        self.name, self.system = name, system
        self.principals: list[Principal] = []
        self.resources: list[Resource] = []
        self.grants: list[Grant] = []
        self.edges: list[Edge] = []
        self.gaps: list[Gap] = []

    def result(self) -> SourceResult:
        return SourceResult(self.name, self.system, tuple(self.principals), tuple(self.resources),
                            tuple(self.grants), tuple(self.edges), tuple(self.gaps),
                            started_at="2026-11-01T00:00:00+00:00", finished_at="2026-11-01T00:00:00+00:00",
                            stats={"synthetic": True})


def generate(scale: float = 1.0, seed: int = 7, *, variant: int = 0) -> tuple[list[SourceResult], Manifest]:
    """The enterprise; ``variant`` > 0 changes about 1% of grants (for drift benchmarks)."""
    size = Size.scaled(scale)
    rng = random.Random(seed)
    manifest = Manifest(size=vars(size), seed=seed)
    gh, aws, gcp = _Source("github", "github"), _Source("aws", "aws"), _Source("gcp", "gcp")

    people = [f"u{i:05d}" for i in range(size.people)]
    email = {p: f"{p}@{DOMAIN}" for p in people}
    unlinked = set(rng.sample(people, max(1, size.people // 50)))  # 2% have no SAML identity
    owners = people[:10]
    n_apps = max(size.repos // 10, 2)
    apps = [f"app{i:04d}" for i in range(n_apps)]

    # ---------------------------------------------------------------- GitHub
    org_key = f"github:org:{ORG}"
    gh.resources.append(Resource("github", "org", ORG, name=ORG))
    members_key = f"github:org/{ORG}/members"
    gh.principals.append(Principal("github", f"org/{ORG}/members", Kind.GROUP, display_name=f"all members of {ORG}"))
    for p in people:
        linked = p not in unlinked
        gh.principals.append(Principal("github", p, Kind.USER, display_name=f"User {p[1:]}",
                                       email=email[p] if linked else None,
                                       attrs={"email_source": "saml"} if linked else {}))
        gh.edges.append(Edge(f"github:{p}", members_key, EdgeKind.MEMBER_OF, f"member of the {ORG} organisation"))
    for p in owners:
        gh.grants.append(Grant("github", f"github:{p}", "owner", org_key, (ACCESS_ADMIN,), via=Via.OWNER))

    # teams: a forest, depth up to 4
    teams = [f"t{i:04d}" for i in range(size.teams)]
    parent: dict[str, str | None] = {}
    for i, t in enumerate(teams):
        parent[t] = None if i < max(size.teams // 20, 1) else teams[rng.randrange(0, i)] if rng.random() < 0.8 else None
        depth, cursor = 0, parent[t]
        while cursor is not None:
            depth += 1
            cursor = parent[cursor]
        if depth > 4:
            parent[t] = None
        gh.principals.append(Principal("github", f"team/{ORG}/{t}", Kind.TEAM, display_name=f"team {t}"))
        if parent[t]:
            gh.edges.append(Edge(f"github:team/{ORG}/{t}", f"github:team/{ORG}/{parent[t]}", EdgeKind.MEMBER_OF,
                                 f"child team of {parent[t]}"))
    for p in people:
        for t in rng.sample(teams, 1 + (rng.random() < 0.5)):
            gh.edges.append(Edge(f"github:{p}", f"github:team/{ORG}/{t}", EdgeKind.MEMBER_OF, f"member of team {t}"))

    repos = [f"{ORG}/r{i:05d}" for i in range(size.repos)]
    repo_app = {r: apps[i % n_apps] for i, r in enumerate(repos)}
    prod_repos = set(repos[: size.repos // 2])
    unprotected = set(rng.sample(repos, size.repos // 5))
    admins_loose = set(rng.sample(sorted(set(repos) - unprotected), size.repos // 10))
    env_no_reviewer = set(rng.sample(sorted(prod_repos), max(1, size.repos // 100)))
    prod_env_repos = set(rng.sample(sorted(prod_repos), int(len(prod_repos) * 0.8)))
    for r in repos:
        tier = "production" if r in prod_repos else "unclassified"
        key = f"github:repo:{r}"
        protected = r not in unprotected
        enforce = protected and r not in admins_loose
        gh.resources.append(Resource("github", "repo", r, name=r, tier=tier, app=repo_app[r], parent=org_key,
                                     attrs={"default_branch": "main", "protected": protected,
                                            "enforce_admins": enforce, "required_approvals": 1 if protected else 0,
                                            "protected_branches": ["main"] if protected else []}))
        if tier == "production" and not protected:
            manifest.seed_finding("FE-POS-002", key)
        if tier == "production" and protected and not enforce:
            manifest.seed_finding("FE-POS-003", key)
        holders: list[tuple[str, str]] = [(members_key, "read")]
        for t in rng.sample(teams, 1 + (rng.random() < 0.3)):
            holders.append((f"github:team/{ORG}/{t}", rng.choice(("write", "write", "write", "maintain", "admin"))))
        for p in rng.sample(people, min(25, len(people))):
            holders.append((f"github:{p}", rng.choice(("read", "read", "triage", "write", "write"))))
        holders += [(f"github:{p}", "admin") for p in owners]
        writers = []
        for principal, role in holders:
            caps: tuple[str, ...] = ()
            if role in ("write", "maintain", "admin"):
                caps = (CODE_PUSH, CODE_APPROVE) + ((ACCESS_ADMIN,) if role == "admin" else ())
                writers.append(principal)
            via = Via.BASE if principal == members_key else Via.OWNER if principal.split(":", 1)[1] in owners \
                and role == "admin" else Via.TEAM if "/team/" in principal or principal.startswith("github:team/") \
                else Via.DIRECT
            gh.grants.append(Grant("github", principal, role, key, caps, via=via))
            if role == "admin" and enforce:
                gh.grants.append(Grant("github", principal, "latent bypass", key, (CODE_MERGE_UNREVIEWED,),
                                       via=via, attrs={"latent": True}))
            elif caps and (not protected or (role == "admin" and not enforce)):
                gh.grants.append(Grant("github", principal, "merge unreviewed", key, (CODE_MERGE_UNREVIEWED,),
                                       via=via, attrs={"latent": False}))
        any_branch = ci_subject(r, ref=ANY_BRANCH)
        gh.principals.append(Principal("ci", any_branch, Kind.WORKLOAD, display_name=f"workflow on a new branch of {r}",
                                       attrs={"repo": r, "protected": ["main"] if protected else []}))
        for w in writers:
            gh.edges.append(Edge(w, f"ci:{any_branch}", EdgeKind.CAN_TRIGGER, f"can push a branch of {r}"))
        if r in prod_env_repos:
            env_id = f"{r}/production"
            env_key = f"github:environment:{env_id}"
            no_reviewer = r in env_no_reviewer
            reviewer_team = rng.choice(teams)
            gh.resources.append(Resource("github", "environment", env_id, name=f"environment production of {r}",
                                         tier="production", app=repo_app[r], parent=key,
                                         attrs={"reviewers": 0 if no_reviewer else 1, "prevent_self_review": True,
                                                "can_admins_bypass": False, "branch_policy": "protected"}))
            context = ci_subject(r, environment="production")
            gh.principals.append(Principal("ci", context, Kind.WORKLOAD, display_name=f"job in production of {r}",
                                           attrs={"repo": r, "environment": "production"}))
            gh.grants.append(Grant("ci", f"ci:{context}", "deploy through environment production", env_key,
                                   (DEPLOY_RUN,), via=Via.CI))
            if no_reviewer:
                manifest.seed_finding("FE-POS-001", env_key)
                for w in writers:
                    gh.edges.append(Edge(w, f"ci:{context}", EdgeKind.CAN_TRIGGER,
                                         f"can push {r} and production has no required reviewer"))
            else:
                gh.grants.append(Grant("github", f"github:team/{ORG}/{reviewer_team}", "required reviewer", env_key,
                                       (DEPLOY_APPROVE,), via=Via.REVIEWER, attrs={"self_review_allowed": False}))
    gh.gaps.append(Gap("github", f"github:repo:{repos[-1]}", "403 on GET /repos/.../rulesets: bypass list not visible",
                       "ruleset bypass actors"))

    # seeded SoD: people with direct write on an app's repo who deploy that app through SSO
    seeded_people = rng.sample([p for p in people if p not in unlinked and p not in owners],
                               max(2, size.people // 100))

    # ---------------------------------------------------------------- AWS
    accounts = [f"{100000000000 + i}" for i in range(size.aws_accounts)]
    n_prod = max(1, size.aws_accounts // 10)
    prod_accounts = accounts[:n_prod]
    account_app = {a: apps[i] for i, a in enumerate(prod_accounts)}
    store = "d-0000000000"
    sso_groups = [f"g{i:03d}" for i in range(max(10, size.people // 100))]
    for p in people:
        if p in unlinked:
            continue
        aws.principals.append(Principal("aws", f"sso:{store}:user/{p}", Kind.USER, display_name=f"User {p[1:]} (SSO)",
                                        email=email[p], attrs={"email_source": "sso"}))
        for g in rng.sample(sso_groups, 2):
            aws.edges.append(Edge(f"aws:sso:{store}:user/{p}", f"aws:sso:{store}:group/{g}", EdgeKind.MEMBER_OF,
                                  f"member of SSO group {g}"))
    for g in sso_groups:
        aws.principals.append(Principal("aws", f"sso:{store}:group/{g}", Kind.GROUP, display_name=f"SSO group {g}"))
    n_wild = max(1, n_prod // 5)
    for i, a in enumerate(accounts):
        tier = "production" if a in prod_accounts else "staging" if i < size.aws_accounts // 3 else "dev"
        akey = f"aws:account:{a}"
        aws.resources.append(Resource("aws", "account", a, name=f"acct-{a}", tier=tier, app=account_app.get(a, "")))
        arn = f"arn:aws:iam::{a}"

        def principal(kind: str, name: str, pkind: str, **extra: Any) -> str:
            p = Principal("aws", f"{arn}:{kind}/{name}", pkind, display_name=f"{kind} {name} in {a}", home=akey,
                          **extra)
            aws.principals.append(p)
            return p.key

        groups = [principal("group", f"grp{j}", Kind.GROUP) for j in range(10)]
        for j, g in enumerate(groups):
            for k in range(3):
                deploy = tier == "production" and j == 0 and k == 0
                aws.grants.append(Grant("aws", g, f"policy P{j}-{k}", akey, (DEPLOY_RUN,) if deploy else (),
                                        via=Via.POLICY, attrs={"actions": ["ecs:UpdateService"]} if deploy else {}))
        for j in range(40):  # IAM users: a quarter human (email tag), the rest machine accounts
            human = j < 10
            who = rng.choice(people)
            u = principal("user", f"{who}-{j}" if human else f"svc-{j}", Kind.USER,
                          email=email[who] if human else None, attrs={"email_source": "tag"} if human else {})
            aws.edges.append(Edge(u, rng.choice(groups), EdgeKind.MEMBER_OF, "member of IAM group"))
            for k in range(3):
                aws.grants.append(Grant("aws", u, f"policy U{k}", akey, (), via=Via.POLICY))
        for j in range(30):
            role = principal("role", f"role{j}", Kind.ROLE)
            for k in range(5):
                aws.grants.append(Grant("aws", role, f"policy R{k}", akey, (), via=Via.POLICY))
        if tier == "production":
            ps = principal("role", "aws-reserved/sso.amazonaws.com/AWSReservedSSO_Deployer_x", Kind.ROLE)
            aws.grants.append(Grant("aws", ps, "policy Deployer", akey, (DEPLOY_RUN,), via=Via.POLICY,
                                    attrs={"actions": ["ecs:UpdateService"]}))
            aws.edges.append(Edge(f"aws:sso:{store}:group/{sso_groups[i % len(sso_groups)]}", ps,
                                  EdgeKind.CAN_ASSUME, f"SSO account assignment in {a}"))
            # seeded: one deployer per prod account writes the app's code
            app = account_app[a]
            person = seeded_people[i % len(seeded_people)]
            direct = principal("role", f"aws-reserved/sso.amazonaws.com/AWSReservedSSO_AppDeploy_{app}", Kind.ROLE)
            aws.grants.append(Grant("aws", direct, f"policy AppDeploy-{app}", akey, (DEPLOY_RUN,), via=Via.POLICY,
                                    attrs={"actions": ["ecs:UpdateService"]}))
            aws.edges.append(Edge(f"aws:sso:{store}:user/{person}", direct, EdgeKind.CAN_ASSUME,
                                  f"SSO account assignment in {a}"))
            repo = next(r for r in repos if repo_app[r] == app)
            gh.grants.append(Grant("github", f"github:{person}", "write", f"github:repo:{repo}",
                                   (CODE_PUSH, CODE_APPROVE), via=Via.DIRECT))
            # FE-SOD-003 replaces FE-SOD-001 when the repository also lets them merge unreviewed
            manifest.seed_finding("FE-SOD-001|FE-SOD-003", f"{email[person]}|app:{app}")
            if i < n_wild:
                wild = principal("role", "gha-wildcard", Kind.ROLE,
                                 attrs={"oidc_wildcard": True, "oidc_subjects": [f"repo:{ORG}/*"]})
                aws.grants.append(Grant("aws", wild, "policy Deploy", akey, (DEPLOY_RUN,), via=Via.POLICY))
                pattern = f"repo:{repo}:*"
                aws.principals.append(Principal("ci", pattern, Kind.WORKLOAD_PATTERN, display_name=f"OIDC subject {pattern}",
                                                attrs={"oidc_wildcard": True}))
                aws.edges.append(Edge(f"ci:{pattern}", wild, EdgeKind.CAN_ASSUME, f"trust policy sub StringLike {pattern}"))
                manifest.seed_finding("FE-POS-004", wild)
        if variant and i % 100 == variant % 100:
            aws.grants = aws.grants[:-1]  # a removed grant for drift

    # ---------------------------------------------------------------- GCP
    projects = [f"proj-{i:04d}" for i in range(size.gcp_projects)]
    gcp.resources.append(Resource("gcp", "org", "1", name="GCP organization"))
    seen_users: set[str] = set()
    n_prod_projects = max(1, size.gcp_projects // 10)
    for i, pr in enumerate(projects):
        tier = "production" if i < n_prod_projects else "dev"
        pkey = f"gcp:project:{pr}"
        app = apps[(n_prod + i) % n_apps] if tier == "production" else ""
        gcp.resources.append(Resource("gcp", "project", pr, name=pr, tier=tier, app=app, parent="gcp:org:1"))
        for who in rng.sample(people, min(len(people), 600)):
            member = f"user:{email[who]}"
            if member not in seen_users:
                seen_users.add(member)
                gcp.principals.append(Principal("gcp", member, Kind.USER, display_name=email[who], email=email[who],
                                                attrs={"email_source": "member"}))
            roll = rng.random()
            role, caps = ("roles/viewer", ())
            if roll > 0.995 and tier == "production":
                role, caps = "roles/run.developer", (DEPLOY_RUN,)
            elif roll > 0.99:
                role = "roles/browser"
            gcp.grants.append(Grant("gcp", f"gcp:{member}", role, pkey, caps))
        if variant and i % 100 == variant % 100:
            gcp.grants.append(Grant("gcp", f"gcp:user:{email[people[variant]]}", "roles/run.admin", pkey,
                                    (DEPLOY_RUN,) if tier == "production" else ()))

    if variant:  # ~1% of GitHub grants change: drop some, add some
        drop = set(rng.sample(range(len(gh.grants)), len(gh.grants) // 200))
        gh.grants = [g for n, g in enumerate(gh.grants) if n not in drop]
        for n in range(len(drop)):
            p, r = people[n % len(people)], repos[(n * 7) % len(repos)]
            gh.grants.append(Grant("github", f"github:{p}", "maintain", f"github:repo:{r}", (CODE_PUSH, CODE_APPROVE)))

    results = [gh.result(), aws.result(), gcp.result()]
    manifest.counts = {k: sum(r.counts()[k] for r in results)
                       for k in ("principals", "resources", "grants", "edges", "gaps")}
    return results, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 people (default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "enterprise")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results, manifest = generate(args.scale, args.seed)
    from foureyes import dataset

    args.out.mkdir(parents=True, exist_ok=True)
    dataset.dump(results, args.out / "dataset.jsonl.gz")
    (args.out / "manifest.json").write_text(json.dumps(vars(manifest), indent=2))
    print(f"wrote {args.out} ({manifest.counts}) in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
