"""The block structure of user markdown (a note, INTRO.md), as cmark-gfm reads it.

One pass over the lines after CommonMark's own algorithm (the spec's appendix "A parsing
strategy", as commonmark.js implements it): each line first continues the open
containers (block quotes, list items), then may open new blocks, then joins a leaf
(paragraph, GFM table, heading, fenced or indented code, HTML block). surveybib needs the
result to place a note inside the README without breaking it: where the headings are,
which lines hold inline text (links to rewrite) or raw HTML, and what is still open at
the end of the note.

Linear in the input: a line is matched against at most MAX_DEPTH open containers, and
no regular expression here can backtrack more than a bounded amount.

About 700 lines, on purpose: one state machine (CommonMark's block algorithm) whose
container, leaf and table steps all read and change the same open-block state; split
into modules, each part would need all of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

# Containers nested deeper than this are read as text (cmark-gfm would nest them; no
# real note does, and the bound keeps a hostile note linear).
MAX_DEPTH = 32

_ATX = re.compile(r"#{1,6}(?=[ \t]|$)")
_ATX_CLOSING = re.compile(r"(?:^|(?<![ \t])[ \t]+)#+[ \t]*$")
_FENCE_OPEN = re.compile(r"`{3,}(?=[^`]*$)|~{3,}")
_FENCE_CLOSE = re.compile(r"(`{3,}|~{3,})[ \t]*$")
_SETEXT = re.compile(r"(?:=+|-+)[ \t]*$")
_BREAK = re.compile(r"(?:(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|(?:-[ \t]*){3,})$")
_BULLET = re.compile(r"[*+-](?=[ \t]|$)")
_ORDERED = re.compile(r"(\d{1,9})[.)](?=[ \t]|$)")
_DELIMITER_CELL = re.compile(r"[ \t]*:?-+:?[ \t]*")
_DEFINITION = re.compile(r" {0,3}\[((?:\\.|[^\\\[\]]){1,999})\]:[ \t]*\n?[ \t]*")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_MAX_PARENS = 32  # cmark's limit on nested parentheses in a link destination

_BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|"
    "details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|"
    "h1|h2|h3|h4|h5|h6|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|"
    "noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|"
    "thead|title|tr|track|ul")
_ATTRIBUTE = (r"(?:[ \t]+[A-Za-z_:][A-Za-z0-9_.:-]*"
              r"(?:[ \t]*=[ \t]*(?:[^ \t\"'=<>`]+|'[^'\n]*'|\"[^\"\n]*\"))?)")
# CommonMark's seven kinds of HTML block: how each starts, and (1-5) how it ends.
_HTML_START = (
    re.compile(r"<(script|pre|textarea|style)(?=[ \t>]|$)", re.I),
    re.compile(r"<!--"),
    re.compile(r"<\?"),
    re.compile(r"<![A-Za-z]"),
    re.compile(r"<!\[CDATA\["),
    re.compile(rf"</?(?:{_BLOCK_TAGS})(?=[ \t>]|/>|$)", re.I),
    re.compile(rf"(?:<[A-Za-z][A-Za-z0-9-]*{_ATTRIBUTE}*[ \t]*/?>|</[A-Za-z][A-Za-z0-9-]*[ \t]*>)"
               r"[ \t]*$"),
)
_HTML_END = (
    re.compile(r"</(?:script|pre|textarea|style)>", re.I),
    re.compile(r"-->"),
    re.compile(r"\?>"),
    re.compile(r">"),
    re.compile(r"\]\]>"),
)
# What closes an HTML block of kinds 1-5 that a note leaves open (kind 1: its own tag).
_HTML_CLOSER = {2: "-->", 3: "?>", 4: ">", 5: "]]>"}
_HTML_OPENER = {2: "<!--", 3: "<?", 5: "<![CDATA["}


@dataclass(slots=True)
class _Block:
    """One open block while the lines are read."""

    kind: str  # quote item para table fence icode html
    width: int = 0  # item: the columns its content is indented by
    has_child: bool = False  # item: holds something (an empty item ends at a blank line)
    fence: str = ""  # fence: the opening run (its character and length)
    fence_offset: int = 0
    html: int = 0  # html: its kind, 1-7
    tag: str = ""  # html kind 1: the tag that ends it; kinds 3-5: how it opens
    lines: list[tuple[int, int]] = field(default_factory=list)  # (line, content offset)


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf block that holds text: inline text (paragraph, table, heading) or raw HTML.

    `lines` are (line index, offset where the block's content starts on that line).
    A heading has its `level`; an ATX heading its `marks` (offset of the `#` run); a
    setext heading's last line is its underline.
    """

    kind: str  # para text (a paragraph without definitions) table atx setext html
    lines: tuple[tuple[int, int], ...]
    level: int = 0
    marks: int = -1


@dataclass(frozen=True, slots=True)
class Structure:
    """What the scan found, and what the markdown leaves open at its end."""

    leaves: tuple[Leaf, ...]
    containers: tuple[_Block, ...]  # still open at the end, outermost first
    fence: str = ""  # an open fenced code block's opening run
    html: int = 0  # an open HTML block's kind
    tag: str = ""  # the tag of an open HTML block of kind 1 (kind 4: `<!WORD`)
    code: bool = False  # ends in an indented code block

    @property
    def prefix(self) -> str:
        """What a line needs in front to stay inside the open containers."""
        return "".join("> " if b.kind == "quote" else " " * b.width for b in self.containers)


class _Scanner:
    """commonmark.js's block parser, reduced to the structure (no inline parsing)."""

    def __init__(self) -> None:
        self.open: list[_Block] = []
        self.leaves: list[Leaf] = []
        self.text = ""
        self.number = 0
        self.offset = self.column = 0
        self.partial = False
        self.next_nonspace = self.next_column = self.indent = 0
        self.blank = self.indented = False
        self.all_closed = True
        self.matched = 0
        self.lines: list[str] = []
        self._space_from = self._space_end = self._space_column = 0

    # ------------------------------------------------------------ the line cursor

    def _find_next_nonspace(self) -> None:
        if not self._space_from <= self.offset <= self._space_end:
            # the run of spaces is measured once per line, however many containers ask
            text, i, cols = self.text, self.offset, self.column
            while i < len(text) and text[i] in " \t":
                cols += 1 if text[i] == " " else 4 - cols % 4
                i += 1
            self._space_from, self._space_end, self._space_column = self.offset, i, cols
        self.next_nonspace, self.next_column = self._space_end, self._space_column
        self.indent = self.next_column - self.column
        self.indented = self.indent >= 4
        self.blank = self.next_nonspace >= len(self.text)

    def _advance(self, count: int, columns: bool = False) -> None:
        text = self.text
        while count > 0 and self.offset < len(text):
            if text[self.offset] == "\t":
                to_tab = 4 - self.column % 4
                if columns:
                    self.partial = to_tab > count
                    used = min(count, to_tab)
                    self.column += used
                    self.offset += 0 if self.partial else 1
                    count -= used
                else:
                    self.partial = False
                    self.column += to_tab
                    self.offset += 1
                    count -= 1
            else:
                self.partial = False
                self.offset += 1
                self.column += 1
                count -= 1

    def _advance_next_nonspace(self) -> None:
        self.offset, self.column, self.partial = self.next_nonspace, self.next_column, False

    def _peek(self, offset: int) -> str:
        return self.text[offset] if offset < len(self.text) else ""

    # ------------------------------------------------------------ one line

    def line(self, number: int, text: str) -> None:
        self.text, self.number = text, number
        self.offset = self.column = 0
        self.partial = False
        self._space_from, self._space_end = 1, 0
        if not text.strip(" \t"):
            self._blank_line()
            return
        matched = 0
        for block in self.open:
            outcome = self._continues(block)
            if outcome == 2:
                return  # a closing fence: the line is used up
            if outcome == 1:
                break
            matched += 1
        self.all_closed = matched == len(self.open)
        self.matched = matched
        container = self.open[matched - 1] if matched else None
        leaf_open = container is not None and container.kind in ("fence", "icode", "html")
        while not leaf_open:
            started = self._start(container)
            if started is None:
                self._find_next_nonspace()
                self._advance_next_nonspace()
                break
            container = started
            leaf_open = started.kind in ("fence", "icode", "html", "done")
        self._add_line(container)

    def _blank_line(self) -> None:
        """A blank line: the blocks it continues keep it, the others end (the fast path of
        `line`, as a hostile note may hold many blank lines inside deep lists)."""
        matched = 0
        for block in self.open:
            if (block.kind == "item" and block.has_child) or block.kind in ("fence", "icode") or \
                    (block.kind == "html" and block.html <= 5):
                matched += 1
                continue
            break
        self.matched, self.all_closed = matched, False
        self._close_unmatched()
        if self.open and self.open[-1].kind in ("fence", "icode", "html"):
            self.open[-1].lines.append((self.number, len(self.text)))

    def _continues(self, block: _Block) -> int:
        """0: the line continues the block; 1: it does not; 2: it closed a fence."""
        self._find_next_nonspace()
        kind = block.kind
        if kind == "quote":
            if self.indented or self._peek(self.next_nonspace) != ">":
                return 1
            self._advance_next_nonspace()
            self._advance(1)
            if self._peek(self.offset) in (" ", "\t"):
                self._advance(1, columns=True)
            return 0
        if kind == "item":
            if self.blank:
                if not block.has_child:
                    return 1
                self._advance_next_nonspace()
                return 0
            if self.indent >= block.width:
                self._advance(block.width, columns=True)
                return 0
            return 1
        if kind == "fence":
            return self._continues_fence(block)
        if kind == "icode":
            if self.indent >= 4:
                self._advance(4, columns=True)
                return 0
            if self.blank:
                self._advance_next_nonspace()
                return 0
            return 1
        if kind == "html":
            return 1 if self.blank and block.html >= 6 else 0
        if kind == "table" and not self.blank:  # a row needs a cell (a lone `|` has none)
            return 0 if _cells(self.text[self.next_nonspace:]) else 1
        return 1 if self.blank else 0  # para, table

    def _continues_fence(self, block: _Block) -> int:
        if self.indent <= 3 and self._peek(self.next_nonspace) == block.fence[0]:
            close = _FENCE_CLOSE.match(self.text, self.next_nonspace)
            if close and close.group(1)[0] == block.fence[0] and \
                    len(close.group(1)) >= len(block.fence):
                self.open.pop()
                return 2
        skip = block.fence_offset
        while skip > 0 and self._peek(self.offset) in (" ", "\t"):
            self._advance(1, columns=True)
            skip -= 1
        return 0

    # ------------------------------------------------------------ block starts

    def _start(self, container: _Block | None) -> _Block | None:
        """Open the block this line starts, if any; a finished leaf comes back as 'done'."""
        self._find_next_nonspace()
        char = self._peek(self.next_nonspace)
        if self.indented:
            return self._start_indented_code()
        if not char or char not in "#`~*+_=<>-0123456789|:":
            return None
        rest = self.text[self.next_nonspace:]
        for start in (self._start_quote, self._start_atx, self._start_fence, self._start_html,
                      self._start_setext, self._start_break, self._start_item,
                      self._start_table):
            block = start(container, rest)
            if block is not None:
                return block
        return None

    def _start_quote(self, container: _Block | None, rest: str) -> _Block | None:
        if rest[0] != ">" or len(self.open) >= MAX_DEPTH:
            return None
        self._advance_next_nonspace()
        self._advance(1)
        if self._peek(self.offset) in (" ", "\t"):
            self._advance(1, columns=True)
        return self._open(_Block("quote"))

    def _start_atx(self, container: _Block | None, rest: str) -> _Block | None:
        marks = _ATX.match(rest)
        if marks is None:
            return None
        self._close_unmatched()
        self._close_leaf_tip()
        self._record(Leaf("atx", ((self.number, self.next_nonspace),), len(marks.group(0)),
                          self.next_nonspace))
        self._advance(len(self.text) - self.offset)
        return _Block("done")

    def _start_fence(self, container: _Block | None, rest: str) -> _Block | None:
        fence = _FENCE_OPEN.match(rest)
        if fence is None:
            return None
        self._close_unmatched()
        block = _Block("fence", fence=fence.group(0), fence_offset=self.indent)
        return self._open(block)

    def _start_html(self, container: _Block | None, rest: str) -> _Block | None:
        if rest[0] != "<":
            return None
        for kind, pattern in enumerate(_HTML_START, 1):
            found = pattern.match(rest)
            if found is None:
                continue
            if kind == 7 and self._kind(container) == "para":
                return None  # cmark-gfm asks the last matched container, not a lazy tip
            self._close_unmatched()
            tag = found.group(1).lower() if kind == 1 else ""
            if kind == 4:  # `<!DOCTYPE`: the word, for the message
                tag = rest[:2] + re.match(r"[A-Za-z]*", rest[2:42]).group(0)  # type: ignore[union-attr]
            return self._open(_Block("html", html=kind, tag=tag))
        return None

    def _start_setext(self, container: _Block | None, rest: str) -> _Block | None:
        if container is None or container.kind != "para" or rest[0] not in "=-":
            return None
        if not _SETEXT.match(rest):
            return None
        self._close_unmatched()
        kept = _definition_lines("\n".join(self._line_text(at) for at in container.lines))
        if kept == len(container.lines):  # only link definitions: the underline is text
            container.lines.append((self.number, self.next_nonspace))
            return _Block("done")
        paragraph = self.open.pop()
        if kept:
            self._record(Leaf("para", tuple(paragraph.lines[:kept])))
        lines = (*paragraph.lines[kept:], (self.number, self.next_nonspace))
        self._record(Leaf("setext", lines, 1 if rest[0] == "=" else 2))
        self._advance(len(self.text) - self.offset)
        return _Block("done")

    def _start_break(self, container: _Block | None, rest: str) -> _Block | None:
        if rest[0] not in "*_-" or not _BREAK.match(rest):
            return None
        self._close_unmatched()
        self._close_leaf_tip()
        self._advance(len(self.text) - self.offset)
        return _Block("done")

    def _start_item(self, container: _Block | None, rest: str) -> _Block | None:
        marker = _BULLET.match(rest) or _ORDERED.match(rest)
        if marker is None or len(self.open) >= MAX_DEPTH:
            return None
        in_paragraph = self._kind(container) == "para"
        if in_paragraph and (not rest[marker.end():].strip(" \t") or
                             (marker.re is _ORDERED and int(marker.group(1)) != 1)):
            return None  # an empty item, or one not numbered 1, cannot interrupt a paragraph
        self._close_unmatched()
        width = self.indent + self._item_padding(len(marker.group(0)))
        return self._open(_Block("item", width=width))

    def _item_padding(self, marker: int) -> int:
        self._advance_next_nonspace()
        self._advance(marker, columns=True)
        start_column, start_offset = self.column, self.offset
        while True:
            self._advance(1, columns=True)
            if self.column - start_column >= 5 or self._peek(self.offset) not in (" ", "\t"):
                break
        blank = self.offset >= len(self.text)
        spaces = self.column - start_column
        if spaces >= 5 or spaces < 1 or blank:
            self.column, self.offset, self.partial = start_column, start_offset, False
            if self._peek(self.offset) in (" ", "\t"):
                self._advance(1, columns=True)
            return marker + 1
        return marker + spaces

    def _start_table(self, container: _Block | None, rest: str) -> _Block | None:
        """GFM: a delimiter row under a one-line paragraph with as many cells."""
        if container is None or container.kind != "para" or "|" not in rest:
            return None
        header = container.lines[-1]
        if not _is_delimiter_row(rest) or \
                _cells(self._line_text(header)) != _cells(rest):
            return None
        if len(container.lines) > 1 and _is_delimiter_row(self._line_text(header)):
            return None  # what cmark-gfm does with `text`, `|--|`, `|--|`
        self._close_unmatched()
        paragraph = self.open.pop()
        if len(paragraph.lines) > 1:  # the lines above the header stay a paragraph, in
            # which cmark-gfm no longer reads link reference definitions
            self._record(Leaf("text", tuple(paragraph.lines[:-1])))
        table = self._open(_Block("table", lines=[header]))
        self._advance(len(self.text) - self.offset)
        return table

    def _start_indented_code(self) -> _Block | None:
        if self._tip() == "para" or self.blank:
            return None
        self._advance(4, columns=True)
        self._close_unmatched()
        return self._open(_Block("icode"))

    # ------------------------------------------------------------ adding the line

    def _add_line(self, container: _Block | None) -> None:
        if not self.all_closed and not self.blank and self._tip() == "para":
            self._find_next_nonspace()
            self.open[-1].lines.append((self.number, self.next_nonspace))  # a lazy line
            return
        self._close_unmatched()
        kind = self._kind(container)
        if container is not None and kind in ("para", "table", "fence", "icode", "html"):
            if kind == "para":
                self._find_next_nonspace()
            container.lines.append((self.number, self.next_nonspace if kind == "para"
                                    else self.offset))
            if kind == "html" and container.html <= 5 and \
                    _HTML_END[container.html - 1].search(self.text, self.offset):
                self._close_last()
            return
        self._find_next_nonspace()
        if kind != "done" and not self.blank:
            self._open(_Block("para", lines=[(self.number, self.next_nonspace)]))

    def _open(self, block: _Block) -> _Block:
        """Add a block under the innermost matched container (a paragraph there ends)."""
        self._close_unmatched()
        self._close_leaf_tip()
        if self.open and self.open[-1].kind == "item":
            self.open[-1].has_child = True
        self.open.append(block)
        return block

    def _close_leaf_tip(self) -> None:
        while self.open and self.open[-1].kind not in ("quote", "item"):
            self._close_last()

    def _close_unmatched(self) -> None:
        if not self.all_closed:
            while len(self.open) > self.matched:
                self._close_last()
            self.all_closed = True

    def _close_last(self) -> None:
        block = self.open.pop()
        if block.kind in ("para", "table", "html"):
            self._record(Leaf(block.kind, tuple(block.lines)))

    def _record(self, leaf: Leaf) -> None:
        self.leaves.append(leaf)
        if self.open and self.open[-1].kind == "item":
            self.open[-1].has_child = True

    def _tip(self) -> str:
        return self.open[-1].kind if self.open else ""

    @staticmethod
    def _kind(block: _Block | None) -> str:
        return block.kind if block is not None else ""

    def _line_text(self, at: tuple[int, int]) -> str:
        return self.lines[at[0]][at[1]:]

    def finish(self) -> Structure:
        containers = tuple(b for b in self.open if b.kind in ("quote", "item"))
        tip = self.open[-1] if self.open else None
        fence = tip.fence if tip is not None and tip.kind == "fence" else ""
        html = tip.html if tip is not None and tip.kind == "html" and tip.html <= 5 else 0
        tag = tip.tag if html in (1, 4) and tip is not None else ""
        code = tip is not None and tip.kind == "icode"
        self.matched, self.all_closed = 0, False
        self._close_unmatched()
        return Structure(tuple(self.leaves), containers, fence, html, tag, code)


def _is_delimiter_row(text: str) -> bool:
    row = text.strip(" \t")
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return all(_DELIMITER_CELL.fullmatch(cell) for cell in row.split("|"))


def _cells(text: str) -> int:
    """The number of cells in a table row (unescaped `|` separate them)."""
    row = text.strip(" \t")
    bars = [i for i, c in enumerate(row) if c == "|" and (i == 0 or row[i - 1] != "\\")]
    count = len(bars) + 1
    if bars and bars[0] == 0:
        count -= 1
    if bars and bars[-1] == len(row) - 1:
        count -= 1
    return count


def destination_end(text: str, i: int) -> int | None:
    """The end of a link destination starting at i: `<...>`, or a run up to a space or
    control character or an unmatched `)`, as cmark-gfm reads it; None when none."""
    n = len(text)
    if i < n and text[i] == "<":
        j = i + 1
        while j < n:
            char = text[j]
            if char == "\\" and j + 1 < n and text[j + 1] in _PUNCTUATION:
                j += 2
                continue
            if char in "\n<":
                return None
            if char == ">":
                return j + 1
            j += 1
        return None
    depth, j = 0, i
    while j < n:
        char = text[j]
        if char == "\\" and j + 1 < n and text[j + 1] in _PUNCTUATION:
            j += 2
            continue
        if char <= " ":
            break
        if char == "(":
            depth += 1
            if depth > _MAX_PARENS:
                return None
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        j += 1
    return j


def definitions(text: str) -> list[tuple[int, int, int]]:
    """The link reference definitions a paragraph's text starts with, `[label]: target
    "title"`: (target start, target end, end of the definition's line + 1) each."""
    found = []
    at = 0
    while (label := _DEFINITION.match(text, at)) is not None and label.group(1).strip():
        start = label.end()
        end = destination_end(text, start)
        if end is None or end == start:
            break
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        rest = text[end:line_end].strip(" \t")
        if rest and not (text[end] in " \t" and _is_title(rest)):
            break
        found.append((start, end, line_end + 1))
        at = line_end + 1
    return found


def _is_title(text: str) -> bool:
    """`"title"`, `'title'` or `(title)`, with no unescaped closer (or '(') inside."""
    closer = {"(": ")"}.get(text[0], text[0])
    if len(text) < 2 or text[0] not in "\"'(" or text[-1] != closer:
        return False
    i = 1
    while i < len(text) - 1:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == closer or (closer == ")" and text[i] == "("):
            return False
        i += 1
    return i == len(text) - 1


def _definition_lines(text: str) -> int:
    """How many of the paragraph's lines are link reference definitions."""
    found = definitions(text)
    return text.count("\n", 0, found[-1][2]) + (found[-1][2] > len(text)) if found else 0


@lru_cache(maxsize=256)
def scan(markdown: str) -> Structure:
    """The block structure of `markdown` (LF line ends)."""
    scanner = _Scanner()
    lines = markdown.split("\n")
    scanner.lines = lines
    for number, text in enumerate(lines):
        scanner.line(number, text)
    return scanner.finish()


def headings_of(markdown: str) -> list[tuple[int, str]]:
    """(level, inline markdown) of every heading, in order (setext lines joined by LF)."""
    lines = markdown.split("\n")
    out = []
    for leaf in scan(markdown).leaves:
        if leaf.kind == "atx":
            out.append((leaf.level, atx_text(lines[leaf.lines[0][0]], leaf)))
        elif leaf.kind == "setext":
            out.append((leaf.level, setext_text(lines, leaf)))
    return out


def atx_text(line: str, leaf: Leaf) -> str:
    """The inline markdown of an ATX heading line (closing `#`s dropped)."""
    text = line[leaf.marks + leaf.level:].strip(" \t")
    if text.endswith("#"):
        text = _ATX_CLOSING.sub("", text)
    return text


def setext_text(lines: list[str], leaf: Leaf) -> str:
    """The inline markdown of a setext heading (its lines above the underline)."""
    return "\n".join(lines[n][at:].strip(" \t") for n, at in leaf.lines[:-1])


# ---------------------------------------------------------------- what a note leaves open


def close_open_blocks(markdown: str) -> tuple[str, str | None]:
    """A note or intro that leaves a fenced code block, an HTML comment or an HTML block
    of kinds 1-5 (`<pre>`, `<script>`, `<style>`, `<textarea>`, `<?`, `<!DOCTYPE`,
    `<![CDATA[`) open would swallow the rest of the README on GitHub: close it at the end,
    inside the containers it sits in, and say what was closed."""
    found = scan(markdown)
    if found.fence:
        closed = f"{markdown.rstrip()}\n{found.prefix}{found.fence}"
        return closed, f"code fence {found.fence} is never closed"
    if found.html == 2:
        return f"{markdown.rstrip()} -->", "HTML comment <!-- is never closed"
    if found.html:
        closer = f"</{found.tag}>" if found.html == 1 else _HTML_CLOSER[found.html]
        opener = f"<{found.tag}>" if found.html == 1 else \
            found.tag if found.html == 4 else _HTML_OPENER[found.html]
        return f"{markdown.rstrip()}{closer}", f"HTML block {opener} is never closed"
    return markdown, None


def leaves_containers_open(markdown: str) -> bool:
    """True when the markdown ends inside a list or a block quote, which a following
    line of the same kind (a `- ` item, a `>` line) would continue even after a blank
    line, or in an indented code block, which an indented line would continue."""
    found = scan(markdown)
    return bool(found.containers) or found.code


# ---------------------------------------------------------------- headings of a note


def shift_headings(markdown: str, top: int) -> str:
    """`markdown` with every heading moved by the same number of levels, so the highest
    sits at level `top` (relative depth kept; capped at 6). Setext headings that move
    become ATX headings (`Title` over `===` -> `#### Title`)."""
    found = [leaf for leaf in scan(markdown).leaves if leaf.kind in ("atx", "setext")]
    if not found:
        return markdown
    shift = min(top, 6) - min(leaf.level for leaf in found)
    if shift == 0:
        return markdown
    lines = markdown.split("\n")
    dropped: set[int] = set()
    for leaf in found:
        level = max(1, min(6, leaf.level + shift))
        number, at = leaf.lines[0]
        if leaf.kind == "atx":
            lines[number] = lines[number][:at] + "#" * level + lines[number][at + leaf.level:]
            continue
        text = " ".join(_without_hard_break(lines[n][start:]) for n, start in leaf.lines[:-1])
        if text.endswith("#"):
            text += " #"  # an ATX heading would read a final `#` as its closing sequence
        lines[number] = f"{lines[number][:at]}{'#' * level} {text}"
        dropped.update(n for n, _ in leaf.lines[1:])
    return "\n".join(line for n, line in enumerate(lines) if n not in dropped)


def _without_hard_break(line: str) -> str:
    text = line.strip(" \t")
    if text.endswith("\\") and (len(text) - len(text.rstrip("\\"))) % 2:
        text = text[:-1].rstrip(" \t")
    return text
