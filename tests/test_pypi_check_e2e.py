"""End to end: the attack the check is about, with real pip and uv, and the check against a
second index served by pagesindex itself (PEP 691 JSON through content negotiation).

Our index holds Private_Hello 0.4.5; a second index on 127.0.0.1, standing in for PyPI, holds the
same name at 9.9.9.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from pagesindex.inspect import inspect_file
from pagesindex.render import build_site
from pagesindex.state import Index

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_indexes(index, wheel, serve, tmp_path):
    from factory import make_wheel

    index.add_files([inspect_file(wheel("Private_Hello", "0.4.5"))])
    build_site(index)
    ours = serve(index.root / "_site")
    other = Index.init(tmp_path / "other", title="stand-in for PyPI")
    other.add_files([inspect_file(make_wheel(tmp_path / "other-dist", "Private_Hello", "9.9.9"))])
    host = tmp_path / "host"
    build_site(other, host / "simple")  # served as <host>/simple/<name>/, as PyPI lays it out
    theirs = serve(host)
    return index, ours, theirs


def test_pip_extra_index_url_takes_the_higher_version_and_check_says_higher(two_indexes, clients):
    index, ours, theirs = two_indexes
    proc = clients.pip(theirs + "simple/", "--extra-index-url", ours, "private-hello")
    assert clients.installed(proc.venv)["private-hello"] == "9.9.9"  # the attack works with pip
    out = run_cli("check", "--json", "--pypi-url", theirs, index=index.root, check=False)
    assert out.returncode == 2, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["status"] == "higher" and result["winner"] == "9.9.9" and result["versions"] == ["9.9.9"]
    # pip with only this index is not exposed
    proc = clients.pip(ours, "private-hello")
    assert clients.installed(proc.venv)["private-hello"] == "0.4.5"


def test_uv_first_index_strategy_keeps_ours(two_indexes, clients):
    index, ours, theirs = two_indexes
    proc = clients.uv_pip(theirs + "simple/", "--extra-index-url", ours, "private-hello")
    assert clients.installed(proc.venv)["private-hello"] == "0.4.5"
    proc = clients.uv_pip(theirs + "simple/", "--extra-index-url", ours, "--index-strategy", "unsafe-best-match", "private-hello")
    assert clients.installed(proc.venv)["private-hello"] == "9.9.9"
