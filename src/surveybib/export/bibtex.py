"""The `bibtex` export: a .bib for classic 8-bit BibTeX (or UTF-8 BibTeX with `unicode`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from surveybib.bibtex.dates import split_date
from surveybib.bibtex.write import BIBTEX, write_entry
from surveybib.export.base import Export, ExportOptions, braces_problem, readable_keys
from surveybib.export.fields import clean_fields, crossref_last
from surveybib.model import Entry, Problem

CLASSIC_TYPES = frozenset({
    "article", "book", "booklet", "conference", "inbook", "incollection", "inproceedings",
    "manual", "mastersthesis", "misc", "phdthesis", "proceedings", "techreport", "unpublished",
})
_TO_CLASSIC = {
    "report": "techreport", "mvbook": "book", "bookinbook": "inbook", "collection": "book",
    "mvcollection": "book", "reference": "book", "mvreference": "book",
    "inreference": "incollection", "suppbook": "inbook", "suppcollection": "incollection",
    "mvproceedings": "proceedings",
}
_TO_CLASSIC_FIELDS = {"journaltitle": "journal", "location": "address",
                      "eprinttype": "archiveprefix", "eprintclass": "primaryclass"}


def to_bibtex(entries: Sequence[Entry], options: ExportOptions) -> Export:
    """Entries -> a .bib for classic 8-bit BibTeX (or UTF-8 BibTeX with `unicode`)."""
    fmt = replace(BIBTEX, ascii=not options.unicode)
    problems: list[Problem] = []
    blocks = []
    for entry in crossref_last(readable_keys(entries, "BibTeX", problems)):
        fields = classic_fields(clean_fields(entry, options.strip))
        text, dropped = write_entry(bibtex_type(entry.type, fields), entry.key, fields.items(),
                                    fmt)
        problems.extend(braces_problem(entry, name) for name in dropped)
        blocks.append(text)
    return Export("\n".join(blocks), tuple(problems), len(blocks))


def bibtex_type(etype: str, fields: Mapping[str, str]) -> str:
    """An entry type classic BibTeX styles know (biblatex-only types mapped)."""
    if etype in CLASSIC_TYPES:
        return etype
    if etype == "thesis":
        return "mastersthesis" if "master" in fields.get("type", "").lower() else "phdthesis"
    return _TO_CLASSIC.get(etype, "misc")


def classic_fields(fields: dict[str, str]) -> dict[str, str]:
    """biblatex field names -> BibTeX's, where the BibTeX one is not there already."""
    if not any(name in fields for name in (*_TO_CLASSIC_FIELDS, "date")):
        return fields
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name == "date" and "year" not in fields:
            year, month, _ = split_date(value)
            if year:
                out.setdefault("year", year)
                if month and "month" not in fields:
                    out.setdefault("month", month)
                continue
        target = _TO_CLASSIC_FIELDS.get(name, name)
        if target != name and target in fields:
            target = name
        out.setdefault(target, value)
    return out
