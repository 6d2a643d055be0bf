"""Crossref and DataCite JSON -> BibTeX entry type and field values (pure, no I/O).

Our own mapping, not Crossref's BibTeX transform: every value comes out as a BibTeX
field value (Unicode kept, LaTeX specials escaped), like the values read from survey.bib.

About 530 lines, on purpose: the two agencies' mappings are read side by side (a field
one maps, the other must map the same way) and share every value helper; most of the
length is the two type tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from surveybib.identifiers import doi_url, normalize_doi, parse_arxiv_id
from surveybib.latex import escape_latex
from surveybib.text import CONTROL_RE, plain_text

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Record:
    """What a Crossref or DataCite record says about a work, as BibTeX."""

    doi: str
    source: str  # "crossref" | "datacite"
    type: str  # BibTeX entry type
    fields: tuple[tuple[str, str], ...]
    venue: str = ""  # the short venue from event.acronym, year removed ("ASPLOS")
    year: str = ""
    preprint_of: tuple[str, ...] = ()  # DOIs of published versions of this preprint
    has_preprint: tuple[str, ...] = ()  # DOIs of preprints of this work

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == name:
                return value
        return default


# ------------------------------------------------------------------ text cleaning

def identifier_value(value: str) -> str:
    """A DOI, URL or eprint id: kept as typed (BibTeX reads these fields verbatim, and users
    write `10.1007/..._49`, not `\\_`); only what would unbalance the value is encoded."""
    text = CONTROL_RE.sub("", value).strip()
    return text.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def bib_text(value: str) -> str:
    """Raw API text -> a BibTeX field value."""
    return escape_latex(plain_text(value))


def _first(value: Any) -> str:
    """Crossref gives most strings as arrays; the CSL transform gives plain strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str) and item.strip():
                return item
    return ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def join_title(title: str, subtitle: str) -> str:
    """`Title` + `Subtitle` -> `Title: Subtitle` (no colon after `?`/`!`, no repeat)."""
    title, subtitle = plain_text(title), plain_text(subtitle)
    if not subtitle or subtitle.lower() in title.lower():
        return title
    if not title:
        return subtitle
    sep = " " if title[-1] in "?!:.;" else ": "
    return f"{title}{sep}{subtitle}"


# ------------------------------------------------------------------ names


_AND_RE = re.compile(r"\band\b", re.IGNORECASE)


def _name_part(text: str) -> str:
    value = bib_text(text)
    # A comma or a lone "and" inside one part would split the BibTeX name list.
    if "," in value or _AND_RE.search(value):
        return "{" + value + "}"
    return value


@lru_cache(maxsize=1 << 14)
def format_person(family: str, given: str = "", suffix: str = "") -> str:
    """One BibTeX name `Family, Jr, Given` (parts braced when they would be misread)."""
    family, given, suffix = family.strip(), given.strip(), suffix.strip()
    if not family:
        return _name_part(given)
    parts = [_name_part(family)]
    if suffix:
        parts.append(_name_part(suffix))
    if given:
        parts.append(_name_part(given))
    elif suffix:
        parts.append("")
    return ", ".join(parts)


def format_literal(name: str) -> str:
    """An organisation (`name` only): one braced name, never split into first/last."""
    return "{" + bib_text(name) + "}"


def _name_list(people: Any, name_of: Callable[[Mapping[str, Any]], str]) -> str:
    """A JSON list of people -> a BibTeX name list; items that name nobody are skipped."""
    items = people if isinstance(people, list) else []
    return " and ".join(n for p in items if isinstance(p, Mapping) and (n := name_of(p)))


def _crossref_person(person: Mapping[str, Any]) -> str:
    family = str(person.get("family") or "")
    given = str(person.get("given") or "")
    if family or given:
        return format_person(family, given, str(person.get("suffix") or ""))
    return format_literal(str(person["name"])) if person.get("name") else ""


# ------------------------------------------------------------------ dates, pages


def _date_parts(value: Any) -> tuple[int, ...]:
    """`{"date-parts": [[2021, 6, 9]]}` -> (2021, 6, 9); `[[null]]` and junk -> ()."""
    if not isinstance(value, Mapping):
        return ()
    parts = value.get("date-parts")
    if not isinstance(parts, list) or not parts or not isinstance(parts[0], list):
        return ()
    out: list[int] = []
    for part in parts[0]:
        if isinstance(part, bool) or not isinstance(part, int | str):
            break
        try:
            out.append(int(part))
        except ValueError:
            break
    return tuple(out) if out and 1000 <= out[0] <= 9999 else ()


def crossref_date(message: Json) -> tuple[int, ...]:
    """The publication date: published-print, then published-online, then issued (never
    created or deposited, which are Crossref's own bookkeeping)."""
    for name in ("published-print", "published-online", "issued"):
        parts = _date_parts(message.get(name))
        if parts:
            return parts
    return ()


# `(?<!\s)`: one try per run of spaces, not one per space (quadratic on a long run)
_DASHES_RE = re.compile(r"(?<!\s)\s*[-\u2010-\u2015\u2212]+\s*")


def format_pages(page: str) -> str:
    """`499-508`, `499–508` -> `499--508`; a single page stays as it is."""
    value = plain_text(page)
    if not value:
        return ""
    return escape_latex(_DASHES_RE.sub("--", value))


_ACRONYM_YEAR_RE = re.compile(r"(?<!\s)\s*+(?:'|’|‘)?\s*+\d{2}(?:\d{2})?\s*$")


def acronym_venue(acronym: str) -> str:
    """`ASPLOS '24` -> `ASPLOS`, `SIGMOD/PODS '21` -> `SIGMOD/PODS`, `ICSE 2020` -> `ICSE`."""
    value = plain_text(acronym)
    stripped = _ACRONYM_YEAR_RE.sub("", value).strip()
    return escape_latex(stripped or value)


# ------------------------------------------------------------------ Crossref

# Crossref work type -> BibTeX entry type. All 30 types of /types.
_CROSSREF_TYPES = {
    "journal-article": "article",
    "proceedings-article": "inproceedings",
    "book-chapter": "incollection",
    "book-section": "incollection",
    "book-part": "incollection",
    "book-track": "incollection",
    "reference-entry": "incollection",
    "book": "book",
    "edited-book": "book",
    "monograph": "book",
    "reference-book": "book",
    "book-set": "book",
    "book-series": "book",
    "proceedings": "proceedings",
    "proceedings-series": "proceedings",
    "dissertation": "phdthesis",
    "report": "techreport",
    "report-component": "techreport",
    "report-series": "techreport",
    "standard": "techreport",
    "posted-content": "misc",
    "dataset": "misc",
    "database": "misc",
    "component": "misc",
    "peer-review": "misc",
    "grant": "misc",
    "journal": "misc",
    "journal-issue": "misc",
    "journal-volume": "misc",
    "other": "misc",
}


def crossref_type(message: Json) -> str:
    """The BibTeX entry type for a Crossref record (unknown types -> misc)."""
    return _CROSSREF_TYPES.get(str(message.get("type") or ""), "misc")


def _relation_dois(relation: Any, name: str) -> tuple[str, ...]:
    if not isinstance(relation, Mapping):
        return ()
    found: list[str] = []
    for item in relation.get(name) or []:
        if isinstance(item, Mapping) and str(item.get("id-type", "doi")).lower() == "doi":
            doi = normalize_doi(str(item.get("id") or ""))
            if doi and doi not in found:
                found.append(doi)
    return tuple(found)


def _institution(message: Json) -> str:
    for item in message.get("institution") or []:
        if isinstance(item, Mapping) and item.get("name"):
            return str(item["name"])
    return ""


def map_crossref(message: Json) -> Record:
    """A Crossref `message` (one work) -> Record."""
    doi = normalize_doi(str(message.get("DOI") or "")) or ""
    kind = str(message.get("type") or "")
    bibtype = crossref_type(message)
    out: dict[str, str] = {}
    title = join_title(_first(message.get("title")), _first(message.get("subtitle")))
    if title:
        out["title"] = escape_latex(title)
    authors = _name_list(message.get("author"), _crossref_person)
    if authors:
        out["author"] = authors
    editors = _name_list(message.get("editor"), _crossref_person)
    if editors and (bibtype in ("book", "proceedings") or not authors):
        out["editor"] = editors
    containers = _strings(message.get("container-title"))
    _place_container(out, bibtype, kind, containers)
    if kind == "posted-content":
        where = _institution(message) or str(message.get("publisher") or "")
        if where:
            out["howpublished"] = bib_text(where)
    if bibtype == "phdthesis" and (_institution(message) or message.get("publisher")):
        out["school"] = bib_text(_institution(message) or str(message.get("publisher")))
    if bibtype == "techreport" and message.get("publisher"):
        out["institution"] = bib_text(str(message["publisher"]))
    date = crossref_date(message)
    year = str(date[0]) if date else ""
    if year:
        out["year"] = year
    for source, field in (("volume", "volume"), ("issue", "number")):
        value = message.get(source)
        if isinstance(value, str | int) and str(value).strip():
            out[field] = bib_text(str(value))
    pages = format_pages(str(message.get("page") or ""))
    if pages:
        out["pages"] = pages
    elif message.get("article-number"):
        # No page range (online-only journals, ACM): the article number identifies it.
        out["eid"] = bib_text(str(message["article-number"]))
    if message.get("publisher") and bibtype not in ("techreport",):
        out["publisher"] = bib_text(str(message["publisher"]))
    if message.get("publisher-location") and bibtype in ("book", "incollection", "proceedings"):
        out["address"] = bib_text(str(message["publisher-location"]))
    issn = _strings(message.get("ISSN"))
    if issn:
        out["issn"] = bib_text(issn[0])
    isbn = _strings(message.get("ISBN"))
    if isbn:
        out["isbn"] = bib_text(isbn[0])
    if doi:
        out["doi"] = identifier_value(doi)
        out["url"] = identifier_value(doi_url(doi))
    event = message.get("event")
    venue = ""
    if isinstance(event, Mapping) and event.get("acronym"):
        venue = acronym_venue(str(event["acronym"]))
        if venue:
            out["venue"] = venue
    relation = message.get("relation")
    return Record(
        doi=doi,
        source="crossref",
        type=bibtype,
        fields=tuple(out.items()),
        venue=venue,
        year=year,
        preprint_of=_relation_dois(relation, "is-preprint-of"),
        has_preprint=_relation_dois(relation, "has-preprint"),
    )


def _place_container(out: dict[str, str], bibtype: str, kind: str, titles: list[str]) -> None:
    """container-title -> journal / booktitle (+ series), by entry type."""
    if not titles:
        return
    if bibtype == "article":
        out["journal"] = bib_text(titles[0])
    elif bibtype in ("inproceedings", "incollection"):
        # Springer LNCS chapters list the book title first and the series second
        # (10.1007/978-3-642-33191-6_49).
        out["booktitle"] = bib_text(titles[0])
        if len(titles) > 1:
            out["series"] = bib_text(titles[1])
    elif bibtype in ("book", "proceedings"):
        out["series"] = bib_text(titles[0])
    elif kind != "posted-content":
        out["howpublished"] = bib_text(titles[0])


# ------------------------------------------------------------------ DataCite

_DATACITE_TYPES = {
    "article": "article",
    "inproceedings": "inproceedings",
    "incollection": "incollection",
    "inbook": "incollection",
    "book": "book",
    "proceedings": "proceedings",
    "phdthesis": "phdthesis",
    "mastersthesis": "mastersthesis",
    "techreport": "techreport",
    "manual": "manual",
    "misc": "misc",
}
_GENERAL_TYPES = {
    "JournalArticle": "article",
    "ConferencePaper": "inproceedings",
    "BookChapter": "incollection",
    "Book": "book",
    "ConferenceProceeding": "proceedings",
    "Dissertation": "phdthesis",
    "Report": "techreport",
}


def _datacite_person(person: Mapping[str, Any]) -> str:
    family = str(person.get("familyName") or "")
    given = str(person.get("givenName") or "")
    name = str(person.get("name") or "")
    if person.get("nameType") != "Organizational" and (family or given):
        return format_person(family, given)
    if not name:
        return ""
    # "Family, Given" in `name` of a personal name without parts stays one name only for
    # organisations; a personal one is split at its comma.
    if person.get("nameType") == "Personal" and "," in name:
        fam, _, giv = name.partition(",")
        return format_person(fam, giv)
    return format_literal(name)


def _publisher_name(value: Any) -> str:
    # DataCite answers a string by default and an object with ?publisher=true.
    if isinstance(value, Mapping):
        return str(value.get("name") or "")
    return str(value or "")


def _datacite_title(attributes: Json) -> str:
    main, subtitle = "", ""
    for item in attributes.get("titles") or []:
        if not isinstance(item, Mapping) or not item.get("title"):
            continue
        kind = item.get("titleType")
        if not kind and not main:
            main = str(item["title"])
        elif kind == "Subtitle" and not subtitle:
            subtitle = str(item["title"])
    return join_title(main, subtitle)


def _related(attributes: Json, relation: str) -> tuple[str, ...]:
    found: list[str] = []
    for item in attributes.get("relatedIdentifiers") or []:
        if not isinstance(item, Mapping) or item.get("relationType") != relation:
            continue
        if str(item.get("relatedIdentifierType", "")).upper() != "DOI":
            continue
        doi = normalize_doi(str(item.get("relatedIdentifier") or ""))
        if doi and doi not in found:
            found.append(doi)
    return tuple(found)


def _datacite_container(attributes: Json) -> tuple[str, str, Json]:
    """(container title, series title, container object) from `container` and `relatedItems`."""
    container = attributes.get("container")
    container = container if isinstance(container, Mapping) else {}
    title = str(container.get("title") or "")
    series = ""
    for item in attributes.get("relatedItems") or []:
        if not isinstance(item, Mapping) or item.get("relationType") != "IsPublishedIn":
            continue
        names = [t.get("title") for t in item.get("titles") or [] if isinstance(t, Mapping)]
        first = str(names[0]) if names and names[0] else ""
        if item.get("relatedItemType") in ("Collection", "BookSeries", "Series", "Journal"):
            if first and first != title:
                series = series or first
        elif first and not title:
            title = first
    return title, series, container


def map_datacite(attributes: Json) -> Record:
    """DataCite `data.attributes` -> Record."""
    doi = normalize_doi(str(attributes.get("doi") or "")) or ""
    raw_types = attributes.get("types")
    types: Json = raw_types if isinstance(raw_types, Mapping) else {}
    bibtype = _DATACITE_TYPES.get(str(types.get("bibtex") or "").lower(), "")
    if not bibtype:
        bibtype = _GENERAL_TYPES.get(str(types.get("resourceTypeGeneral") or ""), "misc")
    out: dict[str, str] = {}
    title = _datacite_title(attributes)
    if title:
        out["title"] = escape_latex(title)
    authors = _name_list(attributes.get("creators"), _datacite_person)
    if authors:
        out["author"] = authors
    container_title, series, container = _datacite_container(attributes)
    if container_title:
        field = {"article": "journal", "inproceedings": "booktitle", "incollection": "booktitle"}
        if bibtype in field:
            out[field[bibtype]] = bib_text(container_title)
        elif bibtype in ("book", "proceedings"):
            series = series or container_title
    if series and bibtype != "article":
        out["series"] = bib_text(series)
    year = _datacite_year(attributes)
    if year:
        out["year"] = year
    if container.get("volume"):
        out["volume"] = bib_text(str(container["volume"]))
    if container.get("issue"):
        out["number"] = bib_text(str(container["issue"]))
    first, last = str(container.get("firstPage") or ""), str(container.get("lastPage") or "")
    if first:
        out["pages"] = format_pages(f"{first}-{last}" if last and last != first else first)
    publisher = _publisher_name(attributes.get("publisher"))
    if publisher:
        out["publisher"] = bib_text(publisher)
    arxiv = _datacite_arxiv(attributes, doi)
    if arxiv:
        out["eprint"] = identifier_value(arxiv)
        out["archiveprefix"] = "arXiv"
    if doi:
        out["doi"] = identifier_value(doi)
    url = str(attributes.get("url") or "") or (doi_url(doi) if doi else "")
    if url:
        out["url"] = identifier_value(url)
    return Record(
        doi=doi,
        source="datacite",
        type=bibtype,
        fields=tuple(out.items()),
        year=year,
        preprint_of=_related(attributes, "IsPreprintOf"),
        has_preprint=_related(attributes, "HasPreprint"),
    )


def _datacite_year(attributes: Json) -> str:
    for item in attributes.get("dates") or []:
        if isinstance(item, Mapping) and item.get("dateType") == "Issued":
            match = re.match(r"\d{4}", str(item.get("date") or ""))
            if match:
                return match.group(0)
    year = attributes.get("publicationYear")
    match = re.match(r"\d{4}", str(year or ""))
    return match.group(0) if match else ""


def _datacite_arxiv(attributes: Json, doi: str) -> str:
    for item in attributes.get("identifiers") or []:
        if isinstance(item, Mapping) and str(item.get("identifierType", "")).lower() == "arxiv":
            found = parse_arxiv_id(str(item.get("identifier") or ""))
            if found:
                return found
    if doi.startswith("10.48550/"):
        return parse_arxiv_id(doi) or ""
    return ""


# ------------------------------------------------------------------ dispatch


def map_record(source: str, record: Json) -> Record:
    """A stored record (Crossref message or DataCite attributes) -> Record."""
    if source == "datacite":
        return map_datacite(record)
    return map_crossref(record)


def crossref_authors(message: Json) -> Sequence[Mapping[str, Any]]:
    """The `author` list of a Crossref message (empty when absent or malformed)."""
    people = message.get("author")
    return [p for p in people if isinstance(p, Mapping)] if isinstance(people, list) else []


def iter_titles(message: Json) -> Iterable[str]:
    """Every title a Crossref message carries (title, title + subtitle, short titles)."""
    main = _first(message.get("title"))
    if main:
        yield plain_text(main)
        sub = _first(message.get("subtitle"))
        if sub:
            yield join_title(main, sub)
    for short in _strings(message.get("short-title")):
        yield plain_text(short)
