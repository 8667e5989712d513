"""Open a wheel or an sdist: parse its filename, read its core metadata, hash it.

Filenames are parsed with ``packaging.utils`` (wheel filenames per the binary distribution
format spec, sdist filenames per PEP 625, plus legacy ``.zip`` sdists). Core metadata is the
wheel's ``*.dist-info/METADATA`` or the sdist's ``PKG-INFO`` (core metadata spec), parsed with
``packaging.metadata``. Archives are read defensively: member paths must stay inside the archive's
folder, links are refused (symbolic links) or must name an earlier file of the archive (hard
links), and the metadata file is read up to :data:`MAX_METADATA_BYTES`.

Every structure of an archive is bounded before it is read, so that any file under the per-file
limit is inspected in little memory: a tar's extended headers (pax ``x``/``g``, GNU ``L``/``K``,
:data:`TAR_HEADER_LIMIT`), a zip's central directory (:data:`ZIP_DIRECTORY_LIMIT`, its entries
counted before :mod:`zipfile` lists them) and every single read :mod:`zipfile` makes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, Optional, Tuple


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
#: The largest pax extended header (``x``, ``g``) or GNU long name / long link (``L``, ``K``) of a
#: tar that is read, in bytes; also the most that all global (``g``) headers of one archive may
#: declare together. Python's tarfile writes pax headers of a few hundred bytes.
TAR_HEADER_LIMIT = 64 * 1024
#: The most extended headers in a row before a member (tarfile processes each chain recursively).
TAR_HEADER_CHAIN = 8
#: The most bytes all extended headers of one tar may hold together: tarfile parses each with
#: regular expressions at tens of nanoseconds a byte. An sdist written by Python's tarfile has
#: one pax header of about 100 bytes per member (a float mtime), 10 MB for 100 000 members.
TAR_HEADERS_TOTAL = 32 * 1024 * 1024
#: The largest zip central directory that is read, in bytes (a wheel with 100 000 members of
#: 120-byte names needs 16.6 MB, the largest wheels on PyPI a few MB; :mod:`zipfile` holds the
#: whole directory and one object per entry).
ZIP_DIRECTORY_LIMIT = 16 * 1024 * 1024
#: The zip compression methods accepted: stored and deflated, the two that PyPI accepts
#: (pypi/warehouse#1440). bzip2 and LZMA members inflate without a bound per read in zipfile.
ZIP_METHODS = (0, 8)


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


#: Control characters (C0, DEL, C1) and lone surrogates, refused in filenames.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_filename(filename: str) -> None:
    """Refuse a filename that is not a plain file name (no folders, no ``..``, no control chars)."""
    if (
        not isinstance(filename, str)
        or not filename
        or "/" in filename
        or "\\" in filename
        or filename in (".", "..")
        or filename.startswith(".")
        or _CONTROL_OR_SURROGATE.search(filename)
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


def filename_key(filename: str) -> tuple:
    """What makes two distribution filenames name the same file to an installer or to a
    case-insensitive checkout: the kind and the normalized name, version (PEP 440), build tag and
    lower-case tags of a wheel (binary distribution format), the normalized name, version and
    extension of an sdist (PEP 625). ``Demo-1.0-py3-none-any.whl``, ``DEMO-1.0-…`` and
    ``demo-1.0.0-…`` share one key; ``add`` refuses a new file whose key a recorded file of another
    name has. A name that does not parse is its own key, case-folded.

    >>> filename_key("Demo-1.0-py3-none-any.whl") == filename_key("demo-1.0.0-PY3-none-any.whl")
    True
    """
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

    try:
        if filename.endswith(".whl"):
            name, version, build, tags = parse_wheel_filename(filename)
            # Versions as Version objects: 1.0 and 1.0.0 are equal (and hash alike), not their str.
            return (WHEEL, str(name), version, tuple(build), tuple(sorted(str(t).lower() for t in tags)))
        for ext in (".tar.gz", ".zip"):
            if filename.lower().endswith(ext):
                name, version = parse_sdist_filename(filename[: -len(ext)] + ext)
                return (SDIST, str(name), version, ext)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        pass
    return ("other", filename.casefold())


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


def _shown(text: str, limit: int = 200) -> str:
    """``repr(text)`` cut to about ``limit`` characters (a member name can be 64 KiB long).

    >>> _shown("a" * 300, 10)
    "'aaaaaaaa...'"
    """
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "...'"


def _check_member_path(filename: str, member: str, top: Optional[str]) -> None:
    if (
        not member
        or member.startswith("/")
        or "\\" in member
        or "\x00" in member
        or (len(member) > 1 and member[1] == ":")
    ):
        raise InvalidDistribution(f"{filename}: unsafe path in archive: {_shown(member)}")
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidDistribution(f"{filename}: path in archive escapes its folder: {_shown(member)}")
    if top is not None and parts and parts[0] != top:
        raise InvalidDistribution(f"{filename}: path in archive is outside {top + '/'!r}: {_shown(member)}")


def _symlink_refused(filename: str, name: str, linkname: Optional[str] = None) -> InvalidDistribution:
    """The error for a symbolic link member: distribution files hold none (see SECURITY.md).

    A link's target is resolved against the links extracted before it (``d -> .`` then
    ``e -> d/d/../..`` leaves the folder although each target reads as inside), so checking
    targets as text is not enough; wheels cannot carry links at all (the zip format of the
    binary distribution format spec has none, and installers write members as files), and the
    build backends write sdists of regular files, so every symbolic link is refused.
    """
    target = f" -> {_shown(linkname)}" if linkname is not None else ""
    return InvalidDistribution(
        f"{filename}: symbolic link in archive: {_shown(name)}{target} (distribution files may not hold links)"
    )


def _name_key(name: str) -> bytes:
    """A short key of a member name with empty and ``.`` segments dropped (``./a//b`` is ``a/b``),
    kept for every regular file so that a hard link can be checked against the files before it."""
    text = "/".join(p for p in name.split("/") if p not in ("", "."))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

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
_CENTRAL = b"PK\x01\x02"


def _zip_directory(fh, size: int) -> Optional[Tuple[int, int, int, int, int]]:
    """``(offset, size in bytes, declared entries, offset the end record declares, end of the
    end record and its comment)`` of a zip's central directory, or ``None``.

    Found the way :mod:`zipfile` finds it (APPNOTE.TXT 4.3.14-4.3.16: the end-of-central-directory
    record at the end of the file or before a comment of up to 64 KiB, the zip64 record when its
    locator precedes it, and the offset shifted by whatever was prepended to the archive), so the
    bounds checked here are those of the directory that zipfile then reads.
    """
    if size < 22:
        return None
    fh.seek(size - 22)
    record = fh.read(22)
    position = size - 22
    if not (record[:4] == _EOCD and record[-2:] == b"\0\0"):
        tail_start = max(size - 65536 - 22, 0)
        fh.seek(tail_start)
        tail = fh.read(size - tail_start)
        found = tail.rfind(_EOCD)
        if found < 0 or len(tail) - found < 22:
            return None
        record = tail[found : found + 22]
        position = tail_start + found
    count, cd_size, cd_offset, comment_len = struct.unpack("<HLLH", record[10:22])
    record_end = position + 22 + comment_len
    zip64 = False
    if position >= 20:
        fh.seek(position - 20)
        locator = fh.read(20)
        if locator[:4] == _ZIP64_LOCATOR:
            if position < 76:
                return None
            fh.seek(position - 76)
            record64 = fh.read(56)
            if record64[:4] == _ZIP64_EOCD:
                count, cd_size, cd_offset = struct.unpack("<QQQ", record64[32:56])
                zip64 = True
    start = position - cd_size - (76 if zip64 else 0)
    return start, cd_size, count, cd_offset, record_end


def _scan_zip(fh, size: int, filename: str, *, strict: bool = True, casefold: bool = False) -> int:
    """Check a zip's central directory before :mod:`zipfile` reads it; return the read cap.

    Refuses (:class:`~pagesindex.errors.InvalidDistribution`) a file without an end record, a
    directory over :data:`ZIP_DIRECTORY_LIMIT` bytes or outside the file, more entries than the
    members limit (declared or counted: the end record can say 5 where 2 000 000 follow, and
    zipfile makes one object per entry) and a member compressed other than by
    :data:`ZIP_METHODS`. The records are walked as zipfile walks them: 46 bytes, then the name,
    extra field and comment whose lengths they give.
    """
    found = _zip_directory(fh, size)
    if found is None:
        raise InvalidDistribution(f"{filename}: not a valid zip archive (no end of central directory record)")
    start, cd_size, declared, cd_offset, record_end = found
    if strict and start != cd_offset:
        # zipfile reads an archive whose directory is not where the end record says, shifted
        # by the difference (data prepended, or a second zip appended to a first); a reader
        # starting at byte 0 would see another archive (PyPI refuses these too).
        raise InvalidDistribution(
            f"{filename}: not a valid zip archive ({start - cd_offset} bytes before the archive's start: "
            "data prepended or several zips concatenated)"
        )
    if strict and record_end != size:
        raise InvalidDistribution(
            f"{filename}: not a valid zip archive ({size - record_end} bytes after the end of central directory record)"
        )
    bound = limits.limit("members")
    if declared > bound:
        raise InvalidDistribution(f"{filename}: too many archive members ({declared} > {bound})")
    if cd_size > ZIP_DIRECTORY_LIMIT:
        raise InvalidDistribution(
            f"{filename}: the zip central directory of {limits.human(cd_size)} is over the bound of "
            f"{limits.human(ZIP_DIRECTORY_LIMIT)}"
        )
    if start < 0 or start + cd_size > size:
        raise InvalidDistribution(f"{filename}: not a valid zip archive (central directory outside the file)")
    fh.seek(start)
    data = fh.read(cd_size)
    unpack = struct.Struct("<HH").unpack_from
    lengths = struct.Struct("<HHH").unpack_from
    count = 0
    pos = 0
    odd: Optional[Tuple[int, int]] = None
    entries = []
    while pos < cd_size:
        if cd_size - pos < 46 or data[pos : pos + 4] != _CENTRAL:
            raise InvalidDistribution(f"{filename}: not a valid zip archive (bad central directory record)")
        _flags, method = unpack(data, pos + 8)
        name_len, extra_len, comment_len = lengths(data, pos + 28)
        if method not in ZIP_METHODS and odd is None:
            odd = (method, pos)
        count += 1
        if count <= bound:
            entries.append(pos)
        pos += 46 + name_len + extra_len + comment_len
    if count > bound:
        raise InvalidDistribution(f"{filename}: too many archive members ({count} > {bound})")
    if odd is not None:
        method, at = odd
        name_len = lengths(data, at + 28)[0]
        name = data[at + 46 : at + 46 + name_len].decode("utf-8", "replace")
        raise InvalidDistribution(
            f"{filename}: member compressed with method {method} in archive: {_shown(name)} "
            "(only stored and deflated members are accepted, as on PyPI)"
        )
    if strict:
        _check_local_headers(fh, data, entries, start, filename, casefold=casefold)
    return max(cd_size, CHUNK)


_LOCAL = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4sHHHHHLLLHH")
#: The general-purpose flag bits that must agree between a member's local header and its central
#: directory record: encrypted (0), data descriptor (3) and UTF-8 name (11).
_LOCAL_FLAGS = 0x1 | 0x8 | 0x800


def _zip64_values(extra: bytes, wanted: int) -> list:
    """The 8-byte values of a zip64 extra field (id 1) in ``extra``, at most ``wanted`` of them."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            body = extra[pos + 4 : pos + 4 + length]
            return [struct.unpack_from("<Q", body, 8 * i)[0] for i in range(min(wanted, len(body) // 8))]
        pos += 4 + length
    return []


def _check_local_headers(fh, data: bytes, entries: list, cd_start: int, filename: str, *, casefold: bool) -> None:
    """Check each central directory entry against the local header it points at.

    A reader that walks local headers from byte 0 (streaming installers, ``unzip`` on damaged
    archives) must see exactly the members the central directory lists. So: no two entries with
    the same name (compared case-insensitively when ``casefold``: a wheel's members are installed
    as files, which collide on case-insensitive file systems); each entry's local header exists
    at its offset with the same name, method and flags (encrypted, data descriptor, UTF-8) and,
    without a data descriptor, the same sizes; the members follow one another from byte 0 to
    the central directory with no gap, overlap or hidden data (a data descriptor of 12 to 24
    bytes may follow a member that has one). Memory: one 30-byte header plus name per entry,
    and a 16-byte key per name.
    """
    record = struct.Struct("<HHHHHHLLLHHHHHL").unpack_from
    seen: Dict[bytes, bytes] = {}
    spans = []
    for pos in entries:
        (_made, _need, flags, method, _time, _date, _crc, csize, usize, name_len, extra_len,
         comment_len, _disk, _int, _ext) = record(data, pos + 4)
        offset = struct.unpack_from("<L", data, pos + 42)[0]
        name = data[pos + 46 : pos + 46 + name_len]
        shown = _shown(name.decode("utf-8", "replace"))
        wanted = [v == 0xFFFFFFFF for v in (usize, csize, offset)]
        if any(wanted):
            values = iter(_zip64_values(data[pos + 46 + name_len : pos + 46 + name_len + extra_len], sum(wanted)))
            try:
                usize = next(values) if wanted[0] else usize
                csize = next(values) if wanted[1] else csize
                offset = next(values) if wanted[2] else offset
            except StopIteration:
                raise InvalidDistribution(f"{filename}: not a valid zip archive (bad zip64 record of {shown})") from None
        text = name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        key_text = text.casefold() if casefold else text
        key = hashlib.blake2b(key_text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        exact = hashlib.blake2b(name, digest_size=8).digest()
        if key in seen:
            how = "" if seen[key] == exact else " (names differing only in case collide when installed)"
            raise InvalidDistribution(f"{filename}: duplicate member name in archive: {shown}{how}")
        seen[key] = exact
        if offset + 30 + name_len > cd_start:
            raise InvalidDistribution(f"{filename}: local header of {shown} is outside the archive's members")
        fh.seek(offset)
        head = fh.read(30 + name_len)
        if len(head) < 30 + name_len:
            raise InvalidDistribution(f"{filename}: local header of {shown} is outside the file")
        (sig, _need_l, lflags, lmethod, _t, _d, _crc_l, lcsize, lusize, lname_len, lextra_len) = _LOCAL_HEADER.unpack_from(head)
        if sig != _LOCAL:
            raise InvalidDistribution(f"{filename}: no local header at the offset of {shown}")
        if lname_len != name_len or head[30:] != name:
            lname = head[30 : 30 + min(lname_len, name_len)].decode("utf-8", "replace")
            raise InvalidDistribution(
                f"{filename}: member {shown} is named {_shown(lname)} in its local header (names must agree)"
            )
        if lmethod != method or (lflags & _LOCAL_FLAGS) != (flags & _LOCAL_FLAGS):
            raise InvalidDistribution(f"{filename}: local header of {shown} disagrees with the central directory (method or flags)")
        if not flags & 0x8:
            for local, central in ((lcsize, csize), (lusize, usize)):
                if local != central and local != 0xFFFFFFFF:
                    raise InvalidDistribution(f"{filename}: local header of {shown} disagrees with the central directory (sizes)")
        end = offset + 30 + name_len + lextra_len + csize
        spans.append((offset, end, bool(flags & 0x8), pos))
    spans.sort()
    at = 0
    descriptor_before = False
    for offset, end, descriptor, pos in spans:
        gap = offset - at
        if gap != 0 and not (descriptor_before and gap in (12, 16, 20, 24)):
            name = data[pos + 46 : pos + 46 + struct.unpack_from("<H", data, pos + 28)[0]].decode("utf-8", "replace")
            what = "overlaps the member before it" if gap < 0 else f"follows {gap} bytes that belong to no member"
            raise InvalidDistribution(f"{filename}: member {_shown(name)} {what} in archive")
        at = end
        descriptor_before = descriptor
    gap = cd_start - at
    if gap != 0 and not (spans and descriptor_before and gap in (12, 16, 20, 24)):
        what = "overlaps the last member" if gap < 0 else f"follows {gap} bytes that belong to no member"
        raise InvalidDistribution(f"{filename}: the central directory {what} in archive")


class _CappedFile:
    """A read-only file for :mod:`zipfile` whose every read is at most ``cap`` bytes.

    zipfile reads the central directory in one read of the size the end record gives; the cap
    (the size :func:`_scan_zip` checked, at least 1 MiB) makes sure no read is larger, whatever
    zipfile's own reading of the records, so a lying record never costs memory.
    """

    def __init__(self, fh, size: int, cap: int, filename: str) -> None:
        self._fh = fh
        self._size = size
        self._cap = cap
        self._filename = filename
        self.name = filename

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = max(self._size - self._fh.tell(), 0)
        if n > self._cap:
            raise InvalidDistribution(f"{self._filename}: a zip structure of {n} bytes is over the bound of {self._cap} bytes")
        return self._fh.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()


@contextlib.contextmanager
def open_zip(path: Path, filename: str, *, strict: bool = True, casefold: bool = False) -> Iterator[zipfile.ZipFile]:
    """Open a zip (wheel or zip sdist) for reading, its structures bounded (:func:`_scan_zip`).

    A context manager yielding a :class:`zipfile.ZipFile`; raises
    :class:`~pagesindex.errors.InvalidDistribution` naming ``filename`` for what
    :func:`_scan_zip` refuses, and lets :class:`zipfile.BadZipFile` through for a damaged archive.
    ``strict`` (``add``, ``migrate``) also checks the archive's layout (:func:`_check_local_headers`,
    nothing before or after the archive); ``casefold`` compares member names case-insensitively
    for duplicates (wheels). A wheel already recorded is opened with ``strict=False``: its
    METADATA is compared with the recorded sha256, and builds need not re-read every header.
    """
    import zipfile

    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        cap = _scan_zip(fh, size, filename, strict=strict, casefold=casefold)
        with zipfile.ZipFile(_CappedFile(fh, size, cap, filename)) as zf:
            bound = limits.limit("members")
            infos = zf.infolist()
            if len(infos) > bound:
                raise InvalidDistribution(f"{filename}: too many archive members ({len(infos)} > {bound})")
            yield zf



#: What makes a member path worth the full check of :func:`_check_member_path`: a leading ``/``,
#: a backslash, a NUL, a drive letter (``C:``) or a ``..`` segment. Names without any of these
#: pass that check, so one regular-expression search per member replaces it (wheels have
#: thousands of members).
_SUSPECT_MEMBER = re.compile(r"(?s)^/|\\|\x00|^.:|(?:^|/)\.\.(?:/|$)")
_S_IFMT = 0o170000
_S_IFLNK = 0o120000


def _check_zip_members(zf: zipfile.ZipFile, filename: str, top: Optional[str]) -> Optional[str]:
    """Check every member path of a zip and refuse symbolic links; return the top folder seen.

    A member whose Unix mode (the high 16 bits of its external attributes) is a symbolic link is
    refused whatever system the archive says made it: unzip and other extractors create the link.
    """
    suspect = _SUSPECT_MEMBER.search
    for info in zf.infolist():
        name = info.filename
        if top is not None or not name or suspect(name):
            _check_member_path(filename, name, top)
        if info.flag_bits & 0x1:
            raise InvalidDistribution(f"{filename}: encrypted member in archive: {_shown(name)}")
        if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
            raise _symlink_refused(filename, name)
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

    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_wheel_filename

    filename = filename or Path(path).name
    try:
        with open_zip(Path(path), filename, casefold=True) as zf:
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
                expected, expected_version = parse_wheel_filename(filename)[:2]
            except (InvalidWheelFilename, InvalidSdistFilename):
                expected = expected_version = None
            if expected is not None:
                _check_dist_info_name(filename, folder, str(expected), expected_version)
            _check_other_metadata_folders(zf, filename, folder)
            bound = limits.limit("metadata")
            if info.file_size > bound:
                raise InvalidDistribution(f"{filename}: {info.filename} is larger than {bound} bytes")
            with zf.open(info) as fh:
                return _read_bounded(fh, filename, info.filename)
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({_one_line(exc)})") from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({_one_line(exc)})") from None


def _check_dist_info_name(filename: str, folder: str, expected: str, version) -> None:
    """The ``.dist-info`` folder must be ``{name}-{version}.dist-info`` of the wheel's filename
    (names normalized, versions compared as PEP 440 versions): ``demo_evil-6.6.dist-info`` in a
    wheel of demo 1.0 is refused."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    stem = folder[: -len(".dist-info")]
    name, _sep, version_text = stem.rpartition("-")
    try:
        same = bool(name) and str(canonicalize_name(name)) == expected and Version(version_text) == version
    except InvalidVersion:
        same = False
    if not same:
        raise InvalidDistribution(
            f"{filename}: the .dist-info folder {_shown(folder)} is not that of {expected} {version} (expected "
            f"'{expected.replace('-', '_')}-{version}.dist-info')"
        )


#: Folder (or file) names that importlib.metadata and pip read as an installed distribution.
_METADATA_DIR = re.compile(r"(?i).*\.(?:dist|egg)-info")


def _check_other_metadata_folders(zf: zipfile.ZipFile, filename: str, own: str) -> None:
    """Refuse a wheel that would install the metadata of another distribution.

    Installers put a wheel's top-level members and those under ``{name}-{version}.data/purelib/``
    or ``…/platlib/`` (any ``.data`` key is checked) into site-packages; a ``*.dist-info`` or
    ``*.egg-info`` there other than the wheel's own (compared case-insensitively: file systems
    may be) makes importlib.metadata list another project (``requests 99.0``). Deeper folders
    are not on the path: vendored ``.dist-info`` folders inside a package (setuptools'
    ``_vendor``) stay accepted. The wheel's own folder must hold a ``WHEEL`` file.
    """
    has_wheel = False
    for info in zf.infolist():
        parts = info.filename.split("/")
        if parts[0] == own and len(parts) == 2 and parts[1] == "WHEEL":
            has_wheel = True
        installed = [parts[0]]
        if len(parts) >= 3 and parts[0].lower().endswith(".data"):
            installed.append(parts[2])
        for part in installed:
            if part != own and _METADATA_DIR.fullmatch(part):
                raise InvalidDistribution(
                    f"{filename}: the wheel would install the metadata of another distribution: {_shown(info.filename)}"
                )
    if not has_wheel:
        raise InvalidDistribution(f"{filename}: no {own}/WHEEL file in the wheel")


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
        with open_zip(Path(path), filename, strict=False) as zf:
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


class _Refused(Exception):
    """Raised from inside :mod:`tarfile`'s reading of a header; :func:`_read_sdist_tar` turns it
    into an :class:`~pagesindex.errors.InvalidDistribution` naming the file (tarfile passes any
    exception but its own header errors through)."""


_BOUNDED_TARINFO = None


def _bounded_tarinfo() -> type:
    """A :class:`tarfile.TarInfo` subclass that bounds a tar's extended headers before reading them.

    tarfile reads the whole body of a pax header (``x``, ``g``, ``X``) or a GNU long name or long
    link (``L``, ``K``) in one read of its declared size (up to 8 GiB), and follows a chain of
    them recursively; global headers accumulate in the :class:`tarfile.TarFile`. This subclass,
    through ``_proc_member`` (the hook tarfile documents for subclasses), refuses a header body
    over :data:`TAR_HEADER_LIMIT` bytes, global headers over that many bytes together, more than
    :data:`TAR_HEADER_CHAIN` headers in a row, negative sizes, and sparse members (GNU ``S`` and
    the ``GNU.sparse`` pax records, whose maps are read without a bound; sdists have no sparse
    files). The header bodies read are summed on the TarFile (``_pagesindex_headers``), bounded
    by :data:`TAR_HEADERS_TOTAL`, and count towards the archive's unpacked bound as data does. Made on first use, as tarfile
    is imported only where archives are read.
    """
    global _BOUNDED_TARINFO
    if _BOUNDED_TARINFO is not None:
        return _BOUNDED_TARINFO
    import tarfile

    kinds = {
        tarfile.XHDTYPE: "pax extended header (x)",
        tarfile.SOLARIS_XHDTYPE: "pax extended header (X)",
        tarfile.XGLTYPE: "pax global header (g)",
        tarfile.GNUTYPE_LONGNAME: "GNU long name (L)",
        tarfile.GNUTYPE_LONGLINK: "GNU long link name (K)",
    }

    class BoundedTarInfo(tarfile.TarInfo):
        __slots__ = ()

        def _proc_member(self, tf):
            if self.size < 0:
                raise _Refused(f"negative size in archive: {_shown(self.name)}")
            if self.type == tarfile.GNUTYPE_SPARSE:
                raise _Refused(f"sparse member in archive: {_shown(self.name)}")
            kind = kinds.get(self.type)
            if kind is None:
                return super()._proc_member(tf)
            if self.size > TAR_HEADER_LIMIT:
                raise _Refused(f"{kind} of {self.size} bytes in archive (the bound is {TAR_HEADER_LIMIT} bytes)")
            depth = getattr(tf, "_pagesindex_depth", 0) + 1
            if depth > TAR_HEADER_CHAIN:
                raise _Refused(f"more than {TAR_HEADER_CHAIN} extended headers in a row in archive")
            if self.type == tarfile.XGLTYPE:
                total = getattr(tf, "_pagesindex_global", 0) + self.size
                if total > TAR_HEADER_LIMIT:
                    raise _Refused(f"global headers (g) of more than {TAR_HEADER_LIMIT} bytes in archive")
                tf._pagesindex_global = total
            tf._pagesindex_depth = depth
            headers = getattr(tf, "_pagesindex_headers", 0) + self.size
            if headers > TAR_HEADERS_TOTAL:
                raise _Refused(f"extended headers of more than {TAR_HEADERS_TOTAL} bytes in total in archive")
            tf._pagesindex_headers = headers
            try:
                member = super()._proc_member(tf)
            finally:
                tf._pagesindex_depth = depth - 1
            if member.size < 0:
                raise _Refused(f"negative size in archive: {_shown(member.name)}")
            return member

        def _proc_gnusparse_00(self, *args):
            raise _Refused("sparse member (GNU.sparse pax records) in archive")

        _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00

    _BOUNDED_TARINFO = BoundedTarInfo
    return BoundedTarInfo


def _read_sdist_tar(path: Path, filename: str) -> bytes:
    """PKG-INFO of a ``.tar.gz`` sdist, every member checked as the stream is read once.

    Members are taken one at a time (``TarFile.next``) and tarfile's list of them is emptied
    after each, so memory does not grow with the member count; what is kept per member is a
    16-byte key of each regular file's name, so that a hard link can be checked to name an
    earlier regular file (:func:`_name_key`). Symbolic links and special files are refused.
    """
    import tarfile

    found: Optional[bytes] = None
    top: Optional[str] = None
    count = 0
    unpacked = 0
    files = set()
    bound = limits.limit("members")
    unpacked_bound = limits.limit("unpacked")
    try:
        with tarfile.open(path, mode="r:gz", tarinfo=_bounded_tarinfo()) as tf:
            while True:
                member = tf.next()
                if member is None:
                    break
                tf.members.clear()  # tarfile keeps every member it reads; nothing here needs them
                count += 1
                if count > bound:
                    raise InvalidDistribution(f"{filename}: too many archive members (> {bound})")
                name = member.name
                _check_member_path(filename, name, None)
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if not parts:
                    if member.isdir():
                        continue  # "./", the archive's own root
                    raise InvalidDistribution(f"{filename}: unsafe path in archive: {_shown(name)}")
                if top is None:
                    top = parts[0]
                _check_member_path(filename, name, top)
                unpacked += member.size
                if unpacked + getattr(tf, "_pagesindex_headers", 0) > unpacked_bound:
                    raise InvalidDistribution(
                        f"{filename}: archive members declare more than {limits.human(unpacked_bound)} in total"
                    )
                if member.issym():
                    raise _symlink_refused(filename, name, member.linkname)
                if member.islnk():
                    # A hard link's target is a path from the archive's root; tarfile (and tar)
                    # make the link to that path in the destination, so it must be a regular file
                    # already extracted from this archive.
                    _check_member_path(filename, member.linkname, top)
                    if _name_key(member.linkname) not in files:
                        raise InvalidDistribution(
                            f"{filename}: hard link in archive does not name an earlier file of the archive: "
                            f"{_shown(name)} -> {_shown(member.linkname)}"
                        )
                elif member.isfile():
                    files.add(_name_key(name))
                elif not member.isdir():
                    raise InvalidDistribution(f"{filename}: special file in archive: {_shown(name)}")
                if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                    if found is not None:
                        raise InvalidDistribution(f"{filename}: several PKG-INFO files in the sdist")
                    meta_bound = limits.limit("metadata")
                    if member.size > meta_bound:
                        raise InvalidDistribution(f"{filename}: {name} is larger than {meta_bound} bytes")
                    fh = tf.extractfile(member)
                    assert fh is not None
                    found = _read_bounded(fh, filename, name)
    except _Refused as exc:
        raise InvalidDistribution(f"{filename}: {exc}") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split())
        raise InvalidDistribution(f"{filename}: not a valid or complete tar.gz archive ({reason})") from None
    if found is None:
        raise InvalidDistribution(f"{filename}: no PKG-INFO at the top of the sdist")
    return found


def _read_sdist_zip(path: Path, filename: str) -> bytes:
    import zipfile

    try:
        with open_zip(Path(path), filename) as zf:
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


#: The core metadata major versions known (1.0-1.2, 2.0-2.x); the core metadata spec asks tools
#: to refuse a major version they do not know, whose fields may mean something else.
_METADATA_MAJORS = ("1", "2")


def _check_metadata_version(raw: Dict, filename: str) -> None:
    """Refuse a Metadata-Version that is not ``<major>.<minor>`` of a known major (``99.0``)."""
    value = raw.get("metadata_version")
    if value is None:
        return
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]+\.[0-9]+", text, re.ASCII) or text.split(".")[0] not in _METADATA_MAJORS:
        raise InvalidDistribution(
            f"{filename}: core metadata version {_shown(text)} is not one this tool knows (1.x or 2.x)"
        )


def check_local_file(path: Path) -> None:
    """Raise :class:`InvalidDistribution` naming ``path`` when it is a folder or does not exist
    (said before anything is said of its name: ``missing.whl`` is missing, not misnamed)."""
    if not path.is_file():
        if path.is_dir():
            raise InvalidDistribution(
                f"{str(path)!r} is a folder, not a distribution file (name the .whl, .tar.gz or .zip files in it)")
        raise InvalidDistribution(f"no such file: {str(path)!r}")


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
    if filename is None:
        check_local_file(path)
    filename = filename or path.name
    kind, name, version = parse_filename(filename)
    if not path.is_file():
        raise InvalidDistribution(f"no such file: {str(path)!r}")
    check_file_size(path, filename, max_bytes)
    metadata = read_core_metadata(path, kind, filename)
    raw = parse_metadata(metadata, filename)
    _check_metadata_version(raw, filename)
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
