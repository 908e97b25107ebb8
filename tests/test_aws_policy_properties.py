"""Property tests of the IAM evaluator: invariants that must hold for any policies.

An explicit deny always wins; adding an Allow never removes access; wildcard matching
agrees with literal matching; not knowing a context value never hides access.
"""

from __future__ import annotations

import fnmatch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foureyes.connectors.aws.policy import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, evaluate

ACTIONS = [
    "ecs:UpdateService", "ecs:CreateService", "ecs:ListClusters", "iam:PassRole", "iam:CreateUser",
    "iam:GetUser", "s3:GetObject", "s3:PutObject", "lambda:UpdateFunctionCode", "sts:AssumeRole",
]
RESOURCES = [
    "arn:aws:ecs:us-east-1:111111111111:service/prod/api",
    "arn:aws:ecs:eu-west-1:222222222222:service/dev/web",
    "arn:aws:s3:::deploy-bucket/app.zip",
    "arn:aws:s3:::logs/2026/01.log",
    "arn:aws:iam::111111111111:role/deploy",
    "arn:aws:lambda:us-east-1:111111111111:function:api:live",
]
CALLER = "arn:aws:iam::111111111111:user/alice"
TEAM = "aws:PrincipalTag/team"

settings.register_profile("foureyes", max_examples=120, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("foureyes")


def _wildcard(text: str, draw) -> str:
    """The text with a random slice turned into '*' and maybe one character into '?'."""
    if not text:
        return "*"
    i = draw(st.integers(0, len(text) - 1))
    j = draw(st.integers(i, len(text)))
    out = text[:i] + "*" + text[j:]
    if draw(st.booleans()) and len(out) > 1:
        k = draw(st.integers(0, len(out) - 1))
        if out[k] != "*":
            out = out[:k] + "?" + out[k + 1:]
    return out


@st.composite
def action_patterns(draw) -> str:
    action = draw(st.sampled_from(ACTIONS))
    kind = draw(st.sampled_from(["literal", "case", "wild", "service", "star"]))
    if kind == "literal":
        return action
    if kind == "case":
        return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in action)
    if kind == "service":
        return action.split(":")[0] + ":*"
    if kind == "star":
        return "*"
    return _wildcard(action, draw)


@st.composite
def resource_patterns(draw) -> str:
    resource = draw(st.sampled_from(RESOURCES))
    kind = draw(st.sampled_from(["literal", "wild", "segment", "star"]))
    if kind == "literal":
        return resource
    if kind == "star":
        return "*"
    if kind == "segment":
        parts = resource.split(":", 5)
        k = draw(st.integers(0, 5))
        parts[k] = _wildcard(parts[k], draw)
        return ":".join(parts)
    return _wildcard(resource, draw)


@st.composite
def statements(draw, *, principal: bool = False, conditions: bool = True) -> dict:
    stmt: dict = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    key = "NotAction" if draw(st.integers(0, 4)) == 0 else "Action"
    stmt[key] = draw(st.lists(action_patterns(), min_size=1, max_size=3))
    rkey = "NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"
    stmt[rkey] = draw(st.lists(resource_patterns(), min_size=1, max_size=2))
    if conditions and draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists"]))
        stmt["Condition"] = {op: {TEAM: draw(st.sampled_from(["web", "pay*", "ops"]))}}
    if principal:
        stmt["Principal"] = draw(st.sampled_from(["*", {"AWS": CALLER}, {"AWS": "111111111111"},
                                                  {"AWS": "arn:aws:iam::999999999999:root"}]))
    return stmt


def policies(min_size: int = 0, max_size: int = 3, **kw):
    return st.lists(st.builds(lambda s: {"Version": "2012-10-17", "Statement": s},
                              st.lists(statements(**kw), min_size=1, max_size=4)),
                    min_size=min_size, max_size=max_size)


@st.composite
def setups(draw) -> dict:
    setup = {"identity_policies": draw(policies())}
    if draw(st.booleans()):
        setup["boundary"] = draw(policies(1, 1))[0]
    if draw(st.booleans()):
        setup["scps"] = draw(st.lists(policies(1, 2), min_size=1, max_size=3))
    if draw(st.booleans()):
        setup["resource_policy"] = draw(policies(1, 1, principal=True))[0]
        setup["resource_policy_required"] = draw(st.booleans())
    return setup


contexts = st.sampled_from([
    {"aws:PrincipalArn": CALLER, TEAM: "web"},
    {"aws:PrincipalArn": CALLER, TEAM: "payments"},
    {"aws:PrincipalArn": CALLER, TEAM: None},
])
requests = st.tuples(st.sampled_from(ACTIONS), st.sampled_from(RESOURCES))


def run(setup: dict, request: tuple[str, str], context: dict):
    return evaluate(request[0], request[1], context=context, **setup)


@given(setups(), requests, contexts, st.sampled_from(["identity", "boundary", "scp", "resource"]),
       st.booleans())
def test_an_explicit_deny_always_wins(setup, request, context, layer, exact_resource):
    action, resource = request
    denial = {"Effect": "Deny", "Action": action.swapcase(),
              "Resource": resource if exact_resource else "*"}
    setup = {k: (list(v) if isinstance(v, list) else v) for k, v in setup.items()}
    if layer == "identity":
        setup["identity_policies"] = setup["identity_policies"] + [{"Statement": [denial]}]
    elif layer == "boundary":
        setup["boundary"] = {"Statement": (setup.get("boundary") or {"Statement": []})["Statement"] + [denial]}
    elif layer == "scp":
        levels = [list(level) for level in setup.get("scps") or [[]]]
        levels[-1].append({"Statement": [denial]})
        setup["scps"] = levels
    else:
        base = setup.get("resource_policy") or {"Statement": []}
        setup["resource_policy"] = {"Statement": base["Statement"] + [{**denial, "Principal": "*"}]}
    decision = run(setup, request, context)
    assert decision.outcome == EXPLICIT_DENY
    assert decision.statement is not None and decision.statement.effect == "Deny"


@given(setups(), requests, contexts, st.sampled_from(["identity", "boundary", "scp", "resource"]),
       statements(principal=True))
def test_adding_an_allow_never_removes_access(setup, request, context, layer, extra):
    before = run(setup, request, context)
    extra = {**extra, "Effect": "Allow"}
    if layer != "resource":
        extra.pop("Principal", None)
    after_setup = dict(setup)
    if layer == "identity":
        after_setup["identity_policies"] = list(setup["identity_policies"]) + [{"Statement": [extra]}]
    elif layer == "boundary" and setup.get("boundary"):
        after_setup["boundary"] = {"Statement": list(setup["boundary"]["Statement"]) + [extra]}
    elif layer == "scp" and setup.get("scps"):
        after_setup["scps"] = [list(level) for level in setup["scps"]]
        after_setup["scps"][0] = after_setup["scps"][0] + [{"Statement": [extra]}]
    elif layer == "resource" and setup.get("resource_policy"):
        after_setup["resource_policy"] = {"Statement": list(setup["resource_policy"]["Statement"]) + [extra]}
    after = run(after_setup, request, context)
    if before.outcome == ALLOWED:
        assert after.outcome == ALLOWED


# -- wildcard expansion versus literal matching, with a reference matcher written independently

def ref_action(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def ref_arn(pattern: str, arn: str) -> bool:
    if pattern == "*":
        return True
    p, a = pattern.split(":", 5), arn.split(":", 5)
    if len(p) < 6 or len(a) < 6:
        return fnmatch.fnmatchcase(arn, pattern)
    return all(fnmatch.fnmatchcase(x, y) for x, y in zip(a, p))


def expand(policy: dict) -> dict:
    out = []
    for stmt in policy["Statement"]:
        literal = {k: v for k, v in stmt.items() if k not in ("Action", "NotAction", "Resource", "NotResource")}
        for key in ("Action", "NotAction"):
            if key in stmt:
                literal[key] = [a for a in ACTIONS if any(ref_action(p, a) for p in stmt[key])]
        for key in ("Resource", "NotResource"):
            if key in stmt:
                literal[key] = [r for r in RESOURCES if any(ref_arn(p, r) for p in stmt[key])]
        out.append(literal)
    return {"Version": "2012-10-17", "Statement": out}


@given(policies(1, 3, conditions=False), st.one_of(st.none(), policies(1, 1, conditions=False)))
def test_wildcard_expansion_agrees_with_literal_matching(identity, boundary):
    literal_identity = [expand(p) for p in identity]
    literal_boundary = expand(boundary[0]) if boundary else None
    for action in ACTIONS:
        for resource in RESOURCES:
            wild = evaluate(action, resource, identity_policies=identity,
                            boundary=boundary[0] if boundary else None)
            lit = evaluate(action, resource, identity_policies=literal_identity, boundary=literal_boundary)
            assert wild.outcome == lit.outcome, (action, resource)


@given(setups(), requests, contexts)
def test_action_case_never_matters(setup, request, context):
    action, resource = request
    assert run(setup, (action.upper(), resource), context).outcome == run(setup, request, context).outcome


@given(setups(), requests, contexts)
def test_not_knowing_a_context_value_never_hides_access(setup, request, context):
    known = run(setup, request, context)
    unknown_context = {k: v for k, v in context.items() if k != TEAM}
    unknown = run(setup, request, unknown_context)
    if known.outcome == ALLOWED:
        assert unknown.outcome == ALLOWED
    if unknown.outcome == ALLOWED and known.outcome != ALLOWED:
        assert any(TEAM.lower() in u.lower() for u in unknown.uncertain)


# -- evaluate never raises, whatever operators, qualifiers and values a policy or a request holds

BASE_OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null", "NoSuchOperator",
]
CONDITION_KEYS = ["aws:CurrentTime", "aws:EpochTime", "aws:SourceIp", "aws:SourceArn", "aws:TagKeys",
                  "aws:MultiFactorAuthPresent", "s3:max-keys", TEAM, "aws:username", "aws:PrincipalArn"]
ODD_TEXT = ["1704067199999", "1e20", "-1e20", "nan", "NaN", "inf", "-inf", "1e400", "0x10", "", " ", "true",
            "FALSE", "maybe", "2026-13-45T99:00:00Z", "2026-01-01", "9999-12-31T23:59:59+14:00", "10.0.0.0/8",
            "::1/200", "300.1.1.1", "arn:aws:s3:::*", "arn:aws", "arn:::::", "*", "?", "${aws:TagKeys}",
            "${aws:username}", "${aws:username, 'x'}", "${", "${}", "${*}", "$", "\x00", "ü\u202e", "QUJD"]
scalars = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=10), st.integers(-10**25, 10**25),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none())
values = st.one_of(scalars, st.lists(scalars, max_size=3))


@st.composite
def odd_operators(draw) -> str:
    text = draw(st.sampled_from(["", "ForAllValues:", "ForAnyValue:", "forallvalues:"]))
    text += draw(st.sampled_from(BASE_OPERATORS)) + draw(st.sampled_from(["", "IfExists", "ifexists"]))
    return text.swapcase() if draw(st.integers(0, 5)) == 0 else text


@st.composite
def odd_statements(draw, principal: bool = False) -> dict:
    stmt: dict = {"Effect": draw(st.sampled_from(["Allow", "Deny"])), "Action": draw(st.sampled_from(ACTIONS + ["*"])),
                  "Resource": draw(st.sampled_from(["*", "arn:aws:s3:::home/${aws:username}/*",
                                                    "arn:aws:s3:::b/${aws:TagKeys}", RESOURCES[0]]))}
    stmt["Condition"] = {draw(odd_operators()): {draw(st.sampled_from(CONDITION_KEYS)): draw(values)}
                         for _ in range(draw(st.integers(1, 3)))}
    if principal:
        key = draw(st.sampled_from(["Principal", "NotPrincipal"]))
        stmt[key] = draw(st.sampled_from(["*", {"AWS": CALLER}, {"AWS": [CALLER, "111111111111"]},
                                          {"AWS": "arn:aws:iam::111111111111:root"}]))
    return stmt


odd_contexts = st.dictionaries(st.sampled_from(CONDITION_KEYS), st.one_of(values, st.lists(st.lists(scalars, max_size=2),
                                                                                        max_size=2)), max_size=6)


@settings(max_examples=200)
@given(st.lists(odd_statements(), min_size=1, max_size=3), st.one_of(st.none(), odd_statements()),
       st.one_of(st.none(), odd_statements(principal=True)), odd_contexts, requests, st.booleans())
def test_evaluate_never_raises_on_any_condition_value(identity, bound, resource, context, request, required):
    def policy(*stmts: dict) -> dict:
        return {"Version": "2012-10-17", "Statement": list(stmts)}

    decision = evaluate(request[0], request[1], identity_policies=[policy(*identity)],
                        boundary=policy(bound) if bound else None,
                        resource_policy=policy(resource) if resource else None, resource_policy_required=required,
                        scps=[[policy(*identity)]] if required else (), context={"aws:PrincipalArn": CALLER, **context})
    assert decision.outcome in (ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY)
    assert all(isinstance(note, str) for note in decision.uncertain)
