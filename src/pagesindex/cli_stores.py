"""``pagesindex publish``: make the staged files of the committed state public (object stores)."""

from __future__ import annotations

from typing import Optional

import click

from .cli import _plural, console, main, open_index


@main.command()
@click.pass_context
def publish(ctx: click.Context) -> None:
    """Copy the staged files of the committed state to their public keys in the object store
    (idempotent; refuses to change a file already published). The deploy workflow runs it
    after the merge, before 'pagesindex build'."""
    index = open_index(ctx)
    if not index.config.storage.is_object_store:
        # The deploy workflow runs publish for every index: with git there is nothing to do.
        console.print("nothing to publish: storage.kind is 'git' (the files are committed with the records)", markup=False)
        return
    with index.lock(write=False):
        counts = index.publish(lambda filename, result: console.print(f"{result:<10}{filename}", markup=False))
    console.print(
        f"{_plural(counts['published'], 'file')} published, {counts['unchanged']} already public, "
        f"{counts['removed']} removed from the store",
        markup=False,
    )


@main.group()
def storage() -> None:
    """Move the index's files to an object store, and clean its staged files (see README.md,
    "Where the files live")."""


@storage.command("migrate")
@click.option("--to", "kind", default=None, help="the object store kind: s3 or github-release (default: the index's own, once it has moved)")
@click.option("--bucket", default=None, help="s3: the bucket")
@click.option("--public-url", default=None, help="s3: where users download what is under --prefix")
@click.option("--prefix", default=None, help="s3: key prefix of the public files (default files/)")
@click.option("--staging-prefix", default=None, help="s3: key prefix of staged files, never public (default staging/)")
@click.option("--endpoint-url", default=None, help="s3: the S3 API endpoint (default AWS)")
@click.option("--region", default=None, help="s3: the region")
@click.option("--repository", default=None, help="github-release: ORG/REPO (default $GITHUB_REPOSITORY, the index's own in Actions; written to index.toml)")
@click.pass_context
def storage_migrate(ctx: click.Context, kind: Optional[str], **options: str) -> None:
    """Move the files of a git-store index to an object store, keeping every old file URL.

    Every file under packages/ is staged in the store and stays committed there as the frozen
    legacy set (extra.legacy-files of each record), which the site keeps serving at its old
    packages/<name>/<file> URL; the API pages link the store for every file. index.toml's
    [storage] is written last. Then commit, and run 'pagesindex publish' (the deploy workflow
    does after the merge). Running it again changes nothing; a killed run resumes.
    """
    from .storage_move import migrate_storage, target_table

    index = open_index(ctx)
    moved = index.config.storage.is_object_store
    if kind is None:
        if not moved:
            raise click.UsageError("Missing option '--to' (s3 or github-release): the index keeps its files in git")
        kind = index.config.storage.kind
    # After the move, a run only checks that each legacy file is in the store (sent again when not).
    word = "in store" if moved and index.config.storage.kind == kind else "staged"
    with index.lock():
        table = target_table(index, kind, {k.replace("_", "-"): v for k, v in options.items()})
        counts = migrate_storage(index, table, lambda filename, result: console.print(f"{word:<10}{filename}", markup=False))
    if not counts["records"] and not counts["config"]:
        console.print(f"nothing to change: the index already uses storage.kind {kind!r} "
                      f"({_plural(counts['staged'], 'legacy file')} checked in the store)", markup=False)
        return
    console.print(
        f"{_plural(counts['staged'], 'file')} staged, {_plural(counts['records'], 'record')} changed, index.toml "
        f"{'written' if counts['config'] else 'unchanged'}; commit the change (index.toml, projects/, metadata/), "
        "then run 'pagesindex publish' (the deploy workflow does after the merge)",
        markup=False,
    )


@storage.command("cleanup")
@click.option("--keep-state", "keep_states", multiple=True, type=click.Path(file_okay=False),
              help="another state whose staged files stay (an open pull request's checkout, or its projects/ folder); repeatable")
@click.option("--older-than", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="only files staged more than this many hours ago (a change being prepared now is not in any pull request yet)")
@click.option("--keep-open-pull-requests", "keep_open", is_flag=True,
              help="also keep what the open pull requests of $GITHUB_REPOSITORY name (GitHub API; GITHUB_TOKEN)")
@click.option("--dry-run", is_flag=True, help="list what would be deleted; delete nothing")
@click.pass_context
def storage_cleanup(ctx: click.Context, keep_states: "tuple[str, ...]", older_than: float, keep_open: bool, dry_run: bool) -> None:
    """Delete staged files that no record names: those of a pull request closed without merging,
    or of an interrupted add. Files named by the committed state, by any --keep-state, or (with
    --keep-open-pull-requests) by an open pull request stay: staged files are stored by content,
    so two pull requests with the same bytes share one. Everything is read before anything is
    deleted. The cleanup workflow runs it when a pull request is closed without merging."""
    import os
    from pathlib import Path

    from .storage_move import cleanup_staged

    index = open_index(ctx)
    if not index.config.storage.is_object_store:
        console.print("nothing to clean: storage.kind is 'git' (nothing is staged)", markup=False)
        return
    keep_projects = []
    if keep_open:
        from .github_api import GitHubClient, GitHubConfig
        from .sources.pull_requests import open_pull_request_records

        with GitHubClient(GitHubConfig.from_env()) as client:
            keep_projects = open_pull_request_records(client, os.environ.get("GITHUB_REPOSITORY", ""))
    verb = "would delete" if dry_run else "deleted"
    with index.lock(write=False):
        gone = cleanup_staged(index, [Path(p) for p in keep_states], older_than * 3600, dry_run=dry_run,
                              progress=lambda s: console.print(f"{verb:<13}{s.where} ({s.size} bytes)", markup=False),
                              keep_projects=keep_projects)
    console.print(f"{_plural(len(gone), 'staged file')} {'would be deleted' if dry_run else 'deleted'}", markup=False)
