"""Fixtures for activity rules: a small review period written as changes, deployments and
bypasses by logins, run through the same population and facts as a real snapshot; ``assumes``
are uses of the break-glass role ``break_glass`` declares (an AssumeRole by an address, and what
the session did), run through the same emergency analysis.

A login (``alice``) is the GitHub account ``github:alice`` linked to ``alice@example.com``;
a login listed in ``unlinked`` has no link; an address (``bob@example.com``) is an actor known
only by its address (a ``Co-authored-by`` trailer); ``"?"`` is an actor the system did not name.

``events`` are deploy calls in the cloud (CloudTrail in the production account 111111111111,
``system = "gcp"``: Cloud Audit Logs in the production project acme-prod; ``account = "staging"``
or ``project = "staging"``: a staging one): ``by`` a login is that person's own session (an
Identity Center session, a Cloud Audit Logs ``principalEmail``) named by their address; an
address is a session named by that address; ``role`` with ``subject`` is the CI role
``gha-deploy`` (or service account) that trusts the OIDC subject, in a session of a run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..activity import (DIRECT_PUSH, PULL_REQUEST, ActivityPeriod, Actor, Approval, AuditEvent, BypassUse, Change,
                        Commit, Deployment)
from ..changes import population
from ..config import BreakGlassConfig, parse_config
from ..emergency import prepare, with_uses
from ..identity import Identities, link
from ..model import DEPLOY_RUN, Gap, Grant, Kind, Principal, Resource, Snapshot, SourceResult
from .engine import Finding, evaluate
from .pack import RulePack

REPO, ENV = "github:repo:acme/api", "github:environment:acme/api/production"
ACCOUNT, STAGING_ACCOUNT, PROJECT, STAGING_PROJECT = "111111111111", "222222222222", "acme-prod", "acme-staging"
FIXTURE_PERIOD = ActivityPeriod("2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z")
FIXTURE_CONFIG = parse_config('[identity]\nemail_domains = ["example.com"]\n', "<fixture>")


def _actor(name: str) -> Actor:
    if not name or name == "?":
        return Actor()
    if "@" in name:
        return Actor(email=name, name=name, via="Co-authored-by trailer")
    if name.endswith("[bot]"):
        return Actor(f"github:{name}", name, via="login", kind="bot")
    return Actor(f"github:{name}", name, via="login", kind="user")


def _approvals(items: list[Any]) -> tuple[Approval, ...]:
    out = []
    for item in items:
        spec = {"by": item} if isinstance(item, str) else item
        out.append(Approval(_actor(spec["by"]), spec.get("at", "2026-09-01T10:00:00Z"),
                            state=spec.get("state", "APPROVED"), commit=spec.get("commit", "")))
    return tuple(out)


def _change(spec: dict[str, Any]) -> Change:
    commits = tuple(Commit(c["sha"], author=_actor(c.get("author", spec.get("author", ""))),
                           co_authors=tuple(_actor(a) for a in c.get("co_authors", [])), at=c.get("at", ""))
                    for c in spec.get("commits", []))
    return Change(
        "github", spec["id"], REPO, spec.get("at", "2026-09-01T12:00:00Z"),
        kind=DIRECT_PUSH if spec.get("direct_push") else PULL_REQUEST, branch="main",
        sha=spec.get("sha", ""), head_sha=spec.get("head_sha", commits[-1].sha if commits else ""),
        author=_actor(spec.get("author", "")), commits=commits, approvals=_approvals(spec.get("approvals", [])),
        merged_by=_actor(spec.get("merged_by", spec.get("author", ""))),
        last_push_at=spec.get("last_push_at", ""), last_pusher=_actor(spec.get("last_pusher", "")),
        required_approvals=spec.get("required_approvals", 1),
        require_last_push_approval=spec.get("require_last_push_approval", False),
        bypasses=tuple(spec.get("bypasses", [])))


def _deployment(spec: dict[str, Any]) -> Deployment:
    trigger = _actor(spec.get("triggered_by", ""))
    return Deployment("github", spec["id"], REPO, ENV, spec.get("at", "2026-09-01T13:00:00Z"), sha=spec.get("sha", ""),
                      ref=spec.get("ref", "main"), creator=trigger, run_id=spec.get("run", 1), run_actor=trigger,
                      triggering_actor=trigger, approvals=_approvals(spec.get("approvals", [])),
                      ci_subject=spec.get("subject", ""))


def _ci_principal(system: str) -> str:
    if system == "gcp":
        return f"gcp:serviceAccount:gha-deploy@{PROJECT}.iam.gserviceaccount.com"
    return f"aws:arn:aws:iam::{ACCOUNT}:role/gha-deploy"


def _event(spec: dict[str, Any]) -> AuditEvent:
    system = spec.get("system", "aws")
    by = spec.get("by", "")
    subject = spec.get("subject", "")
    if "role" in spec:
        actor = Actor(_ci_principal(system), spec["role"], via="web identity", kind="workload")
    else:
        email = by if "@" in by else f"{by}@example.com"
        via = "principalEmail" if system == "gcp" else "Identity Center session"
        actor = Actor(f"gcp:user:{email}" if system == "gcp" else "", email, email, via, "user")
    if system == "gcp":
        place = f"gcp:project:{STAGING_PROJECT if spec.get('project') == 'staging' else PROJECT}"
        action = spec.get("action", "run.services.update")
    else:
        place = f"aws:account:{STAGING_ACCOUNT if spec.get('account') == 'staging' else ACCOUNT}"
        action = spec.get("action", "ecs:UpdateService")
    return AuditEvent(system, spec["id"], spec.get("at", "2026-09-01T13:05:00Z"), action, actor=actor, resource=place,
                      target=spec.get("target", "prod/api"), result=spec.get("result", "success"), ci_subject=subject,
                      session=email if "role" not in spec else spec["role"])


def _bypass(spec: dict[str, Any]) -> BypassUse:
    return BypassUse("github", spec["id"], REPO, spec.get("at", "2026-09-01T12:00:00Z"), actor=_actor(spec["by"]),
                     ref="refs/heads/main", after_sha=spec.get("after_sha", ""), rules=("ruleset main",),
                     source="rule suite")


def _assume(spec: dict[str, Any]) -> list[AuditEvent]:
    """A break-glass use: an AssumeRole of the role by ``by`` (an address: a SAML user), and what the
    session did (``did``: actions with their times)."""
    role = f"arn:aws:iam::{ACCOUNT}:role/{spec['role']}"
    session = spec.get("session", spec["by"].split("@")[0])
    start = spec.get("at", "2026-09-01T10:00:00Z")
    who = Actor(email=spec["by"], name=spec["by"], via="SAML user", kind="user") if spec["by"] != "?" else Actor()
    out = [AuditEvent("aws", spec["id"], start, spec.get("action", "sts:AssumeRole"), actor=who,
                      resource=f"aws:account:{ACCOUNT}", target=role, result="success", session=session,
                      evidence={"durationSeconds": spec.get("duration", 3600),
                                "sourceIdentity": spec.get("source_identity", "")})]
    for n, done in enumerate(spec.get("did", [])):
        out.append(AuditEvent("aws", f"{spec['id']}-{n}", done["at"], done["action"],
                              actor=Actor(f"aws:{role}", f"{spec['role']}/{session}", via="role session name",
                                          kind="role"),
                              resource=f"aws:account:{ACCOUNT}", target=done.get("target", ""), result="success",
                              session=session, evidence={"userIdentity": {
                                  "type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{spec['role']}/{session}"}}))
    return out


def _emergency(case: dict[str, Any], snapshot: Snapshot, config: Any, identities: Any) -> Any:
    if "break_glass" not in case:
        return None
    declared = case["break_glass"]
    config = replace(config, break_glass=[BreakGlassConfig(
        name=declared.get("name", "prod-breakglass"), aws_roles=list(declared.get("aws_roles", ["breakglass"])),
        allowed=list(declared.get("allowed", [])), max_duration=declared.get("max_duration", "1h"),
        ticket=declared.get("ticket", ""))])
    return with_uses(prepare(snapshot, identities, config), snapshot, identities, config, lambda team: set())


def activity_findings_of(case: dict[str, Any], pack: RulePack) -> list[Finding]:
    snapshot, identities = fixture_world(case)
    emergency = _emergency(case, snapshot, FIXTURE_CONFIG, identities)
    uses = {u.id: u.path for u in emergency.uses if u.system == "aws"} if emergency is not None else {}
    facts = population(snapshot, identities, FIXTURE_CONFIG, uses).facts + (
        emergency.facts if emergency is not None else ())
    return evaluate(pack, people=identities.people.values(), holdings_of={}, resources=snapshot.resources,
                    principals=snapshot.principals, facts=facts)


def fixture_world(case: dict[str, Any], gaps: tuple[Gap, ...] = ()) -> tuple[Snapshot, Identities]:
    """The snapshot a case describes, and its people (``gaps``: added to the cloud sources)."""
    changes = [_change(c) for c in case.get("changes", [])]
    deployments = [_deployment(d) for d in case.get("deployments", [])]
    bypasses = [_bypass(b) for b in case.get("bypasses", [])]
    events = [_event(e) for e in case.get("events", [])]
    uses = [event for spec in case.get("assumes", []) for event in _assume(spec)]
    records = changes + deployments + bypasses + uses
    logins = {a.principal.partition(":")[2] for r in records for a in _actors(r) if a.principal}
    logins |= {e["by"] for e in case.get("events", []) if e.get("by") and "@" not in e["by"]}
    unlinked = set(case.get("unlinked", []))
    principals = tuple(
        Principal("github", login, Kind.USER, display_name=login,
                  email=None if login in unlinked else f"{login}@example.com",
                  attrs={} if login in unlinked else {"email_source": "saml"})
        for login in sorted(logins) if not login.endswith("[bot]"))
    resources = (Resource("github", "repo", "acme/api", tier="production"),
                 Resource("github", "environment", "acme/api/production", tier="production", parent=REPO))
    # the break-glass roles' account is the production account of the clouds below
    roles = tuple(Principal("aws", f"arn:aws:iam::{ACCOUNT}:role/{role}", Kind.ROLE, home=f"aws:account:{ACCOUNT}")
                  for role in sorted({spec["role"] for spec in case.get("assumes", [])}))
    source = SourceResult("fixture", "github", principals=principals + roles, resources=resources,
                          activity=tuple(records), period=FIXTURE_PERIOD)
    snapshot = Snapshot(0, "2026-11-01T00:00:00Z", "fixture", (source, *_clouds(events, gaps)))
    return snapshot, link(snapshot, FIXTURE_CONFIG)


def _clouds(events: list[AuditEvent], gaps: tuple[Gap, ...] = ()) -> list[SourceResult]:
    """The production and staging account and project, the CI identities that trust acme/api's
    production environment, and the cloud's deploy calls."""
    subject = "repo:acme/api:environment:production"
    out = []
    for system, kind, prod, staging in (("aws", "account", ACCOUNT, STAGING_ACCOUNT),
                                        ("gcp", "project", PROJECT, STAGING_PROJECT)):
        place = Resource(system, kind, prod, name=f"{prod} (production)", tier="production")
        ci = Principal(system, _ci_principal(system).partition(":")[2], Kind.ROLE if system == "aws" else
                       Kind.SERVICE_ACCOUNT, attrs={"oidc_subjects": [subject]}, home=place.key)
        out.append(SourceResult(
            f"fixture-{system}", system, principals=(ci,),
            resources=(place, Resource(system, kind, staging, tier="staging")),
            grants=(Grant(system, ci.key, "deploy", place.key, (DEPLOY_RUN,)),),
            activity=tuple(e for e in events if e.system == system), period=FIXTURE_PERIOD,
            gaps=tuple(g for g in gaps if g.system == system)))
    return out


def _actors(record: Any) -> list[Actor]:
    if isinstance(record, Change):
        return [record.author, record.merged_by, *(a.reviewer for a in record.approvals),
                *(x for c in record.commits for x in c.authors)]
    if isinstance(record, Deployment):
        return [record.triggering_actor, *(a.reviewer for a in record.approvals)]
    if isinstance(record, AuditEvent):
        return []  # AWS actors: not GitHub accounts
    return [record.actor]

