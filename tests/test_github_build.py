"""Build from source at the tag when a release has no distribution files (real git, real builds).

The projects are real git repositories made here: a setuptools project, a hatchling project and a
setuptools-scm project (version read from the tag, so the clone needs the full history).
``python -m build`` runs isolated, so the build backends come from the package index.
"""

from __future__ import annotations

import base64

import pytest
from conftest import state_snapshot
from ghhelpers import TOKEN, gh_cli, make_git_project, record
from github_server import FakeGitHub

from pagesindex.sources.source_build import git_auth_env


@pytest.fixture
def gh():
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


def register(gh, index, name, version, check=True):
    return gh_cli(gh, "register", name, version, "--author", "A", "--summary", "S",
                  "--homepage", f"https://github.example/kavli/{name}", index=index.root, check=check)


def test_setuptools_project_built_when_the_release_has_no_files(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "setuptools", "kavli-sky", "1.0.0", "v1.0.0")
    # the build must not see the token
    (src / "setup.py").write_text(
        "import os\nfrom setuptools import setup\n"
        "leaked = [k for k in ('GITHUB_TOKEN', 'GH_TOKEN') if k in os.environ]\n"
        "assert not leaked, leaked\nsetup()\n"
    )
    from ghhelpers import git

    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "setup.py")
    git(src, "tag", "-f", "-a", "v1.0.0", "-m", "v1.0.0")
    repo = gh.add_repo("kavli/kavli-sky", clone_url=f"file://{src}")
    repo.add_release("v1.0.0", {"notes.txt": b"release notes"})
    repo.set_readme("README.md", "# kavli-sky\n\nRead me at the tag.\n")
    out = register(gh, index, "kavli-sky", "v1.0.0").stdout
    assert "building kavli/kavli-sky at v1.0.0 from source" in out
    assert "ignored   notes.txt  (not a wheel or sdist)" in out
    rec = record(index, "kavli-sky")
    release = rec["releases"]["1.0.0"]
    assert sorted(f["filename"] for f in release["files"]) == ["kavli_sky-1.0.0-py3-none-any.whl", "kavli_sky-1.0.0.tar.gz"]
    assert release["extra"]["source"] == "built-from-tag"
    assert release["extra"]["readme"]["from"] == "repository@v1.0.0"
    assert "from a build from source at the tag" in out


def test_hatchling_project_with_a_tag_and_no_release(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "hatchling", "kavli-hatch", "0.3.0", "0.3.0")
    gh.add_repo("kavli/kavli-hatch", clone_url=f"file://{src}").add_tag("0.3.0")
    out = register(gh, index, "kavli-hatch", "v0.3.0").stdout
    assert "no published release for tag 0.3.0; the tag exists" in out
    files = record(index, "kavli-hatch")["releases"]["0.3.0"]["files"]
    assert sorted(f["filename"] for f in files) == ["kavli_hatch-0.3.0-py3-none-any.whl", "kavli_hatch-0.3.0.tar.gz"]


def test_setuptools_scm_project_reads_the_version_from_the_tag(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "setuptools-scm", "kavli-scm", "", "v1.4.0", extra_tags=("v1.3.0",))
    gh.add_repo("kavli/kavli-scm", clone_url=f"file://{src}").add_tag("v1.4.0")
    register(gh, index, "kavli-scm", "1.4.0")
    files = record(index, "kavli-scm")["releases"]["1.4.0"]["files"]
    assert sorted(f["filename"] for f in files) == ["kavli_scm-1.4.0-py3-none-any.whl", "kavli_scm-1.4.0.tar.gz"]


def test_built_version_that_differs_from_the_tag_is_an_error(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "setuptools", "kavli-sky", "1.0.0", "v1.1.0")
    gh.add_repo("kavli/kavli-sky", clone_url=f"file://{src}").add_tag("v1.1.0")
    before = state_snapshot(index.root)
    proc = register(gh, index, "kavli-sky", "v1.1.0", check=False)
    assert proc.returncode == 1
    assert "1.0.0" in proc.stderr and "'v1.1.0'" in proc.stderr and "1.1.0" in proc.stderr
    assert state_snapshot(index.root) == before


def test_build_failure_shows_the_builds_last_lines(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "setuptools", "kavli-sky", "1.0.0", "v1.0.0", broken=True)
    gh.add_repo("kavli/kavli-sky", clone_url=f"file://{src}").add_tag("v1.0.0")
    before = state_snapshot(index.root)
    proc = register(gh, index, "kavli-sky", "v1.0.0", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: python -m build failed")
    assert "boom: this build is broken" in proc.stderr
    assert state_snapshot(index.root) == before


def test_tag_missing_from_the_git_repository(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "setuptools", "kavli-sky", "1.0.0", "v1.0.0")
    gh.add_repo("kavli/kavli-sky", clone_url=f"file://{src}").add_tag("v2.0.0")
    proc = register(gh, index, "kavli-sky", "v2.0.0", check=False)
    assert proc.returncode == 1 and "has no tag 'v2.0.0'" in proc.stderr


def test_clone_failure_is_reported(gh, index, tmp_path):
    gh.add_repo("kavli/kavli-sky", clone_url=f"file://{tmp_path}/absent").add_tag("v1.0.0")
    proc = register(gh, index, "kavli-sky", "v1.0.0", check=False)
    assert proc.returncode == 1 and "git clone of" in proc.stderr


def test_git_gets_the_token_only_for_the_github_host():
    env = git_auth_env("https://github.com/kavli/x.git", "https://github.com", "tok")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic " + base64.b64encode(b"x-access-token:tok").decode()
    assert git_auth_env("https://elsewhere.example/kavli/x.git", "https://github.com", "tok") == {}
    assert git_auth_env("https://github.com.evil.example/x.git", "https://github.com", "tok") == {}
    assert git_auth_env("file:///tmp/x", "https://github.com", "tok") == {}
    assert git_auth_env("https://github.com/kavli/x.git", "https://github.com", None) == {}


def test_repository_that_is_not_a_python_project(gh, index, tmp_path):
    from ghhelpers import git

    src = tmp_path / "git" / "docs"
    src.mkdir(parents=True)
    (src / "README.md").write_text("just docs\n")
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "docs")
    git(src, "tag", "v1.0.0")
    gh.add_repo("kavli/kavli-sky", clone_url=f"file://{src}").add_tag("v1.0.0")
    proc = register(gh, index, "kavli-sky", "v1.0.0", check=False)
    assert proc.returncode == 1 and "no pyproject.toml or setup.py" in proc.stderr


def test_build_that_makes_another_project_is_refused(gh, index, tmp_path):
    src = make_git_project(tmp_path / "git", "hatchling", "other-name", "1.0.0", "v1.0.0")
    gh.add_repo("kavli/kavli-sky", clone_url=f"file://{src}").add_tag("v1.0.0")
    before = state_snapshot(index.root)
    proc = register(gh, index, "kavli-sky", "v1.0.0", check=False)
    assert proc.returncode == 1 and "made project 'other-name', not 'kavli-sky'" in proc.stderr
    assert state_snapshot(index.root) == before
