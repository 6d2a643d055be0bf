"""enrich: fill the metadata store (and with --write, survey.bib) from Crossref/DataCite."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from surveybib import enrich as stage
from surveybib.bibtex.source import BibSource
from surveybib.cli.app import (
    KEYS_HELP,
    Context,
    fail,
    main,
    pass_context,
    progress_bar,
    report,
    split_keys,
)
from surveybib.cli.scholar import Wanted, run_scholarly
from surveybib.config import Settings
from surveybib.enrich import EnrichResult
from surveybib.errors import UsageError
from surveybib.files import survey_lock, write_bytes_atomic
from surveybib.metadata.store import MetadataStore, pruned, save_store, unused_records
from surveybib.model import Entry, printable
from surveybib.survey import load_survey


@main.command()
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option("--keys", "key_lists", metavar="K1,K2", multiple=True, help=KEYS_HELP)
@click.option("--refresh", is_flag=True, help="Fetch again what the store already holds.")
@click.option("--dry-run", is_flag=True,
              help="Print the fields that would be added; write nothing.")
@click.option("--write", is_flag=True,
              help="Also add the missing fields and found DOIs to survey.bib itself.")
@click.option("--upgrade", is_flag=True,
              help="Find the published version of arXiv-only entries (Semantic Scholar, "
                   "confirmed by Crossref); --write applies it to survey.bib.")
@click.option("--counts", is_flag=True,
              help="Refresh citation counts (Semantic Scholar) and code links (Hugging Face "
                   "Papers) in the store.")
@click.option("--no-code-links", "no_code", is_flag=True,
              help="With --counts: skip Hugging Face (500 lookups per 5 minutes per IP).")
@click.option("--prune", is_flag=True,
              help="Remove the records no entry uses from the store (check lists them); "
                   "no network. With --dry-run: list them.")
@pass_context
def enrich(ctx: Context, keys: tuple[str, ...], key_lists: tuple[str, ...], refresh: bool,
           dry_run: bool, write: bool, upgrade: bool, counts: bool, no_code: bool,
           prune: bool) -> None:
    """Fill the metadata store from Crossref/DataCite (DOI, arXiv id, or a guarded title search).

    Without keys, every entry that lacks metadata; KEY arguments and --keys a,b name some."""
    settings = ctx.settings
    keys = tuple(split_keys((*keys, *key_lists)))
    if dry_run and write:
        raise UsageError("--dry-run writes nothing; leave out --write or --dry-run")
    if no_code and not counts:
        raise UsageError("--no-code-links goes with --counts")
    if counts and write and not upgrade:
        raise UsageError("--counts keeps counts and code links in the metadata store; --write "
                         "(survey.bib) goes with --upgrade")
    if not dry_run:  # it writes the store (and with --write survey.bib): one run at a time
        click.get_current_context().with_resource(survey_lock(settings.root))
    survey = load_survey(settings, encoding=ctx.encoding)
    _known_keys(keys, survey.parsed, settings)
    if prune:
        _prune(settings, survey.parsed, survey.store, dry_run)
        return
    if upgrade or counts:
        run_scholarly(ctx, survey, keys, Wanted(upgrade, counts, not no_code, refresh,
                                                 dry_run, write))
        return
    store = survey.store

    def save(store: MetadataStore) -> None:
        if not dry_run:
            save_store(settings.metadata, store)

    with stage.open_client(settings.mailto, offline=ctx.offline) as client:
        result = stage.run_enrich(survey.parsed, store, client, keys=keys, refresh=refresh,
                                  progress=progress_bar(ctx), checkpoint=save)
    report(result.problems, ctx.quiet)
    if dry_run or ctx.verbose:
        for line in stage.change_lines(result.changes):
            click.echo(printable(line))
    if write and result.changes:
        _write_bib(settings.bib, survey.source, survey.parsed, result)
    got = bool(result.fetched or result.matched)
    if got or not result.unreachable:  # else the failure line below says it all
        click.echo(result.summary(), err=True)
    if result.unreachable and result.lacking:
        # the API could not be reached, from the first request or after a while: enrich
        # exists to fetch, so the run failed (--offline is the way to ask for nothing)
        still = "1 entry still lacks" if result.lacking == 1 else \
            f"{result.lacking} entries still lack"
        kept = "what was fetched is kept; " if got else ""
        fail(f"enrich did not finish: {still} metadata ({result.unreachable}); {kept}run "
             "surveybib enrich again when the API can be reached")


def _prune(settings: Settings, entries: Sequence[Entry], store: MetadataStore,
           dry_run: bool) -> None:
    """enrich --prune: drop the records no entry uses, one line each on stdout."""
    unused = unused_records(entries, store)
    for section, ident in unused:
        click.echo(f"{settings.rel(settings.metadata)}: {section}: {ident}")
    if not dry_run and unused:
        save_store(settings.metadata, pruned(store, unused))
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(unused)} record{'s' * (len(unused) != 1)} no entry uses",
               err=True)


def _known_keys(keys: Sequence[str], entries: Sequence[Entry], settings: Settings) -> None:
    known = {e.key for e in entries}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise UsageError(f"no entry with key {', '.join(repr(k) for k in unknown)} in "
                         f"{settings.rel(settings.bib)}")


def _write_bib(path: Path, source: BibSource, entries: Sequence[Entry],
               result: EnrichResult) -> None:
    """Add the filled fields into survey.bib, every other byte as it was (BOM, newlines)."""
    data = source.insert_fields(entries, stage.additions(result.changes))
    if data != source.raw:
        write_bytes_atomic(path, data, path.name)
        click.echo(f"added {sum(len(c.fields) for c in result.changes)} field(s) to "
                   f"{path.name}", err=True)
