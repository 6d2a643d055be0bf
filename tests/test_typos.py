"""Issue 11, "a typo is never silent": each test drives the real CLI (CliRunner) on a survey
a user could have written, makes the typo a maintainer made, and checks what they see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from surveys import paper, write_survey

from surveybib.cli import main

PYPROJECT = """\
[tool.surveybib]
title = "Efficient Inference"
taxonomy = ["大算子", "Quantization", "System-level Optimization"]
"""
BIB = ("% Our reading list.\n"
       + paper("dao2022flashattention", venue="NeurIPS", taxonomy="大算子", reader="王小明")
       + "\n" + paper("lin2024awq", venue="MLSys", taxonomy="Quantization")
       + "\n" + paper("kwon2023efficient", venue="SOSP", taxonomy="System-level Optimization",
                       reader="Yin, Lihao"))
NOTES = {"kwon2023efficient": "PagedAttention keeps the KV cache in pages.\n",
         "dao2022flashattention": "IO-aware tiling.\n"}


def make_survey(root: Path, bib: str = BIB, pyproject: str = PYPROJECT) -> Path:
    return write_survey(root, bib, pyproject, notes=NOTES)


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    return make_survey(tmp_path / "survey")


def run(root: Path | None, *args: str, stdin: str | None = None, api: Any = None,
        **env: str) -> Result:
    url = api.url if api is not None else "http://127.0.0.1:9"
    environ = {"SURVEYBIB_OFFLINE": "" if api is not None else "1",
               "SURVEYBIB_CROSSREF_URL": url, "SURVEYBIB_DATACITE_URL": url,
               "SURVEYBIB_TIMEOUT": "2", "SURVEYBIB_RETRIES": "0", "SURVEYBIB_MAILTO": "",
               **env}
    where = ["-C", str(root)] if root is not None else []
    return CliRunner().invoke(main, [*where, *args], env=environ, input=stdin)


def readme(root: Path) -> str:
    return (root / "README.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- 6. a missing comma


MISSING_COMMA = """\
@article{doe2024missing,
  title = {Missing Comma Title}
  author = {Doe, John},
  journal = {Journal of Typos},
  year = {2024},
  taxonomy = {Quantization},
}
"""


def test_a_missing_comma_is_named_with_its_line_and_never_mangles_the_entry(
        survey: Path) -> None:
    with (survey / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write("\n" + MISSING_COMMA)
    line = BIB.count("\n") + 4  # the line where `author` follows without a comma
    result = run(survey, "build")
    assert result.exit_code == 1
    assert f"survey.bib:{line}: doe2024missing: expected ',' after field 'title'" \
        in result.stderr
    text = readme(survey)
    assert "Missing Comma" not in text and "author =" not in text and "Doe" not in text
    assert "PagedAttention" in text  # the rest is written


def test_add_refuses_a_paste_with_a_missing_comma(survey: Path) -> None:
    before = (survey / "survey.bib").read_bytes()
    result = run(survey, "add", "-", stdin=MISSING_COMMA)
    assert result.exit_code == 2, result.output
    assert "<stdin>:3: doe2024missing: expected ',' after field 'title'" in result.stderr
    assert "nothing added" in result.stderr
    assert (survey / "survey.bib").read_bytes() == before
    assert not (survey / "notes" / "doe2024missing.md").exists()


# ---------------------------------------------------------------- 8. entries that vanish


def test_build_names_an_entry_it_could_not_read_and_exits_1(survey: Path) -> None:
    broken = BIB.replace("  reader = {王小明},\n}\n", "  reader = {王小明},\n\n")
    (survey / "survey.bib").write_text(broken, encoding="utf-8")
    result = run(survey, "build")
    assert result.exit_code == 1, result.output
    assert ("survey.bib:2: dao2022flashattention: @inproceedings block does not parse, "
            "skipped: not closed: a '}' is missing before line 12, where the next entry "
            "starts") in result.stderr
    assert ("1 entry is missing from README.md: dao2022flashattention (survey.bib:2); "
            "fix it (see above) and build again") in result.stderr
    assert "no entry with key 'dao2022flashattention'" not in result.stderr  # no orphan
    text = readme(survey)  # written with what could be read
    assert "AWQ" in text and "PagedAttention" in text and "FlashAttention" not in text
    for verdict in (run(survey, "build", "--check"), run(survey, "check")):  # both fail
        assert verdict.exit_code == 1
        assert "dao2022flashattention" in verdict.stderr


def test_an_emptied_survey_bib_never_empties_the_readme_without_force(survey: Path) -> None:
    assert run(survey, "build").exit_code == 0
    before = readme(survey)
    assert "3 papers in" in before
    (survey / "survey.bib").write_text("", encoding="utf-8")
    result = run(survey, "build")
    assert result.exit_code == 1
    assert "survey.bib has no entry that can be read, and README.md lists 3 papers" \
        in result.stderr
    assert readme(survey) == before
    forced = run(survey, "build", "--force")
    assert forced.exit_code == 0, forced.output
    assert "0 papers in" in readme(survey)


# ---------------------------------------------------------------- 9. same state, same findings


def test_not_found_is_reported_by_every_build_and_by_check(survey: Path, fake_api: Any) -> None:
    unknown = BIB.replace("  venue = {MLSys},\n", "  venue = {MLSys},\n  doi = {10.5555/gone},\n")
    (survey / "survey.bib").write_text(unknown, encoding="utf-8")
    line = "survey.bib:12: lin2024awq: warning: 10.5555/gone not found at Crossref or DataCite"
    first = run(survey, "build", api=fake_api)
    assert line in first.stderr.splitlines(), first.stderr
    asked = len(fake_api.seen)
    again = run(survey, "build", api=fake_api)  # the same state: nothing asked, same finding
    assert len(fake_api.seen) == asked
    assert line in again.stderr.splitlines()
    assert again.stderr.splitlines()[-1].split("; ")[-1] == \
        first.stderr.splitlines()[-1].split("; ")[-1]  # "...; 0 errors, 1 warning"
    offline = run(survey, "build")
    assert line in offline.stderr.splitlines()
    check = run(survey, "check", "--format", "json")
    rules = {(f["key"], f["rule"]) for f in json.loads(check.stdout)["findings"]}
    assert ("lin2024awq", "not-found") in rules


# ---------------------------------------------------------------- 12. a note still the stub


PASTED = """\
@inproceedings{pandey2021vector,
  title = {Vector Quantization for Fast Inference},
  author = {Pandey, Ravi},
  booktitle = {Proceedings of the Workshop on Efficient Systems},
  year = {2021},
}
"""


def test_check_says_a_note_add_made_is_still_the_stub(survey: Path) -> None:
    added = run(survey, "add", "-", "--taxonomy", "Quantization", "--reader", "Wang, Xin",
                stdin=PASTED)
    assert added.exit_code == 0, added.output
    assert (survey / "notes" / "pandey2021vector.md").is_file()
    check = run(survey, "check")
    assert ("pandey2021vector: warning: read by Wang, Xin but its note "
            "notes/pandey2021vector.md is still the empty stub; write the notes below its "
            "comment") in check.stderr
    assert "has no note" not in check.stderr
    (survey / "notes" / "pandey2021vector.md").unlink()
    assert "has no note (write one with `surveybib note pandey2021vector`)" \
        in run(survey, "check").stderr


# ---------------------------------------------------------------- 13. export --taxonomy typo


def test_export_taxonomy_typo_gets_did_you_mean_and_exit_2(survey: Path) -> None:
    result = run(survey, "export", "--format", "text", "--taxonomy", "Quantisation")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert ("--taxonomy 'Quantisation': no such category; did you mean 'Quantization'?"
            in result.stderr)
    right = run(survey, "export", "--format", "bibtex", "--taxonomy", "quantization")
    assert right.exit_code == 0 and "@inproceedings{lin2024awq," in right.stdout


# ---------------------------------------------------------------- 14. run from a subfolder


def test_the_survey_is_found_upwards_from_a_subfolder(survey: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(survey / "notes")
    result = run(None, "build")
    assert result.exit_code == 0, result.output
    assert "PagedAttention" in readme(survey)
    assert not (survey / "notes" / "README.md").exists()
    assert run(None, "note", "lin2024awq").stdout == "notes/lin2024awq.md\n"
    (survey / "paper").mkdir()
    monkeypatch.chdir(survey / "paper")
    exported = run(None, "export", "--format", "bibtex", "-o", "references.bib")
    assert exported.exit_code == 0, exported.output
    assert (survey / "paper" / "references.bib").is_file()  # typed paths: from where you are


def test_outside_any_survey_nothing_invites_a_stray_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = run(None, "build")
    assert result.exit_code == 1
    assert "no survey here" in result.stderr and "-C DIR" in result.stderr
    assert "create it" not in result.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


# ---------------------------------------------------------------- 15. exit codes


ARXIV_AND_DOI = BIB.replace("  venue = {MLSys},\n", "  venue = {MLSys},\n"
                            "  doi = {10.1145/3448016.3452841},\n").replace(
    "  venue = {SOSP},\n", "  venue = {SOSP},\n  eprint = {2305.09781},\n"
    "  archiveprefix = {arXiv},\n")


def test_enrich_whose_api_vanished_exits_1_and_says_what_is_missing(survey: Path,
                                                                    fake_api: Any) -> None:
    (survey / "survey.bib").write_text(ARXIV_AND_DOI, encoding="utf-8")
    result = run(survey, "enrich", api=fake_api, SURVEYBIB_DATACITE_URL="http://127.0.0.1:9")
    assert result.exit_code == 1, result.output
    assert ("surveybib: enrich did not finish: 1 entry still lacks metadata (cannot reach "
            "127.0.0.1:9") in result.stderr
    stored = json.loads((survey / "survey.lock.json").read_text(encoding="utf-8"))
    assert "10.1145/3448016.3452841" in stored["works"]  # what came before is kept
    rerun = run(survey, "enrich", api=fake_api)  # DataCite is back
    assert rerun.exit_code == 0, rerun.output


def test_ctrl_c_during_enrich_exits_130_and_keeps_what_was_fetched(tmp_path: Path,
                                                                   fake_api: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    fake_api.latency = 0.05
    dois = fake_api.synthetic(200, prefix="10.5555/ctrlc.")
    bib = "".join(f"@article{{p{i},\n  doi = {{{doi}}},\n  taxonomy = {{Quantization}},\n}}\n"
                  for i, doi in enumerate(dois))
    root = make_survey(tmp_path / "survey", bib=bib)
    env = {**os.environ, "SURVEYBIB_CROSSREF_URL": fake_api.url,
           "SURVEYBIB_DATACITE_URL": fake_api.url, "SURVEYBIB_OFFLINE": "",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "surveybib", "enrich"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = root / "survey.lock.json"
    while not store.exists() and proc.poll() is None:  # wait for the first saved batch
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    assert err.rstrip().endswith("surveybib: interrupted")
    assert "Traceback" not in err
    kept = json.loads(store.read_text(encoding="utf-8"))["works"]
    assert 0 < len(kept) < len(dois)


# ---------------------------------------------------------------- 17. -o into a missing folder


def test_export_refuses_a_missing_folder_unless_parents(survey: Path) -> None:
    target = survey / "paper" / "refs" / "x.txt"
    result = run(survey, "export", "--format", "text", "-o", str(target))
    assert result.exit_code == 2
    assert f"the folder {target.parent} does not exist; create it, or add --parents" \
        in result.stderr
    assert not (survey / "paper").exists()
    made = run(survey, "export", "--format", "text", "-o", str(target), "--parents")
    assert made.exit_code == 0, made.output
    assert "PagedAttention" in target.read_text(encoding="utf-8")


# ---------------------------------------------------------------- 18. help text


def _commands() -> list[str]:
    return sorted(main.commands)


def test_help_shows_every_summary_whole_and_no_backticks() -> None:
    import inspect

    top = run(None, "--help", COLUMNS="80")
    assert top.exit_code == 0
    listed = " ".join(top.stdout.split())
    for name in _commands():  # the first paragraph of each command's help, whole
        first = inspect.cleandoc(main.commands[name].help or "").split("\n\n")[0]
        assert " ".join(first.split()) in listed, name
    commands = top.stdout.split("Commands:")[1]
    assert "..." not in commands and "`" not in top.stdout
    for name in _commands():
        page = run(None, name, "--help")
        assert page.exit_code == 0, name
        assert "`" not in page.stdout, name
        assert "--encoding NAME" in page.stdout and "--encoding TEXT" not in page.stdout, name


def test_key_lists_are_one_convention_in_export_and_enrich(survey: Path) -> None:
    for name in ("export", "enrich"):
        assert "--keys K1,K2" in run(None, name, "--help").stdout
    both = run(survey, "export", "--keys", "lin2024awq,kwon2023efficient")
    repeated = run(survey, "export", "--keys", "lin2024awq", "--keys", "kwon2023efficient")
    assert both.exit_code == repeated.exit_code == 0
    assert both.stdout == repeated.stdout
    assert both.stdout.count("@inproceedings{") == 2
    for args in (["--keys", "lin2024awq,kwon2023efficient"], ["lin2024awq", "kwon2023efficient"],
                 ["lin2024awq,kwon2023efficient"]):
        result = run(survey, "enrich", "--dry-run", *args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stderr.strip() == "offline: 2 entries lack metadata", args


# ---------------------------------------------------------------- 21. error wording


def test_doi_offline_names_the_flag_the_user_gave(survey: Path) -> None:
    flag = run(survey, "doi", "10.1145/3600006.3613165", "--offline", SURVEYBIB_OFFLINE="")
    assert flag.exit_code == 1
    assert "--offline turns the network off" in flag.stderr
    assert "SURVEYBIB_OFFLINE" not in flag.stderr
    env = run(survey, "doi", "10.1145/3600006.3613165")
    assert "SURVEYBIB_OFFLINE=1 turns the network off" in env.stderr
    search = run(survey, "search", "PagedAttention", "--offline", SURVEYBIB_OFFLINE="")
    assert search.exit_code == 1
    assert "--offline turns the network off" in search.stderr


def test_an_api_url_without_a_scheme_is_named(survey: Path) -> None:
    result = run(survey, "doi", "10.1145/3600006.3613165", SURVEYBIB_OFFLINE="",
                 SURVEYBIB_CROSSREF_URL="api.crossref.org")
    assert result.exit_code == 1
    assert result.stderr == (  # the one check of every API's base URL (config.base_url)
        "surveybib: SURVEYBIB_CROSSREF_URL is 'api.crossref.org', not an http(s) URL such as "
        "https://api.crossref.org\n")


def test_comma_separated_categories_are_told_to_use_semicolons(survey: Path) -> None:
    added = run(survey, "add", "-", "--taxonomy", "Quantization, 大算子", stdin=PASTED)
    assert added.exit_code == 2
    assert ("taxonomy 'Quantization, 大算子' is not in the configured list; separate "
            "categories with '; ': 'Quantization; 大算子'") in added.stderr
    assert "did you mean" not in added.stderr
    bib = BIB.replace("taxonomy = {Quantization}", "taxonomy = {quantization, 大算子}")
    (survey / "survey.bib").write_text(bib, encoding="utf-8")
    check = run(survey, "check")
    assert ("lin2024awq: taxonomy 'quantization, 大算子' is not in the configured list "
            "(separate categories with '; ': 'Quantization; 大算子')") in check.stderr


def test_a_multi_line_value_keeps_one_line_per_finding(survey: Path) -> None:
    bib = BIB.replace("  venue = {MLSys},\n",
                      "  venue = {MLSys},\n  url = {https://example.org/awq\n    paper.pdf},\n")
    (survey / "survey.bib").write_text(bib, encoding="utf-8")
    result = run(survey, "check")
    lines = result.stderr.splitlines()
    assert "survey.bib:12: lin2024awq: url 'https://example.org/awq paper.pdf' is not an " \
        "http(s) or ftp URL" in lines
    assert all(line.startswith(("survey.bib:", "notes/", "README.md")) or "finding" in line
               for line in lines), lines


# ---------------------------------------------------------------- 7. a few non-UTF-8 lines


LATIN1_ENTRY = ("\n@article{garcia2020cafe,\n  title = {Caf\xe9 Models},\n"
                "  author = {Garc\xeda, Jos\xe9},\n  journal = {Journal of Typos},\n"
                "  year = {2020},\n  taxonomy = {Quantization},\n}\n").encode("latin-1")


def test_a_utf8_file_with_a_few_latin1_lines_names_them_and_never_garbles(survey: Path) -> None:
    assert run(survey, "build").exit_code == 0
    before = readme(survey)
    with (survey / "survey.bib").open("ab") as bib:
        bib.write(LATIN1_ENTRY)
    first = BIB.count("\n") + 3  # the title line
    result = run(survey, "build")
    assert result.exit_code == 1
    assert result.stderr == (
        f"surveybib: survey.bib:{first}: UTF-8 except lines {first}, {first + 1} "
        "('title = {Café Models},' in cp1252): re-type or re-save them as UTF-8 in your "
        "editor; do not use --encoding for this file\n")
    for args in (["--encoding", "latin-1"], ["--encoding", "cp1252"]):
        forced = run(survey, *args, "build")  # what the old advice said to do
        assert forced.exit_code == 1
        assert "would garble its UTF-8 text (line 8: 'taxonomy = {大算子},')" in forced.stderr
        assert readme(survey) == before  # nothing written from mojibake
    assert "大算子" in before


# ---------------------------------------------------------------- 10. the store is committed


def _git(root: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
                   cwd=root, check=True, capture_output=True)


def _verdicts(root: Path) -> tuple[tuple[int, str], tuple[int, str]]:
    check, build_check = run(root, "check"), run(root, "build", "--check")
    return (check.exit_code, check.stderr), (build_check.exit_code, build_check.stderr)


def test_check_and_build_check_agree_with_or_without_the_store(survey: Path,
                                                              fake_api: Any) -> None:
    bib = BIB + "\n@misc{vqf, doi = {10.1145/3448016.3452841}, taxonomy = {Quantization}}\n"
    (survey / "survey.bib").write_text(bib, encoding="utf-8")
    _git(survey, "init", "-q")
    assert run(survey, "build", api=fake_api).exit_code == 0
    title = fake_api.works["10.1145/3448016.3452841"]["title"][0]
    assert title in readme(survey)  # the title came from the store
    _git(survey, "add", "survey.bib", "notes", "README.md", "pyproject.toml")
    _git(survey, "commit", "-qm", "survey")
    # The store is there but not committed: both fail here, as CI would.
    (check, build_check) = _verdicts(survey)
    assert check[0] == build_check[0] == 1
    for _, err in (check, build_check):
        assert ("survey.lock.json: not committed: a clone (CI) builds without it, so "
                "README.md differs there; `git add survey.lock.json`") in err
    _git(survey, "add", "survey.lock.json")
    assert [v[0] for v in _verdicts(survey)] == [0, 0]
    # A clone without the store (as before this fix): both stale, and both say why.
    _git(survey, "rm", "-q", "--cached", "survey.lock.json")
    (survey / "survey.lock.json").unlink()
    (check, build_check) = _verdicts(survey)
    assert check[0] == build_check[0] == 1
    for _, err in (check, build_check):
        assert ("(survey.lock.json is not in this repository: if the outputs were built "
                "with it, commit survey.lock.json with them)") in err


def test_every_set_up_text_names_the_store() -> None:
    root = Path(__file__).resolve().parents[1]
    intro = (root / "INTRO.md").read_text(encoding="utf-8")
    assert "commit `survey.bib`, `survey.lock.json`" in intro
    assert "commit `survey.bib`, `survey.lock.json`" in (root / "README.md").read_text(
        encoding="utf-8")
    assert "commit `survey.lock.json`" in (root / "docs" / "usage.md").read_text(
        encoding="utf-8").lower()
    assert json.loads((root / "survey.lock.json").read_text(encoding="utf-8"))[
        "surveybib-metadata"] == 1
    assert not (root / ".surveybib.lock").exists()


# ---------------------------------------------------------------- 11. records no entry uses


def test_doi_keeps_the_store_to_what_entries_use_and_prune_cleans_old_ones(
        survey: Path, fake_api: Any) -> None:
    used = "10.1145/3448016.3452841"
    bib = BIB + f"\n@misc{{vqf, doi = {{{used}}}, taxonomy = {{Quantization}}}}\n"
    (survey / "survey.bib").write_text(bib, encoding="utf-8")
    assert run(survey, "build", api=fake_api).exit_code == 0
    before = (survey / "survey.lock.json").read_bytes()
    looked = run(survey, "doi", "10.1145/3184558.3186235", api=fake_api)  # cited by no entry
    assert looked.exit_code == 0 and looked.stdout.startswith("@")
    assert (survey / "survey.lock.json").read_bytes() == before
    # A store from before this fix holds a record nobody cites, and a removed entry's search.
    store = json.loads(before)
    store["works"]["10.1145/3184558.3186235"] = store["works"][used]
    store["searches"]["gone2020"] = {"status": "no match", "doi": None, "query": "x",
                                     "reason": "", "candidates": []}
    (survey / "survey.lock.json").write_text(json.dumps(store), encoding="utf-8")
    check = run(survey, "check")
    assert ("survey.lock.json: 10.1145/3184558.3186235: warning: no entry uses this record "
            "(works); `surveybib enrich --prune` removes it") in check.stderr
    assert "survey.lock.json: gone2020: warning: no entry uses this record (searches)" \
        in check.stderr
    listed = run(survey, "enrich", "--prune", "--dry-run")
    assert listed.stdout.splitlines() == ["survey.lock.json: searches: gone2020",
                                          "survey.lock.json: works: 10.1145/3184558.3186235"]
    pruned = run(survey, "enrich", "--prune")
    assert pruned.exit_code == 0 and "removed 2 records no entry uses" in pruned.stderr
    assert json.loads((survey / "survey.lock.json").read_text(encoding="utf-8")) == \
        json.loads(before)
    assert "unused-record" not in run(survey, "check", "--format", "json").stdout


# ---------------------------------------------------------------- 19. the file's own style


TWO_PASTED = PASTED + """
@article{frantar2022gptq,
  author = "Frantar, Elias",
  title = "{GPTQ}: Accurate Post-Training Quantization",
  journal = {arXiv preprint arXiv:2210.17323}, year = 2022
}
"""


@pytest.mark.parametrize(("style", "line"), [
    pytest.param("  title = {", "  title = {Vector Quantization", id="unaligned"),
    pytest.param("\ttitle     = {", "\ttitle     = {Vector Quantization", id="tabs-aligned"),
    pytest.param("    title={", "    title={Vector Quantization", id="four-spaces-tight"),
])
def test_add_follows_the_files_field_style(survey: Path, style: str, line: str) -> None:
    indent, rest = style[:len(style) - len(style.lstrip())], style.lstrip()
    tight = "=" in rest and " =" not in rest
    bib = BIB
    if tight:
        bib = bib.replace(" = {", "={")
    if indent != "  ":
        bib = bib.replace("\n  ", "\n" + indent)
    if "     =" in rest:  # aligned: pad every entry's names to its longest
        import re
        blocks = bib.split("\n@")
        out = []
        for block in blocks:
            names = re.findall(r"^\t(\w+) =", block, re.M)
            width = max(map(len, names), default=0)
            out.append(re.sub(r"^\t(\w+) =",
                              lambda m, w=width: f"\t{m.group(1).ljust(w)} =",
                              block, flags=re.M))
        bib = "\n@".join(out)
    (survey / "survey.bib").write_text(bib, encoding="utf-8")
    result = run(survey, "add", "-", stdin=TWO_PASTED)
    assert result.exit_code == 0, result.output
    added = (survey / "survey.bib").read_text(encoding="utf-8")[len(bib):]
    assert line in added.splitlines()[2], added
    entries = result.stdout.split("\n\n")
    assert len(entries) == 2 and entries[1].startswith("@article{frantar2022gptq,")


# ---------------------------------------------------------------- 20. Chinese author names


@pytest.mark.parametrize(("author", "key"), [
    pytest.param("王, 小明 and 李, 四", "wang2024kernels", id="family-given"),
    pytest.param("欧阳修", "ouyangxiu2024kernels", id="one-token-as-better-bibtex"),
    pytest.param("{张伟} and Smith, John", "zhangwei2024kernels", id="braced"),
])
def test_keys_for_authors_written_in_chinese_are_pinyin(survey: Path, author: str,
                                                         key: str) -> None:
    paste = ("@article{,\n  title = {大算子 Kernels for Inference},\n"
             f"  author = {{{author}}},\n  journal = {{计算机学报}},\n  year = {{2024}},\n}}\n")
    result = run(survey, "add", "-", "--taxonomy", "大算子", stdin=paste)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"@article{{{key},")
    assert "anon2024" not in (survey / "survey.bib").read_text(encoding="utf-8")


# ---------------------------------------------------------------- 16. no TeX for readers


TEX_ENTRY = r"""
@inproceedings{tex2024fused,
  title = {Fused kernels for $\mathcal O(1)$ decoding: a \textit Case study \& more},
  author = {M{\"u}ller, J{\"u}rgen},
  booktitle = {\LaTeX 3 team. \texttt l3build\dash A modern build system},
  year = {2024},
  taxonomy = {大算子},
}
"""


@pytest.mark.parametrize("args", [
    pytest.param(["--format", "text"], id="text"),
    pytest.param(["--format", "markdown"], id="markdown"),
    pytest.param(["--format", "html"], id="html"),
    pytest.param(["--format", "text", "--csl", "surveybib-numeric"], id="csl"),
    pytest.param(["--format", "csl-json"], id="csl-json"),
    pytest.param(["--format", "ris"], id="ris"),
])
def test_formatted_exports_carry_no_tex(survey: Path, args: list[str]) -> None:
    with (survey / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write(TEX_ENTRY)
    result = run(survey, "export", "--keys", "tex2024fused", *args)
    assert result.exit_code == 0, result.output
    import re

    text = result.stdout
    if "markdown" in args:  # markdown's own escapes are not TeX
        text = re.sub(r"\\([\\`*_\[\]()#+.!|-])", r"\1", text)
    if "csl-json" in args:  # the JSON syntax is not the text: its values are
        text = " ".join(str(v) for item in json.loads(text) for v in _strings(item))
    for tex in ("\\", "$", "{", "}", "textit", "texttt", "mathcal"):
        assert tex not in text, (tex, result.stdout)
    assert "𝒪(1)" in text and "Müller" in text
    assert "l3build A modern" in text  # the unknown \dash left a word boundary
    assert ("survey.bib:31: tex2024fused: warning: booktitle: unknown LaTeX command \\dash "
            "left out of what readers see") in result.stderr


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_the_readme_keeps_word_boundaries_and_names_unknown_commands(survey: Path) -> None:
    with (survey / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write(TEX_ENTRY)
    result = run(survey, "build")
    assert "a Case study &amp; more" in readme(survey) or "a Case study & more" in readme(survey)
    assert "\\textit" not in readme(survey) and "\\dash" not in readme(survey)
    assert "tex2024fused: warning: booktitle: unknown LaTeX command \\dash" in result.stderr


# ---------------------------------------------------------------- 22. the docs say what it does


def test_search_guard_is_as_documented(survey: Path, fake_api: Any) -> None:
    from fakeapi import SPECINFER_TITLE, add_specinfer

    add_specinfer(fake_api)
    fake_api.enforce = False  # two searches in a row, no retries: not about rate limits
    doc = (Path(__file__).resolve().parents[1] / "docs" / "lookup.md").read_text(
        encoding="utf-8")
    assert "`--author` alone can be enough" in doc
    alone = run(survey, "search", SPECINFER_TITLE, "--author", "Miao", api=fake_api)
    assert alone.exit_code == 0 and "* passes the match guard: 10.1145/3620666.3651335" \
        in alone.stderr
    bare = run(survey, "search", SPECINFER_TITLE, "--format", "json", api=fake_api)
    assert bare.exit_code == 0, bare.output
    notes = {c["doi"]: c["note"] for c in json.loads(bare.stdout)["candidates"]}
    assert notes["10.1145/3620666.3651335"].startswith("too little to compare")
    assert all(note == "title differs" for doi, note in notes.items()
               if doi != "10.1145/3620666.3651335")
    usage = (Path(__file__).resolve().parents[1] / "docs" / "usage.md").read_text(
        encoding="utf-8")
    for command in ("add DOI_OR_ARXIV_ID", "doi DOI"):
        row = next(line for line in usage.splitlines() if f"`surveybib {command}" in line)
        assert "[--offline]" in row, row
