"""README rendering: GitHub's anchors, escaping, and links that resolve on GitHub."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest
from conftest import DATA, TESTS
from readme_check import check_readme, plain_text, row_heading

from surveybib.bibtex.parse import parse_bib
from surveybib.build import render_at
from surveybib.model import Note, Problem
from surveybib.readme.anchors import Slugger
from surveybib.readme.papers import display_title, paper_url
from surveybib.readme.render import make_environment, render_readme

P = pytest.param
REPO = TESTS.parent

# ---------------------------------------------------------------- GitHub's anchors


def _slug_cases() -> list[dict[str, str]]:
    path = DATA / "github-slug-cases.json"
    cases: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


SLUG_CASES = _slug_cases()
# tests/data/SOURCES.md: "Unassigned" lists code points unassigned when GitHub's output
# was captured (2022); newer Unicode tables (the `regex` package's) assign some of them.
UNICODE_VERSION = pytest.mark.xfail(
    strict=True,
    reason="code points unassigned in GitHub's 2022 Unicode tables are letters in the "
    "regex package's newer ones (tests/data/SOURCES.md)",
)


@cache
def _slugs_through_one_slugger() -> tuple[str, ...]:
    slugger = Slugger()
    return tuple(slugger.slug(case["input"]) for case in SLUG_CASES)


def test_all_78_slug_cases_are_here() -> None:
    assert len(SLUG_CASES) == 78


@pytest.mark.parametrize(
    "index",
    [P(i, id=f"{i:02d}-{c['name']}", marks=[UNICODE_VERSION] if c["name"] == "Unassigned" else [])
     for i, c in enumerate(SLUG_CASES)],
)
def test_github_slug_case(index: int) -> None:
    """Flet/github-slugger's fixtures, captured from GitHub, in order through ONE slugger
    (so `alpha`, `alpha` gives `alpha-1`, as on one page)."""
    assert _slugs_through_one_slugger()[index] == SLUG_CASES[index]["expected"]


def test_anchors_keep_the_characters_the_regex_package_keeps() -> None:
    """Beyond ASCII the slugger reads this Python's Unicode tables (no `regex` import for
    a build); for every character those tables know it keeps what the `regex` package's
    \\p{Alphabetic}\\p{Mark}\\p{Nd}\\p{Pc} keeps, and it asks `regex` for the others."""
    import unicodedata

    import regex

    known = "".join(chr(c) for c in range(0x80, 0x110000)
                    if unicodedata.category(chr(c)) not in ("Cn", "Cs"))
    dropped = regex.compile(r"[^\p{Alphabetic}\p{Mark}\p{Nd}\p{Pc}\- ]", regex.V1)
    assert Slugger().slug(known) == dropped.sub("", known.lower()).replace(" ", "-")
    unassigned = "\U000105c0x y"  # a Todhri letter (Unicode 16): newer than these tables
    assert Slugger().slug(unassigned) == dropped.sub("", unassigned).replace(" ", "-")


# ---------------------------------------------------------------- rendering a bib text

HEAD = "@misc{{{key},\n  title = {{{title}}},\n  taxonomy = {{{taxonomy}}},\n{extra}}}\n"


def bib(key: str, title: str, taxonomy: str = "A", **extra: str) -> str:
    fields = "".join(f"  {name} = {{{value}}},\n" for name, value in extra.items())
    return HEAD.format(key=key, title=title, taxonomy=taxonomy, extra=fields)


def render(text: str, taxonomy: Sequence[str] = ("A",), notes: dict[str, str] | None = None,
           intro: str = "") -> tuple[str, list[tuple[str, str]]]:
    parsed = parse_bib(text)
    assert parsed.problems == (), parsed.problems
    readme, unknown = render_readme(
        make_environment(None),
        entries=parsed.entries,
        notes={k: Note(k, f"notes/{k}.md", v) for k, v in (notes or {}).items()},
        taxonomy=taxonomy, group_by="taxonomy", intro=intro, title="Fixture", source="survey.bib",
    )
    return readme, [(entry.key, name) for entry, name in unknown]


# ---------------------------------------------------------------- escaping

ESCAPES = [
    P("Pipes | in | titles", r"Pipes \| in \| titles", id="pipe"),
    P("A title\n  over two lines", "A title over two lines", id="newline"),
    P(r"[Brackets] and a [fake](link)", r"\[Brackets\] and a \[fake\](link)", id="brackets"),
    P(r"*Stars* and **bold**", r"\*Stars\* and \*\*bold\*\*", id="stars"),
    P(r"\_snake\_case\_ and a\_b", r"\_snake\_case\_ and a\_b", id="underscores"),
    P("`code` spans", r"\`code\` spans", id="backticks"),
    P("The <b>bold</b> <script>x</script> tag", r"The \<b\>bold\</b\> \<script\>x\</script\> tag",
      id="html-tags"),
    P(r"Q\&A \#1 and {\"U}ber!", r"Q&amp;A \#1 and Über\!", id="latex-and-entities"),
    P(r"# Not a heading \textasciitilde{}\textasciitilde{}strike\textasciitilde{}"
      r"\textasciitilde{}", r"\# Not a heading \~\~strike\~\~", id="hash-tilde"),
    P("Fig.~1 -- a tie", "Fig. 1 – a tie", id="tie-and-dash"),
    P("🤗 Emoji: 大算子 (CJK)", "🤗 Emoji: 大算子 (CJK)", id="emoji-cjk"),
]


@pytest.mark.parametrize(("title", "markdown"), ESCAPES)
def test_title_is_escaped_everywhere_it_appears(title: str, markdown: str) -> None:
    readme, _ = render(bib("k", title))
    parsed = check_readme(readme, papers=1)
    ((cell, *_),) = parsed.table[2:]
    assert cell == markdown
    heading = row_heading(parsed, parsed.table[2])
    assert heading.markdown == markdown
    assert f"    - [{markdown}](#{heading.anchor})" in readme
    # what GitHub shows is the title as the bibliography means it
    shown = " ".join(display_title(parse_bib(bib("k", title)).entries[0]).split())
    assert plain_text(cell) == shown


def test_math_is_kept_but_cannot_break_the_table() -> None:
    readme, _ = render(bib("k", r"Bound $|x| < 1$ and $O(\sqrt{n})$"))
    parsed = check_readme(readme, papers=1)
    assert parsed.table[2][0] == r"Bound $\vert{}x\vert{} \lt{} 1$ and $O(\sqrt{n})$"


@pytest.mark.parametrize(
    ("field", "value", "link"),
    [
        P("doi", "10.1145/3620666.3651335", "https://doi.org/10.1145/3620666.3651335", id="doi"),
        P("doi", "https://doi.org/10.1145/3620666.3651335",
          "https://doi.org/10.1145/3620666.3651335", id="doi-as-url"),
        P("doi", "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-O",
          "https://doi.org/10.1002/%28SICI%291097-4571%28199806%2949:8%3C693::AID-ASI4%3E3.0.CO;2-O",
          id="doi-with-parentheses"),
        P("doi", r"10.1007/978-3-642-33191-6\_49", "https://doi.org/10.1007/978-3-642-33191-6_49",
          id="doi-escaped-underscore"),
        P("url", "https://en.wikipedia.org/wiki/Pipe_(Unix)",
          "https://en.wikipedia.org/wiki/Pipe_%28Unix%29", id="url-parentheses"),
        P("url", "https://example.org/a paper.pdf", "https://example.org/a%20paper.pdf",
          id="url-space"),
        P("url", "http://www.cs.umd.edu/~nau/papers/x.pdf", "http://www.cs.umd.edu/~nau/papers/x.pdf",
          id="url-tilde"),
        P("url", r"http://www.ai.sri.com/\~wilkins/p.ps", "http://www.ai.sri.com/~wilkins/p.ps",
          id="url-escaped-tilde"),
        P("url", "https://x.org/a|b<c>", "https://x.org/a%7Cb%3Cc%3E", id="url-pipe-angle"),
        P("url", "https://x.org/p.pdf#page=2", "https://x.org/p.pdf#page=2", id="url-fragment"),
    ],
)
def test_paper_link(field: str, value: str, link: str) -> None:
    readme, _ = render(bib("k", "T", **{field: value}))
    parsed = check_readme(readme, papers=1)
    assert parsed.table[2][3].startswith(f"[paper]({link}), [notes](#")
    assert f"* [Paper]({link})" in readme


@pytest.mark.parametrize(
    ("fields", "link"),
    [
        P({"doi": "10.1/a", "url": "https://u.org", "eprint": "2404.14294",
           "archiveprefix": "arXiv"}, "https://doi.org/10.1/a", id="doi-first"),
        P({"url": "https://u.org", "eprint": "2404.14294", "archiveprefix": "arXiv"},
          "https://u.org", id="then-url"),
        P({"eprint": "2404.14294", "archiveprefix": "arXiv"}, "https://arxiv.org/abs/2404.14294",
          id="then-arxiv"),
        P({"eprint": "2404.14294", "eprinttype": "arxiv"}, "https://arxiv.org/abs/2404.14294",
          id="biblatex-eprinttype"),
        P({"url": "javascript:alert(1)"}, None, id="not-http"),
        P({"eprint": "hep-th/9901001", "archiveprefix": "HAL"}, None, id="other-archive"),
    ],
)
def test_which_link_is_the_paper(fields: dict[str, str], link: str | None) -> None:
    entry = parse_bib(bib("k", "T", **fields)).entries[0]
    assert paper_url(entry) == link
    readme, _ = render(bib("k", "T", **fields))
    check_readme(readme, papers=1)
    assert ("[paper](" in readme) == (link is not None)


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        P({"venue": "ICML", "booktitle": "Proc. ICML", "year": "2023"}, "T (ICML 2023)",
          id="venue-field"),
        P({"booktitle": "Proceedings of the 29th ACM ASPLOS (ASPLOS '24)", "year": "2024"},
          "T (ASPLOS 2024)", id="acronym-in-booktitle"),
        P({"journal": "Journal of Systems", "year": "2022"}, "T (Journal of Systems 2022)",
          id="journal"),
        P({"eprint": "2402.09748", "archiveprefix": "arXiv", "year": "2024"}, "T (arXiv 2024)",
          id="arxiv"),
        P({"date": "2021-05-03"}, "T (2021)", id="biblatex-date"),
        P({}, "T", id="nothing-to-add"),
    ],
)
def test_display_title(fields: dict[str, str], shown: str) -> None:
    assert display_title(parse_bib(bib("k", "T", **fields)).entries[0]) == shown


def test_no_title_shows_the_key() -> None:
    entry = parse_bib("@misc{key2024, year = 2024}").entries[0]
    assert display_title(entry) == "key2024 (2024)"


# ---------------------------------------------------------------- anchors in the document


def test_duplicate_titles_get_githubs_suffix() -> None:
    readme, _ = render(bib("a", "Same Title") + bib("b", "Same Title"),
                       notes={"a": "First.", "b": "Second."})
    parsed = check_readme(readme, papers=2)
    anchors = [row_heading(parsed, row).anchor for row in parsed.table[2:]]
    assert anchors == ["same-title", "same-title-1"]
    assert readme.index("First.") < readme.index("### Same Title\n\n**Notes:**\n\nSecond.")


@pytest.mark.parametrize(
    ("title", "anchor"),
    [
        P("3. All Paper Reading Notes", "3-all-paper-reading-notes-1", id="after-section"),
        P("Contents", "contents-1", id="after-contents"),
        P("3.1 A", "31-a-1", id="after-its-own-category"),
        P("Fixture", "fixture-1", id="like-the-title"),
    ],
)
def test_paper_titled_like_a_template_heading(title: str, anchor: str) -> None:
    readme, _ = render(bib("k", title))
    parsed = check_readme(readme, papers=1)
    assert row_heading(parsed, parsed.table[2]).anchor == anchor


def test_headings_in_intro_and_notes_take_anchors_in_document_order() -> None:
    intro = "## Methods\n\n```\n## Methods\n```\n"
    note = "Text.\n\n## Methods\n\n~~~md\n# Methods\n~~~\n\n### Results\n"
    readme, _ = render(bib("n", "With Note", "Methods") + bib("m", "Methods", "Methods"),
                       taxonomy=["Methods"], notes={"n": note}, intro=intro)
    parsed = check_readme(readme, papers=2)
    assert [h.anchor for h in parsed.headings if "methods" in h.anchor] == [
        "methods", "31-methods", "methods-1", "methods-2"]
    assert row_heading(parsed, parsed.table[3]).anchor == "methods-2"
    assert "[**Methods**](#31-methods)" in readme


@pytest.mark.parametrize(
    "note",
    [
        P("<!--\n### Same\n-->\nText.", id="comment-block"),
        P("<!-- draft:\n## Same\n### Same -->\nText.", id="comment-ends-on-heading-line"),
        P("Text.\n\n   <!--\n# Same\n\n-->", id="indented-comment-with-blank-line"),
    ],
)
def test_headings_inside_an_html_comment_take_no_anchor(note: str) -> None:
    """GitHub does not render a commented-out heading, so it must not shift the `-1`s."""
    readme, _ = render(bib("k", "Same") + bib("j", "Same"), notes={"k": note})
    parsed = check_readme(readme, papers=2)
    assert [row_heading(parsed, row).anchor for row in parsed.table[2:]] == ["same", "same-1"]


# ---------------------------------------------------------------- taxonomy


def test_unknown_category_goes_to_uncategorized_and_is_reported() -> None:
    readme, unknown = render(bib("k", "T", "Quantisation") + bib("j", "J", "A"))
    assert unknown == [("k", "Quantisation")]
    parsed = check_readme(readme, papers=2)
    sections = [h.markdown for h in parsed.headings if h.level == 2]
    assert sections[-2:] == ["3.1 A", "3.2 Uncategorized"]
    assert parsed.table[2][1] == "Uncategorized"


def test_declared_empty_category_keeps_its_section() -> None:
    readme, _ = render(bib("k", "T", "B"), taxonomy=["A", "B", "C"])
    parsed = check_readme(readme, papers=1)
    sections = [h.markdown for h in parsed.headings if h.level == 2 and h.markdown[:2] == "3."]
    assert sections == ["3.1 A", "3.2 B", "3.3 C"]
    assert readme.count("_No papers in this category yet._") == 2
    assert "- [**A**](#31-a)\n\n- [**B**](#32-b)\n    - [T](#t)\n\n- [**C**](#33-c)\n" in readme


def test_parent_child_only_when_declared() -> None:
    text = bib("s", "Survey", "Survey/Review") + bib("w", "Weights", "Quantization/Weight-only")
    readme, _ = render(text, taxonomy=["Survey/Review", "Quantization", "Quantization/Weight-only"])
    parsed = check_readme(readme, papers=2)
    assert [(h.level, h.markdown) for h in parsed.headings if h.markdown.startswith("3.")][1:] == [
        (2, "3.1 Survey/Review"), (2, "3.2 Quantization"), (3, "3.2.1 Weight-only")]
    assert "    - [**Weight-only**](#321-weight-only)\n        - [Weights](#weights)" in readme


def test_multi_category_paper_is_listed_under_each_with_notes_once() -> None:
    readme, _ = render(bib("k", "Both", "B; A") + bib("j", "Other", "A and B"),
                       taxonomy=["A", "B"], notes={"k": "The one note."})
    parsed = check_readme(readme, papers=2)
    assert parsed.table[2][1] == "B, A"
    assert parsed.table[3][1] == "A, B"
    assert readme.count("The one note.") == 1
    assert readme.count("### Both") == 1
    assert "- [Both](#both): notes under [B](#32-b)" in readme
    assert "* Also listed under: [A](#31-a)" in readme


def test_without_a_taxonomy_list_categories_come_in_first_seen_order() -> None:
    readme, unknown = render(bib("a", "X", "Zeta") + bib("b", "Y", "Alpha; Zeta"), taxonomy=())
    assert unknown == []
    parsed = check_readme(readme, papers=2)
    sections = [h.markdown for h in parsed.headings if h.level == 2 and h.markdown[:2] == "3."]
    assert sections == ["3.1 Zeta", "3.2 Alpha"]


@pytest.mark.parametrize(
    ("notes", "shown"),
    [
        P({}, "**Notes:** _No notes yet._", id="missing"),
        P({"k": "<!-- Reading notes for k: T.\n     Write below. -->\n"},
          "**Notes:** _No notes yet._", id="stub"),
        P({"k": "   \n\n"}, "**Notes:** _No notes yet._", id="blank"),
        P({"k": "<!-- stub -->\nMy own words."}, "**Notes:**\n\n<!-- stub -->\nMy own words.",
          id="written-below-the-stub"),
    ],
)
def test_note_states(notes: dict[str, str], shown: str) -> None:
    readme, _ = render(bib("k", "T"), notes={k: v.strip() for k, v in notes.items()})
    check_readme(readme, papers=1)
    assert f"### T\n\n{shown}\n" in readme


# ---------------------------------------------------------------- the fixtures and this repository


def render_dir(root: Path) -> tuple[str, list[Problem]]:
    outputs, problems = render_at(root)
    readme = outputs[0]  # the configured exports follow it
    assert readme.path.name == "README.md"
    return readme.text, problems


@cache
def fixture_readme(name: str) -> tuple[str, tuple[Problem, ...]]:
    text, problems = render_dir(TESTS / "data" / name)
    return text, tuple(problems)


FIXTURES = sorted(p.name for p in (TESTS / "data").iterdir() if (p / "survey.bib").is_file())


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_links_all_resolve(name: str) -> None:
    text, _ = fixture_readme(name)
    entries = parse_bib((TESTS / "data" / name / "survey.bib").read_text(encoding="utf-8")).entries
    parsed = check_readme(text, papers=len(entries))
    for row in parsed.table[2:]:  # each row's [notes] goes to that paper's own heading
        assert row_heading(parsed, row).markdown == row[0]


def test_this_repositorys_readme_links_resolve() -> None:
    text, problems = render_dir(REPO)
    assert [str(p) for p in problems if p.level == "error"] == []
    parsed = check_readme(text)
    for number, target in parsed.links:
        if not re.match(r"^(#|https?://)", target):
            assert (REPO / target).exists(), f"README line {number}: {target} does not exist"


def test_taxonomy_fixture_sections() -> None:
    text, problems = fixture_readme("taxonomy")
    parsed = check_readme(text, papers=8)
    assert [(h.level, h.markdown, h.anchor) for h in parsed.headings
            if re.match(r"3\.\d", h.markdown)] == [
        (2, "3.1 Survey/Review", "31-surveyreview"),
        (2, "3.2 大算子", "32-大算子"),
        (2, "3.3 Quantization", "33-quantization"),
        (3, "3.3.1 Weight-only", "331-weight-only"),
        (3, "3.3.2 KV Cache", "332-kv-cache"),
        (2, "3.4 🚀 Speed-ups", "34--speed-ups"),
        (2, "3.5 Empty Category", "35-empty-category"),
        (2, "3.6 Dynamic Inference", "36-dynamic-inference"),
        (2, "3.7 Uncategorized", "37-uncategorized"),
    ]
    assert [str(p) for p in problems] == [
        "survey.bib:56: typo2024: taxonomy 'Quantisation' is not in the configured list "
        "(did you mean 'Quantization'?)"]


def test_titles_fixture_anchors() -> None:
    text, _ = fixture_readme("titles")
    parsed = check_readme(text, papers=11)
    anchors = {row[0]: row_heading(parsed, row).anchor for row in parsed.table[2:]}
    assert anchors["3. All Paper Reading Notes"] == "3-all-paper-reading-notes-1"
    assert anchors["Quantization"] == "quantization"
    assert anchors[r"The \<script\>alert(1)\</script\> and \<b\>bold\</b\> Tags"] == (
        "the-scriptalert1script-and-bboldb-tags")
    assert [row_heading(parsed, r).anchor for r in parsed.table[2:4]] == [
        "attention-is-all-you-need-2017", "attention-is-all-you-need-2017-1"]


def test_notes_fixture_reports_the_orphan_note() -> None:
    text, problems = fixture_readme("notes")
    assert [str(p) for p in problems] == [
        "notes/orphan.md: no entry with key 'orphan' in the bibliography"]
    assert "Speculative decoding: a small draft model proposes" in text
    assert "A note for a key that is not in survey.bib." not in text


@pytest.mark.parametrize(
    ("note", "anchor"),
    [
        P("Background\n---\nwhat came before", "background-1", id="setext-h2-takes-an-anchor"),
        P("Background\n===\nwhat came before", "background-1", id="setext-h1-takes-an-anchor"),
        P("Background\n\n---\nafter a rule", "background", id="rule-after-blank-line"),
        P("- Background\n---", "background", id="rule-after-list-item"),
    ],
)
def test_setext_headings_in_notes_count_for_anchors(note: str, anchor: str) -> None:
    """A note's `Title` underlined with --- or === is a heading on GitHub, so a later paper
    titled the same gets `-1`; a --- after a blank line or a list item is only a rule."""
    readme, _ = render(bib("a", "First") + bib("b", "Background"), notes={"a": note})
    assert f"[notes](#{anchor}) |" in readme
