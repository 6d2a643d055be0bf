"""click commands: read options, call the stages, write files, report."""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from surveybib import __version__
from surveybib.config import Settings, check_output_path, load_settings
from surveybib.errors import SurveybibError, TemplateError, UsageError
from surveybib.files import write_bytes_atomic
from surveybib.model import Entry, Problem

if TYPE_CHECKING:
    from surveybib.enrich import Counts, EnrichResult, EntryChange
    from surveybib.survey import Survey

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True)
class Context:
    """What the global options set, handed to every command."""

    root: Path
    verbose: bool
    quiet: bool
    encoding: str | None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = {"encoding": self.encoding} if self.encoding else None
            self._settings = load_settings(self.root, overrides)
        return self._settings


# ---------------------------------------------------------------- output helpers


def write_atomic(path: Path, text: str, newline: str = "\n") -> None:
    """Write text to path through a temporary file beside it and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", newline).encode("utf-8") if newline != "\n" else text.encode("utf-8")
    write_bytes_atomic(path, data)


@contextmanager
def survey_lock(settings: Settings, timeout: float | None = None) -> Iterator[None]:
    """Hold a lock on the survey's directory: a second writer waits, then refuses.

    The lock is taken on the directory itself (flock on its descriptor), so it
    leaves no file behind in the user's repository.
    """
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unlocked
        yield
        return
    if timeout is None:
        timeout = float(os.environ.get("SURVEYBIB_LOCK_TIMEOUT", "60"))
    fd = os.open(settings.root, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SurveybibError(
                        f"{settings.root}: another surveybib run is working on this survey "
                        f"(waited {timeout:g} s); try again when it has finished"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def report(problems: Iterable[Problem], quiet: bool = False) -> tuple[int, int]:
    """Print problems to stderr sorted by file and line; return (errors, warnings)."""
    items = sorted(problems, key=lambda p: (p.path, p.line or 0, p.key or "", p.message))
    errors = sum(1 for p in items if p.level == "error")
    for problem in items:
        if quiet and problem.level == "warning":
            continue
        click.echo(str(problem), err=True)
    return errors, len(items) - errors


def counted(errors: int, warnings: int) -> str:
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"surveybib: {message}", err=True)
    sys.exit(code)


# ---------------------------------------------------------------- the group


class _Group(click.Group):
    """Turns SurveybibError into a one-line message and an exit code."""

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
            fail("interrupted", 1)
        except Exception as exc:  # a bug: one line, or the traceback under -v
            obj = ctx.obj
            if isinstance(obj, Context) and obj.verbose:
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Run in DIR (the survey repository) instead of the current directory.")
@click.option("-v", "--verbose", is_flag=True, help="More detail; tracebacks on internal errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and results.")
@click.option("--encoding", default=None, help="Encoding of survey.bib when it is not UTF-8.")
@click.version_option(__version__, "--version", prog_name="surveybib")
@click.pass_context
def main(ctx: click.Context, directory: Path, verbose: bool, quiet: bool,
         encoding: str | None) -> None:
    """Keep a literature survey's bibliography: survey.bib + notes/ -> README.md."""
    if not directory.is_dir():
        raise click.BadParameter(f"{directory} is not a directory", param_hint="-C")
    if not verbose:  # urllib3's multi-line retry notes are detail; problems are reported
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    ctx.obj = Context(directory, verbose, quiet, encoding)


pass_context = click.make_pass_decorator(Context)


# ---------------------------------------------------------------- build / check


@dataclass(frozen=True, slots=True)
class Output:
    """A file that build writes: where, and what it should contain."""

    path: Path
    text: str


def render_outputs(
    ctx: Context, survey: Survey | None = None
) -> tuple[list[Output], list[Problem]]:
    """Everything build writes, computed from the survey (no writing)."""
    from surveybib import render
    from surveybib.lint import unknown_categories
    from surveybib.survey import load_survey

    settings = ctx.settings
    if survey is None:
        survey = load_survey(settings, encoding=ctx.encoding)
    gc.freeze()  # the survey lives until the process ends: later collections can skip it
    intro, intro_problems = _read_intro(settings)
    env = render.make_environment(settings.templates)
    with template_errors(settings):
        text, unknown = render.render_readme(
            env,
            entries=survey.entries,
            notes=survey.notes,
            taxonomy=settings.taxonomy,
            group_by=settings.group_by,
            intro=intro,
            title=settings.title or "Reading List",
            source=settings.rel(settings.bib),
        )
    problems = [*survey.problems, *intro_problems]
    problems.extend(unknown_categories(unknown, settings))
    outputs = [Output(settings.readme, _keep_preamble(settings.readme, text))]
    if settings.exports:
        from surveybib.export import render_configured

        for path, export in render_configured(survey.entries, settings):
            outputs.append(Output(path, export.text))
            problems.extend(export.problems)
    return outputs, problems


def _read_intro(settings: Settings) -> tuple[str, list[Problem]]:
    """INTRO.md (optional), with a code fence or comment it leaves open closed."""
    from surveybib.render import close_open_blocks

    if not settings.intro.is_file():
        return "", []
    name = settings.rel(settings.intro)
    try:
        text = settings.intro.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SurveybibError(f"{name}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    text, unclosed = close_open_blocks(text.strip())
    if unclosed is None:
        return text, []
    return text, [Problem(name, None, None, f"{unclosed}; closed at its end", "render",
                          level="warning", rule="note-unclosed")]


@contextmanager
def template_errors(settings: Settings) -> Iterator[None]:
    """jinja2's errors -> a TemplateError naming the template file and line."""
    import jinja2

    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        where = _template_where(settings, exc.filename or exc.name, exc.lineno)
        raise TemplateError(f"{where}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name} (looked in "
                            f"{settings.rel(settings.templates)}/ and the packaged ones)") from None
    except jinja2.TemplateError as exc:
        filename, line = _template_frame(exc)
        where = _template_where(settings, filename, line)
        raise TemplateError(f"{where}: template error: {exc.message or exc}") from None


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost traceback frame inside a template (jinja2 rewrites them to .j2 lines)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _template_where(settings: Settings, filename: str | None, line: int | None) -> str:
    name = settings.rel(Path(filename)) if filename else "template"
    return f"{name}:{line}" if line else name


def stale_outputs(outputs: Sequence[Output], settings: Settings) -> list[tuple[Output, str]]:
    """(output, diff) for each output whose file differs from what it should be."""
    import difflib

    stale = []
    for out in outputs:
        try:
            current = out.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            current = None
        except UnicodeDecodeError:
            current = ""
        if current == out.text:
            continue
        name = settings.rel(out.path)
        if current is None:
            stale.append((out, f"{name}: missing (run `surveybib build`)"))
            continue
        diff = difflib.unified_diff(current.splitlines(), out.text.splitlines(),
                                    f"{name} (on disk)", f"{name} (from survey.bib)", n=1,
                                    lineterm="")
        stale.append((out, "\n".join(_head(diff, 40))))
    return stale


def _head(lines: Iterable[str], limit: int) -> list[str]:
    out = []
    for i, line in enumerate(lines):
        if i == limit:
            out.append("... (diff cut; run `surveybib build` to regenerate)")
            break
        out.append(line)
    return out


@main.command()
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing, use no network; exit 1 with a diff if an output is stale.")
@click.option("--offline", is_flag=True, help="Do not fetch metadata; render from what is stored.")
@click.option("--strict", is_flag=True, help="Exit 1 when the bibliography has any error.")
@click.option("--force", is_flag=True,
              help="Replace a README.md that surveybib did not write (it has no marker).")
@pass_context
def build(ctx: Context, check_only: bool, offline: bool, strict: bool, force: bool) -> None:
    """Render README.md (and configured exports) from survey.bib and notes/."""
    from surveybib.lint import configure
    from surveybib.survey import load_survey

    if not check_only:  # held until the command ends: two builds never interleave
        click.get_current_context().with_resource(survey_lock(ctx.settings))
    survey = load_survey(ctx.settings, encoding=ctx.encoding)
    if not check_only:
        survey = _fetch_missing(ctx, survey, offline)
    outputs, problems = render_outputs(ctx, survey)
    problems = list(configure(problems, ctx.settings))
    errors, warnings = report(problems, ctx.quiet)
    if check_only:
        stale = stale_outputs(outputs, ctx.settings)
        for _, diff in stale:
            click.echo(diff)
        if stale:
            fail(f"{len(stale)} output(s) stale; run `make readme` (or `surveybib build`)")
        if not ctx.quiet:
            click.echo(f"up to date; {counted(errors, warnings)}", err=True)
        return
    if not force:
        _refuse_foreign_readme(ctx.settings)
    for out in outputs:
        _write_if_changed(out)
    if not ctx.quiet:
        names = ", ".join(ctx.settings.rel(o.path) for o in outputs)
        click.echo(f"wrote {names}; {counted(errors, warnings)}", err=True)
    if strict and errors:
        sys.exit(1)


def _fetch_missing(ctx: Context, survey: Survey, offline: bool) -> Survey:
    """build's fetching step: ask Crossref/DataCite only for what the store lacks, save
    the store after every batch, and merge what came back."""
    from surveybib.config import is_offline
    from surveybib.metadata import MetadataStore, lack_line, pending, save_store

    settings = ctx.settings
    todo = pending(survey.parsed, survey.store)
    if not todo:
        return survey  # everything is stored: no request, and no HTTP code imported
    if offline or is_offline():
        if not ctx.quiet:
            click.echo(f"offline: {lack_line(len(todo))}", err=True)
        return survey

    from surveybib.enrich import fetch_missing

    def checkpoint(store: MetadataStore) -> None:
        save_store(settings.metadata, store)

    out = fetch_missing(settings, survey.parsed, survey.store, offline=offline,
                        checkpoint=checkpoint, progress=_progress_bar(ctx))
    if out.summary and not ctx.quiet:
        click.echo(out.summary, err=True)
    if out.store == survey.store:
        return survey
    checkpoint(out.store)
    merged = survey.with_store(out.store)
    return replace(merged, problems=merged.problems + tuple(out.problems))


def _keep_preamble(readme: Path, generated: str) -> str:
    """Text a user keeps above the generated marker stays; only what follows is ours."""
    from surveybib.render import GENERATED_MARKER

    try:
        current = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return generated
    at = current.find(GENERATED_MARKER)
    return current[:at] + generated if at > 0 else generated


def _refuse_foreign_readme(settings: Settings) -> None:
    """Never overwrite a README.md that surveybib did not write (no marker in it)."""
    from surveybib.render import GENERATED_MARKER

    try:
        current = settings.readme.read_bytes()
    except FileNotFoundError:
        return
    if current.strip() and GENERATED_MARKER.encode() not in current:
        name = settings.rel(settings.readme)
        raise SurveybibError(
            f"{name} exists and was not written by surveybib (it has no "
            f"'{GENERATED_MARKER}' marker); move your text to {settings.rel(settings.intro)} "
            "or above the marker, or run `surveybib build --force` to replace it")


def _write_if_changed(out: Output) -> None:
    try:
        if out.path.read_bytes() == out.text.encode("utf-8"):
            return
    except FileNotFoundError:
        pass
    write_atomic(out.path, out.text)


@main.command()
@click.argument("key")
@pass_context
def note(ctx: Context, key: str) -> None:
    """Create the note file for KEY (never overwriting it) and print its path."""
    from surveybib.survey import load_survey

    settings = ctx.settings
    click.get_current_context().with_resource(survey_lock(settings))
    survey = load_survey(settings, encoding=ctx.encoding)
    entry = survey.entry(key)
    if entry is None:
        import difflib

        close = difflib.get_close_matches(key, [e.key for e in survey.entries], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        fail(f"no entry with key '{key}' in {settings.rel(settings.bib)}{hint}")
    path, created = ensure_note(settings, entry)
    if created:
        click.echo(f"created {settings.rel(path)}", err=True)
    click.echo(settings.rel(path))


def ensure_note(settings: Settings, entry: Entry) -> tuple[Path, bool]:
    """notes/<key>.md from the note template unless it exists (never overwritten);
    returns its path and whether it was created."""
    from surveybib import render
    from surveybib.notes import note_filename

    path = settings.notes / note_filename(entry.key)
    if path.exists():
        return path, False
    env = render.make_environment(settings.templates)
    with template_errors(settings):
        stub = env.get_template("note.md.j2").render(key=entry.key,
                                                      title=render.display_title(entry))
    write_atomic(path, stub)
    return path, True


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="text: lines on stderr; json or GitHub annotations: stdout.")
@pass_context
def check(ctx: Context, fmt: str) -> None:
    """Lint the bibliography and notes, and fail when README.md or an export is stale."""
    problems = check_problems(ctx)
    errors = sum(1 for p in problems if p.level == "error")
    warnings = len(problems) - errors
    if fmt == "json":
        click.echo(findings_json(problems, errors, warnings))
    elif fmt == "github":
        for line in github_annotations(problems, ctx.settings.root):
            click.echo(line)
    else:
        report(problems, ctx.quiet)
    if not ctx.quiet and fmt != "json":
        click.echo(f"{len(problems)} finding(s): {counted(errors, warnings)}", err=True)
    if errors:
        sys.exit(1)


def check_problems(ctx: Context) -> list[Problem]:
    """Every finding of `check`, levels applied, sorted by file and line."""
    from surveybib.lint import configure, lint
    from surveybib.survey import load_survey

    settings = ctx.settings
    survey = load_survey(settings, encoding=ctx.encoding)
    outputs, problems = render_outputs(ctx, survey)
    for out, _ in stale_outputs(outputs, settings):
        problems.append(Problem(settings.rel(out.path), None, None,
                                "stale: run `make readme` (or `surveybib build`) and commit it",
                                "check", rule="stale-output"))
    problems.extend(lint(survey, settings))
    unique = dict.fromkeys(configure(problems, settings))  # unknown-taxonomy comes twice
    return sorted(unique, key=_problem_order)


def _problem_order(p: Problem) -> tuple[str, int, str, str]:
    return (p.path, p.line or 0, p.key or "", p.message)


def findings_json(problems: Sequence[Problem], errors: int, warnings: int) -> str:
    """`check --format json`: the findings and their counts."""
    import json

    items = [{"path": p.path, "line": p.line, "key": p.key, "rule": p.rule, "level": p.level,
              "stage": p.stage, "message": p.message} for p in problems]
    return json.dumps({"findings": items, "errors": errors, "warnings": warnings},
                      ensure_ascii=False, indent=2, sort_keys=True)


def github_annotations(problems: Sequence[Problem], root: Path) -> list[str]:
    """`check --format github`: one GitHub Actions workflow command per finding."""
    lines = []
    for p in problems:
        path = _workspace_path(root / p.path)
        props = f"file={_gh_escape(path, True)}"
        if p.line:
            props += f",line={p.line}"
        if p.rule:
            props += f",title={_gh_escape('surveybib ' + p.rule, True)}"
        text = f"{p.key}: {p.message}" if p.key else p.message
        lines.append(f"::{p.level} {props}::{_gh_escape(text, False)}")
    return lines


def _workspace_path(path: Path) -> str:
    """A path relative to the working directory (GitHub resolves annotations from there)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _gh_escape(text: str, is_property: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if is_property:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


# ---------------------------------------------------------------- export


@main.command("export")
@click.option("--format", "fmt", default="bibtex", show_default=True,
              type=click.Choice(["bibtex", "biblatex", "csl-json", "ris", "text", "markdown",
                                 "html"]),
              help="Output format.")
@click.option("--style", type=click.Choice(["plain", "unsrt", "alpha", "unsrtalpha"]),
              help="pybtex style for text/markdown/html (default plain).")
@click.option("--csl", metavar="FILE",
              help="A CSL style file for text/markdown/html (or 'surveybib-numeric').")
@click.option("--aux", "aux", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep only the keys a LaTeX run cited (its .aux file).")
@click.option("--keys", metavar="K1,K2", help="Keep only these keys.")
@click.option("--taxonomy", metavar="T", help="Keep only papers filed under T (or T/...).")
@click.option("--sort", type=click.Choice(["key", "year", "author"]),
              help="Order (default: the bibliography's).")
@click.option("--unicode", "unicode_", is_flag=True,
              help="bibtex: keep non-ASCII as UTF-8 instead of LaTeX accents.")
@click.option("--keep", multiple=True, metavar="FIELD",
              help="Keep a field that is stripped by default (e.g. abstract); repeatable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (atomically) instead of stdout.")
@pass_context
def export_command(ctx: Context, fmt: str, style: str | None, csl: str | None,
                   aux: Path | None, keys: str | None, taxonomy: str | None, sort: str | None,
                   unicode_: bool, keep: tuple[str, ...], output: Path | None) -> None:
    """Citation export for the survey paper: exactly the cited papers, custom fields stripped."""
    from surveybib.export import DEFAULT_SKIP, run_export
    from surveybib.lint import configure
    from surveybib.survey import load_survey

    settings = ctx.settings
    if output is not None:
        check_output_path(settings, _under(ctx.root, output))
    wanted, sources = _wanted_keys(ctx.root, aux, keys)
    survey = load_survey(settings, encoding=ctx.encoding)
    csl_file = _under(ctx.root, Path(csl)) if csl else None
    result, unknown = run_export(
        survey.entries, fmt, keys=wanted, taxonomy=taxonomy, group_by=settings.group_by,
        declared=settings.taxonomy, style=style,
        csl=str(csl_file) if csl_file and csl_file.is_file() else csl,
        unicode=unicode_, keep=frozenset(k.lower() for k in keep),
        skip_fields=DEFAULT_SKIP | frozenset(settings.export_skip_fields), sort=sort)
    bib = settings.rel(settings.bib)
    missing = [Problem(sources.get(key, "--keys"), None, key, f"cited but not in {bib}",
                       "export", rule="export-unknown-key") for key in unknown]
    found = configure([*result.problems, *missing], settings)
    errors, warnings = report([*configure(survey.problems, settings), *found], ctx.quiet)
    if output is None:
        click.echo(result.text, nl=False)
    else:
        write_atomic(_under(ctx.root, output), result.text)
        if not ctx.quiet:
            click.echo(f"wrote {result.count} entries to {output}; {counted(errors, warnings)}",
                       err=True)
    if any(p.level == "error" for p in found):
        sys.exit(1)


def _under(root: Path, path: Path) -> Path:
    """A path given on the command line, relative to the survey directory (-C)."""
    return path if path.is_absolute() else root / path


def _wanted_keys(root: Path, aux: Path | None, keys: str | None
                 ) -> tuple[list[str] | None, dict[str, str]]:
    """The keys --aux and --keys ask for (None: all), and which .aux cited each key."""
    from surveybib.export import aux_inputs, parse_aux

    wanted: list[str] = []
    sources: dict[str, str] = {}
    cite_all = aux is None and keys is None
    if aux is not None:
        pending = [_under(root, aux)]
        seen: set[Path] = set()
        while pending:
            path = pending.pop(0)
            if path in seen:
                continue
            seen.add(path)
            text = _read_aux(path, required=path == _under(root, aux))
            cited, star = parse_aux(text)
            cite_all = cite_all or star
            for key in cited:
                sources.setdefault(key, str(aux if path == _under(root, aux) else path.name))
                wanted.append(key)
            pending.extend(path.parent / name for name in aux_inputs(text))
    if keys is not None:
        wanted.extend(k.strip() for k in keys.split(",") if k.strip())
    return (None if cite_all else list(dict.fromkeys(wanted))), sources


def _read_aux(path: Path, required: bool) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise UsageError(f"--aux {path}: no such file (run LaTeX first)") from None
        return ""  # an \include'd chapter that LaTeX has not written yet
    except OSError as exc:
        raise UsageError(f"--aux {path}: cannot be read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# ---------------------------------------------------------------- enrich


@main.command()
@click.argument("keys", nargs=-1)
@click.option("--offline", is_flag=True, help="Use no network: report what the store lacks.")
@click.option("--refresh", is_flag=True, help="Fetch again what the store already holds.")
@click.option("--dry-run", is_flag=True,
              help="Print the fields that would be added; write nothing.")
@click.option("--write", is_flag=True,
              help="Also add the missing fields and found DOIs to survey.bib itself.")
@pass_context
def enrich(ctx: Context, keys: tuple[str, ...], offline: bool, refresh: bool, dry_run: bool,
           write: bool) -> None:
    """Fill the metadata store from Crossref/DataCite (DOI, arXiv id, or a guarded title search)."""
    from surveybib import enrich as stage
    from surveybib.metadata import MetadataStore, save_store
    from surveybib.survey import load_survey

    settings = ctx.settings
    if dry_run and write:
        raise UsageError("--dry-run writes nothing; leave out --write or --dry-run")
    if not dry_run:  # it writes the store (and with --write survey.bib): one run at a time
        click.get_current_context().with_resource(survey_lock(settings))
    survey = load_survey(settings, encoding=ctx.encoding)
    _known_keys(keys, survey.parsed, settings)
    store = survey.store

    def save(store: MetadataStore) -> None:
        if not dry_run:
            save_store(settings.metadata, store)

    with stage.open_client(settings.mailto, offline=offline) as client:
        result = stage.run_enrich(survey.parsed, store, client, keys=keys, refresh=refresh,
                                  progress=_progress_bar(ctx), checkpoint=save)
    report(result.problems, ctx.quiet)
    if dry_run or ctx.verbose:
        for line in stage.change_lines(result.changes):
            click.echo(line)
    if write and result.changes:
        _write_bib(settings.bib, ctx.encoding or settings.encoding, survey.parsed, result)
    click.echo(result.summary(), err=True)


def _known_keys(keys: Sequence[str], entries: Sequence[Entry], settings: Settings) -> None:
    known = {e.key for e in entries}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise UsageError(f"no entry with key {', '.join(repr(k) for k in unknown)} in "
                         f"{settings.rel(settings.bib)}")


def _progress_bar(ctx: Context) -> Callable[[Counts], None] | None:
    """A one-line progress bar on stderr, only when stderr is a terminal."""
    if ctx.quiet or not sys.stderr.isatty():
        return None
    from surveybib.enrich import progress_line

    def show(counts: Counts) -> None:
        end = "\n" if counts.done >= counts.total else ""
        click.echo(f"\r{progress_line(counts)}{end}", err=True, nl=False)

    return show


def _write_bib(path: Path, encoding: str, entries: Sequence[Entry],
               result: EnrichResult) -> None:
    """Add the filled fields into survey.bib, every other byte as it was (BOM, newlines)."""
    import codecs

    from surveybib.enrich import write_fields
    from surveybib.latex import to_ascii_latex
    from surveybib.lookup import file_encoding

    raw = path.read_bytes()
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    name = file_encoding(raw, encoding or None)  # --encoding, else UTF-8 or a coding line
    try:
        text = raw[len(bom):].decode(name)
    except UnicodeDecodeError:
        raise UsageError(f"{path.name} is not {name}; give its encoding with --encoding to "
                         "use --write") from None
    changes: Sequence[EntryChange] = result.changes
    if codecs.lookup(name).name != "utf-8":  # an 8-bit file gets LaTeX accents instead
        changes = [_ascii_change(c, to_ascii_latex) for c in changes]
    try:
        data = bom + write_fields(text, entries, changes).encode(name)
    except UnicodeEncodeError as exc:
        raise UsageError(f"{path.name}: a fetched value cannot be written as {name}: "
                         f"{exc}") from None
    if data != raw:
        write_bytes_atomic(path, data)
        click.echo(f"added {sum(len(c.fields) for c in changes)} field(s) to {path.name}",
                   err=True)


def _ascii_change(change: EntryChange, convert: Callable[[str], str]) -> EntryChange:
    import dataclasses

    fields = tuple(dataclasses.replace(f, new=convert(f.new)) for f in change.fields)
    return dataclasses.replace(change, fields=fields)


# ---------------------------------------------------------------- doi / search / add


def _in_survey(ctx: Context) -> bool:
    """A survey repository: its survey.bib exists, or pyproject.toml has [tool.surveybib]."""
    import tomllib

    if ctx.settings.bib.is_file():
        return True
    try:
        table = tomllib.loads((ctx.root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(table.get("tool"), dict) and "surveybib" in table["tool"]


@main.command("doi")
@click.argument("doi")
@click.option("--format", "fmt", default="bibtex", show_default=True,
              type=click.Choice(["bibtex", "biblatex", "csl-json", "ris", "text"]),
              help="Output format (bibtex: the entry exactly as `add` would append it).")
@click.option("--offline", is_flag=True, help="Use only the metadata store.")
@pass_context
def doi_command(ctx: Context, doi: str, fmt: str, offline: bool) -> None:
    """Look one DOI (or arXiv id) up and print it as an entry: Crossref, then DataCite."""
    from surveybib import lookup
    from surveybib.enrich import open_client
    from surveybib.metadata import load_store, save_store

    target = lookup.parse_target(doi)
    survey = _in_survey(ctx)
    settings = ctx.settings
    if survey:
        click.get_current_context().with_resource(survey_lock(settings))
    store = load_store(settings.metadata) if survey else None
    with open_client(settings.mailto if survey else "", offline=offline) as client:
        found = lookup.fetch(target, store, client)
    if store is not None:
        save_store(settings.metadata, lookup.stored(store, found))
    entry = lookup.entry_for_output(found, target)
    if fmt == "bibtex":
        from surveybib.bibfile import format_entry

        click.echo(format_entry(entry), nl=False)
    else:
        from surveybib.export import render_export

        click.echo(render_export([entry], fmt), nl=False)
    if ctx.verbose:
        how = "metadata store" if found.cached else found.source_name
        click.echo(f"{found.doi}: from {how}", err=True)


@main.command("search")
@click.argument("title")
@click.option("--rows", default=5, show_default=True, type=click.IntRange(1, 100),
              help="How many candidates to ask for.")
@click.option("--author", default="", metavar="FAMILY",
              help="First author's family name, for the match guard.")
@click.option("--year", default="", metavar="YYYY", help="Publication year, for the guard.")
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json"]), help="json: for scripts.")
@pass_context
def search_command(ctx: Context, title: str, rows: int, author: str, year: str,
                   fmt: str) -> None:
    """Title -> candidate DOIs, best first; `*` marks the one the match guard accepts."""
    import json
    import re

    from surveybib import lookup
    from surveybib.enrich import open_client

    if year and not re.fullmatch(r"\d{4}", year):
        raise UsageError(f"--year {year}: give a four-digit year")
    if not title.strip():
        raise UsageError("give a title to search for")
    with open_client(ctx.settings.mailto if _in_survey(ctx) else "") as client:
        if client is None:
            fail("the network is off (SURVEYBIB_OFFLINE); search needs Crossref")
        answer = lookup.search(client, title, author=author, year=year, rows=rows)
    if fmt == "json":
        click.echo(json.dumps(answer.as_json(), ensure_ascii=False, indent=2, sort_keys=True))
        return
    for line in lookup.candidate_lines(answer):
        click.echo(line)
    if ctx.quiet:
        return
    verdict = answer.verdict
    if not verdict.candidates:
        click.echo("no candidates", err=True)
    elif verdict.doi:
        click.echo(f"* passes the match guard: {verdict.doi}", err=True)
    else:
        hint = "" if author and year else " (give --author and --year to let it decide)"
        click.echo(f"no candidate passes the match guard: {verdict.reason}{hint}", err=True)


@main.command("add")
@click.argument("paper", metavar="DOI_OR_ARXIV_ID")
@click.option("--taxonomy", default="", metavar="T",
              help="Category (from the configured list); several separated by ';'.")
@click.option("--reader", default="", metavar="R", help="Who read it (stored as given).")
@click.option("--key", default="", metavar="K", help="The entry key (default: generated).")
@click.option("--offline", is_flag=True, help="Use only the metadata store.")
@pass_context
def add_command(ctx: Context, paper: str, taxonomy: str, reader: str, key: str,
                offline: bool) -> None:
    """Append one paper to survey.bib (or `-`: BibTeX entries from stdin) and start its note.

    Every byte already in survey.bib stays as it was."""
    from surveybib import lookup
    from surveybib.enrich import open_client
    from surveybib.metadata import load_store, save_store
    from surveybib.survey import load_survey

    settings = ctx.settings
    bib = settings.rel(settings.bib)
    lookup.check_categories(taxonomy, settings.taxonomy, settings.group_by)
    extra = [(settings.group_by, taxonomy.strip()), ("reader", reader.strip())]
    target = None if paper == "-" else lookup.parse_target(paper)
    pasted = sys.stdin.read() if target is None else ""
    click.get_current_context().with_resource(survey_lock(settings))
    survey = load_survey(settings, encoding=ctx.encoding)
    if key:
        lookup.check_key(key, survey.entries)
    if target is None:
        entries = _pasted_entries(pasted, survey.entries, key, extra, settings)
        found = None
    else:
        lookup.refuse_duplicate(target.doi, survey.entries, bib)
        store = load_store(settings.metadata)
        with open_client(settings.mailto, offline=offline) as client:
            found = lookup.fetch(target, store, client)
        taken = [e.key for e in survey.entries]
        entries = (lookup.build_entry(found, target, taken, key=key, extra=extra),)
        save_store(settings.metadata, lookup.stored(store, found))
    lines = _append_entries(settings, ctx.encoding, survey.newline, entries)
    problems = []
    for entry, line in zip(entries, lines, strict=True):
        problems += lookup.warnings_for(entry, line, survey.entries, bib, found)
    report(problems, ctx.quiet)
    from surveybib.bibfile import format_entry

    for entry, line in zip(entries, lines, strict=True):
        click.echo(format_entry(entry), nl=False)
        source = ""
        if found is not None:
            source = f" ({found.source_name} {found.doi}" + \
                     (", from the metadata store)" if found.cached else ")")
        click.echo(f"added {entry.key} to {bib}:{line}{source}", err=True)
        path, created = ensure_note(settings, entry)
        if created:
            click.echo(f"created {settings.rel(path)}", err=True)


def _pasted_entries(text: str, existing: Sequence[Entry], key: str,
                    extra: Sequence[tuple[str, str]], settings: Settings) -> tuple[Entry, ...]:
    """`add -`: the BibTeX entries on stdin, parsed and checked like a looked-up one."""
    from surveybib import lookup
    from surveybib.bibfile import parse_bib

    parsed = parse_bib(text, "<stdin>")
    errors = [p for p in parsed.problems if p.level == "error"]
    if errors:
        report(errors)
        fail(f"stdin: {len(errors)} error(s) in the pasted BibTeX; nothing added")
    if not parsed.entries:
        raise UsageError("no BibTeX entry on stdin (paste one, e.g. from the publisher's page)")
    for entry in parsed.entries:
        if not any(value for name, value in extra if name == settings.group_by):
            lookup.check_categories(entry.get(settings.group_by), settings.taxonomy,
                                    settings.group_by)
    return lookup.prepare_pasted(parsed.entries, existing, key=key, extra=extra)


def _append_entries(settings: Settings, encoding: str | None, newline: str,
                    entries: Sequence[Entry]) -> list[int]:
    """Append the entries to survey.bib in its own encoding and line ends; the old bytes
    are kept as they were (the new text is encoded alone and added after them). Returns
    the line each entry starts on."""
    from surveybib import lookup
    from surveybib.bibfile import append_entries, format_entry

    path = settings.bib
    raw = path.read_bytes()
    name = lookup.file_encoding(raw, encoding or settings.encoding or None)
    blocks = [format_entry(lookup.encodable(e, name)) for e in entries]
    text = raw.decode(name)
    suffix = append_entries(text, blocks, newline)[len(text):]
    try:
        data = raw + suffix.encode(name)
    except UnicodeEncodeError as exc:
        raise UsageError(f"{path.name}: the new entry cannot be written as {name}: "
                         f"{exc}") from None
    line = append_entries(text, [], newline).count("\n") + 1
    lines = []
    for block in blocks:
        lines.append(line)
        line += block.count("\n") + 1
    write_bytes_atomic(path, data)
    return lines
