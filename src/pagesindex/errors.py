"""Exceptions raised by pagesindex.

Every exception carries a one-line message that names the bad value, so the command line can
print it as it is. They all derive from :class:`PagesIndexError`.
"""

from __future__ import annotations


class PagesIndexError(Exception):
    """Base class: a failure the user can act on (printed as one line, exit status 1)."""


class InvalidName(PagesIndexError, ValueError):
    """A project name that is not valid per PEP 508 / PEP 503."""


class InvalidVersion(PagesIndexError, ValueError):
    """A version that is not a PEP 440 version."""


class InvalidDistribution(PagesIndexError):
    """A file that is not a well-formed wheel or sdist (bad filename, bad archive, bad metadata)."""


class MetadataMismatch(InvalidDistribution):
    """A file's core metadata names another project or version than its filename."""


class FileConflict(PagesIndexError):
    """A different file under a filename that the index already holds (files are immutable)."""


class NotFound(PagesIndexError, LookupError):
    """A project, release or file that the index does not have."""


class IndexStateError(PagesIndexError):
    """The index repository itself is missing or malformed (index.toml, projects/*.json)."""


class LimitExceeded(PagesIndexError):
    """A file or a site larger than its host accepts (GitHub: 100 MiB a file, Pages: 1 GB a site)."""


class InvalidSetting(PagesIndexError, ValueError):
    """A setting read from the environment (``PAGESINDEX_MAX_FILE_BYTES``, ...) with a bad value;
    the message names the variable and the value."""
