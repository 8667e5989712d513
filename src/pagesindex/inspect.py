"""Open a wheel or an sdist: parse its filename, read its core metadata, hash it.

Filenames are parsed with ``packaging.utils`` (wheel filenames per the binary distribution
format spec, sdist filenames per PEP 625, plus legacy ``.zip`` sdists). Core metadata is the
wheel's ``*.dist-info/METADATA`` or the sdist's ``PKG-INFO`` (core metadata spec), parsed with
``packaging.metadata``. Archives are read defensively: member paths must stay inside the archive's
folder, and the metadata file is read up to :data:`MAX_METADATA_BYTES`.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, Optional, Tuple


from . import limits
from .errors import InvalidDistribution, InvalidName, LimitExceeded, MetadataMismatch
from .model import SDIST, WHEEL, normalize_name

if TYPE_CHECKING:  # imported where used: zipfile and tarfile where archives are read, packaging
    import zipfile  # where names are parsed (a build with nothing new needs neither)

    from packaging.version import Version

#: The largest METADATA / PKG-INFO that is read (bytes) by default; a larger one is refused.
#: The bound in force is ``limits.limit("metadata")``.
MAX_METADATA_BYTES = limits.METADATA_LIMIT
#: The most members an archive may have by default (``limits.limit("members")``).
MAX_MEMBERS = limits.MEMBERS_LIMIT
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
        not isinstance(filename, str)
        or not filename
        or "/" in filename
        or "\\" in filename
        or filename in (".", "..")
        or filename.startswith(".")
        or any(ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000 for c in filename)
    ):
        raise InvalidDistribution(f"invalid distribution filename: {filename!r}")


#: Characters of a wheel's compatibility tags (python, abi, platform; each may be a
#: ``.``-separated set) and of its build tag, per the binary distribution format's filename
#: convention. ``packaging`` accepts any character there (``py3-none-any|99|...``), which would
#: let a filename forge a Markdown table row; PyPI refuses such wheels too (its upload accepts
#: only a list of known platform tags).
_WHEEL_TAG = re.compile(r"[A-Za-z0-9_.]+")
_BUILD_TAG = re.compile(r"[0-9][A-Za-z0-9_]*")


def _check_wheel_tags(filename: str) -> None:
    parts = filename[: -len(".whl")].split("-")
    tags = parts[-3:]
    build = parts[2] if len(parts) == 6 else None
    for tag in tags:
        if not _WHEEL_TAG.fullmatch(tag):
            raise InvalidDistribution(
                f"invalid distribution filename: {filename!r} (wheel tag {tag!r} may hold only ASCII letters, digits, '_' and '.')"
            )
    if build is not None and not _BUILD_TAG.fullmatch(build):
        raise InvalidDistribution(
            f"invalid distribution filename: {filename!r} (build tag {build!r} must be a digit followed by ASCII letters, digits or '_')"
        )


def parse_filename(filename: str) -> Tuple[str, str, Version]:
    """Return ``(kind, normalized name, version)`` for a wheel or sdist filename.

    The name part must be a valid project name (PEP 508) once unescaped; the whole name must be
    ASCII; a wheel's tags may hold only ``[A-Za-z0-9_.]`` and its build tag must match
    ``[0-9][A-Za-z0-9_]*`` (binary distribution format, "File name convention"). Raises
    :class:`~pagesindex.errors.InvalidDistribution` naming the file when it is neither.

    >>> parse_filename("lightcurvedb-3.0.0b4-py3-none-any.whl")
    ('wheel', 'lightcurvedb', <Version('3.0.0b4')>)
    """
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

    check_filename(filename)
    if not filename.isascii():
        raise InvalidDistribution(f"invalid distribution filename: {filename!r} (not ASCII)")
    try:
        if filename.endswith(".whl"):
            if filename.count("-") in (4, 5):
                _check_wheel_tags(filename)
            name, version, _build, _tags = parse_wheel_filename(filename)
            kind = WHEEL
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            kind = SDIST
        else:
            raise InvalidDistribution(
                f"not a distribution file: {filename!r} (expected a .whl, .tar.gz or .zip)"
            )
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise InvalidDistribution(f"invalid distribution filename: {filename!r} ({_one_line(exc)})") from None
    try:
        normalized = normalize_name(str(name))
    except InvalidName:
        raise InvalidDistribution(f"invalid distribution filename: {filename!r} (project name {str(name)!r} is not a PEP 508 name)") from None
    return kind, normalized, version


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


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


def _check_link(filename: str, name: str, linkname: str, *, hard: bool, top: Optional[str]) -> None:
    """Refuse a link member whose target leaves the archive's folder (``top``, or the root)."""
    target = linkname if hard else posixpath.join(posixpath.dirname(name), linkname)
    if not linkname or target.startswith("/") or "\\" in linkname or "\x00" in linkname or (len(linkname) > 1 and linkname[1] == ":"):
        raise InvalidDistribution(f"{filename}: link in archive points outside: {name!r} -> {linkname!r}")
    normalized = posixpath.normpath(target)
    if normalized == ".." or normalized.startswith("../") or (top is not None and normalized.split("/")[0] != top):
        raise InvalidDistribution(f"{filename}: link in archive points outside: {name!r} -> {linkname!r}")


def _read_bounded(fh, filename: str, member: str) -> bytes:
    """Read at most the metadata bound (plus one byte to tell); refuse what is larger."""
    bound = limits.limit("metadata")
    parts = []
    total = 0
    while total <= bound:
        # Small reads: zipfile inflates at most what is asked for, so memory follows the data.
        chunk = fh.read(min(65536, bound + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > bound:
        raise InvalidDistribution(f"{filename}: {member} is larger than {bound} bytes")
    return b"".join(parts)


def check_file_size(path: Path, filename: str, bound: Optional[int] = None) -> int:
    """Refuse a file over ``bound`` bytes (default :func:`pagesindex.limits.max_file_bytes`),
    naming both numbers (:class:`~pagesindex.errors.LimitExceeded`).

    Returns the size in bytes. Called before the archive is opened.
    """
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InvalidDistribution(f"cannot read {str(path)!r} ({exc.strerror})") from None
    host = "GitHub refuses larger files" if bound is None else "the store's single upload limit"
    bound = limits.max_file_bytes() if bound is None else bound
    if size > bound:
        raise LimitExceeded(
            f"{filename}: {limits.human(size)} is over the per-file limit of {limits.human(bound)} "
            f"({host})"
        )
    return size


_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"


def zip_entry_count(path: Path) -> Optional[int]:
    """The number of entries that a zip's end-of-central-directory record declares.

    Read from the last 64 KiB of the file (plus zip64 records when present), before
    :mod:`zipfile` builds its list of entries, so that an archive with millions of entries is
    refused without reading them (APPNOTE.TXT, sections 4.3.14-4.3.16). ``None`` when no record is
    found (:mod:`zipfile` then refuses the file itself).
    """
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        tail_len = min(size, 65536 + 22)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        pos = tail.rfind(_EOCD)
        if pos < 0 or len(tail) - pos < 22:
            return None
        count = struct.unpack("<H", tail[pos + 10 : pos + 12])[0]
        if count == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == _ZIP64_LOCATOR:
            offset = struct.unpack("<Q", tail[pos - 12 : pos - 4])[0]
            if offset + 56 <= size:
                fh.seek(offset)
                record = fh.read(56)
                if record[:4] == _ZIP64_EOCD:
                    count = struct.unpack("<Q", record[32:40])[0]
        return count


def _open_zip(path: Path, filename: str) -> zipfile.ZipFile:
    import zipfile

    bound = limits.limit("members")
    declared = zip_entry_count(path)
    if declared is not None and declared > bound:
        raise InvalidDistribution(f"{filename}: too many archive members ({declared} > {bound})")
    zf = zipfile.ZipFile(path)
    infos = zf.infolist()
    if len(infos) > bound:
        zf.close()
        raise InvalidDistribution(f"{filename}: too many archive members ({len(infos)} > {bound})")
    return zf


def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    return (info.create_system == 3) and stat.S_ISLNK(info.external_attr >> 16)


#: What makes a member path worth the full check of :func:`_check_member_path`: a leading ``/``,
#: a backslash, a NUL, a drive letter (``C:``) or a ``..`` segment. Names without any of these
#: pass that check, so one regular-expression search per member replaces it (wheels have
#: thousands of members).
_SUSPECT_MEMBER = re.compile(r"(?s)^/|\\|\x00|^.:|(?:^|/)\.\.(?:/|$)")
_S_IFLNK = 0o120000


def _check_zip_members(zf: zipfile.ZipFile, filename: str, top: Optional[str]) -> Optional[str]:
    """Check every member path (and symlink target) of a zip; return the top folder seen."""
    suspect = _SUSPECT_MEMBER.search
    for info in zf.infolist():
        name = info.filename
        if top is not None or not name or suspect(name):
            _check_member_path(filename, name, top)
        if info.flag_bits & 0x1:
            raise InvalidDistribution(f"{filename}: encrypted member in archive: {name!r}")
        if info.create_system == 3 and (info.external_attr >> 16) & 0o170000 == _S_IFLNK:
            if info.file_size > 4096:
                raise InvalidDistribution(f"{filename}: link in archive points outside: {name!r}")
            with zf.open(info) as fh:
                target = fh.read(4097).decode("utf-8", "replace")
            _check_link(filename, name, target, hard=False, top=top)
    return top


def read_wheel_metadata(path: Path, filename: Optional[str] = None) -> bytes:
    """Return the bytes of a wheel's ``<name>-<version>.dist-info/METADATA``.

    The wheel must have exactly one top-level ``.dist-info`` folder (binary distribution format
    spec; pip refuses others) holding one METADATA. Raises
    :class:`~pagesindex.errors.InvalidDistribution` when the file is not a zip, has an unsafe
    member path or a link pointing outside, an encrypted member, too many members, no or several
    ``.dist-info`` folders or METADATA files, or a METADATA over the metadata bound (reading stops
    at the bound).
    """
    import zipfile

    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    filename = filename or Path(path).name
    try:
        with _open_zip(Path(path), filename) as zf:
            _check_zip_members(zf, filename, None)
            candidates = []
            dist_infos = set()
            for info in zf.infolist():
                if ".dist-info/" not in info.filename:
                    continue
                parts = info.filename.split("/")
                if len(parts) >= 2 and parts[0].endswith(".dist-info"):
                    dist_infos.add(parts[0])
                if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                    candidates.append(info)
            if not candidates:
                raise InvalidDistribution(f"{filename}: no .dist-info/METADATA in the wheel")
            if len(candidates) > 1:
                names = ", ".join(sorted(i.filename for i in candidates))
                raise InvalidDistribution(f"{filename}: several METADATA files in the wheel: {names}")
            if len(dist_infos) > 1:
                raise InvalidDistribution(f"{filename}: several .dist-info folders in the wheel: {', '.join(sorted(dist_infos))}")
            info = candidates[0]
            folder = info.filename.split("/")[0]
            try:
                expected = str(parse_wheel_filename(filename)[0])
            except (InvalidWheelFilename, InvalidSdistFilename):
                expected = None
            if expected is not None and not str(canonicalize_name(folder[: -len(".dist-info")])).startswith(expected):
                raise InvalidDistribution(f"{filename}: the .dist-info folder {folder!r} is not that of project {expected!r}")
            bound = limits.limit("metadata")
            if info.file_size > bound:
                raise InvalidDistribution(f"{filename}: {info.filename} is larger than {bound} bytes")
            with zf.open(info) as fh:
                return _read_bounded(fh, filename, info.filename)
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({_one_line(exc)})") from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({_one_line(exc)})") from None


def read_recorded_wheel_metadata(path: Path, filename: str) -> bytes:
    """Return the bytes of ``<name>-<version>.dist-info/METADATA`` of a wheel that ``add``
    already accepted, for its PEP 658 sidecar.

    :func:`read_wheel_metadata` checked every member of the wheel when it was added and the
    record keeps its METADATA's sha256, which the caller compares with these bytes; so only the
    one member is looked for and read here (reading is still bounded), not every member path
    checked again, which cost most of a build's reads of large wheels. Raises
    :class:`~pagesindex.errors.InvalidDistribution` when the file is not a zip, has too many
    members, or has not exactly one ``.dist-info/METADATA`` within the metadata bound.
    """
    import zipfile

    try:
        with _open_zip(Path(path), filename) as zf:
            found = [
                info for info in zf.infolist()
                if info.filename.endswith(".dist-info/METADATA") and info.filename.count("/") == 1
            ]
            if len(found) != 1:
                raise InvalidDistribution(f"{filename}: not exactly one .dist-info/METADATA in the wheel")
            bound = limits.limit("metadata")
            if found[0].file_size > bound:
                raise InvalidDistribution(f"{filename}: {found[0].filename} is larger than {bound} bytes")
            with zf.open(found[0]) as fh:
                return _read_bounded(fh, filename, found[0].filename)
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({_one_line(exc)})") from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({_one_line(exc)})") from None


def _read_sdist_tar(path: Path, filename: str) -> bytes:
    import tarfile

    found: Optional[bytes] = None
    top: Optional[str] = None
    count = 0
    unpacked = 0
    bound = limits.limit("members")
    unpacked_bound = limits.limit("unpacked")
    try:
        with tarfile.open(path, mode="r:gz") as tf:
            for member in tf:
                count += 1
                if count > bound:
                    raise InvalidDistribution(f"{filename}: too many archive members (> {bound})")
                name = member.name
                _check_member_path(filename, name, None)
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if not parts:
                    if member.isdir():
                        continue  # "./", the archive's own root
                    raise InvalidDistribution(f"{filename}: unsafe path in archive: {name!r}")
                if top is None:
                    top = parts[0]
                _check_member_path(filename, name, top)
                unpacked += max(member.size, 0)
                if unpacked > unpacked_bound:
                    raise InvalidDistribution(
                        f"{filename}: archive members declare more than {limits.human(unpacked_bound)} in total"
                    )
                if member.issym() or member.islnk():
                    # A hard link's target is relative to the archive root; a symlink's to its folder.
                    _check_link(filename, name, member.linkname, hard=member.islnk(), top=top)
                elif not (member.isfile() or member.isdir()):
                    raise InvalidDistribution(f"{filename}: special file in archive: {name!r}")
                if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                    if found is not None:
                        raise InvalidDistribution(f"{filename}: several PKG-INFO files in the sdist")
                    meta_bound = limits.limit("metadata")
                    if member.size > meta_bound:
                        raise InvalidDistribution(f"{filename}: {name} is larger than {meta_bound} bytes")
                    fh = tf.extractfile(member)
                    assert fh is not None
                    found = _read_bounded(fh, filename, name)
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise InvalidDistribution(f"{filename}: not a valid or complete tar.gz archive ({reason})") from None
    if found is None:
        raise InvalidDistribution(f"{filename}: no PKG-INFO at the top of the sdist")
    return found


def _read_sdist_zip(path: Path, filename: str) -> bytes:
    import zipfile

    try:
        with _open_zip(Path(path), filename) as zf:
            infos = zf.infolist()
            if not infos:
                raise InvalidDistribution(f"{filename}: no PKG-INFO at the top of the sdist")
            first = [p for p in infos[0].filename.split("/") if p not in ("", ".")]
            _check_member_path(filename, infos[0].filename, None)
            if not first:
                raise InvalidDistribution(f"{filename}: unsafe path in archive: {infos[0].filename!r}")
            top = first[0]
            _check_zip_members(zf, filename, top)
            found = None
            for info in infos:
                parts = [p for p in info.filename.split("/") if p not in ("", ".")]
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    if found is not None:
                        raise InvalidDistribution(f"{filename}: several PKG-INFO files in the sdist")
                    found = info
            if found is None:
                raise InvalidDistribution(f"{filename}: no PKG-INFO at the top of the sdist")
            bound = limits.limit("metadata")
            if found.file_size > bound:
                raise InvalidDistribution(f"{filename}: {found.filename} is larger than {bound} bytes")
            with zf.open(found) as fh:
                return _read_bounded(fh, filename, found.filename)
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({_one_line(exc)})") from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({_one_line(exc)})") from None


def read_core_metadata(path: Path, kind: str, filename: Optional[str] = None) -> bytes:
    """Return the raw core metadata bytes of a wheel (METADATA) or an sdist (PKG-INFO)."""
    filename = filename or Path(path).name
    if kind == WHEEL:
        return read_wheel_metadata(path, filename)
    if filename.endswith(".zip"):
        return _read_sdist_zip(path, filename)
    return _read_sdist_tar(path, filename)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]+")


def clean_text(value: object) -> str:
    """A one-line text field (Summary, Author): control characters, line breaks and lone
    surrogates become one space each run, then the ends are stripped.

    >>> clean_text("  A\\nB\\x00C ")
    'A B C'
    """
    return _CONTROL.sub(" ", str(value)).strip()


def _first(raw: Dict, *keys: str) -> str:
    for key in keys:
        value = raw.get(key)
        if value:
            return clean_text(value)
    return ""


def clean_url(value: object) -> str:
    """``value`` when it is an http(s) URL with a host and no space, quote or control character;
    otherwise ``""`` (old tools wrote ``UNKNOWN``; a ``javascript:`` URL must never become a link).

    >>> clean_url("https://example.org/x"), clean_url("javascript:alert(1)"), clean_url("UNKNOWN")
    ('https://example.org/x', '', '')
    """
    from urllib.parse import urlsplit

    text = str(value).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if _CONTROL.search(text) or any(c in text for c in "\"'<>` \\"):
        return ""
    return text


def _homepage(raw: Dict) -> str:
    urls = raw.get("project_urls") or {}
    for label, url in urls.items():
        if label.lower().replace(" ", "").replace("-", "").replace("_", "") in ("homepage", "home", "source", "repository"):
            cleaned = clean_url(url)
            if cleaned:
                return cleaned
    return clean_url(raw.get("home_page") or "")


def parse_metadata(data: bytes, filename: str) -> Dict:
    """Parse core metadata bytes (must be UTF-8) into ``packaging``'s raw metadata dict."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDistribution(f"{filename}: core metadata is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    from packaging.metadata import parse_email  # imported here: commands that only build skip it

    try:
        raw, _unparsed = parse_email(data)
    except Exception as exc:  # packaging's email parsing of hostile bytes: refuse, never crash
        raise InvalidDistribution(f"{filename}: unreadable core metadata ({type(exc).__name__})") from None
    return raw


def inspect_file(
    path: Path, filename: Optional[str] = None, *, hashed: Optional[Tuple[str, int]] = None, max_bytes: Optional[int] = None
) -> InspectedFile:
    """Inspect a distribution file: filename, core metadata, hash and size.

    ``filename`` defaults to ``path``'s name (pass it when the bytes sit in a temporary file).
    ``hashed`` is ``(sha256 hex digest, size in bytes)`` of ``path`` when the caller has just
    computed them while writing that very file (``state.Index.stage_file`` hashes while it
    copies), so the file is not read a second time; the size must still match the file's.
    ``max_bytes`` replaces the per-file limit (:func:`check_file_size`; an object store's).
    Raises :class:`~pagesindex.errors.InvalidDistribution` for a bad filename or archive and
    :class:`~pagesindex.errors.MetadataMismatch` when the metadata's Name or Version disagree
    with the filename (names compared normalized, versions as PEP 440 versions).
    """
    path = Path(path)
    filename = filename or path.name
    kind, name, version = parse_filename(filename)
    if not path.is_file():
        raise InvalidDistribution(f"no such file: {str(path)!r}")
    check_file_size(path, filename, max_bytes)
    metadata = read_core_metadata(path, kind, filename)
    raw = parse_metadata(metadata, filename)
    meta_name = raw.get("name")
    meta_version = raw.get("version")
    if not meta_name or not meta_version:
        raise InvalidDistribution(f"{filename}: core metadata has no Name or no Version")
    meta_name = str(meta_name).strip()
    try:
        meta_normalized = normalize_name(meta_name)
    except InvalidName:
        raise InvalidDistribution(f"{filename}: core metadata Name {meta_name!r} is not a PEP 508 project name") from None
    if meta_normalized != name:
        raise MetadataMismatch(
            f"{filename}: core metadata names project {meta_name!r}, the filename says {name!r}"
        )
    from packaging.version import Version

    try:
        parsed_meta_version = Version(str(meta_version).strip())
    except Exception:
        raise InvalidDistribution(f"{filename}: core metadata version {meta_version!r} is not a PEP 440 version") from None
    if parsed_meta_version != version:
        raise MetadataMismatch(
            f"{filename}: core metadata says version {meta_version!r}, the filename says {str(version)!r}"
        )
    requires_python = raw.get("requires_python")
    if requires_python is not None:
        requires_python = str(requires_python).strip() or None
    if requires_python:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise InvalidDistribution(f"{filename}: invalid Requires-Python {requires_python!r}") from None
        if _CONTROL.search(requires_python):
            raise InvalidDistribution(f"{filename}: invalid Requires-Python {requires_python!r}")
    if hashed is not None:
        sha256, size = hashed
        if os.stat(path).st_size != size:
            raise InvalidDistribution(f"{filename}: the file is {os.stat(path).st_size} bytes, not the {size} bytes hashed")
    else:
        sha256, size = hash_file(path)
    author = _first(raw, "author", "maintainer")
    if not author:
        emails = _first(raw, "author_email", "maintainer_email")
        author = clean_text(emails.split("<")[0].strip().strip('"')) if emails else ""
    return InspectedFile(
        path=path,
        filename=filename,
        kind=kind,
        name=name,
        version=version,
        display_name=meta_name,
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
