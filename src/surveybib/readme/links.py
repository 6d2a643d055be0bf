"""Relative link and image targets in a note, rewritten to resolve from README.md.

`![arch](figures/arch.png)` in `notes/KEY.md` means `notes/figures/arch.png`; merged
into README.md as written it would point at `figures/arch.png` beside the README.
Every relative target is rewritten against the note's folder: inline links and
images, link reference definitions, and the `src`, `href`, `srcset` and `poster`
attributes of raw HTML. Targets in code (fenced, indented, code spans) are text and
stay as written, as do absolute URLs, `#anchors` and root-relative `/paths`.

Inline links are found as CommonMark finds them (code spans first, backslash escapes,
brackets matched innermost first, no link inside a link), in time linear in the text:
no search here restarts from every opening bracket.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from surveybib.readme.blocks import Leaf, definitions, destination_end, scan

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{1,31}:")
_AUTOLINK = re.compile(r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\x00-\x20]*|"
                       r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+)>")
_ATTRIBUTE = (r"(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*"
              r"(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)")
_TAG = re.compile(rf"<[A-Za-z][A-Za-z0-9-]*{_ATTRIBUTE}*\s*/?>")
_CLOSING_TAG = re.compile(r"</[A-Za-z][A-Za-z0-9-]*\s*>")
_INLINE_COMMENT = re.compile(r"<!--(?:-?>|.*?-->)", re.S)
_URL_ATTRIBUTE = re.compile(r"\s(src|href|poster|srcset)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+)",
                            re.I)
_BACKTICKS = re.compile(r"`+")
_TO_SPACE = re.compile(r"[^\s<]*")
_MAX_PARENS = 32  # cmark's limit on nested parentheses in a link destination


@dataclass(frozen=True, slots=True)
class _Span:
    """A target to rewrite: where it is in the text, and whether it is `<bracketed>`."""

    start: int
    end: int
    kind: str = "link"  # link, html (an attribute value, maybe quoted), srcset


def rebase_links(markdown: str, folder: str) -> str:
    """`markdown` (a file in `folder`, relative to README.md's folder) with every relative
    link and image target rewritten to resolve from README.md."""
    if folder in ("", ".") or ("](" not in markdown and "]:" not in markdown
                               and "<" not in markdown):
        return markdown
    base = quote(folder.strip("/"), safe="/-._~!$&'*+,;=:@")
    lines = markdown.split("\n")
    edits: list[tuple[int, int, int, str]] = []  # (line, start, end, new text)
    for leaf in scan(markdown).leaves:
        for piece, places in _runs(lines, leaf):
            spans = _html_targets(piece) if leaf.kind == "html" else \
                _inline_targets(piece, with_definitions=leaf.kind == "para")
            for span in spans:
                new = _rebased(piece[span.start:span.end], span.kind, base)
                if new is not None:
                    line, at = _place(places, span.start)
                    edits.append((line, at, at + span.end - span.start, new))
    return "\n".join(_edited(lines, sorted(edits)))


def _edited(lines: list[str], edits: list[tuple[int, int, int, str]]) -> list[str]:
    """The lines with the (sorted, non-overlapping) edits made, each line copied once."""
    out = list(lines)
    i = 0
    while i < len(edits):
        line, pieces, last = edits[i][0], [], 0
        while i < len(edits) and edits[i][0] == line:
            _, start, end, new = edits[i]
            pieces += [lines[line][last:start], new]
            last = end
            i += 1
        out[line] = "".join(pieces) + lines[line][last:]
    return out


def _runs(lines: list[str], leaf: Leaf) -> Iterator[tuple[str, list[tuple[int, int, int]]]]:
    """A leaf's text as runs of joined lines, each with (offset in run, line, offset in
    line) for every line: a paragraph or heading is one run, a table row one each."""
    places = list(leaf.lines[:-1] if leaf.kind == "setext" else leaf.lines)
    if leaf.kind == "atx":
        places = [(places[0][0], places[0][1] + leaf.level)]
    groups = [[p] for p in places] if leaf.kind == "table" else [places]
    for group in groups:
        pieces: list[str] = []
        index: list[tuple[int, int, int]] = []
        at = 0
        for line, start in group:
            index.append((at, line, start))
            pieces.append(lines[line][start:])
            at += len(pieces[-1]) + 1
        yield "\n".join(pieces), index


def _place(index: list[tuple[int, int, int]], offset: int) -> tuple[int, int]:
    """Run offset -> (line, offset in that line)."""
    i = bisect.bisect_right(index, (offset, 1 << 62, 0)) - 1
    at, line, start = index[i]
    return line, start + offset - at


# ---------------------------------------------------------------- inline text


class _Inline:
    """One left-to-right pass over inline text, as CommonMark reads brackets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[_Span] = []
        self.tags: list[tuple[str, bool]] = []  # raw HTML tags: (text of the tag, a closing one)
        runs = [(m.start(), m.end() - m.start()) for m in _BACKTICKS.finditer(text)]
        self.runs_by_length: dict[int, list[int]] = {}
        for start, length in runs:
            self.runs_by_length.setdefault(length, []).append(start)
        self.unescaped: dict[str, list[int]] | None = None

    def scan(self, start: int = 0) -> list[_Span]:
        text, i, n = self.text, start, len(self.text)
        openers: list[tuple[int, bool]] = []  # (position, is an image)
        floor = 0  # openers below this index are inside a link already: inactive
        while i < n:
            char = text[i]
            if char == "\\":
                i += 2 if i + 1 < n and text[i + 1] in _PUNCTUATION else 1
            elif char == "`":
                i = self._code_span(i)
            elif char == "<":
                i = self._angle(i)
            elif char in ":w" and not openers and self._autolink(i, start):
                i = _TO_SPACE.match(text, i).end()  # type: ignore[union-attr]
            elif char == "[" or (char == "!" and text.startswith("[", i + 1)):
                openers.append((i, char == "!"))
                i += 1 if char == "[" else 2
            elif char == "]" and openers:
                _, image = openers.pop()
                active = image or len(openers) >= floor  # a link deactivates '[', not '!['
                floor = min(floor, len(openers))
                tail = self._inline_tail(i + 1) if active else None
                if tail is None:
                    i += 1
                    continue
                if not image:
                    floor = len(openers)
                i = tail
            else:
                i += 1
        return self.spans

    def _autolink(self, i: int, start: int) -> bool:
        """GFM's extended autolinks (cmark-gfm's autolink.c), outside brackets: `http://`,
        `https://` or `ftp://` (the letters before ':' are the scheme) and `www.` after a
        space, `*`, `_`, `~` or `(`. They run to the next space or '<', brackets included."""
        text = self.text
        if text[i] == "w":
            return text.startswith("www.", i) and len(text) - i > 4 and \
                (i == start or text[i - 1] in "*_~(" or text[i - 1].isspace())
        if not text.startswith("//", i + 1) or len(text) - i < 4:
            return False
        scheme = i
        while scheme > start and text[scheme - 1].isascii() and text[scheme - 1].isalpha():
            scheme -= 1
            if i - scheme > 5:
                return False
        return text[scheme:i].lower() in ("http", "https", "ftp")

    def _code_span(self, i: int) -> int:
        """Past the code span opened by the backtick run at i, or past the run itself."""
        text = self.text
        end = i
        while end < len(text) and text[end] == "`":
            end += 1
        starts = self.runs_by_length.get(end - i, [])
        j = bisect.bisect_left(starts, end)
        return starts[j] + end - i if j < len(starts) else end

    def _angle(self, i: int) -> int:
        """Past an autolink or a raw HTML tag at i (its URL attributes noted), or past '<'."""
        found = _AUTOLINK.match(self.text, i)
        if found:
            return found.end()
        tag = _TAG.match(self.text, i)
        if tag is None:
            closing = _CLOSING_TAG.match(self.text, i)
            if closing is not None:
                self.tags.append((closing.group(0), True))
                return closing.end()
            comment = _INLINE_COMMENT.match(self.text, i)
            return comment.end() if comment is not None else i + 1
        self.tags.append((tag.group(0), False))
        for attribute in _URL_ATTRIBUTE.finditer(tag.group(0)):
            kind = "srcset" if attribute.group(1).lower() == "srcset" else "html"
            self.spans.append(_Span(i + attribute.start(2), i + attribute.end(2), kind))
        return tag.end()

    def _inline_tail(self, i: int) -> int | None:
        """`(destination "title")` at i: note the destination, return the end; or None."""
        text = self.text
        if not text.startswith("(", i):
            return None
        start = self._space(i + 1)
        destination = destination_end(text, start)
        if destination is None:
            return None
        end = self._space(destination)
        if end > destination and end < len(text) and text[end] in "\"'(":
            close = self._title_end(end)
            if close is None:
                return None
            end = self._space(close)
        if not text.startswith(")", end):
            return None
        if destination > start:
            self.spans.append(_Span(start, destination))
        return end + 1

    def _space(self, i: int) -> int:
        """Past spaces and tabs with at most one line end among them."""
        text, newline = self.text, False
        while i < len(text) and text[i] in " \t\n":
            if text[i] == "\n":
                if newline:
                    break
                newline = True
            i += 1
        return i

    def _title_end(self, i: int) -> int | None:
        """Past the title that opens at i ('"', "'" or '('), or None when it never closes."""
        if self.unescaped is None:
            self.unescaped = _unescaped(self.text, "\"')(")
        closer = ")" if self.text[i] == "(" else self.text[i]
        ends = self.unescaped[closer]
        j = bisect.bisect_right(ends, i)
        if j == len(ends):
            return None
        if closer == ")":
            opens = self.unescaped["("]
            k = bisect.bisect_right(opens, i)
            if k < len(opens) and opens[k] < ends[j]:
                return None  # a title in parentheses cannot hold an unescaped '('
        return ends[j] + 1


def _inline_targets(text: str, *, with_definitions: bool) -> list[_Span]:
    if "]" not in text and "<" not in text:
        return []
    found = definitions(text) if with_definitions else []
    spans = [_Span(start, end) for start, end, _ in found]
    spans.extend(_Inline(text).scan(found[-1][2] if found else 0))
    return spans


def _unescaped(text: str, chars: str) -> dict[str, list[int]]:
    """Positions of each of `chars` in text that no backslash escapes."""
    out: dict[str, list[int]] = {c: [] for c in chars}
    escaped = False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in out:
            out[char].append(i)
    return out


# ---------------------------------------------------------------- raw HTML


def _html_targets(text: str) -> list[_Span]:
    """URL attributes of the tags in an HTML block."""
    spans: list[_Span] = []
    at = text.find("<")
    while at >= 0:
        tag = _TAG.match(text, at)
        if tag is not None:
            for attribute in _URL_ATTRIBUTE.finditer(tag.group(0)):
                kind = "srcset" if attribute.group(1).lower() == "srcset" else "html"
                spans.append(_Span(at + attribute.start(2), at + attribute.end(2), kind))
            at = tag.end()
        else:
            at += 1
        at = text.find("<", at)
    return spans


# ---------------------------------------------------------------- one target


def _rebased(written: str, kind: str, base: str) -> str | None:
    """The target as written, rewritten against `base`; None when it stays as it is."""
    if kind == "srcset":
        quote_char = written[0] if written[:1] in "\"'" else ""
        inner = written[1:-1] if quote_char else written
        parts = []
        for candidate in inner.split(","):
            words = candidate.strip().split(maxsplit=1)
            if words:
                words[0] = _relocate(words[0], base) or words[0]
            parts.append(" ".join(words))
        new = quote_char + ", ".join(parts) + quote_char
        return new if new != written else None
    if written[:1] in ("<" if kind == "link" else "\"'") and len(written) >= 2:
        moved = _relocate(written[1:-1], base)
        return None if moved is None else written[0] + moved + written[-1]
    return _relocate(written, base)


def _relocate(target: str, base: str) -> str | None:
    """`figures/a.png` -> `notes/figures/a.png`; None for targets that are not relative
    paths (URLs with a scheme, `#anchors`, `/root/paths`, `//host/paths`)."""
    first = target[1:2] if target[:1] == "\\" and target[1:2] in _PUNCTUATION else target[:1]
    if not first or first in "#/?" or _SCHEME.match(target):
        return None
    cut = len(target)
    for mark in "?#":
        found = target.find(mark)
        if 0 <= found < cut:
            cut = found
    return _normalised(f"{base}/{_unescape_dots(target[:cut])}") + target[cut:]


def _unescape_dots(path: str) -> str:
    """`\\../x` is `../x`: escaped dots and slashes read as themselves (other escapes kept)."""
    if "\\" not in path:
        return path
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and i + 1 < len(path):
            out.append(path[i + 1] if path[i + 1] in "./" else path[i:i + 2])
            i += 2
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def _normalised(path: str) -> str:
    """`notes/./a/../b` -> `notes/b` (a trailing `/` kept; `..` above the root kept)."""
    out: list[str] = []
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part == "." or (part == "" and i < len(parts) - 1):
            continue
        if part == ".." and out and out[-1] != "..":
            out.pop()
        else:
            out.append(part)
    return "/".join(out) or "."
