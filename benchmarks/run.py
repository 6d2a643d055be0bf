"""`make bench`: time surveybib against its baselines and write benchmarks/RESULTS.md.

    python benchmarks/run.py [--only ROW[,ROW...]] [--runs N] [--output FILE]

Every row times whole processes, alternating the command under test with its baseline after
one warm-up of each, and compares medians with the target the issues set. Exit status 1 when
a measured row misses its target. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import corpora
from harness import (
    BENCH_DIR,
    REPO,
    WORK,
    Bench,
    BenchError,
    Command,
    Row,
    Timing,
    base_env,
    cpu_ratio_row,
    fmt_mb,
    not_measured,
    ratio_row,
    run_once,
)

# The baseline of the build rows: a process that only parses the file with bibtexparser.
PARSE_ONLY = "import sys, bibtexparser; bibtexparser.parse_file(sys.argv[1])"
BUILD_LIMIT = 1.5
# Issue 10: build within 1.3x a bare parse in CPU time on every corpus in corpora/large, so
# that unseen bibliographies of 6,000-7,000 entries stay under 1.5x.
BUILD_CPU_LIMIT = 1.3
UNSEEN_CPU_LIMIT = 1.5
UNSEEN_SIZE = 6_000
SCALING_SIZES = (100, 1_000, 5_000, 20_000, 50_000)
SCALING_FEWER_RUNS_FROM = 50_000  # sizes from here on get at most 3 runs (each ~30 s)
PER_ENTRY_LIMIT = 1.3
MEMORY_LIMIT = 1_000_000_000  # "under 1 GB", in bytes


@dataclass(frozen=True)
class Job:
    """A unit of measurement selected by --only; it produces one or more rows."""

    id: str
    run: Callable[[Bench, dict[str, Timing]], list[Row]]


# ---------------------------------------------------------------- build rows


def _build_command(bench: Bench, cwd: Path, *args: str) -> Command:
    readme = cwd / "README.md"
    # Delete the README before each run, so every build renders and writes it as after an
    # edit of survey.bib (an unchanged README would be left alone).
    before = None if args else (lambda: readme.unlink(missing_ok=True))
    label = " ".join(("surveybib build", *args))
    return Command(label, bench.surveybib("build", *args), cwd,
                   env={"SURVEYBIB_OFFLINE": "1"}, before=before)


def _parse_command(bench: Bench, cwd: Path) -> Command:
    return Command("bibtexparser.parse_file only", bench.python(PARSE_ONLY, "survey.bib"), cwd)


def build_job(name: str, bib: Path, title: str) -> Callable[[Bench, dict[str, Timing]], list[Row]]:
    def run(bench: Bench, results: dict[str, Timing]) -> list[Row]:
        cwd = corpora.survey_dir(f"build-{name}", bib)
        build, parse = bench.time_pair(_build_command(bench, cwd), _parse_command(bench, cwd))
        return [ratio_row(f"build-{name}", title, build, parse, BUILD_LIMIT),
                cpu_ratio_row(f"build-{name}-cpu", f"{title}: CPU time", build, parse,
                              BUILD_CPU_LIMIT)]
    return run


def unseen_job(bench: Bench, results: dict[str, Timing]) -> list[Row]:
    """A 6,000-entry survey without a taxonomy (every paper under Uncategorized), drawn
    from all the corpora as the scaling rows are: the size of the unseen bibliographies
    issue 10 measured."""
    bib = corpora.scaling_bib(UNSEEN_SIZE)
    cwd = corpora.survey_dir(f"build-{_size_name(UNSEEN_SIZE)}", bib)
    build, parse = bench.time_pair(_build_command(bench, cwd), _parse_command(bench, cwd))
    return [cpu_ratio_row(f"build-{_size_name(UNSEEN_SIZE)}",
                          f"build, {UNSEEN_SIZE:,} entries, no taxonomy "
                          f"({bib.stat().st_size / 1e6:.1f} MB)", build, parse,
                          UNSEEN_CPU_LIMIT)]


def check_job(bench: Bench, results: dict[str, Timing]) -> list[Row]:
    cwd = corpora.survey_dir("check-tugboat", corpora.TUGBOAT)
    run_once(_build_command(bench, cwd), bench.env)  # the survey is built once, untimed
    check, parse = bench.time_pair(_build_command(bench, cwd, "--check"),
                                   _parse_command(bench, cwd))
    return [ratio_row("check-tugboat", "no-op `build --check` of the built tugboat survey",
                      check, parse, BUILD_LIMIT)]


# ---------------------------------------------------------------- scaling rows


def _size_name(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 else str(size)


def scaling_job(size: int) -> Callable[[Bench, dict[str, Timing]], list[Row]]:
    def run(bench: Bench, results: dict[str, Timing]) -> list[Row]:
        bib = corpora.scaling_bib(size)
        cwd = corpora.survey_dir(f"scaling-{_size_name(size)}", bib)
        runs = bench.runs if size < SCALING_FEWER_RUNS_FROM else min(bench.runs, 3)
        build, parse = bench.time_pair(_build_command(bench, cwd), _parse_command(bench, cwd),
                                       runs)
        results[f"scaling-{size}"] = build
        per_entry = build.median / size * 1000
        fewer = " (fewer at this size)" if runs < bench.runs else ""
        return [Row(f"scaling-{_size_name(size)}",
                    f"scaling: build, {size:,} entries ({bib.stat().st_size / 1e6:.1f} MB)",
                    f"{per_entry:.3f} ms/entry", "", None, build, parse, f"{runs}{fewer}",
                    note=f"build/parse {build.median / parse.median:.2f}x wall clock, "
                    f"{build.cpu_median / parse.cpu_median:.2f}x CPU time (not a target here)")]
    return run


def scaling_targets(results: Mapping[str, Timing]) -> list[Row]:
    """The two scaling targets, from the 1k and 50k builds (when both were measured)."""
    small, large = results.get("scaling-1000"), results.get("scaling-50000")
    if small is None or large is None:
        return []
    growth = (large.median / 50_000) / (small.median / 1_000)
    rss = large.max_rss_bytes
    return [
        Row("scaling-per-entry", "scaling: time per entry at 50k / at 1k", f"{growth:.3f}x",
            f"<= {PER_ENTRY_LIMIT:g}", growth <= PER_ENTRY_LIMIT,
            runs=f"{len(small.samples)} / {len(large.samples)}",
            note=f"{large.median / 50:.3f} vs {small.median:.3f} ms/entry"),
        Row("scaling-memory", "scaling: peak memory of the 50k build", fmt_mb(rss),
            "< 1 GB (10^9 bytes)", rss < MEMORY_LIMIT, runs=str(len(large.samples))),
    ]


# ---------------------------------------------------------------- rows from other modules

# Rows that bench_enrich.py and bench_export.py are expected to report: (id, title, target).
EXPECTED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "bench_enrich": (
        ("enrich-1000", "enrich 1,000 DOIs (fake server, polite-pool limits, 50 ms latency)",
         "<= 15 s, <= 60 requests, >= 7x faster than one request per entry"),
        ("enrich-rerun", "enrich again, store full", "zero requests"),
    ),
    "bench_upgrade": (
        ("upgrade-1000", "enrich --upgrade --write --counts, 1,000 arXiv ids (fake S2 with a "
         "key, 1 req/s enforced, 50 ms)", "<= 3 S2 requests, within 1 req/s, < 5 s"),
        ("upgrade-rerun", "the same again, store full", "zero requests"),
        ("code-links-400", "enrich --counts with code links, 400 arXiv ids (fake Hugging Face)",
         "one request per paper, 0 over the limit"),
    ),
    "bench_export": (
        ("export-text-plain", "export text, plain style, tugboat",
         "ratio <= 1.3 vs pybtex formatting alone"),
        ("export-csl-json", "export CSL-JSON, tugboat", "ratio <= 1.0 vs two bibtexparser parses"),
    ),
    "bench_site": (
        ("site-size-1000", "explorer page, 1,000 papers with notes, gzipped", "<= 500 KB"),
        ("site-filter-5000", "explorer search: one keystroke re-filters 5,000 papers",
         "< 50 ms"),
    ),
    "bench_hostile": (
        ("hostile", "build, the slowest hostile input at 100 KB vs a clean survey of the same "
                    "size", "ratio <= 3"),
    ),
}


def module_job(name: str, what: str) -> Callable[[Bench, dict[str, Timing]], list[Row]]:
    """Rows measured by benchmarks/NAME.py's `measure(bench) -> list[Row | dict]`."""
    def run(bench: Bench, results: dict[str, Timing]) -> list[Row]:
        expected = EXPECTED[name]
        path = BENCH_DIR / f"{name}.py"
        if not path.is_file():
            return [not_measured(i, t, g, f"harness for {what} missing: {name}.py")
                    for i, t, g in expected]
        measure = getattr(_load(name, path), "measure", None)
        if measure is None:
            return [not_measured(i, t, g, f"{name}.py has no measure(bench) function")
                    for i, t, g in expected]
        try:
            rows = [_as_row(r) for r in measure(bench)]
        except Exception as exc:  # a broken module must not hide the other rows
            return [Row(i, t, f"failed: {type(exc).__name__}: {exc}", g, False)
                    for i, t, g in expected]
        seen = {r.id for r in rows}
        rows += [not_measured(i, t, g, f"{name}.py did not report it")
                 for i, t, g in expected if i not in seen]
        return rows
    return run


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _as_row(item: Row | Mapping[str, Any]) -> Row:
    if isinstance(item, Row):
        return item
    known = {f.name for f in fields(Row)}
    values = {k: v for k, v in item.items() if k in known}
    values["commands"] = tuple(values.get("commands", ()))
    return Row(**values)


# ---------------------------------------------------------------- the jobs

JOBS: tuple[Job, ...] = (
    Job("build-tugboat", build_job("tugboat", corpora.TUGBOAT,
                                   "build, tugboat (3,644 entries, 2.7 MB)")),
    Job("build-icml2023", build_job("icml2023", corpora.ICML2023,
                                    "build, icml2023 (1,828 entries, 3.1 MB)")),
    Job("build-d2l", build_job("d2l", corpora.D2L, "build, d2l (488 entries, 0.1 MB)")),
    Job("build-6k", unseen_job),
    Job("check-tugboat", check_job),
    Job("enrich", module_job("bench_enrich", "enrich")),
    Job("export", module_job("bench_export", "export")),
    Job("upgrade", module_job("bench_upgrade", "upgrade and counts")),
    Job("site", module_job("bench_site", "the paper explorer")),
    Job("hostile", module_job("bench_hostile", "hostile inputs")),
    *(Job(f"scaling-{_size_name(s)}", scaling_job(s)) for s in SCALING_SIZES),
)


def select(only: Sequence[str]) -> list[Job]:
    """Jobs whose id equals or starts with one of ONLY (all of them when ONLY is empty)."""
    if not only:
        return list(JOBS)
    chosen = [j for j in JOBS if any(j.id == o or j.id.startswith(o) for o in only)]
    if not chosen:
        names = ", ".join(j.id for j in JOBS)
        raise SystemExit(f"run.py: --only {','.join(only)} matches no row; rows: {names}")
    return chosen


def measure(jobs: Sequence[Job], bench: Bench) -> list[Row]:
    rows: list[Row] = []
    results: dict[str, Timing] = {}
    for job in jobs:
        start = time.perf_counter()
        print(f"[bench] {job.id} ...", file=sys.stderr, flush=True)
        try:
            new = job.run(bench, results)
        except BenchError as exc:
            new = [Row(job.id, job.id, f"failed: {exc}", "", False)]
        for row in new:
            print(f"[bench]   {row.id}: {row.measured} {_verdict(row)}", file=sys.stderr)
        print(f"[bench] {job.id} took {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rows.extend(new)
    return rows + scaling_targets(results)


# ---------------------------------------------------------------- the report


def _verdict(row: Row) -> str:
    if row.met is None:
        return "not measured" if row.measured.startswith("not measured") else "—"
    return "met" if row.met else "**NOT MET**"


def table(rows: Sequence[Row]) -> str:
    head = ("| row | surveybib: median s (min–max) | baseline: median s (min–max) | measured "
            "| target | result | max RSS surveybib / baseline | runs |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rss = " / ".join(fmt_mb(t.max_rss_bytes) for t in (r.command, r.baseline) if t)
        cells = (r.title, r.command.cell() if r.command else "",
                 r.baseline.cell() if r.baseline else "", r.measured, r.target, _verdict(r),
                 rss, r.runs)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def environment(bench: Bench, started: datetime.datetime, load: tuple[str, str]) -> list[str]:
    versions = ", ".join(f"{name} {_version(name)}"
                         for name in ("bibtexparser", "pybtex", "jinja2", "click", "citeproc-py"))
    found = subprocess.run([sys.executable, "-c", "import surveybib; print(surveybib.__file__)"],
                           env=bench.env, capture_output=True, text=True, check=False)
    return [
        f"- Date: {started:%Y-%m-%d %H:%M} UTC",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; {platform.platform()}",
        f"- Python: {sys.version.split()[0]} ({sys.executable}); {versions}",
        f"- surveybib: imported from `{found.stdout.strip() or found.stderr.strip()}`, "
        f"commit {_git_commit()}",
        f"- Load average (1 min) before / after: {load[0]} / {load[1]} "
        "(other work on the machine adds noise; alternation spreads it over both sides)",
        f"- Runs per row: {bench.runs} after one warm-up of each command, alternating "
        "command and baseline (ABBA order); times are wall clock of the whole process, "
        "memory is the process's max RSS (`os.wait4`).",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", ".", ":(exclude)benchmarks/RESULTS.md")
    return commit + (" (with uncommitted changes)" if dirty else "")


def _load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def report(rows: Sequence[Row], env_lines: Sequence[str], partial: bool) -> str:
    out = ["# Benchmark results", "",
           "Written by `make bench` (`python benchmarks/run.py`); see benchmarks/README.md. "
           "Do not edit by hand.", ""]
    if partial:
        out += ["**Partial run** (`--only`): only the rows below were measured.", ""]
    out += [*env_lines, "", table(rows), ""]
    notes = [f"- {r.title}: {r.note}" for r in rows if r.note]
    if notes:
        out += ["## Notes", "", *notes, ""]
    out += ["## Exact commands", "",
            "`python` is the interpreter that ran the harness (above). Every process runs with "
            "`SURVEYBIB_OFFLINE=1`, `NO_COLOR=1` and the Crossref/DataCite URLs pointing at a "
            "dead loopback port; the build rows delete README.md (untimed) before each run.",
            ""]
    for r in rows:
        commands = r.all_commands()
        if commands:
            out.append(f"- {r.title}:")
            out += [f"  - `{c}`" for c in commands]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[],
                        help="rows to run (id or prefix, comma-separated or repeated): "
                        + ", ".join(j.id for j in JOBS))
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per command after the warm-up (default 5)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the report (default benchmarks/RESULTS.md for a "
                        "full run; a --only run writes nothing unless given)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    only = [o.strip() for item in args.only for o in item.split(",") if o.strip()]
    jobs = select(only)
    output = args.output or (None if only else BENCH_DIR / "RESULTS.md")

    WORK.mkdir(exist_ok=True)
    bench = Bench(args.runs, WORK, base_env())
    started = datetime.datetime.now(datetime.UTC)
    load_before = _load_average()
    rows = measure(jobs, bench)
    env_lines = environment(bench, started, (load_before, _load_average()))
    text = report(rows, env_lines, partial=bool(only))
    print(table(rows))
    for r in rows:
        if r.note:
            print(f"- {r.title}: {r.note}")
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"\nwrote {output}", file=sys.stderr)
    missed = [r for r in rows if r.met is False]
    unmeasured = [r for r in rows if r.measured.startswith("not measured")]
    print(f"\n{len(rows)} rows: {sum(r.met is True for r in rows)} met, {len(missed)} not met, "
          f"{len(unmeasured)} not measured", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
