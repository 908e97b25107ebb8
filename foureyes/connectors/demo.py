"""The embedded sample organisation "Acme", and the demo connector that serves it.

Acme is built the way the real connectors build their results (docs/connectors.md), so
every screen and rule has something true to show. It comes in two stages, "before" and
"after", a month apart, so drift has something to show. Everything is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..config import Config, DemoSource, default_data_dir
from ..model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    ANY_BRANCH,
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
    principal_key,
)
from .base import Progress, ProgressEvent, SourceBuilder, no_progress

ORG = "acme"
DOMAIN = "acme.com"
TAKEN_AT = {"before": "2026-10-01T08:00:00+00:00", "after": "2026-11-02T08:00:00+00:00"}
LABEL = {"before": "demo: Acme (October)", "after": "demo: Acme (November)"}

PROD, STAGING, DEV = "111111111111", "222222222222", "333333333333"
ACCOUNT_NAMES = {PROD: "acme-prod", STAGING: "acme-staging", DEV: "acme-dev"}
GCP_PROJECTS = {"acme-prod-web": "production", "acme-staging-web": "staging", "acme-dev-sandbox": "dev"}
GCP_ORG = "organizations/424242424242"

WRITE_ROLES = {"write", "maintain", "admin", "release-manager"}
ROLE_RANK = {"read": 0, "triage": 1, "write": 2, "release-manager": 2, "maintain": 3, "admin": 4}

# The demo's own config: tiers and apps, as a user would write them (also in README).
DEMO_CONFIG_TOML = f"""
[tiers.production]
github_repos = ["acme/payments-api", "acme/payments-worker", "acme/storefront-web",
                "acme/storefront-api", "acme/deploy-tools", "acme/infra"]
github_environments = ["production", "prod*"]
aws_accounts = ["{PROD}"]
gcp_projects = ["acme-prod-*"]

[tiers.staging]
github_environments = ["staging"]
aws_accounts = ["{STAGING}"]
gcp_projects = ["acme-staging-*"]

[tiers.dev]
aws_accounts = ["{DEV}"]
gcp_projects = ["acme-dev-*"]

[[apps]]
name = "payments"
owner = "priscilla.payne@acme.com"
repos = ["acme/payments-api", "acme/payments-worker"]
aws_accounts = ["{PROD}"]

[[apps]]
name = "storefront"
owner = "wanda.webb@acme.com"
repos = ["acme/storefront-web", "acme/storefront-api"]
gcp_projects = ["acme-prod-web", "acme-staging-web"]

[[apps]]
name = "platform"
owner = "paul.platt@acme.com"
repos = ["acme/deploy-tools", "acme/infra", "acme/terraform-modules"]

[identity]
email_domains = ["acme.com"]
domain_aliases = {{ "acme.io" = "acme.com" }}
"""


def demo_config() -> Config:
    from ..config import parse_config

    return parse_config(DEMO_CONFIG_TOML, "<demo config>")


def demo_store_url() -> str:
    return f"sqlite:///{default_data_dir() / 'demo.db'}"


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class _Human:
    login: str  # GitHub login
    name: str
    email: str
    saml: bool = True  # has a SAML identity (links the GitHub login to the email)


# Engineers and managers of Acme. The comment says what each one demonstrates.
PEOPLE: tuple[_Human, ...] = (
    _Human("olivia-ops", "Olivia Okafor", "olivia.okafor@acme.com"),  # org owner + AWS admin: god mode
    _Human("owen-it", "Owen Iverson", "owen.iverson@acme.com"),  # org owner, admin bypass on an environment
    _Human("max-pay", "Max Mueller", "max.mueller@acme.com"),  # repo admin, admins not enforced, prod deployer
    _Human("priscilla-p", "Priscilla Payne", "priscilla.payne@acme.com"),  # payments owner, reviewer
    _Human("rita-rel", "Rita Reyes", "rita.reyes@acme.com"),  # release manager: ruleset bypass, custom role
    _Human("pedro-pay", "Pedro Pinto", "pedro.pinto@acme.com"),  # payments dev, no conflict
    _Human("petra-pay", "Petra Novak", "petra.novak@acme.com"),  # payments lead (reviewer)
    _Human("leo-leaves", "Leo Lindqvist", "leo.lindqvist@acme.com"),  # leaves in November
    _Human("wanda-web", "Wanda Webb", "wanda.webb@acme.com"),  # web lead: pushes and deploys storefront
    _Human("walter-web", "Walter Wong", "walter.wong@acme.com"),  # web dev: same
    _Human("nina-new", "Nina Nakamura", "nina.nakamura@acme.com"),  # joins web in November: new conflict
    _Human("paul-plat", "Paul Platt", "paul.platt@acme.com"),  # platform: wildcard OIDC path
    _Human("sam-sre", "Sam Sato", "sam.sato@acme.com"),  # SRE: approves own deployment
    _Human("sue-sre", "Sue Sorensen", "sue.sorensen@acme.com"),  # SRE reviewer, cannot push the app
    _Human("sid-sre", "Sid Shah", "sid.shah@acme.com"),  # SRE, no conflict
    _Human("priya-data", "Priya Patel", "priya.patel@acme.com"),  # data: pushes analytics, deploys Cloud Run
    _Human("gina-gcp", "Gina Garcia", "gina.garcia@acme.com"),  # GCP security admin + push
    _Human("alex-sec", "Alex Adeyemi", "alex.adeyemi@acme.com"),  # security: role chain with a cycle
    _Human("sofia-sec", "Sofia Silva", "sofia.silva@acme.com"),
    _Human("bob-docs", "Bob Brown", "bob.brown@acme.com"),  # gets write on docs in November
    _Human("carla-mob", "Carla Costa", "carla.costa@acme.com"),
    _Human("chen-mob", "Chen Wei", "chen.wei@acme.com"),
    _Human("diana-ds", "Diana Diaz", "diana.diaz@acme.com"),
    _Human("ethan-ml", "Ethan Evans", "ethan.evans@acme.com"),
    _Human("fatima-ml", "Fatima Farouk", "fatima.farouk@acme.com"),
    _Human("george-search", "George Gray", "george.gray@acme.com"),
    _Human("hana-notif", "Hana Hoshino", "hana.hoshino@acme.com"),
    _Human("ivan-auth", "Ivan Ivanov", "ivan.ivanov@acme.com"),
    _Human("julia-auth", "Julia Jensen", "julia.jensen@acme.com"),
    _Human("kofi-qa", "Kofi Kumah", "kofi.kumah@acme.com"),
    _Human("lara-qa", "Lara Lopez", "lara.lopez@acme.com"),
    _Human("mia-design", "Mia Moreau", "mia.moreau@acme.com"),
    _Human("noah-design", "Noah Nielsen", "noah.nielsen@acme.com"),
    _Human("omar-web", "Omar Osman", "omar.osman@acme.com"),
    _Human("quinn-pm", "Quinn Quigley", "quinn.quigley@acme.com"),
    _Human("ravi-infra", "Ravi Rao", "ravi.rao@acme.com"),
    # GitHub accounts without a SAML identity: unlinked, or suggestions only.
    _Human("jsmith-acme", "John Smith", "john.smith@acme.com", saml=False),  # AWS tag links John; GitHub does not
    _Human("dkim", "Dae Kim", "dkim@acme.com", saml=False),  # login = local part: a suggestion, never a link
    _Human("contractor-jq", "JQ Contracting", "", saml=False),  # outside collaborator, pushes and deploys
    _Human("build-bot", "Acme Build Bot", "", saml=False),  # machine user with read access
    # A display name written to attack terminals and spreadsheets; it must render literally.
    _Human("zed-hostile", "[bold red]Zed[/] =HYPERLINK(\"http://x\")", "zed.zimmer@acme.com"),
)

OWNERS = ("olivia-ops", "owen-it")
OUTSIDE_COLLABORATORS = ("contractor-jq",)

# team slug -> (parent, members, maintainers)
TEAMS: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {
    "engineering": (None, (), ("olivia-ops",)),
    "payments": ("engineering", ("max-pay", "pedro-pay", "leo-leaves"), ("priscilla-p",)),
    "payments-leads": ("payments", ("petra-pay",), ("priscilla-p",)),
    "release-managers": (None, ("rita-rel",), ()),
    "web": ("engineering", ("walter-web", "omar-web"), ("wanda-web",)),
    "platform": ("engineering", ("ravi-infra",), ("paul-plat",)),
    "sre": ("platform", ("sam-sre", "sue-sre", "sid-sre"), ()),
    "data": ("engineering", ("priya-data", "diana-ds", "ethan-ml", "fatima-ml"), ()),
    "mobile": ("engineering", ("carla-mob", "chen-mob"), ()),
    "product": (None, ("quinn-pm", "mia-design", "noah-design"), ()),
    "security": (None, ("alex-sec", "sofia-sec", "gina-gcp"), ()),
    "search": ("engineering", ("george-search",), ()),
    "auth": ("engineering", ("ivan-auth", "julia-auth"), ()),
    "qa": ("engineering", ("kofi-qa", "lara-qa", "hana-notif"), ()),
}


@dataclass
class _Repo:
    name: str
    protected: bool = True
    enforce_admins: bool = True
    approvals: int = 1
    last_push_approval: bool = True
    code_owners: bool = False
    ruleset: dict[str, Any] | None = None  # {"name", "enforcement", "approvals", "bypass": [(kind, who, mode)]}
    teams: dict[str, str] = field(default_factory=dict)  # team -> role
    users: dict[str, str] = field(default_factory=dict)  # login -> role (direct collaborators)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    hidden_bypass: bool = False  # the token cannot see the ruleset bypass list: a Gap
    archived: bool = False


def _repos(stage: str) -> list[_Repo]:
    after = stage == "after"
    repos = [
        _Repo(
            "payments-api",
            enforce_admins=False,  # admins can merge without approval
            approvals=1,
            teams={"payments": "write", "payments-leads": "maintain"},
            users={"max-pay": "admin"},
            environments={
                "production": {"reviewers": [("team", "payments-leads")], "prevent_self_review": True,
                               "can_admins_bypass": False, "branch_policy": "protected"},
                "staging": {"reviewers": [], "prevent_self_review": False, "can_admins_bypass": True,
                            "branch_policy": "none"},
            },
        ),
        _Repo(
            "payments-worker",
            protected=False,
            ruleset={"name": "main protection", "enforcement": "active", "approvals": 2,
                     "bypass": [("Team", "release-managers", "pull_request")]},
            teams={"payments": "write", "release-managers": "write"},
            users={} if after else {"leo-leaves": "write"},
            environments={
                "production": {"reviewers": [("team", "payments-leads")], "prevent_self_review": True,
                               "can_admins_bypass": True, "branch_policy": "protected"},
            },
        ),
        _Repo(
            "storefront-web",
            teams={"web": "write"},
            users={"contractor-jq": "write"},
            environments={
                # The classic hole: production with nobody in between.
                "production": {"reviewers": [], "prevent_self_review": False, "can_admins_bypass": True,
                               "branch_policy": "none"},
            },
        ),
        _Repo(
            "storefront-api",
            teams={"web": "write", "sre": "write"},
            environments={
                "production": {"reviewers": [("team", "sre")], "prevent_self_review": False,
                               "can_admins_bypass": False, "branch_policy": "custom",
                               "branch_patterns": ["main", "release/*"]},
            },
        ),
        _Repo("deploy-tools", protected=False, enforce_admins=False, approvals=0, teams={"platform": "write"}),
        _Repo("infra", approvals=2, teams={"platform": "admin", "security": "read"},
              users={"rita-rel": "release-manager"}),
        _Repo("analytics", protected=False, enforce_admins=False, approvals=0,
              teams={"data": "write"}, users={"gina-gcp": "write"}),
        _Repo("docs", approvals=0, enforce_admins=False, teams={"product": "write"},
              users={"bob-docs": "write"} if after else {}),
        _Repo("legacy-billing", teams={"payments": "read"}, hidden_bypass=True,
              ruleset={"name": "legacy", "enforcement": "active", "approvals": 1, "bypass": []}),
        _Repo("mobile-app", teams={"mobile": "write"}),
        _Repo("design-system", teams={"product": "write", "web": "write"}),
        _Repo("auth-service", approvals=2, teams={"auth": "write"}),
        _Repo("notifications", teams={"qa": "write"}),
        _Repo("search", teams={"search": "write"}),
        _Repo("recommendations", teams={"data": "write"}),
        _Repo("data-pipeline", teams={"data": "write"}),
        _Repo("ml-models", teams={"data": "write"},
              ruleset={"name": "signed commits (trial)", "enforcement": "evaluate", "approvals": 2, "bypass": []}),
        _Repo("website", teams={"product": "write"}),
        _Repo("handbook", protected=False, enforce_admins=False, approvals=0, teams={"engineering": "write"}),
        _Repo("terraform-modules", teams={"platform": "maintain"}),
        _Repo("ci-templates", teams={"platform": "write", "sre": "maintain"}),
        _Repo("load-tests", teams={"qa": "write"}),
        _Repo("chaos-tools", teams={"sre": "write"}),
        _Repo("status-page", teams={"sre": "write"}, users={"jsmith-acme": "write", "dkim": "write"}),
        _Repo("sandbox", protected=False, enforce_admins=False, approvals=0, archived=True,
              teams={"engineering": "write"}),
    ]
    return repos


# ---------------------------------------------------------------- the builder


def _finish(b: SourceBuilder, name: str, stage: str) -> SourceResult:
    """One demo source, stamped with the stage's time (the demo reads nothing, so no requests)."""
    return b.result(name, name, started_at=TAKEN_AT[stage], finished_at=TAKEN_AT[stage],
                    stats={"requests": 0, "demo": True})


def _gh(login: str) -> str:
    return principal_key("github", login)


def _team(slug: str) -> str:
    return principal_key("github", f"team/{ORG}/{slug}")


def _github(stage: str, config: Config) -> SourceResult:
    after = stage == "after"
    b = SourceBuilder()
    people = {h.login: h for h in PEOPLE}
    teams = {slug: (parent, list(members), list(maint)) for slug, (parent, members, maint) in TEAMS.items()}
    if after:
        teams["web"][1].append("nina-new")
        for slug in teams:
            if "leo-leaves" in teams[slug][1]:
                teams[slug][1].remove("leo-leaves")
    present = set(people)
    if not after:
        present.discard("nina-new")
    else:
        present.discard("leo-leaves")

    org_key = b.resource(Resource("github", "org", ORG, name=f"GitHub org {ORG}",
                                  tier=config.tier_for(system="github", kind="org", id=ORG),
                                  attrs={"base_permission": "read", "saml": True}))
    for login in sorted(present):
        h = people[login]
        attrs: dict[str, Any] = {
            "org_role": "owner" if login in OWNERS else "outside" if login in OUTSIDE_COLLABORATORS else "member"
        }
        if h.saml and h.email:
            attrs["email_source"] = "saml"
        b.principal(Principal("github", login, Kind.USER, display_name=h.name,
                              email=h.email if h.saml and h.email else None, attrs=attrs))
        if login in OWNERS:
            b.grant(Grant("github", _gh(login), "owner", org_key, (ACCESS_ADMIN,), via=Via.OWNER,
                          detail=f"owner of the {ORG} organisation"))

    members_key = b.principal(Principal("github", f"org/{ORG}/members", Kind.GROUP,
                                        display_name=f"all members of {ORG}"))
    for login in sorted(present - set(OUTSIDE_COLLABORATORS)):
        b.edge(Edge(_gh(login), members_key, EdgeKind.MEMBER_OF, f"member of the {ORG} organisation"))

    for slug, (parent, members, maintainers) in teams.items():
        b.principal(Principal("github", f"team/{ORG}/{slug}", Kind.TEAM, display_name=f"team {slug}",
                              attrs={"slug": slug, "parent": parent or ""}))
        for login in members:
            if login in present:
                b.edge(Edge(_gh(login), _team(slug), EdgeKind.MEMBER_OF, f"member of team {slug}"))
        for login in maintainers:
            if login in present:
                b.edge(Edge(_gh(login), _team(slug), EdgeKind.MEMBER_OF, f"maintainer of team {slug}"))
        if parent:
            b.edge(Edge(_team(slug), _team(parent), EdgeKind.MEMBER_OF, f"child team of {parent}"))

    # who reaches which team (for reviewer and admin reasoning below)
    def team_members(slug: str) -> set[str]:
        found = set(m for m in teams[slug][1] + teams[slug][2] if m in present)
        for child, (parent, _, _) in teams.items():
            if parent == slug:
                found |= team_members(child)
        return found

    def ancestors(slug: str) -> list[str]:
        chain, parent = [], teams[slug][0]
        while parent:
            chain.append(parent)
            parent = teams[parent][0]
        return chain

    for repo in _repos(stage):
        full = f"{ORG}/{repo.name}"
        if repo.archived:
            continue  # archived repositories are skipped by default, as the connector does
        protected_branches = ["main"] if (repo.protected or (repo.ruleset and repo.ruleset["enforcement"] == "active")) else []
        ruleset_active = bool(repo.ruleset and repo.ruleset["enforcement"] == "active")
        approvals = max(repo.approvals if repo.protected else 0,
                        repo.ruleset["approvals"] if ruleset_active and repo.ruleset else 0)
        enforce_admins = repo.enforce_admins if repo.protected else ruleset_active
        repo_key = b.resource(Resource(
            "github", "repo", full, name=full,
            tier=config.tier_for(system="github", kind="repo", id=full),
            app=config.app_for(system="github", kind="repo", id=full),
            parent=org_key,
            attrs={
                "default_branch": "main",
                "protected": repo.protected or ruleset_active,
                "enforce_admins": enforce_admins,
                "required_approvals": approvals,
                "protected_branches": protected_branches,
                "require_last_push_approval": repo.last_push_approval if repo.protected else False,
                "rulesets": [repo.ruleset["name"]] if repo.ruleset else [],
                "visibility": "private",
            },
        ))
        # effective write/admin holders, to reason about bypass and environments
        holders: dict[str, tuple[str, str, str]] = {}  # principal key -> (role, via, detail)

        def hold(key: str, role: str, via: str, detail: str) -> None:
            caps: tuple[str, ...] = ()
            if role in WRITE_ROLES:
                caps = (CODE_PUSH, CODE_APPROVE)
            if role == "admin":
                caps = (CODE_PUSH, CODE_APPROVE, ACCESS_ADMIN)
            b.grant(Grant("github", key, role, repo_key, caps, via=via, detail=detail))
            holders[key] = (role, via, detail)

        # org base permission: read for every member
        hold(members_key, "read", Via.BASE, f"base permission of the {ORG} organisation")
        for login in OWNERS:
            hold(_gh(login), "admin", Via.OWNER, f"owner of the {ORG} organisation")
        for slug, role in repo.teams.items():
            parent_note = f" (inherited by child teams)" if any(t[0] == slug for t in teams.values()) else ""
            hold(_team(slug), role, Via.TEAM, f"team {slug} has {role}{parent_note}")
        for login, role in repo.users.items():
            if login not in present:
                continue
            detail = "custom role release-manager (based on write, may bypass branch protections)" \
                if role == "release-manager" else f"direct collaborator with {role}"
            hold(_gh(login), role, Via.DIRECT, detail)

        # -- who can land code on main without an independent review (reference §1.5)
        def unreviewed(key: str, reason: str, *, latent: bool = False, via: str = Via.BYPASS) -> None:
            b.grant(Grant("github", key, "merge unreviewed" if not latent else "latent bypass", repo_key,
                          (CODE_MERGE_UNREVIEWED,), via=via, detail=reason,
                          attrs={"latent": latent}))

        for key, (role, via, detail) in sorted(holders.items()):
            if role not in WRITE_ROLES:
                continue
            if not (repo.protected or ruleset_active) or approvals == 0:
                unreviewed(key, f"main of {full} requires no approving review", via=via)
            elif role == "admin" and not enforce_admins:
                unreviewed(key, f"admins are not enforced on main of {full}: admins may merge without approval", via=via)
            elif role == "release-manager":
                unreviewed(key, "custom role release-manager may bypass branch protections", via=via)
            elif role == "admin":
                unreviewed(key, f"repository admin can edit or switch off the protection of main of {full}",
                           latent=True, via=via)
        if ruleset_active and repo.ruleset:
            for kind, who, mode in repo.ruleset["bypass"]:
                key = _team(who) if kind == "Team" else _gh(who)
                unreviewed(key, f"ruleset '{repo.ruleset['name']}' bypass, mode {mode}")
        if repo.hidden_bypass:
            b.gap(Gap("github", repo_key,
                              f"403 on GET /repos/{full}/rulesets/7: bypass list not visible with this token",
                              hides="ruleset bypass actors who may merge without review"))

        # -- environments and CI contexts (reference §1.6, §2.4)
        pushers = {k for k, (role, _, _) in holders.items() if role in WRITE_ROLES}
        admins = {k for k, (role, _, _) in holders.items() if role == "admin"}
        any_branch = ci_subject(full, ref=ANY_BRANCH)
        ci_key = b.principal(Principal("ci", any_branch, Kind.WORKLOAD,
                                       display_name=f"workflow on a new branch of {full}",
                                       attrs={"repo": full, "protected": protected_branches}))
        for key in sorted(pushers):
            b.edge(Edge(key, ci_key, EdgeKind.CAN_TRIGGER,
                        f"can push a branch of {full} and run a workflow on it"))
        for env_name, env in repo.environments.items():
            env_id = f"{full}/{env_name}"
            env_key = b.resource(Resource(
                "github", "environment", env_id, name=f"environment {env_name} of {full}",
                tier=config.tier_for(system="github", kind="environment", id=env_id),
                app=config.app_for(system="github", kind="environment", id=env_id),
                parent=repo_key,
                attrs={
                    "reviewers": len(env["reviewers"]),
                    "reviewer_names": [f"{k} {w}" for k, w in env["reviewers"]],
                    "prevent_self_review": env["prevent_self_review"],
                    "can_admins_bypass": env["can_admins_bypass"],
                    "branch_policy": env["branch_policy"],
                    "branch_patterns": env.get("branch_patterns", []),
                },
            ))
            context = ci_subject(full, environment=env_name)
            ctx_key = b.principal(Principal("ci", context, Kind.WORKLOAD,
                                            display_name=f"job in environment {env_name} of {full}",
                                            attrs={"repo": full, "environment": env_name}))
            b.grant(Grant("ci", ctx_key, f"deploy through environment {env_name}", env_key, (DEPLOY_RUN,),
                          via=Via.CI, detail=f"jobs in {env_name} receive its secrets and deploy"))
            reviewer_people: set[str] = set()
            for kind, who in env["reviewers"]:
                key = _team(who) if kind == "team" else _gh(who)
                b.grant(Grant("github", key, "required reviewer", env_key, (DEPLOY_APPROVE,),
                              via=Via.REVIEWER,
                              detail=f"required reviewer of {env_name}"
                                     + ("" if env["prevent_self_review"] else "; self-review allowed"),
                              attrs={"self_review_allowed": not env["prevent_self_review"]}))
                reviewer_people |= team_members(who) if kind == "team" else {who}
            # Who can run a job in this environment with nobody else in between?
            if not env["reviewers"]:
                for key in sorted(pushers):
                    b.edge(Edge(key, ctx_key, EdgeKind.CAN_TRIGGER,
                                f"can push {full} and environment {env_name} has no required reviewer"))
            else:
                if not env["prevent_self_review"]:
                    for login in sorted(reviewer_people):
                        if _can_push(_gh(login), pushers, teams, ancestors, present):
                            b.edge(Edge(_gh(login), ctx_key, EdgeKind.CAN_TRIGGER,
                                        f"required reviewer of {env_name} who may approve their own run"))
                if env["can_admins_bypass"]:
                    for key in sorted(admins):
                        b.edge(Edge(key, ctx_key, EdgeKind.CAN_TRIGGER,
                                    f"admin of {full} may bypass the protection rules of {env_name}"))
    return _finish(b, "github", stage)


def _can_push(key: str, pushers: set[str], teams: dict, ancestors: Any, present: set[str]) -> bool:
    if key in pushers:
        return True
    login = key.split(":", 1)[1]
    for slug, (_, members, maintainers) in teams.items():
        if login in members or login in maintainers:
            if _team(slug) in pushers or any(_team(a) in pushers for a in ancestors(slug)):
                return True
    return False


# ---------------------------------------------------------------- AWS


def _arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def _aws(stage: str, config: Config) -> SourceResult:
    after = stage == "after"
    b = SourceBuilder()
    accounts = {}
    for account, name in ACCOUNT_NAMES.items():
        accounts[account] = b.resource(Resource(
            "aws", "account", account, name=f"{name} ({account})",
            tier=config.tier_for(system="aws", kind="account", id=account),
            app=config.app_for(system="aws", kind="account", id=account),
            attrs={"name": name, "ou_path": "/r-acme/ou-workloads"},
        ))

    def user(account: str, name: str, email: str | None = None, display: str = "", **attrs: Any) -> str:
        p = Principal("aws", _arn(account, "user", name), Kind.USER,
                      display_name=display or f"IAM user {name} in {ACCOUNT_NAMES[account]}",
                      email=email, home=accounts[account],
                      attrs={**({"email_source": "tag"} if email else {}), **attrs})
        return b.principal(p)

    def group(account: str, name: str) -> str:
        return b.principal(Principal("aws", _arn(account, "group", name), Kind.GROUP,
                                     display_name=f"IAM group {name} in {ACCOUNT_NAMES[account]}", home=accounts[account]))

    def role(account: str, name: str, **attrs: Any) -> str:
        return b.principal(Principal("aws", _arn(account, "role", name), Kind.ROLE,
                                     display_name=f"role {name} in {ACCOUNT_NAMES[account]}", home=accounts[account],
                                     attrs=attrs))

    def policy(holder: str, account: str, name: str, caps: tuple[str, ...], actions: list[str], detail: str,
               last_used: str | None = None) -> None:
        b.grant(Grant("aws", holder, f"policy {name}", accounts[account], caps, via=Via.POLICY, detail=detail,
                      last_used=last_used, attrs={"actions": actions}))

    deploy_actions = ["ecs:UpdateService", "ecs:RegisterTaskDefinition", "iam:PassRole"]
    # -- acme-prod: a deployers group with a long-lived CI user nobody owns
    deployers = group(PROD, "deployers")
    policy(deployers, PROD, "DeployECS", (DEPLOY_RUN,), deploy_actions,
           "inline policy DeployECS of group deployers allows ecs:UpdateService")
    ci_legacy = user(PROD, "ci-legacy", access_keys=[{"id": "AKIA…LEGACY", "last_used": "2026-09-30"}])
    b.edge(Edge(ci_legacy, deployers, EdgeKind.MEMBER_OF, "member of IAM group deployers"))
    if not after:
        leo = user(PROD, "leo", "leo.lindqvist@acme.com")
        policy(leo, PROD, "ReadOnlyAccess", (), ["*:Describe*"], "AWS managed policy ReadOnlyAccess attached to user leo")

    # -- OIDC roles for GitHub Actions
    gha_payments = role(PROD, "gha-deploy-payments", oidc_subjects=["repo:acme/payments-api:environment:production"],
                        oidc_wildcard=False)
    policy(gha_payments, PROD, "DeployECS", (DEPLOY_RUN,), deploy_actions,
           "policy DeployECS attached to role gha-deploy-payments allows ecs:UpdateService")
    pattern = "repo:acme/payments-api:environment:production"
    pat_key = b.principal(Principal("ci", pattern, Kind.WORKLOAD_PATTERN,
                                    display_name=f"OIDC subject {pattern}",
                                    attrs={"oidc_subjects": [pattern], "oidc_wildcard": False}))
    b.edge(Edge(pat_key, gha_payments, EdgeKind.CAN_ASSUME,
                "trust policy: token.actions.githubusercontent.com:sub StringEquals " + pattern))

    legacy = role(PROD, "gha-legacy-deploy", oidc_subjects=["repo:acme/deploy-tools:*"], oidc_wildcard=True)
    policy(legacy, PROD, "AWSCodeDeployDeployerAccess", (DEPLOY_RUN,), ["codedeploy:CreateDeployment"],
           "AWS managed policy AWSCodeDeployDeployerAccess attached to role gha-legacy-deploy")
    wildcard = "repo:acme/deploy-tools:*"
    wild_key = b.principal(Principal("ci", wildcard, Kind.WORKLOAD_PATTERN,
                                     display_name=f"OIDC subject {wildcard}",
                                     attrs={"oidc_subjects": [wildcard], "oidc_wildcard": True}))
    b.edge(Edge(wild_key, legacy, EdgeKind.CAN_ASSUME,
                "trust policy: token.actions.githubusercontent.com:sub StringLike " + wildcard
                + " (any branch, pull request or environment)"))

    # -- IAM Identity Center: permission sets provisioned as AWSReservedSSO_* roles
    store = "d-9067c1a2b3"

    instance = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"

    def sso_user(name: str, email: str, display: str) -> str:
        return b.principal(Principal("aws", f"sso:{store}:user/{name}", Kind.USER, display_name=f"{display} (SSO)",
                                     email=email, attrs={"email_source": "sso", "user_name": email,
                                                         "user_id": f"9067c1a2b3-{name.replace('.', '-')}"}))

    def sso_group(name: str) -> str:
        return b.principal(Principal("aws", f"sso:{store}:group/{name}", Kind.GROUP,
                                     display_name=f"SSO group {name}", attrs={"group_id": f"9067c1a2b3-g-{name}"}))

    sso_people = {
        "olivia.okafor": ("olivia.okafor@acme.com", "Olivia Okafor"),
        "max.mueller": ("max.mueller@acme.com", "Max Mueller"),
        "sam.sato": ("sam.sato@acme.com", "Sam Sato"),
        "ravi.rao": ("ravi.rao@acme.com", "Ravi Rao"),
        "pedro.pinto": ("pedro.pinto@acme.com", "Pedro Pinto"),
        "wanda.webb": ("wanda.webb@acme.com", "Wanda Webb"),
        "alex.adeyemi": ("alex.adeyemi@acme.com", "Alex Adeyemi"),
    }
    sso = {n: sso_user(n, e, d) for n, (e, d) in sso_people.items()}
    groups = {g: sso_group(g) for g in ("aws-admins", "payments-oncall", "engineering")}
    for person, grp in [("olivia.okafor", "aws-admins"), ("max.mueller", "payments-oncall"),
                        ("pedro.pinto", "engineering"), ("ravi.rao", "engineering"),
                        ("wanda.webb", "engineering"), ("sam.sato", "engineering"),
                        ("max.mueller", "engineering")]:
        b.edge(Edge(sso[person], groups[grp], EdgeKind.MEMBER_OF, f"member of SSO group {grp}",
                    attrs={"identity_store_id": store, "group_id": f"9067c1a2b3-g-{grp}",
                           "user_id": f"9067c1a2b3-{person.replace('.', '-')}"}))

    def permission_set(account: str, name: str, caps: tuple[str, ...], actions: list[str], detail: str) -> str:
        r = role(account, f"aws-reserved/sso.amazonaws.com/AWSReservedSSO_{name}_a1b2c3d4", permission_set=name)
        policy(r, account, name, caps, actions, detail)
        return r

    admin_ps = permission_set(PROD, "AdministratorAccess", (DEPLOY_RUN, ACCESS_ADMIN), ["*"],
                              "permission set AdministratorAccess (AWS managed policy AdministratorAccess)")
    deployer_ps = permission_set(PROD, "ProdDeployer", (DEPLOY_RUN,), deploy_actions,
                                 "permission set ProdDeployer (inline policy: ECS deploy)")
    readonly_ps = permission_set(PROD, "ReadOnly", (), ["*:Describe*", "*:List*"],
                                 "permission set ReadOnly (AWS managed policy ReadOnlyAccess)")
    staging_ps = permission_set(STAGING, "StagingDeployer", (DEPLOY_RUN,), deploy_actions,
                                "permission set StagingDeployer")
    for grp, ps, account in [("aws-admins", admin_ps, PROD), ("payments-oncall", deployer_ps, PROD),
                             ("engineering", readonly_ps, PROD), ("engineering", staging_ps, STAGING)]:
        ps_name = ps.split("AWSReservedSSO_")[1].rsplit("_", 1)[0]
        b.edge(Edge(groups[grp], ps, EdgeKind.CAN_ASSUME,
                    f"SSO account assignment in {ACCOUNT_NAMES[account]}",
                    attrs={"sso_assignment": True, "instance_arn": instance,
                           "permission_set_arn": f"{instance.replace(':instance/', ':permissionSet/')}/ps-{ps_name.lower()}",
                           "account_id": account, "principal_type": "GROUP",
                           "principal_id": f"9067c1a2b3-g-{grp}"}))

    # -- a break-glass role chain with a cycle, reached from a staging IAM user
    alex = user(STAGING, "alex", "Alex.Adeyemi@acme.com")
    breakglass = role(PROD, "ops-breakglass")
    ops_admin = role(PROD, "ops-admin")
    b.edge(Edge(alex, breakglass, EdgeKind.CAN_ASSUME, "trust policy names arn:aws:iam::222222222222:user/alex (MFA required)",
                condition="aws:MultiFactorAuthPresent = true (unknown at snapshot time)"))
    b.edge(Edge(breakglass, ops_admin, EdgeKind.CAN_ASSUME, "trust policy names role ops-breakglass"))
    b.edge(Edge(ops_admin, breakglass, EdgeKind.CAN_ASSUME, "trust policy names role ops-admin"))
    policy(ops_admin, PROD, "AdministratorAccess", (DEPLOY_RUN, ACCESS_ADMIN), ["*"],
           "AWS managed policy AdministratorAccess attached to role ops-admin")

    # -- John Smith's IAM user carries an email tag; his GitHub account has no SAML identity
    john = user(DEV, "jsmith", "john.smith@acme.com", display="John Smith")
    policy(john, DEV, "PowerUserAccess", (DEPLOY_RUN,), ["*"], "AWS managed policy PowerUserAccess")
    if after:
        policy(staging_ps, STAGING, "AmazonECS_FullAccess", (DEPLOY_RUN,), ["ecs:*"],
               "AWS managed policy AmazonECS_FullAccess added to permission set StagingDeployer")
    return _finish(b, "aws", stage)


# ---------------------------------------------------------------- GCP


def _gcp(stage: str, config: Config) -> SourceResult:
    after = stage == "after"
    b = SourceBuilder()
    org = b.resource(Resource("gcp", "org", GCP_ORG.split("/")[1], name=f"GCP organization {DOMAIN}"))
    prod_folder = b.resource(Resource("gcp", "folder", "1001", name="folder production", parent=org))
    nonprod_folder = b.resource(Resource("gcp", "folder", "1002", name="folder non-production", parent=org))
    projects = {}
    for project, _tier in GCP_PROJECTS.items():
        projects[project] = b.resource(Resource(
            "gcp", "project", project, name=project,
            tier=config.tier_for(system="gcp", kind="project", id=project),
            app=config.app_for(system="gcp", kind="project", id=project),
            parent=prod_folder if project.startswith("acme-prod") else nonprod_folder,
            attrs={"labels": {"env": _tier}},
        ))

    def member(kind: str, ident: str, display: str = "") -> str:
        pkind = {"user": Kind.USER, "group": Kind.GROUP, "serviceAccount": Kind.SERVICE_ACCOUNT}[kind]
        email = ident if kind == "user" else None
        attrs = {"email_source": "member"} if email else {}
        home = ""
        if kind == "serviceAccount":
            home = projects.get(ident.split("@")[1].split(".")[0], "")
        return b.principal(Principal("gcp", f"{kind}:{ident}", pkind, display_name=display or ident,
                                     email=email, home=home, attrs=attrs))

    def bind(holder: str, role: str, resource: str, caps: tuple[str, ...], perms: list[str], *,
             via: str = Via.DIRECT, detail: str = "", condition: str = "", expires: str | None = None) -> None:
        b.grant(Grant("gcp", holder, role, resource, caps, via=via, detail=detail or f"binding of {role}",
                      condition=condition, expires=expires, attrs={"actions": perms}))

    gina = member("user", "gina.garcia@acme.com", "Gina Garcia")
    bind(gina, "roles/iam.securityAdmin", projects["acme-prod-web"], (ACCESS_ADMIN,),
         ["resourcemanager.projects.setIamPolicy"], via=Via.INHERITED,
         detail=f"roles/iam.securityAdmin bound on {GCP_ORG}, inherited by acme-prod-web")
    viewers = member("group", "gcp-viewers@acme.com", "group gcp-viewers@acme.com")
    for project in projects.values():
        bind(viewers, "roles/viewer", project, (), [], via=Via.INHERITED,
             detail=f"roles/viewer bound on {GCP_ORG}, inherited")
    for email in ("sofia.silva@acme.com", "alex.adeyemi@acme.com"):
        b.edge(Edge(member("user", email), viewers, EdgeKind.MEMBER_OF, "member of group gcp-viewers@acme.com"))

    # Cloud Run deployer service account, impersonated through workload identity from CI
    sa = b.principal(Principal(
        "gcp", "serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com", Kind.SERVICE_ACCOUNT,
        display_name="service account web-deployer", home=projects["acme-prod-web"],
        attrs={"oidc_subjects": ["repo:acme/storefront-web:*"], "oidc_wildcard": True},
    ))
    bind(sa, "roles/run.admin", projects["acme-prod-web"], (DEPLOY_RUN,), ["run.services.update"],
         detail="roles/run.admin on acme-prod-web; actAs on the runtime service account")
    wif = "repo:acme/storefront-web:*"
    wif_key = b.principal(Principal(
        "ci", wif, Kind.WORKLOAD_PATTERN, display_name="workload identity principalSet attribute.repository/acme/storefront-web",
        attrs={"oidc_subjects": [wif], "oidc_wildcard": True,
               "member": "principalSet://iam.googleapis.com/projects/9999/locations/global/workloadIdentityPools/github/attribute.repository/acme/storefront-web"},
    ))
    b.edge(Edge(wif_key, sa, EdgeKind.CAN_ASSUME,
                "roles/iam.workloadIdentityUser on web-deployer for principalSet attribute.repository/acme/storefront-web"))

    priya = member("user", "priya.patel@acme.com", "Priya Patel")
    bind(priya, "roles/run.developer", projects["acme-prod-web"], (DEPLOY_RUN,), ["run.services.update"],
         detail="roles/run.developer on acme-prod-web, with roles/iam.serviceAccountUser on the runtime service account")
    oncall = member("group", "web-oncall@acme.com", "group web-oncall@acme.com")
    bind(oncall, "roles/run.developer", projects["acme-prod-web"], (), ["run.services.update"],
         detail="roles/run.developer without actAs on the runtime service account: cannot deploy")
    b.edge(Edge(member("user", "omar.osman@acme.io", "Omar Osman"), oncall, EdgeKind.MEMBER_OF,
                "member of group web-oncall@acme.com"))
    sam = member("user", "sam.sato@acme.com", "Sam Sato")
    bind(sam, "roles/run.admin", projects["acme-staging-web"], (DEPLOY_RUN,), ["run.services.update"],
         condition='resource.name.startsWith("projects/acme-staging-web/locations/europe-west1")',
         detail="conditional binding: europe-west1 services only")
    dkim = member("user", "dkim@acme.com", "Dae-jung Kim")
    bind(dkim, "roles/viewer", projects["acme-dev-sandbox"], (), [], detail="binding of roles/viewer")
    temp = member("user", "temp.consultant@gmail.com", "temp.consultant@gmail.com")
    bind(temp, "roles/editor", projects["acme-dev-sandbox"], (DEPLOY_RUN,), ["*"],
         expires="2027-01-31T00:00:00Z", condition='request.time < timestamp("2027-01-31T00:00:00Z")',
         detail="time-bound binding")
    if after:
        bind(priya, "roles/viewer", projects["acme-staging-web"], (), [], detail="binding of roles/viewer")
    return _finish(b, "gcp", stage)


# ---------------------------------------------------------------- public API


def build(stage: str = "after", config: Config | None = None) -> list[SourceResult]:
    """The Acme organisation at one stage ("before" or "after") as source results."""
    if stage not in TAKEN_AT:
        raise ValueError(f"unknown demo stage {stage!r}")
    cfg = config or demo_config()
    return [_github(stage, cfg), _aws(stage, cfg), _gcp(stage, cfg)]


def load_into(store: Any) -> Iterator[tuple[Any, bool]]:
    """Store both stages (idempotent by content digest); yields (info, created)."""
    from ..model import snapshot_digest

    for stage in ("before", "after"):
        results = build(stage)
        existing = store.find_by_digest(snapshot_digest(results), LABEL[stage])
        if existing is not None:
            yield existing, False
            continue
        yield store.write_snapshot(results, taken_at=TAKEN_AT[stage], label=LABEL[stage]), True


class DemoConnector:
    """`[sources.demo]`: serves Acme (or a demo-connector dataset file) as a source."""

    name = "demo"

    def __init__(self, section: DemoSource, *, config: Config):
        self.section = section
        self.config = config

    def collect(self, progress: Progress = no_progress) -> list[SourceResult]:
        progress(ProgressEvent("demo", "building the sample organisation"))
        if self.section.dataset:
            from ..dataset import load

            path = Path(self.section.dataset)
            if not path.is_absolute() and self.config.path and not self.config.path.startswith("<"):
                path = Path(self.config.path).parent / path
            return load(path)
        return build(self.section.stage)
