"""`pagesindex register`, `update`, `delete` against the fake GitHub (tests/github_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import state_snapshot
from factory import make_sdist, make_wheel
from ghhelpers import TOKEN, gh_cli, record
from github_server import FakeGitHub

HOME = "https://github.example/kavli/lightcurvedb"


@pytest.fixture
def gh():
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def files(tmp_path):
    """Make a distribution file in its own folder: files(kind, name, version, **kw) -> Path."""
    counter = [0]

    def make(kind, name, version, **kw):
        counter[0] += 1
        folder = tmp_path / f"f{counter[0]}"
        return (make_wheel if kind == "wheel" else make_sdist)(folder, name, version, **kw)

    return make


def register(gh, index, name="lightcurvedb", version="v1.0.0", homepage=HOME, *extra, check=True, **kw):
    return gh_cli(gh, "register", name, version, "--author", "TESS team", "--summary", "Light curves",
                  "--homepage", homepage, *extra, index=index.root, check=check, **kw)


def assert_failed(proc, *needles):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_register_from_release_assets(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0", description="# LCDB\n")
    s = files("sdist", "lightcurvedb", "1.0.0", description="# LCDB\n")
    repo = gh.add_repo("kavli/lightcurvedb")
    repo.add_release("v1.0.0", {w.name: w, s.name: s, "checksums.txt": b"abc  x\n"})
    out = register(gh, index).stdout
    assert f"added     {w.name}  version 1.0.0  sha256=" in out
    assert "ignored   checksums.txt  (not a wheel or sdist)" in out
    assert "2 added, 0 unchanged" in out
    rec = record(index, "lightcurvedb")
    assert rec["summary"] == "Light curves" and rec["author"] == "TESS team"
    assert rec["homepage"] == HOME
    assert rec["extra"]["repository"] == {"url": HOME, "full_name": "kavli/lightcurvedb", "visibility": "public"}
    release = rec["releases"]["1.0.0"]
    assert release["extra"] == {"source": "release-assets"}
    assert sorted(f["filename"] for f in release["files"]) == sorted([w.name, s.name])
    for p in (w, s):
        assert (index.root / "packages/lightcurvedb" / p.name).read_bytes() == p.read_bytes()
    # the token went to the API host only, never to the storage host
    assert gh.api_requests() and all(r.authorization == f"Bearer {TOKEN}" for r in gh.api_requests())
    assert len(gh.storage_requests()) == 2 and all(r.authorization is None for r in gh.storage_requests())
    downloads = [r for r in gh.api_requests() if "/releases/assets/" in r.path]
    assert all(r.headers["accept"] == "application/octet-stream" for r in downloads)
    # no secret anywhere in the state or the output
    assert TOKEN not in out
    for data in state_snapshot(index.root).values():
        assert TOKEN.encode() not in data


@pytest.mark.parametrize(
    "tag, given, file_version, recorded",
    [
        ("v1.2.3", "1.2.3", "1.2.3", "1.2.3"),
        ("1.2.3", "v1.2.3", "1.2.3", "1.2.3"),
        ("v3.0.0-beta.1", "v3.0.0-beta.1", "3.0.0b1", "3.0.0b1"),
        ("v2.12.0beta", "2.12.0beta", "2.12.0b0", "2.12.0b0"),
        ("v1.2.3-rc.1", "v1.2.3-rc.1", "1.2.3rc1", "1.2.3rc1"),
        ("v0.1.16.0", "v0.1.16.0", "0.1.16", "0.1.16"),
    ],
)
def test_tag_spellings_and_pep440_versions(gh, index, files, tag, given, file_version, recorded):
    w = files("wheel", "lightcurvedb", file_version, description="x")
    gh.add_repo("kavli/lightcurvedb").add_release(tag, {w.name: w})
    out = register(gh, index, version=given).stdout
    assert f"tag {tag}" in out
    assert list(record(index, "lightcurvedb")["releases"]) == [recorded]


@pytest.mark.parametrize("tag, file_version", [("v1.3.0", "1.2.9"), ("v2.1.0", "2.0.0"), ("v2.2.0", "2.0.0")])
def test_wrong_version_file_is_an_error_naming_both_versions(gh, index, files, tag, file_version):
    """Tags v2.1.0 and v2.2.0 linking to the 2.0.0 wheel (the current index's mistake) are refused."""
    w = files("wheel", "lightcurvedb", file_version)
    gh.add_repo("kavli/lightcurvedb").add_release(tag, {w.name: w})
    before = state_snapshot(index.root)
    proc = register(gh, index, version=tag, check=False)
    assert_failed(proc, file_version, tag, w.name)
    assert state_snapshot(index.root) == before


def test_no_release_and_no_tag(gh, index):
    gh.add_repo("kavli/lightcurvedb")
    before = state_snapshot(index.root)
    proc = register(gh, index, version="1.0.0", check=False)
    assert_failed(proc, "no published release and no tag", "'1.0.0'", "'v1.0.0'")
    assert state_snapshot(index.root) == before


def test_draft_release_does_not_count(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w}, draft=True)
    before = state_snapshot(index.root)
    proc = register(gh, index, check=False)
    assert_failed(proc, "no published release and no tag")
    assert state_snapshot(index.root) == before
    assert not gh.storage_requests()


def test_release_with_45_earlier_releases(gh, index, files):
    repo = gh.add_repo("kavli/lightcurvedb")
    for minor in range(45):
        w = files("wheel", "lightcurvedb", f"0.{minor}.0")
        repo.add_release(f"v0.{minor}.0", {w.name: w})
    w = files("wheel", "lightcurvedb", "1.0.0")
    repo.add_release("v1.0.0", {w.name: w})
    register(gh, index, version="v1.0.0")
    register(gh, index, version="v0.0.0")  # the oldest, past the first page of "list releases"
    assert sorted(record(index, "lightcurvedb")["releases"]) == ["0.0.0", "1.0.0"]


def test_monorepo_release_keeps_only_this_projects_files(gh, index, files):
    mine = files("wheel", "lightcurvedb", "2.0.0")
    other = files("wheel", "pyticdb", "2.0.0")
    other_sdist = files("sdist", "pyticdb", "2.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release(
        "v2.0.0", {mine.name: mine, other.name: other, other_sdist.name: other_sdist, "SHA256SUMS": b"..."}
    )
    out = register(gh, index, version="v2.0.0").stdout
    assert f"ignored   {other.name}  (a file of project 'pyticdb', not 'lightcurvedb')" in out
    assert f"ignored   {other_sdist.name}" in out and "ignored   SHA256SUMS  (not a wheel or sdist)" in out
    assert index.project_names() == ["lightcurvedb"]
    assert [f["filename"] for f in record(index, "lightcurvedb")["releases"]["2.0.0"]["files"]] == [mine.name]
    assert len(gh.storage_requests()) == 1


def test_asset_list_pagination(gh, index, files):
    """120 assets: the project's wheel is on the second page of 100."""
    assets = {f"notes-{i:03d}.txt": b"n" for i in range(119)}
    w = files("wheel", "lightcurvedb", "1.0.0")
    assets[w.name] = w
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", assets)
    register(gh, index)
    assert [f["filename"] for f in record(index, "lightcurvedb")["releases"]["1.0.0"]["files"]] == [w.name]
    pages = [r for r in gh.api_requests() if r.path.endswith("/assets")]
    assert [r.query.get("page", ["1"])[0] for r in pages] == ["1", "2"]


def test_name_that_looks_like_a_site_path_still_works(gh, index, files):
    """`packages` is also the folder of the hosted files; the layout keeps both apart."""
    from conftest import run_cli

    w = files("wheel", "packages", "1.0.0")
    other = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/packages").add_release("v1.0.0", {w.name: w})
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {other.name: other})
    register(gh, index, name="Packages", homepage="https://github.example/kavli/packages")
    register(gh, index)
    run_cli("build", index=index.root)
    run_cli("verify", index=index.root)
    site = index.root / "_site"
    assert (site / "packages/index.html").is_file()
    assert (site / "packages/packages" / w.name).read_bytes() == w.read_bytes()
    assert (site / "packages/lightcurvedb" / other.name).read_bytes() == other.read_bytes()


@pytest.mark.parametrize("var", ["GITHUB_TOKEN", "GH_TOKEN"])
def test_empty_token_is_an_error(gh, index, files, var):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w})
    before = state_snapshot(index.root)
    proc = register(gh, index, token=None, env={var: ""}, check=False)
    assert_failed(proc, var, "empty")
    assert state_snapshot(index.root) == before
    assert not gh.requests


def test_gh_token_is_used_when_github_token_is_absent(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb", visibility="private").add_release("v1.0.0", {w.name: w})
    register(gh, index, token=None, env={"GH_TOKEN": TOKEN})
    assert all(r.authorization == f"Bearer {TOKEN}" for r in gh.api_requests())


def test_bad_token_is_a_clear_error(gh, index, files):
    gh.add_repo("kavli/lightcurvedb")
    proc = register(gh, index, token="ghp_wrong", check=False)
    assert_failed(proc, "rejected the token", "401")
    assert "ghp_wrong" not in proc.stderr


@pytest.mark.parametrize(
    "homepage",
    [
        "http://github.example/kavli/lightcurvedb",
        "https://gitlab.example/kavli/lightcurvedb",
        "https://github.example/kavli",
        "https://github.example/kavli/lightcurvedb/tree/main",
        "https://github.example/kavli/lightcurvedb?x=1",
        "https://user@github.example/kavli/lightcurvedb",
        "https://github.example/kavli/light curvedb",
        "https://github.example.evil.org/kavli/lightcurvedb",
        "javascript:alert(1)",
    ],
)
def test_homepage_must_be_a_repository_on_the_github_host(gh, index, homepage):
    before = state_snapshot(index.root)
    proc = register(gh, index, homepage=homepage, check=False)
    assert_failed(proc, "invalid --homepage")
    assert state_snapshot(index.root) == before
    assert not gh.requests


def test_missing_repository(gh, index):
    proc = register(gh, index, check=False)
    assert_failed(proc, "repository 'kavli/lightcurvedb' not found")


def test_digest_mismatch_is_refused(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w}, wrong_digest=(w.name,))
    before = state_snapshot(index.root)
    proc = register(gh, index, check=False)
    assert_failed(proc, w.name, "digest")
    assert state_snapshot(index.root) == before


def test_asset_without_digest_is_accepted(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w}, digests=False)
    register(gh, index)
    assert (index.root / "packages/lightcurvedb" / w.name).read_bytes() == w.read_bytes()


def test_transient_failures_are_retried(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w})
    gh.server_error(1, status=503, path="/repos/kavli/lightcurvedb")
    gh.too_many(1, retry_after=0, path="/releases/tags/")
    gh.rate_limit(1, reset_in=0, path="/assets")
    gh.server_error(1, status=500, server="storage")
    register(gh, index, env={"PAGESINDEX_GITHUB_RETRIES": "3"})
    assert list(record(index, "lightcurvedb")["releases"]) == ["1.0.0"]
    assert all(f.remaining == 0 for f in gh.faults)


def test_failure_after_retries_writes_nothing(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w})
    gh.server_error(100, status=502, server="storage")
    before = state_snapshot(index.root)
    proc = register(gh, index, env={"PAGESINDEX_GITHUB_RETRIES": "2", "PAGESINDEX_GITHUB_MAX_WAIT": "0"}, check=False)
    assert_failed(proc, "HTTP 502 after 3 attempts", "/blobs/")
    assert gh.signature not in proc.stderr  # signed storage URL query not printed
    assert state_snapshot(index.root) == before
    assert len(gh.storage_requests()) == 3


def test_rate_limit_reset_beyond_the_bound_fails_at_once(gh, index, files):
    gh.add_repo("kavli/lightcurvedb")
    gh.rate_limit(10, reset_in=3600)
    proc = register(gh, index, env={"PAGESINDEX_GITHUB_MAX_WAIT": "60"}, check=False)
    assert_failed(proc, "rate limited", "more than the bound of 60 s")
    assert len(gh.requests) == 1


def test_register_existing_project_from_another_repository(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w})
    register(gh, index)
    before = state_snapshot(index.root)
    proc = register(gh, index, homepage="https://github.example/someone/lightcurvedb", check=False)
    assert_failed(proc, "already registered from kavli/lightcurvedb")
    assert state_snapshot(index.root) == before


def test_update_merges_new_files_and_keeps_existing(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    repo = gh.add_repo("kavli/lightcurvedb")
    release = repo.add_release("v1.0.0", {w.name: w})
    register(gh, index)
    first = record(index, "lightcurvedb")["releases"]["1.0.0"]["files"]
    # a platform wheel uploaded later to the same release
    plat = files("wheel", "lightcurvedb", "1.0.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    later = repo.add_release("tmp", {plat.name: plat})
    release.assets.extend(later.assets)
    repo.releases.remove(later)
    gh.requests.clear()
    out = gh_cli(gh, "update", "lightcurvedb", "v1.0.0", index=index.root).stdout
    assert f"added     {plat.name}" in out and f"unchanged {w.name}" in out
    assert "the API digest matches, not downloaded" in out
    assert [r.path.rsplit("/", 1)[-1] for r in gh.storage_requests()] == [plat.name]
    files_now = {f["filename"]: f for f in record(index, "lightcurvedb")["releases"]["1.0.0"]["files"]}
    assert files_now[w.name] == first[0]
    assert set(files_now) == {w.name, plat.name}
    # and a new release
    w2 = files("wheel", "lightcurvedb", "1.1.0")
    repo.add_release("v1.1.0", {w2.name: w2})
    out = gh_cli(gh, "update", "LightCurveDB", "1.1.0", index=index.root).stdout
    assert "1 added" in out
    rec = record(index, "lightcurvedb")
    assert sorted(rec["releases"]) == ["1.0.0", "1.1.0"]
    assert rec["summary"] == "Light curves"  # kept from register


def test_update_with_changed_bytes_under_same_name_is_refused(gh, index, files, tmp_path):
    w = files("wheel", "lightcurvedb", "1.0.0", summary="first")
    repo = gh.add_repo("kavli/lightcurvedb")
    release = repo.add_release("v1.0.0", {w.name: w})
    register(gh, index)
    changed = make_wheel(tmp_path / "changed", "lightcurvedb", "1.0.0", summary="second")
    release.assets[0].data = changed.read_bytes()
    import hashlib

    release.assets[0].digest = "sha256:" + hashlib.sha256(release.assets[0].data).hexdigest()
    before = state_snapshot(index.root)
    proc = gh_cli(gh, "update", "lightcurvedb", "v1.0.0", index=index.root, check=False)
    assert_failed(proc, "immutable", w.name)
    assert state_snapshot(index.root) == before


def test_update_unknown_project(gh, index):
    proc = gh_cli(gh, "update", "nothing-here", "1.0", index=index.root, check=False)
    assert_failed(proc, "no project 'nothing-here'")


def test_update_of_a_project_added_locally_without_repository(gh, index, files):
    from conftest import run_cli

    run_cli("add", str(files("wheel", "abc1", "1.0")), index=index.root)
    proc = gh_cli(gh, "update", "abc1", "1.1", index=index.root, check=False)
    assert_failed(proc, "no GitHub repository recorded")


def test_update_of_a_project_added_locally_with_a_homepage_elsewhere(gh, index, files):
    from conftest import run_cli

    run_cli("add", str(files("wheel", "abc1", "1.0")), "--homepage", "https://example.org/abc1", index=index.root)
    before = state_snapshot(index.root)
    proc = gh_cli(gh, "update", "abc1", "1.1", index=index.root, check=False)
    assert_failed(proc, "'abc1' was not registered from GitHub", "'https://example.org/abc1'", "pagesindex add")
    assert "register it again" not in proc.stderr
    assert state_snapshot(index.root) == before


def test_delete_release_then_project(gh, index, files):
    repo = gh.add_repo("kavli/lightcurvedb")
    for v in ("1.0.0", "1.1.0"):
        w = files("wheel", "lightcurvedb", v)
        repo.add_release(f"v{v}", {w.name: w})
        register(gh, index, version=f"v{v}")
    out = gh_cli(gh, "delete", "lightcurvedb", "--version", "v1.0.0", index=index.root).stdout
    assert "deleted   lightcurvedb-1.0.0-py3-none-any.whl" in out
    assert "deleted release lightcurvedb 1.0.0: 1 file" in out
    assert list(record(index, "lightcurvedb")["releases"]) == ["1.1.0"]
    assert not (index.root / "packages/lightcurvedb/lightcurvedb-1.0.0-py3-none-any.whl").exists()
    before = state_snapshot(index.root)
    proc = gh_cli(gh, "delete", "lightcurvedb", "--version", "9.9", index=index.root, check=False)
    assert_failed(proc, "no release '9.9'")
    assert state_snapshot(index.root) == before
    out = gh_cli(gh, "delete", "LightCurveDB", index=index.root).stdout
    assert "deleted project lightcurvedb: 1 release, 1 file" in out
    assert index.project_names() == []
    assert not (index.root / "packages/lightcurvedb").exists()
    assert_failed(gh_cli(gh, "delete", "lightcurvedb", index=index.root, check=False), "no project 'lightcurvedb'")
    assert not gh.requests[-1:] or True  # delete needs no GitHub


def test_readme_from_the_repository_when_metadata_has_none(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")  # no description
    repo = gh.add_repo("kavli/lightcurvedb")
    repo.set_readme("README.rst", "LCDB\n====\n\nAt the tag.\n", ref="v1.0.0")
    repo.set_readme("README.md", "# newer\n")
    repo.add_release("v1.0.0", {w.name: w})
    out = register(gh, index).stdout
    assert "README README.rst taken from the repository at v1.0.0" in out
    extra = record(index, "lightcurvedb")["releases"]["1.0.0"]["extra"]
    assert extra["readme"] == {"text": "LCDB\n====\n\nAt the tag.\n", "content_type": "text/x-rst", "from": "repository@v1.0.0"}
    readme_calls = [r for r in gh.api_requests() if r.path.endswith("/readme")]
    assert [r.query["ref"] for r in readme_calls] == [["v1.0.0"]]


def test_no_readme_fetched_when_metadata_has_a_description(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0", description="# Described\n")
    repo = gh.add_repo("kavli/lightcurvedb", readme=("README.md", "# repo\n"))
    repo.add_release("v1.0.0", {w.name: w})
    register(gh, index)
    assert "readme" not in record(index, "lightcurvedb")["releases"]["1.0.0"]["extra"]
    assert not any(r.path.endswith("/readme") for r in gh.api_requests())


# -- private repositories ----------------------------------------------------------------------


def test_private_repository_on_a_public_index_is_a_git_link(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    repo = gh.add_repo("kavli/lightcurvedb", visibility="private", readme=("README.md", "# secret readme\n"))
    repo.add_release("v1.0.0", {w.name: w})
    out = register(gh, index).stdout
    assert f"checked   {w.name}" in out and "not hosted: private repository" in out
    assert 'pip install "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v1.0.0"' in out
    rec = record(index, "lightcurvedb")
    assert rec["extra"]["repository"]["visibility"] == "private"
    release = rec["releases"]["1.0.0"]
    assert release["files"] == []
    assert release["extra"] == {"git": {"url": HOME, "tag": "v1.0.0"}}
    assert not any((index.root / "packages").rglob("*.whl"))
    assert not any(r.path.endswith("/readme") for r in gh.api_requests())
    # the site builds, shows the git install commands, verifies, and holds no private bytes or secret
    gh_cli(gh, "build", index=index.root)
    page = (index.root / "_site/_pages/lightcurvedb/index.html").read_text()
    for line in (
        'pip install "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v1.0.0"',
        'uv pip install "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v1.0.0"',
        'poetry add "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v1.0.0"',
        'pdm add "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v1.0.0"',
    ):
        assert line in page, line
    site = state_snapshot(index.root / "_site")
    assert not any(name.endswith(".whl") for name in site)
    for data in site.values():
        assert TOKEN.encode() not in data and b"secret readme" not in data
    assert json.loads(site["lightcurvedb/index.json"])["versions"] == ["1.0.0"]
    gh_cli(gh, "verify", index=index.root)


def test_private_repository_without_assets_is_a_git_link_without_building(gh, index):
    repo = gh.add_repo("kavli/lightcurvedb", visibility="internal", clone_url="file:///nonexistent/repo.git")
    repo.add_tag("v1.0.0")
    out = register(gh, index).stdout
    assert "git link" in out
    assert record(index, "lightcurvedb")["releases"]["1.0.0"]["extra"]["git"]["tag"] == "v1.0.0"


def test_private_repository_on_a_private_index_hosts_files(gh, index, files):
    cfg = index.root / "index.toml"
    cfg.write_text(cfg.read_text().replace('visibility = "public"', 'visibility = "private"'))
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb", visibility="private").add_release("v1.0.0", {w.name: w})
    register(gh, index)
    assert (index.root / "packages/lightcurvedb" / w.name).is_file()
    assert record(index, "lightcurvedb")["releases"]["1.0.0"]["extra"]["source"] == "release-assets"


def test_private_repository_needs_a_token(gh, index, files):
    gh.add_repo("kavli/lightcurvedb", visibility="private")
    proc = register(gh, index, token=None, check=False)
    assert_failed(proc, "not found", "GITHUB_TOKEN or GH_TOKEN")


# -- --as ---------------------------------------------------------------------------------------


def test_register_as_another_name_renames_wheels_and_refuses_sdists(gh, index, files):
    w = files("wheel", "numpy", "1.26.0", module="numpy")
    s = files("sdist", "numpy", "1.26.0")
    gh.add_repo("kavli/numpy").add_release("v1.26.0", {w.name: w, s.name: s})
    out = register(gh, index, "numpy", "v1.26.0", "https://github.example/kavli/numpy", "--as", "kavli-numpy").stdout
    assert "renamed numpy-1.26.0-py3-none-any.whl -> kavli_numpy-1.26.0-py3-none-any.whl" in out
    assert f"ignored   {s.name}  (an sdist cannot be renamed to 'kavli-numpy' safely" in out
    rec = record(index, "kavli-numpy")
    assert rec["name"] == "kavli-numpy" and rec["extra"]["renamed_from"] == "numpy"
    assert [f["filename"] for f in rec["releases"]["1.26.0"]["files"]] == ["kavli_numpy-1.26.0-py3-none-any.whl"]
    assert index.project_names() == ["kavli-numpy"]
    # update keeps renaming
    w2 = files("wheel", "numpy", "1.27.0", module="numpy")
    gh.repos["kavli/numpy"].add_release("v1.27.0", {w2.name: w2})
    gh_cli(gh, "update", "kavli-numpy", "1.27.0", index=index.root)
    assert "kavli_numpy-1.27.0-py3-none-any.whl" in [f["filename"] for f in record(index, "kavli-numpy")["releases"]["1.27.0"]["files"]]


def test_register_as_with_only_an_sdist_is_refused(gh, index, files):
    s = files("sdist", "numpy", "1.26.0")
    gh.add_repo("kavli/numpy").add_release("v1.26.0", {s.name: s})
    before = state_snapshot(index.root)
    proc = register(gh, index, "numpy", "v1.26.0", "https://github.example/kavli/numpy", "--as", "kavli-numpy", check=False)
    assert_failed(proc, "no wheel", "'kavli-numpy'", "sdists cannot be renamed safely")
    assert state_snapshot(index.root) == before


@pytest.mark.parametrize("as_name, message", [("numpy", "same project"), ("bad name!", "invalid project name"), ("_static", "invalid project name")])
def test_register_as_bad_names(gh, index, as_name, message):
    proc = register(gh, index, "numpy", "v1.0", "https://github.example/kavli/numpy", "--as", as_name, check=False)
    assert_failed(proc, message)
    assert not gh.requests


@pytest.mark.parametrize("option, value", [("--author", ""), ("--summary", "two\nlines")])
def test_register_bad_text_options(gh, index, option, value):
    args = {"--author": "A", "--summary": "S"}
    args[option] = value
    proc = gh_cli(gh, "register", "lightcurvedb", "v1.0", "--author", args["--author"], "--summary", args["--summary"],
                  "--homepage", HOME, index=index.root, check=False)
    assert_failed(proc, f"invalid {option}")


@pytest.mark.parametrize("version", ["latest", "v", "1.0 ", "vv1.0"])
def test_register_bad_version(gh, index, version):
    proc = register(gh, index, version=version, check=False)
    assert_failed(proc, repr(version))
    assert not gh.requests


def test_pypi_options_are_accepted(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w})
    register(gh, index, "lightcurvedb", "v1.0.0", HOME, "--pypi-url", "https://pypi.example", "--allow-pypi-conflict")
    assert Path(index.root / "packages/lightcurvedb" / w.name).is_file()


def test_page_never_mixes_a_git_link_with_files(gh, index, files):
    """Policy changed to private after a git-link release: the page shows files, and no egg link."""
    from html.parser import HTMLParser

    w0 = files("wheel", "lightcurvedb", "0.9.0")
    repo = gh.add_repo("kavli/lightcurvedb", visibility="private")
    repo.add_release("v0.9.0", {w0.name: w0})
    register(gh, index, version="v0.9.0")
    gh_cli(gh, "build", index=index.root)
    page = (index.root / "_site/lightcurvedb/index.html").read_text()
    # the API page carries file anchors only (issue 14): a git link is no file, it is on the page for people
    assert "git+" not in page and "<a " not in page
    assert 'pip install "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v0.9.0"' in (
        index.root / "_site/_pages/lightcurvedb/index.html").read_text()
    cfg = index.root / "index.toml"
    cfg.write_text(cfg.read_text().replace('visibility = "public"', 'visibility = "private"'))
    w = files("wheel", "lightcurvedb", "1.0.0")
    repo.add_release("v1.0.0", {w.name: w})
    register(gh, index)
    gh_cli(gh, "build", index=index.root)
    page = (index.root / "_site/_pages/lightcurvedb/index.html").read_text()

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs = []

        def handle_starttag(self, tag, attrs):
            self.hrefs += [v for k, v in attrs if k == "href"]

    parser = Links()
    parser.feed(page)
    assert any(h.startswith("../../packages/lightcurvedb/") for h in parser.hrefs)
    assert not any(h.startswith("git+") for h in parser.hrefs)
    assert 'pip install "lightcurvedb @ git+https://github.example/kavli/lightcurvedb@v0.9.0"' in page
    gh_cli(gh, "verify", index=index.root)


def test_verify_flags_a_git_url_with_credentials(gh, index):
    index.add_git_release("abc1", "1.0", git={"url": "https://user:secret@github.example/kavli/abc1", "tag": "v1.0"})
    proc = gh_cli(gh, "verify", index=index.root, check=False)
    assert proc.returncode == 1 and "git url must be https without credentials" in proc.stderr


def test_update_when_the_recorded_repository_is_on_another_host(gh, index, files):
    w = files("wheel", "lightcurvedb", "1.0.0")
    gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {w.name: w})
    register(gh, index)
    proc = gh_cli(gh, "update", "lightcurvedb", "1.0.0", index=index.root,
                  env={"GITHUB_SERVER_URL": "https://ghe.example"}, check=False)
    assert_failed(proc, HOME, "not on https://ghe.example")


@pytest.mark.parametrize("var, value", [("PAGESINDEX_GITHUB_RETRIES", "many"), ("PAGESINDEX_GITHUB_MAX_WAIT", "-1")])
def test_bad_retry_settings(gh, index, var, value):
    gh.add_repo("kavli/lightcurvedb")
    proc = register(gh, index, env={var: value}, check=False)
    assert_failed(proc, var, repr(value))


def test_delete_a_git_link_release(gh, index):
    repo = gh.add_repo("kavli/lightcurvedb", visibility="private")
    repo.add_tag("v1.0.0")
    repo.add_tag("v1.1.0")
    register(gh, index, version="v1.0.0")
    register(gh, index, version="v1.1.0")
    out = gh_cli(gh, "delete", "lightcurvedb", "--version", "1.0.0", index=index.root).stdout
    assert "deleted release lightcurvedb 1.0.0 (git link only): 0 files" in out
    assert list(record(index, "lightcurvedb")["releases"]) == ["1.1.0"]
