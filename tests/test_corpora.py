"""The corpus sweep: real bibliographies written by other people (large/ and ml/ of the
folder SURVEYBIB_CORPORA names; .ci/run points it at ../shared/corpora). Each one builds a
README without a traceback, and no entry is lost: every `@type{` block of the file is a row
of the README's table or is named in a diagnostic, and the counts add up."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPORA, corpus_files, corpus_path
from readme_check import check_readme, row_heading

from surveybib.build import render_at
from surveybib.config import load_settings
from surveybib.readme.markdown import md_text
from surveybib.readme.papers import display_title
from surveybib.survey import load_survey

# As corpora/SOURCES.md counts entries: `@type` lines other than @string/@comment/@preamble.
BLOCK = re.compile(r"^[ \t]*@[ \t]*([A-Za-z][\w-]*)[ \t]*[{(][ \t]*([^,\s=}]*)", re.M)
NOT_ENTRIES = {"string", "comment", "preamble"}
# corpora/SOURCES.md's "entries (grep)" column
EXPECTED = {
    "large/d2l_d2l-en.bib": 488,
    "large/icml2023_b-vitamins.bib": 1828,
    "large/tugboat_beebe_biber-etc.bib": 3644,
    "ml/llm_b-vitamins-collection.bib": 187,
    "ml/llm_models_bib_llm.bib": 20,
    "ml/llm_models_bib_lvlm.bib": 15,
    "ml/mlsys_openmlsys-zh.bib": 141,
    "ml/scaling-book_main.bib": 19,
}
SKIPPED = {"parse-error", "duplicate-key"}  # the rules that name an entry left out
pytestmark = pytest.mark.corpora


def _corpus_files() -> list[str]:
    # without SURVEYBIB_CORPORA each test is skipped (the `corpora` mark)
    return corpus_files("large", "ml") if CORPORA else sorted(EXPECTED)


def test_every_corpus_file_is_tested() -> None:
    assert _corpus_files() == sorted(EXPECTED)


@pytest.mark.parametrize("name", _corpus_files())
def test_corpus_builds_and_loses_no_entry(name: str, tmp_path: Path) -> None:
    source = corpus_path(*name.split("/"))
    shutil.copy(source, tmp_path / "survey.bib")
    blocks = [(m.group(1).lower(), m.group(2))
              for m in BLOCK.finditer(source.read_bytes().decode("utf-8"))]
    grep_keys = [key for kind, key in blocks if kind not in NOT_ENTRIES]
    assert len(grep_keys) == EXPECTED[name]

    outputs, problems = render_at(tmp_path)  # in-process: a traceback fails the test
    survey = load_survey(load_settings(tmp_path))
    readme = check_readme(outputs[0].text, papers=len(survey.entries))
    rows = readme.table[2:]

    # Each entry's row is its own: in file order, showing its title, linking to its notes.
    for entry, row in zip(survey.entries, rows, strict=True):
        title = md_text(display_title(entry))
        assert row[0] == title, entry.key
        assert row_heading(readme, row).markdown == title, entry.key

    skipped = [p for p in problems if p.rule in SKIPPED]
    assert all(p.key for p in skipped), [str(p) for p in skipped if not p.key]
    shown = Counter(e.key for e in survey.entries)
    named = Counter(p.key for p in skipped)
    assert shown + named == Counter(grep_keys)
    assert len(rows) + len(skipped) == EXPECTED[name]
    assert not (tmp_path / "README.md").exists()  # rendering writes nothing


def test_openmlsys_entries_without_a_comma_are_named(tmp_path: Path) -> None:
    """corpora/SOURCES.md: three @misc entries with no comma after the key fail to parse;
    each is a diagnostic with its line, never a silent loss (tests/data has a synthetic
    equivalent that runs without the corpora: test_cli.py)."""
    shutil.copy(corpus_path("ml", "mlsys_openmlsys-zh.bib"), tmp_path / "survey.bib")
    _, problems = render_at(tmp_path)
    assert [(p.line, p.key, p.rule) for p in problems] == [
        (232, "rmpygil", "parse-error"), (240, "nvidia_dali", "parse-error"),
        (248, "minddata", "parse-error")]
