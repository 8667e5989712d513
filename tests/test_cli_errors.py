"""Errors of the command line itself (issue 13, item 8): bad settings in the environment, bad
options, a busy port and the modes of the files written.

Every failure keeps the contract of the README: one line ``error: ...`` naming the bad value,
exit status 1, nothing written (:func:`hostile.assert_refused`). Commands run in this process
through click's test runner, except where a real process is the point (a port, a umask).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from factory import make_sdist, make_wheel
from hostile import assert_refused, cli, snapshot

from pagesindex import limits
from pagesindex.errors import InvalidSetting
from pagesindex.state import Index

#: Values that no setting takes: a superscript digit (``str.isdigit`` says yes, ``int`` no),
#: words, signs, zero, an exponent, a non-ASCII digit, not-a-number.
BAD_COUNTS = ["²", "abc", "-1", "0", "1e3", "١٢", "nan", "12 34"]
BAD_SECONDS = ["abc", "-1", "nan", "inf", "1e400", "²", "0x10"]

LIMIT_VARS = [var for var, _default in limits._ENV.values()]


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return Index.init(tmp_path / "index", title="t")


@pytest.mark.parametrize("var", LIMIT_VARS)
@pytest.mark.parametrize("value", BAD_COUNTS)
def test_a_bad_limit_setting_is_one_error_line_naming_variable_and_value(index, tmp_path, var, value):
    sdist = make_sdist(tmp_path / "dist", "abc1", "1.0")
    before = snapshot(tmp_path)
    proc = cli("add", str(sdist), index=index.root, env={var: value})
    assert_refused(proc, f"invalid {var}: {value!r}", before=before, root=tmp_path)


@pytest.mark.parametrize("value", BAD_COUNTS)
def test_a_bad_build_jobs_setting_fails_the_build_before_writing(index, tmp_path, value):
    assert cli("add", str(make_wheel(tmp_path / "dist", "abc1", "1.0")), index=index.root).returncode == 0
    before = snapshot(tmp_path)
    proc = cli("build", index=index.root, env={"PAGESINDEX_BUILD_JOBS": value})
    assert_refused(proc, f"invalid PAGESINDEX_BUILD_JOBS: {value!r}", before=before, root=tmp_path, site="index/_site")


@pytest.mark.parametrize("value", BAD_SECONDS)
def test_a_bad_lock_timeout_is_refused_not_ignored(index, tmp_path, value):
    sdist = make_sdist(tmp_path / "dist", "abc1", "1.0")
    before = snapshot(tmp_path)
    proc = cli("add", str(sdist), index=index.root, env={"PAGESINDEX_LOCK_TIMEOUT": value})
    assert_refused(proc, f"invalid PAGESINDEX_LOCK_TIMEOUT: {value!r}", before=before, root=tmp_path)


def test_a_bad_setting_in_a_real_process_has_no_traceback(index, tmp_path):
    sdist = make_sdist(tmp_path / "dist", "abc1", "1.0")
    before = snapshot(tmp_path)
    proc = cli("add", str(sdist), index=index.root, env={"PAGESINDEX_MAX_FILE_BYTES": "²"}, real=True)
    assert_refused(proc, "invalid PAGESINDEX_MAX_FILE_BYTES: '²'", before=before, root=tmp_path)


@pytest.mark.parametrize(
    "var, value, expected",
    [
        ("PAGESINDEX_MAX_FILE_BYTES", " 1024 ", 1024),
        ("PAGESINDEX_MAX_FILE_BYTES", "", limits.GITHUB_FILE_LIMIT),
        ("PAGESINDEX_MAX_ARCHIVE_MEMBERS", "1", 1),
    ],
)
def test_good_limit_settings(monkeypatch, var, value, expected):
    monkeypatch.setenv(var, value)
    kind = next(k for k, (v, _d) in limits._ENV.items() if v == var)
    assert limits.limit(kind) == expected


@pytest.mark.parametrize("value, expected", [("0", 0.0), ("0.5", 0.5), (" 30 ", 30.0), (".25", 0.25), ("", 7.0)])
def test_env_seconds_accepts_plain_decimals(monkeypatch, value, expected):
    monkeypatch.setenv("PAGESINDEX_X", value)
    assert limits.env_seconds("PAGESINDEX_X", 7.0) == expected


@pytest.mark.parametrize("value", BAD_SECONDS)
def test_env_seconds_refuses(monkeypatch, value):
    monkeypatch.setenv("PAGESINDEX_X", value)
    with pytest.raises(InvalidSetting, match=r"invalid PAGESINDEX_X: "):
        limits.env_seconds("PAGESINDEX_X", 7.0)


def test_env_int_minimum(monkeypatch):
    monkeypatch.setenv("PAGESINDEX_X", "0")
    assert limits.env_int("PAGESINDEX_X", 4, minimum=0) == 0
    with pytest.raises(InvalidSetting, match=r"invalid PAGESINDEX_X: '0' \(a whole number >= 1 expected\)"):
        limits.env_int("PAGESINDEX_X", 4)


# -- usage errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, needle",
    [
        (["serve", "--port", "abc"], "Invalid value for '--port': 'abc'"),
        (["serve", "--port", "70000"], "Invalid value for '--port': 70000"),
        (["serve", "--port", "-1"], "Invalid value for '--port': -1"),
        (["demo", "--port", "abc", "--no-serve"], "Invalid value for '--port': 'abc'"),
        (["register", "abc1", "1.0", "--summary", "s", "--homepage", "https://github.com/o/r"], "Missing option '--author'"),
        (["add"], "Missing argument 'FILES...'"),
        (["yank", "abc1"], "Missing argument 'VERSION'"),
        (["build", "--nope"], "No such option"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["--no-such-option"], "No such option"),
        (["pr-describe", "explode", "abc1"], "'explode' is not one of"),
    ],
)
def test_usage_errors_are_one_error_line_and_exit_1(index, tmp_path, args, needle):
    before = snapshot(tmp_path)
    proc = cli(*args, index=index.root)
    assert_refused(proc, needle, "--help')", before=before, root=tmp_path)
    assert "Usage:" not in proc.stderr + proc.stdout


def test_usage_error_in_a_real_process(tmp_path):
    script = Path(sys.executable).parent / "pagesindex"
    if not script.is_file():
        pytest.skip("no pagesindex script beside this Python")
    proc = subprocess.run([str(script), "serve", "--port", "70000"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535 (see 'pagesindex serve --help')"
    ]


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["add", "-h"], ["--version"]])
def test_help_and_version_still_work(args):
    proc = cli(*args)
    assert proc.returncode == 0
    assert proc.stdout and not proc.stderr


# -- a busy port -------------------------------------------------------------------------------
@pytest.fixture
def busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def test_serve_on_a_busy_port_builds_nothing(index, tmp_path, busy_port):
    assert cli("add", str(make_wheel(tmp_path / "dist", "abc1", "1.0")), index=index.root).returncode == 0
    before = snapshot(tmp_path)
    proc = cli("serve", "--port", str(busy_port), index=index.root)
    assert_refused(proc, f"cannot listen on 127.0.0.1:{busy_port}", before=before, root=tmp_path)
    assert not (index.root / "_site").exists()


def test_demo_on_a_busy_port_leaves_no_temporary_folder(tmp_path, busy_port, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    proc = cli("demo", "--port", str(busy_port), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use (choose another --port, or 0 for any free one)"
    ]
    assert list(temp.iterdir()) == []


def test_demo_with_dir_on_a_busy_port_writes_nothing(tmp_path, busy_port):
    before = snapshot(tmp_path)
    proc = cli("demo", "--port", str(busy_port), "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert_refused(proc, "cannot listen on", before=before, root=tmp_path)


# -- file modes --------------------------------------------------------------------------------
def _modes(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".pagesindex.lock" and ".github" not in p.parts
    }


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_every_file_of_the_state_follows_the_umask(tmp_path, umask):
    """init, add and build in a real process under ``umask``: index.toml, projects/*.json and
    the rest all get ``0o666 & ~umask`` (``mkstemp`` makes 0600 files)."""
    wheel = make_wheel(tmp_path / "dist", "abc1", "1.0")
    sdist = make_sdist(tmp_path / "dist", "abc1", "1.0")
    root = tmp_path / "index"
    script = (
        "import os, sys; from pagesindex.cli import main; os.umask(int(sys.argv[1], 8)); "
        "main(sys.argv[2:], standalone_mode=False)"
    )
    base = [sys.executable, "-c", script, oct(umask)[2:], "--index", str(root)]
    env = dict(os.environ, PAGESINDEX_CACHE_DIR=str(tmp_path / "cache"))
    for args in (["init", "--no-workflows"], ["add", str(wheel), str(sdist)], ["build", "--copy"]):
        proc = subprocess.run(base + args, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
    modes = _modes(root)
    assert "index.toml" in modes and "projects/abc1.json" in modes and "packages/abc1/abc1-1.0.tar.gz" in modes
    assert "_site/abc1/index.html" in modes and "_site/packages/abc1/abc1-1.0.tar.gz" in modes
    wrong = {rel: oct(mode) for rel, mode in modes.items() if mode != 0o666 & ~umask}
    assert wrong == {}


def test_serve_says_when_the_pages_print_the_public_url():
    """`serve` on an index whose [index] url is its public one: the pages' pinned commands use that
    URL, so the printed hint says so instead of implying they install from the local server."""
    from pagesindex.cli import install_hints

    local = "http://127.0.0.1:8000/"
    same = install_hints(local, "kavli-hello", local)
    assert same[-1] == f"pinned commands for pip, uv, poetry and pdm: {local}_pages/kavli-hello/"
    other = install_hints(local, "kavli-hello", "https://lab.github.io/idx/")
    assert "they use the public URL https://lab.github.io/idx/, not this server" in other[-1]
    assert other[:2] == same[:2] == [f"uv pip install kavli-hello --extra-index-url {local}",
                                     f"pip install kavli-hello --index-url {local}"]


@pytest.mark.parametrize("out", ["packages", "packages/abc1", "projects/x", ".", "..", "metadata", ".github/site"],
                         ids=["packages", "in-packages", "in-projects", "the-index", "holds-the-index", "metadata", "in-github"])
def test_build_into_the_index_state_is_refused(index, tmp_path, out):
    """Fresh-user trial: ``build --out packages`` wrote pages beside the committed wheels and
    ``--out .`` scattered a site into the index root. A folder inside the index but outside its
    state (``site/``) stays allowed."""
    assert cli("add", str(make_wheel(tmp_path / "dist", "abc1", "1.0")), index=index.root).returncode == 0
    target = str(index.root / out)
    before = snapshot(tmp_path)
    proc = cli("build", "--out", target, index=index.root)
    assert_refused(proc, f"cannot build into {target!r}", before=before, root=tmp_path)
    assert cli("build", "--out", str(index.root / "site"), index=index.root).returncode == 0


def test_init_without_workflows_still_writes_the_gitignore(tmp_path):
    proc = cli("init", str(tmp_path / "bare"), "--title", "T", "--no-workflows")
    assert proc.returncode == 0, proc.stderr
    assert "/_site/" in (tmp_path / "bare/.gitignore").read_text() and "wrote .gitignore" in proc.stdout
    assert not (tmp_path / "bare/.github").exists()


def test_storage_migrate_without_to_on_a_git_index_names_the_option(index, tmp_path):
    before = snapshot(tmp_path)
    proc = cli("storage", "migrate", index=index.root)
    assert_refused(proc, "Missing option '--to' (s3 or github-release)", before=before, root=tmp_path)
