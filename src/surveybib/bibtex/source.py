"""survey.bib as bytes on disk: its encoding, BOM and line ends, and the two edits surveybib
ever makes to it (append entries, insert fields), each leaving every other byte as it was.

Every command that reads or writes survey.bib goes through `BibSource`, so the rules below
are written once:

- UTF-8, with or without a BOM (kept when the file is written back);
- an Emacs `-*- coding: ... -*-` or `% !TeX encoding = ...` line in the first 20 lines;
- otherwise the encoding named with --encoding (or `encoding` in the config);
- anything else is an error naming the line of the first bad byte.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from surveybib.bibtex.write import BibFormat, field_text, value_text, write_entry
from surveybib.errors import BibFileError, UsageError
from surveybib.files import read_regular
from surveybib.limits import MAX_BIB_BYTES
from surveybib.model import Entry

_CODING_RE = re.compile(
    rb"(?:-\*-.*?coding:\s*([-\w.]+)|%\s*!TeX\s+encoding\s*=\s*([-\w.]+))", re.I
)
_CODING_ALIASES = {"latin-9": "iso8859-15", "latin9": "iso8859-15", "latin-2": "iso8859-2"}


@dataclass(frozen=True, slots=True)
class BibSource:
    """The bytes of survey.bib and how to read them: `text` is what the parser sees."""

    path: str  # as the user sees it (`survey.bib`)
    raw: bytes
    text: str
    encoding: str = "utf-8"  # Python's codec name
    bom: bool = False
    newline: str = "\n"

    @classmethod
    def read(cls, path: Path, shown: str, encoding: str | None = None,
             named_by: str = "") -> BibSource:
        """Read and decode the file; a missing or unreadable one is a BibFileError.
        `named_by` says where the encoding was named (default: `--encoding NAME`)."""
        try:
            raw = read_regular(path, MAX_BIB_BYTES, shown)
        except FileNotFoundError:
            raise BibFileError(f"{shown}: no such file; create it, or point [tool.surveybib] "
                               "bib at your bibliography") from None
        return cls.decode(raw, shown, encoding, named_by)

    @classmethod
    def decode(cls, raw: bytes, shown: str, encoding: str | None = None,
               named_by: str = "") -> BibSource:
        """Bytes -> a BibSource: UTF-8 (a BOM is fine), the coding line's encoding, or the
        one the user named; otherwise a BibFileError naming the line of the first bad byte."""
        bom = raw.startswith(codecs.BOM_UTF8)
        if encoding:
            origin = named_by or f"--encoding {encoding}"
            name = _codec(encoding, shown, origin)
            body = raw[len(codecs.BOM_UTF8):] if bom and name == "utf-8" else raw
            text = _decode(body, shown, name, origin, encoding)
            return cls(shown, raw, text, name, bom and name == "utf-8", newline_of(text))
        body = raw[len(codecs.BOM_UTF8):] if bom else raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            declared = declared_coding(body)
            if not declared:
                bad, good = _utf8_lines(body)
                if good:  # UTF-8 text with a few foreign lines: no encoding reads it all right
                    raise BibFileError(_mixed_message(body, shown, bad, good)) from None
                line = line_number(body, exc.start)
                raise BibFileError(
                    f"{shown}:{line}: not UTF-8 (byte 0x{body[exc.start]:02x} at line {line}); "
                    "convert the file to UTF-8, or name its encoding with --encoding "
                    "(e.g. --encoding latin-1 or --encoding gbk)"
                ) from None
            source = f"its coding line ({declared})"
            name = _codec(declared, shown, source)
            text = _decode(body, shown, name, source, declared)
            return cls(shown, raw, text, name, False, newline_of(text))
        return cls(shown, raw, text, "utf-8", bom, newline_of(text))

    @property
    def eight_bit(self) -> bool:
        """Whether the file is in an 8-bit encoding (new values need LaTeX accents)."""
        return self.encoding != "utf-8"

    def encode(self, text: str) -> bytes:
        """Edited text -> the file's bytes (its encoding and BOM); a character the encoding
        cannot hold is a UsageError naming it."""
        try:
            body = text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise UsageError(f"{self.path}: a new value cannot be written as {self.encoding}: "
                             f"{exc}") from None
        return (codecs.BOM_UTF8 if self.bom else b"") + body

    def append(self, entries: Sequence[Entry], fmt: BibFormat) -> tuple[bytes, list[int]]:
        """The file's bytes with the entries appended after one blank line, and the line
        each new entry starts on. The old bytes are kept exactly: the new text is encoded
        alone and added after them."""
        fmt = fmt.for_encoding(self.encoding)
        blocks = [write_entry(e.type, e.key, e.fields, fmt)[0] for e in entries]
        nl = self.newline
        tail = nl if self.text and not self.text.endswith(("\n", "\r")) else ""
        separator = nl if self.text.strip() else ""
        body = nl.join(block.rstrip("\n").replace("\n", nl) + nl for block in blocks)
        try:
            added = (tail + separator + body).encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise UsageError(f"{self.path}: the new entry cannot be written as "
                             f"{self.encoding}: {exc}") from None
        line = (self.text + tail + separator).count("\n") + 1
        lines = []
        for block in blocks:
            lines.append(line)
            line += block.count("\n") + 1
        return self.raw + added, lines

    def edit(self, entries: Sequence[Entry], edits: Mapping[str, EntryEdit]) -> bytes:
        """The file's bytes with the edits (by entry key) made; no other byte changes."""
        return self.encode(edit_text(self.text, entries, edits, newline=self.newline,
                                     ascii_values=self.eight_bit))

    def insert_fields(self, entries: Sequence[Entry],
                      additions: Mapping[str, Sequence[tuple[str, str]]]) -> bytes:
        """The file's bytes with new fields (key -> [(name, value)]) added to their entries:
        an empty `name = {}` is filled where it is, the others go after the entry's last
        field in its own indentation and alignment. No other byte changes."""
        return self.edit(entries, {key: EntryEdit(tuple(fields))
                                   for key, fields in additions.items() if fields})


@dataclass(frozen=True, slots=True)
class EntryEdit:
    """What one entry's text gets: field values set (in place when the field is written,
    else added after the last field), and a new entry type ("" keeps it)."""

    fields: tuple[tuple[str, str], ...] = ()
    entry_type: str = ""


def newline_of(text: str) -> str:
    """The file's line ends: CRLF when its first 10,000 characters use them, CR when they
    hold CRs and no LF (an old Mac file), else LF."""
    head = text[:10000]
    return "\r\n" if "\r\n" in head else "\r" if "\r" in head and "\n" not in head else "\n"


def line_number(data: bytes, index: int) -> int:
    """The line of byte `index`, whatever the line ends (LF, CRLF, or CR alone)."""
    return (data.count(b"\n", 0, index) + data.count(b"\r", 0, index)
            - data.count(b"\r\n", 0, index) + 1)


def declared_coding(data: bytes) -> str | None:
    """The encoding an Emacs `coding:` or a `% !TeX encoding =` line in the first 20 lines
    names, if any (Emacs' end-of-line suffixes and a few aliases understood)."""
    head = b"\n".join(data.splitlines()[:20])
    match = _CODING_RE.search(head)
    if not match:
        return None
    name = (match.group(1) or match.group(2)).decode("ascii").lower()
    name = re.sub(r"-(unix|dos|mac)$", "", name)
    return _CODING_ALIASES.get(name, name)


def _codec(encoding: str, shown: str, source: str) -> str:
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise BibFileError(f"{shown}: unknown encoding {encoding!r} (from {source})") from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, hex, base64, zlib, ...
        raise BibFileError(f"{shown}: {encoding!r} (from {source}) is not a text encoding; "
                           "name the file's character set, e.g. utf-8 or latin-1")
    return info.name


def _decode(data: bytes, shown: str, encoding: str, source: str, given: str) -> str:
    """data decoded with the codec `encoding` (`given`: as the user named it)."""
    if encoding not in ("utf-8", "utf-8-sig"):
        bad, good = _utf8_lines(data)
        if good and len(good) >= len(bad):  # UTF-8 text, but for a few lines at most
            raise BibFileError(_mixed_message(data, shown, bad, good, given))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = line_number(data, exc.start)
        raise BibFileError(f"{shown}:{line}: cannot be decoded as {given} (from {source}); "
                           "name the right one with --encoding") from None


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
    them = "it" if len(bad) == 1 else "them"
    return (f"{head} ({first!r} in cp1252): re-type or re-save {them} as UTF-8 in your "
            "editor; do not use --encoding for this file")


# ---------------------------------------------------------------- editing entries in place


def edit_text(text: str, entries: Sequence[Entry], edits: Mapping[str, EntryEdit], *,
              newline: str = "\n", ascii_values: bool = False) -> str:
    """survey.bib's text with the edits made to the entries they name: every value written
    by the one writer (bibtex/write.py), new fields in the entry's own style, the type
    keeping its case; every other byte kept."""
    fmt = BibFormat(ascii=ascii_values)
    heads = _heads(text) if edits else {}
    changes: list[tuple[int, int, str]] = []  # (start, end, new text): end > start replaces
    for entry in entries:
        edit = edits.get(entry.key)
        if edit is None:
            continue
        opener, close = _find(text, heads, entry)
        spans = field_spans(text, opener, close)
        added: list[tuple[str, str]] = []
        for name, value in edit.fields:
            span = spans.get(name.lower())
            if span is None:
                added.append((name, value))
            else:
                changes.append((span[0], span[1], value_text(name, value, fmt)))
        if added:
            at, inserted = _insertion(text, opener, close, added, newline, ascii_values)
            changes.append((at, at, inserted))
        if edit.entry_type:
            changes.append(_retype(text, opener, edit.entry_type))
    for begin, end, piece in sorted(changes, reverse=True):
        text = text[:begin] + piece + text[end:]
    return text


_HEAD_RE = re.compile(r"@[ \t]*[A-Za-z][\w-]*[ \t]*([{(])[ \t\r\n]*([^\s,]+?)[ \t\r\n]*,")
_FIELD_RE = re.compile(r"[\s,]*([^\s=,{}\"#]+)\s*=\s*")
_TYPE_RE = re.compile(r"@\s*([A-Za-z][\w-]*)")


def _heads(text: str) -> dict[str, list[tuple[int, int]]]:
    """Every entry head in one pass: key -> [(line, index of the opening delimiter)]."""
    heads: dict[str, list[tuple[int, int]]] = {}
    line, counted = 1, 0
    for match in _HEAD_RE.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        heads.setdefault(match.group(2), []).append((line, match.start(1)))
    return heads


def _find(text: str, heads: dict[str, list[tuple[int, int]]], entry: Entry) -> tuple[int, int]:
    """(opening, closing delimiter) of the entry's text: the head with its key nearest to
    the line the parser gave (a key written twice is a duplicate-key error elsewhere)."""
    found = heads.get(entry.key)
    if not found:
        raise BibFileError(f"{entry.path}:{entry.line}: {entry.key}: cannot find the entry's "
                           "text to edit; nothing was written")
    _, opener = min(found, key=lambda head: abs(head[0] - entry.line) if entry.line else 0)
    close = _closing(text, opener)
    if close < 0:
        raise BibFileError(f"{entry.path}:{entry.line}: {entry.key}: the entry is not closed; "
                           "nothing was written")
    return opener, close


def _closing(text: str, opener: int) -> int:
    """Index of the delimiter that closes the entry opened at `opener` (-1 if none)."""
    closer = "}" if text[opener] == "{" else ")"
    depth = 0
    quoted = False
    for index in range(opener + 1, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and closer == "}":
                return index
            depth -= 1
        elif char == '"' and depth == 0 and text[index - 1] != "\\":
            quoted = not quoted
        elif char == ")" and closer == ")" and depth == 0 and not quoted:
            return index
    return -1


def field_spans(text: str, opener: int, close: int) -> dict[str, tuple[int, int]]:
    """{lower-case field name: (start, end) of its value} for the entry between `opener`
    and `close` (top-level fields only; a value runs to the next top-level comma)."""
    spans: dict[str, tuple[int, int]] = {}
    index = _next_comma(text, opener + 1, close)  # skip the key
    while index < close:
        match = _FIELD_RE.match(text, index, close)
        if match is None:
            break
        start = match.end()
        end = _next_comma(text, start, close)
        value_end = start + len(text[start:end].rstrip())
        spans.setdefault(match.group(1).lower(), (start, value_end))
        index = end
    return spans


def _next_comma(text: str, start: int, close: int) -> int:
    """Index of the next comma at brace depth 0 outside quotes (or `close`)."""
    depth, quoted = 0, False
    for index in range(start, close):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0 and text[index - 1] != "\\":
            quoted = not quoted
        elif char == "," and depth == 0 and not quoted:
            return index
    return close


def _retype(text: str, opener: int, new_type: str) -> tuple[int, int, str]:
    """The edit that makes the entry opened at `opener` a `new_type`, in the case its type
    is written in (`@ARTICLE`, `@Article`, `@article`)."""
    at = text.rfind("@", 0, opener)
    match = _TYPE_RE.match(text, at)
    if match is None:  # cannot happen: _heads found this entry by the same pattern
        return opener, opener, ""
    old = match.group(1)
    if old.isupper():
        new_type = new_type.upper()
    elif old[:1].isupper():
        new_type = new_type.capitalize()
    return match.start(1), match.end(1), new_type


_FIELD_LINE_RE = re.compile(r"^([ \t]*)([^\s=,{}]+)([ \t]*)=([ \t]*)", re.MULTILINE)


def _insertion(text: str, opener: int, close: int, fields: Iterable[tuple[str, str]],
               newline: str, ascii_values: bool) -> tuple[int, str]:
    """Where and what to insert so the new fields read like the entry's own: its indent,
    its spacing around `=`, and its alignment when the names are padded to one column."""
    body = text[opener + 1:close]
    last = opener + 1 + len(body.rstrip())  # just after the last non-space character
    trailing_comma = text[last - 1] == ","
    lines = list(_FIELD_LINE_RE.finditer(body))
    fmt = BibFormat(ascii=ascii_values)
    width = 0
    if lines:
        first = lines[0]
        before = first.group(3)
        columns = Counter(len(m.group(2)) + len(m.group(3)) for m in lines)
        column, count = columns.most_common(1)[0]
        if len(lines) > 1 and count * 2 > len(lines) and any(len(m.group(3)) > 1
                                                             for m in lines):
            width = column  # names padded so that most `=` line up (a long name overflows)
        elif len(before) > 1:
            before = " "  # the first name's padding was alignment, not the entry's style
        fmt = BibFormat(indent=first.group(1), before_eq=before, after_eq=first.group(4),
                        ascii=ascii_values)
    pieces = [field_text(name, value, fmt, width) for name, value in fields]
    if "\n" in body:
        if trailing_comma:
            return last, "".join(f"{newline}{fmt.indent}{p}," for p in pieces)
        return last, "".join(f",{newline}{fmt.indent}{p}" for p in pieces)
    if trailing_comma:
        return last, "".join(f" {p}," for p in pieces)
    return last, "".join(f", {p}" for p in pieces)
