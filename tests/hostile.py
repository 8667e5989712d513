"""Helpers for the adversarial suite: crafted archives and the refusal contract.

The contract every hostile case asserts (:func:`assert_refused`): exit status 1, one line
``error: ...`` naming the bad value, no traceback, the index byte-for-byte unchanged, and nothing
written anywhere else under the test's folder (the working folder of the command included).
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple

PKG = "abc1"
VERSION = "1.0"
TOP = f"{PKG}-{VERSION}"
DIST_INFO = f"{PKG}-{VERSION}.dist-info"
WHEEL_NAME = f"{PKG}-{VERSION}-py3-none-any.whl"
SDIST_NAME = f"{PKG}-{VERSION}.tar.gz"


def metadata(name: str = PKG, version: str = VERSION, extra: str = "") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: hostile test\n{extra}".encode()


WHEEL_FILE = b"Wheel-Version: 1.0\nGenerator: hostile\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def snapshot(root: Path) -> Dict[str, bytes]:
    """Every file and link under ``root`` (except the index lock file) with its bytes."""
    out: Dict[str, bytes] = {}
    for p in sorted(Path(root).rglob("*")):
        if p.name == ".pagesindex.lock":
            continue
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = b"link:" + os.readlink(p).encode()
        elif p.is_file():
            out[rel] = p.read_bytes()
        elif p.is_dir():
            out[rel + "/"] = b""
    return out


def cli(
    *args: str,
    index: Optional[Path] = None,
    cwd: Optional[Path] = None,
    env: Optional[Dict[str, str]] = None,
    real: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``pagesindex [--index INDEX] ARGS`` in ``cwd`` with extra ``env``.

    ``real=True`` runs ``python -m pagesindex`` in a subprocess; otherwise the same ``main`` runs
    in this process through click's test runner (10x faster, for the many hostile cases), and an
    exception other than the CLI's own exit is re-raised, so a traceback still fails the test.
    """
    full = (["--index", str(index)] if index is not None else []) + list(args)
    if real:
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "pagesindex"] + full, capture_output=True, text=True, cwd=cwd, env=full_env)
    from click.testing import CliRunner

    from pagesindex.cli import main

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        try:
            runner = CliRunner(mix_stderr=False)  # click < 8.2 mixes stderr into stdout by default
        except TypeError:
            runner = CliRunner()  # click >= 8.2 keeps them apart and has no such argument
        result = runner.invoke(main, full, env=env, catch_exceptions=True)
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        text = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(f"pagesindex {full} raised:\nTraceback\n{text}")
    return subprocess.CompletedProcess(full, result.exit_code, result.stdout, result.stderr)


def assert_refused(
    proc: subprocess.CompletedProcess, *needles: str, before: Dict[str, bytes], root: Path, site: Optional[str] = None
) -> None:
    """The refusal contract (see the module docstring); ``root`` is the test's whole folder.

    ``site`` (a path relative to ``root``, for `build`) is left out of the comparison: a failed
    build may have rendered other projects there; the state and everything else must not change.
    """
    assert proc.returncode == 1, f"expected a refusal, got {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in {proc.stderr!r}"
    after = snapshot(root)
    if site is not None:
        before = {k: v for k, v in before.items() if not k.startswith(site)}
        after = {k: v for k, v in after.items() if not k.startswith(site)}
    assert after == before, "something was written: " + ", ".join(sorted(set(after) ^ set(before)) or ["(changed bytes)"])


def write_zip(path: Path, members: Iterable[Tuple[str, bytes]], *, symlinks: Iterable[Tuple[str, str]] = ()) -> Path:
    """A zip with ``members`` (duplicates allowed) and symlink members ``(name, target)``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
            for name, target in symlinks:
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.create_system = 3
                info.external_attr = (0o120777) << 16
                zf.writestr(info, target)
    return path


def wheel_members(meta: bytes = None, dist_info: str = DIST_INFO) -> list:
    return [
        (f"{PKG}/__init__.py", b""),
        (f"{dist_info}/METADATA", metadata() if meta is None else meta),
        (f"{dist_info}/WHEEL", WHEEL_FILE),
        (f"{dist_info}/RECORD", b""),
    ]


def write_tar(path: Path, members: Iterable[tuple]) -> Path:
    """A tar.gz; each member is ``(name, data)`` for a file or ``(name, target, type)`` with
    type ``"sym"``, ``"hard"``, ``"dir"``, ``"fifo"`` or ``"chr"``; ``(name, size, "huge")`` declares
    a size without data."""
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            info = tarfile.TarInfo(member[0])
            info.mtime = 1704067200
            if len(member) == 2:
                info.size = len(member[1])
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(member[1]))
                continue
            _name, arg, kind = member
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, arg
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, arg
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "huge":
                info.size = arg
                # header only: the size is declared, the data never comes (written by hand, as
                # tarfile >= 3.13 refuses a regular file without its data)
                header = info.tobuf(tf.format, tf.encoding, tf.errors) + b"\0" * 512
                tf.fileobj.write(header)
                tf.offset += len(header)
                continue
            tf.addfile(info)
    return path


def set_zip_sizes(path: Path, member: str, *, uncompressed: int) -> None:
    """Rewrite the uncompressed size that the local header and the central directory declare
    for ``member`` (a lying header)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    # local file header: signature, ..., uncompressed size at offset 22, name at 30
    pos = 0
    while True:
        pos = data.find(b"PK\x03\x04", pos)
        if pos < 0:
            break
        n = struct.unpack("<H", data[pos + 26 : pos + 28])[0]
        if bytes(data[pos + 30 : pos + 30 + n]) == name:
            data[pos + 22 : pos + 26] = struct.pack("<I", uncompressed)
        pos += 4
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack("<H", data[pos + 28 : pos + 30])[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == name:
            data[pos + 24 : pos + 28] = struct.pack("<I", uncompressed)
        pos += 4
    path.write_bytes(bytes(data))


def set_eocd_count(path: Path, count: int) -> None:
    """Rewrite the entry counts in a zip's end-of-central-directory record."""
    data = bytearray(path.read_bytes())
    pos = data.rfind(b"PK\x05\x06")
    data[pos + 8 : pos + 12] = struct.pack("<HH", count, count)
    path.write_bytes(bytes(data))


def set_encrypted_flag(path: Path, member: str) -> None:
    """Mark ``member`` encrypted (general purpose flag bit 0) in both headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for sig, flag_at, len_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        pos = 0
        while True:
            pos = data.find(sig, pos)
            if pos < 0:
                break
            n = struct.unpack("<H", data[pos + len_at : pos + len_at + 2])[0]
            if bytes(data[pos + name_at : pos + name_at + n]) == name:
                flags = struct.unpack("<H", data[pos + flag_at : pos + flag_at + 2])[0] | 1
                data[pos + flag_at : pos + flag_at + 2] = struct.pack("<H", flags)
            pos += 4
    path.write_bytes(bytes(data))
