"""Run a build from source where the package's code cannot reach a token (issue 13, item 1).

A package's build code (its build backend, ``setup.py``, its build requirements) is chosen by the
package author. Leaving ``GITHUB_TOKEN`` out of its environment is not enough: a child running as
the same user reads ``/proc/<parent pid>/environ`` and ``/proc/<parent pid>/mem``,
``~/.git-credentials`` and the index's ``.git/config``. So the build runs

- in new PID and mount namespaces (``unshare --pid --fork --kill-child --mount --mount-proc``,
  util-linux), so ``/proc`` shows only the build's own processes, never an ancestor; when
  pagesindex does not run as root, in a new user namespace too (``--user --map-root-user``), which
  is what lets an unprivileged user make the others;
- with an empty tmpfs over ``/home``, ``/root``, ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run``,
  ``$HOME``, the current folder and the index (and the folder holding each, unless it is ``/``
  or a system folder), the GitHub runner's folders (:func:`hidden_paths`); the Python
  installation (every mount in it) is bound back read-only, and so is the folder of ``/run``
  that ``/etc/resolv.conf`` links into; any mount step that fails refuses the build;
- on a copy of the source tree whose ``.git/config`` is replaced by a minimal one (the history and
  tags stay, for setuptools-scm and hatch-vcs; no remote, no ``extraheader``, no credential);
- with an environment built from scratch (:data:`PASSED_VARS` only: proxy, certificates and pip's
  index settings, which the build needs to fetch its build requirements);
- through ``setpriv`` with no capabilities, ``no_new_privs`` (sudo and other setuid programs do not
  raise privileges) and, when pagesindex runs as root, as the user ``nobody``.

The network stays reachable: isolated builds install their build requirements with pip.

``PAGESINDEX_BUILD_SANDBOX=off`` builds without this isolation (the build code can then read every
secret of the calling process); any other value but ``auto`` (the default) is an error. When the
sandbox cannot be made (not Linux, no util-linux, user namespaces disabled), the build is refused
with :class:`SandboxUnavailable`. The first process inside is :mod:`pagesindex.sources.sandbox_init`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import PagesIndexError

SETTING = "PAGESINDEX_BUILD_SANDBOX"
#: The only variables the build inherits (besides PATH, HOME, TMPDIR and LANG, which are set).
PASSED_VARS = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_CERT", "PIP_CONSTRAINT",
    "PIP_DEFAULT_TIMEOUT", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_CACHE_DIR",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SOURCE_DATE_EPOCH",
)
#: Folders always hidden (an empty tmpfs is mounted over each one that exists). ``/run`` holds
#: sockets (docker, dbus, postgresql, ...) and the world-writable ``/run/lock``; what DNS needs
#: from it (the folder ``/etc/resolv.conf`` links into, systemd-resolved) is bound back read-only.
HIDDEN = ("/home", "/root", "/tmp", "/var/tmp", "/dev/shm", "/run", "/var/run", "/run/user", "/run/secrets",
          "/var/run/secrets", "/run/lock", "/var/lock")
#: Top folders of the system: the parent of the current folder or of the index is not hidden when
#: it is in one of them (see :func:`hidden_paths`).
SYSTEM_TOPS = ("bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "nix", "opt", "proc", "run",
               "sbin", "snap", "sys", "usr", "var")
#: Folders of the calling process's environment that are hidden too, when set.
HIDDEN_VARS = ("HOME", "GITHUB_WORKSPACE", "RUNNER_TEMP", "RUNNER_WORKSPACE", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR")
NOBODY = 65534
WORK = "/tmp/pagesindex-build"
#: Exit status of the sandbox's first process when it could not make the sandbox (the build did
#: not run); its last output line is then ``pagesindex sandbox: <why>`` (sandbox_init.py).
SETUP_FAILED = 121
SETUP_PREFIX = "pagesindex sandbox: "


class SandboxUnavailable(PagesIndexError):
    """No way to run the build isolated from the calling process's secrets on this system."""


def setting() -> str:
    """``"auto"`` (isolate, or refuse) or ``"off"``; raises on any other value of the setting."""
    raw = os.environ.get(SETTING, "")
    value = raw.strip().lower() or "auto"
    if value not in ("auto", "off"):
        raise PagesIndexError(f"invalid {SETTING}: {raw!r} (auto or off)")
    return value


def _unshare_argv() -> List[str]:
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"]
    if os.geteuid() != 0:
        argv[1:1] = ["--user", "--map-root-user"]
    return argv


_probe: Dict[str, Optional[str]] = {}


def unavailable_reason() -> Optional[str]:
    """``None`` when the sandbox works here, else why not (one line). Probed once per process."""
    if "reason" in _probe:
        return _probe["reason"]
    reason: Optional[str] = None
    if not sys.platform.startswith("linux"):
        reason = f"the build sandbox needs Linux namespaces (this is {sys.platform})"
    elif not shutil.which("unshare") or not shutil.which("setpriv"):
        reason = "the build sandbox needs unshare and setpriv (util-linux)"
    else:
        cmd = _unshare_argv() + ["sh", "-c", "mount -t tmpfs none /tmp && setpriv --no-new-privs --inh-caps=-all --bounding-set=-all true"]
        try:
            proc = subprocess.run(cmd, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", timeout=30)
            if proc.returncode != 0:
                last = (proc.stdout.strip().splitlines() or ["no output"])[-1]
                reason = f"cannot create the build sandbox ({' '.join(_unshare_argv())}: {last})"
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"cannot create the build sandbox ({exc})"
    _probe["reason"] = reason
    return reason


def require() -> bool:
    """True when builds run in the sandbox, False when the setting turns it off.

    Raises :class:`SandboxUnavailable` (its message names the setting) when the sandbox is
    wanted and cannot be made.
    """
    if setting() == "off":
        return False
    reason = unavailable_reason()
    if reason is not None:
        raise SandboxUnavailable(
            f"{reason}; refusing to run the package's build code beside this process's secrets "
            f"(set {SETTING}=off to build without isolation, see SECURITY.md)"
        )
    return True


def _with_parent(path: str) -> List[str]:
    """``path`` and, unless it is ``/`` or in a system folder, its parent (sibling checkouts such as
    ``/work/other-clone/.git/config`` beside the index or the current folder)."""
    if not path or not os.path.isabs(path):
        return [path]
    parent = os.path.dirname(os.path.realpath(path))
    top = parent.strip("/").split("/")[0]
    return [path] if parent == "/" or top in SYSTEM_TOPS else [path, parent]


def hidden_paths(extra: Sequence[Path] = ()) -> List[str]:
    """Absolute folders an empty tmpfs hides in the sandbox (existing folders only)."""
    paths = list(HIDDEN) + [os.environ.get(v, "") for v in HIDDEN_VARS]
    for p in [os.getcwd()] + [str(p) for p in extra]:
        paths += _with_parent(p)
    out = []
    for p in paths:
        if p and os.path.isabs(p) and os.path.isdir(p):
            real = os.path.realpath(p)
            if real != "/" and real not in out:
                out.append(real)
    return out


def _python_folders(python: str) -> List[str]:
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(python)),
             os.path.dirname(os.path.dirname(os.path.realpath(python)))]
    # Every folder on the way from ``python`` to the real interpreter: a venv made from another
    # venv's python (Python 3.9's venv links to sys.executable, not the base) links through it.
    link = os.path.abspath(python)
    for _hop in range(40):
        found.append(os.path.dirname(link))
        if not os.path.islink(link):
            break
        link = os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link)))
    if os.path.abspath(python) != os.path.abspath(sys.executable):  # a venv's python links to its base's
        probe = subprocess.run([python, "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                               capture_output=True, text=True, check=False)
        found += probe.stdout.split("\n")
    out = []
    for p in found:
        p = p.strip()
        if p and os.path.isdir(p):
            real = os.path.realpath(p)
            if real != "/" and real not in out:
                out.append(real)
    # a folder inside another one of the list comes back with it (bound recursively)
    return [p for p in out if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in out)]


def _run_folders() -> List[str]:
    """Folders under the hidden ``/run`` that the build needs, bound back read-only: the one
    ``/etc/resolv.conf`` links into (systemd-resolved's stub), so that names still resolve."""
    out = []
    real = os.path.realpath("/etc/resolv.conf")
    if real.startswith("/run/") and os.path.isfile(real):
        out.append(os.path.dirname(real))
    return out


def _scrub_git(tree: Path) -> None:
    """Give the copy's ``.git`` a minimal config: no remote URL, header or credential helper."""
    git = tree / ".git"
    if git.is_file() or git.is_symlink():  # a worktree or submodule pointer leads outside: drop it
        git.unlink()
    elif git.is_dir():
        (git / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = false\n")
        for name in ("FETCH_HEAD", "credentials", "hooks"):
            target = git / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()


def copy_tree(source: Path, dest: Path) -> Path:
    """Copy the source tree to ``dest`` (links kept as links) with :func:`_scrub_git` applied."""
    shutil.copytree(source, dest, symlinks=True)
    _scrub_git(dest)
    return dest


def environment(python: str) -> Dict[str, str]:
    """The build's whole environment, built from scratch (:data:`PASSED_VARS`, nothing else)."""
    env = {k: os.environ[k] for k in PASSED_VARS if k in os.environ}
    env.update({
        "PATH": os.pathsep.join([os.path.dirname(os.path.abspath(python)), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": f"{WORK}/home",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    })
    return env


def init_source() -> str:
    """The text of :mod:`pagesindex.sources.sandbox_init`, run with ``python -I -S -c``."""
    return Path(__file__).with_name("sandbox_init.py").read_text(encoding="utf-8")


def setup_failure(returncode: int, output: str) -> Optional[SandboxUnavailable]:
    """The error to raise when a sandboxed command's exit shows the sandbox was not made, else None."""
    if returncode != SETUP_FAILED:
        return None
    lines = [line for line in output.splitlines() if line.startswith(SETUP_PREFIX)]
    if not lines:
        return None
    why = lines[-1][len(SETUP_PREFIX):].strip()
    return SandboxUnavailable(f"cannot make the build sandbox: {why}; refusing to run the package's build code")


def sandboxed_command(command: Sequence[str], *, src: Path, dist: Path, python: str, hide: Sequence[Path] = ()) -> List[str]:
    """The argv that runs ``command`` in the sandbox, in ``src`` (seen at ``/tmp/pagesindex-build/src``).

    ``command`` must name its paths as the sandbox sees them: the source tree is at
    ``/tmp/pagesindex-build/src`` and ``dist`` at ``/tmp/pagesindex-build/dist``.
    """
    init = init_source()
    drop = [shutil.which("setpriv") or "/usr/bin/setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    if os.geteuid() == 0:
        drop[1:1] = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    spec = {
        "hide": hidden_paths(hide),
        "keep": _python_folders(python) + _run_folders(),
        "src": str(Path(src).resolve()),
        "dist": str(Path(dist).resolve()),
        "setpriv": drop + ["--"],
        "command": list(command),
    }
    return _unshare_argv() + [os.path.realpath(sys.executable), "-I", "-S", "-c", init, json.dumps(spec)]


def prepare(src: Path, dist: Path) -> None:
    """Make the copy and the output folder writable by the user the build runs as."""
    if os.geteuid() != 0:
        return
    for folder in (src, dist):
        for root, dirs, files in os.walk(folder):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, NOBODY, NOBODY)


__all__ = [
    "PASSED_VARS",
    "SETTING",
    "SandboxUnavailable",
    "copy_tree",
    "environment",
    "hidden_paths",
    "prepare",
    "require",
    "sandboxed_command",
    "setting",
    "setup_failure",
    "unavailable_reason",
]
