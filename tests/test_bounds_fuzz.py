"""Fuzz (issue 15): `build` and `check` over generated hostile BibTeX and notes cost work
and memory linear in the input's size.

Hypothesis builds a hostile unit (odd keys, @string chains, braces, runs of one markup
character, control characters, headings of backticks and brackets, comments that never
close); the survey holds the unit n times, then 4n times. Work is counted, never timed:
the Python calls made (a profile hook counts every call, C functions included), and the
peak of memory allocated (tracemalloc). Linear growth gives a ratio of about 4 or less;
the bounds below allow 6, where a quadratic step would give about 16.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveybib.cli import main

RATIO = 6

# Runs of one character that once made a step rescan the rest of the text.
_RUN_CHARS = [*"`[]!<>*_{}\\$#%\"@=,( -\t\n", "<!--", "![", "\u202e", "\x1b", "é", "键"]
_runs = st.builds(lambda chars, n: chars * n, st.sampled_from(_RUN_CHARS),
                  st.integers(min_value=1, max_value=60))
_text = st.lists(st.one_of(_runs, st.text(max_size=8)), max_size=6).map("".join)
_key = st.text(alphabet=st.sampled_from(list("ab1:_-./ %#é\x00\t")), min_size=0, max_size=6)


def _string_chain(depth: int, tag: str) -> str:
    lines = [f'@string{{{tag}0 = "ab"}}']
    lines += [f"@string{{{tag}{i} = {tag}{i - 1} # {tag}{i - 1}}}" for i in range(1, depth)]
    return "\n".join(lines) + "\n"


@st.composite
def hostile_unit(draw: Callable[..., Any]) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """(bib(i), note(i)): the i-th copy of a hostile entry and of its note."""
    title = draw(_text)
    field = draw(st.sampled_from(["title", "author", "journal", "month", "year", "doi",
                                  "taxonomy", "url", "pages"]))
    value = draw(_text)
    key = draw(_key)
    chain = draw(st.integers(min_value=0, max_value=6))
    heading = draw(_text)
    body = draw(_text)
    setext = draw(st.sampled_from(["", "\n===", "\n---", "\n" + "=\n" * 5]))

    def bib(i: int) -> str:
        strings = _string_chain(chain, f"m{i}x") if chain else ""
        use = f" # m{i}x{chain - 1}" if chain else ""
        return (f"{strings}@misc{{k{i}{key}, title = {{{title} {i}}}{use}, "
                f"{field} = {{{value}}}, taxonomy = {{T{i % 3}}}, reader = {{R}}}}\n")

    def note(i: int) -> str:
        return f"# {heading} {i}{setext}\n\n{body}\n"

    return bib, note


def _survey(root: Path, unit: tuple[Callable[[int], str], Callable[[int], str]],
            copies: int) -> Path:
    bib, note = unit
    root.mkdir(parents=True)
    (root / "survey.bib").write_text("".join(bib(i) for i in range(copies)), encoding="utf-8")
    (root / "notes").mkdir()
    for i in range(copies):
        (root / "notes" / f"k{i}.md").write_text(note(i), encoding="utf-8")
    (root / "INTRO.md").write_text("\n".join(note(i) for i in range(copies)), encoding="utf-8")
    return root


def _work(root: Path) -> tuple[int, int]:
    """(Python calls, peak bytes allocated) of `build` then `check` on the survey."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    runner = CliRunner()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    sys.setprofile(count)
    try:
        for args in (["build"], ["check"]):
            result = runner.invoke(main, ["-C", str(root), *args],
                                   env={"SURVEYBIB_OFFLINE": "1"})
            if result.exception and not isinstance(result.exception, SystemExit):
                raise result.exception
            assert "internal error" not in result.stderr
    finally:
        sys.setprofile(None)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return calls, peak


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Imports and compiled templates are paid once, not by the first example."""
    root = tmp_path_factory.mktemp("warm") / "s"
    _work(_survey(root, (lambda i: f"@misc{{w{i}, title={{W}}}}\n", lambda i: "# W\n"), 2))


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(unit=hostile_unit())
def test_build_and_check_are_linear_in_hostile_input(
        tmp_path_factory: pytest.TempPathFactory, warm: None,
        unit: tuple[Callable[[int], str], Callable[[int], str]]) -> None:
    base = tmp_path_factory.mktemp("fuzz")
    small_calls, small_peak = _work(_survey(base / "n", unit, 5))
    large_calls, large_peak = _work(_survey(base / "4n", unit, 20))
    assert large_calls <= RATIO * small_calls + 50_000, (small_calls, large_calls)
    assert large_peak <= RATIO * small_peak + 2_000_000, (small_peak, large_peak)


@pytest.mark.parametrize("unit", [
    pytest.param((lambda i: f"@misc{{k{i}, title={{{'`' * 300}}}}}\n",
                  lambda i: "# " + "`" * 2_000 + "\n"), id="backticks"),
    pytest.param((lambda i: f"@misc{{k{i}, title={{{'[' * 300}}}}}\n",
                  lambda i: "# " + "![" * 1_000 + "\n" + "[" * 200 + "\n===\n"), id="brackets"),
    pytest.param((lambda i: _string_chain(14, f"s{i}x") + f"@misc{{k{i}, title=s{i}x13}}\n",
                  lambda i: "<!--" * 500), id="string-chain"),
    pytest.param((lambda i: f"@misc{{k{i}, title={{{'w ' * 2_000}}}, author={{{'and ' * 500}}}}}\n",
                  lambda i: "*a " * 1_000), id="long-words"),
])
def test_known_hostile_inputs_are_linear(tmp_path: Path, warm: None,
                                         unit: tuple[Callable[[int], str],
                                                     Callable[[int], str]]) -> None:
    small_calls, small_peak = _work(_survey(tmp_path / "n", unit, 5))
    large_calls, large_peak = _work(_survey(tmp_path / "4n", unit, 20))
    assert large_calls <= RATIO * small_calls + 50_000, (small_calls, large_calls)
    assert large_peak <= RATIO * small_peak + 2_000_000, (small_peak, large_peak)
