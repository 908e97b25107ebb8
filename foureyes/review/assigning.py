"""Who reviews a campaign's item: the first reviewer rule that names someone other than the
item's subject (under any of their spellings: a linked account, an alias), else the fallback
reviewer; why nobody, rule by rule, where none may. Pure: the config, the rules and the
identities in, a reviewer out."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..config import Config
from ..model import RosterStatus
from ..roster import Roster
from ..store.keys import fold
from .people import Lookup, Who, resolve
from .values import ReviewerRules

# (person, their accounts, the item's app, the teams its route goes through) -> (reviewer, the
# person the reviewer resolves to, why)
Decide = Callable[[str, "tuple[str, ...]", str, "tuple[str, ...]"], "tuple[str, str, str]"]


def reviewer_of(config: Config, reviewers: ReviewerRules, maintainers: Mapping[str, list[str]], lookup: Lookup,
                roster: Roster | None = None) -> Decide:
    """The reviewer of one item after another (a fixed list's turn runs on from item to item):
    what the rules decide depends on the subject, the app and the teams alone, but for that turn."""
    rotation = 0
    roster = roster or Roster()
    resolved: dict[str, Who] = {}

    def who(candidate: str) -> Who:
        if candidate not in resolved:
            resolved[candidate] = resolve(candidate, lookup)
        return resolved[candidate]

    def eligible_to(candidate: str, subject: set[str]) -> bool:
        found = who(candidate)
        return bool(found.key) and found.key not in subject and not found.people & subject

    owners: dict[str, str] = {}  # app -> its owner in the config ("": none)

    def owner_of(app_name: str) -> str:
        owner = owners.get(app_name)
        if owner is None:
            app = config.app(app_name)
            owner = owners[app_name] = (app.owner or "") if app else ""
        return owner

    subjects: dict[str, set[str]] = {}
    # where no app owner and no team maintainer may answer (no owner of the app, no maintainer of any
    # of the teams: whoever the subject is), the rules after them decide by the person alone, but for
    # the fixed list's turn: a person's answer there, once it names someone
    by_owner, by_maintainer = "app-owner" in reviewers.rules, "team-maintainer" in reviewers.rules
    alike: dict[str, tuple[str, str, str]] | None = None if "fixed" in reviewers.rules else {}
    maintained: dict[tuple[str, ...], bool] = {}  # teams -> does any of them have a maintainer

    def decide(person: str, accounts: tuple[str, ...], app: str, teams: tuple[str, ...]) -> tuple[str, str, str]:
        plain = False
        if alike is not None and not (by_owner and app and owner_of(app)):
            plain = not by_maintainer or not teams
            if not plain:
                found = maintained.get(teams)
                if found is None:
                    found = maintained[teams] = any(maintainers.get(t) for t in teams)
                plain = not found
            if plain:
                answer = alike.get(person)
                if answer is not None:
                    return answer
        answer = _decided(person, accounts, app, teams)
        if plain and answer[0]:
            alike[person] = answer  # type: ignore[index]  # (plain only where alike is a dict)
        return answer

    def _decided(person: str, accounts: tuple[str, ...], app: str, teams: tuple[str, ...]) -> tuple[str, str, str]:
        nonlocal rotation
        subject = subjects.get(person)
        if subject is None:
            subject = subjects[person] = {fold(person), *(fold(a) for a in accounts)}
        chosen, why = "", ""
        for rule in reviewers.rules:
            if rule == "app-owner":
                if app:
                    owner = owner_of(app)
                    if owner and eligible_to(owner, subject):
                        chosen, why = owner.strip().lower(), f"owner of app {app}"
            elif rule == "team-maintainer":
                for team in reversed(teams):  # the team that holds the grant first
                    for candidate in maintainers.get(team, ()):  # (the first eligible one)
                        if eligible_to(candidate, subject):
                            chosen, why = candidate, f"maintainer of team {team.rsplit('/', 1)[-1]}"
                            break
                    if chosen:
                        break
            elif rule == "manager":
                chosen, why = manager_for(person, roster, lambda c, s=subject: eligible_to(c, s))
            elif rule == "fixed":
                candidates = [r.strip().lower() for r in reviewers.fixed if eligible_to(r, subject)]
                if candidates:
                    chosen, why = candidates[rotation % len(candidates)], "fixed reviewer list"
                    rotation += 1
            if chosen:
                break
        if not chosen and reviewers.fallback and eligible_to(reviewers.fallback, subject):
            chosen, why = reviewers.fallback.strip().lower(), "fallback reviewer"
        if not chosen:
            why = "unassigned: " + _nobody(app, teams, config, reviewers, maintainers,
                                           lambda c, s=subject: eligible_to(c, s))
        return chosen, who(chosen).key if chosen else "", why

    return decide


def _assign(drafts: list[Any], config: Config, reviewers: ReviewerRules,
            maintainers: Mapping[str, list[str]], lookup: Lookup,
            roster: Roster | None = None) -> list[Any]:
    """Each draft's reviewer (`reviewer_of`), set in place: the first rule that names someone
    other than the item's subject reviews it."""
    decide = reviewer_of(config, reviewers, maintainers, lookup, roster)
    # what the rules decide depends on the subject, the app and the teams alone, but for the
    # fixed list's rotation: the same answer for the person's other items of that app and route
    decided: dict[tuple[str, str, tuple[str, ...]], tuple[str, str, str]] | None = (
        None if "fixed" in reviewers.rules else {})
    for draft in drafts:
        if decided is None:
            found = decide(draft.person, draft.accounts, draft.app, draft.teams)
        else:
            found = decided.get((draft.person, draft.app, draft.teams))
            if found is None:
                found = decided[(draft.person, draft.app, draft.teams)] = decide(
                    draft.person, draft.accounts, draft.app, draft.teams)
        draft.reviewer, draft.reviewer_key, draft.reviewer_rule = found
    return drafts


def _nobody(app_name: str, teams: tuple[str, ...], config: Config, reviewers: ReviewerRules,
            maintainers: Mapping[str, list[str]], eligible: Callable[[str], bool]) -> str:
    """Why no rule named a reviewer, rule by rule: an owner missing from the config reads
    differently from an owner who is the item's subject."""
    said = []
    for rule in reviewers.rules:
        if rule == "app-owner":
            app = config.app(app_name) if app_name else None
            said.append("no app owner (" + ("the grant is in no configured app" if app is None
                                            else f"app {app_name} has no owner in [[apps]]" if not app.owner
                                            else f"the owner of app {app_name} is the subject") + ")")
        elif rule == "team-maintainer":
            with_maintainers = [t for t in teams if maintainers.get(t)]
            said.append("no team maintainer (" + ("the grant comes through no team" if not teams
                                                  else "its teams have no maintainers" if not with_maintainers
                                                  else "each maintainer is the subject") + ")")
        elif rule == "manager":
            said.append("no manager in the roster who may review it")
        elif rule == "fixed":
            said.append("no fixed reviewer" if not reviewers.fixed else "each fixed reviewer is the subject")
    if not reviewers.fallback:
        said.append("no fallback reviewer")
    elif not eligible(reviewers.fallback):
        said.append("the fallback reviewer is the subject")
    return "; ".join(said)


def manager_for(person: str, roster: Roster, eligible: Callable[[str], bool]) -> tuple[str, str]:
    """The person's manager from the roster; the next manager up when a manager has left (or is
    the subject, or otherwise not eligible). ("", "") when the roster names no one who can review."""
    record = roster.people.get(person)
    if record is None or not record.manager:
        return "", ""
    skipped: list[str] = []
    for manager in roster.manager_chain(person):
        found = roster.people.get(manager)
        if found is not None and found.is_leaver:
            skipped.append(f"{manager} has left")
        elif not eligible(manager):
            skipped.append(f"{manager} is the subject")
        else:
            # an unknown status (a source could not be read) is said, not skipped: they may well be there
            doubt = "; their status is unknown" if found is not None and found.status == RosterStatus.UNKNOWN else ""
            if not skipped:
                return manager, f"manager (roster{doubt})"
            return manager, f"next manager up (roster{doubt}): {'; '.join(skipped)}"
    return "", ""
