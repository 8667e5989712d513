"""The committed state is input too (a pull request can change a record or plant a link): a
tampered record or a folder that links out of the index is refused clearly, and no command reads
or writes outside the index because of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factory import make_wheel
from hostile import assert_refused, cli, snapshot

from pagesindex.state import Index


@pytest.fixture
def setup(tmp_path: Path):
    index = Index.init(tmp_path / "index", title="t")
    w = make_wheel(tmp_path / "dist", "abc1", "1.0")
    assert cli("add", str(w), index=index.root).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the site")
    return index, w, outside


def tamper(index: Index, change) -> None:
    path = index.root / "projects/abc1.json"
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec))


def first_file(rec):
    return rec["releases"]["1.0"]["files"][0]


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda r: first_file(r).update(filename="../../outside/secret.txt"), "invalid distribution filename: '../../outside/secret.txt'"),
        (lambda r: first_file(r).update(filename="other-1.0-py3-none-any.whl"), "file 'other-1.0-py3-none-any.whl' is not of abc1 1.0"),
        (lambda r: first_file(r).update(filename="abc1-2.0-py3-none-any.whl"), "is not of abc1 1.0"),
        (lambda r: first_file(r).update(kind="sdist"), "has kind 'sdist'"),
        (lambda r: first_file(r).update(sha256="zz"), "has sha256 'zz'"),
        (lambda r: first_file(r).update(size="-3"), "has size -3"),
        (lambda r: r["releases"].update({"not a version": r["releases"]["1.0"]}), "'not a version'"),
        (lambda r: r.update(name="../abc1"), "'../abc1'"),
        (lambda r: r.update(summary=["x"]), "summary is not text"),
        (lambda r: r.update(releases=[]), "invalid project record"),
        (lambda r: first_file(r).update({"pkg-info-sha256": "0" * 64}), "has pkg-info-sha256 '000"),  # a wheel
    ],
    ids=["path", "other-project", "other-version", "kind", "sha256", "size", "version", "name", "summary-type", "releases-type",
         "pkg-info-on-a-wheel"],
)
def test_tampered_record_is_refused_by_every_command(setup, tmp_path, change, needle):
    index, w, _outside = setup
    tamper(index, change)
    for args in (("build",), ("verify",), ("add", str(w)), ("yank", "abc1", "1.0"), ("remove", "abc1")):
        before = snapshot(tmp_path)
        proc = cli(*args, index=index.root, real=args == ("build",))
        if args == ("verify",):
            assert proc.returncode == 1 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
            continue
        assert_refused(proc, needle, before=before, root=tmp_path, site="index/_site")


def test_packages_folder_linking_out_of_the_index_is_refused(setup, tmp_path):
    index, _w, outside = setup
    other = make_wheel(tmp_path / "dist", "other", "1.0")
    (index.root / "packages/other").symlink_to(outside, target_is_directory=True)
    before = snapshot(tmp_path)
    proc = cli("add", str(other), index=index.root, real=True)
    assert_refused(proc, "resolves outside the index", before=before, root=tmp_path)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_packages_folder_of_a_recorded_project_linking_out_is_never_published(setup, tmp_path):
    index, w, outside = setup
    folder = index.root / "packages/abc1"
    (outside / w.name).write_bytes(w.read_bytes())
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    before = snapshot(tmp_path)
    proc = cli("build", index=index.root)
    assert_refused(proc, "resolves outside the index", before=before, root=tmp_path, site="index/_site")
    assert not (index.root / "_site/packages/abc1").exists()
    before = snapshot(tmp_path)
    proc = cli("remove", "abc1", index=index.root)
    assert_refused(proc, "refusing to use it", before=before, root=tmp_path)
    proc = cli("verify", index=index.root)
    assert proc.returncode == 1 and "resolves outside the index" in proc.stderr


def test_projects_folder_linking_out_is_refused(setup, tmp_path):
    index, w, outside = setup
    other = make_wheel(tmp_path / "dist", "other", "1.0")
    projects = index.root / "projects"
    for p in projects.iterdir():
        p.unlink()
    projects.rmdir()
    projects.symlink_to(outside, target_is_directory=True)
    before = snapshot(tmp_path)
    proc = cli("add", str(other), index=index.root)
    assert_refused(proc, "resolves outside the index", before=before, root=tmp_path)


def test_record_that_is_a_link_is_refused(setup, tmp_path):
    index, _w, outside = setup
    record = index.root / "projects/abc1.json"
    (outside / "abc1.json").write_bytes(record.read_bytes())
    record.unlink()
    record.symlink_to(outside / "abc1.json")
    before = snapshot(tmp_path)
    proc = cli("yank", "abc1", "1.0", index=index.root)
    assert_refused(proc, "is a symbolic link", before=before, root=tmp_path)
