"""Every screen reached by keys alone on the Acme demo, asserting what a reviewer would read."""

from __future__ import annotations

import asyncio
import io
import re

from rich.console import Console

from foureyes.tui import make_app
from foureyes.tui.widgets.overview import OverviewPanel

from .conftest import SIZE, press, screen_text, settle, type_text


def run(url: str, scenario, **kwargs) -> None:
    async def main() -> None:
        app = make_app(store_url=url, demo=True, **kwargs)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def test_overview_shows_the_snapshot_its_sources_people_findings_and_drift(demo_url):
    async def scenario(app, pilot):
        text = screen_text(app)
        assert type(app.screen).__name__ == "OverviewScreen"
        assert "Snapshot 2 · demo: Acme (November)" in text
        assert "taken 2026-11-02 08:00 UTC" in text
        for source in ("aws", "gcp", "github"):
            assert re.search(rf"│ {source}\s+{source}\s+\d+", text), source
        # the hidden bypass list, and an Actions run of the review period that could not be read
        assert "2 gaps: what could not be read is unknown" in text
        # one definition of a person: 44, as the People tab and `foureyes identities` count them
        assert "44 people: 39 linked across systems, 5 unlinked accounts" in text
        assert "JQ Contracting (github:contractor-jq)" in text
        assert re.search(r"critical\s+13 █", text)
        # FE-ID-001 gave way to FE-ROS-002 (a roster finding) for the two unlinked accounts
        assert "44 open (26 separation-of-duties conflicts, 7 proven in the review" in text  # the panel wraps
        assert "Review period 2026-08-04 to 2026-11-02: 305 production changes, 17 not" in text
        assert "2 leavers still holding access" in text  # the roster's
        assert "Omar Osman left 10 days ago" in text
        # drift from October: Nina joined team web and can now push and deploy storefront
        assert "From snapshot 1 (2026-10-01 08:00 UTC) to 2" in text
        assert re.search(r"findings\s+\+5\s+−0", text)  # Nina's conflict, and the roster's four
        assert "+ FE-SOD-001 Nina Nakamura · app:storefront" in text

    run(demo_url, scenario)


def test_keys_reach_a_seeded_conflict_explain_it_and_draw_its_path(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "2", "f")
        await type_text(app, pilot, "paul")
        await press(app, pilot, "enter")  # leaves the filter box for the table
        text = screen_text(app)
        assert "1 of 44 findings match paul" in text
        assert re.search(r"critical\s+FE-SOD-003\s+Can land unreviewed code.*Paul Platt\s+app:platform\s+aws\+github"
                         r"\s+open", text)
        # the pane below explains the rule and lists each capability's paths
        assert "Why it matters  This person can put a change on the default branch" in text
        assert "SOC 2 CC8.1 · ISO 27001 A.8.32" in text
        assert "Exception       none" in text
        assert "code.merge_unreviewed on acme/deploy-tools" in text

        await press(app, pilot, "enter")
        assert type(app.screen).__name__ == "PathScreen"
        await press(app, pilot, "down")  # the deploy.run capability
        text = screen_text(app)
        assert "FE-SOD-003 Can land unreviewed code and deploy it to production · Paul Platt · app:platform" in text
        assert "deploy.run on acme-prod (111111111111) (production): 1 route" in text
        hops = [(m.group(1), m.group(2)) for m in
                re.finditer(r"[┌├└] (person|github|ci|aws|gcp)\s+(\S+)\s", text)]
        assert hops == [("person", "person"), ("github", "account"), ("github", "member-of"),
                        ("ci", "can-trigger"), ("ci", "matches"), ("aws", "can-assume"), ("aws", "grant"),
                        ("aws", "capability")]
        assert "role gha-legacy-deploy in acme-prod" in text
        assert "trust policy: token.actions.githubusercontent.com:sub StringLike" in text
        assert "codedeploy:CreateDeployment" in text

        await press(app, pilot, "escape")
        assert type(app.screen).__name__ == "ConflictsScreen"

    run(demo_url, scenario)


def test_a_persons_accounts_grants_and_capabilities(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "4", "f")
        await type_text(app, pilot, "max")
        await press(app, pilot, "enter", "enter")
        assert type(app.screen).__name__ == "PersonScreen"
        text = screen_text(app)
        assert "Max Mueller  max.mueller@acme.com" in text
        # FE-SOD-003, and what he did in the quarter: shipped a change alone, past the protection
        assert "2 accounts · 12 capabilities · 3 open findings" in text
        assert re.search(r"deploy\.run\s+acme-prod \(111111111111\)\s+production\s+payments\s+5\s+"
                         r"SSO group payments-oncall → role", text)

        await press(app, pilot, "a")
        text = screen_text(app)
        assert re.search(r"Max Mueller \(github:max-pay\)\s+github\s+user\s+saml\s+SAML identity nameId "
                         r"max.mueller@acme.com", text)
        assert re.search(r"aws\s+user\s+sso\s+IAM Identity Center user email max.mueller@acme.com", text)

        await press(app, pilot, "g")
        text = screen_text(app)
        assert re.search(r"github\s+admin\s+acme/payments-api\s+Max Mueller", text)

        await press(app, pilot, "c", "enter")  # a capability's paths, hop by hop
        assert type(app.screen).__name__ == "PathScreen"
        assert "Max Mueller: capabilities and their paths" in screen_text(app)

    run(demo_url, scenario)


def test_emergency_access_stands_apart_from_standing_access(demo_url):
    async def scenario(app, pilot):
        text = screen_text(app)
        # the Overview: the declared break-glass path, its unjustified use, and what is time-bound
        assert "⚑ prod-breakglass  2 uses, 1 with a finding · 1 person only through it" in text
        assert "2026-10-21 19:40 Alex Adeyemi · 4 h · no ticket; too long" in text
        # Alex's capabilities: production only through the declared path, marked in the Access column
        await press(app, pilot, "4", "f")
        await type_text(app, pilot, "alex")
        await press(app, pilot, "enter", "enter")
        text = screen_text(app)
        assert re.search(r"access\.admin\s+acme-prod \(111111111111\)\s+production\s+payments\s+5\s+✓\s+"
                         r"⚑ prod-breakglass\s+role ops-breakglass", text)
        assert "2 capabilities · 2 open findings" in text  # his October use: no ticket, too long
        # the unjustified use as findings, with the use as their proof
        await press(app, pilot, "2", "f")
        await type_text(app, pilot, "FE-EMG")
        await press(app, pilot, "enter")
        text = screen_text(app)
        assert "2 of 44 findings match" in text
        assert "An emergency path was used without a ticket" in text

    run(demo_url, scenario)


def test_matrix_marks_conflicts_and_filters_to_conflicts_a_team_or_an_app(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "3")
        screen = app.screen
        text = screen_text(app)
        assert "38 of 44 people hold a capability · 15 in conflict · tier production" in text
        assert re.search(r"Paul Platt\s+active\s+▲ yes\s+● 5\s+● 3\s+● 5\s+● 1\s+·\s+● 1", text)
        assert re.search(r"Bob Brown\s+active\s+● 1", text)
        assert re.search(r"Omar Osman\s+LEFT\s+▲ yes", text)  # a leaver is unmistakable

        await press(app, pilot, "c")
        assert "15 of 38 people match" in screen_text(app)
        assert all(r.fields["conflict"] == "yes" for r in screen.table.visible_rows)

        await press(app, pilot, "c")
        screen.set_scope(team="sre")
        await settle(app, pilot)
        names = {r.cells[0] for r in screen.table.visible_rows}
        assert names == {"Sam Sato", "Sid Shah", "Sue Sorensen"}

        screen.set_scope(team="", app_name="payments")
        await settle(app, pilot)
        names = {r.cells[0] for r in screen.table.visible_rows}
        assert "Max Mueller" in names and "Wanda Webb" not in names  # Wanda works on storefront

        await press(app, pilot, "t")  # the next tier
        assert "tier staging" in screen_text(app)

    run(demo_url, scenario)


def test_gaps_say_what_could_not_be_read_and_what_it_may_hide(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "5")
        text = screen_text(app)
        assert "2 gaps" in text
        await press(app, pilot, "f")
        await type_text(app, pilot, "legacy")
        await press(app, pilot, "enter")
        text = screen_text(app)
        assert "Could not read    403 on GET /repos/acme/legacy-billing/rulesets/7" in text
        assert "May hide          ruleset bypass actors who may merge without review" in text
        assert "unknown, not absent" in text

    run(demo_url, scenario)


def test_search_everywhere_finds_a_person_by_name_and_opens_them(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "slash")
        await type_text(app, pilot, "zimmer")
        assert "1 of" in screen_text(app)
        await press(app, pilot, "enter")
        assert type(app.screen).__name__ == "PersonScreen"
        # the hostile display name is shown as typed, never as markup
        assert '[bold red]Zed[/] =HYPERLINK("http://x")  zed.zimmer@acme.com' in screen_text(app)

    run(demo_url, scenario)


def test_search_result_for_a_finding_selects_it_in_conflicts(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "slash")
        await type_text(app, pilot, "kind:finding nina")
        await press(app, pilot, "enter")
        await settle(app, pilot)
        assert app.current_mode == "conflicts"
        row = app.screen.table.current
        assert row.data.person == "nina.nakamura@acme.com" and row.data.rule.id == "FE-SOD-001"

    run(demo_url, scenario)


def test_snapshot_switcher_opens_the_previous_snapshot(demo_url):
    async def scenario(app, pilot):
        await press(app, pilot, "s")
        assert "Stored snapshots" in screen_text(app)
        await press(app, pilot, "down", "enter")
        await settle(app, pilot)
        assert app.triage.snapshot_id == 1
        text = screen_text(app)
        assert "Snapshot 1 · demo: Acme (October)" in text
        assert "not the latest" in text
        assert "This is the first snapshot" in text
        await press(app, pilot, "2")
        assert "32 findings" in screen_text(app)  # Nina had not joined team web yet

    run(demo_url, scenario)


def test_mouse_switches_sections_sorts_columns_and_opens_rows(demo_url):
    async def scenario(app, pilot):
        await pilot.click("NavTab", offset=(2, 0))  # "1 Overview" is the first tab
        tabs = list(app.screen.query("NavTab"))
        await pilot.click(tabs[1])
        await settle(app, pilot)
        assert app.current_mode == "conflicts"
        table = app.screen.table
        subject_x = table.column_x("subject") + 2
        await pilot.click(table, offset=(subject_x, 0))  # the "Person or resource" header
        await settle(app, pilot)
        assert table.sort_column == "subject"
        assert table.visible_rows[0].cells[3].lower() <= table.visible_rows[-1].cells[3].lower()
        # double-click the first conflict (posture findings and proven violations have no path to draw)
        row = next(n for n, r in enumerate(table.visible_rows) if r.data.holdings)
        await pilot.click(table, offset=(10, 1 + row), times=2)
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PathScreen"

    run(demo_url, scenario)


def test_opened_on_conflicts_the_overview_and_drift_follow_and_a_long_summary_wraps(demo_url):
    """Opened straight on Conflicts: drift and the help's layout, held back while its rows are made,
    still arrive, and the Overview (drawn only when shown) is whole when opened later. A summary
    line too long for the width takes two lines, and one line again after."""

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=(80, 30)) as pilot:
            await pilot.press("2")  # before the snapshot has loaded, most likely
            await settle(app, pilot)
            screen = app.screen
            assert type(screen).__name__ == "ConflictsScreen" and screen.table.row_count == 44
            assert app.triage.drift is not None  # started once the first rows showed
            summary = screen.query_one("#summary")
            assert summary.size.height == 1
            screen.set_filter_text("nothing-matches-" + "x" * 40)
            await settle(app, pilot)
            assert summary.size.height == 2
            text = screen_text(app)
            assert re.search(r"0 of 44 findings match\s+\n\s*nothing-matches-x{40} · 0 open", text), text
            screen.set_filter_text("")
            await settle(app, pilot)
            assert summary.size.height == 1 and "44 findings · 44 open" in screen_text(app)
            await press(app, pilot, "1")
            panels = {type(p).__name__: p.content for p in app.screen.query(OverviewPanel)}
            assert "44 people: 39 linked across systems" in panels["PeoplePanel"].plain
            drift = Console(width=80, file=io.StringIO(), record=True)
            drift.print(panels["DriftPanel"])
            assert "From snapshot 1 (2026-10-01 08:00 UTC) to 2" in drift.export_text()
            assert "44 open (26 separation-of-duties" in screen_text(app)  # the findings panel, from the worker

    asyncio.run(main())
