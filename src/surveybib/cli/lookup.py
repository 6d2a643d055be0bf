"""doi, search and add: look papers up and append them to survey.bib."""

from __future__ import annotations

import json
import re

import click

from surveybib import lookup
from surveybib.bibtex.layout import file_format
from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.write import format_entry
from surveybib.cli.adding import add_paper, print_added
from surveybib.cli.app import Context, fail, main, offline_by, pass_context
from surveybib.cli.issue import add_from_issue
from surveybib.config import Settings, has_survey_table
from surveybib.enrich import open_client
from surveybib.errors import BibFileError, FileError, MetadataStoreError, UsageError
from surveybib.export import render_export
from surveybib.files import survey_lock
from surveybib.limits import MAX_QUERY
from surveybib.metadata.store import load_store, save_store
from surveybib.model import Entry, json_safe, printable
from surveybib.survey import read_bib


def _in_survey(ctx: Context) -> bool:
    """A survey repository: its survey.bib exists, or pyproject.toml has [tool.surveybib]."""
    return ctx.settings.bib.is_file() or has_survey_table(ctx.root / "pyproject.toml")


def _survey_entries(settings: Settings) -> tuple[str, tuple[Entry, ...]]:
    """survey.bib's text and entries, for a look at its layout and DOIs (nothing when it
    is missing or cannot be read: `doi` works outside a survey too)."""
    try:
        source = read_bib(settings)
    except (BibFileError, FileError):  # FileError: not a regular file, too large
        return "", ()
    return source.text, parse_bib(source.text, source.path).entries


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
        found, cached = lookup.fetch(target, store, client, offline_by(ctx))
    text, entries = _survey_entries(settings) if survey else ("", ())
    entry = lookup.entry_for_output(found, target)
    if fmt == "bibtex":  # as add would append it: in survey.bib's own layout
        click.echo(format_entry(entry, file_format(text)), nl=False)
    else:
        click.echo(render_export([entry], fmt), nl=False)
    if store is not None and lookup.same_doi(found.doi, entries) is not None:
        try:  # what entries use only; the answer is printed, a full disk only loses the cache
            save_store(settings.metadata, lookup.stored(store, found))
        except MetadataStoreError as exc:
            click.echo(f"surveybib: warning: {printable(str(exc))}; the record was not kept",
                       err=True)
    if ctx.verbose:
        how = "metadata store" if cached else found.source_name
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
    if answer.query.cut and not ctx.quiet:
        click.echo(f"surveybib: warning: the title is {len(title):,} characters long; searched "
                   f"with its first {MAX_QUERY}", err=True)
    if fmt == "json":
        click.echo(json_safe(json.dumps(answer.as_json(), ensure_ascii=False, indent=2,
                                        sort_keys=True)))
        return
    for line in lookup.candidate_lines(answer):
        click.echo(printable(line))
    if ctx.quiet:
        return
    verdict = answer.verdict
    if not verdict.candidates:
        click.echo("no candidates", err=True)
    elif verdict.doi:
        click.echo(f"* passes the match guard: {verdict.doi}", err=True)
    else:
        hint = "" if author else " (give --author, or --year with a long title, to let it decide)"
        click.echo(printable(f"no candidate passes the match guard: {verdict.reason}{hint}"),
                   err=True)


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
