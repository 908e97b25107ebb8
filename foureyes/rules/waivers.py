"""Exceptions (waivers): a named person's finding accepted for a reason, until a date.

An exception names the person, the rule, the scope, the reason, the expiry and an
approver who is not the person. Expired exceptions are shown but no longer count.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import InputError
from ..model import stable_hash

_FIELDS = {"rule", "person", "scope", "reason", "expires", "approver", "requested_by", "ticket"}


@dataclass(frozen=True)
class Waiver:
    rule: str
    person: str  # person key; "" for posture findings
    scope: str  # finding scope, or "*"
    reason: str
    expires: date
    approver: str
    requested_by: str = ""
    ticket: str = ""
    source: str = ""

    @property
    def id(self) -> str:
        return "W-" + stable_hash(self.rule, self.person, self.scope, self.expires.isoformat(), length=10)

    def active(self, today: date | None = None) -> bool:
        return self.expires >= (today or datetime.now(timezone.utc).date())

    def covers(self, rule: str, person: str, scope: str) -> bool:
        return self.rule == rule and self.person == person and self.scope in ("*", scope)


def load_waivers(paths: Iterable[str | Path], *, known_rules: Iterable[str] = ()) -> list[Waiver]:
    known = set(known_rules)
    out: list[Waiver] = []
    for entry in paths:
        path = Path(entry)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: exception file not found") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
        extra = set(data) - {"exception"}
        if extra:
            raise InputError(f"{path}: unknown top-level key {sorted(extra)[0]!r}; use [[exception]] tables")
        for n, raw in enumerate(data.get("exception", []), 1):
            out.append(_parse(raw, f"{path}: exception #{n}", known, str(path)))
    return out


def _parse(raw: dict[str, Any], where: str, known: set[str], source: str) -> Waiver:
    unknown = set(raw) - _FIELDS
    if unknown:
        raise InputError(f"{where}: unknown field {sorted(unknown)[0]!r}; expected {', '.join(sorted(_FIELDS))}")
    for key in ("rule", "reason", "expires", "approver"):
        if key not in raw:
            raise InputError(f"{where}: missing required field {key!r}")
    for key in ("rule", "person", "scope", "reason", "approver", "requested_by", "ticket"):
        if key in raw and not isinstance(raw[key], str):
            raise InputError(f"{where}: field {key!r} must be a string")
    expires = raw["expires"]
    if isinstance(expires, datetime):
        expires = expires.date()
    if not isinstance(expires, date):
        raise InputError(f"{where}: expires must be a TOML date such as 2027-03-31")
    rule = raw["rule"]
    if known and rule not in known:
        raise InputError(f"{where}: rule {rule!r} is not in the loaded rule pack")
    person = raw.get("person", "").strip().lower() if "@" in raw.get("person", "") else raw.get("person", "")
    approver = raw["approver"].strip().lower()
    if not raw["reason"].strip():
        raise InputError(f"{where}: reason must not be empty")
    if approver and approver == person.lower():
        raise InputError(f"{where}: the approver {approver} is the person the exception is for; "
                         "an exception needs a second person")
    requested_by = raw.get("requested_by", "").strip().lower()
    if requested_by and requested_by == approver:
        raise InputError(f"{where}: the approver {approver} also requested the exception")
    return Waiver(rule=rule, person=person, scope=raw.get("scope", "*"), reason=raw["reason"].strip(),
                  expires=expires, approver=approver, requested_by=requested_by,
                  ticket=raw.get("ticket", ""), source=source)
