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
from surveybib.metadata.records import crossref_authors, crossref_date, iter_titles
from surveybib.model import Entry
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
        """The `query.bibliographic` string: title, first author's family name, year."""
        parts = (to_unicode(self.title), to_unicode(self.family), self.year)
        return " ".join(p for p in parts if p)


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
