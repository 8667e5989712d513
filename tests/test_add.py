"""`pagesindex add`, `remove`, `yank`: the state after each, and every refusal."""

import gzip
import json
import tarfile
import io

import pytest
from conftest import run_cli, state_snapshot

from pagesindex.errors import FileConflict, InvalidDistribution, MetadataMismatch
from pagesindex.inspect import inspect_file


def record(index, name):
    return json.loads((index.root / "projects" / f"{name}.json").read_text())


def test_add_records_and_copies_files_byte_for_byte(index, wheel, sdist):
    w = wheel("Company.Test_Utils", "1.0", requires_python=">=3.10,<4", summary="Utilities")
    s = sdist("Company.Test_Utils", "1.0")
    out = run_cli("add", str(w), str(s), index=index.root)
    assert "2 added" in out.stdout
    rec = record(index, "company-test-utils")
    assert rec["name"] == "Company.Test_Utils"
    assert rec["summary"] == "Utilities"
    files = {f["filename"]: f for f in rec["releases"]["1.0"]["files"]}
    assert set(files) == {w.name, s.name}
    assert files[w.name]["requires-python"] == ">=3.10,<4"
    assert files[w.name]["size"] == w.stat().st_size
    assert files[w.name]["core-metadata-sha256"]
    assert "core-metadata-sha256" not in files[s.name]
    assert files[w.name]["upload-time"].endswith("Z")
    for p in (w, s):
        assert (index.root / "packages" / "company-test-utils" / p.name).read_bytes() == p.read_bytes()


def test_readding_identical_file_is_a_noop(index, wheel):
    w = wheel("abc1", "1.0")
    run_cli("add", str(w), index=index.root)
    before = state_snapshot(index.root)
    out = run_cli("add", str(w), index=index.root)
    assert "0 added, 1 unchanged" in out.stdout
    assert state_snapshot(index.root) == before


def test_different_file_under_existing_filename_is_refused(index, tmp_path):
    from factory import make_wheel

    a = make_wheel(tmp_path / "a", "abc1", "1.0", summary="first")
    b = make_wheel(tmp_path / "b", "abc1", "1.0", summary="second")
    run_cli("add", str(a), index=index.root)
    before = state_snapshot(index.root)
    proc = run_cli("add", str(b), index=index.root, check=False)
    assert proc.returncode == 1
    assert "immutable" in proc.stderr and a.name in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert state_snapshot(index.root) == before


@pytest.mark.parametrize(
    "first, second, same_bytes",
    [
        ("abc1-1.0-py3-none-any.whl", "ABC1-1.0-py3-none-any.whl", False),
        ("abc1-1.0-py3-none-any.whl", "Abc1-1.0-py3-none-any.whl", True),
        ("abc1-1.0-py3-none-any.whl", "abc1-1.0.0-py3-none-any.whl", False),
        ("abc1-1.0-py3-none-any.whl", "abc1-1.0-PY3-none-any.whl", False),
        ("abc1-1.0.tar.gz", "ABC1-1.0.tar.gz", False),
        ("abc1-1.0.tar.gz", "abc1-1.0.0.tar.gz", False),
    ],
    ids=["wheel-upper", "wheel-title-same-bytes", "wheel-version-spelling", "wheel-tag-case", "sdist-upper", "sdist-version-spelling"],
)
@pytest.mark.parametrize("together", [False, True], ids=["later", "one-add"])
def test_other_spelling_of_a_recorded_filename_is_refused(index, tmp_path, first, second, same_bytes, together):
    """Issue 13, F4: case variants (and other spellings of the name, version or tags) of a
    recorded filename name the same file to installers and collide on case-insensitive
    checkouts; files are immutable, so one spelling per file."""
    from factory import make_sdist, make_wheel

    make = make_wheel if first.endswith(".whl") else make_sdist
    a = make(tmp_path / "a", "abc1", "1.0", filename=first, summary="first")
    b = make(tmp_path / "b", "abc1", "1.0", filename=second, summary="first" if same_bytes else "second")
    if together:
        before = state_snapshot(index.root)
        proc = run_cli("add", str(a), str(b), index=index.root, check=False)
    else:
        run_cli("add", str(a), index=index.root)
        before = state_snapshot(index.root)
        proc = run_cli("add", str(b), index=index.root, check=False)
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "same file name spelled differently" in proc.stderr
    assert first in proc.stderr and second in proc.stderr
    assert state_snapshot(index.root) == before
    files = sorted(p.name for p in (index.root / "packages").rglob("*") if p.is_file() and p.name != ".gitkeep")
    assert files == ([] if together else [first])


def test_options_override_metadata(index, wheel):
    w = wheel("abc1", "1.0", summary="from metadata", author="Meta Author")
    run_cli("add", str(w), "--summary", "Given", "--author", "Ann", "--homepage", "https://example.org/x", index=index.root)
    rec = record(index, "abc1")
    assert (rec["summary"], rec["author"], rec["homepage"]) == ("Given", "Ann", "https://example.org/x")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metadata_name": "other-project"}, "names project 'other-project'"),
        ({"metadata_version": "2.0"}, "says version '2.0'"),
    ],
)
def test_metadata_that_disagrees_with_filename_is_refused(index, wheel, sdist, kwargs, message):
    for make in (wheel, sdist):
        f = make("abc1", "1.0", **kwargs)
        before = state_snapshot(index.root)
        proc = run_cli("add", str(f), index=index.root, check=False)
        assert proc.returncode == 1, proc.stdout
        assert message in proc.stderr and f.name in proc.stderr
        assert "Traceback" not in proc.stderr
        assert state_snapshot(index.root) == before
        with pytest.raises(MetadataMismatch):
            inspect_file(f)


def test_a_bad_file_among_good_ones_writes_nothing(index, wheel, dist_dir):
    good = wheel("abc1", "1.0")
    bad = dist_dir / "abc1-2.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip at all")
    before = state_snapshot(index.root)
    proc = run_cli("add", str(good), str(bad), index=index.root, check=False)
    assert proc.returncode == 1 and "not a valid zip" in proc.stderr
    assert state_snapshot(index.root) == before


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = data.decode()
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))


PKG_INFO = b"Metadata-Version: 2.1\nName: abc1\nVersion: 1.0\n"


@pytest.mark.parametrize(
    "members, message",
    [
        ([("abc1-1.0/PKG-INFO", PKG_INFO, "f"), ("abc1-1.0/../../x", b"x", "f")], "escapes its folder"),
        ([("abc1-1.0/PKG-INFO", PKG_INFO, "f"), ("/etc/passwd", b"x", "f")], "unsafe path"),
        ([("abc1-1.0/PKG-INFO", PKG_INFO, "f"), ("abc1-1.0/link", b"../../outside", "sym")], "symbolic link in archive"),
        ([("abc1-1.0/setup.py", b"", "f")], "no PKG-INFO"),
    ],
)
def test_hostile_or_broken_sdists_are_refused(index, dist_dir, members, message):
    path = dist_dir / "abc1-1.0.tar.gz"
    _tar(path, members)
    before = state_snapshot(index.root)
    proc = run_cli("add", str(path), index=index.root, check=False)
    assert proc.returncode == 1
    assert message in proc.stderr and "abc1-1.0.tar.gz" in proc.stderr
    assert state_snapshot(index.root) == before


def test_truncated_tar_is_refused(index, sdist):
    path = sdist("abc1", "1.0", extra_members={"abc1-1.0/big.bin": bytes(range(256)) * 4000})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    proc = run_cli("add", str(path), index=index.root, check=False)
    assert proc.returncode == 1 and "not a valid or complete tar.gz" in proc.stderr


def test_zip_path_escaping_is_refused(index, wheel):
    w = wheel("abc1", "1.0", extra_files={"../evil.py": b"x"})
    with pytest.raises(InvalidDistribution, match="escapes its folder"):
        inspect_file(w)


@pytest.mark.parametrize("name", ["../abc1-1.0-py3-none-any.whl", "a/b-1.0.tar.gz", "..", "abc1-1.0.exe", "abc1.whl"])
def test_bad_filenames_are_refused(name):
    from pagesindex.inspect import parse_filename

    with pytest.raises(InvalidDistribution) as info:
        parse_filename(name)
    assert repr(name) in str(info.value)


def test_filename_with_slash_on_cli_points_at_a_missing_file(index):
    proc = run_cli("add", "no/such/abc1-1.0-py3-none-any.whl", index=index.root, check=False)
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_a_missing_file_or_a_folder_is_named_as_such(index, tmp_path):
    # from the fresh-user trial: a missing 'missing.whl' was reported as a bad filename
    before = state_snapshot(index.root)
    proc = run_cli("add", str(tmp_path / "missing.whl"), index=index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [f"error: no such file: {str(tmp_path / 'missing.whl')!r}"]
    (tmp_path / "wheels").mkdir()
    proc = run_cli("add", str(tmp_path / "wheels"), index=index.root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1 and "is a folder" in proc.stderr
    assert state_snapshot(index.root) == before


def test_remove_release_and_project(index, wheel):
    a, b = wheel("abc1", "1.0"), wheel("abc1", "2.0")
    run_cli("add", str(a), str(b), index=index.root)
    out = run_cli("remove", "ABC1", "1.0", index=index.root).stdout
    assert out.strip().endswith("1 file removed"), out
    rec = record(index, "abc1")
    assert list(rec["releases"]) == ["2.0"]
    assert not (index.root / "packages/abc1" / a.name).exists()
    run_cli("remove", "abc1", index=index.root)
    assert not (index.root / "projects/abc1.json").exists()
    assert not (index.root / "packages/abc1").exists()
    proc = run_cli("remove", "abc1", index=index.root, check=False)
    assert proc.returncode == 1 and "no project 'abc1'" in proc.stderr
    # the last release removed: the project goes too, and the command says so
    run_cli("add", str(b), index=index.root)
    out = run_cli("remove", "abc1", "2.0", index=index.root).stdout
    assert "1 file removed; that was the last release of abc1, so the project is removed too" in out, out
    assert not (index.root / "projects/abc1.json").exists()


def test_yank_and_unyank(index, wheel):
    run_cli("add", str(wheel("abc1", "1.0")), index=index.root)
    run_cli("yank", "abc1", "1.0.0", "--reason", "broken build", index=index.root)
    assert record(index, "abc1")["releases"]["1.0"]["yanked"] is True
    assert record(index, "abc1")["releases"]["1.0"]["yanked-reason"] == "broken build"
    assert run_cli("unyank", "abc1", "1.0", index=index.root).stdout.strip() == "unyanked abc1 1.0"
    assert record(index, "abc1")["releases"]["1.0"]["yanked"] is False
    again = run_cli("unyank", "abc1", "1.0.0", index=index.root).stdout  # fresh-user trial: it said "unyanked"
    assert again.strip() == "abc1 1.0 was not yanked: nothing changed"
    proc = run_cli("yank", "abc1", "9.9", index=index.root, check=False)
    assert proc.returncode == 1 and "'9.9'" in proc.stderr


def test_commands_outside_an_index_fail_clearly(tmp_path):
    proc = run_cli("build", index=tmp_path, check=False)
    assert proc.returncode == 1 and "no index.toml" in proc.stderr


def test_metadata_not_utf8_is_refused(index, wheel):
    w = wheel("abc1", "1.0", metadata=b"Metadata-Version: 2.1\nName: abc1\nVersion: 1.0\nSummary: caf\xe9\n")
    with pytest.raises(InvalidDistribution, match="not UTF-8"):
        inspect_file(w)


def test_wheel_without_dist_info_is_refused(dist_dir):
    import zipfile

    path = dist_dir / "abc1-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("abc1/__init__.py", "")
    with pytest.raises(InvalidDistribution, match="no .dist-info/METADATA"):
        inspect_file(path)
