"""Posture findings carry their evidence: the settings that matched and the people they expose.

Over the Acme demo, `foureyes conflicts --format json` (run in this process) gives every
FE-POS finding the subject's settings and everyone who can exploit them, each with a path;
the TUI's finding detail shows the same, literally.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.connectors import demo
from foureyes.connectors.demo import DEMO_CONFIG_TOML
from foureyes.errors import InputError
from foureyes.model import CODE_PUSH, DEPLOY_RUN, Edge, EdgeKind, Kind, Principal, Resource, Snapshot, SourceResult
from foureyes.model import Grant
from foureyes.rules import load_rule_file
from foureyes.store import Store

LEGACY_ROLE = "aws:arn:aws:iam::111111111111:role/gha-legacy-deploy"


@pytest.fixture(scope="module")
def conflicts(tmp_path_factory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("posture")
    url = f"sqlite:///{home / 'demo.db'}"
    with Store(url) as store:
        list(demo.load_into(store))
    config = home / "foureyes.toml"
    config.write_text(DEMO_CONFIG_TOML, encoding="utf-8")
    from foureyes.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FOUREYES_STORE_URL", url)
        done = CliRunner().invoke(main, ["-c", str(config), "conflicts", "--format", "json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def posture(conflicts: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule"], f["subject"]): f for f in conflicts["findings"] if f["kind"] == "posture"}


def test_every_posture_finding_says_what_matched_and_whom_it_exposes(conflicts):
    found = posture(conflicts)
    assert {rule for rule, _ in found} == {"FE-POS-001", "FE-POS-002", "FE-POS-003", "FE-POS-004"}
    for (rule, subject), finding in found.items():
        (evidence,) = finding["evidence"]
        when = {k: v for k, v in finding["settings"].items() if k in evidence["requirement"]}
        assert when and finding["settings"] == evidence["settings"], (rule, subject)
        assert finding["exposed"], (rule, subject)
        assert finding["paths"] == [e["path"] for e in finding["exposed"]]
        for exposed in finding["exposed"]:
            assert exposed["hops"][0]["kind"] == "person" and exposed["hops"][0]["key"] == exposed["person"]
            assert len(exposed["path"]) >= 3
    for finding in conflicts["findings"]:
        if finding["kind"] == "conflict":
            assert finding["settings"] == {} and finding["exposed"] == []


def test_a_wildcard_oidc_trust_names_its_condition_and_everyone_who_can_push_a_branch(conflicts):
    finding = posture(conflicts)[("FE-POS-004", LEGACY_ROLE)]
    settings = finding["settings"]
    assert settings["oidc_wildcard"] is True and settings["oidc_subjects"] == ["repo:acme/deploy-tools:*"]
    (trust,) = settings["trusted_by"]
    assert "sub StringLike repo:acme/deploy-tools:*" in trust and "any branch, pull request or environment" in trust
    # Everyone who can push a branch or open a pull request of acme/deploy-tools: its writers.
    writers = {f["person"] for f in posture(conflicts)[("FE-POS-002", "github:repo:acme/deploy-tools")]["exposed"]}
    assert {e["person"] for e in finding["exposed"]} == writers
    for exposed in finding["exposed"]:
        kinds = [h["kind"] for h in exposed["hops"]]
        assert kinds[-3:] == ["can-trigger", "matches", "can-assume"]
        assert exposed["hops"][-3]["key"] in ("ci:repo:acme/deploy-tools:ref:refs/heads/*",
                                               "ci:repo:acme/deploy-tools:pull_request")
        assert exposed["hops"][-2]["key"] == "ci:repo:acme/deploy-tools:*"
        assert exposed["hops"][-1]["key"] == LEGACY_ROLE


def test_an_environment_without_reviewers_shows_its_settings_and_who_deploys_through_it(conflicts):
    finding = posture(conflicts)[("FE-POS-001", "github:environment:acme/storefront-web/production")]
    settings = finding["settings"]
    assert settings["reviewers"] == 0 and settings["reviewer_names"] == []
    assert settings["branch_policy"] == "none" and settings["can_admins_bypass"] is True
    (evidence,) = finding["evidence"]
    assert {h["capability"] for h in evidence["holdings"]} == {DEPLOY_RUN}
    assert {h["resource"] for h in evidence["holdings"]} == {"github:environment:acme/storefront-web/production"}
    assert "github:contractor-jq" in {e["person"] for e in finding["exposed"]}


def test_admins_not_enforced_exposes_the_admins(conflicts):
    finding = posture(conflicts)[("FE-POS-003", "github:repo:acme/payments-api")]
    assert finding["settings"]["enforce_admins"] is False and finding["settings"]["protected_branches"] == ["main"]
    assert {e["person"] for e in finding["exposed"]} == {"max.mueller@acme.com", "olivia.okafor@acme.com",
                                                          "owen.iverson@acme.com"}
    assert all("admins are not enforced" in e["path"][-2] for e in finding["exposed"])


def test_the_tui_finding_detail_shows_the_settings_and_the_exposed_people_literally():
    from foureyes.tui.state import Triage
    from foureyes.tui.widgets.finding import finding_detail

    hostile = "[red]x[/] \x1b[31mred\x1b[0m"
    role = Principal("aws", "arn:aws:iam::111111111111:role/gha", Kind.ROLE, "role gha", home="aws:account:111111111111",
                     attrs=MappingProxyType({"oidc_wildcard": True, "oidc_subjects": [f"repo:acme/{hostile}:*"]}))
    pattern = Principal("ci", f"repo:acme/{hostile}:*", Kind.WORKLOAD_PATTERN, "OIDC subject",
                        attrs={"oidc_wildcard": True})
    branch = Principal("ci", "repo:acme/api:ref:refs/heads/*", Kind.WORKLOAD, "workflow on a new branch",
                       attrs={"repo": "acme/api"})
    mallory = Principal("github", "mallory", Kind.USER, hostile, "mallory@acme.com", attrs={"email_source": "saml"})
    source = SourceResult(
        "mixed", "multi", principals=(role, pattern, branch, mallory),
        resources=(Resource("aws", "account", "111111111111", "prod", tier="production"),
                   Resource("github", "repo", "acme/api")),
        grants=(Grant("github", mallory.key, "write", "github:repo:acme/api", (CODE_PUSH,)),),
        edges=(Edge(mallory.key, branch.key, EdgeKind.CAN_TRIGGER, "can push a branch"),
               Edge(branch.key, pattern.key, EdgeKind.MATCHES, "accepted"),
               Edge(pattern.key, role.key, EdgeKind.CAN_ASSUME, f"trust policy: sub StringLike {hostile}")))
    config = parse_config("[tiers.production]\naws_accounts = [\"111111111111\"]\n")
    analysis = analyze(Snapshot(1, "2026-11-01T00:00:00+00:00", "t", (source,)), config)
    (finding,) = [f for f in analysis.findings if f.rule.id == "FE-POS-004"]
    console = Console(width=200, record=True, color_system=None)
    console.print(finding_detail(Triage(info=None, snapshots=[], analysis=analysis, config=config), finding))
    text = console.export_text()
    assert "Settings" in text and "oidc_subjects: repo:acme/[red]x[/]" in text
    assert "trusted_by: trust policy: sub StringLike [red]x[/]" in text
    assert "Exposes 1 (people who can act as it through oidc_wildcard = true)" in text
    assert "1. [red]x[/]" in text and "\x1b" not in text  # markup shown, escapes neutralised


@pytest.mark.parametrize("bad, message", [
    ('exposes = { capability = "deploy.walk" }', "rules.toml:9: rule X-POS-001: exposes.capability: unknown capability"),
    ('exposes = { through = { oidc_wildcard = true } }', "names the capability that exploits it"),
    ('exposes = { capability = "deploy.run", reach = true }', "exposes: unknown field 'reach'"),
    ('show = ["reviewers", 3]', "rule X-POS-001: field 'show[1]' must be an attribute name"),
])
def test_exposes_and_show_are_checked_like_every_field(tmp_path, bad, message):
    path = tmp_path / "rules.toml"
    path.write_text(f"""
[[rule]]
id = "X-POS-001"
title = "t"
severity = "high"
kind = "posture"
match = {{ kind = "environment" }}
when = {{ reviewers = 0 }}
{bad}
rationale = "r"
controls = []
remediation = "r"
""")
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_rule_file(path)
