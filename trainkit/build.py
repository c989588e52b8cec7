"""The build pipeline, in the order it runs: load → resolve → render → write.

Each stage takes plain data and returns plain data plus the problems it found. Every
problem is collected before anything is written, so one run reports all of them and a
build with errors leaves the previous site untouched.
"""

from __future__ import annotations

import gc
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from . import uptodate, urls
from .cache import (CACHE_DIR, BodyCache, BuiltPages, collector_paused, forget_others,
                    return_large_blocks)
from .changes import change_list, page_checklists
from .discovery import version_feed
from .loader import CONFIG_FILE, Folder, load_config, load_folder
from .model import Content, Site
from .problems import ContentError, Problem, UsageError, error, has_errors
from .render import (PARALLEL_THRESHOLD, Kept, Page, Progress, render_bodies, render_site,
                     start_workers_early, stop_workers)
from .resolve import resolve
from .search import BUNDLE, MARKER, Ahead, Chosen, digest, index_pages, indexed, search_index
from .theme import Theme, find_theme
from .uptodate import Counts
from .versions import Edition, Plan, build_snapshots, plan
from .write import SPARE, Output, Stamp, WriteStats, check_out_dir


@dataclass(frozen=True, slots=True)
class BuildResult:
    counts: Counts
    problems: list[Problem]
    """Warnings (a successful build has no errors)."""
    seconds: float
    stats: WriteStats | None = None
    unchanged: bool = False
    """Nothing had changed since the last build: nothing was rendered or written."""


def find_source(source: Path) -> Path:
    if not (source / CONFIG_FILE).is_file():
        raise UsageError(f"no {CONFIG_FILE} in {source.resolve()}: run trainkit in your site's "
                         "folder, pass --source, or start a site with `trainkit new DIR`")
    return source


def load(source: Path, include_drafts: bool = False,
         cache: BodyCache | None = None) -> tuple[Site | None, list[Problem]]:
    """Stages 1 and 2: read the site and its upline packs, and resolve them into a Site."""
    config, problems = load_config(source)
    if config is None:
        return None, problems
    content, found = load_folder(Folder(source, "", cache=cache), config)
    problems += found
    packs: list[Content] = []
    for upline in config.uplines:
        pack_dir = source / upline.path
        if not pack_dir.is_dir():
            problems.append(error(CONFIG_FILE, 1, f"upline '{upline.name}': the folder "
                                  f"{upline.path}/ does not exist"))
            continue
        pack, found = load_folder(Folder(source, upline.path + "/", upline, cache), None)
        packs.append(pack)
        problems += found
    site, found = resolve(config, content, packs, include_drafts=include_drafts)
    return site, problems + found


def check(source: Path, strict: bool = False, include_drafts: bool = False,
          progress: Progress | None = None, jobs: int = 1, cache: BodyCache | None = None,
          edition: Edition | Plan | None = None, search: bool = True,
          sink: Callable[[Page | Kept], None] | None = None, built: BuiltPages | None = None,
          order: Callable[[list[str]], Callable[[str], int]] | None = None,
          ) -> tuple[Site | None, list[Page], list[Problem], Theme | None]:
    """Stages 1–3 without writing anything: everything `trainkit check` reports.
    With ``edition``, the site is one of the versions built together (see versions.py).
    Without ``search``, the caller builds the search index itself (serve does, in the
    background, so a save is served before Pagefind has read every page again).
    With ``sink``, pages are handed to it as they are made instead of returned; with
    ``built``, those unchanged since the last build are taken from its output; with
    ``order``, they are made in that order (see :func:`render_site`)."""
    site, problems = load(find_source(source), include_drafts, cache)
    if site is None or has_errors(problems, strict):
        if site is not None:  # what the Markdown holds (broken links) too: all in one run
            problems += render_bodies(site, jobs, cache)[1]  # (hostile bodies were dropped)
        return site, [], sorted(set(problems)), None
    if edition is not None:
        site = edition.apply(site)
    theme = edition.theme if edition is not None and edition.theme else \
        find_theme(source, site.config.theme)
    pages, found = render_site(site, theme, serve=include_drafts, jobs=jobs,
                               progress=progress, cache=cache, sink=sink, built=built,
                               order=order)
    indexed = search and sink is None and (site.versions is None or site.versions.this.current)
    index, unindexed = (search_index(pages, site.config.language, cache, jobs) if indexed
                        else ([], []))
    return site, pages + index, sorted(set(problems + found + unindexed)), theme


def build(source: Path, out: Path, strict: bool = False,
          progress: Progress | None = None, jobs: int | None = None,
          looked: uptodate.Look | None = None) -> BuildResult:
    """The whole pipeline. Raises ContentError (nothing written) when content has errors.
    ``looked``: what the caller has just found with :func:`uptodate.look` (the command
    line does, before importing all this): its stat of the source is used, not taken
    again (50 ms at 10,000 lessons)."""
    started = time.perf_counter()
    started_ns = time.time_ns()
    find_source(source)
    check_out_dir(source, out)
    if looked is None:
        looked = uptodate.look(source, out, strict)
    last = looked.manifest
    if looked.unchanged and last is not None:
        return BuildResult(last.counts, last.problems, time.perf_counter() - started,
                           unchanged=True)
    return_large_blocks()
    config, _ = load_config(source)
    roots = uptodate.source_roots(source, tuple(u.path for u in config.uplines) if config else ())
    if looked.sources is not None and last is not None and roots == last.roots:
        stamps, started_ns = looked.sources, looked.taken_ns  # (taken before anything was read)
    else:
        stamps = uptodate.source_stamps(source, roots, out)
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and _many_bodies(stamps, looked):
        start_workers_early()  # it imports Markdown on another core while we read files
    with _few_collections():
        # The caches are frozen before the collector is on again: collected as they
        # came, the million objects of a 10,000-lesson site's caches were walked again
        # after each shelf (75 ms of the 410 their loading took).
        with collector_paused(freeze=True):
            cache = BodyCache.open(source)
            cache.keep_compiled(source)
        output = Output(out, spare=source / CACHE_DIR / SPARE,
                        record=getattr(last, "spare", None))  # (None: an older manifest)
        try:
            language = config.language if config else "en"
            counts, problems, keys, token = _write_all(source, output, strict, progress, jobs,
                                                       cache, language, last)
            uptodate.forget(source)
            stats = output.finish()
        except BaseException:
            output.discard()
            raise
    uptodate.record(source, out, strict, roots, stamps, started_ns, problems, counts, keys,
                    stats.files, token, stats.stamps, stats.spare)
    return BuildResult(counts, problems, time.perf_counter() - started, stats)


def _many_bodies(stamps: dict[str, Stamp], looked: uptodate.Look) -> bool:
    """Whether the build is likely to render enough Markdown for worker processes: the
    site has that many lessons and they are not known to be mostly as the last build
    read them (their bodies are then in the cache). After a one-lesson edit, a fork
    server importing Markdown took 0.2 CPU-seconds from Pagefind and this process.
    (When bodies are needed after all, the workers are started then.)"""
    if sum(name.endswith(".md") for name in stamps) < PARALLEL_THRESHOLD:
        return False
    changed = looked.changed(".md")
    return changed is None or changed >= PARALLEL_THRESHOLD


@contextmanager
def _few_collections() -> Iterator[None]:
    """Python's cycle collector walks every object alive now and then: at 10,000 lessons
    the caches alone are millions, and a build after one edit spent 1.1 s of 6.5 s in
    collections. A build makes few cycles (those it makes are collected before Pagefind
    starts), so it collects less often, and what the caches hold is frozen when loaded
    (out of the collector's sight; reference counting still frees it)."""
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _write_all(source: Path, output: Output, strict: bool, progress: Progress | None,
               jobs: int, cache: BodyCache, language: str, manifest: uptodate.Manifest | None,
               ) -> tuple[Counts, list[Problem], dict[str, str], str]:
    """Every file of the site into ``output``, pages as they are made. Returns what the
    next build needs to know it is up to date: the counts, the problems, each
    folder's key (each snapshot's, each search part's), and the token of the page
    records saved."""
    chosen: Chosen = []  # the pages for the search index, with their digests
    pages = 0
    with collector_paused(freeze=True):
        built = BuiltPages.open(source, output.out, uptodate.code(), spare=output.staging,
                                marker=MARKER)
        if manifest is not None:
            built.trust(getattr(manifest, "pages", None), manifest.output)  # (None: older)
    # Each part of the search index is indexed as soon as its pages are made, on the
    # other core while the next part's templates are rendered.
    ahead = Ahead(output.read, language, cache, jobs)

    def sink(page: Page | Kept) -> None:
        nonlocal pages
        for_index = page.for_index if isinstance(page, Kept) else indexed(page)
        if for_index and not chosen:  # the first: this version's Markdown is done
            stop_workers()  # (older versions start them again if need be): 50 MB less
        pages += page.path.endswith(".html")
        if isinstance(page, Kept):
            output.keep(page.path, page.found)
        else:
            output.put(page.path, page.content, as_before=page.path in built.taken)
        if for_index:  # (the digest of a page rendered or reused is known already)
            known = built.digest(page.path)
            chosen.append((page.path, known if known is not None
                           else digest(page.content)))  # type: ignore[union-attr]
            ahead.add(chosen[-1])

    try:
        snapshots = plan(source)
        site, _, problems, theme = check(source, strict, progress=progress, jobs=jobs,
                                         cache=cache, edition=snapshots, search=False,
                                         sink=sink, built=built, order=ahead.order)
        problems = sorted(set(problems + snapshots.problems))
        if site is None or theme is None or has_errors(problems, strict):
            raise ContentError(problems)
        ahead.made()  # (Pagefind works on the last part while older versions are built)
        older = build_snapshots(snapshots, site, theme,
                                built.checklist(page_checklists(output.read)),
                                jobs=jobs, cache=cache)
        problems = sorted(set(problems + older.problems))
        if has_errors(problems, strict):
            raise ContentError(problems)
    except BaseException:
        ahead.taken()  # (no part is begun any more; one Pagefind may finish its part)
        raise
    if len(older.summaries) > 1:  # with snapshots, the feed lists what each version changed
        output.put(urls.FEED, version_feed(site, change_list(older.summaries)))
    trusted = uptodate.trusted(manifest, older.keys)
    output.put_all(older.pages, older.copies, trusted)
    output.put_all((), [*((source / f.source, f.output) for f in site.static),
                        *((file, urls.ASSETS + name) for name, file in theme.assets().items())])
    pages += sum(1 for page in older.pages if page.path.endswith(".html"))
    counts, keys = Counts(pages, len(site.courses), len(site.lessons)), older.keys
    token = built.token
    # Saved now, and let go of with the site, so that neither is held in memory while
    # Pagefind runs (the cache never changes results, whatever happens next).
    del site, older
    cache.save()
    built.save()
    forget_others(source, (cache.file, cache.files_file, cache.index_dir, built.file,
                           cache.compiled_templates))
    del built  # (~15 MB at 10,000 lessons)
    cache.release_bodies()
    stop_workers()  # (older versions may have started them again: none waits beside Pagefind)
    output.clean_all_but(BUNDLE)  # (what is left of the spare goes while Pagefind works)
    unindexed, part_keys = index_pages(chosen, output.read,
                                       lambda page: output.put(page.path, page.content),
                                       language, cache, jobs, ahead,
                                       uptodate.as_before(manifest, output.out, output.keep))
    problems = sorted(set(problems + unindexed))
    if has_errors(problems, strict):
        raise ContentError(problems)
    return counts, problems, {**keys, **part_keys}, token
