"""Issue 11 reviewed as the issue's "new maintainer's afternoon": a survey made with
`surveybib init`, papers added in every form against the fake API, notes with headings,
lists, images and Chinese text, typos and exports. Each test is a loose end the walk found
after the first round, driven through the CLI (the `cli` fixture)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli

TAXONOMY = ("大算子", "Quantization", "Quantization/Weight-only", "System-level Optimization")


@pytest.fixture
def root(cli: Cli, tmp_path: Path, fake_api: Any) -> Path:
    """A survey as `surveybib init` makes it, with two papers added by DOI and arXiv id."""
    fake_api.derive_datacite("10.48550/arXiv.2306.00978", title="AWQ: Activation-aware "
                             "Weight Quantization for LLM Compression and Acceleration",
                             creators=[("Ji", "Lin")], year=2023,
                             url="https://arxiv.org/abs/2306.00978",
                             identifiers=[("arXiv", "2306.00978")])
    where = tmp_path / "survey"
    made = cli("init", where, "--title", "LLM 推理", *(a for t in TAXONOMY
                                                     for a in ("--taxonomy", t)))
    assert made.exit_code == 0, made.output
    for target, category in (("10.1145/3448016.3452841", "大算子"),
                             ("2306.00978", "Quantization/Weight-only")):
        added = cli("-C", where, "add", target, "--taxonomy", category)
        assert added.exit_code == 0, added.output
    return where


# ---------------------------------------------------------------- -q and what build says


def test_add_and_note_under_q_print_only_the_result(cli: Cli, root: Path,
                                                    fake_api: Any) -> None:
    """`add -q` still printed "added ... / created notes/..." on stderr."""
    quiet = cli("-C", root, "-q", "add", "10.1145/3184558.3186235", "--taxonomy", "大算子")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("@inproceedings{buhmann2018dl,")
    assert (root / "notes" / "buhmann2018dl.md").is_file()
    loud = cli("-C", root, "add", "-", "--taxonomy", "大算子",
               input="@misc{x2024,\n  title = {X},\n  year = {2024},\n}\n")
    line = (root / "survey.bib").read_text(encoding="utf-8").split("\n").index("@misc{x2024,")
    assert loud.stderr.splitlines() == [f"added x2024 to survey.bib:{line + 1}",
                                        "created notes/x2024.md"]
    (root / "notes" / "x2024.md").unlink()
    note = cli("-C", root, "note", "x2024", "-q")
    assert note.exit_code == 0 and note.stderr == "" and note.stdout == "notes/x2024.md\n"


def test_build_names_only_the_files_it_wrote(cli: Cli, root: Path) -> None:
    """A rebuild of the same state listed every output as "wrote" though none changed."""
    first = cli("-C", root, "build", "--offline")
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[-1] == \
        "wrote README.md, site/index.html; 0 errors, 0 warnings"  # init wrote the issue form
    # as build would; the explorer (`site`, as init configures it) is new
    stamps = {p: p.stat().st_mtime_ns for p in (root / "README.md",
                                                root / ".github/ISSUE_TEMPLATE/add-paper.yml")}
    again = cli("-C", root, "build", "--offline")
    assert again.stderr.splitlines() == [
        "up to date: README.md, .github/ISSUE_TEMPLATE/add-paper.yml, site/index.html; "
        "0 errors, 0 warnings"]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    (root / "notes" / "pandey2021vector.md").write_text("Short.\n", encoding="utf-8")
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text(
        encoding="utf-8").replace('"System-level Optimization",', '"Systems",'),
        encoding="utf-8")
    edited = cli("-C", root, "build", "--offline")
    assert edited.stderr.splitlines() == [
        "wrote README.md, .github/ISSUE_TEMPLATE/add-paper.yml, site/index.html; "
        "0 errors, 0 warnings"]


def test_a_lost_entry_is_missing_from_the_readme_not_from_the_issue_form(cli: Cli,
                                                                          root: Path) -> None:
    """"1 entry is missing from README.md, .github/ISSUE_TEMPLATE/add-paper.yml": the form
    lists categories, never entries."""
    bib = root / "survey.bib"
    text = bib.read_text(encoding="utf-8")
    bib.write_text(text.replace("  taxonomy  = {大算子},\n}\n", "  taxonomy  = {大算子},\n\n"),
                   encoding="utf-8")
    # `build --check` never asks for the explorer page (published, not committed)
    for args, outputs in ((["build"], "README.md, site/index.html"),
                          (["build", "--check"], "README.md")):
        result = cli("-C", root, *args, "--offline")
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            f"surveybib: 1 entry is missing from {outputs}: pandey2021vector (survey.bib:22); "
            "fix it (see above) and build again")


# ---------------------------------------------------------------- 8. an emptied survey.bib


OWN_TEMPLATE = ('{% extends "surveybib/README.md.j2" %}\n'
                "{% block progress %}{% endblock %}\n")


@pytest.mark.parametrize("template", [
    pytest.param(None, id="packaged"),
    pytest.param(OWN_TEMPLATE, id="own-template-without-a-count"),
    pytest.param("# Papers\n\n{% for p in papers %}- {{ p.title|md }}\n{% endfor %}",
                 id="own-template-from-scratch"),
])
def test_an_emptied_survey_bib_never_empties_any_readme(cli: Cli, root: Path,
                                                        template: str | None) -> None:
    """Issue 11.8: the guard read the count from the packaged template's "N papers in"
    line, so a README from a template of one's own was emptied without a word. The
    renderer's own marker now says how many papers the README lists."""
    if template is not None:
        (root / "templates").mkdir()
        (root / "templates" / "README.md.j2").write_text(template, encoding="utf-8")
    assert cli("-C", root, "build", "--offline").exit_code == 0
    before = (root / "README.md").read_text(encoding="utf-8")
    assert bool(re.search(r"^\d+ papers in", before, re.M)) == (template is None)
    (root / "survey.bib").write_text("% emptied by a bad merge\n", encoding="utf-8")
    refused = cli("-C", root, "build", "--offline")
    assert refused.exit_code == 1
    assert ("survey.bib has no entry that can be read, and README.md lists 2 papers: nothing "
            "written") in refused.stderr
    assert (root / "README.md").read_text(encoding="utf-8") == before
    forced = cli("-C", root, "build", "--offline", "--force")
    assert forced.exit_code == 0, forced.output
    assert (root / "README.md").read_text(encoding="utf-8").startswith(
        "<!-- surveybib:generated: made by surveybib from survey.bib (0 papers). Do not "
        "edit it by hand:\n")
    assert cli("-C", root, "build", "--offline").exit_code == 0  # 0 papers: nothing to lose


# ---------------------------------------------------------------- 16. no TeX for readers


MATH_TITLE = r"""
@inproceedings{tex2024fused,
  title = {Fused kernels for $\mathcal O(1)$ decoding: a \textit{Case} study},
  author = {M{\"u}ller, J{\"u}rgen},
  booktitle = {Workshop on Kernels},
  year = {2024},
  taxonomy = {大算子},
  reader = {王小明},
}
"""


def _decoded(mermaid: str) -> str:
    """A Mermaid block's text as drawn: entity codes (#92;) back to characters."""
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), mermaid)


def test_the_readme_figure_and_the_explorer_show_no_tex(cli: Cli, root: Path) -> None:
    """Issue 11.16: GitHub renders `$math$` in the README's text, but not in a Mermaid
    label, nor does the explorer page: both showed `$\\mathcal O(1)$` as typed."""
    with (root / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write(MATH_TITLE)
    assert cli("-C", root, "build", "--offline").exit_code == 0
    readme = (root / "README.md").read_text(encoding="utf-8")
    mindmap = _decoded(readme.split("```mermaid\nmindmap\n")[1].split("```")[0])
    assert '("Fused kernels for 𝒪(1) decoding")' in mindmap
    assert "$" not in mindmap and "\\" not in mindmap
    contributors = readme.split("## Contributors")[1].split("\n# ")[0]
    assert "[Fused kernels for 𝒪(1) decoding](#" in contributors
    assert "### Fused kernels for $\\mathcal O(1)$ decoding" in readme  # GitHub renders it
    site = cli("-C", root, "site", "-o", root / "explorer", "--offline")
    assert site.exit_code == 0, site.output
    page = (root / "explorer" / "index.html").read_text(encoding="utf-8")
    assert "Fused kernels for 𝒪(1) decoding: a Case study" in page
    shown = [line for line in page.splitlines() if "mathcal" in line]
    assert shown and all("title = {" in line for line in shown), shown  # only the BibTeX


@pytest.mark.parametrize("args", [
    pytest.param(["export", "--format", "text"], id="text"),
    pytest.param(["export", "--format", "text", "--csl", "surveybib-numeric"], id="csl"),
    pytest.param(["export", "--format", "ris"], id="ris"),
])
def test_a_command_with_two_arguments_keeps_the_words_apart(cli: Cli, root: Path,
                                                            args: list[str]) -> None:
    """Issue 11.16, "dropped with a word boundary kept": `\\href{URL}{text}` and an unknown
    `\\foo{a}{b}` lost the braces between their arguments ("https://x.orglinked")."""
    with (root / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write("@misc{links2024,\n  title = {See \\href{https://x.org/k}{the kernels} and "
                  "\\tuple{prefill}{decode} phases},\n  year = {2024},\n"
                  "  taxonomy = {大算子},\n}\n")
    result = cli("-C", root, *args, "--keys", "links2024", "--offline")
    assert result.exit_code == 0, result.output
    assert "See the kernels and prefill decode phases" in result.stdout
    assert "x.org" not in result.stdout and "\\" not in result.stdout
    assert "title: unknown LaTeX command \\tuple left out" in result.stderr
    assert "\\href" not in result.stderr  # \href is known: its text is what readers see


@pytest.mark.parametrize("title", [pytest.param("\x00", id="nul"),
                                   pytest.param("\u202e\u2066", id="bidi-controls")])
def test_a_title_of_hidden_characters_only_shows_the_key(cli: Cli, root: Path,
                                                         title: str) -> None:
    """The README drops NUL and bidirectional controls; a title made only of them left an
    empty heading and a `[notes](#)` link to nowhere (found by tests/test_robust.py)."""
    with (root / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write(f"@misc{{hidden2024,\n  title = {{{title}}},\n  taxonomy = {{大算子}},\n}}\n")
    result = cli("-C", root, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert "title holds U+" in result.stderr
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "\n### hidden2024\n" in readme
    assert "[notes](#hidden2024)" in readme and "(#)" not in readme
