"""Where the bytes of distribution files live: the ``[storage]`` table of ``index.toml``.

Kinds:

``git`` (the default)
    files are committed under ``packages/<normalized-name>/<filename>`` and the build puts them
    into the site beside the pages (handled by :mod:`pagesindex.state` and the build, as before
    stores existed; no client is needed).
``s3``
    files live in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Ceph...): ``add`` stages
    them under a staging prefix that the bucket does not make public, ``pagesindex publish`` copies
    the staged files of the committed state to ``<prefix><normalized-name>/<filename>``, which
    users download from ``public-url`` (:mod:`pagesindex.stores.s3`).
``github-release``
    files are assets of GitHub releases of ``repository`` (default: the index's own,
    ``GITHUB_REPOSITORY`` in Actions): ``add`` uploads them to draft releases, which GitHub does
    not serve to anonymous users; ``pagesindex publish`` uploads each to the published release
    ``files-<normalized-name>-<version>``, which users download from
    ``<GITHUB_SERVER_URL>/<ORG>/<REPO>/releases/download/<tag>/<filename>``
    (:mod:`pagesindex.stores.github_release`).

Credentials are never read from ``index.toml``: boto3 takes them from the environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``) or the
standard AWS configuration files; the GitHub store takes ``PAGESINDEX_RELEASES_TOKEN``, else ``GITHUB_TOKEN`` or ``GH_TOKEN``. Every bad setting raises
:class:`~pagesindex.errors.IndexStateError` with one line naming the key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlsplit

from ..errors import IndexStateError
from ..model import normalize_name

KINDS = ("git", "github-release", "s3")
#: Keys each kind accepts in ``[storage]`` (besides ``kind``).
_KEYS = {
    "git": set(),
    "github-release": {"repository"},
    "s3": {"bucket", "prefix", "staging-prefix", "endpoint-url", "public-url", "region"},
}
#: Keys that would hold a secret: refused with a pointer to the environment.
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
#: S3 bucket names (AWS rules for new buckets: 3-63 of a-z 0-9 . -, starting and ending alphanumeric).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: A key prefix: path segments of safe characters, each ending in ``/``.
_PREFIX = re.compile(r"^(?:[A-Za-z0-9_.-]+/)*$")


#: Largest file an object store takes in one upload (S3 PutObject: 5 GiB), in bytes.
MAX_OBJECT_BYTES = 5 * 1024**3
#: Largest release asset: "Each file included in a release must be under 2 GiB" (GitHub Docs,
#: "About releases", storage and bandwidth quotas), in bytes.
MAX_ASSET_BYTES = 2 * 1024**3 - 1
#: Tag of the published release that holds the files of one release of a project:
#: ``files-<normalized-name>-<version>`` (the version as PEP 440 normalizes it, so it holds no ``-``).
RELEASE_TAG_PREFIX = "files-"
#: ``ORG/REPO`` as GitHub allows them (owner: 1-39 of letters, digits, '-'; repository: 1-100 of letters, digits, '.', '_', '-').
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class StorageConfig:
    """The parsed ``[storage]`` table. ``kind`` is one of :data:`KINDS`; the other fields are
    those of ``s3`` (``prefix`` and ``staging_prefix`` end in ``/``; ``public_url`` ends in ``/``),
    and for ``github-release`` ``repository`` (``ORG/REPO``) and ``public_url``
    (``<server>/<ORG>/<REPO>/releases/download/``)."""

    kind: str = "git"
    bucket: str = ""
    prefix: str = ""
    staging_prefix: str = ""
    endpoint_url: str = ""
    public_url: str = ""
    region: str = ""
    repository: str = ""

    @property
    def max_file_bytes(self) -> Optional[int]:
        """The per-file limit of this store: None with ``git`` (GitHub's, :mod:`pagesindex.limits`),
        :data:`MAX_ASSET_BYTES` with ``github-release``, :data:`MAX_OBJECT_BYTES` with ``s3`` (the
        site and git never hold the file)."""
        if self.kind == "github-release":
            return MAX_ASSET_BYTES
        return MAX_OBJECT_BYTES if self.is_object_store else None

    @property
    def is_object_store(self) -> bool:
        """True when the files live outside git and the site (every kind but ``git``)."""
        return self.kind != "git"

    def public_key(self, project: str, filename: str) -> str:
        """The object key a published file has: ``<prefix><normalized-name>/<filename>``; with
        ``github-release`` ``<tag>/<filename>``, the tag being :func:`release_tag`. Raises
        :class:`~pagesindex.errors.InvalidDistribution` (github-release) for a filename that does
        not parse as a wheel or sdist name."""
        if self.kind == "github-release":
            return f"{release_tag(project, filename)}/{filename}"
        return f"{self.prefix}{normalize_name(project)}/{filename}"

    def split_public_key(self, key: str) -> Optional["tuple[str, str]"]:
        """``(normalized name, asset or object name)`` of a public key (:meth:`public_key`, or its
        ``.metadata`` sidecar), or None when ``key`` has no shape the index publishes.

        >>> StorageConfig(kind="s3", prefix="files/").split_public_key("files/foo-bar/foo_bar-1.0.tar.gz")
        ('foo-bar', 'foo_bar-1.0.tar.gz')
        >>> StorageConfig(kind="github-release").split_public_key("files-foo-bar-1.0rc1/foo_bar-1.0rc1.tar.gz")
        ('foo-bar', 'foo_bar-1.0rc1.tar.gz')
        """
        if self.kind == "github-release":
            tag, _, filename = key.partition("/")
            name = tag[len(RELEASE_TAG_PREFIX):].rpartition("-")[0] if tag.startswith(RELEASE_TAG_PREFIX) else ""
        else:
            rel = key[len(self.prefix):] if key.startswith(self.prefix) else ""
            name, _, filename = rel.partition("/")
        if not name or name != normalize_name(name) or not filename or "/" in filename or filename.startswith("-"):
            return None
        return name, filename

    def staging_key(self, sha256: str, filename: str) -> str:
        """The object key of a staged file: ``<staging-prefix><sha256>/<filename>`` (by content,
        so two pull requests staging different bytes under one filename never collide)."""
        return f"{self.staging_prefix}{sha256}/{filename}"


def _url(value: Any, key: str, source: str, *, trailing_slash: bool) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or any(c in value for c in "\"'<> \\`$") or any(ord(c) < 33 or ord(c) == 127 for c in value)
    ):
        raise IndexStateError(
            f"{source}: storage.{key} must be an http:// or https:// URL without credentials, query or fragment, not {value!r}"
        )
    if trailing_slash and not value.endswith("/"):
        value += "/"
    return value


def _prefix(value: Any, key: str, source: str) -> str:
    if not isinstance(value, str):
        raise IndexStateError(f"{source}: storage.{key} must be a string such as 'files/', not {value!r}")
    if value and not value.endswith("/"):
        value += "/"
    if not _PREFIX.match(value) or any(seg in (".", "..") for seg in value.split("/")):
        raise IndexStateError(
            f"{source}: storage.{key} must be folder names of letters, digits, '_', '.', '-' separated by '/', not {value!r}"
        )
    return value


def release_tag(project: str, filename: str) -> str:
    """The tag of the GitHub release that holds a published distribution file:
    ``files-<normalized-name>-<version>``, the version parsed from the filename and normalized
    (PEP 440), so the files of one release of a project share one GitHub release (at most 1,000
    assets, sidecars included). Raises :class:`~pagesindex.errors.InvalidDistribution` for a
    filename that is no wheel or sdist name.

    >>> release_tag("Foo.Bar", "foo_bar-1.0.0rc1-py3-none-any.whl")
    'files-foo-bar-1.0.0rc1'
    """
    from ..inspect import parse_filename

    version = parse_filename(filename)[2]
    return f"{RELEASE_TAG_PREFIX}{normalize_name(project)}-{version}"


def _github_release(raw: dict, source: str, environ: Optional[Dict[str, str]]) -> StorageConfig:
    env = os.environ if environ is None else environ
    repository = raw.get("repository")
    if repository is None:
        repository = env.get("GITHUB_REPOSITORY", "")
        if not repository:
            raise IndexStateError(
                f"{source}: storage.repository is required with kind 'github-release' outside GitHub Actions "
                "(set it to 'ORG/REPO'; in Actions it defaults to GITHUB_REPOSITORY)"
            )
        what = "GITHUB_REPOSITORY"
    else:
        what = "storage.repository"
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise IndexStateError(f"{source}: {what} must be a GitHub repository 'ORG/REPO', not {repository!r}")
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    parts = urlsplit(server)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        (parts.scheme != "https" and not loopback) or not parts.hostname or parts.username or parts.password
        or parts.path not in ("", "/") or parts.query or parts.fragment
        or any(c in server for c in "\"'<> \\`$") or any(ord(c) < 33 or ord(c) == 127 for c in server)
    ):
        raise IndexStateError(f"{source}: GITHUB_SERVER_URL must be https://HOST for kind 'github-release', not {server!r}")
    org, repo = repository.split("/")
    return StorageConfig(
        kind="github-release",
        repository=repository,
        public_url=f"{server.rstrip('/')}/{quote(org, safe='')}/{quote(repo, safe='')}/releases/download/",
    )


def parse_storage(raw: Any, source: str = "index.toml", environ: Optional[Dict[str, str]] = None) -> StorageConfig:
    """Parse the ``[storage]`` table (``raw``: the parsed TOML table, or None when absent).

    Raises :class:`~pagesindex.errors.IndexStateError` naming the key: an unknown kind, an
    unknown key, a key that would hold a credential, a missing ``bucket`` or ``public-url`` (s3),
    a malformed value, or a staging prefix that overlaps the public prefix. With
    ``github-release``, ``repository`` defaults to ``GITHUB_REPOSITORY`` and the public URL's host
    is ``GITHUB_SERVER_URL`` (default ``https://github.com``), read from ``environ`` (default
    :data:`os.environ`); an error names the key or variable.
    """
    if raw is None:
        return StorageConfig()
    if not isinstance(raw, dict):
        raise IndexStateError(f"{source}: [storage] must be a table, not {raw!r}")
    kind = raw.get("kind", "git")
    if kind not in KINDS:
        raise IndexStateError(f"{source}: storage.kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    for key in raw:
        if key == "kind":
            continue
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            raise IndexStateError(
                f"{source}: storage.{key}: credentials are never read from index.toml "
                + (
                    "(set PAGESINDEX_RELEASES_TOKEN, GITHUB_TOKEN or GH_TOKEN in the environment)" if kind == "github-release"
                    else "(set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment)"
                )
            )
        if key not in _KEYS[kind]:
            allowed = ", ".join(sorted(_KEYS[kind])) or "none"
            raise IndexStateError(f"{source}: storage.{key} is not a setting of kind {kind!r} (settings: {allowed})")
    if kind == "git":
        return StorageConfig()
    if kind == "github-release":
        return _github_release(raw, source, environ)
    for key in ("bucket", "public-url"):
        if key not in raw:
            raise IndexStateError(f"{source}: storage.{key} is required with kind 's3'")
    bucket = raw["bucket"]
    if not isinstance(bucket, str) or not _BUCKET.match(bucket) or ".." in bucket:
        raise IndexStateError(f"{source}: storage.bucket must be an S3 bucket name (3-63 of a-z 0-9 . -), not {bucket!r}")
    prefix = _prefix(raw.get("prefix", "files/"), "prefix", source)
    staging = _prefix(raw.get("staging-prefix", "staging/"), "staging-prefix", source)
    if not prefix or not staging or prefix.startswith(staging) or staging.startswith(prefix):
        raise IndexStateError(
            f"{source}: storage.staging-prefix {staging!r} and storage.prefix {prefix!r} must be two separate, "
            "non-empty folders (staged files must not be under the public prefix)"
        )
    endpoint = raw.get("endpoint-url", "")
    endpoint = _url(endpoint, "endpoint-url", source, trailing_slash=False) if endpoint != "" else ""
    region = raw.get("region", "")
    if not isinstance(region, str) or not re.match(r"^[a-z0-9-]{0,40}$", region):
        raise IndexStateError(f"{source}: storage.region must be a region name such as 'us-east-1', not {region!r}")
    return StorageConfig(
        kind=kind,
        bucket=bucket,
        prefix=prefix,
        staging_prefix=staging,
        endpoint_url=endpoint,
        public_url=_url(raw["public-url"], "public-url", source, trailing_slash=True),
        region=region,
    )


def file_url(storage: StorageConfig, project: str, filename: str) -> str:
    """The URL of a distribution file as an API page links it (without the ``#sha256=`` fragment).

    ``git``: relative to the project page's folder, ``../packages/<normalized-name>/<filename>``.
    Object store: absolute, ``<public-url><normalized-name>/<filename>`` with each segment
    percent-encoded (``+`` as ``%2B``, RFC 3986), the public key's path under ``public-url``.
    The PEP 658 sidecar is at this URL + ``.metadata``.

    >>> file_url(StorageConfig(), "Foo_Bar", "foo_bar-1.0+local-py3-none-any.whl")
    '../packages/foo-bar/foo_bar-1.0+local-py3-none-any.whl'
    >>> s3 = StorageConfig(kind="s3", public_url="https://cdn.example.org/files/")
    >>> file_url(s3, "foo", "foo-1.0+local-py3-none-any.whl")
    'https://cdn.example.org/files/foo/foo-1.0%2Blocal-py3-none-any.whl'

    ``github-release``: ``<server>/<ORG>/<REPO>/releases/download/<tag>/<filename>`` (the URL
    that redirects to GitHub's storage host; :func:`release_tag`).

    >>> gh = StorageConfig(kind="github-release", public_url="https://github.com/lab/index/releases/download/")
    >>> file_url(gh, "Foo", "foo-1.0.tar.gz")
    'https://github.com/lab/index/releases/download/files-foo-1.0/foo-1.0.tar.gz'
    """
    name = normalize_name(project)
    if not storage.is_object_store:
        return f"../packages/{name}/{filename}"
    key = storage.public_key(name, filename)[len(storage.prefix):]
    return storage.public_url + "/".join(quote(segment, safe="") for segment in key.split("/"))


def open_store(storage: StorageConfig) -> Optional["Store"]:
    """The store client for ``storage``: None for ``git`` (files are in the repository), an
    :class:`~pagesindex.stores.s3.S3Store` for ``s3`` (boto3 imported only then), a
    :class:`~pagesindex.stores.github_release.GitHubReleaseStore` for ``github-release``."""
    if not storage.is_object_store:
        return None
    if storage.kind == "github-release":
        from .github_release import GitHubReleaseStore

        return GitHubReleaseStore(storage)
    from .s3 import S3Store

    return S3Store(storage)


class Store:
    """What an object store does with distribution files. Keys are computed by
    :class:`StorageConfig`; ``sha256`` is lower-case hex; sizes are bytes.

    - ``accepts(filename, size)``: raise a one-line error when the store cannot hold that file
      (called for every file of a change before any upload); ``accepts_all(files)`` the same
      for a whole set, with the limits of the set;
    - ``stage(path, filename, sha256, size)``: upload to the staging key (not public);
    - ``stage_bytes(data, filename, sha256)``: same for small bytes (a PEP 658 sidecar);
    - ``publish(project, filename, sha256, size)``: copy the staged object to the public key;
      "unchanged" when it is there with these bytes, "published" after a copy;
      raises :class:`~pagesindex.errors.FileConflict` when the public key holds other bytes;
    - ``public_keys()``: every key under the public prefix;
    - ``unpublish(key)``: delete one public object (refuses a key outside the public prefix);
    - ``public_sizes()``: ``{key: size in bytes, or None when the listing does not tell}`` of
      every key under the public prefix (``publish`` skips a file listed with its recorded size);
    - ``check(project, filename, sha256, size)``: None when the public object has these bytes,
      else a one-line problem; ``check_bytes(key, sha256)`` the same for a sidecar;
    - ``check_files(items, cache_dir, full)``: ``check``/``check_bytes`` of many
      :class:`StoredFile` at once (verify), a problem or None per item;
    - ``store_problems()``: one-line problems of the store as a whole (verify);
    - ``staged()``: every staged object, as :class:`StagedFile` (``pagesindex storage cleanup``,
      ``verify``);
    - ``unstage(sha256, filename)``: delete one staged object (nothing when it is absent).
    """

    def accepts(self, filename: str, size: int) -> None:
        """Every file fits (S3: the size limit is checked when the file is read)."""

    def accepts_all(self, files: "list[tuple[str, str, int, bool]]") -> None:
        """Check a whole set of files before any upload (``storage migrate``): ``(project,
        filename, size, has a PEP 658 sidecar)`` each; raises what :meth:`accepts` raises, and
        one line for a limit of the set (github-release: assets per release)."""
        for _project, filename, size, _sidecar in files:
            self.accepts(filename, size)

    def store_problems(self) -> "list[str]":
        """Problems of the store as a whole, one line each with its remedy (verify); none here."""
        return []

    def stage(self, path: Any, filename: str, sha256: str, size: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def stage_bytes(self, data: bytes, filename: str, sha256: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def publish(self, project: str, filename: str, sha256: str, size: int) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def public_keys(self) -> "list[str]":  # pragma: no cover - interface
        raise NotImplementedError

    def unpublish(self, key: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def check(self, project: str, filename: str, sha256: str, size: int) -> Optional[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def check_bytes(self, key: str, sha256: str) -> Optional[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def public_sizes(self) -> "Dict[str, Optional[int]]":
        """``{key: None}`` for every key of :meth:`public_keys` (a store whose listing gives
        sizes says them, so that ``publish`` need not ask about each file)."""
        return {key: None for key in self.public_keys()}

    def check_files(self, items: "List[StoredFile]", cache_dir: Optional[Path] = None,
                    full: bool = False) -> "List[Optional[str]]":
        """One problem (one line with its remedy) or None per item of ``items``, in order:
        :meth:`check` for a distribution file, :meth:`check_bytes` for a sidecar. ``cache_dir``
        (the index's ``.pagesindex-cache/``) may hold what a store remembers of earlier checks,
        which ``full`` ignores; this default asks about each file and remembers nothing. An
        error of the store for one item is that item's problem."""
        from ..errors import PagesIndexError

        config: StorageConfig = getattr(self, "config")
        found: "List[Optional[str]]" = []
        for item in items:
            try:
                if item.sidecar:
                    found.append(self.check_bytes(config.public_key(item.project, item.filename) + ".metadata", item.sha256))
                else:
                    found.append(self.check(item.project, item.filename, item.sha256, int(item.size or 0)))
            except PagesIndexError as exc:
                found.append(str(exc))
        return found

    def staged(self) -> "list[StagedFile]":  # pragma: no cover - interface
        raise NotImplementedError

    def unstage(self, sha256: str, filename: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class StoredFile:
    """A published object that verify expects in the store: the distribution file ``filename``
    of ``project`` (normalized name) or, with ``sidecar``, its PEP 658 ``<filename>.metadata``;
    ``sha256`` (hex) of those bytes (the record's ``sha256`` or ``core-metadata-sha256``);
    ``size`` in bytes (None for a sidecar: records do not keep its size)."""

    project: str
    filename: str
    sha256: str
    size: Optional[int]
    sidecar: bool = False


@dataclass(frozen=True)
class StagedFile:
    """A staged object: where it is (``where``, for messages, e.g. ``s3://BUCKET/KEY``), the
    ``sha256`` (hex) and ``filename`` its key names, its ``size`` in bytes and when it was
    written (``modified``, seconds since the epoch, UTC)."""

    where: str
    sha256: str
    filename: str
    size: int
    modified: float


__all__ = ["KINDS", "StagedFile", "Store", "StoredFile", "StorageConfig", "file_url", "open_store", "parse_storage", "release_tag"]
