"""The AWS IAM policy evaluator: is one action on one resource allowed, and which statement decided?
Pure functions over policy documents; the AWS connector uses it, and so can anyone else.

Use it like this::

    from foureyes.connectors.aws.policy import evaluate

    decision = evaluate(
        "ecs:UpdateService",
        "arn:aws:ecs:us-east-1:111111111111:service/prod/api",
        identity_policies=[policy_document, ...],   # dicts, JSON strings or `Policy`
        boundary=boundary_document,                 # or None
        scps=[[root_scp], [ou_scp], [account_scp]], # root → OU → account; () when none apply
        resource_policy=None,                       # a resource or role trust policy
        context={"aws:PrincipalArn": "arn:aws:iam::111111111111:user/alice"},
    )
    decision.outcome      # "allowed" | "implicit_deny" | "explicit_deny"
    decision.statement    # the Statement that decided (None for most implicit denies)
    decision.uncertain    # conditions it could not resolve, as readable text

The logic follows AWS's documented order (reference §3.1): an explicit Deny in any
policy wins; every SCP level must allow; within one account an Allow in the identity
policies (limited by the boundary) or an Allow for the principal in the resource policy
grants; role trust policies must name the principal. See `evaluate` for the limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .policy_conditions import check_condition, ConditionPlan
from .policy_context import (ALLOWED, BOUNDARY, EXPLICIT_DENY, IDENTITY, IMPLICIT_DENY, OUTCOMES, RESOURCE, SCP,
                             ContextInput, PolicyError, RequestContext)
from .policy_documents import Decision, Policy, PolicyInput, Statement, ParsedStatement
from .policy_matching import (ACCOUNT, DIRECT, ROLE, account_of, not_principal_excludes,
                              principal_forms, principal_kind_of, resource_match, substitute, action_matches,
                              arn_matches, arn_witness, glob_witness)

# what callers import from here (the evaluator's parts live in policy_context, policy_documents,
# policy_matching and policy_conditions)
__all__ = ["ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY", "OUTCOMES", "Decision", "Policy", "PolicyError",
           "PolicyInput", "PolicySet", "RequestContext", "Statement", "action_matches", "allow_resource_patterns",
           "arn_matches", "arn_witness", "evaluate", "glob_witness", "iter_statements", "refused_by_aws"]


# ---------------------------------------------------------------- statement applicability


def _conditions(stmt: ParsedStatement, ctx: RequestContext, version: str,
                compiled: bool = False) -> tuple[bool | None, list[str]]:
    notes: list[str] = []
    unknown = False
    plans = stmt.plans() if compiled else (ConditionPlan(operator, key, values)
                                           for operator, block in stmt.conditions.items()
                                           for key, values in block.items())
    for plan in plans:
        result, found = check_condition(plan, ctx, version)
        if result is False:
            return False, []
        if result is None:
            unknown = True
            notes.extend(found)
    return (None, notes) if unknown else (True, [])



def _applies(policy: Policy, stmt: ParsedStatement, action: str, resource: str, ctx: RequestContext,
             *, with_principal: bool, has_boundary: bool = False,
             compiled: bool = False) -> tuple[bool | None, list[str], str | None]:
    """Does the statement apply? (True/None for unknown/False, notes, how the principal is named).

    ``compiled``: the statement is one of `Policy.candidates` (its Action covers the action), and
    its resource patterns and conditions are read through the matchers and plans built once."""
    if not compiled and not stmt.covers(action):
        return False, [], None
    notes: list[str] = []
    unknown = False
    if stmt.resources is not None:
        matched, found = (stmt.resource_matcher(policy.version).match(resource, ctx) if compiled  # type: ignore[union-attr]
                          else resource_match(stmt.resources, resource, ctx, policy.version))
        if matched is False:
            return False, [], None
        if matched is None:
            unknown = True
            notes.extend(found)
    elif stmt.not_resources is not None:
        matched, found = (stmt.resource_matcher(policy.version).match(resource, ctx) if compiled  # type: ignore[union-attr]
                          else resource_match(stmt.not_resources, resource, ctx, policy.version))
        if matched is True:
            return False, [], None
        if matched is None:
            unknown = True
            notes.extend(found)
    principal_kind = None
    if with_principal:
        if stmt.principals is not None:
            principal_kind, found = principal_kind_of(stmt.principals, ctx)
            if principal_kind is None:
                return False, [], None
            if found:
                unknown = True
                notes.extend(found)
        elif stmt.not_principals is not None:
            # AWS: a Deny with NotPrincipal in a resource policy always denies a caller that has a
            # permissions boundary, whatever NotPrincipal names (reference_policies_elements_notprincipal).
            if not (has_boundary and stmt.effect == "Deny") and not_principal_excludes(stmt.not_principals, ctx):
                return False, [], None
            principal_kind = DIRECT
        else:
            return False, [], None
    if not stmt.conditions:
        return (None if unknown else True), notes, principal_kind
    result, found = _conditions(stmt, ctx, policy.version, compiled)
    if result is False:
        return False, [], None
    if result is None:
        unknown = True
        notes.extend(found)
    return (None if unknown else True), notes, principal_kind


def _located(policy: Policy, stmt: ParsedStatement, layer: str, level: int, notes: Iterable[str]) -> list[str]:
    where = Statement(policy, stmt.index, layer, level).describe()
    return [f"{n} — {where}" for n in notes]


class _LayerResult:
    """The statements of one layer that apply (certain) or may apply (maybe, with why unknown)."""

    __slots__ = ("certain", "maybe", "principal")

    def __init__(self, certain: list[Statement] | None = None,
                 maybe: list[tuple[Statement, list[str]]] | None = None) -> None:
        self.certain: list[Statement] = [] if certain is None else certain
        self.maybe: list[tuple[Statement, list[str]]] = [] if maybe is None else maybe
        self.principal: dict[int, str] = {}  # id(Statement) -> how named

    @property
    def any(self) -> bool:
        return bool(self.certain or self.maybe)

    def first(self) -> Statement | None:
        if self.certain:
            return self.certain[0]
        return self.maybe[0][0] if self.maybe else None

    def notes(self) -> list[str]:
        """Uncertainty that matters: none when a certain statement already decides."""
        if self.certain:
            return []
        return [n for _, ns in self.maybe for n in ns]

    def statements(self) -> list[Statement]:
        return self.certain + [s for s, _ in self.maybe]

    def notes_for(self, statement: Statement) -> list[str]:
        return next((ns for s, ns in self.maybe if s is statement), [])


def _scan(policies: Sequence[Policy], effect: str, layer: str, action: str, resource: str,
          ctx: RequestContext, *, level: int = -1, with_principal: bool = False,
          has_boundary: bool = False) -> _LayerResult:
    out = _LayerResult()
    for policy in policies:
        for stmt in policy.statements:
            if stmt.effect != effect:
                continue
            applies, notes, kind = _applies(policy, stmt, action, resource, ctx, with_principal=with_principal,
                                            has_boundary=has_boundary)
            if applies is False:
                continue
            found = Statement(policy, stmt.index, layer, level)
            if kind:
                out.principal[id(found)] = kind
            if applies:
                out.certain.append(found)
            else:
                out.maybe.append((found, _located(policy, stmt, layer, level, notes)))
    return out


# ---------------------------------------------------------------- writes AWS refuses

# Some writes fail whatever any policy says, so no policy may turn them into a path:
# - IAM Identity Center roles ("Cannot perform the operation on the protected role
#   'AWSReservedSSO_…' - this role is only modifiable by AWS": AWS re:Post knowledge
#   center, identity-center-aws-reserved-sso; IAM Identity Center User Guide, "Using
#   service-linked roles for IAM Identity Center", which lists these actions as the ones
#   only IAM Identity Center performs on role/aws-reserved/sso.amazonaws.com/*);
# - service-linked roles (IAM API Reference, error UnmodifiableEntity: "service-linked roles
#   are protected AWS resources. Only the service that depends on the service-linked role
#   can modify or delete the role");
# - AWS managed policies ("You can't change the permissions in AWS managed policies",
#   IAM User Guide, "AWS managed policies");
# - KMS aliases under alias/aws/ ("The alias/aws/ prefix is reserved for AWS managed
#   keys", AWS KMS Developer Guide, "Create aliases").
_ROLE_WRITES = ("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
                "iam:DeleteRolePermissionsBoundary", "iam:DeleteRole")
_PROTECTED_PLACES = (
    (re.compile(r"^arn:[^:]*:iam::[^:]*:role/aws-reserved/sso\.amazonaws\.com/"),
     _ROLE_WRITES + ("iam:UpdateRole", "iam:UpdateRoleDescription"),
     "IAM Identity Center roles (aws-reserved/sso.amazonaws.com/) are only modifiable by IAM Identity Center"),
    (re.compile(r"^arn:[^:]*:iam::[^:]*:role/aws-service-role/"), _ROLE_WRITES,
     "service-linked roles are protected: only the service that depends on one modifies it (UnmodifiableEntity)"),
    (re.compile(r"^arn:[^:]*:iam::aws:policy/"),
     ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"),
     "AWS managed policies cannot be changed: only AWS versions them"),
    (re.compile(r"^arn:[^:]*:kms:[^:]*:[^:]*:alias/aws/"),
     ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"),
     "the alias/aws/ prefix is reserved for AWS managed keys"),
)
_PROTECTED: dict[str, list[tuple[re.Pattern[str], str]]] = {}
for _where, _actions, _why in _PROTECTED_PLACES:
    for _action in _actions:
        _PROTECTED.setdefault(_action.lower(), []).append((_where, _why))
del _where, _actions, _why, _action


def refused_by_aws(action: str, resource: str) -> str | None:
    """Why AWS refuses this write whatever the policies say, or None when it does not."""
    places = _PROTECTED.get(action.lower())
    if places:
        for where, why in places:
            if where.match(resource):
                return f"AWS refuses {action} on {resource}: {why}"
    return None


# ---------------------------------------------------------------- evaluate


def evaluate(
    action: str,
    resource: str,
    *,
    identity_policies: Sequence[PolicyInput],
    boundary: PolicyInput | None = None,
    scps: Sequence[Sequence[PolicyInput]] = (),
    resource_policy: PolicyInput | None = None,
    context: ContextInput = None,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide one request the way AWS does, and say which statement decided.

    ``action`` is ``service:Action``; ``resource`` the ARN the action acts on (``*`` for
    actions that take no resource). ``identity_policies`` are all the principal's
    identity policies (for a user: its own and its groups'); ``boundary`` its permissions
    boundary; ``scps`` one list of SCP documents per level from the root through each OU
    to the account (empty when no SCP applies: no organization, the management account,
    service-linked roles); ``resource_policy`` a resource-based policy or a role trust
    policy; ``resource_policy_required`` says it must name the principal itself (role trust
    and KMS key policies). ``context`` maps condition keys to values; ``aws:PrincipalArn``
    identifies the caller to the resource policy.

    Order, as AWS documents it: an explicit Deny anywhere wins; each SCP level needs an
    Allow; within one account an Allow for the caller's user or role-session ARN in the
    resource policy suffices, one for a role ARN still needs the boundary, one for the
    account (root) delegates to identity policies; otherwise identity policies must allow
    and the boundary (if any) must allow too. Across accounts both sides must allow.

    Unknown context: a condition on a key the context does not know (MFA, source IP,
    request tags, ...) or a policy variable without a value is *uncertain*. Uncertainty
    is always resolved in favour of access — an Allow that may apply counts, a Deny that
    may apply does not — and every such condition is listed in ``Decision.uncertain``.
    foureyes must never hide access because it could not prove a condition false.

    Writes AWS refuses whatever a policy says (`refused_by_aws`: changing IAM Identity
    Center and service-linked roles, versioning AWS managed policies, ``alias/aws/`` KMS
    aliases) are an implicit deny whose ``reason`` says so. A condition value of the wrong
    type for its operator (not a number, date, true/false, IP address or ARN; an epoch no
    date can hold; ``nan``) matches under neither the operator nor its negation.

    Limits: no session policies, resource control policies, VPC endpoint policies or
    ACLs; ``NotPrincipal`` spares a caller whose account and ARN it both names (a role
    ARN spares its sessions; a Deny with ``NotPrincipal`` still applies to a caller with a
    permissions boundary); a resource's
    account is read from its ARN (S3 ARNs have none: same account assumed); condition
    operators outside ``String*``, ``Numeric*``, ``Date*``, ``Bool``, ``Binary``,
    ``IpAddress``, ``Arn*`` and ``Null`` are uncertain; action names are matched as
    text, so a pattern naming no real action is not detected.
    """
    refusal = refused_by_aws(action, resource)
    if refusal is not None:
        return Decision(IMPLICIT_DENY, None, (), refusal)
    ctx = RequestContext.of(context)
    identity = [Policy.of(p, name=f"identity policy {i + 1}") for i, p in enumerate(identity_policies)]
    bound = Policy.of(boundary, name="permissions boundary") if boundary is not None else None
    levels = [[Policy.of(p, name=f"SCP {i + 1}.{j + 1}") for j, p in enumerate(level)]
              for i, level in enumerate(scps)]
    res = Policy.of(resource_policy, name="resource policy") if resource_policy is not None else None
    layers = {IDENTITY: identity, BOUNDARY: [bound] if bound is not None else [], RESOURCE: [res] if res else []}

    def scan(layer: str, effect: str, level: int = -1) -> _LayerResult:
        return _scan(levels[level] if layer == SCP else layers[layer], effect, layer, action, resource, ctx,
                     level=level, with_principal=layer == RESOURCE, has_boundary=bound is not None)

    return _decide(action, resource, ctx, scan, has_boundary=bound is not None, levels=len(levels),
                   has_resource_policy=res is not None, resource_policy_required=resource_policy_required)


def _decide(action: str, resource: str, ctx: RequestContext, scan: Callable[..., _LayerResult], *,
            has_boundary: bool, levels: int, has_resource_policy: bool,
            resource_policy_required: bool) -> Decision:
    """AWS's order of evaluation over layers that ``scan(layer, effect, level)`` reads: the same for
    `evaluate` (policies as given) and `PolicySet.evaluate` (compiled)."""
    uncertain: list[str] = []

    # 1. An explicit Deny in any policy that applies wins.
    deny_layers: list[_LayerResult] = [scan(IDENTITY, "Deny")]
    if has_boundary:
        deny_layers.append(scan(BOUNDARY, "Deny"))
    for i in range(levels):
        deny_layers.append(scan(SCP, "Deny", i))
    if has_resource_policy:
        deny_layers.append(scan(RESOURCE, "Deny"))
    for layer in deny_layers:
        if layer.certain:
            return Decision(EXPLICIT_DENY, layer.certain[0], (), "explicit deny")
    for layer in deny_layers:
        # A Deny we cannot decide might not apply: access stays possible, and we say why.
        uncertain.extend(n for _, ns in layer.maybe for n in ns)

    # 2. Every SCP level (root → OU → account) must allow.
    for i in range(levels):
        allowed = scan(SCP, "Allow", i)
        if not allowed.any:
            where = "the root" if i == 0 else f"organization level {i + 1}"
            return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), f"no SCP at {where} allows {action}")
        uncertain.extend(allowed.notes())

    identity_allow = scan(IDENTITY, "Allow")
    boundary_allow = scan(BOUNDARY, "Allow") if has_boundary else None
    boundary_ok = boundary_allow is None or boundary_allow.any
    identity_ok = identity_allow.any and boundary_ok

    def identity_notes() -> list[str]:
        return identity_allow.notes() + (boundary_allow.notes() if boundary_allow is not None else [])

    # 3. The resource (or trust) policy.
    if has_resource_policy:
        caller, role_arn, caller_account = principal_forms(ctx)
        resource_account = account_of(resource)
        cross_account = bool(caller_account and resource_account and caller_account != resource_account)
        res_allow = scan(RESOURCE, "Allow")
        kinds = res_allow.principal
        direct = [s for s in res_allow.statements() if kinds.get(id(s)) == DIRECT]
        as_role = [s for s in res_allow.statements() if kinds.get(id(s)) == ROLE]
        by_account = [s for s in res_allow.statements() if kinds.get(id(s)) == ACCOUNT]
        if cross_account:
            if not res_allow.any:
                return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                                "cross-account: the resource policy does not allow the caller")
            if not identity_ok:
                return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                                _identity_reason(identity_allow, boundary_allow, action))
            return Decision(ALLOWED, identity_allow.first(),
                            _dedupe(uncertain + res_allow.notes_for(res_allow.statements()[0]) + identity_notes()),
                            "allowed", tuple(identity_allow.statements()))
        # Same account: an Allow naming the user or session needs nothing else; one naming
        # the role ARN is still limited by the role's boundary.
        if direct:
            return Decision(ALLOWED, direct[0], _dedupe(uncertain + res_allow.notes_for(direct[0])),
                            "allowed by the resource policy", tuple(identity_allow.statements()))
        if as_role and boundary_ok:
            return Decision(ALLOWED, as_role[0],
                            _dedupe(uncertain + res_allow.notes_for(as_role[0])
                                    + (boundary_allow.notes() if boundary_allow else [])),
                            "allowed by the resource policy", tuple(identity_allow.statements()))
        named = direct + as_role
        if resource_policy_required and not (named or by_account):
            return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                            "the trust policy does not name the caller or its account")
        if identity_ok:
            return Decision(ALLOWED, identity_allow.first(),
                            _dedupe(uncertain + (res_allow.notes_for((named + by_account)[0])
                                                 if resource_policy_required else []) + identity_notes()),
                            "allowed", tuple(identity_allow.statements()))
        return Decision(IMPLICIT_DENY, None, _dedupe(uncertain),
                        _identity_reason(identity_allow, boundary_allow, action))

    # 4. Identity policies, capped by the boundary.
    if not identity_ok:
        return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), _identity_reason(identity_allow, boundary_allow, action))
    return Decision(ALLOWED, identity_allow.first(), _dedupe(uncertain + identity_notes()), "allowed",
                    tuple(identity_allow.statements()))


def _identity_reason(identity_allow: _LayerResult, boundary_allow: _LayerResult | None, action: str) -> str:
    return _no_allow_reason(identity_allow.any, action)


def _no_allow_reason(identity_allows: bool, action: str) -> str:
    if not identity_allows:
        return f"no identity policy allows {action}"
    return f"the permissions boundary does not allow {action}"


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items)) if items else ()


# ---------------------------------------------------------------- compiled


class PolicySet:
    """A principal's identity policies, boundary and SCPs, compiled for many evaluations.

    ``PolicySet(identity_policies, boundary, scps).evaluate(action, resource, context=...)`` decides
    exactly as `evaluate` with the same arguments does (tests/test_aws_policy_properties.py checks
    it on random policies and requests), but reads each policy once: per action, which statements
    cover it (a set look-up and a regex per service: `ActionMatcher`), per statement its resources
    (a set of plain ARNs and one regex, remembered per resource: `ResourceMatcher`) and its
    conditions (operators parsed once: `ConditionPlan`, each remembering its answer per request value).
    Per action, the layers that can matter are listed once (`_ActionPlan.prepare`): SCP levels that allow
    the action whatever the request are passed over, and a decision without a resource policy that
    depends on nothing in the request is made once. An evaluation is then a few dictionary look-ups and
    the statements that cover its action. The memo of each matcher is bounded.
    """

    def __init__(self, identity_policies: Sequence[PolicyInput] = (), boundary: PolicyInput | None = None,
                 scps: Sequence[Sequence[PolicyInput]] = ()):
        self.identity = tuple(Policy.of(p, name=f"identity policy {i + 1}") for i, p in enumerate(identity_policies))
        self.boundary = Policy.of(boundary, name="permissions boundary") if boundary is not None else None
        self.scps = tuple(tuple(Policy.of(p, name=f"SCP {i + 1}.{j + 1}") for j, p in enumerate(level))
                          for i, level in enumerate(scps))
        self._plans: dict[str, _ActionPlan] = {}

    def compile(self, actions: Iterable[str]) -> "PolicySet":
        """Build the plans and matchers for ``actions`` now (they are otherwise built on first use)."""
        for action in actions:
            for candidates in self._plan(action).statements.values():
                for _, _, stmt, *_ in candidates:
                    stmt.plans()
        return self

    def _plan(self, action: str) -> "_ActionPlan":
        """What is known of ``action`` before any resource: the statements covering it per layer."""
        plan = self._plans.get(action)
        if plan is None:
            layers: list[tuple[str, int, Sequence[Policy]]] = [(IDENTITY, -1, self.identity)]
            if self.boundary is not None:
                layers.append((BOUNDARY, -1, (self.boundary,)))
            layers += [(SCP, i, level) for i, level in enumerate(self.scps)]
            plan = _ActionPlan(_PROTECTED.get(action.lower()) is not None)
            for layer, level, policies in layers:
                planned = [policy.planned(action, layer, level) for policy in policies]
                for effect, index in (("Deny", 0), ("Allow", 1)):
                    found = planned[0][index] if len(planned) == 1 else tuple(c for p in planned for c in p[index])
                    plan.statements[(layer, effect, level)] = found
                    if found and all(candidate[3] for candidate in found):  # whatever the resource and context
                        plan.constant[(layer, effect, level)] = _LayerResult(certain=[c[0] for c in found])
            plan.prepare(self.boundary is not None, len(self.scps), action)
            if len(self._plans) < 4096:
                self._plans[action] = plan
        return plan

    def evaluate(self, action: str, resource: str, *, resource_policy: PolicyInput | None = None,
                 context: ContextInput = None, resource_policy_required: bool = False) -> Decision:
        """`evaluate` with this set's identity policies, boundary and SCPs."""
        plan = self._plans.get(action)
        if plan is None:
            plan = self._plan(action)
        if plan.refusable:
            refusal = refused_by_aws(action, resource)
            if refusal is not None:
                return Decision(IMPLICIT_DENY, None, (), refusal)
        ctx = RequestContext.of(context)
        if resource_policy is None:
            if plan.decided is not None:  # the same whatever the resource and context
                return plan.decided
            return _decide_planned(plan, action, resource, ctx)
        res = Policy.of(resource_policy, name="resource policy")
        has_boundary = self.boundary is not None

        def scan(layer: str, effect: str, level: int = -1) -> _LayerResult:
            if layer == RESOURCE:
                return _scan_resource_policy(res, effect, action, resource, ctx, has_boundary)
            key = (layer, effect, level)
            constant = plan.constant.get(key)
            if constant is not None:
                return constant
            return _scan_planned(plan.statements[key], layer, level, resource, ctx)

        return _decide(action, resource, ctx, scan, has_boundary=has_boundary, levels=len(self.scps),
                       has_resource_policy=True, resource_policy_required=resource_policy_required)


def _scan_planned(candidates: tuple[Any, ...], layer: str, level: int, resource: str,
                  ctx: RequestContext) -> _LayerResult:
    """`_scan` of one layer through its plan: `_applies` of each statement (outside a resource policy: no
    principal), with what the plan knows: it covers the action, its resource matcher, its conditions'
    plans."""
    if not candidates:
        return _NOTHING
    out = _LayerResult()
    for statement, policy, stmt, always, matcher, positive, conditions in candidates:
        if always:
            out.certain.append(statement)
            continue
        unknown, notes = False, []
        if matcher is not None:
            matched, found = matcher.match(resource, ctx)
            if matched is (False if positive else True):  # a Resource that misses, a NotResource that hits
                continue
            if matched is None:
                unknown = True
                notes.extend(found)
        if conditions:  # `_conditions`: one that fails rules the statement out, unknown ones are noted
            version = policy.version
            for condition in conditions:
                result, found = check_condition(condition, ctx, version)
                if result is False:
                    break
                if result is None:
                    unknown = True
                    notes.extend(found)
            else:
                result = True
            if result is False:
                continue
        if unknown:
            where = statement.describe()  # `_located`, with the statement the plan holds
            out.maybe.append((statement, [f"{n} — {where}" for n in notes]))
        else:
            out.certain.append(statement)
    return out


def _decide_planned(plan: "_ActionPlan", action: str, resource: str, ctx: RequestContext) -> Decision:
    """`_decide` without a resource policy, over the layers the plan says can matter: a layer whose
    every statement always applies is its constant scan; an SCP level that allows the action whatever
    the resource and context adds nothing (no note, no deny) and is passed over."""
    uncertain: list[str] = []
    if plan.denies:  # 1. an explicit Deny wins; one that may apply is noted
        maybes: list[_LayerResult] = []
        for candidates, constant, layer, level in plan.denies:
            denied = constant if constant is not None else _scan_planned(candidates, layer, level, resource, ctx)
            if denied.certain:
                return Decision(EXPLICIT_DENY, denied.certain[0], (), "explicit deny")
            if denied.maybe:
                maybes.append(denied)
        for denied in maybes:
            uncertain.extend(n for _, ns in denied.maybe for n in ns)
    for candidates, level, reason in plan.scp_allows:  # 2. every SCP level must allow
        allowed = _scan_planned(candidates, SCP, level, resource, ctx)
        if not allowed.any:
            return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), reason)
        uncertain.extend(allowed.notes())
    # 4. identity policies, capped by the boundary
    allowed = plan.identity_allow
    if allowed is None:
        allowed = _scan_planned(plan.statements[(IDENTITY, "Allow", -1)], IDENTITY, -1, resource, ctx)
    bounded = None
    if plan.has_boundary:
        bounded = plan.boundary_allow
        if bounded is None:
            bounded = _scan_planned(plan.statements[(BOUNDARY, "Allow", -1)], BOUNDARY, -1, resource, ctx)
    if not (allowed.certain or allowed.maybe) or (bounded is not None and not bounded.any):
        if not uncertain:  # the plan's: nothing in it depends on the request
            return plan.no_identity_allow if not allowed.any else plan.no_boundary_allow
        return Decision(IMPLICIT_DENY, None, _dedupe(uncertain), _identity_reason(allowed, bounded, action))
    if not uncertain and allowed.certain and (bounded is None or bounded.certain):  # nothing uncertain
        return Decision(ALLOWED, allowed.certain[0], (), "allowed", tuple(allowed.statements()))
    return Decision(ALLOWED, allowed.first(),
                    _dedupe(uncertain + allowed.notes() + (bounded.notes() if bounded is not None else [])),
                    "allowed", tuple(allowed.statements()))


def _scan_resource_policy(res: Policy, effect: str, action: str, resource: str, ctx: RequestContext,
                          has_boundary: bool) -> _LayerResult:
    """`_scan` of a resource policy through its compiled statements."""
    out = _LayerResult()
    for stmt in res.candidates(action)[0 if effect == "Deny" else 1]:
        applies, notes, kind = _applies(res, stmt, action, resource, ctx, with_principal=True,
                                        has_boundary=has_boundary, compiled=True)
        if applies is False:
            continue
        found = Statement(res, stmt.index, RESOURCE)
        if kind:
            out.principal[id(found)] = kind
        if applies:
            out.certain.append(found)
        else:
            out.maybe.append((found, _located(res, stmt, RESOURCE, -1, notes)))
    return out


@dataclass
class _ActionPlan:
    refusable: bool  # AWS refuses this action on some resources whatever the policies (`refused_by_aws`)
    # (layer, effect, SCP level) -> the statements covering the action, each with its `Statement`, its
    # policy, whether it applies whatever the resource and context (`_always`), its resource matcher,
    # whether that is Resource (not NotResource), and its conditions' plans (`ParsedStatement.plans`)
    statements: dict[tuple[str, str, int], tuple[tuple[Statement, Policy, ParsedStatement, bool, Any, bool,
                                                     tuple[ConditionPlan, ...]], ...]] = \
        field(default_factory=dict)
    # the layers where every such statement always applies: their scan, done once (never changed)
    constant: dict[tuple[str, str, int], _LayerResult] = field(default_factory=dict)
    # `_decide_planned`'s layers, in `_decide`'s order: those with a Deny covering the action (statements,
    # constant scan or None, layer, level); the SCP levels whose Allow is not constant (statements, level,
    # the implicit deny's reason when none applies)
    denies: tuple[tuple[tuple[Any, ...], "_LayerResult | None", str, int], ...] = ()
    scp_allows: tuple[tuple[tuple[Any, ...], int, str], ...] = ()
    has_boundary: bool = False
    identity_allow: "_LayerResult | None" = None  # the constant scans of the Allows, or None: scanned each time
    boundary_allow: "_LayerResult | None" = None
    # the decision without a resource policy when nothing in it depends on the resource or the context
    decided: Decision | None = None
    # the implicit denies of identity policies and boundary with nothing uncertain (the same every time)
    no_identity_allow: Decision | None = None
    no_boundary_allow: Decision | None = None

    def prepare(self, has_boundary: bool, levels: int, action: str) -> None:
        """Work out `denies`, `scp_allows`, the constant Allows and `decided` from `statements`."""
        statements, constant = self.statements, self.constant
        deny_layers = [(IDENTITY, -1)] + ([(BOUNDARY, -1)] if has_boundary else []) + [(SCP, i) for i in range(levels)]
        self.denies = tuple((statements[(layer, "Deny", level)], constant.get((layer, "Deny", level)), layer, level)
                            for layer, level in deny_layers if statements[(layer, "Deny", level)])
        self.scp_allows = tuple(
            (statements[(SCP, "Allow", i)], i, f"no SCP at {'the root' if i == 0 else f'organization level {i + 1}'} "
                                               f"allows {action}")
            for i in range(levels) if (SCP, "Allow", i) not in constant)
        self.has_boundary = has_boundary
        self.no_identity_allow = Decision(IMPLICIT_DENY, None, (), _no_allow_reason(False, action))
        self.no_boundary_allow = Decision(IMPLICIT_DENY, None, (), _no_allow_reason(True, action))
        self.identity_allow = _NOTHING if not statements[(IDENTITY, "Allow", -1)] else constant.get((IDENTITY, "Allow", -1))
        if has_boundary:
            self.boundary_allow = (_NOTHING if not statements[(BOUNDARY, "Allow", -1)]
                                   else constant.get((BOUNDARY, "Allow", -1)))
        if self.denies or self.scp_allows or self.identity_allow is None or (has_boundary and self.boundary_allow is None):
            return
        allowed, bounded = self.identity_allow, self.boundary_allow
        if not allowed.any or (bounded is not None and not bounded.any):
            self.decided = Decision(IMPLICIT_DENY, None, (), _identity_reason(allowed, bounded, action))
        else:  # constant scans are certain
            self.decided = Decision(ALLOWED, allowed.certain[0], (), "allowed", tuple(allowed.statements()))



_NOTHING = _LayerResult()  # no statement covers the action in this layer (never changed: `_decide` only reads)


# ---------------------------------------------------------------- helpers for callers


def allow_resource_patterns(policies: Sequence[PolicyInput], action: str,
                            context: ContextInput = None) -> list[str]:
    """Resource patterns of the Allow statements that cover ``action`` (``*`` for NotResource).

    Callers that ask "is the action allowed on *some* resource?" use these to pick
    candidate resources to evaluate.
    """
    ctx = RequestContext.of(context)
    out: list[str] = []
    for raw in policies:
        policy = Policy.of(raw)
        for stmt in policy.candidates(action)[1]:  # the Allow statements covering the action
            if stmt.resources is None:
                out.append("*")
                continue
            for pattern in stmt.resources:
                text, _ = substitute(pattern, ctx, policy.version)
                if text is not None:
                    out.append(text)
    return list(dict.fromkeys(out))


def iter_statements(policy: PolicyInput) -> Iterator[Mapping[str, Any]]:
    """The statements of a document as written (a single statement object becomes one)."""
    for stmt in Policy.of(policy).statements:
        yield stmt.raw


