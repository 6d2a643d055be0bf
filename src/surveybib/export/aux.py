"""LaTeX .aux files: the keys a LaTeX run cited (`surveybib export --aux`)."""

from __future__ import annotations

import re

_AUX_CITATION = re.compile(r"\\citation\{([^}]*)\}")
_AUX_BIBLATEX = re.compile(r"\\abx@aux@cite\{[^{}]*\}\{([^}]*)\}|\\abx@aux@cite\{([^}]*)\}(?!\{)")


def parse_aux(text: str) -> tuple[tuple[str, ...], bool]:
    """A LaTeX .aux -> (cited keys in first-cited order, whether `\\citation{*}` was used).

    Reads BibTeX's `\\citation{a,b}` and biblatex's `\\abx@aux@cite{refsection}{key}`
    (and its older one-argument form)."""
    keys: dict[str, None] = {}
    cite_all = False
    for match in re.finditer(f"{_AUX_CITATION.pattern}|{_AUX_BIBLATEX.pattern}", text):
        group = match.group(1) if match.group(1) is not None else (match.group(2) or match.group(3))
        for key in (group or "").split(","):
            key = key.strip()
            if key == "*":
                cite_all = True
            elif key:
                keys.setdefault(key, None)
    return tuple(keys), cite_all


_AUX_INPUT = re.compile(r"\\@input\{([^}]*)\}")


def aux_inputs(text: str) -> tuple[str, ...]:
    """The .aux files an .aux pulls in with `\\@input{chapter.aux}` (\\include does this)."""
    return tuple(dict.fromkeys(m.group(1).strip() for m in _AUX_INPUT.finditer(text)))
