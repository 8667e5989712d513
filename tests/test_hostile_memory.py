"""Archive structures that cost memory when read whole (issue 13, item 2): every shape of
tests/hostile_shapes.py is refused with one `error:` line naming the file, by `add` and by
`build`, in a child process whose address space is limited to 512 MiB (RLIMIT_AS), so that a
regression shows as a MemoryError traceback instead of a machine out of memory.

benchmarks/hostile_memory.py prints the peak memory of each shape; these tests assert the refusal.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from factory import make_sdist, make_wheel
from hostile import PKG, SDIST_NAME, TOP, VERSION, WHEEL_NAME, assert_refused, metadata, snapshot
from hostile_shapes import (
    GIB,
    MIB,
    sdist_with_big_header,
    sdist_with_header_chain,
    sdist_with_long_pax_paths,
    sdist_with_many_global_headers,
    sdist_with_sparse_member,
    wheel_with_central_directory_as_whole_file,
    wheel_with_compressed_metadata,
    wheel_with_extra_entries,
    wheel_with_huge_fields,
    wheel_with_long_names,
)
from hostile_shapes import _pax_records

from pagesindex.state import Index

TAR_HEADER_LIMIT = 64 * 1024  # pagesindex.inspect.TAR_HEADER_LIMIT (literal: the tests also run against older code)
ZIP_DIRECTORY_LIMIT = 16 * MIB  # pagesindex.inspect.ZIP_DIRECTORY_LIMIT

LIMIT = 512 * MIB


def limited(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m pagesindex ARGS`` in a child process limited to 512 MiB of address space."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "pagesindex", *args], capture_output=True, text=True, cwd=cwd, env=env,
        preexec_fn=limit, timeout=300,
    )


@pytest.fixture
def arena(tmp_path: Path):
    """(index, dist folder, root): the hostile file is written outside ``root`` (it can be 94 MB,
    and the refusal contract snapshots every byte under ``root``)."""
    root = tmp_path / "arena"
    index = Index.init(root / "index", title="t")
    (root / "work").mkdir()
    (tmp_path / "dist").mkdir()
    return index, tmp_path / "dist", root


SHAPES = [
    pytest.param(lambda d: sdist_with_big_header(d, b"x"), "pax extended header (x) of 1073741824 bytes", id="pax-x-1gib"),
    pytest.param(lambda d: sdist_with_big_header(d, b"g"), "pax global header (g) of 1073741824 bytes", id="pax-g-1gib"),
    pytest.param(lambda d: sdist_with_big_header(d, b"L"), "GNU long name (L) of 1073741824 bytes", id="gnu-L-1gib"),
    pytest.param(lambda d: sdist_with_big_header(d, b"K"), "GNU long link name (K) of 1073741824 bytes", id="gnu-K-1gib"),
    pytest.param(lambda d: sdist_with_big_header(d, b"x", TAR_HEADER_LIMIT + 1), "of 65537 bytes", id="pax-x-just-over"),
    pytest.param(sdist_with_header_chain, "more than 8 extended headers in a row", id="pax-chain-5000"),
    pytest.param(sdist_with_many_global_headers, "global headers (g) of more than 65536 bytes", id="many-g"),
    pytest.param(lambda d: sdist_with_long_pax_paths(d, 1000), "extended headers of more than 33554432 bytes in total",
                 id="1000-60k-pax-paths"),
    pytest.param(lambda d: sdist_with_sparse_member(d, "S"), "sparse member in archive: 'abc1-1.0/sparse'", id="sparse-S"),
    pytest.param(lambda d: sdist_with_sparse_member(d, "0.1"), "sparse member (GNU.sparse pax records)", id="sparse-0.1"),
    pytest.param(lambda d: sdist_with_sparse_member(d, "1.0"), "sparse member (GNU.sparse pax records)", id="sparse-1.0"),
    pytest.param(wheel_with_extra_entries, "zip central directory of 94000276 bytes (89.6 MiB) is over the bound",
                 id="2m-entries-eocd-says-5"),
    pytest.param(lambda d: wheel_with_extra_entries(d, zip64=True), "zip central directory of 94000276 bytes",
                 id="2m-entries-zip64-says-5"),
    pytest.param(lambda d: wheel_with_extra_entries(d, 300_000), "too many archive members (300004 > 100000)",
                 id="300k-entries-under-the-directory-bound"),
    pytest.param(wheel_with_central_directory_as_whole_file, "zip central directory of 94372474 bytes",
                 id="zip64-directory-is-the-whole-file"),
    pytest.param(wheel_with_huge_fields, "zip central directory of 91782176 bytes", id="64k-extra-and-comment"),
    pytest.param(lambda d: wheel_with_compressed_metadata(d, zipfile.ZIP_BZIP2, 64 * MIB),
                 "member compressed with method 12 in archive: 'abc1-1.0.dist-info/METADATA'", id="bzip2-metadata"),
    pytest.param(lambda d: wheel_with_compressed_metadata(d, zipfile.ZIP_LZMA, MIB),
                 "member compressed with method 14", id="lzma-metadata"),
]


@pytest.mark.parametrize("build, needle", SHAPES)
def test_hostile_shape_is_refused_by_add_under_a_memory_limit(arena, build, needle):
    index, dist, root = arena
    path = build(dist)
    assert path.stat().st_size < 100 * MIB
    before = snapshot(root)
    proc = limited("--index", str(index.root), "add", str(path), cwd=root / "work")
    assert_refused(proc, f"error: {path.name}: ", needle, before=before, root=root)
    path.unlink()


def tamper_in(index: Index, hostile: Path) -> None:
    """Put ``hostile``'s bytes in place of the recorded file of that name, with a matching sha256
    and size in the record (what a pull request can do), and drop the kept metadata cache."""
    target = index.root / "packages" / PKG / hostile.name
    shutil.copyfile(hostile, target)
    record_path = index.root / "projects" / f"{PKG}.json"
    record = json.loads(record_path.read_text())
    for release in record["releases"].values():
        for f in release["files"]:
            if f["filename"] == hostile.name:
                f["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
                f["size"] = target.stat().st_size
    record_path.write_text(json.dumps(record, indent=2))
    shutil.rmtree(index.root / ".pagesindex-cache", ignore_errors=True)


@pytest.mark.parametrize(
    "kind, build, needle",
    [
        ("sdist", lambda d: sdist_with_big_header(d, b"L"), "GNU long name (L) of 1073741824 bytes"),
        ("sdist", sdist_with_header_chain, "more than 8 extended headers in a row"),
        ("wheel", wheel_with_extra_entries, "zip central directory of 94000276 bytes"),
        ("wheel", lambda d: wheel_with_compressed_metadata(d, zipfile.ZIP_BZIP2, 64 * MIB), "method 12"),
    ],
    ids=["gnu-L-1gib", "pax-chain", "2m-entries", "bzip2-metadata"],
)
def test_hostile_file_in_the_state_is_refused_by_build_under_a_memory_limit(arena, kind, build, needle):
    index, dist, root = arena
    good = (make_sdist if kind == "sdist" else make_wheel)(dist / "good", PKG, VERSION)
    assert limited("--index", str(index.root), "add", str(good), cwd=root / "work").returncode == 0
    path = build(dist)
    tamper_in(index, path)
    before = snapshot(root)
    proc = limited("--index", str(index.root), "build", "--full", cwd=root / "work")
    assert_refused(proc, f"{path.name}: ", needle, before=before, root=root, site="index/_site")


def test_wheel_at_the_directory_bound_is_read_in_little_memory(arena):
    """100 000 entries whose names fill a central directory just under its bound are the most
    that zipfile is let hold: `add` accepts the wheel under the memory limit."""
    index, dist, root = arena
    path = wheel_with_long_names(dist, directory=ZIP_DIRECTORY_LIMIT - 4096)
    proc = limited("--index", str(index.root), "add", str(path), cwd=root / "work")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_sdist_with_many_small_pax_headers_is_accepted(arena):
    """Python's tarfile writes a pax header per member when mtimes are floats, as build
    backends' sdists have them: 3000 of those are well within the header bounds."""
    import io
    import tarfile

    index, dist, root = arena
    path = dist / SDIST_NAME
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for i, (name, data) in enumerate([(f"{TOP}/PKG-INFO", metadata())] + [(f"{TOP}/pkg/m{i}.py", b"") for i in range(3000)]):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1704067200.5 + i
            tf.addfile(info, io.BytesIO(data))
    proc = limited("--index", str(index.root), "add", str(path), cwd=root / "work")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("how", ["header", "pax"])
def test_negative_member_size_is_refused(arena, how):
    """A negative size (base-256 in the header, or a pax ``size`` record) would move tarfile's
    offset backwards and read the same headers again and again."""
    import io
    import tarfile

    index, dist, root = arena
    out = io.BytesIO()
    ok = tarfile.TarInfo(f"{TOP}/PKG-INFO")
    ok.size = len(metadata())
    out.write(ok.tobuf(tarfile.GNU_FORMAT) + metadata() + b"\0" * (-len(metadata()) % 512))
    bad = tarfile.TarInfo(f"{TOP}/neg")
    if how == "header":
        bad.size = -1024
        out.write(bad.tobuf(tarfile.GNU_FORMAT))
    else:
        body = _pax_records({"size": "-1024"})
        pax = tarfile.TarInfo("PaxHeader")
        pax.type = tarfile.XHDTYPE
        pax.size = len(body)
        out.write(pax.tobuf(tarfile.USTAR_FORMAT) + body + b"\0" * (-len(body) % 512))
        out.write(bad.tobuf(tarfile.USTAR_FORMAT))
    out.write(b"\0" * 1024)
    import gzip

    path = dist / SDIST_NAME
    path.write_bytes(gzip.compress(out.getvalue()))
    before = snapshot(root)
    proc = limited("--index", str(index.root), "add", str(path), cwd=root / "work")
    assert_refused(proc, SDIST_NAME, "negative size in archive: 'abc1-1.0/neg'", before=before, root=root)


def test_shapes_are_what_they_say():
    """The shapes really declare what the tests refuse (a shape that no longer did would make
    the refusals above prove nothing)."""
    import struct
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = sdist_with_big_header(Path(tmp), b"x", 4 * MIB)
        with tarfile.open(path, "r:gz") as tf:  # tarfile itself reads the 4 MiB header
            assert [m.name for m in tf.getmembers()] == [f"{TOP}/PKG-INFO", f"{TOP}/setup.py"]
        path.unlink()
        path = wheel_with_extra_entries(Path(tmp), 1000)
        with zipfile.ZipFile(path) as zf:
            assert len(zf.infolist()) == 1004
        data = path.read_bytes()
        assert struct.unpack("<H", data[-12:-10])[0] == 5
    assert GIB == 1 << 30


@pytest.mark.parametrize("content_type", ["text/x-rst", "text/markdown"])
def test_build_of_a_wheel_with_an_8mib_description_stays_under_the_memory_limit(arena, content_type):
    """The README renderers take 90 to 400 times a text's size: a description as long as the
    metadata bound allows (8 MiB) is cut to 1 MiB and shown as plain text; before, `build` took
    732 MiB (Markdown) and over 1.7 GB (reStructuredText) for it."""
    from hostile_shapes import wheel_with_big_description

    index, dist, root = arena
    path = wheel_with_big_description(dist, content_type)
    proc = limited("--index", str(index.root), "add", str(path), cwd=root / "work")
    assert proc.returncode == 0, proc.stderr
    proc = limited("--index", str(index.root), "build", "--full", cwd=root / "work")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    pages = [p for p in (index.root / "_site").rglob("*.html") if b"[README cut at 1048576 of its" in p.read_bytes()]
    assert pages, "no page says the README was cut"


def test_long_readmes_fall_back_to_plain_text():
    from pagesindex.pages import README_RST_LIMIT, render_readme

    rst = "* item\n" * (README_RST_LIMIT // 7 + 10)
    assert render_readme(rst, "text/x-rst")[1] == "plain"
    assert render_readme(rst[: README_RST_LIMIT // 2], "text/x-rst")[1] == "rst"
    md = "- item\n" * (1024 * 1024 // 7 + 10)
    assert render_readme(md, "text/markdown")[1] == "plain"
    assert render_readme(md[:100_000], "text/markdown")[1] == "markdown"
