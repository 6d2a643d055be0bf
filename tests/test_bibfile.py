"""Reading survey.bib: values resolved, every problem a diagnostic with file, line and key."""

from __future__ import annotations

import codecs
import json
import re

import pytest
from conftest import DATA

from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.source import BibSource
from surveybib.errors import BibFileError
from surveybib.model import ParsedBib, Problem

P = pytest.param

# Modelled on Nelson Beebe's TUGboat bibliography (corpora/large/tugboat_beebe_biber-etc.bib):
# a %%% header, @Preamble, @String acknowledgement macros joined with `#`, bare months.
TUGBOAT = r"""%%% -*-BibTeX-*-
%%% ====================================================================
%%%  BibTeX-file{ author = "Nelson H. F. Beebe", version = "2.00" }
@Preamble{
    "\input bibnames.sty " #
    "\hyphenation{Post-Script}"
}

@String{ack-bnb = "Barbara N. Beeton, e-mail: \path|bnb@ams.org|"}
@String{ack-nhfb = "Nelson H. F. Beebe,
                    e-mail: \path|beebe@math.utah.edu|"}
@String{j-TUGboat = "TUGboat"}

@Comment{ @Article{not-an-entry, title = "inside a comment"} }

@Article{Knuth:1980:TT,
  author =       "Donald E. Knuth",
  title =        "The {\TeX} tour",
  journal =      j-TUGboat,
  volume =       "1",
  number =       "1",
  pages =        "1--2",
  month =        oct,
  year =         "1980",
  ISSN =         "0896-3207",
  bibdate =      "Fri Jul 13 10:24:20 MDT 2007",
  URL =          "http://www.tug.org/TUGboat/Articles/tb01-1/tb01knuth.pdf#page=2",
  acknowledgement = ack-bnb # " and " # ack-nhfb,
}
"""


def _parse(text: str) -> ParsedBib:
    return parse_bib(text, "survey.bib")


def _rules(parsed: ParsedBib) -> list[tuple[int | None, str | None, str]]:
    return [(p.line, p.key, p.rule) for p in parsed.problems]


# ---------------------------------------------------------------- values


def test_tugboat_macros_concatenation_and_months() -> None:
    parsed = _parse(TUGBOAT)
    assert parsed.problems == ()
    (entry,) = parsed.entries
    assert (entry.key, entry.type, entry.line) == ("Knuth:1980:TT", "article", 16)
    assert entry.get("journal") == "TUGboat"
    assert entry.get("month") == "October"
    assert entry.get("acknowledgement") == (
        "Barbara N. Beeton, e-mail: \\path|bnb@ams.org| and Nelson H. F. Beebe,\n"
        "                    e-mail: \\path|beebe@math.utah.edu|"
    )
    # LaTeX is kept in values; '#' inside a quoted URL is not concatenation
    assert entry.get("title") == r"The {\TeX} tour"
    assert entry.get("url").endswith("tb01knuth.pdf#page=2")


def test_every_field_kept_with_lower_case_names_in_file_order() -> None:
    (entry,) = _parse(TUGBOAT).entries
    assert [name for name, _ in entry.fields] == [
        "author", "title", "journal", "volume", "number", "pages", "month", "year", "issn",
        "bibdate", "url", "acknowledgement",
    ]
    assert entry.get("issn") == "0896-3207"


def test_comment_and_preamble_are_not_entries() -> None:
    parsed = _parse(TUGBOAT)
    assert [e.key for e in parsed.entries] == ["Knuth:1980:TT"]
    assert dict(parsed.strings) == {
        "ack-bnb": "Barbara N. Beeton, e-mail: \\path|bnb@ams.org|",
        "ack-nhfb": "Nelson H. F. Beebe,\n                    e-mail: \\path|beebe@math.utah.edu|",
        "j-tugboat": "TUGboat",
    }


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        P("{Braced {Inner} value}", "Braced {Inner} value", id="braces"),
        P('"Quoted {value}"', "Quoted {value}", id="quotes"),
        P("2024", "2024", id="bare-number"),
        P("jan", "January", id="month-macro"),
        P("DEC", "December", id="month-macro-upper-case"),
        P('may # "\\slash " # jun', "May\\slash June", id="months-concatenated"),
        P("first", "Nelson", id="macro"),
        P("FIRST", "Nelson", id="macro-names-ignore-case"),
        P("full", "Nelson H. F. Beebe", id="macro-defined-by-concatenation"),
        P('first # { and } # "Barbara"', "Nelson and Barbara", id="macro-brace-quote-concat"),
        P('{A # B} # "C # D"', "A # BC # D", id="hash-inside-braces-and-quotes"),
    ],
)
def test_value_resolution(value: str, resolved: str) -> None:
    text = (
        '@String{First = "Nelson"}\n'
        '@string(full = First # " H. F. Beebe")\n'
        f"@misc{{k, title = {{T}}, note = {value}}}\n"
    )
    parsed = _parse(text)
    assert parsed.problems == ()
    assert parsed.entries[0].get("note") == resolved


def test_parenthesised_entry_and_upper_case_type() -> None:
    parsed = _parse("@ARTICLE(paren,\n  title = {Paren delimited},\n)\n")
    assert [(e.key, e.type, e.get("title")) for e in parsed.entries] == [
        ("paren", "article", "Paren delimited")]


def test_two_entries_on_one_line_keep_their_line() -> None:
    parsed = _parse("\n@misc{x,title={X}}@misc{y,title={Y}}\n")
    assert [(e.key, e.line) for e in parsed.entries] == [("x", 2), ("y", 2)]


# ---------------------------------------------------------------- problems


def _problem(parsed: ParsedBib, rule: str) -> Problem:
    (problem,) = [p for p in parsed.problems if p.rule == rule]
    return problem


def test_duplicate_key_names_both_lines_and_keeps_the_first() -> None:
    text = "@misc{a,\n  title = {First},\n}\n\n@misc{a,\n  title = {Second},\n}\n"
    parsed = _parse(text)
    assert [(e.key, e.get("title")) for e in parsed.entries] == [("a", "First")]
    problem = _problem(parsed, "duplicate-key")
    assert str(problem) == (
        "survey.bib:5: a: duplicate key (first defined at line 1); this entry is skipped")


@pytest.mark.parametrize(
    ("second", "shown"),
    [P("title", "title", id="same-case"), P("TITLE", "TITLE", id="title-TITLE"),
     P("Title", "Title", id="title-Title")],
)
def test_duplicate_field_any_case(second: str, shown: str) -> None:
    text = f"@misc{{k,\n  title = {{First}},\n  year = 2020,\n  {second} = {{Second}},\n}}\n"
    parsed = _parse(text)
    assert parsed.entries[0].get("title") == "First"
    assert str(_problem(parsed, "duplicate-field")) == (
        f"survey.bib:4: k: duplicate field '{shown}' (first at line 2); the first value is used")


def test_undefined_macro_is_reported_and_kept_as_text() -> None:
    text = "@misc{k,\n  title = {T},\n  journal = jtugboat # { vol.},\n}\n"
    parsed = _parse(text)
    assert parsed.entries[0].get("journal") == "jtugboat vol."
    assert str(_problem(parsed, "undefined-macro")) == (
        "survey.bib:3: k: undefined @string macro 'jtugboat' in field 'journal'; kept as text")


def test_undefined_macro_inside_a_string_definition() -> None:
    parsed = _parse("@string{a = b # {x}}\n@misc{k, title = a}\n")
    problem = _problem(parsed, "undefined-macro")
    assert (problem.line, problem.key) == (1, "@string a")
    assert "'b'" in problem.message
    assert parsed.entries[0].get("title") == "bx"


@pytest.mark.parametrize(
    "title", [P("", id="absent"), P("title = {},", id="empty"), P("title = { },", id="blank")])
def test_no_title_is_a_warning_and_the_entry_stays(title: str) -> None:
    parsed = _parse(f"@misc{{k,\n  author = {{X}},\n  {title}\n}}\n")
    assert [e.key for e in parsed.entries] == ["k"]
    problem = _problem(parsed, "no-title")
    assert (problem.line, problem.key, problem.level) == (1, "k", "warning")
    assert str(problem) == "survey.bib:1: k: warning: no title; the key is shown instead"


def test_a_broken_entry_does_not_stop_the_rest() -> None:
    text = (
        "@misc{before, title = {Before}}\n"
        "@misc{broken, title = {no closing brace}\n"
        "@misc{after, title = {After}}\n"
    )
    parsed = _parse(text)
    assert "before" in [e.key for e in parsed.entries]
    problem = _problem(parsed, "parse-error")
    assert (problem.path, problem.line, problem.key) == ("survey.bib", 2, "broken")
    assert str(problem).startswith("survey.bib:2: broken: @misc block does not parse, skipped:")


PARSE_FAILURES = DATA / "edge" / "bibtexparser-v2-parse-failures"


def _failure_cases() -> list[str]:
    # the names are fixed by MANIFEST.json (checked below)
    return [
        "entry_missing_comma_between_fields.bib", "entry_only_with_key_no_comma.bib",
        "entry_without_closing_brace.bib", "entry_without_field_and_closing_brace.bib",
        "field_missing_closing_brace.bib", "field_missing_closing_quote.bib",
        "multiline_entry_without_closing_brace.bib", "preable_without_closing_brace.bib",
        "preable_without_closing_brace_2.bib", "string_without_closing_brace.bib",
    ]


def test_parse_failure_manifest_lists_exactly_these_cases() -> None:
    manifest = json.loads((PARSE_FAILURES / "MANIFEST.json").read_text(encoding="utf-8"))
    assert sorted(manifest) == _failure_cases()


@pytest.mark.parametrize("name", [P(n, id=n.removesuffix(".bib")) for n in _failure_cases()])
def test_bibtexparser_parse_failures(name: str) -> None:
    """sciunto-org/python-bibtexparser's splitter failure cases: exactly one failed block,
    at line 5, reported with its file and line; the valid entry before it is kept."""
    directory = PARSE_FAILURES
    manifest = json.loads((directory / "MANIFEST.json").read_text(encoding="utf-8"))
    path = f"edge/{name}"
    parsed = parse_bib((directory / name).read_text(encoding="utf-8"), path)
    assert [(e.key, e.get("title")) for e in parsed.entries] == [("valid_before", "Some title")]
    (problem,) = parsed.problems
    assert (problem.path, problem.line, problem.rule) == (path, 5, "parse-error")
    block_type = manifest[name]["faulty_block"][1:].split("{")[0]
    assert f"@{block_type} block does not parse" in problem.message
    expected_key = "article1" if block_type == "article" else None
    assert problem.key == expected_key
    assert str(problem).startswith(f"{path}:5: ")


# ---------------------------------------------------------------- bytes and line ends


def test_utf8_bom_is_dropped() -> None:
    data = codecs.BOM_UTF8 + "@misc{müller, title = {Über}}\n".encode()
    parsed = parse_bib(BibSource.decode(data, "survey.bib").text)
    assert [(e.key, e.line, e.get("title")) for e in parsed.entries] == [("müller", 1, "Über")]


def test_crlf_file_parses_like_lf_and_remembers_its_line_ends() -> None:
    text = TUGBOAT + "@misc{two,\n  title = {A title\n    over two lines},\n  title = {dup}\n}\n"
    lf = _parse(text)
    crlf = _parse(text.replace("\n", "\r\n"))
    assert (lf.newline, crlf.newline) == ("\n", "\r\n")
    assert crlf.entries == lf.entries
    assert [str(p) for p in crlf.problems] == [str(p) for p in lf.problems]
    assert not any("\r" in value for e in crlf.entries for _, value in e.fields)


@pytest.mark.parametrize(
    ("name", "key", "title"),
    [
        P("latin9-coding-line.bib", "Šimek1999", "Šeptání a cena v €", id="latin-9"),
        P("latin1-coding-line.bib", "godel1931", "Über formal unentscheidbare Sätze",
          id="latin-1"),
        P("latin2-coding-line.bib", "zolw2004", "Żółw z Łodzi", id="latin-2"),
    ],
)
def test_emacs_coding_line_names_the_encoding(name: str, key: str, title: str) -> None:
    """8-bit files with `-*- coding: latin-N-unix -*-` (as in biber's t/tdata/encoding*.bib)."""
    data = (DATA / "edge" / "synthetic" / name).read_bytes()
    parsed = parse_bib(BibSource.decode(data, name).text, name)
    assert [(e.key, e.get("title")) for e in parsed.entries] == [(key, title)]
    assert parsed.problems == ()


GBK_TEST = DATA / "edge" / "bibtexparser-v2-tests" / "gbk_test.bib"


def test_gbk_file_is_a_clear_error() -> None:
    """python-bibtexparser's gbk_test.bib: GBK bytes, no coding line."""
    data = GBK_TEST.read_bytes()
    with pytest.raises(BibFileError) as caught:
        BibSource.decode(data, "survey.bib")
    message = str(caught.value)
    assert message.startswith("survey.bib:1: not UTF-8")
    assert "--encoding" in message and "\n" not in message


def test_gbk_file_with_its_encoding_named() -> None:
    data = GBK_TEST.read_bytes()
    parsed = parse_bib(BibSource.decode(data, "survey.bib", "gbk").text)
    assert [(e.key, e.get("author"), e.get("journal")) for e in parsed.entries] == [
        ("凯撒2013", "凯撒", "测试期刊")]


def test_non_utf8_error_names_the_line() -> None:
    data = b"@misc{a, title = {ok}}\n\n" + b"@misc{b, title = {caf\xe9}}\n"
    with pytest.raises(BibFileError, match=r"^survey\.bib:3: not UTF-8 \(byte 0xe9 at line 3\)"):
        BibSource.decode(data, "survey.bib")


@pytest.mark.parametrize(
    ("encoding", "message"),
    [P("no-such-codec", "unknown encoding 'no-such-codec'", id="unknown"),
     P("ascii", "it is UTF-8 (line 1: '@misc{é, title={x}}'), not ascii; drop --encoding "
       "ascii", id="wrong-for-utf8"),
     P("ascii", "cannot be decoded as ascii", id="wrong")],
)
def test_named_encoding_that_does_not_work(encoding: str, message: str) -> None:
    with pytest.raises(BibFileError, match=re.escape(message)):
        data = "@misc{é, title={x}}".encode("utf-8" if "UTF-8" in message else "latin-1")
        BibSource.decode(data, "survey.bib", encoding)
