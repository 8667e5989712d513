"""Host limits: a file over GitHub's 100 MiB or a site over GitHub Pages' 1 GB is refused before
anything is written (with the numbers), and `pagesindex verify` checks a site against both.

Sparse files stand for the big ones (no gigabyte is written), and the site limit is lowered through
PAGESINDEX_MAX_SITE_BYTES where real distribution files must add up past it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factory import make_wheel
from hostile import assert_refused, cli, snapshot

from pagesindex.limits import GITHUB_FILE_LIMIT, GITHUB_PAGES_SITE_LIMIT
from pagesindex.state import Index


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return Index.init(tmp_path / "index", title="t")


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def test_the_defaults_are_githubs_documented_limits():
    assert GITHUB_FILE_LIMIT == 104_857_600  # 100 MiB
    assert GITHUB_PAGES_SITE_LIMIT == 1_000_000_000  # 1 GB


def test_file_over_100_mib_is_refused_with_the_numbers(index, tmp_path):
    path = sparse(tmp_path / "abc1-1.0-py3-none-any.whl", GITHUB_FILE_LIMIT + 1)
    before = snapshot(tmp_path)
    proc = cli("add", str(path), index=index.root, real=True)
    assert_refused(
        proc,
        "abc1-1.0-py3-none-any.whl: 104857601 bytes (100.0 MiB) is over the per-file limit of 104857600 bytes (100.0 MiB)",
        before=before,
        root=tmp_path,
    )


def test_file_of_exactly_100_mib_passes_the_size_check(index, tmp_path):
    path = sparse(tmp_path / "abc1-1.0-py3-none-any.whl", GITHUB_FILE_LIMIT)
    before = snapshot(tmp_path)
    proc = cli("add", str(path), index=index.root)
    assert_refused(proc, "not a valid zip archive", before=before, root=tmp_path)


def test_site_over_the_limit_is_refused_before_anything_is_written(index, tmp_path):
    a = make_wheel(tmp_path / "d", "abc1", "1.0", extra_files={"abc1/data.bin": bytes(range(256)) * 200})
    b = make_wheel(tmp_path / "d", "other", "1.0", extra_files={"other/data.bin": bytes(range(256)) * 200})
    assert cli("add", str(a), index=index.root).returncode == 0
    limit = a.stat().st_size + b.stat().st_size - 1
    before = snapshot(tmp_path)
    proc = cli("add", str(b), index=index.root, env={"PAGESINDEX_MAX_SITE_BYTES": str(limit)}, real=True)
    total = a.stat().st_size + b.stat().st_size
    assert_refused(
        proc,
        f"the index would hold {total} bytes",
        f"over the site limit of {limit} bytes",
        before=before,
        root=tmp_path,
    )
    # at the limit it is accepted
    proc = cli("add", str(b), index=index.root, env={"PAGESINDEX_MAX_SITE_BYTES": str(limit + 1)})
    assert proc.returncode == 0, proc.stderr


def test_verify_reports_a_site_over_1_gb(index, tmp_path):
    w = make_wheel(tmp_path / "d", "abc1", "1.0")
    assert cli("add", str(w), index=index.root).returncode == 0
    assert cli("build", index=index.root).returncode == 0
    assert cli("verify", index=index.root).returncode == 0
    sparse(index.root / "_site" / "huge.bin", GITHUB_PAGES_SITE_LIMIT)
    proc = cli("verify", index=index.root, real=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "huge.bin: 1000000000 bytes (953.7 MiB) is over the per-file limit of 104857600 bytes (100.0 MiB)" in proc.stderr
    assert "over the GitHub Pages limit of 1000000000 bytes (953.7 MiB)" in proc.stderr


def test_verify_reports_recorded_files_over_the_limits(index, tmp_path):
    w = make_wheel(tmp_path / "d", "abc1", "1.0", extra_files={"abc1/data.bin": bytes(range(256)) * 100})
    assert cli("add", str(w), index=index.root).returncode == 0
    size = w.stat().st_size
    proc = cli("verify", index=index.root, env={"PAGESINDEX_MAX_FILE_BYTES": str(size - 1), "PAGESINDEX_MAX_SITE_BYTES": str(size - 1)})
    assert proc.returncode == 1
    assert f"packages/abc1/{w.name}: {size} bytes" in proc.stderr and f"per-file limit of {size - 1} bytes" in proc.stderr
    assert f"the distribution files total {size} bytes" in proc.stderr


def test_limit_variables_that_are_not_positive_integers_are_refused(index, tmp_path):
    """Issue 13, item 8: a bad value is one error line naming it (it used to be ignored, and
    ``²`` ended in a traceback); an empty one means the default."""
    w = make_wheel(tmp_path / "d", "abc1", "1.0")
    for value in ("0", "-5", "abc", "1e3", "²"):
        before = snapshot(tmp_path)
        proc = cli("add", str(w), index=index.root, env={"PAGESINDEX_MAX_FILE_BYTES": value})
        assert_refused(proc, f"invalid PAGESINDEX_MAX_FILE_BYTES: {value!r}", before=before, root=tmp_path)
    proc = cli("add", str(w), index=index.root, env={"PAGESINDEX_MAX_FILE_BYTES": "", "PAGESINDEX_MAX_SITE_BYTES": ""})
    assert proc.returncode == 0, proc.stderr
    rec = json.loads((index.root / "projects/abc1.json").read_text())
    assert list(rec["releases"]) == ["1.0"]
