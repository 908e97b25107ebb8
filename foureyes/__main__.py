"""`python -m foureyes` runs the CLI."""

from .cli import main

main()
