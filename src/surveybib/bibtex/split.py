"""survey.bib text -> its blocks (entries, @string definitions, failures), exactly as
bibtexparser 2 splits them. The only importer of bibtexparser.

bibtexparser's splitter walks the file one mark (`{ } " , =`, newline, `@type{`) at a
time in Python, which is most of what a build costs. `fast_blocks` reads a well-formed
file with a few regular expressions instead and gives the very blocks bibtexparser
would: same keys, types, raw values, lines and duplicate handling. Whatever it is not
sure of (a `(`-delimited block, a field that does not parse, a value nested deeper than
six braces, an `@` that could start a block) makes it give up, and bibtexparser splits
the whole file: its results, including how it recovers from errors, are the reference.
tests/test_split.py compares the two on every bibliography in tests/data and on
generated text.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

# bibtexparser logs each failed block itself; parse.py reports them as Problems instead.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())
logging.getLogger("bibtexparser").propagate = False

# A field as written: its name (spaces stripped, case kept), its raw value (delimiters
# and `#` kept, spaces around stripped) and the 0-based line of its `=`.
RawField = tuple[str, str, int]


class Kind(enum.Enum):
    ENTRY = "entry"
    DUPLICATE_KEY = "duplicate key"  # an entry whose key an earlier entry has
    STRING = "string"
    DUPLICATE_STRING = "duplicate string"  # an @string redefined (the same name, same case)
    FAILED = "failed"  # a block that does not parse


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the file that surveybib reads (comments and preambles are skipped)."""

    kind: Kind
    line: int  # 0-based, as bibtexparser counts (newlines after a backslash do not count)
    key: str = ""
    entry_type: str = ""  # as written after the @
    fields: tuple[RawField, ...] = ()
    value: str = ""  # an @string's raw value
    raw: str = ""  # a failed block's text
    reason: str = ""  # why it failed, as bibtexparser says


def split_blocks(text: str) -> list[Block]:
    """The blocks of TEXT (newlines already "\\n"), as bibtexparser 2 splits them."""
    fast = fast_blocks(text)
    return fast if fast is not None else parsed_blocks(text)


def parsed_blocks(text: str) -> list[Block]:
    """bibtexparser's own split, as Blocks."""
    import bibtexparser
    from bibtexparser import model as bm

    library = bibtexparser.parse_string(text, parse_stack=[])  # type: ignore[attr-defined]
    out: list[Block] = []
    for block in library.blocks:
        line = block.start_line or 0
        if isinstance(block, bm.String):
            out.append(Block(Kind.STRING, line, str(block.key), value=str(block.value)))
        elif isinstance(block, bm.Entry):
            out.append(_entry(block, line))
        elif isinstance(block, bm.DuplicateBlockKeyBlock) and isinstance(
                block.ignore_error_block, bm.String):
            out.append(Block(Kind.DUPLICATE_STRING, line, str(block.key),
                             value=str(block.ignore_error_block.value)))
        elif isinstance(block, bm.DuplicateBlockKeyBlock):
            out.append(Block(Kind.DUPLICATE_KEY, line, str(block.key)))
        elif isinstance(block, bm.DuplicateFieldKeyBlock):
            inner: Any = block.ignore_error_block  # the entry, fields and all
            out.append(_entry(inner, inner.start_line or 0))
        elif isinstance(block, bm.ParsingFailedBlock):
            error = block.error
            reason = str(getattr(error, "abort_reason", "") or error or "")
            out.append(Block(Kind.FAILED, line, raw=str(block.raw or ""), reason=reason))
    return out


def _entry(block: Any, line: int) -> Block:
    fields = tuple((str(f.key), str(f.value), f.start_line if f.start_line is not None
                    else line) for f in block.fields)
    return Block(Kind.ENTRY, line, str(block.key), str(block.entry_type), fields)


# ---------------------------------------------------------------- the fast split
#
# bibtexparser's marks: `{ } " , = newline` unless right after a backslash, and a block
# start `@type` followed by `{` or `(` (wherever it is). Inside a value only `{ } "` and
# the closing `,` or `}` count; an `@type{` there aborts the block when it begins a line.

_START = r"@\w*[ \t]*(?=[{(])"
_BLOCK_RE = re.compile(_START)
_NOT_START = r"@(?!\w*[ \t]*[{(])"
# A run of backslashes and the character after it: never a mark (an `@` may start a block).
_ESCAPED = r"\\++[^@]?"
_PLAIN = r'[^{}",@\\]++|' + _ESCAPED + "|" + _NOT_START  # outside braces and quotes
_IN_BRACES = r"[^{}@\\]++|" + _ESCAPED + "|" + _NOT_START
_IN_QUOTES = r'[^"@\\]++|' + _ESCAPED + "|" + _NOT_START
_DEPTH = 6  # deeper nesting is left to bibtexparser


def _braced(depth: int) -> str:
    inner = _IN_BRACES
    for _ in range(depth - 1):
        inner = r"\{(?:" + inner + r")*+\}|" + _IN_BRACES
    return r"\{(?:" + inner + r")*+\}"


# A quoted part ends at the next `"`, unless it is `{"}` (bibtexparser reads on): given up.
_VALUE = ("(?:" + _PLAIN + "|" + _braced(_DEPTH) + '|"(?:' + _IN_QUOTES +
          r')*+(?<!\{)")*+')
_NAME = r'[^{}",=@\\]*'  # text up to the next mark (no backslash: given up)
_FIELD_RE = re.compile("(" + _NAME + ")=(" + _VALUE + ")([,}])")
_END_RE = re.compile(r"\s*\}")  # after a comma: only space before the closing brace
_KEY_RE = re.compile("(" + _NAME + ")([,}])")
_STRING_NAME_RE = re.compile("(" + _NAME + ")=")
_CLOSE_RE = re.compile(r"(?<!\\)[{}]|" + _START)


class _Unsure(Exception):
    """Something the fast split leaves to bibtexparser."""


def fast_blocks(text: str) -> list[Block] | None:
    """The blocks of a well-formed TEXT, or None when bibtexparser must split it."""
    try:
        return _fast_blocks(text)
    except _Unsure:
        return None


def _fast_blocks(text: str) -> list[Block]:
    # Newlines right after a backslash are no mark, so bibtexparser does not count them.
    escaped = "\\\n" in text
    lines: Callable[[str, int, int], int] = partial(_counted, text) if escaped else text.count
    out: list[Block] = []
    entries: set[str] = set()
    strings: set[str] = set()
    pos = line = 0
    while (m := _BLOCK_RE.search(text, pos)) is not None:
        start, body = m.start(), m.end() + 1
        line += lines("\n", pos, start)
        if text[m.end()] != "{":
            raise _Unsure  # a `(`-delimited block
        kind = m.group().lower()
        if kind.startswith(("@comment", "@preamble")):
            end = _closing(text, body)
        elif kind.startswith("@string"):
            found = _STRING_NAME_RE.match(text, body)
            if found is None:
                raise _Unsure
            end = _closing(text, found.end())
            name, value = found.group(1).strip(), text[found.end():end].strip()
            out.append(Block(Kind.DUPLICATE_STRING if name in strings else Kind.STRING,
                             line, name, value=value))
            strings.add(name)
        else:
            block, end = _fast_entry(text, m, line, lines, escaped)
            if len({f[0] for f in block.fields}) < len(block.fields):
                out.append(block)  # bibtexparser registers no entry with a repeated field
            elif block.key in entries:
                out.append(Block(Kind.DUPLICATE_KEY, line, block.key))
            else:
                entries.add(block.key)
                out.append(block)
        line += lines("\n", start, end)
        pos = end + 1
    return out


def _fast_entry(text: str, m: re.Match[str], line: int,
                lines: Callable[[str, int, int], int], escaped: bool) -> tuple[Block, int]:
    """An entry whose `@type` is m, and the index of its closing brace."""
    head = _KEY_RE.match(text, m.end() + 1)
    if head is None:
        raise _Unsure
    fields: list[RawField] = []
    end = head.end() - 1
    if head.group(2) == ",":
        at = line + lines("\n", m.start(), end)
        pos = end + 1
        match = _FIELD_RE.match
        while (found := match(text, pos)) is not None:
            name, value, closer = found.groups()
            at += name.count("\n") - (escaped and name.count("\\\n"))
            fields.append((name.strip(), value.strip(), at))
            at += value.count("\n") - (escaped and value.count("\\\n"))
            pos = found.end()
            if closer == "}":
                return _entry_block(m, line, head, fields), pos - 1
        closing = _END_RE.match(text, pos)
        if closing is None:
            raise _Unsure
        end = closing.end() - 1
    return _entry_block(m, line, head, fields), end


def _entry_block(m: re.Match[str], line: int, head: re.Match[str],
                 fields: list[RawField]) -> Block:
    return Block(Kind.ENTRY, line, head.group(1).strip(), m.group()[1:].lower().strip(),
                 tuple(fields))


def _counted(text: str, newline: str, start: int, end: int) -> int:
    """The newlines bibtexparser counts from start to end: not those after a backslash
    (start is never just after one: it follows a block or begins the text)."""
    return text.count(newline, start, end) - text.count("\\" + newline, start, end)


def _closing(text: str, pos: int) -> int:
    """The index of the `}` that closes a comment, preamble or @string (braces nest)."""
    depth = 0
    for m in _CLOSE_RE.finditer(text, pos):
        mark = m.group()
        if mark == "{":
            depth += 1
        elif mark == "}":
            if depth == 0:
                return m.start()
            depth -= 1
        elif _at_line_start(text, m.start()):
            raise _Unsure  # bibtexparser aborts the block here
    raise _Unsure  # never closed


def _at_line_start(text: str, pos: int) -> bool:
    """Only white space between the line's start and pos (bibtexparser's test)."""
    i = pos - 1
    while i >= 0 and text[i] != "\n":
        if not text[i].isspace():
            return False
        i -= 1
    return True
