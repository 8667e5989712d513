"""The pages in a real browser (Debian's chromium, headless), when it is installed; else skipped.

Chromium is not a test dependency: these tests skip without it. They check that the search filters
as you type, the copy buttons appear, the newest README is pulled into the project page on a
served site, the Content-Security-Policy blocks nothing of ours and no script error is logged, and
they save screenshots (desktop and phone widths) to ``$PAGESINDEX_ARTIFACTS`` or the test's
temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pagesindex.inspect import inspect_file
from pagesindex.render import build_site

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PROBE = """
window.addEventListener("load", function () {
  var out = [];
  var input = document.getElementById("search");
  if (input) {
    var visible = function () {
      return Array.prototype.filter.call(document.querySelectorAll("li.card"), function (c) { return !c.hidden; })
        .map(function (c) { return c.querySelector("h3").textContent; }).join(",");
    };
    out.push("box=" + !document.getElementById("search-box").hidden);
    input.value = "STAR"; input.dispatchEvent(new Event("input")); out.push("star=" + visible());
    input.value = "catalogue tools"; input.dispatchEvent(new Event("input")); out.push("words=" + visible());
    input.value = "nothing-like-this"; input.dispatchEvent(new Event("input"));
    out.push("none=" + visible() + ";" + !document.getElementById("no-match").hidden);
  }
  var hiddenCopies = Array.prototype.filter.call(document.querySelectorAll("button.copy"), function (b) { return b.hidden; });
  out.push("copy-hidden=" + hiddenCopies.length);
  window.setTimeout(function () {
    var readme = document.querySelector("article.readme h2");
    out.push("readme=" + (readme ? readme.textContent : ""));
    document.body.setAttribute("data-probe", out.join("|"));
  }, 500);
});
"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        cmd = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
            # anything but 127.0.0.1 fails to resolve, so no request can leave the machine
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_problems(stderr: str):
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and re.search(r"Uncaught|Refused to|Content Security Policy|Failed to load", line)]


@pytest.fixture
def site(index, wheel):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    files = [
        wheel("star-utils", "1.2.0", summary="Catalogue tools for stars",
              description="# star-utils\n\nRead **catalogue** files.\n\n```python\nimport star_utils\n```",
              content_type="text/markdown"),
        wheel("star-utils", "2.0b1", summary="Catalogue tools for stars"),
        wheel("lightcurves", "0.3", summary="Time series of TESS stars"),
        wheel("pipeline", "1.0", summary="Orchestration"),
    ]
    index.add_files([inspect_file(f) for f in files])
    build_site(index)
    return index.root / "_site"


def probe_copy(site: Path, tmp_path: Path) -> Path:
    """A copy of the site whose pages also load a probe script (the pages' CSP allows site scripts)."""
    copy = tmp_path / "probe-site"
    shutil.copytree(site, copy)
    (copy / "_static/probe.js").write_text(PROBE)
    for page in (copy / "_pages").rglob("*.html"):  # the pages for people (the API pages run no script)
        text = page.read_text()
        prefix = "../" * (len(page.relative_to(copy).parts) - 1)
        page.write_text(text.replace("</body>", f'<script src="{prefix}_static/probe.js" defer></script>\n</body>'))
    return copy


def probe(url: str) -> dict:
    proc = chromium("--dump-dom", url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not console_problems(proc.stderr), console_problems(proc.stderr)
    found = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert found, proc.stdout[-2000:]
    return dict(part.split("=", 1) for part in found.group(1).split("|"))


def test_search_copy_and_readme_in_a_browser(site, tmp_path, serve):
    copy = probe_copy(site, tmp_path)
    landing = probe((copy / "_pages/index.html").as_uri())
    assert landing["box"] == "true"
    assert landing["star"] == "lightcurves,star-utils"  # name or summary, any case
    assert landing["words"] == "star-utils"
    assert landing["none"] == ";true"
    assert landing["copy-hidden"] == "0"
    # from disk the project page links to the README; served, it shows it
    assert probe((copy / "_pages/star-utils/index.html").as_uri())["readme"] == ""
    url = serve(copy)
    served = probe(url + "_pages/star-utils/")
    assert served["readme"] == "README of 1.2.0"
    assert served["copy-hidden"] == "0"


def test_screenshots(site, tmp_path):
    out = Path(os.environ.get("PAGESINDEX_ARTIFACTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    for name, page in (("landing", "_pages/index.html"), ("project", "_pages/star-utils/index.html"),
                       ("release", "_pages/star-utils/1.2.0.html"), ("api", "star-utils/index.html")):
        for width, label in ((1280, "desktop"), (390, "phone")):
            target = out / f"{name}-{label}.png"
            proc = chromium(f"--window-size={width},1400", f"--screenshot={target}", (site / page).as_uri())
            assert proc.returncode == 0 and target.stat().st_size > 5000, proc.stderr[-2000:]
            assert not console_problems(proc.stderr), console_problems(proc.stderr)


LIVE_PROBE = """
window.addEventListener("load", function () {
  window.setTimeout(function () {
    var section = document.getElementById("pypi-check");
    var install = document.querySelector("div.install");
    document.body.setAttribute("data-probe", [
      "section=" + (section && !section.hidden ? section.textContent.replace(/[|=\\s]+/g, " ").trim() : ""),
      "install-hidden=" + (install ? install.hidden : "none"),
      "pinned=" + document.querySelectorAll("details.client").length,
    ].join("|"));
  }, 1500);
});
"""


def test_live_pypi_check_hides_only_the_plain_command(index, wheel, tmp_path, serve):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    from fakepypi import Fake, FakePyPI

    fake = FakePyPI()
    try:
        fake.set("private-hello", Fake(versions={"9.9.9": False}))
        with open(index.root / "index.toml", "a") as fh:
            fh.write(f'\n[pypi]\nurl = "{fake.url}"\n')
        from pagesindex.state import Index

        index = Index(index.root)
        index.add_files([inspect_file(wheel("Private_Hello", "0.4.5"))])
        build_site(index)
        copy = probe_copy(index.root / "_site", tmp_path)
        (copy / "_static/probe.js").write_text(LIVE_PROBE)
        url = serve(copy)
        found = probe(url + "_pages/private-hello/")
    finally:
        fake.close()
    assert "9.9.9" in found["section"]
    assert found["install-hidden"] == "true"
    assert found["pinned"] == "4"  # uv, poetry, pdm, pip with hashes stay
