"""Errors a user can act on, each with the exit code the CLI contract gives it.

The CLI prints ``str(error)`` as one line on stderr and exits with ``error.exit_code``;
nothing else in foureyes decides exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_SOURCE = 3


class FoureyesError(Exception):
    """Base for errors shown to the user as one line."""

    exit_code = EXIT_USAGE


class LocatedError(FoureyesError):
    """A problem at one place in a file: ``path:line: key: message`` (line and key when known)."""

    def __init__(self, path: str, message: str, *, key: str = "", line: int | None = None):
        self.path = path
        self.key = key
        self.line = line
        self.message = message
        where = path if line is None else f"{path}:{line}"
        subject = f"{where}: {key}: " if key else f"{where}: "
        super().__init__(subject + message)


class ConfigError(LocatedError):
    """The config file is missing, malformed, or has an unknown key or wrong type."""


class InputError(FoureyesError):
    """A file given on the command line (rules, exceptions, dataset) is malformed."""


class InputFileError(LocatedError, InputError):
    """A rule pack, exception file, catalogue or keymap is unreadable or has a wrong key."""


class StoreError(FoureyesError):
    """The store cannot be opened, is from a newer foureyes, or lacks what was asked."""


class NotFound(FoureyesError):
    """A snapshot, campaign or item that was named does not exist."""


class SourceError(FoureyesError):
    """A connector could not run at all (bad credentials, missing dependency)."""

    exit_code = EXIT_SOURCE
