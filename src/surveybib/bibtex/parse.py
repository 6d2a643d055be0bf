"""survey.bib text -> entries + problems.

bibtex/split.py splits the file into blocks as bibtexparser does; we resolve values
ourselves (bibtexparser's string middleware neither joins ``#`` concatenations nor reports
undefined macros, which it keeps silently as text) and turn every failed block,
duplicate key and duplicate field into a Problem that names file and line.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable

from surveybib.bibtex.dates import MONTH_MACRO_TEXT
from surveybib.bibtex.source import newline_of
from surveybib.bibtex.split import Block, Kind, RawField, split_blocks
from surveybib.limits import EXPANSION_PER_BYTE, MAX_VALUE
from surveybib.model import Entry, ParsedBib, Problem
from surveybib.rules import Rule

_KEY_RE = re.compile(r"@\s*([^\s{(]+)\s*[{(]\s*([^,\s=}]*)")


def parse_bib(text: str, path: str = "survey.bib") -> ParsedBib:
    """Parse survey.bib text; every entry is returned or named in a Problem."""
    # Parsing allocates hundreds of thousands of small acyclic objects; the cyclic
    # collector would walk them again and again (about 12% of a 3,644-entry parse).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        # Values of a CRLF file would keep "\r\n" inside multi-line fields, and a file
        # with CR alone for line ends (old Mac) would be one line to the splitter.
        lf_text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
        return _parse(split_blocks(lf_text), text, path)
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
        """(value, undefined macro names, why the value is not whole or "").

        Only what macros add to a value is charged to the file's budget: a value written
        out in full is bounded by the file's size already, and is never cut for another
        entry's expansions. Three times the raw text is always room enough for what needs
        no @string ("sep" is "September"), and still linear in the file's size."""
        room = min(MAX_VALUE, 3 * len(raw) + max(0, self.budget))
        value, undefined, cut = _resolve(raw, self.values, room)
        self.budget -= max(0, len(value) - len(raw))
        if self.cut:  # the first cause is the one to name
            used = [name for name in _macro_names(raw) if name in self.cut]
            if used:
                return value, undefined, f"uses @string {used[0]}, whose value was cut"
        if cut and room == MAX_VALUE:
            return value, undefined, f"is longer than {MAX_VALUE:,} characters; cut there"
        if cut:
            return value, undefined, (f"is cut: @string expansion in this file passes "
                                      f"{self.total:,} characters in all")
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


def _parse(blocks: Iterable[Block], text: str, path: str) -> ParsedBib:
    macros = _Macros(len(text))
    strings = macros.values
    entries: list[Entry] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for block in blocks:
        line = block.line + 1
        kind = block.kind
        if kind is Kind.ENTRY:
            entry, found = _convert(block, macros, path)
            first_line.setdefault(block.key, line)
            if entry is not None:
                entries.append(entry)
            problems.extend(found)
        elif kind is Kind.STRING or kind is Kind.DUPLICATE_STRING:
            undefined, cut = macros.define(block.key, block.value)  # the later one wins
            problems.extend(_undefined(path, line, f"@string {block.key}", undefined))
            if cut:
                problems.append(Rule.VALUE_TOO_LONG.at(path, line, f"@string {block.key}",
                                                       f"value {cut}", "parse"))
            if kind is Kind.DUPLICATE_STRING:
                problems.append(Rule.DUPLICATE_STRING.at(
                    path, line, f"@string {block.key}", "redefined; the later value is used",
                    "parse"))
        elif kind is Kind.DUPLICATE_KEY:
            problems.append(_duplicate_key(block, path, first_line))
        else:
            problems.append(_failed_block(block, path, line))
    return ParsedBib(tuple(entries), tuple(problems), tuple(strings.items()), newline_of(text))


def _duplicate_key(block: Block, path: str, first_line: dict[str, int]) -> Problem:
    first = first_line.get(block.key)
    where = f" (first defined at line {first})" if first else ""
    return Rule.DUPLICATE_KEY.at(path, block.line + 1, block.key,
                                 f"duplicate key{where}; this entry is skipped", "parse")


def _failed_block(block: Block, path: str, line: int) -> Problem:
    raw = block.raw
    match = _KEY_RE.match(raw.lstrip())
    key = match.group(2) if match and match.group(2) else None
    if match and match.group(1).lower() in ("preamble", "comment", "string"):
        key = None  # not an entry: in `@preamble{e = mc^2`, "e" would name nothing
    error = block.reason.strip().splitlines()
    reason = error[-1].strip() if error else "syntax error"
    what = f"@{match.group(1)} block" if match else "block"
    if "but found `@" in reason:  # the next entry began inside this one: like BibTeX, say so
        reason = (f"not closed: a '}}' is missing before line {line + raw.count(chr(10))}, "
                  "where the next entry starts")
    return Rule.PARSE_ERROR.at(path, line, key, f"{what} does not parse, skipped: {reason}",
                               "parse")


_ENCLOSING = {"{": "}", '"': '"'}


def _convert(block: Block, macros: _Macros, path: str
             ) -> tuple[Entry | None, list[Problem]]:
    """A split entry -> our Entry and its problems; None (and an error naming the line)
    when a field runs on into the next one, so no mangled entry is ever used."""
    key = block.key
    line = block.line + 1
    problems: list[Problem] = []
    fields: dict[str, str] = {}
    for fld in block.fields:
        written, raw, at = fld
        name = written.lower()
        if name in fields:
            problems.append(_duplicate_field(block, fld, name, path))
            continue
        # Cheap tests first (57k values in a large file): a run-on value holds the next
        # field's `=`, spans lines, or does not end with its closing delimiter.
        suspect = "=" in raw or "\n" in raw or raw[-1:] not in _CLOSERS
        junk = run_on(raw) if suspect and not _SIMPLE_VALUE_RE.match(raw) else None
        if junk is not None:
            return None, [_run_on_problem(path, at + 1 + raw.count("\n", 0, junk), key,
                                          written, raw[junk:])]
        # The common case, inlined (a 3,644-entry file has 57k values): one braced or
        # quoted part, nothing to concatenate.
        if "#" not in raw and raw[:1] in _ENCLOSING and raw[-1:] == _ENCLOSING[raw[:1]] \
                and len(raw) <= MAX_VALUE + 2:
            fields[name] = raw[1:-1]
            continue
        value, undefined, cut = macros.expand(raw)
        if undefined:
            problems.extend(_undefined(path, at + 1, key, undefined, name))
        if cut:
            problems.append(Rule.VALUE_TOO_LONG.at(path, at + 1, key, f"field '{name}' {cut}",
                                                   "parse"))
        fields[name] = value
    entry = Entry(key, block.entry_type.lower(), tuple(fields.items()), path, line)
    if not fields.get("title", "").strip():
        problems.append(Rule.NO_TITLE.at(path, line, key, "no title; the key is shown instead",
                                         "parse"))
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
    return Rule.PARSE_ERROR.at(path, line, key, f"{message}; this entry is skipped", "parse")


def _duplicate_field(block: Block, fld: RawField, name: str, path: str) -> Problem:
    first = next(f for f in block.fields if f[0].lower() == name)
    return Rule.DUPLICATE_FIELD.at(
        path, fld[2] + 1, block.key,
        f"duplicate field '{fld[0]}' (first at line {first[2] + 1}); "
        "the first value is used", "parse")


def _undefined(
    path: str, line: int, key: str, names: Iterable[str], field: str = ""
) -> list[Problem]:
    where = f" in field '{field}'" if field else ""
    return [Rule.UNDEFINED_MACRO.at(path, line, key,
                                    f"undefined @string macro '{name}'{where}; kept as text",
                                    "parse")
            for name in names]


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
    parts = _split_concat(raw) if _BRACE_OR_QUOTE.search(raw) else [raw]  # a number, a macro
    out: list[str] = []
    undefined: list[str] = []
    size = 0
    for part in parts:
        if (part[0], part[-1]) in (("{", "}"), ('"', '"')) and len(part) >= 2:
            text = part[1:-1]
        elif part.isdigit():
            text = part
        elif part.lower() in strings:
            text = strings[part.lower()]
        elif part.lower() in MONTH_MACRO_TEXT:
            text = MONTH_MACRO_TEXT[part.lower()]
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
