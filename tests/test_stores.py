"""Object stores (issue 15): ``[storage]`` settings, staging, ``publish``, verify, installs.

An S3-compatible server runs on 127.0.0.1 for these tests: moto's server mode
(``moto.server.ThreadedMotoServer``), used through boto3 exactly as a real bucket. Checked
behaviour of that server that the tests rely on: it enforces a bucket policy for anonymous GETs
(staged keys answer 403), and ``CopyObject`` with ``ChecksumAlgorithm=SHA256`` stores the SHA-256
checksum that ``HeadObject`` returns; it neither stores nor checks a ``ChecksumSHA256`` sent with
``PutObject``, so the store falls back to reading the bytes there (see stores/s3.py).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import run_cli

from pagesindex.errors import FileConflict, IndexStateError
from pagesindex.state import Index, IndexConfig
from pagesindex.stores import StorageConfig, file_url, parse_storage

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

_BUCKETS = itertools.count()


@pytest.fixture(scope="module")
def s3_url():
    """A moto S3 server on 127.0.0.1 (any free port); returns its endpoint URL."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Test credentials in the environment only (inherited by CLI subprocesses), no machine config."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture
def bucket(s3_url, aws_env):
    """A new bucket whose ``files/`` prefix anyone may read (as a CDN or public bucket would)."""
    name = f"lab-packages-{next(_BUCKETS)}"
    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/files/*"}],
    }
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    client.name = name
    client.public_url = f"{s3_url}/{name}/files/"
    return client


@pytest.fixture
def s3_index(index, bucket, s3_url):
    """The test index with ``[storage] kind = "s3"`` on the moto bucket."""
    config = index.root / "index.toml"
    config.write_text(
        config.read_text()
        + f'\n[storage]\nkind = "s3"\nbucket = "{bucket.name}"\nprefix = "files/"\n'
        f'endpoint-url = "{s3_url}"\npublic-url = "{bucket.public_url}"\n'
    )
    return Index(index.root)


def keys(client):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=client.name).get("Contents", []))


def get(url):
    with urllib.request.urlopen(url) as resp:
        return resp.read()


# -- settings -------------------------------------------------------------------------------
S3 = {"kind": "s3", "bucket": "lab-packages", "public-url": "https://cdn.example.org/files/"}


@pytest.mark.parametrize(
    "table, message",
    [
        ({"kind": "ftp"}, "storage.kind must be one of 'git', 'github-release', 's3', not 'ftp'"),
        ({"kind": "s3", "public-url": "https://cdn.example.org/"}, "storage.bucket is required with kind 's3'"),
        ({"kind": "s3", "bucket": "lab-packages"}, "storage.public-url is required with kind 's3'"),
        ({**S3, "aws-secret-access-key": "x"}, "storage.aws-secret-access-key: credentials are never read from index.toml"),
        ({**S3, "access-key-id": "x"}, "storage.access-key-id: credentials are never read from index.toml"),
        ({**S3, "token": "x"}, "storage.token: credentials are never read"),
        ({**S3, "buckets": "x"}, "storage.buckets is not a setting of kind 's3'"),
        ({"kind": "git", "bucket": "x"}, "storage.bucket is not a setting of kind 'git'"),
        ({"kind": "github-release", "repository": "lab"}, "storage.repository must be a GitHub repository 'ORG/REPO'"),
        ({**S3, "bucket": "Lab_Packages"}, "storage.bucket must be an S3 bucket name"),
        ({**S3, "prefix": "../up/"}, "storage.prefix must be folder names"),
        ({**S3, "prefix": ""}, "must be two separate, non-empty folders"),
        ({**S3, "prefix": "staging/files/"}, "must be two separate, non-empty folders"),
        ({**S3, "public-url": "ftp://cdn.example.org/"}, "storage.public-url must be an http:// or https:// URL"),
        ({**S3, "public-url": "https://user:pw@cdn.example.org/"}, "storage.public-url must be an http:// or https:// URL"),
        ({**S3, "endpoint-url": "https://s3.example.org/?x=1"}, "storage.endpoint-url must be an http:// or https:// URL"),
        ({**S3, "region": "us east"}, "storage.region must be a region name"),
        ("s3", "[storage] must be a table"),
    ],
)
def test_bad_storage_settings_are_one_line_errors_naming_the_key(table, message):
    with pytest.raises(IndexStateError) as exc:
        parse_storage(table, "index.toml")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value) and str(exc.value).startswith("index.toml: ")


def test_storage_defaults_and_public_urls():
    assert IndexConfig.from_toml("").storage == StorageConfig()
    s3 = parse_storage(S3)
    assert (s3.prefix, s3.staging_prefix, s3.public_url) == ("files/", "staging/", "https://cdn.example.org/files/")
    assert parse_storage({**S3, "public-url": "https://cdn.example.org/x"}).public_url == "https://cdn.example.org/x/"
    assert s3.public_key("Foo.Bar", "foo_bar-1.0-py3-none-any.whl") == "files/foo-bar/foo_bar-1.0-py3-none-any.whl"
    assert file_url(s3, "Foo.Bar", "foo_bar-1.0+cu12-py3-none-any.whl") == (
        "https://cdn.example.org/files/foo-bar/foo_bar-1.0%2Bcu12-py3-none-any.whl"
    )
    assert file_url(StorageConfig(), "Foo.Bar", "foo_bar-1.0.tar.gz") == "../packages/foo-bar/foo_bar-1.0.tar.gz"


def test_cli_refuses_credentials_in_index_toml_with_one_line(index, wheel):
    config = index.root / "index.toml"
    config.write_text(config.read_text() + '\n[storage]\nkind = "s3"\nbucket = "lab-packages"\nsecret-access-key = "abc"\n')
    before = sorted(p.name for p in index.root.rglob("*"))
    proc = run_cli("add", str(wheel("abc1", "1.0")), index=index.root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: {config}: storage.secret-access-key: credentials are never read from index.toml "
        "(set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment)"
    ]
    assert sorted(p.name for p in index.root.rglob("*")) == before


# -- staging, publish, build, verify --------------------------------------------------------------
def test_add_stages_publish_copies_build_links_the_store(s3_index, bucket, wheel, sdist):
    whl = wheel("abc1", "1.0+cu12", requires_dist=["numpy"])
    tar = sdist("abc1", "1.0+cu12")
    run_cli("add", str(whl), str(tar), index=s3_index.root)
    record = json.loads((s3_index.root / "projects/abc1.json").read_text())
    files = {f["filename"]: f for f in record["releases"]["1.0+cu12"]["files"]}
    wf = files[whl.name]
    # Staged only: nothing public, nothing in git's packages/; the core metadata is committed.
    assert keys(bucket) == sorted(
        [f"staging/{wf['sha256']}/{whl.name}", f"staging/{files[tar.name]['sha256']}/{tar.name}",
         f"staging/{wf['core-metadata-sha256']}/{whl.name}.metadata"]
    )
    assert not any(p.is_file() and p.name != ".gitkeep" for p in (s3_index.root / "packages").rglob("*"))
    assert hashlib.sha256((s3_index.root / "metadata" / wf["core-metadata-sha256"]).read_bytes()).hexdigest() == wf["core-metadata-sha256"]
    with pytest.raises(urllib.error.HTTPError) as exc:  # staged files are not public
        get(f"{bucket.meta.endpoint_url}/{bucket.name}/staging/{wf['sha256']}/{whl.name}")
    assert exc.value.code == 403

    out = run_cli("publish", index=s3_index.root).stdout
    assert "2 files published, 0 already public, 0 removed from the store" in out
    assert f"files/abc1/{whl.name}" in keys(bucket) and f"files/abc1/{whl.name}.metadata" in keys(bucket)
    assert "0 files published, 2 already public" in run_cli("publish", index=s3_index.root).stdout  # idempotent

    run_cli("build", index=s3_index.root)
    site = s3_index.root / "_site"
    assert not (site / "packages").exists()
    data = json.loads((site / "abc1/index.json").read_text())
    url = f"{bucket.public_url}abc1/abc1-1.0%2Bcu12-py3-none-any.whl"
    entry = next(f for f in data["files"] if f["filename"] == whl.name)
    assert entry["url"] == url and entry["hashes"]["sha256"] == wf["sha256"]
    assert f'href="{url}#sha256={wf["sha256"]}"' in (site / "abc1/index.html").read_text()
    assert hashlib.sha256(get(url)).hexdigest() == wf["sha256"]  # '+' as %2B reaches the key with '+'
    assert get(url + ".metadata") == (s3_index.root / "metadata" / wf["core-metadata-sha256"]).read_bytes()
    page = (site / "_pages/abc1/1.0+cu12.html").read_text()  # the release page for people
    assert f"abc1 @ {url}#sha256={wf['sha256']}" in page.replace("&#34;", '"')  # the pip snippet too
    proc = run_cli("verify", index=s3_index.root)
    assert proc.stdout.startswith("ok: 1 project verified")


def test_a_release_of_only_an_sdist_builds_from_its_committed_pkg_info(s3_index, bucket, sdist):
    """With an object store the build cannot open an sdist (only the store has it): ``add`` keeps
    its PKG-INFO in metadata/ (``pkg-info-sha256`` in the record, no sidecar), and the release
    page shows its README and requirements from there. It failed with "not a valid or complete
    tar.gz archive" before."""
    tar = sdist("srconly", "2.0", description="# Source only\n\nBuilt from **source**.", requires_dist=["numpy>=1.20"])
    run_cli("add", str(tar), index=s3_index.root)
    record = json.loads((s3_index.root / "projects/srconly.json").read_text())
    entry = record["releases"]["2.0"]["files"][0]
    assert "core-metadata-sha256" not in entry  # never a PEP 658 sidecar for an sdist
    kept = (s3_index.root / "metadata" / entry["pkg-info-sha256"]).read_bytes()
    assert hashlib.sha256(kept).hexdigest() == entry["pkg-info-sha256"] and b"Source only" in kept
    assert keys(bucket) == [f"staging/{entry['sha256']}/{tar.name}"]
    run_cli("publish", index=s3_index.root)
    run_cli("build", index=s3_index.root)
    page = (s3_index.root / "_site/_pages/srconly/2.0.html").read_text()
    assert ">Source only<a href=" in page and "<strong>source</strong>" in page and "numpy" in page
    assert "data-core-metadata" not in (s3_index.root / "_site/srconly/index.html").read_text()
    assert run_cli("verify", index=s3_index.root).stdout.startswith("ok: 1 project verified")
    # metadata/ lost: the build says which file and what to do, in one line
    (s3_index.root / "metadata" / entry["pkg-info-sha256"]).unlink()
    proc = run_cli("build", "--full", index=s3_index.root, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"error: {tar.name}: its PKG-INFO metadata/")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_publish_with_the_git_store_does_nothing(index, wheel):
    index.add_paths([wheel("abc1", "1.0")])
    proc = run_cli("publish", index=index.root)
    assert "nothing to publish: storage.kind is 'git'" in proc.stdout


def test_verify_names_files_missing_from_the_store(s3_index, bucket, wheel):
    run_cli("add", str(wheel("abc1", "1.0")), index=s3_index.root)
    proc = run_cli("verify", index=s3_index.root, check=False)  # staged, not published yet
    assert proc.returncode == 1
    assert f"problem: s3://{bucket.name}/files/abc1/abc1-1.0-py3-none-any.whl: missing from the store (run 'pagesindex publish')" in proc.stderr


def test_publish_refuses_to_change_a_published_file(s3_index, bucket, wheel):
    whl = wheel("abc1", "1.0")
    run_cli("add", str(whl), index=s3_index.root)
    bucket.put_object(Bucket=bucket.name, Key=f"files/abc1/{whl.name}", Body=b"other bytes")
    proc = run_cli("publish", index=s3_index.root, check=False)
    assert proc.returncode == 1
    assert f"already holds other bytes" in proc.stderr and "a published file is never changed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert bucket.get_object(Bucket=bucket.name, Key=f"files/abc1/{whl.name}")["Body"].read() == b"other bytes"


def test_publish_refuses_staged_bytes_that_differ_from_the_record(s3_index, bucket, wheel):
    whl = wheel("abc1", "1.0")
    run_cli("add", str(whl), index=s3_index.root)
    sha = json.loads((s3_index.root / "projects/abc1.json").read_text())["releases"]["1.0"]["files"][0]["sha256"]
    bucket.put_object(Bucket=bucket.name, Key=f"staging/{sha}/{whl.name}", Body=b"swapped while staged")
    with pytest.raises(FileConflict, match="staged bytes differ from the record"):
        Index(s3_index.root).publish()
    assert f"files/abc1/{whl.name}" not in keys(bucket)  # the bad copy is taken back


def test_add_with_an_unreachable_bucket_leaves_the_state_as_it_was(index, aws_env, s3_url, wheel):
    config = index.root / "index.toml"
    config.write_text(
        config.read_text() + f'\n[storage]\nkind = "s3"\nbucket = "no-such-bucket"\nendpoint-url = "{s3_url}"\n'
        'public-url = "https://cdn.example.org/files/"\n'
    )
    from conftest import state_snapshot

    before = state_snapshot(index.root)
    proc = run_cli("add", str(wheel("abc1", "1.0")), index=index.root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: s3://no-such-bucket/staging/") and "NoSuchBucket" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert state_snapshot(index.root) == before


def git(root, *args):
    """git in ``root`` with a fixed identity (the index is a git checkout, as in the workflows)."""
    import subprocess

    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout


def commit(root, message):
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def test_remove_changes_the_record_and_publish_deletes_the_files_from_the_store(s3_index, bucket, wheel):
    run_cli("add", str(wheel("abc1", "1.0")), str(wheel("abc1", "2.0")), index=s3_index.root)
    commit(s3_index.root, "add abc1 1.0 and 2.0")
    run_cli("publish", index=s3_index.root)
    before = keys(bucket)
    run_cli("remove", "abc1", "1.0", index=s3_index.root)
    assert keys(bucket) == before  # a removal under review deletes nothing yet
    commit(s3_index.root, "remove abc1 1.0")
    out = run_cli("publish", index=s3_index.root).stdout
    assert "0 files published, 1 already public, 2 removed from the store" in out
    public = [k for k in keys(bucket) if k.startswith("files/")]
    assert public == ["files/abc1/abc1-2.0-py3-none-any.whl", "files/abc1/abc1-2.0-py3-none-any.whl.metadata"]
    # ... and their staged copies, so that no older checkout can publish them again
    assert not any(k.endswith("abc1-1.0-py3-none-any.whl") or k.endswith("abc1-1.0-py3-none-any.whl.metadata") for k in keys(bucket))


# -- a one-release change costs the same however many files are published -------------------------
def s3_calls(index):
    """An in-process index whose store client counts its S3 calls by operation name
    (botocore's ``before-call`` event), as ``{"HeadObject": n, ...}``."""
    from collections import Counter

    calls = Counter()
    index.store.client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.update([model.name])
    )
    return calls


def published(s3_index, wheel, *versions):
    run_cli("add", *(str(wheel("abc1", v)) for v in versions), index=s3_index.root)
    run_cli("publish", index=s3_index.root)
    return {f.filename: f for f in Index(s3_index.root).get_project("abc1").all_files()}


def test_verify_heads_only_objects_it_has_not_checked_and_a_damaged_record_means_a_full_check(s3_index, bucket, wheel):
    from pagesindex.checks.verify import verify
    from pagesindex.state import CACHE_DIR

    published(s3_index, wheel, "1.0", "2.0")
    index = Index(s3_index.root)
    calls = s3_calls(index)
    assert verify(index) == []
    assert calls["HeadObject"] == 4 and calls["ListObjectsV2"] == 1  # 2 wheels and their sidecars, one listing
    calls.clear()
    assert verify(index) == [] and calls["HeadObject"] == 0  # all of them checked before
    assert verify(index, full_store=True) == [] and calls["HeadObject"] == 4  # --full-store: all again

    record = next((s3_index.root / CACHE_DIR / "store-checked").glob("s3-*.txt"))
    for damage in ("not a record", record.read_text() + "zz\n", record.read_text().replace("store-checked 1", "store-checked 9")):
        record.write_text(damage)
        calls.clear()
        assert verify(index) == [] and calls["HeadObject"] == 4, damage[:40]
    record.unlink()
    calls.clear()
    assert verify(index) == [] and calls["HeadObject"] == 4

    published(s3_index, wheel, "3.0")  # one release more: only its file and sidecar are asked about
    calls.clear()
    assert verify(index) == [] and calls["HeadObject"] == 2 and calls["ListObjectsV2"] == 1
    assert run_cli("verify", "--full-store", index=s3_index.root).stdout.startswith("ok: 1 project verified")


def test_verify_with_a_record_still_finds_an_overwritten_object_of_the_same_size_and_a_deleted_one(s3_index, bucket, wheel):
    from pagesindex.checks.verify import verify

    files = published(s3_index, wheel, "1.0", "2.0")
    index = Index(s3_index.root)
    calls = s3_calls(index)
    assert verify(index) == []
    calls.clear()
    assert verify(index) == [] and calls["HeadObject"] == 0  # the record covers every object
    one, two = sorted(files)
    body = bucket.get_object(Bucket=bucket.name, Key=f"files/abc1/{one}")["Body"].read()
    other = bytes(reversed(body))  # other bytes, same size
    bucket.put_object(Bucket=bucket.name, Key=f"files/abc1/{one}", Body=other)
    bucket.delete_object(Bucket=bucket.name, Key=f"files/abc1/{two}.metadata")
    calls.clear()
    problems = verify(index)
    assert calls["HeadObject"] == 1  # the overwritten object only; the deleted one is not listed
    assert problems == [
        f"s3://{bucket.name}/files/abc1/{one}: size {len(other)} / sha256 {hashlib.sha256(other).hexdigest()[:12]}… differ from "
        f"the record ({files[one].size} / {files[one].sha256[:12]}…); installs of it fail: upload the recorded file again to "
        "that key (a copy of the staged object), or remove that release",
        f"s3://{bucket.name}/files/abc1/{two}.metadata: missing from the store (run 'pagesindex publish')",
    ]
    assert verify(index) == problems  # a bad object is never recorded as checked


def test_publish_again_asks_nothing_about_files_listed_with_their_size(s3_index, bucket, wheel):
    files = published(s3_index, wheel, "1.0", "2.0")
    index = Index(s3_index.root)
    calls = s3_calls(index)
    assert index.publish() == {"published": 0, "unchanged": 2, "removed": 0}
    assert calls == {"ListObjectsV2": 1}
    # A public file of another size (or without its sidecar) goes through the checked path.
    one = sorted(files)[0]
    bucket.put_object(Bucket=bucket.name, Key=f"files/abc1/{one}", Body=b"other bytes")
    calls.clear()
    with pytest.raises(FileConflict, match="already holds other bytes"):
        Index(s3_index.root).publish()
    bucket.delete_object(Bucket=bucket.name, Key=f"files/abc1/{one}")
    assert index.publish() == {"published": 1, "unchanged": 1, "removed": 0}


# -- installs -------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_pip_and_uv_install_from_the_site_with_files_in_the_store_and_fail_on_a_changed_file(
    s3_index, bucket, wheel, serve, clients
):
    whl = wheel("abc1", "1.0+cu12")
    run_cli("add", str(whl), index=s3_index.root)
    run_cli("publish", index=s3_index.root)
    run_cli("build", index=s3_index.root)
    url = serve(s3_index.root / "_site")
    assert clients.installed(clients.pip(url, "abc1").venv)["abc1"] == "1.0+cu12"
    assert clients.installed(clients.uv_pip(url, "abc1").venv)["abc1"] == "1.0+cu12"

    # Someone with write access changes the published file: installs fail, verify says so.
    bucket.put_object(Bucket=bucket.name, Key=f"files/abc1/{whl.name}", Body=whl.read_bytes() + b"\0")
    proc = clients.pip(url, "abc1", check=False)
    assert proc.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in proc.stderr
    proc = clients.uv_pip(url, "abc1", "--no-cache", check=False)  # uv would reuse its cached wheel
    assert proc.returncode != 0 and "hash" in proc.stderr.lower(), proc.stderr
    proc = run_cli("verify", index=s3_index.root, check=False)
    assert proc.returncode == 1
    assert f"problem: s3://{bucket.name}/files/abc1/{whl.name}: size" in proc.stderr and "differ from the record" in proc.stderr


def test_index_publish_with_git_is_an_error_and_s3_without_boto3_names_the_extra(index, monkeypatch):
    from pagesindex.errors import PagesIndexError
    from pagesindex.stores.s3 import S3Store

    with pytest.raises(PagesIndexError, match="nothing to publish: storage.kind is 'git'"):
        index.publish()
    monkeypatch.setitem(__import__("sys").modules, "boto3", None)
    # The hint names boto3 itself, never 'pagesindex[s3]', a bare name that PyPI could answer.
    with pytest.raises(PagesIndexError, match=r"needs boto3 \(pagesindex's s3 extra\): pip install 'boto3>=1\.34'$"):
        S3Store(parse_storage(S3))


def test_the_github_file_limit_does_not_apply_to_an_object_store(s3_index, index_factory_env, wheel, tmp_path):
    big = wheel("abc1", "1.0", extra_files={"data.bin": os.urandom(4000)})
    git_index = Index.init(tmp_path / "git-index")
    proc = run_cli("add", str(big), index=git_index.root, check=False)
    assert proc.returncode == 1 and "is over the per-file limit of 2000 bytes" in proc.stderr and "GitHub refuses" in proc.stderr
    run_cli("add", str(big), index=s3_index.root)
    assert "abc1" in Index(s3_index.root).project_names()


@pytest.fixture
def index_factory_env(monkeypatch):
    """GitHub's per-file limit lowered to 2000 bytes (PAGESINDEX_MAX_FILE_BYTES), for subprocesses too."""
    monkeypatch.setenv("PAGESINDEX_MAX_FILE_BYTES", "2000")
