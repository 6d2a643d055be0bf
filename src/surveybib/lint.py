"""`surveybib check`'s rules: a Survey -> Problems (pure: no I/O, no printing).

Every finding names its rule, so `[tool.surveybib.check]` can turn a rule
off or change its level. The parse-stage rules (bibfile.py) and the notes
rules (notes.py, survey.py) are listed in RULES too, so one table covers
every finding `check` can report.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from surveybib.config import Settings
from surveybib.errors import ConfigError
from surveybib.latex import to_unicode
from surveybib.model import Entry, Level, Problem
from surveybib.readme.render import split_categories
from surveybib.survey import Survey

# rule -> (default level, what it finds)
RULES: dict[str, tuple[Level, str]] = {
    # from bibfile.py
    "parse-error": ("error", "a block that does not parse"),
    "duplicate-key": ("error", "a key defined twice"),
    "duplicate-field": ("error", "a field given twice in one entry"),
    "undefined-macro": ("error", "an @string macro that is not defined"),
    "duplicate-string": ("warning", "an @string macro defined twice (the later value wins)"),
    "no-title": ("warning", "an entry without a title"),
    # from notes.py / survey.py
    "orphan-note": ("error", "a note whose key is not in the bibliography"),
    "note-unreadable": ("error", "a note that is not UTF-8 text"),
    "note-collision": ("warning", "note files that differ only in case"),
    "note-unclosed": ("warning", "a note (or the intro) that leaves a code fence, an HTML "
                                 "comment or an HTML block (`<pre>`, `<script>`, ...) open"),
    "hidden-character": ("warning", "NUL or a bidirectional override in a field, a note or the "
                                    "intro (dropped from the README)"),
    # from cli.py
    "stale-output": ("error", "README.md or an export is not what build would write"),
    "uncommitted-store": ("error", "the metadata store exists but git does not track it"),
    "unused-record": ("warning", "a record in the metadata store that no entry uses"),
    # from issueform.py (the add-paper issue form that build writes)
    "issue-form": ("warning", "a category the issue form's dropdown cannot offer"),
    # from export.py / formatted.py (surveybib export, configured exports)
    "export-unknown-key": ("error", "a key cited (--aux) or asked for (--keys) that is not "
                                    "in the bibliography"),
    "export-format": ("warning", "an entry a formatting style could not format as its type"),
    "export-braces": ("warning", "a value whose braces BibTeX cannot balance"),
    # from site/ (the paper explorer)
    "site-link": ("warning", "a relative link in a note that the explorer page cannot place "
                             "(no --files-url, or outside the repository): left without target"),
    # from metadata.py / enrich.py (the fetched records)
    "conflict": ("warning", "the user's year or title differs from the fetched record's"),
    "preprint": ("warning", "a preprint whose record names a published version"),
    "not-found": ("warning", "a DOI found at neither Crossref nor DataCite"),
    "fetch-failed": ("warning", "a lookup that failed (network, server, malformed answer)"),
    "ambiguous": ("warning", "a title search with several close candidates: nothing taken"),
    "upgrade-refused": ("warning", "an arXiv preprint whose Semantic Scholar record fails the "
                                   "upgrade guard (enrich --upgrade): left as it is"),
    # from latex.py (README, formatted exports, CSL-JSON, RIS)
    "latex-command": ("warning", "a LaTeX command no conversion knows: left out of the "
                                 "README and the formatted exports"),
    # from this module
    "duplicate-key-case": ("error", "keys that differ only in case"),
    "duplicate-doi": ("error", "two entries with the same DOI"),
    "near-duplicate-title": ("warning", "two entries with (nearly) the same title"),
    "preprint-duplicate": ("warning", "an arXiv preprint and its likely published version "
                                      "both listed (same title, shared authors)"),
    "missing-field": ("error", "a field the entry type requires is missing"),
    "unknown-taxonomy": ("error", "a taxonomy value not in the configured list"),
    "no-taxonomy": ("warning", "an entry without a taxonomy value"),
    "bad-doi": ("error", "a DOI that is not of the form 10.NNNN/..."),
    "bad-arxiv": ("error", "an arXiv id that is not of the form 2101.01234 or hep-th/9901001"),
    "bad-year": ("error", "a year that is not a four-digit year"),
    "bad-url": ("error", "a url that is not an http(s) or ftp URL"),
    "reader-without-note": ("warning", "an entry marked as read (reader) but without a note"),
}
LEVELS = ("off", "warning", "error")

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

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ARXIV_NEW = re.compile(r"^\d{4}\.\d{4,5}(?:v\d+)?$")
_ARXIV_OLD = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?$")
_YEAR = re.compile(r"^\d{4}$")
_URL = re.compile(r"^(?:https?|ftp)://[^\s/?#@]+(?:[/?#]\S*)?$", re.I)
_UNESCAPE = re.compile(r"\\([_&%$#{}~^])")
_STOP_WORDS = frozenset(("a", "an", "the", "of", "for", "and", "in", "on", "to", "with", "via",
                         "by", "from", "at", "is", "are"))


def lint(survey: Survey, settings: Settings) -> tuple[Problem, ...]:
    """Every finding of this module's rules, in file order of the entries they name."""
    entries = survey.entries
    found: list[Problem] = []
    found.extend(_case_duplicates(entries))
    found.extend(_doi_duplicates(entries))
    pairs = preprint_pairs(entries)
    found.extend(_preprint_duplicates(pairs))
    found.extend(_title_duplicates(entries, {frozenset((a.key, b.key)) for a, b in pairs}))
    for entry in entries:
        found.extend(_entry_problems(entry, settings))
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
        if rule not in RULES:
            import difflib

            close = difflib.get_close_matches(rule, list(RULES), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"[tool.surveybib.check] has an unknown rule '{rule}'{hint} "
                              f"(rules: {', '.join(sorted(RULES))})")
        if level not in LEVELS:
            raise ConfigError(f"[tool.surveybib.check] {rule} = {level!r}: the level must be "
                              f"one of {', '.join(LEVELS)}")
        levels[rule] = level
    return levels


def unknown_categories(unknown: Sequence[tuple[Entry, str]], settings: Settings) -> list[Problem]:
    """(entry, category) pairs outside the configured taxonomy -> Problems with a hint."""
    out = []
    for entry, name in unknown:
        hint = category_hint(name, settings.taxonomy)
        hint = f" ({hint})" if hint else ""
        out.append(_problem(entry, f"{settings.group_by} '{name}' is not in the configured "
                                   f"list{hint}", "unknown-taxonomy", stage="taxonomy"))
    return out


def category_hint(name: str, known: Sequence[str]) -> str:
    """How to fix a category that is not known: "separate categories with '; '" when it is
    known categories joined by commas, else "did you mean 'X'?" (a typo or a case slip),
    else ""."""
    import difflib

    parts = [p.strip() for p in name.split(",")]
    if len(parts) > 1 and all(_known(p, known) for p in parts):
        return f"separate categories with '; ': '{'; '.join(_known(p, known) for p in parts)}'"
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if not close and _known(name, known):
        close = [_known(name, known)]
    return f"did you mean '{close[0]}'?" if close else ""


def _known(name: str, known: Sequence[str]) -> str:
    """The known category NAME stands for, compared without case ("" if none)."""
    folded = name.strip().casefold()
    return next((k for k in known if k.casefold() == folded), "")


# ---------------------------------------------------------------- identifiers


def normalize_doi(value: str) -> str | None:
    """A DOI as written (bare, doi:, https://doi.org/...) -> lower-case bare DOI, or None."""
    doi = _DOI_PREFIX.sub("", _plain(value)).strip()
    return doi.lower() if _DOI.match(doi) else None


def _plain(value: str) -> str:
    """A BibTeX value holding an identifier: LaTeX escapes and braces removed."""
    return _UNESCAPE.sub(r"\1", value).replace("{", "").replace("}", "").strip()


def _arxiv_id(entry: Entry) -> str:
    prefix = (entry.get("archiveprefix") or entry.get("eprinttype")).lower()
    return entry.get("eprint") if prefix == "arxiv" else ""


def valid_arxiv_id(value: str) -> bool:
    """2101.01234, 2101.01234v2, hep-th/9901001 (an 'arXiv:' prefix is allowed)."""
    value = re.sub(r"^arxiv:", "", _plain(value), flags=re.I)
    return bool(_ARXIV_NEW.match(value) or _ARXIV_OLD.match(value))


# ---------------------------------------------------------------- per entry


def _problem(entry: Entry, message: str, rule: str, stage: str = "check") -> Problem:
    return Problem(entry.path, entry.line, entry.key, message, stage, RULES[rule][0], rule)


def _entry_problems(entry: Entry, settings: Settings) -> Iterator[Problem]:
    yield from _missing_fields(entry)
    yield from _taxonomy(entry, settings)
    doi = entry.get("doi").strip()
    if doi and normalize_doi(doi) is None:
        yield _problem(entry, f"doi '{doi}' is not a DOI (expected 10.NNNN/...)", "bad-doi")
    arxiv = _arxiv_id(entry).strip()
    if arxiv and not valid_arxiv_id(arxiv):
        yield _problem(entry, f"eprint '{arxiv}' is not an arXiv id (expected e.g. 2101.01234 "
                              "or hep-th/9901001)", "bad-arxiv")
    year = entry.get("year").strip()
    if year and not _YEAR.match(_plain(year)):
        yield _problem(entry, f"year '{year}' is not a year (expected four digits)", "bad-year")
    url = entry.get("url").strip()
    if url and not _URL.match(_plain(url)):
        yield _problem(entry, f"url '{url}' is not an http(s) or ftp URL", "bad-url")


def _missing_fields(entry: Entry) -> Iterator[Problem]:
    for alternatives in _REQUIRED.get(entry.type, ()):
        if not any(entry.get(name).strip() for name in alternatives):
            if alternatives == ("title",):
                continue  # bibfile's no-title rule already names it
            what = " or ".join(f"'{name}'" for name in alternatives)
            yield _problem(entry, f"@{entry.type} needs {what} (not in the entry nor in the "
                                  "metadata store)", "missing-field")


def _taxonomy(entry: Entry, settings: Settings) -> Iterator[Problem]:
    names = split_categories(entry.get(settings.group_by), settings.taxonomy,
                             commas=settings.group_by != "taxonomy")
    if not names:
        yield _problem(entry, f"no {settings.group_by}; listed under Uncategorized",
                       "no-taxonomy", stage="taxonomy")
        return
    if settings.taxonomy:
        unknown = [(entry, n) for n in names if n not in settings.taxonomy]
        yield from unknown_categories(unknown, settings)


def _reader_without_note(entry: Entry, survey: Survey) -> Iterator[Problem]:
    reader = entry.get("reader").strip()
    if not reader:
        return
    note = survey.notes.get(entry.key)
    body = re.sub(r"<!--.*?-->", "", note.body, flags=re.S).strip() if note else ""
    if body:
        return
    if note is None:
        message = (f"read by {to_unicode(reader)} but has no note (write one with "
                   f"`surveybib note {entry.key}`)")
    else:  # `add` or `note` made the file; nobody has written in it yet
        message = (f"read by {to_unicode(reader)} but its note {note.path} is still the "
                   "empty stub; write the notes below its comment")
    yield _problem(entry, message, "reader-without-note", stage="notes")


# ---------------------------------------------------------------- duplicates


def _case_duplicates(entries: Sequence[Entry]) -> Iterator[Problem]:
    first: dict[str, Entry] = {}
    for entry in entries:
        other = first.setdefault(entry.key.casefold(), entry)
        if other is not entry and other.key != entry.key:
            yield _problem(entry, f"key differs from '{other.key}' (line {other.line}) only in "
                                  "case; BibTeX and case-insensitive disks confuse them",
                           "duplicate-key-case")


def _doi_duplicates(entries: Sequence[Entry]) -> Iterator[Problem]:
    first: dict[str, Entry] = {}
    for entry in entries:
        doi = normalize_doi(entry.get("doi"))
        if doi is None:
            continue
        other = first.setdefault(doi, entry)
        if other is not entry:
            yield _problem(entry, f"same DOI as '{other.key}' (line {other.line}): {doi}",
                           "duplicate-doi")


def title_words(title: str) -> tuple[str, ...]:
    """A title folded for comparison: LaTeX, accents, case, punctuation and stop words gone."""
    text = unicodedata.normalize("NFKD", to_unicode(title)).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = re.findall(r"\w+", text)
    return tuple(w for w in words if w not in _STOP_WORDS)


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
            yield _problem(later, f"title (nearly) the same as '{earlier.key}' (line "
                                  f"{earlier.line}): one paper under two keys, or a preprint "
                                  "and its published version?", "near-duplicate-title")


def preprint_pairs(entries: Sequence[Entry]) -> list[tuple[Entry, Entry]]:
    """(arXiv-only preprint, other entry) pairs with the same folded title and at least one
    family name in common (transliteration-aware): one paper listed twice, as a preprint
    and as its published version."""
    from surveybib.identifiers import arxiv_only
    from surveybib.metadata.match import matched_authors
    from surveybib.model import parse_names

    by_title: dict[tuple[str, ...], list[Entry]] = {}
    for entry in entries:
        words = title_words(entry.get("title"))
        if len(words) >= 2:
            by_title.setdefault(words, []).append(entry)
    pairs: list[tuple[Entry, Entry]] = []
    for group in by_title.values():
        if len(group) < 2:
            continue
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


def _preprint_duplicates(pairs: Sequence[tuple[Entry, Entry]]) -> Iterator[Problem]:
    for preprint, published in pairs:
        where = f" (line {published.line})" if published.line else ""
        yield _problem(preprint, f"arXiv preprint of '{published.key}'{where} (same title, "
                                 "shared authors): one paper listed twice; keep the published "
                                 "entry", "preprint-duplicate")


def _similar(words: tuple[str, ...], by_words: dict[tuple[str, ...], Any]) -> Iterator[Any]:
    exact = by_words.get(words)
    if exact is not None:
        yield exact
    if len(words) < 6:
        return  # short titles differing by a word are different papers
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
    if len(longer) != len(shorter) + 1 or len(longer) < 6:
        return False
    return any(longer[:i] + longer[i + 1:] == shorter for i, word in enumerate(longer)
               if not word.isdigit())
