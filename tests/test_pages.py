"""Pages for people: landing page, project page, release pages, READMEs, hostile content, theme."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import run_cli, state_snapshot
from pypi_simple import ProjectPage

from pagesindex.inspect import inspect_file
from pagesindex.render import build_site
from pagesindex.state import Index

SCRIPT_TAG = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)


def add(index, *files, **kwargs):
    index.add_files([inspect_file(f) for f in files], **kwargs)


def build(index):
    build_site(index)
    return index.root / "_site"


def set_extra(index, name, **extra):
    project = index.get_project(name)
    project.extra.update(extra)
    index.save_project(project)


class Elements(HTMLParser):
    """Every start tag of a page as ``(tag, {attr: value})``, and the text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def assert_nothing_runs(site: Path):
    """No page has inline script, an on* attribute or a javascript: URL, and all have the CSP."""
    pages = sorted(site.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for tag in SCRIPT_TAG.findall(text):
            assert re.fullmatch(r'<script src="(\.\./){0,2}_static/[a-z-]+\.js" defer></script>', tag), (page, tag)
        elements = Elements(text)
        api_page = page.relative_to(site).parts[0] != "_pages" and page.name == "index.html"
        for tag, attrs in elements.tags:
            assert tag not in ("iframe", "object", "embed", "base"), (page, tag)
            if tag == "form":  # only the API pages' button to the pages for people
                assert api_page and attrs.get("method") == "get" and "_pages/" in attrs.get("action", ""), (page, attrs)
            for key, value in attrs.items():
                assert not key.startswith("on"), (page, tag, key)
                if key in ("href", "src", "action", "formaction"):
                    assert not (value or "").strip().lower().startswith(("javascript:", "data:", "vbscript:")), (page, value)
            if tag == "script":
                assert attrs.get("src", "").endswith(".js")
        csp = [a["content"] for t, a in elements.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        if page.parent != site and page.parent.parent == site and page.name != "index.html":
            continue  # the redirect at an old release page's URL: no script, no link
        assert len(csp) == 1, page
        assert "default-src 'none'" in csp[0] and "unsafe-inline" not in csp[0]
        assert "script-src 'self';" in csp[0] if not api_page else "script-src" not in csp[0]


# -- landing page -------------------------------------------------------------------------------


def test_landing_page_has_title_install_blocks_search_and_cards(index, wheel):
    (index.root / "index.toml").write_text(
        '[index]\ntitle = "Kavli packages"\ndescription = "Tools of the institute."\n'
        'url = "https://org.github.io/idx/"\nname = "kavli"\n'
    )
    index = Index(index.root)
    add(index, wheel("abc1", "1.0", summary="First project"), wheel("abc1", "2.0rc1", summary="First project"),
        wheel("zzz", "0.1", summary="Last one"), wheel("onlypre", "1.0b1"))
    site = build(index)
    html = (site / "_pages/index.html").read_text()
    assert "<title>Kavli packages</title>" in html and "<h1>Kavli packages</h1>" in html
    assert "Tools of the institute." in html
    for client in ("pip", "uv", "poetry", "pdm"):
        assert f"<summary>{client}</summary>" in html
    assert 'name = &#34;kavli&#34;' in html and "explicit = true" in html and "include_packages" in html
    assert "--priority=explicit kavli https://org.github.io/idx/" in html
    # search box: present, hidden until the script shows it, so the list alone works without JS
    assert '<div class="search" id="search-box" hidden>' in html
    assert '<script src="../_static/site.js" defer></script>' in html
    assert (site / "_static/site.js").is_file() and (site / "_static/theme.css").is_file()
    cards = re.findall(r'<li class="card" data-search="([^"]*)">(.*?)</li>', html, re.S)
    assert [c[0].split()[0] for c in cards] == ["abc1", "onlypre", "zzz"]
    abc1 = cards[0][1]
    assert 'href="abc1/"' in abc1 and ">1.0<" in abc1 and ">2.0rc1 pre<" in abc1 and "First project" in abc1
    assert cards[0][0] == "abc1 abc1 first project"
    onlypre = cards[1][1]
    assert 'class="version pre"' in onlypre and ">1.0b1 pre<" in onlypre and 'title="newest stable version"' not in onlypre
    zzz = cards[2][1]
    assert ">0.1<" in zzz and "version pre" not in zzz
    assert_nothing_runs(site)


# -- project page -------------------------------------------------------------------------------


def test_project_page_shows_facts_install_versions_files_and_requirements(index, wheel, sdist):
    meta = dict(requires_python=">=3.9", requires_dist=["numpy>=1.26", 'rich; extra == "cli"'],
                author="Ada Lovelace", homepage="https://example.org/abc1",
                extra_headers="Project-URL: Documentation, https://docs.example.org/abc1\n")
    add(
        index,
        wheel("abc1", "1.0", **meta),
        wheel("abc1", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64", **meta),
        sdist("abc1", "1.0", **meta),
        wheel("abc1", "2.0b1", **meta),
        wheel("abc1", "0.9"),
    )
    index.set_yanked("abc1", "0.9", True, "broken build")
    site = build(index)
    html = (site / "_pages/abc1/index.html").read_text()
    text = " ".join(Elements(html).text)
    assert "Ada Lovelace" in text
    assert 'href="https://example.org/abc1"' in html and 'href="https://docs.example.org/abc1"' in html
    assert "<h2 id=\"install-h\">Install 1.0</h2>" in html
    wheel_sha = index.get_project("abc1").release("1.0").file("abc1-1.0-py3-none-any.whl").sha256
    assert (f"pip install &#34;abc1 @ https://example.org/index/packages/abc1/abc1-1.0-py3-none-any.whl"
            f"#sha256={wheel_sha}&#34;") in html
    assert "[tool.uv.sources]\nabc1 = { index = &#34;private&#34; }" in html and "explicit = true" in html
    assert "poetry source add --priority=explicit private https://example.org/index/" in html
    assert "include_packages = [&#34;abc1&#34;]" in html
    # with dependencies (numpy), the hashes form names the file by URL and sha256: --require-hashes
    # with --index-url could not resolve numpy from PyPI
    assert "--require-hashes" not in html
    assert (f"abc1 @ https://example.org/index/packages/abc1/abc1-1.0-py3-none-any.whl#sha256={wheel_sha}\n\n"
            "pip install -r requirements.txt") in html
    assert "Its dependencies (numpy) come from your usual index" in html
    # versions: newest first, marked
    versions = re.findall(r'<li id="v[^"]+"(?: class="is-yanked")?><a href="([^"]+)">([^<]+)</a>(.*?)</li>', html, re.S)
    assert [v[1] for v in versions] == ["2.0b1", "1.0", "0.9"]
    assert [v[0] for v in versions] == ["2.0b1.html", "1.0.html", "0.9.html"]
    assert "pre-release" in versions[0][2] and "newest" in versions[1][2] and "yanked: broken build" in versions[2][2]
    # file table: tags, human size, requires-python, sha256 with copy
    row = re.search(r"<tr>\s*<td class=\"filename\"><a [^>]*>abc1-1.0-cp312-cp312-manylinux_2_17_x86_64.whl</a></td>(.*?)</tr>", html, re.S).group(1)
    assert "<td>wheel</td>" in row and "<td>cp312</td>" in row and "<td>manylinux_2_17_x86_64</td>" in row
    assert re.search(r"\d+(\.\d)? (B|KiB)</span>", row)
    assert 'data-copy="' in row and "Copy</button>" in row
    sdist_row = re.search(r"abc1-1.0.tar.gz</a></td>(.*?)</tr>", html, re.S).group(1)
    assert "<td>sdist</td>" in sdist_row and "<td>source</td>" in sdist_row
    assert "<code>numpy&gt;=1.26</code>" in html and "extra == &#34;cli&#34;" in html
    assert "1.0 has no description" in html and "data-readme" not in html
    # the API page parses and carries the yank
    page = ProjectPage.from_html("abc1", (site / "abc1/index.html").read_text())
    dists = [p for p in page.packages if p.package_type is not None]
    assert len(dists) == 5
    assert {p.filename for p in dists if p.is_yanked} == {"abc1-0.9-py3-none-any.whl"}
    assert_nothing_runs(site)
    assert run_cli("verify", index=index.root).returncode == 0


def test_release_pages_show_their_own_readme_and_files(index, wheel, sdist):
    add(index, wheel("abc1", "1.0", description="# One\n\nThe first README.", content_type="text/markdown"),
        sdist("abc1", "1.0", description="# One\n\nThe first README.", content_type="text/markdown"),
        wheel("abc1", "2.0", description="Two\n===\n\nThe *second* README.", content_type="text/x-rst",
              requires_dist=["httpx"]))
    site = build(index)
    one = (site / "_pages/abc1/1.0.html").read_text()
    two = (site / "_pages/abc1/2.0.html").read_text()
    assert "The first README." in one and "second" not in one
    assert "<em>second</em> README." in two and "first" not in two
    assert "abc1-1.0.tar.gz" in one and "abc1-2.0" not in one
    assert "abc1-2.0-py3-none-any.whl" in two and "abc1-1.0" not in two
    assert "<code>httpx</code>" in two and "<code>httpx</code>" not in one
    assert "abc1==1.0" in one and "abc1==2.0" in two
    index_html = (site / "_pages/abc1/index.html").read_text()
    assert "README." not in index_html
    assert 'data-readme="2.0.html"' in index_html and 'href="2.0.html#readme"' in index_html
    assert run_cli("verify", index=index.root).returncode == 0


@pytest.mark.parametrize(
    "content_type, text, expected",
    [
        ("text/markdown", "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~", ["<table>", "<td>1</td>", "<del>gone</del>"]),
        ("text/markdown; charset=UTF-8; variant=CommonMark", "# Title\n\n*x*", ["<h1", "<em>x</em>"]),
        ("text/x-rst", "Title\n=====\n\n* item\n\n``code``", ["<li><p>item</p></li>", '<span class="docutils literal">code</span>']),
        ("text/plain", "line <one>\nline two", ["line &lt;one&gt;<br>line two", 'class="readme-body readme-plain"']),
        ("", "Title\n=====\n\nno content type means rst", ["no content type means rst", "readme-rst"]),
        ("text/x-rst", "Broken\n=====\n\n.. unknown-directive::\n", ["readme-plain", "unknown-directive"]),
    ],
)
def test_readme_is_rendered_by_content_type(index, wheel, content_type, text, expected):
    meta = {"description": text, "content_type": content_type} if content_type else {}
    if content_type:
        add(index, wheel("abc1", "1.0", **meta))
    else:
        body = "Metadata-Version: 2.1\nName: abc1\nVersion: 1.0\nSummary: s\n\n" + text
        add(index, wheel("abc1", "1.0", metadata=body.encode()))
    site = build(index)
    page = (site / "_pages/abc1/1.0.html").read_text()
    for piece in expected:
        assert piece in page, piece


def test_readme_from_release_extra_is_used(index, wheel):
    add(index, wheel("abc1", "1.0"))
    project = index.get_project("abc1")
    project.releases["1.0"].extra["readme"] = {
        "text": "# From the repository\n\nKept with the release.", "content_type": "text/markdown",
        "from": "repository@v1.0",
    }
    index.save_project(project)
    site = build(index)
    page = (site / "_pages/abc1/1.0.html").read_text()
    assert re.search(r"<h1[^>]*>From the repository<", page) and "Kept with the release." in page
    assert "From repository@v1.0." in page


def test_release_without_metadata_description_says_so(index, wheel):
    add(index, wheel("abc1", "1.0"))
    page = (build(index) / "_pages/abc1/1.0.html").read_text()
    assert "This release has no description." in page


def test_git_link_only_release_renders(index, wheel):
    add(index, wheel("abc1", "1.0"))
    project = index.get_project("abc1")
    from pagesindex.model import Release

    project.releases["2.0"] = Release(version="2.0", extra={"git": {"url": "https://github.com/org/abc1", "tag": "v2.0"}})
    index.save_project(project)
    site = build(index)
    page = (site / "_pages/abc1/2.0.html").read_text()
    assert "pip install &#34;abc1 @ git+https://github.com/org/abc1@v2.0&#34;" in page
    html = (site / "_pages/abc1/index.html").read_text()
    assert "git only" in html
    assert run_cli("verify", index=index.root).returncode == 0


# -- dependency-confusion states --------------------------------------------------------------


PYPI = {"versions": ["0.0.0", "9.9.9"], "checked": "2026-11-30T00:00:00Z", "pypi_url": "https://pypi.org"}


def test_higher_on_pypi_replaces_the_install_command(index, wheel):
    add(index, wheel("Private_Hello", "0.4.5"))
    set_extra(index, "private-hello", pypi=dict(PYPI, status="higher", highest="9.9.9"))
    site = build(index)
    html = (site / "_pages/private-hello/index.html").read_text()
    assert 'id="pypi-higher"' in html and "private-hello 9.9.9" in html and "above 0.4.5" in html
    assert 'id="install-pip"' not in html
    assert "explicit = true" in html  # the commands that cannot be confused stay
    release = (site / "_pages/private-hello/0.4.5.html").read_text()
    assert 'id="pypi-higher"' in release and 'id="install-pip"' not in release


@pytest.mark.parametrize("status, marker", [("exists", 'id="pypi-exists"'), ("unknown", 'id="pypi-unknown"'), ("clear", None)])
def test_other_pypi_states(index, wheel, status, marker):
    add(index, wheel("Private_Hello", "0.4.5"))
    set_extra(index, "private-hello", pypi=dict(PYPI, status=status, highest="0.0.0", error="503 from PyPI"))
    html = (build(index) / "_pages/private-hello/index.html").read_text()
    assert 'id="install-pip"' in html
    for other in ("pypi-higher", "pypi-exists", "pypi-unknown"):
        assert (f'id="{other}"' in html) == (marker == f'id="{other}"')
    if status == "unknown":
        assert "503 from PyPI" in html


def test_pypi_check_hook_names_the_configured_pypi(index, wheel):
    with open(index.root / "index.toml", "a") as fh:
        fh.write('\n[pypi]\nurl = "http://127.0.0.1:9/pypi/simple/"\n')
    index = Index(index.root)
    add(index, wheel("abc1", "1.0"), wheel("abc1", "2.0b1"))
    set_extra(index, "abc1", pypi=dict(PYPI, status="clear", pypi_url="https://pypi.org"))
    site = build(index)
    html = (site / "_pages/abc1/index.html").read_text()
    assert ('<section id="pypi-check" data-project="abc1" data-newest="1.0" '
            'data-pypi-url="http://127.0.0.1:9/pypi" hidden></section>') in html
    assert '<script src="../../_static/pypi-check.js" defer></script>' in html
    assert "connect-src &#39;self&#39; http://127.0.0.1:9;" in html
    # the live check sits above the install command it may hide, and hides only that one
    assert html.index('id="pypi-check"') < html.index('<div class="install">') < html.index('id="install-pip"')
    assert html.count('class="install"') == 1
    assert (site / "_static/pypi-check.js").is_file()
    assert run_cli("verify", index=index.root).returncode == 0


# -- hostile content -----------------------------------------------------------------------------


def test_hostile_summary_is_text(index, wheel):
    add(index, wheel("abc1", "1.0", summary="<script>alert(1)</script>"))
    site = build(index)
    for page in ("_pages/index.html", "_pages/abc1/index.html", "_pages/abc1/1.0.html"):
        html = (site / page).read_text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_nothing_runs(site)


def test_hostile_author_is_text(index, wheel):
    add(index, wheel("abc1", "1.0", author='<img src=x onerror="alert(1)">'))
    site = build(index)
    html = (site / "_pages/abc1/index.html").read_text()
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert_nothing_runs(site)


def test_hostile_readme_is_sanitized(index, wheel):
    readme = (
        "# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) [rel](docs/guide.md) [ok](https://example.org/ok)\n\n"
        '<a href="javascript:alert(4)" onclick="alert(5)">x</a>\n\n'
        "![badge](https://img.example.org/badge.svg)\n\n<iframe src=https://evil.example></iframe>\n\n"
        "[![CI](https://img.example.org/ci.svg)](https://ci.example.org/run) ![local](docs/pic.png)\n"
    )
    add(index, wheel("abc1", "1.0", description=readme, content_type="text/markdown"))
    rst = "Title\n=====\n\n.. raw:: html\n\n   <script>alert(6)</script>\n\n`x <javascript:alert(7)>`_\n"
    add(index, wheel("rst1", "1.0", description=rst, content_type="text/x-rst"))
    site = build(index)
    page = (site / "_pages/abc1/1.0.html").read_text()
    assert "alert(1)" not in page.replace("&lt;script&gt;alert(1)&lt;/script&gt;", "")
    assert "onerror" not in page and "onclick" not in page and "javascript:" not in page
    assert 'href="https://example.org/ok"' in page
    assert 'href="docs/guide.md"' not in page and ">rel</a>" in page
    assert '<a class="ext-img" href="https://img.example.org/badge.svg" rel="nofollow">[image: badge]</a>' in page
    assert "<iframe" not in page
    assert '<a href="https://ci.example.org/run" rel="nofollow"><span class="img-alt">[CI]</span></a>' in page
    assert '<span class="img-alt">[local]</span>' in page and "<img" not in page
    rst_page = (site / "_pages/rst1/1.0.html").read_text()
    assert "<script>alert(6)" not in rst_page and 'href="javascript:' not in rst_page
    assert_nothing_runs(site)
    assert run_cli("verify", index=index.root).returncode == 0


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "//evil.example/x", "vbscript:x"])
def test_hostile_project_urls_are_not_links(index, wheel, url):
    add(index, wheel("abc1", "1.0", homepage=url, extra_headers=f"Project-URL: Docs, {url}\n"))
    set_extra(index, "abc1", repository={"url": url, "full_name": "o/r", "visibility": "public"})
    site = build(index)
    html = (site / "_pages/abc1/index.html").read_text()
    assert "Homepage" not in html and "Docs" not in html and "Repository" not in html
    assert_nothing_runs(site)


def test_hostile_yank_reason_and_version_list(index, wheel):
    add(index, wheel("abc1", "1.0"), wheel("abc1", "2.0"))
    index.set_yanked("abc1", "2.0", True, '"><script>alert(1)</script>')
    site = build(index)
    assert_nothing_runs(site)
    assert "&#34;&gt;&lt;script&gt;" in (site / "_pages/abc1/2.0.html").read_text()


# -- theme and overrides ------------------------------------------------------------------------


def test_theme_colours_and_logo_from_index_toml(index, wheel):
    (index.root / "static").mkdir()
    (index.root / "static/logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    with open(index.root / "index.toml", "a") as fh:
        fh.write('\n[theme]\naccent = "#003366"\nbackground = "white"\nlogo = "logo.svg"\n')
    index = Index(index.root)
    add(index, wheel("abc1", "1.0"))
    site = build(index)
    assert (site / "_static/theme.css").read_text() == ":root { --accent: #003366; --bg: white; --fg: #1d2330; }\n"
    assert '<img class="logo big" src="../_static/logo.svg"' in (site / "_pages/index.html").read_text()
    assert '<img class="logo" src="../../_static/logo.svg"' in (site / "_pages/abc1/index.html").read_text()
    assert run_cli("verify", index=index.root).returncode == 0


@pytest.mark.parametrize(
    "theme, message",
    [
        ('accent = "red; } body { background: url(https://evil.example/x) "', "theme.accent"),
        ('logo = "../secret.png"', "theme.logo"),
        ('logo = "missing.png"', "'missing.png' is not a file"),
    ],
)
def test_bad_theme_is_refused_and_nothing_is_written(index, wheel, theme, message):
    add(index, wheel("abc1", "1.0"))
    build(index)
    site_before = state_snapshot(index.root / "_site")
    with open(index.root / "index.toml", "a") as fh:
        fh.write(f"\n[theme]\n{theme}\n")
    proc = run_cli("build", index=index.root, check=False)
    assert proc.returncode == 1 and message in proc.stderr and proc.stderr.startswith("error: ")
    assert state_snapshot(index.root / "_site") == site_before


def test_project_template_override(index, wheel):
    add(index, wheel("abc1", "1.0"))
    (index.root / "templates").mkdir()
    (index.root / "templates/release.html").write_text(
        '{% extends "base.html" %}{% block body %}<p id="custom">{{ project.name }} {{ release.version }}</p>{% endblock %}'
    )
    site = build(index)
    assert '<p id="custom">abc1 1.0</p>' in (site / "_pages/abc1/1.0.html").read_text()
    assert 'id="install-h"' in (site / "_pages/abc1/index.html").read_text()


# -- weight ----------------------------------------------------------------------------------------


def test_readme_does_not_weigh_on_the_page_installers_fetch(index, wheel, capsys):
    paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20
    big = "# Big\n\n" + "\n\n".join(f"## Part {i}\n\n{paragraph}" for i in range(60))
    add(index, wheel("big", "1.0", description=big, content_type="text/markdown"), wheel("small", "1.0"))
    site = build(index)
    big_page = (site / "_pages/big/index.html").read_bytes()
    small_page = (site / "_pages/small/index.html").read_bytes()
    readme = (site / "_pages/big/1.0.html").read_bytes()
    assert len(big) > 60_000 and len(readme) > len(big)
    assert b"Lorem ipsum" not in big_page
    assert abs(len(big_page) - len(small_page)) < 300
    with capsys.disabled():
        print(f"\nproject page with a {len(big) // 1024} KiB README: {len(big_page)} bytes "
              f"({len(gzip.compress(big_page))} gzip); its release page {len(readme)} bytes "
              f"({len(gzip.compress(readme))} gzip); README inline would add {len(readme) - len(small_page)} bytes")


# -- installers still install from the richer pages --------------------------------------------


def _command(html: str, element_id: str) -> str:
    import html as html_lib

    match = re.search(r'<pre id="%s"><code>(.*?)</code></pre>' % re.escape(element_id), html, re.S)
    assert match, element_id
    return html_lib.unescape(match.group(1))


@pytest.mark.e2e
def test_pip_and_uv_skip_the_links_for_people_and_the_page_commands_work(index, wheel, sdist, serve, clients, tmp_path):
    meta = dict(homepage="https://example.org/abc1", extra_headers="Project-URL: Docs, https://docs.example.org/\n",
                description="# abc1\n\n[guide](https://example.org/guide)", content_type="text/markdown")
    add(index, wheel("abc1", "1.0", **meta), sdist("abc1", "1.0", **meta), wheel("abc1", "2.0b1", **meta), wheel("abc1", "0.5"))
    index.set_yanked("abc1", "0.5", True, "bad")
    site = build(index)
    url = serve(site)
    # point index.toml at the served site so the page's commands name it
    toml = (index.root / "index.toml").read_text().replace("https://example.org/index/", url)
    (index.root / "index.toml").write_text(toml)
    index = Index(index.root)
    build_site(index)
    html = (site / "_pages/abc1/index.html").read_text()
    for link in ('href="1.0.html"', 'href="https://example.org/abc1"', 'href="../"', 'href="../../abc1/index.json"', 'href="../../_static/style.css"'):
        assert link in html
    assert clients.installed(clients.pip(url, "abc1").venv)["abc1"] == "1.0"
    assert clients.installed(clients.uv_pip(url, "abc1").venv)["abc1"] == "1.0"
    assert clients.installed(clients.uv_pip(url, "abc1", "--prerelease", "allow").venv)["abc1"] == "2.0b1"
    # the pip command shown on the page: a direct URL with the file's sha256
    command = _command(html, "install-pip")
    assert command.startswith('pip install "abc1 @ ' + url)
    import shlex

    requirement = shlex.split(command)[2]
    assert requirement.endswith("#sha256=" + index.get_project("abc1").release("1.0").file("abc1-1.0-py3-none-any.whl").sha256)
    assert clients.installed(clients.pip(url, requirement).venv)["abc1"] == "1.0"
    # the hash-pinned requirements form, with the same index
    pinned = _command(html, "install-hashes").split("\n\n")[0].split("\n", 1)[1]
    req = tmp_path / "requirements.txt"
    req.write_text(pinned + "\n")
    assert clients.installed(clients.pip(url, "--require-hashes", "-r", str(req)).venv)["abc1"] == "1.0"
    req.write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, pinned) + "\n")
    wrong = clients.pip(url, "--require-hashes", "-r", str(req), check=False)
    assert wrong.returncode != 0 and "hash" in (wrong.stdout + wrong.stderr).lower()


def test_dependencies_on_this_index_are_pinned_too(index, wheel):
    add(index, wheel("base-lib", "1.0"),
        wheel("app", "2.0", requires_dist=["Base_Lib>=1", "numpy", 'other-private; extra == "x"']))
    html = (build(index) / "_pages/app/index.html").read_text()
    assert "app = { index = &#34;private&#34; }\nbase-lib = { index = &#34;private&#34; }\n" in html
    assert "numpy = {" not in html
    assert "uv add &#34;app==2.0&#34; base-lib" in html
    assert "poetry add --source private &#34;app==2.0&#34; base-lib" in html
    assert "include_packages = [&#34;app&#34;, &#34;base-lib&#34;]" in html
    assert 'Depends on <a href="../base-lib/">base-lib</a>, also from this index' in html


def test_hostile_filename_never_reaches_a_copyable_command(index, wheel):
    # add refuses a wheel tag outside [A-Za-z0-9_.] (issue 13, item 6) before anything is written,
    # so such a name reaches no page, no command and no pull request body
    bad = wheel("abc1", "1.0", filename="abc1-1.0-py3-none-any$(touch${IFS}pwned).whl")
    before = state_snapshot(index.root)
    proc = run_cli("add", str(bad), index=index.root, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "pwned" in lines[0], proc.stderr
    assert state_snapshot(index.root) == before


def test_unchanged_release_pages_are_not_rendered_again(index, wheel, monkeypatch):
    from pagesindex import pages

    add(index, wheel("abc1", "1.0", description="one", content_type="text/plain"),
        wheel("abc1", "2.0", description="two", content_type="text/plain"))
    site = build(index)
    calls = []
    real = pages.release_readme
    monkeypatch.setattr(pages, "release_readme", lambda release, meta, cache=None: calls.append(release.version) or real(release, meta, cache))
    add(index, wheel("abc1", "3.0", description="three", content_type="text/plain"))
    result = build_site(index)
    assert calls == ["3.0"]
    assert "abc1/3.0.html" in result.written and "abc1/2.0.html" not in result.written
    assert 'data-readme="3.0.html"' in (site / "_pages/abc1/index.html").read_text()
    # a change that every release page shows (the summary) renders them all again
    project = index.get_project("abc1")
    project.summary = "New summary"
    index.save_project(project)
    calls.clear()
    result = build_site(index)
    assert sorted(calls) == ["1.0", "2.0", "3.0"]
    assert "New summary" in (site / "_pages/abc1/1.0.html").read_text()
    # a deleted page is written again
    (site / "_pages/abc1/2.0.html").unlink()
    project.summary = "Newer summary"
    index.save_project(project)
    build_site(index)
    assert "Newer summary" in (site / "_pages/abc1/2.0.html").read_text()


def test_release_pages_of_epoch_and_local_versions_resolve(index, wheel):
    add(index, wheel("abc1", "1!2.0"), wheel("abc1", "1.0+local.1"))
    site = build(index)
    assert (site / "_pages/abc1/1!2.0.html").is_file() and (site / "_pages/abc1/1.0+local.1.html").is_file()
    html = (site / "_pages/abc1/index.html").read_text()
    assert 'href="1%212.0.html"' in html and 'href="1.0%2Blocal.1.html"' in html
    assert run_cli("verify", index=index.root).returncode == 0
