"""Export speed against its baselines (issue 5), as whole processes, alternating.

1. `surveybib export --format text --style plain` of Nelson Beebe's TUGboat
   bibliography (../shared/corpora/large/tugboat_beebe_biber-etc.bib, 3,644
   entries) against pybtex formatting the same file by itself with the same style
   (`python -m pybtex.database.format --style plain`). Target: ratio <= 1.3.
2. `surveybib export --format csl-json` of the same file against one process in
   which bibtexparser parses it twice. Target: ratio <= 1.0.

Each pair runs baseline then surveybib, N times (default 5); the ratio is
median(surveybib) / median(baseline). Not a test: wall-clock numbers depend on
the machine, so this prints them (and exits 1 when a target is missed).

    PYTHONPATH=src python benchmarks/bench_export.py [--runs 7] [--bib FILE]
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
from typing import Any

from corpora import TUGBOAT

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BIB = TUGBOAT  # under SURVEYBIB_CORPORA when set, else ../shared/corpora


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the bibliography has problems, still exported
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def compare(name: str, baseline: list[str], ours: list[str], runs: int, cwd: Path,
            env: dict[str, str], target: float) -> bool:
    base_times: list[float] = []
    our_times: list[float] = []
    for _ in range(runs):
        base_times.append(timed(baseline, cwd, env))
        our_times.append(timed(ours, cwd, env))
    base, our = statistics.median(base_times), statistics.median(our_times)
    ratio = our / base
    paired = statistics.median(o / b for o, b in zip(our_times, base_times, strict=True))
    verdict = "ok" if ratio <= target else "MISSED"
    print(f"{name}: surveybib {our:.2f}s, baseline {base:.2f}s (medians of {runs}); "
          f"ratio {ratio:.2f} (median of paired ratios {paired:.2f}); target <= {target} {verdict}")
    print(f"  surveybib runs: {' '.join(f'{t:.2f}' for t in our_times)}")
    print(f"  baseline runs:  {' '.join(f'{t:.2f}' for t in base_times)}")
    return ratio <= target


def measure(bench: Any) -> list[Any]:
    """The two export rows for `make bench` (benchmarks/run.py), timed by its harness."""
    import harness

    if not DEFAULT_BIB.is_file():
        raise harness.BenchError(f"{DEFAULT_BIB}: missing (set SURVEYBIB_CORPORA, or put "
                                 "../shared beside the repo)")
    work = bench.work / "export-tugboat"
    work.mkdir(parents=True, exist_ok=True)
    harness.own_survey(work)
    shutil.copy(DEFAULT_BIB, work / "survey.bib")
    bib = str(work / "survey.bib")
    text = harness.Command(
        "surveybib export text", bench.surveybib("-q", "export", "--format", "text", "--style",
                                                 "plain", "-o", "ours.txt"), work)
    pybtex = harness.Command(
        "pybtex format", (sys.executable, "-m", "pybtex.database.format", "--style", "plain",
                          bib, "baseline.txt"), work)
    csl = harness.Command(
        "surveybib export csl-json", bench.surveybib("-q", "export", "--format", "csl-json",
                                                     "-o", "ours.json"), work)
    twice = bench.python("import sys, bibtexparser; bibtexparser.parse_file(sys.argv[1]); "
                         "bibtexparser.parse_file(sys.argv[1])", bib)
    parse_twice = harness.Command("two bibtexparser parses", twice, work)
    rows = []
    ours, base = bench.time_pair(text, pybtex)
    rows.append(harness.ratio_row("export-text-plain",
                                  "export text, plain style, tugboat (3,644 entries)",
                                  ours, base, 1.3))
    ours, base = bench.time_pair(csl, parse_twice)
    rows.append(harness.ratio_row("export-csl-json", "export CSL-JSON, tugboat",
                                  ours, base, 1.0))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bib", type=Path, default=DEFAULT_BIB)
    args = parser.parse_args()
    if not args.bib.is_file():
        sys.exit(f"{args.bib}: missing (set SURVEYBIB_CORPORA or give --bib)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SURVEYBIB_OFFLINE": "1"}
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp)
        shutil.copy(args.bib, work / "survey.bib")  # a survey whose bibliography is the file
        bib = str(work / "survey.bib")
        ok = compare(
            "text, style plain",
            [py, "-m", "pybtex.database.format", "--style", "plain", bib, "baseline.txt"],
            [py, "-m", "surveybib", "-q", "export", "--format", "text", "--style", "plain",
             "-o", "ours.txt"],
            args.runs, work, env, 1.3)
        twice = ("import sys, bibtexparser; "
                 "bibtexparser.parse_file(sys.argv[1]); bibtexparser.parse_file(sys.argv[1])")
        ok = compare(
            "csl-json",
            [py, "-c", twice, bib],
            [py, "-m", "surveybib", "-q", "export", "--format", "csl-json", "-o", "ours.json"],
            args.runs, work, env, 1.0) and ok
        lines = (work / "ours.txt").read_text(encoding="utf-8").count("\n")
        print(f"(surveybib wrote {lines} formatted references)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
