"""Secrets: with a recognisable GITHUB_TOKEN (or GH_TOKEN) set, every command, succeeding or
failing, keeps the token out of its output, the records, the packages, the built site and any file
of the index; it is sent to no host but the GitHub API (GITHUB_API_URL): neither to the storage
host that asset downloads redirect to, nor to PyPI.

The commands of the core run always; register/update/delete against the local GitHub server
(tests/github_server.py of issue 3) skip when this checkout has no `pagesindex register`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from factory import make_sdist, make_wheel

from pagesindex.state import Index


def _has_register() -> bool:
    proc = subprocess.run([sys.executable, "-m", "pagesindex", "register", "--help"], capture_output=True, text=True)
    return proc.returncode == 0


needs_register = pytest.mark.skipif(not _has_register(), reason="no 'pagesindex register' in this checkout (issue 3 not merged)")

TOKEN = "ghp_SECRETSUITE0123456789abcdefXYZ"
PARTS = (TOKEN, TOKEN[4:20], TOKEN[-12:])  # the token, and recognisable pieces of it
ORG = "kavli"


@pytest.fixture
def gh():
    github_server = pytest.importorskip("github_server")
    with github_server.FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return Index.init(tmp_path / "index", title="secrets", url="https://example.org/idx/")


def run(gh, index, *args, token_var="GITHUB_TOKEN", token=TOKEN, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GITHUB_SERVER_URL")}
    env.update(gh.env(token=None))
    env[token_var] = token
    env.update({"PAGESINDEX_GITHUB_RETRIES": "1", "PAGESINDEX_GITHUB_MAX_WAIT": "1"})
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(index.root), *args], capture_output=True, text=True, env=env)


def assert_no_token_anywhere(gh, index, procs):
    for proc in procs:
        for part in PARTS:
            assert part not in proc.stdout and part not in proc.stderr, f"token in the output of {proc.args[3:]}"
    for path in sorted(index.root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for part in PARTS:
                assert part.encode() not in data, f"token in {path.relative_to(index.root)}"
    for request in gh.storage_requests():
        assert request.authorization is None, f"Authorization sent to the storage host: {request.path}"
        text = repr((request.path, request.query, request.headers))
        for part in PARTS:
            assert part not in text, f"token sent to the storage host: {request.path}"
    for request in gh.api_requests():
        for key, value in request.headers.items():
            if key != "authorization":
                assert TOKEN not in value, f"token in header {key} to the API host"
        assert TOKEN not in repr((request.path, request.query)), "token in an API URL"


def release_files(tmp_path: Path, name: str, version: str):
    folder = tmp_path / f"dist-{name}-{version}"
    return [make_wheel(folder, name, version), make_sdist(folder, name, version)]


@needs_register
@pytest.mark.parametrize("token_var", ["GITHUB_TOKEN", "GH_TOKEN"])
def test_the_token_stays_secret_through_every_command(gh, index, tmp_path, token_var):
    repo = gh.add_repo(f"{ORG}/lightcurvedb")
    for version in ("1.0.0", "1.1.0"):
        files = release_files(tmp_path, "lightcurvedb", version)
        repo.add_release(f"v{version}", {p.name: p for p in files})
    gh.add_repo(f"{ORG}/secretpkg", visibility="private").add_release("v0.1.0", {})
    home = f"{gh.web_url}/{ORG}/lightcurvedb"
    procs = []

    def cmd(*args, ok=None, **kw):
        proc = run(gh, index, *args, token_var=token_var, **kw)
        if ok is not None:
            assert (proc.returncode == 0) == ok, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        procs.append(proc)
        return proc

    # succeeding commands
    cmd("register", "lightcurvedb", "v1.0.0", "--author", "TESS", "--summary", "Light curves", "--homepage", home, ok=True)
    cmd("update", "lightcurvedb", "1.1.0", ok=True)
    cmd("register", "secretpkg", "v0.1.0", "--author", "A", "--summary", "Private", "--homepage", f"{gh.web_url}/{ORG}/secretpkg")
    cmd("build", ok=True)
    cmd("verify", ok=True)
    # failing commands
    cmd("register", "nothere", "v1.0.0", "--author", "A", "--summary", "S", "--homepage", f"{gh.web_url}/{ORG}/nothere", ok=False)
    cmd("update", "lightcurvedb", "v9.9.9", ok=False)
    cmd("register", "lightcurvedb", "v1.0.0", "--author", "A", "--summary", "S", "--homepage", home, token="ghp_WRONG" + TOKEN[9:], ok=False)
    gh.server_error(times=5)
    cmd("update", "lightcurvedb", "1.1.0", ok=False)
    gh.faults.clear()
    gh.rate_limit(times=5, reset_in=1)
    cmd("update", "lightcurvedb", "1.1.0", ok=False)
    gh.faults.clear()
    gh.server_error(times=5, server="storage")
    repo.add_release("v1.2.0", {p.name: p for p in release_files(tmp_path, "lightcurvedb", "1.2.0")})
    cmd("update", "lightcurvedb", "1.2.0", ok=False)
    gh.faults.clear()
    cmd("delete", "lightcurvedb", "--version", "1.0.0", ok=True)
    cmd("delete", "nothere", ok=False)
    cmd("build", ok=True)
    assert gh.storage_requests(), "the downloads went through the storage host"
    assert_no_token_anywhere(gh, index, procs)


@needs_register
def test_a_redirect_to_the_api_host_is_the_only_place_the_token_goes(gh, index, tmp_path):
    """The token goes with API requests (to GITHUB_API_URL) and nowhere else."""
    repo = gh.add_repo(f"{ORG}/lightcurvedb")
    files = release_files(tmp_path, "lightcurvedb", "1.0.0")
    repo.add_release("v1.0.0", {p.name: p for p in files})
    proc = run(gh, index, "register", "lightcurvedb", "v1.0.0", "--author", "A", "--summary", "S", "--homepage", f"{gh.web_url}/{ORG}/lightcurvedb")
    assert proc.returncode == 0, proc.stderr
    assert all(r.authorization and TOKEN in r.authorization for r in gh.api_requests())
    assert gh.storage_requests() and all(r.authorization is None for r in gh.storage_requests())
    assert_no_token_anywhere(gh, index, [proc])


class _PyPI(BaseHTTPRequestHandler):
    """A stand-in for PyPI's JSON API that records every request (path and headers)."""

    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server hook
        type(self).seen.append((self.path, dict(self.headers.items())))
        if "/pypi/abc1/" in self.path:
            body = json.dumps({"info": {"name": "abc1", "version": "0.1"}, "releases": {"0.1": [{"filename": "abc1-0.1.tar.gz", "yanked": False}]}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            body = b'{"message": "Not Found"}'
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def pypi():
    handler = type("Recorder", (_PyPI,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("token_var", ["GITHUB_TOKEN", "GH_TOKEN"])
def test_core_commands_never_show_or_store_the_token(tmp_path, pypi, token_var):
    """Every command of the core, succeeding and failing, with the token set: it is nowhere."""
    pypi_url, seen = pypi
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env[token_var] = TOKEN
    root = tmp_path / "index"
    procs = []

    def cmd(*args, ok=None):
        proc = subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(root), *args], capture_output=True, text=True, env=env)
        if ok is not None:
            assert (proc.returncode == 0) == ok, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        procs.append(proc)
        return proc

    dist = tmp_path / "dist"
    files = [make_wheel(dist, "abc1", "1.0"), make_sdist(dist, "abc1", "1.0"), make_wheel(dist, "abc1", "2.0")]
    bad = dist / "abc1-3.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    subprocess.run([sys.executable, "-m", "pagesindex", "init", str(root), "--title", "t"], env=env, check=True, capture_output=True)
    cmd("add", *map(str, files), ok=True)
    cmd("add", str(bad), ok=False)
    cmd("yank", "abc1", "1.0", "--reason", "broken", ok=True)
    cmd("unyank", "abc1", "1.0", ok=True)
    cmd("yank", "abc1", "9.9", ok=False)
    cmd("check", "--pypi-url", pypi_url, "--timeout", "5")
    cmd("check", "--pypi-url", "http://127.0.0.1:9/", "--timeout", "0.5")
    cmd("build", ok=True)
    cmd("verify", ok=True)
    cmd("remove", "abc1", "2.0", ok=True)
    cmd("remove", "nothere", ok=False)
    cmd("migrate", str(tmp_path / "no-such-old-index"), ok=False)
    cmd("build", ok=True)
    assert seen, "the PyPI stand-in was asked"
    for path, headers in seen:
        assert "authorization" not in {k.lower() for k in headers}, "an Authorization header went to PyPI"
        for part in PARTS:
            assert part not in path and part not in repr(headers), "the token went to PyPI"
    for proc in procs:
        for part in PARTS:
            assert part not in proc.stdout and part not in proc.stderr
    for path in sorted(root.rglob("*")):
        if path.is_file():
            for part in PARTS:
                assert part.encode() not in path.read_bytes(), f"token in {path.relative_to(root)}"
