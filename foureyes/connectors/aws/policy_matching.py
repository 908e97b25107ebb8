"""Matching for the AWS policy evaluator (`policy`): action and ARN globs with policy variables,
the compiled action and resource matchers, a statement's principals, and witnesses (a string
every glob of a set matches, for callers that must name a resource a pattern allows)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator, Mapping, Sequence

from .policy_context import ABSENT, KNOWN, MULTI, VARIABLES_VERSION, RequestContext, scalar

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


def substitute(pattern: str, ctx: RequestContext, version: str) -> tuple[str | None, list[str]]:
    """Policy variables replaced by glob-safe text; unknown ones become ``*`` (noted)."""
    if "${" not in pattern or version != VARIABLES_VERSION:
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
        if state == KNOWN and isinstance(value, MULTI):
            # AWS: a multivalued context key cannot be used as a policy variable; the element
            # never matches (reference_policies_variables.md, "multivalued context keys").
            return None, []
        if state == KNOWN:
            out.append(_literal_text(scalar(value)))
        elif state == ABSENT:
            if default is None:
                return None, []  # AWS: a variable without a value makes the element not match
            out.append(_literal_text(default))
        else:
            notes.append(f"policy variable ${{{name}}} (unknown at snapshot time)")
            out.append("*")
    return "".join(out), notes


def _literal_text(text: str) -> str:
    return text.replace("*", "\x00*").replace("?", "\x00?")


def glob_regex_with_literals(pattern: str, *, segment: bool) -> str:
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
def arn_regex(pattern: str) -> re.Pattern[str]:
    segments = pattern.split(":", 5)
    if len(segments) < 6:
        return re.compile(glob_regex_with_literals(pattern, segment=False) + r"\Z", re.DOTALL)
    # Each of the six ARN components matches on its own; the last one may hold colons.
    head = ":".join(glob_regex_with_literals(s, segment=True) for s in segments[:5])
    return re.compile(head + ":" + glob_regex_with_literals(segments[5], segment=False) + r"\Z", re.DOTALL)


def arn_matches(pattern: str, arn: str) -> bool:
    """ARN matching as in ``Resource`` and ``ArnLike``: ``*``/``?`` per colon-separated
    component (the resource part may contain colons); ``*`` alone matches anything."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern and "\x00" not in pattern:
        return pattern == arn  # no wildcard: what the regex would match is the text itself
    return arn_regex(pattern).match(arn) is not None


def resource_match(patterns: Sequence[str], resource: str, ctx: RequestContext,
                    version: str) -> tuple[bool | None, list[str]]:
    unknown_notes: list[str] = []
    for pattern in patterns:
        text, notes = substitute(pattern, ctx, version)
        if text is None:
            continue
        if arn_matches(text, resource):
            if not notes:
                return True, []
            unknown_notes.extend(notes)
    if unknown_notes:
        return None, unknown_notes
    return False, []


class ActionMatcher:
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


class ResourceMatcher:
    """Resource or NotResource patterns compiled: `resource_match`, with the patterns that hold no
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
            if "${" in pattern and version == VARIABLES_VERSION:
                self.variable.append(pattern)
            elif pattern == "*":
                self.everything = True
            elif not any(c in pattern for c in "*?\x00"):
                self.exact.add(pattern)
            else:
                regexes.append(arn_regex(pattern).pattern)
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
        return resource_match(self.variable, resource, ctx, self.version)


# ---------------------------------------------------------------- principals


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def principal_forms(ctx: RequestContext) -> tuple[str, str, str]:
    """(caller ARN, role ARN when the caller is a role or role session, caller account)."""
    arn = str(ctx.get("aws:PrincipalArn") or "")
    account = str(ctx.get("aws:PrincipalAccount") or account_of(arn))
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
DIRECT, ROLE, ACCOUNT = "direct", "role", "account"


def principal_kind_of(entries: Mapping[str, tuple[str, ...]] | None, ctx: RequestContext) -> tuple[str | None, list[str]]:
    """How a Principal element names the caller: directly, as its role, by account, or not at all."""
    if not entries:
        return None, []
    arn, role_arn, account = principal_forms(ctx)
    rank = {DIRECT: 3, ROLE: 2, ACCOUNT: 1}
    best: str | None = None
    notes: list[str] = []

    def better(kind: str) -> None:
        nonlocal best
        if best is None or rank[kind] > rank[best]:
            best = kind

    for value in entries.get("AWS", ()):
        if value == "*":
            better(DIRECT)
        elif arn and value == arn:
            better(ROLE if value == role_arn else DIRECT)
        elif role_arn and value == role_arn:
            better(ROLE)
        elif role_arn and ":assumed-role/" in value and account_of(value) == account:
            name = role_arn.rsplit("/", 1)[-1]
            if value.split(":assumed-role/", 1)[1].split("/", 1)[0] == name:
                better(DIRECT)
                notes.append(f"names a session of role {name} (the session name is the caller's choice)")
        elif account and (value == account or value.endswith(f":iam::{account}:root")):
            better(ACCOUNT)
    return best, notes


def not_principal_excludes(entries: Mapping[str, tuple[str, ...]], ctx: RequestContext) -> bool:
    """Does NotPrincipal spare the caller? Only when it names the caller's account *and* the
    caller (user, role or role session): AWS checks the account, then the principal, so
    naming one alone excludes nobody (reference_policies_elements_notprincipal, "denies all
    principals except the user named Bob"). A role named without its session is taken as
    sparing the session, in favour of access."""
    values = entries.get("AWS", ())
    if "*" in values:
        return True
    kind, _ = principal_kind_of({"AWS": values}, ctx)
    if kind not in (DIRECT, ROLE):
        return False
    _, _, account = principal_forms(ctx)
    return any(v == account or v.endswith(f":iam::{account}:root") for v in values) if account else True


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
