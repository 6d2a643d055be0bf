"""The command group: global options (accepted before or after the command name), the
Context they fill, how findings are printed, and the one map from errors to exit codes."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from surveybib import __version__
from surveybib.config import Settings, find_root, load_settings
from surveybib.enrich import Counts, progress_line
from surveybib.errors import SurveybibError, UsageError
from surveybib.model import Problem, printable


@dataclass(slots=True)
class Context:
    """What the global options set, handed to every command."""

    root: Path  # the survey's folder (found upwards from `here`)
    verbose: bool = False
    quiet: bool = False
    offline: bool = False
    encoding: str | None = None
    _settings: Settings | None = None
    here: Path = Path(".")  # where the user ran (or -C DIR): relative paths they type

    def path(self, value: Path) -> Path:
        """A path typed on the command line: relative ones are from where the user ran."""
        return value if value.is_absolute() else self.here / value

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = {"encoding": self.encoding} if self.encoding else None
            self._settings = load_settings(self.root, overrides)
        return self._settings


def report(problems: Iterable[Problem], quiet: bool = False) -> tuple[int, int]:
    """Print problems to stderr sorted by file and line; return (errors, warnings)."""
    items = sorted(problems, key=lambda p: (p.path, p.line or 0, p.key or "", p.message))
    errors = sum(1 for p in items if p.level == "error")
    for problem in items:
        if quiet and problem.level == "warning":
            continue
        click.echo(str(problem), err=True)
    return errors, len(items) - errors


def offline_by(ctx: Context) -> str:
    """What turned the network off, as the user wrote it: the flag or the variable."""
    return "--offline" if ctx.offline else "SURVEYBIB_OFFLINE=1"


def counted(errors: int, warnings: int) -> str:
    return f"{errors:,} error{'s' * (errors != 1)}, {warnings:,} warning{'s' * (warnings != 1)}"


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"surveybib: {printable(message)}", err=True)
    sys.exit(code)


def progress_bar(ctx: Context) -> Callable[[Counts], None] | None:
    """A one-line progress bar on stderr when it is a terminal; otherwise (CI) a line of
    progress at most every SURVEYBIB_PROGRESS_INTERVAL seconds (30), so a long online run
    is never silent."""
    if ctx.quiet:
        return None
    if not sys.stderr.isatty():
        return _progress_lines(_seconds(os.environ.get("SURVEYBIB_PROGRESS_INTERVAL"), 30.0))

    def show(counts: Counts) -> None:
        end = "\n" if counts.done >= counts.total else ""
        click.echo(f"\r{progress_line(counts)}{end}", err=True, nl=False)

    return show


def _progress_lines(interval: float) -> Callable[[Counts], None]:
    last = time.monotonic()
    lock = threading.Lock()  # called by the run and by its heartbeat

    def show(counts: Counts) -> None:
        nonlocal last
        with lock:
            now = time.monotonic()
            if counts.done >= counts.total or now - last < interval:
                return  # the summary line follows the last step
            last = now
        click.echo(f"metadata: {counts.done}/{counts.total} asked ({counts.fetched} fetched, "
                   f"{counts.not_found} not found, {counts.failed} failed)", err=True)

    return show


def _seconds(value: str | None, default: float) -> float:
    try:
        number = float(value[:30]) if value else default
    except ValueError:
        return default
    return number if number >= 0 else default


# ---------------------------------------------------------------- global options


def _configure_logging(verbose: bool) -> None:
    if not verbose:  # urllib3's multi-line retry notes are detail; problems are reported
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    else:
        logging.getLogger("urllib3").setLevel(logging.NOTSET)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(name)s: %(message)s", force=True)


def _directory(value: Path) -> Path:
    """The survey root for -C DIR (or the current folder): DIR or the folder above it
    that holds the survey (config.find_root)."""
    if not value.is_dir():
        raise click.BadParameter(f"{value} is not a directory", param_hint="-C")
    return find_root(value)


def _late(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A global option given after the command name: set it on the group's Context."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return  # not given here: the group's value stands
        obj = ctx.find_object(Context)
        if obj is None:  # pragma: no cover - commands always run under the group
            return
        if attribute == "root":
            obj.root, obj.here, obj._settings = _directory(value), value, None
        elif attribute == "encoding":
            obj.encoding, obj._settings = value, None
        else:
            setattr(obj, attribute, value)
        if attribute == "verbose":
            _configure_logging(True)

    return callback


_GLOBAL_HELP = {
    "root": "Run in DIR (the survey repository) instead of the current directory.",
    "verbose": "More detail; tracebacks on internal errors.",
    "quiet": "Only errors and results.",
    "offline": "Use no network: work from the metadata store (also SURVEYBIB_OFFLINE=1).",
    "encoding": "Encoding of survey.bib when it is not UTF-8 (e.g. latin-1).",
}


def _late_options() -> list[click.Parameter]:
    """-C, -v, -q, --offline and --encoding for a command, so they work after its name too."""
    return [
        click.Option(["-C", "root"], type=click.Path(file_okay=False, path_type=Path),
                     metavar="DIR", callback=_late("root"), expose_value=False,
                     help=_GLOBAL_HELP["root"]),
        click.Option(["-v", "--verbose"], is_flag=True, callback=_late("verbose"),
                     expose_value=False, help=_GLOBAL_HELP["verbose"]),
        click.Option(["-q", "--quiet"], is_flag=True, callback=_late("quiet"),
                     expose_value=False, help=_GLOBAL_HELP["quiet"]),
        click.Option(["--offline"], is_flag=True, callback=_late("offline"),
                     expose_value=False, help=_GLOBAL_HELP["offline"]),
        click.Option(["--encoding"], metavar="NAME", callback=_late("encoding"),
                     expose_value=False, help=_GLOBAL_HELP["encoding"]),
    ]


# ---------------------------------------------------------------- the group


def summary(cmd: click.Command) -> str:
    """A command's one-line summary: its short_help, or the first paragraph of its help."""
    if cmd.short_help:
        return cmd.short_help
    first = inspect.cleandoc(cmd.help or "").split("\n\n")[0]
    return " ".join(first.split())


def split_keys(values: Iterable[str]) -> list[str]:
    """Key lists, one convention everywhere: comma-separated (`--keys a,b`), the option
    repeatable, and separate arguments where a command takes keys as arguments (a BibTeX
    key never holds a comma)."""
    return [key.strip() for value in values for key in value.split(",") if key.strip()]


KEYS_HELP = "Only these keys: comma-separated (a,b); repeatable."


class _Group(click.Group):
    """Turns SurveybibError into a one-line message and an exit code; every command
    gets the global options. A command in `lazy_commands` (name -> module of
    surveybib.cli) is imported when it is asked for, so `surveybib build` loads none of
    the code of the other commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params.extend(_late_options())
        super().add_command(cmd, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            importlib.import_module(f"surveybib.cli.{self.lazy_commands[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole summary (its help's first paragraph), wrapped, never cut
        off with "..." as click does by default."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, summary(cmd)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            fail(str(exc), 2)
        except SurveybibError as exc:
            fail(str(exc), 1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:  # a bug: one line, or the traceback under -v
            obj = ctx.obj
            if isinstance(obj, Context) and obj.verbose:
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path), default=".",
              metavar="DIR", help=_GLOBAL_HELP["root"])
@click.option("-v", "--verbose", is_flag=True, help=_GLOBAL_HELP["verbose"])
@click.option("-q", "--quiet", is_flag=True, help=_GLOBAL_HELP["quiet"])
@click.option("--offline", is_flag=True, help=_GLOBAL_HELP["offline"])
@click.option("--encoding", default=None, metavar="NAME", help=_GLOBAL_HELP["encoding"])
@click.version_option(__version__, "--version", prog_name="surveybib")
@click.pass_context
def main(ctx: click.Context, directory: Path, verbose: bool, quiet: bool, offline: bool,
         encoding: str | None) -> None:
    """Keep a literature survey's bibliography: survey.bib + notes/ -> README.md."""
    _configure_logging(verbose)
    ctx.obj = Context(_directory(directory), verbose, quiet, offline, encoding, here=directory)


pass_context = click.make_pass_decorator(Context)
