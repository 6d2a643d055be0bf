"""`enrich --upgrade` / `--counts` with the inputs and servers a user meets that the happy
path does not: a wrong API key, a mistyped base URL, a server that keeps failing or sends an
HTML page, sequels and workshop versions that look like the paper, and DBLP-style preprint
entries whose upgrade must also read right in the exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fakescholar import FakeScholar, fake_scholar, s2_paper  # noqa: F401

from surveybib.cli import main
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


def _run(root: Path, s2: FakeScholar | None, api: Any, *args: str, **env: str) -> Result:
    dead = "http://127.0.0.1:9"
    environ = {"SURVEYBIB_S2_URL": s2.url if s2 else dead,
               "SURVEYBIB_HF_URL": s2.url if s2 else dead,
               "SURVEYBIB_CROSSREF_URL": api.url if api else dead,
               "SURVEYBIB_DATACITE_URL": api.url if api else dead,
               "SURVEYBIB_S2_API_KEY": "", "SURVEYBIB_TIMEOUT": "2", "SURVEYBIB_OFFLINE": "",
               **env}
    return CliRunner().invoke(main, ["-C", str(root), *args], env=environ)


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
])
def test_an_ordinary_trailing_subtitle_still_agrees(theirs: str) -> None:
    assert titles_agree("Scaling Laws for Widgets", theirs)


def test_a_sequel_by_the_same_authors_is_not_taken(
        tmp_path: Path, fake_scholar: FakeScholar) -> None:  # noqa: F811
    bib = ("@misc{widgets,\n  title = {Scaling Laws for Widgets},\n  author = {Gr{\\\"u}n, Carl"
           " and {\\O}ster, Dana},\n  year = {2023},\n  eprint = {2302.00003},\n  archiveprefix"
           " = {arXiv},\n  taxonomy = {A},\n}\n")
    survey = _survey(tmp_path, bib)
    fake_scholar.add(s2_paper("2302.00003", "Scaling Laws for Widgets: Part II",
                              ["Carl Gruen", "Dana Oster"], 2023, venue="NeurIPS"))
    result = _run(survey, fake_scholar, None, "enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: widgets: warning: not upgraded: Semantic Scholar's record " \
        in result.stderr and "title differs ('Scaling Laws for Widgets: Part II')" \
        in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == bib


def test_a_doi_whose_crossref_record_is_a_workshop_paper_is_not_taken(
        tmp_path: Path, fake_scholar: FakeScholar, fake_api: Any) -> None:  # noqa: F811
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
    result = _run(survey, fake_scholar, fake_api, "enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: probe: warning: not upgraded: Crossref's record of " \
        "10.5555/blackbox.7 is a workshop paper (Proceedings of the 6th BlackboxNLP Workshop: " \
        "Analyzing and Interpreting Neural Networks for NLP)" in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == bib
