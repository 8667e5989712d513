"""``pagesindex migrate``: import an index made with the old static template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import click

from .cli import console, main, open_index
from .sources.legacy import INFO, KINDS, apply_migration, describe_changes, plan_migration, read_old_index


def format_report(data: Dict[str, Any]) -> List[str]:
    """The report (``MigrationPlan.report_json``) as lines of plain text for a maintainer."""
    lines = [f"source: {data['source']}"]
    lines.append(f"projects ({len(data['projects'])}):")
    for p in data["projects"]:
        versions = ", ".join(p["versions-with-files"]) or "-"
        git = f"; git only: {', '.join(p['git-versions'])}" if p["git-versions"] else ""
        lines.append(f"  {p['name']}: {p['files']} files, versions {versions}{git}")
    changes = data["changes"]
    verb = "would change" if data["dry-run"] else "changed"
    lines.append(f"{verb} ({len(changes)}):" if changes else f"{verb}: nothing (the index already holds all of it)")
    lines.extend(f"  {c}" for c in changes)
    sources = list(data.get("upload-times", {}).values())
    if sources:
        lines.append(
            f"upload times: {sources.count('git')} from the git history of the old index (the commit that added each file), "
            f"{sources.count('migration')} set to now (no git history{'' if sources.count('migration') == 0 else '; migrate a git checkout of the old index to keep them'})"
        )
    found = data["disagreements"]
    warnings = [d for d in found if d["severity"] != INFO]
    notes = [d for d in found if d["severity"] == INFO]
    lines.append(f"disagreements: {len(warnings)} to look at, {len(notes)} for information")
    for group in (warnings, notes):
        kinds: Dict[str, List[Dict[str, Any]]] = {}
        for d in group:
            kinds.setdefault(d["kind"], []).append(d)
        for kind in sorted(kinds):
            lines.append(f"  {kind} ({len(kinds[kind])}): {KINDS.get(kind, '')}")
            for d in kinds[kind]:
                who = f"{d['project']}: " if d["project"] else ""
                lines.append(f"    - {who}{d['message']}")
    quiet = sorted(set(KINDS) - {d["kind"] for d in found})
    if quiet:
        lines.append(f"  checked, none found: {', '.join(quiet)}")
    return lines


@main.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
@click.pass_context
def migrate(ctx: click.Context, path: str, dry_run: bool, as_json: bool) -> None:
    """Import the index at PATH made with the old template (root cards, project pages, packages/).

    Every file under PATH/packages/ is added as 'pagesindex add' adds it; project fields come from
    the old pages; old file URLs keep working; disagreements are reported.
    """
    index = open_index(ctx)
    if index.config.storage.is_object_store:
        from .errors import IndexStateError

        # Old file URLs are kept by serving the same bytes at the same paths, which only the git
        # store does; 'storage migrate' then keeps them as the legacy set (README.md).
        raise IndexStateError(
            f"migrate imports into a git-store index only (this one has storage.kind {index.config.storage.kind!r}, "
            "which would drop the old file URLs): migrate into a new index with the default [storage], "
            f"then run 'pagesindex storage migrate --to {index.config.storage.kind}'"
        )
    old = read_old_index(Path(path))
    plan = plan_migration(old, index.config.storage.max_file_bytes)
    if dry_run:
        changes = describe_changes(index, plan)
    else:
        with index.lock():
            changes = apply_migration(index, plan)
    data = plan.report_json(changes, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for line in format_report(data):
        console.print(line, markup=False)
    if changes and not dry_run:
        console.print("next: pagesindex build && pagesindex verify")
