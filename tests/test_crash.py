"""Crash safety: `add`, `build` and `register` killed with SIGKILL at many points, again and again.

After each kill: every record is valid JSON and points only at complete files whose bytes match
it; `pagesindex verify` passes or names exactly what to redo; and redoing the command brings the
index (and the site, after `build`) back to a state that verify passes.

Two kinds of kill:
* at a chosen write step: a forked child runs the command with a hook on every step that writes
  (tests/crashhook.py: ``tempfile.mkstemp``, ``os.fsync``, ``os.replace``, ``os.link``,
  ``os.unlink``, ``os.rmdir``, ``os.mkdir``, ``shutil.rmtree``, ``shutil.copyfile``) and SIGKILLs
  itself just before or just after step N; every N is tried once, then random ones; `register`
  runs as a real subprocess under the same hook, against the local GitHub server;
* at a random time: a real ``python -m pagesindex`` subprocess killed after a random delay.

PAGESINDEX_CRASH_ITERATIONS (default 60) sets the forked kills per command; the figures are
printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import crashhook
import pytest
from factory import make_sdist, make_wheel

import pagesindex.cli  # noqa: F401  (imported once here, so forked children start at once)
from pagesindex.checks.verify import verify
from pagesindex.inspect import inspect_file
from pagesindex.render import _load_manifest, build_site, manifest_path
from pagesindex.state import Index

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL (POSIX)")

ITERATIONS = int(os.environ.get("PAGESINDEX_CRASH_ITERATIONS", "60"))
SEED = int(os.environ.get("PAGESINDEX_CRASH_SEED", "20261130"))
COUNTS = {"add": 0, "build": 0, "add-timed": 0, "build-timed": 0}

#: What verify may report after a kill: each names its remedy.
REMEDIES = ("redo 'pagesindex add' or delete it", "the next add, remove or yank deletes it", "run 'pagesindex build'", "run 'pagesindex build --full'")

def run_forked(args, kill_at: int, tmp: Path):
    """Run ``pagesindex ARGS`` in a forked child killed at write step ``kill_at`` (0: never).

    Returns (killed?, exit status, steps counted)."""
    counter = tmp / f"steps-{os.getpid()}"
    fd = os.open(counter, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 70
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            crashhook.install(kill_at, fd)
            from pagesindex.cli import main

            try:
                main(list(args), standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                code = 71
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = counter.read_text().strip()
    steps = int(text) if text else 0
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return killed, (os.WEXITSTATUS(status) if os.WIFEXITED(status) else None), steps


def check_records(root: Path) -> None:
    """Every record parses and points only at complete files whose bytes match it."""
    index = Index(root)
    for name in index.project_names():
        raw = (root / "projects" / f"{name}.json").read_bytes()
        json.loads(raw)
        project = index.get_project(name)
        for release in project.releases.values():
            for f in release.files:
                path = root / "packages" / name / f.filename
                assert path.is_file(), f"record {name} points at missing {f.filename}"
                data = path.read_bytes()
                assert len(data) == f.size and hashlib.sha256(data).hexdigest() == f.sha256, f"partial {path}"


def check_verify_names_remedies(root: Path) -> list:
    problems = verify(Index(root))
    for problem in problems:
        assert any(r in problem for r in REMEDIES), f"verify problem without a remedy: {problem}"
    return problems


@pytest.fixture
def base(tmp_path: Path):
    """An index with two projects and a built site, and files for the next add."""
    index = Index.init(tmp_path / "base", title="crash")
    dist = tmp_path / "dist"
    old = [make_wheel(dist, "abc1", "1.0"), make_sdist(dist, "abc1", "1.0"), make_wheel(dist, "gone", "1.0")]
    index.add_files([inspect_file(p) for p in old])
    build_site(index)
    new = [
        make_wheel(dist, "abc1", "2.0", extra_files={"abc1/data.bin": os.urandom(300_000)}),
        make_sdist(dist, "abc1", "2.0"),
        make_wheel(dist, "other", "1.0", summary="another"),
    ]
    return index.root, new


def fresh_copy(src: Path, dst: Path) -> Path:
    return _fresh_copy(src, dst)


def _fresh_copy(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _finished_early(code, steps: int, point: int) -> bool:
    """A run that was not killed at ``point`` must have ended well before reaching it. Under a
    loaded machine the count of write steps once differed by 12 between two runs of the same
    build (84 then 72; not reproduced since, cause not found), so a late kill point may lie past
    the end of a shorter run; the state it left is then checked like any other."""
    return code == 0 and steps < point


def kill_points(total: int, rng: random.Random, iterations: int) -> list:
    points = list(range(1, total + 1))
    while len(points) < iterations:
        points.append(rng.randint(1, total))
    return points[: max(iterations, total)]


def test_add_killed_at_every_write_step(base, tmp_path):
    src, new = base
    args = ["--index", str(tmp_path / "work"), "add"] + [str(p) for p in new]
    fresh_copy(src, tmp_path / "work")
    killed, code, total = run_forked(args, 0, tmp_path)
    assert not killed and code == 0 and total > 10, (killed, code, total)
    rng = random.Random(SEED)
    reported = 0
    for point in kill_points(total, rng, ITERATIONS):
        work = fresh_copy(src, tmp_path / "work")
        killed, code, steps = run_forked(args, point, tmp_path)
        assert killed or _finished_early(code, steps, point), f"step {point} of {total} did not kill (exit {code}, {steps} steps)"
        check_records(work)
        reported += bool(check_verify_names_remedies(work))
        # redo: the same add completes, and verify passes
        killed, code, _ = run_forked(args, 0, tmp_path)
        assert code == 0, f"redo after a kill at step {point} failed"
        check_records(work)
        assert verify(Index(work), work / "_nosite") == []
        names = {f.filename for p in Index(work).projects() for f in p.all_files()}
        assert {p.name for p in new} <= names
        COUNTS["add"] += 1
    print(f"\nadd: {total} write steps; {COUNTS['add']} kills; verify named a remedy after {reported}")


def test_build_killed_at_every_write_step(base, tmp_path):
    src, new = base
    # a state with work for the build: new files, a yank, a removed project
    old_state = _fresh_copy(src, tmp_path / "old")
    index = Index(src)
    index.add_files([inspect_file(p) for p in new])
    index.set_yanked("abc1", "1.0", True, "broken")
    index.remove("gone")
    args = ["--index", str(tmp_path / "work"), "build"]

    def fresh_copy(_src: Path, dst: Path) -> Path:
        """The old state built in ``dst`` (a site and its manifest, which is kept per site
        folder, outside the site), then the new state's records and files put in place."""
        _fresh_copy(old_state, dst)
        shutil.rmtree(dst / "_site")
        build_site(Index(dst))
        for sub in ("projects", "packages"):
            shutil.rmtree(dst / sub)
            shutil.copytree(src / sub, dst / sub, symlinks=True)
        return dst

    fresh_copy(src, tmp_path / "work")
    killed, code, total = run_forked(args, 0, tmp_path)
    assert not killed and code == 0 and total > 10, (killed, code, total)
    rng = random.Random(SEED + 1)
    reported = 0
    for point in kill_points(total, rng, ITERATIONS):
        work = fresh_copy(src, tmp_path / "work")
        killed, code, steps = run_forked(args, point, tmp_path)
        assert killed or _finished_early(code, steps, point), f"step {point} of {total} did not kill (exit {code}, {steps} steps)"
        check_records(work)
        manifest = manifest_path(Index(work), work / "_site")
        if manifest.exists():  # whole or absent, never partial: a JSON header, then the summary,
            head, _, summary = manifest.read_bytes().partition(b"\n")  # a line a project
            header = json.loads(head)
            assert hashlib.sha256(summary).hexdigest() == header["summary"]
            for line in summary.decode().split("\n") if summary else []:
                name, mtime, size = line.split("\t")
                int(mtime), int(size)
            header, lines = _load_manifest(manifest, work / "_site")
            assert header.get("_torn") == []  # every shard the head names is there, whole
            for line in lines.values():
                fields = line.split("\t", 6)
                json.loads(fields[4]), json.loads(fields[5]), json.loads(fields[6])
        reported += bool(check_verify_names_remedies(work))
        killed, code, _ = run_forked(args, 0, tmp_path)
        assert code == 0, f"rebuild after a kill at step {point} failed"
        assert verify(Index(work)) == [], f"after a kill at step {point} and a rebuild"
        assert not list((work / "_site").rglob(".tmp-*"))
        assert not (work / "_site/gone").exists() and (work / "_site/other/index.html").exists()
        COUNTS["build"] += 1
    print(f"\nbuild: {total} write steps; {COUNTS['build']} kills; verify named a remedy after {reported}")


@pytest.mark.parametrize("command", ["add", "build"])
def test_real_process_killed_at_random_times(base, tmp_path, command):
    src, new = base
    if command == "build":
        Index(src).add_files([inspect_file(p) for p in new])
    args = [sys.executable, "-m", "pagesindex", "--index", str(tmp_path / "work"), command]
    if command == "add":
        args += [str(p) for p in new]
    fresh_copy(src, tmp_path / "work")
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    duration = time.perf_counter() - started
    rng = random.Random(SEED + 2)
    iterations = max(4, ITERATIONS // 8)
    for _ in range(iterations):
        work = fresh_copy(src, tmp_path / "work")
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.3, 1.0) * duration)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        check_records(work)
        # the user's view: `pagesindex verify` passes, or each problem line names its remedy
        proc = subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(work), "verify"], capture_output=True, text=True)
        assert "Traceback" not in proc.stderr
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.startswith("problem: ")]
            assert lines and all(any(r in line for r in REMEDIES) for line in lines), proc.stderr
        subprocess.run(args, check=True, capture_output=True)
        if command == "build":
            assert verify(Index(work)) == []
        else:
            assert verify(Index(work), work / "_nosite") == []
        COUNTS[f"{command}-timed"] += 1
    print(f"\n{command}: {iterations} real processes killed at random times within {duration:.2f} s runs")


def _has_register() -> bool:
    proc = subprocess.run([sys.executable, "-m", "pagesindex", "register", "--help"], capture_output=True)
    return proc.returncode == 0


def test_register_killed_at_write_steps(tmp_path):
    """`register` from the local GitHub server, killed at write steps (real subprocesses)."""
    if not _has_register():
        pytest.skip("no 'pagesindex register' in this checkout (issue 3 not merged)")
    github_server = pytest.importorskip("github_server")
    base = Index.init(tmp_path / "base", title="crash").root
    folder = tmp_path / "dist"
    files = [make_wheel(folder, "lightcurvedb", "1.0.0"), make_sdist(folder, "lightcurvedb", "1.0.0")]
    hook = Path(__file__).with_name("crashhook.py")
    with github_server.FakeGitHub(token="ghp_CRASHTEST") as gh:
        gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {p.name: p for p in files})
        env = dict(os.environ, **gh.env(), PAGESINDEX_GITHUB_RETRIES="0")
        args = ["--index", str(tmp_path / "work"), "register", "lightcurvedb", "v1.0.0", "--author", "A",
                "--summary", "S", "--homepage", f"{gh.web_url}/kavli/lightcurvedb"]
        counter = tmp_path / "steps"

        def run(kill_at):
            proc = subprocess.run([sys.executable, str(hook), str(kill_at), str(counter), *args], env=env, capture_output=True, text=True)
            text = counter.read_text().strip()
            return proc, int(text) if text else 0

        fresh_copy(base, tmp_path / "work")
        proc, total = run(0)
        assert proc.returncode == 0 and total > 4, (proc.stderr, total)
        rng = random.Random(SEED + 3)
        points = sorted(set(rng.randint(1, total) for _ in range(max(6, ITERATIONS // 6))))
        for point in points:
            work = fresh_copy(base, tmp_path / "work")
            proc, _ = run(point)
            assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr)
            check_records(work)
            check_verify_names_remedies(work)
            proc, _ = run(0)
            assert proc.returncode == 0, proc.stderr
            check_records(work)
            assert verify(Index(work), work / "_nosite") == []
            COUNTS["register"] = COUNTS.get("register", 0) + 1
        print(f"\nregister: {total} write steps; {len(points)} real processes killed at chosen steps")
