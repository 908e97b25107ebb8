"""The AWS IAM policy evaluator: is one action on one resource allowed, and which statement decided?
Pure functions over policy documents; the AWS connector uses it, and so can anyone else.

Use it like this::

    from foureyes.connectors.aws.policy import evaluate

    decision = evaluate(
        "ecs:UpdateService",
        "arn:aws:ecs:us-east-1:111111111111:service/prod/api",
        identity_policies=[policy_document, ...],   # dicts, JSON strings or `Policy`
        boundary=boundary_document,                 # or None
        scps=[[root_scp], [ou_scp], [account_scp]], # root → OU → account; () when none apply
        resource_policy=None,                       # a resource or role trust policy
        context={"aws:PrincipalArn": "arn:aws:iam::111111111111:user/alice"},
    )
    decision.outcome      # "allowed" | "implicit_deny" | "explicit_deny"
    decision.statement    # the Statement that decided (None for most implicit denies)
    decision.uncertain    # conditions it could not resolve, as readable text

The logic follows AWS's documented order (reference §3.1): an explicit Deny in any
policy wins; every SCP level must allow; within one account an Allow in the identity
policies (limited by the boundary) or an Allow for the principal in the resource policy
grants; role trust policies must name the principal. See `evaluate` for the limits.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, Union

ALLOWED = "allowed"
IMPLICIT_DENY = "implicit_deny"
EXPLICIT_DENY = "explicit_deny"
OUTCOMES = (ALLOWED, IMPLICIT_DENY, EXPLICIT_DENY)

IDENTITY, BOUNDARY, SCP, RESOURCE = "identity", "boundary", "scp", "resource"

# The only policy language version that knows policy variables; older documents match `${` literally.
_VARIABLES_VERSION = "2012-10-17"


class PolicyError(ValueError):
    """A policy document that cannot be read (not JSON, not an object, no statements)."""


# ---------------------------------------------------------------- documents


@dataclass(frozen=True, eq=False)
class Policy:
    """One policy document, with a name so a `Decision` can say which policy decided.

    ``source`` is free for the caller (the connector keeps which grant a policy belongs to).
    """

    document: Mapping[str, Any]
    name: str = ""
    source: Any = None
    statements: tuple["_Statement", ...] = field(init=False, repr=False)
    # action -> (Deny statements, Allow statements) whose Action/NotAction covers it (`candidates`)
    _by_action: dict[str, tuple[tuple["_Statement", ...], tuple["_Statement", ...]]] = field(
        init=False, repr=False, default_factory=dict)
    # (action, layer, level) -> `planned`: this object's own (a `Statement` names the policy it is in)
    _planned: dict[tuple[str, str, int], tuple[tuple[Any, ...], tuple[Any, ...]]] = field(
        init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statements", _parse_statements(self.document, self.name))

    def planned(self, action: str, layer: str, level: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(Deny, Allow) statements covering ``action``, as `PolicySet` plans them in ``layer``: each
        with its `Statement`, whether it always applies, its resource matcher, whether that is
        Resource (not NotResource), its conditions' plans. Worked out once per policy: the
        principals that hold a policy share it."""
        key = (action, layer, level)
        found = self._planned.get(key)
        if found is None:
            found = tuple(tuple((Statement(self, stmt.index, layer, level), self, stmt, _always(self, stmt),
                                 stmt.resource_matcher(self.version), stmt.resources is not None,
                                 stmt.plans()) for stmt in statements)
                          for statements in self.candidates(action))  # type: ignore[assignment]
            if len(self._planned) < 65536:
                self._planned[key] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    def candidates(self, action: str) -> tuple[tuple["_Statement", ...], tuple["_Statement", ...]]:
        """(Deny, Allow) statements whose Action or NotAction covers ``action``, worked out once per action."""
        found = self._by_action.get(action)
        if found is None:
            covering = [stmt for stmt in self.statements if stmt.covers_compiled(action)]
            found = (tuple(st for st in covering if st.effect == "Deny"),
                     tuple(st for st in covering if st.effect == "Allow"))
            if len(self._by_action) < 65536:
                self._by_action[action] = found
        return found

    @classmethod
    def of(cls, value: "PolicyInput", name: str = "", source: Any = None) -> "Policy":
        """A `Policy` from a dict, a JSON string, or a `Policy` (returned as is)."""
        if isinstance(value, Policy):
            return value
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise PolicyError(f"policy {name or '(unnamed)'} is not valid JSON: {exc}") from None
        if not isinstance(value, Mapping):
            raise PolicyError(f"policy {name or '(unnamed)'} is not a JSON object")
        return cls(value, name=name, source=source)

    @cached_property
    def version(self) -> str:
        return str(self.document.get("Version", ""))

    def attached(self, name: str, source: Any = None) -> "Policy":
        """The same document under another name and source, sharing the parsed statements."""
        clone = object.__new__(Policy)
        for attr, value in (("document", self.document), ("name", name), ("source", source),
                            ("statements", self.statements), ("_by_action", self._by_action), ("_planned", {})):
            object.__setattr__(clone, attr, value)
        return clone


PolicyInput = Union[Mapping[str, Any], str, bytes, Policy]


@dataclass(frozen=True, eq=False)
class _Statement:
    index: int
    effect: str  # "Allow" | "Deny"
    sid: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None  # None: no Resource element (trust policies)
    not_resources: tuple[str, ...] | None
    principals: Mapping[str, tuple[str, ...]] | None
    not_principals: Mapping[str, tuple[str, ...]] | None
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]
    raw: Mapping[str, Any]
    # action -> does Action/NotAction cover it; few distinct actions are asked, many times
    _covers: dict[str, bool] = field(default_factory=dict, repr=False)
    _compiled: dict[str, Any] = field(default_factory=dict, repr=False)  # matchers and plans, built once

    def covers(self, action: str) -> bool:
        found = self._covers.get(action)
        if found is None:
            if self.actions is not None:
                found = any(action_matches(p, action) for p in self.actions)
            elif self.not_actions is not None:
                found = not any(action_matches(p, action) for p in self.not_actions)
            else:
                found = False
            self._covers[action] = found
        return found

    # -- compiled: the same answers from matchers built once (`PolicySet`)

    def covers_compiled(self, action: str) -> bool:
        matcher = self._compiled.get("actions")
        if matcher is None:
            matcher = self._compiled["actions"] = _ActionMatcher(self.actions if self.actions is not None
                                                                 else self.not_actions or ())
        if self.actions is not None:
            return matcher.matches(action)
        if self.not_actions is not None:
            return not matcher.matches(action)
        return False

    def resource_matcher(self, version: str) -> "_ResourceMatcher | None":
        """Resource (or NotResource) patterns compiled; None when the statement has neither."""
        if "resources" not in self._compiled:
            patterns = self.resources if self.resources is not None else self.not_resources
            self._compiled["resources"] = _ResourceMatcher(patterns, version) if patterns is not None else None
        return self._compiled["resources"]

    def plans(self) -> "tuple[_ConditionPlan, ...]":
        found = self._compiled.get("plans")
        if found is None:
            found = self._compiled["plans"] = tuple(_ConditionPlan(operator, key, values)
                                                    for operator, block in self.conditions.items()
                                                    for key, values in block.items())
        return found


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(_scalar(v) for v in value)
    return (_scalar(value),)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principal_map(value: Any) -> Mapping[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if value == "*":
        return {"AWS": ("*",)}
    if isinstance(value, Mapping):
        return {str(k): _strings(v) for k, v in value.items()}
    return {"AWS": _strings(value)}


def _parse_statements(document: Mapping[str, Any], name: str) -> tuple[_Statement, ...]:
    raw = document.get("Statement")
    if raw is None:
        raise PolicyError(f"policy {name or '(unnamed)'} has no Statement")
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PolicyError(f"policy {name or '(unnamed)'} statement {index + 1} is not an object")
        effect = str(item.get("Effect", ""))
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"policy {name or '(unnamed)'} statement {index + 1} has Effect {effect!r}")
        conditions: dict[str, dict[str, tuple[str, ...]]] = {}
        for operator, block in (item.get("Condition") or {}).items():
            if not isinstance(block, Mapping):
                raise PolicyError(f"policy {name or '(unnamed)'} statement {index + 1}: condition "
                                  f"{operator} is not an object")
            conditions[str(operator)] = {str(k): _strings(v) for k, v in block.items()}
        out.append(_Statement(
            index=index,
            effect=effect,
            sid=str(item.get("Sid", "")),
            actions=_strings(item["Action"]) if "Action" in item else None,
            not_actions=_strings(item["NotAction"]) if "NotAction" in item else None,
            resources=_strings(item["Resource"]) if "Resource" in item else None,
            not_resources=_strings(item["NotResource"]) if "NotResource" in item else None,
            principals=_principal_map(item.get("Principal")),
            not_principals=_principal_map(item.get("NotPrincipal")),
            conditions=conditions,
            raw=item,
        ))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Statement:
    """A statement as a `Decision` reports it: where it sits and what it says."""

    policy: Policy
    index: int  # position in the policy's Statement list, 0-based
    layer: str  # identity | boundary | scp | resource
    level: int = -1  # SCP level (0 = root) for layer "scp"

    @property
    def sid(self) -> str:
        return self.policy.statements[self.index].sid

    @property
    def effect(self) -> str:
        return self.policy.statements[self.index].effect

    @property
    def raw(self) -> Mapping[str, Any]:
        return self.policy.statements[self.index].raw

    def describe(self) -> str:
        """"policy DeployECS statement 2 (Sid AllowDeploy)", for paths and messages."""
        return self._described

    @cached_property
    def _described(self) -> str:  # everything it reads is frozen: worked out once per statement
        where = {IDENTITY: "policy", BOUNDARY: "permissions boundary", SCP: "SCP",
                 RESOURCE: "resource policy"}[self.layer]
        text = f"{where} {self.policy.name}".rstrip() + f" statement {self.index + 1}"
        return text + (f" (Sid {self.sid})" if self.sid else "")


@dataclass(frozen=True)
class Decision:
    """The answer for one request.

    ``statement`` is the statement that decided: the Deny for an explicit deny, the Allow
    that granted for an allow, and None for an implicit deny (``reason`` says which layer
    had no Allow). ``uncertain`` lists conditions on context values the evaluator did not
    know; they were resolved in favour of access. ``allows`` holds every identity-policy
    Allow that matched (to attribute access to policies).
    """

    outcome: str
    statement: Statement | None = None
    uncertain: tuple[str, ...] = ()
    reason: str = ""
    allows: tuple[Statement, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOWED


# ---------------------------------------------------------------- request context

_KNOWN, _ABSENT, _UNKNOWN = "known", "absent", "unknown"
_MISSING = object()
_MULTI = (list, tuple, set, frozenset)  # a context value of several values (a multivalued key)


class RequestContext:
    """Condition-key values of one request; keys are case-insensitive.

    A key with a value is known; a key mapped to None, listed in ``absent`` or starting
    with one of ``absent_prefixes`` is known to be missing from the request; any other
    key is unknown (MFA, source IP, session tags ...).
    """

    def __init__(self, values: Mapping[str, Any] | None = None, *, absent: Iterable[str] = (),
                 absent_prefixes: Iterable[str] = ()):
        self._values: dict[str, Any] = {}
        self._absent = {a.lower() for a in absent}
        for key, value in (values or {}).items():
            if value is None:
                self._absent.add(key.lower())
            else:
                self._values[key.lower()] = value
        self._absent_prefixes = tuple(p.lower() for p in absent_prefixes)

    @classmethod
    def of(cls, value: "RequestContext | Mapping[str, Any] | None") -> "RequestContext":
        return value if isinstance(value, RequestContext) else cls(value)

    def lookup(self, key: str) -> tuple[str, Any]:
        return self.lookup_lowered(key.lower())

    def lookup_lowered(self, k: str) -> tuple[str, Any]:
        """`lookup` of a key already in lower case."""
        found = self._values.get(k, _MISSING)
        if found is not _MISSING:
            return _KNOWN, found
        if k in self._absent or (self._absent_prefixes and any(k.startswith(p) for p in self._absent_prefixes)):
            return _ABSENT, None
        return _UNKNOWN, None

    def with_values(self, values: Mapping[str, Any]) -> "RequestContext":
        """A copy with more (or overriding) values."""
        copy = RequestContext(absent=self._absent, absent_prefixes=self._absent_prefixes)
        copy._values = {**self._values}
        for key, value in values.items():
            if value is None:
                copy._values.pop(key.lower(), None)
                copy._absent.add(key.lower())
            else:
                copy._values[key.lower()] = value
                copy._absent.discard(key.lower())
        return copy

    def get(self, key: str) -> Any:
        state, value = self.lookup(key)
        return value if state == _KNOWN else None


ContextInput = Union[RequestContext, Mapping[str, Any], None]


# ---------------------------------------------------------------- matching

_GLOB_TOKEN = re.compile(r"\$\{([^}]*)\}|(\*)|(\?)|([^$*?]+|\$)")


@lru_cache(maxsize=65536)
def _action_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob_to_regex(pattern), re.IGNORECASE | re.DOTALL)


def _glob_to_regex(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z"


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` anywhere (``iam:*AccessKey*``)."""
    return _action_regex(pattern).match(action) is not None


def _substitute(pattern: str, ctx: RequestContext, version: str) -> tuple[str | None, list[str]]:
    """Policy variables replaced by glob-safe text; unknown ones become ``*`` (noted)."""
    if "${" not in pattern or version != _VARIABLES_VERSION:
        return pattern, []
    notes: list[str] = []
    out = []
    for m in _GLOB_TOKEN.finditer(pattern):
        var, star, question, literal = m.groups()
        if var is None:
            out.append(m.group(0))
            continue
        if var in ("*", "?", "$"):
            out.append("\x00" + var)  # a literal wildcard character, not a wildcard
            continue
        name, _, default = var.partition(",")
        name = name.strip()
        default = default.strip().strip("'\"") if default else None
        state, value = ctx.lookup(name)
        if state == _KNOWN and isinstance(value, _MULTI):
            # AWS: a multivalued context key cannot be used as a policy variable; the element
            # never matches (reference_policies_variables.md, "multivalued context keys").
            return None, []
        if state == _KNOWN:
            out.append(_literal_text(_scalar(value)))
        elif state == _ABSENT:
            if default is None:
                return None, []  # AWS: a variable without a value makes the element not match
            out.append(_literal_text(default))
        else:
            notes.append(f"policy variable ${{{name}}} (unknown at snapshot time)")
            out.append("*")
    return "".join(out), notes


def _literal_text(text: str) -> str:
    return text.replace("*", "\x00*").replace("?", "\x00?")


def _glob_regex_with_literals(pattern: str, *, segment: bool) -> str:
    """Regex for a glob in which ``\\x00X`` is a literal X; ``segment`` keeps ``*`` off ``:``."""
    parts = []
    i = 0
    star = "[^:]*" if segment else ".*"
    one = "[^:]" if segment else "."
    while i < len(pattern):
        c = pattern[i]
        if c == "\x00" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(star if c == "*" else one if c == "?" else re.escape(c))
        i += 1
    return "".join(parts)


@lru_cache(maxsize=65536)
def _arn_regex(pattern: str) -> re.Pattern[str]:
    segments = pattern.split(":", 5)
    if len(segments) < 6:
        return re.compile(_glob_regex_with_literals(pattern, segment=False) + r"\Z", re.DOTALL)
    # Each of the six ARN components matches on its own; the last one may hold colons.
    head = ":".join(_glob_regex_with_literals(s, segment=True) for s in segments[:5])
    return re.compile(head + ":" + _glob_regex_with_literals(segments[5], segment=False) + r"\Z", re.DOTALL)


def arn_matches(pattern: str, arn: str) -> bool:
    """ARN matching as in ``Resource`` and ``ArnLike``: ``*``/``?`` per colon-separated
    component (the resource part may contain colons); ``*`` alone matches anything."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern and "\x00" not in pattern:
        return pattern == arn  # no wildcard: what the regex would match is the text itself
    return _arn_regex(pattern).match(arn) is not None


def _resource_match(patterns: Sequence[str], resource: str, ctx: RequestContext,
                    version: str) -> tuple[bool | None, list[str]]:
    unknown_notes: list[str] = []
    for pattern in patterns:
        text, notes = _substitute(pattern, ctx, version)
        if text is None:
            continue
        if arn_matches(text, resource):
            if not notes:
                return True, []
            unknown_notes.extend(notes)
    if unknown_notes:
        return None, unknown_notes
    return False, []


class _ActionMatcher:
    """Action or NotAction patterns compiled: `action_matches` against any of them, as a set look-up
    for plain names and one regex per service for the rest, answered once per action.

    Only ASCII patterns and actions take the fast way (``str.lower`` and the regex's IGNORECASE
    agree there); anything else is asked of `action_matches` pattern by pattern.
    """

    __slots__ = ("patterns", "everything", "exact", "by_service", "other", "slow", "memo")

    def __init__(self, patterns: Sequence[str]):
        self.patterns = tuple(patterns)
        self.everything = False
        self.exact: set[str] = set()
        names: dict[str, list[str]] = {}
        other: list[str] = []
        self.slow: list[str] = []
        for pattern in self.patterns:
            if not pattern.isascii():
                self.slow.append(pattern)
            elif pattern == "*":
                self.everything = True
            elif "*" not in pattern and "?" not in pattern:
                self.exact.add(pattern.lower())
            else:
                service, colon, name = pattern.partition(":")
                if colon and "*" not in service and "?" not in service:
                    names.setdefault(service.lower(), []).append(name)
                else:
                    other.append(pattern)
        self.by_service = {service: _alternatives(found) for service, found in names.items()}
        self.other = _alternatives(other) if other else None
        self.memo: dict[str, bool] = {}

    def matches(self, action: str) -> bool:
        found = self.memo.get(action)
        if found is None:
            found = self._matches(action)
            if len(self.memo) < 65536:
                self.memo[action] = found
        return found

    def _matches(self, action: str) -> bool:
        if self.everything:
            return True
        if not action.isascii():
            return any(action_matches(p, action) for p in self.patterns)
        lowered = action.lower()
        if lowered in self.exact:
            return True
        service, colon, name = lowered.partition(":")
        regex = self.by_service.get(service) if colon else None
        if regex is not None and regex.match(name) is not None:
            return True
        if self.other is not None and self.other.match(action) is not None:
            return True
        return any(action_matches(p, action) for p in self.slow)


def _alternatives(globs: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_glob_to_regex(g)})" for g in globs), re.IGNORECASE | re.DOTALL)


class _ResourceMatcher:
    """Resource or NotResource patterns compiled: `_resource_match`, with the patterns that hold no
    policy variable as a set of plain ARNs and one regex, remembered per resource (that part does
    not depend on the request's context); patterns with variables are matched as before."""

    __slots__ = ("version", "everything", "exact", "regex", "variable", "memo")

    def __init__(self, patterns: Sequence[str], version: str):
        self.version = version
        self.everything = False
        self.exact: set[str] = set()
        regexes: list[str] = []
        self.variable: list[str] = []
        for pattern in patterns:
            if "${" in pattern and version == _VARIABLES_VERSION:
                self.variable.append(pattern)
            elif pattern == "*":
                self.everything = True
            elif not any(c in pattern for c in "*?\x00"):
                self.exact.add(pattern)
            else:
                regexes.append(_arn_regex(pattern).pattern)
        self.regex = re.compile("|".join(f"(?:{r})" for r in regexes), re.DOTALL) if regexes else None
        self.memo: dict[str, bool] = {}

    def match(self, resource: str, ctx: RequestContext) -> tuple[bool | None, list[str]]:
        static = self.memo.get(resource)
        if static is None:
            static = self.everything or resource in self.exact or (
                self.regex is not None and self.regex.match(resource) is not None)
            if len(self.memo) < 65536:
                self.memo[resource] = static
        if static:
            return True, []
        if not self.variable:
            return False, []
        return _resource_match(self.variable, resource, ctx, self.version)


# ---------------------------------------------------------------- principals


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def _principal_forms(ctx: RequestContext) -> tuple[str, str, str]:
    """(caller ARN, role ARN when the caller is a role or role session, caller account)."""
    arn = str(ctx.get("aws:PrincipalArn") or "")
    account = str(ctx.get("aws:PrincipalAccount") or _account_of(arn))
    role_arn = ""
    if ":role/" in arn:
        role_arn = arn
    else:
        m = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/", arn)
        if m:
            role_arn = f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    return arn, role_arn, account


# How a resource policy's Principal names the caller. DIRECT: the user, the role session or
# everyone ("*"); ROLE: the role ARN (its boundary still applies); ACCOUNT: the caller's account.
_DIRECT, _ROLE, _ACCOUNT = "direct", "role", "account"


def _principal_kind(entries: Mapping[str, tuple[str, ...]] | None, ctx: RequestContext) -> tuple[str | None, list[str]]:
    """How a Principal element names the caller: directly, as its role, by account, or not at all."""
    if not entries:
        return None, []
    arn, role_arn, account = _principal_forms(ctx)
    rank = {_DIRECT: 3, _ROLE: 2, _ACCOUNT: 1}
    best: str | None = None
    notes: list[str] = []

    def better(kind: str) -> None:
        nonlocal best
        if best is None or rank[kind] > rank[best]:
            best = kind

    for value in entries.get("AWS", ()):
        if value == "*":
            better(_DIRECT)
        elif arn and value == arn:
            better(_ROLE if value == role_arn else _DIRECT)
        elif role_arn and value == role_arn:
            better(_ROLE)
        elif role_arn and ":assumed-role/" in value and _account_of(value) == account:
            name = role_arn.rsplit("/", 1)[-1]
            if value.split(":assumed-role/", 1)[1].split("/", 1)[0] == name:
                better(_DIRECT)
                notes.append(f"names a session of role {name} (the session name is the caller's choice)")
        elif account and (value == account or value.endswith(f":iam::{account}:root")):
            better(_ACCOUNT)
    return best, notes


def _not_principal_excludes(entries: Mapping[str, tuple[str, ...]], ctx: RequestContext) -> bool:
    """Does NotPrincipal spare the caller? Only when it names the caller's account *and* the
    caller (user, role or role session): AWS checks the account, then the principal, so
    naming one alone excludes nobody (reference_policies_elements_notprincipal, "denies all
    principals except the user named Bob"). A role named without its session is taken as
    sparing the session, in favour of access."""
    values = entries.get("AWS", ())
    if "*" in values:
        return True
    kind, _ = _principal_kind({"AWS": values}, ctx)
    if kind not in (_DIRECT, _ROLE):
        return False
    _, _, account = _principal_forms(ctx)
    return any(v == account or v.endswith(f":iam::{account}:root") for v in values) if account else True


# ---------------------------------------------------------------- conditions

_SET_PREFIXES = ("foranyvalue:", "forallvalues:")
_NEGATED = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "numericnotequals",
            "datenotequals", "notipaddress", "arnnotequals", "arnnotlike"}


def _parse_operator(operator: str) -> tuple[str, str, bool]:
    """("foranyvalue"|"forallvalues"|"", base operator lowercased, IfExists)."""
    text = operator.strip()
    qualifier = ""
    lowered = text.lower()
    for prefix in _SET_PREFIXES:
        if lowered.startswith(prefix):
            qualifier = prefix[:-1]
            text = text[len(prefix):]
            lowered = text.lower()
            break
    if_exists = lowered.endswith("ifexists")
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    return qualifier, lowered, if_exists


def _to_number(value: str) -> float | None:
    """A finite number, or None: ``nan``, ``inf`` and text are not numbers to IAM."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _to_date(value: str) -> datetime | None:
    """ISO 8601 or epoch seconds; None for anything else, including epochs no date can hold."""
    text = str(value).strip()
    number = _to_number(text)
    if number is not None:
        try:
            return datetime.fromtimestamp(number, tz=timezone.utc)
        except (OverflowError, ValueError, OSError):  # 1704067199999 (milliseconds), 1e20, -1e20
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@lru_cache(maxsize=16384)
def _string_like_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob_regex_with_literals(pattern, segment=False) + r"\Z", re.DOTALL)


_BOOLEANS = ("true", "false")
_NUMERIC = {"numericequals": lambda a, b: a == b, "numericnotequals": lambda a, b: a == b,
            "numericlessthan": lambda a, b: a < b, "numericlessthanequals": lambda a, b: a <= b,
            "numericgreaterthan": lambda a, b: a > b, "numericgreaterthanequals": lambda a, b: a >= b}
_DATES = {"date" + k[len("numeric"):]: v for k, v in _NUMERIC.items()}


def _is_arn(text: str) -> bool:
    return text.startswith("arn:") and text.count(":") >= 5


def _compare(op: str, have: str, want: str) -> bool | None:
    """The positive form of ``op`` for one request value against one policy value.

    None when either side is not of the operator's type (a number, a date, true/false,
    an IP address, an ARN): such a pair matches under neither the operator nor its
    negation, as the evaluator of cloud-copilot/iam-simulate's published tests does.
    """
    if op in ("stringequals", "stringnotequals"):
        return have == want
    if op in ("stringequalsignorecase", "stringnotequalsignorecase"):
        return have.lower() == want.lower()
    if op in ("stringlike", "stringnotlike"):
        return _string_like_regex(want).match(have) is not None
    if op in _NUMERIC:
        a, b = _to_number(have), _to_number(want)
        return None if a is None or b is None else _NUMERIC[op](a, b)
    if op in _DATES:
        x, y = _to_date(have), _to_date(want)
        return None if x is None or y is None else _DATES[op](x, y)
    if op == "bool":
        a, b = have.lower(), want.lower()
        return a == b if a in _BOOLEANS and b in _BOOLEANS else None
    if op == "binaryequals":
        return have == want
    if op in ("ipaddress", "notipaddress"):
        try:
            return ipaddress.ip_address(have.strip()) in ipaddress.ip_network(want.strip(), strict=False)
        except (ValueError, TypeError):
            return None
    if op in ("arnequals", "arnlike", "arnnotequals", "arnnotlike"):
        return arn_matches(want, have) if _is_arn(have) else None
    raise KeyError(op)


_KNOWN_OPERATORS = {
    "stringequals", "stringnotequals", "stringequalsignorecase", "stringnotequalsignorecase",
    "stringlike", "stringnotlike", "numericequals", "numericnotequals", "numericlessthan",
    "numericlessthanequals", "numericgreaterthan", "numericgreaterthanequals", "dateequals",
    "datenotequals", "datelessthan", "datelessthanequals", "dategreaterthan",
    "dategreaterthanequals", "bool", "binaryequals", "ipaddress", "notipaddress", "arnequals",
    "arnlike", "arnnotequals", "arnnotlike", "null",
}
_KEEP_ESCAPES = {"stringlike", "stringnotlike", "arnlike", "arnnotlike", "arnequals", "arnnotequals"}


def _condition_text(operator: str, key: str, values: Sequence[str]) -> str:
    shown = values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"
    return f"{key} {operator} {shown}"


def _null(qualifier: str, values: tuple[str, ...], state: str, text: str) -> tuple[bool | None, list[str]]:
    """``Null``: is the key absent? Several values are ORed, so ``[true, false]`` always holds.

    ``ForAllValues:Null`` holds and ``ForAnyValue:Null`` fails on an absent key, whatever the
    values, like every set operator (reference_policies_condition-single-vs-multi-valued-context-keys).
    Any value but ``true`` asks for the key to be present, as ``false`` does.
    """
    wanted = {"true" if v.lower() == "true" else "false" for v in values}

    def outcome(absent: bool) -> bool:
        if absent and qualifier == "forallvalues":
            return True
        if absent and qualifier == "foranyvalue":
            return False
        return ("true" if absent else "false") in wanted

    if state != _UNKNOWN:
        return outcome(state == _ABSENT), []
    if outcome(True) == outcome(False):
        return outcome(True), []
    return None, [f"{text} (unknown at snapshot time)"]


class _ConditionPlan:
    """One condition (operator, key, values) read once: its operator parsed, its text for notes,
    and the values as they are compared when no policy variable has to be put in."""

    __slots__ = ("key", "lowered", "values", "qualifier", "op", "if_exists", "text", "known", "negated", "variables",
                 "literal", "match", "memo")

    def __init__(self, operator: str, key: str, values: tuple[str, ...]):
        self.key, self.lowered, self.values = key, key.lower(), values
        self.qualifier, self.op, self.if_exists = _parse_operator(operator)
        self.text = _condition_text(operator, key, values)
        self.known = self.op in _KNOWN_OPERATORS
        self.negated = self.op in _NEGATED
        self.variables = any("${" in v for v in values)
        self.literal = [v if self.op in _KEEP_ESCAPES else v.replace("\x00", "") for v in values]
        # String operators against the literal values, as one look-up: does any value match?
        self.match: Any = None
        if self.op in ("stringequals", "stringnotequals"):
            self.match = frozenset(self.literal).__contains__
        elif self.op in ("stringequalsignorecase", "stringnotequalsignorecase"):
            lowered = frozenset(v.lower() for v in self.literal)
            self.match = lambda have: have.lower() in lowered
        elif self.op in ("stringlike", "stringnotlike") and self.literal:
            regex = re.compile("|".join(f"(?:{_string_like_regex(v).pattern})" for v in self.literal), re.DOTALL)
            self.match = lambda have: regex.match(have) is not None
        elif self.op in ("stringlike", "stringnotlike"):
            self.match = lambda have: False
        # `_check_condition`'s answers by the request's value (a text) or state (absent, unknown): without
        # policy variables nothing else is read. The answers are shared: callers only read them.
        self.memo: dict[Any, tuple[bool | None, list[str]]] | None = None if self.variables else {}


def _one_condition(operator: str, key: str, values: tuple[str, ...], ctx: RequestContext,
                   version: str) -> tuple[bool | None, list[str]]:
    return _check_condition(_ConditionPlan(operator, key, values), ctx, version)


_STATE_KEYS = {_ABSENT: (_ABSENT,), _UNKNOWN: (_UNKNOWN,)}  # memo keys apart from any text value


def _check_condition(plan: _ConditionPlan, ctx: RequestContext, version: str) -> tuple[bool | None, list[str]]:
    state, have = ctx.lookup_lowered(plan.lowered)
    memo = plan.memo
    if memo is None:
        return _check_condition_now(plan, ctx, version, state, have)
    key = have if state is _KNOWN else _STATE_KEYS[state]
    if state is _KNOWN and type(have) is not str:  # several values, or not a text: not remembered
        return _check_condition_now(plan, ctx, version, state, have)
    found = memo.get(key)
    if found is None:
        found = _check_condition_now(plan, ctx, version, state, have)
        if len(memo) < 4096:
            memo[key] = found
    return found


def _check_condition_now(plan: _ConditionPlan, ctx: RequestContext, version: str, state: str,
                         have: Any) -> tuple[bool | None, list[str]]:
    qualifier, op, if_exists, text = plan.qualifier, plan.op, plan.if_exists, plan.text
    if not plan.known:
        return None, [f"{text} (operator not understood)"]
    if op == "null":
        return _null(qualifier, plan.values, state, text)
    if state == _UNKNOWN:
        return None, [f"{text} (unknown at snapshot time)"]
    negated = plan.negated
    if state == _ABSENT:
        if if_exists or qualifier == "forallvalues":
            return True, []
        if qualifier == "foranyvalue":
            return False, []
        return negated, []
    wanted: list[str] = []
    notes: list[str] = []
    broken = False  # a value whose variable cannot be resolved: it never matches
    if not plan.variables or version != _VARIABLES_VERSION:
        if plan.match is not None:  # a string operator: one look-up per request value
            matches = plan.match
            request_values = [_scalar(v) for v in have] if isinstance(have, _MULTI) else [_scalar(have)]
            if qualifier == "forallvalues":
                return all((not matches(v)) if negated else matches(v) for v in request_values), []
            return any((not matches(v)) if negated else matches(v) for v in request_values), []
        wanted = plan.literal
    else:
        for value in plan.values:
            substituted, var_notes = _substitute(value, ctx, version)
            if substituted is None:
                broken = True
                continue
            if var_notes:
                notes.extend(var_notes)
                continue  # a value we cannot compute: this comparison is unknown
            wanted.append(substituted if op in _KEEP_ESCAPES else substituted.replace("\x00", ""))
    request_values = [_scalar(v) for v in have] if isinstance(have, _MULTI) else [_scalar(have)]

    def holds(value: str) -> bool:
        found = [_compare(op, value, w) for w in wanted]
        if negated:  # no policy value matches, and every one was comparable
            return not broken and all(f is False for f in found)
        return any(f is True for f in found)

    if qualifier == "forallvalues":
        result = all(holds(v) for v in request_values)
    else:  # ForAnyValue, or a plain operator (a multi-valued key then behaves as ForAnyValue)
        result = any(holds(v) for v in request_values)
    # Values we could not compute can only add matches (or, negated, remove them).
    if notes and result == negated:
        return None, [f"{text} ({'; '.join(notes)})"]
    return result, []


def _conditions(stmt: _Statement, ctx: RequestContext, version: str,
                compiled: bool = False) -> tuple[bool | None, list[str]]:
    notes: list[str] = []
    unknown = False
    plans = stmt.plans() if compiled else (_ConditionPlan(operator, key, values)
                                           for operator, block in stmt.conditions.items()
                                           for key, values in block.items())
    for plan in plans:
        result, found = _check_condition(plan, ctx, version)
        if result is False:
            return False, []
        if result is None:
            unknown = True
            notes.extend(found)
    return (None, notes) if unknown else (True, [])


# ---------------------------------------------------------------- statement applicability


def _applies(policy: Policy, stmt: _Statement, action: str, resource: str, ctx: RequestContext,
             *, with_principal: bool, has_boundary: bool = False,
             compiled: bool = False) -> tuple[bool | None, list[str], str | None]:
    """Does the statement apply? (True/None for unknown/False, notes, how the principal is named).

    ``compiled``: the statement is one of `Policy.candidates` (its Action covers the action), and
    its resource patterns and conditions are read through the matchers and plans built once."""
    if not compiled and not stmt.covers(action):
        return False, [], None
    notes: list[str] = []
    unknown = False
    if stmt.resources is not None:
        matched, found = (stmt.resource_matcher(policy.version).match(resource, ctx) if compiled  # type: ignore[union-attr]
                          else _resource_match(stmt.resources, resource, ctx, policy.version))
        if matched is False:
            return False, [], None
        if matched is None:
            unknown = True
            notes.extend(found)
    elif stmt.not_resources is not None:
        matched, found = (stmt.resource_matcher(policy.version).match(resource, ctx) if compiled  # type: ignore[union-attr]
                          else _resource_match(stmt.not_resources, resource, ctx, policy.version))
        if matched is True:
            return False, [], None
        if matched is None:
            unknown = True
            notes.extend(found)
    principal_kind = None
    if with_principal:
        if stmt.principals is not None:
            principal_kind, found = _principal_kind(stmt.principals, ctx)
            if principal_kind is None:
                return False, [], None
            if found:
                unknown = True
                notes.extend(found)
        elif stmt.not_principals is not None:
            # AWS: a Deny with NotPrincipal in a resource policy always denies a caller that has a
            # permissions boundary, whatever NotPrincipal names (reference_policies_elements_notprincipal).
            if not (has_boundary and stmt.effect == "Deny") and _not_principal_excludes(stmt.not_principals, ctx):
                return False, [], None
            principal_kind = _DIRECT
        else:
            return False, [], None
    if not stmt.conditions:
        return (None if unknown else True), notes, principal_kind
    result, found = _conditions(stmt, ctx, policy.version, compiled)
    if result is False:
        return False, [], None
    if result is None:
        unknown = True
        notes.extend(found)
    return (None if unknown else True), notes, principal_kind


def _located(policy: Policy, stmt: _Statement, layer: str, level: int, notes: Iterable[str]) -> list[str]:
    where = Statement(policy, stmt.index, layer, level).describe()
    return [f"{n} — {where}" for n in notes]


class _LayerResult:
    """The statements of one layer that apply (certain) or may apply (maybe, with why unknown)."""

    __slots__ = ("certain", "maybe", "principal")

    def __init__(self, certain: list[Statement] | None = None,
                 maybe: list[tuple[Statement, list[str]]] | None = None) -> None:
        self.certain: list[Statement] = [] if certain is None else certain
        self.maybe: list[tuple[Statement, list[str]]] = [] if maybe is None else maybe
        self.principal: dict[int, str] = {}  # id(Statement) -> how named

    @property
    def any(self) -> bool:
        return bool(self.certain or self.maybe)

    def first(self) -> Statement | None:
        if self.certain:
            return self.certain[0]
        return self.maybe[0][0] if self.maybe else None

    def notes(self) -> list[str]:
        """Uncertainty that matters: none when a certain statement already decides."""
        if self.certain:
            return []
        return [n for _, ns in self.maybe for n in ns]

    def statements(self) -> list[Statement]:
        return self.certain + [s for s, _ in self.maybe]

    def notes_for(self, statement: Statement) -> list[str]:
        return next((ns for s, ns in self.maybe if s is statement), [])


def _scan(policies: Sequence[Policy], effect: str, layer: str, action: str, resource: str,
          ctx: RequestContext, *, level: int = -1, with_principal: bool = False,
          has_boundary: bool = False) -> _LayerResult:
    out = _LayerResult()
    for policy in policies:
        for stmt in policy.statements:
            if stmt.effect != effect:
                continue
            applies, notes, kind = _applies(policy, stmt, action, resource, ctx, with_principal=with_principal,
                                            has_boundary=has_boundary)
            if applies is False:
                continue
            found = Statement(policy, stmt.index, layer, level)
            if kind:
                out.principal[id(found)] = kind
            if applies:
                out.certain.append(found)
            else:
                out.maybe.append((found, _located(policy, stmt, layer, level, notes)))
    return out


# ---------------------------------------------------------------- writes AWS refuses

# Some writes fail whatever any policy says, so no policy may turn them into a path:
# - IAM Identity Center roles ("Cannot perform the operation on the protected role
#   'AWSReservedSSO_…' - this role is only modifiable by AWS": AWS re:Post knowledge
#   center, identity-center-aws-reserved-sso; IAM Identity Center User Guide, "Using
#   service-linked roles for IAM Identity Center", which lists these actions as the ones
#   only IAM Identity Center performs on role/aws-reserved/sso.amazonaws.com/*);
# - service-linked roles (IAM API Reference, error UnmodifiableEntity: "service-linked roles
#   are protected AWS resources. Only the service that depends on the service-linked role
#   can modify or delete the role");
# - AWS managed policies ("You can't change the permissions in AWS managed policies",
#   IAM User Guide, "AWS managed policies");
# - KMS aliases under alias/aws/ ("The alias/aws/ prefix is reserved for AWS managed
#   keys", AWS KMS Developer Guide, "Create aliases").
_ROLE_WRITES = ("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
                "iam:DeleteRolePermissionsBoundary", "iam:DeleteRole")
_PROTECTED_PLACES = (
    (re.compile(r"^arn:[^:]*:iam::[^:]*:role/aws-reserved/sso\.amazonaws\.com/"),
     _ROLE_WRITES + ("iam:UpdateRole", "iam:UpdateRoleDescription"),
     "IAM Identity Center roles (aws-reserved/sso.amazonaws.com/) are only modifiable by IAM Identity Center"),
    (re.compile(r"^arn:[^:]*:iam::[^:]*:role/aws-service-role/"), _ROLE_WRITES,
     "service-linked roles are protected: only the service that depends on one modifies it (UnmodifiableEntity)"),
    (re.compile(r"^arn:[^:]*:iam::aws:policy/"),
     ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"),
     "AWS managed policies cannot be changed: only AWS versions them"),
    (re.compile(r"^arn:[^:]*:kms:[^:]*:[^:]*:alias/aws/"),
     ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"),
     "the alias/aws/ prefix is reserved for AWS managed keys"),
)
_PROTECTED: dict[str, list[tuple[re.Pattern[str], str]]] = {}
for _where, _actions, _why in _PROTECTED_PLACES:
    for _action in _actions:
        _PROTECTED.setdefault(_action.lower(), []).append((_where, _why))
del _where, _actions, _why, _action


def refused_by_aws(action: str, resource: str) -> str | None:
    """Why AWS refuses this write whatever the policies say, or None when it does not."""
    places = _PROTECTED.get(action.lower())
    if places:
        for where, why in places:
            if where.match(resource):
                return f"AWS refuses {action} on {resource}: {why}"
    return None


# ---------------------------------------------------------------- evaluate


def evaluate(
    action: str,
    resource: str,
    *,
    identity_policies: Sequence[PolicyInput],
    boundary: PolicyInput | None = None,
    scps: Sequence[Sequence[PolicyInput]] = (),
    resource_policy: PolicyInput | None = None,
    context: ContextInput = None,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide one request the way AWS does, and say which statement decided.

    ``action`` is ``service:Action``; ``resource`` the ARN the action acts on (``*`` for
    actions that take no resource). ``identity_policies`` are all the principal's
    identity policies (for a user: its own and its groups'); ``boundary`` its permissions
    boundary; ``scps`` one list of SCP documents per level from the root through each OU
    to the account (empty when no SCP applies: no organization, the management account,
    service-linked roles); ``resource_policy`` a resource-based policy or a role trust
    policy; ``resource_policy_required`` says it must name the principal itself (role trust
    and KMS key policies). ``context`` maps condition keys to values; ``aws:PrincipalArn``
    identifies the caller to the resource policy.

    Order, as AWS documents it: an explicit Deny anywhere wins; each SCP level needs an
    Allow; within one account an Allow for the caller's user or role-session ARN in the
    resource policy suffices, one for a role ARN still needs the boundary, one for the
    account (root) delegates to identity policies; otherwise identity policies must allow
    and the boundary (if any) must allow too. Across accounts both sides must allow.

    Unknown context: a condition on a key the context does not know (MFA, source IP,
    request tags, ...) or a policy variable without a value is *uncertain*. Uncertainty
    is always resolved in favour of access — an Allow that may apply counts, a Deny that
    may apply does not — and every such condition is listed in ``Decision.uncertain``.
    foureyes must never hide access because it could not prove a condition false.

    Writes AWS refuses whatever a policy says (`refused_by_aws`: changing IAM Identity
    Center and service-linked roles, versioning AWS managed policies, ``alias/aws/`` KMS
    aliases) are an implicit deny whose ``reason`` says so. A condition value of the wrong
    type for its operator (not a number, date, true/false, IP address or ARN; an epoch no
    date can hold; ``nan``) matches under neither the operator nor its negation.

    Limits: no session policies, resource control policies, VPC endpoint policies or
    ACLs; ``NotPrincipal`` spares a caller whose account and ARN it both names (a role
    ARN spares its sessions; a Deny with ``NotPrincipal`` still applies to a caller with a
    permissions boundary); a resource's
    account is read from its ARN (S3 ARNs have none: same account assumed); condition
    operators outside ``String*``, ``Numeric*``, ``Date*``, ``Bool``, ``Binary``,
    ``IpAddress``, ``Arn*`` and ``Null`` are uncertain; action names are matched as
    text, so a pattern naming no real action is not detected.
    """
    refusal = refused_by_aws(action, resource)
    if refusal is not None:
        return Decision(IMPLICIT_DENY, None, (), refusal)
    ctx = RequestContext.of(context)
    identity = [Policy.of(p, name=f"identity policy {i + 1}") for i, p in enumerate(identity_policies)]
    bound = Policy.of(boundary, name="permissions boundary") if boundary is not None else None
    levels = [[Policy.of(p, name=f"SCP {i + 1}.{j + 1}") for j, p in enumerate(level)]
              for i, level in enumerate(scps)]
    res = Policy.of(resource_policy, name="resource policy") if resource_policy is not None else None
    layers = {IDENTITY: identity, BOUNDARY: [bound] if bound is not None else [], RESOURCE: [res] if res else []}

    def scan(layer: str, effect: str, level: int = -1) -> _LayerResult:
        return _scan(levels[level] if layer == SCP else layers[layer], effect, layer, action, resource, ctx,
                     level=level, with_principal=layer == RESOURCE, has_boundary=bound is not None)

    return _decide(action, resource, ctx, scan, has_boundary=bound is not None, levels=len(levels),
                   has_resource_policy=res is not None, resource_policy_required=resource_policy_required)


def _decide(action: str, resource: str, ctx: RequestContext, scan: Callable[..., _LayerResult], *,
            has_boundary: bool, levels: int, has_resource_policy: bool,
            resource_policy_required: bool) -> Decision:
    """AWS's order of evaluation over layers that ``scan(layer, effect, level)`` reads: the same for
    `evaluate` (policies as given) and `PolicySet.evaluate` (compiled)."""
    uncertain: list[str] = []

    # 1. An explicit Deny in any policy that applies wins.
    deny_layers: list[_LayerResult] = [scan(IDENTITY, "Deny")]
    if has_boundary:
        deny_layers.append(scan(BOUNDARY, "Deny"))
    for i in range(levels):
        deny_layers.append(scan(SCP, "Deny", i))
    if has_resource_policy:
        deny_layers.append(scan(RESOURCE, "Deny"))
    for layer in deny_layers:
        if layer.certain:
            return Decision(EXPLICIT_DENY, layer.certain[0], (), "explicit deny")
    for layer in deny_layers:
        # A Deny we cannot decide might not apply: access stays possible, and we say why.
        uncertain.extend(n for _, ns in layer.maybe for n in ns)

    # 2. Every SCP level (root → OU → account) must allow.
    for i in range(levels):
        allowed = scan(SCP, "Allow", i)
        if not allowed.any:
            where = "the root" if i == 0 else f"organization level {i + 1}"
            return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), f"no SCP at {where} allows {action}")
        uncertain.extend(allowed.notes())

    identity_allow = scan(IDENTITY, "Allow")
    boundary_allow = scan(BOUNDARY, "Allow") if has_boundary else None
    boundary_ok = boundary_allow is None or boundary_allow.any
    identity_ok = identity_allow.any and boundary_ok

    def identity_notes() -> list[str]:
        return identity_allow.notes() + (boundary_allow.notes() if boundary_allow is not None else [])

    # 3. The resource (or trust) policy.
    if has_resource_policy:
        caller, role_arn, caller_account = _principal_forms(ctx)
        resource_account = _account_of(resource)
        cross_account = bool(caller_account and resource_account and caller_account != resource_account)
        res_allow = scan(RESOURCE, "Allow")
        kinds = res_allow.principal
        direct = [s for s in res_allow.statements() if kinds.get(id(s)) == _DIRECT]
        as_role = [s for s in res_allow.statements() if kinds.get(id(s)) == _ROLE]
        by_account = [s for s in res_allow.statements() if kinds.get(id(s)) == _ACCOUNT]
        if cross_account:
            if not res_allow.any:
                return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                                "cross-account: the resource policy does not allow the caller")
            if not identity_ok:
                return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                                _identity_reason(identity_allow, boundary_allow, action))
            return Decision(ALLOWED, identity_allow.first(),
                            _dedupe(uncertain + res_allow.notes_for(res_allow.statements()[0]) + identity_notes()),
                            "allowed", tuple(identity_allow.statements()))
        # Same account: an Allow naming the user or session needs nothing else; one naming
        # the role ARN is still limited by the role's boundary.
        if direct:
            return Decision(ALLOWED, direct[0], _dedupe(uncertain + res_allow.notes_for(direct[0])),
                            "allowed by the resource policy", tuple(identity_allow.statements()))
        if as_role and boundary_ok:
            return Decision(ALLOWED, as_role[0],
                            _dedupe(uncertain + res_allow.notes_for(as_role[0])
                                    + (boundary_allow.notes() if boundary_allow else [])),
                            "allowed by the resource policy", tuple(identity_allow.statements()))
        named = direct + as_role
        if resource_policy_required and not (named or by_account):
            return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                            "the trust policy does not name the caller or its account")
        if identity_ok:
            return Decision(ALLOWED, identity_allow.first(),
                            _dedupe(uncertain + (res_allow.notes_for((named + by_account)[0])
                                                 if resource_policy_required else []) + identity_notes()),
                            "allowed", tuple(identity_allow.statements()))
        return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                        _identity_reason(identity_allow, boundary_allow, action))

    # 4. Identity policies, capped by the boundary.
    if not identity_ok:
        return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), _identity_reason(identity_allow, boundary_allow, action))
    return Decision(ALLOWED, identity_allow.first(), _dedupe(uncertain + identity_notes()), "allowed",
                    tuple(identity_allow.statements()))


def _identity_reason(identity_allow: _LayerResult, boundary_allow: _LayerResult | None, action: str) -> str:
    return _no_allow_reason(identity_allow.any, action)


def _no_allow_reason(identity_allows: bool, action: str) -> str:
    if not identity_allows:
        return f"no identity policy allows {action}"
    return f"the permissions boundary does not allow {action}"


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items)) if items else ()


# ---------------------------------------------------------------- compiled


class PolicySet:
    """A principal's identity policies, boundary and SCPs, compiled for many evaluations.

    ``PolicySet(identity_policies, boundary, scps).evaluate(action, resource, context=...)`` decides
    exactly as `evaluate` with the same arguments does (tests/test_aws_policy_properties.py checks
    it on random policies and requests), but reads each policy once: per action, which statements
    cover it (a set look-up and a regex per service: `_ActionMatcher`), per statement its resources
    (a set of plain ARNs and one regex, remembered per resource: `_ResourceMatcher`) and its
    conditions (operators parsed once: `_ConditionPlan`, each remembering its answer per request value).
    Per action, the layers that can matter are listed once (`_ActionPlan.prepare`): SCP levels that allow
    the action whatever the request are passed over, and a decision without a resource policy that
    depends on nothing in the request is made once. An evaluation is then a few dictionary look-ups and
    the statements that cover its action. The memo of each matcher is bounded.
    """

    def __init__(self, identity_policies: Sequence[PolicyInput] = (), boundary: PolicyInput | None = None,
                 scps: Sequence[Sequence[PolicyInput]] = ()):
        self.identity = tuple(Policy.of(p, name=f"identity policy {i + 1}") for i, p in enumerate(identity_policies))
        self.boundary = Policy.of(boundary, name="permissions boundary") if boundary is not None else None
        self.scps = tuple(tuple(Policy.of(p, name=f"SCP {i + 1}.{j + 1}") for j, p in enumerate(level))
                          for i, level in enumerate(scps))
        self._plans: dict[str, _ActionPlan] = {}

    def compile(self, actions: Iterable[str]) -> "PolicySet":
        """Build the plans and matchers for ``actions`` now (they are otherwise built on first use)."""
        for action in actions:
            for candidates in self._plan(action).statements.values():
                for _, _, stmt, *_ in candidates:
                    stmt.plans()
        return self

    def _plan(self, action: str) -> "_ActionPlan":
        """What is known of ``action`` before any resource: the statements covering it per layer."""
        plan = self._plans.get(action)
        if plan is None:
            layers: list[tuple[str, int, Sequence[Policy]]] = [(IDENTITY, -1, self.identity)]
            if self.boundary is not None:
                layers.append((BOUNDARY, -1, (self.boundary,)))
            layers += [(SCP, i, level) for i, level in enumerate(self.scps)]
            plan = _ActionPlan(_PROTECTED.get(action.lower()) is not None)
            for layer, level, policies in layers:
                planned = [policy.planned(action, layer, level) for policy in policies]
                for effect, index in (("Deny", 0), ("Allow", 1)):
                    found = planned[0][index] if len(planned) == 1 else tuple(c for p in planned for c in p[index])
                    plan.statements[(layer, effect, level)] = found
                    if found and all(candidate[3] for candidate in found):  # whatever the resource and context
                        plan.constant[(layer, effect, level)] = _LayerResult(certain=[c[0] for c in found])
            plan.prepare(self.boundary is not None, len(self.scps), action)
            if len(self._plans) < 4096:
                self._plans[action] = plan
        return plan

    def evaluate(self, action: str, resource: str, *, resource_policy: PolicyInput | None = None,
                 context: ContextInput = None, resource_policy_required: bool = False) -> Decision:
        """`evaluate` with this set's identity policies, boundary and SCPs."""
        plan = self._plans.get(action)
        if plan is None:
            plan = self._plan(action)
        if plan.refusable:
            refusal = refused_by_aws(action, resource)
            if refusal is not None:
                return Decision(IMPLICIT_DENY, None, (), refusal)
        ctx = RequestContext.of(context)
        if resource_policy is None:
            if plan.decided is not None:  # the same whatever the resource and context
                return plan.decided
            return _decide_planned(plan, action, resource, ctx)
        res = Policy.of(resource_policy, name="resource policy")
        has_boundary = self.boundary is not None

        def scan(layer: str, effect: str, level: int = -1) -> _LayerResult:
            if layer == RESOURCE:
                return _scan_resource_policy(res, effect, action, resource, ctx, has_boundary)
            key = (layer, effect, level)
            constant = plan.constant.get(key)
            if constant is not None:
                return constant
            return _scan_planned(plan.statements[key], layer, level, resource, ctx)

        return _decide(action, resource, ctx, scan, has_boundary=has_boundary, levels=len(self.scps),
                       has_resource_policy=True, resource_policy_required=resource_policy_required)


def _scan_planned(candidates: tuple[Any, ...], layer: str, level: int, resource: str,
                  ctx: RequestContext) -> _LayerResult:
    """`_scan` of one layer through its plan: `_applies` of each statement (outside a resource policy: no
    principal), with what the plan knows: it covers the action, its resource matcher, its conditions'
    plans."""
    if not candidates:
        return _NOTHING
    out = _LayerResult()
    for statement, policy, stmt, always, matcher, positive, conditions in candidates:
        if always:
            out.certain.append(statement)
            continue
        unknown, notes = False, []
        if matcher is not None:
            matched, found = matcher.match(resource, ctx)
            if matched is (False if positive else True):  # a Resource that misses, a NotResource that hits
                continue
            if matched is None:
                unknown = True
                notes.extend(found)
        if conditions:  # `_conditions`: one that fails rules the statement out, unknown ones are noted
            version = policy.version
            for condition in conditions:
                result, found = _check_condition(condition, ctx, version)
                if result is False:
                    break
                if result is None:
                    unknown = True
                    notes.extend(found)
            else:
                result = True
            if result is False:
                continue
        if unknown:
            where = statement.describe()  # `_located`, with the statement the plan holds
            out.maybe.append((statement, [f"{n} — {where}" for n in notes]))
        else:
            out.certain.append(statement)
    return out


def _decide_planned(plan: "_ActionPlan", action: str, resource: str, ctx: RequestContext) -> Decision:
    """`_decide` without a resource policy, over the layers the plan says can matter: a layer whose
    every statement always applies is its constant scan; an SCP level that allows the action whatever
    the resource and context adds nothing (no note, no deny) and is passed over."""
    uncertain: list[str] = []
    if plan.denies:  # 1. an explicit Deny wins; one that may apply is noted
        maybes: list[_LayerResult] = []
        for candidates, constant, layer, level in plan.denies:
            denied = constant if constant is not None else _scan_planned(candidates, layer, level, resource, ctx)
            if denied.certain:
                return Decision(EXPLICIT_DENY, denied.certain[0], (), "explicit deny")
            if denied.maybe:
                maybes.append(denied)
        for denied in maybes:
            uncertain.extend(n for _, ns in denied.maybe for n in ns)
    for candidates, level, reason in plan.scp_allows:  # 2. every SCP level must allow
        allowed = _scan_planned(candidates, SCP, level, resource, ctx)
        if not allowed.any:
            return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), reason)
        uncertain.extend(allowed.notes())
    # 4. identity policies, capped by the boundary
    allowed = plan.identity_allow
    if allowed is None:
        allowed = _scan_planned(plan.statements[(IDENTITY, "Allow", -1)], IDENTITY, -1, resource, ctx)
    bounded = None
    if plan.has_boundary:
        bounded = plan.boundary_allow
        if bounded is None:
            bounded = _scan_planned(plan.statements[(BOUNDARY, "Allow", -1)], BOUNDARY, -1, resource, ctx)
    if not (allowed.certain or allowed.maybe) or (bounded is not None and not bounded.any):
        if not uncertain:  # the plan's: nothing in it depends on the request
            return plan.no_identity_allow if not allowed.any else plan.no_boundary_allow
        return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), _identity_reason(allowed, bounded, action))
    if not uncertain and allowed.certain and (bounded is None or bounded.certain):  # nothing uncertain
        return Decision(ALLOWED, allowed.certain[0], (), "allowed", tuple(allowed.statements()))
    return Decision(ALLOWED, allowed.first(),
                    _dedupe(uncertain + allowed.notes() + (bounded.notes() if bounded is not None else [])),
                    "allowed", tuple(allowed.statements()))


def _scan_resource_policy(res: Policy, effect: str, action: str, resource: str, ctx: RequestContext,
                          has_boundary: bool) -> _LayerResult:
    """`_scan` of a resource policy through its compiled statements."""
    out = _LayerResult()
    for stmt in res.candidates(action)[0 if effect == "Deny" else 1]:
        applies, notes, kind = _applies(res, stmt, action, resource, ctx, with_principal=True,
                                        has_boundary=has_boundary, compiled=True)
        if applies is False:
            continue
        found = Statement(res, stmt.index, RESOURCE)
        if kind:
            out.principal[id(found)] = kind
        if applies:
            out.certain.append(found)
        else:
            out.maybe.append((found, _located(res, stmt, RESOURCE, -1, notes)))
    return out


@dataclass
class _ActionPlan:
    refusable: bool  # AWS refuses this action on some resources whatever the policies (`refused_by_aws`)
    # (layer, effect, SCP level) -> the statements covering the action, each with its `Statement`, its
    # policy, whether it applies whatever the resource and context (`_always`), its resource matcher,
    # whether that is Resource (not NotResource), and its conditions' plans (`_Statement.plans`)
    statements: dict[tuple[str, str, int], tuple[tuple[Statement, Policy, _Statement, bool, Any, bool,
                                                     tuple[_ConditionPlan, ...]], ...]] = \
        field(default_factory=dict)
    # the layers where every such statement always applies: their scan, done once (never changed)
    constant: dict[tuple[str, str, int], _LayerResult] = field(default_factory=dict)
    # `_decide_planned`'s layers, in `_decide`'s order: those with a Deny covering the action (statements,
    # constant scan or None, layer, level); the SCP levels whose Allow is not constant (statements, level,
    # the implicit deny's reason when none applies)
    denies: tuple[tuple[tuple[Any, ...], "_LayerResult | None", str, int], ...] = ()
    scp_allows: tuple[tuple[tuple[Any, ...], int, str], ...] = ()
    has_boundary: bool = False
    identity_allow: "_LayerResult | None" = None  # the constant scans of the Allows, or None: scanned each time
    boundary_allow: "_LayerResult | None" = None
    # the decision without a resource policy when nothing in it depends on the resource or the context
    decided: Decision | None = None
    # the implicit denies of identity policies and boundary with nothing uncertain (the same every time)
    no_identity_allow: Decision | None = None
    no_boundary_allow: Decision | None = None

    def prepare(self, has_boundary: bool, levels: int, action: str) -> None:
        """Work out `denies`, `scp_allows`, the constant Allows and `decided` from `statements`."""
        statements, constant = self.statements, self.constant
        deny_layers = [(IDENTITY, -1)] + ([(BOUNDARY, -1)] if has_boundary else []) + [(SCP, i) for i in range(levels)]
        self.denies = tuple((statements[(layer, "Deny", level)], constant.get((layer, "Deny", level)), layer, level)
                            for layer, level in deny_layers if statements[(layer, "Deny", level)])
        self.scp_allows = tuple(
            (statements[(SCP, "Allow", i)], i, f"no SCP at {'the root' if i == 0 else f'organization level {i + 1}'} "
                                               f"allows {action}")
            for i in range(levels) if (SCP, "Allow", i) not in constant)
        self.has_boundary = has_boundary
        self.no_identity_allow = Decision(IMPLICIT_DENY, None, (), _no_allow_reason(False, action))
        self.no_boundary_allow = Decision(IMPLICIT_DENY, None, (), _no_allow_reason(True, action))
        self.identity_allow = _NOTHING if not statements[(IDENTITY, "Allow", -1)] else constant.get((IDENTITY, "Allow", -1))
        if has_boundary:
            self.boundary_allow = (_NOTHING if not statements[(BOUNDARY, "Allow", -1)]
                                   else constant.get((BOUNDARY, "Allow", -1)))
        if self.denies or self.scp_allows or self.identity_allow is None or (has_boundary and self.boundary_allow is None):
            return
        allowed, bounded = self.identity_allow, self.boundary_allow
        if not allowed.any or (bounded is not None and not bounded.any):
            self.decided = Decision(IMPLICIT_DENY, None, (), _identity_reason(allowed, bounded, action))
        else:  # constant scans are certain
            self.decided = Decision(ALLOWED, allowed.certain[0], (), "allowed", tuple(allowed.statements()))


def _always(policy: Policy, stmt: _Statement) -> bool:
    """Does a statement that covers the action apply to any resource in any context (outside a
    resource policy)? No condition, and ``Resource`` holds ``*`` (or no Resource element at all)."""
    if stmt.conditions or stmt.not_resources is not None:
        return False
    if stmt.resources is None:
        return True
    matcher = stmt.resource_matcher(policy.version)
    return matcher is not None and matcher.everything


_NOTHING = _LayerResult()  # no statement covers the action in this layer (never changed: `_decide` only reads)


# ---------------------------------------------------------------- helpers for callers


def allow_resource_patterns(policies: Sequence[PolicyInput], action: str,
                            context: ContextInput = None) -> list[str]:
    """Resource patterns of the Allow statements that cover ``action`` (``*`` for NotResource).

    Callers that ask "is the action allowed on *some* resource?" use these to pick
    candidate resources to evaluate.
    """
    ctx = RequestContext.of(context)
    out: list[str] = []
    for raw in policies:
        policy = Policy.of(raw)
        for stmt in policy.candidates(action)[1]:  # the Allow statements covering the action
            if stmt.resources is None:
                out.append("*")
                continue
            for pattern in stmt.resources:
                text, _ = _substitute(pattern, ctx, policy.version)
                if text is not None:
                    out.append(text)
    return list(dict.fromkeys(out))


def iter_statements(policy: PolicyInput) -> Iterator[Mapping[str, Any]]:
    """The statements of a document as written (a single statement object becomes one)."""
    for stmt in Policy.of(policy).statements:
        yield stmt.raw


@lru_cache(maxsize=65536)  # a pure function of its strings, asked the same ARN components over and over
def glob_witness(*patterns: str, forbid: str = "") -> str | None:
    """A string every glob in ``patterns`` matches (``*`` and ``?``, ``\\x00X`` literal), or None.

    A breadth-first search over the product of the patterns' automata: the shortest
    witness, built from characters the patterns name plus one fresh filler character.
    Characters in ``forbid`` are never used. Finds a concrete resource inside several
    ``Resource`` patterns at once (see `arn_witness`).
    """
    tokens = [_glob_tokens(p) for p in patterns]
    alphabet = sorted({t[1] for ts in tokens for t in ts if t[0] == "lit"} - set(forbid))
    filler = next(c for c in "xqz0123456789-" if c not in alphabet and c not in forbid)
    alphabet = [filler] + alphabet

    start = frozenset([tuple(0 for _ in tokens)])
    # States are sets of position tuples (an NFA subset), expanded by epsilon moves over stars.

    def eps(states: frozenset[tuple[int, ...]]) -> frozenset[tuple[int, ...]]:
        out = set(states)
        stack = list(states)
        while stack:
            st = stack.pop()
            for k, (ts, pos) in enumerate(zip(tokens, st)):
                if pos < len(ts) and ts[pos][0] == "star":
                    nxt = st[:k] + (pos + 1,) + st[k + 1:]
                    if nxt not in out:
                        out.add(nxt)
                        stack.append(nxt)
        return frozenset(out)

    def move(states: frozenset[tuple[int, ...]], ch: str) -> frozenset[tuple[int, ...]]:
        out = set()
        for st in states:
            options: list[list[int]] = []
            for ts, pos in zip(tokens, st):
                choices = []
                if pos < len(ts):
                    kind, value = ts[pos]
                    if kind == "star":
                        choices.append(pos)
                    elif kind == "one" or (kind == "lit" and value == ch):
                        choices.append(pos + 1)
                options.append(choices)
                if not choices:
                    break
            else:
                for combo in _product(options):
                    out.add(tuple(combo))
        return eps(frozenset(out))

    accept = tuple(len(ts) for ts in tokens)
    first = eps(start)
    seen = {first}
    queue = [(first, "")]
    while queue:
        states, text = queue.pop(0)
        if accept in states:
            return text
        if len(text) > 512:
            continue
        for ch in alphabet:
            nxt = move(states, ch)
            if nxt and nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, text + ch))
    return None


def arn_witness(*patterns: str) -> str | None:
    """An ARN that every pattern matches the way `arn_matches` does, or None if there is none."""
    patterns = tuple(p for p in patterns if p != "*")
    if not patterns:
        return "*"
    split = [p.split(":", 5) for p in patterns]
    if all(len(s) == 6 for s in split):
        parts = []
        for k in range(6):
            found = glob_witness(*(s[k] for s in split), forbid=":" if k < 5 else "")
            if found is None:
                return None
            parts.append(found)
        candidate = ":".join(parts)
    else:
        candidate = glob_witness(*patterns)
    if candidate is None or not all(arn_matches(p, candidate) for p in patterns):
        return None
    return candidate


def _product(options: list[list[int]]) -> Iterator[list[int]]:
    if not options:
        yield []
        return
    for head in options[0]:
        for rest in _product(options[1:]):
            yield [head] + rest


def _glob_tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\x00" and i + 1 < len(pattern):
            tokens.append(("lit", pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            if not tokens or tokens[-1][0] != "star":
                tokens.append(("star", ""))
        elif c == "?":
            tokens.append(("one", ""))
        else:
            tokens.append(("lit", c))
        i += 1
    return tokens
