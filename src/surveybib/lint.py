"""`surveybib check`'s rules: a Survey -> Problems (pure: no I/O, no printing).

Every finding is made through a `rules.Rule`, so `[tool.surveybib.check]` can turn a
rule off or change its level (`configure`). Every DOI and arXiv question is answered by
identifiers.py, so `check` and `add` agree on what a DOI is and when two entries are one
paper.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from surveybib.bibtex.keys import key_problem
from surveybib.bibtex.names import parse_names
from surveybib.config import Settings
from surveybib.errors import ConfigError
from surveybib.identifiers import arxiv_only, entry_ids, normalize_doi, parse_arxiv_id
from surveybib.latex import to_unicode, url_from_latex
from surveybib.limits import MAX_TITLE_WORDS
from surveybib.metadata.match import matched_authors
from surveybib.model import Entry, Problem
from surveybib.readme.taxonomy import split_categories
from surveybib.rules import Rule
from surveybib.survey import Survey
from surveybib.text import closest, title_words

LEVELS = ("off", "warning", "error")
RULE_IDS = frozenset(rule.id for rule in Rule)

# Required fields per entry type (BibTeX's standard styles; biblatex names as
# alternatives). Each item is a tuple of alternatives, one of which must be filled.
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "article": (("author",), ("title",), ("journal", "journaltitle"), ("year", "date")),
    "book": (("author", "editor"), ("title",), ("publisher",), ("year", "date")),
    "booklet": (("title",),),
    "inbook": (("author", "editor"), ("title",), ("chapter", "pages"), ("publisher",),
               ("year", "date")),
    "incollection": (("author",), ("title",), ("booktitle",), ("publisher",), ("year", "date")),
    "inproceedings": (("author",), ("title",), ("booktitle",), ("year", "date")),
    "conference": (("author",), ("title",), ("booktitle",), ("year", "date")),
    "manual": (("title",),),
    "mastersthesis": (("author",), ("title",), ("school", "institution"), ("year", "date")),
    "phdthesis": (("author",), ("title",), ("school", "institution"), ("year", "date")),
    "thesis": (("author",), ("title",), ("school", "institution"), ("year", "date")),
    "proceedings": (("title",), ("year", "date")),
    "techreport": (("author",), ("title",), ("institution",), ("year", "date")),
    "report": (("author",), ("title",), ("institution",), ("year", "date")),
    "unpublished": (("author",), ("title",), ("note",)),
    "online": (("title",), ("url", "doi", "eprint")),
    "misc": (("title",),),
}

_YEAR = re.compile(r"^\d{4}$")
_URL = re.compile(r"^(?:https?|ftp)://[^\s/?#@]+(?:[/?#]\S*)?$", re.I)
def lint(survey: Survey, settings: Settings) -> tuple[Problem, ...]:
    """Every finding of this module's rules, in file order of the entries they name."""
    entries = survey.entries
    found: list[Problem] = []
    found.extend(_case_duplicates(entries))
    found.extend(_doi_duplicates(entries))
    pairs = preprint_pairs(entries)
    found.extend(_preprint_duplicates(pairs))
    found.extend(_title_duplicates(entries, {frozenset((a.key, b.key)) for a, b in pairs}))
    declared = frozenset(settings.taxonomy)
    hints = _Hints(settings.taxonomy)
    for entry in entries:
        found.extend(_entry_problems(entry, settings, declared, hints))
        found.extend(_reader_without_note(entry, survey))
    return tuple(found)


def configure(problems: Iterable[Problem], settings: Settings) -> tuple[Problem, ...]:
    """Apply [tool.surveybib.check] levels: drop the rules turned off, relevel the rest."""
    levels = rule_levels(settings.check)
    out: list[Problem] = []
    for problem in problems:
        level = levels.get(problem.rule)
        if level == "off":
            continue
        if level is not None and level != problem.level:
            problem = dataclasses.replace(problem, level=level)  # type: ignore[arg-type]
        out.append(problem)
    return tuple(out)


def rule_levels(check: Sequence[tuple[str, str]]) -> dict[str, str]:
    """[tool.surveybib.check] as {rule: level}; unknown rules or levels are ConfigErrors."""
    levels: dict[str, str] = {}
    for rule, level in check:
        if rule not in RULE_IDS:
            close = closest(rule, RULE_IDS)
            hint = f"; did you mean '{close}'?" if close else ""
            raise ConfigError(f"[tool.surveybib.check] has an unknown rule '{rule}'{hint} "
                              f"(rules: {', '.join(sorted(RULE_IDS))})")
        if level not in LEVELS:
            raise ConfigError(f"[tool.surveybib.check] {rule} = {level!r}: the level must be "
                              f"one of {', '.join(LEVELS)}")
        levels[rule] = level
    return levels


class _Hints:
    """How to fix categories that are not known, each name looked up once. The closest
    match compares a name with every known one, so it is asked while the comparisons stay
    under COMPARISONS in all (20,000 categories once took 9 s); past that, only a case
    slip or a comma-joined list is hinted."""

    COMPARISONS = 20_000

    def __init__(self, known: Sequence[str]) -> None:
        self.names = list(known)
        self.folded: dict[str, str] = {}
        for name in self.names:
            self.folded.setdefault(name.casefold(), name)
        self.left = self.COMPARISONS
        self.found: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.found:
            self.found[name] = self._hint(name)
        return self.found[name]

    def _hint(self, name: str) -> str:
        parts = [p.strip() for p in name.split(",")]
        if len(parts) > 1 and all(self._known(p) for p in parts):
            return f"separate categories with '; ': '{'; '.join(self._known(p) for p in parts)}'"
        close = None
        if self.left >= len(self.names):
            self.left -= len(self.names)
            close = closest(name, self.names)
        close = close or self._known(name)
        return f"did you mean '{close}'?" if close else ""

    def _known(self, name: str) -> str:
        """The known category NAME stands for, compared without case ("" if none)."""
        return self.folded.get(name.strip().casefold(), "")


def unknown_categories(unknown: Sequence[tuple[Entry, str]], settings: Settings,
                       hints: _Hints | None = None) -> list[Problem]:
    """(entry, category) pairs outside the configured taxonomy -> Problems with a hint."""
    hint = hints or _Hints(settings.taxonomy)
    out = []
    for entry, name in unknown:
        text = hint(name)
        out.append(Rule.UNKNOWN_TAXONOMY.about(
            entry, f"{settings.group_by} '{name}' is not in the configured list"
                   f"{f' ({text})' if text else ''}", "taxonomy"))
    return out


def category_hint(name: str, known: Sequence[str]) -> str:
    """How to fix a category that is not known: "separate categories with '; '" when it is
    known categories joined by commas, else "did you mean 'X'?" (a typo or a case slip),
    else ""."""
    return _Hints(known)(name)


# ---------------------------------------------------------------- per entry


def _entry_problems(entry: Entry, settings: Settings, declared: frozenset[str],
                    hints: _Hints) -> Iterator[Problem]:
    why = key_problem(entry.key)
    if why is not None:
        yield Rule.BAD_KEY.about(entry, f"{why}; BibTeX and biber cannot read it: rename the "
                                        "entry (and its note)", "check")
    yield from _missing_fields(entry)
    yield from _taxonomy(entry, settings, declared, hints)
    doi = entry.get("doi").strip()
    if doi and normalize_doi(url_from_latex(doi)) is None:
        yield Rule.BAD_DOI.about(entry, f"doi '{doi}' is not a DOI (expected 10.NNNN/...)",
                                 "check")
    archive = (entry.get("archiveprefix") or entry.get("eprinttype")).strip().lower()
    eprint = entry.get("eprint").strip()
    if archive == "arxiv" and eprint and parse_arxiv_id(url_from_latex(eprint)) is None:
        yield Rule.BAD_ARXIV.about(entry, f"eprint '{eprint}' is not an arXiv id (expected "
                                          "e.g. 2101.01234 or hep-th/9901001)", "check")
    year = entry.get("year").strip()
    if year and not _YEAR.match(url_from_latex(year)):
        yield Rule.BAD_YEAR.about(entry, f"year '{year}' is not a year (expected four digits)",
                                  "check")
    url = entry.get("url").strip()
    if url and not _URL.match(url_from_latex(url)):
        yield Rule.BAD_URL.about(entry, f"url '{url}' is not an http(s) or ftp URL", "check")


def _missing_fields(entry: Entry) -> Iterator[Problem]:
    for alternatives in _REQUIRED.get(entry.type, ()):
        if not any(entry.get(name).strip() for name in alternatives):
            if alternatives == ("title",):
                continue  # bibfile's no-title rule already names it
            what = " or ".join(f"'{name}'" for name in alternatives)
            yield Rule.MISSING_FIELD.about(entry, f"@{entry.type} needs {what} (not in the "
                                                  "entry nor in the metadata store)", "check")


def _taxonomy(entry: Entry, settings: Settings, declared: frozenset[str],
              hints: _Hints) -> Iterator[Problem]:
    names = split_categories(entry.get(settings.group_by), declared,
                             commas=settings.group_by != "taxonomy")
    if not names:
        yield Rule.NO_TAXONOMY.about(entry, f"no {settings.group_by}; listed under "
                                            "Uncategorized", "taxonomy")
        return
    if declared:
        unknown = [(entry, n) for n in names if n not in declared]
        yield from unknown_categories(unknown, settings, hints)


def _reader_without_note(entry: Entry, survey: Survey) -> Iterator[Problem]:
    reader = entry.get("reader").strip()
    if not reader:
        return
    note = survey.notes.get(entry.key)
    if note is None:
        message = (f"read by {to_unicode(reader)} but has no note (write one with "
                   f"`surveybib note {entry.key}`)")
    elif note.is_empty:  # `add` or `note` made the file; nobody has written in it yet
        message = (f"read by {to_unicode(reader)} but its note {note.path} is still the "
                   "empty stub; write the notes below its comment")
    else:
        return
    yield Rule.READER_WITHOUT_NOTE.about(entry, message, "notes")


# ---------------------------------------------------------------- duplicates


def _case_duplicates(entries: Sequence[Entry]) -> Iterator[Problem]:
    first: dict[str, Entry] = {}
    for entry in entries:
        other = first.setdefault(entry.key.casefold(), entry)
        if other is not entry and other.key != entry.key:
            yield Rule.DUPLICATE_KEY_CASE.about(
                entry, f"key differs from '{other.key}' (line {other.line}) only in case; "
                "BibTeX and case-insensitive disks confuse them", "check")


def _doi_duplicates(entries: Sequence[Entry]) -> Iterator[Problem]:
    """Entries naming the same paper by DOI or arXiv id, however each writes it (the rule
    `add` refuses a duplicate by: identifiers.entry_ids)."""
    first: dict[str, Entry] = {}
    for entry in entries:
        for doi in entry_ids(entry):
            other = first.setdefault(doi, entry)
            if other is not entry:
                yield Rule.DUPLICATE_DOI.about(
                    entry, f"same DOI as '{other.key}' (line {other.line}): {doi}", "check")
                break


def _title_duplicates(entries: Sequence[Entry],
                      skip: set[frozenset[str]] | None = None) -> Iterator[Problem]:
    """Same folded title, or one extra word in a long title (a preprint and its published
    version). Hashing, not pairwise comparison: O(n * words per title). Pairs in `skip`
    (already reported as preprint-duplicate) are not reported again."""
    by_words: dict[tuple[str, ...], Entry] = {}
    folded: list[tuple[Entry, tuple[str, ...]]] = []
    for entry in entries:
        words = title_words(entry.get("title"))
        if len(words) < 2:
            continue  # "Introduction" alone says nothing about identity
        folded.append((entry, words))
        by_words.setdefault(words, entry)
    reported: set[tuple[str, str]] = set()
    for entry, words in folded:
        for other in _similar(words, by_words):
            if other is entry or other.key == entry.key:
                continue
            pair = (other.key, entry.key) if other.line <= entry.line else (entry.key, other.key)
            if pair in reported or (skip and frozenset(pair) in skip):
                continue
            reported.add(pair)
            later, earlier = (entry, other) if other.line <= entry.line else (other, entry)
            yield Rule.NEAR_DUPLICATE_TITLE.about(
                later, f"title (nearly) the same as '{earlier.key}' (line {earlier.line}): one "
                "paper under two keys, or a preprint and its published version?", "check")


def preprint_pairs(entries: Sequence[Entry]) -> list[tuple[Entry, Entry]]:
    """(arXiv-only preprint, other entry) pairs with the same folded title and at least one
    family name in common (transliteration-aware): one paper listed twice, as a preprint
    and as its published version."""
    by_title: dict[tuple[str, ...], list[Entry]] = {}
    for entry in entries:
        words = title_words(entry.get("title"))
        if len(words) >= 2:
            by_title.setdefault(words, []).append(entry)
    pairs: list[tuple[Entry, Entry]] = []
    for group in by_title.values():
        if len(group) < 2:
            continue
        group = group[:_MAX_SAME_TITLE]  # each pair is compared: keep it bounded
        for preprint in (e for e in group if arxiv_only(e)):
            people = parse_names(preprint.get("author"))
            for other in group:
                if other is preprint or other.key == preprint.key or arxiv_only(other):
                    continue
                names = [" ".join(p for p in (person.given, person.family or person.literal)
                                  if p) for person in parse_names(other.get("author"))]
                if matched_authors(people, names):
                    pairs.append((preprint, other))
    return pairs


# More entries than this under one title are no preprint and its version: only the first
# ones are paired (a file of thousands of copies of one title once made this quadratic).
_MAX_SAME_TITLE = 32


def _preprint_duplicates(pairs: Sequence[tuple[Entry, Entry]]) -> Iterator[Problem]:
    for preprint, published in pairs:
        where = f" (line {published.line})" if published.line else ""
        yield Rule.PREPRINT_DUPLICATE.about(
            preprint, f"arXiv preprint of '{published.key}'{where} (same title, shared "
            "authors): one paper listed twice; keep the published entry", "check")


def _similar(words: tuple[str, ...], by_words: dict[tuple[str, ...], Any]) -> Iterator[Any]:
    exact = by_words.get(words)
    if exact is not None:
        yield exact
    if len(words) < 6 or len(words) > MAX_TITLE_WORDS:
        # Short titles differing by a word are different papers; a title longer than any
        # real one is compared whole (each dropped word below costs the title's length).
        return
    for i, word in enumerate(words):
        if word.isdigit():
            continue  # "Llama 2" vs "Llama": versions are different papers
        shorter = by_words.get(words[:i] + words[i + 1 :])
        if shorter is not None:
            yield shorter


def title_duplicates(entry: Entry, entries: Sequence[Entry]) -> list[Entry]:
    """The entries whose title `check` would call (nearly) the same as ENTRY's (for `add`,
    which warns before the new entry is in the file): the same folded title, or one extra
    non-number word on either side in a long title."""
    words = title_words(entry.get("title"))
    if len(words) < 2:
        return []
    return [other for other in entries
            if _close_titles(words, title_words(other.get("title")))]


def _close_titles(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if len(b) < 2:
        return False
    if a == b:
        return True
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    if len(longer) != len(shorter) + 1 or not 6 <= len(longer) <= MAX_TITLE_WORDS:
        return False
    return any(longer[:i] + longer[i + 1:] == shorter for i, word in enumerate(longer)
               if not word.isdigit())
