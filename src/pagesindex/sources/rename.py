"""Rename a wheel to another distribution name (``pagesindex register ... --as NAME``).

pip and uv refuse a file whose name differs from the project it is listed under, so registering a
private ``numpy`` as ``kavli-numpy`` needs a wheel that really is ``kavli-numpy``: its filename,
its ``.dist-info`` (and ``.data``) folder, the ``Name`` field of its core metadata, and its RECORD
(paths, and the hash and size of the changed METADATA) all carry the new name. The importable
packages inside are untouched, so ``import numpy`` still works.

Names and folders follow the binary distribution format spec ("Escaping and Unicode":
the normalized name with ``-`` replaced by ``_``). Sdists are not renamed: their build
configuration names the project again (``pyproject.toml``, ``setup.py``, ``setup.cfg``), and a
rewrite there cannot be made safe in general; :func:`rename_sdist` refuses. Signed wheels
(``RECORD.jws``/``RECORD.p7s``) are refused too, since renaming breaks the signature.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
import zipfile
import zlib
from pathlib import Path
from typing import Dict, List

from packaging.utils import canonicalize_name, parse_wheel_filename

from .. import limits
from ..errors import InvalidDistribution, PagesIndexError
from ..inspect import check_filename, open_zip

#: The largest RECORD that is read, in bytes (100 000 rows of 160 bytes).
RECORD_LIMIT = 16 * 1024 * 1024
#: Members are copied in steps of this many bytes, never read whole.
COPY_CHUNK = 64 * 1024


class RenameError(PagesIndexError):
    """A distribution file that cannot be renamed safely."""


def escaped(name: str) -> str:
    """The wheel-filename form of a project name: ``Kavli.Numpy`` -> ``kavli_numpy``."""
    return str(canonicalize_name(name)).replace("-", "_")


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _rename_metadata(metadata: bytes, new_name: str, filename: str) -> bytes:
    text = metadata.decode("utf-8")
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    hits = [i for i, line in enumerate(lines) if line.lower().startswith("name:")]
    if len(hits) != 1:
        raise RenameError(f"{filename}: METADATA has {len(hits)} Name fields; cannot rename it")
    lines[hits[0]] = f"Name: {new_name}"
    return ("\n".join(lines) + sep + body).encode("utf-8")


def rename_wheel(path: Path, new_name: str, outdir: Path) -> Path:
    """Write a copy of the wheel at ``path`` renamed to ``new_name`` into ``outdir``.

    Returns the new file's path (``<escaped new name>-<rest of the old filename>``). Raises
    :class:`RenameError` for a signed wheel, a METADATA without exactly one Name, or a RECORD
    that does not list the archive; :class:`~pagesindex.errors.InvalidDistribution` for a file
    that is not a wheel.
    """
    path = Path(path)
    filename = path.name
    check_filename(filename)
    try:
        old_name, _version, _build, _tags = parse_wheel_filename(filename)
    except Exception as exc:
        raise InvalidDistribution(f"invalid wheel filename: {filename!r} ({exc})") from None
    new_escaped = escaped(new_name)
    new_filename = new_escaped + "-" + filename.split("-", 1)[1]
    check_filename(new_filename)
    try:
        with open_zip(path, filename) as zin:
            return _rename(zin, filename, old_name, new_name, new_escaped, new_filename, Path(outdir))
    except zipfile.BadZipFile as exc:
        raise InvalidDistribution(f"{filename}: not a valid zip archive ({exc})") from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise InvalidDistribution(f"{filename}: corrupt zip archive ({' '.join(str(exc).split())})") from None


def _read_member(zin: zipfile.ZipFile, info: zipfile.ZipInfo, bound: int, filename: str) -> bytes:
    """A member's bytes, refused when it declares or inflates to more than ``bound`` bytes."""
    if info.file_size > bound:
        raise RenameError(f"{filename}: {info.filename} is larger than {bound} bytes")
    with zin.open(info) as fh:
        data = fh.read(bound + 1)
    if len(data) > bound:
        raise RenameError(f"{filename}: {info.filename} is larger than {bound} bytes")
    return data


def _rename(zin: zipfile.ZipFile, filename: str, old_name, new_name: str, new_escaped: str, new_filename: str,
            outdir: Path) -> Path:
    infos = zin.infolist()
    unpacked = sum(i.file_size for i in infos)
    if unpacked > limits.limit("unpacked"):
        raise RenameError(
            f"{filename}: the members declare {limits.human(unpacked)}, over the bound of "
            f"{limits.human(limits.limit('unpacked'))} that renaming rewrites"
        )
    dist_infos = sorted({i.filename.split("/")[0] for i in infos if i.filename.split("/")[0].endswith(".dist-info") and "/" in i.filename})
    if len(dist_infos) != 1:
        raise RenameError(f"{filename}: expected one .dist-info folder, found {len(dist_infos)}")
    old_dist_info = dist_infos[0]
    old_prefix = old_dist_info[: -len(".dist-info")]
    if "-" not in old_prefix or canonicalize_name(old_prefix.split("-")[0]) != old_name:
        raise RenameError(f"{filename}: .dist-info folder {old_dist_info!r} does not name the project {old_name!r}")
    new_prefix = new_escaped + "-" + old_prefix.split("-", 1)[1]
    renames = {old_dist_info: new_prefix + ".dist-info", old_prefix + ".data": new_prefix + ".data"}
    names = {i.filename for i in infos}
    for signed in ("RECORD.jws", "RECORD.p7s"):
        if f"{old_dist_info}/{signed}" in names:
            raise RenameError(f"{filename}: the wheel is signed ({signed}); renaming would break the signature")
    top_new = {i.filename.split("/")[0] for i in infos}
    for new_dir in renames.values():
        if new_dir in top_new:
            raise RenameError(f"{filename}: already has a folder {new_dir!r}")

    def moved(member: str) -> str:
        top, sep, rest = member.partition("/")
        return renames.get(top, top) + sep + rest if sep else member

    record_name = f"{old_dist_info}/RECORD"
    if record_name not in names:
        raise RenameError(f"{filename}: no RECORD in {old_dist_info}")
    metadata_name = f"{old_dist_info}/METADATA"
    if metadata_name not in names:
        raise RenameError(f"{filename}: no METADATA in {old_dist_info}")
    new_metadata = _rename_metadata(
        _read_member(zin, zin.getinfo(metadata_name), limits.limit("metadata"), filename), new_name, filename
    )
    record = _read_member(zin, zin.getinfo(record_name), RECORD_LIMIT, filename)
    rows = []
    for row in csv.reader(io.StringIO(record.decode("utf-8"))):
        if not row:
            continue
        rows.append(row)
        if len(rows) > len(infos):
            raise RenameError(f"{filename}: RECORD lists more rows than the wheel has members ({len(infos)})")
    del record
    listed = {row[0] for row in rows}
    unlisted = sorted(n for n in names if not n.endswith("/") and n not in listed)
    if unlisted:
        raise RenameError(f"{filename}: RECORD does not list {unlisted[0]!r}")
    out_rows: List[List[str]] = []
    for row in rows:
        if not row:
            continue
        member = row[0]
        if member == metadata_name:
            out_rows.append([moved(member), _record_hash(new_metadata), str(len(new_metadata))])
        elif member == record_name:
            out_rows.append([moved(member), "", ""])
        else:
            out_rows.append([moved(member)] + row[1:])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(out_rows)
    new_record = buf.getvalue().encode("utf-8")
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / new_filename
    replaced: Dict[str, bytes] = {metadata_name: new_metadata, record_name: new_record}
    with zipfile.ZipFile(target, "w") as zout:
        for info in infos:
            data = replaced.get(info.filename)
            new_info = zipfile.ZipInfo(moved(info.filename), date_time=info.date_time)
            new_info.compress_type = info.compress_type
            new_info.external_attr = info.external_attr
            new_info.create_system = info.create_system
            if data is not None:
                zout.writestr(new_info, data)
                continue
            # Copied in steps: a member may inflate to far more than the wheel weighs.
            new_info.file_size = info.file_size  # lets zipfile choose zip64 for a large member
            with zin.open(info) as src, zout.open(new_info, "w") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
    return target


def rename_sdist(path: Path, new_name: str) -> Path:
    """Always raises :class:`RenameError`: an sdist cannot be renamed safely (see module doc)."""
    raise RenameError(
        f"{Path(path).name}: an sdist cannot be renamed to {new_name!r} safely (its build configuration names the "
        "project again); only wheels are registered under another name"
    )


__all__ = ["RenameError", "escaped", "rename_sdist", "rename_wheel"]
