"""Fake services on loopback for connector tests, and helpers to read their results.

`github_server.FakeGitHub` serves a declarative organisation over real HTTP; the helpers
below build a config pointing at it and follow a SourceResult's edges person by person.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from foureyes.config import Config, parse_config
from foureyes.model import EdgeKind, Grant, SourceResult

TIERS = """
[tiers.production]
github_environments = ["production"]
github_repos = ["acme/payments-api", "acme/storefront", "acme/webhooks", "acme/ledger"]

[[apps]]
name = "payments"
repos = ["acme/payments-api", "acme/ledger"]

[[apps]]
name = "web"
repos = ["acme/storefront", "acme/webhooks"]

[identity]
email_domains = ["acme.com"]
"""


def github_config(url: str, *, org: str = "acme", extra: str = "", tiers: str = TIERS) -> Config:
    """A config whose [sources.github] talks to the fake at ``url`` (tiny retry waits)."""
    return parse_config(config_toml(url, org=org, extra=extra, tiers=tiers), "<test config>")


def config_toml(url: str, *, org: str = "acme", extra: str = "", tiers: str = TIERS) -> str:
    return f"""{tiers}
[sources.github]
org = "{org}"
base_url = "{url}"
concurrency = 8
backoff_factor = 0.01
secondary_rate_wait = 0.5
max_rate_limit_wait = 5.0
timeout = 5.0
{extra}
"""


def reach(result: SourceResult, start: str, kinds: tuple[str, ...] = (EdgeKind.MEMBER_OF, EdgeKind.CAN_TRIGGER)
          ) -> dict[str, list[str]]:
    """Principal key -> the shortest chain of edge labels from ``start`` (following ``kinds``)."""
    out: dict[str, list[str]] = {start: []}
    todo = deque([start])
    edges: dict[str, list[Any]] = {}
    for e in result.edges:
        if e.kind in kinds:
            edges.setdefault(e.src, []).append(e)
    while todo:
        node = todo.popleft()
        for e in edges.get(node, []):
            if e.dst not in out:
                out[e.dst] = out[node] + [e.label]
                todo.append(e.dst)
    return out


def holdings(result: SourceResult, login: str, capability: str) -> dict[str, list[Grant]]:
    """Resource key -> the grants through which ``login`` holds ``capability`` (person-level)."""
    reached = reach(result, f"github:{login}")
    out: dict[str, list[Grant]] = {}
    for g in result.grants:
        if g.principal in reached and capability in g.capabilities:
            out.setdefault(g.resource, []).append(g)
    return out


def unlatent(grants: list[Grant]) -> list[Grant]:
    return [g for g in grants if not g.attrs.get("latent", False)]
