"""Citation export: golden files per format, round trips through a BibTeX parser, the real
`bibtex` program, CSL-JSON checked against the CSL schema and rendered by citeproc-py, and
the `surveybib export` command.

Inputs: tests/data/export/survey.bib (a small fixture survey), the repository's own
survey.bib, and, in the corpus sweep (marked `corpora`: SURVEYBIB_CORPORA, which .ci/run
points at ../shared/corpora), ml/*.bib and large/d2l_d2l-en.bib (real bibliographies by
other people; see ../shared/corpora/SOURCES.md).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import Cli, corpus_path

from surveybib.bibtex.dates import month_number
from surveybib.bibtex.names import NAME_FIELDS, bibtex_names
from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.write import dash_pages, protect_case
from surveybib.errors import ConfigError, UsageError
from surveybib.export import (
    DEFAULT_SKIP,
    ExportOptions,
    export_entries,
    render_configured,
    render_export,
    run_export,
    spec_options,
)
from surveybib.export.aux import aux_inputs, parse_aux
from surveybib.export.bibtex import bibtex_type, classic_fields
from surveybib.export.csl_json import dump_csl_json, to_csl_json
from surveybib.export.fields import clean_doi, clean_fields
from surveybib.export.select import select_entries, sort_entries
from surveybib.latex import to_unicode, url_from_latex
from surveybib.model import Entry

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURE = TESTS / "data" / "export"
GOLDEN = TESTS / "golden" / "export"
SRC = ROOT / "src"


def load(path: Path) -> tuple[Entry, ...]:
    return parse_bib(path.read_text(encoding="utf-8"), path.name).entries


def fixture_entries() -> tuple[Entry, ...]:
    return load(FIXTURE / "survey.bib")


def corpus(name: str) -> Path:
    if name == "survey.bib":
        return ROOT / "survey.bib"
    return corpus_path(*name.split("/"))


def _sweep(*names: str) -> list[object]:
    """The repository's own survey.bib, and files of the corpus sweep (marked `corpora`)."""
    return [n if n in ("survey.bib", "fixture") else pytest.param(n, marks=pytest.mark.corpora)
            for n in names]


CORPORA = _sweep(
    "survey.bib",
    "ml/llm_b-vitamins-collection.bib",
    "ml/llm_models_bib_llm.bib",
    "ml/llm_models_bib_lvlm.bib",
    "ml/mlsys_openmlsys-zh.bib",
    "ml/scaling-book_main.bib",
    "large/d2l_d2l-en.bib",
)


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), text.splitlines(),
                                              f"golden/{name}", "output", lineterm=""))
        pytest.fail(f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it):\n{diff}")


# ---------------------------------------------------------------- golden files


@pytest.mark.parametrize(("golden", "fmt", "options"), [
    pytest.param("survey.bib", "bibtex", {}, id="bibtex"),
    pytest.param("survey-unicode.bib", "bibtex", {"unicode": True}, id="bibtex-unicode"),
    pytest.param("survey-biblatex.bib", "biblatex", {}, id="biblatex"),
    pytest.param("survey.json", "csl-json", {}, id="csl-json"),
    pytest.param("survey.ris", "ris", {}, id="ris"),
    pytest.param("survey-plain.txt", "text", {"style": "plain"}, id="text-plain"),
    pytest.param("survey-unsrt.md", "markdown", {"style": "unsrt"}, id="markdown-unsrt"),
    pytest.param("survey-alpha.html", "html", {"style": "alpha"}, id="html-alpha"),
    pytest.param("survey-csl.txt", "text", {"csl": "surveybib-numeric"}, id="text-csl"),
    pytest.param("survey-csl.md", "markdown", {"csl": "surveybib-numeric"}, id="markdown-csl"),
    pytest.param("survey-csl.html", "html", {"csl": "surveybib-numeric"}, id="html-csl"),
])
def test_golden(golden: str, fmt: str, options: dict[str, object]) -> None:
    text = render_export(fixture_entries(), fmt, **options)  # type: ignore[arg-type]
    assert_golden(golden, text)


def test_custom_fields_are_stripped_and_keep_brings_one_back() -> None:
    entries = fixture_entries()
    plain = render_export(entries, "bibtex")
    for name in ("taxonomy", "reader", "venue", "file", "abstract"):
        assert f"  {name} = " not in plain
    kept = render_export(entries, "bibtex", keep=frozenset({"abstract"}))
    assert "  abstract = {The high computational" in kept
    assert "  file = " not in kept
    skipped = render_export(entries, "bibtex", skip_fields=DEFAULT_SKIP | {"publisher"})
    assert "publisher = " not in skipped
    assert [e.key for e in entries] == re.findall(r"^@\w+\{([^,]+),", plain, re.M)


# ---------------------------------------------------------------- BibTeX details


def bib_entry(**fields: str) -> Entry:
    etype = fields.pop("type", "article")
    return Entry("k", etype, tuple(fields.items()))


def bibtex_field(entry: Entry, name: str, unicode: bool = False) -> str:
    text = render_export([entry], "bibtex", unicode=unicode)
    match = re.search(rf"^  {name} = (.*?),?$", text, re.M)
    assert match, text
    return match.group(1)


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("May", "may", id="resolved-macro"),
    pytest.param("5", "may", id="number"),
    pytest.param("05", "may", id="zero-padded"),
    pytest.param("sept.", "sep", id="abbreviation"),
    pytest.param("December", "dec", id="full-name"),
    pytest.param("May--June", "{May--June}", id="not-one-month-kept"),
])
def test_months_become_macros(value: str, expected: str) -> None:
    assert bibtex_field(bib_entry(title="T", month=value), "month") == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("611-626", "{611--626}", id="hyphen"),
    pytest.param("6769–6781", "{6769--6781}", id="en-dash"),
    pytest.param("1 - 10, 12-14", "{1--10, 12--14}", id="two-ranges"),
    pytest.param("e1003", "{e1003}", id="article-number"),
    pytest.param("S1---S9", "{S1--S9}", id="em-dash-ascii"),
])
def test_page_ranges_use_double_dash(value: str, expected: str) -> None:
    assert bibtex_field(bib_entry(title="T", pages=value), "pages") == expected


@pytest.mark.parametrize(("name", "value", "expected"), [
    pytest.param("doi", r"10.1007/978-3-642-35289-8\_32", "{10.1007/978-3-642-35289-8_32}",
                 id="doi-escaped-underscore"),
    pytest.param("doi", "https://doi.org/10.1145/3530811", "{10.1145/3530811}", id="doi-url"),
    pytest.param("doi", "doi:10.1145/3530811", "{10.1145/3530811}", id="doi-prefix"),
    pytest.param("url", r"https://x.org/a\_b?q=1\&r=50\%", "{https://x.org/a_b?q=1&r=50%}",
                 id="url-escapes"),
    pytest.param("url", r"https://x.org/\textasciitilde{}me", "{https://x.org/~me}",
                 id="url-tilde"),
    pytest.param("url", "https://x.org/Ü", "{https://x.org/Ü}", id="url-never-ascii-converted"),
])
def test_doi_and_url_are_never_escaped(name: str, value: str, expected: str) -> None:
    assert bibtex_field(bib_entry(title="T", **{name: value}), name) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("Müller, Jürgen", r"M{\"u}ller, J{\"u}rgen", id="umlaut"),
    pytest.param("Oğuz, Barlas", r"O{\u{g}}uz, Barlas", id="breve"),
    pytest.param("{Meta AI} and Touvron, Hugo", "{Meta AI} and Touvron, Hugo",
                 id="organisation-stays-braced"),
    pytest.param("Ramón y Cajal, Santiago,", r"Ram{\'o}n y Cajal, Santiago",
                 id="trailing-comma-dropped"),
    pytest.param("Isard, Michael and et al.", "Isard, Michael and others", id="et-al"),
    pytest.param("A, B\n  and   C, D", "A, B and C, D", id="whitespace"),
])
def test_names_for_bibtex(value: str, expected: str) -> None:
    assert bibtex_field(bib_entry(title="T", author=value), "author") == "{" + expected + "}"


def test_unicode_keeps_utf8_and_ascii_mode_has_no_non_ascii() -> None:
    entries = fixture_entries()
    ascii_text = render_export(entries, "bibtex")
    assert ascii_text.isascii()
    unicode_text = render_export(entries, "bibtex", unicode=True)
    assert "Oğuz" in unicode_text and "Grégoire" in unicode_text
    assert r"Genevi{\`e}ve" in unicode_text  # what the user wrote in LaTeX stays LaTeX


@pytest.mark.parametrize(("title", "expected"), [
    pytest.param("SpecInfer: Fast Serving", "{SpecInfer}: Fast Serving", id="camel-case"),
    pytest.param("LLM Inference on GPUs", "{LLM} Inference on {GPU}s", id="acronym-plural"),
    pytest.param("Training on A100 and H100", "Training on {A100} and {H100}", id="digits"),
    pytest.param("{FlashAttention}: Fast", "{FlashAttention}: Fast", id="already-braced"),
    pytest.param("{{LLM}} and {GPU}s", "{{LLM}} and {GPU}s", id="never-double-protected"),
    pytest.param("Tensor{F}low Serving", "Tensor{F}low Serving", id="partly-braced-word"),
    pytest.param("{Attention Is All You Need}", "{Attention Is All You Need}",
                 id="whole-title-braced"),
    pytest.param("Does Not Need $O(n^2)$ Memory", "Does Not Need {$O(n^2)$} Memory",
                 id="math-with-capital"),
    pytest.param("The $k$-means Method", "The $k$-means Method", id="math-lower-case"),
    pytest.param(r"Parsing \LaTeX{} Fast", r"Parsing \LaTeX{} Fast", id="command-untouched"),
    pytest.param("Mixture-of-Experts with MoE-based IO", "Mixture-of-Experts with {MoE}-based {IO}",
                 id="hyphenated"),
    pytest.param("A Survey of Large Language Models", "A Survey of Large Language Models",
                 id="ordinary-title-untouched"),
])
def test_conservative_case_protection(title: str, expected: str) -> None:
    assert protect_case(title) == expected


def test_biblatex_only_types_and_fields_map_to_classic_bibtex() -> None:
    entry = Entry("k", "online", (("title", "T"), ("journaltitle", "J"), ("date", "2021-03"),
                                  ("location", "Here")))
    text = render_export([entry], "bibtex")
    assert text.startswith("@misc{k,")
    assert "journal = {J}" in text and "year = {2021}" in text and "month = mar" in text
    assert "address = {Here}" in text and "date =" not in text
    assert bibtex_type("thesis", {"type": "Master's thesis"}) == "mastersthesis"
    assert bibtex_type("report", {}) == "techreport"


def test_crossref_parents_come_after_their_children() -> None:
    parent = Entry("proc", "proceedings", (("title", "Proc"), ("year", "2020")))
    child = Entry("paper", "inproceedings", (("title", "P"), ("crossref", "proc")))
    selected, unknown = select_entries([parent, child], keys=["paper"])
    assert [e.key for e in selected] == ["paper", "proc"] and unknown == ()
    text = render_export([parent, child], "bibtex")
    assert text.index("@inproceedings{paper") < text.index("@proceedings{proc")


def test_unbalanced_escaped_brace_from_metadata_still_compiles() -> None:
    entry = Entry("k", "misc", (("title", r"Sets \{x"),))
    result = export_entries([entry], "bibtex")
    assert r"title = {Sets \textbraceleft{}x}" in result.text
    assert result.problems == ()


# ---------------------------------------------------------------- BibLaTeX, CSL-JSON, RIS


def test_biblatex_dates_journaltitle_eprint_and_online() -> None:
    text = render_export(fixture_entries(), "biblatex")
    assert "@online{miao2023specinfer," in text and "date = {2023-05}" in text
    assert "eprint = {2305.09781}" in text and "eprinttype = {arxiv}" in text
    assert "journaltitle = {ACM Computing Surveys}" in text and "eid = {109}" in text
    assert "arXiv preprint" not in text and "volume = {abs/" not in text
    assert "Oğuz" in text  # UTF-8
    assert "\n  year = " not in text and "\n  journal = " not in text


def test_csl_json_types_and_fields() -> None:
    items = {item["id"]: item for item in to_csl_json(fixture_entries())}
    assert items["openai2023gpt4"]["author"] == [{"literal": "OpenAI"}]
    assert items["openai2023gpt4"]["type"] == "article"
    assert items["miao2023specinfer"]["issued"] == {"date-parts": [[2023, 5]]}
    assert items["kwon2023vllm"]["type"] == "paper-conference"
    assert items["kwon2023vllm"]["page"] == "611-626"
    assert items["kwon2023vllm"]["DOI"] == "10.1145/3600006.3613165"
    assert items["karpukhin2020dense"]["author"][1] == {"family": "Oğuz", "given": "Barlas"}
    assert items["tay2022efficient"]["type"] == "article-journal"
    assert items["tay2022efficient"]["issue"] == "6"
    assert items["tay2022efficient"]["number"] == "109"
    assert items["tay2022efficient"]["container-title"] == "ACM Computing Surveys"
    assert items["hinton2012practical"]["type"] == "chapter"
    assert items["hinton2012practical"]["editor"][2] == {"family": "Müller",
                                                          "given": "Klaus-Robert"}
    assert items["hinton2012practical"]["DOI"] == "10.1007/978-3-642-35289-8_32"
    assert items["rabe2021selfattention"]["number"] == "arXiv:2112.05682"
    assert "volume" not in items["rabe2021selfattention"]


def test_csl_json_is_dumped_deterministically() -> None:
    items = to_csl_json(fixture_entries())
    text = dump_csl_json(items)
    assert text == json.dumps(items, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    assert json.loads(text) == items


def test_ris_records() -> None:
    text = render_export(fixture_entries(), "ris")
    records = text.split("\n\n")
    assert len(records) == len(fixture_entries())
    assert all(r.startswith("TY  - ") and r.rstrip("\n").endswith("ER  - ") for r in records)
    chapter = next(r for r in records if "ID  - hinton2012practical" in r)
    assert "TY  - CHAP" in chapter and "SP  - 599\nEP  - 619" in chapter
    assert "A2  - Montavon, Grégoire" in chapter and "T2  - Neural Networks" in chapter
    assert "TY  - CPAPER" in text and "TY  - UNPB" in text and "C7  - 109" in text


# ---------------------------------------------------------------- escaping in HTML/markdown


HOSTILE = Entry("x<y", "misc", (
    ("author", "Evil, <b>Eve</b>"),
    ("title", "<script>alert(1)</script> & more"),
    ("howpublished", '"quoted" <img src=x onerror=alert(1)>'),
    ("url", 'javascript:alert("x")'),
    ("year", "2024"),
))
SAFE_URL = Entry("u", "misc", (("title", "T"), ("url", 'https://x.org/a"b<c>(d)'),
                               ("year", "2024")))


@pytest.mark.parametrize("options", [
    pytest.param({"style": "plain"}, id="pybtex"),
    pytest.param({"csl": "surveybib-numeric"}, id="csl"),
])
def test_html_escapes_everything_from_data(options: dict[str, str]) -> None:
    text = render_export([HOSTILE, SAFE_URL], "html", **options)  # type: ignore[arg-type]
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    assert 'href="javascript:' not in text
    assert "x<y" not in text
    for href in re.findall(r'href="([^"]*)"', text):
        assert href.startswith("https://") and "<" not in href


def test_markdown_links_are_safe() -> None:
    text = render_export([HOSTILE, SAFE_URL], "markdown", style="plain")
    assert "](javascript:" not in text
    assert "<script>" not in text
    assert "(https://x.org/a%22b%3Cc%3E%28d%29)" in text


# ---------------------------------------------------------------- formatted references


def test_missing_required_field_is_formatted_as_misc_and_reported() -> None:
    book = Entry("nopub", "book", (("author", "Vapnik, V."), ("title", "Theory"),
                                   ("year", "1974")), "x.bib", 7)
    result = export_entries([book], "text", ExportOptions(style="plain"))
    assert result.text == "[1] V. Vapnik. Theory. 1974.\n"
    assert [str(p) for p in result.problems] == [
        "x.bib:7: nopub: warning: missing publisher in nopub; formatted as @misc"]


ODD = [
    Entry("bare", "misc", ()),
    Entry("odd", "article", (("author", "{}"), ("year", "in press"), ("month", "13"))),
    Entry("weird", "weirdtype", (("title", "{Unbalanced"), ("author", "Doe, J."))),
]


@pytest.mark.parametrize("fmt", ["bibtex", "biblatex", "csl-json", "ris", "text", "markdown",
                                 "html"])
def test_odd_entries_are_all_exported(fmt: str) -> None:
    result = export_entries(ODD, fmt)
    assert result.count == len(ODD)
    if fmt in ("text", "markdown", "html"):
        assert len(re.findall(r"^(?:<dt[^>]*>|\\?)\[\d\\?\]", result.text, re.M)) == len(ODD)
    else:
        assert all(entry.key in result.text for entry in ODD)
    if fmt in ("bibtex", "biblatex"):
        assert re.findall(r"^@(\w+)\{([^,]+),", result.text, re.M)[0] == ("misc", "bare")
        assert [p for p in parse_bib(result.text).problems if p.level == "error"] == []
    if fmt not in ("csl-json", "ris"):  # plain-text formats need no balanced braces
        assert next(p.rule for p in result.problems if p.key == "weird") == "export-braces"


def test_an_entry_type_the_style_lacks_is_formatted_as_misc() -> None:
    result = export_entries([ODD[2]], "text", ExportOptions(style="unsrt"))
    assert result.text == "[1] J. Doe. Unbalanced.\n"
    assert "the style has no @weirdtype; formatted as @misc" in str(result.problems[-1])


def test_user_sort_overrides_a_sorting_style() -> None:
    names = ("Hinton", "Karpukhin", "Kwon", "Miao", "OpenAI", "Rabe", "Tay")

    def first_authors(text: str) -> list[str]:
        return [min(names, key=lambda n: (m.start() if (m := re.search(rf"\b{n}\b", line))
                                          else len(line))) for line in text.splitlines()]

    by_year = render_export(fixture_entries(), "text", style="plain", sort="year")
    assert first_authors(by_year) == ["Hinton", "Karpukhin", "Rabe", "Tay", "OpenAI", "Miao",
                                      "Kwon"]
    by_style = render_export(fixture_entries(), "text", style="plain")  # plain: by author
    assert first_authors(by_style)[:4] == ["Hinton", "Karpukhin", "Kwon", "Miao"]


def test_pybtex_and_citeproc_are_imported_only_for_formatted_exports() -> None:
    code = (
        "import sys\n"
        "from surveybib.bibtex.parse import parse_bib\n"
        "from surveybib.export import render_export\n"
        f"entries = parse_bib(open({str(FIXTURE / 'survey.bib')!r}).read()).entries\n"
        "for fmt in ('bibtex', 'biblatex', 'csl-json', 'ris'):\n"
        "    render_export(entries, fmt)\n"
        "print(sorted(m for m in ('pybtex', 'citeproc') if m in sys.modules))\n"
        "render_export(entries, 'text')\n"
        "print('pybtex' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


# ---------------------------------------------------------------- selection and order


@pytest.mark.parametrize(("aux", "keys", "star"), [
    pytest.param("\\citation{a,b}\n\\citation{c}\n\\citation{a}\n", ("a", "b", "c"), False,
                 id="bibtex"),
    pytest.param("\\citation{*}\n", (), True, id="star"),
    pytest.param("\\citation{ a , b }\n", ("a", "b"), False, id="spaces"),
    pytest.param("\\abx@aux@cite{0}{kwon2023}\n\\abx@aux@segm{0}{0}{kwon2023}\n"
                 "\\abx@aux@cite{0}{tay2022}\n", ("kwon2023", "tay2022"), False,
                 id="biblatex"),
    pytest.param("\\abx@aux@cite{old}\n", ("old",), False, id="biblatex-old-form"),
    pytest.param("\\relax\n\\bibstyle{plain}\n\\bibdata{refs}\n", (), False, id="nothing"),
    pytest.param("\\citation{DBLP:conf/sosp/KwonLZ23}\n", ("DBLP:conf/sosp/KwonLZ23",),
                 False, id="colon-slash-key"),
])
def test_parse_aux(aux: str, keys: tuple[str, ...], star: bool) -> None:
    assert parse_aux(aux) == (keys, star)


def test_aux_inputs() -> None:
    assert aux_inputs("\\@input{ch1.aux}\n\\@input{ch2.aux}\n\\@input{ch1.aux}") == (
        "ch1.aux", "ch2.aux")


def test_select_by_keys_reports_unknown_and_keeps_bibliography_order() -> None:
    entries = fixture_entries()
    selected, unknown = select_entries(entries, keys=["tay2022efficient", "nope",
                                                      "openai2023gpt4", "nope"])
    assert [e.key for e in selected] == ["openai2023gpt4", "tay2022efficient"]
    assert unknown == ("nope",)


@pytest.mark.parametrize(("taxonomy", "keys"), [
    pytest.param("Survey/Review", ["openai2023gpt4", "tay2022efficient"], id="two-categories"),
    pytest.param("survey/review", ["openai2023gpt4", "tay2022efficient"], id="case-insensitive"),
    pytest.param("Survey", [], id="slash-is-part-of-the-name"),
    pytest.param("Review", [], id="no-partial-match"),
    pytest.param("大算子", ["rabe2021selfattention"], id="non-ascii"),
])
def test_select_by_taxonomy(taxonomy: str, keys: list[str]) -> None:
    selected, _ = select_entries(fixture_entries(), taxonomy=taxonomy)
    assert [e.key for e in selected] == keys


def test_select_sub_category() -> None:
    entries = [Entry("a", "misc", (("taxonomy", "Quantization/Weight-only"),)),
               Entry("b", "misc", (("taxonomy", "Quantization"),)),
               Entry("c", "misc", (("taxonomy", "Pruning"),))]
    declared = ["Quantization", "Quantization/Weight-only", "Pruning"]
    selected, _ = select_entries(entries, taxonomy="Quantization", declared=declared)
    assert [e.key for e in selected] == ["a", "b"]
    selected, _ = select_entries(entries, taxonomy="Quantization")
    assert [e.key for e in selected] == ["b"]


@pytest.mark.parametrize(("sort", "first", "last"), [
    pytest.param("key", "hinton2012practical", "tay2022efficient", id="key"),
    pytest.param("year", "hinton2012practical", "kwon2023vllm", id="year"),
    pytest.param("author", "hinton2012practical", "tay2022efficient", id="author"),
])
def test_sort(sort: str, first: str, last: str) -> None:
    ordered = sort_entries(fixture_entries(), sort)
    assert (ordered[0].key, ordered[-1].key) == (first, last)


def test_sort_by_author_puts_organisations_by_their_name() -> None:
    keys = [e.key for e in sort_entries(fixture_entries(), "author")]
    assert keys.index("miao2023specinfer") < keys.index("openai2023gpt4") < keys.index(
        "rabe2021selfattention")


@pytest.mark.parametrize(("call", "message"), [
    pytest.param({"fmt": "docx"}, "unknown export format 'docx'", id="format"),
    pytest.param({"fmt": "text", "style": "ieee"}, "unknown style 'ieee'", id="style"),
    pytest.param({"fmt": "bibtex", "style": "plain"}, "apply to text", id="style-on-bibtex"),
    pytest.param({"fmt": "text", "style": "plain", "csl": "x.csl"}, "not both", id="both"),
    pytest.param({"fmt": "ris", "sort": "title"}, "unknown sort", id="sort"),
    pytest.param({"fmt": "text", "csl": "/nonexistent/x.csl"}, "no such file", id="csl-file"),
])
def test_bad_options_are_usage_errors(call: dict[str, str], message: str) -> None:
    fmt = call.pop("fmt")
    with pytest.raises(UsageError, match=message):
        render_export(fixture_entries(), fmt, **call)  # type: ignore[arg-type]


def test_spec_options(tmp_path: Path) -> None:
    assert spec_options({"style": "alpha", "keep": "abstract, file", "keys": ["a", "b"],
                         "unicode": True}) == ExportOptions(
        style="alpha", keep=frozenset({"abstract", "file"}), keys=("a", "b"), unicode=True)
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "mine.csl").write_text("<style/>")
    assert spec_options({"csl": "styles/mine.csl"}, root=tmp_path) == ExportOptions(
        csl=str(tmp_path / "styles" / "mine.csl"))
    assert spec_options({"csl": "surveybib-numeric"}, root=tmp_path) == ExportOptions(
        csl="surveybib-numeric")
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        spec_options({"colour": "red"})
    with pytest.raises(ConfigError, match="'unicode' must be true or false"):
        spec_options({"unicode": "yes"})


def test_render_configured_exports(survey_dir: Path) -> None:
    from surveybib.config import load_settings
    from surveybib.export.formatted import STYLES_DIR

    (survey_dir / "styles").mkdir()
    shutil.copy(STYLES_DIR / "surveybib-numeric.csl", survey_dir / "styles" / "mine.csl")
    pyproject = survey_dir / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.surveybib]\n", """[tool.surveybib]
exports = [
  {format = "bibtex", path = "paper/references.bib", keys = ["tay2022efficient", "gone"]},
  {format = "html", path = "site/refs.html", csl = "styles/mine.csl", sort = "key"},
]
"""))
    settings = load_settings(survey_dir)
    entries = fixture_entries()
    (bib_path, bib), (html_path, html) = render_configured(entries, settings)
    assert bib_path == survey_dir / "paper" / "references.bib"
    assert bib.text == render_export([e for e in entries if e.key == "tay2022efficient"],
                                     "bibtex")
    assert [(p.key, p.rule) for p in bib.problems] == [("gone", "export-unknown-key")]
    assert html_path == survey_dir / "site" / "refs.html"
    assert html.text == render_export(entries, "html", csl="surveybib-numeric", sort="key")
    pyproject.write_text(pyproject.read_text().replace('"html"', '"docx"'))
    with pytest.raises(ConfigError, match=r"exports item 2 .*unknown export format 'docx'"):
        render_configured(entries, load_settings(survey_dir))


def test_run_export_strips_the_grouping_field() -> None:
    entries = [Entry("a", "misc", (("title", "T"), ("topic", "X")))]
    options = ExportOptions(keys=("a", "b"), group_by="topic")
    result, unknown = run_export(entries, "bibtex", options)
    assert "topic" not in result.text and unknown == ("b",)


# ---------------------------------------------------------------- round trips


def _fold(text: str) -> str:
    """Display text for comparing an ASCII (LaTeX-accented) export with its source."""
    return to_unicode(text).replace("’", "'").replace("‘", "`").replace("“", "``").replace(
        "”", "''")


def _expected_fields(entry: Entry) -> dict[str, str]:
    """What the export promises for each field (the documented normalisation)."""
    fields = classic_fields(clean_fields(entry, DEFAULT_SKIP))
    out = {}
    for name, value in fields.items():
        if name == "month" and month_number(value):
            value = ["January", "February", "March", "April", "May", "June", "July", "August",
                     "September", "October", "November", "December"][month_number(value) - 1]
        elif name == "pages":
            value = dash_pages(value)
        elif name in NAME_FIELDS:
            value = bibtex_names(value)
        out[name] = value
    return out


def assert_round_trip(entries: Sequence[Entry], unicode: bool) -> None:
    text = render_export(entries, "bibtex", unicode=unicode)
    parsed = parse_bib(text, "export.bib")
    assert [p for p in parsed.problems if p.level == "error"] == []
    assert [e.key for e in parsed.entries] == [e.key for e in entries]
    for source, back in zip(entries, parsed.entries, strict=True):
        expected = _expected_fields(source)
        got = back.as_dict()
        assert back.type == bibtex_type(source.type, expected), source.key
        assert list(got) == list(expected), source.key
        for name, value in expected.items():
            if name in ("doi", "url"):
                assert got[name] == value, (source.key, name)
            elif name == "title" and unicode:  # only case-protecting braces were added
                assert got[name].replace("{", "").replace("}", "") == value.replace(
                    "{", "").replace("}", ""), (source.key, name)
            elif unicode:
                assert got[name] == value, (source.key, name)
            else:
                assert _fold(got[name]) == _fold(value), (source.key, name)


@pytest.mark.parametrize("unicode", [False, True], ids=["ascii", "unicode"])
def test_round_trip_fixture(unicode: bool) -> None:
    assert_round_trip(fixture_entries(), unicode)


@pytest.mark.parametrize("name", CORPORA)
def test_round_trip_corpora(name: str) -> None:
    entries = load(corpus(name))
    assert entries
    assert_round_trip(entries, unicode=False)
    assert_round_trip(entries, unicode=True)


_FROM_BIBLATEX = {"journaltitle": "journal", "location": "address", "eprinttype": "archiveprefix",
                  "eprintclass": "primaryclass", "eid": "articleno", "pagetotal": "numpages"}


@pytest.mark.parametrize("name", _sweep("fixture", "survey.bib", "ml/scaling-book_main.bib",
                                        "large/d2l_d2l-en.bib"))
def test_round_trip_biblatex(name: str) -> None:
    """Every field survives under its biblatex name; only year/month/day (now `date`) and
    arXiv-only venue strings (now `eprint`) are folded away."""
    entries = fixture_entries() if name == "fixture" else load(corpus(name))
    parsed = parse_bib(render_export(entries, "biblatex"), "export.bib")
    assert [e.key for e in parsed.entries] == [e.key for e in entries]
    for source, back in zip(entries, parsed.entries, strict=True):
        got = {_FROM_BIBLATEX.get(k, k): v for k, v in back.fields}
        for field, value in clean_fields(source, DEFAULT_SKIP).items():
            if field in got:
                continue
            if field in ("year", "month", "day"):
                assert got["date"].startswith(source.get("year")), source.key
            else:
                assert "eprint" in got and field in ("journal", "howpublished", "volume"), (
                    source.key, field, value)


def test_doi_helpers() -> None:
    assert clean_doi(" https://dx.doi.org/10.1/a\\_b ") == "10.1/a_b"
    assert url_from_latex("plain") == "plain"


# ---------------------------------------------------------------- real BibTeX

# Warnings plain.bst itself raises about an entry's *data* (its warning$ calls). Each is
# tolerated only when the source entry really is that way (checked below against the
# source's fields after the documented stripping), so a field the export lost, mangled
# or renamed still fails the test. Anything else BibTeX says (syntax errors, undefined
# macros, "Too many commas", unknown entry types, a bad cross reference, an error
# count) fails it too.
_DATA_WARNINGS = [
    (re.compile(r"^Warning--empty (.+) in (.+)$"), "empty"),
    (re.compile(r"^Warning--there's a number but no (volume|series) in (.+)$"), "number-but-no"),
    (re.compile(r"^Warning--can't use both (\w+) and (\w+) fields in (.+)$"), "both"),
    (re.compile(r"^Warning--to sort, need (.+) in (.+)$"), "sort-key"),
]


def _data_warning(line: str, entries: dict[str, dict[str, str]]) -> bool:
    for pattern, kind in _DATA_WARNINGS:
        match = pattern.match(line)
        if not match:
            continue
        fields = entries.get(match.groups()[-1])
        if fields is None:
            return False
        if kind == "empty":
            wanted = re.split(r" and | or |, ", match.group(1))
            return not any(fields.get(f) for f in wanted)
        if kind == "number-but-no":
            return bool(fields.get("number")) and not fields.get(match.group(1))
        if kind == "both":
            return bool(fields.get(match.group(1))) and bool(fields.get(match.group(2)))
        wanted = re.split(r", or |, | or ", match.group(1))
        return not any(fields.get(f) for f in wanted if f != "key")
    return False


def bibtex_program() -> str:
    path = shutil.which("bibtex")
    if path is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("bibtex is missing, and CI must have it "
                                 "(.ci/run installs texlive-binaries and texlive-base)")
        pytest.skip("bibtex is not installed (apt-get install texlive-binaries texlive-base)")
    return path


def run_bibtex(entries: Sequence[Entry], tmp_path: Path) -> list[str]:
    """Export, run the real bibtex with plain.bst citing every key, return the warnings
    that the data does not explain."""
    program = bibtex_program()
    (tmp_path / "refs.bib").write_text(render_export(entries, "bibtex"), encoding="utf-8")
    (tmp_path / "paper.aux").write_text("\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n")
    done = subprocess.run([program, "paper"], cwd=tmp_path, capture_output=True, text=True,
                          encoding="utf-8", errors="replace")
    blg = (tmp_path / "paper.blg").read_text(encoding="utf-8", errors="replace")
    assert done.returncode == 0, blg
    sources = {e.key: {k: v for k, v in classic_fields(clean_fields(e, DEFAULT_SKIP)).items()}
               for e in entries}
    unexplained = [line for line in blg.splitlines()
                   if line.startswith("Warning--") and not _data_warning(line, sources)]
    assert "error message" not in blg, blg
    for line in blg.splitlines():
        if line.startswith(("I was expecting", "I'm ignoring", "Too many commas", "Illegal",
                            "You're missing", "I couldn't open", "Repeated entry")):
            unexplained.append(line)
    bbl = (tmp_path / "paper.bbl").read_text(encoding="utf-8", errors="replace")
    assert bbl.count("\\bibitem") == len(entries)
    return unexplained


def test_real_bibtex_fixture(tmp_path: Path) -> None:
    assert run_bibtex(fixture_entries(), tmp_path) == []


@pytest.mark.parametrize("name", CORPORA)
def test_real_bibtex_corpora(name: str, tmp_path: Path) -> None:
    assert run_bibtex(load(corpus(name)), tmp_path) == []


def test_data_warning_policy_does_not_excuse_a_lost_field() -> None:
    sources = {"a": {"title": "T", "journal": "J"}, "b": {"title": "T"}}
    assert not _data_warning("Warning--empty journal in a", sources)
    assert _data_warning("Warning--empty journal in b", sources)
    assert _data_warning("Warning--to sort, need author or key in b", sources)
    assert not _data_warning("Warning--string name \"foo\" is undefined", sources)


# ---------------------------------------------------------------- CSL-JSON against CSL


def _csl_schema() -> tuple[set[str], set[str]]:
    """Item types and variable names from the CSL schema shipped inside citeproc-py."""
    import citeproc

    schemas = Path(citeproc.__file__).parent / "data" / "schema" / "schemas" / "styles"
    types = set(re.findall(r'"([a-z_-]+)"', (schemas / "csl-types.rnc").read_text()))
    variables = set(re.findall(r'"([A-Za-z_-]+)"', (schemas / "csl-variables.rnc").read_text()))
    return types, variables


def assert_valid_csl(items: list[dict[str, object]]) -> None:
    types, variables = _csl_schema()
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids)
    for item in items:
        assert isinstance(item["id"], str) and item["id"]
        assert item["type"] in types, item
        for key, value in item.items():
            assert key in variables or key in ("id", "type"), (item["id"], key)
            if key in ("author", "editor", "translator"):
                assert isinstance(value, list) and value
                for name in value:
                    assert set(name) <= {"family", "given", "literal", "suffix",
                                         "non-dropping-particle", "dropping-particle"}
                    assert name.get("family") or name.get("literal"), (item["id"], name)
            elif key == "issued":
                assert isinstance(value, dict)
                if "date-parts" in value:
                    (parts,) = value["date-parts"]
                    assert 1 <= len(parts) <= 3 and all(isinstance(p, int) for p in parts)
                    assert len(parts) < 2 or 1 <= parts[1] <= 12
                else:
                    assert isinstance(value.get("literal"), str)
            elif key not in ("id", "type"):
                assert isinstance(value, str) and value, (item["id"], key)


def test_csl_json_fixture_is_valid_and_renders() -> None:
    entries = fixture_entries()
    items = to_csl_json(entries)
    assert_valid_csl(items)
    text = render_export(entries, "text", csl="surveybib-numeric")
    assert len(text.splitlines()) == len(entries)


@pytest.mark.parametrize("name", _sweep("survey.bib", "ml/mlsys_openmlsys-zh.bib",
                                        "ml/scaling-book_main.bib", "ml/llm_models_bib_llm.bib"))
def test_csl_json_corpora_are_valid_and_every_item_renders(name: str) -> None:
    entries = load(corpus(name))
    assert_valid_csl(to_csl_json(entries))
    lines = render_export(entries, "text", csl="surveybib-numeric").splitlines()
    assert len(lines) == len(entries)
    assert all(re.match(r"^\[\d+\] \S", line) for line in lines)


# ---------------------------------------------------------------- the command


@pytest.fixture
def survey_dir(tmp_path: Path) -> Path:
    for name in ("survey.bib", "pyproject.toml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    return tmp_path


def test_cli_aux_selects_cited_keys_and_reports_missing_ones(survey_dir: Path, cli: Cli) -> None:
    (survey_dir / "paper").mkdir()
    (survey_dir / "paper" / "paper.aux").write_text(
        "\\relax\n\\citation{tay2022efficient,kwon2023vllm}\n\\citation{ghost2024}\n"
        "\\bibstyle{plain}\n\\bibdata{references}\n\\@input{intro.aux}\n")
    (survey_dir / "paper" / "intro.aux").write_text("\\citation{openai2023gpt4}\n")
    done = cli("export", "--format", "bibtex", "--aux", "paper/paper.aux",
               "-o", "paper/references.bib", cwd=survey_dir)
    assert done.exit_code == 1
    assert "paper/paper.aux: ghost2024: cited but not in survey.bib" in done.stderr
    written = (survey_dir / "paper" / "references.bib").read_text(encoding="utf-8")
    assert re.findall(r"^@\w+\{([^,]+),", written, re.M) == [
        "openai2023gpt4", "kwon2023vllm", "tay2022efficient"]
    assert done.stdout == ""
    assert list((survey_dir / "paper").glob("*.tmp")) == []


def test_cli_star_exports_everything_to_stdout(survey_dir: Path, cli: Cli) -> None:
    (survey_dir / "paper.aux").write_text("\\citation{*}\n")
    done = cli("export", "--aux", "paper.aux", "--format", "csl-json", cwd=survey_dir)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == render_export(fixture_entries(), "csl-json")


def test_cli_keys_taxonomy_sort_keep_and_skip_config(survey_dir: Path, cli: Cli) -> None:
    pyproject = survey_dir / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'export_skip_fields = ["publisher"]\n')
    done = cli("export", "--taxonomy", "Survey/Review", "--sort", "year", "--keep",
               "abstract", "--format", "bibtex", cwd=survey_dir)
    assert done.exit_code == 0, done.stderr
    assert re.findall(r"^@\w+\{([^,]+),", done.stdout, re.M) == ["tay2022efficient",
                                                                  "openai2023gpt4"]
    assert "publisher" not in done.stdout
    done = cli("export", "--keys", "kwon2023vllm,nobody", "--format", "ris", cwd=survey_dir)
    assert done.exit_code == 1
    assert "--keys: nobody: cited but not in survey.bib" in done.stderr
    assert "ID  - kwon2023vllm" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--format", "docx"], "Invalid value for '--format'", id="format"),
    pytest.param(["--format", "bibtex", "--style", "plain"], "apply to text", id="style"),
    pytest.param(["--aux", "missing.aux"], "no such file", id="aux-missing"),
    pytest.param(["--format", "text", "--csl", "nope.csl"], "no such file", id="csl-missing"),
])
def test_cli_usage_errors_exit_2(survey_dir: Path, args: list[str], message: str, cli: Cli) -> None:
    done = cli("export", *args, cwd=survey_dir)
    assert done.exit_code == 2
    assert message in done.stderr


def test_cli_export_rules_are_configurable(survey_dir: Path, cli: Cli) -> None:
    pyproject = survey_dir / "pyproject.toml"
    pyproject.write_text(pyproject.read_text()
                         + '\n[tool.surveybib.check]\nexport-unknown-key = "warning"\n')
    done = cli("export", "--keys", "kwon2023vllm,nobody", cwd=survey_dir)
    assert done.exit_code == 0, done.stderr
    assert "--keys: nobody: warning: cited but not in survey.bib" in done.stderr
