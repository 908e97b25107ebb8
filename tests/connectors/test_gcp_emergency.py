"""Emergency access on GCP, read through the Google clients from the loopback fakes: a declared
break-glass binding (roles/owner with a time window in its condition), the Cloud Audit Logs
entries of its members within the window as uses, and time-bound bindings marked in every path.
"""

from __future__ import annotations

import copy

import pytest

from fakes import gcp_org
from foureyes.activity import ActivityPeriod, AuditEvent, of_kind
from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.connectors.gcp.connector import GcpConnector
from foureyes.model import Snapshot
from foureyes.store import Store

PERIOD = ActivityPeriod("2026-08-04T00:00:00Z", "2026-11-02T00:00:00Z")
WEB = "gcp:project:acme-prod-web"
DECLARED = """
[identity]
email_domains = ["acme.com"]

[[break_glass]]
name = "gcp-owner"
gcp_bindings = [{ role = "roles/owner", condition = "break-glass*", resources = ["acme-prod-*"] }]
allowed = ["ivan.ivanov@acme.com"]
max_duration = "2h"
ticket = "INC-[0-9]+"
"""


def _window(start: str, end: str) -> str:
    return f'request.time > timestamp("{start}") && request.time < timestamp("{end}")'


def _entry(insert: str, at: str, who: str, permission: str, method: str) -> dict:
    return {"logName": "projects/acme-prod-web/logs/cloudaudit.googleapis.com%2Factivity", "insertId": insert,
            "timestamp": at, "receiveTimestamp": at, "severity": "NOTICE",
            "resource": {"type": "audited_resource", "labels": {"project_id": "acme-prod-web"}},
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                             "serviceName": "iam.googleapis.com", "methodName": method,
                             "resourceName": "projects/acme-prod-web",
                             "authenticationInfo": {"principalEmail": who},
                             "authorizationInfo": [{"resource": "projects/acme-prod-web", "permission": permission,
                                                    "granted": True}],
                             "requestMetadata": {"callerIp": "203.0.113.9"}, "status": {}}}


def fixture() -> dict:
    data = copy.deepcopy(gcp_org.with_activity())
    data["policies"]["projects/acme-prod-web"]["bindings"] += [
        {"role": "roles/owner", "members": ["user:ivan.ivanov@acme.com"],
         "condition": {"title": "break-glass INC-881", "expression": _window("2026-10-28T10:00:00Z",
                                                                           "2026-10-28T12:00:00Z")}},
        {"role": "roles/owner", "members": ["user:gina.garcia@acme.com"],
         "condition": {"title": "break-glass", "expression": _window("2026-10-29T09:00:00Z", "2026-10-29T17:00:00Z")}},
    ]
    data["auditLogs"]["acme-prod-web"] += [
        _entry("bg-ivan-1", "2026-10-28T10:20:00Z", "ivan.ivanov@acme.com", "resourcemanager.projects.setIamPolicy",
               "SetIamPolicy"),
        _entry("bg-ivan-2", "2026-10-28T10:45:00Z", "ivan.ivanov@acme.com", "run.services.update",
               "google.cloud.run.v2.Services.UpdateService"),
        _entry("ivan-later", "2026-10-30T08:00:00Z", "ivan.ivanov@acme.com", "run.services.update",
               "google.cloud.run.v2.Services.UpdateService"),  # after the window: no use of the path
        _entry("bg-gina-1", "2026-10-29T09:30:00Z", "gina.garcia@acme.com", "iam.serviceAccountKeys.create",
               "google.iam.admin.v1.CreateServiceAccountKey"),
        _entry("bg-gina-2", "2026-10-29T15:10:00Z", "gina.garcia@acme.com", "run.services.update",
               "google.cloud.run.v2.Services.UpdateService"),
    ]
    return data


@pytest.fixture(scope="module")
def fake():
    started = gcp_org.start(fixture())
    yield started
    started.stop()


@pytest.fixture(scope="module")
def read(fake):
    fake.logging.reset()
    config = parse_config(fake.config_toml() + DECLARED)
    return config, GcpConnector(config.sources.gcp, config=config).collect(period=PERIOD)


@pytest.fixture(scope="module")
def analysis(read):
    config, result = read
    return analyze(Snapshot(1, "2026-11-02T00:00:00Z", "", (result,)), config)


def test_the_members_of_a_declared_binding_are_read_by_address(read, fake):
    _, result = read
    filters = [r.filter for r in fake.logging.requests if "principalEmail" in r.filter]
    assert filters and all('("gina.garcia@acme.com" OR "ivan.ivanov@acme.com")' in f for f in filters)
    assert all("projects/acme-prod-web/" in f for f in filters)  # the project where the binding applies
    found = {e.id for e in of_kind(result.activity, AuditEvent)}
    assert {"bg-ivan-1", "bg-ivan-2", "ivan-later", "bg-gina-1", "bg-gina-2"} <= found


def test_a_use_is_the_members_calls_within_the_bindings_window(analysis):
    uses = {u.who.person: u for u in analysis.emergency.uses}
    assert set(uses) == {"ivan.ivanov@acme.com", "gina.garcia@acme.com"}
    ivan = uses["ivan.ivanov@acme.com"]
    assert ivan.start == "2026-10-28T10:20:00Z" and ivan.duration_s == 2 * 3600 and ivan.active_s == 25 * 60
    assert [a.split(" ", 2)[1] for a in ivan.actions] == ["SetIamPolicy", "google.cloud.run.v2.Services.UpdateService"]
    assert ivan.ticket == "INC-881 (condition title)" and ivan.problems == ()
    gina = uses["gina.garcia@acme.com"]
    assert len(gina.actions) == 2  # one window, one use, though hours apart
    assert [k for k, _ in gina.problems] == [
        "emergency-use-without-ticket", "emergency-use-too-long", "emergency-use-not-allowed"]


def test_findings_and_time_bound_marks(analysis):
    emg = {(f.rule.id, f.person or f.subject) for f in analysis.findings if f.rule.id.startswith("FE-EMG")}
    assert {("FE-EMG-001", "gina.garcia@acme.com"), ("FE-EMG-002", "gina.garcia@acme.com"),
            ("FE-EMG-003", "gina.garcia@acme.com")} <= emg
    # the break-glass windows and 2020's binding have passed: each is still in the policy
    assert {("FE-EMG-006", "gcp:user:ivan.ivanov@acme.com"), ("FE-EMG-006", "gcp:user:gina.garcia@acme.com"),
            ("FE-EMG-006", "gcp:user:temp.contractor@acme.com")} <= emg
    carla = [h for h in analysis.holdings("carla.consultant@acme.com") if h.capability == "deploy.run"]
    assert carla and all(h.time_bound for h in carla)
    marks = analysis.graph.marks_of(carla[0])
    assert marks.time_bound and marks.expires == "2099-06-30T00:00:00Z"
    assert "time-bound until 2099-06-30" in marks.describe()


def test_uses_survive_the_store(read, store_url):
    config, result = read
    with Store(store_url) as store:
        info = store.write_snapshot([result], label="gcp emergency")
        loaded = store.load_snapshot(info.id)
    again = analyze(loaded, config).emergency.uses
    assert sorted((u.id, u.who.person, len(u.actions)) for u in again) == [
        ("bg-gina-1", "gina.garcia@acme.com", 2), ("bg-ivan-1", "ivan.ivanov@acme.com", 2)]
