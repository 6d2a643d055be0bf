"""Frozen records shared by every stage: entries, people, notes and problems (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning"]

# What must never reach a terminal or a CI log raw from a value: control characters (a
# newline would start a `::error::` workflow command, ESC an escape sequence), line and
# paragraph separators, and bidirectional overrides that reorder what is shown.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c"
                          "\u202a-\u202e\u2066-\u2069]")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


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


@dataclass(frozen=True, slots=True)
class ParsedBib:
    """survey.bib after parsing: the entries in file order, and what went wrong."""

    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...] = ()
    strings: tuple[tuple[str, str], ...] = field(default=())
    newline: str = "\n"


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` (case-insensitive, whole words) at brace depth 0."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    low = text.lower()
    n = len(text)
    while i < n:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and low.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _words(text: str) -> list[str]:
    return [w for w in _split_top(" ".join(text.split()), " ") if w]


def _is_von(word: str) -> bool:
    """BibTeX's rule: a von part starts with a lower-case letter (outside braces)."""
    for ch in word:
        if ch == "{" or ch == "\\":
            return False
        if ch.isalpha():
            return ch.islower()
    return False


def parse_name(text: str) -> Person:
    """Parse one BibTeX name ('First von Last', 'von Last, First', 'von Last, Jr, First')."""
    text = " ".join(text.split()).strip().rstrip(",").strip()
    if text.startswith("{") and text.endswith("}") and _balanced_outer(text):
        return Person(literal=text[1:-1])
    parts = [p.strip() for p in _split_top(text, ",")]
    if len(parts) == 1:
        words = _words(parts[0])
        if not words:
            return Person()
        if len(words) == 1:
            return Person(family=words[0])
        first_von = next((i for i, w in enumerate(words[:-1]) if _is_von(w)), None)
        if first_von is None:
            return Person(family=words[-1], given=" ".join(words[:-1]))
        last_von = max(i for i, w in enumerate(words[:-1]) if _is_von(w))
        return Person(
            given=" ".join(words[:first_von]),
            von=" ".join(words[first_von : last_von + 1]),
            family=" ".join(words[last_von + 1 :]),
        )
    jr = parts[1] if len(parts) >= 3 else ""
    given = parts[-1] if len(parts) >= 2 else ""
    words = _words(parts[0])
    n_von = 0
    if len(words) > 1 and _is_von(words[0]):
        n_von = max(i for i, w in enumerate(words[:-1]) if _is_von(w)) + 1
    von = " ".join(words[:n_von])
    family = " ".join(words[n_von:])
    return Person(family=family, given=given, von=von, jr=jr)


def _balanced_outer(text: str) -> bool:
    """True when the first '{' closes at the very end (the whole name is braced)."""
    depth = 0
    for i, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return depth == 0


def parse_names(value: str) -> tuple[Person, ...]:
    """Split an author/editor field on top-level ' and ' into people."""
    if not value.strip():
        return ()
    return tuple(
        parse_name(part) for part in _split_top(" ".join(value.split()), " and ") if part.strip()
    )
