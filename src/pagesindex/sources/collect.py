"""Collect the distribution files of one release of a GitHub repository.

The order of the steps (issue 3): find the published release by tag (the tag as given, then with
and without ``v``; drafts do not count); keep the assets whose filename parses as a wheel or sdist
of this project (names compared normalized, PEP 503), ignoring and reporting the others; download
and inspect them; and when the release has none (or there is only a tag), build them from the
repository at the tag. Every file's version must equal the tag's version as PEP 440 versions.

Nothing here writes the state: the caller ingests :attr:`Collected.files` through
:meth:`pagesindex.state.Index.add_files`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from packaging.version import Version

from ..attestations import MAX_ATTESTATION_BYTES, ProvenanceError, sidecar_names
from .. import limits
from ..errors import InvalidDistribution, LimitExceeded, PagesIndexError
from ..inspect import InspectedFile, inspect_file, parse_filename
from ..model import SDIST, WHEEL, normalize_name, version_from_tag
from ..github_api import GitHubClient, Repository, tag_candidates
from .rename import RenameError, rename_wheel
from .source_build import build_from_tag

RELEASE_ASSETS = "release-assets"
BUILT_FROM_TAG = "built-from-tag"
GIT_LINK = "git-link"


class VersionMismatch(PagesIndexError):
    """A file's own version differs from the version of the release tag."""


class NoRelease(PagesIndexError, LookupError):
    """The repository has neither a published release nor a tag for the version."""


@dataclass
class Collected:
    """What :func:`collect_release` found.

    ``files`` are inspected files in a temporary folder (empty for a git-link release);
    ``ignored`` lists ``(asset or file name, reason)``; ``source`` is ``"release-assets"``,
    ``"built-from-tag"`` or ``"git-link"``; ``checked`` lists files that were checked but not
    kept (a private repository's files on a public index); ``readme`` follows the record
    contract ``{"text", "content_type", "from"}`` or is ``None``.
    """

    repository: Repository
    tag: str
    version: Version
    source: str
    files: List[InspectedFile] = field(default_factory=list)
    checked: List[InspectedFile] = field(default_factory=list)
    ignored: List[Tuple[str, str]] = field(default_factory=list)
    release_url: Optional[str] = None
    readme: Optional[dict] = None
    #: ``(asset name, sha256)`` of assets not downloaded: the index has them, same digest.
    known: List[Tuple[str, str]] = field(default_factory=list)
    #: filename -> ``(source, JSON bytes)`` attestation documents found for it (PEP 740): release
    #: assets ``<file>.publish.attestation`` / ``.slsa.attestation`` / ``.sigstore`` /
    #: ``.provenance`` and the bundles of GitHub's artifact attestations API. Not yet verified.
    attestations: Dict[str, List[Tuple[str, bytes]]] = field(default_factory=dict)


def check_version(filename: str, file_version: Version, tag: str) -> None:
    """Raise :class:`VersionMismatch` naming both versions unless they are equal (PEP 440).

    >>> check_version("x-2.12.0b0-py3-none-any.whl", Version("2.12.0b0"), "v2.12.0beta")
    """
    tag_version = version_from_tag(tag)
    if file_version != tag_version:
        raise VersionMismatch(
            f"{filename}: its version {file_version} differs from the release tag {tag!r} (version {tag_version})"
        )


def readme_content_type(filename: str) -> str:
    """The content type a README's file name implies (core metadata Description-Content-Type)."""
    lower = filename.lower()
    if lower.endswith((".md", ".markdown")):
        return "text/markdown"
    if lower.endswith((".rst", ".rest")):
        return "text/x-rst"
    return "text/plain"


def _classify(asset_name: str, project: str) -> Tuple[Optional[str], Optional[Version], str]:
    """``(kind, version, "")`` for an asset of ``project``, else ``(None, None, reason)``."""
    try:
        kind, name, version = parse_filename(asset_name)
    except InvalidDistribution:
        return None, None, "not a wheel or sdist"
    if name != project:
        return None, None, f"a file of project {name!r}, not {project!r}"
    return kind, version, ""


def collect_release(
    client: GitHubClient,
    repository: Repository,
    project: str,
    version_text: str,
    workdir: Path,
    *,
    host_files: bool = True,
    rename_to: Optional[str] = None,
    build: Callable[..., List[Path]] = build_from_tag,
    log: Callable[[str], None] = lambda line: None,
    known: Optional[Dict[str, str]] = None,
    max_file_bytes: Optional[int] = None,
) -> Collected:
    """Find, download (or build), inspect and check the files of release ``version_text``.

    ``project`` is the name the repository's files carry (normalized here); ``rename_to`` the
    name to register wheels under (``--as``). When ``host_files`` is false (a private repository
    on a public index) assets are still downloaded and checked, but not kept, and nothing is
    built: the release becomes a git link. ``known`` maps filenames the index already has to
    their sha256: an asset whose API digest equals it is not downloaded again. ``max_file_bytes``
    is the index's per-file limit (its store's, :attr:`~pagesindex.stores.StorageConfig.max_file_bytes`;
    None: GitHub's 100 MiB): an asset that the API says is larger is refused before it is
    downloaded, and every file is inspected under it. Raises :class:`NoRelease`, :class:`VersionMismatch`,
    :class:`~pagesindex.github_api.GitHubError`,
    :class:`~pagesindex.sources.source_build.SourceBuildError`, :class:`RenameError` or
    :class:`~pagesindex.errors.InvalidDistribution` (nothing is written in any case).
    """
    project = normalize_name(project)
    version_from_tag(version_text)  # validates
    workdir = Path(workdir)
    full_name = repository.full_name
    release = None
    for candidate in tag_candidates(version_text):
        release = client.release_by_tag(full_name, candidate)
        if release is not None:
            break
    ignored: List[Tuple[str, str]] = []
    inspected: List[InspectedFile] = []
    attestations: Dict[str, List[Tuple[str, bytes]]] = {}
    tag: Optional[str] = None
    source = RELEASE_ASSETS
    skipped: List[Tuple[str, str]] = []
    if release is not None:
        tag = release.tag_name
        log(f"release {tag} found: {release.html_url or '(no web URL)'}")
        assets = client.release_assets(full_name, release.id)
        by_name = {a.name: a for a in assets}
        sidecars = {side for a in assets for side in sidecar_names(a.name) if side in by_name}
        keep = []
        for asset in assets:
            if asset.name in sidecars:
                continue  # an attestation of another asset (read below for the files kept)
            kind, version, reason = _classify(asset.name, project)
            if kind is None:
                ignored.append((asset.name, reason))
                continue
            check_version(asset.name, version, tag)
            if rename_to is None and asset.sha256 and (known or {}).get(asset.name) == asset.sha256:
                skipped.append((asset.name, asset.sha256))
                continue
            bound = limits.max_file_bytes() if max_file_bytes is None else max_file_bytes
            if asset.size and asset.size > bound:
                host = "GitHub refuses larger files" if max_file_bytes is None else "the store's single upload limit"
                raise LimitExceeded(
                    f"{asset.name}: {limits.human(asset.size)} (release asset size) is over the per-file limit of "
                    f"{limits.human(bound)} ({host}); not downloaded"
                )
            keep.append(asset)
        folder = workdir / "assets"
        folder.mkdir(parents=True, exist_ok=True)
        for asset in keep:
            dest = folder / asset.name
            sha256, size = client.download_asset(asset, dest)
            log(f"downloaded {asset.name} ({size} bytes, sha256={sha256}{', digest checked' if asset.sha256 else ''})")
            inspected.append(inspect_file(dest, max_bytes=max_file_bytes))
            if rename_to is None:
                docs = attestation_documents(client, full_name, asset.name, sha256, by_name, folder / "attestations")
                if docs:
                    attestations[asset.name] = docs
                    log(f"attestations of {asset.name}: {', '.join(source for source, _ in docs)}")
    else:
        for candidate in tag_candidates(version_text):
            if client.tag_exists(full_name, candidate):
                tag = candidate
                break
        if tag is None:
            tried = " or ".join(repr(t) for t in tag_candidates(version_text))
            raise NoRelease(f"{full_name} has no published release and no tag {tried}")
        log(f"no published release for tag {tag}; the tag exists")
    if not inspected and not skipped:
        if not host_files:
            source = GIT_LINK
        else:
            source = BUILT_FROM_TAG
            log(f"building {full_name} at {tag} from source (git clone, python -m build)")
            token = client.config.token
            built = build(repository.clone_url, tag, workdir / "build", web_url=client.config.web_url, token=token)
            for path in built:
                kind, name, version = parse_filename(path.name)
                if name != project:
                    raise InvalidDistribution(
                        f"{path.name}: the build at {tag} made project {name!r}, not {project!r}"
                    )
                check_version(path.name, version, tag)
                inspected.append(inspect_file(path, max_bytes=max_file_bytes))
                log(f"built {path.name}")
    for f in inspected:
        check_version(f.filename, f.version, tag)
    if rename_to is not None and inspected:
        renamed: List[InspectedFile] = []
        for f in inspected:
            if f.kind == SDIST:
                ignored.append((f.filename, f"an sdist cannot be renamed to {rename_to!r} safely; not registered"))
                continue
            path = rename_wheel(f.path, rename_to, workdir / "renamed")
            renamed.append(inspect_file(path, max_bytes=max_file_bytes))
            log(f"renamed {f.filename} -> {path.name}")
        if not any(f.kind == WHEEL for f in renamed):
            raise RenameError(
                f"release {tag} of {full_name} has no wheel of {project!r} to register as {rename_to!r} "
                "(sdists cannot be renamed safely)"
            )
        inspected = renamed
    collected = Collected(
        repository=repository,
        tag=tag,
        version=version_from_tag(tag),
        source=source,
        release_url=release.html_url if release is not None else None,
        ignored=ignored,
        known=skipped,
        attestations=attestations if host_files else {},
    )
    if host_files:
        collected.files = inspected
    else:
        collected.checked = inspected
        collected.source = GIT_LINK
    if host_files and inspected and not any(f.description.strip() for f in inspected):
        found = client.readme(full_name, tag)
        if found is not None:
            name, text = found
            collected.readme = {"text": text, "content_type": readme_content_type(name), "from": f"repository@{tag}"}
            log(f"README {name} taken from the repository at {tag} (the metadata has no description)")
    return collected


def attestation_documents(client: GitHubClient, full_name: str, filename: str, sha256: str,
                          assets: Dict[str, "object"], folder: Path) -> List[Tuple[str, bytes]]:
    """The attestation documents of one downloaded release asset: the release assets named after
    it (``<file>.publish.attestation``, ``.slsa.attestation``, ``.sigstore``, ``.provenance``)
    and the Sigstore bundles GitHub's artifact attestations API holds for its sha256. Raises
    :class:`~pagesindex.attestations.ProvenanceError` for an attestation asset over
    :data:`~pagesindex.attestations.MAX_ATTESTATION_BYTES`, :class:`GitHubError` on API failures."""
    docs: List[Tuple[str, bytes]] = []
    for side in sidecar_names(filename):
        asset = assets.get(side)
        if asset is None:
            continue
        if asset.size > MAX_ATTESTATION_BYTES:
            raise ProvenanceError(f"{side}: attestation asset too large ({asset.size} bytes, at most {MAX_ATTESTATION_BYTES})")
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / side
        client.download_asset(asset, dest)
        data = dest.read_bytes()
        if len(data) > MAX_ATTESTATION_BYTES:
            raise ProvenanceError(f"{side}: attestation asset too large (over {MAX_ATTESTATION_BYTES} bytes)")
        docs.append((f"release asset {side}", data))
    for number, bundle in enumerate(client.attestations(full_name, sha256), 1):
        docs.append((f"GitHub attestation {number} of {full_name}", bundle))
    return docs


__all__ = [
    "BUILT_FROM_TAG",
    "Collected",
    "GIT_LINK",
    "NoRelease",
    "RELEASE_ASSETS",
    "VersionMismatch",
    "check_version",
    "collect_release",
    "readme_content_type",
]
