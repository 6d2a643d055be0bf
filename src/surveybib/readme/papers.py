"""One entry as the README shows it: `Title (Venue Year)`, its link, its reader, its note."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from surveybib.identifiers import arxiv_id, is_arxiv_doi, is_arxiv_venue, strip_doi_prefix
from surveybib.latex import to_text, to_unicode, url_from_latex
from surveybib.limits import MAX_SHOWN
from surveybib.model import Entry, Note
from surveybib.readme.blocks import shift_headings
from surveybib.readme.links import rebase_links
from surveybib.readme.markdown import drop_markers, safe_url, user_markdown
from surveybib.venues import short_name as short_venue_name

if TYPE_CHECKING:  # a paper's categories hold the paper: the two types refer to each other
    from surveybib.readme.taxonomy import Category


@dataclass(slots=True)
class Paper:
    """One entry as the README shows it."""

    key: str
    title: str  # display text: "Title (Venue Year)"
    url: str | None
    reader: str
    categories: list[Category] = field(default_factory=list)
    note: str | None = None  # the note as the README shows it (headings shifted, links rebased)
    source: str | None = None  # the note as written (open blocks closed)
    plain_title: str = ""  # the title alone, without venue and year, as plain text: no
    # $math$ (a figure or a link label shows it as TeX), unknown commands dropped
    year: int | None = None
    cells: dict[str, str] = field(default_factory=dict)  # optional columns: id -> markdown

    @property
    def level(self) -> int:
        """The level of the paper's heading in the packaged layout (its note's headings
        sit below it)."""
        return min(6, 3 + (self.home.depth if self.home is not None else 0))

    @property
    def id(self) -> str:
        return "paper:" + self.key

    @property
    def home(self) -> Category | None:
        return self.categories[0] if self.categories else None


def note_markdown(source: str, top: int, folder: str) -> str:
    """A note as the README shows it: its headings moved so the highest sits at level
    `top`, relative targets rewritten against `folder`, and marked as user markdown."""
    return user_markdown(rebase_links(shift_headings(source, top), folder))


_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9&@-]{1,15})\s*+(?:'|’)?\s*+\d{0,4}\)")


def short_venue(entry: Entry, venues: tuple[tuple[str, str], ...] = ()) -> str:
    """The venue shown after the title: the user's `venue`, else an acronym, else the
    short name the venue table gives, else the name."""
    return _short_venue(entry.as_dict(), venues)


def _short_venue(f: Mapping[str, str], venues: tuple[tuple[str, str], ...] = ()) -> str:
    if f.get("venue"):
        return to_unicode(f["venue"])
    for name in ("booktitle", "journal", "journaltitle", "series"):
        value = f.get(name)
        if value:
            if name != "booktitle" and is_arxiv_venue(value):
                return "arXiv"  # `arXiv preprint arXiv:2404.14294`, `CoRR`
            text = to_unicode(value)
            match = _ACRONYM.search(text) if "(" in text else None
            return match.group(1) if match else short_venue_name(text, venues) or text
    if arxiv_id(f):
        return "arXiv"
    return to_unicode(f.get("publisher") or f.get("howpublished") or f.get("school") or "")


def display_title(entry: Entry, venues: tuple[tuple[str, str], ...] = ()) -> str:
    """`Title (Venue Year)` as plain display text (`venues`: the user's venue names)."""
    return _display_title(entry.key, entry.as_dict(), venues)


def _display_title(key: str, f: Mapping[str, str],
                   venues: tuple[tuple[str, str], ...] = ()) -> str:
    title = drop_markers(shown(f.get("title", ""))).strip() or cut_shown(key) \
        or "(an entry without a key)"  # never empty
    year = f.get("year") or f.get("date", "")[:4]
    suffix = " ".join(p for p in (cut_shown(_short_venue(f, venues)), shown(year)) if p)
    return f"{title} ({suffix})" if suffix else title


def shown(value: str) -> str:
    """A field value as display text, at most limits.MAX_SHOWN characters: a longer one is
    cut and ends in "…" (a 50 MB title once made a 262 MB README)."""
    if len(value) <= MAX_SHOWN:
        return to_unicode(value)
    return cut_shown(to_unicode(value[: 4 * MAX_SHOWN]), cut=True)


def cut_shown(text: str, cut: bool = False) -> str:
    """Display text cut to limits.MAX_SHOWN characters (ending in "…" when cut)."""
    if len(text) <= MAX_SHOWN and not cut:
        return text
    return text[: MAX_SHOWN - 1].rstrip() + "…"


def _plain_shown(value: str) -> str:
    """A title as plain text (no TeX), cut as `shown` cuts."""
    if len(value) <= MAX_SHOWN:
        return to_text(value)
    return cut_shown(to_text(value[: 4 * MAX_SHOWN]), cut=True)


def too_long_to_show(entry: Entry, group_by: str) -> list[str]:
    """The fields of an entry that the README shows cut (see `shown`)."""
    names = ("title", "venue", "journal", "booktitle", "reader", "year", group_by)
    return [name for name in dict.fromkeys(names) if len(entry.get(name)) > MAX_SHOWN]


def paper_url(entry: Entry) -> str | None:
    """The DOI link, else the `url`, else the arXiv page; an arXiv paper always links
    its abstract page, however the entry names it (arXiv DOI, arxiv.org URL, eprint)."""
    return _paper_url(entry.as_dict())


_ARXIV_URL = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.I)


_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)


def _paper_url(f: Mapping[str, str]) -> str | None:
    doi = f.get("doi", "").strip()
    if doi:
        doi = strip_doi_prefix(url_from_latex(doi))
        arxiv = _ARXIV_DOI.match(doi) if is_arxiv_doi(doi) else None
        if arxiv is None:
            return "https://doi.org/" + quote(doi, safe="/:;._-")
        return _arxiv_page(f) or f"https://arxiv.org/abs/{quote(arxiv.group(1), safe='/.')}"
    url = safe_url(url_from_latex(f["url"])) if f.get("url", "").strip() else None
    if url and _ARXIV_URL.match(url):
        return _arxiv_page(f) or url
    return url or _arxiv_page(f)


def _arxiv_page(f: Mapping[str, str]) -> str | None:
    arxiv = arxiv_id(f)
    return f"https://arxiv.org/abs/{quote(arxiv, safe='/.')}" if arxiv else None


def to_paper(entry: Entry, note: Note | None, venues: tuple[tuple[str, str], ...] = ()) -> Paper:
    """An entry as the README shows it (its note is placed by build_categories)."""
    body = note.body if note is not None and not note.is_empty else None
    f = entry.as_dict()
    return Paper(entry.key, _display_title(entry.key, f, venues), _paper_url(f),
                 shown(f.get("reader", "")), source=body or None,
                 plain_title=_plain_shown(f.get("title", "")) or cut_shown(entry.key),
                 year=_year(f))


_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _year(f: Mapping[str, str]) -> int | None:
    """The four-digit year of `year` (or of `date`), if it has one."""
    match = _YEAR.search(f.get("year", "")[:64]) or _YEAR.search(f.get("date", "")[:64])
    return int(match.group(1)) if match else None
