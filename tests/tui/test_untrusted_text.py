"""Text from audited systems is shown literally on every screen: markup, ANSI escapes and
bidi overrides in names, labels and reasons are never interpreted."""

from __future__ import annotations

import asyncio

import pytest

from foureyes.config import parse_config
from foureyes.model import (
    CODE_PUSH,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
)
from foureyes.store import Store
from foureyes.tui import make_app

from .conftest import SIZE, press, screen_text, settle, type_text

MARKUP = "[red]x[/] [link=http://evil]click[/link]"
ANSI = "\x1b[31mred\x1b[0m"
BIDI = "\u202eevil\u202c"
STAMP = "2026-11-02T08:00:00+00:00"


@pytest.fixture
def hostile_url(tmp_path) -> str:
    repo = Resource("github", "repo", "acme/[b]repo[/b]", tier="production", app="shop",
                    attrs={"protected": True, "enforce_admins": True})
    account = Resource("aws", "account", "111111111111", f"prod {ANSI}", tier="production", app="shop")
    github = SourceResult(
        "github", "github",
        principals=(
            Principal("github", "mallory", Kind.USER, MARKUP, "mallory@acme.com", attrs={"email_source": "saml"}),
            Principal("github", "team/acme/[i]ops[/i]", Kind.TEAM, "team [i]ops[/i]"),
        ),
        resources=(repo,),
        grants=(Grant("github", "github:team/acme/[i]ops[/i]", "write", repo.key, (CODE_PUSH,), "team",
                      f"team {BIDI}"),),
        edges=(Edge("github:mallory", "github:team/acme/[i]ops[/i]", EdgeKind.MEMBER_OF, f"member {MARKUP}"),),
        gaps=(Gap("github", repo.key, f"403 {ANSI} on rulesets", f"bypass actors {BIDI}"),),
        started_at=STAMP, finished_at=STAMP)
    aws = SourceResult(
        "aws", "aws",
        principals=(Principal("aws", "arn:aws:iam::111111111111:user/mallory", Kind.USER, ANSI, "mallory@acme.com",
                              attrs={"email_source": "tag"}),),
        resources=(account,),
        grants=(Grant("aws", "aws:arn:aws:iam::111111111111:user/mallory", "Deployer", account.key, (DEPLOY_RUN,),
                      "policy", f"inline policy {MARKUP}", attrs={"actions": [f"ecs:{ANSI}"]}),),
        started_at=STAMP, finished_at=STAMP)
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    with Store(url) as store:
        store.write_snapshot([github, aws], taken_at=STAMP, label=f"[blink]label[/] {ANSI}")
    return url


def _literal(text: str) -> None:
    assert "\x1b" not in text and "\u202e" not in text, "a control character reached the terminal"


def test_hostile_text_is_literal_on_every_screen(hostile_url):
    config = parse_config('[identity]\nemail_domains = ["acme.com"]\n', "<test>")

    async def main() -> None:
        app = make_app(store_url=hostile_url, config=config)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            text = screen_text(app)
            _literal(text)
            assert "[blink]label[/] \\x1b[31mred\\x1b[0m" in text  # the snapshot label, overview and top bar

            await press(app, pilot, "2")
            text = screen_text(app)
            _literal(text)
            assert "FE-SOD-001" in text and "[red]x[/] [link=http://evil]click[/link]" in text
            assert "acme/[b]repo[/b]" in text

            await press(app, pilot, "enter", "down")  # the path of deploy.run
            text = screen_text(app)
            _literal(text)
            assert "inline policy [red]x[/]" in text and "ecs:\\x1b[31mred" in text
            await press(app, pilot, "up")
            text = screen_text(app)
            assert "team [i]ops[/i]" in text and "member [red]x[/]" in text and "team \\u202eevil\\u202c" in text

            await press(app, pilot, "p", "a")  # the person, accounts tab
            text = screen_text(app)
            _literal(text)
            assert "\\x1b[31mred\\x1b[0m (aws:arn:aws:iam::111111111111:user/mallor" in text

            await press(app, pilot, "5")
            text = screen_text(app)
            _literal(text)
            assert "403 \\x1b[31mred\\x1b[0m on rulesets" in text and "bypass actors \\u202eevil\\u202c" in text

            await press(app, pilot, "slash")
            await type_text(app, pilot, "red")
            text = screen_text(app)
            _literal(text)
            assert "[red]x[/]" in text

            await press(app, pilot, "escape", "4")
            text = screen_text(app)
            _literal(text)
            assert "[red]x[/] [link=http://evil]click[/link]" in text

    asyncio.run(main())
