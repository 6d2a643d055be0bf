"""The `biblatex` export: a UTF-8 .bib for biblatex/biber."""

from __future__ import annotations

from collections.abc import Sequence

from surveybib.bibtex.dates import day_number, month_number, year_number
from surveybib.bibtex.write import BIBLATEX, write_entry
from surveybib.export.base import Export, ExportOptions, braces_problem, readable_keys
from surveybib.export.fields import arxiv_only, clean_fields, crossref_last, is_preprint
from surveybib.identifiers import arxiv_id
from surveybib.model import Entry, Problem

_TO_BIBLATEX_FIELDS = {"journal": "journaltitle", "address": "location",
                       "archiveprefix": "eprinttype", "primaryclass": "eprintclass",
                       "articleno": "eid", "numpages": "pagetotal"}


def to_biblatex(entries: Sequence[Entry], options: ExportOptions) -> Export:
    """Entries -> a UTF-8 .bib for biblatex/biber: `date`, `journaltitle`,
    `eprint`/`eprinttype = {arxiv}`, `@online` for preprints and web pages."""
    problems: list[Problem] = []
    blocks = []
    for entry in crossref_last(readable_keys(entries, "BibLaTeX", problems)):
        etype, fields = biblatex_fields(entry.type, clean_fields(entry, options.strip))
        text, dropped = write_entry(etype, entry.key, fields.items(), BIBLATEX)
        problems.extend(braces_problem(entry, name) for name in dropped)
        blocks.append(text)
    return Export("\n".join(blocks), tuple(problems), len(blocks))


def biblatex_fields(etype: str, fields: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(type, fields) in biblatex's terms."""
    aid = arxiv_id(fields)
    preprint = is_preprint(etype, fields)
    if preprint or (etype in ("misc", "electronic", "www") and "url" in fields and not any(
            f in fields for f in ("publisher", "institution", "organization", "howpublished"))):
        etype = "online"
    year = fields.get("year", "")
    month = month_number(fields["month"]) if "month" in fields else None
    day = fields.get("day", "").strip()
    date = ""
    if year_number(year) and "date" not in fields and ("month" not in fields or month):
        date = year + (f"-{month:02d}" if month else "")
        if month and (number := day_number(day)):
            date += f"-{number:02d}"
        else:
            day = ""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name == "year" and date:
            out["date"] = date
            continue
        if (name == "month" and date) or (name == "day" and date and day):
            continue
        if preprint and arxiv_only(name, value):
            continue  # the venue is arXiv itself: eprint says it
        if aid and name in ("archiveprefix", "eprinttype"):
            continue
        target = _TO_BIBLATEX_FIELDS.get(name, name)
        if target != name and target in fields:
            target = name
        out.setdefault(target, value)
    if aid:
        out["eprint"] = aid
        out["eprinttype"] = "arxiv"
    return etype, out
