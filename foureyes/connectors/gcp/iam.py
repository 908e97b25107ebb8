"""GCP IAM semantics without I/O: members, conditions, deny rules, workload identity, catalogue.

Pure functions from API payloads (already turned into plain values) to the facts the GCP
connector needs; unit-tested on their own and used by `foureyes.connectors.gcp`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources as importlib_resources
from typing import Iterable, Mapping

from ...schema import Bool, Checked, Choice, Field, ListOf, MapOf, Schema, Str, Table

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
OWNER_ROLE = "roles/owner"
ACT_AS = "iam.serviceAccounts.actAs"

# ---------------------------------------------------------------- catalogue (TOML data)


@dataclass(frozen=True)
class DeployPlatform:
    """Permissions that put code into production on one platform."""

    name: str
    permissions: tuple[str, ...]  # allow-side names; `*` globs allowed
    needs_act_as: bool  # the platform also requires actAs on the runtime service account

    def matching(self, granted: Iterable[str]) -> list[str]:
        """The granted permissions this platform counts, in catalogue order."""
        granted = granted if isinstance(granted, (set, frozenset)) else set(granted)
        found: list[str] = []
        for want in self.permissions:
            hits = sorted(p for p in granted if fnmatch.fnmatchcase(p, want)) if "*" in want else (
                [want] if want in granted else [])
            found += [p for p in hits if p not in found]
        return found


@dataclass(frozen=True)
class Catalogue:
    """foureyes/rules/catalogues/gcp_deploy.toml, validated."""

    deploy: tuple[DeployPlatform, ...]
    admin_roles: frozenset[str]
    set_iam_policy: Mapping[str, str]  # resource kind (org, folder, project) -> permission
    token: frozenset[str]  # impersonation: act with the service account's own credentials
    act_as: frozenset[str]  # attach the service account to a workload
    grant_self: frozenset[str]  # change the service account's policy, then impersonate it
    act_as_vehicles: tuple[str, ...]  # permissions that start a workload, which actAs then runs as the account
    deny_services: Mapping[str, str]  # deny-side service FQDN -> allow-side prefix, where they differ

    @property
    def impersonation(self) -> frozenset[str]:
        return self.token | self.act_as | self.grant_self

    def interesting(self, granted: Iterable[str]) -> list[str]:
        """The permissions of ``granted`` a reviewer needs to see: admin, deploy (catalogue order), SA use.

        A path shows the first few, so the most telling come first.
        """
        granted = granted if isinstance(granted, (set, frozenset)) else set(granted)
        out = [p for p in self.set_iam_policy.values() if p in granted]
        for platform in self.deploy:
            out += [p for p in platform.matching(granted) if p not in out]
        out += sorted(p for p in granted & self.impersonation if p not in out)
        return out


_KINDS = ("org", "folder", "project")


def admin_permissions(bound_kind: str, target_kind: str, catalogue: Catalogue) -> set[str]:
    """setIamPolicy permissions that make a binding on ``bound_kind`` admin over a ``target_kind``.

    Whoever can set the policy of any level between the binding and the target can grant
    itself anything there, and it is inherited down to the target.
    """
    low, high = _KINDS.index(bound_kind), _KINDS.index(target_kind)
    return {catalogue.set_iam_policy[k] for k in _KINDS[low : high + 1] if k in catalogue.set_iam_policy}


CATALOGUE_FILE = "gcp_deploy.toml"


_PERMISSIONS = ListOf(Str(nonempty=True, expected="a permission name"))
CATALOGUE = Schema(Table({
    "deploy": Field(ListOf(Table({
        "platform": Field(Str(nonempty=True), required=True),
        "permissions": Field(_PERMISSIONS, required=True),
        "needs_act_as": Field(Bool(), default=False),
    }))),
    "admin": Field(Table({
        "roles": Field(_PERMISSIONS),
        "set_iam_policy": Field(MapOf(Str(nonempty=True), keys=Choice(_KINDS, noun="resource kind"))),
    })),
    "service_accounts": Field(Table({name: Field(_PERMISSIONS)
                                     for name in ("token", "act_as", "grant_self", "act_as_vehicles")})),
    "deny": Field(Table({"services": Field(MapOf(Str(nonempty=True)))})),
}))


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    source = importlib_resources.files("foureyes.rules") / "catalogues" / CATALOGUE_FILE
    return _catalogue(CATALOGUE.load(source, f"foureyes/rules/catalogues/{CATALOGUE_FILE}"))


def parse_catalogue(text: str, path: str) -> Catalogue:
    return _catalogue(CATALOGUE.parse(text, path))


def _catalogue(checked: Checked) -> Catalogue:
    raw = checked.value
    if not raw["deploy"]:
        checked.fail(("deploy",), "no [[deploy]] platforms; the catalogue needs at least one")
    admin, sa = raw["admin"], raw["service_accounts"]
    return Catalogue(
        deploy=tuple(DeployPlatform(p["platform"], tuple(p["permissions"]), p["needs_act_as"]) for p in raw["deploy"]),
        admin_roles=frozenset(admin["roles"]),
        set_iam_policy=dict(admin["set_iam_policy"]),
        token=frozenset(sa["token"]),
        act_as=frozenset(sa["act_as"]),
        grant_self=frozenset(sa["grant_self"]),
        act_as_vehicles=tuple(sa["act_as_vehicles"]),
        deny_services=dict(raw["deny"]["services"]),
    )


# ---------------------------------------------------------------- members


@dataclass(frozen=True)
class Member:
    """One member string of an allow policy, parsed."""

    raw: str
    kind: str  # user | group | serviceAccount | domain | public | wif | workforce | deleted | unknown
    value: str = ""  # email, domain, or the principal URI
    # workload identity: projects/N/locations/global/workloadIdentityPools/POOL
    pool: str = ""
    selector: str = ""  # subject | attribute | group | all
    attribute: str = ""  # attribute name for selector "attribute" (without "attribute.")
    selected: str = ""  # the subject, attribute value or group

    @property
    def principal_id(self) -> str:
        """The id part of the foureyes principal key (``user:a@x.com``)."""
        if self.kind in ("user", "group", "serviceAccount", "domain"):
            return f"{self.kind}:{self.value}"
        return self.raw


_WIF = re.compile(
    r"^(?P<scheme>principal|principalSet)://iam\.googleapis\.com/"
    r"(?P<pool>projects/[^/]+/locations/[^/]+/workloadIdentityPools/[^/]+)/(?P<rest>.+)$"
)


def parse_member(raw: str) -> Member:
    if raw.startswith("deleted:"):
        return Member(raw, "deleted", raw)
    if raw in ("allUsers", "allAuthenticatedUsers"):
        return Member(raw, "public", raw)
    kind, sep, value = raw.partition(":")
    if sep and kind in ("user", "group", "serviceAccount", "domain") and value:
        return Member(raw, kind, value)
    m = _WIF.match(raw)
    if m:
        rest = m.group("rest")
        if m.group("scheme") == "principal" and rest.startswith("subject/"):
            return Member(raw, "wif", raw, m.group("pool"), "subject", selected=rest[len("subject/"):])
        if m.group("scheme") == "principalSet":
            if rest == "*":
                return Member(raw, "wif", raw, m.group("pool"), "all")
            if rest.startswith("group/"):
                return Member(raw, "wif", raw, m.group("pool"), "group", selected=rest[len("group/"):])
            if rest.startswith("attribute."):
                name, _, value = rest[len("attribute."):].partition("/")
                if value:
                    return Member(raw, "wif", raw, m.group("pool"), "attribute", attribute=name, selected=value)
    if "/workforcePools/" in raw:
        return Member(raw, "workforce", raw)
    return Member(raw, "unknown", raw)


def deny_forms(member: Member) -> set[str]:
    """The deny-policy principal identifiers that name this allow-policy member."""
    if member.kind == "user":
        return {f"principal://goog/subject/{member.value}"}
    if member.kind == "group":
        return {f"principalSet://goog/group/{member.value}"}
    if member.kind == "serviceAccount":
        return {f"principal://iam.googleapis.com/projects/-/serviceAccounts/{member.value}"}
    if member.kind == "wif":
        return {member.raw, f"principalSet://iam.googleapis.com/{member.pool}/*"}
    return {member.raw}


def service_account_project(email: str) -> str:
    """The project id in a user-managed service account's email, or ""."""
    local, _, domain = email.partition("@")
    if domain.endswith(".iam.gserviceaccount.com"):
        return domain[: -len(".iam.gserviceaccount.com")]
    return ""


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Condition:
    """What foureyes understands of a binding's CEL condition."""

    expression: str
    title: str = ""
    expires: datetime | None = None  # request.time < X
    not_before: datetime | None = None  # request.time > X
    other: tuple[str, ...] = ()  # clauses that are not a time bound (kept, and they still count)

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and self.expires <= now

    def conditional(self, now: datetime) -> bool:
        """True when the grant holds only under circumstances beyond time (or not yet)."""
        return bool(self.other) or (self.not_before is not None and self.not_before > now)


_TIME_CLAUSE = re.compile(
    r"""^request\.time\s*(?P<op><=|>=|<|>)\s*timestamp\(\s*(?P<q>["'])(?P<ts>[^"']+)(?P=q)\s*\)$"""
)


def parse_condition(expression: str, title: str = "") -> Condition:
    """Reads time bounds from a CEL condition joined by ``&&``; the rest is kept as text."""
    text = expression.strip()
    if not text:
        return Condition("", title)
    clauses = _split_and(text)
    if clauses is None:  # an `||` (or unbalanced text): no clause can be read on its own
        return Condition(text, title, other=(text,))
    expires = not_before = None
    other = []
    for clause in clauses:
        m = _TIME_CLAUSE.match(_strip_parens(clause))
        when = _timestamp(m.group("ts")) if m else None
        if m is None or when is None:
            other.append(clause)
        elif m.group("op") in ("<", "<="):
            expires = when if expires is None else min(expires, when)
        else:
            not_before = when if not_before is None else max(not_before, when)
    return Condition(text, title, expires, not_before, tuple(other))


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


def _split_and(text: str) -> list[str] | None:
    """Top-level ``&&`` clauses, or None when a top-level ``||`` makes them inseparable."""
    text = _strip_parens(text)
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text.startswith("||", i):
            return None
        elif depth == 0 and text.startswith("&&", i):
            parts.append(text[start:i].strip())
            start = i + 2
            i += 1
        i += 1
    if depth != 0 or quote:
        return None
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _timestamp(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- deny rules


@dataclass(frozen=True)
class DenyRule:
    policy: str  # policy name, for the reviewer
    attached_to: str  # resource name of the attachment point ("projects/p", "folders/1")
    denied_principals: tuple[str, ...]
    exception_principals: tuple[str, ...] = ()
    denied_permissions: tuple[str, ...] = ()
    exception_permissions: tuple[str, ...] = ()
    condition: str = ""


def deny_to_allow(permission: str, catalogue: Catalogue) -> str:
    """``run.googleapis.com/services.update`` → ``run.services.update`` (globs kept)."""
    service, sep, rest = permission.partition("/")
    if not sep:
        return permission
    prefix = catalogue.deny_services.get(service)
    if prefix is None:
        prefix = service.removesuffix(".googleapis.com")
    return f"{prefix}.{rest}"


def denied_permissions(rule: DenyRule, granted: Iterable[str], catalogue: Catalogue) -> set[str]:
    """The granted permissions this rule denies (ignoring its principals and condition)."""
    denied = _patterns(tuple(deny_to_allow(p, catalogue) for p in rule.denied_permissions))
    excepted = _patterns(tuple(deny_to_allow(p, catalogue) for p in rule.exception_permissions))
    granted = granted if isinstance(granted, (set, frozenset)) else set(granted)
    hit = granted & denied[0]
    if denied[1]:
        hit |= {p for p in granted if any(fnmatch.fnmatchcase(p, g) for g in denied[1])}
    return {p for p in hit if p not in excepted[0] and not any(fnmatch.fnmatchcase(p, g) for g in excepted[1])}


@lru_cache(maxsize=4096)
def _patterns(names: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact names, globs): most deny rules name permissions exactly, so sets do the work."""
    return frozenset(n for n in names if not _has_glob(n)), tuple(n for n in names if _has_glob(n))


def deny_applies(rule: DenyRule, identities: set[str]) -> bool:
    """Does the rule name one of ``identities`` (deny forms of a principal and its groups)?"""
    named = "principalSet://goog/public:all" in rule.denied_principals or bool(
        identities & set(rule.denied_principals))
    return named and not identities & set(rule.exception_principals)


# ---------------------------------------------------------------- workload identity (GitHub OIDC)


@dataclass(frozen=True)
class Provider:
    name: str
    issuer: str
    attribute_mapping: Mapping[str, str]
    attribute_condition: str = ""
    disabled: bool = False

    @property
    def github(self) -> bool:
        return self.issuer.rstrip("/") == GITHUB_ISSUER or self.issuer.startswith(GITHUB_ISSUER + "/")


@dataclass(frozen=True)
class Pool:
    name: str  # projects/N/locations/global/workloadIdentityPools/ID
    disabled: bool = False
    providers: tuple[Provider, ...] = ()


# GitHub's own claims, as a reader of `sub` can constrain them
_EXPRESSIBLE = ("sub", "repository", "repository_owner", "environment", "ref")
_CLAIM = re.compile(r"^assertion\.(?P<claim>[A-Za-z_]+)$")
_EQ = re.compile(r"""^(?P<lhs>[A-Za-z_.]+)\s*==\s*(?P<q>["'])(?P<value>[^"']*)(?P=q)$""")
_EQ_REV = re.compile(r"""^(?P<q>["'])(?P<value>[^"']*)(?P=q)\s*==\s*(?P<lhs>[A-Za-z_.]+)$""")
_STARTS = re.compile(r"""^(?P<lhs>[A-Za-z_.]+)\.startsWith\(\s*(?P<q>["'])(?P<value>[^"']*)(?P=q)\s*\)$""")
CONVENTIONAL_MAPPING: Mapping[str, str] = {
    "google.subject": "assertion.sub",
    "attribute.repository": "assertion.repository",
    "attribute.repository_owner": "assertion.repository_owner",
    "attribute.environment": "assertion.environment",
    "attribute.ref": "assertion.ref",
}


@dataclass(frozen=True)
class WorkloadTrust:
    """A GitHub OIDC subject pattern a workload identity member admits, through one provider."""

    pattern: str
    provider: str
    uncertain: tuple[str, ...] = ()


@dataclass
class _Claims:
    exact: dict[str, str] = field(default_factory=dict)
    prefix: dict[str, str] = field(default_factory=dict)
    uncertain: list[str] = field(default_factory=list)
    impossible: bool = False

    def require(self, claim: str, value: str, *, glob_prefix: bool = False) -> None:
        if claim not in _EXPRESSIBLE:
            self.uncertain.append(f"claim {claim} {'starts with' if glob_prefix else '=='} {value!r} "
                                  "cannot be checked against a GitHub subject; treated as satisfiable")
            return
        if glob_prefix:
            self.prefix[claim] = value
            return
        if claim in self.exact and self.exact[claim] != value:
            self.impossible = True
        self.exact[claim] = value


def _claim_of(expression: str, mapping: Mapping[str, str]) -> str | None:
    """The GitHub claim an attribute (``attribute.x`` / ``google.subject``) or assertion reads."""
    expression = expression.strip()
    m = _CLAIM.match(expression)
    if m:
        return m.group("claim")
    target = mapping.get(expression)
    if target is None:
        return None
    m = _CLAIM.match(target.strip())
    return m.group("claim") if m else None


def workload_trusts(member: Member, pool: Pool | None) -> tuple[list[WorkloadTrust], list[str]]:
    """Subject patterns a WIF member admits, and problems that make the answer unknown.

    With ``pool`` None (the pool could not be read), the conventional GitHub mapping is
    assumed and said so.
    """
    problems: list[str] = []
    if pool is None:
        providers = (Provider("(unread provider)", GITHUB_ISSUER, CONVENTIONAL_MAPPING),)
        assumed = ["pool not readable: assumed a GitHub provider with the conventional attribute mapping"]
    else:
        if pool.disabled:
            return [], []
        providers = tuple(p for p in pool.providers if p.github and not p.disabled)
        assumed = []
    trusts = []
    for provider in providers:
        claims = _Claims(uncertain=list(assumed))
        if member.selector == "subject":
            claim = _claim_of("google.subject", provider.attribute_mapping)
            if claim is None:
                problems.append(f"google.subject mapping of {provider.name} is not a single GitHub claim")
                continue
            claims.require(claim, member.selected)
        elif member.selector == "attribute":
            expression = provider.attribute_mapping.get(f"attribute.{member.attribute}")
            if expression is None:
                continue  # this provider never sets the attribute: its tokens cannot match
            claim = _claim_of(expression, provider.attribute_mapping)
            if claim is None:
                problems.append(f"attribute.{member.attribute} of {provider.name} is mapped from "
                                f"{expression!r}, which is not a single GitHub claim")
                continue
            claims.require(claim, member.selected)
        elif member.selector == "group":
            problems.append(f"group selector {member.selected!r} has no GitHub equivalent")
            continue
        _apply_condition(provider, claims)
        if claims.impossible:
            continue
        pattern = _subject_pattern(claims)
        if pattern is None:
            continue
        trusts.append(WorkloadTrust(pattern, provider.name, tuple(claims.uncertain)))
    return trusts, problems


def _apply_condition(provider: Provider, claims: _Claims) -> None:
    condition = provider.attribute_condition.strip()
    if not condition:
        return
    clauses = _split_and(condition)
    if clauses is None:
        claims.uncertain.append(f"attribute condition {condition!r} could not be read; treated as satisfiable")
        return
    for clause in clauses:
        clause = _strip_parens(clause)
        m = _EQ.match(clause) or _EQ_REV.match(clause)
        starts = _STARTS.match(clause) if m is None else None
        found = m or starts
        claim = _claim_of(found.group("lhs"), provider.attribute_mapping) if found else None
        if claim is None:
            claims.uncertain.append(f"attribute condition clause {clause!r} could not be read; "
                                    "treated as satisfiable")
            continue
        claims.require(claim, found.group("value"), glob_prefix=starts is not None)


def _subject_pattern(claims: _Claims) -> str | None:
    exact, prefix = claims.exact, claims.prefix
    repo = exact.get("repository")
    owner = exact.get("repository_owner")
    if repo and owner and not repo.lower().startswith(owner.lower() + "/"):
        return None
    if repo is None:
        if "repository" in prefix:
            repo = _glob_escape(prefix["repository"]) + "*"
        elif owner:
            repo = _glob_escape(owner) + "/*"
        else:
            repo = "*"
    else:
        repo = _glob_escape(repo)
    if "environment" in exact:
        tail = "environment:" + _glob_escape(exact["environment"])
    elif "ref" in exact:
        tail = "ref:" + _glob_escape(exact["ref"])
        claims.uncertain.append("ref condition: jobs in an environment run from that ref are not matched "
                                "(their subject names the environment, not the ref)")
    else:
        tail = "*"
    if tail == "*":
        # `*` spans `:` (AWS StringLike semantics), so repo:acme/* already admits every context
        derived = "*" if repo == "*" else f"repo:{repo}" if repo.endswith("*") else f"repo:{repo}:*"
    else:
        derived = f"repo:{repo}:{tail}"
    sub = exact.get("sub")
    if sub is not None:
        if not fnmatch.fnmatchcase(sub, derived) and not _has_glob(sub):
            return None
        return _glob_escape(sub)
    return derived


def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _glob_escape(text: str) -> str:
    # a literal `[` in a claim must not open a character class in the pattern
    return text.replace("[", "[[]")


def admits_any_context(pattern: str) -> bool:
    """Does the pattern admit any branch, pull request and environment of some repository?"""
    repo = "x/x"
    if pattern.startswith("repo:"):
        repo = pattern[5:].split(":", 1)[0].replace("*", "x").replace("?", "x") or "x/x"
    samples = (f"repo:{repo}:pull_request", f"repo:{repo}:environment:x", f"repo:{repo}:ref:refs/heads/x")
    return all(fnmatch.fnmatchcase(s, pattern) for s in samples)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
