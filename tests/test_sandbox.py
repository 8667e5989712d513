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
from pathlib import Path

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
    script = (f"ls /proc | grep -c '^[0-9]'; echo ---; ls -A /tmp; echo ---; cat {secret} 2>&1; "
              "grep -E '^(Uid|CapEff|NoNewPrivs)' /proc/self/status; env; echo made > /tmp/pagesindex-build/dist/out.txt")
    cmd = sandbox.sandboxed_command(["/bin/sh", "-c", script], src=src, dist=dist, python=sys.executable, hide=[tmp_path / "index"])
    if user_namespace:
        assert "--user" in cmd and not any(a.startswith("--reuid") for a in cmd)
    proc = subprocess.run(cmd, env=sandbox.environment(sys.executable), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    processes, in_tmp, rest = proc.stdout.split("---\n", 2)
    assert int(processes) <= 3, proc.stdout  # sh, grep, ls: no ancestor
    # /tmp is empty but for the build's folder and, when the Python running the tests lives
    # under /tmp, the read-only way back to it
    python_dirs = {Path(p).parts[2] for p in sandbox._python_folders(sys.executable) if p.startswith("/tmp/")}
    assert set(in_tmp.split()) - python_dirs == {"pagesindex-build"}, in_tmp
    assert "No such file or directory" in rest.splitlines()[0]
    assert "CapEff:\t0000000000000000" in proc.stdout and "NoNewPrivs:\t1" in proc.stdout
    if os.geteuid() == 0 and not user_namespace:
        assert "Uid:\t65534\t65534" in proc.stdout
    assert TOKEN not in proc.stdout and "GITHUB_TOKEN" not in proc.stdout
    assert (dist / "out.txt").read_text() == "made\n"


@pytest.fixture
def nosuid_python(tmp_path):
    """A venv on a nosuid,nodev,noatime tmpfs (as the tester's F1); mounting needs root."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting the nosuid,nodev tmpfs needs root")
    mnt = tmp_path / "nsmnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noatime,size=64m", "tmpfs", str(mnt)], check=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(mnt / "venv")], check=True)
        site = subprocess.run([str(mnt / "venv" / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        yield mnt / "venv" / "bin" / "python", site
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _as_unprivileged(monkeypatch):
    """Take the path used when pagesindex does not run as root (a user namespace, locked mounts)."""
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1000 if real == 0 else real)


def test_python_on_a_nosuid_mount_stays_read_only(tmp_path, monkeypatch, nosuid_python):
    """F1: inside a user namespace a remount that drops nosuid/nodev/noatime is refused (EPERM);
    it was swallowed and site-packages stayed writable (a .pth there runs at every later
    pagesindex command). The flags are now kept, so the remount works and the write fails."""
    import subprocess

    python, site = nosuid_python
    _as_unprivileged(monkeypatch)
    src, dist = tmp_path / "src", tmp_path / "dist"
    src.mkdir()
    dist.mkdir()
    script = f"touch {site}/evil.pth && echo WRITABLE; echo done"
    cmd = sandbox.sandboxed_command(["/bin/sh", "-c", script], src=src, dist=dist, python=str(python))
    assert site.startswith(tuple(json_keep(cmd)))
    proc = subprocess.run(cmd, env=sandbox.environment(str(python)), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WRITABLE" not in proc.stdout and "Read-only file system" in proc.stderr, proc.stdout + proc.stderr
    assert not os.path.exists(os.path.join(site, "evil.pth"))


def json_keep(cmd):
    import json

    return json.loads(cmd[-1])["keep"]


def test_a_failed_remount_refuses_the_build(tmp_path, monkeypatch):
    """A read-only remount that fails is never swallowed: the build does not run, one error line."""
    from pagesindex.sources import source_build

    original = sandbox.init_source()
    marker = 'if __name__ == "__main__":'
    assert marker in original
    forced = ("def remount_readonly(mount, path):\n"
              "    raise SetupError(f'cannot make {path!r} read-only: Operation not permitted')\n\n\n")
    monkeypatch.setattr(sandbox, "init_source", lambda: original.replace(marker, forced + marker))
    project = tmp_path / "proj"
    project.mkdir()
    ran = tmp_path / "ran"
    (project / "setup.py").write_text(f"open({str(ran)!r}, 'w').write('ran')\n")
    with pytest.raises(sandbox.SandboxUnavailable) as info:
        source_build.build_distributions(project, tmp_path / "out", timeout=120)
    message = str(info.value)
    assert message.startswith("cannot make the build sandbox: cannot make '") and "read-only: Operation not permitted" in message
    assert "\n" not in message
    assert not ran.exists() and not any((tmp_path / "out").iterdir())


def test_run_and_sibling_checkouts_are_hidden(tmp_path, monkeypatch):
    """The tester's notes on F1: /run (sockets, the world-writable /run/lock) and checkouts beside
    the index or the current folder (/work/other-clone/.git/config) were reachable by the build."""
    import subprocess

    planted = f"/run/lock/pagesindex-test-{os.getpid()}"
    if not os.access("/run/lock", os.W_OK):
        pytest.skip("/run/lock is not writable here")
    with open(planted, "w") as f:
        f.write(f"token = {TOKEN}\n")
    made = planted + "-made"
    try:
        src, dist = tmp_path / "src", tmp_path / "dist"
        src.mkdir()
        dist.mkdir()
        sandbox.prepare(src, dist)
        script = f"cat {planted} 2>&1; touch {made}; ls -A /run"
        cmd = sandbox.sandboxed_command(["/bin/sh", "-c", script], src=src, dist=dist, python=sys.executable)
        proc = subprocess.run(cmd, env=sandbox.environment(sys.executable), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert TOKEN not in proc.stdout and "No such file or directory" in proc.stdout, proc.stdout
        assert not os.path.exists(made)
    finally:
        for path in (planted, made):
            if os.path.exists(path):
                os.unlink(path)
    # the folder holding the current folder or the index is hidden, unless / or a system folder
    clones = tmp_path / "work"
    (clones / "index").mkdir(parents=True)
    (clones / "other-clone").mkdir()
    monkeypatch.chdir(clones / "index")
    hidden = sandbox.hidden_paths([Path("/usr/lib")])
    assert str(clones.resolve()) in hidden and str((clones / "index").resolve()) in hidden
    assert "/usr/lib" in hidden and "/usr" not in hidden and "/" not in hidden and "/run" in hidden


def test_build_output_cannot_issue_workflow_commands():
    """A failed build's last lines reach the workflow log through the error: none may start with
    ``::`` (the Actions runner would read ``::error::`` as a command and forge an annotation),
    and escapes show as ``<U+XXXX>``."""
    from pagesindex.sources import source_build

    script = "printf 'ok\\n::error file=setup.py::forged\\n  ::add-mask::x\\n\\033[31mred\\r::warning::cr\\n'; exit 3"
    with pytest.raises(source_build.SourceBuildError) as info:
        source_build._run(["/bin/sh", "-c", script], env=dict(os.environ), timeout=30, what="python -m build")
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "python -m build failed (exit status 3); last lines:"
    assert lines[1:] == ["  | ok", "  | ::error file=setup.py::forged", "  |   ::add-mask::x", "  | <U+001B>[31mred",
                         "  | ::warning::cr"]
    assert not any(line.lstrip().startswith("::") for line in lines)
