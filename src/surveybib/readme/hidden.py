"""Characters that must never reach README.md: NUL (git then treats the file as binary),
the other control characters (an escape sequence such as `ESC ] 0;... BEL` acts on the
terminal of whoever prints the file) and the bidirectional overrides and isolates
(U+202A-U+202E, U+2066-U+2069), which make text read differently from what it is. They
are dropped, and each is reported. Tab, line feed, form feed and carriage return are text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from surveybib.model import Entry, Problem
from surveybib.rules import Rule
from surveybib.text import CONTROL_CHARS, CONTROL_RE

HIDDEN = CONTROL_RE
# ... together with the private-use characters the renderer marks headings and links with.
HIDDEN_OR_PRIVATE = re.compile(f"[{CONTROL_CHARS}\ue000-\ue004]")
# Unicode gives control characters no name, only aliases; these are the common ones.
_CONTROL_NAMES = {0x00: "NUL", 0x07: "ALERT", 0x08: "BACKSPACE", 0x1B: "ESCAPE",
                  0x7F: "DELETE", 0x9B: "CONTROL SEQUENCE INTRODUCER"}


def describe(text: str) -> str | None:
    """`U+202E RIGHT-TO-LEFT OVERRIDE, U+0000 NUL` for the hidden characters in text."""
    found = sorted(set(HIDDEN.findall(text)))
    if not found:
        return None
    return ", ".join(f"U+{ord(c):04X} {_name(c)}" for c in found)


def _name(char: str) -> str:
    return unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "control character")


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
