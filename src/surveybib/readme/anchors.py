"""GitHub's heading anchors, computed over the whole README in order.

Anchors are never guessed in a template. Templates emit headings with
`heading(level, text, id)` and links with `link_to(id)`; both leave private
markers in the first pass. Then the whole document is read top to bottom,
every heading (ours, and those inside notes or the intro) goes through ONE
GitHub-compatible slugger in order, and each link marker becomes the slug of
its heading. So duplicates get GitHub's `-1`, `-2` suffixes exactly where
GitHub puts them, and every internal link resolves.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from surveybib.errors import TemplateError
from surveybib.readme import inline
from surveybib.readme.blocks import headings_of
from surveybib.readme.markdown import (
    COMMENT_START,
    FENCE,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
    drop_markers,
    md_text,
    next_fence,
)

# For ASCII text Ruby's \p{Word} is exactly letters, digits and "_": the other ASCII
# characters are deleted with bytes.translate (faster than any regex), spaces become `-`.
_KEPT_ASCII = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_- ")
_DROPPED_ASCII = bytes(c for c in range(128) if c not in _KEPT_ASCII)
_KEPT_TEXT = frozenset(map(chr, _KEPT_ASCII))
_HEAD_MARK = "\ue000"
_LINK_OPEN, _LINK_CLOSE = "\ue001", "\ue002"
_LINK_MARK = re.compile(f"{_LINK_OPEN}([^{_LINK_CLOSE}]*){_LINK_CLOSE}")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_CLOSING_HASHES = re.compile(r"(?:^|(?<![ \t])[ \t]+)#+[ \t]*$")


# Ruby's \p{Word} beyond ASCII, as github-slugger keeps it: letters, marks, decimal digits,
# connector punctuation, letter numbers, and the symbols Unicode calls alphabetic (the
# circled and squared Latin letters).
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Mn", "Mc", "Me", "Nd", "Pc"})
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169),
                       (0x1F170, 0x1F189))


@lru_cache(maxsize=1 << 12)
def _kept(char: str) -> bool | None:
    """Whether an anchor keeps a non-ASCII character; None when this Python's Unicode
    tables do not know it (then the `regex` package, with newer tables, decides)."""
    category = unicodedata.category(char)
    if category == "Cn":
        return None
    return category in _WORD_CATEGORIES or any(
        low <= ord(char) <= high for low, high in _ALPHABETIC_SYMBOLS)


@lru_cache(maxsize=1)
def _not_word() -> Any:
    """Characters GitHub drops from anchors: all but Ruby's \\p{Word}, space and '-'."""
    import regex

    return regex.compile(r"[^\p{Alphabetic}\p{Mark}\p{Nd}\p{Pc}\- ]", regex.V1)


def _word_text(text: str) -> str:
    """TEXT (lower case, not all ASCII) without the characters an anchor drops."""
    kept = [(char, char in _KEPT_TEXT if char.isascii() else _kept(char)) for char in text]
    if any(keep is None for _, keep in kept):
        return str(_not_word().sub("", text))
    return "".join(char for char, keep in kept if keep)


class Slugger:
    """GitHub's heading anchors: github-slugger's algorithm, Ruby's \\p{Word} class."""

    def __init__(self) -> None:
        self.occurrences: dict[str, int] = {}

    def slug(self, text: str) -> str:
        text = text.lower()
        if text.isascii():
            base = text.encode().translate(None, _DROPPED_ASCII).decode().replace(" ", "-")
        else:
            base = _word_text(text).replace(" ", "-")
        result = base
        while result in self.occurrences:
            self.occurrences[base] += 1
            result = f"{base}-{self.occurrences[base]}"
        self.occurrences[result] = 0
        return result


@lru_cache(maxsize=1 << 15)
def heading_plain_text(markdown: str) -> str:
    """The text GitHub sees in a heading's markdown (for headings we did not write), found
    in linear time (readme/inline.py: the regular expressions it replaces were quadratic or
    worse on hostile headings). An escaped `\\<`, `\\[` or `\\`` is literal text (as in
    our own headings), not markup."""
    return inline.heading_plain_text(markdown)


def heading(level: int, text: str, ident: str) -> str:
    """A heading as a template writes it: `## text`, marked with the id its anchor gets."""
    level = max(1, min(level, 6))  # deeper nesting than Markdown has stays a level-6 heading
    return f"{'#' * level} {md_text(text)}{_HEAD_MARK}{drop_markers(ident)}{_HEAD_MARK}"


def link_to(ident: str) -> str:
    """A link target as a template writes it: replaced by the anchor of heading `ident`."""
    return f"{_LINK_OPEN}{drop_markers(ident)}{_LINK_CLOSE}"


_SPECIAL_LINE = re.compile(
    f"^(?:{VERBATIM_OPEN}| {{0,3}}(?:#|`{{3,}}|~{{3,}}|<!--|=+[ \\t]*$|-+[ \\t]*$).*)$", re.M)
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(
    r"^(?: {0,3}(?:[#>|<]|[-*+][ \t]|\d{1,9}[.)][ \t]|`{3}|~{3})|[ \t]*$| {4})")


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
    floor = 0  # where the latest heading, fence or comment ended: no paragraph goes back past it
    while (found := _SPECIAL_LINE.search(document, pos)) is not None:
        line = found.group(0)
        pos = found.end() + 1
        if line == VERBATIM_OPEN:  # user markdown: its headings as cmark-gfm finds them
            end = document.find(f"\n{VERBATIM_CLOSE}", pos - 1)
            for _, user_heading in headings_of(document[pos:max(pos, end)]):
                slugger.slug(heading_plain_text(user_heading))
            pos = floor = end + 2 if end >= 0 else len(document)
            continue
        opener = FENCE.match(line)
        if opener:
            fence = next_fence(fence, opener.group(1))
            floor = pos
            continue
        if fence is None and "<!--" in line[:7] and COMMENT_START.match(line):
            # an HTML comment block (a note's commented-out draft) hides its headings
            close = document.find("-->", found.start() + line.index("<!--") + 4)
            if close < 0:
                break
            pos = floor = document.find("\n", close) + 1 or len(document)
            continue
        if fence is not None:
            continue
        if _SETEXT_UNDERLINE.match(line):
            text = _setext_text(document, found.start(), floor)
            if text is not None:  # `Title` underlined with === or ---: a heading on GitHub
                slugger.slug(heading_plain_text(text))
                floor = pos
            continue
        if "#" not in line[:4]:
            continue
        match = _HEADING.match(line)
        if not match:
            continue
        floor = pos
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


def _setext_text(document: str, underline: int, floor: int = 0) -> str | None:
    """The paragraph a setext underline at offset `underline` turns into a heading, if any
    (it starts at `floor` at the earliest, so no line is read twice)."""
    lines: list[str] = []
    end = underline - 1  # the newline before the underline
    while end > 0 and end >= floor:
        newline = document.rfind("\n", floor, end)
        start = newline + 1 if newline >= 0 else floor
        line = document[start:end]
        if _NOT_PARAGRAPH.match(line):
            break
        lines.append(line.strip())
        end = start - 1
    return "\n".join(reversed(lines)) if lines else None
