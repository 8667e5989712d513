"""The simple API pages are exact (issue 14): one anchor per project (root) or per file (project
page), nothing else, the same in HTML and JSON, as three independent parsers read them: an own
``html.parser`` check against the state, mousebender and pypi-simple."""

from __future__ import annotations

import hashlib
import html.parser
import json
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from conftest import run_cli

from pagesindex.inspect import inspect_file
from pagesindex.render import build_site
from pagesindex.simple_api import API_VERSION, PEOPLE_DIR

mousebender_simple = pytest.importorskip("mousebender.simple")
pypi_simple = pytest.importorskip("pypi_simple")


class _Tags(html.parser.HTMLParser):
    """Every anchor (attributes and text), every ``<meta name>`` and every form action."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: List[Tuple[Dict[str, Optional[str]], str]] = []
        self.meta: Dict[str, str] = {}
        self.forms: List[str] = []
        self._in: Optional[Dict[str, Optional[str]]] = None
        self._text: List[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            assert self._in is None, "nested anchor"
            self._in, self._text = attrs, []
        elif tag == "meta" and attrs.get("name"):
            assert attrs["name"] not in self.meta, f"meta {attrs['name']} twice"
            self.meta[attrs["name"]] = attrs.get("content") or ""
        elif tag == "form":
            self.forms.append(attrs.get("action") or "")

    def handle_data(self, data):
        if self._in is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._in is not None:
            self.anchors.append((self._in, "".join(self._text)))
            self._in = None


def parse(path: Path) -> _Tags:
    tags = _Tags()
    tags.feed(path.read_text(encoding="utf-8"))
    tags.close()
    return tags


def check_site(index, site: Path) -> int:
    """Assert that every API page of ``site`` says exactly what the state says; return the
    number of file anchors checked."""
    projects = index.projects()
    root = parse(site / "index.html")
    assert root.meta["pypi:repository-version"] == API_VERSION
    assert [m for m in root.meta if m.startswith("pypi:")] == ["pypi:repository-version"]
    assert [(a["href"], text) for a, text in root.anchors] == [(f"{p.normalized_name}/", p.name) for p in projects]
    assert all(set(a) == {"href"} for a, _ in root.anchors)
    assert (site / root.forms[0] / "index.html").is_file()  # the button to the pages for people
    root_json = json.loads((site / "index.json").read_text())
    assert root_json == {"meta": {"api-version": API_VERSION}, "projects": [{"name": p.name} for p in projects]}
    # mousebender and pypi-simple read the same list
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mousebender warns about API versions above 1.1
        assert mousebender_simple.from_project_index_html((site / "index.html").read_text())["projects"] == [
            {"name": p.name} for p in projects
        ]
    idx = pypi_simple.IndexPage.from_html((site / "index.html").read_text())
    assert idx.projects == [p.name for p in projects]
    assert pypi_simple.IndexPage.from_json_data(root_json).projects == [p.name for p in projects]
    checked = 0
    for project in projects:
        name = project.normalized_name
        status, reason = project.status
        page = parse(site / name / "index.html")
        assert page.meta["pypi:repository-version"] == API_VERSION
        # API 1.4's fields and none of PEP 708's (rejected): no pypi:tracks, pypi:alternate-locations
        assert {m for m in page.meta if m.startswith("pypi:")} <= {
            "pypi:repository-version", "pypi:project-status", "pypi:project-status-reason"}
        assert page.meta["pypi:project-status"] == status
        assert page.meta.get("pypi:project-status-reason", "") == reason
        assert page.forms == [f"../{PEOPLE_DIR}/{name}/"] and (site / PEOPLE_DIR / name / "index.html").is_file()
        offered = [] if status == "quarantined" else [
            (r, f) for r in project.sorted_releases(newest_first=False) for f in sorted(r.files, key=lambda f: f.filename)
        ]
        want = []
        for r, f in offered:
            attrs = {"href": f"../packages/{name}/{f.filename}#sha256={f.sha256}", "data-upload-time": f.upload_time}
            if f.requires_python:
                attrs["data-requires-python"] = f.requires_python
            if f.core_metadata_sha256:
                attrs["data-core-metadata"] = attrs["data-dist-info-metadata"] = f"sha256={f.core_metadata_sha256}"
            if r.yanked:
                attrs["data-yanked"] = r.yanked_reason
            want.append((attrs, f.filename))
        assert page.anchors == want, name
        for attrs, filename in want:  # each anchor's file is served with the bytes its hash names
            target = site / name / attrs["href"].split("#")[0]
            assert hashlib.sha256(target.read_bytes()).hexdigest() == attrs["href"].split("=")[-1]
            if "data-core-metadata" in attrs:
                sidecar = Path(str(target) + ".metadata").read_bytes()
                assert "sha256=" + hashlib.sha256(sidecar).hexdigest() == attrs["data-core-metadata"]
        checked += len(want)
        data = json.loads((site / name / "index.json").read_text())
        assert data["meta"] == {"api-version": API_VERSION}
        assert set(data) == {"meta", "name", "project-status", "versions", "files"}  # no tracks, alternate-locations
        assert data["name"] == name and data["versions"] == ([] if status == "quarantined" else [
            r.version for r in project.sorted_releases(newest_first=False)])
        assert data["project-status"] == ({"status": status, "reason": reason} if reason else {"status": status})
        assert [(f["url"] + "#sha256=" + f["hashes"]["sha256"], f["filename"]) for f in data["files"]] == [
            (a["href"], t) for a, t in want
        ]
        for (r, f), entry in zip(offered, data["files"]):
            assert entry.get("requires-python") == f.requires_python
            assert entry["core-metadata"] == ({"sha256": f.core_metadata_sha256} if f.core_metadata_sha256 else False)
            assert entry["yanked"] == ((r.yanked_reason or True) if r.yanked else False)
            assert entry["size"] == f.size and entry["upload-time"] == f.upload_time
        # mousebender (strict PEP 503 reading)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            details = mousebender_simple.from_project_details_html((site / name / "index.html").read_text(), name)
        assert [(e["filename"], e["url"], e["hashes"]) for e in details["files"]] == [
            (f.filename, f"../packages/{name}/{f.filename}", {"sha256": f.sha256}) for _r, f in offered
        ]
        for (r, f), e in zip(offered, details["files"]):
            assert e.get("requires-python") == f.requires_python
            assert e.get("yanked", False) == ((r.yanked_reason or True) if r.yanked else False)
            assert e.get("core-metadata", False) == ({"sha256": f.core_metadata_sha256} if f.core_metadata_sha256 else False)
        # pypi-simple, HTML and JSON
        base = f"https://example.org/idx/{name}/"
        for pp in (
            pypi_simple.ProjectPage.from_html(name, (site / name / "index.html").read_text(), base_url=base),
            pypi_simple.ProjectPage.from_json_data(data, base_url=base),
        ):
            assert pp.repository_version == API_VERSION
            assert pp.status is not None and pp.status.value == status
            assert (pp.status_reason or "") == reason
            assert [(p.filename, p.url, p.digests["sha256"], p.requires_python, p.is_yanked, p.yanked_reason or "")
                    for p in pp.packages] == [
                (f.filename, f"https://example.org/idx/packages/{name}/{f.filename}", f.sha256, f.requires_python,
                 r.yanked, r.yanked_reason if r.yanked else "")
                for r, f in offered
            ]
            assert [p.metadata_digests for p in pp.packages] == [
                {"sha256": f.core_metadata_sha256} if f.core_metadata_sha256 else None for _r, f in offered
            ]
    return checked


def _generated(index, wheel, sdist, count: int = 12) -> None:
    """Projects with what a page can carry: display names other than their normalized form,
    sdists, several platforms, pre-releases, requires-python with markup characters, yanks
    with and without reasons, local versions, and each PEP 792 status."""
    files = []
    for i in range(count):
        name = f"Gen.Project_{i}" if i % 3 == 0 else f"gen-{i}"
        files.append(wheel(name, "1.0", requires_python=">=3.8,<4" if i % 2 else None))
        files.append(sdist(name, "1.0"))
        files.append(wheel(name, "2.0b1", tag="cp312-cp312-manylinux_2_17_x86_64"))
        if i % 4 == 1:
            files.append(wheel(name, "1.1+local.1"))
    index.add_files([inspect_file(f) for f in files])
    index.set_yanked("gen-1", "1.0", True, 'broken <b>"&\'')
    index.set_yanked("gen-2", "2.0b1", True, "")
    index.set_status("gen-4", "archived", "moved to <elsewhere> & beyond")
    index.set_status("gen-5", "deprecated", "")
    index.set_status("gen-7", "quarantined", "malware reported")


def test_generated_index_api_pages_are_exact(index, wheel, sdist):
    _generated(index, wheel, sdist)
    build_site(index)
    assert check_site(index, index.root / "_site") > 30


def test_generated_1000_project_index_api_pages_are_exact(tmp_path, capsys):
    """The Done-when's generated 1,000-project index (benchmarks/gen.py with ``variety``: real
    small wheels and sdists, core metadata sidecars, requires-python, pre- and post-releases,
    yanks with and without reasons, reasons with markup, each PEP 792 status): every API page
    read from disk by the own parser, mousebender and pypi-simple (HTML and JSON) says exactly
    what the state says."""
    import collections
    import time

    from conftest import benchmark_module

    from pagesindex.state import Index

    gen = benchmark_module("gen")
    started = time.perf_counter()
    summary = gen.generate_state(tmp_path / "index", projects=1000, files=4000, variety=True)
    generated = time.perf_counter()
    index = Index(tmp_path / "index")
    build_site(index)
    built = time.perf_counter()
    checked = check_site(index, index.root / "_site")
    done = time.perf_counter()
    projects = index.projects()
    assert len(projects) == summary["projects"] == 1000
    statuses = collections.Counter(p.status for p in projects)
    assert {s for s, _r in statuses} == {"active", "archived", "deprecated", "quarantined"}
    assert any(r for s, r in statuses if s == "archived") and ("archived", "") in statuses
    offered = [(r, f) for p in projects if p.status[0] != "quarantined" for r in p.releases.values() for f in r.files]
    assert checked == len(offered) and checked < summary["files"]
    yanks = {r.yanked_reason for r, _f in offered if r.yanked}
    assert "" in yanks and any("<" in y for y in yanks)
    assert any(f.requires_python for _r, f in offered) and any(not f.requires_python for _r, f in offered)
    assert any(f.core_metadata_sha256 for _r, f in offered) and any(not f.core_metadata_sha256 for _r, f in offered)
    with capsys.disabled():
        print(f"\n1,000 generated projects, {summary['files']} files ({checked} offered): generated in "
              f"{generated - started:.1f} s, built in {built - generated:.1f} s, checked in {done - built:.1f} s")


def test_seed_index_api_pages_are_exact(seed_index, index):
    run_cli("migrate", str(seed_index), index=index.root)
    build_site(index)
    site = index.root / "_site"
    assert check_site(index, site) == 26
    # the old site's release links and the people's pages are elsewhere, not on the API pages
    lightcurvedb = parse(site / "lightcurvedb" / "index.html")
    assert len(lightcurvedb.anchors) == len(index.get_project("lightcurvedb").all_files())


# -- PEP 792 project status ----------------------------------------------------------------------


@pytest.mark.e2e
def test_status_round_trips_through_json_and_html_and_quarantine_withholds_files(index, wheel, serve, clients):
    w = wheel("abc1", "1.0")
    run_cli("add", str(w), index=index.root)
    site = index.root / "_site"
    out = run_cli("status", "ABC1", "archived", "--reason", "moved to <new> & \"better\"", index=index.root).stdout
    assert "abc1: status archived" in out
    run_cli("build", index=index.root)
    check_site(index, site)
    assert json.loads((site / "abc1/index.json").read_text())["project-status"] == {"status": "archived", "reason": 'moved to <new> & "better"'}
    assert 'content="moved to &lt;new&gt; &amp; &#34;better&#34;"' in (site / "abc1/index.html").read_text()
    assert "This project is archived" in (site / PEOPLE_DIR / "abc1/index.html").read_text()
    url = serve(site)
    clients.pip(url, "abc1")  # archived files stay installable

    run_cli("status", "abc1", "quarantined", "--reason", "malware reported", index=index.root)
    run_cli("build", index=index.root)
    check_site(index, site)
    data = json.loads((site / "abc1/index.json").read_text())
    assert data["files"] == [] and data["versions"] == [] and data["project-status"]["status"] == "quarantined"
    assert not (site / "packages/abc1").exists(), "a quarantined project's files leave the site"
    assert not (site / "abc1/1.0.html").exists() and not (site / PEOPLE_DIR / "abc1/1.0.html").exists()
    people = (site / PEOPLE_DIR / "abc1/index.html").read_text()
    assert "This project is quarantined" in people and "malware reported" in people
    assert 'title="project status (PEP 792)">quarantined</span>' in (site / PEOPLE_DIR / "index.html").read_text()
    assert f'href="../../packages/abc1/{w.name}' not in people and "pip install" not in people
    assert "verified" in run_cli("verify", index=index.root).stdout
    for install in (clients.pip, clients.uv_pip):
        proc = install(url, "abc1", check=False)
        assert proc.returncode != 0, proc.stdout
        assert "abc1" not in clients.installed(proc.venv)

    run_cli("status", "abc1", "active", index=index.root)
    assert "status" not in json.loads((index.root / "projects/abc1.json").read_text()).get("extra", {})
    run_cli("build", index=index.root)
    check_site(index, site)
    assert clients.installed(clients.pip(url, "abc1").venv)["abc1"] == "1.0"


@pytest.mark.e2e
@pytest.mark.parametrize("tool", ["poetry", "pdm"])
def test_poetry_and_pdm_refuse_a_quarantined_project(tool, index, wheel, serve, clients, tools, tmp_path):
    """poetry and pdm, set up as the project page told users to (an explicit poetry source, a pdm
    source limited to the project), find no file of a quarantined project (PEP 792: it offers
    none), fail, and install nothing; after ``status active`` the same commands install it."""
    import subprocess

    tools.path(tool)  # skips when the tool cannot be had
    run_cli("add", str(wheel("abc1", "1.0")), index=index.root)
    run_cli("status", "abc1", "quarantined", "--reason", "malware reported", index=index.root)
    run_cli("build", index=index.root)
    url = serve(index.root / "_site")
    empty = tmp_path / "pypi"
    empty.mkdir()
    pypi_url = serve(empty)  # the default index: never asked for abc1, which comes from ours only
    env = tool_env(tmp_path, clients, pypi_url)
    if tool == "poetry":
        app = tool_project(tmp_path / "app", clients,
                           f'[[tool.poetry.source]]\nname = "stand-in"\nurl = "{pypi_url}"\npriority = "primary"\n')
        run_tool(tools, f"poetry source add --priority=explicit private {url}", app, env)
        argv = ["poetry", "add", "--source", "private", "abc1"]
    else:
        app = tool_project(tmp_path / "app", clients, f'[[tool.pdm.source]]\nname = "private"\nurl = "{url}"\n'
                           'include_packages = ["abc1"]\nexclude_packages = ["*"]\n')
        argv = ["pdm", "add", "abc1"]
    proc = subprocess.run([str(tools.path(tool)), *argv[1:]], cwd=app, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "abc1" in proc.stdout + proc.stderr
    assert "abc1" not in clients.installed(app / ".venv")

    run_cli("status", "abc1", "active", index=index.root)
    run_cli("build", index=index.root)
    run_tool(tools, " ".join(argv), app, env)
    assert clients.installed(app / ".venv").get("abc1") == "1.0"


@pytest.mark.parametrize(
    "args, message",
    [
        (["abc1", "gone"], "error: invalid STATUS: 'gone'"),
        (["abc1", "archived", "--reason", "two\nlines"], "error: invalid --reason: 'two\\nlines'"),
        (["nosuch", "archived"], "error: "),
        (["bad name!", "archived"], "error: "),
    ],
)
def test_status_refuses_bad_input_and_writes_nothing(index, wheel, args, message):
    from conftest import state_snapshot

    run_cli("add", str(wheel("abc1", "1.0")), index=index.root)
    before = state_snapshot(index.root)
    proc = run_cli("status", *args, index=index.root, check=False)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert state_snapshot(index.root) == before


def test_invalid_recorded_status_is_refused_by_build(index, wheel):
    run_cli("add", str(wheel("abc1", "1.0")), index=index.root)
    path = index.root / "projects/abc1.json"
    record = json.loads(path.read_text())
    record.setdefault("extra", {})["status"] = {"status": "gone"}
    path.write_text(json.dumps(record))
    proc = run_cli("build", index=index.root, check=False)
    assert proc.returncode == 1 and "invalid project status" in proc.stderr


# -- from the API pages to the pages for people, and old URLs --------------------------------------


def test_api_pages_lead_to_the_pages_for_people_and_old_release_urls_redirect(index, wheel):
    index.add_files([inspect_file(wheel("Abc.One", "1.0"))])
    build_site(index)
    site = index.root / "_site"
    root = parse(site / "index.html")
    assert root.forms == [f"{PEOPLE_DIR}/"]
    landing = (site / PEOPLE_DIR / "index.html").read_text()
    assert 'href="abc-one/"' in landing and 'id="search"' in landing
    page = parse(site / "abc-one/index.html")
    assert page.forms == [f"../{PEOPLE_DIR}/abc-one/"]
    assert "form-action 'self'" in (site / "abc-one/index.html").read_text()
    people = (site / PEOPLE_DIR / "abc-one/index.html").read_text()
    assert 'href="1.0.html"' in people and "abc_one-1.0-py3-none-any.whl#sha256=" in people
    old = parse(site / "abc-one/1.0.html")
    assert old.anchors == [] and "pypi:repository-version" not in old.meta
    assert f'content="0; url=../{PEOPLE_DIR}/abc-one/1.0.html"' in (site / "abc-one/1.0.html").read_text()
    assert (site / PEOPLE_DIR / "abc-one/1.0.html").is_file()


# -- upload times reach uv from a plain static host -------------------------------------------------


class StaticServers:
    """``python -m http.server``'s handler on 127.0.0.1: a plain static host, no negotiation
    (as GitHub Pages). Calling it serves a folder and returns its URL; ``requested(url)`` is the
    list of paths asked of that server so far."""

    def __init__(self) -> None:
        self.servers: list = []
        self._paths: Dict[str, List[str]] = {}

    def __call__(self, folder: Path) -> str:
        import functools
        import http.server
        import threading

        paths: List[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_head(self):
                paths.append(self.path)
                return super().send_head()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.servers.append(server)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        self._paths[url] = paths
        return url

    def requested(self, url: str) -> List[str]:
        return self._paths[url]

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def static_server():
    """A :class:`StaticServers` for the module (its servers stop at the module's end)."""
    servers = StaticServers()
    yield servers
    servers.close()


@pytest.mark.e2e
def test_uv_exclude_newer_reads_upload_times_from_the_html(index, wheel, static_server, clients, tmp_path):
    """uv reads ``data-upload-time`` from the HTML (without it, uv 0.13 warns "missing an upload
    date" and finds no version at all under ``--exclude-newer``)."""
    import subprocess

    if clients.uv is None:
        pytest.skip("uv is not installed")
    index.add_files([inspect_file(wheel("abc1", "1.0"))], upload_time="2024-01-10T12:00:00Z")
    index.add_files([inspect_file(wheel("abc1", "2.0"))], upload_time="2025-03-01T08:30:00Z")
    build_site(index)
    site = index.root / "_site"
    assert 'data-upload-time="2024-01-10T12:00:00Z"' in (site / "abc1/index.html").read_text()
    url = static_server(site)

    def locked(*args: str) -> str:
        project = tmp_path / f"app{len(list(tmp_path.glob('app*')))}"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.8"\ndependencies = ["abc1"]\n\n'
            f'[[tool.uv.index]]\nname = "here"\nurl = "{url}"\nexplicit = true\n\n[tool.uv.sources]\nabc1 = {{ index = "here" }}\n'
        )
        proc = subprocess.run([clients.uv, "lock", *args], cwd=project, env=clients.env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        lock = (project / "uv.lock").read_text()
        return next(line for line in lock.split("[[package]]") if 'name = "abc1"' in line)

    assert 'version = "2.0"' in locked()
    older = locked("--exclude-newer", "2024-06-01T00:00:00Z")
    assert 'version = "1.0"' in older and 'upload-time = "2024-01-10T12:00:00Z"' in older


# -- every command a page shows works as printed ------------------------------------------------------


def _snippet(page: str, element_id: str) -> str:
    import html as html_lib
    import re

    match = re.search(r'<pre id="%s"><code>(.*?)</code></pre>' % re.escape(element_id), page, re.S)
    assert match, element_id
    return html_lib.unescape(match.group(1))


class SnippetSites:
    """Our index (projects ``solo``, ``base-lib`` and ``pdoflow``, which depends on both
    ``base-lib`` from our index and ``deal`` from PyPI) and a stand-in for PyPI holding ``deal``
    and, as a dependency-confusion attack would, a higher version 9.0 of each of our projects;
    both built once and served by plain static servers."""

    def __init__(self, tmp: Path, static_server: StaticServers):
        from factory import make_wheel

        from pagesindex.state import Index

        self.tmp = tmp
        pypi = Index.init(tmp / "pypi", title="stand-in")
        pypi.add_files([inspect_file(make_wheel(tmp / "pypi-dist", name, version))
                        for name, version in (("deal", "4.24.4"), ("solo", "9.0"), ("base-lib", "9.0"), ("pdoflow", "9.0"))])
        build_site(pypi)
        self.pypi_url = static_server(pypi.root / "_site")
        # our index, its URL the served one (the pages print it)
        ours = Index.init(tmp / "ours", title="ours")
        (ours.root / "_site").mkdir()
        self.url = static_server(ours.root / "_site")
        toml = ours.root / "index.toml"
        toml.write_text(toml.read_text().replace('url = ""', f'url = "{self.url}"'))
        ours = Index(ours.root)
        assert ours.config.url == self.url
        dist = tmp / "dist"
        ours.add_files([inspect_file(f) for f in (
            make_wheel(dist, "solo", "1.0"),
            make_wheel(dist, "base-lib", "1.0", requires_dist=["deal==4.24.4"]),
            make_wheel(dist, "pdoflow", "2.0", requires_dist=["deal==4.24.4", "base-lib>=1.0", 'rich; extra == "cli"']),
        )])
        build_site(ours)
        self.site = ours.root / "_site"
        self.requested = static_server.requested

    def page(self, name: str) -> str:
        return (self.site / PEOPLE_DIR / name / "index.html").read_text()


#: (project, projects of our index it depends on)
SNIPPET_PROJECTS = (("solo", []), ("base-lib", []), ("pdoflow", ["base-lib"]))
VERSIONS = {"solo": "1.0", "base-lib": "1.0", "pdoflow": "2.0"}


@pytest.fixture(scope="module")
def snippet_sites(tmp_path_factory, static_server) -> SnippetSites:
    return SnippetSites(tmp_path_factory.mktemp("snippets"), static_server)


@pytest.mark.e2e
def test_every_install_snippet_works_as_printed(snippet_sites, clients, tmp_path):
    """The pages' pip, pip-with-hashes and uv snippets, exactly as printed, against the served
    index plus a local stand-in for PyPI holding the dependencies (pip's and uv's default index
    are pointed at it through PIP_INDEX_URL / UV_DEFAULT_INDEX, so the commands stay as printed;
    only ``pip`` is run as ``python -m pip --python VENV``). poetry and pdm: the test below."""
    import shlex
    import subprocess
    import sys

    url, pypi_url, page = snippet_sites.url, snippet_sites.pypi_url, snippet_sites.page
    env = dict(clients.env, PIP_INDEX_URL=pypi_url)

    def run(command: str, venv: Path, cwd: Path) -> None:
        argv = shlex.split(command)
        assert argv[:2] == ["pip", "install"], command
        argv = [sys.executable, "-m", "pip", "--python", str(clients.python(venv)), *argv[1:]]
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"

    for name, first in SNIPPET_PROJECTS:
        text = page(name)
        # pip: the direct URL (the page asks to install dependencies from this index first)
        venv = clients.venv()
        for dep in first:
            assert f'<a href="../{dep}/">{dep}</a>' in text
            run(_snippet(page(dep), "install-pip"), venv, tmp_path)
        run(_snippet(text, "install-pip"), venv, tmp_path)
        got = clients.installed(venv)
        assert got[name] and (name == "solo" or got["deal"] == "4.24.4"), got
        # pip with hashes: the requirements file, then the command
        block, _, command = _snippet(text, "install-hashes").rpartition("\n\n")
        work = tmp_path / f"hashes-{name}"
        work.mkdir()
        (work / "requirements.txt").write_text(block + "\n")
        venv = clients.venv()
        for dep in first:
            run(_snippet(page(dep), "install-pip"), venv, tmp_path)
        run(command, venv, work)
        assert name in clients.installed(venv)
        if name == "solo":
            assert "--require-hashes" in command
        # uv: the pyproject.toml part, then the `uv add` line
        toml_part, _, then = _snippet(text, "install-uv").partition("# then\n")
        app = tmp_path / f"uv-{name}"
        app.mkdir()
        (app / "pyproject.toml").write_text(
            '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.8"\ndependencies = []\n\n' + toml_part)
        uv_env = {k: v for k, v in clients.env.items() if k != "UV_NO_CONFIG"}
        uv_env.update(UV_DEFAULT_INDEX=pypi_url, UV_PYTHON=sys.executable, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
        argv = shlex.split(then.strip())
        assert argv[:2] == ["uv", "add"]
        proc = subprocess.run([clients.uv, *argv[1:]], cwd=app, env=uv_env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{then}\n{proc.stderr}"
        lock = (app / "uv.lock").read_text()
        assert f'name = "{name}"' in lock and url.rstrip("/") in lock
        assert name == "solo" or pypi_url.rstrip("/") in lock


def test_release_pages_show_the_project_pages_commands_for_the_newest_release(snippet_sites):
    """The release page of the newest release prints the same commands as the project page (so
    the tests above, which run the project page's, cover both)."""
    for name, _deps in SNIPPET_PROJECTS:
        release = (snippet_sites.site / PEOPLE_DIR / name / f"{VERSIONS[name]}.html").read_text()
        for client in ("pip", "hashes", "uv", "poetry", "pdm"):
            assert _snippet(release, f"install-{client}") == _snippet(snippet_sites.page(name), f"install-{client}")


@pytest.mark.e2e
def test_demo_install_hints_work_as_printed_and_are_the_safe_forms(snippet_sites, clients, tmp_path):
    """What ``pagesindex demo`` prints (cli.install_hints), each line as printed in a fresh
    virtual environment, with the stand-in for PyPI as the default index holding a higher
    ``solo``: the forms README.md's table calls safe install ours, never PyPI's."""
    import shlex
    import subprocess
    import sys

    from pagesindex.cli import install_hints

    url, pypi_url = snippet_sites.url, snippet_sites.pypi_url
    lines = install_hints(url, "solo")
    commands = [line for line in lines if line.startswith(("pip ", "uv "))]
    assert len(commands) == 2 and not any(c.startswith("pip ") and "--extra-index-url" in c for c in commands)
    assert lines[-1].endswith(f"{url}{PEOPLE_DIR}/solo/") and snippet_sites.page("solo")
    for command in commands:
        venv = clients.venv()
        argv = shlex.split(command)
        if argv[0] == "pip":
            argv = [sys.executable, "-m", "pip", "--python", str(clients.python(venv)), *argv[1:]]
        else:
            argv = [clients.uv, *argv[1:]]
        env = dict(clients.env, PIP_INDEX_URL=pypi_url, UV_DEFAULT_INDEX=pypi_url, VIRTUAL_ENV=str(venv))
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        assert clients.installed(venv)["solo"] == "1.0", command


def tool_project(tmp: Path, clients, extra: str = "") -> Path:
    """A fresh application project for poetry or pdm: ``pyproject.toml`` (``[project]`` with
    no dependencies, not a package, then ``extra``) and its own ``.venv`` (no pip in it: poetry
    and pdm install with their own installers; both take an in-project ``.venv`` as the
    project's environment)."""
    import subprocess
    import sys

    tmp.mkdir(parents=True)
    (tmp / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.9"\ndependencies = []\n\n'
        "[tool.poetry]\npackage-mode = false\n\n[tool.pdm]\ndistribution = false\n\n" + extra)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / ".venv")], check=True)
    return tmp


def tool_env(tmp: Path, clients, pypi_url: str) -> Dict[str, str]:
    """The environment poetry and pdm run in: no configuration, cache, keyring or home of the
    user (all under ``tmp``), PDM's default PyPI the stand-in (``PDM_PYPI_URL``; poetry's is the
    project's primary source), no update checks, no prompts."""
    home = tmp / "home"
    env = dict(clients.env)
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local/share"),
        POETRY_CONFIG_DIR=str(tmp / "poetry/config"), POETRY_CACHE_DIR=str(tmp / "poetry/cache"),
        POETRY_DATA_DIR=str(tmp / "poetry/data"), POETRY_VIRTUALENVS_IN_PROJECT="true",
        POETRY_KEYRING_ENABLED="false", POETRY_NO_INTERACTION="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PDM_HOME=str(tmp / "pdm/home"), PDM_CONFIG_FILE=str(tmp / "pdm/config.toml"),
        PDM_CACHE_DIR=str(tmp / "pdm/cache"), PDM_CHECK_UPDATE="false", PDM_NON_INTERACTIVE="1",
        PDM_PYPI_URL=pypi_url,
    )
    return env


def run_tool(tools, command: str, cwd: Path, env: Dict[str, str]) -> str:
    """Run one printed ``poetry ...`` / ``pdm ...`` line as printed (the program is the tool's
    command); returns its output."""
    import shlex
    import subprocess

    argv = shlex.split(command)
    assert argv[0] in ("poetry", "pdm"), command
    proc = subprocess.run([str(tools.path(argv[0])), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def tool_installs_from_the_old_url(client: str, url: str, old_file: str, clients, tools, work: Path, pypi_url: str) -> None:
    """``client`` (poetry or pdm), configured as a user of the old index has it (an explicit
    source, a pdm source), installs kavli-configurables from ``url`` and configurables by its old
    file URL ``old_file``, in a fresh project whose default index is ``pypi_url``."""
    tools.path(client)  # skips when the tool cannot be had
    env = tool_env(work, clients, pypi_url)
    if client == "poetry":
        app = tool_project(work / "app", clients, f'[[tool.poetry.source]]\nname = "stand-in"\n'
                           f'url = "{pypi_url}"\npriority = "primary"\n')
        run_tool(tools, f"poetry source add --priority=explicit old {url}", app, env)
        run_tool(tools, f"poetry add --source old kavli-configurables {old_file}", app, env)
    else:
        app = tool_project(work / "app", clients, f'[[tool.pdm.source]]\nname = "old"\nurl = "{url}"\n'
                           'include_packages = ["kavli-configurables"]\n')
        run_tool(tools, f'pdm add kavli-configurables "configurables @ {old_file}"', app, env)
    got = clients.installed(app / ".venv")
    assert (got.get("kavli-configurables"), got.get("configurables")) == ("1.1.0", "1.0.0"), (client, got)


@pytest.mark.e2e
@pytest.mark.parametrize("tool", ["poetry", "pdm"])
def test_poetry_and_pdm_snippets_work_as_printed(tool, snippet_sites, clients, tools, tmp_path):
    """The pages' poetry and pdm snippets, exactly as printed, in a fresh project whose own
    default index is the local stand-in for PyPI: for poetry a ``primary`` source in the
    project's pyproject.toml (a primary source replaces PyPI), for pdm ``PDM_PYPI_URL``. Our
    projects come from our index only (the stand-in is never asked for them), ``deal`` from the
    stand-in only, and the lock file names our index for our projects (poetry.lock; pdm.lock
    names no index by default) and holds our files' hashes."""
    tools.path(tool)  # skips here, before any work, when the tool cannot be had
    url, pypi_url, sites = snippet_sites.url, snippet_sites.pypi_url, snippet_sites
    env = tool_env(tmp_path, clients, pypi_url)
    for name, deps in SNIPPET_PROJECTS[::2]:  # solo (no dependencies) and pdoflow (both kinds); base-lib's form is solo's
        ours_before = len(sites.requested(url))
        pypi_before = len(sites.requested(pypi_url))
        snippet = _snippet(sites.page(name), f"install-{tool}")
        if tool == "poetry":
            app = tool_project(tmp_path / f"app-{name}", clients,
                               f'[[tool.poetry.source]]\nname = "stand-in"\nurl = "{pypi_url}"\npriority = "primary"\n')
            lines = snippet.splitlines()
            assert len(lines) == 2 and lines[0] == f"poetry source add --priority=explicit private {url}"
            for line in lines:
                run_tool(tools, line, app, env)
            lock = (app / "poetry.lock").read_text()
            packages = {block.split('"')[1]: block for block in lock.split("[[package]]")[1:]}
            for ours in [name, *deps]:
                assert f'url = "{url.rstrip("/")}"' in packages[ours] and 'reference = "private"' in packages[ours], packages[ours]
            if name != "solo":
                assert f'url = "{pypi_url.rstrip("/")}"' in packages["deal"]
        else:
            toml_part, _, then = snippet.partition("# then\n")
            assert toml_part.startswith("# pyproject.toml\n") and f'url = "{url}"' in toml_part
            app = tool_project(tmp_path / f"app-{name}", clients, toml_part)
            run_tool(tools, then.strip(), app, env)
            lock = (app / "pdm.lock").read_text()  # pdm.lock names files and hashes, not indexes
            for ours in [name, *deps]:
                assert f'name = "{ours}"' in lock
        for ours in [name, *deps]:  # the lock holds the hashes of our files
            for f in json.loads((sites.site / ours / "index.json").read_text())["files"]:
                assert f"sha256:{f['hashes']['sha256']}" in lock, (ours, f["filename"])
        got = clients.installed(app / ".venv")
        assert {n: got.get(n) for n in [name, *deps]} == {name: VERSIONS[name], **{d: VERSIONS[d] for d in deps}}, got
        assert name == "solo" or got["deal"] == "4.24.4", got
        # who was asked for what: our projects only of our index, deal only of the stand-in
        ours_asked = sites.requested(url)[ours_before:]
        pypi_asked = sites.requested(pypi_url)[pypi_before:]
        assert f"/{name}/" in ours_asked and any(p.startswith(f"/packages/{name}/") for p in ours_asked), ours_asked
        assert not any(p.strip("/").split("/")[0] in (name, *deps) for p in pypi_asked), pypi_asked
        assert not any("deal" in p for p in ours_asked), ours_asked
        assert name == "solo" or "/deal/" in pypi_asked, pypi_asked


# -- the index URL stays: the migrated seed on a plain static server at its old URL ----------------------


#: a file whose old URL's folder is not its project's (migrated as an alias)
OLD_FILE = "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl"


@pytest.fixture(scope="module")
def old_url_site(tmp_path_factory, static_server) -> str:
    """The seed index migrated and built, its site served by a plain static server at the root,
    where the old site was (``https://ORG.github.io/REPO/``): the URL users already have."""
    from conftest import SEED

    if not (SEED / "packages").is_dir():
        pytest.skip("../shared/seed-index is absent")
    root = tmp_path_factory.mktemp("old-url") / "index"
    run_cli("init", str(root), "--title", "migrated")
    run_cli("migrate", str(SEED), index=root)
    run_cli("build", index=root)
    assert (root / "_site" / OLD_FILE).read_bytes() == (SEED / OLD_FILE).read_bytes()
    return static_server(root / "_site")


@pytest.mark.e2e
@pytest.mark.parametrize("client", ["pip", "uv", "poetry", "pdm"])
def test_clients_install_from_a_plain_static_server_at_the_old_url(client, old_url_site, snippet_sites, static_server,
                                                                    clients, tools, tmp_path):
    """pip, uv, poetry and pdm install a migrated project from the old index URL (as users have
    it configured: index URL, explicit source, pdm source) and a file by its old URL (a direct
    reference, as requirement files and pyproject.toml files written against the old index have
    it), from a plain static server; nothing else is asked of our server than the project's page
    and its files."""
    url = old_url_site
    old_file = url + OLD_FILE
    before = len(static_server.requested(url))
    if client in ("pip", "uv"):
        install = clients.pip if client == "pip" else clients.uv_pip
        assert clients.installed(install(url, "kavli-configurables").venv)["kavli-configurables"] == "1.1.0"
        assert clients.installed(install(url, f"configurables @ {old_file}").venv)["configurables"] == "1.0.0"
    else:
        tool_installs_from_the_old_url(client, url, old_file, clients, tools, tmp_path, snippet_sites.pypi_url)
    asked = static_server.requested(url)[before:]
    assert "/kavli-configurables/" in asked and "/" + OLD_FILE in asked, asked
    assert all(p.startswith(("/kavli-configurables/", "/packages/kavli-configurables/")) for p in asked), asked


# -- small things seen on the migrated seed (issue 14, item 7) ------------------------------------------


def test_init_prints_its_hint_after_the_files_it_wrote(tmp_path):
    out = run_cli("init", str(tmp_path / "new"), "--title", "T").stdout.splitlines()
    assert out[-1].startswith("next: put it under git") and any(line.startswith("wrote ") for line in out[:-1])


def test_check_output_off_a_terminal_never_wraps_a_project_name(index, wheel):
    from fakepypi import Fake, FakePyPI

    long_name = "kavli-lightcurve-database-tools-for-the-tess-mission-pipeline"
    run_cli("add", str(wheel(long_name, "1.0")), index=index.root)
    fake = FakePyPI()
    try:
        fake.set(long_name, Fake(versions={"2.0": False}))
        out = run_cli("check", "--pypi-url", fake.url, "--timeout", "2", index=index.root, check=False).stdout
    finally:
        fake.close()
    row = next(line for line in out.splitlines() if line.startswith(long_name))
    assert "higher" in row.split() and "2.0" in row.split()


def test_homepage_of_the_record_and_of_the_metadata_are_told_apart(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0", homepage="https://example.org/meta",
                                        extra_headers="Project-URL: Home, https://example.org/home\n"))],
                    homepage="https://example.org/old-page")
    build_site(index)
    people = (index.root / "_site" / PEOPLE_DIR / "abc1/index.html").read_text()
    for label, url in (("Homepage (index)", "https://example.org/old-page"), ("Home (metadata)", "https://example.org/home"),
                       ("Home-page (metadata)", "https://example.org/meta")):
        assert f'<dt>{label}</dt><dd><a href="{url}"' in people, label
