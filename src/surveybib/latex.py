"""LaTeX <-> Unicode for the fields people see and the fields we export.

`to_unicode` turns BibTeX field values (``{\\"u}``, ``\\c{c}``, ``\\&``, ``--``,
case-protecting braces) into display text; ``$...$`` math is left for GitHub
to render. It is cached, and only ever called on the few fields a page shows,
because converting every field of every entry is what makes bibtexparser's own
LaTeX middleware 20-40 times slower than its parse.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Accent commands -> combining characters (applied to the following letter).
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}

# Letter-like commands that stand for one character.
_SYMBOLS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "dh": "ð",
    "DH": "Ð",
    "th": "þ",
    "TH": "Þ",
    "ng": "ŋ",
    "NG": "Ŋ",
    "textendash": "–",
    "textemdash": "—",
    "textquoteleft": "‘",
    "textquoteright": "’",
    "textquotedblleft": "“",
    "textquotedblright": "”",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "textbackslash": "\\",
    "textbar": "|",
    "textless": "<",
    "textgreater": ">",
    "textunderscore": "_",
    "textregistered": "®",
    "texttrademark": "™",
    "textcopyright": "©",
    "textdegree": "°",
    "textbullet": "•",
    "dag": "†",
    "ddag": "‡",
    "S": "§",
    "P": "¶",
    "copyright": "©",
    "pounds": "£",
    "euro": "€",
    "ldots": "…",
    "dots": "…",
    "textellipsis": "…",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "BibTeX": "BibTeX",
    "LaTeXe": "LaTeX2e",
    "slash": "/",
    "newline": " ",
    "par": " ",
    "quad": " ",
    "qquad": " ",
}

# Characters escaped with a backslash in BibTeX values.
_ESCAPED = set("&%$#_{}")

# The accented letter may carry an accent already (Vietnamese Nguy{\~{\^e}}n: the inner
# accent is converted first, then the outer one goes on the accented letter).
_ACCENT_RE = re.compile(
    r"""\\(["'`^~=.]|[uvHckrdb](?![A-Za-z]))\s*(?:\{\s*(\\?[^\W\d_])\s*\}|(\\?[^\W\d_]))"""
)
_SYMBOL_RE = re.compile(r"\\([A-Za-z]+)(?:\{\}|\s)?")
_ESCAPE_RE = re.compile(r"\\([&%$#_{}\\ ,;:!/@-])")
_MATH_RE = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])+(?<!\\)\$")


def _accent(match: re.Match[str]) -> str:
    mark = _ACCENTS[match.group(1)]
    letter = match.group(2) or match.group(3)
    if letter.startswith("\\"):
        letter = _SYMBOLS.get(letter[1:], letter[1:])
        letter = {"ı": "i", "ȷ": "j"}.get(letter, letter)
    return unicodedata.normalize("NFC", letter + mark)


# Commands for characters that would otherwise mean something (`~`, braces): kept as text.
# \textbraceleft{} and \textbraceright{} are how surveybib writes a brace BibTeX could
# not balance (bibtex/write.py).
_LITERAL = {"textasciitilde": "\x00~", "textbraceleft": "\x00{", "textbraceright": "\x00}"}


def _symbol(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _LITERAL:
        return _LITERAL[name]  # marked: a literal character, not a no-break space or a group
    if name in _SYMBOLS:
        return _SYMBOLS[name]
    return ""  # a formatting command (\emph, \textit, \url ...): keep its argument only


def _escape(match: re.Match[str]) -> str:
    char = match.group(1)
    if char in "&%$#_{}":
        return "\x00" + char  # protected from brace removal, unmarked below
    if char == "\\":
        return " "  # a forced line break
    if char == "-":
        return ""  # a discretionary hyphen
    return " " if char in " ,;:!" else char


# `\~{}` is a tilde on nothing: a literal "~" (common in old URLs and paths).
_LITERAL_TILDE_RE = re.compile(r"\\~\{\}")
# A "~" or brace marked with \x00 came from `\{`, `\}` or `\textasciitilde`: keep it.
_UNMARKED_TILDE_RE = re.compile("(?<!\x00)~")
_UNMARKED_BRACE_RE = re.compile("(?<!\x00)[{}]")


def _text_to_unicode(text: str) -> str:
    if "\\~{}" in text:
        text = _LITERAL_TILDE_RE.sub("\x00~", text)
    for _ in range(3):  # stacked accents, innermost first
        text, count = _ACCENT_RE.subn(_accent, text)
        if not count:
            break
    text = _ESCAPE_RE.sub(_escape, text)
    text = _SYMBOL_RE.sub(_symbol, text)
    text = text.replace("---", "—").replace("--", "–")
    text = text.replace("``", "“").replace("''", "”")
    if "\x00" not in text:
        return text.replace("~", "\u00a0").replace("{", "").replace("}", "")
    text = _UNMARKED_TILDE_RE.sub("\u00a0", text)
    text = _UNMARKED_BRACE_RE.sub("", text)
    return text.replace("\x00", "")


_NEEDS_CONVERSION = re.compile(r"[\\{}~`]|--|''")


@lru_cache(maxsize=1 << 16)
def to_unicode(value: str) -> str:
    """A BibTeX field value -> display text (whitespace collapsed, math kept)."""
    if not _NEEDS_CONVERSION.search(value):
        return " ".join(value.split())
    pieces: list[str] = []
    last = 0
    for math in _MATH_RE.finditer(value):
        pieces.append(_text_to_unicode(value[last : math.start()]))
        pieces.append(math.group(0))
        last = math.end()
    pieces.append(_text_to_unicode(value[last:]))
    return " ".join("".join(pieces).replace("\u00a0", " ").split())


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIALS_RE = re.compile(r"[\\{}&%$#_~^]")


def escape_latex(text: str) -> str:
    """Plain Unicode text (e.g. from Crossref) -> a BibTeX-safe field value."""
    return _SPECIALS_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], text)


_REVERSE_ACCENTS = {mark: cmd for cmd, mark in _ACCENTS.items()}
_REVERSE_SYMBOLS = {
    "ß": r"{\ss}",
    "ø": r"{\o}",
    "Ø": r"{\O}",
    "æ": r"{\ae}",
    "Æ": r"{\AE}",
    "œ": r"{\oe}",
    "Œ": r"{\OE}",
    "å": r"{\aa}",
    "Å": r"{\AA}",
    "ł": r"{\l}",
    "Ł": r"{\L}",
    "ı": r"{\i}",
    "–": "--",
    "—": "---",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "…": r"{\ldots}",
    "\u00a0": "~",
}


@lru_cache(maxsize=1 << 14)
def to_ascii_latex(value: str) -> str:
    """Non-ASCII letters -> LaTeX accents (`ü` -> `{\\"u}`), for classic 8-bit BibTeX.

    Characters with no LaTeX spelling (CJK, for instance) are kept as they are.
    """
    if value.isascii():
        return value
    out: list[str] = []
    for char in value:
        if char.isascii():
            out.append(char)
        elif char in _REVERSE_SYMBOLS:
            out.append(_REVERSE_SYMBOLS[char])
        else:
            out.append(_accented(char))
    return "".join(out)


def _accented(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if not base.isascii() or not marks or any(m not in _REVERSE_ACCENTS for m in marks):
        return char
    dotless = {"i": r"\i", "j": r"\j"}
    text = dotless.get(base, base) if marks[0] in "\u0301\u0300\u0302\u0308" else base
    for mark in marks:
        cmd = _REVERSE_ACCENTS[mark]
        text = f"\\{cmd}{{{text}}}" if cmd.isalpha() else f"\\{cmd}{text}"
    return "{" + text + "}"


_URL_ESCAPE_RE = re.compile(r"\\(?:textasciitilde|~)(?:\{\})?|\\([_%&#$~])")


@lru_cache(maxsize=1 << 12)
def url_from_latex(value: str) -> str:
    """A `url`/`doi` field value -> the address itself: only BibTeX's escapes undone
    (`\\_`, `\\%`, `\\~{}` ...) and braces dropped. A raw `~` stays a tilde, which
    `to_unicode` would turn into a space, and `\\~x` is not an accent here."""
    if "\\" not in value and "{" not in value:
        return value.strip()
    text = _URL_ESCAPE_RE.sub(lambda m: m.group(1) or "~", value)
    return text.replace("{", "").replace("}", "").strip()
