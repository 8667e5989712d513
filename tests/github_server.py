"""A local stand-in for the GitHub REST API (and its asset storage host), for tests.

:class:`FakeGitHub` runs three (or four) HTTP servers on 127.0.0.1 (any free port), each in a thread:

* the **API host** (``fake.api_url``; use it as ``GITHUB_API_URL``), answering the endpoints
  below with the shapes and status codes of the GitHub REST API docs (version 2022-11-28);
* the **storage host** (``fake.storage_url``), where asset downloads are redirected (302), as
  GitHub does to its object storage. It rejects (400) any request carrying an ``Authorization``
  header, as the real storage does, so a client that leaks the token there fails;
* the **uploads host** (``fake.uploads_url``), where release assets are uploaded, as GitHub's
  ``uploads.github.com`` (the ``upload_url`` of a release points there);
* with ``serve_web=True``, the **web host** (``fake.web_url`` becomes ``http://127.0.0.1:PORT``),
  serving ``/{o}/{r}/releases/download/{tag}/{name}`` (a release's ``browser_download_url``):
  302 to the storage host for an asset of a published release of a public repository, 404 for
  anything else (drafts included), with or without a token.

``fake.web_url`` (default ``https://github.example``; use it as ``GITHUB_SERVER_URL``) is only a
name: repository ``html_url`` values live under it, nothing is served there. ``fake.env()`` gives
the three environment variables for a subprocess.

Endpoints (``{o}/{r}`` is case-insensitive, as on GitHub):

``GET /repos/{o}/{r}``                         Get a repository (``visibility``, ``private``, ``clone_url``)
``GET /repos/{o}/{r}/releases``                List releases (paginated; drafts only with the token)
``GET /repos/{o}/{r}/releases/{id}``           Get a release
``GET /repos/{o}/{r}/releases/tags/{tag}``     Get a release by tag name (404 for drafts)
``GET /repos/{o}/{r}/releases/{id}/assets``    List release assets (paginated)
``GET /repos/{o}/{r}/releases/assets/{id}``    Get a release asset: JSON, or with
                                               ``Accept: application/octet-stream`` a 302 to storage
``GET /repos/{o}/{r}/git/ref/tags/{tag}``      Get a reference (404 when the tag does not exist)
``GET /repos/{o}/{r}/tags``                    List repository tags (paginated)
``GET /repos/{o}/{r}/pulls``                   List pull requests (paginated; none: no pull request is open)
``GET /repos/{o}/{r}/readme[?ref=TAG]``        Get a repository README (base64 ``content``)

Writes (GitHub REST API, "Releases" and "Release assets"; a token is required: 401 "Requires
authentication" without one, 403 "Resource not accessible by integration" with
``can_push=False``, as a ``GITHUB_TOKEN`` without ``contents: write`` gets):

``POST /repos/{o}/{r}/releases``               Create a release: 201; 422 ``already_exists`` (field
                                               ``tag_name``) when a published release has the tag
``PATCH /repos/{o}/{r}/releases/{id}``         Update a release (``draft: false`` publishes it): 200
``DELETE /repos/{o}/{r}/releases/{id}``        Delete a release: 204 (the tag stays)
``DELETE /repos/{o}/{r}/releases/assets/{id}`` Delete a release asset: 204
``POST {uploads}/repos/{o}/{r}/releases/{id}/assets?name=NAME``  Upload a release asset: the raw
                                               bytes with ``Content-Type`` (400 without) and
                                               ``Content-Length`` (411 without); 201 with the asset
                                               (``digest: "sha256:<hex>"``); 422 ``already_exists``
                                               (field ``name``) on a name the release has; the name
                                               renamed as GitHub does (:func:`github_asset_name`);
                                               at most ``fake.max_assets`` (1000) per release

Drafts: listed only to a token, 404 by tag (``releases/tags/{tag}`` returns published releases
only), 404 to anonymous asset requests and on the web host. ``fake.repo(name)`` gives a
repository to inspect or change (``releases``, each with ``assets``: ``data``, ``digest``, ``state``).

Pagination follows "Using pagination in the REST API": ``per_page`` (default
``fake.default_per_page`` = 30, at most 100) and ``page``, with a ``Link`` header carrying
``rel="next"``, ``"last"``, ``"first"``, ``"prev"`` as absolute URLs. Every API response carries
``x-ratelimit-limit/-remaining/-used/-reset/-resource`` headers.

Authentication: ``FakeGitHub(token="...")`` makes that the only valid token (``Authorization:
Bearer`` or ``token``). A wrong token gets 401 ``Bad credentials``; a private or internal
repository is 404 without a valid token (GitHub hides it); with no ``token`` set, any request may
see everything.

Faults, for retry tests: ``fake.fail(times, status, headers=..., path=..., server=..., delay=...)``
makes the next ``times`` matching requests answer ``status`` (after ``delay`` seconds, to provoke
client timeouts); helpers :meth:`FakeGitHub.rate_limit`
(403 with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``), :meth:`FakeGitHub.too_many`
(429 with ``Retry-After``), :meth:`FakeGitHub.server_error` (5xx) and
:meth:`FakeGitHub.upstream_failure` (an upload answering 502 after leaving a ``starter`` asset).

``FakeGitHub(ghes=True)`` lays the hosts out as GitHub Enterprise Server does: the API under
``http://127.0.0.1:PORT/api/v3`` and the storage on the same host under ``/storage/`` (still
refusing an Authorization header), so a client must keep the token to the API's path.

Paths are read as a lenient front server reads them (:func:`server_path`): percent-decoded,
``\\`` taken as ``/``, empty, ``.`` and ``..`` segments (also with ``;parameters``) resolved. So
``/api/v3/%2e%2e/%2e%2e/storage/...`` reaches the storage, as it would behind many proxies.

Hostile spellings, for the client's redirect and pagination checks: ``fake.asset_redirect`` (a
``str.format`` template) replaces the ``Location`` of asset downloads, and ``fake.next_link`` the
URL of ``rel="next"``. Fields: ``{origin}`` (``http://127.0.0.1:PORT``), ``{api}`` (the API base
URL), ``{storage}`` (the storage base URL), ``{blob}`` (``blobs/ID/NAME?sig=...``, the storage
path of the asset; redirects only), ``{port}``, ``{path}`` and ``{query}`` (the next page's
path and query below the API URL; links only).

Every request is recorded in ``fake.requests`` (:class:`Recorded`: server, method, path relative
to that server's base URL, query, lower-cased headers), so tests can assert where the token went.

Example::

    with FakeGitHub(token="t0k") as gh:
        repo = gh.add_repo("kavli/lightcurvedb", visibility="private", readme=("README.md", "# LCDB"))
        repo.add_release("v1.0.0", {"lightcurvedb-1.0.0-py3-none-any.whl": wheel_path})
        env = gh.env()          # GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_TOKEN
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

_ids = itertools.count(1000)


def server_path(raw: str) -> str:
    r"""``raw`` (a request path, no query) as a lenient server routes it: percent-decoded once,
    ``\`` as ``/``, empty and ``.`` segments dropped, ``..`` removing the segment before it
    (segments compared without their ``;parameters``); a trailing ``/`` kept.

    >>> server_path("/api/v3/%2e%2e/%2E%2e//storage\\x")
    '/storage/x'
    """
    path = unquote(raw).replace("\\", "/")
    out: List[str] = []
    for segment in path.split("/"):
        base = segment.split(";", 1)[0]
        if base in ("", "."):
            continue
        if base == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out) + ("/" if out and path.endswith("/") else "")
def github_asset_name(name: str) -> str:
    """The name GitHub gives an uploaded asset: "GitHub renames asset filenames that have special
    characters, non-alphanumeric characters, and leading or trailing periods" ("Upload a release
    asset"). As observed (issues of release-upload actions): each character other than ASCII
    letters, digits, ``-``, ``_`` and ``.`` becomes ``.`` (``+``, ``~``, ``:``, spaces,
    parentheses), and a leading ``.`` gets ``default`` before it.

    >>> github_asset_name("foo-1.0+cu12-py3-none-any.whl")
    'foo-1.0.cu12-py3-none-any.whl'
    """
    out = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "." for c in name)
    if out.startswith("."):
        out = "default" + out
    return out


NOW = "2026-11-30T00:00:00Z"


@dataclass
class Recorded:
    """One request the fake got: ``server`` is ``"api"``, ``"uploads"``, ``"web"`` or ``"storage"``;
    ``body`` holds the request body (uploads, JSON of writes)."""

    server: str
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]
    body: bytes = b""

    @property
    def authorization(self) -> Optional[str]:
        return self.headers.get("authorization")


@dataclass
class FakeAsset:
    id: int
    name: str
    data: bytes
    digest: Optional[str]
    content_type: str = "application/octet-stream"
    #: "uploaded", or "starter" for an upload that failed upstream (GitHub leaves those behind).
    state: str = "uploaded"
    #: ``created_at`` / ``updated_at`` of the asset (ISO 8601, UTC).
    created_at: str = NOW


@dataclass
class FakeRelease:
    id: int
    tag_name: str
    draft: bool = False
    prerelease: bool = False
    assets: List[FakeAsset] = field(default_factory=list)
    name: Optional[str] = None
    body: str = ""


@dataclass
class FakeRepo:
    """A repository on the fake: add releases, tags and READMEs to it."""

    owner: "FakeGitHub"
    full_name: str
    visibility: str = "public"
    clone_url: Optional[str] = None
    default_branch: str = "main"
    id: int = field(default_factory=lambda: next(_ids))
    releases: List[FakeRelease] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    readmes: Dict[Optional[str], Tuple[str, str]] = field(default_factory=dict)
    #: sha256 hex -> Sigstore bundles (JSON objects) served by the artifact attestations API.
    attestations: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)

    def add_attestation(self, sha256: str, bundle: Union[bytes, str, Dict[str, Any]]) -> None:
        """Serve ``bundle`` (a Sigstore bundle) at ``/repos/{repo}/attestations/sha256:{sha256}``."""
        if not isinstance(bundle, dict):
            bundle = json.loads(bundle)
        self.attestations.setdefault(sha256, []).append(bundle)

    def add_tag(self, tag: str) -> None:
        if tag not in self.tags:
            self.tags.append(tag)

    def set_readme(self, name: str, text: str, ref: Optional[str] = None) -> None:
        """README ``name`` with ``text`` at ``ref`` (``None``: at every ref without its own)."""
        self.readmes[ref] = (name, text)

    def add_release(
        self,
        tag: str,
        assets: Optional[Dict[str, Union[bytes, Path, str]]] = None,
        *,
        draft: bool = False,
        prerelease: bool = False,
        digests: bool = True,
        wrong_digest: Tuple[str, ...] = (),
    ) -> FakeRelease:
        """Add a release for ``tag`` (the tag is created too, unless it is a draft).

        ``assets`` maps asset names to bytes or to a file path. ``digests=False`` leaves the
        ``digest`` field null (older assets); names in ``wrong_digest`` get a digest that does
        not match their bytes.
        """
        release = FakeRelease(id=next(_ids), tag_name=tag, draft=draft, prerelease=prerelease)
        for name, content in (assets or {}).items():
            data = content if isinstance(content, bytes) else Path(content).read_bytes()
            digest = "sha256:" + hashlib.sha256(data).hexdigest() if digests else None
            if name in wrong_digest:
                digest = "sha256:" + hashlib.sha256(data + b"x").hexdigest()
            release.assets.append(FakeAsset(id=next(_ids), name=name, data=data, digest=digest))
        self.releases.append(release)
        if not draft:
            self.add_tag(tag)
        return release

    # -- JSON shapes ----------------------------------------------------------------------
    @property
    def html_url(self) -> str:
        return f"{self.owner.web_url}/{self.full_name}"

    def repo_json(self) -> Dict[str, Any]:
        org, name = self.full_name.split("/")
        api = f"{self.owner.api_url}/repos/{self.full_name}"
        return {
            "id": self.id,
            "node_id": f"R_{self.id}",
            "name": name,
            "full_name": self.full_name,
            "owner": {"login": org, "type": "Organization"},
            "private": self.visibility != "public",
            "visibility": self.visibility,
            "html_url": self.html_url,
            "url": api,
            "clone_url": self.clone_url or f"{self.html_url}.git",
            "git_url": f"git://{urlsplit(self.owner.web_url).netloc}/{self.full_name}.git",
            "default_branch": self.default_branch,
            "archived": False,
            "disabled": False,
        }

    def asset_json(self, asset: FakeAsset, release: FakeRelease) -> Dict[str, Any]:
        return {
            "url": f"{self.owner.api_url}/repos/{self.full_name}/releases/assets/{asset.id}",
            "browser_download_url": f"{self.html_url}/releases/download/{quote(release.tag_name)}/{quote(asset.name)}",
            "id": asset.id,
            "node_id": f"RA_{asset.id}",
            "name": asset.name,
            "label": "",
            "state": asset.state,
            "content_type": asset.content_type,
            "size": len(asset.data),
            "digest": asset.digest,
            "download_count": 0,
            "created_at": asset.created_at,
            "updated_at": asset.created_at,
            "uploader": {"login": "releaser"},
        }

    def release_json(self, release: FakeRelease) -> Dict[str, Any]:
        api = f"{self.owner.api_url}/repos/{self.full_name}/releases/{release.id}"
        return {
            "url": api,
            "html_url": f"{self.html_url}/releases/tag/{quote(release.tag_name)}",
            "assets_url": f"{api}/assets",
            "upload_url": f"{self.owner.uploads_url}/repos/{self.full_name}/releases/{release.id}/assets{{?name,label}}",
            "tarball_url": f"{self.owner.api_url}/repos/{self.full_name}/tarball/{quote(release.tag_name)}",
            "zipball_url": f"{self.owner.api_url}/repos/{self.full_name}/zipball/{quote(release.tag_name)}",
            "id": release.id,
            "node_id": f"RE_{release.id}",
            "tag_name": release.tag_name,
            "target_commitish": self.default_branch,
            "name": release.name if release.name is not None else release.tag_name,
            "body": release.body,
            "draft": release.draft,
            "prerelease": release.prerelease,
            "created_at": NOW,
            "published_at": None if release.draft else NOW,
            "author": {"login": "releaser"},
            "assets": [self.asset_json(a, release) for a in release.assets],
        }


@dataclass
class _Fault:
    server: str
    path: Optional[str]
    status: int
    headers: Dict[str, str]
    body: Dict[str, Any]
    remaining: int
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: "FakeGitHub", role: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.role = role


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        role, path = self.server.role, server_path(parts.path)
        if fake.ghes and role == "api":
            if path.startswith("/storage/"):
                role, path = "storage", path[len("/storage"):]
            elif path.startswith("/api/uploads/"):
                role, path = "uploads", path[len("/api/uploads"):]
            elif path.startswith("/api/v3/"):
                path = path[len("/api/v3"):]
            else:
                path = "/not-the-api" + path
        length = self.headers.get("Content-Length")
        body = b""
        if length is not None and length.isdigit():
            body = self.rfile.read(int(length))
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if not size:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
            length = None
        record = Recorded(
            server=role,
            method=method,
            path=path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with fake.lock:
            fake.requests.append(record)
            fault = fake._take_fault(record)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)  # longer than the client's timeout: it gives up first
            try:
                self._json(fault.status, fault.body, fault.headers)
            except OSError:
                pass
            return
        if record.server == "storage":
            if method != "GET":
                self._send(405, b"<Error><Code>MethodNotAllowed</Code></Error>", "application/xml")
                return
            self._storage(record)
        elif record.server == "web":
            fake._web(self, record)
        elif record.server == "uploads":
            with fake.lock:
                fake._upload(self, record, length)
        elif method == "GET":
            fake._api(self, record, parts.query)
        else:
            with fake.lock:
                fake._write(self, record)

    def _send(self, status: int, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any, headers: Optional[Dict[str, str]] = None) -> None:
        all_headers = dict(self.server.fake.rate_headers())
        all_headers.update(headers or {})
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8", all_headers)

    def _storage(self, record: Recorded) -> None:
        fake = self.server.fake
        if "authorization" in record.headers:
            body = (
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code>"
                b"<Message>Only one auth mechanism allowed</Message></Error>"
            )
            self._send(400, body, "application/xml")
            return
        pieces = record.path.strip("/").split("/")
        if len(pieces) != 3 or pieces[0] != "blobs" or record.query.get("sig") != [fake.signature]:
            self._send(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
            return
        asset = fake._asset_by_id(int(pieces[1])) if pieces[1].isdigit() else None
        if asset is None:
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return
        self._send(200, asset[1].data, "application/octet-stream",
                   {"Content-Disposition": f"attachment; filename={asset[1].name}"})


class FakeGitHub:
    """The fake GitHub API and storage hosts (see the module docstring for what they do)."""

    def __init__(
        self,
        *,
        token: Optional[str] = None,
        web_url: str = "https://github.example",
        default_per_page: int = 30,
        ghes: bool = False,
        serve_web: bool = False,
        can_push: bool = True,
    ):
        self.token = token
        self.ghes = ghes
        self.serve_web = serve_web
        #: Whether the token may write (False: writes answer 403 "Resource not accessible by integration",
        #: as for a GITHUB_TOKEN without ``contents: write``).
        self.can_push = can_push
        #: Most assets a release takes (GitHub: 1000).
        self.max_assets = 1000
        self.upstream_failures = 0
        self.web_url = web_url.rstrip("/")
        self.default_per_page = default_per_page
        self.repos: Dict[str, FakeRepo] = {}
        self.requests: List[Recorded] = []
        self.faults: List[_Fault] = []
        self.lock = threading.Lock()
        self.signature = hashlib.sha256(str(id(self)).encode()).hexdigest()[:16]
        self._servers: List[_Server] = []
        self._threads: List[threading.Thread] = []
        self.api_url = ""
        self.storage_url = ""
        self.uploads_url = ""
        self.origin = ""
        #: ``str.format`` templates for hostile spellings (see the module docstring).
        self.asset_redirect: Optional[str] = None
        self.next_link: Optional[str] = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "FakeGitHub":
        for role in ("api", "storage", "uploads") + (("web",) if self.serve_web else ()):
            server = _Server(self, role)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-github-{role}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self.api_url = f"http://127.0.0.1:{self._servers[0].server_address[1]}"
        self.origin = self.api_url
        self.storage_url = f"http://127.0.0.1:{self._servers[1].server_address[1]}"
        self.uploads_url = f"http://127.0.0.1:{self._servers[2].server_address[1]}"
        if self.serve_web:
            self.web_url = f"http://127.0.0.1:{self._servers[3].server_address[1]}"
        if self.ghes:
            self.storage_url = self.api_url + "/storage"
            self.uploads_url = self.api_url + "/api/uploads"
            self.api_url += "/api/v3"
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self, token: Optional[str] = "default") -> Dict[str, str]:
        """``GITHUB_API_URL``, ``GITHUB_SERVER_URL``, ``PAGESINDEX_GITHUB_UPLOADS_URL`` (the uploads
        host, which GitHub derives from the API host) and (unless ``token`` is None) ``GITHUB_TOKEN``."""
        env = {"GITHUB_API_URL": self.api_url, "GITHUB_SERVER_URL": self.web_url,
               "PAGESINDEX_GITHUB_UPLOADS_URL": self.uploads_url}
        token = self.token if token == "default" else token
        if token is not None:
            env["GITHUB_TOKEN"] = token
        return env

    # -- configuration ----------------------------------------------------------------------
    def add_repo(
        self,
        full_name: str,
        *,
        visibility: str = "public",
        clone_url: Optional[str] = None,
        readme: Optional[Tuple[str, str]] = None,
        default_branch: str = "main",
    ) -> FakeRepo:
        """Add repository ``ORG/REPO`` (``visibility``: public, private or internal)."""
        assert visibility in ("public", "private", "internal")
        repo = FakeRepo(owner=self, full_name=full_name, visibility=visibility, clone_url=clone_url, default_branch=default_branch)
        if readme is not None:
            repo.set_readme(*readme)
        self.repos[full_name.lower()] = repo
        return repo

    def fail(
        self,
        times: int,
        status: int,
        *,
        headers: Optional[Dict[str, str]] = None,
        path: Optional[str] = None,
        server: str = "api",
        message: str = "",
        delay: float = 0.0,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` requests to ``server`` whose path contains ``path`` with ``status``.

        ``delay`` (seconds) waits before answering, to make a client with a shorter timeout time out;
        ``body`` replaces the JSON error body (any JSON value).
        """
        if body is None:
            body = {"message": message or f"fake failure {status}", "documentation_url": "https://docs.github.com/rest"}
        self.faults.append(_Fault(server, path, status, dict(headers or {}), body, times, delay))

    def rate_limit(self, times: int = 1, *, reset_in: int = 0, path: Optional[str] = None, status: int = 403) -> None:
        """Primary rate limit exceeded: ``status`` with ``x-ratelimit-remaining: 0`` and a reset time."""
        reset = str(int(time.time()) + reset_in)
        self.fail(times, status, path=path, message="API rate limit exceeded",
                  headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
                           "x-ratelimit-reset": reset, "x-ratelimit-resource": "core"})

    def too_many(self, times: int = 1, *, retry_after: int = 0, path: Optional[str] = None) -> None:
        """Secondary rate limit: 429 with ``Retry-After`` seconds."""
        self.fail(times, 429, path=path, message="You have exceeded a secondary rate limit",
                  headers={"Retry-After": str(retry_after)})

    def upstream_failure(self, times: int = 1) -> None:
        """The next ``times`` uploads answer 502 after leaving an empty asset in state ``starter``
        ("Upload a release asset": "When an upstream failure occurs, you will receive a 502 Bad
        Gateway status. This may leave an empty asset with a state of starter.")."""
        self.upstream_failures += times

    def server_error(self, times: int = 1, *, status: int = 502, path: Optional[str] = None, server: str = "api") -> None:
        self.fail(times, status, path=path, server=server, message="Server Error")

    # -- queries for tests ------------------------------------------------------------------
    def api_requests(self) -> List[Recorded]:
        return [r for r in self.requests if r.server == "api"]

    def storage_requests(self) -> List[Recorded]:
        return [r for r in self.requests if r.server == "storage"]

    def repo(self, full_name: str) -> FakeRepo:
        return self.repos[full_name.lower()]

    # -- internals --------------------------------------------------------------------------
    def rate_headers(self) -> Dict[str, str]:
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-used": "1",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }

    def _take_fault(self, record: Recorded) -> Optional[_Fault]:
        for fault in self.faults:
            if fault.remaining > 0 and fault.server == record.server and (fault.path is None or fault.path in record.path):
                fault.remaining -= 1
                return fault
        return None

    def _asset_by_id(self, asset_id: int) -> Optional[Tuple[FakeRepo, FakeAsset, FakeRelease]]:
        for repo in self.repos.values():
            for release in repo.releases:
                for asset in release.assets:
                    if asset.id == asset_id:
                        return repo, asset, release
        return None

    def _auth(self, record: Recorded) -> Optional[bool]:
        """True: valid token; False: no token; None: a wrong token (401)."""
        header = record.authorization
        if header is None:
            return False
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not value:
            return None
        if self.token is None:
            return True
        return True if value == self.token else None

    def _page(self, handler: _Handler, record: Recorded, items: List[Any]) -> None:
        try:
            per_page = min(100, max(1, int(record.query.get("per_page", [self.default_per_page])[0])))
            page = max(1, int(record.query.get("page", ["1"])[0]))
        except ValueError:
            handler._json(422, {"message": "Validation Failed"})
            return
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def link(n: int, rel: str) -> str:
            query = urlencode({"per_page": per_page, "page": n})
            url = f"{self.api_url}{quote(record.path)}?{query}"
            if rel == "next" and self.next_link is not None:
                url = self.next_link.format(
                    origin=self.origin, api=self.api_url, storage=self.storage_url, port=self.origin.rsplit(":", 1)[1],
                    path=quote(record.path), query=query,
                )
            return f'<{url}>; rel="{rel}"'

        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
            links.append(link(page - 1, "prev"))
        handler._json(200, chunk, {"Link": ", ".join(links)} if links else None)

    # -- the releases write API, the uploads host and the web host ---------------------------
    def _write_denied(self, handler: _Handler, record: Recorded) -> bool:
        auth = self._auth(record)
        if auth is None:
            handler._json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
        elif not auth:
            handler._json(401, {"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest", "status": "401"})
        elif not self.can_push:
            handler._json(403, {"message": "Resource not accessible by integration", "status": "403"})
        else:
            return False
        return True

    @staticmethod
    def _validation(handler: _Handler, resource: str, field_name: str, code: str = "already_exists") -> None:
        handler._json(422, {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "code": code, "field": field_name}],
            "documentation_url": "https://docs.github.com/rest/releases",
            "status": "422",
        })

    def _write(self, handler: _Handler, record: Recorded) -> None:
        """POST, PATCH and DELETE on the API host (called with ``self.lock`` held)."""
        not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
        pieces = record.path.strip("/").split("/")
        repo = self.repos.get(f"{pieces[1]}/{pieces[2]}".lower()) if len(pieces) >= 3 and pieces[0] == "repos" else None
        if repo is None:
            handler._json(404, not_found)
            return
        if self._write_denied(handler, record):
            return
        rest = pieces[3:]
        try:
            data = json.loads(record.body or b"{}") if record.method != "DELETE" else {}
        except ValueError:
            handler._json(400, {"message": "Problems parsing JSON", "status": "400"})
            return
        if not isinstance(data, dict):
            handler._json(400, {"message": "Problems parsing JSON", "status": "400"})
            return

        def published_with(tag: str, other_than: Optional[FakeRelease] = None) -> bool:
            return any(r.tag_name == tag and not r.draft and r is not other_than for r in repo.releases)

        if record.method == "POST" and rest == ["releases"]:
            # "Create a release": 201; 422 when a published release has the tag already.
            tag = data.get("tag_name")
            if not isinstance(tag, str) or not tag:
                self._validation(handler, "Release", "tag_name", "missing_field")
                return
            draft = bool(data.get("draft", False))
            if published_with(tag):
                self._validation(handler, "Release", "tag_name")
                return
            release = FakeRelease(id=next(_ids), tag_name=tag, draft=draft, prerelease=bool(data.get("prerelease", False)),
                                  name=data.get("name"), body=str(data.get("body") or ""))
            repo.releases.append(release)
            if not draft:
                repo.add_tag(tag)
            handler._json(201, repo.release_json(release), {"Location": f"{self.api_url}/repos/{repo.full_name}/releases/{release.id}"})
            return
        if len(rest) == 2 and rest[0] == "releases" and rest[1].isdigit():
            release = next((r for r in repo.releases if r.id == int(rest[1])), None)
            if release is None:
                handler._json(404, not_found)
                return
            if record.method == "DELETE":  # "Delete a release": 204 (its tag stays)
                repo.releases.remove(release)
                handler._send(204, b"", "application/json")
                return
            if record.method == "PATCH":  # "Update a release" (draft: false publishes it)
                tag = data.get("tag_name", release.tag_name)
                draft = bool(data.get("draft", release.draft))
                if not draft and published_with(tag, release):
                    self._validation(handler, "Release", "tag_name")
                    return
                release.tag_name, release.draft = tag, draft
                for key in ("name", "body", "prerelease"):
                    if key in data:
                        setattr(release, key, data[key])
                if not draft:
                    repo.add_tag(tag)
                handler._json(200, repo.release_json(release))
                return
        if record.method == "DELETE" and len(rest) == 3 and rest[:2] == ["releases", "assets"] and rest[2].isdigit():
            found = self._asset_by_id(int(rest[2]))  # "Delete a release asset": 204
            if found is None or found[0] is not repo:
                handler._json(404, not_found)
                return
            found[2].assets.remove(found[1])
            handler._send(204, b"", "application/json")
            return
        handler._json(404, not_found)

    def _upload(self, handler: _Handler, record: Recorded, length: Optional[str]) -> None:
        """"Upload a release asset" on the uploads host (called with ``self.lock`` held):
        ``POST /repos/{o}/{r}/releases/{id}/assets?name=NAME[&label=]``, the raw bytes as the body
        with ``Content-Type`` and ``Content-Length``; 201 with the asset (``created_at`` /
        ``updated_at``: now), 422 ``already_exists`` when the release has an asset of that
        (renamed) name."""
        not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
        pieces = record.path.strip("/").split("/")
        if record.method != "POST" or len(pieces) != 6 or pieces[0] != "repos" or pieces[3] != "releases" \
                or not pieces[4].isdigit() or pieces[5] != "assets":
            handler._json(404, not_found)
            return
        repo = self.repos.get(f"{pieces[1]}/{pieces[2]}".lower())
        release = next((r for r in repo.releases if r.id == int(pieces[4])), None) if repo else None
        if repo is None:
            handler._json(404, not_found)
            return
        if self._write_denied(handler, record):
            return
        if release is None:
            handler._json(404, not_found)
            return
        if length is None:
            handler._json(411, {"message": "Content-Length required", "status": "411"})
            return
        if not record.headers.get("content-type"):
            handler._json(400, {"message": "Missing Content-Type header", "status": "400"})
            return
        name = record.query.get("name", [""])[0]
        if not name:
            self._validation(handler, "ReleaseAsset", "name", "missing_field")
            return
        name = github_asset_name(name)
        if any(a.name == name for a in release.assets):
            self._validation(handler, "ReleaseAsset", "name")
            return
        if len(release.assets) >= self.max_assets:
            handler._json(422, {"message": "Validation Failed", "errors": [
                {"resource": "ReleaseAsset", "code": "custom", "message": f"a release takes at most {self.max_assets} assets"}
            ], "status": "422"})
            return
        if self.upstream_failures > 0:
            self.upstream_failures -= 1
            release.assets.append(FakeAsset(id=next(_ids), name=name, data=b"", digest=None, state="starter"))
            handler._json(502, {"message": "Server Error", "status": "502"})
            return
        asset = FakeAsset(id=next(_ids), name=name, data=record.body,
                          digest="sha256:" + hashlib.sha256(record.body).hexdigest(),
                          content_type=record.headers["content-type"],
                          created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        release.assets.append(asset)
        handler._json(201, repo.asset_json(asset, release))

    def _web(self, handler: _Handler, record: Recorded) -> None:
        """The web host: ``GET /{o}/{r}/releases/download/{tag}/{name}`` redirects (302) to the
        storage host for an uploaded asset of a published release of a repository anyone may
        see; everything else (drafts included: they are untagged) is 404."""
        pieces = record.path.strip("/").split("/")
        with self.lock:
            repo = self.repos.get(f"{pieces[0]}/{pieces[1]}".lower()) if len(pieces) == 6 else None
            found = None
            if repo is not None and repo.visibility == "public" and pieces[2:4] == ["releases", "download"]:
                for release in repo.releases:
                    if release.tag_name == pieces[4] and not release.draft:
                        found = next((a for a in release.assets if a.name == pieces[5] and a.state == "uploaded"), None)
        if record.method != "GET" or found is None:
            handler._send(404, b"Not Found", "text/plain; charset=utf-8")
            return
        location = f"{self.storage_url}/blobs/{found.id}/{quote(found.name)}?sig={self.signature}&X-Amz-Expires=300"
        handler._send(302, b"", "text/html", {"Location": location})


    def _api(self, handler: _Handler, record: Recorded, raw_query: str) -> None:
        not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
        auth = self._auth(record)
        if auth is None:
            handler._json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
            return
        pieces = record.path.strip("/").split("/")
        if len(pieces) < 3 or pieces[0] != "repos":
            handler._json(404, not_found)
            return
        repo = self.repos.get(f"{pieces[1]}/{pieces[2]}".lower())
        if repo is None or (repo.visibility != "public" and self.token is not None and not auth):
            handler._json(404, not_found)
            return
        rest = pieces[3:]
        if not rest:
            handler._json(200, repo.repo_json())
            return
        can_see_drafts = (auth and self.can_push) or self.token is None  # drafts: push access only
        releases = [r for r in repo.releases if can_see_drafts or not r.draft]
        if rest == ["releases"]:
            self._page(handler, record, [repo.release_json(r) for r in reversed(releases)])
            return
        if len(rest) == 3 and rest[:2] == ["releases", "tags"]:
            for r in repo.releases:
                if r.tag_name == rest[2] and not r.draft:
                    handler._json(200, repo.release_json(r))
                    return
            handler._json(404, not_found)
            return
        if len(rest) == 3 and rest[:2] == ["releases", "assets"] and rest[2].isdigit():
            found = self._asset_by_id(int(rest[2]))
            if found is None or found[0] is not repo:
                handler._json(404, not_found)
                return
            _repo, asset, release = found
            if release.draft and not can_see_drafts:
                handler._json(404, not_found)
                return
            if "application/octet-stream" in record.headers.get("accept", ""):
                blob = f"blobs/{asset.id}/{quote(asset.name)}?sig={self.signature}&X-Amz-Expires=300"
                location = f"{self.storage_url}/{blob}"
                if self.asset_redirect is not None:
                    location = self.asset_redirect.format(
                        origin=self.origin, api=self.api_url, storage=self.storage_url, port=self.origin.rsplit(":", 1)[1],
                        blob=blob,
                    )
                handler._send(302, b"", "text/html", {"Location": location})
                return
            handler._json(200, repo.asset_json(asset, release))
            return
        if len(rest) >= 2 and rest[0] == "releases" and rest[1].isdigit():
            release = next((r for r in releases if r.id == int(rest[1])), None)
            if release is None:
                handler._json(404, not_found)
                return
            if len(rest) == 2:
                handler._json(200, repo.release_json(release))
                return
            if rest[2:] == ["assets"]:
                self._page(handler, record, [repo.asset_json(a, release) for a in release.assets])
                return
        if len(rest) >= 4 and rest[:3] == ["git", "ref", "tags"]:
            tag = "/".join(rest[3:])
            if tag in repo.tags:
                handler._json(200, {
                    "ref": f"refs/tags/{tag}",
                    "node_id": "REF_x",
                    "url": f"{self.api_url}/repos/{repo.full_name}/git/refs/tags/{quote(tag)}",
                    "object": {"type": "commit", "sha": hashlib.sha1(tag.encode()).hexdigest(), "url": ""},
                })
            else:
                handler._json(404, not_found)
            return
        if len(rest) == 2 and rest[0] == "attestations":
            # "List attestations" (https://docs.github.com/en/rest/repos/attestations): 404 when none.
            algo, _, digest = unquote(rest[1]).partition(":")
            bundles = repo.attestations.get(digest, []) if algo == "sha256" else []
            if not bundles:
                handler._json(404, not_found)
                return
            handler._json(200, {"attestations": [
                {"bundle": b, "repository_id": repo.id, "bundle_url": None} for b in bundles
            ]})
            return
        if rest == ["pulls"]:
            # "List pull requests" (?state=open): the stand-in's repositories have none open.
            self._page(handler, record, [])
            return
        if rest == ["tags"]:
            self._page(handler, record, [{"name": t, "commit": {"sha": hashlib.sha1(t.encode()).hexdigest()}} for t in reversed(repo.tags)])
            return
        if rest == ["readme"]:
            ref = record.query.get("ref", [None])[0]
            if ref is not None and ref not in repo.tags and ref != repo.default_branch:
                handler._json(404, {"message": f"No commit found for the ref {ref}", "status": "404"})
                return
            found_readme = repo.readmes.get(ref) or repo.readmes.get(None)
            if found_readme is None:
                handler._json(404, not_found)
                return
            name, text = found_readme
            handler._json(200, {
                "type": "file",
                "encoding": "base64",
                "size": len(text.encode()),
                "name": name,
                "path": name,
                "content": base64.encodebytes(text.encode()).decode(),
                "sha": hashlib.sha1(text.encode()).hexdigest(),
                "html_url": f"{repo.html_url}/blob/{ref or repo.default_branch}/{name}",
            })
            return
        handler._json(404, not_found)


__all__ = ["FakeGitHub", "FakeRepo", "FakeRelease", "Recorded", "github_asset_name", "server_path"]
