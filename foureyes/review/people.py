"""Who is who in a campaign: one notion of "the same person" for every guard.

`--as`, reviewers (fixed, fallback, app owners, team maintainers), exception requesters and
approvers are resolved to people through the identity links the analysis makes: a person's
key, every linked account (`github:login`, `gcp:user:x@y`, an AWS ARN …), the emails those
accounts carry, and the configured e-mail aliases and domain aliases. Every spelling is
folded (`store.keys.fold`: trimmed, NFKC, casefolded), so `Omar.Osman@Acme.IO `, `github:omar-web`
and `omar.osman@acme.com` name one person, and `strauß@` and `STRAUSS@` name the same.

The aliases are frozen with the campaign (`campaign_people`), from its snapshot, so a
decision months later resolves as the campaign was planned, and the creation entry of the
audit chain commits to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from ..config import IdentityConfig
from ..identity import EmailNormaliser, Identities
from ..model import Snapshot
from ..store.keys import fold

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# alias -> the person keys it names (folded), for a set of folded aliases
Lookup = Callable[[Iterable[str]], Mapping[str, frozenset[str]]]


@dataclass(frozen=True)
class Who:
    """Someone acting or named, as a campaign resolves them."""

    given: str  # as written, trimmed (what records show)
    key: str  # the person it resolves to (folded); the folded spelling when it names nobody known
    people: frozenset[str]  # every person the spelling names (one, unless it is ambiguous)

    @property
    def ambiguous(self) -> bool:
        return len(self.people) > 1

    def is_(self, other: "Who") -> bool:
        """Do the two spellings name a person in common?"""
        return bool(self.people & other.people)


def resolve(who: str | None, lookup: Lookup) -> Who:
    """The person ``who`` names: an alias of a known person, else (an email in an aliased
    domain rewritten to its canonical domain) itself."""
    given = (who or "").strip()
    key = fold(given)
    if not key:
        return Who(given, "", frozenset())
    candidates = [key]
    local, at, domain = key.rpartition("@")
    if at and local:
        candidates.append("@" + domain)
    found = lookup(candidates)
    if key in found:
        people = found[key]
    else:
        people = frozenset({key})
        canonical = sorted(found.get("@" + domain, ())) if at and local else []
        if len(canonical) == 1:  # a domain alias: the same address in the canonical domain
            rewritten = f"{local}{canonical[0]}"
            people = lookup([rewritten]).get(rewritten, frozenset({rewritten}))
    return Who(given, sorted(people)[0] if len(people) == 1 else key, people)


def dict_lookup(aliases: Mapping[str, Iterable[str]]) -> Lookup:
    def lookup(keys: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return {k: frozenset(aliases[k]) for k in keys if k in aliases}
    return lookup


def aliases_of(snapshot: Snapshot, identities: Identities, identity: IdentityConfig) -> dict[str, dict[str, str]]:
    """Every spelling of every person in the snapshot: folded alias -> {folded person: how}.

    An alias ``@domain`` maps to ``@canonical`` for each configured domain alias, so an
    address of someone absent from the snapshot still resolves through it.
    """
    normalise = EmailNormaliser(identity)
    out: dict[str, dict[str, str]] = {}

    def add(alias: str, person: str, how: str) -> None:
        key = fold(alias)
        if key:
            out.setdefault(key, {}).setdefault(fold(person), how)

    for alias_domain, canonical in normalise.domain_aliases.items():
        add("@" + alias_domain, "@" + canonical, f"domain alias {alias_domain} → {canonical}")
    for address, target in normalise.aliases.items():
        add(address, normalise(target)[0], f"e-mail alias {address} → {target}")
    for raw, entry in identity.people.items():
        email = normalise(raw)[0]
        if email in identities.people:
            add(raw, email, f"[identity.people.\"{raw}\"]")
    read_ahead = getattr(snapshot, "principals_by_key", None)  # a stored snapshot's: in batches, not key by key
    if read_ahead is not None:
        read_ahead(link.principal for person in identities.people.values() for link in person.accounts)
    for person in identities.people.values():
        add(person.key, person.key, "the person's key")
        emails = {person.key} if _EMAIL.match(person.key) else set()
        for link in person.accounts:
            add(link.principal, person.key, f"linked account {link.principal} ({link.method})")
            principal = snapshot.principals.get(link.principal)
            if principal is None:
                continue
            forms = {principal.id, principal.id.partition(":")[2], str(principal.attrs.get("user_name", ""))}
            if principal.email:
                forms |= {principal.email, normalise(principal.email)[0]}
            for form in forms:
                if form and (_EMAIL.match(form.strip()) or form == principal.id and ":" in form):
                    add(form, person.key, f"linked account {link.principal} ({link.method})")
                    if _EMAIL.match(form.strip()):
                        emails.add(fold(form))
        for email in emails:  # the same addresses in every domain that is an alias of theirs
            local, _, domain = email.rpartition("@")
            for alias_domain, canonical in normalise.domain_aliases.items():
                if fold(canonical) == domain:
                    add(f"{local}@{alias_domain}", person.key, f"domain alias {alias_domain} → {canonical}")
    for key, person_keys in identities.person_of.items():
        if person_keys in identities.people:
            add(key, person_keys, f"linked account {key}")
    return out
