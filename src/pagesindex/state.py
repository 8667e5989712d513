"""The committed state of an index: ``index.toml``, ``projects/*.json`` and ``packages/``.

This module is the only code that writes the state. Every write goes to a temporary file in the
same folder and is then renamed over the target (``os.replace``), so a crash leaves either the
old or the new file, never a partial one. Commands that change the state hold :meth:`Index.lock`
(a lock file in the index folder) so two processes never interleave their writes.
"""

from __future__ import annotations

import contextlib
import json
import re
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence

# hashlib, shutil, tempfile, datetime and filelock are imported where used, so that commands that
# do not need them start faster (see "pagesindex --version").
from . import limits
from .errors import (
    FileConflict,
    IndexStateError,
    InvalidDistribution,
    InvalidName,
    InvalidVersion,
    LimitExceeded,
    NotFound,
    PagesIndexError,
)
from .inspect import InspectedFile, check_file_size, check_local_file, clean_url, hash_file, filename_key, inspect_file, parse_filename
from .model import DistributionFile, Project, Release, normalize_name, parse_version
from .stores import StorageConfig, open_store, parse_storage

if TYPE_CHECKING:
    from .attestations import VerifiedProvenance

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

CONFIG_FILE = "index.toml"
PROJECTS_DIR = "projects"
PACKAGES_DIR = "packages"
#: ``provenance/<name>/<filename>.provenance``: the verified PEP 740 provenance object of a file.
PROVENANCE_DIR = "provenance"
#: ``metadata/<sha256>``: core metadata of the wheels, committed with an object store (the pages
#: need it; the wheels themselves are not in the repository).
METADATA_DIR = "metadata"
LOCK_FILE = ".pagesindex.lock"
#: Present while a command that writes the state holds the lock (see :meth:`Index.lock`).
WRITING_MARKER = ".pagesindex-writing"
#: Prefix of the temporary files that atomic writes rename into place.
TMP_PREFIX = ".tmp-"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

DEFAULT_CONFIG = """\
# pagesindex settings (see "index.toml" in the pagesindex README)
[index]
title = {title}
description = {description}
# Public URL of the built site (used in the install commands that pages show, and to make
# the PEP 740 provenance URLs absolute).
url = {url}

[policy]
# "public": the site is public (GitHub Pages); files of private repositories are not hosted.
# "private": the site is served privately, so files of private repositories may be hosted.
visibility = "public"
# true: refuse files without verified PEP 740 attestations (see "Provenance" in the README).
# require-provenance = true
"""


def _toml_str(value: str) -> str:
    """A TOML basic string for ``value`` (TOML 1.0: quote, backslash and control characters
    escaped). Raises :class:`~pagesindex.errors.IndexStateError` for lone surrogates, which no
    TOML (or UTF-8) file can hold."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if 0xD800 <= code < 0xE000:
            raise IndexStateError(f"text cannot be stored in {CONFIG_FILE}: {value!r} (lone surrogate)")
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_line(value: str, what: str) -> str:
    """Refuse text with line breaks, control characters or lone surrogates (one line of text for a
    summary, author, yank reason); raise :class:`~pagesindex.errors.PagesIndexError` naming it."""
    if not isinstance(value, str) or _NOT_ONE_LINE.search(value):
        raise PagesIndexError(f"invalid {what}: {value!r} (one line of text, no control characters)")
    return value


def utc_now() -> str:
    """The current time as ISO 8601 UTC with a ``Z`` suffix, to the second (PEP 700 upload-time)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666`` less the process's umask (``0o644`` under
    the usual ``022``). Temporary files from :func:`tempfile.mkstemp` are ``0o600``; they get this
    mode before they are renamed into place, so state files follow the umask like any other."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename;
    ``sync`` flushes the file to the disk first (off for derived data that can be made again).
    The file gets the umask's mode (:func:`new_file_mode`)."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.chmod(tmp, new_file_mode())
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: Bytes read and written at a time when a distribution file is copied.
COPY_CHUNK = 1024 * 1024


def _fsync_path(path: Path) -> None:
    """Flush one file's data and size to the disk (``fsync`` on a read-only descriptor, which
    Linux and macOS accept)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_hashing(src: Path, out_fd: int) -> "tuple[str, int]":
    """Copy the bytes of ``src`` to the open descriptor ``out_fd``, hashing them on the way.

    One read of each byte (1 MiB at a time into one reused buffer), one sha256 update, one write;
    nothing is flushed. Returns ``(sha256 hex digest, size in bytes)`` of the bytes written.
    """
    import hashlib
    digest = hashlib.sha256()
    buf = bytearray(COPY_CHUNK)
    view = memoryview(buf)
    total = 0
    with open(src, "rb", buffering=0) as inp:
        while True:
            n = inp.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            digest.update(chunk)
            while chunk:
                written = os.write(out_fd, chunk)
                chunk = chunk[written:]
            total += n
    return digest.hexdigest(), total


def copy_to_temporary(src: Path, folder: Path, prefix: str = TMP_PREFIX) -> "tuple[Path, str, int]":
    """Copy ``src`` into a new temporary file in ``folder`` (the umask's mode, see
    :func:`new_file_mode`), not flushed; return ``(temporary path, sha256, size)``. The
    temporary file is removed on any failure."""
    import tempfile
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        try:
            sha256, size = copy_hashing(src, fd)
        finally:
            os.close(fd)
        os.chmod(tmp, new_file_mode())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp), sha256, size


def _changed(src: Path, copied: int, digest: str) -> InvalidDistribution:
    return InvalidDistribution(
        f"{str(src)!r} changed after it was inspected (now {copied} bytes, sha256 "
        f"{digest[:12]}…); run the command again"
    )


def atomic_copy(src: Path, dst: Path, *, sha256: Optional[str] = None, size: Optional[int] = None) -> None:
    """Copy ``src`` to ``dst`` byte for byte through a temporary file, an fsync and a rename.

    With ``sha256`` (hex) and/or ``size`` (bytes), the bytes copied are hashed on the way and
    must match, so a source file changed after it was inspected is never recorded under the old
    hash; a mismatch raises :class:`~pagesindex.errors.InvalidDistribution` and writes nothing.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp, digest, copied = copy_to_temporary(src, dst.parent)
    try:
        if (sha256 is not None and digest != sha256) or (size is not None and copied != size):
            raise _changed(src, copied, digest)
        _fsync_path(tmp)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Syncer:
    """Flush a batch of files before they are renamed into place.

    The files are copied first without a flush, then :meth:`wait` flushes each (``fsync``): by
    then the kernel has written most of their bytes back already, while the next files were being
    copied, so the batch costs about one wait for the disk instead of one per file (the idea of
    git's ``core.fsyncMethod=batch``). A flush in a background thread was tried as well: no
    faster on the measured machine, and a thread would complicate the crash tests' kill points.
    """

    def __init__(self) -> None:
        self._paths: List[Path] = []

    def submit(self, path: Path) -> None:
        self._paths.append(path)

    def wait(self) -> None:
        for path in self._paths:
            _fsync_path(path)
        self._paths = []

    def close(self) -> None:
        self._paths = []


#: Folder, in the index, of derived data kept between commands (git-ignored, safe to delete):
#: ``metadata/<sha256>`` (core metadata of the wheels added; rendered READMEs are kept outside the
#: index, see pages.ReadmeCache.for_user).
CACHE_DIR = ".pagesindex-cache"


def metadata_cache_path(root: Path, sha256: str) -> Path:
    """Where the core metadata whose sha256 (hex) is ``sha256`` is kept in the index's cache."""
    return Path(root) / CACHE_DIR / "metadata" / sha256


def cached_core_metadata_file(root: Path, sha256: Optional[str]) -> "Optional[tuple[bytes, str]]":
    """``(bytes, path)`` of the core metadata whose sha256 is ``sha256``, from the index's cache
    or the committed ``metadata/`` folder (see :func:`cached_core_metadata`), or ``None``. The
    path is a regular file (opened without following a link) holding exactly those bytes when
    read; the build links the sites' sidecars to it."""
    import hashlib
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        return None
    root = os.fspath(root)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    for path in (f"{root}/{CACHE_DIR}/metadata/{sha256}", f"{root}/{METADATA_DIR}/{sha256}"):
        try:
            fd = os.open(path, flags)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > limits.limit("metadata"):
                continue
            data = os.read(fd, st.st_size + 1)
        except OSError:
            continue
        finally:
            os.close(fd)
        if hashlib.sha256(data).hexdigest() == sha256:
            return data, path
    return None


def cached_core_metadata(root: Path, sha256: Optional[str]) -> Optional[bytes]:
    """The core metadata bytes whose sha256 is ``sha256`` (a record's ``core_metadata_sha256``)
    from the index's cache, or ``None`` when absent, unreadable, or not of that hash.

    ``add`` keeps each wheel's METADATA there, so a build can write the PEP 658 sidecar and read
    the release's fields without opening the wheel again. The bytes are hashed and must match,
    so the cache can make a build faster but never make it publish other bytes.
    """
    import hashlib
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        return None
    for path in (metadata_cache_path(root, sha256), Path(root) / METADATA_DIR / sha256):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    return None


def keep_core_metadata(root: Path, sha256: str, data: bytes) -> Optional[str]:
    """Put core metadata bytes (whose sha256 the caller checked) into the index's cache, for
    :func:`cached_core_metadata`; return the path, or None when the cache cannot be written
    (ignored: it only makes builds slower). No fsync (a lost entry is read from the wheel
    again); written through a temporary name and a rename, so a reader sees it whole."""
    folder = f"{os.fspath(root)}/{CACHE_DIR}/metadata"
    path = f"{folder}/{sha256}"
    tmp = f"{folder}/{TMP_PREFIX}{sha256}-{os.getpid()}"
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return path
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return None


def _keep_core_metadata(root: Path, files: Sequence[InspectedFile]) -> None:
    """Put the core metadata of ``files`` into the cache (no fsync: a lost entry is read from the
    wheel again); failures are ignored."""
    for f in files:
        try:
            path = metadata_cache_path(root, f.metadata_sha256)
            if not path.exists():
                atomic_write(path, f.metadata, sync=False)
        except OSError:
            continue


def dump_record(project: Project) -> bytes:
    """The canonical bytes of a project record (sorted keys, 2-space indent, final newline).

    Raises :class:`~pagesindex.errors.IndexStateError` naming the text when a field holds
    something UTF-8 cannot store (a lone surrogate, as a non-UTF-8 command argument gives).
    """
    text = json.dumps(project.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[max(0, exc.start - 20) : exc.end + 20]
        raise IndexStateError(f"text cannot be stored in the record of {project.name!r}: {bad!r} (not valid Unicode)") from None


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
    #: ``[policy] require-provenance``: refuse files without verified attestations (PEP 740).
    require_provenance: bool = False
    #: ``[storage]``: where the distribution files live (:func:`pagesindex.stores.parse_storage`).
    storage: StorageConfig = field(default_factory=StorageConfig)
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
        require_provenance = policy.get("require-provenance", False)
        if not isinstance(require_provenance, bool):
            raise IndexStateError(f"{source}: policy.require-provenance must be true or false, not {require_provenance!r}")
        return cls(
            require_provenance=require_provenance,
            title=str(index.get("title", cls.title)),
            description=str(index.get("description", "")),
            url=str(index.get("url", "")),
            visibility=visibility,
            pypi_url=pypi_url,
            storage=parse_storage(raw.get("storage"), source),
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
        #: Temporary copies made by :meth:`stage_file` that :meth:`add_files` has not used yet.
        self._staged: Dict[Path, str] = {}
        self._store: Any = None

    @property
    def store(self) -> Any:
        """The object store client (:func:`pagesindex.stores.open_store`), or None with ``git``."""
        if self._store is None and self.config.storage.is_object_store:
            self._store = open_store(self.config.storage)
        return self._store

    @property
    def metadata_dir(self) -> Path:
        return self.root / METADATA_DIR

    # -- creation -------------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path, *, title: str = "Python package index", url: str = "", description: str = "") -> "Index":
        """Create ``index.toml``, ``projects/`` and ``packages/`` in ``root`` (refuses an existing index)."""
        root = Path(root)
        if (root / CONFIG_FILE).exists():
            raise IndexStateError(f"{str(root / CONFIG_FILE)!r} already exists")
        if url and clean_url(url) != url:
            raise IndexStateError(f"invalid index url: {url!r} (expected an http:// or https:// URL)")
        if any(ord(c) < 32 or ord(c) == 127 for c in title):
            raise IndexStateError(f"invalid index title: {title!r} (one line of text)")
        text = DEFAULT_CONFIG.format(title=_toml_str(title), url=_toml_str(url), description=_toml_str(description))
        root.mkdir(parents=True, exist_ok=True)
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

    def inside(self, path: Path) -> Path:
        """``path`` itself, after checking that its folder, links resolved, is inside the index.

        Raises :class:`~pagesindex.errors.IndexStateError` when a folder on the way is a link
        that leads out of the index (nothing is then read or written there).
        """
        parent = Path(path).parent.resolve()
        if parent != self.root and self.root not in parent.parents:
            raise IndexStateError(f"{str(path)!r} resolves outside the index ({str(parent)!r}); refusing to use it")
        if Path(path).is_symlink():
            raise IndexStateError(f"{str(path)!r} is a symbolic link; refusing to use it")
        return Path(path)

    def record_path(self, name: str) -> Path:
        return self.inside(self.projects_dir / f"{normalize_name(name)}.json")

    def file_path(self, name: str, filename: str) -> Path:
        """Where a project's distribution file is kept: ``packages/<normalized-name>/<filename>``.

        Raises :class:`~pagesindex.errors.InvalidDistribution` for a filename that is not a plain
        file name, and :class:`~pagesindex.errors.IndexStateError` when the folder leads out of
        the index.
        """
        from .inspect import check_filename

        check_filename(filename)
        return self.inside(self.packages_dir / normalize_name(name) / filename)

    def provenance_path(self, name: str, filename: str) -> Path:
        """Where the verified PEP 740 provenance object of a file is kept:
        ``provenance/<normalized-name>/<filename>.provenance`` (raises as :meth:`file_path`)."""
        from .inspect import check_filename

        check_filename(filename)
        return self.inside(self.root / PROVENANCE_DIR / normalize_name(name) / (filename + ".provenance"))

    def read_provenance(self, name: str, f: DistributionFile) -> Optional[bytes]:
        """The kept provenance object of file ``f``, or ``None`` when the record names none."""
        if f.provenance is None:
            return None
        try:
            return self.provenance_path(name, f.filename).read_bytes()
        except FileNotFoundError:
            return None

    # -- locking --------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float = 60.0, *, write: bool = True) -> Iterator[None]:
        """Hold the index's write lock (``.pagesindex.lock``); wait up to ``timeout`` seconds.

        A writer (``write``) leaves ``.pagesindex-writing`` in the index while it holds the lock;
        only a killed command leaves it behind, and only then does the next holder search the
        state folders for temporary files to delete (a search of every project's folder would
        cost a build of a 10,000-project index seconds). A reader (the build) takes the lock so
        that it sees one state. Raises :class:`~pagesindex.errors.PagesIndexError` when another
        process holds it longer.
        """
        timeout = limits.env_seconds("PAGESINDEX_LOCK_TIMEOUT", timeout)
        lock = _acquire_lock(str(self.root / LOCK_FILE), timeout)
        marker = self.root / WRITING_MARKER
        try:
            if marker.exists():
                self.sweep_temporary()
                if not write:
                    marker.unlink()
            if write:
                marker.touch()
            yield
            if write:
                marker.unlink()
        except BaseException:
            # Errors clean up their own temporary files; only a killed command keeps the marker.
            if write:
                with contextlib.suppress(OSError):
                    marker.unlink()
            raise
        finally:
            lock()

    def temporary_files(self) -> List[Path]:
        """Temporary files (``.tmp-*``) that an interrupted command left in the state folders."""
        found: List[Path] = []
        for folder in (self.root, self.projects_dir, self.packages_dir):
            if folder.is_dir():
                found.extend(p for p in folder.glob(TMP_PREFIX + "*") if p.is_file())
        if self.packages_dir.is_dir():
            for sub in self.packages_dir.iterdir():
                if sub.is_dir() and not sub.is_symlink():
                    found.extend(p for p in sub.glob(TMP_PREFIX + "*") if p.is_file())
        return sorted(found)

    def sweep_temporary(self) -> List[Path]:
        """Delete :meth:`temporary_files`; called with the lock held, when no other writer runs."""
        removed = []
        for path in self.temporary_files():
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        return removed

    # -- reading --------------------------------------------------------------------------
    def project_names(self) -> List[str]:
        """Normalized names of every project with a record (``projects/<name>.json``, no dot
        file), sorted; empty when there is no ``projects/`` folder. One listing of the folder
        (verify asks for it several times: 11 ms at 10,000 projects, 39 ms with a glob)."""
        try:
            files = os.listdir(self.projects_dir)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(n[:-5] for n in files if n.endswith(".json") and not n.startswith("."))

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
        """Parse and check one record; raise :class:`~pagesindex.errors.IndexStateError` naming
        the file and the bad value (a record is input too: a pull request can change it)."""
        try:
            project = Project.from_json(json.loads(data))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexStateError(f"{str(path)!r}: invalid project record ({exc!r})") from None
        try:
            normalized = project.normalized_name
        except InvalidName as exc:
            raise IndexStateError(f"{str(path)!r}: {exc}") from None
        if normalized != path.name[:-5]:
            raise IndexStateError(
                f"{str(path)!r}: record names project {project.name!r}, whose normalized name is not {path.name[:-5]!r}"
            )
        check_record(project, str(path))
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
        check_record(project, str(path))
        data = dump_record(project)
        try:
            if path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        atomic_write(path, data)
        return True

    #: Prefix of the temporary copies that :meth:`stage_file` makes in ``packages/``.
    STAGE_PREFIX = TMP_PREFIX + "stage-"

    def stage_file(self, path: Path) -> InspectedFile:
        """Copy a distribution file into the index and inspect the copy, reading each byte once.

        The bytes are copied into a temporary file in ``packages/`` (``.tmp-stage-*``) and hashed
        on the way; the copy, not the source, is then inspected
        (:func:`pagesindex.inspect.inspect_file` with the hash already known), so the hash, the
        metadata and the bytes later recorded are those of one and the same file, whatever
        happens to the source meanwhile. Give the result to :meth:`add_files`, which renames the
        copy into place instead of copying again, and removes the copies it does not use.
        A file already present under ``packages/`` is only inspected (a repeated ``add`` copies
        nothing). Call it with :meth:`lock` held: taking the lock removes temporary files.

        Raises what :func:`~pagesindex.inspect.inspect_file` raises (bad filename, archive or
        metadata; :class:`~pagesindex.errors.LimitExceeded` for a file over the per-file limit,
        checked before anything is copied); the copy is removed then.
        """
        path = Path(path)
        filename = path.name
        check_local_file(path)
        _kind, name, _version = parse_filename(filename)
        bound = self.config.storage.max_file_bytes  # None: GitHub's per-file limit
        check_file_size(path, filename, bound)
        if self.file_path(name, filename).exists():
            return inspect_file(path, max_bytes=bound)
        self.packages_dir.mkdir(exist_ok=True)
        tmp, sha256, size = copy_to_temporary(path, self.inside(self.packages_dir / filename).parent, self.STAGE_PREFIX)
        try:
            inspected = inspect_file(tmp, filename, hashed=(sha256, size), max_bytes=bound)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._staged[tmp] = sha256
        return inspected

    def discard_staged(self) -> None:
        """Remove the copies made by :meth:`stage_file` that :meth:`add_files` did not use."""
        for tmp in list(self._staged):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._staged.pop(tmp, None)

    def add_paths(self, paths: Sequence[Path], progress: Optional[Callable[[Path], None]] = None, **options: Any) -> AddResult:
        """:meth:`stage_file` each path, then :meth:`add_files` with ``options``: one read, one
        hash and one write of each byte. ``progress(path)`` is called after each file is staged.

        Call it with :meth:`lock` held. The files already under ``packages/`` plus those to copy
        are checked against the site limit before anything is copied. Nothing is left behind
        on a failure (the staged copies are removed). ``attest(inspected)``, when given, is
        called with the staged files and returns the ``provenance`` for :meth:`add_files`
        (it verifies their attestations; what it raises leaves the state as it was).
        """
        attest = options.pop("attest", None)
        paths = [Path(p) for p in paths]
        self._check_site_size([], extra=self._bytes_to_copy(paths))
        try:
            inspected = []
            for path in paths:
                inspected.append(self.stage_file(path))
                if progress is not None:
                    progress(path)
            if attest is not None:
                options["provenance"] = attest(inspected)
            return self.add_files(inspected, **options)
        finally:
            self.discard_staged()

    def _bytes_to_copy(self, paths: Sequence[Path]) -> int:
        """Bytes of the files in ``paths`` not yet under ``packages/`` (unreadable ones count 0:
        :meth:`stage_file` names them)."""
        total = 0
        seen = set()
        for path in paths:
            try:
                _kind, name, _version = parse_filename(path.name)
                if path.name in seen or (self.packages_dir / name / path.name).exists():
                    continue
                seen.add(path.name)
                total += os.stat(path).st_size
            except (PagesIndexError, OSError):
                continue
        return total

    def _save_projects(self, projects: Sequence[Project]) -> List[str]:
        """Write several records as one batch: each checked and written to a temporary file,
        then all flushed (``fsync``), then all renamed into place; return the normalized names
        of those whose bytes changed. On a failure before the renames no record changes."""
        import tempfile
        pending: List[tuple] = []  # (temporary file, record path, normalized name)
        mode = new_file_mode()
        try:
            for project in projects:
                path = self.record_path(project.name)
                check_record(project, str(path))
                data = dump_record(project)
                try:
                    if path.read_bytes() == data:
                        continue
                except FileNotFoundError:
                    pass
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
                pending.append((tmp, path, project.normalized_name))
                with os.fdopen(fd, "wb") as fh:
                    os.chmod(tmp, mode)
                    fh.write(data)
            for tmp, _path, _name in pending:
                _fsync_path(Path(tmp))
            names = []
            while pending:
                tmp, path, name = pending[0]
                os.replace(tmp, path)
                pending.pop(0)
                names.append(name)
            return names
        except BaseException:
            for tmp, _path, _name in pending:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise

    def add_files(
        self,
        files: Sequence[InspectedFile],
        *,
        summary: Optional[str] = None,
        author: Optional[str] = None,
        homepage: Optional[str] = None,
        upload_time: Optional[str] = None,
        upload_times: Optional[Dict[str, str]] = None,
        project_extra: Optional[Dict[str, Any]] = None,
        release_extra: Optional[Dict[str, Any]] = None,
        provenance: Optional[Dict[str, "VerifiedProvenance"]] = None,
    ) -> AddResult:
        """Ingest inspected distribution files into the state.

        Each file is copied byte for byte to ``packages/<name>/<filename>`` and recorded in
        ``projects/<name>.json`` with its sha256, size, requires-python, upload time and (wheels)
        core-metadata sha256. Durability: every file is copied into a temporary file (hashed on
        the way and checked against the inspection, or taken as is when :meth:`stage_file`
        made it), then all of them are flushed (``fsync``, one batch), renamed into place, and
        only then are the records written, so no record ever names bytes that are not on the
        disk (SECURITY.md, "Durability of add"). An identical file already recorded is a no-op; a different file
        under a recorded filename raises :class:`~pagesindex.errors.FileConflict`. All checks run
        before anything is written; on a failure while writing, files copied by this call are
        removed and no record changes. ``summary``/``author``/``homepage`` override the record's
        fields; otherwise empty fields are filled from the newest release's core metadata.
        ``project_extra`` keys are set on ``project.extra`` of every project touched;
        ``release_extra`` keys are added to the ``extra`` of every release given a file, without
        replacing a key that release already has (an existing release keeps its record).
        ``provenance`` maps filenames to their verified provenance
        (:func:`pagesindex.attestations.verify_file`): each is kept in
        ``provenance/<name>/<filename>.provenance`` and summarized in the file's record. A new file
        without one is refused (:class:`~pagesindex.attestations.ProvenanceError`) when the
        project (``extra["provenance"]["required"]``) or the index (``[policy]
        require-provenance``) requires provenance.
        ``upload_time`` (ISO 8601 UTC, PEP 700) defaults to now; ``upload_times`` maps a filename
        to its own upload time (``migrate``: when the file entered the old index).
        """
        import hashlib

        from .attestations import ProvenanceError, expected_publisher, provenance_required

        provenance = provenance or {}
        upload_time = upload_time or utc_now()
        upload_times = upload_times or {}
        object_store = self.config.storage.is_object_store
        for what, value in (("summary", summary), ("author", author)):
            if value is not None:
                check_line(value, what)
        if homepage is not None and homepage and clean_url(homepage) != homepage:
            raise PagesIndexError(f"invalid homepage: {homepage!r} (expected an http:// or https:// URL)")
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
            # Filenames that differ only in case or in the spelling of the name, version or tags
            # (Demo-1.0 / DEMO-1.0 / demo-1.0.0) name one file to installers, and collide on a
            # case-insensitive checkout: one of them per key (SECURITY.md, "Immutability").
            keys: Dict[tuple, str] = {}
            for old_release in project.releases.values():
                for old_file in old_release.files:
                    keys.setdefault(filename_key(old_file.filename), old_file.filename)
            for f in sorted(inspected, key=lambda i: i.filename):
                other = keys.setdefault(filename_key(f.filename), f.filename)
                if other != f.filename:
                    raise FileConflict(
                        f"{f.filename}: the index already has {other!r}, the same file name spelled "
                        "differently (case, or name/version normalization); files are immutable"
                    )
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
                verified = provenance.get(f.filename)
                if verified is not None and verified.sha256 != f.sha256:
                    raise ProvenanceError(f"{f.filename}: the provenance given was verified for other bytes")
                dist = DistributionFile(
                    filename=f.filename,
                    kind=f.kind,
                    sha256=f.sha256,
                    size=f.size,
                    upload_time=upload_times.get(f.filename, upload_time),
                    requires_python=f.requires_python,
                    core_metadata_sha256=f.metadata_sha256 if f.kind == "wheel" else None,
                    pkg_info_sha256=f.metadata_sha256 if f.kind == "sdist" and object_store else None,
                    provenance=None if verified is None else dict(
                        verified.built_by.to_json(), sha256=hashlib.sha256(verified.data).hexdigest()),
                )
                if release.file(f.filename) is None:
                    release.files.append(dist)
                    to_copy.append((f, dist))
                for key, value in (release_extra or {}).items():
                    release.extra.setdefault(key, value)
            for key, value in (project_extra or {}).items():
                if key == "provenance" and isinstance(value, dict) and isinstance(project.extra.get(key), dict):
                    project.extra[key] = dict(project.extra[key], **value)  # publisher and required, set apart
                else:
                    project.extra[key] = value
            if provenance_required(project.extra, self.config.require_provenance):
                for f, _dist in to_copy:
                    if f.filename not in provenance:
                        expected = expected_publisher(project.extra)
                        raise ProvenanceError(
                            f"{f.filename}: refused: provenance is required, expected publisher "
                            f"{expected or '(none recorded)'}, found no attestation"
                        )
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

        self._check_site_size(plans)
        if self.config.storage.is_object_store:  # every file the store would refuse, before any upload
            for _existing, _project, to_copy in plans:
                for f, _dist in to_copy:
                    self.store.accepts(f.filename, f.size)

        # Then write: files first, records last, undoing the copies on any failure. Each file
        # is copied (hashed on the way) into a temporary file, or was already copied by
        # stage_file; all are flushed (fsync, in a background thread while the next ones are
        # copied), and only then renamed into place, before any record is written.
        pending: List[tuple] = []  # (temporary file, target)
        copied: List[Path] = []
        made: List[Path] = []  # folders this call created
        syncer = _Syncer()
        store = self.store
        metadata_files: List[InspectedFile] = []  # object store: core metadata to commit
        try:
            for _existing, project, to_copy in plans:
                for f, dist in to_copy:
                    if store is not None:
                        # Object store: the bytes go to its staging prefix (not public), the core
                        # metadata to metadata/ (committed) and beside the file; git holds no file.
                        store.stage(Path(f.path), f.filename, f.sha256, f.size)
                        if f.kind == "wheel" and f.metadata_sha256:
                            store.stage_bytes(f.metadata, f.filename + ".metadata", f.metadata_sha256)
                            metadata_files.append(f)
                        elif f.kind == "sdist" and dist.pkg_info_sha256:
                            metadata_files.append(f)  # PKG-INFO for the pages; no sidecar
                        result.added.append(dist)
                        continue
                    target = self.file_path(project.name, f.filename)
                    if not target.parent.exists():
                        target.parent.mkdir(parents=True)
                        made.append(target.parent)
                    if target.exists():
                        if hash_file(target)[0] == f.sha256:
                            result.added.append(dist)
                            continue
                    staged = Path(f.path)
                    if self._staged.get(staged) == f.sha256 and staged.parent == self.packages_dir:
                        del self._staged[staged]
                        tmp = staged
                    else:
                        tmp, digest, size = copy_to_temporary(Path(f.path), target.parent)
                        if digest != f.sha256 or size != f.size:
                            pending.append((tmp, target))
                            raise _changed(Path(f.path), size, digest)
                    pending.append((tmp, target))
                    syncer.submit(tmp)
                    result.added.append(dist)
            for f in metadata_files:  # after every upload succeeded (content-addressed files)
                meta_path = self.inside(self.metadata_dir / f.metadata_sha256)
                if not meta_path.exists() or meta_path.read_bytes() != f.metadata:
                    atomic_write(meta_path, f.metadata)
            syncer.wait()
            for tmp, target in pending:
                os.replace(tmp, target)
                copied.append(target)
            pending = []
            for _existing, project, to_copy in plans:
                for f, _dist in to_copy:
                    if f.filename in provenance:
                        target = self.provenance_path(project.name, f.filename)
                        for folder in (target.parent.parent, target.parent):
                            if not folder.exists():
                                folder.mkdir()
                                made.append(folder)
                        atomic_write(target, provenance[f.filename].data)
                        copied.append(target)
            changed = [project for existing, project, _to_copy in plans
                       if existing is None or dump_record(existing) != dump_record(project)]
            result.projects.extend(self._save_projects(changed))
        except BaseException:
            syncer.close()
            for tmp, _target in pending:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            for path in copied:
                with contextlib.suppress(OSError):
                    path.unlink()
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        finally:
            for f in files:
                tmp = Path(f.path)
                if tmp in self._staged:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    del self._staged[tmp]
        # After the records, outside the undo above: the cache is derived, never the state.
        _keep_core_metadata(self.root, [f for _e, _p, to_copy in plans for f, _d in to_copy if f.kind == "wheel"])
        return result

    def _check_site_size(self, plans: List[tuple], extra: int = 0) -> None:
        """Refuse a change after which the hosted files alone exceed the site limit.

        Counts the bytes under ``packages/`` (one ``stat`` per file, no record parsed) plus the
        files this change would copy there.
        """
        if self.config.storage.is_object_store:
            return  # the files are not in the site
        total = extra
        if self.packages_dir.is_dir():
            with os.scandir(self.packages_dir) as folders:
                for folder in folders:
                    if not folder.is_dir(follow_symlinks=False):
                        continue
                    with os.scandir(folder.path) as entries:
                        for entry in entries:
                            if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                                total += entry.stat(follow_symlinks=False).st_size
        for _existing, project, to_copy in plans:
            for f, _dist in to_copy:
                if not (self.packages_dir / project.normalized_name / f.filename).exists():
                    total += f.size
        bound = limits.max_site_bytes()
        if total > bound:
            raise LimitExceeded(
                f"the index would hold {limits.human(total)} of distribution files, over the site limit "
                f"of {limits.human(bound)} (GitHub Pages publishes at most 1 GB)"
            )

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

    def add_git_release(
        self,
        name: str,
        version: str,
        *,
        git: Dict[str, Any],
        display_name: Optional[str] = None,
        summary: Optional[str] = None,
        author: Optional[str] = None,
        homepage: Optional[str] = None,
        project_extra: Optional[Dict[str, Any]] = None,
    ) -> bool:
        """Record a release that has no files, only a git link (``release.extra["git"]``).

        Used for a private repository on a public index: users install it from git with their
        own credentials. A release that already exists keeps its files and extras (only a missing
        ``git`` key is added). ``project_extra`` keys are set on ``project.extra``; ``summary``,
        ``author`` and ``homepage`` replace the record's fields when given. Returns whether the
        record changed.
        """
        parsed = str(parse_version(version))

        def change(project: Project) -> None:
            release = project.release(parsed)
            if release is None:
                release = project.releases[parsed] = Release(version=parsed)
            release.extra.setdefault("git", dict(git))
            project.extra.update(project_extra or {})
            for attr, value in (("summary", summary), ("author", author), ("homepage", homepage)):
                if value is not None:
                    setattr(project, attr, value)

        return self.update_project(name, change, display_name=display_name)

    def remove(self, name: str, version: Optional[str] = None) -> List[str]:
        """Remove a whole project, or one release, with its files; return the filenames removed.

        With an object store only the record changes here (so a pull request that removes a
        release deletes nothing before it is merged); :meth:`publish` then deletes the published
        objects that no record names. Raises :class:`~pagesindex.errors.NotFound` naming
        the project or version.
        """
        return self._remove_records(name, version)

    def _remove_records(self, name: str, version: Optional[str]) -> List[str]:
        project = self.get_project(name)
        if version is None:
            removed = [f.filename for f in project.all_files()]
            folder = self.packages_dir / project.normalized_name
            if folder.is_symlink():
                raise IndexStateError(f"{str(folder)!r} is a symbolic link; refusing to use it")
            self.record_path(name).unlink()
            if folder.is_dir():
                import shutil

                shutil.rmtree(folder)
            prov = self.root / PROVENANCE_DIR / project.normalized_name
            if prov.is_dir() and not prov.is_symlink():
                import shutil

                shutil.rmtree(prov)
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
            with contextlib.suppress(FileNotFoundError):
                self.provenance_path(name, filename).unlink()
        for folder in (self.packages_dir / project.normalized_name, self.root / PROVENANCE_DIR / project.normalized_name):
            if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
                folder.rmdir()
        return removed

    def publish(self, progress: Optional[Callable[[str, str], None]] = None) -> Dict[str, int]:
        """Make the staged files of the committed state public in the object store (``pagesindex
        publish``): every recorded file, with its wheel's sidecar, is copied from its staging key
        to its public key unless it is already there with the recorded bytes. A file that one
        listing of the public prefix shows with its recorded size (and its sidecar) is counted
        "unchanged" without asking the store about it (``Store.public_sizes``); any other goes
        through ``Store.publish`` with its checksum and conflict checks. Idempotent: a second
        run copies nothing. Then every object under the public prefix that no record names
        (a removed release's file or sidecar) is deleted: the prefix belongs to the index.
        ``progress(filename, result)`` is called per file, ``result`` "published", "unchanged" or
        "removed". Returns the count of each.

        Raises :class:`~pagesindex.errors.PagesIndexError` with the ``git`` store (nothing to
        publish: the files are committed), :class:`~pagesindex.errors.FileConflict` when a public
        key holds other bytes (a published file is never changed), and what the store raises.
        """
        store = self.store
        if store is None:
            raise PagesIndexError("nothing to publish: storage.kind is 'git' (the files are committed with the records)")
        counts = {"published": 0, "unchanged": 0, "removed": 0}
        wanted = set()
        storage = self.config.storage
        projects = [self.get_project(name) for name in self.project_names()]  # all records read first
        recorded = set()
        for project in projects:
            for f in project.all_files():
                key = storage.public_key(project.normalized_name, f.filename)
                wanted.update({key, key + ".metadata"} if f.kind == "wheel" and f.core_metadata_sha256 else {key})
                recorded.add((f.sha256, f.filename))
                if f.kind == "wheel" and f.core_metadata_sha256:
                    recorded.add((f.core_metadata_sha256, f.filename + ".metadata"))
        # Before anything is written: every public file that no record names must be one that this
        # checkout's history recorded and then removed. A file it never recorded was published from
        # a newer state: this checkout is stale, and publishing it would unpublish that file.
        listed = store.public_sizes()  # one listing of the public prefix (s3: 1,000 keys a request)
        removed = [key for key in listed if key not in wanted]
        for key in removed:
            self._check_removed_here(key)
        for project in projects:
            for f in project.all_files():
                meta = f.core_metadata_sha256 if f.kind == "wheel" else None
                key = storage.public_key(project.normalized_name, f.filename)
                if listed.get(key) == f.size and (not meta or key + ".metadata" in listed):
                    # Public with its recorded size (and sidecar): published by an earlier run,
                    # which checked its sha256; verify checks its bytes (its record of checked
                    # objects asks the store again about any object written since).
                    result = "unchanged"
                else:
                    result = store.publish(project.normalized_name, f.filename, f.sha256, f.size, meta)
                counts[result] += 1
                if progress is not None:
                    progress(f.filename, result)
        # Files whose release was removed (remove / the delete workflow, merged): deleted now, with
        # their staged copies, so that no older checkout can publish them again.
        staged = store.staged() if removed else []
        for key in removed:
            store.unpublish(key)
            filename = key.rsplit("/", 1)[1]
            for copy in staged:
                if copy.filename == filename and (copy.sha256, copy.filename) not in recorded:
                    store.unstage(copy.sha256, copy.filename)
            counts["removed"] += 1
            if progress is not None:
                progress(key[len(storage.prefix):], "removed")
        return counts

    def _check_removed_here(self, key: str) -> None:
        """Raise :class:`~pagesindex.errors.IndexStateError` unless the public object ``key``
        (``<prefix><name>/<filename>``, ``files-<name>-<version>/<filename>`` with github-release,
        or its ``.metadata``) names a file that a commit reachable
        from this checkout's HEAD recorded in ``projects/<name>.json`` (``git log -S``): only then
        was it removed by this state, not published from a newer one."""
        import subprocess

        storage = self.config.storage
        where = f"{storage.kind} object {key!r}"
        split = storage.split_public_key(key)
        if split is None:
            raise IndexStateError(f"{where} is not a file the index publishes; nothing published (delete it from the store by hand)")
        name, filename = split
        if filename.endswith(".metadata"):
            filename = filename[: -len(".metadata")]
        try:
            found = subprocess.run(
                ["git", "-C", str(self.root), "log", "-n", "1", "--format=%H", f"-S{filename}", "--", f"{PROJECTS_DIR}/{name}.json"],
                capture_output=True, text=True, check=False,
            )
            shallow = subprocess.run(["git", "-C", str(self.root), "rev-parse", "--is-shallow-repository"],
                                     capture_output=True, text=True, check=False).stdout.strip() == "true"
        except OSError:
            found, shallow = None, False
        if found is not None and found.returncode == 0 and found.stdout.strip():
            return
        if found is None or found.returncode != 0:
            why = "this index is not a git checkout, so publish cannot tell that its state removed it"
        elif shallow:
            why = "this checkout is shallow and its history does not show the record that had it (check out with fetch-depth: 0)"
        else:
            why = ("no commit of this checkout ever recorded it: it was published from a newer state, and this checkout "
                   "is older than what is published (update it: git pull)")
        raise IndexStateError(f"{where} is public but no record names it, and {why}; nothing published or removed")

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
        """Yank or unyank a release (PEP 592); return the changed release.

        ``reason`` must be one line of text (:func:`check_line`).
        """
        check_line(reason, "yank reason")
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

    def set_status(self, name: str, status: str, reason: str = "") -> Project:
        """Set the PEP 792 status of project ``name`` (``active``, ``archived``, ``deprecated``
        or ``quarantined``), kept in ``extra["status"]`` (removed for ``active`` without a
        reason); return the saved project.

        ``reason`` must be one line of text (:func:`check_line`). Raises
        :class:`~pagesindex.errors.NotFound` for an unknown project and
        :class:`~pagesindex.errors.PagesIndexError` for another status.
        """
        from .model import PROJECT_STATUSES, STATUS_KEY

        if status not in PROJECT_STATUSES:
            raise PagesIndexError(f"invalid status: {status!r} (one of {', '.join(PROJECT_STATUSES)})")
        check_line(reason, "status reason")
        project = self.get_project(name)
        updated = project.copy()
        if status == "active" and not reason:
            updated.extra.pop(STATUS_KEY, None)
        else:
            updated.extra[STATUS_KEY] = {"status": status, "reason": reason} if reason else {"status": status}
        self.save_project(updated)
        return updated


def _acquire_lock(path: str, timeout: float) -> Callable[[], None]:
    """Take the exclusive lock on the file ``path``, waiting up to ``timeout`` seconds; return
    the function that releases it. Raises :class:`~pagesindex.errors.PagesIndexError` on timeout.

    On POSIX this is ``flock(2)`` on the file, the lock that the filelock library takes there too
    (so both exclude each other): loading filelock costs a command 20 ms, a tenth of a small
    build. Elsewhere (Windows) filelock itself is used.
    """
    def refused() -> PagesIndexError:
        return PagesIndexError(f"another pagesindex command holds {path!r}; waited {timeout:g} s")

    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        from filelock import FileLock, Timeout

        lock = FileLock(path)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise refused() from None
        return lock.release

    import time

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (BlockingIOError, InterruptedError):
                if time.monotonic() >= deadline:
                    raise refused() from None
                time.sleep(0.05)
    except BaseException:
        os.close(fd)
        raise
    return lambda: os.close(fd)  # closing the file releases the lock


def check_record(project: Project, source: str) -> None:
    """Check what a record says before it is used or written: the project name (PEP 508), each
    version (PEP 440), the project status (PEP 792), and each file (a plain wheel or sdist filename of this project and release,
    its kind, a 64-hex sha256, a size in bytes). Raises
    :class:`~pagesindex.errors.IndexStateError` naming the record and the bad value.
    """

    def bad(what: str) -> IndexStateError:
        return IndexStateError(f"{source}: invalid project record ({what})")

    for attr in ("name", "summary", "author", "homepage"):
        if not isinstance(getattr(project, attr), str):
            raise bad(f"{attr} is not text: {getattr(project, attr)!r}")
    name = normalize_name(project.name)
    try:
        _status, reason = project.status  # PEP 792, extra["status"]
    except ValueError as exc:
        raise bad(str(exc)) from None
    if _NOT_ONE_LINE.search(reason):
        raise bad(f"status reason {reason!r} is not one line of text")
    for key, release in project.releases.items():
        try:
            version = parse_version(key)
        except InvalidVersion as exc:
            raise bad(str(exc)) from None
        for f in release.files:
            try:
                kind, file_name, file_version = parse_filename(f.filename)
            except (InvalidDistribution, TypeError) as exc:
                raise bad(str(exc)) from None
            if file_name != name or file_version != version:
                raise bad(f"file {f.filename!r} is not of {project.name} {key}")
            if f.kind != kind:
                raise bad(f"file {f.filename!r} has kind {f.kind!r}, its name says {kind!r}")
            if not isinstance(f.sha256, str) or not _HEX64.match(f.sha256):
                raise bad(f"file {f.filename!r} has sha256 {f.sha256!r}")
            if f.core_metadata_sha256 is not None and (not isinstance(f.core_metadata_sha256, str) or not _HEX64.match(f.core_metadata_sha256)):
                raise bad(f"file {f.filename!r} has core-metadata-sha256 {f.core_metadata_sha256!r}")
            if f.pkg_info_sha256 is not None and (f.kind != "sdist" or not isinstance(f.pkg_info_sha256, str) or not _HEX64.match(f.pkg_info_sha256)):
                raise bad(f"file {f.filename!r} has pkg-info-sha256 {f.pkg_info_sha256!r}")
            if isinstance(f.size, bool) or not isinstance(f.size, int) or f.size < 0:
                raise bad(f"file {f.filename!r} has size {f.size!r}")
            if f.requires_python is not None and not isinstance(f.requires_python, str):
                raise bad(f"file {f.filename!r} has requires-python {f.requires_python!r}")
            if f.provenance is not None:
                from .attestations import BuiltBy

                digest = f.provenance.get("sha256") if isinstance(f.provenance, dict) else None
                if BuiltBy.from_json(f.provenance) is None or not isinstance(digest, str) or not _HEX64.match(digest):
                    raise bad(f"file {f.filename!r} has provenance {f.provenance!r}")


def find_index(start: Optional[Path] = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current folder) with ``index.toml``."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise IndexStateError(f"not an index: no {CONFIG_FILE} in {str(here)!r} or above (run 'pagesindex init' or pass --index)")


__all__ = [
    "AddResult",
    "copy_to_temporary",
    "Index",
    "IndexConfig",
    "atomic_copy",
    "atomic_write",
    "cached_core_metadata",
    "keep_core_metadata",
    "cached_core_metadata_file",
    "find_index",
    "utc_now",
    "InvalidDistribution",
    "parse_version",
]
