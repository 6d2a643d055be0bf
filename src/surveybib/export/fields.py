"""What every export does to an entry's fields before writing them (see export/__init__)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from surveybib.identifiers import arxiv_id, is_arxiv_venue, strip_doi_prefix
from surveybib.latex import url_from_latex
from surveybib.model import Entry

CUSTOM_FIELDS = frozenset({"taxonomy", "reader", "venue"})
DEFAULT_SKIP = CUSTOM_FIELDS | {"file", "abstract"}


def clean_doi(value: str) -> str:
    """A DOI field -> the bare DOI (`10.1145/...`)."""
    return strip_doi_prefix(url_from_latex(value))


def clean_fields(entry: Entry, strip: frozenset[str]) -> dict[str, str]:
    """The fields that go out: stripped ones and empty ones dropped, whitespace
    collapsed, `doi`/`url` raw, arXiv placeholders dropped beside a real venue. The first
    of two same-named fields wins."""
    out: dict[str, str] = {}
    for name, value in entry.fields:
        if name in strip or name in out:
            continue
        value = " ".join(value.split())
        if not value:
            continue
        if name == "doi":
            value = clean_doi(value)
        elif name == "url":
            value = url_from_latex(value)
        out[name] = value
    if any(out.get(name) and not is_arxiv_venue(out[name])
           for name in ("booktitle", "journal", "journaltitle")):
        # A published version that still carries its preprint's placeholders (DBLP's
        # `journal = {CoRR}`, `volume = {abs/...}`, as `enrich --upgrade` keeps them): the
        # venue is the real one, and eprint still names the arXiv version.
        out = {name: value for name, value in out.items() if not arxiv_only(name, value)}
    return out


def inherit(entry: Entry, parents: Mapping[str, Entry], strip: frozenset[str]
            ) -> dict[str, str]:
    """An entry's fields with the ones it lacks taken from its `crossref` parent."""
    fields = clean_fields(entry, strip)
    parent = parents.get(fields.get("crossref", ""))
    if parent is None:
        return fields
    for name, value in clean_fields(parent, strip).items():
        if name == "title" and parent.type in ("proceedings", "book", "collection"):
            name = "booktitle"
        if name not in ("key", "crossref") and name not in fields:
            fields[name] = value
    return fields


def crossref_last(entries: Sequence[Entry]) -> list[Entry]:
    """BibTeX needs a cross-referenced entry after every entry that refers to it."""
    targets = {e.get("crossref").strip() for e in entries if e.get("crossref").strip()}
    if not targets:
        return list(entries)
    return ([e for e in entries if e.key not in targets]
            + [e for e in entries if e.key in targets])


def arxiv_only(name: str, value: str) -> bool:
    """A field of a preprint that only says "arXiv" (`journal = {arXiv preprint ...}`,
    DBLP's `volume = {abs/2112.05682}`): the arXiv id says it better."""
    if name in ("journal", "journaltitle", "howpublished"):
        return is_arxiv_venue(value)
    return name == "volume" and value.startswith("abs/")


def is_preprint(etype: str, fields: Mapping[str, str]) -> bool:
    """An arXiv preprint that is not (yet) anything else."""
    if not arxiv_id(fields) or fields.get("booktitle"):
        return False
    if etype in ("misc", "online", "electronic", "www", "unpublished", "preprint"):
        return not fields.get("journal")  or is_arxiv_venue(fields["journal"])
    if etype == "article":
        journal = fields.get("journal") or fields.get("journaltitle") or ""
        return not journal or is_arxiv_venue(journal)
    return False
