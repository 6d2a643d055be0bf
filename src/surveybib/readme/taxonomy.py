"""The taxonomy: an entry's categories (`A; B`, `Parent/Child`) and the numbered sections
the README lists the papers in."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field

from surveybib.latex import to_unicode
from surveybib.model import Entry, Note
from surveybib.readme.papers import Paper, cut_shown, note_markdown, to_paper

UNCATEGORIZED = "Uncategorized"
_LIST, _LIST_COMMAS, _AND = re.compile(";"), re.compile("[;,]"), re.compile(r"\s+and\s+")


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
        """This category and every one below it, depth first (without recursion: a
        taxonomy may nest as deep as its list declares)."""
        stack = [self]
        while stack:
            category = stack.pop()
            yield category
            stack.extend(reversed(category.children))


def split_categories(value: str, declared: Collection[str] = (), *, commas: bool = False
                     ) -> list[str]:
    """`A; B` or `A and B` -> ['A', 'B'] (display text, duplicates dropped). A part that is
    itself a declared category is kept whole (`Search and Retrieval`); with `commas`
    (a `keywords` field) `,` separates too."""
    if not value.strip():
        return []
    out: dict[str, None] = {}  # an ordered set: 20,000 categories were once quadratic
    for part in (_LIST_COMMAS if commas else _LIST).split(to_unicode(value)):
        part = part.strip()
        pieces = [part] if part in declared or " and " not in part else _AND.split(part)
        for piece in pieces:
            piece = cut_shown(piece.strip())
            if piece:
                out[piece] = None
    return list(out)


def build_categories(
    entries: Sequence[Entry], notes: dict[str, Note], taxonomy: Sequence[str], group_by: str,
    *, venues: tuple[tuple[str, str], ...] = (), note_folder: str = "",
) -> tuple[list[Category], list[Paper], list[tuple[Entry, str]]]:
    """Group papers by taxonomy. Returns top-level categories, papers in file order, and
    (entry, value) pairs whose category is not in the configured list. Notes come out
    ready for the README: headings one level below the paper's, relative links
    rewritten against `note_folder` (relative to the README's folder)."""
    declared = frozenset(taxonomy)
    order = dict.fromkeys(taxonomy)  # an ordered set
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
            order[name] = None
            chosen.append(name)
        assignments.append((paper, chosen or [UNCATEGORIZED]))
    has_uncategorized = any(names == [UNCATEGORIZED] for _, names in assignments)
    tops = _number([*order, *([UNCATEGORIZED] if has_uncategorized else [])], by_name, declared)
    for paper, names in assignments:
        for name in names:
            category = by_name[name]
            category.papers.append(paper)
            paper.categories.append(category)
        if paper.source is not None:
            paper.note = note_markdown(paper.source, paper.level + 1, note_folder)
    return tops, papers, unknown


def _number(names: list[str], by_name: dict[str, Category], declared: Collection[str]
            ) -> list[Category]:
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
