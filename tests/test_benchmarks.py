"""The benchmark suite still runs: its tiniest mode (benchmarks/run.py --quick), a few seconds.

The figures themselves are not asserted (no timed tests); the run must finish, write its results,
and the client-bytes figure must show the sidecars' point (fewer bytes than the wheels).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, benchmark_module

pytestmark = pytest.mark.bench


def test_quick_benchmark_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tmp_path / "last-run.json").read_text())
    assert set(results) >= {"machine", "ingest", "build", "client"}
    ingest, build, client = results["ingest"], results["build"], results["client"]
    assert ingest["wheels"] == 8 and ingest["cli"]["seconds"] > 0 and ingest["floor"]["peak_mib"] > 0
    assert build["projects"] == 20 and build["files"] == 120
    for figure in (build["full"], build["one"], build["one"]["api"], build["nochange"], build["nochange"]["api"]):
        assert figure["seconds"] > 0 and figure["peak_mib"] > 0
    # The small builds: the median of 5 runs each, and the runs are kept beside it.
    for figure in (build["one"], build["nochange"]):
        assert len(figure["runs"]) == 5 and figure["seconds"] == sorted(figure["runs"])[2]
    assert "(median of 5: " in proc.stdout
    assert client["sidecars"] > 0 and client["ours"] < client["wheels"]
    assert "| full build, 20 projects, 120 files (" in proc.stdout
    # What the run cleared was moved aside, not deleted before a timed build, and is gone at its end.
    assert not (tmp_path / ".bench-trash").exists()
    # The generated state is kept in the cache and is a valid index: it builds and verifies.
    state, site = tmp_path / "state-20-120", tmp_path / "check-site"
    for args in (["build", "--out", str(site)], ["verify", "--out", str(site)]):
        check = subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(state), *args],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_build_benchmark_beside_dumb_pypi_runs(tmp_path):
    """The build figures beside dumb-pypi's, on a tiny generated state, when the peers' virtual
    environment is there (benchmarks/.venv-peers: made from PyPI by a full run, so not in CI):
    every ratio is printed."""
    if not (REPO / "benchmarks" / ".venv-peers" / "bin" / "dumb-pypi").exists():
        pytest.skip("no benchmarks/.venv-peers (a full benchmark run makes it)")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--only", "build", "--projects", "20", "--files", "60",
         "--repeat", "2", "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PAGESINDEX_BENCH_SETTLE": "0", "PAGESINDEX_BENCH_PAUSE": "0"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ratios (dumb-pypi / ours): one project " in proc.stdout and ", no change " in proc.stdout
    build = json.loads((tmp_path / "last-run.json").read_text())["build"]
    assert len(build["one"]["runs"]) == 2 and build["dumb_pypi"]["nochange"]["seconds"] > 0
    assert "| one-project rebuild (CLI), 20 projects | " in proc.stdout and "(median of 2: " in proc.stdout


def test_unknown_option_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--no-such-option"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--no-such-option" in proc.stderr
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--repeat", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--repeat must be at least 1, not 0" in proc.stderr


def test_hostile_memory_benchmark_runs():
    """benchmarks/hostile_memory.py prints one line per shape and command, with the refusal."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "hostile_memory.py"), "--only", "sdist-pax-x-1gib,sdist-pax-chain"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("sdist-")]
    assert len(lines) == 4, proc.stdout
    assert all("error: abc1-1.0.tar.gz: " in line and "Traceback" not in line for line in lines), proc.stdout


def test_discard_moves_aside_and_the_trash_is_emptied(tmp_path, monkeypatch):
    """run.py clears a site by moving it into the run's trash (a deletion right before a timed
    build makes it pay for the freed inodes on this disk), deletes it at once without a trash, and
    deletes the trash at the end."""
    run = benchmark_module("run")
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a" / "index.html").write_text("x")
    monkeypatch.setattr(run, "TRASH", tmp_path / ".bench-trash")
    run.discard(site, tmp_path / "absent")
    assert not site.exists()
    [moved] = list((tmp_path / ".bench-trash").iterdir())
    assert moved.name.startswith("site-") and (moved / "a" / "index.html").read_text() == "x"
    run.empty_trash()
    assert not (tmp_path / ".bench-trash").exists()
    monkeypatch.setattr(run, "TRASH", None)
    site.mkdir()
    run.discard(site)
    assert not site.exists() and not (tmp_path / ".bench-trash").exists()


def test_generated_state_is_the_same_for_the_same_arguments(tmp_path):
    """benchmarks/gen.py: the same arguments give the same bytes (sdists' gzip headers carried
    the time of the run), and ``variety`` changes only what it adds."""
    gen = benchmark_module("gen")

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    states = {}
    for name, variety in (("a", False), ("b", False), ("c", True)):
        gen.generate_state(tmp_path / name, projects=30, files=150, variety=variety)
        states[name] = files(tmp_path / name)
    assert states["a"] == states["b"]
    assert states["a"].keys() == states["c"].keys()
    assert {k for k in states["a"] if states["a"][k] != states["c"][k]} <= {k for k in states["a"] if k.startswith("projects/")}
    assert states["a"] != states["c"]


def test_quick_store_benchmark_runs(tmp_path):
    """benchmarks/stores.py --quick: both figures for a tiny index (moto's S3 server on
    127.0.0.1), printed and written; the site of the ``s3`` index holds no distribution file and
    no sidecar, that of the ``git`` index all of them."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "stores.py"), "--quick", "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tmp_path / "stores-last-run.json").read_text())
    git, s3 = results["artifact"]["git"]["site"], results["artifact"]["s3"]["site"]
    assert git["distribution files"]["files"] == 120 and git["sidecars"]["files"] > 0
    assert s3["distribution files"]["files"] == s3["sidecars"]["files"] == 0
    assert s3["pages"]["files"] == git["pages"]["files"] > 0 and s3["JSON"]["files"] == git["JSON"]["files"] > 0
    wheels = [c["wheels"] for c in results["change"]]
    assert len(wheels) == 2 and 0 < wheels[0] < wheels[1]
    for figures in results["change"]:
        for step in ("add", "publish", "build", "verify", "total"):
            assert figures["median"][step]["seconds"] > 0 and figures["median"][step]["cpu"] > 0
    assert "| distribution files | 120 |" in proc.stdout and "| verify | " in proc.stdout


def test_tar_index_reads_what_tar_wrote(tmp_path):
    """benchmarks/tar_index.py: the member headers of a tar as GNU tar writes the Pages artifact
    (``./`` names, folders, a name over 100 bytes in a GNU long-name member), and of tarfile's pax
    format, give the same files and sizes as tarfile reads; a file that is not a tar is refused."""
    import shutil
    import tarfile

    tar_index = benchmark_module("tar_index")

    site = tmp_path / "site"
    deep = site / "_pages" / ("p" * 90) / ("v" * 40)
    deep.mkdir(parents=True)
    (deep / "index.html").write_bytes(b"x" * 1000)
    (site / "index.html").write_bytes(b"")
    (site / "caf\u00e9.json").write_bytes(b"{}" * 300)
    expected = {"index.html": 0, "caf\u00e9.json": 600, f"_pages/{'p' * 90}/{'v' * 40}/index.html": 1000}
    tars = []
    if shutil.which("tar"):
        gnu = tmp_path / "gnu.tar"
        subprocess.run(["tar", "--directory", str(site), "-cf", str(gnu), "."], check=True)
        tars.append(gnu)
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        made = tmp_path / f"{fmt}.tar"
        with tarfile.open(made, "w", format=fmt) as tf:
            tf.add(site, arcname=".")
        tars.append(made)
    for made in tars:
        files, others = tar_index.files_of(made)
        assert files == expected, made
        assert others == 4, made  # ., _pages, and the two folders under it
        with tarfile.open(made) as tf:
            assert {m.name[2:]: m.size for m in tf.getmembers() if m.isfile()} == files
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar" + b"\1" * 1100)
    with pytest.raises(ValueError, match="no tar header at byte 0"):
        tar_index.files_of(bad)
