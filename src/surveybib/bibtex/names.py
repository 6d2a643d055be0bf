"""BibTeX name lists: split an author/editor field into names, and a name into its parts.

One splitter serves everything that reads a name list (the README, the match guard, key
generation, every export), so they never disagree about who the authors are.
"""

from __future__ import annotations

import re

from surveybib.model import Person

NAME_FIELDS = frozenset({"author", "editor", "translator", "bookauthor"})


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
    return tuple(parse_name(name) for name in split_names(value))


_AND = re.compile(r"(?<!\s)\s+and\s+", re.I)


def split_names(value: str) -> list[str]:
    """An author/editor field -> its names as written (split on top-level `and`)."""
    if "{" not in value:
        return [n.strip() for n in _AND.split(value) if n.strip()]
    return [n.strip() for n in _split_top(" ".join(value.split()), " and ") if n.strip()]


_ET_AL = re.compile(r"^(?:et\.?\s*al\.?|others)$", re.I)


def bibtex_name_list(value: str) -> list[str]:
    """The names of an author list as BibTeX should read them: no trailing commas,
    `et al.` as `others`. An organisation written `{Name}` stays one braced name."""
    out = []
    for name in split_names(value):
        name = name.rstrip(",").strip()
        if name:
            out.append("others" if _ET_AL.match(name) else name)
    return out


def bibtex_names(value: str) -> str:
    """An author list rewritten by bibtex_name_list, `and`-joined."""
    return " and ".join(bibtex_name_list(value))


def first_family(value: str) -> str:
    """The family name of the first person of a name list (or an organisation's name)."""
    people = parse_names(value)
    if not people:
        return ""
    return people[0].family or people[0].literal
