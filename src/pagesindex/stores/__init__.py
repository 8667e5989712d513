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
    accepted as a name, refused as "not yet supported".

Credentials are never read from ``index.toml``: boto3 takes them from the environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``) or the
standard AWS configuration files. Every bad setting raises
:class:`~pagesindex.errors.IndexStateError` with one line naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Optional
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


@dataclass(frozen=True)
class StorageConfig:
    """The parsed ``[storage]`` table. ``kind`` is one of :data:`KINDS`; the other fields are
    those of ``s3`` (``prefix`` and ``staging_prefix`` end in ``/``; ``public_url`` ends in ``/``)."""

    kind: str = "git"
    bucket: str = ""
    prefix: str = ""
    staging_prefix: str = ""
    endpoint_url: str = ""
    public_url: str = ""
    region: str = ""

    @property
    def max_file_bytes(self) -> Optional[int]:
        """The per-file limit of this store: None with ``git`` (GitHub's, :mod:`pagesindex.limits`),
        :data:`MAX_OBJECT_BYTES` with an object store (the site and git never hold the file)."""
        return MAX_OBJECT_BYTES if self.is_object_store else None

    @property
    def is_object_store(self) -> bool:
        """True when the files live outside git and the site (every kind but ``git``)."""
        return self.kind != "git"

    def public_key(self, project: str, filename: str) -> str:
        """The object key a published file has: ``<prefix><normalized-name>/<filename>``."""
        return f"{self.prefix}{normalize_name(project)}/{filename}"

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


def parse_storage(raw: Any, source: str = "index.toml") -> StorageConfig:
    """Parse the ``[storage]`` table (``raw``: the parsed TOML table, or None when absent).

    Raises :class:`~pagesindex.errors.IndexStateError` naming the key: an unknown kind, an
    unknown key, a key that would hold a credential, a missing ``bucket`` or ``public-url`` (s3),
    a malformed value, or a staging prefix that overlaps the public prefix.
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
                "(set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment)"
            )
        if key not in _KEYS[kind]:
            allowed = ", ".join(sorted(_KEYS[kind])) or "none"
            raise IndexStateError(f"{source}: storage.{key} is not a setting of kind {kind!r} (settings: {allowed})")
    if kind == "git":
        return StorageConfig()
    if kind == "github-release":
        raise IndexStateError(f"{source}: storage.kind 'github-release' is not yet supported (use 'git' or 's3')")
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
    """
    name = normalize_name(project)
    if not storage.is_object_store:
        return f"../packages/{name}/{filename}"
    return f"{storage.public_url}{quote(name, safe='')}/{quote(filename, safe='')}"


def open_store(storage: StorageConfig) -> Optional["Store"]:
    """The store client for ``storage``: None for ``git`` (files are in the repository), an
    :class:`~pagesindex.stores.s3.S3Store` for ``s3`` (boto3 imported only then)."""
    if not storage.is_object_store:
        return None
    from .s3 import S3Store

    return S3Store(storage)


class Store:
    """What an object store does with distribution files. Keys are computed by
    :class:`StorageConfig`; ``sha256`` is lower-case hex; sizes are bytes.

    - ``stage(path, filename, sha256, size)``: upload to the staging key (not public);
    - ``stage_bytes(data, filename, sha256)``: same for small bytes (a PEP 658 sidecar);
    - ``publish(project, filename, sha256, size)``: copy the staged object to the public key;
      "unchanged" when it is there with these bytes, "published" after a copy;
      raises :class:`~pagesindex.errors.FileConflict` when the public key holds other bytes;
    - ``public_keys()``: every key under the public prefix;
    - ``unpublish(key)``: delete one public object (refuses a key outside the public prefix);
    - ``check(project, filename, sha256, size)``: None when the public object has these bytes,
      else a one-line problem;
    - ``staged()``: every staged object, as :class:`StagedFile` (``pagesindex storage cleanup``,
      ``verify``);
    - ``unstage(sha256, filename)``: delete one staged object (nothing when it is absent).
    """

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

    def staged(self) -> "list[StagedFile]":  # pragma: no cover - interface
        raise NotImplementedError

    def unstage(self, sha256: str, filename: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


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


__all__ = ["KINDS", "StagedFile", "Store", "StorageConfig", "file_url", "open_store", "parse_storage"]
