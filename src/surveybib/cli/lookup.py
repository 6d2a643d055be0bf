"""doi, search and add: look papers up and append them to survey.bib."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from surveybib import lookup
from surveybib.bibtex.layout import file_layout
from surveybib.bibtex.parse import append_entries, format_entry, parse_bib
from surveybib.build import ensure_note
from surveybib.cli.app import Context, fail, main, offline_by, pass_context, report
from surveybib.config import Settings, has_survey_table
from surveybib.enrich import open_client
from surveybib.errors import UsageError
from surveybib.export import render_export
from surveybib.files import survey_lock, write_bytes_atomic
from surveybib.metadata.store import load_store, save_store
from surveybib.model import Entry, Problem
from surveybib.notes import note_filename
from surveybib.survey import load_survey


def _in_survey(ctx: Context) -> bool:
    """A survey repository: its survey.bib exists, or pyproject.toml has [tool.surveybib]."""

    return ctx.settings.bib.is_file() or has_survey_table(ctx.root / "pyproject.toml")


@main.command("doi")
@click.argument("doi")
@click.option("--format", "fmt", default="bibtex", show_default=True,
              type=click.Choice(["bibtex", "biblatex", "csl-json", "ris", "text"]),
              help="Output format (bibtex: the entry exactly as add would append it).")
@pass_context
def doi_command(ctx: Context, doi: str, fmt: str) -> None:
    """Look one DOI (or arXiv id) up and print it as an entry: Crossref, then DataCite."""

    target = lookup.parse_target(doi)
    survey = _in_survey(ctx)
    settings = ctx.settings
    if survey:
        click.get_current_context().with_resource(survey_lock(settings.root))
    store = load_store(settings.metadata) if survey else None
    with open_client(settings.mailto if survey else "", offline=ctx.offline) as client:
        found = lookup.fetch(target, store, client, offline_by(ctx))
    if store is not None and _cited(settings, found.doi):  # the store keeps what entries use
        save_store(settings.metadata, lookup.stored(store, found))
    entry = lookup.entry_for_output(found, target)
    if fmt == "bibtex":  # as add would append it: in survey.bib's own layout
        click.echo(format_entry(entry, file_layout(_bib_text(settings))), nl=False)
    else:
        click.echo(render_export([entry], fmt), nl=False)
    if ctx.verbose:
        how = "metadata store" if found.cached else found.source_name
        click.echo(f"{found.doi}: from {how}", err=True)


def _bib_text(settings: Settings) -> str:
    """survey.bib's text for a look at its entries and layout ("" when there is none)."""
    try:
        return settings.bib.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def _cited(settings: Settings, doi: str) -> bool:
    """Whether an entry of survey.bib has this DOI (its own, or its arXiv id's)."""
    entries = parse_bib(_bib_text(settings), settings.rel(settings.bib)).entries
    return lookup.same_doi(doi, entries) is not None


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
    """Title -> candidate DOIs, best first; * marks the one the match guard accepts."""


    if year and not re.fullmatch(r"\d{4}", year):
        raise UsageError(f"--year {year}: give a four-digit year")
    if not title.strip():
        raise UsageError("give a title to search for")
    with open_client(ctx.settings.mailto if _in_survey(ctx) else "",
                     offline=ctx.offline) as client:
        if client is None:
            fail(f"{offline_by(ctx)} turns the network off, and search needs Crossref")
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
        hint = "" if author else " (give --author, or --year with a long title, to let it decide)"
        click.echo(f"no candidate passes the match guard: {verdict.reason}{hint}", err=True)


@main.command("add")
@click.argument("paper", metavar="DOI_OR_ARXIV_ID", required=False)
@click.option("--taxonomy", default="", metavar="T",
              help="Category (from the configured list); several separated by ';'.")
@click.option("--reader", default="", metavar="R", help="Who read it (stored as given).")
@click.option("--key", default="", metavar="K", help="The entry key (default: generated).")
@click.option("--from-issue", "issue", metavar="FILE",
              help="Take the paper, category, reader and note from the body GitHub wrote "
                   "for the add-paper issue form (- for stdin).")
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "github"]),
              help="With --from-issue: json, or github (markdown for the pull request or "
                   "the issue comment, on stdout).")
@pass_context
def add_command(ctx: Context, paper: str | None, taxonomy: str, reader: str, key: str,
                issue: str | None, fmt: str) -> None:
    """Append one paper (a DOI or arXiv id, or - for BibTeX on stdin) and start its note.

    Every byte already in survey.bib stays as it was."""
    if issue is not None:
        from surveybib.cli.issue import add_from_issue

        if paper or taxonomy or reader:
            raise UsageError("--from-issue takes the paper, category and reader from the "
                             "issue; leave out DOI_OR_ARXIV_ID, --taxonomy and --reader")
        add_from_issue(ctx, issue, fmt, key)
        return
    if paper is None:
        raise UsageError("give a DOI or arXiv id (or `-` for BibTeX on stdin, or "
                         "--from-issue FILE)")
    if fmt != "text":
        raise UsageError("--format json/github go with --from-issue")
    print_added(ctx, add_paper(ctx, paper, taxonomy, reader, key))


@dataclass(frozen=True, slots=True)
class Added:
    """What `add` did: the entries it appended and the line each starts on, the record
    they came from (None for pasted BibTeX), its warnings, and each entry's note."""

    entries: tuple[Entry, ...]
    lines: tuple[int, ...]
    found: lookup.Found | None
    problems: tuple[Problem, ...]
    notes: tuple[tuple[Path, bool], ...]  # (path, whether add created it)


def add_paper(ctx: Context, paper: str | lookup.Target, taxonomy: str, reader: str,
              key: str, note: str = "") -> Added:
    """`add`: look PAPER up (a DOI or arXiv id, a Target, or `-` for BibTeX on stdin),
    check it against survey.bib, append it, store its record, and start its note (with
    NOTE as its text when given). Raises UsageError or lookup's errors; writes nothing
    then."""
    settings = ctx.settings
    bib = settings.rel(settings.bib)
    lookup.check_categories(taxonomy, settings.taxonomy, settings.group_by)
    extra = [(settings.group_by, taxonomy.strip()), ("reader", reader.strip())]
    target = paper if isinstance(paper, lookup.Target) else \
        None if paper == "-" else lookup.parse_target(paper)
    pasted = sys.stdin.read() if target is None else ""
    click.get_current_context().with_resource(survey_lock(settings.root))
    survey = load_survey(settings, encoding=ctx.encoding)
    if key:
        lookup.check_key(key, survey.entries)
    if target is None:
        entries = _pasted_entries(pasted, survey.entries, key, extra, settings)
        found = None
    else:
        lookup.refuse_duplicate(target.doi, survey.entries, bib)
        store = load_store(settings.metadata)
        with open_client(settings.mailto, offline=ctx.offline) as client:
            found = lookup.fetch(target, store, client, offline_by(ctx))
        taken = [e.key for e in survey.entries]
        entries = (lookup.build_entry(found, target, taken, key=key, extra=extra),)
        if note:
            _refuse_taken_note(settings, entries[0])
        save_store(settings.metadata, lookup.stored(store, found))
    lines = _append_entries(settings, ctx.encoding, survey.newline, entries)
    problems = []
    for entry, line in zip(entries, lines, strict=True):
        problems += lookup.warnings_for(entry, line, survey.entries, bib, found)
    notes = tuple(ensure_note(settings, entry, note) for entry in entries)
    return Added(entries, tuple(lines), found, tuple(problems), notes)


def _refuse_taken_note(settings: Settings, entry: Entry) -> None:
    """A note to write for a key whose note file is there already (left by a removed
    entry): refused before anything is written, so neither text is lost."""
    path = settings.notes / note_filename(entry.key)
    if path.exists():
        raise lookup.Refused(f"{settings.rel(path)} already exists (a note without an "
                             f"entry?); move it away or give another key with --key; "
                             "nothing added")


def added_source(found: lookup.Found | None) -> str:
    """Where the entry came from, for the "added" line: `Crossref 10.1/x`."""
    if found is None:
        return ""
    return f"{found.source_name} {found.doi}" + \
        (", from the metadata store" if found.cached else "")


def print_added(ctx: Context, added: Added) -> None:
    """`add`'s report: warnings, each entry on stdout, what was added and created."""
    settings = ctx.settings
    report(added.problems, ctx.quiet)
    source = added_source(added.found)
    layout = file_layout(_bib_text(settings))  # as appended: in the file's own layout
    for number, (entry, line, (path, created)) in enumerate(zip(
            added.entries, added.lines, added.notes, strict=True)):
        click.echo(("\n" if number else "") + format_entry(entry, layout), nl=False)
        if ctx.quiet:  # -q: the entries (the result) and errors only
            continue
        where = f" ({source})" if source else ""
        click.echo(f"added {entry.key} to {settings.rel(settings.bib)}:{line}{where}",
                   err=True)
        if created:
            click.echo(f"created {settings.rel(path)}", err=True)


def _pasted_entries(text: str, existing: Sequence[Entry], key: str,
                    extra: Sequence[tuple[str, str]], settings: Settings) -> tuple[Entry, ...]:
    """`add -`: the BibTeX entries on stdin, parsed and checked like a looked-up one."""

    parsed = parse_bib(text, "<stdin>")
    errors = [p for p in parsed.problems if p.level == "error"]
    if errors:
        report(errors)
        fail(f"stdin: {len(errors)} error(s) in the pasted BibTeX; nothing added", 2)
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

    path = settings.bib
    raw = path.read_bytes()
    name = lookup.file_encoding(raw, encoding or settings.encoding or None)
    text = raw.decode(name)
    layout = file_layout(text)  # the file's own: indent, spaces around =, alignment
    blocks = [format_entry(lookup.encodable(e, name), layout) for e in entries]
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
