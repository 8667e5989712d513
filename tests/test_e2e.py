"""End to end: build an index, serve it on 127.0.0.1, install with real pip and uv."""

import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from conftest import run_cli
from pypi_simple import ACCEPT_JSON_ONLY, PyPISimple

from pagesindex.inspect import inspect_file
from pagesindex.render import build_site

pytestmark = pytest.mark.e2e


def publish(index, files, serve, **kwargs):
    index.add_files([inspect_file(f) for f in files], **kwargs)
    build_site(index)
    return serve(index.root / "_site")


def fetch(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req) as resp:
        return resp.status, resp.headers, resp.read()


def test_names_normalize_and_install_with_pip_and_uv(index, wheel, serve, clients):
    url = publish(index, [wheel("Company.Test_Utils", "1.0"), wheel("ABC1", "2.0")], serve)
    assert (index.root / "_site/company-test-utils/index.html").is_file()
    assert (index.root / "_site/abc1/index.html").is_file()
    proc = clients.pip(url, "COMPANY_test.utils", "abc1")
    assert clients.installed(proc.venv) == {"company-test-utils": "1.0", "abc1": "2.0"}
    proc = clients.uv_pip(url, "COMPANY_test.utils", "ABC1")
    assert clients.installed(proc.venv) == {"company-test-utils": "1.0", "abc1": "2.0"}


def test_platform_wheels_and_sdist_are_all_listed_and_right_one_chosen(index, wheel, sdist, serve, clients):
    files = [
        wheel("abc1", "1.0", tag="py3-none-any"),
        wheel("abc1", "1.0", tag="cp39-cp39-win_amd64"),
        wheel("abc1", "1.0", tag="cp312-cp312-macosx_11_0_arm64"),
        sdist("abc1", "1.0"),
    ]
    url = publish(index, files, serve)
    with PyPISimple(url) as client:
        page = client.get_project_page("abc1")
    assert sorted(p.filename for p in page.packages) == sorted(f.name for f in files)
    for pkg in page.packages:
        status, _h, body = fetch(pkg.url)
        assert hashlib.sha256(body).hexdigest() == pkg.digests["sha256"]
    proc = clients.pip(url, "abc1==1.0", "--only-binary", ":all:")
    assert clients.installed(proc.venv) == {"abc1": "1.0"}


def test_requires_python_is_honoured(index, wheel, serve, clients, tmp_path):
    url = publish(index, [wheel("abc1", "1.0", requires_python=">=3.8"), wheel("abc1", "2.0", requires_python=">=3.10,<4")], serve)
    with PyPISimple(url) as client:
        page = client.get_project_page("abc1")
    assert {p.version: p.requires_python for p in page.packages} == {"1.0": ">=3.8", "2.0": ">=3.10,<4"}
    # pip for an older interpreter (3.9) skips 2.0 and takes 1.0
    dest = tmp_path / "dl"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--python-version", "3.9",
           "--index-url", url, "-d", str(dest), "abc1"]
    subprocess.run(cmd, env=clients.env, check=True, capture_output=True)
    assert [p.name for p in dest.iterdir()] == ["abc1-1.0-py3-none-any.whl"]
    proc = clients.pip(url, "abc1")
    assert clients.installed(proc.venv) == {"abc1": "2.0"}


def test_local_version_and_prerelease_install_when_pinned(index, wheel, serve, clients):
    url = publish(index, [wheel("abc1", "1.0"), wheel("abc1", "1.0+local.1"), wheel("abc1", "3.0.0b4")], serve)
    assert clients.installed(clients.pip(url, "abc1==1.0+local.1").venv)["abc1"] == "1.0+local.1"
    assert clients.installed(clients.pip(url, "abc1==3.0.0b4").venv)["abc1"] == "3.0.0b4"
    assert clients.installed(clients.uv_pip(url, "abc1==3.0.0b4").venv)["abc1"] == "3.0.0b4"
    assert clients.installed(clients.uv_pip(url, "abc1==1.0+local.1").venv)["abc1"] == "1.0+local.1"
    assert clients.installed(clients.pip(url, "abc1").venv)["abc1"] == "1.0+local.1"


def test_yanked_release_installs_only_when_pinned(index, wheel, serve, clients):
    url = publish(index, [wheel("abc1", "1.0"), wheel("abc1", "2.0")], serve)
    run_cli("yank", "abc1", "2.0", "--reason", "bad build", index=index.root)
    run_cli("build", index=index.root)
    assert clients.installed(clients.pip(url, "abc1").venv)["abc1"] == "1.0"
    assert clients.installed(clients.uv_pip(url, "abc1").venv)["abc1"] == "1.0"
    assert clients.installed(clients.pip(url, "abc1==2.0").venv)["abc1"] == "2.0"
    assert clients.installed(clients.uv_pip(url, "abc1==2.0").venv)["abc1"] == "2.0"


def test_pip_uses_the_metadata_sidecar(index, wheel, serve, clients):
    url = publish(index, [wheel("abc1", "1.0", requires_dist=["zzz-not-here>=1"])], serve)
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--report", "-", "--index-url", url, "abc1", "-v"]
    proc = subprocess.run(cmd, env=clients.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ".whl.metadata" in proc.stdout + proc.stderr


def test_serve_negotiates_and_redirects(index, wheel, serve):
    url = publish(index, [wheel("abc1", "1.0")], serve)
    status, headers, body = fetch(url + "abc1/", "application/vnd.pypi.simple.v1+json")
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
    assert json.loads(body)["name"] == "abc1"
    status, headers, body = fetch(url + "abc1/", "application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.1")
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+html"
    status, headers, body = fetch(url + "abc1/")
    assert headers["Content-Type"] == "text/html; charset=utf-8" and body.startswith(b"<!DOCTYPE html>")
    # pages for people, old release URLs, scripts and style sheets say their charset as Pages does
    for rel, media in [("_pages/abc1/1.0.html", "text/html"), ("abc1/1.0.html", "text/html"),
                       ("_pages/index.html", "text/html")]:
        assert fetch(url + rel)[1]["Content-Type"] == media + "; charset=utf-8", rel
    for rel in sorted(p.relative_to(index.root / "_site").as_posix() for p in (index.root / "_site/_static").iterdir()):
        kind = {"js": "text/javascript", "css": "text/css"}.get(rel.rpartition(".")[2])
        if kind:
            assert fetch(url + rel)[1]["Content-Type"] == kind + "; charset=utf-8", rel
    status, headers, body = fetch(url, "application/vnd.pypi.simple.v1+json")
    assert json.loads(body)["projects"] == [{"name": "abc1"}]
    # without the trailing slash: a redirect to the folder URL
    req = urllib.request.Request(url + "abc1")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.build_opener(NoRedirect).open(req)
    assert info.value.code == 301 and info.value.headers["Location"].endswith("/abc1/")
    with PyPISimple(url, accept=ACCEPT_JSON_ONLY) as client:
        assert [p.filename for p in client.get_project_page("abc1").packages] == ["abc1-1.0-py3-none-any.whl"]
    # a folder without index.html is not listed, as on GitHub Pages
    for rel in ("_static/", "packages/", "packages/abc1/"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + rel)
        assert info.value.code == 404, rel
        assert b"abc1-1.0" not in info.value.read(), rel


def test_demo_builds_the_example_projects(tmp_path, clients, serve):
    proc = run_cli("demo", "--dir", str(tmp_path / "demo"), "--no-serve")
    assert "kavli_hello-1.0.0-py3-none-any.whl" in proc.stdout
    url = serve(tmp_path / "demo/_site")
    venv = clients.pip(url, "kavli-hello", "kavli.star-utils==0.2.0b1").venv
    assert clients.installed(venv) == {"kavli-hello": "1.0.0", "kavli-star-utils": "0.2.0b1"}
    out = subprocess.run([str(venv / "bin/kavli-hello")], capture_output=True, text=True, check=True)
    assert "Hello" in out.stdout


def test_serve_answers_latest_json_and_busy_port_is_one_line(index, wheel, serve):
    url = publish(index, [wheel("abc1", "1.0")], serve)
    status, headers, body = fetch(url + "abc1/", "application/vnd.pypi.simple.latest+json")
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
    port = url.rsplit(":", 1)[1].strip("/")
    proc = run_cli("serve", "--port", port, index=index.root, check=False)
    assert proc.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
