"""What the pages for people show: READMEs, file facts, links, install commands, theme.

Part of the render layer: pure functions from the state (records, core metadata bytes, index
settings) to the values that the templates print. Everything that came from a package author
(summary, author, README, URLs) is either escaped by the templates (Jinja2 autoescape) or, for
the README, rendered and sanitized by ``readme_renderer`` (which cleans with ``nh3``) and then
rewritten so that only links to ``http(s)``/``mailto`` targets and in-page anchors remain.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .errors import IndexStateError
from .model import WHEEL, Project, Release

#: Core metadata content types that the README renderer knows (core metadata spec,
#: "Description-Content-Type"); anything else is shown as plain text.
MARKDOWN = "text/markdown"
RST = "text/x-rst"
PLAIN = "text/plain"

#: Default index name used in the uv, poetry and pdm snippets (``[index] name`` overrides it).
DEFAULT_SOURCE_NAME = "private"

_SAFE_SCHEMES = ("http", "https")
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: What may appear in a shell command that a page offers to copy: a filename, URL or tag with
#: nothing that a shell expands inside double quotes (``$``, backquote, ``"``, ``\``) or splits on.
_SHELL_SAFE = re.compile(r"^[A-Za-z0-9._+!~%:/@#=,-]+$")
_LOGO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*\.(svg|png|jpg|jpeg|gif|webp)$")


def safe_url(url: Any) -> Optional[str]:
    """``url`` when it is an absolute ``http``/``https`` URL with a host, else ``None``.

    Used for every URL that a package author wrote (Home-page, Project-URL, repository), so
    ``javascript:``, ``data:`` and relative URLs never become links.

    >>> safe_url("https://example.org/x"), safe_url("javascript:alert(1)"), safe_url(" http://a b")
    ('https://example.org/x', None, None)
    """
    if not isinstance(url, str):
        return None
    if url != url.strip() or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SAFE_SCHEMES or not parts.netloc:
        return None
    return url


def human_size(size: int) -> str:
    """A byte count in binary units: ``human_size(1536) == '1.5 KiB'``.

    >>> human_size(999), human_size(1536), human_size(5 * 1024 ** 2)
    ('999 B', '1.5 KiB', '5.0 MiB')
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def short_time(timestamp: str) -> str:
    """``2026-11-30T00:00:00Z`` -> ``2026-11-30 00:00`` (PEP 700 upload-time in UTC, shortened)."""
    match = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)", timestamp or "")
    return f"{match.group(1)} {match.group(2)}" if match else (timestamp or "")


@functools.lru_cache(maxsize=4096)
def _wheel_tags(filename: str) -> "Optional[frozenset]":
    """The tags of a wheel filename (``packaging.utils.parse_wheel_filename``), None when it is
    not one; cached, as a build asks for each file's tags several times."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # loads packaging.tags: not at start-up

    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return None


def file_tags(filename: str, kind: str) -> Dict[str, str]:
    """Python and platform tags of a wheel filename (``packaging.utils.parse_wheel_filename``).

    Returns ``{"python": "cp312", "abi": "cp312", "platform": "manylinux_2_17_x86_64"}`` (several
    tags joined with ``", "``); an sdist gives ``{"python": "source", "abi": "", "platform": "any"}``.
    """
    if kind != WHEEL:
        return {"python": "source", "abi": "", "platform": "any"}
    tags = _wheel_tags(filename)
    if tags is None:
        return {"python": "?", "abi": "?", "platform": "?"}
    python = sorted({t.interpreter for t in tags})
    abi = sorted({t.abi for t in tags})
    platform = sorted({t.platform for t in tags})
    return {"python": ", ".join(python), "abi": ", ".join(abi), "platform": ", ".join(platform)}


def is_universal(filename: str) -> bool:
    """True for a pure-Python wheel that installs anywhere (platform ``any``, ABI ``none``)."""
    tags = _wheel_tags(filename)
    if tags is None:
        return False
    return all(t.platform == "any" and t.abi == "none" for t in tags)


# -- README ------------------------------------------------------------------------------


class _Rewriter(HTMLParser):
    """Re-emit sanitized README HTML, keeping only links that make sense on this site.

    ``<a href>`` keeps http(s), mailto and ``#fragment`` targets; other hrefs (relative paths
    that point into the project's repository, not this site) are dropped, the text stays.
    ``<img>`` with an http(s) source becomes a link to the image (the page loads nothing from
    other hosts), or its alt text inside a link (a badge); any other ``<img>`` becomes its alt text.
    """

    VOID = {"br", "hr", "img", "input", "col", "wbr", "area", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: List[str] = []
        self.open_links = 0

    @staticmethod
    def _attrs(attrs: List[Tuple[str, Optional[str]]]) -> str:
        return "".join(f' {k}="{html.escape(v or "", quote=True)}"' for k, v in attrs)

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        if tag == "img":
            src = dict(attrs).get("src") or ""
            alt = dict(attrs).get("alt") or ""
            if self.open_links:  # a badge inside a link: its text only, links do not nest
                self.out.append(f"<span class=\"img-alt\">[{html.escape(alt or 'image', quote=False)}]</span>")
            elif safe_url(src):
                label = alt or src.rsplit("/", 1)[-1] or "image"
                self.out.append(f'<a class="ext-img" href="{html.escape(src, quote=True)}" rel="nofollow">'
                                f"[image: {html.escape(label, quote=False)}]</a>")
            elif alt:
                self.out.append(f"<span class=\"img-alt\">[{html.escape(alt, quote=False)}]</span>")
            return
        if tag == "a":
            kept = []
            for key, value in attrs:
                if key == "href":
                    value = value or ""
                    if not (safe_url(value) or value.startswith("#") or value.lower().startswith("mailto:")):
                        continue
                kept.append((key, value))
            attrs = kept
            self.open_links += 1
        self.out.append(f"<{tag}{self._attrs(attrs)}>")

    def handle_startendtag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if tag == "a":
            self.open_links = max(0, self.open_links - 1)
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))


def _rewrite_slow(fragment: str) -> str:
    parser = _Rewriter()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.out)


#: One token of the HTML that ``nh3`` serializes (html5ever): text without ``<``, a start tag
#: in lower case with ``name="value"`` attributes, or an end tag. Anything else (a comment, a
#: stray ``<``, upper case, unquoted values) makes :func:`_rewrite` use ``HTMLParser`` instead.
_TOKEN = re.compile(
    r'([^<]+)'
    r'|<([a-z][a-z0-9]*)((?:[ \t\n]+[a-z_:][a-z0-9_:.-]*(?:="[^"]*")?)*)[ \t\n]*(/?)>'
    r'|</([a-z][a-z0-9]*)[ \t\n]*>'
)
_ATTR = re.compile(r'[ \t\n]+([a-z_:][a-z0-9_:.-]*)(?:="([^"]*)")?')


def _rewrite(fragment: str) -> str:
    """:class:`_Rewriter` over ``fragment``: the same events, read by one regular expression.

    ``readme_renderer`` cleans with ``nh3``, whose output is regular (the :data:`_TOKEN` forms);
    ``HTMLParser`` in pure Python took half the time of a Markdown README. Text and attribute
    values are unescaped then escaped again, as ``HTMLParser(convert_charrefs=True)`` and
    :class:`_Rewriter` do; any input outside those forms goes to ``HTMLParser`` itself.
    """
    rewriter = _Rewriter()
    unescape = html.unescape
    pos = 0
    end = len(fragment)
    match = _TOKEN.match
    while pos < end:
        token = match(fragment, pos)
        if token is None:
            return _rewrite_slow(fragment)
        pos = token.end()
        text, tag, attrs, _slash, closing = token.groups()
        if text is not None:
            rewriter.handle_data(unescape(text))
        elif tag is not None:
            if tag in _Rewriter.CDATA_CONTENT_ELEMENTS:
                return _rewrite_slow(fragment)  # HTMLParser reads their content as raw text
            pairs = [(m.group(1), None if m.group(2) is None else unescape(m.group(2))) for m in _ATTR.finditer(attrs)]
            rewriter.handle_starttag(tag, pairs)
        else:
            rewriter.handle_endtag(closing)
    return "".join(rewriter.out)


#: Bumped whenever :func:`render_readme`'s output changes for the same input (new link policy).
README_CACHE_VERSION = "1"


@functools.lru_cache(maxsize=None)
def _code_digest() -> str:
    """sha256 of this module's source: a change to the README code makes new cache keys."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _renderer_versions() -> str:
    """The versions of what renders a README, part of every cache key."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return ""
    out = []
    for dist in ("readme_renderer", "docutils", "cmarkgfm", "nh3", "pygments", "markdown-it-py"):
        try:
            out.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist}=-")
    return ",".join(out)


def user_cache_folder() -> str:
    """The folder of what builds keep between runs outside the index (rendered READMEs, build
    manifests): ``$PAGESINDEX_CACHE_DIR``, else ``$XDG_CACHE_HOME/pagesindex``, else
    ``~/.cache/pagesindex``."""
    folder = os.environ.get("PAGESINDEX_CACHE_DIR", "").strip()
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "pagesindex")
    return folder


class ReadmeCache:
    """Rendered README HTML kept by content in ``<folder>/readme/<key>.html``.

    Rendering a README is the dearest step of a first build (docutils parses reStructuredText in
    pure Python: about 80 ms per README on real wheels, up to 1 s for a long one; Markdown about
    20 ms), and a README's HTML depends only on its text, its content type and the versions of
    the renderers; the key is the sha256 of those (and :data:`README_CACHE_VERSION`). A cached
    entry is the sanitized, rewritten HTML that :func:`render_readme` returned, so the folder is
    trusted like the built site itself: keep it out of git and never fill it from an untrusted
    source. Entries are written through a temporary file and a rename, without fsync (a lost
    entry is rendered again); unreadable entries are ignored.
    """

    def __init__(self, folder: "os.PathLike[str] | str") -> None:
        self.folder = Path(folder) / "readme"
        self._versions: Optional[str] = None
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_user(cls) -> "ReadmeCache":
        """The cache the build uses, in :func:`user_cache_folder`. It lives outside the index on
        purpose: its entries are included in pages as they are, and a pull request can add files
        to the index folder (even git-ignored ones, with ``git add -f``) but not to a
        maintainer's or runner's home."""
        return cls(user_cache_folder())

    def key(self, text: str, content_type: str) -> str:
        if self._versions is None:
            self._versions = _renderer_versions()
        digest = hashlib.sha256()
        for part in (README_CACHE_VERSION, _code_digest(), self._versions, content_type or "", text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> Optional[Tuple[str, str]]:
        try:
            data = (self.folder / f"{key}.html").read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        kind, sep, body = data.partition("\n")
        if not sep or kind not in ("markdown", "rst", "plain"):
            return None
        return body, kind

    def put(self, key: str, body: str, kind: str) -> None:
        from .state import atomic_write

        try:
            atomic_write(self.folder / f"{key}.html", f"{kind}\n{body}".encode("utf-8", "surrogatepass"), sync=False)
        except OSError:
            pass  # a cache that cannot be written is only slower

    def render(self, text: str, content_type: str = "") -> Tuple[str, str]:
        """:func:`render_readme`, from the cache when the same README was rendered before."""
        if not text or not text.strip():
            return "", ""
        key = self.key(text, content_type)
        found = self.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        body, kind = render_readme(text, content_type)
        self.put(key, body, kind)
        return body, kind


#: The longest README (characters) rendered as Markdown, as reStructuredText, and shown at all
#: (as plain text, cut there, saying so). The renderers take up to 90 (Markdown) and 400
#: (docutils, on a long list) times the text's size in memory: an 8 MiB description, which the
#: metadata bound allows, took 732 MiB and more than 1.7 GB in `build`, a 512 KiB
#: reStructuredText list 234 MiB (benchmarks/hostile_memory.py); longer texts fall back to plain.
README_MARKDOWN_LIMIT = 1024 * 1024
README_RST_LIMIT = 128 * 1024
README_RENDER_LIMIT = 1024 * 1024


def render_readme(text: str, content_type: str = "") -> Tuple[str, str]:
    """Render a README to sanitized HTML with ``readme_renderer``; return ``(html, kind)``.

    ``content_type`` is the core metadata Description-Content-Type (``text/markdown`` with an
    optional ``variant=GFM|CommonMark`` parameter, ``text/x-rst``, ``text/plain``); ``kind`` is
    ``"markdown"``, ``"rst"`` or ``"plain"``: what was actually rendered. As on PyPI, a missing
    content type means reStructuredText, and a reStructuredText text that does not render (or
    an unknown type) is shown as plain text. Empty text gives ``("", "")``. A text longer than
    :data:`README_RENDER_LIMIT` characters is cut there, shown as plain text, and says so; one
    longer than :data:`README_MARKDOWN_LIMIT` / :data:`README_RST_LIMIT` is shown as plain text.
    """
    if not text or not text.strip():
        return "", ""
    if len(text) > README_RENDER_LIMIT:
        note = f"\n\n[README cut at {README_RENDER_LIMIT} of its {len(text)} characters]\n"
        text = text[:README_RENDER_LIMIT] + note
        content_type = "text/plain"
    main, _, params = (content_type or RST).partition(";")
    main = main.strip().lower()
    variant = "GFM"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "variant" and value.strip():
            variant = value.strip().strip('"')
    rendered: Optional[str] = None
    kind = "plain"
    if (main == MARKDOWN and len(text) > README_MARKDOWN_LIMIT) or (main == RST and len(text) > README_RST_LIMIT):
        main = "text/plain"
    if main == MARKDOWN:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from readme_renderer import markdown

            rendered = markdown.render(text, variant=variant if variant in ("GFM", "CommonMark") else "GFM")
        kind = "markdown"
    elif main == RST:
        from readme_renderer import rst

        rendered = rst.render(text)
        kind = "rst"
    if rendered is None:
        from readme_renderer import txt

        rendered = txt.render(text) or ""
        kind = "plain"
    return _rewrite(rendered), kind


# -- core metadata -------------------------------------------------------------------------


def parse_core_metadata(data: bytes) -> Dict[str, Any]:
    """The fields of core metadata bytes that pages show (``packaging.metadata.parse_email``).

    Returns ``{"description", "description_content_type", "requires_dist": [...],
    "project_urls": {label: url}, "home_page"}``; undecodable bytes give empty fields.
    """
    from packaging.metadata import parse_email  # imported here: a build with nothing to render skips it

    try:
        raw, _unparsed = parse_email(data)
    except Exception:  # pragma: no cover - parse_email is lenient; be lenient too
        raw = {}
    return {
        "description": raw.get("description") or "",
        "description_content_type": raw.get("description_content_type") or "",
        "requires_dist": [str(r) for r in raw.get("requires_dist") or []],
        "project_urls": dict(raw.get("project_urls") or {}),
        "home_page": raw.get("home_page") or "",
    }


def metadata_file(release: Release) -> Optional[Any]:
    """The distribution file whose core metadata stands for the release: a wheel, else an sdist."""
    files = sorted(release.files, key=lambda f: (f.kind != WHEEL, f.filename))
    return files[0] if files else None


def release_readme(release: Release, metadata: Dict[str, Any], cache: Optional[ReadmeCache] = None) -> Tuple[str, str, str]:
    """``(html, kind, origin)`` of a release's README.

    ``release.extra["readme"]`` (``{"text", "content_type", "from"}``, kept when the core metadata
    had no description) wins when present; otherwise the core metadata Description with its
    Description-Content-Type. ``origin`` says where it came from, for the page. With ``cache``
    (:class:`ReadmeCache`), a README rendered before is taken from it.
    """
    render = cache.render if cache is not None else render_readme
    extra = release.extra.get("readme") if isinstance(release.extra, dict) else None
    if isinstance(extra, dict) and isinstance(extra.get("text"), str) and extra["text"].strip():
        body, kind = render(extra["text"], str(extra.get("content_type") or PLAIN))
        origin = str(extra.get("from") or "the repository")
        return body, kind, origin
    body, kind = render(metadata.get("description", ""), metadata.get("description_content_type", ""))
    return body, kind, "core metadata" if body else ""


def project_links(project: Project, metadata: Dict[str, Any]) -> List[Tuple[str, str]]:
    """``[(label, url)]``: homepage, repository and the newest release's Project-URLs, http(s) only.

    Each label says where the URL comes from: ``(index)`` for the project's record (set with
    ``--homepage`` or by ``migrate`` from the old page), ``(metadata)`` for the core metadata of
    the newest release, so that two different home pages are not shown as if they were one.
    """
    links: List[Tuple[str, str]] = []
    seen = set()

    def add(label: str, url: Any) -> None:
        url = safe_url(url)
        if url and url.rstrip("/") not in seen:
            seen.add(url.rstrip("/"))
            links.append((label, url))

    add("Homepage (index)", project.homepage)
    repo = project.extra.get("repository") if isinstance(project.extra, dict) else None
    if isinstance(repo, dict):
        add("Repository", repo.get("url"))
    for label, url in sorted(metadata.get("project_urls", {}).items()):
        add(f"{str(label)[:40]} (metadata)", url)
    add("Home-page (metadata)", metadata.get("home_page"))
    return links


# -- index settings --------------------------------------------------------------------------


def site_settings(raw: Dict[str, Any], static_names: List[str], pypi_base_url: str = "https://pypi.org") -> Dict[str, Any]:
    """Page settings from ``index.toml``: source name, PyPI URL, theme colours and logo.

    ``pypi_base_url`` is ``IndexConfig.pypi_base_url`` (``[pypi] url``), which the live check in
    the browser asks.

    ``[index] name`` (default ``private``) names this index in the uv, poetry and pdm snippets;
    ``[theme] accent / background / text`` are CSS colours (``#rgb``, ``#rrggbb`` or a colour
    name); ``[theme] logo`` is a file in the index repository's ``static/`` folder. Raises
    :class:`~pagesindex.errors.IndexStateError` naming a bad value (a colour that is not a colour
    could otherwise inject CSS).
    """
    index = raw.get("index", {}) if isinstance(raw.get("index", {}), dict) else {}
    theme = raw.get("theme", {})
    if not isinstance(theme, dict):
        raise IndexStateError(f"index.toml: [theme] must be a table, not {theme!r}")
    name = index.get("name", DEFAULT_SOURCE_NAME)
    if not isinstance(name, str) or not _SOURCE_NAME.match(name):
        raise IndexStateError(f"index.toml: index.name must be letters, digits, '.', '_' or '-', not {name!r}")
    colours = {}
    for key, default in (("accent", "#8a1538"), ("background", "#ffffff"), ("text", "#1d2330")):
        value = theme.get(key, default)
        if not isinstance(value, str) or not _COLOUR.match(value):
            raise IndexStateError(f"index.toml: theme.{key} must be a CSS colour like '#8a1538', not {value!r}")
        colours[key] = value
    logo = theme.get("logo")
    if logo is not None:
        if not isinstance(logo, str) or not _LOGO.match(logo) or ".." in logo.split("/"):
            raise IndexStateError(f"index.toml: theme.logo must name an image file in static/, not {logo!r}")
        if logo not in static_names:
            raise IndexStateError(f"index.toml: theme.logo {logo!r} is not a file in the index's static/ folder")
    return {"source_name": name, "colours": colours, "logo": logo, "pypi_url": safe_url(pypi_base_url) or "https://pypi.org"}


def theme_css(settings: Dict[str, Any]) -> bytes:
    """``_static/theme.css``: the colours of ``[theme]`` as CSS custom properties."""
    c = settings["colours"]
    return (f":root {{ --accent: {c['accent']}; --bg: {c['background']}; --fg: {c['text']}; }}\n").encode()


def csp(pypi_url: str) -> str:
    """The Content-Security-Policy of every page: scripts and styles from this site only (no
    inline script, no ``on*`` attribute runs), images from this site, and connections to this
    site and to the PyPI origin that the live check asks."""
    parts = urlsplit(pypi_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin):
        origin = "https://pypi.org"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {origin}; base-uri 'none'; form-action 'none'"
    )


# -- install commands --------------------------------------------------------------------------


def _base_url(url: str) -> str:
    url = (url or "").strip()
    if not safe_url(url) or not _SHELL_SAFE.match(url):
        return "https://URL-OF-THIS-INDEX/"
    return url if url.endswith("/") else url + "/"


def runtime_dependencies(requires_dist: Sequence[str]) -> List[str]:
    """Normalized names of the Requires-Dist entries (PEP 508) not behind an ``extra`` marker,
    sorted; entries that do not parse are left out.

    >>> runtime_dependencies(["numpy>=1.26", 'rich; extra == "cli"', "Deal==4.24.4"])
    ['deal', 'numpy']
    """
    # Kept per list: a build asks twice per release, and a project's releases mostly share one.
    return list(_runtime_dependencies(tuple(requires_dist)))


@functools.lru_cache(maxsize=4096)
def _runtime_dependencies(requires_dist: Tuple[str, ...]) -> Tuple[str, ...]:
    from packaging.requirements import InvalidRequirement, Requirement  # imported when first needed
    from packaging.utils import canonicalize_name

    names = set()
    for text in requires_dist:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        names.add(str(canonicalize_name(req.name)))
    return tuple(sorted(names))


def private_dependencies(project: Project, requires_dist: List[str], on_index: Callable[[str], bool]) -> List[str]:
    """Normalized names of the Requires-Dist entries (PEP 508; those not behind an ``extra``
    marker) that are projects of this index, as ``on_index(normalized name)`` says.

    They must be pinned to this index too: uv and poetry apply an explicit index only to the
    dependencies that name it, not to what those depend on.
    """
    return [n for n in runtime_dependencies(requires_dist) if n != project.normalized_name and on_index(n)]


def install_commands(
    project: Project,
    release: Optional[Release],
    settings: Dict[str, Any],
    site_url: str,
    private_deps: Sequence[str] = (),
    requires_dist: Sequence[str] = (),
) -> Dict[str, Any]:
    """The install commands of one release for each client, pinned so PyPI cannot win.

    ``private_deps`` (see :func:`private_dependencies`) are pinned to this index as well.
    ``requires_dist`` (the release's core metadata) decides the form of ``pip_hashes``: without
    dependencies, a ``--require-hashes`` requirements file for this index; with dependencies
    (``--require-hashes`` would need a hash for each of them, and ``--index-url`` would hide
    PyPI), a requirements file naming the file by URL and ``#sha256=`` (pip checks the hash),
    the dependencies coming from the usual index (``pip_hashes_deps`` lists them).

    - pip: a direct URL with ``#sha256=`` (PEP 440 direct reference), else a hash-pinned
      requirement for ``--require-hashes``.
    - uv: the index with ``explicit = true`` and the project pinned in ``[tool.uv.sources]``.
    - poetry: a source with ``priority = "explicit"`` and ``--source``.
    - pdm: a source with ``include_packages`` (those names come from this source only) and
      ``exclude_packages = ["*"]`` (no other name is looked for in it; pdm's include wins).
    Returns ``{"pip", "pip_hashes", "uv", "poetry", "pdm", "git", "version": str, "deps": [names]}``
    (empty strings where a form does not apply).
    """
    base = _base_url(site_url)
    name = project.normalized_name
    source = settings["source_name"]
    out: Dict[str, Any] = {"pip": "", "pip_hashes": "", "pip_hashes_deps": [], "uv": "", "poetry": "", "pdm": "", "git": "",
                           "version": "", "deps": []}
    if release is None:
        return out
    version = release.version
    out["version"] = version
    pin = f"{name}=={version}"
    # A wheel filename's tags are not checked for their characters by packaging; a file whose name
    # a shell would expand is listed in the file table but never put in a command.
    files = [f for f in sorted(release.files, key=lambda f: f.filename) if _SHELL_SAFE.match(f.filename)]
    git = release.extra.get("git") if isinstance(release.extra, dict) else None
    if not files and isinstance(git, dict) and safe_url(git.get("url")) and isinstance(git.get("tag"), str):
        tag = git["tag"]
        if re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", tag) and _SHELL_SAFE.match(git["url"]):
            out["git"] = f'pip install "{name} @ git+{git["url"]}@{tag}"'
        return out
    if not files:
        return out
    chosen = [f for f in files if f.kind == WHEEL and is_universal(f.filename)][:1]
    if not chosen:
        chosen = [f for f in files if f.kind != WHEEL][:1]
    if not chosen:
        chosen = files
    storage = settings.get("storage")  # the index's StorageConfig (render.Renderer.settings)
    if storage is not None and storage.is_object_store:
        from .stores import file_url

        direct = {f.filename: file_url(storage, name, f.filename) for f in chosen}
    else:
        direct = {f.filename: f"{base}packages/{name}/{f.filename}" for f in chosen}
    out["pip"] = "\n".join(
        f'pip install "{name} @ {direct[f.filename]}#sha256={f.sha256}"' for f in chosen
    )
    hashes = " \\\n    ".join(f"--hash=sha256:{f.sha256}" for f in files)
    runtime = [d for d in runtime_dependencies(requires_dist) if d != name]
    if runtime:
        first, *others = chosen
        alternatives = "".join(f"# or, for another platform:\n# {name} @ {base}packages/{name}/{f.filename}#sha256={f.sha256}\n" for f in others)
        out["pip_hashes"] = (
            f"# requirements.txt: {name} by URL, pip checks its sha256\n"
            f"{name} @ {base}packages/{name}/{first.filename}#sha256={first.sha256}\n{alternatives}\n"
            "pip install -r requirements.txt"
        )
        out["pip_hashes_deps"] = runtime
    else:
        out["pip_hashes"] = (
            f"# requirements.txt (every line of it needs hashes then)\n{pin} \\\n    {hashes}\n\n"
            f"pip install --require-hashes --index-url {base} -r requirements.txt"
        )
    deps = [d for d in private_deps if d != name]
    also = "".join(f" {d}" for d in deps)
    sources = "".join(f'{n} = {{ index = "{source}" }}\n' for n in [name] + deps)
    out["uv"] = (
        "# pyproject.toml\n"
        "[[tool.uv.index]]\n"
        f'name = "{source}"\n'
        f'url = "{base}"\n'
        "explicit = true\n\n"
        "[tool.uv.sources]\n"
        f"{sources}\n"
        f'# then\nuv add "{pin}"{also}'
    )
    out["poetry"] = (
        f"poetry source add --priority=explicit {source} {base}\n"
        f'poetry add --source {source} "{pin}"{also}'
    )
    included = ", ".join(f'"{n}"' for n in [name] + deps)
    out["pdm"] = (
        "# pyproject.toml\n"
        "[[tool.pdm.source]]\n"
        f'name = "{source}"\n'
        f'url = "{base}"\n'
        f"include_packages = [{included}]\n"
        'exclude_packages = ["*"]\n\n'
        f'# then\npdm add "{pin}"'
    )
    out["deps"] = deps
    return out


def pypi_state(project: Project, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The dependency-confusion state recorded by ``pagesindex check`` (``project.extra["pypi"]``).

    Returns ``{"status": "higher"|"exists"|"clear"|"unknown"|"", "highest", "versions",
    "checked", "error", "pypi_url", "live_url"}``: ``pypi_url`` is the one the recorded check asked,
    ``live_url`` the one the browser asks (``[pypi] url``); ``status`` is ``""`` when the project was
    never checked.
    """
    data = project.extra.get("pypi") if isinstance(project.extra, dict) else None
    data = data if isinstance(data, dict) else {}
    status = data.get("status") if data.get("status") in ("higher", "exists", "clear", "unknown") else ""
    versions = data.get("versions") if isinstance(data.get("versions"), list) else []
    return {
        "status": status,
        "highest": str(data.get("highest") or ""),
        "versions": [str(v) for v in versions][-10:],
        "checked": str(data.get("checked") or ""),
        "error": str(data.get("error") or ""),
        "pypi_url": safe_url(data.get("pypi_url")) or settings["pypi_url"],
        "live_url": settings["pypi_url"],
    }


def built_by(f: Any) -> Optional[Dict[str, str]]:
    """Who built a distribution file, for the pages: ``{"identity", "repository",
    "repository_url", "workflow", "workflow_url", "commit", "commit_url", "run_url"}`` from the
    file's recorded provenance (the signing certificate's claims, verified at registration,
    PEP 740), or ``None`` for a file without provenance. URLs are http(s) only; the templates
    escape every value."""
    from .attestations import BuiltBy

    by = BuiltBy.from_json(getattr(f, "provenance", None))
    if by is None:
        return None
    repo_url = safe_url(by.repository_url) or ""
    workflow_url = ""
    if by.workflow and by.commit and by.kind == "github":
        workflow_url = safe_url(f"{by.repository_url}/blob/{by.commit}/.github/workflows/{by.workflow}") or ""
    elif by.workflow and by.commit:
        workflow_url = safe_url(f"{by.repository_url}/-/blob/{by.commit}/{by.workflow}") or ""
    return {
        "identity": by.identity,
        "repository": by.repository,
        "repository_url": repo_url,
        "workflow": by.workflow,
        "workflow_url": workflow_url,
        "commit": by.commit,
        "commit_url": safe_url(by.commit_url) or "",
        "run_url": safe_url(by.run) or "",
    }


def provenance_summary(release: Optional[Release]) -> Dict[str, Any]:
    """Whether every file of ``release`` (the newest) has provenance: ``{"files", "with",
    "publishers"}`` (counts, and the distinct identities that built them)."""
    files = list(release.files) if release is not None else []
    found = [built_by(f) for f in files]
    return {
        "files": len(files),
        "with": sum(1 for b in found if b),
        "publishers": sorted({b["identity"] for b in found if b}),
    }
