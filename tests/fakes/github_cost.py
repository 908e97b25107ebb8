"""GitHub's GraphQL rate-limit score and node count of one query, as GitHub documents them.

"Rate limits and query limits for the GraphQL API" (docs.github.com, github/docs
content/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api.md):

- *points*: add up the requests needed to fulfil each connection of the call, assuming every
  request reaches its ``first`` or ``last`` limit (a connection nested in others is asked once
  per possible parent: the product of the enclosing connections' sizes), divide by 100 and
  round to the nearest whole number; a call costs at least 1 point;
- *nodes*: each connection contributes its size times the product of the enclosing sizes; a
  call may ask for at most 500,000 nodes.

Written on graphql-core's syntax tree, independently of the connector's own estimate
(`foureyes/connectors/github/cost.py`), so each checks the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import graphql
from graphql.language import ast

NODE_LIMIT = 500_000


@dataclass(frozen=True)
class QueryCost:
    requests: int  # connections to fulfil, each counted once per possible parent
    nodes: int  # the most nodes the call can return
    deepest: str  # the connection whose own node count is largest (for GitHub's message)
    most: int  # that count

    @property
    def points(self) -> int:
        """``requests / 100`` rounded to the nearest whole number (halves up), at least 1."""
        return max(1, math.floor(self.requests / 100 + 0.5))


def query_cost(document: "ast.DocumentNode | str", variables: dict[str, Any] | None = None,
               operation: str | None = None) -> QueryCost:
    """The cost of the operation in ``document`` (the only one, or the one named ``operation``)."""
    doc = graphql.parse(document) if isinstance(document, str) else document
    ops = [d for d in doc.definitions if isinstance(d, ast.OperationDefinitionNode)]
    op = next((o for o in ops if operation is None or (o.name and o.name.value == operation)), None)
    if op is None:
        return QueryCost(0, 0, "", 0)
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, ast.FragmentDefinitionNode)}
    values = dict(variables or {})
    for definition in op.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = graphql.value_from_ast_untyped(definition.default_value)
    walk = _Walk(fragments, values)
    walk.selections(op.selection_set, 1, ())
    return QueryCost(walk.requests, walk.nodes, walk.deepest, walk._most)


class _Walk:
    def __init__(self, fragments: dict[str, ast.FragmentDefinitionNode], variables: dict[str, Any]):
        self.fragments = fragments
        self.variables = variables
        self.requests = 0
        self.nodes = 0
        self.deepest = ""
        self._most = 0

    def size(self, field: ast.FieldNode) -> int | None:
        """The field's ``first`` or ``last`` (the larger when both are given), None for a plain field."""
        sizes = []
        for argument in field.arguments or ():
            if argument.name.value in ("first", "last"):
                value = graphql.value_from_ast_untyped(argument.value, self.variables)
                if isinstance(value, int) and not isinstance(value, bool):
                    sizes.append(value)
        return max(sizes) if sizes else None

    def selections(self, selection_set: ast.SelectionSetNode | None, parents: int, path: tuple[str, ...]) -> None:
        for selection in (selection_set.selections if selection_set else ()):
            if isinstance(selection, ast.FieldNode):
                name = (selection.alias or selection.name).value
                size = self.size(selection)
                if size is None:
                    self.selections(selection.selection_set, parents, path + (name,))
                    continue
                self.requests += parents
                self.nodes += parents * size
                if parents * size > self._most:
                    self._most, self.deepest = parents * size, ".".join(path + (name,))
                self.selections(selection.selection_set, parents * size, path + (name,))
            elif isinstance(selection, ast.InlineFragmentNode):
                self.selections(selection.selection_set, parents, path)
            elif isinstance(selection, ast.FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    self.selections(fragment.selection_set, parents, path)
