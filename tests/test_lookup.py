"""`surveybib doi`, `search`, `add` and `note`, run as a user would (the `cli` fixture) against
the fake Crossref/DataCite API (tests/fakeapi.py, serving the real bodies in tests/data)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, Cli
from fakeapi import SPECINFER_DOI, SPECINFER_TITLE
from surveys import entries, reading_list, write_survey

from surveybib.bibtex.parse import parse_bib

SPECINFER = f"""\
@inproceedings{{miao2024specinfer,
  title     = {{{SPECINFER_TITLE}}},
  author    = {{Miao, Xupeng and Oliaro, Gabriele and Zhang, Zhihao}},
  booktitle = {{Proceedings of the 29th ACM International Conference on Architectural \
Support for Programming Languages and Operating Systems, Volume 3}},
  publisher = {{ACM}},
  year      = {{2024}},
  pages     = {{932--949}},
  doi       = {{10.1145/3620666.3651335}},
  url       = {{https://doi.org/10.1145/3620666.3651335}},
  venue     = {{ASPLOS}},
"""
OLD_BIB = reading_list()
PYPROJECT = '[tool.surveybib]\ntaxonomy = ["Dynamic Inference", "Quantization"]\n'


@pytest.fixture(autouse=True)
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault is an answer at once: short timeouts, no retries."""
    monkeypatch.setenv("SURVEYBIB_TIMEOUT", "2")
    monkeypatch.setenv("SURVEYBIB_RETRIES", "0")


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    return write_survey(tmp_path, OLD_BIB, PYPROJECT)


def unaligned(text: str) -> str:
    """Entry text with `name   =` written `name =`, as in a file that does not align."""
    return re.sub(r"^([ \t]+[\w-]+) +=", r"\1 =", text, flags=re.M)


# ---------------------------------------------------------------- doi


@pytest.mark.parametrize("text", [
    pytest.param("10.1145/3620666.3651335", id="bare"),
    pytest.param("doi:10.1145/3620666.3651335", id="doi-prefix"),
    pytest.param("DOI: 10.1145/3620666.3651335", id="doi-prefix-space-upper"),
    pytest.param("https://doi.org/10.1145/3620666.3651335", id="https-doi-org"),
    pytest.param("http://dx.doi.org/10.1145/3620666.3651335", id="dx-doi-org"),
    pytest.param("https://doi.org/10.1145%2F3620666.3651335", id="percent-encoded"),
    pytest.param("10.1145/3620666.3651335.", id="trailing-period"),
    pytest.param("10.1145/3620666.3651335);", id="closing-parenthesis"),
    pytest.param("10.1145/3620666.3651335,", id="trailing-comma"),
    pytest.param("  10.1145/3620666.3651335\n", id="whitespace"),
])
def test_doi_accepts_every_spelling(tmp_path: Path, api: Any, text: str, cli: Cli) -> None:
    result = cli("doi", text)
    assert result.exit_code == 0, result.output
    assert result.stdout == SPECINFER + "}\n"
    assert list(tmp_path.iterdir()) == []  # outside a survey: no store is written


@pytest.mark.parametrize("text", [
    pytest.param("hello", id="word"),
    pytest.param("10.12/abc", id="registrant-too-short"),
    pytest.param("https://example.org/paper", id="other-url"),
    pytest.param("10.1145", id="no-suffix"),
    pytest.param("", id="empty"),
    pytest.param("10.1234/../../dois/x", id="dot-dot-segments"),
    pytest.param("10.1234/%2E%2E/works", id="encoded-dot-dot"),
    pytest.param("10.1234//x", id="empty-segment"),
])
def test_doi_refuses_what_is_not_a_doi(tmp_path: Path, fake_api: Any, text: str, cli: Cli) -> None:
    result = cli("doi", text)
    assert fake_api.seen == []  # refused before any request: the path cannot be steered
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "is not a DOI (10.NNNN/...) or an arXiv id" in result.stderr


def test_doi_goes_to_datacite_when_crossref_lacks_it(tmp_path: Path, fake_api: Any,
                                                     cli: Cli) -> None:
    fake_api.derive_datacite("10.5555/dataset.7", title="A Benchmark of Serving Traces",
                             creators=[("Ada", "Lovelace")], year=2022, publisher="Zenodo",
                             url="https://zenodo.org/record/7")
    result = cli("doi", "doi:10.5555/DATASET.7")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "@misc{lovelace2022benchmark,\n"
        "  title     = {A Benchmark of Serving Traces},\n"
        "  author    = {Lovelace, Ada},\n"
        "  publisher = {Zenodo},\n"
        "  year      = {2022},\n"
        "  doi       = {10.5555/dataset.7},\n"
        "  url       = {https://zenodo.org/record/7},\n"
        "}\n")
    assert (fake_api.count("single"), fake_api.count("datacite")) == (1, 1)


def test_doi_found_nowhere_names_both(tmp_path: Path, api: Any, cli: Cli) -> None:
    result = cli("doi", "10.5555/no-such-paper")
    assert result.exit_code == 1
    assert result.stderr == ("surveybib: 10.5555/no-such-paper: not found at Crossref or "
                             "DataCite\n")
    assert result.stdout == ""


def test_doi_uses_the_store_as_a_cache_inside_a_survey(survey: Path, api: Any, cli: Cli) -> None:
    bib = OLD_BIB + f"\n@misc{{specinfer, doi = {{{SPECINFER_DOI}}}}}\n"
    (survey / "survey.bib").write_text(bib, encoding="utf-8")
    first = cli("doi", SPECINFER_DOI)
    assert first.exit_code == 0, first.output
    store = json.loads((survey / "survey.lock.json").read_text(encoding="utf-8"))
    assert list(store["works"]) == [SPECINFER_DOI]  # an entry uses it: stored
    asked = api.count()
    second = cli("-v", "doi", f"https://doi.org/{SPECINFER_DOI}")
    assert second.stdout == first.stdout
    assert api.count() == asked
    assert f"{SPECINFER_DOI}: from metadata store" in second.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == bib


@pytest.mark.parametrize(("fmt", "expected"), [
    pytest.param("csl-json", '"DOI": "10.1145/3620666.3651335"', id="csl-json"),
    pytest.param("ris", "DO  - 10.1145/3620666.3651335", id="ris"),
    pytest.param("biblatex", "@inproceedings{miao2024specinfer,", id="biblatex"),
    pytest.param("text", "SpecInfer", id="text"),
])
def test_doi_other_formats(tmp_path: Path, api: Any, fmt: str, expected: str, cli: Cli) -> None:
    result = cli("doi", SPECINFER_DOI, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert expected in result.stdout
    assert "ASPLOS" not in result.stdout  # the custom venue field is not exported


def test_doi_offline_without_a_stored_record(survey: Path, cli: Cli) -> None:
    result = cli("doi", SPECINFER_DOI, env={"SURVEYBIB_OFFLINE": "1"})
    assert result.exit_code == 1
    assert ("not in the metadata store, and SURVEYBIB_OFFLINE=1 turns the network off"
            in result.stderr)


# ---------------------------------------------------------------- search


def test_search_lists_candidates_and_marks_the_one_the_guard_accepts(tmp_path: Path,
                                                                      api: Any, cli: Cli) -> None:
    result = cli("search", SPECINFER_TITLE, "--author", "Miao", "--year", "2024", "--rows", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("*   ") and f"  {SPECINFER_DOI}  2024  Miao  {SPECINFER_TITLE}" \
        "  [Proceedings of the 29th ACM" in lines[0]
    assert lines[1].startswith("  ") and lines[1].endswith("(title differs)")
    assert result.stderr == f"* passes the match guard: {SPECINFER_DOI}\n"


def test_search_json_without_author_marks_nothing(tmp_path: Path, api: Any, cli: Cli) -> None:
    result = cli("search", SPECINFER_TITLE, "--format", "json", "--rows", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["doi"] is None and data["status"] == "no match"
    [candidate] = data["candidates"]
    assert candidate["doi"] == SPECINFER_DOI and candidate["passes"] is False
    assert candidate["note"].startswith("too little to compare")


# ---------------------------------------------------------------- add


def test_add_appends_one_entry_creates_the_note_and_stores_the_record(survey: Path,
                                                                      api: Any, cli: Cli) -> None:
    result = cli("add", SPECINFER_DOI, "--taxonomy", "Dynamic Inference", "--reader", "Yin, Lihao")
    assert result.exit_code == 0, result.output
    added = unaligned(SPECINFER + "  taxonomy  = {Dynamic Inference},\n"
                      "  reader    = {Yin, Lihao},\n}\n")  # OLD_BIB's own `title = ` style
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB + "\n" + added
    assert result.stdout == added
    assert result.stderr == (f"added miao2024specinfer to survey.bib:10 (Crossref "
                             f"{SPECINFER_DOI})\ncreated notes/miao2024specinfer.md\n")
    note = (survey / "notes" / "miao2024specinfer.md").read_text(encoding="utf-8")
    assert note.startswith("<!-- Reading notes for miao2024specinfer: SpecInfer: ")
    assert "(ASPLOS 2024)" in note
    store = json.loads((survey / "survey.lock.json").read_text(encoding="utf-8"))
    assert store["works"][SPECINFER_DOI]["source"] == "crossref"
    assert entries(survey)["miao2024specinfer"].line == 10
    # and the survey still checks clean for what add is responsible for
    check = cli("check", "--format", "json")
    rules = {f["rule"] for f in json.loads(check.stdout)["findings"]}
    assert not rules & {"duplicate-doi", "missing-field", "unknown-taxonomy", "parse-error"}


@pytest.mark.parametrize("text", [
    pytest.param("2305.09781", id="bare"),
    pytest.param("2305.09781v2", id="version"),
    pytest.param("arXiv:2305.09781", id="arxiv-prefix"),
    pytest.param("https://arxiv.org/abs/2305.09781v1", id="abs-url"),
    pytest.param("https://arxiv.org/pdf/2305.09781.pdf", id="pdf-url"),
    pytest.param("10.48550/arXiv.2305.09781", id="arxiv-doi"),
])
def test_add_arxiv_id_forms(survey: Path, api: Any, text: str, cli: Cli) -> None:
    result = cli("add", text, "--taxonomy", "Dynamic Inference")
    assert result.exit_code == 0, result.output
    entry = entries(survey)["miao2023specinfer"]
    assert entry.type == "misc"
    assert entry.get("doi") == "10.48550/arXiv.2305.09781"
    assert (entry.get("eprint"), entry.get("archiveprefix")) == ("2305.09781", "arXiv")
    assert (api.count("single"), api.count("datacite")) == (0, 1)  # arXiv's DOIs: DataCite


def test_add_old_style_arxiv_id(survey: Path, fake_api: Any, cli: Cli) -> None:
    fake_api.derive_datacite("10.48550/arXiv.cs/0112017", title="Bayesian Learning in Sparse "
                             "Graphs", creators=[("Jane", "Doe")], year=2001)
    result = cli("add", "cs/0112017v1")
    assert result.exit_code == 0, result.output
    entry = entries(survey)["doe2001bayesian"]
    assert (entry.get("doi"), entry.get("eprint")) == ("10.48550/arXiv.cs/0112017",
                                                       "cs/0112017")


def test_add_key_collision_gets_a_letter_and_key_overrides(survey: Path, api: Any,
                                                           cli: Cli) -> None:
    bib = survey / "survey.bib"
    bib.write_text(OLD_BIB + "\n@misc{miao2024specinfer, title = {Another paper}}\n",
                   encoding="utf-8")
    assert cli("add", SPECINFER_DOI).exit_code == 0
    assert "miao2024specinfera" in entries(survey)
    assert cli("add", "2305.09781", "--key", "specinfer-preprint").exit_code == 0
    assert "specinfer-preprint" in entries(survey)
    assert (survey / "notes" / "specinfer-preprint.md").is_file()


@pytest.mark.parametrize(("args", "code", "message"), [
    pytest.param(["10.1145/3600006.3613165"], 1,
                 "surveybib: 10.1145/3600006.3613165 is already in survey.bib:2 as "
                 "'kwon2023vllm'; nothing added", id="doi-already-there"),
    pytest.param(["https://doi.org/10.1145/3600006.3613165."], 1,
                 "as 'kwon2023vllm'", id="doi-already-there-other-spelling"),
    pytest.param([SPECINFER_DOI, "--key", "kwon2023vllm"], 2,
                 "surveybib: key 'kwon2023vllm' is already taken (line 2); choose another "
                 "with --key", id="key-taken"),
    pytest.param([SPECINFER_DOI, "--key", "Kwon2023VLLM"], 2,
                 "key 'Kwon2023VLLM' is already taken, as 'kwon2023vllm'", id="key-case"),
    pytest.param([SPECINFER_DOI, "--key", "has space"], 2,
                 "'has space' is not a valid BibTeX key", id="key-invalid"),
    pytest.param([SPECINFER_DOI, "--key", "a,b"], 2, "not a valid BibTeX key", id="key-comma"),
    pytest.param([SPECINFER_DOI, "--taxonomy", "Quantisation"], 2,
                 "surveybib: taxonomy 'Quantisation' is not in the configured list; did you "
                 "mean 'Quantization'? (the list: 'Dynamic Inference', 'Quantization')",
                 id="taxonomy-typo"),
    pytest.param([SPECINFER_DOI, "--taxonomy", "Quantization; Pruning"], 2,
                 "taxonomy 'Pruning' is not in the configured list", id="taxonomy-second"),
    pytest.param(["not-a-paper"], 2, "'not-a-paper' is not a DOI", id="not-an-id"),
    pytest.param(["10.5555/no-such-paper"], 1,
                 "surveybib: 10.5555/no-such-paper: not found at Crossref or DataCite",
                 id="found-nowhere"),
])
def test_add_refusals_leave_everything_as_it_was(survey: Path, api: Any, args: list[str],
                                                 code: int, message: str, cli: Cli) -> None:
    result = cli("add", *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB
    assert not (survey / "notes").exists()


def test_add_refuses_an_arxiv_paper_the_file_names_by_eprint(survey: Path, api: Any,
                                                             cli: Cli) -> None:
    bib = survey / "survey.bib"
    bib.write_text(OLD_BIB + "\n@misc{specinfer, title = {SpecInfer}, eprint = {2305.09781},"
                   " archiveprefix = {arXiv}}\n", encoding="utf-8")
    before = bib.read_bytes()
    result = cli("add", "arXiv:2305.09781v3")
    assert result.exit_code == 1
    assert "10.48550/arxiv.2305.09781 is already in survey.bib:10 as 'specinfer'" in result.stderr
    assert bib.read_bytes() == before
    assert api.count() == 0  # refused before any request


def test_add_warns_about_a_near_identical_title(survey: Path, api: Any, cli: Cli) -> None:
    bib = survey / "survey.bib"
    bib.write_text(OLD_BIB + "\n@misc{specinfer-old,\n  title = {{SpecInfer}: accelerating "
                   "large language model serving with tree-based speculative inference and "
                   "verification},\n}\n", encoding="utf-8")
    result = cli("add", SPECINFER_DOI)
    assert result.exit_code == 0, result.output
    assert ("survey.bib:14: miao2024specinfer: warning: title (nearly) the same as "
            "'specinfer-old' (line 10): a preprint and its published version?") in result.stderr
    assert "miao2024specinfer" in entries(survey)


def test_add_preprint_of_a_paper_already_there_warns(survey: Path, api: Any, cli: Cli) -> None:
    assert cli("add", SPECINFER_DOI).exit_code == 0
    result = cli("add", "2305.09781")
    assert result.exit_code == 0, result.output
    assert ("miao2023specinfer: warning: its published version is already in survey.bib as "
            "'miao2024specinfer' (line 10)") in result.stderr
    assert result.stderr.count("warning:") == 1  # not twice (relation and title)


def test_add_network_failure_mid_add_leaves_survey_bib_unchanged(survey: Path,
                                                                 fake_api: Any, cli: Cli) -> None:
    # Crossref answers (404: not its DOI), then DataCite hangs past the timeout.
    fake_api.hang_seconds = 1.5
    fake_api.inject("hang", 5, "datacite")
    before = (survey / "survey.bib").read_bytes()
    result = cli("add", "10.5555/slow.1", env={"SURVEYBIB_TIMEOUT": "0.5"})
    assert result.exit_code == 1
    assert result.stderr.startswith("surveybib: ")
    assert "10.5555/slow.1" in result.stderr and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output
    assert (survey / "survey.bib").read_bytes() == before
    assert not (survey / "notes").exists() and not (survey / "survey.lock.json").exists()


def test_add_with_no_api_reachable(survey: Path, cli: Cli) -> None:
    before = (survey / "survey.bib").read_bytes()
    result = cli("add", SPECINFER_DOI)
    assert result.exit_code == 1
    assert result.stderr.startswith("surveybib: ") and "127.0.0.1:9" in result.stderr
    assert (survey / "survey.bib").read_bytes() == before


def test_add_server_errors_leave_survey_bib_unchanged(survey: Path, api: Any, cli: Cli) -> None:
    api.inject("503", 9, "single")
    result = cli("add", SPECINFER_DOI)
    assert result.exit_code == 1
    assert "503" in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB


# ---------------------------------------------------------------- the old bytes


def _no_final_newline(path: Path) -> bytes:
    return path.read_bytes().rstrip(b"\r\n \t")


def _crlf(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize(("source", "transform", "newline"), [
    # tests/data/SOURCES.md: an ML-bibliography style file, pybtex's parser tests
    pytest.param(("synthetic", "uppercase-types-long-authors.bib"), _no_final_newline, b"\n",
                 id="no-final-newline"),
    pytest.param(("synthetic", "uppercase-types-long-authors.bib"), _crlf, b"\r\n", id="crlf"),
    pytest.param(("pybtex-parser-test-inline", "WindowsNewlineTest.bib"),
                 lambda p: p.read_bytes(), b"\r\n", id="pybtex-windows-newlines"),
    pytest.param(("synthetic", "uppercase-types-long-authors.bib"), lambda p: p.read_bytes(),
                 b"\n", id="uppercase-types-long-authors"),
])
def test_add_keeps_every_old_byte_of_real_files(tmp_path: Path, api: Any, source: tuple[str, ...],
                                                transform: Any, newline: bytes, cli: Cli) -> None:
    old = transform(DATA.joinpath("edge", *source))
    (tmp_path / "survey.bib").write_bytes(old)
    result = cli("add", SPECINFER_DOI, "--reader", "Yin, Lihao")
    assert result.exit_code == 0, result.output
    new = (tmp_path / "survey.bib").read_bytes()
    assert new[:len(old)] == old
    added = new[len(old):]
    if not old.endswith((b"\n", b"\r")):
        assert added.startswith(newline)
    assert added.endswith(b"}" + newline)
    assert added.count(b"\n") == added.count(newline)  # one kind of line end throughout
    assert unaligned(added.strip().decode("utf-8")) == unaligned(
        SPECINFER + "  reader    = {Yin, Lihao},\n}").replace("\n", newline.decode())
    parsed = parse_bib(new.decode("utf-8"))
    assert parsed.entries[-1].key == "miao2024specinfer"
    line = int(result.stderr.split("survey.bib:")[1].split()[0])
    assert parsed.entries[-1].line == line


def test_add_to_a_latin1_file_writes_latex_accents(tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    old = "% -*- coding: latin-1 -*-\n@book{ren, title = {Caf\xe9}, year = 1990}\n".encode(
        "latin-1")
    (tmp_path / "survey.bib").write_bytes(old)
    fake_api.derive("10.5555/accents", title="Gödel numbering for Müller",
                    authors=[("Jürgen", "Müller")], year=2021)
    result = cli("add", "10.5555/accents")
    assert result.exit_code == 0, result.output
    new = (tmp_path / "survey.bib").read_bytes()
    assert new.startswith(old)
    added = new[len(old):].decode("ascii")  # the 8-bit file stays 8-bit: accents as LaTeX
    assert added.startswith("\n@inproceedings{muller2021godel,\n  title     = {G{\\\"o}del ")
    assert r"M{\"u}ller, J{\"u}rgen" in added


def test_add_to_an_empty_file(tmp_path: Path, api: Any, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_bytes(b"")
    assert cli("add", SPECINFER_DOI).exit_code == 0
    assert (tmp_path / "survey.bib").read_text(encoding="utf-8") == SPECINFER + "}\n"


# ---------------------------------------------------------------- add -


PASTED = """\
@inproceedings{lin2024awq,
  title={AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration},
  author={Lin, Ji and Tang, Jiaming},
  booktitle={MLSys},
  year={2024}
}

@article{frantar2022gptq,
  author = "Frantar, Elias",
  title = "{GPTQ}: Accurate Post-Training Quantization for Generative Pre-trained Transformers",
  journal = {arXiv preprint arXiv:2210.17323}, year = 2022, doi = {10.48550/arXiv.2210.17323}
}
"""


def test_add_from_stdin_appends_every_pasted_entry_in_our_layout(survey: Path, cli: Cli) -> None:
    result = cli("add", "-", "--taxonomy", "Quantization", input=PASTED)
    assert result.exit_code == 0, result.output
    text = (survey / "survey.bib").read_text(encoding="utf-8")
    assert text.startswith(OLD_BIB)
    assert text[len(OLD_BIB):] == (
        "\n@inproceedings{lin2024awq,\n"
        "  title = {AWQ: Activation-aware Weight Quantization for LLM Compression and "
        "Acceleration},\n"
        "  author = {Lin, Ji and Tang, Jiaming},\n"
        "  booktitle = {MLSys},\n"
        "  year = {2024},\n"
        "  taxonomy = {Quantization},\n"
        "}\n\n"
        "@article{frantar2022gptq,\n"
        "  title = {{GPTQ}: Accurate Post-Training Quantization for Generative Pre-trained "
        "Transformers},\n"
        "  author = {Frantar, Elias},\n"
        "  journal = {arXiv preprint arXiv:2210.17323},\n"
        "  year = {2022},\n"
        "  doi = {10.48550/arXiv.2210.17323},\n"
        "  taxonomy = {Quantization},\n"
        "}\n")
    assert result.stdout == text[len(OLD_BIB) + 1:]  # printed as written, a blank line between
    assert sorted(p.name for p in (survey / "notes").iterdir()) == ["frantar2022gptq.md",
                                                                    "lin2024awq.md"]
    assert "added lin2024awq to survey.bib:10\n" in result.stderr
    assert "added frantar2022gptq to survey.bib:18\n" in result.stderr


@pytest.mark.parametrize(("stdin", "args", "code", "message"), [
    pytest.param(PASTED.replace("lin2024awq", "kwon2023vllm"), [], 2,
                 "key 'kwon2023vllm' is already taken", id="key-taken"),
    pytest.param(PASTED.replace("10.48550/arXiv.2210.17323", "10.1145/3600006.3613165"), [], 1,
                 "frantar2022gptq: 10.1145/3600006.3613165 is already in survey.bib as "
                 "'kwon2023vllm'", id="doi-in-file"),
    pytest.param(PASTED + PASTED.split("\n\n")[1].replace("frantar2022gptq", "again"), [], 1,
                 "again: 10.48550/arxiv.2210.17323 is already in the pasted text as "
                 "'frantar2022gptq'", id="doi-twice-in-paste"),
    pytest.param(PASTED, ["--key", "one"], 2, "--key names one entry, but 2 were given",
                 id="key-with-two"),
    pytest.param(PASTED.replace("year={2024}", "year={2024}, taxonomy = {Quantisation}"), [],
                 2, "did you mean 'Quantization'?", id="own-taxonomy-typo"),
    pytest.param("@article{broken, title = {no closing brace\n", [], 2,
                 "error(s) in the pasted BibTeX; nothing added", id="parse-error"),
    pytest.param("Just some text, no entry.\n", [], 2, "no BibTeX entry on stdin",
                 id="no-entry"),
])
def test_add_from_stdin_refusals(survey: Path, stdin: str, args: list[str], code: int,
                                 message: str, cli: Cli) -> None:
    result = cli("add", "-", *args, input=stdin)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == OLD_BIB
    assert not (survey / "notes").exists()


def test_add_from_stdin_with_key_renames_the_one_entry(survey: Path, cli: Cli) -> None:
    one = PASTED.split("\n\n")[0]
    result = cli("add", "-", "--key", "awq", input=one)
    assert result.exit_code == 0, result.output
    assert "awq" in entries(survey) and "lin2024awq" not in entries(survey)


# ---------------------------------------------------------------- note


def test_note_refuses_an_unknown_key_with_a_hint(survey: Path, cli: Cli) -> None:
    result = cli("note", "kwon2023vlm")
    assert result.exit_code == 1
    assert result.stderr == ("surveybib: no entry with key 'kwon2023vlm' in survey.bib; did "
                             "you mean 'kwon2023vllm'?\n")
    assert not (survey / "notes").exists()


def test_note_after_add_prints_the_existing_path(survey: Path, api: Any, cli: Cli) -> None:
    assert cli("add", SPECINFER_DOI).exit_code == 0
    note = survey / "notes" / "miao2024specinfer.md"
    note.write_text("My own notes.\n", encoding="utf-8")
    result = cli("note", "miao2024specinfer")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0, "notes/miao2024specinfer.md\n", "")
    assert note.read_text(encoding="utf-8") == "My own notes.\n"


def test_add_from_stdin_generates_a_key_for_a_keyless_entry(survey: Path, cli: Cli) -> None:
    keyless = ('@article{,\n title={Speculative Decoding at Scale}, author={M{\\"u}ller, '
               'Hans}, year=2023, journal={J}}\n')
    result = cli("add", "-", input=keyless)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("@article{muller2023speculative,\n")
    assert "muller2023speculative" in entries(survey)


def test_doi_stores_nothing_no_entry_uses(survey: Path, api: Any, cli: Cli) -> None:
    assert cli("doi", "2305.09781").exit_code == 0
    assert not (survey / "survey.lock.json").exists()  # no entry cites it
    result = cli("add", "arXiv:2305.09781", "--offline")
    assert result.exit_code == 1
    assert "--offline turns the network off" in result.stderr
