"""`pagesindex check` and the pre-publish check against a local PyPI (JSON and simple APIs)."""

from __future__ import annotations

import json
import re
import socket

import pytest
from conftest import run_cli, state_snapshot
from fakepypi import Fake, FakePyPI
from packaging.version import Version

from pagesindex.checks import pypi
from pagesindex.checks.pypi import (
    PyPIConflict,
    PyPIProject,
    classify,
    normalize_pypi_url,
    pip_pick,
    pre_publish_check,
    version_from_filename,
)
from pagesindex.inspect import inspect_file

CHECKED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def fake_pypi():
    server = FakePyPI()
    yield server
    server.close()


@pytest.fixture
def hello(index, wheel, sdist):
    """An index holding Private_Hello 0.4.5 (wheel and sdist)."""
    index.add_files([inspect_file(wheel("Private_Hello", "0.4.5")), inspect_file(sdist("Private_Hello", "0.4.5"))])
    return index


def record(index, name="private-hello"):
    return json.loads(index.record_path(name).read_text())["extra"]["pypi"]


def check(index, fake_pypi, *args, code=0):
    out = run_cli("check", "--pypi-url", fake_pypi.url, "--timeout", "2", *args, index=index.root, check=False)
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    return out


# -- the cases -----------------------------------------------------------------------
def test_exists_when_pypi_has_a_lower_version(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False}))
    out = check(hello, fake_pypi, code=0)
    assert "exists" in out.stdout and "0.0.0" in out.stdout
    rec = record(hello)
    assert rec["status"] == "exists"
    assert rec["versions"] == ["0.0.0"] and rec["highest"] == "0.0.0"
    assert rec["pypi_url"] == fake_pypi.url and CHECKED.match(rec["checked"])
    assert "error" not in rec
    # the simple API was asked for the normalized name, preferring PEP 691 JSON
    path, accept = fake_pypi.requests[-1]
    assert path == "/simple/private-hello/"
    assert accept.startswith("application/vnd.pypi.simple.v1+json")


def test_exists_is_exit_1_with_strict(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False}))
    check(hello, fake_pypi, "--strict", code=1)


def test_higher_is_exit_2_and_named(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False, "9.9.9": False}))
    out = check(hello, fake_pypi, code=2)
    assert "higher" in out.stdout and "9.9.9" in out.stdout
    assert "instead" in out.stderr
    rec = record(hello)
    assert rec["status"] == "higher" and rec["highest"] == "9.9.9"
    assert rec["versions"] == ["0.0.0", "9.9.9"]


def test_lower_prerelease_is_exists(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.4.5rc1": False}))
    check(hello, fake_pypi, code=0)
    assert record(hello)["status"] == "exists"
    assert record(hello)["highest"] == "0.4.5rc1"


def test_404_is_clear(hello, fake_pypi):
    out = check(hello, fake_pypi, "--strict", code=0)
    assert "clear" in out.stdout
    rec = record(hello)
    assert rec == {"status": "clear", "versions": [], "highest": None, "checked": rec["checked"], "pypi_url": fake_pypi.url}


def test_503_is_unknown_never_clear(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(status=503))
    out = check(hello, fake_pypi, code=0)
    assert "unknown" in out.stdout and "503" in out.stdout
    rec = record(hello)
    assert rec["status"] == "unknown" and "HTTP 503" in rec["error"]
    check(hello, fake_pypi, "--strict", code=1)
    # asked twice per run: one retry for a 5xx
    assert sum(1 for p, _ in fake_pypi.requests if p == "/simple/private-hello/") == 4


@pytest.mark.parametrize(
    "fake, words",
    [
        (Fake(status=429), "HTTP 429"),
        (Fake(status=500), "HTTP 500"),
        (Fake(status=403), "HTTP 403"),
        (Fake(body=b"{not json"), "invalid JSON"),
        (Fake(body=b'{"meta": {"api-version": "2.0"}, "files": []}'), "unsupported simple API version"),
        (Fake(body=b"\x00\x01", content_type="application/octet-stream"), "unexpected content type"),
        (Fake(body=b'{"files": "nope"}'), "malformed"),
    ],
)
def test_bad_answers_are_unknown(hello, fake_pypi, fake, words):
    fake_pypi.set("private-hello", fake)
    out = check(hello, fake_pypi, "--json", code=0)
    (result,) = json.loads(out.stdout)
    assert result["status"] == "unknown" and words in result["error"]


def test_timeout_is_unknown(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}, delay=30))
    out = run_cli("check", "--pypi-url", fake_pypi.url, "--timeout", "0.3", "--json", index=hello.root, check=False)
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["status"] == "unknown" and "timed out" in result["error"]


def test_unreachable_is_unknown(hello):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run_cli("check", "--pypi-url", f"http://127.0.0.1:{port}", "--json", index=hello.root, check=False)
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)
    assert result["status"] == "unknown" and "could not reach" in result["error"]
    assert record(hello)["status"] == "unknown"


def test_unknown_does_not_erase_a_known_result(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    check(hello, fake_pypi, code=2)
    before = record(hello)
    fake_pypi.set("private-hello", Fake(status=503))
    out = check(hello, fake_pypi, "--json", code=0)
    assert json.loads(out.stdout)[0]["status"] == "unknown"
    assert record(hello) == before


def test_html_simple_api(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.1": False, "9.9.9": False}, html_only=True))
    check(hello, fake_pypi, code=2)
    assert record(hello)["versions"] == ["0.1", "9.9.9"]


def test_yanked_higher_version_is_only_exists(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.1": False, "9.9.9": True}))
    check(hello, fake_pypi, code=0)
    rec = record(hello)
    assert rec["status"] == "exists" and rec["highest"] == "9.9.9"


def test_yanked_in_html_is_only_exists(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": True}, html_only=True))
    check(hello, fake_pypi, code=0)
    assert record(hello)["status"] == "exists"


def test_version_without_files_is_only_exists(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.1": False, "9.9.9": False}, fileless=("9.9.9",)))
    check(hello, fake_pypi, code=0)
    assert record(hello)["highest"] == "9.9.9" and record(hello)["status"] == "exists"


def test_higher_prerelease_is_exists_when_we_have_a_final(hello, fake_pypi):
    # pip without --pre ignores 0.5.0rc1 because a final release (our 0.4.5) is available
    fake_pypi.set("private-hello", Fake(versions={"0.5.0rc1": False}))
    out = check(hello, fake_pypi, "--json", code=0)
    assert json.loads(out.stdout)[0]["status"] == "exists"


def test_pep440_not_string_comparison(index, wheel, fake_pypi):
    index.add_files([inspect_file(wheel("abc", "1.9"))])
    fake_pypi.set("abc", Fake(versions={"1.10": False}))
    check(index, fake_pypi, code=2)
    index.add_files([inspect_file(wheel("abc", "1.11"))])
    check(index, fake_pypi, code=0)


def test_prerelease_only_project(index, wheel, fake_pypi):
    index.add_files([inspect_file(wheel("pre-only", "1.0rc1"))])
    fake_pypi.set("pre-only", Fake(versions={"1.0b2": False}))
    check(index, fake_pypi, code=0)
    fake_pypi.set("pre-only", Fake(versions={"1.0rc2": False}))
    check(index, fake_pypi, code=2)
    # a LOWER final on PyPI still wins: pip prefers any final to our pre-release
    fake_pypi.set("pre-only", Fake(versions={"0.9": False}))
    out = check(index, fake_pypi, "--json", code=2)
    assert json.loads(out.stdout)[0]["winner"] == "0.9"


def test_yanked_release_of_ours_does_not_count(index, wheel, fake_pypi):
    index.add_files([inspect_file(wheel("abc", "1.0")), inspect_file(wheel("abc", "2.0"))])
    index.set_yanked("abc", "2.0", True)
    fake_pypi.set("abc", Fake(versions={"1.5": False}))
    out = check(index, fake_pypi, "--json", code=2)
    assert json.loads(out.stdout)[0]["newest"] == "1.0"


def test_several_projects_and_names(index, wheel, fake_pypi):
    index.add_files([inspect_file(wheel(n, "1.0")) for n in ("aaa", "bbb", "ccc")])
    fake_pypi.set("aaa", Fake(versions={"2.0": False}))
    fake_pypi.set("bbb", Fake(versions={"0.1": False}))
    out = check(index, fake_pypi, "--json", code=2)
    assert [(r["project"], r["status"]) for r in json.loads(out.stdout)] == [
        ("aaa", "higher"), ("bbb", "exists"), ("ccc", "clear")
    ]
    out = check(index, fake_pypi, "--json", "BBB", "Ccc", code=0)
    assert [r["project"] for r in json.loads(out.stdout)] == ["bbb", "ccc"]


def test_json_output_shape(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    out = check(hello, fake_pypi, "--json", code=2)
    (result,) = json.loads(out.stdout)
    assert set(result) == {"project", "newest", "status", "versions", "highest", "checked", "pypi_url", "winner", "note"}
    assert result["project"] == "private-hello" and result["newest"] == "0.4.5" and result["winner"] == "9.9.9"


def test_same_version_on_pypi_is_noted(hello, fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.4.5": False}))
    out = check(hello, fake_pypi, "--json", code=0)
    (result,) = json.loads(out.stdout)
    assert result["status"] == "exists" and "either" in result["note"]


def test_no_save_and_markdown(hello, fake_pypi, tmp_path):
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    before = state_snapshot(hello.root)
    report = tmp_path / "report.md"
    check(hello, fake_pypi, "--no-save", "--markdown", str(report), code=2)
    assert state_snapshot(hello.root) == before
    text = report.read_text()
    assert "| private\\-hello | 0\\.4\\.5 | 9\\.9\\.9 | **higher** |" in text


def test_pypi_url_from_index_toml_and_option_wins(hello, fake_pypi, monkeypatch):
    monkeypatch.delenv("PAGESINDEX_PYPI_URL", raising=False)
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    toml = hello.root / "index.toml"
    toml.write_text(toml.read_text() + f'\n[pypi]\nurl = "{fake_pypi.url}/simple/"\n')
    out = run_cli("check", "--json", index=hello.root, check=False)
    assert out.returncode == 2, out.stderr
    assert json.loads(out.stdout)[0]["pypi_url"] == fake_pypi.url
    other = FakePyPI()
    try:
        out = run_cli("check", "--json", "--pypi-url", other.url, index=hello.root, check=False)
        assert out.returncode == 0 and json.loads(out.stdout)[0]["status"] == "clear"
    finally:
        other.close()


@pytest.mark.parametrize("url", ["ftp://pypi.org", "pypi.org", "https://", "https://pypi.org/?q=1", 'https://a"b'])
def test_bad_pypi_url_writes_nothing(hello, url):
    before = state_snapshot(hello.root)
    out = run_cli("check", "--pypi-url", url, index=hello.root, check=False)
    assert out.returncode == 1
    assert out.stderr.startswith("error:") and "--pypi-url" in out.stderr
    assert state_snapshot(hello.root) == before


def test_bad_pypi_url_in_index_toml(hello, monkeypatch):
    monkeypatch.delenv("PAGESINDEX_PYPI_URL", raising=False)
    toml = hello.root / "index.toml"
    toml.write_text(toml.read_text() + '\n[pypi]\nurl = "nowhere"\n')
    before = state_snapshot(hello.root)
    out = run_cli("check", index=hello.root, check=False)
    assert out.returncode == 1 and "pypi.url in index.toml" in out.stderr and "'nowhere'" in out.stderr
    assert state_snapshot(hello.root) == before
    toml.write_text(toml.read_text().replace('"nowhere"', "3"))
    before = state_snapshot(hello.root)
    out = run_cli("check", index=hello.root, check=False)
    assert out.returncode == 1 and "pypi.url" in out.stderr
    assert state_snapshot(hello.root) == before


@pytest.mark.parametrize("name, words", [("nosuch", "no project 'nosuch'"), ("bad name!", "invalid project name")])
def test_bad_names_write_nothing(hello, fake_pypi, name, words):
    before = state_snapshot(hello.root)
    out = check(hello, fake_pypi, name, code=1)
    assert words in out.stderr
    assert state_snapshot(hello.root) == before
    assert fake_pypi.requests == []


def test_empty_index(index, fake_pypi):
    out = check(index, fake_pypi, code=0)
    assert "no projects" in out.stdout


# -- the function register/update call ------------------------------------------------------------
def test_pre_publish_check(fake_pypi):
    fake_pypi.set("Private_Hello", Fake(versions={"9.9.9": False}))
    with pytest.raises(PyPIConflict, match=r"'private-hello'.*9\.9\.9.*--allow-pypi-conflict"):
        pre_publish_check("Private_Hello", "0.4.5", fake_pypi.url)
    result = pre_publish_check("Private_Hello", "0.4.5", fake_pypi.url, allow_conflict=True)
    assert result.status == "higher" and result.record()["highest"] == "9.9.9"
    assert pre_publish_check("Private_Hello", ["0.4.5", "10.0"], fake_pypi.url).status == "exists"
    assert pre_publish_check("other", "1.0", fake_pypi.url).status == "clear"
    fake_pypi.set("down", Fake(status=503))
    result = pre_publish_check("down", "1.0", fake_pypi.url)
    assert result.status == "unknown" and "503" in result.error
    assert PyPIConflict.__mro__[1].__name__ == "PagesIndexError"


# -- pure functions -------------------------------------------------------------------------------
def test_pip_pick_and_classify():
    v = Version
    assert pip_pick([]) is None
    assert pip_pick([v("1.0"), v("1.1.dev0"), v("1.0.post1")]) == v("1.0.post1")
    assert pip_pick([v("1.0a1"), v("1.0.dev0")]) == v("1.0a1")
    found = PyPIProject.from_files("x", ["3.0"], [("x-1.0.tar.gz", False), ("x-2.0-py3-none-any.whl", True)])
    assert found.versions == ("1.0", "2.0", "3.0") and found.installable == ("1.0",)
    assert classify("x", ["1.0"], found).status == "exists"
    assert classify("x", [], found).status == "higher"  # all ours yanked: anything on PyPI wins
    assert classify("x", ["0.9"], found).winner == "1.0"
    assert classify("x", ["1!0.1"], PyPIProject("x", ("2.0",), ("2.0",))).status == "exists"
    assert classify("x", ["1.0+local.1"], PyPIProject("x", ("1.0",), ("1.0",))).status == "exists"
    assert classify("x", ["1.0"], PyPIProject("x", ("1.0+local",), ("1.0+local",))).status == "higher"


def test_version_from_filename():
    assert version_from_filename("private_hello-0.4.5-py3-none-any.whl", "private-hello") == Version("0.4.5")
    assert version_from_filename("private-hello-0.4.5.zip", "private-hello") == Version("0.4.5")
    assert version_from_filename("Private.Hello-1.0rc1.tar.bz2", "private-hello") == Version("1.0rc1")
    assert version_from_filename("private_hello-0.4.5.exe", "private-hello") is None
    assert version_from_filename("other-1.0.tar.gz", "private-hello") is None
    assert version_from_filename("private_hello-notaversion.tar.gz", "private-hello") is None
    assert version_from_filename("bad.whl", "private-hello") is None


def test_normalize_pypi_url():
    assert normalize_pypi_url("https://pypi.org/") == "https://pypi.org"
    assert normalize_pypi_url("http://127.0.0.1:9/mirror/simple") == "http://127.0.0.1:9/mirror"
    with pytest.raises(pypi.InvalidPyPIUrl, match="'file:///x'"):
        normalize_pypi_url("file:///x")


def test_environment_variable_sits_between_option_and_index_toml(hello, fake_pypi, monkeypatch):
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    toml = hello.root / "index.toml"
    toml.write_text(toml.read_text() + '\n[pypi]\nurl = "http://127.0.0.1:9/"\n')
    monkeypatch.setenv("PAGESINDEX_PYPI_URL", fake_pypi.url)
    out = run_cli("check", "--json", index=hello.root, check=False)
    assert out.returncode == 2 and json.loads(out.stdout)[0]["pypi_url"] == fake_pypi.url
    monkeypatch.setenv("PAGESINDEX_PYPI_URL", "not a url")
    out = run_cli("check", index=hello.root, check=False)
    assert out.returncode == 1 and "PAGESINDEX_PYPI_URL" in out.stderr and "'not a url'" in out.stderr
