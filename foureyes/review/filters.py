"""Choosing review items by what a reviewer sees: ``key=glob`` terms (``app=payments``, ``new=yes``)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable

from ..errors import InputError
from .values import Item


FILTER_KEYS = ("id", "person", "name", "app", "system", "resource", "entitlement", "reviewer", "state", "tier",
               "team", "via", "new", "conflict", "unchanged")
_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}


@dataclass(frozen=True)
class ItemFilter:
    """``key=glob`` terms, all of which must match (case-insensitive): ``app=payments``, ``new=yes``."""

    terms: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> "ItemFilter":
        terms = []
        for text in texts:
            key, sep, value = text.partition("=")
            key = key.strip().lower()
            if not sep or key not in FILTER_KEYS:
                raise InputError(f"filter {text!r}: expected KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
            value = value.strip()
            if key in ("new", "conflict", "unchanged") and value.lower() not in _TRUE | _FALSE:
                raise InputError(f"filter {text!r}: {key} takes yes or no")
            terms.append((key, value))
        return cls(tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, item: Item) -> bool:
        return all(self._term(item, key, value) for key, value in self.terms)

    @staticmethod
    def _term(item: Item, key: str, value: str) -> bool:
        def glob(*candidates: str) -> bool:
            return any(fnmatch.fnmatchcase((c or "").casefold(), value.casefold()) for c in candidates)

        flag = value.lower() in _TRUE
        if key == "id":
            return str(item.id) == value
        if key == "person":
            return glob(item.person, *item.accounts)
        if key == "name":
            return glob(item.person_name)
        if key == "app":
            return glob(item.app)
        if key == "system":
            return glob(item.system, item.resource.split(":", 1)[0])
        if key == "resource":
            return glob(item.resource, item.resource_name)
        if key == "entitlement":
            return glob(item.entitlement)
        if key == "reviewer":
            return glob(item.reviewer)
        if key == "state":
            return glob(item.state)
        if key == "tier":
            return glob(item.tier)
        if key == "via":
            return glob(item.via)
        if key == "team":
            return glob(*(t_.rsplit("/", 1)[-1] for t_ in item.teams), *item.teams)
        if key == "new":
            return item.is_new == flag
        if key == "conflict":
            return bool(item.conflicts) == flag
        if key == "unchanged":
            return item.unchanged_since_certified == flag
        return False  # pragma: no cover - parse() admits only FILTER_KEYS
