"""The evidence report of the demo campaign: every section, self-contained HTML, hostile text
inert, and a render in headless Chromium (installed by `make test` from Debian packages)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from foureyes import review
from foureyes.store import audit
from foureyes.export import report

from .conftest import HOSTILE, HOSTILE_REASON
from .test_tickets import _rendered

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions")


@pytest.fixture
def evidence(store, export_config, later_snapshot):
    later_snapshot()  # Walter's and Zed's revocations verified, the contractor's and Max's pending
    return report.gather(store, export_config, 1)


def test_evidence_gathers_each_section_of_the_campaign(evidence, store):
    e = evidence
    assert (e.campaign.id, e.snapshot.id, e.findings_against.id) == (1, 3, 4)
    assert [s.name for s in e.snapshot.sources] == ["aws", "gcp", "github", "okta", "roster"]
    assert [g.resource for g in e.gaps] == ["github:repo:acme/legacy-billing"]
    assert e.progress.revoked == 4 and e.progress.certified == 1 and e.progress.excepted == 1
    wanda = next(r for r in e.reviewers if r.reviewer == "wanda.webb@acme.com")
    # her own four decisions, and Sam's exception, which the fallback reviewer decided on her item
    assert (wanda.decided, wanda.items - wanda.pending) == (5, 5)
    zed = next(d for d in e.decisions if d.item.person == "zed.zimmer@acme.com")
    assert (zed.state, zed.decision.reason, zed.item.person_name) == ("revoked", HOSTILE_REASON, HOSTILE)
    ((exception, item),) = e.exceptions
    assert (exception.approver, exception.expires.isoformat(), item.person) == (
        "priscilla.payne@acme.com", "2027-03-31", "sam.sato@acme.com")
    assert e.follow_counts == {"pending": 2, "verified": 2, "regressed": 0}
    statuses = {(f.finding.person, f.finding.rule): f.status for f in e.findings}
    assert statuses[("sam.sato@acme.com", "FE-SOD-004")] == "excepted"  # the approved exception covers it
    assert statuses[("walter.wong@acme.com", "FE-SOD-001")] == "resolved"  # he left team web
    assert statuses[("max.mueller@acme.com", "FE-SOD-003")] == "open"
    assert e.chain.ok and e.chain.head == audit.head(store)
    assert e.campaign_entries == len(audit.entries(store, campaign_id=1)) >= 8
    bars = {b.actor: {s.decision: s.count for s in b.segments} for b in e.chart.bars}
    assert bars == {"wanda.webb@acme.com": {"certified": 1, "revoked": 3},
                    "ciso@acme.com": {"revoked": 1, "exception": 1}}


def test_markdown_report_has_every_section_and_renders_hostile_text_literally(evidence):
    text = report.render_markdown(evidence)
    for heading in ("## Scope", "## Snapshot sources and gaps", "## Reviewers and completion",
                    "### Decisions per reviewer", "## Decisions", "## Exceptions", "## Findings",
                    "### Still open", "### Resolved or excepted", "## Revocation follow-through", "## Audit chain"):
        assert f"\n{heading}" in text, heading
    assert "403 on GET /repos/acme/legacy-billing/rulesets/7" in text
    assert "`priscilla.payne@acme.com` | approved | 2027-03-31" in text
    assert f"foureyes audit verify --expect-head {evidence.chain.head.hash}" in text
    parsed = _rendered(text)
    assert not {"img", "script", "a", "em"} & set(parsed.tags)
    body = "".join(parsed.text)
    assert '=HYPERLINK("http://x")\\x0a[bold]Zed[/bold] <img src=x onerror=alert(1)> | `tick`' in body
    assert HOSTILE_REASON in body
    # every table row has as many cells as its header: no value split a row
    for table in re.findall(r"(?:^\|.*\|[ ]*\n)+", text, flags=re.M):
        widths = {len(re.split(r"(?<!\\)\|", line.strip())) for line in table.strip().split("\n")}
        assert len(widths) == 1, table


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.urls = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v]

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_self_contained_printable_and_keeps_hostile_text_inert(evidence):
    html = report.render_html(evidence)
    page = _Page()
    page.feed(html)
    assert page.urls == []  # no external stylesheet, script, font or image
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert "default-src 'none'" in html and "@media print" in html and "@page" in html
    assert page.tags.count("svg") == 1 and page.tags.count("rect") >= 3
    text = "".join(page.text)
    assert HOSTILE in text and HOSTILE_REASON in text  # whole, newline included (shown by pre-wrap)
    assert f"foureyes audit verify --expect-head {evidence.chain.head.hash}" in text
    for section in ("Scope", "Snapshot sources and gaps", "Reviewers and completion", "Decisions per reviewer",
                    "Exceptions", "Findings", "Revocation follow-through", "Audit chain"):
        assert f">{section}<" in html, section


def _chromium() -> str | None:
    return os.environ.get("FOUREYES_CHROMIUM") or next(
        (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None)


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_report_renders_in_headless_chromium(evidence, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed; `make test` installs it from Debian packages (tools/ensure_chromium.py)")
    page = tmp_path / "report.html"
    page.write_text(report.render_html(evidence), encoding="utf-8")
    shot = tmp_path / "report.png"
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    run = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert _png_size(shot) == (1280, 2000) and shot.stat().st_size > 50_000  # a page, not a blank
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Page()
    parsed.feed(dom.stdout)
    # after Chromium parsed it, the hostile values are still text: no element came out of them
    assert not {"script", "img", "a"} & set(parsed.tags)
    assert HOSTILE in "".join(parsed.text)
    assert "Access review evidence: campaign 1" in dom.stdout


def test_cli_report_writes_the_file_and_names_the_audit_head(cli, store, export_config, tmp_path):
    from .conftest import EXPORT_CONFIG_TOML

    config = tmp_path / "foureyes.toml"
    config.write_text(EXPORT_CONFIG_TOML)
    out = tmp_path / "evidence.html"
    env = {"FOUREYES_STORE_URL": store.engine.url.render_as_string(hide_password=False)}
    result = cli("-c", str(config), "report", "--campaign", "1", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    head = audit.head(store).hash
    gaps, written = result.stderr.strip().splitlines()  # the campaign's snapshot has a gap: said first, one line
    assert gaps.startswith("foureyes: campaign 1's snapshot 3 has 2 gaps: ")  # the bypass list, an unread Actions run
    assert written == f"evidence report of campaign 1 written to {out}; audit head {head}"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    result = cli("-c", str(config), "report", "--campaign", "1", "--format", "markdown", env=env)
    assert result.returncode == 0 and result.stdout.startswith("# Access review evidence: campaign 1, `Q4 production`")
    review.close_campaign(store, 1, actor="ciso@acme.com", force=True, reason="quarter over")
    result = cli("-c", str(config), "report", "--campaign", "1", "--format", "markdown", env=env)
    assert "closed" in result.stdout and "`quarter over`" in result.stdout
