"""The review queue and campaign creation, driven by keys on the Acme demo (Pilot)."""

from __future__ import annotations

import asyncio
import re

from foureyes import review
from foureyes.store import audit
from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.connectors import demo
from foureyes.store import Store
from foureyes.tui import make_app

from .conftest import SIZE, press, screen_text, settle, type_text

PRISCILLA, CISO = "priscilla.payne@acme.com", "ciso@acme.com"
CONFIG = parse_config(demo.DEMO_CONFIG_TOML + f'\n[campaigns]\nfallback_reviewer = "{CISO}"\n', "<review tui>")


def run(url: str, scenario, **kwargs) -> None:
    async def main() -> None:
        app = make_app(store_url=url, config=CONFIG, **kwargs)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def _items(url: str) -> dict[int, review.Item]:
    with Store(url) as store:
        campaign = review.list_campaigns(store)[-1]
        return {i.id: i for i in review.items(store, campaign.id)}


def test_a_full_campaign_on_the_demo_organisation(demo_url, monkeypatch):
    monkeypatch.delenv("FOUREYES_REVIEWER", raising=False)

    async def scenario(app, pilot):
        assert type(app.screen).__name__ == "ReviewScreen"
        assert "None is open. Press ctrl+n to create one" in screen_text(app)

        # create the campaign on the creation screen
        await press(app, pilot, "ctrl+n")
        assert "New recertification campaign" in screen_text(app)
        app.screen.query_one("#campaign-name").value = "Q4 production review"
        await press(app, pilot, "ctrl+s")
        text = screen_text(app)
        assert "Campaign 1 Q4 production review · snapshot 2" in text
        assert "reviewing as priscilla.payne@acme.com" in text
        assert "34 items in your queue · 34 pending" in text
        assert "0/111 done" in text
        # the detail pane: grant, path, usage, conflicts, others, history
        assert "Grant         policy AdministratorAccess on acme-prod (111111111111)" in text
        assert "→ role ops-breakglass in acme-prod" in text
        # ops-breakglass is the demo's declared emergency path, used in October (RoleLastUsed says so)
        assert "declared emergency path prod-breakglass)" in text
        assert "Last used     last used 2026-10-21 (RoleLastUsed)" in text
        # two rows down, Max's ProdDeployer: unused for months, so the queue suggests revoking it
        await press(app, pilot, "down")
        await press(app, pilot, "down")
        assert "Suggestion    revoke: unused for 133 days" in screen_text(app)
        await press(app, pilot, "up")
        await press(app, pilot, "up")
        assert "Others        0 other people hold the same grant" in text
        assert "Previous      not in an earlier campaign" in text

        # certify the first item, revoke the next (the cursor moves on by itself)
        first, second = [r.data for r in app.screen.table.visible_rows[:2]]
        await press(app, pilot, "c")
        await press(app, pilot, "v")
        items = _items(app.store_url)
        assert (items[first.id].state, items[first.id].decided_by) == ("certify", PRISCILLA)
        assert (items[second.id].state, items[second.id].decided_by) == ("revoke", PRISCILLA)
        assert "2/111 done · 1 certified, 1 revoked" in screen_text(app)

        # bulk-certify by filter, with confirmation
        await press(app, pilot, "f")
        await type_text(app, pilot, "conflict:no state:pending")
        await press(app, pilot, "enter")
        shown = [r.data.id for r in app.screen.table.visible_rows]
        assert len(shown) >= 10 and all(not items[i].conflicts for i in shown)
        await press(app, pilot, "space")  # one mark: its row redrawn (only it), the cursor on to the next
        table = app.screen.table
        assert [r.cells[0] for r in table.visible_rows[:3]] == ["●", " ", " "] and table.cursor == 1
        assert "1 selected" in screen_text(app)
        await press(app, pilot, "asterisk")
        assert f"{len(shown)} selected" in screen_text(app)
        await press(app, pilot, "c")
        assert f"Certify {len(shown)} items" in screen_text(app)
        await press(app, pilot, "y")
        items = _items(app.store_url)
        assert all(items[i].state == "certify" for i in shown)
        bulk = {d.bulk for d in _decisions(app.store_url) if d.item_id in shown}
        assert len(bulk) == 1 and None not in bulk

        # an exception on a conflicting grant of Max: it waits for a second approver
        app.screen.set_filter_text("person:max conflict:yes")
        await settle(app, pilot)
        max_item = app.screen.table.current.data
        assert max_item.person == "max.mueller@acme.com" and max_item.conflicts
        await press(app, pilot, "e")
        assert "Request an exception" in screen_text(app)
        await type_text(app, pilot, "payments on-call until the deploy bot ships")
        await press(app, pilot, "enter", "enter")
        assert re.search(r"Max Mueller +policy ProdDeployer .* exception \(awaiting\)", screen_text(app))
        with Store(app.store_url) as store:
            [request] = review.exceptions(store)
            assert (request.status, request.requested_by, request.item_id) == ("pending", PRISCILLA, max_item.id)
            assert not _max_finding_covered(store)
        # the requester cannot approve it: it is not in her approvals list
        await press(app, pilot, "w")
        assert "0 items in this list" in screen_text(app)

        # the second approver, in the same app
        await press(app, pilot, "i")
        await press(app, pilot, *["backspace"] * 40)
        await type_text(app, pilot, CISO)
        await press(app, pilot, "enter")
        text = screen_text(app)
        assert "reviewing as ciso@acme.com" in text and "exceptions awaiting your approval" in text
        assert "1 item in this list" in text
        await press(app, pilot, "y")
        with Store(app.store_url) as store:
            [request] = review.exceptions(store)
            assert (request.status, request.approver) == ("approved", CISO)
            assert _max_finding_covered(store)

        # the Overview shows the open campaign
        await press(app, pilot, "1")
        text = screen_text(app)
        assert re.search(r"#1 Q4 production review · snapshot 2 · due \d{4}-\d\d-\d\d", text)
        assert "awaiting approval" not in text and "revocations: 1 pending, 0 verified, 0 regressed" in text

        # close the campaign: the rest is unresolved, so it needs a reason and follows the policy
        await press(app, pilot, "6", "ctrl+x")
        assert "items are still unresolved" in screen_text(app)
        await press(app, pilot, "enter")
        assert "Closing with unresolved items needs a reason" in screen_text(app)
        await type_text(app, pilot, "quarter ended")
        await press(app, pilot, "enter")
        with Store(app.store_url) as store:
            campaign = review.get_campaign(store, 1)
            assert (campaign.status, campaign.closed_by, campaign.close_reason) == ("closed", CISO, "quarter ended")
            states = {i.id: i.state for i in review.items(store, 1)}
            assert states[first.id] == "certify" and states[second.id] == "revoke" and states[max_item.id] == "exception"
            assert all(states[i] == "certify" for i in shown)
            assert review.progress(store, 1).unresolved == 0
            decided = review.decisions(store, campaign_id=1, include_undone=False)
            assert sum(1 for d in decided if not d.by_policy) == 3 + len(shown)
            assert {d.decision for d in decided if d.by_policy} == {"revoke"}
            verified = audit.verify(store)
            assert verified.ok and verified.entries == len(decided) + 3  # + new, approval, close
            assert review.check_against_audit(store) == []
        await press(app, pilot, "1")
        assert "No open campaign" in screen_text(app)  # the Overview's panel

    run(demo_url, scenario, reviewer=PRISCILLA, review=True)


def _decisions(url: str) -> list[review.Decision]:
    with Store(url) as store:
        return review.decisions(store)


def _max_finding_covered(store: Store) -> bool:
    analysis = analyze(store.load_snapshot(2), CONFIG, extra_waivers=review.approved_waivers(store))
    return next(f for f in analysis.findings
                if f.person == "max.mueller@acme.com" and f.rule.id == "FE-SOD-003").covered


def _campaign(url: str, name: str = "Q4", snapshot: int | None = None, config=CONFIG) -> int:
    with Store(url) as store:
        spec = review.spec_from_config(config, name=name)
        return review.create_campaign(store, config, spec, actor="security@acme.com", snapshot_id=snapshot).id


def test_conflicted_reviewer_grouping_undo_and_notes(demo_url):
    campaign_id = _campaign(demo_url)

    async def scenario(app, pilot):
        assert "38 items in your queue" in screen_text(app)
        app.screen.set_filter_text("person:walter resource:storefront-web entitlement:write")
        await settle(app, pilot)
        walter = app.screen.table.current.data
        assert (walter.person, walter.entitlement) == ("walter.wong@acme.com", "write")
        # Wanda can push and deploy storefront herself: warned, and the decision is marked
        await press(app, pilot, "c")
        notices = [str(n.message) for n in app._notifications]
        assert any("same conflicting combination" in n and "FE-SOD-001" in n for n in notices)
        with Store(demo_url) as store:
            [decision] = review.decisions(store, campaign_id=campaign_id)
            assert decision.reviewer_conflicted and decision.actor == "wanda.webb@acme.com"
        assert "⚠ made by a conflicted reviewer" in screen_text(app)
        # undo it
        await press(app, pilot, "u")
        with Store(demo_url) as store:
            assert review.get_item(store, walter.id).state == "pending"
        # a note with markup and a control character is stored and shown literally
        await press(app, pilot, "n")
        await type_text(app, pilot, "[bold red]ask[/] lead")
        await press(app, pilot, "enter")
        text = screen_text(app)
        assert "wanda.webb@acme.com: [bold red]ask[/] lead" in text
        # grouped by resource
        app.screen.set_filter_text("")
        by_person = [(r.cells, r.cell_styles) for r in app.screen.table.visible_rows]
        await press(app, pilot, "g")
        text = screen_text(app)
        assert "Resource ▲" in text and "grouped by resource" in text
        first = app.screen.table.visible_rows[0].data
        assert first.resource_name == min(r.data.resource_name for r in app.screen.table.visible_rows)
        by_resource = [(r.cells, r.cell_styles) for r in app.screen.table.visible_rows]
        # a long queue is regrouped in a worker: the same rows, there and back
        app.screen.table.BACKGROUND_FROM = 1
        await press(app, pilot, "g")
        assert "grouped by person" in screen_text(app)
        assert [(r.cells, r.cell_styles) for r in app.screen.table.visible_rows] == by_person
        await press(app, pilot, "g")
        assert [(r.cells, r.cell_styles) for r in app.screen.table.visible_rows] == by_resource
        del app.screen.table.BACKGROUND_FROM

    run(demo_url, scenario, reviewer="wanda.webb@acme.com", review=True, campaign_id=campaign_id)


def test_previous_decision_unchanged_mark_and_drift_badge(demo_url):
    october = _campaign(demo_url, "October", snapshot=1)
    with Store(demo_url) as store:
        pedro = [i for i in review.items(store, october) if i.person == "pedro.pinto@acme.com"]
        for item in pedro:
            review.decide(store, item.id, "certify", actor=PRISCILLA, reason="still on payments")
        review.close_campaign(store, october, actor=CISO, force=True, reason="test")
    november = _campaign(demo_url, "November")

    async def scenario(app, pilot):
        app.screen.set_filter_text("person:pedro")
        await settle(app, pilot)
        text = screen_text(app)
        assert re.search(r"Pedro Pinto +write on acme/payments-api .* unchanged", text)
        assert re.search(r"Previous +certified \d{4}-\d\d-\d\d by priscilla.payne@acme.com \(campaign 1\); "
                         r"unchanged since", text)
        # Nina joined the web team in November: her grants are new since the closed campaign
        app.screen.set_filter_text("new:yes")
        await settle(app, pilot)
        rows = app.screen.table.visible_rows
        assert rows and {r.data.person for r in rows} == {"nina.nakamura@acme.com"}
        text = screen_text(app)
        assert "NEW" in text and "Drift         NEW since the baseline snapshot" in text

    run(demo_url, scenario, reviewer=CISO, review=True, campaign_id=november)


def test_the_fallback_reviewer_never_sees_their_own_items(demo_url):
    config = parse_config(demo.DEMO_CONFIG_TOML + f'\n[campaigns]\nfallback_reviewer = "{PRISCILLA}"\n')
    campaign_id = _campaign(demo_url, config=config)

    async def scenario(app, pilot):
        rows = app.screen.table.rows
        assert len(rows) == 111 - 5 and not [r for r in rows if r.data.person == PRISCILLA]

    async def main() -> None:
        app = make_app(store_url=demo_url, config=config, reviewer=PRISCILLA, review=True, campaign_id=campaign_id)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def test_several_open_campaigns_are_not_guessed_the_reviewer_names_one(demo_url):
    first, second = _campaign(demo_url, "Q4 web"), _campaign(demo_url, "Q4 payments")

    async def scenario(app, pilot):
        # the CLI's rule: with several open and none named, nothing is guessed (it once took the last)
        text = screen_text(app)
        assert f"2 are open: #{first} Q4 web, #{second} Q4 payments" in text
        assert not app.screen.table.rows and app.review_campaign_id is None
        # the palette names both; choosing one opens its queue
        app.screen.open_campaign(first)
        await settle(app, pilot)
        assert f"Campaign {first} Q4 web" in screen_text(app) and app.screen.table.rows

    run(demo_url, scenario, reviewer=PRISCILLA, review=True)


def test_the_app_opens_its_store_once_for_every_worker(demo_url, monkeypatch):
    import foureyes.store as store_module

    campaign_id = _campaign(demo_url)
    engines = []
    real = store_module.create_engine
    monkeypatch.setattr(store_module, "create_engine", lambda *a, **k: engines.append(a) or real(*a, **k))

    async def scenario(app, pilot):
        await press(app, pilot, "c")  # a decision, the detail pane, progress: each in a worker
        await press(app, pilot, "x")  # the export preview
        await press(app, pilot, "escape", "1")  # the Overview: snapshot, drift, open campaigns
        await press(app, pilot, "3")  # the matrix
        assert len(engines) == 1  # once per app, not once per worker
        with Store(demo_url) as store:
            assert len(review.decisions(store, campaign_id=campaign_id)) == 1

    run(demo_url, scenario, reviewer=PRISCILLA, review=True, campaign_id=campaign_id)
