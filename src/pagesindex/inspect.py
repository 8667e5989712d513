"""Open a wheel or an sdist: parse its filename, read its core metadata, hash it.

Filenames are parsed with ``packaging.utils`` (wheel filenames per the binary distribution
format spec, sdist filenames per PEP 625, plus legacy ``.zip`` sdists). Core metadata is the
wheel's ``*.dist-info/METADATA`` or the sdist's ``PKG-INFO`` (core metadata spec), parsed with
``packaging.metadata``. Archives are read defensively: member paths must stay inside the archive's
folder, and the metadata file is read up to :data:`MAX_METADATA_BYTES`.
"""

from __future__ import annotations

import hashlib
import posixpath
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .errors import InvalidDistribution, MetadataMismatch
from .model import SDIST, WHEEL

#: The largest METADATA / PKG-INFO that is read (bytes); a larger one is refused.
MAX_METADATA_BYTES = 8 * 1024 * 1024
#: The most members an archive may have.
MAX_MEMBERS = 200_000
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class InspectedFile:
    """What a distribution file says about itself.

    ``name`` is the normalized project name and ``version`` the PEP 440 version, both taken from
    the filename and checked against the core metadata; ``metadata`` is the raw bytes of METADATA
    or PKG-INFO; ``sha256`` is the hex digest and ``size`` the length in bytes of the file.
    """

    path: Path
    filename: str
    kind: str
    name: str
    version: Version
    display_name: str
    sha256: str
    size: int
    metadata: bytes
    requires_python: Optional[str]
    summary: str
    author: str
    homepage: str
    description: str
    description_content_type: str

    @property
    def metadata_sha256(self) -> str:
        return hashlib.sha256(self.metadata).hexdigest()


def check_filename(filename: str) -> None:
    """Refuse a filename that is not a plain file name (no folders, no ``..``, no control chars)."""
    if (
        not filename
        or "/" in filename
        or "\\" in filename
        or filename in (".", "..")
        or filename.startswith(".")
        or any(ord(c) < 32 or ord(c) == 127 for c in filename)
    ):
        raise InvalidDistribution(f"invalid distribution filename: {filename!r}")


def parse_filename(filename: str) -> Tuple[str, str, Version]:
    """Return ``(kind, normalized name, version)`` for a wheel or sdist filename.

    Raises :class:`~pagesindex.errors.InvalidDistribution` naming the file when it is neither.

    >>> parse_filename("lightcurvedb-3.0.0b4-py3-none-any.whl")
    ('wheel', 'lightcurvedb', <Version('3.0.0b4')>)
    """
    check_filename(filename)
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            return WHEEL, str(name), version
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return SDIST, str(name), version
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise InvalidDistribution(f"invalid distribution filename: {filename!r} ({exc})") from None
    raise InvalidDistribution(
        f"not a distribution file: {filename!r} (expected a .whl, .tar.gz or .zip)"
    )


def hash_file(path: Path) -> Tuple[str, int]:
    """Return ``(sha256 hex digest, size in bytes)`` of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_member_path(filename: str, member: str, top: Optional[str]) -> None:
    if (
        not member
        or member.startswith("/")
        or "\\" in member
        or "\x00" in member
        or (len(member) > 1 and member[1] == ":")
    ):
        raise InvalidDistribution(f"{filename}: unsafe path in archive: {member!r}")
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidDistribution(f"{filename}: path in archive escapes its folder: {member!r}")
    if top is not None and parts and parts[0] != top:
        raise InvalidDistribution(f"{filename}: path in archive is outside {top + '/'!r}: {member!r}")


def _read_bounded(fh, filename: str, member: str) -> bytes:
    data = fh.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise InvalidDistribution(
            f"{filename}: {member} is larger than {MAX_METADATA_BYTES} bytes"
        )
    return data


def read_wheel_metadata(path: Path, filename: Optional[str] = None) -> bytes:
    """Return the bytes of a wheel's ``<name>-<version>.dist-info/METADATA``.

    Raises :class:`~pagesindex.errors.InvalidDistribution` when the file is not a zip, has an
    unsafe member path, has no or several ``.dist-info/METADATA``, or METADATA is too large.
    """
    filename = filename or Path(path).name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InvalidDistribution(f"{filename}: too many archive members ({len(infos)} > {MAX_MEMBERS})")
            candidates = []
            for info in infos:
                _check_member_path(filename, info.filename, None)
                parts = info.filename.split("/")
                if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                    candidates.append(info)
            if not candidates:
                raise InvalidDistribution(f"{filename}: no .dist-info/METADATA in the wheel")
            if len(candidates) > 1:
                names = ", ".join(sorted(i.filename for i in candidates))
                raise InvalidDistribution(f"{filename}: several METADATA files in the wheel: {names}")
            info = candidates[0]
            if info.file_size > MAX_METADATA_BYTES:
                raise InvalidDistribution(f"{filename}: {info.filename} is larger than {MAX_METADATA_BYTES} bytes")
            with zf.open(info) as fh:
                return _read_bounded(fh, filename, info.filename)
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({exc})") from None
    except (zlib.error, EOFError, NotImplementedError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({exc})") from None


_EOCD = b"PK\x05\x06"
_CDIR = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


def extract_wheel_metadata(path: Path) -> Optional[bytes]:
    """Fast path for the build: the bytes of a wheel's ``*.dist-info/METADATA``, or ``None``.

    Reads only the zip's end record, central directory and the one member (APPNOTE.TXT 4.3), with
    no checks of other members, so it is meant for wheels that :func:`read_wheel_metadata` has
    already accepted and whose METADATA sha256 the caller compares with the record. Returns
    ``None`` for anything unusual (zip64, several candidates, an unknown compression), and the
    caller then falls back to :func:`read_wheel_metadata`.
    """
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            tail_len = min(size, 65536 + 22)
            fh.seek(size - tail_len)
            tail = fh.read(tail_len)
            at = tail.rfind(_EOCD)
            if at < 0 or len(tail) - at < 22:
                return None
            entries, cd_size, cd_offset = struct.unpack_from("<6xHII", tail, at + 4)
            if cd_offset + cd_size > size or entries == 0xFFFF or cd_offset == 0xFFFFFFFF:
                return None
            start = size - tail_len
            if cd_offset >= start:
                cd = tail[cd_offset - start: cd_offset - start + cd_size]
            else:
                fh.seek(cd_offset)
                cd = fh.read(cd_size)
            found = None
            pos = 0
            for _ in range(entries):
                if cd[pos: pos + 4] != _CDIR:
                    return None
                (method, csize, usize, nlen, xlen, clen, local) = struct.unpack_from("<10xH8xIIHHH8xI", cd, pos)
                name = cd[pos + 46: pos + 46 + nlen]
                pos += 46 + nlen + xlen + clen
                if name.endswith(b".dist-info/METADATA") and name.count(b"/") == 1:
                    if found is not None:
                        return None
                    found = (method, csize, usize, local)
            if found is None:
                return None
            method, csize, usize, local = found
            if usize > MAX_METADATA_BYTES or method not in (0, 8):
                return None
            fh.seek(local)
            header = fh.read(30)
            if header[:4] != _LOCAL:
                return None
            nlen, xlen = struct.unpack_from("<HH", header, 26)
            fh.seek(local + 30 + nlen + xlen)
            raw = fh.read(csize)
        data = raw if method == 0 else zlib.decompress(raw, -15)
        return data if len(data) == usize else None
    except (OSError, struct.error, zlib.error, ValueError):
        return None


def _read_sdist_tar(path: Path, filename: str) -> bytes:
    found: Optional[bytes] = None
    top: Optional[str] = None
    count = 0
    try:
        with tarfile.open(path, mode="r:*") as tf:
            for member in tf:
                count += 1
                if count > MAX_MEMBERS:
                    raise InvalidDistribution(f"{filename}: too many archive members (> {MAX_MEMBERS})")
                name = member.name
                if top is None:
                    _check_member_path(filename, name, None)
                    top = [p for p in name.split("/") if p not in ("", ".")][0]
                _check_member_path(filename, name, top)
                if member.issym() or member.islnk():
                    target = member.linkname
                    if member.issym():
                        target = posixpath.join(posixpath.dirname(name), target)
                    if target.startswith("/"):
                        raise InvalidDistribution(f"{filename}: link in archive points outside: {name!r} -> {member.linkname!r}")
                    normalized = posixpath.normpath(target)
                    if normalized.startswith("..") or normalized.split("/")[0] != top:
                        raise InvalidDistribution(f"{filename}: link in archive points outside: {name!r} -> {member.linkname!r}")
                elif not (member.isfile() or member.isdir()):
                    raise InvalidDistribution(f"{filename}: special file in archive: {name!r}")
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                    if found is not None:
                        raise InvalidDistribution(f"{filename}: several PKG-INFO files in the sdist")
                    if member.size > MAX_METADATA_BYTES:
                        raise InvalidDistribution(f"{filename}: {name} is larger than {MAX_METADATA_BYTES} bytes")
                    fh = tf.extractfile(member)
                    assert fh is not None
                    found = _read_bounded(fh, filename, name)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InvalidDistribution(f"{filename}: not a valid or complete tar.gz archive ({exc})") from None
    if found is None:
        raise InvalidDistribution(f"{filename}: no PKG-INFO at the top of the sdist")
    return found


def _read_sdist_zip(path: Path, filename: str) -> bytes:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InvalidDistribution(f"{filename}: too many archive members ({len(infos)} > {MAX_MEMBERS})")
            top = None
            found = None
            for info in infos:
                _check_member_path(filename, info.filename, top)
                parts = [p for p in info.filename.split("/") if p]
                top = top or parts[0]
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    if found is not None:
                        raise InvalidDistribution(f"{filename}: several PKG-INFO files in the sdist")
                    found = info
            if found is None:
                raise InvalidDistribution(f"{filename}: no PKG-INFO at the top of the sdist")
            with zf.open(found) as fh:
                return _read_bounded(fh, filename, found.filename)
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({exc})") from None
    except (zlib.error, EOFError, NotImplementedError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({exc})") from None


def read_core_metadata(path: Path, kind: str, filename: Optional[str] = None) -> bytes:
    """Return the raw core metadata bytes of a wheel (METADATA) or an sdist (PKG-INFO)."""
    filename = filename or Path(path).name
    if kind == WHEEL:
        return read_wheel_metadata(path, filename)
    if filename.endswith(".zip"):
        return _read_sdist_zip(path, filename)
    return _read_sdist_tar(path, filename)


def _first(raw: Dict, *keys: str) -> str:
    for key in keys:
        value = raw.get(key)
        if value:
            return str(value).strip()
    return ""


def _homepage(raw: Dict) -> str:
    urls = raw.get("project_urls") or {}
    for label, url in urls.items():
        if label.lower().replace(" ", "").replace("-", "").replace("_", "") in ("homepage", "home", "source", "repository"):
            return url.strip()
    return _first(raw, "home_page")


def parse_metadata(data: bytes, filename: str) -> Dict:
    """Parse core metadata bytes (must be UTF-8) into ``packaging``'s raw metadata dict."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDistribution(f"{filename}: core metadata is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    from packaging.metadata import parse_email  # imported here: commands that only build skip it

    raw, _unparsed = parse_email(data)
    return raw


def inspect_file(path: Path, filename: Optional[str] = None) -> InspectedFile:
    """Inspect a distribution file: filename, core metadata, hash and size.

    ``filename`` defaults to ``path``'s name (pass it when the bytes sit in a temporary file).
    Raises :class:`~pagesindex.errors.InvalidDistribution` for a bad filename or archive and
    :class:`~pagesindex.errors.MetadataMismatch` when the metadata's Name or Version disagree
    with the filename (names compared normalized, versions as PEP 440 versions).
    """
    path = Path(path)
    filename = filename or path.name
    kind, name, version = parse_filename(filename)
    if not path.is_file():
        raise InvalidDistribution(f"no such file: {str(path)!r}")
    metadata = read_core_metadata(path, kind, filename)
    raw = parse_metadata(metadata, filename)
    meta_name = raw.get("name")
    meta_version = raw.get("version")
    if not meta_name or not meta_version:
        raise InvalidDistribution(f"{filename}: core metadata has no Name or no Version")
    if str(canonicalize_name(meta_name)) != name:
        raise MetadataMismatch(
            f"{filename}: core metadata names project {meta_name!r}, the filename says {name!r}"
        )
    try:
        parsed_meta_version = Version(meta_version)
    except Exception:
        raise InvalidDistribution(f"{filename}: core metadata version {meta_version!r} is not a PEP 440 version") from None
    if parsed_meta_version != version:
        raise MetadataMismatch(
            f"{filename}: core metadata says version {meta_version!r}, the filename says {str(version)!r}"
        )
    requires_python = raw.get("requires_python")
    if requires_python is not None:
        requires_python = requires_python.strip() or None
    if requires_python:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise InvalidDistribution(f"{filename}: invalid Requires-Python {requires_python!r}") from None
    sha256, size = hash_file(path)
    author = _first(raw, "author", "maintainer")
    if not author:
        emails = _first(raw, "author_email", "maintainer_email")
        author = emails.split("<")[0].strip().strip('"') if emails else ""
    return InspectedFile(
        path=path,
        filename=filename,
        kind=kind,
        name=name,
        version=version,
        display_name=str(meta_name).strip(),
        sha256=sha256,
        size=size,
        metadata=metadata,
        requires_python=requires_python,
        summary=_first(raw, "summary"),
        author=author,
        homepage=_homepage(raw),
        description=raw.get("description") or "",
        description_content_type=raw.get("description_content_type") or "",
    )


def inspect_files(paths: Iterable[Path]) -> list:
    """Inspect several files; the first bad one raises."""
    return [inspect_file(Path(p)) for p in paths]
