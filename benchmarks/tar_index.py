#!/usr/bin/env python3
"""The whole-site check of a deploy that kept the site as a tar (issue 17; not part of the package).

GitHub's Pages deploy takes the site as one tar (``artifact.tar`` in the ``github-pages``
artifact). The deploy workflow extracts the last deploy's tar, and then lists the folder twice:
``build --previous-state`` (names: the site must be the saved state's before the build deletes
anything) and ``verify --previous-state`` (names and sizes: the whole-site check). A deploy that
kept the tar would read the tar's member headers instead. This prints what each costs on the
same tar, so that the two designs can be compared on one machine:

    benchmarks/tar_index.py ARTIFACT.tar [--state VERIFIED.json] [--extract-into EMPTY_FOLDER]

- the member headers read in Python (:func:`members`: one pass over a memory map);
- ``tarfile``'s own listing of the same tar, for reference;
- with ``--state``: the names and sizes compared with those a saved state expects (the root's
  files and every project's), as ``verify --previous-state`` compares the folder's;
- with ``--extract-into``: ``tar -xf`` into that folder (as the workflow's step does), then the
  two folder listings of the deploy (``pagesindex.checks.verify._site_entries``).
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Dict, Iterator, Tuple

BLOCK = 512
REGULAR = (b"0", b"\0", b"7")


def _number(field: bytes) -> int:
    """A tar header's numeric field: octal digits, or GNU's base-256 (first byte 0x80)."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip()
    return int(digits, 8) if digits else 0


def _pax(data: bytes) -> Dict[str, str]:
    """The records of a pax extended header (``"LEN key=value\\n"``)."""
    found: Dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        found[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return found


def members(path: Path) -> Iterator[Tuple[str, int, bytes]]:
    """``(name, size, type flag)`` of each member of the uncompressed tar at ``path``, in order:
    ustar, GNU (long names in ``L`` members) and pax (``x``) headers as GNU tar writes them; the
    leading ``./`` is dropped. Raises ValueError for a header that is not one (no ``ustar``
    magic, or a size that is not a number). The header checksums are not computed: summing 512
    bytes in Python made the read twice as slow (1.43 s against 0.66 s for the 287,160
    members of a 10,000-project site), and the artifact's download has its own digest."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            pos, end = 0, len(mm)
            long_name = None
            pax: Dict[str, str] = {}
            while pos + BLOCK <= end:
                header = mm[pos:pos + BLOCK]
                if header == b"\0" * BLOCK:
                    return
                try:
                    size = _number(header[124:136]) if header[257:262] == b"ustar" else -1
                except ValueError:
                    size = -1
                if size < 0:
                    raise ValueError(f"{os.fspath(path)!r}: no tar header at byte {pos}")
                kind = header[156:157]
                data_at = pos + BLOCK
                if kind in (b"L", b"x", b"g", b"K"):
                    pos = data_at + (size + BLOCK - 1) // BLOCK * BLOCK
                    if kind == b"L":
                        long_name = mm[data_at:data_at + size].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                    elif kind == b"x":
                        pax = _pax(mm[data_at:data_at + size])
                    continue
                if long_name is not None:
                    name = long_name
                else:
                    name = header[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                    if header[257:263] == b"ustar\0" and header[345:346] != b"\0":
                        name = header[345:500].split(b"\0", 1)[0].decode("utf-8", "surrogateescape") + "/" + name
                name = pax.get("path", name)
                size = int(pax["size"]) if "size" in pax else size  # a pax size holds for the data too
                pos = data_at + (size + BLOCK - 1) // BLOCK * BLOCK
                long_name, pax = None, {}
                if name.startswith("./"):
                    name = name[2:]
                yield name.rstrip("/"), size, kind


def files_of(path: Path) -> Tuple[Dict[str, int], int]:
    """``({name of each regular file: size}, count of other members)``."""
    files: Dict[str, int] = {}
    others = 0
    for name, size, kind in members(path):
        if kind in REGULAR:
            files[name] = size
        else:
            others += 1
    return files, others


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tar", type=Path)
    parser.add_argument("--state", type=Path, help="verified.json of the state saved with that site")
    parser.add_argument("--extract-into", type=Path, help="an empty folder: time tar -xf and the folder listings too")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    files, others = files_of(args.tar)
    took = time.perf_counter() - start
    print(f"member headers read: {len(files):,} files, {others:,} other members (folders) in {took:.3f} s")
    start = time.perf_counter()
    with tarfile.open(args.tar) as tf:
        count = len(tf.getmembers())
    print(f"tarfile's listing of the same tar: {count:,} members in {time.perf_counter() - start:.3f} s")
    if args.state:
        start = time.perf_counter()
        state = json.loads(args.state.read_bytes())
        expected = dict(state["root"])
        for entry in state["projects"].values():
            expected.update(entry["outputs"])
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        same = files == expected
        print(f"state read in {loaded:.3f} s; names and sizes {'equal' if same else 'DIFFER'} "
              f"({len(expected):,} expected) in {time.perf_counter() - start:.3f} s")
    if args.extract_into:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        from pagesindex.checks.verify import _site_entries

        folder = args.extract_into
        folder.mkdir(parents=True, exist_ok=True)
        if any(folder.iterdir()):
            parser.error(f"--extract-into {os.fspath(folder)!r} is not empty")
        start = time.perf_counter()
        subprocess.run(["tar", "-xf", os.fspath(args.tar), "-C", os.fspath(folder), "--no-same-owner",
                        "--no-same-permissions"], check=True)
        print(f"tar -xf: {time.perf_counter() - start:.3f} s")
        for sizes in (False, True):
            start = time.perf_counter()
            listed = _site_entries(folder, sizes=sizes)[0]
            took = time.perf_counter() - start
            same = listed == files if sizes else listed.keys() == files.keys()
            what = "names and sizes" if sizes else "names"
            print(f"folder listing ({what}): {len(listed):,} files in {took:.3f} s; {what} "
                  f"{'equal to' if same else 'NOT equal to'} the tar's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
