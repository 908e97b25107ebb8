"""Install foureyes (and extras) into the project's venv: uv when it can, pip otherwise.

`make demo` and `make test` start from a bare venv on a fresh clone; pip spends most of a
cold set-up unpacking wheels one by one, uv installs the same packages in a fraction of the
time. uv comes from PyPI into the venv itself; if it cannot be installed or fails, pip does
the work as before, so the only requirement stays python3 and make.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: install.py VENV REQUIREMENT   (e.g. .venv '.[test]')", file=sys.stderr)
        return 2
    venv, requirement = Path(argv[0]), argv[1]
    python = venv / "bin" / "python"
    started = time.monotonic()
    if _with_uv(venv, python, requirement) or _with_pip(python, requirement):
        print(f"install: {requirement} ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return 0
    return 1


def _pip(python: Path, *args: str) -> int:
    return subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           *args]).returncode


def _with_uv(venv: Path, python: Path, requirement: str) -> bool:
    if os.environ.get("FOUREYES_NO_UV"):
        return False
    uv = venv / "bin" / "uv"  # tools/bootstrap_venv.py unpacks it where it can
    if not uv.exists() and (not _ensure_pip(venv) or _pip(python, "uv") != 0):
        return False
    command = [str(uv), "pip", "install", "--quiet", "--python", str(python)]
    index = os.environ.get("PIP_INDEX_URL")  # uv does not read pip's settings; keep a mirror if one is set
    if index:
        command += ["--index-url", index]
    done = subprocess.run(command + ["-e", requirement]).returncode == 0
    if not done:
        print("install: uv failed; installing with pip instead", file=sys.stderr)
    return done


def _with_pip(python: Path, requirement: str) -> bool:
    return _ensure_pip(python.parent.parent) and _pip(python, "-e", requirement) == 0


def _ensure_pip(venv: Path) -> bool:
    """pip in a venv the bootstrap gave uv only (pip is the fallback when uv fails)."""
    python = venv / "bin" / "python"
    if subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0:
        return True
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bootstrap_venv import install_pip

    try:
        install_pip(venv)
    except Exception as exc:
        print(f"install: cannot install pip ({exc})", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
