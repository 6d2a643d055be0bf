"""`add`'s work, shared by `add` and `add --from-issue`: look the paper up (or read
pasted BibTeX), check it against survey.bib, append it, store its record, start its note,
and say what was done."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from surveybib import lookup
from surveybib.bibtex.layout import file_format
from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.write import BibFormat, format_entry
from surveybib.build import ensure_note
from surveybib.cli.app import Context, fail, offline_by, report
from surveybib.config import Settings
from surveybib.enrich import open_client
from surveybib.errors import SurveybibError, UsageError
from surveybib.files import survey_lock, write_bytes_atomic
from surveybib.limits import MAX_TEXT_BYTES
from surveybib.metadata.store import load_store, save_store
from surveybib.model import Entry, Problem, Work, printable
from surveybib.notes import check_note_name, note_filename
from surveybib.survey import load_survey


@dataclass(frozen=True, slots=True)
class Added:
    """What `add` did: the entries it appended and the line each starts on, the record
    they came from (None for pasted BibTeX), its warnings, and each entry's note."""

    entries: tuple[Entry, ...]
    lines: tuple[int, ...]
    found: Work | None
    cached: bool  # the record came from the metadata store
    fmt: BibFormat  # the layout the entries were written in (survey.bib's own)
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
    pasted = _read_stdin() if target is None else ""
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
            found, cached = lookup.fetch(target, store, client, offline_by(ctx))
        taken = [e.key for e in survey.entries]
        entries = (lookup.build_entry(found, target, taken, key=key, extra=extra),)
        if note:
            _refuse_taken_note(settings, entries[0])
        save_store(settings.metadata, lookup.stored(store, found))
    for entry in entries:  # before anything is written: all or nothing
        check_note_name(entry.key)
    fmt = file_format(survey.source.text)  # the file's own: indent, spaces, alignment
    data, lines = survey.source.append(entries, fmt)
    write_bytes_atomic(settings.bib, data, bib)
    notes = _notes_or_undo(settings, entries, survey.source.raw, note)
    problems = []
    for entry, line in zip(entries, lines, strict=True):
        problems += lookup.warnings_for(entry, line, survey.entries, bib, found)
    return Added(entries, tuple(lines), found, cached, fmt, tuple(problems), notes)


def _notes_or_undo(settings: Settings, entries: Sequence[Entry], before: bytes, note: str
                   ) -> tuple[tuple[Path, bool], ...]:
    """Each new entry's note (created unless it exists); if one cannot be written,
    survey.bib gets its old bytes back and nothing is added."""
    made: list[tuple[Path, bool]] = []
    try:
        for entry in entries:
            made.append(ensure_note(settings, entry, note))
    except (SurveybibError, OSError) as exc:
        write_bytes_atomic(settings.bib, before, settings.rel(settings.bib))
        for path, created in made:
            if created:
                path.unlink(missing_ok=True)
        raise SurveybibError(f"{exc}; nothing added") from None
    return tuple(made)


def _read_stdin() -> str:
    """What was pasted on stdin, up to limits.MAX_TEXT_BYTES."""
    text = sys.stdin.read(MAX_TEXT_BYTES + 1)
    if len(text) > MAX_TEXT_BYTES:
        raise UsageError(f"stdin: more than {MAX_TEXT_BYTES:,} characters; paste fewer entries")
    return text


def _refuse_taken_note(settings: Settings, entry: Entry) -> None:
    """A note to write for a key whose note file is there already (left by a removed
    entry): refused before anything is written, so neither text is lost."""
    path = settings.notes / note_filename(entry.key)
    if path.exists():
        raise lookup.Refused(f"{settings.rel(path)} already exists (a note without an "
                             f"entry?); move it away or give another key with --key; "
                             "nothing added")


def added_source(added: Added) -> str:
    """Where the entry came from, for the "added" line: `Crossref 10.1/x`."""
    if added.found is None:
        return ""
    return f"{added.found.source_name} {added.found.doi}" + \
        (", from the metadata store" if added.cached else "")


def print_added(ctx: Context, added: Added) -> None:
    """`add`'s report: warnings, each entry on stdout, what was added and created."""
    settings = ctx.settings
    report(added.problems, ctx.quiet)
    source = added_source(added)
    for number, (entry, line, (path, created)) in enumerate(zip(
            added.entries, added.lines, added.notes, strict=True)):
        click.echo(("\n" if number else "") + format_entry(entry, added.fmt), nl=False)
        if ctx.quiet:  # -q: the entries (the result) and errors only
            continue
        where = f" ({source})" if source else ""
        click.echo(printable(f"added {entry.key} to {settings.rel(settings.bib)}:{line}{where}"),
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
