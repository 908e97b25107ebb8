"""`foureyes …`: the command line. Thin: parse, call the core, print.

Data goes to stdout, diagnostics to stderr; exit codes follow the CLI contract
(0 ok, 1 findings, 2 usage or config error, 3 source failure or gaps).
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading

import click

from .. import __version__
from ..errors import EXIT_USAGE, FoureyesError
from ..textsafe import redact_credentials
from . import output
from .common import AppContext, pass_app

INTERNAL_ERROR = 70
CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away
_QUIET_LIBRARIES = logging.NullHandler()


def _leave_now_if_threads_would_hold(code: int) -> None:
    """Exit at once when threads still work: a connector's pool threads are joined when the
    interpreter exits (`concurrent.futures` joins its workers at exit even when they are daemon
    threads, as they are when a source's daemon thread made the pool), so after Ctrl-C a worker
    waiting on a server that stalls held foureyes for as long as the server did. Nothing is half-written (a snapshot is stored in one transaction
    after every source finished), so leaving without the interpreter's clean-up loses nothing."""
    if any(t.is_alive() and t is not threading.main_thread() for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


class FoureyesGroup(click.Group):
    """Turns every FoureyesError into one line on stderr and its exit code; a closed pipe ends quietly."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a reader that went away shows here, not as noise at exit
        except FoureyesError as exc:
            output.error(exc)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            output.note("foureyes: interrupted")
            _leave_now_if_threads_would_hold(130)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except OSError as exc:
            if not _closed_pipe(exc):
                _internal(ctx, exc)
            _discard_stdout()  # `foureyes … | head`: the reader has what it wanted
            ctx.exit(CLOSED_PIPE)
        except Exception as exc:  # a bug: one line, no traceback (it may carry secrets)
            _internal(ctx, exc)


def _closed_pipe(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass


def _internal(ctx: click.Context, exc: Exception) -> None:
    if os.environ.get("FOUREYES_DEBUG"):
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    output.note(f"foureyes: internal error: {type(exc).__name__}: {redact_credentials(first)}"
                " (set FOUREYES_DEBUG=1 to see the traceback, and please report it)")
    ctx.exit(INTERNAL_ERROR)


@click.group(cls=FoureyesGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file. Default: $FOUREYES_CONFIG, else ./foureyes.toml, else the user config dir.",
)
@click.version_option(__version__, "-V", "--version", prog_name="foureyes")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """foureyes: nobody should write code, approve it and ship it alone.

    Snapshots who can do what in GitHub, GitHub Actions, AWS and GCP, links each person's
    accounts, and finds separation-of-duties conflicts with the path that explains them.
    """
    ctx.obj = AppContext(config_path)
    # Libraries' log lines (urllib3's retries, a client's warnings) would reach stderr raw and
    # unscrubbed; foureyes says what matters itself. FOUREYES_DEBUG=1 lets them through.
    root = logging.getLogger()
    if not os.environ.get("FOUREYES_DEBUG") and _QUIET_LIBRARIES not in root.handlers:
        root.addHandler(_QUIET_LIBRARIES)


# Each module adds its commands to `main` when imported.
from . import activity, analysis, audit, campaigns, exports, snapshots  # noqa: E402,F401

__all__ = ["main", "pass_app", "EXIT_USAGE"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
