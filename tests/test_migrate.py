"""`pagesindex migrate`: the institute's old index (../shared/seed-index) and hand-made old indexes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
from conftest import make_sdist, make_wheel, run_cli, state_snapshot

from pagesindex.errors import IndexStateError
from pagesindex.model import Project
from pagesindex.sources.legacy import read_page, read_root

SEED_DISAGREEMENTS = [
    ("label-points-at-other-version", "lightcurvedb", "2.1.0", "lightcurvedb-2.0.0-py3-none-any.whl"),
    ("label-points-at-other-version", "lightcurvedb", "2.2.0", "lightcurvedb-2.0.0-py3-none-any.whl"),
    ("label-points-at-other-version", "lightcurvedb", "0.1.16.0", "lightcurvedb-0.16.8-py3-none-any.whl"),
    ("label-points-at-other-version", "pyticdb", "1.0.0", "pyticdb-2.0.3-py3-none-any.whl"),
]


# -- making old-format indexes ---------------------------------------------------------------------


def card(folder: str, name: str, version: str, summary: str) -> str:
    return (
        f'<a class="card" href="{folder}/">\n    {name}\n    <span>\n    </span>\n'
        f'    <span class="version">\n     {version}\n    </span>\n    <br/>\n'
        f'    <span class="description">\n     {summary}\n    </span>\n   </a>\n'
    )


def root_page(cards: Sequence[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><title>Pypi - Test</title></head><body>\n"
        '<div class="container"><h6 class="text-header">Packages</h6>\n' + "".join(cards) + "</div></body></html>\n"
    )


def project_page(name: str, latest: str, homepage: str, author: str, links: Sequence[Tuple[str, str]]) -> str:
    versions = "".join(
        f'<div id="v{label}" onclick="load_readme(\'v{label}\')">\n <a href="{href}">\n  {label}\n </a>\n</div>\n'
        for label, href in links
    )
    return (
        "<!DOCTYPE html>\n<html><body><div class='container'>\n<section class=\"header\">\n"
        '<button class="goback-button" onclick="redirectToIndex()"><svg><circle r="20"></circle></svg></button>\n'
        f'  {name}\n  <span></span>\n  <span class="version" id="latest-version">\n   {latest}\n  </span>\n</section>\n'
        f"<button id=\"repoHomepage\" onclick=\"openLinkInNewTab('{homepage}')\">Homepage</button>\n"
        f'<p class="elem">\n <b>\n  Author :\n </b>\n {author}\n</p>\n'
        f'<section class="versions" id="versions">\n{versions}</section>\n</div></body></html>\n'
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def migrate_json(index_root: Path, old: Path, *extra: str) -> Dict:
    out = run_cli("migrate", str(old), "--json", *extra, index=index_root)
    return json.loads(out.stdout)


def kinds(report: Dict, kind: str, project: Optional[str] = None) -> List[Dict]:
    return [d for d in report["disagreements"] if d["kind"] == kind and (project is None or d["project"] == project)]


def record(index, name: str) -> Dict:
    return json.loads((index.root / "projects" / f"{name}.json").read_text())


def old_hrefs(old: Path) -> List[str]:
    """Every file link of the old pages, as a site path (what old bookmarks and scripts use)."""
    out = []
    for page in sorted(old.glob("*/index.html")):
        for href in re.findall(r'href="\.\./(packages/[^"]+)"', page.read_text()):
            out.append(href)
    return out


# -- the institute's index ------------------------------------------------------------------------


def test_seed_migrates_every_file_with_its_hash_and_the_old_pages_fields(seed_index, index):
    report = migrate_json(index.root, seed_index)
    assert index.project_names() == ["configurables", "data-product-tracker", "kavli-configurables", "lightcurvedb", "pdoflow", "pyticdb"]
    seed_files = sorted(p for p in (seed_index / "packages").rglob("*") if p.is_file())
    assert len(seed_files) == 26
    recorded = {f.filename: f for p in index.projects() for f in p.all_files()}
    for path in seed_files:
        assert recorded[path.name].sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path
        assert recorded[path.name].size == path.stat().st_size
    assert len(recorded) == 26
    assert {f["old-path"] for f in report["files"]} == {p.relative_to(seed_index).as_posix() for p in seed_files}
    # Fields from the old pages, not from the files' metadata.
    dpt = record(index, "data-product-tracker")
    assert dpt["name"] == "data-product-tracker"  # the metadata spells it data_product_tracker
    assert dpt["summary"] == "A database to track various emitted data products and their respective data flows."
    assert dpt["author"] == "William Fong"
    assert dpt["homepage"] == "https://github.com/mit-kavli-institute/data-product-tracker"
    assert record(index, "kavli-configurables")["homepage"] == "https://github.com/mit-kavli-institute/configurables"
    assert list(record(index, "lightcurvedb")["releases"]) == ["0.16.8", "1.0.0", "2.0.0", "2.3.0", "3.0.0b1", "3.0.0b3", "3.0.0b4"]
    assert list(record(index, "pyticdb")["releases"]) == ["2.0.3"]
    # configurables-1.0.0 belongs to project configurables; its old URL is kept.
    conf = record(index, "configurables")
    assert list(conf["releases"]) == ["1.0.0"]
    assert conf["extra"]["aliases"] == {
        "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl": "configurables-1.0.0-py2.py3-none-any.whl",
        "packages/kavli-configurables/configurables-1.0.0.tar.gz": "configurables-1.0.0.tar.gz",
    }


def test_seed_report_lists_every_disagreement(seed_index, index):
    report = migrate_json(index.root, seed_index)
    for kind, project, label, filename in SEED_DISAGREEMENTS:
        assert any(d["label"] == label and d["filename"] == filename for d in kinds(report, kind, project)), (kind, project, label)
    assert len(kinds(report, "label-points-at-other-version")) == 4
    moved = kinds(report, "file-in-other-folder", "configurables")
    assert sorted(d["old_path"] for d in moved) == [
        "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl",
        "packages/kavli-configurables/configurables-1.0.0.tar.gz",
    ]
    assert all(d["folder"] == "kavli-configurables" for d in moved)
    assert kinds(report, "label-points-at-other-project", "kavli-configurables")[0]["file_project"] == "configurables"
    shown = kinds(report, "shown-version-without-file", "pyticdb")
    assert {d["where"] for d in shown} == {"card", "page"} and all(d["file_versions"] == ["2.0.3"] for d in shown)
    assert kinds(report, "shown-version-without-file") == shown
    assert kinds(report, "git-link-without-file") == []  # the seed has no git links
    assert kinds(report, "broken-link") == []
    # The text report says the same, for people.
    text = run_cli("migrate", str(seed_index), "--dry-run", index=index.root).stdout
    assert "label '2.1.0' links lightcurvedb-2.0.0-py3-none-any.whl" in text
    assert "label '0.1.16.0' links lightcurvedb-0.16.8-py3-none-any.whl" in text
    assert "the card shows 1.0.0, but no file has version 1.0.0 (files: 2.0.3)" in text
    assert "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl is a file of project 'configurables'" in text
    assert "checked, none found:" in text and "git-link-without-file" in text.split("checked, none found:")[1]


def test_seed_builds_verifies_and_keeps_old_urls(seed_index, index):
    run_cli("migrate", str(seed_index), index=index.root)
    run_cli("build", index=index.root)
    site = index.root / "_site"
    for name in index.project_names():
        page = (site / name / "index.html").read_text()
        for f in index.get_project(name).all_files():
            assert f"{f.filename}#sha256={f.sha256}" in page
    assert "verified" in run_cli("verify", index=index.root).stdout
    old_paths = {p.relative_to(seed_index).as_posix() for p in (seed_index / "packages").rglob("*") if p.is_file()}
    old_paths.update(old_hrefs(seed_index))
    assert "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl" in old_paths
    for rel in sorted(old_paths):
        assert (site / rel).read_bytes() == (seed_index / rel).read_bytes(), rel


def test_seed_dry_run_writes_nothing_and_second_run_changes_nothing(seed_index, index):
    before = state_snapshot(index.root)
    dry = run_cli("migrate", str(seed_index), "--dry-run", index=index.root)
    assert state_snapshot(index.root) == before
    assert "would change (" in dry.stdout and "lightcurvedb 2.3.0: add lightcurvedb-2.3.0-py3-none-any.whl" in dry.stdout
    dry_json = migrate_json(index.root, seed_index, "--dry-run")
    assert state_snapshot(index.root) == before
    first = migrate_json(index.root, seed_index)
    assert first["changes"] == dry_json["changes"] and first["changes"]
    after = state_snapshot(index.root)
    again = run_cli("migrate", str(seed_index), index=index.root)
    assert "changed: nothing" in again.stdout
    assert state_snapshot(index.root) == after
    assert migrate_json(index.root, seed_index, "--dry-run")["changes"] == []


@pytest.mark.e2e
def test_seed_installs_every_version_with_a_file_over_http(seed_index, index, serve, clients, capsys):
    run_cli("migrate", str(seed_index), index=index.root)
    run_cli("build", index=index.root)
    url = serve(index.root / "_site")
    import httpx

    old_paths = {p.relative_to(seed_index).as_posix() for p in (seed_index / "packages").rglob("*") if p.is_file()}
    for rel in sorted(old_paths | set(old_hrefs(seed_index))):
        response = httpx.get(url + rel)
        assert response.status_code == 200 and response.content == (seed_index / rel).read_bytes(), rel
    wanted = [(p.normalized_name, r.version) for p in index.projects() for r in p.sorted_releases() if r.files]
    assert len(wanted) == 13
    for name, version in wanted:
        venv = clients.pip(url, "--no-deps", f"{name}=={version}").venv
        assert clients.installed(venv).get(name) == version, (name, version)
    for spec in ("configurables==1.0.0", "kavli-configurables", "lightcurvedb==3.0.0b4"):
        name, _, version = spec.partition("==")
        got = clients.installed(clients.uv_pip(url, "--no-deps", spec).venv)
        assert name in got and (not version or got[name] == version), (spec, got)
    with capsys.disabled():
        print(f"\nmigrate e2e: {len(wanted)} pip installs, 3 uv installs, {len(old_paths)} old URLs fetched")


# -- hand-made old indexes ------------------------------------------------------------------------


def test_git_links_only_become_releases_without_files(tmp_path, index):
    old = tmp_path / "old"
    write(old / "index.html", root_page([card("private-hello", "private-hello", "0.2", "Says hello, privately.")]))
    write(
        old / "private-hello" / "index.html",
        project_page(
            "private-hello", "0.2", "https://github.com/astro/private-hello", "Ann Author",
            [
                ("0.1", "git+https://github.com/astro/private-hello@0.1#egg=private-hello-0.1"),
                ("0.2", "git+https://github.com/astro/private-hello.git@v0.2#egg=private-hello-0.2"),
                ("0.3.dev0", "git+https://github.com/astro/private-hello@0.3.dev0#egg=private-hello-0.3.dev0"),
            ],
        ),
    )
    report = migrate_json(index.root, old)
    rec = record(index, "private-hello")
    assert rec["summary"] == "Says hello, privately." and rec["author"] == "Ann Author"
    assert rec["homepage"] == "https://github.com/astro/private-hello"
    assert {v: r["files"] for v, r in rec["releases"].items()} == {"0.1": [], "0.2": [], "0.3.dev0": []}
    assert rec["releases"]["0.2"]["extra"]["git"] == {"url": "https://github.com/astro/private-hello", "tag": "v0.2"}
    assert rec["releases"]["0.1"]["extra"]["git"] == {"url": "https://github.com/astro/private-hello", "tag": "0.1"}
    assert sorted(d["version"] for d in kinds(report, "git-link-without-file", "private-hello")) == ["0.1", "0.2", "0.3.dev0"]
    assert kinds(report, "shown-version-without-file") == []
    assert report["projects"][0]["git-versions"] == ["0.1", "0.2", "0.3.dev0"]
    # A release without files renders and verifies.
    run_cli("build", index=index.root)
    data = json.loads((index.root / "_site" / "private-hello" / "index.json").read_text())
    assert data["versions"] == ["0.1", "0.2", "0.3.dev0"] and data["files"] == []
    assert 'id="v0.2"' in (index.root / "_site" / "_pages" / "private-hello" / "index.html").read_text()
    run_cli("verify", index=index.root)
    again = run_cli("migrate", str(old), index=index.root)
    assert "changed: nothing" in again.stdout


def test_git_link_beside_a_file_keeps_the_file(tmp_path, index):
    old = tmp_path / "old"
    w = make_wheel(old / "packages" / "mixed", "mixed", "1.0")
    write(old / "index.html", root_page([card("mixed", "mixed", "1.1", "Mixed.")]))
    write(
        old / "mixed" / "index.html",
        project_page(
            "mixed", "v1.1", "https://github.com/astro/mixed", "A",
            [("1.0", f"../packages/mixed/{w.name}"), ("1.0", "git+https://github.com/astro/mixed@v1.0#egg=mixed-1.0"),
             ("1.1", "git+https://github.com/astro/mixed@v1.1#egg=mixed-1.2")],
        ),
    )
    report = migrate_json(index.root, old)
    rec = record(index, "mixed")
    assert [f["filename"] for f in rec["releases"]["1.0"]["files"]] == [w.name]
    assert "extra" not in rec["releases"]["1.0"]
    assert rec["releases"]["1.1"]["extra"]["git"]["tag"] == "v1.1"
    assert kinds(report, "git-link-with-file", "mixed")[0]["version"] == "1.0"
    assert kinds(report, "egg-version-differs", "mixed")[0]["egg"] == "mixed-1.2"


def test_missing_pages_and_projects_without_a_page(tmp_path, index):
    old = tmp_path / "old"
    make_wheel(old / "packages" / "nopage", "nopage", "1.0", summary="From metadata", homepage="https://example.org/nopage")
    make_wheel(old / "packages" / "orphan", "orphan", "2.0", summary="Orphan metadata")
    make_wheel(old / "packages" / "renamed", "Renamed", "3.0")
    write(old / "index.html", root_page([card("nopage", "nopage", "1.0", "From the card"), card("renamed", "Old Name", "3.0", "R")]))
    write(old / "cardless" / "index.html", project_page("cardless", "v1.0", "https://example.org/c", "C. Author", []))
    write(old / "renamed" / "index.html", project_page("ReNamed", "3.0", "https://example.org/r", "R", [("3.0", "../packages/renamed/renamed-3.0-py3-none-any.whl")]))
    report = migrate_json(index.root, old)
    mismatch = kinds(report, "name-mismatch", "renamed")
    assert [d["other"] for d in mismatch] == ["Old Name"]
    assert record(index, "renamed")["name"] == "ReNamed"
    assert kinds(report, "missing-page", "nopage")
    assert kinds(report, "page-without-card", "cardless")
    assert kinds(report, "project-without-page", "orphan")
    assert kinds(report, "project-without-files", "cardless")
    nopage = record(index, "nopage")
    assert nopage["summary"] == "From the card" and nopage["homepage"] == "https://example.org/nopage"
    assert record(index, "orphan")["summary"] == "Orphan metadata"
    cardless = record(index, "cardless")
    assert cardless["releases"] == {} and cardless["author"] == "C. Author" and cardless["homepage"] == "https://example.org/c"
    # shown versions without a file: the page says 1.0 but cardless has nothing
    assert kinds(report, "shown-version-without-file", "cardless")[0]["label"] == "v1.0"
    run_cli("build", index=index.root)
    assert "cardless" in (index.root / "_site" / "index.html").read_text()
    run_cli("verify", index=index.root)


def test_odd_whitespace_quoting_and_entities_are_read(tmp_path, index):
    old = tmp_path / "old"
    w = make_wheel(old / "packages" / "odd-name", "Odd.Name", "1.0.0rc1")
    root = (
        "<HTML><BODY>\n<A CLASS='card other' HREF='./odd-name/index.html'>\n\t\tOdd.Name\r\n<SPAN></SPAN>"
        "<SPAN CLASS=version>\t1.0.0-rc.1\n</SPAN><BR><SPAN CLASS='description'>Fish &amp; chips\n\n  for   all</SPAN></A>"
        "<a class=card href='broken/'>broken<span class=version>1</span></a>"
    )
    write(old / "index.html", root)
    page = (
        "<html><body><section class='header'>\n\n   Odd.Name   \n<span id=latest-version>v1.0.0-rc.1</span></section>"
        "<button id='repoHomepage' onclick=\"location.href='https://example.org/odd'\">Homepage</button>"
        "<p class=elem><b>Author&nbsp;:</b>\n\n   Jo   Smith  </p><p>unclosed"
        "<section id=versions><div id='v1.0.0-rc.1' class=prerelease><a\nhref='../packages/odd-name/"
        + w.name.replace("-", "%2D", 1)
        + "'\n>\n  v1.0.0-rc.1\n</a></div></section></body></html>"
    )
    write(old / "odd-name" / "index.html", page)
    cards = read_root(root)
    assert [(c.folder, c.name, c.version, c.summary) for c in cards] == [
        ("odd-name", "Odd.Name", "1.0.0-rc.1", "Fish & chips for all"),
        ("broken", "broken", "1", ""),
    ]
    parsed = read_page(page, "odd-name")
    assert (parsed.name, parsed.latest, parsed.homepage, parsed.author) == ("Odd.Name", "v1.0.0-rc.1", "https://example.org/odd", "Jo Smith")
    assert [(l.label, l.kind, l.target) for l in parsed.links] == [("v1.0.0-rc.1", "file", f"packages/odd-name/{w.name}")]
    report = migrate_json(index.root, old)
    rec = record(index, "odd-name")
    assert rec["name"] == "Odd.Name" and rec["summary"] == "Fish & chips for all" and rec["author"] == "Jo Smith"
    assert list(rec["releases"]) == ["1.0.0rc1"]
    assert kinds(report, "label-points-at-other-version") == [] and kinds(report, "shown-version-without-file", "odd-name") == []
    assert kinds(report, "missing-page", "broken")


def test_links_that_do_not_add_up_are_reported(tmp_path, index):
    old = tmp_path / "old"
    w = make_wheel(old / "packages" / "links", "links", "1.0")
    (old / "packages" / "links" / "README.txt").write_text("not a distribution")
    write(old / "index.html", root_page([card("links", "Links", "1.0", "L")]))
    write(
        old / "links" / "index.html",
        project_page(
            "links", "v1.0", "javascript:alert(1)", "A",
            [
                ("1.0", f"../packages/links/{w.name}"),
                ("1.1", "../packages/links/links-1.1-py3-none-any.whl"),
                ("1.2", "https://github.com/astro/links/releases/download/v1.2/links-1.2-py3-none-any.whl"),
                ("latest", f"../packages/links/{w.name}"),
                ("1.3", "mailto:someone@example.org"),
            ],
        ),
    )
    report = migrate_json(index.root, old)
    assert kinds(report, "broken-link", "links")[0]["label"] == "1.1"
    assert kinds(report, "external-link", "links")[0]["label"] == "1.2"
    assert kinds(report, "bad-label", "links")[0]["label"] == "latest"
    assert kinds(report, "unrecognized-link", "links")[0]["label"] == "1.3"
    assert kinds(report, "ignored-file")[0]["old_path"] == "packages/links/README.txt"
    assert kinds(report, "bad-homepage", "links")
    assert kinds(report, "name-mismatch") == []
    rec = record(index, "links")
    assert rec["homepage"] == "" and list(rec["releases"]) == ["1.0"] and rec["name"] == "links"
    run_cli("build", index=index.root)
    # README.txt was not migrated, so the new site does not serve it.
    assert not (index.root / "_site" / "packages" / "links" / "README.txt").exists()


def test_files_in_odd_folders_keep_their_old_urls(tmp_path, index, serve):
    old = tmp_path / "old"
    a = make_wheel(old / "packages" / "Foo_Bar", "foo-bar", "1.0")
    b = make_sdist(old / "packages", "loose", "0.1")
    # the same file twice, in two folders: one record, two old URLs
    make_wheel(old / "packages" / "foo-bar", "foo-bar", "1.0")
    report = migrate_json(index.root, old)
    assert kinds(report, "folder-not-normalized", "foo-bar")[0]["old_path"] == f"packages/Foo_Bar/{a.name}"
    assert kinds(report, "file-in-other-folder", "loose")[0]["old_path"] == f"packages/{b.name}"
    assert record(index, "foo-bar")["extra"]["aliases"] == {f"packages/Foo_Bar/{a.name}": a.name}
    run_cli("build", index=index.root)
    run_cli("verify", index=index.root)
    import httpx

    url = serve(index.root / "_site")
    expected = {
        f"packages/Foo_Bar/{a.name}": a.read_bytes(),
        f"packages/foo-bar/{a.name}": a.read_bytes(),
        f"packages/{b.name}": b.read_bytes(),
        f"packages/loose/{b.name}": b.read_bytes(),
    }
    for rel, body in expected.items():
        response = httpx.get(url + rel)
        assert response.status_code == 200 and response.content == body, rel
    # Removing the project removes its old URLs from the site too.
    run_cli("remove", "foo-bar", index=index.root)
    run_cli("build", index=index.root)
    assert not (index.root / "_site" / "packages" / "Foo_Bar").exists()
    run_cli("verify", index=index.root)


def test_upload_times_come_from_the_old_index_git_history(tmp_path, index):
    """A migrated file's upload time is when it entered the old index: the commit that added it
    (issue 14); without git history, the time of the migration, and the report says so."""
    import subprocess

    repo = tmp_path / "repo"
    old = repo / "site"  # the old index may sit in a folder of its repository
    first = make_wheel(old / "packages" / "abc1", "abc1", "1.0")
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.org", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@example.org", "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}

    def commit(when):
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "x"], cwd=repo, check=True, env={**env, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when})

    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    commit("2021-03-04T05:06:07Z")
    second = make_wheel(old / "packages" / "abc1", "abc1", "2.0")
    commit("2023-08-09T10:11:12Z")
    (old / "packages" / "abc1" / "note.txt").write_text("a later commit that touches the folder")
    commit("2024-01-01T00:00:00Z")
    untracked = make_wheel(old / "packages" / "abc1", "abc1", "3.0")
    out = run_cli("migrate", str(old), index=index.root).stdout
    assert "upload times: 2 from the git history of the old index (the commit that added each file), 1 set to now" in out
    files = {f["filename"]: f["upload-time"] for r in record(index, "abc1")["releases"].values() for f in r["files"]}
    assert files[first.name] == "2021-03-04T05:06:07Z"
    assert files[second.name] == "2023-08-09T10:11:12Z"
    assert files[untracked.name] > "2026-01-01"
    run_cli("build", index=index.root)
    assert 'data-upload-time="2021-03-04T05:06:07Z"' in (index.root / "_site/abc1/index.html").read_text()


# -- failures write nothing -----------------------------------------------------------------------


def test_bad_inputs_write_nothing(tmp_path, index):
    before = state_snapshot(index.root)
    not_there = run_cli("migrate", str(tmp_path / "nope"), index=index.root, check=False)
    assert not_there.returncode == 1 and "not a folder" in not_there.stderr and "nope" in not_there.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_cli("migrate", str(empty), index=index.root, check=False)
    assert res.returncode == 1 and "not an old-format index" in res.stderr
    bad = tmp_path / "bad"
    make_wheel(bad / "packages" / "good", "good", "1.0")
    (bad / "packages" / "broken").mkdir(parents=True)
    (bad / "packages" / "broken" / "broken-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 truncated")
    res = run_cli("migrate", str(bad), index=index.root, check=False)
    assert res.returncode == 1 and "packages/broken/broken-1.0-py3-none-any.whl" in res.stderr
    twins = tmp_path / "twins"
    make_wheel(twins / "packages" / "one", "twin", "1.0", summary="one")
    make_wheel(twins / "packages" / "two", "twin", "1.0", summary="two")
    res = run_cli("migrate", str(twins), index=index.root, check=False)
    assert res.returncode == 1 and "different files with the same name" in res.stderr
    assert "packages/one/twin-1.0-py3-none-any.whl" in res.stderr
    assert state_snapshot(index.root) == before


def test_invalid_alias_in_a_record_is_refused_by_build_and_verify(index, wheel):
    w = wheel("alias-test", "1.0")
    run_cli("add", str(w), index=index.root)
    path = index.root / "projects" / "alias-test.json"
    data = json.loads(path.read_text())
    data["extra"] = {"aliases": {"packages/../../outside.whl": w.name}}
    path.write_text(json.dumps(data))
    res = run_cli("build", index=index.root, check=False)
    assert res.returncode == 1 and "invalid alias 'packages/../../outside.whl'" in res.stderr
    assert not (index.root / "outside.whl").exists()
    res = run_cli("verify", index=index.root, check=False)
    assert res.returncode == 1 and "invalid alias" in res.stderr
    data["extra"] = {"aliases": {f"packages/alias-test/{w.name}": w.name}}  # its own path is no alias
    path.write_text(json.dumps(data))
    assert run_cli("build", index=index.root, check=False).returncode == 1


def test_alias_missing_from_a_built_site_is_a_verify_problem(tmp_path, index):
    old = tmp_path / "old"
    a = make_wheel(old / "packages" / "Moved", "moved", "1.0")
    run_cli("migrate", str(old), index=index.root)
    run_cli("build", index=index.root)
    (index.root / "_site" / "packages" / "Moved" / a.name).unlink()
    res = run_cli("verify", index=index.root, check=False)
    assert res.returncode == 1 and f"packages/Moved/{a.name}: old URL of {a.name} is missing" in res.stderr


def test_update_project_refuses_a_rename_to_another_project(index):
    def rename(project: Project) -> None:
        project.name = "other"

    with pytest.raises(IndexStateError, match="cannot rename project 'one'"):
        index.update_project("one", rename)
    assert index.project_names() == []
    assert index.update_project("one", lambda p: None, display_name="One") is True
    assert index.get_project("one").name == "One"
    assert index.update_project("one", lambda p: None) is False
