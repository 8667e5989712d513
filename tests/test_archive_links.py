"""Links in distribution files (issue 13, item 3).

A link's target is resolved against the links extracted before it: ``d -> .`` then
``e -> d/d/../..`` then ``e/PWNED.txt`` writes beside the destination, although each target reads
as inside the folder. pagesindex accepts no symbolic link in any archive (tar.gz and zip sdists,
wheels) and a hard link only to an earlier regular file of the same archive. The property tests
extract every archive that pagesindex accepts the most trusting way there is (tarfile's
``fully_trusted`` filter; for zips an extractor that makes the links the archive asks for, as
unzip does) and check that nothing is written outside the destination.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from hostile import PKG, SDIST_NAME, TOP, WHEEL_NAME, assert_refused, cli, metadata, snapshot, wheel_members, write_tar

from pagesindex.errors import InvalidDistribution
from pagesindex.inspect import read_core_metadata
from pagesindex.state import Index

CHAIN = [(f"{TOP}/d", ".", "sym"), (f"{TOP}/e", "d/d/../..", "sym"), (f"{TOP}/e/PWNED.txt", b"pwned")]
ZIP_SDIST_NAME = f"{TOP}.zip"


def write_zip(path: Path, members) -> Path:
    """A zip of ``(name, bytes)`` files, ``(name, "", "dir")`` folders and ``(name, target, "sym")``
    symbolic links (Unix mode bits in the external attributes, as zip tools write them)."""
    import warnings

    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name"
        for member in members:
            info = zipfile.ZipInfo(member[0], date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            if len(member) == 2:
                info.external_attr = 0o100644 << 16
                zf.writestr(info, member[1])
            elif member[2] == "dir":
                info.filename = member[0].rstrip("/") + "/"
                info.external_attr = (0o040755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o120777 << 16
                zf.writestr(info, member[1])
    return path


@pytest.fixture
def arena(tmp_path: Path):
    index = Index.init(tmp_path / "index", title="t")
    (tmp_path / "dist").mkdir()
    (tmp_path / "work").mkdir()
    return index, tmp_path / "dist", tmp_path / "work"


def refused(arena, path: Path, *needles: str):
    index, _dist, work = arena
    root = index.root.parent
    before = snapshot(root)
    proc = cli("add", str(path), index=index.root, cwd=work, real=True)
    assert_refused(proc, path.name, *needles, before=before, root=root)


def test_link_chain_in_an_sdist_is_refused(arena):
    _i, dist, _w = arena
    path = write_tar(dist / SDIST_NAME, [(f"{TOP}/PKG-INFO", metadata())] + CHAIN)
    refused(arena, path, "symbolic link in archive: 'abc1-1.0/d' -> '.'")


def test_link_chain_in_a_zip_sdist_is_refused(arena):
    _i, dist, _w = arena
    path = write_zip(dist / ZIP_SDIST_NAME, [(f"{TOP}/PKG-INFO", metadata())] + CHAIN)
    refused(arena, path, "symbolic link in archive: 'abc1-1.0/d'")


def test_link_chain_in_a_wheel_is_refused(arena):
    _i, dist, _w = arena
    members = wheel_members() + [(f"{PKG}/d", ".", "sym"), (f"{PKG}/e", "d/d/../..", "sym"), (f"{PKG}/e/PWNED.txt", b"x")]
    path = write_zip(dist / WHEEL_NAME, members)
    refused(arena, path, "symbolic link in archive: 'abc1/d'")


def test_a_symlink_made_on_another_system_is_still_refused(arena):
    """unzip makes a link from the Unix mode bits whatever system the archive says made it."""
    _i, dist, _w = arena
    path = write_zip(dist / WHEEL_NAME, wheel_members() + [(f"{PKG}/link.py", "/etc/passwd", "sym")])
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02" + bytes([20, 3]))
    while at >= 0:
        data[at + 5] = 0  # "made by" MS-DOS
        at = data.find(b"PK\x01\x02" + bytes([20, 3]), at + 4)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf:
        assert {i.create_system for i in zf.infolist()} == {0}
    refused(arena, path, "symbolic link in archive: 'abc1/link.py'")


# -- every accepted archive extracts inside its destination ----------------------------------

SEGMENT = st.sampled_from(["d", "e", "f.py", "d", "e", "f.py", ".", ".."])  # plain names most often
REL = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)
TARGET = st.one_of(REL, st.sampled_from(["/tmp", "../outside", "d/d/../..", "/", ""]))


def tar_members(top: str, hard_links: bool = True):
    """Members under ``top``: files, folders, symbolic links and (tar only) hard links."""
    name = REL.map(lambda r: f"{top}/{r}")
    kinds = [
        st.tuples(name, st.just(b"x")),
        st.tuples(name, st.just(""), st.just("dir")),
        st.tuples(name, TARGET, st.just("sym")),
    ]
    if hard_links:
        kinds.append(st.tuples(name, st.one_of(name, TARGET), st.just("hard")))
    return st.lists(st.one_of(*kinds), max_size=8)


def outside_files(sandbox: Path, dest: Path):
    """Every path under ``sandbox`` but outside ``dest``, links not followed."""
    found = set()
    for folder, dirs, files in os.walk(sandbox):
        for entry in dirs + files:
            path = Path(folder) / entry
            if path == dest or dest in path.parents:
                continue
            found.add(path.relative_to(sandbox).as_posix())
    return found


def links_inside(dest: Path):
    return [p for p in dest.rglob("*") if p.is_symlink()]


@given(members=tar_members(TOP))
@example(members=CHAIN)
@example(members=[(f"{TOP}/a", b"x"), (f"{TOP}/b", f"{TOP}/a", "hard"), (f"{TOP}/c", f"./{TOP}//a", "hard")])
def test_an_accepted_sdist_extracts_inside_the_destination_even_fully_trusted(tmp_path_factory, members):
    sandbox = tmp_path_factory.mktemp("sandbox")
    dest = sandbox / "dest"
    dest.mkdir()
    (sandbox / "marker").write_text("outside")
    path = write_tar(sandbox / SDIST_NAME, [(f"{TOP}/PKG-INFO", metadata())] + members)
    try:
        read_core_metadata(path, "sdist", SDIST_NAME)
    except InvalidDistribution:
        event("refused")
        return
    event("accepted, extracted")
    before = outside_files(sandbox, dest)
    with tarfile.open(path) as tf:
        tf.errorlevel = 0  # a member that cannot be made is skipped, as tar would
        kwargs = {"filter": tarfile.fully_trusted_filter} if hasattr(tarfile, "fully_trusted_filter") else {}
        tf.extractall(dest, **kwargs)
    assert outside_files(sandbox, dest) == before, members
    assert links_inside(dest) == [], members


def trusting_unzip(path: Path, dest: Path) -> None:
    """Extract a zip the way unzip does on Unix: names joined to ``dest`` as they are, symbolic
    links made from the Unix mode bits, parent folders made (through links already made)."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            target = os.path.join(dest, info.filename)
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if stat.S_ISLNK(info.external_attr >> 16):
                    os.symlink(zf.read(info).decode(), target)
                elif info.is_dir():
                    os.makedirs(target, exist_ok=True)
                else:
                    with open(target, "wb") as fh:
                        fh.write(zf.read(info))
            except OSError:
                continue


def zip_members(top: str):
    return tar_members(top, hard_links=False)  # a zip has no hard links


@given(members=zip_members(PKG), kind=st.sampled_from(["wheel", "sdist"]))
@example(members=[(f"{PKG}/d", ".", "sym"), (f"{PKG}/e", "d/d/../..", "sym"), (f"{PKG}/e/PWNED.txt", b"x")], kind="wheel")
@example(members=[(f"{PKG}/d", ".", "sym"), (f"{PKG}/e", "d/d/../..", "sym"), (f"{PKG}/e/PWNED.txt", b"x")], kind="sdist")
def test_an_accepted_zip_extracts_inside_the_destination_even_trusting_links(tmp_path_factory, members, kind):
    sandbox = tmp_path_factory.mktemp("sandbox")
    dest = sandbox / "dest"
    dest.mkdir()
    (sandbox / "marker").write_text("outside")
    if kind == "wheel":
        path = write_zip(sandbox / WHEEL_NAME, wheel_members() + members)
    else:
        moved = [(TOP + m[0][len(PKG):],) + tuple(m[1:]) for m in members]
        path = write_zip(sandbox / ZIP_SDIST_NAME, [(f"{TOP}/PKG-INFO", metadata())] + moved)
    try:
        read_core_metadata(path, kind, path.name)
    except InvalidDistribution:
        event("refused")
        return
    event("accepted, extracted")
    before = outside_files(sandbox, dest)
    trusting_unzip(path, dest)
    assert outside_files(sandbox, dest) == before, members
    assert links_inside(dest) == [], members


def test_the_trusting_extractors_do_follow_a_chain(tmp_path):
    """The extractors of the property tests are trusting enough to be fooled: given the chain
    without pagesindex's check, both write outside their destination."""
    for kind in ("tar", "zip"):
        sandbox = tmp_path / kind
        dest = sandbox / "dest"
        dest.mkdir(parents=True)
        if kind == "tar":
            path = write_tar(sandbox / SDIST_NAME, CHAIN)
            with tarfile.open(path) as tf:
                kwargs = {"filter": tarfile.fully_trusted_filter} if hasattr(tarfile, "fully_trusted_filter") else {}
                tf.extractall(dest, **kwargs)
        else:
            path = write_zip(sandbox / WHEEL_NAME, CHAIN)
            trusting_unzip(path, dest)
        assert (sandbox / "PWNED.txt").read_bytes() == b"pwned", kind


def test_hard_link_to_an_earlier_file_is_kept_as_a_link_inside(arena, tmp_path):
    index, dist, work = arena
    members = [(f"{TOP}/PKG-INFO", metadata()), (f"{TOP}/src/a.py", b"A"), (f"{TOP}/b.py", f"{TOP}/src/a.py", "hard")]
    path = write_tar(dist / SDIST_NAME, members)
    proc = cli("add", str(path), index=index.root, cwd=work)
    assert proc.returncode == 0, proc.stderr
    dest = tmp_path / "x"
    with tarfile.open(path) as tf:
        tf.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    assert (dest / TOP / "b.py").read_bytes() == b"A"
