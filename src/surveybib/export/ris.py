"""The `ris` export: one RIS record (`TY` ... `ER`) per entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from surveybib.bibtex.dates import month_number, split_date, year_number
from surveybib.bibtex.names import bibtex_name_list, parse_name
from surveybib.bibtex.write import page_range
from surveybib.export.base import Export, ExportOptions
from surveybib.export.csl_json import PUBLISHER_FIELDS
from surveybib.export.fields import arxiv_only, inherit, is_preprint
from surveybib.identifiers import arxiv_id, is_arxiv_venue
from surveybib.latex import to_text
from surveybib.model import Entry

_RIS_TYPES = {
    "article": "JOUR", "inproceedings": "CPAPER", "conference": "CPAPER",
    "incollection": "CHAP", "inbook": "CHAP", "book": "BOOK", "mvbook": "BOOK",
    "collection": "EDBOOK", "proceedings": "CONF", "phdthesis": "THES", "mastersthesis": "THES",
    "thesis": "THES", "techreport": "RPRT", "report": "RPRT", "manual": "RPRT",
    "booklet": "PAMP", "unpublished": "UNPB", "online": "ELEC", "electronic": "ELEC",
    "www": "ELEC", "software": "COMP", "dataset": "DATA", "patent": "PAT", "misc": "GEN",
}


def write_ris(entries: Sequence[Entry], options: ExportOptions) -> Export:
    """Entries -> RIS text."""
    return Export(to_ris(entries, strip=options.strip), count=len(entries))


def ris_type(etype: str, fields: Mapping[str, str]) -> str:
    """The RIS `TY` of a BibTeX entry (`UNPB` for an arXiv preprint)."""
    if is_preprint(etype, fields):
        return "UNPB"
    return _RIS_TYPES.get(etype, "GEN")


def to_ris(entries: Sequence[Entry], *, strip: frozenset[str]) -> str:
    """Entries -> RIS records (`TY` ... `ER`), one blank line between records."""
    parents = {e.key: e for e in entries}
    return "\n".join(ris_record(e, inherit(e, parents, strip)) for e in entries)


def ris_record(entry: Entry, fields: dict[str, str]) -> str:
    """One entry as an RIS record."""
    lines = [("TY", ris_type(entry.type, fields)), ("ID", entry.key)]
    for role, tag in (("author", "AU"), ("editor", "A2")):
        for name in bibtex_name_list(fields.get(role, "")):
            text = _ris_name(name)
            if text:
                lines.append((tag, text))
    lines.append(("TI", fields.get("title", "")))
    container = fields.get("journal") or fields.get("journaltitle") or fields.get("booktitle")
    if container and not is_arxiv_venue(container):
        lines.append(("T2", container))
    lines.append(("T3", fields.get("series", "")))
    lines.append(("PY", fields.get("year", "") or split_date(fields.get("date", ""))[0]))
    month = month_number(fields.get("month", "")) if "month" in fields else None
    year = year_number(fields.get("year", ""))
    if year and month:
        lines.append(("DA", f"{year}/{month:02d}//"))
    preprint = is_preprint(entry.type, fields)
    volume = fields.get("volume", "")
    lines.append(("VL", "" if preprint and arxiv_only("volume", volume) else volume))
    issue = fields.get("issue") or (fields.get("number", "") if entry.type == "article" else "")
    lines.append(("IS", issue))
    if "pages" in fields:
        ranges = page_range(fields["pages"])
        if ranges:
            lines.append(("SP", ranges[0][0]))
            lines.append(("EP", ranges[-1][1] or ""))
    lines.append(("C7", fields.get("eid") or fields.get("articleno") or ""))
    lines.append(("PB", next((fields[p] for p in PUBLISHER_FIELDS if p in fields), "")))
    lines.append(("CY", fields.get("address") or fields.get("location") or ""))
    lines.append(("ET", fields.get("edition", "")))
    lines.append(("SN", fields.get("isbn") or fields.get("issn") or ""))
    aid = arxiv_id(fields)
    if aid:
        lines.append(("M1", f"arXiv:{aid}"))
    lines.append(("AB", fields.get("abstract", "")))
    lines.append(("N1", fields.get("note", "")))
    lines.append(("DO", fields.get("doi", "")))
    lines.append(("UR", fields.get("url", "")))
    text = "".join(f"{tag}  - {_ris_text(tag, value)}\n" for tag, value in lines if value)
    return text + "ER  - \n"


def _ris_text(tag: str, value: str) -> str:
    if tag in ("DO", "UR", "ID", "TY", "DA", "M1"):
        return value
    return to_text(value)


@lru_cache(maxsize=1 << 14)
def _ris_name(name: str) -> str:
    person = parse_name(name)
    if person.literal:
        return to_text(person.literal)
    if person.family == "others" and not person.given:
        return ""
    family = " ".join(p for p in (person.von, person.family) if p)
    parts = [to_text(family)]
    if person.given or person.jr:
        parts.append(to_text(person.given))
    if person.jr:
        parts.append(to_text(person.jr))
    return ", ".join(parts)
