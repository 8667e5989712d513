"""What one deploy leaves for the next (issue 17): the verified state of a published site.

A deploy builds the site from a fresh checkout. Rendering and checking every project again on
each merge grows with the index (about three minutes at 10,000 projects); the deploy instead
starts from the site that the last successful deploy run published (its ``github-pages``
artifact) and the state folder that run saved beside it (artifact ``pagesindex-build-state``):

- ``verified.json``, written by ``pagesindex verify --save-state DIR`` only when the site passed:
  for each project the sha256 of its record, its card on the landing page (display name and
  HTML), the names of its runtime dependencies (its pages pin those that are projects of the
  index, so adding or removing a project changes its dependents' pages), and the size of each
  file of the site it owns; the root's files and sizes; the size of each file under
  ``packages/`` and ``provenance/`` of the state; the commit of the checkout, when it is one.
- ``build.manifest``: the build manifest of that site (:func:`pagesindex.render.manifest_path`)
  in one file: its JSON header line (format, fingerprint, root outputs), then every project's
  line, sorted (the build keeps it in shards, :data:`pagesindex.render.MANIFEST_FORMAT`), so that ``pagesindex build --previous-state DIR`` can adopt the restored site
  (:func:`adopt`) and render only what changed.

Why the folder can be trusted: artifacts of a workflow run are written by that run only and
never change afterwards, and the deploy run executes no code of any package (it renders records
and reads wheels as zip files). Nothing of it comes from the ``actions/cache`` entries, which
other jobs of the branch could write. Every value is still checked before use: a state of
another format, pagesindex version or site fingerprint (templates, static files, settings) is
not used, and the site is adopted only when its files and sizes are exactly the ones recorded;
anything else means a full build and a full verify, as without a carried state.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .. import __version__
from ..errors import PagesIndexError
from ..render import (
    MANIFEST_FORMAT,
    _Manifest,
    _shard_of,
    _write_bytes_replace,
    _write_manifest,
    fingerprint,
    is_site_path,
    manifest_path,
    read_regular,
    site_stamp,
)
from ..state import METADATA_DIR, PROVENANCE_DIR, Index

STATE_FORMAT = 1
VERIFIED = "verified.json"
MANIFEST_COPY = "build.manifest"
#: The folders of the state whose files are listed (path and size) in the verified state.
STATE_FOLDERS = ("packages", PROVENANCE_DIR)
#: A state larger than this is not read (about 2.4 KB a project: 24 MB for the 10,000 projects of
#: benchmarks/gen.py, and its build manifest 12 MB).
MAX_STATE_BYTES = 1 << 30


class StateRefused(PagesIndexError):
    """A carried state that cannot be used; the message says why (then everything is checked)."""


def _sizes(value: Any, what: str) -> Dict[str, int]:
    """A map of paths to sizes. The paths are only ever compared with the names a walk of the
    site or the state finds (never opened, never deleted), so only their type is checked: a
    wrong one is a difference, reported as such."""
    if not isinstance(value, dict) or not all(type(v) is int for v in value.values()):
        raise StateRefused(f"{what}: not a map of relative paths to sizes")
    return value


def load_state(folder: Path, index: Index) -> Dict[str, Any]:
    """The verified state saved in ``folder`` for this index, checked; raises
    :class:`StateRefused` when it is missing, malformed, or of another format, pagesindex version
    or fingerprint (:func:`pagesindex.render.fingerprint`: templates, static files, settings)."""
    path = Path(folder) / VERIFIED
    if not os.path.lexists(path):
        raise StateRefused(f"no saved state in {os.fspath(folder)!r} (no {VERIFIED}: 'verify --save-state' writes it)")
    try:
        data = json.loads(read_regular(path, VERIFIED, MAX_STATE_BYTES))
    except PagesIndexError as exc:
        raise StateRefused(str(exc)) from None
    except ValueError as exc:
        raise StateRefused(f"{VERIFIED}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise StateRefused(f"{VERIFIED}: not of format {STATE_FORMAT}")
    if data.get("version") != __version__:
        raise StateRefused(f"{VERIFIED}: saved by pagesindex {data.get('version')!r}, this is {__version__}")
    if data.get("fingerprint") != fingerprint(index):
        raise StateRefused(f"{VERIFIED}: saved for other templates, static files or settings")
    projects = data.get("projects")
    if not isinstance(projects, dict):
        raise StateRefused(f"{VERIFIED}: no projects")
    for name, entry in projects.items():
        if not (isinstance(entry, dict) and is_site_path(name) and "/" not in name
                and isinstance(entry.get("digest"), str) and isinstance(entry.get("name"), str)
                and isinstance(entry.get("card"), str) and isinstance(entry.get("deps"), list)
                and all(isinstance(d, str) for d in entry["deps"])):
            raise StateRefused(f"{VERIFIED}: project {name!r}: malformed entry")
        _sizes(entry.get("outputs"), f"{VERIFIED}: project {name!r}")
    _sizes(data.get("root"), f"{VERIFIED}: root")
    if data.get("commit") is None:  # with a commit, git tells what changed in the state
        _sizes(data.get("state_files"), f"{VERIFIED}: state_files")
    elif not (isinstance(data["commit"], str) and len(data["commit"]) in (40, 64)
                                               and all(c in "0123456789abcdef" for c in data["commit"])):
        raise StateRefused(f"{VERIFIED}: commit is not a commit id")
    return data


def save_state(folder: Path, data: Dict[str, Any]) -> None:
    """Write ``verified.json`` into ``folder`` (made when missing) through a temporary file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write_bytes_replace(folder / VERIFIED,
                         json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")


def save_manifest(index: Index, site: Path, folder: Path) -> bool:
    """Write the build manifest of ``site`` into ``folder`` as one file (``build.manifest``: the
    header line, then every project's line, sorted) when it describes that site (its stamp
    matches), this state (its fingerprint) and every shard is whole; False (nothing written)
    otherwise."""
    manifest = _Manifest(manifest_path(index, site), site)
    if not manifest.valid or manifest.header.get("fingerprint") != fingerprint(index):
        return False
    lines = manifest.load_all()
    if manifest.torn:
        return False
    header = {key: manifest.header[key] for key in ("format", "fingerprint", "root")}
    text = "".join(lines[name] + "\n" for name in sorted(lines))
    Path(folder).mkdir(parents=True, exist_ok=True)
    _write_bytes_replace(Path(folder) / MANIFEST_COPY,
                         json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n" + text.encode("utf-8"))
    return True


def record_digest(index: Index, name: str) -> Optional[str]:
    """The sha256 of the record of the normalized ``name`` (a name :meth:`Index.project_names`
    listed), None when it is not a regular file (never following a link: such a record is then
    checked in full, which reports it)."""
    try:
        return hashlib.sha256(read_regular(index.projects_dir / f"{name}.json", f"projects/{name}.json")).hexdigest()
    except (OSError, PagesIndexError):
        return None


def state_files(index: Index) -> Dict[str, int]:
    """``{path: size}`` of every file under :data:`STATE_FOLDERS` of the state but those named
    ``.*`` (as the full verify; not following links: a link or other special file is listed with
    size -1, so it never equals a file)."""
    found: Dict[str, int] = {}
    root = os.fspath(index.root)
    for top in STATE_FOLDERS:
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        for folder, dirs, names in os.walk(base):
            rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
            for d in list(dirs):
                if os.path.islink(os.path.join(folder, d)):
                    found[f"{rel_folder}/{d}"] = -1
                    dirs.remove(d)
            for n in names:
                if n.startswith("."):
                    continue  # .gitkeep, and temporary files (reported on their own), as verify does
                st = os.lstat(os.path.join(folder, n))
                found[f"{rel_folder}/{n}"] = st.st_size if stat.S_ISREG(st.st_mode) else -1
    return found


def state_owner(rel: str) -> str:
    """The project a path of :func:`state_files` belongs to (``packages/<name>/...``)."""
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 else ""


def git_head(index: Index) -> Optional[str]:
    """The commit checked out in the index folder, when it is the top of a git work tree."""
    if not (index.root / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "-C", os.fspath(index.root), "rev-parse", "--verify", "HEAD"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    head = proc.stdout.strip()
    return head if proc.returncode == 0 and len(head) in (40, 64) else None


def git_changed(index: Index, commit: Optional[str], meanwhile: Optional[Callable[[], None]] = None) -> Tuple[Set[str], Set[str]]:
    """``(paths committed since commit, paths where the work tree differs from HEAD)`` among the
    state's folders (records, files, provenance, core metadata): the second set holds what is
    staged or changed in the work tree (``git diff HEAD``) and every file git does not track
    (``git ls-files --others`` without exclude options: ignored files too, such as ``.tmp-*``).
    Without ``commit`` the first set is empty. Raises :class:`StateRefused` when git cannot tell
    (no git, a shallow clone without that commit). The questions run at once, and ``meanwhile``
    (when given) runs in this process while git works (the deploy's verify lists the site then:
    at 10,000 projects git's look at the work tree and the listing each take about 0.7 s); an
    exception it raises is raised here once the git processes are gone.

    ``git diff HEAD``, not the plumbing ``diff-files``: a build hard-links the distribution files
    into the site, which changes their ctime, and ``diff-files`` names every file whose stat
    differs from git's index; ``git diff`` reads such a file's bytes (and only such a file's) to
    tell, and may refresh git's index (``.git/index``, nothing of the work tree)."""
    folders = ["projects", *STATE_FOLDERS, METADATA_DIR]
    root = os.fspath(index.root)
    diff = ["diff", "--no-renames", "--name-only", "-z", "--no-ext-diff", "--no-textconv", "--no-color", "--no-relative",
            "--ignore-submodules=none"]
    commands = [
        [*diff, "HEAD", "--"],
        ["ls-files", "--others", "-z", "--"],
    ]
    if commit:
        commands.append([*diff, commit, "HEAD", "--"])
    what = f"the checkout with {commit[:12]}" if commit else "the checkout with its HEAD"
    procs: List[subprocess.Popen] = []
    try:
        try:
            for cmd in commands:
                procs.append(subprocess.Popen(["git", "-C", root, *cmd, *folders], stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
        except (OSError, subprocess.SubprocessError) as exc:
            raise StateRefused(f"git cannot compare {what} ({exc})") from None
        if meanwhile is not None:
            meanwhile()
        try:
            outputs = [(proc.communicate(timeout=300)[0], proc.returncode) for proc in procs]
        except (OSError, subprocess.SubprocessError) as exc:
            raise StateRefused(f"git cannot compare {what} ({exc})") from None
    finally:
        for proc in procs:  # none left running (meanwhile failed, or a timeout)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    if any(code != 0 for _out, code in outputs):
        raise StateRefused(f"git cannot compare {what} (not in this clone's history?)")
    paths = [{p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p} for out, _code in outputs]
    return (paths[2] if commit else set()), paths[0] | paths[1]


def clean_head(index: Index, dirty: Optional[Set[str]] = None) -> Optional[str]:
    """The commit checked out, when the state's folders in the work tree are exactly that commit
    (``dirty``: :func:`git_changed`'s second set when already known); else None. A saved state
    records it, so that the next verify asks git what changed instead of reading every record."""
    head = git_head(index)
    if head is None:
        return None
    if dirty is None:
        try:
            dirty = git_changed(index, None)[1]
        except StateRefused:
            return None
    return None if dirty else head


def adopt(index: Index, out: Path, folder: Path) -> Tuple[bool, str]:
    """Let the next build of ``out`` start from the restored site it holds: when ``folder``
    holds a verified state of this version and fingerprint, a build manifest of that
    fingerprint, and ``out`` holds exactly the files of that state with their sizes, the manifest
    is stamped for ``out`` (:func:`pagesindex.render.site_stamp`) and kept where the build looks
    for it. (``out`` holding exactly the files named: their sizes are compared by the verify of
    the deploy.) Returns ``(adopted, what was done or why not)``.

    The check of the files is what keeps the rule that a build never deletes a file it cannot
    name: the manifest names files the build may delete, and it is adopted only for a folder
    whose every file it names. The projects whose pages depend on a project added or removed
    since (they pin their dependencies that are on the index) lose their manifest line, so the
    build renders them again."""
    from .verify import _site_entries

    try:
        state = load_state(folder, index)
    except StateRefused as exc:
        return False, str(exc)
    try:
        data = read_regular(Path(folder) / MANIFEST_COPY, MANIFEST_COPY, MAX_STATE_BYTES)
    except PagesIndexError as exc:
        return False, f"{MANIFEST_COPY}: cannot be read ({exc})"
    head_end = data.find(b"\n") + 1
    try:
        header = json.loads(data[:head_end]) if head_end else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != MANIFEST_FORMAT:
        return False, f"{MANIFEST_COPY}: not a build manifest of format {MANIFEST_FORMAT}"
    if header.get("fingerprint") != fingerprint(index):
        return False, f"{MANIFEST_COPY}: written for other templates, static files or settings"
    if not Path(out).is_dir():
        return False, f"no restored site at {os.fspath(out)!r}"
    expected: Dict[str, int] = dict(state["root"])
    for entry in state["projects"].values():
        expected.update(entry["outputs"])
    # Names only (a listing of each folder, no file opened or stat'ed): the verify that follows
    # compares the sizes too.
    present, others, temporary = _site_entries(Path(out), sizes=False)
    if others or temporary or present.keys() != expected.keys():
        extra = sorted(others + temporary + [rel for rel in present if rel not in expected])
        missing = sorted(rel for rel in expected if rel not in present)
        what = [f"{len(extra)} not in the state, such as {extra[0]!r}"] if extra else []
        what += [f"{len(missing)} of the state missing, such as {missing[0]!r}"] if missing else []
        return False, f"{os.fspath(out)!r} is not the site of the saved state (files: {'; '.join(what)})"
    stamp = site_stamp(Path(out))
    if stamp is None:
        return False, f"{os.fspath(out)!r} has no .nojekyll"
    names = set(index.project_names())
    moved = names ^ set(state["projects"])
    dependents = {n for n, e in state["projects"].items() if n in names and moved & set(e["deps"])}
    # The lines as the build keeps them (see pagesindex.render.MANIFEST_FORMAT); a line that is
    # not one of seven fields, or of a project it does not name, is left out (that project is
    # then rendered again). The dependents' lines are left out so that they are rendered again.
    shards: Dict[str, Dict[str, str]] = {}
    summary = []
    for line in data[head_end:].decode("utf-8", "replace").split("\n"):
        fields = line.split("\t")
        name = fields[0]
        if len(fields) != 7 or not is_site_path(name) or "/" in name or name in dependents:
            continue
        shards.setdefault(_shard_of(name), {})[name] = line
        summary.append("\t".join(fields[:3]))
    path = manifest_path(index, Path(out))
    path.parent.mkdir(parents=True, exist_ok=True)
    new_header = {"format": MANIFEST_FORMAT, "fingerprint": header["fingerprint"],
                  "root": header.get("root") if isinstance(header.get("root"), list) else [], "site": stamp}
    _write_manifest(_Manifest(path, Path(out)), new_header, sorted(summary), shards, rewrite_all=True)
    dependents = sorted(dependents)
    count = len(state["projects"])
    return True, (f"adopted the site of the saved state ({count} project{'' if count == 1 else 's'}"
                  + (f"; {len(dependents)} rendered again for a project added or removed" if dependents else "") + ")")
