"""The change population of a review period, each change's verdict, and the facts proven rules read.

Pure: a snapshot's activity, its people and the config in; for every production change, who
authored, approved, merged and deployed it and whether that was independent ("independent",
"not independent", "unknown", with why); and `Fact`s — changes shipped alone, bypasses used,
deployments approved by their own trigger, production deployed by hand — each with its proof
hop by hop.

The population holds GitHub's changes and the deployments made in the cloud outside a GitHub
run (`foureyes.deploys`): a call in a production account or project by a person is a change
nobody reviewed; one by a CI identity joins the run that made it (a hop of its proof) or, when
no run can be tied to it, is a row of its own, "unknown". What a cloud's log could not show
makes the changes deployed there "unknown", never "independent".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from .activity import (ABOUT, DIRECT_PUSH, ActivityPeriod, Actor, Approval, BypassUse, Change, Deployment,
                       parse_time)
from .attribution import Attributor, Who
from .config import Config
from .deploys import GITHUB, Blind, CloudDeploy, Targets, blind_spots, cloud_deploys
from .identity import Identities
from .model import Gap, Snapshot

INDEPENDENT, NOT_INDEPENDENT, UNKNOWN = "independent", "not independent", "unknown"
VERDICTS = (INDEPENDENT, NOT_INDEPENDENT, UNKNOWN)
PRODUCTION = "production"

# Facts the proven rules (kind = "activity") match on.
SHIPPED_ALONE = "shipped-alone"
BYPASS_USED = "bypass-used"
SELF_APPROVED_DEPLOYMENT = "self-approved-deployment"
HAND_DEPLOYED = "hand-deployed"
FACTS = (SHIPPED_ALONE, BYPASS_USED, SELF_APPROVED_DEPLOYMENT, HAND_DEPLOYED)
# The kind of a row that is a deployment made in the cloud (its `change` is built from the event).
CLOUD_DEPLOY = "cloud_deploy"

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ProofStep:
    """One hop of a proof: change → approvals → merge → deployment (or bypass, event)."""

    hop: str  # change | commits | approvals | merge | bypass | deployment | event | approval | verdict
    at: str
    text: str
    ref: str = ""  # the record's id or URL

    def __str__(self) -> str:
        return f"{self.hop}: {self.text}" + (f" ({self.at})" if self.at else "")


@dataclass(frozen=True)
class Fact:
    """Something that happened and breaks the four-eyes principle, with its proof."""

    kind: str  # one of FACTS
    person: str  # person key of who did it ("" when unknown: then there is no fact)
    person_label: str
    scope: str  # "change:acme/api#7", "bypass:acme/api/rule-suites/3", "deployment:acme/api/deployments/9",
    # "cloud-deploy:<CloudTrail EventId or Cloud Logging insertId>"
    tier: str
    repo: str  # "acme/api"; for a deployment made in the cloud, the account or project
    app: str
    at: str
    proof: tuple[ProofStep, ...]
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class ApprovalView:
    approval: Approval
    who: Who
    counts: bool
    why: str  # why it does or does not count


@dataclass(frozen=True)
class DeploymentView:
    deployment: Deployment
    environment: str  # label
    tier: str
    exact: bool  # the deployment's commit is the change's; else the first deployment of the branch after it
    triggered_by: tuple[Who, ...]  # creator, run actor, triggering actor (each once)
    approvers: tuple[Who, ...]  # environment approvals that approved
    unknown: tuple[str, ...] = ()  # what could not be read about it ("who started run 103")
    events: tuple[CloudDeploy, ...] = ()  # the run's calls in production accounts and projects (CloudTrail ...)
    blind: tuple[Blind, ...] = ()  # where it can deploy and the cloud's log could not be read


@dataclass(frozen=True)
class ChangeRow:
    """One production change of the population, as an auditor samples it."""

    change: Change
    repo: str  # "acme/api"
    app: str
    tier: str
    authors: tuple[Who, ...]
    approvals: tuple[ApprovalView, ...]
    merger: Who
    deployments: tuple[DeploymentView, ...]
    verdict: str
    why: str
    bypasses: tuple[str, ...]
    source: str = GITHUB  # where the row comes from: GitHub, CloudTrail, Cloud Audit Logs
    cloud: CloudDeploy | None = None  # a deployment made in the cloud outside a GitHub run

    @property
    def approvers(self) -> tuple[Who, ...]:
        return tuple(a.who for a in self.approvals if a.counts)

    @property
    def deployers(self) -> tuple[Who, ...]:
        found = tuple(w for d in self.deployments for w in d.triggered_by)
        return found + ((self.cloud.actor,) if self.cloud is not None else ())


@dataclass(frozen=True)
class Population:
    period: ActivityPeriod | None
    rows: tuple[ChangeRow, ...]
    facts: tuple[Fact, ...]
    gaps: tuple[Gap, ...]  # what was not read, so some changes may be missing or unknown
    deployments: tuple[DeploymentView, ...] = ()
    cloud: tuple[CloudDeploy, ...] = ()  # every deploy call in production accounts and projects, linked or not
    blind: tuple[Blind, ...] = ()  # production accounts and projects whose deploy log could not be read
    notes: tuple[str, ...] = ()  # what the population as a whole lacks, in words

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
        for row in self.rows:
            out[row.verdict] += 1
        return out


def population(snapshot: Snapshot, identities: Identities, config: Config,
               emergency: Mapping[str, str] | None = None) -> Population:
    """Every production change of the snapshot's activity period, with verdicts and facts.
    ``emergency``: the AssumeRole record id of each use of a declared emergency path → the path's
    name (`foureyes.emergency`), so a deployment made in such a session is told apart."""
    records = list(snapshot.activity())
    if not records and snapshot.period is None:
        return Population(None, (), (), ())
    who = Attributor(snapshot, identities, config).who
    resources = snapshot.resources
    production_repos = _production_repos(snapshot)
    deployments = [r for r in records if isinstance(r, Deployment)
                   and resources.get(r.environment) is not None and resources[r.environment].tier == PRODUCTION]
    by_repo: dict[str, list[Deployment]] = defaultdict(list)
    for d in sorted(deployments, key=lambda d: d.at):
        by_repo[d.repo].append(d)
    cloud = cloud_deploys(snapshot, who, deployments, emergency)
    made: dict[str, list[CloudDeploy]] = defaultdict(list)
    for call in cloud:
        if call.run is not None:
            made[call.run.key].append(call)
    blind = blind_spots(snapshot)
    targets = Targets(snapshot) if blind else None
    views = {d.key: _deployment_view(d, snapshot, who, tuple(made.get(d.key, ())), blind, targets)
             for d in deployments}
    rows = []
    for change in sorted((r for r in records if isinstance(r, Change) and r.repo in production_repos),
                         key=lambda c: (c.at, c.id)):
        shipped = _deployments_of(change, by_repo.get(change.repo, []), views)
        rows.append(_unseen(_row(change, snapshot, who, shipped), snapshot, blind, targets))
    rows += [_cloud_row(call, snapshot) for call in cloud if call.run is None]
    rows.sort(key=lambda r: (r.change.at, r.change.id))
    bypasses = [r for r in records if isinstance(r, BypassUse)]
    facts = _facts(rows, bypasses, list(views.values()), snapshot, who)
    gaps = tuple(g for g in snapshot.gaps() if g.about == ABOUT or g.reason.startswith("source failed"))
    return Population(snapshot.period, tuple(rows), tuple(facts), gaps, tuple(views.values()), tuple(cloud),
                      tuple(blind), tuple(_notes(rows, blind, snapshot)))


def _production_repos(snapshot: Snapshot) -> set[str]:
    """Repositories of the production tier, and those with a production environment."""
    found = {r.key for r in snapshot.resources.values() if r.kind == "repo" and r.tier == PRODUCTION}
    found |= {r.parent for r in snapshot.resources.values() if r.kind == "environment" and r.tier == PRODUCTION}
    return found


# ---------------------------------------------------------------- one change


def _row(change: Change, snapshot: Snapshot, who: Any, shipped: list[DeploymentView]) -> ChangeRow:
    repo = snapshot.resources.get(change.repo)
    authors = tuple(who(a) for a in change.authors if a.named or a.name)
    if not authors:
        authors = (who(change.author),)
    pusher = who(change.last_pusher) if change.last_pusher.named else None
    approvals = tuple(_approval_view(change, a, who(a.reviewer), authors, pusher) for a in change.approvals)
    merger = who(change.merged_by) if change.merged_by.named or change.merged_by.name else who(change.author)
    verdict, why = _verdict(change, authors, approvals)
    return ChangeRow(change=change, repo=repo.id if repo else change.repo.rsplit(":", 1)[-1],
                     app=repo.app if repo else "", tier=PRODUCTION, authors=authors, approvals=approvals,
                     merger=merger, deployments=tuple(shipped), verdict=verdict, why=why, bypasses=change.bypasses)


def _approval_view(change: Change, approval: Approval, reviewer: Who, authors: tuple[Who, ...],
                   pusher: Who | None) -> ApprovalView:
    if not approval.approves:
        return ApprovalView(approval, reviewer, False, f"state {approval.state.lower().replace('_', ' ')}")
    if change.require_last_push_approval:
        stale = (approval.commit and change.head_sha and approval.commit != change.head_sha) or (
            not approval.commit and change.last_push_at and approval.at < change.last_push_at)
        if stale:
            return ApprovalView(approval, reviewer, False,
                                f"approved {approval.commit[:7] or 'an earlier commit'} before the last push "
                                f"({change.head_sha[:7] or change.last_push_at}); the branch requires approval of "
                                "the most recent push")
        if pusher is not None and reviewer.same(pusher):
            return ApprovalView(approval, reviewer, False, "approved by the person who pushed last; the branch "
                                "requires approval of the most recent push by someone else")
    if any(reviewer.same(a) for a in authors):
        return ApprovalView(approval, reviewer, False, "approved by an author of the change")
    if reviewer.machine:
        return ApprovalView(approval, reviewer, False, reviewer.how)
    return ApprovalView(approval, reviewer, True, "approved" + (f" {approval.commit[:7]}" if approval.commit else ""))


def _verdict(change: Change, authors: tuple[Who, ...], approvals: tuple[ApprovalView, ...]) -> tuple[str, str]:
    counting = [a for a in approvals if a.counts]
    if change.kind == DIRECT_PUSH:
        return NOT_INDEPENDENT, f"pushed directly to {change.branch or 'the default branch'}, without a pull request"
    if not counting:
        reasons = sorted({a.why for a in approvals})
        if not approvals:
            return NOT_INDEPENDENT, "merged without any approval"
        return NOT_INDEPENDENT, "no approval counts: " + "; ".join(reasons)
    humans = [a for a in authors if not a.machine]
    unknown_authors = [a for a in humans if not a.known]
    known_approvers = [a for a in counting if a.who.known]
    if not known_approvers:
        return UNKNOWN, "approved only by accounts not linked to a person: " + "; ".join(
            sorted({a.who.how for a in counting}))
    if unknown_authors:
        return UNKNOWN, "an author is not linked to a person: " + "; ".join(sorted({a.how for a in unknown_authors}))
    if not change.commits_complete:
        return UNKNOWN, "more commits than were read: an approver may have co-authored one"
    names = ", ".join(sorted({a.who.label for a in known_approvers}))
    return INDEPENDENT, f"approved by {names}, who authored none of it"


# ---------------------------------------------------------------- deployments


def _deployment_view(d: Deployment, snapshot: Snapshot, who: Any, events: tuple[CloudDeploy, ...] = (),
                     blind: list[Blind] | None = None, targets: Targets | None = None) -> DeploymentView:
    env = snapshot.resources.get(d.environment)
    seen: dict[str, Who] = {}
    for actor in (d.triggering_actor, d.run_actor, d.creator):
        if actor.named or actor.name:
            w = who(actor)
            seen.setdefault(w.person or actor.principal or actor.email or actor.name, w)
    approvers = tuple(who(a.reviewer) for a in d.approvals if a.approves)
    unknown = []
    if d.run_id and d.evidence.get("run_read") is False:
        unknown.append(f"who started run {d.run_id} (actor, triggering actor): not readable")
    if d.evidence.get("approvals_read") is False:
        unknown.append(f"who approved the environment for run {d.run_id}: not readable")
    unknown += [f"{w.label}: {w.how}" for w in seen.values() if not w.known and not w.machine]
    name = env.id[len(env.parent.removeprefix("github:repo:")) + 1:] if env and env.parent else (
        env.label if env else d.environment.rsplit("/", 1)[-1])
    unseen: tuple[Blind, ...] = ()
    if blind and targets is not None:
        places = targets.of(d.ci_subject) if d.ci_subject else targets.of_repo(
            d.repo.removeprefix("github:repo:"), d.ref.removeprefix("refs/heads/"), [name])
        places |= {e.event.resource for e in events}
        unseen = tuple(b for b in blind if any(b.covers(p, d.at) for p in places))
        unknown += [f"who deployed in {_place(snapshot, b)}: {b.gap.reason}" for b in unseen]
    return DeploymentView(d, name, env.tier if env else "", exact=True, triggered_by=tuple(seen.values()),
                          approvers=approvers, unknown=tuple(unknown), events=events, blind=unseen)


def _deployments_of(change: Change, candidates: list[Deployment],
                    views: Mapping[str, DeploymentView]) -> list[DeploymentView]:
    """The production deployments that shipped the change: those of its commit, else the first
    deployment of its branch in each environment after it landed."""
    shas = {s for s in (change.sha, change.head_sha) if s}
    exact = [d for d in candidates if d.sha and d.sha in shas]
    out = [views[d.key] for d in exact]
    covered = {d.environment for d in exact}
    branch_refs = {change.branch, f"refs/heads/{change.branch}"} if change.branch else set()
    for d in candidates:
        if d.environment in covered or d.at < change.at or (d.ref and d.ref not in branch_refs):
            continue
        covered.add(d.environment)
        out.append(replace(views[d.key], exact=False))
    return out


# ---------------------------------------------------------------- deployments made in the cloud

_NO_MERGE = Who("", "", "not merged: a deployment made in the cloud", Actor())


def _cloud_row(call: CloudDeploy, snapshot: Snapshot) -> ChangeRow:
    """A deploy call no GitHub run can be tied to, as a row of the population."""
    e = call.event
    if call.by_hand and call.emergency:
        verdict, why = NOT_INDEPENDENT, (f"deployed by hand by {call.actor.label} in {call.place}, in a session of "
                                         f"the emergency path {call.emergency}: reviewed as an emergency use "
                                         "afterwards, not before")
    elif call.by_hand:
        verdict, why = NOT_INDEPENDENT, (f"deployed by hand by {call.actor.label} in {call.place}, outside any "
                                         "GitHub run: nobody reviewed or approved it")
    elif call.ci:
        verdict, why = UNKNOWN, (f"made by {call.actor.label}, a CI identity no GitHub deployment run can be tied "
                                 f"to: {call.link or 'the log names no OIDC subject and no role'}")
    else:
        verdict, why = UNKNOWN, f"{call.actor.label} is not linked to a person: {call.actor.how}"
    change = Change(e.system, e.id, e.resource, e.at, kind=CLOUD_DEPLOY, title=e.action + (f" {e.target}" if e.target
                    else ""), author=e.actor, evidence=e.evidence)
    return ChangeRow(change=change, repo=call.place, app=call.app, tier=PRODUCTION, authors=(), approvals=(),
                     merger=_NO_MERGE, deployments=(), verdict=verdict, why=why, bypasses=(), source=call.source,
                     cloud=call)


def _place(snapshot: Snapshot, blind: Blind) -> str:
    if not blind.resource:
        return f"every production account or project of {blind.system}"
    found = snapshot.resources.get(blind.resource)
    return found.label if found is not None else blind.resource


def _unseen(row: ChangeRow, snapshot: Snapshot, blind: list[Blind], targets: Targets | None) -> ChangeRow:
    """An independent change deployed where the cloud's log could not be read is "unknown": who
    deployed it there (and what else was deployed by hand) cannot be told. Not independent stays so:
    GitHub's evidence alone proves it."""
    if row.verdict != INDEPENDENT or not blind or targets is None:
        return row
    hits = list(dict.fromkeys(b for d in row.deployments for b in d.blind))
    if not row.deployments:
        repo = row.change.repo.removeprefix("github:repo:")
        places = targets.of_repo(repo, row.change.branch, targets.environments(snapshot, row.change.repo))
        hits = [b for b in blind if any(b.covers(p, row.change.at) for p in places)]
    if not hits:
        return row
    where = "; ".join(f"{_place(snapshot, b)}: {b.gap.reason}" for b in hits)
    return replace(row, verdict=UNKNOWN, why=f"deployed where the cloud's log could not be read ({where}): who "
                   f"deployed it there is unknown; the review alone was independent ({row.why})")


def _notes(rows: list[ChangeRow], blind: list[Blind], snapshot: Snapshot) -> list[str]:
    """What the population as a whole lacks: each account or project whose deploy log was not read."""
    out = []
    for b in blind:
        reason = f"{_place(snapshot, b)}: {b.gap.reason}"
        hit = sum(1 for r in rows if r.verdict == UNKNOWN and reason in r.why)
        when = f" before {b.before[:10]}" if b.before else ""
        out.append(f"{reason} — deployments made there{when} outside a GitHub run are missing from this population"
                   + (f"; {hit} change(s) deployed there are unknown" if hit else ""))
    return out


# ---------------------------------------------------------------- facts


def _facts(rows: list[ChangeRow], bypasses: list[BypassUse], deployments: list[DeploymentView],
           snapshot: Snapshot, who: Any) -> list[Fact]:
    facts: list[Fact] = []
    changes_by_sha: dict[str, ChangeRow] = {}
    for row in rows:
        for sha in (row.change.sha, row.change.head_sha):
            if sha:
                changes_by_sha.setdefault(sha, row)
        facts += _shipped_alone(row) + _hand_deployed(row)
    explained: set[str] = set()  # changes a recorded bypass already reports, with their proof
    production = _production_repos(snapshot)
    for bypass in _distinct(bypasses):
        found = _bypass_fact(bypass, changes_by_sha, snapshot, who, production)
        explained |= {f.attrs["change"] for f in found if f.attrs.get("change")}
        facts += found
    for row in rows:
        if row.change.id not in explained:
            facts += _change_bypasses(row)
    shipped: dict[str, list[ChangeRow]] = defaultdict(list)
    for row in rows:
        for d in row.deployments:
            shipped[d.deployment.key].append(row)
    for view in deployments:
        facts += _self_approved(view, shipped.get(view.deployment.key, []), snapshot)
    return facts


def _distinct(bypasses: list[BypassUse]) -> list[BypassUse]:
    """One bypass once: an audit-log override by the same actor on the same repository within five
    minutes of a rule suite's bypass is the same event, told twice (the rule suite names the commit)."""
    suites = [b for b in bypasses if b.source != "audit log"]
    out = list(suites)
    for b in bypasses:
        if b.source != "audit log":
            continue
        twin = any(s.repo == b.repo and s.actor.principal == b.actor.principal and s.at and b.at
                   and abs((parse_time(s.at) - parse_time(b.at)).total_seconds()) <= 300 for s in suites)
        if not twin:
            out.append(b)
    return out


def change_proof(row: ChangeRow) -> list[ProofStep]:
    c = row.change
    if row.cloud is not None:
        started = [ProofStep("event", a.at, f"CloudTrail: {a.action} of {a.target} by {a.actor.label} as session "
                             f"{a.session}", a.id) for a in row.cloud.chain]
        return started + [event_step(row.cloud), ProofStep("verdict", "", f"{row.verdict}: {row.why}")]
    authors = ", ".join(f"{w.label} ({w.how})" for w in row.authors)
    kind = "pull request" if c.kind != DIRECT_PUSH else "direct push"
    steps = [ProofStep("change", c.at, f"{kind} {c.id}" + (f" “{c.title}”" if c.title else "") + f" by {authors}",
                       c.url or c.id)]
    if c.commits:
        shown = ", ".join(f"{x.sha[:7]} by {' + '.join(a.label for a in x.authors)}" for x in c.commits[:5])
        more = f" and {len(c.commits) - 5} more" if len(c.commits) > 5 else ""
        steps.append(ProofStep("commits", c.commits[-1].at, shown + more))
    if c.kind != DIRECT_PUSH:
        if row.approvals:
            for a in row.approvals:
                steps.append(ProofStep("approvals", a.approval.at, f"{a.who.label}: "
                                       f"{'counts' if a.counts else 'does not count'} — {a.why}"))
        else:
            steps.append(ProofStep("approvals", "", "none"))
        method = f" ({c.merge_method})" if c.merge_method else ""
        steps.append(ProofStep("merge", c.at, f"merged by {row.merger.label}{method} into {c.branch or 'the default branch'}"
                               + (f" at {c.sha[:7]}" if c.sha else "")))
    for b in c.bypasses:
        steps.append(ProofStep("bypass", c.at, b))
    steps.append(ProofStep("verdict", "", f"{row.verdict}: {row.why}"))
    return steps


def deployment_step(view: DeploymentView) -> ProofStep:
    d = view.deployment
    by = ", ".join(w.label for w in view.triggered_by) or "unknown"
    how = "of this commit" if view.exact else f"of {d.sha[:7] or 'a later commit'}, the first after the change"
    approved = ", ".join(w.label for w in view.approvers) or "nobody"
    run = f" by run {d.run_id}" + (f" ({d.workflow})" if d.workflow else "") if d.run_id else ""
    return ProofStep("deployment", d.at, f"deployed to {view.environment} {how}{run}, started by {by}; "
                     f"environment approved by {approved}", d.run_url or d.id)


def event_step(call: CloudDeploy) -> ProofStep:
    """A deploy call in the cloud as a hop: the log's record, and the run it belongs to when tied to one."""
    text = call.describe()
    if call.run is not None:
        text += f"; made by {call.link}"
    elif call.by_hand:
        text += "; not a pipeline's identity: no OIDC subject, a person's own session"
    return ProofStep("event", call.event.at, text, call.event.id)


def deployment_steps(view: DeploymentView) -> list[ProofStep]:
    """A deployment and the calls its run made in production accounts and projects."""
    return [deployment_step(view)] + [event_step(c) for c in view.events]


def _hand_deployed(row: ChangeRow) -> list[Fact]:
    call = row.cloud
    if call is None or not call.by_hand or row.verdict != NOT_INDEPENDENT or not call.actor.person:
        return []
    if call.emergency:  # a declared emergency path's use: reviewed as such (FE-EMG), not a hand deployment
        return []
    e = call.event
    return [Fact(HAND_DEPLOYED, call.actor.person, call.actor.label, f"cloud-deploy:{e.id}", row.tier, row.repo,
                 row.app, e.at, tuple(change_proof(row)),
                 {"action": e.action, "source": call.source, "resource": e.resource, "target": e.target})]


def _shipped_alone(row: ChangeRow) -> list[Fact]:
    if row.verdict != NOT_INDEPENDENT or not row.deployments:
        return []
    out = []
    for author in row.authors:
        if author.machine or not author.person:
            continue
        hits = [d for d in row.deployments
                if any(author.same(w) for w in d.triggered_by) or any(author.same(w) for w in d.approvers)]
        merged = author.same(row.merger) or row.change.kind == DIRECT_PUSH
        if not hits or not merged:
            continue
        proof = change_proof(row) + [s for d in hits for s in deployment_steps(d)]
        out.append(Fact(SHIPPED_ALONE, author.person, author.label, f"change:{row.change.id}", row.tier, row.repo,
                        row.app, row.change.at, tuple(proof),
                        {"change": row.change.id, "deployed": True, "exact": any(d.exact for d in hits)}))
    return out


def _change_bypasses(row: ChangeRow) -> list[Fact]:
    """Bypasses the change itself shows: an admin merge without the required approvals, a direct push
    to a protected branch."""
    if not row.bypasses:
        return []
    actor = row.merger if row.change.kind != DIRECT_PUSH else row.authors[0]
    if not actor.person:
        return []
    return [Fact(BYPASS_USED, actor.person, actor.label, f"change:{row.change.id}", row.tier, row.repo, row.app,
                 row.change.at, tuple(change_proof(row) + [s for d in row.deployments for s in deployment_steps(d)]),
                 {"change": row.change.id, "how": "; ".join(row.bypasses)})]


def _bypass_fact(bypass: BypassUse, changes: Mapping[str, ChangeRow], snapshot: Snapshot, who: Any,
                 production: set[str]) -> list[Fact]:
    actor = who(bypass.actor)
    if not actor.person:
        return []
    repo = snapshot.resources.get(bypass.repo)
    if repo is None or bypass.repo not in production:
        return []
    rules = "; ".join(bypass.rules) or "a ruleset"
    steps = [ProofStep("bypass", bypass.at, f"{actor.label} ({actor.how}) bypassed {rules} on {bypass.ref or 'a branch'}"
                       f" ({bypass.source or 'rule suite'}, result {bypass.result})", bypass.id)]
    row = changes.get(bypass.after_sha) if bypass.after_sha else None
    if row is None and bypass.change:
        row = next((r for r in changes.values() if r.change.id == bypass.change), None)
    if row is not None:
        steps += change_proof(row) + [s for d in row.deployments for s in deployment_steps(d)]
    return [Fact(BYPASS_USED, actor.person, actor.label, f"bypass:{bypass.id}", PRODUCTION, repo.id, repo.app,
                 bypass.at, tuple(steps), {"change": row.change.id if row else "", "how": bypass.source or "rule suite"})]


def _self_approved(view: DeploymentView, rows: list[ChangeRow], snapshot: Snapshot) -> list[Fact]:
    if view.tier != PRODUCTION or not view.approvers:
        return []
    d = view.deployment
    repo = snapshot.resources.get(d.repo)
    out = []
    for approver in view.approvers:
        if not approver.person or approver.machine:
            continue
        triggered = any(approver.same(w) for w in view.triggered_by)
        authored = [r for r in rows if any(approver.same(a) for a in r.authors)]
        if not triggered and not authored:
            continue
        why = "who triggered it" if triggered else f"who authored {', '.join(r.change.id for r in authored)}"
        proof = [*deployment_steps(view), ProofStep("approval", next(
            (a.at for a in d.approvals if a.approves), ""), f"environment approved by {approver.label} ({approver.how}), "
            f"{why}")]
        for r in authored:
            proof += change_proof(r)
        out.append(Fact(SELF_APPROVED_DEPLOYMENT, approver.person, approver.label, f"deployment:{d.id}", view.tier,
                        repo.id if repo else d.repo, repo.app if repo else "", d.at, tuple(proof),
                        {"triggered": triggered, "authored": bool(authored)}))
    return out


def facts_of(population_: Population, kind: str) -> Iterable[Fact]:
    return (f for f in population_.facts if f.kind == kind)
