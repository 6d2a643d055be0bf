"""Text folded for comparison: one normaliser for titles and names, one list of stop words.

The match guard (a search result is the entry's paper), `check`'s near-duplicate titles,
the metadata conflicts and key generation all fold text here, so they agree on when two
titles are the same.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from surveybib.latex import to_unicode

# Words that say nothing about which paper a title names.
STOP_WORDS = frozenset((
    "a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "via", "from", "towards",
    "toward", "is", "are", "at", "by", "as", "its",
))
_TAG_RE = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")  # tags only: "x < y" is text
_SPACE_RE = re.compile(r"\s+")
_PLAIN_RE = re.compile(r"[<&\s]")
# Control characters and bidirectional overrides in an API's text: never data, and an
# escape sequence in a title would reach the terminal of whoever prints it.
CONTROL_CHARS = "\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"  # a [...] class
CONTROL_RE = re.compile(f"[{CONTROL_CHARS}]")


def plain_text(value: str) -> str:
    """Strip inline markup (HTML, JATS, MathML) and control characters, decode entities,
    collapse whitespace."""
    if not value.isprintable():
        value = CONTROL_RE.sub("", value)
    if not _PLAIN_RE.search(value.replace(" ", "")) and "  " not in value:
        return value.strip()  # the common case: nothing to strip
    text = _TAG_RE.sub("", value) if "<" in value else value
    if "&" in text:
        # Twice: some deposits double-encode (`&amp;amp;`); a literal `&amp;` in a title is rarer.
        text = CONTROL_RE.sub("", html.unescape(html.unescape(text)))
    return _SPACE_RE.sub(" ", text).strip()


@lru_cache(maxsize=1 << 14)
def fold(text: str) -> str:
    """Accents removed, case folded, everything but letters and digits made a space."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split())


@lru_cache(maxsize=1 << 14)
def normalize_title(value: str) -> str:
    """A title (BibTeX value or API text) with LaTeX and markup removed, and accents, case
    and punctuation folded: `{LLM}s: \\'Ecole` -> `llms ecole`."""
    return fold(plain_text(to_unicode(value)))


def title_words(value: str) -> tuple[str, ...]:
    """A normalised title's words without the stop words."""
    return tuple(w for w in normalize_title(value).split() if w not in STOP_WORDS)


# Letters that Unicode does not decompose into an ASCII letter and a mark ("Øster" would
# lose its first letter): their usual ASCII spelling.
_ASCII_LETTERS = str.maketrans({
    "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ß": "ss", "ẞ": "SS",
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th",
    "ı": "i", "ȷ": "j", "Ħ": "H", "ħ": "h", "Ŋ": "N", "ŋ": "n", "Ŧ": "T", "ŧ": "t",
    "ſ": "s", "ĸ": "k", "Ŀ": "L", "ŀ": "l",
})


def ascii_word(text: str) -> str:
    """Letters and digits only, ASCII, lower-case (for keys: `Müller` -> `muller`,
    `Øster` -> `oster`)."""
    return re.sub(r"[^a-z0-9]", "", fold(text.translate(_ASCII_LETTERS)))


def closest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice a mistyped NAME most likely meant (for "did you mean ...?"), or None."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None
