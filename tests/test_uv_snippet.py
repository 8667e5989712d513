"""The uv snippet of a built project page, pasted into a pyproject.toml, keeps the project on this
index even when another index (standing in for PyPI) offers the same name at a higher version
(issue 5). Real uv, two served indexes on 127.0.0.1."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import Clients, run_cli

from pagesindex.inspect import inspect_file
from pagesindex.state import Index

pytestmark = pytest.mark.e2e


def site_with(tmp_path: Path, name: str, serve, files) -> str:
    """A new index holding ``files``, served; its index.toml names the served URL."""
    root = tmp_path / name
    index = Index.init(root, title=name)
    url = serve(root / "_site")
    toml = root / "index.toml"
    toml.write_text(re.sub(r'^url = ".*"$', f'url = "{url}"', toml.read_text(), flags=re.M))
    index = Index(root)
    index.add_files([inspect_file(f) for f in files])
    run_cli("build", index=root)
    return url


def uv_snippet(url: str, project: str) -> str:
    page = urllib.request.urlopen(f"{url}_pages/{project}/").read().decode()
    block = re.search(r'<pre id="install-uv"><code>(.*?)</code></pre>', page, re.S)
    assert block, "the project page has no uv snippet"
    text = html.unescape(block.group(1))
    toml, _, then = text.partition("# then")
    assert "explicit = true" in toml and f'url = "{url}"' in toml
    return toml


def test_uv_snippet_keeps_the_project_on_this_index(tmp_path, serve, wheel, clients: Clients):
    ours = site_with(tmp_path, "ours", serve, [wheel("Private_Hello", "0.4.5")])
    from factory import make_wheel

    theirs = site_with(tmp_path, "theirs", serve, [make_wheel(tmp_path / "evil", "private-hello", "9.9.9")])
    snippet = uv_snippet(ours, "private-hello")
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.9"\ndependencies = ["private-hello"]\n\n'
        "# the stand-in for PyPI: the default index, with the same name at a higher version\n"
        f'[[tool.uv.index]]\nname = "pypi-stand-in"\nurl = "{theirs}"\ndefault = true\n\n'
        + snippet
    )
    # uv must read the pyproject.toml's [tool.uv] settings (UV_NO_CONFIG would skip them), but no
    # user or system uv.toml of this machine.
    env = {k: v for k, v in clients.env.items() if k != "UV_NO_CONFIG"}
    env.update(UV_PYTHON=sys.executable, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    proc = subprocess.run([clients.uv, "lock"], cwd=app, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lock = (app / "uv.lock").read_text()
    entry = re.search(r'\[\[package\]\]\nname = "private-hello"\nversion = "([^"]+)"\nsource = \{ registry = "([^"]+)" \}', lock)
    assert entry, lock
    assert entry.group(1) == "0.4.5" and entry.group(2).rstrip("/") == ours.rstrip("/")
    # the same project without the snippet's pin: the other index's 9.9.9 wins, so the test can fail
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pyproject.toml").write_text(
        '[project]\nname = "plain"\nversion = "0.1.0"\nrequires-python = ">=3.9"\ndependencies = ["private-hello"]\n\n'
        f'[[tool.uv.index]]\nname = "pypi-stand-in"\nurl = "{theirs}"\ndefault = true\n'
    )
    proc = subprocess.run([clients.uv, "lock"], cwd=plain, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'name = "private-hello"\nversion = "9.9.9"' in (plain / "uv.lock").read_text()
    proc = subprocess.run([clients.uv, "sync"], cwd=app, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert clients.installed(app / ".venv")["private-hello"] == "0.4.5"
