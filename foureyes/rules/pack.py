"""Rule definitions, the shape of a rule file, and its loader.

A rule file holds `[[rule]]` tables. Every field is checked (foureyes/schema.py): an
unknown field, a wrong type or an unknown capability is one error naming the file, the
line and the rule id, with a "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..changes import FACTS
from ..emergency import FACTS as EMERGENCY_FACTS
from ..errors import InputError
from ..model import CAPABILITIES, SEVERITIES, SYSTEMS
from ..schema import (AnyValue, Checked, Choice, Either, EntryVoice, Field, ListOf, MapOf, Schema, Str, Table,
                      close_match)

ANY = "any"
CONFLICT, POSTURE, ROSTER, ACTIVITY = "conflict", "posture", "roster", "activity"
# What a roster rule looks for (rules/roster.py decides each).
LEAVER, ORPHAN, MOVER, GROUP_DRIFT = "leaver", "orphan", "mover", "group-drift"
ROSTER_CONDITIONS = (LEAVER, ORPHAN, MOVER, GROUP_DRIFT)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Requirement:
    """One capability a person must hold for a conflict rule to fire."""

    capability: str  # a capability, or "*" for any
    tier: str = ANY  # a tier name, or "any"
    systems: tuple[str, ...] = ()  # systems of the resource ("aws", "gcp", "github"); empty: all
    where: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # holding attributes that must equal

    def describe(self) -> str:
        parts = [self.capability]
        if self.tier != ANY:
            parts.append(f"in {self.tier}")
        if self.systems:
            parts.append(f"on {'/'.join(self.systems)}")
        if self.where:
            parts.append(", ".join(f"{k}={v}" for k, v in self.where.items()))
        return " ".join(parts)


@dataclass(frozen=True)
class Match:
    """What a posture rule looks at."""

    kinds: tuple[str, ...]  # resource kinds ("environment", "repo") or principal kinds ("role")
    tier: str = ANY
    system: str = ""


@dataclass(frozen=True)
class Exposes:
    """Who can exploit a posture finding: the people holding ``capability`` on the subject
    resource (holdings whose attributes equal ``where``), or the people who can act as the
    subject principal through a principal whose attributes equal ``through``."""

    capability: str = ""
    where: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    through: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def describe(self) -> str:
        if self.capability:
            text = f"people holding {self.capability} on it"
            conditions = [f"{k} = {_toml(v)}" for k, v in self.where.items()]
            return text + (f" ({', '.join(conditions)})" if conditions else "")
        return "people who can act as it through " + ", ".join(f"{k} = {_toml(v)}" for k, v in self.through.items())


def _toml(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    kind: str  # conflict | posture | roster | activity
    rationale: str
    controls: tuple[str, ...]
    remediation: str
    all_of: tuple[Requirement, ...] = ()
    any_of: tuple[Requirement, ...] = ()
    same: str = ANY  # app | repo | any
    subject: str = ANY  # any | linked | unlinked
    suppressed_by: tuple[str, ...] = ()
    target: str = "resource"  # posture: resource | principal
    match: Match | None = None
    when: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    fact: str = ""  # activity: the kind of fact it reports (foureyes.changes.FACTS)
    condition: str = ""  # roster rules: leaver | orphan | mover | group-drift
    source: str = ""
    exposes: Exposes | None = None  # posture: who can exploit it (the finding's blast radius)
    show: tuple[str, ...] = ()  # posture: subject attributes shown as evidence beside `when`

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self.all_of or self.any_of

    @property
    def capabilities(self) -> tuple[str, ...]:
        return tuple(r.capability for r in self.requirements)


@dataclass(frozen=True)
class RulePack:
    rules: tuple[Rule, ...]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


# ---------------------------------------------------------------- the rule file's shape

_ID = r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+"
_CAPABILITY = Choice(CAPABILITIES + ("*",), noun="capability")
_REQUIREMENTS = ListOf(Either((_CAPABILITY, Table({
    "capability": Field(_CAPABILITY, required=True),
    "tier": Field(Str(), default=ANY),
    "systems": Field(ListOf(Choice(SYSTEMS, noun="system"))),
    "where": Field(MapOf(AnyValue())),
})), described="a capability name or a { capability, tier, systems, where } table"))
_MATCH = Table({
    "kind": Field(Either((Str(nonempty=True), ListOf(Str(nonempty=True)))), required=True),
    "tier": Field(Str(), default=ANY),
    "system": Field(Choice(SYSTEMS, noun="system"), default=""),
})
_RULE = Table({
    "id": Field(Str(pattern=_ID, expected="an id like FE-SOD-001 (capital letters, digits and dashes)",
                    must="look like FE-SOD-001 (capital letters, digits and dashes)"), required=True),
    "title": Field(Str(), required=True),
    "severity": Field(Choice(SEVERITIES), required=True),
    "kind": Field(Choice((CONFLICT, POSTURE, ROSTER, ACTIVITY)), required=True),
    "rationale": Field(Str(strip=True), required=True),
    "controls": Field(ListOf(Str(nonempty=True)), required=True),
    "remediation": Field(Str(strip=True), required=True),
    "all_of": Field(_REQUIREMENTS),
    "any_of": Field(_REQUIREMENTS),
    "same": Field(Choice(("app", "repo", ANY)), default=ANY),
    "subject": Field(Choice((ANY, "linked", "unlinked")), default=ANY),
    "suppressed_by": Field(ListOf(Str(nonempty=True))),
    "target": Field(Choice(("resource", "principal")), default="resource"),
    "match": Field(_MATCH, default=None),
    "when": Field(MapOf(AnyValue())),
    "fact": Field(Choice(FACTS + EMERGENCY_FACTS, noun="fact"), default=""),
    "condition": Field(Choice(ROSTER_CONDITIONS), default=""),
    "exposes": Field(Table({
        "capability": Field(Choice(CAPABILITIES, noun="capability"), default=""),
        "where": Field(MapOf(AnyValue())),
        "through": Field(MapOf(AnyValue())),
    }), default=None),
    "show": Field(ListOf(Str(nonempty=True, expected="an attribute name"))),
})


def _rule_label(index: int, raw: Any) -> str:
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    return f"rule {rule_id}" if isinstance(rule_id, str) and rule_id else f"rule #{index + 1}"


RULE_FILE = Schema(Table({"rule": Field(ListOf(_RULE))}, note="rules go in [[rule]] tables"),
                   voice=EntryVoice("rule", _rule_label), missing="rule file not found")


# ---------------------------------------------------------------- loading


def default_pack_files() -> list[Path]:
    folder = importlib_resources.files("foureyes.rules")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


def load_pack(paths: Iterable[str | Path] = (), *, default: bool = True, disable: Iterable[str] = ()) -> RulePack:
    """The default pack (unless ``default`` is false) plus rule files or directories."""
    files: list[Path] = default_pack_files() if default else []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.exists():
            files.append(path)
        else:
            raise InputError(f"{path}: rule file or directory not found ([rules] paths)")
    rules: list[tuple[Rule, Checked, int]] = []
    seen: dict[str, str] = {}
    for path in files:
        checked = RULE_FILE.load(path)
        for index, rule in enumerate(_rules(checked)):
            if rule.id in seen:
                checked.fail(("rule", index, "id"), f"already defined in {seen[rule.id]}")
            seen[rule.id] = str(path)
            rules.append((rule, checked, index))
    disabled = set(disable)
    for rule_id in sorted(disabled - set(seen)):
        hint = close_match(rule_id, seen)
        raise InputError(f"[rules] disable names unknown rule id {rule_id!r}"
                         + (f" (did you mean {hint!r}?)" if hint else "; `foureyes rules list` shows them"))
    for rule, checked, index in rules:
        for n, other in enumerate(rule.suppressed_by):
            if other not in seen:
                hint = close_match(other, seen)
                checked.fail(("rule", index, "suppressed_by", n),
                             f"names unknown rule {other!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
    return RulePack(tuple(r for r, _, _ in rules if r.id not in disabled))


def load_rule_file(path: str | Path) -> list[Rule]:
    return _rules(RULE_FILE.load(Path(path)))


def _rules(checked: Checked) -> list[Rule]:
    return [_rule(raw, checked, index) for index, raw in enumerate(checked.value["rule"])]


def _rule(raw: dict[str, Any], checked: Checked, index: int) -> Rule:
    """A checked [[rule]] table as a Rule, after what its shape cannot say: what each kind needs."""
    at = ("rule", index)
    all_of, any_of = _requirements(raw["all_of"]), _requirements(raw["any_of"])
    if raw["kind"] != ROSTER and raw["condition"]:
        checked.fail(at + ("condition",), "is for roster rules (kind = \"roster\")")
    if raw["kind"] == ROSTER:
        if not raw["condition"]:
            checked.fail(at, f"a roster rule needs condition = one of {', '.join(ROSTER_CONDITIONS)}")
        if raw["condition"] == GROUP_DRIFT and (all_of or any_of):
            checked.fail(at + ("all_of" if all_of else "any_of",), "a group-drift rule looks at groups, not capabilities")
        if raw["condition"] != GROUP_DRIFT and not any_of:
            checked.fail(at, "a roster rule about people needs any_of = [capabilities it looks for]")
        if all_of:
            checked.fail(at + ("all_of",), "a roster rule takes any_of")
        for key in ("target", "match", "when", "exposes", "show", "fact"):
            if key in checked.data["rule"][index]:
                checked.fail(at + (key,), "is for posture rules" if key != "fact" else "is for activity rules")
    elif raw["kind"] == CONFLICT:
        if bool(all_of) == bool(any_of):
            checked.fail(at, "a conflict rule needs exactly one of all_of or any_of")
        for key in ("target", "match", "when", "exposes", "show", "fact"):
            if key in checked.data["rule"][index]:
                checked.fail(at + (key,), "is for posture rules" if key != "fact" else "is for activity rules")
    elif raw["kind"] == ACTIVITY:
        if not raw["fact"]:
            checked.fail(at, f"an activity rule needs fact = one of {', '.join(FACTS + EMERGENCY_FACTS)}")
        for key in ("all_of", "any_of", "target", "match", "same", "subject", "suppressed_by", "exposes", "show"):
            if key in checked.data["rule"][index]:
                checked.fail(at + (key,), "is not for activity rules (they have fact and when)")
    else:
        if all_of or any_of:
            checked.fail(at + ("all_of" if all_of else "any_of",),
                         "a posture rule has match and when, not all_of/any_of")
        if raw["match"] is None:
            checked.fail(at, "a posture rule needs match = { kind = ... }")
        if not raw["when"]:
            checked.fail(at + ("when",), "a posture rule needs when = { attribute = value, ... }")
        _check_exposes(raw, checked, at)
    match = None
    if raw["match"] is not None:
        kinds = raw["match"]["kind"]
        match = Match(kinds=tuple(kinds) if isinstance(kinds, list) else (kinds,), tier=raw["match"]["tier"],
                      system=raw["match"]["system"])
    return Rule(
        id=raw["id"], title=raw["title"], severity=raw["severity"], kind=raw["kind"],
        rationale=raw["rationale"], controls=tuple(raw["controls"]), remediation=raw["remediation"],
        all_of=all_of, any_of=any_of, same=raw["same"], subject=raw["subject"],
        suppressed_by=tuple(raw["suppressed_by"]), target=raw["target"], match=match,
        when=MappingProxyType(dict(raw["when"])), fact=raw["fact"], condition=raw["condition"], source=checked.path,
        exposes=_exposes(raw["exposes"]) if raw["kind"] == POSTURE else None, show=tuple(raw["show"]),
    )


def _check_exposes(raw: dict[str, Any], checked: Checked, at: tuple[Any, ...]) -> None:
    spec = raw["exposes"]
    if spec is None:
        return
    if raw["target"] == "resource" and (not spec["capability"] or spec["through"]):
        checked.fail(at + ("exposes",), "a rule on resources names the capability that exploits it: "
                                        "{ capability = ... }")
    if raw["target"] == "principal" and (not spec["through"] or spec["capability"] or spec["where"]):
        checked.fail(at + ("exposes",), "a rule on principals names what it is reached through: "
                                        "{ through = { attribute = value } }")


def _exposes(spec: dict[str, Any] | None) -> Exposes | None:
    if spec is None:
        return None
    return Exposes(capability=spec["capability"], where=MappingProxyType(dict(spec["where"])),
                   through=MappingProxyType(dict(spec["through"])))


def _requirements(items: list[Any]) -> tuple[Requirement, ...]:
    return tuple(
        Requirement(capability=item) if isinstance(item, str) else
        Requirement(capability=item["capability"], tier=item["tier"], systems=tuple(item["systems"]),
                    where=MappingProxyType(dict(item["where"])))
        for item in items
    )
