"""`surveybib enrich --upgrade` and `--counts` run as a user would: a survey of arXiv-only
entries against the fake Semantic Scholar + Hugging Face (tests/fakescholar.py) and the
fake Crossref (tests/fakeapi.py), then `build`, then an offline rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from fakescholar import FakeScholar, fake_scholar, hf_paper, s2_paper  # noqa: F401

BIB = """\
@article{lora,
  title   = {{LoRA}: Low-Rank Adaptation of Large Language Models},
  author  = {Hu, Edward J. and Shen, Yelong and Wallis, Phillip and Allen-Zhu, Zeyuan},
  journal = {arXiv preprint arXiv:2106.09685},
  year    = {2021},
  taxonomy = {Adapters},
}

@misc{qlora,
  title = {{QLoRA}: Efficient Finetuning of Quantized {LLMs}},
  author = {Dettmers, Tim and Pagnoni, Artidoro and Holtzman, Ari and Zettlemoyer, Luke},
  year = 2023,
  eprint = {2305.14314},
  archivePrefix = {arXiv},
  taxonomy = {Quantization}
}

@misc{fresh,
  title = {A Very Recent Preprint About Things},
  author = {Doe, Jane and Roe, Richard},
  year = {2026},
  eprint = {2611.00001},
  archiveprefix = {arXiv},
  taxonomy = {Adapters},
}

@misc{twin,
  title = {Attention is not Explanation},
  author = {Jain, Sarthak and Wallace, Byron C.},
  year = {2019},
  url = {https://arxiv.org/abs/1902.10186},
  taxonomy = {Adapters},
}

@misc{spec,
  title = {{SpecInfer}: Accelerating Large Language Model Serving with Tree-based
           Speculative Inference and Verification},
  author = {Miao, Xupeng and Oliaro, Gabriele and Zhang, Zhihao},
  year = {2023},
  eprint = {2305.09781},
  archiveprefix = {arXiv},
  taxonomy = {Quantization},
}

@inproceedings{published,
  title = {Some Published Paper},
  author = {Doe, Jane},
  booktitle = {Proceedings of Something},
  year = {2020},
  doi = {10.5555/published.1},
  taxonomy = {Quantization},
}
"""
SPEC_TITLE = ("SpecInfer: Accelerating Large Language Model Serving with Tree-based "
              "Speculative Inference and Verification")
SPEC_DOI = "10.1145/3620666.3651335"


def _serve(s2: FakeScholar) -> None:
    s2.add(s2_paper("2106.09685", "LoRA: Low-Rank Adaptation of Large Language Models",
                    ["J. E. Hu", "Yelong Shen", "Phillip Wallis", "Zeyuan Allen-Zhu",
                     "Yuanzhi Li"], 2021, venue="ICLR", dblp="conf/iclr/HuSWALWWC22",
                    citations=9876, influential=1234))
    s2.add(s2_paper("2305.14314", "QLoRA: Efficient Finetuning of Quantized LLMs",
                    ["Tim Dettmers", "Artidoro Pagnoni", "Ari Holtzman", "Luke Zettlemoyer"],
                    2023, venue="NeurIPS", pages="10088-10115", citations=2345))
    s2.add(s2_paper("2611.00001", "A Very Recent Preprint About Things",
                    ["Jane Doe", "Richard Roe"], 2026, citations=0))
    s2.add(s2_paper("1902.10186", "Attention is not not Explanation",
                    ["Sarah Wiegreffe", "Yuval Pinter"], 2019, venue="ACL", citations=77))
    s2.add(s2_paper("2305.09781", SPEC_TITLE, ["Xupeng Miao", "Gabriele Oliaro",
                                               "Zhihao Zhang"], 2023, doi=SPEC_DOI,
                    venue="ICML", citations=555))
    s2.papers["DOI:10.5555/published.1"] = s2_paper("2001.00001", "Some Published Paper",
                                                    ["Jane Doe"], 2020, citations=12)
    s2.add_hf(hf_paper("2106.09685", "LoRA", ["Edward J. Hu"],
                       repo="https://github.com/microsoft/LoRA", stars=10321))
    s2.add_hf(hf_paper("2305.14314", "QLoRA", ["Tim Dettmers"],
                       repo="https://github.com/artidoro/qlora", stars=9000,
                       project="https://example.org/qlora|x"))


def _add_specinfer(api: Any) -> None:
    from fakeapi import add_specinfer

    add_specinfer(api)


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    (tmp_path / "survey.bib").write_text(BIB, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.surveybib]\ntitle = "Adapters"\ntaxonomy = ["Adapters", "Quantization"]\n'
        'mailto = "survey@example.org"\n', encoding="utf-8")
    return tmp_path


@pytest.fixture(autouse=True)
def quick_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVEYBIB_TIMEOUT", "2")


def test_dry_run_shows_a_reviewable_diff_and_writes_nothing(survey: Path,
                                                           fake_scholar: FakeScholar,  # noqa: F811
                                                           fake_api: Any, cli: Cli) -> None:
    _serve(fake_scholar)
    _add_specinfer(fake_api)
    result = cli("enrich", "--upgrade", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0].startswith("survey.bib:1: lora: arXiv 2106.09685 -> ICLR 2022 (Semantic "
                             "Scholar ")
    assert out[0].endswith(": same title, 4 of 4 authors, year 2021 -> 2022)")
    assert out[1].startswith("survey.bib:9: qlora: arXiv 2305.14314 -> NeurIPS 2023 ")
    assert out[2].startswith("survey.bib:35: spec: arXiv 2305.09781 -> ASPLOS 2024 ")
    assert out[2].endswith(f"; {SPEC_DOI} confirmed at Crossref)")
    assert out[3:5] == ["--- a/survey.bib", "+++ b/survey.bib"]
    assert "-@article{lora," in out and "+@inproceedings{lora," in out
    assert "+  booktitle = {International Conference on Learning Representations}," in out
    assert "+  venue   = {ICLR}," in out
    assert f"+  doi = {{{SPEC_DOI}}}," in out
    assert "survey.bib:27: twin: warning: not upgraded: Semantic Scholar's record " \
        in result.stderr and "title differs ('Attention is not not Explanation')" \
        in result.stderr
    assert "upgrade: 3 published versions found, 1 only preprint, 1 refused by the guard" \
        in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == BIB
    assert not (survey / "survey.lock.json").exists()
    assert fake_scholar.count("s2") == 1 and fake_scholar.count("hf") == 0


def test_write_applies_the_diff_and_the_readme_shows_the_venues(
        survey: Path, fake_scholar: FakeScholar, fake_api: Any, cli: Cli) -> None:  # noqa: F811
    _serve(fake_scholar)
    _add_specinfer(fake_api)
    dry = cli("enrich", "--upgrade", "--dry-run")
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    assert result.stdout == dry.stdout  # what was reviewed is what is written
    text = (survey / "survey.bib").read_text(encoding="utf-8")
    assert "@inproceedings{lora," in text and "  year    = {2022}," in text
    assert "  journal = {arXiv preprint arXiv:2106.09685}," in text  # kept
    assert "  archivePrefix = {arXiv},\n  taxonomy = {Quantization},\n  booktitle = " \
        "{Neural Information Processing Systems},\n  venue = {NeurIPS},\n  pages = " \
        "{10088--10115}\n}" in text
    assert text.split("@misc{fresh,")[1].split("spec,")[0] == \
        BIB.split("@misc{fresh,")[1].split("@misc{spec,")[0] + "@inproceedings{"  # untouched
    store = json.loads((survey / "survey.lock.json").read_text(encoding="utf-8"))
    assert store["upgrades"]["lora"]["fields"]["year"] == ["2021", "2022"]
    assert store["upgrades"]["lora"]["type"] == ["article", "inproceedings"]
    assert store["upgrades"]["spec"]["doi"] == SPEC_DOI
    assert SPEC_DOI in store["works"]
    asked = fake_scholar.count(), fake_api.count()
    again = cli("enrich", "--upgrade", "--write")
    assert again.exit_code == 0 and again.stdout == ""
    assert (fake_scholar.count(), fake_api.count()) == asked  # a re-run asks nothing
    build = cli("build", "--offline")
    assert build.exit_code == 0, build.output
    readme = (survey / "README.md").read_text(encoding="utf-8")
    assert "| LoRA: Low-Rank Adaptation of Large Language Models (ICLR 2022) |" in readme
    assert "| QLoRA: Efficient Finetuning of Quantized LLMs (NeurIPS 2023) |" in readme
    assert "Tree-based Speculative Inference and Verification (ASPLOS 2024) |" in readme
    assert "| A Very Recent Preprint About Things (arXiv 2026) |" in readme
    assert "| Attention is not Explanation (arXiv 2019) |" in readme


@pytest.mark.parametrize(("own", "shown"), [
    pytest.param("ASPLOS-24", "ASPLOS-24", id="renamed"),
    pytest.param("", "Proceedings of the 29th ACM International Conference on Architectural "
                 "Support for Programming Languages and Operating Systems, Volume 3",
                 id="turned-off"),
])
def test_the_survey_s_venue_names_win_over_crossref_s_acronym(
        survey: Path, fake_scholar: FakeScholar, fake_api: Any, cli: Cli,  # noqa: F811
        own: str, shown: str) -> None:
    """Crossref's event acronym ("ASPLOS '24") was written whatever the survey's own
    `venues` said, so the README showed another name than the survey chose."""
    _serve(fake_scholar)
    _add_specinfer(fake_api)
    with (survey / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write('venues = {"International Conference on Architectural Support for '
                     f'Programming Languages and Operating Systems" = "{own}"}}\n')
    result = cli("enrich", "--upgrade", "--write", "--keys", "spec")
    assert result.exit_code == 0, result.output
    text = (survey / "survey.bib").read_text(encoding="utf-8")
    assert f"  venue = {{{shown}}}," in text.split("@inproceedings{spec,")[1]
    build = cli("build", "--offline")
    assert build.exit_code == 0, build.output
    readme = (survey / "README.md").read_text(encoding="utf-8")
    assert f"Tree-based Speculative Inference and Verification ({shown} 2024) |" in readme


def test_counts_fill_the_optional_columns_and_an_offline_rebuild_is_the_same(
        survey: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    _serve(fake_scholar)
    plain = cli("build", "--offline")
    assert plain.exit_code == 0
    before = (survey / "README.md").read_bytes()
    assert b"Citations" not in before  # the columns are off by default
    with (survey / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write('columns = ["citations", "code"]\n')
    result = cli("enrich", "--counts")
    assert result.exit_code == 0, result.output
    assert "semantic scholar: 6 asked in 1 request: 6 found, 0 unknown, 0 failed" \
        in result.stderr
    assert "hugging face: 5 asked in 5 requests: 2 indexed, 3 not, 0 failed" in result.stderr
    assert "counts: 6 of 6 entries have a citation count, 2 a code link" in result.stderr
    asked = fake_scholar.count()
    build = cli("build")
    assert build.exit_code == 0, build.output
    assert fake_scholar.count() == asked  # build never fetches counts or code links
    readme = (survey / "README.md").read_text(encoding="utf-8")
    assert "| Paper Title | Taxonomy | Reader | Citations | Code | Link |" in readme
    assert "| :--- | :--- | :--- | ---: | ---: | :--- |" in readme
    assert "(arXiv 2021) | Adapters |  | 9,876 | [code](https://github.com/microsoft/LoRA) " \
        "\u2605 10,321 | [paper]" in readme
    assert "| 2,345 | [code](https://github.com/artidoro/qlora) \u2605 9,000, " \
        "[project](https://example.org/qlora%7Cx) |" in readme
    assert "| Some Published Paper (Proceedings of Something 2020) | Quantization |  | 12 |  |"\
        in readme
    first = (survey / "README.md").read_bytes()
    again = cli("build", "--offline")
    assert again.exit_code == 0 and (survey / "README.md").read_bytes() == first
    assert cli("build", "--check").exit_code == 0
    rerun = cli("enrich", "--counts")
    assert rerun.exit_code == 0 and fake_scholar.count() == asked
    assert "semantic scholar: nothing to ask" in rerun.stderr


def test_a_record_nested_too_deeply_never_reaches_the_store(
        survey: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    """One Semantic Scholar record with alternate names nested 500 deep was stored as it
    came, and every later command refused the store ("nests deeper than 64 levels")."""
    _serve(fake_scholar)
    deep: list[object] = ["NeurIPS"]
    for _ in range(500):
        deep = [deep]
    record = fake_scholar.papers["ARXIV:2305.14314"]
    record["publicationVenue"] = {**(record.get("publicationVenue") or {}),
                                  "alternate_names": deep}
    result = cli("enrich", "--counts", "--no-code-links", "lora", "qlora")
    assert result.exit_code == 0, result.output
    assert "survey.bib:9: qlora: warning: " in result.stderr
    assert "Semantic Scholar sent a record nested deeper than 64 levels" in result.stderr
    store = json.loads((survey / "survey.lock.json").read_text(encoding="utf-8"))
    assert "arxiv:2106.09685" in store["citations"]  # lora's answer is kept
    assert "2305.14314" not in json.dumps(store)
    assert cli("build", "--offline").exit_code == 0  # the store still reads


@pytest.mark.parametrize("announce", [
    pytest.param(('"api";r=0;t=100000000', '"fixed window";"api";q=500;w=300'), id="pause"),
    pytest.param(('"api";r=5;t=300', '"fixed window";"api";q=1;w=100000000'), id="window"),
])
def test_a_window_past_the_deadline_ends_the_run_at_once(
        survey: Path, fake_scholar: FakeScholar, cli: Cli,  # noqa: F811
        announce: tuple[str, str]) -> None:
    """A server announcing a pause or a window of a hundred million seconds held `enrich
    --counts` forever (the limiter slept it out), past SURVEYBIB_DEADLINE and Ctrl-C."""
    _serve(fake_scholar)
    fake_scholar.hf_announce = announce
    result = cli("enrich", "--counts", env={"SURVEYBIB_DEADLINE": "60"})
    assert result.exit_code == 0, result.output
    assert "hugging face: the next request could start only in " in result.stderr
    assert "after the run's network deadline (SURVEYBIB_DEADLINE); nothing more asked" \
        in result.stderr
    assert 1 <= fake_scholar.count("hf") <= 3  # what was in flight: one per worker
    assert "semantic scholar: 6 asked in 1 request: 6 found" in result.stderr  # kept


def test_stale_counts_are_asked_again_and_refresh_asks_everything(
        survey: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    _serve(fake_scholar)
    assert cli("enrich", "--counts", "--no-code-links", "lora", "qlora").exit_code == 0
    assert fake_scholar.count("hf") == 0
    path = survey / "survey.lock.json"
    store = json.loads(path.read_text(encoding="utf-8"))
    store["citations"]["arxiv:2106.09685"]["fetched"] = "2020-01-01"
    path.write_text(json.dumps(store), encoding="utf-8")
    cli("enrich", "--counts", "--no-code-links", "lora", "qlora")
    assert fake_scholar.requests("s2")[-1].ids == ["ARXIV:2106.09685"]
    cli("enrich", "--counts", "--no-code-links", "--refresh", "lora", "qlora")
    assert fake_scholar.requests("s2")[-1].ids == ["ARXIV:2106.09685", "ARXIV:2305.14314"]


def test_offline_upgrade_works_from_the_store(survey: Path, fake_scholar: FakeScholar,  # noqa: F811
                                              fake_api: Any, cli: Cli) -> None:
    _serve(fake_scholar)
    _add_specinfer(fake_api)
    assert cli("enrich", "--upgrade").exit_code == 0
    assert "run `surveybib enrich --upgrade --write` to apply" in \
        cli("enrich", "--upgrade").stderr
    asked = fake_scholar.count()
    offline = cli("enrich", "--upgrade", "--write", "--offline")
    assert offline.exit_code == 0, offline.output
    assert "offline: nothing asked" in offline.stderr
    assert "@inproceedings{lora," in (survey / "survey.bib").read_text(encoding="utf-8")
    assert fake_scholar.count() == asked


def test_a_429_storm_is_a_warning_and_the_next_run_asks_again(
        survey: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    _serve(fake_scholar)
    fake_scholar.inject("429", times=50, route="s2", retry_after="0")
    result = cli("enrich", "--upgrade", "--write", env={"SURVEYBIB_RETRIES": "1"})
    assert result.exit_code == 0, result.output
    assert "survey.bib:1: lora: warning: Semantic Scholar answered HTTP 429 (after retries); " \
        "asked again next run" in result.stderr
    assert (survey / "survey.bib").read_text(encoding="utf-8") == BIB
    fake_scholar.faults.clear()
    later = cli("enrich", "--upgrade", "--write")
    assert later.exit_code == 0
    assert "@inproceedings{lora," in (survey / "survey.bib").read_text(encoding="utf-8")


def test_no_network_is_one_line_and_exit_0(survey: Path, cli: Cli) -> None:
    result = cli("enrich", "--upgrade", "--counts")
    assert result.exit_code == 0, result.output
    assert "semantic scholar: cannot reach 127.0.0.1:9: connection refused; nothing more " \
        "asked" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (("--counts", "--write"), "--write (survey.bib) goes with --upgrade"),
    (("--no-code-links",), "--no-code-links goes with --counts"),
    (("--upgrade", "--dry-run", "--write"), "--dry-run writes nothing"),
])
def test_option_mistakes_are_usage_errors(survey: Path, args: tuple[str, ...],
                                          message: str, cli: Cli) -> None:
    result = cli("enrich", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_an_unknown_column_is_a_config_error(survey: Path, cli: Cli) -> None:
    with (survey / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write('columns = ["citation"]\n')
    result = cli("build", "--offline")
    assert result.exit_code == 1
    assert "columns: unknown column 'citation'; did you mean 'citations'?" in result.stderr


def test_check_warns_about_a_preprint_and_its_published_version(tmp_path: Path,
                                                                 cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("""\
@misc{lora-arxiv, title = {{LoRA}: Low-Rank Adaptation of Large Language Models},
  author = {Hu, Edward J. and Shen, Yelong}, year = {2021}, eprint = {2106.09685},
  archiveprefix = {arXiv}, taxonomy = {A}}
@inproceedings{lora, title = {LoRA: Low-rank adaptation of large language models},
  author = {Hu, Edward and Shen, Yelong and Wallis, Phillip}, booktitle = {ICLR},
  year = {2022}, taxonomy = {A}}
@misc{same-title-other-people, title = {Sparse Attention Patterns for Long Documents},
  author = {Roe, Rick}, year = {2021}, eprint = {2106.00001}, archiveprefix = {arXiv},
  taxonomy = {A}}
@inproceedings{other, title = {Sparse Attention Patterns for Long Documents},
  author = {Doe, Jane}, booktitle = {ICML}, year = {2022}, taxonomy = {A}}
""", encoding="utf-8")
    result = cli("check", "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    rules = sorted((f["key"], f["rule"]) for f in findings
                   if f["rule"] in ("preprint-duplicate", "near-duplicate-title"))
    assert rules == [("lora-arxiv", "preprint-duplicate"), ("other", "near-duplicate-title")]
    message = next(f["message"] for f in findings if f["rule"] == "preprint-duplicate")
    assert message == "arXiv preprint of 'lora' (line 4) (same title, shared authors): one " \
        "paper listed twice; keep the published entry"


def test_an_8_bit_survey_bib_gets_ascii_fields_and_keeps_its_bytes(
        tmp_path: Path, fake_scholar: FakeScholar, cli: Cli) -> None:  # noqa: F811
    text = ("% -*- coding: latin-1 -*-\n@misc{smoothing,\n  title = {When Does Label Smoothing "
            "Help?},\n  author = {M\u00fcller, Rafael and Kornblith, Simon and Hinton, "
            "Geoffrey},\n  year = {2019},\n  eprint = {1906.02629},\n  archiveprefix = {arXiv},"
            "\n  note = {\u00e9t\u00e9},\n}\n")
    (tmp_path / "survey.bib").write_bytes(text.encode("latin-1"))
    fake_scholar.add(s2_paper("1906.02629", "When Does Label Smoothing Help?",
                              ["Rafael Mueller", "Simon Kornblith", "Geoffrey E. Hinton"], 2019,
                              venue="NeurIPS"))
    result = cli("enrich", "--upgrade", "--write")
    assert result.exit_code == 0, result.output
    expected = text.replace("@misc{", "@inproceedings{").replace(
        "},\n}\n", "},\n  booktitle = {Neural Information Processing Systems},\n"
                   "  venue = {NeurIPS},\n}\n")
    assert (tmp_path / "survey.bib").read_bytes() == expected.encode("latin-1")
