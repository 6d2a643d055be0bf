"""Semantic Scholar paper records -> the published version of a preprint, if any.

Semantic Scholar merges a preprint and its published version into one paper: asked for
`ARXIV:<id>`, it answers with the paper's venue once it has one. The shapes read here are
the Graph API's FullPaper schema (api.semanticscholar.org/api-docs/graph): `venue` a
string ("arXiv.org" while the paper is only a preprint), `publicationVenue` {name, type
("conference" | "journal"), alternate_names [...]} or null, `journal` {name, volume,
pages} or null (arXiv-only papers: {"name": "ArXiv", "volume": "abs/2106.09685"}),
`externalIds` {ArXiv, DOI, DBLP, ...}, `year` int, `publicationDate` "YYYY-MM-DD",
`publicationTypes` ["JournalArticle", "Conference", ...] or null, `authors` [{name}].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from surveybib.identifiers import is_arxiv_doi, is_arxiv_venue, normalize_doi
from surveybib.metadata.records import format_pages
from surveybib.text import plain_text
from surveybib.venues import table_entry

Kind = Literal["conference", "journal"]

# What trim_s2 keeps of a record: what the upgrade reads (counts live in their own section).
_KEEP = ("paperId", "title", "year", "venue", "publicationVenue", "externalIds",
         "publicationTypes", "publicationDate", "journal", "authors")

_ACRONYM = re.compile(r"^[A-Z][A-Za-z0-9&-]{1,11}$")


@dataclass(frozen=True, slots=True)
class Published:
    """The version of record Semantic Scholar names for a paper."""

    paper_id: str
    title: str
    authors: tuple[str, ...]  # display names, "Given Family"
    year: int | None
    kind: Kind
    venue: str  # the full name: booktitle or journal
    short: str  # the name shown in the README: "NeurIPS", "TMLR"
    volume: str = ""
    pages: str = ""
    doi: str = ""  # the published DOI (never arXiv's 10.48550)
    workshop: bool = False


def trim_s2(record: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a paper record the upgrade reads (the store keeps only these)."""
    out = {k: record[k] for k in _KEEP if k in record}
    if isinstance(out.get("authors"), list):
        out["authors"] = [{"name": a.get("name")} for a in out["authors"] if isinstance(a, dict)]
    return out


def s2_title(record: Mapping[str, Any]) -> str:
    return plain_text(str(record.get("title") or ""))


def s2_authors(record: Mapping[str, Any]) -> tuple[str, ...]:
    authors = record.get("authors")
    if not isinstance(authors, list):
        return ()
    return tuple(str(a["name"]) for a in authors
                 if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip())


def s2_doi(record: Mapping[str, Any]) -> str:
    """The record's DOI, unless it is arXiv's own."""
    external = record.get("externalIds")
    raw = external.get("DOI") if isinstance(external, dict) else None
    doi = normalize_doi(raw) if isinstance(raw, str) else None
    return doi if doi and not is_arxiv_doi(doi) else ""


def _name(value: Any) -> str:
    return plain_text(str(value)).strip() if isinstance(value, str) else ""


def _arxiv(name: str) -> bool:
    return not name or is_arxiv_venue(name) or name.lower() in ("arxiv.org", "arxiv")


def _venue(record: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(the venue's full name, publicationVenue or {}), arXiv itself counting as none."""
    place = record.get("publicationVenue")
    place = place if isinstance(place, dict) else {}
    journal = record.get("journal")
    journal_name = _name(journal.get("name")) if isinstance(journal, dict) else ""
    for name in (_name(place.get("name")), _name(record.get("venue")), journal_name):
        if not _arxiv(name):
            return name, place
    return "", {}


def preprint_only(record: Mapping[str, Any]) -> bool:
    """Semantic Scholar knows the paper only as a preprint: no venue but arXiv (or CoRR),
    and no DOI but arXiv's."""
    return not _venue(record)[0] and not s2_doi(record)


def published_version(record: Mapping[str, Any],
                      venues: tuple[tuple[str, str], ...] = ()) -> Published | None:
    """The version of record, or None for a paper known only as a preprint (`venues`:
    the user's short venue names, over the packaged table)."""
    venue, place = _venue(record)
    if not venue:
        return None
    journal = record.get("journal")
    journal = journal if isinstance(journal, dict) else {}
    own_journal = not _arxiv(_name(journal.get("name")))
    volume = str(journal.get("volume") or "") if own_journal else ""
    pages = str(journal.get("pages") or "") if own_journal else ""
    kind = _kind(record, place, venue)
    return Published(
        paper_id=str(record.get("paperId") or ""),
        title=s2_title(record),
        authors=s2_authors(record),
        year=published_year(record),
        kind=kind,
        venue=venue,
        short=s2_short_name(venue, place, venues),
        volume="" if volume.startswith("abs/") else volume.strip(),
        pages=format_pages(re.sub(r"\s+", "", pages)) if pages else "",
        doi=s2_doi(record),
        workshop=any("workshop" in n.lower() for n in (venue, _name(record.get("venue")))),
    )


def _kind(record: Mapping[str, Any], place: Mapping[str, Any], venue: str) -> Kind:
    declared = str(place.get("type") or "").lower()
    if declared in ("conference", "journal"):
        return "conference" if declared == "conference" else "journal"
    types = record.get("publicationTypes")
    if isinstance(types, list) and any(str(t).replace(" ", "") == "Conference" for t in types):
        return "conference"
    words = venue.lower()
    if any(w in words for w in ("conference", "proceedings", "symposium", "workshop",
                                "meeting")):
        return "conference"
    return "journal"


def s2_short_name(venue: str, place: Mapping[str, Any],
                  overrides: tuple[tuple[str, str], ...] = ()) -> str:
    """The venue as people write it after a title: the short name the venue table
    (surveybib.venues, with the user's `overrides`) gives the venue or, failing that, one
    of its alternate names ("NIPS"), else an acronym among the alternate names, else the
    full name (also where the user turned the venue's short name off)."""
    alternates = place.get("alternate_names")
    names = [venue, *(n for n in alternates if isinstance(n, str))] \
        if isinstance(alternates, list) else [venue]
    for name in names:
        known = table_entry(name, overrides)
        if known is not None:
            return known or venue
    acronyms = [n.strip() for n in names[1:] if _ACRONYM.match(n.strip())
                and sum(c.isupper() for c in n) >= 2]
    return acronyms[0] if acronyms else venue


def published_year(record: Mapping[str, Any]) -> int | None:
    """The year of the published version. Semantic Scholar's `year` is often the preprint's;
    a DBLP key names the proceedings' year (conf/iclr/HuSWALWWC22 -> 2022), so it is
    preferred when the two are at most two years apart."""
    year = record.get("year")
    s2_year = year if isinstance(year, int) and 1900 < year < 2200 else None
    if s2_year is None:
        date = str(record.get("publicationDate") or "")
        s2_year = int(date[:4]) if re.match(r"^\d{4}", date) else None
    external = record.get("externalIds")
    key = external.get("DBLP") if isinstance(external, dict) else None
    match = re.search(r"(\d\d)[a-z]?$", key) if isinstance(key, str) \
        and not key.startswith("journals/corr/") else None
    if match and s2_year is not None:
        dblp = 2000 + int(match.group(1))
        dblp = dblp if dblp <= s2_year + 2 else dblp - 100
        if abs(dblp - s2_year) <= 2:
            return dblp
    return s2_year
