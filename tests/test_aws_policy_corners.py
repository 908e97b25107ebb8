"""Corners of IAM evaluation foureyes once got wrong, each against the AWS page that settles it.

Where AWS's documentation is silent (a value of the wrong type for its operator), the
expected answer is the one published in the test suite of cloud-copilot/iam-simulate, an
independent evaluator; docs/reference-notes.md records that choice.
"""

from __future__ import annotations

import pytest

from foureyes.connectors.aws.capabilities import AccountAdmins, CapabilityDecider, Holder
from foureyes.connectors.aws.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Policy,
    RequestContext,
    evaluate,
    refused_by_aws,
)
from foureyes.model import ACCESS_ADMIN

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(condition: dict, context: dict, *, effect: str = "Allow") -> tuple[str, tuple[str, ...]]:
    """The outcome of s3:ListBucket under one statement with ``condition`` (a Deny rides on allow-all)."""
    statement = {"Effect": effect, "Action": "s3:ListBucket", "Resource": "*", "Condition": condition}
    policies = [doc(statement)] if effect == "Allow" else [EVERYTHING, doc(statement)]
    decision = evaluate("s3:ListBucket", "arn:aws:s3:::b", identity_policies=policies, context=context)
    return decision.outcome, decision.uncertain


# ---------------------------------------------------------------- NotPrincipal with Deny


BUCKET = "arn:aws:s3:::reports"
ONLY_APP_ROLE = doc(
    {"Effect": "Deny", "NotPrincipal": {"AWS": [ROLE, f"arn:aws:iam::{ACCOUNT}:root"]}, "Action": "s3:*",
     "Resource": [BUCKET, f"{BUCKET}/*"]},
    {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
)


def test_a_notprincipal_deny_always_denies_a_caller_with_a_permissions_boundary():
    """IAM User Guide, "AWS JSON policy elements: NotPrincipal" (key points): "The NotPrincipal
    element with a Deny effect will always deny any IAM principal that has a permissions boundary
    policy attached, regardless of the values specified in the NotPrincipal element."
    """
    context = {"aws:PrincipalArn": ROLE, "aws:PrincipalAccount": ACCOUNT}
    reader = doc(allow("s3:GetObject"))
    without = evaluate("s3:GetObject", f"{BUCKET}/q3.csv", identity_policies=[reader], resource_policy=ONLY_APP_ROLE,
                       context=context)
    assert without.outcome == ALLOWED  # named in NotPrincipal: the Deny passes it by
    with_boundary = evaluate("s3:GetObject", f"{BUCKET}/q3.csv", identity_policies=[reader],
                             boundary=doc(allow("s3:*")), resource_policy=ONLY_APP_ROLE, context=context)
    assert with_boundary.outcome == EXPLICIT_DENY
    assert with_boundary.statement.layer == "resource" and with_boundary.statement.index == 0
    # Someone NotPrincipal does not name is denied either way.
    other = {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/eve", "aws:PrincipalAccount": ACCOUNT}
    assert evaluate("s3:GetObject", f"{BUCKET}/q3.csv", identity_policies=[reader], resource_policy=ONLY_APP_ROLE,
                    context=other).outcome == EXPLICIT_DENY
    # "you must also specify the account ARN of the not-denied principal": the role alone spares nobody.
    role_only = doc({**ONLY_APP_ROLE["Statement"][0], "NotPrincipal": {"AWS": ROLE}}, ONLY_APP_ROLE["Statement"][1])
    assert evaluate("s3:GetObject", f"{BUCKET}/q3.csv", identity_policies=[reader], resource_policy=role_only,
                    context=context).outcome == EXPLICIT_DENY


# ---------------------------------------------------------------- Null


@pytest.mark.parametrize("context", [{"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, {"aws:TokenIssueTime": None}, {}])
def test_null_with_true_and_false_always_holds(context):
    """IAM User Guide, "Creating a condition with multiple context keys or values": several values
    for one key are ORed, so Null [true, false] holds whether the key is present, absent or
    unknown (reference_policies_condition-logic-multiple-context-keys-or-values)."""
    assert decide({"Null": {"aws:TokenIssueTime": ["true", "false"]}}, context) == (ALLOWED, ())
    assert decide({"Null": {"aws:TokenIssueTime": ["false", "true"]}}, context, effect="Deny")[0] == EXPLICIT_DENY


def test_null_with_one_value_checks_presence():
    """IAM User Guide, "Condition operator to check existence of condition keys" (Null)."""
    absent, present = {"aws:TokenIssueTime": None}, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}
    assert decide({"Null": {"aws:TokenIssueTime": "true"}}, absent)[0] == ALLOWED
    assert decide({"Null": {"aws:TokenIssueTime": "true"}}, present)[0] == IMPLICIT_DENY
    assert decide({"Null": {"aws:TokenIssueTime": "false"}}, present)[0] == ALLOWED
    outcome, uncertain = decide({"Null": {"aws:TokenIssueTime": "false"}}, {})
    assert outcome == ALLOWED and uncertain  # unknown: possible, and said so


@pytest.mark.parametrize("value", ["true", "false", ["true", "false"]])
def test_set_operators_on_null_follow_the_set_rules_on_an_absent_key(value):
    """IAM User Guide, "Single-valued vs. multivalued context keys" / "Multivalued context key
    examples": ForAllValues returns true when the key is absent from the request; ForAnyValue
    returns false. That holds for the Null operator too, whatever its value."""
    absent = {"aws:TagKeys": None}
    assert decide({"ForAllValues:Null": {"aws:TagKeys": value}}, absent) == (ALLOWED, ())
    assert decide({"ForAnyValue:Null": {"aws:TagKeys": value}}, absent) == (IMPLICIT_DENY, ())
    assert decide({"ForAnyValue:Null": {"aws:TagKeys": value}}, absent, effect="Deny") == (ALLOWED, ())


# ---------------------------------------------------------------- multivalued keys as variables


def test_a_multivalued_context_key_used_as_a_policy_variable_never_matches():
    """IAM User Guide, "IAM policy elements: Variables and tags": a variable that cannot be
    resolved makes the element not match; a multivalued key (aws:TagKeys, aws:CalledVia) cannot be
    used as a policy variable. Neither an Allow nor a Deny built on one applies — and it is not
    reported as uncertain, because the answer is known."""
    tags = {"aws:TagKeys": ["team", "env"]}
    in_resource = doc(allow("s3:GetObject", "arn:aws:s3:::b/${aws:TagKeys}/*"))
    decision = evaluate("s3:GetObject", "arn:aws:s3:::b/team/x", identity_policies=[in_resource], context=tags)
    assert (decision.outcome, decision.uncertain) == (IMPLICIT_DENY, ())
    # Even a request value equal to one of the tag keys, or to their text, does not match.
    for operator in ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike"):
        context = {**tags, "s3:prefix": "team"}
        assert decide({operator: {"s3:prefix": "${aws:TagKeys}"}}, context) == (IMPLICIT_DENY, ()), operator
        assert decide({operator: {"s3:prefix": "${aws:TagKeys}"}}, context, effect="Deny") == (ALLOWED, ()), operator
    # A single-valued key in the same place still works.
    single = {"aws:username": "team"}
    assert evaluate("s3:GetObject", "arn:aws:s3:::b/team/x", context=single,
                    identity_policies=[doc(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"))]).allowed


# ---------------------------------------------------------------- values of the wrong type


@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals"])
def test_arn_operators_on_a_value_that_is_not_an_arn_never_match(operator):
    """IAM User Guide, "IAM JSON policy elements: Condition operators" (ARN condition operators)
    compare the six colon-separated components of an ARN, and is silent on a request value that
    has none. AWS's simulator API types context values as strings and publishes no answer; foureyes
    follows the independent evaluator cloud-copilot/iam-simulate (ArnLike.test.ts and
    ArnNotLike.test.ts: "should return false if not a valid request arn"): neither the operator nor
    its negation matches, so an Allow on it does not apply and neither does a Deny."""
    condition = {operator: {"aws:SourceArn": "arn:aws:s3:::*"}}
    for value in ("not-an-arn", "arn:aws:s3", ""):
        assert decide(condition, {"aws:SourceArn": value}) == (IMPLICIT_DENY, ())
        assert decide(condition, {"aws:SourceArn": value}, effect="Deny") == (ALLOWED, ())
    # A real ARN still matches (or, negated, does not).
    expected = ALLOWED if "Not" not in operator else IMPLICIT_DENY
    assert decide({operator: {"aws:SourceArn": "arn:aws:s3:::b"}}, {"aws:SourceArn": "arn:aws:s3:::b"})[0] == expected


def test_bool_on_a_value_that_is_neither_true_nor_false_never_matches():
    """IAM User Guide, "Condition operators" (Boolean condition operators compare to true or false);
    AWS's simulator takes boolean context values as true/false only. A value that is neither —
    on the request or in the policy — matches nothing (cloud-copilot/iam-simulate Bool.test.ts:
    "should return false if the value is not a boolean"). Case does not matter."""
    assert decide({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "yes"}) == (IMPLICIT_DENY, ())
    assert decide({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "yes"}, effect="Deny")[0] == ALLOWED
    assert decide({"Bool": {"aws:SecureTransport": "maybe"}}, {"aws:SecureTransport": "true"})[0] == IMPLICIT_DENY
    assert decide({"Bool": {"aws:SecureTransport": "TRUE"}}, {"aws:SecureTransport": True})[0] == ALLOWED


@pytest.mark.parametrize("operator", ["DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals"])
@pytest.mark.parametrize("odd", ["1704067199999", "1e20", "-1e20", "nan", "inf", "-inf", "NaN"])
def test_dates_no_calendar_holds_never_match_and_never_raise(operator, odd):
    """IAM User Guide, "Condition operators" (Date condition operators take ISO 8601 or epoch
    seconds). 1704067199999 is an epoch in milliseconds (year 55970); 1e20 and -1e20 overflow any
    date; nan and inf are not numbers. Python raises OverflowError/ValueError on them: foureyes
    reads them as a non-match, on either side and under the negated operator too."""
    for condition, context in (({operator: {"aws:CurrentTime": odd}}, {"aws:CurrentTime": "2026-01-01T00:00:00Z"}),
                               ({operator: {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}, {"aws:CurrentTime": odd}),
                               ({operator: {"aws:EpochTime": odd}}, {"aws:EpochTime": 1767225600})):
        assert decide(condition, context) == (IMPLICIT_DENY, ())
        assert decide(condition, context, effect="Deny") == (ALLOWED, ())


@pytest.mark.parametrize("odd", ["nan", "inf", "-inf", "ten"])
def test_numbers_that_are_not_finite_never_match(odd):
    """IAM User Guide, "Condition operators" (Numeric condition operators)."""
    for operator in ("NumericLessThan", "NumericNotEquals", "NumericGreaterThanEquals"):
        assert decide({operator: {"s3:max-keys": odd}}, {"s3:max-keys": "10"}) == (IMPLICIT_DENY, ())
        assert decide({operator: {"s3:max-keys": "10"}}, {"s3:max-keys": odd}) == (IMPLICIT_DENY, ())
    assert decide({"NumericLessThan": {"s3:max-keys": "1e20"}}, {"s3:max-keys": "10"})[0] == ALLOWED


# ---------------------------------------------------------------- writes AWS refuses

SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"
SSO_ROLE_REGIONAL = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Dev_fedcba9876543210"
LINKED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"


@pytest.mark.parametrize("action", ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                                    "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy",
                                    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
                                    "iam:DeleteRole", "IAM:putrolepolicy"])
def test_identity_center_and_service_linked_roles_cannot_be_changed_whatever_a_policy_says(action):
    """AWS re:Post, "How do I resolve the IAM error 'Cannot perform the operation on the protected
    role AWSReservedSSO'": "this role is only modifiable by AWS"; IAM Identity Center User Guide,
    "Using service-linked roles for IAM Identity Center" (these are the actions only IAM Identity
    Center performs on role/aws-reserved/sso.amazonaws.com/*); IAM API Reference, error
    UnmodifiableEntity ("service-linked roles are protected AWS resources")."""
    for role in (SSO_ROLE, SSO_ROLE_REGIONAL, LINKED_ROLE):
        decision = evaluate(action, role, identity_policies=[EVERYTHING])
        assert decision.outcome == IMPLICIT_DENY, role
        assert decision.reason.startswith("AWS refuses") and decision.statement is None
    assert evaluate(action, ROLE, identity_policies=[EVERYTHING]).outcome == ALLOWED
    # Reading and passing them is not a write.
    assert evaluate("iam:GetRole", SSO_ROLE, identity_policies=[EVERYTHING]).outcome == ALLOWED
    assert evaluate("iam:PassRole", LINKED_ROLE, identity_policies=[EVERYTHING]).outcome == ALLOWED


def test_aws_managed_policies_cannot_be_versioned_and_aws_kms_aliases_cannot_be_changed():
    """IAM User Guide, "AWS managed policies": "You cannot change the permissions defined in AWS
    managed policies"; AWS KMS Developer Guide, "Create aliases": "The alias/aws/ prefix is
    reserved for AWS managed keys"."""
    managed = "arn:aws:iam::aws:policy/AdministratorAccess"
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion"):
        assert evaluate(action, managed, identity_policies=[EVERYTHING]).outcome == IMPLICIT_DENY
        assert evaluate(action, f"arn:aws:iam::{ACCOUNT}:policy/Deploy", identity_policies=[EVERYTHING]).allowed
    assert "AWS managed policies" in refused_by_aws("iam:CreatePolicyVersion", managed)
    for action in ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"):
        assert evaluate(action, f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/s3",
                        identity_policies=[EVERYTHING]).outcome == IMPLICIT_DENY
        assert evaluate(action, f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app", identity_policies=[EVERYTHING]).allowed


def test_the_protection_invents_no_admin_path():
    """A role that may write policies onto itself is admin-equivalent (reference §3.4) — unless it
    is an IAM Identity Center role, which AWS will not let anyone change; taking over an admin
    Identity Center role by rewriting its trust is refused the same way."""
    decider = CapabilityDecider()
    self_service = doc(allow(["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"],
                             f"arn:aws:iam::{ACCOUNT}:role/*"))

    def holder(arn: str) -> Holder:
        return Holder(arn=arn, kind="role", account=ACCOUNT, policies=(Policy.of(self_service),),
                      context=RequestContext({"aws:PrincipalArn": arn, "aws:PrincipalAccount": ACCOUNT}))

    assert ACCESS_ADMIN in decider.reach(holder(ROLE))
    assert decider.reach(holder(SSO_ROLE)) == {}
    assert decider.reach(holder(LINKED_ROLE)) == {}
    # ... and an Identity Center role that is an administrator is no target for UpdateAssumeRolePolicy.
    no_self = doc(allow("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/*"))
    other = Holder(arn=f"arn:aws:iam::{ACCOUNT}:user/dev", kind="user", account=ACCOUNT,
                   policies=(Policy.of(no_self),),
                   context=RequestContext({"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/dev"}))
    assert decider.reach(other, AccountAdmins(roles=(SSO_ROLE,))) == {}
    assert ACCESS_ADMIN in decider.reach(other, AccountAdmins(roles=(ROLE,)))
