"""Compiled and uncompiled evaluation agree: `PolicySet.evaluate` against `evaluate`.

`PolicySet` reads each policy once (per action, the statements that cover it; per statement,
its resources as a set and one regex, its conditions as plans) and remembers per action and
per resource what does not depend on the request's context. Whatever the policies, requests
and contexts, every part of the decision must be the same as `evaluate`'s on the same input:
outcome, reason, uncertain conditions, the deciding statement and the identity Allows.
Several requests go through one `PolicySet` in turn, so what it remembered from one request
is used on the next; policies are shared between sets as the connector shares them.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from foureyes.connectors.aws.policy import Decision, Policy, PolicySet, evaluate

CALLER = "arn:aws:iam::111111111111:user/alice"
ACTIONS = ["ecs:UpdateService", "ecs:ListClusters", "iam:PassRole", "iam:CreateUser", "s3:GetObject",
           "s3:PutObject", "sts:AssumeRole", "kms:Decrypt", "iam:UpdateAssumeRolePolicy", "kms:CreateAlias",
           "S3:GETOBJECT", "ſ3:getobject", "\u212ams:decrypt", "s3:Get:Object", "s3", "", "*", "ecs:*"]
RESOURCES = ["arn:aws:ecs:us-east-1:111111111111:service/prod/api", "arn:aws:s3:::deploy/app.zip",
             "arn:aws:s3:::home/alice/notes", "arn:aws:iam::111111111111:role/deploy",
             "arn:aws:iam::111111111111:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
             "arn:aws:kms:us-east-1:111111111111:alias/aws/s3", "arn:aws:iam::222222222222:role/x",
             "*", "arn:aws:s3:::a*b", "not-an-arn", "arn:aws:s3:::home/${aws:username}/x"]
KEYS = ["aws:username", "aws:PrincipalTag/team", "aws:SourceIp", "aws:CurrentTime", "aws:TagKeys",
        "aws:MultiFactorAuthPresent", "s3:prefix"]
TEXT = ["web", "pay*", "alice", "10.0.0.0/8", "2026-01-01T00:00:00Z", "true", "1e3", "${aws:username}",
        "${aws:username, 'bob'}", "${aws:TagKeys}", "*", "?", "\x00*", "ü", "${", "arn:aws:iam::*:role/*"]


def _globbed(text: str, draw) -> str:
    """``text``, or with a slice replaced by ``*``, one character by ``?``, or either by a literal or a variable."""
    if not text or draw(st.integers(0, 2)) == 0:
        return text
    mark = draw(st.sampled_from(["*", "?", "\x00*", "${aws:username}", "${aws:PrincipalTag/team}"]))
    i = draw(st.integers(0, len(text) - 1))
    j = i + 1 if mark == "?" else draw(st.integers(i, len(text)))
    return text[:i] + mark + text[j:]


@st.composite
def action_patterns(draw) -> str:
    action = draw(st.sampled_from(ACTIONS))
    how = draw(st.sampled_from(["as is", "case", "glob", "service", "text"]))
    if how == "case":
        return action.swapcase()
    if how == "glob":
        return _globbed(action, draw)
    if how == "service":
        return action.split(":")[0] + ":" + draw(st.sampled_from(["*", "Get*", "?et*", "*Role*"]))
    if how == "text":
        return draw(st.text(alphabet="ab:*?ſKk\u212a", max_size=6))
    return action


@st.composite
def resource_patterns(draw) -> str:
    resource = draw(st.sampled_from(RESOURCES))
    if draw(st.integers(0, 2)) == 0:
        parts = resource.split(":", 5)
        k = draw(st.integers(0, len(parts) - 1))
        parts[k] = _globbed(parts[k], draw)
        return ":".join(parts)
    return _globbed(resource, draw)


@st.composite
def statements(draw, principal: bool = False) -> dict:
    stmt: dict = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.integers(0, 3)) == 0:
        stmt["NotAction"] = draw(st.lists(action_patterns(), min_size=1, max_size=3))
    else:
        stmt["Action"] = draw(st.lists(action_patterns(), min_size=1, max_size=4))
    which = draw(st.sampled_from(["Resource", "Resource", "Resource", "NotResource", None]))
    if which:
        stmt[which] = draw(st.lists(resource_patterns(), min_size=1, max_size=3))
    if draw(st.booleans()):
        operator = draw(st.sampled_from(["", "ForAnyValue:", "ForAllValues:"])) + draw(st.sampled_from(
            ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "IpAddress",
             "DateGreaterThan", "NumericLessThan", "Bool", "ArnLike", "Null", "Odd"])) + draw(
            st.sampled_from(["", "IfExists"]))
        stmt["Condition"] = {operator: {draw(st.sampled_from(KEYS)): draw(st.lists(st.sampled_from(TEXT), min_size=1,
                                                                                     max_size=3))}}
    if principal:
        stmt[draw(st.sampled_from(["Principal", "Principal", "NotPrincipal"]))] = draw(st.sampled_from(
            ["*", {"AWS": CALLER}, {"AWS": "111111111111"}, {"AWS": ["arn:aws:iam::111111111111:root", CALLER]},
             {"AWS": "arn:aws:iam::999999999999:root"}, {"Service": "ecs.amazonaws.com"}]))
    return stmt


FULL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def scp_levels():
    """Levels of SCPs, most with AWS's FullAWSAccess beside the others (as Organizations attaches it)."""
    level = st.tuples(st.booleans(), documents(0, 2)).map(lambda t: ([FULL_ACCESS] if t[0] else []) + t[1])
    return st.lists(level.filter(bool), max_size=3)


def documents(min_size: int = 0, max_size: int = 3, principal: bool = False):
    version = st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"])
    return st.lists(st.builds(lambda v, s: {"Version": v, "Statement": s}, version,
                              st.lists(statements(principal), min_size=1, max_size=4)),
                    min_size=min_size, max_size=max_size)


contexts = st.fixed_dictionaries({"aws:PrincipalArn": st.sampled_from([CALLER, "arn:aws:iam::111111111111:role/deploy",
                                                                      None])},
                                 optional={k: st.one_of(st.none(), st.sampled_from(TEXT), st.lists(
                                     st.sampled_from(TEXT), max_size=2)) for k in KEYS})
requests = st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(RESOURCES), contexts,
                              st.booleans(), st.booleans()), min_size=1, max_size=6)


def seen(decision: Decision) -> tuple:
    """Everything a decision says, with statements as (policy, statement, layer, level)."""
    def where(s):
        return None if s is None else (s.policy.name, s.index, s.layer, s.level)

    return (decision.outcome, decision.reason, decision.uncertain, where(decision.statement),
            tuple(where(s) for s in decision.allows))


@settings(max_examples=80, deadline=None)
@given(documents(), documents(0, 1), scp_levels(), documents(0, 1, principal=True), requests)
def test_compiled_and_uncompiled_evaluation_agree(identity, boundary, scps, resource, asked):
    shared = [Policy.of(d, name=f"identity policy {i + 1}") for i, d in enumerate(identity)]
    compiled = PolicySet(shared, boundary[0] if boundary else None, scps)
    again = PolicySet(shared, boundary[0] if boundary else None, scps)  # the same Policy objects, another set
    for action, resource_arn, context, with_resource_policy, required in asked:
        resource_policy = resource[0] if resource and with_resource_policy else None
        reference = evaluate(action, resource_arn, identity_policies=identity,
                             boundary=boundary[0] if boundary else None, scps=scps, resource_policy=resource_policy,
                             resource_policy_required=required, context=context)
        for policy_set in (compiled, again):
            found = policy_set.evaluate(action, resource_arn, resource_policy=resource_policy,
                                        resource_policy_required=required, context=context)
            assert seen(found) == seen(reference), (action, resource_arn, context)


# ---------------------------------------------------------------- many requests through each set

def _glob(rng: random.Random, text: str) -> str:
    if not text or rng.randrange(3) == 0:
        return text
    mark = rng.choice(["*", "?", "\x00*", "${aws:username}", "${aws:PrincipalTag/team}"])
    i = rng.randrange(len(text))
    j = i + 1 if mark == "?" else rng.randint(i, len(text))
    return text[:i] + mark + text[j:]


def _statement(rng: random.Random, principal: bool) -> dict:
    def action() -> str:
        found = rng.choice(ACTIONS)
        how = rng.randrange(4)
        return found.swapcase() if how == 0 else _glob(rng, found) if how == 1 else (
            found.split(":")[0] + ":" + rng.choice(["*", "Get*", "?et*", "*Role*"])) if how == 2 else found

    def resource() -> str:
        found = rng.choice(RESOURCES + ["*"])
        if rng.randrange(3) == 0:
            parts = found.split(":", 5)
            k = rng.randrange(len(parts))
            parts[k] = _glob(rng, parts[k])
            return ":".join(parts)
        return _glob(rng, found)

    stmt: dict = {"Effect": rng.choice(["Allow", "Allow", "Deny"]),
                  rng.choice(["Action", "Action", "Action", "NotAction"]): [action() for _ in range(rng.randint(1, 3))]}
    which = rng.choice(["Resource", "Resource", "Resource", "NotResource", None])
    if which:
        stmt[which] = [resource() for _ in range(rng.randint(1, 3))]
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        operator = rng.choice(["", "", "ForAnyValue:", "ForAllValues:"]) + rng.choice(
            ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "IpAddress",
             "DateGreaterThan", "NumericLessThan", "Bool", "ArnLike", "Null", "Odd"]) + rng.choice(["", "IfExists"])
        stmt.setdefault("Condition", {}).setdefault(operator, {})[rng.choice(KEYS)] = rng.sample(TEXT, rng.randint(1, 3))
    if principal:
        stmt[rng.choice(["Principal", "Principal", "NotPrincipal"])] = rng.choice(
            ["*", {"AWS": CALLER}, {"AWS": "111111111111"}, {"AWS": ["arn:aws:iam::111111111111:root", CALLER]},
             {"AWS": "arn:aws:iam::999999999999:root"}])
    return stmt


def _document(rng: random.Random, principal: bool = False) -> dict:
    return {"Version": rng.choice(["2012-10-17", "2012-10-17", "2008-10-17"]),
            "Statement": [_statement(rng, principal) for _ in range(rng.randint(1, 4))]}


REGIONS_SCP = {"Version": "2012-10-17", "Statement": [{  # as an OU's SCP: deny all but IAM outside two regions
    "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}


def test_compiled_and_uncompiled_agree_on_thousands_of_requests_through_shared_sets():
    """Seeded random policy sets, each asked many requests in turn, so that what a set, its plans and
    its condition plans remember from one request (per action, resource and context value) is used on
    the next: every decision as `evaluate` makes it. SCP levels mix FullAWSAccess, a conditional
    NotAction Deny and random SCPs, so that some levels are passed over and others scanned."""
    rng = random.Random(19)
    shared = [Policy.of(_document(rng), name=f"identity policy {i + 1}") for i in range(40)]
    levels = [[FULL_ACCESS], [FULL_ACCESS, REGIONS_SCP], [FULL_ACCESS, _document(rng)], [_document(rng)]]
    contexts = [{"aws:PrincipalArn": CALLER, "aws:username": "alice"},
                {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/deploy", "aws:RequestedRegion": "us-east-1"}]
    for _ in range(40):
        contexts.append({"aws:PrincipalArn": rng.choice([CALLER, "arn:aws:iam::111111111111:role/deploy", None]),
                         **{k: rng.choice([None, rng.choice(TEXT), rng.sample(TEXT, 2)])
                            for k in rng.sample(KEYS + ["aws:RequestedRegion"], rng.randint(0, 4))}})
    resource_policies = [_document(rng, principal=True) for _ in range(5)]
    asked = 0
    for _ in range(120):
        identity = rng.sample(shared, rng.randint(0, 3)) + [_document(rng)] * rng.randint(0, 1)
        boundary = _document(rng) if rng.randrange(4) == 0 else None
        scps = [list(rng.choice(levels)) for _ in range(rng.choice([0, 1, 3]))]
        policy_set = PolicySet(identity, boundary, scps)
        for _ in range(30):
            action, resource, context = rng.choice(ACTIONS), rng.choice(RESOURCES), rng.choice(contexts)
            resource_policy = rng.choice(resource_policies) if rng.randrange(6) == 0 else None
            required = rng.randrange(2) == 0
            reference = evaluate(action, resource, identity_policies=identity, boundary=boundary, scps=scps,
                                 resource_policy=resource_policy, resource_policy_required=required, context=context)
            found = policy_set.evaluate(action, resource, resource_policy=resource_policy,
                                        resource_policy_required=required, context=context)
            assert seen(found) == seen(reference), (action, resource, context)
            asked += 1
    assert asked == 3600


def test_arn_matching_without_wildcards_is_equality():
    """`arn_matches` compares a pattern with no ``*``, ``?`` or escaped literal as text; the regex agrees."""
    from foureyes.connectors.aws.policy_matching import arn_matches, arn_regex

    arns = RESOURCES + ["arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/alice\n",
                        "ARN:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/alicex", "a:b"]
    for pattern in arns:
        if any(c in pattern for c in "*?\x00"):
            continue
        for arn in arns:
            assert arn_matches(pattern, arn) is (arn_regex(pattern).match(arn) is not None) is (pattern == arn)
