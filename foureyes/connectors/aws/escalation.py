"""Privilege escalation inside one AWS account, as hops of the graph (pure: no I/O).

A user or role that can make itself another principal — create that user's access key,
rewrite that role's trust, pass that role to a service that runs code as it — gets a
``can-escalate`` edge to it (the catalogue's ``[[escalate]]`` ways); one that can
administer itself gets a ``deploy.run`` grant marked ``escalation`` for the deployments it
could then allow itself. The graph prefers any route without an escalation and marks
holdings that need one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ...model import ACCESS_ADMIN, DEPLOY_RUN, Edge, EdgeKind, Grant, Via
from .capabilities import ESCALATE, Holder, Requirement, Way
from .iam import Entity, Translator, policy_document, short_list
from .policy import Decision, Policy, PolicyError, RequestContext, allow_resource_patterns, arn_matches
from .reads import SYSTEM

# Admin ways (aws_deploy.toml [[admin]]) by which a principal grants *itself* more, and what
# it then holds: its own policies plus whatever it writes (capped by its boundary and SCPs).
SELF_ADMIN_WAYS = ("put-own-user-policy", "attach-own-user-policy", "put-own-role-policy", "attach-own-role-policy",
                   "put-member-group-policy", "attach-member-group-policy", "create-policy-version")
# ... or by creating a new role that trusts it, with no boundary of its own.
NEW_ROLE_WAYS = ("create-role-and-attach", "create-role-and-put")
_ANYTHING = Policy.of({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                      name="the policy it would write")
_MAX_ROUNDS = 8  # targets reached only through other escalators: a few rounds settle any account
_KEY_QUOTA = 2  # IAM allows two access keys per user; a third needs one deleted first


def add_escalations(t: Translator) -> None:
    """Escalation edges between the principals of each account, then self-administration grants."""
    _Escalations(t).run()


class _Escalations:
    def __init__(self, t: Translator):
        self.t = t
        self.routes = t.decider.catalogue.for_capability(ESCALATE)
        self._fixed: dict[tuple[str, str], list[Decision] | None] = {}
        self._patterns: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}
        self._trust: dict[str, Policy | None] = {}
        self._out: dict[str, list[str]] | None = None
        self._reach_cache: dict[str, frozenset[str]] = {}
        self._escalated: set[str] = set()  # principals that deploy after administering themselves

    def run(self) -> None:
        # Self-administration first: a principal that can deploy only after administering itself
        # is worth reaching for that too (an administrator by another route is not yet one).
        for entity in self.t.entities.values():
            if entity.kind in ("user", "role") and ACCESS_ADMIN in entity.reach and DEPLOY_RUN not in entity.reach:
                if self._self_administration(entity):
                    self._escalated.add(entity.key)
        for entities in self.t.by_account.values():
            self._account(entities)

    # -- edges -------------------------------------------------------------

    def _account(self, entities: Sequence[Entity]) -> None:
        """Edges to the principals that give an escalator something it does not already hold.

        Of several targets holding the same (capability, account) pairs, one is enough to
        explain them: the others would only repeat the path. An escalator that gains a
        target's holdings becomes a target itself for the next round.
        """
        holds = {e.key: self._holds(e.key) for e in entities}
        usable: dict[str, dict[str, list[Way]]] = {}  # caller -> target kind -> routes its policies may allow
        for e in entities:
            if e.kind in ("user", "role") and e.holder is not None:
                for route in self.routes:
                    if self._may(e, route):
                        usable.setdefault(e.key, {}).setdefault(route.to, []).append(route)
        callers = [e for e in entities if e.key in usable]
        frontier = [e for e in entities if holds[e.key]]
        found: dict[tuple[str, str], list[tuple[Way, list[Decision]]]] = {}
        for _ in range(_MAX_ROUNDS):
            if not frontier:
                break
            reached: dict[str, Entity] = {}
            for caller in callers:
                mine, already, routes = holds[caller.key], self._reachable(caller.key), usable[caller.key]
                candidates = [x for x in frontier if x.kind in routes and x.key != caller.key and x.key not in already
                              and not holds[x.key] <= mine and not (x.kind == "group" and x in caller.groups)]
                # The target holding most first: it covers the ones holding a subset of it.
                candidates.sort(key=lambda x: (-len(holds[x.key]), x.key))
                covered: list[frozenset[tuple[str, str]]] = []
                for target in candidates:
                    theirs = holds[target.key]
                    if any(theirs <= c for c in covered):
                        continue
                    ways = [(route, decisions) for route in routes[target.kind]
                            for decisions in [self._route(caller, route, target)] if decisions is not None]
                    if ways:
                        found[(caller.key, target.key)] = ways
                        covered.append(theirs)
                if covered:
                    gained = mine.union(*covered)
                    if gained != mine:
                        holds[caller.key] = gained
                        reached[caller.key] = caller
            frontier = list(reached.values())
        by_key = {e.key: e for e in entities}
        for (src, dst), ways in found.items():
            self._edge(by_key[src], by_key[dst], ways)

    def _reachable(self, key: str) -> frozenset[str]:
        """Principals the key reaches through the edges already made (member-of, can-assume)."""
        found = self._reach_cache.get(key)
        if found is None:
            if self._out is None:
                self._out = {}
                for edge in self.t.out.edges.values():
                    self._out.setdefault(edge.src, []).append(edge.dst)
            seen: set[str] = set()
            stack = list(self._out.get(key, ()))
            while stack:
                node = stack.pop()
                if node not in seen:
                    seen.add(node)
                    stack.extend(self._out.get(node, ()))
            seen.discard(key)
            found = self._reach_cache[key] = frozenset(seen)
        return found

    def _holds(self, key: str) -> frozenset[tuple[str, str]]:
        """(capability, account) pairs the principal holds itself or through the principals it reaches."""
        entities = self.t.entities
        out: set[tuple[str, str]] = set()
        for node in {key} | self._reachable(key):
            entity = entities.get(node)
            if entity is not None:
                out.update((capability, entity.account.key) for capability in entity.reach)
                if node in self._escalated:
                    out.add((DEPLOY_RUN, entity.account.key))
        return frozenset(out)

    def _may(self, caller: Entity, route: Way) -> bool:
        """Could the caller's policies allow the route's hop on anything at all? (cheap filter)"""
        return caller.kind in route.applies_to and all(self._patterns_of(caller, r) for r in self._on(route))

    @staticmethod
    def _on(route: Way) -> list[Requirement]:
        return [r for r in route.all_of if "{target}" in r.resource]

    def _patterns_of(self, caller: Entity, requirement: Requirement) -> list[str]:
        holder = caller.holder
        assert holder is not None
        cache = (caller.key, requirement.action, tuple(sorted(requirement.context.items())))
        patterns = self._patterns.get(cache)
        if patterns is None:
            values = holder.context.with_values(dict(requirement.context)) if requirement.context else holder.context
            patterns = self._patterns[cache] = allow_resource_patterns(holder.policies, requirement.action, values)
        return patterns

    def _route(self, caller: Entity, route: Way, target: Entity) -> list[Decision] | None:
        """The decisions that make the route work from caller to target, or None."""
        on_target = self._on(route)
        if not all(any(arn_matches(p, target.arn) for p in self._patterns_of(caller, r)) for r in on_target):
            return None  # nothing allows the hop on this target
        if route.services and not self._trusts_service(target, route.services):
            return None
        if "instance_profile" in route.needs and not target.detail.get("InstanceProfileList"):
            return None
        fixed = self._fixed_part(caller, route)
        if fixed is None:
            return None
        decisions = list(fixed)
        for requirement in on_target:
            met = self.t.decider.requirement(requirement, caller.holder, extra={"target": [target.arn]})
            if met is None:
                return None
            decisions.append(met[1])
        extra = self._target_conditions(caller, route, target)
        return None if extra is None else decisions + extra

    def _fixed_part(self, caller: Entity, route: Way) -> list[Decision] | None:
        """The route's requirements that do not depend on the target, decided once per caller."""
        key = (caller.key, route.id)
        if key not in self._fixed:
            decisions: list[Decision] | None = []
            for requirement in route.all_of:
                if "{target}" in requirement.resource:
                    continue
                met = self.t.decider.requirement(requirement, caller.holder)
                if met is None:
                    decisions = None
                    break
                decisions.append(met[1])
            self._fixed[key] = decisions
        return self._fixed[key]

    def _target_conditions(self, caller: Entity, route: Way, target: Entity) -> list[Decision] | None:
        """What else the caller must be allowed for this target: a key slot, assuming the role."""
        holder = caller.holder
        assert holder is not None
        out: list[Decision] = []
        if any(r.action.lower() == "iam:createaccesskey" for r in route.all_of):
            keys = (target.account.access_keys or {}).get(target.name) or []
            if len(keys) >= _KEY_QUOTA:
                met = self.t.decider.requirement(Requirement("iam:DeleteAccessKey", "{target}"), holder,
                                                 extra={"target": [target.arn]})
                if met is None:
                    return None
                out.append(met[1])
        if route.then_assume:
            decision = self._assume_named(holder, target.arn)
            if not decision.allowed:
                return None
            out.append(decision)
        return out

    def _trusts_service(self, role: Entity, services: Sequence[str]) -> bool:
        """Does the role's trust let one of these services assume it (code then runs as the role)?"""
        trust = self._trust_of(role)
        if trust is None:
            return False
        wanted = {s.lower() for s in services}
        allowed = False
        for stmt in trust.statements:
            if stmt.principals is None or not stmt.covers("sts:AssumeRole"):
                continue
            named = {v.lower() for v in stmt.principals.get("Service", ())} | \
                {v.lower() for v in stmt.principals.get("AWS", ()) if v == "*"}
            if not (named & wanted or "*" in named):
                continue
            if stmt.effect == "Deny" and not stmt.conditions:
                return False
            # Conditions on a service trust (aws:SourceAccount, aws:SourceArn) are met by a
            # resource the escalator creates in its own account.
            allowed = allowed or stmt.effect == "Allow"
        return allowed

    def _trust_of(self, role: Entity) -> Policy | None:
        if role.key not in self._trust:
            document = role.detail.get("AssumeRolePolicyDocument")
            try:
                self._trust[role.key] = Policy.of(policy_document(document)) if document else None
            except PolicyError:
                self._trust[role.key] = None  # trust.py records the gap
        return self._trust[role.key]

    def _edge(self, caller: Entity, target: Entity, ways: list[tuple[Way, list[Decision]]]) -> None:
        label_of = _target_label(target)
        first, decisions = ways[0]
        label = first.title.replace("{target}", label_of)
        actions = [r.action for r in first.all_of]
        label += f" ({', '.join(dict.fromkeys(actions))})"
        if len(ways) > 1:
            label += f"; {len(ways) - 1} other way{'s' if len(ways) > 2 else ''} too"
        uncertain = list(dict.fromkeys(u for d in decisions for u in d.uncertain))
        self.t.out.edge(Edge(caller.key, target.key, EdgeKind.CAN_ESCALATE, label, condition="; ".join(uncertain),
                             attrs={"escalation": True, "ways": [w.id for w, _ in ways],
                                    "actions": list(dict.fromkeys(actions))}))

    # -- administering oneself ----------------------------------------------

    def _self_administration(self, entity: Entity) -> bool:
        """deploy.run for a principal that can first grant itself anything in its account."""
        holder = entity.holder
        assert holder is not None
        admin = entity.reach[ACCESS_ADMIN]
        own = [w for w in admin.ways if w in SELF_ADMIN_WAYS]
        new_role = [w for w in admin.ways if w in NEW_ROLE_WAYS]
        keep = False
        if own:
            # What it writes is still capped by its boundary, unless it may delete that too.
            keep = holder.boundary is not None and not self._may_drop_boundary(entity)
            after = replace(holder, policies=holder.policies + (_ANYTHING,), boundary=holder.boundary if keep else None)
            ways, how = own, "then allow itself"
        elif new_role:
            arn = f"arn:{holder.partition}:iam::{holder.account}:role/new-role-of-{entity.name}"
            if not self._assume_named(holder, arn).allowed:
                return False
            after = Holder(arn=arn, kind="role", account=holder.account, policies=(_ANYTHING,), scps=holder.scps,
                           context=RequestContext({"aws:PrincipalArn": arn, "aws:PrincipalAccount": holder.account,
                                                   "aws:PrincipalType": "AssumedRole"}),
                           partition=holder.partition)
            ways, how = new_role, "then, as that role,"
        else:
            return False
        deploy = self.t.decider.reach(after, capabilities=(DEPLOY_RUN,)).get(DEPLOY_RUN)
        if deploy is None:
            return False
        catalogue = {w.id: w for w in self.t.decider.catalogue.ways}
        first_hop = [a for w in ways for a in catalogue[w].actions]
        titles = [catalogue[w].title for w in ways]
        detail = (f"can {titles[0]} ({short_list(list(dict.fromkeys(first_hop)))}), {how} "
                  f"{short_list(deploy.actions)}")
        if own and holder.boundary is not None:
            detail += "; within its permissions boundary" if keep else "; after deleting its permissions boundary"
        uncertain = list(dict.fromkeys([*admin.uncertain, *deploy.uncertain]))
        entitlement = "escalation: administer itself" if own else "escalation: create an administrator role"
        self.t.out.grant(Grant(
            SYSTEM, entity.key, entitlement, entity.account.key, (DEPLOY_RUN,), via=Via.ESCALATION, detail=detail,
            condition="; ".join(uncertain),
            attrs={"escalation": True, "ways": list(ways), "first_hop": list(dict.fromkeys(first_hop)),
                   "actions": list(deploy.actions), "deploy_ways": list(deploy.ways), "uncertain": uncertain},
        ))
        return True

    def _may_drop_boundary(self, entity: Entity) -> bool:
        holder = entity.holder
        assert holder is not None
        action = "iam:DeleteUserPermissionsBoundary" if entity.kind == "user" else "iam:DeleteRolePermissionsBoundary"
        return holder.policy_set.evaluate(action, holder.arn, context=holder.context).allowed

    @staticmethod
    def _assume_named(holder: Holder, role_arn: str) -> Decision:
        """sts:AssumeRole on a role whose trust names the caller (the trust it would write)."""
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": holder.arn},
                                                          "Action": "sts:AssumeRole"}]}
        return holder.policy_set.evaluate("sts:AssumeRole", role_arn, resource_policy=trust,
                                          resource_policy_required=True, context=holder.context)


def _target_label(entity: Entity) -> str:
    return f"{'IAM ' if entity.kind == 'group' else ''}{entity.kind} {entity.name}"
