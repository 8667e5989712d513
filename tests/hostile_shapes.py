"""Archives whose structures cost memory when read whole (issue 13, item 2), made quickly.

Each shape is a real sdist or wheel of project ``abc1`` 1.0 (the names of tests/hostile.py) under
the 100 MiB file limit. The gigabyte bodies are zeros written as repeated gzip members (a gzip
file may hold several, read as one stream), so a 1 GiB pax header costs about 1 MB of disk and
no time to write; the zip shapes write their central directories in large chunks.

Used by tests/test_hostile_memory.py and benchmarks/hostile_memory.py.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import Callable, Dict, Tuple

from hostile import DIST_INFO, PKG, SDIST_NAME, TOP, WHEEL_NAME, metadata, wheel_members

MIB = 1 << 20
GIB = 1 << 30


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _block(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _header(name: str, kind: bytes, size: int, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.linkname = linkname
    info.mtime = 1704067200
    info.mode = 0o644
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def _file(name: str, data: bytes) -> bytes:
    return _header(name, tarfile.REGTYPE, len(data)) + _block(data)


def _pax_records(records: Dict[str, str]) -> bytes:
    out = b""
    for key, value in records.items():
        body = f" {key}={value}\n".encode()
        n = len(body) + 1
        while len(str(n)) + len(body) != n:
            n += 1
        out += str(n).encode() + body
    return out


def _write_zeros(fh, size: int) -> None:
    """``size`` zero bytes (a multiple of 512) as gzip members of 1 MiB, one compressed once."""
    whole, rest = divmod(size, MIB)
    member = _gz(b"\0" * MIB)
    for _ in range(whole):
        fh.write(member)
    if rest:
        fh.write(_gz(b"\0" * rest))


def _tail() -> bytes:
    """The regular members after a hostile header, and the end of the archive."""
    return _file(f"{TOP}/PKG-INFO", metadata()) + _file(f"{TOP}/setup.py", b"") + b"\0" * 1024


def sdist_with_big_header(folder: Path, kind: bytes, size: int = GIB) -> Path:
    """An sdist whose first header is a pax (``x``, ``g``) or GNU long-name/link (``L``, ``K``)
    header declaring ``size`` bytes, all of them present (zeros)."""
    path = Path(folder) / SDIST_NAME
    name = {b"x": "PaxHeader", b"g": "GlobalHead", b"L": "././@LongLink", b"K": "././@LongLink"}[kind]
    with open(path, "wb") as fh:
        fh.write(_gz(_header(name, kind, size)))
        _write_zeros(fh, size + (-size % 512))
        if kind == b"K":
            fh.write(_gz(_header(f"{TOP}/hard", tarfile.LNKTYPE, 0, "x") + _tail()))
        else:
            fh.write(_gz(_tail()))
    return path


def sdist_with_header_chain(folder: Path, count: int = 5000) -> Path:
    """An sdist whose first member is preceded by ``count`` pax headers in a row."""
    body = _pax_records({"comment": "x"})
    one = _header("PaxHeader", tarfile.XHDTYPE, len(body)) + _block(body)
    path = Path(folder) / SDIST_NAME
    path.write_bytes(_gz(one * count + _tail()))
    return path


def sdist_with_many_global_headers(folder: Path, count: int = 1000, size: int = 60 * 1024) -> Path:
    """An sdist with ``count`` global headers of ``size`` bytes, each with its own keyword, each
    followed by a member (tarfile merges global headers into one dict for the whole archive)."""
    out = io.BytesIO()
    for i in range(count):
        body = _pax_records({f"k{i}": "v" * (size - 20)})
        out.write(_header("GlobalHead", tarfile.XGLTYPE, len(body)) + _block(body))
        out.write(_file(f"{TOP}/m{i}.py", b""))
    out.write(_tail())
    path = Path(folder) / SDIST_NAME
    path.write_bytes(_gz(out.getvalue()))
    return path


def sdist_with_sparse_member(folder: Path, form: str) -> Path:
    """An sdist with a sparse member: ``"S"`` (GNU old sparse header), ``"0.1"`` or ``"1.0"``
    (GNU.sparse pax records; 1.0 keeps its map in the member's data)."""
    out = io.BytesIO()
    out.write(_file(f"{TOP}/PKG-INFO", metadata()))
    if form == "S":
        out.write(_header(f"{TOP}/sparse", tarfile.GNUTYPE_SPARSE, 0))
    elif form == "0.1":
        body = _pax_records({"GNU.sparse.map": "0,1", "GNU.sparse.size": "1", "GNU.sparse.name": f"{TOP}/sparse"})
        out.write(_header("PaxHeader", tarfile.XHDTYPE, len(body)) + _block(body))
        out.write(_file(f"{TOP}/sparse", b"x"))
    else:
        body = _pax_records({"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": f"{TOP}/sparse",
                             "GNU.sparse.realsize": "1"})
        out.write(_header("PaxHeader", tarfile.XHDTYPE, len(body)) + _block(body))
        out.write(_file(f"{TOP}/sparse", b"1000000000\n" + b"1\n" * 1000))
    out.write(b"\0" * 1024)
    path = Path(folder) / SDIST_NAME
    path.write_bytes(_gz(out.getvalue()))
    return path


def _small_wheel() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in wheel_members():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _central_record(name: bytes, extra: bytes = b"", comment: bytes = b"", method: int = 0) -> bytes:
    return struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, method, 0, 0, 0, 0, 0,
        len(name), len(extra), len(comment), 0, 0, 0o644 << 16, 0,
    ) + name + extra + comment


def _end_records(entries: int, cd_size: int, cd_offset: int, *, zip64: bool) -> bytes:
    if not zip64:
        return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, cd_size, cd_offset, 0)
    record64_at = cd_offset + cd_size
    record64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record64_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return record64 + locator + end


def wheel_with_extra_entries(
    folder: Path, extra: int = 2_000_000, *, declared: int = 5, zip64: bool = False,
    record: bytes = None,
) -> Path:
    """A real small wheel plus ``extra`` more central-directory records (``record``, by default
    a 47-byte entry named ``a``), the end record declaring ``declared`` entries (zip64 end
    records when ``zip64``): 2 000 000 entries make a 94 MB file."""
    base = _small_wheel()
    end = base.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", base[end + 12 : end + 20])
    record = record or _central_record(b"a")
    path = Path(folder) / WHEEL_NAME
    with open(path, "wb") as fh:
        fh.write(base[: cd_offset + cd_size])
        chunk = 20_000
        left = extra
        while left:
            n = min(chunk, left)
            fh.write(record * n)
            left -= n
        total = cd_size + extra * len(record)
        fh.write(_end_records(declared, total, cd_offset, zip64=zip64))
    return path


def wheel_with_long_names(folder: Path, entries: int = 99_990, directory: int = 16 * MIB - 4096) -> Path:
    """A wheel plus ``entries`` central-directory records whose names (bytes 0x80-0xFF, which
    cp437 decodes to characters that take two bytes each in memory) fill a central directory of
    ``directory`` bytes: the most zipfile may hold once the bounds are checked."""
    name_len = directory // entries - 46
    stem = bytes(0x80 + i % 128 for i in range(name_len - 6))
    base = _small_wheel()
    end = base.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", base[end + 12 : end + 20])
    # A valid layout (each entry's local header where the directory says, names distinct), as
    # `add` checks it: an empty stored member per entry after the wheel's own members.
    locals_, records = [], []
    at = cd_offset
    for i in range(entries):
        name = stem + b"%06d" % i  # distinct also case-folded (cp437 has upper and lower case)
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        locals_.append(header)
        records.append(_central_record(name)[:42] + struct.pack("<L", at) + name)
        at += len(header)
    path = Path(folder) / WHEEL_NAME
    with open(path, "wb") as fh:
        fh.write(base[:cd_offset])
        fh.write(b"".join(locals_))
        fh.write(base[cd_offset : cd_offset + cd_size])
        fh.write(b"".join(records))
        total = cd_size + sum(len(r) for r in records)
        fh.write(_end_records(entries + 4, total, at, zip64=True))
    return path


def sdist_with_long_pax_paths(folder: Path, members: int = 100_000, size: int = 60 * 1024) -> Path:
    """An sdist of ``members`` members, each named by a pax ``path`` record of ``size`` bytes
    (one member's bytes compressed once, then repeated as gzip members)."""
    body = _pax_records({"path": f"{TOP}/" + "a" * (size - 40)})
    one = _gz(_header("PaxHeader", tarfile.XHDTYPE, len(body)) + _block(body) + _file(f"{TOP}/x.py", b""))
    path = Path(folder) / SDIST_NAME
    with open(path, "wb") as fh:
        fh.write(_gz(_file(f"{TOP}/PKG-INFO", metadata())))
        for _ in range(members):
            fh.write(one)
        fh.write(_gz(b"\0" * 1024))
    return path


def wheel_with_huge_fields(folder: Path, extra: int = 700) -> Path:
    """A wheel plus ``extra`` central-directory records, each with a 64 KiB extra field and a
    64 KiB comment (about 92 MB)."""
    field = struct.pack("<HH", 0xCAFE, 65531) + b"\0" * 65531
    return wheel_with_extra_entries(folder, extra, record=_central_record(b"a", field, b"c" * 65535))


def wheel_with_central_directory_as_whole_file(folder: Path, size: int = 90 * MIB) -> Path:
    """A wheel whose zip64 end record says the central directory spans the whole file (``size``
    bytes of stored padding before it): the end records lie about where and how large it is."""
    base = _small_wheel()
    end = base.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", base[end + 12 : end + 20])
    path = Path(folder) / WHEEL_NAME
    with open(path, "wb") as fh:
        fh.write(base[:cd_offset])
        pad = size
        while pad:
            n = min(pad, 8 * MIB)
            fh.write(b"\0" * n)
            pad -= n
        fh.write(base[cd_offset : cd_offset + cd_size])
        whole = cd_offset + size + cd_size
        fh.write(_end_records(5, whole, 0, zip64=True))
    return path


def wheel_with_compressed_metadata(folder: Path, method: int, size: int) -> Path:
    """A wheel whose METADATA is compressed with ``method`` (``zipfile.ZIP_BZIP2``,
    ``ZIP_LZMA``): the metadata then ``size`` zero bytes, its headers declaring 300 bytes (a
    lying size, so that a reader bounded by the declared size still reads it)."""
    path = Path(folder) / WHEEL_NAME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in wheel_members():
            if name.endswith("/METADATA"):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = method
                with zf.open(info, "w") as out:
                    out.write(metadata() + b"\n\n")
                    zero = b"\0" * (16 * MIB)
                    left = size
                    while left:
                        n = min(left, len(zero))
                        out.write(zero[:n])
                        left -= n
            else:
                zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    from hostile import set_zip_sizes

    set_zip_sizes(path, f"{DIST_INFO}/METADATA", uncompressed=300)
    return path


def wheel_with_big_description(folder: Path, content_type: str, size: int = 8 * MIB - 4096) -> Path:
    """A wheel whose METADATA (just under the 8 MiB bound) is mostly a description of
    ``content_type`` (``text/x-rst``, ``text/markdown``) made of many small nested constructs,
    which `build` renders for the release page."""
    unit = {"text/x-rst": "* a *b* ``c`` `d <https://e.example/>`_\n", "text/markdown": "- a *b* `c` [d](https://e.example/)\n"}[
        content_type
    ]
    head = metadata(extra=f"Description-Content-Type: {content_type}\n\n")
    body = (unit * (size // len(unit))).encode()
    path = Path(folder) / WHEEL_NAME
    members = [(n, head + body if n.endswith("/METADATA") else d) for n, d in wheel_members()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return path


#: name -> (what it is, builder(folder) -> path); the shapes of issue 13 item 2, full size.
SHAPES: Dict[str, Tuple[str, Callable[[Path], Path]]] = {
    "sdist-pax-x-1gib": ("sdist, pax extended header (x) declaring 1 GiB", lambda d: sdist_with_big_header(d, b"x")),
    "sdist-pax-g-1gib": ("sdist, pax global header (g) declaring 1 GiB", lambda d: sdist_with_big_header(d, b"g")),
    "sdist-gnu-L-1gib": ("sdist, GNU long name (L) of 1 GiB", lambda d: sdist_with_big_header(d, b"L")),
    "sdist-gnu-K-1gib": ("sdist, GNU long link name (K) of 1 GiB", lambda d: sdist_with_big_header(d, b"K")),
    "sdist-pax-chain": ("sdist, 5000 pax headers in a row", sdist_with_header_chain),
    "sdist-many-g": ("sdist, 1000 global headers of 60 KiB", sdist_with_many_global_headers),
    "wheel-2m-entries-eocd-5": ("wheel, 2,000,000 entries, end record says 5", wheel_with_extra_entries),
    "wheel-2m-entries-zip64-5": (
        "wheel, 2,000,000 entries, zip64 end record says 5", lambda d: wheel_with_extra_entries(d, zip64=True),
    ),
    "wheel-zip64-cd-whole-file": ("wheel, zip64 end record: directory is the whole 90 MiB file",
                                  wheel_with_central_directory_as_whole_file),
    "wheel-64k-extra-comment": ("wheel, 700 entries with 64 KiB extra field and comment", wheel_with_huge_fields),
    "wheel-100k-long-names": ("wheel, 100,000 entries with 121-byte names: a 16 MiB directory, within the bounds",
                              wheel_with_long_names),
    "sdist-100k-60k-pax-paths": ("sdist, 100,000 members named by 60 KiB pax paths", sdist_with_long_pax_paths),
    "wheel-8mib-rst-description": ("wheel, 8 MiB reStructuredText description (a list of 190,000 items)",
                                   lambda d: wheel_with_big_description(d, "text/x-rst")),
    "wheel-8mib-md-description": ("wheel, 8 MiB Markdown description (a list of 230,000 items)",
                                  lambda d: wheel_with_big_description(d, "text/markdown")),
    "wheel-128k-rst-description": ("wheel, reStructuredText description just under its rendering bound",
                                   lambda d: wheel_with_big_description(d, "text/x-rst", 128 * 1024 - 1024)),
    "wheel-1m-md-description": ("wheel, Markdown description just under its rendering bound",
                                lambda d: wheel_with_big_description(d, "text/markdown", 1024 * 1024 - 1024)),
    "wheel-bzip2-metadata": (
        "wheel, bzip2 METADATA inflating to 1 GiB, declaring 300 bytes",
        lambda d: wheel_with_compressed_metadata(d, zipfile.ZIP_BZIP2, GIB),
    ),
}

__all__ = ["GIB", "MIB", "PKG", "SHAPES", "sdist_with_big_header", "sdist_with_header_chain",
           "sdist_with_long_pax_paths", "sdist_with_many_global_headers", "sdist_with_sparse_member", "wheel_with_long_names", "wheel_with_central_directory_as_whole_file",
           "wheel_with_compressed_metadata", "wheel_with_extra_entries", "wheel_with_huge_fields"]
