"""The token never follows a redirect or a pagination link off the API path (issue 13, item 7).

On GitHub Enterprise Server the API is ``https://HOST/api/v3`` and release assets are stored
under ``https://HOST/storage/`` of the same host. A ``Location`` or ``Link`` spelt so that it
looks like the API before normalization but is the storage after it (``/api/v3/../../storage``,
``%2e%2e``, a backslash, ``//``, ``;``) must not carry ``Authorization``; equivalent spellings of
the API itself (an upper-case host, the default port written out) still get it.

Two servers play GitHub: the fake GitHub in GHES layout (real HTTP on 127.0.0.1, paths read as a
lenient front server reads them, storage refusing any Authorization), and an httpx
``MockTransport`` for an ``https://ghe.example/api/v3`` base URL (https, port 443, host case).
Each test asserts where the token went, request by request, as the server routed it.
"""

from __future__ import annotations

from typing import List, Tuple

import httpx
import pytest
from factory import make_wheel
from ghhelpers import TOKEN
from github_server import FakeGitHub, server_path

from pagesindex.github_api import Asset, GitHubClient, GitHubConfig, GitHubError

#: Hostile Location spellings that a lenient server routes to /storage/<blob> (fake GitHub fields).
STORAGE_REDIRECTS = [
    "{origin}/api/v3/../../storage/{blob}",
    "/api/v3/../../storage/{blob}",
    "/api/v3/%2e%2e/%2e%2e/storage/{blob}",
    "/api/v3/%2E%2e/%2e%2E/storage/{blob}",
    "{origin}/api/v3/%2e%2e/%2e%2e/storage/{blob}",
    "/api/v3//%2e%2e/%2e%2e/storage/{blob}",
    "/api/v3/%2e%2e%2f%2e%2e%2fstorage/{blob}",
    "/api/v3/x\\..\\..\\..\\storage/{blob}",
    "/api/v3/..;/..;/storage/{blob}",
]
#: Hostile next-page links: the storage, or the API with user information.
STORAGE_LINKS = [
    "{origin}/api/v3/../../storage/x?{query}",
    "{origin}/api/v3/%2e%2e/%2e%2e/storage/x?{query}",
    "{origin}/api/v3/%2E%2e/%2e%2E/storage/x?{query}",
    "{origin}/api/v3//%2e%2e/%2e%2e/storage/x?{query}",
    "{origin}/api/v3/x\\..\\..\\..\\storage/x?{query}",
    "http://user:pw@127.0.0.1:{port}/api/v3{path}?{query}",
    "http://{token}@127.0.0.1:{port}/api/v3{path}?{query}",
]


def ghes_client(fake: FakeGitHub) -> GitHubClient:
    return GitHubClient(GitHubConfig(api_url=fake.api_url, web_url=fake.web_url, token=TOKEN), sleep=lambda s: None, retries=0)


def assert_token_only_on_the_api(fake: FakeGitHub) -> None:
    for r in fake.requests:
        if r.server != "api":
            assert r.authorization is None, f"token sent to {r.server} {r.path}"


@pytest.fixture
def ghes(tmp_path):
    with FakeGitHub(token=TOKEN, ghes=True) as fake:
        w = make_wheel(tmp_path / "dist", "abc1", "1.0")
        release = fake.add_repo("kavli/abc1").add_release("v1.0", {w.name: w})
        yield fake, release, w


@pytest.mark.parametrize("location", STORAGE_REDIRECTS)
def test_redirect_into_the_storage_path_carries_no_token(ghes, tmp_path, location):
    fake, release, w = ghes
    c = ghes_client(fake)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    fake.asset_redirect = location
    c.download_asset(asset, tmp_path / "out.whl")
    assert (tmp_path / "out.whl").read_bytes() == w.read_bytes()
    (storage,) = fake.storage_requests()
    assert storage.authorization is None and storage.path.startswith("/blobs/")
    assert_token_only_on_the_api(fake)
    assert all(r.authorization == f"Bearer {TOKEN}" for r in fake.api_requests())


@pytest.mark.parametrize(
    "location", ["http://user@127.0.0.1:{port}/storage/{blob}", "http://x:{port}@127.0.0.1:{port}/api/v3/../../storage/{blob}"]
)
def test_redirect_with_user_information_is_refused(ghes, tmp_path, location):
    fake, release, _w = ghes
    c = ghes_client(fake)
    (asset,) = c.release_assets("kavli/abc1", release.id)
    fake.asset_redirect = location
    with pytest.raises(GitHubError, match="user information"):
        c.download_asset(asset, tmp_path / "out.whl")
    assert not fake.storage_requests() and not (tmp_path / "out.whl").exists()


@pytest.mark.parametrize("link", STORAGE_LINKS)
def test_pagination_link_off_the_api_path_is_refused_before_any_request(ghes, link):
    fake, release, _w = ghes
    for i in range(3):
        release.assets.append(release.assets[0].__class__(id=9000 + i, name=f"abc1-1.0.{i}.tar.gz", data=b"x", digest=None))
    fake.next_link = link.replace("{token}", TOKEN)
    c = GitHubClient(
        GitHubConfig(api_url=fake.api_url, web_url=fake.web_url, token=TOKEN), sleep=lambda s: None, retries=0, per_page=2
    )
    with pytest.raises(GitHubError, match="pagination link leaves the API host or path"):
        c.release_assets("kavli/abc1", release.id)
    assert len(fake.requests) == 1 and fake.requests[0].server == "api"
    assert_token_only_on_the_api(fake)


def test_pagination_link_of_the_fake_still_works(ghes):
    fake, release, _w = ghes
    for i in range(3):
        release.assets.append(release.assets[0].__class__(id=9100 + i, name=f"abc1-1.0.{i}.tar.gz", data=b"x", digest=None))
    c = GitHubClient(
        GitHubConfig(api_url=fake.api_url, web_url=fake.web_url, token=TOKEN), sleep=lambda s: None, retries=0, per_page=2
    )
    assert len(c.release_assets("kavli/abc1", release.id)) == 4
    assert len(fake.api_requests()) == 2 and all(r.authorization == f"Bearer {TOKEN}" for r in fake.requests)


# -- https, host case and default port: a GHES at https://ghe.example/api/v3 (MockTransport) ---
API = "https://ghe.example/api/v3"
ASSET_URL = f"{API}/repos/o/r/releases/assets/1"
BYTES = b"the asset's bytes"


class Ghe:
    """An https GHES behind a lenient front server: records (route, path, authorization)."""

    def __init__(self, location: str = "", next_link: str = ""):
        self.location = location
        self.next_link = next_link
        self.seen: List[Tuple[str, str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        path = server_path(raw)
        host = request.url.host.lower()
        auth = request.headers.get("authorization", "")
        route = "api" if host == "ghe.example" and path.startswith("/api/v3/") else "other"
        self.seen.append((route, f"{host}{path}", auth))
        if route == "other":
            if auth:
                return httpx.Response(400, text="Only one auth mechanism allowed")
            return httpx.Response(200, content=BYTES)
        if path == "/api/v3/repos/o/r/releases/assets/1":
            return httpx.Response(302, headers={"Location": self.location})
        if path == "/api/v3/repos/o/r/releases/1/assets":
            page = request.url.params.get("page", "1")
            item = {"id": int(page), "name": f"a-{page}.tar.gz", "size": 1, "url": ASSET_URL}
            headers = {"Link": f'<{self.next_link}>; rel="next"'} if page == "1" else {}
            return httpx.Response(200, json=[item], headers=headers)
        if path == "/api/v3/storage-like/asset":  # an API path that happens to serve bytes
            return httpx.Response(200, content=BYTES)
        return httpx.Response(404, json={"message": "Not Found"})

    def token_off_the_api(self) -> List[str]:
        return [where for route, where, auth in self.seen if route != "api" and auth]


def mock_client(server: Ghe) -> GitHubClient:
    return GitHubClient(
        GitHubConfig(api_url=API, web_url="https://ghe.example", token=TOKEN),
        sleep=lambda s: None,
        retries=0,
        transport=httpx.MockTransport(server),
    )


@pytest.mark.parametrize(
    "location",
    [
        "https://GHE.EXAMPLE/api/v3/../../storage/x",
        "https://ghe.example:443/api/v3/%2e%2e/%2e%2e/storage/x",
        "HTTPS://Ghe.Example:443/api/v3/%2E%2e/%2e%2E/storage/x",
        "https://ghe.example/api/v3//%2e%2e//%2e%2e//storage/x",
        "https://ghe.example/api/v3/x\\..\\..\\..\\storage/x",
        "/api/v3/%2e%2e%2f%2e%2e%2fstorage/x",
        "//ghe.example:443/api/v3/%2e%2e/%2e%2e/storage/x",
        "https://ghe.example./api/v3/repos/o/r/x",  # another spelling of the host: no token either
        "http://ghe.example/api/v3/storage-like/asset",  # plain http: never the token
        "https://objects.example/blob?sig=1",  # the usual storage host: followed, without the token
    ],
)
def test_https_redirect_spellings_carry_no_token_off_the_api(tmp_path, location):
    server = Ghe(location=location)
    c = mock_client(server)
    sha, size = c.download_asset(Asset(1, "a-1.0.tar.gz", len(BYTES), ASSET_URL), tmp_path / "a.tar.gz")
    assert size == len(BYTES) and (tmp_path / "a.tar.gz").read_bytes() == BYTES
    assert server.token_off_the_api() == []
    assert server.seen[0][2] == f"Bearer {TOKEN}" and server.seen[-1][2] == ""


@pytest.mark.parametrize(
    "location", ["https://GHE.EXAMPLE:443/api/v3/storage-like/asset", "https://ghe.example/api/v3/x/../storage-like/asset"]
)
def test_https_redirect_to_the_api_itself_keeps_the_token(tmp_path, location):
    server = Ghe(location=location)
    mock_client(server).download_asset(Asset(1, "a-1.0.tar.gz", len(BYTES), ASSET_URL), tmp_path / "a.tar.gz")
    assert [auth for _route, _where, auth in server.seen] == [f"Bearer {TOKEN}"] * 2


@pytest.mark.parametrize(
    "link",
    [
        "https://GHE.EXAMPLE/api/v3/../../storage/x?page=2",
        "https://ghe.example:443/api/v3/%2e%2e/%2e%2e/storage/x?page=2",
        "https://ghe.example/api/v3/%2E%2e/%2e%2E/storage/x?page=2",
        "https://ghe.example/api/v3//repos/o/r/releases/1/assets?page=2",
        "https://ghe.example/api/v3/repos\\o\\r/releases/1/assets?page=2",
        "https://user@ghe.example/api/v3/repos/o/r/releases/1/assets?page=2",
        "https://ghe.example:8443/api/v3/repos/o/r/releases/1/assets?page=2",
        "http://ghe.example/api/v3/repos/o/r/releases/1/assets?page=2",
        "https://evil.example/api/v3/repos/o/r/releases/1/assets?page=2",
    ],
)
def test_https_pagination_link_spellings_are_refused(link):
    server = Ghe(next_link=link)
    with pytest.raises(GitHubError, match="pagination link leaves the API host or path"):
        mock_client(server).release_assets("o/r", 1)
    assert len(server.seen) == 1 and server.token_off_the_api() == []


@pytest.mark.parametrize(
    "link",
    [
        "https://GHE.EXAMPLE/api/v3/repos/o/r/releases/1/assets?page=2",
        "https://ghe.example:443/api/v3/repos/o/r/releases/1/assets?page=2",
        "/api/v3/repos/o/r/releases/1/assets?page=2",
    ],
)
def test_https_pagination_link_spellings_of_the_api_are_followed(link):
    server = Ghe(next_link=link)
    assets = mock_client(server).release_assets("o/r", 1)
    assert [a.name for a in assets] == ["a-1.tar.gz", "a-2.tar.gz"]
    assert [auth for _route, _where, auth in server.seen] == [f"Bearer {TOKEN}"] * 2


@pytest.mark.parametrize(
    "url, is_api",
    [
        (f"{API}/repos/o/r", True),
        ("https://GHE.EXAMPLE:443/api/v3/repos/o/r", True),
        ("https://ghe.example/api/v3/repos/o/r/releases/tags/v1%25", True),  # a tag with a literal %
        ("https://ghe.example/api/v3/repos/o/r/git/ref/tags/a%2Fb", True),  # a tag with a slash
        ("https://ghe.example/api/v3/x/../repos/o/r", True),  # httpx sends /api/v3/repos/o/r
        ("https://ghe.example/api/v3/../../storage/x", False),
        ("https://ghe.example/api/v3/%252e%252e/%252e%252e/storage/x", False),  # a double-decoding server
        ("https://ghe.example/api/v3/%2e%2e/storage", False),
        ("https://ghe.example/api/v3/.%2e/storage", False),
        ("https://ghe.example/api/v3/%2e/repos", False),
        ("https://ghe.example/api/v3/repos/o/r/", False),
        ("https://ghe.example/api/v3/repos/o/r%00", False),
        ("https://ghe.example/api/v3/repos/o/r%0a", False),
        ("https://ghe.example/api/v30/repos", False),
        ("https://ghe.example/API/V3/repos", False),
        ("https://ghe.example/storage/x", False),
        ("https://xn--ghe-example/api/v3/repos", False),
        ("https://ghe.example:444/api/v3/repos", False),
        ("https://:@ghe.example/api/v3/repos", False),
        ("not a url at all", False),
    ],
)
def test_is_api_url_decisions(url, is_api):
    c = GitHubClient(GitHubConfig(api_url=API, web_url="https://ghe.example", token=TOKEN))
    assert c.is_api_url(url) is is_api
