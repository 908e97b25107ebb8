"""Typed, strictly validated configuration read from TOML.

Every section is a frozen dataclass, and the dataclasses are the file's schema
(foureyes/schema.py): a typo or a wrong type is one clear line naming the file, the line
and the key, with a "did you mean" (exit code 2).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import os
import re
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, Mapping

import platformdirs

from .activity import ActivityPeriod, parse_since, period_from
from .errors import ConfigError
from .schema import Schema, Str, from_dataclass

APP_NAME = "foureyes"
CONFIG_ENV = "FOUREYES_CONFIG"
STORE_ENV = "FOUREYES_STORE_URL"
DEFAULT_TIER = "unclassified"


# ---------------------------------------------------------------- sections


@dataclass(frozen=True)
class StoreConfig:
    url: str = ""  # empty: SQLite in the platformdirs data directory


@dataclass(frozen=True)
class TierConfig:
    """What counts as one tier. A resource takes the first tier (in file order) it matches."""

    github_repos: list[str] = field(default_factory=list)
    github_environments: list[str] = field(default_factory=list)
    aws_accounts: list[str] = field(default_factory=list)
    aws_account_tags: dict[str, str] = field(default_factory=dict)
    aws_ous: list[str] = field(default_factory=list)
    gcp_projects: list[str] = field(default_factory=list)
    gcp_labels: dict[str, str] = field(default_factory=dict)
    gcp_folders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AppConfig:
    """Ties code to where it runs, for same-app rules and reviewer assignment."""

    name: str
    owner: str = ""
    repos: list[str] = field(default_factory=list)
    github_environments: list[str] = field(default_factory=list)
    aws_accounts: list[str] = field(default_factory=list)
    gcp_projects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PersonConfig:
    name: str = ""
    github: list[str] = field(default_factory=list)
    aws: list[str] = field(default_factory=list)
    gcp: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IdentityConfig:
    email_domains: list[str] = field(default_factory=list)
    domain_aliases: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    people: dict[str, PersonConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class GitHubSource:
    org: str
    token_env: str = "GITHUB_TOKEN"
    app_id: int | None = None
    private_key_path: str = ""
    installation_id: int | None = None
    base_url: str = "https://api.github.com"
    include: list[str] = field(default_factory=lambda: ["*"])
    exclude: list[str] = field(default_factory=list)
    include_archived: bool = False
    concurrency: int = 16
    per_page: int = 100
    max_rate_limit_wait: float = 900.0
    timeout: float = 30.0
    production_environments: list[str] = field(default_factory=list)
    max_retries: int = 8  # PyGithub/urllib3 retries per request (5xx, secondary rate limits, resets)
    backoff_factor: float = 0.5  # seconds; doubles on each retry without Retry-After
    secondary_rate_wait: float = 60.0  # wait after a secondary rate limit that names no Retry-After
    team_sync: bool = False  # read which IdP group feeds each team (team sync, external groups): a request per team


@dataclass(frozen=True)
class AwsSource:
    region: str = "us-east-1"
    regions: list[str] = field(default_factory=list)
    profile: str = ""
    endpoint_url: str = ""
    organization: bool = False
    assume_role_name: str = "OrganizationAccountAccessRole"
    accounts: list[str] = field(default_factory=list)
    deploy_buckets: list[str] = field(default_factory=list)
    max_attempts: int = 5  # botocore's retries per call after the first try (throttling, 5xx, resets, timeouts)
    retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    timeout: float = 60.0  # seconds one request may take to connect (at most 10) and to answer
    access_advisor_wait: float = 120.0  # seconds to wait for IAM Access Advisor reports (snapshot --activity)


@dataclass(frozen=True)
class GcpSource:
    organization: str = ""
    projects: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    api_endpoint: str = ""
    iam_admin_endpoint: str = ""
    logging_endpoint: str = ""  # optional gRPC host:port for Cloud Logging (audit logs, snapshot --activity)
    anonymous: bool = False
    credentials_file: str = ""
    timeout: float = 60.0  # seconds one request may take
    retry_deadline: float = 120.0  # seconds one call keeps retrying transient errors and rate limits, then a Gap
    concurrency: int = 8
    cloud_identity: bool = False  # expand groups through the Cloud Identity API
    groups: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class OktaSource:
    """Okta: people (status, manager, department), groups, and app assignments. Read only."""

    org_url: str  # https://acme.okta.com
    token_env: str = "OKTA_API_TOKEN"  # an API token (SSWS) of a read-only admin; or client_id + key below
    client_id: str = ""  # OAuth 2.0 service app (private key JWT) instead of a token
    private_key_path: str = ""
    scopes: list[str] = field(default_factory=lambda: ["okta.users.read", "okta.groups.read", "okta.apps.read"])
    ca_file: str = ""  # a CA bundle to trust (a TLS-inspecting proxy); empty: the system's
    page_size: int = 200
    max_retries: int = 4  # the SDK's retries after a 429 (it waits until X-Rate-Limit-Reset)
    timeout: float = 60.0  # seconds one request may take, retries included
    apps: bool = True  # read app assignments (GitHub, AWS, Google Cloud apps)


@dataclass(frozen=True)
class EntraSource:
    """Microsoft Entra ID through Microsoft Graph: people, managers, transitive groups. Read only."""

    tenant_id: str = ""  # empty: AZURE_TENANT_ID (azure-identity's environment credential)
    api_endpoint: str = "https://graph.microsoft.com/v1.0"
    anonymous: bool = False  # true only for local test endpoints: no token at all
    timeout: float = 60.0
    max_retries: int = 5  # Graph SDK retries on 429/503/504, honouring Retry-After
    page_size: int = 999


@dataclass(frozen=True)
class GoogleWorkspaceSource:
    """Google Workspace through the Admin SDK Directory API: people, managers, OUs, groups. Read only."""

    customer: str = "my_customer"
    domain: str = ""  # one domain only; empty: every domain of the customer
    credentials_file: str = ""  # service account key; empty: application default credentials
    subject: str = ""  # the admin a service account acts as (domain-wide delegation)
    api_endpoint: str = ""  # root URL (tests); empty: https://admin.googleapis.com/
    anonymous: bool = False  # true only for local test endpoints
    timeout: float = 60.0
    num_retries: int = 5  # google-api-python-client's retries on 429/5xx (exponential backoff)
    page_size: int = 500


@dataclass(frozen=True)
class RosterStatuses:
    """How the HR export spells each status (compared case-insensitively)."""

    active: list[str] = field(default_factory=lambda: ["active", "employed", "current"])
    suspended: list[str] = field(default_factory=lambda: ["suspended", "on hold"])
    terminated: list[str] = field(default_factory=lambda: ["terminated", "inactive", "leaver", "left", "former"])


@dataclass(frozen=True)
class RosterColumns:
    """The export's column (CSV) or key (JSON) for each field foureyes reads."""

    email: str = "email"
    name: str = "name"
    status: str = "status"
    manager: str = "manager_email"
    department: str = "department"
    title: str = "title"
    employee_number: str = "employee_id"
    start: str = "start_date"
    end: str = "end_date"


@dataclass(frozen=True)
class RosterSource:
    """An HR roster file (CSV or JSON, as an HR system exports it): who works here."""

    path: str
    format: Literal["auto", "csv", "json"] = "auto"
    columns: RosterColumns = field(default_factory=RosterColumns)
    statuses: RosterStatuses = field(default_factory=RosterStatuses)


@dataclass(frozen=True)
class DemoSource:
    dataset: str = ""  # a demo-connector JSON file; empty: the embedded Acme organisation
    stage: Literal["before", "after"] = "after"
    # bounds on a dataset file, so a hostile one (a gzip bomb, one endless line) ends in one clear error
    max_dataset_bytes: int = 4 * 2**30  # decompressed
    max_line_bytes: int = 16 * 2**20
    max_nesting: int = 64  # arrays and objects inside one another in a line


@dataclass(frozen=True)
class SourcesConfig:
    github: GitHubSource | None = None
    aws: AwsSource | None = None
    gcp: GcpSource | None = None
    okta: OktaSource | None = None
    entra: EntraSource | None = None
    google_workspace: GoogleWorkspaceSource | None = None
    roster: RosterSource | None = None
    demo: DemoSource | None = None

    def configured(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]


@dataclass(frozen=True)
class RulesConfig:
    paths: list[str] = field(default_factory=list)  # extra rule files or directories
    disable: list[str] = field(default_factory=list)  # rule ids to switch off
    exceptions: list[str] = field(default_factory=list)  # exception (waiver) files
    default_pack: bool = True


ReviewerRule = Literal["app-owner", "team-maintainer", "manager", "fixed"]
CampaignScope = Literal["production", "conflicts", "drift", "leavers", "movers", "unused", "emergency", "all"]


@dataclass(frozen=True)
class CampaignTemplate:
    """A recurring recertification campaign: `campaign new --from-template NAME` (e.g. from cron)."""

    name: str = "Access review {period}"  # {period} and {date} are filled in
    recurrence: Literal["monthly", "quarterly", "yearly", "none"] = "quarterly"
    scope: CampaignScope = "production"
    unused_days: int = 0  # scope "unused": days without use; 0: [campaigns] unused_days
    systems: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    reviewers: list[ReviewerRule] = field(default_factory=lambda: ["app-owner", "team-maintainer"])
    fixed_reviewers: list[str] = field(default_factory=list)
    fallback_reviewer: str = ""  # empty: [campaigns] fallback_reviewer
    due_days: int = 14
    close_policy: Literal["revoke", "skip", ""] = ""  # empty: [campaigns] close_policy


@dataclass(frozen=True)
class CampaignsConfig:
    """Defaults for recertification campaigns, and their recurring templates."""

    fallback_reviewer: str = ""  # reviews what no rule assigns (and may decide any item but their own)
    reviewers: list[ReviewerRule] = field(default_factory=lambda: ["app-owner", "team-maintainer"])
    due_days: int = 14
    close_policy: Literal["revoke", "skip"] = "revoke"  # what pending items become on `close --force`
    exception_max_days: int = 365
    exception_approvers: list[str] = field(default_factory=list)  # empty: anyone but requester and subject
    unused_days: int = 90  # a grant with no use seen for this many days is "unused": scope and revoke suggestion
    templates: dict[str, CampaignTemplate] = field(default_factory=dict)


@dataclass(frozen=True)
class GitHubIssuesTarget:
    """Where `export tickets --format github` files revocation issues."""

    repo: str = ""  # "owner/name"
    labels: list[str] = field(default_factory=lambda: ["access-review"])  # the first finds them again on a re-run
    token_env: str = ""  # empty: [sources.github] token_env, else GITHUB_TOKEN
    base_url: str = ""  # empty: [sources.github] base_url, else https://api.github.com
    timeout: float = 30.0
    max_retries: int = 5
    seconds_between_writes: float = 1.0  # GitHub asks for a pause between content-creating requests


@dataclass(frozen=True)
class ExportConfig:
    """Revocation tickets and evidence reports."""

    due_days: int = 14  # a revocation ticket is due this many days after the decision
    labels: list[str] = field(default_factory=lambda: ["access-review"])  # csv, json, markdown, jira-csv
    jira_issue_type: str = "Task"
    github: GitHubIssuesTarget = field(default_factory=GitHubIssuesTarget)


def _since_problem(text: str) -> str | None:
    if parse_since(text) is None:
        return f"{text!r} is not a period: write a number of days or weeks, such as \"90d\" or \"12w\""
    return None


@dataclass(frozen=True)
class ActivityConfig:
    """The review period `snapshot --activity` reads: ``since`` back from now, or ``start``/``end`` dates."""

    since: str = field(default="90d", metadata={"shape": Str(expected="a period such as \"90d\" or \"12w\"",
                                                             check=_since_problem)})
    start: date | None = None  # a TOML date: 2026-07-01; wins over since
    end: date | None = None  # a TOML date, inclusive; default: now

    def period(self, *, since: str = "", now: datetime | None = None) -> ActivityPeriod:
        """The period to read (``since`` from the command line wins over the file's dates);
        ValueError when it is empty or not a period."""
        if since:
            return period_from(since=since, now=now)
        return period_from(since=self.since, start=self.start, end=self.end, now=now)


_DURATION = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?$")


def parse_duration(text: str) -> timedelta | None:
    """``"30m"``, ``"1h"``, ``"1h30m"`` or ``"2d"`` as a timedelta; None when the text is none of these."""
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return timedelta(days=days, hours=hours, minutes=minutes) or None


def _duration_problem(text: str) -> str | None:
    if parse_duration(text) is None:
        return f"{text!r} is not a duration: write minutes, hours or days, such as \"30m\", \"1h\" or \"1h30m\""
    return None


def _regex_problem(text: str) -> str | None:
    try:
        re.compile(text)
    except re.error as exc:
        return f"{text!r} is not a regular expression: {exc}"
    return None


_DURATION_SHAPE = Str(expected="a duration such as \"30m\", \"1h\" or \"1h30m\"", check=_duration_problem)


@dataclass(frozen=True)
class GcpBindingPath:
    """A GCP role binding with a condition that is an emergency path: its role and the condition's
    title or expression (globs), on the projects, folders or organisation it is bound on (globs; empty: any)."""

    role: str
    condition: str = "*"  # glob on the condition's title or expression; a binding without a condition never matches
    resources: list[str] = field(default_factory=list)  # project ids, folder or organisation names (globs)

    def matches(self, role: str, title: str, expression: str, where: typing.Iterable[str]) -> bool:
        """Is a conditional binding of ``role`` (its condition's title and expression), bound on or
        inherited by the resources ``where`` (ids and names), this path?"""
        if not expression or not fnmatch.fnmatchcase(role, self.role):
            return False
        if not (fnmatch.fnmatchcase(title, self.condition) or fnmatch.fnmatchcase(expression, self.condition)):
            return False
        return not self.resources or any(fnmatch.fnmatchcase(w, p) for w in where if w for p in self.resources)


@dataclass(frozen=True)
class BreakGlassConfig:
    """A declared emergency path (`[[break_glass]]`): what it is, who may use it, for how long, and
    the ticket each use must name. docs/emergency.md."""

    name: str
    aws_roles: list[str] = field(default_factory=list)  # role ARNs or names (globs)
    aws_permission_sets: list[str] = field(default_factory=list)  # Identity Center permission set names (globs)
    gcp_bindings: list[GcpBindingPath] = field(default_factory=list)
    github_teams: list[str] = field(default_factory=list)  # "acme/incident" or a slug: its members' bypasses
    github_rulesets: list[str] = field(default_factory=list)  # rulesets whose bypass list is the path (names, globs)
    allowed: list[str] = field(default_factory=list)  # people (emails) or accounts who may use it; empty: anyone who can
    max_duration: str = field(default="1h", metadata={"shape": _DURATION_SHAPE})
    ticket: str = field(default="", metadata={"shape": Str(expected="a regular expression", check=_regex_problem)})
    description: str = ""

    @property
    def max_time(self) -> timedelta:
        return parse_duration(self.max_duration) or timedelta(hours=1)

    @property
    def ticket_pattern(self) -> "re.Pattern[str] | None":
        return re.compile(self.ticket) if self.ticket else None

    @property
    def empty(self) -> bool:
        return not (self.aws_roles or self.aws_permission_sets or self.gcp_bindings or self.github_teams
                    or self.github_rulesets)


@dataclass(frozen=True)
class JustInTimeConfig:
    """Access granted for a while by an access-request system, which the audited system does not
    mark: its Identity Center permission sets and GitHub teams, and how long a grant may last."""

    aws_permission_sets: list[str] = field(default_factory=list)  # names (globs) whose assignments are time-bound
    github_teams: list[str] = field(default_factory=list)  # "acme/prod-access" or a slug: memberships are time-bound
    max_duration: str = field(default="8h", metadata={"shape": _DURATION_SHAPE})

    @property
    def max_time(self) -> timedelta:
        return parse_duration(self.max_duration) or timedelta(hours=8)

    @property
    def configured(self) -> bool:
        return bool(self.aws_permission_sets or self.github_teams)


@dataclass(frozen=True)
class Config:
    store: StoreConfig = field(default_factory=StoreConfig)
    tiers: dict[str, TierConfig] = field(default_factory=dict)
    apps: list[AppConfig] = field(default_factory=list)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    break_glass: list[BreakGlassConfig] = field(default_factory=list)
    just_in_time: JustInTimeConfig = field(default_factory=JustInTimeConfig)
    path: str = field(default="", metadata={"internal": True})

    # -- tiers and apps -------------------------------------------------------

    def tier_for(self, *, system: str, kind: str, id: str, tags: Mapping[str, str] | None = None,
                 ou_path: str = "", folders: typing.Sequence[str] = ()) -> str:
        """The first configured tier a resource matches, else `DEFAULT_TIER`."""
        tags = tags or {}
        for name, tier in self.tiers.items():
            if _tier_matches(tier, system=system, kind=kind, id=id, tags=tags,
                             ou_path=ou_path, folders=folders):
                return name
        return DEFAULT_TIER

    def app_for(self, *, system: str, kind: str, id: str) -> str:
        """The configured app a repo, environment, account or project belongs to."""
        for app in self.apps:
            patterns: list[str] = []
            target = id
            if system == "github" and kind == "repo":
                patterns = app.repos
            elif system == "github" and kind == "environment":
                # environment ids are "owner/repo/name": the app owns the repo's environments
                repo = id.rsplit("/", 1)[0]
                if any(fnmatch.fnmatchcase(repo, p) for p in app.repos):
                    if not app.github_environments:
                        return app.name
                    patterns, target = app.github_environments, id.rsplit("/", 1)[-1]
            elif system == "aws" and kind == "account":
                patterns = app.aws_accounts
            elif system == "gcp" and kind == "project":
                patterns = app.gcp_projects
            if any(fnmatch.fnmatchcase(target, p) for p in patterns):
                return app.name
        return ""

    def app(self, name: str) -> AppConfig | None:
        return next((a for a in self.apps if a.name == name), None)

    def activity_period(self, *, since: str = "", now: datetime | None = None) -> ActivityPeriod:
        """The review period of `[activity]` (or ``since`` given on the command line)."""
        try:
            return self.activity.period(since=since, now=now)
        except ValueError as exc:
            if since:
                raise ConfigError("--since", str(exc)) from None
            raise ConfigError(self.path or "<config>", str(exc), key="activity") from None


def _tier_matches(tier: TierConfig, *, system: str, kind: str, id: str, tags: Mapping[str, str],
                  ou_path: str, folders: typing.Sequence[str]) -> bool:
    def globs(patterns: list[str], value: str) -> bool:
        return any(fnmatch.fnmatchcase(value, p) for p in patterns)

    def has_tags(wanted: dict[str, str]) -> bool:
        lowered = {k.lower(): v for k, v in tags.items()}
        return bool(wanted) and all(
            fnmatch.fnmatchcase(lowered.get(k.lower(), "\x00"), v) for k, v in wanted.items()
        )

    if system == "github" and kind == "repo":
        return globs(tier.github_repos, id)
    if system == "github" and kind == "environment":
        return globs(tier.github_environments, id.rsplit("/", 1)[-1]) or globs(
            tier.github_environments, id
        )
    if system == "aws" and kind == "account":
        return globs(tier.aws_accounts, id) or has_tags(tier.aws_account_tags) or (
            bool(ou_path) and globs(tier.aws_ous, ou_path)
        )
    if system == "gcp" and kind == "project":
        return (
            globs(tier.gcp_projects, id)
            or has_tags(tier.gcp_labels)
            or any(globs(tier.gcp_folders, f) for f in folders)
        )
    return False


# ---------------------------------------------------------------- discovery


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "foureyes.toml"


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def find_config(explicit: str | None) -> Path | None:
    """`-c`, else $FOUREYES_CONFIG, else ./foureyes.toml, else the user config dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    for candidate in (Path("foureyes.toml"), default_config_path()):
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | None = None) -> Config:
    """Find and load the config; no file at all gives the defaults (demo still works)."""
    path = find_config(explicit)
    if path is None:
        return Config()
    return load_config_file(path)


def load_config_file(path: Path | str) -> Config:
    checked = config_schema().load(Path(path))
    return _validated(dataclasses.replace(checked.value, path=checked.path))


def parse_config(text: str, path: str = "<config>") -> Config:
    return _validated(dataclasses.replace(config_schema().parse(text, path).value, path=path))


def _validated(config: Config) -> Config:
    """What the file's shape cannot say: each `[[break_glass]]` has its own name and names a path."""
    seen: set[str] = set()
    for n, path in enumerate(config.break_glass):
        if not path.name.strip():
            raise ConfigError(config.path or "<config>", "needs a name", key=f"break_glass.{n}.name")
        if path.name in seen:
            raise ConfigError(config.path or "<config>", f"{path.name!r} is declared twice",
                              key=f"break_glass.{n}.name")
        seen.add(path.name)
        if path.empty:
            raise ConfigError(config.path or "<config>", "names no path: set aws_roles, aws_permission_sets, "
                              "gcp_bindings, github_teams or github_rulesets", key=f"break_glass.{n}")
    return config


@functools.cache
def config_schema() -> Schema:
    """The config file's shape: the dataclasses above, their type hints and defaults."""
    return Schema(from_dataclass(Config), error=ConfigError,
                  missing="file not found; pass -c PATH or create it from config.example.toml")
