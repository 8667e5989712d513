"""Renaming wheels for `register --as` (pagesindex.sources.rename)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile

import pytest
from factory import make_sdist, make_wheel

from pagesindex.inspect import inspect_file
from pagesindex.sources.rename import RenameError, escaped, rename_sdist, rename_wheel


def record_ok(path):
    """Every RECORD row's hash and size match the member (the RECORD itself excepted)."""
    with zipfile.ZipFile(path) as zf:
        (rec_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(zf.read(rec_name).decode())))
        listed = {r[0] for r in rows}
        assert listed == set(zf.namelist())
        for name, digest, size in rows:
            if name == rec_name:
                assert digest == "" and size == ""
                continue
            data = zf.read(name)
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (expected, len(data)), name
        return zf.namelist()


def test_escaped():
    assert escaped("Kavli.Numpy") == "kavli_numpy"


def test_rename_wheel_rewrites_name_folder_record_and_filename(tmp_path):
    w = make_wheel(tmp_path / "in", "numpy", "1.26.0", module="numpy", tag="cp312-cp312-manylinux_2_17_x86_64",
                   extra_files={"numpy-1.26.0.data/scripts/np-tool": b"#!python\nprint(1)\n"})
    out = rename_wheel(w, "kavli-numpy", tmp_path / "out")
    assert out.name == "kavli_numpy-1.26.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    names = record_ok(out)
    assert "numpy/__init__.py" in names
    assert "kavli_numpy-1.26.0.dist-info/METADATA" in names
    assert "kavli_numpy-1.26.0.data/scripts/np-tool" in names
    assert not any(n.startswith("numpy-1.26.0") for n in names)
    inspected = inspect_file(out)
    assert (inspected.name, str(inspected.version), inspected.display_name) == ("kavli-numpy", "1.26.0", "kavli-numpy")
    # the rest of the metadata is unchanged
    with zipfile.ZipFile(w) as a, zipfile.ZipFile(out) as b:
        old = a.read("numpy-1.26.0.dist-info/METADATA").decode().splitlines()
        new = b.read("kavli_numpy-1.26.0.dist-info/METADATA").decode().splitlines()
        assert [line for line in old if not line.startswith("Name:")] == [line for line in new if not line.startswith("Name:")]
        assert b.read("numpy/__init__.py") == a.read("numpy/__init__.py")


def test_signed_wheel_is_refused(tmp_path):
    w = make_wheel(tmp_path, "numpy", "1.0", extra_files={"numpy-1.0.dist-info/RECORD.jws": b"{}"})
    with pytest.raises(RenameError, match="signed"):
        rename_wheel(w, "kavli-numpy", tmp_path / "out")


def test_wheel_whose_record_misses_a_file_is_refused(tmp_path):
    w = make_wheel(tmp_path, "numpy", "1.0")
    with zipfile.ZipFile(w, "a") as zf:
        zf.writestr("numpy/extra.py", b"x = 1\n")
    with pytest.raises(RenameError, match="RECORD does not list 'numpy/extra.py'"):
        rename_wheel(w, "kavli-numpy", tmp_path / "out")


def test_metadata_with_two_names_is_refused(tmp_path):
    w = make_wheel(tmp_path, "numpy", "1.0", metadata=b"Metadata-Version: 2.1\nName: numpy\nName: other\nVersion: 1.0\n")
    with pytest.raises(RenameError, match="2 Name fields"):
        rename_wheel(w, "kavli-numpy", tmp_path / "out")


def test_sdists_are_refused(tmp_path):
    s = make_sdist(tmp_path, "numpy", "1.0")
    with pytest.raises(RenameError, match="cannot be renamed to 'kavli-numpy' safely"):
        rename_sdist(s, "kavli-numpy")


def _with_record(w, extra_rows: str, bomb: int = 0):
    """Rewrite wheel ``w``: RECORD gains ``extra_rows`` (and a row for ``numpy/bomb.bin``, a
    deflated member of ``bomb`` zero bytes streamed in, when ``bomb``)."""
    out = w.with_name("tmp-" + w.name)
    with zipfile.ZipFile(w) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/RECORD"):
                data += (("numpy/bomb.bin,,\n" if bomb else "") + extra_rows).encode()
            zout.writestr(info, data)
        if bomb:
            with zout.open("numpy/bomb.bin", "w") as fh:
                chunk = b"\0" * (1 << 20)
                for _ in range(bomb >> 20):
                    fh.write(chunk)
    out.replace(w)
    return w


def test_rename_streams_members_and_bounds_record(tmp_path):
    """A member that inflates to 128 MiB is copied in steps (the old code read members whole), and
    a RECORD with more rows than the wheel has members is refused before it is kept in memory."""
    import tracemalloc

    w = _with_record(make_wheel(tmp_path / "in", "numpy", "1.0"), "", bomb=128 << 20)
    assert w.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        out = rename_wheel(w, "kavli-numpy", tmp_path / "out")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak} bytes"
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo("numpy/bomb.bin").file_size == 128 << 20
    w2 = _with_record(make_wheel(tmp_path / "in2", "numpy", "1.0"), "\n" * 1000 + "numpy/x.py,,\n" * 50)
    with pytest.raises(RenameError, match="RECORD lists more rows than the wheel has members"):
        rename_wheel(w2, "kavli-numpy", tmp_path / "out2")
