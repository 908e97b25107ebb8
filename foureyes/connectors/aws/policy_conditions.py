"""Condition blocks for the AWS policy evaluator (`policy`): the operators and their set and
IfExists forms, each condition planned once (`ConditionPlan`) and answered true, false or
unknown against a `RequestContext` (unknown keeps a decision uncertain, never allowed)."""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Sequence

from .policy_context import ABSENT, KNOWN, MULTI, UNKNOWN, VARIABLES_VERSION, RequestContext, scalar
from .policy_matching import glob_regex_with_literals, substitute, arn_matches


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
    return re.compile(glob_regex_with_literals(pattern, segment=False) + r"\Z", re.DOTALL)


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

    if state != UNKNOWN:
        return outcome(state == ABSENT), []
    if outcome(True) == outcome(False):
        return outcome(True), []
    return None, [f"{text} (unknown at snapshot time)"]


class ConditionPlan:
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
        # `check_condition`'s answers by the request's value (a text) or state (absent, unknown): without
        # policy variables nothing else is read. The answers are shared: callers only read them.
        self.memo: dict[Any, tuple[bool | None, list[str]]] | None = None if self.variables else {}


def _one_condition(operator: str, key: str, values: tuple[str, ...], ctx: RequestContext,
                   version: str) -> tuple[bool | None, list[str]]:
    return check_condition(ConditionPlan(operator, key, values), ctx, version)


_STATE_KEYS = {ABSENT: (ABSENT,), UNKNOWN: (UNKNOWN,)}  # memo keys apart from any text value


def check_condition(plan: ConditionPlan, ctx: RequestContext, version: str) -> tuple[bool | None, list[str]]:
    state, have = ctx.lookup_lowered(plan.lowered)
    memo = plan.memo
    if memo is None:
        return _check_condition_now(plan, ctx, version, state, have)
    key = have if state is KNOWN else _STATE_KEYS[state]
    if state is KNOWN and type(have) is not str:  # several values, or not a text: not remembered
        return _check_condition_now(plan, ctx, version, state, have)
    found = memo.get(key)
    if found is None:
        found = _check_condition_now(plan, ctx, version, state, have)
        if len(memo) < 4096:
            memo[key] = found
    return found


def _check_condition_now(plan: ConditionPlan, ctx: RequestContext, version: str, state: str,
                         have: Any) -> tuple[bool | None, list[str]]:
    qualifier, op, if_exists, text = plan.qualifier, plan.op, plan.if_exists, plan.text
    if not plan.known:
        return None, [f"{text} (operator not understood)"]
    if op == "null":
        return _null(qualifier, plan.values, state, text)
    if state == UNKNOWN:
        return None, [f"{text} (unknown at snapshot time)"]
    negated = plan.negated
    if state == ABSENT:
        if if_exists or qualifier == "forallvalues":
            return True, []
        if qualifier == "foranyvalue":
            return False, []
        return negated, []
    wanted: list[str] = []
    notes: list[str] = []
    broken = False  # a value whose variable cannot be resolved: it never matches
    if not plan.variables or version != VARIABLES_VERSION:
        if plan.match is not None:  # a string operator: one look-up per request value
            matches = plan.match
            request_values = [scalar(v) for v in have] if isinstance(have, MULTI) else [scalar(have)]
            if qualifier == "forallvalues":
                return all((not matches(v)) if negated else matches(v) for v in request_values), []
            return any((not matches(v)) if negated else matches(v) for v in request_values), []
        wanted = plan.literal
    else:
        for value in plan.values:
            substituted, var_notes = substitute(value, ctx, version)
            if substituted is None:
                broken = True
                continue
            if var_notes:
                notes.extend(var_notes)
                continue  # a value we cannot compute: this comparison is unknown
            wanted.append(substituted if op in _KEEP_ESCAPES else substituted.replace("\x00", ""))
    request_values = [scalar(v) for v in have] if isinstance(have, MULTI) else [scalar(have)]

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
