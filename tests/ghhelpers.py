"""Helpers for the GitHub tests: run the CLI with a fake GitHub, make real git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Optional

TOKEN = "ghp_FAKE0123456789abcdefTOKEN"


def gh_cli(gh, *args: str, index: Optional[Path] = None, env: Optional[Dict[str, str]] = None, token: Optional[str] = "default", check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m pagesindex ARGS`` with the fake GitHub's environment (a real subprocess)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GITHUB_SERVER_URL")}
    full_env.update(gh.env(token=token))
    full_env.setdefault("PAGESINDEX_GITHUB_RETRIES", "2")
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "pagesindex"]
    if index is not None:
        cmd += ["--index", str(index)]
    cmd += list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"pagesindex {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def record(index, name: str) -> dict:
    return json.loads((Path(index.root) / "projects" / f"{name}.json").read_text())


def git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd))
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_git_project(root: Path, backend: str, name: str, version: str, tag: str, *, module: Optional[str] = None,
                     readme: bool = True, broken: bool = False, extra_tags: tuple = ()) -> Path:
    """A real git repository holding a Python project built by ``backend``, tagged ``tag``.

    ``backend`` is ``"setuptools"`` (static version), ``"hatchling"`` (static version) or
    ``"setuptools-scm"`` (version read from the git tag; ``version`` is then ignored).
    ``broken=True`` makes the build fail with the message ``boom: this build is broken``.
    Returns the repository folder (clone it with ``file://`` + path).
    """
    repo = root / name
    module = module or name.replace("-", "_")
    (repo / "src" / module).mkdir(parents=True)
    (repo / "src" / module / "__init__.py").write_text(f'NAME = "{name}"\n')
    if backend == "setuptools":
        pyproject = f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "{version}"
        description = "A setuptools project"
        """
    elif backend == "hatchling":
        pyproject = f"""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "{version}"
        description = "A hatchling project"
        requires-python = ">=3.8"

        [tool.hatch.build.targets.wheel]
        packages = ["src/{module}"]
        """
    elif backend == "setuptools-scm":
        pyproject = f"""
        [build-system]
        requires = ["setuptools>=64", "setuptools-scm>=8"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        dynamic = ["version"]
        description = "A setuptools-scm project"

        [tool.setuptools_scm]
        """
    else:  # pragma: no cover
        raise ValueError(backend)
    (repo / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    if broken:
        (repo / "setup.py").write_text("import sys\nsys.exit('boom: this build is broken')\n")
    if readme:
        (repo / "README.md").write_text(f"# {name}\n\nRead me at the tag.\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    for extra in extra_tags:
        git(repo, "tag", extra)
        (repo / "CHANGES").write_text(extra)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"after {extra}")
    git(repo, "tag", "-a", tag, "-m", tag)
    (repo / "CHANGES").write_text("work after the tag\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "after the tag")
    return repo
