"""`surveybib enrich` run as a user would (the `cli` fixture), against the fake API, in a
temporary survey."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from fakeapi import add_specinfer
from test_enrich import BIB


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    (tmp_path / "survey.bib").write_text(BIB, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.surveybib]\nmailto = "survey@example.org"\n', encoding="utf-8")
    return tmp_path


@pytest.fixture(autouse=True)
def quick_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVEYBIB_TIMEOUT", "1")


def test_dry_run_prints_changes_and_writes_nothing(survey: Path, fake_api: Any, cli: Cli) -> None:
    add_specinfer(fake_api)
    result = cli("enrich", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: specinfer: title: (none) -> SpecInfer: Accelerating Large Language " \
        "Model Serving with Tree-based Speculative Inference and Verification (from Crossref " \
        "10.1145/3620666.3651335)" in result.stdout.splitlines()
    assert "survey.bib:15: dl-learner: doi: (none) -> 10.1145/3184558.3186235 (from Crossref " \
        "title search 10.1145/3184558.3186235)" in result.stdout.splitlines()
    assert not (survey / "survey.lock.json").exists()
    assert (survey / "survey.bib").read_text(encoding="utf-8") == BIB
    assert result.stderr.splitlines()[-1].startswith("metadata: 3 fetched, 0 cached")
    assert "[#" not in result.stderr  # no progress bar when stderr is not a terminal


def test_enrich_fills_the_store_and_a_second_run_asks_nothing(survey: Path,
                                                              fake_api: Any, cli: Cli) -> None:
    add_specinfer(fake_api)
    first = cli("enrich")
    assert first.exit_code == 0, first.output
    assert first.stdout == ""
    lock = (survey / "survey.lock.json").read_bytes()
    assert b"10.1145/3620666.3651335" in lock and lock.endswith(b"}\n")
    assert "survey.bib:28: ghost: warning: 10.5555/no-such-doi not found at Crossref or " \
        "DataCite" in first.stderr
    asked = fake_api.count()
    second = cli("enrich")
    assert second.exit_code == 0
    assert fake_api.count() == asked
    assert second.stderr.splitlines()[-1].startswith("metadata: 0 fetched, 3 cached, 1 not found")
    assert (survey / "survey.lock.json").read_bytes() == lock


def test_write_adds_fields_to_survey_bib_and_nothing_else(survey: Path, fake_api: Any,
                                                          cli: Cli) -> None:
    add_specinfer(fake_api)
    result = cli("enrich", "--write", "specinfer", "vqf")
    assert result.exit_code == 0, result.output
    text = (survey / "survey.bib").read_text(encoding="utf-8")
    spec_line = text.splitlines()[0]
    assert spec_line.startswith("@misc{specinfer, doi = {10.1145/3620666.3651335}, "
                                "taxonomy = {Dynamic Inference}, reader = {Yin, Lihao}, "
                                "title = {SpecInfer: Accelerating")
    assert "venue = {ASPLOS}" in spec_line and "year = {2024}" in spec_line
    assert "  doi = {https://doi.org/10.1145/3448016.3452841},\n  booktitle = {Proceedings " \
        "of the 2021 International Conference on Management of Data},\n" in text
    # Only the two selected entries changed.
    assert text.split("@misc{specinfer-arxiv")[1] == BIB.split("@misc{specinfer-arxiv")[1]
    assert "added 14 field(s) to survey.bib" in result.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("--offline",), {}, id="flag"),
        pytest.param((), {"SURVEYBIB_OFFLINE": "1"}, id="environment"),
    ],
)
def test_offline_says_how_many_entries_lack_metadata(survey: Path, fake_api: Any,
                                                     args: tuple[str, ...],
                                                     env: dict[str, str], cli: Cli) -> None:
    result = cli("enrich", *args, env=env)
    assert result.exit_code == 0
    assert result.stderr == "offline: 5 entries lack metadata\n"
    assert fake_api.count() == 0


def test_no_network_is_reported_in_one_line_and_exits_1(survey: Path, cli: Cli) -> None:
    """Issue 11.15: an API unreachable from the first request is a failed run, as one that
    vanishes mid-run is (it was exit 0, so a scheduled `enrich` never noticed)."""
    result = cli("enrich")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "surveybib: enrich did not finish: 5 entries still lack metadata (cannot reach "
        "127.0.0.1:9: connection refused); run surveybib enrich again when the API can be "
        "reached"]
    assert cli("enrich", "--offline").exit_code == 0  # asking for no network is not failing


def test_unknown_key_is_bad_usage(survey: Path, fake_api: Any, cli: Cli) -> None:
    result = cli("enrich", "nosuchkey")
    assert result.exit_code == 2
    assert "no entry with key 'nosuchkey' in survey.bib" in result.stderr
    assert fake_api.count() == 0


def test_unreadable_store_is_an_error_and_is_kept(survey: Path, fake_api: Any, cli: Cli) -> None:
    (survey / "survey.lock.json").write_text("{broken", encoding="utf-8")
    result = cli("enrich")
    assert result.exit_code == 1
    assert "survey.lock.json: metadata store cannot be read" in result.stderr
    assert (survey / "survey.lock.json").read_text(encoding="utf-8") == "{broken"
    assert fake_api.count() == 0


def test_a_doi_only_entry_builds_a_full_readme_then_rebuilds_offline(
    tmp_path: Path, fake_api: Any, cli: Cli
) -> None:
    """Issue 3's example: a DOI, a taxonomy and a reader are enough for the README; the
    store is committed, so a later build with no network gives the same bytes."""
    add_specinfer(fake_api)
    (tmp_path / "survey.bib").write_text(
        "@misc{specinfer, doi = {10.1145/3620666.3651335}, taxonomy = {Dynamic Inference}, "
        "reader = {Yin, Lihao}}\n", encoding="utf-8")
    first = cli("build")
    assert first.exit_code == 0, first.output
    assert "no title" not in first.stderr
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert ("| SpecInfer: Accelerating Large Language Model Serving with Tree-based Speculative "
            "Inference and Verification (ASPLOS 2024) | Dynamic Inference | Yin, Lihao | "
            "[paper](https://doi.org/10.1145/3620666.3651335)") in readme
    asked = fake_api.count()
    (tmp_path / "README.md").unlink()
    again = cli("build", env={"SURVEYBIB_OFFLINE": "1"})
    assert again.exit_code == 0, again.output
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == readme
    assert fake_api.count() == asked
    assert "lack metadata" not in again.stderr


def test_write_fills_empty_fields_in_place_and_honours_a_coding_line(
    tmp_path: Path, fake_api: Any, cli: Cli
) -> None:
    """`title = {}` is filled where it stands (not skipped while being counted), and a
    Latin-1 file declared by its coding line is written back in Latin-1."""
    add_specinfer(fake_api)
    head = "% -*- coding: latin-1 -*-\n@string{caf = {Caf\xe9}}\n"
    body = "@misc{s, doi = {10.1145/3620666.3651335}, title = {}, note = caf}\n"
    (tmp_path / "survey.bib").write_bytes((head + body).encode("latin-1"))
    result = cli("enrich", "--write")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "survey.bib").read_bytes().decode("latin-1")
    assert text.startswith(head + "@misc{s, doi = {10.1145/3620666.3651335}, title = {SpecInfer: ")
    assert len(re.findall(r"(?<!book)title = ", text)) == 1
    assert "note = caf" in text
