"""Golden READMEs: tests/data/<name>/ renders exactly tests/golden/readme/<name>.md.

`UPDATE_GOLDEN=1 pytest tests/test_golden.py` rewrites the golden files; read the git diff.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest
from conftest import TESTS

from surveybib.build import render_at

DATA = TESTS / "data"
GOLDEN = TESTS / "golden" / "readme"
FIXTURES = sorted(p.name for p in DATA.iterdir() if (p / "survey.bib").is_file())


def render_readme_of(root: Path) -> str:
    outputs, _ = render_at(root)
    return outputs[0].text


def assert_golden(path: Path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; run UPDATE_GOLDEN=1 pytest {__file__}")
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            f"{path.name} (golden)", f"{path.name} (rendered)"))
        pytest.fail(f"rendered README differs from {path}:\n{diff}", pytrace=False)


def test_there_are_fixtures() -> None:
    assert {"keywords", "notes", "taxonomy", "titles"} <= set(FIXTURES)


@pytest.mark.parametrize("name", FIXTURES)
def test_golden_readme(name: str) -> None:
    assert_golden(GOLDEN / f"{name}.md", render_readme_of(DATA / name))


@pytest.mark.parametrize("name", FIXTURES)
def test_same_inputs_in_two_directories_give_identical_bytes(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = shutil.copytree(DATA / name, tmp_path / "one")
    second = shutil.copytree(DATA / name, tmp_path / "deeper" / "two" / name)
    monkeypatch.chdir(tmp_path)
    a = render_readme_of(first)
    monkeypatch.chdir(second)
    b = render_readme_of(Path("."))
    assert a.encode("utf-8") == b.encode("utf-8")
    assert str(tmp_path) not in a
