"""Each new snapshot checks the grants reviewers revoked, and says how they stand."""

from __future__ import annotations

import json


def test_a_new_snapshot_verifies_a_revocation(cli, tmp_path, demo_config_file):
    store = f"sqlite:///{tmp_path / 'ft.db'}"
    env = {"FOUREYES_STORE_URL": store}
    config = tmp_path / "with-demo.toml"
    config.write_text(demo_config_file.read_text() + '\n[sources.demo]\nstage = "before"\n')
    assert cli("-c", str(config), "snapshot", env=env).returncode == 3  # Acme has a gap
    created = cli("-c", str(config), "campaign", "new", "--scope", "all", "--person", "leo.lindqvist@acme.com",
                  "--fallback", "ciso@acme.com", "--as", "security@acme.com", "--format", "json", env=env)
    assert created.returncode == 0, created.stderr
    campaign = json.loads(created.stdout)
    items = json.loads(cli("-c", str(config), "campaign", "show", str(campaign["id"]), "--format", "json",
                           env=env).stdout)["items"]
    leo_write = next(i for i in items if i["entitlement"] == "write" and i["resource"].endswith("payments-worker"))
    decided = cli("-c", str(config), "decide", str(leo_write["id"]), "revoke", "--reason", "left the company",
                  "--as", "ciso@acme.com", env=env)
    assert decided.returncode == 0, decided.stderr
    config.write_text(demo_config_file.read_text() + '\n[sources.demo]\nstage = "after"\n')
    later = cli("-c", str(config), "snapshot", env=env)
    assert "revocations: 1 verified" in later.stderr, later.stderr
