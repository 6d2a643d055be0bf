"""Entry keys: generate one for a new paper (`miao2024specinfer`), check one given by hand."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from surveybib.text import STOP_WORDS, ascii_word


def make_key(family: str, year: str, title: str, taken: Iterable[str]) -> str:
    """`miao2024specinfer`: first author's family name, year, first significant title
    word, ASCII-folded and lower-case (each part at most 20 characters, so a hostile
    title cannot make a key no file system takes for its note); `a`, `b`, ... appended
    on collision."""
    words = (_part(w) for w in re.split(r"[\s\-/:]+", title[:1000]))
    word = next((w for w in words if w and w not in STOP_WORDS), "")
    last = romanized(family.split()[-1][:100] if family.split() else "")
    base = f"{_part(last) or 'anon'}{_part(year)}{word}"
    used = {k.lower() for k in taken}
    if base not in used:
        return base
    for suffix in "abcdefghijklmnopqrstuvwxyz":
        if base + suffix not in used:
            return base + suffix
    n = 2
    while f"{base}{n}" in used:
        n += 1
    return f"{base}{n}"


def _part(text: str) -> str:
    return ascii_word(text[:100])[:20]


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")


def romanized(name: str) -> str:
    """A name written in Chinese characters in pinyin without tones, syllables joined
    (王 -> wang, 欧阳 -> ouyang), as Better BibTeX transliterates them for keys; any
    other name as it is."""
    if not _HAN.search(name):
        return name
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name, errors="default"))


KEY_RE = re.compile(r"^[^\s,{}()=\"#%'~\\]+$")


# Characters that end or break a key for BibTeX or biber (or, `%`, for TeX in \cite).
_KEY_BREAKERS = {",": "a comma", "{": "a brace", "}": "a brace", "(": "a parenthesis",
                 ")": "a parenthesis", "=": "an equals sign", '"': "a double quote",
                 "#": "a #", "%": "a % (TeX reads the rest of the line as a comment)",
                 "\\": "a backslash"}


def valid_key(key: str) -> bool:
    """Whether BibTeX (and bibtexparser) accept KEY as an entry key."""
    return bool(KEY_RE.match(key)) and len(key) <= 200


def key_problem(key: str) -> str | None:
    """Why BibTeX or biber cannot read KEY as an entry key, or None when they can."""
    if not key:
        return "the entry has no key"
    for char in key:
        if char.isspace():
            what = {" ": "a space", "\t": "a tab", "\n": "a line break"}.get(
                char, f"a space character (U+{ord(char):04X})")
            return f"the key contains {what}"
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            return f"the key contains an invisible or control character (U+{ord(char):04X})"
        if char in _KEY_BREAKERS:
            return f"the key contains {_KEY_BREAKERS[char]}"
    return None
