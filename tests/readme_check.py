"""Read a rendered README the way GitHub does, and prove its internal links work.

Independent of render.py's own anchor pass: headings are found with CommonMark's
rules (ATX headings, not inside fenced code or an HTML comment block), their
text is reduced to what GitHub shows, and the anchors come from a fresh Slugger
(itself pinned to GitHub by the 78 cases in test_render.py), in document order.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from surveybib.readme.anchors import Slugger

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINK = re.compile(r"(?<!\\)\]\(([^)\s]*(?:\([^)\s]*\)[^)\s]*)*)\)")
_ANY_LINK_TARGET = re.compile(r"(?<!\\)\]\(")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass
class Heading:
    level: int
    markdown: str
    text: str
    anchor: str
    line: int


@dataclass
class Readme:
    headings: list[Heading] = field(default_factory=list)
    links: list[tuple[int, str]] = field(default_factory=list)  # (line, target)
    table: list[list[str]] = field(default_factory=list)  # progress table rows, cells
    lines: list[str] = field(default_factory=list)

    @property
    def anchors(self) -> set[str]:
        return {h.anchor for h in self.headings}

    def heading(self, anchor: str) -> Heading:
        return next(h for h in self.headings if h.anchor == anchor)


def plain_text(markdown: str) -> str:
    """A heading's markdown -> the text GitHub renders (escapes, entities, inline markup)."""
    escaped: list[str] = []

    def _hold(match: re.Match[str]) -> str:
        escaped.append(match.group(1))
        return f"\x00{len(escaped) - 1}\x00"

    text = _ESCAPE.sub(_hold, markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"</?[A-Za-z][^>]*>", "", text)
    text = re.sub(r"(`+)(.+?)\1", r"\2", text)
    text = re.sub(r"(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub("\x00(\\d+)\x00", lambda m: escaped[int(m.group(1))], text)
    return html.unescape(text).strip()


def parse_readme(text: str) -> Readme:
    """Headings with their GitHub anchors, internal and external link targets, table rows."""
    readme = Readme(lines=text.split("\n"))
    slugger = Slugger()
    fence: str | None = None
    in_comment = False
    in_table = False
    for number, line in enumerate(readme.lines, 1):
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            continue
        if in_comment:
            in_comment = "-->" not in line
            continue
        if line.lstrip().startswith("<!--") and "-->" not in line:
            in_comment = True
            continue
        match = _ATX.match(line)
        if match:
            md = match.group(2) or ""
            plain = plain_text(md)
            readme.headings.append(
                Heading(len(match.group(1)), md, plain, slugger.slug(plain), number))
            in_table = False
            continue
        if line.startswith("| Paper Title |"):
            in_table = True
        if in_table and line.startswith("|"):
            cells = _CELL_SPLIT.split(line)
            readme.table.append([c.strip() for c in cells[1:-1]])
        elif in_table and line.strip():
            in_table = False
        for target in _link_targets(line):
            readme.links.append((number, target))
    return readme


def _link_targets(line: str) -> list[str]:
    """Every inline link target on the line; a target that does not parse is kept
    as '<unparsed>...' so the caller sees it."""
    targets = [m.group(1) for m in _LINK.finditer(line)]
    starts = len(_ANY_LINK_TARGET.findall(line))
    if starts != len(targets):
        targets.append(f"<unparsed>{line}")
    return targets


def check_readme(text: str, papers: int | None = None) -> Readme:
    """Assert what must hold for every README surveybib renders; return the parse."""
    assert text.endswith("\n") and not text.endswith("\n\n"), "one final newline"
    assert "\r" not in text, "LF line ends only"
    assert text.startswith("<!-- surveybib:generated"), "generated marker at the top"
    readme = parse_readme(text)
    anchors = [h.anchor for h in readme.headings]
    assert len(anchors) == len(set(anchors)), "the slugger made anchors unique"
    broken = [(n, t) for n, t in readme.links if t.startswith("#") and t[1:] not in readme.anchors]
    assert not broken, f"internal links with no heading: {broken[:5]}"
    for number, target in readme.links:
        assert not target.startswith("<unparsed>"), f"line {number}: a link that does not parse"
        # No spaces, and parentheses balanced, or GitHub ends the link early.
        assert not re.search(r"\s", target), f"line {number}: space in {target!r}"
        assert target.count("(") == target.count(")"), f"line {number}: parens in {target!r}"
    header, rule, *rows = readme.table
    assert header == ["Paper Title", "Taxonomy", "Reader", "Link"]
    assert all(re.fullmatch(r":?-+:?", cell) for cell in rule), rule
    assert all(len(row) == 4 for row in readme.table), [r for r in readme.table if len(r) != 4]
    for row in rows:
        notes_links = re.findall(r"\[notes\]\(#([^)]*)\)", row[3])
        assert len(notes_links) == 1, f"one notes link per row: {row}"
    if papers is not None:
        assert len(rows) == papers, f"{len(rows)} table rows for {papers} papers"
    return readme


def row_heading(readme: Readme, row: list[str]) -> Heading:
    """The heading a progress-table row's [notes] link points at."""
    anchor = re.findall(r"\[notes\]\(#([^)]*)\)", row[3])[0]
    return readme.heading(anchor)
