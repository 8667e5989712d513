"""Moving an index's distribution files to an object store, and the store's staged files.

``pagesindex storage migrate --to KIND`` (issue 15, item 5) and ``pagesindex storage cleanup``
(item 3). Both work through the :class:`~pagesindex.stores.Store` interface only, so they serve
every object store kind.

Old URLs after a move. GitHub Pages cannot redirect a file URL at the HTTP level (a meta refresh
page is not a file pip can install), so an old link ``packages/<name>/<file>`` keeps working only
if the site still serves those bytes at that path. A move therefore freezes the files it finds:
they stay committed under ``packages/`` as the *legacy set*, named per project in
``project.extra["legacy-files"]``, and the build keeps placing them (and the old-folder aliases of
:func:`pagesindex.render.project_aliases`) at their old paths. Every file is also copied to the
store, and the API pages link the store's URL for every file, legacy or new; a file added after
the move goes only to the store. The legacy set never grows (``add`` with an object store never
writes under ``packages/``) and shrinks when a release is removed; it was within GitHub's limits
when it was moved, so it stays within them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from .errors import IndexStateError
from .inspect import hash_file, read_recorded_wheel_metadata
from .model import WHEEL, Project
from .state import CONFIG_FILE, IndexConfig, Index, _toml_str, atomic_write, cached_core_metadata
from .stores import KINDS, StorageConfig, open_store, parse_storage

#: Key of ``project.extra``: filenames of the project kept under ``packages/<name>/`` after a move
#: to an object store, served at their old URLs (see the module docstring).
LEGACY_KEY = "legacy-files"

#: Settings of ``[storage]`` in the order ``migrate`` writes them.
_ORDER = ("kind", "repository", "bucket", "prefix", "staging-prefix", "endpoint-url", "region", "public-url")


def legacy_files(project: Project) -> List[str]:
    """The recorded filenames of ``project`` in its legacy set (``extra["legacy-files"]``),
    sorted; names no longer recorded (a removed release) are left out. Raises
    :class:`~pagesindex.errors.IndexStateError` when the value is not a list of filenames."""
    raw = project.extra.get(LEGACY_KEY) or []
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise IndexStateError(f"project {project.name!r}: extra.{LEGACY_KEY} must be a list of filenames")
    recorded = {f.filename for f in project.all_files()}
    return sorted(n for n in set(raw) if n in recorded)


@dataclass
class MovePlan:
    """What a move does: ``files`` are ``(project, DistributionFile, path, metadata bytes or None)``
    to copy to the store; ``legacy`` the new ``extra["legacy-files"]`` per normalized name."""

    target: StorageConfig
    table: Dict[str, Any]
    files: List[tuple] = field(default_factory=list)
    legacy: Dict[str, List[str]] = field(default_factory=dict)
    config_text: str = ""


def storage_table_text(table: Dict[str, Any]) -> str:
    """``[storage]`` as TOML text, keys in a fixed order (values are strings)."""
    lines = ["[storage]"]
    for key in sorted(table, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER), k)):
        lines.append(f"{key} = {_toml_str(str(table[key]))}")
    return "\n".join(lines) + "\n"


def replace_storage_table(text: str, table: Dict[str, Any]) -> str:
    """``index.toml`` text with its ``[storage]`` table replaced by ``table`` (appended when
    absent); other lines, comments included, are kept as they are."""
    lines = text.splitlines(keepends=True)
    out: List[str] = []
    inside = False
    done = False
    for line in lines:
        head = line.strip()
        if head.startswith("[") and not head.startswith("[["):
            if inside:
                inside = False
            if head.split("#", 1)[0].strip() == "[storage]":
                inside = True
                if not done:
                    out.append(storage_table_text(table))
                    done = True
                continue
        if not inside:
            out.append(line)
    if not done:
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append("\n" + storage_table_text(table))
    return "".join(out)


def target_table(index: Index, kind: str, options: Dict[str, Optional[str]]) -> Dict[str, Any]:
    """The ``[storage]`` table to move to: ``options`` (``bucket``, ``public-url``...) when any
    is given, else the index's own ``[storage]`` when it already names ``kind``. Raises
    :class:`~pagesindex.errors.IndexStateError` for an unknown kind, no settings, or a table
    that :func:`~pagesindex.stores.parse_storage` refuses (one line naming the key)."""
    if kind not in KINDS or kind == "git":
        raise IndexStateError(f"--to must be an object store kind ({', '.join(k for k in KINDS if k != 'git')}), not {kind!r}")
    given = {k: v for k, v in options.items() if v is not None}
    current = index.config.storage
    if not given and kind == "github-release" and current.kind != kind:
        # The default repository (GITHUB_REPOSITORY in Actions) is written out, so that the
        # index names its store outside Actions too.
        try:
            given = {"repository": parse_storage({"kind": kind}, "storage migrate").repository}
        except IndexStateError as exc:
            if "outside GitHub Actions" not in str(exc):
                raise
            raise IndexStateError(
                "storage migrate --to github-release: pass --repository ORG/REPO (GITHUB_REPOSITORY, its default, "
                "is set in GitHub Actions only)"
            ) from None
    if not given:
        if current.kind != kind:
            raise IndexStateError(
                f"storage migrate --to {kind}: no settings given and {CONFIG_FILE} has storage.kind {current.kind!r} "
                f"(pass --bucket and --public-url, see 'pagesindex storage migrate --help')"
            )
        import sys

        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        raw = tomllib.loads((index.root / CONFIG_FILE).read_text(encoding="utf-8")).get("storage") or {}
        return dict(raw)
    table = {"kind": kind, **given}
    parse_storage(table, "storage migrate")
    return table


def plan_move(index: Index, table: Dict[str, Any]) -> MovePlan:
    """Check everything a move needs before anything is written or uploaded: the target settings,
    that the index is not on another object store, and every recorded file under ``packages/``
    (present, with its recorded size and sha256, and a wheel's core metadata with its recorded
    hash). Raises :class:`~pagesindex.errors.PagesIndexError` (one line naming the bad value)."""
    target = parse_storage(table, "storage migrate")
    current = index.config.storage
    if current.is_object_store and current != target:
        raise IndexStateError(
            f"{CONFIG_FILE}: the index already uses storage.kind {current.kind!r} with other settings; "
            "moving from one object store to another is not supported"
        )
    text = (index.root / CONFIG_FILE).read_text(encoding="utf-8")
    new_text = replace_storage_table(text, table)
    if IndexConfig.from_toml(new_text).storage != target:  # a table written in another form
        raise IndexStateError(f"{CONFIG_FILE}: could not replace its [storage] table; write it as a plain [storage] table")
    plan = MovePlan(target=target, table=table, config_text=new_text)
    bound = target.max_file_bytes
    for name in index.project_names():
        project = index.get_project(name)
        legacy = set(legacy_files(project))
        for f in project.all_files():
            path = index.file_path(name, f.filename)
            if not path.is_file():
                if f.filename in legacy or not current.is_object_store:
                    why = f"listed in extra.{LEGACY_KEY}" if f.filename in legacy else f"recorded in projects/{name}.json"
                    raise IndexStateError(
                        f"packages/{name}/{f.filename}: missing, but {why} "
                        f"(restore it with 'git checkout -- packages/{name}/{f.filename}', then migrate)"
                    )
                continue  # added with the object store: already there
            if bound is not None and f.size > bound:
                raise IndexStateError(f"packages/{name}/{f.filename}: {f.size} bytes is over the store's per-file limit of {bound} bytes")
            digest, size = hash_file(path)
            if (digest, size) != (f.sha256, f.size):
                raise IndexStateError(
                    f"packages/{name}/{f.filename}: size {size} / sha256 {digest[:12]}… differ from the record "
                    f"({f.size} / {f.sha256[:12]}…); restore it with 'git checkout', then migrate"
                )
            metadata = None
            if f.kind == WHEEL and f.core_metadata_sha256:
                metadata = cached_core_metadata(index.root, f.core_metadata_sha256) or read_recorded_wheel_metadata(path, f.filename)
                if hashlib.sha256(metadata).hexdigest() != f.core_metadata_sha256:
                    raise IndexStateError(f"packages/{name}/{f.filename}: METADATA differs from the recorded core-metadata hash")
            plan.files.append((project, f, path, metadata))
            legacy.add(f.filename)
        if legacy:
            plan.legacy[name] = sorted(legacy)
    return plan


def migrate_storage(
    index: Index,
    table: Dict[str, Any],
    progress: Optional[Callable[[str, str], None]] = None,
    store: Any = None,
) -> Dict[str, int]:
    """Move the index's files to the object store ``table`` describes (``pagesindex storage
    migrate``). Call it with :meth:`Index.lock` held.

    Steps, each safe to interrupt and repeat: (1) :func:`plan_move` checks everything, writing
    nothing, and the store checks it can hold every file (``Store.accepts_all``: with
    github-release, names GitHub would rename and releases over 1,000 assets); (2) every file under ``packages/`` and its wheel's core metadata is staged in the
    store (``Store.stage`` / ``stage_bytes``: a file already staged with these bytes is not
    sent again, so a second run resumes where a killed one stopped); (3) the core metadata is
    written to ``metadata/<sha256>``, each project's legacy set to its record, and, last, the
    ``[storage]`` table to ``index.toml`` (an atomic rename: the move's commit point). The
    staged files become public with ``pagesindex publish`` (the deploy workflow runs it after
    the change is merged). ``progress(filename, result)`` gets "staged" per file. Returns counts
    ``staged``, ``records`` (records changed) and ``config`` (1 when ``index.toml`` changed).
    """
    plan = plan_move(index, table)
    if store is None:
        store = open_store(plan.target)
    # Every file the store would refuse (a name GitHub renames, a full release) stops the move
    # before the first upload.
    store.accepts_all([(p.normalized_name, f.filename, f.size, metadata is not None) for p, f, _path, metadata in plan.files])
    counts = {"staged": 0, "records": 0, "config": 0}
    for project, f, path, metadata in plan.files:
        store.stage(path, f.filename, f.sha256, f.size)
        if metadata is not None:
            store.stage_bytes(metadata, f.filename + ".metadata", f.core_metadata_sha256)
        counts["staged"] += 1
        if progress is not None:
            progress(f.filename, "staged")
    for _project, f, _path, metadata in plan.files:
        if metadata is None:
            continue
        target = index.inside(index.metadata_dir / f.core_metadata_sha256)
        if not target.exists() or target.read_bytes() != metadata:
            target.parent.mkdir(exist_ok=True)
            atomic_write(target, metadata)
    changed = []
    for name, names in sorted(plan.legacy.items()):
        project = index.get_project(name)
        if project.extra.get(LEGACY_KEY) != names:
            updated = project.copy()
            updated.extra[LEGACY_KEY] = names
            changed.append(updated)
    counts["records"] = len(index._save_projects(changed))
    config = index.root / CONFIG_FILE
    if config.read_text(encoding="utf-8") != plan.config_text:
        atomic_write(config, plan.config_text.encode("utf-8"))
        counts["config"] = 1
    return counts


def staged_names(projects: Sequence[Project]) -> "set[tuple]":
    """``(sha256, filename)`` of every staged object that ``projects`` need: each recorded file,
    and each wheel's PEP 658 sidecar (``<filename>.metadata`` under its core-metadata hash)."""
    names = set()
    for project in projects:
        for f in project.all_files():
            names.add((f.sha256, f.filename))
            if f.kind == WHEEL and f.core_metadata_sha256:
                names.add((f.core_metadata_sha256, f.filename + ".metadata"))
    return names


def read_other_state(folder: Path) -> List[Project]:
    """The records of another state of the index (an open pull request's ``projects/``):
    ``folder`` is an index folder holding ``projects/``, or that ``projects/`` folder itself.
    Each record is checked as the index's own are; raises
    :class:`~pagesindex.errors.IndexStateError` naming a bad one or a missing folder."""
    folder = Path(folder)
    records = folder / "projects" if (folder / "projects").is_dir() else folder
    if not records.is_dir():
        raise IndexStateError(f"--keep-state {str(folder)!r}: not a folder of project records (projects/*.json)")
    projects = []
    for path in sorted(records.glob("*.json")):
        if path.is_symlink() or not path.is_file():
            raise IndexStateError(f"--keep-state: {str(path)!r} is not a regular file")
        projects.append(Index._parse_record(path, path.read_bytes()))
    return projects


def orphaned_staged(index: Index, keep_states: Sequence[Path] = (), older_than: float = 0.0,
                    now: Optional[float] = None, keep_projects: Sequence[Project] = ()) -> List[Any]:
    """The staged objects (:class:`~pagesindex.stores.StagedFile`) that no record of the index's
    state, nor of any ``keep_states`` folder (:func:`read_other_state`), nor any of
    ``keep_projects`` (the records open pull requests change), names, and that were
    staged more than ``older_than`` seconds ago (a change being prepared right now has staged
    files that no pull request names yet). Sorted by filename. Raises what the store raises."""
    import time

    if not index.config.storage.is_object_store:
        return []
    wanted = staged_names(index.projects()) | staged_names(keep_projects)
    for folder in keep_states:
        wanted |= staged_names(read_other_state(folder))
    now = time.time() if now is None else now
    return sorted(
        (s for s in index.store.staged() if (s.sha256, s.filename) not in wanted and now - s.modified >= older_than),
        key=lambda s: (s.filename, s.sha256),
    )


def cleanup_staged(index: Index, keep_states: Sequence[Path] = (), older_than: float = 0.0, *,
                   dry_run: bool = False, progress: Optional[Callable[[Any], None]] = None,
                   keep_projects: Sequence[Project] = ()) -> List[Any]:
    """Delete the orphaned staged objects (:func:`orphaned_staged`): those of a pull request
    closed without merging, or of an interrupted ``add``. Staged keys are by content
    (``<sha256>/<filename>``), so an object is kept whenever any state given still names those
    bytes under that name: the committed state, and each open pull request's (``keep_states``).
    Every record is read before anything is deleted. Returns the objects deleted (or, with
    ``dry_run``, that would be)."""
    orphans = orphaned_staged(index, keep_states, older_than, keep_projects=keep_projects)
    for staged in orphans:
        if not dry_run:
            index.store.unstage(staged.sha256, staged.filename)
        if progress is not None:
            progress(staged)
    return orphans


__all__ = ["LEGACY_KEY", "MovePlan", "legacy_files", "migrate_storage", "plan_move", "replace_storage_table", "target_table",
           "cleanup_staged", "orphaned_staged", "read_other_state", "staged_names"]
