"""`foureyes demo --load`, `snapshots`, `version` and `snapshot` on the demo source."""

from __future__ import annotations

import json


def test_demo_load_then_snapshots_json_lists_two_snapshots_with_counts(cli):
    loaded = cli("demo", "--load")
    assert loaded.returncode == 0, loaded.stderr
    assert "stored: snapshot 1" in loaded.stderr and "stored: snapshot 2" in loaded.stderr
    listed = cli("snapshots", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [s["id"] for s in data["snapshots"]] == [1, 2]
    for snap in data["snapshots"]:
        sources = {s["name"]: s for s in snap["sources"]}
        assert set(sources) == {"github", "aws", "gcp", "roster", "okta"}
        for name, s in sources.items():
            assert s["counts"]["principals"] > 0
            assert (s["counts"]["grants"] > 0) == (name not in ("roster", "okta"))  # who should: no grants
        # the hidden ruleset bypass list; November's quarter of activity adds an Actions run it could not read
        assert sources["github"]["counts"]["gaps"] == (1 if snap["id"] == 1 else 2)
    # loading again stores nothing new
    again = cli("demo", "--load")
    assert "already stored" in again.stderr
    assert len(json.loads(cli("snapshots", "--format", "json").stdout)["snapshots"]) == 2


def test_snapshot_command_runs_the_demo_source_and_exits_3_for_its_gap(tmp_path, cli):
    config = tmp_path / "c.toml"
    config.write_text('[sources.demo]\nstage = "before"\n')
    result = cli("-c", str(config), "snapshot", "--format", "json", "--stats")
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == 1 and data["gaps"] == 1
    assert "gap: [github] github:repo:acme/legacy-billing" in result.stderr
    stats = {s["name"]: s["stats"] for s in data["sources"]}  # --stats in JSON: each source's own
    assert stats["github"] == {"requests": 0, "retries": 0, "pages": 0, "rate_limit_points": None,
                               "elapsed_s": 0.0, "demo": True}


def test_snapshot_without_sources_is_a_clear_error(cli):
    result = cli("snapshot")
    assert result.returncode == 3
    assert "no sources configured" in result.stderr and "Traceback" not in result.stderr


def test_version(cli):
    from foureyes import __version__

    assert cli("version").stdout.strip() == f"foureyes {__version__}"
    assert json.loads(cli("version", "--format", "json").stdout)["version"] == __version__
