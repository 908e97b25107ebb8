"""The fake GCP organisation: the fake servers started on one fixture, and a config pointing at them.

Shared by the GCP connector tests (tests/connectors/test_gcp*.py); the servers run on loopback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .google_server import FakeGoogle
from .iam_grpc import FakeIam

if TYPE_CHECKING:
    from .logging_grpc import FakeLogging

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gcp"

# The tiers and group map the scenario tests use; `extra` adds to [sources.gcp].
TIERS = """
[tiers.production]
gcp_projects = ["acme-prod-*"]
gcp_labels = { env = "prod" }
gcp_folders = ["folders/1001"]

[tiers.staging]
gcp_labels = { env = "staging" }
"""

GROUPS = """
[sources.gcp.groups]
"group:prod-deployers@acme.com" = ["user:frank.fischer@acme.com", "group:release-captains@acme.com"]
"group:release-captains@acme.com" = ["user:rhea.roth@acme.com"]
"group:security@acme.com" = ["user:sofia.silva@acme.com", "user:alex.adeyemi@acme.com"]
"""


def load_fixture(name: str = "acme-org.json") -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class FakeGcp:
    google: FakeGoogle
    iam: FakeIam
    logging: FakeLogging | None = None  # Cloud Logging, when the fixture has audit logs

    def source_toml(self, *, scope: str = 'organization = "organizations/424242424242"', extra: str = "",
                    groups: bool = True) -> str:
        logging = f"logging_endpoint = \"{self.logging.target}\"\n" if self.logging else ""
        return (f"[sources.gcp]\n{scope}\napi_endpoint = \"{self.google.url}\"\n"
                f"iam_admin_endpoint = \"{self.iam.target}\"\n{logging}anonymous = true\ntimeout = 5\n{extra}\n"
                + (GROUPS if groups else ""))

    def config_toml(self, **kwargs: Any) -> str:
        return TIERS + self.source_toml(**kwargs)

    def stop(self) -> None:
        self.google.stop()
        self.iam.stop()
        if self.logging:
            self.logging.stop()


def start(fixture: dict[str, Any] | None = None) -> FakeGcp:
    fixture = fixture if fixture is not None else load_fixture()
    logging = None
    if "auditLogs" in fixture:
        from .logging_grpc import FakeLogging  # imports the logging client: only for activity tests

        logging = FakeLogging(fixture).start()
    return FakeGcp(FakeGoogle(fixture).start(), FakeIam(fixture).start(), logging)


def with_activity() -> dict[str, Any]:
    """The organisation with its review period's audit logs and IAM insights (activity.json)."""
    return {**load_fixture(), **load_fixture("activity.json")}
