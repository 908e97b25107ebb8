"""The exact commands that remove a grant, or remove a person from what gives it to them.

Every value that comes from an audited system is shell-quoted: a hostile team or policy
name must never turn a ticket's command into another command.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Sequence

from ..model import IDENTITY_SYSTEMS, Edge, EdgeKind, Grant, Kind, Principal, Snapshot

ME = "person"  # the remedy removes only this person's access
ALL = "everyone"  # the remedy removes the grant for everyone who reaches it


@dataclass(frozen=True)
class Remedy:
    title: str
    commands: tuple[str, ...]
    affects: str  # ME or ALL
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"title": self.title, "commands": list(self.commands), "affects": self.affects, "note": self.note}


def q(value: object) -> str:
    return shlex.quote(str(value))


def remedies(snapshot: Snapshot, grant: Grant, path: Sequence[Edge] = ()) -> list[Remedy]:
    """Ways to revoke ``grant`` for the person whose path is ``path`` (edges from their account).

    The first remedies remove the person from a team, group or assignment on the path (only
    they lose access); the last removes the grant itself (everyone holding it loses it).
    """
    out: list[Remedy] = []
    membership_seen = assignment_seen = False
    for edge in path:
        found = _edge_remedy(snapshot, edge)
        if found is None:
            continue
        # the first membership on the path is the person's own (later ones are shared nesting);
        # an Identity Center assignment is the group's grant, so it is the second option
        is_assignment = bool(edge.attrs.get("sso_assignment"))
        if is_assignment and not assignment_seen:
            assignment_seen = True
            out.append(found)
        elif not is_assignment and not membership_seen:
            membership_seen = True
            out.append(found)
    out.extend(_grant_remedies(snapshot, grant))
    return out


# ---------------------------------------------------------------- memberships and assignments


def _edge_remedy(snapshot: Snapshot, edge: Edge) -> Remedy | None:
    src = snapshot.principals.get(edge.src)
    dst = snapshot.principals.get(edge.dst)
    if src is None or dst is None:
        return None
    if edge.kind == EdgeKind.MEMBER_OF and src.system == "github" and dst.kind == Kind.TEAM:
        org, slug = _team(dst)
        if src.kind == Kind.TEAM:
            return None  # child → parent nesting: not the person's own membership
        synced = _idp_group_remedy(snapshot, src, dst, org, slug)
        if synced is not None:
            return synced
        return Remedy(f"Remove {src.id} from team {slug}",
                      (f"gh api -X DELETE /orgs/{q(org)}/teams/{q(slug)}/memberships/{q(src.id)}",), ME,
                      f"{src.id} loses everything team {slug} gives, in every repository")
    if edge.kind == EdgeKind.MEMBER_OF and src.system == "aws" and ":group/" in dst.id and dst.id.startswith("arn:"):
        return Remedy(f"Remove {_name(src.id)} from IAM group {_name(dst.id)}",
                      (f"aws iam remove-user-from-group --user-name {q(_name(src.id))} --group-name {q(_name(dst.id))}",),
                      ME)
    if edge.kind == EdgeKind.MEMBER_OF and src.system == "aws" and edge.attrs.get("group_id"):
        store, group, user = edge.attrs.get("identity_store_id", ""), edge.attrs["group_id"], edge.attrs.get("user_id", "")
        lookup = (f"aws identitystore get-group-membership-id --identity-store-id {q(store)} --group-id {q(group)} "
                  f"--member-id UserId={q(user)} --query MembershipId --output text")
        return Remedy(f"Remove {src.display_name or src.id} from {dst.display_name or dst.id}",
                      (f"aws identitystore delete-group-membership --identity-store-id {q(store)} "
                       f"--membership-id \"$({lookup})\"",), ME)
    if edge.kind == EdgeKind.CAN_ASSUME and edge.attrs.get("sso_assignment"):
        a = edge.attrs
        return Remedy(
            f"Delete the Identity Center assignment of {dst.attrs.get('permission_set', dst.id)} to "
            f"{src.display_name or src.id} in account {a.get('account_id')}",
            (f"aws sso-admin delete-account-assignment --instance-arn {q(a.get('instance_arn'))} "
             f"--target-id {q(a.get('account_id'))} --target-type AWS_ACCOUNT "
             f"--permission-set-arn {q(a.get('permission_set_arn'))} --principal-type {q(a.get('principal_type'))} "
             f"--principal-id {q(a.get('principal_id'))}",),
            ME if src.kind == Kind.USER else ALL,
            "" if src.kind == Kind.USER else f"every member of {src.display_name or src.id} loses this assignment",
        )
    if edge.kind == EdgeKind.CAN_ASSUME and src.system == "aws" and dst.system == "aws" and ":role/" in dst.id \
            and dst.id.startswith("arn:"):
        role, who = _name(dst.id), src.id
        # a trust policy is one JSON document: fetch it, drop the principal, put it back
        return Remedy(f"Remove {_name(who)} from the trust policy of role {role}", (
            f"aws iam get-role --role-name {q(role)} --query Role.AssumeRolePolicyDocument --output json > trust.json",
            f"aws iam update-assume-role-policy --role-name {q(role)} --policy-document file://trust.json",
        ), ME if src.kind == Kind.USER else ALL,
            f"between the two commands, delete {who} from the Principal of trust.json; where the trust names "
            f"the account instead, remove sts:AssumeRole on role {role} from {_name(who)}'s own policies")
    if edge.kind == EdgeKind.MEMBER_OF and src.system == "gcp" and dst.kind == Kind.GROUP:
        group = dst.id.removeprefix("group:")
        member = src.id.split(":", 1)[-1]
        return Remedy(f"Remove {member} from group {group}",
                      (f"gcloud identity groups memberships delete --group-email={q(group)} --member-email={q(member)}",),
                      ME)
    if edge.kind == EdgeKind.CAN_ASSUME and dst.system == "gcp" and dst.kind == Kind.SERVICE_ACCOUNT \
            and src.system == "gcp":
        role = str(edge.attrs.get("role", "roles/iam.serviceAccountTokenCreator"))
        account = dst.id.removeprefix("serviceAccount:")
        return Remedy(f"Stop {src.id} acting as {account}",
                      (f"gcloud iam service-accounts remove-iam-policy-binding {q(account)} "
                       f"--member={q(src.id)} --role={q(role)}",), ME)
    return None


# ---------------------------------------------------------------- the grant itself


def _grant_remedies(snapshot: Snapshot, grant: Grant) -> list[Remedy]:
    holder = snapshot.principals.get(grant.principal)
    resource = snapshot.resources.get(grant.resource)
    system, _, ident = grant.principal.partition(":")
    if grant.system == "github" and resource is not None:
        return _github(grant, ident, holder, resource.kind, resource.id)
    if grant.system == "ci" and resource is not None and resource.kind == "environment":
        owner_repo, _, env = resource.id.rpartition("/")
        return [Remedy(f"Put an independent approval in front of environment {env} of {owner_repo}", (
            f"gh api -X PUT /repos/{q(owner_repo)}/environments/{q(env)} -F prevent_self_review=true "
            f"-F 'reviewers[][type]=Team' -F 'reviewers[][id]=TEAM_ID' "
            f"-F 'deployment_branch_policy[protected_branches]=true' "
            f"-F 'deployment_branch_policy[custom_branch_policies]=false'",
        ), ALL, "replace TEAM_ID with the id of a reviewing team that does not write this repository's code")]
    if grant.system == "aws" and holder is not None:
        return _aws(grant, holder)
    if grant.system == "gcp":
        return _gcp(snapshot, grant, ident)
    return [Remedy(f"Remove {grant.entitlement} from {grant.principal}", (), ALL,
                   "no command is known for this kind of grant; remove it in the system's console")]


def _github(grant: Grant, ident: str, holder: Principal | None, kind: str, target: str) -> list[Remedy]:
    org = target.split("/", 1)[0]
    if kind == "org" and grant.entitlement == "owner":
        return [Remedy(f"Make {ident} a member instead of an owner of {org}",
                       (f"gh api -X PUT /orgs/{q(org)}/memberships/{q(ident)} -f role=member",), ME)]
    if kind == "environment":
        owner_repo, _, env = target.rpartition("/")
        return [Remedy(f"Remove {ident} from the required reviewers of {env} in {owner_repo}", (
            f"gh api /repos/{q(owner_repo)}/environments/{q(env)} --jq .protection_rules",
            f"gh api -X PUT /repos/{q(owner_repo)}/environments/{q(env)} --input reviewers.json",
        ), ALL, "reviewers.json holds the remaining reviewers; the first command lists the current ones")]
    if kind != "repo":
        return []
    if grant.entitlement in ("merge unreviewed", "latent bypass"):
        branch = str(grant.attrs.get("branch", "main"))
        # an owner bypasses as an admin of every repository: demoting them is the personal option
        demote = [Remedy(f"Make {ident} a member instead of an owner of {org}",
                         (f"gh api -X PUT /orgs/{q(org)}/memberships/{q(ident)} -f role=member",), ME,
                         "owners are admins of every repository")] if grant.via == "owner" else []
        return demote + [Remedy(f"Require an independent review on {branch} of {target}", (
            f"gh api -X POST /repos/{q(target)}/branches/{q(branch)}/protection/enforce_admins",
            f"gh api -X PATCH /repos/{q(target)}/branches/{q(branch)}/protection/required_pull_request_reviews "
            f"-F required_approving_review_count=1 -F require_last_push_approval=true",
        ), ALL, grant.detail + "; also remove the holder from any ruleset bypass list or bypass-capable custom role")]
    if holder is not None and holder.kind == Kind.TEAM:
        team_org, slug = _team(holder)
        return [Remedy(f"Remove the {grant.entitlement} access of team {slug} to {target}",
                       (f"gh api -X DELETE /orgs/{q(team_org)}/teams/{q(slug)}/repos/{q(target)}",), ALL,
                       f"every member of team {slug} (and its child teams) loses it")]
    if ident == f"org/{org}/members":
        return [Remedy(f"Lower the base permission of {org}",
                       (f"gh api -X PATCH /orgs/{q(org)} -f default_repository_permission=read",), ALL,
                       "every member of the organisation is affected")]
    if grant.via == "owner":
        return [Remedy(f"Make {ident} a member instead of an owner of {org}",
                       (f"gh api -X PUT /orgs/{q(org)}/memberships/{q(ident)} -f role=member",), ME,
                       "owners are admins of every repository")]
    return [Remedy(f"Remove {ident} as a collaborator of {target}",
                   (f"gh api -X DELETE /repos/{q(target)}/collaborators/{q(ident)}",), ME)]


def _aws(grant: Grant, holder: Principal) -> list[Remedy]:
    if "AWSReservedSSO_" in holder.id or holder.attrs.get("permission_set"):
        return [Remedy(f"Change permission set {holder.attrs.get('permission_set', holder.id)}", (), ALL,
                       "Identity Center manages this role: remove the assignment above, or edit the permission set")]
    kind = "user" if ":user/" in holder.id else "group" if ":group/" in holder.id else "role"
    name = _name(holder.id)
    entitlement = re.sub(r" \(via .*\)$", "", grant.entitlement)
    if "(via " in grant.entitlement:
        return []  # held through a group: the membership remedy above is the one that applies
    if entitlement.startswith("inline policy "):
        policy = entitlement.removeprefix("inline policy ")
        return [Remedy(f"Delete inline policy {policy} of {kind} {name}",
                       (f"aws iam delete-{kind}-policy --{kind}-name {q(name)} --policy-name {q(policy)}",),
                       ME if kind == "user" else ALL)]
    arn = grant.attrs.get("policy_arn")
    policy = entitlement.removeprefix("policy ")
    if arn:
        return [Remedy(f"Detach policy {policy} from {kind} {name}",
                       (f"aws iam detach-{kind}-policy --{kind}-name {q(name)} --policy-arn {q(arn)}",),
                       ME if kind == "user" else ALL)]
    return [Remedy(f"Remove policy {policy} from {kind} {name}", (
        f"aws iam list-attached-{kind}-policies --{kind}-name {q(name)}",
        f"aws iam detach-{kind}-policy --{kind}-name {q(name)} --policy-arn POLICY_ARN",
    ), ME if kind == "user" else ALL, f"or, for an inline policy: aws iam delete-{kind}-policy --{kind}-name "
                                      f"{q(name)} --policy-name {q(policy)}")]


def _gcp(snapshot: Snapshot, grant: Grant, member: str) -> list[Remedy]:
    role = re.sub(r" on serviceAccount:.*$", "", grant.entitlement)
    bound = list(grant.attrs.get("bound_at") or [grant.resource])
    condition = ""
    if grant.condition:  # a conditional binding is only removed by naming its condition
        title = grant.attrs.get("condition_title")
        condition = f" --condition={q('expression=' + grant.condition + (f',title={title}' if title else ''))}"
    commands = []
    for key in bound:
        _, kind, ident = key.split(":", 2)
        if " on serviceAccount:" in grant.entitlement:
            account = grant.entitlement.split(" on serviceAccount:", 1)[1]
            commands.append(f"gcloud iam service-accounts remove-iam-policy-binding {q(account)} "
                            f"--member={q(member)} --role={q(role)}{condition}")
        elif kind == "project":
            commands.append(f"gcloud projects remove-iam-policy-binding {q(ident)} --member={q(member)} "
                            f"--role={q(role)}{condition}")
        elif kind == "folder":
            commands.append(f"gcloud resource-manager folders remove-iam-policy-binding {q(ident)} "
                            f"--member={q(member)} --role={q(role)}{condition}")
        elif kind == "org":
            commands.append(f"gcloud organizations remove-iam-policy-binding {q(ident)} --member={q(member)} "
                            f"--role={q(role)}{condition}")
    where = ", ".join(snapshot.resources[k].label if k in snapshot.resources else k for k in bound)
    principal = snapshot.principals.get(grant.principal)
    affects = ME if principal is not None and principal.kind == Kind.USER else ALL
    return [Remedy(f"Remove the binding of {role} for {member} on {where}", tuple(commands), affects)]


def _idp_group_remedy(snapshot: Snapshot, src: Principal, team: Principal, org: str, slug: str) -> Remedy | None:
    """A team synchronised from an identity-provider group is fixed there: GitHub copies the
    group's members into the team, so a removal made in GitHub comes back at the next sync. When
    the group no longer holds the person, the synchronisation is what failed: remove them in
    GitHub and check it."""
    groups = [g for g in team.attrs.get("idp_groups", ()) or () if isinstance(g, dict)]
    if not groups:
        return None
    found = {str(p.attrs.get("group_id", "")): p for p in snapshot.principals.values()
             if p.kind == Kind.GROUP and p.system in IDENTITY_SYSTEMS}
    records = {p.key for p in snapshot.principals.values()
               if p.kind == Kind.PERSON and src.email and p.email == src.email.lower()}
    in_group = {e.dst for e in snapshot.edges() if e.kind == EdgeKind.MEMBER_OF and e.src in records}
    names, commands, member = [], [], False
    for group in groups:
        idp = found.get(str(group.get("id", "")))
        provider = {"okta": "Okta", "entra": "Entra ID", "google_workspace": "Google Workspace"}.get(
            idp.system if idp else "", "the identity provider")
        names.append(f"{provider} group {group.get('name') or (idp.display_name if idp else group.get('id', ''))}")
        member = member or idp is None or idp.key in in_group
        if idp is not None and idp.system == "google_workspace" and src.email:
            commands.append(f"gcloud identity groups memberships delete --group-email={q(idp.attrs.get('email', ''))} "
                            f"--member-email={q(src.email)}")
    where = " and ".join(names)
    if member:
        return Remedy(f"Remove {src.id} from {where} (team {slug} is synchronised from it)", tuple(commands), ME,
                      f"fix it in the identity provider: team {slug} takes its members from {where}, so a "
                      "removal made in GitHub is undone by the next synchronisation")
    return Remedy(f"Remove {src.id} from team {slug}, and check its synchronisation with {where}",
                  (f"gh api -X DELETE /orgs/{q(org)}/teams/{q(slug)}/memberships/{q(src.id)}",), ME,
                  f"{where} no longer holds {src.id}: the synchronisation should have removed them from team "
                  f"{slug} and did not (GitHub: Settings → Team synchronization)")


def _team(principal: Principal) -> tuple[str, str]:
    parts = principal.id.split("/")  # team/ORG/SLUG
    return (parts[1], parts[2]) if len(parts) >= 3 else ("", principal.id)


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]
