"""The data model: projects, releases and distribution files (pure, no I/O).

Names follow PEP 503 normalization and versions PEP 440, both through ``packaging``.
A :class:`Project` is stored as one JSON record (``projects/<normalized-name>.json``); the
``to_json``/``from_json`` pair is the only place that knows that record's shape.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .errors import InvalidName, InvalidVersion

# packaging is imported in the functions that use it: packaging.utils loads packaging.tags (with
# logging, platform, subprocess and sysconfig), which commands that parse no name need not pay for.
if TYPE_CHECKING:
    from packaging.version import Version

#: Format version of ``projects/*.json`` records.
RECORD_FORMAT = 1

WHEEL = "wheel"
SDIST = "sdist"


def normalize_name(name: str) -> str:
    """Return the PEP 503 normalized form of a project name.

    Raises :class:`~pagesindex.errors.InvalidName` (naming the value) when ``name`` is not a
    valid project name per PEP 508 (letters, digits, ``-_.``; starting and ending with a letter
    or digit).

    >>> normalize_name("Company.Test_Utils")
    'company-test-utils'
    >>> normalize_name("ABC1")
    'abc1'
    """
    if not isinstance(name, str):
        raise InvalidName(f"invalid project name: {name!r}")
    return _normalize_str(name)


@functools.lru_cache(maxsize=1 << 16)
def _normalize_str(name: str) -> str:
    # Kept per name: a build asks for the same project's name for every page and file (a
    # million calls at 10,000 projects); an invalid name raises and is not kept.
    from packaging.utils import InvalidName as _PkgInvalidName
    from packaging.utils import canonicalize_name

    try:
        return str(canonicalize_name(name, validate=True))
    except _PkgInvalidName:
        raise InvalidName(f"invalid project name: {name!r} (PEP 508 names use letters, digits, '-', '_', '.')") from None


def parse_version(text: str) -> Version:
    """Parse a PEP 440 version; raise :class:`~pagesindex.errors.InvalidVersion` naming it.

    >>> str(parse_version("3.0.0-beta.4"))
    '3.0.0b4'
    """
    if not isinstance(text, str) or text != text.strip() or not text:
        raise InvalidVersion(f"invalid version: {text!r} (not a PEP 440 version)")
    from packaging.version import InvalidVersion as _PkgInvalidVersion
    from packaging.version import Version

    try:
        return Version(text)
    except _PkgInvalidVersion:
        raise InvalidVersion(f"invalid version: {text!r} (not a PEP 440 version)") from None


@functools.lru_cache(maxsize=1 << 16)
def _version(text: str) -> Version:
    """``Version(text)``, kept per string (sorting a project's releases parses each version
    many times per build); versions are immutable."""
    from packaging.version import Version

    return Version(text)


_TAG_PREFIX = re.compile(r"^[vV](?=\d)")
_NORMALIZED_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def names_shown(names: "List[str]", limit: int = 8) -> str:
    """For a log line: ``" (a, b and 3 more)"``, the first ``limit`` of ``names`` in their order,
    or ``""`` when there is none. A name that is not a normalized project name (PEP 503: lowercase
    letters, digits, single ``-``), such as a hostile record file name, is shown as its
    ``ascii()`` quote, so that no control character or look-alike reaches a terminal or a log."""
    if not names:
        return ""
    shown = [n if _NORMALIZED_NAME.fullmatch(n) else ascii(n) for n in names[:limit]]
    more = len(names) - len(shown)
    return f" ({', '.join(shown)}{f' and {more} more' if more else ''})"


def version_from_tag(tag: str) -> Version:
    """The PEP 440 version a release tag stands for: ``v1.2.3-rc.1`` -> ``1.2.3rc1``.

    A leading ``v`` is dropped; the rest must be a PEP 440 version (in any of the spellings
    that PEP 440 normalizes). Raises :class:`~pagesindex.errors.InvalidVersion`.

    >>> str(version_from_tag("v2.12.0beta"))
    '2.12.0b0'
    """
    if not isinstance(tag, str) or not tag:
        raise InvalidVersion(f"invalid version tag: {tag!r}")
    from packaging.version import InvalidVersion as _PkgInvalidVersion
    from packaging.version import Version

    try:
        return Version(_TAG_PREFIX.sub("", tag, count=1))
    except _PkgInvalidVersion:
        raise InvalidVersion(f"invalid version tag: {tag!r} (not a PEP 440 version, with or without a leading 'v')") from None


@dataclass(frozen=True)
class DistributionFile:
    """One hosted distribution file (a wheel or an sdist), as recorded in the state.

    ``sha256`` is the hex digest of the file's bytes, ``size`` its length in bytes,
    ``upload_time`` an ISO 8601 UTC timestamp (``2026-11-30T00:00:00Z``, PEP 700), and
    ``core_metadata_sha256`` the hex digest of the wheel's METADATA (PEP 658), ``None`` for sdists.
    ``provenance`` is ``None`` for a file without verified attestations, else what the signing
    certificate says about its build (``{"kind", "repository", "workflow", "commit", "ref",
    "run", "predicate-types", "sha256"}``, ``sha256`` that of the PEP 740 provenance object kept
    in ``provenance/<name>/<filename>.provenance``).
    ``pkg_info_sha256``: with an object store, the hex digest of an sdist's PKG-INFO, kept in
    ``metadata/<sha256>`` for the pages of a release that has no wheel (the build cannot open
    the sdist, which is only in the store); never served as a PEP 658 sidecar. ``None`` otherwise.
    """

    filename: str
    kind: str
    sha256: str
    size: int
    upload_time: str
    requires_python: Optional[str] = None
    core_metadata_sha256: Optional[str] = None
    provenance: Optional[Dict[str, Any]] = field(default=None, compare=False)
    pkg_info_sha256: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        data = {
            "filename": self.filename,
            "kind": self.kind,
            "sha256": self.sha256,
            "size": self.size,
            "upload-time": self.upload_time,
            "requires-python": self.requires_python,
        }
        if self.core_metadata_sha256 is not None:
            data["core-metadata-sha256"] = self.core_metadata_sha256
        if self.provenance is not None:
            data["provenance"] = self.provenance
        if self.pkg_info_sha256 is not None:
            data["pkg-info-sha256"] = self.pkg_info_sha256
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "DistributionFile":
        return cls(
            filename=data["filename"],
            kind=data["kind"],
            sha256=data["sha256"],
            size=int(data["size"]),
            upload_time=data["upload-time"],
            requires_python=data.get("requires-python"),
            core_metadata_sha256=data.get("core-metadata-sha256"),
            provenance=data.get("provenance"),
            pkg_info_sha256=data.get("pkg-info-sha256"),
        )


@dataclass
class Release:
    """A version of a project: its files and its PEP 592 yank state.

    ``version`` is the normalized PEP 440 string (``str(Version(...))``).
    """

    version: str
    files: List[DistributionFile] = field(default_factory=list)
    yanked: bool = False
    yanked_reason: str = ""
    #: Release-level extras kept with the release (for example a README taken from the repository).
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def parsed_version(self) -> Version:
        return _version(self.version)

    def file(self, filename: str) -> Optional[DistributionFile]:
        for f in self.files:
            if f.filename == filename:
                return f
        return None

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "yanked": self.yanked,
            "yanked-reason": self.yanked_reason,
            "files": [f.to_json() for f in sorted(self.files, key=lambda f: f.filename)],
        }
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_json(cls, version: str, data: Dict[str, Any]) -> "Release":
        return cls(
            version=version,
            files=[DistributionFile.from_json(f) for f in data.get("files", [])],
            yanked=bool(data.get("yanked", False)),
            yanked_reason=data.get("yanked-reason", "") or "",
            extra=dict(data.get("extra", {})),
        )


@dataclass
class Project:
    """A project on the index: its display name, descriptive fields and releases.

    ``name`` is the display name (as the core metadata spells it); :attr:`normalized_name` is
    the PEP 503 form used for folders and URLs. ``releases`` maps normalized version strings to
    :class:`Release`. ``extra`` holds fields that later features add (repository, PyPI check),
    kept verbatim.
    """

    name: str
    summary: str = ""
    author: str = ""
    homepage: str = ""
    releases: Dict[str, Release] = field(default_factory=dict)
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def normalized_name(self) -> str:
        return normalize_name(self.name)

    def sorted_releases(self, *, newest_first: bool = True) -> List[Release]:
        return sorted(self.releases.values(), key=lambda r: r.parsed_version, reverse=newest_first)

    def all_files(self) -> List[DistributionFile]:
        """Every file of every release, sorted by version then filename."""
        out: List[DistributionFile] = []
        for release in self.sorted_releases(newest_first=False):
            out.extend(sorted(release.files, key=lambda f: f.filename))
        return out

    def latest(self, *, prereleases: bool = False) -> Optional[Release]:
        """The newest non-yanked release (stable only unless ``prereleases``)."""
        for release in self.sorted_releases():
            if release.yanked:
                continue
            if release.parsed_version.is_prerelease and not prereleases:
                continue
            return release
        return None

    def release(self, version: str) -> Optional[Release]:
        """The release whose version equals ``version`` as a PEP 440 version."""
        wanted = parse_version(version)
        for release in self.releases.values():
            if release.parsed_version == wanted:
                return release
        return None

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "format": RECORD_FORMAT,
            "name": self.name,
            "summary": self.summary,
            "author": self.author,
            "homepage": self.homepage,
            "releases": {
                r.version: r.to_json() for r in self.sorted_releases(newest_first=False)
            },
        }
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Project":
        return cls(
            name=data["name"],
            summary=data.get("summary", "") or "",
            author=data.get("author", "") or "",
            homepage=data.get("homepage", "") or "",
            releases={v: Release.from_json(v, r) for v, r in data.get("releases", {}).items()},
            extra=dict(data.get("extra", {})),
        )

    def copy(self) -> "Project":
        """A deep copy, so a command can change a copy and save it only when all went well."""
        return Project.from_json(self.to_json())

    @property
    def status(self) -> "Tuple[str, str]":
        """``(status, reason)``: the PEP 792 project status kept in ``extra["status"]``
        (``{"status": ..., "reason": ...}``), ``("active", "")`` when none is recorded.

        Raises :class:`ValueError` for a recorded status of another shape or value.
        """
        return project_status(self.extra.get(STATUS_KEY))


#: Key of ``Project.extra`` holding the PEP 792 project status.
STATUS_KEY = "status"
#: PEP 792 project statuses (API version 1.4).
PROJECT_STATUSES = ("active", "archived", "deprecated", "quarantined")


def project_status(value: Any) -> "Tuple[str, str]":
    """``(status, reason)`` of a recorded PEP 792 status ``{"status": str, "reason": str}``.

    ``None`` means active. Raises :class:`ValueError` for anything else that is not a dict with
    one of :data:`PROJECT_STATUSES` and a string reason.

    >>> project_status(None), project_status({"status": "archived", "reason": "moved"})
    (('active', ''), ('archived', 'moved'))
    """
    if value is None:
        return "active", ""
    if (
        not isinstance(value, dict)
        or value.get("status") not in PROJECT_STATUSES
        or not isinstance(value.get("reason", ""), str)
        or set(value) - {"status", "reason"}
    ):
        raise ValueError(f"invalid project status {value!r} (one of {', '.join(PROJECT_STATUSES)}, with a text reason)")
    return value["status"], value.get("reason", "")


__all__ = [
    "DistributionFile",
    "Project",
    "Release",
    "SDIST",
    "WHEEL",
    "normalize_name",
    "parse_version",
    "version_from_tag",
]
