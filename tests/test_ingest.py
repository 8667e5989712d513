"""Ingest in one pass: `Index.stage_file` / `add_paths` (copy while hashing, inspect the copy,
flush the batch before any record), the core-metadata cache kept by `add`, the rendered-README
cache (`pages.ReadmeCache`), and the one-search member-path check of wheels."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from conftest import run_cli, state_snapshot
from factory import make_wheel

from pagesindex import pages
from pagesindex.errors import FileConflict, InvalidDistribution
from pagesindex.inspect import _SUSPECT_MEMBER, _check_member_path, inspect_file
from pagesindex.state import Index, cached_core_metadata, metadata_cache_path


def leftovers(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob(".tmp-*"))


def test_add_paths_records_what_add_files_records(index, wheel, sdist, tmp_path):
    w = wheel("abc1", "1.0", requires_python=">=3.9")
    s = sdist("abc1", "1.0")
    with index.lock():
        result = index.add_paths([w, s])
    assert sorted(f.filename for f in result.added) == sorted([w.name, s.name])
    other = Index.init(tmp_path / "other")
    other.add_files([inspect_file(w), inspect_file(s)], upload_time=result.added[0].upload_time)
    assert (index.root / "projects" / "abc1.json").read_bytes() == (other.root / "projects" / "abc1.json").read_bytes()
    for p in (w, s):
        assert (index.root / "packages" / "abc1" / p.name).read_bytes() == p.read_bytes()
    assert leftovers(index.root) == []


def test_the_bytes_recorded_are_those_staged_whatever_the_source_does_later(index, tmp_path):
    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    original = w.read_bytes()
    with index.lock():
        staged = index.stage_file(w)
        assert staged.path.parent == index.packages_dir and staged.path.name.startswith(".tmp-stage-")
        make_wheel(tmp_path / "dist", "abc1", "1.0", summary="swapped after staging")
        assert w.read_bytes() != original
        index.add_files([staged])
    rec = json.loads((index.root / "projects" / "abc1.json").read_text())
    recorded = rec["releases"]["1.0"]["files"][0]
    assert recorded["sha256"] == hashlib.sha256(original).hexdigest()
    assert (index.root / "packages" / "abc1" / w.name).read_bytes() == original
    assert leftovers(index.root) == []


def test_a_refused_file_leaves_no_staged_copy_and_changes_nothing(index, wheel, tmp_path):
    first = wheel("abc1", "1.0")
    run_cli("add", str(first), index=index.root)
    different = make_wheel(tmp_path / "other-dist", "abc1", "1.0", summary="other bytes")
    good = wheel("abc2", "1.0")
    before = state_snapshot(index.root)
    with index.lock(), pytest.raises(FileConflict, match="abc1-1.0"):
        index.add_paths([good, different])
    assert state_snapshot(index.root) == before
    assert leftovers(index.root) == []


def test_a_bad_archive_is_refused_by_name_and_its_copy_removed(index, tmp_path):
    bad = tmp_path / "abc1-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip at all" * 1000)
    before = state_snapshot(index.root)
    out = run_cli("add", str(bad), index=index.root, check=False)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [f"error: {bad.name}: not a valid zip archive (no end of central directory record)"]
    assert state_snapshot(index.root) == before
    assert leftovers(index.root) == []


def test_staged_copies_not_added_are_discarded(index, wheel):
    w = wheel("abc1", "1.0")
    with index.lock():
        staged = index.stage_file(w)
        assert staged.path.exists()
        index.discard_staged()
    assert not staged.path.exists()
    assert leftovers(index.root) == []


def test_a_file_already_in_packages_is_not_copied_again(index, wheel):
    w = wheel("abc1", "1.0")
    run_cli("add", str(w), index=index.root)
    with index.lock():
        again = index.stage_file(w)
    assert again.path == w  # inspected in place: no copy made
    out = run_cli("add", str(w), index=index.root)
    assert "0 added, 1 unchanged" in out.stdout


def test_inspect_with_a_known_hash_checks_the_size(wheel):
    w = wheel("abc1", "1.0")
    digest = hashlib.sha256(w.read_bytes()).hexdigest()
    assert inspect_file(w, hashed=(digest, w.stat().st_size)).sha256 == digest
    with pytest.raises(InvalidDistribution, match="not the 5 bytes hashed"):
        inspect_file(w, hashed=(digest, 5))


def test_add_keeps_core_metadata_and_the_cache_is_checked_by_hash(index, wheel):
    w = wheel("abc1", "1.0", summary="cached")
    run_cli("add", str(w), index=index.root)
    rec = json.loads((index.root / "projects" / "abc1.json").read_text())
    sha = rec["releases"]["1.0"]["files"][0]["core-metadata-sha256"]
    data = cached_core_metadata(index.root, sha)
    assert data is not None and b"Summary: cached" in data
    assert hashlib.sha256(data).hexdigest() == sha
    metadata_cache_path(index.root, sha).write_bytes(data + b"Summary: injected\n")
    assert cached_core_metadata(index.root, sha) is None
    assert cached_core_metadata(index.root, "../../etc/passwd") is None
    assert cached_core_metadata(index.root, None) is None


def test_readme_cache_gives_what_render_readme_gives(tmp_path):
    cache = pages.ReadmeCache(tmp_path / "cache")
    samples = [
        ("# Title\n\n[link](https://example.org) ![img](https://example.org/i.png)", "text/markdown"),
        ("Title\n=====\n\n`link <https://example.org>`_\n", "text/x-rst"),
        ("Title\n=====\n\nno content type: reStructuredText, as on PyPI\n", ""),
        ("plain <b>text</b>", "text/plain"),
        ("   ", "text/markdown"),
    ]
    for text, ctype in samples:
        expected = pages.render_readme(text, ctype)
        assert cache.render(text, ctype) == expected  # rendered, then kept
        assert cache.render(text, ctype) == expected  # from the cache
    assert cache.misses == 4 and cache.hits == 4
    assert len(list((tmp_path / "cache" / "readme").glob("*.html"))) == 4


def test_readme_cache_ignores_bad_entries_and_keys_on_renderer_versions(tmp_path):
    cache = pages.ReadmeCache(tmp_path / "cache")
    text, ctype = "# Hello\n", "text/markdown"
    expected = cache.render(text, ctype)
    key = cache.key(text, ctype)
    (tmp_path / "cache" / "readme" / f"{key}.html").write_bytes(b"<script>not a kind line")
    assert cache.render(text, ctype) == expected
    other = pages.ReadmeCache(tmp_path / "cache")
    other._versions = "readme_renderer=0"
    assert other.key(text, ctype) != key
    assert cache.key(text, "text/x-rst") != key


def test_release_readme_uses_the_cache(tmp_path):
    from pagesindex.model import Release

    cache = pages.ReadmeCache(tmp_path / "cache")
    release = Release(version="1.0")
    meta = {"description": "# Hi\n", "description_content_type": "text/markdown"}
    assert pages.release_readme(release, meta, cache=cache) == pages.release_readme(release, meta)
    assert cache.misses == 1
    pages.release_readme(release, meta, cache=cache)
    assert cache.hits == 1


def test_member_names_that_the_full_check_refuses_are_all_suspect():
    rng = random.Random(8)
    alphabet = ["a", "b", ".", "..", "/", "\\", ":", "\x00", "C", "\n", " ", "é"]
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(20000)]
    names += ["/a", "a\\b", "C:x", "..", "a/..", "a/../b", "../a", "\n:x", "a/..b", "a..", "./a", "a//b"]
    for name in names:
        try:
            _check_member_path("f.whl", name, None)
        except InvalidDistribution:
            assert _SUSPECT_MEMBER.search(name), name


@pytest.mark.parametrize(
    "fragment",
    [
        '<p>Hello <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow">link</a></p>',
        '<a href="javascript:alert(1)">x</a><a href="../docs/x.md">rel</a><a href="#sec">in</a>',
        '<a href="mailto:a@b.c">m</a><a href="https://e/"><img src="https://e/b.svg" alt="badge"></a>',
        '<img src="https://e/x.png" alt="a&quot;b"><img src="data:x" alt="d"><img src="rel.png">',
        "a &amp; b &lt;c&gt; &nbsp; \u00e9 &#39;q&#39;",
        "<p>x<!-- comment --></p>",
        '<A HREF="https://e/">upper</A>',
        "<br/><hr><br>",
        '<div title="a>b">q</div>',
        "<script>a<b</script><style>p{}</style>",
        '<p\nclass="x">y</p>',
        "text < not a tag",
        '<a href="https://x" title>t</a>',
        "",
    ],
)
def test_the_regular_expression_reader_gives_what_htmlparser_gives(fragment):
    assert pages._rewrite(fragment) == pages._rewrite_slow(fragment)


def test_build_keeps_rendered_readmes_outside_the_index(index, tmp_path, monkeypatch):
    from pagesindex.render import build_site

    monkeypatch.setenv("PAGESINDEX_CACHE_DIR", str(tmp_path / "user-cache"))
    w = make_wheel(tmp_path / "dist", "withreadme", "1.0", description="# Title\n\nSome *text*.\n")
    index.add_files([inspect_file(w)])
    build_site(index)
    entries = list((tmp_path / "user-cache" / "readme").glob("*.html"))
    assert len(entries) == 1 and "<em>text</em>" in entries[0].read_text()
    assert not (index.root / ".pagesindex-cache" / "readme").exists()
    page = (index.root / "_site/withreadme/1.0.html").read_text()
    # A warm cache gives the same page.
    import shutil

    shutil.rmtree(index.root / "_site")
    build_site(index)
    assert (index.root / "_site/withreadme/1.0.html").read_text() == page
