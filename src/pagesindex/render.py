"""Render the state into a static site (simple repository API plus pages for people).

Site layout (every link relative, so the site works at any base URL):

``index.html`` / ``index.json``
    root page of the simple repository API and its PEP 691 JSON form (:mod:`.simple_api`):
    one anchor per project and nothing else.
``<normalized-name>/index.html`` / ``index.json``
    project page of the API (PEP 503, 592, 629, 658, 714, 792; version 1.4) and its PEP 691
    JSON form (PEP 700 fields): one anchor per distribution file and nothing else.
``<normalized-name>/<version>.html``
    old URL of a release page (before the pages for people moved): a redirect with no anchor.
``_pages/index.html``, ``_pages/<normalized-name>/index.html`` and ``<version>.html``
    pages for people: landing page with search, project page, one page per release (README,
    files, install commands, warnings). Every API page has a button to its page for people.
``packages/<normalized-name>/<filename>`` and ``<filename>.metadata``
    distribution files byte for byte, and the wheels' core metadata sidecars (PEP 658), with
    the ``git`` store only: with an object store (``[storage]``, :mod:`pagesindex.stores`) the
    pages link each file at its absolute store URL (:func:`file_url`) and the site holds none.
``_static/``
    style sheet and scripts (``_`` cannot start a normalized name, so no project collides).
``.nojekyll``
    tells GitHub Pages to serve folders that start with ``_``.

Builds are incremental: the build manifest (:func:`manifest_path`, kept in the user's cache
folder, never in the site: nothing internal is published) remembers, per project, the record it
was rendered from and the outputs it owns. A project whose record did not change is
not read again; a file is written only when its bytes differ; a build with no change writes
nothing.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Set

import markupsafe

from . import __version__, limits, pages, simple_api
from .errors import IndexStateError
from .inspect import hash_file, read_core_metadata, read_recorded_wheel_metadata
from .model import WHEEL, DistributionFile, Project, Release
from .simple_api import API_VERSION, PEOPLE_DIR, SITE_PACKAGES, STATIC_DIR, project_json, provenance_url  # noqa: F401 (re-exported)
from .state import TMP_PREFIX, Index, cached_core_metadata, cached_core_metadata_file, copy_to_temporary, keep_core_metadata
from .storage_move import legacy_files
from .stores import StorageConfig
from .stores import file_url as store_file_url

if TYPE_CHECKING:  # jinja2 is imported when a page is first rendered
    import jinja2

#: Present in the output folder while a build runs (see :func:`build_site`).
BUILDING_MARKER = ".pagesindex-building"
#: The name the build manifest had inside the site before it moved out (removed by a build).
MANIFEST = ".pagesindex-build"
JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
#: The live PyPI check (written by the dependency-confusion feature); pages load it when present.
PYPI_CHECK_JS = "pypi-check.js"
#: Colours from ``[theme]`` of index.toml, generated at build time (no inline style).
THEME_CSS = "theme.css"

_HERE = Path(__file__).parent
#: errno values of a refused hard link: another device, links not supported or not permitted, too
#: many links to one file. The build copies instead.
_NO_LINK_ERRNOS = frozenset(
    getattr(errno, n) for n in ("EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP", "EACCES", "ENOSYS") if hasattr(errno, n)
)


#: Flags of a new site file: created, never through an existing name or link.
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


@dataclass
class BuildResult:
    """Relative paths written and removed, the projects rendered again, and the projects whose
    pages were removed because their records are gone (normalized names, sorted)."""

    written: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    rendered: List[str] = field(default_factory=list)
    projects: int = 0
    gone: List[str] = field(default_factory=list)


def make_environment(index: Optional[Index] = None) -> jinja2.Environment:
    """A Jinja2 environment with autoescape on; templates in ``<index>/templates/`` override ours."""
    import jinja2  # imported here: a build with nothing to render does not load it

    loaders: List[jinja2.BaseLoader] = []
    if index is not None and os.path.lexists(index.root / "templates"):
        _asset_files(index.root / "templates", "templates")  # links and special files refused
        loaders.append(jinja2.FileSystemLoader(str(index.root / "templates")))
    loaders.append(jinja2.FileSystemLoader(str(_HERE / "templates")))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # One build sees one set of templates: no stat of the template file at every render.
        auto_reload=False,
        # Compiled templates are kept between runs (Jinja's own cache, keyed by each template's
        # source), so a small build does not compile every template again.
        bytecode_cache=_bytecode_cache(),
    )
    return env


def _bytecode_cache() -> "Optional[jinja2.BytecodeCache]":
    """Jinja2's file bytecode cache in its default private temporary folder, or none when that
    folder cannot be made (the build then compiles the templates, which only costs time)."""
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


#: Folders of the index whose files the build reads (its own copies win over ours).
INDEX_ASSET_FOLDERS = ("static", "templates")


def read_regular(path: "os.PathLike[str] | str", shown: str, bound: Optional[int] = None) -> bytes:
    """The bytes of ``path`` when it is a regular file (not a symbolic link, FIFO or device) of at
    most ``bound`` bytes (default: the per-file limit); raises
    :class:`~pagesindex.errors.IndexStateError` naming ``shown`` otherwise. The file is opened
    without following a link and without blocking, then checked, so nothing can make a read
    hang or grow without end."""
    bound = limits.max_file_bytes() if bound is None else bound
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os.fspath(path), flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise IndexStateError(f"{shown}: is a symbolic link; only regular files are read") from None
        raise IndexStateError(f"{shown}: cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IndexStateError(f"{shown}: not a regular file (a folder, FIFO or device); only regular files are read")
        if st.st_size > bound:
            raise IndexStateError(f"{shown}: {limits.human(st.st_size)} is over the limit of {limits.human(bound)}")
        data = fh.read(bound + 1)
    if len(data) > bound:
        raise IndexStateError(f"{shown}: over the limit of {limits.human(bound)}")
    return data


def _asset_entries(folder: Path, label: str) -> "tuple[List[tuple[str, Path]], List[str]]":
    """``([(path relative to folder, path) of each regular file], [problem of each other entry])``
    of an index folder (``static/`` or ``templates/``), walked without following any link:
    a symbolic link (to a file or a folder), FIFO, socket or device, or a file over the per-file
    limit is a problem naming its path (the build would publish or render what it points to)."""
    files: List["tuple[str, Path]"] = []
    problems: List[str] = []
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return files, problems
    if not stat.S_ISDIR(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
        problems.append(f"{label}: {kind}; the build reads only regular files in a real folder (make it one)")
        return files, problems
    bound = limits.max_file_bytes()
    for current, dirs, names in os.walk(folder):
        base = Path(current)
        for d in sorted(dirs):
            if os.path.islink(base / d):
                dirs.remove(d)
                names.append(d)
        dirs.sort()
        for n in sorted(names):
            path = base / n
            rel = path.relative_to(folder).as_posix()
            shown = f"{label}/{rel}"
            entry = os.lstat(path)
            if stat.S_ISLNK(entry.st_mode):
                problems.append(f"{shown}: a symbolic link; the build reads only regular files (replace it with the file itself)")
            elif not stat.S_ISREG(entry.st_mode):
                problems.append(f"{shown}: not a regular file (FIFO, socket or device); the build reads only regular files (delete it)")
            elif entry.st_size > bound:
                problems.append(f"{shown}: {limits.human(entry.st_size)} is over the per-file limit of {limits.human(bound)}")
            else:
                files.append((rel, path))
    files.sort()
    return files, problems


def index_asset_problems(index: Index) -> List[str]:
    """Every problem of the index's ``static/`` and ``templates/`` (see :func:`_asset_entries`)."""
    problems: List[str] = []
    for name in INDEX_ASSET_FOLDERS:
        problems += _asset_entries(index.root / name, name)[1]
    return problems


#: Folders of an index that hold its state or its inputs: a site is never built into them.
_STATE_FOLDERS = frozenset({"projects", "packages", "metadata", "provenance", "static", "templates", ".git", ".github",
                            ".pagesindex-cache"})


def check_output_folder(index: Index, out: Path) -> None:
    """Refuse to build into the index's own state: ``out`` may not be the index folder, a folder
    that holds the index, or a folder inside one of :data:`_STATE_FOLDERS` (a site written there
    mixes pages with records and committed files, and removing stale outputs would delete
    them). Raises :class:`~pagesindex.errors.IndexStateError` naming ``out``."""
    root = Path(os.path.abspath(index.root)).resolve()
    target = Path(os.path.abspath(out)).resolve()
    if target == root or target in root.parents:
        raise IndexStateError(f"cannot build into {str(out)!r}: it holds the index itself (use a folder of its own, such as the default _site)")
    if root in target.parents and target.relative_to(root).parts[0] in _STATE_FOLDERS:
        raise IndexStateError(
            f"cannot build into {str(out)!r}: it is inside the index's {target.relative_to(root).parts[0]}/ "
            "(use a folder of its own, such as the default _site)")


def check_index_assets(index: Index) -> None:
    """Raise :class:`~pagesindex.errors.IndexStateError` for the first problem of the index's
    ``static/`` and ``templates/`` (called before a build writes anything)."""
    problems = index_asset_problems(index)
    if problems:
        more = f" (and {len(problems) - 1} more; 'pagesindex verify' lists them)" if len(problems) > 1 else ""
        raise IndexStateError(problems[0] + more)


def _asset_files(folder: Path, label: str) -> "List[tuple[str, bytes]]":
    files, problems = _asset_entries(folder, label)
    if problems:
        raise IndexStateError(problems[0])
    return [(rel, read_regular(path, f"{label}/{rel}")) for rel, path in files]


def _dir_fingerprint(folder: Path, digest: "hashlib._Hash", label: str = "templates") -> None:
    for rel, data in _asset_files(folder, label):
        digest.update(rel.encode())
        digest.update(data)


def static_files(index: Optional[Index] = None) -> Dict[str, bytes]:
    """The static assets as ``{relative path under _static/: bytes}`` (index overrides win).
    Only regular files are read (no link is followed): see :func:`_asset_entries`."""
    files: Dict[str, bytes] = {}
    for base in [_HERE / "static"] + ([index.root / "static"] if index else []):
        files.update(_asset_files(base, "static"))
    return files


#: The modules whose code decides the bytes of the pages (see :func:`fingerprint`).
_PAGE_CODE = ("render.py", "pages.py", "simple_api.py")


def fingerprint(index: Index) -> str:
    """What every page depends on besides its record: code version and the bytes of the modules
    that shape pages (:data:`_PAGE_CODE`), templates, static, config; a sha256 hex digest.

    The static assets count too: the pages name them, and a file added to or changed in the
    index's ``static/`` must reach the site in an incremental build (it did not: found while
    measuring issue 17)."""
    digest = hashlib.sha256(__version__.encode())
    # The code that shapes the pages, so that an edited checkout (an editable install keeps its
    # version) renders every page again instead of leaving pages verify no longer expects.
    for module in _PAGE_CODE:
        digest.update(module.encode() + b"\0" + (_HERE / module).read_bytes())
    _dir_fingerprint(_HERE / "templates", digest)
    _dir_fingerprint(index.root / "templates", digest)
    for rel, data in sorted(static_files(index).items()):
        digest.update(b"static/" + rel.encode())
        digest.update(data)
    digest.update(json.dumps(index.config.raw, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def file_url(project: Project, filename: str, storage: Optional[StorageConfig] = None) -> str:
    """The URL of a distribution file as the page for people links it: relative to its folder
    (``_pages/<name>/``) with the ``git`` store, absolute with an object store
    (:func:`pagesindex.stores.file_url`)."""
    url = store_file_url(storage or StorageConfig(), project.normalized_name, filename)
    return url if "://" in url else "../" + url


def release_page(version: str) -> str:
    """The file name of a release's page in its project's folder for people
    (``_pages/<name>/<version>.html``; the old URL ``<name>/<version>.html`` redirects there).

    A normalized version (PEP 440) starts with a digit, so the page can never be ``index.html``.
    """
    return f"{version}.html"


#: Key of ``project.extra`` mapping old site paths to a recorded filename (set by ``migrate``).
ALIASES_KEY = "aliases"


def _safe_segment(seg: str) -> bool:
    """A single path segment with no dot start, separator, quote, space or control character."""
    return bool(seg) and not seg.startswith(".") and not any(
        c in "/\\?#%\"'<> " or ord(c) < 32 or ord(c) == 127 for c in seg
    )


def project_aliases(project: Project) -> Dict[str, DistributionFile]:
    """Old site paths that must keep serving a recorded file: ``{path: file}``.

    ``project.extra["aliases"]`` maps a site path (``packages/<old-folder>/<filename>`` or
    ``packages/<filename>``, as an earlier index published the file) to the filename of one of the
    project's recorded files; the build places the same bytes at that path too, so old links keep
    working. Aliases of files no longer recorded are dropped. Raises
    :class:`~pagesindex.errors.IndexStateError` for a path of another shape, or one that is the
    file's own path.
    """
    raw = project.extra.get(ALIASES_KEY) or {}
    if not isinstance(raw, dict):
        raise IndexStateError(f"project {project.name!r}: extra.aliases must map paths to filenames")
    files = {f.filename: f for f in project.all_files()}
    out: Dict[str, DistributionFile] = {}
    for path, filename in sorted(raw.items()):
        parts = str(path).split("/")
        if (
            not isinstance(filename, str)
            or len(parts) not in (2, 3)
            or parts[0] != SITE_PACKAGES
            or parts[-1] != filename
            or not all(_safe_segment(p) for p in parts[1:])
            or (len(parts) == 3 and parts[1] == project.normalized_name)
        ):
            raise IndexStateError(f"project {project.name!r}: invalid alias {path!r} -> {filename!r}")
        if filename in files:
            out[path] = files[filename]
    return out if _status(project) != "quarantined" else {}


def _status(project: Project) -> str:
    """The PEP 792 status of ``project``; :class:`IndexStateError` for an invalid record."""
    try:
        return project.status[0]
    except ValueError as exc:
        raise IndexStateError(f"project {project.name!r}: {exc}") from None


def _json_bytes(data: Any) -> bytes:
    # Compact separators: json's C encoder is used only without ``indent`` (about 10x faster),
    # and clients download fewer bytes.
    return (json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def project_card(project: Project) -> Dict[str, Any]:
    """The few fields the root page shows for a project (kept in the build manifest)."""
    stable = project.latest()
    pre = project.latest(prereleases=True)
    return {
        "name": project.name,
        "normalized": project.normalized_name,
        "summary": project.summary,
        "latest": stable.version if stable else None,
        "latest_pre": pre.version if pre and (stable is None or pre.parsed_version > stable.parsed_version) else None,
        "status": _status(project),
    }


class Renderer:
    """Renders pages for one index into one output folder."""

    def __init__(self, index: Index, out: Path, *, link: bool = True):
        self.index = index
        self.out = Path(out)
        self._env: Optional[jinja2.Environment] = None
        self.result = BuildResult()
        self._dirs: Set[str] = set()
        # Plain strings in the per-file paths: pathlib's parsing cost more than the system calls.
        self._out = os.fspath(self.out)
        #: Place distribution files as hard links (see :meth:`place_file`); turned off for the rest
        #: of the build when the file system refuses one (another device, no link support).
        self.link = link
        self._package_dirs: Dict[str, str] = {}
        self._records_seen: Dict[str, bool] = {}
        #: Skip rendering a release page whose recorded key (its meta tag) is current. Off for a
        #: full build, which repairs pages changed by hand, and for ``verify``'s in-memory site.
        self.trust_pages = True
        #: Put core metadata read from a wheel into the index's cache (off for ``verify``, which
        #: writes nothing).
        self.keep_metadata = True

    # Made on first use: a build with nothing to render reads no static file or template.
    @functools.cached_property
    def static(self) -> Dict[str, bytes]:
        return static_files(self.index)

    @functools.cached_property
    def readme_cache(self) -> "pages.ReadmeCache":
        """Rendered READMEs kept between builds (see :meth:`pages.ReadmeCache.for_user`)."""
        return pages.ReadmeCache.for_user()

    @functools.cached_property
    def settings(self) -> Dict[str, Any]:
        settings = pages.site_settings(self.index.config.raw, list(self.static), self.index.config.pypi_base_url)
        settings["storage"] = self.index.config.storage  # where pages.install_commands links files
        return settings

    @functools.cached_property
    def page_key_base(self) -> List[Any]:
        return [fingerprint(self.index), sorted(self.static)]

    def warm_up(self) -> None:
        """Load what rendering a project needs (Jinja, its environment and the project's
        templates; the modules of ``packaging`` that parse core metadata, requirements and file
        names), so that a large index's build does it while another process stats its records
        (:func:`_split_scan`): about 60 ms of a one-project build at 50,000 projects. Raises
        nothing: what fails here fails again, with its error, where it is needed."""
        try:
            import packaging.metadata  # noqa: F401
            import packaging.requirements  # noqa: F401
            import packaging.utils  # noqa: F401

            env = self.env
            for template in ("release.html", "project.html", "card.html"):
                env.get_template(template)
        except Exception:  # noqa: BLE001 - only a head start
            pass

    @property
    def env(self) -> "jinja2.Environment":
        """The template environment, made on first use."""
        if self._env is None:
            self._env = make_environment(self.index)
        return self._env

    # -- low-level writes -----------------------------------------------------------------
    def _mkdir(self, folder: str) -> None:
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)

    def write(self, rel: str, data: bytes) -> None:
        """Write one output when its bytes differ from what is there.

        Site files are derived from the state, so they are not fsynced: a new file is written in
        place, a changed one through a temporary file and a rename (readers never see half a
        page). The build manifest, written last and synced, is what marks the build done.
        """
        path = f"{self._out}/{rel}"
        # A new file (every file of a first build) costs one open that creates it, one write
        # and one close: plain system calls, not Python's buffered file objects (an ``open()``
        # costs an fstat and an ioctl more), and no stat before.
        try:
            self._create(path, data)
            self.result.written.append(rel)
            return
        except FileExistsError:
            pass
        try:
            if os.stat(path).st_size == len(data):
                with open(path, "rb") as fh:
                    if fh.read() == data:
                        return
        except FileNotFoundError:
            pass
        folder, base = os.path.split(path)
        tmp = f"{folder}/.tmp-{base}"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        self.result.written.append(rel)

    def _create(self, path: str, data: bytes) -> None:
        """Create the new file ``path`` holding ``data`` (its folder made when missing); raise
        :class:`FileExistsError` when something is there already (nothing written then)."""
        try:
            fd = os.open(path, _CREATE_FLAGS, 0o666)
        except FileNotFoundError:
            self._dirs.discard(os.path.dirname(path))
            self._mkdir(os.path.dirname(path))
            fd = os.open(path, _CREATE_FLAGS, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        os.close(fd)

    def package_dir(self, name: str) -> str:
        """``packages/<name>`` of the state as a string, checked once per build to lie inside
        the index (links resolved); raises :class:`~pagesindex.errors.IndexStateError` if not."""
        folder = self._package_dirs.get(name)
        if folder is None:
            folder = os.fspath(self.index.inside(self.index.packages_dir / name / "x").parent)
            self._package_dirs[name] = folder
        return folder

    def place_file(self, rel: str, src: "os.PathLike[str] | str", sha256: str, size: int) -> None:
        """Put a distribution file at ``rel``: a hard link to the committed file, else a copy.

        A hard link costs one system call and no bytes (a copy of each file made most of a full
        build's time); it is the committed file itself, so it is already in place when the site
        file has the same inode, and only its size is compared with the record here (``pagesindex
        verify``, which the deploy workflow runs before publishing, compares every hash). When
        the output is on another file system, or the build was asked to copy (``link=False``,
        ``pagesindex build --copy``), the file is copied, hashed as it is copied and refused on a
        mismatch, and a copy already there with the recorded size and sha256 is left alone.

        Raises :class:`~pagesindex.errors.IndexStateError` for a missing file, one that is not a
        regular file (a symbolic link is refused), or one whose size (or, copied, sha256) does
        not match its record; nothing is placed then.
        """
        dst = f"{self._out}/{rel}"
        try:
            st_src = os.lstat(src)
        except FileNotFoundError:
            raise IndexStateError(f"missing distribution file {str(src)!r} (recorded in the state)") from None
        if not stat.S_ISREG(st_src.st_mode):
            raise IndexStateError(f"{str(src)!r} is not a regular file (a symbolic link?); refusing to use it")
        if st_src.st_size != size:
            raise IndexStateError(
                f"{str(src)!r} does not match its record (size {st_src.st_size} bytes, recorded {size}); "
                f"restore it with 'git checkout -- {self._state_path(src)}', or remove that release and add the file again"
            )
        if self.link:
            # The usual case (a first build, a new release): nothing is there yet, and the link
            # is made in place (a link appears whole) without looking first.
            try:
                os.link(src, dst)
            except FileNotFoundError:
                self._dirs.discard(os.path.dirname(dst))
                self._mkdir(os.path.dirname(dst))
                with contextlib.suppress(FileExistsError, OSError):
                    os.link(src, dst)
                    self.result.written.append(rel)
                    return
            except OSError as exc:
                if exc.errno not in _NO_LINK_ERRNOS and not isinstance(exc, FileExistsError):
                    raise
            else:
                self.result.written.append(rel)
                return
        try:
            st_dst = os.lstat(dst)
        except FileNotFoundError:
            st_dst = None
        if st_dst is not None:
            same = st_dst.st_ino == st_src.st_ino and st_dst.st_dev == st_src.st_dev
            if self.link and same:
                return
            if not self.link and not same and st_dst.st_size == size and hash_file(dst)[0] == sha256:
                return
        self._mkdir(os.path.dirname(dst))
        folder, base = os.path.split(dst)
        tmp = f"{folder}/{TMP_PREFIX}{base}"
        if self.link:
            # A new name is linked in place (a link appears whole); an old one is replaced
            # through a temporary link and a rename.
            target = dst if st_dst is None else tmp
            if target is tmp:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            try:
                os.link(src, target)
            except OSError as exc:
                if exc.errno not in _NO_LINK_ERRNOS:
                    raise
                self.link = False  # this output cannot hold links: copy from now on
            else:
                if target is tmp:
                    os.replace(tmp, dst)
                self.result.written.append(rel)
                return
        self._copy_checked(src, dst, sha256)
        self.result.written.append(rel)

    def _core_metadata(self, sha256: str, src: str, filename: str, meta_rel: str, known: Dict[str, Any]) -> bytes:
        """The core metadata of a wheel (the bytes whose sha256 its record gives), with its PEP 658
        sidecar ``meta_rel`` placed when the site does not hold those bytes already.

        Taken from ``known`` (the project's wheels read so far: a release's wheels usually share
        one METADATA), else from the index's cache (kept by ``add``, and by the build itself),
        else from the wheel, which is then put into the cache so that the next build (a fresh
        checkout with the cache restored) does not open the wheel again. Every source is checked
        against ``sha256``: a cache or a site changed by hand makes a build slower, never makes
        it publish other bytes. Raises :class:`~pagesindex.errors.IndexStateError` when the
        wheel's METADATA does not match.

        The sidecar is a hard link to the cache's file where the build places links (a new
        file costs a new inode, about 15 times a link's system time here, and most wheels of an
        index share their release's METADATA), else a file of its own.
        """
        entry = known.get(sha256)
        if entry is None:
            found = cached_core_metadata_file(self.index.root, sha256)
            if found is None:
                data = read_recorded_wheel_metadata(src, filename)
                if hashlib.sha256(data).hexdigest() != sha256:
                    raise IndexStateError(f"{filename}: METADATA does not match its record; run 'pagesindex verify'")
                found = (data, keep_core_metadata(self.index.root, sha256, data) if self.keep_metadata else None)
            entry = known[sha256] = found
        metadata, cached = entry
        if cached is not None and self.link and self._link_page(meta_rel, cached, metadata):
            return metadata
        self.write(meta_rel, metadata)
        return metadata

    def _link_page(self, rel: str, src: str, data: bytes) -> bool:
        """Place the page ``rel`` as a hard link to ``src`` (which holds ``data``); False when
        the file system refuses links (the caller writes the page instead). A page already
        there with the same bytes is left alone; one with other bytes is replaced through a
        temporary link and a rename."""
        path = f"{self._out}/{rel}"
        try:
            os.link(src, path)
        except FileNotFoundError:
            self._dirs.discard(os.path.dirname(path))
            self._mkdir(os.path.dirname(path))
            return self._link_page(rel, src, data) if os.path.exists(src) else False
        except FileExistsError:
            try:
                if os.stat(path).st_size == len(data):
                    with open(path, "rb") as fh:
                        if fh.read() == data:
                            return True
            except OSError:
                pass
            folder, base = os.path.split(path)
            tmp = f"{folder}/{TMP_PREFIX}{base}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            try:
                os.link(src, tmp)
            except OSError:
                return False
            os.replace(tmp, path)
        except OSError:
            return False
        self.result.written.append(rel)
        return True

    def _state_path(self, src: "os.PathLike[str] | str") -> str:
        """``src`` relative to the index folder (as git names it), else as given."""
        try:
            return Path(src).relative_to(self.index.root).as_posix()
        except ValueError:
            return str(src)

    def _copy_checked(self, src: "os.PathLike[str] | str", dst: str, sha256: str) -> None:
        """Copy ``src`` to ``dst`` (through a temporary file in its folder, hashed on the way)
        when its sha256 is the recorded one; else raise :class:`IndexStateError` (nothing left)."""
        tmp, digest, _size = copy_to_temporary(Path(src), Path(os.path.dirname(dst)))
        if digest != sha256:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise IndexStateError(
                f"{str(src)!r} does not match its record (sha256 {digest[:12]}…, recorded {sha256[:12]}…); "
                f"restore it with 'git checkout -- {self._state_path(src)}', or remove that release and add the file again"
            )
        os.replace(tmp, dst)

    def remove(self, rels: Iterable[str]) -> None:
        """Delete outputs: pages first, then sidecars, then the files they link to, so that a
        build killed half-way leaves no page linking to a missing file."""

        def order(rel: str) -> tuple:
            rank = 0 if rel.endswith((".html", ".json")) else 1 if rel.endswith(".metadata") else 2
            return (rank, rel)

        for rel in sorted(rels, key=order):
            path = self.out / rel
            try:
                path.unlink()
                self.result.removed.append(rel)
            except FileNotFoundError:
                pass  # gone already (a build killed half-way): still tidy its empty folders
            parent = path.parent
            while parent != self.out:
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

    # -- pages ----------------------------------------------------------------------------
    def _page_context(self, project: Optional[Project] = None) -> Dict[str, Any]:
        pypi = pages.pypi_state(project, self.settings) if project is not None else None
        return {
            "config": self.index.config,
            "settings": self.settings,
            "api_version": API_VERSION,
            "csp": pages.csp(self.settings["pypi_url"]),
            "pypi": pypi,
            "pypi_check": PYPI_CHECK_JS in self.static,
        }

    def _release_metadata(self, project: Project, release: Release, known: Optional[Dict[str, bytes]] = None) -> Dict[str, Any]:
        """The core metadata fields of a release (from a wheel, else an sdist); empty without files.

        ``known`` maps filenames to core metadata already read (the wheels' sidecars), so a
        wheel's METADATA is read once per build.
        """
        f = pages.metadata_file(release)
        if f is None:
            return pages.parse_core_metadata(b"")
        data = (known or {}).get(f.filename)
        if data is None and f.pkg_info_sha256:  # an sdist that only the object store holds
            data = cached_core_metadata(self.index.root, f.pkg_info_sha256)
            if data is None:
                raise IndexStateError(
                    f"{f.filename}: its PKG-INFO metadata/{f.pkg_info_sha256} is missing or is not of that sha256 "
                    f"(add the file again with 'pagesindex add', or restore metadata/ from git)")
        if data is None:
            src = f"{self.package_dir(project.normalized_name)}/{f.filename}"
            data = read_core_metadata(src, f.kind, f.filename)
        return pages.parse_core_metadata(data)

    def _release_page_key(self, project: Project, release: Release, deps: List[str]) -> str:
        """A digest of everything a release page is made from (the page records it in a meta tag).

        A release page shows nothing of the project's other releases, so adding a release renders
        only its own page (and the project page) again.
        """
        data = [
            self.page_key_base,
            project.name, project.summary, project.author, project.homepage, project.extra,
            release.version, release.to_json(), deps,
        ]
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def _recorded_page_key(self, rel: str) -> Optional[tuple]:
        """``(key, has_readme)`` from the ``pagesindex:release`` meta tag of a page already built
        (None when :attr:`trust_pages` is off)."""
        if not self.trust_pages:
            return None
        try:
            with open(self.out / rel, "rb") as fh:
                head = fh.read(4096)
        except OSError:
            return None
        match = re.search(rb'<meta name="pagesindex:release" content="([0-9a-f]{64}) ([01])">', head)
        if match is None:
            return None
        return match.group(1).decode(), match.group(2) == b"1"

    def _private_deps(self, project: Project, meta: Dict[str, Any]) -> List[str]:
        # Only whether the dependency has a record is looked at (no other project is read).
        return pages.private_dependencies(project, meta["requires_dist"], self._on_index)

    def _on_index(self, name: str) -> bool:
        """Whether the index has a record for the normalized ``name`` (asked once per build)."""
        known = self._records_seen.get(name)
        if known is None:
            known = self._records_seen[name] = os.path.isfile(f"{self.index.projects_dir}/{name}.json")
        return known

    def project_outputs(self, project: Project) -> Set[str]:
        """Render and write every output of one project; return their relative paths.

        Outputs: the API page ``<name>/index.html`` and its PEP 691 form ``<name>/index.json``
        (:mod:`.simple_api`: one anchor per file, nothing else), the page for people
        ``_pages/<name>/index.html`` (overview, versions, files, install commands, warnings),
        ``_pages/<name>/<version>.html`` per release (README, files, requirements and install
        commands of that release), a redirect at each release page's old URL
        ``<name>/<version>.html``, and the distribution files with their core metadata sidecars.
        A quarantined project (PEP 792) offers no file: neither the files nor the release pages
        are written, and its page for people says why.
        """
        name = project.normalized_name
        status = _status(project)
        quarantined = status == "quarantined"
        storage = self.index.config.storage
        # With an object store the files and sidecars are in the store, not in the site.
        in_site = not storage.is_object_store
        # ... except the legacy set of an index moved to one: served at its old URLs too.
        legacy = set() if in_site else set(legacy_files(project))
        package_dir = self.package_dir(name)
        outputs: Set[str] = set()
        sidecars: Dict[str, bytes] = {}
        known: Dict[str, Any] = {}  # (core metadata, cache file) by sha256: a release's wheels share it
        releases = []
        newest_stable = project.latest()
        newest = None if quarantined else (newest_stable or project.latest(prereleases=True))
        people = f"{PEOPLE_DIR}/{name}"
        for release in project.sorted_releases():
            files = []
            for f in sorted(release.files, key=lambda f: f.filename):
                files.append(
                    {
                        "filename": f.filename,
                        "url": file_url(project, f.filename, storage),
                        "sha256": f.sha256,
                        "requires_python": f.requires_python,
                        "core_metadata": f.core_metadata_sha256,
                        "size": f.size,
                        "human_size": pages.human_size(f.size),
                        "upload_time": f.upload_time,
                        "uploaded": pages.short_time(f.upload_time),
                        "kind": f.kind,
                        "tags": pages.file_tags(f.filename, f.kind),
                        "provenance_url": None if f.provenance is None else f"../../{SITE_PACKAGES}/{name}/{f.filename}.provenance",
                        "built_by": pages.built_by(f),
                    }
                )
                if quarantined:
                    continue
                rel = f"{SITE_PACKAGES}/{name}/{f.filename}"
                src = f"{package_dir}/{f.filename}"  # the record's filenames are plain names (check_record)
                # PEP 740 provenance is a page of the site, whatever the store
                if f.provenance is not None:
                    prov_rel = rel + ".provenance"
                    data = self.index.read_provenance(name, f)
                    if data is None or hashlib.sha256(data).hexdigest() != f.provenance.get("sha256"):
                        raise IndexStateError(f"{f.filename}: its provenance object is missing or does not match its record; run 'pagesindex verify'")
                    self.write(prov_rel, data)
                    outputs.add(prov_rel)
                if not in_site and f.filename not in legacy:
                    if f.kind == WHEEL and f.core_metadata_sha256:
                        metadata = cached_core_metadata(self.index.root, f.core_metadata_sha256)
                        if metadata is None:
                            raise IndexStateError(
                                f"{f.filename}: core metadata missing from metadata/{f.core_metadata_sha256} "
                                "(restore it with git, or add the file again)"
                            )
                        sidecars[f.filename] = metadata
                    continue
                self.place_file(rel, src, f.sha256, f.size)
                outputs.add(rel)
                if f.kind == WHEEL and f.core_metadata_sha256:
                    meta_rel = rel + ".metadata"
                    metadata = self._core_metadata(f.core_metadata_sha256, src, f.filename, meta_rel, known)
                    sidecars[f.filename] = metadata
                    outputs.add(meta_rel)
            requires_python = sorted({f.requires_python for f in release.files if f.requires_python})
            releases.append(
                {
                    "version": release.version,
                    "page": "" if quarantined else release_page(release.version),
                    "prerelease": release.parsed_version.is_prerelease,
                    "yanked": release.yanked,
                    "yanked_reason": release.yanked_reason,
                    "files": files,
                    "extra": release.extra,
                    "requires_python": ", ".join(requires_python),
                    "uploaded": min((f["uploaded"] for f in files), default=""),
                    "latest": release is newest,
                    # Only a release recorded with a git link has a git install (pages.install_commands).
                    "git": pages.install_commands(project, release, self.settings, self.index.config.url)["git"]
                    if not quarantined and isinstance(release.extra, dict) and release.extra.get("git") else "",
                    "_release": release,
                }
            )
        for rel, f in project_aliases(project).items():
            if not in_site and f.filename not in legacy:
                continue
            self.place_file(rel, f"{package_dir}/{f.filename}", f.sha256, f.size)
            outputs.add(rel)
        context = self._page_context(project)
        newest_meta = self._release_metadata(project, newest, sidecars) if newest is not None else pages.parse_core_metadata(b"")
        newest_entry = next((r for r in releases if r["latest"]), None)
        for entry in releases:
            release = entry.pop("_release")
            if quarantined:
                continue
            meta = newest_meta if release is newest else self._release_metadata(project, release, sidecars)
            private_deps = self._private_deps(project, meta)
            rel = f"{people}/{entry['page']}"
            outputs.add(rel)
            old_rel = f"{name}/{entry['page']}"
            self.write(old_rel, simple_api.redirect_html(f"../{rel}").encode("utf-8"))
            outputs.add(old_rel)
            key = self._release_page_key(project, release, private_deps)
            previous = self._recorded_page_key(rel)
            if previous is not None and previous[0] == key:
                # Same inputs as the page already there: skip rendering the README again.
                entry["has_readme"] = previous[1]
                continue
            readme, readme_kind, readme_origin = pages.release_readme(release, meta, cache=self.readme_cache)
            entry["has_readme"] = bool(readme)
            page = self.env.get_template("release.html").render(
                project=project,
                release=entry,
                readme=markupsafe.Markup(readme) if readme else "",
                readme_kind=readme_kind,
                readme_origin=readme_origin,
                requires_dist=meta["requires_dist"],
                install=pages.install_commands(project, release, self.settings, self.index.config.url, private_deps,
                                               meta["requires_dist"]),
                links=pages.project_links(project, meta),
                page_key=key,
                static=f"../../{STATIC_DIR}/",
                status=project.status,
                **context,
            )
            self.write(rel, page.encode("utf-8"))
        html = self.env.get_template("project.html").render(
            project=project,
            releases=releases,
            newest=newest_entry,
            provenance=pages.provenance_summary(newest),
            requires_dist=newest_meta["requires_dist"],
            install=pages.install_commands(project, newest, self.settings, self.index.config.url,
                                           self._private_deps(project, newest_meta), newest_meta["requires_dist"]),
            links=pages.project_links(project, newest_meta),
            static=f"../../{STATIC_DIR}/",
            status=project.status,
            **context,
        )
        self.write(f"{people}/index.html", html.encode("utf-8"))
        self.write(f"{name}/index.html", simple_api.project_html(project, self.index.config.url, storage).encode("utf-8"))
        self.write(f"{name}/index.json", _json_bytes(simple_api.project_json(project, self.index.config.url, storage)))
        outputs.update({f"{people}/index.html", f"{name}/index.html", f"{name}/index.json"})
        return outputs

    def card_html(self, card: Dict[str, Any]) -> str:
        """The root page's card of one project (``card.html``), kept in the build manifest so
        that the root page is put together from stored cards, not rendered again for each."""
        return self.env.get_template("card.html").render(p=card)

    def root_outputs(self, cards_html: List[str], names: "Optional[List[tuple[str, str]]]",
                     landing: Optional[bytes] = None, api: "Optional[tuple[bytes, bytes]]" = None) -> Set[str]:
        """Write the landing page for people ``_pages/index.html`` (the cards' HTML, in the order
        given, or the bytes ``landing`` when given), the API root ``index.html`` and its PEP 691
        JSON form listing ``names`` (``(display name, normalized name)`` pairs; when None, the
        names did not change and both are left as they are; ``api``: their bytes, made already),
        the static files and ``.nojekyll``; return their relative paths."""
        if landing is None:
            html = self.env.get_template("root.html").render(
                cards=markupsafe.Markup("".join(cards_html)),
                count=len(cards_html),
                static=f"../{STATIC_DIR}/",
                base_url=pages._base_url(self.index.config.url),
                **self._page_context(),
            )
            landing = html.encode("utf-8")
        self.write(f"{PEOPLE_DIR}/index.html", landing)
        if api is not None:
            self.write("index.html", api[0])
            self.write("index.json", api[1])
        elif names is not None:
            self.write("index.html", simple_api.root_html(names, self.index.config.title).encode("utf-8"))
            self.write("index.json", _json_bytes(simple_api.root_json(n for n, _norm in names)))
        self.write(".nojekyll", b"")
        outputs = {"index.html", "index.json", f"{PEOPLE_DIR}/index.html", ".nojekyll"}
        for rel, data in self.static.items():
            self.write(f"{STATIC_DIR}/{rel}", data)
            outputs.add(f"{STATIC_DIR}/{rel}")
        self.write(f"{STATIC_DIR}/{THEME_CSS}", pages.theme_css(self.settings))
        outputs.add(f"{STATIC_DIR}/{THEME_CSS}")
        return outputs


#: Manifest format. The manifest is a head file (:func:`manifest_path`) and a folder of shards
#: beside it (``<head>.d/``). Projects are spread over 256 shards by the first two hex digits of
#: the sha256 of their normalized name; a shard holds one line per project of it, sorted:
#: ``name TAB record-mtime-ns TAB record-size TAB record-sha256 TAB outputs TAB card-json TAB
#: card-html-json`` (outputs as :func:`encode_outputs` writes them). The head is a JSON header
#: line (fingerprint, root outputs, site stamp, the sha256 of each shard and of the summary) then
#: the summary: ``name TAB record-mtime-ns TAB record-size`` for every project, in the order the
#: build listed ``projects/`` (the next build compares its own listing with it in one go).
#:
#: A build that changes nothing reads the head only (about 35 bytes a project, not the 1 KB of a
#: full line): when every record's stat matches the summary, no shard is opened. A build that
#: changes one project reads and rewrites that project's shard (1/256 of the lines) and the head.
#: Shard files are named ``<shard>-<sha256 of their bytes>`` and never rewritten in place: new
#: shards are written first, then the head naming them replaces the old head (the commit), then
#: shards no head names are deleted. A build killed at any point leaves a head whose shards are
#: whole; a shard whose bytes do not match its name (a torn write) is not trusted, and its
#: projects are rendered again. A summary whose sha256 does not match is rebuilt from the shards.
MANIFEST_FORMAT = 6
#: The name of a shard file: two hex digits of the shard, then the sha256 of its bytes.
_SHARD_FILE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{64})\Z")
#: Manifests that older versions kept inside the site (published with it); a build removes them.
_OLD_MANIFESTS = (MANIFEST, ".pagesindex-build.json")


def manifest_path(index: Index, out: Path) -> Path:
    """Where the build manifest of the site ``out`` built from ``index`` is kept:
    ``<user cache folder>/builds/<key>.manifest`` (:func:`pages.user_cache_folder`), the key a
    digest of the two resolved paths. Outside the site, so that nothing internal is published,
    and outside the index, so that a pull request cannot plant one. The manifest records a stamp
    of the site it describes (:func:`site_stamp`): restored into a new workspace, or found after
    the site was deleted or replaced, it does not match and the build renders every project."""
    key = hashlib.sha256(f"{os.fspath(index.root)}\0{os.path.realpath(out)}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return Path(pages.user_cache_folder()) / "builds" / f"{key}.manifest"


def site_stamp(out: Path) -> Optional[str]:
    """Identity of a built site: device, inode and change time (ns) of its ``.nojekyll``, which
    the first build creates and no later build rewrites (it is always empty); None when absent.

    The change time cannot be set by a copy (``cp -p`` and ``shutil.copytree`` keep the
    modification time, not this one), and inode numbers alone are reused as soon as a deleted
    site's are freed; so a deleted, copied or replaced site has another stamp, while the pages
    inside may change (a build killed after replacing some keeps the stamp, so the next build
    still knows what the last one wrote). A page changed by hand is named by ``verify`` and
    repaired by ``build --full``."""
    try:
        st = os.lstat(os.path.join(os.fspath(out), ".nojekyll"))
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_ctime_ns}"


def encode_outputs(name: str, outputs: Iterable[str]) -> str:
    """The outputs of project ``name`` as the manifest keeps them: a JSON list, sorted, where
    ``~X`` stands for ``<name>/X``, ``^X`` for ``_pages/<name>/X``, ``@X`` for
    ``packages/<name>/X`` and ``@X+`` for that file together with its ``.metadata`` sidecar (a
    third of the size of the plain paths)."""
    pages_prefix, files_prefix = f"{name}/", f"{SITE_PACKAGES}/{name}/"
    people_prefix = f"{PEOPLE_DIR}/{name}/"
    outputs = set(outputs)
    items = []
    for rel in sorted(outputs):
        if rel.startswith(files_prefix) and "/" not in rel[len(files_prefix):]:
            rest = rel[len(files_prefix):]
            if rest.endswith(".metadata") and rel[: -len(".metadata")] in outputs:
                continue  # written with its file as "@X+"
            items.append("@" + rest + ("+" if rel + ".metadata" in outputs else ""))
        elif rel.startswith(pages_prefix) and "/" not in rel[len(pages_prefix):]:
            items.append("~" + rel[len(pages_prefix):])
        elif rel.startswith(people_prefix) and "/" not in rel[len(people_prefix):]:
            items.append("^" + rel[len(people_prefix):])
        else:
            items.append(rel)
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def decode_outputs(name: str, text: str) -> List[str]:
    """The relative paths of :func:`encode_outputs`' text."""
    paths = []
    for item in json.loads(text):
        if item.startswith("@"):
            if item.endswith("+"):
                rel = f"{SITE_PACKAGES}/{name}/{item[1:-1]}"
                paths += [rel, rel + ".metadata"]
            else:
                paths.append(f"{SITE_PACKAGES}/{name}/{item[1:]}")
        elif item.startswith("~"):
            paths.append(f"{name}/{item[1:]}")
        elif item.startswith("^"):
            paths.append(f"{PEOPLE_DIR}/{name}/{item[1:]}")
        else:
            paths.append(item)
    return paths


def remove_temporary(out: Path) -> List[str]:
    """Delete every temporary path (``.tmp-*``: a file, link, other special file or a whole
    folder, at any depth) in the output folder ``out``, which the build owns; links are removed,
    never followed. Returns their relative paths."""
    import shutil

    removed = []
    for current, dirs, names in os.walk(out):
        for n in sorted(dirs + names):
            if not n.startswith(TMP_PREFIX):
                continue
            path = os.path.join(current, n)
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                removed.append(os.path.relpath(path, out).replace(os.sep, "/"))
        dirs[:] = [d for d in dirs if not d.startswith(TMP_PREFIX)]
    return removed


def _old_outputs(name: str, text: str) -> List[str]:
    """The outputs of an old manifest line, none when the field is not one a build writes (a
    manifest changed by hand: the build then removes nothing it cannot name)."""
    try:
        paths = decode_outputs(name, text)
    except (ValueError, TypeError, AttributeError):
        return []
    return [p for p in paths if is_site_path(p)]


def is_site_path(rel: object) -> bool:
    """``rel`` names a path inside the output folder: relative, ``/``-separated, no empty, ``.``
    or ``..`` part (a path of a forged manifest line is never removed outside the site)."""
    return (isinstance(rel, str) and bool(rel) and "\\" not in rel and "\0" not in rel
            and all(part not in ("", ".", "..") for part in rel.split("/")))


def _shard_of(name: str) -> str:
    """The shard of the project ``name``: the first two hex digits of the sha256 of its name."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:2]


def shard_folder(manifest: Path) -> Path:
    """The folder of the manifest's shards (``<head>.d``, beside the head)."""
    return manifest.with_name(manifest.name + ".d")


#: The largest manifest head, shard or landing page a build reads back (a 50,000-project
#: landing page is about 15 MB).
_MAX_READ_BACK = 1 << 30


def _read_regular(path: Path) -> Optional[bytes]:
    """The bytes of the regular file ``path`` (:func:`read_regular`: never through a link, never
    blocking), or None when it is missing or not one: a manifest or page the build then makes
    again."""
    try:
        return read_regular(path, os.fspath(path), _MAX_READ_BACK)
    except IndexStateError:
        return None


class _Manifest:
    """The build manifest of one site as the build reads it: the header and summary of the head
    at once, a shard only when one of its projects is asked for (see :data:`MANIFEST_FORMAT`).

    ``valid`` is False when there is no head, or one of another format or of another site than
    the one in ``out`` (:func:`site_stamp`): the build then knows nothing of the site."""

    def __init__(self, path: Path, out: Path):
        self.path = path
        self.folder = shard_folder(path)
        self.header: Dict[str, Any] = {"format": MANIFEST_FORMAT, "fingerprint": None, "root": []}
        #: ``name TAB mtime-ns TAB size`` of every project the manifest knows, in the order the
        #: build that wrote it listed ``projects/``.
        self.summary: List[str] = []
        #: ``{shard: sha256 of its file}`` from the header.
        self.shards: Dict[str, str] = {}
        #: ``{shard: {name: line}}`` of the shards read so far.
        self.by_shard: Dict[str, Dict[str, str]] = {}
        #: Shards named by the header that were missing or did not match their digest.
        self.torn: Set[str] = set()
        #: The summary was made again from the shards (the head is written again).
        self.rebuilt = False
        self.valid = False
        data = _read_regular(path)
        if data is None:
            return
        head_end = data.find(b"\n") + 1
        try:
            header = json.loads(data[:head_end]) if head_end else None
        except ValueError:
            return
        if not (isinstance(header, dict) and header.get("format") == MANIFEST_FORMAT
                and header.get("site") is not None and header.get("site") == site_stamp(out)):
            return
        shards = header.get("shards")
        if not isinstance(shards, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and _SHARD_FILE.match(f"{k}-{v}") for k, v in shards.items()):
            return
        if not isinstance(header.get("root"), list):
            header["root"] = []
        self.header, self.shards, self.valid = header, shards, True
        body = data[head_end:]
        if hashlib.sha256(body).hexdigest() == header.get("summary"):
            self.summary = body.decode("utf-8").split("\n") if body else []
        else:  # a torn or changed head: the summary is made again from the shards
            self.load_all()
            self.rebuilt = True
            self.summary = sorted(f"{name}\t{line.split(chr(9), 3)[1]}\t{line.split(chr(9), 3)[2]}"
                                  for lines in self.by_shard.values() for name, line in lines.items())

    def shard(self, sid: str) -> Dict[str, str]:
        """``{name: line}`` of the shard ``sid`` (read on first use; empty when it has none, or
        when its file is missing or does not match its digest: then it is in :attr:`torn`)."""
        lines = self.by_shard.get(sid)
        if lines is None:
            lines = self.by_shard[sid] = {}
            digest = self.shards.get(sid)
            if digest is not None:
                data = _read_regular(self.folder / f"{sid}-{digest}")
                if data is None or hashlib.sha256(data).hexdigest() != digest:
                    self.torn.add(sid)
                else:
                    for line in data.decode("utf-8").split("\n"):
                        if line.count("\t") == 6:
                            lines[line.partition("\t")[0]] = line
        return lines

    def line(self, name: str) -> Optional[str]:
        """The manifest line of project ``name``, or None."""
        return self.shard(_shard_of(name)).get(name)

    def load_all(self) -> Dict[str, str]:
        """Read every shard; return ``{name: line}`` of every project they hold."""
        lines: Dict[str, str] = {}
        for sid in sorted(self.shards):
            lines.update(self.shard(sid))
        return lines


def _load_manifest(path: Path, out: Path) -> "tuple[Dict[str, Any], Dict[str, str]]":
    """``(header, {project name: manifest line})`` of the whole manifest at ``path`` (every
    shard read); empty when absent, of another format, or of another site than the one in
    ``out`` (:func:`site_stamp`). The header's ``_torn`` (not stored) lists the shards that were
    missing or did not match their digest."""
    manifest = _Manifest(path, out)
    if not manifest.valid:
        return manifest.header, {}
    lines = manifest.load_all()
    header = dict(manifest.header, _torn=sorted(manifest.torn))
    return header, lines


def _write_bytes_replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (not synced)."""
    tmp = path.with_name(TMP_PREFIX + path.name)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_manifest(manifest: _Manifest, header: Dict[str, Any], summary: List[str],
                    shards: Dict[str, Dict[str, str]], rewrite_all: bool) -> None:
    """Write the manifest: the shards of ``shards`` (``{shard: {name: line}}``, each whole; an
    empty one is dropped), then the head (``header`` plus the digests, then ``summary``), then
    delete the shard files the new head does not name. With ``rewrite_all`` the old head's
    shards are all dropped (``shards`` holds every project)."""
    folder = manifest.folder
    folder.mkdir(parents=True, exist_ok=True)
    digests = {} if rewrite_all else dict(manifest.shards)
    for sid, lines in sorted(shards.items()):
        if not lines:
            digests.pop(sid, None)
            continue
        body = "".join(lines[name] + "\n" for name in sorted(lines)).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        # Written whole even when a file of that name is there (it could be a torn one).
        _write_bytes_replace(folder / f"{sid}-{digest}", body)
        digests[sid] = digest
    text = "\n".join(summary).encode("utf-8")
    head = dict(header, shards=dict(sorted(digests.items())), summary=hashlib.sha256(text).hexdigest())
    _write_bytes_replace(manifest.path, json.dumps(head, sort_keys=True, separators=(",", ":")).encode() + b"\n" + text)
    keep = {f"{sid}-{digest}" for sid, digest in digests.items()}
    with os.scandir(folder) as it:
        stale = [e.name for e in it if e.name not in keep and (_SHARD_FILE.match(e.name) or e.name.startswith(TMP_PREFIX))]
    for name in stale:  # only names the build writes there: nothing else is ever removed
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
    manifest.shards = digests


def _manifest_line(name: str, stat_key: "tuple[int, int]", digest: str, outputs: str, card_json: str, card_html_json: str) -> str:
    return f"{name}\t{stat_key[0]}\t{stat_key[1]}\t{digest}\t{outputs}\t{card_json}\t{card_html_json}"


def _card_fields(line: str) -> "tuple[str, str]":
    """``(card JSON, card HTML JSON)`` of a manifest line: its last two fields, found from the
    end so that the long outputs field is not copied."""
    last = line.rfind("\t")
    before = line.rfind("\t", 0, last)
    return line[before + 1:last], line[last + 1:]


def build_site(
    index: Index,
    out: Optional[Path] = None,
    *,
    progress: Optional[Callable[[str], None]] = None,
    full: bool = False,
    copy: bool = False,
    jobs: Optional[int] = None,
) -> BuildResult:
    """Build (or bring up to date) the static site of ``index`` in ``out`` (default ``_site/``).

    ``full`` renders every project again instead of trusting the build manifest (still writing
    only files whose bytes differ): it repairs a site that was changed by hand.

    Distribution files are placed as hard links to the committed files where the file system
    allows (see :meth:`Renderer.place_file`); ``copy`` places copies instead, so that nothing
    done to the built site can reach the committed files (a build in the other mode than the
    last one places every file again).

    ``jobs``: processes that render projects (default: see :func:`build_jobs`); outputs are the
    same bytes whatever the number.

    Returns a :class:`BuildResult`. Raises :class:`~pagesindex.errors.IndexStateError` when a
    record is invalid or a distribution file is missing or does not match its record (nothing of
    that project is written then).

    Crash safety: every output is written to a temporary file and renamed into place, distribution
    files before the pages that link to them, and the manifest last; a build killed half-way leaves
    the old manifest, so the next build renders those projects again, and it deletes the temporary
    files (``.tmp-*``) left in ``out``. The build holds the index lock, so it sees one state and
    two builds never interleave.
    """
    out = Path(out) if out is not None else index.root / "_site"
    check_output_folder(index, out)
    with index.lock(write=False):
        # Links, special files and oversized files in static/ or templates/ are refused before
        # anything is written (the build would publish or render what a link points to).
        check_index_assets(index)
        out.mkdir(parents=True, exist_ok=True)
        # The marker lives while a build runs: found at the start, it means the last build was
        # interrupted, and only then (or for a full build) is the whole site searched for
        # temporary files and folders (a walk of every file would dominate a no-change build of
        # a large index).
        marker = out / BUILDING_MARKER
        if full or marker.exists() or not manifest_path(index, out).exists():
            remove_temporary(out)
        marker.touch()
        try:
            return _build_site(index, out, progress, full, copy, jobs)
        finally:
            # Reached on success and on any error (whose writes clean up their own temporary
            # files); only a killed build leaves the marker behind.
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()


#: Records from which :func:`_scan_records` splits its stats between two processes (below it, a
#: fork costs more than it saves; on this project's 2-core runner the split takes 50,000 stats from
#: 0.17 s to 0.09 s).
SPLIT_SCAN_MIN_RECORDS = 8000


def _record_lines(names: List[str], stat_of: Callable[[str], os.stat_result]) -> "tuple[List[str], List[str]]":
    """``([name], [name TAB mtime-ns TAB size])`` of the regular files among ``names`` (each a
    ``<name>.json`` looked up with ``stat_of``); one gone since the listing is left out."""
    records: List[str] = []
    summary: List[str] = []
    for file in names:
        try:
            st = stat_of(file)
        except (FileNotFoundError, NotADirectoryError):
            continue  # gone since the listing, or a link to nothing
        if stat.S_ISREG(st.st_mode):
            name = file[:-5]
            records.append(name)
            summary.append(f"{name}\t{st.st_mtime_ns}\t{st.st_size}")
    return records, summary


def _split_scan(files: List[str], stat_of: Callable[[str], os.stat_result],
                meanwhile: Optional[Callable[[], None]] = None) -> "Optional[tuple[List[str], List[str]]]":
    """:func:`_record_lines` of ``files``, the second half statted in a forked child while this
    process stats the first (a stat is a system call: two cores halve the time). With
    ``meanwhile`` (which must not raise), this process runs it first and then stats only the
    first third, the child the rest (at 50,000 records, loading Jinja and the templates costs
    about what a sixth of the stats does). ``None`` when no child could be used (no ``os.fork``,
    another thread running, or the child failed): the caller then stats every file itself. The
    child only stats and writes its two lists to a pipe, each joined with NUL (no file name holds
    one) behind the first one's length, then leaves with ``os._exit``: no buffer, lock or exit
    handler of this process runs twice."""
    import threading

    if not hasattr(os, "fork") or threading.active_count() != 1:
        return None  # forking a process with threads can deadlock the child
    half = len(files) // (2 if meanwhile is None else 3)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read_end)
            names, summary = _record_lines(files[half:], stat_of)
            first = os.fsencode("\0".join(names))
            view = memoryview(b"%d\n" % len(first) + first + os.fsencode("\0".join(summary)))
            while view:
                view = view[os.write(write_end, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        if meanwhile is not None:
            meanwhile()
        names, summary = _record_lines(files[:half], stat_of)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    head, _, rest = data.partition(b"\n")
    if status != 0 or not head.isdigit():
        return None
    size = int(head)
    if size:
        names += os.fsdecode(rest[:size]).split("\0")
        summary += os.fsdecode(rest[size:]).split("\0")
    return names, summary


def _scan_records(folder: str, meanwhile: Optional[Callable[[], None]] = None) -> "tuple[List[str], List[str]]":
    """``([name], [name TAB mtime-ns TAB size])`` of every record ``<name>.json`` in ``folder``
    (a regular file, or a link to one; no dot file), in the folder's own order. Each record is
    looked up in the open folder (one path part, not the whole path, for each of 50,000); from
    :data:`SPLIT_SCAN_MIN_RECORDS` records, two processes share the stats (:func:`_split_scan`),
    and this one runs ``meanwhile`` (which must not raise) while the other stats."""
    at_fd = os.stat in os.supports_dir_fd and os.listdir in os.supports_fd
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)) if at_fd else None
    try:
        def stat_of(file: str) -> os.stat_result:
            return os.stat(file, dir_fd=fd) if fd is not None else os.stat(os.path.join(folder, file))

        files = [file for file in os.listdir(folder if fd is None else fd) if file.endswith(".json") and not file.startswith(".")]
        if len(files) >= SPLIT_SCAN_MIN_RECORDS:
            split = _split_scan(files, stat_of, meanwhile)
            if split is not None:
                return split
        return _record_lines(files, stat_of)
    finally:
        if fd is not None:
            os.close(fd)


def _splice_cards(path: Path, changes: "List[tuple[str, str]]") -> Optional[bytes]:
    """The landing page at ``path`` with each changed card put in place of its old one
    (``changes``: ``(old card HTML JSON, new card HTML JSON)`` from the manifest), so that a card
    change does not join every stored card again (tens of MB at 50,000 projects); None when the
    page is missing or an old card is not found there exactly once (a build killed after writing
    the page, a page changed by hand, a template whose cards are not unique): the caller then
    makes the page from every card."""
    page = _Listing(_read_regular(path), _MARK, b"")  # the whole page is its list
    for old_json, new_json in changes:
        try:
            old, new = json.loads(old_json), json.loads(new_json)
        except ValueError:
            return None
        if not isinstance(old, str) or not isinstance(new, str):
            return None
        page.replace(old.encode("utf-8"), new.encode("utf-8"))
    return page.page(_MARK)


#: Above this many projects added, removed or with a new card, :func:`_splice_projects` leaves
#: the root pages to be made from every card (each splice searches the whole landing page).
_SPLICE_MAX = 64
_MARK = "\0entries\0"


class _Listing:
    """The list part of a page this build wrote: ``head + entries joined by sep + tail``, where
    ``(head, tail)`` is the page made with the single entry :data:`_MARK`. ``ok`` is False when the
    page does not have that head and tail (not the page that code makes, or changed by hand)."""

    def __init__(self, data: Optional[bytes], frame: str, sep: bytes):
        self.sep, self.ok = sep, False
        parts = frame.encode("utf-8").split(_MARK.encode("utf-8"))
        if data is None or len(parts) != 2:
            return
        self.head, self.tail = parts
        if len(data) >= len(self.head) + len(self.tail) and data.startswith(self.head) and data.endswith(self.tail):
            self.entries, self.ok = data[len(self.head):len(data) - len(self.tail)], True

    def _find(self, entry: bytes) -> int:
        at = self.entries.find(entry) if entry else -1
        if at < 0 or self.entries.find(entry, at + 1) >= 0:
            self.ok = False  # not there exactly once
            return -1
        return at

    def _splice(self, at: int, end: int, *new: bytes) -> None:
        """``entries[at:end]`` replaced by ``new`` in one new buffer (slices and ``+`` would copy
        the list several times: at 50,000 projects each copy is 15 MB of fresh memory)."""
        view = memoryview(self.entries)
        self.entries = b"".join((view[:at], *new, view[end:]))
        view.release()

    def replace(self, old: bytes, new: bytes) -> None:
        at = self._find(old)
        if at >= 0:
            self._splice(at, at + len(old), new)

    def remove(self, entry: bytes) -> None:
        at = self._find(entry)
        if at < 0:
            return
        end = at + len(entry)
        if self.entries[end:end + len(self.sep)] == self.sep and end < len(self.entries):
            end += len(self.sep)  # the entry and the separator after it
        elif at >= len(self.sep) and self.entries[at - len(self.sep):at] == self.sep:
            at -= len(self.sep)  # the last entry, and the separator before it
        self._splice(at, end)

    def insert(self, entry: bytes, before: Optional[bytes]) -> None:
        """``entry`` before the entry ``before``, or last when it is None."""
        if before is None:
            self.entries = self.entries + self.sep + entry if self.entries else entry
            return
        at = self._find(before)
        if at >= 0:
            self._splice(at, at, entry, self.sep)

    def page(self, frame: str) -> Optional[bytes]:
        parts = frame.encode("utf-8").split(_MARK.encode("utf-8"))
        return b"".join((parts[0], self.entries, parts[1])) if self.ok and len(parts) == 2 else None


def _splice_projects(renderer: "Renderer", names: List[str], card_changes: List[str], added: List[str],
                     gone: List[str], new_lines: Dict[str, str], old_of: "Dict[str, Optional[str]]",
                     manifest: "_Manifest") -> "Optional[tuple[bytes, bytes, bytes]]":
    """``(landing page, API root index.html, index.json)`` bytes after projects were ``added``
    (rendered now: their lines in ``new_lines``), are ``gone`` (their old lines in the manifest),
    or have a new card (``card_changes``: their names; some have a new display name), made from the three pages
    in the site instead of every project's card and name (at 50,000 projects every shard is 60 MB
    to read, and the pages 18 MB to make). Each page's list is what lies between its code's text
    for one stand-in entry (the landing page's for the old count); a removed entry is cut out, a
    changed one replaced, an added one put before the entry that follows it in name order. ``None``
    when a page is not what its code makes, an entry is not found exactly once, or more than
    :data:`_SPLICE_MAX` entries change: the caller then makes the pages from every card."""
    if len(added) + len(gone) + len(card_changes) > _SPLICE_MAX or not names or not manifest.summary:
        return None  # many changes, or a list that is or was empty (its page has no entry to keep the frame)
    out = renderer.out

    def fields(line: Optional[str]) -> "Optional[tuple[str, str]]":
        """(display name, card HTML) of a manifest line."""
        if not line:
            return None
        try:
            card_json, html_json = _card_fields(line)
            display, html = json.loads(card_json)["name"], json.loads(html_json)
        except (ValueError, KeyError, TypeError):
            return None
        ok = isinstance(display, str) and isinstance(html, str) and display and html and "\n" not in display
        return (display, html) if ok else None

    def now_of(name: str) -> "Optional[tuple[str, str]]":
        return fields(new_lines.get(name) or manifest.line(name))

    def anchor(display: str, name: str) -> bytes:
        return simple_api.root_html_entry(display, name).encode("utf-8")

    def json_entry(display: str) -> bytes:
        return _json_bytes({"name": display})[:-1]

    title = renderer.index.config.title
    base = dict(static=f"../{STATIC_DIR}/", base_url=pages._base_url(renderer.index.config.url), **renderer._page_context())
    template = renderer.env.get_template("root.html")

    def landing_frame(count: int) -> str:
        return template.render(cards=markupsafe.Markup(_MARK), count=count, **base)

    old_count = len(manifest.summary)
    landing = _Listing(_read_regular(out / PEOPLE_DIR / "index.html"), landing_frame(old_count), b"")
    api_frame = simple_api.root_html([(_MARK, _MARK)], title).replace(simple_api.root_html_entry(_MARK, _MARK), _MARK)
    api_html = _Listing(_read_regular(out / "index.html"), api_frame, b"\n")
    json_frame = _json_bytes(simple_api.root_json([_MARK])).decode("utf-8").replace(json_entry(_MARK).decode("utf-8"), _MARK)
    api_json = _Listing(_read_regular(out / "index.json"), json_frame, b",")
    listings = (landing, api_html, api_json)
    if not all(listing.ok for listing in listings):
        return None
    for name in card_changes:  # projects kept: the card, and the name when it changed
        was, now = fields(old_of.get(name)), fields(new_lines.get(name))
        if was is None or now is None:
            return None
        landing.replace(was[1].encode("utf-8"), now[1].encode("utf-8"))
        if was[0] != now[0]:
            api_html.replace(anchor(was[0], name), anchor(now[0], name))
            api_json.replace(json_entry(was[0]), json_entry(now[0]))
    for name in gone:
        was = fields(manifest.line(name))
        if was is None:
            return None
        landing.remove(was[1].encode("utf-8"))
        api_html.remove(anchor(was[0], name))
        api_json.remove(json_entry(was[0]))
    if added:
        for name in added:
            # Rendered without an old line but listed already (its shard torn, or left out by
            # deploy_state's adopt): not new to the site, so the splice cannot tell its old card.
            if anchor(name, name).split(b">", 1)[0] in api_html.entries:
                return None
        order = sorted(names)
        added_set = set(added)
        position = {name: i for i, name in enumerate(order) if name in added_set}
        for name in sorted(added, reverse=True):  # each before the entry that follows it, added or kept
            now = fields(new_lines.get(name))
            i = position[name] + 1
            follower = now_of(order[i]) if i < len(order) else None
            if now is None or (i < len(order) and follower is None):
                return None
            landing.insert(now[1].encode("utf-8"), follower and follower[1].encode("utf-8"))
            api_html.insert(anchor(now[0], name), follower and anchor(follower[0], order[i]))
            api_json.insert(json_entry(now[0]), follower and json_entry(follower[0]))
    pages_now = (landing.page(landing_frame(len(names))), api_html.page(api_frame), api_json.page(json_frame))
    if any(page is None for page in pages_now):
        return None
    return pages_now[0], pages_now[1], pages_now[2]


def _render_one(renderer: Renderer, name: str, path: str, digest: str, old_parts: Optional[List[str]],
                full: bool) -> "tuple[str, str, str, str]":
    """Render one project; return its manifest fields ``(name, card, card HTML, outputs)``.

    The record is read here (not handed over: the build's own process would hold every record
    of a full build at once) and must still have the sha256 ``digest`` the build recorded."""
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise IndexStateError(f"{path!r} changed while the site was built (another program wrote it without the index lock); build again")
    project = Index._parse_record(Path(path), data)
    outputs = renderer.project_outputs(project)
    stale = set(_old_outputs(name, old_parts[4])) - outputs if old_parts else set()
    renderer.remove(stale)
    card = project_card(project)
    card_json = json.dumps(card, sort_keys=True, separators=(",", ":"))
    if old_parts and old_parts[5] == card_json and not full:
        card_html_json = old_parts[6]
    else:
        card_html_json = json.dumps(renderer.card_html(card), ensure_ascii=False)
    renderer.result.rendered.append(name)
    return name, encode_outputs(name, outputs), card_json, card_html_json


#: Fewer projects to render than this are rendered in the build's own process.
PARALLEL_MIN_PROJECTS = 500
#: Projects per task handed to a worker process.
_CHUNK = 50


def build_jobs(count: int, jobs: Optional[int] = None) -> int:
    """How many processes render ``count`` projects: ``jobs`` when given, else
    ``PAGESINDEX_BUILD_JOBS``, else one per CPU (at most 4) once there are
    :data:`PARALLEL_MIN_PROJECTS` projects to render. Raises
    :class:`~pagesindex.errors.InvalidSetting` for a setting that is not a whole number >= 1."""
    if jobs is None:
        jobs = limits.env_int("PAGESINDEX_BUILD_JOBS", 0) or None
    if jobs is None:
        if count >= PARALLEL_MIN_PROJECTS:
            jobs = min(os.cpu_count() or 1, 4)
        else:
            jobs = 1
    return max(1, min(jobs, count))


def _render_chunk(root: str, out: str, link: bool, full: bool, chunk: list) -> "tuple[list, list, list]":
    """A worker's task: render a chunk of projects; return their manifest fields and the paths
    written and removed."""
    renderer = Renderer(Index(Path(root)), Path(out), link=link)
    renderer.trust_pages = not full
    done = [_render_one(renderer, *job, full) for job in chunk]
    return done, renderer.result.written, renderer.result.removed


def _render_projects(renderer: Renderer, todo: list, full: bool, progress: Optional[Callable[[str], None]],
                     jobs: Optional[int]) -> list:
    """Render the projects of ``todo`` (in this process, or in worker processes when there are
    many: file creation and template rendering are most of a full build, and each project's
    outputs are its own); return their manifest fields in the order of ``todo``."""
    workers = build_jobs(len(todo), jobs)
    if workers <= 1:
        done = []
        for job in todo:
            if progress:
                progress(job[0])
            done.append(_render_one(renderer, *job, full))
        return done
    import concurrent.futures
    import multiprocessing

    # spawn: a fresh interpreter per worker, safe whatever threads the caller runs (fork is not).
    context = multiprocessing.get_context("spawn")
    # Tasks of up to _CHUNK projects, at least four per worker so that the workers finish together.
    size = max(1, min(_CHUNK, len(todo) // (workers * 4)))
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    results: Dict[int, list] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {
            pool.submit(_render_chunk, os.fspath(renderer.index.root), renderer._out, renderer.link, full, chunk): i
            for i, chunk in enumerate(chunks)
        }
        try:
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                done, written, removed = future.result()
                results[i] = done
                renderer.result.written.extend(written)
                renderer.result.removed.extend(removed)
                if progress:
                    progress(chunks[i][-1][0])
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    renderer.result.rendered.extend(job[0] for job in todo)
    return [d for i in range(len(chunks)) for d in results[i]]


def _changed_since(folder: str, path: Path) -> bool:
    """Whether ``folder`` was changed (a name added, removed or replaced) at or after the last
    write of ``path``; True when either cannot be stat'ed."""
    try:
        return os.stat(folder).st_mtime_ns >= os.stat(path).st_mtime_ns
    except OSError:
        return True


def _build_site(index: Index, out: Path, progress: Optional[Callable[[str], None]], rebuild: bool = False,
                copy: bool = False, jobs: Optional[int] = None) -> BuildResult:
    renderer = Renderer(index, out, link=not copy)
    manifest = _Manifest(manifest_path(index, out), out)
    header = manifest.header
    fp = fingerprint(index) + (":copy" if copy else "")
    full = rebuild or header.get("fingerprint") != fp
    renderer.trust_pages = not full
    changed = full  # the landing page must be made again
    dirty = full or not manifest.valid or manifest.rebuilt  # the manifest must be written again

    # One stat per record (a record edited in place keeps its folder's mtime, so none is skipped),
    # in the folder's own order: the summary line each project would have, compared with the
    # manifest's (written in that order too) in one go, with no sort and no set of 50,000 names.
    projects_dir = os.fspath(index.projects_dir)
    # While the records are stat'ed, load what rendering needs when something will probably be
    # rendered: ``add`` and git replace a record (the folder's mtime moves past the manifest's);
    # a record edited in place is found all the same, only without the head start.
    warm_up = renderer.warm_up if full or not manifest.valid or _changed_since(projects_dir, manifest.path) else None
    names, summary = _scan_records(projects_dir, warm_up) if index.projects_dir.is_dir() else ([], [])
    line_of: Dict[str, str] = {}  # name -> summary line (made when something changed)
    if not full and summary == manifest.summary:
        pending: List[str] = []  # no record changed, none came or went: no shard is read
        gone: List[str] = []
    else:
        old = manifest.summary
        same_names = False
        if not full and len(old) == len(summary):
            # The usual change (a record rewritten, the folder's order kept): compare in place.
            diff = [i for i, (now, was) in enumerate(zip(summary, old)) if now != was]
            same_names = all(summary[i].partition("\t")[0] == old[i].partition("\t")[0] for i in diff)
        if same_names:
            line_of = {names[i]: summary[i] for i in diff}
            pending = sorted(line_of)
            gone = []
        else:
            line_of = dict(zip(names, summary))
            if full:
                pending = sorted(names)
                gone = sorted(set(manifest.load_all()) - set(names))  # stale outputs are named by these lines
            else:
                old_lines = set(old)
                pending = sorted(name for name, line in line_of.items() if line not in old_lines)
                gone = sorted({line.partition("\t")[0] for line in old} - set(names))

    new_lines: Dict[str, str] = {}  # lines of the projects looked at (every other line stays as it is)
    old_of: Dict[str, Optional[str]] = {}  # their old lines
    todo = []  # projects to render: (name, record path, record sha256, old manifest fields)
    stat_keys = {}

    def look_at(name: str, old: Optional[str]) -> None:
        nonlocal dirty
        path = os.path.join(projects_dir, name + ".json")
        key = line_of[name][len(name) + 1:]
        old_of[name] = old
        dirty = True
        stat_key = tuple(int(x) for x in key.split("\t"))
        if not full and old and old.startswith(f"{name}\t{key}\t"):
            new_lines[name] = old
            return
        old_parts = old.split("\t", 6) if old else None
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if not full and old_parts and old_parts[3] == digest:
            new_lines[name] = _manifest_line(name, stat_key, digest, *old_parts[4:])
            return
        new_lines[name] = ""  # filled in below
        stat_keys[name] = (stat_key, digest)
        todo.append((name, path, digest, old_parts))

    for name in pending:
        look_at(name, manifest.line(name))
    for name in gone:
        manifest.line(name)
    def render_lacking() -> Dict[str, str]:
        """Every shard read (``{name: line}``); a project with no line in them (its shard torn)
        is put in ``todo``: its outputs are not known, so none is removed."""
        every = manifest.load_all()
        lacking = sorted(name for name in names if name not in new_lines and name not in every)
        if lacking:
            line_of.update(zip(names, summary))
            for name in lacking:
                look_at(name, None)
        return every

    if manifest.torn:  # a shard that did not match its digest: its projects are rendered again
        render_lacking()

    names_changed = full or not manifest.valid  # the API root lists the projects' names
    card_changes: List[tuple] = []  # (old card HTML JSON, new card HTML JSON) of the landing page
    card_names: List[str] = []  # the projects of those cards
    added: List[str] = []  # projects that had no card

    def render_todo() -> None:
        nonlocal changed, names_changed
        old_cards = {job[0]: job[3][5] if job[3] else None for job in todo}
        for name, outputs_json, card_json, card_html_json in _render_projects(renderer, todo, full, progress, jobs):
            stat_key, digest = stat_keys[name]
            new_lines[name] = _manifest_line(name, stat_key, digest, outputs_json, card_json, card_html_json)
            old_card = old_cards[name]
            if old_card != card_json:
                changed = True  # the landing page shows this card
                if old_card is None:
                    names_changed = True
                    added.append(name)
                else:
                    if json.loads(old_card)["name"] != json.loads(card_json)["name"]:
                        names_changed = True
                    card_changes.append((old_of[name].rsplit("\t", 1)[1], card_html_json))
                    card_names.append(name)
        todo.clear()

    render_todo()
    if gone:
        changed = dirty = names_changed = True

    root_outputs = {rel for rel in header.get("root", []) if is_site_path(rel)}
    if changed or not all((out / rel).exists() for rel in ("index.html", "index.json", f"{PEOPLE_DIR}/index.html")):
        api_missing = not (out / "index.json").exists() or not (out / "index.html").exists()
        landing = api = None
        names_arg = None
        if not names_changed and not api_missing and not full and card_changes:
            landing = _splice_cards(out / PEOPLE_DIR / "index.html", card_changes)
        elif names_changed and not api_missing and manifest.valid and not full:
            spliced = _splice_projects(renderer, names, card_names, added, gone, new_lines, old_of, manifest)
            if spliced is not None:
                landing, api = spliced[0], spliced[1:]
        cards_html: List[str] = []
        if landing is None:
            every = render_lacking()
            if todo:  # a torn shard found only now: its projects are rendered before the pages list them
                render_todo()
            lines = [new_lines.get(name) or every.get(name, "") for name in sorted(names)]
            if names_changed or api_missing:
                cards = json.loads("[" + ",".join([_card_fields(line)[0] for line in lines if line]) + "]")
                names_arg = [(card["name"], card["normalized"]) for card in cards]
            # The card HTML is each line's last field (one search from its end, no call per line).
            cards_html = json.loads("[" + ",".join([line[line.rfind("\t") + 1:] for line in lines if line]) + "]")
        new_root = renderer.root_outputs(cards_html, names_arg, landing=landing, api=api)
        renderer.remove(root_outputs - new_root)
        if new_root != root_outputs:
            dirty = True
        root_outputs = new_root
    # Pages of removed projects go only after the root page stops linking to them, so a build
    # killed at any point leaves no broken link.
    for name in gone:
        old = manifest.line(name)
        if old:
            renderer.remove(_old_outputs(name, old.split("\t", 6)[4]))
    renderer.result.gone = list(gone)
    stamp = site_stamp(out)
    if dirty or stamp != header.get("site"):
        # Not synced: the site files it describes are not either (they are derived, and a
        # manifest lost with them only makes the next build render everything again).
        rewrite_all = full or not manifest.valid
        shards: Dict[str, Dict[str, str]] = {}
        if rewrite_all:
            for name, line in new_lines.items():
                shards.setdefault(_shard_of(name), {})[name] = line
        else:
            for name in [n for n, line in new_lines.items() if line != old_of.get(n)] + gone:
                sid = _shard_of(name)
                if sid not in shards:
                    shards[sid] = dict(manifest.shard(sid))
                if name in new_lines:
                    shards[sid][name] = new_lines[name]
                else:
                    shards[sid].pop(name, None)
            for sid in manifest.torn:  # made again from the projects rendered above
                shards.setdefault(sid, dict(manifest.shard(sid)))
        new_header = {"format": MANIFEST_FORMAT, "fingerprint": fp, "root": sorted(root_outputs), "site": stamp}
        _write_manifest(manifest, new_header, summary, shards, rewrite_all)
    for old_name in _OLD_MANIFESTS:  # an older build's manifest inside the site: not published
        with contextlib.suppress(FileNotFoundError):
            (out / old_name).unlink()
            renderer.result.removed.append(old_name)
    renderer.result.projects = len(names)
    return renderer.result
