"""GitHub release assets as the store of distribution files (``[storage] kind = "github-release"``).

Layout (the design choices; the README's storage section says the same for users):

Published files
    One published GitHub release per release of a project, tag ``files-<normalized-name>-<version>``
    (:func:`pagesindex.stores.release_tag`; the version PEP 440-normalized, so it holds no ``-``),
    holding the distribution files under their exact filenames and each wheel's PEP 658 sidecar
    ``<filename>.metadata`` beside it. Users download
    ``<GITHUB_SERVER_URL>/<ORG>/<REPO>/releases/download/<tag>/<filename>``, which GitHub redirects
    to its storage host. One release per project release (not one per project) keeps every
    release under GitHub's 1,000 assets per release (a project with 40 versions of 25 wheels
    would pass it; one release of 499 wheels does not); a release that would pass it is refused
    with one line. The releases are created with ``make_latest: "false"``, so the repository's own
    "Latest" release stays what it was; only tags starting ``files-`` are ever read or deleted.

Names GitHub would rename
    "GitHub renames asset filenames that have special characters, non-alphanumeric characters, and
    leading or trailing periods" ("Upload a release asset"): ``+`` (a local version such as
    ``1.0+cu121``), ``!`` (an epoch), ``~``, spaces become ``.``. A renamed file would be served
    under another name than the record's, so such filenames are refused by ``add`` with one line
    naming the character: only ASCII letters, digits, ``-``, ``_`` and ``.`` (not first or last)
    are taken. (``file_url`` still percent-encodes each segment, so ``%2B`` would be the spelling.)

Staging (review before publication)
    GitHub cannot move an asset between releases, and a draft release, while not served to
    anonymous users, becomes public as a whole when published. Publishing the draft itself would
    make a file public as soon as it is added to an existing release, and two pull requests
    staging the same release would share one draft. So ``add`` uploads each file, by content, to
    a *staging draft*: the draft release with tag ``pagesindex-staging`` (one draft on the
    repository's Releases page; when it holds 1,000 assets another draft with the same tag is
    made, drafts having no tag yet), asset name ``<sha256>-<filename>`` (:func:`staged_asset_name`:
    by content and name, as the s3 store's staging keys ``<sha256>/<filename>``, so two pull
    requests staging different bytes under one filename never collide, and ``staged()`` /
    ``unstage()`` name the same ``(sha256, filename)`` pairs for every store).
    ``pagesindex publish`` (after the merge) downloads each staged asset through the API (its
    ``digest`` checked) and uploads it to the published release under its filename: the bytes go
    through the runner twice, and nothing is ever public before the merge. Staged assets stay
    until ``pagesindex storage cleanup`` deletes those no state names (a pull request closed
    without merging), or ``publish`` those of a removed release; an emptied draft stays too (the
    next staging reuses it, and deleting it could race a change staging into it).

Idempotence and immutability
    ``publish`` answers "unchanged" when the published asset's ``digest`` (``sha256:<hex>``, or the
    bytes read when GitHub gives none) is the recorded one, and raises
    :class:`~pagesindex.errors.FileConflict` when the name holds other bytes; an upload whose
    returned digest differs is deleted again. An asset left in state ``starter`` by a failed
    upload ("it can be safely deleted") is deleted and uploaded again.

Hosts and token
    The API is ``GITHUB_API_URL`` (default ``https://api.github.com``), the web host
    ``GITHUB_SERVER_URL`` (default ``https://github.com``), the uploads host derived from the API
    (``uploads.github.com`` for ``api.github.com``, ``uploads.<x>`` for ``api.<x>``, ``/api/uploads``
    beside ``/api/v3`` on GitHub Enterprise Server) or ``PAGESINDEX_GITHUB_UPLOADS_URL``. The token
    (``PAGESINDEX_RELEASES_TOKEN``, else ``GITHUB_TOKEN`` or ``GH_TOKEN``; staging, publishing,
    listing drafts and deleting need ``contents: write``) is sent only to URLs under the
    API or uploads base URL, judged as :meth:`pagesindex.github_api.GitHubClient.is_api_url`
    judges them; never to the storage host that downloads redirect to. Retries and rate limits are
    those of that client (:mod:`pagesindex.github_api`, which the GitHub release source uses too).

Endpoints (GitHub REST API 2022-11-28, "Releases" and "Release assets"): List releases, Get a
release by tag name, Create a release, Delete a release, List release assets, Get a release asset
(``application/octet-stream``), Upload a release asset, Delete a release asset.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import httpx

from ..errors import FileConflict, InvalidDistribution, PagesIndexError
from ..github_api import (
    JSON_ACCEPT,
    Asset,
    GitHubClient,
    GitHubConfig,
    GitHubConfigError,
    GitHubError,
    _public_url,
)
from . import MAX_ASSET_BYTES, RELEASE_TAG_PREFIX, StagedFile, StorageConfig, Store, release_tag

#: The store's own token, used instead of ``GITHUB_TOKEN`` / ``GH_TOKEN`` when set: the workflows
#: pass the job's ``github.token`` here (``contents: write`` on the index's repository), since
#: ``GITHUB_TOKEN`` may hold a token that only reads the projects' repositories.
TOKEN_VARIABLE = "PAGESINDEX_RELEASES_TOKEN"
#: Tag of the staging drafts (never created as a git tag: drafts stay drafts).
STAGING_TAG = "pagesindex-staging"
#: Most assets GitHub takes in one release.
MAX_ASSETS_PER_RELEASE = 1000
#: Asset names GitHub keeps as they are (see the module docstring).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*[A-Za-z0-9_-]$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: A staged asset's name: ``<sha256>-<filename>`` (any other asset of a staging draft is not the index's).
_STAGED_NAME = re.compile(r"^([0-9a-f]{64})-([A-Za-z0-9_-][A-Za-z0-9._-]*)$")


def staged_asset_name(sha256: str, filename: str) -> str:
    """The name of a staged asset in the staging draft: ``<sha256 hex>-<filename>``.

    >>> staged_asset_name("0" * 64, "foo-1.0.tar.gz") == "0" * 64 + "-foo-1.0.tar.gz"
    True
    """
    return f"{sha256}-{filename}"


def _epoch(value: Any) -> Optional[float]:
    """Seconds since the epoch of a GitHub timestamp (``2026-11-30T00:00:00Z``), None when it is not one."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def check_asset_name(filename: str) -> None:
    """Refuse a filename that GitHub would rename on upload (anything but ASCII letters, digits,
    ``-``, ``_`` and ``.``, or a ``.`` first or last), with one line naming the character.
    Raises :class:`~pagesindex.errors.InvalidDistribution`.

    >>> check_asset_name("foo-1.0-py3-none-any.whl")
    >>> check_asset_name("foo-1.0+cu12-py3-none-any.whl")
    Traceback (most recent call last):
    ...
    pagesindex.errors.InvalidDistribution: cannot store 'foo-1.0+cu12-py3-none-any.whl' as a GitHub release asset: GitHub renames asset names with '+' (a local version), so the file would be served under another name; use storage.kind 's3' or 'git' for it
    """
    if _SAFE_NAME.match(filename):
        return
    bad = next((c for c in filename if not (c.isascii() and (c.isalnum() or c in "._-"))), ".")
    why = {"+": " (a local version)", "!": " (an epoch)"}.get(bad, "")
    where = f"{bad!r}{why}" if bad != "." else "a leading or trailing '.'"
    raise InvalidDistribution(
        f"cannot store {filename!r} as a GitHub release asset: GitHub renames asset names with {where}, "
        "so the file would be served under another name; use storage.kind 's3' or 'git' for it"
    )


def uploads_base_url(api_url: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The uploads host of a GitHub API base URL ("Upload a release asset" takes the bytes there):
    ``PAGESINDEX_GITHUB_UPLOADS_URL`` when set, else ``https://uploads.github.com`` for
    ``https://api.github.com``, ``uploads.<x>`` for ``api.<x>`` (GHE.com), ``<origin>/api/uploads``
    for a GitHub Enterprise Server API ``<origin>/api/v3``. Raises
    :class:`~pagesindex.github_api.GitHubConfigError` when none applies.

    >>> uploads_base_url("https://ghe.example.org/api/v3", {})
    'https://ghe.example.org/api/uploads'
    """
    env = os.environ if environ is None else environ
    explicit = env.get("PAGESINDEX_GITHUB_UPLOADS_URL")
    if explicit:
        parts = httpx.URL(explicit)
        loopback = parts.scheme == "http" and parts.host in ("127.0.0.1", "localhost", "::1")
        if (parts.scheme != "https" and not loopback) or not parts.host or parts.userinfo or parts.query:
            raise GitHubConfigError(f"invalid PAGESINDEX_GITHUB_UPLOADS_URL: {explicit!r} (expected https://HOST[/PATH])")
        return explicit.rstrip("/")
    api = httpx.URL(api_url)
    origin = f"{api.scheme}://{api.netloc.decode('ascii')}"
    if api.raw_path.rstrip(b"/") == b"/api/v3":
        return origin + "/api/uploads"
    if api.host.startswith("api.") and api.raw_path in (b"", b"/"):
        return f"{api.scheme}://uploads.{api.netloc.decode('ascii')[4:]}"
    raise GitHubConfigError(
        f"cannot tell the uploads host of GITHUB_API_URL {api_url!r}: set PAGESINDEX_GITHUB_UPLOADS_URL"
    )


class GitHubWriteClient(GitHubClient):
    """:class:`~pagesindex.github_api.GitHubClient` that also writes: :meth:`send` does
    POST / PATCH / DELETE with the same retries, and sends the token to the uploads base URL
    too (judged with the same strictness as the API's)."""

    def __init__(self, config: GitHubConfig, uploads_url: str, **kwargs: Any):
        super().__init__(config, **kwargs)
        self.uploads_url = uploads_url.rstrip("/")
        # Only its URL judgement is used (is_api_url on the uploads base); it sends nothing.
        self._uploads = GitHubClient(GitHubConfig(api_url=self.uploads_url, web_url=config.web_url))
        self._uploads.close()

    def is_token_url(self, url: Any) -> bool:
        """Whether the token may go to ``url``: under the API or the uploads base URL."""
        return self.is_api_url(url) or self._uploads.is_api_url(url)

    def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Optional[dict] = None,
        data: Optional[bytes] = None,
        path: Optional[Path] = None,
        content_type: Optional[str] = None,
        what: str = "",
    ) -> Tuple[httpx.Response, Any]:
        """Send ``method`` to ``url`` (absolute) with a JSON body, bytes, or a file's bytes
        (``Content-Length`` set, read again on each retry). Transient failures are retried as GETs
        are; returns ``(response, decoded JSON or None)`` for any other status. Raises
        :class:`~pagesindex.github_api.GitHubError` (one line) after the last retry."""
        import json

        attempts = self.retries + 1
        what = what or f"{method} {_public_url(url)}"
        for attempt in range(attempts):
            target = httpx.URL(url)
            headers = self._headers(target, JSON_ACCEPT)
            kwargs: Dict[str, Any] = {}
            if json_body is not None:
                kwargs["content"] = json.dumps(json_body).encode()
                headers["Content-Type"] = "application/json"
            elif data is not None or path is not None:
                headers["Content-Type"] = content_type or "application/octet-stream"
            self.requests_sent += 1
            try:
                if path is not None:
                    headers["Content-Length"] = str(path.stat().st_size)
                    with open(path, "rb") as fh:
                        chunks = iter(lambda: fh.read(1024 * 1024), b"")
                        resp = self._http.request(method, target, headers=headers, content=chunks)
                else:
                    if data is not None:
                        kwargs["content"] = data
                    resp = self._http.request(method, target, headers=headers, **kwargs)
                body = resp.content
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise GitHubError(f"{what}: {type(exc).__name__} ({exc}) after {attempts} attempts") from None
                self.sleep(min(self.backoff * (2 ** attempt), self.max_wait))
                continue
            wait = self._wait_for(resp, attempt, body)
            if wait is None:
                try:
                    decoded = json.loads(body) if body else None
                except ValueError:
                    decoded = None
                return resp, decoded
            reason = "rate limited" if resp.status_code in (403, 429) else f"HTTP {resp.status_code}"
            if wait > self.max_wait:
                raise GitHubError(
                    f"{what}: {reason}; GitHub asks to wait {wait:.0f} s, more than the bound of {self.max_wait:.0f} s; try again later"
                )
            if attempt + 1 >= attempts:
                raise GitHubError(f"{what}: {reason} after {attempts} attempts; try again later")
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def _error_codes(decoded: Any) -> List[str]:
    errors = decoded.get("errors") if isinstance(decoded, dict) else None
    return [str(e.get("code")) for e in errors or [] if isinstance(e, dict)]


def _sha256_of(item: dict) -> Optional[str]:
    algo, _, value = str(item.get("digest") or "").partition(":")
    return value if algo == "sha256" and _HEX64.match(value) else None


class GitHubReleaseStore(Store):
    """The ``github-release`` store of one index (see the module docstring for the layout and
    :class:`~pagesindex.stores.Store` for the methods). Keys are ``<tag>/<asset name>``.

    Raises :class:`~pagesindex.errors.PagesIndexError` (one line naming the repository, tag and
    file) for what the API refuses, a missing token for a write, or a limit passed.
    """

    def __init__(self, config: StorageConfig, client: Optional[GitHubWriteClient] = None,
                 environ: Optional[Mapping[str, str]] = None):
        self.config = config
        if client is None:
            gh = GitHubConfig.from_env(environ)
            token = (os.environ if environ is None else environ).get(TOKEN_VARIABLE, "")
            if token:
                if any(c.isspace() for c in token):
                    raise GitHubConfigError(f"{TOKEN_VARIABLE} contains whitespace; it must be the token alone")
                gh = dataclasses.replace(gh, token=token)
            client = GitHubWriteClient(gh, uploads_base_url(gh.api_url, environ))
        self.client = client
        org, repo = config.repository.split("/")
        self._repo_path = GitHubClient._repo_path(f"{org}/{repo}")
        self._releases: Optional[List[dict]] = None  # every release (drafts with a token), read once
        self._by_tag: Dict[str, Optional[dict]] = {}  # published releases by tag
        self._assets: Dict[int, List[dict]] = {}  # assets by release id
        self._complete: set = set()  # release ids whose assets were listed in full
        self._tags_loaded = False

    # -- helpers --------------------------------------------------------------------------
    def _where(self, tag: str, name: str) -> str:
        return f"{self.config.public_url}{tag}/{name}"

    def _api(self, path: str) -> str:
        return f"{self.client.config.api_url}{self._repo_path}{path}"

    def _need_token(self, doing: str) -> None:
        if not self.client.config.token:
            raise PagesIndexError(
                f"github-release store: {doing} in {self.config.repository} needs a token with contents: write "
                f"in {TOKEN_VARIABLE}, GITHUB_TOKEN or GH_TOKEN"
            )

    def _refused(self, resp: httpx.Response, decoded: Any, what: str) -> PagesIndexError:
        message = str(decoded.get("message", ""))[:200] if isinstance(decoded, dict) else ""
        detail = f" ({message})" if message else ""
        if resp.status_code == 401:
            return GitHubError(f"{what}: GitHub rejected the token (HTTP 401){detail}; check GITHUB_TOKEN / GH_TOKEN")
        if resp.status_code == 403:
            return GitHubError(f"{what}: HTTP 403{detail}; the token needs contents: write on {self.config.repository}")
        if resp.status_code == 404:
            return GitHubError(
                f"{what}: HTTP 404{detail}; no repository {self.config.repository}, or the token cannot write to it "
                "(it needs contents: write)"
            )
        return GitHubError(f"{what}: HTTP {resp.status_code}{detail}")

    def _all_releases(self) -> List[dict]:
        if self._releases is None:
            self._releases = list(self.client.paginate(f"{self._repo_path}/releases", what=f"releases of {self.config.repository}"))
        return self._releases

    def _published(self, tag: str) -> Optional[dict]:
        """The published release with ``tag``, from the listing of all releases (read once: one
        request per 100 releases, however many files are checked)."""
        if not self._tags_loaded:
            self._tags_loaded = True
            for release in self._all_releases():
                if not release.get("draft"):
                    self._by_tag.setdefault(str(release.get("tag_name")), release)
        return self._by_tag.get(tag)

    def _get_by_tag(self, tag: str) -> Optional[dict]:
        """"Get a release by tag name" (which returns published releases only)."""
        from urllib.parse import quote

        from ..github_api import GitHubNotFound

        try:
            found = self.client.get_json(f"{self._repo_path}/releases/tags/{quote(tag, safe='')}",
                                         what=f"release {tag} of {self.config.repository}")
        except GitHubNotFound:
            return None
        return found if isinstance(found, dict) and not found.get("draft") else None

    def _list_assets(self, release: dict, *, full: bool = False) -> List[dict]:
        """The assets of ``release``: those its JSON carries, or (``full``, or none carried) every
        page of "List release assets"."""
        rid = int(release["id"])
        if rid in self._assets and (not full or rid in self._complete):
            return self._assets[rid]
        if not full and isinstance(release.get("assets"), list):
            self._assets[rid] = [a for a in release["assets"] if isinstance(a, dict)]
            return self._assets[rid]
        self._assets[rid] = list(self.client.paginate(
            f"{self._repo_path}/releases/{rid}/assets", what=f"assets of release {release.get('tag_name')}"
        ))
        self._complete.add(rid)
        return self._assets[rid]

    def _find_asset(self, release: dict, name: str) -> Optional[dict]:
        """The asset ``name`` of ``release``; the full list is read when the release's JSON did
        not carry it (GitHub may not embed every asset)."""
        found = next((a for a in self._list_assets(release) if a.get("name") == name), None)
        if found is None and int(release["id"]) not in self._complete:
            found = next((a for a in self._list_assets(release, full=True) if a.get("name") == name), None)
        return found

    def _create_release(self, tag: str, *, draft: bool, name: str, body: str) -> Optional[dict]:
        """"Create a release"; None on 422 ``already_exists`` (a published release has the tag)."""
        self._need_token("creating a release")
        payload = {"tag_name": tag, "name": name, "body": body, "draft": draft, "make_latest": "false"}
        resp, decoded = self.client.send("POST", self._api("/releases"), json_body=payload,
                                         what=f"creating release {tag} in {self.config.repository}")
        if resp.status_code == 422 and "already_exists" in _error_codes(decoded):
            return None
        if resp.status_code != 201 or not isinstance(decoded, dict):
            raise self._refused(resp, decoded, f"creating release {tag} in {self.config.repository}")
        self._assets[int(decoded["id"])] = []
        self._complete.add(int(decoded["id"]))
        if self._releases is not None:
            self._releases.append(decoded)
        return decoded

    def _delete_asset(self, release: dict, asset: dict) -> None:
        self._need_token("deleting an asset")
        resp, decoded = self.client.send("DELETE", self._api(f"/releases/assets/{int(asset['id'])}"),
                                         what=f"deleting {self._where(release['tag_name'], asset['name'])}")
        if resp.status_code not in (204, 404):
            raise self._refused(resp, decoded, f"deleting {self._where(release['tag_name'], asset['name'])}")
        assets = self._assets.get(int(release["id"]))
        if assets is not None:
            assets[:] = [a for a in assets if a.get("id") != asset.get("id")]

    def _upload(self, release: dict, name: str, sha256: str, *, path: Optional[Path] = None,
                data: Optional[bytes] = None, content_type: str = "application/octet-stream") -> dict:
        """"Upload a release asset" ``name`` to ``release``; checks the returned digest (a
        mismatch deletes the asset again and raises FileConflict). A name conflict with an
        asset left by a failed upload deletes that one and uploads once more."""
        from urllib.parse import urlencode

        self._need_token("uploading")
        where = self._where(release["tag_name"], name)
        assets = self._list_assets(release)
        if len(assets) >= MAX_ASSETS_PER_RELEASE:
            raise PagesIndexError(
                f"{where}: release {release['tag_name']} already holds {len(assets)} assets, GitHub's limit per release"
            )
        url = f"{self.client.uploads_url}{self._repo_path}/releases/{int(release['id'])}/assets?{urlencode({'name': name})}"
        for _try in range(2):
            resp, decoded = self.client.send("POST", url, path=path, data=data, content_type=content_type,
                                             what=f"uploading {where}")
            if resp.status_code == 422 and "already_exists" in _error_codes(decoded) and _try == 0:
                # Uploaded meanwhile, or by an attempt whose answer was lost: read the list afresh.
                self._complete.discard(int(release["id"]))
                old = next((a for a in self._list_assets(release, full=True) if a.get("name") == name), None)
                if old is not None and old.get("state") != "uploaded":
                    self._delete_asset(release, old)  # left by a failed upload
                    continue
                if old is not None and self._asset_sha256(old, where) == sha256:
                    return old
                raise FileConflict(f"{where} already holds other bytes; a published file is never changed")
            break
        if resp.status_code != 201 or not isinstance(decoded, dict):
            raise self._refused(resp, decoded, f"uploading {where}")
        self._list_assets(release).append(decoded)
        if decoded.get("name") != name:  # renamed by GitHub: never serve a file under another name
            self._delete_asset(release, decoded)
            raise InvalidDistribution(f"{where}: GitHub renamed the asset to {str(decoded.get('name'))!r}; deleted it again")
        found = _sha256_of(decoded)
        if found is not None and found != sha256:
            self._delete_asset(release, decoded)
            raise FileConflict(f"{where}: GitHub holds sha256 {found[:12]}… after the upload, not the recorded "
                               f"{sha256[:12]}…; deleted it again, nothing published")
        return decoded

    def _asset_sha256(self, asset: dict, where: str) -> str:
        """The asset's sha256: its ``digest``, else the hash of its bytes (read through the API)."""
        found = _sha256_of(asset)
        if found is not None:
            return found
        with tempfile.TemporaryDirectory(prefix="pagesindex-asset-") as tmp:
            return self._download(asset, Path(tmp) / "asset", where)[0]

    def _download(self, asset: dict, dest: Path, where: str) -> Tuple[str, int]:
        item = Asset(id=int(asset["id"]), name=str(asset["name"]), size=int(asset.get("size") or 0),
                     url=self._api(f"/releases/assets/{int(asset['id'])}"), sha256=_sha256_of(asset))
        try:
            return self.client.download_asset(item, dest)
        except GitHubError as exc:
            raise GitHubError(f"{where}: {exc}") from None

    # -- staging ---------------------------------------------------------------------------
    def _staging_drafts(self) -> List[dict]:
        tag = STAGING_TAG
        return [r for r in self._all_releases() if r.get("draft") and r.get("tag_name") == tag]

    def _find_staged(self, sha256: str, filename: str) -> Optional[Tuple[dict, dict]]:
        name = staged_asset_name(sha256, filename)
        for draft in self._staging_drafts():
            asset = self._find_asset(draft, name)
            if asset is not None:
                return draft, asset
        return None

    def _stage(self, filename: str, sha256: str, *, path: Optional[Path] = None, data: Optional[bytes] = None) -> None:
        self._need_token("staging")
        found = self._find_staged(sha256, filename)
        if found is not None:
            draft, asset = found
            if asset.get("state") == "uploaded" and _sha256_of(asset) == sha256:
                return  # staged before (same content: the name holds the hash)
            self._delete_asset(draft, asset)
        drafts = [d for d in self._staging_drafts() if len(self._list_assets(d)) < MAX_ASSETS_PER_RELEASE]
        draft = drafts[0] if drafts else None
        if draft is None:
            tag = STAGING_TAG
            draft = self._create_release(
                tag, draft=True, name="pagesindex staging",
                body="Distribution files under review (pagesindex). Assets are named by their sha256; "
                "'pagesindex publish' copies them to their release after the merge.",
            )
            if draft is None:  # pragma: no cover - a published release with a staging tag
                raise PagesIndexError(f"{self.config.repository}: a published release has the staging tag {tag}; delete it")
        self._upload(draft, staged_asset_name(sha256, filename), sha256, path=path, data=data)

    def staged(self) -> List[StagedFile]:
        """Every asset of the staging drafts (tag ``pagesindex-staging``) named
        ``<sha256>-<filename>``, as :class:`~pagesindex.stores.StagedFile` (``modified``: the
        asset's ``updated_at``, else ``created_at``; the current time when GitHub gives neither,
        so such an asset never counts as old). The drafts' assets are read afresh, every page
        ("List release assets"; the releases as this store listed them); listing drafts needs a token that can push
        (GitHub lists them to nobody else), so without one this raises
        :class:`~pagesindex.errors.PagesIndexError`. An asset left by a failed upload (state
        ``starter``) is listed with size 0: it never counts as a staged file (no distribution
        file is empty), and cleanup deletes it when no state names it."""
        self._need_token("listing the staged files")
        found: List[StagedFile] = []
        for draft in self._staging_drafts():
            self._complete.discard(int(draft["id"]))  # its assets read afresh, every page
            for asset in self._list_assets(draft, full=True):
                m = _STAGED_NAME.match(str(asset.get("name") or ""))
                if not m:
                    continue
                modified = _epoch(asset.get("updated_at")) or _epoch(asset.get("created_at")) or time.time()
                size = int(asset.get("size") or 0) if asset.get("state") == "uploaded" else 0
                found.append(StagedFile(
                    where=f"{self.config.repository}: draft release {STAGING_TAG}, asset {m.group(0)}",
                    sha256=m.group(1), filename=m.group(2), size=size, modified=modified,
                ))
        return found

    def unstage(self, sha256: str, filename: str) -> None:
        """Delete the staged asset of ``filename`` with ``sha256`` from every staging draft that
        has it ("Delete a release asset"; nothing when there is none). The draft stays."""
        name = staged_asset_name(sha256, filename)
        for draft in self._staging_drafts():
            asset = self._find_asset(draft, name)
            if asset is not None:
                self._delete_asset(draft, asset)

    def accepts(self, filename: str, size: int) -> None:
        """Refuse, with one line, a filename GitHub would rename, one that is no wheel or sdist
        name (its release tag is derived from it), and a file of 2 GiB or more."""
        check_asset_name(filename)
        release_tag("x", filename)
        if size > MAX_ASSET_BYTES:
            raise PagesIndexError(f"{filename}: {size} bytes, GitHub release assets must be under 2 GiB")

    def accepts_all(self, files: "List[Tuple[str, str, int, bool]]") -> None:
        """:meth:`accepts` for each file, and at most :data:`MAX_ASSETS_PER_RELEASE` assets
        (files and sidecars) per release ``files-<name>-<version>``; raises
        :class:`~pagesindex.errors.PagesIndexError` naming the release."""
        per_release: Dict[str, int] = {}
        for project, filename, size, sidecar in files:
            self.accepts(filename, size)
            tag = release_tag(project, filename)
            per_release[tag] = per_release.get(tag, 0) + (2 if sidecar else 1)
        for tag, count in sorted(per_release.items()):
            if count > MAX_ASSETS_PER_RELEASE:
                raise PagesIndexError(
                    f"release {tag} would hold {count} assets (files and their .metadata), over GitHub's "
                    f"{MAX_ASSETS_PER_RELEASE} per release; use storage.kind 's3' for this index"
                )

    def stage(self, path: Any, filename: str, sha256: str, size: int) -> None:
        """Upload a file to a staging draft (asset name: its sha256), after :meth:`accepts`."""
        self.accepts(filename, size)
        self._stage(filename, sha256, path=Path(path))

    def stage_bytes(self, data: bytes, filename: str, sha256: str) -> None:
        check_asset_name(filename)
        self._stage(filename, sha256, data=data)

    # -- publication -------------------------------------------------------------------------
    def _release_for(self, project: str, filename: str) -> dict:
        tag = release_tag(project, filename)
        release = self._published(tag)
        if release is None:
            from ..inspect import parse_filename

            version = parse_filename(filename)[2]
            release = self._create_release(
                tag, draft=False, name=f"{project} {version}",
                body=f"Distribution files of {project} {version} for the package index (published by pagesindex; "
                "do not edit: installs check every file's sha256).",
            )
            if release is None:  # created meanwhile: read it
                release = self._get_by_tag(tag)
                if release is None:
                    raise PagesIndexError(f"{self.config.repository}: cannot create or read release {tag}")
            self._by_tag[tag] = release
        return release

    def _publish_one(self, release: dict, name: str, sha256: str) -> str:
        where = self._where(release["tag_name"], name)
        asset = self._find_asset(release, name)
        if asset is not None and asset.get("state") != "uploaded":
            self._delete_asset(release, asset)  # left by a failed upload
            asset = None
        if asset is not None:
            found = self._asset_sha256(asset, where)
            if found != sha256:
                raise FileConflict(
                    f"{where} already holds other bytes (sha256 {found[:12]}…, recorded {sha256[:12]}…); a published "
                    "file is never changed: remove that release, or delete the asset and publish again"
                )
            return "unchanged"
        staged = self._find_staged(sha256, name)
        if staged is None:
            raise PagesIndexError(f"{where}: staged file sha256 {sha256[:12]}… missing, cannot publish it "
                                  "(run 'pagesindex add' again with the file)")
        with tempfile.TemporaryDirectory(prefix="pagesindex-publish-") as tmp:
            dest = Path(tmp) / "file"
            found, _size = self._download(staged[1], dest, where)
            if found != sha256:
                raise FileConflict(f"{where}: staged bytes differ from the record (sha256 {found[:12]}…); "
                                   "nothing published: run 'pagesindex add' again with the file")
            content_type = "text/plain" if name.endswith(".metadata") else "application/octet-stream"
            self._upload(release, name, sha256, path=dest, content_type=content_type)
        return "published"

    def publish(self, project: str, filename: str, sha256: str, size: int, metadata_sha256: Optional[str] = None) -> str:
        """Publish a staged file into its release, its sidecar first when ``metadata_sha256`` is
        given (a client never sees a wheel without its ``.metadata``). Returns "published" or
        "unchanged" (the file's own result)."""
        check_asset_name(filename)
        if self._published(release_tag(project, filename)) is None:
            # A new release: every file must be staged before the release is made public.
            for name, digest in ((filename + ".metadata", metadata_sha256), (filename, sha256)):
                if digest and self._find_staged(digest, name) is None:
                    raise PagesIndexError(
                        f"{self._where(release_tag(project, filename), name)}: staged file sha256 {digest[:12]}… missing, "
                        "cannot publish it (run 'pagesindex add' again with the file)"
                    )
        release = self._release_for(project, filename)
        if metadata_sha256:
            self._publish_one(release, filename + ".metadata", metadata_sha256)
        return self._publish_one(release, filename, sha256)

    def public_keys(self) -> List[str]:
        """``<tag>/<asset name>`` of every asset of every published ``files-`` release (the
        releases listed afresh)."""
        self._releases = None
        self._assets.clear()
        self._complete.clear()
        self._by_tag.clear()
        self._tags_loaded = False
        keys = []
        for release in self._all_releases():
            tag = str(release.get("tag_name") or "")
            if release.get("draft") or not tag.startswith(RELEASE_TAG_PREFIX):
                continue
            self._by_tag[tag] = release
            keys.extend(f"{tag}/{a.get('name')}" for a in self._list_assets(release))
        return keys

    def unpublish(self, key: str) -> None:
        """Delete the published asset ``<tag>/<name>`` (only in a ``files-`` release), and the
        release when it has no asset left (its git tag stays)."""
        tag, _, name = key.partition("/")
        if not tag.startswith(RELEASE_TAG_PREFIX) or not name or "/" in name:
            raise PagesIndexError(f"refusing to delete {key!r} from {self.config.repository}: not a file of the index's releases")
        release = self._published(tag)
        if release is None:
            return
        asset = self._find_asset(release, name)
        if asset is not None:
            self._delete_asset(release, asset)
        if not self._list_assets(release):
            resp, decoded = self.client.send("DELETE", self._api(f"/releases/{int(release['id'])}"),
                                             what=f"deleting release {tag} of {self.config.repository}")
            if resp.status_code not in (204, 404):
                raise self._refused(resp, decoded, f"deleting release {tag} of {self.config.repository}")
            self._by_tag.pop(tag, None)
            if self._releases is not None:
                self._releases = [r for r in self._releases if r.get("id") != release.get("id")]

    # -- verification ------------------------------------------------------------------------
    def store_problems(self) -> List[str]:
        """The repository must be public: GitHub serves the assets of a private or internal
        repository to nobody without access, so pip and uv would get 404 for every file."""
        repository = self.client.repository(self.config.repository)
        if repository.is_public:
            return []
        return [
            f"{self.config.repository} is {repository.visibility}: its release assets answer 404 to anonymous downloads, "
            "so pip and uv cannot install from the index (make the repository public, or use storage.kind 's3')"
        ]

    def _check_key(self, tag: str, name: str, sha256: str, size: Optional[int]) -> Optional[str]:
        where = self._where(tag, name)
        release = self._published(tag)
        asset = None
        if release is not None:
            asset = self._find_asset(release, name)
        if asset is None or asset.get("state") != "uploaded":
            return f"{where}: missing from the store (run 'pagesindex publish')"
        found = self._asset_sha256(asset, where)
        if found != sha256 or (size is not None and int(asset.get("size") or 0) != size):
            return (
                f"{where}: size {asset.get('size')} / sha256 {found[:12]}… differ from the record "
                f"({size} / {sha256[:12]}…); installs of it fail: delete the asset and run 'pagesindex publish' "
                "(the staged copy is uploaded again), or remove that release"
            )
        return None

    def check(self, project: str, filename: str, sha256: str, size: int) -> Optional[str]:
        tag = release_tag(project, filename)
        return self._check_key(tag, filename, sha256, size)

    def check_bytes(self, key: str, sha256: str) -> Optional[str]:
        """None when asset ``<tag>/<name>`` exists with these bytes, else a problem (sidecars)."""
        tag, _, name = key.partition("/")
        problem = self._check_key(tag, name, sha256, None)
        if problem and "differ from the record" in problem:
            return f"{self._where(tag, name)}: differs from the recorded core-metadata hash (delete the asset and run 'pagesindex publish')"
        return problem


__all__ = ["GitHubReleaseStore", "GitHubWriteClient", "STAGING_TAG", "TOKEN_VARIABLE", "check_asset_name", "staged_asset_name", "uploads_base_url"]
