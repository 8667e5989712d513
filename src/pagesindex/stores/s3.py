"""An S3-compatible bucket as the store of distribution files (boto3, the optional ``s3`` extra).

Objects: ``<staging-prefix><sha256>/<filename>`` (staged: the bucket policy must not make this
prefix public) and ``<prefix><normalized-name>/<filename>`` plus ``<filename>.metadata`` for
wheels (published, PEP 658). Uploads send ``x-amz-checksum-sha256`` (ChecksumSHA256, base64 of the
digest), and publication is a server-side ``CopyObject`` with ``ChecksumAlgorithm=SHA256``, so
the store computes the SHA-256 of the bytes it holds; that checksum is compared with the record
before the file counts as published. Where a store keeps no SHA-256 checksum for an object
(some S3-compatible servers, or an object written by another tool), the bytes are read and
hashed instead. API reference: Amazon S3 API, PutObject, CopyObject, HeadObject (ChecksumMode).
"""

from __future__ import annotations

import base64
import hashlib
import re
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from ..errors import FileConflict, PagesIndexError
from . import StagedFile, StorageConfig, Store, StoredFile


#: The part of a staged key after the staging prefix: ``<sha256>/<filename>``, with the characters
#: a distribution filename (or its ``.metadata``) may have; any other key there is not the index's
#: (and is never printed: a key can hold control characters).
_STAGED = re.compile(r"^([0-9a-f]{64})/([A-Za-z0-9_.+!-]+)$")


#: Objects HEADed at once by :meth:`S3Store.check_files` (botocore keeps 10 connections a client).
CHECK_THREADS = 8
#: Folder under the index's cache of the records of objects already checked (:meth:`S3Store.check_files`).
CHECKED_DIR = "store-checked"
#: First line of such a record (its format); a record that does not start with it is not read.
_CHECKED_HEADER = "pagesindex store-checked 1"
#: The lines after it: one token (64 hex) each.
_TOKENS = re.compile(r"(?:[0-9a-f]{64}\n)*")


def _epoch(value: Any) -> float:
    """Seconds since the epoch of a LastModified: a datetime, or the ISO 8601 string S3 sends
    (``2026-12-02T18:21:24.000Z``; this client keeps timestamps unparsed), read by botocore."""
    if not isinstance(value, datetime):
        from botocore.utils import parse_timestamp

        value = parse_timestamp(value)
    return value.timestamp()


def b64_sha256(hex_digest: str) -> str:
    """The S3 ``ChecksumSHA256`` form (base64 of the 32 bytes) of a hex sha256."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class S3Store(Store):
    """The ``s3`` store of one index (see :class:`~pagesindex.stores.Store` for the methods).

    Raises :class:`~pagesindex.errors.PagesIndexError` naming the bucket and key for any error
    the S3 API answers (missing credentials, no such bucket, access denied).
    """

    def __init__(self, config: StorageConfig, client: Any = None):
        self.config = config
        if client is None:
            try:
                import boto3
            except ImportError:
                raise PagesIndexError(
                    "storage.kind 's3' needs boto3 (pagesindex's s3 extra): pip install 'boto3>=1.34'"
                ) from None
            kwargs = {}
            if config.endpoint_url:
                kwargs["endpoint_url"] = config.endpoint_url
            if config.region:
                kwargs["region_name"] = config.region
            import boto3.session
            import botocore.session

            # Timestamps stay the ISO 8601 strings S3 sends (botocore's documented parser default,
            # as the AWS CLI sets it): parsing each LastModified of a listing with dateutil is
            # 4/5 of the CPU of a ListObjectsV2 page (63 ms of 76 ms a 1,000-key page).
            core = botocore.session.get_session()
            core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
            client = boto3.session.Session(botocore_session=core).client("s3", **kwargs)
        self.client = client

    # -- helpers --------------------------------------------------------------------------
    def _fail(self, exc: Exception, what: str, key: str) -> PagesIndexError:
        detail = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
        reason = detail.get("Code") or type(exc).__name__
        message = detail.get("Message") or str(exc)
        return PagesIndexError(f"s3://{self.config.bucket}/{key}: {what} failed ({reason}: {message})")

    def _head(self, key: str) -> Optional[dict]:
        """HeadObject with checksums, or None when there is no such object."""
        try:
            return self.client.head_object(Bucket=self.config.bucket, Key=key, ChecksumMode="ENABLED")
        except Exception as exc:  # botocore.exceptions.ClientError
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(exc, "HeadObject", key) from None

    def _digest(self, key: str, head: dict) -> str:
        """Hex sha256 of an object: from its full-object ChecksumSHA256 when the store keeps one,
        else by reading the bytes."""
        stored = head.get("ChecksumSHA256")
        if isinstance(stored, str) and "-" not in stored and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
            try:
                return base64.b64decode(stored).hex()
            except ValueError:
                pass
        try:
            body = self.client.get_object(Bucket=self.config.bucket, Key=key)["Body"]
            digest = hashlib.sha256()
            for chunk in iter(lambda: body.read(1024 * 1024), b""):
                digest.update(chunk)
            return digest.hexdigest()
        except Exception as exc:
            raise self._fail(exc, "GetObject", key) from None

    def _put(self, key: str, body: Any, sha256: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.config.bucket, Key=key, Body=body, ChecksumSHA256=b64_sha256(sha256),
            )
        except Exception as exc:
            raise self._fail(exc, "PutObject", key) from None

    # -- the Store interface ----------------------------------------------------------------
    def stage(self, path: Any, filename: str, sha256: str, size: int) -> None:
        key = self.config.staging_key(sha256, filename)
        head = self._head(key)
        if head is not None and head.get("ContentLength") == size and self._digest(key, head) == sha256:
            return  # staged before (same content: the key holds the hash)
        with open(path, "rb") as fh:
            self._put(key, fh, sha256)

    def stage_bytes(self, data: bytes, filename: str, sha256: str) -> None:
        key = self.config.staging_key(sha256, filename)
        if self._head(key) is None:
            self._put(key, data, sha256)

    def _publish_one(self, staged: str, public: str, sha256: str) -> str:
        head = self._head(public)
        if head is not None:
            found = self._digest(public, head)
            if found != sha256:
                raise FileConflict(
                    f"s3://{self.config.bucket}/{public} already holds other bytes (sha256 {found[:12]}…, recorded "
                    f"{sha256[:12]}…); a published file is never changed: remove that release, or restore the object"
                )
            return "unchanged"
        if self._head(staged) is None:
            raise PagesIndexError(
                f"s3://{self.config.bucket}/{staged}: staged file missing, cannot publish {public!r} "
                "(run 'pagesindex add' again with the file)"
            )
        try:
            self.client.copy_object(
                Bucket=self.config.bucket, Key=public, ChecksumAlgorithm="SHA256",
                CopySource={"Bucket": self.config.bucket, "Key": staged},
            )
        except Exception as exc:
            raise self._fail(exc, "CopyObject", public) from None
        head = self._head(public)
        found = self._digest(public, head) if head is not None else "missing"
        if found != sha256:
            # The staged bytes were not the recorded ones: take the copy back, publish nothing.
            self._delete_key(public)
            raise FileConflict(
                f"s3://{self.config.bucket}/{staged}: staged bytes differ from the record (sha256 {found[:12]}…); "
                "nothing published: run 'pagesindex add' again with the file"
            )
        return "published"

    def publish(self, project: str, filename: str, sha256: str, size: int, metadata_sha256: Optional[str] = None) -> str:
        """Publish a staged file, and its sidecar first when ``metadata_sha256`` is given (so a
        client never sees a wheel whose ``.metadata`` is missing). Returns "published" or
        "unchanged" (the file's own result)."""
        public = self.config.public_key(project, filename)
        if metadata_sha256:
            self._publish_one(
                self.config.staging_key(metadata_sha256, filename + ".metadata"), public + ".metadata", metadata_sha256
            )
        return self._publish_one(self.config.staging_key(sha256, filename), public, sha256)

    def _delete_key(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.config.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, "DeleteObject", key) from None

    def _listing(self) -> Dict[str, dict]:
        """``{key: the ListObjectsV2 entry (Size, ETag, LastModified)}`` of every object under
        the public prefix: one request per 1,000 keys."""
        found: Dict[str, dict] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=self.config.prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    found[obj["Key"]] = obj
        except Exception as exc:
            raise self._fail(exc, "ListObjectsV2", self.config.prefix) from None
        return found

    def public_keys(self) -> List[str]:
        """Every object key under the public prefix (ListObjectsV2, paginated)."""
        return list(self._listing())

    def public_sizes(self) -> Dict[str, Optional[int]]:
        """``{key: size in bytes}`` of every object under the public prefix (ListObjectsV2,
        paginated: one request per 1,000 keys)."""
        return {key: int(obj.get("Size", 0)) for key, obj in self._listing().items()}

    def unpublish(self, key: str) -> None:
        """Delete the public object ``key`` (a key under the public prefix only)."""
        if not key.startswith(self.config.prefix):
            raise PagesIndexError(f"refusing to delete s3://{self.config.bucket}/{key}: not under storage.prefix")
        self._delete_key(key)

    def check(self, project: str, filename: str, sha256: str, size: int) -> Optional[str]:
        key = self.config.public_key(project, filename)
        return self._check_head(key, self._head(key), sha256, size)

    def _check_head(self, key: str, head: Optional[dict], sha256: str, size: int) -> Optional[str]:
        where = f"s3://{self.config.bucket}/{key}"
        if head is None:
            return f"{where}: missing from the store (run 'pagesindex publish')"
        found = self._digest(key, head)
        if head.get("ContentLength") != size or found != sha256:
            return (
                f"{where}: size {head.get('ContentLength')} / sha256 {found[:12]}… differ from the record "
                f"({size} / {sha256[:12]}…); installs of it fail: upload the recorded file again to that key "
                "(a copy of the staged object), or remove that release"
            )
        return None

    def staged(self) -> List[StagedFile]:
        """Every object under the staging prefix whose key has the staging form
        ``<staging-prefix><sha256>/<filename>`` (ListObjectsV2, paginated); other keys there are
        not the index's and are left out."""
        found: List[StagedFile] = []
        prefix = self.config.staging_prefix
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    m = _STAGED.match(obj["Key"][len(prefix):])
                    if m:
                        found.append(StagedFile(
                            where=f"s3://{self.config.bucket}/{obj['Key']}", sha256=m.group(1), filename=m.group(2),
                            size=int(obj.get("Size", 0)), modified=_epoch(obj["LastModified"]),
                        ))
        except Exception as exc:
            raise self._fail(exc, "ListObjectsV2", prefix) from None
        return found

    def unstage(self, sha256: str, filename: str) -> None:
        """Delete the staged object of ``filename`` with ``sha256`` (DeleteObject: nothing when absent)."""
        self._delete_key(self.config.staging_key(sha256, filename))

    def check_bytes(self, key: str, sha256: str) -> Optional[str]:
        """None when object ``key`` exists with these bytes, else a problem (for sidecars)."""
        return self._check_bytes_head(key, self._head(key), sha256)

    def _check_bytes_head(self, key: str, head: Optional[dict], sha256: str) -> Optional[str]:
        where = f"s3://{self.config.bucket}/{key}"
        if head is None:
            return f"{where}: missing from the store (run 'pagesindex publish')"
        if self._digest(key, head) != sha256:
            return f"{where}: differs from the recorded core-metadata hash (run 'pagesindex publish' after removing it)"
        return None

    # -- verify: many files at once ---------------------------------------------------------
    def checked_record_path(self, cache_dir: Path) -> Path:
        """Where :meth:`check_files` keeps its record of checked objects for this bucket:
        ``<cache_dir>/store-checked/s3-<16 hex of sha256(endpoint, bucket, prefix)>.txt``."""
        ident = hashlib.sha256(
            "\0".join((self.config.endpoint_url, self.config.bucket, self.config.prefix)).encode("utf-8")
        ).hexdigest()[:16]
        return Path(cache_dir) / CHECKED_DIR / f"s3-{ident}.txt"

    def _header(self) -> str:
        return f"{_CHECKED_HEADER} {self.config.endpoint_url or 'aws'} {self.config.bucket} {self.config.prefix}"

    def _read_record(self, path: Path) -> Set[str]:
        """The tokens of a record, or an empty set (a full check) when it is missing, unreadable,
        of another bucket or format, or holds any line that is not a token."""
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, ValueError):
            return set()
        header, _, body = text.partition("\n")
        if header != self._header() or not _TOKENS.fullmatch(body):
            return set()
        return set(body.split())

    def _write_record(self, path: Path, tokens: Set[str]) -> None:
        """Replace the record (atomically; a failure only means a full check next time); with
        no token, delete it (nothing is written into an index whose store holds nothing good)."""
        try:
            if not tokens:
                if path.exists():
                    path.unlink()
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
            tmp.write_text("\n".join([self._header(), *sorted(tokens)]) + "\n", encoding="ascii")
            os.replace(tmp, path)
        except OSError:
            pass

    @staticmethod
    def _token(key: str, sha256: str, obj: dict) -> str:
        """What the record keeps of an object found with the recorded ``sha256``: the sha256 of
        its key, that digest, and its size, ETag and LastModified as the listing gives them."""
        modified = obj.get("LastModified")
        stamp = modified.isoformat() if hasattr(modified, "isoformat") else str(modified)
        text = "\0".join((key, sha256, str(int(obj.get("Size", -1))), str(obj.get("ETag", "")), stamp))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def check_files(self, items: List[StoredFile], cache_dir: Optional[Path] = None,
                    full: bool = False) -> List[Optional[str]]:
        """:meth:`check` / :meth:`check_bytes` of many files with one listing of the public
        prefix (ListObjectsV2: key, Size, ETag, LastModified; one request per 1,000 keys) and a
        HeadObject (with checksum) only for objects not checked before, :data:`CHECK_THREADS`
        at a time.

        A key absent from the listing is missing. An object whose listed size, ETag and
        LastModified, with the recorded sha256, are in the record of ``cache_dir``
        (:meth:`checked_record_path`) was found with these bytes by an earlier HeadObject
        checksum and is not asked again: S3 never changes an object in place, every write of a
        key (PutObject, CopyObject, a multipart upload, a restore of a version) makes a new
        object with a new LastModified, and other bytes give another ETag (the MD5 of the bytes
        for a single PutObject, of the parts for a multipart upload), so a changed or replaced
        object no longer matches its token and is checked again. An object is recorded only when
        its HeadObject showed the listed ETag and size and the recorded sha256. ``full``, or a
        record that is missing, unreadable, of another bucket or damaged, means every object is
        HEADed. The record then holds the objects found good in this run only.
        Raises :class:`~pagesindex.errors.PagesIndexError` when the listing fails.
        """
        listing = self._listing()
        record = self.checked_record_path(cache_dir) if cache_dir is not None else None
        known = self._read_record(record) if record is not None and not full else set()
        results: List[Optional[str]] = [None] * len(items)
        good: Set[str] = set()
        todo: List[Tuple[int, StoredFile, str, dict]] = []
        for n, item in enumerate(items):
            key = self.config.public_key(item.project, item.filename) + (".metadata" if item.sidecar else "")
            obj = listing.get(key)
            if obj is None:
                results[n] = f"s3://{self.config.bucket}/{key}: missing from the store (run 'pagesindex publish')"
                continue
            token = self._token(key, item.sha256, obj)
            if token in known and (item.size is None or int(obj.get("Size", -1)) == item.size):
                good.add(token)
                continue
            todo.append((n, item, key, obj))

        def head_one(entry: Tuple[int, StoredFile, str, dict]) -> Tuple[int, Optional[str], Optional[str]]:
            n, item, key, obj = entry
            try:
                head = self._head(key)
                if item.sidecar:
                    problem = self._check_bytes_head(key, head, item.sha256)
                else:
                    problem = self._check_head(key, head, item.sha256, int(item.size or 0))
            except PagesIndexError as exc:
                return n, str(exc), None
            same = head is not None and head.get("ETag") == obj.get("ETag") and head.get("ContentLength") == obj.get("Size")
            return n, problem, (self._token(key, item.sha256, obj) if problem is None and same else None)

        if todo:
            with ThreadPoolExecutor(max_workers=min(CHECK_THREADS, len(todo))) as pool:
                for n, problem, token in pool.map(head_one, todo):
                    results[n] = problem
                    if token is not None:
                        good.add(token)
        if record is not None:
            self._write_record(record, good)
        return results
