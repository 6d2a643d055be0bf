"""Frozen records shared by every stage: entries, people, notes and problems (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning"]

# What must never reach a terminal or a CI log raw from a value: control characters (a
# newline would start a `::error::` workflow command, ESC an escape sequence), line and
# paragraph separators, and bidirectional overrides that reorder what is shown.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c"
                          "\u202a-\u202e\u2066-\u2069]")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def without_comments(text: str) -> str:
    """`re.sub(r"<!--.*?-->", "", text, flags=re.S)` in one pass: the regular expression
    searched the rest of the text from every `<!--` that never closes (quadratic)."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break  # no comment can close any more
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def printable(text: str) -> str:
    """Text safe to print as one line: those characters written as escapes (`\\n`,
    `\\x1b`, `\\u202e`), everything else as it is."""
    if text.isprintable():
        return text
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def json_safe(text: str) -> str:
    """JSON text (from json.dumps, which escapes the rest) with DEL, C1 controls,
    separators and bidirectional overrides as `\\uXXXX` escapes: the same JSON value."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about one entry, note or file: reported, never raised."""

    path: str
    line: int | None
    key: str | None
    message: str
    stage: str = "parse"
    level: Level = "error"
    rule: str = ""

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        who = f" {self.key}:" if self.key else ""
        prefix = "warning: " if self.level == "warning" else ""
        return printable(f"{where}:{who} {prefix}{_one_line(self.message)}")


def _one_line(text: str) -> str:
    """A finding is one line: a value that spans lines in survey.bib is shown on one."""
    if "\n" not in text and "\r" not in text:
        return text
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


# The agencies records come from, as the user reads their names.
SOURCE_NAMES = {"crossref": "Crossref", "datacite": "DataCite"}
NOT_FOUND = "not found at Crossref or DataCite"


@dataclass(frozen=True, slots=True)
class Work:
    """A record fetched for a DOI: Crossref's `message` or DataCite's `data.attributes`
    (trimmed of what nothing reads once it is in the metadata store)."""

    doi: str
    source: str  # "crossref" | "datacite"
    record: Mapping[str, Any]

    @property
    def source_name(self) -> str:
        """`Crossref`, `DataCite`."""
        return SOURCE_NAMES.get(self.source, self.source)


@dataclass(frozen=True, slots=True)
class Person:
    """One name of an author/editor list, in BibTeX's parts (LaTeX kept as written)."""

    family: str = ""
    given: str = ""
    von: str = ""
    jr: str = ""
    literal: str = ""  # an organisation: one name, never split

    @property
    def is_literal(self) -> bool:
        return bool(self.literal)


@dataclass(frozen=True, slots=True)
class Entry:
    """One BibTeX entry. Field names are lower-case; values are BibTeX field values
    (LaTeX markup kept, outer braces/quotes removed, @string macros resolved)."""

    key: str
    type: str
    fields: tuple[tuple[str, str], ...]
    path: str = "survey.bib"
    line: int = 0
    filled: tuple[str, ...] = ()  # names of fields filled from the metadata store

    def get(self, name: str, default: str = "") -> str:
        for k, v in self.fields:
            if k == name:
                return v
        return default

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self.fields)

    def as_dict(self) -> dict[str, str]:
        return dict(self.fields)


@dataclass(frozen=True, slots=True)
class Note:
    """A reading note, notes/<safe key>.md."""

    key: str
    path: str
    body: str

    @property
    def is_empty(self) -> bool:
        """Nothing written yet: only the template's comment (or nothing at all)."""
        return not without_comments(self.body).strip()


@dataclass(frozen=True, slots=True)
class ParsedBib:
    """survey.bib after parsing: the entries in file order, and what went wrong."""

    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...] = ()
    strings: tuple[tuple[str, str], ...] = field(default=())
    newline: str = "\n"
