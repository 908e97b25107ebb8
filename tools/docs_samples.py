"""Every output sample in README.md and docs/ is what foureyes prints: this script writes them,
and the suite (tests/test_docs_samples.py) fails when one differs from what it would write.

A sample is a fenced block under a marker comment:

    <!-- sample -->
    ```console
    $ foureyes conflicts --rule FE-SOD-004
    (what it prints, written by this script)
    ```

Each `$` line is run (a line ending in `\\` goes on), and its output replaces whatever
followed it. Options in the marker, `<!-- sample: stderr keys=id,name first=2 -->`:

- `stderr`: show the diagnostics too (after the data); without it, stdout only
- `keys=a,b.c,items.id`: a JSON answer shows only these keys (dotted paths; a list applies
  the rest of the path to its items); others are summed up as `"…": N more keys`
- `first=N`: a JSON list shows its first N items and `"… (N more)"` (default 1)
- `lines=N`: only the first N lines, then `…`
- `exit=N`: the command must exit N (default: 0, 1 or 3; a usage error, 2, fails the sample)
- `tui=WxH keys=2,down,enter`: not a command but the demo's terminal UI at that size after
  those keys, as text (the block's lines are the screen)
- `quiet`: run the block's commands and check their exit codes, but leave the block as it is
  written: a list of commands (`foureyes …` lines, `$` optional, `# comments` allowed). The
  commands that open the terminal UI (`review`, `tui`, `demo`) are not run there.
- `world=fresh`: run in a copy of the file's starting world, leaving the shared one as it was
  (alternatives that would otherwise change what the next samples show)

A `<!-- sample-file: NAME -->` marker before a block writes the block's text to NAME in
the sample's directory first (a custom rule file, a roster with a typo).

Every sample of one file runs in one world, in order, so a campaign created in one sample
is there in the next: a home directory of its own holding the demo's two snapshots
(`foureyes demo --load`), the demo's config in ./foureyes.toml (`foureyes demo --config`),
terminals 100 columns wide, and the clock at the demo's November snapshot, 2026-11-02 09:00
UTC (time-machine; durations measured by the connectors' clock read 0). The home directory
shows as `~` in the output.

    python tools/docs_samples.py           # rewrite the samples
    python tools/docs_samples.py --check   # exit 1 and show what differs (what the test does)
"""

from __future__ import annotations

import asyncio
import difflib
import io
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
FILES = ("README.md", "docs")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # an hour after the demo's November snapshot
WIDTH = 100
MARKER = re.compile(r"^<!-- sample(?::\s*(?P<options>.*?))?\s*-->$")
FILE_MARKER = re.compile(r"^<!-- sample-file:\s*(?P<name>\S+)\s*-->$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<lang>[\w-]*)\s*$")


@dataclass
class Block:
    """A fenced block of a Markdown file: where its lines are and what its marker asks."""

    start: int  # the index of the opening fence
    end: int  # the index of the closing fence
    lang: str
    lines: list[str]
    options: dict[str, str] | None = None  # a sample's options; None: not a sample
    file: str | None = None  # a sample-file's name


@dataclass
class Result:
    path: Path
    expected: str
    actual: str
    samples: int = 0
    problems: list[str] = field(default_factory=list)


def blocks(lines: list[str]) -> Iterator[Block]:
    """Every fenced block, with the marker on the line before it (blank lines between allowed)."""
    n = 0
    while n < len(lines):
        opened = FENCE.match(lines[n])
        if not opened:
            n += 1
            continue
        fence = opened.group("fence")
        close = next((m for m in range(n + 1, len(lines)) if lines[m].startswith(fence)
                      and not lines[m][len(fence):].strip()), len(lines))
        before = n - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = MARKER.match(lines[before].strip()) if before >= 0 else None
        file_marker = FILE_MARKER.match(lines[before].strip()) if before >= 0 else None
        options = _options(marker.group("options") or "") if marker else None
        yield Block(n, close, opened.group("lang"), lines[n + 1:close], options,
                    file_marker.group("name") if file_marker else None)
        n = close + 1


def _options(text: str) -> dict[str, str]:
    found = {}
    for word in shlex.split(text):
        key, _, value = word.partition("=")
        found[key] = value
    return found


# ---------------------------------------------------------------- the world the samples run in


class World:
    """A home of its own with the demo loaded and its config written, for one file's samples."""

    def __init__(self, template: Path) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="fe-docs-"))
        shutil.copytree(template, self.home, dirs_exist_ok=True, symlinks=True)
        self.env = environment(self.home)

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def run(self, args: list[str]) -> tuple[int, str, str]:
        return run(args, self.env, self.home)

    def shown(self, text: str) -> str:
        """Output as a reader's own would read: the home directory as ~, no trailing blanks."""
        text = text.replace(str(self.home), "~")
        return "\n".join(line.rstrip() for line in text.rstrip("\n").split("\n"))


def environment(home: Path) -> dict[str, str]:
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
           "COLUMNS": str(WIDTH), "LINES": "40", "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8",
           "TERM": "dumb"}
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """`foureyes ARGS` in this process, as a shell in ``cwd`` with ``env`` would run it."""
    from click.testing import CliRunner

    from foureyes.cli import main

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, args, prog_name="foureyes", catch_exceptions=True)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        stderr += "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
    return result.exit_code, result.stdout, stderr


def template() -> Path:
    """The demo loaded and its config written, once; each file's world is a copy."""
    home = Path(tempfile.mkdtemp(prefix="fe-docs-template-"))
    env = environment(home)
    code, _, err = run(["demo", "--load"], env, home)
    assert code == 0, err
    code, out, err = run(["demo", "--config"], env, home)
    assert code == 0, err
    (home / "foureyes.toml").write_text(out, encoding="utf-8")
    return home


# ---------------------------------------------------------------- one sample


INTERACTIVE = ("review", "tui", "demo")  # they open the terminal UI: documented, not run


def _is_command(line: str, bare: bool) -> bool:
    return line.startswith("$ ") or (bare and line.startswith("foureyes "))


def commands(lines: list[str], *, bare: bool = False) -> list[str]:
    """The `$` lines of a block (with ``bare``, `foureyes …` lines too), continuations joined."""
    return [" ".join(part.strip().removeprefix("$ ").rstrip("\\").strip() for part in written)
            for written in command_lines(lines, bare=bare)]


def command_lines(lines: list[str], *, bare: bool = False) -> list[list[str]]:
    """Each command as written (with its continuation lines), to be kept above its output."""
    out: list[list[str]] = []
    joining = False
    for line in lines:
        if joining:
            out[-1].append(line)
        elif _is_command(line, bare):
            out.append([line])
        else:
            continue
        joining = line.rstrip().endswith("\\")
    return out


def sample(world: World, block: Block) -> tuple[list[str], list[str]]:
    """The block's new lines, and what went wrong."""
    options = block.options or {}
    if "tui" in options:
        return tui(world, options), []
    problems: list[str] = []
    out: list[str] = []
    quiet = "quiet" in options
    for written, command in zip(command_lines(block.lines, bare=quiet), commands(block.lines, bare=quiet)):
        args = shlex.split(command, comments=True)
        if quiet and len(args) > 1 and args[1] in INTERACTIVE and not {"--load", "--config"} & set(args):
            continue
        target = None
        if ">" in args:
            at = args.index(">")
            args, target = args[:at], args[at + 1]
        if not args or args[0] != "foureyes":
            problems.append(f"not a foureyes command: {command}")
            continue
        code, stdout, stderr = world.run(args[1:])
        wanted = {int(options["exit"])} if "exit" in options else {0, 1, 3}
        if code not in wanted:
            problems.append(f"`{command}` exited {code} (expected {sorted(wanted)}): {stderr.strip()[-400:]}")
        if target is not None:
            (world.home / target).write_text(stdout, encoding="utf-8")
            stdout = ""
        text = stdout
        if "keys" in options or "first" in options:
            try:
                text = compact_json(project(json.loads(stdout), options.get("keys", ""),
                                            int(options.get("first", "1")))) + "\n"
            except ValueError as exc:
                problems.append(f"`{command}`: not JSON ({exc})")
        if "stderr" in options and stderr.strip():
            text = text.rstrip("\n") + ("\n" if text.strip() else "") + stderr
        shown = world.shown(text).split("\n") if text.strip() else []
        if "lines" in options and len(shown) > int(options["lines"]):
            shown = shown[:int(options["lines"])] + ["…"]
        if out:
            out.append("")  # a blank line between one command's output and the next command
        out += written
        out += shown
    return (block.lines if quiet else out), problems


def tui(world: World, options: dict[str, str]) -> list[str]:
    """The demo's terminal UI after some keys, as text."""
    width, _, height = options["tui"].partition("x")
    keys = [k for k in options.get("keys", "").split(",") if k]

    async def main() -> str:
        from foureyes.tui import make_app

        url = f"sqlite:///{world.home / '.local' / 'share' / 'foureyes' / 'foureyes.db'}"
        app = make_app(store_url=url, demo=True)
        async with app.run_test(size=(int(width), int(height))) as pilot:
            await _settle(app, pilot)
            for key in keys:
                await pilot.press(key)
                await _settle(app, pilot)
            return _screen(app)

    return [line.rstrip() for line in asyncio.run(main()).rstrip("\n").split("\n")]


async def _settle(app: Any, pilot: Any) -> None:
    quiet = 0
    for _ in range(20):
        if len(app.workers):
            await app.workers.wait_for_complete()
            quiet = 0
        await pilot.pause()
        quiet = 0 if len(app.workers) else quiet + 1
        if quiet == 2:
            return


def _screen(app: Any) -> str:
    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


# ---------------------------------------------------------------- JSON, cut to what a section is about


def project(value: Any, keys: str, first: int) -> Any:
    """``value`` with only the dotted ``keys`` (all when empty) and lists cut to ``first`` items."""
    paths = [k.split(".") for k in keys.split(",") if k]
    return _project(value, paths, first)


def _project(value: Any, paths: list[list[str]], first: int) -> Any:
    if isinstance(value, list):
        kept = [_project(v, paths, first) for v in value[:first]]
        if len(value) > first:
            kept.append(f"… ({len(value) - first} more)")
        return kept
    if isinstance(value, dict):
        if not paths or any(not p for p in paths):
            return {k: _project(v, [], first) for k, v in value.items()}
        wanted: dict[str, list[list[str]]] = {}
        for path in paths:
            wanted.setdefault(path[0], []).append(path[1:])
        out = {k: _project(value[k], [p for p in wanted[k] if p] if all(wanted[k]) else [], first)
               for k in value if k in wanted}
        left = len(value) - len(out)
        if left:
            out["…"] = f"{left} more key{'s' if left != 1 else ''}"
        return out
    return value


def compact_json(value: Any, indent: int = 0) -> str:
    """JSON that reads like the docs': what fits in the width on one line, else one entry a line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= WIDTH or not isinstance(value, (list, dict)) or not value:
        return flat
    pad = " " * (indent + 1)
    if isinstance(value, list):
        items = [compact_json(v, indent + 1) for v in value]
        return "[" + (",\n" + pad).join(items) + "]"
    items = [f"{json.dumps(k, ensure_ascii=False)}: " + compact_json(v, indent + 1 + len(json.dumps(k)) + 2)
             for k, v in value.items()]
    return "{" + (",\n" + pad).join(items) + "}"


# ---------------------------------------------------------------- files


def markdown_files(root: Path = ROOT) -> list[Path]:
    found = []
    for name in FILES:
        path = root / name
        found += sorted(path.rglob("*.md")) if path.is_dir() else [path]
    return found


def regenerate(path: Path, base: Path) -> Result:
    """The file with every sample written anew (and what went wrong on the way)."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    found = [b for b in blocks(lines) if b.options is not None or b.file]
    result = Result(path, text, text)
    if not found:
        return result
    world = World(base)
    try:
        replaced: list[tuple[int, int, list[str]]] = []
        for block in found:
            if block.file:
                (world.home / block.file).write_text("\n".join(block.lines) + "\n", encoding="utf-8")
                continue
            if (block.options or {}).get("world") == "fresh":
                fresh = World(base)
                try:
                    new, problems = sample(fresh, block)
                finally:
                    fresh.close()
            else:
                new, problems = sample(world, block)
            result.samples += 1
            result.problems += [f"{path.relative_to(ROOT)}:{block.start + 1}: {p}" for p in problems]
            replaced.append((block.start + 1, block.end, new))
        for start, end, new in reversed(replaced):
            lines[start:end] = new
        result.actual = "\n".join(lines)
    finally:
        world.close()
    return result


def regenerate_all(root: Path = ROOT) -> list[Result]:
    import time_machine

    from foureyes.connectors import base as connector_base

    clock = connector_base.clock
    connector_base.clock = lambda: 0.0  # a source's time reads 0.0 s: the samples do not depend on the machine
    try:
        with time_machine.travel(NOW, tick=False):
            home = template()
            try:
                return [regenerate(path, home) for path in markdown_files(root)]
            finally:
                shutil.rmtree(home, ignore_errors=True)
    finally:
        connector_base.clock = clock


def main(argv: list[str]) -> int:
    check = "--check" in argv
    sys.path.insert(0, str(ROOT))
    status = 0
    for result in regenerate_all():
        for problem in result.problems:
            print(problem, file=sys.stderr)
            status = 1
        if result.actual != result.expected:
            if check:
                status = 1
                sys.stdout.writelines(difflib.unified_diff(
                    result.expected.splitlines(True), result.actual.splitlines(True),
                    f"{result.path.relative_to(ROOT)} (in the file)", f"{result.path.relative_to(ROOT)} (printed)"))
            else:
                result.path.write_text(result.actual, encoding="utf-8")
                print(f"rewrote {result.samples} sample(s) in {result.path.relative_to(ROOT)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
