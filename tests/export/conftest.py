"""The demo campaign for export tests: Acme in November plus Zed, whose display name attacks
spreadsheets, Markdown and HTML, holding a production grant; decisions by several reviewers.

The store is built once per session and copied for each test (SQLite file copy: fast).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from foureyes import review
from foureyes.config import parse_config
from foureyes.connectors import demo
from foureyes.store import Store

# A formula, Rich markup, a newline, HTML, a table pipe and a backtick (an "@" would stop the
# identity linker from using it as the person's name); the reason adds a link, a script and a mention.
HOSTILE = '=HYPERLINK("http://x")\n[bold]Zed[/bold] <img src=x onerror=alert(1)> | `tick`'
HOSTILE_REASON = '=cmd|"/c calc"!A1 [link](http://evil.example) <script>alert(2)</script> @acme/everyone'
FALLBACK = "ciso@acme.com"
TODAY_DECIDE = "2026-11-20"

EXPORT_CONFIG_TOML = demo.DEMO_CONFIG_TOML + f"""
[campaigns]
fallback_reviewer = "{FALLBACK}"
exception_max_days = 180

[export]
due_days = 10
labels = ["access-review", "q4 2026"]
"""

WALTER_IN_WEB = ("github:walter-web", "github:team/acme/web")
ZED = "github:zed-hostile"
STOREFRONT_WEB = "github:repo:acme/storefront-web"


def hostile_acme(*, drop_edges=(), drop_zed_grant: bool = False):
    """November's Acme where Zed has the hostile name and direct write on a production repo."""
    github, *rest = demo.build("after")
    principals = tuple(replace(p, display_name=HOSTILE) if p.key == ZED else p for p in github.principals)
    template = next(g for g in github.grants if g.principal == "github:contractor-jq" and g.resource == STOREFRONT_WEB
                    and g.entitlement == "write")
    grants = github.grants if drop_zed_grant else github.grants + (replace(template, principal=ZED),)
    edges = tuple(e for e in github.edges if (e.src, e.dst) not in drop_edges)
    return [replace(github, principals=principals, grants=grants, edges=edges, grant_keys=())] + rest


def find(items, person, entitlement, resource):
    return next(i for i in items if i.person == person and i.entitlement == entitlement and i.resource == resource)


def _build(path: Path) -> None:
    config = parse_config(EXPORT_CONFIG_TOML, "<export test config>")
    with Store(f"sqlite:///{path}") as store:
        list(demo.load_into(store))
        store.write_snapshot(hostile_acme(), label="November, with Zed")
        spec = review.spec_from_config(config, name="Q4 production", today=date(2026, 11, 16))
        campaign = review.create_campaign(store, config, spec, actor="security@acme.com")
        items = review.items(store, campaign.id)
        walter = find(items, "walter.wong@acme.com", "write", STOREFRONT_WEB)
        zed = next(i for i in items if ZED in i.accounts and i.resource == STOREFRONT_WEB)
        contractor = find(items, "github:contractor-jq", "write", STOREFRONT_WEB)
        max_sso = next(i for i in items if i.person == "max.mueller@acme.com" and i.system == "aws")
        omar = find(items, "omar.osman@acme.com", "write", STOREFRONT_WEB)
        sam = next(i for i in items if i.person == "sam.sato@acme.com" and i.resource == "github:repo:acme/storefront-api"
                   and any(c.rule == "FE-SOD-004" for c in i.conflicts))
        for item, reason in ((walter, "moved to the mobile team"), (zed, HOSTILE_REASON),
                             (contractor, "contract ended in October")):
            review.decide(store, item.id, "revoke", actor=item.reviewer or FALLBACK, reason=reason)
        review.decide(store, max_sso.id, "revoke", actor=FALLBACK, reason="deploys through the pipeline now")
        review.decide(store, omar.id, "certify", actor=omar.reviewer)
        outcome = review.decide(store, sam.id, "exception", actor=FALLBACK, reason="on-call rota until March",
                                expires=date(2027, 3, 31))
        review.approve_exception(store, outcome.exception.id, actor="priscilla.payne@acme.com", note="rota agreed")


@pytest.fixture(scope="session")
def campaign_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export-db") / "campaign.db"
    _build(path)
    return path


@pytest.fixture
def export_config():
    return parse_config(EXPORT_CONFIG_TOML, "<export test config>")


@pytest.fixture
def store(campaign_db, tmp_path):
    """A fresh copy of the demo campaign's store: snapshots 1-3, campaign 1 on snapshot 3."""
    path = tmp_path / "campaign.db"
    shutil.copy(campaign_db, path)
    with Store(f"sqlite:///{path}") as opened:
        yield opened


@pytest.fixture
def later_snapshot(store):
    """Snapshot 4: Walter has left team web and Zed's grant is gone; the rest is unchanged."""
    def write():
        return store.write_snapshot(hostile_acme(drop_edges=(WALTER_IN_WEB,), drop_zed_grant=True),
                                    label="December").id
    return write
