"""Entry keys: generate one for a new paper (`miao2024specinfer`), check one given by hand."""

from __future__ import annotations

import re
from collections.abc import Iterable

from surveybib.text import STOP_WORDS, ascii_word


def make_key(family: str, year: str, title: str, taken: Iterable[str]) -> str:
    """`miao2024specinfer`: first author's family name, year, first significant title
    word, ASCII-folded and lower-case; `a`, `b`, ... appended on collision."""
    words = [ascii_word(w) for w in re.split(r"[\s\-/:]+", title)]
    word = next((w for w in words if w and w not in STOP_WORDS), "")
    last = romanized(family.split()[-1] if family.split() else "")
    base = f"{ascii_word(last) or 'anon'}{ascii_word(year)}{word}"
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


def valid_key(key: str) -> bool:
    """Whether BibTeX (and bibtexparser) accept KEY as an entry key."""
    return bool(KEY_RE.match(key)) and len(key) <= 200
