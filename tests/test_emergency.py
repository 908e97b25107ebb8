"""Emergency and time-bound access in the analysis, on a small hand-built snapshot: a capability
reached only through a declared path is not standing access and raises no standing conflict;
a standing route wins over a time-bound one; the declarations are validated like every key."""

from __future__ import annotations

import pytest

from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.errors import ConfigError
from foureyes.model import (ACCESS_ADMIN, CODE_PUSH, DEPLOY_RUN, Edge, EdgeKind, Grant, Kind, Principal, Resource,
                            Snapshot, SourceResult, Via)

PROD = "aws:account:111111111111"
ROLE = "aws:arn:aws:iam::111111111111:role/ops-breakglass"
TIERS = """
[tiers.production]
aws_accounts = ["111111111111"]
github_repos = ["acme/api"]

[[apps]]
name = "api"
repos = ["acme/api"]
aws_accounts = ["111111111111"]

[identity]
email_domains = ["acme.com"]
"""
DECLARED = TIERS + """
[[break_glass]]
name = "prod-admin"
aws_roles = ["ops-breakglass"]
"""


def snapshot(*, expires: str | None = None, standing: bool = False) -> Snapshot:
    """Alice pushes acme/api and, as her IAM user, can assume ops-breakglass (admin in production);
    ``expires`` makes her deploy grant on the account time-bound; ``standing`` gives her a second,
    standing deploy grant too."""
    alice = Principal("aws", "arn:aws:iam::111111111111:user/alice", Kind.USER, email="alice@acme.com",
                      attrs={"email_source": "tag"})
    github = Principal("github", "alice", Kind.USER, email="alice@acme.com", attrs={"email_source": "saml"})
    role = Principal("aws", ROLE.removeprefix("aws:"), Kind.ROLE, home=PROD)
    grants = [Grant("github", github.key, "write", "github:repo:acme/api", (CODE_PUSH,)),
              Grant("aws", ROLE, "policy AdministratorAccess", PROD, (DEPLOY_RUN, ACCESS_ADMIN), via=Via.POLICY)]
    if expires:
        grants.append(Grant("aws", alice.key, "policy Deploy", PROD, (DEPLOY_RUN,), expires=expires))
    if standing:
        grants.append(Grant("aws", alice.key, "policy Deploy forever", PROD, (DEPLOY_RUN,)))
    resources = (Resource("aws", "account", "111111111111", tier="production", app="api"),
                 Resource("github", "repo", "acme/api", tier="production", app="api"))
    source = SourceResult("x", "multi", principals=(alice, github, role), resources=resources, grants=tuple(grants),
                          edges=(Edge(alice.key, ROLE, EdgeKind.CAN_ASSUME, "trust policy names alice"),))
    return Snapshot(1, "2026-11-02T08:00:00Z", "t", (source,))


def conflicts(analysis) -> set[str]:
    return {f.rule.id for f in analysis.findings if f.rule.kind == "conflict"}


def test_a_declared_path_is_emergency_access_and_raises_no_standing_conflict():
    undeclared = analyze(snapshot(), parse_config(TIERS))
    assert "FE-SOD-001" in conflicts(undeclared)  # pushes and deploys the same app: standing
    assert not any(h.emergency for h in undeclared.holdings("alice@acme.com"))
    declared = analyze(snapshot(), parse_config(DECLARED))
    deploy = [h for h in declared.holdings("alice@acme.com") if h.capability == DEPLOY_RUN]
    assert deploy and all(h.emergency for h in deploy)
    assert declared.graph.marks_of(deploy[0]).emergency == ("prod-admin",)
    assert not conflicts(declared) & {"FE-SOD-001", "FE-SOD-002", "FE-SOD-005"}
    path = [str(s) for s in declared.path(deploy[0])]
    assert any("declared emergency path prod-admin" in step for step in path)


def test_a_standing_route_wins_over_the_emergency_path_and_a_time_bound_one():
    both = analyze(snapshot(standing=True, expires="2099-01-01T00:00:00Z"), parse_config(DECLARED))
    deploy = [h for h in both.holdings("alice@acme.com") if h.capability == DEPLOY_RUN]
    assert deploy and not any(h.emergency or h.time_bound for h in deploy)
    assert "FE-SOD-001" in conflicts(both)  # she holds it standing after all
    timed = analyze(snapshot(expires="2099-01-01T00:00:00Z"), parse_config(DECLARED))
    deploy = [h for h in timed.holdings("alice@acme.com") if h.capability == DEPLOY_RUN]
    assert deploy and all(h.time_bound and not h.emergency for h in deploy)  # time-bound beats emergency
    assert timed.graph.marks_of(deploy[0]).expires == "2099-01-01T00:00:00Z"
    assert "FE-SOD-001" in conflicts(timed)  # just-in-time access is still access while it lasts


def test_an_expired_grant_still_in_place_is_a_finding_not_a_capability():
    found = analyze(snapshot(expires="2026-10-01T00:00:00Z"), parse_config(TIERS))
    assert [t.expired for t in found.emergency.timed] == [True]
    expired = [f for f in found.findings if f.rule.id == "FE-EMG-006"]
    assert [f.subject for f in expired] == ["aws:arn:aws:iam::111111111111:user/alice"]


@pytest.mark.parametrize("text, message", [
    ('[[break_glass]]\nname = "x"\n', "break_glass.0: names no path"),
    ('[[break_glass]]\nname = "x"\naws_roles = ["a"]\n[[break_glass]]\nname = "x"\naws_roles = ["b"]\n',
     "break_glass.1.name: 'x' is declared twice"),
    ('[[break_glass]]\nname = "x"\naws_roles = ["a"]\nmax_duration = "an hour"\n', "is not a duration"),
    ('[[break_glass]]\nname = "x"\naws_roles = ["a"]\nticket = "INC-("\n', "is not a regular expression"),
    ('[just_in_time]\nmax_duration = "8 hours"\n', "is not a duration"),
])
def test_declarations_are_checked_like_every_key(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "f.toml")


def test_break_glass_names_are_found_as_a_search_of_each_name_finds_them() -> None:
    """`_annotations` searches every principal's name at once: the same principals, in the same order,
    as `BREAK_GLASS_NAME` searched in each name alone, whatever the names hold (line breaks, a match
    across the id and the display name, letters that fold to ASCII, upper case)."""
    from foureyes.emergency import BREAK_GLASS_NAME, _break_glass_named

    names = [
        ("role/Break-Glass", ""), ("role/ops", "FireFighter access"), ("user/break", "glass"),  # across the two
        ("role/glass", "break"), ("team/x", "line one\nbreak_glass\nline three"), ("team/break\n", "glass"),
        ("role/emergencyadmin", "emergency access, twice: EMERGENCY-ADMIN"), ("role/plain", "nothing here"),
        ("user/breakglaſs", ""), ("user/brea", "k glass"), ("user/ok", "fire call"),
        ("role/\u212aelvin", "break glass \u212a"), ("role/fire", "\ncall"), ("group/ops", ""),
    ]
    kinds = [Kind.ROLE, Kind.USER, Kind.TEAM, Kind.GROUP, Kind.SERVICE_ACCOUNT]
    for ascii_only in (True, False):
        chosen = [(i, d) for i, d in names if not ascii_only or (i + d).isascii()]
        principals = {p.key: p for n, (ident, display) in enumerate(chosen)
                      for p in [Principal("aws", f"{ident}{n}" if ident.endswith("/ops") else ident,
                                          kinds[n % len(kinds)], display_name=display)]}
        principals["ci:x"] = Principal("github", "role/break-glass-ci", Kind.WORKLOAD)  # (a kind never named)
        expected = [key for key, p in principals.items() if p.kind != Kind.WORKLOAD
                    and BREAK_GLASS_NAME.search(p.id.rsplit("/", 1)[-1] + " " + p.display_name)]
        assert _break_glass_named(principals) == expected
        assert len(expected) >= (6 if ascii_only else 8)
