"""Exceptions (waivers): a named person's finding accepted for a reason, until a date.

An exception names the person, the rule, the scope, the reason, the expiry and an
approver who is not the person. Expired exceptions are shown but no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..model import stable_hash
from ..schema import Checked, Date, EntryVoice, Field, ListOf, Schema, Str, Table, close_match


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


_EXCEPTION = Table({
    "rule": Field(Str(nonempty=True), required=True),
    "person": Field(Str(strip=True), default=""),
    "scope": Field(Str(), default="*"),
    "reason": Field(Str(nonempty=True, strip=True), required=True),
    "expires": Field(Date(expected="a TOML date such as 2027-03-31 (no quotes)", datetime_ok=True), required=True),
    "approver": Field(Str(nonempty=True, strip=True), required=True),
    "requested_by": Field(Str(strip=True), default=""),
    "ticket": Field(Str(), default=""),
})
EXCEPTION_FILE = Schema(Table({"exception": Field(ListOf(_EXCEPTION))}, note="use [[exception]] tables"),
                        voice=EntryVoice("exception", lambda index, raw: f"exception #{index + 1}"),
                        missing="exception file not found")


def load_waivers(paths: Iterable[str | Path], *, known_rules: Iterable[str] = ()) -> list[Waiver]:
    known = set(known_rules)
    out: list[Waiver] = []
    for entry in paths:
        checked = EXCEPTION_FILE.load(Path(entry))
        for index, raw in enumerate(checked.value["exception"]):
            out.append(_waiver(raw, checked, ("exception", index), known))
    return out


def _waiver(raw: dict[str, Any], checked: Checked, at: tuple[str, int], known: set[str]) -> Waiver:
    """A checked [[exception]] as a Waiver, once it names a loaded rule and a second person."""
    rule = raw["rule"]
    if known and rule not in known:
        hint = close_match(rule, known)
        checked.fail(at + ("rule",), f"{rule!r} is not in the loaded rule pack"
                     + (f" (did you mean {hint!r}?)" if hint else "; `foureyes rules list` shows them"))
    person = raw["person"].lower() if "@" in raw["person"] else raw["person"]
    approver = raw["approver"].lower()
    if approver == person.lower():
        checked.fail(at + ("approver",), f"the approver {approver} is the person the exception is for; "
                     "an exception needs a second person")
    requested_by = raw["requested_by"].lower()
    if requested_by and requested_by == approver:
        checked.fail(at + ("approver",), f"the approver {approver} also requested the exception")
    return Waiver(rule=rule, person=person, scope=raw["scope"], reason=raw["reason"], expires=raw["expires"],
                  approver=approver, requested_by=requested_by, ticket=raw["ticket"], source=checked.path)
