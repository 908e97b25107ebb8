"""Fixtures for the review suite: the Acme demo in a fresh store on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from foureyes.config import Config, parse_config
from foureyes.connectors import demo
from foureyes.store import Store

from conftest import load_demo

FALLBACK = "ciso@acme.com"
# The demo's config plus a fallback reviewer who is nobody in the snapshot.
REVIEW_CONFIG_TOML = demo.DEMO_CONFIG_TOML + f"""
[campaigns]
fallback_reviewer = "{FALLBACK}"
exception_max_days = 180

[campaigns.templates.quarterly]
name = "Quarterly production review {{period}}"
recurrence = "quarterly"
scope = "production"
due_days = 21
"""
TODAY = date(2026, 11, 20)


@pytest.fixture
def review_config() -> Config:
    return parse_config(REVIEW_CONFIG_TOML, "<review test config>")


@pytest.fixture
def review_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "foureyes.toml"
    path.write_text(REVIEW_CONFIG_TOML, encoding="utf-8")
    return path


@pytest.fixture
def store(store_url, store_templates):
    """Acme's October and November snapshots in a fresh store, on each backend (a copy of a
    store built once: tests/conftest.py's StoreTemplates)."""
    with Store(store_templates.copy("demo", load_demo, store_url)) as opened:
        yield opened
