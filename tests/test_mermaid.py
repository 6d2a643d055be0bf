"""The README's diagrams (taxonomy mindmap, papers per year) and Contributors section.

What GitHub shows is proven the way GitHub draws it: cmark-gfm turns the README into HTML,
and every ```mermaid block it yields is drawn by the pinned Mermaid 11 in headless
Chromium (tests/chromium.py). A diagram that fails to parse or render fails the test.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from chromium import node_module
from conftest import TESTS, Cli
from readme_check import check_readme

from surveybib.readme import mermaid
from surveybib.readme.contributors import contributors, split_readers
from surveybib.readme.papers import Paper
from surveybib.readme.taxonomy import Category

REPO = TESTS.parent
HOSTILE = [
    'Quant"ization] (x) {y}',
    "%%{init: {'theme': 'dark'}}%%",
    "cls:::evil `code` *bold* _it_",
    "<img src=x onerror=window.pwned=1>",
    "大算子",
    "a#35;b #quot; end",
    "line one\nline two",
]

_ENTITY = re.compile(r"#(\d+);")


def _decode(label: str) -> str:
    return _ENTITY.sub(lambda m: chr(int(m.group(1))), label)


# ---------------------------------------------------------------- labels and limits


@pytest.mark.parametrize("text", HOSTILE)
def test_a_label_is_text_never_syntax(text: str) -> None:
    shown = mermaid.label(text, limit=1000)
    assert all(ch.isalnum() or ch in " #;" for ch in shown), shown
    assert _decode(shown) == " ".join(text.split())  # nothing lost but line breaks


def test_long_labels_are_cut_at_a_word() -> None:
    shown = _decode(mermaid.label("Efficient Memory Management for Large Language Model Serving"))
    assert shown == "Efficient Memory Management for…"
    assert len(shown) <= mermaid.LABEL_CHARS


@pytest.mark.parametrize(("title", "short"), [
    ("GPTQ: Accurate Post-Training Quantization", "GPTQ"),
    ("FlashAttention-2: Faster Attention", "FlashAttention-2"),
    ("Orca: A Distributed Serving System: part two", "Orca"),
    ("Mixture of Experts Without a Colon", "Mixture of Experts Without a Colon"),
    (": starts with a colon", ": starts with a colon"),
])
def test_short_title_is_the_part_before_the_colon(title: str, short: str) -> None:
    assert mermaid.short_title(title) == short


def _paper(key: str, title: str = "T", year: int | None = None, reader: str = "",
           note: str | None = None) -> Paper:
    return Paper(key, title, None, reader, note=note, plain_title=title, year=year)


def _tree(categories: int, papers_each: int) -> list[Category]:
    tops = []
    for c in range(categories):
        category = Category(f"Category {c}", str(c + 1))
        category.papers = [_paper(f"k{c}-{p}", f"Paper {c}-{p}: long title")
                           for p in range(papers_each)]
        tops.append(category)
    return tops


def _nodes(figure: str) -> list[str]:
    return figure.splitlines()[1:]


def test_a_small_survey_shows_its_papers_as_leaves() -> None:
    figure = mermaid.taxonomy_mindmap("Survey", _tree(2, 3))
    labels = [_decode(re.search(r'"(.*)"', n).group(1)) for n in _nodes(figure)]  # type: ignore[union-attr]
    assert labels == ["Survey", "Category 0 (3)", "Paper 0-0", "Paper 0-1", "Paper 0-2",
                      "Category 1 (3)", "Paper 1-0", "Paper 1-1", "Paper 1-2"]


def test_the_title_is_whole_and_a_long_category_keeps_its_count() -> None:
    """The root is the survey's title (this repository's, 33 characters, used to lose its
    last word); a category's name is whole (this repository's "Retrieval-Augmented
    Generation" used to lose its count), and a very long one is cut before its count."""
    tree = _tree(2, 1)
    tree[0].name = "Retrieval-Augmented Generation"
    tree[1].name = "Retrieval-Augmented Generation with Tools, Agents and Long Context"
    labels = [_decode(re.search(r'"(.*)"', n).group(1))  # type: ignore[union-attr]
              for n in _nodes(mermaid.taxonomy_mindmap("Survey on Efficient LLM Inference",
                                                       tree))]
    assert labels[0] == "Survey on Efficient LLM Inference"
    assert labels[1] == "Retrieval-Augmented Generation (1)"
    assert labels[3] == "Retrieval-Augmented Generation with Tools,… (1)"
    assert _decode(mermaid.label("x " * 100, mermaid.TITLE_CHARS)).endswith("…")


def test_a_crowded_category_counts_the_rest() -> None:
    figure = mermaid.taxonomy_mindmap("Survey", _tree(1, 20))
    nodes = _nodes(figure)
    assert len(nodes) == 2 + mermaid.LEAVES_PER_CATEGORY + 1
    assert _decode(nodes[-1]).strip() == f'n("{20 - mermaid.LEAVES_PER_CATEGORY} more")'


def test_a_large_survey_shows_counts_only() -> None:
    figure = mermaid.taxonomy_mindmap("Survey", _tree(12, 50))
    nodes = _nodes(figure)
    assert len(nodes) == 13  # the root and one node per category
    assert "Category 11 (50)" in _decode(figure)


@pytest.mark.parametrize(("categories", "papers_each", "title_length"), [
    (20_000, 1, 10), (600, 0, 10), (300, 1, 5_000), (1, 5_000, 100)])
def test_any_survey_stays_under_githubs_limits(categories: int, papers_each: int,
                                               title_length: int) -> None:
    tree = _tree(categories, papers_each)
    for category in tree:
        category.name = "x" * title_length + category.name
    figure = mermaid.taxonomy_mindmap("Survey " * 1000, tree)
    assert len(_nodes(figure)) <= mermaid.MAX_NODES  # edges = nodes - 1 < 500
    assert len(figure) <= mermaid.MAX_CHARS


def test_subcategories_nest_and_count_their_childrens_papers() -> None:
    parent = Category("Parent", "1")
    child = Category("Parent/Child", "1.1", depth=1)
    parent.children = [child]
    child.papers = [_paper("a", "A"), _paper("b", "B")]
    parent.papers = [_paper("a", "A")]
    nodes = _nodes(mermaid.taxonomy_mindmap("S", [parent]))
    indents = [(len(n) - len(n.lstrip()), _decode(n.strip())) for n in nodes]
    assert indents == [(2, 'n(("S"))'), (4, 'n["Parent (2)"]'), (6, 'n("A")'),
                       (6, 'n["Child (2)"]'), (8, 'n("A")'), (8, 'n("B")')]


def test_year_chart_shows_years_without_papers_as_zero() -> None:
    chart = mermaid.year_chart([2019, 2021, 2021, None, 2023])
    assert chart is not None
    assert '  x-axis ["2019", "2020", "2021", "2022", "2023"]\n' in chart
    assert "  bar [1, 0, 2, 0, 1]\n" in chart
    assert mermaid.year_chart([None]) is None


def test_year_chart_gathers_a_long_tail_of_early_years() -> None:
    chart = mermaid.year_chart([1, 1900, 2000, 2024])
    assert chart is not None
    axis = re.search(r"x-axis \[(.*)\]", chart).group(1)  # type: ignore[union-attr]
    years = [_decode(y.strip('"')) for y in axis.split(", ")]
    assert len(years) == mermaid.MAX_YEARS + 1
    assert years[0] == "≤1984" and years[-1] == "2024"
    assert re.search(r"bar \[2, ", chart)  # year 1 and 1900 gathered in the first bar


def test_contributors_split_readers_and_count_notes() -> None:
    papers = [_paper("a", reader="Yin, Lihao; Wang, Xin", note="n"),
              _paper("b", reader="Wang, Xin and Yin, Lihao"),
              _paper("c", reader="Wang, Xin", note="n"), _paper("d")]
    assert split_readers("Yin, Lihao; Wang, Xin and Li, Mu") == ["Yin, Lihao", "Wang, Xin",
                                                                 "Li, Mu"]
    shown = [(c.name, [p.key for p in c.read], [p.key for p in c.noted])
             for c in contributors(papers)]
    assert shown == [("Wang, Xin", ["a", "b", "c"], ["a", "c"]),
                     ("Yin, Lihao", ["a", "b"], ["a"])]


# ---------------------------------------------------------------- through the CLI


def _survey(root: Path, entries: str, taxonomy: list[str], extra: str = "") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "survey.bib").write_text(entries, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        f"[tool.surveybib]\ntaxonomy = {json.dumps(taxonomy, ensure_ascii=False)}\n{extra}",
        encoding="utf-8")


def _build(cli: Cli, root: Path) -> str:
    result = cli("build", "--offline", "-q", cwd=root)
    assert result.exit_code == 0, result.output
    return (root / "README.md").read_text(encoding="utf-8")


def _bib_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")


def _categories() -> list[str]:
    """The hostile names as categories (`;` separates categories, so it cannot be in one)."""
    return [" ".join(h.replace(";", "").split()) for h in HOSTILE]


def _hostile_survey(root: Path) -> None:
    categories = _categories()
    entries = "".join(
        f"@article{{k{i},\n  title = {{{_bib_value(h.replace(chr(10), ' '))}: a study}},\n"
        f"  year = {{{2015 + i}}},\n  taxonomy = {{{_bib_value(categories[i])}}},\n"
        f"  reader = {{{_bib_value(h.replace(chr(10), ' '))}}},\n}}\n"
        for i, h in enumerate(HOSTILE))
    _survey(root, entries, categories)


def mermaid_blocks(readme: str) -> list[str]:
    """The ```mermaid blocks as GitHub hands them to Mermaid: cmark-gfm's HTML."""
    page = cmarkgfm.github_flavored_markdown_to_html(
        readme, options=cmarkgfm.Options.CMARK_OPT_GITHUB_PRE_LANG)
    return [html.unescape(code) for code in
            re.findall(r'<pre lang="mermaid"><code>(.*?)</code></pre>', page, re.S)]


def test_hostile_names_reach_the_readme_as_inert_labels(tmp_path: Path, cli: Cli) -> None:
    _hostile_survey(tmp_path)
    readme = _build(cli, tmp_path)
    blocks = mermaid_blocks(readme)
    assert len(blocks) == 2 and blocks[0].startswith("mindmap\n")
    assert "\nxychart-beta\n" in blocks[1]
    shown = _decode(blocks[0])
    for name in _categories():
        assert f'n["{name[:15]}' in shown
    assert "Uncategorized" not in shown
    check_readme(readme, papers=len(HOSTILE))  # contributors' links resolve


def test_readme_blocks_setting_turns_sections_off(tmp_path: Path, cli: Cli) -> None:
    _survey(tmp_path, "@article{a, title = {A: x}, year = {2020}, taxonomy = {T}, "
            "reader = {Doe, Jane}}\n", ["T"], 'readme_blocks = ["contributors"]\n')
    readme = _build(cli, tmp_path)
    assert "## Contributors" in readme and "- **Doe, Jane**: read 1 paper" in readme
    assert mermaid_blocks(readme) == [] and "## Taxonomy" not in readme
    (tmp_path / "pyproject.toml").write_text(
        '[tool.surveybib]\nreadme_blocks = []\n', encoding="utf-8")
    readme = _build(cli, tmp_path)
    assert "## Contributors" not in readme and "## Papers per year" not in readme


def test_an_unknown_block_is_refused_with_a_suggestion(tmp_path: Path, cli: Cli) -> None:
    _survey(tmp_path, "", ["T"], 'readme_blocks = ["taxonmy"]\n')
    result = cli("build", "--offline")
    assert result.exit_code == 1
    assert "unknown block 'taxonmy'; did you mean 'taxonomy'?" in result.output


# ---------------------------------------------------------------- drawn by Mermaid 11

PAGE = """<!doctype html><meta charset="utf-8"><body><div id="out"></div>
<script src="mermaid.min.js"></script>
<script>
mermaid.initialize({startOnLoad: false});
window.draw = async (code, n) => {
  try {
    const {svg} = await mermaid.render("diagram" + n, code);
    const out = document.getElementById("out");
    out.innerHTML = svg;
    const node = out.querySelector("svg");
    return {ok: true, text: node.textContent, elements: [...node.querySelectorAll("*")]
      .map(e => e.localName), handlers: [...node.querySelectorAll("*")]
      .flatMap(e => [...e.attributes].map(a => a.name)).filter(a => a.startsWith("on"))};
  } catch (e) { return {ok: false, error: String(e && e.message || e)}; }
};
</script>"""


@pytest.fixture
def draw(browser: Any, serve: Any, tmp_path: Path) -> Any:
    """draw(code) -> what Mermaid 11 made of it in Chromium (text, element names, errors)."""
    folder = tmp_path / "page"
    folder.mkdir()
    shutil.copy(node_module("mermaid/dist/mermaid.min.js"), folder / "mermaid.min.js")
    (folder / "index.html").write_text(PAGE, encoding="utf-8")
    browser.get(serve(folder) + "index.html")
    counter = iter(range(1_000_000))

    def run(code: str) -> dict[str, Any]:
        result: dict[str, Any] = browser.execute_async_script(
            "arguments[2](await window.draw(arguments[0], arguments[1]));", code, next(counter))
        return result

    return run


def _readmes() -> list[tuple[str, str]]:
    found = [("README.md", (REPO / "README.md").read_text(encoding="utf-8"))]
    found += [(p.name, p.read_text(encoding="utf-8"))
              for p in sorted((TESTS / "golden" / "readme").glob("*.md"))]
    return found


def test_every_diagram_of_this_repository_and_the_golden_surveys_draws(draw: Any) -> None:
    seen = 0
    for name, readme in _readmes():
        for code in mermaid_blocks(readme):
            result = draw(code)
            assert result["ok"], f"{name}: {result.get('error')}\n{code}"
            seen += 1
    assert seen >= 2 * len(_readmes())  # a mindmap and a year chart in each


def test_hostile_labels_draw_as_text(draw: Any, tmp_path: Path, cli: Cli) -> None:
    _hostile_survey(tmp_path / "survey")
    for code in mermaid_blocks(_build(cli, tmp_path / "survey")):
        result = draw(code)
        assert result["ok"], result.get("error")
        assert not result["handlers"] and "img" not in result["elements"]
        assert "script" not in result["elements"]
    text = draw(mermaid_blocks(_build(cli, tmp_path / "survey"))[0])["text"]
    for name in HOSTILE:
        assert " ".join(name.split())[:20] in text


def test_the_year_bars_are_drawn_in_a_colour_that_shows(browser: Any, draw: Any) -> None:
    """Mermaid's default bar colour (#ECECFF) hardly shows on GitHub's white page: the
    chart's front matter sets one, and Mermaid 11 draws the bars in it."""
    chart = mermaid.year_chart([2020, 2021, 2021])
    assert chart is not None and draw(chart)["ok"]
    fills = browser.execute_script(
        "return Array.from(document.querySelectorAll('#out svg rect'),"
        "                  (r) => r.getAttribute('fill'))")
    assert fills.count("#3b82f6") == 2  # one bar a year


def test_the_largest_figures_still_draw(draw: Any) -> None:
    figure = mermaid.taxonomy_mindmap("Survey", _tree(20_000, 1))
    result = draw(figure)
    assert result["ok"], result.get("error")
    hidden = 20_000 - (mermaid.MAX_NODES - 2)  # the root and the summary node take two
    assert f"{hidden} more categories" in result["text"]
    chart = mermaid.year_chart(range(1900, 2030))
    assert chart is not None and draw(chart)["ok"]


def test_a_users_template_overrides_and_drops_the_diagram_blocks(cli: Cli, tmp_path: Path) -> None:
    _survey(tmp_path, "@article{a, title = {GPTQ: x}, year = {2020}, taxonomy = {T}, "
            "reader = {Doe, Jane}}\n", ["T"])
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "README.md.j2").write_text(
        '{% extends "surveybib/README.md.j2" %}\n'
        "{% block year_chart %}{% endblock %}\n"
        "{% block contributors %}\n"
        "{{ heading(2, 'Who read what', 'contributors') }}\n\n"
        "{% for c in contributors %}\n"
        "- {{ c.name|md }} ({{ c.read|length }})\n"
        "{% endfor %}\n\n"
        "{% endblock %}\n", encoding="utf-8")
    readme = _build(cli, tmp_path)
    assert "## Who read what\n\n- Doe, Jane (1)\n" in readme
    assert "## Papers per year" not in readme and "## Contributors" not in readme
    assert [b.split("\n", 1)[0] for b in mermaid_blocks(readme)] == ["mindmap"]
    assert _build(cli, tmp_path) == readme  # the marker is the renderer's: rebuilds keep working


def test_the_docs_example_of_changing_the_blocks_builds(cli: Cli, tmp_path: Path) -> None:
    """docs/usage.md's template that renames the year chart's section and turns the
    contributors into a table, as a user would copy it."""
    usage = (REPO / "docs" / "usage.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"To change one, override its block.*?````jinja\n(.*?)````",
                            usage, re.S)
    _survey(tmp_path, "@article{a, title = {GPTQ: x}, year = {2020}, taxonomy = {T}, "
            "reader = {Doe | Jane}}\n", ["T"])
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "README.md.j2").write_text(example, encoding="utf-8")
    readme = _build(cli, tmp_path)
    assert "## Papers by year\n\n```mermaid\n---\n" in readme
    assert "| reader | papers read | notes |\n|---|---|---|\n| Doe \\| Jane | 1 | 0 |\n" in readme
    assert [b.split("\n", 1)[0] for b in mermaid_blocks(readme)] == ["mindmap", "---"]
    check_readme(readme, papers=1)
