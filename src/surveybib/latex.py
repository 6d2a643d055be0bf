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
from collections.abc import Iterable
from functools import lru_cache

from surveybib.model import Entry, Problem
from surveybib.rules import Rule

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
    "textbraceleft": "{",
    "textbraceright": "}",
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


# Commands whose argument is the text itself: the command goes, the argument stays.
_FORMATTING = frozenset({
    "emph", "textit", "textbf", "texttt", "textsc", "textsf", "textrm", "textup", "textmd",
    "textsl", "textnormal", "textsuperscript", "textsubscript", "mbox", "hbox", "text", "url",
    "path", "uppercase", "lowercase", "MakeUppercase", "MakeLowercase", "MakeTextUppercase",
    "MakeTextLowercase", "ensuremath", "mathrm", "mathit", "mathbf", "mathsf", "mathtt",
    "boldsymbol", "bm", "operatorname", "underline", "it", "bf", "em", "tt", "rm", "sf", "sc",
    "sl", "up", "md", "normalfont", "itshape", "bfseries", "mdseries", "upshape", "scshape",
    "slshape", "rmfamily", "sffamily", "ttfamily", "tiny", "scriptsize", "footnotesize",
    "small", "normalsize", "large", "Large", "LARGE", "huge", "Huge", "relax", "protect",
    "allowbreak", "nobreak", "linebreak", "hfill", "hfil", "unskip", "ignorespaces", "xspace",
    "noindent",
})
# Commands whose (first) argument is not text (a sort key, a label, the URL of
# \href{URL}{text}): both go, and a second argument stays as text.
_DROP_ARGUMENT = frozenset({"noopsort", "nocite", "label", "index", "hspace", "vspace",
                            "hskip", "vskip", "kern", "SortNoop", "sortnoop", "href"})
_DROP_ARGUMENT_RE = re.compile(r"\\(" + "|".join(sorted(_DROP_ARGUMENT)) + r")\s*\{[^{}]*\}")


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
    if name in _FORMATTING:
        return ""  # \emph, \textit ...: keep the argument only
    return " "  # an unknown command: dropped, but never glues the words around it


# An unknown command with several arguments (\foo{a}{b}): each argument keeps its words,
# which brace removal alone would glue ("ab").
_ARGUMENTS_RE = re.compile(r"\\([A-Za-z]+)((?:\s*\{[^{}]*\}){2,})")
_ARGUMENT_RE = re.compile(r"\{([^{}]*)\}")


def _arguments(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _SYMBOLS or name in _FORMATTING:
        return match.group(0)
    return " " + " ".join(_ARGUMENT_RE.findall(match.group(2))) + " "


def unknown_commands(value: str, *, math: bool = True) -> tuple[str, ...]:
    """The LaTeX commands in a value that no conversion knows (each reported once); those
    in $math$ too unless `math` is False (the README leaves math to GitHub)."""
    if "\\" not in value:
        return ()
    found: dict[str, None] = {}
    last = 0
    for part in _MATH_RE.finditer(value):
        found.update(dict.fromkeys(_unknown_in_text(value[last:part.start()])))
        if math:
            found.update(dict.fromkeys(_unknown_in_math(part.group(0)[1:-1])))
        last = part.end()
    found.update(dict.fromkeys(_unknown_in_text(value[last:])))
    return tuple(found)


# The fields a reader sees, in the README or a formatted reference.
SHOWN_FIELDS = ("title", "author", "editor", "booktitle", "journal", "journaltitle", "venue",
                "series", "publisher", "school", "institution", "organization", "howpublished",
                "address", "note")


def latex_problems(entries: Iterable[Entry], *, math: bool = True,
                   fields: Iterable[str] = SHOWN_FIELDS) -> list[Problem]:
    """A warning per entry and field that holds a LaTeX command no conversion knows (it is
    dropped from what readers see, leaving a space): `unknown_commands` as Problems."""
    order = {name: i for i, name in enumerate(fields)}
    out: list[Problem] = []
    for entry in entries:
        shown: dict[str, str] = {}
        for name, value in entry.fields:  # one pass over the fields
            if name in order:
                shown.setdefault(name, value)  # the first, as Entry.get reads it
        with_commands = [name for name, value in shown.items() if "\\" in value]
        for name in sorted(with_commands, key=order.__getitem__):
            unknown = unknown_commands(shown[name], math=math)
            if unknown:
                out.append(Rule.LATEX_COMMAND.about(
                    entry, f"{name}: unknown LaTeX command{'s' * (len(unknown) > 1)} "
                    f"{', '.join(unknown)} left out of what readers see", "latex"))
    return out


def _unknown_in_text(text: str) -> list[str]:
    text = _ACCENT_RE.sub("", text)
    return [f"\\{name}" for name in _COMMAND_RE.findall(text)
            if name not in _SYMBOLS and name not in _FORMATTING and name not in _DROP_ARGUMENT
            and name not in _LITERAL]


def _unknown_in_math(text: str) -> list[str]:
    return [f"\\{name}" for name in _COMMAND_RE.findall(text)
            if name not in _MATH_SYMBOLS and name not in _MATH_ALPHABETS
            and name not in _FORMATTING and name not in _SYMBOLS]


_COMMAND_RE = re.compile(r"\\([A-Za-z]+)")


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
    if "\\" in text:
        text = _DROP_ARGUMENT_RE.sub("", text)
    for _ in range(3):  # stacked accents, innermost first
        text, count = _ACCENT_RE.subn(_accent, text)
        if not count:
            break
    text = _ESCAPE_RE.sub(_escape, text)
    if "}{" in text or "} {" in text:
        text = _ARGUMENTS_RE.sub(_arguments, text)
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
    """A BibTeX field value -> display text for the README (whitespace collapsed, $math$
    kept for GitHub to render)."""
    return _converted(value, keep_math=True)


@lru_cache(maxsize=1 << 16)
def to_text(value: str) -> str:
    """A BibTeX field value -> plain Unicode text with no TeX left, math included (`$O(n^2)$`
    -> `O(n²)`): what the formatted exports, CSL-JSON and RIS carry. Unknown commands are
    dropped with a space kept (unknown_commands names them)."""
    return _converted(value, keep_math=False)


def _converted(value: str, *, keep_math: bool) -> str:
    if not _NEEDS_CONVERSION.search(value) and "$" not in value:
        return " ".join(value.split())
    pieces: list[str] = []
    last = 0
    for math in _MATH_RE.finditer(value):
        pieces.append(_text_to_unicode(value[last : math.start()]))
        pieces.append(math.group(0) if keep_math else math_to_unicode(math.group(0)[1:-1]))
        last = math.end()
    pieces.append(_text_to_unicode(value[last:]))
    return " ".join("".join(pieces).replace("\u00a0", " ").split())


_MATH_SYMBOLS = {
    **{name: chr(code) for name, code in (
        ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4),
        ("epsilon", 0x3F5), ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7),
        ("theta", 0x3B8), ("vartheta", 0x3D1), ("iota", 0x3B9), ("kappa", 0x3BA),
        ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE), ("pi", 0x3C0),
        ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3D5),
        ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9),
        ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B),
        ("Xi", 0x39E), ("Pi", 0x3A0), ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8),
        ("Omega", 0x3A9))},
    "times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "leq": "≤", "le": "≤",
    "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼", "simeq": "≃",
    "equiv": "≡", "propto": "∝", "infty": "∞", "partial": "∂", "nabla": "∇", "sum": "∑",
    "prod": "∏", "int": "∫", "sqrt": "√", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "mapsto": "↦", "in": "∈",
    "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "emptyset": "∅",
    "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨", "oplus": "⊕",
    "otimes": "⊗", "circ": "∘", "star": "⋆", "ast": "∗", "ell": "ℓ", "hbar": "ℏ",
    "ldots": "…", "cdots": "⋯", "dots": "…", "langle": "⟨", "rangle": "⟩", "mid": "|",
    "vert": "|", "lvert": "|", "rvert": "|", "Vert": "‖", "|": "‖", "prime": "′",
    "log": "log", "ln": "ln", "exp": "exp", "min": "min", "max": "max", "arg": "arg",
    "lim": "lim", "sin": "sin", "cos": "cos", "tan": "tan", "det": "det", "top": "⊤",
    "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "", "quad": " ",
    "qquad": " ", "colon": ":", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
}
_MATH_ALPHABETS = {"mathcal": "SCRIPT", "mathscr": "SCRIPT", "mathbb": "DOUBLE-STRUCK",
                   "mathfrak": "FRAKTUR"}
_ALPHABET_RE = re.compile(r"\\(mathcal|mathscr|mathbb|mathfrak)\s*(?:\{([^{}]*)\}|([A-Za-z]))")
_SUPER = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUB = str.maketrans("0123456789+-=()aeoxijk", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓᵢⱼₖ")
_SCRIPT_RE = re.compile(r"([\^_])\s*(?:\{([^{}]*)\}|(\\?[A-Za-z0-9+\-]))")
_MATH_COMMAND_RE = re.compile(r"\\([A-Za-z]+|[,;:!| ])\s*")


def math_to_unicode(math: str) -> str:
    """The inside of $...$ as plain text: letters from math alphabets, symbols, ^2 and
    _i as super- and subscripts where Unicode has them; unknown commands dropped."""
    text = _ALPHABET_RE.sub(_alphabet, math)
    text = _MATH_COMMAND_RE.sub(_math_command, text)
    text = _SCRIPT_RE.sub(_script, text)
    return text.replace("{", "").replace("}", "")


def _alphabet(match: re.Match[str]) -> str:
    style = _MATH_ALPHABETS[match.group(1)]
    return "".join(_styled(style, char) for char in (match.group(2) or match.group(3)))


def _styled(style: str, char: str) -> str:
    if not char.isascii() or not char.isalpha():
        return char
    case = "CAPITAL" if char.isupper() else "SMALL"
    for name in (f"MATHEMATICAL {style} {case} {char.upper()}", f"{style} {case} {char.upper()}"):
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    return char


def _math_command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in ",;: ":
        return " "
    if name in "!|":
        return "" if name == "!" else "‖"
    if name in _MATH_SYMBOLS:
        symbol = _MATH_SYMBOLS[name]
        return f"{symbol} " if symbol.isalpha() and len(symbol) > 1 else symbol
    if name in _FORMATTING or name in _SYMBOLS:
        return _SYMBOLS.get(name, "")
    return " "  # unknown: dropped, with a word boundary


def _script(match: re.Match[str]) -> str:
    body = match.group(2) if match.group(2) is not None else match.group(3)
    table = _SUPER if match.group(1) == "^" else _SUB
    mapped = body.translate(table)
    if all(ch != orig or ch in " " for ch, orig in zip(mapped, body, strict=True)):
        return mapped
    return ("^" if match.group(1) == "^" else "_") + (f"({body})" if len(body) > 1 else body)


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
    """Plain Unicode text (e.g. from Crossref) -> a BibTeX-safe field value. BibTeX counts
    every brace, escaped or not, so braces that do not pair up are written as
    \\textbraceleft{} and \\textbraceright{}: `7}, note = {x` can never close the value."""
    specials = _LATEX_SPECIALS if brace_balanced(text) else _UNPAIRED_SPECIALS
    return _SPECIALS_RE.sub(lambda m: specials[m.group(0)], text)


_UNPAIRED_SPECIALS = {**_LATEX_SPECIALS, "{": r"\textbraceleft{}", "}": r"\textbraceright{}"}


def brace_balanced(value: str) -> bool:
    """True when BibTeX, which counts every brace (escaped or not), sees them matched."""
    if "{" not in value and "}" not in value:
        return True
    depth = 0
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


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
