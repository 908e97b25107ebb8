"""Export formats, and writing an export to a file whole: a reader (or a crash) never sees
half a report.

Shared by the CLI's ``--out`` and the TUI's export dialog; errors are one line (exit 2).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class ExportFormat:
    """A way an export leaves: a file format (with the file name it suggests), or not a file."""

    name: str
    label: str
    suffix: str = ""  # "": not a file (GitHub issues are filed, not written)

    @property
    def is_file(self) -> bool:
        return bool(self.suffix)


def write_file(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` through a temporary file and a rename."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"{target}: is a directory; name a file")
    if not target.parent.is_dir():
        raise InputError(f"{target}: the directory {target.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror})") from None
    return target
