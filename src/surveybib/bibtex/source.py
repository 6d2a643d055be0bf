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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from surveybib.bibtex.write import BibFormat, field_text, write_entry
from surveybib.errors import BibFileError, UsageError
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
    def read(cls, path: Path, shown: str, encoding: str | None = None) -> BibSource:
        """Read and decode the file; a missing or unreadable one is a BibFileError."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise BibFileError(f"{shown}: no such file; create it, or point [tool.surveybib] "
                               "bib at your bibliography") from None
        except OSError as exc:
            raise BibFileError(f"{shown}: cannot be read: {exc.strerror}") from None
        return cls.decode(raw, shown, encoding)

    @classmethod
    def decode(cls, raw: bytes, shown: str, encoding: str | None = None) -> BibSource:
        """Bytes -> a BibSource: UTF-8 (a BOM is fine), the coding line's encoding, or the
        one the user named; otherwise a BibFileError naming the line of the first bad byte."""
        bom = raw.startswith(codecs.BOM_UTF8)
        if encoding:
            name = _codec(encoding, shown, f"--encoding {encoding}")
            body = raw[len(codecs.BOM_UTF8):] if bom and name == "utf-8" else raw
            text = _decode(body, shown, name, f"--encoding {encoding}")
            return cls(shown, raw, text, name, bom and name == "utf-8", newline_of(text))
        body = raw[len(codecs.BOM_UTF8):] if bom else raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            declared = declared_coding(body)
            if not declared:
                line = body.count(b"\n", 0, exc.start) + 1
                raise BibFileError(
                    f"{shown}:{line}: not UTF-8 (byte 0x{body[exc.start]:02x} at line {line}); "
                    "convert the file to UTF-8, or name its encoding with --encoding "
                    "(e.g. --encoding latin-1 or --encoding gbk)"
                ) from None
            source = f"its coding line ({declared})"
            name = _codec(declared, shown, source)
            text = _decode(body, shown, name, source)
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

    def insert_fields(self, entries: Sequence[Entry],
                      additions: Mapping[str, Sequence[tuple[str, str]]]) -> bytes:
        """The file's bytes with new fields (key -> [(name, value)]) added to their entries:
        an empty `name = {}` is filled where it is, the others go after the entry's last
        field in its own indentation and alignment. No other byte changes."""
        text = self.text
        ascii_values = self.eight_bit
        edits: list[tuple[int, int, str]] = []  # (start, end, new text): end > start replaces
        for entry in entries:
            new = additions.get(entry.key)
            if not new:
                continue
            present = {name for name, _ in entry.fields}
            start, close = _locate(text, entry)
            for name, value in new:
                if name in present:  # written but empty (`title = {}`): fill it where it is
                    edits.extend(_fill_empty(text, start, close, name, value, ascii_values))
            fields = [(name, value) for name, value in new if name not in present]
            if fields:
                at, inserted = _insertion(text, start, close, fields, self.newline,
                                          ascii_values)
                edits.append((at, at, inserted))
        for begin, end, piece in sorted(edits, reverse=True):
            text = text[:begin] + piece + text[end:]
        return self.encode(text)


def newline_of(text: str) -> str:
    """The file's line ends: CRLF when its first 10,000 characters use them, else LF."""
    return "\r\n" if "\r\n" in text[:10000] else "\n"


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
        return codecs.lookup(encoding).name
    except LookupError:
        raise BibFileError(f"{shown}: unknown encoding {encoding!r} (from {source})") from None


def _decode(data: bytes, shown: str, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BibFileError(f"{shown}:{line}: cannot be decoded as {encoding} (from {source}); "
                           "name the right one with --encoding") from None


# ---------------------------------------------------------------- finding an entry's text


def _locate(text: str, entry: Entry) -> tuple[int, int]:
    """(index of the entry's opening delimiter, index of its closing one)."""
    pattern = re.compile(r"@[ \t]*[A-Za-z][\w-]*[ \t]*([{(])[ \t\r\n]*" + re.escape(entry.key)
                         + r"[ \t\r\n]*,")
    best: tuple[int, re.Match[str]] | None = None
    for match in pattern.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        distance = abs(line - entry.line) if entry.line else 0
        if best is None or distance < best[0]:
            best = (distance, match)
    if best is None:
        raise BibFileError(f"{entry.path}:{entry.line}: {entry.key}: cannot find the entry's "
                           "text to add fields to; nothing was written")
    opener = best[1].start(1)
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


def _fill_empty(text: str, opener: int, close: int, name: str, value: str,
                ascii_values: bool) -> list[tuple[int, int, str]]:
    """The edit that puts value into an empty `name = {}` (or `""`) of this entry."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(name)}\s*=\s*(\{{\s*\}}|\"\s*\")", re.I)
    match = pattern.search(text, opener, close)
    if match is None:
        return []
    written = field_text(name, value, BibFormat(ascii=ascii_values), 0)
    return [(match.start(1), match.end(1), written.partition("=")[2].strip())]


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
        fmt = BibFormat(indent=first.group(1), before_eq=first.group(3),
                        after_eq=first.group(4), ascii=ascii_values)
        columns = {len(m.group(2)) + len(m.group(3)) for m in lines}
        if len(columns) == 1 and len(lines) > 1 and len(first.group(3)) > 1:
            width = columns.pop()  # names padded so that the `=` line up
    pieces = [field_text(name, value, fmt, width) for name, value in fields]
    if "\n" in body:
        if trailing_comma:
            return last, "".join(f"{newline}{fmt.indent}{p}," for p in pieces)
        return last, "".join(f",{newline}{fmt.indent}{p}" for p in pieces)
    if trailing_comma:
        return last, "".join(f" {p}," for p in pieces)
    return last, "".join(f", {p}" for p in pieces)
