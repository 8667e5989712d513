"""The deploy's carry-over (issue 17): build and verify from the last deploy's site and state.

The deploy restores the ``github-pages`` artifact of the last successful deploy run into
``_site`` and the state its verify saved (``verify --save-state``) into a folder; ``build
--previous-state`` adopts that site and renders only what changed, and ``verify
--previous-state`` checks in full what changed and the rest by name and size. Each test starts
from a fresh-checkout-like copy of the index (another folder, another user cache: no build
manifest) with the site copied file by file, as extracting the artifact leaves it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from factory import make_wheel
from hostile import cli

from pagesindex.checks.deploy_state import MANIFEST_COPY, VERIFIED
from pagesindex.render import MANIFEST, manifest_path
from pagesindex.state import Index
from pagesindex.workflows import GITIGNORE


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def problems(proc) -> list:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return [line[len("problem: "):] for line in proc.stderr.splitlines() if line.startswith("problem: ")]


def git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout


class Deploy:
    """One index, deployed once (full build, full verify, state saved); :meth:`next_run` gives the
    next deploy's workspace with the site and state restored."""

    def __init__(self, tmp: Path, monkeypatch, use_git: bool = False):
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.dist = tmp / "dist"
        self.runs = 0
        self.root = tmp / "run0"
        monkeypatch.setenv("PAGESINDEX_CACHE_DIR", str(tmp / "cache0"))
        Index.init(self.root, title="t", url="https://example.org/i/")
        self.add(make_wheel(self.dist, "abc1", "1.0"), make_wheel(self.dist, "other", "2.0"),
                 make_wheel(self.dist, "app", "1.0", requires_dist=["helper>=1", "numpy"]))
        self.use_git = use_git
        if use_git:
            (self.root / ".gitignore").write_text(GITIGNORE + "*.ignored\n")
            git(self.root, "init", "-q", "-b", "main")
            git(self.root, "add", "-A")
            git(self.root, "commit", "-q", "-m", "first")
        ok(cli("build", index=self.root))
        self.state = tmp / "state0"
        out = ok(cli("verify", "--require-projects", "--save-state", str(self.state), index=self.root))
        assert "note" not in out, out
        assert {p.name for p in self.state.iterdir()} == {VERIFIED, MANIFEST_COPY}

    def add(self, *wheels: Path, root: Path = None) -> None:
        ok(cli("add", *map(str, wheels), index=root or self.root))

    def next_run(self) -> Path:
        """A new workspace: the index copied (no _site), a new user cache, the last site copied
        into _site (new inodes, as tar leaves them); returns the restored state folder."""
        self.runs += 1
        new = self.tmp / f"run{self.runs}"
        shutil.copytree(self.root, new, ignore=shutil.ignore_patterns("_site", ".pagesindex-cache"), symlinks=True)
        shutil.copytree(self.root / "_site", new / "_site")  # copies, not links
        self.monkeypatch.setenv("PAGESINDEX_CACHE_DIR", str(self.tmp / f"cache{self.runs}"))
        self.root = new
        if self.use_git:  # as a fresh checkout leaves git's index: the copy's new inodes refreshed
            git(self.root, "update-index", "-q", "--refresh")
        return self.state

    def commit(self, message: str = "next") -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.root, "rev-parse", "HEAD").strip()

    def build(self, state: Path):
        return cli("build", "--previous-state", str(state), index=self.root)

    def verify(self, state: Path, save: bool = True):
        self.saved = self.tmp / f"state{self.runs}"
        args = ["--save-state", str(self.saved)] if save else []
        return cli("verify", "--require-projects", "--previous-state", str(state), *args, index=self.root)


@pytest.fixture
def deploy(tmp_path, monkeypatch) -> Deploy:
    return Deploy(tmp_path, monkeypatch)


def test_one_release_merged_renders_and_checks_only_that_project(deploy):
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "abc1", "1.1"))
    out = ok(deploy.build(state))
    assert "adopted the site of the saved state (3 projects)" in out
    assert "1 rendered (abc1)" in out, out  # abc1 only: the others' pages are the restored ones
    out = ok(deploy.verify(state))
    assert "incremental: 1 of 3 projects checked in full (abc1), the rest against the saved state" in out, out
    site = deploy.root / "_site"
    assert (site / "packages" / "abc1" / "abc1-1.1-py3-none-any.whl").is_file()
    # nothing internal is published
    assert not (site / MANIFEST).exists() and not list(site.rglob("*.manifest")) and not (site / VERIFIED).exists()
    # the saved state chains: the next run starts from it, and a full verify agrees with the site
    saved = json.loads((deploy.saved / VERIFIED).read_text())
    assert set(saved["projects"]) == {"abc1", "other", "app"}
    assert "packages/abc1/abc1-1.1-py3-none-any.whl" in saved["projects"]["abc1"]["outputs"]
    ok(cli("verify", "--require-projects", index=deploy.root))
    deploy.state = deploy.saved
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "other", "2.1"))
    ok(deploy.build(state))
    assert "incremental: 1 of 3 projects checked in full" in ok(deploy.verify(state))


def test_a_changed_projects_page_that_is_wrong_is_caught(deploy):
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "abc1", "1.1"))
    ok(deploy.build(state))
    page = deploy.root / "_site" / "abc1" / "index.html"
    data = page.read_bytes()
    page.write_bytes(data.replace(b"abc1-1.1", b"abc1-1.2"))  # same size, other bytes
    found = problems(deploy.verify(state))
    assert any(p.startswith("abc1/index.html: differs from what a build writes") for p in found), found
    assert not deploy.saved.exists(), "no state is saved for a site that failed"


def test_the_root_pages_are_checked_in_full(deploy):
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "newcomer", "1.0"))
    ok(deploy.build(state))
    page = deploy.root / "_site" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"newcomer", b"newcomex"))
    found = problems(deploy.verify(state))
    assert any(p.startswith("index.html: differs from what a build writes") for p in found), found


def test_an_unchanged_projects_file_missing_extra_or_resized_is_caught(deploy):
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "abc1", "1.1"))
    ok(deploy.build(state))
    site = deploy.root / "_site"
    (site / "other" / "index.json").unlink()
    (site / "other" / "stray.html").write_text("x")
    with open(site / "_pages" / "other" / "index.html", "ab") as fh:
        fh.write(b"<!-- -->")
    found = problems(deploy.verify(state))
    assert any(p.startswith("other/index.json: missing from the site") for p in found), found
    assert any(p.startswith("other/stray.html: served, but not built from the state") for p in found), found
    assert any(p.startswith("_pages/other/index.html: size") for p in found), found


def test_a_restored_site_that_is_not_the_saved_one_is_not_adopted(deploy):
    """A file more or less in the restored site: the build does not adopt it (so it never
    deletes a file its manifest names in some other folder) and builds nothing."""
    state = deploy.next_run()
    (deploy.root / "_site" / "other" / "mine.txt").write_text("not the build's")
    proc = deploy.build(state)
    assert proc.returncode == 1 and "is not the site of the saved state" in proc.stderr, proc.stderr
    assert "1 not in the state, such as 'other/mine.txt'" in proc.stderr, proc.stderr  # named, not guessed at
    assert not manifest_path(Index(deploy.root), deploy.root / "_site").exists()
    (deploy.root / "_site" / "other" / "mine.txt").unlink()
    (deploy.root / "_site" / "other" / "index.json").unlink()
    proc = deploy.build(state)
    assert proc.returncode == 1 and "is not the site of the saved state" in proc.stderr, proc.stderr
    assert "1 of the state missing, such as 'other/index.json'" in proc.stderr, proc.stderr


def test_a_restored_page_of_another_size_is_caught_by_verify(deploy):
    """The build adopts by names (a listing of each folder); the verify compares the sizes."""
    state = deploy.next_run()
    with open(deploy.root / "_site" / "_pages" / "other" / "index.html", "ab") as fh:
        fh.write(b" ")
    ok(deploy.build(state))
    found = problems(deploy.verify(state))
    assert found and all(p.startswith("_pages/other/index.html: size") for p in found), found


def test_same_size_change_of_an_unchanged_projects_page_is_not_reread(deploy):
    """The documented limit (README, "The deploy's carry-over"): the bytes of an unchanged
    project's pages come from the last deploy's own artifact, which only that run wrote and which
    it verified byte for byte; the incremental verify compares their names and sizes only. The
    full verify (the default) reads every byte and catches the same change."""
    state = deploy.next_run()
    page = deploy.root / "_site" / "other" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"other", b"OTHER"))
    ok(deploy.build(state))
    ok(deploy.verify(state, save=False))
    found = problems(cli("verify", "--require-projects", index=deploy.root))
    assert any(p.startswith("other/index.html: differs") for p in found), found


@pytest.mark.parametrize("field", ["version", "fingerprint", "format"])
def test_a_state_of_another_version_or_fingerprint_means_a_full_build_and_check(deploy, field):
    state = deploy.next_run()
    data = json.loads((state / VERIFIED).read_text())
    data[field] = "0.0.0" if field != "format" else 99
    (state / VERIFIED).write_text(json.dumps(data))
    proc = deploy.build(state)
    assert proc.returncode == 1 and "not used" in proc.stderr and "nothing was built" in proc.stderr, proc.stderr
    shutil.rmtree(deploy.root / "_site")  # what the workflow does then
    ok(cli("build", index=deploy.root))
    out = ok(deploy.verify(state))
    assert "checking everything: the saved state is not used" in out, out
    assert (deploy.saved / VERIFIED).is_file()  # a full verify saves a state for the next run


def test_the_saved_manifest_is_one_file_and_a_spoiled_line_renders_that_project_again(deploy):
    """build.manifest holds the header and one line per project (the build keeps them in
    shards); a line that is not a manifest line is dropped on adoption: that project is rendered
    again, the others are not, and the site verifies."""
    state = deploy.next_run()
    path = state / MANIFEST_COPY
    head, *lines = path.read_text().rstrip("\n").split("\n")
    assert json.loads(head)["format"] and sorted(line.split("\t")[0] for line in lines) == ["abc1", "app", "other"]
    path.write_text("\n".join([head] + [line if not line.startswith("other\t") else "other\tnot a line" for line in lines]) + "\n")
    out = ok(deploy.build(state))
    assert "adopted the site of the saved state (3 projects)" in out and "1 rendered" in out, out
    ok(deploy.verify(state))
    again = ok(cli("build", index=deploy.root))
    assert "0 rendered" in again, again


def test_a_manifest_of_another_fingerprint_is_not_adopted(deploy):
    state = deploy.next_run()
    path = state / MANIFEST_COPY
    head, _, rest = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    header["fingerprint"] = "0" * 64
    path.write_bytes(json.dumps(header).encode() + b"\n" + rest)
    proc = deploy.build(state)
    assert proc.returncode == 1 and "other templates" in proc.stderr, proc.stderr


def test_settings_changed_means_a_full_check(deploy):
    state = deploy.next_run()
    toml = deploy.root / "index.toml"
    toml.write_text(toml.read_text().replace('title = "t"', 'title = "t2"'))
    proc = deploy.build(state)
    assert proc.returncode == 1 and "other templates, static files or settings" in proc.stderr, proc.stderr


def test_a_project_added_that_another_depends_on_renders_and_checks_the_dependent(deploy):
    """app requires helper: its install commands pin helper to the index once helper is a
    project of it, so adding helper changes app's pages though app's record did not change."""
    state = deploy.next_run()
    before = (deploy.root / "_site" / "_pages" / "app" / "1.0.html").read_bytes()
    deploy.add(make_wheel(deploy.dist, "helper", "1.0"))
    out = ok(deploy.build(state))
    assert "1 rendered again for a project added or removed" in out, out
    assert "2 rendered" in out, out
    assert (deploy.root / "_site" / "_pages" / "app" / "1.0.html").read_bytes() != before
    assert "incremental: 2 of 4 projects checked in full" in ok(deploy.verify(state))
    ok(cli("verify", "--require-projects", index=deploy.root))
    # and removed again
    deploy.state = deploy.saved
    state = deploy.next_run()
    ok(cli("remove", "helper", index=deploy.root))
    ok(deploy.build(state))
    assert "incremental: 1 of 3 projects checked in full" in ok(deploy.verify(state))
    assert not (deploy.root / "_site" / "helper").exists()
    assert (deploy.root / "_site" / "_pages" / "app" / "1.0.html").read_bytes() == before


def test_a_removed_projects_files_left_in_packages_are_caught(deploy):
    state = deploy.next_run()
    (deploy.root / "projects" / "other.json").unlink()
    ok(deploy.build(state))
    found = problems(deploy.verify(state))
    assert any(p.startswith("packages/other/other-2.0-py3-none-any.whl: not recorded in any project") for p in found), found


def test_an_unchanged_projects_committed_file_resized_is_caught(deploy):
    state = deploy.next_run()
    with open(deploy.root / "packages" / "other" / "other-2.0-py3-none-any.whl", "ab") as fh:
        fh.write(b"x")
    ok(deploy.build(state))
    found = problems(deploy.verify(state))
    assert any(p.startswith("packages/other/other-2.0-py3-none-any.whl: size") for p in found), found


def test_with_git_a_same_size_change_of_a_committed_file_is_checked_in_full(tmp_path, monkeypatch):
    """With the commit the state was saved at, git names every file of the state that changed
    since; their projects are checked in full even when their records did not change."""
    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    saved = json.loads((deploy.state / VERIFIED).read_text())
    assert saved["commit"] == git(deploy.root, "rev-parse", "HEAD").strip()
    state = deploy.next_run()
    wheel = deploy.root / "packages" / "other" / "other-2.0-py3-none-any.whl"
    data = bytearray(wheel.read_bytes())
    data[-30] ^= 1
    wheel.write_bytes(bytes(data))
    ok(deploy.build(state))
    found = problems(deploy.verify(state))
    assert any(p.startswith("packages/other/other-2.0-py3-none-any.whl: size") and "differ from the record" in p for p in found), found


def test_with_git_a_state_of_an_unknown_commit_means_a_full_check(tmp_path, monkeypatch):
    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    state = deploy.next_run()
    data = json.loads((state / VERIFIED).read_text())
    data["commit"] = "1" * 40
    (state / VERIFIED).write_text(json.dumps(data))
    ok(deploy.build(state))
    out = ok(deploy.verify(state))
    assert "checking everything: the saved state is not used (git cannot compare" in out, out


def saved_state(folder: Path) -> dict:
    return json.loads((folder / VERIFIED).read_text())


@pytest.mark.parametrize("how", ["modified", "staged", "untracked", "ignored"])
def test_with_git_a_dirty_work_tree_at_save_means_no_commit_is_saved(tmp_path, monkeypatch, how):
    """The saved commit lets the next verify trust git for every record and file it does not
    name; it is saved only when the state's folders are exactly that commit, else the sizes of
    the files are saved instead (and the next verify reads every record)."""
    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    assert saved_state(deploy.state)["commit"] == git(deploy.root, "rev-parse", "HEAD").strip()
    if how in ("modified", "staged"):
        deploy.add(make_wheel(deploy.dist, "abc1", "1.1"))
        if how == "staged":
            git(deploy.root, "add", "-A")
        ok(cli("build", index=deploy.root))
    else:  # a file verify skips (named .*), not tracked; ignored by .gitignore or not
        (deploy.root / "packages" / "other" / (".notes" if how == "untracked" else ".notes.ignored")).write_text("x")
        assert "ignored" not in how or not git(deploy.root, "status", "--porcelain", "--", "packages")
    again = tmp_path / "again"
    ok(cli("verify", "--require-projects", "--save-state", str(again), index=deploy.root))
    data = saved_state(again)
    assert data["commit"] is None
    assert "packages/other/other-2.0-py3-none-any.whl" in data["state_files"]
    # the same through the incremental verify of the next run
    deploy.state = again
    state = deploy.next_run()
    ok(deploy.build(state))
    out = ok(deploy.verify(state))
    assert "incremental:" in out, out
    assert saved_state(deploy.saved)["commit"] is None
    # committed (and nothing untracked): the commit is saved again
    for extra in (deploy.root / "packages" / "other").glob(".notes*"):
        extra.unlink()
    head = deploy.commit()
    deploy.state = deploy.saved
    state = deploy.next_run()
    ok(deploy.build(state))
    assert "incremental:" in ok(deploy.verify(state))
    assert saved_state(deploy.saved)["commit"] == head


@pytest.mark.parametrize("name, problem", [
    ("extra-1.0-py3-none-any.whl", "not recorded in any project"),  # untracked
    ("extra.ignored", "not recorded in any project"),  # ignored by .gitignore
    (".tmp-abc", "temporary file left by an interrupted command"),  # ignored too (.tmp-*)
])
def test_with_git_a_file_not_tracked_in_an_unchanged_projects_folder_is_caught(tmp_path, monkeypatch, name, problem):
    """git lists every file it does not track, ignored ones too, so its project is checked in
    full (and its temporary files looked for) though its record did not change."""
    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "abc1", "1.1"))
    deploy.commit()
    (deploy.root / "packages" / "other" / name).write_bytes(b"x")
    ok(deploy.build(state))
    proc = deploy.verify(state)
    assert "checking everything" not in proc.stdout, proc.stdout
    found = problems(proc)
    assert any(p.startswith(f"packages/other/{name}: {problem}") for p in found), found
    assert not deploy.saved.exists()


@pytest.mark.parametrize("rel, committed, problem", [
    ("packages/.tmp-abc", False, "temporary file left by an interrupted command"),
    ("packages/stray-1.0-py3-none-any.whl", False, "not recorded in any project"),
    ("packages/ghost/ghost-1.0-py3-none-any.whl", False, "not recorded in any project"),
    ("packages/ghost/ghost-1.0-py3-none-any.whl", True, "not recorded in any project"),
    ("packages/ghost/ghost.ignored", False, "not recorded in any project"),
    ("provenance/ghost/ghost-1.0.tar.gz.provenance", True, "provenance of no recorded file with provenance"),
])
def test_with_git_a_file_outside_every_projects_folder_is_caught(tmp_path, monkeypatch, rel, committed, problem):
    """A path git names under packages/ or provenance/ that belongs to no project (no record of
    that name, or the folder itself) is reported as the full verify reports it."""
    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    state = deploy.next_run()
    path = deploy.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if committed:
        deploy.commit()
    ok(deploy.build(state))
    proc = deploy.verify(state)
    assert "incremental: 0 of 3 projects checked in full" in proc.stdout, proc.stdout
    found = problems(proc)
    assert any(p.startswith(f"{rel}: {problem}") for p in found), found
    assert any(p.startswith(f"{rel}: {problem}") for p in problems(cli("verify", "--require-projects", index=deploy.root)))


def test_with_git_an_unchanged_record_is_not_read_again(tmp_path, monkeypatch):
    """With a saved commit and a clean checkout, only the records git names are read."""
    from pagesindex.checks import deploy_state

    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    state = deploy.next_run()
    deploy.add(make_wheel(deploy.dist, "abc1", "1.1"))
    head = deploy.commit()
    ok(deploy.build(state))
    read = []
    real = deploy_state.record_digest
    monkeypatch.setattr(deploy_state, "record_digest", lambda index, name: read.append(name) or real(index, name))
    out = ok(deploy.verify(state))
    assert "incremental: 1 of 3 projects checked in full" in out, out
    assert read == ["abc1"]
    assert saved_state(deploy.saved)["commit"] == head
    assert saved_state(deploy.saved)["projects"]["other"]["digest"] == real(Index(deploy.root), "other")


def test_with_git_files_the_build_linked_since_the_commit_do_not_make_the_tree_dirty(tmp_path, monkeypatch):
    """A build hard-links the distribution files into the site, which changes their ctime (a
    stat git's index compares); the bytes are the commit's, so the commit is still saved."""
    import time

    deploy = Deploy(tmp_path, monkeypatch, use_git=True)
    time.sleep(1.1)  # git compares ctime in whole seconds
    wheel = deploy.root / "packages" / "other" / "other-2.0-py3-none-any.whl"
    os.link(wheel, tmp_path / "link")
    assert git(deploy.root, "diff-files", "--name-only")  # the plumbing names it
    again = tmp_path / "again"
    ok(cli("verify", "--require-projects", "--save-state", str(again), index=deploy.root))
    assert saved_state(again)["commit"] == git(deploy.root, "rev-parse", "HEAD").strip()


def test_a_missing_state_folder_is_named_once_and_nothing_is_built(deploy, tmp_path):
    deploy.next_run()
    before = sorted(p.relative_to(deploy.root).as_posix() for p in (deploy.root / "_site").rglob("*"))
    proc = deploy.build(tmp_path / "nowhere")
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --previous-state "), proc.stderr
    assert "no saved state in" in lines[0] and lines[0].count("verified.json") == 1, lines[0]
    assert "delete the output folder and run 'pagesindex build' without --previous-state" in lines[0], lines[0]
    assert sorted(p.relative_to(deploy.root).as_posix() for p in (deploy.root / "_site").rglob("*")) == before
    out = ok(deploy.verify(tmp_path / "nowhere", save=False))
    assert "checking everything: the saved state is not used (no saved state in" in out, out
