"""The paper explorer's data: every entry of the Survey as the page shows it.

Built from the same `Survey` as the README and the exports (entries merged with the
metadata store, notes attached, categories grouped exactly as the README groups them),
so the page can never disagree with them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from surveybib.bibtex.dates import year_number
from surveybib.bibtex.names import parse_names
from surveybib.export.base import ExportOptions
from surveybib.export.bibtex import to_bibtex
from surveybib.export.fields import CUSTOM_FIELDS, DEFAULT_SKIP
from surveybib.identifiers import arxiv_id, doi_url, normalize_doi, paper_keys
from surveybib.latex import to_text, url_from_latex
from surveybib.lint import unknown_categories
from surveybib.metadata.store import MetadataStore
from surveybib.model import Entry, Person, Problem
from surveybib.notes import note_filename
from surveybib.readme.markdown import safe_url
from surveybib.readme.papers import short_venue
from surveybib.readme.taxonomy import Category, build_categories
from surveybib.rules import Rule
from surveybib.site.links import NoteLinks
from surveybib.site.markup import render_note
from surveybib.survey import Survey


@dataclass(frozen=True, slots=True)
class Link:
    """One outbound link of a paper: what it is ("Paper", "DOI", "arXiv") and where."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class SitePaper:
    """One entry as the explorer shows it (display text: LaTeX already turned to Unicode)."""

    index: int  # reading order: the entry's place in survey.bib
    key: str
    anchor: str  # the element id, `paper-<key>`, unique on the page
    title: str
    authors: tuple[str, ...]
    venue: str
    year: int | None
    categories: tuple[str, ...]  # the README's sections for it, the first is its home
    readers: tuple[str, ...]
    links: tuple[Link, ...]
    note_html: str  # sanitised HTML; "" when there is no note (or only the stub)
    bibtex: str  # the clean export: no taxonomy, reader, venue, file or abstract
    citations: int | None = None  # from the metadata store (`enrich --counts`), if any
    code: tuple[Link, ...] = ()  # the code repository and project page, from the store
    stars: int | None = None  # the repository's stars, from the store


@dataclass(frozen=True, slots=True)
class SiteCategory:
    """One taxonomy section, in the README's order and numbering."""

    name: str
    label: str  # the last level of a `Parent/Child` name
    number: str
    depth: int
    anchor: str
    papers: tuple[int, ...]  # indexes into SiteData.papers, in reading order
    parents: tuple[str, ...] = ()  # declared ancestors, nearest last


@dataclass(frozen=True, slots=True)
class SiteData:
    """The whole page's content."""

    title: str
    papers: tuple[SitePaper, ...]
    categories: tuple[SiteCategory, ...]  # depth-first, as numbered in the README
    problems: tuple[Problem, ...] = ()
    sources: tuple[Link, ...] = ()  # survey.bib and notes/ in the repository, when known

    @property
    def venues(self) -> tuple[str, ...]:
        """Venues, the most used first (then by name)."""
        counts = Counter(p.venue for p in self.papers if p.venue)
        return tuple(sorted(counts, key=lambda v: (-counts[v], v.casefold(), v)))

    @property
    def readers(self) -> tuple[str, ...]:
        return tuple(sorted({r for p in self.papers for r in p.readers},
                            key=lambda r: (r.casefold(), r)))

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({p.year for p in self.papers if p.year is not None}))

    @property
    def has_citations(self) -> bool:
        return any(p.citations is not None for p in self.papers)

    @property
    def has_code(self) -> bool:
        return any(p.code for p in self.papers)

    def facet_categories(self, paper: SitePaper) -> tuple[str, ...]:
        """A paper's categories and their declared parents (ticking a parent finds them)."""
        parents = {c.name: c.parents for c in self.categories}
        out: dict[str, None] = {}
        for name in paper.categories:
            out.update(dict.fromkeys((*parents.get(name, ()), name)))
        return tuple(out)


def site_data(survey: Survey, title: str = "", *, files_url: str = "",
              page_folder: str | None = None) -> SiteData:
    """The explorer's content for a survey. A note's relative links go to the papers'
    notes on the page, else to `files_url` + the file's path, else (a page written in
    the survey's `page_folder`) to the file relative to the page, else nowhere (see
    links.py)."""
    settings = survey.settings
    tops, shown, unknown = build_categories(survey.entries, survey.notes, settings.taxonomy,
                                            settings.group_by, venues=settings.venues)
    strip = DEFAULT_SKIP | CUSTOM_FIELDS | set(settings.export_skip_fields) | {settings.group_by}
    anchors: set[str] = set()
    ids = [_unique(f"paper-{_id_text(entry.key)}", anchors) for entry in survey.entries]
    notes = settings.rel(settings.notes)
    links = NoteLinks(notes, files_url, page_folder, {
        f"{notes}/{note_filename(entry.key)}": anchor
        for entry, anchor in zip(survey.entries, ids, strict=True)})
    papers: list[SitePaper] = []
    problems = unknown_categories(unknown, settings)  # those papers go under Uncategorized
    for index, (entry, paper) in enumerate(zip(survey.entries, shown, strict=True)):
        export = to_bibtex([entry], ExportOptions(skip_fields=frozenset(strip),
                                                  group_by=settings.group_by))
        problems.extend(export.problems)
        note_html = ""
        if paper.source:
            note_html, dropped = _note_html(paper.source, links)
            path = f"{notes}/{note_filename(entry.key)}"
            problems.extend(Rule.SITE_LINK.at(path, None, entry.key, links.why_dropped(target),
                                              "site") for target in dropped)
        found = _site_paper(index, entry, [c.name for c in paper.categories], ids[index],
                            note_html, export.text, settings.venues)
        papers.append(_from_store(found, entry, survey.store))
    order = {id(p): i for i, p in enumerate(shown)}
    categories = tuple(_site_category(c, order, anchors) for top in tops for c in top.walk())
    sources = (Link(settings.rel(settings.bib), files_url + quote(settings.rel(settings.bib))),
               Link("the reading notes", files_url + quote(notes) + "/")) if files_url else ()
    return SiteData(title or settings.title or "Reading List", tuple(papers),
                    _with_parents(categories), tuple(problems), sources)


def _note_html(source: str, links: NoteLinks) -> tuple[str, list[str]]:
    """A note as the page shows it, and the targets it had to leave without a place."""
    dropped: dict[str, None] = {}

    def resolve(target: str) -> str | None:
        found = links.resolve(target)
        if found is None:
            dropped[target] = None
        return found

    return render_note(source, resolve), list(dropped)


def _site_paper(index: int, entry: Entry, categories: Sequence[str], anchor: str,
                note_html: str, bibtex: str, venues: tuple[tuple[str, str], ...]) -> SitePaper:
    f = entry.as_dict()
    return SitePaper(
        index=index, key=entry.key, anchor=anchor,
        title=_plain(to_text(f.get("title", ""))) or entry.key,  # no $math$: no TeX here
        authors=authors(f.get("author") or f.get("editor", "")),
        venue=short_venue(entry, venues),
        year=year_number(f.get("year") or f.get("date", "")[:4]),
        categories=tuple(categories), readers=readers(f.get("reader", "")),
        links=links(f), note_html=note_html, bibtex=bibtex)


def _site_category(category: Category, order: Mapping[int, int],
                   anchors: set[str]) -> SiteCategory:
    return SiteCategory(category.name, category.label, category.number, category.depth,
                        _unique(f"category-{_id_text(category.name)}", anchors),
                        tuple(order[id(p)] for p in category.papers))


def _with_parents(categories: tuple[SiteCategory, ...]) -> tuple[SiteCategory, ...]:
    """Each sub-level learns its ancestors (depth-first order: a parent comes first)."""
    out: list[SiteCategory] = []
    path: list[SiteCategory] = []
    for category in categories:
        del path[category.depth:]
        out.append(SiteCategory(category.name, category.label, category.number,
                                category.depth, category.anchor, category.papers,
                                tuple(c.name for c in path)))
        path.append(category)
    return tuple(out)


_SPACE = re.compile(r"\s+")


def _id_text(text: str) -> str:
    """Text usable in an id attribute (HTML only forbids whitespace)."""
    return _SPACE.sub("_", text.strip()) or "_"


def _unique(anchor: str, taken: set[str]) -> str:
    found, n = anchor, 1
    while found in taken:  # duplicate keys are a lint error, but the page must still work
        n += 1
        found = f"{anchor}-{n}"
    taken.add(found)
    return found


def _plain(text: str) -> str:
    return " ".join(text.split())


def authors(value: str) -> tuple[str, ...]:
    """An author list as display names: `Given von Family, Jr`; `others` -> `et al.`"""
    return tuple(name for name in map(_display_name, parse_names(value)) if name)


def _display_name(person: Person) -> str:
    if person.literal:
        return _plain(to_text(person.literal))
    if person.family.lower() == "others" and not person.given:
        return "et al."
    name = " ".join(p for p in (person.given, person.von, person.family) if p)
    if person.jr:
        name += f", {person.jr}"
    return _plain(to_text(name))


_READERS = re.compile(r";|(?<!\s)\s+and\s+")


def readers(value: str) -> tuple[str, ...]:
    """`Yin, Lihao; Doe, Jane` (or `and`) -> each reader as written."""
    out = [_plain(to_text(r)) for r in _READERS.split(value)]
    return tuple(dict.fromkeys(r for r in out if r))


def links(f: Mapping[str, str]) -> tuple[Link, ...]:
    """Paper (the `url` field, http(s) only), DOI and arXiv links, without repeats."""
    found: list[Link] = []
    url = safe_url(url_from_latex(f["url"])) if f.get("url", "").strip() else None
    doi = normalize_doi(url_from_latex(f.get("doi", "")))
    arxiv = arxiv_id(f)
    if url:
        found.append(Link("Paper", url))
    if doi:
        found.append(Link("DOI", doi_url(doi)))
    if arxiv:
        found.append(Link("arXiv", f"https://arxiv.org/abs/{quote(arxiv, safe='/.')}"))
    unique: dict[str, Link] = {}
    for link in found:
        unique.setdefault(link.url, link)
    return tuple(unique.values())


def _from_store(paper: SitePaper, entry: Entry, store: MetadataStore) -> SitePaper:
    """The citation count and code links `enrich --counts` stored for the paper, if any."""
    keys = paper_keys(entry)
    cited = _first(store.citations, keys)
    code = _first(store.code, keys)
    if cited is None and code is None:
        return paper
    found = [Link(label, url) for label, url in (("Code", _url(code, "repo")),
                                                  ("Project", _url(code, "project"))) if url]
    return replace(paper, citations=_count(cited, "count"), code=tuple(found),
                   stars=_count(code, "stars") if found and found[0].label == "Code" else None)


def _first(section: Mapping[str, Mapping[str, Any]], keys: Sequence[str]
           ) -> Mapping[str, Any] | None:
    return next((section[k] for k in keys if k in section), None)


def _count(record: Mapping[str, Any] | None, name: str) -> int | None:
    value = record.get(name) if record else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _url(record: Mapping[str, Any] | None, name: str) -> str | None:
    """An http(s) link from a stored record; anything else (javascript:, data:) is dropped."""
    value = record.get(name) if record else None
    return safe_url(value) if isinstance(value, str) else None
