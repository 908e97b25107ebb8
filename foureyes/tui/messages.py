"""What workers report back to the UI thread: dataclass messages, one per result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ..drift import Drift
from .rows import Row
from .state import Triage


@dataclass
class LoadProgress(Message):
    """A step of loading a snapshot, for the status line."""

    text: str


@dataclass
class StoreEmpty(Message):
    """The store holds no snapshot yet."""

    store: str


@dataclass
class TriageLoaded(Message):
    """A snapshot was loaded and analysed."""

    triage: Triage


@dataclass
class DriftLoaded(Message):
    """Drift of ``snapshot_id`` against the snapshot before it (None for the first one)."""

    snapshot_id: int
    drift: Drift | None


@dataclass
class RowsReady(Message):
    """A screen's table rows, built in a worker for one snapshot."""

    snapshot_id: int
    rows: list[Row]
    purpose: str = ""  # which table, when a screen has several
    context: Any = None


@dataclass
class DetailReady(Message):
    """A detail pane's content (a Rich renderable), built in a worker for one row."""

    key: str
    renderable: Any
