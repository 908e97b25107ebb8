"""The AWS policy evaluator's vocabulary (`policy`): its outcomes and layers, `PolicyError`,
and `RequestContext`: what is known, absent or unknown of each condition key of a request."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Union

ALLOWED = "allowed"
IMPLICIT_DENY = "implicit_deny"
EXPLICIT_DENY = "explicit_deny"
OUTCOMES = (ALLOWED, IMPLICIT_DENY, EXPLICIT_DENY)

IDENTITY, BOUNDARY, SCP, RESOURCE = "identity", "boundary", "scp", "resource"

# The only policy language version that knows policy variables; older documents match `${` literally.
VARIABLES_VERSION = "2012-10-17"


class PolicyError(ValueError):
    """A policy document that cannot be read (not JSON, not an object, no statements)."""


def strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(scalar(v) for v in value)
    return (scalar(value),)


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------- request context

KNOWN, ABSENT, UNKNOWN = "known", "absent", "unknown"
_MISSING = object()
MULTI = (list, tuple, set, frozenset)  # a context value of several values (a multivalued key)


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
            return KNOWN, found
        if k in self._absent or (self._absent_prefixes and any(k.startswith(p) for p in self._absent_prefixes)):
            return ABSENT, None
        return UNKNOWN, None

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
        return value if state == KNOWN else None


ContextInput = Union[RequestContext, Mapping[str, Any], None]

