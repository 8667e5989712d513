#!/usr/bin/env python3
"""Peak memory of `pagesindex add` and `pagesindex build` on hostile archive shapes (issue 13,
item 2). Not a timed test: it prints one line per shape and command.

Run from the repository with the project's virtual environment:

    .venv/bin/python benchmarks/hostile_memory.py                 # every shape, add and build
    .venv/bin/python benchmarks/hostile_memory.py --only sdist-pax-x-1gib --no-build
    .venv/bin/python benchmarks/hostile_memory.py --src /tmp/old/src   # another tree's code
    .venv/bin/python benchmarks/hostile_memory.py --rlimit-mb 512      # under an address-space limit

Each shape (tests/hostile_shapes.py) is written into a temporary folder with a fresh index; the
command runs as a child process (``python -m pagesindex``) and its peak resident memory is
``ru_maxrss`` as ``wait4`` reports it when the child exits. `add` is given the file itself. For
`build`, a valid file of the same kind is added, then its bytes in ``packages/`` are replaced by
the hostile ones and its record's sha256 and size made to match (as a pull request could), and the
kept metadata cache is removed, so that the build has to read the archive; a shape that `add`
accepted is built in the index that holds it. ``--src`` puts another
source tree first on the child's ``PYTHONPATH`` (e.g. ``git archive 07545bf src | tar -x -C
/tmp/old`` for the code before the fix). The last column is the first line of the child's
standard error (a refusal is one ``error:`` line; a traceback shows its last line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))


def run_child(args, *, env, rlimit_mb, timeout=None):
    """Run ``python -m pagesindex ARGS``; return (exit status, peak RSS in MiB, seconds, stderr).

    A child still running after ``timeout`` seconds is killed (its stderr then says so).
    """
    import threading

    def limit():
        if rlimit_mb:
            size = rlimit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagesindex", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=limit,
    )
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer is not None:
        timer.start()
    # The output is small (one line); read it after the exit so that wait4 sees the child.
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if timer is not None:
        timer.cancel()
    stderr = proc.stderr.read().decode("utf-8", "replace")
    if timeout and seconds >= timeout:
        stderr = f"KILLED after {timeout} s\n" + stderr
    proc.stdout.read()
    proc.stdout.close()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, seconds, stderr


def summary(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if any(line.startswith("Traceback") for line in lines):
        return "TRACEBACK: " + lines[-1][:150]
    return lines[0][:150] + (f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")


def swap_into_state(index_root: Path, hostile: Path) -> None:
    """Replace the recorded file of the same name with ``hostile``'s bytes; fix its record."""
    from hostile import PKG

    target = index_root / "packages" / PKG / hostile.name
    shutil.copyfile(hostile, target)
    record_path = index_root / "projects" / f"{PKG}.json"
    record = json.loads(record_path.read_text())
    digest = hashlib.sha256()
    with open(target, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    for release in record["releases"].values():
        for f in release["files"]:
            if f["filename"] == hostile.name:
                f["sha256"] = digest.hexdigest()
                f["size"] = target.stat().st_size
    record_path.write_text(json.dumps(record, indent=2))
    shutil.rmtree(index_root / ".pagesindex-cache", ignore_errors=True)


def main(argv=None) -> int:
    from hostile_shapes import SHAPES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated shape names (default: all)")
    parser.add_argument("--no-build", action="store_true", help="measure `add` only")
    parser.add_argument("--src", help="source tree put first on the child's PYTHONPATH")
    parser.add_argument("--rlimit-mb", type=int, default=0, help="RLIMIT_AS of the child, in MiB")
    parser.add_argument("--timeout", type=float, default=120, help="kill a child after this many seconds")
    parser.add_argument("--list", action="store_true", help="list the shapes and exit")
    opts = parser.parse_args(argv)
    if opts.list:
        for name, (what, _build) in SHAPES.items():
            print(f"{name:28} {what}")
        return 0
    names = opts.only.split(",") if opts.only else list(SHAPES)
    unknown = [n for n in names if n not in SHAPES]
    if unknown:
        parser.error(f"unknown shape(s): {', '.join(unknown)} (see --list)")
    env = dict(os.environ)
    env.pop("GITHUB_TOKEN", None)
    env.pop("GH_TOKEN", None)
    if opts.src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(opts.src).resolve())] + [p for p in [env.get("PYTHONPATH")] if p])
    from factory import make_sdist, make_wheel
    from hostile import PKG, VERSION

    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, code: {opts.src or 'this tree'}, RLIMIT_AS: "
          f"{str(opts.rlimit_mb) + ' MiB' if opts.rlimit_mb else 'none'}, load average {load:.2f}")
    print(f"{'shape':28} {'command':7} {'file MB':>8} {'peak MiB':>9} {'seconds':>8} {'exit':>4}  first line of stderr")
    with tempfile.TemporaryDirectory(prefix="pagesindex-hostile-") as tmp:
        tmp = Path(tmp)
        baseline = tmp / "baseline"
        baseline.mkdir()
        valid = make_wheel(baseline / "dist", PKG, VERSION)
        subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(baseline / "index"), "init", "--title", "t", "--no-workflows"],
                       env=env, capture_output=True, check=True)
        code, peak, secs, err = run_child(["--index", str(baseline / "index"), "add", str(valid)], env=env,
                                          rlimit_mb=opts.rlimit_mb, timeout=opts.timeout)
        print(f"{'(valid small wheel)':28} {'add':7} {valid.stat().st_size / 1e6:8.2f} {peak:9.1f} {secs:8.2f} {code:4}  {summary(err)}")
        for name in names:
            what, build = SHAPES[name]
            folder = tmp / name
            (folder / "dist").mkdir(parents=True)
            env["PAGESINDEX_CACHE_DIR"] = str(folder / "readme-cache")  # no README rendered by an earlier run
            path = build(folder / "dist")
            size_mb = path.stat().st_size / 1e6
            index = folder / "index"
            subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(index), "init", "--title", "t", "--no-workflows"],
                           env=env, capture_output=True, check=True)
            code, peak, secs, err = run_child(["--index", str(index), "add", str(path)], env=env, rlimit_mb=opts.rlimit_mb, timeout=opts.timeout)
            print(f"{name:28} {'add':7} {size_mb:8.2f} {peak:9.1f} {secs:8.2f} {code:4}  {summary(err)}", flush=True)
            if not opts.no_build and code == 0:
                # Accepted: build the index that now holds it.
                code, peak, secs, err = run_child(["--index", str(index), "build", "--full"], env=env,
                                                  rlimit_mb=opts.rlimit_mb, timeout=opts.timeout)
                print(f"{name:28} {'build':7} {size_mb:8.2f} {peak:9.1f} {secs:8.2f} {code:4}  {summary(err)}", flush=True)
            elif not opts.no_build:
                shutil.rmtree(index)
                subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(index), "init", "--title", "t", "--no-workflows"],
                               env=env, capture_output=True, check=True)
                good_dir = folder / "good"
                if path.name.endswith(".whl"):
                    good = make_wheel(good_dir, PKG, VERSION)
                else:
                    good = make_sdist(good_dir, PKG, VERSION)
                added = subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(index), "add", str(good)],
                                       env=env, capture_output=True, text=True)
                if added.returncode != 0:
                    print(f"{name:28} {'build':7} (could not add a valid file: {summary(added.stderr)})")
                    continue
                swap_into_state(index, path)
                code, peak, secs, err = run_child(["--index", str(index), "build", "--full"], env=env,
                                                  rlimit_mb=opts.rlimit_mb, timeout=opts.timeout)
                print(f"{name:28} {'build':7} {size_mb:8.2f} {peak:9.1f} {secs:8.2f} {code:4}  {summary(err)}", flush=True)
            shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
