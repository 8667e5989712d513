"""Real input: the institute's current index in ../shared/seed-index (skipped when absent)."""

import hashlib
import time

import pytest
from conftest import run_cli
from pypi_simple import PyPISimple

pytestmark = pytest.mark.e2e


def test_seed_files_ingest_build_and_install(seed_index, index, serve, clients, capsys):
    files = sorted(str(p) for p in (seed_index / "packages").rglob("*") if p.is_file())
    assert len(files) == 26
    run_cli("add", *files, index=index.root)
    assert index.project_names() == ["configurables", "data-product-tracker", "kavli-configurables", "lightcurvedb", "pdoflow", "pyticdb"]
    # configurables-1.0.0 sits under kavli-configurables/ in the old index, but its own name wins
    assert [r for r in index.get_project("configurables").releases] == ["1.0.0"]
    assert list(index.get_project("kavli-configurables").releases) == ["1.1.0"]
    started = time.perf_counter()
    run_cli("build", index=index.root)
    full = time.perf_counter() - started
    started = time.perf_counter()
    again = run_cli("build", index=index.root)
    nochange = time.perf_counter() - started
    assert "0 files written" in again.stdout
    run_cli("verify", index=index.root)
    with capsys.disabled():
        print(f"\nseed index: {len(files)} files, 6 projects; full build {full:.2f} s, no-change build {nochange:.2f} s (wall, incl. process start)")
    url = serve(index.root / "_site")
    with PyPISimple(url) as client:
        for name in index.project_names():
            for pkg in client.get_project_page(name).packages:
                body = client.s.get(pkg.url).content
                assert hashlib.sha256(body).hexdigest() == pkg.digests["sha256"]
    wanted = ["lightcurvedb==3.0.0b4", "pdoflow", "pyticdb", "data-product-tracker"]
    for spec in wanted + ["lightcurvedb==2.3.0"]:
        name, _, version = spec.partition("==")
        for install in (clients.pip, clients.uv_pip):
            venv = install(url, "--no-deps", spec).venv
            got = clients.installed(venv)
            assert name in got and (not version or got[name] == version), (spec, got)
