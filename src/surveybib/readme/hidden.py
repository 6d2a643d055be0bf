"""Characters that must never reach README.md: NUL (git then treats the file as binary)
and the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make
text read differently from what it is. They are dropped, and each is reported."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from surveybib.model import Entry, Problem
from surveybib.rules import Rule

HIDDEN = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")
# ... together with the private-use characters the renderer marks headings and links with.
HIDDEN_OR_PRIVATE = re.compile("[\x00\u202a-\u202e\u2066-\u2069\ue000-\ue004]")


def describe(text: str) -> str | None:
    """`U+202E RIGHT-TO-LEFT OVERRIDE, U+0000 NUL` for the hidden characters in text."""
    found = sorted(set(HIDDEN.findall(text)))
    if not found:
        return None
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'NUL')}" for c in found)


def entry_problems(entries: Iterable[Entry], bib_text: str) -> list[Problem]:
    """A warning for each entry whose fields (or key) hold hidden characters."""
    if not HIDDEN.search(bib_text):
        return []  # the usual case, answered by one scan of the file
    problems = []
    for entry in entries:
        fields = [("key", entry.key), *entry.fields]
        named = [(name, what) for name, value in fields if (what := describe(value))]
        for name, what in named:
            problems.append(Rule.HIDDEN_CHARACTER.about(
                entry, f"{name} holds {what}; dropped from the README", "render"))
    return problems


def text_problem(path: str, key: str | None, text: str) -> Problem | None:
    """A warning for a note or INTRO.md that holds hidden characters."""
    what = describe(text)
    if what is None:
        return None
    return Rule.HIDDEN_CHARACTER.at(path, None, key, f"holds {what}; dropped from the README",
                                    "render")
