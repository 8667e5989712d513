"""The committed state of an index: ``index.toml``, ``projects/*.json`` and ``packages/``.

This module is the only code that writes the state. Every write goes to a temporary file in the
same folder and is then renamed over the target (``os.replace``), so a crash leaves either the
old or the new file, never a partial one. Commands that change the state hold :meth:`Index.lock`
(a lock file in the index folder) so two processes never interleave their writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from filelock import FileLock, Timeout

from .errors import FileConflict, IndexStateError, InvalidDistribution, NotFound, PagesIndexError
from .inspect import InspectedFile
from .model import DistributionFile, Project, Release, normalize_name, parse_version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

CONFIG_FILE = "index.toml"
PROJECTS_DIR = "projects"
PACKAGES_DIR = "packages"
LOCK_FILE = ".pagesindex.lock"

DEFAULT_CONFIG = """\
# pagesindex settings: https://github.com/ (see README.md, "index.toml")
[index]
title = {title}
description = {description}
# Public URL of the built site (used only in the install commands that pages show).
url = {url}

[policy]
# "public": the site is public (GitHub Pages); files of private repositories are not hosted.
# "private": the site is served privately, so files of private repositories may be hosted.
visibility = "public"
"""


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def utc_now() -> str:
    """The current time as ISO 8601 UTC with a ``Z`` suffix, to the second (PEP 700 upload-time)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` byte for byte through a temporary file and a rename."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _stage_copy(src: Path, target: Path, size: int) -> Path:
    """Copy ``src`` to a temporary file beside ``target`` (not synced); return its path.

    Raises :class:`~pagesindex.errors.InvalidDistribution` when the copy's size is not ``size``
    (the file changed after it was inspected).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        shutil.copyfile(src, tmp)  # sendfile(2) on Linux: no copy through Python
        os.chmod(tmp, 0o644)
        if tmp.stat().st_size != size:
            raise InvalidDistribution(f"{src}: the file changed while it was being added")
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _stage_bytes(data: bytes, target: Path) -> Path:
    """Write ``data`` to a temporary file beside ``target`` (not synced); return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(name, 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dump_record(project: Project) -> bytes:
    """The canonical bytes of a project record (sorted keys, 2-space indent, final newline)."""
    return (json.dumps(project.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class IndexConfig:
    """Settings from ``index.toml``: ``[index]`` title, description, url; ``[policy]`` visibility.

    ``raw`` keeps the whole parsed TOML for settings that later features read.
    """

    title: str = "Python package index"
    description: str = ""
    url: str = ""
    visibility: str = "public"
    #: ``[pypi] url``: base URL of PyPI for the dependency-confusion check ("" = the default).
    pypi_url: str = ""
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def pypi_base_url(self) -> str:
        """``[pypi] url`` without a trailing ``/`` or ``/simple`` (default ``https://pypi.org``),
        for pages; ``pagesindex check`` validates it (see ``checks.pypi.resolve_pypi_url``)."""
        base = (self.pypi_url or "https://pypi.org").strip().rstrip("/")
        return base[: -len("/simple")] if base.endswith("/simple") else base

    @classmethod
    def from_toml(cls, text: str, source: str = CONFIG_FILE) -> "IndexConfig":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise IndexStateError(f"{source}: invalid TOML ({exc})") from None
        index = raw.get("index", {})
        policy = raw.get("policy", {})
        visibility = policy.get("visibility", "public")
        if visibility not in ("public", "private"):
            raise IndexStateError(f"{source}: policy.visibility must be 'public' or 'private', not {visibility!r}")
        pypi = raw.get("pypi", {})
        pypi_url = pypi.get("url", "") if isinstance(pypi, dict) else None
        if not isinstance(pypi_url, str):
            raise IndexStateError(f"{source}: pypi.url must be a string URL, not {pypi_url!r}")
        return cls(
            title=str(index.get("title", cls.title)),
            description=str(index.get("description", "")),
            url=str(index.get("url", "")),
            visibility=visibility,
            pypi_url=pypi_url,
            raw=raw,
        )


@dataclass
class AddResult:
    """What :meth:`Index.add_files` did: files added, and files already present (no-op)."""

    added: List[DistributionFile] = field(default_factory=list)
    unchanged: List[DistributionFile] = field(default_factory=list)
    projects: List[str] = field(default_factory=list)


class Index:
    """An index repository on disk.

    ``root`` holds ``index.toml``, ``projects/<normalized-name>.json`` and
    ``packages/<normalized-name>/<filename>``. Raises
    :class:`~pagesindex.errors.IndexStateError` when ``index.toml`` is missing or invalid.
    """

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        config_path = self.root / CONFIG_FILE
        if not config_path.is_file():
            raise IndexStateError(
                f"not an index: no {CONFIG_FILE} in {str(self.root)!r} (run 'pagesindex init' or pass --index)"
            )
        self.config = IndexConfig.from_toml(config_path.read_text(encoding="utf-8"), str(config_path))

    # -- creation -------------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path, *, title: str = "Python package index", url: str = "", description: str = "") -> "Index":
        """Create ``index.toml``, ``projects/`` and ``packages/`` in ``root`` (refuses an existing index)."""
        root = Path(root)
        if (root / CONFIG_FILE).exists():
            raise IndexStateError(f"{str(root / CONFIG_FILE)!r} already exists")
        root.mkdir(parents=True, exist_ok=True)
        text = DEFAULT_CONFIG.format(title=_toml_str(title), url=_toml_str(url), description=_toml_str(description))
        atomic_write(root / CONFIG_FILE, text.encode("utf-8"))
        for sub in (PROJECTS_DIR, PACKAGES_DIR):
            (root / sub).mkdir(exist_ok=True)
            keep = root / sub / ".gitkeep"
            if not keep.exists():
                keep.write_bytes(b"")
        return cls(root)

    # -- paths ----------------------------------------------------------------------------
    @property
    def projects_dir(self) -> Path:
        return self.root / PROJECTS_DIR

    @property
    def packages_dir(self) -> Path:
        return self.root / PACKAGES_DIR

    def record_path(self, name: str) -> Path:
        return self.projects_dir / f"{normalize_name(name)}.json"

    def file_path(self, name: str, filename: str) -> Path:
        """Where a project's distribution file is kept: ``packages/<normalized-name>/<filename>``."""
        return self.packages_dir / normalize_name(name) / filename

    # -- locking --------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float = 60.0) -> Iterator[None]:
        """Hold the index's write lock (``.pagesindex.lock``); wait up to ``timeout`` seconds.

        Raises :class:`~pagesindex.errors.PagesIndexError` when another process holds it longer.
        """
        lock = FileLock(str(self.root / LOCK_FILE))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise PagesIndexError(
                f"another pagesindex command holds {str(self.root / LOCK_FILE)!r}; waited {timeout:g} s"
            ) from None
        try:
            yield
        finally:
            lock.release()

    # -- reading --------------------------------------------------------------------------
    def project_names(self) -> List[str]:
        """Normalized names of every project with a record, sorted."""
        if not self.projects_dir.is_dir():
            return []
        return sorted(p.name[:-5] for p in self.projects_dir.glob("*.json") if not p.name.startswith("."))

    def load_project(self, name: str) -> Optional[Project]:
        """The project's record, or ``None`` when it has none."""
        path = self.record_path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return self._parse_record(path, data)

    @staticmethod
    def _parse_record(path: Path, data: bytes) -> Project:
        try:
            project = Project.from_json(json.loads(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexStateError(f"{str(path)!r}: invalid project record ({exc})") from None
        if project.normalized_name != path.name[:-5]:
            raise IndexStateError(
                f"{str(path)!r}: record names project {project.name!r}, whose normalized name is not {path.name[:-5]!r}"
            )
        return project

    def get_project(self, name: str) -> Project:
        """The project's record; raises :class:`~pagesindex.errors.NotFound` naming it."""
        project = self.load_project(name)
        if project is None:
            raise NotFound(f"no project {name!r} on this index")
        return project

    def projects(self) -> List[Project]:
        return [p for p in (self.load_project(n) for n in self.project_names()) if p is not None]

    # -- writing --------------------------------------------------------------------------
    def save_project(self, project: Project) -> bool:
        """Write the project's record atomically; return False when the bytes were already there."""
        path = self.record_path(project.name)
        data = dump_record(project)
        try:
            if path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        atomic_write(path, data)
        return True

    def add_files(
        self,
        files: Sequence[InspectedFile],
        *,
        summary: Optional[str] = None,
        author: Optional[str] = None,
        homepage: Optional[str] = None,
        upload_time: Optional[str] = None,
    ) -> AddResult:
        """Ingest inspected distribution files into the state.

        Each file is copied byte for byte to ``packages/<name>/<filename>`` and recorded in
        ``projects/<name>.json`` with its sha256, size, requires-python, upload time and (wheels)
        core-metadata sha256. An identical file already recorded is a no-op; a different file
        under a recorded filename raises :class:`~pagesindex.errors.FileConflict`. All checks run
        before anything is written; on a failure while writing, files copied by this call are
        removed and no record changes. ``summary``/``author``/``homepage`` override the record's
        fields; otherwise empty fields are filled from the newest release's core metadata.
        """
        upload_time = upload_time or utc_now()
        result = AddResult()
        by_project: Dict[str, List[InspectedFile]] = {}
        seen: Dict[str, str] = {}
        for f in files:
            if f.filename in seen and seen[f.filename] != f.sha256:
                raise FileConflict(f"two different files named {f.filename!r} were given")
            seen[f.filename] = f.sha256
            by_project.setdefault(f.name, []).append(f)

        # Plan every change in memory first.
        plans: List[tuple] = []  # (project, [(inspected, DistributionFile)])
        for name, inspected in sorted(by_project.items()):
            existing = self.load_project(name)
            project = existing.copy() if existing else Project(name=inspected[0].display_name)
            to_copy = []
            for f in sorted(inspected, key=lambda i: i.filename):
                version = str(f.version)
                release = project.releases.get(version)
                if release is None:
                    # A release recorded under another spelling of the same version.
                    release = project.release(version)
                if release is not None:
                    recorded = release.file(f.filename)
                    if recorded is not None:
                        if recorded.sha256 == f.sha256:
                            if not any(u is recorded for u in result.unchanged):
                                result.unchanged.append(recorded)
                            continue
                        raise FileConflict(
                            f"{f.filename}: the index already has a different file of that name "
                            f"(sha256 {recorded.sha256[:12]}…, new {f.sha256[:12]}…); files are immutable"
                        )
                else:
                    release = project.releases[version] = Release(version=version)
                dist = DistributionFile(
                    filename=f.filename,
                    kind=f.kind,
                    sha256=f.sha256,
                    size=f.size,
                    upload_time=upload_time,
                    requires_python=f.requires_python,
                    core_metadata_sha256=f.metadata_sha256 if f.kind == "wheel" else None,
                )
                if release.file(f.filename) is None:
                    release.files.append(dist)
                    to_copy.append((f, dist))
            newest = max(inspected, key=lambda i: i.version)
            is_newest = all(newest.version >= r.parsed_version for r in project.releases.values())
            for attr, override, from_meta in (
                ("summary", summary, newest.summary),
                ("author", author, newest.author),
                ("homepage", homepage, newest.homepage),
            ):
                if override is not None:
                    setattr(project, attr, override)
                elif not getattr(project, attr) or (existing is None and from_meta):
                    setattr(project, attr, from_meta)
            if is_newest and newest.display_name and normalize_name(newest.display_name) == name:
                project.name = newest.display_name
            plans.append((existing, project, to_copy))

        # Then write. Every new file and changed record is first written to a temporary name
        # (files by a kernel copy) and synced by a background thread while the next ones are
        # written; only when all are on disk are they renamed into place, files before records.
        # A failure before the renames removes the temporary files: the state is as it was.
        staged: List[tuple] = []  # (temporary path, target)
        renamed: List[Path] = []
        try:
            with ThreadPoolExecutor(max_workers=1) as syncer:
                syncs = []
                for _existing, project, to_copy in plans:
                    for f, dist in to_copy:
                        target = self.file_path(project.name, f.filename)
                        if target.exists():
                            from .inspect import hash_file

                            if hash_file(target)[0] == f.sha256:
                                result.added.append(dist)
                                continue
                        tmp = _stage_copy(f.path, target, f.size)
                        staged.append((tmp, target))
                        syncs.append(syncer.submit(_fsync_path, tmp))
                        result.added.append(dist)
                for existing, project, _to_copy in plans:
                    if existing is not None and dump_record(existing) == dump_record(project):
                        continue
                    target = self.record_path(project.name)
                    data = dump_record(project)
                    with contextlib.suppress(FileNotFoundError):
                        if target.read_bytes() == data:
                            continue
                    tmp = _stage_bytes(data, target)
                    staged.append((tmp, target))
                    syncs.append(syncer.submit(_fsync_path, tmp))
                    result.projects.append(project.normalized_name)
                for sync in syncs:
                    sync.result()
            while staged:
                tmp, target = staged[0]
                os.replace(tmp, target)
                staged.pop(0)
                if target.parent != self.projects_dir:
                    renamed.append(target)
        except BaseException:
            for path in [tmp for tmp, _target in staged] + (renamed if staged else []):
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        return result

    def update_project(self, name: str, change: Callable[[Project], None], *, display_name: Optional[str] = None) -> bool:
        """Apply ``change`` to a copy of project ``name``'s record and save it when its bytes differ.

        A project without a record starts as an empty record named ``display_name`` (default
        ``name``). Returns True when the record was written. Raises
        :class:`~pagesindex.errors.IndexStateError` when ``change`` gives the project another
        normalized name (the record would move to another file).
        """
        wanted = normalize_name(name)
        existing = self.load_project(wanted)
        project = existing.copy() if existing else Project(name=display_name or name)
        change(project)
        if project.normalized_name != wanted:
            raise IndexStateError(f"cannot rename project {wanted!r} to {project.name!r} (another normalized name)")
        if existing is not None and dump_record(existing) == dump_record(project):
            return False
        return self.save_project(project)

    def remove(self, name: str, version: Optional[str] = None) -> List[str]:
        """Remove a whole project, or one release, with its files; return the filenames removed.

        Raises :class:`~pagesindex.errors.NotFound` naming the project or version.
        """
        project = self.get_project(name)
        if version is None:
            removed = [f.filename for f in project.all_files()]
            self.record_path(name).unlink()
            folder = self.packages_dir / project.normalized_name
            if folder.is_dir():
                shutil.rmtree(folder)
            return removed
        release = project.release(version)
        if release is None:
            raise NotFound(f"project {project.name!r} has no release {version!r}")
        updated = project.copy()
        del updated.releases[release.version]
        removed = [f.filename for f in release.files]
        if updated.releases:
            self.save_project(updated)
        else:
            self.record_path(name).unlink()
        for filename in removed:
            with contextlib.suppress(FileNotFoundError):
                self.file_path(name, filename).unlink()
        folder = self.packages_dir / project.normalized_name
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        return removed

    def set_pypi_check(self, name: str, record: Dict[str, Any]) -> bool:
        """Store a dependency-confusion check result as ``project.extra["pypi"]``; return False
        when the record already held exactly that.

        ``record`` (issue 5 contract): ``status`` ("higher"|"exists"|"clear"|"unknown"),
        ``versions`` (list of PyPI versions), ``highest`` (str or None), ``checked`` (ISO 8601
        UTC), ``pypi_url``, and ``error`` for "unknown". Raises
        :class:`~pagesindex.errors.NotFound` for an unknown project and
        :class:`~pagesindex.errors.PagesIndexError` for a record of another shape.
        """
        if not isinstance(record, dict) or record.get("status") not in ("higher", "exists", "clear", "unknown"):
            raise PagesIndexError(f"invalid PyPI check record for {name!r}: {record!r}")
        if not isinstance(record.get("versions"), list) or not isinstance(record.get("checked"), str):
            raise PagesIndexError(f"invalid PyPI check record for {name!r}: {record!r}")
        project = self.get_project(name)
        updated = project.copy()
        updated.extra["pypi"] = json.loads(json.dumps(record))
        return self.save_project(updated)

    def set_yanked(self, name: str, version: str, yanked: bool, reason: str = "") -> Release:
        """Yank or unyank a release (PEP 592); return the changed release."""
        project = self.get_project(name)
        release = project.release(version)
        if release is None:
            raise NotFound(f"project {project.name!r} has no release {version!r}")
        updated = project.copy()
        target = updated.releases[release.version]
        target.yanked = yanked
        target.yanked_reason = reason if yanked else ""
        self.save_project(updated)
        return target


def find_index(start: Optional[Path] = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current folder) with ``index.toml``."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise IndexStateError(f"not an index: no {CONFIG_FILE} in {str(here)!r} or above (run 'pagesindex init' or pass --index)")


__all__ = [
    "AddResult",
    "Index",
    "IndexConfig",
    "atomic_copy",
    "atomic_write",
    "find_index",
    "utc_now",
    "InvalidDistribution",
    "parse_version",
]
