"""The `hostile` row: the inputs of issue 15 at 100 KB, built against a clean survey of the
same size (target: the slowest within 3x).

Each hostile survey holds one of the inputs that once took seconds to minutes (an
exponential @string chain, a heading of backticks, runs of `[`, `![` or `<!--`, setext
headings of brackets, near-duplicate titles of thousands of words, thousands of categories,
braces nested a thousand deep), filled to the size of the clean file: the first 100
entries of the scaling corpus (`corpora.scaling_bib(100)`). Every build runs offline and
deletes README.md (untimed) before each run, as the build rows do.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import corpora
from harness import WORK, Bench, Command, Row, own_survey

TARGET = 3.0
ENTRY = "@misc{k, title = {Hostile}, taxonomy = {A}}\n"


def _string_chains(size: int) -> dict[str, str]:
    chains = []
    n = 0
    while sum(map(len, chains)) < size:
        lines = [f'@string{{c{n}s0 = "ab"}}']
        lines += [f"@string{{c{n}s{i} = c{n}s{i - 1} # c{n}s{i - 1}}}" for i in range(1, 26)]
        lines.append(f"@misc{{k{n}, title = c{n}s25, taxonomy = {{A}}}}")
        chains.append("\n".join(lines) + "\n")
        n += 1
    return {"survey.bib": "".join(chains)}


def _note(text: Callable[[int], str]) -> Callable[[int], dict[str, str]]:
    return lambda size: {"survey.bib": ENTRY, "notes/k.md": text(size)}


def _near_duplicates(size: int) -> dict[str, str]:
    words = " ".join(f"w{i}" for i in range(size // 12))
    return {"survey.bib": f"@misc{{a, title = {{{words}}}}}\n@misc{{b, title = {{{words} x}}}}\n"}


def _categories(size: int) -> dict[str, str]:
    names = [f"C{i}" for i in range(size // 12)]
    return {"survey.bib": f"@misc{{a, title = {{A}}, taxonomy = {{{'; '.join(names)}}}}}\n",
            "pyproject.toml": f"[tool.surveybib]\ntaxonomy = {json.dumps(names[::2])}\n"}


def _deep_braces(size: int) -> dict[str, str]:
    depth = size // 2
    return {"survey.bib": "@misc{k, title = {" + "{" * depth + "x" + "}" * depth + "}}\n"}


INPUTS: dict[str, Callable[[int], dict[str, str]]] = {
    "@string chain": _string_chains,
    "heading of backticks": _note(lambda size: "# " + "`" * size + "\n"),
    "heading of [": _note(lambda size: "# " + "[" * size + "\n"),
    "heading of ![": _note(lambda size: "# " + "![" * (size // 2) + "\n"),
    "note of <!--": _note(lambda size: "<!--" * (size // 4)),
    "setext headings of [": _note(lambda size: ("[" * 60 + "\n===\n") * (size // 65)),
    "emphasis openers": _note(lambda size: "# " + "*a " * (size // 3) + "\n"),
    "near-duplicate titles": _near_duplicates,
    "categories": _categories,
    "nested braces": _deep_braces,
}


def _survey(name: str, files: dict[str, str]) -> Path:
    root = WORK / "hostile" / name.replace(" ", "-").replace("@", "").replace("<!--", "comment")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    own_survey(root)  # its own pyproject.toml; a case may replace it with its own
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def _build(bench: Bench, root: Path, label: str) -> Command:
    readme = root / "README.md"
    return Command(label, bench.surveybib("build"), root, env={"SURVEYBIB_OFFLINE": "1"},
                   before=lambda: readme.unlink(missing_ok=True))


def measure(bench: Bench) -> list[Row]:
    clean_bib = corpora.scaling_bib(100)
    size = clean_bib.stat().st_size
    clean = corpora.survey_dir("hostile-clean", clean_bib)  # a survey of its own too
    results = []
    for name, make in INPUTS.items():
        root = _survey(name, make(size))
        hostile, baseline = bench.time_pair(_build(bench, root, f"build, {name}"),
                                            _build(bench, clean, "build, clean 100 entries"))
        results.append((hostile.median / baseline.median, name, hostile, baseline))
    ratio, name, hostile, baseline = max(results, key=lambda r: r[0])
    others = ", ".join(f"{n} {r:.2f}x" for r, n, _, _ in sorted(results, reverse=True))
    return [Row("hostile", f"build, the slowest hostile input at {size / 1000:.0f} KB "
                           "vs a clean survey of the same size", f"{ratio:.3f}x ({name})",
                f"ratio <= {TARGET:g}", ratio <= TARGET, hostile, baseline,
                runs=str(len(hostile.samples)), note=f"every input: {others}")]
