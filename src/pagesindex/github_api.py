"""A small GitHub REST API client (httpx): repositories, releases, assets, tags and READMEs.

It sits below both layers that talk to GitHub, the ``github-release`` store
(:mod:`pagesindex.stores.github_release`) and the release source (:mod:`pagesindex.sources.collect`),
and imports only :mod:`pagesindex.errors` and :mod:`pagesindex.inspect`.

Configuration comes from the environment, as in GitHub Actions, so GitHub Enterprise Server works:

``GITHUB_API_URL``
    base URL of the REST API (default ``https://api.github.com``; GHES: ``https://HOST/api/v3``).
``GITHUB_SERVER_URL``
    web URL of the GitHub host (default ``https://github.com``); repository URLs live under it.
``GITHUB_TOKEN`` / ``GH_TOKEN``
    token sent as ``Authorization: Bearer ...`` only to URLs under the API base URL, never
    elsewhere (asset downloads redirect to a storage host, or on GHES to a ``/storage/`` path of
    the same host, which gets no Authorization header). Whether a URL is under the API base URL
    is decided on the :class:`httpx.URL` actually sent (see :meth:`GitHubClient.is_api_url`), so
    no spelling of a redirect ``Location`` or a pagination ``Link`` (``/api/v3/../../storage``,
    ``%2e%2e``, a backslash, ``//``, ``user@``) carries the token off the API path. A variable
    that is set but empty is an error, since it usually means a secret that was not passed.

Endpoints used (GitHub REST API, version 2022-11-28):
"Get a repository" ``GET /repos/{owner}/{repo}``; "Get a release by tag name"
``GET /repos/{owner}/{repo}/releases/tags/{tag}`` (drafts are not returned, and are ignored if
they are); "List release assets" ``GET /repos/{owner}/{repo}/releases/{id}/assets`` (paginated
with ``Link: rel="next"``, "Using pagination in the REST API"); "Get a release asset" with
``Accept: application/octet-stream`` (answers 200 with the bytes or 302 to the storage host);
"Get a reference" ``GET /repos/{owner}/{repo}/git/ref/tags/{tag}``; "Get a repository README"
``GET /repos/{owner}/{repo}/readme?ref=TAG``.

Transient failures (HTTP 5xx, timeouts and connection errors, 429, and 403 with
``x-ratelimit-remaining: 0``) are retried with exponential backoff that honours ``retry-after``
(seconds) and ``x-ratelimit-reset`` (UTC epoch seconds), as "Rate limits for the REST API" asks;
a wait longer than the bound, or a failure after the last retry, raises :class:`GitHubError`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote, unquote, urlsplit

import httpx

from . import __version__
from .errors import PagesIndexError
from .inspect import check_filename

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
API_VERSION = "2022-11-28"
JSON_ACCEPT = "application/vnd.github+json"
OCTET_STREAM = "application/octet-stream"
#: Status codes that are retried (server errors and "too many requests").
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_ORG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class GitHubError(PagesIndexError):
    """A GitHub API request failed (after retries when the failure was transient)."""


class GitHubNotFound(GitHubError, LookupError):
    """A repository, release, tag or asset that the API says does not exist (HTTP 404)."""


class GitHubConfigError(PagesIndexError):
    """Bad GitHub settings in the environment (URL, empty token) or a bad repository URL."""


def _origin(url: str) -> Tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), f"{(parts.hostname or '').lower()}:{port}"


def _public_url(url: str) -> str:
    """A URL safe to print: no query string (signed storage URLs carry credentials there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True)
class GitHubConfig:
    """Where GitHub is and how to authenticate.

    ``api_url`` and ``web_url`` have no trailing slash; ``token`` is ``None`` for anonymous
    access (public repositories only).
    """

    api_url: str = DEFAULT_API_URL
    web_url: str = DEFAULT_SERVER_URL
    token: Optional[str] = None

    def __repr__(self) -> str:  # never show the token
        return f"GitHubConfig(api_url={self.api_url!r}, web_url={self.web_url!r}, token={'***' if self.token else None})"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "GitHubConfig":
        """Read ``GITHUB_API_URL``, ``GITHUB_SERVER_URL``, ``GITHUB_TOKEN`` then ``GH_TOKEN``.

        Raises :class:`GitHubConfigError` when a URL is not https (plain http is accepted only
        for a loopback host, as in tests), or when a token variable is set but empty.
        """
        env = os.environ if environ is None else environ
        api_url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        web_url = (env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")
        api = urlsplit(api_url)
        if api.scheme not in ("http", "https") or not api.hostname or api.username or api.query or api.fragment:
            raise GitHubConfigError(f"invalid GITHUB_API_URL: {api_url!r} (expected https://HOST[/PATH])")
        if api.scheme == "http" and api.hostname not in _LOOPBACK:
            raise GitHubConfigError(f"invalid GITHUB_API_URL: {api_url!r} (plain http is only accepted for 127.0.0.1)")
        web = urlsplit(web_url)
        if web.scheme not in ("http", "https") or not web.hostname or web.username or web.path not in ("", "/") or web.query:
            raise GitHubConfigError(f"invalid GITHUB_SERVER_URL: {web_url!r} (expected https://HOST)")
        if web.scheme == "http" and web.hostname not in _LOOPBACK:
            raise GitHubConfigError(f"invalid GITHUB_SERVER_URL: {web_url!r} (expected https://HOST; plain http only for 127.0.0.1)")
        token: Optional[str] = None
        for var in ("GITHUB_TOKEN", "GH_TOKEN"):
            if var in env:
                value = env[var]
                if not value.strip():
                    raise GitHubConfigError(
                        f"{var} is set but empty (a secret that was not passed?); unset it for anonymous access or give a token"
                    )
                if any(c.isspace() for c in value.strip()) or value != value.strip():
                    raise GitHubConfigError(f"{var} contains whitespace; it must be the token alone")
                token = value
                break
        return cls(api_url=api_url, web_url=web_url, token=token)

    def repository_from_url(self, url: str) -> str:
        """The ``ORG/REPO`` full name of a repository web URL, checked strictly.

        Accepts only ``https://<web host>/ORG/REPO`` (optionally ending in ``/`` or ``.git``),
        with no user, query or fragment; raises :class:`GitHubConfigError` naming the URL. (Plain
        ``http`` is accepted only when the configured web URL is itself a loopback http URL, as
        in tests.)

        >>> GitHubConfig().repository_from_url("https://github.com/tessgi/lightcurvedb")
        'tessgi/lightcurvedb'
        """
        bad = GitHubConfigError(
            f"invalid --homepage: {url!r} (expected {self.web_url}/ORG/REPO, the repository's https URL on the configured GitHub host)"
        )
        if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
            raise bad
        parts = urlsplit(url)
        if parts.scheme != urlsplit(self.web_url).scheme or parts.username or parts.password or parts.query or parts.fragment:
            raise bad
        if _origin(url) != _origin(self.web_url):
            raise bad
        path = parts.path
        if path.endswith("/"):
            path = path[:-1]
        if path.endswith(".git"):
            path = path[:-4]
        pieces = path.split("/")
        if len(pieces) != 3 or pieces[0] != "":
            raise bad
        org, repo = pieces[1], pieces[2]
        if not _ORG_RE.match(org) or not _REPO_RE.match(repo) or repo in (".", ".."):
            raise bad
        return f"{org}/{repo}"

    def web_repository_url(self, full_name: str) -> str:
        return f"{self.web_url}/{full_name}"


@dataclass(frozen=True)
class Repository:
    """What "Get a repository" says: ``full_name`` ORG/REPO, ``html_url`` (web URL),
    ``clone_url`` (what ``git clone`` takes), ``visibility`` ("public", "private" or "internal")."""

    full_name: str
    html_url: str
    clone_url: str
    visibility: str
    default_branch: str = "main"

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"


@dataclass(frozen=True)
class GitHubRelease:
    """A published release: its ``id``, ``tag_name`` and web ``html_url``."""

    id: int
    tag_name: str
    html_url: str
    prerelease: bool = False


@dataclass(frozen=True)
class Asset:
    """A release asset: ``url`` is its API URL (download with ``Accept: application/octet-stream``);
    ``sha256`` is the hex digest from the API's ``digest`` field (``"sha256:..."``) or ``None``."""

    id: int
    name: str
    size: int
    url: str
    sha256: Optional[str] = None


def _parse_retry_after(value: str, now: float) -> Optional[float]:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


class GitHubClient:
    """GitHub REST client with retries; use as a context manager or call :meth:`close`.

    ``sleep`` (default :func:`time.sleep`) and ``clock`` (default :func:`time.time`) are
    injectable so tests do not wait. ``retries`` is how many times a transient failure is
    retried; ``max_wait`` (seconds) bounds each wait: a ``retry-after`` or rate-limit reset
    further away fails at once with a :class:`GitHubError` that says when to try again.
    ``backoff`` (seconds) is the first wait when the response gives none; it doubles each time,
    up to ``max_wait``. ``timeout`` is in seconds; ``per_page`` is the page size of list calls.
    """

    def __init__(
        self,
        config: GitHubConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        retries: int = 4,
        max_wait: float = 300.0,
        backoff: float = 1.0,
        timeout: float = 60.0,
        per_page: int = 100,
        transport: Optional[httpx.BaseTransport] = None,
    ):
        self.config = config
        self.sleep = sleep
        self.clock = clock
        self.retries = max(0, int(retries))
        self.max_wait = max_wait
        self.backoff = backoff
        self.per_page = per_page
        api = httpx.URL(config.api_url)
        self._api_origin = (api.scheme, api.raw_host.lower(), api.port or _DEFAULT_PORTS.get(api.scheme))
        self._api_path = unquote(api.raw_path.split(b"?", 1)[0].decode("ascii")).rstrip("/")
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": f"pagesindex/{__version__}"},
        )
        #: Number of HTTP requests sent (for the maintainer's summary and tests).
        self.requests_sent = 0

    def __enter__(self) -> "GitHubClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- transport ------------------------------------------------------------------------
    def is_api_url(self, url: Union[str, httpx.URL]) -> bool:
        """Whether ``url`` is under the API base URL, the only place the token may go.

        ``url`` is judged as the :class:`httpx.URL` that would be sent (httpx has already
        resolved plain ``.``/``..`` segments there), and must then have: no user information;
        the API's scheme, host (case-insensitive, IDNA form) and port (a default port written
        out or not); a path that, percent-decoded once, holds no ``%XX`` escape (nothing
        left for a second round of decoding), no backslash, no control character or space, no empty, ``.``
        or ``..`` segment (also with ``;parameters``, as some servers read them), and starts
        with the API's path prefix (``/api/v3`` on GitHub Enterprise Server, whose asset
        storage is ``/storage/`` of the same host). Anything a server could read as another
        path is thus not the API. Returns ``False`` for a URL httpx cannot parse.
        """
        try:
            target = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return False
        if target.userinfo:
            return False
        scheme = target.scheme
        origin = (scheme, target.raw_host.lower(), target.port or _DEFAULT_PORTS.get(scheme))
        if origin != self._api_origin:
            return False
        raw = target.raw_path.split(b"?", 1)[0]
        try:
            path = unquote(raw.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            return False
        if _PERCENT_ESCAPE.search(path) or "\\" in path or any(ord(c) <= 32 or ord(c) == 127 for c in path):
            return False
        segments = path.split("/")
        if segments[0] != "" or any(seg.split(";", 1)[0] in ("", ".", "..") for seg in segments[1:]):
            return False
        prefix = self._api_path
        return not prefix or path == prefix or path.startswith(prefix + "/")

    def is_token_url(self, url: Any) -> bool:
        """Whether the token (and the API version header) may go to ``url``: :meth:`is_api_url`
        here; a client that also talks to another GitHub host (uploads) widens it."""
        return self.is_api_url(url)

    def _headers(self, url: httpx.URL, accept: str) -> Dict[str, str]:
        headers = {"Accept": accept}
        if self.is_token_url(url):
            headers["X-GitHub-Api-Version"] = API_VERSION
            if self.config.token:
                headers["Authorization"] = f"Bearer {self.config.token}"
        return headers

    def _attempt(self, url: str, accept: str, params: Optional[dict], dest: Optional[Path]) -> Tuple[httpx.Response, bytes]:
        self.requests_sent += 1
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params(params)
        # The headers are chosen for the very URL object that is sent, after httpx's own parsing.
        with self._http.stream("GET", target, headers=self._headers(target, accept)) as resp:
            if dest is not None and resp.status_code == 200:
                with open(dest, "wb") as fh:
                    for chunk in resp.iter_bytes(1024 * 1024):
                        fh.write(chunk)
                return resp, b""
            return resp, resp.read()

    def _wait_for(self, resp: httpx.Response, attempt: int, body: bytes = b"") -> Optional[float]:
        """Seconds to wait before retrying ``resp``, or ``None`` when it is not transient.

        A secondary rate limit without ``retry-after`` waits one minute, as GitHub's
        "Rate limits for the REST API" page asks.
        """
        status = resp.status_code
        headers = resp.headers
        rate_limited = headers.get("x-ratelimit-remaining") == "0"
        secondary = status in (403, 429) and b"secondary rate limit" in body[:2000].lower()
        if status not in RETRY_STATUSES and not (status == 403 and (rate_limited or secondary or "retry-after" in headers)):
            return None
        now = self.clock()
        if "retry-after" in headers:
            wait = _parse_retry_after(headers["retry-after"], now)
            if wait is not None:
                return wait
        if rate_limited and headers.get("x-ratelimit-reset", "").isdigit():
            return max(0.0, float(headers["x-ratelimit-reset"]) - now)
        if secondary:
            return 60.0
        return min(self.backoff * (2 ** attempt), self.max_wait)

    def _get(
        self,
        url: str,
        *,
        accept: str = JSON_ACCEPT,
        params: Optional[dict] = None,
        dest: Optional[Path] = None,
    ) -> Tuple[httpx.Response, bytes]:
        """GET with retries; returns the final response (any status that is not transient)."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                resp, body = self._attempt(url, accept, params, dest)
            except httpx.TransportError as exc:  # timeouts, refused or reset connections
                if attempt + 1 >= attempts:
                    raise GitHubError(
                        f"GET {_public_url(url)}: {type(exc).__name__} ({exc}) after {attempts} attempts"
                    ) from None
                self.sleep(min(self.backoff * (2 ** attempt), self.max_wait))
                continue
            wait = self._wait_for(resp, attempt, body)
            if wait is None:
                return resp, body
            what = "rate limited" if resp.status_code in (403, 429) else f"HTTP {resp.status_code}"
            if wait > self.max_wait:
                raise GitHubError(
                    f"GET {_public_url(url)}: {what}; GitHub asks to wait {wait:.0f} s, more than the bound of "
                    f"{self.max_wait:.0f} s; try again later"
                )
            if attempt + 1 >= attempts:
                raise GitHubError(f"GET {_public_url(url)}: {what} after {attempts} attempts; try again later")
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _fail(self, resp: httpx.Response, body: bytes, what: str) -> None:
        message = ""
        try:
            import json

            message = str(json.loads(body).get("message", ""))[:200]
        except (ValueError, AttributeError):
            pass
        detail = f" ({message})" if message else ""
        if resp.status_code == 404:
            raise GitHubNotFound(f"{what}: not found (HTTP 404){detail}")
        if resp.status_code == 401:
            raise GitHubError(f"{what}: GitHub rejected the token (HTTP 401){detail}; check GITHUB_TOKEN / GH_TOKEN")
        raise GitHubError(f"{what}: HTTP {resp.status_code}{detail}")

    def get_json(self, path: str, *, params: Optional[dict] = None, what: Optional[str] = None):
        """GET ``path`` (relative to the API URL) and return the decoded JSON.

        Raises :class:`GitHubNotFound` on 404 and :class:`GitHubError` on other failures.
        """
        url = self.config.api_url + path
        resp, body = self._get(url, params=params)
        if resp.status_code != 200:
            self._fail(resp, body, what or f"GET {path}")
        try:
            import json

            return json.loads(body)
        except ValueError:
            raise GitHubError(f"{what or path}: the API answered with invalid JSON") from None

    def paginate(self, path: str, *, what: Optional[str] = None) -> Iterator[dict]:
        """Yield the items of a list endpoint, following ``Link: <...>; rel="next"`` on the API host.

        Asks for ``per_page`` items a page (the client's setting, 100 by default, GitHub's maximum).
        """
        url: Optional[str] = self.config.api_url + path
        params: Optional[dict] = {"per_page": self.per_page}
        pages = 0
        while url:
            resp, body = self._get(url, params=params)
            if resp.status_code != 200:
                self._fail(resp, body, what or f"GET {path}")
            import json

            try:
                items = json.loads(body)
            except ValueError:
                raise GitHubError(f"{what or path}: the API answered with invalid JSON") from None
            if not isinstance(items, list):
                raise GitHubError(f"{what or path}: expected a list from the API")
            yield from items
            pages += 1
            nxt = resp.links.get("next", {}).get("url")
            if nxt:
                try:
                    nxt = str(httpx.URL(url).join(nxt))
                except (httpx.InvalidURL, ValueError):
                    raise GitHubError(f"{what or path}: invalid pagination link {nxt[:200]!r}") from None
                if not self.is_api_url(nxt):
                    raise GitHubError(f"{what or path}: pagination link leaves the API host or path: {_public_url(nxt)!r}")
                if pages >= 1000:
                    raise GitHubError(f"{what or path}: more than 1000 pages")
            url, params = nxt, None

    # -- endpoints ------------------------------------------------------------------------
    @staticmethod
    def _repo_path(full_name: str) -> str:
        org, repo = full_name.split("/")
        return f"/repos/{quote(org, safe='')}/{quote(repo, safe='')}"

    def repository(self, full_name: str) -> Repository:
        """"Get a repository". Raises :class:`GitHubNotFound` when it is absent or invisible."""
        try:
            data = self.get_json(self._repo_path(full_name), what=f"repository {full_name}")
        except GitHubNotFound:
            hint = "" if self.config.token else "; a private repository needs GITHUB_TOKEN or GH_TOKEN"
            raise GitHubNotFound(
                f"repository {full_name!r} not found on {self.config.api_url}{hint}"
            ) from None
        visibility = data.get("visibility") or ("private" if data.get("private") else "public")
        if visibility not in ("public", "private", "internal"):
            raise GitHubError(f"repository {full_name}: unknown visibility {visibility!r}")
        if data.get("private") and visibility == "public":
            visibility = "private"
        return Repository(
            full_name=str(data.get("full_name") or full_name),
            html_url=str(data.get("html_url") or self.config.web_repository_url(full_name)),
            clone_url=str(data.get("clone_url") or self.config.web_repository_url(full_name) + ".git"),
            visibility=visibility,
            default_branch=str(data.get("default_branch") or "main"),
        )

    def release_by_tag(self, full_name: str, tag: str) -> Optional[GitHubRelease]:
        """"Get a release by tag name"; ``None`` when there is none, or it is a draft."""
        path = f"{self._repo_path(full_name)}/releases/tags/{quote(tag, safe='')}"
        try:
            data = self.get_json(path, what=f"release {tag} of {full_name}")
        except GitHubNotFound:
            return None
        if data.get("draft"):
            return None
        return GitHubRelease(
            id=int(data["id"]),
            tag_name=str(data.get("tag_name") or tag),
            html_url=str(data.get("html_url") or ""),
            prerelease=bool(data.get("prerelease")),
        )

    def tag_exists(self, full_name: str, tag: str) -> bool:
        """"Get a reference" ``refs/tags/<tag>``: whether the tag exists."""
        path = f"{self._repo_path(full_name)}/git/ref/tags/{quote(tag, safe='')}"
        try:
            data = self.get_json(path, what=f"tag {tag} of {full_name}")
        except GitHubNotFound:
            return False
        return isinstance(data, dict) and data.get("ref") == f"refs/tags/{tag}"

    def release_assets(self, full_name: str, release_id: int) -> List[Asset]:
        """"List release assets", every page."""
        out = []
        for item in self.paginate(
            f"{self._repo_path(full_name)}/releases/{int(release_id)}/assets", what=f"assets of release {release_id}"
        ):
            digest = item.get("digest") or None
            sha256 = None
            if digest:
                algo, _, value = str(digest).partition(":")
                if algo == "sha256" and re.fullmatch(r"[0-9a-f]{64}", value):
                    sha256 = value
            out.append(
                Asset(
                    id=int(item["id"]),
                    name=str(item["name"]),
                    size=int(item.get("size") or 0),
                    url=str(item.get("url") or f"{self.config.api_url}{self._repo_path(full_name)}/releases/assets/{item['id']}"),
                    sha256=sha256,
                )
            )
        return out

    def download_asset(self, asset: Asset, dest: Path, *, max_redirects: int = 5) -> Tuple[str, int]:
        """Download an asset's bytes to ``dest`` (``Accept: application/octet-stream``).

        Follows redirects itself, sending the token only to the API host. Checks the size and,
        when the API gave one, the sha256 ``digest``. Returns ``(sha256 hex, size)``; raises
        :class:`GitHubError` on a failure or mismatch (``dest`` is removed then).
        """
        check_filename(asset.name)
        if not self.is_api_url(asset.url):
            raise GitHubError(f"asset {asset.name}: its API URL {_public_url(asset.url)!r} is not on the API host")
        url = asset.url
        try:
            for _hop in range(max_redirects + 1):
                resp, body = self._get(url, accept=OCTET_STREAM, dest=dest)
                if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                    # Resolved as httpx resolves it; the next request's headers are judged on the
                    # URL it sends (is_api_url): a storage path, however spelt, gets no token.
                    try:
                        target = httpx.URL(url).join(resp.headers["location"])
                    except (httpx.InvalidURL, ValueError):
                        raise GitHubError(f"asset {asset.name}: redirect to an invalid URL") from None
                    if target.scheme not in ("http", "https"):
                        raise GitHubError(f"asset {asset.name}: redirect to a non-http URL")
                    if target.userinfo:
                        raise GitHubError(f"asset {asset.name}: redirect to a URL with user information")
                    url = str(target)
                    continue
                if resp.status_code != 200:
                    self._fail(resp, body, f"download of asset {asset.name} from {_public_url(url)}")
                break
            else:
                raise GitHubError(f"asset {asset.name}: more than {max_redirects} redirects")
            digest = hashlib.sha256()
            size = 0
            with open(dest, "rb") as fh:
                for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                    digest.update(chunk)
                    size += len(chunk)
            sha256 = digest.hexdigest()
            if asset.size and size != asset.size:
                raise GitHubError(f"asset {asset.name}: downloaded {size} bytes, the API says {asset.size}")
            if asset.sha256 and sha256 != asset.sha256:
                raise GitHubError(
                    f"asset {asset.name}: sha256 {sha256} of the downloaded bytes differs from the API's digest sha256:{asset.sha256}"
                )
            return sha256, size
        except BaseException:
            try:
                Path(dest).unlink()
            except OSError:
                pass
            raise

    def attestations(self, full_name: str, sha256: str) -> List[bytes]:
        """"List attestations" of a repository for a subject digest
        (``GET /repos/{owner}/{repo}/attestations/sha256:{digest}``,
        https://docs.github.com/en/rest/repos/attestations): the Sigstore bundles, each as JSON
        bytes; empty when there are none (HTTP 404). Raises :class:`GitHubError` on other failures."""
        import json

        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            raise GitHubError(f"attestations of {full_name}: invalid sha256 {sha256!r}")
        path = f"{self._repo_path(full_name)}/attestations/sha256:{sha256}"
        try:
            data = self.get_json(path, what=f"attestations of sha256:{sha256[:12]}… in {full_name}")
        except GitHubNotFound:
            return []
        items = data.get("attestations") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise GitHubError(f"attestations of {full_name}: expected a list of attestations from the API")
        return [json.dumps(item["bundle"]).encode() for item in items[:100]
                if isinstance(item, dict) and isinstance(item.get("bundle"), dict)]

    def readme(self, full_name: str, ref: str) -> Optional[Tuple[str, str]]:
        """"Get a repository README" at ``ref``: ``(file name, text)``, or ``None`` when absent."""
        try:
            data = self.get_json(
                f"{self._repo_path(full_name)}/readme", params={"ref": ref}, what=f"README of {full_name}@{ref}"
            )
        except GitHubNotFound:
            return None
        if data.get("encoding") != "base64" or not isinstance(data.get("content"), str):
            return None
        try:
            raw = base64.b64decode(data["content"])
            return str(data.get("name") or "README"), raw.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None


def tag_candidates(version: str) -> List[str]:
    """Tags to try for a VERSION given by a maintainer: as given, then with and without ``v``.

    >>> tag_candidates("1.2.3")
    ['1.2.3', 'v1.2.3']
    >>> tag_candidates("v3.0.0-beta.1")
    ['v3.0.0-beta.1', '3.0.0-beta.1']
    """
    out = [version]
    if version[:1] in ("v", "V"):
        out.append(version[1:])
    else:
        out.append("v" + version)
    return out


__all__ = [
    "Asset",
    "GitHubClient",
    "GitHubConfig",
    "GitHubConfigError",
    "GitHubError",
    "GitHubNotFound",
    "GitHubRelease",
    "Repository",
    "tag_candidates",
]
