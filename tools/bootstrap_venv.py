"""Create the project's virtual environment, even where Debian left out ensurepip, and fast.

`make demo` and `make test` must work on a machine that has only python3 and make. The
venv is created without pip (a tenth of a second) and uv's wheel for this machine is
unpacked into it from the package index: `tools/install.py` then installs with uv, and
installs pip only if uv cannot do the work. Where no uv wheel fits (or the index cannot be
read), the venv gets pip as before: from ensurepip, or, where Debian left ensurepip out,
from pip's wheel on the package index.

On a fresh clone this took `make demo` from about 17 s to about 8 s before the install
itself (ensurepip alone spent 8 s unpacking pip; pip then installed uv); see README.
"""

from __future__ import annotations

import json
import os
import platform
import stat
import subprocess
import sys
import tempfile
import urllib.request
import venv
import zipfile
from pathlib import Path


def main(target: str) -> int:
    path = Path(target)
    if (path / "bin" / "python").exists() and (_has_pip(path) or (path / "bin" / "uv").exists()):
        return 0
    if not os.environ.get("FOUREYES_NO_UV"):
        venv.EnvBuilder(with_pip=False, clear=True).create(path)
        try:
            _unpack_uv(path)
            return 0
        except Exception as exc:  # no wheel for this machine, no index: pip, as before
            print(f"bootstrap: uv is not available here ({exc}); the venv gets pip", file=sys.stderr)
    try:
        import ensurepip  # noqa: F401

        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        return 0
    except ImportError:
        pass
    print("bootstrap: ensurepip is not available; installing pip from the package index", file=sys.stderr)
    install_pip(path)
    return 0


def install_pip(path: Path) -> None:
    """pip into a venv without it: ensurepip, else pip's wheel from the package index."""
    python = path / "bin" / "python"
    if subprocess.run([str(python), "-m", "ensurepip", "--default-pip"], capture_output=True).returncode == 0:
        return
    wheel = _download_pip_wheel()
    subprocess.run([str(python), f"{wheel}/pip", "install", "--quiet", str(wheel)], check=True)


def _uv_wheel_fits(name: str) -> bool:
    """Does this uv wheel (py3-none-PLATFORM) run here? Linux (glibc) and macOS, by machine."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if not name.startswith("uv-") or not name.endswith(".whl"):
        return False
    if sys.platform.startswith("linux"):
        libc = platform.libc_ver()[0]
        return "manylinux" in name and arch in name and libc == "glibc"
    if sys.platform == "darwin":
        return "macosx" in name and (machine in name or "universal2" in name)
    return False


def _unpack_uv(path: Path) -> None:
    """uv's binary from its wheel on the package index, into the venv's bin."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(f"{index}/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    wheels = [f for f in files if _uv_wheel_fits(f["filename"]) and not f.get("yanked")]
    if not wheels:
        raise RuntimeError(f"no uv wheel for {sys.platform} {platform.machine()}")
    best = wheels[-1]  # the index lists files oldest first
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(tmp) / best["filename"]
        with urllib.request.urlopen(best["url"], timeout=120) as response:
            wheel.write_bytes(response.read())
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
            target = path / "bin" / "uv"
            target.write_bytes(archive.read(member))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    subprocess.run([str(target), "--version"], check=True, capture_output=True)


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
