"""A local stand-in for PyPI on 127.0.0.1, answering as PyPI's documented APIs do.

- ``GET /simple/<name>/``: the simple repository API, PEP 691 JSON
  (``application/vnd.pypi.simple.v1+json``, api-version 1.1 with PEP 700 ``versions``) when the
  ``Accept`` header asks for it, PEP 503 HTML otherwise; 404 for unknown names.
- ``GET /pypi/<name>/json``: PyPI's JSON API (``info.version``, ``releases`` mapping each version
  to its files with ``yanked``), with ``Access-Control-Allow-Origin: *`` as PyPI sends; 404 for
  unknown names.

Each project is described by a :class:`Fake`: versions (with yanked flags), or a forced status
(503, 429, ...), a delay before answering (for timeouts), HTML only, or a raw body.
"""

from __future__ import annotations

import hashlib
import html
import http.server
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple


YANKED_ATTR = ' data-yanked=""'


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Fake:
    """One project on the fake PyPI.

    ``versions``: ``{version: yanked?}``; each version gets an sdist and a wheel, unless listed in
    ``fileless`` (a version with no files, as PEP 700 allows). ``status``: answer this HTTP status
    instead (e.g. 503). ``delay``: seconds to wait before answering. ``html_only``: ignore the
    PEP 691 JSON ``Accept``. ``body``/``content_type``: answer these bytes instead.
    """

    versions: Dict[str, bool] = field(default_factory=dict)
    fileless: Tuple[str, ...] = ()
    status: int = 200
    delay: float = 0.0
    html_only: bool = False
    body: Optional[bytes] = None
    content_type: str = "application/vnd.pypi.simple.v1+json"
    display_name: Optional[str] = None


class FakePyPI:
    """Serve :class:`Fake` projects; ``url`` is the base (``http://127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self.projects: Dict[str, Fake] = {}
        self.requests: List[Tuple[str, str]] = []
        self._release = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append((self.path, self.headers.get("Accept", "")))
                status, ctype, body = fake.answer(self.path, self.headers.get("Accept", ""))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def set(self, name: str, fake: Fake) -> None:
        self.projects[_norm(name)] = fake

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- answers ------------------------------------------------------------------------------
    def answer(self, path: str, accept: str) -> Tuple[int, str, bytes]:
        m = re.fullmatch(r"/simple/([^/]+)/", path) or re.fullmatch(r"/pypi/([^/]+)/json", path)
        if not m:
            return 404, "text/plain", b"not found"
        key = _norm(m.group(1))
        fake = self.projects.get(key)
        if fake is None:
            return 404, "text/plain", b"Not Found"
        if fake.delay:
            self._release.wait(fake.delay)
        if fake.status != 200:
            return fake.status, "text/plain", f"error {fake.status}".encode()
        if fake.body is not None:
            return 200, fake.content_type, fake.body
        files = self._files(key, fake)
        if path.startswith("/pypi/"):
            return 200, "application/json", json.dumps(self._json_api(key, fake, files)).encode()
        if "application/vnd.pypi.simple.v1+json" in accept and not fake.html_only:
            data = {
                "meta": {"api-version": "1.1"},
                "name": key,
                "versions": list(fake.versions),
                "files": [
                    {"filename": f, "url": f"../../files/{f}", "hashes": {"sha256": h}, "yanked": y, "size": 1,
                     "upload-time": "2026-01-01T00:00:00.000000Z"}
                    for f, h, y, _v in files
                ],
            }
            return 200, "application/vnd.pypi.simple.v1+json", json.dumps(data).encode()
        anchors = "".join(
            f'<a href="../../files/{html.escape(f)}#sha256={h}"{YANKED_ATTR if y else ""}>{html.escape(f)}</a><br>\n'
            for f, h, y, _v in files
        )
        page = (
            '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.1">'
            f"<title>Links for {key}</title></head><body><h1>Links for {key}</h1>\n{anchors}</body></html>"
        )
        return 200, "text/html", page.encode()

    def _files(self, key: str, fake: Fake) -> List[Tuple[str, str, bool, str]]:
        stem = (fake.display_name or key).replace("-", "_")
        out = []
        for version, yanked in fake.versions.items():
            if version in fake.fileless:
                continue
            for filename in (f"{stem}-{version}.tar.gz", f"{stem}-{version}-py3-none-any.whl"):
                out.append((filename, hashlib.sha256(filename.encode()).hexdigest(), yanked, version))
        return out

    def _json_api(self, key: str, fake: Fake, files) -> dict:
        releases: Dict[str, list] = {v: [] for v in fake.versions}
        for filename, digest, yanked, version in files:
            releases[version].append(
                {"filename": filename, "digests": {"sha256": digest}, "yanked": yanked,
                 "yanked_reason": "bad" if yanked else None, "packagetype": "sdist" if filename.endswith(".tar.gz") else "bdist_wheel"}
            )
        latest = list(fake.versions)[-1] if fake.versions else None
        return {
            "info": {"name": fake.display_name or key, "version": latest, "yanked": False},
            "releases": releases,
            "urls": releases.get(latest, []) if latest else [],
            "last_serial": 1,
            "vulnerabilities": [],
        }
