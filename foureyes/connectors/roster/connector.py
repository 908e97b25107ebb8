"""`[sources.roster]`: an HR roster file. The file is read and validated when the source is set
up, so a malformed roster stops `foureyes snapshot` with exit 2 before anything is read.
"""

from __future__ import annotations

from pathlib import Path

from ...config import Config, RosterSource
from ...model import SourceResult
from ..base import Progress, ProgressEvent, SourceBuilder, no_progress, utcnow
from . import records as r
from .parse import RosterRow, read_roster

SYSTEM = "roster"


class RosterConnector:
    name = "roster"

    def __init__(self, section: RosterSource, *, config: Config):
        base = Path(config.path).parent if config.path and not config.path.startswith("<") else None
        self.path, self.rows = read_roster(section, base)

    def collect(self, progress: Progress = no_progress) -> SourceResult:
        started = utcnow()
        progress(ProgressEvent(self.name, f"read {len(self.rows)} people from {self.path}"))
        out = translate(self.rows, source=self.path)
        return out.result(self.name, SYSTEM, started_at=started, finished_at=utcnow(),
                          stats={"people": len(self.rows), "file": self.path})


def translate(rows: list[RosterRow], *, source: str = "") -> SourceBuilder:
    """Roster rows as person records (pure)."""
    out = SourceBuilder()
    for row in rows:
        out.principal(r.person(
            SYSTEM, row.email, name=row.name, email=row.email, status=row.status,
            **{r.RAW_STATUS: row.raw_status, r.MANAGER: row.manager, r.DEPARTMENT: row.department,
               r.TITLE: row.title, r.EMPLOYEE_NUMBER: row.employee_number, r.START: row.start, r.END: row.end,
               "line": row.line, "file": source}))
    return out
