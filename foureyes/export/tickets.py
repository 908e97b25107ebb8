"""Revocation tickets: one per revoked grant, or one per system and resource, each with who,
what, why, the exact remediation, a priority from the severity and a due date.

`revocations` reads a campaign's revoked items from the store (reads only: follow-through
includes checks not recorded yet without recording them); `build_tickets` turns them into
tickets (pure); `build` is both. `to_json`, `to_csv`, `to_jira_csv` and `to_markdown` render
the same tickets (docs/exports.md); `ticket_markdown` is one ticket's body, which the GitHub
issue exporter reuses. `FORMATS` is the one list of ticket formats.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import review
from ..config import Config
from ..emergency import USE_VIA
from ..graph import Graph
from ..identity import link
from ..model import (ACCESS_ADMIN, CODE_MERGE_UNREVIEWED, CODE_PUSH, DEPLOY_RUN, SEVERITIES, Edge, EdgeKind, Grant,
                     Snapshot, subject_repo)
from ..store import Store
from ..textsafe import csv_cell, jira_block, jira_text, json_text, md_block, md_literal, safe_text
from .files import ExportFormat
from .remediation import ALL, ME, Remedy, remedies

PRIORITY = {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}
# Jira's CSV importer: one "Labels" column per label (repeated headers), the rest one each.
JIRA_COLUMNS = ("Summary", "Issue Type", "Priority", "Due Date", "Labels", "Description")
CSV_COLUMNS = ("key", "title", "priority", "severity", "due", "labels", "campaign", "campaign_name", "system",
               "resource", "resource_name", "items", "people", "person_names", "accounts", "entitlements",
               "decided_by", "reasons", "follow_through", "remediation", "description")
TITLE_LIMIT = 250  # GitHub titles stop at 256 characters, Jira summaries at 255
ACCESS_WEIGHT = (ACCESS_ADMIN, DEPLOY_RUN, CODE_MERGE_UNREVIEWED)


# ---------------------------------------------------------------- values


# The one list of ticket formats: the CLI's --format choices and the TUI's export dialog.
FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("markdown", "Markdown", "tickets.md"),
    ExportFormat("jira-csv", "Jira CSV", "tickets-jira.csv"),
    ExportFormat("csv", "CSV", "tickets.csv"),
    ExportFormat("json", "JSON", "tickets.json"),
    ExportFormat("github", "GitHub issues"),
)
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)


@dataclass(frozen=True)
class Revocation:
    """One revoked item: the decision, the ways to carry it out, and whether it has been."""

    item: review.Item
    decision: review.Decision | None
    remedies: tuple[Remedy, ...]
    follow: review.FollowUp | None
    severity: str

    @property
    def state(self) -> str:
        return self.follow.state if self.follow is not None else "pending"

    @property
    def reason(self) -> str:
        return self.decision.reason if self.decision is not None else ""

    @property
    def decided_by(self) -> str:
        return self.item.decided_by or ""

    @property
    def by_policy(self) -> bool:
        return bool(self.decision and self.decision.by_policy)

    @property
    def who(self) -> str:
        item = self.item
        return f"{item.person_name} <{item.person}>" if item.person_name and "@" in item.person else \
            (item.person_name or item.person)


@dataclass(frozen=True)
class Option:
    """A remedy and the revoked items it carries out."""

    remedy: Remedy
    items: tuple[int, ...]


@dataclass(frozen=True)
class Ticket:
    key: str  # stable across runs: c{campaign}-i{item}, or c{campaign}-g{hash of system and resource}
    campaign: review.Campaign
    system: str
    resource: str
    resource_name: str
    revocations: tuple[Revocation, ...]
    options: tuple[Option, ...]
    severity: str
    labels: tuple[str, ...]
    due: date

    @property
    def grouped(self) -> bool:
        return self.key.split("-", 1)[1].startswith("g")

    @property
    def priority(self) -> str:
        return PRIORITY.get(self.severity, "Medium")

    @property
    def follow_through(self) -> str:
        """verified once every revocation is; regressed as soon as one is."""
        states = {r.state for r in self.revocations}
        if "regressed" in states:
            return "regressed"
        return "verified" if states == {"verified"} else "pending"

    @property
    def title(self) -> str:
        return _cut(title_of(self, safe_text))

    @property
    def items(self) -> tuple[int, ...]:
        return tuple(r.item.id for r in self.revocations)


@dataclass(frozen=True)
class TicketSet:
    campaign: review.Campaign
    grouped: bool
    tickets: tuple[Ticket, ...]


# ---------------------------------------------------------------- building


def build(store: Store, config: Config, campaign_id: int, *, group: bool = False) -> TicketSet:
    """The tickets of a campaign's revocations; reads the store, never writes to it."""
    campaign, found = revocations(store, config, campaign_id)
    return build_tickets(config, campaign, found, group=group)


def revocations(store: Store, config: Config, campaign_id: int) -> tuple[review.Campaign, list[Revocation]]:
    """A campaign's revoked items with their decisions, remedies and follow-through.

    Follow-through counts the recorded checks and those later snapshots would add
    (`review.pending_checks`), which are computed but not recorded: an export never writes.
    """
    campaign = review.get_campaign(store, campaign_id)
    revoked = review.items(store, campaign.id, states=[review.REVOKE])
    if not revoked:
        return campaign, []
    decisions = {d.id: d for d in review.decisions(store, campaign_id=campaign.id)}
    pending = review.pending_checks(store, config, campaign_id=campaign.id)
    follow = {f.item_id: f for f in review.follow_through(store, campaign_id=campaign.id, unrecorded=pending)}
    routes = Routes(store.load_snapshot(campaign.snapshot_id), config)
    return campaign, [
        Revocation(item=item, decision=decisions.get(item.decision_id or -1), remedies=tuple(routes.remedies(item)),
                   follow=follow.get(item.id), severity=severity_of(item))
        for item in revoked
    ]


def build_tickets(config: Config, campaign: review.Campaign, revocations: Sequence[Revocation], *,
                  group: bool = False) -> TicketSet:
    """Revocations as tickets, one each or one per system and resource (``group``). Pure."""
    if group:
        buckets: dict[tuple[str, str], list[Revocation]] = {}
        for r in revocations:
            buckets.setdefault((r.item.system, r.item.resource), []).append(r)
        tickets = [_ticket(config, campaign, f"c{campaign.id}-g{_digest(system, resource)}", rs)
                   for (system, resource), rs in buckets.items()]
    else:
        tickets = [_ticket(config, campaign, f"c{campaign.id}-i{r.item.id}", [r]) for r in revocations]
    tickets.sort(key=lambda t: (-SEVERITIES.index(t.severity), t.system, t.resource_name, t.items))
    return TicketSet(campaign, group, tuple(tickets))


def severity_of(item: review.Item) -> str:
    """The highest severity of the conflicts the grant takes part in; without one, medium for a
    grant that administers access, deploys or merges unreviewed, else low."""
    found = [c.severity for c in item.conflicts if c.severity in SEVERITIES]
    if found:
        return max(found, key=SEVERITIES.index)
    return "medium" if set(item.capabilities) & set(ACCESS_WEIGHT) else "low"


def _ticket(config: Config, campaign: review.Campaign, key: str, revocations: list[Revocation]) -> Ticket:
    first = revocations[0].item
    options: dict[tuple[str, tuple[str, ...]], tuple[Remedy, list[int]]] = {}
    for r in revocations:
        for remedy in r.remedies:
            slot = options.setdefault((remedy.title, remedy.commands), (remedy, []))
            slot[1].append(r.item.id)
    ordered = sorted(options.values(), key=lambda o: (o[0].affects != ME, min(o[1])))
    severity = max((r.severity for r in revocations), key=SEVERITIES.index)
    return Ticket(
        key=key, campaign=campaign, system=first.system, resource=first.resource,
        resource_name=first.resource_name or first.resource, revocations=tuple(revocations),
        options=tuple(Option(remedy, tuple(items)) for remedy, items in ordered), severity=severity,
        labels=tuple(dict.fromkeys(list(config.export.labels) + [f"severity:{severity}"])),
        due=min(_due(config, campaign, r) for r in revocations),
    )


def _due(config: Config, campaign: review.Campaign, r: Revocation) -> date:
    decided = r.item.decided_at
    if not decided:
        return campaign.due
    return date.fromisoformat(decided[:10]) + timedelta(days=config.export.due_days)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:12]


class Routes:
    """The campaign snapshot's graph: from a person's accounts to the principal holding a grant."""

    def __init__(self, snapshot: Snapshot, config: Config):
        self.snapshot = snapshot
        self.graph = Graph(snapshot, link(snapshot, config))
        self.grants: dict[str, Grant] = dict(snapshot.keyed_grants())

    def edges_to(self, accounts: Iterable[str], principal: str) -> list[Edge] | None:
        """The shortest chain of member-of / assume / trigger edges, or None when unreachable."""
        return self.graph.route_to(accounts, principal)

    def remedies(self, item: review.Item) -> list[Remedy]:
        if item.via == USE_VIA:  # a use of an emergency path reviewed as not justified: no grant to remove
            return [Remedy(f"Follow up the {item.entitlement} by {item.person_name or item.person}", (), ME,
                           "record the incident or reason, review what the session did (the item's lines), and take "
                           "the person off the path if it was not theirs to use")]
        grant = self.grants.get(item.grant_key)
        if grant is None:  # cannot happen for items frozen from this snapshot; say so rather than guess
            return [Remedy(f"Remove {item.entitlement} on {item.resource_name or item.resource}", (), ALL,
                           "the grant is not in the campaign's snapshot; remove it in the system's console")]
        path = self.edges_to(item.accounts, grant.principal) or []
        found = remedies(self.snapshot, grant, path)
        trigger = next((e for e in path if e.kind == EdgeKind.CAN_TRIGGER), None)
        if trigger is not None:
            # they run the deployment because they can push the repository: losing that is their option
            found = self._push_remedies(item.accounts, trigger) + found
        return found

    def _push_remedies(self, accounts: Sequence[str], trigger: Edge) -> list[Remedy]:
        workload = self.snapshot.principals.get(trigger.dst)
        repo = subject_repo(workload.id if workload is not None else "")
        if not repo:
            return []
        target = f"github:repo:{repo}"
        out: list[Remedy] = []
        for grant in sorted((g for g in self.grants.values() if g.resource == target and CODE_PUSH in g.capabilities),
                            key=lambda g: (g.principal, g.entitlement)):
            path = self.edges_to(accounts, grant.principal)
            if path is None:
                continue
            for remedy in remedies(self.snapshot, grant, path):
                if remedy.affects == ME and remedy not in out:
                    note = f"they can run this deployment because they can push {repo}"
                    out.append(replace(remedy, note=f"{remedy.note}; {note}" if remedy.note else note))
        return out


# ---------------------------------------------------------------- words shared by every format


Lit = Callable[[object], str]  # renders an untrusted value for the target format


def title_of(ticket: Ticket, lit: Lit) -> str:
    if ticket.grouped:
        n = len(ticket.revocations)
        return (f"Revoke {n} grant{'s' if n != 1 else ''} on {lit(ticket.resource_name)} "
                f"({lit(ticket.system)})")
    item = ticket.revocations[0].item
    if item.via == USE_VIA:
        return f"Follow up the {lit(item.entitlement)} on {lit(ticket.resource_name)} by " \
               f"{lit(item.person_name or item.person)}: reviewed as not justified"
    return f"Revoke {lit(item.entitlement)} on {lit(ticket.resource_name)} from {lit(item.person_name or item.person)}"


def _cut(text: str) -> str:
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def _affects(option: Option, ticket: Ticket) -> str:
    if option.remedy.affects == ME:
        return "only that person loses access" if ticket.grouped else "only this person loses access"
    return "everyone who holds it this way loses it"


def _choose(ticket: Ticket) -> str:
    return "For each item, carry out one option that names it" if ticket.grouped else "Choose one"


def _for_items(option: Option, ticket: Ticket, lit: Lit) -> str:
    if not ticket.grouped:
        return ""
    names = {r.item.id: r.item.person_name or r.item.person for r in ticket.revocations}
    return "; for " + ", ".join(f"item {i} ({lit(names[i])})" for i in option.items)


def _why(r: Revocation, lit: Lit) -> str:
    by = "the close policy (unresolved when the campaign closed)" if r.by_policy else lit(r.decided_by)
    when = (r.item.decided_at or "")[:10]
    text = f"revoked by {by}" + (f" on {when}" if when else "")
    return text + (f": {lit(r.reason)}" if r.reason else "")


def _follow(r: Revocation) -> str:
    f = r.follow
    if f is None or f.state == "pending":
        unknown = f" (snapshot {', '.join(map(str, f.unknown_in))} could not tell: gaps)" if f and f.unknown_in else ""
        return "pending: no later snapshot shows the grant gone yet" + unknown
    if f.state == "verified":
        return f"verified: gone in snapshot {f.gone_in}"
    return f"regressed: gone in snapshot {f.gone_in}, back in snapshot {f.back_in}"


def _campaign(ticket: Ticket, lit: Lit) -> str:
    c = ticket.campaign
    return f"{c.id} {lit(c.name)} (snapshot {c.snapshot_id}, review due {c.due.isoformat()})"


# ---------------------------------------------------------------- plain text (CSV, JSON)


def description(ticket: Ticket) -> str:
    """The ticket's description as plain text; every untrusted value is shown on one line."""
    lit = safe_text
    lines = [title_of(ticket, lit) + "."]
    for r in ticket.revocations:
        item = r.item
        lines.append("")
        if ticket.grouped:
            lines.append(f"Item {item.id}:")
        lines += [f"Who: {lit(r.who)} (accounts: {', '.join(lit(a) for a in item.accounts)})",
                  f"What: {lit(item.entitlement)} on {lit(item.resource_name or item.resource)} "
                  f"({lit(item.system)}, tier {lit(item.tier) or 'none'}"
                  + (f", app {lit(item.app)}" if item.app else "") + f", via {lit(item.via) or 'direct'}); gives "
                  + ", ".join(lit(c) for c in item.capabilities),
                  "Path: " + " → ".join(lit(step) for step in item.path),
                  f"Why: {_why(r, lit)}"]
        lines += [f"Rule: {lit(c.rule)} {lit(c.title)} ({lit(c.severity)}, {lit(c.scope)})" for c in item.conflicts]
        lines.append(f"Follow-through: {_follow(r)}")
    lines += ["", f"Campaign: {_campaign(ticket, lit)}",
              f"Due: {ticket.due.isoformat()} · Priority: {ticket.priority} (severity {ticket.severity})",
              "", f"Remediation. {_choose(ticket)}:"]
    for n, option in enumerate(ticket.options, 1):
        remedy = option.remedy
        lines.append(f"{n}. {lit(remedy.title)}: {_affects(option, ticket)}{_for_items(option, ticket, lit)}"
                     + (f". {lit(remedy.note)}" if remedy.note else ""))
        lines += [f"   {lit(command)}" for command in remedy.commands]
    if all(r.item.via == USE_VIA for r in ticket.revocations):
        lines += ["", "Done when the follow-up is recorded: a note on the item (foureyes note), and the person "
                      "taken off the path if it was not theirs to use."]
    else:
        lines += ["", f"Done when a later snapshot no longer shows the grant: foureyes snapshot, then "
                      f"foureyes campaign show {ticket.campaign.id} lists it as verified."]
    return "\n".join(lines)


def to_json(tickets: TicketSet, completeness: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The stable JSON shape (docs/cli.md): fields are added, never renamed or removed.
    ``completeness``: the campaign snapshot's ``complete``, ``failed_sources`` and ``gaps``."""
    c = tickets.campaign
    return {
        "campaign": {"id": c.id, "name": c.name, "status": c.status, "snapshot": c.snapshot_id, "due": c.due.isoformat()},
        **(completeness or {}),
        "grouped": tickets.grouped,
        "tickets": [ticket_json(t) for t in tickets.tickets],
    }


def ticket_json(t: Ticket) -> dict[str, Any]:
    return {
        "key": t.key, "title": t.title, "priority": t.priority, "severity": t.severity, "labels": list(t.labels),
        "due": t.due.isoformat(), "campaign": t.campaign.id, "system": t.system, "resource": t.resource,
        "resource_name": t.resource_name, "follow_through": t.follow_through,
        "items": [{
            "item": r.item.id, "person": r.item.person, "person_name": r.item.person_name,
            "accounts": list(r.item.accounts), "principal": r.item.principal, "principal_name": r.item.principal_name,
            "entitlement": r.item.entitlement, "resource": r.item.resource, "resource_name": r.item.resource_name,
            "tier": r.item.tier, "app": r.item.app, "capabilities": list(r.item.capabilities), "via": r.item.via,
            "path": list(r.item.path), "conflicts": [c.__dict__ for c in r.item.conflicts],
            "severity": r.severity, "decided_by": r.decided_by, "decided_at": r.item.decided_at,
            "reason": r.reason, "by_policy": r.by_policy,
            "follow_through": {"state": r.state, "gone_in": r.follow.gone_in if r.follow else None,
                               "back_in": r.follow.back_in if r.follow else None,
                               "last_checked": r.follow.last_checked if r.follow else None},
            "remedies": [o.remedy.as_dict() for o in t.options if r.item.id in o.items],
        } for r in t.revocations],
        "remedies": [{**o.remedy.as_dict(), "items": list(o.items)} for o in t.options],
        "description": description(t),
    }


def _csv(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


def to_csv(tickets: TicketSet) -> str:
    """One row per ticket; cells that a spreadsheet would run as a formula are neutralised.
    Starts with a UTF-8 byte order mark, so spreadsheet tools read it as UTF-8."""
    rows = []
    for t in tickets.tickets:
        rs = t.revocations
        remediation = "\n\n".join(
            f"{n}. {o.remedy.title} ({'this person only' if o.remedy.affects == ME else 'everyone holding it'})"
            + "".join(f"\n{command}" for command in o.remedy.commands) for n, o in enumerate(t.options, 1))
        rows.append([
            t.key, t.title, t.priority, t.severity, t.due.isoformat(), ", ".join(t.labels), t.campaign.id,
            t.campaign.name, t.system, t.resource, t.resource_name, " ".join(str(i) for i in t.items),
            "\n".join(r.item.person for r in rs), "\n".join(r.item.person_name for r in rs),
            "\n".join(" ".join(r.item.accounts) for r in rs), "\n".join(r.item.entitlement for r in rs),
            "\n".join(r.decided_by for r in rs), "\n".join(r.reason for r in rs), t.follow_through,
            remediation, description(t),
        ])
    return "\ufeff" + _csv(rows, CSV_COLUMNS)


def to_jira_csv(tickets: TicketSet, config: Config) -> str:
    """Jira's CSV importer: Summary, Issue Type, Priority, Due Date (yyyy-MM-dd), one Labels
    column per label, and a Description in Jira wiki markup with untrusted text escaped."""
    labels_of = {t.key: [_jira_label(x) for x in t.labels] for t in tickets.tickets}
    width = max([len(v) for v in labels_of.values()] + [1])
    header = ["Summary", "Issue Type", "Priority", "Due Date"] + ["Labels"] * width + ["Description"]
    rows = []
    for t in tickets.tickets:
        labels = labels_of[t.key] + [""] * (width - len(labels_of[t.key]))
        rows.append([t.title, config.export.jira_issue_type, t.priority, t.due.isoformat(), *labels,
                     jira_description(t)])
    return _csv(rows, header)


def _jira_label(label: str) -> str:
    return "-".join(safe_text(label).split())  # a Jira label cannot contain spaces


def jira_description(ticket: Ticket) -> str:
    lit = jira_text
    out = [f"h3. {title_of(ticket, lit)}", ""]
    for r in ticket.revocations:
        item = r.item
        if ticket.grouped:
            out.append(f"h4. Item {item.id}")
        out += [f"* *Who:* {lit(r.who)} (accounts: {', '.join(lit(a) for a in item.accounts)})",
                f"* *What:* {lit(item.entitlement)} on {lit(item.resource_name or item.resource)} ({lit(item.system)}, "
                f"tier {lit(item.tier) or 'none'}, via {lit(item.via) or 'direct'}); gives {lit(', '.join(item.capabilities))}",
                "* *Path:* " + " → ".join(lit(step) for step in item.path),
                f"* *Why:* {_why(r, lit)}"]
        if item.conflicts:
            out.append("* *Rules:* " + "; ".join(f"{lit(c.rule)} {lit(c.title)} ({lit(c.severity)}, {lit(c.scope)})"
                                                  for c in item.conflicts))
        out += [f"* *Follow-through:* {lit(_follow(r))}", ""]
    out += [f"*Campaign:* {_campaign(ticket, lit)}", "", "h4. Remediation", f"{_choose(ticket)}:"]
    for n, option in enumerate(ticket.options, 1):
        remedy = option.remedy
        out.append(f"# {lit(remedy.title)}: {_affects(option, ticket)}{_for_items(option, ticket, lit)}"
                   + (f". {lit(remedy.note)}" if remedy.note else ""))
        if remedy.commands:
            out.append(jira_block(list(remedy.commands)))
    out += ["", f"Done when a later snapshot no longer shows the grant: run foureyes snapshot, then "
                f"foureyes campaign show {ticket.campaign.id}."]
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown


def ticket_markdown(ticket: Ticket, *, heading: str = "##", with_title: bool = True) -> str:
    """One ticket in Markdown (CommonMark/GFM); untrusted values are inline code spans."""
    lit = md_literal
    out = [f"{heading} {title_of(ticket, lit)}", ""] if with_title else []
    out += [f"**Priority:** {ticket.priority} (severity {ticket.severity}) · **Due:** {ticket.due.isoformat()} · "
           f"**Campaign:** {_campaign(ticket, lit)} · **Ticket:** `{ticket.key}`", ""]
    for r in ticket.revocations:
        item = r.item
        if ticket.grouped:
            out += [f"{heading}# Item {item.id}: {lit(item.person_name or item.person)}", ""]
        out += [f"- **Who:** {lit(item.person_name)} {lit(item.person)}; accounts "
                + ", ".join(lit(a) for a in item.accounts),
                f"- **What:** {lit(item.entitlement)} on {lit(item.resource_name or item.resource)} "
                f"({lit(item.system)}, tier {lit(item.tier) or 'none'}"
                + (f", app {lit(item.app)}" if item.app else "") + f", via {lit(item.via) or 'direct'}); gives "
                + ", ".join(lit(c) for c in item.capabilities),
                "- **Path:** " + " → ".join(lit(step) for step in item.path),
                f"- **Why:** {_why(r, lit)}"]
        for c in item.conflicts:
            out.append(f"- **Rule:** {lit(c.rule)} {lit(c.title)} ({lit(c.severity)}, {lit(c.scope)})")
        out += [f"- **Follow-through:** {_follow(r)}", ""]
    out += [f"{heading}# Remediation", "", f"{_choose(ticket)}:", ""]
    for n, option in enumerate(ticket.options, 1):
        remedy = option.remedy
        out += [f"{n}. **{lit(remedy.title)}**: {_affects(option, ticket)}{_for_items(option, ticket, lit)}"
                + (f". {lit(remedy.note)}" if remedy.note else ""), ""]
        if remedy.commands:
            out += ["   " + line for line in md_block(list(remedy.commands), info="sh").split("\n")] + [""]
    out += [f"Done when a later snapshot no longer shows the grant: `foureyes snapshot`, then "
            f"`foureyes campaign show {ticket.campaign.id}` lists it as verified.", ""]
    return "\n".join(out)


def to_markdown(tickets: TicketSet) -> str:
    c = tickets.campaign
    n = len(tickets.tickets)
    out = [f"# Revocation tickets: campaign {c.id} {md_literal(c.name)}", "",
           f"Snapshot {c.snapshot_id} · {n} ticket{'s' if n != 1 else ''}"
           + (" · grouped by system and resource" if tickets.grouped else ""), ""]
    if not tickets.tickets:
        out += ["No grant was revoked in this campaign.", ""]
    for t in tickets.tickets:
        out += ["---", "", ticket_markdown(t)]
    return "\n".join(out)


def render(tickets: TicketSet, fmt: str, config: Config, *, completeness: Mapping[str, Any] | None = None) -> str:
    """Tickets in one of the file formats of `FORMATS` (github has its own exporter)."""
    if fmt == "json":
        return json_text(to_json(tickets, completeness)) + "\n"
    if fmt == "csv":
        return to_csv(tickets)
    if fmt == "jira-csv":
        return to_jira_csv(tickets, config)
    if fmt == "markdown":
        return to_markdown(tickets)
    raise ValueError(f"unknown ticket format {fmt!r}")
