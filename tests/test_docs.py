"""The examples in docs/*.md are run: every ```sh block, line by line, in a small survey
against the fake Crossref/DataCite API, so the docs cannot drift from what the code does.

A block runs in a folder holding the survey below and the files the examples name
(`issue.md`, `pasted.bib`, `paper/paper.aux`); a blank line inside a block starts another
example, which runs in a fresh copy (alternatives such as `--format json` and
`--format github` of one command). Each `surveybib ...` line goes through
the CLI and must exit 0; `cd`, `make readme` (what the Makefile's readme target runs),
`git` and `< FILE` are followed; `pip install` is the install this test runs under.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakeapi import add_specinfer
from surveys import paper, write_survey

from surveybib.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)

PYPROJECT = """\
[tool.surveybib]
title = "Docs Survey"
taxonomy = ["Quantization", "Dynamic Inference", "Systems"]
"""
BIB = (paper("lin2024awq", taxonomy="Quantization") + "\n"
       + paper("kwon2023efficient", taxonomy="Systems"))
FILES = {
    "issue.md": ("### DOI or arXiv id\n\n10.1145/3448016.3452841\n\n### Title\n\n_No response_"
                 "\n\n### First author\n\n_No response_\n\n### Year\n\n_No response_\n\n"
                 "### Category\n\nSystems\n\n### Reader\n\nAda\n\n### Note\n\nFast.\n"),
    "pasted.bib": ("@article{frantar2022gptq,\n  author = {Frantar, Elias},\n  title = {{GPTQ}: "
                   "Accurate Post-Training Quantization},\n  journal = {arXiv preprint "
                   "arXiv:2210.17323},\n  year = {2022},\n}\n"),
    "paper/paper.aux": "\\relax\n\\citation{lin2024awq,kwon2023efficient}\n",
}
_ARXIV = re.compile(r"(?:arXiv:)?(\d{4}\.\d{4,5})")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"']+)")


def _blocks() -> list[Any]:
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(pytest.param(match.group(1), id=f"{doc.name}:{line}"))
    return found


def _commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists: continuations joined, comments dropped,
    `a && b` split."""
    commands: list[list[str]] = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:cut])
            words = words[cut + 1:]
    return commands


def make_survey(root: Path) -> Path:
    return write_survey(root, BIB, PYPROJECT, notes={}, files=FILES)


def _known_to_the_fake(api: Any, block: str) -> None:
    """Every DOI and arXiv id an example names has a record at the fake API."""
    for doi in _DOI.findall(block):
        doi = doi.rstrip(".,;)").lower()
        if doi not in api.works and not doi.startswith("10.48550/"):
            api.derive(doi, title=f"A paper the docs name ({doi})", year=2023)
    for arxiv in _ARXIV.findall(block):
        doi = f"10.48550/arxiv.{arxiv}"
        if doi not in api.datacite:
            api.derive_datacite(doi, title=f"A preprint the docs name ({arxiv})", year=2022,
                                creators=[("Guangxuan", "Xiao")],
                                url=f"https://arxiv.org/abs/{arxiv}",
                                identifiers=[("arXiv", arxiv)])


@pytest.mark.parametrize("block", _blocks())
def test_every_shell_example_in_the_docs_runs(block: str, tmp_path: Path, fake_api: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    add_specinfer(fake_api)
    _known_to_the_fake(fake_api, block)
    for number, example in enumerate(re.split(r"\n\s*\n", block.strip())):
        _run_example(example, make_survey(tmp_path / f"example{number}"), monkeypatch)


def _run_example(example: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for words in _commands(example):
        if words[:2] == ["pip", "install"]:
            continue  # the installation this test runs in
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        if words[0] == "git":
            env = {**os.environ, "GIT_AUTHOR_NAME": "Docs", "GIT_AUTHOR_EMAIL": "d@example.org",
                   "GIT_COMMITTER_NAME": "Docs", "GIT_COMMITTER_EMAIL": "d@example.org"}
            subprocess.run(words, cwd=cwd, env=env, check=True, capture_output=True)
            continue
        if words == ["make", "readme"]:
            recipe = (cwd / "Makefile").read_text(encoding="utf-8").split("readme:")[1]
            assert "surveybib build" in recipe.split("\n\n")[0], recipe
            words = ["surveybib", "build"]
        assert words[0] == "surveybib", f"the docs run a command this test does not know: {words}"
        stdin = None
        if "<" in words:
            at = words.index("<")
            stdin = (cwd / words[at + 1]).read_text(encoding="utf-8")
            words = words[:at] + words[at + 2:]
        with monkeypatch.context() as scoped:
            scoped.chdir(cwd)
            result = CliRunner().invoke(main, words[1:], input=stdin)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, f"{shlex.join(words)}\n{result.stdout}\n{result.stderr}"


def test_the_doc_examples_are_found() -> None:
    """At least the examples this issue added: lookup, search, export, the set-up."""
    names = {p.id.split(":")[0] for p in _blocks()}
    assert {"lookup.md", "export.md", "usage.md"} <= names
