"""The title -> DOI guard: accept a search result only when it is certainly the same paper.

A wrong DOI is far worse than none, so every check must hold: nearly identical normalised
titles, the same first-author family name (when the entry names authors), years within one
(when both are known), and no second candidate that passes as well.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from surveybib.bibtex.names import first_family
from surveybib.identifiers import normalize_doi
from surveybib.latex import to_unicode
from surveybib.limits import MAX_COMPARE, MAX_QUERY
from surveybib.metadata.records import crossref_authors, crossref_date, iter_titles
from surveybib.model import Entry, Person
from surveybib.text import fold, normalize_title, plain_text

Status = Literal["matched", "ambiguous", "no match"]

TITLE_SIMILARITY = 0.95  # difflib ratio of normalised titles
SHORT_TITLE = 30  # below this many characters, titles must be equal after normalisation

# Venues that publish without DOIs: Crossref can only return other papers for them.
_NO_DOI_VENUE_RE = re.compile(
    r"\b(?:neurips|nips|neural information processing systems|icml"
    r"|international conference on machine learning(?! and)|iclr"
    r"|international conference on learning representations|jmlr"
    r"|journal of machine learning research|pmlr|proceedings of machine learning research"
    r"|transactions on machine learning research|tmlr|openreview)\b"
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One search result, reduced to what the guard and the user need."""

    doi: str
    title: str
    first_author: str = ""
    year: str = ""
    score: float = 0.0
    container: str = ""
    note: str = ""  # why the guard rejected it ("" for the accepted one)

    def as_json(self) -> dict[str, Any]:
        return {
            "doi": self.doi,
            "title": self.title,
            "first_author": self.first_author,
            "year": self.year,
            "score": self.score,
            "container": self.container,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's decision about one entry's search results."""

    status: Status
    doi: str | None
    candidates: tuple[Candidate, ...]
    reason: str = ""


def normalize_family(text: str) -> str:
    return fold(to_unicode(text))


def no_doi_venue(entry: Entry) -> str:
    """The venue an entry names when that venue publishes without DOIs, else ""."""
    for name in ("booktitle", "journal", "howpublished", "publisher", "series"):
        value = entry.get(name)
        if value and _publishes_without_dois(value):
            return to_unicode(value)
    return ""


@lru_cache(maxsize=4096)
def _publishes_without_dois(venue: str) -> bool:
    """Cached: a bibliography names the same few venues thousands of times."""
    return bool(_NO_DOI_VENUE_RE.search(fold(to_unicode(venue))))


def title_similarity(a: str, b: str) -> float:
    """1.0 for equal normalised titles; short titles count only when equal."""
    if a == b:
        return 1.0
    if not a or not b or min(len(a), len(b)) < SHORT_TITLE:
        return 0.0
    if max(len(a), len(b)) > MAX_COMPARE:
        return 0.0  # difflib's ratio is quadratic; no real title is this long
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < TITLE_SIMILARITY or matcher.quick_ratio() < TITLE_SIMILARITY:
        return 0.0
    return matcher.ratio()


def candidates_from_items(items: Iterable[Mapping[str, Any]]) -> tuple[Candidate, ...]:
    """Crossref search `items` -> Candidates, best score first (Crossref's own order kept)."""
    out: list[Candidate] = []
    for item in items:
        doi = normalize_doi(str(item.get("DOI") or ""))
        if not doi:
            continue
        titles = list(iter_titles(item))
        authors = crossref_authors(item)
        first = ""
        if authors:
            first = str(authors[0].get("family") or authors[0].get("name") or "")
        date = crossref_date(item)
        containers = item.get("container-title")
        container = containers[0] if isinstance(containers, list) and containers else ""
        score = item.get("score")
        out.append(
            Candidate(
                doi=doi,
                title=" | ".join(dict.fromkeys(titles)),
                first_author=first,
                year=str(date[0]) if date else "",
                score=round(float(score), 3) if isinstance(score, int | float) else 0.0,
                container=plain_text(str(container)),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Query:
    """What the guard compares candidates with: the entry's own title, author, year, venue."""

    title: str
    family: str = ""
    year: str = ""
    venue: str = ""

    @property
    def text(self) -> str:
        """The `query.bibliographic` string: title, first author's family name, year; at
        most limits.MAX_QUERY characters of the title (a 100 KB one made a URL that every
        run sent and got 414 for)."""
        title = to_unicode(self.title[: 4 * MAX_QUERY])
        if len(title) > MAX_QUERY:
            title = title[:MAX_QUERY].rsplit(" ", 1)[0]
        family = to_unicode(self.family[:MAX_QUERY])[:100]
        return " ".join(p for p in (title, family, self.year) if p)

    @property
    def cut(self) -> bool:
        """Whether the search sends only part of the title."""
        return len(self.title) > MAX_QUERY and len(to_unicode(self.title[: 4 * MAX_QUERY])) > \
            MAX_QUERY


def query_for(entry: Entry) -> Query | None:
    """The search query for an entry with a title (None when it has no title)."""
    title = entry.get("title")
    if not title.strip():
        return None
    family = first_family(entry.get("author")) or first_family(entry.get("editor"))
    match = re.search(r"\d{4}", entry.get("year") or entry.get("date"))
    return Query(title, family, match.group(0) if match else "", no_doi_venue(entry))


def _check(query: Query, candidate: Candidate) -> str:
    """Why the candidate is not the entry's paper ("" when every check holds)."""
    wanted = normalize_title(query.title)
    best = max(
        (title_similarity(wanted, fold(t)) for t in candidate.title.split(" | ")), default=0.0
    )
    if best < TITLE_SIMILARITY:
        return "title differs"
    if not query.family and (len(wanted) < SHORT_TITLE or not query.year):
        # Without authors only a long title and a year tell papers apart.
        return "too little to compare (no authors, short title or no year)"
    if query.family:
        if not candidate.first_author:
            return "no authors to compare"
        mine, theirs = normalize_family(query.family), normalize_family(candidate.first_author)
        if mine != theirs and not (
            f" {mine} " in f" {theirs} " or f" {theirs} " in f" {mine} "
        ):
            return f"first author {candidate.first_author}"
    if query.year and candidate.year and abs(int(query.year) - int(candidate.year)) > 1:
        return f"year {candidate.year}"
    return ""


def judge(query: Query, candidates: Sequence[Candidate]) -> Verdict:
    """Accept the one candidate that passes every check; otherwise change nothing."""
    if query.venue:
        rejected = tuple(_with_note(c, "venue publishes without DOIs") for c in candidates)
        return Verdict("no match", None, rejected, f"{query.venue} publishes without DOIs")
    checked = tuple(_with_note(c, _check(query, c)) for c in candidates)
    passing = list(dict.fromkeys(c.doi for c in checked if not c.note))
    if len(passing) == 1:
        return Verdict("matched", passing[0], checked)
    if len(passing) > 1:
        return Verdict("ambiguous", None, checked, f"{len(passing)} candidates fit equally well")
    return Verdict("no match", None, checked, "no candidate has this title, author and year")


def _with_note(candidate: Candidate, note: str) -> Candidate:
    return replace(candidate, note=note)


# ------------------------------------------------------------------ the same work, twice

# Letters that NFKD leaves whole, written as unidecode writes them.
_TRANSLIT = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
                           "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "AE",
                           "œ": "oe", "Œ": "OE", "ß": "ss", "ı": "i", "ħ": "h", "Ħ": "H"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
# A subtitle after ":", " - ", " -- " or a dash; and words that make a subtitle another work.
_SUBTITLE = re.compile(r"\s*(?::|\s[-\u2013\u2014]{1,3}\s)\s*")
_OTHER_WORK = frozenset({"extended", "extension", "supplement", "supplementary", "erratum",
                         "errata", "corrigendum", "correction", "addendum", "comment",
                         "comments", "reply", "response", "rejoinder", "discussion", "abstract",
                         "poster", "workshop", "demo", "appendix", "thesis", "retraction",
                         "retracted", "revisited", "tutorial", "keynote", "invited"})
# Phrases of a subtitle that name another version or a sequel ("Part II", "Full Version",
# "Technical Report", "Short Paper"), matched on the folded subtitle.
_OTHER_VERSION = re.compile(r"\b(?:part (?:[ivx]+|\d+|one|two|three)|(?:full|long|short|"
                            r"journal|conference|extended|preliminary) version|technical report"
                            r"|short paper)\b")


@lru_cache(maxsize=1 << 14)
def name_keys(family: str) -> frozenset[str]:
    """A family name folded for comparison, transliteration-aware: LaTeX removed, letters
    NFKD keeps whole transliterated (ø, ł, ß, æ), accents and case folded; a German umlaut
    also gives its two-letter spelling (Müller: muller and mueller)."""
    text = to_unicode(family)
    keys = {fold(text.translate(_TRANSLIT)), fold(text.translate(_UMLAUTS).translate(_TRANSLIT))}
    return frozenset(k for k in keys if k)


def _display_family(name: str) -> tuple[str, str]:
    """(family, first word) of a display name such as Semantic Scholar's "Xupeng Miao"."""
    words = to_unicode(name).replace(",", " ").split()
    return (words[-1], words[0]) if words else ("", "")


def matched_authors(mine: Sequence[Person], theirs: Sequence[str]) -> int:
    """How many of `mine` (parsed BibTeX names) appear among `theirs` (display names,
    "Given Family"), each of theirs used once; a two-word name written family first
    ("Zhang Wei" for Wei Zhang) counts too."""
    free = [(_display_family(n), n) for n in theirs]
    matched = 0
    for person in mine:
        family = person.family or person.literal
        keys = name_keys(family)
        given = name_keys(person.given.split()[0]) if person.given.split() else frozenset()
        for index, ((last, first), name) in enumerate(free):
            if keys & name_keys(last) or (
                    given and len(name.split()) == 2 and keys & name_keys(first)
                    and given & name_keys(last)):
                matched += 1
                del free[index]
                break
    return matched


def enough_authors(mine: Sequence[Person], theirs: Sequence[str], truncated: bool) -> bool:
    """The author lists overlap by at least half: of the longer list, or of the named
    authors when this list ends in "and others"."""
    if not mine or not theirs:
        return False
    matched = matched_authors(mine, theirs)
    if truncated and len(theirs) >= len(mine):
        return matched * 2 >= len(mine)
    return matched * 2 >= max(len(mine), len(theirs))


def titles_agree(mine: str, theirs: str) -> bool:
    """The same title after normalisation (case, accents, punctuation, LaTeX), or one is
    the other plus a trailing subtitle that does not make it another work ("extended
    version", "comment", "workshop" ...)."""
    a, b = normalize_title(mine), normalize_title(theirs)
    if a and a == b:
        return True
    return _plus_subtitle(mine, b) or _plus_subtitle(theirs, a)


def _plus_subtitle(longer: str, shorter: str) -> bool:
    parts = _SUBTITLE.split(plain_text(to_unicode(longer)), maxsplit=1)
    if len(parts) != 2 or len(shorter.split()) < 2:
        return False
    head, tail = normalize_title(parts[0]), normalize_title(parts[1])
    return head == shorter and not (set(tail.split()) & _OTHER_WORK) \
        and not _OTHER_VERSION.search(tail)
