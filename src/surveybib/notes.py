"""notes/<safe key>.md -> Note records, and the key <-> file-name mapping.

The mapping (documented in the README): letters, digits, `-` and `_` stay as
they are, and so does `.` except at the start; every other character, `%`
included, becomes `%XX` (UTF-8 bytes, upper-case hex). So `DBLP:conf/x/Y`
is `DBLP%3Aconf%2Fx%2FY.md`, `..` is `%2E..md`, and no key can name a file
outside notes/. Windows' reserved device names (`con`, `nul`, ...) get their
first letter encoded. The mapping is one-to-one; keys that differ only in case
would share a file on case-insensitive disks, and are reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote

from surveybib.errors import UsageError
from surveybib.limits import MAX_NAME_BYTES
from surveybib.model import Entry, Note, Problem
from surveybib.readme.blocks import close_open_blocks
from surveybib.readme.hidden import text_problem
from surveybib.readme.rawhtml import close_open_elements
from surveybib.rules import Rule

_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)


def _safe_char(char: str) -> bool:
    return char.isalnum() or char in "-_."


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def note_filename(key: str) -> str:
    """The file name (without directory) of KEY's note."""
    if _PLAIN_KEY.match(key) and not _RESERVED.match(key):
        return key + ".md"
    out = []
    for i, char in enumerate(key):
        if _safe_char(char) and not (i == 0 and char == ".") and char.isprintable():
            out.append(char)
        else:
            out.append("".join(f"%{b:02X}" for b in char.encode("utf-8")))
    name = "".join(out)
    if _RESERVED.match(name):
        name = f"%{ord(name[0]):02X}{name[1:]}"
    return name + ".md"


def check_note_name(key: str) -> None:
    """KEY's note file must have a name the file system takes (`add` checks before it
    writes anything, so a key is never appended without its note). Raises UsageError."""
    size = len(note_filename(key).encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise UsageError(f"key {key!r} makes a note file name of {size} bytes, over the "
                         f"{MAX_NAME_BYTES} a file system takes; choose a shorter key with --key")


def key_from_filename(name: str) -> str:
    """The inverse of note_filename."""
    return unquote(name[:-3] if name.endswith(".md") else name)


def attach_notes(
    entries: Sequence[Entry], files: Iterable[tuple[str, str]], notes_dir: str
) -> tuple[dict[str, Note], tuple[Problem, ...]]:
    """Match note files (name, text) to entries; notes without an entry are Problems."""
    keys = {e.key for e in entries}
    notes: dict[str, Note] = {}
    problems: list[Problem] = []
    for name, text in files:
        key = key_from_filename(name)
        path = f"{notes_dir}/{name}"
        if key not in keys or note_filename(key) != name:
            problems.append(Rule.ORPHAN_NOTE.at(
                path, None, None, f"no entry with key '{key}' in the bibliography", "notes"))
            continue
        hidden = text_problem(path, key, text)
        if hidden is not None:
            problems.append(hidden)
        body, unclosed = close_open_blocks(text.strip())
        body, open_html = close_open_elements(body)
        for what in (unclosed, open_html):
            if what:
                problems.append(Rule.NOTE_UNCLOSED.at(
                    path, None, key, f"{what}; closed at the end of the note so it cannot "
                    "swallow the rest of the README", "notes"))
        notes[key] = Note(key, path, body)
    problems.extend(_case_collisions(keys, notes_dir))
    return notes, tuple(problems)


def _case_collisions(keys: set[str], notes_dir: str) -> list[Problem]:
    if len({key.lower() for key in keys}) == len(keys):
        return []
    seen: dict[str, str] = {}
    problems = []
    for key in sorted(keys):
        folded = note_filename(key).lower()
        if folded in seen:
            problems.append(Rule.NOTE_COLLISION.at(
                f"{notes_dir}/{note_filename(key)}", None, key,
                f"note file name differs from '{seen[folded]}' only in case; they collide on "
                "case-insensitive disks", "notes"))
        seen.setdefault(folded, key)
    return problems

