"""pagesindex: a private Python package index made of static files.

The committed state of an index repository (``index.toml``, ``projects/*.json`` and the
distribution files under ``packages/``) is the source of truth; ``pagesindex build`` turns it
into a static site that serves the simple repository API (PEP 503, 592, 629, 658, 691, 700, 714).
"""

__version__ = "0.1.0"
