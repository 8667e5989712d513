"""What a command changed in one project's record, as Markdown for a pull request.

The workflows (register, update, delete, yank, status) run one command, then describe the change by
comparing the project's record before (the committed state) and after. The description depends
only on the two records, never on what the command printed, so it stays right whatever the
command's output looks like. Pure: no I/O.

Record extensions read here (see the record contract): ``project.extra["pypi"]`` (PyPI
dependency-confusion check), ``project.extra["repository"]``, ``release.extra["git"]`` and
``release.extra["source"]``, ``project.extra["status"]`` (PEP 792 project status).
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from typing import Dict, List, Optional

from .model import DistributionFile, Project, Release

ACTIONS = ("register", "update", "delete", "yank", "status")
_PUNCTUATION = set(string.punctuation)
#: Put after ``@`` and ``#`` so GitHub links no mention (``@team``) and no reference (``#12``,
#: ``org/repo#12``): it finds them in the rendered text, where a backslash escape is gone.
#: A zero-width space, written as a character reference so the Markdown source shows it.
_BREAK = "&#8203;"
#: The most characters one author-chosen value (summary, author, reason, name, URL, ...) takes
#: once rendered by :func:`md_text` or :func:`md_code`: ``md_text`` writes each ``@`` as nine
#: characters, so 10 000 of them made a 90 434-character body (issue 13, F8). A longer value is
#: cut, with a note saying so.
FIELD_LIMIT = 2000
#: The most characters of a whole pull request body: GitHub refuses bodies over 65 536.
BODY_LIMIT = 60000
_CUT = " … (cut)"


def visible(ch: str) -> str:
    r"""``ch`` itself, or ``<U+XXXX>`` when it is a character a reader cannot see or that
    reorders the text around it: C0/C1 controls other than space, Unicode format characters
    (bidirectional overrides and isolates such as U+202E, zero-width characters, the BOM),
    line and paragraph separators, surrogates, private-use and unassigned code points
    (Unicode general categories Cc, Cf, Zl, Zp, Cs, Co, Cn).

    >>> visible("\u202e"), visible("a")
    ('<U+202E>', 'a')
    """
    if unicodedata.category(ch) in _INVISIBLE:
        return f"<U+{ord(ch):04X}>"
    return ch


_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def md_text(text: str, limit: Optional[int] = FIELD_LIMIT) -> str:
    r"""Free text made inert in GitHub-flavoured Markdown, also inside a table cell.

    Every ASCII punctuation mark is backslash-escaped (so a value cannot start a heading, a
    list, emphasis, a link or image, an HTML tag, an entity, an autolink or an emoji code, nor
    end a table cell: GFM reads ``\|`` as a literal ``|``); line breaks and tabs become spaces;
    other invisible or reordering characters are shown as ``<U+XXXX>`` (see :func:`visible`);
    ``@`` and ``#`` are followed by a zero-width space so GitHub makes no mention and no
    issue reference of them. The result is at most ``limit`` characters (:data:`FIELD_LIMIT`;
    ``None``: no bound): a longer one is cut between two characters' renderings and ends with
    ``" … (cut)"``.

    >>> md_text("`x` <b>@all</b>")
    '\\`x\\` \\<b\\>\\@&#8203;all\\<\\/b\\>'
    >>> md_text("@" * 10, limit=30)
    '\\@&#8203;\\@&#8203; … (cut)'
    """
    out = []
    total = 0
    text = str(text)
    for i, ch in enumerate(text):
        if ch in _PUNCTUATION:
            piece = "\\" + ch + (_BREAK if ch in "@#" else "")
        elif ch in "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029":
            piece = " "
        else:
            shown = visible(ch)
            piece = ch if shown == ch else md_text(shown, None)
        if limit is not None and total + len(piece) > limit - (len(_CUT) if i + 1 < len(text) else 0):
            out.append(_CUT)
            break
        out.append(piece)
        total += len(piece)
    return "".join(out)


def md_code(text: str, *, in_table: bool = False, limit: Optional[int] = FIELD_LIMIT) -> str:
    r"""An inline code span that shows ``text`` literally whatever it contains.

    Runs of whitespace (line breaks too) become one space; invisible or reordering characters
    are shown as ``<U+XXXX>`` (:func:`visible`); the fence is longer than any run of backticks
    inside. ``in_table``: the span is in a GFM table cell, where ``|`` ends the cell even
    inside a code span, so each ``|`` is written ``\|`` (and each backslash doubled, so that
    no backslash can escape the backslash meant for the pipe): the cell stays one cell; a
    backslash then shows doubled, a pipe shows as ``|``.

    >>> md_code("a`b")
    '``a`b``'
    >>> md_code("x|y", in_table=True)
    '`x\\|y`'
    """
    text = "".join(visible(ch) for ch in " ".join(str(text).split()))
    cut = ""
    if limit is not None:
        # Each fence can be as long as the text (all backticks), and a table doubles it.
        keep = (limit - len(_CUT) - 4) // 3 // (2 if in_table else 1)
        if len(text) > keep:
            text, cut = text[:keep], _CUT
    if in_table:
        text = text.replace("\\", "\\\\").replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}{cut}"


def visible_lines(text: str) -> str:
    r"""``text`` with line breaks as ``\n`` (``\r\n`` and a lone ``\r`` too), tabs kept, and
    every other character a reader cannot see or that reorders the text (ANSI escapes,
    bidirectional overrides, ...) shown as ``<U+XXXX>`` (:func:`visible`). Idempotent.

    >>> visible_lines("a\r\n\x1b[1mb")
    'a\n<U+001B>[1mb'
    """
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch if ch in "\n\t" else visible(ch) for ch in text)


def md_block(text: str, info: str = "text") -> str:
    r"""A fenced code block holding ``text`` verbatim (the fence is longer than any run of
    backticks inside), except for :func:`visible_lines`: characters a reader cannot see or
    that reorder the text are shown as ``<U+XXXX>``. (``pr-describe`` keeps the last 20 000
    characters of a log; :func:`describe_change` bounds the whole body.)
    """
    text = visible_lines(text)
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


@dataclass
class Change:
    """A described change: ``title`` (one line), ``body`` (Markdown) and whether the record changed."""

    title: str
    body: str
    changed: bool


def _files_table(files: List[DistributionFile]) -> List[str]:
    lines = ["| file | size (bytes) | sha256 |", "|---|---:|---|"]
    for f in sorted(files, key=lambda f: f.filename):
        lines.append(f"| {md_code(f.filename, in_table=True)} | {int(f.size)} | {md_code(f.sha256, in_table=True)} |")
    return lines


def _release_lines(version: str, old: Optional[Release], new: Optional[Release]) -> List[str]:
    lines: List[str] = []
    if new is None and old is not None:
        lines.append(f"- **{md_code(version)}: removed**, with {len(old.files)} file(s):")
        lines += ["", *_files_table(old.files), ""] if old.files else []
        return lines
    assert new is not None
    old_files = {f.filename: f for f in old.files} if old else {}
    new_files = {f.filename: f for f in new.files}
    added = [f for n, f in new_files.items() if n not in old_files]
    removed = [f for n, f in old_files.items() if n not in new_files]
    notes = []
    if old is None:
        notes.append("new release")
    source = new.extra.get("source")
    if source and (old is None or old.extra.get("source") != source):
        notes.append(f"source: {md_text(source)}")
    if new.yanked and not (old and old.yanked):
        notes.append("**yanked**" + (f" (reason: {md_text(new.yanked_reason)})" if new.yanked_reason else ""))
    elif old is not None and old.yanked and not new.yanked:
        notes.append("no longer yanked")
    elif new.yanked and old and old.yanked_reason != new.yanked_reason:
        notes.append(f"yank reason now: {md_text(new.yanked_reason)}")
    if not (notes or added or removed or (old and old.extra != new.extra)):
        return lines
    lines.append(f"- **{md_code(version)}**" + (": " + "; ".join(notes) if notes else ""))
    git = new.extra.get("git")
    if isinstance(git, dict) and git != (old.extra.get("git") if old else None):
        lines.append(
            f"  - installed from git, no files hosted: {md_code(str(git.get('url', '')))} at tag {md_code(str(git.get('tag', '')))}"
        )
    if added:
        lines += ["", f"  Files added ({len(added)}):", "", *("  " + row for row in _files_table(added)), ""]
    if removed:
        lines += ["", f"  Files removed ({len(removed)}):", "", *("  " + row for row in _files_table(removed)), ""]
    if new is not None and not new.files and not git:
        lines.append("  - no distribution files")
    return lines


def _pypi_lines(project: Optional[Project]) -> List[str]:
    if project is None:
        return []
    pypi = project.extra.get("pypi")
    if not isinstance(pypi, dict):
        return []
    status = pypi.get("status")
    url = str(pypi.get("pypi_url") or "https://pypi.org")
    name = md_code(project.normalized_name)
    if status in ("higher", "exists"):
        highest = pypi.get("highest")
        detail = (
            f"with a higher version ({md_code(str(highest))}) than this index has" if status == "higher" else "with versions"
        )
        return [
            "> [!WARNING]",
            f"> **Dependency confusion risk:** {md_text(url)} has a project named {name} {detail}.",
            "> `pip install --extra-index-url` would pick the higher version from either index: users should",
            "> install with `--index-url` pointing here, or with uv's `--index-strategy first-index` (the default).",
            "",
        ]
    if status == "unknown":
        return [
            "> [!NOTE]",
            f"> PyPI could not be checked for {name}: {md_text(str(pypi.get('error', '')))}",
            "",
        ]
    return []


def _status_text(project: Optional[Project]) -> str:
    if project is None:
        return "active"
    try:
        status, reason = project.status
    except ValueError:
        return "invalid"
    return md_code(status) + (f" (reason: {md_text(reason)})" if reason else "")


def _status_line(before: Optional[Project], after: Project) -> str:
    """The PEP 792 status change as a list item, or ``""`` when it did not change."""
    old, new = _status_text(before), _status_text(after)
    if old == new:
        return ""
    line = f"- **project status: {new}** (was {old})"
    if new.startswith("`quarantined`"):
        line += "; the index will offer none of its files once merged"
    return line


def describe_change(
    action: str,
    name: str,
    version: Optional[str],
    before: Optional[Project],
    after: Optional[Project],
    *,
    log: Optional[str] = None,
    run_url: Optional[str] = None,
) -> Change:
    """Describe what ``action`` did to project ``name`` (normalized) given its records.

    ``before``/``after`` are the project's records before and after (``None``: no record),
    ``version`` the release the action was about (normalized PEP 440 string, or ``None`` for a
    whole project), ``log`` what the command printed (shown verbatim in a code block) and
    ``run_url`` the workflow run's web URL. Raises ``ValueError`` for an unknown ``action``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    title = f"{action} {name}" + (f" {version}" if version else "")
    changed = (before.to_json() if before else None) != (after.to_json() if after else None)
    lines: List[str] = [f"## {md_text(action)} {md_code(name)}" + (f" {md_code(version)}" if version else ""), ""]
    lines += _pypi_lines(after)
    if not changed:
        lines += ["Nothing changed: the index already had this state.", ""]
    elif after is None:
        lines += [f"**The project {md_code(name)} is removed** from the index, with every release and file.", ""]
    else:
        if before is None:
            lines += [f"**New project** {md_code(after.name)}.", ""]
        fields = []
        for attr in ("name", "summary", "author", "homepage"):
            new_value = getattr(after, attr)
            old_value = getattr(before, attr) if before else None
            if new_value != old_value and (before is not None or new_value):
                shown = md_code(new_value) if attr in ("name", "homepage") else md_text(new_value)
                fields.append(f"- {attr}: {shown}" + (" (changed)" if before is not None else ""))
        repo = after.extra.get("repository")
        if isinstance(repo, dict) and repo != (before.extra.get("repository") if before else None):
            fields.append(
                f"- repository: {md_code(str(repo.get('full_name') or repo.get('url') or ''))}"
                f" ({md_text(str(repo.get('visibility', 'unknown')))})"
            )
        status_line = _status_line(before, after)
        if status_line:
            fields.append(status_line)
        if fields:
            lines += ["### Project", "", *fields, ""]
    if changed:
        old_releases: Dict[str, Release] = before.releases if before else {}
        new_releases: Dict[str, Release] = after.releases if after else {}
        release_lines: List[str] = []
        from .model import parse_version

        for v in sorted(set(old_releases) | set(new_releases), key=parse_version, reverse=True):
            release_lines += _release_lines(v, old_releases.get(v), new_releases.get(v))
        if release_lines:
            lines += ["### Releases", "", *release_lines, ""]
    if log and log.strip():
        lines += ["### Command output", "", md_block(log), ""]
    if run_url:
        lines += [f"Opened by the {md_code(action)} workflow: [run]({run_url}).", ""]
    lines.append("Merging this pull request deploys the index (deploy workflow).")
    return Change(title=title, body=_capped_body(lines), changed=changed)


def _capped_body(lines: List[str]) -> str:
    """The body of ``lines``, at most :data:`BODY_LIMIT` characters: a longer one is cut at a
    line break (hundreds of files, many long fields) and ends with a note saying so, outside
    any code block that the cut left open, and the closing line kept."""
    body = "\n".join(lines) + "\n"
    if len(body) <= BODY_LIMIT:
        return body
    last = lines[-1]
    note = (
        "\n\n**This description was cut at {} of its {} characters** (GitHub's limit is 65 536); "
        "the full change is in the pull request's diff.\n\n"
    )
    room = BODY_LIMIT - len(note) - 40 - len(last) - 1
    head = body[:room]
    head = head[: head.rfind("\n") + 1] if "\n" in head else ""
    fence = ""  # the fence of the code block open at the cut (md_block's fences), if any
    for line in head.splitlines():
        if not fence and line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        elif fence and line.strip() == fence:
            fence = ""
    if fence:
        head += fence + "\n"  # closed, so the note is not shown as code
    head = head.rstrip("\n")
    return head + note.format(len(head), len(body)) + last + "\n"


__all__ = ["ACTIONS", "BODY_LIMIT", "FIELD_LIMIT", "Change", "describe_change", "md_block", "md_code", "md_text", "visible", "visible_lines"]
