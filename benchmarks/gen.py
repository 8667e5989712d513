"""Generate a large index state for the build benchmarks (not part of the package).

``generate_state(root, projects=10_000, files=100_000)`` writes an index folder with
``index.toml``, one ``projects/<name>.json`` record per project (written with pagesindex's own
record format, ``pagesindex.state.dump_record``) and, under ``packages/<name>/``, small but real
distribution files: wheels are zip archives holding ``<dist>.dist-info/METADATA``, ``WHEEL`` and
``RECORD``; sdists are ``.tar.gz`` archives holding ``PKG-INFO``. The hashes in the records are
those of these bytes, so ``pagesindex build`` and ``pagesindex verify`` accept the state.

Names, versions, wheel tags and requires-python are drawn from a seeded random generator so that
the same arguments always give the same state: a mix of pure projects (sdist + ``py3-none-any``
wheel per release) and compiled ones (CPython wheels for several platforms), a long tail in the
number of releases, some pre-releases, post-releases and yanked releases.

With ``variety=True`` the state also carries what the simple API pages must show beyond that
(the exactness tests use it): PEP 792 project statuses (archived, deprecated, quarantined, with
and without a reason), yanks without a reason and reasons with markup characters. These are
drawn from a second generator, so everything else is the same as without them.

The same file list is written as JSON lines for dumb-pypi (``filename``, ``hash``,
``requires_python``, ``upload_timestamp``, ``core_metadata``, ``yanked_reason``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import re
import tarfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pagesindex.model import SDIST, STATUS_KEY, WHEEL, DistributionFile, Project, Release, normalize_name
from pagesindex.state import dump_record

PREFIXES = ["", "", "", "py", "django-", "flask-", "pytest-", "sphinx-", "jupyter-", "aws-", "azure-",
            "google-cloud-", "types-", "kavli-", "tess-", "astro", "open", "lib", "fast", "async-"]
WORDS = ["data", "cloud", "stream", "sql", "auth", "json", "http", "lab", "star", "light", "curve",
         "orbit", "photon", "spectra", "frame", "mesh", "grid", "queue", "cache", "config", "schema",
         "model", "vision", "signal", "image", "table", "graph", "vector", "tensor", "sky", "flux",
         "pixel", "event", "task", "log", "metric", "trace", "token", "crypto", "geo", "time",
         "units", "wcs", "fits", "hdf", "zarr", "arrow", "parquet", "yaml", "toml", "xml", "html",
         "markdown", "rest", "grpc", "socket", "serial", "plot", "color", "audio", "text", "nlp"]
SUFFIXES = ["", "", "", "-utils", "-client", "-tools", "lib", "-core", "-py", "2", "-plugin", "_sdk",
            "-api", "-cli", "-server", "kit", "-io", "-extras"]
REQUIRES_PYTHON = [None, ">=3.6", ">=3.7", ">=3.8", ">=3.8", ">=3.9", ">=3.9", ">=3.10", ">=3.11",
                   ">=3.7,<4", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*", "~=3.9"]
CPYTHONS = ["cp39", "cp310", "cp311", "cp312", "cp313"]
PLATFORMS = ["manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_aarch64.manylinux2014_aarch64",
             "musllinux_1_2_x86_64", "macosx_11_0_arm64", "macosx_10_9_x86_64", "win_amd64"]
SUMMARIES = ["Tools for {w} pipelines", "A small {w} library", "Client for the {w} service",
             "Fast {w} parsing and writing", "{w} helpers for the institute's pipelines", ""]
AUTHORS = ["Ada Lovelace", "Grace Hopper", "Vera Rubin", "Henrietta Leavitt", "Carl Sagan", ""]
#: ``variety=True``: (share of projects, PEP 792 status, reason)
STATUSES = [(0.03, "archived", 'moved to <https://example.org/new> & "renamed"'), (0.02, "deprecated", ""),
            (0.01, "quarantined", "malware reported <here>"), (0.01, "archived", "")]
YANK_REASONS = ["", "broken build", 'broken <b>wheels</b> & "sdists"']

DATE_TIME = (2024, 1, 1, 0, 0, 0)
START = datetime(2018, 1, 1, tzinfo=timezone.utc).timestamp()
END = datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp()


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _display_name(rng: random.Random, taken: set) -> str:
    while True:
        name = rng.choice(PREFIXES) + rng.choice(WORDS) + rng.choice(SUFFIXES)
        if rng.random() < 0.3:
            name = name + rng.choice(["-", "_", ""]) + rng.choice(WORDS)
        if rng.random() < 0.15:
            name = "-".join(p.capitalize() for p in name.split("-"))
        if rng.random() < 0.1:
            name += str(rng.randint(2, 9))
        if normalize_name(name) not in taken:
            taken.add(normalize_name(name))
            return name


def _versions(rng: random.Random, count: int) -> List[str]:
    major, minor, patch = rng.choice([(0, 1, 0), (1, 0, 0), (0, 0, 1), (2, 3, 0)])
    out: List[str] = []
    while len(out) < count:
        roll = rng.random()
        if roll < 0.04 and out:
            out.append(f"{out[-1]}.post1" if "post" not in out[-1] and "rc" not in out[-1] else f"{major}.{minor}.{patch}.1")
            continue
        if roll < 0.12:
            minor += 1
            patch = 0
        elif roll < 0.15:
            major += 1
            minor = patch = 0
        else:
            patch += 1
        base = f"{major}.{minor}.{patch}"
        if rng.random() < 0.08 and len(out) + 1 < count:
            out.append(f"{base}rc1")
        out.append(base)
    return out[:count]


def wheel_bytes(dist: str, version: str, tag: str, metadata: bytes) -> bytes:
    dist_info = f"{dist}-{version}.dist-info"
    members = {
        f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    record = io.StringIO()
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{path},sha256={digest},{len(data)}\n")
    record.write(f"{dist_info}/RECORD,,\n")
    members[f"{dist_info}/RECORD"] = record.getvalue().encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, date_time=DATE_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def sdist_bytes(dist: str, version: str, metadata: bytes) -> bytes:
    buf = io.BytesIO()
    # the gzip header's time is fixed too (tarfile's "w:gz" writes the current time into it)
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tf:
            info = tarfile.TarInfo(f"{dist}-{version}/PKG-INFO")
            info.size = len(metadata)
            info.mtime = 1704067200
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(metadata))
    return buf.getvalue()


def metadata_bytes(name: str, version: str, summary: str, author: str, requires_python: Optional[str],
                   requires: List[str]) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if author:
        lines.append(f"Author: {author}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    return ("\n".join(lines) + "\n").encode()


def _plan(rng: random.Random, projects: int, files: int) -> Tuple[List[Tuple[int, List[str]]], int]:
    """Per project: (release count, wheel tags of each release); totals exactly ``files`` files."""
    plans = []
    for _ in range(projects):
        if rng.random() < 0.8:
            tags = ["py3-none-any"]
        else:
            pys = CPYTHONS[rng.randint(0, 3):]
            plats = rng.sample(PLATFORMS, rng.randint(1, 4))
            tags = [f"{py}-{py}-{plat}" for py in pys for plat in plats]
        plans.append([1, tags])
    total = sum(1 + len(t) for _, t in plans)
    # Add releases with a long tail (a few projects get many) until the file count is reached.
    weights = [rng.paretovariate(1.2) for _ in plans]
    while total < files:
        i = rng.choices(range(len(plans)), weights=weights, k=1)[0]
        if plans[i][0] >= 300:
            weights[i] = 0.0
            continue
        plans[i][0] += 1
        total += 1 + len(plans[i][1])
    return [(n, t) for n, t in plans], total - files


def generate_state(root: Path, *, projects: int = 10_000, files: int = 100_000, seed: int = 8,
                   title: str = "Benchmark index", variety: bool = False) -> Dict[str, object]:
    """Write the state into ``root`` (must not exist); return a summary dict. ``variety`` adds
    project statuses, yanks without a reason and markup in reasons (see the module's docstring).

    The summary has ``projects``, ``files``, ``bytes`` (total size of the distribution files),
    ``jsonl`` (path of the dumb-pypi file list) and ``twenty`` (a project with 20 or more
    releases, or the one with most).
    """
    from pagesindex.state import Index

    rng = random.Random(seed)
    more = random.Random(seed + 1_000_003) if variety else None
    Index.init(root, title=title, url="https://example.org/bench/")
    projects_dir = root / "projects"
    packages_dir = root / "packages"
    plans, excess = _plan(rng, projects, files)
    taken: set = set()
    lines: List[str] = []
    total_files = total_bytes = 0
    most = (0, "")
    for count, tags in plans:
        name = _display_name(rng, taken)
        norm = normalize_name(name)
        dist = _escape(name)
        word = rng.choice(WORDS)
        project = Project(name=name, summary=rng.choice(SUMMARIES).format(w=word), author=rng.choice(AUTHORS))
        if more is not None:
            roll = more.random()
            for share, status, reason in STATUSES:
                if roll < share:
                    project.extra[STATUS_KEY] = {"status": status, "reason": reason} if reason else {"status": status}
                    break
                roll -= share
        folder = packages_dir / norm
        folder.mkdir(parents=True, exist_ok=True)
        requires_python = rng.choice(REQUIRES_PYTHON)
        requires = [f"{rng.choice(WORDS)}>={rng.randint(1, 5)}.{rng.randint(0, 9)}" for _ in range(rng.randint(0, 4))]
        versions = _versions(rng, count)
        t0 = START + rng.random() * (END - START) * 0.7
        step = (END - t0) / (len(versions) + 1)
        for i, version in enumerate(versions):
            stamp = int(t0 + step * i)
            upload = datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if rng.random() < 0.1 and requires_python:
                requires_python = rng.choice(REQUIRES_PYTHON[3:])
            meta = metadata_bytes(name, version, project.summary, project.author, requires_python, requires)
            meta_sha = hashlib.sha256(meta).hexdigest()
            release = Release(version=version)
            if rng.random() < 0.01:
                release.yanked, release.yanked_reason = True, "broken build"
            if more is not None and (release.yanked or more.random() < 0.03):
                release.yanked, release.yanked_reason = True, more.choice(YANK_REASONS)
            release_tags = list(tags)
            if excess > 0 and release_tags:
                cut = min(excess, len(release_tags))
                release_tags = release_tags[: len(release_tags) - cut]
                excess -= cut
            entries = [(f"{dist}-{version}.tar.gz", SDIST, sdist_bytes(dist, version, meta))]
            for tag in release_tags:
                entries.append((f"{dist}-{version}-{tag}.whl", WHEEL, wheel_bytes(dist, version, tag, meta)))
            for filename, kind, data in entries:
                sha = hashlib.sha256(data).hexdigest()
                (folder / filename).write_bytes(data)
                release.files.append(DistributionFile(
                    filename=filename, kind=kind, sha256=sha, size=len(data), upload_time=upload,
                    requires_python=requires_python, core_metadata_sha256=meta_sha if kind == WHEEL else None,
                ))
                line = {"filename": filename, "hash": f"sha256={sha}", "upload_timestamp": stamp}
                if requires_python:
                    line["requires_python"] = requires_python
                if kind == WHEEL:
                    line["core_metadata"] = f"sha256={meta_sha}"
                if release.yanked:
                    line["yanked_reason"] = release.yanked_reason
                lines.append(json.dumps(line))
                total_files += 1
                total_bytes += len(data)
            project.releases[version] = release
        if len(versions) >= 20 and (most[0] < 20 or len(versions) < most[0]) or (most[0] < 20 and len(versions) > most[0]):
            most = (len(versions), norm)
        (projects_dir / f"{norm}.json").write_bytes(dump_record(project))
    jsonl = root.parent / f"{root.name}.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    return {"projects": len(plans), "files": total_files, "bytes": total_bytes, "jsonl": str(jsonl),
            "twenty": most[1]}


def jsonl_line(filename: str, data: bytes, *, requires_python: Optional[str], stamp: int,
               metadata: Optional[bytes]) -> str:
    """One dumb-pypi JSON line for a file."""
    line = {"filename": filename, "hash": f"sha256={hashlib.sha256(data).hexdigest()}", "upload_timestamp": stamp}
    if requires_python:
        line["requires_python"] = requires_python
    if metadata is not None:
        line["core_metadata"] = f"sha256={hashlib.sha256(metadata).hexdigest()}"
    return json.dumps(line)
