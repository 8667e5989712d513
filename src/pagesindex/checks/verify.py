"""``pagesindex verify``: the state and the built site agree with themselves.

Checks that every recorded distribution file exists with the recorded size and sha256, that every
wheel's METADATA matches the recorded core-metadata hash, that ``packages/`` holds no unrecorded
file, and, when a built site exists, that every sidecar is byte-identical to its wheel's METADATA
(PEP 658), every ``#sha256=`` fragment matches the bytes served, every relative link resolves, and
every recorded alias (an old URL of a file, ``project.extra["aliases"]``) serves the file's bytes.

The built site is also compared with the state both ways (issue 13, item 4): the site a build of
the state writes is rendered in memory (:class:`ExpectedSite`), and every one of its pages must be
in the site byte for byte, every distribution file with its recorded size and sha256, and the
site must serve nothing else (no symbolic link either, which the Pages upload would follow; the
build manifest is kept outside the site). The build manifest is read only to choose each remedy: ``pagesindex
build`` when the state changed since the last build, ``build --full`` when the site changed
outside a build, deleting a file that no build wrote.

It also checks the host's size limits (:mod:`pagesindex.limits`: 100 MiB a file in a GitHub
repository, 1 GB a published GitHub Pages site) and reports temporary files that an interrupted
command left behind, each with what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional
from urllib.parse import unquote, urlsplit

from .. import limits
from ..errors import PagesIndexError
from ..inspect import hash_file, read_wheel_metadata
from ..model import WHEEL, names_shown
from ..render import (
    PEOPLE_DIR,
    BUILDING_MARKER,
    _OLD_MANIFESTS,
    SITE_PACKAGES,
    STATIC_DIR,
    Renderer,
    _load_manifest,
    decode_outputs,
    fingerprint,
    index_asset_problems,
    manifest_path,
    project_aliases,
    project_card,
    read_regular,
)
from ..state import TMP_PREFIX, Index
from ..storage_move import legacy_files
from ..stores import StoredFile


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: List[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value is not None:
                self.links.append(value)


def _check_state(index: Index, problems: List[str], staged: "Optional[Dict[tuple, int]]" = None,
                 check_store: bool = True, full_store: bool = False, names: "Optional[set[str]]" = None,
                 temporary_in_names: bool = False) -> None:
    """The state agrees with itself and the store. ``names``: check only these projects (the
    incremental verify; the files of the others are compared with the saved state instead), and
    with ``temporary_in_names`` look for temporary files only in their folders of ``packages/``
    (and the index and ``projects/`` folders)."""
    recorded = set()
    pending: List[StoredFile] = []  # published files and sidecars, asked of the store at once
    total = 0
    file_bound = limits.max_file_bytes()
    if names is None or not temporary_in_names:
        temporaries = index.temporary_files()
    else:  # the others' folders: git lists any file not tracked, which makes its project checked here
        temporaries = sorted(p for folder in [index.root, index.projects_dir, index.packages_dir,
                                              *(index.packages_dir / n for n in names)]
                             if folder.is_dir() for p in folder.glob(TMP_PREFIX + "*") if p.is_file())
    for path in temporaries:
        problems.append(
            f"{path.relative_to(index.root).as_posix()}: temporary file left by an interrupted command "
            "(the next add, remove or yank deletes it; or delete it)"
        )
    problems.extend(index_asset_problems(index))
    if index.config.storage.is_object_store and check_store:
        try:
            problems.extend(index.store.store_problems())  # the store as a whole (who can read it)
        except PagesIndexError as exc:
            problems.append(str(exc))
    for name in index.project_names() if names is None else sorted(names):
        try:
            project = index.get_project(name)
        except PagesIndexError as exc:
            problems.append(str(exc))
            continue
        try:
            project_aliases(project)
        except PagesIndexError as exc:
            problems.append(str(exc))
        try:
            legacy = set(legacy_files(project)) if index.config.storage.is_object_store else set()
        except PagesIndexError as exc:
            problems.append(str(exc))
            legacy = set()
        for release in project.releases.values():
            git = release.extra.get("git")
            if git is not None:
                parts = urlsplit(str(git.get("url", "")) if isinstance(git, dict) else "")
                loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
                if (parts.scheme != "https" and not loopback) or not parts.hostname or parts.username or parts.password or parts.query:
                    problems.append(f"projects/{name}.json: release {release.version}: git url must be https without credentials or query")
            for f in release.files:
                if index.config.storage.is_object_store:
                    _check_stored(index, name, f, problems, pending, check_store)
                    if f.filename not in legacy:
                        continue  # else also kept in git, served at its old URL: checked below
                try:
                    path = index.file_path(name, f.filename)
                except PagesIndexError as exc:
                    problems.append(str(exc))
                    continue
                total += f.size
                if f.size > file_bound:
                    problems.append(
                        f"packages/{name}/{f.filename}: {limits.human(f.size)} is over the per-file limit of "
                        f"{limits.human(file_bound)} (GitHub refuses it; remove that release)"
                    )
                recorded.add(path)
                rel = path.relative_to(index.root).as_posix()
                if not path.is_file():
                    problems.append(f"{rel}: missing (recorded in projects/{name}.json; restore it with 'git checkout -- {rel}', or remove that release and add the file again)")
                    continue
                digest, size = hash_file(path)
                if size != f.size or digest != f.sha256:
                    problems.append(f"{rel}: size {size} / sha256 {digest[:12]}… differ from the record ({f.size} / {f.sha256[:12]}…); restore it with 'git checkout -- {rel}', or remove that release and add the file again")
                    continue
                if f.kind == WHEEL and f.core_metadata_sha256:
                    try:
                        meta = read_wheel_metadata(path, f.filename)
                    except PagesIndexError as exc:
                        problems.append(str(exc))
                        continue
                    if hashlib.sha256(meta).hexdigest() != f.core_metadata_sha256:
                        problems.append(f"{rel}: METADATA differs from the recorded core-metadata hash")
    _check_pending(index, pending, problems, staged, full_store)
    if names is not None:
        # The total and the files of other projects: from the listing (_verify_incremental).
        for name in sorted(names):
            folder = index.packages_dir / name
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_file() and not path.name.startswith(".") and path not in recorded:
                    problems.append(f"{path.relative_to(index.root).as_posix()}: not recorded in any project (redo 'pagesindex add' or delete it)")
        return
    site_bound = limits.max_site_bytes()
    if total > site_bound:
        problems.append(
            f"the distribution files total {limits.human(total)}, over the site limit of {limits.human(site_bound)} "
            "(GitHub Pages publishes at most 1 GB; remove old releases)"
        )
    if index.packages_dir.is_dir():
        for path in sorted(index.packages_dir.rglob("*")):
            if path.is_file() and not path.name.startswith(".") and path not in recorded:
                problems.append(f"{path.relative_to(index.root).as_posix()}: not recorded in any project (redo 'pagesindex add' or delete it)")


def _check_stored(index: Index, name: str, f, problems: List[str], pending: "List[StoredFile]",
                  check_store: bool = True) -> None:
    """With an object store: the published file (and a wheel's sidecar) exists in the store with
    the recorded size and sha256 (added to ``pending``, asked by :func:`_check_pending`), and the
    committed core metadata matches its hash. Without ``check_store``, only the committed core
    metadata is checked (the store is not asked)."""
    from ..state import METADATA_DIR, cached_core_metadata

    if not check_store:
        if f.kind == WHEEL and f.core_metadata_sha256 and cached_core_metadata(index.root, f.core_metadata_sha256) is None:
            problems.append(
                f"{METADATA_DIR}/{f.core_metadata_sha256}: core metadata of {f.filename} missing or changed "
                "(restore it with git, or add the file again)"
            )
        return

    pending.append(StoredFile(name, f.filename, f.sha256, f.size))
    if f.kind == WHEEL and f.core_metadata_sha256:
        if cached_core_metadata(index.root, f.core_metadata_sha256) is None:
            problems.append(
                f"{METADATA_DIR}/{f.core_metadata_sha256}: core metadata of {f.filename} missing or changed "
                "(restore it with git, or add the file again)"
            )
        pending.append(StoredFile(name, f.filename, f.core_metadata_sha256, None, sidecar=True))


def _check_pending(index: Index, pending: "List[StoredFile]", problems: List[str],
                   staged: "Optional[Dict[tuple, int]]", full_store: bool) -> None:
    """Ask the store about every published file and sidecar at once (``Store.check_files``: the
    s3 store lists the public prefix once and HEADs only objects it has not checked before, its
    record kept in the index's ``.pagesindex-cache/``; ``full_store`` HEADs every one). A file
    not public yet is fine when it is in ``staged`` with its recorded size."""
    from ..state import CACHE_DIR

    if not pending:
        return
    try:
        found = index.store.check_files(pending, index.root / CACHE_DIR, full=full_store)
    except PagesIndexError as exc:
        problems.append(str(exc))
        return
    for item, problem in zip(pending, found):
        if not problem:
            continue
        name = item.filename + (".metadata" if item.sidecar else "")
        if staged is not None and "missing" in problem and (item.sha256, name) in staged and (
                item.size is None or staged[(item.sha256, name)] == item.size):
            continue  # staged, published after the merge
        problems.append(problem)


def _read_site(site: Path, rel: str, problems: List[str]) -> Optional[bytes]:
    """The bytes of the site's regular file ``rel`` (never following a link, never blocking,
    at most the per-file limit), or None with a problem naming it."""
    try:
        return read_regular(site / rel, rel)
    except PagesIndexError as exc:
        problems.append(str(exc))
        return None


def _pages_to_read(site: Path, readable, exact, problems: List[str], wanted: Callable[[str], bool]):
    """``(rel, bytes)`` of each readable site file that ``wanted`` names and that is not already
    known byte-identical to what a build writes (``exact``), in order; unreadable ones are problems."""
    for rel in sorted(r for r in readable if wanted(r)):
        if rel in exact:
            continue
        data = _read_site(site, rel, problems)
        if data is not None:
            yield rel, data


def _check_site(index: Index, site: Path, problems: List[str], digest_of, exact: "frozenset[str]" = frozenset(),
                present: "Optional[Dict[str, int]]" = None) -> None:
    """Sizes, aliases, and the links, hashes and sidecars of every page.

    ``present``: the site's regular files and their sizes (:func:`_site_entries`); only they are
    read (a link, FIFO, device or folder is reported by :func:`_compare_site`, never opened).
    ``exact``: pages found byte-identical to what a build writes while every distribution file
    and page of the state is in place (:func:`_compare_site`); their links, hashes and sidecars
    are right by construction and are not parsed again (a third of a large site's verify)."""
    if present is None:
        present = _site_entries(site)[0]
    total = 0
    file_bound = limits.max_file_bytes()
    for rel in sorted(present):
        size = present[rel]
        total += size
        if size > file_bound:
            problems.append(f"{rel}: {limits.human(size)} is over the per-file limit of {limits.human(file_bound)}")
    site_bound = limits.max_site_bytes()
    if total > site_bound:
        problems.append(
            f"the site {site.name}/ holds {limits.human(total)}, over the GitHub Pages limit of {limits.human(site_bound)}"
        )
    readable = {rel for rel, size in present.items() if size <= file_bound}

    root = site.resolve()

    def resolve(page: Path, link: str) -> Optional[Path]:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("#") or not parts.path:
            return None
        target = (page.parent / unquote(parts.path)).resolve()
        if parts.path.endswith("/") or target.is_dir():
            target = target / "index.html"
        return target

    def served(target: Path) -> bool:
        """A regular file of the site (links were resolved; a link itself is never served)."""
        try:
            return target.relative_to(root).as_posix() in present
        except ValueError:
            return False

    for name in index.project_names():
        try:
            aliases = project_aliases(index.get_project(name))
        except PagesIndexError:
            continue  # reported by _check_state
        for path, f in aliases.items():
            target = site / path
            if path not in present:
                problems.append(f"{path}: old URL of {f.filename} is missing from the site (run 'pagesindex build')")
            elif digest_of(target) != f.sha256:
                problems.append(f"{path}: old URL of {f.filename} serves other bytes")

    for rel_page, data in _pages_to_read(site, readable, exact, problems, lambda rel: rel.endswith(".html")):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{rel_page}: not UTF-8 text (byte {exc.start}); a build writes only UTF-8 pages")
            continue
        page = site / rel_page
        parser = _Links()
        parser.feed(text)
        for link in parser.links:
            target = resolve(page, link)
            if target is None:
                continue
            if root not in target.parents and target != root:
                problems.append(f"{rel_page}: link {link!r} leaves the site")
                continue
            if not served(target):
                problems.append(f"{rel_page}: broken link {link!r}")
                continue
            fragment = urlsplit(link).fragment
            if fragment.startswith("sha256=") and digest_of(target) != fragment[7:]:
                problems.append(f"{rel_page}: {link!r} does not match the bytes served")
    is_json = lambda rel: rel == "index.json" or rel.endswith("/index.json")  # noqa: E731
    for rel_page, data in _pages_to_read(site, readable, exact, problems, is_json):
        try:
            data = json.loads(data)
        except ValueError:
            problems.append(f"{rel_page}: invalid JSON")
            continue
        files = data.get("files", []) if isinstance(data, dict) else None
        if not isinstance(files, list):
            problems.append(f"{rel_page}: not a simple API page (no list of files)")
            continue
        public = index.config.storage.public_url
        for f in files:
            if not isinstance(f, dict):
                problems.append(f"{rel_page}: a file entry is not an object")
                continue
            if public and str(f.get("url", "")).startswith(public):
                continue  # in the object store: checked there (_check_stored)
            target = resolve(site / rel_page, str(f.get("url", "")))
            hashes = f.get("hashes")
            if target is None or not served(target):
                problems.append(f"{rel_page}: broken url {f.get('url')!r}")
            elif not isinstance(hashes, dict) or digest_of(target) != hashes.get("sha256"):
                problems.append(f"{rel_page}: hash of {f.get('url')!r} does not match the bytes served")
    for rel in sorted(r for r in readable if r.endswith(".whl.metadata")):
        wheel_rel = rel[: -len(".metadata")]
        if rel in exact:
            continue
        if wheel_rel not in present:
            problems.append(f"{rel}: no wheel beside it")
            continue
        data = _read_site(site, rel, problems)
        if data is None:
            continue
        try:
            if read_wheel_metadata(site / wheel_rel) != data:
                problems.append(f"{rel}: differs from the wheel's METADATA")
        except PagesIndexError as exc:
            problems.append(str(exc))


#: A site problem means the site changed outside a build, which a plain build (trusting its
#: manifest) does not see: the remedy renders every project again, writing only what differs.
SITE_REMEDY = "run 'pagesindex build --full', which renders every project again and writes only what differs"
#: After an interrupted build (its marker is still in the site), a plain build finishes the work.
INTERRUPTED_REMEDY = "run 'pagesindex build': the last build was interrupted, and the next one finishes its work"
#: The state changed since the last build (a project added, changed or removed).
STALE_REMEDY = "run 'pagesindex build': the state changed since the site was built"
#: A file that no build wrote is never removed by one.
FOREIGN_REMEDY = "no build removes a file it did not write: delete it, or delete the site folder and run 'pagesindex build'"
#: Temporary files and folders (.tmp-*) belong to the build, which deletes them all when full.
TEMPORARY_REMEDY = "run 'pagesindex build --full', which deletes every temporary file and folder in the site"


class ExpectedSite(Renderer):
    """The site a build of ``index`` writes, rendered in memory: nothing is written or read
    from any site folder (its output folder is a path that does not exist, so no page is taken
    from an earlier build).

    After :meth:`render`, :attr:`pages` maps each page's path relative to the site to its
    bytes (HTML, JSON, sidecars, static files), :attr:`files` maps each distribution file's
    path to its recorded ``(sha256, size)``, and :attr:`owners` maps every path to the project
    that owns it (``""`` for the root page and the static files).

    ``on_page(rel, data)``, when given, receives each page as it is rendered instead, and
    :attr:`pages` keeps ``None`` for it: a large site is compared without holding its pages.
    """

    def __init__(self, index: Index, on_page: "Optional[Callable[[str, bytes], None]]" = None) -> None:
        import tempfile
        import uuid

        nowhere = Path(tempfile.gettempdir()) / f"pagesindex-verify-{uuid.uuid4().hex}"  # never made
        super().__init__(index, nowhere, link=False)
        self.trust_pages = False  # never skip a page: every byte is compared
        self.keep_metadata = False  # verify writes nothing
        self.pages: Dict[str, Optional[bytes]] = {}
        self.files: Dict[str, "tuple[str, int]"] = {}
        self.owners: Dict[str, str] = {}
        #: ``{project: (display name, card HTML)}`` and ``{project: names of its runtime
        #: dependencies}`` of the projects rendered (what a saved state keeps, see deploy_state).
        self.cards: Dict[str, "tuple[str, str]"] = {}
        self.deps: Dict[str, "set[str]"] = {}
        self._on_page = on_page

    def write(self, rel: str, data: bytes) -> None:
        if self._on_page is None:
            self.pages[rel] = data
        else:
            self.pages[rel] = None
            self._on_page(rel, data)

    def place_file(self, rel: str, src: "os.PathLike[str] | str", sha256: str, size: int) -> None:
        # The committed file itself is checked against its record by _check_state.
        self.files[rel] = (sha256, size)

    def remove(self, rels: Iterable[str]) -> None:
        pass

    def _private_deps(self, project, meta):
        from ..pages import runtime_dependencies

        self.deps.setdefault(project.normalized_name, set()).update(runtime_dependencies(meta["requires_dist"]))
        return super()._private_deps(project, meta)

    def render(self, problems: List[str], names: "Optional[set[str]]" = None,
               saved: "Optional[Dict[str, Dict]]" = None) -> "set[str]":
        """Render every project and the root page; return the names whose record could not be
        rendered (a problem each, appended to ``problems``; their site files are not judged).

        With ``names``, only those projects are rendered; the root page takes the cards of the
        others from ``saved`` (the projects of a saved state, see deploy_state)."""
        broken = set()
        cards = []
        for name in self.index.project_names():
            if names is not None and name not in names:
                entry = (saved or {})[name]
                cards.append(((entry["name"], name), entry["card"]))
                continue
            try:
                project = self.index.get_project(name)
                self.deps[name] = set()
                outputs = self.project_outputs(project)
                card = project_card(project)
                cards.append(((card["name"], card["normalized"]), self.card_html(card)))
                self.cards[name] = (card["name"], cards[-1][1])
            except PagesIndexError as exc:
                problems.append(f"projects/{name}.json: cannot be rendered: {exc}")
                broken.add(name)
                continue
            for rel in outputs:
                self.owners[rel] = name
        for rel in self.root_outputs([html for _, html in cards], [n for n, _ in cards]):
            self.owners[rel] = ""
        return broken


def _manifest_remedies(index: Index, site: Path) -> "tuple[Dict[str, str], Dict[str, str], str]":
    """From the site's build manifest (which the site could forge, so it only chooses remedies):
    ``({project: remedy for its missing or different outputs}, {path: remedy for a path the
    manifest says a build wrote}, remedy for the root page and static files)``."""
    header, lines = _load_manifest(manifest_path(index, site), site)
    interrupted = (site / BUILDING_MARKER).exists()
    same_code = header.get("fingerprint") in (fingerprint(index), fingerprint(index) + ":copy")
    by_project: Dict[str, str] = {}
    for name in index.project_names():
        line = lines.get(name)
        digest = line.split("\t", 4)[3] if line and line.count("\t") >= 4 else None
        try:
            current = hashlib.sha256(index.record_path(name).read_bytes()).hexdigest()
        except OSError:
            current = None
        if interrupted:
            by_project[name] = INTERRUPTED_REMEDY
        elif same_code and digest is not None and digest == current:
            by_project[name] = SITE_REMEDY
        else:
            by_project[name] = STALE_REMEDY
    written: Dict[str, str] = {}
    for name, line in lines.items():
        parts = line.split("\t", 6)
        if len(parts) < 5:
            continue
        try:
            paths = decode_outputs(name, parts[4])
        except (ValueError, TypeError, AttributeError):
            continue
        remedy = by_project.get(name, STALE_REMEDY)
        for rel in paths:
            written[rel] = INTERRUPTED_REMEDY if interrupted else remedy
    if interrupted:
        root_remedy = INTERRUPTED_REMEDY
    elif not same_code or set(lines) != set(by_project) or STALE_REMEDY in by_project.values():
        root_remedy = STALE_REMEDY
    else:
        root_remedy = SITE_REMEDY
    for rel in header.get("root", []) if isinstance(header.get("root"), list) else []:
        written[str(rel)] = root_remedy
    return by_project, written, root_remedy


def _site_entries(site: Path, sizes: bool = True) -> "tuple[Dict[str, int], List[str], List[str]]":
    """``({path of each regular file: size}, [paths of everything else: links, sockets...],
    [temporary paths: each file, link or folder named .tmp-*, at any depth])``, paths relative
    to ``site`` with ``/``; links are not followed, and a temporary folder is not entered.

    One ``scandir`` per folder and one ``lstat`` per file (half the time of ``os.walk``, which
    builds each path twice); without ``sizes`` no file is stat'ed (the kinds come from the
    folder listing) and every size is 0."""
    files: Dict[str, int] = {}
    others: List[str] = []
    temporary: List[str] = []

    def scan(folder: str, prefix: str) -> None:
        with os.scandir(folder) as it:
            entries = list(it)
        for entry in entries:
            n = entry.name
            rel = prefix + n
            if entry.is_dir():  # follows a link, as os.walk does: a link to a folder is one entry
                link = entry.is_symlink()
                if n.startswith(TMP_PREFIX):
                    temporary.append(rel + ("" if link else "/"))
                elif link:
                    others.append(rel)
                else:
                    scan(entry.path, rel + "/")
            elif n.startswith(TMP_PREFIX):
                temporary.append(rel)
            elif not sizes:
                if entry.is_file(follow_symlinks=False):
                    files[rel] = 0
                else:
                    others.append(rel)
            else:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    files[rel] = st.st_size
                else:
                    others.append(rel)

    scan(os.fspath(site), "")
    return files, others, temporary


def _compare_site(index: Index, site: Path, problems: List[str], digest_of,
                  entries: "Optional[tuple[Dict[str, int], List[str], List[str]]]" = None,
                  keep: "Optional[list]" = None) -> "frozenset[str]":
    """The site against the site a build writes from the state, both ways: every page and file
    of the state is there with the right bytes, and nothing else is served. Returns the pages
    found byte-identical when nothing of the state is missing or different (else none).
    ``keep``: the :class:`ExpectedSite` rendered is appended to it (for a saved state)."""
    present, others, temporary = entries if entries is not None else _site_entries(site)
    equal: Dict[str, bool] = {}

    def on_page(rel: str, data: bytes) -> None:
        if rel in present:
            if present[rel] != len(data):
                equal[rel] = False
                return
            try:
                equal[rel] = read_regular(site / rel, rel, len(data)) == data
            except PagesIndexError:
                equal[rel] = False

    expected = ExpectedSite(index, on_page)
    if keep is not None:
        keep.append(expected)
    render_problems: List[str] = []
    broken = expected.render(render_problems)
    problems.extend(render_problems)
    by_project, written, root_remedy = _manifest_remedies(index, site)
    for rel in sorted(others):
        problems.append(
            f"{rel}: not a regular file (a symbolic link?); a build writes none, and the Pages upload "
            f"would publish what it points to ({FOREIGN_REMEDY})"
        )
    if BUILDING_MARKER in present:
        problems.append(f"{BUILDING_MARKER}: the last build did not finish ({INTERRUPTED_REMEDY})")
    tmp_remedy = INTERRUPTED_REMEDY if BUILDING_MARKER in present else TEMPORARY_REMEDY
    for rel in sorted(temporary):
        kind = "folder" if rel.endswith("/") else "file"
        problems.append(f"{rel}: temporary {kind} (.tmp-*), not served by a build: left by an interrupted "
                        f"build or put there by hand ({tmp_remedy})")

    def remedy_for(rel: str) -> str:
        owner = expected.owners.get(rel, "")
        return by_project.get(owner, STALE_REMEDY) if owner else root_remedy

    # Missing: a whole project in one line, else each file.
    missing: Dict[str, List[str]] = {}
    for rel in sorted(expected.owners):
        if rel not in present:
            missing.setdefault(expected.owners[rel], []).append(rel)
    outputs_of: Dict[str, int] = {}
    for rel, owner in expected.owners.items():
        outputs_of[owner] = outputs_of.get(owner, 0) + 1
    if expected.owners and sum(len(v) for v in missing.values()) == len(expected.owners):
        problems.append(
            f"the site holds none of the {len(expected.owners)} files a build writes for the "
            f"{_count(len(by_project), 'project')} of the state ({remedy_for('')})"
        )
    else:
        for owner, rels in sorted(missing.items()):
            if owner and len(rels) == outputs_of[owner]:
                problems.append(f"{owner}/: project {owner} is missing from the site ({by_project.get(owner, STALE_REMEDY)})")
                continue
            for rel in rels:
                problems.append(f"{rel}: missing from the site ({remedy_for(rel)})")
    # Different bytes.
    same = set()
    differ = bool(missing) or bool(broken)
    for rel in sorted(set(expected.owners) & set(present)):
        if rel in expected.pages:
            if not equal[rel]:
                problems.append(f"{rel}: differs from what a build writes ({remedy_for(rel)})")
                differ = True
            else:
                same.add(rel)
        else:
            sha256, size = expected.files[rel]
            if present[rel] != size or digest_of(site / rel) != sha256:
                problems.append(f"{rel}: differs from the recorded file ({remedy_for(rel)})")
                differ = True
    # Served but not of the state: a removed project in one line, else each file.
    allowed = {BUILDING_MARKER}
    for old in _OLD_MANIFESTS:
        if old in present:
            written.setdefault(old, "an older version's build manifest, published with the site: run 'pagesindex build', which removes it")
    extra = sorted(
        rel for rel in present
        if rel not in expected.owners and rel not in allowed
        and not _under(rel, broken)
    )
    gone: Dict[str, List[str]] = {}
    for rel in extra:
        first, _, rest = rel.partition("/")
        name = rest.partition("/")[0] if first in (SITE_PACKAGES, PEOPLE_DIR) else first
        if rest and name not in by_project and name not in (STATIC_DIR, SITE_PACKAGES, PEOPLE_DIR) and (
            f"{name}/index.html" in present or f"{name}/index.json" in present
        ):
            gone.setdefault(name, []).append(rel)
            continue
        problems.append(f"{rel}: served, but not built from the state ({written.get(rel, FOREIGN_REMEDY)})")
    for name, rels in sorted(gone.items()):
        remedy = STALE_REMEDY if all(r in written for r in rels) else FOREIGN_REMEDY
        problems.append(
            f"{name}/: project {name} is still served ({_count(len(rels), 'file')}) but has no record in "
            f"projects/ (removed?) ({remedy})"
        )
    return frozenset() if differ else frozenset(same)


def _under(rel: str, names: "set[str]") -> bool:
    first, _, rest = rel.partition("/")
    return first in names or (first == SITE_PACKAGES and rest.partition("/")[0] in names)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _check_provenance(index: Index, site: Optional[Path], problems: List[str], names: "Optional[set[str]]" = None) -> None:
    """Every kept and every served provenance object (PEP 740) verifies again, offline, for its
    file's sha256 and filename and the project's expected publisher; no provenance is kept or
    served for a file whose record names none. ``names``: only these projects' objects (the
    incremental verify; the rest of the folders are compared with the saved state)."""
    from ..attestations import PROVENANCE_SUFFIX, ProvenanceError, check_provenance, expected_publisher
    from ..state import PROVENANCE_DIR

    kept = set()
    checked: Dict[tuple, object] = {}
    for name in index.project_names() if names is None else sorted(names):
        try:
            project = index.get_project(name)
            expected = expected_publisher(project.extra)
        except PagesIndexError:
            continue  # reported by _check_state
        for f in project.all_files():
            if f.provenance is None:
                continue
            path = index.provenance_path(name, f.filename)
            kept.add(path)
            copies = [(path.relative_to(index.root).as_posix(), path)]
            if site is not None:
                served = site / "packages" / name / (f.filename + PROVENANCE_SUFFIX)
                copies.append((served.relative_to(site).as_posix() + " (site)", served))
            for rel, copy in copies:
                if not copy.is_file():
                    problems.append(f"{rel}: missing (the record of {f.filename} names provenance)")
                    continue
                try:
                    data = read_regular(copy, rel)
                except PagesIndexError as exc:
                    problems.append(str(exc))
                    continue
                key = (hashlib.sha256(data).hexdigest(), f.filename, f.sha256, str(expected))
                if key not in checked:  # the served copy is usually the kept bytes: verified once
                    try:
                        checked[key] = check_provenance(data, f.filename, f.sha256, expected)
                    except ProvenanceError as exc:
                        checked[key] = exc
                by = checked[key]
                if isinstance(by, ProvenanceError):
                    problems.append(f"{rel}: {by}")
                    continue
                if by.repository != f.provenance.get("repository") or by.commit != f.provenance.get("commit"):
                    problems.append(f"{rel}: names {by.identity} at {by.commit[:12]}, the record says "
                                    f"{f.provenance.get('repository')!r} at {str(f.provenance.get('commit'))[:12]!r}")
    if names is not None:
        # Served copies: the site's files of these projects are compared with what a build writes.
        for name in sorted(names):
            top = index.root / PROVENANCE_DIR / name
            for path in sorted(top.rglob("*")) if top.is_dir() else []:
                if path.is_file() and not path.name.startswith(".") and path not in kept:
                    problems.append(f"{path.relative_to(index.root).as_posix()}: provenance of no recorded file with provenance (delete it)")
        return
    folder = index.root / PROVENANCE_DIR
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith(".") and path not in kept:
                problems.append(f"{path.relative_to(index.root).as_posix()}: provenance of no recorded file with provenance (delete it)")
    if site is not None and (site / "packages").is_dir():
        recorded = {(n, f.filename) for n in index.project_names() for f in _files_with_provenance(index, n)}
        for path in sorted((site / "packages").rglob("*" + PROVENANCE_SUFFIX)):
            key = (path.parent.name, path.name[: -len(PROVENANCE_SUFFIX)])
            if key not in recorded:
                problems.append(f"{path.relative_to(site).as_posix()}: served provenance of a file recorded without any")


def _files_with_provenance(index: Index, name: str) -> list:
    try:
        return [f for f in index.get_project(name).all_files() if f.provenance is not None]
    except PagesIndexError:
        return []


def verify(index: Index, site: Optional[Path] = None, *, require_projects: bool = False, staged: bool = False,
           check_store: bool = True, full_store: bool = False, previous: Optional[Path] = None,
           save_state: Optional[Path] = None, notes: Optional[List[str]] = None) -> List[str]:
    """Return the list of problems found (empty when all is well), each naming what to do.

    ``site`` defaults to ``<index>/_site`` and is checked only when it exists. The site is derived
    from the state, so its problems end with how to rebuild it. With ``require_projects``, an
    index without any project is a problem too (the deploy workflow uses it so that a broken
    checkout never replaces a site with an empty one). Without ``check_store`` (``verify
    --no-store``, the ci workflow) an object store is not asked: the state and the site are
    checked as they are committed and built. ``full_store`` (``verify --full-store``) asks the
    store about every published file again, ignoring its record of objects already checked.

    ``previous`` (``verify --previous-state DIR``, the deploy): the folder of a state saved by an
    earlier verify of the site this one was built from (:mod:`.deploy_state`); only what changed
    since is checked in full (see :func:`_verify_incremental`), and when the state cannot be used
    everything is, with a line in ``notes`` saying why. ``save_state`` (``--save-state DIR``):
    when no problem is found, the state of this site is saved there for the next deploy.
    """
    from . import deploy_state

    problems: List[str] = []
    if require_projects and not index.project_names():
        problems.append(f"the index at {str(index.root)!r} has no project: refusing to publish an empty site "
                        "(add a project with 'pagesindex add' or the register workflow)")
    staged_sizes = None
    if staged and check_store and index.config.storage.is_object_store:
        try:
            staged_sizes = {(s.sha256, s.filename): s.size for s in index.store.staged()}
        except PagesIndexError as exc:
            problems.append(str(exc))
    site = Path(site) if site is not None else index.root / "_site"
    saved = dirty = None
    listed: list = []  # the site's listing, made while git works
    if previous is not None:
        try:
            saved = deploy_state.load_state(Path(previous), index)
            if not site.is_dir():
                raise deploy_state.StateRefused(f"no built site at {str(site)!r}")
            commit = saved.get("commit")
            if commit:
                def list_site() -> None:
                    listed.append(_site_entries(site))

                since, dirty = deploy_state.git_changed(index, commit, meanwhile=list_site)
                moved = since | dirty
            else:
                moved = dirty = None
        except deploy_state.StateRefused as exc:
            if notes is not None:
                notes.append(f"checking everything: the saved state is not used ({exc})")
            saved = dirty = None
    if saved is not None:
        new_state = _verify_incremental(index, site, saved, moved, problems, staged_sizes, check_store, full_store,
                                        entries=listed[0] if listed else None)
        checked = new_state.pop("_checked")
        if notes is not None:
            notes.append(f"incremental: {len(checked)} of {_count(len(new_state['projects']), 'project')} "
                         f"checked in full{names_shown(checked)}, the rest against the saved state")
    else:
        new_state = _verify_full(index, site, problems, staged_sizes, check_store, full_store, require_projects,
                                 want_state=save_state is not None)
    _point_to_damaged_files(problems)
    if save_state is not None and not problems and new_state is not None:
        listing = new_state.pop("_listing", None)
        new_state["commit"] = deploy_state.clean_head(index, dirty if saved is not None else None)
        if new_state["commit"] is None:  # else git tells the next verify what changed
            new_state["state_files"] = deploy_state.state_files(index) if listing is None else listing
        deploy_state.save_state(Path(save_state), new_state)
        if not deploy_state.save_manifest(index, site, Path(save_state)) and notes is not None:
            notes.append("no build manifest of this site to save: the next build renders every project")
    return problems


#: A committed distribution file that is missing or not the recorded one (see _check_state).
_DAMAGED_FILE = re.compile(r"(packages/[^:/]+/[^:/]+): (?:size \d+ / sha256 \S+ differ from the record|missing \(recorded in)")


def _point_to_damaged_files(problems: List[str]) -> None:
    """A committed distribution file that is missing or differs from its record makes the site's
    copy (a hard link to it), the links to it and its archive checks fail too. Those problems
    then name that file as their cause instead of advising 'build --full', which cannot help
    while the committed file is wrong (found by a fresh user's trial). Changes ``problems`` in
    place."""
    damaged = [m.group(1) for m in map(_DAMAGED_FILE.match, problems) if m]
    if not damaged:
        return
    suffix = f" ({SITE_REMEDY})"
    for i, problem in enumerate(problems):
        if not problem.endswith(suffix):
            continue
        cause = next((rel for rel in damaged if rel.rpartition("/")[2] in problem), None)
        if cause is not None:
            problems[i] = (problem[: -len(suffix)] + f" (follows from {cause}, which is not the recorded file: restore "
                           "it first, then run 'pagesindex build --full' to replace the site's copy)")


def _new_state(index: Index, expected: "ExpectedSite", present: Dict[str, int],
               saved: Optional[Dict] = None, digests: Optional[Dict[str, Optional[str]]] = None,
               listing: Optional[Dict[str, int]] = None) -> Dict:
    """The state to save for the next deploy (see :mod:`.deploy_state`): the projects rendered by
    ``expected`` from the site's files, the others carried over from ``saved``."""
    from .. import __version__
    from . import deploy_state

    outputs: Dict[str, Dict[str, int]] = {}
    root: Dict[str, int] = {}
    for rel, owner in expected.owners.items():
        size = present.get(rel)
        if size is None:
            continue
        if owner:
            outputs.setdefault(owner, {})[rel] = size
        else:
            root[rel] = size
    projects = {}
    for name in index.project_names():
        if name in expected.cards:
            digest = (digests or {}).get(name) or deploy_state.record_digest(index, name)
            projects[name] = {"digest": digest, "name": expected.cards[name][0], "card": expected.cards[name][1],
                              "deps": sorted(expected.deps.get(name, ())), "outputs": outputs.get(name, {})}
        elif saved is not None and name in saved["projects"]:
            projects[name] = saved["projects"][name]
    return {"format": deploy_state.STATE_FORMAT, "version": __version__, "fingerprint": fingerprint(index),
            "projects": projects, "root": root, "_listing": listing}


def _verify_full(index: Index, site: Path, problems: List[str], staged_sizes, check_store: bool, full_store: bool,
                 require_projects: bool, want_state: bool = False) -> Optional[Dict]:
    """Everything (the default): the state, every file of the store, the whole site."""
    _check_state(index, problems, staged_sizes, check_store, full_store)
    _check_provenance(index, site if site.is_dir() else None, problems)
    new_state = None
    if site.is_dir():
        site_problems: List[str] = []
        hashes: Dict[Path, str] = {}

        def digest_of(path: Path) -> str:
            if path not in hashes:
                hashes[path] = hash_file(path)[0]
            return hashes[path]

        entries = _site_entries(site)
        keep: list = []
        try:
            exact = _compare_site(index, site, problems, digest_of, entries, keep)
        except PagesIndexError as exc:  # e.g. a link in static/ (reported by _check_state)
            if str(exc) not in problems:
                problems.append(str(exc))
            exact = frozenset()
        _check_site(index, site, site_problems, digest_of, exact, entries[0])
        remedy = INTERRUPTED_REMEDY if (site / BUILDING_MARKER).exists() else SITE_REMEDY
        for problem in site_problems:
            problems.append(problem if "pagesindex build" in problem else f"{problem} ({remedy})")
        if want_state and not problems and keep:
            new_state = _new_state(index, keep[0], entries[0])
    elif require_projects:
        problems.append(f"no built site at {str(site)!r} (run 'pagesindex build')")
    return new_state


#: A site restored from the last deploy that is not what its saved state says.
RESTORED_REMEDY = ("the site restored from the last deploy is not the one its saved state describes, or the build "
                   "did not bring it up to date: build and verify without --previous-state (a full build and check)")


def _verify_incremental(index: Index, site: Path, saved: Dict, moved: "Optional[set[str]]", problems: List[str], staged_sizes,
                        check_store: bool, full_store: bool,
                        entries: "Optional[tuple[Dict[str, int], List[str], List[str]]]" = None) -> Dict:
    """Check a site built from the site of a saved state (``saved``, see :mod:`.deploy_state`):
    in full (as :func:`verify` without it) every project whose record differs from the saved
    one, or whose files or record git lists as changed since the saved commit (``moved``), or
    whose pages pin a dependency added to or removed from the index since; the root pages, the
    landing page and the static files; and for everything else a whole-site check that costs a
    directory walk: the site holds exactly the files the state names (no more, no fewer, no link,
    no temporary file), each with its saved size. For the state, git names every path that
    changed since the saved commit (``moved``: committed, staged, changed in the work tree, or not
    tracked, ignored files too; the commit is saved only when the work tree was exactly it, so a
    record git does not name is not read again, and temporary files are looked for only in the
    folders of the projects checked in full, the index folder, ``projects/`` and ``packages/``);
    a path it names under ``packages/`` or ``provenance/`` of no project is reported as the full
    verify reports it. Without a saved commit (``moved`` None), the files under ``packages/`` and
    ``provenance/`` are compared by name and size instead.

    What this does not re-read: the bytes of an unchanged project's pages and files. They were
    checked byte for byte by the verify that saved the state, in the run that published them,
    and they come back from that run's own artifact, which nothing can write afterwards; the
    build of this run rewrites only the projects it renders, which are checked in full. A page
    changed by anyone able to replace that artifact (a repository admin) with the same size is
    therefore not caught here; the full ``verify`` (the default, and the ci workflow on every
    pull request) reads every byte. Returns the new state to save (key ``_checked``: the
    projects checked in full, sorted). ``entries``: :func:`_site_entries` of ``site`` when already made."""
    from . import deploy_state

    names = index.project_names()
    before = saved["projects"]
    # With git, a record that git does not name is the one the saved state read (the commit is
    # saved only when the work tree was that commit): it is not read again.
    unmoved = None if moved is None else {n for n in names if f"projects/{n}.json" not in moved and n in before}
    digests = {name: before[name]["digest"] if unmoved is not None and name in unmoved
               else deploy_state.record_digest(index, name) for name in names}
    moved_names = set(names) ^ set(before)
    changed = {n for n in names if digests[n] is None or n not in before or before[n]["digest"] != digests[n]}
    changed |= {n for n in names if n in before and moved_names & set(before[n]["deps"])}
    metadata_moved = []
    strays = []  # paths git names under packages/ or provenance/ of no project: checked below
    for rel in moved or ():
        top, _, rest = rel.partition("/")
        if top == "projects" and rest.endswith(".json"):
            changed.add(rest[:-5])
        elif top in deploy_state.STATE_FOLDERS:
            owner = deploy_state.state_owner(rel)
            changed.add(owner)
            if owner not in digests:
                strays.append(rel)
        else:
            metadata_moved.append(rel)
    changed &= set(names)

    # The state: changed projects in full; the files of the others by name and size.
    _check_state(index, problems, staged_sizes, check_store, full_store, names=changed, temporary_in_names=moved is not None)
    from ..state import cached_core_metadata

    for rel in sorted(metadata_moved):
        sha = rel.partition("/")[2]
        if (index.root / rel).exists() and cached_core_metadata(index.root, sha) is None:
            problems.append(f"{rel}: not the core metadata of that sha256 (restore it with git, or add the file again)")
    # With git, a file under packages/ or provenance/ outside every project's folder (a project
    # without a record, or the folder itself); its temporary files are found above.
    for rel in sorted(strays):
        path = index.root / rel.rstrip("/")
        if not os.path.lexists(path) or path.name.startswith("."):
            continue  # deleted, or named as the full verify skips it (.gitkeep)
        if rel.startswith("packages/"):
            problems.append(f"{rel.rstrip('/')}: not recorded in any project (redo 'pagesindex add' or delete it)")
        else:
            problems.append(f"{rel.rstrip('/')}: provenance of no recorded file with provenance (delete it)")
    # Without git (no commit saved), the files under packages/ and provenance/ by name and size.
    listing = deploy_state.state_files(index) if moved is None else {}
    total = 0
    for rel in sorted(set(listing) | set(saved.get("state_files") or {}) if moved is None else ()):
        owner = deploy_state.state_owner(rel)
        size = listing.get(rel)
        if rel.startswith("packages/") and size is not None and size > 0:
            total += size
        if owner in changed or (size is None and owner not in digests):
            continue  # checked in full above; a removed project's file gone with it
        if size is not None and owner not in digests:
            problems.append(f"{rel}: not recorded in any project (redo 'pagesindex add' or delete it)")
        elif size is None:
            problems.append(f"{rel}: missing (it was there when the site was last verified; restore it with git)")
        elif size != saved["state_files"].get(rel):
            problems.append(f"{rel}: {'not a regular file' if size < 0 else f'size {size}'} differs from the last verified "
                            "state, and its project's record did not change (restore it with git)")
    site_bound = limits.max_site_bytes()
    if total > site_bound:
        problems.append(f"the distribution files total {limits.human(total)}, over the site limit of {limits.human(site_bound)} "
                        "(GitHub Pages publishes at most 1 GB; remove old releases)")
    _check_provenance(index, site, problems, names=changed)

    # The site: what a build writes for the changed projects and the root, byte for byte.
    present, others, temporary = entries if entries is not None else _site_entries(site)
    for rel in sorted(others):
        problems.append(f"{rel}: not a regular file (a symbolic link?); a build writes none, and the Pages upload "
                        f"would publish what it points to ({FOREIGN_REMEDY})")
    for rel in sorted(temporary):
        problems.append(f"{rel}: temporary file or folder (.tmp-*), not served by a build ({TEMPORARY_REMEDY})")
    if BUILDING_MARKER in present:
        problems.append(f"{BUILDING_MARKER}: the last build did not finish ({INTERRUPTED_REMEDY})")
    equal: Dict[str, bool] = {}

    def on_page(rel: str, data: bytes) -> None:
        if rel in present:
            try:
                equal[rel] = present[rel] == len(data) and read_regular(site / rel, rel, len(data)) == data
            except PagesIndexError:
                equal[rel] = False

    expected = ExpectedSite(index, on_page)
    try:
        expected.render(problems, names=changed, saved=before)
    except PagesIndexError as exc:
        problems.append(str(exc))
    for rel in sorted(expected.owners):
        owner = expected.owners[rel]
        if rel not in present:
            problems.append(f"{rel}: missing from the site ({STALE_REMEDY})")
        elif rel in expected.pages:
            if not equal.get(rel):
                problems.append(f"{rel}: differs from what a build writes ({STALE_REMEDY if owner else RESTORED_REMEDY})")
        else:
            sha256, size = expected.files[rel]
            if present[rel] != size or hash_file(site / rel)[0] != sha256:
                problems.append(f"{rel}: differs from the recorded file ({STALE_REMEDY})")
    kept: Dict[str, int] = {}
    for name in names:
        if name not in changed:
            kept.update(before[name]["outputs"])
    found = []
    in_kept = 0
    for rel, size in present.items():  # the whole site: a dictionary look-up a file
        if rel in kept:
            in_kept += 1
            if size != kept[rel]:
                found.append(f"{rel}: size {size} differs from the last verified site, and its project did not change ({RESTORED_REMEDY})")
        elif rel not in expected.owners and rel != BUILDING_MARKER:
            found.append(f"{rel}: served, but not built from the state ({RESTORED_REMEDY})")
    if in_kept < len(kept):  # then something is missing
        found += [f"{rel}: missing from the site ({RESTORED_REMEDY})" for rel in kept if rel not in present]
    problems.extend(sorted(found))
    file_bound = limits.max_file_bytes()
    for rel, size in sorted(present.items()):
        if size > file_bound and (rel in expected.owners):
            problems.append(f"{rel}: {limits.human(size)} is over the per-file limit of {limits.human(file_bound)} ({SITE_REMEDY})")
    if sum(present.values()) > site_bound:
        problems.append(f"the site {site.name}/ holds {limits.human(sum(present.values()))}, over the GitHub Pages limit "
                        f"of {limits.human(site_bound)}")
    new_state = _new_state(index, expected, present, saved, digests, listing if moved is None else None)
    new_state["_checked"] = sorted(changed)
    return new_state
