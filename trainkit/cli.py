"""The ``trainkit`` command line.

Exit codes: 0 success, 1 the content has errors, 2 usage errors (bad flags, no
trainkit.yaml), 130 stopped with Ctrl-C. Content problems print as
``PATH:LINE: error: MESSAGE``; no traceback ever reaches an author.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn, TypeVar

import click

from . import __version__
from .problems import ContentError, Problem, UsageError, has_errors

if TYPE_CHECKING:
    from .model import Site
    from .uptodate import Counts

F = TypeVar("F", bound=Callable[..., object])

source_option = click.option(
    "--source", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="The site's folder (the one holding trainkit.yaml).")
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")


def report(problems: list[Problem], strict: bool = False) -> None:
    for problem in problems:
        click.echo(problem.format(strict), err=True)
    errors = sum(1 for p in problems if strict or p.severity == "error")
    warnings = len(problems) - errors
    if errors:
        click.echo(plural(errors, "error")
                   + (", " + plural(warnings, "warning") if warnings else "") + ".", err=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class ProgressBar:
    """A progress bar on a terminal, shown only once a build takes more than a moment."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.perf_counter() - self.started < 0.5:
            return
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} pages")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


def fail_usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


INTERRUPTED = 130
"""The exit code of a command stopped with Ctrl-C (128 + SIGINT, as shells report it)."""


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # (click would print "Aborted!" and exit 1: an error)
            click.echo("\nStopped.", err=True)
            sys.exit(INTERRUPTED)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trainkit")
def main() -> None:
    """trainkit: publish training for your team from Markdown."""


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def new(directory: Path) -> None:
    """Scaffold a working site in DIRECTORY (a course, two lessons, a checklist,
    a curated link and a learning path, with comments)."""
    from .scaffold import scaffold

    try:
        written = scaffold(directory)
    except UsageError as exc:
        fail_usage(str(exc))
    click.echo(f"Created a site with {len(written)} files in {directory}/")
    click.echo(f"Next: cd {directory} && trainkit serve")


@main.command()
@source_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: site/ inside the source).")
@strict_option
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for rendering (default: the number of CPUs).")
def build(source: Path, out: Path | None, strict: bool, jobs: int | None) -> None:
    """Build the site into --out. Atomic: on errors nothing is written."""
    from . import uptodate

    out = out if out is not None else source / "site"
    started = time.perf_counter()
    looked = uptodate.look(source, out, strict)  # before loading the whole pipeline
    if looked.unchanged and looked.manifest is not None:
        report(looked.manifest.problems, strict)
        _built(looked.manifest.counts, out, time.perf_counter() - started, unchanged=True)
        return
    from .build import build as run_build

    bar = ProgressBar()
    try:
        result = run_build(source, out, strict=strict, progress=bar, jobs=jobs,
                           looked=looked)
    except UsageError as exc:
        fail_usage(str(exc))
    except ContentError as exc:
        bar.close()
        report(exc.problems, strict)
        click.echo(f"Nothing was written: {out} is unchanged.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"\nStopped: nothing was written, {out} is unchanged.", err=True)
        sys.exit(INTERRUPTED)
    bar.close()
    report(result.problems, strict)
    _built(result.counts, out, result.seconds, result.unchanged)


def _built(counts: "Counts", out: Path, seconds: float, unchanged: bool) -> None:
    what = (f"{plural(counts.pages, 'page')} ({plural(counts.courses, 'course')}, "
            f"{plural(counts.lessons, 'lesson')})")
    if unchanged:
        click.echo(f"Nothing changed since the last build: {what} already in {out} "
                   f"(checked in {seconds:.2f} s)")
    else:
        click.echo(f"Built {what} in {seconds:.2f} s → {out}")


@main.command()
@source_option
@strict_option
@click.option("--links", is_flag=True,
              help="Also fetch every curated link's URL and report the dead ones.")
@click.option("--external", is_flag=True,
              help="Also check every web link in lesson texts (implies --links).")
@click.option("--fresh", is_flag=True,
              help="Ask again about links found fine less than a day ago (implies --links).")
@click.option("--jobs", "--concurrency", "jobs", type=click.IntRange(min=1), default=8,
              show_default=True, help="How many links to check at once.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for each answer; the whole link check stops after "
                   "30 times this.")
def check(source: Path, strict: bool, links: bool, external: bool, fresh: bool, jobs: int,
          timeout: float) -> None:
    """Check the content for errors without writing anything; with --links, also
    check that the links still work."""
    from .build import check as run_check

    try:
        site, pages, problems, _ = run_check(source, strict)
    except UsageError as exc:
        fail_usage(str(exc))
    report(problems, strict)
    if site is None or has_errors(problems, strict):
        sys.exit(1)
    click.echo(f"No errors: {plural(len(site.courses), 'course')}, "
               f"{plural(len(site.lessons), 'lesson')}, {plural(len(site.links), 'link')}, "
               f"{plural(len(site.paths), 'path')}"
               + (", " + plural(len(problems), "warning") if problems else "") + ".")
    if links or external or fresh:
        check_links(source, site, external, fresh, jobs, timeout, strict)


def check_links(source: Path, site: Site, external: bool, fresh: bool, jobs: int,
                timeout: float, strict: bool) -> None:
    from .linkcheck import check_links as run, link_uses

    uses = link_uses(site, external)
    result = run(source, uses, fresh=fresh, jobs=jobs, timeout=timeout)
    report(result.problems, strict)
    skipped = (f" ({result.from_cache} fine less than a day ago, not asked again; "
               "--fresh asks)" if result.from_cache else "")
    click.echo(f"Checked {plural(result.urls, 'link')}{skipped}: "
               + (f"{result.dead} dead." if result.dead else "none dead."))
    if result.dead or has_errors(result.problems, strict):
        sys.exit(1)


@main.command()
@source_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on. 0.0.0.0 shares the preview with your network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The port to listen on (0: any free port).")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in your browser.")
@click.option("--no-reload", is_flag=True, help="Do not reload open pages after a rebuild.")
def serve(source: Path, host: str, port: int, open_browser: bool, no_reload: bool) -> None:
    """Preview the site, drafts included, rebuilding and reloading on every save."""
    from .serve import serve as run_serve

    try:
        run_serve(source, host=host, port=port, open_browser=open_browser, reload=not no_reload)
    except UsageError as exc:
        fail_usage(str(exc))


@main.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@source_option
@click.option("--include-uplines", is_flag=True,
              help="Also pass on the packs under uplines/ (by default only your own content).")
def pack(out: Path, source: Path, include_uplines: bool) -> None:
    """Write this site's own content (courses, links, paths, sections, static files) as an
    upline pack OUT.zip for the leaders below you. Refuses a site with errors."""
    from .build import find_source
    from .packs import make_pack

    try:
        result = make_pack(find_source(source), out, include_uplines)
    except UsageError as exc:
        fail_usage(str(exc))
    except ContentError as exc:
        report(exc.problems)
        click.echo(f"Fix these first: nothing was written to {out}.", err=True)
        sys.exit(1)
    report(result.problems)
    click.echo(f"Packed {plural(result.files, 'file')} (created {result.created}) → {out}")
    click.echo(f"Your downline adds it with: trainkit upline add {out.name} "
               "--name \"YOUR NAME\" --role \"YOUR ROLE\"")


@main.command()
@source_option
@click.option("--next", "next_label", metavar="LABEL", default=None,
              help='Then set version: "LABEL" in trainkit.yaml for the content you write next.')
def release(source: Path, next_label: str | None) -> None:
    """Freeze the current content into versions/<version>/ (dated today), so it stays
    readable under v/<version>/ after you change the training. Never overwrites a snapshot;
    refuses content with errors."""
    from .versions import release as run_release

    try:
        result = run_release(source, next_label)
    except UsageError as exc:
        fail_usage(str(exc))
    except ContentError as exc:
        report(exc.problems)
        click.echo("Fix these first: nothing was released.", err=True)
        sys.exit(1)
    report(result.problems)
    if result.released is None:
        click.echo(f"Version {result.label} was released before "
                   f"({result.folder.relative_to(source)}/).")
    else:
        click.echo(f"Released version {result.label} ({result.released.isoformat()}) "
                   f"→ {result.folder.relative_to(source)}/")
    if result.next_label:
        click.echo(f"trainkit.yaml now says version: \"{result.next_label}\"; "
                   "`trainkit build` publishes both.")
    else:
        click.echo("Before the next build, start the next version: `trainkit release --next "
                   "LABEL` (it only sets the new label now), or edit version: in trainkit.yaml.")


@main.group()
def upline() -> None:
    """Add, list and remove the packs your uplines share with you (under uplines/)."""


@upline.command("add")
@click.argument("pack_zip", metavar="PACK.zip",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help='Who the pack is from, as readers see it ("Maria Lopez").')
@click.option("--role", default=None, help='Their title, shown after the name ("Diamond Director").')
@click.option("--force", is_flag=True, help="Replace the folder of a pack added before.")
@source_option
def upline_add(pack_zip: Path, name: str, role: str | None, force: bool, source: Path) -> None:
    """Unpack PACK.zip into uplines/<name>/ and list it in trainkit.yaml (trusted: false,
    so its raw HTML is cleaned), then check the site."""
    from .build import check as run_check, find_source
    from .packs import add_upline

    try:
        entry, manifest, nested = add_upline(pack_zip, find_source(source), name, role, force)
    except UsageError as exc:
        fail_usage(str(exc))
    version = manifest.get("version")
    click.echo(f"Added the pack from {entry.attribution}"
               + (f" (version {version})" if version else "") + f" in {entry.path}/"
               + "".join(f"\nAdded the pack from {n.attribution} in {n.path}/" for n in nested))
    site, _, problems, _ = run_check(source)
    report(problems)
    if site is None or has_errors(problems):
        click.echo(f"The site now has errors: fix them, or undo with "
                   f"`trainkit upline remove \"{name}\"`.", err=True)
        sys.exit(1)
    click.echo(f"Checked: {plural(len(site.courses), 'course')}, "
               f"{plural(len(site.lessons), 'lesson')} in all.")


@upline.command("list")
@source_option
def upline_list(source: Path) -> None:
    """Show each upline: name, role, folder, whether trusted, and its pack's version."""
    from .build import find_source
    from .loader import load_config
    from .packs import read_manifest

    config, problems = load_config(find_source(source))
    if config is None:
        report(problems)
        sys.exit(1)
    if not config.uplines:
        click.echo("No uplines yet. Add one with: trainkit upline add PACK.zip --name NAME")
        return
    for entry in config.uplines:
        version = read_manifest(source / entry.path).get("version", "?")
        missing = "" if (source / entry.path).is_dir() else " (folder missing)"
        click.echo(f"{entry.name}\t{entry.role or '-'}\t{entry.path}{missing}\t"
                   f"{'trusted' if entry.trusted else 'untrusted'}\tversion {version}")


@upline.command("remove")
@click.argument("name")
@source_option
def upline_remove(name: str, source: Path) -> None:
    """Remove the upline NAME from trainkit.yaml, and its pack folder under uplines/."""
    from .build import find_source
    from .packs import remove_upline

    try:
        entry, removed = remove_upline(find_source(source), name)
    except UsageError as exc:
        fail_usage(str(exc))
    path = entry.get("path", "")
    click.echo(f"Removed {entry.get('name')} from trainkit.yaml"
               + (f" and deleted {path}/." if removed else
                  f"; its folder {path}/ was kept (it is not a pack under uplines/)."))


if __name__ == "__main__":  # pragma: no cover
    main()
