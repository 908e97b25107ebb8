"""The shape of every TOML file foureyes reads, as data, and the one engine that checks it.

A file's shape is a `Table` of `Field`s built from a few types (`Str`, `Int`, `Choice`,
`ListOf`, `MapOf`, `Either` ...); `Schema.load` reads the file and refuses the first problem
in one line: the file, the line of the key, the key's path, what was expected, and a
"did you mean" for a misspelt key or value. Config, rule packs, exceptions, the AWS and
GCP catalogues and the TUI keymap all go through it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence, Union

from .errors import InputFileError, LocatedError
from .tomlfile import KeyPath, key_lines, parse_toml

NO_DEFAULT: Any = object()  # a Field without its own default


class Invalid(Exception):
    """One problem at one key; the file's `Voice` phrases it."""

    def __init__(self, keypath: KeyPath, kind: str, *, expected: str = "", got: str = "", hint: str = "",
                 known: Sequence[str] = (), noun: str = "", note: str = "", must: str = "", message: str = ""):
        super().__init__(kind)
        self.keypath, self.kind = keypath, kind
        self.expected, self.got, self.hint, self.known = expected, got, hint, tuple(known)
        self.noun, self.note, self.must, self.message = noun, note, must, message


# ---------------------------------------------------------------- types


class Shape:
    expected = "a value"
    toml_types: tuple[type, ...] = (object,)

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of a TOML type this shape reads (an `Either` picks by it)."""
        return isinstance(value, self.toml_types) and not (isinstance(value, bool) and bool not in self.toml_types)

    def convert(self, value: Any, at: KeyPath) -> Any:
        if not self.accepts(value):
            raise Invalid(at, "type", expected=self.expected, got=describe(value))
        return self.read(value, at)

    def read(self, value: Any, at: KeyPath) -> Any:
        return value


class AnyValue(Shape):
    """Any TOML value, kept as it is (a posture rule's `when`)."""

    def accepts(self, value: Any) -> bool:
        return True


@dataclass(frozen=True)
class Str(Shape):
    expected: str = "a string"
    nonempty: bool = False
    strip: bool = False
    pattern: str = ""
    must: str = ""  # how a rule or exception says it: "look like FE-SOD-001"
    check: Callable[[str], str | None] | None = None  # returns a message when the value is wrong
    toml_types = (str,)

    def read(self, value: str, at: KeyPath) -> str:
        if self.nonempty and not value.strip():
            expected = "a non-empty string" if self.expected == "a string" else self.expected
            raise Invalid(at, "value", expected=expected, got=describe(value), must=self.must)
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise Invalid(at, "value", expected=self.expected, got=describe(value), must=self.must)
        if self.check is not None and (message := self.check(value)):
            raise Invalid(at, "message", message=message)
        return value.strip() if self.strip else value


@dataclass(frozen=True)
class Int(Shape):
    expected: str = "an integer"
    toml_types = (int,)


@dataclass(frozen=True)
class Float(Shape):
    expected: str = "a number"
    toml_types = (int, float)

    def read(self, value: int | float, at: KeyPath) -> float:
        return float(value)


@dataclass(frozen=True)
class Bool(Shape):
    expected: str = "true or false"
    toml_types = (bool,)


@dataclass(frozen=True)
class Date(Shape):
    expected: str = "a date (YYYY-MM-DD)"
    datetime_ok: bool = False  # a date-time is read as its date
    toml_types = (date,)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, date) and (self.datetime_ok or not isinstance(value, datetime))

    def read(self, value: date, at: KeyPath) -> date:
        return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Choice(Shape):
    """One string of a fixed set; a near miss gets a "did you mean"."""

    values: tuple[str, ...]
    noun: str = ""  # "capability": "unknown capability 'code.pish'" rather than "expected one of"
    note: str = ""  # said instead of listing the values when there are many ("F1 lists every id")
    toml_types = (str,)

    @property
    def expected(self) -> str:  # type: ignore[override]
        if len(self.values) == 1:
            return repr(self.values[0])
        return "one of " + ", ".join(repr(v) for v in self.values)

    def read(self, value: str, at: KeyPath) -> str:
        if value not in self.values:
            raise Invalid(at, "value", expected=self.expected, got=shown(value), hint=close_match(value, self.values),
                          noun=self.noun, note=self.note)
        return value


@dataclass(frozen=True)
class ListOf(Shape):
    item: Shape
    nonempty: bool = False
    toml_types = (list,)

    @property
    def expected(self) -> str:  # type: ignore[override]
        if isinstance(self.item, Table):
            return "an array of tables"
        return "a list of " + _plural(self.item.expected)

    def read(self, value: list, at: KeyPath) -> list:
        if self.nonempty and not value:
            raise Invalid(at, "value", expected="a non-empty list", got="an empty list")
        return [self.item.convert(v, at + (i,)) for i, v in enumerate(value)]


@dataclass(frozen=True)
class MapOf(Shape):
    """A table whose keys are the user's (tiers, people, binding ids), all values of one shape."""

    value: Shape
    keys: Choice | None = None
    toml_types = (dict,)

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "a table of " + _plural(self.value.expected)

    def read(self, value: dict, at: KeyPath) -> dict:
        if self.keys is not None:
            for key in value:
                if key not in self.keys.values:
                    raise Invalid(at + (key,), "unknown", hint=close_match(key, self.keys.values),
                                  known=self.keys.values, noun=self.keys.noun, note=self.keys.note)
        return {k: self.value.convert(v, at + (k,)) for k, v in value.items()}


@dataclass(frozen=True)
class Either(Shape):
    """The first option whose TOML type fits: a capability name or a requirement table."""

    options: tuple[Shape, ...]
    described: str = ""  # what a message says is expected; default: each option's, joined by "or"

    @property
    def expected(self) -> str:  # type: ignore[override]
        return self.described or " or ".join(o.expected for o in self.options)

    def accepts(self, value: Any) -> bool:
        return any(o.accepts(value) for o in self.options)

    def read(self, value: Any, at: KeyPath) -> Any:
        return next(o for o in self.options if o.accepts(value)).read(value, at)


@dataclass(frozen=True)
class Field:
    shape: Shape
    required: bool = False
    default: Any = NO_DEFAULT  # when absent and not required: this, else the shape's empty value


@dataclass(frozen=True)
class Table(Shape):
    """A table with known keys. ``build`` turns the checked values into an object (a dataclass)."""

    fields: Mapping[str, Field]
    build: Callable[..., Any] | None = None
    note: str = ""  # said after an unknown key: "rules go in [[rule]] tables"
    expected: str = "a table"
    toml_types = (dict,)

    def read(self, value: dict, at: KeyPath) -> Any:
        out: dict[str, Any] = {}
        for key, item in value.items():
            spec = self.fields.get(key)
            if spec is None:
                raise Invalid(at + (key,), "unknown", hint=close_match(key, self.fields), known=sorted(self.fields),
                              note=self.note)
            out[key] = spec.shape.convert(item, at + (key,))
        for key, spec in self.fields.items():
            if key in out:
                continue
            if spec.required:
                raise Invalid(at + (key,), "missing", expected=spec.shape.expected)
            if self.build is None:  # a dataclass knows its own defaults
                out[key] = _empty(spec)
        return self.build(**out) if self.build is not None else out


def _empty(spec: Field) -> Any:
    if spec.default is not NO_DEFAULT:
        return spec.default
    if isinstance(spec.shape, Table):
        return spec.shape.read({}, ())
    if isinstance(spec.shape, ListOf):
        return []
    if isinstance(spec.shape, MapOf):
        return {}
    return None


# ---------------------------------------------------------------- shapes from dataclasses


def from_dataclass(cls: type) -> Table:
    """A dataclass's fields as a `Table`: its type hints are the types, its defaults the defaults.

    A field with ``metadata={"internal": True}`` is not read from the file; one with
    ``metadata={"shape": Str(...)}`` is read with that shape instead of its type hint's.
    """
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: Field(f.metadata.get("shape") or _shape_of(hints[f.name]),
                      required=f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls) if not f.metadata.get("internal")
    }
    return Table(fields, build=cls)


def _shape_of(hint: Any) -> Shape:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        options = tuple(_shape_of(a) for a in args if a is not type(None))
        return options[0] if len(options) == 1 else Either(options)
    if origin is Literal:
        return Choice(tuple(args))
    if origin is list:
        return ListOf(_shape_of(args[0]))
    if origin is dict:
        return MapOf(_shape_of(args[1]))
    if dataclasses.is_dataclass(hint):
        return from_dataclass(hint)
    simple = {str: Str(), int: Int(), float: Float(), bool: Bool(), date: Date(), Any: AnyValue()}
    if hint in simple:
        return simple[hint]
    raise TypeError(f"no schema type for {hint!r}")  # a programming error, caught by the tests


def key_paths(shape: Shape, at: KeyPath = ()) -> Iterable[KeyPath]:
    """Every key a shape knows; "*" stands for a key of the user's, 0 for an array entry."""
    if isinstance(shape, Either):
        for option in shape.options:
            yield from key_paths(option, at)
    elif isinstance(shape, Table):
        for name, spec in shape.fields.items():
            yield at + (name,)
            yield from key_paths(spec.shape, at + (name,))
    elif isinstance(shape, ListOf):
        yield from key_paths(shape.item, at + (0,))
    elif isinstance(shape, MapOf):
        yield from key_paths(shape.value, at + ("*",))


# ---------------------------------------------------------------- how problems are said


class Voice:
    """Keys named by their dotted path: ``sources.github.tokn_env: unknown key (did you mean ...)``."""

    def subject(self, keypath: KeyPath, data: Any) -> tuple[str, KeyPath]:
        """The name the message starts with, and the part of the key path said after it."""
        return dotted(keypath), ()

    def say(self, problem: Invalid, data: Any) -> tuple[str, str]:
        subject, rest = self.subject(problem.keypath, data)
        return subject, self.phrase(problem, rest)

    def phrase(self, p: Invalid, rest: KeyPath) -> str:
        hint = f" (did you mean {p.hint!r}?)" if p.hint else ""
        if p.kind == "unknown":
            return (f"not a {p.noun}" if p.noun else "unknown key") + hint + _known(p) + _note(p)
        if p.kind == "missing":
            return "required key is missing"
        if p.kind == "message":
            return p.message
        if p.noun:
            return f"unknown {p.noun} {p.got}{hint}" + _known(p, p.expected) + _note(p)
        return f"expected {p.expected}, got {p.got}{hint}" + _note(p)


class EntryVoice(Voice):
    """Entries of an array of tables named by what they are: ``rule ACME-001: unknown field 'severty'``."""

    def __init__(self, table: str, label: Callable[[int, Any], str]):
        self.table, self.label = table, label

    def subject(self, keypath: KeyPath, data: Any) -> tuple[str, KeyPath]:
        if len(keypath) >= 2 and keypath[0] == self.table and isinstance(keypath[1], int):
            entries = data.get(self.table) if isinstance(data, dict) else None
            entry = entries[keypath[1]] if isinstance(entries, list) and keypath[1] < len(entries) else None
            return self.label(keypath[1], entry), keypath[2:]
        return "", keypath

    def phrase(self, p: Invalid, rest: KeyPath) -> str:
        hint = f" (did you mean {p.hint!r}?)" if p.hint else ""
        parent = f"{dotted(rest[:-1])}: " if len(rest) > 1 else ""
        key = rest[-1] if rest else ""
        if p.kind == "unknown":
            what = "field" if rest and len(rest) < len(p.keypath) else "top-level key"
            known = "" if p.hint else _known(p)
            return f"{parent}unknown {what} {key!r}{hint}{known}{_note(p)}"
        if p.kind == "missing":
            return f"{parent}missing required field {key!r}"
        if p.kind == "message":
            return f"{dotted(rest)}: {p.message}" if rest else p.message
        if p.kind == "type":
            return f"field {dotted(rest)!r} must be {p.expected}, got {p.got}"
        if p.noun:
            where = f"{dotted(rest)}: " if rest else ""
            return f"{where}unknown {p.noun} {p.got}{hint}" + _known(p, p.expected) + _note(p)
        must = p.must or f"be {p.expected}"
        return f"{dotted(rest)} must {must}, got {p.got}{hint}"


def _known(p: Invalid, expected: str = "") -> str:
    if p.note and p.noun:
        return ""  # too many to list: the note says where to look
    if expected:
        return f"; expected {expected}"
    return "; expected one of: " + ", ".join(p.known) if p.known else ""


def _note(p: Invalid) -> str:
    return f"; {p.note}" if p.note else ""


# ---------------------------------------------------------------- files


class Checked:
    """A file that passed its schema: the checked value, and a way to refuse it at one key.

    Loaders check what a shape cannot say (an id used twice, an approver who is the
    subject) and call `fail`, so those messages carry the file, line and key too.
    """

    def __init__(self, schema: "Schema", path: str, data: Any, text: str, value: Any):
        self.schema, self.path, self.data, self.text, self.value = schema, path, data, text, value
        self._lines: dict[KeyPath, int] | None = None

    def line_of(self, keypath: KeyPath) -> int | None:
        """The line of the key, else of the nearest table above it that is written in the file."""
        if self._lines is None:
            self._lines = key_lines(self.text) if self.text else {}
        for n in range(len(keypath), 0, -1):
            if keypath[:n] in self._lines:
                return self._lines[keypath[:n]]
        return None

    def error(self, problem: Invalid) -> LocatedError:
        key, message = self.schema.voice.say(problem, self.data)
        return self.schema.error(self.path, message, key=key, line=self.line_of(problem.keypath))

    def fail(self, keypath: KeyPath, message: str) -> typing.NoReturn:
        raise self.error(Invalid(keypath, "message", message=message))


@dataclass(frozen=True)
class Schema:
    """One kind of file: its shape, how its problems are said, and the error they raise."""

    shape: Table
    voice: Voice = Voice()
    error: type[LocatedError] = InputFileError
    missing: str = "file not found"

    def load(self, path: str | Path | Any, shown: str | None = None) -> Checked:
        """Read ``path`` (a file or an importlib resource) and check it."""
        shown = shown or str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise self.error(shown, self.missing) from None
        except IsADirectoryError:
            raise self.error(shown, "is a directory, expected a TOML file") from None
        except UnicodeDecodeError as exc:
            raise self.error(shown, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise self.error(shown, f"cannot read: {exc.strerror or exc}") from None
        return self.parse(text, shown)

    def parse(self, text: str, path: str) -> Checked:
        return self.check(parse_toml(text, path, self.error), path, text)

    def check(self, data: Mapping[str, Any], path: str, text: str = "") -> Checked:
        """Check already parsed TOML; without ``text`` the messages have no line."""
        checked = Checked(self, path, data, text, None)
        try:
            checked.value = self.shape.convert(data, ())
        except Invalid as problem:
            raise checked.error(problem) from None
        return checked


# ---------------------------------------------------------------- words


def close_match(word: str, options: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return found[0] if found else ""


def dotted(keypath: KeyPath) -> str:
    """``apps[0].repos[1]``, ``identity.people."a@x.com".gitlab``."""
    out = ""
    for part in keypath:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else _quoted(part)
        out = f"{out}.{name}" if out else name
    return out


def _quoted(key: str) -> str:
    """A key as TOML would quote it, with anything invisible or controlling made visible."""
    body = "".join(c if c.isprintable() and c not in '"\\' else
                   "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" for c in key)
    return f'"{body}"'


def shown(text: str) -> str:
    """A string as a message quotes it: repr (control characters escaped), cut at 40."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def describe(value: Any) -> str:
    """A value as the message shows it: ``'lots' (string)``, ``3 (integer)``, ``a list``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (boolean)"
    if isinstance(value, str):
        return f"{shown(value)} (string)"
    if isinstance(value, int):
        return f"{value} (integer)"
    if isinstance(value, float):
        return f"{value} (number)"
    if isinstance(value, datetime):
        return f"{value.isoformat()} (date-time)"
    if isinstance(value, date):
        return f"{value.isoformat()} (date)"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _plural(phrase: str) -> str:
    """"a string" -> "strings"; a phrase that does not pluralise becomes "values, each ..."."""
    noun = re.sub(r"^(an?) ", "", phrase)
    if noun == phrase or not re.fullmatch(r"[a-z -]+", noun) or " or " in noun:
        return f"values, each {phrase}"
    return noun + "s"
