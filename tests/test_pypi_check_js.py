"""The browser check (static/pypi-check.js) under node: PEP 440 order against `packaging`, the
decision against PyPI's JSON API, and the page changes, with a local PyPI on 127.0.0.1.

Skipped when node is not installed.
"""

from __future__ import annotations

import itertools
import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from fakepypi import Fake, FakePyPI
from packaging.version import InvalidVersion, Version

import pagesindex

NODE = shutil.which("node")
SCRIPT = Path(pagesindex.__file__).parent / "static" / "pypi-check.js"
HARNESS = Path(__file__).parent / "js" / "harness.js"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node(command: str, arg) -> object:
    proc = subprocess.run(
        [NODE, str(HARNESS), str(SCRIPT), command], input=json.dumps(arg), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def fake_pypi():
    server = FakePyPI()
    yield server
    server.close()


def test_the_issue_pairs():
    pairs = [
        ("1.10", "1.9"),
        ("1.0", "1.0rc1"),
        ("1.0rc1", "1.0b2"),
        ("1.0b2", "1.0a1"),
        ("1.0a1", "1.0.dev0"),
        ("1.0.post1", "1.0"),
        ("1!0.1", "2.0"),
        ("1.0+local", "1.0"),
        ("1.0+1", "1.0+abc"),
        ("1.0+abc.2", "1.0+abc"),
        ("1.0.post1", "1.0.post1.dev5"),
        ("1.0a1", "1.0a1.dev1"),
        ("100000000000000000001", "100000000000000000000"),
    ]
    assert node("compare", pairs) == [1] * len(pairs)
    assert node("compare", [[b, a] for a, b in pairs]) == [-1] * len(pairs)
    assert node("compare", [["1.0", "1.0.0"], ["1.0RC1", "1.0c1"], ["v1.0-1", "1.0.post1"], ["1.0+AbC", "1.0+abc"]]) == [0] * 4


def corpus():
    epochs = ["", "1!"]
    releases = ["0", "1", "1.0", "1.0.0", "1.9", "1.10", "2.0.1", "10"]
    pres = ["", "a1", "b2", "rc1", "c1", "-alpha", ".pre3", "rc"]
    posts = ["", ".post1", "-2", ".rev"]
    devs = ["", ".dev0", ".dev3"]
    locals_ = ["", "+local.1", "+abc", "+1.2", "+abc.5"]
    return ["".join(p) for p in itertools.product(epochs, releases, pres, posts, devs, locals_)]


def test_order_matches_packaging():
    versions = corpus()
    out = node("sort", versions)
    assert all(out["valid"])
    assert out["sorted"] == sorted(versions, key=Version)


def test_validity_matches_packaging():
    samples = [
        "", "a", "1..0", "1.0-", "1.0+", "1.0+a+b", "v", "1.0 beta", "1_0", "01.0", " 1.0 ", "1.0RC1",
        "V1.0", "1.0-post1", "1.0_dev0", "1!", "1.0+ab-cd_ef", "1.0.dev-1", "1.0-dev", "1.0a.1", "1.0.a1",
        "1.0preview2", "1.0r", "1.0-r-3", "1.0+.a", "1.0+a.", "1.2.3.4.5.6", "2012.10", "1.0.post", "1.0c",
        "-1.0", "1.0-1-1", "1.0a1b1",
    ]
    expected = []
    for s in samples:
        try:
            Version(s)
            expected.append(True)
        except InvalidVersion:
            expected.append(False)
    assert node("sort", samples)["valid"] == expected


def releases(**versions):
    return {"info": {"version": "x"}, "releases": {v: [{"filename": f"x-{v}.tar.gz", "yanked": y}] for v, y in versions.items()}}


@pytest.mark.parametrize(
    "newest, data, status, winner",
    [
        ("0.4.5", releases(**{"0.0.0": False}), "exists", None),
        ("0.4.5", releases(**{"9.9.9": False}), "higher", "9.9.9"),
        ("0.4.5", releases(**{"0.4.5rc1": False}), "exists", None),
        ("0.4.5", releases(**{"0.5.0rc1": False}), "exists", None),
        ("0.4.5", releases(**{"9.9.9": True}), "exists", None),
        ("1.0rc1", releases(**{"1.0rc2": False}), "higher", "1.0rc2"),
        ("1.0rc1", releases(**{"0.9": False}), "higher", "0.9"),
        ("1.9", releases(**{"1.10": False}), "higher", "1.10"),
        ("1.10", releases(**{"1.9": False}), "exists", None),
        ("1!0.1", releases(**{"2.0": False}), "exists", None),
        ("", releases(**{"0.1": False}), "higher", "0.1"),
        ("1.0", {"info": {"version": "2.0"}}, "higher", "2.0"),
        ("1.0", {"releases": {"2.0": []}}, "exists", None),
    ],
)
def test_decide(newest, data, status, winner):
    out = node("decide", {"newest": newest, "data": data})
    assert out["status"] == status and out["winner"] == winner


def test_decide_rejects_unusable_answers():
    assert node("decide", {"newest": "1.0", "data": {"message": "hi"}}) is None
    assert node("decide", {"newest": "not a version", "data": releases(**{"1.0": False})}) is None


def section(url, project="private-hello", newest="0.4.5"):
    return {"id": "pypi-check", "data-project": project, "data-newest": newest, "data-pypi-url": url}


def test_page_higher_hides_install_commands(fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False, "9.9.9": False}))
    out = node("run", {"section": section(fake_pypi.url + "/"), "installs": 3})
    assert out["hidden"] is False and out["status"] == "higher"
    assert "9.9.9" in out["text"] and "0.4.5" in out["text"] and "Warning" in out["text"]
    assert out["installsHidden"] == [True, True, True]
    assert "pypi-higher" in out["className"]
    assert fake_pypi.requests[-1][0] == "/pypi/private-hello/json"


def test_page_exists_shows_a_notice(fake_pypi):
    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False}))
    out = node("run", {"section": section(fake_pypi.url), "installs": 2})
    assert out["hidden"] is False and out["status"] == "exists"
    assert "also taken on PyPI" in out["text"] and "0.0.0" in out["text"]
    assert out["installsHidden"] == [False, False]


@pytest.mark.parametrize("fake", [None, Fake(status=503), Fake(body=b"{oops", content_type="application/json"), Fake(status=429)])
def test_page_stays_silent(fake_pypi, fake):
    if fake is not None:
        fake_pypi.set("private-hello", fake)
    out = node("run", {"section": section(fake_pypi.url), "installs": 1})
    assert out["result"] is None and out["hidden"] is True and out["status"] is None
    assert out["installsHidden"] == [False]


def test_page_silent_when_unreachable_or_malformed_section(fake_pypi):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = node("run", {"section": section(f"http://127.0.0.1:{port}"), "installs": 1})
    assert out["hidden"] is True and out["installsHidden"] == [False]
    fake_pypi.set("private-hello", Fake(versions={"9.9.9": False}))
    for bad in (section(fake_pypi.url, project="Private_Hello"), section("javascript:alert(1)"), section(fake_pypi.url, newest="x y")):
        out = node("run", {"section": bad, "installs": 1})
        assert out["hidden"] is True and out["installsHidden"] == [False]
    assert fake_pypi.requests == []
    out = node("run", {"section": None, "installs": 1})
    assert out["result"] is None
    out = node("run", {"section": section(fake_pypi.url), "installs": 1, "noFetch": True})
    assert out["hidden"] is True


# -- in a real browser: a built page, served, against the local PyPI ---------------------------------
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def dump_dom(url: str) -> str:
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium")
def test_built_page_in_a_browser(index, wheel, fake_pypi, serve):
    import re

    from pagesindex.inspect import inspect_file
    from pagesindex.render import build_site
    from pagesindex.state import Index

    toml = index.root / "index.toml"
    toml.write_text(toml.read_text() + f'\n[pypi]\nurl = "{fake_pypi.url}/simple/"\n')
    index = Index(index.root)
    index.add_files([inspect_file(wheel("Private_Hello", "0.4.5"))])
    build_site(index)
    site = index.root / "_site"
    html = (site / "_pages/private-hello/index.html").read_text()
    assert (
        f'<section id="pypi-check" data-project="private-hello" data-newest="0.4.5" data-pypi-url="{fake_pypi.url}" hidden></section>'
        in html
    )
    assert '<script src="../../_static/pypi-check.js" defer></script>' in html
    assert (site / "_static/pypi-check.js").read_bytes() == SCRIPT.read_bytes()
    url = serve(site) + "_pages/private-hello/"

    def section_of(dom):
        return re.search(r'<section id="pypi-check"[^>]*>.*?</section>', dom, re.S).group(0)

    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False, "9.9.9": False}))
    sec = section_of(dump_dom(url))
    assert 'data-status="higher"' in sec and "hidden" not in sec.split(">", 1)[0] and "<strong>9.9.9</strong>" in sec
    fake_pypi.set("private-hello", Fake(versions={"0.0.0": False}))
    sec = section_of(dump_dom(url))
    assert 'data-status="exists"' in sec and "0.0.0" in sec
    for fake in (Fake(status=503), None):
        fake_pypi.projects.clear()
        if fake:
            fake_pypi.set("private-hello", fake)
        sec = section_of(dump_dom(url))
        assert "hidden" in sec.split(">", 1)[0] and "data-status" not in sec
    assert [p for p, _ in fake_pypi.requests] == ["/pypi/private-hello/json"] * 4
