"""`export tickets` (a campaign's revocations as tickets or GitHub issues) and `report` (its evidence)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import InputError
from ..workspace import ISSUE_WRITES, REPORT_FORMATS, TICKET_FORMATS
from . import main
from .campaigns import _campaign_for
from .common import AppContext, announce, finish, gaps_options, out_options, pass_app
from .output import counted, data, note, out, warning


def write_output(app: AppContext, text: str, target: str | None, *, force: bool = False) -> None:
    """Data to stdout, or to FILE written whole: an existing file only with --force, the
    store's own files never."""
    if target is None:
        data(text)
        return
    app.workspace().write_export(target, text, force=force)


@main.group("export")
def export_group() -> None:
    """Export a campaign's revocations as tickets (files, Jira CSV, GitHub issues)."""


@export_group.command("tickets")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Campaign (default: the one open campaign).")
@click.option("--format", "fmt", type=click.Choice([f.name for f in TICKET_FORMATS]), default="markdown", show_default=True,
              help="json is the stable interface (docs/cli.md); jira-csv is for Jira's CSV importer; github files "
                   "issues in [export.github] repo.")
@click.option("--group", is_flag=True, help="One ticket per system and resource instead of one per revoked grant.")
@click.option("--apply", "apply", is_flag=True,
              help="github: create, update and close the issues. Without it, print what would happen.")
@out_options
@gaps_options
@pass_app
def export_tickets(app: AppContext, campaign_id: int | None, fmt: str, group: bool, apply: bool,
                   out: str | None, force: bool, allow_gaps: bool, strict: bool) -> None:
    """One ticket per revoked grant, with who, what, why and the exact commands that remove it.

    Exit 3 when a source of the campaign's snapshot failed (unless --allow-gaps)."""
    if apply and fmt != "github":
        raise InputError("--apply is for --format github (files are simply written)")
    if out and fmt == "github":
        raise InputError("--out is for file formats; --format github files issues in [export.github] repo")
    if force and not out:
        raise InputError("--force is for --out FILE (replacing a file that exists)")
    workspace = app.workspace()
    campaign = _campaign_for(app, campaign_id)
    completeness = workspace.completeness(campaign.snapshot_id)
    code = announce(completeness, allow_gaps=allow_gaps, strict=strict, what=f"campaign {campaign.id}'s snapshot")
    found = workspace.tickets(campaign.id, group=group)
    if fmt != "github":
        write_output(app, workspace.render_tickets(found, fmt, completeness=completeness), out, force=force)
        if out:
            note(f"{counted(len(found.tickets), 'ticket')} of campaign {campaign.id} written to {out}")
        finish(code)
        return

    def show(action: Any) -> None:
        _out(action.describe(applied=True))

    result = workspace.file_github_issues(found, apply=apply, on_action=show if apply else None)
    if not apply:
        for action in result.actions:
            _out(action.describe(applied=False))
    for problem in result.warnings:
        warning(problem)
    counts = {a: result.count(a) for a in ISSUE_WRITES}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "nothing to change"
    if result.ignored:
        summary += f"; {counted(len(result.ignored), 'issue')} with a ticket marker not adopted (not made by foureyes)"
    if apply:
        note(f"{result.repo}: {summary}")
    else:
        note(f"dry run, nothing was changed in {result.repo} ({summary}); --apply does it")
    finish(code)


_out = out  # `out` is also the name of the --out parameter


@main.command("report")
@click.option("--campaign", "campaign_id", type=int, default=None, metavar="ID",
              help="Campaign (default: the one open campaign).")
@click.option("--format", "fmt", type=click.Choice([f.name for f in REPORT_FORMATS]), default="html", show_default=True,
              help="html: one self-contained, printable page; markdown: the same content.")
@out_options
@gaps_options
@pass_app
def report_command(app: AppContext, campaign_id: int | None, fmt: str, out: str | None, force: bool,
                   allow_gaps: bool, strict: bool) -> None:
    """A campaign's evidence for auditors: scope, sources and gaps, reviewers, decisions, exceptions,
    findings, the change population of the review period (with --activity), revocation follow-through and
    the audit chain's head.

    Exit 3 when a source of the campaign's snapshot failed (unless --allow-gaps); the report says so too."""
    if force and not out:
        raise InputError("--force is for --out FILE (replacing a file that exists)")
    campaign = _campaign_for(app, campaign_id)
    workspace = app.workspace()
    code = announce(workspace.completeness(campaign.snapshot_id), allow_gaps=allow_gaps, strict=strict,
                    what=f"campaign {campaign.id}'s snapshot")
    evidence = workspace.report(campaign.id)
    write_output(app, workspace.render_report(evidence, fmt), out, force=force)
    if out:
        note(f"evidence report of campaign {campaign.id} written to {out}; audit head {evidence.chain.head.hash}")
    finish(code)
