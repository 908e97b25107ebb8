"""Conflict rules that ask the same of the same scope (pushing anywhere, deploying to production
for an app) share a person's holdings by scope (`conflict_findings`'s ``shared``): each rule still
finds exactly what it finds evaluated alone, evidence and its order included."""

from __future__ import annotations

import sys
from pathlib import Path

from foureyes.analysis import analyze, rule_pack
from foureyes.config import parse_config
from foureyes.model import Snapshot
from foureyes.rules.engine import Rules, conflict_findings, repo_apps


def test_rules_sharing_a_requirement_find_what_each_finds_alone() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from generate import generate

    config = parse_config('[identity]\nemail_domains = ["bigco.example"]\n', "<generated>")
    snapshot = Snapshot(1, "t", "", tuple(generate(0.003)[0]))
    analysis = analyze(snapshot, config, waivers=[])
    rules = Rules(rule_pack(config), resources=snapshot.resources, principals=snapshot.principals)
    repo_app, holdings = repo_apps(snapshot.resources), analysis.graph.by_person()
    signatures = [(r.capability, r.tier, r.systems, tuple(r.where.items()), rule.same)
                  for rule in rules.conflict_rules for r in rule.requirements]
    assert len(set(signatures)) < len(signatures)  # the default pack's rules share requirements
    together, alone, kept = [], [], 0
    for person in analysis.identities.people.values():
        held = holdings.get(person.key, ())
        shared: dict = {}
        for rule in rules.conflict_rules:
            together += conflict_findings(rule, person, held, repo_app, scopes={}, shared=shared)
            alone += conflict_findings(rule, person, held, repo_app)
        kept = max(kept, len(shared))
    assert kept and len(together) > 10 and any(f.rule.all_of for f in together)
    assert together == alone
    assert [f.evidence for f in together] == [f.evidence for f in alone]
