"""Assemble a Survey (entries + metadata + notes + problems) from Settings.

`build`, `check` and `export` all start here, so they can never disagree
about what the bibliography says.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.source import BibSource
from surveybib.config import Settings
from surveybib.metadata.store import MetadataStore, load_store, merge_entries
from surveybib.model import Entry, Note, Problem
from surveybib.notes import attach_notes
from surveybib.rules import Rule


@dataclass(frozen=True, slots=True)
class Survey:
    """Everything the outputs are made from, in file order."""

    settings: Settings
    entries: tuple[Entry, ...]  # merged: the user's fields, gaps filled from the store
    notes: dict[str, Note]
    problems: tuple[Problem, ...]
    source: BibSource
    parsed: tuple[Entry, ...] = ()  # as written in survey.bib
    store: MetadataStore = field(default_factory=MetadataStore)
    merge_problems: tuple[Problem, ...] = ()

    def with_store(self, store: MetadataStore) -> Survey:
        """The same survey merged with another (e.g. freshly fetched) store."""
        entries, merge_problems = merge_entries(self.parsed, store)
        kept = _still_untitled(
            tuple(p for p in self.problems if p not in self.merge_problems), entries)
        return replace(self, entries=entries, store=store, merge_problems=merge_problems,
                       problems=kept + merge_problems)

    def entry(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key == key), None)


def _still_untitled(
    problems: tuple[Problem, ...], merged: tuple[Entry, ...]
) -> tuple[Problem, ...]:
    """Drop "no title" for entries whose title the metadata store filled in."""
    titled = {e.key for e in merged if "title" in e.filled}
    if not titled:
        return problems
    return tuple(p for p in problems if not (p.rule == Rule.NO_TITLE.id and p.key in titled))


def read_bib(settings: Settings, encoding: str | None = None) -> BibSource:
    """survey.bib's bytes and text (see bibtex/source.py for the encoding rules)."""
    return BibSource.read(settings.bib, settings.rel(settings.bib),
                          encoding or settings.encoding or None)


def read_note_files(notes_dir: Path) -> tuple[list[tuple[str, str]], list[Problem]]:
    """(file name, text) of every notes/*.md, sorted; unreadable notes are Problems."""
    if not notes_dir.is_dir():
        return [], []
    files: list[tuple[str, str]] = []
    problems: list[Problem] = []
    root = notes_dir.resolve()
    for path in sorted(notes_dir.glob("*.md")):
        if not path.is_file():
            continue
        if path.is_symlink() and root not in path.resolve().parents:
            problems.append(Rule.NOTE_UNREADABLE.at(
                f"{notes_dir.name}/{path.name}", None, None,
                "is a link to a file outside the notes directory; skipped", "notes"))
            continue
        try:
            files.append((path.name, path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError) as exc:
            problems.append(Rule.NOTE_UNREADABLE.at(
                f"{notes_dir.name}/{path.name}", None, None,
                f"cannot be read as UTF-8 text ({exc}); skipped", "notes"))
    return files, problems


def load_survey(settings: Settings, *, encoding: str | None = None) -> Survey:
    """Read survey.bib, the metadata store and notes/, and put them together."""
    source = read_bib(settings, encoding)
    parsed = parse_bib(source.text, source.path)
    store = load_store(settings.metadata)
    entries, merge_problems = merge_entries(parsed.entries, store)
    files, note_problems = read_note_files(settings.notes)
    notes, orphan_problems = attach_notes(entries, files, settings.rel(settings.notes))
    problems = (*_still_untitled(parsed.problems, entries), *note_problems, *orphan_problems,
                *merge_problems)
    return Survey(settings, entries, notes, tuple(problems), source, parsed.entries, store,
                  merge_problems)
