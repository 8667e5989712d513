"""Size limits of the hosts an index is published on, and of the archives it reads.

The defaults are the documented limits of GitHub:

* a file in a repository may not exceed 100 MiB ("GitHub blocks files larger than 100 MiB",
  GitHub Docs, *About large files on GitHub*), and every distribution file is committed under
  ``packages/``;
* a published GitHub Pages site may be no larger than 1 GB (GitHub Docs, *GitHub Pages limits*);
  1 GB is taken as 10**9 bytes, the smaller reading.

Each limit can be lowered (or raised, for another host) through an environment variable, read at
each call; the test suite uses them so that it never has to write a gigabyte. This module is a
leaf: it imports nothing from pagesindex.
"""

from __future__ import annotations

import os

#: GitHub's per-file limit, in bytes (100 MiB).
GITHUB_FILE_LIMIT = 100 * 1024 * 1024
#: GitHub Pages' published-site limit, in bytes (1 GB).
GITHUB_PAGES_SITE_LIMIT = 1_000_000_000
#: The largest core metadata file (METADATA / PKG-INFO) read, in bytes.
METADATA_LIMIT = 8 * 1024 * 1024
#: The most members an archive may have.
MEMBERS_LIMIT = 100_000
#: The most bytes an sdist's tar members may declare in total (a tar.gz is read through).
UNPACKED_LIMIT = 2 * 1024 * 1024 * 1024

_ENV = {
    "file": ("PAGESINDEX_MAX_FILE_BYTES", GITHUB_FILE_LIMIT),
    "site": ("PAGESINDEX_MAX_SITE_BYTES", GITHUB_PAGES_SITE_LIMIT),
    "metadata": ("PAGESINDEX_MAX_METADATA_BYTES", METADATA_LIMIT),
    "members": ("PAGESINDEX_MAX_ARCHIVE_MEMBERS", MEMBERS_LIMIT),
    "unpacked": ("PAGESINDEX_MAX_UNPACKED_BYTES", UNPACKED_LIMIT),
}


def limit(kind: str) -> int:
    """The limit ``kind`` ("file", "site", "metadata", "members", "unpacked") as an int.

    The environment variable of that limit (``PAGESINDEX_MAX_FILE_BYTES``, ...) overrides the
    default when it holds a positive integer; any other value is ignored.

    >>> limit("file") == GITHUB_FILE_LIMIT or "PAGESINDEX_MAX_FILE_BYTES" in os.environ
    True
    """
    var, default = _ENV[kind]
    text = os.environ.get(var, "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return default


def max_file_bytes() -> int:
    """Largest distribution file accepted, in bytes (default: GitHub's 100 MiB)."""
    return limit("file")


def max_site_bytes() -> int:
    """Largest site (every file under the output folder), in bytes (default: GitHub Pages' 1 GB)."""
    return limit("site")


def human(size: int) -> str:
    """``104857600`` -> ``'104857600 bytes (100.0 MiB)'``: exact bytes plus a readable figure."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} bytes"
    return f"{size} bytes ({value:.1f} {unit})"
