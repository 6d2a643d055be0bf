"""The one BibTeX writer: entries -> text, driven by a `BibFormat`.

`add` (survey.bib's own layout), `enrich --write` (fields in the layout of the entry they
join) and the `bibtex`/`biblatex` exports all write through here; only the format object
differs. Writing never loses a value: braces BibTeX could not balance are rewritten or, as
a last resort, dropped, and the caller is told which fields lost them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from surveybib.bibtex.dates import MONTH_MACROS, month_number
from surveybib.bibtex.names import NAME_FIELDS, bibtex_names
from surveybib.latex import brace_balanced, to_ascii_latex
from surveybib.model import Entry

# Fields read verbatim (the url package, biblatex's verbatim fields): never converted.
LINK_FIELDS = frozenset({"doi", "url", "eprint"})

# survey.bib's layout for new entries: standard fields in this order, then the rest as
# given, then the survey's own fields.
SURVEY_FIELD_ORDER = (
    "title", "subtitle", "author", "editor", "journal", "booktitle", "series", "chapter",
    "edition", "school", "institution", "organization", "publisher", "address", "howpublished",
    "type", "year", "month", "volume", "number", "pages", "articleno", "isbn", "issn", "doi",
    "url", "eprint", "archiveprefix", "primaryclass", "note",
)
SURVEY_FIELDS_LAST = ("venue", "taxonomy", "reader")


@dataclass(frozen=True, slots=True)
class BibFormat:
    """How entries are written: the layout, and what is done to the values."""

    indent: str = "  "
    before_eq: str = " "
    after_eq: str = " "
    align: bool = False  # pad field names so the `=` line up
    trailing_comma: bool = False  # a comma after the last field too
    field_order: tuple[str, ...] = ()  # these first, in this order; () keeps the given order
    fields_last: tuple[str, ...] = ()  # these after all others, in this order
    protect_case: bool = False  # brace the title words a style's case change would spoil
    ascii: bool = False  # non-ASCII as LaTeX accents, for classic 8-bit BibTeX
    month: Literal["as-is", "macro", "number"] = "as-is"
    clean_names: bool = False  # `et al.` -> `others`, stray commas dropped
    page_dashes: bool = False  # page ranges with `--`

    def for_encoding(self, encoding: str) -> BibFormat:
        """This format for a file in `encoding` (an 8-bit file gets LaTeX accents)."""
        return self if self.ascii or encoding == "utf-8" else replace(self, ascii=True)


SURVEY = BibFormat(align=True, trailing_comma=True, field_order=SURVEY_FIELD_ORDER,
                   fields_last=SURVEY_FIELDS_LAST)
BIBTEX = BibFormat(protect_case=True, ascii=True, month="macro", clean_names=True,
                   page_dashes=True)
BIBLATEX = BibFormat(protect_case=True, month="number", clean_names=True, page_dashes=True)


def format_entry(entry: Entry, fmt: BibFormat = SURVEY) -> str:
    """One entry as text (LF line ends, a final newline); survey.bib's layout by default."""
    return write_entry(entry.type, entry.key, entry.fields, fmt)[0]


def write_entry(etype: str, key: str, fields: Iterable[tuple[str, str]], fmt: BibFormat
                ) -> tuple[str, tuple[str, ...]]:
    """`@type{key, ...}` in the format; empty fields are left out. Returns the text and the
    names of the fields whose braces BibTeX could not balance (written without them)."""
    dropped: list[str] = []
    written: list[tuple[str, str]] = []
    for name, value in _ordered(fields, fmt):
        text, ok = _value(name, value, fmt)
        if not text:
            continue
        if not ok:
            dropped.append(name)
        written.append((name, text))
    width = max((len(name) for name, _ in written), default=0) + len(fmt.before_eq) \
        if fmt.align else 0
    lines = [f"@{etype}{{{key},"]
    lines += [f"{fmt.indent}{_field(name, text, fmt, width)}," for name, text in written]
    if written and not fmt.trailing_comma:
        lines[-1] = lines[-1][:-1]
    lines.append("}")
    return "\n".join(lines) + "\n", tuple(dropped)


def field_text(name: str, value: str, fmt: BibFormat, width: int = 0) -> str:
    """`name = {value}` as the format writes one field (`width`: the column of the `=`,
    names padded to it; 0: not aligned)."""
    return _field(name, _value(name, value, fmt)[0], fmt, width)


def value_text(name: str, value: str, fmt: BibFormat) -> str:
    """A field's value as the format writes it, with its delimiters (`{...}`)."""
    return _value(name, value, fmt)[0]


def _field(name: str, text: str, fmt: BibFormat, width: int) -> str:
    head = name + " " * max(1, width - len(name)) if width else name + fmt.before_eq
    return f"{head}={fmt.after_eq}{text}"


def _ordered(fields: Iterable[tuple[str, str]], fmt: BibFormat) -> list[tuple[str, str]]:
    items = list(fields)
    if not fmt.field_order and not fmt.fields_last:
        return items
    first = len(fmt.field_order)
    rank = {name: i for i, name in enumerate(fmt.field_order)}
    rank.update({name: first + len(items) + i for i, name in enumerate(fmt.fields_last)})
    order = sorted(range(len(items)), key=lambda i: (rank.get(items[i][0], first + i), i))
    return [items[i] for i in order]


def _value(name: str, value: str, fmt: BibFormat) -> tuple[str, bool]:
    """A field value with its delimiters (`{...}`, or a bare month macro), and whether its
    braces survived; "" for an empty value."""
    value = " ".join(value.split())
    if not value:
        return "", True
    if name in LINK_FIELDS:
        return "{" + _link(value) + "}", True
    if name == "month" and fmt.month != "as-is":
        number = month_number(value)
        if number and fmt.month == "macro":
            return MONTH_MACROS[number - 1], True
        if number:
            value = str(number)
    elif name in NAME_FIELDS and fmt.clean_names:
        value = bibtex_names(value)
    elif name == "title" and fmt.protect_case:
        value = protect_case(value)
    elif name == "pages" and fmt.page_dashes:
        value = dash_pages(value)
    if fmt.ascii:
        value = to_ascii_latex(value)
    balanced, ok = balance_braces(value)
    return "{" + balanced + "}", ok


# ---------------------------------------------------------------- braces


def balance_braces(value: str) -> tuple[str, bool]:
    """A value BibTeX can read: escaped braces that unbalance it (metadata escapes a lone
    `{` as `\\{`, and BibTeX counts it) become \\textbraceleft{}/\\textbraceright{}; if it
    is still unbalanced its braces go. Returns the value and False when braces went."""
    if brace_balanced(value):
        return value, True
    fixed = value.replace("\\{", "\\textbraceleft{}").replace("\\}", "\\textbraceright{}")
    if brace_balanced(fixed):
        return fixed, True
    return value.replace("{", "").replace("}", ""), False


def _link(value: str) -> str:
    """A DOI or URL kept as typed; only braces that would unbalance it are percent-encoded."""
    if brace_balanced(value):
        return value
    return value.replace("{", "%7B").replace("}", "%7D")


# ---------------------------------------------------------------- pages


_RANGE = re.compile(r"^([^\s\-–—]+)\s*(?:-{1,3}|–|—|\\textendash(?:\{\})?|\\textemdash(?:\{\})?)"
                    r"\s*([^\s\-–—]+)$")


def page_range(value: str) -> tuple[tuple[str, str], ...]:
    """`12-34, 40` -> (('12', '34'), ('40', '')): each part's first and last page."""
    parts = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        match = _RANGE.match(part)
        parts.append((match.group(1), match.group(2)) if match else (part, ""))
    return tuple(parts)


def dash_pages(value: str, dash: str = "--") -> str:
    """Page ranges written with one dash style (`--` for BibTeX, `-` for CSL)."""
    return ", ".join(f"{a}{dash}{b}" if b else a for a, b in page_range(value))


# ---------------------------------------------------------------- case protection


_WORD_RUN = re.compile(r"[^\W_]+")


def _protect_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if not any(c.isupper() for c in run[1:]) and not (
        run[0].isupper() and any(c.isdigit() for c in run)
    ):
        return run
    stem = run[:-1]
    if run.endswith("s") and len(stem) >= 2 and stem.isupper():
        return "{" + stem + "}s"  # a plural acronym: {GPU}s, {LLM}s
    return "{" + run + "}"


@lru_cache(maxsize=1 << 14)
def protect_case(title: str) -> str:
    """Brace the words of a title that a style's case change would spoil: those with
    capitals after their first letter (`{LLM}`, `{GPU}s`, `{SpecInfer}`), letters
    mixed with digits (`{A100}`) and math with capitals (`{$O(n)$}`). A word that
    already has braces or a LaTeX command is left exactly as the user wrote it."""
    if "{" not in title and "\\" not in title and "$" not in title:
        return " ".join(_WORD_RUN.sub(_protect_run, w) for w in title.split(" "))
    return " ".join(_protect_word(w) for w in _top_level_words(title))


_MATH_SPAN = re.compile(r"\$[^$]*\$")


def _protect_word(word: str) -> str:
    if "{" in word:
        return word
    if "$" in word:
        if word.count("$") % 2:
            return word
        return _MATH_SPAN.sub(
            lambda m: "{" + m.group(0) + "}" if re.search("[A-Z]", m.group(0)) else m.group(0),
            word)
    if "\\" in word:
        return word
    return _WORD_RUN.sub(_protect_run, word)


def _top_level_words(text: str) -> list[str]:
    """Split on spaces outside braces and outside `$...$` math."""
    words: list[str] = []
    depth = 0
    math = False
    start = 0
    for i, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif char == "$" and (i == 0 or text[i - 1] != "\\"):
            math = not math
        elif char == " " and depth == 0 and not math:
            words.append(text[start:i])
            start = i + 1
    words.append(text[start:])
    return [w for w in words if w]
