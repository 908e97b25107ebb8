"""Reading TOML text: tomllib with every way it fails turned into one located error, and
the line each key is written on (tomllib keeps no positions), for messages that point at it.
"""

from __future__ import annotations

import bisect
import re
import sys
from typing import Any, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from .errors import InputFileError, LocatedError

KeyPath = tuple[Union[str, int], ...]
# tomllib keeps every prefix of a dotted key, so a key of n parts costs n² memory: refuse long ones
MAX_KEY_PARTS = 100


def parse_toml(text: str, path: str, error: type[LocatedError] = InputFileError) -> dict[str, Any]:
    """tomllib, with every way it can fail turned into one located error."""
    _refuse_long_keys(text, path, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$", message)
        reason = message[: m.start()] if m else message
        if m and m.group(1):
            line, where = int(m.group(1)), f" (column {m.group(2)})"
        else:  # the last line written, which left something open
            line, where = len(text.rstrip().splitlines()) or None, " (at the end of the file)" if m else ""
        raise error(path, f"TOML syntax error: {reason}{where}", line=line) from None
    except RecursionError:
        raise error(path, "TOML nested too deeply to read: arrays or inline tables hundreds of levels "
                          "inside each other (is this the right file?)") from None


_KEY_PART = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*')"
_DOTTED_KEY = re.compile(_KEY_PART + r"(?:[ \t]*\.[ \t]*" + _KEY_PART + r")*")


def _refuse_long_keys(text: str, path: str, error: type[LocatedError]) -> None:
    if text.count(".") <= MAX_KEY_PARTS:
        return
    for m in _DOTTED_KEY.finditer(text):
        if m.group().count(".") >= MAX_KEY_PARTS and len(re.findall(_KEY_PART, m.group())) > MAX_KEY_PARTS:
            raise error(path, f"a dotted key with more than {MAX_KEY_PARTS} parts; foureyes reads at most "
                              f"{MAX_KEY_PARTS} (is this the right file?)", line=text.count("\n", 0, m.start()) + 1)


# ---------------------------------------------------------------- where a key is written


def key_lines(text: str) -> dict[KeyPath, int]:
    """The line each key, table and array entry of ``text`` is written on.

    Runs only on TOML that tomllib has read, so it trusts the syntax; it never raises:
    a line number helps a message, it must not become a new failure.
    """
    try:
        return _KeyScanner(text).run()
    except Exception:  # RecursionError included
        return {}


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")


class _KeyScanner:
    """Walks TOML text for its keys' positions, without converting values."""

    def __init__(self, text: str):
        self.s, self.i = text, 0
        self.newlines = [n for n, c in enumerate(text) if c == "\n"]
        self.lines: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}  # array-of-tables path -> entries so far

    def run(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return self.lines
            if self.s[self.i] == "[":
                table = self.header()
            else:
                self.key_value(table)

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def note(self, path: KeyPath, pos: int, exact: bool = False) -> None:
        if exact:
            self.lines[path] = self.line(pos)
        else:
            self.lines.setdefault(path, self.line(pos))

    def skip(self, newlines: bool = False) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            else:
                return

    def header(self) -> KeyPath:
        start, is_array = self.i, self.s.startswith("[[", self.i)
        self.i += 2 if is_array else 1
        keys = self.key()
        self.skip()
        self.i += 2 if is_array else 1
        path: KeyPath = ()
        for n, name in enumerate(keys):
            path += (name,)
            self.note(path, start)
            if path in self.arrays and not (is_array and n == len(keys) - 1):
                path += (self.arrays[path] - 1,)
        if is_array:
            count = self.arrays.get(path, 0)
            self.arrays[path] = count + 1
            path += (count,)
        self.note(path, start, exact=True)
        return path

    def key(self) -> list[str]:
        s, parts = self.s, []
        while True:
            self.skip()
            start = self.i
            if s[start] == '"':
                j = start + 1
                while s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
                self.i = j + 1
                parts.append(tomllib.loads("k = " + s[start:self.i])["k"])
            elif s[start] == "'":
                self.i = s.index("'", start + 1) + 1
                parts.append(s[start + 1:self.i - 1])
            else:
                m = _BARE_KEY.match(s, start)
                self.i = m.end()
                parts.append(m.group())
            self.skip()
            if self.i < len(s) and s[self.i] == ".":
                self.i += 1
                continue
            return parts

    def key_value(self, base: KeyPath) -> None:
        start = self.i
        keys = tuple(self.key())
        for n in range(1, len(keys) + 1):
            self.note(base + keys[:n], start)
        self.i += 1  # "="
        self.skip()
        self.value(base + keys)

    def value(self, path: KeyPath) -> None:
        s, c = self.s, self.s[self.i]
        if c in "\"'":
            self.string(c)
        elif c == "[":
            self.i += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if s[self.i] == "]":
                    self.i += 1
                    return
                self.note(path + (index,), self.i)
                self.value(path + (index,))
                index += 1
                self.skip(newlines=True)
                if s[self.i] == ",":
                    self.i += 1
        elif c == "{":
            self.i += 1
            while True:
                self.skip(newlines=True)
                if s[self.i] == "}":
                    self.i += 1
                    return
                if s[self.i] == ",":
                    self.i += 1
                    continue
                self.key_value(path)
        else:  # number, boolean, date or time
            m = _SCALAR.match(s, self.i)
            self.i = m.end()

    def string(self, quote: str) -> None:
        s, triple = self.s, quote * 3
        if s.startswith(triple, self.i):
            j = self.i + 3
            while not s.startswith(triple, j):
                j += 2 if (quote == '"' and s[j] == "\\") else 1
            j += 3
            while j < len(s) and s[j] == quote:  # up to two quotes may end the content
                j += 1
            self.i = j
        else:
            j = self.i + 1
            while s[j] != quote:
                j += 2 if (quote == '"' and s[j] == "\\") else 1
            self.i = j + 1
