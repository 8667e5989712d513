"""The ``github-release`` store (issue 15) against the GitHub stand-in (tests/github_server.py):
the stand-in's releases write API as GitHub documents it, staging in drafts, ``publish``,
installs through the ``releases/download`` redirect, verify, delete, and failures."""

from __future__ import annotations

import hashlib
import itertools
import json

import httpx
import pytest
from conftest import run_cli, state_snapshot
from github_server import FakeGitHub

from pagesindex.errors import FileConflict, IndexStateError, PagesIndexError
from pagesindex.github_api import GitHubConfig, GitHubError
from pagesindex.state import Index
from pagesindex.stores import file_url, parse_storage
from pagesindex.stores.github_release import GitHubReleaseStore, GitHubWriteClient, uploads_base_url

TOKEN = "ghp_STORETOKEN123"
_REPOS = itertools.count()


@pytest.fixture(scope="module")
def gh():
    with FakeGitHub(token=TOKEN, serve_web=True) as fake:
        yield fake


@pytest.fixture
def gh_env(gh, monkeypatch):
    """The stand-in's hosts and token in the environment (inherited by CLI subprocesses)."""
    for key, value in gh.env().items():
        monkeypatch.setenv(key, value)
    for key in ("GH_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(key, raising=False)
    gh.can_push = True
    gh.faults.clear()
    gh.requests.clear()
    return gh


@pytest.fixture
def repo(gh_env):
    """A fresh public repository ``lab/index-N`` on the stand-in."""
    return gh_env.add_repo(f"lab/index-{next(_REPOS)}")


@pytest.fixture
def gh_index(index, repo):
    config = index.root / "index.toml"
    config.write_text(config.read_text() + f'\n[storage]\nkind = "github-release"\nrepository = "{repo.full_name}"\n')
    return Index(index.root)


def record_of(root, name="abc1"):
    return json.loads((root / f"projects/{name}.json").read_text())


def assets_of(repo, tag):
    return {a.name: a for r in repo.releases if r.tag_name == tag and not r.draft for a in r.assets}


# -- the stand-in's write API, as documented ---------------------------------------------------
def test_the_stand_in_speaks_the_releases_write_api(gh_env, repo):
    api = f"{gh_env.api_url}/repos/{repo.full_name}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client() as http:
        created = http.post(f"{api}/releases", json={"tag_name": "v1", "draft": True}, headers=auth)
        assert created.status_code == 201 and created.json()["draft"] is True
        draft = created.json()
        assert draft["upload_url"].startswith(gh_env.uploads_url + "/")  # a separate host
        assert http.get(f"{api}/releases/tags/v1", headers=auth).status_code == 404  # drafts not found by tag
        assert [r["tag_name"] for r in http.get(f"{api}/releases", headers=auth).json()] == ["v1"]
        assert http.get(f"{api}/releases").json() == []  # drafts only listed to a token that can push
        gh_env.can_push = False
        assert http.get(f"{api}/releases", headers=auth).json() == []
        gh_env.can_push = True
        assert http.post(f"{api}/releases", json={"tag_name": "v1"}).status_code == 401

        upload = f"{gh_env.uploads_url}/repos/{repo.full_name}/releases/{draft['id']}/assets"
        one = http.post(upload, params={"name": "a-1.0.tar.gz"}, content=b"bytes", headers={**auth, "Content-Type": "application/gzip"})
        assert one.status_code == 201 and one.json()["digest"] == "sha256:" + hashlib.sha256(b"bytes").hexdigest()
        again = http.post(upload, params={"name": "a-1.0.tar.gz"}, content=b"other", headers={**auth, "Content-Type": "application/gzip"})
        assert again.status_code == 422 and again.json()["errors"][0]["code"] == "already_exists"
        renamed = http.post(upload, params={"name": "a-1.0+cu12.tar.gz"}, content=b"x", headers={**auth, "Content-Type": "application/gzip"})
        assert renamed.json()["name"] == "a-1.0.cu12.tar.gz"  # GitHub renames '+'
        assert http.post(upload, params={"name": "b.zip"}, content=b"x", headers=auth).status_code == 400  # no Content-Type
        download = f"{gh_env.web_url}/{repo.full_name}/releases/download/v1/a-1.0.tar.gz"
        assert http.get(download).status_code == 404  # a draft's assets are not served
        assert http.get(one.json()["url"], headers={"Accept": "application/octet-stream"}).status_code == 404

        published = http.patch(f"{api}/releases/{draft['id']}", json={"draft": False}, headers=auth)
        assert published.status_code == 200 and published.json()["draft"] is False
        assert http.post(f"{api}/releases", json={"tag_name": "v1"}, headers=auth).status_code == 422
        redirect = http.get(download)
        assert redirect.status_code == 302 and redirect.headers["location"].startswith(gh_env.storage_url)
        assert http.get(redirect.headers["location"]).content == b"bytes"
        assert http.get(redirect.headers["location"], headers=auth).status_code == 400  # storage refuses Authorization

        gh_env.can_push = False
        assert http.delete(f"{api}/releases/assets/{one.json()['id']}", headers=auth).status_code == 403
        gh_env.can_push = True
        assert http.delete(f"{api}/releases/assets/{one.json()['id']}", headers=auth).status_code == 204
        assert http.get(download).status_code == 404
        assert http.delete(f"{api}/releases/{draft['id']}", headers=auth).status_code == 204
        assert http.get(f"{api}/releases/tags/v1").status_code == 404


# -- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "table, env, message",
    [
        ({"kind": "github-release"}, {}, "storage.repository is required with kind 'github-release' outside GitHub Actions"),
        ({"kind": "github-release", "repository": "lab"}, {}, "storage.repository must be a GitHub repository 'ORG/REPO', not 'lab'"),
        ({"kind": "github-release", "repository": "lab/../x"}, {}, "storage.repository must be a GitHub repository"),
        ({"kind": "github-release"}, {"GITHUB_REPOSITORY": "a b/c"}, "GITHUB_REPOSITORY must be a GitHub repository 'ORG/REPO'"),
        ({"kind": "github-release", "token": "x"}, {}, "storage.token: credentials are never read from index.toml (set PAGESINDEX_RELEASES_TOKEN, GITHUB_TOKEN or GH_TOKEN"),
        ({"kind": "github-release", "bucket": "x"}, {}, "storage.bucket is not a setting of kind 'github-release' (settings: repository)"),
        ({"kind": "github-release", "repository": "lab/index"}, {"GITHUB_SERVER_URL": "ftp://x"}, "GITHUB_SERVER_URL must be https://HOST"),
    ],
)
def test_bad_github_release_settings_are_one_line_errors(table, env, message):
    with pytest.raises(IndexStateError) as exc:
        parse_storage(table, "index.toml", env)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_github_release_urls_and_defaults():
    config = parse_storage({"kind": "github-release"}, "index.toml", {"GITHUB_REPOSITORY": "lab/index"})
    assert config.repository == "lab/index" and config.public_url == "https://github.com/lab/index/releases/download/"
    assert file_url(config, "Foo.Bar", "foo_bar-1.0rc1-py3-none-any.whl") == (
        "https://github.com/lab/index/releases/download/files-foo-bar-1.0rc1/foo_bar-1.0rc1-py3-none-any.whl"
    )
    assert config.public_key("foo", "foo-01.0.tar.gz") == "files-foo-1.0/foo-01.0.tar.gz"  # normalized version
    ghes = parse_storage({"kind": "github-release", "repository": "lab/index"}, "x", {"GITHUB_SERVER_URL": "https://ghe.example.org/"})
    assert ghes.public_url == "https://ghe.example.org/lab/index/releases/download/"
    assert config.max_file_bytes == 2 * 1024**3 - 1
    assert uploads_base_url("https://api.github.com", {}) == "https://uploads.github.com"
    with pytest.raises(PagesIndexError, match="set PAGESINDEX_GITHUB_UPLOADS_URL"):
        uploads_base_url("https://example.org/github", {})


# -- staging, publish, build, verify, installs ----------------------------------------------------
@pytest.mark.e2e
def test_stage_publish_install_and_a_changed_file(gh_index, gh_env, repo, wheel, sdist, serve, clients):
    whl = wheel("abc1", "1.0", requires_dist=[])
    tar = sdist("abc1", "1.0")
    run_cli("add", str(whl), str(tar), index=gh_index.root)
    files = {f["filename"]: f for f in record_of(gh_index.root)["releases"]["1.0"]["files"]}
    wf = files[whl.name]
    # Staged in drafts, by content: nothing published, nothing in git, nothing downloadable.
    staged = {a.name for r in repo.releases if r.draft for a in r.assets}
    assert staged == {f"{wf['sha256']}-{whl.name}", f"{files[tar.name]['sha256']}-{tar.name}",
                      f"{wf['core-metadata-sha256']}-{whl.name}.metadata"}
    assert all(r.draft and r.tag_name == "pagesindex-staging" for r in repo.releases)
    assert not any(p.is_file() and p.name != ".gitkeep" for p in (gh_index.root / "packages").rglob("*"))
    url = file_url(gh_index.config.storage, "abc1", whl.name)
    assert url == f"{gh_env.web_url}/{repo.full_name}/releases/download/files-abc1-1.0/{whl.name}"
    assert httpx.get(url).status_code == 404
    proc = run_cli("verify", index=gh_index.root, check=False)
    assert proc.returncode == 1 and f"problem: {url}: missing from the store (run 'pagesindex publish')" in proc.stderr

    out = run_cli("publish", index=gh_index.root).stdout
    assert "2 files published, 0 already public, 0 removed from the store" in out
    assert set(assets_of(repo, "files-abc1-1.0")) == {whl.name, whl.name + ".metadata", tar.name}
    assert "0 files published, 2 already public" in run_cli("publish", index=gh_index.root).stdout  # idempotent

    run_cli("build", index=gh_index.root)
    site = gh_index.root / "_site"
    assert not (site / "packages").exists() and not any(p.suffix == ".whl" for p in site.rglob("*"))
    entry = next(f for f in json.loads((site / "abc1/index.json").read_text())["files"] if f["filename"] == whl.name)
    assert entry["url"] == url and entry["hashes"]["sha256"] == wf["sha256"]
    assert httpx.get(url + ".metadata", follow_redirects=True).content == (gh_index.root / "metadata" / wf["core-metadata-sha256"]).read_bytes()
    page = (site / "_pages/abc1/1.0.html").read_text()  # the release page for people: the pip snippet
    assert f"abc1 @ {url}#sha256={wf['sha256']}" in page.replace("&#34;", '"')
    assert run_cli("verify", index=gh_index.root).stdout.startswith("ok: 1 project verified")

    index_url = serve(site)
    assert clients.installed(clients.pip(index_url, "abc1").venv)["abc1"] == "1.0"
    assert clients.installed(clients.uv_pip(index_url, "abc1").venv)["abc1"] == "1.0"
    assert gh_env.storage_requests() and all(r.authorization is None for r in gh_env.storage_requests())
    assert all(TOKEN not in json.dumps(r.headers) for r in gh_env.requests if r.server in ("storage", "web"))

    # Someone with write access replaces the published wheel: installs fail, verify says so.
    release = next(r for r in repo.releases if r.tag_name == "files-abc1-1.0")
    asset = assets_of(repo, "files-abc1-1.0")[whl.name]
    changed = whl.read_bytes() + b"\0"
    asset.data, asset.digest = changed, "sha256:" + hashlib.sha256(changed).hexdigest()
    assert release.assets  # still published
    proc = clients.pip(index_url, "abc1", check=False)
    assert proc.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in proc.stderr
    proc = clients.uv_pip(index_url, "abc1", "--no-cache", check=False)
    assert proc.returncode != 0 and "hash" in proc.stderr.lower(), proc.stderr
    proc = run_cli("verify", index=gh_index.root, check=False)
    assert proc.returncode == 1 and f"problem: {url}: size {len(changed)} / sha256" in proc.stderr
    proc = run_cli("publish", index=gh_index.root, check=False)  # never overwrites it
    assert proc.returncode == 1 and "already holds other bytes" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_remove_then_publish_deletes_the_assets_and_the_empty_release(gh_index, repo, wheel):
    from test_stores import commit

    run_cli("add", str(wheel("abc1", "1.0")), str(wheel("abc1", "2.0")), index=gh_index.root)
    commit(gh_index.root, "add abc1 1.0 and 2.0")
    run_cli("publish", index=gh_index.root)
    run_cli("remove", "abc1", "1.0", index=gh_index.root)
    assert assets_of(repo, "files-abc1-1.0")  # a removal under review deletes nothing yet
    commit(gh_index.root, "remove abc1 1.0")  # publish's stale-checkout guard reads the history
    out = run_cli("publish", index=gh_index.root).stdout
    assert "0 files published, 1 already public, 2 removed from the store" in out
    assert not any(r.tag_name == "files-abc1-1.0" for r in repo.releases)
    assert set(assets_of(repo, "files-abc1-2.0")) == {"abc1-2.0-py3-none-any.whl", "abc1-2.0-py3-none-any.whl.metadata"}
    # Their staged copies go too (no older checkout can publish them again); 2.0's stay.
    assert {a.name.split("-", 1)[1] for r in repo.releases if r.draft for a in r.assets} == {
        "abc1-2.0-py3-none-any.whl", "abc1-2.0-py3-none-any.whl.metadata"}


def test_publish_leaves_other_releases_of_the_repository_alone(gh_index, repo, wheel):
    repo.add_release("v3.0.0", {"tool-linux.tar.gz": b"the repository's own binary"})
    run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root)
    run_cli("publish", index=gh_index.root)
    assert "tool-linux.tar.gz" in assets_of(repo, "v3.0.0")


def test_a_filename_github_would_rename_is_refused_with_one_line(gh_index, repo, wheel):
    before = state_snapshot(gh_index.root)
    proc = run_cli("add", str(wheel("abc1", "1.0+cu12")), index=gh_index.root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: cannot store 'abc1-1.0+cu12-py3-none-any.whl' as a GitHub release asset: GitHub renames asset "
        "names with '+' (a local version), so the file would be served under another name; use storage.kind 's3' or 'git' for it"
    ]
    assert state_snapshot(gh_index.root) == before and not repo.releases


def test_rate_limited_upload_is_one_line_and_changes_nothing(gh_index, gh_env, repo, wheel):
    before = state_snapshot(gh_index.root)
    gh_env.fail(1, 403, server="uploads", message="API rate limit exceeded", headers={
        "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(2**31 - 1)})
    proc = run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: uploading ") and "rate limited; GitHub asks to wait" in proc.stderr
    assert state_snapshot(gh_index.root) == before


def test_no_token_or_no_write_permission_is_one_line(gh_index, gh_env, monkeypatch, wheel):
    monkeypatch.delenv("GITHUB_TOKEN")
    proc = run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        f"error: github-release store: staging in {gh_index.config.storage.repository} needs a token with contents: write in PAGESINDEX_RELEASES_TOKEN, GITHUB_TOKEN or GH_TOKEN"
    ]
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    gh_env.can_push = False
    proc = run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "HTTP 403 (Resource not accessible by integration); the token needs contents: write" in proc.stderr


def _store(gh, config, **client_args):
    gh_config = GitHubConfig.from_env(gh.env())
    client = GitHubWriteClient(gh_config, gh.uploads_url, sleep=lambda s: None, **client_args)
    return GitHubReleaseStore(config, client=client)


def test_server_errors_on_upload_are_retried_then_one_line(gh_index, gh_env, repo, tmp_path):
    data = b"sdist bytes"
    path = tmp_path / "abc1-1.0.tar.gz"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    store = _store(gh_env, gh_index.config.storage, retries=2)
    gh_env.server_error(2, status=502, server="uploads")
    store.stage(path, path.name, sha, len(data))  # two 502s, then the upload
    assert [a.name for r in repo.releases for a in r.assets] == [f"{sha}-{path.name}"]
    gh_env.server_error(3, status=503, server="uploads")
    with pytest.raises(GitHubError) as exc:
        _store(gh_env, gh_index.config.storage, retries=2).stage_bytes(b"meta", "abc1-1.0.tar.gz", hashlib.sha256(b"meta").hexdigest())
    assert str(exc.value).startswith("uploading ") and str(exc.value).endswith("HTTP 503 after 3 attempts; try again later")


def test_publish_conflicts_and_staged_bytes_are_checked(gh_index, gh_env, repo, wheel):
    whl = wheel("abc1", "1.0")
    run_cli("add", str(whl), index=gh_index.root)
    f = record_of(gh_index.root)["releases"]["1.0"]["files"][0]
    staged = next(a for r in repo.releases for a in r.assets if a.name == f"{f['sha256']}-{whl.name}")
    staged.data, staged.digest = b"swapped while staged", "sha256:" + hashlib.sha256(b"swapped while staged").hexdigest()
    with pytest.raises(FileConflict, match="staged bytes differ from the record"):
        Index(gh_index.root).publish()
    assert whl.name not in assets_of(repo, "files-abc1-1.0")
    # A name already holding other bytes is never changed.
    release = repo.add_release("files-abc2-1.0", {"abc2-1.0-py3-none-any.whl": b"other bytes"})
    store = _store(gh_env, gh_index.config.storage)
    with pytest.raises(FileConflict, match="already holds other bytes"):
        store.publish("abc2", "abc2-1.0-py3-none-any.whl", "0" * 64, 5)
    assert release.assets[0].data == b"other bytes"


def test_one_refused_file_stops_the_change_before_any_upload(gh_index, repo, wheel):
    proc = run_cli("add", str(wheel("abc1", "1.0")), str(wheel("abc1", "1.1+cu12")), index=gh_index.root, check=False)
    assert proc.returncode == 1 and "GitHub renames asset names with '+'" in proc.stderr
    assert not repo.releases and not (gh_index.root / "projects/abc1.json").exists()


def test_verify_reads_the_release_listing_once_and_hashes_assets_without_digest(gh_index, gh_env, repo, wheel):
    run_cli("add", *[str(wheel("abc1", v)) for v in ("1.0", "1.1", "1.2")], index=gh_index.root)
    run_cli("publish", index=gh_index.root)
    index = Index(gh_index.root)
    store = _store(gh_env, index.config.storage)
    project = index.get_project("abc1")
    for f in project.all_files():
        assert store.check("abc1", f.filename, f.sha256, f.size) is None
        assert store.check_bytes(index.config.storage.public_key("abc1", f.filename) + ".metadata", f.core_metadata_sha256) is None
    assert store.client.requests_sent == 1  # one page listing the releases, their assets embedded
    for r in repo.releases:
        for a in r.assets:
            a.digest = None  # an asset uploaded before GitHub computed digests: its bytes are read
    f = next(iter(project.all_files()))
    fresh = _store(gh_env, index.config.storage)
    assert fresh.check("abc1", f.filename, f.sha256, f.size) is None
    assert "differ from the record" in fresh.check("abc1", f.filename, "0" * 64, f.size)
    assert all(r.authorization is None for r in gh_env.storage_requests())


def test_an_asset_left_by_a_failed_upload_is_replaced(gh_index, gh_env, repo, wheel):
    whl = wheel("abc1", "1.0")
    run_cli("add", str(whl), index=gh_index.root)
    left = repo.add_release("files-abc1-1.0", {whl.name: b""})
    left.assets[0].state = "starter"  # "it can be safely deleted"
    out = run_cli("publish", index=gh_index.root).stdout
    assert "1 file published" in out
    assert assets_of(repo, "files-abc1-1.0")[whl.name].data == whl.read_bytes()


def test_ghes_layout_uploads_under_api_uploads_and_keeps_the_token_off_storage(index, wheel, monkeypatch):
    with FakeGitHub(token=TOKEN, ghes=True) as ghes:
        repo = ghes.add_repo("lab/index")
        env = ghes.env()
        del env["PAGESINDEX_GITHUB_UPLOADS_URL"]  # derived: <origin>/api/uploads beside /api/v3
        assert uploads_base_url(ghes.api_url, env) == ghes.uploads_url
        config = parse_storage({"kind": "github-release", "repository": "lab/index"}, "index.toml", env)
        store = GitHubReleaseStore(config, environ=env)
        data = b"abc1 sdist"
        sha = hashlib.sha256(data).hexdigest()
        store.stage_bytes(data, "abc1-1.0.tar.gz", sha)
        assert store.publish("abc1", "abc1-1.0.tar.gz", sha, len(data)) == "published"
        uploads = [r for r in ghes.requests if r.server == "uploads"]
        assert len(uploads) == 2 and all(r.authorization == f"Bearer {TOKEN}" for r in uploads)
        assert ghes.storage_requests() and all(r.authorization is None for r in ghes.storage_requests())
        assert [a.data for a in repo.releases[-1].assets] == [data]


def test_the_store_follows_the_pagination_of_releases_and_assets(gh_index, gh_env, repo):
    for n in range(3):
        repo.add_release(f"v{n}", {"notes.txt": b"not the index's"})
    data = b"abc1 sdist"
    sha = hashlib.sha256(data).hexdigest()
    store = _store(gh_env, gh_index.config.storage, per_page=1)
    store.stage_bytes(data, "abc1-1.0.tar.gz", sha)
    assert _store(gh_env, gh_index.config.storage, per_page=1).publish("abc1", "abc1-1.0.tar.gz", sha, len(data)) == "published"
    later = _store(gh_env, gh_index.config.storage, per_page=1)
    assert later.check("abc1", "abc1-1.0.tar.gz", sha, len(data)) is None
    assert later.client.requests_sent >= 5  # every page of the listing: five releases, one a page
    assert later.public_keys() == ["files-abc1-1.0/abc1-1.0.tar.gz"]  # other releases are not the index's


def test_a_full_staging_draft_overflows_into_another_with_the_same_tag(gh_index, gh_env, repo, monkeypatch):
    import pagesindex.stores.github_release as module

    monkeypatch.setattr(module, "MAX_ASSETS_PER_RELEASE", 2)
    blobs = [f"abc1 {n}".encode() for n in range(3)]
    store = _store(gh_env, gh_index.config.storage)
    for n, data in enumerate(blobs):
        store.stage_bytes(data, f"abc1-1.{n}.tar.gz", hashlib.sha256(data).hexdigest())
    drafts = [r for r in repo.releases if r.draft]
    assert [r.tag_name for r in drafts] == ["pagesindex-staging"] * 2 and [len(r.assets) for r in drafts] == [2, 1]
    fresh = _store(gh_env, gh_index.config.storage)
    for n, data in enumerate(blobs):  # found in either draft
        assert fresh.publish("abc1", f"abc1-1.{n}.tar.gz", hashlib.sha256(data).hexdigest(), len(data)) == "published"


def test_an_upload_failing_upstream_leaves_a_starter_asset_that_is_replaced(gh_index, gh_env, repo):
    data = b"abc1 sdist"
    sha = hashlib.sha256(data).hexdigest()
    gh_env.upstream_failure(1)  # 502, and an empty asset in state "starter" under the name
    _store(gh_env, gh_index.config.storage).stage_bytes(data, "abc1-1.0.tar.gz", sha)
    [draft] = repo.releases
    assert [(a.name, a.state, a.data) for a in draft.assets] == [(f"{sha}-abc1-1.0.tar.gz", "uploaded", data)]
    uploads = [r.method for r in gh_env.requests if r.server == "uploads"]
    assert uploads == ["POST", "POST", "POST"]  # 502, 422 already_exists, then the upload after the delete


def test_verify_says_a_private_repository_cannot_serve_the_files(index, gh_env, wheel):
    repo = gh_env.add_repo(f"lab/private-{next(_REPOS)}", visibility="private")
    config = index.root / "index.toml"
    config.write_text(config.read_text() + f'\n[storage]\nkind = "github-release"\nrepository = "{repo.full_name}"\n')
    run_cli("add", str(wheel("abc1", "1.0")), index=index.root)
    run_cli("publish", index=index.root)
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1
    assert [line for line in proc.stderr.splitlines() if line.startswith("problem:")] == [
        f"problem: {repo.full_name} is private: its release assets answer 404 to anonymous downloads, so pip and uv "
        "cannot install from the index (make the repository public, or use storage.kind 's3')"
    ], proc.stderr


def test_publish_without_the_staged_file_is_one_line_and_makes_no_release(gh_index, gh_env, repo, wheel):
    run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root)
    for release in repo.releases:
        release.assets.clear()  # the staged copies are gone (a cleanup ran too early)
    proc = run_cli("publish", index=gh_index.root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "staged file sha256" in proc.stderr and "missing, cannot publish it (run 'pagesindex add' again" in proc.stderr
    assert not any(r.tag_name.startswith("files-") for r in repo.releases)


# -- staged files of pull requests: staged(), unstage(), verify --staged, storage cleanup ----------
def test_staged_files_verify_staged_and_cleanup_on_the_staging_draft(gh_index, gh_env, repo, wheel, tmp_path):
    """main has abc1 1.0 (published); an open pull request stages abc1 2.0, a closed one xyz2 1.0.
    The staging draft's assets are listed as (sha256, filename) with their times; cleanup deletes
    only what no state names; other assets of the draft are not the index's."""
    import shutil
    import time

    from pagesindex.storage_move import orphaned_staged

    main = gh_index.root
    run_cli("add", str(wheel("abc1", "1.0")), index=main)
    run_cli("publish", index=main)
    heads = {}
    for pr, version in (("open", ("abc1", "2.0")), ("closed", ("xyz2", "1.0"))):
        heads[pr] = tmp_path / pr
        shutil.copytree(main, heads[pr])
        run_cli("add", str(wheel(*version)), index=heads[pr])
    [draft] = [r for r in repo.releases if r.draft]
    draft.assets.append(type(draft.assets[0])(id=10**9, name="notes.txt", data=b"x", digest=None))  # not the index's
    old = next(a for a in draft.assets if a.name.endswith("xyz2-1.0-py3-none-any.whl.metadata"))
    old.created_at = "2020-01-01T00:00:00Z"

    store = _store(gh_env, Index(main).config.storage)
    staged = {(s.sha256, s.filename): s for s in store.staged()}
    whl = next(f for f in Index(heads["open"]).get_project("abc1").all_files() if f.filename.startswith("abc1-2.0"))
    assert staged[(whl.sha256, whl.filename)].size == whl.size
    assert {f for _, f in staged} == {f"{n}-py3-none-any.whl{m}" for n in ("abc1-1.0", "abc1-2.0", "xyz2-1.0") for m in ("", ".metadata")}
    assert all(abs(s.modified - time.time()) < 600 for s in staged.values() if s is not staged[(old.name[:64], old.name[65:])])
    assert staged[(old.name[:64], old.name[65:])].modified == 1577836800.0
    assert staged[(whl.sha256, whl.filename)].where == f"{repo.full_name}: draft release pagesindex-staging, asset {whl.sha256}-{whl.filename}"
    # Only the sidecar staged long ago is old enough for a cleanup that spares the last hour.
    assert [s.filename for s in orphaned_staged(Index(main), older_than=3600)] == ["xyz2-1.0-py3-none-any.whl.metadata"]

    # The open pull request's own check: staged, not public; only --staged accepts that.
    proc = run_cli("verify", index=heads["open"], check=False)
    assert proc.returncode == 1 and "abc1-2.0-py3-none-any.whl: missing from the store" in proc.stderr
    out = run_cli("verify", "--staged", index=heads["open"]).stdout
    assert "ok: 1 project verified" in out
    # verify's note: the sidecar staged long ago that this state does not name (the closed pull request's).
    assert [line.split(": staged")[0] for line in out.splitlines() if line.startswith("note:")] == [
        f"note: {repo.full_name}: draft release pagesindex-staging, asset {old.name}"]

    before = {a.name for a in draft.assets}
    dry = run_cli("storage", "cleanup", "--older-than", "0", "--dry-run", "--keep-state", str(heads["open"]), index=main).stdout
    assert "2 staged files would be deleted" in dry and {a.name for a in draft.assets} == before
    out = run_cli("storage", "cleanup", "--older-than", "0", "--keep-state", str(heads["open"]), index=main).stdout
    assert "2 staged files deleted" in out and "xyz2-1.0-py3-none-any.whl (" in out and "notes.txt" not in out
    assert {a.name for a in draft.assets} == {n for n in before if "xyz2" not in n}
    assert "0 staged files deleted" in run_cli("storage", "cleanup", "--older-than", "0", "--keep-state", str(heads["open"]), index=main).stdout
    assert run_cli("verify", "--staged", index=heads["open"]).returncode == 0  # still publishable
    store.unstage("0" * 64, "absent-1.0.tar.gz")  # nothing staged under that name: nothing happens
    assert any(r is draft for r in repo.releases)  # the draft stays for the next change


def test_staged_files_need_a_token_that_lists_drafts(gh_index, gh_env, monkeypatch, wheel):
    run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root)
    run_cli("publish", index=gh_index.root)
    monkeypatch.delenv("GITHUB_TOKEN")
    proc = run_cli("storage", "cleanup", "--older-than", "0", index=gh_index.root, check=False)
    message = (f"github-release store: listing the staged files in {gh_index.config.storage.repository} needs a token "
               "with contents: write in PAGESINDEX_RELEASES_TOKEN, GITHUB_TOKEN or GH_TOKEN")
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [f"error: {message}"]
    # verify without a token checks the published files; its orphan notes, advice only, say why they are missing
    proc = run_cli("verify", index=gh_index.root)
    assert proc.stdout.splitlines()[0] == f"note: staged files not checked for orphans ({message})"
    assert "ok: 1 project verified" in proc.stdout
    # PAGESINDEX_RELEASES_TOKEN, the workflows' variable for the store, is used before GITHUB_TOKEN
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_readsprojectsonly")
    monkeypatch.setenv("PAGESINDEX_RELEASES_TOKEN", TOKEN)
    gh_env.requests.clear()
    assert "0 staged files deleted" in run_cli("storage", "cleanup", "--older-than", "0", index=gh_index.root).stdout
    assert gh_env.api_requests() and {r.authorization for r in gh_env.api_requests()} == {f"Bearer {TOKEN}"}
    monkeypatch.setenv("PAGESINDEX_RELEASES_TOKEN", f"{TOKEN} x")
    proc = run_cli("storage", "cleanup", index=gh_index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "error: PAGESINDEX_RELEASES_TOKEN contains whitespace; it must be the token alone"]


def test_an_asset_left_by_a_failed_staging_upload_never_counts_as_staged(gh_index, gh_env, repo):
    data = b"abc1 sdist"
    sha = hashlib.sha256(data).hexdigest()
    store = _store(gh_env, gh_index.config.storage)
    store.stage_bytes(b"other", "abc1-0.9.tar.gz", hashlib.sha256(b"other").hexdigest())  # makes the draft
    [draft] = repo.releases
    draft.assets.append(type(draft.assets[0])(id=10**9 + 1, name=f"{sha}-abc1-1.0.tar.gz", data=b"", digest=None, state="starter"))
    found = {s.filename: s.size for s in _store(gh_env, gh_index.config.storage).staged()}
    assert found == {"abc1-0.9.tar.gz": 5, "abc1-1.0.tar.gz": 0}
    _store(gh_env, gh_index.config.storage).unstage(sha, "abc1-1.0.tar.gz")
    assert [a.name for a in draft.assets] == [f"{hashlib.sha256(b'other').hexdigest()}-abc1-0.9.tar.gz"]


def test_verify_no_store_checks_the_state_without_asking_the_store(gh_index, gh_env, monkeypatch, wheel):
    """``verify --no-store`` (the ci workflow, whose token cannot list the staging draft): the
    state and the site are still checked; the store is not asked (no request, no token needed)."""
    run_cli("add", str(wheel("abc1", "1.0")), index=gh_index.root)
    monkeypatch.delenv("GITHUB_TOKEN")
    gh_env.requests.clear()
    assert run_cli("verify", "--no-store", index=gh_index.root).stdout.startswith("ok: 1 project verified")
    assert gh_env.requests == []
    proc = run_cli("verify", index=gh_index.root, check=False)
    assert proc.returncode == 1 and "missing from the store" in proc.stderr
    (gh_index.root / "packages" / "abc1").mkdir(parents=True, exist_ok=True)
    (gh_index.root / "packages" / "abc1" / "stray-1.0.tar.gz").write_bytes(b"x")  # a state problem
    proc = run_cli("verify", "--no-store", index=gh_index.root, check=False)
    assert proc.returncode == 1 and "problem: packages/abc1/stray-1.0.tar.gz: not recorded in any project" in proc.stderr
