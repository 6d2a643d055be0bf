"""`add --from-issue`: `add`, from the body GitHub wrote for the add-paper issue form, with
its answer in a form a workflow posts back (a pull request description or an issue
comment, or JSON)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from surveybib import issueform, lookup
from surveybib.bibtex.write import format_entry
from surveybib.cli.adding import Added, add_paper, added_source, print_added
from surveybib.cli.app import Context, report
from surveybib.enrich import open_client
from surveybib.errors import FileError, NetworkError, SurveybibError, UsageError
from surveybib.files import read_regular
from surveybib.limits import MAX_TEXT_BYTES


def add_from_issue(ctx: Context, source: str, fmt: str, key: str = "") -> None:
    """Parse the issue body at SOURCE (`-`: stdin), then do what `add` does; in the json
    and github formats a refusal is printed as the answer (and the exit code is add's)."""
    try:
        request = issueform.parse_body(_read_body(source), ctx.settings.taxonomy)
        issueform.require_categories(request, ctx.settings.taxonomy)
        paper: str | lookup.Target = request.paper or _by_title(ctx, request)
        added = add_paper(ctx, paper, request.taxonomy, request.reader, key, request.note)
    except SurveybibError as exc:
        if fmt == "text":
            raise
        _answer_refusal(exc, fmt)
    if fmt == "text":
        print_added(ctx, added)
    else:
        report(added.problems, ctx.quiet)
        _answer_added(ctx, added, fmt, note_given=bool(request.note.strip()))


def _read_body(source: str) -> str:
    if source == "-":
        text = sys.stdin.read(MAX_TEXT_BYTES + 1)
        if len(text) > MAX_TEXT_BYTES:
            raise UsageError(f"--from-issue -: more than {MAX_TEXT_BYTES:,} characters on stdin")
        return text
    try:
        data = read_regular(Path(source), MAX_TEXT_BYTES)
    except FileNotFoundError:
        raise UsageError(f"--from-issue {source}: no such file") from None
    except FileError as exc:
        raise UsageError(f"--from-issue {exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--from-issue {source}: not UTF-8 (byte {exc.start})") from None


def _by_title(ctx: Context, request: issueform.PaperRequest) -> lookup.Target:
    """No identifier in the issue: the DOI of the one Crossref record that passes the
    match guard for its title, first author and year."""
    settings = ctx.settings
    lookup.check_categories(request.taxonomy, settings.taxonomy, settings.group_by)
    with open_client(settings.mailto, offline=ctx.offline) as client:
        if client is None:
            raise NetworkError("the network is off (SURVEYBIB_OFFLINE); finding a paper by "
                               "its title needs Crossref")
        return lookup.target_for_title(client, request.title, author=request.author,
                                       year=request.year)


# ------------------------------------------------------------------ answers


def _hint(exc: SurveybibError) -> str:
    """What the contributor can do about a refusal."""
    if isinstance(exc, issueform.IssueFormError):
        return exc.hint
    if isinstance(exc, lookup.TitleNotMatched):
        return ("Give the paper's DOI or arXiv id if it has one; otherwise check the title, "
                "and give the first author's family name and the year.")
    if isinstance(exc, lookup.NotFound):
        return ("Check the DOI or arXiv id for a typo. A paper without either can be given "
                "by its title, first author and year instead.")
    if isinstance(exc, lookup.Refused):
        return "Nothing needs to be added, so this issue can be closed."
    if isinstance(exc, NetworkError):
        return ("Nothing is wrong with the issue: the lookup failed. A maintainer can run "
                "the workflow again later.")
    if isinstance(exc, UsageError):
        return "Change that answer in the issue."
    return "A maintainer will have a look."


def _answer_refusal(exc: SurveybibError, fmt: str) -> NoReturn:
    code = 2 if isinstance(exc, UsageError) else 1
    message, hint = str(exc), _hint(exc)
    click.echo(f"surveybib: {message}", err=True)
    if fmt == "json":
        click.echo(json.dumps({"status": "refused", "exit_code": code, "message": message,
                               "hint": hint}, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        click.echo(issueform.refusal_comment(message, hint), nl=False)
        _step_outputs(status="refused")
    sys.exit(code)


def _answer_added(ctx: Context, added: Added, fmt: str, note_given: bool) -> None:
    settings = ctx.settings
    entry, line = added.entries[0], added.lines[0]
    path, created = added.notes[0]
    note = settings.rel(path) if created else None
    source = added_source(added)
    warnings = [str(p) for p in added.problems]
    if fmt == "json":
        click.echo(json.dumps({
            "status": "added", "key": entry.key, "doi": added.found.doi if added.found else "",
            "bib": settings.rel(settings.bib), "line": line, "source": source, "note": note,
            "entry": format_entry(entry), "warnings": warnings,
        }, ensure_ascii=False, indent=2, sort_keys=True))
        return
    how = f"from {source}" if source else "as given"
    click.echo(issueform.added_comment(settings.rel(settings.bib), entry.key, line,
                                       format_entry(entry), how, note, warnings,
                                       note_given=note_given), nl=False)
    _step_outputs(status="added", key=entry.key)
    if not ctx.quiet:
        click.echo(f"added {entry.key} to {settings.rel(settings.bib)}:{line}", err=True)


def _step_outputs(**values: str) -> None:
    """In a GitHub Actions step, its outputs (`steps.<id>.outputs.key`): name=value lines
    appended to the file $GITHUB_OUTPUT names. Values are single lines (a key has no line
    break), so the plain form is safe."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            handle.write(f"{name}={' '.join(value.split())}\n")
