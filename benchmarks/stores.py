#!/usr/bin/env python3
"""Figures for indexes whose distribution files live in an object store (issue 15, item 7).

Run from the repository with the project's virtual environment (boto3 and moto installed):

    .venv/bin/python benchmarks/stores.py            # the full run (see benchmarks/README.md)
    .venv/bin/python benchmarks/stores.py --quick    # a smoke run of a few seconds

Two figures:

``artifact``
    the deploy artifact (the built ``_site/``) of the index that ``gen.py`` generates (default
    10,000 projects, 100,000 files), once with the ``git`` store and once with the ``s3`` store:
    bytes and file count, split into pages (HTML), JSON, sidecars (``.metadata``), distribution
    files and the rest (CSS, JavaScript...). The ``s3`` state is the ``git`` one without
    ``packages/``, with ``[storage]`` settings and the wheels' core metadata under ``metadata/``
    (as ``add`` commits it with an object store); building it needs no S3 server, since the records
    and ``metadata/`` carry all that the pages need.
``change``
    one release added to an index whose files are in an S3 bucket (moto's server on 127.0.0.1),
    from ``pagesindex add`` to a built, verified site: ``add``, ``publish``, ``build``, ``verify``,
    each a child process; wall and CPU seconds (user + system of the child, and of the S3 server,
    which runs in this process), the median of ``--runs`` runs, and the load average. The index
    holds ``--sizes`` GB of distinct synthetic wheels of ``--wheel-mib`` MiB each (ten releases of
    one wheel per project), put there beforehand with ``add`` and ``publish`` in batches.

Inputs live in a cache folder outside the repository (``--cache``, default
``~/.cache/pagesindex-bench/stores``); the generated ``git`` state is kept and reused. The results
are printed as Markdown tables and written to ``<cache>/stores-last-run.json``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MIB = 1024 * 1024
#: The bucket of the ``s3`` states; the ``artifact`` build never contacts it.
BUCKET = "bench-files"
PUBLIC_URL = "https://cdn.example.org/files/"
#: Test credentials, for moto only; no machine configuration is read.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


# -- child processes -----------------------------------------------------------------------------
class Step:
    """One child process: wall seconds, its CPU seconds (user + system), the CPU seconds this
    process used meanwhile (the S3 server's threads), the load average at its end."""

    def __init__(self, seconds: float, cpu: float, server_cpu: float, stdout: str):
        self.seconds, self.cpu, self.server_cpu, self.stdout = seconds, cpu, server_cpu, stdout
        self.load = os.getloadavg()[0]


def run(cmd: Sequence[object], env: Optional[Dict[str, str]] = None) -> Step:
    """Run ``cmd`` (exit 0 required), measuring it with ``wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        server_before = time.process_time()
        started = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        server_cpu = time.process_time() - server_before
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(map(str, cmd))}\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return Step(seconds, usage.ru_utime + usage.ru_stime, server_cpu, stdout)


def pagesindex(index: Path, *args: object, env: Optional[Dict[str, str]] = None) -> Step:
    return run([sys.executable, "-m", "pagesindex", "--index", index, *args], env=env)


# -- the deploy artifact ---------------------------------------------------------------------------
def s3_settings(endpoint_url: str = "", public_url: str = PUBLIC_URL, bucket: str = BUCKET) -> str:
    """The ``[storage]`` table of an ``s3`` index (a TOML fragment)."""
    lines = ["", "[storage]", 'kind = "s3"', f'bucket = "{bucket}"', 'prefix = "files/"']
    if endpoint_url:
        lines.append(f'endpoint-url = "{endpoint_url}"')
    lines.append(f'public-url = "{public_url}"')
    return "\n".join(lines) + "\n"


def to_object_store(git_state: Path, out: Path) -> None:
    """Write into ``out`` the ``s3`` form of the generated ``git`` state: ``index.toml`` with
    ``[storage]``, the same records, the wheels' core metadata as ``metadata/<sha256>`` (read from
    one wheel of each release: gen.py's files of a release share it) and no ``packages/``."""
    from pagesindex.model import WHEEL
    from pagesindex.state import METADATA_DIR, Index

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "index.toml").write_text((git_state / "index.toml").read_text() + s3_settings())
    shutil.copytree(git_state / "projects", out / "projects")
    (out / "packages").mkdir()
    meta_dir = out / METADATA_DIR
    meta_dir.mkdir()
    index = Index(git_state)
    for name in index.project_names():
        project = index.get_project(name)
        for release in project.releases.values():
            if release.files and all(f.kind != WHEEL for f in release.files):
                # A release of sdists only: the build reads its core metadata from the sdist in
                # packages/ whatever the store (render._release_metadata), so that sdist stays
                # here for the build; the site holds no distribution file either way.
                for f in release.files:
                    (out / "packages" / name).mkdir(exist_ok=True)
                    shutil.copyfile(git_state / "packages" / name / f.filename, out / "packages" / name / f.filename)
        for f in project.all_files():
            if f.kind != WHEEL or not f.core_metadata_sha256 or (meta_dir / f.core_metadata_sha256).exists():
                continue
            with zipfile.ZipFile(git_state / "packages" / name / f.filename) as zf:
                member = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
                data = zf.read(member)
            assert hashlib.sha256(data).hexdigest() == f.core_metadata_sha256, f.filename
            (meta_dir / f.core_metadata_sha256).write_bytes(data)


#: Kinds of site files, by name (the first that matches).
def kind_of(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if name.endswith(".metadata"):
        return "sidecars"
    if name.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")):
        return "distribution files"
    if name.endswith(".json"):
        return "JSON"
    if name.endswith(".html"):
        return "pages"
    return "other"


KINDS = ["pages", "JSON", "sidecars", "distribution files", "other"]


def site_figures(site: Path) -> Dict[str, Dict[str, int]]:
    """``{kind: {"files": n, "bytes": n}}`` of every regular file under ``site`` (a hard link
    counts with its full size: the Pages artifact packs each file's bytes), plus ``total``."""
    figures = {k: {"files": 0, "bytes": 0} for k in KINDS + ["total"]}
    for folder, _dirs, files in os.walk(site):
        for filename in files:
            path = os.path.join(folder, filename)
            size = os.lstat(path).st_size
            kind = kind_of(os.path.relpath(path, site))
            for key in (kind, "total"):
                figures[key]["files"] += 1
                figures[key]["bytes"] += size
    return figures


def artifact(cache: Path, projects: int, files: int) -> Dict[str, object]:
    """Build the generated index with each store into a fresh folder; figures of each site."""
    import gen

    git_state = cache / f"state-git-{projects}-{files}"
    if not (git_state / "index.toml").is_file():
        if git_state.exists():
            shutil.rmtree(git_state)
        print(f"generating {projects} projects, {files} files into {git_state} ...", flush=True)
        gen.generate_state(git_state, projects=projects, files=files)
    s3_state = cache / f"state-s3-{projects}-{files}"
    to_object_store(git_state, s3_state)
    result: Dict[str, object] = {"projects": projects, "files": files}
    for kind, state in (("git", git_state), ("s3", s3_state)):
        site = cache / f"site-{kind}-{projects}-{files}"
        if site.exists():
            shutil.rmtree(site)
        print(f"building the {kind} index ...", flush=True)
        step = pagesindex(state, "build", "--out", site)
        result[kind] = {"build_seconds": step.seconds, "build_cpu": step.cpu, "load": step.load,
                        "site": site_figures(site)}
        shutil.rmtree(site)
    return result


# -- synthetic wheels --------------------------------------------------------------------------------
class WheelMaker:
    """Distinct wheels of about ``mib`` MiB each, made quickly: every wheel stores (no compression)
    one shared block of seeded random bytes beside its own ``__init__.py`` and metadata, so its
    bytes and sha256 are its own while the block is hashed once."""

    def __init__(self, mib: float, seed: int = 15):
        size = max(1, int(mib * MIB))
        rng = random.Random(seed)
        self.block = rng.getrandbits(size * 8).to_bytes(size, "little")
        digest = base64.urlsafe_b64encode(hashlib.sha256(self.block).digest()).rstrip(b"=").decode()
        self.block_record = f"sha256={digest},{size}"

    def make(self, folder: Path, name: str, version: str) -> Path:
        dist = name.replace("-", "_")
        info = f"{dist}-{version}.dist-info"
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: synthetic {self.size_label}\n".encode()
        small = {
            f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
            f"{info}/METADATA": metadata,
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        record = [f"{dist}/data.bin,{self.block_record}"]
        for member, data in small.items():
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        path = folder / f"{dist}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for member, data in [(f"{dist}/data.bin", self.block), *small.items(),
                                 (f"{info}/RECORD", ("\n".join(record) + "\n").encode())]:
                item = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
                item.external_attr = 0o644 << 16
                zf.writestr(item, data)
        return path

    @property
    def size_label(self) -> str:
        return f"{len(self.block) / MIB:g} MiB"


# -- the one-release change --------------------------------------------------------------------------
class S3:
    """moto's S3 server on 127.0.0.1 in this process, and a boto3 client for it."""

    def __init__(self) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        os.environ.update(AWS_ENV)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1")

    def bucket(self, name: str) -> str:
        """A new bucket whose ``files/`` prefix anyone may read; returns its public URL."""
        self.client.create_bucket(Bucket=name)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                          "Resource": f"arn:aws:s3:::{name}/files/*"}]}
        self.client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        return f"{self.url}/{name}/files/"

    def drop_staged(self, bucket: str) -> None:
        """Delete the staged copies of the published files (set-up only, not a pagesindex
        command), so that the server's disk holds each file once."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="staging/")
        for page in pages:
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": objects})

    def empty(self, bucket: str) -> None:
        """Delete every object of ``bucket`` and the bucket."""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        self.client.delete_bucket(Bucket=bucket)

    def stored_bytes(self, bucket: str) -> Tuple[int, int]:
        count = total = 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                count += 1
                total += o["Size"]
        return count, total

    def close(self) -> None:
        self.server.stop()


STEPS = ["add", "publish", "build", "verify"]


def change(cache: Path, s3: S3, gigabytes: float, wheel_mib: float, runs: int, batch: int) -> Dict[str, object]:
    """An index holding ``gigabytes`` GB of wheels in a new bucket; then ``runs`` times one new
    release (one wheel of ``wheel_mib`` MiB) through add, publish, build, verify."""
    maker = WheelMaker(wheel_mib)
    count = max(1, round(gigabytes * 1e9 / (wheel_mib * MIB)))
    label = f"{gigabytes:g}gb"
    root = cache / f"change-{label}"
    if root.exists():
        shutil.rmtree(root)
    bucket = f"bench-{label.replace('.', '-')}-{os.getpid()}"
    public_url = s3.bucket(bucket)
    env = dict(os.environ, **AWS_ENV, PAGESINDEX_CACHE_DIR=str(cache / "readme-cache"))
    run([sys.executable, "-m", "pagesindex", "init", root, "--title", f"{label} bench", "--no-workflows"], env=env)
    with open(root / "index.toml", "a") as fh:
        fh.write(s3_settings(s3.url, public_url, bucket))
    dist = cache / f"wheels-{label}"
    print(f"filling the {label} index: {count} wheels of {wheel_mib:g} MiB ...", flush=True)
    started = time.perf_counter()
    made = 0
    while made < count:
        if dist.exists():
            shutil.rmtree(dist)
        dist.mkdir()
        paths = []
        for i in range(made, min(count, made + batch)):
            paths.append(maker.make(dist, f"bulk{i // 10:04d}", f"1.{i % 10}"))
        pagesindex(root, "add", *paths, env=env)
        pagesindex(root, "publish", env=env)
        s3.drop_staged(bucket)
        made += len(paths)
    shutil.rmtree(dist)
    pagesindex(root, "build", env=env)
    # The deploy of the last batch: its verify asks about every object and records them in
    # .pagesindex-cache/ (what a deploy workflow that restores that folder starts from).
    first_verify = pagesindex(root, "verify", env=env)
    objects, stored = s3.stored_bytes(bucket)
    fill_seconds = time.perf_counter() - started
    print(f"  {objects} objects, {stored / 1e9:.2f} GB in the bucket ({fill_seconds:.0f} s; "
          f"its first verify {first_verify.seconds:.2f} s)", flush=True)
    measured: List[Dict[str, Dict[str, float]]] = []
    new = cache / f"new-{label}"
    for n in range(runs):
        if new.exists():
            shutil.rmtree(new)
        new.mkdir()
        wheel = maker.make(new, "newproject", f"{n + 1}.0")
        one: Dict[str, Dict[str, float]] = {}
        for step in STEPS:
            args = ["add", wheel] if step == "add" else [step]
            got = pagesindex(root, *args, env=env)
            one[step] = {"seconds": got.seconds, "cpu": got.cpu, "server_cpu": got.server_cpu, "load": got.load}
        one["total"] = {key: sum(one[s][key] for s in STEPS) for key in ("seconds", "cpu", "server_cpu")}
        one["total"]["load"] = one["verify"]["load"]
        measured.append(one)
        print(f"  run {n + 1}: " + ", ".join(f"{s} {one[s]['seconds']:.2f} s" for s in STEPS + ["total"]), flush=True)
        shutil.rmtree(new)
    medians = {s: {k: statistics.median(m[s][k] for m in measured) for k in ("seconds", "cpu", "server_cpu", "load")}
               for s in STEPS + ["total"]}
    # verify without its record of checked objects (a deploy that does not restore .pagesindex-cache/)
    got = pagesindex(root, "verify", "--full-store", env=env)
    medians["verify --full-store"] = {"seconds": got.seconds, "cpu": got.cpu, "server_cpu": got.server_cpu, "load": got.load}
    print(f"  verify --full-store {got.seconds:.2f} s", flush=True)
    shutil.rmtree(root)
    s3.empty(bucket)  # the server's disk back before the next size
    return {"gigabytes": gigabytes, "wheels": count, "wheel_mib": wheel_mib, "objects": objects, "stored_bytes": stored,
            "fill_seconds": fill_seconds, "runs": measured, "median": medians}


# -- output --------------------------------------------------------------------------------------------
def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def artifact_table(result: Dict) -> str:
    lines = [f"Deploy artifact (`_site/`), {result['projects']:,} projects, {result['files']:,} files:", "",
             "| | git store: files | git store: bytes | s3 store: files | s3 store: bytes |", "|---|---:|---:|---:|---:|"]
    for kind in KINDS + ["total"]:
        g, s = result["git"]["site"][kind], result["s3"]["site"][kind]
        lines.append(f"| {kind} | {g['files']:,} | {human(g['bytes'])} | {s['files']:,} | {human(s['bytes'])} |")
    lines.append(f"| full build (wall / CPU s) | {result['git']['build_seconds']:.1f} / {result['git']['build_cpu']:.1f} | "
                 f"| {result['s3']['build_seconds']:.1f} / {result['s3']['build_cpu']:.1f} | |")
    return "\n".join(lines)


def change_table(results: List[Dict], runs: int) -> str:
    head = "| step | " + " | ".join(f"{r['gigabytes']:g} GB ({r['wheels']:,} wheels): wall / CPU / S3 server CPU s" for r in results) + " |"
    lines = [f"One release added (one {results[0]['wheel_mib']:g} MiB wheel), medians of {runs} runs:", "", head,
             "|---|" + "---:|" * len(results)]
    for step in STEPS + ["total", "verify --full-store"]:
        cells = []
        for r in results:
            m = r["median"][step]
            cells.append(f"{m['seconds']:.2f} / {m['cpu']:.2f} / {m['server_cpu']:.2f}")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines[-1] = lines[-1].replace("| verify --full-store |", "| verify --full-store (no record of checked objects; once) |")
    lines.append("| load average (1 min, median at verify) | " + " | ".join(f"{r['median']['verify']['load']:.2f}" for r in results) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds (tiny sizes, one run)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "pagesindex-bench" / "stores")
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--sizes", default="1,10", help="GB of files in the index of the change figure, comma-separated")
    parser.add_argument("--wheel-mib", type=float, default=10.0, help="size of each synthetic wheel, MiB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50, help="wheels per add while filling an index")
    parser.add_argument("--only", choices=["artifact", "change"], help="one figure only")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.files, args.sizes, args.wheel_mib, args.runs, args.batch = 20, 120, "0.002,0.004", 0.1, 1, 50
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    args.cache.mkdir(parents=True, exist_ok=True)
    results: Dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "load_at_start": os.getloadavg()},
    }
    out: List[str] = []
    if args.only in (None, "artifact"):
        results["artifact"] = artifact(args.cache, args.projects, args.files)
        out.append(artifact_table(results["artifact"]))
    if args.only in (None, "change"):
        s3 = S3()
        try:
            changes = [change(args.cache, s3, size, args.wheel_mib, args.runs, args.batch) for size in sizes]
        finally:
            s3.close()
        results["change"] = changes
        out.append(change_table(changes, args.runs))
    results["machine"]["load_at_end"] = os.getloadavg()
    (args.cache / "stores-last-run.json").write_text(json.dumps(results, indent=1))
    m = results["machine"]
    print(f"\n{m['date']}, {m['cpus']} CPUs, Python {m['python']}, load average at start "
          f"{' '.join(f'{x:.2f}' for x in m['load_at_start'])}, at end {' '.join(f'{x:.2f}' for x in m['load_at_end'])}\n")
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
