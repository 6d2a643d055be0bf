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
from collections.abc import Iterable
from typing import Any

from surveybib.bibtex.layout import SURVEYBIB, Layout
from surveybib.errors import BibFileError
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
        line = data.count(b"\n", 0, exc.start) + 1
        bad, good = _utf8_lines(data)
        if good:  # UTF-8 text with a few foreign lines: no encoding reads it all right
            raise BibFileError(_mixed_message(data, path, bad, good)) from None
        raise BibFileError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); "
            "convert the file to UTF-8, or name its encoding with --encoding "
            "(e.g. --encoding latin-1 or --encoding gbk)"
        ) from None


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
        codecs.lookup(encoding)
    except LookupError:
        raise BibFileError(f"{path}: unknown encoding {encoding!r} (from {source})") from None
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
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
        # Values of a CRLF file would keep "\r\n" inside multi-line fields.
        lf_text = text.replace("\r\n", "\n") if "\r" in text else text
        library = bibtexparser.parse_string(lf_text, parse_stack=[])  # type: ignore[attr-defined]
        return _parse(library, text, path)
    finally:
        if gc_was_enabled:
            gc.enable()


def _parse(library: Any, text: str, path: str) -> ParsedBib:
    from bibtexparser import model as bm

    strings: dict[str, str] = {}
    entries: list[Entry] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, bm.String):
            value, undefined = resolve_value(str(block.value), strings)
            strings[block.key.lower()] = value
            problems.extend(_undefined(path, line, f"@string {block.key}", undefined))
        elif isinstance(block, bm.Entry):
            entry, found = _convert(block, strings, path)
            first_line.setdefault(str(block.key), line)
            if entry is not None:
                entries.append(entry)
            problems.extend(found)
        elif isinstance(block, bm.DuplicateBlockKeyBlock) and isinstance(
            block.ignore_error_block, bm.String
        ):
            value, undefined = resolve_value(str(block.ignore_error_block.value), strings)
            strings[block.key.lower()] = value  # as in BibTeX, the later definition wins
            problems.extend(_undefined(path, line, f"@string {block.key}", undefined))
            problems.append(Problem(path, line, f"@string {block.key}",
                                    "redefined; the later value is used", "parse",
                                    level="warning", rule="duplicate-string"))
        elif isinstance(block, bm.DuplicateBlockKeyBlock):
            problems.append(_duplicate_key(block, path, first_line))
        elif isinstance(block, bm.DuplicateFieldKeyBlock):
            original = block.ignore_error_block
            entry, found = _convert(original, strings, path)
            first_line.setdefault(str(getattr(original, "key", "")), line)
            if entry is not None:
                entries.append(entry)
            problems.extend(found)
        elif isinstance(block, bm.ParsingFailedBlock):
            problems.append(_failed_block(block, path, line))
    newline = "\r\n" if "\r\n" in text[:10000] else "\n"
    return ParsedBib(tuple(entries), tuple(problems), tuple(strings.items()), newline)


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


def _convert(block: Any, strings: dict[str, str], path: str
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
        if "#" not in raw and raw[:1] in _ENCLOSING and raw[-1:] == _ENCLOSING[raw[:1]]:
            fields[name] = raw[1:-1]
            continue
        value, undefined = resolve_value(raw, strings)
        if undefined:
            fline = (fld.start_line or line - 1) + 1
            problems.extend(_undefined(path, fline, key, undefined, name))
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
    and the names of macros that are not defined."""
    raw = raw.strip()
    if not raw:
        return "", []
    if "#" not in raw:  # the common case: one part, no concatenation to split
        first, last = raw[0], raw[-1]
        if (first == "{" and last == "}") or (first == '"' and last == '"' and len(raw) > 1):
            return raw[1:-1], []
    elif raw.startswith("{") and _closes_at_end(raw):
        return raw[1:-1], []
    parts = _split_concat(raw)
    out: list[str] = []
    undefined: list[str] = []
    for part in parts:
        if (part[0], part[-1]) in (("{", "}"), ('"', '"')) and len(part) >= 2:
            out.append(part[1:-1])
        elif part.isdigit():
            out.append(part)
        elif part.lower() in strings:
            out.append(strings[part.lower()])
        elif part.lower() in MONTHS:
            out.append(MONTHS[part.lower()])
        else:
            undefined.append(part)
            out.append(part)
    return "".join(out), undefined


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


def make_key(family: str, year: str, title: str, taken: Iterable[str]) -> str:
    """`miao2024specinfer`: first author's family name, year, first significant title
    word, ASCII-folded and lower-case; `a`, `b`, ... appended on collision."""
    import unicodedata

    def fold(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]", "", ascii_text.lower())

    words = [fold(w) for w in re.split(r"[\s\-/:]+", title)]
    word = next((w for w in words if w and w not in _STOPWORDS), "")
    name = romanized(family.split()[-1] if family.split() else "")
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


def valid_key(key: str) -> bool:
    """Whether BibTeX (and bibtexparser) accept KEY as an entry key."""
    return bool(KEY_RE.match(key)) and len(key) <= 200
