"""Revocation tickets of the demo campaign in every file format: content, remediation, safety."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from foureyes import review
from foureyes.export import tickets
from foureyes.textsafe import safe_text

from .conftest import FALLBACK, HOSTILE, HOSTILE_REASON, STOREFRONT_WEB

# team web is synchronised from Okta group "Engineering - Web": Walter's own option is fixed there
# (no command of ours writes to Okta); removing the team's grant is the other
WALTER_OPTIONS = [
    ("person", "Remove walter-web from Okta group Engineering - Web (team web is synchronised from it)", []),
    ("everyone", "Remove the write access of team web to acme/storefront-web",
     ["gh api -X DELETE /orgs/acme/teams/web/repos/acme/storefront-web"]),
]


def _by_person(found, person):
    return next(t for t in found.tickets if t.revocations[0].item.person == person)


def test_one_ticket_per_revoked_grant_with_who_what_why_due_and_both_options(store, export_config):
    found = tickets.build(store, export_config, 1)
    assert len(found.tickets) == 4  # walter, zed, the contractor, max: the certified and excepted items are not tickets
    data = tickets.to_json(found)
    assert data["campaign"] == {"id": 1, "name": "Q4 production", "status": "open", "snapshot": 3,
                                "due": data["campaign"]["due"]}
    walter = next(t for t in data["tickets"] if t["items"][0]["person"] == "walter.wong@acme.com")
    item = walter["items"][0]
    assert walter["key"] == f"c1-i{item['item']}"
    assert walter["title"] == "Revoke write on acme/storefront-web from Walter Wong"
    assert (walter["severity"], walter["priority"]) == ("high", "High")  # FE-SOD-001 on storefront
    assert walter["labels"] == ["access-review", "q4 2026", "severity:high"]
    decided = review.get_item(store, item["item"]).decided_at[:10]
    assert walter["due"] == (date.fromisoformat(decided) + timedelta(days=10)).isoformat()
    assert (item["decided_by"], item["reason"], item["via"]) == ("wanda.webb@acme.com", "moved to the mobile team",
                                                                 "team")
    assert "team web (member of team web)" in " → ".join(item["path"])
    assert [(r["affects"], r["title"], r["commands"]) for r in walter["remedies"]] == WALTER_OPTIONS
    text = walter["description"]
    for expected in ("Who: Walter Wong <walter.wong@acme.com> (accounts: github:walter-web)",
                     "Why: revoked by wanda.webb@acme.com", ": moved to the mobile team",
                     "Rule: FE-SOD-001", "Campaign: 1 Q4 production (snapshot 3, review due",
                     "1. Remove walter-web from Okta group Engineering - Web (team web is synchronised from it): "
                     "only this person loses access",
                     "a removal made in GitHub is undone by the next synchronisation",
                     "2. Remove the write access of team web to acme/storefront-web: everyone who holds it this way loses it",
                     "   gh api -X DELETE /orgs/acme/teams/web/repos/acme/storefront-web"):
        assert expected in text, expected


def test_sso_revocation_offers_the_group_membership_and_the_assignment(store, export_config):
    max_ticket = _by_person(tickets.build(store, export_config, 1), "max.mueller@acme.com")
    commands = [o.remedy.commands[0] for o in max_ticket.options if o.remedy.commands]
    assert commands[0].startswith("aws identitystore delete-group-membership --identity-store-id d-9067c1a2b3")
    assert commands[1].startswith("aws sso-admin delete-account-assignment --instance-arn")
    assert [o.remedy.affects for o in max_ticket.options][:2] == ["person", "everyone"]
    assert max_ticket.revocations[0].by_policy is False and max_ticket.revocations[0].decided_by == FALLBACK


def test_grouped_tickets_are_one_per_system_and_resource_and_name_the_items_each_option_removes(store, export_config):
    found = tickets.build(store, export_config, 1, group=True)
    assert len(found.tickets) == 2
    web = next(t for t in found.tickets if t.resource == STOREFRONT_WEB)
    people = {r.item.person for r in web.revocations}
    assert people == {"walter.wong@acme.com", "zed.zimmer@acme.com", "github:contractor-jq"}
    assert web.title == "Revoke 3 grants on acme/storefront-web (github)"
    assert web.key.startswith("c1-g") and web.grouped
    walter_id = next(r.item.id for r in web.revocations if r.item.person == "walter.wong@acme.com")
    team_grant = next(o for o in web.options if any("teams/web/repos" in c for c in o.remedy.commands))
    assert team_grant.items == (walter_id,)
    assert len({o.remedy.commands for o in web.options}) == len(web.options) == 4  # no option twice
    assert "For each item, carry out one option that names it" in tickets.description(web)
    # a re-run gives the same key: GitHub issues and Jira imports can rely on it
    assert tickets.build(store, export_config, 1, group=True).tickets[0].key == found.tickets[0].key


def test_follow_through_shows_in_tickets_once_a_later_snapshot_verifies(store, export_config, later_snapshot):
    later = later_snapshot()
    found = tickets.build(store, export_config, 1)
    states = {t.revocations[0].item.person: t.follow_through for t in found.tickets}
    assert states == {"walter.wong@acme.com": "verified", "zed.zimmer@acme.com": "verified",
                      "github:contractor-jq": "pending", "max.mueller@acme.com": "pending"}
    walter = _by_person(found, "walter.wong@acme.com")
    assert f"Follow-through: verified: gone in snapshot {later}" in tickets.description(walter)


def _csv_rows(text):
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_csv_neutralises_formulas_and_keeps_the_hostile_name_whole(store, export_config):
    text = tickets.to_csv(tickets.build(store, export_config, 1))
    assert text.startswith("\ufeffkey,title,")  # the byte order mark makes spreadsheets read UTF-8
    header, *rows = _csv_rows(text)
    assert header == list(tickets.CSV_COLUMNS)
    zed = next(dict(zip(header, r)) for r in rows if "zed.zimmer@acme.com" in r)
    assert zed["person_names"] == "'" + HOSTILE  # intact, newline included, but not a formula
    assert zed["reasons"] == "'" + HOSTILE_REASON
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert zed["remediation"].endswith("gh api -X DELETE /repos/acme/storefront-web/collaborators/zed-hostile")


def test_jira_csv_has_the_importer_columns_one_labels_column_per_label(store, export_config):
    text = tickets.to_jira_csv(tickets.build(store, export_config, 1), export_config)
    header, *rows = _csv_rows(text)
    assert header == ["Summary", "Issue Type", "Priority", "Due Date", "Labels", "Labels", "Labels", "Description"]
    assert len(rows) == 4
    for row in rows:
        assert row[1] == "Task" and row[2] in ("Highest", "High", "Medium", "Low", "Lowest")
        assert date.fromisoformat(row[3])
        assert row[4:7][:2] == ["access-review", "q4-2026"]  # a Jira label has no spaces
        assert row[6].startswith("severity:")
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
    zed = next(r for r in rows if "zed-hostile" in r[7])
    description = zed[7]
    # wiki markup in the name is escaped, so Jira shows it instead of formatting or linking it
    assert "\\[bold\\]Zed\\[/bold\\]" in description and "[bold]" not in description
    assert "{noformat}\ngh api -X DELETE /repos/acme/storefront-web/collaborators/zed-hostile\n{noformat}" in description


class _Text(HTMLParser):
    """The text of rendered HTML, every element created, and the text of each <strong>."""

    def __init__(self):
        super().__init__()
        self.text, self.tags, self.strong, self._open = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "strong":
            self._open = []

    def handle_endtag(self, tag):
        if tag == "strong" and self._open is not None:
            self.strong.append("".join(self._open))
            self._open = None

    def handle_data(self, data):
        self.text.append(data)
        if self._open is not None:
            self._open.append(data)


def _rendered(markdown: str) -> _Text:
    parsed = _Text()
    parsed.feed(MarkdownIt("gfm-like").render(markdown))
    return parsed


def test_markdown_renders_every_hostile_value_as_literal_text(store, export_config):
    found = tickets.build(store, export_config, 1)
    markdown = tickets.to_markdown(found)
    assert markdown.count("\n## Revoke") == 4
    zed = _by_person(found, "zed.zimmer@acme.com")
    parsed = _rendered(tickets.ticket_markdown(zed))
    text = "".join(parsed.text)
    assert safe_text(HOSTILE) in text  # the whole name, its newline shown as \x0a
    assert HOSTILE_REASON in text
    # nothing in the name or the reason became an image, a script, a link or emphasis
    assert not {"img", "script", "a", "em"} & set(parsed.tags)
    assert set(parsed.strong) <= {"Priority:", "Due:", "Campaign:", "Ticket:", "Who:", "What:", "Path:", "Why:",
                                  "Follow-through:", "Rule:", "Remove zed-hostile as a collaborator of acme/storefront-web"}
    assert "```sh\n   gh api -X DELETE /repos/acme/storefront-web/collaborators/zed-hostile\n   ```" in markdown


def test_empty_campaign_gives_an_empty_ticket_set_in_every_format(store, export_config):
    spec = review.spec_from_config(export_config, name="nothing revoked")
    second = review.create_campaign(store, export_config, spec, actor="security@acme.com")
    found = tickets.build(store, export_config, second.id)
    assert found.tickets == ()
    assert json.loads(tickets.render(found, "json", export_config))["tickets"] == []
    assert "No grant was revoked in this campaign." in tickets.render(found, "markdown", export_config)
    assert _csv_rows(tickets.render(found, "csv", export_config)) == [list(tickets.CSV_COLUMNS)]


def test_cli_writes_each_format_and_refuses_apply_for_files(cli, store, export_config, tmp_path):
    config = tmp_path / "foureyes.toml"
    from .conftest import EXPORT_CONFIG_TOML

    config.write_text(EXPORT_CONFIG_TOML)
    env = {"FOUREYES_STORE_URL": store.engine.url.render_as_string(hide_password=False)}
    result = cli("-c", str(config), "export", "tickets", "--campaign", "1", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["tickets"]) == 4
    out = tmp_path / "jira.csv"
    result = cli("-c", str(config), "export", "tickets", "--campaign", "1", "--format", "jira-csv", "--group",
                 "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "2 tickets of campaign 1 written to" in result.stderr
    assert out.read_text(encoding="utf-8").startswith("Summary,Issue Type,Priority,Due Date,Labels")
    result = cli("-c", str(config), "export", "tickets", "--campaign", "1", "--format", "csv", "--apply", env=env)
    assert result.returncode == 2 and result.stderr.strip() == \
        "foureyes: error: --apply is for --format github (files are simply written)"
    result = cli("-c", str(config), "export", "tickets", "--campaign", "9", env=env)
    assert result.returncode == 2 and "campaign 9 does not exist" in result.stderr


def test_exports_record_nothing_the_follow_through_step_does(store, export_config, later_snapshot):
    from foureyes.export import report

    later_snapshot()
    assert {t.follow_through for t in tickets.build(store, export_config, 1).tickets} == {"verified", "pending"}
    assert report.gather(store, export_config, 1).follow_counts == {"pending": 2, "verified": 2, "regressed": 0}
    # neither recorded a check: the store still knows none, until the explicit step records them
    assert review.follow_through_counts(store, campaign_id=1) == {"pending": 4, "verified": 0, "regressed": 0}
    assert review.check_revocations(store, export_config) == 4
    assert review.follow_through_counts(store, campaign_id=1) == {"pending": 2, "verified": 2, "regressed": 0}
