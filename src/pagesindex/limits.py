"""Size limits of the hosts an index is published on, and of the archives it reads.

The defaults are the documented limits of GitHub:

* a file in a repository may not exceed 100 MiB ("GitHub blocks files larger than 100 MiB",
  GitHub Docs, *About large files on GitHub*), and every distribution file is committed under
  ``packages/``;
* a published GitHub Pages site may be no larger than 1 GB (GitHub Docs, *GitHub Pages limits*);
  1 GB is taken as 10**9 bytes, the smaller reading.

Each limit can be lowered (or raised, for another host) through an environment variable, read at
each call; the test suite uses them so that it never has to write a gigabyte.

Every setting that pagesindex reads from the environment goes through :func:`env_int` or
:func:`env_seconds`: unset or empty means the default, and any other value that is not what the
setting takes raises :class:`~pagesindex.errors.InvalidSetting` naming the variable and the value
(the command line prints it as one ``error:`` line). This module imports only
:mod:`pagesindex.errors`.
"""

from __future__ import annotations

import math
import os
import re
from typing import Optional

from .errors import InvalidSetting

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


#: A whole number as the settings take it: ASCII digits only (``str.isdigit`` also accepts
#: ``²`` and other digits that ``int`` refuses).
_WHOLE = re.compile(r"[0-9]+")


def _raw(var: str) -> Optional[str]:
    """The value of ``var`` with surrounding spaces removed; None when unset or empty."""
    text = os.environ.get(var, "").strip()
    return text or None


def env_int(var: str, default: int, *, minimum: int = 1) -> int:
    """The whole number in the environment variable ``var``, else ``default`` (unset or empty).

    The value must be ASCII digits (surrounding spaces ignored) and at least ``minimum``;
    anything else raises :class:`~pagesindex.errors.InvalidSetting`, whose message names the
    variable and the value.

    >>> env_int("PAGESINDEX_DOCTEST_UNSET", 7)
    7
    """
    text = _raw(var)
    if text is None:
        return default
    if not _WHOLE.fullmatch(text) or int(text) < minimum:
        raise InvalidSetting(f"invalid {var}: {os.environ[var]!r} (a whole number >= {minimum} expected)")
    return int(text)


def env_seconds(var: str, default: float) -> float:
    """The number of seconds in the environment variable ``var`` (``"0.5"``, ``"30"``), else
    ``default`` (unset or empty). A value that is not a finite decimal number >= 0 raises
    :class:`~pagesindex.errors.InvalidSetting` naming the variable and the value.

    >>> env_seconds("PAGESINDEX_DOCTEST_UNSET", 1.5)
    1.5
    """
    text = _raw(var)
    if text is None:
        return default
    value = float(text) if re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", text) else math.nan
    if not math.isfinite(value):
        raise InvalidSetting(f"invalid {var}: {os.environ[var]!r} (a number of seconds >= 0 expected)")
    return value


def limit(kind: str) -> int:
    """The limit ``kind`` ("file", "site", "metadata", "members", "unpacked") in bytes (members:
    a count).

    The environment variable of that limit (``PAGESINDEX_MAX_FILE_BYTES``, ...) overrides the
    default; a value that is not a whole number >= 1 raises
    :class:`~pagesindex.errors.InvalidSetting` (see :func:`env_int`).

    >>> limit("file") == GITHUB_FILE_LIMIT or "PAGESINDEX_MAX_FILE_BYTES" in os.environ
    True
    """
    var, default = _ENV[kind]
    return env_int(var, default)


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
