"""doi, search and add: look papers up and append them to survey.bib."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections.abc import Sequence

import click

from surveybib import lookup
from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.write import SURVEY, format_entry
from surveybib.build import ensure_note
from surveybib.cli.app import Context, fail, main, pass_context, report
from surveybib.config import Settings
from surveybib.enrich import open_client
from surveybib.errors import UsageError
from surveybib.export import render_export
from surveybib.files import survey_lock, write_bytes_atomic
from surveybib.metadata.store import load_store, save_store
from surveybib.model import Entry
from surveybib.survey import load_survey


def _in_survey(ctx: Context) -> bool:
    """A survey repository: its survey.bib exists, or pyproject.toml has [tool.surveybib]."""

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
        found, cached = lookup.fetch(target, store, client)
    if store is not None:
        save_store(settings.metadata, lookup.stored(store, found))
    entry = lookup.entry_for_output(found, target)
    if fmt == "bibtex":

        click.echo(format_entry(entry), nl=False)
    else:
        click.echo(render_export([entry], fmt), nl=False)
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
    """Title -> candidate DOIs, best first; `*` marks the one the match guard accepts."""


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
@pass_context
def add_command(ctx: Context, paper: str, taxonomy: str, reader: str, key: str) -> None:
    """Append one paper to survey.bib (or `-`: BibTeX entries from stdin) and start its note.

    Every byte already in survey.bib stays as it was."""

    settings = ctx.settings
    bib = settings.rel(settings.bib)
    lookup.check_categories(taxonomy, settings.taxonomy, settings.group_by)
    extra = [(settings.group_by, taxonomy.strip()), ("reader", reader.strip())]
    target = None if paper == "-" else lookup.parse_target(paper)
    pasted = sys.stdin.read() if target is None else ""
    click.get_current_context().with_resource(survey_lock(settings.root))
    survey = load_survey(settings, encoding=ctx.encoding)
    if key:
        lookup.check_key(key, survey.entries)
    if target is None:
        entries = _pasted_entries(pasted, survey.entries, key, extra, settings)
        found, cached = None, False
    else:
        lookup.refuse_duplicate(target.doi, survey.entries, bib)
        store = load_store(settings.metadata)
        with open_client(settings.mailto, offline=ctx.offline) as client:
            found, cached = lookup.fetch(target, store, client)
        taken = [e.key for e in survey.entries]
        entries = (lookup.build_entry(found, target, taken, key=key, extra=extra),)
        save_store(settings.metadata, lookup.stored(store, found))
    data, lines = survey.source.append(entries, SURVEY)
    write_bytes_atomic(settings.bib, data)
    problems = []
    for entry, line in zip(entries, lines, strict=True):
        problems += lookup.warnings_for(entry, line, survey.entries, bib, found)
    report(problems, ctx.quiet)

    for entry, line in zip(entries, lines, strict=True):
        click.echo(format_entry(entry), nl=False)
        source = ""
        if found is not None:
            source = f" ({found.source_name} {found.doi}" + \
                     (", from the metadata store)" if cached else ")")
        click.echo(f"added {entry.key} to {bib}:{line}{source}", err=True)
        path, created = ensure_note(settings, entry)
        if created:
            click.echo(f"created {settings.rel(path)}", err=True)


def _pasted_entries(text: str, existing: Sequence[Entry], key: str,
                    extra: Sequence[tuple[str, str]], settings: Settings) -> tuple[Entry, ...]:
    """`add -`: the BibTeX entries on stdin, parsed and checked like a looked-up one."""

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
