"""The fast paths behind the benchmarks keep the build's and add's guarantees.

- The sharded build manifest: a no-change build writes nothing (not even the manifest) and reads
  no shard, a one-project change reads and rewrites that project's shard only, a torn shard or
  summary is not trusted, a touched but equal record is not rendered again, an old JSON manifest
  is replaced.
- The landing page: a card change puts the new card in place of the old one (the same bytes as
  a page made from every card), and falls back to every card when the old one is not found.
- place_file: a hard link by default; a copy (build --copy) is hashed and refused on mismatch.
- add_files: a file that changed after inspection is refused.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from conftest import run_cli, state_snapshot

from pagesindex.checks.verify import verify
from pagesindex.errors import IndexStateError, InvalidDistribution
from pagesindex.inspect import inspect_file
from pagesindex import render
from pagesindex.render import MANIFEST, _load_manifest, build_site, manifest_path, shard_folder


def test_no_change_build_writes_nothing_not_even_the_manifest(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0")), inspect_file(wheel("zzz", "2.0"))])
    site = index.root / "_site"
    build_site(index)
    manifest = manifest_path(index, site)
    assert not (site / MANIFEST).exists(), "nothing internal is published"
    lines = manifest.read_text().splitlines()
    assert lines[0].startswith("{") and '"format":6' in lines[0]
    assert sorted(line.split("\t")[0] for line in lines[1:]) == ["abc1", "zzz"]  # in the folder's order
    before = state_snapshot(site)
    mtime = manifest.stat().st_mtime_ns
    shards = _shard_files(manifest)
    again = build_site(index)
    assert again.written == again.removed == again.rendered == []
    assert manifest.stat().st_mtime_ns == mtime and state_snapshot(site) == before
    assert _shard_files(manifest) == shards


def test_touched_record_is_not_rendered_again(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    build_site(index)
    record = index.root / "projects/abc1.json"
    st = record.stat()
    os.utime(record, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    result = build_site(index)
    assert result.rendered == [] and result.written == []
    line = manifest_path(index, index.root / "_site").read_text().splitlines()[1]
    assert line.split("\t")[1] == str(record.stat().st_mtime_ns)


def test_old_json_manifest_is_replaced_by_one_full_build(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    site = index.root / "_site"
    site.mkdir()
    (site / ".pagesindex-build.json").write_text('{"format": 1, "projects": {}}')
    result = build_site(index)
    assert result.rendered == ["abc1"]
    assert not (site / ".pagesindex-build.json").exists() and manifest_path(index, site).is_file()


def test_pages_are_readable_by_the_web_server(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    build_site(index)
    page = index.root / "_site/abc1/index.html"
    assert page.stat().st_mode & stat.S_IROTH


def test_a_copy_is_hashed_and_refused_when_it_does_not_match(index, wheel, monkeypatch):
    w = wheel("abc1", "1.0")
    index.add_files([inspect_file(w)])
    build_site(index, copy=True)
    served = index.root / "_site/packages/abc1" / w.name
    assert served.read_bytes() == w.read_bytes()
    assert not os.path.samefile(served, index.root / "packages/abc1" / w.name)

    w2 = wheel("abc1", "2.0")
    index.add_files([inspect_file(w2)])
    kept = index.root / "packages/abc1" / w2.name
    data = bytearray(kept.read_bytes())
    data[100] ^= 0xFF  # same size, other bytes
    kept.write_bytes(bytes(data))
    with pytest.raises(IndexStateError, match="does not match its record"):
        build_site(index, copy=True)
    assert not (index.root / "_site/packages/abc1" / w2.name).exists()
    assert not list((index.root / "_site/packages/abc1").glob(".tmp-*"))


def test_build_refuses_a_missing_file(index, wheel):
    w = wheel("abc1", "1.0")
    index.add_files([inspect_file(w)])
    (index.root / "packages/abc1" / w.name).unlink()
    proc = run_cli("build", index=index.root, check=False)
    assert proc.returncode == 1 and "missing distribution file" in proc.stderr


def test_add_refuses_a_file_that_changed_after_inspection(index, wheel):
    w = wheel("abc1", "1.0")
    inspected = inspect_file(w)
    before = state_snapshot(index.root)
    w.write_bytes(w.read_bytes() + b"more")
    with pytest.raises(InvalidDistribution, match="changed after it was inspected"):
        index.add_files([inspected])
    assert state_snapshot(index.root) == before


def test_root_page_is_rendered_again_only_when_a_card_changes(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0")), inspect_file(wheel("abc1", "2.0")),
                     inspect_file(wheel("zzz", "1.0"))])
    build_site(index)
    index.set_yanked("abc1", "1.0", True, "broken")  # the newest release stays 2.0: same card
    result = build_site(index)
    assert result.rendered == ["abc1"] and "_pages/index.html" not in result.written
    assert "abc1/index.html" in result.written and "_pages/abc1/index.html" in result.written
    index.set_yanked("abc1", "2.0", True, "broken")  # now the card shows no stable release
    result = build_site(index)
    assert "_pages/index.html" in result.written
    assert "index.html" not in result.written, "the API root lists names only"


def _site_bytes(site):
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def test_worker_processes_write_the_same_site(index, wheel, sdist, tmp_path):
    for i in range(7):
        index.add_files([inspect_file(wheel(f"proj{i}", "1.0")), inspect_file(sdist(f"proj{i}", "1.0"))])
    one = build_site(index, tmp_path / "one", jobs=1)
    two = build_site(index, tmp_path / "two", jobs=2)
    assert one.rendered == two.rendered == [f"proj{i}" for i in range(7)]
    assert sorted(one.written) == sorted(two.written)
    assert _site_bytes(tmp_path / "one") == _site_bytes(tmp_path / "two")
    # The same lines; the headers differ only in the stamp of the site each describes.
    one_lines = manifest_path(index, tmp_path / "one").read_text().split("\n", 1)[1]
    assert one_lines == manifest_path(index, tmp_path / "two").read_text().split("\n", 1)[1]


def test_a_worker_error_fails_the_build_and_writes_no_manifest(index, wheel, tmp_path):
    for i in range(3):
        index.add_files([inspect_file(wheel(f"proj{i}", "1.0"))])
    stored = next((index.root / "packages/proj1").glob("*.whl"))
    stored.write_bytes(b"short")
    with pytest.raises(IndexStateError, match="does not match its record"):
        build_site(index, tmp_path / "site", jobs=2)
    assert not manifest_path(index, tmp_path / "site").exists()


@pytest.mark.parametrize("value", ["0", "two", "-1", "²"])
def test_bad_build_jobs_setting_is_one_line_error(index, wheel, value, monkeypatch):
    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    monkeypatch.setenv("PAGESINDEX_BUILD_JOBS", value)
    proc = run_cli("build", index=index.root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: invalid PAGESINDEX_BUILD_JOBS: {value!r} (a whole number >= 1 expected)"]
    assert not manifest_path(index, index.root / "_site").exists()


def test_temporary_files_are_searched_for_only_after_a_killed_writer(index, wheel):
    from pagesindex.state import WRITING_MARKER

    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    leftover = index.root / "packages/abc1/.tmp-abc1-1.0-py3-none-any.whl"
    leftover.write_bytes(b"half")
    with index.lock():
        pass  # no marker: a clean state is not searched
    assert leftover.exists() and not (index.root / WRITING_MARKER).exists()
    (index.root / WRITING_MARKER).touch()  # what a killed writer leaves
    build_site(index)
    assert not leftover.exists() and not (index.root / WRITING_MARKER).exists()


@pytest.mark.parametrize("name", ["abc1", "packages", "p"])
def test_manifest_outputs_encoding_round_trips(name):
    from pagesindex.render import decode_outputs, encode_outputs

    outputs = {
        f"{name}/index.html", f"{name}/index.json", f"{name}/1.0.html", f"_pages/{name}/index.html", f"_pages/{name}/1.0.html",
        f"packages/{name}/{name}-1.0-py3-none-any.whl", f"packages/{name}/{name}-1.0-py3-none-any.whl.metadata",
        f"packages/{name}/{name}-1.0.tar.gz",
        "packages/old-folder/x-1.0.tar.gz", "packages/x-1.0-py3-none-any.whl",  # aliases
    }
    text = encode_outputs(name, outputs)
    assert sorted(decode_outputs(name, text)) == sorted(outputs)
    assert len(text) < len(json.dumps(sorted(outputs)))


def _zip(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_recorded_metadata_read_refuses_what_it_cannot_trust(tmp_path, monkeypatch):
    from pagesindex.inspect import read_recorded_wheel_metadata

    good = _zip(tmp_path / "a-1.0-py3-none-any.whl", {"a/__init__.py": "", "a-1.0.dist-info/METADATA": "Name: a\n"})
    assert read_recorded_wheel_metadata(good, good.name) == b"Name: a\n"
    cases = {
        "not a zip": (tmp_path / "b.whl", None, "not a valid zip archive"),
        "two": (_zip(tmp_path / "c.whl", {"c-1.0.dist-info/METADATA": "x", "d-1.0.dist-info/METADATA": "y"}), None,
                "not exactly one .dist-info/METADATA"),
        "none": (_zip(tmp_path / "e.whl", {"e/METADATA": "x"}), None, "not exactly one .dist-info/METADATA"),
        "big": (_zip(tmp_path / "f.whl", {"f-1.0.dist-info/METADATA": "x" * 5000}), "4096", "larger than 4096 bytes"),
    }
    (tmp_path / "b.whl").write_bytes(b"PK not really")
    for label, (path, bound, message) in cases.items():
        if bound:
            monkeypatch.setenv("PAGESINDEX_MAX_METADATA_BYTES", bound)
        with pytest.raises(InvalidDistribution, match=message):
            read_recorded_wheel_metadata(path, path.name)


def test_command_line_build_with_worker_processes(index, wheel, tmp_path, monkeypatch):
    for i in range(5):
        index.add_files([inspect_file(wheel(f"proj{i}", "1.0"))])
    build_site(index, tmp_path / "one", jobs=1)
    monkeypatch.setenv("PAGESINDEX_BUILD_JOBS", "2")
    proc = run_cli("build", "--out", str(tmp_path / "two"), index=index.root)
    assert "5 rendered" in proc.stdout
    assert _site_bytes(tmp_path / "one") == _site_bytes(tmp_path / "two")


def test_root_json_is_written_again_only_when_the_names_change(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0")), inspect_file(wheel("abc1", "2.0")),
                     inspect_file(wheel("zzz", "1.0"))])
    site = index.root / "_site"
    build_site(index)
    index.set_yanked("abc1", "2.0", True, "broken")  # the card changes, the names do not
    result = build_site(index)
    assert "_pages/index.html" in result.written and "index.json" not in result.written and "index.html" not in result.written
    project = index.get_project("abc1")
    project.name = "ABC1"  # the display name changes
    index.save_project(project)
    result = build_site(index)
    assert "index.json" in result.written and "index.html" in result.written
    assert [p["name"] for p in json.loads((site / "index.json").read_text())["projects"]] == ["ABC1", "zzz"]
    assert '<a href="abc1/">ABC1</a>' in (site / "index.html").read_text()
    (site / "index.json").unlink()  # deleted by hand: written again
    index.add_files([inspect_file(wheel("zzz", "3.0"))])
    assert "index.json" in build_site(index).written


def test_site_archived_as_the_pages_artifact_holds_only_files_and_folders(index, wheel, tmp_path):
    """actions/upload-pages-artifact archives the site with `tar --dereference --hard-dereference`
    (its action.yml), and a Pages artifact must hold no links: the site's hard links to the
    committed files must come out as plain files with their bytes."""
    import shutil
    import subprocess
    import tarfile

    if shutil.which("tar") is None:
        pytest.skip("no tar")
    w = wheel("abc1", "1.0")
    index.add_files([inspect_file(w)])
    project = index.get_project("abc1")
    project.extra["aliases"] = {f"packages/old-folder/{w.name}": w.name}  # a second link to the same file
    index.save_project(project)
    build_site(index)
    site = index.root / "_site"
    assert os.path.samefile(site / "packages/abc1" / w.name, site / "packages/old-folder" / w.name)
    archive = tmp_path / "artifact.tar"
    subprocess.run(["tar", "--dereference", "--hard-dereference", "--directory", str(site), "-cf", str(archive),
                    "--exclude=.git", "--exclude=.github", "."], check=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        assert all(m.isfile() or m.isdir() for m in members), [m.name for m in members if not (m.isfile() or m.isdir())]
        for name in (f"./packages/abc1/{w.name}", f"./packages/old-folder/{w.name}"):
            assert tar.extractfile(name).read() == w.read_bytes()


def test_the_manifest_is_not_published_and_an_old_one_in_the_site_is_removed(index, wheel):
    index.add_files([inspect_file(wheel("abc1", "1.0"))])
    site = index.root / "_site"
    build_site(index)
    assert not (site / MANIFEST).exists() and manifest_path(index, site).is_file()
    (site / MANIFEST).write_text("an older version's manifest\n")
    result = build_site(index)
    assert result.removed == [MANIFEST] and not (site / MANIFEST).exists()


def test_a_manifest_of_a_deleted_site_is_not_trusted(index, wheel):
    """The manifest lives outside the site: after the site is deleted (or replaced, or a
    manifest is restored into a fresh workspace), its stamp does not match and every project is
    rendered again."""
    import shutil

    index.add_files([inspect_file(wheel("abc1", "1.0")), inspect_file(wheel("zzz", "2.0"))])
    site = index.root / "_site"
    build_site(index)
    shutil.rmtree(site)
    result = build_site(index)
    assert result.rendered == ["abc1", "zzz"] and (site / "abc1/index.html").is_file()
    shutil.copytree(site, index.root / "copy")
    shutil.rmtree(site)
    os.rename(index.root / "copy", site)  # the same names, other files
    assert build_site(index).rendered == ["abc1", "zzz"]


def _shard_files(manifest):
    """``{shard file name: (inode, bytes)}`` of the manifest's shard folder."""
    folder = shard_folder(manifest)
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in sorted(folder.iterdir())}


def _sharded_index(index, wheel, count=24):
    index.add_files([inspect_file(wheel(f"proj{i}", "1.0")) for i in range(count)])
    build_site(index)
    return manifest_path(index, index.root / "_site")


@pytest.fixture
def shards_read(monkeypatch):
    """The shards each build reads (a list, emptied by the test as it likes)."""
    seen = []
    real = render._Manifest.shard

    def shard(self, sid):
        if sid not in self.by_shard:
            seen.append(sid)
        return real(self, sid)

    monkeypatch.setattr(render._Manifest, "shard", shard)
    return seen


def test_a_no_change_build_reads_no_shard_and_a_one_project_change_rewrites_only_its_shard(index, wheel, shards_read):
    """The manifest grows with the index (about 1 KB a project): a no-change build reads only
    the head's summary, and a build that changes one project reads and writes that project's
    shard alone; the next build trusts what it wrote."""
    manifest = _sharded_index(index, wheel)
    before = _shard_files(manifest)
    assert len(before) > 8  # 24 projects over 256 shards
    shards_read.clear()
    assert build_site(index).rendered == [] and shards_read == []
    index.add_files([inspect_file(wheel("proj3", "2.0"))])
    assert build_site(index).rendered == ["proj3"]
    assert shards_read == [render._shard_of("proj3")]
    after = _shard_files(manifest)
    gone, new = set(before) - set(after), set(after) - set(before)
    assert [n[:2] for n in gone] == [n[:2] for n in new] == [render._shard_of("proj3")]
    assert all(after[n] == before[n] for n in set(before) & set(after)), "other shards are left as they are"
    shards_read.clear()
    again = build_site(index)
    assert again.rendered == again.written == [] and shards_read == [] and _shard_files(manifest) == after
    assert verify(index) == []


def test_a_torn_shard_renders_its_projects_again(index, wheel):
    """A shard whose bytes do not match the digest in its name (a write cut short by a crash of
    the machine): its lines are not trusted, so every project of it is rendered again, and the
    shard is written whole."""
    manifest = _sharded_index(index, wheel, count=300)  # some shards hold several projects
    by_shard = {}
    for i in range(300):
        by_shard.setdefault(render._shard_of(f"proj{i}"), []).append(f"proj{i}")
    sid, members = max(by_shard.items(), key=lambda item: len(item[1]))
    assert len(members) >= 3
    path = next(p for p in shard_folder(manifest).iterdir() if p.name.startswith(sid + "-"))
    path.write_bytes(path.read_bytes()[:-40])
    assert build_site(index).rendered == [], "nothing changed: the shard is not even read"
    index.add_files([inspect_file(wheel(members[0], "2.0"))])
    result = build_site(index)
    assert sorted(result.rendered) == sorted(members)
    assert build_site(index).rendered == [] and verify(index) == []
    assert not path.exists() and _load_manifest(manifest, index.root / "_site")[0]["_torn"] == []


def test_a_damaged_summary_is_made_again_from_the_shards(index, wheel, shards_read):
    """The head's summary has a digest: one that does not match is made again from the shards
    (no project is rendered again), and the head is written again."""
    manifest = _sharded_index(index, wheel)
    head, _, summary = manifest.read_bytes().partition(b"\n")
    manifest.write_bytes(head + b"\n" + summary.replace(b"proj1\t", b"proj1x\t", 1))
    assert build_site(index).rendered == []
    assert manifest.read_bytes() == head + b"\n" + summary
    shards_read.clear()
    assert build_site(index).rendered == [] and shards_read == []


def test_a_shard_named_by_no_head_is_removed_and_nothing_else_in_the_folder(index, wheel):
    """Shards left by a build killed before it wrote its head are deleted by the next write;
    a file of another name in the folder is not (a build never deletes what it cannot name)."""
    manifest = _sharded_index(index, wheel)
    folder = shard_folder(manifest)
    (folder / ("ab-" + "0" * 64)).write_text("left by a killed build\n")
    (folder / "notes.txt").write_text("not the build's\n")
    index.add_files([inspect_file(wheel("proj3", "2.0"))])
    build_site(index)
    assert not (folder / ("ab-" + "0" * 64)).exists() and (folder / "notes.txt").exists()


def test_a_card_change_puts_the_card_in_place(index, wheel, tmp_path, monkeypatch):
    """A new release changes one card: the landing page is the old page with that card replaced,
    without reading every shard, and the same bytes as a page made from every card."""
    _sharded_index(index, wheel)
    site = index.root / "_site"

    def no_full_read(self):
        raise AssertionError("every shard read for one card")

    monkeypatch.setattr(render._Manifest, "load_all", no_full_read)
    index.add_files([inspect_file(wheel("proj3", "2.0"))])
    result = build_site(index)
    assert "_pages/index.html" in result.written and "index.html" not in result.written
    monkeypatch.undo()
    build_site(index, tmp_path / "fresh")
    landing = (site / "_pages/index.html").read_bytes()
    assert landing == (tmp_path / "fresh/_pages/index.html").read_bytes()
    assert b">2.0</span>" in landing and landing.count(b'<li class="card"') == 24


def test_a_landing_page_without_the_old_card_is_made_from_every_card(index, wheel, tmp_path):
    """A landing page that does not hold the old card exactly once (a build killed after writing
    the page, a page changed by hand) is made from every stored card instead."""
    _sharded_index(index, wheel)
    site = index.root / "_site"
    page = site / "_pages/index.html"
    text = page.read_text()
    start = text.index('<li class="card" data-search="proj3 ')
    page.write_text(text[:start] + text[text.index("</li>", start) + 6:])  # proj3's card is gone
    index.add_files([inspect_file(wheel("proj3", "2.0"))])
    build_site(index)
    build_site(index, tmp_path / "fresh")
    assert page.read_bytes() == (tmp_path / "fresh/_pages/index.html").read_bytes()
    assert page.read_text().count('<li class="card"') == 24


def test_projects_added_and_removed_with_the_sharded_manifest(index, wheel, tmp_path):
    """A project added and another removed in one build: the pages of the removed one go, the
    root pages list exactly the records (the same bytes as a build from nothing), the summary
    names exactly them, and the next build renders and writes nothing."""
    manifest = _sharded_index(index, wheel)
    site = index.root / "_site"
    index.remove("proj5")
    index.add_files([inspect_file(wheel("newcomer", "1.0"))])
    result = build_site(index)
    assert result.rendered == ["newcomer"] and "proj5/index.html" in result.removed
    assert not (site / "proj5").exists() and (site / "newcomer/index.html").is_file()
    build_site(index, tmp_path / "fresh")
    for rel in ("index.html", "index.json", "_pages/index.html"):
        assert (site / rel).read_bytes() == (tmp_path / "fresh" / rel).read_bytes(), rel
    names = sorted(line.split("\t")[0] for line in manifest.read_text().splitlines()[1:])
    assert names == sorted(index.project_names())
    again = build_site(index)
    assert again.rendered == again.written == again.removed == []
    assert verify(index) == []


def test_edited_page_code_renders_every_page_again(index, wheel, tmp_path, monkeypatch):
    """An editable checkout keeps its version while its code changes: the fingerprint follows the
    bytes of the modules that shape pages, so the next build renders every project again and
    verify (which renders with the code now) agrees with the site."""
    import shutil

    from pagesindex import render

    index.add_files([inspect_file(wheel("abc1", "1.0")), inspect_file(wheel("abc2", "1.0"))])
    build_site(index)
    before = render.fingerprint(index)
    code = tmp_path / "code"
    shutil.copytree(render._HERE, code, ignore=shutil.ignore_patterns("__pycache__"))
    with open(code / "pages.py", "a") as fh:
        fh.write("\n# edited\n")
    monkeypatch.setattr(render, "_HERE", code)
    assert render.fingerprint(index) != before
    assert sorted(build_site(index).rendered) == ["abc1", "abc2"]
    assert build_site(index).rendered == []


def _record_folder(tmp_path, count=40):
    folder = tmp_path / "projects"
    folder.mkdir()
    for i in range(count):
        (folder / f"p{i:03d}.json").write_text("{}" * (i % 7 + 1))
    (folder / ".hidden.json").write_text("{}")
    (folder / "notes.txt").write_text("not a record")
    (folder / "dir.json").mkdir()  # not a regular file
    os.symlink("p001.json", folder / "alias.json")  # a link to a record counts as one
    os.symlink("missing.json", folder / "dangling.json")  # a link to nothing does not
    (folder / "tab\tand\nnewline.json").write_text("{}")  # odd bytes survive the pipe
    return folder


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_split_record_scan_gives_the_single_scan_result(tmp_path, monkeypatch):
    import threading

    folder = _record_folder(tmp_path)
    forks = []
    real_fork = os.fork

    def counting_fork():
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # pytest may run helper threads
    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setattr(render, "SPLIT_SCAN_MIN_RECORDS", 10**9)
    single = render._scan_records(str(folder))
    assert not forks
    monkeypatch.setattr(render, "SPLIT_SCAN_MIN_RECORDS", 2)
    split = render._scan_records(str(folder))
    assert forks == [1], "the child process was used"
    assert split == single
    ran = []
    assert render._scan_records(str(folder), meanwhile=lambda: ran.append(os.getpid())) == single
    assert forks == [1, 1] and ran == [os.getpid()], "meanwhile ran once, in this process"
    names = single[0]
    assert "alias" in names and "tab\tand\nnewline" in names
    assert not {"dangling", "dir", ".hidden", "notes"} & set(names)
    assert len(names) == 42  # 40 records, the link to one, the odd name
    for name, line in zip(single[0], single[1]):
        st = os.stat(folder / f"{name}.json")
        assert line == f"{name}\t{st.st_mtime_ns}\t{st.st_size}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
@pytest.mark.parametrize("how", ["threads", "fork fails", "child fails"])
def test_split_record_scan_falls_back_to_one_process(tmp_path, monkeypatch, how):
    import threading

    folder = _record_folder(tmp_path)
    monkeypatch.setattr(render, "SPLIT_SCAN_MIN_RECORDS", 10**9)
    expected = render._scan_records(str(folder))
    monkeypatch.setattr(render, "SPLIT_SCAN_MIN_RECORDS", 2)
    if how == "threads":
        monkeypatch.setattr(threading, "active_count", lambda: 2)
        monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked with another thread running"))
    elif how == "fork fails":
        monkeypatch.setattr(threading, "active_count", lambda: 1)

        def no_fork():
            raise OSError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", no_fork)
    else:
        monkeypatch.setattr(threading, "active_count", lambda: 1)
        real = render._record_lines
        parent = os.getpid()

        def failing_in_child(names, stat_of):
            if os.getpid() != parent:
                raise MemoryError("child cannot allocate")
            return real(names, stat_of)

        monkeypatch.setattr(render, "_record_lines", failing_in_child)
    assert render._scan_records(str(folder)) == expected
    fds_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    render._scan_records(str(folder))
    if fds_before is not None:
        assert len(os.listdir("/proc/self/fd")) == fds_before, "no pipe end is left open"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
@pytest.mark.parametrize("warm_up", ["works", "fails", "nothing added", "edited in place"])
def test_the_renderer_is_loaded_while_the_child_stats(index, wheel, tmp_path, monkeypatch, warm_up):
    """A large index's build loads Jinja and the templates while a child process stats the
    records, when ``projects/`` changed since the manifest was written; a warm-up that fails
    changes nothing (the render makes the environment again); a record edited in place (the
    folder unchanged) is rendered all the same."""
    import threading

    index.add_files([inspect_file(wheel(f"proj{i}", "1.0")) for i in range(6)])
    build_site(index, index.root / "_site")
    if warm_up in ("works", "fails"):
        index.add_files([inspect_file(wheel("proj3", "2.0"))])
    elif warm_up == "edited in place":
        record = index.projects_dir / "proj3.json"
        data = json.loads(record.read_text())
        data["author"] = "Someone Else"
        with open(record, "r+") as f:  # the same file: the folder's mtime does not move
            f.write(json.dumps(data))
            f.truncate()
    if warm_up in ("nothing added", "edited in place"):
        os.utime(index.projects_dir, ns=(0, 0))  # the folder older than the manifest
    events = []
    real_env, real_lines = render.make_environment, render._record_lines

    def make_environment(*a, **k):
        events.append("environment")
        if warm_up == "fails" and events.count("environment") == 1:
            raise OSError(28, "No space left on device")
        return real_env(*a, **k)

    def record_lines(names, stat_of):
        events.append("stat")
        return real_lines(names, stat_of)

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(render, "SPLIT_SCAN_MIN_RECORDS", 2)
    monkeypatch.setattr(render, "make_environment", make_environment)
    monkeypatch.setattr(render, "_record_lines", record_lines)
    result = build_site(index, index.root / "_site")
    if warm_up == "nothing added":
        assert result.rendered == [] and events == ["stat"]
        return
    assert result.rendered == ["proj3"]
    if warm_up == "edited in place":  # no head start: the environment is made for the render
        assert events == ["stat", "environment"]
    else:  # this process: the environment first, then its third of the stats (the child's are not seen)
        assert events[:2] == ["environment", "stat"]
        assert events.count("environment") == (1 if warm_up == "works" else 2)
    fresh = tmp_path / "fresh"
    build_site(index, fresh)
    for rel in ("index.html", "_pages/index.html", "_pages/proj3/index.html", "_pages/proj3/1.0.html"):
        assert (index.root / "_site" / rel).read_bytes() == (fresh / rel).read_bytes(), rel


def _same_as_a_fresh_build(index, tmp_path, label):
    site, fresh = index.root / "_site", tmp_path / f"fresh-{label}"
    build_site(index, fresh)
    for rel in ("index.html", "index.json", "_pages/index.html"):
        assert (site / rel).read_bytes() == (fresh / rel).read_bytes(), (label, rel)


@pytest.mark.parametrize("change", ["add first", "add middle", "add last", "add two", "remove", "remove last",
                                    "add and remove", "rename and add", "rename", "remove every project"])
def test_added_and_removed_projects_are_spliced_into_the_root_pages(index, wheel, tmp_path, monkeypatch, change):
    """A project registered or deleted at 50,000 projects: the API root and the landing page are
    made from the pages in the site (no shard but the changed projects' and their neighbours'
    is read), and are the same bytes as a build from nothing."""
    _sharded_index(index, wheel, count=12)
    if change == "add first":
        index.add_files([inspect_file(wheel("aaa-first", "1.0"))])
    elif change == "add middle":
        index.add_files([inspect_file(wheel("proj10b", "1.0"))])
    elif change == "add last":
        index.add_files([inspect_file(wheel("zzz-last", "1.0"))])
    elif change == "add two":
        index.add_files([inspect_file(wheel("proj3a", "1.0")), inspect_file(wheel("proj3b", "1.0"))])
    elif change == "remove":
        index.remove("proj5")
    elif change == "remove last":
        index.remove("proj9")
    elif change == "add and remove":
        index.remove("proj5")
        index.add_files([inspect_file(wheel("proj50", "1.0")), inspect_file(wheel("proj4z", "1.0"))])
    elif change == "rename":
        index.add_files([inspect_file(wheel("Proj.7", "2.0"))])  # a new display name for proj7
    elif change == "remove every project":
        for name in index.project_names():
            index.remove(name)
    else:
        index.add_files([inspect_file(wheel("Proj.7", "2.0"))])
        index.add_files([inspect_file(wheel("proj70", "1.0"))])
    if change != "remove every project":  # (made from every card: no entry is left to splice around)
        monkeypatch.setattr(render._Manifest, "load_all", lambda self: pytest.fail("every shard read"))
    build_site(index)
    monkeypatch.undo()
    _same_as_a_fresh_build(index, tmp_path, change)
    again = build_site(index)
    assert again.rendered == again.written == again.removed == []
    assert verify(index) == []


@pytest.mark.parametrize("damage", ["root lists another project", "root out of order", "root not JSON",
                                    "landing page edited", "template shows no cards"])
def test_root_pages_that_are_not_the_manifests_are_made_from_every_card(index, wheel, tmp_path, damage):
    """The splice trusts the site's pages only when they are exactly what the manifest says:
    otherwise both root pages are made from every card, and are still right."""
    _sharded_index(index, wheel, count=6)
    site = index.root / "_site"
    root = json.loads((site / "index.json").read_text())
    if damage == "root lists another project":
        root["projects"].append({"name": "zzz-ghost"})
        (site / "index.json").write_text(json.dumps(root))
    elif damage == "root out of order":
        root["projects"].reverse()
        (site / "index.json").write_text(json.dumps(root))
    elif damage == "root not JSON":
        (site / "index.json").write_text("{")
    elif damage == "landing page edited":
        page = site / "_pages/index.html"
        page.write_bytes(page.read_bytes().replace(b"<ul", b"<!-- hand edit --><ul", 1))
    else:
        (index.root / "templates").mkdir(exist_ok=True)
        from pagesindex.render import _HERE

        text = (_HERE / "templates/root.html").read_text().replace("{{ cards }}", "")
        (index.root / "templates/root.html").write_text(text)
        build_site(index)
    index.add_files([inspect_file(wheel("newcomer", "1.0"))])
    build_site(index)
    _same_as_a_fresh_build(index, tmp_path, damage)
