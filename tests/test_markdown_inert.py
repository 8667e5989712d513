"""Text chosen by package authors (and by PyPI) stays inert in what reviewers read (issue 13, item 6).

Three Markdown documents carry such text: the pull request body that ``pr-describe`` writes for
register/update/delete/yank, the same body in the run summary (``$GITHUB_STEP_SUMMARY``), and the
issue that the scheduled PyPI check opens (``check --markdown``). Each is read here two ways:

* as GitHub-flavoured Markdown splits a table row (the GFM spec, "Tables (extension)": a row is
  split at every ``|`` that is not backslash-escaped, code spans included, before inline
  parsing), so a forged cell cannot show a reviewer another size or sha256;
* rendered with comrak (the GFM renderer readme_renderer uses; here with GitHub's extensions:
  tables, autolinks, shortcodes, tag filter, raw HTML let through as GitHub's renderer does
  before sanitizing) and with markdown-it-py (CommonMark plus tables), to see that no link,
  image, HTML, emoji, mention, issue reference or hidden character comes out.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

try:  # readme_renderer renders GFM with comrak where it has it (not on Python 3.9)
    import comrak
except ImportError:  # pragma: no cover - Python 3.9: markdown-it-py alone
    comrak = None
from markdown_it import MarkdownIt

from conftest import make_wheel, run_cli
from fakepypi import Fake, FakePyPI
from hostile import assert_refused, cli, snapshot
from pagesindex.changes import describe_change, md_block, md_code, md_text
from pagesindex.checks.pypi import HIGHER, UNKNOWN, CheckResult, markdown_report
from pagesindex.model import DistributionFile, Project, Release

ZEROS = "0" * 64
FORGED = f"demo-1.0-py3-none-any|99|{ZEROS}|.whl"
BIDI = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: shows the text after it reversed
HOSTILE = (
    f"x | 99 | {ZEROS} |\n| y `code` <img src=x onerror=alert(1)> [link](https://evil.example) "
    f"![img](https://evil.example/i.png) @admin @org/team #1 org/repo#2 www.evil.example "
    f"https://evil.example <!-- hidden --> :smile: **bold** {BIDI}gnp.exe\u200b\x1b[31m"
)


# -- reading Markdown as GitHub does ---------------------------------------------------------
def split_row(line: str) -> List[str]:
    """The cells of a GFM table row: split at each ``|`` not escaped by a backslash (a ``\\\\`` pair
    escapes itself), then leading/trailing pipes dropped and cells stripped (GFM spec)."""
    cells, cell, i = [], "", 0
    line = line.strip()
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            cell += line[i : i + 2]
            i += 2
            continue
        if ch == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += ch
        i += 1
    cells.append(cell)
    if line.startswith("|"):
        cells = cells[1:]
    if len(cells) > 1 and cells[-1] == "":  # the row ended with an unescaped pipe
        cells = cells[:-1]
    return [c.strip() for c in cells]


def table_rows(markdown: str, header: str) -> List[List[str]]:
    """The body rows (as cells) of the table whose header row starts with ``header``."""
    lines = [line.strip() for line in markdown.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(split_row(line))
    return rows


def code_text(cell: str) -> str:
    """What a cell holding one code span shows (after GFM's ``\\|`` unescaping)."""
    m = re.fullmatch(r"(`+) ?(.*?) ?\1", cell)
    assert m, f"not one code span: {cell!r}"
    return m.group(2).replace("\\|", "|")


_MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
if comrak is not None:
    _GFM = comrak.ExtensionOptions()
    for _option in ("autolink", "table", "strikethrough", "tagfilter", "shortcodes", "tasklist", "footnotes"):
        setattr(_GFM, _option, True)
    _RAW_HTML = comrak.RenderOptions()
    _RAW_HTML.unsafe_ = True


def gfm(markdown: str) -> str:
    """GitHub-flavoured rendering with comrak; markdown-it-py (tables on) where comrak is absent."""
    if comrak is None:
        return _MD.render(markdown)
    return comrak.render_markdown(markdown, extension_options=_GFM, render_options=_RAW_HTML)


def assert_inert_html(markdown: str, allowed_links: int = 0) -> str:
    """Render ``markdown`` with both parsers; no link, image, raw HTML, emoji, mention,
    reference or hidden character. Returns comrak's HTML."""
    _assert_inert(_MD.render(markdown), allowed_links)
    return _assert_inert(gfm(markdown), allowed_links)


def _assert_inert(html: str, allowed_links: int) -> str:
    assert html.count("<a ") == allowed_links, html
    for bad in ("<img", "<script", "<!--", "<strong>bold", "<em>", "\U0001f604"):
        assert bad not in html, (bad, html)
    text = re.sub(r"<[^>]+>", " ", html)
    # GitHub links @name and #N / org/repo#N found in the rendered text (outside code).
    outside_code = re.sub(r"<code[^>]*>.*?</code>", " ", html, flags=re.S)
    outside_code = re.sub(r"<[^>]+>", " ", outside_code)
    assert not re.search(r"(?:^|[^\w`])@[A-Za-z0-9]", outside_code), outside_code
    assert not re.search(r"#\d", outside_code), outside_code
    for ch in (BIDI, "\u2066", "\x1b"):  # (a zero-width space follows each @ and # on purpose)
        assert ch not in text, repr(ch)
    return html


def wheel_record(filename: str, data: bytes) -> DistributionFile:
    return DistributionFile(
        filename=filename,
        kind="wheel",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        upload_time="2026-11-30T00:00:00Z",
    )


# -- add refuses filenames PyPI refuses --------------------------------------------------------
@pytest.mark.parametrize(
    "filename, needle",
    [
        (FORGED, "wheel tag"),
        ("demo-1.0-py3-none-any`x.whl", "wheel tag"),
        ("demo-1.0-py3-none<b>-any.whl", "wheel tag"),
        ("demo-1.0-py3@x-none-any.whl", "wheel tag"),
        ("demo-1.0-1|x-py3-none-any.whl", "build tag"),
        ("demo-1.0-1.x-py3-none-any.whl", "build tag"),
        ("demo-1.0-py3-none-\u0430ny.whl", "not ASCII"),  # Cyrillic a
        (f"demo-1.0-py3-none-any{BIDI}.whl", "not ASCII"),
    ],
)
def test_forged_wheel_filename_is_refused_by_add(tmp_path, filename, needle):
    root = tmp_path / "idx"
    cli("init", str(root), "--no-workflows")
    wheel = make_wheel(tmp_path / "dist", "demo", "1.0", filename=filename)
    before = snapshot(tmp_path)
    proc = cli("add", str(wheel), index=root)
    assert_refused(proc, needle, repr(filename), before=before, root=tmp_path)


def test_ordinary_wheel_tags_still_pass(tmp_path):
    root = tmp_path / "idx"
    cli("init", str(root), "--no-workflows")
    for filename in (
        "demo-1.0-1_b2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-py2.py3-none-any.whl",
        "demo-1.0-cp39-abi3-macosx_10_9_universal2.whl",
        "demo-1.0-cp313-cp313t-win_amd64.whl",
    ):
        wheel = make_wheel(tmp_path / "dist", "demo", "1.0", filename=filename)
        proc = cli("add", str(wheel), index=root)
        assert proc.returncode == 0, proc.stderr


# -- the pull request body -------------------------------------------------------------------
def test_forged_filename_in_a_record_still_renders_as_one_row_with_the_real_size_and_hash():
    """Even with a record that add would now refuse (an older index, a hand-written record), the
    files table shows three cells: the whole filename, the real size and the real sha256."""
    data = b"the real bytes" * 100
    hostile_file = wheel_record(FORGED, data)
    plain = wheel_record("demo-1.0.tar.gz", b"sdist")
    after = Project(
        name="demo",
        summary=HOSTILE,
        author=HOSTILE,
        releases={"1.0": Release("1.0", [hostile_file, plain], extra={"git": {"url": HOSTILE, "tag": f"v1.0|{ZEROS}"}})},
    )
    body = describe_change("register", "demo", "1.0", None, after).body
    rows = table_rows(body, "| file |")
    assert len(rows) == 2
    by_name = {code_text(r[0]): r for r in rows}
    assert all(len(r) == 3 for r in rows), rows
    row = by_name[FORGED]
    assert row[1] == str(len(data)) and code_text(row[2]) == hashlib.sha256(data).hexdigest()
    assert by_name["demo-1.0.tar.gz"][1] == "5"
    # summary and author: one list item each, every piece of markup shown as text
    summary_lines = [line for line in body.splitlines() if line.startswith("- summary:")]
    assert len(summary_lines) == 1 and len([line for line in body.splitlines() if line.startswith("- author:")]) == 1
    html = assert_inert_html(body)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as text
    assert "&lt;U+200B&gt;" in html and "&lt;U+001B&gt;" in html
    assert "www\\.evil\\.example" in body and "https\\:\\/\\/evil" in body  # no GFM autolink
    assert "[link](https://evil.example)" in html  # shown literally
    assert "&lt;U+202E&gt;gnp" in html  # the override is named, not obeyed


@pytest.mark.parametrize(
    "value",
    ["a|b", "a\\|b", "a\\\\|b", "\\", "|", "``|``", "a\nb|c", f"{BIDI}|x", "a\\"],
)
def test_a_table_code_cell_never_splits(value):
    line = f"| {md_code(value, in_table=True)} | 7 | {md_code(ZEROS, in_table=True)} |"
    cells = split_row(line)
    assert len(cells) == 3 and cells[1] == "7" and code_text(cells[2]) == ZEROS
    for html in (_MD.render("| a | b | c |\n|---|---|---|\n" + line + "\n"), gfm("| a | b | c |\n|---|---|---|\n" + line + "\n")):
        assert html.count("<td>") == 3 and "<td>7</td>" in html and f"<td><code>{ZEROS}</code></td>" in html


def test_md_text_and_md_block_name_hidden_characters():
    assert md_text(f"a{BIDI}b\u2066c\u200bd\x1be") == "a\\<U\\+202E\\>b\\<U\\+2066\\>c\\<U\\+200B\\>d\\<U\\+001B\\>e"
    assert md_code(f"v1{BIDI}0") == "`v1<U+202E>0`"
    block = md_block(f"ok\x1b[31m red\r\n{BIDI}txt.exe\n```\n@admin")
    assert "<U+001B>[31m red\n<U+202E>txt.exe" in block and block.startswith("````text\n")
    assert "\r" not in block and BIDI not in block
    html = gfm(block)
    assert "@admin" in html and "<pre" in html  # inside the code block: shown, never linked


def hostile_index(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    run_cli("init", str(root), "--title", "Lab index", "--url", "https://lab.github.io/index/")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return root


def test_pr_describe_body_and_step_summary_with_hostile_metadata(tmp_path):
    """Through the CLI as the workflows run it: a wheel whose core metadata carries hostile
    Summary and Author; body and run summary both show one table row with the real figures."""
    root = hostile_index(tmp_path)
    one_line = HOSTILE.replace("\n", " ")
    wheel = make_wheel(tmp_path / "dist", "demo", "1.0", summary=one_line, author=one_line)
    run_cli("add", str(wheel), index=root)
    body_file, summary_file = tmp_path / "body.md", tmp_path / "summary.md"
    summary_file.write_text("earlier step\n")
    log = tmp_path / "log"
    log.write_text(f"built {BIDI}gnp.exe\n\x1b[2J```\n@admin <img src=x>\n")
    run_cli(
        "pr-describe", "--body-file", str(body_file), "--step-summary", str(summary_file), "--log", str(log),
        "register", "demo", "v1.0", index=root,
    )
    body = body_file.read_text(encoding="utf-8")
    assert summary_file.read_text(encoding="utf-8") == "earlier step\n" + body
    for document in (body, summary_file.read_text(encoding="utf-8")):
        rows = table_rows(document, "| file |")
        assert len(rows) == 1 and len(rows[0]) == 3
        assert code_text(rows[0][0]) == wheel.name
        assert rows[0][1] == str(wheel.stat().st_size)
        assert code_text(rows[0][2]) == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert_inert_html(document)
    assert "\x1b" not in body and BIDI not in body


# -- the PyPI check's issue ------------------------------------------------------------------
def test_pypi_report_keeps_five_cells_whatever_the_text():
    results = [
        CheckResult("demo", "1.0", UNKNOWN, "https://pypi.example", "2026-11-30T00:00:00Z", error=HOSTILE),
        CheckResult("other", "2.0", HIGHER, "https://pypi.example", "2026-11-30T00:00:00Z", ("9.0",), "9.0", winner="9.0"),
    ]
    report = markdown_report(results)
    rows = table_rows(report, "| project |")
    assert [len(r) for r in rows] == [5, 5]
    assert rows[0][0] == "demo" and rows[1][3] == "**higher**"
    html = assert_inert_html(report)
    assert html.count("<tr>") == 3 and html.count("<td>") == 10 and "<strong>higher</strong>" in html


def test_pypi_check_issue_from_a_hostile_pypi_answer(tmp_path):
    """A PyPI stand-in answering a hostile api-version: the report written by `check --markdown`
    (what the workflow puts in the issue) keeps its table shape and shows the text inert."""
    root = tmp_path / "idx"
    run_cli("init", str(root), "--no-workflows")
    run_cli("add", str(make_wheel(tmp_path / "dist", "demo", "1.0")), index=root)
    pypi = FakePyPI()
    try:
        answer = {"meta": {"api-version": f"2|{ZEROS}|<img src=x>@admin{BIDI}"}, "files": []}
        pypi.set("demo", Fake(body=json.dumps(answer).encode(), content_type="application/vnd.pypi.simple.v1+json"))
        report = tmp_path / "report.md"
        proc = subprocess.run(
            [sys.executable, "-m", "pagesindex", "--index", str(root), "check",
             "--no-save", "--pypi-url", pypi.url, "--markdown", str(report)],
            capture_output=True, text=True,
        )
    finally:
        pypi.close()
    assert proc.returncode == 0, proc.stderr
    text = report.read_text(encoding="utf-8")
    rows = table_rows(text, "| project |")
    assert len(rows) == 1 and len(rows[0]) == 5 and rows[0][3] == "unknown"
    assert "unsupported simple API version" in rows[0][4]
    assert_inert_html(text)


def test_a_log_of_hidden_characters_still_fits_a_pull_request_body(tmp_path):
    """Each hidden character is shown as 8 (``<U+202E>``): the log is cut at its shown length,
    so the body stays under GitHub's 65536 characters."""
    root = hostile_index(tmp_path)
    run_cli("add", str(make_wheel(tmp_path / "dist", "demo", "1.0")), index=root)
    log = tmp_path / "log"
    log.write_text("start\n" + BIDI * 40000 + "\nend\n", encoding="utf-8")
    body_file = tmp_path / "body.md"
    run_cli("pr-describe", "--body-file", str(body_file), "--log", str(log), "register", "demo", "1.0", index=root)
    body = body_file.read_text(encoding="utf-8")
    assert len(body) < 65536 and "end" in body and BIDI not in body and "earlier output left out" in body


# -- pull request bodies stay under GitHub's 65 536 characters (issue 13, F8) --------------


def test_long_author_chosen_fields_are_cut_and_the_body_fits(tmp_path):
    """A Summary of 10 000 ``@`` (each written as 9 characters) made a 90 434-character body,
    which GitHub refuses: each field is cut at FIELD_LIMIT with a note, the body stays inert."""
    from pagesindex.changes import FIELD_LIMIT

    root = hostile_index(tmp_path)
    wheel = make_wheel(tmp_path / "dist", "demo", "1.0", summary="@" * 10000, author="#" * 10000 + BIDI * 5000)
    run_cli("add", str(wheel), index=root)
    body_file = tmp_path / "body.md"
    log = tmp_path / "log"
    log.write_text("@x `y`\n" * 5000, encoding="utf-8")
    run_cli("pr-describe", "--body-file", str(body_file), "--log", str(log), "register", "demo", "1.0", index=root)
    body = body_file.read_text(encoding="utf-8")
    assert len(body) < 65536
    for field in ("- summary:", "- author:"):
        (line,) = [line for line in body.splitlines() if line.startswith(field)]
        assert len(line) <= len(field) + 1 + FIELD_LIMIT and line.endswith("… (cut)")
    assert len(table_rows(body, "| file |")) == 1
    assert_inert_html(body)


@pytest.mark.parametrize("value", ["@" * 5000, BIDI * 5000, "`" * 5000, "a|" * 5000, HOSTILE * 100])
def test_md_text_and_md_code_are_bounded(value):
    from pagesindex.changes import FIELD_LIMIT

    assert len(md_text(value)) <= FIELD_LIMIT and md_text(value).endswith("… (cut)")
    for in_table in (False, True):
        shown = md_code(value, in_table=in_table)
        assert len(shown) <= FIELD_LIMIT and shown.endswith("… (cut)")
    assert md_text("@" * 10) == "\\@&#8203;" * 10  # short values are not cut


def test_a_body_of_thousands_of_files_is_cut_under_the_limit_with_a_note():
    """Thousands of files in one release (or many long fields) are cut at a line break, the
    note outside any code block, the closing line kept; what is left stays inert."""
    from pagesindex.changes import BODY_LIMIT

    files = [wheel_record(f"demo-1.0-py3-none-manylinux_2_{i}_x86_64.whl", b"x") for i in range(3000)]
    after = Project(name="demo", summary="@" * 3000, releases={"1.0": Release("1.0", files)})
    change = describe_change("register", "demo", "1.0", None, after, log="```\n" + "@x\n" * 30000)
    body = change.body
    assert len(body) <= BODY_LIMIT
    assert "**This description was cut at" in body
    assert body.rstrip().endswith("Merging this pull request deploys the index (deploy workflow).")
    assert_inert_html(body)
    long_log = describe_change("register", "demo", "1.0", None, Project(name="demo"), log="`" * 3 + "\n" + "@x\n" * 30000).body
    assert len(long_log) <= BODY_LIMIT
    note = long_log.index("**This description was cut at")
    assert long_log[:note].rstrip().endswith("````")  # the log's block is closed before the note
    assert_inert_html(long_log)
