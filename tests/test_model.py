import pytest

from pagesindex.errors import InvalidName, InvalidVersion
from pagesindex.model import DistributionFile, Project, Release, normalize_name, parse_version, version_from_tag


@pytest.mark.parametrize(
    "name, normalized",
    [("Company.Test_Utils", "company-test-utils"), ("ABC1", "abc1"), ("COMPANY_test.utils", "company-test-utils"), ("a", "a")],
)
def test_normalize_name(name, normalized):
    assert normalize_name(name) == normalized


@pytest.mark.parametrize("bad", ["", "-lead", "trail_", "has space", "a/b", "..", "ümlaut", "x\n"])
def test_normalize_name_refuses_invalid_names_naming_them(bad):
    with pytest.raises(InvalidName) as info:
        normalize_name(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize(
    "tag, version",
    [("v2.12.0beta", "2.12.0b0"), ("v1.2.3-rc.1", "1.2.3rc1"), ("v0.1.16.0", "0.1.16"), ("1.2.3", "1.2.3"), ("v3.0.0-beta.1", "3.0.0b1")],
)
def test_version_from_tag(tag, version):
    assert version_from_tag(tag) == parse_version(version)


@pytest.mark.parametrize("bad", ["", "vv1", "latest", " 1.0", "1.0 "])
def test_bad_versions_are_refused_naming_them(bad):
    with pytest.raises(InvalidVersion) as info:
        version_from_tag(bad) if bad.startswith("v") or bad == "" else parse_version(bad)
    assert repr(bad) in str(info.value)


def test_record_round_trip_and_latest():
    f = DistributionFile("p-1.0-py3-none-any.whl", "wheel", "a" * 64, 10, "2026-01-01T00:00:00Z", ">=3.9", "b" * 64)
    project = Project(
        name="P",
        releases={
            "1.0": Release("1.0", [f]),
            "2.0b1": Release("2.0b1", []),
            "1.5": Release("1.5", [], yanked=True, yanked_reason="broken"),
        },
    )
    again = Project.from_json(project.to_json())
    assert again.to_json() == project.to_json()
    assert project.latest().version == "1.0"
    assert project.latest(prereleases=True).version == "2.0b1"
    assert project.release("1.0.0").version == "1.0"
    assert [r.version for r in project.sorted_releases()] == ["2.0b1", "1.5", "1.0"]


def test_project_names_lists_records_only(tmp_path):
    """projects/<name>.json, sorted; dot files, other names and a missing folder give nothing."""
    from pagesindex.state import Index

    index = Index.init(tmp_path / "i", title="t", url="https://example.org/i/")
    for name in ("zeta.json", "alpha.json", ".hidden.json", "notes.txt", ".tmp-x.json"):
        (index.projects_dir / name).write_text("{}")
    assert index.project_names() == ["alpha", "zeta"]
    for p in index.projects_dir.iterdir():
        p.unlink()
    index.projects_dir.rmdir()
    assert index.project_names() == []
