"""Rule fixtures: cases that must fire and must not fire, run by `foureyes rules test` and pytest.

A fixture file names one rule and lists `[[case]]` tables with holdings (for conflict
rules) or resources and principals (for posture rules), and what must happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources as importlib_resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator

from ..errors import InputError
from datetime import date

from ..graph import Holding
from ..model import AccountLink, Person, Principal, Resource, RosterPerson, RosterStatus
from ..roster import GroupFeed
from ..tomlfile import parse_toml
from .engine import evaluate
from .pack import RulePack
from .roster_rules import RosterFacts

_CASE_FIELDS = {"name", "expect", "scope", "linked", "holdings", "resources", "principals", "count",
                "changes", "deployments", "bypasses", "events", "unlinked", "assumes", "break_glass",
                # roster rules: the person's record, the baseline, peers and an IdP group feed
                "roster", "department_then", "today", "peers", "feed", "facts"}


@dataclass(frozen=True)
class CaseResult:
    rule: str
    case: str
    ok: bool
    message: str = ""


def default_fixture_files() -> list[Path]:
    folder = importlib_resources.files("foureyes.rules") / "fixtures"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


def run_fixture_file(path: str | Path, pack: RulePack) -> Iterator[CaseResult]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read fixture: {exc}") from None
    data = parse_toml(text, str(path))
    rule_id = data.get("rule")
    rule = pack.get(rule_id) if isinstance(rule_id, str) else None
    if rule is None:
        raise InputError(f"{path}: fixture names rule {rule_id!r}, which is not in the rule pack")
    cases = data.get("case", [])
    if not cases:
        raise InputError(f"{path}: fixture has no [[case]] tables")
    expects = {c.get("expect") for c in cases}
    if not {"fire", "quiet"} <= expects:
        raise InputError(f"{path}: a fixture needs at least one case that fires and one that stays quiet")
    single = RulePack((rule,))
    for n, case in enumerate(cases, 1):
        name = case.get("name", f"case {n}")
        unknown = set(case) - _CASE_FIELDS
        if unknown:
            raise InputError(f"{path}: case {name!r}: unknown field {sorted(unknown)[0]!r}")
        yield _run_case(rule.id, name, case, single)


def _run_case(rule_id: str, name: str, case: dict[str, Any], pack: RulePack) -> CaseResult:
    if pack.rules[0].kind == "activity":
        from .activity_fixtures import activity_findings_of

        return _judge(rule_id, name, case, activity_findings_of(case, pack))
    linked = case.get("linked", True)
    person_key = "someone@example.com" if linked else "github:someone"
    record = case.get("roster")
    person = Person(key=person_key, display_name="Someone",
                    accounts=(AccountLink(person_key if not linked else "github:someone", "fixture"),),
                    linked=linked, roster=_record(person_key, record) if record is not None else None)
    resources = {}
    for spec in case.get("resources", []):
        system, kind, ident = spec["key"].split(":", 2)
        resources[spec["key"]] = Resource(system, kind, ident, tier=spec.get("tier", ""), app=spec.get("app", ""),
                                          attrs=MappingProxyType(dict(spec.get("attrs", {}))))
    principals = {}
    for spec in case.get("principals", []):
        system, ident = spec["key"].split(":", 1)
        home = ""
        if "home_tier" in spec:
            home = f"fixture:home:{ident}"
            resources[home] = Resource("fixture", "home", ident, tier=spec["home_tier"])
        principals[spec["key"]] = Principal(system, ident, spec["kind"], home=home,
                                            attrs=MappingProxyType(dict(spec.get("attrs", {}))))
    holdings = []
    for spec in case.get("holdings", []):
        resource = spec.get("resource", "github:repo:acme/api")
        repo = spec.get("repo", resource.removeprefix("github:repo:") if resource.startswith("github:repo:") else "")
        if repo and f"github:repo:{repo}" not in resources:
            resources[f"github:repo:{repo}"] = Resource("github", "repo", repo, app=spec.get("repo_app", spec.get("app", "")))
        holdings.append(Holding(
            person=person_key, capability=spec["capability"], resource=resource, repo=repo,
            tier=spec.get("tier", ""), app=spec.get("app", ""), system=resource.split(":", 1)[0],
            grant="fixture", account=person.accounts[0].principal, distance=1,
            latent=spec.get("latent", False), attrs=MappingProxyType(dict(spec.get("attrs", {}))),
        ))
    people, holdings_of = [person], {person_key: holdings}
    departments = {person_key: person.roster.department} if person.roster else {}
    for n, peer in enumerate(case.get("peers", [])):
        key = f"peer{n}@example.com"
        departments[key] = peer.get("department", "")
        holdings_of[key] = [Holding(person=key, capability=h["capability"], resource=h.get("resource", "github:repo:acme/api"),
                                    repo=h.get("repo", ""), tier=h.get("tier", ""), app="", system="github",
                                    grant="fixture", account=f"github:peer{n}", distance=1)
                            for h in peer.get("holdings", [])]
    feed = case.get("feed")
    roster = RosterFacts(
        today=date.fromisoformat(case.get("today", "2026-11-02")),
        departments_then={person_key: case["department_then"]} if "department_then" in case else None,
        baseline="fixture baseline", departments_now=departments,
        feeds=(GroupFeed(target="github:team/acme/web", target_label="team web", target_system="github",
                         idp_group="okta:group/00g1", idp_label="Engineering - Web", idp_system="okta",
                         how="GitHub team synchronisation", idp_members=frozenset(feed.get("idp_members", [])),
                         target_members=frozenset(feed.get("target_members", [])),
                         without_account=frozenset(feed.get("without_account", []))),) if feed else ())
    findings = evaluate(pack, people=people, holdings_of=holdings_of, resources=resources,
                        principals=principals, roster=roster, today=roster.today)
    findings = [f for f in findings if f.person in ("", person_key)]
    return _judge(rule_id, name, case, findings)


def _judge(rule_id: str, name: str, case: dict[str, Any], findings: list[Any]) -> CaseResult:
    expect = case.get("expect")
    if expect == "quiet":
        if findings:
            return CaseResult(rule_id, name, False, f"fired unexpectedly (scopes {[f.scope for f in findings]})")
        return CaseResult(rule_id, name, True)
    if not findings:
        return CaseResult(rule_id, name, False, "did not fire")
    if "count" in case and len(findings) != case["count"]:
        return CaseResult(rule_id, name, False, f"fired {len(findings)} times, expected {case['count']}")
    if "scope" in case and case["scope"] not in {f.scope for f in findings}:
        return CaseResult(rule_id, name, False, f"fired with scopes {[f.scope for f in findings]}, expected {case['scope']!r}")
    for key, wanted in case.get("facts", {}).items():
        got = findings[0].facts.get(key)
        if got != wanted:
            return CaseResult(rule_id, name, False, f"fact {key} is {got!r}, expected {wanted!r}")
    return CaseResult(rule_id, name, True)


def _record(email: str, spec: dict[str, Any]) -> RosterPerson:
    status = spec.get("status", RosterStatus.ACTIVE)
    if status not in RosterStatus.ALL:
        raise InputError(f"roster status {status!r}: expected one of {', '.join(RosterStatus.ALL)}")
    return RosterPerson(email=email, name="Someone", status=status, status_reason=spec.get("reason", ""),
                        manager=spec.get("manager", ""), department=spec.get("department", ""),
                        end=spec.get("end", ""), left_on=spec.get("left_on", ""))
