"""``pagesindex storage migrate --to s3`` (issue 15, item 5): a git-store index moves to an object
store, old ``packages/<name>/<file>`` URLs keep serving the same bytes, a second run changes
nothing, a run killed between uploads resumes, and bad input writes nothing.

S3 is moto's server on 127.0.0.1 (fixtures of tests/test_stores.py).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli, state_snapshot
from test_stores import aws_env, bucket, commit, get, git, keys, s3_index, s3_url  # noqa: F401 (fixtures)

from pagesindex.errors import PagesIndexError
from pagesindex.state import Index

HERE = Path(__file__).parent


def snapshot(root):
    """The state's files, without what a killed command leaves for the next one to sweep
    (temporary files, the writing marker of :meth:`Index.lock`)."""
    return {k: v for k, v in state_snapshot(root).items() if ".tmp-" not in k and k != ".pagesindex-writing"}


def migrate_args(bucket, s3_url):
    return ["storage", "migrate", "--to", "s3", "--bucket", bucket.name, "--public-url", bucket.public_url,
            "--endpoint-url", s3_url]


@pytest.fixture
def git_index(index, wheel, sdist):
    """A git-store index with a wheel and an sdist of one project and a wheel of another, and
    an old-folder alias (as ``pagesindex migrate`` of an old template index records)."""
    index.add_paths([wheel("abc1", "1.0"), sdist("abc1", "1.0"), wheel("xyz2", "0.1")])
    project = index.get_project("abc1")
    project.extra["aliases"] = {"packages/old-abc/abc1-1.0-py3-none-any.whl": "abc1-1.0-py3-none-any.whl"}
    index.save_project(project)
    return index


def test_migrate_stages_every_file_keeps_old_urls_and_a_second_run_changes_nothing(git_index, bucket, s3_url, wheel, serve):
    root = git_index.root
    old = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "packages").rglob("*.*") if p.name != ".gitkeep"}
    proc = run_cli(*migrate_args(bucket, s3_url), index=root)
    assert "3 files staged, 2 records changed, index.toml written" in proc.stdout
    index = Index(root)
    assert index.config.storage.kind == "s3" and index.config.storage.public_url == bucket.public_url
    abc = index.get_project("abc1")
    assert abc.extra["legacy-files"] == ["abc1-1.0-py3-none-any.whl", "abc1-1.0.tar.gz"]
    staged = [k for k in keys(bucket) if k.startswith("staging/")]
    assert len(staged) == 5  # 3 files, 2 sidecars
    assert not any(k.startswith("files/") for k in keys(bucket))  # public only after publish
    for f in abc.all_files():  # the bytes staged are the recorded ones
        body = bucket.get_object(Bucket=bucket.name, Key=f"staging/{f.sha256}/{f.filename}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == f.sha256
        if f.core_metadata_sha256:
            assert (root / "metadata" / f.core_metadata_sha256).is_file()

    before = state_snapshot(root)
    again = run_cli(*migrate_args(bucket, s3_url), index=root)
    assert "nothing to change: the index already uses storage.kind 's3' (3 legacy files checked in the store)" in again.stdout
    assert "in store  " in again.stdout and "staged  " not in again.stdout  # nothing is said to be sent again
    assert run_cli("storage", "migrate", "--to", "s3", index=root).returncode == 0  # settings from index.toml
    plain = run_cli("storage", "migrate", index=root).stdout  # --to too (fresh-user trial: it was required)
    assert "nothing to change: the index already uses storage.kind 's3'" in plain
    assert state_snapshot(root) == before

    run_cli("publish", index=root)
    run_cli("build", index=root)
    site = root / "_site"
    page = _old_urls_kept(site, old)
    assert {f["url"] for f in page["files"]} == {f"{bucket.public_url}abc1/abc1-1.0-py3-none-any.whl",
                                                f"{bucket.public_url}abc1/abc1-1.0.tar.gz"}
    assert run_cli("verify", index=root).stdout.startswith("ok: 2 projects verified")

    # A new file after the move goes only to the store: the legacy set is frozen.
    run_cli("add", str(wheel("abc1", "2.0")), index=root)
    assert not (root / "packages/abc1/abc1-2.0-py3-none-any.whl").exists()
    assert Index(root).get_project("abc1").extra["legacy-files"] == ["abc1-1.0-py3-none-any.whl", "abc1-1.0.tar.gz"]
    run_cli("publish", index=root)
    run_cli("build", index=root)
    assert not (site / "packages/abc1/abc1-2.0-py3-none-any.whl").exists()
    assert run_cli("verify", index=root).stdout.startswith("ok: 2 projects verified")
    url = serve(site)
    assert get(f"{url}packages/abc1/abc1-1.0.tar.gz") == old["packages/abc1/abc1-1.0.tar.gz"]

    # A legacy file changed in git is a problem verify names, with its remedy.
    (root / "packages/abc1/abc1-1.0.tar.gz").write_bytes(b"changed")
    proc = run_cli("verify", index=root, check=False)
    assert proc.returncode == 1 and "packages/abc1/abc1-1.0.tar.gz: size 7" in proc.stderr and "git checkout" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "git"], "--to must be an object store kind (github-release, s3), not 'git'"),
        (["--to", "ftp", "--bucket", "b"], "not 'ftp'"),
        (["--to", "s3"], "storage migrate --to s3: no settings given and index.toml has storage.kind 'git'"),
        (["--to", "s3", "--bucket", "lab-packages"], "storage migrate: storage.public-url is required with kind 's3'"),
        (["--to", "s3", "--bucket", "Bad_Name", "--public-url", "https://cdn.example.org/"], "storage.bucket must be an S3 bucket name"),
    ],
)
def test_bad_options_are_one_line_errors_and_write_nothing(git_index, args, message):
    before = state_snapshot(git_index.root)
    proc = run_cli("storage", "migrate", *args, index=git_index.root, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert state_snapshot(git_index.root) == before


def test_a_file_that_differs_from_its_record_stops_the_move_before_any_upload(git_index, bucket, s3_url):
    (git_index.root / "packages/xyz2/xyz2-0.1-py3-none-any.whl").write_bytes(b"not the recorded bytes")
    before = state_snapshot(git_index.root)
    proc = run_cli(*migrate_args(bucket, s3_url), index=git_index.root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        proc.stderr.strip().splitlines()[0]
    ] and "packages/xyz2/xyz2-0.1-py3-none-any.whl: size 22" in proc.stderr and "differ from the record" in proc.stderr
    assert state_snapshot(git_index.root) == before
    assert keys(bucket) == []


def test_a_missing_file_stops_the_move_before_any_upload(git_index, bucket, s3_url):
    (git_index.root / "packages/abc1/abc1-1.0.tar.gz").unlink()
    before = state_snapshot(git_index.root)
    proc = run_cli(*migrate_args(bucket, s3_url), index=git_index.root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "packages/abc1/abc1-1.0.tar.gz: missing, but recorded in projects/abc1.json" in proc.stderr
    assert state_snapshot(git_index.root) == before and keys(bucket) == []


def test_a_move_killed_between_uploads_resumes(git_index, bucket, s3_url):
    root = git_index.root
    before = snapshot(root)
    uploaded = []
    for kill_at in (1, 2, 3):  # killed before the 1st, 2nd, 3rd file's upload
        proc = subprocess.run([sys.executable, str(HERE / "stagehook.py"), str(kill_at), "--index", str(root),
                               *migrate_args(bucket, s3_url)], capture_output=True, text=True)
        assert proc.returncode == -9, proc.stderr
        assert snapshot(root) == before  # nothing of the state changes before every file is in the store
        uploaded.append(len([k for k in keys(bucket) if not k.endswith(".metadata")]))
    assert uploaded == [0, 1, 2]
    proc = run_cli(*migrate_args(bucket, s3_url), index=root)
    assert "3 files staged" in proc.stdout
    assert len(keys(bucket)) == 5
    run_cli("publish", index=root)
    run_cli("build", index=root)
    assert run_cli("verify", index=root).stdout.startswith("ok: 2 projects verified")


def test_a_move_killed_while_writing_the_state_resumes(git_index, bucket, s3_url, tmp_path):
    """Killed at write steps of the state (tests/crashhook.py): until index.toml is renamed the
    index stays a valid git index (verify passes), after it a moved one whose files are staged
    (verify says to publish); the next run completes the move, to the same state."""
    import shutil

    from pagesindex.checks.verify import verify
    from pagesindex.storage_move import migrate_storage, target_table

    root = git_index.root
    pristine = tmp_path / "pristine"
    shutil.copytree(root, pristine)
    counter = tmp_path / "steps"
    subprocess.run([sys.executable, str(HERE / "crashhook.py"), "0", str(counter), "--index", str(root),
                    *migrate_args(bucket, s3_url)], check=True, capture_output=True)
    steps = int(counter.read_text())
    table = target_table(Index(root), "s3", {})
    done = snapshot(root)
    assert steps > 4
    # The first steps (lock), a spread, and the last ones (records, index.toml, unlock).
    for kill_at in sorted({1, 2, steps // 3, steps // 2, steps - 6, steps - 4, steps - 3, steps - 2, steps - 1}):
        shutil.rmtree(root)
        shutil.copytree(pristine, root)
        proc = subprocess.run([sys.executable, str(HERE / "crashhook.py"), str(kill_at), str(counter), "--index", str(root),
                               *migrate_args(bucket, s3_url)], capture_output=True, text=True)
        assert proc.returncode == -9, (kill_at, proc.stderr)
        moved = Index(root).config.storage.is_object_store
        for problem in verify(Index(root)):
            assert "temporary file left by an interrupted command" in problem or (
                moved and "missing from the store (run 'pagesindex publish')" in problem), (kill_at, problem)
        index = Index(root)
        with index.lock():
            migrate_storage(index, table)
        assert snapshot(root) == done, kill_at


@pytest.mark.e2e
def test_the_migrated_seed_moved_to_s3_installs_and_keeps_every_old_url(seed_index, index, bucket, s3_url, serve, clients, capsys,
                                                                        tools, tmp_path, _no_real_pypi):
    """The institute's index: old template -> pagesindex (``migrate``) -> S3 (``storage migrate``).
    Every old file URL (including the old-folder aliases) serves the old bytes from the site; pip
    and uv install through the API pages, whose links go to the bucket."""
    import time

    root = index.root
    run_cli("migrate", str(seed_index), index=root)
    started = time.perf_counter()
    out = run_cli(*migrate_args(bucket, s3_url), index=root).stdout
    took = time.perf_counter() - started
    assert "26 files staged" in out
    url, old_paths = _publish_build_serve_and_check_old_urls(root, seed_index, serve)
    page = json.loads((root / "_site/lightcurvedb/index.json").read_text())
    assert page["files"] and all(f["url"].startswith(bucket.public_url) for f in page["files"])
    for spec in ("configurables==1.0.0", "lightcurvedb==3.0.0b4", "pyticdb"):
        name, _, version = spec.partition("==")
        for install in (clients.pip, clients.uv_pip):
            got = clients.installed(install(url, "--no-deps", spec).venv)
            assert name in got and (not version or got[name] == version), (spec, got)
    _poetry_and_pdm_install_the_moved_seed(url, clients, tools, tmp_path, _no_real_pypi.url + "/simple/")
    with capsys.disabled():
        print(f"\nseed moved to S3: 26 files staged in {took:.2f} s (wall, incl. process start); {len(old_paths)} old URLs served")


def _old_urls_kept(site: Path, old: dict) -> dict:
    """Every old file path of ``old`` ({path: bytes}) serves the same bytes from the built
    ``site``, the old-folder alias too; returns abc1's PEP 691 project page."""
    for rel, data in old.items():  # old URLs: the same bytes at the same paths
        assert (site / rel).read_bytes() == data
    assert (site / "packages/old-abc/abc1-1.0-py3-none-any.whl").read_bytes() == old["packages/abc1/abc1-1.0-py3-none-any.whl"]
    return json.loads((site / "abc1/index.json").read_text())


def _publish_build_serve_and_check_old_urls(root: Path, seed_index: Path, serve) -> tuple:
    """publish, build and verify the moved seed, serve its site, and check that every old file
    URL (old-folder aliases included) serves the old bytes; returns (site URL, old paths)."""
    from test_migrate import old_hrefs

    run_cli("publish", index=root)
    run_cli("build", index=root)
    assert "verified" in run_cli("verify", index=root).stdout
    url = serve(root / "_site")
    old_paths = {p.relative_to(seed_index).as_posix() for p in (seed_index / "packages").rglob("*") if p.is_file()}
    old_paths.update(old_hrefs(seed_index))
    assert "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl" in old_paths
    for rel in sorted(old_paths):
        assert get(url + rel) == (seed_index / rel).read_bytes(), rel
    return url, old_paths


def _poetry_and_pdm_install_the_moved_seed(url: str, clients, tools, tmp_path: Path, pypi_url: str) -> None:
    """poetry and pdm, as users who configured the old index URL have them, install
    kavli-configurables from the moved seed's site (its link goes to the store) and configurables
    by its old file URL (served from the site's legacy set), the hashes checked."""
    from test_api_exact import tool_installs_from_the_old_url

    old_file = url + "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl"
    for client in ("poetry", "pdm"):
        tool_installs_from_the_old_url(client, url, old_file, clients, tools, tmp_path / client, pypi_url)


# -- staged files of pull requests: verify --staged, storage cleanup ---------------------------------
def test_cleanup_deletes_only_the_staged_files_that_no_state_names(s3_index, bucket, wheel, tmp_path):
    """main has abc1 1.0 (published); an open pull request stages abc1 2.0; a closed one staged
    abc1 3.0 and xyz2 1.0, and another open one stages the same xyz2 1.0 bytes (content-addressed
    keys: shared)."""
    import shutil
    import time

    from pagesindex.storage_move import orphaned_staged

    main = s3_index.root
    run_cli("add", str(wheel("abc1", "1.0")), index=main)
    run_cli("publish", index=main)
    xyz = wheel("xyz2", "1.0")
    heads = {}
    for pr, files in {"open1": [wheel("abc1", "2.0")], "closed": [wheel("abc1", "3.0"), xyz], "open2": [xyz]}.items():
        heads[pr] = tmp_path / pr
        shutil.copytree(main, heads[pr])
        run_cli("add", *map(str, files), index=heads[pr])

    # A pull request's own check: its files are staged, not public; only --staged accepts that.
    proc = run_cli("verify", index=heads["open1"], check=False)
    assert proc.returncode == 1 and "abc1-2.0-py3-none-any.whl: missing from the store" in proc.stderr
    assert run_cli("verify", "--staged", index=heads["open1"]).stdout.startswith("ok: 1 project verified")

    staged_before = [k for k in keys(bucket) if k.startswith("staging/")]
    assert len(staged_before) == 8  # 4 wheels and their sidecars
    later = time.time() + 7200
    assert {s.filename for s in orphaned_staged(Index(main), older_than=3600, now=later)} == {
        "abc1-2.0-py3-none-any.whl", "abc1-2.0-py3-none-any.whl.metadata", "abc1-3.0-py3-none-any.whl",
        "abc1-3.0-py3-none-any.whl.metadata", "xyz2-1.0-py3-none-any.whl", "xyz2-1.0-py3-none-any.whl.metadata"}
    assert orphaned_staged(Index(main), older_than=3600) == []  # staged within the hour: maybe a change being prepared

    # Keys of other shapes under the staging prefix are not the index's: never listed or deleted.
    foreign = ["staging/README", f"staging/{'0' * 64}/x.whl ::error::forged"]
    for key in foreign:
        bucket.put_object(Bucket=bucket.name, Key=key, Body=b"x")
    keep = ["--keep-state", str(heads["open1"]), "--keep-state", str(heads["open2"] / "projects")]
    dry = run_cli("storage", "cleanup", "--older-than", "0", "--dry-run", *keep, index=main).stdout
    assert "2 staged files would be deleted" in dry and "abc1-3.0-py3-none-any.whl " in dry
    assert [k for k in keys(bucket) if k.startswith("staging/") and k not in foreign] == staged_before
    out = run_cli("storage", "cleanup", "--older-than", "0", *keep, index=main).stdout
    assert "2 staged files deleted" in out and "forged" not in out and "README" not in out
    for key in foreign:
        bucket.delete_object(Bucket=bucket.name, Key=key)
    left = {k.rsplit("/", 1)[1] for k in keys(bucket) if k.startswith("staging/")}
    assert left == {"abc1-1.0-py3-none-any.whl", "abc1-1.0-py3-none-any.whl.metadata", "abc1-2.0-py3-none-any.whl",
                    "abc1-2.0-py3-none-any.whl.metadata", "xyz2-1.0-py3-none-any.whl", "xyz2-1.0-py3-none-any.whl.metadata"}
    assert "0 staged files deleted" in run_cli("storage", "cleanup", "--older-than", "0", *keep, index=main).stdout
    assert run_cli("verify", index=heads["open1"], check=False).returncode == 1
    assert run_cli("verify", "--staged", index=heads["open1"]).returncode == 0  # still publishable


def test_cleanup_refuses_a_bad_state_folder_and_deletes_nothing(s3_index, bucket, wheel, tmp_path):
    run_cli("add", str(wheel("abc1", "1.0")), index=s3_index.root)
    bad = tmp_path / "bad" / "projects"
    bad.mkdir(parents=True)
    (bad / "abc1.json").write_text('{"name": "abc1", "releases": {"1.0": {"files": [{"filename": "../x.whl"}]}}}')
    before = keys(bucket)
    for folder, message in ((bad.parent, "abc1.json"), (tmp_path / "absent", "not a folder of project records")):
        proc = run_cli("storage", "cleanup", "--older-than", "0", "--keep-state", str(folder), index=s3_index.root, check=False)
        assert proc.returncode == 1 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert keys(bucket) == before


class _PullsAPI:
    """The three GitHub REST endpoints that --keep-open-pull-requests reads, on 127.0.0.1: open
    pull requests (``pulls?state=open``), a pull request's changed files, and a file's content
    at a commit (``contents/PATH?ref=SHA``, base64). ``pulls`` maps a number to ``(head sha,
    {path: bytes or None for a removed file})``."""

    def __init__(self, pulls):
        import base64
        import http.server
        import threading
        from urllib.parse import parse_qs, urlsplit

        api = self
        self.pulls = pulls
        self.tokens = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                api.tokens.append(self.headers.get("Authorization"))
                path = parts.path.split("/")[4:]  # after /repos/lab/index
                body = None
                if not parts.path.startswith("/repos/lab/index/"):
                    pass
                elif path == ["pulls"] and query.get("state") == ["open"]:
                    body = [{"number": n, "head": {"sha": sha}} for n, (sha, _files) in sorted(api.pulls.items())]
                elif len(path) == 3 and path[0] == "pulls" and path[2] == "files":
                    _sha, files = api.pulls[int(path[1])]
                    body = [{"filename": p, "status": "removed" if d is None else "modified"} for p, d in files.items()]
                elif path[:1] == ["contents"]:
                    rel = "/".join(path[1:])
                    for sha, files in api.pulls.values():
                        if query.get("ref") == [sha] and files.get(rel) is not None:
                            body = {"encoding": "base64", "content": base64.b64encode(files[rel]).decode()}
                data = json.dumps(body).encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def test_cleanup_keeps_what_open_pull_requests_name_through_the_github_api(s3_index, bucket, wheel, tmp_path, monkeypatch):
    import shutil

    main = s3_index.root
    heads = {}
    for pr, version in (("open", "2.0"), ("closed", "3.0")):
        heads[pr] = tmp_path / pr
        shutil.copytree(main, heads[pr])
        run_cli("add", str(wheel("abc1", version)), index=heads[pr])
    record = (heads["open"] / "projects/abc1.json").read_bytes()
    api = _PullsAPI({7: ("a" * 40, {"projects/abc1.json": record, "README.md": b"x", "projects/gone.json": None})})
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/index")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_cleanuptoken")
    out = run_cli("storage", "cleanup", "--older-than", "0", "--keep-open-pull-requests", index=main).stdout
    assert "2 staged files deleted" in out and "abc1-3.0-py3-none-any.whl" in out and "abc1-2.0" not in out
    assert {k.rsplit("/", 1)[1] for k in keys(bucket)} == {"abc1-2.0-py3-none-any.whl", "abc1-2.0-py3-none-any.whl.metadata"}
    assert set(api.tokens) == {"Bearer ghs_cleanuptoken"} or set(api.tokens) == {"token ghs_cleanuptoken"}

    # GitHub refusing, or a record of an open pull request that is not one: nothing deleted.
    before = keys(bucket)
    api.pulls[7] = ("a" * 40, {"projects/abc1.json": b'{"name": "other"}'})
    proc = run_cli("storage", "cleanup", "--older-than", "0", "--keep-open-pull-requests", index=main, check=False)
    assert proc.returncode == 1 and "pull request #7: projects/abc1.json" in proc.stderr, proc.stderr
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/no-such-repository")
    proc = run_cli("storage", "cleanup", "--older-than", "0", "--keep-open-pull-requests", index=main, check=False)
    assert proc.returncode == 1 and "HTTP 404" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert keys(bucket) == before


# -- publish on a stale checkout ---------------------------------------------------------------------
def test_publish_on_a_stale_checkout_neither_unpublishes_nor_publishes_again(s3_index, bucket, wheel, tmp_path):
    """Two checkouts of one index: ``new`` adds abc1 2.0 and removes 1.0, and publishes; ``old``
    (still at the first commit) then runs publish, as a re-run of an old deploy would."""
    import shutil

    new = s3_index.root
    run_cli("add", str(wheel("abc1", "1.0")), index=new)
    commit(new, "add abc1 1.0")
    run_cli("publish", index=new)
    old = tmp_path / "old"
    shutil.copytree(new, old)
    run_cli("add", str(wheel("abc1", "2.0")), index=new)
    commit(new, "add abc1 2.0")
    run_cli("publish", index=new)
    mid = tmp_path / "mid"  # a checkout at 'add abc1 2.0'
    shutil.copytree(new, mid)

    # The old checkout never recorded 2.0: the store is newer than its state. Nothing happens.
    published = keys(bucket)
    proc = run_cli("publish", index=old, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "files/abc1/abc1-2.0-py3-none-any.whl" in proc.stderr and "older than what is published (update it: git pull)" in proc.stderr
    assert keys(bucket) == published

    # The newer state removes 1.0. A shallow checkout of it (one commit) cannot tell that its own
    # state removed 1.0: it says so, and removes nothing.
    run_cli("remove", "abc1", "1.0", index=new)
    commit(new, "remove abc1 1.0")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{new}", str(shallow))
    proc = run_cli("publish", index=shallow, check=False)
    assert proc.returncode == 1 and "fetch-depth: 0" in proc.stderr, proc.stderr
    assert keys(bucket) == published

    # The full checkout publishes the removal: the checkout at 'add abc1 2.0' still records 1.0,
    # but its staged copy is gone, so publishing that older state cannot bring 1.0 back.
    assert "2 removed from the store" in run_cli("publish", index=new).stdout
    published = keys(bucket)
    assert not any(k.startswith("files/abc1/abc1-1.0") for k in published)
    proc = run_cli("publish", index=mid, check=False)
    assert proc.returncode == 1 and "staged file missing" in proc.stderr and "abc1-1.0-py3-none-any.whl" in proc.stderr, proc.stderr
    assert keys(bucket) == published


# -- per-file limits where sources/ inspect files ----------------------------------------------------
def test_register_applies_the_store_limit_and_refuses_an_oversized_asset_before_downloading(index, s3_index, tmp_path):
    """GitHub's per-file limit lowered to 2000 bytes (PAGESINDEX_MAX_FILE_BYTES): a git-store index
    refuses a larger release asset from the size the API announces, before any download; an S3
    index takes it (the store's limit: 5 GiB)."""
    from factory import make_wheel
    from ghhelpers import TOKEN, gh_cli
    from github_server import FakeGitHub

    import os as _os

    big = make_wheel(tmp_path / "big", "lightcurvedb", "1.0.0", extra_files={"data.bin": _os.urandom(4000)})
    git_index = Index.init(tmp_path / "git-index")
    with FakeGitHub(token=TOKEN) as gh:
        gh.add_repo("kavli/lightcurvedb").add_release("v1.0.0", {big.name: big})
        args = ("register", "lightcurvedb", "v1.0.0", "--author", "A", "--summary", "S",
                "--homepage", f"{gh.web_url}/kavli/lightcurvedb")
        env = {"PAGESINDEX_MAX_FILE_BYTES": "2000"}
        before = state_snapshot(git_index.root)
        proc = gh_cli(gh, *args, index=git_index.root, env=env, check=False)
        assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert f"{big.name}: " in proc.stderr and "(release asset size) is over the per-file limit of 2000 bytes" in proc.stderr
        assert "GitHub refuses larger files); not downloaded" in proc.stderr
        assert not gh.storage_requests() and state_snapshot(git_index.root) == before
        gh_cli(gh, *args, index=s3_index.root, env=env)
        assert [f.filename for f in Index(s3_index.root).get_project("lightcurvedb").all_files()] == [big.name]
        assert len(gh.storage_requests()) == 1


def test_migrate_from_the_old_template_into_an_s3_index_is_refused(s3_index, seed_index):
    """Old file URLs survive only as the legacy set of a move (migrate into git, then storage migrate)."""
    before = state_snapshot(s3_index.root)
    proc = run_cli("migrate", str(seed_index), index=s3_index.root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "then run 'pagesindex storage migrate --to s3'" in proc.stderr
    assert state_snapshot(s3_index.root) == before


# -- storage migrate --to github-release (the GitHub stand-in, tests/github_server.py) ----------------
from test_store_github import gh, gh_env, repo  # noqa: E402,F401 (fixtures: the stand-in, its env, a fresh repository)


def drafts_of(repo):
    return [a for r in repo.releases if r.draft for a in r.assets]


def test_migrate_to_github_release_stages_keeps_old_urls_and_a_second_run_changes_nothing(git_index, repo, serve):
    from test_stores import commit

    root = git_index.root
    old = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "packages").rglob("*.*") if p.name != ".gitkeep"}
    out = run_cli("storage", "migrate", "--to", "github-release", "--repository", repo.full_name, index=root).stdout
    assert "3 files staged, 2 records changed, index.toml written" in out
    index = Index(root)
    assert index.config.storage.kind == "github-release" and index.config.storage.repository == repo.full_name
    assert f'repository = "{repo.full_name}"' in (root / "index.toml").read_text()
    assert index.get_project("abc1").extra["legacy-files"] == ["abc1-1.0-py3-none-any.whl", "abc1-1.0.tar.gz"]
    assert len(drafts_of(repo)) == 5 and all(r.draft for r in repo.releases)  # 3 files, 2 sidecars; nothing public
    before = state_snapshot(root)
    again = run_cli("storage", "migrate", "--to", "github-release", index=root).stdout  # settings from index.toml
    assert "nothing to change: the index already uses storage.kind 'github-release' (3 legacy files checked in the store)" in again
    assert state_snapshot(root) == before and len(drafts_of(repo)) == 5  # nothing uploaded again

    commit(root, "move the files to GitHub releases")
    assert "3 files published" in run_cli("publish", index=root).stdout
    run_cli("build", index=root)
    site = root / "_site"
    page = _old_urls_kept(site, old)
    base = index.config.storage.public_url
    assert {f["url"] for f in page["files"]} == {f"{base}files-abc1-1.0/abc1-1.0-py3-none-any.whl", f"{base}files-abc1-1.0/abc1-1.0.tar.gz"}
    assert run_cli("verify", index=root).stdout.startswith("ok: 2 projects verified")
    assert get(f"{serve(site)}packages/abc1/abc1-1.0.tar.gz") == old["packages/abc1/abc1-1.0.tar.gz"]


def test_migrate_to_github_release_refuses_a_name_github_renames_before_any_upload(index, wheel, repo):
    index.add_paths([wheel("abc1", "1.0"), wheel("abc1", "1.1+cu121")])
    before = state_snapshot(index.root)
    proc = run_cli("storage", "migrate", "--to", "github-release", "--repository", repo.full_name, index=index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "error: cannot store 'abc1-1.1+cu121-py3-none-any.whl' as a GitHub release asset: GitHub renames asset names "
        "with '+' (a local version), so the file would be served under another name; use storage.kind 's3' or 'git' for it"
    ]
    assert state_snapshot(index.root) == before and not repo.releases


def test_migrate_to_github_release_without_a_repository_outside_actions_is_one_line(git_index, gh_env, monkeypatch):
    before = state_snapshot(git_index.root)
    proc = run_cli("storage", "migrate", "--to", "github-release", index=git_index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "error: storage migrate --to github-release: pass --repository ORG/REPO (GITHUB_REPOSITORY, its default, "
        "is set in GitHub Actions only)"]
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/index; rm")
    proc = run_cli("storage", "migrate", "--to", "github-release", index=git_index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "error: storage migrate: GITHUB_REPOSITORY must be a GitHub repository 'ORG/REPO', not 'lab/index; rm'"]
    proc = run_cli("storage", "migrate", "--to", "github-release", "--repository", "lab/../x", index=git_index.root, check=False)
    assert proc.returncode == 1 and "storage.repository must be a GitHub repository 'ORG/REPO', not 'lab/../x'" in proc.stderr
    assert state_snapshot(git_index.root) == before


def test_a_move_to_github_release_killed_between_uploads_resumes(git_index, repo):
    root = git_index.root
    before = snapshot(root)
    args = ["storage", "migrate", "--to", "github-release", "--repository", repo.full_name]
    proc = subprocess.run([sys.executable, str(HERE / "stagehook.py"), "3", "--index", str(root), *args],
                          capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert snapshot(root) == before  # the state is written only after every file is in the store
    staged = {a.name for a in drafts_of(repo)}
    assert len([n for n in staged if not n.endswith(".metadata")]) == 2
    assert "3 files staged" in run_cli(*args, index=root).stdout
    assert staged < {a.name for a in drafts_of(repo)} and len(drafts_of(repo)) == 5  # the first two not sent again
    assert sum(1 for r in repo.owner.requests if r.server == "uploads") == 5


@pytest.mark.e2e
def test_the_migrated_seed_moved_to_github_release_installs_and_keeps_every_old_url(seed_index, index, repo, serve, clients, capsys,
                                                                                    tools, tmp_path, _no_real_pypi):
    """The institute's index: old template -> pagesindex -> GitHub release assets. Every old file
    URL (old-folder aliases included) serves the old bytes from a plain static server; pip and uv
    install through the API pages, whose links go through the stand-in's releases/download
    redirect to its storage host (which never sees the token)."""
    import time

    from test_stores import commit

    root = index.root
    run_cli("migrate", str(seed_index), index=root)
    started = time.perf_counter()
    out = run_cli("storage", "migrate", "--to", "github-release", "--repository", repo.full_name, index=root).stdout
    took = time.perf_counter() - started
    assert "26 files staged" in out
    commit(root, "migrated")
    url, old_paths = _publish_build_serve_and_check_old_urls(root, seed_index, serve)
    base = Index(root).config.storage.public_url
    page = json.loads((root / "_site/lightcurvedb/index.json").read_text())
    assert page["files"] and all(f["url"].startswith(base + "files-lightcurvedb-") for f in page["files"])
    repo.owner.requests.clear()
    for spec in ("configurables==1.0.0", "lightcurvedb==3.0.0b4", "pyticdb"):
        name, _, version = spec.partition("==")
        for install in (clients.pip, clients.uv_pip):
            got = clients.installed(install(url, "--no-deps", spec).venv)
            assert name in got and (not version or got[name] == version), (spec, got)
    downloads = [r for r in repo.owner.requests if r.server == "storage"]
    assert downloads and all(r.authorization is None for r in downloads)  # through the redirect, no token
    # An old file URL as a requirement file holds it (with its hash) still installs, from the site.
    old_url = url + "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl"
    sha = hashlib.sha256((seed_index / "packages/kavli-configurables/configurables-1.0.0-py2.py3-none-any.whl").read_bytes()).hexdigest()
    for install in (clients.pip, clients.uv_pip):
        got = clients.installed(install(url, "--no-deps", f"configurables @ {old_url}#sha256={sha}").venv)
        assert got.get("configurables") == "1.0.0", got
    _poetry_and_pdm_install_the_moved_seed(url, clients, tools, tmp_path, _no_real_pypi.url + "/simple/")
    with capsys.disabled():
        print(f"\nseed moved to github-release: 26 files staged in {took:.2f} s (wall, incl. process start); "
              f"{len(old_paths)} old URLs served")


def test_a_release_over_githubs_asset_limit_stops_the_move_before_any_upload(git_index, repo, monkeypatch):
    import pagesindex.stores.github_release as module

    monkeypatch.setattr(module, "MAX_ASSETS_PER_RELEASE", 2)  # abc1 1.0: a wheel, its sidecar and an sdist
    from pagesindex.stores import parse_storage

    store = module.GitHubReleaseStore(parse_storage({"kind": "github-release", "repository": repo.full_name}))
    before = snapshot(git_index.root)
    from pagesindex.storage_move import migrate_storage

    with pytest.raises(PagesIndexError) as exc:
        with git_index.lock():
            migrate_storage(git_index, {"kind": "github-release", "repository": repo.full_name}, store=store)
    assert str(exc.value) == ("release files-abc1-1.0 would hold 3 assets (files and their .metadata), over GitHub's 2 per "
                              "release; use storage.kind 's3' for this index")
    assert snapshot(git_index.root) == before and not repo.releases
