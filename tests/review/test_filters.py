"""One filter language for review items: `decide --where`, `campaign show --where` and the TUI's
filter box choose the same items from the same text (docs/review.md)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from foureyes import review
from foureyes.cli import main
from foureyes.connectors import demo
from foureyes.errors import InputError
from foureyes.store import Store
from foureyes.tui.review_state import QueueFilter, item_row

from .conftest import TODAY


@pytest.fixture
def items_and_cli(tmp_path, review_config, review_config_file, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(url) as store:
        list(demo.load_into(store))
        spec = review.spec_from_config(review_config, name="Q4", today=TODAY)
        campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
        items = review.items(store, campaign.id)
    monkeypatch.setenv("FOUREYES_STORE_URL", url)

    def cli_ids(*terms: str) -> list[int]:
        args = ["-c", str(review_config_file), "campaign", "show", str(campaign.id), "--format", "json"]
        for term in terms:
            args += ["--where", term]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return [i["id"] for i in json.loads(result.stdout)["items"]]

    return items, cli_ids


def _tui_ids(items, text: str) -> list[int]:
    row_filter = QueueFilter.parse(text, lambda item_id: False)
    return [row.data.id for row in (item_row(i, {}) for i in items) if row_filter(row)]


@pytest.mark.parametrize("terms", [
    ("person:walter",),  # contains
    ("person=walter.wong@acme.com", "entitlement=write"),  # is
    ("person=pedro*", "state:pending"),  # a glob, either operator
    ("app=payments", "conflict=no"),  # the CLI's older form, unchanged
    ("resource:storefront-web", "-entitlement:write"),  # negated
    ("new:yes",), ("conflict:yes", "rule:FE-SOD-001"), ("team:web",), ("system=aws", "tier:production"),
    ("storefront",),  # a word looks in every field
])
def test_the_cli_and_the_tui_choose_the_same_items(items_and_cli, terms):
    items, cli_ids = items_and_cli
    from_cli = cli_ids(*terms)
    assert from_cli, f"{terms} chose nothing: the test would prove nothing"
    assert len(from_cli) < len(items), f"{terms} chose everything"
    assert _tui_ids(items, " ".join(f'"{t}"' if " " in t else t for t in terms)) == from_cli


def test_contains_and_is_and_globs(items_and_cli):
    items, _ = items_and_cli
    walter = [i for i in items if i.person == "walter.wong@acme.com"]
    chosen = review.ItemFilter.parse(["person:WALTER"])
    assert [i for i in items if chosen.matches(i)] == walter  # contains, any case
    assert not [i for i in items if review.ItemFilter.parse(["person=walter"]).matches(i)]  # is: the whole value
    assert [i for i in items if review.ItemFilter.parse(["person=walter*"]).matches(i)] == walter
    assert [i for i in items if review.ItemFilter.parse("person:walter -entitlement=write").matches(i)] == \
        [i for i in walter if i.entitlement != "write"]


def test_strict_for_scripts_lenient_while_typing():
    with pytest.raises(InputError, match="expected KEY=VALUE or KEY:VALUE"):
        review.ItemFilter.parse(["colour:red"])
    with pytest.raises(InputError, match="new takes yes or no"):
        review.ItemFilter.parse(["new:maybe"])
    # in the filter box the same text is looked for as words, never an error
    assert review.ItemFilter.parse("colour:red new:ma", strict=False).terms == (("", "colour:red"), ("", "new:ma"))
    # one --where is one term, spaces and all; the box splits on spaces unless quoted
    assert review.ItemFilter.parse(["name=Walter Wong"]).terms == (("name", "Walter Wong"),)
    assert review.ItemFilter.parse('name="Walter Wong" app:web').terms == (("name", "Walter Wong"), ("app", "web"))


def test_an_exception_awaiting_its_second_approver_reads_awaiting_in_both(items_and_cli, tmp_path):
    items, cli_ids = items_and_cli
    sam = next(i for i in items if i.person == "sam.sato@acme.com" and i.conflicts)
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        outcome = review.decide(store, sam.id, "exception", actor="ciso@acme.com", reason="rota",
                                expires=TODAY + timedelta(days=30), today=TODAY)
    assert outcome.exception.status == "pending"
    assert cli_ids("state:awaiting") == [sam.id]
    row = item_row(outcome.item, {sam.id: outcome.exception})
    assert QueueFilter.parse("state:awaiting", lambda item_id: item_id == sam.id)(row)
