"""Start-up of the command line: what it imports, and that the shortcuts print what rich prints.

The CLI defers its heavy imports (rich, httpx, the GitHub/migrate/check command modules, archive
readers) to the commands that use them, and prints plain text without rich when the stream is not
a terminal. These tests check what a command leaves out of ``sys.modules`` and that every output
shortcut writes exactly what ``rich.console.Console`` writes. Start-up figures are printed by
``python -X importtime -m pagesindex ...``, not asserted (no timed tests).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from pagesindex import cli
from pagesindex.cli import LazyConsole, main

#: Modules a command must not import unless it uses them.
HEAVY = ["rich", "httpx", "readme_renderer", "docutils", "jinja2", "zipfile", "tarfile", "pagesindex.cli_github",
         "pagesindex.cli_migrate", "pagesindex.cli_checks", "pagesindex.cli_workflows", "pagesindex.github_api"]

_PROBE = r"""
import json, os, sys
from pagesindex.cli import main
out = os.open(os.devnull, os.O_WRONLY)
os.dup2(out, 1)
code = 0
try:
    main(sys.argv[2:], prog_name="pagesindex")
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def loaded_by(tmp_path: Path, *args: str, env=None) -> set:
    """The modules in ``sys.modules`` after ``pagesindex ARGS`` ran in a fresh interpreter."""
    report = tmp_path / "modules.json"
    full_env = dict(os.environ, **(env or {}))
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        full_env.pop(var, None)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(report), *args], capture_output=True, text=True, env=full_env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    assert data["code"] in (0, None), (data["code"], proc.stderr)
    return set(data["modules"])


def heavy_in(modules: set) -> list:
    return [m for m in HEAVY if m in modules]


def test_version_imports_nothing_heavy(tmp_path):
    modules = loaded_by(tmp_path, "--version")
    assert heavy_in(modules) == []
    assert "pagesindex.state" not in modules and "packaging.version" not in modules


def test_no_change_build_imports_nothing_heavy(tmp_path, index, wheel):
    run_cli("add", str(wheel("alpha", "1.0")), index=index.root)
    run_cli("build", index=index.root)
    modules = loaded_by(tmp_path, "--index", str(index.root), "build")
    assert heavy_in(modules) == []


def test_delete_does_not_import_the_github_client(tmp_path, index, wheel):
    run_cli("add", str(wheel("alpha", "1.0")), index=index.root)
    modules = loaded_by(tmp_path, "--index", str(index.root), "delete", "alpha")
    assert "pagesindex.cli_github" in modules
    assert "httpx" not in modules and "pagesindex.github_api" not in modules and "rich" not in modules
    assert not (index.root / "projects" / "alpha.json").exists()


def test_help_lists_every_command_with_its_short_help():
    proc = run_cli("--help")
    ctx = main.make_context("pagesindex", ["--help"], resilient_parsing=True)
    names = main.list_commands(ctx)
    assert set(main.lazy_commands) <= set(names)
    listed = proc.stdout.split("Commands:", 1)[1]
    for name in names:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name, name
        short = command.get_short_help_str(limit=20)
        assert short, name
        assert any(line.split()[:1] == [name] for line in listed.splitlines()), name


def test_an_unknown_command_is_a_usage_error():
    proc = run_cli("frobnicate", check=False)
    assert proc.returncode == 1  # one "error:" line and exit 1, as every other error (issue 13, item 8)
    assert "No such command 'frobnicate'" in proc.stderr


def test_lazy_command_modules_register_the_names_they_are_listed_under():
    ctx = main.make_context("pagesindex", ["--help"], resilient_parsing=True)
    for name, module in main.lazy_commands.items():
        command = main.get_command(ctx, name)
        assert command is not None, f"{module} does not define {name!r}"
        assert command.callback.__module__ == f"pagesindex.{module}"


CASES = [
    "plain", "", " leading and trailing  ", "two\nlines", "ends with a new line\n", "\n", "x" * 500 + " " + "y" * 300,
    "with [bold]markup[/]", "[", "]", "\\[not a tag]", "list [1, 2]", "tab\there", "bell\x07", "carriage\rreturn",
    "esc\x1b[31mred", "é non-ASCII", "wide 漢字", "emoji :smile:", "built 2 projects into /tmp/x/_site: 0 rendered",
]


def rich_output(objects, stderr=False, **kwargs) -> str:
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, highlight=False, soft_wrap=True, emoji=False).print(*objects, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("stderr", [False, True])
@pytest.mark.parametrize("markup", [None, True, False])
@pytest.mark.parametrize("text", CASES)
def test_lazy_console_prints_what_rich_prints(monkeypatch, text, markup, stderr):
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr" if stderr else "stdout", stream)
    kwargs = {} if markup is None else {"markup": markup}
    LazyConsole(stderr=stderr).print(text, **kwargs)
    assert stream.getvalue() == rich_output([text], **kwargs)


def test_lazy_console_wraps_as_rich_when_asked(monkeypatch):
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    text = "word " * 40
    LazyConsole().print(text, soft_wrap=False)
    assert sys.stdout.getvalue() == rich_output([text], soft_wrap=False)
    assert sys.stdout.getvalue().count("\n") > 1


def test_lazy_console_skips_rich_only_for_plain_text(monkeypatch):
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    console = LazyConsole()
    console.print("plain text: no markup")
    assert console._rich is None
    console.print("[bold]markup[/]")
    assert console._rich is not None
    assert sys.stdout.getvalue() == "plain text: no markup\nmarkup\n"


@pytest.mark.parametrize("env, plain", [({}, True), ({"FORCE_COLOR": "1"}, False), ({"FORCE_COLOR": ""}, True),
                                        ({"TTY_COMPATIBLE": "1"}, False), ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, True)])
def test_lazy_console_reads_the_terminal_as_rich_does(monkeypatch, env, plain):
    from rich.console import Console

    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert LazyConsole().is_plain() is plain
    assert Console().is_terminal is (not plain)


@pytest.mark.parametrize("message", ["no project 'x' on this index", "bad value '[/]' :smile:", "tab\there", "é"])
def test_errors_print_as_before(monkeypatch, message):
    from rich.text import Text

    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    cli.print_error(message)
    assert sys.stderr.getvalue() == rich_output([Text.assemble(("error:", "red"), " ", message)], soft_wrap=True)


def test_errors_keep_their_colour_when_colour_is_forced(tmp_path):
    env = dict(os.environ, FORCE_COLOR="1")
    env.pop("TTY_COMPATIBLE", None)
    proc = subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(tmp_path / "none"), "build"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("\x1b[31merror:\x1b[0m "), repr(proc.stderr)
    env.pop("FORCE_COLOR")
    proc = subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(tmp_path / "none"), "build"],
                          capture_output=True, text=True, env=env)
    assert proc.stderr.startswith("error: ") and "\x1b" not in proc.stderr


def test_progress_draws_nothing_off_a_terminal(monkeypatch):
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with cli._progress() as progress:
        task = progress.add_task("rendering", total=None)
        progress.update(task, description="rendering x")
        progress.advance(task)
    assert sys.stderr.getvalue() == ""


def test_output_to_a_closed_pipe_exits_quietly(tmp_path, index, wheel):
    run_cli("add", str(wheel("alpha", "1.0")), index=index.root)
    script = "import sys; from pagesindex.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", script, "--index", str(index.root), "build"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the command prints
    err = proc.stderr.read().decode()
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
