"""From an actor an audited system named to a person, on evidence only.

An `activity.Actor` carries what the system said: an account (principal key) and/or an
address. `Attributor.who` turns it into a `Who`: the person the identity linking put that
account (or address) into, or "unknown" with the reason. Unknown is never a different
person: verdicts built on it are "unknown", never "independent".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .activity import Actor, AuditEvent, Deployment, parse_time
from .config import Config
from .identity import EmailNormaliser, Identities
from .model import Kind, Snapshot

NON_HUMAN = frozenset({"bot", "app", Kind.APP, Kind.ROLE, Kind.SERVICE_ACCOUNT, Kind.WORKLOAD})


@dataclass(frozen=True)
class Who:
    """An actor attributed: ``person`` is a person key, "" when it could not be linked."""

    person: str
    label: str  # what to show: the person's name, else what the system named
    how: str  # why this person: "github:alice (SAML identity nameId)", or why unknown
    actor: Actor
    linked: bool = False  # the person is linked by evidence (not an unlinked account of its own)
    machine: bool = False  # a bot, app, role or service account that is not a person

    @property
    def known(self) -> bool:
        """A linked person: the only kind of actor independence can be decided for."""
        return bool(self.person) and self.linked

    def same(self, other: "Who") -> bool:
        """Proven to be the same person (or the same account)."""
        if self.person and self.person == other.person:
            return True
        return bool(self.actor.principal) and self.actor.principal == other.actor.principal


class Attributor:
    """Attributes actors to the people of one analysed snapshot (build once, ask many times)."""

    def __init__(self, snapshot: Snapshot, identities: Identities, config: Config):
        self.snapshot = snapshot
        self.identities = identities
        self.normalise = EmailNormaliser(config.identity)
        self._by_email = {k: p for k, p in identities.people.items() if p.linked}
        self._seen: dict[Actor, Who] = {}

    def who(self, actor: Actor) -> Who:
        """The person behind ``actor`` (the same actor is attributed once)."""
        found = self._seen.get(actor)
        if found is None:
            found = self._seen[actor] = self._attribute(actor)
        return found

    def _attribute(self, actor: Actor) -> Who:
        label = actor.label
        principal = self.snapshot.principals.get(actor.principal) if actor.principal else None
        if actor.kind in NON_HUMAN or (principal is not None and principal.kind not in Kind.HUMAN
                                       and principal.kind != Kind.WORKLOAD and not actor.email):
            kind = actor.kind or (principal.kind if principal else "")
            return Who("", label, f"{label} is a {kind or 'machine'} account, not a person", actor, machine=True)
        if actor.principal and actor.principal in self.identities.person_of:
            person = self.identities.people[self.identities.person_of[actor.principal]]
            if person.linked:
                link = next((a for a in person.accounts if a.principal == actor.principal), None)
                how = f"{actor.principal} ({link.method}: {link.evidence})" if link else actor.principal
                return Who(person.key, person.display_name, how, actor, linked=True)
        if actor.email:
            email, note = self.normalise(actor.email)
            person = self._by_email.get(email)
            via = actor.via or "email"
            if person is not None:
                return Who(person.key, person.display_name, f"{via} {actor.email}" + (f" ({note})" if note else ""),
                           actor, linked=True)
            if self.normalise.domains and self.normalise.is_corporate(email):
                # A corporate address names one person even without an account in the snapshot.
                return Who(email, actor.name or email, f"{via} {actor.email} (corporate address)", actor, linked=True)
        if actor.principal and actor.principal in self.identities.person_of:
            key = self.identities.person_of[actor.principal]
            return Who(key, label, f"{actor.principal} is not linked to a person ([identity], SAML or a "
                                   "verified email would link it)", actor)
        if actor.principal:
            return Who("", label, f"{actor.principal} is not an account of this snapshot (left the "
                                  "organisation, or not read)", actor)
        if actor.email:
            return Who("", label, f"{actor.via or 'email'} {actor.email} is not linked to a person", actor)
        return Who("", "unknown", "the system did not say who", actor)

    def via_run(self, event: AuditEvent, deployments: Iterable[Deployment], *, window_s: int = 3600) -> Who | None:
        """The person behind a CI identity's cloud event: the run whose OIDC subject matches
        the event's and whose deployment started within ``window_s`` before it."""
        if not event.ci_subject:
            return None
        when = parse_time(event.at)
        best: tuple[float, Deployment] | None = None
        for d in deployments:
            if d.ci_subject != event.ci_subject or not d.at:
                continue
            lag = (when - parse_time(d.at)).total_seconds()
            if 0 <= lag <= window_s and (best is None or lag < best[0]):
                best = (lag, d)
        if best is None:
            return None
        run = best[1]
        who = self.who(run.triggering_actor if run.triggering_actor.named else run.run_actor)
        how = f"{who.how}, who started run {run.run_id} ({run.ci_subject})"
        return Who(who.person, who.label, how, who.actor, linked=who.linked, machine=who.machine)
