"""Fixtures for activity rules: a small review period written as changes, deployments and
bypasses by logins, run through the same population and facts as a real snapshot; ``assumes``
are uses of the break-glass role ``break_glass`` declares (an AssumeRole by an address, and what
the session did), run through the same emergency analysis.

A login (``alice``) is the GitHub account ``github:alice`` linked to ``alice@example.com``;
a login listed in ``unlinked`` has no link; an address (``bob@example.com``) is an actor known
only by its address (a ``Co-authored-by`` trailer); ``"?"`` is an actor the system did not name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..activity import (DIRECT_PUSH, PULL_REQUEST, ActivityPeriod, Actor, Approval, AuditEvent, BypassUse, Change,
                        Commit, Deployment)
from ..changes import population
from ..config import BreakGlassConfig, parse_config
from ..emergency import prepare, with_uses
from ..identity import link
from ..model import Kind, Principal, Resource, Snapshot, SourceResult
from .engine import Finding, evaluate
from .pack import RulePack

REPO, ENV = "github:repo:acme/api", "github:environment:acme/api/production"
FIXTURE_PERIOD = ActivityPeriod("2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z")
_CONFIG = parse_config('[identity]\nemail_domains = ["example.com"]\n', "<fixture>")


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
                      triggering_actor=trigger, approvals=_approvals(spec.get("approvals", [])))


def _bypass(spec: dict[str, Any]) -> BypassUse:
    return BypassUse("github", spec["id"], REPO, spec.get("at", "2026-09-01T12:00:00Z"), actor=_actor(spec["by"]),
                     ref="refs/heads/main", after_sha=spec.get("after_sha", ""), rules=("ruleset main",),
                     source="rule suite")


ACCOUNT = "111111111111"


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


def _emergency_facts(case: dict[str, Any], snapshot: Snapshot, config: Any, identities: Any) -> tuple[Any, ...]:
    if "break_glass" not in case:
        return ()
    declared = case["break_glass"]
    config = replace(config, break_glass=[BreakGlassConfig(
        name=declared.get("name", "prod-breakglass"), aws_roles=list(declared.get("aws_roles", ["breakglass"])),
        allowed=list(declared.get("allowed", [])), max_duration=declared.get("max_duration", "1h"),
        ticket=declared.get("ticket", ""))])
    found = with_uses(prepare(snapshot, identities, config), snapshot, identities, config, lambda team: set())
    return found.facts


def activity_findings_of(case: dict[str, Any], pack: RulePack) -> list[Finding]:
    changes = [_change(c) for c in case.get("changes", [])]
    deployments = [_deployment(d) for d in case.get("deployments", [])]
    bypasses = [_bypass(b) for b in case.get("bypasses", [])]
    uses = [event for spec in case.get("assumes", []) for event in _assume(spec)]
    records = changes + deployments + bypasses + uses
    logins = {a.principal.partition(":")[2] for r in records for a in _actors(r) if a.principal}
    unlinked = set(case.get("unlinked", []))
    principals = tuple(
        Principal("github", login, Kind.USER, display_name=login,
                  email=None if login in unlinked else f"{login}@example.com",
                  attrs={} if login in unlinked else {"email_source": "saml"})
        for login in sorted(logins) if not login.endswith("[bot]"))
    resources = (Resource("github", "repo", "acme/api", tier="production"),
                 Resource("github", "environment", "acme/api/production", tier="production", parent=REPO),
                 Resource("aws", "account", ACCOUNT, tier="production"))
    roles = tuple(Principal("aws", f"arn:aws:iam::{ACCOUNT}:role/{role}", Kind.ROLE, home=f"aws:account:{ACCOUNT}")
                  for role in sorted({spec["role"] for spec in case.get("assumes", [])}))
    source = SourceResult("fixture", "github", principals=principals + roles, resources=resources,
                          activity=tuple(records), period=FIXTURE_PERIOD)
    snapshot = Snapshot(0, "2026-11-01T00:00:00Z", "fixture", (source,))
    identities = link(snapshot, _CONFIG)
    facts = population(snapshot, identities, _CONFIG).facts + _emergency_facts(case, snapshot, _CONFIG, identities)
    return evaluate(pack, people=identities.people.values(), holdings_of={}, resources=snapshot.resources,
                    principals=snapshot.principals, facts=facts)


def _actors(record: Any) -> list[Actor]:
    if isinstance(record, Change):
        return [record.author, record.merged_by, *(a.reviewer for a in record.approvals),
                *(x for c in record.commits for x in c.authors)]
    if isinstance(record, Deployment):
        return [record.triggering_actor, *(a.reviewer for a in record.approvals)]
    if isinstance(record, AuditEvent):
        return []  # AWS actors: not GitHub accounts
    return [record.actor]

