"""pip, uv, poetry and pdm install from an index whose files are only in an object store, and
refuse a file changed there after publication (issue 15, item 6).

For each store (S3 on moto's server; GitHub release assets on the GitHub stand-in, whose web host
redirects ``releases/download`` to its storage host) one index is made per module with the real
CLI (``add``, ``publish``, ``build``), its site served by a plain static server on 127.0.0.1 (as
GitHub Pages serves it: no file of the site is a distribution file). ``abc1`` stays as published
and installs; ``abc2``'s wheel is changed in the store after publication (same length plus one
byte), so every client that follows its ``#sha256=`` link must refuse it. Fixtures and helpers
come from test_stores.py, test_store_github.py and test_api_exact.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Dict, NamedTuple, Optional

import pytest
from conftest import make_wheel, run_cli
from test_api_exact import StaticServers, run_tool, tool_env, tool_project
from test_store_github import assets_of, gh  # noqa: F401 (gh: the stand-in, a module fixture)

from pagesindex.state import Index
from pagesindex.stores import file_url

try:  # moto's S3 server (a module fixture); test_stores skips itself without boto3 or moto
    from test_stores import s3_url  # noqa: F401
except pytest.skip.Exception:
    s3_url = None

#: the stores under test (each a module-scoped site, below)
STORES = ["s3", "github-release"]
CLIENTS = ["pip", "uv", "poetry", "pdm"]


class Site(NamedTuple):
    """A built index with its files only in a store: ``url`` of the site (a plain static
    server), the wheel ``bad`` (abc2, changed in the store) and its store URL, and for GitHub ``store_requests()`` (how many requests its storage host answered
    so far; moto keeps no such count)."""

    root: Path
    url: str
    bad: Path
    bad_url: str
    store_requests: Optional[Callable[[], int]]


def _make_index(base: Path, storage: str, env: Dict[str, str]) -> tuple:
    """``add``, ``publish``, ``build`` and ``verify`` abc1 1.0 and abc2 1.0 (a wheel each) in a
    new index with the ``[storage]`` table ``storage``; returns (root, abc2's wheel)."""
    root = base / "index"
    Index.init(root, title="Store clients", url="https://example.org/index/")
    config = root / "index.toml"
    config.write_text(config.read_text() + "\n[storage]\n" + storage)
    dist = base / "dist"
    dist.mkdir()
    good, bad = make_wheel(dist, "abc1", "1.0"), make_wheel(dist, "abc2", "1.0")  # abc2: changed later
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY"):  # none of the machine's
            mp.delenv(key, raising=False)
        run_cli("add", str(good), str(bad), index=root)
        run_cli("publish", index=root)
        run_cli("build", index=root)
        assert run_cli("verify", index=root).stdout.startswith("ok: 2 projects verified")
    site = root / "_site"
    assert not any(p.suffix in (".whl", ".metadata") for p in site.rglob("*")), "a distribution file in the site"
    return root, bad


@pytest.fixture(scope="module")
def plain_server():
    servers = StaticServers()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def s3_site(request, tmp_path_factory, plain_server) -> Site:
    """An index with ``[storage] kind = "s3"`` on a bucket of moto's server (test_stores.s3_url)
    whose ``files/`` prefix anyone may read."""
    if s3_url is None:
        pytest.skip("boto3 or moto is not installed")
    import boto3

    endpoint = request.getfixturevalue("s3_url")
    # test credentials for moto, and no machine configuration (as test_stores.aws_env)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    bucket = "client-files"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/files/*"}],
    }))
    public = f"{endpoint}/{bucket}/files/"
    root, bad = _make_index(
        tmp_path_factory.mktemp("s3-clients"),
        f'kind = "s3"\nbucket = "{bucket}"\nprefix = "files/"\nendpoint-url = "{endpoint}"\npublic-url = "{public}"\n', env)
    key = f"files/abc2/{bad.name}"
    client.put_object(Bucket=bucket, Key=key, Body=bad.read_bytes() + b"\0")  # changed after publication
    return Site(root, plain_server(root / "_site"), bad, public + f"abc2/{bad.name}", None)


@pytest.fixture(scope="module")
def gh_site(gh, tmp_path_factory, plain_server) -> Site:  # noqa: F811
    """An index with ``[storage] kind = "github-release"`` on a public repository of the GitHub
    stand-in (test_store_github.gh): downloads go to its web host, which redirects to its storage
    host (which refuses ``Authorization``)."""
    repo = gh.add_repo("lab/client-files")
    env = gh.env()
    root, bad = _make_index(tmp_path_factory.mktemp("gh-clients"),
                            f'kind = "github-release"\nrepository = "{repo.full_name}"\n', env)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        url = file_url(Index(root).config.storage, "abc2", bad.name)
    asset = assets_of(repo, "files-abc2-1.0")[bad.name]
    changed = bad.read_bytes() + b"\0"
    asset.data, asset.digest = changed, "sha256:" + hashlib.sha256(changed).hexdigest()
    return Site(root, plain_server(root / "_site"), bad, url, lambda: len(gh.storage_requests()))


@pytest.fixture(params=STORES)
def site(request) -> Site:
    return request.getfixturevalue("s3_site" if request.param == "s3" else "gh_site")


def _install(client: str, site: Site, name: str, clients, tools, tmp_path: Path, pypi_url: str, check: bool):
    """Install ``name`` from the site with ``client`` into a fresh environment; returns
    (returncode, output, venv)."""
    import subprocess

    if client in ("pip", "uv"):
        install = clients.pip if client == "pip" else clients.uv_pip
        proc = install(site.url, name, check=check)
        return proc.returncode, proc.stdout + proc.stderr, proc.venv
    tools.path(client)
    env = tool_env(tmp_path, clients, pypi_url)
    if client == "poetry":
        app = tool_project(tmp_path / "app", clients, f'[[tool.poetry.source]]\nname = "stand-in"\nurl = "{pypi_url}"\npriority = "primary"\n')
        run_tool(tools, f"poetry source add --priority=explicit private {site.url}", app, env)
        argv = [str(tools.path("poetry")), "add", "--source", "private", name]
    else:
        app = tool_project(tmp_path / "app", clients, f'[[tool.pdm.source]]\nname = "private"\nurl = "{site.url}"\n'
                           f'include_packages = ["{name}"]\n')
        argv = [str(tools.path("pdm")), "add", name]
    proc = subprocess.run(argv, cwd=app, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
    return proc.returncode, proc.stdout + proc.stderr, app / ".venv"


@pytest.mark.e2e
@pytest.mark.parametrize("client", CLIENTS)
def test_clients_install_through_the_store_with_the_hash_checked(client, site, clients, tools, tmp_path, _no_real_pypi):
    """The site holds pages only; the client reads abc1's page from the static server, follows
    the absolute link to the store (the GitHub web host's redirect to its storage host) and
    installs the wheel whose sha256 the link carries."""
    before = site.store_requests() if site.store_requests is not None else 0
    _code, _out, venv = _install(client, site, "abc1", clients, tools, tmp_path, _no_real_pypi.url + "/simple/", True)
    assert clients.installed(venv).get("abc1") == "1.0"
    if site.store_requests is not None:
        assert site.store_requests() > before  # through the web host's redirect to the storage host


#: what each client says when the bytes it downloaded do not have the link's sha256
HASH_MISMATCH = {
    "pip": "THESE PACKAGES DO NOT MATCH THE HASHES",
    "uv": "Hash mismatch for `abc2==1.0`",
    "poetry": "Hash for abc2 (1.0) from archive abc2-1.0-py3-none-any.whl not found in known hashes",
    "pdm": "HashMismatchError: Hash mismatch for",
}


@pytest.mark.e2e
@pytest.mark.parametrize("client", CLIENTS)
def test_clients_refuse_a_file_changed_in_the_store(client, site, clients, tools, tmp_path, _no_real_pypi):
    """abc2's wheel was changed in the store after publication: the page still links it at the
    store with the recorded sha256, and every client refuses the download, naming the sha256 of
    the bytes it got (nothing installed)."""
    recorded = hashlib.sha256(site.bad.read_bytes()).hexdigest()
    got = hashlib.sha256(site.bad.read_bytes() + b"\0").hexdigest()
    assert f'href="{site.bad_url}#sha256={recorded}"' in (site.root / "_site/abc2/index.html").read_text()
    code, out, venv = _install(client, site, "abc2", clients, tools, tmp_path, _no_real_pypi.url + "/simple/", False)
    assert code != 0, out
    assert HASH_MISMATCH[client] in out and got in out, out
    assert "abc2" not in clients.installed(venv)
