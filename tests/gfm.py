"""A README as GitHub shows it: cmark-gfm's HTML, read back as a page.

`page(markdown)` renders the text with the `cmarkgfm` package (GitHub's own renderer,
with the table, autolink, strikethrough and tagfilter extensions and raw HTML passed
through, as github.com does before its sanitiser) and parses the HTML into a small
tree. The page then answers what a reader would notice: which headings there are, at
which level, with the ids GitHub gives them (`user-content-` + the slug of the
heading's text, numbered in document order), which lists and items, which links and
images, and whether every internal link lands on a heading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

import cmarkgfm
from cmarkgfm.cmark import Options

from surveybib.readme.anchors import Slugger

EXTENSIONS = ("table", "autolink", "strikethrough", "tagfilter")
OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"])
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


def to_html(markdown: str) -> str:
    """The HTML cmark-gfm makes of the markdown."""
    html: str = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=OPTIONS, extensions=list(EXTENSIONS))
    return html


@dataclass
class Element:
    """One HTML element (or the page's root, tag '')."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    @property
    def text(self) -> str:
        """Its text content, as the DOM's textContent."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def walk(self) -> list[Element]:
        """Every element below this one, in document order."""
        out: list[Element] = []
        for child in self.elements():
            out.append(child)
            out.extend(child.walk())
        return out


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("")
        self.open: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.open[-1])
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Element(tag, {k: v or "" for k, v in attrs},
                                              parent=self.open[-1]))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, 0, -1):  # raw HTML may leave tags unbalanced
            if self.open[i].tag == tag:
                del self.open[i:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str  # as GitHub makes it: user-content-<slug>
    element: Element

    @property
    def anchor(self) -> str:
        """What a link's `#...` names to reach it."""
        return self.id.removeprefix("user-content-")


@dataclass(frozen=True)
class Link:
    href: str  # as a browser follows it: percent-escapes decoded
    text: str
    element: Element


class Page:
    """The rendered README."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown
        self.html = to_html(markdown)
        builder = _Builder()
        builder.feed(self.html)
        builder.close()
        self.root = builder.root
        slugger = Slugger()
        self.headings = [Heading(_HEADINGS[e.tag], e.text.strip(),
                                 "user-content-" + slugger.slug(e.text.strip()), e)
                         for e in self.root.walk() if e.tag in _HEADINGS]

    @property
    def ids(self) -> set[str]:
        return {h.id for h in self.headings}

    @property
    def links(self) -> list[Link]:
        return [Link(unquote(e.attrs.get("href", "")), e.text, e) for e in self.root.walk()
                if e.tag == "a" and "href" in e.attrs]

    @property
    def images(self) -> list[Element]:
        return [e for e in self.root.walk() if e.tag == "img"]

    def broken_links(self) -> list[str]:
        """Internal links (`#...`) that land on no heading."""
        return [link.href for link in self.links if link.href.startswith("#")
                and "user-content-" + link.href[1:] not in self.ids]

    def heading(self, text: str) -> Heading:
        found = [h for h in self.headings if h.text == text]
        assert len(found) == 1, f"{len(found)} headings read {text!r}: {self.outline()}"
        return found[0]

    def outline(self) -> list[tuple[int, str]]:
        return [(h.level, h.text) for h in self.headings]

    def lists(self) -> list[Element]:
        """Every `<ul>` and `<ol>`, outermost first."""
        return [e for e in self.root.walk() if e.tag in ("ul", "ol")]

    def item(self, starts_with: str) -> Element:
        """The one list item whose text starts with the given words."""
        found = [e for e in self.root.walk()
                 if e.tag == "li" and e.text.strip().startswith(starts_with)]
        assert len(found) == 1, f"{len(found)} list items start with {starts_with!r}"
        return found[0]

    def blocks(self) -> list[Element]:
        """The top-level blocks, in order."""
        return self.root.elements()


def items(list_element: Element) -> list[Element]:
    """The items of one list (not those of lists inside it)."""
    return [e for e in list_element.elements() if e.tag == "li"]


def page(markdown: str) -> Page:
    return Page(markdown)
