"""Hostile and broken archives given to `pagesindex add`: each is refused with one clear line,
no traceback, the index unchanged and nothing written anywhere (see tests/hostile.py)."""

from __future__ import annotations

import tracemalloc
import zlib
from pathlib import Path

import pytest
from hostile import (
    DIST_INFO,
    PKG,
    SDIST_NAME,
    TOP,
    WHEEL_NAME,
    assert_refused,
    cli,
    metadata,
    set_encrypted_flag,
    set_eocd_count,
    set_zip_sizes,
    snapshot,
    wheel_members,
    write_tar,
    write_zip,
)

from pagesindex.errors import InvalidDistribution
from pagesindex.inspect import inspect_file
from pagesindex.state import Index

BIG = 9 * 1024 * 1024  # over the 8 MiB metadata bound


@pytest.fixture
def arena(tmp_path: Path):
    """(index, dist folder, working folder); the whole tmp_path is checked for writes."""
    index = Index.init(tmp_path / "index", title="t")
    (tmp_path / "dist").mkdir()
    (tmp_path / "work").mkdir()
    return index, tmp_path / "dist", tmp_path / "work"


def refused(arena, path: Path, *needles: str, env=None, real=False):
    index, _dist, work = arena
    root = index.root.parent
    before = snapshot(root)
    proc = cli("add", str(path), index=index.root, cwd=work, env=env, real=real)
    assert_refused(proc, *needles, before=before, root=root)
    return proc


def big_metadata(size: int) -> bytes:
    head = metadata(extra="Description-Content-Type: text/plain\n\n")
    return head + b"x" * (size - len(head))


# -- archives: the metadata bound ------------------------------------------------------------

def test_metadata_that_inflates_past_the_bound_is_refused(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members(big_metadata(BIG)))
    assert path.stat().st_size < 100_000  # 9 MiB that compress to a few KiB
    refused(arena, path, WHEEL_NAME, "METADATA is larger than 8388608 bytes", real=True)


def test_sdist_pkg_info_past_the_bound_is_refused(arena):
    _i, dist, _w = arena
    path = write_tar(dist / SDIST_NAME, [(f"{TOP}/PKG-INFO", big_metadata(BIG))])
    refused(arena, path, SDIST_NAME, "PKG-INFO is larger than 8388608 bytes")


def test_metadata_bound_is_configurable(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members(big_metadata(5000)))
    refused(arena, path, "larger than 1000 bytes", env={"PAGESINDEX_MAX_METADATA_BYTES": "1000"}, real=True)


def test_lying_header_reading_stops_at_the_declared_size(arena):
    """METADATA declares 200 bytes but its stream inflates to 64 MiB: only the declared bytes are
    inflated (the CRC then fails), so memory stays small."""
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members(big_metadata(64 * 1024 * 1024)))
    set_zip_sizes(path, f"{DIST_INFO}/METADATA", uncompressed=200)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidDistribution) as info:
            inspect_file(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert WHEEL_NAME in str(info.value)
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"
    print(f"lying-header METADATA: peak memory {peak} bytes for a 64 MiB stream")
    refused(arena, path, WHEEL_NAME)


def test_declared_size_over_the_bound_is_refused_before_reading(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members())
    set_zip_sizes(path, f"{DIST_INFO}/METADATA", uncompressed=1_000_000_000)
    refused(arena, path, "METADATA is larger than 8388608 bytes")


# -- archives: paths and links ---------------------------------------------------------------

PKG_INFO = (f"{TOP}/PKG-INFO", metadata())


@pytest.mark.parametrize(
    "members, needle",
    [
        ([PKG_INFO, ("../x", b"x")], "'../x'"),
        ([PKG_INFO, (f"{TOP}/../../x", b"x")], "escapes its folder"),
        ([PKG_INFO, ("/tmp/pagesindex-absolute", b"x")], "unsafe path in archive: '/tmp/pagesindex-absolute'"),
        ([PKG_INFO, ("C:/x", b"x")], "unsafe path"),
        ([PKG_INFO, ("other-1.0/x", b"x")], "outside 'abc1-1.0/'"),
        ([PKG_INFO, (f"{TOP}/link", "/etc/passwd", "sym")], "symbolic link in archive: 'abc1-1.0/link' -> '/etc/passwd'"),
        ([PKG_INFO, (f"{TOP}/link", "../../outside", "sym")], "symbolic link in archive"),
        ([PKG_INFO, (f"{TOP}/sub/link", "../../x", "sym")], "symbolic link in archive"),
        ([PKG_INFO, (f"{TOP}/link", "PKG-INFO", "sym")], "symbolic link in archive: 'abc1-1.0/link' -> 'PKG-INFO'"),
        ([PKG_INFO, (f"{TOP}/hard", "/etc/passwd", "hard")], "unsafe path in archive: '/etc/passwd'"),
        ([PKG_INFO, (f"{TOP}/hard", "../outside", "hard")], "escapes its folder"),
        ([PKG_INFO, (f"{TOP}/hard", "other-1.0/x", "hard")], "outside 'abc1-1.0/'"),
        ([PKG_INFO, (f"{TOP}/hard", f"/{TOP}/PKG-INFO", "hard")], "unsafe path in archive: '/abc1-1.0/PKG-INFO'"),
        ([PKG_INFO, (f"{TOP}/hard", f"{TOP}/later", "hard"), (f"{TOP}/later", b"x")], "does not name an earlier file of the archive: 'abc1-1.0/hard' -> 'abc1-1.0/later'"),
        ([PKG_INFO, (f"{TOP}/sub", "", "dir"), (f"{TOP}/hard", f"{TOP}/sub", "hard")], "does not name an earlier file"),
        ([PKG_INFO, (f"{TOP}/fifo", "", "fifo")], "special file in archive"),
        ([PKG_INFO, (f"{TOP}/null", "", "chr")], "special file in archive"),
        ([PKG_INFO, PKG_INFO], "several PKG-INFO"),
        ([(f"{TOP}/setup.py", b"")], "no PKG-INFO"),
        ([(f"{TOP}/PKG-INFO", b"Name: abc1\nVersion: 1.0\nSummary: caf\xe9\n")], "not UTF-8"),
    ],
    ids=[
        "dotdot", "dotdot-inside", "absolute", "drive", "other-top", "symlink-absolute", "symlink-up",
        "symlink-up-nested", "symlink-inside", "hardlink-absolute", "hardlink-up", "hardlink-other-top",
        "hardlink-absolute-inside", "hardlink-to-a-later-file", "hardlink-to-a-folder", "fifo",
        "device", "two-pkg-info", "no-pkg-info", "pkg-info-latin1",
    ],
)
def test_hostile_sdist_is_refused(arena, members, needle):
    _i, dist, _w = arena
    path = write_tar(dist / SDIST_NAME, members)
    refused(arena, path, SDIST_NAME, needle, real=needle.startswith("'../x'"))
    assert not Path("/tmp/pagesindex-absolute").exists()


def test_sdist_with_hard_links_to_earlier_files_is_accepted(arena):
    index, dist, work = arena
    path = write_tar(
        dist / SDIST_NAME,
        [("./", "", "dir"), PKG_INFO, (f"{TOP}/src/a.py", b""), (f"{TOP}/c.py", f"{TOP}/src/a.py", "hard"),
         (f"{TOP}/d.py", f"./{TOP}//src/a.py", "hard")],
    )
    proc = cli("add", str(path), index=index.root, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert list(work.iterdir()) == []


def test_sdist_declaring_huge_members_is_refused(arena):
    _i, dist, _w = arena
    path = write_tar(dist / SDIST_NAME, [PKG_INFO, (f"{TOP}/big.bin", 10 * 1024**3, "huge")])
    refused(arena, path, SDIST_NAME, "archive members declare more than 2147483648 bytes")


@pytest.mark.parametrize(
    "members, symlinks, needle",
    [
        (wheel_members() + [("../evil.py", b"x")], [], "escapes its folder: '../evil.py'"),
        (wheel_members() + [("/etc/evil.py", b"x")], [], "unsafe path in archive: '/etc/evil.py'"),
        (wheel_members(), [(f"{PKG}/link.py", "/etc/passwd")], "symbolic link in archive: 'abc1/link.py'"),
        (wheel_members(), [(f"{PKG}/link.py", "../../x")], "symbolic link in archive"),
        (wheel_members(), [(f"{PKG}/link.py", "__init__.py")], "symbolic link in archive"),
        ([(f"{PKG}/__init__.py", b"")], [], "no .dist-info/METADATA"),
        (wheel_members() + [(f"{DIST_INFO}/METADATA", metadata())], [], "duplicate member name in archive: 'abc1-1.0.dist-info/METADATA'"),
        (wheel_members() + wheel_members(dist_info="abc1-2.0.dist-info")[1:], [], "several METADATA files"),
        (wheel_members() + [("abc1-2.0.dist-info/RECORD", b"")], [], "several .dist-info folders"),
        (wheel_members(dist_info="other-1.0.dist-info"), [], "the .dist-info folder 'other-1.0.dist-info' is not that of abc1 1.0"),
        (wheel_members(meta=b"Name: abc1\nVersion: 1.0\nSummary: caf\xe9\n"), [], "not UTF-8"),
        (wheel_members(meta=b"Name: abc1\nVersion: 1.0\nSummary: \xff\xfe\n"), [], "not UTF-8"),
        (wheel_members(meta=metadata(name="../../etc")), [], "Name '../../etc' is not a PEP 508 project name"),
        (wheel_members(meta=metadata(version="1.0; rm -rf /")), [], "'1.0; rm -rf /' is not a PEP 440 version"),
        (wheel_members(meta=metadata(extra="Requires-Python: >=3.8; evil\n")), [], "invalid Requires-Python '>=3.8; evil'"),
    ],
    ids=[
        "dotdot", "absolute", "symlink-absolute", "symlink-up", "symlink-inside", "no-dist-info", "two-metadata-same-name",
        "two-metadata", "two-dist-info", "dist-info-of-other-project", "metadata-latin1", "metadata-utf16-bom",
        "name-path", "version-shell", "requires-python",
    ],
)
def test_hostile_wheel_is_refused(arena, members, symlinks, needle):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, members, symlinks=symlinks)
    refused(arena, path, WHEEL_NAME, needle, real=needle.startswith("symbolic link in archive: 'abc1/link.py'"))


def test_encrypted_member_is_refused(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members())
    set_encrypted_flag(path, f"{DIST_INFO}/METADATA")
    refused(arena, path, WHEEL_NAME, "encrypted member")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + b"\0" * 40, b"\x1f\x8b" + b"\0" * 40, b"<html>not a wheel</html>"])
def test_files_that_are_not_archives_are_refused(arena, content):
    _i, dist, _w = arena
    for name in (WHEEL_NAME, SDIST_NAME):
        path = dist / name
        path.write_bytes(content)
        refused(arena, path, name)
        path.unlink()


def test_truncated_wheel_is_refused(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members(big_metadata(300_000)) + [(f"{PKG}/data.bin", bytes(range(256)) * 4000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    refused(arena, path, WHEEL_NAME)


# -- archives: many entries ------------------------------------------------------------------

def many(n: int) -> list:
    return wheel_members() + [(f"{PKG}/m{i}.py", b"") for i in range(n)]


def test_wheel_with_thousands_of_entries_is_accepted(arena):
    import time

    index, dist, work = arena
    path = write_zip(dist / WHEEL_NAME, many(5000))
    started = time.perf_counter()
    proc = cli("add", str(path), index=index.root, cwd=work, real=True)
    print(f"add of a wheel with 5004 entries: {time.perf_counter() - started:.2f} s")
    assert proc.returncode == 0, proc.stderr


def test_wheel_with_more_entries_than_the_bound_is_refused(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, many(5000))
    refused(arena, path, WHEEL_NAME, "too many archive members (5004 > 1000)", env={"PAGESINDEX_MAX_ARCHIVE_MEMBERS": "1000"}, real=True)


def test_zip_declaring_too_many_entries_is_refused_before_they_are_read(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, many(10))
    set_eocd_count(path, 65535)
    refused(arena, path, "too many archive members (65535 > 1000)", env={"PAGESINDEX_MAX_ARCHIVE_MEMBERS": "1000"})


def test_zip_understating_its_entries_is_still_bounded(arena):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, many(3000))
    set_eocd_count(path, 10)
    refused(arena, path, WHEEL_NAME, "too many archive members", env={"PAGESINDEX_MAX_ARCHIVE_MEMBERS": "1000"})


def test_sdist_with_more_members_than_the_bound_is_refused(arena):
    _i, dist, _w = arena
    path = write_tar(dist / SDIST_NAME, [PKG_INFO] + [(f"{TOP}/m{i}.py", b"") for i in range(1500)])
    refused(arena, path, SDIST_NAME, "too many archive members (> 1000)", env={"PAGESINDEX_MAX_ARCHIVE_MEMBERS": "1000"})


def test_zip_bomb_members_other_than_metadata_are_never_inflated(arena):
    """A 1 GiB member that compresses to ~1 MiB: `add` reads only METADATA, so it is accepted
    without inflating the bomb (the per-file limit bounds what the archive itself may weigh)."""
    index, dist, work = arena
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    import zipfile

    path = dist / WHEEL_NAME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in wheel_members():
            zf.writestr(name, data)
        with zf.open(f"{PKG}/bomb.bin", "w", force_zip64=True) as fh:
            for _ in range(1024):
                fh.write(chunk)
    del comp
    assert path.stat().st_size < 5 * 1024 * 1024
    proc = cli("add", str(path), index=index.root, cwd=work)
    assert proc.returncode == 0, proc.stderr


# -- zip layout: what a reader from byte 0 sees is what the central directory lists (F6) --------


def _zip_bytes(members, stream: bool = False) -> bytes:
    """A zip of ``members``; written to a non-seekable stream when ``stream`` (data descriptors)."""
    import io
    import warnings
    import zipfile

    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += b
            return len(b)

    out = Unseekable() if stream else io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return bytes(out.data) if stream else out.getvalue()


def _patch_central(data: bytes, member: str, field_offset: int, fmt: str, value: int) -> bytes:
    """``data`` with one field of ``member``'s central directory record set to ``value``."""
    import struct

    at = data.index(b"PK\x01\x02")
    while True:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46 : at + 46 + name_len] == member.encode():
            break
        at = data.index(b"PK\x01\x02", at + 46 + name_len + extra_len + comment_len)
    return data[: at + field_offset] + struct.pack(fmt, value) + data[at + field_offset + struct.calcsize(fmt) :]


def _layouts():
    import struct

    good = _zip_bytes(wheel_members())
    evil = _zip_bytes(wheel_members(meta=metadata(name="evil", version="6.6")))
    size = struct.Struct("<L")
    streamed = _zip_bytes(wheel_members() + [(f"{PKG}/a.py", b"print(1)\n" * 50)], stream=True)
    first_csize = size.unpack_from(streamed, streamed.index(b"PK\x01\x02") + 20)[0]
    local_named = _zip_bytes([(f"{PKG}/okokok.py", b"x")] + wheel_members())
    sizes = bytearray(good)
    sizes[18:22] = size.pack(size.unpack_from(good, 18)[0] + 1)  # first local header's compressed size
    return {
        "two-zips": (evil + good, f"{len(evil)} bytes before the archive's start: data prepended or several zips concatenated"),
        "prepended": (b"#!/bin/sh\necho hi\n" * 10 + good, "180 bytes before the archive's start"),
        "appended": (good + b"trailing", "8 bytes after the end of central directory record"),
        "local-name-differs": (
            local_named.replace(f"{PKG}/okokok.py".encode(), b"../../evil1.py", 1),
            "member 'abc1/okokok.py' is named '../../evil1.py' in its local header",
        ),
        "local-size-differs": (bytes(sizes), "local header of 'abc1/__init__.py' disagrees with the central directory (sizes)"),
        "overlap": (
            _patch_central(streamed, f"{PKG}/__init__.py", 20, "<L", first_csize + 40),
            "member 'abc1-1.0.dist-info/METADATA' overlaps the member before it",
        ),
        "hidden-gap": (  # the last member's data said shorter: bytes no reader of the directory sees
            _patch_central(streamed, f"{PKG}/a.py", 20, "<L", 1),
            "the central directory follows",
        ),
        "offset-elsewhere": (
            _patch_central(good, f"{DIST_INFO}/WHEEL", 42, "<L", 0),
            "is named 'abc1/__init__.py' in its local header",
        ),
        "dup-member": (
            _zip_bytes(wheel_members() + [(f"{PKG}/a.py", b"good"), (f"{PKG}/a.py", b"evil")]),
            "duplicate member name in archive: 'abc1/a.py'\n",
        ),
        "dup-member-case": (
            _zip_bytes(wheel_members() + [(f"{PKG}/a.py", b"good"), (f"{PKG}/A.py", b"evil")]),
            "duplicate member name in archive: 'abc1/A.py' (names differing only in case",
        ),
    }


@pytest.mark.parametrize("case", sorted(_layouts()))
def test_zip_whose_layout_readers_would_see_differently_is_refused(arena, case):
    _i, dist, _w = arena
    data, needle = _layouts()[case]
    path = dist / WHEEL_NAME
    path.write_bytes(data)
    refused(arena, path, WHEEL_NAME, needle)


def test_zip_with_data_descriptors_and_zip64_is_accepted(arena):
    """Members written to a stream (data descriptors after the data, sizes 0 in the local
    headers) and a zip64 member still pass the layout checks."""
    import zipfile

    index, dist, work = arena
    path = dist / WHEEL_NAME
    path.write_bytes(_zip_bytes(wheel_members() + [(f"{PKG}/a.py", b"print(1)\n" * 50)], stream=True))
    proc = cli("add", str(path), index=index.root, cwd=work)
    assert proc.returncode == 0, proc.stderr
    other = dist / "abc1-1.0-py2-none-any.whl"
    with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in wheel_members():
            with zf.open(name, "w", force_zip64=True) as fh:
                fh.write(data)
    proc = cli("add", str(other), index=index.root, cwd=work)
    assert proc.returncode == 0, proc.stderr


# -- wheels carrying another distribution's metadata (F7) ----------------------------------------


@pytest.mark.parametrize(
    "members, needle",
    [
        (wheel_members() + [("requests-99.0.egg-info/PKG-INFO", metadata("requests", "99.0"))],
         "would install the metadata of another distribution: 'requests-99.0.egg-info/PKG-INFO'"),
        (wheel_members() + [("requests-99.0.egg-info", metadata("requests", "99.0"))],
         "would install the metadata of another distribution: 'requests-99.0.egg-info'"),
        (wheel_members() + [("Requests-99.0.DIST-INFO/METADATA", metadata("requests", "99.0"))],
         "would install the metadata of another distribution: 'Requests-99.0.DIST-INFO/METADATA'"),
        (wheel_members() + [("abc1-1.0.data/purelib/evil-6.6.dist-info/METADATA", metadata("evil", "6.6"))],
         "would install the metadata of another distribution: 'abc1-1.0.data/purelib/evil-6.6.dist-info/METADATA'"),
        (wheel_members() + [("abc1-1.0.data/platlib/evil-6.6.egg-info/PKG-INFO", metadata("evil", "6.6"))],
         "would install the metadata of another distribution"),
        (wheel_members()[:2] + wheel_members()[3:], "no abc1-1.0.dist-info/WHEEL file in the wheel"),
        (wheel_members(dist_info="abc1_evil-6.6.dist-info"),
         "the .dist-info folder 'abc1_evil-6.6.dist-info' is not that of abc1 1.0"),
        (wheel_members(dist_info="abc1-6.6.dist-info"), "the .dist-info folder 'abc1-6.6.dist-info' is not that of abc1 1.0"),
        (wheel_members() + [(f"{DIST_INFO}/metadata", metadata("evil", "6.6"))],
         "duplicate member name in archive: 'abc1-1.0.dist-info/metadata' (names differing only in case"),
        (wheel_members(meta=metadata(extra="").replace(b"Metadata-Version: 2.1", b"Metadata-Version: 99.0")),
         "core metadata version '99.0' is not one this tool knows"),
    ],
    ids=["egg-info-dir", "egg-info-file", "dist-info-upper", "data-purelib-dist-info", "data-platlib-egg-info",
         "no-WHEEL", "dist-info-other-name", "dist-info-other-version", "metadata-lowercase", "metadata-version-99"],
)
def test_wheel_with_metadata_of_another_distribution_is_refused(arena, members, needle):
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, members)
    refused(arena, path, WHEEL_NAME, needle)


def test_sdist_with_unknown_metadata_major_version_is_refused(arena):
    _i, dist, _w = arena
    path = write_tar(dist / SDIST_NAME, [(f"{TOP}/PKG-INFO", b"Metadata-Version: 99.0\nName: abc1\nVersion: 1.0\n")])
    refused(arena, path, SDIST_NAME, "core metadata version '99.0' is not one this tool knows")


def test_wheel_with_vendored_dist_info_and_legacy_dist_info_spelling_is_accepted(arena):
    """Vendored ``.dist-info`` folders inside a package (setuptools' ``_vendor``) are not on the
    path and stay accepted, as does a ``.dist-info`` folder spelled with the unnormalized name."""
    index, dist, work = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members(dist_info="ABC1-1.0.0.dist-info") + [
        (f"{PKG}/_vendor/packaging-24.0.dist-info/METADATA", metadata("packaging", "24.0")),
        (f"{PKG}/_vendor/packaging-24.0.dist-info/WHEEL", b""),
    ])
    proc = cli("add", str(path), index=index.root, cwd=work)
    assert proc.returncode == 0, proc.stderr
