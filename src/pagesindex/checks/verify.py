"""``pagesindex verify``: the state and the built site agree with themselves.

Checks that every recorded distribution file exists with the recorded size and sha256, that every
wheel's METADATA matches the recorded core-metadata hash, that ``packages/`` holds no unrecorded
file, and, when a built site exists, that every sidecar is byte-identical to its wheel's METADATA
(PEP 658), every ``#sha256=`` fragment matches the bytes served, every relative link resolves, and
every recorded alias (an old URL of a file, ``project.extra["aliases"]``) serves the file's bytes.

It also checks the host's size limits (:mod:`pagesindex.limits`: 100 MiB a file in a GitHub
repository, 1 GB a published GitHub Pages site) and reports temporary files that an interrupted
command left behind, each with what to do.
"""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import unquote, urlsplit

from .. import limits
from ..errors import PagesIndexError
from ..inspect import hash_file, read_wheel_metadata
from ..model import WHEEL
from ..render import BUILDING_MARKER, project_aliases
from ..state import TMP_PREFIX, Index


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: List[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value is not None:
                self.links.append(value)


def _check_state(index: Index, problems: List[str]) -> None:
    recorded = set()
    total = 0
    file_bound = limits.max_file_bytes()
    for path in index.temporary_files():
        problems.append(
            f"{path.relative_to(index.root).as_posix()}: temporary file left by an interrupted command "
            "(the next add, remove or yank deletes it; or delete it)"
        )
    for name in index.project_names():
        try:
            project = index.get_project(name)
        except PagesIndexError as exc:
            problems.append(str(exc))
            continue
        try:
            project_aliases(project)
        except PagesIndexError as exc:
            problems.append(str(exc))
        for release in project.releases.values():
            git = release.extra.get("git")
            if git is not None:
                parts = urlsplit(str(git.get("url", "")) if isinstance(git, dict) else "")
                loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
                if (parts.scheme != "https" and not loopback) or not parts.hostname or parts.username or parts.password or parts.query:
                    problems.append(f"projects/{name}.json: release {release.version}: git url must be https without credentials or query")
            for f in release.files:
                if index.config.storage.is_object_store:
                    _check_stored(index, name, f, problems)
                    continue
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


def _check_stored(index: Index, name: str, f, problems: List[str]) -> None:
    """With an object store: the published file (and a wheel's sidecar) exists in the store with
    the recorded size and sha256, and the committed core metadata matches its hash."""
    from ..state import METADATA_DIR, cached_core_metadata

    store = index.store
    try:
        problem = store.check(name, f.filename, f.sha256, f.size)
        if problem:
            problems.append(problem)
        if f.kind == WHEEL and f.core_metadata_sha256:
            if cached_core_metadata(index.root, f.core_metadata_sha256) is None:
                problems.append(
                    f"{METADATA_DIR}/{f.core_metadata_sha256}: core metadata of {f.filename} missing or changed "
                    "(restore it with git, or add the file again)"
                )
            problem = store.check_bytes(index.config.storage.public_key(name, f.filename) + ".metadata", f.core_metadata_sha256)
            if problem:
                problems.append(problem)
    except PagesIndexError as exc:
        problems.append(str(exc))


def _check_site(index: Index, site: Path, problems: List[str]) -> None:
    hashes: Dict[Path, str] = {}
    total = 0
    file_bound = limits.max_file_bytes()
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(site).as_posix()
        size = path.stat().st_size
        total += size
        if path.name.startswith(TMP_PREFIX):
            problems.append(f"{rel}: temporary file left by an interrupted build (run 'pagesindex build')")
        elif size > file_bound:
            problems.append(f"{rel}: {limits.human(size)} is over the per-file limit of {limits.human(file_bound)}")
    site_bound = limits.max_site_bytes()
    if total > site_bound:
        problems.append(
            f"the site {site.name}/ holds {limits.human(total)}, over the GitHub Pages limit of {limits.human(site_bound)}"
        )

    def digest_of(path: Path) -> str:
        if path not in hashes:
            hashes[path] = hash_file(path)[0]
        return hashes[path]

    root = site.resolve()

    def resolve(page: Path, link: str) -> Optional[Path]:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("#") or not parts.path:
            return None
        target = (page.parent / unquote(parts.path)).resolve()
        if parts.path.endswith("/") or target.is_dir():
            target = target / "index.html"
        return target

    for name in index.project_names():
        try:
            aliases = project_aliases(index.get_project(name))
        except PagesIndexError:
            continue  # reported by _check_state
        for path, f in aliases.items():
            target = site / path
            if not target.is_file():
                problems.append(f"{path}: old URL of {f.filename} is missing from the site (run 'pagesindex build')")
            elif digest_of(target) != f.sha256:
                problems.append(f"{path}: old URL of {f.filename} serves other bytes")

    for page in sorted(site.rglob("*.html")):
        rel_page = page.relative_to(site).as_posix()
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            target = resolve(page, link)
            if target is None:
                continue
            if root not in target.parents and target != root:
                problems.append(f"{rel_page}: link {link!r} leaves the site")
                continue
            if not target.is_file():
                problems.append(f"{rel_page}: broken link {link!r}")
                continue
            fragment = urlsplit(link).fragment
            if fragment.startswith("sha256=") and digest_of(target) != fragment[7:]:
                problems.append(f"{rel_page}: {link!r} does not match the bytes served")
    for page in sorted(site.rglob("index.json")):
        rel_page = page.relative_to(site).as_posix()
        try:
            data = json.loads(page.read_bytes())
        except ValueError:
            problems.append(f"{rel_page}: invalid JSON")
            continue
        public = index.config.storage.public_url
        for f in data.get("files", []):
            if public and str(f.get("url", "")).startswith(public):
                continue  # in the object store: checked there (_check_stored)
            target = resolve(page, f.get("url", ""))
            if target is None or not target.is_file():
                problems.append(f"{rel_page}: broken url {f.get('url')!r}")
            elif digest_of(target) != f.get("hashes", {}).get("sha256"):
                problems.append(f"{rel_page}: hash of {f.get('url')!r} does not match the bytes served")
    for sidecar in sorted(site.rglob("*.whl.metadata")):
        wheel = sidecar.with_name(sidecar.name[: -len(".metadata")])
        rel = sidecar.relative_to(site).as_posix()
        if not wheel.is_file():
            problems.append(f"{rel}: no wheel beside it")
            continue
        try:
            if read_wheel_metadata(wheel) != sidecar.read_bytes():
                problems.append(f"{rel}: differs from the wheel's METADATA")
        except PagesIndexError as exc:
            problems.append(str(exc))


#: A site problem means the site changed outside a build, which a plain build (trusting its
#: manifest) does not see: the remedy renders every project again, writing only what differs.
SITE_REMEDY = "run 'pagesindex build --full', which renders every project again and writes only what differs"
#: After an interrupted build (its marker is still in the site), a plain build finishes the work.
INTERRUPTED_REMEDY = "run 'pagesindex build': the last build was interrupted, and the next one finishes its work"


def verify(index: Index, site: Optional[Path] = None, *, require_projects: bool = False) -> List[str]:
    """Return the list of problems found (empty when all is well), each naming what to do.

    ``site`` defaults to ``<index>/_site`` and is checked only when it exists. The site is derived
    from the state, so its problems end with how to rebuild it. With ``require_projects``, an
    index without any project is a problem too (the deploy workflow uses it so that a broken
    checkout never replaces a site with an empty one).
    """
    problems: List[str] = []
    if require_projects and not index.project_names():
        problems.append(f"the index at {str(index.root)!r} has no project: refusing to publish an empty site")
    _check_state(index, problems)
    site = Path(site) if site is not None else index.root / "_site"
    if site.is_dir():
        site_problems: List[str] = []
        _check_site(index, site, site_problems)
        remedy = INTERRUPTED_REMEDY if (site / BUILDING_MARKER).exists() else SITE_REMEDY
        for problem in site_problems:
            problems.append(problem if "pagesindex build" in problem else f"{problem} ({remedy})")
    return problems
