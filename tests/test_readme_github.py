"""The README as its readers see it on GitHub: each test builds a survey a user could have
written through the real CLI, renders README.md with cmark-gfm (tests/gfm.py) and asserts
on the HTML: headings, lists, links and images."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import Result
from conftest import TESTS, Cli
from gfm import Element, Page, items, page

from surveybib.build import render_at
from surveybib.readme.render import GENERATED_MARKER

P = pytest.param
REPO = TESTS.parent


def survey(root: Path, bib: str, *, config: str = "", notes: dict[str, str] | None = None,
           intro: str | None = None, files: dict[str, str] | None = None) -> Path:
    """A survey repository as a user writes one."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "survey.bib").write_text(bib, encoding="utf-8")
    (root / "pyproject.toml").write_text(f"[tool.surveybib]\n{config}\n", encoding="utf-8")
    for key, text in (notes or {}).items():
        (root / "notes").mkdir(exist_ok=True)
        (root / "notes" / f"{key}.md").write_text(text, encoding="utf-8")
    if intro is not None:
        (root / "INTRO.md").write_text(intro, encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def run(cli: Cli, root: Path, *args: str, **env: str) -> Result:
    return cli("-C", root, *args, env={"SURVEYBIB_OFFLINE": "1", **env})


def built(cli: Cli, root: Path, readme: str = "README.md") -> Page:
    result = run(cli, root, "build")
    assert result.exit_code == 0, result.output
    text = (root / readme).read_text(encoding="utf-8")
    shown = page(text)
    assert shown.broken_links() == [], shown.broken_links()
    return shown


def rows(shown: Page) -> dict[str, dict[str, str]]:
    """The progress table: title cell -> {link text: href} of the row."""
    out = {}
    for row in (e for e in shown.root.walk() if e.tag == "tr"):
        cells = [c for c in row.elements() if c.tag == "td"]
        if cells:
            out[cells[0].text] = {a.text: a.attrs["href"] for a in cells[-1].walk()
                                  if a.tag == "a"}
    return out


def entry(key: str, title: str, taxonomy: str = "", **fields: str) -> str:
    extra = "".join(f"  {name} = {{{value}}},\n" for name, value in fields.items())
    category = f"  taxonomy = {{{taxonomy}}},\n" if taxonomy else ""
    return f"@misc{{{key},\n  title = {{{title}}},\n{category}{extra}}}\n\n"


# ---------------------------------------------------------------- 1. headings in a note


def test_note_headings_sit_one_level_below_their_paper(cli: Cli, tmp_path: Path) -> None:
    """Issue 11.1: `# Results` in a note was an H1 between two categories."""
    bib = (entry("awq", "AWQ", "Quantization", year="2024")
           + entry("gptq", "GPTQ", "Quantization/Weight-only", year="2023")
           + entry("flash", "FlashAttention", "大算子", year="2022")
           + entry("results", "Results", "大算子"))
    root = survey(tmp_path, bib, config='taxonomy = ["Quantization", "Quantization/Weight-only", '
                  '"大算子"]', notes={
                      "awq": "# Results\n\nText.\n\n## 实验结果\n\n### 细节\n\nSetext\n---\n\nmore",
                      "gptq": "# Deep\n\n## Deeper\n\n### Deepest\n\n#### Deepest still",
                      "flash": "See [the results](#results) and [实验结果](#实验结果).",
                  })
    shown = built(cli, root)
    outline = shown.outline()
    at = outline.index((3, "AWQ (2024)"))
    assert outline[at:at + 6] == [(3, "AWQ (2024)"), (4, "Results"), (5, "实验结果"), (6, "细节"),
                                  (5, "Setext"), (3, "3.1.1 Weight-only")]
    at = outline.index((4, "GPTQ (2023)"))
    assert outline[at:at + 5] == [(4, "GPTQ (2023)"), (5, "Deep"), (6, "Deeper"), (6, "Deepest"),
                                  (6, "Deepest still")]
    notes = outline.index((1, "3. All Paper Reading Notes"))
    assert all(level >= 2 for level, _ in outline[notes + 1:]), outline
    # anchors follow the shifted headings, in document order: the paper titled "Results"
    # after AWQ's note takes GitHub's `-1`, and the note's links land on the note's headings
    links = {link.text: link.href for link in shown.links}
    assert links["the results"] == "#results" and links["实验结果"] == "#实验结果"
    assert [(h.level, h.id) for h in shown.headings if h.text == "Results"] == [
        (4, "user-content-results"), (3, "user-content-results-1")]
    assert rows(shown)["Results"]["notes"] == "#results-1"


# ---------------------------------------------------------------- 2. nothing joins a note


ENDINGS = [
    P("- first point\n- second point", "-", id="dash-list"),
    P("* first point\n* second point", "*", id="star-list"),
    P("Points:\n\n- first point\n\n- second point", "-", id="loose-list"),
    P("- first point\n  - nested point", "-", id="nested-list"),
    P("- first point\n\n      indented code in the item", "-", id="code-in-item"),
    P("> quoted\n> - a list in a quote", ">", id="list-in-quote"),
]


@pytest.mark.parametrize(("ending", "_kind"), ENDINGS)
def test_no_generated_line_continues_a_notes_block(cli: Cli, tmp_path: Path, ending: str,
                                                   _kind: str) -> None:
    """Issue 11.2: AWQ's notes end with a list, and the generated "- [FlexGen]: notes under"
    line became a fifth item of it on GitHub."""
    bib = (entry("awq", "AWQ", "Quantization; System") +
           entry("flexgen", "FlexGen", "System; Quantization"))
    root = survey(tmp_path, bib, config='taxonomy = ["System", "Quantization"]',
                  notes={"awq": ending})
    shown = built(cli, root)
    line = notes_under(shown, "FlexGen")
    assert line.parent is not None and len(items(line.parent)) == 1  # a list of its own
    assert line.parent.parent is shown.root  # not inside the note's list or quote
    assert "notes under System" in line.text
    last = shown.heading("AWQ").element  # the note's own blocks keep their items
    assert "FlexGen" not in "".join(e.text for e in _between(shown, last, line))


def notes_under(shown: Page, title: str) -> Element:
    """The generated "- [title]: notes under [category]" item."""
    found = [e for e in shown.root.walk() if e.tag == "li" and "notes under" in e.text
             and e.text.startswith(title)]
    assert len(found) == 1, [e.text for e in found]
    return found[0]


def _between(shown: Page, first: Element, last: Element) -> list[Element]:
    """The top-level blocks after `first`'s block and before `last`'s."""
    blocks = shown.blocks()

    def top(element: Element) -> Element:
        while element.parent is not shown.root and element.parent is not None:
            element = element.parent
        return element

    return blocks[blocks.index(top(first)) + 1:blocks.index(top(last))]


def test_a_template_line_right_after_a_note_is_not_a_lazy_continuation(cli: Cli,
                                                                       tmp_path: Path) -> None:
    """A user template that writes a line straight after `{{ p.note }}` still starts a new
    block: surveybib puts a blank line after every note."""
    template = ('{% extends "surveybib/README.md.j2" %}\n{% block paper %}\n'
                "{{ heading(p.level, p.title, p.id) }}\n\n{{ p.note }}\n"
                "Reviewed by {{ p.reader|md }}.\n\n{% endblock %}\n")
    root = survey(tmp_path, entry("awq", "AWQ", "Q", reader="Ann"),
                  notes={"awq": "- first point\n- a paragraph that could go on"},
                  files={"templates/README.md.j2": template})
    shown = built(cli, root)
    paragraph = next(e for e in shown.root.walk() if e.tag == "p"
                     and e.text.startswith("Reviewed by"))
    assert paragraph.parent is shown.root and paragraph.text == "Reviewed by Ann."
    assert [li.text for li in shown.root.walk() if li.tag == "li"][-2:] == [
        "first point", "a paragraph that could go on"]


def test_this_repositorys_readme_keeps_awqs_notes_to_themselves() -> None:
    outputs, _ = render_at(REPO)
    shown = page(outputs[0].text)
    assert shown.broken_links() == []
    flexgen = notes_under(shown, "FlexGen: High-Throughput")
    assert "notes under System-level Optimization" in flexgen.text
    assert flexgen.parent is not None and len(items(flexgen.parent)) == 1
    awq = shown.heading("AWQ: Activation-aware Weight Quantization for On-Device LLM "
                        "Compression and Acceleration (MLSys 2024)")
    after = shown.root.elements()
    notes_list = next(e for e in after[after.index(awq.element):] if e.tag == "ul"
                      and "Observation" in e.text)
    assert len(items(notes_list)) == 4


# ---------------------------------------------------------------- 3. relative links


NOTE_WITH_FILES = """\
![架构图](figures/arch.png)

See [the data](data/table.csv "the numbers"), [the other note](other.md#method),
[a spaced figure](<figures/with space.png>), [the guide][guide] and
<img src="figures/b.png" width="200" alt="b">.

Not rewritten: [web](https://example.org/x.png), [top](#arch), [mail](mailto:a@b.org),
`[code](figures/arch.png)` and

```
![fenced](figures/arch.png)
```

[guide]: ../docs/guide.md
"""


@pytest.mark.parametrize(("config", "readme"), [
    P("", "README.md", id="default-layout"),
    P('notes = "reading/notes"\nreadme = "site/README.md"', "site/README.md",
      id="notes-and-readme-elsewhere"),
])
def test_relative_links_in_notes_resolve_from_the_readme(cli: Cli, tmp_path: Path, config: str,
                                                         readme: str) -> None:
    """Issue 11.3: `![架构图](figures/arch.png)` in notes/KEY.md pointed beside README.md."""
    notes = "reading/notes" if "reading" in config else "notes"
    files = {f"{notes}/figures/arch.png": "png", f"{notes}/figures/b.png": "png",
             f"{notes}/figures/with space.png": "png", f"{notes}/data/table.csv": "1,2",
             f"{notes}/other.md": "# Method", f"{notes}/../docs/guide.md": "guide",
             f"{notes}/k.md": NOTE_WITH_FILES}
    root = survey(tmp_path, entry("k", "Arch", "A"), config=config, files=files)
    shown = built(cli, root, readme)
    base = (root / readme).parent
    targets = [img.attrs["src"] for img in shown.images] + [
        link.href for link in shown.links if not re.match(r"#|[a-z]+:", link.href)]
    assert len(targets) == 6
    for target in targets:
        assert (base / unquote(target.split("#")[0])).resolve().is_file(), target
    prefix = "notes" if readme == "README.md" else "../reading/notes"
    assert shown.images[0].attrs == {"src": f"{prefix}/figures/arch.png", "alt": "架构图"}
    hrefs = {link.text: link.href for link in shown.links}
    assert hrefs["web"] == "https://example.org/x.png" and hrefs["top"] == "#arch"
    assert hrefs["mail"] == "mailto:a@b.org"
    assert "[code](figures/arch.png)" in [e.text for e in shown.root.walk() if e.tag == "code"]
    assert "![fenced](figures/arch.png)" in shown.html
    assert (root / notes / "k.md").read_text(encoding="utf-8") == NOTE_WITH_FILES


# ---------------------------------------------------------------- 4. venue names


VENUES = [
    P({"booktitle": "Proceedings of the 41st International Conference on Machine Learning"},
      "ICML", id="icml-pmlr"),
    P({"booktitle": "International Conference on Machine Learning, {ICML} 2023, 23-29 July "
                    "2023, Honolulu, Hawaii, {USA}"}, "ICML", id="icml-dblp"),
    P({"booktitle": "Advances in Neural Information Processing Systems 36"}, "NeurIPS",
      id="neurips"),
    P({"booktitle": "The Twelfth International Conference on Learning Representations"},
      "ICLR", id="iclr"),
    P({"booktitle": "Proceedings of the 61st Annual Meeting of the Association for "
                    "Computational Linguistics (Volume 1: Long Papers)"}, "ACL", id="acl"),
    P({"booktitle": "Findings of the Association for Computational Linguistics: EMNLP 2023"},
      "EMNLP Findings", id="emnlp-findings"),
    P({"booktitle": "Proceedings of the 29th Symposium on Operating Systems Principles"},
      "SOSP", id="sosp"),
    P({"booktitle": "SC22: International Conference for High Performance Computing, "
                    "Networking, Storage and Analysis"}, "SC", id="sc"),
    P({"journal": "IEEE Transactions on Pattern Analysis and Machine Intelligence"}, "TPAMI",
      id="tpami"),
    P({"journal": "Transactions of the Association for Computational Linguistics"}, "TACL",
      id="tacl"),
    P({"journal": "Proc. {VLDB} Endow."}, "VLDB", id="pvldb-abbreviated"),
    P({"booktitle": "Proceedings of the {AAAI} Conference on Artificial Intelligence"}, "AAAI",
      id="aaai"),
    P({"booktitle": "Workshop on Efficient Systems"}, "Workshop on Efficient Systems",
      id="unknown-as-written"),
    P({"booktitle": "Proceedings of the 41st International Conference on Machine Learning",
       "venue": "ICML Spotlight"}, "ICML Spotlight", id="venue-field-wins"),
    P({"booktitle": "Proceedings of the ACM Web Conference 2024"}, "TheWebConf",
      id="user-table-adds"),
    P({"booktitle": "IEEE/CVF Conference on Computer Vision and Pattern Recognition"}, "CVPR'",
      id="user-table-overrides"),
    P({"booktitle": "Conference on Robot Learning"}, "Conference on Robot Learning",
      id="user-table-turns-one-off"),
]


@pytest.mark.parametrize(("fields", "short"), VENUES)
def test_the_readme_shows_the_usual_short_venue_name(cli: Cli, tmp_path: Path,
                                                     fields: dict[str, str], short: str) -> None:
    """Issue 11.4: without `venue`, the README showed "(International Conference on Machine
    Learning 2024)". The packaged table needs no configuration; a survey's own table (in
    the user-table cases only) adds, overrides and turns off names."""
    own = {"Proceedings of the ACM Web Conference": "TheWebConf",
           "Conference on Computer Vision and Pattern Recognition": "CVPR'",
           "Conference on Robot Learning": ""}
    config = ""
    if any(name in value for name in own for value in fields.values()):
        config = "venues = {" + ", ".join(f'"{k}" = "{v}"' for k, v in own.items()) + "}"
    root = survey(tmp_path, entry("k", "Paper", "A", year="2024", **fields), config=config)
    shown = built(cli, root)
    assert shown.outline()[-1] == (3, f"Paper ({short} 2024)")
    assert list(rows(shown)) == [f"Paper ({short} 2024)"]


def test_the_packaged_table_knows_the_issues_venues() -> None:
    from surveybib.venues import _packaged

    shorts = {short for _, short in _packaged()}
    assert {"ICML", "NeurIPS", "ICLR", "ACL", "EMNLP", "NAACL", "CVPR", "ICCV", "ECCV", "OSDI",
            "SOSP", "ASPLOS", "ISCA", "MICRO", "MLSys", "SC", "EuroSys", "ATC", "NSDI", "VLDB",
            "SIGMOD", "KDD", "AAAI", "IJCAI", "TPAMI", "JMLR", "TACL"} <= shorts


def test_the_packaged_table_never_gives_one_name_two_short_names() -> None:
    from surveybib.venues import _packaged, venue_key

    seen: dict[str, str] = {}
    for name, short in _packaged():
        assert seen.setdefault(venue_key(name), short) == short, name


# ---------------------------------------------------------------- 5. arXiv links


def test_arxiv_papers_link_their_abstract_page_however_they_were_added(
        cli: Cli, tmp_path: Path, fake_api: Any) -> None:
    """Issue 11.5: papers added by arXiv id linked doi.org/10.48550/..., the others
    arxiv.org/abs/...: one form for all."""
    fake_api.derive_datacite("10.48550/arXiv.2404.14294", title="A Survey on Efficient "
                             "Inference", creators=[("Zixuan", "Zhou")], year=2024)
    bib = (entry("eprint", "By Eprint", "A", eprint="2402.09748", archiveprefix="arXiv")
           + entry("doi", "By DOI", "A", doi="10.48550/arXiv.2312.15234")
           + entry("url", "By URL", "A", url="https://arxiv.org/pdf/1805.02867v2")
           + entry("journal", "By Journal", "A", journal="arXiv preprint arXiv:2312.03863")
           + entry("published", "Published", "A", doi="10.1145/3620666.3651335",
                   eprint="2305.09781", archiveprefix="arXiv"))
    root = survey(tmp_path, bib)
    added = run(cli, root, "add", "2404.14294", "--taxonomy", "A", SURVEYBIB_OFFLINE="",
                SURVEYBIB_RETRIES="0")
    assert added.exit_code == 0, added.output
    assert "10.48550/arxiv.2404.14294" in (root / "survey.bib").read_text("utf-8").lower()
    shown = built(cli, root)
    papers = {title.split(" (")[0]: links["paper"] for title, links in rows(shown).items()}
    assert papers == {
        "By Eprint": "https://arxiv.org/abs/2402.09748",
        "By DOI": "https://arxiv.org/abs/2312.15234",
        "By URL": "https://arxiv.org/abs/1805.02867v2",
        "By Journal": "https://arxiv.org/abs/2312.03863",
        "Published": "https://doi.org/10.1145/3620666.3651335",
        "A Survey on Efficient Inference": "https://arxiv.org/abs/2404.14294",
    }
    assert not any("10.48550" in link.href for link in shown.links)


# ---------------------------------------------------------------- 14. nothing hides the rest


LEFT_OPEN = [
    P("1. Steps:\n\n   ```python\n   run()", "code fence ``` is never closed",
      id="fence-in-a-list-item"),
    P("- a\n\n  - b\n\n    ~~~~\n    x", "code fence ~~~~ is never closed", id="fence-deeper"),
    P("> ```\n> quoted code", "code fence ``` is never closed", id="fence-in-a-quote"),
    P("Output:\n\n<pre>\n# not a heading", "HTML block <pre> is never closed", id="pre"),
    P("<script>\nlet x = 1;", "HTML block <script> is never closed", id="script"),
    P("<STYLE>\np { }", "HTML block <style> is never closed", id="style"),
    P("<textarea>\nnotes", "HTML block <textarea> is never closed", id="textarea"),
    P("<?php\necho 1;", "HTML block <? is never closed", id="processing-instruction"),
    P("<!DOCTYPE html", "HTML block <!DOCTYPE is never closed", id="declaration"),
    P("<![CDATA[\ndata", "HTML block <![CDATA[ is never closed", id="cdata"),
    P("- item\n\n  <pre>\n  x", "HTML block <pre> is never closed", id="pre-in-a-list-item"),
    P("Draft:\n<!-- todo", "HTML comment <!-- is never closed", id="comment"),
    P("<details>\n<summary>More</summary>\n\nHidden text.", "HTML element <details> is never "
      "closed", id="details-element"),
    P("Some <b>bold and <i>italic", "HTML elements <b>, <i> are never closed",
      id="inline-elements"),
    P("<div>\n<!-- a comment inside the div", "an HTML comment <!-- inside an HTML block and "
      "HTML element <div> are never closed", id="comment-in-html-block"),
]


@pytest.mark.parametrize(("note", "reason"), LEFT_OPEN)
def test_a_note_left_open_cannot_hide_the_rest_of_the_readme(cli: Cli, tmp_path: Path, note: str,
                                                             reason: str) -> None:
    """Issue 15.14: the fence closing an unclosed code block in a list item was added at
    column 0, where it opened a new block; HTML blocks of kinds 1, 3, 4 and 5 were never
    closed. Either way every later heading vanished on GitHub."""
    bib = entry("a", "First", "A") + entry("b", "Second", "A") + entry("c", "Third", "B")
    root = survey(tmp_path, bib, config='taxonomy = ["A", "B"]', notes={"a": note})
    result = run(cli, root, "build")
    assert result.exit_code == 0, result.output
    assert f"notes/a.md: a: warning: {reason}; closed at the end of the note so it cannot " \
        "swallow the rest of the README" in result.stderr.splitlines()
    shown = page((root / "README.md").read_text(encoding="utf-8"))
    assert shown.outline()[-4:] == [(3, "First"), (3, "Second"), (2, "3.2 B"), (3, "Third")]
    assert shown.broken_links() == []
    wrapper = shown.heading("Third").element.parent  # nothing of the note wraps what follows
    assert wrapper is shown.root, wrapper.tag if wrapper is not None else None


@pytest.mark.parametrize(("intro", "reason"), [LEFT_OPEN[0], LEFT_OPEN[3], LEFT_OPEN[8]])
def test_an_intro_left_open_cannot_hide_the_readme(cli: Cli, tmp_path: Path, intro: str,
                                                   reason: str) -> None:
    root = survey(tmp_path, entry("a", "First", "A"), intro=intro)
    result = run(cli, root, "build")
    assert result.exit_code == 0, result.output
    assert f"INTRO.md: warning: {reason}; closed at its end" in result.stderr.splitlines()
    shown = page((root / "README.md").read_text(encoding="utf-8"))
    intro = shown.outline().index((1, "0. Introduction"))
    assert shown.outline()[intro + 1] == (2, "Taxonomy")  # the next generated heading
    assert [h.text for h in shown.headings if h.level == 1] == [
        "Reading List", "0. Introduction", "1. Paper Reading Progress",
        "2. All Papers (Classifications according to Taxonomy)", "3. All Paper Reading Notes"]


# ---------------------------------------------------------------- 15. text stays text


PAYLOADS = [
    P("$a](javascript:alert(1))$", id="javascript"),
    P("$x](https://evil.example/)$", id="outside-link"),
    P("$[y](https://evil.example/)$", id="link-inside-math"),
    P("$x$ ok $](https://evil.example/) [$", id="between-two-maths"),
    P("$<https://evil.example/>$", id="autolink-in-math"),
]


@pytest.mark.parametrize("field", ["title", "venue", "reader", "taxonomy"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_math_in_a_field_never_becomes_a_link(cli: Cli, tmp_path: Path, field: str,
                                              payload: str) -> None:
    """Issue 15.15: `$a](javascript:alert(1))$` was copied into `[...](#anchor)` and
    cmark-gfm made it `<a href="javascript:alert(1)">`."""
    fields = {"title": "Paper", "taxonomy": "A", "venue": "ICML", "year": "2024",
              "url": "https://example.org/paper", field: payload}
    bib = "@misc{k,\n" + "".join(f"  {n} = {{{v}}},\n" for n, v in fields.items()) + "}\n"
    root = survey(tmp_path, bib + entry("j", "Other", f"B; {fields['taxonomy']}"))
    shown = built(cli, root)
    for link in shown.links:  # only our own links; a URL shown as text may be autolinked
        assert link.href.startswith("#") or link.href in ("https://example.org/paper",
                                                          link.text), link
        assert not link.href.startswith("javascript")
    # the payload in a label stays text of that label, which links where it should
    labels = [link for link in shown.links if link.href != link.text
              and ("javascript" in link.text or "evil.example" in link.text)]
    assert all(link.href.startswith("#") for link in labels), labels
    assert len(labels) >= (0 if field == "reader" else 1), [link.text for link in shown.links]


def test_nul_and_bidirectional_overrides_are_dropped_and_named(cli: Cli, tmp_path: Path) -> None:
    """Issue 15.15: NUL and U+202E reached README.md, after which git treats it as binary."""
    bib = entry("k", "Safe\u202eevil title", "A\u2066", reader="Ann\u2069")
    bib = bib.replace("evil title", "evil\x00 title")
    root = survey(tmp_path, bib, notes={"k": "A note \u202d with \x00 hidden characters."},
                  intro="Intro \u202b text.")
    result = run(cli, root, "build")
    assert result.exit_code == 0, result.output
    data = (root / "README.md").read_bytes()
    assert not re.search("[\x00\u202a-\u202e\u2066-\u2069]", data.decode("utf-8"))
    shown = page(data.decode("utf-8"))
    assert shown.heading("Safeevil title").level == 3
    assert "A note  with  hidden characters." in shown.html
    assert sorted(line for line in result.stderr.splitlines() if "dropped" in line) == [
        "INTRO.md: warning: holds U+202B RIGHT-TO-LEFT EMBEDDING; dropped from the README",
        "notes/k.md: k: warning: holds U+0000 NUL, U+202D LEFT-TO-RIGHT OVERRIDE; dropped "
        "from the README",
        "survey.bib:1: k: warning: reader holds U+2069 POP DIRECTIONAL ISOLATE; dropped from "
        "the README",
        "survey.bib:1: k: warning: taxonomy holds U+2066 LEFT-TO-RIGHT ISOLATE; dropped from "
        "the README",
        "survey.bib:1: k: warning: title holds U+0000 NUL, U+202E RIGHT-TO-LEFT OVERRIDE; "
        "dropped from the README",
    ]
    check = run(cli, root, "check")
    assert "title holds U+0000 NUL" in check.stderr


def test_terminal_escapes_never_reach_the_readme(cli: Cli, tmp_path: Path) -> None:
    """An OSC sequence in a title (`ESC ] 0;... BEL` sets a terminal's title; others do
    worse) reached README.md, its headings and its mindmap: whoever ran `cat README.md`
    ran it. Dropped from every part, and named."""
    bib = entry("k", "Fast \x1b]0;owned\x07decoding", "A") + entry("j", "Other", "A")
    root = survey(tmp_path, bib, notes={"k": "Red \x1b[31m text."})
    result = run(cli, root, "build")
    assert result.exit_code == 0, result.output
    text = (root / "README.md").read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", text)
    assert "Fast #93;0#59;owneddecoding" in text  # the mindmap's leaf, without #27; or #7;
    shown = page(text)
    assert shown.heading("Fast ]0;owneddecoding").level == 3
    assert "Red [31m text." in shown.html
    assert sorted(line for line in result.stderr.splitlines() if "dropped" in line) == [
        "notes/k.md: k: warning: holds U+001B ESCAPE; dropped from the README",
        "survey.bib:1: k: warning: title holds U+0007 ALERT, U+001B ESCAPE; dropped from the "
        "README",
    ]


# ---------------------------------------------------------------- templates (issue 10)


USAGE = (REPO / "docs" / "usage.md").read_text(encoding="utf-8")
TEMPLATES_DOC = USAGE[USAGE.index("### Templates"):USAGE.index("### Taxonomy figure")]
TWO_PAPERS = (entry("t1", "Read Paper", "A", reader="Ann", url="https://example.org/1")
              + entry("t2", "Unread Paper", "A"))


def test_the_worked_example_in_the_docs_overrides_one_block(cli: Cli, tmp_path: Path) -> None:
    example = re.search(r"```jinja\n(.*?)```", TEMPLATES_DOC, re.S)
    assert example is not None
    root = survey(tmp_path, TWO_PAPERS, notes={"t1": "# Key idea\n\nShort."},
                  files={"templates/README.md.j2": example.group(1)})
    shown = built(cli, root)
    first = shown.heading("Read Paper")
    following = shown.blocks()[shown.blocks().index(first.element) + 1]
    assert following.text == "Paper · read by Ann"
    assert [a.attrs["href"] for a in following.walk() if a.tag == "a"] == [
        "https://example.org/1"]
    assert shown.heading("Key idea").level == 4
    second = shown.blocks()[shown.blocks().index(shown.heading("Unread Paper").element) + 1]
    assert second.text == "read by nobody yet"
    assert [h.text for h in shown.headings if h.level == 1] == [
        "Reading List", "0. Introduction", "1. Paper Reading Progress",
        "2. All Papers (Classifications according to Taxonomy)", "3. All Paper Reading Notes"]
    before = (root / "README.md").read_bytes()
    assert run(cli, root, "build").exit_code == 0  # the next build accepts its own README
    assert (root / "README.md").read_bytes() == before
    assert run(cli, root, "build", "--check").exit_code == 0


def test_note_at_places_a_note_under_a_heading_of_any_level(cli: Cli, tmp_path: Path) -> None:
    template = ('{% extends "surveybib/README.md.j2" %}\n{% block paper %}\n'
                "{{ heading(2, p.title, p.id) }}\n\n{{ note_at(p, 3) }}\n\n{% endblock %}\n")
    root = survey(tmp_path, TWO_PAPERS, files={
        "templates/README.md.j2": template, "notes/t1.md": "# Results\n\n![f](f.png)",
        "notes/f.png": "png"})
    shown = built(cli, root)
    outline = shown.outline()
    assert outline[outline.index((2, "Read Paper")) + 1] == (3, "Results")
    assert [img.attrs["src"] for img in shown.images] == ["notes/f.png"]


@pytest.mark.parametrize("template", [
    P("# {{ title }}\n\n{% for p in papers %}- {{ p.title|md }}\n{% endfor %}", id="no-marker"),
    P("{{ marker }}: mine -->\n# {{ title }}\n\n{% for p in papers %}- {{ p.title|md }}\n"
      "{% endfor %}", id="old-style-marker"),
])
def test_a_template_of_ones_own_builds_again_and_again(cli: Cli, tmp_path: Path,
                                                       template: str) -> None:
    """A user template without `{{ marker }}` built once; then every build refused its own
    README as "not written by surveybib"."""
    root = survey(tmp_path, TWO_PAPERS, files={"templates/README.md.j2": template})
    for _ in range(3):
        result = run(cli, root, "build")
        assert result.exit_code == 0, result.output
    text = (root / "README.md").read_text(encoding="utf-8")
    assert text.startswith(GENERATED_MARKER) and text.count(GENERATED_MARKER) == 1
    assert page(text).outline() == [(1, "Reading List")]
    assert run(cli, root, "build", "--check").exit_code == 0


@pytest.mark.parametrize("statement", ['{% extends "README.md.j2" %}',
                                       '{% include "README.md.j2" %}'])
def test_a_template_that_loads_itself_is_refused_with_the_fix(cli: Cli, tmp_path: Path,
                                                              statement: str) -> None:
    root = survey(tmp_path, TWO_PAPERS, files={"templates/README.md.j2": statement})
    result = run(cli, root, "build")
    assert result.exit_code == 1
    assert "RecursionError" not in result.output
    assert 'write {% extends "surveybib/README.md.j2" %}' in result.stderr
    assert not (root / "README.md").exists()


def _doc_names(table_header: str) -> set[str]:
    """The names in the first column of the docs' table with that header."""
    rows = TEMPLATES_DOC[TEMPLATES_DOC.index(table_header):].split("\n\n")[0].splitlines()[2:]
    names: set[str] = set()
    for row in rows:
        for cell in re.findall(r"`([^`]+)`", row.split(" | ")[0]):
            names.add(re.sub(r"^text\\\|| ?\(.*$|^title\\\|", "", cell))
    return names


def test_the_docs_list_every_block_of_the_packaged_template() -> None:
    import jinja2

    from surveybib.readme.render import make_environment

    env = make_environment(None)
    source = env.loader.get_source(env, "README.md.j2")[0]
    blocks = {node.name for node in env.parse(source).find_all(jinja2.nodes.Block)}
    assert _doc_names("| block | renders |") == blocks


def test_the_docs_list_every_variable_filter_and_function_a_template_sees(
        tmp_path: Path) -> None:
    import jinja2

    from surveybib.bibtex.parse import parse_bib
    from surveybib.readme.render import (
        TEMPLATE_FILTERS,
        TEMPLATE_GLOBALS,
        make_environment,
        render_readme,
    )

    (tmp_path / "README.md.j2").write_text("{{ names() }}\n", encoding="utf-8")
    env = make_environment(tmp_path)
    seen: list[str] = []
    env.globals["names"] = jinja2.pass_context(
        lambda ctx: seen.extend(sorted(set(ctx.parent) - set(env.globals))) or "")
    render_readme(env, entries=parse_bib(TWO_PAPERS).entries, notes={}, taxonomy=(),
                  group_by="taxonomy", intro="", title="T", source="survey.bib")
    assert _doc_names("| variable | what |") == set(seen)
    assert _doc_names("| name | what |") == set(TEMPLATE_FILTERS) | set(TEMPLATE_GLOBALS)
    assert set(TEMPLATE_FILTERS) <= set(env.filters)


def test_the_docs_name_every_attribute_of_a_paper_and_a_category() -> None:
    import dataclasses

    from surveybib.readme.papers import Paper
    from surveybib.readme.taxonomy import Category

    text = " ".join(TEMPLATES_DOC.split())
    paper_text = text[text.index("A paper `p` has"):text.index("A category `c`")]
    category_text = text[text.index("A category `c`"):text.index("Filters and functions")]

    def public(cls: type) -> set[str]:
        fields = {f.name for f in dataclasses.fields(cls)}
        properties = {n for n, v in vars(cls).items() if isinstance(v, property)}
        methods = {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")}
        return fields | properties | methods

    documented = {re.sub(r"\(\)$", "", n) for n in re.findall(r"`([a-z_()]+)`", paper_text)}
    assert documented - {"p", "link_to"} == public(Paper)
    documented = {re.sub(r"\(\)$", "", n) for n in re.findall(r"`([a-z_()]+)`", category_text)}
    assert documented - {"c"} == public(Category)
