"""Shared fixtures: example files, a fresh index, a served site, clean clients (pip, uv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from factory import make_sdist, make_wheel  # noqa: E402

from pagesindex.state import Index  # noqa: E402

# Hypothesis profiles (HYPOTHESIS_PROFILE=ci|dev|thorough; default ci): "ci" keeps the property
# tests to a few seconds each and reproducible; "thorough" is for a long local run.
from hypothesis import HealthCheck, settings  # noqa: E402

_SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=_SLOW)
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=_SLOW)
settings.register_profile("thorough", max_examples=3000, deadline=None, suppress_health_check=_SLOW)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]


def benchmark_module(name: str):
    """``benchmarks/<name>.py`` loaded as a module (the folder is scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"pagesindex_bench_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

SHARED = REPO.parent / "shared"
#: ../shared/seed-index; PAGESINDEX_SEED names another copy (for example from a git worktree elsewhere).
SEED = Path(os.environ.get("PAGESINDEX_SEED") or SHARED / "seed-index")


@pytest.fixture
def seed_index() -> Path:
    """The institute's current index (../shared/seed-index); skips when absent."""
    if not (SEED / "packages").is_dir():
        pytest.skip("../shared/seed-index is absent")
    return SEED


@pytest.fixture
def index(tmp_path: Path) -> Index:
    """A fresh, empty index in a temporary folder."""
    return Index.init(tmp_path / "index", title="Test index", url="https://example.org/index/")


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    return folder


@pytest.fixture
def wheel(dist_dir: Path) -> Callable[..., Path]:
    return lambda *a, **k: make_wheel(dist_dir, *a, **k)


@pytest.fixture
def sdist(dist_dir: Path) -> Callable[..., Path]:
    return lambda *a, **k: make_sdist(dist_dir, *a, **k)


@pytest.fixture
def serve() -> Iterator[Callable[[Path], str]]:
    """Serve a built site on 127.0.0.1 (any free port); returns its base URL."""
    from pagesindex.serve import serve_in_thread

    servers = []

    def start(site: Path) -> str:
        server, url = serve_in_thread(site)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def state_snapshot(root: Path) -> Dict[str, bytes]:
    """Every file under ``root`` (except the lock file) with its bytes, to assert nothing changed."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file() and p.name != ".pagesindex.lock"
    }


def clean_env(tmp: Path) -> Dict[str, str]:
    """An environment where pip and uv see no machine configuration, only what a test passes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_CACHE_DIR"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env["UV_CACHE_DIR"] = str(tmp / "uv-cache")
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


class Clients:
    """Run real pip and uv against an index URL, each in a fresh virtual environment."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.env = clean_env(tmp)
        self.count = 0
        self.uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if self.uv is None:
            try:
                from uv import find_uv_bin

                self.uv = find_uv_bin()
            except ImportError:  # pragma: no cover
                pass

    def venv(self) -> Path:
        self.count += 1
        path = self.tmp / f"venv{self.count}"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
        return path

    @staticmethod
    def python(venv: Path) -> Path:
        return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def pip(self, url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``pip install --index-url URL ARGS`` into a fresh venv (pip run with --python)."""
        venv = self.venv()
        cmd = [sys.executable, "-m", "pip", "--python", str(self.python(venv)), "install", "--index-url", url, *args]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        proc.venv = venv  # type: ignore[attr-defined]
        if check and proc.returncode != 0:
            raise AssertionError(f"pip failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def uv_pip(self, url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``uv pip install --index-url URL ARGS`` into a fresh venv."""
        if self.uv is None:
            pytest.skip("uv is not installed")
        venv = self.venv()
        cmd = [self.uv, "pip", "install", "--python", str(self.python(venv)), "--index-url", url, *args]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        proc.venv = venv  # type: ignore[attr-defined]
        if check and proc.returncode != 0:
            raise AssertionError(f"uv failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def installed(self, venv: Path) -> Dict[str, str]:
        """``{normalized name: version}`` of what is installed in ``venv``."""
        code = (
            "import importlib.metadata as m, re, json;"
            "print(json.dumps({re.sub(r'[-_.]+','-',d.metadata['Name']).lower(): d.version for d in m.distributions()}))"
        )
        out = subprocess.run([str(self.python(venv)), "-c", code], capture_output=True, text=True, check=True)
        import json

        return json.loads(out.stdout)


@pytest.fixture
def clients(tmp_path: Path) -> Clients:
    return Clients(tmp_path)


def run_cli(*args: str, index: Path = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed ``pagesindex`` command as a user would (a real subprocess)."""
    cmd = [sys.executable, "-m", "pagesindex"]
    if index is not None:
        cmd += ["--index", str(index)]
    cmd += list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"pagesindex {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


__all__ = ["Clients", "run_cli", "state_snapshot", "clean_env", "make_wheel", "make_sdist", "SEED", "REPO"]


@pytest.fixture(scope="session", autouse=True)
def _no_real_pypi():
    """Every command in the tests checks names against a local, empty PyPI stand-in (404 for all
    names), never pypi.org: ``PAGESINDEX_PYPI_URL`` is inherited by every subprocess."""
    from fakepypi import FakePyPI

    fake = FakePyPI()
    old = os.environ.get("PAGESINDEX_PYPI_URL")
    os.environ["PAGESINDEX_PYPI_URL"] = fake.url
    yield fake
    if old is None:
        os.environ.pop("PAGESINDEX_PYPI_URL", None)
    else:
        os.environ["PAGESINDEX_PYPI_URL"] = old
    fake.close()


@pytest.fixture(scope="session", autouse=True)
def _private_readme_cache(tmp_path_factory):
    """Builds in the tests keep rendered READMEs in a folder of this session, not in ~/.cache."""
    old = os.environ.get("PAGESINDEX_CACHE_DIR")
    os.environ["PAGESINDEX_CACHE_DIR"] = str(tmp_path_factory.mktemp("readme-cache"))
    yield
    if old is None:
        os.environ.pop("PAGESINDEX_CACHE_DIR", None)
    else:
        os.environ["PAGESINDEX_CACHE_DIR"] = old


# -- poetry and pdm, each in a tool environment of its own ------------------------------------------

#: Versions of the tool environments the tests make (pinned: a new release changes behaviour).
TOOL_VERSIONS = {"poetry": "2.5.1", "pdm": "2.29.4"}
#: What is installed for each (pdm 2.29.4 asks for ``hishel>=1.4.0`` but fails on every command
#: with hishel 2.0; its ``locked`` extra pins a certifi that the registry does not have).
TOOL_REQUIREMENTS = {"poetry": ["poetry==2.5.1"], "pdm": ["pdm==2.29.4", "hishel<2"]}
#: Where tool environments are kept between sessions (PAGESINDEX_TEST_TOOLS overrides it).
TOOLS_HOME = Path(os.environ.get("PAGESINDEX_TEST_TOOLS") or Path.home() / ".cache" / "pagesindex-tests" / "tools")


class Tools:
    """poetry and pdm for the tests, never in the test environment itself (their dependencies
    clash with ours): the command on PATH if it is the pinned version, else a virtual
    environment of its own under :data:`TOOLS_HOME` (made once with ``uv venv`` and
    ``uv pip install`` of :data:`TOOL_REQUIREMENTS` from the package registry, then reused;
    keyed by the requirement and the base Python of this one). ``path(name)`` returns the command or skips the test
    with the reason."""

    def __init__(self, uv: Optional[str]):
        self.uv = uv
        self.found: Dict[str, Path] = {}
        self.failed: Dict[str, str] = {}
        self.seconds: Dict[str, float] = {}

    @staticmethod
    def _version_ok(command: Path, version: str) -> bool:
        try:
            out = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return out.returncode == 0 and version in out.stdout

    def path(self, name: str) -> Path:
        if name in self.found:
            return self.found[name]
        if name not in self.failed:
            import time

            start = time.perf_counter()
            try:
                TOOLS_HOME.mkdir(parents=True, exist_ok=True)
                with open(TOOLS_HOME / ".lock", "w") as lock:  # one session at a time makes a tool venv
                    try:
                        import fcntl

                        fcntl.flock(lock, fcntl.LOCK_EX)
                    except ImportError:  # pragma: no cover (not POSIX)
                        pass
                    self.found[name] = self._find_or_install(name)
            except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
                self.failed[name] = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            self.seconds[name] = time.perf_counter() - start
        if name in self.failed:
            pytest.skip(f"{name} {TOOL_VERSIONS[name]} is not available: {self.failed[name]}")
        return self.found[name]

    def _find_or_install(self, name: str) -> Path:
        import hashlib

        version = TOOL_VERSIONS[name]
        on_path = shutil.which(name)
        if on_path and self._version_ok(Path(on_path), version):
            return Path(on_path)
        requirement = TOOL_REQUIREMENTS[name]
        # uv bases the tool's venv on this venv's base Python: a new clone (CI) reuses the tool venv
        key = hashlib.sha256(" ".join([os.path.realpath(sys.base_prefix), *requirement]).encode()).hexdigest()[:12]
        home = TOOLS_HOME / f"{name}-{version}-py{sys.version_info[0]}.{sys.version_info[1]}-{key}"
        command = home / ("Scripts" if os.name == "nt" else "bin") / name
        if self._version_ok(command, version):
            return command
        if self.uv is None:
            raise RuntimeError("uv is not installed, so it cannot be installed")
        if home.exists():  # a broken one from an earlier session
            shutil.rmtree(home)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        for argv in (
            [self.uv, "venv", "-q", "--python", sys.executable, str(home)],
            [self.uv, "pip", "install", "-q", "--python", str(Clients.python(home)), *requirement],
        ):
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                shutil.rmtree(home, ignore_errors=True)
                raise RuntimeError(f"{' '.join(argv[1:3])} failed: {proc.stderr.strip()}")
        if not self._version_ok(command, version):
            raise RuntimeError(f"{command} --version does not say {version}")
        return command


@pytest.fixture(scope="session")
def tools() -> Tools:
    """poetry and pdm (see :class:`Tools`): ``tools.path("poetry")``."""
    return Tools(Clients(Path(os.devnull)).uv)
