"""Policy documents for the AWS policy evaluator (`policy`): `Policy` parsed once, with each
statement's matchers and condition plans compiled on first use, and `Statement` and `Decision`
as callers read them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping, Union

from .policy_conditions import ConditionPlan
from .policy_context import ALLOWED, BOUNDARY, IDENTITY, RESOURCE, SCP, PolicyError, strings
from .policy_matching import ActionMatcher, ResourceMatcher, action_matches

# ---------------------------------------------------------------- documents


@dataclass(frozen=True, eq=False)
class Policy:
    """One policy document, with a name so a `Decision` can say which policy decided.

    ``source`` is free for the caller (the connector keeps which grant a policy belongs to).
    """

    document: Mapping[str, Any]
    name: str = ""
    source: Any = None
    statements: tuple["ParsedStatement", ...] = field(init=False, repr=False)
    # action -> (Deny statements, Allow statements) whose Action/NotAction covers it (`candidates`)
    _by_action: dict[str, tuple[tuple["ParsedStatement", ...], tuple["ParsedStatement", ...]]] = field(
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

    def candidates(self, action: str) -> tuple[tuple["ParsedStatement", ...], tuple["ParsedStatement", ...]]:
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
class ParsedStatement:
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
            matcher = self._compiled["actions"] = ActionMatcher(self.actions if self.actions is not None
                                                                 else self.not_actions or ())
        if self.actions is not None:
            return matcher.matches(action)
        if self.not_actions is not None:
            return not matcher.matches(action)
        return False

    def resource_matcher(self, version: str) -> "ResourceMatcher | None":
        """Resource (or NotResource) patterns compiled; None when the statement has neither."""
        if "resources" not in self._compiled:
            patterns = self.resources if self.resources is not None else self.not_resources
            self._compiled["resources"] = ResourceMatcher(patterns, version) if patterns is not None else None
        return self._compiled["resources"]

    def plans(self) -> "tuple[ConditionPlan, ...]":
        found = self._compiled.get("plans")
        if found is None:
            found = self._compiled["plans"] = tuple(ConditionPlan(operator, key, values)
                                                    for operator, block in self.conditions.items()
                                                    for key, values in block.items())
        return found


def _principal_map(value: Any) -> Mapping[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if value == "*":
        return {"AWS": ("*",)}
    if isinstance(value, Mapping):
        return {str(k): strings(v) for k, v in value.items()}
    return {"AWS": strings(value)}


def _parse_statements(document: Mapping[str, Any], name: str) -> tuple[ParsedStatement, ...]:
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
            conditions[str(operator)] = {str(k): strings(v) for k, v in block.items()}
        out.append(ParsedStatement(
            index=index,
            effect=effect,
            sid=str(item.get("Sid", "")),
            actions=strings(item["Action"]) if "Action" in item else None,
            not_actions=strings(item["NotAction"]) if "NotAction" in item else None,
            resources=strings(item["Resource"]) if "Resource" in item else None,
            not_resources=strings(item["NotResource"]) if "NotResource" in item else None,
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


def _always(policy: Policy, stmt: ParsedStatement) -> bool:
    """Does a statement that covers the action apply to any resource in any context (outside a
    resource policy)? No condition, and ``Resource`` holds ``*`` (or no Resource element at all)."""
    if stmt.conditions or stmt.not_resources is not None:
        return False
    if stmt.resources is None:
        return True
    matcher = stmt.resource_matcher(policy.version)
    return matcher is not None and matcher.everything
