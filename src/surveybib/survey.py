"""Assemble a Survey (entries + metadata + notes + problems) from Settings.

`build`, `check` and `export` all start here, so they can never disagree
about what the bibliography says.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.source import BibSource
from surveybib.config import Settings, has_survey_table
from surveybib.errors import BibFileError, FileError
from surveybib.files import read_regular, resolve
from surveybib.limits import MAX_TEXT_BYTES
from surveybib.metadata.store import MetadataStore, load_store, merge_entries, stored_findings
from surveybib.model import Entry, Note, Problem
from surveybib.notes import attach_notes, key_from_filename
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
        entries, merge_problems = _merged(self.parsed, store)
        kept = _still_untitled(
            tuple(p for p in self.problems if p not in self.merge_problems), entries)
        return replace(self, entries=entries, store=store, merge_problems=merge_problems,
                       problems=kept + merge_problems)

    def entry(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key == key), None)


def _merged(parsed: tuple[Entry, ...], store: MetadataStore
            ) -> tuple[tuple[Entry, ...], tuple[Problem, ...]]:
    """The entries merged with the store, and every finding the store holds about them."""
    entries, problems = merge_entries(parsed, store)
    return entries, problems + stored_findings(parsed, store)


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
    if not settings.bib.is_file() and not settings.bib.exists():
        if has_survey_table(settings.root / "pyproject.toml"):
            raise BibFileError(f"{settings.rel(settings.bib)}: no such file (the bibliography "
                               "[tool.surveybib] names in pyproject.toml)")
        raise BibFileError(
            f"no survey here: neither {settings.root} nor a folder above it has a "
            f"{settings.rel(settings.bib)} or a [tool.surveybib] table in pyproject.toml; run "
            "surveybib inside the survey's folder, or name it with -C DIR")
    named_by = "" if encoding else f"[tool.surveybib] encoding = {settings.encoding!r}"
    return BibSource.read(settings.bib, settings.rel(settings.bib),
                          encoding or settings.encoding or None, named_by)


def read_note_files(notes_dir: Path) -> tuple[list[tuple[str, str]], list[Problem]]:
    """(file name, text) of every notes/*.md, sorted; unreadable notes are Problems."""
    if not notes_dir.is_dir():
        return [], []
    files: list[tuple[str, str]] = []
    problems: list[Problem] = []
    root = notes_dir.resolve()
    for path in sorted(notes_dir.glob("*.md")):
        shown = f"{notes_dir.name}/{path.name}"
        try:
            if path.is_symlink() and root not in resolve(path, shown).parents:
                raise FileError(f"{shown}: is a link to a file outside the notes directory")
            text = read_regular(path, MAX_TEXT_BYTES, shown).decode("utf-8")
        except FileNotFoundError:
            continue  # a dangling link, or removed while we looked
        except FileError as exc:
            problems.append(Rule.NOTE_UNREADABLE.at(
                shown, None, None, f"{_after_name(str(exc), shown)}; skipped", "notes"))
            continue
        except UnicodeDecodeError as exc:
            problems.append(Rule.NOTE_UNREADABLE.at(
                shown, None, None, f"cannot be read as UTF-8 text ({exc}); skipped", "notes"))
            continue
        files.append((path.name, text))
    return files, problems


def _after_name(message: str, name: str) -> str:
    """A FileError's message without the file name it starts with (the Problem names it)."""
    return message.removeprefix(f"{name}: ")


def _not_orphans_of_lost(orphans: tuple[Problem, ...], parse_problems: tuple[Problem, ...]
                         ) -> tuple[Problem, ...]:
    """A note whose entry could not be read is no orphan: the parse error names the entry
    (and build lists it as lost), so the note is not reported a second time."""
    lost = {p.key for p in parse_problems if p.rule == Rule.PARSE_ERROR.id and p.key}
    if not lost:
        return orphans
    return tuple(p for p in orphans if not (p.rule == Rule.ORPHAN_NOTE.id and p.key is None
                                            and _note_key(p.path) in lost))


def _note_key(path: str) -> str:
    return key_from_filename(path.rsplit("/", 1)[-1])


def load_survey(settings: Settings, *, encoding: str | None = None) -> Survey:
    """Read survey.bib, the metadata store and notes/, and put them together."""
    source = read_bib(settings, encoding)
    parsed = parse_bib(source.text, source.path)
    store = load_store(settings.metadata)
    entries, merge_problems = _merged(parsed.entries, store)
    files, note_problems = read_note_files(settings.notes)
    notes, orphan_problems = attach_notes(entries, files, settings.rel(settings.notes))
    orphan_problems = _not_orphans_of_lost(orphan_problems, parsed.problems)
    problems = (*_still_untitled(parsed.problems, entries), *note_problems, *orphan_problems,
                *merge_problems)
    return Survey(settings, entries, notes, tuple(problems), source, parsed.entries, store,
                  merge_problems)
