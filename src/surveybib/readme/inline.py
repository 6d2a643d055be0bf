"""The plain text GitHub sees in a heading's markdown, in linear time.

A heading's anchor is made from its text with the inline markup gone: comments, links
and images (their label kept), tags, code spans and emphasis (their content kept), and
backslash escapes. Written as regular expressions these steps are quadratic or worse
on hostile text (`# ` and ten thousand backticks took 26 s, 20 KB of `[` 17.6 s), and
notes and INTRO.md come from strangers' pull requests. Each step below is one pass
that finds the same matches as its regular expression (named in its docstring), using
precomputed positions instead of rescanning, so the whole is O(n log n).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from itertools import pairwise

from surveybib.model import without_comments

_MARKUP = re.compile(r"[<\[`*_\\&]")
_ESCAPED_PUNCTUATION = re.compile(r"\\([!-/:-@\[-`{-~])")
_DELIMITER = re.compile("[*_]")


def heading_plain_text(markdown: str) -> str:
    """The text GitHub sees in a heading's markdown (for headings we did not write)."""
    if not _MARKUP.search(markdown):
        return markdown.strip()
    text = drop_comments(markdown)
    text = drop_links(text)
    text = drop_tags(text)
    text = drop_code(text)
    text = drop_emphasis(text)
    text = _ESCAPED_PUNCTUATION.sub(r"\1", text)
    return html.unescape(text).strip()


def drop_comments(text: str, *, across_lines: bool = False) -> str:
    """`re.sub(r"<!--.*?-->", "", text)` (with `flags=re.S` when `across_lines`): HTML
    comments removed."""
    if across_lines:
        return without_comments(text)
    out: list[str] = []
    pos = 0
    end = -1  # the first "-->" at or after the latest comment opener
    while (start := text.find("<!--", pos)) >= 0:
        if end < start + 4:
            end = text.find("-->", start + 4)
        if end < 0:
            break  # no comment can close any more
        newline = -1 if across_lines else text.find("\n", start + 4, end)
        if newline >= 0:  # `.` stops at a line end: no opener before it can close
            out.append(text[pos:newline + 1])
            pos = newline + 1
            continue
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def drop_links(text: str) -> str:
    r"""`re.sub(r"(?<!\\)!?\[((?:\\.|[^\]\\])*)\]\([^)]*\)", r"\1", text)`: links and
    images replaced by their label."""
    if "[" not in text:
        return text
    closes = _LabelEnds(text)
    out: list[str] = []
    pos = i = 0
    n = len(text)
    paren_from, paren = n + 1, -1  # paren: the first ")" at or after paren_from
    while (i := text.find("[", i)) >= 0:
        start = i - 1 if i and text[i - 1] == "!" else i
        if start and text[start - 1] == "\\":
            if start == i:
                i += 1
                continue
            start = i  # `\![x](y)`: the `!` is escaped, the `[` still opens a link
        close = closes.end(i + 1)
        if close < 0 or close + 1 >= n or text[close + 1] != "(":
            i += 1
            continue
        if paren_from > close + 2 or 0 <= paren < close + 2:
            paren_from, paren = close + 2, text.find(")", close + 2)
        if paren < 0:
            i += 1
            continue
        out.append(text[pos:start])
        out.append(text[i + 1:close])
        pos = i = paren + 1
    out.append(text[pos:])
    return "".join(out)


class _LabelEnds:
    """Where a link label that starts at a position ends: the first `]` not taken by a
    backslash escape (an escape cannot take a line end). Remembered for every position
    a scan passes, so no stretch of text is scanned twice."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.known: dict[int, int] = {}

    def end(self, start: int) -> int:
        text, known = self.text, self.known
        seen: list[int] = []
        pos = start
        result = -1
        while pos < len(text):
            if pos in known:
                result = known[pos]
                break
            seen.append(pos)
            char = text[pos]
            if char == "]":
                result = pos
                break
            if char == "\\":
                if pos + 1 >= len(text) or text[pos + 1] == "\n":
                    break
                pos += 2
            else:
                pos += 1
        for position in seen:
            known[position] = result
        return result


def drop_tags(text: str) -> str:
    r"""`re.sub(r"(?<!\\)<[^>]+>", "", text)`: anything between `<` and `>` removed."""
    out: list[str] = []
    pos = i = 0
    closer = -1  # the first ">" after the latest candidate
    while (i := text.find("<", i)) >= 0:
        if i and text[i - 1] == "\\":
            i += 1
            continue
        if closer <= i:
            closer = text.find(">", i + 1)
            if closer < 0:
                break
        if closer == i + 1:  # `<>`: no tag
            i += 1
            continue
        out.append(text[pos:i])
        pos = i = closer + 1
    out.append(text[pos:])
    return "".join(out)


def drop_code(text: str) -> str:
    r"""`re.sub(r"(?<!\\)(`+)(.+?)\1", r"\2", text)`: code spans replaced by their code.

    At an opening run the regular expression tries the longest delimiter first, and for
    each length the nearest closing run of at least that length on the same line (or the
    opening run's own tail); both are found from precomputed backtick runs."""
    if "`" not in text:
        return text
    runs = [(m.start(), m.end()) for m in re.finditer("`+", text)]
    line = [text.count("\n", 0, s) for s, _ in runs[:1]]
    for (_, prev_end), (start, _) in pairwise(runs):
        line.append(line[-1] + text.count("\n", prev_end, start))
    later = [0] * len(runs)  # the longest later run on the same line
    for k in range(len(runs) - 2, -1, -1):
        if line[k + 1] == line[k]:
            later[k] = max(runs[k + 1][1] - runs[k + 1][0], later[k + 1])
    out: list[str] = []
    pos = 0
    k = 0
    i = runs[0][0]
    while k < len(runs):
        start, end = runs[k]
        i = max(i, start)
        if i >= end:
            k += 1
            continue
        if i and text[i - 1] == "\\":
            i += 1
            continue
        length = end - i
        own = (length - 1) // 2  # a delimiter the run's own tail can close
        other = min(length, later[k])
        size = max(own, other)
        if size < 1:
            i += 1
            continue
        if own >= other:
            closing = i + size + 1
            after = k
        else:
            after = next(j for j in range(k + 1, len(runs))
                         if runs[j][1] - runs[j][0] >= size)
            closing = runs[after][0]
        out.append(text[pos:i])
        out.append(text[i + size:closing])
        pos = i = closing + size
        k = after
    out.append(text[pos:])
    return "".join(out)


def drop_emphasis(text: str) -> str:
    r"""`re.sub(r"(?<!\\)(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1", r"\2", text)`: emphasis
    replaced by its text; the closing delimiters are looked up, not searched."""
    if "*" not in text and "_" not in text:
        return text
    closers = {(char, size): _closers(text, char * size) for char in "*_" for size in (1, 2, 3)}
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: list[str] = []
    pos = 0
    n = len(text)
    found_at = _DELIMITER.search(text)
    while found_at is not None:
        i = found_at.start()
        char = text[i]
        if i and text[i - 1] == "\\":
            found_at = _DELIMITER.search(text, i + 1)
            continue
        run = 1
        while run < 3 and i + run < n and text[i + run] == char:
            run += 1
        found = None
        for size in range(run, 0, -1):
            content = i + size
            if content >= n or text[content].isspace():
                continue
            at = _first_at_least(closers[char, size], content + 1)
            line_end = _first_at_least(newlines, content)
            if at is not None and (line_end is None or at <= line_end):
                found = (size, at)
                break
        if found is None:
            found_at = _DELIMITER.search(text, i + 1)
            continue
        size, at = found
        out.append(text[pos:i])
        out.append(text[i + size:at])
        pos = at + size
        found_at = _DELIMITER.search(text, pos)
    out.append(text[pos:])
    return "".join(out)


def _closers(text: str, delimiter: str) -> list[int]:
    """Positions where `delimiter` starts right after a character that is not a space."""
    found = []
    at = text.find(delimiter, 1)
    while at >= 0:
        if not text[at - 1].isspace():
            found.append(at)
        at = text.find(delimiter, at + 1)
    return found


def _first_at_least(positions: list[int], value: int) -> int | None:
    index = bisect_left(positions, value)
    return positions[index] if index < len(positions) else None
