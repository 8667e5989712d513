"""`register` and `update` run the dependency-confusion check before writing anything (issue 5)."""

from __future__ import annotations

import pytest
from conftest import state_snapshot
from factory import make_wheel
from fakepypi import Fake, FakePyPI
from ghhelpers import TOKEN, gh_cli, record
from github_server import FakeGitHub

HOME = "https://github.example/kavli/private-hello"


@pytest.fixture
def gh():
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def pypi():
    fake = FakePyPI()
    yield fake
    fake.close()


def _release(gh, tmp_path, version):
    w = make_wheel(tmp_path / version, "Private_Hello", version, description="hi")
    repo = gh.repos.get("kavli/private-hello") or gh.add_repo("kavli/private-hello")
    repo.add_release(f"v{version}", {w.name: w})
    return w


def register(gh, index, pypi, *extra, check=True):
    return gh_cli(gh, "register", "Private_Hello", "v0.4.5", "--author", "A", "--summary", "S", "--homepage", HOME,
                  "--pypi-url", pypi.url, *extra, index=index.root, check=check)


def test_higher_on_pypi_is_refused_and_nothing_written(gh, index, pypi, tmp_path):
    _release(gh, tmp_path, "0.4.5")
    pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    before = state_snapshot(index.root)
    proc = register(gh, index, pypi, check=False)
    assert proc.returncode == 1
    assert "9.9.9" in proc.stderr and "--allow-pypi-conflict" in proc.stderr
    assert state_snapshot(index.root) == before


def test_allow_pypi_conflict_publishes_and_records_the_warning(gh, index, pypi, tmp_path):
    _release(gh, tmp_path, "0.4.5")
    pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    out = register(gh, index, pypi, "--allow-pypi-conflict").stdout
    assert "PyPI check" in out and "higher" in out
    rec = record(index, "private-hello")
    assert rec["extra"]["pypi"]["status"] == "higher" and rec["extra"]["pypi"]["highest"] == "9.9.9"
    assert "0.4.5" in rec["releases"]


def test_exists_is_recorded_and_clear_after(gh, index, pypi, tmp_path):
    _release(gh, tmp_path, "0.4.5")
    pypi.set("private-hello", Fake(versions={"0.0.0": False}))
    out = register(gh, index, pypi).stdout
    assert "exists" in out
    assert record(index, "private-hello")["extra"]["pypi"]["status"] == "exists"


def test_unknown_does_not_block_and_does_not_erase_a_known_answer(gh, index, pypi, tmp_path):
    _release(gh, tmp_path, "0.4.5")
    pypi.set("private-hello", Fake(versions={"0.0.0": False}))
    register(gh, index, pypi)
    _release(gh, tmp_path, "0.5.0")
    pypi.set("private-hello", Fake(status=503))
    gh_cli(gh, "update", "private-hello", "v0.5.0", "--pypi-url", pypi.url, index=index.root)
    rec = record(index, "private-hello")
    assert "0.5.0" in rec["releases"]
    assert rec["extra"]["pypi"]["status"] == "exists"
