"""What every export writer takes and gives: one ExportOptions in, one Export out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from surveybib.bibtex.keys import key_problem
from surveybib.errors import UsageError
from surveybib.export.fields import DEFAULT_SKIP
from surveybib.model import Entry, Problem
from surveybib.rules import Rule

FORMATS = ("bibtex", "biblatex", "csl-json", "ris", "text", "markdown", "html")
FORMATTED = frozenset({"text", "markdown", "html"})
# The formats people read (BibTeX and biblatex keep TeX: LaTeX reads them).
TEXT_FORMATS = frozenset({"csl-json", "ris", "text", "markdown", "html"})
PYBTEX_STYLES = ("plain", "unsrt", "alpha", "unsrtalpha")
SORTS = ("key", "year", "author")


@dataclass(frozen=True, slots=True)
class Export:
    """An export's text and what went wrong with single entries on the way."""

    text: str
    problems: tuple[Problem, ...] = ()
    count: int = 0  # entries written


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """Everything an export can be asked for, from the command line or a configured
    `[tool.surveybib] exports` item."""

    style: str | None = None  # a pybtex style (text, markdown, html)
    csl: str | None = None  # a CSL style file or a bundled style's name
    unicode: bool = False  # bibtex: keep non-ASCII as UTF-8 instead of LaTeX accents
    keep: frozenset[str] = frozenset()  # fields kept although skip_fields names them
    skip_fields: frozenset[str] = DEFAULT_SKIP
    sort: str | None = None  # key, year or author; None: the bibliography's order
    keys: tuple[str, ...] | None = None  # only these entries (None: all)
    taxonomy: str | None = None  # only the entries filed under this category
    group_by: str = "taxonomy"  # the field that holds the categories (always stripped)
    declared: tuple[str, ...] = ()  # the configured taxonomy list

    @property
    def strip(self) -> frozenset[str]:
        """The fields left out of the export."""
        return (frozenset(f.lower() for f in self.skip_fields)
                - {f.lower() for f in self.keep})

    def check(self, fmt: str) -> None:
        """Raise UsageError for a format, style or sort surveybib does not have."""
        if fmt not in FORMATS:
            raise UsageError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
        style, csl, sort = self.style, self.csl, self.sort
        if style is not None and style not in PYBTEX_STYLES:
            raise UsageError(f"unknown style '{style}'; use one of {', '.join(PYBTEX_STYLES)}, "
                             "or --csl FILE for a CSL style")
        if (style or csl) and fmt not in FORMATTED:
            raise UsageError(f"--style and --csl apply to text, markdown and html, not to {fmt}")
        if style and csl:
            raise UsageError("give either --style (pybtex) or --csl (a CSL style file), not both")
        if sort is not None and sort not in SORTS:
            raise UsageError(f"unknown sort '{sort}'; use one of {', '.join(SORTS)}")


def braces_problem(entry: Entry, name: str) -> Problem:
    """A field whose braces BibTeX could not balance: written without them."""
    return Rule.EXPORT_BRACES.at(entry.path, entry.line, entry.key,
                                 f"field '{name}' has unbalanced braces; written without braces",
                                 "export")


def readable_keys(entries: Sequence[Entry], what: str, problems: list[Problem]) -> list[Entry]:
    """The entries whose key BibTeX and biber can read; each other one is an error naming
    it (BibTeX would stop at it, or read the rest of the line as its key)."""
    kept = []
    for entry in entries:
        why = key_problem(entry.key)
        if why is None:
            kept.append(entry)
        else:
            problems.append(Rule.BAD_KEY.about(entry, f"{why}; left out of the {what} export "
                                                      "(BibTeX and biber cannot read it)",
                                               "export"))
    return kept
