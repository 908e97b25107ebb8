"""The embedded sample organisation "Acme", and the demo connector that serves it.

acme.py          the organisation as facts: people, teams, repositories, accounts, projects,
                 the demo's config (`DEMO_CONFIG_TOML`, `demo_config`) and the two stages
github.py, aws.py, gcp.py   one source each, built the way the real connectors build theirs
connector.py     `build`, `load_into` and DemoConnector ([sources.demo])

Acme comes in two stages, "before" and "after", a month apart, so drift has something to
show. Everything is deterministic. What callers use is exported here.
"""

from .acme import DEMO_CAMPAIGNS_TOML, DEMO_CONFIG_TOML, LABEL, TAKEN_AT, demo_config, demo_config_text, demo_store_url
from .connector import DemoConnector, build, load_into

__all__ = ["DEMO_CAMPAIGNS_TOML", "DEMO_CONFIG_TOML", "demo_config_text", "LABEL", "TAKEN_AT", "DemoConnector", "build", "demo_config", "demo_store_url",
           "load_into"]
