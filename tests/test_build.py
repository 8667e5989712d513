"""`pagesindex build`: the simple API pages, JSON, sidecars, layout and incremental builds."""

import hashlib
import json
import os
import re

import pytest
from conftest import run_cli, state_snapshot
from pypi_simple import ProjectPage

from pagesindex.inspect import read_wheel_metadata
from pagesindex.inspect import inspect_file
from pagesindex.render import build_site


def built(index, *files, **add_kwargs):
    from pagesindex.inspect import inspect_file

    if files:
        index.add_files([inspect_file(f) for f in files], **add_kwargs)
    result = build_site(index)
    return index.root / "_site", result


def test_project_page_attributes(index, wheel, sdist):
    w = wheel("abc1", "1.0", requires_python=">=3.10,<4")
    s = sdist("abc1", "1.0", requires_python=">=3.10,<4")
    site, _ = built(index, w, s)
    html = (site / "abc1/index.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="pypi:repository-version" content="1.4">' in html
    assert 'data-requires-python="&gt;=3.10,&lt;4"' in html
    assert "&amp;gt;" not in html
    meta_sha = hashlib.sha256(read_wheel_metadata(w)).hexdigest()
    anchor = re.search(r'<a href="[^"]*%s[^>]*>' % re.escape(w.name), html).group(0)
    assert f'data-core-metadata="sha256={meta_sha}"' in anchor
    assert f'data-dist-info-metadata="sha256={meta_sha}"' in anchor
    assert f'#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}"' in anchor
    s_anchor = re.search(r'<a href="[^"]*%s[^>]*>' % re.escape(s.name), html).group(0)
    assert "data-core-metadata" not in s_anchor
    assert (site / "packages/abc1" / (w.name + ".metadata")).read_bytes() == read_wheel_metadata(w)
    assert not (site / "packages/abc1" / (s.name + ".metadata")).exists()
    assert (site / ".nojekyll").exists()


def test_pages_parse_with_pypi_simple_and_links_are_relative(index, wheel, sdist):
    w1 = wheel("abc1", "1.0")
    w2 = wheel("abc1", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    w3 = wheel("abc1", "1.0", tag="cp312-cp312-win_amd64")
    s = sdist("abc1", "1.0")
    site, _ = built(index, w1, w2, w3, s)
    html = (site / "abc1/index.html").read_text()
    page = ProjectPage.from_html("abc1", html, base_url="https://example.org/idx/abc1/")
    page.packages[:] = [p for p in page.packages if p.package_type is not None]
    assert {p.filename for p in page.packages} == {w1.name, w2.name, w3.name, s.name}
    for pkg in page.packages:
        assert pkg.url.startswith("https://example.org/idx/packages/abc1/")
        assert pkg.digests["sha256"] == hashlib.sha256((site / "packages/abc1" / pkg.filename).read_bytes()).hexdigest()
    assert page.repository_version == "1.4"
    for href in re.findall(r'href="([^"]+)"', html + (site / "index.html").read_text()):
        assert not href.startswith(("/", "http:", "https:")), href
    data = json.loads((site / "abc1/index.json").read_text())
    jpage = ProjectPage.from_json_data(data, base_url="https://example.org/idx/abc1/")
    assert {p.filename for p in jpage.packages} == {w1.name, w2.name, w3.name, s.name}
    assert data["versions"] == ["1.0"]
    assert data["meta"]["api-version"] == "1.4"
    for f in data["files"]:
        assert f["size"] == (site / "packages/abc1" / f["filename"]).stat().st_size
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", f["upload-time"])
    root = json.loads((site / "index.json").read_text())
    assert root["projects"] == [{"name": "abc1"}]


def test_yanked_release_is_marked_in_html_and_json(index, wheel):
    site, _ = built(index, wheel("abc1", "1.0"), wheel("abc1", "2.0"))
    index.set_yanked("abc1", "2.0", True, "broken <b>")
    build_site(index)
    html = (site / "abc1/index.html").read_text()
    page = ProjectPage.from_html("abc1", html)
    yanked = {p.filename: p.yanked_reason for p in page.packages if p.is_yanked}
    assert yanked == {"abc1-2.0-py3-none-any.whl": "broken <b>"}
    assert 'data-yanked="broken &lt;b&gt;"' in html
    files = json.loads((site / "abc1/index.json").read_text())["files"]
    assert [f["yanked"] for f in files] == [False, "broken <b>"]


def test_reserved_looking_project_names_work(index, wheel):
    site, _ = built(index, wheel("packages", "1.0"), wheel("static", "1.0"), wheel("abc1", "1.0"))
    assert (site / "packages/index.html").is_file()
    assert (site / "static/index.html").is_file()
    assert (site / "packages/packages/packages-1.0-py3-none-any.whl").is_file()
    assert (site / "packages/abc1/abc1-1.0-py3-none-any.whl").is_file()
    assert run_cli("verify", index=index.root).returncode == 0
    root = (site / "index.html").read_text()
    for name in ("packages", "static", "abc1"):
        assert f'href="{name}/"' in root


def test_build_is_deterministic(index, wheel, sdist, tmp_path):
    files = [wheel("abc1", "1.0"), sdist("abc1", "1.0"), wheel("Company.Test_Utils", "2.0b1")]
    built(index, *files, upload_time="2026-01-01T00:00:00Z")
    other = tmp_path / "site2"
    build_site(index, other)
    a = state_snapshot(index.root / "_site")
    b = state_snapshot(other)
    assert a == b


def test_incremental_build(index, wheel):
    site, first = built(index, wheel("abc1", "1.0"), wheel("zzz", "1.0"))
    assert set(first.rendered) == {"abc1", "zzz"}
    again = build_site(index)
    assert again.written == [] and again.rendered == [] and again.removed == []
    mtimes = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    from pagesindex.inspect import inspect_file

    index.add_files([inspect_file(wheel("abc1", "2.0"))])
    third = build_site(index)
    assert third.rendered == ["abc1"]
    assert set(third.written) == {
        "abc1/index.html", "abc1/index.json", "_pages/index.html", "_pages/abc1/index.html", "_pages/abc1/2.0.html",
        "abc1/2.0.html", "packages/abc1/abc1-2.0-py3-none-any.whl", "packages/abc1/abc1-2.0-py3-none-any.whl.metadata",
    }
    for p, t in mtimes.items():
        if "zzz" in str(p):
            assert p.stat().st_mtime_ns == t
    index.remove("zzz")
    fourth = build_site(index)
    assert not (site / "zzz").exists() and not (site / "packages/zzz").exists() and not (site / "_pages/zzz").exists()
    assert "zzz/index.html" in fourth.removed
    assert 'href="zzz/"' not in (site / "index.html").read_text()
    assert 'href="zzz/"' not in (site / "_pages/index.html").read_text()


def test_build_refuses_a_tampered_file(index, wheel):
    w = wheel("abc1", "1.0")
    built(index)
    from pagesindex.inspect import inspect_file

    index.add_files([inspect_file(w)])
    (index.root / "packages/abc1" / w.name).write_bytes(b"tampered")
    proc = run_cli("build", index=index.root, check=False)
    assert proc.returncode == 1 and "does not match its record" in proc.stderr
    problems = run_cli("verify", index=index.root, check=False)
    assert problems.returncode == 1 and w.name in problems.stderr


def test_verify_finds_broken_links_and_bad_sidecars(index, wheel):
    w = wheel("abc1", "1.0")
    site, _ = built(index, w)
    assert run_cli("verify", index=index.root).returncode == 0
    (site / "packages/abc1" / (w.name + ".metadata")).write_bytes(b"Name: other\n")
    (site / "packages/abc1" / w.name).unlink()
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1
    assert "broken link" in proc.stderr
    assert "no wheel beside it" in proc.stderr


def test_verify_reports_unrecorded_files(index, wheel):
    built(index, wheel("abc1", "1.0"))
    stray = index.root / "packages/abc1/stray-1.0.tar.gz"
    stray.write_bytes(b"x")
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1 and "stray-1.0.tar.gz: not recorded" in proc.stderr


def test_template_override_rebuilds_all(index, wheel):
    site, _ = built(index, wheel("abc1", "1.0"))
    (index.root / "templates").mkdir()
    base = (site / "abc1/index.html").read_text()
    from pagesindex.render import _HERE

    text = (_HERE / "templates/base.html").read_text().replace("<body>", '<body class="custom">')
    (index.root / "templates/base.html").write_text(text)
    result = build_site(index)
    assert result.rendered == ["abc1"]
    assert '<body class="custom">' in (site / "_pages/abc1/index.html").read_text() != base
    # the API pages are not templates: an override cannot add anything to them
    assert '<body class="custom">' not in (site / "abc1/index.html").read_text()


def test_build_links_files_and_verify_names_the_remedy_for_a_changed_one(index, wheel):
    w = wheel("abc1", "1.0")
    site, _ = built(index, w)
    served = site / "packages/abc1" / w.name
    stored = index.root / "packages/abc1" / w.name
    assert os.path.samefile(served, stored)  # a hard link: no second copy of the bytes
    with open(served, "ab") as fh:  # an in-place change of the site reaches the committed file ...
        fh.write(b"junk")
    proc = run_cli("verify", index=index.root, check=False)  # ... and verify says how to restore it
    assert proc.returncode == 1 and f"git checkout -- packages/abc1/{w.name}" in proc.stderr
    proc = run_cli("build", "--full", index=index.root, check=False)
    assert proc.returncode == 1 and "does not match its record" in proc.stderr
    stored.unlink()
    stored.write_bytes(w.read_bytes())  # restored as git checkout does: a new file
    proc = run_cli("verify", index=index.root, check=False)  # the site still holds the changed bytes
    assert proc.returncode == 1 and "run 'pagesindex build --full'" in proc.stderr
    result = build_site(index)
    assert result.written == []  # the manifest says nothing changed ...
    assert not os.path.samefile(served, stored)
    result = build_site(index, full=True)  # ... and a full build links the restored file again
    assert result.written == [f"packages/abc1/{w.name}"] and os.path.samefile(served, stored)
    assert run_cli("verify", index=index.root).returncode == 0


def test_build_copy_never_lets_the_site_change_the_state(index, wheel):
    w = wheel("abc1", "1.0")
    index.add_files([inspect_file(w)])
    proc = run_cli("build", "--copy", index=index.root)
    assert "1 rendered" in proc.stdout
    site = index.root / "_site"
    served = site / "packages/abc1" / w.name
    stored = index.root / "packages/abc1" / w.name
    assert not os.path.samefile(served, stored)
    with open(served, "ab") as fh:
        fh.write(b"junk")
    assert stored.read_bytes() == w.read_bytes()
    # Back to links: the change of mode places every file again.
    result = build_site(index)
    assert result.written == [f"packages/abc1/{w.name}"] and os.path.samefile(served, stored)


def test_full_build_repairs_a_site_changed_by_hand(index, wheel):
    w = wheel("abc1", "1.0")
    site, _ = built(index, w)
    build_site(index, copy=True)
    (site / "abc1/index.html").unlink()
    (site / "packages/abc1" / w.name).write_bytes(b"junk")
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1 and "pagesindex build --full" in proc.stderr
    assert build_site(index, copy=True).written == []  # the manifest says all is there
    result = build_site(index, full=True, copy=True)
    assert set(result.written) == {"abc1/index.html", f"packages/abc1/{w.name}"}
    assert run_cli("verify", index=index.root).returncode == 0


def test_verify_with_a_missing_site(index, wheel, tmp_path):
    built(index, wheel("abc1", "1.0"))
    proc = run_cli("verify", "--out", str(tmp_path / "nowhere"), index=index.root, check=False)
    assert proc.returncode == 1 and "no built site at" in proc.stderr
    import shutil

    shutil.rmtree(index.root / "_site")
    proc = run_cli("verify", index=index.root)
    assert "ok: 1 project verified (state only" in proc.stdout


def test_verify_names_the_remedy_for_a_damaged_state_file(index, wheel):
    w = wheel("abc1", "1.0")
    built(index, w)
    (index.root / "packages/abc1" / w.name).write_bytes(b"junk")
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1 and f"git checkout -- packages/abc1/{w.name}" in proc.stderr


def test_init_suggests_git_outside_a_repository(tmp_path):
    out = run_cli("init", str(tmp_path / "new")).stdout
    assert "git init" in out
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    out = run_cli("init", str(tmp_path / "repo")).stdout
    assert "created an index" in out and "git init" not in out


def test_init_honours_the_index_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_cli("--index", str(tmp_path / "by-option"), "init")
    assert (tmp_path / "by-option" / "index.toml").is_file() and not (tmp_path / "index.toml").exists()
    proc = run_cli("--index", str(tmp_path / "a"), "init", str(tmp_path / "b"), check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "two folders" in proc.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_verify_after_an_interrupted_build_names_a_plain_build(index, wheel):
    w = wheel("abc1", "1.0")
    site, _ = built(index, w)
    (site / "abc1/index.html").unlink()
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1 and "run 'pagesindex build --full'" in proc.stderr
    from pagesindex.render import BUILDING_MARKER

    (site / BUILDING_MARKER).touch()  # what a killed build leaves
    proc = run_cli("verify", index=index.root, check=False)
    assert proc.returncode == 1 and "run 'pagesindex build': the last build was interrupted" in proc.stderr


# --- F3 of the issue 13 security test: links and special files in static/ and templates/ ------

import signal  # noqa: E402

from hostile import assert_refused, cli, snapshot  # noqa: E402


def _plant(index, folder, name, kind, tmp_path):
    base = index.root / folder
    base.mkdir(exist_ok=True)
    path = base / name
    if kind == "link-outside":
        secret = tmp_path / "outside-secret.txt"
        secret.write_text("SECRET-OUTSIDE")
        os.symlink(secret, path)
    elif kind == "link-environ":
        os.symlink("/proc/self/environ", path)
    elif kind == "link-folder":
        (tmp_path / "outdir").mkdir()
        (tmp_path / "outdir" / "base.html").write_text("SECRET-OUTSIDE")
        os.symlink(tmp_path / "outdir", path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        os.symlink("/dev/zero", path)
    return path


@pytest.mark.parametrize("folder,name", [("static", "leak.txt"), ("templates", "base.html")])
@pytest.mark.parametrize("kind", ["link-outside", "link-environ", "link-folder", "fifo", "dev-zero"])
def test_build_refuses_links_and_special_files_in_static_and_templates(index, wheel, tmp_path, monkeypatch, folder, name, kind):
    """F3: a link in the index's static/ published its target (/proc/self/environ: the build's
    token); a FIFO or /dev/zero hung the build. Now: one error line naming the path, nothing
    written, and verify names it too."""
    built(index, wheel("abc1", "1.0"))
    import shutil

    shutil.rmtree(index.root / "_site")
    path = _plant(index, folder, name, kind, tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_SECRETTOKEN")
    before = snapshot(tmp_path)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("build hung")))
    signal.alarm(30)
    try:
        proc = cli("build", index=index.root)
    finally:
        signal.alarm(0)
    shown = f"{folder}/{name}"
    assert_refused(proc, shown, before=before, root=tmp_path)
    assert "ghp_SECRETTOKEN" not in proc.stderr and "SECRET-OUTSIDE" not in proc.stderr
    signal.alarm(30)
    try:
        proc = cli("verify", index=index.root)
    finally:
        signal.alarm(0)
    assert proc.returncode == 1 and f"problem: {shown}: " in proc.stderr, proc.stderr
    path.unlink()
    assert cli("build", index=index.root).returncode == 0


def test_build_refuses_an_oversized_static_file(index, wheel, monkeypatch):
    built(index, wheel("abc1", "1.0"))
    (index.root / "static").mkdir()
    (index.root / "static" / "big.js").write_bytes(b"x" * 5000)
    monkeypatch.setenv("PAGESINDEX_MAX_FILE_BYTES", "4096")
    proc = cli("build", "--full", index=index.root)
    assert proc.returncode == 1 and proc.stderr.startswith("error: static/big.js: ") and len(proc.stderr.splitlines()) == 1, proc.stderr


def test_a_linked_static_or_templates_folder_is_refused(index, wheel, tmp_path):
    built(index, wheel("abc1", "1.0"))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_text("SECRET-OUTSIDE")
    os.symlink(tmp_path / "elsewhere", index.root / "static")
    proc = cli("build", "--full", index=index.root)
    assert proc.returncode == 1 and proc.stderr.startswith("error: static: a symbolic link"), proc.stderr
    assert not (index.root / "_site" / "_static" / "x.txt").exists()


def test_a_static_file_added_later_reaches_the_site_in_an_incremental_build(index, wheel):
    """An incremental build used to say '0 files written' after a file was added to the index's
    static/ folder, and verify then found '_static/extra.css: missing from the site'."""
    from pagesindex.checks.verify import verify

    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    build_site(index)
    (index.root / "static").mkdir(exist_ok=True)
    (index.root / "static/extra.css").write_text("body { color: teal }\n")
    build_site(index)
    assert (index.root / "_site/_static/extra.css").read_text() == "body { color: teal }\n"
    assert verify(index) == []


def test_the_build_line_names_the_projects_rendered(index, wheel):
    """The build's last line names what it rendered (up to 8, then how many more), so that a
    deploy log says which projects a merge changed."""
    index.add_files([inspect_file(wheel(f"proj{i}", "1.0")) for i in range(10)])
    first = run_cli("build", index=index.root).stdout
    assert "10 rendered (proj0, proj1, proj2, proj3, proj4, proj5, proj6, proj7 and 2 more), " in first
    index.add_files([inspect_file(wheel("proj3", "2.0"))])
    assert "1 rendered (proj3), " in run_cli("build", index=index.root).stdout
    assert ": 0 rendered, 0 files written" in run_cli("build", index=index.root).stdout
    # projects whose records went: the line names them too
    index.remove("proj9")
    index.remove("proj2")
    out = run_cli("build", index=index.root).stdout
    assert re.search(r": 0 rendered, \d+ files? written, \d+ removed, 2 projects gone \(proj2, proj9\) in ", out), out


def test_names_shown_quotes_what_is_not_a_normalized_name():
    from pagesindex.model import names_shown

    assert names_shown([]) == ""
    assert names_shown(["abc", "x-1"]) == " (abc, x-1)"
    assert names_shown(["a\x1b[2Jb", "Caf\u00e9", "ok"]) == " ('a\\x1b[2Jb', 'Caf\\xe9', ok)"
    assert names_shown([f"p{i}" for i in range(3)], limit=2) == " (p0, p1 and 1 more)"
