"""`enrich --upgrade` / `--counts` with the inputs and servers a user meets that the happy
path does not: a wrong API key, a mistyped base URL, a server that keeps failing or sends an
HTML page, sequels and workshop versions that look like the paper, and DBLP-style preprint
entries whose upgrade must also read right in the exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from fakescholar import FakeScholar, fake_scholar, s2_paper  # noqa: F401

from surveybib.metadata.match import titles_agree

CONFIG = '[tool.surveybib]\ntitle = "T"\ntaxonomy = ["A"]\nmailto = "survey@example.org"\n'
LORA = "LoRA: Low-Rank Adaptation of Large Language Models"
LORA_AUTHORS = ["Edward J. Hu", "Yelong Shen", "Phillip Wallis", "Zeyuan Allen-Zhu"]


def _survey(root: Path, bib: str) -> Path:
    (root / "survey.bib").write_text(bib, encoding="utf-8")
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    return root


def _preprints(count: int) -> str:
    return "".join(f"@misc{{p{n},\n  title = {{Paper number {n}}},\n  author = {{Doe, Jane}},\n"
                   f"  year = {{2023}},\n  eprint = {{2301.{n:05d}}},\n  archiveprefix = "
                   "{arXiv},\n  taxonomy = {A},\n}\n\n" for n in range(count))


@pytest.fixture(autouse=True)
def quick_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVEYBIB_TIMEOUT", "2")


# ------------------------------------------------------------------ the API key


def test_a_refused_api_key_stops_semantic_scholar_in_one_line_and_fails_the_run(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    _survey(tmp_path, _preprints(501))  # two batches' worth
    fake_scholar.keys = {"the-right-key"}
    result = cli("enrich", "--counts", "--no-code-links",
                 env={"SURVEYBIB_S2_API_KEY": "a-wrong-key"})
    assert result.exit_code == 1, result.output
    assert "surveybib: Semantic Scholar refused the API key in SURVEYBIB_S2_API_KEY (HTTP " \
        "403: Forbidden); check it, or unset it to use the shared pool" in result.stderr
    assert "warning" not in result.stderr  # not 501 lines blaming the entries
    assert fake_scholar.count("s2") == 1  # the second batch is not sent with the same key
    good = cli("enrich", "--counts", "--no-code-links",
               env={"SURVEYBIB_S2_API_KEY": "the-right-key"})
    assert good.exit_code == 0, good.output
    assert "semantic scholar: 501 asked in 2 requests: 0 found, 501 unknown" in good.stderr
    assert all(seen.keyed for seen in fake_scholar.requests("s2"))


# ------------------------------------------------------------------ the base URLs


@pytest.mark.parametrize(("name", "value"), [
    pytest.param("SURVEYBIB_S2_URL", "localhost:8080", id="no-scheme"),
    pytest.param("SURVEYBIB_S2_URL", "http://[::1", id="broken-ipv6"),
    pytest.param("SURVEYBIB_S2_URL", "api.semanticscholar.org/graph/v1", id="host-only"),
    pytest.param("SURVEYBIB_HF_URL", "ftp://huggingface.co", id="ftp"),
    pytest.param("SURVEYBIB_HF_URL", "https://hugging face.co", id="space"),
])
def test_a_mistyped_base_url_is_one_line_before_any_request(
        tmp_path: Path, fake_scholar: FakeScholar, name: str, value: str, cli: Cli) -> None:  # noqa: F811
    _survey(tmp_path, _preprints(2))
    result = cli("enrich", "--counts", env={name: value})
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"surveybib: {name} is {value!r}, not an http(s) URL such as "
        f"{'https://api.semanticscholar.org' if 'S2' in name else 'https://huggingface.co'}"]
    assert fake_scholar.count() == 0  # nothing asked of the other service either


def test_both_forms_of_the_semantic_scholar_base_work_end_to_end(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    _survey(tmp_path, _preprints(1))
    for base in (fake_scholar.url, fake_scholar.url + "/graph/v1/"):
        result = cli("enrich", "--counts", "--no-code-links", "--refresh",
                     env={"SURVEYBIB_S2_URL": base})
        assert result.exit_code == 0 and "1 unknown, 0 failed" in result.stderr
    assert [s.path for s in fake_scholar.requests("s2")] == ["/graph/v1/paper/batch"] * 2


# ------------------------------------------------------------------ servers that keep failing


@pytest.mark.parametrize(("fault", "reason"), [
    pytest.param("500", "Hugging Face answered HTTP 500 (after retries)", id="http-500"),
    pytest.param("malformed", "Hugging Face sent malformed JSON", id="garbage-json"),
    pytest.param("html", "Hugging Face sent an HTML page, not JSON (a proxy or a network "
                         "sign-in page?)", id="html-page"),
])
def test_hugging_face_failing_every_paper_stops_after_a_few(
        tmp_path: Path, fake_scholar: FakeScholar, fault: str, reason: str, cli: Cli) -> None:  # noqa: F811
    _survey(tmp_path, _preprints(40))
    fake_scholar.inject(fault, times=10**6, route="hf")
    result = cli("enrich", "--counts", env={"SURVEYBIB_RETRIES": "0"})
    assert result.exit_code == 0, result.output
    assert f"survey.bib:1: p0: warning: {reason}; asked again next run" in result.stderr
    assert "survey.bib:352: p39: warning: Hugging Face keeps failing; not asked; asked again " \
        "next run" in result.stderr
    assert fake_scholar.count("hf") <= 8  # three failures in a row, and what was in flight
    assert "hugging face: 40 asked in" in result.stderr and "40 failed" in result.stderr


def test_an_html_page_from_semantic_scholar_is_named_once_per_entry(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    _survey(tmp_path, _preprints(1))
    fake_scholar.inject("html", times=10, route="s2")
    result = cli("enrich", "--upgrade")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: p0: warning: Semantic Scholar sent an HTML page, not JSON (a proxy " \
        "or a network sign-in page?); asked again next run" in result.stderr


# ------------------------------------------------------------------ the guard


@pytest.mark.parametrize("theirs", [
    pytest.param("Scaling Laws for Widgets: Part II", id="sequel"),
    pytest.param("Scaling Laws for Widgets: Revisited", id="revisited"),
    pytest.param("Scaling Laws for Widgets: Errata", id="errata"),
    pytest.param("Scaling Laws for Widgets: An Addendum", id="addendum"),
    pytest.param("Scaling Laws for Widgets: A Tutorial", id="tutorial"),
    pytest.param("Scaling Laws for Widgets: Invited Talk", id="talk"),
    pytest.param("Scaling Laws for Widgets: Technical Report", id="report"),
    pytest.param("Scaling Laws for Widgets: Full Version", id="full-version"),
    pytest.param("Scaling Laws for Widgets: The Journal Version", id="journal-version"),
    pytest.param("Scaling Laws for Widgets: Short Paper", id="short-paper"),
    pytest.param("Scaling Laws for Widgets - Discussion", id="discussion"),
    pytest.param("Scaling Laws for Widgets: Rejoinder", id="rejoinder"),
])
def test_a_subtitle_that_makes_another_work_is_not_the_same_title(theirs: str) -> None:
    assert not titles_agree("Scaling Laws for Widgets", theirs)
    assert not titles_agree(theirs, "Scaling Laws for Widgets")


@pytest.mark.parametrize("theirs", [
    pytest.param("Scaling Laws for Widgets: A Survey", id="survey"),
    pytest.param("Scaling Laws for Widgets: Long-Range Dependencies at Scale", id="long-range"),
    pytest.param("Scaling Laws for Widgets: Full-Stack Training", id="full-stack"),
    pytest.param("Scaling Laws for Widgets: Reporting Standards", id="reporting"),
    pytest.param("Scaling Laws for Widgets: Let's Talk About Scale", id="talk"),
])
def test_an_ordinary_trailing_subtitle_still_agrees(theirs: str) -> None:
    assert titles_agree("Scaling Laws for Widgets", theirs)


def test_a_sequel_by_the_same_authors_is_not_taken(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    bib = ("@misc{widgets,\n  title = {Scaling Laws for Widgets},\n  author = {Gr{\\\"u}n, Carl"
           " and {\\O}ster, Dana},\n  year = {2023},\n  eprint = {2302.00003},\n  archiveprefix"
           " = {arXiv},\n  taxonomy = {A},\n}\n")
    survey = _survey(tmp_path, bib)
    fake_scholar.add(s2_paper("2302.00003", "Scaling Laws for Widgets: Part II",
                              ["Carl Gruen", "Dana Oster"], 2023, venue="NeurIPS"))
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: widgets: warning: not upgraded: Semantic Scholar's record " \
        in result.stderr and "title differs ('Scaling Laws for Widgets: Part II')" \
        in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == bib


def test_stacked_latex_accents_in_family_names_match_their_plain_spelling(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    # Vietnamese names need two accents on one letter: Nguyễn is Nguy{\~{\^e}}n in BibTeX.
    bib = ("@misc{vn,\n  title = {Widgets in Vietnamese},\n  author = {Nguy{\\~{\\^e}}n, An "
           "and Tr{\\`{\\^a}}n, B{\\'{\\i}}nh and Ph{\\d{a}}m, Chi},\n  year = {2023},\n"
           "  eprint = {2305.00011},\n  archiveprefix = {arXiv},\n  taxonomy = {A},\n}\n")
    _survey(tmp_path, bib)
    fake_scholar.add(s2_paper("2305.00011", "Widgets in Vietnamese",
                              ["An Nguyen", "Binh Tran", "Chi Pham"], 2023, venue="ACL"))
    result = cli("enrich", "--upgrade", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith(": same title, 3 of 3 authors, year 2023 -> "
                                                  "2023)")


def test_a_doi_whose_crossref_record_is_a_workshop_paper_is_not_taken(
        tmp_path: Path, fake_scholar: FakeScholar, fake_api: Any, cli: Cli) -> None:  # noqa: F811
    title = "Sparse Probing of Language Models"
    bib = (f"@misc{{probe,\n  title = {{{title}}},\n  author = {{Smith, Ann and Jones, Bob}},\n"
           "  year = {2023},\n  eprint = {2301.00002},\n  archiveprefix = {arXiv},\n"
           "  taxonomy = {A},\n}\n")
    survey = _survey(tmp_path, bib)
    # Semantic Scholar files the paper under the main conference; its DOI is a workshop's.
    fake_scholar.add(s2_paper("2301.00002", title, ["Ann Smith", "Bob Jones"], 2023,
                              venue="ACL", doi="10.5555/blackbox.7"))
    fake_api.derive("10.5555/blackbox.7", title=title, year=2023,
                    authors=[("Ann", "Smith"), ("Bob", "Jones")],
                    event={"name": "BlackboxNLP 2023", "acronym": "BlackboxNLP"},
                    **{"container-title": ["Proceedings of the 6th BlackboxNLP Workshop: "
                                           "Analyzing and Interpreting Neural Networks for NLP"]})
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: probe: warning: not upgraded: Crossref's record of " \
        "10.5555/blackbox.7 is a workshop paper (Proceedings of the 6th BlackboxNLP Workshop: " \
        "Analyzing and Interpreting Neural Networks for NLP)" in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == bib


def test_a_record_of_unexpected_shape_is_read_not_a_crash(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    bib = _preprints(1)
    _survey(tmp_path, bib)
    record = s2_paper("2301.00000", "Paper number 0", ["Jane Doe"], 2023, venue="ICML")
    record["publicationVenue"] = {**record["publicationVenue"], "alternate_names": 7}
    fake_scholar.add(record)
    result = cli("enrich", "--upgrade", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: p0: arXiv 2301.00000 -> ICML 2023 (" in result.stdout


def test_semantic_scholar_text_cannot_add_fields_to_survey_bib(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    bib = ("@misc{w,\n  title = {Widgets at Scale},\n  author = {Doe, Jane and Roe, Richard},\n"
           "  year = {2023},\n  eprint = {2301.00009},\n  archiveprefix = {arXiv},\n"
           "  taxonomy = {A},\n}\n")
    survey = _survey(tmp_path, bib)
    fake_scholar.add(s2_paper("2301.00009", "Widgets at Scale", ["Jane Doe", "Richard Roe"],
                              2023, venue="TMLR", volume="7}, note = {injected",
                              pages="1-2}, url = {https://evil.example"))
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    text = (survey / "survey.bib").read_text(encoding="utf-8")
    # BibTeX counts escaped braces too: unpaired ones are written as commands
    assert "  volume = {7\\textbraceright{}, note = \\textbraceleft{}injected},\n" in text
    exported = json.loads(cli("export", "--format", "csl-json").stdout)
    assert len(exported) == 1 and "note" not in exported[0] and "URL" not in exported[0]
    assert exported[0]["volume"] == "7}, note = {injected"


# ------------------------------------------------------------------ what the exports say


DBLP = """\
@article{DBLP:journals/corr/abs-2106-09685,
  author       = {Edward J. Hu and
                  Yelong Shen and
                  Phillip Wallis and
                  Zeyuan Allen{-}Zhu},
  title        = {LoRA: Low-Rank Adaptation of Large Language Models},
  journal      = {CoRR},
  volume       = {abs/2106.09685},
  year         = {2021},
  url          = {https://arxiv.org/abs/2106.09685},
  eprinttype    = {arXiv},
  eprint       = {2106.09685},
  taxonomy     = {A}
}

@article{DBLP:journals/corr/abs-2301-00009,
  author       = {Jane Doe and Richard Roe},
  title        = {Widgets at Scale},
  journal      = {CoRR},
  volume       = {abs/2301.00009},
  year         = {2023},
  eprinttype    = {arXiv},
  eprint       = {2301.00009},
  taxonomy     = {A}
}
"""


def test_upgraded_dblp_entries_export_their_venue_not_the_arxiv_placeholders(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    survey = _survey(tmp_path, DBLP)
    fake_scholar.add(s2_paper("2106.09685", LORA, LORA_AUTHORS, 2021, venue="ICLR",
                              dblp="conf/iclr/HuSWALWWC22"))
    fake_scholar.add(s2_paper("2301.00009", "Widgets at Scale", ["Jane Doe", "Richard Roe"],
                              2023, venue="TMLR"))
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    text = (survey / "survey.bib").read_text(encoding="utf-8")
    assert "  volume       = {abs/2106.09685},\n" in text  # kept in survey.bib: nothing deleted
    assert "  journal      = {Trans. Mach. Learn. Res.},\n" in text

    def export(fmt: str) -> str:
        out = cli("export", "--format", fmt)
        assert out.exit_code == 0, out.output
        return out.stdout

    formatted = export("text")
    assert "In International Conference on Learning Representations. 2022." in formatted
    assert "volume abs/" not in formatted and ", abs/2301.00009" not in formatted
    items = {i["id"]: i for i in json.loads(export("csl-json"))}
    lora = items["DBLP:journals/corr/abs-2106-09685"]
    assert lora["type"] == "paper-conference"
    assert lora["container-title"] == "International Conference on Learning Representations"
    assert "volume" not in lora and "volume" not in items["DBLP:journals/corr/abs-2301-00009"]
    bibtex = export("bibtex")
    assert "CoRR" not in bibtex and "volume = {abs/" not in bibtex
    assert "  eprint = {2106.09685}," in bibtex  # the arXiv identity stays
    ris = export("ris")
    assert "CoRR" not in ris and "VL  - abs/" not in ris
