"""Issue 13, item 1: a package's build code never runs where it can reach a token (CLI side).

The hunting package (tests/token_hunt.py) is registered from a tag with no release, so
`pagesindex register` builds it from source, with GITHUB_TOKEN in the parent's environment, a
~/.git-credentials in a fake HOME and an Authorization header in the index's .git/config (each
a different token). The sandboxed build must find none of them; the same build with the sandbox
turned off finds them (so the test can fail, and fails on the code before the sandbox).
"""

from __future__ import annotations

import base64
import os
import shutil
import sys

import pytest
from ghhelpers import TOKEN, gh_cli, git
from github_server import FakeGitHub
from token_hunt import hunt_report, leaked, make_hunting_project

from pagesindex.sources import sandbox

CREDENTIALS_TOKEN = "ghp_HOMECREDENTIALS0123456789abc"
CONFIG_TOKEN = "ghs_INDEXGITCONFIG0123456789abc"

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason=f"{sandbox.unavailable_reason()}")


@pytest.fixture
def gh():
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


def plant_tokens(index, tmp_path):
    """The token in three more places a build could look: HOME's credentials, the index's .git/config."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".git-credentials").write_text(f"https://x-access-token:{CREDENTIALS_TOKEN}@github.com\n")
    git(index.root, "init", "-q")
    header = base64.b64encode(f"x-access-token:{CONFIG_TOKEN}".encode()).decode()
    with open(index.root / ".git" / "config", "a") as f:
        f.write(f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {header}\n')
    return {"HOME": str(home)}


def hunt(gh, index, tmp_path, env):
    src = make_hunting_project(tmp_path / "git")
    gh.add_repo("kavli/kavli-hunt", clone_url=f"file://{src}").add_tag("v1.0.0")
    proc = gh_cli(gh, "register", "kavli-hunt", "v1.0.0", "--author", "A", "--summary", "S",
                  "--homepage", "https://github.example/kavli/kavli-hunt", index=index.root, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = hunt_report(index.root / "packages" / "kavli-hunt" / "kavli_hunt-1.0.0.tar.gz")
    assert report.startswith("hunt ran; searched: os.environ pids=")
    return report


def test_build_code_finds_no_token_through_the_cli(gh, index, tmp_path):
    env = plant_tokens(index, tmp_path)
    report = hunt(gh, index, tmp_path, env)
    assert leaked(report, [TOKEN, CREDENTIALS_TOKEN, CONFIG_TOKEN]) == [], report
    assert "/proc/1/environ" in report, "the hunt saw the sandbox's own processes"


def test_without_the_sandbox_the_same_hunt_finds_the_tokens(gh, index, tmp_path):
    """The control: the hunt does find tokens when nothing isolates it (the code before item 1)."""
    env = plant_tokens(index, tmp_path)
    env[sandbox.SETTING] = "off"
    report = hunt(gh, index, tmp_path, env)
    assert TOKEN in leaked(report, [TOKEN]) and CREDENTIALS_TOKEN in leaked(report, [CREDENTIALS_TOKEN]), report


def test_bad_sandbox_setting_is_one_error_line(gh, index, tmp_path):
    src = make_hunting_project(tmp_path / "git")
    gh.add_repo("kavli/kavli-hunt", clone_url=f"file://{src}").add_tag("v1.0.0")
    proc = gh_cli(gh, "register", "kavli-hunt", "v1.0.0", "--author", "A", "--summary", "S",
                  "--homepage", "https://github.example/kavli/kavli-hunt", index=index.root,
                  env={sandbox.SETTING: "maybe"}, check=False)
    assert proc.returncode == 1 and proc.stderr == "error: invalid PAGESINDEX_BUILD_SANDBOX: 'maybe' (auto or off)\n"
    assert not (index.root / "projects" / "kavli-hunt.json").exists()


def test_no_sandbox_mechanism_refuses_the_build(gh, index, tmp_path):
    """Without unshare/setpriv on PATH the build is refused before anything is cloned or built."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    os.symlink(sys.executable, bin_dir / "python")
    src = make_hunting_project(tmp_path / "git")
    gh.add_repo("kavli/kavli-hunt", clone_url=f"file://{src}").add_tag("v1.0.0")
    proc = gh_cli(gh, "register", "kavli-hunt", "v1.0.0", "--author", "A", "--summary", "S",
                  "--homepage", "https://github.example/kavli/kavli-hunt", index=index.root,
                  env={"PATH": str(bin_dir)}, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: the build sandbox needs unshare and setpriv (util-linux); refusing")
    assert "PAGESINDEX_BUILD_SANDBOX=off" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (index.root / "projects" / "kavli-hunt.json").exists()


@pytest.mark.parametrize("user_namespace", [False, True], ids=["as-is", "user-namespace"])
def test_inside_the_sandbox(tmp_path, monkeypatch, user_namespace):
    """What a command sees inside: only its own processes, an empty /tmp, no capabilities,
    no_new_privs, nobody (when root, without a user namespace), no token in its environment."""
    import subprocess

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    secret = tmp_path / "index" / ".git" / "config"
    secret.parent.mkdir(parents=True)
    secret.write_text(f"token = {TOKEN}\n")
    if user_namespace:  # the path taken when pagesindex does not run as root
        real = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real + 1000 if real == 0 else real)
    src, dist = tmp_path / "src", tmp_path / "dist"
    src.mkdir()
    dist.mkdir()
    sandbox.prepare(src, dist)
    script = (f"ls /proc | grep -c '^[0-9]'; ls -A /tmp; cat {secret} 2>&1; grep -E '^(Uid|CapEff|NoNewPrivs)' /proc/self/status; "
              "env; echo made > /tmp/pagesindex-build/dist/out.txt")
    cmd = sandbox.sandboxed_command(["/bin/sh", "-c", script], src=src, dist=dist, python=sys.executable, hide=[tmp_path / "index"])
    if user_namespace:
        assert "--user" in cmd and not any(a.startswith("--reuid") for a in cmd)
    proc = subprocess.run(cmd, env=sandbox.environment(sys.executable), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert int(lines[0]) <= 3, proc.stdout  # sh, grep, ls: no ancestor
    assert lines[1] == "pagesindex-build"
    assert "No such file or directory" in lines[2]
    assert "CapEff:\t0000000000000000" in proc.stdout and "NoNewPrivs:\t1" in proc.stdout
    if os.geteuid() == 0 and not user_namespace:
        assert "Uid:\t65534\t65534" in proc.stdout
    assert TOKEN not in proc.stdout and "GITHUB_TOKEN" not in proc.stdout
    assert (dist / "out.txt").read_text() == "made\n"
