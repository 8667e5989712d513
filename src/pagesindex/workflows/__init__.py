"""The GitHub Actions workflows that run an index, bundled as package data.

The ``*.yml`` files beside this module are the one source of truth: ``pagesindex init`` and
``pagesindex workflows`` copy them, byte for byte, into ``<index>/.github/workflows/``, and the
pagesindex repository (itself an index) keeps identical copies there.

Besides the workflows, an index repository holds ``.github/pagesindex-requirements.txt``, the
pip requirement from which the workflows install pagesindex (written once, then the maintainers'
to edit), and a ``.gitignore`` that keeps built and local files out of commits. Workflow syntax:
https://docs.github.com/en/actions/reference/workflow-syntax-for-github-actions
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

from .. import __version__
from ..state import atomic_write

HERE = Path(__file__).parent
#: Where an index keeps its workflows, relative to the index root.
WORKFLOWS_DIR = Path(".github") / "workflows"
#: Where an index keeps the shell scripts that its workflows run, relative to the index root.
SCRIPTS_DIR = Path(".github") / "scripts"
#: The requirement file the workflows install pagesindex from (``pip install -r``).
REQUIREMENTS_FILE = Path(".github") / "pagesindex-requirements.txt"
#: What a new index installs: pagesindex from its source repository at this version's tag
#: (not from PyPI, where another project could take the name).
DEFAULT_REQUIREMENT = f"pagesindex @ git+https://github.com/mit-kavli-institute/pagesindex@v{__version__}"
#: The workflow a package's own repository uses to trigger ``update`` (documented in README.md).
RELEASE_SNIPPET = HERE / "snippets" / "release-to-index.yml"

GITIGNORE = """\
# Built by `pagesindex build` (GitHub Pages gets it from the deploy workflow, not from git)
/_site/
/.pagesindex.lock
/.pagesindex-writing
# the core metadata of the wheels added, kept for `pagesindex build`; safe to delete
/.pagesindex-cache/
# temporary files of an interrupted pagesindex command (`pagesindex verify` reports them)
.tmp-*
__pycache__/
"""

REQUIREMENTS_TEXT = """\
# The pagesindex that this index's workflows install (`pip install -r` this file).
# Pin it: a tag or a commit of the pagesindex repository.
{requirement}
"""


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, data)
    os.chmod(path, 0o644)  # readable like any checked-out file (the temporary file was 0600)


def bundled_workflows() -> Dict[str, bytes]:
    """``{file name: bytes}`` of every workflow bundled with pagesindex (``*.yml``), sorted by name."""
    return {p.name: p.read_bytes() for p in sorted(HERE.glob("*.yml"))}


def bundled_files() -> Dict[Path, bytes]:
    """``{path relative to the index root: bytes}`` of every bundled workflow and workflow script."""
    files = {WORKFLOWS_DIR / name: data for name, data in bundled_workflows().items()}
    for path in sorted((HERE / "scripts").glob("*.sh")):
        files[SCRIPTS_DIR / path.name] = path.read_bytes()
    return files


def install_workflows(root: Path, *, requirement: Optional[str] = None) -> List[str]:
    """Write the bundled workflows into ``root/.github/workflows/``; return the paths changed.

    Workflow files are replaced when their bytes differ (atomically, one by one); files of other
    names in that folder are left alone. ``.github/pagesindex-requirements.txt`` (with
    ``requirement``, default :data:`DEFAULT_REQUIREMENT`) and ``.gitignore`` are written only when
    absent. Paths are returned relative to ``root``, as POSIX strings.
    """
    root = Path(root)
    changed: List[str] = []
    for rel, data in bundled_files().items():
        target = root / rel
        try:
            if target.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        _write(target, data)
        changed.append(rel.as_posix())
    if not (root / REQUIREMENTS_FILE).exists():
        _write(root / REQUIREMENTS_FILE, REQUIREMENTS_TEXT.format(requirement=requirement or DEFAULT_REQUIREMENT).encode("utf-8"))
        changed.append(REQUIREMENTS_FILE.as_posix())
    changed.extend(install_gitignore(root))
    return changed


def install_gitignore(root: Path) -> List[str]:
    """Write the index's ``.gitignore`` (:data:`GITIGNORE`: the built site, the lock, the cache
    folder, temporary files) unless there is one; returns ``[".gitignore"]`` when written."""
    target = Path(root) / ".gitignore"
    if target.exists():
        return []
    atomic_write(target, GITIGNORE.encode("utf-8"))  # a file of the state: its mode follows the umask
    return [".gitignore"]


def stale_workflows(root: Path) -> List[str]:
    """Bundled workflows that ``root/.github/workflows/`` lacks or holds with other bytes."""
    out = []
    for rel, data in bundled_files().items():
        target = Path(root) / rel
        if not target.is_file() or target.read_bytes() != data:
            out.append(rel.as_posix())
    return out


__all__ = [
    "DEFAULT_REQUIREMENT",
    "RELEASE_SNIPPET",
    "REQUIREMENTS_FILE",
    "install_gitignore",
    "WORKFLOWS_DIR",
    "bundled_files",
    "bundled_workflows",
    "install_workflows",
    "stale_workflows",
]
