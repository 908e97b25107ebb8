"""`foureyes …`: the command line. Thin: parse, call the core, print.

Data goes to stdout, diagnostics to stderr; exit codes follow the CLI contract
(0 ok, 1 findings, 2 usage or config error, 3 source failure or gaps).
"""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..errors import EXIT_USAGE, FoureyesError
from .common import AppContext, pass_app

INTERNAL_ERROR = 70


class FoureyesGroup(click.Group):
    """Turns every FoureyesError into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except FoureyesError as exc:
            click.echo(f"foureyes: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("foureyes: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug: one line, no traceback (it may carry secrets)
            if os.environ.get("FOUREYES_DEBUG"):
                raise
            click.echo(
                f"foureyes: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                " (set FOUREYES_DEBUG=1 to see the traceback, and please report it)",
                err=True,
            )
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


# Each module adds its commands to `main` when imported.
from . import activity, analysis, audit, campaigns, exports, snapshots  # noqa: E402,F401

__all__ = ["main", "pass_app", "EXIT_USAGE"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
