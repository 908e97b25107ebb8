"""Model: stable keys and CI workload matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foureyes.model import Grant, ci_subject, stable_hash, workload_matches


def test_grant_key_depends_only_on_system_principal_entitlement_resource():
    a = Grant("github", "github:alice", "write", "github:repo:acme/api", ("code.push",), detail="x")
    b = Grant("github", "github:alice", "write", "github:repo:acme/api", (), detail="y", via="team")
    c = Grant("github", "github:alice", "admin", "github:repo:acme/api")
    assert a.key == b.key != c.key
    assert stable_hash("a", "bc") != stable_hash("ab", "c")


def test_ci_subject_precedence():
    assert ci_subject("acme/api", environment="prod", ref="refs/heads/main") == "repo:acme/api:environment:prod"
    assert ci_subject("acme/api", pull_request=True) == "repo:acme/api:pull_request"
    assert ci_subject("acme/api", ref="refs/heads/main") == "repo:acme/api:ref:refs/heads/main"
    with pytest.raises(ValueError):
        ci_subject("acme/api")


ANY = "repo:acme/api:ref:refs/heads/*"


@pytest.mark.parametrize("pattern, protected, expected", [
    ("repo:acme/api:*", (), True),
    ("repo:acme/*", (), True),
    ("*", (), True),
    ("repo:acme/api:ref:refs/heads/main", ("main",), False),  # main is protected: not "any branch"
    ("repo:acme/api:ref:refs/heads/main", (), True),  # unprotected main: anyone with write can push it
    ("repo:acme/*:ref:refs/heads/main", ("main",), False),
    ("repo:acme/api:ref:refs/heads/release/*", ("main",), True),
    ("repo:acme/api:ref:refs/heads/feature-?", (), True),
    ("repo:acme/api:environment:production", (), False),
    ("repo:acme/api:pull_request", (), False),
    ("repo:acme/web:*", (), False),
])
def test_any_branch_context_against_trust_patterns(pattern, protected, expected):
    assert workload_matches(ANY, pattern, protected=protected) is expected


def test_environment_context_matches_literally():
    assert workload_matches("repo:acme/api:environment:production", "repo:acme/api:environment:prod*")
    assert not workload_matches("repo:acme/api:environment:production", "repo:acme/api:environment:staging")


@given(st.from_regex(r"[a-z][a-z0-9\-]{0,12}(/[a-z0-9\-]{1,8})?", fullmatch=True))
def test_a_concrete_branch_context_matches_the_same_literal_pattern(branch):
    context = f"repo:acme/api:ref:refs/heads/{branch}"
    assert workload_matches(context, context)
    assert workload_matches(ANY, context, protected=()) is True
    assert workload_matches(ANY, context, protected=(branch,)) is False
