"""Build a project's sdist and wheel from its git repository at a release tag.

``git clone`` fetches the whole history (tools such as setuptools-scm and hatch-vcs read the
version from git tags, so a shallow clone would give a wrong version), the tag is checked out
detached, and ``python -m build`` (PyPA build, isolated: the build backend is installed in a
fresh environment) makes the sdist and then the wheel from that sdist. The built files' versions
are checked by the caller against the tag (see :mod:`pagesindex.sources.collect`).

The build runs the repository's own build code, so it runs in the sandbox of
:mod:`pagesindex.sources.sandbox` (new PID and mount namespaces, home folders, the index and
``/tmp`` hidden, no capabilities, an environment built from scratch) on a copy of the tree whose
``.git/config`` holds no remote and no credential: no token of this process is within its reach.
For a clone over https from the configured GitHub host, the token (when there is one) reaches
git as an ``http.<web url>/.extraheader`` setting passed through ``GIT_CONFIG_*`` environment
variables, so it is neither on a command line nor in a URL nor in ``.git/config``.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..changes import visible_lines
from ..errors import PagesIndexError
from . import sandbox

#: How many of the build's last output lines an error shows.
TAIL_LINES = 25
_SECRET_VARS = ("GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "PAGESINDEX_GITHUB_TOKEN")


class SourceBuildError(PagesIndexError):
    """Cloning the repository or building the distribution files failed."""


def _clean_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARS and not k.startswith("GIT_CONFIG_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a build's output, as shown in errors and so in workflow logs.

    The output is the build code's (hostile): each line is indented with ``  | `` so that none
    starts with ``::``, which the GitHub Actions runner reads as a workflow command (``::error``
    forges an annotation on the run page, ``::add-mask::`` hides text; "Workflow commands for
    GitHub Actions"), and escapes and invisible characters are shown as ``<U+XXXX>``
    (:func:`pagesindex.changes.visible_lines`)."""
    shown = visible_lines(text).strip().splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in shown)


def _run(cmd: Sequence[str], *, env: Dict[str, str], cwd: Optional[Path] = None, timeout: float, what: str,
         sandboxed: bool = False) -> str:
    try:
        proc = subprocess.run(
            list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise SourceBuildError(f"{what}: {cmd[0]!r} is not installed") from None
    except subprocess.TimeoutExpired as exc:
        out = exc.output if isinstance(exc.output, str) else (exc.output or b"").decode("utf-8", "replace")
        raise SourceBuildError(f"{what}: timed out after {timeout:g} s; last lines:\n{_tail(out)}") from None
    failure = sandbox.setup_failure(proc.returncode, proc.stdout) if sandboxed else None
    if failure is not None:
        raise failure
    if proc.returncode != 0:
        raise SourceBuildError(f"{what} failed (exit status {proc.returncode}); last lines:\n{_tail(proc.stdout)}")
    return proc.stdout


def git_auth_env(clone_url: str, web_url: Optional[str], token: Optional[str]) -> Dict[str, str]:
    """Environment that gives git the token for ``web_url`` only (empty when not applicable)."""
    if not token or not web_url or not clone_url.startswith(web_url.rstrip("/") + "/"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{web_url.rstrip('/')}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def clone_at_tag(
    clone_url: str,
    tag: str,
    dest: Path,
    *,
    web_url: Optional[str] = None,
    token: Optional[str] = None,
    timeout: float = 900.0,
) -> Path:
    """Clone ``clone_url`` into ``dest`` with full history and check out ``tag`` (detached).

    Raises :class:`SourceBuildError` when the clone fails or the repository has no such tag.
    """
    dest = Path(dest)
    env = _clean_env(git_auth_env(clone_url, web_url, token))
    _run(["git", "clone", "--quiet", "--no-checkout", "--", clone_url, str(dest)], env=env, timeout=timeout,
         what=f"git clone of {clone_url}")
    env = _clean_env()
    try:
        sha = _run(["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}"], env=env, cwd=dest,
                   timeout=60, what="git rev-parse").strip()
    except SourceBuildError:
        raise SourceBuildError(f"the repository {clone_url} has no tag {tag!r}") from None
    _run(["git", "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha], env=env, cwd=dest,
         timeout=300, what=f"git checkout of {tag}")
    return dest


def build_distributions(
    source: Path, outdir: Path, *, python: Optional[str] = None, timeout: float = 1800.0, hide: Sequence[Path] = (),
) -> List[Path]:
    """Run ``python -m build`` (isolated: sdist, then wheel from it) on ``source`` into ``outdir``.

    The build runs in the sandbox of :mod:`pagesindex.sources.sandbox` on a copy of ``source``;
    ``hide`` names more folders it must not see (the index). Returns the files made, sorted.
    Raises :class:`SourceBuildError` with the build's last :data:`TAIL_LINES` lines of output
    when it fails, or when the folder is not a Python project;
    :class:`~pagesindex.sources.sandbox.SandboxUnavailable` when no sandbox can be made (and
    ``PAGESINDEX_BUILD_SANDBOX`` is not ``off``).
    """
    source = Path(source)
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise SourceBuildError(f"no pyproject.toml or setup.py at the top of the repository ({source.name})")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    python = python or sys.executable
    if not sandbox.require():
        env = _clean_env({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        _run([python, "-m", "build", "--outdir", str(outdir), str(source)], env=env, timeout=timeout, what="python -m build")
    else:
        with tempfile.TemporaryDirectory(prefix="pagesindex-sandbox-") as tmp:
            box = Path(tmp)
            src = sandbox.copy_tree(source, box / "src")
            dist = box / "dist"
            dist.mkdir()
            sandbox.prepare(src, dist)
            cmd = sandbox.sandboxed_command(
                [python, "-m", "build", "--outdir", f"{sandbox.WORK}/dist", f"{sandbox.WORK}/src"],
                src=src, dist=dist, python=python, hide=hide,
            )
            _run(cmd, env=sandbox.environment(python), timeout=timeout, what="python -m build", sandboxed=True)
            for path in dist.iterdir():
                if path.is_file() and not path.is_symlink():
                    shutil.copyfile(path, outdir / path.name)
    built = sorted(p for p in outdir.iterdir() if p.is_file() and p.name.endswith((".whl", ".tar.gz", ".zip")))
    if not built:
        raise SourceBuildError("python -m build made no wheel or sdist")
    return built


def build_from_tag(
    clone_url: str,
    tag: str,
    workdir: Path,
    *,
    web_url: Optional[str] = None,
    token: Optional[str] = None,
    python: Optional[str] = None,
    hide: Sequence[Path] = (),
) -> List[Path]:
    """Clone at ``tag`` into ``workdir/src`` and build into ``workdir/dist``; return the files.

    The clone (which gets the token) runs here; the build runs sandboxed, see
    :func:`build_distributions`. The sandbox is checked before cloning.
    """
    workdir = Path(workdir)
    sandbox.require()
    src = clone_at_tag(clone_url, tag, workdir / "src", web_url=web_url, token=token)
    return build_distributions(src, workdir / "dist", python=python, hide=hide)


__all__ = ["SourceBuildError", "TAIL_LINES", "build_distributions", "build_from_tag", "clone_at_tag", "git_auth_env"]
