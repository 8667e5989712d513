"""Dependency-confusion check: does PyPI offer a project of the same name, and would pip take it?

Users install from this index with ``pip install NAME --extra-index-url URL``. pip then merges
the candidates of every index and installs the best one, so whoever publishes the same
normalized name on PyPI at a version pip prefers wins. This module asks PyPI (or any index that
speaks the simple repository API) about one normalized name and classifies the answer:

``higher``
    pip without ``--pre`` would install a version from PyPI instead of ours (PyPI has a version
    above the one pip would take from this index, with pre-releases counted as pip counts them).
``exists``
    the name is taken on PyPI, but pip would still pick ours today (the owner may publish a
    higher version tomorrow).
``clear``
    PyPI answered 404: no project of that name.
``unknown``
    the question could not be answered (network failure, timeout, 5xx, 429, malformed answer).
    Never reported as ``clear``.

Transport: the simple repository API, ``GET <base>/simple/<normalized-name>/`` with the PEP 691
``Accept`` header preferring ``application/vnd.pypi.simple.v1+json`` (PEP 700 ``versions``
list; PEP 592 ``yanked`` per file); an HTML (PEP 503) answer is parsed too, so any index works
as ``--pypi-url``. The simple API is what pip itself reads, so the check sees what pip sees.
(PyPI's own ``/pypi/<name>/json`` API is used by the browser check in ``pypi-check.js``, because
PyPI allows cross-origin requests there; its ``releases`` key is documented as deprecated in
favour of the simple API.)

How pip counts versions (pip's ``CandidateEvaluator`` with ``packaging``'s ``SpecifierSet.filter``):
a yanked file is skipped unless pinned with ``==`` (PEP 592); pre-releases and development
releases are skipped unless no final release is available at all, or ``--pre`` is given.
"""

from __future__ import annotations

import concurrent.futures
import html.parser
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

import httpx
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion as _PkgInvalidVersion
from packaging.version import Version

from .. import __version__
from ..errors import PagesIndexError
from ..model import normalize_name, parse_version
from ..state import utc_now

#: Where PyPI lives when neither ``--pypi-url`` nor ``index.toml`` ``[pypi] url`` says otherwise.
DEFAULT_PYPI_URL = "https://pypi.org"

HIGHER = "higher"
EXISTS = "exists"
CLEAR = "clear"
UNKNOWN = "unknown"
STATUSES = (HIGHER, EXISTS, CLEAR, UNKNOWN)

#: PEP 691 content negotiation: JSON preferred, HTML accepted (as pip asks).
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
_HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
#: Answers worth a second try: rate limiting and server errors.
_RETRY_STATUS = {429, 500, 502, 503, 504}
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


class PyPIConflict(PagesIndexError):
    """PyPI has a version of the project that pip would install instead of this index's."""


class InvalidPyPIUrl(PagesIndexError, ValueError):
    """A ``--pypi-url`` / ``[pypi] url`` that is not an http(s) URL."""


class PyPIUnavailable(Exception):
    """The index could not answer (transport error, timeout, 5xx, 429, malformed page)."""


def normalize_pypi_url(url: str, what: str = "--pypi-url") -> str:
    """The base URL of a PyPI-like host, without a trailing slash or ``/simple`` suffix.

    ``https://pypi.org``, ``https://pypi.org/`` and ``https://pypi.org/simple/`` all give
    ``https://pypi.org``; the simple API is then ``<base>/simple/<name>/`` and PyPI's JSON API
    ``<base>/pypi/<name>/json``. Raises :class:`InvalidPyPIUrl` naming the value.

    >>> normalize_pypi_url("https://pypi.org/simple/")
    'https://pypi.org'
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or any(
        c in url for c in "\"'<> \n\r\t\\"
    ):
        raise InvalidPyPIUrl(f"invalid {what}: {url!r} (expected an http:// or https:// URL such as {DEFAULT_PYPI_URL})")
    base = url.rstrip("/")
    if base.endswith("/simple"):
        base = base[: -len("/simple")]
    return base


def resolve_pypi_url(option: Optional[str], config_url: Optional[str] = None) -> str:
    """The PyPI base URL to check against: ``option`` (``--pypi-url``), else the environment
    variable ``PAGESINDEX_PYPI_URL``, else ``config_url`` (``index.toml`` ``[pypi] url``), else
    :data:`DEFAULT_PYPI_URL`. Raises :class:`InvalidPyPIUrl`."""
    if option is not None:
        return normalize_pypi_url(option, "--pypi-url")
    env = os.environ.get("PAGESINDEX_PYPI_URL")
    if env:
        return normalize_pypi_url(env, "PAGESINDEX_PYPI_URL")
    if config_url:
        return normalize_pypi_url(config_url, "pypi.url in index.toml")
    return DEFAULT_PYPI_URL


# -- versions as pip counts them ---------------------------------------------------------------
def _version(text: Any) -> Optional[Version]:
    if not isinstance(text, str):
        return None
    try:
        return Version(text)
    except _PkgInvalidVersion:
        return None


def pip_pick(versions: Iterable[Version]) -> Optional[Version]:
    """The version a bare ``pip install NAME`` (no ``--pre``) takes among installable ``versions``.

    Final and post-releases are preferred; pre-releases and development releases count only when
    there is no final release at all (pip's rule, through ``packaging``'s ``SpecifierSet.filter``).

    >>> str(pip_pick([Version("1.0"), Version("2.0rc1")]))
    '1.0'
    >>> str(pip_pick([Version("1.0rc1"), Version("1.0b2")]))
    '1.0rc1'
    """
    pool = list(versions)
    finals = [v for v in pool if not v.is_prerelease]
    chosen = finals or pool
    return max(chosen) if chosen else None


def version_from_filename(filename: str, name: str) -> Optional[Version]:
    """The version of a distribution file named ``filename`` of project ``name``, or ``None``.

    Wheels are parsed per the binary distribution format; sdists (``.tar.gz``, ``.zip`` and the
    legacy archive suffixes pip still reads) by splitting off the normalized project name.

    >>> str(version_from_filename("Private_Hello-0.4.5.tar.gz", "private-hello"))
    '0.4.5'
    """
    if filename.endswith(".whl"):
        try:
            return parse_wheel_filename(filename)[1]
        except (InvalidWheelFilename, _PkgInvalidVersion):
            return None
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            base = filename[: -len(suffix)]
            for i, char in enumerate(base):
                if char == "-" and canonicalize_name(base[:i]) == name:
                    return _version(base[i + 1 :])
            return None
    return None


@dataclass(frozen=True)
class PyPIProject:
    """What an index's simple API says about one project.

    ``versions``: every version it lists (PEP 700 ``versions`` plus those named by files),
    normalized strings sorted by PEP 440, invalid ones dropped. ``installable``: the versions
    with at least one file that is not yanked (PEP 592), i.e. what pip can pick without ``==``.
    """

    name: str
    versions: Tuple[str, ...] = ()
    installable: Tuple[str, ...] = ()

    @classmethod
    def from_files(cls, name: str, listed: Iterable[Any], files: Iterable[Tuple[str, bool]]) -> "PyPIProject":
        """Build from listed version strings and ``(filename, yanked)`` pairs."""
        everything: Dict[Version, None] = {}
        installable: Dict[Version, None] = {}
        for text in listed:
            v = _version(text)
            if v is not None:
                everything[v] = None
        for filename, yanked in files:
            v = version_from_filename(filename, name)
            if v is None:
                continue
            everything[v] = None
            if not yanked:
                installable[v] = None
        return cls(
            name=name,
            versions=tuple(str(v) for v in sorted(everything)),
            installable=tuple(str(v) for v in sorted(installable)),
        )

    @classmethod
    def from_json_data(cls, name: str, data: Any) -> "PyPIProject":
        """From a PEP 691 project detail (``meta.api-version`` 1.x, ``files``, PEP 700 ``versions``).

        Raises :class:`PyPIUnavailable` when the document does not have that shape.
        """
        if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
            raise PyPIUnavailable("malformed PEP 691 answer (no 'files' list)")
        api = str((data.get("meta") or {}).get("api-version", "1.0"))
        if not api.startswith("1."):
            raise PyPIUnavailable(f"unsupported simple API version {api!r}")
        files = []
        for entry in data.get("files", []):
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
                yanked = entry.get("yanked", False)
                files.append((entry["filename"], yanked is True or isinstance(yanked, str)))
        listed = data.get("versions", [])
        return cls.from_files(name, listed if isinstance(listed, list) else [], files)

    @classmethod
    def from_html(cls, name: str, text: str) -> "PyPIProject":
        """From a PEP 503 project page: anchors' text is the filename, ``data-yanked`` marks PEP 592."""
        parser = _AnchorParser()
        parser.feed(text)
        parser.close()
        files = []
        for href, label, yanked in parser.anchors:
            filename = label.strip() or href.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            files.append((filename, yanked))
        return cls.from_files(name, [], files)


class _AnchorParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: List[Tuple[str, str, bool]] = []
        self._current: Optional[List[Any]] = None

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        if tag == "a":
            values = dict(attrs)
            self._current = [values.get("href") or "", "", "data-yanked" in values]

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append(tuple(self._current))  # type: ignore[arg-type]
            self._current = None


# -- asking the index ----------------------------------------------------------------------------
def make_client(timeout: float = 10.0) -> httpx.Client:
    """An httpx client for the check: ``timeout`` seconds per phase, redirects followed."""
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"Accept": ACCEPT, "User-Agent": f"pagesindex/{__version__} (dependency-confusion check)"},
    )


def fetch_project(
    client: httpx.Client, pypi_url: str, name: str, *, retries: int = 1, backoff: float = 0.5
) -> Optional[PyPIProject]:
    """Ask ``<pypi_url>/simple/<name>/`` about normalized ``name``; ``None`` when it answers 404.

    A 200 answer is parsed as PEP 691 JSON or PEP 503 HTML by its ``Content-Type``. Transport
    errors, timeouts, 429 and 5xx are retried ``retries`` times (``backoff`` seconds apart), then
    raise :class:`PyPIUnavailable`, as do every other status and an unreadable page.
    """
    url = f"{pypi_url}/simple/{name}/"
    attempt = 0
    while True:
        attempt += 1
        try:
            response = client.get(url)
        except httpx.TimeoutException as exc:
            problem = f"timed out asking {url} ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            problem = f"could not reach {url} ({type(exc).__name__}: {exc})"
        else:
            if response.status_code == 404:
                return None
            if response.status_code == 200:
                return _parse(name, response)
            problem = f"HTTP {response.status_code} from {url}"
            if response.status_code not in _RETRY_STATUS:
                raise PyPIUnavailable(problem)
        if attempt > retries:
            raise PyPIUnavailable(problem)
        time.sleep(backoff)


def _parse(name: str, response: httpx.Response) -> PyPIProject:
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in _JSON_TYPES:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise PyPIUnavailable(f"invalid JSON from {response.url}") from None
        return PyPIProject.from_json_data(name, data)
    if media in _HTML_TYPES:
        return PyPIProject.from_html(name, response.text)
    raise PyPIUnavailable(f"unexpected content type {media!r} from {response.url}")


# -- classification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one project against PyPI.

    ``project``: normalized name; ``newest``: the version a bare ``pip install`` takes from this
    index (``None`` when nothing is installable); ``status``: one of :data:`STATUSES`;
    ``versions``: PyPI's versions (PEP 440 order); ``highest``: PyPI's highest version or
    ``None``; ``winner``: for ``higher``, the PyPI version pip would install; ``checked``: ISO
    8601 UTC time; ``pypi_url``: base URL asked; ``error``: why, for ``unknown``.
    """

    project: str
    newest: Optional[str]
    status: str
    pypi_url: str
    checked: str
    versions: Tuple[str, ...] = ()
    highest: Optional[str] = None
    winner: Optional[str] = None
    error: Optional[str] = None
    same_version: bool = field(default=False)

    def record(self) -> Dict[str, Any]:
        """The ``project.extra["pypi"]`` record (keys: status, versions, highest, checked,
        pypi_url, and error only for ``unknown``)."""
        data: Dict[str, Any] = {
            "status": self.status,
            "versions": list(self.versions),
            "highest": self.highest,
            "checked": self.checked,
            "pypi_url": self.pypi_url,
        }
        if self.status == UNKNOWN:
            data["error"] = self.error or "unknown error"
        return data

    def to_json(self) -> Dict[str, Any]:
        """The record plus ``project``, ``newest``, ``winner`` and ``note`` (``check --json``)."""
        data = {"project": self.project, "newest": self.newest}
        data.update(self.record())
        data["winner"] = self.winner
        data["note"] = self.note
        return data

    @property
    def note(self) -> str:
        """One line for people: what the status means for this project."""
        if self.status == HIGHER:
            return f"pip would install {self.winner} from PyPI instead of {self.newest or 'nothing'} from this index"
        if self.status == EXISTS:
            if self.same_version:
                return f"name taken on PyPI, which also has {self.newest}: pip may take either file"
            return f"name taken on PyPI (highest {self.highest or 'no version'}); a higher upload there would win"
        if self.status == CLEAR:
            return "not on PyPI"
        return self.error or "unknown error"


def classify(
    name: str,
    ours: Iterable[Union[str, Version]],
    found: Optional[PyPIProject],
    *,
    pypi_url: str = DEFAULT_PYPI_URL,
    checked: Optional[str] = None,
) -> CheckResult:
    """Classify what PyPI said (``found``; ``None`` for 404) against our installable versions.

    ``ours``: the versions of this index's project that pip can install (not yanked). The result
    is ``higher`` when pip, merging both indexes' candidates, would pick a PyPI version that we
    do not have; ``exists`` when PyPI has the name but pip still picks ours; ``clear`` for 404.

    >>> classify("a", ["0.4.5"], PyPIProject("a", ("9.9.9",), ("9.9.9",))).status
    'higher'
    >>> classify("a", ["0.4.5"], PyPIProject("a", ("0.4.5rc1",), ("0.4.5rc1",))).status
    'exists'
    """
    checked = checked or utc_now()
    our_versions = {parse_version(str(v)) for v in ours}
    newest = pip_pick(our_versions)
    newest_text = str(newest) if newest is not None else None
    if found is None:
        return CheckResult(name, newest_text, CLEAR, pypi_url, checked)
    theirs = {Version(v) for v in found.installable}
    best = pip_pick(our_versions | theirs)
    highest = found.versions[-1] if found.versions else None
    if best is not None and best not in our_versions:
        return CheckResult(name, newest_text, HIGHER, pypi_url, checked, found.versions, highest, winner=str(best))
    return CheckResult(
        name, newest_text, EXISTS, pypi_url, checked, found.versions, highest, same_version=newest in theirs
    )


def check_project(
    name: str,
    ours: Iterable[Union[str, Version]],
    *,
    pypi_url: str = DEFAULT_PYPI_URL,
    client: Optional[httpx.Client] = None,
    timeout: float = 10.0,
    retries: int = 1,
) -> CheckResult:
    """Ask ``pypi_url`` about project ``name`` and classify it against ``ours`` (see :func:`classify`).

    Never raises for network trouble: that is an ``unknown`` result carrying the reason. Raises
    :class:`~pagesindex.errors.InvalidName` / ``InvalidVersion`` for bad input.
    """
    name = normalize_name(name)
    ours = list(ours)
    for v in ours:
        parse_version(str(v))
    own = client is None
    client = client or make_client(timeout)
    try:
        found = fetch_project(client, pypi_url, name, retries=retries)
    except PyPIUnavailable as exc:
        newest = pip_pick(parse_version(str(v)) for v in ours)
        return CheckResult(name, str(newest) if newest else None, UNKNOWN, pypi_url, utc_now(), error=str(exc))
    finally:
        if own:
            client.close()
    return classify(name, ours, found, pypi_url=pypi_url)


def check_many(
    items: Sequence[Tuple[str, Sequence[str]]],
    *,
    pypi_url: str = DEFAULT_PYPI_URL,
    timeout: float = 10.0,
    workers: int = 8,
    retries: int = 1,
) -> List[CheckResult]:
    """:func:`check_project` for each ``(name, our installable versions)``, ``workers`` at a time;
    results in the order of ``items``."""
    with make_client(timeout) as client:
        if len(items) <= 1 or workers <= 1:
            return [check_project(n, v, pypi_url=pypi_url, client=client, retries=retries) for n, v in items]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
            futures = [
                pool.submit(check_project, n, v, pypi_url=pypi_url, client=client, retries=retries) for n, v in items
            ]
            return [f.result() for f in futures]


def pre_publish_check(
    name: str,
    versions: Union[str, Iterable[str]],
    pypi_url: Optional[str] = None,
    allow_conflict: bool = False,
    *,
    timeout: float = 10.0,
) -> CheckResult:
    """The check ``register`` and ``update`` run before writing anything.

    ``versions``: the project's installable versions on this index once the release is added
    (one version string, or several; pass all non-yanked ones when the project already has
    releases, so pip's pre-release rule is applied right). ``pypi_url``: already resolved base
    URL (see :func:`resolve_pypi_url`); ``None`` means :data:`DEFAULT_PYPI_URL`.

    Returns the :class:`CheckResult` (``exists`` and ``unknown`` are for the caller to report,
    e.g. in the pull request body). Raises :class:`PyPIConflict` (a
    :class:`~pagesindex.errors.PagesIndexError`, one line naming PyPI's version) for ``higher``
    unless ``allow_conflict``.
    """
    if isinstance(versions, str):
        versions = [versions]
    result = check_project(name, versions, pypi_url=pypi_url or DEFAULT_PYPI_URL, timeout=timeout)
    if result.status == HIGHER and not allow_conflict:
        raise PyPIConflict(
            f"project {result.project!r}: PyPI ({result.pypi_url}) has version {result.winner}, which pip would "
            f"install instead of this index's {result.newest or 'release'} (pass --allow-pypi-conflict to publish anyway)"
        )
    return result


def installable_versions(project: Any) -> List[str]:
    """The versions of a :class:`~pagesindex.model.Project` that pip can install from this index:
    releases that are not yanked and have files. A project whose releases are all git-link
    releases (no files) is compared by its non-yanked release versions instead."""
    live = [r for r in project.releases.values() if not r.yanked]
    with_files = [r.version for r in live if r.files]
    return with_files or [r.version for r in live]


def should_record(previous: Optional[Dict[str, Any]], result: CheckResult) -> bool:
    """Whether ``result`` replaces the stored ``previous`` record: always, except that an
    ``unknown`` never overwrites a known answer (a failed check must not erase a warning)."""
    if result.status != UNKNOWN:
        return True
    return not (isinstance(previous, dict) and previous.get("status") in (HIGHER, EXISTS, CLEAR))


def exit_code(results: Iterable[CheckResult], strict: bool = False) -> int:
    """2 when any result is ``higher``; with ``strict``, 1 when any is ``exists`` or ``unknown``; else 0."""
    statuses = {r.status for r in results}
    if HIGHER in statuses:
        return 2
    if strict and statuses & {EXISTS, UNKNOWN}:
        return 1
    return 0


def markdown_report(results: Sequence[CheckResult]) -> str:
    """A GitHub-flavoured Markdown table of ``results`` (for the scheduled workflow's issue body).

    One row per result, five cells each. Every value is written with
    :func:`pagesindex.changes.md_text`, since PyPI's answer (versions, error text) and this
    index's records are chosen by others: a value cannot end its cell, start a link, an image,
    HTML or a mention, or hide text with bidirectional or invisible characters.
    """
    from ..changes import md_text

    lines = [
        "| project | this index | PyPI highest | status | note |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        cells = [md_text(c) for c in (r.project, r.newest or "-", r.highest or "-", r.status, r.note)]
        if r.status == HIGHER:
            cells[3] = f"**{cells[3]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = [
    "ACCEPT",
    "CLEAR",
    "CheckResult",
    "DEFAULT_PYPI_URL",
    "EXISTS",
    "HIGHER",
    "InvalidPyPIUrl",
    "PyPIConflict",
    "PyPIProject",
    "PyPIUnavailable",
    "STATUSES",
    "UNKNOWN",
    "check_many",
    "check_project",
    "classify",
    "exit_code",
    "fetch_project",
    "installable_versions",
    "markdown_report",
    "normalize_pypi_url",
    "pip_pick",
    "pre_publish_check",
    "resolve_pypi_url",
    "should_record",
    "version_from_filename",
]
