"""Revocation tickets as GitHub issues, through PyGithub: filed once, updated on every re-run,
closed once a later snapshot verifies the revocation, reopened if it regresses.

Each issue body starts with a hidden marker naming its ticket; a re-run finds its issues
by that marker (listing the first label, and searching) instead of filing duplicates. An
issue is adopted as a ticket's only when foureyes made it: opened by the token's own
identity (the user of a personal token, the app's bot for an installation token) and
carrying the first label. Anyone who can open an issue can write a marker (the keys are
predictable); such an issue is reported and left alone, and the ticket gets its own.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from .. import __version__
from ..config import Config
from ..connectors.base import Secrets
from ..errors import EXIT_SOURCE, ConfigError, FoureyesError, InputError
from ..textsafe import safe_text
from .tickets import Ticket, TicketSet, ticket_markdown

DEFAULT_BASE_URL = "https://api.github.com"
BODY_LIMIT = 65_000  # GitHub refuses an issue body over 65,536 characters
MARKER = "<!-- foureyes:ticket:{key} (foureyes finds this issue by this line: keep it) -->"
# only at the very start of a body: a hostile name quoted further down cannot claim an issue
MARKER_AT_START = re.compile(r"\A\s*<!-- foureyes:ticket:(c\d+-[ig][0-9a-f]+)\b")
REPO_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")

CREATE, UPDATE, CLOSE, REOPEN, WITHDRAW, DUPLICATE, UNCHANGED, SKIP = (
    "create", "update", "close", "reopen", "withdraw", "close-duplicate", "unchanged", "skip")
WRITES = (CREATE, UPDATE, CLOSE, REOPEN, WITHDRAW, DUPLICATE)


class IssueTargetError(FoureyesError):
    """GitHub refused or could not be reached; nothing after the failing request was done."""

    exit_code = EXIT_SOURCE


@dataclass(frozen=True)
class ExistingIssue:
    number: int
    key: str
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    url: str
    handle: Any = None  # the PyGithub issue, to act on
    author: str = ""  # the login that opened it


@dataclass(frozen=True)
class Ignored:
    """An issue that carries a ticket's marker but that foureyes did not make: never adopted."""

    issue: ExistingIssue
    why: str

    def describe(self) -> str:
        return (f"issue #{self.issue.number} starts with the marker of ticket {self.issue.key} but {self.why}: "
                "not adopted (a new issue is filed for the ticket); look at who wrote it")


@dataclass(frozen=True)
class IssueAction:
    action: str  # create | update | close | reopen | withdraw | close-duplicate | unchanged | skip
    key: str
    title: str
    number: int | None = None
    why: str = ""
    url: str = ""
    body: str = ""
    labels: tuple[str, ...] = ()
    comment: str = ""
    state_reason: str = ""

    def describe(self, *, applied: bool) -> str:
        done = {CREATE: "created", UPDATE: "updated", CLOSE: "closed", REOPEN: "reopened", WITHDRAW: "closed",
                DUPLICATE: "closed", UNCHANGED: "unchanged", SKIP: "skipped"}[self.action]
        verb = done if applied or self.action in (UNCHANGED, SKIP) else \
            {CREATE: "would create", UPDATE: "would update", REOPEN: "would reopen"}.get(self.action, "would close")
        number = f"#{self.number}" if self.number is not None else "-"
        why = f" ({self.why})" if self.why else ""
        return f"{verb:<15} {number:>6}  {self.key:<18} {safe_text(self.title)}{why}"


@dataclass(frozen=True)
class IssueExport:
    repo: str
    applied: bool
    actions: tuple[IssueAction, ...]
    warnings: tuple[str, ...] = ()
    ignored: tuple[Ignored, ...] = ()  # issues with a marker foureyes did not make
    identity: str = ""  # the login the token acts as

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.action == action)


# ---------------------------------------------------------------- planning (pure)


def issue_body(ticket: Ticket) -> str:
    body = MARKER.format(key=ticket.key) + "\n\n" + ticket_markdown(ticket, heading="##", with_title=False)
    if len(body) <= BODY_LIMIT:
        return body
    # a large group: cut at a line (the marker stays first) and say where the whole ticket is
    whole = f"foureyes export tickets --campaign {ticket.campaign.id} --format markdown" + \
        (" --group" if ticket.grouped else "")
    note = f"\n\n(Cut here: the ticket is longer than a GitHub issue may be. The whole ticket: `{whole}`.)\n"
    return body[: body.rfind("\n", 0, BODY_LIMIT - len(note))] + note


def issue_labels(ticket: Ticket, config: Config) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*config.export.github.labels, f"severity:{ticket.severity}"]))


def plan(tickets: TicketSet, existing: Iterable[ExistingIssue], config: Config) -> list[IssueAction]:
    """What a run does: pure, so the dry run and ``--apply`` decide the same way."""
    found: dict[str, list[ExistingIssue]] = {}
    for issue in sorted(existing, key=lambda i: i.number):
        found.setdefault(issue.key, []).append(issue)
    actions: list[IssueAction] = []
    keys = set()
    for ticket in tickets.tickets:
        keys.add(ticket.key)
        body, labels, state = issue_body(ticket), issue_labels(ticket, config), ticket.follow_through
        issues = found.get(ticket.key, [])
        if not issues:
            if state == "verified":
                actions.append(IssueAction(SKIP, ticket.key, ticket.title, why="already verified: nothing to file"))
            else:
                actions.append(IssueAction(CREATE, ticket.key, ticket.title, body=body, labels=labels))
            continue
        kept, *extra = issues
        # keep labels people added; ours replace our own severity label
        merged = tuple(dict.fromkeys([*(x for x in kept.labels if not x.startswith("severity:")), *labels]))
        changed = kept.title != ticket.title or _norm(kept.body) != _norm(body) or set(merged) != set(kept.labels)
        common = dict(key=ticket.key, title=ticket.title, number=kept.number, url=kept.url, body=body, labels=merged)
        if state == "verified" and kept.state == "open":
            actions.append(IssueAction(CLOSE, why=_verified(ticket), state_reason="completed",
                                       comment=f"foureyes: {_verified(ticket)}; closing.", **common))
        elif state == "regressed" and kept.state == "closed":
            actions.append(IssueAction(REOPEN, why=_regressed(ticket),
                                       comment=f"foureyes: {_regressed(ticket)}; reopening.", **common))
        elif changed:
            why = "closed while the revocation is still pending" if kept.state == "closed" and state == "pending" else ""
            actions.append(IssueAction(UPDATE, why=why, **common))
        else:
            actions.append(IssueAction(UNCHANGED, ticket.key, ticket.title, number=kept.number, url=kept.url))
        for dup in extra:
            if dup.state == "open":
                actions.append(IssueAction(DUPLICATE, ticket.key, dup.title, number=dup.number, url=dup.url,
                                           why=f"duplicate of #{kept.number}", state_reason="not_planned",
                                           comment=f"foureyes: duplicate of #{kept.number}; closing."))
    # issues of this campaign's revocations that are no longer revocations (an undone decision)
    kind = f"c{tickets.campaign.id}-{'g' if tickets.grouped else 'i'}"
    for key, issues in sorted(found.items()):
        if key in keys or not key.startswith(kind):
            continue
        for issue in issues:
            if issue.state == "open":
                actions.append(IssueAction(
                    WITHDRAW, key, issue.title, number=issue.number, url=issue.url, state_reason="not_planned",
                    why=f"no longer a revocation in campaign {tickets.campaign.id}",
                    comment=f"foureyes: this grant is no longer a revocation in campaign {tickets.campaign.id} "
                            "(its decision changed); closing."))
    return actions


def _norm(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _verified(ticket: Ticket) -> str:
    gone = sorted({r.follow.gone_in for r in ticket.revocations if r.follow and r.follow.gone_in})
    return "verified: the grant is gone in snapshot " + ", ".join(map(str, gone))


def _regressed(ticket: Ticket) -> str:
    back = sorted({r.follow.back_in for r in ticket.revocations if r.follow and r.follow.back_in})
    return "regressed: the grant is back in snapshot " + ", ".join(map(str, back))


# ---------------------------------------------------------------- GitHub


@dataclass(frozen=True)
class Target:
    repo: str
    base_url: str
    token_env: str
    # the token, once read: scrubbed from whatever GitHub answers (a server may echo it)
    secrets: Secrets = field(default_factory=Secrets, compare=False, repr=False)


def target(config: Config) -> Target:
    section = config.export.github
    where = config.path or "<config>"
    if not section.repo:
        raise ConfigError(where, "set the repository issues go to, e.g. repo = \"acme/access-reviews\"",
                          key="export.github.repo")
    if not REPO_NAME.fullmatch(section.repo):
        raise ConfigError(where, f"expected OWNER/NAME, got {safe_text(section.repo)!r}", key="export.github.repo")
    source = config.sources.github
    token_env = section.token_env or (source.token_env if source else "") or "GITHUB_TOKEN"
    looks_like_token = token_env.startswith(TOKEN_PREFIXES) or (len(token_env) >= 30 and not token_env.isupper())
    if looks_like_token or not ENV_NAME.fullmatch(token_env):
        # someone pasted the token itself: say so without repeating it
        raise ConfigError(where, "must be the NAME of an environment variable (such as FOUREYES_ISSUES_TOKEN), "
                                 "not a token; remove the token from the file and revoke it",
                          key="export.github.token_env" if section.token_env else "sources.github.token_env")
    base_url = section.base_url or (source.base_url if source else "") or DEFAULT_BASE_URL
    return Target(repo=section.repo, base_url=base_url.rstrip("/"), token_env=token_env)


def connect(config: Config, *, environ: Mapping[str, str] | None = None) -> tuple[Target, Any]:
    """A PyGithub client for the issues repository; the token is read here and never shown."""
    from github import Auth, Github, GithubRetry  # deferred: PyGithub loads only when issues are filed

    where = target(config)
    token = (environ if environ is not None else os.environ).get(where.token_env, "").strip()
    if not token:
        raise InputError(f"no GitHub token: set the environment variable {where.token_env} to a token that "
                               f"may write issues in {where.repo} ([export.github] token_env names it)")
    where.secrets.add(token)
    where.secrets.add_url(where.base_url)
    section = config.export.github
    client = Github(base_url=where.base_url, auth=Auth.Token(token), timeout=max(1, int(round(section.timeout))),
                    retry=GithubRetry(total=section.max_retries, raise_on_status=False), per_page=100,
                    seconds_between_requests=None, seconds_between_writes=section.seconds_between_writes or None,
                    user_agent=f"foureyes/{__version__} (revocation tickets)")
    return where, client


def existing_issues(client: Any, where: Target, config: Config, campaign_id: int,
                    warnings: list[str] | None = None) -> list[ExistingIssue]:
    """foureyes' issues in the repository: those with the first label, and those a search finds
    by marker (a label someone removed must not lead to a duplicate). A failed search is a
    warning when the label listing worked, else an error."""
    repo = _call(where, lambda: client.get_repo(where.repo))
    seen: dict[int, ExistingIssue] = {}
    labels = config.export.github.labels

    def take(issues: Iterable[Any]) -> None:
        for issue in issues:
            if getattr(issue, "pull_request", None) is not None:
                continue
            m = MARKER_AT_START.match(issue.body or "")
            if m and issue.number not in seen:
                user = issue.user
                seen[issue.number] = ExistingIssue(
                    number=issue.number, key=m.group(1), title=issue.title or "", body=issue.body or "",
                    state=issue.state, labels=tuple(label.name for label in issue.labels),
                    url=issue.html_url or "", handle=issue, author=user.login if user is not None else "")

    if labels:
        _call(where, lambda: take(repo.get_issues(state="all", labels=[labels[0]])))
    try:
        _call(where, lambda: take(client.search_issues(
            f'"foureyes:ticket:c{campaign_id}-" repo:{where.repo} is:issue')))
    except IssueTargetError as exc:
        if not labels:
            raise
        if warnings is not None:
            warnings.append(f"searching issues by marker failed ({exc}); issues were found by the label "
                            f"{labels[0]!r} only")
    return [seen[n] for n in sorted(seen)]


def token_identity(client: Any, where: Target) -> str:
    """The login the token acts as: GET /user for a user's token; an installation token may not
    read /user (403 "Resource not accessible by integration"), and GraphQL's viewer names its
    app's bot (``slug[bot]``)."""
    from github import GithubException  # deferred: PyGithub loads only when issues are filed

    try:
        return str(_call(where, lambda: client.get_user().login, passthrough=(403,)))
    except GithubException:  # an installation token: its app's bot, through GraphQL
        _, data = _call(where, lambda: client.requester.graphql_query("query { viewer { login } }", {}))
    login = ((data.get("data") or {}).get("viewer") or {}).get("login") if isinstance(data, dict) else None
    if not login:
        raise IssueTargetError(f"cannot tell which GitHub identity the token in {where.token_env} acts as (GET /user "
                               "was refused and GraphQL's viewer named nobody), so foureyes cannot tell its own "
                               "issues from planted ones")
    return str(login)


def adoptable(existing: Iterable[ExistingIssue], identity: str,
              label: str | None) -> tuple[list[ExistingIssue], list[Ignored]]:
    """The issues foureyes made (opened by ``identity``, carrying ``label``), and the others."""
    mine, others = [], []
    for issue in existing:
        if issue.author.casefold() != identity.casefold():
            others.append(Ignored(issue, f"was opened by {safe_text(issue.author or 'an unknown user')}, not by "
                                         f"the token's own identity {safe_text(identity)}"))
        elif label is not None and label not in issue.labels:
            others.append(Ignored(issue, f"does not carry the label {label!r} foureyes files its issues with"))
        else:
            mine.append(issue)
    return mine, others


def export(tickets: TicketSet, config: Config, *, apply: bool = False,
           environ: Mapping[str, str] | None = None, on_action: Callable[[IssueAction], None] | None = None,
           ) -> IssueExport:
    """Plan against the issues foureyes made; with ``apply``, carry the plan out, one request at a time."""
    where, client = connect(config, environ=environ)
    warnings: list[str] = []
    identity = token_identity(client, where)
    found = existing_issues(client, where, config, tickets.campaign.id, warnings)
    labels = config.export.github.labels
    existing, ignored = adoptable(found, identity, labels[0] if labels else None)
    warnings.extend(i.describe() for i in ignored)
    actions = plan(tickets, existing, config)
    if not apply:
        return IssueExport(where.repo, False, tuple(actions), tuple(warnings), tuple(ignored), identity)
    handles = {i.number: i.handle for i in existing}
    repo = None
    done: list[IssueAction] = []
    for action in actions:
        try:
            if action.action == CREATE:
                if repo is None:
                    repo = _call(where, lambda: client.get_repo(where.repo))
                created = _call(where, lambda: repo.create_issue(title=action.title, body=action.body,
                                                                 labels=list(action.labels)))
                action = replace(action, number=created.number, url=created.html_url or "")
            elif action.action in WRITES:
                _carry_out(where, handles[action.number], action)
        except IssueTargetError as exc:
            writes = sum(1 for a in done if a.action in WRITES)
            raise IssueTargetError(f"{exc} (after {writes} change(s); re-running is safe: it finds the issues "
                                   "already filed by their marker)") from None
        done.append(action)
        if on_action is not None:
            on_action(action)
    return IssueExport(where.repo, True, tuple(done), tuple(warnings), tuple(ignored), identity)


def _carry_out(where: Target, issue: Any, action: IssueAction) -> None:
    if action.action == UPDATE:
        _call(where, lambda: issue.edit(title=action.title, body=action.body, labels=list(action.labels)))
    elif action.action == CLOSE:
        _call(where, lambda: issue.create_comment(action.comment))
        _call(where, lambda: issue.edit(title=action.title, body=action.body, labels=list(action.labels),
                                        state="closed", state_reason=action.state_reason))
    elif action.action == REOPEN:
        _call(where, lambda: issue.edit(title=action.title, body=action.body, labels=list(action.labels),
                                        state="open"))
        _call(where, lambda: issue.create_comment(action.comment))
    elif action.action in (WITHDRAW, DUPLICATE):
        _call(where, lambda: issue.create_comment(action.comment))
        _call(where, lambda: issue.edit(state="closed", state_reason=action.state_reason))


def _call(where: Target, work: Callable[[], Any], *, passthrough: tuple[int, ...] = ()) -> Any:
    """Run one PyGithub call; its failure becomes one line that never carries the token (a
    status in ``passthrough`` is raised as it is, for the caller to handle)."""
    from github import BadCredentialsException, GithubException  # deferred: PyGithub loads only when issues are filed
    from requests.exceptions import RequestException

    try:
        return work()
    except BadCredentialsException:
        raise IssueTargetError(f"GitHub rejected the token in {where.token_env} (401 Bad credentials)") from None
    except GithubException as exc:
        if exc.status in passthrough:
            raise
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        shown = safe_text(where.secrets.scrub(str(message)), limit=200)
        if exc.status == 404:
            raise IssueTargetError(f"{where.repo} was not found at {where.secrets.scrub(where.base_url)}, or the "
                                   f"token in {where.token_env} cannot see it (404)") from None
        if exc.status in (401, 403):
            raise IssueTargetError(f"the token in {where.token_env} may not write issues in {where.repo} "
                                   f"({exc.status}: {shown})") from None
        if exc.status == 410:
            raise IssueTargetError(f"issues are switched off in {where.repo} (410)") from None
        raise IssueTargetError(f"GitHub answered {exc.status} for {where.repo}: {shown}") from None
    except RequestException as exc:
        raise IssueTargetError(f"cannot reach {where.secrets.scrub(where.base_url)}: {type(exc).__name__}") from None
