"""The field layout a .bib file already uses (indent, spaces around `=`, aligned `=`), so
that what `add` appends reads like the entries around it."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from surveybib.bibtex.write import SURVEY, BibFormat

# `  title = {`: the indent, the name, the spaces before and after `=`.
_FIELD_LINE = re.compile(r"^([ \t]+)([A-Za-z][\w:.+-]*)([ \t]*)=([ \t]*)\S", re.M)
_ENTRY_START = re.compile(r"^[ \t]*@", re.M)


def file_format(text: str, base: BibFormat = SURVEY) -> BibFormat:
    """`base` (surveybib's own layout by default) in the layout most entries of `text` use:
    their indent, their spaces around `=`, and whether they align the `=`."""
    indents: Counter[str] = Counter()
    befores: Counter[str] = Counter()
    afters: Counter[str] = Counter()
    aligned = plain = 0
    for block in _ENTRY_START.split(text):
        fields = _FIELD_LINE.findall(block)
        for indent, _, _, after in fields:
            indents[indent] += 1
            afters[after] += 1
        names = {name for _, name, _, _ in fields}
        if len(fields) < 2 or len({len(n) for n in names}) < 2:
            befores.update(before for _, _, before, _ in fields)
            continue  # one field, or names of one length: says nothing about alignment
        columns = {len(indent) + len(name) + len(before) for indent, name, before, _ in fields}
        if len(columns) == 1:
            aligned += 1
        else:
            plain += 1
            befores.update(before for _, _, before, _ in fields)
    if not indents:
        return base
    return replace(base, indent=indents.most_common(1)[0][0],
                   before_eq=befores.most_common(1)[0][0] if befores else " ",
                   after_eq=afters.most_common(1)[0][0], align=aligned > plain)
