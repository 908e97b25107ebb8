"""Worlds for the reliability suite, built once per session: a store whose latest snapshot lost a
source (and one with only gaps), and a hostile organisation whose names carry terminal escapes,
Markdown breakouts and mentions, with a campaign that revoked them.

Commands run in this process (tests/conftest.py's `run_cli`, the `cli` fixture); the few tests
about what only a real process shows (a closed pipe, a redirected terminal) start one.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli as run_in_process

from foureyes import dataset
from foureyes.model import CODE_APPROVE, CODE_PUSH, DEPLOY_RUN, Edge, Gap, Grant, Principal, Resource, SourceResult


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed again)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_store(template: Path, tmp_path: Path) -> str:
    path = tmp_path / template.name
    shutil.copyfile(template, path)
    path.chmod(0o600)
    return f"sqlite:///{path}"


# ---------------------------------------------------------------- a snapshot whose source failed


def small_org() -> list[SourceResult]:
    """Two people on one production repository, and a gap: small, so each command is quick."""
    repo = Resource("github", "repo", "acme/app", name="acme/app", tier="production", app="app")
    env = Resource("github", "environment", "acme/app/production", name="environment production of acme/app",
                   tier="production", app="app", parent=repo.key, attrs={"reviewers": 0})
    alice = Principal("github", "alice", "user", "Alice", "alice@acme.com", attrs={"email_source": "saml"})
    bob = Principal("github", "bob", "user", "Bob", "bob@acme.com", attrs={"email_source": "saml"})
    workload = Principal("ci", "repo:acme/app:environment:production", "workload", "production of acme/app",
                         attrs={"repo": "acme/app"})
    grants = (Grant("github", alice.key, "write", repo.key, (CODE_PUSH, CODE_APPROVE)),
              Grant("github", bob.key, "write", repo.key, (CODE_PUSH, CODE_APPROVE)),
              Grant("ci", workload.key, "deploy", env.key, (DEPLOY_RUN,), via="ci"))
    edges = (Edge(bob.key, workload.key, "can-trigger", "no reviewer on environment production"),)
    gap = Gap("github", "github:repo:acme/legacy", "403 on GET /repos/acme/legacy/rulesets", "ruleset bypass actors")
    return [SourceResult("dataset", "github", (alice, bob, workload), (repo, env), grants, edges, (gap,))]


SMALL_CONFIG = """
[tiers.production]
github_repos = ["acme/app"]
github_environments = ["production"]

[[apps]]
name = "app"
repos = ["acme/app"]

[identity]
email_domains = ["acme.com"]

[campaigns]
fallback_reviewer = "ciso@acme.com"
"""


@pytest.fixture(scope="session")
def failed_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Snapshot 1: a small organisation from a dataset (complete but for one gap). Snapshot 2: the
    same, with a GitHub source that could not be reached (a closed port): the failure users met.
    Campaign 1 freezes snapshot 2."""
    folder = tmp_path_factory.mktemp("failed-world")
    data = folder / "small.jsonl"
    dataset.dump(small_org(), data)
    store = folder / "failed.db"
    demo_only = folder / "dataset-only.toml"
    demo_only.write_text(SMALL_CONFIG + f'\n[sources.demo]\ndataset = "{data}"\n')
    config = folder / "foureyes.toml"
    config.write_text(SMALL_CONFIG + f'\n[sources.demo]\ndataset = "{data}"\n\n[sources.github]\norg = "acme"\n'
                      f'base_url = "http://127.0.0.1:{closed_port()}"\nmax_retries = 0\ntimeout = 2\n')
    env = {"FOUREYES_STORE_URL": f"sqlite:///{store}", "GITHUB_TOKEN": "ghp_reliability_not_a_real_token_0"}
    first = run_in_process("-c", str(demo_only), "snapshot", env=env)
    assert first.returncode == 3, first.stderr  # the dataset's own gap
    second = run_in_process("-c", str(config), "snapshot", "--activity", env=env)  # `changes` reads it too
    assert second.returncode == 3 and "foureyes: source github failed: " in second.stderr, second.stderr
    created = run_in_process("-c", str(config), "campaign", "new", "--as", "ciso@acme.com", env=env)
    assert created.returncode == 0, created.stderr
    return {"store": store, "config": config, "demo_only": demo_only, "snapshot_stderr": second.stderr}


# ---------------------------------------------------------------- a hostile organisation

ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[1;31mFAKE: audit log intact"
BREAKOUT = "code.push` ![x](http://evil.example/i.png) @acme/everyone `"
SYSTEM = "git`@acme/everyone![y](http://evil.example/s.png)`"


def hostile_org() -> list[SourceResult]:
    """A repository named with terminal escapes, a gap holding them, a capability and a system that
    try to close their Markdown code span, all on production grants of two people."""
    repo = Resource("github", "repo", "acme/app", name=f"acme/app {ESCAPES}", tier="production", app="app")
    odd = Resource(SYSTEM, "repo", "acme/odd", name="acme/odd", tier="production", app="app")
    alice = Principal("github", "alice", "user", "Alice", "alice@acme.com", attrs={"email_source": "saml"})
    bob = Principal("github", "bob", "user", "Bob", "bob@acme.com", attrs={"email_source": "saml"})
    oddity = Principal(SYSTEM, "bob", "user", "Bob", "bob@acme.com", attrs={"email_source": "saml"})
    grants = (Grant("github", alice.key, "write", repo.key, (CODE_PUSH, CODE_APPROVE)),
              Grant("github", bob.key, "admin", repo.key, (BREAKOUT, DEPLOY_RUN)),
              Grant(SYSTEM, oddity.key, "write", odd.key, (CODE_PUSH,)))
    gap = Gap("github", f"github:repo:acme/app{ESCAPES}", f"403 on the rulesets: {ESCAPES}", hides=ESCAPES)
    return [SourceResult("github", "github", (alice, bob), (repo,), grants[:2], (), (gap,)),
            SourceResult("odd", SYSTEM, (oddity,), (odd,), grants[2:], ())]


@pytest.fixture(scope="session")
def hostile_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hostile organisation as a dataset, snapshotted, in campaign 1 with every item but one
    of Alice's revoked by the CISO."""
    folder = tmp_path_factory.mktemp("hostile-world")
    data = folder / "hostile.jsonl"
    dataset.dump(hostile_org(), data)
    config = folder / "foureyes.toml"
    config.write_text(f'[sources.demo]\ndataset = "{data}"\n\n[tiers.production]\ngithub_repos = ["acme/*"]\n\n'
                      '[identity]\nemail_domains = ["acme.com"]\n\n[campaigns]\nfallback_reviewer = "ciso@acme.com"\n')
    store = folder / "hostile.db"
    env = {"FOUREYES_STORE_URL": f"sqlite:///{store}"}
    snap = run_in_process("-c", str(config), "snapshot", env=env)
    assert snap.returncode == 3, snap.stderr  # the gap
    assert run_in_process("-c", str(config), "campaign", "new", "--scope", "all", "--as", "ciso@acme.com",
                          env=env).returncode == 0
    import json

    items = json.loads(run_in_process("-c", str(config), "campaign", "show", "1", "--items", "--format", "json",
                                      env=env).stdout)["items"]
    revoked = [i["id"] for i in items if i["person"] != "alice@acme.com"]
    decided = run_in_process("-c", str(config), "decide", *map(str, revoked), "revoke", "--reason", "hostile",
                             "--as", "ciso@acme.com", "--yes", env=env)
    assert decided.returncode == 0, decided.stderr
    alice_item = next(i["id"] for i in items if i["person"] == "alice@acme.com")
    return {"store": store, "config": config, "dataset": data, "items": items, "alice_item": alice_item}
