"""The simple repository API pages: the root and one page per project, in HTML and JSON.

HTML follows PEP 503 as amended by PEP 592 (yanked), 629 (``pypi:repository-version``), 658/714
(core metadata), 792 (project status) and the frozen HTML format of API version 1.4 (PEP 833):
the root is a valid HTML5 page with exactly one anchor per project, a project page one anchor per
distribution file, each anchor's text the project name or the filename, and no other anchor.
JSON is the PEP 691 form with the PEP 700 fields (``versions``, ``size``, ``upload-time``) and
the PEP 792 ``project-status``. PEP 708 (API 1.2, rejected) is not emitted.

A person who opens one of these pages in a browser reaches the pages for people (under
:data:`PEOPLE_DIR`) with one click on a ``<form method="get">`` button: a form is not an anchor,
so parsers that take every ``<a>`` for a project or a file see none, and it works with JavaScript
off.

The per-file fields of both forms are made in one place each, :func:`file_anchor` (HTML) and
:func:`file_entry` (JSON), so a later field (for example PEP 740 provenance) is added once.

Pages are written by hand rather than through templates: their form is fixed by the standard,
an index's template overrides must not be able to add links to them, and they are rendered for
every project on every build.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from markupsafe import escape

from .model import DistributionFile, Project, Release
from .stores import StorageConfig
from .stores import file_url as store_file_url

#: PEP 629 / PEP 691 API version of the pages (1.4: PEP 792 project status; PEP 700 fields).
API_VERSION = "1.4"
#: Folder of the pages for people (landing page, project and release pages). A normalized
#: project name starts with a letter or a digit, so no project's API folder can take it.
PEOPLE_DIR = "_pages"
#: Folder of the distribution files in the site.
SITE_PACKAGES = "packages"
STATIC_DIR = "_static"

#: The Content-Security-Policy of the API pages: the style sheet of this site, and the form
#: button that leads to the pages for people (``form-action 'self'``); no script at all.
API_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'"


def offered(project: Project) -> List[Tuple[Release, DistributionFile]]:
    """``[(release, file)]`` the API offers for ``project``, by version then filename; none for a
    quarantined project (PEP 792: a quarantined project offers no file to install).

    Raises :class:`ValueError` for an invalid recorded status (see :func:`model.project_status`).
    """
    if project.status[0] == "quarantined":
        return []
    return [
        (release, f)
        for release in project.sorted_releases(newest_first=False)
        for f in sorted(release.files, key=lambda f: f.filename)
    ]


def file_url(project: Project, f: DistributionFile, storage: Optional[StorageConfig] = None) -> str:
    """The URL of a distribution file on the project's API page: relative to its folder
    (``<name>/``) with the ``git`` store, absolute with an object store (``storage``; see
    :func:`pagesindex.stores.file_url`)."""
    return store_file_url(storage or StorageConfig(), project.normalized_name, f.filename)


def provenance_url(project: Project, f: DistributionFile, base_url: str = "") -> Optional[str]:
    """The URL of a file's PEP 740 provenance object: the value of ``data-provenance`` on its
    anchor and of ``"provenance"`` in its JSON entry (PEP 740, simple API 1.3).

    PEP 740 requires a fully qualified URL (pypi-simple refuses a relative one), so it is
    ``<base_url>packages/<name>/<filename>.provenance`` with the index's public URL
    (``[index] url``, ``base_url``); ``None`` for a file without provenance, or when the index
    has no public http(s) URL (the object is still served, and linked from the pages for people).
    """
    if f.provenance is None or not base_url.startswith(("https://", "http://")):
        return None
    return f"{base_url.rstrip('/')}/{SITE_PACKAGES}/{project.normalized_name}/{f.filename}.provenance"


def file_anchor(project: Project, release: Release, f: DistributionFile, base_url: str = "",
                storage: Optional[StorageConfig] = None) -> str:
    """The anchor of one file on the project's API page: ``href`` with ``#sha256=``, and
    ``data-requires-python`` (PEP 503), ``data-yanked`` (PEP 592), ``data-core-metadata`` and
    ``data-dist-info-metadata`` (PEP 714 / 658) and ``data-upload-time`` (ISO 8601 UTC, as
    PEP 700's JSON ``upload-time``; uv reads it from HTML) and ``data-provenance`` (PEP 740, see
    :func:`provenance_url`); the text is the filename."""
    attrs = [f'href="{escape(file_url(project, f, storage))}#sha256={escape(f.sha256)}"']
    if f.requires_python:
        attrs.append(f'data-requires-python="{escape(f.requires_python)}"')
    if f.core_metadata_sha256:
        value = escape(f"sha256={f.core_metadata_sha256}")
        attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
    if release.yanked:
        attrs.append(f'data-yanked="{escape(release.yanked_reason)}"')
    if f.upload_time:
        attrs.append(f'data-upload-time="{escape(f.upload_time)}"')
    provenance = provenance_url(project, f, base_url)
    if provenance:
        attrs.append(f'data-provenance="{escape(provenance)}"')
    return f"<a {' '.join(attrs)}>{escape(f.filename)}</a>"


def file_entry(project: Project, release: Release, f: DistributionFile, base_url: str = "",
               storage: Optional[StorageConfig] = None) -> Dict[str, Any]:
    """One entry of the PEP 691 ``files`` list (with PEP 700 ``size`` and ``upload-time`` and
    PEP 740 ``provenance``, ``None`` where there is none)."""
    entry: Dict[str, Any] = {
        "filename": f.filename,
        "url": file_url(project, f, storage),
        "hashes": {"sha256": f.sha256},
    }
    if f.requires_python:
        entry["requires-python"] = f.requires_python
    if f.core_metadata_sha256:
        entry["core-metadata"] = {"sha256": f.core_metadata_sha256}
        entry["dist-info-metadata"] = {"sha256": f.core_metadata_sha256}
    else:
        entry["core-metadata"] = False
        entry["dist-info-metadata"] = False
    entry["yanked"] = (release.yanked_reason or True) if release.yanked else False
    entry["size"] = f.size
    entry["upload-time"] = f.upload_time
    entry["provenance"] = provenance_url(project, f, base_url)
    return entry


def status_json(project: Project) -> Dict[str, str]:
    """PEP 792 ``project-status`` object: ``{"status": ...}`` plus ``"reason"`` when one is set."""
    status, reason = project.status
    return {"status": status, "reason": reason} if reason else {"status": status}


def project_json(project: Project, base_url: str = "", storage: Optional[StorageConfig] = None) -> Dict[str, Any]:
    """The PEP 691 project detail, api-version 1.4 (PEP 700 ``versions``; PEP 792 status).

    A quarantined project lists no file and no version.
    """
    files = offered(project)
    quarantined = project.status[0] == "quarantined"
    return {
        "meta": {"api-version": API_VERSION},
        "name": project.normalized_name,
        "project-status": status_json(project),
        "versions": [] if quarantined else [r.version for r in project.sorted_releases(newest_first=False)],
        "files": [file_entry(project, r, f, base_url, storage) for r, f in files],
    }


def root_json(names: Iterable[str]) -> Dict[str, Any]:
    """The PEP 691 root (project list) for project display names ``names``."""
    return {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}


def _page(title: str, head: Sequence[str], static: str, body: Sequence[str]) -> str:
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{API_CSP}">',
        f'<meta name="pypi:repository-version" content="{API_VERSION}">',
        *head,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title>",
        f'<link rel="stylesheet" href="{static}style.css">',
        f'<link rel="stylesheet" href="{static}theme.css">',
        "</head>",
        '<body class="simple-api">',
        *body,
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)


def _people_button(action: str, label: str) -> str:
    """A GET form whose button leads to a page for people: one click, no anchor, no script."""
    return f'<form class="to-people" action="{escape(action)}" method="get"><button type="submit">{escape(label)}</button></form>'


def project_html(project: Project, base_url: str = "", storage: Optional[StorageConfig] = None) -> str:
    """The project's API page (``<name>/index.html``): one anchor per offered file (see
    :func:`file_anchor`), the PEP 792 status markers, and a button to the page for people."""
    name = project.normalized_name
    status, reason = project.status
    head = [f'<meta name="pypi:project-status" content="{status}">']
    if reason:
        head.append(f'<meta name="pypi:project-status-reason" content="{escape(reason)}">')
    body = [
        f"<h1>Links for {escape(project.name)}</h1>",
        _people_button(f"../{PEOPLE_DIR}/{name}/", f"Project page of {project.name}: README, versions, install commands"),
    ]
    if status != "active":
        body.append(f'<p class="status">Project status: {status}{escape(": " + reason) if reason else ""}</p>')
    body.append("<p>")
    body.extend(file_anchor(project, r, f, base_url, storage) + "<br>" for r, f in offered(project))
    body.append("</p>")
    return _page(f"Links for {project.name}", head, f"../{STATIC_DIR}/", body)


def root_html_entry(name: str, norm: str) -> str:
    """The root page's line of one project (display name, normalized name); :func:`root_html`
    writes the same line."""
    return f'<a href="{escape(norm)}/">{escape(name)}</a><br>'


def root_html(projects: Iterable[Tuple[str, str]], title: str) -> str:
    """The root API page (``index.html``): one anchor per project, ``(display name, normalized
    name)`` pairs in the order given, and a button to the landing page for people."""
    pairs = list(projects)
    names, norms = "\n".join(name for name, _ in pairs), "\n".join(norm for _, norm in pairs)
    if pairs and names.count("\n") == norms.count("\n") == len(pairs) - 1:  # no name holds a line break
        # Each column escaped in one call (50,000 calls each are a tenth of a second).
        pairs = list(zip(str(escape(names)).split("\n"), str(escape(norms)).split("\n")))
    else:
        pairs = [(str(escape(name)), str(escape(norm))) for name, norm in pairs]
    body = [
        f"<h1>{escape(title)}</h1>",
        _people_button(f"{PEOPLE_DIR}/", "Search and browse the projects"),
        "<p>",
        *(f'<a href="{norm}/">{name}</a><br>' for name, norm in pairs),
        "</p>",
    ]
    return _page(title, [], f"{STATIC_DIR}/", body)


def redirect_html(target: str) -> str:
    """A page with no anchor that sends a browser to ``target`` (a relative URL): for old URLs
    of pages that moved (``<name>/<version>.html`` went to the pages for people)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0; url={escape(target)}">\n'
        '<meta name="robots" content="noindex">\n<title>Moved</title>\n</head>\n'
        f"<body><p>This page moved to {escape(target)}.</p></body>\n</html>\n"
    )


def anchors_expected(project: Project) -> List[Tuple[str, str]]:
    """``[(href, text)]`` the project's API page must carry, for checks and tests."""
    return [(f"{file_url(project, f)}#sha256={f.sha256}", f.filename) for _r, f in offered(project)]

