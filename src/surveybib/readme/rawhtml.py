"""Raw HTML a note never ends. cmark-gfm's blocks are closed by blocks.close_open_blocks,
but an element left open (`<details>` without `</details>`) or a comment opened inside an
HTML block (`<!--` without `-->`) still wraps or hides everything after the note in the
browser. Both are closed at the end of the note, and reported."""

from __future__ import annotations

import re

from surveybib.readme.blocks import scan
from surveybib.readme.links import _CLOSING_TAG, _TAG, _Inline

# Elements without content, and those whose end tag browsers supply themselves.
_VOID = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "basefont", "frame", "keygen"))
_IMPLIED = frozenset((
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rp", "rtc", "html", "head", "body"))
_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def close_open_elements(markdown: str) -> tuple[str, str | None]:
    """The markdown with the raw HTML elements (and an HTML comment) it leaves open closed
    at its end, and what was closed (None when nothing was)."""
    if "<" not in markdown:
        return markdown, None
    elements, comment = _left_open(markdown)
    if not elements and not comment:
        return markdown, None
    closing = "".join(f"</{name}>" for name in reversed(elements))
    names = ", ".join(f"<{name}>" for name in elements)
    what = [f"HTML element{'s' * (len(elements) > 1)} {names}"] if elements else []
    if comment:
        what.insert(0, "an HTML comment <!-- inside an HTML block")
        closing = "<!-- -->" + closing  # its `-->` ends the comment in the browser
    verb = "are" if len(what) > 1 or len(elements) > 1 else "is"
    return f"{markdown.rstrip()}\n\n{closing}", f"{' and '.join(what)} {verb} never closed"


def _left_open(markdown: str) -> tuple[list[str], bool]:
    lines = markdown.split("\n")
    stack: list[str] = []
    counts: dict[str, int] = {}  # how often each name is on the stack: no search of it
    comment = False
    for leaf in scan(markdown).leaves:
        text = "\n".join(lines[n][at:] for n, at in leaf.lines)
        if leaf.kind == "html":
            tags, comment = _block_tags(text)
        else:
            inline = _Inline(text)
            inline.scan()
            tags = inline.tags
        for tag, closing in tags:
            _follow(stack, counts, tag, closing)
    return stack, comment


def _block_tags(text: str) -> tuple[list[tuple[str, bool]], bool]:
    """The tags of an HTML block in order (comments skipped), and whether it ends inside
    a comment."""
    tags: list[tuple[str, bool]] = []
    at = text.find("<")
    while at >= 0:
        if text.startswith("<!--", at):
            end = text.find("-->", at + 4)
            if end < 0:
                return tags, True
            at = text.find("<", end + 3)
            continue
        found = _TAG.match(text, at) or _CLOSING_TAG.match(text, at)
        if found is not None:
            tags.append((found.group(0), found.group(0).startswith("</")))
            at = found.end()
        else:
            at += 1
        at = text.find("<", at)
    return tags, False


def _follow(stack: list[str], counts: dict[str, int], tag: str, closing: bool) -> None:
    """The open elements after one more tag, as a browser matches end tags."""
    name = _NAME.match(tag).group(1).lower()  # type: ignore[union-attr]
    if closing:
        while counts.get(name):
            top = stack.pop()
            counts[top] -= 1
            if top == name:
                break
    elif name not in _VOID and not tag.endswith("/>") and name not in _IMPLIED:
        stack.append(name)
        counts[name] = counts.get(name, 0) + 1
