"""One place where text leaves foureyes: foureyes/cli/output.py writes to the standard streams,
through the neutralisers of foureyes/textsafe.py; nothing else prints, echoes or writes to them.

A new `print` or `click.echo` elsewhere would skip the escaping of control and bidi characters
(found: gap lines and error messages carried a title-setting escape to the terminal).
"""

from __future__ import annotations

import ast
from pathlib import Path

import foureyes

PACKAGE = Path(foureyes.__file__).parent
THE_PLACE = PACKAGE / "cli" / "output.py"
WRITERS = {"echo", "secho", "confirm", "prompt", "write", "writelines", "print", "print_json", "log"}


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("print", "Console", "input"):
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute) and func.attr in WRITERS:
            owner = ast.unparse(func.value)
            if owner in ("click", "sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__") \
                    or owner.endswith(("console", "console()", "Console()")):
                found.append((node.lineno, f"{owner}.{func.attr}"))
        elif isinstance(func, ast.Attribute) and func.attr == "Console":
            found.append((node.lineno, ast.unparse(func)))
        elif isinstance(func, ast.Attribute) and func.attr == "write" and ast.unparse(func.value) == "os":
            found.append((node.lineno, "os.write"))
    return found


def test_nothing_outside_the_output_module_writes_to_a_terminal():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == THE_PLACE:
            continue
        for line, call in _writes(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {call}")
    assert offenders == [], "write through foureyes.cli.output instead:\n" + "\n".join(offenders)


def test_the_guard_sees_every_kind_of_write():
    sample = ast.parse("import click, sys\nprint('x')\nclick.echo('x', err=True)\nsys.stderr.write('x')\n"
                       "stdout_console().print('x')\nfrom rich.console import Console\nConsole()\n")
    assert [call for _, call in _writes(sample)] == ["print", "click.echo", "sys.stderr.write",
                                                      "stdout_console().print", "Console"]
    assert _writes(ast.parse(THE_PLACE.read_text(encoding="utf-8")))  # the one place does write
