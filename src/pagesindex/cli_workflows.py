"""Commands for the GitHub Actions side of an index: ``workflows`` and ``pr-describe``.

``pagesindex workflows`` writes (or, with ``--check``, compares) the bundled workflows in
``.github/workflows/``. ``pagesindex pr-describe`` is what the register, update, delete, yank and status
workflows run after their command: it compares the project's record in the committed state
(``git show BASE:projects/<name>.json``) with the working tree and writes the pull request's
title, branch and Markdown body as step outputs (``GITHUB_OUTPUT``) and to the job summary
(``GITHUB_STEP_SUMMARY``), as GitHub documents them:
https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional

import click

from .changes import ACTIONS, describe_change, visible_lines
from .cli import check_url, console, err_console, main, open_index
from .errors import PagesIndexError
from .model import Project, normalize_name, version_from_tag
from .state import Index
from .workflows import RELEASE_SNIPPET, install_workflows, stale_workflows

_REV = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/^~@{}-]*")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
#: Characters of command output quoted in a pull request body (GitHub allows 65536 in all).
LOG_LIMIT = 20000


@main.command()
@click.option("--check", is_flag=True, help="Only compare; exit 1 listing the workflows that differ from the bundled ones.")
@click.option("--snippet", is_flag=True, help="Print the workflow a package's own repository uses to trigger update, and stop.")
@click.pass_context
def workflows(ctx: click.Context, check: bool, snippet: bool) -> None:
    """Write the bundled GitHub Actions workflows into .github/workflows/ of the index."""
    if snippet:
        click.echo(RELEASE_SNIPPET.read_text(encoding="utf-8"), nl=False)
        return
    index = open_index(ctx)
    if check:
        stale = stale_workflows(index.root)
        for path in stale:
            err_console.print(f"problem: {path} is missing or differs from the bundled workflow", markup=False)
        if stale:
            err_console.print(f"{len(stale)} workflow{'s' if len(stale) != 1 else ''} out of date: run 'pagesindex workflows'", markup=False)
            sys.exit(1)
        console.print("ok: workflows are up to date", markup=False)
        return
    changed = install_workflows(index.root)
    for path in changed:
        console.print(f"wrote {path}", markup=False)
    console.print(f"{len(changed)} file{'' if len(changed) == 1 else 's'} written", markup=False)


def _committed_record(index: Index, name: str, base: str) -> Optional[Project]:
    """The project's record at git revision ``base`` (``None`` when that commit has none)."""
    if not _REV.fullmatch(base):
        raise PagesIndexError(f"invalid --base: {base!r} (a git revision such as HEAD)")
    try:
        rev = subprocess.run(
            ["git", "-C", str(index.root), "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        raise PagesIndexError("pr-describe needs git, which is not installed") from None
    if rev.returncode != 0:
        raise PagesIndexError(f"--base {base!r} is not a commit of a git repository at {str(index.root)!r}")
    show = subprocess.run(
        ["git", "-C", str(index.root), "show", f"{rev.stdout.strip()}:./projects/{name}.json"],
        capture_output=True,
    )
    if show.returncode != 0:
        return None
    try:
        return Project.from_json(json.loads(show.stdout))
    except (ValueError, KeyError, TypeError) as exc:
        raise PagesIndexError(f"projects/{name}.json at {base}: invalid project record ({exc})") from None


def _write_outputs(path: str, values: Dict[str, str]) -> None:
    for key, value in values.items():
        if "\n" in value or "\r" in value:  # pragma: no cover - values are built from validated parts
            raise PagesIndexError(f"output {key!r} would span lines")
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            fh.write(f"{key}={value}\n")


def _run_url() -> Optional[str]:
    server = os.environ.get("GITHUB_SERVER_URL", "")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    if not (server and _REPOSITORY.fullmatch(repo) and run_id.isdigit()):
        return None
    try:
        check_url(server, "GITHUB_SERVER_URL")
    except PagesIndexError:
        return None
    if "(" in server or ")" in server:
        return None
    return f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"


@main.command("pr-describe")
@click.argument("action", type=click.Choice(ACTIONS))
@click.argument("name")
@click.argument("version", required=False, default="")
@click.option("--base", default="HEAD", show_default=True, help="Git revision holding the state before the change.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None, help="What the command printed (quoted in the body).")
@click.option("--body-file", type=click.Path(dir_okay=False), default=None, help="Where to write the Markdown body (default: in RUNNER_TEMP).")
@click.option("--github-output", envvar="GITHUB_OUTPUT", default=None, help="Step outputs file (default: $GITHUB_OUTPUT).")
@click.option("--step-summary", envvar="GITHUB_STEP_SUMMARY", default=None, help="Job summary file (default: $GITHUB_STEP_SUMMARY).")
@click.pass_context
def pr_describe(
    ctx: click.Context,
    action: str,
    name: str,
    version: str,
    base: str,
    log_path: Optional[str],
    body_file: Optional[str],
    github_output: Optional[str],
    step_summary: Optional[str],
) -> None:
    """Describe the change ACTION made to project NAME (release VERSION) for a pull request.

    Writes the step outputs changed (true/false), branch, title and body-path.
    """
    index = open_index(ctx)
    normalized = normalize_name(name)
    if version:
        version = str(version_from_tag(version))
    elif action not in ("delete", "status"):
        raise PagesIndexError(f"{action} needs a VERSION")
    before = _committed_record(index, normalized, base)
    after = index.load_project(normalized)
    log = None
    if log_path:
        try:
            log = Path(log_path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise PagesIndexError(f"cannot read --log {log_path!r}: {exc.strerror}") from None
        log = visible_lines(log)  # as the body shows it, so hidden characters count at their shown length
        if len(log) > LOG_LIMIT:  # a pull request body holds at most 65536 characters
            log = "[… earlier output left out …]\n" + log[-LOG_LIMIT:]
    change = describe_change(action, normalized, version or None, before, after, log=log, run_url=_run_url())
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    branch = f"pagesindex/{action}-{normalized}-run-{run_id if run_id.isdigit() else 'local'}"
    if body_file is None:
        folder = os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()
        body_file = os.path.join(folder, f"pagesindex-pr-body-{action}-{normalized}.md")
    body_path = Path(body_file).resolve()
    body_path.write_text(change.body, encoding="utf-8")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(change.body)
    if github_output:
        _write_outputs(
            github_output,
            {
                "changed": "true" if change.changed else "false",
                "branch": branch,
                "title": change.title,
                "body-path": str(body_path),
            },
        )
    console.print(f"{change.title}: {'changed' if change.changed else 'nothing changed'}", markup=False)
    console.print(f"branch {branch}; body in {body_path}", markup=False)
