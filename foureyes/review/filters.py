"""The one language for choosing review items, shared by `decide --where`, `campaign show --where`
and the TUI's filter box (docs/review.md):

- ``key:value`` — the item's field *contains* value: ``person:walter``, ``resource:storefront``;
- ``key=value`` — the field *is* value: ``app=payments`` (the CLI's older form, still exact);
- a value with ``*``, ``?`` or ``[…]`` is a glob over the whole field either way: ``person:pedro*``;
- ``new``, ``conflict`` and ``unchanged`` take yes or no;
- a word without a key is looked for in every field; ``-`` before a term negates it;
- every term must match; case never matters.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..errors import InputError
from .values import Item
from .vocabulary import CERTIFY, DEFER, EXCEPTION, PENDING, REVOKE, SKIPPED

FILTER_KEYS = ("id", "person", "name", "app", "system", "resource", "entitlement", "reviewer", "state", "tier",
               "team", "via", "rule", "new", "conflict", "unchanged", "status", "manager", "department")
FLAG_KEYS = ("new", "conflict", "unchanged")
_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}
_GLOB = set("*?[")
STATE_WORDS = {PENDING: "pending", CERTIFY: "certified", REVOKE: "revoked", DEFER: "deferred",
               EXCEPTION: "exception", SKIPPED: "skipped"}
IS, CONTAINS = "=", ":"


def item_fields(item: Item, *, awaiting: bool = False) -> dict[str, tuple[str, ...]]:
    """What each key of the language looks at, casefolded. ``awaiting``: the item's exception
    waits for its second approver (the state then also reads "awaiting")."""
    state = (item.state, STATE_WORDS.get(item.state, item.state)) + (("awaiting",) if awaiting else ())
    fields = {
        "id": (str(item.id),),
        "person": (item.person, item.person_name, *item.accounts),
        "name": (item.person_name,),
        "app": (item.app,),
        "system": (item.system, item.resource.split(":", 1)[0]),
        "resource": (item.resource, item.resource_name),
        "entitlement": (item.entitlement,),
        "reviewer": (item.reviewer,),
        "state": state,
        "tier": (item.tier,),
        "team": (*(t.rsplit("/", 1)[-1] for t in item.teams), *item.teams),
        "via": (item.via,),
        "rule": tuple(c.rule for c in item.conflicts),
        "new": ("yes" if item.is_new else "no",),
        "conflict": ("yes" if item.conflicts else "no",),
        "unchanged": ("yes" if item.unchanged_since_certified else "no",),
        # the roster's word when the campaign was created; "left" matches terminated and suspended
        "status": (item.person_status,) + (("left",) if item.person_left else ()),
        "manager": (item.person_manager,),
        "department": (item.person_department,),
    }
    return {key: tuple((v or "").casefold() for v in values) for key, values in fields.items()}


@dataclass(frozen=True)
class ItemFilter:
    """Parsed terms: ``terms[i]`` is (key, value) — key "" for a word — and ``ops[i]`` is "=" (is)
    or ":" (contains), with a leading "-" when negated."""

    terms: tuple[tuple[str, str], ...] = ()
    ops: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, texts: str | Iterable[str], *, strict: bool = True) -> "ItemFilter":
        """Terms from a filter box's text (words, quotes keep spaces) or from ``--where`` options
        (one term each).

        ``strict`` (the CLI, where a filter chooses what a bulk decision decides) refuses an
        unknown key and a flag that is not yes or no; otherwise (the TUI, while typing) such a
        term is looked for as a word.
        """
        if isinstance(texts, str):
            text, words = texts, _words(texts)
        else:
            words = [t.strip() for t in texts if t.strip()]
            text = " ".join(words)
        terms: list[tuple[str, str]] = []
        ops: list[str] = []
        for word in words:
            negated = word.startswith("-") and len(word) > 1
            body = word[1:] if negated else word
            key, op, value = _split(body)
            if op and key not in FILTER_KEYS:
                if strict:
                    raise InputError(f"filter {body!r}: expected KEY=VALUE or KEY:VALUE with KEY one of "
                                     f"{', '.join(FILTER_KEYS)}")
                key, op, value = "", CONTAINS, body
            elif op and key in FLAG_KEYS and value.casefold() not in _TRUE | _FALSE:
                if strict:
                    raise InputError(f"filter {body!r}: {key} takes yes or no")
                key, op, value = "", CONTAINS, body
            elif not op:
                key, op, value = "", CONTAINS, body
            if key in FLAG_KEYS:
                value = "yes" if value.casefold() in _TRUE else "no"
            terms.append((key, value))
            ops.append(("-" if negated else "") + op)
        return cls(tuple(terms), tuple(ops), text)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, item: Item, *, awaiting: bool = False) -> bool:
        return self.matches_fields(item_fields(item, awaiting=awaiting))

    def matches_fields(self, fields: Mapping[str, tuple[str, ...]]) -> bool:
        for (key, value), op in zip(self.terms, self.ops):
            candidates = fields.get(key, ()) if key else tuple(v for vs in fields.values() for v in vs)
            if _matches(candidates, value.casefold(), exact=op.endswith(IS)) == op.startswith("-"):
                return False
        return True


def _matches(candidates: tuple[str, ...], value: str, *, exact: bool) -> bool:
    if _GLOB & set(value):
        return any(fnmatch.fnmatchcase(c, value) for c in candidates)
    if exact:
        return value in candidates
    return any(value in c for c in candidates)


def _split(word: str) -> tuple[str, str, str]:
    """``key:value`` or ``key=value`` (whichever comes first), else the word alone."""
    cut = min((i for i in (word.find(IS), word.find(CONTAINS)) if i > 0), default=-1)
    if cut < 0:
        return "", "", word
    return word[:cut].strip().casefold(), word[cut], word[cut + 1:].strip()


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unclosed quote while typing: use what is there
        return text.replace('"', " ").replace("'", " ").split()

