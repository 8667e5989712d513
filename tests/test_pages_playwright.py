"""The pages driven by Playwright in Debian's chromium (headless, ``/usr/bin/chromium``).

Playwright never downloads a browser here: it launches the system chromium through
``executable_path``. The tests skip when the ``playwright`` package cannot be imported or
``/usr/bin/chromium`` is absent. One browser serves the whole module; every page:

- may send requests to 127.0.0.1 only: any other host is aborted by a route and recorded, and the
  test asserts that none was attempted;
- must log no console message of type "error" and raise no uncaught page error.

They check the search filter as you type, following an older version's link to its own README and
files, the copy buttons, the "higher version on PyPI" warning (which hides the plain pip command),
and save full-page screenshots to ``$PAGESINDEX_ARTIFACTS`` or the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pagesindex.inspect import inspect_file
from pagesindex.render import build_site

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

PYPI_HIGHER = {"status": "higher", "versions": ["0.0.0", "9.9.9"], "highest": "9.9.9",
               "checked": "2026-11-30T00:00:00Z", "pypi_url": "https://pypi.org"}


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError as exc:
        pytest.skip(f"playwright cannot be imported: {exc}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def fake_pypi():
    """The PyPI the pages' live check asks (``[pypi] url``), on 127.0.0.1: by default the project
    pages' script asks https://pypi.org from the visitor's browser."""
    from fakepypi import Fake, FakePyPI

    fake = FakePyPI()
    fake.set("private-hello", Fake(versions={"9.9.9": False}))
    fake.set("star-utils", Fake(versions={"0.1": False}))  # taken on PyPI, lower: a notice only
    yield fake
    fake.close()


@pytest.fixture
def site_url(index, wheel, serve, fake_pypi):
    """A served site: star-utils 1.0 and 2.0 (different READMEs), lightcurves, and private-hello,
    whose name PyPI has at a higher version (recorded, and live on the fake PyPI)."""
    from pagesindex.state import Index

    with open(index.root / "index.toml", "a") as fh:
        fh.write(f'\n[pypi]\nurl = "{fake_pypi.url}"\n')
    index = Index(index.root)
    files = [
        wheel("star-utils", "1.0", summary="Catalogue tools for stars",
              description="# Old star-utils\n\nThe **first** README, of version one.", content_type="text/markdown"),
        wheel("star-utils", "2.0", summary="Catalogue tools for stars",
              description="# New star-utils\n\nThe second README, of version two.", content_type="text/markdown"),
        wheel("lightcurves", "0.3", summary="Time series of TESS stars"),
        wheel("Private_Hello", "0.4.5", summary="Greetings"),
    ]
    index.add_files([inspect_file(f) for f in files])
    index.set_pypi_check("private-hello", PYPI_HIGHER)
    build_site(index)
    return serve(index.root / "_site")


class Watched:
    """A page whose requests off 127.0.0.1, console errors and page errors are recorded."""

    def __init__(self, context):
        self.context = context
        self.outside = []
        self.errors = []
        context.route("**/*", self._route)
        # and every request the browser reports, routed or not
        context.on("request", lambda request: self._seen(request.url))
        self.page = context.new_page()
        self.page.on("console", lambda msg: self.errors.append(f"console: {msg.text} at {msg.location.get('url')}") if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    @staticmethod
    def _leaves(url):
        parts = urlsplit(url)
        return parts.scheme not in ("data", "blob", "about") and parts.hostname != "127.0.0.1"

    def _seen(self, url):
        if self._leaves(url) and url not in self.outside:
            self.outside.append(url)

    def _route(self, route):
        if self._leaves(route.request.url):
            self._seen(route.request.url)
            route.abort()
        else:
            route.continue_()

    def check(self):
        assert self.outside == [], self.outside
        assert self.errors == [], self.errors


@pytest.fixture
def watched(browser, site_url):
    origin = site_url.rstrip("/")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    w = Watched(context)
    yield w
    context.close()
    w.check()


def visible_cards(page):
    return [c.locator("h3").inner_text() for c in page.locator("li.card").all() if c.is_visible()]


def test_search_filters_the_cards(watched, site_url):
    page = watched.page
    page.goto(site_url + "_pages/")
    page.wait_for_load_state("load")
    assert page.locator("#search-box").is_visible()
    assert sorted(visible_cards(page)) == ["Private_Hello", "lightcurves", "star-utils"]
    search = page.locator("#search")
    search.fill("STAR")  # name or summary, any case
    assert sorted(visible_cards(page)) == ["lightcurves", "star-utils"]
    assert page.locator("#count").inner_text() == "2 of 3"
    search.fill("catalogue tools")  # every word must match
    assert visible_cards(page) == ["star-utils"]
    search.fill("private-hello")  # normalized name
    assert visible_cards(page) == ["Private_Hello"]
    search.fill("nothing-like-this")
    assert visible_cards(page) == []
    assert page.locator("#no-match").is_visible()
    search.fill("")
    assert len(visible_cards(page)) == 3 and not page.locator("#no-match").is_visible()
    watched.check()


def test_older_version_shows_its_own_readme_and_files(watched, site_url):
    page = watched.page
    page.goto(site_url + "_pages/star-utils/")
    # served, the project page pulls in the newest README
    readme = page.locator("article.readme#readme")
    readme.wait_for()
    assert readme.locator("h2").inner_text() == "README of 2.0"
    assert "second README" in readme.inner_text() and "first README" not in readme.inner_text()
    page.locator("ul.versions").get_by_role("link", name="1.0", exact=True).click()
    page.wait_for_url("**/star-utils/1.0.html")
    assert page.locator("h1 .version").inner_text() == "1.0"
    body = page.locator("article.readme .readme-body")
    assert body.locator("h1").inner_text() == "Old star-utils"
    assert "The first README, of version one." in body.inner_text()
    assert "second README" not in body.inner_text()
    files = [a.inner_text() for a in page.locator("table.files td.filename a").all()]
    assert files == ["star_utils-1.0-py3-none-any.whl"]
    # and back to the newest: its page has the other README and file
    page.goto(site_url + "_pages/star-utils/2.0.html")
    assert "The second README" in page.locator("article.readme").inner_text()
    assert [a.inner_text() for a in page.locator("table.files td.filename a").all()] == ["star_utils-2.0-py3-none-any.whl"]
    watched.check()


def test_copy_buttons_copy_the_command(watched, site_url):
    page = watched.page
    page.goto(site_url + "_pages/star-utils/")
    page.wait_for_load_state("load")
    buttons = page.locator("button.copy")
    assert buttons.count() > 0
    assert page.locator("button.copy[hidden]").count() == 0  # site.js reveals them all
    button = page.locator('button.copy[data-copy-from="install-pip"]')
    assert button.is_visible()
    command = page.locator("#install-pip").inner_text()
    assert command.startswith("pip install") and "star-utils" in command
    button.click()
    page.wait_for_function("document.querySelector('button.copy[data-copy-from=\"install-pip\"]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == command
    # a hash button in the file table copies the full SHA256
    sha = page.locator("td.sha button.copy").first
    assert sha.is_visible()
    sha.click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length === 64)", polling=100)
    assert page.evaluate("navigator.clipboard.readText()") == sha.get_attribute("data-copy")
    watched.check()


def test_higher_on_pypi_warns_and_hides_the_plain_command(watched, site_url):
    page = watched.page
    for path in ("_pages/private-hello/", "_pages/private-hello/0.4.5.html"):
        page.goto(site_url + path)
        warning = page.locator("#pypi-higher")
        assert warning.is_visible()
        text = warning.inner_text()
        assert "private-hello 9.9.9" in text and "https://pypi.org" in text
        assert page.locator("#install-pip").count() == 0
        assert page.locator("div.install").count() == 0
        # the pinned commands stay, the uv one open
        assert page.locator("details.client").count() == 4
        assert page.locator("details.client[open] summary").first.inner_text() == "uv"
    page.goto(site_url + "_pages/private-hello/")
    assert "above 0.4.5" in page.locator("#pypi-higher").inner_text()
    live = page.locator("#pypi-check")  # the live check agrees with the recorded one
    live.wait_for(state="visible")
    assert "9.9.9" in live.inner_text()
    assert "usual pip command is not shown" in page.locator("section.install-box").inner_text()
    watched.check()


def test_screenshots(watched, site_url, tmp_path):
    out = Path(os.environ.get("PAGESINDEX_ARTIFACTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    page = watched.page
    shots = {}
    for name, path in (("playwright-landing", "_pages/"), ("playwright-project", "_pages/star-utils/"),
                       ("playwright-higher", "_pages/private-hello/"), ("playwright-api", "star-utils/")):
        page.goto(site_url + path)
        page.wait_for_load_state("networkidle")
        target = out / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        shots[name] = target
    for target in shots.values():
        data = target.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, target
    watched.check()


def test_name_absent_from_pypi_logs_only_the_browsers_404_line(watched, site_url, fake_pypi):
    """The live check of a name PyPI does not have (the usual case of a private project) gets a
    404; the script keeps the page as it is, but chromium itself logs the failed load as a console
    error, which no script can prevent. That line is the only one allowed."""
    page = watched.page
    page.goto(site_url + "_pages/lightcurves/")
    page.wait_for_load_state("networkidle")
    assert not page.locator("#pypi-check").is_visible()
    assert page.locator("#install-pip").is_visible()  # the plain command stays
    assert watched.outside == []
    assert [e for e in watched.errors if not e.startswith("console: Failed to load resource")] == []
    assert watched.errors == [
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
        f" at {fake_pypi.url.rstrip('/')}/pypi/lightcurves/json"
    ]
    watched.errors.clear()


def test_one_click_from_the_api_pages_to_the_pages_for_people_without_javascript(browser, site_url):
    """The index URL and a project's API page carry only the anchors the standard allows; a GET
    form's button leads to the pages for people, with JavaScript off as well (issue 14)."""
    context = browser.new_context(java_script_enabled=False)
    w = Watched(context)
    page = w.page
    page.goto(site_url)
    assert [a.inner_text() for a in page.locator("a").all()] == ["lightcurves", "Private_Hello", "star-utils"]
    page.get_by_role("button", name="Search and browse the projects").click()
    page.wait_for_url("**/_pages/**")
    assert sorted(visible_cards(page)) == ["Private_Hello", "lightcurves", "star-utils"]
    page.goto(site_url + "star-utils/")
    assert all(a.inner_text().startswith("star_utils-") for a in page.locator("a").all())
    page.get_by_role("button", name="Project page of star-utils: README, versions, install commands").click()
    page.wait_for_url("**/_pages/star-utils/**")
    assert page.locator("h1").inner_text().startswith("star-utils")
    assert page.locator("#install-pip").is_visible()
    # an old release page URL (before the move) leads to the release's page for people
    page.goto(site_url + "star-utils/1.0.html")
    page.wait_for_url("**/_pages/star-utils/1.0.html")
    assert page.locator("h1 .version").inner_text() == "1.0"
    context.close()
    w.check()
