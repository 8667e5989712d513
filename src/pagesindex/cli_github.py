"""``pagesindex register``, ``update`` and ``delete``: releases from GitHub repositories.

``register NAME VERSION --author --summary --homepage URL [--as DIST_NAME]`` adds a project from
the GitHub release VERSION of the repository at URL; ``update NAME VERSION`` adds a release (or
files new in an existing release) of a registered project; ``delete NAME [--version VERSION]``
removes a project or one release. See README.md, "Registering from GitHub releases".

A release with no files is built from source in a sandbox (:mod:`pagesindex.sources.sandbox`).
The workflows split that (issue 13): ``source-tree NAME VERSION --out DIR`` (the job with the
token) clones at the tag only when a build is needed; ``build-source TREE --out DIST`` (a job with
no token and no permissions) builds; ``register``/``update --dist DIST`` take those files and
check them as release assets, and never build.

Settings come from the environment (:mod:`pagesindex.github_api`): ``GITHUB_API_URL``,
``GITHUB_SERVER_URL``, ``GITHUB_TOKEN`` / ``GH_TOKEN``; ``PAGESINDEX_GITHUB_RETRIES`` (default
4) and ``PAGESINDEX_GITHUB_MAX_WAIT`` (seconds, default 300) bound the retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional

import click

from . import limits
from .cli import _plural, console, main, open_index
from .errors import PagesIndexError
from .model import normalize_name, version_from_tag

if TYPE_CHECKING:  # the GitHub client (httpx) is imported by the commands that fetch: not by `delete`
    from .sources.collect import Collected
    from .github_api import GitHubClient, GitHubConfig
    from .state import Index

#: Normalized names refused for projects. Empty: the site layout keeps every path that is not a
#: project page out of the normalized-name space (``_static/``), and ``packages/<name>/`` holds
#: files beside a project named ``packages`` without collision (issue 2).
RESERVED_NAMES: frozenset = frozenset()


class RegisterError(PagesIndexError):
    """A register/update/delete request that cannot be carried out as given."""


def check_project_name(name: str, what: str = "NAME") -> str:
    """The normalized ``name``; raises when it is invalid or collides with a site path."""
    normalized = normalize_name(name)
    if normalized in RESERVED_NAMES:
        raise RegisterError(
            f"invalid {what}: {name!r} collides with the site path {normalized + '/'!r}; register it under another name (--as)"
        )
    return normalized


def _one_line(value: str, what: str) -> str:
    value = value.strip()
    if not value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise RegisterError(f"invalid {what}: {value!r} (one non-empty line of text)")
    return value


def check_tag(version: str) -> str:
    """A VERSION argument: a release tag whose version is PEP 440 (``1.2.3``, ``v1.2.3``)."""
    if not version or any(c.isspace() or ord(c) < 32 for c in version):
        raise RegisterError(f"invalid VERSION: {version!r} (a release tag such as 1.2.3 or v1.2.3)")
    version_from_tag(version)
    return version


def make_client(config: GitHubConfig) -> GitHubClient:
    from .github_api import GitHubClient

    return GitHubClient(
        config,
        retries=limits.env_int("PAGESINDEX_GITHUB_RETRIES", 4, minimum=0),
        max_wait=limits.env_seconds("PAGESINDEX_GITHUB_MAX_WAIT", 300.0),
    )


@dataclass
class Plan:
    """Everything a register/update will write, decided before anything is written."""

    index_name: str
    display_name: str
    collected: Collected
    summary: Optional[str]
    author: Optional[str]
    homepage: str
    project_extra: Dict[str, Any] = field(default_factory=dict)
    pypi_url: Optional[str] = None
    allow_pypi_conflict: bool = False
    #: filename -> verified provenance (:func:`verify_provenance`), given to ``add_files``.
    provenance: Dict[str, Any] = field(default_factory=dict)


def verify_provenance(index: Index, plan: Plan) -> None:
    """Verify the attestations found for each collected file (PEP 740) against the publisher the
    project expects: its record's ``extra["provenance"]["publisher"]``, else the repository the
    files come from (any workflow). A file whose attestation does not verify refuses the whole
    registration (:class:`~pagesindex.attestations.ProvenanceError`, one line naming the file, the
    identity expected and the one found); nothing is written then."""
    from .attestations import GITHUB, Publisher, expected_publisher, verify_file

    collected = plan.collected
    given = (plan.project_extra.get("provenance") or {}).get("publisher")
    existing = index.load_project(plan.index_name)
    if given:
        expected = Publisher.parse(given, "--publisher")
    else:
        expected = expected_publisher(existing.extra) if existing is not None else None
    if expected is None:
        expected = Publisher(GITHUB, collected.repository.full_name)
    for f in collected.files:
        docs = collected.attestations.get(f.filename)
        if not docs:
            continue
        verified = verify_file(f.filename, f.sha256, docs, expected)
        plan.provenance[f.filename] = verified
        _log(f"provenance {f.filename}: built by {verified.built_by.identity} at {verified.built_by.commit[:12]} (verified offline)")


def pre_publish_check(index: Index, plan: Plan) -> None:
    """The check run after everything is fetched and before anything is written.

    The place for the PyPI dependency-confusion check (issue 5): it may raise a
    :class:`~pagesindex.errors.PagesIndexError` to stop (nothing is written then) or add
    ``plan.project_extra["pypi"]``. ``plan.pypi_url`` and ``plan.allow_pypi_conflict`` carry the
    command's ``--pypi-url`` and ``--allow-pypi-conflict``.

    Runs :func:`pagesindex.checks.pypi.pre_publish_check` with every installable version the
    project will have once this release is added; ``higher`` raises
    :class:`~pagesindex.checks.pypi.PyPIConflict` unless ``--allow-pypi-conflict``; the result
    is stored in ``project.extra["pypi"]`` (an ``unknown`` never overwrites a known answer).
    """
    from .checks.pypi import installable_versions, pre_publish_check as check, resolve_pypi_url, should_record

    url = resolve_pypi_url(plan.pypi_url, index.config.pypi_url)
    existing = index.load_project(plan.index_name)
    versions = installable_versions(existing) if existing else []
    new_version = str(plan.collected.version)
    if new_version not in versions:
        versions.append(new_version)
    result = check(plan.index_name, versions, url, plan.allow_pypi_conflict)
    previous = existing.extra.get("pypi") if existing else None
    if should_record(previous, result):
        plan.project_extra["pypi"] = result.record()
    _log(f"PyPI check ({url}): {result.status}" + (f" - {result.note}" if result.note else ""))


def _log(line: str) -> None:
    console.print(line, markup=False)


def _publish(index: Index, plan: Plan) -> None:
    """Write the plan (under the index lock) and print what was done."""
    from .sources.collect import GIT_LINK

    collected = plan.collected
    repo = collected.repository
    version = str(collected.version)
    with index.lock():
        if collected.source == GIT_LINK:
            changed = index.add_git_release(
                plan.index_name,
                version,
                git={"url": repo.html_url, "tag": collected.tag},
                display_name=plan.display_name,
                summary=plan.summary,
                author=plan.author,
                homepage=plan.homepage,
                project_extra=plan.project_extra,
            )
            result = None
        else:
            release_extra: Dict[str, Any] = {"source": collected.source}
            if collected.readme is not None:
                release_extra["readme"] = collected.readme
            result = index.add_files(
                collected.files,
                summary=plan.summary,
                author=plan.author,
                homepage=plan.homepage,
                project_extra=plan.project_extra,
                release_extra=release_extra,
                provenance=plan.provenance,
            )
    for name, reason in collected.ignored:
        console.print(f"ignored   {name}  ({reason})", markup=False)
    for f in collected.checked:
        console.print(f"checked   {f.filename}  version {f.version}  sha256={f.sha256}  (not hosted: {repo.visibility} repository)", markup=False)
    if result is None:
        console.print(
            f"git link  {plan.index_name} {version}: {repo.visibility} repository {repo.full_name}, tag {collected.tag}; "
            f"no files hosted (index policy visibility = {index.config.visibility!r})",
            markup=False,
        )
        console.print(f"install   pip install \"{plan.index_name} @ git+{repo.html_url}@{collected.tag}\"", markup=False)
        console.print(f"{'recorded' if changed else 'unchanged'} {plan.index_name} {version} (git link only)", markup=False)
        return
    for f in result.added:
        console.print(f"added     {f.filename}  version {version}  sha256={f.sha256}", markup=False)
    for f in result.unchanged:
        console.print(f"unchanged {f.filename}  sha256={f.sha256}  (already on the index)", markup=False)
    for name, sha256 in collected.known:
        console.print(f"unchanged {name}  sha256={sha256}  (already on the index; the API digest matches, not downloaded)", markup=False)
    source = "release assets" if collected.source == "release-assets" else "a build from source at the tag"
    console.print(
        f"{plan.index_name} {version} from {source} of {repo.full_name} ({repo.visibility}), tag {collected.tag}: "
        f"{len(result.added)} added, {len(result.unchanged) + len(collected.known)} unchanged",
        markup=False,
    )


def _run(
    index: Index,
    config: GitHubConfig,
    full_name: str,
    *,
    index_name: str,
    display_name: str,
    files_name: str,
    version: str,
    rename_to: Optional[str],
    summary: Optional[str],
    author: Optional[str],
    pypi_url: Optional[str],
    allow_pypi_conflict: bool,
    provenance: Optional[Dict[str, Any]] = None,
    dist: Optional[Path] = None,
    tree: Optional[Path] = None,
) -> Optional[Collected]:
    """Collect the release and publish it; see :func:`collect_release`.

    ``dist``: take the files built from source from this folder instead of building (the build
    ran elsewhere, in a job without secrets); they are inspected and checked like release
    assets. ``tree``: only clone the repository at the tag into this folder when a build is
    needed, and return without writing anything.
    """
    import tempfile

    from .sources.collect import collect_release

    with make_client(config) as client, tempfile.TemporaryDirectory(prefix="pagesindex-") as tmp:
        repo = client.repository(full_name)
        host = index.config.visibility == "private" or repo.is_public
        _log(f"repository {repo.full_name} ({repo.visibility}); files {'hosted' if host else 'not hosted (git link)'}")
        known: Dict[str, str] = {}
        existing = index.load_project(index_name)
        if existing is not None:
            known = {f.filename: f.sha256 for f in existing.all_files()}
        collected = collect_release(
            client, repo, files_name, version, Path(tmp), host_files=host, rename_to=rename_to, log=_log, known=known,
            build=_builder(index, dist, tree), max_file_bytes=index.config.storage.max_file_bytes,
        )
        if tree is not None:
            return collected
        project_extra: Dict[str, Any] = {
            "repository": {"url": repo.html_url, "full_name": repo.full_name, "visibility": repo.visibility}
        }
        if rename_to is not None:
            project_extra["renamed_from"] = normalize_name(files_name)
        if provenance:
            project_extra["provenance"] = dict(provenance)
        plan = Plan(
            index_name=index_name,
            display_name=display_name,
            collected=collected,
            summary=summary,
            author=author,
            homepage=repo.html_url,
            project_extra=project_extra,
            pypi_url=pypi_url,
            allow_pypi_conflict=allow_pypi_conflict,
        )
        verify_provenance(index, plan)
        pre_publish_check(index, plan)
        _publish(index, plan)
    return None


def _builder(index: Index, dist: Optional[Path], tree: Optional[Path]):
    """The ``build`` callable for :func:`collect_release`: sandboxed build, ``--dist`` or clone only."""
    import functools
    import shutil

    from .sources import sandbox
    from .sources.source_build import SourceBuildError, build_from_tag, clone_at_tag

    if tree is not None:
        def clone_only(clone_url, tag, workdir, *, web_url=None, token=None):
            clone_at_tag(clone_url, tag, Path(workdir) / "clone", web_url=web_url, token=token)
            sandbox.copy_tree(Path(workdir) / "clone", tree)
            return []

        return clone_only
    if dist is not None:
        def from_dist(clone_url, tag, workdir, *, web_url=None, token=None):
            files = sorted(p for p in dist.iterdir() if p.is_file() and not p.is_symlink()) if dist.is_dir() else []
            if not files:
                raise SourceBuildError(f"the release {tag} has no files and --dist {str(dist)!r} holds none built from source")
            out = Path(workdir) / "dist"
            out.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copyfile(f, out / f.name)
                _log(f"taking {f.name} from --dist (built from source at {tag} elsewhere; checked as any release asset)")
            return sorted(out.iterdir())

        return from_dist
    return functools.partial(build_from_tag, hide=(index.root,))


def _dist_option(f):
    return click.option(
        "--dist", "dist", default=None, metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
        help="When the release has no files, take the files built from source from DIR instead of building here.",
    )(f)


def _provenance_options(f):
    f = click.option("--require-provenance/--no-require-provenance", default=None,
                     help="Record that the project's files must (not) have verified provenance (PEP 740).")(f)
    f = click.option("--publisher", default=None,
                     help="Expected signer of the files: github:OWNER/REPO[:WORKFLOW] or gitlab:NAMESPACE/PROJECT[:CI_FILE] "
                          "(default: what the record expects, else the repository itself); recorded.")(f)
    return f


def _provenance_settings(publisher: Optional[str], required: Optional[bool]) -> Dict[str, Any]:
    """``project.extra["provenance"]`` changes asked for on the command line (checked here)."""
    from .attestations import Publisher

    out: Dict[str, Any] = {}
    if publisher is not None:
        out["publisher"] = str(Publisher.parse(publisher, "--publisher"))
    if required is not None:
        out["required"] = required
    return out


def _pypi_options(f):
    f = click.option("--allow-pypi-conflict", is_flag=True, help="Publish even when PyPI has the name (see README).")(f)
    f = click.option("--pypi-url", default=None, metavar="URL", help="PyPI to check for the name (default https://pypi.org).")(f)
    return f


@main.command()
@click.argument("name")
@click.argument("version")
@click.option("--author", required=True, help="Author shown on the project page.")
@click.option("--summary", required=True, help="One-line description shown on the pages.")
@click.option("--homepage", required=True, metavar="URL", help="The GitHub repository: https://github.com/ORG/REPO.")
@click.option("--as", "as_name", default=None, metavar="DIST_NAME", help="Register the wheels under this project name instead.")
@_pypi_options
@_provenance_options
@_dist_option
@click.pass_context
def register(
    ctx: click.Context, name: str, version: str, author: str, summary: str, homepage: str,
    as_name: Optional[str], pypi_url: Optional[str], allow_pypi_conflict: bool,
    publisher: Optional[str], require_provenance: Optional[bool], dist: Optional[Path],
) -> None:
    """Register project NAME from the GitHub release VERSION of the repository at --homepage."""
    files_name = normalize_name(name)
    index_name = check_project_name(as_name if as_name is not None else name, "--as" if as_name is not None else "NAME")
    if as_name is not None and index_name == files_name:
        raise RegisterError(f"invalid --as: {as_name!r} is the same project as {name!r}")
    check_tag(version)
    author = _one_line(author, "--author")
    summary = _one_line(summary, "--summary")
    from .github_api import GitHubConfig

    config = GitHubConfig.from_env()
    full_name = config.repository_from_url(homepage)
    index = open_index(ctx)
    existing = index.load_project(index_name)
    if existing is not None:
        recorded = (existing.extra.get("repository") or {}).get("full_name")
        if recorded and recorded.lower() != full_name.lower():
            raise RegisterError(
                f"project {index_name!r} is already registered from {recorded}, not {full_name}; delete it first or use update"
            )
    _run(
        index, config, full_name,
        index_name=index_name,
        display_name=as_name if as_name is not None else name,
        files_name=files_name,
        version=version,
        rename_to=as_name,
        summary=summary,
        author=author,
        pypi_url=pypi_url,
        allow_pypi_conflict=allow_pypi_conflict,
        provenance=_provenance_settings(publisher, require_provenance),
        dist=dist,
    )


@main.command()
@click.argument("name")
@click.argument("version")
@_pypi_options
@_provenance_options
@_dist_option
@click.pass_context
def update(ctx: click.Context, name: str, version: str, pypi_url: Optional[str], allow_pypi_conflict: bool,
           publisher: Optional[str], require_provenance: Optional[bool], dist: Optional[Path]) -> None:
    """Add release VERSION of registered project NAME from its GitHub repository.

    A release already on the index gets only the files that are new in the GitHub release;
    existing files and their hashes stay as they are.
    """
    from .github_api import GitHubConfig

    normalize_name(name)
    check_tag(version)
    index = open_index(ctx)
    project = index.get_project(name)
    config = GitHubConfig.from_env()
    url = (project.extra.get("repository") or {}).get("url") or project.homepage
    if not url:
        raise RegisterError(f"project {project.name!r} has no GitHub repository recorded; register it first")
    try:
        full_name = config.repository_from_url(url)
    except PagesIndexError:
        if (project.extra.get("repository") or {}).get("url"):
            raise RegisterError(
                f"project {project.name!r}: its repository URL {url!r} is not on {config.web_url}; register it again"
            ) from None
        raise RegisterError(
            f"project {project.name!r} was not registered from GitHub and its homepage {url!r} is not a repository "
            f"on {config.web_url}: add its files with 'pagesindex add', or register it"
        ) from None
    renamed_from = project.extra.get("renamed_from")
    _run(
        index, config, full_name,
        index_name=project.normalized_name,
        display_name=project.name,
        files_name=renamed_from or project.normalized_name,
        version=version,
        rename_to=project.name if renamed_from else None,
        summary=None,
        author=None,
        pypi_url=pypi_url,
        allow_pypi_conflict=allow_pypi_conflict,
        provenance=_provenance_settings(publisher, require_provenance),
        dist=dist,
    )


@main.command()
@click.argument("name")
@click.option("--version", "version", default=None, help="Delete only this release (a tag such as v1.2.3 works).")
@click.pass_context
def delete(ctx: click.Context, name: str, version: Optional[str]) -> None:
    """Delete project NAME from the index, or only its release --version, with the files."""
    normalize_name(name)
    parsed = str(version_from_tag(check_tag(version))) if version is not None else None
    index = open_index(ctx)
    project = index.get_project(name)
    if parsed is not None:
        release = project.release(parsed)
        if release is None:
            raise RegisterError(f"project {project.name!r} has no release {version!r}")
        git_only = not release.files
    with index.lock():
        removed = index.remove(name, parsed)
    for filename in removed:
        console.print(f"deleted   {filename}", markup=False)
    if parsed is None:
        console.print(f"deleted project {project.normalized_name}: {_plural(len(project.releases), 'release')}, {_plural(len(removed), 'file')}", markup=False)
    else:
        note = " (git link only)" if git_only else ""
        console.print(f"deleted release {project.normalized_name} {parsed}{note}: {_plural(len(removed), 'file')}", markup=False)


def _repository_of(index: Index, config: GitHubConfig, name: str, homepage: Optional[str]) -> str:
    if homepage is not None:
        return config.repository_from_url(homepage)
    project = index.get_project(name)
    url = (project.extra.get("repository") or {}).get("url") or project.homepage
    if not url:
        raise RegisterError(f"project {project.name!r} has no GitHub repository recorded; give --homepage")
    return config.repository_from_url(url)


@main.command("source-tree")
@click.argument("name")
@click.argument("version")
@click.option("--out", "out", required=True, metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to clone into (must not exist); left absent when no build is needed.")
@click.option("--homepage", default=None, metavar="URL", help="The GitHub repository (default: the project's record).")
@click.pass_context
def source_tree(ctx: click.Context, name: str, version: str, out: Path, homepage: Optional[str]) -> None:
    """Clone the repository at tag VERSION into --out when that release must be built from source.

    Nothing is built and nothing of the index is written: the tree (history kept, ``.git/config``
    without remote or credentials) is for ``pagesindex build-source`` in a job without secrets.
    When the release has files, or is only a git link, --out is left absent.
    """
    from .sources.collect import BUILT_FROM_TAG
    from .github_api import GitHubConfig

    files_name = normalize_name(name)
    check_tag(version)
    if out.exists() or out.is_symlink():
        raise RegisterError(f"invalid --out: {str(out)!r} already exists")
    config = GitHubConfig.from_env()
    index = open_index(ctx)
    full_name = _repository_of(index, config, files_name, homepage)
    existing = index.load_project(files_name)
    if existing is not None and existing.extra.get("renamed_from"):
        files_name = existing.extra["renamed_from"]
    collected = _run(
        index, config, full_name, index_name=files_name, display_name=name, files_name=files_name, version=version,
        rename_to=None, summary=None, author=None, pypi_url=None, allow_pypi_conflict=False, tree=out,
    )
    if collected is not None and collected.source == BUILT_FROM_TAG:
        console.print(f"source tree of {full_name} at {collected.tag} in {out} (build it with pagesindex build-source)", markup=False)
    else:
        console.print(f"no build from source needed for {full_name} {version}: nothing written", markup=False)


@main.command("build-source")
@click.argument("source", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the built wheel and sdist.")
def build_source(source: Path, out: Path) -> None:
    """Build the sdist and wheel of the source tree SOURCE into --out (sandboxed; writes no index).

    The files are not checked here: ``register``/``update --dist`` checks them like release assets.
    """
    from .sources.source_build import build_distributions

    if not source.is_dir():
        raise RegisterError(f"invalid SOURCE: {str(source)!r} is not a folder")
    for path in build_distributions(source, out, hide=(Path.cwd(),)):
        console.print(f"built     {path.name}", markup=False)


__all__ = ["Plan", "RESERVED_NAMES", "check_project_name", "pre_publish_check"]
