"""The fast split (bibtex/split.py) gives bibtexparser's very blocks, or gives up.

bibtexparser's own split is the reference: on every bibliography here and on generated
text, the fast split either returns exactly what bibtexparser returns (keys, types, raw
values, 0-based lines, duplicate handling) or None, and then bibtexparser splits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Cli, corpus_files, corpus_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveybib.bibtex.split import Kind, fast_blocks, parsed_blocks

DATA = Path(__file__).resolve().parent / "data"
DATA_BIBS = sorted(DATA.rglob("*.bib"))


def _text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n")


def _same_or_unsure(text: str) -> bool:
    """True when the fast split was sure (and then it must agree with bibtexparser)."""
    fast = fast_blocks(text)
    if fast is None:
        return False
    assert fast == parsed_blocks(text)
    return True


@pytest.mark.parametrize("path", DATA_BIBS, ids=lambda p: p.relative_to(DATA).as_posix())
def test_every_test_bibliography_splits_as_bibtexparser_splits_it(path: Path) -> None:
    _same_or_unsure(_text(path))


def test_the_fast_split_reads_the_well_formed_test_bibliographies() -> None:
    """Not a test that passes by always giving up: the files without errors take the
    fast path."""
    sure = [p.name for p in DATA_BIBS if _same_or_unsure(_text(p))]
    assert len(sure) >= len(DATA_BIBS) // 2, sure


@pytest.mark.corpora
@pytest.mark.parametrize("name", corpus_files())
def test_every_corpus_bibliography_splits_as_bibtexparser_splits_it(name: str) -> None:
    sure = _same_or_unsure(_text(corpus_path(name)))
    if name.startswith(("large/", "ml/")) and "openmlsys" not in name:
        assert sure, f"{name}: a real bibliography without errors left to bibtexparser"


WELL_FORMED = """\
@string{acm = "ACM"}
@comment{a comment {with braces}}
@article{one,
  title = {The {\\TeX}book: {\\"o}, \\{ and \\\\ end},
  author = "Knuth, Donald and {Team, The}",
  journal = acm # " Press",
  year = 1984,
  note = {mail me@example.org, or
          call},
}
@misc{two, title = {Two}}
@misc{one, title = {Again}}
@book{three, title = {T}, Title = {t}, title = {dup}}
@book{three, title = {No duplicate: the entry before repeats a field}}
"""


def test_a_well_formed_file_takes_the_fast_path_with_bibtexparsers_results() -> None:
    blocks = fast_blocks(WELL_FORMED)
    assert blocks == parsed_blocks(WELL_FORMED)
    assert [(b.kind, b.key, b.line) for b in blocks] == [
        (Kind.STRING, "acm", 0), (Kind.ENTRY, "one", 2), (Kind.ENTRY, "two", 10),
        (Kind.DUPLICATE_KEY, "one", 11), (Kind.ENTRY, "three", 12),
        (Kind.ENTRY, "three", 13)]
    assert blocks[1].fields[0] == ("title", '{The {\\TeX}book: {\\"o}, \\{ and \\\\ end}', 3)
    assert blocks[1].fields[2] == ("journal", 'acm # " Press"', 5)
    assert blocks[1].fields[4][2] == 7  # a value over two lines: the line of its `=`


@pytest.mark.parametrize("text", [
    "@article(key, title = {Parens})\n",  # `(`-delimited
    '@article{key, title = "a {"} b"}\n',  # `{"}` inside quotes does not close them
    "@article{key, title = {" + "{" * 7 + "deep" + "}" * 7 + "}}\n",  # deeper than six
    "@article{key, title = {LeQua @ {CLEF}}}\n",  # an `@` bibtexparser reads as a mark
    "@article{key, title = {unclosed}\n@book{next, title = {N}}\n",  # does not parse
    "@article{key title = {No comma}}\n",
])
def test_what_the_fast_split_is_not_sure_of_is_left_to_bibtexparser(text: str) -> None:
    assert fast_blocks(text) is None
    assert parsed_blocks(text)  # bibtexparser still gives its blocks (and failures)


def test_newlines_after_a_backslash_are_not_counted_as_bibtexparser_does() -> None:
    text = "@misc{a, note = {x \\\ny},\n  title = {T}}\n\n@misc{b, title = {B}}\n"
    blocks = fast_blocks(text)
    assert blocks == parsed_blocks(text)
    assert [b.line for b in blocks] == [0, 3]  # four newlines before b, one not counted


# ---------------------------------------------------------------- generated text

ATOMS = ["@article{", "@string{", "@comment{", "@preamble{", "@misc (", "@", "@ {", "{", "}",
         '"', ",", "=", "#", "\n", "\\", "\\\\", "\\\n", " ", "\t", "%", "(", ")", '{"}',
         "é", "\u00a0", "x", "key", "title", "{X}", '"q"', "{a {b} c}", "12", "jan"]
NAMES = st.sampled_from(["title", "Title", " note ", "author", "x", "year"])
VALUES = st.lists(st.sampled_from(ATOMS[5:]), max_size=6).map("".join)


@st.composite
def _entry(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["@article{", "@Book{", "@string{", "@comment{", "@misc{",
                                 "@preamble{", "@misc (", "@ARTICLE {"]))
    key = draw(st.sampled_from(["k1", "k2", " k 3 ", "k1", ""]))
    fields = draw(st.lists(st.tuples(NAMES, VALUES, st.sampled_from(["{}", '""', "  "])),
                           max_size=4))
    sep = draw(st.sampled_from([",\n  ", ", ", ",\n"]))
    body = sep.join(f"{name} = {d[0]}{value}{d[1]}" for name, value, d in fields)
    end = draw(st.sampled_from(["}", ",}", "\n}", "", "}}", ")"]))
    after = draw(st.sampled_from(["\n", "\n\n", " junk ", "\\\n", "", "\n  "]))
    return head + key + (sep + body if body else "") + end + after


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entry(), min_size=1, max_size=5).map("".join))
def test_generated_bibliographies_split_as_bibtexparser_splits_them(text: str) -> None:
    _same_or_unsure(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=40).map("".join))
def test_generated_noise_splits_as_bibtexparser_splits_it(text: str) -> None:
    _same_or_unsure(text)


# ---------------------------------------------------------------- what a user sees


def test_check_reports_the_same_findings_whichever_split_reads_the_file(
        tmp_path: Path, cli: Cli) -> None:
    """The same survey with one entry `(`-delimited (bibtexparser splits it all) and
    with braces (the fast split): the same findings at the same lines."""
    body = ("{key1,\n  title = {A},\n  title = {Again},\n  journal = undefined,\n}\n\n"
            "@misc{key0, title = {Once}}\n@misc{key2, note = {no title}}\n"
            "@misc{key0, title = {Twice}}\n")
    (tmp_path / "survey.bib").write_text("@article" + body, encoding="utf-8")
    fast = cli("check").stderr
    parens = "@article(" + body[1:].replace("\n}\n\n", "\n)\n\n", 1)
    (tmp_path / "survey.bib").write_text(parens, encoding="utf-8")
    slow = cli("check").stderr
    assert fast == slow
    for finding in ("survey.bib:3: key1: duplicate field 'title' (first at line 2)",
                    "survey.bib:4: key1: undefined @string macro 'undefined'",
                    "survey.bib:8: key2: warning: no title",
                    "survey.bib:9: key0: duplicate key (first defined at line 7)"):
        assert finding in fast
