"""Provenance (PEP 740, issue 16): real Sigstore-signed files from ../shared/attestations verify
offline; a foreign signer, a changed byte and another filename are refused at ``add`` and at
registration with one line and nothing written; the site serves ``<file>.provenance``; ``verify``
reports a planted bad provenance; clients read and check it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import SHARED, run_cli, state_snapshot

from pagesindex import attestations
from pagesindex.attestations import ProvenanceError, Publisher

ATT = SHARED / "attestations"
PA = "pypi_attestations-0.0.19.tar.gz"  # GitHub trailofbits/pypi-attestations, release.yml
PAM = "pypi_attestation_models-0.0.4a2.tar.gz"  # raw Sigstore bundle, trailofbits/pypi-attestation-models
GL = "gitlab_oidc_project-0.0.3.tar.gz"  # GitLab facutuesca/gitlab-oidc-project
PA_REPO = "github:trailofbits/pypi-attestations"

pytestmark = pytest.mark.skipif(not (ATT / PA).is_file(), reason="../shared/attestations is absent")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def docs(filename: str, *suffixes: str):
    return [(filename + s, (ATT / (filename + s)).read_bytes()) for s in suffixes]


@pytest.fixture
def dists(tmp_path: Path) -> Path:
    """A copy of the shared files (never written to ../shared)."""
    folder = tmp_path / "att"
    shutil.copytree(ATT, folder)
    for p in folder.iterdir():
        p.chmod(0o644)
    (folder / "README.md").unlink()
    return folder


# -- the library layer: every form verifies offline ------------------------------------------

@pytest.mark.parametrize("filename, suffix, publisher, predicate", [
    (PA, ".publish.attestation", PA_REPO + ":release.yml", "https://docs.pypi.org/attestations/publish/v1"),
    (PA, ".slsa.attestation", PA_REPO, "https://slsa.dev/provenance/v1"),
    (PA, ".provenance", PA_REPO, "https://docs.pypi.org/attestations/publish/v1"),
    (PAM, ".sigstore", "github:trailofbits/pypi-attestation-models:release.yml", "https://docs.pypi.org/attestations/publish/v1"),
    (GL, ".publish.attestation", "gitlab:facutuesca/gitlab-oidc-project:.gitlab-ci.yml", "https://docs.pypi.org/attestations/publish/v1"),
])
def test_shared_attestations_verify_offline(filename, suffix, publisher, predicate):
    result = attestations.verify_file(filename, sha(ATT / filename), docs(filename, suffix), Publisher.parse(publisher))
    by = result.built_by
    assert by.identity.startswith(publisher.split(":")[0] + ":" + publisher.split(":")[1])
    assert predicate in by.predicate_types
    assert len(by.commit) == 40 and by.run.startswith(by.repository_url + "/")
    assert by.workflow in ("release.yml", ".gitlab-ci.yml")
    # The provenance object served is PEP 740's shape and verifies again.
    obj = json.loads(result.data)
    assert obj["version"] == 1 and obj["attestation_bundles"][0]["publisher"]["repository"] == by.repository
    again = attestations.check_provenance(result.data, filename, sha(ATT / filename), Publisher.parse(publisher))
    assert again.identity == by.identity


def test_all_three_forms_of_one_file_make_one_bundle():
    result = attestations.verify_file(PA, sha(ATT / PA), docs(PA, ".publish.attestation", ".slsa.attestation", ".provenance"),
                                      Publisher.parse(PA_REPO))
    obj = json.loads(result.data)
    assert len(obj["attestation_bundles"]) == 1
    # .provenance holds the same publish attestation as .publish.attestation: counted once.
    assert len(obj["attestation_bundles"][0]["attestations"]) == 2
    assert set(result.built_by.predicate_types) == {"https://docs.pypi.org/attestations/publish/v1", "https://slsa.dev/provenance/v1"}


@pytest.mark.parametrize("case", ["other-repository", "other-workflow", "other-forge", "changed-byte", "other-filename"])
def test_refusals_name_file_expected_and_found(case):
    filename, digest, publisher = PA, sha(ATT / PA), PA_REPO
    if case == "other-repository":
        publisher = "github:trailofbits/pypi-attestation-models"
    elif case == "other-workflow":
        publisher = PA_REPO + ":ci.yml"
    elif case == "other-forge":
        publisher = "gitlab:trailofbits/pypi-attestations"
    elif case == "changed-byte":
        data = bytearray((ATT / PA).read_bytes())
        data[100] ^= 1
        digest = hashlib.sha256(bytes(data)).hexdigest()
    else:
        filename = "pypi_attestations-0.0.20.tar.gz"
    with pytest.raises(ProvenanceError) as exc:
        attestations.verify_file(filename, digest, docs(PA, ".publish.attestation"), Publisher.parse(publisher))
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{filename}: provenance refused")
    assert f"expected publisher {publisher}," in message
    assert "found github:trailofbits/pypi-attestations:release.yml" in message


@pytest.mark.parametrize("text", ["", "github:", "github:a", "svn:a/b", "github:a/b:../x.yml", "github:a/b:x/y.yml",
                                  "github:a/b:c:d", "github:a\n/b", "gitlab:a", "github:-a/b"])
def test_bad_publisher_is_refused(text):
    with pytest.raises(ProvenanceError, match="invalid publisher"):
        Publisher.parse(text)


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"version": 1}', b'{"envelope": 3}',
                                  b'{"mediaType": "x"}', b'{"attestation_bundles": "x"}', b"{" * 2_000_000])
def test_hostile_attestation_documents_are_one_line_errors(data):
    with pytest.raises(ProvenanceError) as exc:
        attestations.load_attestations(data, "evil.attestation")
    assert str(exc.value).startswith("evil.attestation: ") and "\n" not in str(exc.value)


# -- add ----------------------------------------------------------------------------------

def test_add_with_sidecars_records_and_keeps_provenance(index, dists):
    out = run_cli("add", str(dists / PA), "--publisher", PA_REPO, index=index.root)
    assert "built by trailofbits/pypi-attestations" in out.stdout
    rec = json.loads((index.root / "projects" / "pypi-attestations.json").read_text())
    f = rec["releases"]["0.0.19"]["files"][0]
    assert f["provenance"]["repository"] == "trailofbits/pypi-attestations"
    assert f["provenance"]["workflow"] == "release.yml"
    kept = index.root / "provenance" / "pypi-attestations" / (PA + ".provenance")
    assert f["provenance"]["sha256"] == sha(kept)
    assert rec["extra"]["provenance"]["publisher"] == PA_REPO
    attestations.check_provenance(kept.read_bytes(), PA, sha(dists / PA), Publisher.parse(PA_REPO))


def test_add_with_attestation_option_assigns_by_subject(index, tmp_path, dists):
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(dists / GL, lone / GL)
    run_cli("add", str(lone / GL), "--attestation", str(dists / (GL + ".publish.attestation")),
            "--publisher", "gitlab:facutuesca/gitlab-oidc-project", index=index.root)
    rec = json.loads((index.root / "projects" / "gitlab-oidc-project.json").read_text())
    assert rec["releases"]["0.0.3"]["files"][0]["provenance"]["kind"] == "gitlab"


@pytest.mark.parametrize("case", ["foreign", "changed-byte", "renamed", "no-publisher", "not-among-files", "required"])
def test_add_refusals_write_nothing(index, tmp_path, dists, case):
    before = state_snapshot(index.root)
    args = ["add", str(dists / PA), "--publisher", PA_REPO]
    expected = "provenance refused"
    if case == "foreign":
        args[-1] = "github:lab/tool"
    elif case == "changed-byte":
        # A sdist still readable but one byte different: flip a byte in the gzip header's mtime.
        data = bytearray((dists / PA).read_bytes())
        data[5] ^= 1
        (dists / PA).write_bytes(bytes(data))
    elif case == "renamed":
        # Another spelling of the same filename: pypi-attestations compares parsed names, the
        # index compares the signed subject with the filename exactly.
        other = "Pypi_Attestations-0.0.19.tar.gz"
        (dists / PA).rename(dists / other)
        (dists / (PA + ".publish.attestation")).rename(dists / (other + ".publish.attestation"))
        args[1] = str(dists / other)
        expected = f"{other}: provenance refused"
    elif case == "no-publisher":
        args = ["add", str(dists / PA)]
        expected = "expects no publisher"
    elif case == "not-among-files":
        args = ["add", str(dists / PA), "--attestation", str(dists / (GL + ".publish.attestation")), "--publisher", PA_REPO]
        expected = "not among the files given"
    else:
        plain = tmp_path / "plain"
        plain.mkdir()
        shutil.copy(dists / GL, plain / GL)
        args = ["add", str(plain / GL), "--require-provenance", "--publisher", "gitlab:facutuesca/gitlab-oidc-project"]
        expected = "provenance is required, expected publisher gitlab:facutuesca/gitlab-oidc-project, found no attestation"
    out = run_cli(*args, index=index.root, check=False)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], out.stderr
    assert state_snapshot(index.root) == before


def test_index_setting_requires_provenance(index, tmp_path, dists):
    config = index.root / "index.toml"
    config.write_text(config.read_text() + "\n[policy]\nrequire-provenance = true\n" if "[policy]" not in config.read_text()
                      else config.read_text().replace("[policy]", "[policy]\nrequire-provenance = true"))
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(dists / GL, plain / GL)
    out = run_cli("add", str(plain / GL), index=index.root, check=False)
    assert out.returncode == 1 and "provenance is required" in out.stderr
    run_cli("add", str(dists / PA), "--publisher", PA_REPO, index=index.root)


# -- the site and verify ------------------------------------------------------------------

@pytest.fixture(scope="module")
def _attested_template(tmp_path_factory):
    """Made once per module (each CLI run costs seconds on a shared machine), copied per test."""
    from pagesindex.state import Index

    tmp = tmp_path_factory.mktemp("attested")
    index = Index.init(tmp / "index", title="Test index", url="https://example.org/index/")
    run_cli("add", str(ATT / PA), "--publisher", PA_REPO, index=index.root)
    plain = tmp / "plain"
    plain.mkdir()
    shutil.copy(ATT / GL, plain / GL)
    run_cli("add", str(plain / GL), index=index.root)
    run_cli("build", index=index.root)
    return index.root


@pytest.fixture
def attested_index(_attested_template, tmp_path):
    """An index with the GitHub-attested sdist (provenance) and the GitLab one added without, built."""
    from pagesindex.state import Index

    root = tmp_path / "index"
    shutil.copytree(_attested_template, root)
    return Index(root)


def test_site_serves_provenance_beside_the_file(attested_index):
    site = attested_index.root / "_site"
    served = site / "packages" / "pypi-attestations" / (PA + ".provenance")
    kept = attested_index.root / "provenance" / "pypi-attestations" / (PA + ".provenance")
    assert served.read_bytes() == kept.read_bytes()
    data = json.loads((site / "pypi-attestations" / "index.json").read_text())
    absolute = f"https://example.org/index/packages/pypi-attestations/{PA}.provenance"  # PEP 740: fully qualified
    assert data["files"][0]["provenance"] == absolute
    other = json.loads((site / "gitlab-oidc-project" / "index.json").read_text())
    assert other["files"][0]["provenance"] is None
    page = (site / "pypi-attestations" / "index.html").read_text()
    assert f'data-provenance="{absolute}"' in page
    assert "data-provenance" not in (site / "gitlab-oidc-project" / "index.html").read_text()
    people = (site / "_pages" / "pypi-attestations" / "index.html").read_text()  # pages for people
    assert "Every file of 0.0.19 has verified provenance (built by github:trailofbits/pypi-attestations:release.yml)" in people
    assert "No file of 0.0.3 has provenance" in (site / "_pages" / "gitlab-oidc-project" / "index.html").read_text()


def test_the_api_links_provenance_only_by_a_fully_qualified_url(attested_index):
    from pagesindex.model import Project
    from pagesindex.render import provenance_url

    project = attested_index.get_project("pypi-attestations")
    f = project.all_files()[0]
    assert provenance_url(project, f) is None  # PEP 740: a fully qualified URL, or none
    assert provenance_url(project, f, "https://lab.example/pkgs") == f"https://lab.example/pkgs/packages/pypi-attestations/{PA}.provenance"
    assert provenance_url(Project(name="x"), attested_index.get_project("gitlab-oidc-project").all_files()[0]) is None


def test_release_page_shows_who_built_each_file(attested_index):
    site = attested_index.root / "_site"
    page = (site / "_pages" / "pypi-attestations" / "0.0.19.html").read_text()
    commit = "08802efe1f8e5fec4ad842d6b8ce97656092ee72"
    assert 'Built by <a href="https://github.com/trailofbits/pypi-attestations">trailofbits/pypi-attestations</a>' in page
    assert f'href="https://github.com/trailofbits/pypi-attestations/blob/{commit}/.github/workflows/release.yml">release.yml</a>' in page
    assert f'href="https://github.com/trailofbits/pypi-attestations/commit/{commit}"' in page
    assert 'href="https://github.com/trailofbits/pypi-attestations/actions/runs/12169989787/attempts/1">run</a>' in page
    plain = (site / "_pages" / "gitlab-oidc-project" / "0.0.3.html").read_text()
    assert "no provenance" in plain and "Built by" not in plain


def test_verify_is_clean_then_reports_planted_provenance(attested_index, dists):
    assert run_cli("verify", index=attested_index.root).returncode == 0
    kept = attested_index.root / "provenance" / "pypi-attestations" / (PA + ".provenance")
    good = kept.read_bytes()
    # 1. a valid provenance object, but of another file (signed for other bytes and name)
    foreign = attestations.verify_file(PAM, sha(dists / PAM), docs(PAM, ".sigstore"),
                                       Publisher.parse("github:trailofbits/pypi-attestation-models")).data
    kept.write_bytes(foreign)
    out = run_cli("verify", index=attested_index.root, check=False)
    assert out.returncode == 1
    assert f"provenance/pypi-attestations/{PA}.provenance: {PA}: provenance refused" in out.stdout + out.stderr
    assert "expected publisher github:trailofbits/pypi-attestations" in out.stdout + out.stderr
    kept.write_bytes(good)
    # 2. the served copy replaced in the site
    served = attested_index.root / "_site" / "packages" / "pypi-attestations" / (PA + ".provenance")
    served.write_bytes(foreign)
    out = run_cli("verify", index=attested_index.root, check=False)
    assert out.returncode == 1 and f"packages/pypi-attestations/{PA}.provenance (site)" in out.stdout + out.stderr
    served.write_bytes(good)
    # 3. provenance planted for a file recorded without any
    planted = attested_index.root / "_site" / "packages" / "gitlab-oidc-project" / (GL + ".provenance")
    planted.write_bytes(good)
    out = run_cli("verify", index=attested_index.root, check=False)
    assert out.returncode == 1 and "served provenance of a file recorded without any" in out.stdout + out.stderr
    planted.unlink()
    # 4. the record changed to expect another publisher: the kept provenance no longer matches it
    rec_path = attested_index.root / "projects" / "pypi-attestations.json"
    rec = json.loads(rec_path.read_text())
    rec["extra"]["provenance"]["publisher"] = "github:lab/tool"
    rec_path.write_text(json.dumps(rec))
    out = run_cli("verify", index=attested_index.root, check=False)
    assert out.returncode == 1 and "expected publisher github:lab/tool, found github:trailofbits/pypi-attestations:release.yml" in out.stdout + out.stderr


# -- registration through the GitHub stand-in -----------------------------------------------

@pytest.fixture
def gh():
    from ghhelpers import TOKEN
    from github_server import FakeGitHub

    with FakeGitHub(token=TOKEN) as fake:
        yield fake


def sigstore_bundle(filename: str, suffix: str) -> bytes:
    """A PEP 740 attestation as the Sigstore bundle GitHub's attestations API answers."""
    from pypi_attestations import Attestation

    return Attestation.model_validate_json((ATT / (filename + suffix)).read_bytes()).to_bundle().to_json().encode()


def gh_register(gh, index, full_name, name, tag, *extra, check=True):
    from ghhelpers import gh_cli

    return gh_cli(gh, "register", name, tag, "--author", "Lab", "--summary", "Signed", "--homepage",
                  f"{gh.web_url}/{full_name}", *extra, index=index.root, check=check)


def assert_refused(proc, *needles):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_register_publishes_provenance_from_assets_and_the_attestations_api(gh, index, dists):
    repo = gh.add_repo("trailofbits/pypi-attestations")
    repo.add_release("v0.0.19", {PA: dists / PA, PA + ".publish.attestation": dists / (PA + ".publish.attestation")})
    repo.add_attestation(sha(dists / PA), sigstore_bundle(PA, ".slsa.attestation"))
    out = gh_register(gh, index, "trailofbits/pypi-attestations", "pypi-attestations", "v0.0.19").stdout
    assert f"provenance {PA}: built by github:trailofbits/pypi-attestations:release.yml" in out
    assert "ignored" not in out  # the attestation asset is not reported as a stray asset
    assert any("/attestations/sha256:" + sha(dists / PA) in r.path for r in gh.api_requests())
    f = json.loads((index.root / "projects" / "pypi-attestations.json").read_text())["releases"]["0.0.19"]["files"][0]
    assert set(f["provenance"]["predicate-types"]) == {"https://docs.pypi.org/attestations/publish/v1", "https://slsa.dev/provenance/v1"}
    run_cli("build", index=index.root)
    served = index.root / "_site" / "packages" / "pypi-attestations" / (PA + ".provenance")
    assert len(json.loads(served.read_text())["attestation_bundles"][0]["attestations"]) == 2
    assert run_cli("verify", index=index.root).returncode == 0


def test_register_raw_bundle_from_the_api_only(gh, index, dists):
    repo = gh.add_repo("trailofbits/pypi-attestation-models")
    repo.add_release("v0.0.4a2", {PAM: dists / PAM})
    repo.add_attestation(sha(dists / PAM), (dists / (PAM + ".sigstore")).read_bytes())
    gh_register(gh, index, "trailofbits/pypi-attestation-models", "pypi-attestation-models", "v0.0.4a2")
    f = json.loads((index.root / "projects" / "pypi-attestation-models.json").read_text())["releases"]["0.0.4a2"]["files"][0]
    assert f["provenance"]["repository"] == "trailofbits/pypi-attestation-models"


@pytest.mark.parametrize("case", ["foreign-repository", "foreign-via-api", "changed-byte", "other-publisher",
                                  "garbage-attestation", "required-missing"])
def test_register_refusals_write_nothing(gh, index, dists, case):
    full_name, extra = "trailofbits/pypi-attestations", []
    assets = {PA: dists / PA, PA + ".publish.attestation": dists / (PA + ".publish.attestation")}
    expected = ["provenance refused", "found github:trailofbits/pypi-attestations:release.yml"]
    if case == "foreign-repository":
        full_name = "kavli/pypi-attestations"  # someone else's file and signature, re-released by this repository
        expected.append("expected publisher github:kavli/pypi-attestations,")
    elif case == "foreign-via-api":
        full_name = "kavli/pypi-attestations"
        del assets[PA + ".publish.attestation"]
        expected += ["expected publisher github:kavli/pypi-attestations,", "(GitHub attestation 1 of kavli/pypi-attestations)"]
    elif case == "changed-byte":
        data = bytearray((dists / PA).read_bytes())
        data[5] ^= 1
        assets[PA] = bytes(data)
        expected.append("subject does not match distribution digest")
    elif case == "garbage-attestation":
        assets[PA + ".publish.attestation"] = b"<html>not an attestation</html>"
        expected = [f"release asset {PA}.publish.attestation: not an attestation (not JSON)"]
    elif case == "other-publisher":
        extra = ["--publisher", "github:trailofbits/pypi-attestations:publish.yml"]
        expected.append("signed by another workflow")
    else:
        del assets[PA + ".publish.attestation"]
        extra = ["--require-provenance"]
        expected = ["provenance is required, expected publisher github:trailofbits/pypi-attestations, found no attestation"]
    repo = gh.add_repo(full_name)
    repo.add_release("v0.0.19", assets)
    if case == "foreign-via-api":
        repo.add_attestation(sha(dists / PA), sigstore_bundle(PA, ".slsa.attestation"))
    before = state_snapshot(index.root)
    proc = gh_register(gh, index, full_name, "pypi-attestations", "v0.0.19", *extra, check=False)
    assert_refused(proc, PA, *expected)
    assert state_snapshot(index.root) == before


# -- clients read the served provenance ----------------------------------------------------

@pytest.mark.parametrize("accept", ["html", "json"])
def test_pypi_simple_reads_provenance_and_pypi_attestations_verifies_the_download(attested_index, serve, tmp_path, accept):
    """A client checks a file end to end from the served site: pypi-simple finds
    ``provenance_url`` (HTML ``data-provenance`` or JSON ``provenance``), downloads the file and the
    provenance, and pypi-attestations verifies the downloaded bytes against the publisher named."""
    import pypi_simple
    from pypi_attestations import Distribution, GitHubPublisher, Provenance

    url = serve(attested_index.root / "_site")
    # PEP 740 asks for a fully qualified provenance URL: the index's public URL is the served one.
    config = attested_index.root / "index.toml"
    config.write_text(config.read_text().replace('url = "https://example.org/index/"', f'url = "{url}"'))
    run_cli("build", index=attested_index.root)
    header = pypi_simple.ACCEPT_JSON_ONLY if accept == "json" else pypi_simple.ACCEPT_HTML_ONLY
    with pypi_simple.PyPISimple(endpoint=url) as client:
        page = client.get_project_page("pypi-attestations", accept=header)
        # (the project page still carries links for people too until the API pages are split, issue 14)
        (pkg,) = [p for p in page.packages if p.filename == PA]
        assert pkg.provenance_url == f"{url}packages/pypi-attestations/{PA}.provenance"
        target = tmp_path / pkg.filename
        client.download_package(pkg, target)  # checks the sha256 of the link
        provenance = Provenance.model_validate(client.get_provenance(pkg))
        (other,) = [p for p in client.get_project_page("gitlab-oidc-project", accept=header).packages if p.filename == GL]
        assert other.provenance_url is None
    dist = Distribution.from_file(target)
    (bundle,) = provenance.attestation_bundles
    assert bundle.publisher.kind == "GitHub" and bundle.publisher.repository == "trailofbits/pypi-attestations"
    publisher = GitHubPublisher(repository=bundle.publisher.repository, workflow=bundle.publisher.workflow)
    for attestation in bundle.attestations:
        attestation.verify(publisher, dist, offline=True)
    # and the same provenance does not verify another file's bytes
    with pytest.raises(Exception, match="digest"):
        bundle.attestations[0].verify(publisher, Distribution(name=PA, digest="0" * 64), offline=True)


@pytest.mark.e2e
def test_pip_and_uv_still_install_from_a_site_with_provenance(attested_index, serve, clients, wheel):
    from pagesindex.inspect import inspect_file

    w = wheel("plainwheel", "1.0")
    attested_index.add_files([inspect_file(w)])
    run_cli("build", index=attested_index.root)
    url = serve(attested_index.root / "_site")
    for install in (clients.pip, clients.uv_pip):
        proc = install(url, "plainwheel==1.0")
        assert clients.installed(proc.venv)["plainwheel"] == "1.0"
    # pip finds and downloads the attested sdist from a page whose anchor carries data-provenance
    # (its hash checked); preparing its metadata then needs its build backend, absent offline.
    proc = clients.pip(url, "--dry-run", "--no-deps", "--no-build-isolation", "pypi-attestations==0.0.19", check=False)
    assert f"Downloading {PA}" in proc.stdout, proc.stdout + proc.stderr


BUILT_BY_PROBE = """
window.addEventListener("load", function () {
  var row = document.querySelector("tr.built-by");
  var none = document.querySelector("tr.no-provenance");
  var out = [];
  out.push("text=" + (row ? row.innerText.replace(/\\s+/g, " ").trim() : ""));
  out.push("visible=" + (row ? String(row.getBoundingClientRect().height > 0 && getComputedStyle(row).visibility === "visible") : "false"));
  out.push("links=" + (row ? Array.prototype.map.call(row.querySelectorAll("a"), function (a) { return a.textContent; }).join(",") : ""));
  out.push("none=" + (none ? "yes" : "no"));
  document.body.setAttribute("data-probe", out.join("|"));
});
"""


@pytest.mark.e2e
def test_built_by_line_in_chromium(attested_index, tmp_path):
    import re

    from test_pages_browser import CHROMIUM, chromium, console_problems

    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    copy = tmp_path / "probe-site"
    shutil.copytree(attested_index.root / "_site", copy)
    (copy / "_static" / "probe.js").write_text(BUILT_BY_PROBE)
    for page in (copy / "_pages" / "pypi-attestations" / "0.0.19.html", copy / "_pages" / "gitlab-oidc-project" / "0.0.3.html"):
        page.write_text(page.read_text().replace("</body>", '<script src="../../_static/probe.js" defer></script>\n</body>'))
    found = {}
    for name, page in (("signed", "_pages/pypi-attestations/0.0.19.html"), ("plain", "_pages/gitlab-oidc-project/0.0.3.html")):
        proc = chromium("--dump-dom", (copy / page).as_uri())
        assert proc.returncode == 0 and not console_problems(proc.stderr), proc.stderr[-2000:]
        match = re.search(r'data-probe="([^"]*)"', proc.stdout)
        assert match, proc.stdout[-2000:]
        found[name] = dict(part.split("=", 1) for part in match.group(1).split("|"))
    signed = found["signed"]
    assert signed["visible"] == "true"
    assert "Built by trailofbits/pypi-attestations, workflow release.yml, commit 08802efe1f8e, run" in signed["text"]
    assert signed["links"] == "trailofbits/pypi-attestations,release.yml,08802efe1f8e,run,provenance"
    assert signed["none"] == "no"
    assert found["plain"]["none"] == "yes" and "no provenance" in found["plain"]["text"]


@pytest.mark.parametrize("name", ["register.yml", "update.yml"])
def test_workflow_input_require_provenance(name):
    """The register and update workflows take ``require_provenance`` (boolean) through ``env:``
    and commit ``provenance/`` with the records."""
    import yaml

    from pagesindex.workflows import __file__ as workflows_init

    wf = yaml.safe_load((Path(workflows_init).parent / name).read_text())
    assert wf[True]["workflow_dispatch"]["inputs"]["require_provenance"]["type"] == "boolean"
    (job,) = [j for j in wf["jobs"].values() if any(s.get("id") == "change" for s in j["steps"])]
    (step,) = [s for s in job["steps"] if s.get("id") == "change"]
    assert step["env"]["REQUIRE_PROVENANCE"] == "${{ inputs.require_provenance }}"
    assert 'extra+=(--require-provenance)' in step["run"]
    (pr,) = [s for s in job["steps"] if s.get("uses", "").startswith("peter-evans/create-pull-request@")]
    assert "provenance/" in pr["with"]["add-paths"].split()


@pytest.mark.parametrize("bad", [
    {"kind": "github", "repository": "../../etc", "commit": "", "sha256": "0" * 64},
    {"kind": "github", "repository": "a/b", "run": "javascript:alert(1)", "sha256": "0" * 64},
    {"kind": "svn", "repository": "a/b", "sha256": "0" * 64},
    {"kind": "github", "repository": "a/b", "workflow": "x\ny", "sha256": "0" * 64},
    {"kind": "github", "repository": "a/b"},
    "github:a/b",
])
def test_tampered_provenance_in_a_record_is_refused(attested_index, bad):
    rec_path = attested_index.root / "projects" / "pypi-attestations.json"
    rec = json.loads(rec_path.read_text())
    rec["releases"]["0.0.19"]["files"][0]["provenance"] = bad
    rec_path.write_text(json.dumps(rec))
    for command in ("build", "verify"):
        out = run_cli(command, index=attested_index.root, check=False)
        assert out.returncode == 1
        assert "has provenance" in out.stdout + out.stderr and "Traceback" not in out.stderr


def test_remove_takes_the_provenance_along(attested_index):
    # The fixture's site is a copy, which no build manifest describes (a build then removes
    # nothing it did not write: see test_verify_site.test_an_extra_file_fails); built here, the
    # next build knows what it wrote.
    shutil.rmtree(attested_index.root / "_site")
    run_cli("build", index=attested_index.root)
    kept = attested_index.root / "provenance" / "pypi-attestations" / (PA + ".provenance")
    assert kept.is_file()
    run_cli("remove", "pypi-attestations", "0.0.19", index=attested_index.root)
    assert not kept.parent.exists()
    run_cli("build", index=attested_index.root)
    assert not (attested_index.root / "_site" / "packages" / "pypi-attestations" / (PA + ".provenance")).exists()
    assert run_cli("verify", index=attested_index.root).returncode == 0
