"""The `csl-json` export, and the CSL items the CSL formatted references are made from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache

from surveybib.bibtex.dates import day_number, month_number, split_date, year_number
from surveybib.bibtex.names import bibtex_name_list, parse_name
from surveybib.bibtex.write import dash_pages
from surveybib.export.base import Export, ExportOptions
from surveybib.export.fields import DEFAULT_SKIP, arxiv_only, inherit, is_preprint
from surveybib.identifiers import arxiv_id, is_arxiv_venue
from surveybib.latex import to_text
from surveybib.model import Entry

_CSL_TYPES = {
    "article": "article-journal", "inproceedings": "paper-conference",
    "conference": "paper-conference", "incollection": "chapter", "inbook": "chapter",
    "bookinbook": "chapter", "suppbook": "chapter", "suppcollection": "chapter",
    "book": "book", "mvbook": "book", "collection": "book", "mvcollection": "book",
    "proceedings": "book", "mvproceedings": "book", "reference": "book",
    "inreference": "entry-encyclopedia", "phdthesis": "thesis", "mastersthesis": "thesis",
    "thesis": "thesis", "techreport": "report", "report": "report", "manual": "report",
    "booklet": "pamphlet", "unpublished": "manuscript", "online": "webpage",
    "electronic": "webpage", "www": "webpage", "software": "software", "dataset": "dataset",
    "patent": "patent", "periodical": "periodical", "misc": "document",
}
_CSL_TEXT = {
    "volume": "volume", "edition": "edition", "isbn": "ISBN", "issn": "ISSN",
    "note": "note", "abstract": "abstract", "language": "language", "series": "collection-title",
    "chapter": "chapter-number", "version": "version", "keywords": "keyword",
    "howpublished": "medium",
}
PUBLISHER_FIELDS = ("publisher", "institution", "school", "organization")


def write_csl_json(entries: Sequence[Entry], options: ExportOptions) -> Export:
    """Entries -> CSL-JSON text."""
    return Export(dump_csl_json(to_csl_json(entries, strip=options.strip)), count=len(entries))


def csl_type(etype: str, fields: Mapping[str, str]) -> str:
    """The CSL item type of a BibTeX entry (`article` for an arXiv preprint)."""
    if is_preprint(etype, fields):
        return "article"
    if etype in ("misc", "online", "electronic", "www") and "url" in fields and not any(
            f in fields for f in ("publisher", "institution", "organization", "howpublished")):
        return "webpage"
    return _CSL_TYPES.get(etype, "document")


def to_csl_json(entries: Sequence[Entry], *,
                strip: frozenset[str] = DEFAULT_SKIP) -> list[dict[str, object]]:
    """Entries -> CSL-JSON items (plain Unicode text; names as family/given or literal)."""
    parents = {e.key: e for e in entries}
    return [csl_item(entry, inherit(entry, parents, strip)) for entry in entries]


def csl_item(entry: Entry, fields: dict[str, str]) -> dict[str, object]:
    """One entry's CSL-JSON item (fields already cleaned)."""
    etype = csl_type(entry.type, fields)
    item: dict[str, object] = {"id": entry.key, "type": etype}
    for role in ("author", "editor", "translator"):
        if role in fields:
            names = csl_names(fields[role])
            if names:
                item[role] = names
    issued = csl_date(fields)
    if issued:
        item["issued"] = issued
    for name, value in fields.items():
        target = _CSL_TEXT.get(name)
        if target and not (etype == "article" and arxiv_only(name, value)):
            item[target] = to_text(value)
    if "title" in fields:
        item["title"] = to_text(fields["title"])
    container = fields.get("journal") or fields.get("journaltitle") or fields.get("booktitle")
    if container and not (etype == "article" and is_arxiv_venue(container)):
        item["container-title"] = to_text(container)
    publisher = next((fields[p] for p in PUBLISHER_FIELDS if p in fields), "")
    if publisher:
        item["publisher"] = to_text(publisher)
    place = fields.get("address") or fields.get("location")
    if place:
        item["publisher-place"] = to_text(place)
    if "pages" in fields:
        item["page"] = to_text(dash_pages(fields["pages"], "-"))
    _csl_numbers(entry.type, fields, item)
    if "doi" in fields:
        item["DOI"] = fields["doi"]
    if "url" in fields:
        item["URL"] = fields["url"]
    if etype == "thesis":
        item["genre"] = to_text(fields.get("type") or (
            "Master's thesis" if entry.type == "mastersthesis" else "PhD thesis"))
    if etype == "article":
        item["number"] = "arXiv:" + arxiv_id(fields)
        item.setdefault("publisher", "arXiv")
    return item


def _csl_numbers(etype: str, fields: Mapping[str, str], item: dict[str, object]) -> None:
    number = fields.get("number", "")
    issue = fields.get("issue", "")
    if etype == "article":
        issue = issue or number
        number = ""
    if issue:
        item["issue"] = to_text(issue)
    if number:
        key = "collection-number" if etype in ("inproceedings", "incollection", "book",
                                               "proceedings", "inbook") else "number"
        item[key] = to_text(number)
    article_number = fields.get("eid") or fields.get("articleno")
    if article_number:
        item["number"] = to_text(article_number)


def csl_names(value: str) -> list[dict[str, str]]:
    """An author list -> CSL names: family/given (von as non-dropping-particle, jr as
    suffix), `literal` for an organisation, and BibTeX's `others` as the literal
    "others" (as Pandoc reads it; its citeproc renders "et al.")."""
    return [dict(parts) for parts in map(_csl_name, bibtex_name_list(value)) if parts]


@lru_cache(maxsize=1 << 14)
def _csl_name(name: str) -> tuple[tuple[str, str], ...]:
    person = parse_name(name)
    if person.literal.strip():
        return (("literal", to_text(person.literal)),)
    if not person.family.strip():
        return ()  # `{}` or a stray separator: no name to give
    if person.family == "others" and not person.given:
        return (("literal", "others"),)
    parts = [("family", to_text(person.family))]
    if person.given:
        parts.append(("given", to_text(person.given)))
    if person.von:
        parts.append(("non-dropping-particle", to_text(person.von)))
    if person.jr:
        parts.append(("suffix", to_text(person.jr)))
    return tuple(parts)


def csl_date(fields: Mapping[str, str]) -> dict[str, object] | None:
    """`issued` from year/month/day or a biblatex `date`: date-parts, else a literal."""
    if "date" in fields and "year" not in fields:
        parts = [int(p) for p in split_date(fields["date"]) if p]
        if parts:
            return {"date-parts": [parts]}
        return {"literal": to_text(fields["date"])}
    year_text = fields.get("year", "")
    if not year_text:
        return None
    year = year_number(year_text)
    if year is None:
        return {"literal": to_text(year_text)}
    date: list[int] = [year]
    month = month_number(fields.get("month", "")) if "month" in fields else None
    if month:
        date.append(month)
        day = day_number(fields.get("day", ""))
        if day:
            date.append(day)
    return {"date-parts": [date]}


def dump_csl_json(items: Sequence[Mapping[str, object]]) -> str:
    """CSL-JSON text: sorted keys, two-space indent, UTF-8 kept, final newline."""
    return json.dumps(list(items), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
