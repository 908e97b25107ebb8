"""Acme, the embedded sample organisation: its people, teams, repositories, accounts and projects,
the demo's own config, and the two stages a month apart ("before" and "after").

Each of `github.py`, `aws.py` and `gcp.py` builds one source from these facts, the way the
real connectors build theirs (docs/connectors.md). Everything is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...config import Config, default_data_dir
from ...model import SourceResult, principal_key
from ..base import SourceBuilder

ORG = "acme"
DOMAIN = "acme.com"
TAKEN_AT = {"before": "2026-10-01T08:00:00+00:00", "after": "2026-11-02T08:00:00+00:00"}
LABEL = {"before": "demo: Acme (October)", "after": "demo: Acme (November)"}

PROD, STAGING, DEV = "111111111111", "222222222222", "333333333333"
ACCOUNT_NAMES = {PROD: "acme-prod", STAGING: "acme-staging", DEV: "acme-dev"}
GCP_PROJECTS = {"acme-prod-web": "production", "acme-staging-web": "staging", "acme-dev-sandbox": "dev"}
GCP_ORG = "organizations/424242424242"

WRITE_ROLES = {"write", "maintain", "admin", "release-manager"}

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

# The one sanctioned emergency path: security assumes ops-breakglass (then ops-admin) during an
# incident, for an hour at most, with the incident in the role session name.
[[break_glass]]
name = "prod-breakglass"
description = "Administrator access to acme-prod during an incident"
aws_roles = ["arn:aws:iam::{PROD}:role/ops-breakglass"]
allowed = ["alex.adeyemi@acme.com", "olivia.okafor@acme.com"]
max_duration = "1h"
ticket = "INC-[0-9]+"
"""


# How the demo's campaigns are reviewed (`foureyes demo --config` prints it with the above): the
# apps' owners first, then the team maintainers; what neither reviews goes to the security team.
DEMO_CAMPAIGNS_TOML = """
[campaigns]
reviewers = ["app-owner", "team-maintainer"]
fallback_reviewer = "security@acme.com"

[campaigns.templates.quarterly]
name = "Quarterly production access review {period}"
recurrence = "quarterly"
scope = "production"
"""


def demo_config_text() -> str:
    """The demo's whole config as a user would write it: tiers, apps with owners, identity, campaigns."""
    return DEMO_CONFIG_TOML.lstrip("\n") + DEMO_CAMPAIGNS_TOML


def demo_config() -> Config:
    from ...config import parse_config

    return parse_config(demo_config_text(), "<demo config>")


def demo_store_url() -> str:
    return f"sqlite:///{default_data_dir() / 'demo.db'}"


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class Human:
    login: str  # GitHub login
    name: str
    email: str
    saml: bool = True  # has a SAML identity (links the GitHub login to the email)


# Engineers and managers of Acme. The comment says what each one demonstrates.
PEOPLE: tuple[Human, ...] = (
    Human("olivia-ops", "Olivia Okafor", "olivia.okafor@acme.com"),  # org owner + AWS admin: god mode
    Human("owen-it", "Owen Iverson", "owen.iverson@acme.com"),  # org owner, admin bypass on an environment
    Human("max-pay", "Max Mueller", "max.mueller@acme.com"),  # repo admin, admins not enforced, prod deployer
    Human("priscilla-p", "Priscilla Payne", "priscilla.payne@acme.com"),  # payments owner, reviewer
    Human("rita-rel", "Rita Reyes", "rita.reyes@acme.com"),  # release manager: ruleset bypass, custom role
    Human("pedro-pay", "Pedro Pinto", "pedro.pinto@acme.com"),  # payments dev, no conflict
    Human("petra-pay", "Petra Novak", "petra.novak@acme.com"),  # payments lead (reviewer)
    Human("leo-leaves", "Leo Lindqvist", "leo.lindqvist@acme.com"),  # leaves in November
    Human("wanda-web", "Wanda Webb", "wanda.webb@acme.com"),  # web lead: pushes and deploys storefront
    Human("walter-web", "Walter Wong", "walter.wong@acme.com"),  # web dev: same
    Human("nina-new", "Nina Nakamura", "nina.nakamura@acme.com"),  # joins web in November: new conflict
    Human("paul-plat", "Paul Platt", "paul.platt@acme.com"),  # platform: wildcard OIDC path
    Human("sam-sre", "Sam Sato", "sam.sato@acme.com"),  # SRE: approves own deployment
    Human("sue-sre", "Sue Sorensen", "sue.sorensen@acme.com"),  # SRE reviewer, cannot push the app
    Human("sid-sre", "Sid Shah", "sid.shah@acme.com"),  # SRE, no conflict
    Human("priya-data", "Priya Patel", "priya.patel@acme.com"),  # data: pushes analytics, deploys Cloud Run
    Human("gina-gcp", "Gina Garcia", "gina.garcia@acme.com"),  # GCP security admin + push
    Human("alex-sec", "Alex Adeyemi", "alex.adeyemi@acme.com"),  # security: role chain with a cycle
    Human("sofia-sec", "Sofia Silva", "sofia.silva@acme.com"),
    Human("bob-docs", "Bob Brown", "bob.brown@acme.com"),  # gets write on docs in November
    Human("carla-mob", "Carla Costa", "carla.costa@acme.com"),
    Human("chen-mob", "Chen Wei", "chen.wei@acme.com"),
    Human("diana-ds", "Diana Diaz", "diana.diaz@acme.com"),
    Human("ethan-ml", "Ethan Evans", "ethan.evans@acme.com"),
    Human("fatima-ml", "Fatima Farouk", "fatima.farouk@acme.com"),
    Human("george-search", "George Gray", "george.gray@acme.com"),
    Human("hana-notif", "Hana Hoshino", "hana.hoshino@acme.com"),
    Human("ivan-auth", "Ivan Ivanov", "ivan.ivanov@acme.com"),
    Human("julia-auth", "Julia Jensen", "julia.jensen@acme.com"),
    Human("kofi-qa", "Kofi Kumah", "kofi.kumah@acme.com"),
    Human("lara-qa", "Lara Lopez", "lara.lopez@acme.com"),
    Human("mia-design", "Mia Moreau", "mia.moreau@acme.com"),
    Human("noah-design", "Noah Nielsen", "noah.nielsen@acme.com"),
    Human("omar-web", "Omar Osman", "omar.osman@acme.com"),
    Human("quinn-pm", "Quinn Quigley", "quinn.quigley@acme.com"),
    Human("ravi-infra", "Ravi Rao", "ravi.rao@acme.com"),
    # GitHub accounts without a SAML identity: unlinked, or suggestions only.
    Human("jsmith-acme", "John Smith", "john.smith@acme.com", saml=False),  # AWS tag links John; GitHub does not
    Human("dkim", "Dae Kim", "dkim@acme.com", saml=False),  # login = local part: a suggestion, never a link
    Human("contractor-jq", "JQ Contracting", "", saml=False),  # outside collaborator, pushes and deploys
    Human("build-bot", "Acme Build Bot", "", saml=False),  # machine user with read access
    # A display name written to attack terminals and spreadsheets; it must render literally.
    Human("zed-hostile", "[bold red]Zed[/] =HYPERLINK(\"http://x\")", "zed.zimmer@acme.com"),
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


# GitHub team synchronisation (what GET /orgs/acme/teams/web/team-sync/group-mappings answers)
SYNCED_TEAMS: dict[str, dict[str, str]] = {
    "web": {"id": "00g1webengineering", "name": "Engineering - Web"},
}

# The HR roster: e-mail -> (department, manager e-mail, title). Everyone with an address is in
# it except the people the demo keeps outside on purpose (an orphan needs nobody to own it).
CEO = "carmen.castillo@acme.com"
ROSTER: dict[str, tuple[str, str, str]] = {
    CEO: ("Executive", "", "Chief Executive Officer"),
    "olivia.okafor@acme.com": ("Engineering", CEO, "CTO"),
    "owen.iverson@acme.com": ("IT", CEO, "Head of IT"),
    "priscilla.payne@acme.com": ("Payments", "olivia.okafor@acme.com", "Engineering Manager"),
    "max.mueller@acme.com": ("Payments", "priscilla.payne@acme.com", "Staff Engineer"),
    "petra.novak@acme.com": ("Payments", "priscilla.payne@acme.com", "Tech Lead"),
    "pedro.pinto@acme.com": ("Payments", "priscilla.payne@acme.com", "Engineer"),  # moves to Data in November
    "leo.lindqvist@acme.com": ("Payments", "priscilla.payne@acme.com", "Engineer"),  # leaves in October
    "rita.reyes@acme.com": ("Release", "olivia.okafor@acme.com", "Release Manager"),
    "wanda.webb@acme.com": ("Web", "olivia.okafor@acme.com", "Engineering Manager"),
    "walter.wong@acme.com": ("Web", "wanda.webb@acme.com", "Engineer"),
    "omar.osman@acme.com": ("Web", "wanda.webb@acme.com", "Engineer"),  # terminated in October, still in team web
    "nina.nakamura@acme.com": ("Web", "wanda.webb@acme.com", "Engineer"),  # joins in November
    "paul.platt@acme.com": ("Platform", "olivia.okafor@acme.com", "Engineering Manager"),
    "ravi.rao@acme.com": ("Platform", "paul.platt@acme.com", "Engineer"),
    "sam.sato@acme.com": ("Platform", "paul.platt@acme.com", "SRE"),
    "sue.sorensen@acme.com": ("Platform", "paul.platt@acme.com", "SRE"),
    "sid.shah@acme.com": ("Platform", "paul.platt@acme.com", "SRE"),
    "priya.patel@acme.com": ("Data", "olivia.okafor@acme.com", "Data Lead"),
    "diana.diaz@acme.com": ("Data", "priya.patel@acme.com", "Data Scientist"),
    "ethan.evans@acme.com": ("Data", "priya.patel@acme.com", "ML Engineer"),
    "fatima.farouk@acme.com": ("Data", "priya.patel@acme.com", "ML Engineer"),  # end date passed, HR not updated
    "alex.adeyemi@acme.com": ("Security", "owen.iverson@acme.com", "Security Lead"),
    "sofia.silva@acme.com": ("Security", "alex.adeyemi@acme.com", "Security Engineer"),
    "gina.garcia@acme.com": ("Security", "alex.adeyemi@acme.com", "Cloud Security Engineer"),
    "carla.costa@acme.com": ("Mobile", "olivia.okafor@acme.com", "Mobile Lead"),
    "chen.wei@acme.com": ("Mobile", "carla.costa@acme.com", "Engineer"),
    "george.gray@acme.com": ("Search", "olivia.okafor@acme.com", "Engineer"),
    "ivan.ivanov@acme.com": ("Auth", "olivia.okafor@acme.com", "Tech Lead"),
    "julia.jensen@acme.com": ("Auth", "ivan.ivanov@acme.com", "Engineer"),
    "kofi.kumah@acme.com": ("QA", "olivia.okafor@acme.com", "QA Lead"),
    "lara.lopez@acme.com": ("QA", "kofi.kumah@acme.com", "QA Engineer"),
    "hana.hoshino@acme.com": ("QA", "kofi.kumah@acme.com", "QA Engineer"),
    "quinn.quigley@acme.com": ("Product", CEO, "Head of Product"),
    "mia.moreau@acme.com": ("Product", "quinn.quigley@acme.com", "Designer"),
    "noah.nielsen@acme.com": ("Product", "quinn.quigley@acme.com", "Designer"),
    "bob.brown@acme.com": ("Product", "quinn.quigley@acme.com", "Technical Writer"),
    "zed.zimmer@acme.com": ("Product", "quinn.quigley@acme.com", "Designer"),
    "john.smith@acme.com": ("Platform", "paul.platt@acme.com", "Contractor"),
    "dkim@acme.com": ("Mobile", "carla.costa@acme.com", "Engineer"),
}
# Who left, and how the roster says it: e-mail -> (HR status, end date, Okta status).
LEAVERS: dict[str, tuple[str, str, str]] = {
    "leo.lindqvist@acme.com": ("Terminated", "2026-10-24", "DEPROVISIONED"),  # access removed: no finding
    "omar.osman@acme.com": ("Terminated", "2026-10-23", "DEPROVISIONED"),  # still in team web on GitHub
    "fatima.farouk@acme.com": ("Active", "2026-10-30", "ACTIVE"),  # end date passed; nobody told IT
}
MOVERS: dict[str, str] = {"pedro.pinto@acme.com": "Data"}  # department in November


@dataclass
class Repo:
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


def repos_at(stage: str) -> list[Repo]:
    after = stage == "after"
    repos = [
        Repo(
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
        Repo(
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
        Repo(
            "storefront-web",
            teams={"web": "write"},
            users={"contractor-jq": "write"},
            environments={
                # The classic hole: production with nobody in between.
                "production": {"reviewers": [], "prevent_self_review": False, "can_admins_bypass": True,
                               "branch_policy": "none"},
            },
        ),
        Repo(
            "storefront-api",
            teams={"web": "write", "sre": "write"},
            environments={
                "production": {"reviewers": [("team", "sre")], "prevent_self_review": False,
                               "can_admins_bypass": False, "branch_policy": "custom",
                               "branch_patterns": ["main", "release/*"]},
            },
        ),
        Repo("deploy-tools", protected=False, enforce_admins=False, approvals=0, teams={"platform": "write"}),
        Repo("infra", approvals=2, teams={"platform": "admin", "security": "read"},
              users={"rita-rel": "release-manager"}),
        Repo("analytics", protected=False, enforce_admins=False, approvals=0,
              teams={"data": "write"}, users={"gina-gcp": "write"}),
        Repo("docs", approvals=0, enforce_admins=False, teams={"product": "write"},
              users={"bob-docs": "write"} if after else {}),
        Repo("legacy-billing", teams={"payments": "read"}, hidden_bypass=True,
              ruleset={"name": "legacy", "enforcement": "active", "approvals": 1, "bypass": []}),
        Repo("mobile-app", teams={"mobile": "write"}),
        Repo("design-system", teams={"product": "write", "web": "write"}),
        Repo("auth-service", approvals=2, teams={"auth": "write"}),
        Repo("notifications", teams={"qa": "write"}),
        Repo("search", teams={"search": "write"}),
        Repo("recommendations", teams={"data": "write"}),
        Repo("data-pipeline", teams={"data": "write"}),
        Repo("ml-models", teams={"data": "write"},
              ruleset={"name": "signed commits (trial)", "enforcement": "evaluate", "approvals": 2, "bypass": []}),
        Repo("website", teams={"product": "write"}),
        Repo("handbook", protected=False, enforce_admins=False, approvals=0, teams={"engineering": "write"}),
        Repo("terraform-modules", teams={"platform": "maintain"}),
        Repo("ci-templates", teams={"platform": "write", "sre": "maintain"}),
        Repo("load-tests", teams={"qa": "write"}),
        Repo("chaos-tools", teams={"sre": "write"}),
        Repo("status-page", teams={"sre": "write"}, users={"jsmith-acme": "write", "dkim": "write"}),
        Repo("sandbox", protected=False, enforce_admins=False, approvals=0, archived=True,
              teams={"engineering": "write"}),
    ]
    return repos


def finish(b: SourceBuilder, name: str, stage: str, period: Any = None) -> SourceResult:
    """One demo source, stamped with the stage's time, with the activity period when the stage
    carries activity (activity.py). The demo reads nothing, so it sent no requests, read no
    pages and took no time (`snapshot --stats` says so)."""
    return b.result(name, name, started_at=TAKEN_AT[stage], finished_at=TAKEN_AT[stage],
                    stats={"requests": 0, "retries": 0, "pages": 0, "rate_limit_points": None, "elapsed_s": 0.0,
                           "demo": True}, period=period)


def github_user(login: str) -> str:
    return principal_key("github", login)


def github_team(slug: str) -> str:
    return principal_key("github", f"team/{ORG}/{slug}")
