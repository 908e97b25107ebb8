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


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_protected(path: str | Path, protected: tuple[Path, ...]) -> None:
    """One line (exit 2) when ``path`` names one of the ``protected`` files, by any name or link."""
    target = Path(path).expanduser()
    if any(_same_file(target, p) for p in protected):
        raise InputError(f"{target}: is the foureyes store (or one of its files); an export never replaces it, "
                         "name another file")


def write_file(path: str | Path, text: str, *, force: bool = False, protected: tuple[Path, ...] = ()) -> Path:
    """Write ``text`` as UTF-8 to ``path`` through a temporary file and a rename.

    An existing file is replaced only with ``force``; a ``protected`` file (the store's
    database and its journal files) never, whatever its name or link says.
    """
    target = Path(path).expanduser()
    refuse_protected(target, protected)
    if target.is_dir():
        raise InputError(f"{target}: is a directory; name a file")
    if not target.parent.is_dir():
        raise InputError(f"{target}: the directory {target.parent} does not exist")
    if not force and (target.exists() or target.is_symlink()):
        raise InputError(f"{target}: already exists; name another file (on the command line, --force replaces it)")
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
