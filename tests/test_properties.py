"""Property tests (hypothesis) over arbitrary strings: every command argument and every field
read from core metadata is either accepted in its PEP 503 / PEP 440 form or refused with one
error line naming the value, and a refusal changes nothing.

Run more examples with HYPOTHESIS_PROFILE=dev or thorough (profiles in conftest.py). Command
arguments are run in-process through click's runner (tests/hostile.py: a traceback still fails);
they never hold NUL, which no real argv can carry, but may hold the lone surrogates that Python
makes of non-UTF-8 argv bytes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import markupsafe
import pytest
from factory import make_wheel
from hostile import cli, metadata, snapshot, wheel_members, write_zip
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.version import Version

from pagesindex.errors import InvalidDistribution, InvalidName, InvalidVersion, PagesIndexError
from pagesindex.inspect import inspect_file, parse_filename
from pagesindex.model import normalize_name, parse_version, version_from_tag
from pagesindex.render import build_site
from pagesindex.state import Index

NORMALIZED = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

TRICKY = [
    "", " ", "-", "--help", "-x", "[/]", "[red]x[/red]", ":smile:", "../x", "/etc/passwd", "a/b", "a\\b",
    "abc1", "ABC1", "Abc_1", "abc1.", "1.0", "v1.0", "1.0.0", "01.00", "1.0\n", " 1.0", "1!2.0+local.7",
    "1.0.post1.dev2", "1.0a", "1.0-rc.1", "v", "\u202eabc", "<script>alert(1)</script>", '"', "'",
    "a" * 300, "é", "\U0001f600", "\x7f", "\x1b[31m", "https://example.org/", "javascript:alert(1)",
    ">=3.8", "1.0; evil", "\udcff", "abc1\udcff",
]


def texts(nul: bool = True):
    """Arbitrary text, near-valid names and versions, tricky samples, surrogate-escaped bytes."""
    surrogateescaped = st.binary(max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape"))
    strategy = st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[A-Za-z0-9._-]{1,16}", fullmatch=True),
        st.text(alphabet="0123456789.vabrcdevpost+!-_ \t", max_size=14),
        st.sampled_from(TRICKY),
        surrogateescaped,
    )
    return strategy if nul else strategy.map(lambda s: s.replace("\x00", ""))


# -- the model ------------------------------------------------------------------------------

@given(texts())
def test_names_are_normalized_or_refused_by_value(text):
    try:
        name = normalize_name(text)
    except InvalidName as exc:
        assert repr(text) in str(exc)
        return
    assert NORMALIZED.fullmatch(name) and normalize_name(name) == name


@given(texts())
@example("3.0.0-beta.4")
def test_versions_are_pep440_or_refused_by_value(text):
    try:
        version = parse_version(text)
    except InvalidVersion as exc:
        assert repr(text) in str(exc)
        return
    assert Version(str(version)) == version and parse_version(str(version)) == version


@given(texts())
@example("v2.12.0beta")
def test_tags_are_pep440_or_refused_by_value(text):
    try:
        version = version_from_tag(text)
    except InvalidVersion as exc:
        assert repr(text) in str(exc)
        return
    assert Version(str(version)) == version


@given(st.one_of(texts(), texts().map(lambda s: s + "-1.0-py3-none-any.whl"), texts().map(lambda s: "abc1-" + s + ".tar.gz")))
def test_filenames_are_parsed_or_refused_by_value(text):
    try:
        kind, name, version = parse_filename(text)
    except InvalidDistribution as exc:
        assert repr(text) in str(exc) and "\n" not in str(exc)
        return
    assert kind in ("wheel", "sdist") and NORMALIZED.fullmatch(name) and isinstance(version, Version)
    assert "/" not in text and "\\" not in text and not text.startswith(".")


# -- command arguments ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """An index with abc1 1.0, copied afresh for each example."""
    root = tmp_path_factory.mktemp("template")
    index = Index.init(root / "index", title="t")
    wheel = make_wheel(root / "dist", "abc1", "1.0")
    index.add_files([inspect_file(wheel)])
    return index.root, wheel


class Fresh:
    def __init__(self, template):
        self.tmp = Path(tempfile.mkdtemp(prefix="pagesindex-prop-"))
        self.root = self.tmp / "index"
        shutil.copytree(template, self.root)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)


def check_outcome(proc, values, before, root):
    """Accepted (exit 0), or refused with one line naming one of ``values`` and no change."""
    if proc.returncode == 0:
        return True
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert any(repr(v) in lines[0] for v in values), (values, lines[0])
    assert snapshot(root) == before
    return False


@given(name=texts(nul=False), version=texts(nul=False))
@example(name="ABC1", version="1.0.0")
def test_remove_arguments(template, name, version):
    with Fresh(template[0]) as fresh:
        before = snapshot(fresh.root)
        proc = cli("remove", "--", name, version, index=fresh.root)
        if check_outcome(proc, [name, version], before, fresh.root):
            assert normalize_name(name) == "abc1" and parse_version(version) == Version("1.0")
            assert not (fresh.root / "projects/abc1.json").exists()


@given(name=texts(nul=False), version=texts(nul=False), reason=texts(nul=False))
@example(name="abc1", version="1.0", reason="[/] :smile:")
def test_yank_arguments(template, name, version, reason):
    with Fresh(template[0]) as fresh:
        before = snapshot(fresh.root)
        proc = cli("yank", f"--reason={reason}", "--", name, version, index=fresh.root)
        if check_outcome(proc, [name, version, reason], before, fresh.root):
            assert normalize_name(name) == "abc1" and parse_version(version) == Version("1.0")
            assert reason in proc.stdout
            assert Index(fresh.root).get_project("abc1").releases["1.0"].yanked_reason == reason


@given(summary=texts(nul=False), author=texts(nul=False), homepage=texts(nul=False))
@example(summary="<script>alert(1)</script>", author="[red]x", homepage="javascript:alert(1)")
def test_add_options(template, summary, author, homepage):
    with Fresh(template[0]) as fresh:
        wheel = make_wheel(fresh.tmp / "dist", "abc1", "2.0")
        before = snapshot(fresh.root)
        proc = cli("add", f"--summary={summary}", f"--author={author}", f"--homepage={homepage}", "--", str(wheel), index=fresh.root)
        if check_outcome(proc, [summary, author, homepage], before, fresh.root):
            project = Index(fresh.root).get_project("abc1")
            assert (project.summary, project.author, project.homepage) == (summary, author, homepage)
            assert homepage == "" or homepage.startswith(("http://", "https://"))
            build_site(Index(fresh.root))
            page = (fresh.root / "_site/_pages/abc1/index.html").read_text()
            assert str(markupsafe.escape(summary)) in page
            assert page_tags(page) == baseline_tags(fresh.tmp, [template[1], wheel], project), "hostile text added markup"


@given(title=texts(nul=False), url=texts(nul=False), description=texts(nul=False))
@example(title='a"b\\c', url="https://example.org/", description="x\x7fy\nz")
def test_init_options(title, url, description):
    tmp = Path(tempfile.mkdtemp(prefix="pagesindex-prop-"))
    try:
        proc = cli("init", f"--title={title}", f"--url={url}", f"--description={description}", "--", str(tmp / "idx"))
        if proc.returncode == 0:
            config = Index(tmp / "idx").config
            assert (config.title, config.url, config.description) == (title, url, description)
        else:
            assert proc.returncode == 1 and "Traceback" not in proc.stderr
            line = proc.stderr.strip()
            assert "\n" not in line and any(repr(v) in line for v in (title, url, description)), line
            assert not (tmp / "idx" / "index.toml").exists()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- fields read from core metadata ---------------------------------------------------------

def meta_value(text: str) -> bool:
    """Values the email header parser hands back unchanged (no line breaks, no outer spaces)."""
    return text == text.strip() and not re.search(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text)


@given(name=texts(), version=texts())
@example(name="ABC_1", version="1.0.0")
@example(name="../../etc", version="1.0")
def test_metadata_name_and_version(tmp_path_factory, name, version):
    folder = tmp_path_factory.mktemp("meta")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode("utf-8", "surrogateescape")
    path = write_zip(folder / "abc1-1.0-py3-none-any.whl", wheel_members(meta))
    try:
        inspected = inspect_file(path)
    except InvalidDistribution as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("abc1-1.0-py3-none-any.whl: ")
        if meta_value(name) and meta_value(version) and name and version and "\udc80" > max(name + version, default=" "):
            assert repr(name) in message or repr(version) in message or "not UTF-8" in message, message
        return
    assert inspected.name == "abc1" and normalize_name(name) == "abc1"
    assert Version(version.strip()) == Version("1.0")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, sorted(k for k, _v in attrs)))


def page_tags(page: str) -> list:
    """The start tags of a page with their attribute names: what markup it has, not its text."""
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def baseline_tags(tmp: Path, wheels: list, project) -> list:
    """The tags of the same project's page built with plain placeholder text."""
    index = Index.init(Path(tempfile.mkdtemp(dir=tmp)) / "baseline", title="t")
    index.add_files(
        [inspect_file(w) for w in wheels],
        summary="x" if project.summary else "",
        author="x" if project.author else "",
        homepage=project.homepage,
    )
    build_site(index)
    return page_tags((index.root / "_site/_pages/abc1/index.html").read_text())


@given(summary=texts(), author=texts(), homepage=texts(), requires_python=texts())
@example(summary="<script>alert(1)</script>", author="</p><a href=x>", homepage="javascript:alert(1)", requires_python=">=3.8")
def test_metadata_fields_are_cleaned_escaped_or_refused(tmp_path_factory, summary, author, homepage, requires_python):
    folder = tmp_path_factory.mktemp("fields")
    extra = f"Summary: {summary}\nAuthor: {author}\nHome-page: {homepage}\nRequires-Python: {requires_python}\n"
    meta = ("Metadata-Version: 2.1\nName: abc1\nVersion: 1.0\n" + extra).encode("utf-8", "surrogateescape")
    path = write_zip(folder / "abc1-1.0-py3-none-any.whl", wheel_members(meta))
    try:
        inspected = inspect_file(path)
    except InvalidDistribution as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("abc1-1.0-py3-none-any.whl: ")
        if meta_value(requires_python) and "Requires-Python" in message:
            assert repr(requires_python) in message
        return
    for value in (inspected.summary, inspected.author):
        assert not re.search(r"[\x00-\x1f\x7f-\x9f]", value) and value == value.strip()
    assert inspected.homepage == "" or re.match(r"https?://[^\s\"'<>]+$", inspected.homepage, re.I)
    index = Index.init(folder / "index", title="t")
    index.add_files([inspected])
    build_site(index)
    page = (index.root / "_site/_pages/abc1/index.html").read_text()
    assert page_tags(page) == baseline_tags(folder, [path], index.get_project("abc1")), "metadata text added markup"
    assert str(markupsafe.escape(inspected.summary)) in page


def test_metadata_name_with_hostile_text_is_named(tmp_path):
    path = write_zip(tmp_path / "abc1-1.0-py3-none-any.whl", wheel_members(metadata(name="[/]")))
    with pytest.raises(PagesIndexError, match=re.escape("'[/]'")):
        inspect_file(path)
