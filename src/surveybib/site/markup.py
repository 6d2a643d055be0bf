"""A note's markdown -> HTML the explorer can show: rendered by markdown-it-py (CommonMark
with GitHub's tables and strikethrough), then sanitised by nh3 (an allow-list of tags,
attributes and URL schemes), so nothing a note says can run in the page. Images, in
markdown or as `<img>`, become links to them (the page loads nothing), and relative
targets are given their place on the page by a resolver (links.py).

The only module that imports markdown-it-py or nh3.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h4", "h5", "h6", "hr", "i", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
})
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"},
              "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
              "img": {"src", "alt"}}  # kept only to become a link (_images_as_links)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_HEADING_SHIFT = 3  # a note's `#` sits under the paper's <h3>: h1 -> h4, capped at h6


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


_LINK_REL = "noopener noreferrer nofollow"


def _cleaner(resolve: Callable[[str], str | None] | None = None) -> Any:
    """nh3's cleaner; `resolve` rewrites each link and image target that passed its
    URL-scheme check (what it returns is not checked again: it must be safe)."""
    if resolve is None:
        return _plain_cleaner()
    import nh3

    def target(tag: str, name: str, value: str) -> str | None:
        return resolve(value) if (tag, name) in (("a", "href"), ("img", "src")) else value

    return nh3.Cleaner(tags=set(TAGS) | {"img"},
                       attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                       attribute_filter=target, url_schemes=set(URL_SCHEMES),
                       link_rel=_LINK_REL, strip_comments=True)


@lru_cache(maxsize=1)
def _plain_cleaner() -> Any:
    import nh3

    return nh3.Cleaner(tags=set(TAGS) | {"img"},
                       attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                       url_schemes=set(URL_SCHEMES), link_rel=_LINK_REL, strip_comments=True)


# nh3's output is serialised by html5ever: every attribute value double-quoted, with `"`,
# `<`, `>` and `&` escaped, so these patterns cannot be misled by what a value holds.
_IMG = re.compile(r'<img((?:\s[a-z-]+="[^"]*")*)\s*/?>')
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def _images_as_links(clean_html: str) -> str:
    """Each (sanitised) image becomes a link to it, named by its alt text: the page loads
    nothing, from anywhere. An image left without a source keeps only its alt text."""
    def link(match: re.Match[str]) -> str:
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        text = html.escape(html.unescape(attributes.get("alt", "")), quote=False)
        if "src" not in attributes:
            return text
        return f'<a href="{attributes["src"]}" rel="{_LINK_REL}">{text or "image"}</a>'

    return _IMG.sub(link, clean_html) if "<img" in clean_html else clean_html


def render_note(markdown: str, resolve: Callable[[str], str | None] | None = None) -> str:
    """A note's markdown as sanitised HTML (headings shifted under the paper's title);
    `resolve` gives each link and image target its place on the page (None: no target)."""
    md = _parser()
    tokens = md.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + _HEADING_SHIFT)
            token.tag = f"h{level}"
    rendered = md.renderer.render(tokens, md.options, {})
    return _images_as_links(str(_cleaner(resolve).clean(rendered))).strip()
