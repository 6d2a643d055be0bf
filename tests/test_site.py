"""The paper explorer page without a browser: what `surveybib site` and `build` write, how
`site` is configured, and what the HTML says (escaped, self-contained, every paper once).
The page driven in Chromium is tests/test_site_browser.py."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from conftest import Cli
from synthetic import hostile_survey, write_synthetic_survey

from surveybib.config import load_settings
from surveybib.site import site_data
from surveybib.site.links import NoteLinks
from surveybib.site.markup import render_note
from surveybib.survey import load_survey

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"


def survey(tmp_path: Path, fixture: str = "taxonomy", config: str = "") -> Path:
    root = Path(shutil.copytree(DATA / fixture, tmp_path / "survey"))
    if config:
        pyproject = root / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(text.replace("[tool.surveybib]\n", f"[tool.surveybib]\n{config}\n"),
                             encoding="utf-8")
    return root


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)


class Page(html.parser.HTMLParser):
    """The elements of a page, with each element's own text (as a browser parses it)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("meta", "input", "br", "hr", "img", "link"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag
                and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def text_of(self, element: Element) -> str:
        return "".join(element.text)


def write_site(cli: Cli, root: Path, out: Path) -> tuple[Result, str]:
    result = cli("-C", root, "site", "-o", out)
    return result, (out / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the command


def test_site_writes_every_paper_once_grouped_by_taxonomy(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    result, text = write_site(cli, root, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1].startswith(
        f"wrote {tmp_path / 'out' / 'index.html'} (8 papers); ")
    page = Page(text)
    titles = [page.text_of(e) for e in page.elements if e.tag == "h3"]
    assert sorted(titles) == sorted([
        "A Survey on Efficient Inference for Large Language Models",
        "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
        "AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration",
        "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache",
        "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers",
        "SpecInfer: Accelerating Large Language Model Serving with Tree-based Speculative "
        "Inference and Verification",
        "A Paper Whose Category Is Misspelled", "A Paper Without Any Category"])
    sections = [page.text_of(e).split(None, 1)[1] for e in page.elements
                if e.tag == "h2" and e.attrs.get("id", "").startswith("category-")]
    assert sections == ["Survey/Review", "大算子", "Quantization", "Quantization/Weight-only",
                        "Quantization/KV Cache", "🚀 Speed-ups", "Empty Category",
                        "Dynamic Inference", "Uncategorized"]
    # a paper of several categories is written under its first, and linked from the others
    also = [e for e in page.find("li", class_="also")]
    assert [page.text_of(e) for e in also] == [
        "SpecInfer: Accelerating Large Language Model Serving with Tree-based Speculative "
        "Inference and Verification (listed under Dynamic Inference)",
        "SpecInfer: Accelerating Large Language Model Serving with Tree-based Speculative "
        "Inference and Verification (listed under Dynamic Inference)",
        "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache (listed under "
        "Quantization/KV Cache)"]
    links = [page.elements[page.elements.index(e) + 1] for e in also]
    assert [(a.tag, a.attrs["href"]) for a in links] == [
        ("a", "#paper-miao2024specinfer"), ("a", "#paper-miao2024specinfer"),
        ("a", "#paper-kivi2024")]


def test_site_reports_the_survey_problems_and_still_writes(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    result, _ = write_site(cli, root, tmp_path / "out")
    assert result.exit_code == 0
    assert "survey.bib:" in result.stderr and "typo2024" in result.stderr  # 'Quantisation'
    assert "1 error" in result.stderr.splitlines()[-1]


def test_site_defaults_to_the_configured_folder_else_site(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    assert cli("-C", root, "site").exit_code == 0
    assert (root / "site" / "index.html").is_file()
    configured = survey(tmp_path / "b", config='site = {path = "public/explorer"}')
    assert cli("-C", configured, "site").exit_code == 0
    assert (configured / "public" / "explorer" / "index.html").is_file()
    assert not (configured / "site").exists()


def test_site_refuses_to_write_over_an_input(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    result = cli("-C", root, "site", "-o", str(root / "notes"))
    assert result.exit_code == 2
    assert "inside notes/ or templates/" in result.stderr
    assert sorted(p.name for p in (root / "notes").iterdir()) == [
        "dao2022flash.md", "miao2024specinfer.md"]


def test_site_is_the_same_bytes_every_time(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    _, first = write_site(cli, root, tmp_path / "one")
    _, second = write_site(cli, root, tmp_path / "two")
    assert first == second


# ---------------------------------------------------------------- build and check


def test_build_writes_the_site_when_configured(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path, config='site = "public"')
    result = cli("-C", root, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert "public/index.html" in result.stderr.splitlines()[-1]
    _, expected = write_site(cli, root, tmp_path / "expected")
    assert (root / "public" / "index.html").read_text(encoding="utf-8") == expected


def test_build_leaves_the_site_alone_when_not_configured(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    assert cli("-C", root, "build", "--offline").exit_code == 0
    assert not (root / "site").exists()


def test_check_and_build_check_never_ask_for_the_unpublished_site(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path, config='site = "site"')
    assert cli("-C", root, "build", "--offline").exit_code == 0
    shutil.rmtree(root / "site")  # not committed: a fresh clone has no site/
    check = cli("-C", root, "build", "--check")
    assert check.exit_code == 0, check.output
    assert not (root / "site").exists()
    lint = cli("-C", root, "check", "--format", "json")
    assert "stale-output" not in {f["rule"] for f in json.loads(lint.stdout)["findings"]}
    # ... while a stale README still fails, site or not
    (root / "README.md").write_text((root / "README.md").read_text(encoding="utf-8") + "x\n",
                                    encoding="utf-8")
    assert cli("-C", root, "build", "--check").exit_code == 1


@pytest.mark.parametrize("setting, folder", [
    pytest.param('site = "site"', "site", id="string"),
    pytest.param('site = {path = "docs/explorer"}', "docs/explorer", id="table"),
    pytest.param("site = true", "site", id="true"),
    pytest.param("site = false", None, id="false"),
    pytest.param('site = ""', None, id="empty"),
])
def test_site_setting(tmp_path: Path, setting: str, folder: str | None) -> None:
    root = survey(tmp_path, config=setting)
    settings = load_settings(root)
    assert settings.site == (root / folder if folder else None)


@pytest.mark.parametrize("setting, message", [
    pytest.param("site = 3", "site must be a folder", id="number"),
    pytest.param('site = {folder = "x"}', "site must be a folder", id="unknown-key"),
    pytest.param('site = "../elsewhere"', "points outside", id="outside"),
    pytest.param('site = "notes"', "would overwrite a note", id="over-notes"),
])
def test_bad_site_setting_is_one_line(cli: Cli, tmp_path: Path, setting: str, message: str) -> None:
    root = survey(tmp_path, config=setting)
    result = cli("-C", root, "site")
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- the page's content


def test_a_paper_shows_its_authors_venue_year_links_reader_and_note(tmp_path: Path) -> None:
    root = survey(tmp_path)
    data = site_data(load_survey(load_settings(root)))
    spec = next(p for p in data.papers if p.key == "miao2024specinfer")
    assert spec.venue == "ASPLOS" and spec.year == 2024
    assert spec.categories == ("Dynamic Inference", "🚀 Speed-ups", "大算子")
    assert spec.readers == ("Yin, Lihao",)
    assert [(link.label, link.url) for link in spec.links] == [
        ("DOI", "https://doi.org/10.1145/3620666.3651335")]
    assert "<em>token tree</em>" in spec.note_html and "<h5>Key idea</h5>" in spec.note_html
    flash = next(p for p in data.papers if p.key == "dao2022flash")
    assert flash.authors == ("Tri Dao", "Daniel Y. Fu", "Stefano Ermon", "Atri Rudra",
                             "Christopher Ré")
    assert flash.readers == ("王小明",) and flash.venue == "NeurIPS"
    survey_paper = next(p for p in data.papers if p.key == "zhou2024survey")
    assert survey_paper.authors == ("Zixuan Zhou", "et al.")
    assert [link.label for link in survey_paper.links] == ["arXiv"]
    assert next(p for p in data.papers if p.key == "lin2024awq").note_html == ""


def test_math_in_a_title_is_shown_as_text(cli: Cli, tmp_path: Path) -> None:
    """The page draws no TeX: `$O(n^2)$` in this repository's survey showed as written."""
    _, text = write_site(cli, TESTS.parent, tmp_path / "out")
    page = Page(text)
    titles = [page.text_of(e) for e in page.elements if e.tag == "h3"]
    assert "Self-attention Does Not Need O(n²) Memory" in titles
    assert not [t for t in titles if "$" in t or "\\" in t]


def test_each_papers_bibtex_is_the_clean_export_of_that_paper(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    _, text = write_site(cli, root, tmp_path / "out")
    page = Page(text)
    shown = {e.attrs["id"]: page.text_of(e.next) for e in _with_next(page, "li", "pre")}
    for key in ("zhou2024survey", "dao2022flash", "miao2024specinfer", "nocat2024"):
        export = cli("-C", root, "-q", "export", "--format", "bibtex", "--keys", key)
        assert shown[f"paper-{key}"] == export.stdout
        assert "taxonomy" not in export.stdout and "reader" not in export.stdout


@dataclass
class _Pair:
    attrs: dict[str, str]
    next: Element


def _with_next(page: Page, outer: str, inner: str) -> list[_Pair]:
    """Each paper <li> with the first `inner` element inside it."""
    pairs = []
    for i, element in enumerate(page.elements):
        if element.tag == outer and element.attrs.get("class") == "paper":
            found = next(e for e in page.elements[i + 1:] if e.tag == inner)
            pairs.append(_Pair(element.attrs, found))
    return pairs


@pytest.mark.parametrize("markdown, expected", [
    pytest.param("# Big\n\n## Smaller", "<h4>Big</h4>\n<h5>Smaller</h5>", id="headings-shift"),
    pytest.param("| a | b |\n|---|--:|\n| 1 | 2 |", "<td>2</td>", id="table"),
    pytest.param("~~gone~~", "<p><s>gone</s></p>", id="strikethrough"),
    pytest.param("![a chart](https://example.org/c.png)",
                 '<p><a href="https://example.org/c.png" rel="noopener noreferrer nofollow">'
                 "a chart</a></p>", id="image-becomes-link"),
    pytest.param("x <sub>2</sub> <kbd>Ctrl</kbd>", "<p>x <sub>2</sub> <kbd>Ctrl</kbd></p>",
                 id="harmless-html-kept"),
])
def test_note_markdown(markdown: str, expected: str) -> None:
    assert expected in render_note(markdown)


@pytest.mark.parametrize("markdown", [
    pytest.param("<script>window.x=1</script>", id="script"),
    pytest.param('<img src=x onerror="window.x=1">', id="img-onerror"),
    pytest.param('<a href="#" onclick="window.x=1">a</a>', id="onclick"),
    pytest.param("[a](javascript:window.x=1)", id="markdown-javascript-link"),
    pytest.param('<a href="javascript:window.x=1">a</a>', id="html-javascript-link"),
    pytest.param('<a href="data:text/html,<script>window.x=1</script>">a</a>', id="data-link"),
    pytest.param('<a href="JaVaScRiPt&colon;window.x=1">a</a>', id="entity-scheme"),
    pytest.param('<svg onload="window.x=1"></svg>', id="svg-onload"),
    pytest.param('<iframe srcdoc="<script>window.x=1</script>"></iframe>', id="iframe"),
    pytest.param('<style>body{background:url(https://evil.example/x)}</style>', id="style"),
    pytest.param('<p style="background:url(https://evil.example/x)">x</p>', id="style-attr"),
    pytest.param('<meta http-equiv="refresh" content="0;url=javascript:window.x=1">',
                 id="meta-refresh"),
    pytest.param('<form action="https://evil.example"><button>go</button></form>', id="form"),
])
def test_note_html_that_could_run_or_fetch_is_removed(markdown: str) -> None:
    html_text = render_note(markdown, NoteLinks().resolve)  # a page outside the survey
    page = Page(f"<div>{html_text}</div>")
    for element in page.elements:
        assert element.tag not in ("script", "img", "svg", "iframe", "style", "meta", "form")
        assert not any(name.startswith("on") or name in ("style", "src", "srcdoc", "action")
                       for name in element.attrs)
        href = element.attrs.get("href", "")
        assert not href or re.match(r"^(https?:|mailto:|#)", href), href
        assert "evil.example" not in " ".join(element.attrs.values())


@pytest.mark.parametrize("links", [
    pytest.param(NoteLinks(), id="dropped"),
    pytest.param(NoteLinks(files_url="https://github.com/o/r/blob/main/"), id="files-url"),
    pytest.param(NoteLinks(page_folder="site"), id="beside-the-page"),
])
@pytest.mark.parametrize("markdown", [
    pytest.param("""<img src='a.png#" onerror="window.x=1' alt=x>""", id="img-fragment-quote"),
    pytest.param("""<a href='a.pdf?" onclick="window.x=1'>a</a>""", id="a-query-quote"),
    pytest.param('[a](<a.png#"onclick=window.x=1>)', id="markdown-fragment-quote"),
    pytest.param("""<img src="x.png" alt='"><script>window.x=1</script>'>""", id="img-alt"),
    pytest.param("""<img src="javascript:window.x=1" alt="j">""", id="img-javascript"),
    pytest.param("![d](data:image/svg+xml,<svg onload=window.x=1>)", id="markdown-data-image"),
    pytest.param("[n](x.md#</a><script>window.x=1</script>)", id="link-breakout"),
])
def test_a_rewritten_target_stays_one_inert_attribute(markdown: str, links: NoteLinks) -> None:
    """What the resolver returns is not checked again by the sanitiser: a quote, a tag or
    a scheme in a note's target must still end up inside one href."""
    page = Page(f"<div>{render_note(markdown, links.resolve)}</div>")
    for element in page.elements:
        assert element.tag in ("div", "p", "a"), element
        assert set(element.attrs) <= {"href", "rel"}, element
        href = element.attrs.get("href", "")
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) or \
            re.match(r"^https://github\.com/o/r/blob/main/", href), href


# ---------------------------------------------------------------- a note's relative links

LINKED_NOTE = """\
Tiling, as in ![the tiling figure](figures/tiling.png) and <img src="figures/io.png" alt="IO">.
Compare [SpecInfer](miao2024specinfer.md#key-idea) and [the usage](/docs/usage.md);
the [exports](../exports/survey.bib), [elsewhere](../../secret.txt) and [a heading](#tiling).
"""


def _linked_survey(tmp_path: Path) -> Path:
    root = survey(tmp_path)
    (root / "notes" / "dao2022flash.md").write_text(LINKED_NOTE, encoding="utf-8")
    (root / "notes" / "figures").mkdir()
    (root / "notes" / "figures" / "tiling.png").write_bytes(b"png")
    return root


def _note_links(text: str, key: str = "dao2022flash") -> list[tuple[str, str | None]]:
    """(text, href) of each link in KEY's note on the page."""
    page = Page(text)
    start = next(i for i, e in enumerate(page.elements) if e.attrs.get("id") == f"paper-{key}")
    body = next(i for i in range(start, len(page.elements))
                if page.elements[i].attrs.get("class") == "note-body")
    end = next(i for i in range(body, len(page.elements)) if page.elements[i].tag == "details"
               and page.elements[i].attrs.get("class") == "bib")
    return [(page.text_of(e), e.attrs.get("href")) for e in page.elements[body:end]
            if e.tag == "a"]


def test_a_notes_links_go_to_the_repositorys_files_on_the_published_page(
        cli: Cli, tmp_path: Path) -> None:
    """As the Pages workflow builds it: relative targets resolve to the repository's files
    at --files-url (a 404 on Pages when left as written), a note's link to another
    paper's note to that paper on the page, images (markdown or <img>) become links."""
    root = _linked_survey(tmp_path)
    result = cli("-C", root, "site", "-o", tmp_path / "_site",
                 "--files-url", "https://github.com/o/r/blob/0a1b")
    assert result.exit_code == 0, result.output
    blob = "https://github.com/o/r/blob/0a1b/"
    assert _note_links((tmp_path / "_site" / "index.html").read_text(encoding="utf-8")) == [
        ("the tiling figure", blob + "notes/figures/tiling.png"),
        ("IO", blob + "notes/figures/io.png"),
        ("SpecInfer", "#paper-miao2024specinfer"),
        ("the usage", blob + "docs/usage.md"),
        ("exports", blob + "exports/survey.bib"),
        ("elsewhere", None), ("a heading", "#tiling")]
    assert result.stderr.count("warning: ") == 1
    page = Page((tmp_path / "_site" / "index.html").read_text(encoding="utf-8"))
    footer = next(i for i, e in enumerate(page.elements) if e.tag == "footer")
    # the published page leads its readers back to the repository
    assert [(e.attrs["href"], page.text_of(e)) for e in page.elements[footer:]
            if e.tag == "a"] == [(blob + "survey.bib", "survey.bib"),
                                 (blob + "notes/", "the reading notes")]
    assert ("notes/dao2022flash.md: dao2022flash: warning: link to '../../secret.txt' left "
            "out of the explorer page: it points outside the repository") in result.stderr


def test_a_page_written_in_the_survey_links_the_files_beside_it(cli: Cli,
                                                                tmp_path: Path) -> None:
    """`build` and `surveybib site` write site/index.html for a local look: a relative
    target goes to the file itself, from the page's folder."""
    root = _linked_survey(tmp_path)
    result = cli("-C", root, "site")
    assert result.exit_code == 0, result.output
    links = dict(_note_links((root / "site" / "index.html").read_text(encoding="utf-8")))
    assert links["the tiling figure"] == "../notes/figures/tiling.png"
    assert (root / "site" / "../notes/figures/tiling.png").resolve().is_file()
    assert links["the usage"] == "../docs/usage.md" and links["elsewhere"] is None


def test_a_page_written_elsewhere_without_the_files_url_drops_them_and_says_so(
        cli: Cli, tmp_path: Path) -> None:
    root = _linked_survey(tmp_path)
    result = cli("-C", root, "site", "-o", tmp_path / "elsewhere")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "elsewhere" / "index.html").read_text(encoding="utf-8")
    assert dict(_note_links(text)) == {"SpecInfer": "#paper-miao2024specinfer",
                                       "the usage": None, "exports": None,
                                       "elsewhere": None, "a heading": "#tiling"}
    assert "Tiling, as in the tiling figure and IO." in text  # an image keeps its alt text
    warned = [line for line in result.stderr.splitlines() if "warning: " in line]
    assert len(warned) == 5
    assert ("notes/dao2022flash.md: dao2022flash: warning: link to 'figures/tiling.png' left "
            "out of the explorer page: it is a file of the repository, and the page is written "
            "outside it; give `surveybib site --files-url URL` (e.g. "
            "https://github.com/OWNER/REPO/blob/main/)") in warned


@pytest.mark.parametrize("url", ["github.com/o/r", "javascript:alert(1)//", "ftp://x/y",
                                 'https://x/"><script>'])
def test_files_url_must_be_an_http_address(cli: Cli, tmp_path: Path, url: str) -> None:
    result = cli("-C", survey(tmp_path), "site", "--files-url", url)
    assert result.exit_code == 2
    assert "--files-url" in result.stderr and "https://github.com/OWNER/REPO/blob/main/" in \
        result.stderr


# ---------------------------------------------------------------- safe and self-contained


def _csp(text: str) -> str:
    page = Page(text)
    (meta,) = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    return meta.attrs["content"]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_csp_allows_exactly_the_pages_own_script_and_style(cli: Cli, tmp_path: Path) -> None:
    _, text = write_site(cli, survey(tmp_path), tmp_path / "out")
    policy = dict(part.strip().split(None, 1) for part in _csp(text).split(";"))
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == _sha256(scripts[0])
    assert policy["style-src"] == _sha256(styles[0])
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert "unsafe" not in _csp(text)
    # the CSP must come before anything it governs
    assert text.index("Content-Security-Policy") < text.index("<style>")


def test_the_page_loads_nothing_from_anywhere(cli: Cli, tmp_path: Path) -> None:
    _, text = write_site(cli, survey(tmp_path), tmp_path / "out")
    page = Page(text)
    for element in page.elements:
        assert element.tag not in ("link", "img", "iframe", "object", "embed", "base")
        assert "src" not in element.attrs and "srcset" not in element.attrs
        if element.tag == "script":
            assert element.attrs in ({}, {"type": "application/json", "id": "survey-data"})
    assert "url(" not in re.search(r"<style>(.*?)</style>", text, re.S).group(1)  # type: ignore[union-attr]
    assert "@import" not in text and "@font-face" not in text


def test_hostile_text_reaches_the_html_only_as_text(cli: Cli, tmp_path: Path) -> None:
    root = hostile_survey(tmp_path / "evil")
    result, text = write_site(cli, root, tmp_path / "out")
    assert result.exit_code == 0, result.output
    page = Page(text)
    for element in page.elements:
        assert not [a for a in element.attrs if a.startswith("on")], element
        href = element.attrs.get("href", "")
        assert not href or re.match(r"^(https?:|mailto:|#)", href), href
    assert [e.attrs for e in page.find("script")] == [
        {"type": "application/json", "id": "survey-data"}, {}]
    titles = [page.text_of(e) for e in page.elements if e.tag == "h3"]
    assert """<img src=x onerror="top.pwned='title'">""" in titles
    (data,) = re.findall(r'<script type="application/json" id="survey-data">(.*?)</script>',
                         text, re.S)
    assert "<" not in data and ">" not in data
    assert json.loads(data)["categories"][0].startswith('"><img')


def _json_data(text: str) -> dict[str, Sequence[object]]:
    (data,) = re.findall(r'id="survey-data">(.*?)</script>', text, re.S)
    loaded: dict[str, Sequence[object]] = json.loads(data)
    return loaded


def test_the_data_follows_the_papers(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    _, text = write_site(cli, root, tmp_path / "out")
    data = _json_data(text)
    papers = data["papers"]
    assert data["categories"] == ["Survey/Review", "大算子", "Quantization",
                                  "Quantization/Weight-only", "Quantization/KV Cache",
                                  "🚀 Speed-ups", "Empty Category", "Dynamic Inference",
                                  "Uncategorized"]
    # in the order the page writes the papers, each with its place in survey.bib
    assert [p["order"] for p in papers] == [0, 1, 4, 2, 3, 5, 6, 7]  # type: ignore[index]
    kivi = papers[4]
    assert isinstance(kivi, dict) and kivi["order"] == 3
    # a sub-level paper is also found under its declared parent
    assert kivi["categories"] == [2, 4, 7] and kivi["year"] == 2024
    assert kivi["citations"] is None and kivi["note"] is False


def test_a_template_in_templates_changes_the_page(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    (root / "templates").mkdir()
    (root / "templates" / "site.html.j2").write_text(
        '{% extends "site-base.html.j2" %}{% block filters %}{% endblock %}', encoding="utf-8")
    (root / "templates" / "site-paper.html.j2").write_text(
        '<li class="paper" id="{{ p.anchor }}"><h3>{{ p.title }}</h3> ({{ p.year }})</li>\n',
        encoding="utf-8")
    result, text = write_site(cli, root, tmp_path / "out")
    assert result.exit_code == 0, result.output
    page = Page(text)
    assert not page.find("form") and not page.find("input")  # the filters block is gone
    assert [page.text_of(e) for e in page.find("li", class_="paper")][:1] == [
        "A Survey on Efficient Inference for Large Language Models (2024)"]


def test_a_broken_site_template_is_named(cli: Cli, tmp_path: Path) -> None:
    root = survey(tmp_path)
    (root / "templates").mkdir()
    (root / "templates" / "site-paper.html.j2").write_text("<li>{% if %}</li>\n",
                                                           encoding="utf-8")
    result = cli("-C", root, "site")
    assert result.exit_code == 1
    assert "templates/site-paper.html.j2:1: template syntax error" in result.stderr


def test_citation_counts_and_code_links_come_from_the_store(cli: Cli, tmp_path: Path) -> None:
    root = write_synthetic_survey(tmp_path / "synthetic", 200)
    store = json.loads((root / "survey.lock.json").read_text(encoding="utf-8"))
    data = site_data(load_survey(load_settings(root)))
    cited = [p for p in data.papers if p.citations is not None]
    coded = [p for p in data.papers if p.code]
    assert len(cited) == len(store["citations"]) and len(coded) == len(store["code"])
    first = coded[0]
    record = next(v for k, v in store["code"].items() if k.endswith(first.key)
                  or first.key in v["repo"])
    assert [(link.label, link.url) for link in first.code] == [("Code", record["repo"])]
    assert first.stars == record["stars"]
    _, text = write_site(cli, root, tmp_path / "out")
    page = Page(text)
    assert [o.attrs["value"] for o in page.find("option")][:4] == [
        "order", "year", "title", "citations"]  # sorting by citations is offered
    assert page.find("input", id="has-code")
    items = _json_data(text)["papers"]
    assert sum(1 for p in items if isinstance(p, dict) and p["code"]) == len(coded)
    assert f"{cited[0].citations:,} citations" in text


def test_a_survey_without_counts_offers_neither(cli: Cli, tmp_path: Path) -> None:
    _, text = write_site(cli, survey(tmp_path), tmp_path / "out")
    page = Page(text)
    assert "citations" not in [o.attrs["value"] for o in page.find("option")]
    assert not page.find("input", id="has-code")


def test_hostile_store_records_give_no_link_and_no_count(tmp_path: Path) -> None:
    root = hostile_survey(tmp_path / "evil")
    data = site_data(load_survey(load_settings(root)))
    evil2 = next(p for p in data.papers if p.key == "evil2")
    assert evil2.code == () and evil2.stars is None and evil2.citations is None
