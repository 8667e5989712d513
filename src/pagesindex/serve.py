"""A thin local host for a built site, with PEP 691 content negotiation.

``GET /<project>/`` returns ``index.json`` as ``application/vnd.pypi.simple.v1+json`` when the
``Accept`` header prefers it, and ``index.html`` otherwise (PEP 691, "Content negotiation").
A folder URL without its trailing slash is redirected (301) to the URL with it. A folder
without ``index.html`` is a 404, not a listing of its files, as on GitHub Pages.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from typing import Optional, Tuple

from .errors import PagesIndexError
from .render import HTML_CONTENT_TYPE, JSON_CONTENT_TYPE

_OFFERS = {
    JSON_CONTENT_TYPE: "index.json",
    HTML_CONTENT_TYPE: "index.html",
    "text/html": "index.html",
}


def choose_representation(accept: Optional[str]) -> Tuple[str, str]:
    """Pick ``(content type, file name)`` for a folder URL from an ``Accept`` header (PEP 691).

    The highest ``q`` wins; ties go to the order of the header. No header, or no acceptable
    offer, gives HTML (``text/html``), as PEP 691 allows for a client that sends no preference.

    >>> choose_representation("application/vnd.pypi.simple.v1+json, text/html;q=0.1")
    ('application/vnd.pypi.simple.v1+json', 'index.json')
    """
    best: Tuple[float, int, str] = (-1.0, 0, "text/html")
    for position, item in enumerate((accept or "").split(",")):
        pieces = [p.strip() for p in item.split(";")]
        media = pieces[0].lower()
        q = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media in ("*/*", "application/*", "text/*"):
            media = "text/html"
        # PEP 691: "latest" asks for the newest version the server has; the answer names it.
        media = {
            "application/vnd.pypi.simple.latest+json": JSON_CONTENT_TYPE,
            "application/vnd.pypi.simple.latest+html": HTML_CONTENT_TYPE,
        }.get(media, media)
        if media in _OFFERS and (q, -position) > (best[0], -best[1]):
            best = (q, position, media)
    return best[2], _OFFERS[best[2]]


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder; negotiates project and root pages; quiet unless asked."""

    quiet = True
    extensions_map = dict(
        http.server.SimpleHTTPRequestHandler.extensions_map,
        **{".metadata": "application/octet-stream", ".whl": "application/octet-stream", ".gz": "application/gzip", ".json": "application/json",
           # as GitHub Pages labels them: every page, script and style sheet is UTF-8
           ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"},
    )

    def send_head(self):  # noqa: D401 - http.server hook
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?", 1)[0].endswith("/"):
            media, filename = choose_representation(self.headers.get("Accept"))
            target = os.path.join(path, filename)
            if os.path.isfile(target):
                try:
                    fh = open(target, "rb")
                except OSError:
                    self.send_error(404, "File not found")
                    return None
                size = os.fstat(fh.fileno()).st_size
                self.send_response(200)
                content_type = media if media != "text/html" else "text/html; charset=utf-8"
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(size))
                self.send_header("Vary", "Accept")
                self.end_headers()
                return fh
        return super().send_head()

    def list_directory(self, path):  # noqa: D401 - http.server hook
        # GitHub Pages lists no folder: a folder without index.html is not found there either.
        self.send_error(404, "File not found")
        return None

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)


def make_server(site: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = True) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server for ``site`` bound to ``host:port`` (port 0: any free port)."""
    handler = functools.partial(type("Handler", (SiteHandler,), {"quiet": quiet}), directory=str(site))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise PagesIndexError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port, or 0 for any free one)") from None
    server.daemon_threads = True
    return server


def serve_in_thread(site: Path, port: int = 0) -> Tuple[http.server.ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; return it and its base URL (``http://127.0.0.1:N/``)."""
    server = make_server(site, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"
