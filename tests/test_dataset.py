"""Demo-connector datasets: a lossless round trip, and clear errors for malformed files."""

from __future__ import annotations

import json

import pytest

from foureyes import dataset
from foureyes.connectors.demo import build
from foureyes.errors import InputError
from foureyes.model import snapshot_digest


@pytest.mark.parametrize("name", ["acme.jsonl", "acme.jsonl.gz"])
def test_round_trip_is_lossless(tmp_path, name):
    results = build("after")
    path = tmp_path / name
    dataset.dump(results, path)
    loaded = dataset.load(path)
    assert snapshot_digest(loaded) == snapshot_digest(results)
    before = {g.key: g for r in results for g in r.grants}
    after = {g.key: g for r in loaded for g in r.grants}
    assert all(before[k] == after[k] and dict(before[k].attrs) == dict(after[k].attrs) for k in before)


def test_snapshot_from_a_dataset_file(tmp_path, cli):
    path = tmp_path / "org.jsonl"
    dataset.dump(build("before"), path)
    config = tmp_path / "c.toml"
    config.write_text('[sources.demo]\ndataset = "org.jsonl"\n')
    result = cli("-c", str(config), "snapshot", "--format", "json")
    assert result.returncode == 3  # the dataset carries Acme's gap
    assert {s["name"] for s in json.loads(result.stdout)["sources"]} == {"github", "aws", "gcp", "roster", "okta"}


def test_malformed_lines_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format": "foureyes-dataset/1", "sources": [{"name": "x", "system": "github"}]}\n'
                    '{"source": "x", "type": "grant", "system": "github"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: malformed grant"):
        dataset.load(path)
    path.write_text('{"format": "something else"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: not a foureyes dataset"):
        dataset.load(path)
    path.write_text('{"format": "foureyes-dataset/1", "sources": []}\n{oops\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        dataset.load(path)
