"""AWS permissions → foureyes capabilities: the catalogue loader and the per-principal decision.
Which principal holds deploy.run or access.admin in its account, which policies give it, and why.

The catalogue (`foureyes/rules/catalogues/aws_deploy.toml`) lists the ways to hold each
capability; this module asks the policy evaluator whether a principal's policies allow
every requirement of a way on some resource of its account, and attributes the result
to the policies whose Allow statements made it possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ...model import ACCESS_ADMIN, DEPLOY_RUN
from ...schema import Bool, Checked, Choice, Field, ListOf, MapOf, Schema, Str, Table, close_match
from .policy import Decision, Policy, PolicySet, RequestContext, allow_resource_patterns, arn_witness

CATALOGUE_FORMAT = "foureyes-aws-catalogue/1"
ESCALATE = "escalate"  # an [[escalate]] way: a hop to another principal, not a capability
_SECTIONS = {"deploy": DEPLOY_RUN, "admin": ACCESS_ADMIN}
_KINDS = ("user", "group", "role")
_CALLERS = ("user", "role")
_NEEDS = ("instance_profile",)
TEMPLATES = ("partition", "account", "self", "own_group", "attached_policy", "admin_role", "admin_user",
             "admin_group", "deploy_bucket")
ESCALATE_TEMPLATES = TEMPLATES + ("target",)  # {target}: the principal an [[escalate]] way reaches


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Requirement:
    """One action the holder must be allowed, on some resource matching ``resource``."""

    action: str
    resource: str  # a template: "arn:{partition}:ecs:*:{account}:service/*", "{self}"
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Way:
    """One way to hold a capability: every requirement together."""

    id: str
    capability: str
    title: str
    all_of: tuple[Requirement, ...]
    target: str = ""
    applies_to: tuple[str, ...] = _KINDS
    # [[escalate]] only: the kind of principal reached, the services a role must trust,
    # what the role must already have, and whether the escalator must then assume it.
    to: str = ""
    services: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    then_assume: bool = False

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.action for r in self.all_of))


@dataclass(frozen=True)
class Catalogue:
    ways: tuple[Way, ...]
    path: str = ""

    def for_capability(self, capability: str) -> tuple[Way, ...]:
        return tuple(w for w in self.ways if w.capability == capability)


def default_catalogue_path() -> Any:
    return importlib_resources.files("foureyes.rules").joinpath("catalogues/aws_deploy.toml")


def _known_templates(resource: str, known: tuple[str, ...] = TEMPLATES) -> str | None:
    for name in _template_names(resource):
        if name not in known:
            hint = close_match(name, known)
            return (f"unknown template {{{name}}}" + (f" (did you mean {{{hint}}}?)" if hint else "")
                    + f"; known: {', '.join(known)}")
    return None


def _all_of(known: tuple[str, ...]) -> Field:
    return Field(ListOf(Table({
        "action": Field(Str(pattern=r"[A-Za-z0-9-]+:[A-Za-z0-9]+",
                            expected="one concrete action like ecs:UpdateService"), required=True),
        "resource": Field(Str(nonempty=True, expected="an ARN template",
                              check=lambda resource: _known_templates(resource, known)), required=True),
        "context": Field(MapOf(Str())),
    }), nonempty=True), required=True)


_WAY = Table({
    "id": Field(Str(nonempty=True), required=True),
    "target": Field(Str(), default=""),
    "title": Field(Str(), default=""),
    "all_of": _all_of(TEMPLATES),
    "applies_to": Field(ListOf(Choice(_KINDS, noun="principal kind"), nonempty=True), default=list(_KINDS)),
})
_ESCALATE_WAY = Table({
    "id": Field(Str(nonempty=True), required=True),
    "to": Field(Choice(_KINDS, noun="principal kind"), required=True),
    "title": Field(Str(), default=""),
    "all_of": _all_of(ESCALATE_TEMPLATES),
    "applies_to": Field(ListOf(Choice(_CALLERS, noun="caller kind"), nonempty=True), default=list(_CALLERS)),
    "services": Field(ListOf(Str(nonempty=True, expected="a service principal like lambda.amazonaws.com"))),
    "needs": Field(ListOf(Choice(_NEEDS))),
    "then_assume": Field(Bool(), default=False),
})
CATALOGUE = Schema(Table({
    "format": Field(Choice((CATALOGUE_FORMAT,)), required=True),
    **{section: Field(ListOf(_WAY)) for section in _SECTIONS},
    ESCALATE: Field(ListOf(_ESCALATE_WAY)),
}), missing="AWS catalogue not found")


@lru_cache(maxsize=4)
def load_catalogue(path: str | None = None) -> Catalogue:
    """Read and check the catalogue; a mistake is one InputError naming the file, the line and the key."""
    source = Path(path) if path else default_catalogue_path()
    return _catalogue(CATALOGUE.load(source, str(source)))


def parse_catalogue(raw: Mapping[str, Any], shown: str = "<catalogue>", text: str = "") -> Catalogue:
    """Check an already parsed catalogue (with its ``text``, messages give lines)."""
    return _catalogue(CATALOGUE.check(raw, shown, text))


def _catalogue(checked: Checked) -> Catalogue:
    ways: list[Way] = []
    seen: dict[str, tuple[str, int]] = {}
    for section, capability in _SECTIONS.items():
        for index, entry in enumerate(checked.value[section]):
            if entry["id"] in seen:
                first = "{}[{}]".format(*seen[entry["id"]])
                checked.fail((section, index, "id"), f"{entry['id']!r} used twice (first in {first})")
            seen[entry["id"]] = (section, index)
            requirements = tuple(Requirement(r["action"], r["resource"], dict(r["context"])) for r in entry["all_of"])
            ways.append(Way(entry["id"], capability, entry["title"], requirements, target=entry["target"],
                            applies_to=tuple(entry["applies_to"])))
    for index, entry in enumerate(checked.value[ESCALATE]):
        if entry["id"] in seen:
            first = "{}[{}]".format(*seen[entry["id"]])
            checked.fail((ESCALATE, index, "id"), f"{entry['id']!r} used twice (first in {first})")
        seen[entry["id"]] = (ESCALATE, index)
        requirements = tuple(Requirement(r["action"], r["resource"], dict(r["context"])) for r in entry["all_of"])
        if not any("{target}" in r.resource for r in requirements):
            checked.fail((ESCALATE, index, "all_of"), "an [[escalate]] way needs a requirement on {target}")
        for key in ("services", "needs", "then_assume"):
            if entry[key] and entry["to"] != "role":
                checked.fail((ESCALATE, index, key), f"{key} is for ways to a role")
        ways.append(Way(entry["id"], ESCALATE, entry["title"], requirements, applies_to=tuple(entry["applies_to"]),
                        to=entry["to"], services=tuple(entry["services"]), needs=tuple(entry["needs"]),
                        then_assume=entry["then_assume"]))
    return Catalogue(tuple(ways), checked.path)


def _template_names(text: str) -> list[str]:
    names = []
    i = text.find("{")
    while i >= 0:
        j = text.find("}", i)
        if j < 0:
            break
        names.append(text[i + 1:j])
        i = text.find("{", j)
    return names


# ---------------------------------------------------------------- holders


@dataclass(frozen=True)
class Holder:
    """One IAM user, group or role with everything its permissions depend on."""

    arn: str
    kind: str  # user | group | role
    account: str
    policies: tuple[Policy, ...]  # identity policies: own, and for a user its groups'
    boundary: Policy | None = None
    scps: tuple[tuple[Policy, ...], ...] = ()  # root → OU → account; () when SCPs do not apply
    context: RequestContext = field(default_factory=RequestContext)
    partition: str = "aws"
    groups: tuple[str, ...] = ()  # group ARNs (users)
    attached_policies: tuple[str, ...] = ()  # customer-managed policy ARNs attached to it or its groups

    @cached_property
    def policy_set(self) -> PolicySet:
        """Its policies, boundary and SCPs compiled once: every decision about it goes through this."""
        return PolicySet(self.policies, self.boundary, self.scps)


@dataclass(frozen=True)
class Reach:
    """A capability a holder has, the ways and actions behind it, and the policies that give it."""

    capability: str
    ways: tuple[str, ...]
    actions: tuple[str, ...]
    policies: tuple[Policy, ...]  # every identity policy with an Allow that the ways needed
    actions_by_policy: Mapping[int, tuple[str, ...]]  # id(policy) -> the actions it allowed
    uncertain: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()  # the resources the decisions were made on (evidence)

    def actions_of(self, policy: Policy) -> tuple[str, ...]:
        return self.actions_by_policy.get(id(policy), ())


@dataclass(frozen=True)
class AccountAdmins:
    """Admin-equivalent principals of one account, for the ways that reach admin through them."""

    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


class CapabilityDecider:
    """Decides, for one holder at a time, which capabilities the catalogue grants it."""

    def __init__(self, catalogue: Catalogue | None = None, *, deploy_buckets: Sequence[str] = ()):
        self.catalogue = catalogue or load_catalogue()
        self.deploy_buckets = tuple(deploy_buckets)

    def reach(self, holder: Holder, admins: AccountAdmins = AccountAdmins(),
              capabilities: Iterable[str] = (DEPLOY_RUN, ACCESS_ADMIN)) -> dict[str, Reach]:
        found: dict[str, Reach] = {}
        for capability in capabilities:
            met: list[tuple[Way, list[tuple[Requirement, str, Decision]]]] = []
            for way in self.catalogue.for_capability(capability):
                if holder.kind not in way.applies_to:
                    continue
                outcome = self._way(way, holder, admins)
                if outcome is not None:
                    met.append((way, outcome))
            if met:
                found[capability] = _combine(capability, met)
        return found

    def _way(self, way: Way, holder: Holder, admins: AccountAdmins) -> list[tuple[Requirement, str, Decision]] | None:
        done = []
        for requirement in way.all_of:
            result = self._requirement(requirement, holder, admins)
            if result is None:
                return None
            done.append((requirement, *result))
        return done

    def requirement(self, requirement: Requirement, holder: Holder, admins: AccountAdmins = AccountAdmins(),
                    extra: Mapping[str, list[str]] | None = None) -> tuple[str, Decision] | None:
        """Is ``requirement`` allowed to the holder on some matching resource? (resource, decision)."""
        return self._requirement(requirement, holder, admins, extra)

    def _requirement(self, requirement: Requirement, holder: Holder, admins: AccountAdmins,
                     extra: Mapping[str, list[str]] | None = None) -> tuple[str, Decision] | None:
        values = {
            "partition": [holder.partition], "account": [holder.account], "self": [holder.arn],
            "own_group": list(holder.groups), "attached_policy": list(holder.attached_policies),
            "admin_role": [a for a in admins.roles if a != holder.arn],
            "admin_user": [a for a in admins.users if a != holder.arn],
            "admin_group": [a for a in admins.groups if a not in holder.groups and a != holder.arn],
            "deploy_bucket": list(self.deploy_buckets),
            **(extra or {}),
        }
        known = {k: _fill(v, values) for k, v in requirement.context.items()}
        context = holder.context.with_values({k: v[0] for k, v in known.items() if v})
        templates = _fill(requirement.resource, values)
        if not templates:
            return None
        identity = allow_resource_patterns(holder.policies, requirement.action, context)
        if not identity:
            return None  # nothing allows the action at all: no need to look for a resource
        bounds = allow_resource_patterns([holder.boundary], requirement.action, context) if holder.boundary else ["*"]
        best: tuple[str, Decision] | None = None
        for template in templates:
            for candidate in _candidates(template, identity, bounds):
                decision = holder.policy_set.evaluate(requirement.action, candidate, context=context)
                if not decision.allowed:
                    continue
                if not decision.uncertain:
                    return candidate, decision
                if best is None or len(decision.uncertain) < len(best[1].uncertain):
                    best = (candidate, decision)
        return best


def _fill(template: str, values: Mapping[str, list[str]]) -> list[str]:
    """Every expansion of a template's {names}; empty when a name has no value."""
    out = [template]
    for name in _template_names(template):
        options = values.get(name, [])
        out = [t.replace("{" + name + "}", option, 1) for t in out for option in options]
    return list(dict.fromkeys(out))


@lru_cache(maxsize=65536)
def _witness(template: str, identity: str, bound: str) -> str | None:
    return arn_witness(template, identity, bound)


def _candidates(template: str, identity: Sequence[str], bounds: Sequence[str]) -> list[str]:
    """Concrete resources to try: one inside the template and each pair of Allow patterns."""
    if template == "*":
        return ["*"]  # actions that take no resource are requested on "*"
    found: list[str] = []
    for pattern in identity:
        for bound in bounds:
            witness = _witness(template, pattern, bound)
            if witness is not None and witness not in found:
                found.append(witness)
    return found


def _combine(capability: str, met: list[tuple[Way, list[tuple[Requirement, str, Decision]]]]) -> Reach:
    policies: dict[int, Policy] = {}
    actions_by_policy: dict[int, list[str]] = {}
    actions: list[str] = []
    uncertain: list[str] = []
    resources: list[str] = []
    for way, outcome in met:
        for requirement, resource, decision in outcome:
            actions.append(requirement.action)
            resources.append(resource)
            uncertain.extend(decision.uncertain)
            for stmt in decision.allows:
                policies.setdefault(id(stmt.policy), stmt.policy)
                actions_by_policy.setdefault(id(stmt.policy), []).append(requirement.action)
    return Reach(
        capability=capability,
        ways=tuple(w.id for w, _ in met),
        actions=tuple(dict.fromkeys(actions)),
        policies=tuple(policies.values()),
        actions_by_policy={k: tuple(dict.fromkeys(v)) for k, v in actions_by_policy.items()},
        uncertain=tuple(dict.fromkeys(uncertain)),
        resources=tuple(dict.fromkeys(resources)),
    )
