"""The ``pagesindex`` command line: one thin command per user action.

Every command that fails prints one line ``error: <message>`` on stderr and exits with status 1,
having written nothing; a usage error (a bad option value, a missing option or argument, an
unknown command) too, instead of click's usage block and status 2.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional

import click

from . import __version__
from .errors import PagesIndexError

if TYPE_CHECKING:  # imported where used: `pagesindex --version` or `build` load only what they need
    from rich.console import Console

    from .state import Index


class LazyConsole:
    """Prints as ``rich.console.Console(highlight=False, soft_wrap=True, emoji=False)`` does, and
    imports rich only when it is needed (rich.console and rich.progress cost 25-30 ms of start-up).

    Plain text (printable ASCII, new lines, and no ``[`` where markup is on) written to a stream
    that rich would not treat as a terminal is written as it is, followed by a new line and a flush:
    that is exactly what rich writes for it, since it adds no styles and does not wrap
    (``soft_wrap``). Everything else (markup, ``Text``, tables, a terminal, ``FORCE_COLOR``...)
    goes through a real rich ``Console``, made on first use and reachable as :attr:`rich`;
    other attributes (``is_terminal``...) are the real console's.
    """

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._rich: Optional[Console] = None

    @property
    def file(self):
        """The stream written to, looked up at each print (as rich does): sys.stdout or sys.stderr."""
        return sys.stderr if self._stderr else sys.stdout

    @property
    def rich(self) -> Console:
        """The real ``rich.console.Console`` behind this one (made, and rich imported, on first use)."""
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=self._stderr, highlight=False, soft_wrap=True, emoji=False)
        return self._rich

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.rich, name)

    def is_plain(self) -> bool:
        """True when rich surely treats the stream as not a terminal (no styles, no live display),
        decided as ``rich.console.Console.is_terminal`` does: ``TTY_COMPATIBLE``, ``FORCE_COLOR``,
        then ``isatty()``. Under Jupyter (where rich displays instead of writing) it is False."""
        if self._rich is not None:
            return not self._rich.is_terminal and not self._rich.is_jupyter
        import builtins

        if "get_ipython" in vars(builtins):
            return False
        environ = os.environ
        tty_compatible = environ.get("TTY_COMPATIBLE", "")
        if tty_compatible in ("0", "1"):
            return tty_compatible == "0"
        force_color = environ.get("FORCE_COLOR")
        if force_color is not None:
            return force_color == ""
        isatty = getattr(self.file, "isatty", None)
        try:
            return isatty is None or not isatty()
        except ValueError:  # a closed stream: rich says "not a terminal" too
            return True

    def plain_text(self, text: str, markup: bool = True) -> bool:
        """True when rich would print ``text`` unchanged on this stream (see the class docstring)."""
        return (
            type(text) is str
            and text.isascii()
            and text.replace("\n", "").isprintable()
            and not (markup and "[" in text)
            and self.is_plain()
        )

    def write_line(self, text: str) -> None:
        """Write ``text`` and a new line, then flush (as rich does after each print); on a closed
        pipe, do what rich does (stop writing, exit status 1)."""
        file = self.file
        try:
            file.write(text + "\n")
            file.flush()
        except BrokenPipeError:
            self.rich.on_broken_pipe()

    def print(self, *objects, markup: Optional[bool] = None, soft_wrap: Optional[bool] = None, **kwargs) -> None:
        """``rich.console.Console.print``, without rich for plain text."""
        if len(objects) == 1 and not kwargs and soft_wrap is not False and self.plain_text(objects[0], markup is not False):
            self.write_line(objects[0])
            return
        if markup is not None:
            kwargs["markup"] = markup
        if soft_wrap is not None:
            kwargs["soft_wrap"] = soft_wrap
        self.rich.print(*objects, **kwargs)


console = LazyConsole()
err_console = LazyConsole(stderr=True)


def print_error(message: str) -> None:
    """Print ``error: MESSAGE`` on stderr as plain text (no rich markup or emoji codes are read
    from the message, which names user values such as ``[/]`` or ``:smile:``)."""
    if err_console.plain_text(message, markup=False):
        err_console.write_line(f"error: {message}")
        return
    from rich.text import Text

    err_console.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)


class UsageError(click.ClickException):
    """A click usage error (bad option value, missing option, unknown command) shown as the
    other errors are: one line ``error: <click's message> (see 'COMMAND --help')``, exit 1."""

    exit_code = 1

    def __init__(self, error: click.UsageError) -> None:
        message = " ".join(error.format_message().split())
        ctx = error.ctx
        if ctx is not None:
            message = f"{message[:-1] if message.endswith('.') else message} (see '{ctx.command_path} --help')"
        super().__init__(message)

    def show(self, file=None) -> None:
        print_error(self.format_message())


#: Raised by click (8.2+) to show the help of a group run without arguments: kept as it is.
_SHOWS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Group(click.Group):
    """Turns :class:`PagesIndexError` (and OS errors) into a one-line error and exit status 1,
    and click's usage errors into the same (:class:`UsageError`).

    Commands defined in other modules are loaded lazily (click's "lazily loading subcommands"
    pattern): :attr:`lazy_commands` maps a command name to the module of this package that defines
    it with ``@main.command()``; the module is imported only when that command is run, or when
    ``--help`` lists every command with its short help.
    """

    lazy_commands: Dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(self.commands) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            import importlib

            importlib.import_module(f"{__package__}.{self.lazy_commands[cmd_name]}")
        return self.commands.get(cmd_name)

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _SHOWS_HELP:
            raise
        except click.UsageError as exc:
            raise UsageError(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _SHOWS_HELP:
            raise
        except click.UsageError as exc:
            raise UsageError(exc) from None
        except PagesIndexError as exc:
            print_error(str(exc))
            sys.exit(1)
        except OSError as exc:
            where = f": {exc.filename!r}" if getattr(exc, "filename", None) else ""
            print_error(f"{exc.strerror or exc}{where}")
            sys.exit(1)


class _NoProgress:
    """What a disabled ``rich.progress.Progress`` does (nothing), without importing rich."""

    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, **kwargs) -> int:
        return 0

    def advance(self, task: int, advance: float = 1) -> None:
        pass

    def update(self, task: int, **kwargs) -> None:
        pass


def _progress():
    """A progress bar on stderr when it is a terminal; otherwise one that draws nothing."""
    if err_console.is_plain():
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console.rich,
        transient=True,
        disable=not err_console.rich.is_terminal,
    )


def open_index(ctx: click.Context) -> Index:
    from .state import Index, find_index

    root = ctx.obj.get("index")
    return Index(Path(root)) if root else Index(find_index())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--index",
    "index_dir",
    envvar="PAGESINDEX_INDEX",
    type=click.Path(file_okay=False),
    help="Index folder (holds index.toml). Default: the current folder or the nearest one above.",
)
@click.version_option(__version__, prog_name="pagesindex")
@click.pass_context
def main(ctx: click.Context, index_dir: Optional[str]) -> None:
    """A private Python package index made of static files (GitHub Pages ready)."""
    ctx.ensure_object(dict)
    ctx.obj["index"] = index_dir


@main.command()
@click.argument("directory", type=click.Path(file_okay=False), default=None, required=False)
@click.option("--title", default="Python package index", show_default=True, help="Title of the site.")
@click.option("--url", default="", help="Public URL of the site (for the install commands it shows).")
@click.option("--description", default="", help="One paragraph shown on the landing page.")
@click.option("--no-workflows", is_flag=True, help="Do not write the GitHub Actions workflows (.github/).")
@click.pass_context
def init(ctx: click.Context, directory: Optional[str], title: str, url: str, description: str, no_workflows: bool) -> None:
    """Create an empty index (index.toml, projects/, packages/, .github/workflows/) in DIRECTORY
    (default: the --index folder, else the current folder)."""
    from .state import Index

    index_dir = ctx.obj.get("index") if ctx.obj else None
    if directory and index_dir and Path(directory).resolve() != Path(index_dir).resolve():
        raise click.UsageError(f"init was given two folders: DIRECTORY {directory!r} and --index {index_dir!r}")
    index = Index.init(Path(directory or index_dir or "."), title=title, url=url, description=description)
    console.print(f"created an index in {index.root}")
    from .workflows import install_gitignore, install_workflows

    for path in (install_gitignore(index.root) if no_workflows else install_workflows(index.root)):
        console.print(f"wrote {path}", markup=False)
    if not (index.root / ".git").exists():  # the hint comes last, after the list of files written
        console.print("next: put it under git (git init), which keeps its history and restores a damaged file "
                      "(git checkout -- FILE)", markup=False)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--summary", default=None, help="Project summary (default: from the newest file's metadata).")
@click.option("--author", default=None, help="Project author (default: from the metadata).")
@click.option("--homepage", default=None, help="Project homepage URL (default: from the metadata).")
@click.option("--attestation", "attestation_files", multiple=True,
              help="A PEP 740 attestation, Sigstore bundle or provenance object of one of FILES (repeatable).")
@click.option("--publisher", default=None,
              help="Expected signer: github:OWNER/REPO[:WORKFLOW] or gitlab:NAMESPACE/PROJECT[:CI_FILE] "
                   "(default: what the project's record expects); recorded for the project.")
@click.option("--require-provenance/--no-require-provenance", default=None,
              help="Record that the project's files must (not) have verified provenance.")
@click.pass_context
def add(ctx: click.Context, files: List[str], summary: Optional[str], author: Optional[str], homepage: Optional[str],
        attestation_files: List[str], publisher: Optional[str], require_provenance: Optional[bool]) -> None:
    """Add local wheels and sdists (FILES) to the index.

    Attestations (PEP 740) are taken from --attestation and from files beside each FILE named
    FILE.publish.attestation, FILE.slsa.attestation, FILE.sigstore or FILE.provenance; each is
    verified offline against the expected publisher, or the file is refused.
    """
    index = open_index(ctx)
    if homepage is not None:
        check_url(homepage, "--homepage")
    from .attestations import Publisher

    wanted = Publisher.parse(publisher, "--publisher") if publisher is not None else None
    project_extra = {}
    if wanted is not None or require_provenance is not None:
        project_extra["provenance"] = {}
        if wanted is not None:
            project_extra["provenance"]["publisher"] = str(wanted)
        if require_provenance is not None:
            project_extra["provenance"]["required"] = require_provenance
    # Each file is copied into the index while it is hashed, then the copy is inspected
    # (Index.add_paths): one read of each byte.
    with index.lock(), _progress() as progress:
        task = progress.add_task("adding", total=len(files))
        result = index.add_paths(
            [Path(name) for name in files],
            progress=lambda _path: progress.advance(task),
            summary=summary,
            author=author,
            homepage=homepage,
            project_extra=project_extra or None,
            attest=lambda inspected: _attest_local(index, inspected, files, attestation_files, wanted),
        )
    for f in result.added:
        note = f"  built by {f.provenance['repository']}" if f.provenance else ""
        console.print(f"added     {f.filename}  sha256={f.sha256}{note}", markup=False)
    for f in result.unchanged:
        console.print(f"unchanged {f.filename}  (already on the index)")
    console.print(f"{len(result.added)} added, {len(result.unchanged)} unchanged")


def _attest_local(index: Index, inspected: list, files: List[str], attestation_files: List[str], wanted) -> dict:
    """Verify the attestations of the files ``add`` staged (see :mod:`pagesindex.attestations`)."""
    from .attestations import ProvenanceError, expected_publisher, local_documents, verify_file

    documents = local_documents([Path(f) for f in files], [Path(a) for a in attestation_files])
    verified = {}
    for f in inspected:
        docs = documents.get(f.filename)
        if not docs:
            continue
        expected = wanted
        if expected is None:
            existing = index.load_project(f.name)
            expected = expected_publisher(existing.extra) if existing is not None else None
        if expected is None:
            raise ProvenanceError(
                f"{f.filename}: has attestations but the project expects no publisher yet "
                "(pass --publisher github:OWNER/REPO[:WORKFLOW] or gitlab:NAMESPACE/PROJECT[:CI_FILE])"
            )
        verified[f.filename] = verify_file(f.filename, f.sha256, docs, expected)
    return verified


def check_url(value: str, what: str) -> str:
    """Accept only http(s) URLs with a host; raise naming the value otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.netloc or any(c in value for c in "\"'<> \n\r\t")):
        raise PagesIndexError(f"invalid {what}: {value!r} (expected an http:// or https:// URL)")
    return value


@main.command()
@click.argument("name")
@click.argument("version", required=False)
@click.pass_context
def remove(ctx: click.Context, name: str, version: Optional[str]) -> None:
    """Remove project NAME, or only its release VERSION, with the files."""
    from .model import normalize_name, parse_version

    index = open_index(ctx)
    normalized = normalize_name(name)
    if version is not None:
        parse_version(version)
    with index.lock():
        removed = index.remove(name, version)
        gone = version is not None and index.load_project(normalized) is None
    for filename in removed:
        console.print(f"removed {filename}")
    console.print(f"{_plural(len(removed), 'file')} removed"
                  + (f"; that was the last release of {normalized}, so the project is removed too" if gone else ""))


@main.command()
@click.argument("name")
@click.argument("version")
@click.option("--reason", default="", help="Why it is yanked (shown by pip and uv).")
@click.pass_context
def yank(ctx: click.Context, name: str, version: str, reason: str) -> None:
    """Yank release VERSION of NAME (PEP 592): installed only when pinned exactly."""
    from .model import normalize_name, parse_version

    index = open_index(ctx)
    normalize_name(name)
    parse_version(version)
    if any(ord(c) < 32 for c in reason):
        raise PagesIndexError(f"invalid --reason: {reason!r} (one line of text)")
    with index.lock():
        release = index.set_yanked(name, version, True, reason)
    console.print(f"yanked {normalize_name(name)} {release.version}" + (f": {reason}" if reason else ""), markup=False)


@main.command()
@click.argument("name")
@click.argument("version")
@click.pass_context
def unyank(ctx: click.Context, name: str, version: str) -> None:
    """Undo a yank of release VERSION of NAME."""
    from .model import normalize_name, parse_version

    index = open_index(ctx)
    normalize_name(name)
    parse_version(version)
    with index.lock():
        was = index.load_project(name)
        wanted = parse_version(version)
        before = next((r for r in was.releases.values() if r.parsed_version == wanted), None) if was is not None else None
        release = index.set_yanked(name, version, False)
    if before is not None and not before.yanked:
        console.print(f"{normalize_name(name)} {release.version} was not yanked: nothing changed")
        return
    console.print(f"unyanked {normalize_name(name)} {release.version}")


@main.command()
@click.argument("name")
@click.argument("status", metavar="STATUS")
@click.option("--reason", default="", help="Why (one line; shown on the pages and to installers that read PEP 792).")
@click.pass_context
def status(ctx: click.Context, name: str, status: str, reason: str) -> None:
    """Set the project status of NAME (PEP 792): active, archived, deprecated or quarantined.

    archived: no new release is expected; deprecated: do not use it any more; both keep the
    files installable. quarantined: the index offers none of its files (its API page lists none
    and the files leave the site) until the status is set back.
    """
    from .model import PROJECT_STATUSES, normalize_name

    index = open_index(ctx)
    normalize_name(name)
    if status not in PROJECT_STATUSES:
        raise PagesIndexError(f"invalid STATUS: {status!r} (one of {', '.join(PROJECT_STATUSES)})")
    if any(ord(c) < 32 or ord(c) == 127 for c in reason):
        raise PagesIndexError(f"invalid --reason: {reason!r} (one line of text)")
    with index.lock():
        index.set_status(name, status, reason)
    console.print(f"{normalize_name(name)}: status {status}" + (f" ({reason})" if reason else ""), markup=False)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _build(index: Index, out: Optional[str], full: bool = False, copy: bool = False,
           previous: Optional[str] = None) -> Path:
    from .model import names_shown
    from .render import build_site

    out_path = Path(out) if out else index.root / "_site"
    started = time.perf_counter()
    if previous is not None:
        from .checks.deploy_state import adopt

        with index.lock(write=False):
            adopted, message = adopt(index, out_path, Path(previous))
        if not adopted:
            raise PagesIndexError(f"--previous-state {previous}: not used: {message}; nothing was built (delete the output "
                                  "folder and run 'pagesindex build' without --previous-state)")
        console.print(message, markup=False)
    with _progress() as progress:
        task = progress.add_task("rendering", total=None)
        result = build_site(
            index, out_path, progress=lambda name: progress.update(task, description=f"rendering {name}"), full=full,
            copy=copy,
        )
    elapsed = time.perf_counter() - started
    console.print(
        f"built {_plural(result.projects, 'project')} into {out_path}: {len(result.rendered)} rendered"
        f"{names_shown(sorted(result.rendered))}, "
        f"{_plural(len(result.written), 'file')} written, {len(result.removed)} removed"
        + (f", {_plural(len(result.gone), 'project')} gone{names_shown(result.gone)}" if result.gone else "")
        + f" in {elapsed:.2f} s"
    )
    return out_path


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output folder (default: _site/ in the index).")
@click.option("--full", is_flag=True, help="Render every project again (repairs pages changed by hand; never deletes a file it did not write); still writes only what differs.")
@click.option("--copy", is_flag=True, help="Copy the distribution files into the site instead of hard-linking them to the committed files.")
@click.option("--previous-state", "previous", type=click.Path(file_okay=False), default=None,
              help="The deploy: the output folder holds the site of the last deploy and DIR the state its verify saved (--save-state); build from them, rendering only what changed. Exit 1 without building when they do not match.")
@click.pass_context
def build(ctx: click.Context, out: Optional[str], full: bool, copy: bool, previous: Optional[str]) -> None:
    """Render the static site (incremental: only what changed is written)."""
    _build(open_index(ctx), out, full, copy, previous)


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Built site to check (default: _site/ in the index).")
@click.option("--require-projects", is_flag=True, help="Also a problem: an index with no project, or no built site (refuse to publish an empty site).")
@click.option("--staged", is_flag=True, help="Object stores: a file not public yet is fine when it is staged (a change under review; the workflows use it).")
@click.option("--no-store", "no_store", is_flag=True,
              help="Object stores: check the state and the site but do not ask the store (the ci workflow: a pull request's files are staged where its read-only token cannot look).")
@click.option("--full-store", "full_store", is_flag=True,
              help="Object stores: ask the store for the checksum of every published file again, ignoring the record of objects already checked (in .pagesindex-cache/).")
@click.option("--previous-state", "previous", type=click.Path(file_okay=False), default=None,
              help="The deploy: the site was built (build --previous-state) from the site whose state an earlier verify saved in DIR; check in full only what changed since, the rest by name and size (see README). A state that does not fit means a full check.")
@click.option("--save-state", "save_state", type=click.Path(file_okay=False), default=None,
              help="When no problem is found, save the state of the verified site in DIR for the next deploy (not for publishing).")
@click.pass_context
def verify(ctx: click.Context, out: Optional[str], require_projects: bool, staged: bool, no_store: bool,
           full_store: bool, previous: Optional[str], save_state: Optional[str]) -> None:
    """Check the state, and that the built site is exactly the state's; exit 1 listing the problems.

    With an object store, staged files that no record names are listed as notes (they may
    belong to an open pull request; the state alone cannot tell)."""
    from .checks.verify import verify as run_verify

    index = open_index(ctx)
    notes: List[str] = []
    problems = run_verify(index, Path(out) if out else None, require_projects=require_projects, staged=staged,
                          check_store=not no_store, full_store=full_store,
                          previous=Path(previous) if previous else None,
                          save_state=Path(save_state) if save_state else None, notes=notes)
    for note in notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False)
    if index.config.storage.is_object_store and not problems and not no_store:
        from .storage_move import orphaned_staged

        try:
            orphans = orphaned_staged(index, older_than=3600)
        except PagesIndexError as exc:  # notes are advice: e.g. a github-release token that cannot list drafts
            orphans = []
            console.print(f"note: staged files not checked for orphans ({exc})", soft_wrap=True, markup=False)
        for orphan in orphans:
            console.print(
                f"note: {orphan.where}: staged and named by no record: unless an open pull request adds it, "
                "run 'pagesindex storage cleanup' (the cleanup workflow does when a pull request is closed)",
                soft_wrap=True, markup=False,
            )
    if out and not Path(out).is_dir() and not require_projects:  # with it, verify says so
        problems.append(f"no built site at {out!r} (run 'pagesindex build --out {out}')")
    if problems:
        for problem in problems:
            err_console.print(f"problem: {problem}", soft_wrap=True, markup=False)
        err_console.print(f"{_plural(len(problems), 'problem')} found", markup=False)
        sys.exit(1)
    site = Path(out) if out else index.root / "_site"
    checked = "state and built site" if site.is_dir() else f"state only: no built site at {site}"
    console.print(f"ok: {_plural(len(index.project_names()), 'project')} verified ({checked})")


def install_hints(url: str, project: str, public_url: str = "") -> List[str]:
    """Install commands in the forms README.md's table calls safe from dependency confusion
    (never pip with ``--extra-index-url``). ``public_url``: the index's ``[index] url``, which
    the pages print in their commands; when it is not ``url`` (the served one), the last line
    says so, since those commands then install from the public index, not from this server."""
    pages = f"{url}_pages/{project}/"
    if public_url and public_url != url:
        pinned = f"pinned commands for pip, uv, poetry and pdm (they use the public URL {public_url}, not this server): {pages}"
    else:
        pinned = f"pinned commands for pip, uv, poetry and pdm: {pages}"
    return [
        f"uv pip install {project} --extra-index-url {url}",
        f"pip install {project} --index-url {url}",
        pinned,
    ]


def _serve(site: Path, port: int, example: Optional[str], server=None, public_url: str = "") -> None:
    from .serve import make_server

    server = server or make_server(site, port, quiet=False)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    console.print(f"serving {site} at {url}  (Ctrl-C stops)")
    if example:
        console.print("install from it with:")
        for line in install_hints(url, example, public_url):
            console.print(f"  {line}")
        console.print("  (each in a virtual environment: python3 -m venv .venv && . .venv/bin/activate; "
                      "for uv, uv venv first)", markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (0: any free port).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Site folder (default: _site/ in the index).")
@click.pass_context
def serve(ctx: click.Context, port: int, out: Optional[str]) -> None:
    """Build if needed, then serve the site on 127.0.0.1 (PEP 691 content negotiation)."""
    from .serve import make_server

    index = open_index(ctx)
    site = Path(out) if out else index.root / "_site"
    # Claim the port first: on a busy port nothing is built or written.
    server = make_server(site, port, quiet=False)
    try:
        _build(index, out)
        names = index.project_names()
    except BaseException:
        server.server_close()
        raise
    _serve(site, port, names[0] if names else None, server, index.config.url)


EXAMPLES = Path(__file__).parent / "examples"


@main.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="Where to make the demo index (default: a new temporary folder).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-serve", is_flag=True, help="Build the demo index and stop.")
def demo(directory: Optional[str], port: int, no_serve: bool) -> None:
    """Build an index from the bundled example projects and serve it."""
    import subprocess
    import tempfile

    from .inspect import inspect_file
    from .serve import make_server
    from .state import Index

    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="pagesindex-demo-"))
    site = root / "_site"
    # Bind first, so the pages' install commands carry the URL actually served; on a busy port
    # nothing is written and the temporary folder just made goes again.
    try:
        server = None if no_serve else make_server(site, port, quiet=False)
    except PagesIndexError:
        if directory is None:
            root.rmdir()
        raise
    served_port = server.server_address[1] if server else port
    index = Index.init(
        root,
        title="pagesindex demo",
        url=f"http://127.0.0.1:{served_port}/",
        description="Example projects built from source by 'pagesindex demo'.",
    )
    dist = root / ".dist"
    for project in sorted(p for p in EXAMPLES.iterdir() if (p / "pyproject.toml").is_file()):
        console.print(f"building {project.name} (python -m build)")
        proc = subprocess.run(
            [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), str(project)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise PagesIndexError(f"building {project.name} failed:\n{tail}")
    files = sorted(dist.iterdir())
    with index.lock():
        result = index.add_files([inspect_file(p) for p in files])
    for f in result.added:
        console.print(f"added {f.filename}")
    _build(index, None)
    if server is None:
        console.print(f"demo index in {root}; serve it with: pagesindex --index {root} serve --port {port}")
        return
    if directory is None:
        console.print(f"the demo index is in the temporary folder {root}; delete it when done", markup=False)
    _serve(site, port, "kavli-hello", server)


# Commands defined in other modules (cli_<topic>.py, with ``@main.command()``) are imported only when
# run or listed by --help: one line each, command name -> module (see _Group).
main.lazy_commands = {
    "register": "cli_github",
    "update": "cli_github",
    "delete": "cli_github",
    "source-tree": "cli_github",
    "build-source": "cli_github",
    "migrate": "cli_migrate",
    "check": "cli_checks",
    "workflows": "cli_workflows",
    "pr-describe": "cli_workflows",
    "publish": "cli_stores",
    "storage": "cli_stores",
}


if __name__ == "__main__":  # pragma: no cover
    main()
