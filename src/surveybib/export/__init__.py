"""Citation export: BibTeX, BibLaTeX, CSL-JSON, RIS and formatted references.

A registry of writers, one per format, each taking the entries and one ExportOptions.
Entries come in merged with the metadata store (BibTeX field values, LaTeX kept). What
goes out, whatever the format:

- surveybib's own fields (`taxonomy`, `reader`, `venue`) and, by default,
  `file` and `abstract` are stripped (`keep` brings any of them back, the
  caller adds a configured skip list); empty fields are dropped; keys are
  kept as they are; whitespace inside a value is collapsed to one space.
- `doi` and `url` are written raw: LaTeX escapes (`\\_`, `\\%`, ...) are
  undone and a DOI loses its `https://doi.org/` or `doi:` prefix.
- Page ranges use `--` (BibTeX, BibLaTeX) or `-` (CSL-JSON), or are split
  into start and end (RIS).

Formatted references (`text`, `markdown`, `html`) are made by `export/formatted.py`,
which imports pybtex or citeproc-py only when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from surveybib.config import Settings
from surveybib.errors import ConfigError, UsageError
from surveybib.export.base import FORMATS, TEXT_FORMATS, Export, ExportOptions
from surveybib.export.biblatex import to_biblatex
from surveybib.export.bibtex import to_bibtex
from surveybib.export.csl_json import write_csl_json
from surveybib.export.fields import DEFAULT_SKIP
from surveybib.export.formatted import format_references
from surveybib.export.ris import write_ris
from surveybib.export.select import select_entries, sort_entries
from surveybib.latex import latex_problems
from surveybib.model import Entry
from surveybib.rules import Rule

Writer = Callable[[Sequence[Entry], ExportOptions], Export]
DEFAULTS = ExportOptions()

WRITERS: Mapping[str, Writer] = {
    "bibtex": to_bibtex,
    "biblatex": to_biblatex,
    "csl-json": write_csl_json,
    "ris": write_ris,
    "text": partial(format_references, "text"),
    "markdown": partial(format_references, "markdown"),
    "html": partial(format_references, "html"),
}

__all__ = ["DEFAULT_SKIP", "FORMATS", "WRITERS", "Export", "ExportOptions", "export_entries",
           "render_configured", "render_export", "run_export", "spec_options"]


def render_export(entries: Sequence[Entry], fmt: str, **options: Any) -> str:
    """Entries (merged, in the order wanted) -> the text of one export format; `options`
    are ExportOptions' fields."""
    return export_entries(entries, fmt, ExportOptions(**options)).text


def export_entries(entries: Sequence[Entry], fmt: str,
                   options: ExportOptions = DEFAULTS) -> Export:
    """The export of these entries (sorted if asked), with the per-entry problems (an entry
    a style could not format as its type, a value BibTeX could not take as it was)."""
    options.check(fmt)
    ordered = sort_entries(entries, options.sort) if options.sort else tuple(entries)
    return WRITERS[fmt](ordered, options)


def run_export(entries: Sequence[Entry], fmt: str, options: ExportOptions = DEFAULTS
               ) -> tuple[Export, tuple[str, ...]]:
    """Select (keys/taxonomy), order and render: what `surveybib export` and a configured
    export in `build` both do. Returns the export and the requested keys not found."""
    options.check(fmt)
    selected, unknown = select_entries(entries, keys=options.keys, taxonomy=options.taxonomy,
                                       group_by=options.group_by, declared=options.declared)
    skip = options.skip_fields | {options.group_by}
    result = export_entries(selected, fmt, replace(options, skip_fields=skip))
    if fmt in TEXT_FORMATS:  # what is left of TeX there, a reader would see
        result = Export(result.text, result.problems + tuple(latex_problems(selected)),
                        result.count)
    return result, unknown


SPEC_OPTIONS = ("style", "csl", "unicode", "keep", "sort", "keys", "taxonomy")


def spec_options(options: Mapping[str, object], *, root: Path | None = None,
                 where: str = "[tool.surveybib] exports") -> ExportOptions:
    """The options of one `exports` item -> ExportOptions. `keep` and `keys` may be a
    list or a comma-separated string; a `csl` file is taken relative to `root`."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name not in SPEC_OPTIONS:
            raise ConfigError(f"{where}: unknown option '{name}'; use {', '.join(SPEC_OPTIONS)}")
        if name in ("keep", "keys"):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise ConfigError(f"{where}: '{name}' must be a list of strings")
            cleaned = [i.strip() for i in items if i.strip()]
            if name == "keep":
                out["keep"] = frozenset(i.lower() for i in cleaned)
            else:
                out["keys"] = tuple(cleaned)
        elif name == "unicode":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: 'unicode' must be true or false")
            out["unicode"] = value
        elif not isinstance(value, str):
            raise ConfigError(f"{where}: '{name}' must be a string")
        elif name == "csl" and root is not None and (root / value).is_file():
            out["csl"] = str(root / value)
        else:
            out[name] = value
    return ExportOptions(**out)


def render_configured(entries: Sequence[Entry], settings: Settings
                      ) -> list[tuple[Path, Export]]:
    """The `[tool.surveybib] exports` that `build` writes: (absolute path, export) each.
    pybtex and citeproc-py are imported only if a formatted export is configured."""
    out: list[tuple[Path, Export]] = []
    skip = DEFAULT_SKIP | frozenset(settings.export_skip_fields)
    for number, spec in enumerate(settings.exports, 1):
        where = f"[tool.surveybib] exports item {number} ({spec.path})"
        options = replace(spec_options(dict(spec.options), root=settings.root, where=where),
                          group_by=settings.group_by, declared=settings.taxonomy,
                          skip_fields=skip)
        try:
            result, unknown = run_export(entries, spec.format, options)
        except UsageError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        missing = tuple(Rule.EXPORT_UNKNOWN_KEY.at(
            "pyproject.toml", None, key, f"{where} lists key '{key}', which is not in the "
            "bibliography", "export") for key in unknown)
        out.append((settings.root / spec.path,
                    Export(result.text, result.problems + missing, result.count)))
    return out
