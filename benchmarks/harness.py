"""Timing primitives of the benchmark harness: whole processes, alternated, with peak memory.

`run.py` builds the table from these; `bench_enrich.py` and `bench_export.py` may import them
(`from harness import Bench, Command, Row, ...`) so every row is measured the same way.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / "work"  # git-ignored: generated corpora and survey directories

# A dead loopback port: if anything on a measured path tried the network, it fails fast
# instead of reaching the internet (SURVEYBIB_OFFLINE=1 should already prevent it).
_DEAD_URL = "http://127.0.0.1:9"


class BenchError(Exception):
    """A measured process failed (wrong exit code), so its row cannot be measured."""


@dataclass(frozen=True)
class Command:
    """One process to time: argv run in cwd with extra environment variables.

    `before` runs untimed before every run (e.g. deleting the README a build writes, so each
    run does the full work). `shown` is how the command is printed in RESULTS.md.
    """

    label: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    before: Callable[[], None] | None = None
    expect_exit: int = 0

    def shown(self) -> str:
        """The exact command, as a shell line a reader can paste (python = sys.executable)."""
        argv = ["python" if a == sys.executable else a for a in self.argv]
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        cwd = _display_path(self.cwd)
        line = " ".join(shlex.quote(a) for a in argv)
        return f"cd {shlex.quote(cwd)} && {env + ' ' if env else ''}{line}"


@dataclass(frozen=True)
class Sample:
    """One timed run: wall-clock seconds, CPU seconds (user + sys) and peak memory."""

    seconds: float
    cpu_seconds: float
    max_rss_bytes: int


@dataclass(frozen=True)
class Timing:
    """All timed runs of one command (the warm-up excluded)."""

    command: Command
    samples: tuple[Sample, ...]

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def low(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def high(self) -> float:
        return max(s.seconds for s in self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def max_rss_bytes(self) -> int:
        return max(s.max_rss_bytes for s in self.samples)

    def cell(self) -> str:
        """`median s (min–max)` for the table."""
        return f"{fmt_s(self.median)} ({fmt_s(self.low)}–{fmt_s(self.high)})"


@dataclass
class Row:
    """One line of the results table.

    `met` is True/False when the row has a target and was measured, None when the row is
    informational or could not be measured (then `measured` says why).
    """

    id: str
    title: str
    measured: str
    target: str = ""
    met: bool | None = None
    command: Timing | None = None
    baseline: Timing | None = None
    runs: str = ""
    note: str = ""
    commands: tuple[str, ...] = ()  # exact commands, when not given by command/baseline

    def all_commands(self) -> tuple[str, ...]:
        timed = tuple(t.command.shown() for t in (self.command, self.baseline) if t)
        return timed + self.commands


@dataclass(frozen=True)
class Bench:
    """What a benchmark module needs: run count, a work directory, and the base environment."""

    runs: int
    work: Path
    env: Mapping[str, str]

    def surveybib(self, *args: str) -> tuple[str, ...]:
        """argv running the surveybib installed in the harness's own interpreter."""
        return (sys.executable, "-m", "surveybib", *args)

    def python(self, code: str, *args: str) -> tuple[str, ...]:
        return (sys.executable, "-c", code, *args)

    def time_pair(self, command: Command, baseline: Command,
                  runs: int | None = None) -> tuple[Timing, Timing]:
        return time_pair(command, baseline, runs or self.runs, self.env)

    def time_one(self, command: Command, runs: int | None = None) -> Timing:
        return time_alone(command, runs or self.runs, self.env)


def base_env() -> dict[str, str]:
    """The environment of every measured process: offline, no colour, absolute PYTHONPATH."""
    env = dict(os.environ)
    # PYTHONPATH=src (how a worktree is run) must keep working in other directories.
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    env.update({
        "SURVEYBIB_OFFLINE": "1",
        "SURVEYBIB_CROSSREF_URL": _DEAD_URL,
        "SURVEYBIB_DATACITE_URL": _DEAD_URL,
        "NO_COLOR": "1",
        "LC_ALL": env.get("LC_ALL") or "C.UTF-8",
    })
    env.pop("SURVEYBIB_MAILTO", None)
    # Python's default: compiled modules are cached in __pycache__ (the warm-up run writes
    # them). This sandbox sets PYTHONDONTWRITEBYTECODE=1, under which an edited module of an
    # editable install is recompiled by every process, while the libraries it is compared
    # with were byte-compiled when pip installed them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(command: Command, env: Mapping[str, str]) -> Sample:
    """Run the command once; wall-clock time of the whole process and its max RSS (wait4)."""
    if command.before is not None:
        command.before()
    full_env = {**env, **command.env}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command.argv, cwd=command.cwd, env=full_env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != command.expect_exit:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise BenchError(f"`{command.label}` exited {code} (expected {command.expect_exit}): "
                             + " / ".join(tail))
    # Linux reports ru_maxrss in KiB.
    return Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def time_pair(command: Command, baseline: Command, runs: int,
              env: Mapping[str, str], warmup: bool = True) -> tuple[Timing, Timing]:
    """Time both commands alternately (ABBA order), after one untimed warm-up of each."""
    if warmup:
        run_once(command, env)
        run_once(baseline, env)
    a: list[Sample] = []
    b: list[Sample] = []
    for i in range(runs):
        if i % 2 == 0:
            a.append(run_once(command, env))
            b.append(run_once(baseline, env))
        else:
            b.append(run_once(baseline, env))
            a.append(run_once(command, env))
    return Timing(command, tuple(a)), Timing(baseline, tuple(b))


def time_alone(command: Command, runs: int, env: Mapping[str, str],
               warmup: bool = True) -> Timing:
    """Time one command `runs` times after an untimed warm-up."""
    if warmup:
        run_once(command, env)
    return Timing(command, tuple(run_once(command, env) for _ in range(runs)))


def own_survey(folder: Path) -> None:
    """Make FOLDER a survey of its own: surveybib finds a survey's root upwards (the nearest
    pyproject.toml with [tool.surveybib] wins), and benchmarks/work lies inside this
    repository, whose own survey would otherwise be built (and its store written)."""
    (folder / "pyproject.toml").write_text("[tool.surveybib]\n", encoding="utf-8")


def ratio_row(row_id: str, title: str, command: Timing, baseline: Timing, limit: float,
              note: str = "") -> Row:
    """A row whose target is `command median / baseline median <= limit` (wall clock).

    The note adds the ratio of median CPU times, which other load on the machine disturbs
    less: when the two disagree, the wall-clock ratio was probably hit by noise.
    """
    ratio = command.median / baseline.median
    cpu = f"CPU-time ratio {command.cpu_median / baseline.cpu_median:.3f}x"
    return Row(row_id, title, f"{ratio:.3f}x", f"ratio <= {limit:g}", ratio <= limit,
               command, baseline, runs=str(len(command.samples)),
               note=f"{note}; {cpu}" if note else cpu)


def cpu_ratio_row(row_id: str, title: str, command: Timing, baseline: Timing, limit: float,
                  note: str = "") -> Row:
    """A row whose target is `command CPU median / baseline CPU median <= limit`: the
    measure issue 10 sets for build (CPU time is less disturbed by other load)."""
    ratio = command.cpu_median / baseline.cpu_median
    wall = f"wall-clock ratio {command.median / baseline.median:.3f}x"
    return Row(row_id, title, f"{ratio:.3f}x CPU", f"CPU ratio <= {limit:g}", ratio <= limit,
               command, baseline, runs=str(len(command.samples)),
               note=f"{note}; {wall}" if note else wall)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds >= 10 else f"{seconds:.3f}"


def fmt_mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.0f} MB"


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def not_measured(row_id: str, title: str, target: str, why: str) -> Row:
    return Row(row_id, title, f"not measured ({why})", target, None)

