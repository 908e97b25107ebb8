"""Links the accounts of one person across systems, and only on evidence; and says who each
person is by the roster (HR file and identity providers) where one is in the snapshot.

Links come from the explicit `[identity]` map, from emails the connectors read from a
trusted source (SAML, verified email, IAM tag, Identity Center, GCP member), and from
account names that are corporate email addresses; a roster alias (an IdP login, a second
address) leads to the roster person's primary address. Guesses are only ever suggestions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from typing import Iterable, Mapping

from .config import Config, IdentityConfig
from .model import AccountLink, Kind, Person, Principal, Snapshot
from .roster import Roster, build_roster

# Where an email on a principal came from, and how the link is then described.
TRUSTED_EMAIL_SOURCES: Mapping[str, str] = {
    "saml": "SAML identity nameId",
    "verified": "verified GitHub email",
    "tag": "IAM user tag email",
    "sso": "IAM Identity Center user email",
    "member": "GCP member email",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SYSTEM_IDS = {"github": "github", "aws": "aws", "gcp": "gcp"}


@dataclass(frozen=True)
class Suggestion:
    """A possible link that foureyes will not make on its own: evidence for a human."""

    account: str  # principal key of the unlinked account
    person: str  # key of the linked person it may belong to
    evidence: str


@dataclass(frozen=True)
class Identities:
    """The people of a snapshot. A person is one human, known by email, with every account linked
    to them; an account that cannot be linked is a person of its own (foureyes cannot tell whose
    it is) until it is. Every view and command counts people this way: ``len(people)``, of whom
    ``linked`` and ``unlinked`` (docs/cli.md, "Who is a person")."""

    people: Mapping[str, Person]
    person_of: Mapping[str, str]  # principal key -> person key
    roster: Roster = Roster()  # who works here; `configured` is false without identity sources

    @property
    def linked(self) -> list[Person]:
        return [p for p in self.people.values() if p.linked]

    @property
    def unlinked(self) -> list[Person]:
        return [p for p in self.people.values() if not p.linked]

    def person(self, key: str) -> Person | None:
        return self.people.get(key)


class EmailNormaliser:
    """Lowercases and applies `aliases` and `domain_aliases` from config, then the roster's aliases."""

    def __init__(self, identity: IdentityConfig, roster: Roster | None = None):
        self.aliases = {k.strip().lower(): v.strip().lower() for k, v in identity.aliases.items()}
        self.domain_aliases = {k.strip().lower(): v.strip().lower() for k, v in identity.domain_aliases.items()}
        self.domains = {d.strip().lower() for d in identity.email_domains}
        self.roster = roster

    def __call__(self, email: str) -> tuple[str, str]:
        """(canonical email, note on what was applied)."""
        address = email.strip().lower()
        note = ""
        local, _, domain = address.partition("@")
        if domain in self.domain_aliases:
            address = f"{local}@{self.domain_aliases[domain]}"
            note = f"domain alias {domain} → {self.domain_aliases[domain]}"
        if address in self.aliases:
            target = self.aliases[address]
            note = f"alias {address} → {target}"
            address = target
        if self.roster is not None and address not in self.roster.people:
            found = self.roster.aliases.get(address)
            if found is not None:
                target, where = found
                note = f"roster alias {address} → {target} ({where})"
                address = target
        return address, note

    def knows(self, text: str) -> bool:
        """Is ``text`` (not an address: an IdP login) a roster alias?"""
        return self.roster is not None and text.strip().lower() in self.roster.aliases

    def is_corporate(self, email: str) -> bool:
        return not self.domains or email.partition("@")[2] in self.domains


def link(snapshot: Snapshot, config: Config, *, today: date | None = None) -> Identities:
    """People from the snapshot's human accounts; never merges two people on a guess.

    With identity sources in the snapshot, each person carries their roster record: status,
    manager, department and end date (``today`` decides whether an end date has passed)."""
    roster = build_roster(snapshot, today=today)
    normalise = EmailNormaliser(config.identity, roster if roster.configured else None)
    # (key, account) of the human accounts, in key order (the index's keys: none made again per use)
    humans = sorted((key, p) for key, p in snapshot.principals.items() if p.kind in Kind.HUMAN)
    links: dict[str, list[AccountLink]] = defaultdict(list)
    person_of: dict[str, str] = {}
    names: dict[str, str] = {}

    # 1. the explicit map wins over everything
    for raw_email, entry in config.identity.people.items():
        email, _ = normalise(raw_email)
        if entry.name:
            names[email] = entry.name
        for system, ids in (("github", entry.github), ("aws", entry.aws), ("gcp", entry.gcp)):
            for ident in ids:
                key = f"{system}:{ident}"
                if key in person_of:
                    continue
                person_of[key] = email
                links[email].append(AccountLink(key, "config", f"[identity.people.\"{raw_email}\"] {system}"))

    # 2. emails read from a trusted source, 3. account names that are corporate emails
    for key, principal in humans:
        if key in person_of:
            continue
        found = _email_evidence(principal, normalise)
        if found is None:
            continue
        email, method, evidence = found
        person_of[key] = email
        links[email].append(AccountLink(key, method, evidence))

    people: dict[str, Person] = {}
    for email, accounts in links.items():
        present = [a for a in accounts if a.principal in snapshot.principals]
        if not present:
            continue  # configured, but none of their accounts are in this snapshot
        people[email] = Person(
            key=email,
            display_name=names.get(email) or _best_name(present, snapshot) or email,
            accounts=tuple(sorted(present, key=lambda a: a.principal)),
            linked=True,
            external=not normalise.is_corporate(email),
        )
    # an account that cannot be linked stays its own person, keyed SYSTEM:ID
    for key, principal in humans:
        if person_of.get(key) in people:
            continue
        person_of[key] = key
        people[key] = Person(
            key=key,
            display_name=principal.display_name or principal.id,
            accounts=(AccountLink(key, "unlinked", "no trusted email and no [identity] entry"),),
            linked=False,
        )
    for key in [k for k, v in person_of.items() if v not in people]:
        del person_of[key]
    if roster.configured:
        people = {key: replace(p, roster=roster.record_for(key if p.linked else "", p.display_name))
                  for key, p in people.items()}
    ordered = dict(sorted(people.items(), key=lambda kv: (not kv[1].linked, kv[0])))
    return Identities(people=ordered, person_of=person_of, roster=roster)


def _email_evidence(principal: Principal, normalise: EmailNormaliser) -> tuple[str, str, str] | None:
    source = str(principal.attrs.get("email_source", ""))
    if principal.email and source in TRUSTED_EMAIL_SOURCES and (
            _EMAIL.match(principal.email.strip()) or normalise.knows(principal.email)):
        email, note = normalise(principal.email)
        evidence = f"{TRUSTED_EMAIL_SOURCES[source]} {principal.email}" + (f" ({note})" if note else "")
        method = "alias" if note else source
        return email, method, evidence
    # An account whose own name is an address in a configured corporate domain
    for candidate in (str(principal.attrs.get("user_name", "")), principal.id.rsplit("/", 1)[-1]):
        if _EMAIL.match(candidate) and normalise.domains:
            email, note = normalise(candidate)
            if email.partition("@")[2] in normalise.domains:
                return email, "domain", f"account name {candidate} is in a corporate domain" + (
                    f" ({note})" if note else "")
    return None


def _best_name(accounts: Iterable[AccountLink], snapshot: Snapshot) -> str:
    # Prefer the name people chose on GitHub, then SSO, then anything.
    ranked = sorted(accounts, key=lambda a: {"github": 0, "aws": 1, "gcp": 2}.get(a.principal.split(":", 1)[0], 3))
    for account in ranked:
        principal = snapshot.principals.get(account.principal)
        if principal and principal.display_name and not _EMAIL.match(principal.display_name.strip()):
            return re.sub(r"\s*\((SSO|IAM)\)$", "", principal.display_name)
    return ""


def suggest(snapshot: Snapshot, identities: Identities) -> list[Suggestion]:
    """Possible links for unlinked accounts, with the evidence. Never applied."""
    by_name: dict[str, list[str]] = defaultdict(list)
    by_local: dict[str, list[str]] = defaultdict(list)
    by_email: dict[str, str] = {}
    for person in identities.linked:
        by_name[_name_key(person.display_name)].append(person.key)
        by_local[person.key.partition("@")[0]].append(person.key)
        by_email[person.key] = person.key
    out: list[Suggestion] = []
    for person in identities.unlinked:
        account = person.accounts[0].principal
        principal = snapshot.principals.get(account)
        if principal is None:
            continue
        evidence_for: dict[str, list[str]] = {}

        def add(target: str, evidence: str) -> None:
            evidence_for.setdefault(target, []).append(evidence)

        name = _name_key(principal.display_name)
        if name:
            for target in by_name.get(name, []):
                add(target, f"same display name {principal.display_name!r}")
        login = principal.id.rsplit("/", 1)[-1].lower()
        for target in by_local.get(login, []):
            add(target, f"login {principal.id!r} equals the local part of {target}")
        public = str(principal.attrs.get("public_email", "")).lower()
        if public in by_email:
            add(by_email[public], f"public profile email {public} (not verified)")
        if principal.email and principal.email.lower() in by_email:
            add(principal.email.lower(), f"email {principal.email} from an untrusted source")
        out.extend(Suggestion(account, target, "; ".join(ev)) for target, ev in evidence_for.items())
    return out


def _name_key(name: str) -> str:
    return " ".join(name.lower().split())
