"""Run a command with a throwaway PostgreSQL server on loopback (used by `make test`).

Installs PostgreSQL from Debian packages when it is missing (as root, with apt-get),
starts it under a temporary directory on a free port, exports FOUREYES_TEST_PG_URL, runs
the command, and stops the server whatever happens. Without PostgreSQL the command still
runs, with a loud warning, and the PostgreSQL tests skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def install() -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print("with_postgres: installing PostgreSQL from Debian packages", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = subprocess.run(["apt-get", "update", "-qq"], env=env)
    if update.returncode != 0:
        return False
    return subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
                          env=env).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print("usage: with_postgres.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    if os.environ.get("FOUREYES_TEST_PG_URL") or os.environ.get("FOUREYES_NO_POSTGRES"):
        return subprocess.run(argv).returncode
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not (initdb and pg_ctl) and install():
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not (initdb and pg_ctl):
        print("with_postgres: WARNING: PostgreSQL is not available and cannot be installed here; "
              "the PostgreSQL store tests will be skipped", file=sys.stderr)
        return subprocess.run(argv).returncode

    base = tempfile.mkdtemp(prefix="foureyes-pg-")
    data, sockets = os.path.join(base, "data"), os.path.join(base, "run")
    os.makedirs(sockets)
    # initdb refuses to run as root: run the server as the postgres user when we are root.
    prefix: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            account = pwd.getpwnam("postgres")
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
    # A cancelled run (SIGTERM, SIGHUP) still stops the server and removes its directory.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: sys.exit(128 + number))
    port = free_port()
    log = os.path.join(base, "server.log")
    try:
        subprocess.run(prefix + [initdb, "-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL)
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(prefix + [pg_ctl, "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
                       check=True, stdout=subprocess.DEVNULL)
        url = f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
        print(f"with_postgres: PostgreSQL on 127.0.0.1:{port} ({base})", file=sys.stderr)
        env = dict(os.environ, FOUREYES_TEST_PG_URL=url)
        return subprocess.run(argv, env=env).returncode
    except subprocess.CalledProcessError as exc:
        print(f"with_postgres: could not start PostgreSQL ({exc}); see {log}", file=sys.stderr)
        return subprocess.run(argv).returncode
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
