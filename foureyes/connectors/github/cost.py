"""What a GraphQL query costs on GitHub, predicted before it is sent: rate-limit points and nodes.

GitHub documents both ("Rate limits and query limits for the GraphQL API"): each connection
(a field with ``first`` or ``last``) needs one request per possible parent — the product of the
sizes of the connections around it — and the query's score is the sum of those requests
divided by 100, rounded to the nearest whole number, at least 1 point; its nodes are each
connection's size times that product, at most 500,000. The scheduler (`api.Budget`) reserves
the score before a query goes out; page sizes are chosen with it (`fetch.py`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

NODE_LIMIT = 500_000

_TOKEN = re.compile(r'\s+|,|#[^\n]*|"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|\.\.\.|[{}()\[\]:=!$@|&]|'
                    r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[_A-Za-z][_0-9A-Za-z]*")


@dataclass(frozen=True)
class QueryCost:
    requests: int
    nodes: int

    @property
    def points(self) -> int:
        """``requests / 100`` rounded to the nearest whole number, at least 1 (GitHub's minimum)."""
        return max(1, math.floor(self.requests / 100 + 0.5))


def query_cost(query: str, variables: dict[str, Any] | None = None) -> QueryCost:
    """The cost of the first operation of ``query`` with ``variables`` (defaults from the query)."""
    operation, fragments, defaults = _parse(query)
    values = {**defaults, **(variables or {})}
    requests = nodes = 0

    def walk(selections: tuple[Any, ...], parents: int, seen: frozenset[str]) -> None:
        nonlocal requests, nodes
        for item in selections:
            if item[0] == "field":
                _, size_args, children = item
                size = _size(size_args, values)
                if size is None:
                    walk(children, parents, seen)
                    continue
                requests += parents
                nodes += parents * size
                walk(children, parents * size, seen)
            elif item[0] == "inline":
                walk(item[1], parents, seen)
            elif item[1] in fragments and item[1] not in seen:  # a fragment spread
                walk(fragments[item[1]], parents, seen | {item[1]})

    walk(operation, 1, frozenset())
    return QueryCost(requests, nodes)


def _size(arguments: tuple[tuple[str, Any], ...], values: dict[str, Any]) -> int | None:
    sizes = []
    for _, value in arguments:
        if isinstance(value, tuple) and value[0] == "$":
            value = values.get(value[1])
        if isinstance(value, int) and not isinstance(value, bool):
            sizes.append(value)
    return max(sizes) if sizes else None


@lru_cache(maxsize=256)
def _parse(query: str) -> tuple[tuple[Any, ...], dict[str, tuple[Any, ...]], dict[str, Any]]:
    """(first operation's selections, fragments by name, variable defaults); only what cost needs:
    fields with their ``first``/``last`` arguments, inline fragments and fragment spreads."""
    tokens = [t for t in _TOKEN.findall(query) if t.strip() and t != "," and not t.startswith("#")]
    parser = _Parser(tokens)
    operation: tuple[Any, ...] | None = None
    fragments: dict[str, tuple[Any, ...]] = {}
    defaults: dict[str, Any] = {}
    while not parser.done():
        if parser.peek() == "{":
            selections = parser.selection_set()
            operation = selections if operation is None else operation
        elif parser.peek() == "fragment":
            parser.take()
            name = parser.take()
            parser.expect("on")
            parser.take()
            parser.directives()
            fragments[name] = parser.selection_set()
        else:  # query / mutation / subscription [name] [(variables)] [directives] { ... }
            parser.take()
            if parser.peek() not in ("(", "{", "@"):
                parser.take()
            if parser.peek() == "(":
                found = parser.variable_definitions()
                if operation is None:
                    defaults = found
            parser.directives()
            selections = parser.selection_set()
            operation = selections if operation is None else operation
    return operation or (), fragments, defaults


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.i = 0

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def peek(self) -> str:
        return self.tokens[self.i] if self.i < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        if not token:
            raise ValueError("unexpected end of the GraphQL document")
        self.i += 1
        return token

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise ValueError(f"expected {token!r} in the GraphQL document")

    def selection_set(self) -> tuple[Any, ...]:
        self.expect("{")
        out = []
        while self.peek() != "}":
            out.append(self.selection())
        self.take()
        return tuple(out)

    def selection(self) -> tuple[Any, ...]:
        if self.peek() == "...":
            self.take()
            if self.peek() in ("on", "{", "@"):
                if self.peek() == "on":
                    self.take()
                    self.take()
                self.directives()
                return ("inline", self.selection_set())
            name = self.take()
            self.directives()
            return ("spread", name)
        self.take()  # name or alias
        if self.peek() == ":":
            self.take()
            self.take()
        arguments = self.arguments() if self.peek() == "(" else ()
        self.directives()
        children = self.selection_set() if self.peek() == "{" else ()
        sizes = tuple((name, value) for name, value in arguments if name in ("first", "last"))
        return ("field", sizes, children)

    def arguments(self) -> tuple[tuple[str, Any], ...]:
        self.expect("(")
        out = []
        while self.peek() != ")":
            name = self.take()
            self.expect(":")
            out.append((name, self.value()))
        self.take()
        return tuple(out)

    def directives(self) -> None:
        while self.peek() == "@":
            self.take()
            self.take()
            if self.peek() == "(":
                self.arguments()

    def value(self) -> Any:
        token = self.take()
        if token == "$":
            return ("$", self.take())
        if token == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
            self.take()
            return items
        if token == "{":
            fields = {}
            while self.peek() != "}":
                name = self.take()
                self.expect(":")
                fields[name] = self.value()
            self.take()
            return fields
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        return token  # a string, a float or an enum value: never a page size

    def variable_definitions(self) -> dict[str, Any]:
        self.expect("(")
        defaults: dict[str, Any] = {}
        while self.peek() != ")":
            self.expect("$")
            name = self.take()
            self.expect(":")
            self._type()
            if self.peek() == "=":
                self.take()
                defaults[name] = self.value()
            self.directives()
        self.take()
        return defaults

    def _type(self) -> None:
        if self.peek() == "[":
            self.take()
            self._type()
            self.expect("]")
        else:
            self.take()
        if self.peek() == "!":
            self.take()

