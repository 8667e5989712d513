#!/usr/bin/env python3
"""Benchmarks: pagesindex against simple503 and dumb-pypi (see benchmarks/README.md).

Run from the repository with the project's virtual environment:

    .venv/bin/python benchmarks/run.py            # the full run (1,000 and 10,000 projects; --with-50k adds 50,000)
    .venv/bin/python benchmarks/run.py --quick    # a smoke run of a few seconds, no peers

The peers (simple503, dumb-pypi) are installed from PyPI into benchmarks/.venv-peers, apart from
the project's own dependencies. Inputs and outputs live in a cache folder outside the repository
(default ~/.cache/pagesindex-bench). Every figure is the wall time of one child process (of the
small builds, the median of ``--repeat`` runs), and its peak resident memory as the operating
system reports it when the child exits (``wait4``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

PEERS_VENV = HERE / ".venv-peers"
PEERS = ["simple503==0.4.0", "dumb-pypi==1.15.0"]
README = HERE / "README.md"
START_MARK = "<!-- results:start -->"
END_MARK = "<!-- results:end -->"


# -- running children ------------------------------------------------------------------------
class Run:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MiB, status, output."""

    def __init__(self, seconds: float, peak_mib: float, status: int, stdout: str, stderr: str, cpu: float = 0.0,
                 user: float = 0.0, system: float = 0.0):
        self.seconds = seconds
        self.cpu = cpu
        self.user = user
        self.system = system
        self.peak_mib = peak_mib
        self.status = status
        self.stdout = stdout
        self.stderr = stderr

    def json(self) -> Dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


#: Runs one command and writes its figures (wall seconds, CPU seconds, peak RSS) as JSON into the
#: file named by its first argument. The peak of a child of this script cannot be read from this
#: script's own ``wait4``: Linux carries the peak of the memory a process had before ``execve``
#: into the new program's figure, and a child forked (or vforked) from this script starts with
#: this script's memory (after counting a 50,000-project site it holds hundreds of MiB, which
#: every later child then reported as its own peak). The launcher is small, so what its child
#: inherits is too (about 10 MiB, below any Python command measured here).
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
_pid, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
with open(sys.argv[1], "w") as fh:
    json.dump({"seconds": seconds, "status": code, "maxrss": usage.ru_maxrss,
               "user": usage.ru_utime, "system": usage.ru_stime}, fh)
"""


def run(cmd: Sequence[str], *, cwd: Optional[Path] = None, check: bool = True, env: Optional[Dict] = None) -> Run:
    """Run ``cmd`` through :data:`LAUNCHER`; its wall time, CPU time and peak memory
    (``ru_maxrss`` from the launcher's ``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json", delete=False) as figures:
        figures.close()
        try:
            subprocess.run([sys.executable, "-c", LAUNCHER, figures.name, *map(str, cmd)], stdout=out, stderr=err,
                           stdin=subprocess.DEVNULL, cwd=cwd, env=env, check=False)
            fig = json.loads(Path(figures.name).read_text() or "{}")
        finally:
            os.unlink(figures.name)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if not fig:
        raise SystemExit(f"could not run: {' '.join(map(str, cmd))}\n{stderr[-2000:]}")
    result = Run(fig["seconds"], fig["maxrss"] / 1024, fig["status"], stdout, stderr, fig["user"] + fig["system"],
                 fig["user"], fig["system"])
    if check and result.status != 0:
        raise SystemExit(f"failed ({result.status}): {' '.join(map(str, cmd))}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def pagesindex(*args: object, check: bool = True) -> Run:
    return run([sys.executable, "-m", "pagesindex", *args], check=check)


def init(root: Path) -> None:
    from pagesindex.state import Index

    Index.init(root, title="bench")


def child(*args: object) -> Run:
    return run([sys.executable, str(HERE / "child.py"), *args])


def rec(r: "Run", seconds: Optional[float] = None) -> Dict:
    """A figure: wall seconds (or ``seconds`` measured inside the child), CPU seconds (user +
    system, and each), peak MiB."""
    return {"seconds": r.seconds if seconds is None else seconds, "cpu": r.cpu, "user": r.user, "system": r.system,
            "peak_mib": r.peak_mib}


def show(label: str, fig: Dict, extra: str = "") -> None:
    runs = fig.get("runs") or []
    spread = f"   (median of {len(runs)}: {min(runs):.3f}-{max(runs):.3f} s)" if len(runs) > 1 else ""
    say(f"  {label:<44}{fig['seconds']:9.3f} s  (CPU {fig['cpu']:7.2f} s)  {fig['peak_mib']:6.0f} MiB{extra}{spread}")


def count_files(folder: Path) -> int:
    """Files and links under ``folder`` (what a build had to create)."""
    return sum(len(files) for _root, _dirs, files in os.walk(folder))


def site_counts(folder: Path, state: Optional[Path] = None) -> Dict[str, int]:
    """What a build left in ``folder``: ``entries`` (names of files), ``inodes`` (distinct files:
    a hard link to another name or to a file of the state adds a name, not a file), and ``bytes``
    of the distinct files that are not the state's own files (distribution files and kept core
    metadata are linked, not written), and ``new``: how many of those the build created."""
    theirs = set()
    if state is not None:
        for base in (state / "packages", state / ".pagesindex-cache"):
            for current, _dirs, names in os.walk(base):
                for n in names:
                    st = os.lstat(os.path.join(current, n))
                    theirs.add((st.st_dev, st.st_ino))
    entries, seen, written, new = 0, set(), 0, 0
    for current, _dirs, names in os.walk(folder):
        for n in names:
            st = os.lstat(os.path.join(current, n))
            entries += 1
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            if key not in theirs:
                written += st.st_size
                new += 1
    return {"entries": entries, "inodes": len(seen), "new": new, "bytes": written}


#: Where :func:`discard` moves what a run clears: ``<cache>/.bench-trash``, set by :func:`main`.
TRASH: Optional[Path] = None


def discard(*folders: Path) -> None:
    """Move ``folders`` (those that exist) into :data:`TRASH`, which :func:`empty_trash` deletes
    when the run ends, instead of deleting them now; deleted at once when they cannot be moved
    there (another file system). This machine's disk is ext4 without a journal, where the kernel
    does not reuse an inode freed less than 60 s ago, nor one freed less than 360 s ago whose
    inode-table block is dirty (``recently_deleted`` in fs/ext4/ialloc.c), and steps past each
    such inode every time it creates a file: recreating the 257,156 names of the 10,000-project
    site took 58.9 s (58.1 s of it system time) right after deleting it, and 6.7 s with nothing
    deleted in the minute before (2026-12-03). A GitHub runner's disk has a journal and a fresh
    runner has deleted nothing; a build timed here must not follow a deletion either."""
    for folder in folders:
        folder = Path(folder)
        if not os.path.lexists(folder):
            continue
        if TRASH is not None:
            try:
                TRASH.mkdir(parents=True, exist_ok=True)
                folder.rename(TRASH / f"{folder.name}-{time.time_ns()}")
                continue
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)


def empty_trash() -> None:
    """Delete :data:`TRASH` (what this run and any killed run before it moved there)."""
    if TRASH is not None:
        shutil.rmtree(TRASH, ignore_errors=True)


def settle(*folders: Path) -> None:
    """Clear ``folders`` (:func:`discard`) and let the file system finish its pending writes before
    the next timed run (``sync``, then ``PAGESINDEX_BENCH_SETTLE`` seconds, default 5)."""
    discard(*folders)
    if hasattr(os, "sync"):
        os.sync()
    time.sleep(float(os.environ.get("PAGESINDEX_BENCH_SETTLE", "5")))


#: Runs of each small build (no change, one project changed); ``--repeat`` sets it.
REPEAT = 5


def pause() -> None:
    """Before a small timed build: the file system's pending writes flushed, then a second's
    rest (``PAGESINDEX_BENCH_PAUSE`` seconds)."""
    if hasattr(os, "sync"):
        os.sync()
    time.sleep(float(os.environ.get("PAGESINDEX_BENCH_PAUSE", "1")))


def median_run(figures: List[Dict]) -> Dict:
    """The figure of median wall time among ``figures`` (the lower middle one of an even count),
    with ``runs``: every run's wall seconds, in order."""
    ordered = sorted(figures, key=lambda f: f["seconds"])
    return dict(ordered[(len(ordered) - 1) // 2], runs=[f["seconds"] for f in figures])


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def say(text: str = "") -> None:
    print(text, flush=True)


# -- peers -----------------------------------------------------------------------------------
def peers_bin(name: str) -> Path:
    return PEERS_VENV / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_peers() -> None:
    """Create benchmarks/.venv-peers with simple503 and dumb-pypi from PyPI (once)."""
    if peers_bin("simple503").exists() and peers_bin("dumb-pypi").exists():
        return
    say(f"installing peers into {PEERS_VENV}: {', '.join(PEERS)}")
    venv.EnvBuilder(with_pip=True, clear=True).create(PEERS_VENV)
    py = peers_bin("python")
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS], check=True)


# -- machine ---------------------------------------------------------------------------------
def machine() -> Dict[str, str]:
    mem = ""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


# -- ingest input ----------------------------------------------------------------------------
def pip_wheel_stores() -> List[Path]:
    """Folders of wheels that this machine's pip configuration points to (find-links, file:// indexes)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    folders: List[Path] = []
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if not key.endswith(("find-links", "index-url")):
            continue
        for item in value.strip().strip("'\"").split():
            path = Path(item[len("file://"):] if item.startswith("file://") else item)
            if not path.is_absolute() or not path.is_dir():
                continue
            folder = path.parent if path.name == "simple" else path
            if folder not in folders:
                folders.append(folder)
    return folders


def collect_wheels(folders: Sequence[Path], limit: Optional[int]) -> List[Path]:
    """Wheels under ``folders`` that pagesindex accepts, one per filename, sorted by filename."""
    from pagesindex.errors import PagesIndexError
    from pagesindex.inspect import inspect_file

    found: Dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.whl")):
            if path.is_file() and path.name not in found:
                found[path.name] = path
    chosen = []
    refused = 0
    for name in sorted(found):
        try:
            inspect_file(found[name])
        except PagesIndexError:
            refused += 1
            continue
        chosen.append(found[name])
        if limit and len(chosen) >= limit:
            break
    if refused:
        say(f"  ({refused} wheels that pagesindex refuses were left out)")
    return chosen


def generated_wheels(folder: Path, count: int, seed: int = 8) -> List[Path]:
    """``count`` wheels made by tests/factory.py, with a random payload of 1 KiB to 256 KiB each."""
    from factory import make_wheel

    if folder.is_dir() and len(list(folder.glob("*.whl"))) == count:
        return sorted(folder.glob("*.whl"))
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(seed)
    for i in range(count):
        payload = rng.randbytes(rng.randint(1024, 256 * 1024)) if hasattr(rng, "randbytes") else os.urandom(4096)
        make_wheel(folder, f"bench-wheel-{i}", f"1.{i}.0", requires_python=">=3.9",
                   extra_files={f"bench_wheel_{i}/data.bin": payload})
    return sorted(folder.glob("*.whl"))


def link_folder(files: Sequence[Path], folder: Path) -> Path:
    """One flat folder holding ``files`` (hard links, else symbolic links), as simple503 wants."""
    names = sorted(f.name for f in files)
    if folder.is_dir() and sorted(p.name for p in folder.iterdir()) == names:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for f in files:
        try:
            os.link(f, folder / f.name)
        except OSError:
            os.symlink(f.resolve(), folder / f.name)
    return folder


# -- measurements ----------------------------------------------------------------------------
def cold_readme_cache() -> None:
    """Empty the rendered-README cache that the builds of this run use (see main)."""
    folder = Path(os.environ["PAGESINDEX_CACHE_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def bench_ingest(cache: Path, wheels: List[Path], peers: bool) -> Dict:
    folder = link_folder(wheels, cache / "ingest-input")
    files = sorted(folder.iterdir())
    total = sum(f.stat().st_size for f in files)
    say(f"ingest: {len(files)} wheels, {total / 1e6:.1f} MB, load {load()}")
    # Warm the page cache so every tool reads the same bytes from memory.
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    floor = child("floor", *files)
    res: Dict = {"wheels": len(files), "bytes": total, "floor": rec(floor, floor.json()["seconds"])}
    show("floor (read + sha256 once)", res["floor"])
    copyfloor = child("copyfloor", cache / "copy-floor", *files)
    shutil.rmtree(cache / "copy-floor", ignore_errors=True)
    res["copy_floor"] = rec(copyfloor, copyfloor.json()["seconds"])
    show("reference copy (read, sha256, write, fsync)", res["copy_floor"])

    work = cache / "ingest-work"
    shutil.rmtree(work, ignore_errors=True)
    init(work / "cli")
    cold_readme_cache()
    add = pagesindex("--index", work / "cli", "add", *files)
    build = pagesindex("--index", work / "cli", "build")
    res["cli"] = {"seconds": add.seconds + build.seconds, "cpu": add.cpu + build.cpu,
                  "peak_mib": max(add.peak_mib, build.peak_mib), "add": rec(add), "build": rec(build)}
    show("pagesindex add + build (CLI)", res["cli"], f"   (add {add.seconds:.2f} s, build {build.seconds:.2f} s)")
    # The same first build again, from an empty site, with the READMEs rendered before (a
    # maintainer's machine after any earlier build; CI starts without them).
    shutil.rmtree(work / "cli" / "_site")
    warm = pagesindex("--index", work / "cli", "build")
    res["build_warm"] = rec(warm)
    show("pagesindex build, README cache warm (CLI)", res["build_warm"])
    shutil.rmtree(work / "cli", ignore_errors=True)

    init(work / "api")
    cold_readme_cache()
    api = child("ingest", work / "api", *files)
    a = api.json()
    res["api"] = dict(rec(api, a["seconds"]), inspect=a["inspect"], add=a["add"], build=a["build"])
    show("pagesindex API (in process)", res["api"],
         f"   (inspect {a['inspect']:.2f} s, add {a['add']:.2f} s, build {a['build']:.2f} s)")
    shutil.rmtree(work / "api", ignore_errors=True)

    init(work / "nosync")
    cold_readme_cache()
    nosync = child("ingest-nosync", work / "nosync", *files)
    n = nosync.json()
    res["api_nosync"] = dict(rec(nosync, n["seconds"]), inspect=n["inspect"], add=n["add"], build=n["build"])
    show("API, copies not fsynced (experiment)", res["api_nosync"],
         f"   (inspect {n['inspect']:.2f} s, add {n['add']:.2f} s, build {n['build']:.2f} s)")
    shutil.rmtree(work / "nosync", ignore_errors=True)

    if peers:
        s5 = run([peers_bin("simple503"), "--copy", "--extract-metadata", "--sort", folder, work / "simple503"])
        res["simple503"] = rec(s5)
        show("simple503 --copy --extract-metadata --sort", res["simple503"])
        shutil.rmtree(work / "simple503", ignore_errors=True)
    fl = res["floor"]["seconds"]
    say(f"  ratios: CLI / floor {res['cli']['seconds'] / fl:.2f}x, API / floor {a['seconds'] / fl:.2f}x"
        + (f", simple503 / CLI {res['simple503']['seconds'] / res['cli']['seconds']:.2f}x" if peers else ""))
    shutil.rmtree(work, ignore_errors=True)
    res["load"] = load()
    return res


def state_for(cache: Path, projects: int, files: int) -> Dict:
    """The generated state (made once per size and kept in the cache)."""
    from gen import generate_state

    root = cache / f"state-{projects}-{files}"
    summary_path = cache / f"state-{projects}-{files}.summary.json"
    if not summary_path.exists():
        shutil.rmtree(root, ignore_errors=True)
        say(f"generating state: {projects} projects, {files} files into {root}")
        started = time.perf_counter()
        summary = generate_state(root, projects=projects, files=files)
        say(f"  generated in {time.perf_counter() - started:.1f} s")
        summary_path.write_text(json.dumps(summary))
    summary = json.loads(summary_path.read_text())
    summary["root"] = str(root)
    return summary


def one_change_wheel(cache: Path, project: str, version: str, folder_name: str = "change") -> Path:
    from factory import make_wheel

    folder = cache / folder_name
    shutil.rmtree(folder, ignore_errors=True)
    return make_wheel(folder, project, version, requires_python=">=3.9")


def timed_build(root: Path, site: Path, label: str) -> "tuple[Run, Dict]":
    """``pagesindex build`` of ``root`` into ``site`` on the command line; shows and returns the
    run and its figure (with what the build wrote: :func:`site_counts`)."""
    build = pagesindex("--index", root, "build", "--out", site)
    counts = site_counts(site, root)
    fig = dict(rec(build), outputs=counts["entries"], **counts)
    show(label, fig, f"   ({counts['entries']:,} names, {counts['new']:,} files and {counts['bytes'] / 1e6:.1f} MB written)")
    return build, fig


def bench_build(cache: Path, projects: int, files: int, peers: bool) -> Dict:
    """Full build (fresh checkout: no kept core metadata; then as `add` or the deploy cache
    leaves the index), no-change build and one-project rebuild of a generated state, each
    beside dumb-pypi's in the same run."""
    from gen import jsonl_line

    from pagesindex.inspect import read_wheel_metadata
    from pagesindex.state import CACHE_DIR, Index

    st = state_for(cache, projects, files)
    root = Path(st["root"])
    site = cache / "site"
    res: Dict = {"projects": st["projects"], "files": st["files"], "bytes": st["bytes"]}
    say(f"build: {st['projects']} projects, {st['files']} files, load {load()}")
    if peers:
        out = cache / "dumb-pypi"
        jsonl = Path(st["jsonl"])
        cmd = [peers_bin("dumb-pypi"), "--output-dir", out, "--packages-url", "../../packages/"]
    # A fresh checkout: the core metadata that add keeps (and the build fills) is absent.
    settle(root / CACHE_DIR, site)
    cold = pagesindex("--index", root, "build", "--out", site)
    res["full_cold"] = dict(rec(cold), **site_counts(site, root))
    show("pagesindex full build, fresh checkout (CLI)", res["full_cold"])
    d_full = None
    if peers:
        settle(out)
        d_full = run([*cmd, "--package-list-json", jsonl])
        res.setdefault("dumb_pypi", {})["full"] = dict(rec(d_full), **site_counts(out))
        show("dumb-pypi full build", res["dumb_pypi"]["full"])
    settle(*([out] if peers else []), site)
    full, res["full"] = timed_build(root, site, "pagesindex full build, metadata kept (CLI)")
    if d_full is not None:
        d = res["dumb_pypi"]["full"]
        say(f"  ratios (dumb-pypi / ours): full build {d['seconds'] / full.seconds:.2f}x wall, {d['cpu'] / full.cpu:.2f}x CPU; "
            f"fresh checkout {d['seconds'] / cold.seconds:.2f}x wall, {d['cpu'] / cold.cpu:.2f}x CPU; "
            f"dumb-pypi wrote {d['entries']:,} files, {d['bytes'] / 1e6:.1f} MB")

    # The same state with an object store (issue 15): records and the wheels' core metadata in
    # git, no distribution file or sidecar in the site (benchmarks/stores.py makes the state).
    from stores import to_object_store

    s3_root, s3_site = cache / f"state-s3-{st['projects']}", cache / "site-s3"
    if not (s3_root / "index.toml").is_file():
        to_object_store(root, s3_root)
    settle(s3_site, s3_root / CACHE_DIR)
    s3_full, res["full_s3"] = timed_build(s3_root, s3_site, "pagesindex full build, s3 store (CLI)")
    if d_full is not None:
        d = res["dumb_pypi"]["full"]
        say(f"  ratio (dumb-pypi / ours), s3 store: {d['seconds'] / s3_full.seconds:.2f}x wall, {d['cpu'] / s3_full.cpu:.2f}x CPU")
    discard(s3_site)

    # The small builds take a fraction of a second, where one run is at the mercy of the disk's
    # writeback and the load: each is run REPEAT times (``--repeat``), a pause between runs, and
    # the run of median wall time is the figure (with the range of all).
    nochanges = []
    for _ in range(REPEAT):
        pause()
        nochanges.append(rec(pagesindex("--index", root, "build", "--out", site)))
    nochange = median_run(nochanges)
    nochange_api = child("build", root, site)
    res["nochange"] = dict(nochange, api=rec(nochange_api, nochange_api.json()["seconds"]))
    show("pagesindex no-change build (CLI)", res["nochange"])
    show("pagesindex no-change build (API)", res["nochange"]["api"])

    # One project changes: a new release is added (then removed again, so the state is kept).
    names = Index(root).project_names()
    name = names[len(names) // 2]
    display = Index(root).get_project(name).name
    # Each round adds a release, times the build, removes the release and builds again (not
    # timed), so that every timed build renders the one project.
    cli_runs, api_runs = [], []
    for i in range(REPEAT + 1):
        how = "api" if i == REPEAT else "cli"
        wheel = one_change_wheel(cache, display, f"99.0.{i}")
        pagesindex("--index", root, "add", wheel)
        pause()
        if how == "cli":
            cli_runs.append(rec(pagesindex("--index", root, "build", "--out", site)))
        else:
            r = child("build", root, site)
            api_runs.append(rec(r, r.json()["seconds"]))
        pagesindex("--index", root, "remove", name, f"99.0.{i}")
        pagesindex("--index", root, "build", "--out", site)
    changes = [median_run(cli_runs), api_runs[0]]
    res["one"] = dict(changes[0], api=changes[1])
    show("pagesindex one-project rebuild (CLI)", res["one"])
    show("pagesindex one-project rebuild (API)", res["one"]["api"])
    # A project registered, then deleted: both change the API root and the landing page.
    newcomer = one_change_wheel(cache, "zz-bench-newcomer", "1.0", "newcomer")  # the one-project wheel is used below
    pagesindex("--index", root, "add", newcomer)
    res["added"] = rec(pagesindex("--index", root, "build", "--out", site))
    pagesindex("--index", root, "remove", "zz-bench-newcomer")
    res["removed"] = rec(pagesindex("--index", root, "build", "--out", site))
    show("pagesindex build after a project is added (CLI)", res["added"])
    show("pagesindex build after a project is removed (CLI)", res["removed"])
    discard(site)

    if peers:
        settle(out)
        run([*cmd, "--package-list-json", jsonl])
        d_same = run([*cmd, "--package-list-json", jsonl, "--previous-package-list-json", jsonl])
        changed = cache / "dumb-pypi-changed.jsonl"
        meta = read_wheel_metadata(wheel)
        line = jsonl_line(wheel.name, wheel.read_bytes(), requires_python=">=3.9", stamp=int(time.time()), metadata=meta)
        changed.write_text(jsonl.read_text() + line + "\n")
        d_one = run([*cmd, "--package-list-json", changed, "--previous-package-list-json", jsonl])
        res["dumb_pypi"].update({"one": rec(d_one), "nochange": rec(d_same)})
        show("dumb-pypi partial rebuild (one project)", res["dumb_pypi"]["one"])
        show("dumb-pypi no-change", res["dumb_pypi"]["nochange"])
        say(f"  ratios (dumb-pypi / ours): one project {d_one.seconds / changes[0]['seconds']:.1f}x "
            f"(API {d_one.seconds / changes[1]['seconds']:.1f}x), no change {d_same.seconds / nochange['seconds']:.1f}x")
        discard(out)
    res["load"] = load()
    return res


def twenty_releases(cache: Path, project: Optional[str], quick: bool) -> (List[Path], str):
    """Wheels of 20 releases of one project: real ones from PyPI (pip download), else made here."""
    if project and not quick:
        folder = cache / f"twenty-{project}"
        have = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        if len(have) >= 20:
            return have[:20], f"{project} (real wheels from PyPI via pip download)"
        proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", project], capture_output=True, text=True)
        versions = []
        for line in proc.stdout.splitlines():
            if line.startswith("Available versions:"):
                versions = [v.strip() for v in line.split(":", 1)[1].split(",")]
        for version in versions:
            if len(sorted(folder.glob("*.whl")) if folder.is_dir() else []) >= 20:
                break
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                            "--python-version", "3.12", "--platform", "manylinux2014_x86_64",
                            "-d", str(folder), f"{project}=={version}"], capture_output=True)
        have = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        if len(have) >= 20:
            return have[:20], f"{project} (real wheels from PyPI via pip download)"
        say(f"  (could not download 20 releases of {project}; using generated wheels)")
    from factory import make_wheel

    folder = cache / "twenty-generated"
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(20)
    paths = []
    for i in range(20):
        payload = rng.randbytes(200 * 1024) if hasattr(rng, "randbytes") else os.urandom(200 * 1024)
        paths.append(make_wheel(folder, "twenty-releases", f"1.{i}.0", requires_python=">=3.9",
                                description="A README.\n" * 200, extra_files={"twenty_releases/data.bin": payload}))
    return paths, "twenty-releases (generated wheels, 200 KiB payload each)"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def bench_client(cache: Path, project: Optional[str], quick: bool, peers: bool) -> Dict:
    """Bytes a client downloads to resolve one project with 20 releases."""
    from pagesindex.model import normalize_name

    wheels, source = twenty_releases(cache, project, quick)
    work = cache / "client"
    shutil.rmtree(work, ignore_errors=True)
    init(work / "index")
    pagesindex("--index", work / "index", "add", *wheels)
    pagesindex("--index", work / "index", "build")
    site = work / "index" / "_site"
    name = normalize_name(wheels[0].name.split("-")[0])
    page = (site / name / "index.html").read_bytes()
    page_json = (site / name / "index.json").read_bytes()
    sidecars = [(site / "packages" / name / (w.name + ".metadata")).read_bytes() for w in wheels]
    wheel_bytes = sum(w.stat().st_size for w in wheels)
    res = {
        "source": source,
        "page_html": len(page), "page_html_gz": gz(page),
        "page_json": len(page_json), "page_json_gz": gz(page_json),
        "sidecars": sum(map(len, sidecars)), "sidecars_gz": sum(gz(s) for s in sidecars),
        "wheels": wheel_bytes,
    }
    res["ours"] = res["page_html"] + res["sidecars"]
    res["ours_gz"] = res["page_html_gz"] + res["sidecars_gz"]
    say(f"client bytes to resolve one project with 20 releases: {source}")
    say(f"  project page {res['page_html']} B (gzip {res['page_html_gz']} B; JSON {res['page_json']} B, gzip {res['page_json_gz']} B)")
    say(f"  20 metadata sidecars {res['sidecars']} B (gzip {res['sidecars_gz']} B); 20 wheels {wheel_bytes} B")
    say(f"  page + sidecars {res['ours']} B vs page + wheels {res['page_html'] + wheel_bytes} B: "
        f"{(res['page_html'] + wheel_bytes) / res['ours']:.1f}x fewer bytes ({(res['page_html'] + wheel_bytes) / res['ours_gz']:.1f}x with gzip)")
    if peers:
        folder = link_folder(wheels, work / "in")
        run([peers_bin("simple503"), "--copy", "--extract-metadata", "--sort", folder, work / "simple503"])
        s_page = next((work / "simple503").glob("*/index.html"), None)
        if s_page is not None:
            res["simple503_page"] = s_page.stat().st_size
            s_meta = sum(p.stat().st_size for p in (work / "simple503").rglob("*.metadata"))
            res["simple503_sidecars"] = s_meta
            say(f"  simple503: project page {res['simple503_page']} B, sidecars {s_meta} B")
    shutil.rmtree(work, ignore_errors=True)
    return res


# -- report ----------------------------------------------------------------------------------
def fmt_s(x: Optional[float]) -> str:
    if x is None:
        return "-"
    return f"{x:.3f} s" if x < 1 else f"{x:.2f} s"


def cell(fig: Optional[Dict], name: str = "") -> str:
    if not fig:
        return "-"
    split = f": user {fmt_s(fig['user'])}, system {fmt_s(fig['system'])}" if fig.get("user") else ""
    runs = fig.get("runs") or []
    spread = f" (median of {len(runs)}: {fmt_s(min(runs))}-{fmt_s(max(runs))})" if len(runs) > 1 else ""
    return (f"{name + ' ' if name else ''}{fmt_s(fig['seconds'])}{spread} (CPU {fmt_s(fig['cpu'])}{split}), "
            f"{fig['peak_mib']:.0f} MiB")


def ratio(peer: Optional[Dict], ours: Dict) -> str:
    if not peer:
        return "-"
    cpu = f"; CPU {peer['cpu'] / ours['cpu']:.1f}x" if ours.get("cpu") else ""
    return f"{peer['seconds'] / ours['seconds']:.1f}x{cpu}"


def table(results: Dict) -> str:
    """The figures as a Markdown table: ours, the peer's, peer / ours (wall; CPU), the goal."""
    rows = ["| measure | pagesindex: wall (CPU), peak memory | peer | peer / ours | goal |", "|---|---|---|---|---|"]
    ing = results.get("ingest")
    if ing:
        s5 = ing.get("simple503")
        fl = ing["floor"]
        what = f"{ing['wheels']} wheels, {ing['bytes'] / 1e9:.2f} GB"
        rows.append(f"| ingest {what}: `add` + `build` (CLI) | {cell(ing['cli'])} | {cell(s5, 'simple503')} | {ratio(s5, ing['cli'])} | >= 4x faster |")
        rows.append(f"| of which `add` (CLI) | {cell(ing['cli']['add'])} | | | |")
        rows.append(f"| of which the first `build` (CLI; READMEs rendered, none cached) | {cell(ing['cli']['build'])} | | | |")
        if ing.get("build_warm"):
            rows.append(f"| that first `build` again from an empty site, READMEs cached (CLI) | {cell(ing['build_warm'])} | | | |")
        rows.append(f"| ingest, same, Python API (no start-up) | {cell(ing['api'])} | {cell(s5, 'simple503')} | {ratio(s5, ing['api'])} | >= 4x faster |")
        ns = ing.get("api_nosync")
        if ns:
            rows.append(f"| ingest, Python API, copies not fsynced (experiment: the cost of durability) | {cell(ns)} | {cell(s5, 'simple503')} | {ratio(s5, ns)} | |")
        cf = ing.get("copy_floor")
        if cf:
            rows.append(f"| ingest / reference copy (one pass in Python per file: read, sha256, write, fsync: {cell(cf)}) | CLI {ing['cli']['seconds'] / cf['seconds']:.2f}x, "
                        f"API {ing['api']['seconds'] / cf['seconds']:.2f}x | " + (f"simple503 {s5['seconds'] / cf['seconds']:.2f}x" if s5 else "") + " | | |")
        rows.append(f"| ingest / floor (read + sha256 once: {cell(fl)}) | CLI {ing['cli']['seconds'] / fl['seconds']:.2f}x, "
                    f"API {ing['api']['seconds'] / fl['seconds']:.2f}x | simple503 {s5['seconds'] / fl['seconds']:.2f}x | | <= 1.5x |"
                    if s5 else f"| ingest / floor ({cell(fl)}) | CLI {ing['cli']['seconds'] / fl['seconds']:.2f}x | | | <= 1.5x |")
    for b in results.get("builds") or ([results["build"]] if results.get("build") else []):
        d = b.get("dumb_pypi") or {}
        df = d.get("full")
        what = f"{b['projects']:,} projects, {b['files']:,} files"
        outs = (f" ({b['full']['entries']:,} names, {b['full'].get('new', b['full']['inodes']):,} files and {b['full']['bytes'] / 1e6:.1f} MB written"
                + (f"; dumb-pypi {df['entries']:,} files, {df['bytes'] / 1e6:.1f} MB)" if df else ")")) if "entries" in b["full"] else ""
        rows.append(f"| full build, {what}{outs} | {cell(b['full'])} | {cell(df, 'dumb-pypi')} | {ratio(df, b['full'])} | >= 3x faster |")
        if b.get("full_cold"):
            rows.append(f"| the same from a fresh checkout (no kept core metadata: each wheel opened) | {cell(b['full_cold'])} | "
                        f"{cell(df, 'dumb-pypi')} | {ratio(df, b['full_cold'])} | >= 3x faster |")
        if b.get("full_s3"):
            f3 = b["full_s3"]
            rows.append(f"| the same with an s3 store (no distribution file or sidecar in the site: {f3['entries']:,} names, "
                        f"{f3['new']:,} files and {f3['bytes'] / 1e6:.1f} MB written) | {cell(f3)} | {cell(df, 'dumb-pypi')} | "
                        f"{ratio(df, f3)} | >= 3x faster |")
        rows.append(f"| one-project rebuild (CLI), {b['projects']:,} projects | {cell(b['one'])} | {cell(d.get('one'), 'dumb-pypi partial')} | {ratio(d.get('one'), b['one'])} | < 0.3 s, flat |")
        rows.append(f"| one-project rebuild (API), {b['projects']:,} projects | {cell(b['one']['api'])} | | {ratio(d.get('one'), b['one']['api'])} | < 0.3 s, flat |")
        if b.get("added"):
            rows.append(f"| build after a project is added / removed (CLI), {b['projects']:,} projects | {cell(b['added'])} / {cell(b['removed'])} | | | |")
        rows.append(f"| no-change build (CLI), {b['projects']:,} projects | {cell(b['nochange'])} | {cell(d.get('nochange'), 'dumb-pypi')} | {ratio(d.get('nochange'), b['nochange'])} | < 0.3 s |")
        rows.append(f"| no-change build (API), {b['projects']:,} projects | {cell(b['nochange']['api'])} | | | < 0.3 s |")
    c = results.get("client")
    if c:
        rows.append(f"| bytes to resolve 1 project with 20 releases: project page + 20 sidecars | {c['ours']:,} B "
                    f"({c['ours_gz']:,} B gzip) | page + 20 wheels {c['page_html'] + c['wheels']:,} B | "
                    f"{(c['page_html'] + c['wheels']) / c['ours']:.1f}x fewer | |")
    return "\n".join(rows)


def write_readme(results: Dict) -> None:
    m = results["machine"]
    block = "\n".join([
        START_MARK,
        f"Last run: {results['when']} (`{results['command']}`)",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, Python {m['python']}, {m['system']}; "
        f"load average (1/5/15 min) {results['load_before']} before, {results['load_after']} after "
        f"(the machine was shared with other work).",
        "",
        table(results),
        "",
        f"Client bytes measured with {results['client']['source']}." if results.get("client") else "",
        END_MARK,
    ])
    text = README.read_text() if README.exists() else f"# Benchmarks\n\n{START_MARK}\n{END_MARK}\n"
    start, end = text.index(START_MARK), text.index(END_MARK) + len(END_MARK)
    README.write_text(text[:start] + block + text[end:])


def main(argv: Optional[Sequence[str]] = None) -> int:
    global REPEAT, TRASH
    # The inputs (8 GB of wheels, 100,000 files) are far past GitHub Pages' 1 GB site limit, which
    # pagesindex enforces; the benchmark measures speed, so it lifts that limit for its children.
    os.environ.setdefault("PAGESINDEX_MAX_SITE_BYTES", str(1 << 50))
    # Byte-compile pagesindex as `pip install` does for a regular install (an editable install
    # under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at each command's
    # start-up, which no user's installation does).
    import pagesindex

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(pagesindex.__file__).parent)], check=True)
    # The builds measured here start with no rendered README (as in CI): their own cache folder,
    # emptied before each ingest; the user's ~/.cache/pagesindex is neither read nor filled.
    os.environ["PAGESINDEX_CACHE_DIR"] = tempfile.mkdtemp(prefix="pagesindex-bench-readmes-")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, generated wheels, no peers")
    parser.add_argument("--sizes", default="1000,10000", help="projects of each generated state, comma-separated, 10 files a project (default 1000,10000)")
    parser.add_argument("--with-50k", action="store_true", help="also the 50,000-project state (500,000 files; long)")
    parser.add_argument("--projects", type=int, default=None, help="one generated state of this many projects instead of --sizes")
    parser.add_argument("--files", type=int, default=None, help="files in that state (default 10 a project)")
    parser.add_argument("--wheels", type=Path, action="append", help="folder of wheels to ingest (repeatable; default: the wheel stores of pip's configuration)")
    parser.add_argument("--max-wheels", type=int, default=None, help="ingest at most this many wheels")
    parser.add_argument("--generate-wheels", type=int, default=0, help="ingest N wheels made here instead of real ones")
    parser.add_argument("--resolve-project", default="rich", help="project whose 20 releases are downloaded from PyPI for the client-bytes figure")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "pagesindex-bench", help="work folder (inputs, outputs)")
    parser.add_argument("--only", default="ingest,build,client", help="comma-separated: ingest, build, client")
    parser.add_argument("--no-peers", action="store_true", help="measure pagesindex only")
    parser.add_argument("--repeat", type=int, default=REPEAT, help=f"runs of each small build (no change, one project changed); the median is shown (default {REPEAT})")
    parser.add_argument("--write-readme", action="store_true", help="put the figures into benchmarks/README.md")
    args = parser.parse_args(argv)

    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")
    REPEAT = args.repeat
    if args.quick:
        os.environ.setdefault("PAGESINDEX_BENCH_SETTLE", "0")
        os.environ.setdefault("PAGESINDEX_BENCH_PAUSE", "0")
        args.projects, args.files, args.no_peers = min(args.projects or 20, 20), min(args.files or 120, 120), True
        args.generate_wheels = args.generate_wheels or 8
    cache = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    TRASH = cache / ".bench-trash"
    try:
        return _run(args, cache, argv)
    finally:
        empty_trash()


def _run(args: argparse.Namespace, cache: Path, argv: Optional[Sequence[str]]) -> int:
    """The run :func:`main` parsed ``args`` (from ``argv``) for, in the work folder ``cache``."""
    peers = not args.no_peers
    if peers:
        ensure_peers()
    only = set(args.only.split(","))
    results: Dict = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "command": " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
                     "load_before": load()}
    m = results["machine"]
    say(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}; load {results['load_before']}")

    if "ingest" in only:
        if args.generate_wheels:
            wheels = generated_wheels(cache / f"gen-wheels-{args.generate_wheels}", args.generate_wheels)
        else:
            folders = args.wheels or pip_wheel_stores()
            say(f"collecting wheels from {', '.join(map(str, folders)) or '(none)'}")
            wheels = collect_wheels(folders, args.max_wheels)
            if not wheels:
                say("  no wheels found there; making 200")
                wheels = generated_wheels(cache / "gen-wheels-200", 200)
        results["ingest"] = bench_ingest(cache, wheels, peers)
    if "build" in only:
        if args.projects:
            sizes = [(args.projects, args.files or args.projects * 10)]
        else:
            counts = [int(n) for n in args.sizes.split(",") if n.strip()] + ([50_000] if args.with_50k else [])
            sizes = [(n, n * 10) for n in counts]
        results["builds"] = [bench_build(cache, n, f, peers) for n, f in sizes]
        results["build"] = results["builds"][-1]
    if "client" in only:
        results["client"] = bench_client(cache, args.resolve_project, args.quick, peers)
    results["load_after"] = load()
    say("")
    say(table(results))
    (cache / "last-run.json").write_text(json.dumps(results, indent=1))
    if args.write_readme:
        write_readme(results)
        say(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
