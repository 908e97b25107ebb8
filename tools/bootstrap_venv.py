"""Create the project's virtual environment, even where Debian left out ensurepip.

`make demo` and `make test` must work on a machine that has only python3 and make.
Debian's python3 lacks ensurepip unless python3-venv is installed; then we create the
venv without pip and install pip from its wheel on the package index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path


def main(target: str) -> int:
    path = Path(target)
    if (path / "bin" / "python").exists() and _has_pip(path):
        return 0
    try:
        import ensurepip  # noqa: F401

        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        return 0
    except ImportError:
        pass
    print("bootstrap: ensurepip is not available; installing pip from the package index", file=sys.stderr)
    venv.EnvBuilder(with_pip=False, clear=True).create(path)
    wheel = _download_pip_wheel()
    python = path / "bin" / "python"
    subprocess.run([str(python), f"{wheel}/pip", "install", "--quiet", str(wheel)], check=True)
    return 0


def _has_pip(path: Path) -> bool:
    return subprocess.run([str(path / "bin" / "python"), "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


def _download_pip_wheel() -> Path:
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(f"{index}/pip/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    wheels = [f for f in files if f["filename"].endswith("-py3-none-any.whl") and not f.get("yanked")]
    if not wheels:
        raise SystemExit("bootstrap: no pip wheel found on the package index")
    best = wheels[-1]
    out = Path(tempfile.mkdtemp()) / best["filename"]
    with urllib.request.urlopen(best["url"], timeout=120) as response:
        out.write_bytes(response.read())
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".venv"))
