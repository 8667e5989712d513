"""Read an index made with the old static template, and plan its migration into this index.

The old format (a GitHub Pages template of hand-edited HTML) is:

``index.html``
    the root page: one ``<a class="card" href="<folder>/">`` per project, holding the project
    name as text, ``<span class="version">`` and ``<span class="description">``.
``<folder>/index.html``
    a project page: the name in ``<section class="header">``, ``#latest-version``, a
    ``#repoHomepage`` button whose ``onclick`` opens the homepage URL, an ``Author :`` paragraph,
    and ``<section id="versions">`` with one ``<a href>`` per version label. A link is either a
    relative link to a file (``../packages/<folder>/<file>``) or a git link
    (``git+https://github.com/ORG/REPO@TAG#egg=NAME-VERSION``).
``packages/<folder>/<file>``
    the distribution files.

This old HTML is *input*: it is read here once, to migrate, and never used to learn this index's
own state (which lives in ``projects/*.json``). The reading is tolerant (any whitespace, any
attribute quoting, missing pages, unclosed tags); everything that does not add up is reported as a
:class:`Disagreement` rather than guessed away.

Every distribution file is inspected with :func:`pagesindex.inspect.inspect_file`, so its project,
version and hash come from the file itself; the plan is applied with
:meth:`pagesindex.state.Index.add_files` (as ``pagesindex add`` does) and
:meth:`pagesindex.state.Index.update_project`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import unquote, urlsplit

from packaging.version import Version

from ..errors import FileConflict, InvalidName, InvalidVersion, PagesIndexError
from ..inspect import InspectedFile, inspect_file, parse_filename
from ..model import DistributionFile, Project, Release, normalize_name, version_from_tag
from ..state import Index, dump_record

#: Folders of the old site that are not project pages.
NOT_PROJECT_FOLDERS = {"packages", "static", "_static", ".git", ".github"}
#: Key of ``project.extra`` that maps old site paths to a recorded filename (kept by the build).
ALIASES_KEY = "aliases"

WARNING = "warning"
INFO = "info"


class LegacyIndexError(PagesIndexError):
    """The folder given to ``migrate`` is not an index in the old format."""


# -- a small, tolerant HTML tree ------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_NO_TEXT = {"script", "style", "template"}
_WS = re.compile(r"\s+")


def _squash(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return _WS.sub(" ", text).strip()


@dataclass
class _Node:
    tag: str
    attrs: Dict[str, str]
    parent: Optional["_Node"] = None
    children: List[Union["_Node", str]] = field(default_factory=list)

    def iter(self) -> Iterator["_Node"]:
        for child in self.children:
            if isinstance(child, _Node):
                yield child
                yield from child.iter()

    def text(self) -> str:
        parts: List[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in _NO_TEXT:
                parts.append(" " + child.text() + " ")
        return _squash("".join(parts))

    def own_text(self) -> str:
        """Text directly inside this element (not inside child elements)."""
        return _squash(" ".join(c for c in self.children if isinstance(c, str)))

    @property
    def classes(self) -> List[str]:
        return self.attrs.get("class", "").split()

    def find_all(self, tag: Optional[str] = None, *, cls: Optional[str] = None, id: Optional[str] = None) -> List["_Node"]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.classes)
            and (id is None or n.attrs.get("id", "").strip() == id)
        ]

    def find(self, tag: Optional[str] = None, *, cls: Optional[str] = None, id: Optional[str] = None) -> Optional["_Node"]:
        found = self.find_all(tag, cls=cls, id=id)
        return found[0] if found else None


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list) -> None:
        node = _Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        node = _Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)

    def handle_endtag(self, tag: str) -> None:
        node: Optional[_Node] = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # unmatched end tags are ignored
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_html(text: str) -> _Node:
    """Parse HTML into a small element tree (stdlib :mod:`html.parser`; never fails on bad HTML)."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# -- the old format -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OldCard:
    """One project card of the old root page."""

    folder: str
    href: str
    name: str
    version: str
    summary: str


@dataclass(frozen=True)
class OldLink:
    """One version label of an old project page and where its link points.

    ``kind`` is ``"file"`` (``target`` is the site path, ``packages/<folder>/<file>``), ``"git"``
    (``git_url`` and ``git_ref``; ``egg`` is the ``#egg=`` value), ``"external"`` (an http(s) URL
    outside the old site) or ``"other"``.
    """

    label: str
    href: str
    kind: str
    target: str = ""
    git_url: str = ""
    git_ref: str = ""
    egg: str = ""


@dataclass
class OldPage:
    """One project page of the old site (``<folder>/index.html``)."""

    folder: str
    name: str
    latest: str
    homepage: str
    author: str
    links: List[OldLink] = field(default_factory=list)


@dataclass
class OldIndex:
    """Everything read from an old-format index folder.

    ``files`` are site paths (``packages/<folder>/<file>``) of the files found, ``ignored`` site
    paths under ``packages/`` that are not distribution files.
    """

    root: Path
    cards: List[OldCard] = field(default_factory=list)
    pages: Dict[str, OldPage] = field(default_factory=dict)
    files: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    has_root_page: bool = False


def _folder_of(href: str) -> str:
    """``"pdoflow/"``, ``"./pdoflow/index.html"`` -> ``"pdoflow"``; ``""`` for anything else."""
    parts = urlsplit(href.strip())
    if parts.scheme or parts.netloc:
        return ""
    path = unquote(parts.path)
    path = posixpath.normpath(path) if path else ""
    if path.endswith("/index.html") or path == "index.html":
        path = posixpath.dirname(path)
    if not path or path in (".", "..") or "/" in path or path.startswith("."):
        return ""
    return path


def read_root(text: str) -> List[OldCard]:
    """The project cards of an old root page, in page order."""
    doc = parse_html(text)
    cards = []
    for a in doc.find_all("a", cls="card"):
        href = a.attrs.get("href", "")
        version = a.find("span", cls="version")
        description = a.find("span", cls="description")
        cards.append(
            OldCard(
                folder=_folder_of(href),
                href=href,
                name=a.own_text(),
                version=version.text() if version else "",
                summary=description.text() if description else "",
            )
        )
    return cards


_QUOTED_URL = re.compile(r"""["'](https?://[^"'\s]+)["']""")
_QUOTED = re.compile(r"""["']([^"']+)["']""")
_AUTHOR = re.compile(r"^author\s*:?\s*(.*)$", re.IGNORECASE)


def _classify(label: str, href: str, folder: str) -> OldLink:
    href = href.strip()
    if href.startswith("git+"):
        url, _, fragment = href[4:].partition("#")
        parts = urlsplit(url)
        path, ref = parts.path, ""
        if "@" in path:
            path, _, ref = path.rpartition("@")
        if path.endswith(".git"):
            path = path[:-4]
        egg = ""
        for item in fragment.split("&"):
            if item.startswith("egg="):
                egg = unquote(item[4:])
        return OldLink(label, href, "git", git_url=f"{parts.scheme}://{parts.netloc}{path}", git_ref=unquote(ref), egg=egg)
    parts = urlsplit(href)
    if parts.scheme in ("http", "https"):
        return OldLink(label, href, "external")
    if parts.scheme or parts.netloc or not parts.path:
        return OldLink(label, href, "other")
    target = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
    if target.startswith("packages/"):
        return OldLink(label, href, "file", target=target)
    return OldLink(label, href, "other", target=target)


def read_page(text: str, folder: str) -> OldPage:
    """The fields and version links of an old project page kept at ``<folder>/index.html``."""
    doc = parse_html(text)
    header = doc.find("section", cls="header") or doc.find(cls="header")
    latest = doc.find(id="latest-version")
    homepage = ""
    button = doc.find(id="repoHomepage")
    if button is not None:
        if button.attrs.get("href"):
            homepage = button.attrs["href"].strip()
        else:
            onclick = button.attrs.get("onclick", "")
            match = _QUOTED_URL.search(onclick) or _QUOTED.search(onclick)
            homepage = match.group(1).strip() if match else ""
    author = ""
    for node in doc.iter():
        if node.tag in ("p", "div", "li", "span"):
            match = _AUTHOR.match(node.text())
            if match and not any(_AUTHOR.match(c.text()) for c in node.iter() if c.tag in ("p", "div", "li", "span")):
                author = match.group(1).strip()
                break
    container = doc.find(id="versions") or doc
    links = []
    for a in container.find_all("a"):
        href = a.attrs.get("href")
        if href is None:
            continue
        label = a.text()
        if not label and a.parent is not None:
            label = a.parent.attrs.get("id", "").strip()
        link = _classify(label, href, folder)
        if container is doc and link.kind not in ("file", "git"):
            continue  # without a versions section, only file and git links are version links
        links.append(link)
    return OldPage(
        folder=folder,
        name=header.own_text() if header else "",
        latest=latest.text() if latest else "",
        homepage=homepage,
        author=author,
        links=links,
    )


def read_old_index(path: Path) -> OldIndex:
    """Read an old-format index folder (root page, project pages, ``packages/``).

    Raises :class:`LegacyIndexError` naming the folder when it has neither ``index.html`` nor
    ``packages/``.
    """
    root = Path(path)
    if not root.is_dir():
        raise LegacyIndexError(f"not a folder: {str(root)!r}")
    has_root = (root / "index.html").is_file()
    if not has_root and not (root / "packages").is_dir():
        raise LegacyIndexError(f"not an old-format index: {str(root)!r} has neither index.html nor packages/")
    old = OldIndex(root=root, has_root_page=has_root)
    if has_root:
        old.cards = read_root((root / "index.html").read_text(encoding="utf-8", errors="replace"))
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name not in NOT_PROJECT_FOLDERS and not child.name.startswith(".") and (child / "index.html").is_file():
            old.pages[child.name] = read_page((child / "index.html").read_text(encoding="utf-8", errors="replace"), child.name)
    packages = root / "packages"
    if packages.is_dir():
        for item in sorted(packages.rglob("*")):
            if not item.is_file() or any(part.startswith(".") for part in item.relative_to(packages).parts):
                continue
            rel = item.relative_to(root).as_posix()
            depth = len(item.relative_to(packages).parts)
            try:
                parse_filename(item.name)
            except PagesIndexError:
                old.ignored.append(rel)
                continue
            if depth > 2:
                old.ignored.append(rel)
                continue
            old.files.append(rel)
    return old


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    """Something in the old index that does not add up, for a maintainer to look at.

    ``kind`` is a stable identifier (see :data:`KINDS`), ``severity`` ``"warning"`` or ``"info"``.
    """

    kind: str
    project: str
    message: str
    severity: str = WARNING
    details: Tuple[Tuple[str, Any], ...] = ()

    def to_json(self) -> Dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "project": self.project, "message": self.message, **dict(self.details)}


#: Every kind of disagreement, with what it means for a maintainer.
KINDS: Dict[str, str] = {
    "label-points-at-other-version": "a version label links a file of another version; the file is recorded under its own version, the label's version has no file",
    "label-points-at-other-project": "a version label links a file of another project; the file is recorded under its own project",
    "file-in-other-folder": "a file sits in the folder of another project; its own name decides its project, its old URL is kept as an alias",
    "folder-not-normalized": "a file sits in a folder whose name is not the normalized project name; its old URL is kept as an alias",
    "shown-version-without-file": "the card or page shows a version that no file has (pip never saw that version)",
    "git-link-without-file": "a version is only a git link; recorded as a release without files (release.extra['git'])",
    "git-link-with-file": "a version has both a git link and files; the files are recorded, the git link is dropped",
    "egg-version-differs": "a git link's #egg= version differs from its label",
    "broken-link": "a version label links a file that is not in packages/; nothing to migrate for it",
    "external-link": "a version label links a file outside the old site; not downloaded (fetch it and 'pagesindex add' it)",
    "unrecognized-link": "a version label links something that is neither a file nor a git link",
    "bad-label": "a version label is not a PEP 440 version",
    "missing-page": "a card links a project page that does not exist",
    "page-without-card": "a project page has no card on the root page",
    "project-without-page": "a project has files but no page or card; its fields come from the files' metadata",
    "project-without-files": "a project has a page but no file and no git link; recorded with no release",
    "name-mismatch": "the names on the card, the page and the folder do not agree",
    "bad-homepage": "the homepage button holds no http(s) URL; not recorded",
    "ignored-file": "a file under packages/ that is not a distribution file (or is nested too deep); not migrated",
    "unlinked-file": "files that no old page linked (pip never found them through the old index); now listed on the project page",
    "differs-from-metadata": "the old page's summary or homepage differs from the newest file's metadata; the old page's value is recorded",
}


@dataclass
class ProjectPlan:
    """What the migration records for one project (fields from the old pages; empty = keep)."""

    normalized: str
    display_name: str = ""
    summary: str = ""
    author: str = ""
    homepage: str = ""
    git: Dict[str, Dict[str, str]] = field(default_factory=dict)
    aliases: Dict[str, str] = field(default_factory=dict)
    has_page: bool = False


@dataclass
class MigrationPlan:
    """The whole migration: files to ingest (``(old site path, inspected file)``), project fields,
    git-link releases, old-URL aliases, and the disagreements found."""

    source: Path
    files: List[Tuple[str, InspectedFile]] = field(default_factory=list)
    #: ``{filename: "git" | "migration"}``: where each added file's upload time came from.
    upload_times: Dict[str, str] = field(default_factory=dict)
    projects: Dict[str, ProjectPlan] = field(default_factory=dict)
    disagreements: List[Disagreement] = field(default_factory=list)

    def note(self, kind: str, project: str, message: str, severity: str = WARNING, **details: Any) -> None:
        self.disagreements.append(Disagreement(kind, project, message, severity, tuple(sorted(details.items()))))

    def project(self, normalized: str) -> ProjectPlan:
        if normalized not in self.projects:
            self.projects[normalized] = ProjectPlan(normalized)
        return self.projects[normalized]

    def report_json(self, changes: List[str], *, dry_run: bool) -> Dict[str, Any]:
        """The report as JSON data: projects, files, changes and disagreements."""
        by_project: Dict[str, List[InspectedFile]] = {}
        for _old, f in self.files:
            by_project.setdefault(f.name, []).append(f)
        projects = []
        for name in sorted(self.projects):
            p = self.projects[name]
            files = by_project.get(name, [])
            projects.append(
                {
                    "name": name,
                    "display-name": p.display_name,
                    "summary": p.summary,
                    "author": p.author,
                    "homepage": p.homepage,
                    "versions-with-files": sorted({str(f.version) for f in files}, key=Version),
                    "git-versions": sorted(p.git, key=Version),
                    "files": len(files),
                    "aliases": dict(sorted(p.aliases.items())),
                }
            )
        return {
            "source": str(self.source),
            "dry-run": dry_run,
            "projects": projects,
            "files": [
                {"old-path": old, "project": f.name, "version": str(f.version), "filename": f.filename, "sha256": f.sha256, "size": f.size}
                for old, f in self.files
            ],
            "changes": changes,
            "upload-times": dict(sorted(self.upload_times.items())),
            "disagreements": [d.to_json() for d in self.disagreements],
        }


def _version_of_label(label: str) -> Optional[Version]:
    try:
        return version_from_tag(label.strip())
    except InvalidVersion:
        return None


def _egg_version(egg: str) -> Optional[Version]:
    for i, ch in enumerate(egg):
        if ch == "-":
            try:
                return Version(egg[i + 1 :])
            except Exception:  # noqa: BLE001 - packaging's InvalidVersion; try the next dash
                continue
    return None


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c in value for c in "\"'<> \n\r\t")


def plan_migration(old: OldIndex, max_file_bytes: Optional[int] = None) -> MigrationPlan:
    """Work out what migrating ``old`` records, and every disagreement, without writing anything.

    Every file is inspected (:func:`~pagesindex.inspect.inspect_file`, under ``max_file_bytes``:
    the index's store limit, None for GitHub's 100 MiB); raises
    :class:`~pagesindex.errors.InvalidDistribution` naming a file that is not a well-formed
    distribution, and :class:`~pagesindex.errors.FileConflict` when two different files share a
    filename in two folders.
    """
    plan = MigrationPlan(source=old.root)
    by_path: Dict[str, InspectedFile] = {}
    by_filename: Dict[str, Tuple[str, InspectedFile]] = {}
    for rel in old.files:
        try:
            f = inspect_file(old.root / rel, max_bytes=max_file_bytes)
        except PagesIndexError as exc:
            raise type(exc)(f"{rel}: {exc}") from None
        seen = by_filename.get(f.filename)
        if seen is not None and seen[1].sha256 != f.sha256:
            raise FileConflict(f"{seen[0]} and {rel} are different files with the same name; keep one and migrate again")
        by_path[rel] = f
        if seen is None:
            by_filename[f.filename] = (rel, f)
            plan.files.append((rel, f))
        new_path = f"packages/{f.name}/{f.filename}"
        p = plan.project(f.name)
        if rel != new_path:
            p.aliases[rel] = f.filename
            folder = rel.split("/")[1] if rel.count("/") == 2 else ""
            try:
                folder_project = normalize_name(folder) if folder else ""
            except InvalidName:
                folder_project = ""
            if folder_project == f.name:
                plan.note(
                    "folder-not-normalized", f.name,
                    f"{rel}: folder is not the normalized name; now at {new_path}, old URL kept",
                    old_path=rel, new_path=new_path,
                )
            else:
                plan.note(
                    "file-in-other-folder", f.name,
                    f"{rel} is a file of project {f.name!r} (from its own name and metadata), not of "
                    f"{folder or 'no folder'!r}; recorded under {f.name}, old URL kept as an alias of {new_path}",
                    old_path=rel, new_path=new_path, folder=folder,
                )
    for rel in old.ignored:
        plan.note("ignored-file", "", f"{rel}: not a distribution file (or nested too deep); not migrated", old_path=rel)

    versions: Dict[str, set] = {}
    for _rel, f in plan.files:
        versions.setdefault(f.name, set()).add(f.version)

    # Folders named by cards and pages.
    cards: Dict[str, OldCard] = {}
    for card in old.cards:
        if not card.folder:
            plan.note("missing-page", "", f"card {card.name!r} links {card.href!r}, which is not a project folder of the old site", href=card.href)
            continue
        cards.setdefault(card.folder, card)
    linked: set = set()
    on_site: set = set()
    for folder in sorted(set(cards) | set(old.pages)):
        card = cards.get(folder)
        page = old.pages.get(folder)
        candidates = [n for n in ((page.name if page else ""), (card.name if card else ""), folder) if n]
        try:
            name = normalize_name(folder)
        except InvalidName:
            name = ""
            for n in candidates:
                try:
                    name = normalize_name(n)
                    break
                except InvalidName:
                    continue
            if not name:
                plan.note("name-mismatch", "", f"{folder}/: no valid project name on the card, the page or the folder; skipped", folder=folder)
                continue
        display = ""
        for n in candidates:
            try:
                if normalize_name(n) == name:
                    display = display or n
                    continue
            except InvalidName:
                pass
            plan.note("name-mismatch", name, f"{folder}/: the name {n!r} on the old site is not project {name!r}; recorded as {name}", folder=folder, other=n)
        p = plan.project(name)
        on_site.add(name)
        p.display_name = display or name
        p.has_page = page is not None
        if card is None:
            plan.note("page-without-card", name, f"{folder}/index.html has no card on the root page; recorded all the same", folder=folder)
        else:
            p.summary = card.summary
        if page is None:
            plan.note("missing-page", name, f"card {card.name!r} links {folder}/, which has no index.html; fields from the card and the files", folder=folder)
        else:
            p.author = page.author
            if page.homepage:
                if _is_http_url(page.homepage):
                    p.homepage = page.homepage
                else:
                    plan.note("bad-homepage", name, f"{folder}/: homepage {page.homepage!r} is not an http(s) URL; not recorded", value=page.homepage)
            _plan_links(plan, name, folder, page, by_path, versions, linked)
        # Versions shown on the card / page header.
        shown = []
        if card is not None and card.version:
            shown.append(("card", card.version))
        if page is not None and page.latest:
            shown.append(("page", page.latest))
        have = versions.get(name, set())
        for where, label in shown:
            v = _version_of_label(label)
            if v is None:
                plan.note("bad-label", name, f"the {where} shows version {label!r}, which is not a PEP 440 version", where=where, label=label)
            elif v not in have and str(v) not in p.git:
                got = ", ".join(str(x) for x in sorted(have)) or "none"
                plan.note(
                    "shown-version-without-file", name,
                    f"the {where} shows {label}, but no file has version {v} (files: {got})",
                    where=where, label=label, file_versions=[str(x) for x in sorted(have)],
                )
        if not have and not p.git:
            plan.note("project-without-files", name, f"{folder}/ has no file and no git link; recorded with no release", folder=folder)

    for name in sorted(versions):
        if name not in on_site:
            plan.note(
                "project-without-page", name,
                f"project {name!r} has no page or card of its own; summary, author and homepage come from its files' metadata",
            )
    for name in sorted(versions):
        unlinked = sorted(f.filename for rel, f in plan.files if f.name == name and rel not in linked)
        if unlinked and plan.projects[name].has_page:
            plan.note("unlinked-file", name, f"not linked from the old page: {', '.join(unlinked)}", INFO, filenames=unlinked)
        newest = max((f for _rel, f in plan.files if f.name == name), key=lambda f: f.version)
        p = plan.projects[name]
        for attr, value in (("summary", p.summary), ("homepage", p.homepage)):
            meta = getattr(newest, attr)
            if value and meta and value != meta:
                plan.note(
                    "differs-from-metadata", name,
                    f"{attr}: old page {value!r}, metadata of {newest.filename} {meta!r}; recorded the old page's",
                    INFO, field=attr, old_page=value, metadata=meta,
                )
    return plan


def _plan_links(
    plan: MigrationPlan,
    name: str,
    folder: str,
    page: OldPage,
    by_path: Dict[str, InspectedFile],
    versions: Dict[str, set],
    linked: set,
) -> None:
    p = plan.projects[name]
    have = versions.get(name, set())
    git_links: List[Tuple[Version, OldLink]] = []
    for link in page.links:
        label_version = _version_of_label(link.label)
        if link.kind == "file":
            f = by_path.get(link.target)
            if f is None:
                plan.note("broken-link", name, f"label {link.label!r} links {link.target}, which is not in the old index", label=link.label, href=link.href)
                continue
            linked.add(link.target)
            if f.name != name:
                plan.note(
                    "label-points-at-other-project", name,
                    f"label {link.label!r} links {f.filename}, a file of project {f.name!r}; recorded under {f.name} {f.version}",
                    label=link.label, filename=f.filename, file_project=f.name, file_version=str(f.version),
                )
            elif label_version is None:
                plan.note("bad-label", name, f"label {link.label!r} (links {f.filename}) is not a PEP 440 version", label=link.label, filename=f.filename)
            elif label_version != f.version:
                plan.note(
                    "label-points-at-other-version", name,
                    f"label {link.label!r} links {f.filename} (version {f.version}); no file has version {label_version}",
                    label=link.label, label_version=str(label_version), filename=f.filename, file_version=str(f.version),
                )
        elif link.kind == "git":
            version = label_version
            egg_version = _egg_version(link.egg) if link.egg else None
            if version is None:
                version = egg_version
            if version is None:
                plan.note("bad-label", name, f"git link label {link.label!r} is not a PEP 440 version; not recorded", label=link.label, href=link.href)
                continue
            if egg_version is not None and egg_version != version:
                plan.note(
                    "egg-version-differs", name,
                    f"git link {link.href!r}: label says {version}, #egg= says {egg_version}; recorded {version}",
                    label=link.label, egg=link.egg,
                )
            git_links.append((version, link))
        elif link.kind == "external":
            plan.note("external-link", name, f"label {link.label!r} links {link.href}, outside the old site; not downloaded", label=link.label, href=link.href)
        else:
            plan.note("unrecognized-link", name, f"label {link.label!r} links {link.href!r}; not migrated", label=link.label, href=link.href)
    for version, link in git_links:
        if version in have:
            plan.note(
                "git-link-with-file", name,
                f"version {version} has files and a git link ({link.href}); the files are recorded",
                INFO, version=str(version), href=link.href,
            )
            continue
        key = str(version)
        git = {"url": link.git_url, "tag": link.git_ref or link.label.strip()}
        if key in p.git:
            continue
        p.git[key] = git
        plan.note(
            "git-link-without-file", name,
            f"version {version} is only a git link ({link.href}); recorded as a release without files",
            version=key, url=git["url"], tag=git["tag"],
        )


# -- applying -------------------------------------------------------------------------------------


def _new_files(index: Index, plan: MigrationPlan) -> List[InspectedFile]:
    """The planned files that the index does not hold yet."""
    out = []
    cache: Dict[str, Optional[Project]] = {}
    for _rel, f in plan.files:
        if f.name not in cache:
            cache[f.name] = index.load_project(f.name)
        project = cache[f.name]
        release = project.release(str(f.version)) if project else None
        recorded = release.file(f.filename) if release else None
        if recorded is None or recorded.sha256 != f.sha256:
            out.append(f)
    return out


def _change(p: ProjectPlan):
    """The change that :meth:`Index.update_project` applies to project ``p``'s record."""

    def change(project: Project) -> None:
        if p.display_name:
            project.name = p.display_name
        for attr in ("summary", "author", "homepage"):
            value = getattr(p, attr)
            if value:
                setattr(project, attr, value)
        for version, git in sorted(p.git.items()):
            release = project.release(version)
            if release is None:
                project.releases[version] = Release(version=version, extra={"git": dict(git)})
            elif not release.files:
                release.extra["git"] = dict(git)
        if p.aliases:
            aliases = dict(project.extra.get(ALIASES_KEY) or {})
            aliases.update(p.aliases)
            project.extra[ALIASES_KEY] = dict(sorted(aliases.items()))

    return change


def _simulate(index: Index, plan: MigrationPlan) -> Dict[str, Tuple[Optional[Project], Project]]:
    """``{project: (record before, record after)}`` as applying the plan would leave them."""
    new = _new_files(index, plan)
    out: Dict[str, Tuple[Optional[Project], Project]] = {}
    for name in sorted(plan.projects):
        before = index.load_project(name)
        files = [f for f in new if f.name == name]
        after = before.copy() if before else Project(name=name)
        for f in files:
            release = after.release(str(f.version))
            if release is None:
                release = after.releases[str(f.version)] = Release(version=str(f.version))
            release.files.append(DistributionFile(f.filename, f.kind, f.sha256, f.size, "", f.requires_python))
        if before is None and files:
            newest = max(files, key=lambda f: f.version)
            after.name = newest.display_name or name
            for attr in ("summary", "author", "homepage"):
                setattr(after, attr, getattr(newest, attr))
        _change(plan.projects[name])(after)
        out[name] = (before, after)
    return out


def describe_changes(index: Index, plan: MigrationPlan) -> List[str]:
    """One line per change that applying ``plan`` to ``index`` makes (empty: nothing to do)."""
    lines: List[str] = []
    for name, (before, after) in _simulate(index, plan).items():
        if before is not None and dump_record(before) == dump_record(after):
            continue
        if before is None:
            lines.append(f"{name}: new project record")
        for attr in ("name", "summary", "author", "homepage"):
            old = getattr(before, attr) if before else ""
            new = getattr(after, attr)
            if new != old and new:
                lines.append(f"{name}: {attr} = {new!r}" + (f" (was {old!r})" if old else ""))
        for release in after.sorted_releases(newest_first=False):
            had = before.release(release.version) if before else None
            for f in sorted(release.files, key=lambda f: f.filename):
                if had is None or had.file(f.filename) is None:
                    lines.append(f"{name} {release.version}: add {f.filename} (sha256 {f.sha256[:12]}…)")
            git = release.extra.get("git")
            if git and not release.files and (had is None or had.extra.get("git") != git):
                lines.append(f"{name} {release.version}: release without files, git {git['url']}@{git['tag']}")
        old_aliases = (before.extra.get(ALIASES_KEY) or {}) if before else {}
        for path, filename in sorted((after.extra.get(ALIASES_KEY) or {}).items()):
            if old_aliases.get(path) != filename:
                lines.append(f"{name}: old URL {path} kept (same file as packages/{name}/{filename})")
    return lines


def git_upload_times(source: Path, paths: Sequence[str]) -> Dict[str, str]:
    """``{site path: upload time}`` for the ``paths`` (relative to ``source``, the old site) that
    the git history of ``source`` records: the committer time of the commit that first added the
    file, as ISO 8601 UTC with ``Z`` (PEP 700 ``upload-time``). Empty when ``source`` is not in a
    git work tree or git cannot be run; paths without history are left out.

    Runs ``git log --diff-filter=A`` only (no hook, no fsmonitor, no signature check).
    """
    import subprocess
    from datetime import datetime, timezone

    git = ["git", "-c", "core.fsmonitor=false", "-c", "log.showSignature=false", "-C", str(source)]
    try:
        prefix = subprocess.run(git + ["rev-parse", "--show-prefix"], capture_output=True, text=True, timeout=60)
        if prefix.returncode != 0:
            return {}
        log = subprocess.run(
            git + ["log", "--diff-filter=A", "--no-renames", "--no-ext-diff", "--format=@%ct", "--name-only", "-z",
                   "--", "packages"],  # every name then starts with <prefix>packages/, never with "@"
            capture_output=True, text=True, timeout=300,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if log.returncode != 0:
        return {}
    base = prefix.stdout.strip()
    wanted = set(paths)
    found: Dict[str, str] = {}
    when = ""
    # -z: "@<time>\n<name>\0<name>\0...", commits newest first: the last time seen for a path
    # is the commit that first added it.
    for item in log.stdout.split("\0"):
        item = item.strip("\n")
        if item.startswith("@") and item[1:].split("\n")[0].isdigit():
            head, _, item = item.partition("\n")
            when = datetime.fromtimestamp(int(head[1:]), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not item or not when:
            continue
        rel = item[len(base):] if base and item.startswith(base) else item
        if rel in wanted:
            found[rel] = when
    return found


def apply_migration(index: Index, plan: MigrationPlan) -> List[str]:
    """Record the plan in the index's state and return the changes made (see :func:`describe_changes`).

    Files go through :meth:`~pagesindex.state.Index.add_files` (as ``pagesindex add``), fields,
    git-link releases and aliases through :meth:`~pagesindex.state.Index.update_project`. A second
    run with the same plan changes nothing. The caller holds :meth:`Index.lock`.

    A file's upload time is when it entered the old index: the commit that added it, when
    ``plan.source`` is a git checkout (:func:`git_upload_times`); otherwise the time of the
    migration (the report says which, :attr:`MigrationPlan.upload_times`).
    """
    changes = describe_changes(index, plan)
    new = _new_files(index, plan)
    if new:
        old_paths = {f.filename: rel for rel, f in plan.files}
        times = git_upload_times(plan.source, [old_paths[f.filename] for f in new if f.filename in old_paths])
        upload_times = {f.filename: times[old_paths[f.filename]] for f in new if old_paths.get(f.filename) in times}
        plan.upload_times = {f.filename: ("git" if f.filename in upload_times else "migration") for f in new}
        index.add_files(new, upload_times=upload_times)
    for name in sorted(plan.projects):
        p = plan.projects[name]
        index.update_project(name, _change(p), display_name=p.display_name or name)
    return changes


__all__ = [
    "ALIASES_KEY",
    "Disagreement",
    "KINDS",
    "LegacyIndexError",
    "MigrationPlan",
    "OldCard",
    "OldIndex",
    "OldLink",
    "OldPage",
    "ProjectPlan",
    "apply_migration",
    "describe_changes",
    "parse_html",
    "plan_migration",
    "read_old_index",
    "read_page",
    "read_root",
]
