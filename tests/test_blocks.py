"""readme/blocks.py and readme/links.py against cmark-gfm itself: generated markdown from
the constructs notes are made of, compared with the HTML GitHub's renderer makes; and the
work both do on hostile input, counted, grows linearly with its size."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest
from gfm import page, to_html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveybib.bibtex.parse import parse_bib
from surveybib.notes import attach_notes
from surveybib.readme import blocks, links, rawhtml
from surveybib.readme.render import make_environment, render_readme

P = pytest.param
# Lines of the kinds a note is made of, and the ones that trip block parsers up.
LINES = [
    "# H1", "## H2", "### H3", "#### H4", "# x #", "##", "Para text", "more text", "",
    "- item", "* star", "+ plus", "1. one", "2) two", "10. ten", "-", "  - nested",
    "   - deeper", "     z", "1.  - x", "-   # deep", "- # lh", "> quote", ">", "> # qh",
    "> - qi", "  > nested q", ">\t# q", "  indented", "    code", "\t\tcode", "```", "~~~",
    "```py", "   ~~~~", "- ```", "  ```", "> ```", "<pre>", "<pre class=x>", "</pre>", "<div>",
    "</div>", "<details>", "<!--", "  <!-- c", "-->", "<?php", "?>", "<!DOCTYPE html>",
    "<![CDATA[", "]]>", "<script>", "</script>", "<textarea>", "</textarea>", "<span>",
    "<a href='x'>", "===", "---", "  ---", "***", "- - -", "=", "--", "| a | b |",
    "|---|---|", "| c | d |", "a | b", "- | x |", "Setext", "\t# tab", "\t- tabbed",
    " \t- x", "-\tfoo", "1.\tbar", "[r]: /url", "[r]",
]
markdown = st.lists(st.sampled_from(LINES), min_size=1, max_size=14).map("\n".join)
DIFFERENTIAL = settings(max_examples=400, derandomize=True, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])


@DIFFERENTIAL
@given(markdown)
def test_headings_are_the_ones_cmark_gfm_makes(text: str) -> None:
    html = to_html(text)
    assert [level for level, _ in blocks.headings_of(text)] == [
        int(n) for n in re.findall(r"<h([1-6])>", html)], html


def _render(note: str) -> str:
    bib = ("@misc{a, title = {Alpha}, taxonomy = {X; Y}}\n"
           "@misc{b, title = {Beta}, taxonomy = {Y; X}}\n")
    entries = parse_bib(bib).entries
    notes, _ = attach_notes(entries, [("a.md", note)], "notes")  # closes what it leaves open
    text, _ = render_readme(make_environment(None), entries=entries, notes=notes,
                            taxonomy=("X", "Y"), group_by="taxonomy", intro="", title="T",
                            source="survey.bib")
    return text


@DIFFERENTIAL
@given(markdown)
def test_whatever_a_note_holds_the_readme_after_it_is_intact(note: str) -> None:
    """Issue 11.2 and 15.14 over generated notes: after the note, every generated heading
    is a heading, the "notes under" line is a list of its own, every link resolves."""
    shown = page(_render(note))
    outline = shown.outline()
    generated = outline[outline.index((1, "3. All Paper Reading Notes")):]
    assert [h for h in generated if h[0] <= 3] == [
        (1, "3. All Paper Reading Notes"), (2, "3.1 X"), (3, "Alpha"), (2, "3.2 Y"),
        (3, "Beta")], (note, outline)
    line = [e for e in shown.root.walk() if e.tag == "li" and "notes under" in e.text
            and e.text.startswith("Beta")]
    assert len(line) == 1 and line[0].parent is not None
    assert len(line[0].parent.elements()) == 1
    ancestor = line[0].parent.parent  # raw HTML a note leaves open may wrap it; a list not
    while ancestor is not None:
        assert ancestor.tag not in ("li", "ul", "ol", "blockquote", "pre"), (note, ancestor.tag)
        ancestor = ancestor.parent
    assert shown.broken_links() == []


INLINE = ["[", "]", "(", ")", "![", "a", " ", "\n", "`", "``", "\\", "<", ">", "x.png",
          "../y.md", "#f", "https://e.org/z", '"t"', "'t'", "(t)", '<img src="i.png">',
          "[r]: d.md", "[r]", "\n\n", "- ", "> ", "    ", "```\n", "*", "_",
          "<a href='h.md'>", "# ", "\n===\n", "&amp;", "<b.md>", "[l](", "](", "![i](",
          "c.md)", "www.e.org/w"]
inline = st.lists(st.sampled_from(INLINE), min_size=1, max_size=16).map("".join)


def _targets(markdown: str) -> list[str]:
    return [e.attrs[name] for e in page(markdown).root.walk() for name in ("href", "src")
            if name in e.attrs]


def _shape(markdown: str) -> list[Any]:
    """The rendered page without its targets: every element and all the text."""
    root = page(markdown).root
    return [root.text] + [(e.tag, sorted((k, v) for k, v in e.attrs.items()
                                         if k not in ("href", "src"))) for e in root.walk()]


@DIFFERENTIAL
@given(inline)
def test_relative_targets_move_as_cmark_gfm_reads_them(text: str) -> None:
    """Every link and image target cmark-gfm finds is rewritten if it is relative, and
    nothing else changes: the rewritten text renders the same apart from the targets."""
    before = _targets(text)
    rewritten = links.rebase_links(text, "notes")
    after = _targets(rewritten)
    assert len(after) == len(before), (text, rewritten)
    for old, new in zip(before, after, strict=True):
        expected = old if re.match(r"[a-z]+:|#|/|%5C", old, re.I) or not old else \
            links._normalised("notes/" + old)
        assert new == expected, (text, rewritten, before, after)
    assert _shape(rewritten) == _shape(text)


@pytest.mark.parametrize(("note", "shifted"), [
    P("# Results\n\n## 实验结果\n\ntext", "#### Results\n\n##### 实验结果\n\ntext", id="atx"),
    P("Title\n===\n\nSub\n---\n\n### x", "#### Title\n\n##### Sub\n\n###### x", id="setext"),
    P("> # q\n\n- ## l", "> #### q\n\n- ##### l", id="in-containers"),
    P("###### deep", "#### deep", id="moved-up"),
    P("a\nb\\\n===", "#### a b", id="multi-line-setext"),
    P("Pipe #\n===", "#### Pipe # #", id="setext-ending-in-hash"),
    P("# one\n\n```\n# not a heading\n```", "#### one\n\n```\n# not a heading\n```",
      id="code-untouched"),
    P("#### already", "#### already", id="nothing-to-do"),
])
def test_shift_headings(note: str, shifted: str) -> None:
    assert blocks.shift_headings(note, 4) == shifted


# ---------------------------------------------------------------- work grows linearly


@contextmanager
def counted() -> Iterator[list[int]]:
    """Counts the Python and C calls made inside the block (a measure of work that does
    not depend on the machine's speed)."""
    count = [0]

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(None)


HOSTILE: list[Any] = [
    P(lambda n: ">" * n, id="quotes"),
    P(lambda n: "- " * n, id="list-markers"),
    P(lambda n: "- " * 40 + "x\n" + "\n" * n, id="blank-lines-in-deep-lists"),
    P(lambda n: "\n".join("  " * (i % 50) + "- x" for i in range(n // 50)), id="staircase"),
    P(lambda n: "`" * n, id="backticks"),
    P(lambda n: "```\n" * (n // 4), id="fences"),
    P(lambda n: "<a " + "b " * (n // 2), id="open-tag"),
    P(lambda n: "[" * n, id="brackets"),
    P(lambda n: "![" * (n // 2), id="image-brackets"),
    P(lambda n: "[a](" * (n // 4), id="link-openings"),
    P(lambda n: "[a](x" + "](x" * (n // 3), id="destinations"),
    P(lambda n: '[a](b "' * (n // 7), id="titles"),
    P(lambda n: "".join("`" * k + "x" for k in range(1, int((2 * n) ** 0.5))), id="tick-runs"),
    P(lambda n: "[a]: b\n" * (n // 7) + "===", id="definitions"),
    P(lambda n: "a\n" * (n // 2) + "===", id="setext"),
    P(lambda n: "|a" * (n // 4) + "\n" + "|-" * (n // 4), id="table"),
    P(lambda n: "<pre>\n" + "x\n" * (n // 2), id="open-pre"),
    P(lambda n: "[a](figures/x.png) " * (n // 20), id="many-links"),
    P(lambda n: "\\" * n + "[a](b)", id="backslashes"),
    P(lambda n: "https://e.org/" + "[a](b)" * (n // 6), id="autolink"),
    P(lambda n: "<div>\n" + "<b><i>" * (n // 6), id="open-elements"),
    P(lambda n: "<div>\n" + "</b><i>" * (n // 7), id="stray-end-tags"),
    P(lambda n: "<div>\n" + "<!--" * (n // 4), id="comment-openings"),
]


def _work(make: Callable[[int], str], n: int) -> int:
    text = make(n)
    blocks.scan.cache_clear()
    with counted() as count:
        closed, _ = blocks.close_open_blocks(text)
        closed, _ = rawhtml.close_open_elements(closed)
        shifted = blocks.shift_headings(closed, 4)
        links.rebase_links(shifted, "notes")
        blocks.leaves_containers_open(shifted)
        blocks.headings_of(shifted)
    return count[0]


@pytest.mark.parametrize("make", HOSTILE)
def test_the_work_on_hostile_markdown_grows_linearly(make: Callable[[int], str]) -> None:
    """Issue 15's bound for the text surveybib reads: 4 times the input, at most about 4
    times the work (calls counted, no clock)."""
    small, large = _work(make, 5_000), _work(make, 20_000)
    assert large <= 4.6 * max(small, 50), (small, large)
