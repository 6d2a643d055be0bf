"""The bounds surveybib keeps, whatever it is given (docs/usage.md, "Limits").

A survey repository takes pull requests from strangers and CI builds them, so every
file in it and every answer from the network is untrusted input. These caps keep a
run's time and memory linear in the size of that input: what goes past one is cut or
refused, and named in a diagnostic, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

MIB = 1024 * 1024

# ---------------------------------------------------------------- files

MAX_BIB_BYTES = 256 * MIB  # survey.bib (the 50,000-entry benchmark file is 50 MB)
MAX_STORE_BYTES = 512 * MIB  # survey.lock.json
MAX_OUTPUT_BYTES = 512 * MIB  # README.md or an export, read back to compare
MAX_TEXT_BYTES = 4 * MIB  # a note, INTRO.md, a template, pyproject.toml, a CSL style
MAX_AUX_BYTES = 64 * MIB  # one LaTeX .aux file (`export --aux`, and each \@input)
MAX_AUX_FILES = 1_000  # .aux files one --aux may pull in through \@input

# ---------------------------------------------------------------- values

MAX_VALUE = 1_000_000  # characters of one field value, @string expansion included
# All @string expansions of one file together: a multiple of the file's own size, so the
# memory a file can claim through macros grows with the file, not exponentially.
EXPANSION_PER_BYTE = 16
MAX_SHOWN = 1_000  # characters of a title, venue, reader or category shown in the README
MAX_QUERY = 300  # characters of a title sent as a Crossref search query
MAX_TITLE_WORDS = 100  # longer titles are compared for equality only (near-duplicates)
MAX_COMPARE = 500  # characters: longer titles are compared for equality, not similarity
MAX_DEPTH = 64  # nesting of a JSON answer or of the metadata store's records
MAX_BRACE_DEPTH = 32  # nested braces in a value that the formatted exports (pybtex) take
MAX_NAME_BYTES = 255  # a note's file name (the usual file system limit)


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON data (dicts and lists) nests deeper than `limit` (found without
    recursion, so no depth can overflow the stack)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
