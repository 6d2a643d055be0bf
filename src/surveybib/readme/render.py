"""jinja2 environment, GitHub anchors and README rendering.

Anchors are never guessed in a template. Templates emit headings with
`heading(level, text, id)` and links with `link_to(id)`; both leave private
markers in the first pass. Then the whole document is read top to bottom,
every heading (ours, and those inside notes or the intro) goes through ONE
GitHub-compatible slugger in order, and each link marker becomes the slug of
its heading. So duplicates get GitHub's `-1`, `-2` suffixes exactly where
GitHub puts them, and every internal link resolves.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from surveybib.config import README_BLOCKS
from surveybib.errors import TemplateError
from surveybib.identifiers import arxiv_id, is_arxiv_doi, is_arxiv_venue, strip_doi_prefix
from surveybib.latex import to_text, to_unicode, url_from_latex
from surveybib.model import Entry, Note
from surveybib.readme import mermaid
from surveybib.readme.blocks import headings_of, leaves_containers_open, shift_headings
from surveybib.readme.contributors import contributors
from surveybib.readme.hidden import HIDDEN_OR_PRIVATE
from surveybib.readme.links import rebase_links
from surveybib.readme.venues import short_name as short_venue_name

# For ASCII text Ruby's \p{Word} is exactly letters, digits and "_" ("re" is faster).
_NOT_WORD_ASCII = re.compile(r"[^a-z0-9_\- ]")
_HEAD_MARK = "\ue000"
_LINK_OPEN, _LINK_CLOSE = "\ue001", "\ue002"
_PRIVATE = re.compile("[\ue000-\ue004]")
# Dropped from everything the README shows: our markers, NUL and bidirectional overrides.
_DROPPED = HIDDEN_OR_PRIVATE
# User markdown (notes, the intro) goes into the README between these marker lines, so
# the final tidy-up leaves it exactly as written (hard line breaks, blank lines in code).
_VERBATIM_OPEN, _VERBATIM_CLOSE = "\ue003", "\ue004"
_LINK_MARK = re.compile(f"{_LINK_OPEN}([^{_LINK_CLOSE}]*){_LINK_CLOSE}")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# CommonMark's HTML block of type 2: from a line starting `<!--` to the line with `-->`;
# a `# ...` line inside it is not a heading on GitHub, so it takes no anchor.
_COMMENT_START = re.compile(r"^ {0,3}<!--")
GENERATED_MARKER = "<!-- surveybib:generated"


@lru_cache(maxsize=1)
def _not_word() -> Any:
    """Characters GitHub drops from anchors: all but Ruby's \\p{Word}, space and '-'
    (the `regex` package knows Unicode properties; imported only for non-ASCII)."""
    import regex

    return regex.compile(r"[^\p{Alphabetic}\p{Mark}\p{Nd}\p{Pc}\- ]", regex.V1)


class Slugger:
    """GitHub's heading anchors: github-slugger's algorithm, Ruby's \\p{Word} class."""

    def __init__(self) -> None:
        self.occurrences: dict[str, int] = {}

    def slug(self, text: str) -> str:
        text = text.lower()
        pattern = _NOT_WORD_ASCII if text.isascii() else _not_word()
        base = pattern.sub("", text).replace(" ", "-")
        result = base
        while result in self.occurrences:
            self.occurrences[base] += 1
            result = f"{base}-{self.occurrences[base]}"
        self.occurrences[result] = 0
        return result


# ---------------------------------------------------------------- escaping

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!])")
_MARKUP = re.compile(r"[<\[`*_\\&]")
_MATH = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])+(?<!\\)\$")


@lru_cache(maxsize=1 << 15)
def md_text(text: str) -> str:
    """Display text -> inert inline markdown (math spans kept for GitHub to render)."""
    text = _DROPPED.sub("", " ".join(text.split()))
    out: list[str] = []
    last = 0
    for math in _MATH.finditer(text):
        out.append(_md_plain(text[last : math.start()]))
        out.append(_inert_math(math.group(0)))
        last = math.end()
    out.append(_md_plain(text[last:]))
    return "".join(out)


def _inert_math(math: str) -> str:
    """Math stays math for GitHub, but can neither open a tag, split a table cell, nor
    close or open a link label (`$a](javascript:...)$` inside `[...](#anchor)`)."""
    if not any(c in math for c in "<>|[]"):
        return math
    return (math.replace("<", r"\lt{}").replace(">", r"\gt{}").replace("|", r"\vert{}")
            .replace("[", r"\lbrack{}").replace("]", r"\rbrack{}"))


def _md_plain(text: str) -> str:
    text = text.replace("&", "&amp;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("$", r"\$")


_PLAIN_URL = re.compile(r"^[A-Za-z0-9/:?#\[\]@!$&'*+,;=%~._-]+$")


def safe_url(url: str) -> str | None:
    """A URL usable as a markdown link target: http(s) only, no spaces or parentheses."""
    url = url.strip()
    if not re.match(r"^https?://[^\s/]", url, re.I):
        return None
    if _PLAIN_URL.match(url):
        return url
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._")


@lru_cache(maxsize=1 << 15)
def heading_plain_text(markdown: str) -> str:
    """The text GitHub sees in a heading's markdown (for headings we did not write)."""
    if not _MARKUP.search(markdown):
        return markdown.strip()
    text = re.sub(r"<!--.*?-->", "", markdown)
    # An escaped `\<`, `\[` or `\`` is literal text (as in our own headings), not markup.
    text = re.sub(r"(?<!\\)!?\[((?:\\.|[^\]\\])*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(?<!\\)<[^>]+>", "", text)
    text = re.sub(r"(?<!\\)(`+)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<!\\)(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    return html.unescape(text).strip()


# ---------------------------------------------------------------- the model shown


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


@dataclass(slots=True)
class Category:
    """One taxonomy section."""

    name: str
    number: str
    depth: int = 0
    papers: list[Paper] = field(default_factory=list)
    children: list[Category] = field(default_factory=list)
    uncategorized: bool = False

    @property
    def id(self) -> str:
        return "category:" + self.name

    @property
    def label(self) -> str:
        return self.name.rsplit("/", 1)[-1] if self.depth else self.name

    def walk(self) -> Iterator[Category]:
        yield self
        for child in self.children:
            yield from child.walk()


UNCATEGORIZED = "Uncategorized"


_LIST, _LIST_COMMAS, _AND = re.compile(";"), re.compile("[;,]"), re.compile(r"\s+and\s+")


def split_categories(value: str, declared: Collection[str] = (), *, commas: bool = False
                     ) -> list[str]:
    """`A; B` or `A and B` -> ['A', 'B'] (display text, duplicates dropped). A part that is
    itself a declared category is kept whole (`Search and Retrieval`); with `commas`
    (a `keywords` field) `,` separates too."""
    if not value.strip():
        return []
    out: list[str] = []
    for part in (_LIST_COMMAS if commas else _LIST).split(to_unicode(value)):
        part = part.strip()
        pieces = [part] if part in declared or " and " not in part else _AND.split(part)
        for piece in pieces:
            piece = piece.strip()
            if piece and piece not in out:
                out.append(piece)
    return out


def build_categories(
    entries: Sequence[Entry], notes: dict[str, Note], taxonomy: Sequence[str], group_by: str,
    *, venues: tuple[tuple[str, str], ...] = (), note_folder: str = "",
) -> tuple[list[Category], list[Paper], list[tuple[Entry, str]]]:
    """Group papers by taxonomy. Returns top-level categories, papers in file order, and
    (entry, value) pairs whose category is not in the configured list. Notes come out
    ready for the README: headings one level below the paper's, relative links
    rewritten against `note_folder` (relative to the README's folder)."""
    declared = list(taxonomy)
    order: list[str] = list(declared)
    papers: list[Paper] = []
    unknown: list[tuple[Entry, str]] = []
    by_name: dict[str, Category] = {}
    assignments: list[tuple[Paper, list[str]]] = []
    for entry in entries:
        paper = to_paper(entry, notes.get(entry.key), venues)
        papers.append(paper)
        names = split_categories(entry.get(group_by), declared, commas=group_by != "taxonomy")
        chosen = []
        for name in names:
            if declared and name not in declared:
                unknown.append((entry, name))
                continue
            if name not in order:
                order.append(name)
            chosen.append(name)
        assignments.append((paper, chosen or [UNCATEGORIZED]))
    has_uncategorized = any(names == [UNCATEGORIZED] for _, names in assignments)
    tops = _number(order + ([UNCATEGORIZED] if has_uncategorized else []), by_name, set(declared))
    for paper, names in assignments:
        for name in names:
            category = by_name[name]
            category.papers.append(paper)
            paper.categories.append(category)
        if paper.source is not None:
            paper.note = note_markdown(paper.source, paper.level + 1, note_folder)
    return tops, papers, unknown


def note_markdown(source: str, top: int, folder: str) -> str:
    """A note as the README shows it: its headings moved so the highest sits at level
    `top`, relative targets rewritten against `folder`, and marked as user markdown."""
    return verbatim(rebase_links(shift_headings(source, top), folder))


def _number(names: list[str], by_name: dict[str, Category], declared: set[str]) -> list[Category]:
    tops: list[Category] = []
    for name in names:
        parent_name = name.rsplit("/", 1)[0] if "/" in name else ""
        parent = by_name.get(parent_name) if parent_name in declared else None
        if parent is not None:
            number = f"{parent.number}.{len(parent.children) + 1}"
            category = Category(name, number, parent.depth + 1)
            parent.children.append(category)
        else:
            category = Category(name, str(len(tops) + 1), uncategorized=name == UNCATEGORIZED)
            tops.append(category)
        by_name[name] = category
    return tops


_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9&@-]{1,15})\s*(?:'|’)?\s*\d{0,4}\)")


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
    title = _DROPPED.sub("", to_unicode(f.get("title", ""))).strip() or key  # never empty
    year = f.get("year") or f.get("date", "")[:4]
    suffix = " ".join(p for p in (_short_venue(f, venues), to_unicode(year)) if p)
    return f"{title} ({suffix})" if suffix else title


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
    body = note.body if note is not None else None
    if body is not None and not re.sub(r"<!--.*?-->", "", body, flags=re.S).strip():
        body = None  # a stub with nothing written yet
    f = entry.as_dict()
    return Paper(entry.key, _display_title(entry.key, f, venues), _paper_url(f),
                 to_unicode(f.get("reader", "")), source=body or None,
                 plain_title=to_text(f.get("title", "")) or entry.key, year=_year(f))


_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _year(f: Mapping[str, str]) -> int | None:
    """The four-digit year of `year` (or of `date`), if it has one."""
    match = _YEAR.search(f.get("year", "")[:64]) or _YEAR.search(f.get("date", "")[:64])
    return int(match.group(1)) if match else None


def verbatim(markdown: str) -> str:
    """User markdown, marked to pass the final tidy-up untouched."""
    text = _DROPPED.sub("", markdown.strip("\n"))
    return f"{_VERBATIM_OPEN}\n{text}\n{_VERBATIM_CLOSE}"


def _next_fence(fence: str | None, mark: str) -> str | None:
    """The open code fence after a fence line `mark`: it opens one, or closes the open
    one when it is of the same character and at least as long (CommonMark)."""
    if fence is None:
        return mark
    return None if mark[0] == fence[0] and len(mark) >= len(fence) else fence




# ---------------------------------------------------------------- rendering


def _bytecode_cache() -> Any:
    """Compiled templates cached in the user's cache directory (jinja2 keys them by
    name and source checksum, so an edited template is recompiled). Compiling the
    README template costs about as much as rendering 1,000 papers. None when the
    directory cannot be created, or when SURVEYBIB_NO_CACHE is set."""
    import os

    import jinja2

    if os.environ.get("SURVEYBIB_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "surveybib", "templates")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


TEMPLATE_PREFIX = "surveybib"


def make_environment(user_templates: Path | None) -> Any:
    """A jinja2 environment: the user's templates/ first, then the packaged ones, which
    are also always reachable as `surveybib/<name>` (so a user's README.md.j2 can
    `{% extends "surveybib/README.md.j2" %}` and override its blocks)."""
    import jinja2

    packaged = jinja2.PackageLoader("surveybib.readme", "templates")
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({TEMPLATE_PREFIX: packaged})]
    if user_templates is not None and user_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders.append(packaged)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(TEMPLATE_FILTERS)
    env.globals.update(TEMPLATE_GLOBALS)
    env.globals["note_at"] = jinja2.pass_context(  # links rebased as for `p.note`
        lambda context, paper, top: _note_at(paper, top, context.get("note_folder", "")))
    return env


def _link_to(ident: str) -> str:
    return f"{_LINK_OPEN}{_PRIVATE.sub('', ident)}{_LINK_CLOSE}"


def _note_at(paper: Paper, top: int, folder: str = "") -> str:
    """A paper's note with its highest heading at level `top` (for a template that puts
    the paper's own heading somewhere else than the packaged layout does)."""
    return "" if paper.source is None else note_markdown(paper.source, top, folder)


def _heading(level: int, text: str, ident: str) -> str:
    level = max(1, min(level, 6))  # deeper nesting than Markdown has stays a level-6 heading
    return f"{'#' * level} {md_text(text)}{_HEAD_MARK}{_PRIVATE.sub('', ident)}{_HEAD_MARK}"


# What a template sees besides its variables (docs/usage.md lists them; a test checks).
TEMPLATE_FILTERS: dict[str, Any] = {
    "md": md_text,
    "short_name": mermaid.short_name,
    "cell": lambda text: md_text(text).replace("\n", " "),
}
TEMPLATE_GLOBALS: dict[str, Any] = {
    "heading": _heading,
    "link_to": _link_to,
    "url": lambda u: safe_url(u) or "",
    "note_at": _note_at,
}


_SPECIAL_LINE = re.compile(
    f"^(?:{_VERBATIM_OPEN}| {{0,3}}(?:#|`{{3,}}|~{{3,}}|<!--|=+[ \\t]*$|-+[ \\t]*$).*)$", re.M)
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
# Lines that cannot be the last line of a paragraph (so a `---` under them is no heading).
_NOT_PARAGRAPH = re.compile(
    r"^(?: {0,3}(?:[#>|<]|[-*+][ \t]|\d{1,9}[.)][ \t]|`{3}|~{3})|[ \t]*$| {4})")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.M)


def strip_line_ends(text: str) -> str:
    """No spaces or tabs at line ends (user text; the templates write none)."""
    return _TRAILING_SPACE.sub("", text) if " \n" in text or "\t\n" in text else text


def resolve_anchors(document: str) -> str:
    """Slug every heading in order and point each link marker at its heading.

    Only the lines that can matter (headings, fences, comment starts and ends)
    are visited: a README of 3,644 papers has about 100,000 lines.
    """
    slugger = Slugger()
    anchors: dict[str, str] = {}
    pieces: list[str] = []
    last = 0
    fence: str | None = None
    pos = 0
    while (found := _SPECIAL_LINE.search(document, pos)) is not None:
        line = found.group(0)
        pos = found.end() + 1
        if line == _VERBATIM_OPEN:  # user markdown: its headings as cmark-gfm finds them
            end = document.find(f"\n{_VERBATIM_CLOSE}", pos - 1)
            for _, user_heading in headings_of(document[pos:max(pos, end)]):
                slugger.slug(heading_plain_text(user_heading))
            pos = end + 2 if end >= 0 else len(document)
            continue
        opener = _FENCE.match(line)
        if opener:
            fence = _next_fence(fence, opener.group(1))
            continue
        if fence is None and "<!--" in line[:7] and _COMMENT_START.match(line):
            # an HTML comment block (a note's commented-out draft) hides its headings
            close = document.find("-->", found.start() + line.index("<!--") + 4)
            if close < 0:
                break
            pos = document.find("\n", close) + 1 or len(document)
            continue
        if fence is not None:
            continue
        if _SETEXT_UNDERLINE.match(line):
            text = _setext_text(document, found.start())
            if text is not None:  # `Title` underlined with === or ---: a heading on GitHub
                slugger.slug(heading_plain_text(text))
            continue
        if "#" not in line[:4]:
            continue
        match = _HEADING.match(line)
        if not match:
            continue
        text = (match.group(2) or "").rstrip(" \t")
        if text.endswith("#"):  # an optional closing sequence: `## Title ##`
            text = _CLOSING_HASHES.sub("", text)
        ident = None
        if _HEAD_MARK in text:
            text, ident, _ = text.split(_HEAD_MARK, 2)
            pieces.append(document[last : found.start()])
            pieces.append(f"{match.group(1)} {text}")
            last = found.end()
        anchor = slugger.slug(heading_plain_text(text))
        if ident is not None:
            anchors[ident] = anchor
    pieces.append(document[last:])
    document = "".join(pieces)

    def _link(match: re.Match[str]) -> str:
        ident = match.group(1)
        if ident not in anchors:
            raise TemplateError(f"README.md.j2 links to {ident!r}, which no heading(...) "
                                "defines; add the heading or drop the link")
        return anchors[ident]

    return _LINK_MARK.sub(_link, document)


def _setext_text(document: str, underline: int) -> str | None:
    """The paragraph a setext underline at offset `underline` turns into a heading, if any."""
    lines: list[str] = []
    end = underline - 1  # the newline before the underline
    while end > 0:
        start = document.rfind("\n", 0, end) + 1
        line = document[start:end]
        if _NOT_PARAGRAPH.match(line):
            break
        lines.append(line.strip())
        end = start - 1
    return "\n".join(reversed(lines)) if lines else None


def render_readme(
    env: Any,
    *,
    entries: Sequence[Entry],
    notes: dict[str, Note],
    taxonomy: Sequence[str],
    group_by: str,
    intro: str,
    title: str,
    source: str,
    venues: tuple[tuple[str, str], ...] = (),
    note_folder: str = "",
    intro_folder: str = "",
    blocks: Collection[str] = README_BLOCKS,
    columns: Sequence[tuple[str, str]] = (),
    cells: Mapping[str, dict[str, str]] | None = None,
) -> tuple[str, list[tuple[Entry, str]]]:
    """Render README.md; returns the text and the entries whose category is unknown.
    `note_folder` and `intro_folder` are where the notes and INTRO.md are, relative to
    the README's folder (their relative links are rewritten against them). `blocks`
    names the optional sections shown (README_BLOCKS: all of them); `columns` the
    optional (id, heading) table columns, `cells` their markdown by entry key."""
    categories, papers, unknown = build_categories(entries, notes, taxonomy, group_by,
                                                   venues=venues, note_folder=note_folder)
    if cells:
        for paper in papers:
            paper.cells = cells.get(paper.key, {})
    template = env.get_template("README.md.j2")
    _refuse_self_reference(env, template)
    intro = intro.strip()
    text = template.render(
        taxonomy_figure=mermaid.taxonomy_mindmap(title, categories)
        if "taxonomy" in blocks and papers else None,
        year_chart=mermaid.year_chart(p.year for p in papers) if "years" in blocks else None,
        contributors=contributors(papers) if "contributors" in blocks else [],
        title=title,
        intro=verbatim(rebase_links(intro, intro_folder)) if intro else "",
        categories=categories,
        all_categories=[c for top in categories for c in top.walk()],
        papers=papers,
        source=source,
        marker=GENERATED_MARKER,
        note_folder=note_folder,
        columns=[{"id": ident, "title": heading} for ident, heading in columns],
    )
    text = _header(source, len(papers)) + _without_marker(text.replace("\r\n", "\n"))
    return _tidy(resolve_anchors(text)), unknown


def _header(source: str, papers: int) -> str:
    """The generated marker: written by the renderer, whatever the template does, so a
    README built from any template is recognised as surveybib's on the next build, and
    says how many papers it lists (build refuses to empty it: `readme_papers`)."""
    source = re.sub(r"[\s>]", "", source)
    return (f"{GENERATED_MARKER}: made by surveybib from {source} ({papers} "
            f"paper{'s' * (papers != 1)}). Do not edit it by hand:\n"
            "edit survey.bib, notes/ or INTRO.md instead, then run `make readme`. -->\n\n")


_HEADER_COUNT = re.compile(re.escape(GENERATED_MARKER)
                           + r": made by surveybib from \S* \((\d+) papers?\)\.")
# What READMEs written before the header held a count show: the packaged template's
# progress line, "44 papers in 8 categories; ...".
_PROGRESS_COUNT = re.compile(r"^(\d+) papers? in \d+ categor", re.M)


def readme_papers(readme: str) -> int | None:
    """How many papers a README surveybib wrote lists (None when it does not say)."""
    found = _HEADER_COUNT.search(readme) or _PROGRESS_COUNT.search(readme)
    return int(found.group(1)) if found else None


def _without_marker(text: str) -> str:
    """A template's own copy of the marker comment (templates written before the renderer
    added it start with `{{ marker }}`), dropped so the README has it once."""
    if not text.startswith(GENERATED_MARKER):
        return text
    end = text.find("-->")
    return text[end + 3:].lstrip("\n") if end >= 0 else ""


def _refuse_self_reference(env: Any, template: Any) -> None:
    """A user's README.md.j2 that extends or includes `README.md.j2` would load itself
    forever; say how to build on the packaged one instead."""
    filename = template.filename or ""
    packaged = Path(__file__).resolve().parent / "templates"
    if not filename or Path(filename).resolve().is_relative_to(packaged):
        return
    import jinja2.meta

    source = Path(filename).read_text(encoding="utf-8")
    if "README.md.j2" in set(jinja2.meta.find_referenced_templates(env.parse(source))):
        raise TemplateError(
            f"{Path(filename).name} extends or includes itself ('README.md.j2'); write "
            f'{{% extends "{TEMPLATE_PREFIX}/README.md.j2" %}} to build on the packaged one')


def _tidy(text: str) -> str:
    """No runs of blank lines or spaces at line ends, one final newline; user markdown
    (between the verbatim markers) is left exactly as written."""
    if _VERBATIM_OPEN not in text:  # no user markdown: tidy in place (a 50k-entry README
        return _tidy_template(text).strip("\n") + "\n"  # is 20 MB; spare it copies)
    pieces: list[str] = []
    chunks = text.split(f"{_VERBATIM_OPEN}\n")
    for i, chunk in enumerate(chunks):
        if i:  # user markdown first, then the template output that follows it
            user, _, chunk = chunk.partition(f"\n{_VERBATIM_CLOSE}")
            chunk = _tidy_template(chunk)
            pieces.append(user + _end_of_user_blocks(user, chunk))
            if chunk.strip():  # a blank line ends the user's paragraph (no lazy line)
                chunk = "\n\n" + chunk.lstrip("\n")
        else:
            chunk = _tidy_template(chunk)
        if i < len(chunks) - 1 and chunk.strip():  # and one starts it
            chunk = chunk.rstrip("\n") + "\n\n"
        pieces.append(chunk)
    return "".join(pieces).strip("\n") + "\n"


# A line that, after a blank line, could still belong to a list or block quote above it.
_MAY_CONTINUE = re.compile(r"[ \t]|>|[-+*](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)")
END_OF_NOTE = "<!-- end of note -->"


def _end_of_user_blocks(user: str, following: str) -> str:
    """What to put after user markdown that ends inside a list or a block quote when the
    next generated line could continue it (a `- ` item after a note's own list): an HTML
    comment after a blank line, which ends every open list and quote on GitHub."""
    line = following.lstrip("\n").partition("\n")[0]
    if not line.strip() or not _MAY_CONTINUE.match(line):
        return ""
    return f"\n\n{END_OF_NOTE}" if leaves_containers_open(user) else ""


def _tidy_template(text: str) -> str:
    text = strip_line_ends(text)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
