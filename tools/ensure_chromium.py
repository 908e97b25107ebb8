"""Make sure headless Chromium is there for the evidence report's render test (used by `make test`).

Installs it from Debian packages when it is missing (as root, with apt-get). When that is
impossible it says so loudly and exits 0: the render test then skips, the rest still runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

NAMES = ("chromium", "chromium-browser", "google-chrome")


def find() -> str | None:
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def install() -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print("ensure_chromium: installing Chromium from Debian packages", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "update", "-qq"], env=env).returncode != 0:
        return False
    return subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                          env=env).returncode == 0


def main() -> int:
    if os.environ.get("FOUREYES_CHROMIUM") or find():
        return 0
    if os.environ.get("FOUREYES_NO_CHROMIUM"):
        print("ensure_chromium: FOUREYES_NO_CHROMIUM is set: the report render test will be skipped", file=sys.stderr)
        return 0
    if install() and find():
        return 0
    print("ensure_chromium: WARNING: Chromium is not available and cannot be installed here (needs root and "
          "apt-get); the evidence report's headless render test will be skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
