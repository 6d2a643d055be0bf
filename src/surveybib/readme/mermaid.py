"""Mermaid diagrams for the README, drawn by GitHub: the taxonomy as a mindmap and the
papers per year as a bar chart.

Every label is data, never syntax: each character that is not a letter, a digit or a space
becomes Mermaid's entity code `#NNN;`, so brackets and parentheses (node shapes), quotes,
`%%` (comments and directives), `:::` (classes), backticks and `*`/`_` (markdown strings)
and `<` (HTML) are shown as text. Both diagrams stay under GitHub's limits (about 50,000
characters and 500 edges a diagram) for any survey: leaves are dropped before categories,
and categories past the cap are summarised in one node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from surveybib.readme.hidden import HIDDEN

MAX_NODES = 250  # edges = nodes - 1, under GitHub's 500; Mermaid 11's mindmap layout
# itself fails past about 400 nodes
MAX_CHARS = 40_000  # GitHub refuses a diagram of about 50,000 characters
LEAVES_PER_CATEGORY = 8  # more papers than this in a category: the rest are counted
MAX_LEAVES = 80  # more leaves than this in the whole figure: counts only, no paper names
LABEL_CHARS = 32  # a label longer than this is cut at a word, with an ellipsis
TITLE_CHARS = 64  # the root, the survey's title: cut only when it is very long
CATEGORY_CHARS = 48  # a category's name (Mermaid wraps it), then its count, never cut
MAX_YEARS = 40  # a longer span of years: the earliest are gathered in one "≤ year" bar


class _Paper(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def plain_title(self) -> str: ...


class _Category(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def papers(self) -> Sequence[_Paper]: ...

    @property
    def children(self) -> Sequence[_Category]: ...


def label(text: str, limit: int = LABEL_CHARS) -> str:
    """Text as a quoted Mermaid label: one line, cut to limit, every character that could
    be syntax written as an entity code, every hidden character dropped."""
    text = HIDDEN.sub("", " ".join(text.split()))  # control whitespace still parts words
    if len(text) > limit:
        cut = text[: limit - 1]
        space = cut.rfind(" ") if text[limit - 1] != " " else len(cut)  # mid-word: back up
        text = (cut[:space] if space > limit // 2 else cut).rstrip() + "…"
    return "".join(ch if ch.isalnum() or ch == " " else f"#{ord(ch)};" for ch in text)


def short_title(title: str) -> str:
    """A paper's name in a figure: the part of the title before the colon (GPTQ, AWQ,
    FlashAttention-2), else the title itself (cut by label())."""
    head, colon, _ = title.partition(":")
    head = head.strip()
    return head if colon and head and len(head) <= LABEL_CHARS else title.strip()


def _counted(name: str, count: int) -> str:
    """`Name (count)`: a very long name is cut, never the count."""
    return f"{label(name, CATEGORY_CHARS)} {label(f'({count})')}"


@dataclass(frozen=True, slots=True)
class _Node:
    depth: int
    text: str
    shape: str = "[]"

    def line(self) -> str:
        opening, closing = self.shape[: len(self.shape) // 2], self.shape[len(self.shape) // 2:]
        return f"{'  ' * self.depth}n{opening}\"{self.text}\"{closing}"


def taxonomy_mindmap(title: str, categories: Sequence[_Category]) -> str:
    """A `mindmap` of the categories (sub-categories nested), each with its paper count,
    and the papers' short names as leaves while the figure stays readable."""
    leaves = sum(min(len(c.papers), LEAVES_PER_CATEGORY + 1) for c in _walk(categories))
    with_papers = leaves <= MAX_LEAVES
    nodes = [_Node(1, label(title, TITLE_CHARS), "(())")]
    counts = _paper_counts(categories)
    for category in categories:
        _add_category(nodes, category, 2, with_papers, counts)
    if len(nodes) > MAX_NODES:  # too many categories: keep the first, count the rest
        hidden = sum(1 for n in nodes[MAX_NODES - 1:] if n.depth == 2)
        nodes = nodes[: MAX_NODES - 1]
        nodes.append(_Node(2, label(f"{hidden} more categories")))
    text = "mindmap\n" + "\n".join(n.line() for n in nodes) + "\n"
    while len(text) > MAX_CHARS:  # very long labels: shorten the deepest lines first
        nodes = nodes[: len(nodes) * 3 // 4]
        text = "mindmap\n" + "\n".join(n.line() for n in nodes) + "\n"
    return text


def _add_category(nodes: list[_Node], top: _Category, depth: int, with_papers: bool,
                  counts: dict[int, int]) -> None:
    """The category's node, its papers' leaves, then its sub-categories', depth first
    (without recursion: a taxonomy may nest as deep as its list declares)."""
    stack = [(top, depth)]
    while stack:
        category, depth = stack.pop()
        nodes.append(_Node(depth, _counted(category.label, counts[id(category)])))
        if with_papers:
            shown = category.papers[:LEAVES_PER_CATEGORY]
            rest = len(category.papers) - len(shown)
            if rest == 1:  # "1 more" takes the room of the paper itself
                shown, rest = category.papers[: LEAVES_PER_CATEGORY + 1], 0
            nodes.extend(_Node(depth + 1, label(short_title(p.plain_title)), "()")
                         for p in shown)
            if rest:
                nodes.append(_Node(depth + 1, label(f"{rest} more"), "()"))
        stack.extend((child, depth + 1) for child in reversed(category.children))


def _paper_counts(categories: Sequence[_Category]) -> dict[int, int]:
    """How many papers each category holds, its sub-categories' included (by id), in one
    pass from the leaves up; the smaller sets are merged into the larger."""
    counts: dict[int, int] = {}
    keys: dict[int, set[str]] = {}
    for category in reversed(list(_walk(categories))):  # every child before its parent
        sets = [keys.pop(id(child)) for child in category.children]
        own = max(sets, key=len, default=set())
        for other in sets:
            if other is not own:
                own |= other
        own |= {p.key for p in category.papers}
        keys[id(category)] = own
        counts[id(category)] = len(own)
    return counts


def _walk(categories: Iterable[_Category]) -> Iterable[_Category]:
    """Every category and every one below it, depth first, without recursion."""
    stack = list(reversed(list(categories)))
    while stack:
        category = stack.pop()
        yield category
        stack.extend(reversed(category.children))


# Mermaid's default bars (#ECECFF) are all but invisible on GitHub's white page; this blue
# reads on its light and its dark page alike (3.7:1 and 5:1), whichever theme GitHub picks.
_BAR_COLOUR = ("---\nconfig:\n  themeVariables:\n    xyChart:\n"
               '      plotColorPalette: "#3b82f6"\n---\n')


def year_chart(years: Iterable[int | None]) -> str | None:
    """An `xychart-beta` bar chart of papers per year, years without papers shown as 0;
    None when no paper has a year."""
    counts = Counter(y for y in years if y is not None)
    if not counts:
        return None
    first, last = min(counts), max(counts)
    labels: list[str] = []
    values: list[int] = []
    if last - first >= MAX_YEARS:
        first = last - MAX_YEARS + 1
        labels.append(label(f"≤{first - 1}"))
        values.append(sum(n for y, n in counts.items() if y < first))
    for year in range(first, last + 1):
        labels.append(str(year))
        values.append(counts.get(year, 0))
    top = max(values)
    axis = ", ".join(f'"{text}"' for text in labels)
    return (_BAR_COLOUR + "xychart-beta\n"
            '  title "Papers per year"\n'
            f"  x-axis [{axis}]\n"
            f'  y-axis "Papers" 0 --> {top + (1 if top < 5 else top // 5)}\n'
            f"  bar [{', '.join(map(str, values))}]\n")
