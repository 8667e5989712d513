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
from typing import Any, List, Optional

from ..errors import FileConflict, PagesIndexError
from . import StagedFile, StorageConfig, Store


#: The part of a staged key after the staging prefix: ``<sha256>/<filename>``, with the characters
#: a distribution filename (or its ``.metadata``) may have; any other key there is not the index's
#: (and is never printed: a key can hold control characters).
_STAGED = re.compile(r"^([0-9a-f]{64})/([A-Za-z0-9_.+!-]+)$")


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
                    "storage.kind 's3' needs boto3: pip install 'pagesindex[s3]'"
                ) from None
            kwargs = {}
            if config.endpoint_url:
                kwargs["endpoint_url"] = config.endpoint_url
            if config.region:
                kwargs["region_name"] = config.region
            client = boto3.client("s3", **kwargs)
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

    def public_keys(self) -> List[str]:
        """Every object key under the public prefix (ListObjectsV2, paginated)."""
        found: List[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=self.config.prefix)
            for page in pages:
                found.extend(obj["Key"] for obj in page.get("Contents", []))
        except Exception as exc:
            raise self._fail(exc, "ListObjectsV2", self.config.prefix) from None
        return found

    def unpublish(self, key: str) -> None:
        """Delete the public object ``key`` (a key under the public prefix only)."""
        if not key.startswith(self.config.prefix):
            raise PagesIndexError(f"refusing to delete s3://{self.config.bucket}/{key}: not under storage.prefix")
        self._delete_key(key)

    def check(self, project: str, filename: str, sha256: str, size: int) -> Optional[str]:
        key = self.config.public_key(project, filename)
        where = f"s3://{self.config.bucket}/{key}"
        head = self._head(key)
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
                            size=int(obj.get("Size", 0)), modified=obj["LastModified"].timestamp(),
                        ))
        except Exception as exc:
            raise self._fail(exc, "ListObjectsV2", prefix) from None
        return found

    def unstage(self, sha256: str, filename: str) -> None:
        """Delete the staged object of ``filename`` with ``sha256`` (DeleteObject: nothing when absent)."""
        self._delete_key(self.config.staging_key(sha256, filename))

    def check_bytes(self, key: str, sha256: str) -> Optional[str]:
        """None when object ``key`` exists with these bytes, else a problem (for sidecars)."""
        head = self._head(key)
        where = f"s3://{self.config.bucket}/{key}"
        if head is None:
            return f"{where}: missing from the store (run 'pagesindex publish')"
        if self._digest(key, head) != sha256:
            return f"{where}: differs from the recorded core-metadata hash (run 'pagesindex publish' after removing it)"
        return None
