"""Role trust policies as can-assume edges, and GitHub OIDC trust as CI workload patterns.

Who may call sts:AssumeRole is decided with the policy evaluator (trust policy and the
caller's own policies); a GitHub OIDC statement becomes the ``sub`` patterns it admits.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ...model import Edge, EdgeKind, Gap, Kind, Principal
from .iam import Entity, Translator, account_of, aws_key, policy_document, short_list
from .policy import Policy, PolicyError, action_matches, allow_resource_patterns, arn_matches
from .reads import SYSTEM

GITHUB_PROVIDER = re.compile(r"^arn:[^:]+:iam::\d+:oidc-provider/(?P<issuer>token\.actions\.githubusercontent\.com(?:/[^/]+)?)$")
SSO_SAML_PROVIDER = re.compile(r":saml-provider/AWSSSO_[^/]*$")


def add_trust(t: Translator) -> None:
    """A can-assume edge for every caller a role's trust policy (and the caller's policies) admits."""
    _Trust(t).run()


class _Trust:
    def __init__(self, t: Translator):
        self.entities = t.entities
        self.by_account = t.by_account
        self.out = t.out
        self.account_label = t.account_label
        self._assume_cache: dict[str, list[str]] = {}

    def run(self) -> None:
        for role in (e for e in self.entities.values() if e.kind == "role"):
            document = role.detail.get("AssumeRolePolicyDocument")
            if not document:
                continue
            try:
                trust = Policy.of(policy_document(document), name=f"trust policy of role {role.name}")
            except PolicyError as exc:
                self.out.gap(Gap(SYSTEM, role.account.key, f"trust policy of role {role.name} unreadable: {exc}",
                                 f"who can assume role {role.name}"))
                continue
            candidates: dict[str, str] = {}  # principal key -> how the trust names it
            external: list[str] = []
            federated: list[str] = []
            # A Deny on GitHub tokens narrows the trusted subjects; it is noted, never subtracted.
            github_denies = [f"trust policy {'Sid ' + s.sid if s.sid else f'statement {s.index + 1}'} denies some "
                             "GitHub tokens (not subtracted from the subject pattern)"
                             for s in trust.statements if s.effect == "Deny" and s.principals is not None
                             and any(GITHUB_PROVIDER.match(v) for v in s.principals.get("Federated", ()))]
            for stmt in trust.statements:
                if stmt.effect != "Allow" or stmt.principals is None:
                    continue
                actions = stmt.actions or ()
                for value in stmt.principals.get("AWS", ()):
                    self._aws_candidates(value, candidates, external)
                for value in stmt.principals.get("Federated", ()):
                    github = GITHUB_PROVIDER.match(value)
                    if github and any(action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions):
                        self._oidc(role, stmt.raw, github.group("issuer"), github_denies)
                    elif SSO_SAML_PROVIDER.search(value):
                        continue  # Identity Center: edges come from account assignments
                    else:
                        federated.append(value)
            for key, how in sorted(candidates.items()):
                caller = self.entities[key]
                if caller.kind == "group" or key == role.key:
                    continue
                if how.startswith("account ") and not self._may_assume(caller, role.arn):
                    continue  # trust in an account delegates to the caller's own policies, which allow nothing here
                decision = caller.holder.policy_set.evaluate("sts:AssumeRole", role.arn, resource_policy=trust,
                                                             resource_policy_required=True,
                                                             context=caller.holder.context)
                if not decision.allowed:
                    continue
                if decision.statement is not None and decision.statement.layer == "resource":
                    label = f"trust policy of role {role.name} names {caller.label}"
                else:
                    granted = decision.statement.policy.name if decision.statement else "an identity policy"
                    label = (f"trust policy of role {role.name} trusts {how}; {granted} allows the "
                             f"{caller.kind} sts:AssumeRole")
                self.out.edge(Edge(key, role.key, EdgeKind.CAN_ASSUME, label,
                                   condition="; ".join(decision.uncertain)))
            extra: dict[str, Any] = {}
            if external:
                extra["trusted_external"] = sorted(set(external))
            if federated:
                extra["federated"] = sorted(set(federated))
                if role.reach:
                    self.out.gap(Gap(SYSTEM, role.account.key,
                                     f"role {role.name} trusts identity provider {short_list(sorted(set(federated)), 2)}, "
                                     "whose users foureyes does not read",
                                     f"people who can assume role {role.name} ({', '.join(sorted(role.reach))})"))
            if extra:
                self.out.with_attrs(role.key, **extra)

    def _may_assume(self, entity: Entity, role_arn: str) -> bool:
        """Could the caller's own policies allow sts:AssumeRole on the role at all? (cheap filter)"""
        patterns = self._assume_cache.get(entity.key)
        if patterns is None:
            patterns = allow_resource_patterns(entity.holder.policies, "sts:AssumeRole", entity.holder.context)
            self._assume_cache[entity.key] = patterns
        return any(arn_matches(p, role_arn) for p in patterns)

    def _aws_candidates(self, value: str, candidates: dict[str, str], external: list[str]) -> None:
        def account_members(account_id: str) -> list[str]:
            return [e.key for e in self.by_account.get(account_id, []) if e.kind in ("user", "role")]

        if value == "*":
            for account_id in self.by_account:
                for key in account_members(account_id):
                    candidates.setdefault(key, "any AWS principal")
            external.append("*")
            return
        account_id = value if re.fullmatch(r"\d{12}", value) else ""
        if not account_id and value.endswith(":root"):
            account_id = account_of(value)
        if account_id:
            if account_id in self.by_account:
                for key in account_members(account_id):
                    candidates.setdefault(key, f"account {self.account_label(account_id)}")
            else:
                external.append(value)
            return
        m = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/", value)
        if m:
            matches = [e.key for e in self.by_account.get(m.group(2), [])
                       if e.kind == "role" and e.name == m.group(3)]
            if matches:
                candidates[matches[0]] = "a session of its role"
            else:
                external.append(value)
            return
        key = aws_key(value)
        if key in self.entities:
            candidates[key] = self.entities[key].label
        else:
            external.append(value)

    def _oidc(self, role: Entity, statement: Mapping[str, Any], issuer: str, extra_notes: list[str]) -> None:
        patterns, operator, notes = github_subject_patterns(statement, issuer)
        notes = notes + extra_notes
        wildcard_any = False
        for pattern in patterns:
            wildcard = oidc_wildcard(pattern)
            wildcard_any = wildcard_any or wildcard
            key = self.out.principal(Principal(
                "ci", pattern, Kind.WORKLOAD_PATTERN, display_name=f"OIDC subject {pattern}",
                attrs={"oidc_subjects": [pattern], "oidc_wildcard": wildcard, "issuer": issuer},
            ))
            label = f"trust policy of role {role.name}: {issuer}:sub {operator} {pattern}"
            if wildcard:
                label += " (any branch, pull request or environment)"
            self.out.edge(Edge(key, role.key, EdgeKind.CAN_ASSUME, label, condition="; ".join(notes)))
        principal = self.out.principals[role.key]
        subjects = sorted(set(principal.attrs.get("oidc_subjects", [])) | set(patterns))
        self.out.with_attrs(
            role.key, oidc_subjects=subjects,
            oidc_wildcard=bool(principal.attrs.get("oidc_wildcard")) or wildcard_any,
            oidc_provider=issuer,
        )


# ---------------------------------------------------------------- GitHub OIDC trust


def github_subject_patterns(statement: Mapping[str, Any], issuer: str) -> tuple[list[str], str, list[str]]:
    """The ``sub`` patterns a GitHub OIDC trust statement accepts, the operator, and notes.

    ``StringEquals``/``StringLike`` (and their ``ForAnyValue:`` forms) on ``ISSUER:sub``
    give the patterns (several values: any of them). A statement without a ``sub``
    condition accepts any repository anywhere (``*``). Negated conditions and conditions
    on other claims cannot be expressed as a pattern: they are kept as notes (the edge is
    shown, never hidden).
    """
    sub_key = f"{issuer}:sub".lower()
    aud_key = f"{issuer}:aud".lower()
    equals: list[list[str]] = []
    likes: list[list[str]] = []
    notes: list[str] = []
    for operator, block in (statement.get("Condition") or {}).items():
        base = operator.lower()
        for prefix in ("foranyvalue:", "forallvalues:"):
            base = base.removeprefix(prefix)
        base = base.removesuffix("ifexists")
        for key, raw in (block or {}).items():
            values = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
            if key.lower() == sub_key:
                if base in ("stringequals", "stringequalsignorecase"):
                    equals.append(values)
                elif base == "stringlike":
                    likes.append(values)
                else:
                    notes.append(f"{key} {operator} {short_list(values)} (not expressed in the subject pattern)")
            elif key.lower() == aud_key:
                continue  # any workflow can ask for any audience
            else:
                notes.append(f"{key} {operator} {short_list(values)} (not checked by foureyes)")
    if equals:
        candidates = [v for v in equals[0] if all(v in other for other in equals[1:])]
        literal = [v for v in candidates if "*" in v or "?" in v]
        if literal:
            # StringEquals compares literally: GitHub never issues a subject with * or ?.
            notes.append(f"StringEquals on {issuer}:sub with a literal {short_list(literal)} matches no token")
            candidates = [v for v in candidates if v not in literal]
        candidates = [v for v in candidates if all(any(string_like(v, p) for p in group) for group in likes)]
        return candidates, "StringEquals", notes
    if likes:
        if len(likes) == 1:
            return likes[0], "StringLike", notes
        # Several StringLike conditions must all hold: keep the patterns the others admit.
        kept = [p for p in likes[0] if all(any(string_like(p, q) or string_like(q, p) for q in group) for group in likes[1:])]
        return kept, "StringLike", notes
    return ["*"], "(no condition)", notes + [f"no {issuer}:sub condition: any repository of any owner"]


def string_like(text: str, pattern: str) -> bool:
    """StringLike matching: ``*`` and ``?`` may span ``/`` and ``:``."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def oidc_wildcard(pattern: str) -> bool:
    """Does a trusted subject admit any branch, pull request or environment of a repository?"""
    m = re.match(r"^repo:([^:]*)", pattern)
    repo = (m.group(1) if m else "*").replace("*", "x").replace("?", "x") or "x/x"
    probes = [f"repo:{repo}:ref:refs/heads/foureyes-any-branch", f"repo:{repo}:pull_request",
              f"repo:{repo}:environment:foureyes-any-environment"]
    return any(string_like(probe, pattern) for probe in probes)
