"""The add-paper issue form: the YAML `build` writes (safe for any category name), and
`surveybib add --from-issue` on issue bodies written as GitHub writes them (`### Label`
headings, `_No response_`, `A, B` for a multiple dropdown, Windows line ends from the
browser's text areas), run as a user would (CliRunner) against the fake Crossref/DataCite
API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from fakeapi import SPECINFER_DOI, SPECINFER_TITLE
from hypothesis import given
from hypothesis import strategies as st
from surveys import entries, reading_list, write_survey

from surveybib.cli import main
from surveybib.issueform import (
    FORM_PATH,
    IssueFormError,
    added_comment,
    code_block,
    parse_body,
    refusal_comment,
    render_form,
    split_selection,
)

TAXONOMY = ["Dynamic Inference", "Quantization", "Search, Retrieval"]
PYPROJECT = """\
[tool.surveybib]
title = "Efficient Inference"
taxonomy = ["Dynamic Inference", "Quantization", "Search, Retrieval"]
issue_form = true
"""
OLD_BIB = reading_list(taxonomy="Dynamic Inference")
NOTE = ("**Idea:** a small model drafts a *tree* of tokens; the big one verifies it.\r\n"
        "\r\n"
        "- 1.5-2.8x faster decoding\r\n"
        "- `tree attention` in one pass  \r\n"
        "\r\n"
        "### What I would try next\r\n"
        "\r\n"
        "```python\r\n"
        "verify(tree)\r\n"
        "```")


def issue_body(paper: str = "_No response_", title: str = "_No response_",
               author: str = "_No response_", year: str = "_No response_",
               category: str = "Dynamic Inference", reader: str = "_No response_",
               note: str = "_No response_", extra: str = "") -> str:
    """An issue body as GitHub writes it for the form: each answer under its label."""
    answers = [("DOI or arXiv id", paper), ("Title", title), ("First author", author),
               ("Year", year), ("Category", category), ("Reader", reader)]
    body = "".join(f"### {label}\n\n{value}\n\n" for label, value in answers)
    return body + extra + f"### Note\n\n{note}"


def run(root: Path, api: Any, *args: str, stdin: str | None = None, **env: str) -> Result:
    url = api.url if api is not None else "http://127.0.0.1:9"
    environ = {"SURVEYBIB_CROSSREF_URL": url, "SURVEYBIB_DATACITE_URL": url,
               "SURVEYBIB_TIMEOUT": "2", "SURVEYBIB_RETRIES": "0", "SURVEYBIB_OFFLINE": "",
               "SURVEYBIB_MAILTO": "", "GITHUB_OUTPUT": "", **env}
    return CliRunner().invoke(main, ["-C", str(root), *args], env=environ, input=stdin)


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    return write_survey(tmp_path, OLD_BIB, PYPROJECT)


def from_issue(survey: Path, api: Any, body: str, *args: str, **env: str) -> Result:
    (survey.parent / "issue.md").write_bytes(body.encode("utf-8"))
    return run(survey, api, "add", "--from-issue", str(survey.parent / "issue.md"), *args,
               **env)


# ---------------------------------------------------------------- adding from an issue


@pytest.mark.parametrize("crlf", [
    pytest.param("note", id="crlf-in-the-note"),  # GitHub's LF frame, the browser's text area
    pytest.param("all", id="crlf-everywhere"),
])
def test_a_filled_in_form_adds_the_paper_with_its_note(survey: Path, api: Any,
                                                       crlf: str) -> None:
    body = issue_body(paper=f"https://doi.org/{SPECINFER_DOI}",
                      category="Quantization, Dynamic Inference", reader="Yin, Lihao",
                      note=NOTE if crlf == "note" else NOTE.replace("\r\n", "\n"))
    if crlf == "all":
        body = body.replace("\n", "\r\n")
    result = from_issue(survey, api, body)
    assert result.exit_code == 0, result.output
    added = entries(survey)["miao2024specinfer"]
    assert added.get("taxonomy") == "Quantization; Dynamic Inference"
    assert added.get("reader") == "Yin, Lihao"
    assert added.get("doi") == SPECINFER_DOI
    assert (survey / "survey.bib").read_text(encoding="utf-8").startswith(OLD_BIB)
    note = (survey / "notes" / "miao2024specinfer.md").read_bytes().decode("utf-8")
    assert note == NOTE.replace("\r\n", "\n") + "\n"  # markdown kept, hard break included
    assert result.stdout.startswith("@inproceedings{miao2024specinfer,")
    assert "added miao2024specinfer to survey.bib:11 (Crossref 10.1145/3620666.3651335)" \
        in result.stderr
    store = json.loads((survey / "survey.lock.json").read_text(encoding="utf-8"))
    assert list(store["works"]) == [SPECINFER_DOI]
    built = run(survey, None, "build", SURVEYBIB_OFFLINE="1")
    assert built.exit_code == 0, built.output
    readme = (survey / "README.md").read_text(encoding="utf-8")
    assert "verify(tree)" in readme and SPECINFER_TITLE in readme


def test_an_arxiv_id_and_a_note_left_empty(survey: Path, api: Any) -> None:
    result = from_issue(survey, api, issue_body(paper="arXiv:2305.09781v2"))
    assert result.exit_code == 0, result.output
    added = entries(survey)["miao2023specinfer"]
    assert added.get("eprint") == "2305.09781"
    assert "reader" not in dict(added.fields)
    note = (survey / "notes" / "miao2023specinfer.md").read_text(encoding="utf-8")
    assert note.startswith("<!-- Reading notes for miao2023specinfer")  # the template's


def test_a_paper_found_by_title_author_and_year(survey: Path, api: Any) -> None:
    body = issue_body(title=SPECINFER_TITLE, author="Miao", year="2024")
    result = from_issue(survey, api, body)
    assert result.exit_code == 0, result.output
    assert entries(survey)["miao2024specinfer"].get("doi") == SPECINFER_DOI
    assert api.count("search") == 1


def test_the_body_from_stdin(survey: Path, api: Any) -> None:
    result = run(survey, api, "add", "--from-issue", "-",
                 stdin=issue_body(paper=SPECINFER_DOI))
    assert result.exit_code == 0, result.output
    assert "miao2024specinfer" in entries(survey)


def test_github_format_answers_with_the_pull_request_text(survey: Path, api: Any,
                                                          tmp_path: Path) -> None:
    outputs = tmp_path / "github_output"
    body = issue_body(paper=SPECINFER_DOI, note="Read it.")
    result = from_issue(survey, api, body, "--format", "github", GITHUB_OUTPUT=str(outputs))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Adds the paper below to survey.bib (line 11), from "
                                    "Crossref 10.1145/3620666.3651335.\n\n```bibtex\n"
                                    "@inproceedings{miao2024specinfer,\n")
    assert "The note from the issue is in notes/miao2024specinfer.md." in result.stdout
    assert outputs.read_text(encoding="utf-8") == "status=added\nkey=miao2024specinfer\n"


def test_github_format_without_a_note_says_the_note_is_still_to_write(survey: Path,
                                                                       api: Any) -> None:
    result = from_issue(survey, api, issue_body(paper=SPECINFER_DOI), "--format", "github")
    assert result.exit_code == 0, result.output
    assert "The note from the issue" not in result.stdout
    assert "The issue gives no note: notes/miao2024specinfer.md holds the note template, " \
        "to fill in later." in result.stdout


def test_json_format_answers_with_the_entry(survey: Path, api: Any) -> None:
    result = from_issue(survey, api, issue_body(paper=SPECINFER_DOI), "--format", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert (answer["status"], answer["key"], answer["doi"], answer["line"]) == \
        ("added", "miao2024specinfer", SPECINFER_DOI, 11)
    assert answer["note"] == "notes/miao2024specinfer.md"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("body", "code", "message", "hint"), [
    pytest.param(issue_body(), 2, "the issue gives neither a DOI or arXiv id nor a title",
                 "Change that answer", id="no-identifier"),
    pytest.param(issue_body(paper="10.1145/3620666.3651335", category="Quantisation"), 2,
                 "taxonomy 'Quantisation' is not in the configured list; did you mean "
                 "'Quantization'?", "Change that answer", id="unknown-category"),
    pytest.param(issue_body(paper="10.1145/3600006.3613165"), 1,
                 "10.1145/3600006.3613165 is already in survey.bib:2 as 'kwon2023vllm'",
                 "this issue can be closed", id="duplicate-doi"),
    pytest.param(issue_body(paper="10.5555/no-such-paper"), 1,
                 "10.5555/no-such-paper: not found at Crossref or DataCite",
                 "Check the DOI or arXiv id for a typo", id="not-found"),
    pytest.param(issue_body(paper="see the paper's page"), 2,
                 "'see the paper's page' is not a DOI", "Change that answer", id="not-a-doi"),
    pytest.param(issue_body(title=SPECINFER_TITLE), 1,
                 "no Crossref record passes the match guard for the title",
                 "give the first author's family name and the year", id="title-alone"),
    pytest.param(issue_body(paper=SPECINFER_DOI, year="'24", title="x"), 2,
                 "'Year' is ''24': give a four-digit year", "Change that answer",
                 id="bad-year"),
    pytest.param(issue_body(paper=SPECINFER_DOI, category="None"), 2,
                 "'Category' is empty: choose one or more of 'Dynamic Inference', "
                 "'Quantization', 'Search, Retrieval'", "Choose the categories",
                 id="no-category"),  # GitHub enforces `required` in public repositories only
    pytest.param(issue_body(paper=SPECINFER_DOI, category="_No response_"), 2,
                 "'Category' is empty", "Choose the categories", id="category-no-response"),
    pytest.param("I'd like to suggest SpecInfer, thanks!", 2,
                 "the issue is not the add-paper form's", "Open a new issue with the 'Add a",
                 id="not-the-form"),
])
@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_refusals_say_why_and_write_nothing(survey: Path, api: Any, body: str, code: int,
                                            message: str, hint: str, fmt: str) -> None:
    result = from_issue(survey, api, body, "--format", fmt)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback
    if fmt == "github":
        assert result.stdout.startswith("surveybib did not add this paper:\n\n```text\n")
        assert message in result.stdout and hint in result.stdout
    elif fmt == "json":
        answer = json.loads(result.stdout)
        assert (answer["status"], answer["exit_code"]) == ("refused", code)
        assert message in answer["message"] and hint in answer["hint"]
    else:
        assert result.stdout == ""
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB
    assert not (survey / "notes").exists()


def test_a_lookup_failure_is_not_the_contributors_fault(survey: Path, api: Any) -> None:
    api.inject("500", 10)
    result = from_issue(survey, api, issue_body(paper=SPECINFER_DOI), "--format", "github")
    assert result.exit_code == 1
    assert "Nothing is wrong with the issue" in result.stdout
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB


def test_a_note_is_never_written_over_an_existing_file(survey: Path, api: Any) -> None:
    (survey / "notes").mkdir()
    (survey / "notes" / "miao2024specinfer.md").write_text("kept\n", encoding="utf-8")
    result = from_issue(survey, api, issue_body(paper=SPECINFER_DOI, note="new text"))
    assert result.exit_code == 1
    assert "notes/miao2024specinfer.md already exists" in result.stderr
    assert (survey / "notes" / "miao2024specinfer.md").read_text(encoding="utf-8") == "kept\n"
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB


def test_what_the_contributor_typed_stays_text_in_the_comment(survey: Path, api: Any,
                                                              tmp_path: Path) -> None:
    typed = "```` @maintainers <img src=x onerror=alert(1)> [link](http://x)"
    outputs = tmp_path / "github_output"
    result = from_issue(survey, api, issue_body(paper=typed), "--format", "github",
                        GITHUB_OUTPUT=str(outputs))
    assert result.exit_code == 2
    fence = "`````"  # longer than any backtick run in the message
    assert result.stdout.count(fence + "text\n") == 1
    inside = result.stdout.split(fence + "text\n")[1].split("\n" + fence)[0]
    assert typed in inside
    assert outputs.read_text(encoding="utf-8") == "status=refused\n"


def test_from_issue_with_a_doi_too_is_bad_usage(survey: Path, api: Any) -> None:
    result = from_issue(survey, api, issue_body(paper=SPECINFER_DOI), SPECINFER_DOI)
    assert result.exit_code == 2
    assert "--from-issue takes the paper, category and reader from the issue" in result.stderr
    assert api.count() == 0


# ---------------------------------------------------------------- the body, field by field


def test_no_response_and_none_are_empty() -> None:
    request = parse_body(issue_body(paper="2305.09781", category="None"), TAXONOMY)
    assert (request.paper, request.title, request.taxonomy, request.reader, request.note) == \
        ("2305.09781", "", "", "", "")


def test_a_dropdown_choice_may_hold_a_comma() -> None:
    body = issue_body(paper="x", category="Search, Retrieval, Quantization")
    assert parse_body(body, TAXONOMY).taxonomy == "Search, Retrieval; Quantization"


def test_categories_as_checkboxes_take_the_ticked_ones() -> None:
    boxes = "- [X] Dynamic Inference\r\n- [ ] Quantization\r\n- [x] Search, Retrieval"
    request = parse_body(issue_body(paper="x", category=boxes), TAXONOMY)
    assert request.taxonomy == "Dynamic Inference; Search, Retrieval"


def test_a_maintainers_extra_field_is_kept_apart() -> None:
    extra = "### Code of Conduct\n\n- [X] I agree to follow the Code of Conduct\n\n"
    request = parse_body(issue_body(paper="2305.09781", reader="Ada", extra=extra), TAXONOMY)
    assert (request.reader, request.note) == ("Ada", "")


def test_a_note_keeps_headings_that_look_like_the_forms() -> None:
    note = "Summary\n\n### Title\n\nNot a field: part of the note.\n\n### Category\n\nSame."
    request = parse_body(issue_body(paper="2305.09781", note=note), TAXONOMY)
    assert request.note == note
    assert request.taxonomy == "Dynamic Inference"


def test_without_a_configured_list_the_category_is_free_text() -> None:
    assert parse_body(issue_body(paper="x", category="A; B"), []).taxonomy == "A; B"


def test_not_the_form() -> None:
    with pytest.raises(IssueFormError, match="not the add-paper form's"):
        parse_body("Please add SpecInfer.\r\n", TAXONOMY)


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("A, B", ("A, B",), id="one-name-with-comma"),
    pytest.param("A, B, A", ("A, B", "A"), id="longest-first"),
    pytest.param("A, C", ("A", "C"), id="backtracks"),
    pytest.param("A, D", None, id="unknown"),
])
def test_split_selection(value: str, expected: tuple[str, ...] | None) -> None:
    assert split_selection(value, ("A", "A, B", "C")) == expected


_names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                 max_size=12).map(str.strip).filter(bool).filter(
                     lambda name: name != "None")  # GitHub's "no answer": no form offers it


@given(taxonomy=st.lists(_names, min_size=1, max_size=6, unique=True), data=st.data())
def test_any_choice_of_categories_reads_back_as_configured_names(taxonomy: list[str],
                                                                 data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(taxonomy), min_size=1, unique=True))
    request = parse_body(issue_body(paper="x", category=", ".join(chosen)), taxonomy)
    parts = split_selection(", ".join(chosen), tuple(taxonomy))
    assert parts is not None and all(p in taxonomy for p in parts)
    assert ", ".join(parts) == ", ".join(chosen)  # GitHub's `A, B` can be ambiguous, no more
    assert request.taxonomy == "; ".join(parts)


@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_yaml_and_toml_quoting_read_back_as_the_same_text(text: str) -> None:
    import tomllib

    from surveybib.scaffold.text import toml_str, yaml_str

    assert yaml.safe_load(f"key: {yaml_str(text)}\n") == {"key": text}
    assert tomllib.loads(f"key = {toml_str(text)}\n") == {"key": text}


# ---------------------------------------------------------------- the form


HOSTILE = [
    "Survey/Review", "大算子", "yes", "No", "null", "~", "1.0", "0x1F", "- dash", "a: b",
    "# hash", "x # y", "&anchor", "*alias", "!tag", "|", ">", "%percent", "@at", "`tick`",
    "'single'", '"double"', "back\\slash", "{brace}", "[bracket]", "emoji 🧪", "A, B",
]
TITLE = 'Survey: "quotes" & #hash\tand\u0085odd\u2028breaks\x7f\x00 \\ end'



def test_the_form_offers_any_category_name_as_it_is() -> None:
    text, problems = render_form(TITLE, HOSTILE)
    form = yaml.safe_load(text)
    dropdown = next(item for item in form["body"] if item["type"] == "dropdown")
    assert dropdown["attributes"]["options"] == HOSTILE
    assert dropdown["attributes"]["multiple"] is True
    assert form["labels"] == ["add-paper"]
    assert f"Suggest a paper for {TITLE}." in form["description"]  # escaped, read back
    assert problems == ()
    ids = [item.get("id") for item in form["body"] if item["type"] != "markdown"]
    assert ids == ["paper", "title", "author", "year", "taxonomy", "reader", "note"]


@pytest.mark.parametrize(("name", "why"), [
    pytest.param("None", "GitHub reserves 'None'", id="reserved"),
    pytest.param("two\nlines", "line break", id="line-break"),
    pytest.param("  ", "empty", id="blank"),
])
def test_a_category_github_would_refuse_is_left_out_and_named(name: str, why: str) -> None:
    text, problems = render_form("S", ["Quantization", name])
    options = next(i for i in yaml.safe_load(text)["body"] if i["type"] == "dropdown")
    assert options["attributes"]["options"] == ["Quantization"]
    assert [p.rule for p in problems] == ["issue-form"]
    assert why in problems[0].message and problems[0].level == "warning"


def test_without_a_taxonomy_the_category_is_a_text_field() -> None:
    form = yaml.safe_load(render_form("S", [])[0])
    category = next(i for i in form["body"] if i.get("id") == "taxonomy")
    assert category["type"] == "input"


def test_build_keeps_the_form_in_step_and_check_fails_when_it_is_not(survey: Path) -> None:
    (survey / "README.md").unlink(missing_ok=True)
    built = run(survey, None, "build", SURVEYBIB_OFFLINE="1")
    assert built.exit_code == 0, built.output
    form = yaml.safe_load((survey / FORM_PATH).read_text(encoding="utf-8"))
    dropdown = next(i for i in form["body"] if i["type"] == "dropdown")
    assert dropdown["attributes"]["options"] == TAXONOMY
    assert run(survey, None, "check").exit_code == 0
    pyproject = PYPROJECT.replace('"Quantization", ', '"Quantization", "Pruning", ')
    (survey / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    checked = run(survey, None, "check")
    assert checked.exit_code == 1
    assert f"{FORM_PATH}: stale: run `make readme`" in checked.stderr
    assert run(survey, None, "build", SURVEYBIB_OFFLINE="1").exit_code == 0
    assert "Pruning" in (survey / FORM_PATH).read_text(encoding="utf-8")


@pytest.mark.parametrize(("setting", "exists", "written"), [
    pytest.param("", False, False, id="unset-and-absent"),
    pytest.param("", True, True, id="unset-and-present"),
    pytest.param("issue_form = false\n", True, False, id="turned-off"),
    pytest.param("issue_form = true\n", False, True, id="turned-on"),
])
def test_the_form_is_written_only_for_a_survey_that_wants_it(tmp_path: Path, setting: str,
                                                             exists: bool,
                                                             written: bool) -> None:
    (tmp_path / "survey.bib").write_text(OLD_BIB, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.surveybib]\ntaxonomy = ["Dynamic Inference"]\n{setting}', encoding="utf-8")
    form = tmp_path / FORM_PATH
    if exists:
        form.parent.mkdir(parents=True)
        form.write_text("name: my own form\n", encoding="utf-8")
    assert run(tmp_path, None, "build", SURVEYBIB_OFFLINE="1").exit_code == 0
    text = form.read_text(encoding="utf-8") if form.exists() else None
    assert (text is not None and "Dynamic Inference" in text) == written


# ---------------------------------------------------------------- what goes back


def test_code_block_cannot_be_closed_from_inside() -> None:
    text = "a\n```\nb ```` c"
    block = code_block(text)
    assert block.startswith("`````text\n") and block.endswith("\n`````")


def test_comments_hold_the_message_and_what_to_do() -> None:
    comment = refusal_comment("x is not a DOI", "Change that answer in the issue.")
    assert comment == ("surveybib did not add this paper:\n\n```text\nx is not a DOI\n```\n\n"
                       "Change that answer in the issue.\n\nEdit this issue to change the "
                       "answers; saving the edit tries again.\n")
    added = added_comment("survey.bib", "k`ey", 3, "@misc{k`ey,\n}\n", "from Crossref 10.1/x",
                          None, ["survey.bib:3: k`ey: warning: near duplicate"])
    assert "The entry's key is ``k`ey``." in added
    assert "```text\nsurvey.bib:3: k`ey: warning: near duplicate\n```" in added
