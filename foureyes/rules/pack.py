"""Rule definitions and their strict TOML loader.

A rule file holds `[[rule]]` tables. Every field is checked: an unknown field, a wrong
type or an unknown capability is one error naming the file, the line and the rule id.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import InputError
from ..model import CAPABILITIES, SEVERITIES

ANY = "any"
CONFLICT, POSTURE = "conflict", "posture"
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
    kind: str  # conflict | posture
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


# ---------------------------------------------------------------- loading

_RULE_FIELDS = {
    "id": str, "title": str, "severity": str, "kind": str, "rationale": str, "controls": list,
    "remediation": str, "all_of": list, "any_of": list, "same": str, "subject": str,
    "suppressed_by": list, "target": str, "match": dict, "when": dict, "exposes": dict, "show": list,
}
_REQUIRED = ("id", "title", "severity", "kind", "rationale", "controls", "remediation")
_REQUIREMENT_FIELDS = {"capability": str, "tier": str, "systems": list, "where": dict}
_MATCH_FIELDS = {"kind": (str, list), "tier": str, "system": str}
_EXPOSES_FIELDS = {"capability": str, "where": dict, "through": dict}
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


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
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in files:
        for rule in load_rule_file(path):
            if rule.id in seen:
                raise InputError(f"{path}: rule {rule.id}: id already defined in {seen[rule.id]}")
            seen[rule.id] = str(path)
            rules.append(rule)
    disabled = set(disable)
    unknown = disabled - set(seen)
    if unknown:
        raise InputError(f"[rules] disable names unknown rule id {sorted(unknown)[0]!r}")
    known = set(seen)
    for rule in rules:
        for other in rule.suppressed_by:
            if other not in known:
                raise InputError(f"{rule.source}: rule {rule.id}: suppressed_by names unknown rule {other!r}")
    return RulePack(tuple(r for r in rules if r.id not in disabled))


def load_rule_file(path: str | Path) -> list[Rule]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise InputError(f"{path}: rule file not found") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"rule"}
    if unknown:
        raise InputError(f"{path}: unknown top-level key {sorted(unknown)[0]!r}; rules go in [[rule]] tables")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise InputError(f"{path}: 'rule' must be an array of tables ([[rule]])")
    lines = text.splitlines()
    return [_parse_rule(raw, str(path), lines, n) for n, raw in enumerate(raw_rules)]


def _parse_rule(raw: dict[str, Any], path: str, lines: list[str], number: int) -> Rule:
    rule_id = raw.get("id") if isinstance(raw.get("id"), str) else f"#{number + 1}"

    def fail(message: str, key: str = "") -> None:
        line = _line_of(lines, rule_id, key)
        where = f"{path}:{line}" if line else path
        raise InputError(f"{where}: rule {rule_id}: {message}")

    for key, value in raw.items():
        if key not in _RULE_FIELDS:
            close = difflib.get_close_matches(key, list(_RULE_FIELDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(f"unknown field {key!r}{hint}", key)
        if not isinstance(value, _RULE_FIELDS[key]):
            fail(f"field {key!r} must be a {_RULE_FIELDS[key].__name__.replace('str', 'string').replace('dict', 'table')}", key)
    for key in _REQUIRED:
        if key not in raw:
            fail(f"missing required field {key!r}")
    if not _ID.match(raw["id"]):
        fail("id must look like FE-SOD-001 (capital letters, digits and dashes)", "id")
    if raw["severity"] not in SEVERITIES:
        fail(f"severity must be one of {', '.join(SEVERITIES)}", "severity")
    if raw["kind"] not in (CONFLICT, POSTURE):
        fail("kind must be 'conflict' or 'posture'", "kind")
    if not all(isinstance(c, str) for c in raw["controls"]):
        fail("controls must be a list of strings", "controls")

    def requirements(key: str) -> tuple[Requirement, ...]:
        out = []
        for item in raw.get(key, []):
            if isinstance(item, str):
                item = {"capability": item}
            if not isinstance(item, dict):
                fail(f"{key} entries must be capability names or tables", key)
            for k, v in item.items():
                if k not in _REQUIREMENT_FIELDS:
                    fail(f"{key}: unknown field {k!r}; expected one of {', '.join(_REQUIREMENT_FIELDS)}", key)
                if not isinstance(v, _REQUIREMENT_FIELDS[k]):
                    fail(f"{key}: field {k!r} has the wrong type", key)
            capability = item.get("capability")
            if capability != "*" and capability not in CAPABILITIES:
                fail(f"{key}: unknown capability {capability!r}; expected one of {', '.join(CAPABILITIES)} or '*'", key)
            out.append(Requirement(capability=capability, tier=item.get("tier", ANY),
                                   systems=tuple(item.get("systems", ())),
                                   where=MappingProxyType(dict(item.get("where", {})))))
        return tuple(out)

    kind = raw["kind"]
    all_of, any_of = requirements("all_of"), requirements("any_of")
    same = raw.get("same", ANY)
    subject = raw.get("subject", ANY)
    match = None
    if kind == CONFLICT:
        if bool(all_of) == bool(any_of):
            fail("a conflict rule needs exactly one of all_of or any_of")
        if same not in ("app", "repo", ANY):
            fail("same must be 'app', 'repo' or 'any'", "same")
        if subject not in (ANY, "linked", "unlinked"):
            fail("subject must be 'any', 'linked' or 'unlinked'", "subject")
        for key in ("target", "match", "when", "exposes", "show"):
            if key in raw:
                fail(f"{key!r} is for posture rules", key)
    else:
        if all_of or any_of:
            fail("a posture rule has match and when, not all_of/any_of")
        if raw.get("target", "resource") not in ("resource", "principal"):
            fail("target must be 'resource' or 'principal'", "target")
        spec = raw.get("match")
        if not isinstance(spec, dict) or "kind" not in spec:
            fail("a posture rule needs match = { kind = ... }", "match")
        for k, v in spec.items():
            if k not in _MATCH_FIELDS or not isinstance(v, _MATCH_FIELDS[k]):
                fail(f"match: unknown or mistyped field {k!r}; expected kind (string or list), tier, system", "match")
        kinds = spec["kind"] if isinstance(spec["kind"], list) else [spec["kind"]]
        match = Match(kinds=tuple(kinds), tier=spec.get("tier", ANY), system=spec.get("system", ""))
        if not raw.get("when"):
            fail("a posture rule needs when = { attribute = value, ... }", "when")
        exposes = _exposes(raw, fail)
        if not all(isinstance(v, str) for v in raw.get("show", [])):
            fail("show must be a list of attribute names", "show")
    return Rule(
        id=raw["id"], title=raw["title"], severity=raw["severity"], kind=kind,
        rationale=raw["rationale"].strip(), controls=tuple(raw["controls"]),
        remediation=raw["remediation"].strip(), all_of=all_of, any_of=any_of, same=same,
        subject=subject, suppressed_by=tuple(raw.get("suppressed_by", ())),
        target=raw.get("target", "resource"), match=match,
        when=MappingProxyType(dict(raw.get("when", {}))), source=path,
        exposes=exposes if kind != CONFLICT else None, show=tuple(raw.get("show", ())),
    )


def _exposes(raw: Mapping[str, Any], fail: Any) -> Exposes | None:
    spec = raw.get("exposes")
    if spec is None:
        return None
    for k, v in spec.items():
        if k not in _EXPOSES_FIELDS or not isinstance(v, _EXPOSES_FIELDS[k]):
            fail(f"exposes: unknown or mistyped field {k!r}; expected capability, where (a table) or through "
                 "(a table)", "exposes")
    target = raw.get("target", "resource")
    if target == "resource" and (not spec.get("capability") or "through" in spec):
        fail("exposes: a rule on resources names the capability that exploits it: { capability = ... }", "exposes")
    if target == "principal" and (not spec.get("through") or "capability" in spec or "where" in spec):
        fail("exposes: a rule on principals names what it is reached through: { through = { attr = value } }",
             "exposes")
    capability = spec.get("capability", "")
    if capability and capability not in CAPABILITIES:
        fail(f"exposes: unknown capability {capability!r}; expected one of {', '.join(CAPABILITIES)}", "exposes")
    return Exposes(capability=capability, where=MappingProxyType(dict(spec.get("where", {}))),
                   through=MappingProxyType(dict(spec.get("through", {}))))


def _line_of(lines: list[str], rule_id: str, key: str) -> int | None:
    """Best effort: the line of ``key`` inside the [[rule]] whose id is ``rule_id``."""
    start = None
    id_re = re.compile(r'^\s*id\s*=\s*["\']%s["\']' % re.escape(rule_id))
    for n, line in enumerate(lines, 1):
        if id_re.match(line):
            start = n
            break
    if start is None:
        return None
    if not key:
        return start
    # the rule's table begins at the [[rule]] header before its id
    begin = start
    while begin > 1 and not lines[begin - 1].strip().startswith("[[rule]]"):
        begin -= 1
    key_re = re.compile(r"^\s*%s\s*=" % re.escape(key))
    for n in range(begin, len(lines) + 1):
        if n > begin and lines[n - 1].strip().startswith("[[rule]]"):
            break
        if key_re.match(lines[n - 1]):
            return n
    return start
