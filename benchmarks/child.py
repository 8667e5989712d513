"""In-process measurements, run by run.py as a child process (one task per process).

Each task prints one JSON object on stdout: ``{"seconds": <wall time of the work alone>, ...}``;
the parent reads the child's peak memory from the operating system when it exits. Timing inside
the process leaves out interpreter start-up and imports, which the CLI measurements include.

Tasks:
  floor FILE...            read and sha256 every file once, 1 MiB at a time
  copyfloor DIR FILE...    reference copy, one pass per file: read, sha256, write into DIR, fsync
  ingest INDEX FILE...     pagesindex API: Index.add_paths (as `pagesindex add`), then build_site
  ingest-nosync INDEX FILE...  the same with the copies' fsync switched off (an experiment that
                           shows what durability costs; pagesindex itself always syncs)
  build INDEX OUT          pagesindex API: build_site(INDEX, OUT)
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path


def floor(paths):
    started = time.perf_counter()
    total = 0
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(1024 * 1024)
                if not chunk:
                    break
                digest.update(chunk)
                total += len(chunk)
    return {"seconds": time.perf_counter() - started, "bytes": total}


def copyfloor(folder, paths):
    import os

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    total = 0
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as fh, open(folder / Path(path).name, "wb") as out:
            while True:
                chunk = fh.read(1024 * 1024)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                total += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    return {"seconds": time.perf_counter() - started, "bytes": total}


def ingest(root, paths):
    """The API path of `pagesindex add`: Index.add_paths (copy while hashing, inspect the copy,
    one batch of fsync, records), then build_site. "inspect" is 0: it is part of "add"."""
    from pagesindex.render import build_site
    from pagesindex.state import Index

    index = Index(Path(root))
    started = time.perf_counter()
    with index.lock():
        result = index.add_paths([Path(p) for p in paths])
    t_add = time.perf_counter()
    build_site(index, Path(root) / "_site")
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "inspect": 0.0,
        "add": t_add - started,
        "build": done - t_add,
        "added": len(result.added),
    }


def build(root, out):
    from pagesindex.render import build_site
    from pagesindex.state import Index

    index = Index(Path(root))
    started = time.perf_counter()
    result = build_site(index, Path(out))
    return {
        "seconds": time.perf_counter() - started,
        "rendered": len(result.rendered),
        "written": len(result.written),
    }


def main(argv):
    task, args = argv[0], argv[1:]
    if task == "floor":
        out = floor(args)
    elif task == "copyfloor":
        out = copyfloor(args[0], args[1:])
    elif task == "ingest":
        out = ingest(args[0], args[1:])
    elif task == "ingest-nosync":
        import pagesindex.state

        pagesindex.state._fsync_path = lambda path: None
        out = ingest(args[0], args[1:])
    elif task == "build":
        out = build(args[0], args[1])
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
