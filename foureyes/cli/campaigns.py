"""`campaign new|list|show|close`, `review`, `decide`, `undo`, `note` and `exception …` (`audit …`
is in `cli.audit`)."""

from __future__ import annotations

import getpass
from collections import Counter
import sys
from datetime import date
from typing import Any, Sequence

import click

from .. import review
from ..errors import EXIT_OK, EXIT_USAGE, InputError, NotFound
from . import main
from .common import AppContext, announce, finish, format_option, need_terminal, pass_app
from .output import Col, cell, confirm, counted, note, out, print_csv, print_json, print_table, warning

ACTOR_ENV = "FOUREYES_REVIEWER"
STATE_STYLE = {"certify": "green", "revoke": "red", "exception": "yellow", "defer": "cyan", "skipped": "dim",
               "pending": ""}


def as_option(required: bool = True, help_text: str = f"Who you are: a person's email (default: ${ACTOR_ENV}).") -> Any:
    return click.option("--as", "actor", metavar="EMAIL", envvar=ACTOR_ENV, required=required, help=help_text)


def _date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{what} {value!r}: expected a date such as 2027-03-31") from None


def _campaign_for(app: AppContext, ref: int | None) -> review.Campaign:
    """The campaign named, else the one open campaign (the workspace's one rule)."""
    return app.workspace().choose_campaign(ref)


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = int(round(width * done / total)) if total else width
    return "█" * filled + "░" * (width - filled) + f" {done}/{total}"


def _flags(item: Any) -> str:
    flags = []
    if item.is_new:
        flags.append("new")
    if item.conflicts:
        flags.append("conflict")
    if item.unchanged_since_certified:
        flags.append("unchanged")
    return ",".join(flags)


def _last_used(item: Any) -> str:
    """The last-used column: a date, "none seen", "unknown" or "-" (not reported by the system)."""
    usage = item.usage
    if usage.state == "used":
        return (usage.last_used or "")[:10]
    return {"unused": "none seen", "unknown": "unknown"}.get(usage.state, "-")


# ---------------------------------------------------------------- campaign


@main.group()
def campaign() -> None:
    """Recertification campaigns: create, list, show, close."""


@campaign.command("new")
@click.option("--name", default=None, help="Campaign name (default: 'Access review DATE').")
@click.option("--from-template", "template", default=None, metavar="NAME",
              help="Use [campaigns.templates.NAME]; runs twice in one period return the same campaign (cron).")
@click.option("--scope", "scope_kind", type=click.Choice(list(review.SCOPE_KINDS)),
              default=None, help="Which grants: all production grants (default), those in a conflict, "
                                 "production grants new since the last closed campaign, every grant of "
                                 "leavers (the roster says they left), what movers keep of their old team's "
                                 "capabilities, production grants with no use seen for --unused-days, or all; "
                                 "emergency: each use of a [[break_glass]] path in the snapshot's activity "
                                 "period, one item per use.")
@click.option("--unused-days", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --scope unused: days without use (default: [campaigns] unused_days).")
@click.option("--system", "systems", multiple=True, metavar="SYSTEM", help="Only this system (repeatable).")
@click.option("--app", "apps", multiple=True, metavar="NAME", help="Only this app (repeatable).")
@click.option("--team", "teams", multiple=True, metavar="SLUG", help="Only members of this GitHub team (repeatable).")
@click.option("--person", "people", multiple=True, metavar="KEY", help="Only this person (repeatable).")
@click.option("--reviewers", "rules", default=None, metavar="RULES",
              help="Reviewer rules in order, comma-separated: app-owner, team-maintainer, manager "
                   "(the person's manager in the roster), fixed "
                   "(default: [campaigns] reviewers).")
@click.option("--reviewer", "fixed", multiple=True, metavar="EMAIL", help="A fixed reviewer (repeatable; rule 'fixed').")
@click.option("--fallback", default=None, metavar="EMAIL",
              help="Reviews what no rule assigns (default: [campaigns] fallback_reviewer).")
@click.option("--due", default=None, metavar="DATE", help="Due date YYYY-MM-DD (default: today + [campaigns] due_days).")
@click.option("--close-policy", type=click.Choice(["revoke", "skip"]), default=None,
              help="What unresolved items become on `close --force` (default: [campaigns] close_policy).")
@click.option("--snapshot", "snapshot_ref", default=None, metavar="ID", help="Snapshot to freeze (default: latest).")
@as_option(required=False, help_text=f"Who creates it (default: ${ACTOR_ENV}, else the OS user).")
@format_option("table", "json")
@pass_app
def campaign_new(app: AppContext, name: str | None, template: str | None, scope_kind: str | None,
                 unused_days: int | None, systems: tuple[str, ...], apps: tuple[str, ...], teams: tuple[str, ...], people: tuple[str, ...],
                 rules: str | None, fixed: tuple[str, ...], fallback: str | None, due: str | None,
                 close_policy: str | None, snapshot_ref: str | None, actor: str | None, fmt: str) -> None:
    """Freeze the items of a new campaign from a snapshot and assign their reviewers."""
    workspace = app.workspace()
    actor = actor or f"os:{getpass.getuser()}"
    snapshot_id = workspace.resolve(snapshot_ref)
    if systems:
        workspace.check_systems(systems, snapshot_id)
    completeness = workspace.completeness(snapshot_id)
    if completeness.failed:  # the campaign freezes what the snapshot lacks: say so, first
        announce(completeness, allow_gaps=True)
    if template:
        given = [flag for flag, value in (("--name", name), ("--scope", scope_kind), ("--unused-days", unused_days),
                                           ("--system", systems),
                                           ("--app", apps), ("--team", teams), ("--person", people),
                                           ("--reviewers", rules), ("--reviewer", fixed), ("--fallback", fallback),
                                           ("--due", due), ("--close-policy", close_policy)) if value]
        if given:
            raise InputError(f"--from-template takes its settings from the template; drop {', '.join(given)}")
        found, created = workspace.create_from_template(template, actor=actor, snapshot=snapshot_id)
    else:
        today = date.today()
        defaults = app.config.campaigns
        rule_list = tuple(r.strip() for r in rules.split(",") if r.strip()) if rules is not None else (
            ("fixed",) if fixed else tuple(defaults.reviewers))
        reviewers = review.ReviewerRules(
            rules=rule_list, fixed=tuple(f.strip().lower() for f in fixed),
            fallback=(fallback if fallback is not None else defaults.fallback_reviewer).strip().lower())
        if unused_days is not None and scope_kind != "unused":
            raise InputError("--unused-days goes with --scope unused")
        scope = review.Scope(kind=scope_kind or "production", systems=systems, apps=apps, teams=teams, people=people,
                             unused_days=unused_days or defaults.unused_days)
        spec = workspace.campaign_spec(name=name or f"Access review {today.isoformat()}", scope=scope,
                                       reviewers=reviewers, due=_date(due, "--due"), close_policy=close_policy)
        found = workspace.create_campaign(spec, actor=actor, snapshot=snapshot_id)
        created = True
    counts = workspace.reviewer_counts(found)  # (as written, where created now)
    if fmt == "json":
        # per reviewer, "" for the unassigned (as an item's "reviewer" says); "reviewers" are the rules
        print_json({**review.campaign_json(found), "created": created,
                    "items": sum(sum(c.values()) for c in counts.values()),
                    "by_reviewer": {r: sum(c.values()) for r, c in sorted(counts.items())}})
        app.leave()
        return
    verb = "created" if created else "already exists for this period:"
    total = sum(sum(c.values()) for c in counts.values())
    out(f"campaign {found.id} {verb} {found.name!r}: {total} items from snapshot {found.snapshot_id}, "
               f"due {found.due.isoformat()}")
    print_table(None, ["reviewer", "items"], [[r or "(unassigned)", sum(c.values())] for r, c in sorted(counts.items())])
    unassigned = sum(counts.get("", {}).values()) if "" in counts else 0
    if unassigned:
        why = Counter(i.reviewer_rule.removeprefix("unassigned: ") for i in workspace.items(found.id)
                      if not i.reviewer)
        for reason, n in why.most_common():
            warning(f"{counted(n, 'item')} without a reviewer: {reason}")
        warning("name reviewers with app owners ([[apps]] owner), --reviewers, or a fallback reviewer "
                "(--fallback or [campaigns] fallback_reviewer); nobody reviews their own access")
    app.leave()  # (what is left of the process is freeing the campaign's objects one by one)


@campaign.command("list")
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="all", show_default=True,
              help="Only open or closed campaigns.")
@format_option()
@pass_app
def campaign_list(app: AppContext, status: str, fmt: str) -> None:
    """Campaigns with their progress."""
    workspace = app.workspace()
    workspace.check_revocations()  # later snapshots may have settled revocations
    found = workspace.campaign_summaries(status=None if status == "all" else status)
    if fmt == "json":
        print_json({"campaigns": [{**review.campaign_json(s.campaign), "progress": s.progress.to_json(),
                                   "follow_through": dict(s.follow_through)} for s in found]})
        return
    columns = ["id", "name", "status", "snapshot", "due", "items", "done", "pending", "exceptions waiting"]
    rows = [[s.campaign.id, s.campaign.name, s.campaign.status + (" (overdue)" if s.campaign.overdue() else ""),
             s.campaign.snapshot_id, s.campaign.due.isoformat(), s.progress.total, s.progress.done,
             s.progress.unresolved, s.progress.exception_waiting] for s in found]
    if fmt == "csv":
        print_csv(columns, rows)
        return
    if not rows:
        note("no campaigns yet: `foureyes campaign new` creates one")
        return
    print_table("campaigns", columns, rows)


@campaign.command("show")
@click.argument("campaign_id", type=int)
@click.option("--items", "show_items", is_flag=True, help="List the items too.")
@click.option("--reviewer", default=None, metavar="EMAIL", help="Only this reviewer's items.")
@click.option("--where", "where", multiple=True, metavar="TERM",
              help="Only items matching (repeatable, all must match): key:value contains, key=value is, a glob "
                   "or a word: person:walter, app=payments, new=yes, … (docs/review.md).")
@format_option()
@pass_app
def campaign_show(app: AppContext, campaign_id: int, show_items: bool, reviewer: str | None,
                  where: tuple[str, ...], fmt: str) -> None:
    """A campaign: progress, reviewers, exceptions and revocation follow-through."""
    workspace = app.workspace()
    found = workspace.campaign(campaign_id)
    workspace.check_revocations(found.id)
    prog = workspace.progress(found.id)
    follow = workspace.follow_through_counts(found.id)
    counts = workspace.reviewer_counts(found.id)
    chosen = review.ItemFilter.parse(where)
    listed = workspace.items(found.id, reviewer=reviewer, where=chosen) \
        if (show_items or fmt != "table" or where or reviewer) else []
    excepts = workspace.exceptions(campaign_id=found.id)
    if fmt == "json":
        print_json({**review.campaign_json(found), "progress": prog.to_json(), "follow_through": follow,
                    "by_reviewer": {r: dict(c) for r, c in sorted(counts.items())},
                    "exceptions": [review.exception_json(e) for e in excepts],
                    "items": [review.item_json(i) for i in listed]})
        return
    if fmt == "csv":
        print_csv(["id", "person", "entitlement", "resource", "tier", "app", "reviewer", "state", "decided_by",
                   "decided_at", "flags", "last_used", "usage", "suggestion"],
                  [[i.id, i.person, i.entitlement, i.resource_name, i.tier, i.app, i.reviewer, i.state,
                    i.decided_by or "", i.decided_at or "", _flags(i), i.usage.last_used or "",
                    i.usage.describe(), i.usage.suggestion] for i in listed])
        return
    out(f"campaign {found.id}: {found.name}")
    out(f"  status     {found.status}" + (f" (closed {found.closed_at} by {found.closed_by}: {found.close_reason})"
                                          if found.closed_at else "") + (" — OVERDUE" if found.overdue() else ""))
    out(f"  snapshot   {found.snapshot_id} (digest {found.snapshot_digest[:16]}…)")
    out(f"  scope      {found.scope.describe()}")
    out(f"  due        {found.due.isoformat()}    created {found.created_at} by {found.created_by}")
    out(f"  reviewers  {', '.join(found.reviewers.rules) or '-'}"
        + (f"; fallback {found.reviewers.fallback}" if found.reviewers.fallback else "")
        + f"; close policy: {found.policy.close_policy}")
    out(f"  progress   {progress_bar(prog.done, prog.total)}")
    out(f"             {prog.certified} certified, {prog.revoked} revoked, {prog.excepted} excepted, "
        f"{prog.skipped} skipped; {prog.pending} pending, {prog.deferred} deferred, "
        f"{counted(prog.exception_waiting, 'exception')} awaiting a second approver")
    out(f"  revocations {follow['pending']} pending, {follow['verified']} verified, {follow['regressed']} regressed")
    print_table("by reviewer", ["reviewer", "items", "pending", "decided"],
                [[r or "(unassigned)", sum(c.values()), c.get("pending", 0) + c.get("defer", 0),
                  sum(c.values()) - c.get("pending", 0) - c.get("defer", 0)] for r, c in sorted(counts.items())])
    if excepts:
        print_table("exceptions", ["id", "item", "person", "status", "expires", "requested by", "approver", "reason"],
                    [[e.id, e.item_id, e.person, e.status, e.expires.isoformat(), e.requested_by, e.approver or "",
                      e.reason] for e in excepts])
    if listed:
        print_table("items", [Col("id", "id", align="right", whole=True, priority=0),
                              Col("person", "person", min_width=14, priority=0, grow=1),
                              Col("grant", "grant", min_width=24, priority=0, grow=2),
                              Col("reviewer", "reviewer", min_width=12, priority=4, grow=1),
                              Col("state", "state", whole=True, priority=1), Col("flags", "flags", priority=5),
                              Col("used", "last used", priority=2, min_width=10),
                              Col("suggestion", "suggestion", priority=2, min_width=14)],
                    [[cell(i.id), cell(i.person_name or i.person), cell(i.label), cell(i.reviewer),
                      cell(i.state, style=STATE_STYLE.get(i.state)), cell(_flags(i)), cell(_last_used(i)),
                      cell(i.usage.suggestion)] for i in listed])


@campaign.command("close")
@click.argument("campaign_id", type=int)
@click.option("--force", is_flag=True, help="Close with unresolved items; they follow the campaign's close policy.")
@click.option("--reason", default="", help="Why (required with --force).")
@as_option()
@format_option("table", "json")
@pass_app
def campaign_close(app: AppContext, campaign_id: int, force: bool, reason: str, actor: str, fmt: str) -> None:
    """Close a campaign; unresolved items need --force and a reason."""
    workspace = app.workspace()
    closed, decided = workspace.close_campaign(campaign_id, actor=actor, force=force, reason=reason)
    if fmt == "json":
        print_json({**review.campaign_json(closed), "policy_items": decided,
                    "progress": workspace.progress(closed.id).to_json()})
        return
    out(f"campaign {closed.id} closed by {closed.closed_by}")
    if decided:
        outcome = "revoke" if closed.policy.close_policy == "revoke" else "skipped"
        note(f"{counted(len(decided), 'unresolved item')} became {outcome} (close policy): "
             + ", ".join(str(i) for i in decided[:20]) + (" …" if len(decided) > 20 else ""))


# ---------------------------------------------------------------- review (TUI)


@main.command("review")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Campaign (default: the one open campaign; with several open, name one).")
@as_option(required=False, help_text=f"Who reviews: a person's email (default: ${ACTOR_ENV}; else the review "
                                      "tab asks).")
@pass_app
def review_command(app: AppContext, campaign_id: int | None, actor: str | None) -> None:
    """The review queue in the terminal UI: your items, decided by key."""
    from ..tui import run_app  # Textual is imported only by the commands that open the TUI

    workspace = app.workspace()  # open (and migrate) now, so a store problem is one line, not a TUI crash
    try:  # the one rule: a campaign named, else the one open campaign; several open are refused
        workspace.choose_campaign(campaign_id)
    except NotFound:
        if campaign_id is not None:
            raise  # with none open, the queue says so and offers to create one
    need_terminal("review")
    run_app(workspace=workspace, review=True, reviewer=(actor or "").strip().lower(), campaign_id=campaign_id)


# ---------------------------------------------------------------- decide, undo, note


@main.command()
@click.argument("args", nargs=-1, required=True, metavar="[ITEM]... certify|revoke|defer|exception")
@click.option("--reason", default="", help="Why; required for an exception.")
@click.option("--expires", default=None, metavar="DATE", help="An exception's expiry, YYYY-MM-DD (required for one).")
@click.option("--note", "note_text", default="", help="A note stored with the item.")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Campaign for --where (default: the one open campaign).")
@click.option("--where", "where", multiple=True, metavar="TERM",
              help="Decide every item of your queue matching (repeatable, all must match; bulk): key=value is, "
                   "key:value contains: app=payments, new=no, person:walter, … (docs/review.md).")
@click.option("--yes", is_flag=True, help="Confirm a bulk decision without asking.")
@click.option("--overwrite", is_flag=True,
              help="Bulk: replace earlier decisions too (without it, items decided already are skipped).")
@as_option()
@format_option("table", "json")
@pass_app
def decide(app: AppContext, args: tuple[str, ...], reason: str, expires: str | None, note_text: str,
           campaign_id: int | None, where: tuple[str, ...], yes: bool, overwrite: bool, actor: str, fmt: str) -> None:
    """Decide items: `decide 12 certify --as EMAIL`, `decide 12 13 revoke …`, or
    `decide --where app=payments certify --yes` (each decision is committed as it is made).

    One item named is decided whatever its state; a bulk decision (several items, or
    --where) skips items decided already unless --overwrite."""
    workspace = app.workspace()
    *raw_items, decision = args
    if decision not in review.DECISIONS:
        raise InputError(f"decision {decision!r}: expected one of {', '.join(review.DECISIONS)} (after the item ids)")
    try:
        item_ids = [int(x) for x in raw_items]
    except ValueError:
        raise InputError(f"items must be numbers, got {' '.join(raw_items)!r}") from None
    if where:
        if item_ids:
            raise InputError("give item ids or --where, not both")
        chosen = review.ItemFilter.parse(where)
        found = _campaign_for(app, campaign_id)
        item_ids = [i.id for i in workspace.reviewer_queue(found, actor, where=chosen)]
        if not item_ids:
            raise NotFound(f"no item of {actor}'s queue in campaign {found.id} matches {' '.join(where)}")
    if not item_ids:
        raise InputError("name the items to decide, or select them with --where TERM (KEY=VALUE, KEY:VALUE)")
    until = _date(expires, "--expires")
    if len(item_ids) > 1 and not yes:
        if not sys.stdin.isatty():
            raise InputError(f"a bulk decision ({decision} on {len(item_ids)} items) needs --yes when not interactive")
        decided = 0 if overwrite else sum(1 for i in item_ids if workspace.item(i).state != review.PENDING)
        left = f"; {decided} decided already would be skipped" if decided else ""
        if not confirm(f"{decision} {len(item_ids) - decided} items as {actor}{left}?"):
            note("nothing decided")
            finish(EXIT_OK)
            return
    skipped: Sequence[tuple[int, str]] = ()
    if len(item_ids) == 1:
        outcomes = [workspace.decide(item_ids[0], decision, actor=actor, reason=reason, expires=until,
                                     note=note_text)]
        refused: Sequence[tuple[int, str]] = ()
    else:
        bulk = workspace.decide_many(item_ids, decision, actor=actor, reason=reason, expires=until,
                                     note=note_text, overwrite=overwrite)
        outcomes, refused, skipped = list(bulk.done), bulk.refused, bulk.skipped
    for outcome in outcomes:
        for problem in outcome.warnings:
            warning(problem)
    for item_id, why in refused:
        note(f"foureyes: refused: item {item_id}: {why}")
    for item_id, why in skipped:
        note(f"foureyes: skipped: {why}")
    if fmt == "json":
        print_json({"decided": [{**review.item_json(o.item), "decision": review.decision_json(o.decision) if o.decision else None,
                                 "exception": review.exception_json(o.exception) if o.exception else None,
                                 "warnings": list(o.warnings)} for o in outcomes],
                    "refused": [{"item": i, "reason": why} for i, why in refused],
                    "skipped": [{"item": i, "reason": why} for i, why in skipped]})
    else:
        for o in outcomes:
            flag = " (conflicted reviewer)" if o.decision and o.decision.reviewer_conflicted else ""
            extra = f"; exception {o.exception.id} awaits a second approver" if o.exception else ""
            out(f"item {o.item.id}: {o.item.state} — {o.item.person} {o.item.label}{flag}{extra}")
        if len(item_ids) > 1:
            note(f"{len(outcomes)} decided, {len(skipped)} skipped (already decided), {len(refused)} refused")
    finish(EXIT_USAGE if refused else EXIT_OK)


@main.command()
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Campaign (default: the one open campaign).")
@as_option()
@pass_app
def undo(app: AppContext, campaign_id: int | None, actor: str) -> None:
    """Undo your last decision in a campaign (a whole bulk decision at once)."""
    found = _campaign_for(app, campaign_id)
    outcomes = app.workspace().undo_last(found.id, actor=actor)
    for o in outcomes:
        out(f"item {o.item.id}: {o.decision.decision if o.decision else ''} undone, now {o.item.state}")


@main.command("note")
@click.argument("item_id", type=int)
@click.argument("text")
@as_option()
@pass_app
def note_command(app: AppContext, item_id: int, text: str, actor: str) -> None:
    """Add a note to an item (audited)."""
    added = app.workspace().add_note(item_id, text, actor=actor)
    out(f"note {added.id} added to item {item_id}")


# ---------------------------------------------------------------- exceptions


@main.group("exception")
def exception_group() -> None:
    """Exceptions made in campaigns: list, approve (the second pair of eyes), reject."""


@exception_group.command("list")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Only this campaign's exceptions (default: every campaign's).")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "withdrawn", "lapsed"]), default=None,
              help="Only exceptions in this state (pending: awaiting a second approver).")
@click.option("--approvable-by", "approver", default=None, metavar="EMAIL",
              help="Only pending exceptions this person may approve (not theirs, not about them).")
@format_option()
@pass_app
def exception_list(app: AppContext, campaign_id: int | None, status: str | None, approver: str | None,
                   fmt: str) -> None:
    """Exceptions requested in campaigns; approved, unexpired ones count in `check` and `conflicts`."""
    workspace = app.workspace()
    if approver:
        campaigns = [workspace.campaign(campaign_id)] if campaign_id is not None else \
            workspace.campaigns(status=review.OPEN)
        found = [e for c in campaigns for e, _ in workspace.approvable_by(c, approver)]
    else:
        found = workspace.exceptions(campaign_id=campaign_id, status=status)
    if fmt == "json":
        print_json({"exceptions": [review.exception_json(e) for e in found]})
        return
    columns = ["id", "campaign", "item", "person", "status", "expires", "requested by", "approver", "covers", "reason"]
    rows = [[e.id, e.campaign_id, e.item_id, e.person, e.status, e.expires.isoformat(), e.requested_by,
             e.approver or "", ", ".join(f"{r} {s}" for r, s in e.covers), e.reason] for e in found]
    if fmt == "csv":
        print_csv(columns, rows)
        return
    print_table("exceptions", columns, rows)


@exception_group.command("approve")
@click.argument("exception_id", type=int)
@click.option("--note", "note_text", default="", help="A note with the approval.")
@as_option()
@pass_app
def exception_approve(app: AppContext, exception_id: int, note_text: str, actor: str) -> None:
    """Approve an exception: neither its requester nor its subject may."""
    outcome = app.workspace().approve_exception(exception_id, actor=actor, note=note_text)
    for problem in outcome.warnings:
        warning(problem)
    assert outcome.exception is not None
    out(f"exception {exception_id} approved by {outcome.exception.approver}; it counts until "
               f"{outcome.exception.expires.isoformat()}")


@exception_group.command("reject")
@click.argument("exception_id", type=int)
@click.option("--reason", required=True, help="Why it is refused.")
@as_option()
@pass_app
def exception_reject(app: AppContext, exception_id: int, reason: str, actor: str) -> None:
    """Reject an exception: its item goes back to pending."""
    outcome = app.workspace().reject_exception(exception_id, actor=actor, reason=reason)
    out(f"exception {exception_id} rejected; item {outcome.item.id} is pending again")
