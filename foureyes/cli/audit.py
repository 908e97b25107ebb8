"""`audit verify`, `audit anchor` and `audit log`: the tamper-evident record of the review."""

from __future__ import annotations

import click

from ..errors import EXIT_FINDINGS, EXIT_OK
from . import main
from .common import AppContext, finish, format_option, pass_app
from .output import counted, note, out, print_csv, print_json, print_table


@main.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log of every review action."""


@audit_group.command("verify")
@click.option("--expect-head", default=None, metavar="HASH",
              help="A head hash kept from earlier (printed by `audit verify`, in the evidence report): fail unless "
                   "the chain still contains it. Catches a chain cut back or rewritten as a whole.")
@click.option("--anchor", "anchors", multiple=True, metavar="FILE",
              help="A file of anchor lines (`audit anchor --file`, or a ticket or chat pasted): fail unless the "
                   "chain still holds every anchored head at its entry (repeatable).")
@format_option("table", "json")
@pass_app
def audit_verify(app: AppContext, expect_head: str | None, anchors: tuple[str, ...], fmt: str) -> None:
    """Check the hash chain, and the records against it; exit 1 naming the first difference.

    It recomputes every entry's hash and link, replays the state each entry committed to and
    compares every campaign, item, decision, exception and note with it, recomputes the digests
    of the rows frozen with each campaign and of its snapshot, and checks the heads kept
    outside the database. docs/review.md says what this proves and what needs an anchor."""
    verdict = app.workspace().audit_verify(expect_head=expect_head, anchor_files=anchors)
    if fmt == "json":
        print_json(verdict.to_json())
    elif verdict.ok:
        out(f"audit log intact: {verdict.entries} entries; head {verdict.head.seq} {verdict.head.hash}")
        checked = verdict.checked
        if checked:
            note("records match the chain: " + ", ".join(f"{n} {table}" for table, n in checked))
        if verdict.chain.anchors:
            note(f"the chain holds all {counted(verdict.chain.anchors, 'anchored head')}")
        else:
            note("compare the head with one kept outside the database (`audit anchor`, `--expect-head`): only "
                 "that detects a chain rewritten or cut back as a whole")
    if verdict.legacy_note:
        note(f"foureyes: note: {verdict.legacy_note}")
    if not verdict.chain.ok:
        note(f"foureyes: audit log broken at entry {verdict.chain.first_bad}: {verdict.chain.problem}")
    for difference in verdict.differences:
        note(f"foureyes: records differ from the audit chain: {difference.describe()}")
    for problem in verdict.mismatches:
        note(f"foureyes: audit log and records disagree: {problem}")
    finish(EXIT_OK if verdict.ok else EXIT_FINDINGS)


@audit_group.command("anchor")
@click.option("--file", "path", default=None, metavar="FILE",
              help="Append the anchor line to FILE (created if missing, never overwritten). Without it, print "
                   "the line for a ticket or a chat.")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="The campaign to name in the line (default: the one open campaign, if exactly one).")
@pass_app
def audit_anchor(app: AppContext, path: str | None, campaign_id: int | None) -> None:
    """State the chain's head outside the database: entry, hash, time and campaign in one line.

    The chain is verified first; a broken chain is not anchored (exit 1). Later,
    `audit verify --anchor FILE` fails unless the chain still holds every anchored head."""
    verdict, line = app.workspace().audit_anchor(campaign_id=campaign_id, file=path)
    if not verdict.ok:
        note(f"foureyes: not anchored: the audit log does not verify: {verdict.problem}")
        finish(EXIT_FINDINGS)
    if path:
        note(f"anchored in {path}: {line}")
    else:
        out(line)


@audit_group.command("log")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Only this campaign's entries (default: every entry).")
@format_option()
@pass_app
def audit_log(app: AppContext, campaign_id: int | None, fmt: str) -> None:
    """The audit entries, oldest first."""
    found = app.workspace().audit_entries(campaign_id=campaign_id)
    if fmt == "json":
        print_json({"entries": [{**e.content(), "hash": e.hash} for e in found]})
        return
    columns = ["seq", "at", "actor", "action", "campaign", "item", "decision", "reason", "hash"]
    rows = [[e.seq, e.at, e.actor, e.action, e.campaign_id or "", e.item_id or "", e.decision, e.reason,
             e.hash[:16]] for e in found]
    if fmt == "csv":
        print_csv(columns, rows)
        return
    print_table("audit log", columns, rows)
