"""``pagesindex check``: the dependency-confusion check against PyPI (see :mod:`.checks.pypi`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import click

from .checks.pypi import (
    HIGHER,
    UNKNOWN,
    EXISTS,
    check_many,
    exit_code,
    installable_versions,
    markdown_report,
    resolve_pypi_url,
    should_record,
)
from .cli import console, err_console, main, open_index
from .model import normalize_name
from .state import atomic_write

_STYLE = {HIGHER: "bold red", EXISTS: "yellow", UNKNOWN: "magenta"}


@main.command()
@click.argument("names", nargs=-1)
@click.option("--strict", is_flag=True, help="Exit 1 when a name exists on PyPI (or could not be checked).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of a table.")
@click.option("--pypi-url", default=None, help="Base URL of PyPI (default: index.toml [pypi] url, else https://pypi.org).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 300), help="Seconds per request.")
@click.option("--no-save", is_flag=True, help="Do not store the results in the project records.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), default=None, help="Also write a Markdown report to this file.")
@click.pass_context
def check(
    ctx: click.Context,
    names: Tuple[str, ...],
    strict: bool,
    as_json: bool,
    pypi_url: Optional[str],
    timeout: float,
    no_save: bool,
    markdown_path: Optional[str],
) -> None:
    """Check projects NAMES (default: all) against PyPI for dependency confusion.

    Status per project: higher (pip would install PyPI's version: exit 2), exists (the name is
    taken on PyPI: exit 1 with --strict), clear (not on PyPI), unknown (PyPI could not be asked;
    never counted as clear; exit 1 with --strict). Results are stored in each project's record
    (extra.pypi) unless --no-save.
    """
    index = open_index(ctx)
    base = resolve_pypi_url(pypi_url, index.config.pypi_url)
    wanted: List[str] = []
    for name in names:
        normalized = normalize_name(name)
        if normalized not in wanted:
            wanted.append(normalized)
    projects = [index.get_project(n) for n in wanted] if wanted else index.projects()
    items = [(p.normalized_name, installable_versions(p)) for p in projects]
    results = check_many(items, pypi_url=base, timeout=timeout) if items else []

    if not no_save and results:
        with index.lock():
            for result in results:
                current = index.load_project(result.project)
                if current is None:
                    continue
                if should_record(current.extra.get("pypi"), result):
                    index.set_pypi_check(result.project, result.record())
    if markdown_path:
        atomic_write(Path(markdown_path), markdown_report(results).encode("utf-8"))

    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2))
    elif not results:
        console.print("no projects to check")
    elif not sys.stdout.isatty():
        # Not a terminal (a log, a pipe): plain aligned columns that never wrap a project name.
        rows = [("project", "this index", "PyPI highest", "status", "note")]
        rows += [(r.project, r.newest or "-", r.highest or "-", r.status, r.note) for r in results]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        console.print(f"PyPI check against {base}", markup=False)
        for row in rows:
            console.print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4], markup=False)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("higher", "exists", "clear", "unknown")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items()))
    else:
        from rich.table import Table

        table = Table(title=f"PyPI check against {base}", title_justify="left")
        for column in ("project", "this index", "PyPI highest", "status", "note"):
            table.add_column(column, overflow="fold")
        for r in results:
            style = _STYLE.get(r.status, "green")
            table.add_row(r.project, r.newest or "-", r.highest or "-", f"[{style}]{r.status}[/{style}]", r.note)
        console.print(table)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("higher", "exists", "clear", "unknown")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items()))
    code = exit_code(results, strict)
    if code == 2:
        err_console.print("PyPI has a version that pip would install instead of this index's (see 'higher')", markup=False)
    sys.exit(code)
