"""Small surveys for the CLI tests: real papers as a maintainer writes them in survey.bib,
a survey folder written from a bibliography and a configuration, and the entries a test
reads back."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from surveybib.bibtex.parse import parse_bib

# key -> (entry type, the paper's own fields in the order they are written)
PAPERS: dict[str, tuple[str, dict[str, str]]] = {
    "dao2022flashattention": ("inproceedings", {
        "title": "{FlashAttention}: Fast and Memory-Efficient Exact Attention with "
                 "{IO}-Awareness",
        "author": "Dao, Tri and Fu, Daniel Y.",
        "booktitle": "Advances in Neural Information Processing Systems",
        "year": "2022"}),
    "lin2024awq": ("inproceedings", {
        "title": "{AWQ}: Activation-aware Weight Quantization for {LLM} Compression and "
                 "Acceleration",
        "author": "Lin, Ji and Tang, Jiaming",
        "booktitle": "Proceedings of Machine Learning and Systems",
        "year": "2024"}),
    "kwon2023efficient": ("inproceedings", {
        "title": "Efficient Memory Management for Large Language Model Serving with "
                 "{PagedAttention}",
        "author": "Kwon, Woosuk and Li, Zhuohan",
        "booktitle": "Proceedings of the 29th Symposium on Operating Systems Principles",
        "year": "2023"}),
}


def paper(key: str, **fields: str) -> str:
    """A paper of PAPERS as survey.bib holds it, one `name = {value},` a line: its own
    fields, then `fields` (taxonomy, venue, reader, ...)."""
    kind, own = PAPERS[key]
    lines = "".join(f"  {name} = {{{value}}},\n" for name, value in {**own, **fields}.items())
    return f"@{kind}{{{key},\n{lines}}}\n"


_READING_LIST = """\
% A reading list.
@inproceedings{kwon2023vllm,
  title = {Efficient Memory Management for Large Language Model Serving with PagedAttention},
  author = {Kwon, Woosuk},
  booktitle = {SOSP},
  year = 2023,
  doi = {10.1145/3600006.3613165},
"""


def reading_list(**fields: str) -> str:
    """The survey.bib the add and lookup tests add to: one paper as a user typed it (an
    acronym for its booktitle, a bare year), `fields` after its own."""
    lines = "".join(f"  {name} = {{{value}}},\n" for name, value in fields.items())
    return f"{_READING_LIST}{lines}}}\n"


def write_survey(root: Path, bib: str, pyproject: str, *,
                 notes: Mapping[str, str] | None = None,
                 files: Mapping[str, str] | None = None) -> Path:
    """A survey folder: survey.bib, pyproject.toml, with `notes` a notes/ folder holding
    notes/KEY.md for each of them, and `files` (paths under root -> text)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "survey.bib").write_text(bib, encoding="utf-8")
    if notes is not None:
        (root / "notes").mkdir(exist_ok=True)
        for key, text in notes.items():
            (root / "notes" / f"{key}.md").write_text(text, encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def entries(root: Path) -> dict[str, Any]:
    """The entries of root/survey.bib by key, after checking it parses without an error."""
    parsed = parse_bib((root / "survey.bib").read_bytes().decode("utf-8"))
    assert [p for p in parsed.problems if p.level == "error"] == []
    return {e.key: e for e in parsed.entries}
