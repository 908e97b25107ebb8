"""Conflict rules that ask the same of the same scope (pushing anywhere, deploying to production
for an app) share a person's holdings by scope (`conflict_findings`'s ``shared``): each rule still
finds exactly what it finds evaluated alone, evidence and its order included. And the short cuts
`conflict_findings` takes (an all-of rule's requirements with the fewest candidates first, the next
ones kept to the scopes found so far, none left ending it) find what the rule's definition finds:
`satisfies` and `scopes_of` applied to every holding."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from foureyes.analysis import analyze, rule_pack
from foureyes.config import parse_config
from foureyes.model import Snapshot
from foureyes.rules.engine import EVIDENCE_PER_REQUIREMENT, Rules, conflict_findings, repo_apps, satisfies, scopes_of


def _generated() -> tuple:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from generate import generate

    config = parse_config('[identity]\nemail_domains = ["bigco.example"]\n', "<generated>")
    snapshot = Snapshot(1, "t", "", tuple(generate(0.003)[0]))
    analysis = analyze(snapshot, config, waivers=[])
    rules = Rules(rule_pack(config), resources=snapshot.resources, principals=snapshot.principals)
    return analysis, rules, repo_apps(snapshot.resources), analysis.graph.by_person()


def _defined(rule, person, held, repo_app) -> list[tuple]:
    """A conflict rule's findings for one person as its definition reads (docs/rules.md): for each
    requirement, the holdings that satisfy it by each of their scopes; the scopes every requirement
    has (all of) or any has (any of), an app's repositories left out where the app is one; each
    finding's evidence the first few of each requirement's holdings there, nearest first."""
    if (rule.subject == "linked" and not person.linked) or (rule.subject == "unlinked" and person.linked):
        return []
    per_requirement = []
    for requirement in rule.requirements:
        by_scope: dict = {}
        for holding in held:
            if satisfies(holding, requirement):
                for scope in scopes_of(holding, rule.same, repo_app):
                    by_scope.setdefault(scope, []).append(holding)
        per_requirement.append((requirement, by_scope))
    keys = [set(by_scope) for _, by_scope in per_requirement]
    common = set.intersection(*keys) if rule.all_of else set.union(*keys)
    if rule.same == "app":
        apps = {k[4:] for k in common if k.startswith("app:")}
        common = {k for k in common if not (k.startswith("repo:") and repo_app.get(k[5:]) in apps)}
    return [(rule.id, person.key, scope,
             [(requirement, sorted(by_scope[scope], key=lambda h: (h.distance, h.resource))[:EVIDENCE_PER_REQUIREMENT])
              for requirement, by_scope in per_requirement if by_scope.get(scope)])
            for scope in sorted(common)]


def test_conflict_findings_find_what_each_rule_defines() -> None:
    analysis, rules, repo_app, holdings = _generated()
    # each all-of rule again as any-of, after the default pack: these read, from ``shared``, requirements
    # that an all-of rule before them may have kept to its common scopes (which must not be shared)
    conflict_rules = [*rules.conflict_rules, *(replace(r, id=f"{r.id}/any", all_of=(), any_of=r.all_of)
                                               for r in rules.conflict_rules if r.all_of)]
    found, defined = [], []
    for person in analysis.identities.people.values():
        held = holdings.get(person.key, ())
        shared: dict = {}
        for rule in conflict_rules:
            found += [(f.rule.id, f.person, f.scope, [(r, list(hs)) for r, hs in f.evidence])
                      for f in conflict_findings(rule, person, held, repo_app, scopes={}, shared=shared)]
            defined += _defined(rule, person, held, repo_app)
    all_of = {r.id for r in rules.conflict_rules if r.all_of}
    assert len(defined) > 10 and len({f[0] for f in defined} & all_of) > 2
    assert len({f[0] for f in defined} - {r.id for r in rules.conflict_rules}) > 2
    assert found == defined


def test_rules_sharing_a_requirement_find_what_each_finds_alone() -> None:
    analysis, rules, repo_app, holdings = _generated()
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
