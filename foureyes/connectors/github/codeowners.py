"""CODEOWNERS: who must approve a change to which paths when "Require review from Code Owners" is on.

GitHub's documentation ("About code owners"): the file is read from ``.github/``, the root
or ``docs/`` of the pull request's base branch, the first one found; each line is a pattern
(gitignore syntax, mostly) and owners (``@user``, ``@org/team``, an email); **the last
matching pattern wins**, and a pattern without owners leaves its paths without an owner.
Owners must have write access (a team: write of its own); an author cannot approve their own
pull request, so a code owner's change needs another owner. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Patterns that match every path: with owners, nothing before them is unowned.
CATCH_ALL = frozenset({"*", "**", "/**", "**/*", "/**/*"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class CodeOwners:
    """The CODEOWNERS file GitHub uses for a repository's default branch (the first of three places).

    ``rules`` are (line, pattern, owners) in file order; GitHub applies the last pattern that
    matches a path. ``state``: ``ok``, ``absent`` (no file in any of the three places) or
    ``unreadable`` (binary, too large, or the lookup failed: a Gap, never "no owners").
    """

    state: str
    path: str = ""
    rules: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)
    reason: str = ""  # why it is unreadable


def parse(text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line number, pattern, owners) for every rule line; comments and blank lines skipped.

    ``#`` starts a comment (``\\#`` is a literal ``#`` in a pattern); owners end at a comment.
    """
    rules: list[tuple[int, str, tuple[str, ...]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # split on unescaped whitespace, stop at an unescaped '#'
        tokens: list[str] = []
        current = ""
        escaped = False
        for ch in line:
            if escaped:
                current += ch
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "#":
                break
            elif ch.isspace():
                if current:
                    tokens.append(current)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
        if tokens:
            rules.append((number, tokens[0], tuple(tokens[1:])))
    return rules


def from_blobs(nodes: list[tuple[str, dict[str, Any] | None]], *, failed: bool = False) -> CodeOwners:
    """The first CODEOWNERS that exists of (path, GraphQL Blob or None) in GitHub's order."""
    if failed:
        return CodeOwners("unreadable", reason="the repository's files could not be read")
    for path, blob in nodes:
        if blob is None:
            continue
        if blob.get("isBinary") or blob.get("isTruncated") or blob.get("text") is None:
            return CodeOwners("unreadable", path, reason=f"{path} could not be read as text (binary or too large)")
        return CodeOwners("ok", path, parse(str(blob["text"])))
    return CodeOwners("absent")


@dataclass
class Owner:
    """One owner named on a line: a user login, a team slug, or an email foureyes could not map."""

    raw: str
    kind: str  # user | team | email | invalid
    name: str = ""


@dataclass
class Coverage:
    """What the file means for one repository, given who can write there."""

    state: str  # full | partial | none | unknown
    unowned: list[str] = field(default_factory=list)  # what is left without an owner
    owners: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kind, name) -> patterns owned
    ignored: list[str] = field(default_factory=list)  # owners GitHub ignores (no write access, not ours)
    unresolved: list[str] = field(default_factory=list)  # emails foureyes could not map to a login

    @property
    def gates(self) -> bool:
        """Whether "Require review from Code Owners" stops a change that nobody else approved."""
        return self.state in ("full", "unknown")


def owner_of(raw: str, org: str, email_logins: dict[str, str]) -> Owner:
    if raw.startswith("@") and "/" in raw:
        owner_org, _, slug = raw[1:].partition("/")
        if owner_org.lower() != org.lower() or not slug:
            return Owner(raw, "invalid")
        return Owner(raw, "team", slug.lower())
    if raw.startswith("@") and len(raw) > 1:
        return Owner(raw, "user", raw[1:])
    if _EMAIL.fullmatch(raw):
        login = email_logins.get(raw.lower())
        return Owner(raw, "user", login) if login else Owner(raw, "email", raw)
    return Owner(raw, "invalid")


def coverage(owners: CodeOwners | None, *, org: str, email_logins: dict[str, str],
             user_writes: Any, team_writes: Any) -> Coverage:
    """Which paths need a code owner's approval, and who the valid owners are.

    ``user_writes(login)`` / ``team_writes(slug)`` say whether GitHub would accept that owner
    (write access; a team needs its own). An email owner that cannot be mapped to a login is
    counted as an owner (GitHub maps verified emails) and listed as unresolved.
    """
    if owners is None or owners.state == "unreadable":
        return Coverage("unknown")
    if owners.state == "absent" or not owners.rules:
        return Coverage("none", ["every path (no CODEOWNERS in .github/, the root or docs/)"])
    result = Coverage("full")
    covered_from = -1  # index of the last catch-all line with a valid owner
    valid_lines: list[bool] = []
    for index, (_, pattern, raw_owners) in enumerate(owners.rules):
        valid = False
        for raw in raw_owners:
            owner = owner_of(raw, org, email_logins)
            if owner.kind == "user" and user_writes(owner.name):
                valid = True
                result.owners.setdefault(("user", owner.name), []).append(pattern)
            elif owner.kind == "team" and team_writes(owner.name):
                valid = True
                result.owners.setdefault(("team", owner.name), []).append(pattern)
            elif owner.kind == "email":
                valid = True
                result.unresolved.append(raw)
            else:
                result.ignored.append(raw)
        valid_lines.append(valid)
        if pattern in CATCH_ALL and valid:
            covered_from = index
    if covered_from < 0:
        result.unowned.append("paths that no pattern with a valid owner matches")
    for index, (_, pattern, _) in enumerate(owners.rules):
        if index > covered_from and not valid_lines[index]:  # earlier lines lose to the catch-all
            result.unowned.append(pattern)
    if result.unowned:
        result.state = "partial" if result.owners or result.unresolved else "none"
    result.unowned = list(dict.fromkeys(result.unowned))
    return result
