"""The GitHub REST client against the fake GitHub: retries, rate limits, redirects, pagination."""

from __future__ import annotations

import pytest
from factory import make_wheel
from ghhelpers import TOKEN
from github_server import FakeGitHub

from pagesindex.github_api import (
    GitHubClient,
    GitHubConfig,
    GitHubConfigError,
    GitHubError,
    tag_candidates,
)


@pytest.fixture
def gh():
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def client(gh, *, token=TOKEN, **kw):
    sleeps = Sleeps()
    config = GitHubConfig(api_url=gh.api_url, web_url=gh.web_url, token=token)
    return GitHubClient(config, sleep=sleeps, **kw), sleeps


def test_config_from_env_defaults_and_tokens():
    config = GitHubConfig.from_env({})
    assert (config.api_url, config.web_url, config.token) == ("https://api.github.com", "https://github.com", None)
    config = GitHubConfig.from_env({"GITHUB_API_URL": "https://ghe.example/api/v3/", "GITHUB_SERVER_URL": "https://ghe.example", "GH_TOKEN": "abc"})
    assert (config.api_url, config.web_url, config.token) == ("https://ghe.example/api/v3", "https://ghe.example", "abc")
    assert GitHubConfig.from_env({"GITHUB_TOKEN": "one", "GH_TOKEN": "two"}).token == "one"
    assert "abc" not in repr(GitHubConfig(token="abc"))
    assert GitHubConfig(web_url="https://ghe.example").repository_from_url("https://ghe.example/Org/Repo.git/") == "Org/Repo"
    # a loopback http web host (tests) accepts http repository URLs, and only those
    local = GitHubConfig.from_env({"GITHUB_SERVER_URL": "http://127.0.0.1:8080"})
    assert local.repository_from_url("http://127.0.0.1:8080/lab/x") == "lab/x"
    with pytest.raises(GitHubConfigError):
        local.repository_from_url("https://127.0.0.1:8080/lab/x")


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is set but empty"),
        ({"GH_TOKEN": "  "}, "GH_TOKEN is set but empty"),
        ({"GITHUB_TOKEN": "a b"}, "whitespace"),
        ({"GITHUB_API_URL": "http://api.example.org"}, "plain http"),
        ({"GITHUB_API_URL": "ftp://x"}, "invalid GITHUB_API_URL"),
        ({"GITHUB_SERVER_URL": "http://github.example"}, "invalid GITHUB_SERVER_URL"),
        ({"GITHUB_SERVER_URL": "https://github.example/sub"}, "invalid GITHUB_SERVER_URL"),
    ],
)
def test_config_errors(env, message):
    with pytest.raises(GitHubConfigError, match=message):
        GitHubConfig.from_env(env)


def test_tag_candidates():
    assert tag_candidates("1.0") == ["1.0", "v1.0"]
    assert tag_candidates("v1.0") == ["v1.0", "1.0"]


def test_5xx_is_retried_with_growing_backoff(gh):
    gh.add_repo("kavli/x")
    gh.server_error(3, status=502)
    c, sleeps = client(gh, retries=4, backoff=0.5)
    assert c.repository("kavli/x").full_name == "kavli/x"
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(gh.requests) == 4


def test_backoff_is_capped_by_max_wait(gh):
    gh.add_repo("kavli/x")
    gh.server_error(3, status=500)
    c, sleeps = client(gh, retries=4, backoff=10, max_wait=15)
    c.repository("kavli/x")
    assert sleeps == [10, 15, 15]


def test_429_honours_retry_after(gh):
    gh.add_repo("kavli/x")
    gh.too_many(2, retry_after=7)
    c, sleeps = client(gh)
    c.repository("kavli/x")
    assert sleeps == [7.0, 7.0]


def test_403_rate_limit_waits_until_reset(gh):
    gh.add_repo("kavli/x")
    gh.rate_limit(1, reset_in=40)
    c, sleeps = client(gh)
    c.repository("kavli/x")
    assert len(sleeps) == 1 and 35 <= sleeps[0] <= 41


def test_429_rate_limit_with_reset_header(gh):
    gh.add_repo("kavli/x")
    gh.rate_limit(1, reset_in=20, status=429)
    c, sleeps = client(gh)
    c.repository("kavli/x")
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 21


def test_rate_limit_beyond_the_bound_fails_without_waiting(gh):
    gh.add_repo("kavli/x")
    gh.rate_limit(5, reset_in=4000)
    c, sleeps = client(gh, max_wait=600)
    with pytest.raises(GitHubError, match="more than the bound of 600 s"):
        c.repository("kavli/x")
    assert sleeps == [] and len(gh.requests) == 1


def test_secondary_rate_limit_without_retry_after_waits_a_minute(gh):
    gh.add_repo("kavli/x")
    gh.fail(1, 403, message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
    c, sleeps = client(gh)
    c.repository("kavli/x")
    assert sleeps == [60.0]


def test_403_without_rate_limit_is_not_retried(gh):
    gh.add_repo("kavli/x")
    gh.fail(1, 403, message="Resource not accessible by integration")
    c, sleeps = client(gh)
    with pytest.raises(GitHubError, match="HTTP 403 .Resource not accessible by integration"):
        c.repository("kavli/x")
    assert sleeps == []


def test_failure_after_the_last_retry(gh):
    gh.add_repo("kavli/x")
    gh.server_error(10, status=503)
    c, sleeps = client(gh, retries=2)
    with pytest.raises(GitHubError, match=r"HTTP 503 after 3 attempts"):
        c.repository("kavli/x")
    assert len(sleeps) == 2 and len(gh.requests) == 3


def test_connection_errors_are_retried_then_fail(gh):
    config = GitHubConfig(api_url="http://127.0.0.1:9", web_url=gh.web_url, token=TOKEN)
    sleeps = Sleeps()
    c = GitHubClient(config, sleep=sleeps, retries=2, timeout=2)
    with pytest.raises(GitHubError, match="ConnectError.*after 3 attempts"):
        c.repository("kavli/x")
    assert sleeps == [1.0, 2.0]


def test_timeouts_are_retried(gh):
    gh.add_repo("kavli/x")
    gh.fail(1, 503, delay=1.0)
    c, sleeps = client(gh, timeout=0.2)
    assert c.repository("kavli/x").full_name == "kavli/x"
    assert sleeps == [1.0] and len(gh.requests) == 2


def test_download_redirects_to_storage_without_authorization(gh, tmp_path):
    w = make_wheel(tmp_path, "abc1", "1.0")
    release = gh.add_repo("kavli/abc1", visibility="private").add_release("v1.0", {w.name: w})
    c, _ = client(gh)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    assert asset.sha256 and asset.url.startswith(gh.api_url)
    sha, size = c.download_asset(asset, tmp_path / "out.whl")
    assert (tmp_path / "out.whl").read_bytes() == w.read_bytes() and size == w.stat().st_size
    api, storage = gh.api_requests(), gh.storage_requests()
    assert all(r.authorization == f"Bearer {TOKEN}" for r in api)
    assert len(storage) == 1 and storage[0].authorization is None
    assert storage[0].headers["accept"] == "application/octet-stream"


def test_ghes_layout_keeps_the_token_off_the_storage_path(tmp_path):
    """GHES: API at /api/v3 and storage at /storage/ of the same host."""
    w = make_wheel(tmp_path, "abc1", "1.0")
    with FakeGitHub(token=TOKEN, ghes=True) as ghes:
        assert ghes.api_url.endswith("/api/v3") and ghes.storage_url.startswith(ghes.api_url[: -len("/api/v3")])
        release = ghes.add_repo("kavli/abc1").add_release("v1.0", {w.name: w})
        c, _ = client(ghes)
        (asset,) = c.release_assets("kavli/abc1", release.id)
        c.download_asset(asset, tmp_path / "out.whl")
        assert (tmp_path / "out.whl").read_bytes() == w.read_bytes()
        assert all(r.authorization == f"Bearer {TOKEN}" for r in ghes.api_requests())
        (storage,) = ghes.storage_requests()
        assert storage.authorization is None and storage.path.startswith("/blobs/")


def test_storage_rejects_a_leaked_token(gh, tmp_path):
    """The fake's storage host refuses Authorization, so a leaking client would fail."""
    import httpx

    w = make_wheel(tmp_path, "abc1", "1.0")
    release = gh.add_repo("kavli/abc1").add_release("v1.0", {w.name: w})
    c, _ = client(gh)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    resp = httpx.get(asset.url, headers={"Accept": "application/octet-stream", "Authorization": f"Bearer {TOKEN}"},
                     follow_redirects=False)
    assert resp.status_code == 302
    leaked = httpx.get(resp.headers["location"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert leaked.status_code == 400 and b"Only one auth mechanism allowed" in leaked.content


def test_digest_and_size_mismatch_remove_the_download(gh, tmp_path):
    w = make_wheel(tmp_path, "abc1", "1.0")
    release = gh.add_repo("kavli/abc1").add_release("v1.0", {w.name: w}, wrong_digest=(w.name,))
    c, _ = client(gh)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    with pytest.raises(GitHubError, match="differs from the API's digest"):
        c.download_asset(asset, tmp_path / "out.whl")
    assert not (tmp_path / "out.whl").exists()


def test_storage_5xx_is_retried(gh, tmp_path):
    w = make_wheel(tmp_path, "abc1", "1.0")
    release = gh.add_repo("kavli/abc1").add_release("v1.0", {w.name: w})
    gh.server_error(2, status=500, server="storage")
    c, sleeps = client(gh)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    c.download_asset(asset, tmp_path / "out.whl")
    assert (tmp_path / "out.whl").read_bytes() == w.read_bytes()
    assert len(sleeps) == 2


def test_pagination_follows_link_next(gh):
    release = gh.add_repo("kavli/abc1").add_release("v1.0", {f"f{i:02d}.txt": b"x" for i in range(25)})
    c, _ = client(gh, per_page=10)
    names = [a.name for a in c.release_assets("kavli/abc1", release.id)]
    assert names == [f"f{i:02d}.txt" for i in range(25)]
    pages = [r.query.get("page", ["1"])[0] for r in gh.api_requests()]
    assert pages == ["1", "2", "3"]


def test_release_by_tag_ignores_drafts_and_missing(gh):
    repo = gh.add_repo("kavli/abc1")
    repo.add_release("v1.0", draft=True)
    repo.add_release("v2.0")
    c, _ = client(gh)
    assert c.release_by_tag("kavli/abc1", "v1.0") is None
    assert c.release_by_tag("kavli/abc1", "v3.0") is None
    assert c.release_by_tag("kavli/abc1", "v2.0").tag_name == "v2.0"
    assert c.tag_exists("kavli/abc1", "v2.0") and not c.tag_exists("kavli/abc1", "v1.0")


def test_anonymous_client_sends_no_authorization(gh):
    gh.add_repo("kavli/abc1")
    c, _ = client(gh, token=None)
    c.repository("kavli/abc1")
    assert gh.requests[0].authorization is None


def test_readme_at_a_ref(gh):
    repo = gh.add_repo("kavli/abc1")
    repo.add_tag("v1.0")
    repo.set_readme("README.md", "# héllo\n" * 100)
    c, _ = client(gh)
    assert c.readme("kavli/abc1", "v1.0") == ("README.md", "# héllo\n" * 100)
    assert c.readme("kavli/abc1", "v9") is None



def test_list_endpoint_answering_a_non_list(gh):
    release = gh.add_repo("kavli/abc1").add_release("v1.0")
    gh.fail(1, 200, path="/assets", body={"not": "a list"})
    c, _ = client(gh)
    with pytest.raises(GitHubError, match="expected a list"):
        c.release_assets("kavli/abc1", release.id)


def test_pagination_link_to_another_host_is_refused(gh):
    release = gh.add_repo("kavli/abc1").add_release("v1.0")
    gh.fail(1, 200, path="/assets", body=[], headers={"Link": '<https://evil.example/next?page=2>; rel="next"'})
    c, _ = client(gh)
    with pytest.raises(GitHubError, match="pagination link leaves the API host"):
        c.release_assets("kavli/abc1", release.id)
    assert len(gh.requests) == 1


def test_redirect_loops_and_odd_schemes_are_refused(gh, tmp_path):
    w = make_wheel(tmp_path, "abc1", "1.0")
    release = gh.add_repo("kavli/abc1").add_release("v1.0", {w.name: w})
    c, _ = client(gh)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    gh.fail(10, 302, server="storage", headers={"Location": "/blobs/loop"})
    with pytest.raises(GitHubError, match="more than 5 redirects"):
        c.download_asset(asset, tmp_path / "out.whl")
    gh.faults.clear()
    gh.fail(1, 302, server="storage", headers={"Location": "file:///etc/passwd"})
    with pytest.raises(GitHubError, match="non-http"):
        c.download_asset(asset, tmp_path / "out.whl")
    assert not (tmp_path / "out.whl").exists()


def test_asset_url_off_the_api_host_and_size_mismatch(gh, tmp_path):
    from dataclasses import replace

    w = make_wheel(tmp_path, "abc1", "1.0")
    release = gh.add_repo("kavli/abc1").add_release("v1.0", {w.name: w}, digests=False)
    c, _ = client(gh)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    with pytest.raises(GitHubError, match="not on the API host"):
        c.download_asset(replace(asset, url="https://evil.example/asset"), tmp_path / "a.whl")
    with pytest.raises(GitHubError, match="the API says 7"):
        c.download_asset(replace(asset, size=7), tmp_path / "a.whl")
    assert not any(r.server == "api" and "evil" in r.path for r in gh.requests)
