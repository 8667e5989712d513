"""``pagesindex publish``: make the staged files of the committed state public (object stores)."""

from __future__ import annotations

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
