"""`pagesindex verify` compares the built site with the state both ways (issue 13, item 4).

The deploy workflow publishes ``_site`` when ``pagesindex verify --require-projects`` passes, so
verify must refuse any site that is not exactly what a build of the committed state writes:
every project, page and file of the state is there with the right bytes, and nothing else is
served. Each difference names its remedy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from factory import make_sdist, make_wheel
from hostile import cli, snapshot

from pagesindex.checks.verify import ExpectedSite
from pagesindex.render import BUILDING_MARKER, MANIFEST, build_site, manifest_path
from pagesindex.state import Index


@pytest.fixture
def index(tmp_path: Path, monkeypatch) -> Index:
    monkeypatch.setenv("PAGESINDEX_CACHE_DIR", str(tmp_path / "cache"))
    return Index.init(tmp_path / "index", title="t", url="https://example.org/i/")


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return tmp_path / "dist"


def add(index: Index, *paths: Path) -> None:
    proc = cli("add", *map(str, paths), index=index.root)
    assert proc.returncode == 0, proc.stderr


def verify(index: Index, *args: str):
    return cli("verify", "--require-projects", *args, index=index.root)


def problems(proc) -> list:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1 and lines and lines[-1].endswith(" found"), proc.stderr
    found = [line[len("problem: "):] for line in lines[:-1]]
    assert lines[-1] == (f"{len(found)} problems found" if len(found) != 1 else "1 problem found"), proc.stderr
    return found


@pytest.fixture
def site(index, dist) -> Path:
    """Two projects added and built; verify passes."""
    add(index, make_wheel(dist, "abc1", "1.0"), make_sdist(dist, "abc1", "1.0"), make_wheel(dist, "other", "2.0"))
    build_site(index)
    proc = verify(index)
    assert proc.returncode == 0, proc.stderr
    return index.root / "_site"


def test_a_site_holding_only_the_marker_of_a_killed_build_fails(index, site):
    shutil.rmtree(site)
    site.mkdir()
    (site / BUILDING_MARKER).touch()
    found = problems(verify(index))
    assert f"{BUILDING_MARKER}: the last build did not finish (run 'pagesindex build': the last build was interrupted, and the next one finishes its work)" in found
    assert any(p.startswith("the site holds none of the ") and "for the 2 projects of the state (run 'pagesindex build'" in p for p in found), found


def test_an_empty_site_folder_fails(index, site):
    shutil.rmtree(site)
    site.mkdir()
    found = problems(verify(index))
    assert any(p.startswith("the site holds none of the ") for p in found), found


def test_no_site_at_all_fails_with_require_projects(index, site):
    shutil.rmtree(site)
    assert problems(verify(index)) == [f"no built site at {str(site)!r} (run 'pagesindex build')"]
    assert cli("verify", index=index.root).returncode == 0  # without it, the state alone is checked


def test_a_project_added_without_a_rebuild_is_missing(index, site, dist):
    add(index, make_wheel(dist, "newcomer", "0.1"))
    found = problems(verify(index))
    assert "newcomer/: project newcomer is missing from the site (run 'pagesindex build': the state changed since the site was built)" in found
    assert any(p.startswith("index.html: differs from what a build writes (run 'pagesindex build'") for p in found), found
    build_site(index)
    assert verify(index).returncode == 0


def test_a_removed_project_still_served_fails(index, site):
    assert cli("remove", "other", index=index.root).returncode == 0
    found = problems(verify(index))
    assert any(p.startswith("other/: project other is still served (") and p.endswith(
        "but has no record in projects/ (removed?) (run 'pagesindex build': the state changed since the site was built)") for p in found), found
    build_site(index)
    assert verify(index).returncode == 0
    assert not (site / "other").exists()


def test_a_removed_release_still_served_fails(index, site, dist):
    add(index, make_wheel(dist, "abc1", "1.1"))
    build_site(index)
    assert cli("remove", "abc1", "1.1", index=index.root).returncode == 0
    found = problems(verify(index))
    assert "packages/abc1/abc1-1.1-py3-none-any.whl: served, but not built from the state (run 'pagesindex build': the state changed since the site was built)" in found, found
    assert "abc1/1.1.html: served, but not built from the state (run 'pagesindex build': the state changed since the site was built)" in found


@pytest.mark.parametrize("rel", ["abc1/index.html", "abc1/index.json", "abc1/1.0.html", "index.html", "index.json",
                                 "_static/theme.css", "packages/abc1/abc1-1.0-py3-none-any.whl.metadata"])
def test_a_changed_page_fails_even_with_links_and_hashes_intact(index, site, rel):
    """A page changed by hand (one more word, links untouched) is not what a build writes."""
    path = site / rel
    data = path.read_bytes()
    path.write_bytes(data.replace(b"</body>", b"<p>hello</p></body>") if b"</body>" in data else data + b" ")
    found = problems(verify(index))
    assert f"{rel}: differs from what a build writes (run 'pagesindex build --full', which renders every project again and writes only what differs)" in found
    build_site(index, full=True)
    assert verify(index).returncode == 0


def test_a_changed_distribution_file_in_a_copied_site_fails(index, site):
    build_site(index, copy=True)
    path = site / "packages/abc1/abc1-1.0.tar.gz"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    found = problems(verify(index))
    assert "packages/abc1/abc1-1.0.tar.gz: differs from the recorded file (run 'pagesindex build --full', which renders every project again and writes only what differs)" in found


@pytest.mark.parametrize("rel", ["extra.html", "abc1/extra.txt", "packages/abc1/abc1-9.9.tar.gz", "_static/x.js",
                                 ".well-known/security.txt", "ghost/index.html", "packages/ghost/ghost-1.0.tar.gz"])
def test_an_extra_file_fails(index, site, rel):
    (site / rel).parent.mkdir(parents=True, exist_ok=True)
    (site / rel).write_bytes(b"<p>not from the state</p>")
    found = problems(verify(index))
    assert any(p.startswith(rel.split("/")[0]) and "delete it, or delete the site folder and run 'pagesindex build'" in p for p in found), found
    build_site(index, full=True)  # a build does not remove what it did not write ...
    assert verify(index).returncode == 1
    (site / rel).unlink()  # ... deleting it does
    assert verify(index).returncode == 0


@pytest.mark.parametrize("target", ["/etc/hostname", "abc1/index.html"])
def test_a_symbolic_link_in_the_site_fails(index, site, target):
    """upload-pages-artifact archives with --dereference: a link would publish what it points to."""
    os.symlink(target if target.startswith("/") else str(site / target), site / "linked.html")
    found = problems(verify(index))
    assert any(p.startswith("linked.html: not a regular file (a symbolic link?)") for p in found), found


def test_a_linked_folder_in_the_site_fails(index, site, tmp_path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_text("x")
    os.symlink(tmp_path / "secret", site / "abc1" / "more")
    found = problems(verify(index))
    assert any(p.startswith("abc1/more: not a regular file") for p in found), found


def test_a_page_replaced_by_a_link_to_the_right_bytes_still_fails(index, site, tmp_path):
    copy = tmp_path / "copy.html"
    shutil.copy(site / "abc1/index.html", copy)
    (site / "abc1/index.html").unlink()
    os.symlink(copy, site / "abc1/index.html")
    found = problems(verify(index))
    assert any(p.startswith("abc1/index.html: not a regular file") for p in found), found


def test_verify_writes_nothing(index, site, tmp_path):
    (site / "abc1/index.html").write_text("changed")
    before = snapshot(tmp_path)
    verify(index)
    assert snapshot(tmp_path) == before


def test_the_expected_site_is_what_a_build_writes(index, site):
    """ExpectedSite renders in memory exactly the pages and files that build_site wrote."""
    expected = ExpectedSite(index)
    assert expected.render([]) == set()
    on_disk = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert set(expected.owners) == on_disk and MANIFEST not in on_disk
    for rel, data in expected.pages.items():
        assert (site / rel).read_bytes() == data, rel
    assert not Path(expected._out).exists()


def test_a_tampered_manifest_does_not_hide_a_difference(index, site):
    """The manifest only chooses remedies: one that lists every file as the state's still
    leaves a changed page a problem."""
    (site / "abc1/index.html").write_text("changed")
    manifest_path(index, site).write_text("forged\n")
    found = problems(verify(index))
    assert any(p.startswith("abc1/index.html: differs from what a build writes") for p in found), found


# --- Findings of the security test of issue 13 (F2, F3, F5) ------------------------------------

import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402


def verify_bounded(index: Index, timeout: float = 60) -> "subprocess.CompletedProcess":
    """verify in its own process, killed after ``timeout`` seconds and limited to 2 GB of memory:
    a read that hangs (FIFO) or never ends (/dev/zero) fails the test instead of the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([sys.executable, "-m", "pagesindex", "--index", str(index.root), "verify", "--require-projects"],
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limit)


TEMPORARY = "run 'pagesindex build --full', which deletes every temporary file and folder in the site"


@pytest.mark.parametrize("rel", [".tmp-x/index.html", "abc1/.tmp-y/deeper/evil.html", "_static/.tmp-z.js", ".tmp-q/"])
def test_a_temporary_path_at_any_depth_fails_and_a_full_build_removes_it(index, site, rel):
    """F2: any .tmp-* file or folder (its own name or a folder's) is not served by a build."""
    path = site / rel
    if rel.endswith("/"):
        path.mkdir()
        shown = rel
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<script>alert(document.domain)</script>")
        top = next(i for i, part in enumerate(rel.split("/")) if part.startswith(".tmp-"))
        shown = "/".join(rel.split("/")[: top + 1]) + ("/" if top + 1 < len(rel.split("/")) else "")
    found = problems(verify(index))
    kind = "folder" if shown.endswith("/") else "file"
    assert f"{shown}: temporary {kind} (.tmp-*), not served by a build: left by an interrupted build or put there by hand ({TEMPORARY})" in found, found
    build_site(index, full=True)
    assert not os.path.lexists(site / shown.rstrip("/"))
    assert verify(index).returncode == 0


def test_a_temporary_link_is_removed_not_followed_by_a_full_build(index, site, tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "f").write_text("x")
    os.symlink(tmp_path / "keep", site / ".tmp-link")
    assert any(p.startswith(".tmp-link: temporary file") for p in problems(verify(index)))
    build_site(index, full=True)
    assert not os.path.lexists(site / ".tmp-link") and (tmp_path / "keep" / "f").read_text() == "x"
    assert verify(index).returncode == 0


def test_a_manifest_an_older_version_published_in_the_site_fails_and_a_build_removes_it(index, site):
    """The build manifest is kept outside the site now: one left in the site by an older version
    is served, so verify names it, and the next build removes it."""
    (site / MANIFEST).write_text("{}\n<script>alert(1)</script>\n")
    found = problems(verify(index))
    assert any(p.startswith(f"{MANIFEST}: served, but not built from the state") and "pagesindex build" in p for p in found), found
    build_site(index)
    assert not (site / MANIFEST).exists() and verify(index).returncode == 0


@pytest.mark.parametrize("case", ["non-utf8", "fifo", "dev-zero", "folder", "json-fifo", "json-dev-zero", "sidecar-dev-zero",
                                  "manifest-fifo", "manifest-dev-zero"])
def test_site_files_verify_cannot_read_are_named_problems(index, site, case):
    """F5: verify reads only regular files of the site, bounded, and never shows a traceback."""
    name = {"json-fifo": "ghost/index.json", "json-dev-zero": "ghost/index.json",
            "sidecar-dev-zero": "packages/ghost/abc1-1.0-py3-none-any.whl.metadata",
            "manifest-fifo": MANIFEST, "manifest-dev-zero": MANIFEST}.get(case, "x.html")
    path = site / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.startswith("manifest"):
        path.unlink(missing_ok=True)
    if case.startswith("sidecar"):  # a real wheel beside it, so that the sidecar is compared
        shutil.copy(site / "packages/abc1/abc1-1.0-py3-none-any.whl", site / "packages/ghost/abc1-1.0-py3-none-any.whl")
    if case == "non-utf8":
        path.write_bytes(b"\xff<a href='nowhere.html'>")
    elif case.endswith("fifo"):
        os.mkfifo(path)
    elif case.endswith("dev-zero"):
        os.symlink("/dev/zero", path)
    else:
        path.mkdir()
        (path / "inner.txt").write_text("x")
    proc = verify_bounded(index)
    assert "Traceback" not in proc.stderr and proc.returncode == 1, proc.stderr
    found = problems(proc)
    if case == "non-utf8":
        assert "x.html: not UTF-8 text (byte 0); a build writes only UTF-8 pages (run 'pagesindex build --full', which renders every project again and writes only what differs)" in found, found
    elif case == "folder":
        assert any(p.startswith("x.html/inner.txt: served, but not built from the state") for p in found), found
    else:
        assert any(p.startswith(f"{name}: not a regular file") for p in found), found


def test_a_forged_manifest_never_makes_a_build_delete_outside_the_site(index, site):
    """A manifest line naming '../projects/abc1.json' as the output of a removed project: verify
    reports the line, and the build removes nothing outside the site."""
    import json as _json

    victim = index.root / "projects" / "abc1.json"
    before = victim.read_bytes()
    line = "\t".join(["gone", "1", "1", "0" * 64, _json.dumps(["../projects/abc1.json", "../../x"]), "{}", '""'])
    with open(manifest_path(index, site), "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    build_site(index)
    assert victim.read_bytes() == before
    assert verify(index).returncode == 0


def test_verify_writes_nothing_into_the_index_cache_either(index, site, tmp_path):
    """With no core metadata kept (a fresh checkout), verify reads the wheels and keeps nothing;
    the build keeps what it read, and the site's sidecars are the kept files' bytes."""
    cache = index.root / ".pagesindex-cache"
    shutil.rmtree(cache)
    before = snapshot(tmp_path)
    assert verify(index).returncode == 0
    assert snapshot(tmp_path) == before and not cache.exists()
    build_site(index, full=True)
    kept = sorted((cache / "metadata").iterdir())
    sidecar = site / "packages/abc1/abc1-1.0-py3-none-any.whl.metadata"
    assert kept and sidecar.read_bytes() in [p.read_bytes() for p in kept]


def test_a_damaged_committed_file_is_named_as_the_cause_of_the_site_problems_it_makes(index, site):
    """The site's copy of a distribution file is a hard link to the committed one: appending to
    it damages both, and the page links, the JSON hashes and the archive check fail with it.
    Every one of those problems points to the committed file (restore it first); none tells to
    run 'build --full' alone, which cannot help while the committed file is wrong. Once it is
    restored (a new file, as git checkout writes it), 'build --full' mends the site."""
    rel = "packages/abc1/abc1-1.0-py3-none-any.whl"
    committed = index.root / rel
    good = committed.read_bytes()
    with open(site / rel, "ab") as fh:
        fh.write(b"x")
    found = problems(verify(index))
    assert len(found) >= 4, found
    assert found[0].startswith(f"{rel}: size ") and f"git checkout -- {rel}" in found[0], found
    for problem in found[1:]:
        assert f"(follows from {rel}, which is not the recorded file: restore it first" in problem, problem
    committed.unlink()
    committed.write_bytes(good)
    found = problems(verify(index))
    assert found and all("pagesindex build --full" in p and "follows from" not in p for p in found), found
    proc = cli("build", "--full", index=index.root)
    assert proc.returncode == 0, proc.stderr
    assert verify(index).returncode == 0
