"""Make real, installable wheels and sdists for tests (no build backend needed).

A wheel made here has ``<pkg>/__init__.py``, ``<dist>.dist-info/METADATA``, ``WHEEL`` and a
``RECORD`` with hashes, as the binary distribution format spec asks, so pip and uv install it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, Iterable, Optional


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def metadata_text(
    name: str,
    version: str,
    *,
    requires_python: Optional[str] = None,
    summary: str = "A test project",
    author: str = "Test Author",
    homepage: str = "",
    requires_dist: Iterable[str] = (),
    description: Optional[str] = None,
    content_type: str = "text/markdown",
    extra_headers: str = "",
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if author:
        lines.append(f"Author: {author}")
    if homepage:
        lines.append(f"Home-page: {homepage}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    for req in requires_dist:
        lines.append(f"Requires-Dist: {req}")
    if description is not None:
        lines.append(f"Description-Content-Type: {content_type}")
    text = "\n".join(lines) + "\n" + extra_headers
    if description is not None:
        text += "\n" + description
    return text


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    metadata_name: Optional[str] = None,
    metadata_version: Optional[str] = None,
    metadata: Optional[bytes] = None,
    module: Optional[str] = None,
    filename: Optional[str] = None,
    extra_files: Optional[Dict[str, bytes]] = None,
    **meta,
) -> Path:
    """Write ``<name>-<version>-<tag>.whl`` into ``folder`` and return its path.

    ``metadata_name`` / ``metadata_version`` put other values in METADATA than in the filename;
    ``metadata`` replaces METADATA's bytes entirely; ``module`` names the importable package.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    filename = filename or f"{dist}-{version}-{tag}.whl"
    dist_info = f"{dist}-{version}.dist-info"
    module = module or dist
    if metadata is None:
        metadata = metadata_text(metadata_name or name, metadata_version or version, **meta).encode()
    files: Dict[str, bytes] = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    files.update(extra_files or {})
    record = io.StringIO()
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{path},sha256={digest},{len(data)}\n")
    record.write(f"{dist_info}/RECORD,,\n")
    files[f"{dist_info}/RECORD"] = record.getvalue().encode()
    path = folder / filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path


def make_sdist(
    folder: Path,
    name: str,
    version: str,
    *,
    metadata_name: Optional[str] = None,
    metadata_version: Optional[str] = None,
    filename: Optional[str] = None,
    extra_members: Optional[Dict[str, bytes]] = None,
    **meta,
) -> Path:
    """Write ``<name>-<version>.tar.gz`` (PKG-INFO and a pyproject.toml) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    filename = filename or f"{dist}-{version}.tar.gz"
    top = f"{dist}-{version}"
    pkg_info = metadata_text(metadata_name or name, metadata_version or version, **meta).encode()
    members: Dict[str, bytes] = {
        f"{top}/PKG-INFO": pkg_info,
        f"{top}/pyproject.toml": (
            f'[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ).encode(),
    }
    members.update(extra_members or {})
    path = folder / filename
    with tarfile.open(path, "w:gz") as tf:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1704067200
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return path
