"""Several `pagesindex` processes on one index at once: the lock file (.pagesindex.lock) makes
the second wait (or fail clearly after PAGESINDEX_LOCK_TIMEOUT seconds); no update is lost and
the state stays consistent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from factory import make_wheel
from filelock import FileLock
from hostile import assert_refused, snapshot

from pagesindex.checks.verify import verify
from pagesindex.state import LOCK_FILE, Index


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return Index.init(tmp_path / "index", title="t")


def start(index: Index, *args: str, env=None) -> subprocess.Popen:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "pagesindex", "--index", str(index.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def finish(proc: subprocess.Popen):
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def files_of(index: Index):
    return {f.filename for p in Index(index.root).projects() for f in p.all_files()}


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_adds_lose_no_update(index, tmp_path, round_):
    dist = tmp_path / "dist"
    wheels = [make_wheel(dist, "abc1", f"{round_}.{i}") for i in range(3)] + [make_wheel(dist, f"p{i}", "1.0") for i in range(2)]
    procs = [start(index, "add", str(w)) for w in wheels]
    results = [finish(p) for p in procs]
    for code, _out, err in results:
        assert code == 0 and "Traceback" not in err, err
    assert files_of(index) == {w.name for w in wheels}
    rec = json.loads((index.root / "projects/abc1.json").read_text())
    assert sorted(rec["releases"]) == [f"{round_}.{i}" for i in range(3)]
    assert verify(Index(index.root)) == []


def test_the_same_file_added_twice_at_once(index, tmp_path):
    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    results = [finish(p) for p in [start(index, "add", str(w)) for _ in range(2)]]
    assert all(code == 0 for code, _o, _e in results), results
    outs = sorted(out for _c, out, _e in results)
    assert "1 added, 0 unchanged" in outs[0] and "0 added, 1 unchanged" in outs[1]
    assert files_of(index) == {w.name}


def test_two_different_files_of_one_name_at_once(index, tmp_path):
    a = make_wheel(tmp_path / "a", "abc1", "1.0", summary="first")
    b = make_wheel(tmp_path / "b", "abc1", "1.0", summary="second")
    results = [finish(p) for p in [start(index, "add", str(a)), start(index, "add", str(b))]]
    codes = sorted(code for code, _o, _e in results)
    assert codes == [0, 1], results
    err = next(e for c, _o, e in results if c == 1)
    assert "immutable" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    kept = (index.root / "packages/abc1" / a.name).read_bytes()
    assert kept in (a.read_bytes(), b.read_bytes())
    assert verify(Index(index.root)) == []


def test_a_held_lock_makes_add_wait_then_proceed(index, tmp_path):
    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    lock = FileLock(str(index.root / LOCK_FILE))
    lock.acquire()
    try:
        proc = start(index, "add", str(w))
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3)  # it cannot finish while the lock is held
        assert files_of(index) == set()
    finally:
        lock.release()
    code, out, err = finish(proc)
    assert code == 0 and "1 added" in out, err
    assert files_of(index) == {w.name}


def test_a_lock_held_too_long_is_a_clear_error(index, tmp_path):
    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    lock = FileLock(str(index.root / LOCK_FILE))
    lock.acquire()
    try:
        before = snapshot(tmp_path)
        code, out, err = finish(start(index, "add", str(w), env={"PAGESINDEX_LOCK_TIMEOUT": "0.5"}))
        proc = subprocess.CompletedProcess([], code, out, err)
        assert_refused(proc, "another pagesindex command holds", LOCK_FILE, "waited 0.5 s", before=before, root=tmp_path)
    finally:
        lock.release()


def test_a_killed_lock_holder_does_not_block_the_next_command(index, tmp_path):
    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire(); print('held', flush=True); time.sleep(600)", str(index.root / LOCK_FILE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    code, out, err = finish(start(index, "add", str(w), env={"PAGESINDEX_LOCK_TIMEOUT": "10"}))
    assert code == 0, err


def test_build_and_add_at_once(index, tmp_path):
    dist = tmp_path / "dist"
    first = [make_wheel(dist, f"p{i}", "1.0") for i in range(4)]
    Index(index.root).add_files([__import__("pagesindex.inspect", fromlist=["x"]).inspect_file(p) for p in first])
    more = [make_wheel(dist, f"q{i}", "1.0") for i in range(2)]
    procs = [start(index, "build"), start(index, "add", *map(str, more)), start(index, "build")]
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _o, _e in results), results
    code, _o, err = finish(start(index, "build"))
    assert code == 0, err
    assert verify(Index(index.root)) == []
    assert all((index.root / "_site" / f"q{i}" / "index.html").exists() for i in range(2))


def test_a_file_changed_after_inspection_is_not_recorded(index, tmp_path):
    """Time of check, time of use: the bytes copied are hashed again and must be those inspected."""
    from pagesindex.errors import InvalidDistribution
    from pagesindex.inspect import inspect_file

    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    inspected = inspect_file(w)
    make_wheel(tmp_path / "dist", "abc1", "1.0", summary="swapped after inspection")
    before = snapshot(index.root)
    with pytest.raises(InvalidDistribution, match="changed after it was inspected"):
        Index(index.root).add_files([inspected])
    assert snapshot(index.root) == before
