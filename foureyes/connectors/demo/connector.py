"""The demo connector: `[sources.demo]` serves Acme (or a demo-connector dataset file); and
`build` / `load_into`, which the CLI, the TUI and the tests use to get Acme without a config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ...config import Config, DemoSource
from ...model import SourceResult
from ..base import Progress, ProgressEvent, Secrets, no_progress
from .acme import LABEL, TAKEN_AT, demo_config
from .aws import aws_source
from .gcp import gcp_source
from .github import github_source
from .identity import okta_source, roster_source


def build(stage: str = "after", config: Config | None = None) -> list[SourceResult]:
    """The Acme organisation at one stage ("before" or "after") as source results."""
    if stage not in TAKEN_AT:
        raise ValueError(f"unknown demo stage {stage!r}")
    cfg = config or demo_config()
    return [github_source(stage, cfg), aws_source(stage, cfg), gcp_source(stage, cfg), roster_source(stage, cfg),
            okta_source(stage, cfg)]


def load_into(store: Any) -> Iterator[tuple[Any, bool]]:
    """Store both stages (idempotent by content digest); yields (info, created)."""
    from ...model import snapshot_digest

    for stage in ("before", "after"):
        results = build(stage)
        existing = store.find_by_digest(snapshot_digest(results), LABEL[stage])
        if existing is not None:
            yield existing, False
            continue
        yield store.write_snapshot(results, taken_at=TAKEN_AT[stage], label=LABEL[stage]), True


class DemoConnector:
    """`[sources.demo]`: serves Acme (or a demo-connector dataset file) as a source."""

    name = "demo"

    def __init__(self, section: DemoSource, *, config: Config):
        self.section = section
        self.config = config
        self.secrets = Secrets()  # holds none: a dataset or the sample needs no credential

    def collect(self, progress: Progress = no_progress) -> list[SourceResult]:
        progress(ProgressEvent("demo", "building the sample organisation"))
        if self.section.dataset:
            from ...dataset import Limits, load

            path = Path(self.section.dataset)
            if not path.is_absolute() and self.config.path and not self.config.path.startswith("<"):
                path = Path(self.config.path).parent / path
            return load(path, limits=Limits(self.section.max_dataset_bytes, self.section.max_line_bytes,
                                            self.section.max_nesting))
        return build(self.section.stage)
