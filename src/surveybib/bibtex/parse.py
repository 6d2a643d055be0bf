"""survey.bib text -> entries + problems. The only importer of bibtexparser.

bibtexparser splits the file into blocks; we resolve values ourselves (its
string middleware neither joins ``#`` concatenations nor reports undefined
macros, which it keeps silently as text) and turn every failed block,
duplicate key and duplicate field into a Problem that names file and line.
"""

from __future__ import annotations

import codecs
import gc
import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from surveybib.bibtex.layout import SURVEYBIB, Layout
from surveybib.errors import BibFileError
from surveybib.limits import EXPANSION_PER_BYTE, MAX_VALUE
from surveybib.model import Entry, ParsedBib, Problem

MONTHS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "may": "May",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}

_CODING_RE = re.compile(
    rb"(?:-\*-.*?coding:\s*([-\w.]+)|%\s*!TeX\s+encoding\s*=\s*([-\w.]+))", re.I
)
_KEY_RE = re.compile(r"@\s*([^\s{(]+)\s*[{(]\s*([^,\s=}]*)")
# bibtexparser logs each failed block itself; we report them as Problems instead.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())
logging.getLogger("bibtexparser").propagate = False

_CODING_ALIASES = {"latin-9": "iso8859-15", "latin9": "iso8859-15", "latin-2": "iso8859-2"}


def decode_bib(data: bytes, path: str, encoding: str | None = None) -> str:
    """Bytes of a .bib file -> text: UTF-8 (with or without BOM), a declared
    `coding:` line, or the encoding the user named; otherwise a clear error."""
    if encoding:
        return _decode_with(data, path, encoding, f"--encoding {encoding}")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        declared = declared_coding(data)
        if declared:
            return _decode_with(data, path, declared, f"its coding line ({declared})")
        line = line_number(data, exc.start)
        bad, good = _utf8_lines(data)
        if good:  # UTF-8 text with a few foreign lines: no encoding reads it all right
            raise BibFileError(_mixed_message(data, path, bad, good)) from None
        raise BibFileError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); "
            "convert the file to UTF-8, or name its encoding with --encoding "
            "(e.g. --encoding latin-1 or --encoding gbk)"
        ) from None


def line_number(data: bytes, index: int) -> int:
    """The line of byte `index`, whatever the line ends (LF, CRLF, or CR alone)."""
    return (data.count(b"\n", 0, index) + data.count(b"\r", 0, index)
            - data.count(b"\r\n", 0, index) + 1)


def _utf8_lines(data: bytes) -> tuple[list[int], list[int]]:
    """(lines that are not UTF-8, non-ASCII lines that are) by number. A UTF-8 sequence
    never holds the byte 0x0a, so splitting the bytes on it is safe."""
    bad: list[int] = []
    good: list[int] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
        else:
            good.append(number)
    return bad, good


def _mixed_message(data: bytes, path: str, bad: list[int], good: list[int],
                   encoding: str = "") -> str:
    """What to do with a UTF-8 file that has a few lines in another encoding: name the
    lines (as they read in cp1252, the usual culprit) and never suggest --encoding, which
    would turn every UTF-8 line into mojibake."""
    lines = data.split(b"\n")
    sample = lines[good[0] - 1].decode("utf-8").strip()[:40]
    if not bad:
        return (f"{path}: it is UTF-8 (line {good[0]}: {sample!r}), not {encoding}; drop "
                f"--encoding {encoding} (or the encoding setting)")
    shown = ", ".join(str(n) for n in bad[:10]) + (", ..." if len(bad) > 10 else "")
    first = lines[bad[0] - 1].decode("cp1252", "replace").strip()[:60]
    where = "line" if len(bad) == 1 else "lines"
    if encoding:
        head = (f"{path}: reading it as {encoding} would garble its UTF-8 text (line "
                f"{good[0]}: {sample!r}); nothing was written. It is UTF-8 except {where} "
                f"{shown}")
    else:
        head = f"{path}:{bad[0]}: UTF-8 except {where} {shown}"
    return (f"{head} ({first!r} in cp1252): re-type or re-save {'it' if len(bad) == 1 else 'them'}"
            " as UTF-8 in your editor; do not use --encoding for this file")


def declared_coding(data: bytes) -> str | None:
    head = b"\n".join(data.splitlines()[:20])
    match = _CODING_RE.search(head)
    if not match:
        return None
    name = (match.group(1) or match.group(2)).decode("ascii").lower()
    name = re.sub(r"-(unix|dos|mac)$", "", name)  # Emacs end-of-line suffixes
    return _CODING_ALIASES.get(name, name)


def _decode_with(data: bytes, path: str, encoding: str, source: str) -> str:
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise BibFileError(f"{path}: unknown encoding {encoding!r} (from {source})") from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, hex, base64, zlib, ...
        raise BibFileError(f"{path}: {encoding!r} (from {source}) is not a text encoding; "
                           "name the file's character set, e.g. utf-8 or latin-1")
    if info.name not in ("utf-8", "utf-8-sig"):
        bad, good = _utf8_lines(data)
        if good and len(good) >= len(bad):  # UTF-8 text, but for a few lines at most
            raise BibFileError(_mixed_message(data, path, bad, good, encoding))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BibFileError(
            f"{path}:{line}: cannot be decoded as {encoding} (from {source}); "
            "name the right one with --encoding"
        ) from None


def parse_bib(text: str, path: str = "survey.bib") -> ParsedBib:
    """Parse survey.bib text; every entry is returned or named in a Problem."""
    import bibtexparser

    # Parsing allocates hundreds of thousands of small acyclic objects; the cyclic
    # collector would walk them again and again (about 12% of a 3,644-entry parse).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        # Values of a CRLF file would keep "\r\n" inside multi-line fields, and a file
        # with CR alone for line ends (old Mac) would be one line to bibtexparser.
        lf_text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
        library = bibtexparser.parse_string(lf_text, parse_stack=[])  # type: ignore[attr-defined]
        return _parse(library, text, path)
    finally:
        if gc_was_enabled:
            gc.enable()


class _Macros:
    """The @string macros defined so far, and how much text their expansion may still
    add to this file's values: a multiple of the file's size (limits.EXPANSION_PER_BYTE),
    so 26 lines of `@string{sN = sN-1 # sN-1}` cannot claim gigabytes."""

    def __init__(self, size: int) -> None:
        self.values: dict[str, str] = {}
        self.cut: set[str] = set()  # macros whose value was cut
        self.budget = MAX_VALUE + EXPANSION_PER_BYTE * size
        self.total = self.budget

    def expand(self, raw: str) -> tuple[str, list[str], str]:
        """(value, undefined macro names, why the value is not whole or "")."""
        room = max(0, min(MAX_VALUE, self.budget))
        value, undefined, cut = _resolve(raw, self.values, room)
        self.budget -= len(value)
        if cut and room == MAX_VALUE:
            return value, undefined, f"is longer than {MAX_VALUE:,} characters; cut there"
        if cut:
            return value, undefined, (f"is cut: @string expansion in this file passes "
                                      f"{self.total:,} characters in all")
        if self.cut:
            used = [name for name in _macro_names(raw) if name in self.cut]
            if used:
                return value, undefined, f"uses @string {used[0]}, whose value was cut"
        return value, undefined, ""

    def define(self, name: str, raw: str) -> tuple[list[str], str]:
        """Define a macro; (undefined macro names in its value, why it is not whole)."""
        value, undefined, cut = self.expand(raw)
        self.values[name.lower()] = value
        if cut:
            self.cut.add(name.lower())
        return undefined, cut


def _macro_names(raw: str) -> list[str]:
    """The lower-case names of the macros a raw value refers to."""
    if "#" not in raw and raw.strip()[:1] in ('{', '"'):
        return []
    return [part.lower() for part in _split_concat(raw.strip())
            if part[0] not in '{"' and not part.isdigit()]


def _parse(library: Any, text: str, path: str) -> ParsedBib:
    from bibtexparser import model as bm

    macros = _Macros(len(text))
    strings = macros.values
    entries: list[Entry] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, bm.String):
            problems.extend(_define(macros, block.key, str(block.value), path, line))
        elif isinstance(block, bm.Entry):
            entry, found = _convert(block, macros, path)
            first_line.setdefault(str(block.key), line)
            if entry is not None:
                entries.append(entry)
            problems.extend(found)
        elif isinstance(block, bm.DuplicateBlockKeyBlock) and isinstance(
            block.ignore_error_block, bm.String
        ):
            # as in BibTeX, the later definition wins
            problems.extend(_define(macros, block.key, str(block.ignore_error_block.value),
                                    path, line))
            problems.append(Problem(path, line, f"@string {block.key}",
                                    "redefined; the later value is used", "parse",
                                    level="warning", rule="duplicate-string"))
        elif isinstance(block, bm.DuplicateBlockKeyBlock):
            problems.append(_duplicate_key(block, path, first_line))
        elif isinstance(block, bm.DuplicateFieldKeyBlock):
            original = block.ignore_error_block
            entry, found = _convert(original, macros, path)
            first_line.setdefault(str(getattr(original, "key", "")), line)
            if entry is not None:
                entries.append(entry)
            problems.extend(found)
        elif isinstance(block, bm.ParsingFailedBlock):
            problems.append(_failed_block(block, path, line))
    head = text[:10000]
    newline = "\r\n" if "\r\n" in head else "\r" if "\r" in head and "\n" not in head else "\n"
    return ParsedBib(tuple(entries), tuple(problems), tuple(strings.items()), newline)


def _define(macros: _Macros, name: str, raw: str, path: str, line: int) -> list[Problem]:
    """One @string definition; the problems it has (undefined macros, a cut value)."""
    undefined, cut = macros.define(name, raw)
    problems = _undefined(path, line, f"@string {name}", undefined)
    if cut:
        problems.append(Problem(path, line, f"@string {name}", f"value {cut}", "parse",
                                rule="value-too-long"))
    return problems


def _duplicate_key(block: object, path: str, first_line: dict[str, int]) -> Problem:
    key = str(getattr(block, "key", ""))
    line = (getattr(block, "start_line", 0) or 0) + 1
    first = first_line.get(key)
    where = f" (first defined at line {first})" if first else ""
    return Problem(
        path,
        line,
        key,
        f"duplicate key{where}; this entry is skipped",
        "parse",
        rule="duplicate-key",
    )


def _failed_block(block: object, path: str, line: int) -> Problem:
    raw = str(getattr(block, "raw", "") or "")
    match = _KEY_RE.match(raw.lstrip())
    key = match.group(2) if match and match.group(2) else None
    if match and match.group(1).lower() in ("preamble", "comment", "string"):
        key = None  # not an entry: in `@preamble{e = mc^2`, "e" would name nothing
    exc = getattr(block, "error", None)
    error = str(getattr(exc, "abort_reason", "") or exc or "").strip().splitlines()
    reason = error[-1].strip() if error else "syntax error"
    what = f"@{match.group(1)} block" if match else "block"
    if "but found `@" in reason:  # the next entry began inside this one: like BibTeX, say so
        reason = (f"not closed: a '}}' is missing before line {line + raw.count(chr(10))}, "
                  "where the next entry starts")
    return Problem(
        path, line, key, f"{what} does not parse, skipped: {reason}", "parse", rule="parse-error"
    )


_ENCLOSING = {"{": "}", '"': '"'}


def _convert(block: Any, macros: _Macros, path: str
             ) -> tuple[Entry | None, list[Problem]]:
    """A bibtexparser entry -> our Entry and its problems; None (and an error naming the
    line) when a field runs on into the next one, so no mangled entry is ever used."""
    key = str(block.key)
    line = (block.start_line or 0) + 1
    problems: list[Problem] = []
    fields: dict[str, str] = {}
    for fld in block.fields:
        name = fld.key.lower()
        if name in fields:
            problems.append(_duplicate_field(block, fld, name, path))
            continue
        raw = fld.value
        # Cheap tests first (57k values in a large file): a run-on value holds the next
        # field's `=`, spans lines, or does not end with its closing delimiter.
        suspect = "=" in raw or "\n" in raw or raw[-1:] not in _CLOSERS
        junk = run_on(raw) if suspect and not _SIMPLE_VALUE_RE.match(raw) else None
        if junk is not None:
            fline = (fld.start_line if fld.start_line is not None else line - 1) + 1
            return None, [_run_on_problem(path, fline + raw.count("\n", 0, junk), key,
                                          fld.key, raw[junk:])]
        # The common case, inlined (a 3,644-entry file has 57k values): one braced or
        # quoted part, nothing to concatenate.
        if "#" not in raw and raw[:1] in _ENCLOSING and raw[-1:] == _ENCLOSING[raw[:1]] \
                and len(raw) <= MAX_VALUE + 2:
            fields[name] = raw[1:-1]
            continue
        value, undefined, cut = macros.expand(raw)
        fline = (fld.start_line or line - 1) + 1
        if undefined:
            problems.extend(_undefined(path, fline, key, undefined, name))
        if cut:
            problems.append(Problem(path, fline, key, f"field '{name}' {cut}", "parse",
                                    rule="value-too-long"))
        fields[name] = value
    entry = Entry(key, block.entry_type.lower(), tuple(fields.items()), path, line)
    if not fields.get("title", "").strip():
        problems.append(
            Problem(
                path,
                line,
                key,
                "no title; the key is shown instead",
                "parse",
                level="warning",
                rule="no-title",
            )
        )
    return entry, problems


# A value that cannot run on: one braced part without inner braces, one quoted part, a word.
_SIMPLE_VALUE_RE = re.compile(r'\{[^{}]*\}\Z|"[^"{}]*"\Z|[^\s{}"#]*\Z')
_NEXT_FIELD_RE = re.compile(r"[A-Za-z_][\w.:+-]*\s*=")


def run_on(raw: str) -> int | None:
    """Where a field's raw value goes on after its last complete part (`{X}` then
    `author = {..}`: a missing comma), or None when the value ends cleanly."""
    i, n = 0, len(raw)
    while True:
        i = _skip_blank(raw, i)
        if i >= n:
            return None
        start = i
        if raw[i] in '{"':
            i = _part_end(raw, i)
            if i < 0:
                return None  # unclosed: bibtexparser reports the block
        else:
            while i < n and not raw[i].isspace() and raw[i] != "#":
                i += 1
        i = _skip_blank(raw, i)
        if i >= n:
            return None
        if raw[i] != "#" or i == start:
            return i
        i += 1


def _skip_blank(raw: str, i: int) -> int:
    """Past white space and `%` comments (biber reads them inside entries too)."""
    n = len(raw)
    while i < n and (raw[i].isspace() or raw[i] == "%"):
        if raw[i] == "%":
            end = raw.find("\n", i)
            i = n if end < 0 else end
        i += 1
    return i


_DELIMITER_RE = re.compile(r'[{}"]')
_CLOSERS = ("}", '"')


def _part_end(raw: str, i: int) -> int:
    """The index just after the braced or quoted part starting at i (-1: never closed)."""
    depth = 0
    quoted = raw[i] == '"'
    for found in _DELIMITER_RE.finditer(raw, i + (1 if quoted else 0)):
        char, j = found.group(), found.start()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0 and not quoted:
                return j + 1
        elif char == '"' and quoted and depth == 0:
            return j + 1
    return -1


def _run_on_problem(path: str, line: int, key: str, name: str, rest: str) -> Problem:
    if _NEXT_FIELD_RE.match(rest):
        message = f"expected ',' after field '{name}'"
    else:
        shown = " ".join(rest.split())[:40]
        message = f"unexpected text after field '{name}': '{shown}'"
    return Problem(path, line, key, f"{message}; this entry is skipped", "parse",
                   rule="parse-error")


def _duplicate_field(block: Any, fld: Any, name: str, path: str) -> Problem:
    first = next(f for f in block.fields if f.key.lower() == name)
    line = (fld.start_line or block.start_line or 0) + 1
    return Problem(
        path,
        line,
        str(block.key),
        f"duplicate field '{fld.key}' (first at line {(first.start_line or 0) + 1}); "
        "the first value is used",
        "parse",
        rule="duplicate-field",
    )


def _undefined(
    path: str, line: int, key: str, names: Iterable[str], field: str = ""
) -> list[Problem]:
    where = f" in field '{field}'" if field else ""
    return [
        Problem(
            path,
            line,
            key,
            f"undefined @string macro '{name}'{where}; kept as text",
            "parse",
            rule="undefined-macro",
        )
        for name in names
    ]


def resolve_value(raw: str, strings: dict[str, str]) -> tuple[str, list[str]]:
    """A raw BibTeX value (`{..}`, `".."`, a number, a macro, joined by `#`) -> its text,
    and the names of macros that are not defined (the text cut at limits.MAX_VALUE)."""
    value, undefined, _ = _resolve(raw, strings, MAX_VALUE)
    return value, undefined


def _resolve(raw: str, strings: dict[str, str], room: int) -> tuple[str, list[str], bool]:
    """resolve_value, building at most `room` characters; True when the text was cut."""
    raw = raw.strip()
    if not raw:
        return "", [], False
    if "#" not in raw:  # the common case: one part, no concatenation to split
        first, last = raw[0], raw[-1]
        if (first == "{" and last == "}") or (first == '"' and last == '"' and len(raw) > 1):
            return _cut(raw[1:-1], room)
    elif raw.startswith("{") and _closes_at_end(raw):
        return _cut(raw[1:-1], room)
    out: list[str] = []
    undefined: list[str] = []
    size = 0
    for part in _split_concat(raw):
        if (part[0], part[-1]) in (("{", "}"), ('"', '"')) and len(part) >= 2:
            text = part[1:-1]
        elif part.isdigit():
            text = part
        elif part.lower() in strings:
            text = strings[part.lower()]
        elif part.lower() in MONTHS:
            text = MONTHS[part.lower()]
        else:
            undefined.append(part)
            text = part
        if size + len(text) > room:  # stop before the text is ever built
            out.append(text[: room - size])
            return "".join(out), undefined, True
        out.append(text)
        size += len(text)
    return "".join(out), undefined, False


def _cut(text: str, room: int) -> tuple[str, list[str], bool]:
    return (text, [], False) if len(text) <= room else (text[:room], [], True)


_BRACE_OR_QUOTE = re.compile(r'[{}"#]')


def _closes_at_end(raw: str) -> bool:
    depth = 0
    for match in _BRACE_OR_QUOTE.finditer(raw):
        char = match.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return match.start() == len(raw) - 1
    return False


def _split_concat(raw: str) -> list[str]:
    """Split a raw value at the `#` signs that are outside braces and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for match in _BRACE_OR_QUOTE.finditer(raw):
        char = match.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0:
            quoted = not quoted
        elif char == "#" and depth == 0 and not quoted:
            parts.append(raw[start : match.start()].strip())
            start = match.end()
    parts.append(raw[start:].strip())
    return [p for p in parts if p]


# ---------------------------------------------------------------- writing new entries

_FIELD_ORDER = (
    "title",
    "subtitle",
    "author",
    "editor",
    "journal",
    "booktitle",
    "series",
    "chapter",
    "edition",
    "school",
    "institution",
    "organization",
    "publisher",
    "address",
    "howpublished",
    "type",
    "year",
    "month",
    "volume",
    "number",
    "pages",
    "articleno",
    "isbn",
    "issn",
    "doi",
    "url",
    "eprint",
    "archiveprefix",
    "primaryclass",
    "note",
)
_CUSTOM_LAST = ("venue", "taxonomy", "reader")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "on",
        "of",
        "for",
        "in",
        "to",
        "and",
        "with",
        "via",
        "from",
        "towards",
        "toward",
        "is",
        "are",
        "at",
        "by",
        "as",
        "its",
    ]
)


def format_entry(entry: Entry, layout: Layout = SURVEYBIB) -> str:
    """One entry: standard fields in a fixed order, then the survey's own fields; values
    braced; LF line ends; laid out as `layout` says (surveybib's own: two-space indent,
    aligned `=`), so an entry added to a file reads like the file's own."""
    rank = {name: i for i, name in enumerate(_FIELD_ORDER)}
    custom = {name: len(_FIELD_ORDER) + 100 + i for i, name in enumerate(_CUSTOM_LAST)}

    def order(item: tuple[int, tuple[str, str]]) -> tuple[int, int]:
        index, (name, _) = item
        return (rank.get(name, custom.get(name, len(_FIELD_ORDER) + index)), index)

    fields = [f for _, f in sorted(enumerate(entry.fields), key=order) if f[1].strip()]
    width = max((len(name) for name, _ in fields), default=0) if layout.align else 0
    lines = [f"@{entry.type}{{{entry.key},"]
    lines += [f"{layout.indent}{name.ljust(width)}{layout.before_eq}={layout.after_eq}"
              f"{{{_balanced(value)}}}," for name, value in fields]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _balanced(value: str) -> str:
    """A value safe inside {...}: unbalanced braces are escaped, never left to break the file."""
    value = " ".join(value.split())
    depth = 0
    for char in value:
        depth += char == "{"
        depth -= char == "}"
        if depth < 0:
            break
    if depth == 0:
        return value
    return value.replace("{", r"\{").replace("}", r"\}")


def append_entries(text: str, blocks: Iterable[str], newline: str) -> str:
    """The file's text with blocks appended after one blank line; what was there stays
    byte for byte (a missing final newline is added only after the old text)."""
    tail = ""
    if text and not text.endswith(("\n", "\r")):
        tail = newline
    body = newline.join(block.rstrip("\n").replace("\n", newline) + newline for block in blocks)
    separator = newline if text.strip() else ""
    return text + tail + separator + body


# Letters that Unicode does not decompose into an ASCII letter and a mark ("Øster" would
# lose its first letter): their usual ASCII spelling.
_ASCII_LETTERS = str.maketrans({
    "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ß": "ss", "ẞ": "SS",
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th",
    "ı": "i", "ȷ": "j", "Ħ": "H", "ħ": "h", "Ŋ": "N", "ŋ": "n", "Ŧ": "T", "ŧ": "t",
    "ſ": "s", "ĸ": "k", "Ŀ": "L", "ŀ": "l",
})


def make_key(family: str, year: str, title: str, taken: Iterable[str]) -> str:
    """`miao2024specinfer`: first author's family name, year, first significant title
    word, ASCII-folded and lower-case (each part at most 20 characters); `a`, `b`, ...
    appended on collision."""

    def fold(text: str) -> str:
        ascii_text = (unicodedata.normalize("NFKD", text[:100].translate(_ASCII_LETTERS))
                      .encode("ascii", "ignore").decode())
        return re.sub(r"[^a-z0-9]", "", ascii_text.lower())[:20]

    words = (fold(w) for w in re.split(r"[\s\-/:]+", title[:1000]))
    word = next((w for w in words if w and w not in _STOPWORDS), "")
    name = romanized(family.split()[-1][:100] if family.split() else "")
    base = f"{fold(name) or 'anon'}{fold(year)}{word}"
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
# Characters that end or break a key for BibTeX or biber (or, `%`, for TeX in \cite).
_KEY_BREAKERS = {",": "a comma", "{": "a brace", "}": "a brace", "(": "a parenthesis",
                 ")": "a parenthesis", "=": "an equals sign", '"': "a double quote",
                 "#": "a #", "%": "a % (TeX reads the rest of the line as a comment)",
                 "\\": "a backslash"}


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




def valid_key(key: str) -> bool:
    """Whether BibTeX (and bibtexparser) accept KEY as an entry key."""
    return bool(KEY_RE.match(key)) and len(key) <= 200
