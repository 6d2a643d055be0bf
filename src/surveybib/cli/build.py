"""build, check and note: the commands that render the survey and lint it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from surveybib import build as pipeline
from surveybib.cli.app import Context, counted, fail, main, pass_context, progress_bar, report
from surveybib.config import Settings
from surveybib.files import survey_lock
from surveybib.lint import configure
from surveybib.model import Problem, json_safe, printable
from surveybib.survey import Survey, load_survey
from surveybib.text import closest


@main.command()
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing, use no network; exit 1 with a diff if an output is stale.")
@click.option("--strict", is_flag=True, help="Exit 1 when the bibliography has any error.")
@click.option("--force", is_flag=True,
              help="Replace a README.md that surveybib did not write (it has no marker), "
                   "or one that lists papers with a survey.bib that has none.")
@pass_context
def build(ctx: Context, check_only: bool, strict: bool, force: bool) -> None:
    """Render README.md (and configured exports) from survey.bib and notes/."""
    settings = ctx.settings
    click.get_current_context().with_resource(pipeline.collector_paused())
    if not check_only:  # held until the command ends: two builds never interleave
        click.get_current_context().with_resource(survey_lock(settings.root))
    survey = load_survey(settings, encoding=ctx.encoding)
    if not check_only:
        fetched = pipeline.fetch_missing(settings, survey, ctx.offline, progress_bar(ctx))
        if fetched.summary and not ctx.quiet:
            click.echo(fetched.summary, err=True)
        survey = fetched.survey
    outputs, problems = pipeline.render_outputs(settings, survey)
    if not check_only:  # the site is published, not committed: --check never asks for it
        outputs, problems = pipeline.with_site(settings, survey, outputs, problems)
    errors, warnings = report(configure(problems, settings), ctx.quiet)
    if check_only:
        _check_outputs(settings, survey, outputs, problems)
        if not ctx.quiet:
            click.echo(f"up to date; {counted(errors, warnings)}", err=True)
        return
    if not force:
        pipeline.refuse_foreign_readme(settings)
        pipeline.refuse_emptied_survey(settings, survey)
    written = pipeline.write_outputs(outputs, settings)
    if not ctx.quiet:  # name only what changed: a rebuild of the same state writes nothing
        done = (f"wrote {', '.join(settings.rel(o.path) for o in written)}" if written else
                f"up to date: {', '.join(settings.rel(o.path) for o in outputs)}")
        click.echo(f"{done}; {counted(errors, warnings)}", err=True)
    lost = pipeline.lost_entries(problems)
    if lost:  # `make readme` must stop: a paper vanished from the README
        fail(pipeline.lost_line(lost, pipeline.entry_outputs(settings, outputs)))
    if strict and errors:
        sys.exit(1)


def _check_outputs(settings: Settings, survey: Survey, outputs: Sequence[pipeline.Output],
                   problems: Sequence[Problem]) -> None:
    """build --check: fail, as `check` does, on a stale output, an uncommitted store (a
    clone would find the README stale) or an entry missing from the outputs."""
    stale = pipeline.stale_outputs(outputs, settings)
    for _, diff in stale:
        click.echo("\n".join(printable(line) for line in diff.split("\n")))
    if stale:
        fail(f"{len(stale)} output(s) stale; run `make readme` (or `surveybib build`)"
             + pipeline.missing_store_hint(settings, survey))
    uncommitted = pipeline.store_problems(settings)
    if uncommitted:
        fail(str(uncommitted[0]))
    lost = pipeline.lost_entries(problems)
    if lost:
        fail(pipeline.lost_line(lost, pipeline.entry_outputs(settings, outputs)))


@main.command()
@click.argument("key")
@pass_context
def note(ctx: Context, key: str) -> None:
    """Create the note file for KEY (never overwriting it) and print its path."""
    settings = ctx.settings
    click.get_current_context().with_resource(survey_lock(settings.root))
    survey = load_survey(settings, encoding=ctx.encoding)
    entry = survey.entry(key)
    if entry is None:
        close = closest(key, (e.key for e in survey.entries))
        hint = f"; did you mean '{close}'?" if close else ""
        fail(f"no entry with key '{key}' in {settings.rel(settings.bib)}{hint}")
    path, created = pipeline.ensure_note(settings, entry)
    if created and not ctx.quiet:
        click.echo(f"created {settings.rel(path)}", err=True)
    click.echo(settings.rel(path))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="text: lines on stderr; json or GitHub annotations: stdout.")
@pass_context
def check(ctx: Context, fmt: str) -> None:
    """Lint the bibliography and notes, and fail when README.md or an export is stale."""
    problems = pipeline.check_problems(ctx.settings, ctx.encoding)
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
        click.echo(f"{len(problems):,} finding(s): {counted(errors, warnings)}", err=True)
    if errors:
        sys.exit(1)


def findings_json(problems: Sequence[Problem], errors: int, warnings: int) -> str:
    """`check --format json`: the findings and their counts."""
    items = [{"path": p.path, "line": p.line, "key": p.key, "rule": p.rule, "level": p.level,
              "stage": p.stage, "message": p.message} for p in problems]
    return json_safe(json.dumps({"findings": items, "errors": errors, "warnings": warnings},
                                ensure_ascii=False, indent=2, sort_keys=True))


def github_annotations(problems: Sequence[Problem], root: Path) -> list[str]:
    """`check --format github`: one GitHub Actions workflow command per finding."""
    lines = []
    for p in problems:
        path = _workspace_path(root / p.path)
        props = f"file={_gh_escape(printable(path), True)}"
        if p.line:
            props += f",line={p.line}"
        if p.rule:
            props += f",title={_gh_escape('surveybib ' + p.rule, True)}"
        text = f"{p.key}: {p.message}" if p.key else p.message
        text = "\n".join(printable(line) for line in text.split("\n"))  # %0A: GitHub's break
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
