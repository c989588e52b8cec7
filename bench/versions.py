"""Versions benchmark (issue 6): a 1,000-lesson corpus with five snapshots, unchanged since
the previous build, against the same site without snapshots; first with nothing changed
at all, then with one lesson of the current content edited before each build. Needs the corpus from
`python /work/shared/bench/gen_corpus.py --lessons 1000 --out /tmp/corpus-1k` (copied, not
modified). Run from the repository: `python bench/versions.py [REBUILDS]` (default 5)."""
import shutil, statistics, subprocess, sys, time
from pathlib import Path

CORPUS = Path("/tmp/corpus-1k/trainkit")
ROOT = Path("/dev/shm/bench-versions" if Path("/dev/shm").is_dir() else "/tmp/bench-versions")  # tmpfs: disk is noisy
shutil.rmtree(ROOT, ignore_errors=True)
plain = ROOT / "plain"
shutil.copytree(CORPUS, plain)
versioned = ROOT / "versioned"
shutil.copytree(CORPUS, versioned)
labels = ["2026.06", "2026.07", "2026.08", "2026.09", "2026.10"]
for i, label in enumerate(labels):
    snap = versioned / "versions" / label
    for name in ("courses", "links", "paths"):
        if (CORPUS / name).is_dir():
            shutil.copytree(CORPUS / name, snap / name)
    text = (CORPUS / "trainkit.yaml").read_text().replace("'2026.11'", f"'{label}'")
    (snap / "trainkit.yaml").write_text(text + f"released: 2026-0{i + 5}-28\n")
    # Each older version lacks a few lessons' edits: change one lesson body per version.
    lesson = sorted((snap / "courses").rglob("*.md"))[i * 7]
    lesson.write_text(lesson.read_text() + f"\nAn older wording ({label}).\n")

def build(src: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trainkit", "build", "--source", str(src)],
                   check=True, capture_output=True)
    return time.perf_counter() - started

for src in (plain, versioned):
    first = build(src)
    print(f"{src.name}: first build {first:.2f} s", flush=True)
    time.sleep(2.1)  # (a build trusts the stat only of files saved over two seconds before it)
    # A second build leaves the swapped-out output as the spare the next one writes into.
    print(f"{src.name}: second build {build(src):.2f} s", flush=True)
rebuilds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ratios = {}
for scenario in ("unchanged", "one current lesson edited"):
    runs = {plain.name: [], versioned.name: []}
    for n in range(rebuilds):
        for src in (plain, versioned):
            if scenario != "unchanged":
                lesson = sorted((src / "courses").rglob("*.md"))[500]
                lesson.write_text(lesson.read_text() + f"\nEdit number {n}.\n")
            runs[src.name].append(build(src))
    print(f"{scenario}:")
    for name, times in runs.items():
        print(f"  {name}: rebuilds {', '.join(f'{t:.2f}' for t in times)} s, "
              f"median {statistics.median(times):.2f} s")
    ratios[scenario] = statistics.median(runs["versioned"]) / statistics.median(runs["plain"])
    print(f"  ratio (median rebuild, 5 unchanged snapshots / none): {ratios[scenario]:.2f}",
          flush=True)
