"""`surveybib check`: each rule, levels from [tool.surveybib.check], the three formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli

from surveybib.config import load_settings
from surveybib.errors import ConfigError
from surveybib.lint import lint
from surveybib.model import Entry
from surveybib.survey import Survey, load_survey
from surveybib.text import title_words

TAXONOMY = '[tool.surveybib]\ntaxonomy = ["Quantization", "Pruning"]\n'
GOOD = """@article{good,
  author = {Ada Lovelace},
  title = {Notes on the Analytical Engine},
  journal = {Taylor's Scientific Memoirs},
  year = {1843},
  doi = {10.1000/engine.1843},
  url = {https://example.org/engine},
  taxonomy = {Quantization},
}
"""


def make_survey(tmp_path: Path, bib: str, config: str = TAXONOMY,
                notes: dict[str, str] | None = None) -> Path:
    (tmp_path / "survey.bib").write_text(bib, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    for name, text in (notes or {}).items():
        (tmp_path / "notes").mkdir(exist_ok=True)
        (tmp_path / "notes" / name).write_text(text, encoding="utf-8")
    return tmp_path


def rules_found(tmp_path: Path) -> list[tuple[str, str, str]]:
    settings = load_settings(tmp_path)
    survey = load_survey(settings)
    return [(p.rule, p.key or "", p.level) for p in lint(survey, settings)]


def test_a_clean_survey_has_no_findings(tmp_path: Path, cli: Cli) -> None:
    make_survey(tmp_path, GOOD)
    assert rules_found(tmp_path) == []
    assert cli("build").exit_code == 0
    result = cli("check")
    assert result.exit_code == 0
    assert "0 finding(s): 0 errors, 0 warnings" in result.stderr


def _art(key: str, **fields: str) -> str:
    base = {"author": "A. Author", "title": f"A distinct title for {key}", "journal": "J",
            "year": "2020", "taxonomy": "Quantization"}
    base.update(fields)
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in base.items() if v != "-")
    return f"@article{{{key},\n{body},\n}}\n"


@pytest.mark.parametrize(("bib", "expected"), [
    pytest.param(_art("Smith20", title="First paper") + _art("smith20", title="Second one"),
                 ("duplicate-key-case", "smith20", "error"),
                 id="keys-differ-only-in-case"),
    pytest.param(_art("a", doi="https://doi.org/10.1000/ABC") + _art("b", doi="doi:10.1000/abc"),
                 ("duplicate-doi", "b", "error"), id="same-doi-after-normalisation"),
    pytest.param(_art("a", title="{Attention} Is All You {N}eed")
                 + _art("b", title="Attention is all you need."),
                 ("near-duplicate-title", "b", "warning"), id="same-title-case-latex-punctuation"),
    pytest.param(_art("pre", title="Efficient Memory Management for Large Language Model Serving")
                 + _art("pub", title="Efficient Memory Management for Large Language Model "
                                     "Serving with PagedAttention"),
                 ("near-duplicate-title", "pub", "warning"), id="preprint-and-published-title"),
    pytest.param(_art("a", journal="-"), ("missing-field", "a", "error"),
                 id="article-without-journal"),
    pytest.param("@inproceedings{p, author={A}, title={T t}, year={2020}, taxonomy={Pruning}}\n",
                 ("missing-field", "p", "error"), id="inproceedings-without-booktitle"),
    pytest.param(_art("a", taxonomy="Quantisation"), ("unknown-taxonomy", "a", "error"),
                 id="taxonomy-not-in-list"),
    pytest.param(_art("a", taxonomy="-"), ("no-taxonomy", "a", "warning"), id="no-taxonomy"),
    pytest.param(_art("a", doi="10.1000"), ("bad-doi", "a", "error"), id="malformed-doi"),
    pytest.param(_art("a", eprint="12.3", archiveprefix="arXiv"), ("bad-arxiv", "a", "error"),
                 id="malformed-arxiv-id"),
    pytest.param(_art("a", year="20x0"), ("bad-year", "a", "error"), id="year-not-a-year"),
    pytest.param(_art("a", url="www.example.org/x"), ("bad-url", "a", "error"),
                 id="url-without-scheme"),
    pytest.param(_art("a", url="javascript:alert(1)"), ("bad-url", "a", "error"),
                 id="javascript-url"),
    pytest.param(_art("a", reader="Ann"), ("reader-without-note", "a", "warning"),
                 id="reader-without-note"),
])
def test_each_rule_finds_its_problem(tmp_path: Path, bib: str,
                                     expected: tuple[str, str, str]) -> None:
    make_survey(tmp_path, bib)
    assert rules_found(tmp_path) == [expected]


@pytest.mark.parametrize("bib", [
    pytest.param(_art("a", title="Llama 2: Open Foundation and Fine-Tuned Chat Models")
                 + _art("b", title="Llama: Open Foundation and Fine-Tuned Chat Models"),
                 id="versions-differ-by-a-number"),
    pytest.param(_art("a", title="Scaling Laws") + _art("b", title="Scaling Laws Revisited"),
                 id="short-titles-differ-by-a-word"),
    pytest.param(_art("a", eprint="2101.01234v2", archiveprefix="arXiv")
                 + _art("b", eprint="hep-th/9901001", archiveprefix="arXiv"),
                 id="valid-arxiv-ids"),
    pytest.param(_art("a", reader="Ann"), id="reader-with-note"),
])
def test_no_false_alarm(tmp_path: Path, bib: str) -> None:
    make_survey(tmp_path, bib, notes={"a.md": "Read it: the key idea is ..."})
    assert rules_found(tmp_path) == []


def test_a_stub_note_does_not_count_as_a_note(tmp_path: Path) -> None:
    make_survey(tmp_path, _art("a", reader="Ann"), notes={"a.md": "<!-- write here -->\n"})
    assert rules_found(tmp_path) == [("reader-without-note", "a", "warning")]


def test_required_fields_count_the_metadata_store(tmp_path: Path) -> None:
    """The merged entry (fields filled from the store) is what is checked."""
    make_survey(tmp_path, _art("a", journal="-"))
    settings = load_settings(tmp_path)
    survey = load_survey(settings)
    merged = Entry("a", "article", (*survey.entries[0].fields, ("journal", "Nature")),
                   line=1, filled=("journal",))
    filled = Survey(settings, (merged,), {}, (), survey.source)
    assert [p.rule for p in lint(survey, settings)] == ["missing-field"]
    assert lint(filled, settings) == ()


# ---------------------------------------------------------------- check and add agree
# Each pair below is one paper written two ways. `check` must call it a duplicate, and
# `add` must refuse the second spelling while the first is in survey.bib (before any
# request: the fake API address is a closed port).

ONE_PAPER = [
    pytest.param("doi = {https://www.doi.org/10.1145/3448016.3452841}",
                 "doi = {10.1145/3448016.3452841}", "10.1145/3448016.3452841",
                 id="www-doi-url-vs-bare"),
    pytest.param("doi = {10.1145/3448016.3452841}",
                 "doi = {https://doi.org/10.1145/3448016.3452841}",
                 "https://www.doi.org/10.1145/3448016.3452841", id="bare-vs-doi-url"),
    pytest.param("eprint = {2404.14294}, archiveprefix = {arXiv}",
                 "doi = {10.48550/arXiv.2404.14294}", "10.48550/arXiv.2404.14294",
                 id="eprint-vs-arxiv-doi"),
    pytest.param("eprint = {2404.14294}", "url = {https://arxiv.org/abs/2404.14294v2}",
                 "arXiv:2404.14294", id="bare-eprint-vs-arxiv-url"),
]


@pytest.mark.parametrize(("first", "second", "pasted"), ONE_PAPER)
def test_check_and_add_agree_on_one_paper(tmp_path: Path, cli: Cli, first: str, second: str,
                                          pasted: str) -> None:
    one = f"@misc{{one, title = {{One}}, {first}, taxonomy = {{Pruning}}}}\n"
    two = f"@misc{{two, title = {{Two}}, {second}, taxonomy = {{Pruning}}}}\n"
    make_survey(tmp_path, one + two)
    findings = [(f["rule"], f["key"])
                for f in json.loads(cli("check", "--format", "json").stdout)["findings"]]
    assert ("duplicate-doi", "two") in findings
    assert not any(rule in ("bad-doi", "bad-arxiv") for rule, _ in findings)
    make_survey(tmp_path, one)
    before = (tmp_path / "survey.bib").read_bytes()
    result = cli("--offline", "add", pasted)
    assert result.exit_code == 1
    assert "is already in survey.bib" in result.stderr and "'one'" in result.stderr
    assert (tmp_path / "survey.bib").read_bytes() == before


def test_a_www_doi_url_is_a_doi_to_check(tmp_path: Path) -> None:
    make_survey(tmp_path, _art("a", doi="https://www.doi.org/10.1145/3448016.3452841"))
    assert rules_found(tmp_path) == []


def test_near_duplicate_titles_scale_by_hashing() -> None:
    """50,000 distinct titles plus one duplicate: exactly one finding (a pairwise pass over
    50,000 titles would not finish within the test run)."""
    entries = tuple(Entry(f"k{i}", "misc", (("title", f"Paper number {i} about topic {i % 97}"),
                                            ("taxonomy", "Pruning")), line=i + 1)
                    for i in range(50_000))
    entries += (Entry("dup", "misc", (("title", "paper NUMBER 17 about topic 17"),
                                      ("taxonomy", "Pruning")), line=50_001),)
    settings = load_settings(Path("/nonexistent-survey-root"))
    survey = Survey(settings, entries, {}, (), "")
    found = lint(survey, settings)
    assert [(p.rule, p.key) for p in found] == [("near-duplicate-title", "dup")]
    assert "'k17'" in found[0].message


def test_title_words_fold_latex_accents_and_case() -> None:
    assert title_words(r"{\"U}ber {LLM}s: The Art") == title_words("uber llms - the art")


# ---------------------------------------------------------------- levels and formats


BAD = _art("a", year="20x0") + _art("b", taxonomy="-")


def test_check_prints_sorted_lines_and_exits_1(tmp_path: Path, cli: Cli) -> None:
    make_survey(tmp_path, BAD)
    cli("build")
    result = cli("check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "survey.bib:1: a: year '20x0' is not a year (expected four digits)"
    assert lines[1] == "survey.bib:8: b: warning: no taxonomy; listed under Uncategorized"
    assert lines[-1] == "2 finding(s): 1 error, 1 warning"


def test_check_levels_from_config(tmp_path: Path, cli: Cli) -> None:
    config = TAXONOMY + '[tool.surveybib.check]\nbad-year = "off"\nno-taxonomy = "error"\n'
    make_survey(tmp_path, BAD, config)
    cli("build")
    result = cli("check", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(f["rule"], f["level"]) for f in data["findings"]] == [("no-taxonomy", "error")]
    assert (data["errors"], data["warnings"]) == (1, 0)


def test_warnings_alone_exit_0(tmp_path: Path, cli: Cli) -> None:
    make_survey(tmp_path, _art("b", taxonomy="-"))
    cli("build")
    assert cli("check").exit_code == 0


@pytest.mark.parametrize(("config", "message"), [
    pytest.param('[tool.surveybib.check]\nduplicate-dio = "off"\n',
                 "unknown rule 'duplicate-dio'; did you mean 'duplicate-doi'?", id="unknown-rule"),
    pytest.param('[tool.surveybib.check]\nbad-doi = "fatal"\n',
                 "bad-doi = 'fatal': the level must be one of off, warning, error",
                 id="unknown-level"),
    pytest.param("[tool.surveybib]\ncheck = 3\n", "[tool.surveybib.check] must be a table",
                 id="not-a-table"),
])
def test_bad_check_config_is_one_clear_line(tmp_path: Path, config: str, message: str,
                                            cli: Cli) -> None:
    make_survey(tmp_path, GOOD, config)
    result = cli("check")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_check_rejects_unknown_rule_through_settings(tmp_path: Path) -> None:
    from surveybib.lint import rule_levels

    with pytest.raises(ConfigError, match="did you mean 'near-duplicate-title'"):
        rule_levels((("near-duplicate-titles", "off"),))


def test_check_github_annotations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  cli: Cli) -> None:
    """Paths are relative to the working directory, where the workflow runs."""
    make_survey(tmp_path, BAD)
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "::error file=README.md,title=surveybib stale-output::" in lines[0]
    assert lines[1] == ("::error file=survey.bib,line=1,title=surveybib bad-year::"
                        "a: year '20x0' is not a year (expected four digits)")
    assert lines[2].startswith("::warning file=survey.bib,line=8,title=surveybib no-taxonomy::b:")


def test_github_annotation_escapes_newlines_and_percent(tmp_path: Path) -> None:
    from surveybib.cli.build import github_annotations
    from surveybib.model import Problem

    problem = Problem("survey.bib", 3, "k", "100% bad\nsecond line", rule="bad-url")
    [line] = github_annotations([problem], tmp_path)
    assert line.endswith("::k: 100%25 bad%0Asecond line")
    assert "\n" not in line


def test_check_json_includes_parse_and_note_findings(tmp_path: Path, cli: Cli) -> None:
    make_survey(tmp_path, GOOD + "@article{broken, title = {x\n", notes={"gone.md": "text"})
    cli("build")
    result = cli("check", "--format", "json")
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert result.exit_code == 1
    assert {"parse-error", "orphan-note"} <= rules


def test_every_rule_can_be_configured() -> None:
    from surveybib.lint import rule_levels
    from surveybib.rules import Rule

    assert set(rule_levels(tuple((r.id, "off") for r in Rule)).values()) == {"off"}
