"""End to end: register, update, delete from the fake GitHub, then build, serve, pip and uv install."""

from __future__ import annotations

import subprocess

import pytest
from factory import make_sdist, make_wheel
from ghhelpers import TOKEN, gh_cli, record
from github_server import FakeGitHub

pytestmark = pytest.mark.e2e


@pytest.fixture
def gh():
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


def test_register_update_delete_build_serve_install(gh, index, tmp_path, serve, clients):
    dist = tmp_path / "dist"
    repo = gh.add_repo("kavli/lightcurvedb", readme=("README.md", "# lightcurvedb\n"))
    v1 = repo.add_release("v1.0.0", {p.name: p for p in (make_wheel(dist / "1", "lightcurvedb", "1.0.0"),
                                                          make_sdist(dist / "1", "lightcurvedb", "1.0.0"))})
    gh_cli(gh, "register", "lightcurvedb", "v1.0.0", "--author", "TESS", "--summary", "Light curves",
           "--homepage", "https://github.example/kavli/lightcurvedb", index=index.root)
    w2 = make_wheel(dist / "2", "lightcurvedb", "2.0.0", requires_python=">=3.8")
    repo.add_release("v2.0.0", {w2.name: w2})
    gh_cli(gh, "update", "lightcurvedb", "2.0.0", index=index.root)
    w3 = make_wheel(dist / "3", "lightcurvedb", "3.0.0b1")
    repo.add_release("v3.0.0-beta.1", {w3.name: w3}, prerelease=True)
    gh_cli(gh, "update", "lightcurvedb", "v3.0.0-beta.1", index=index.root)
    # a file uploaded later to release v1.0.0 is merged
    late = make_wheel(dist / "late", "lightcurvedb", "1.0.0", tag="py2-none-any")
    v1.assets.extend(repo.add_release("scratch", {late.name: late}).assets)
    repo.releases.pop()
    out = gh_cli(gh, "update", "lightcurvedb", "v1.0.0", index=index.root).stdout
    assert "1 added, 2 unchanged" in out
    gh_cli(gh, "delete", "lightcurvedb", "--version", "v2.0.0", index=index.root)
    assert sorted(record(index, "lightcurvedb")["releases"]) == ["1.0.0", "3.0.0b1"]
    gh_cli(gh, "build", index=index.root)
    gh_cli(gh, "verify", index=index.root)
    url = serve(index.root / "_site")
    assert clients.installed(clients.pip(url, "lightcurvedb").venv)["lightcurvedb"] == "1.0.0"
    assert clients.installed(clients.uv_pip(url, "lightcurvedb").venv)["lightcurvedb"] == "1.0.0"
    assert clients.installed(clients.pip(url, "lightcurvedb==3.0.0b1").venv)["lightcurvedb"] == "3.0.0b1"
    assert clients.installed(clients.uv_pip(url, "--prerelease=allow", "lightcurvedb").venv)["lightcurvedb"] == "3.0.0b1"
    assert clients.pip(url, "lightcurvedb==2.0.0", check=False).returncode != 0
    assert clients.uv_pip(url, "lightcurvedb==2.0.0", check=False).returncode != 0
    # delete the whole project: gone from the site after a build
    gh_cli(gh, "delete", "lightcurvedb", index=index.root)
    gh_cli(gh, "build", index=index.root)
    assert not (index.root / "_site/lightcurvedb").exists()
    assert clients.pip(url, "lightcurvedb", check=False).returncode != 0


def test_registered_as_another_name_installs_and_imports_under_the_old_module(gh, index, tmp_path, serve, clients):
    w = make_wheel(tmp_path / "d", "numpy", "1.26.0", module="numpy")
    gh.add_repo("kavli/numpy", visibility="private")
    gh.repos["kavli/numpy"].add_release("v1.26.0", {w.name: w})
    cfg = index.root / "index.toml"
    cfg.write_text(cfg.read_text().replace('visibility = "public"', 'visibility = "private"'))
    gh_cli(gh, "register", "numpy", "v1.26.0", "--as", "kavli-numpy", "--author", "K", "--summary", "Our numpy",
           "--homepage", "https://github.example/kavli/numpy", index=index.root)
    gh_cli(gh, "build", index=index.root)
    gh_cli(gh, "verify", index=index.root)
    url = serve(index.root / "_site")
    for proc in (clients.pip(url, "kavli-numpy"), clients.uv_pip(url, "kavli-numpy")):
        assert clients.installed(proc.venv) == {"kavli-numpy": "1.26.0"}
        out = subprocess.run([str(clients.python(proc.venv)), "-c", "import numpy; print(numpy.__version__)"],
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "1.26.0"


def test_git_link_project_beside_hosted_projects(gh, index, tmp_path, serve, clients):
    """A git-link-only project does not disturb installs of the others, with pip or uv."""
    w = make_wheel(tmp_path / "d", "kavli-open", "1.0.0")
    gh.add_repo("kavli/kavli-open").add_release("v1.0.0", {w.name: w})
    gh.add_repo("kavli/kavli-secret", visibility="private").add_tag("v0.1.0")
    for name in ("kavli-open", "kavli-secret"):
        gh_cli(gh, "register", name, {"kavli-open": "v1.0.0", "kavli-secret": "v0.1.0"}[name], "--author", "K",
               "--summary", "S", "--homepage", f"https://github.example/kavli/{name}", index=index.root)
    gh_cli(gh, "build", index=index.root)
    gh_cli(gh, "verify", index=index.root)
    url = serve(index.root / "_site")
    assert clients.installed(clients.pip(url, "kavli-open").venv) == {"kavli-open": "1.0.0"}
    assert clients.installed(clients.uv_pip(url, "kavli-open").venv) == {"kavli-open": "1.0.0"}
    proc = clients.uv_pip(url, "kavli-secret", check=False)
    assert proc.returncode != 0 and "kavli-secret" in proc.stderr


def test_a_git_link_release_installs_with_the_commands_its_page_prints(index, tmp_path, clients):
    """What works for a git-link-only project (see README, private repositories): the API page
    carries no git link (only files, issue 14); the page for people prints PEP 508 direct
    references, which pip and uv install.

    The record points at a local git repository (file://) so pip can really clone it; the build
    backend comes from PyPI.
    """
    from ghhelpers import make_git_project

    src = make_git_project(tmp_path / "git", "setuptools", "kavli-secret", "0.1.0", "v0.1.0")
    index.add_git_release("kavli-secret", "0.1.0", git={"url": f"file://{src}", "tag": "v0.1.0"})
    from pagesindex.render import build_site

    build_site(index)
    page = (index.root / "_site/kavli-secret/index.html").read_text()
    assert "git+" not in page and "<a " not in page
    people = (index.root / "_site/_pages/kavli-secret/index.html").read_text()
    assert f'uv pip install "kavli-secret @ git+file://{src}@v0.1.0"' in people
    # a plain static host, as GitHub Pages is (HTML only; `pagesindex serve` would answer pip
    # with PEP 691 JSON, which carries no git link)
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(index.root / "_site"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        _pip_and_uv_on_git_link(clients, url, f"kavli-secret @ git+file://{src}@v0.1.0")
    finally:
        server.shutdown()
        server.server_close()


def _pip_and_uv_on_git_link(clients, url, requirement):
    proc = clients.pip(url, requirement, "--extra-index-url", "https://pypi.org/simple", check=False)
    if proc.returncode != 0 and "setuptools" in proc.stdout + proc.stderr and "No matching distribution" in proc.stdout + proc.stderr:
        pytest.skip("PyPI (for the build backend) is not reachable")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert clients.installed(proc.venv)["kavli-secret"] == "0.1.0"
    proc = clients.uv_pip(url, requirement, "--extra-index-url", "https://pypi.org/simple", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert clients.installed(proc.venv)["kavli-secret"] == "0.1.0"
