"""Citation export: BibTeX, BibLaTeX, CSL-JSON, RIS and formatted references.

Entries come in merged with the metadata store (BibTeX field values, LaTeX
kept). What goes out, whatever the format:

- surveybib's own fields (`taxonomy`, `reader`, `venue`) and, by default,
  `file` and `abstract` are stripped (`keep` brings any of them back, the
  caller adds a configured skip list); empty fields are dropped; keys are
  kept as they are; whitespace inside a value is collapsed to one space.
- `doi` and `url` are written raw: LaTeX escapes (`\\_`, `\\%`, ...) are
  undone and a DOI loses its `https://doi.org/` or `doi:` prefix.
- Page ranges use `--` (BibTeX, BibLaTeX) or `-` (CSL-JSON), or are split
  into start and end (RIS).

Formatted references (`text`, `markdown`, `html`) are made by
`surveybib.export.formatted`, which imports pybtex or citeproc-py only when called.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypedDict

from surveybib.bibtex.parse import key_problem
from surveybib.config import Settings
from surveybib.errors import ConfigError, UsageError
from surveybib.identifiers import arxiv_id, is_arxiv_venue, strip_doi_prefix
from surveybib.latex import latex_problems, to_ascii_latex, to_text, url_from_latex
from surveybib.model import Entry, Person, Problem, parse_name, parse_names

# The formats people read (BibTeX and biblatex keep TeX: LaTeX reads them).
TEXT_FORMATS = frozenset({"csl-json", "ris", "text", "markdown", "html"})
FORMATS = ("bibtex", "biblatex", "csl-json", "ris", "text", "markdown", "html")
FORMATTED = frozenset({"text", "markdown", "html"})
PYBTEX_STYLES = ("plain", "unsrt", "alpha", "unsrtalpha")
SORTS = ("key", "year", "author")
CUSTOM_FIELDS = frozenset({"taxonomy", "reader", "venue"})
DEFAULT_SKIP = CUSTOM_FIELDS | {"file", "abstract"}
NAME_FIELDS = frozenset({"author", "editor", "translator", "bookauthor"})


@dataclass(frozen=True, slots=True)
class Export:
    """An export's text and what went wrong with single entries on the way."""

    text: str
    problems: tuple[Problem, ...] = ()
    count: int = 0  # entries written


# ---------------------------------------------------------------- entry points


def render_export(
    entries: Sequence[Entry],
    fmt: str,
    *,
    style: str | None = None,
    csl: str | None = None,
    unicode: bool = False,
    keep: frozenset[str] = frozenset(),
    skip_fields: frozenset[str] = DEFAULT_SKIP,
    sort: str | None = None,
) -> str:
    """Entries (merged, in the order wanted) -> the text of one export format."""
    return export_entries(entries, fmt, style=style, csl=csl, unicode=unicode, keep=keep,
                          skip_fields=skip_fields, sort=sort).text


def export_entries(
    entries: Sequence[Entry],
    fmt: str,
    *,
    style: str | None = None,
    csl: str | None = None,
    unicode: bool = False,
    keep: frozenset[str] = frozenset(),
    skip_fields: frozenset[str] = DEFAULT_SKIP,
    sort: str | None = None,
) -> Export:
    """Like render_export, and also the per-entry problems (an entry a style could
    not format as its type, a value BibTeX could not take as it was)."""
    check_options(fmt, style=style, csl=csl, sort=sort)
    strip = frozenset(f.lower() for f in skip_fields) - {f.lower() for f in keep}
    ordered = sort_entries(entries, sort) if sort else tuple(entries)
    if fmt in FORMATTED:
        from surveybib.export.formatted import format_references

        return format_references(ordered, fmt, style=style, csl=csl, strip=strip,
                                 sorted_by_user=sort is not None)
    if fmt == "bibtex":
        return to_bibtex(ordered, unicode=unicode, strip=strip)
    if fmt == "biblatex":
        return to_biblatex(ordered, strip=strip)
    if fmt == "csl-json":
        return Export(dump_csl_json(to_csl_json(ordered, strip=strip)), count=len(ordered))
    return Export(to_ris(ordered, strip=strip), count=len(ordered))


def run_export(
    entries: Sequence[Entry],
    fmt: str,
    *,
    keys: Sequence[str] | None = None,
    taxonomy: str | None = None,
    group_by: str = "taxonomy",
    declared: Sequence[str] = (),
    style: str | None = None,
    csl: str | None = None,
    unicode: bool = False,
    keep: frozenset[str] = frozenset(),
    skip_fields: frozenset[str] = DEFAULT_SKIP,
    sort: str | None = None,
) -> tuple[Export, tuple[str, ...]]:
    """Select (keys/taxonomy), order and render: what `surveybib export` and a configured
    export in `build` both do. Returns the export and the requested keys not found."""
    check_options(fmt, style=style, csl=csl, sort=sort)
    selected, unknown = select_entries(entries, keys=keys, taxonomy=taxonomy, group_by=group_by,
                                       declared=declared)
    result = export_entries(selected, fmt, style=style, csl=csl, unicode=unicode, keep=keep,
                            skip_fields=skip_fields | {group_by}, sort=sort)
    if fmt in TEXT_FORMATS:  # what is left of TeX there, a reader would see
        result = Export(result.text, result.problems + tuple(latex_problems(selected)),
                        result.count)
    return result, unknown


SPEC_OPTIONS = ("style", "csl", "unicode", "keep", "sort", "keys", "taxonomy")


class ExportOptions(TypedDict, total=False):
    """The run_export keywords a configured export may set."""

    style: str
    csl: str
    unicode: bool
    keep: frozenset[str]
    sort: str
    keys: list[str]
    taxonomy: str


def spec_options(options: Mapping[str, object], *, root: Path | None = None,
                 where: str = "[tool.surveybib] exports") -> ExportOptions:
    """The options of one `exports` item -> run_export keywords. `keep` and `keys` may
    be a list or a comma-separated string; a `csl` file is taken relative to `root`."""
    out = ExportOptions()
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
                out["keys"] = cleaned
        elif name == "unicode":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: 'unicode' must be true or false")
            out["unicode"] = value
        elif not isinstance(value, str):
            raise ConfigError(f"{where}: '{name}' must be a string")
        elif name == "csl" and root is not None and (root / value).is_file():
            out["csl"] = str(root / value)
        else:
            out[name] = value  # type: ignore[literal-required]
    return out


def render_configured(entries: Sequence[Entry], settings: Settings
                      ) -> list[tuple[Path, Export]]:
    """The `[tool.surveybib] exports` that `build` writes: (absolute path, export) each.
    pybtex and citeproc-py are imported only if a formatted export is configured."""
    out: list[tuple[Path, Export]] = []
    skip = DEFAULT_SKIP | frozenset(settings.export_skip_fields)
    for number, spec in enumerate(settings.exports, 1):
        where = f"[tool.surveybib] exports item {number} ({spec.path})"
        options = spec_options(dict(spec.options), root=settings.root, where=where)
        try:
            result, unknown = run_export(entries, spec.format, group_by=settings.group_by,
                                         declared=settings.taxonomy, skip_fields=skip,
                                         **options)
        except UsageError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        missing = tuple(Problem("pyproject.toml", None, key, f"{where} lists key '{key}', "
                                "which is not in the bibliography", "export",
                                rule="export-unknown-key") for key in unknown)
        out.append((settings.root / spec.path,
                    Export(result.text, result.problems + missing, result.count)))
    return out


def check_options(fmt: str, *, style: str | None = None, csl: str | None = None,
                  sort: str | None = None) -> None:
    """Raise UsageError for a format, style or sort surveybib does not have."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
    if style is not None and style not in PYBTEX_STYLES:
        raise UsageError(f"unknown style '{style}'; use one of {', '.join(PYBTEX_STYLES)}, "
                         "or --csl FILE for a CSL style")
    if (style or csl) and fmt not in FORMATTED:
        raise UsageError(f"--style and --csl apply to text, markdown and html, not to {fmt}")
    if style and csl:
        raise UsageError("give either --style (pybtex) or --csl (a CSL style file), not both")
    if sort is not None and sort not in SORTS:
        raise UsageError(f"unknown sort '{sort}'; use one of {', '.join(SORTS)}")


# ---------------------------------------------------------------- selection


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


def select_entries(
    entries: Sequence[Entry],
    *,
    keys: Sequence[str] | None = None,
    taxonomy: str | None = None,
    group_by: str = "taxonomy",
    declared: Sequence[str] = (),
) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Keep the entries named in `keys` (None: all) and, with `taxonomy`, those filed
    under that category, in bibliography order. A category's `T/...` sub-categories
    count only when T is in the `declared` taxonomy list (otherwise `/` is part of a
    name, as in `Survey/Review`).

    Returns (selected entries, requested keys that are not in the bibliography). The
    entries a selected one cross-references are kept too (BibTeX needs them)."""
    from surveybib.readme.render import split_categories

    by_key = {e.key: e for e in entries}
    names = frozenset(declared)
    unknown = tuple(dict.fromkeys(k for k in keys if k not in by_key)) if keys is not None else ()
    chosen = set(keys) if keys is not None else None
    wanted = taxonomy.strip().casefold() if taxonomy else None
    parent = wanted is not None and wanted in {d.casefold() for d in declared}
    selected = [
        e for e in entries
        if (chosen is None or e.key in chosen)
        and (wanted is None or _in_category(split_categories(
            e.get(group_by), names, commas=group_by != "taxonomy"), wanted, parent))
    ]
    have = {e.key for e in selected}
    for entry in list(selected):
        target = by_key.get(entry.get("crossref").strip())
        if target is not None and target.key not in have:
            selected.append(target)
            have.add(target.key)
    return tuple(selected), unknown


def check_category(taxonomy: str, entries: Sequence[Entry], *, group_by: str = "taxonomy",
                   declared: Sequence[str] = ()) -> None:
    """`--taxonomy T` must name a declared category or one an entry is filed under (any
    case); otherwise a UsageError with the hint `add` gives ("did you mean ...")."""
    from surveybib.lint import category_hint
    from surveybib.readme.render import split_categories

    names = frozenset(declared)  # looked up once per category of every entry
    known = list(dict.fromkeys([*declared, *(
        name for e in entries
        for name in split_categories(e.get(group_by), names, commas=group_by != "taxonomy"))]))
    wanted = taxonomy.strip().casefold()
    if any(k.casefold() == wanted for k in known):
        return
    hint = category_hint(taxonomy.strip(), known)
    listed = ", ".join(f"'{k}'" for k in known) or "none yet"
    raise UsageError(f"--taxonomy '{taxonomy.strip()}': no such category"
                     f"{'; ' + hint if hint else ''} (the categories: {listed})")


def _in_category(names: Sequence[str], wanted: str, parent: bool) -> bool:
    for name in names:
        name = name.casefold()
        if name == wanted or (parent and name.startswith(wanted + "/")):
            return True
    return False


def sort_entries(entries: Sequence[Entry], sort: str) -> tuple[Entry, ...]:
    """Order entries by `key`, `year` (oldest first) or `author` (first author's
    family name, then year and title); ties keep the bibliography's order."""
    if sort == "key":
        return tuple(sorted(entries, key=lambda e: e.key.casefold()))
    if sort == "year":
        return tuple(sorted(entries, key=_year_sort_key))
    if sort == "author":
        return tuple(sorted(entries, key=_author_sort_key))
    raise UsageError(f"unknown sort '{sort}'; use one of {', '.join(SORTS)}")


def _year_sort_key(entry: Entry) -> tuple[int, int]:
    match = re.search(r"\d{4}", entry.get("year") or entry.get("date"))
    return (0, int(match.group(0))) if match else (1, 0)


def _author_sort_key(entry: Entry) -> tuple[str, str, tuple[int, int], str]:
    people = parse_names(entry.get("author") or entry.get("editor"))
    first = people[0] if people else Person()
    family = first.literal or " ".join(p for p in (first.von, first.family) if p)
    return (to_text(family).casefold() or "\uffff", to_text(first.given).casefold(),
            _year_sort_key(entry), to_text(entry.get("title")).casefold())


# ---------------------------------------------------------------- shared field cleaning


def clean_doi(value: str) -> str:
    """A DOI field -> the bare DOI (`10.1145/...`)."""
    return strip_doi_prefix(url_from_latex(value))


def clean_fields(entry: Entry, strip: frozenset[str]) -> dict[str, str]:
    """The fields that go out: stripped ones and empty ones dropped, whitespace
    collapsed, `doi`/`url` raw, arXiv placeholders dropped beside a real venue. The first
    of two same-named fields wins."""
    out: dict[str, str] = {}
    for name, value in entry.fields:
        if name in strip or name in out:
            continue
        value = " ".join(value.split())
        if not value:
            continue
        if name == "doi":
            value = clean_doi(value)
        elif name == "url":
            value = url_from_latex(value)
        out[name] = value
    if any(out.get(name) and not is_arxiv_venue(out[name])
           for name in ("booktitle", "journal", "journaltitle")):
        # A published version that still carries its preprint's placeholders (DBLP's
        # `journal = {CoRR}`, `volume = {abs/...}`, as `enrich --upgrade` keeps them): the
        # venue is the real one, and eprint still names the arXiv version.
        out = {name: value for name, value in out.items() if not _arxiv_only(name, value)}
    return out


_RANGE = re.compile(r"^([^\s\-–—]+)\s*(?:-{1,3}|–|—|\\textendash(?:\{\})?|\\textemdash(?:\{\})?)"
                    r"\s*([^\s\-–—]+)$")


def page_range(value: str) -> tuple[tuple[str, str], ...]:
    """`12-34, 40` -> (('12', '34'), ('40', '')): each part's first and last page."""
    parts = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        match = _RANGE.match(part)
        parts.append((match.group(1), match.group(2)) if match else (part, ""))
    return tuple(parts)


def dash_pages(value: str, dash: str = "--") -> str:
    """Page ranges written with one dash style (`--` for BibTeX, `-` for CSL)."""
    return ", ".join(f"{a}{dash}{b}" if b else a for a, b in page_range(value))


MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_MONTHS = {name: i + 1 for i, name in enumerate(MONTH_MACROS)}
_MONTHS.update({name.lower(): i + 1 for i, name in enumerate(MONTH_NAMES)})
_MONTHS["sept"] = 9


@lru_cache(maxsize=256)
def month_number(value: str) -> int | None:
    """`5`, `05`, `May`, `may.`, `{May}` -> 5; None when it is not one month."""
    text = value.strip().strip("{}").strip().rstrip(".").lower()
    if text.isdecimal():  # not isdigit: "²" is a digit that int() refuses
        number = int(text) if len(text) <= 2 else 0  # 4,300 digits are more than int() takes
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(text)


def day_number(value: str) -> int | None:
    """`9`, `09` -> 9; None when it is not a day of a month."""
    text = value.strip()
    number = int(text) if text.isdecimal() and len(text) <= 2 else 0
    return number if 1 <= number <= 31 else None


def year_number(value: str) -> int | None:
    """`2024` -> 2024; None for `in press`, `2024a` and the like."""
    value = value.strip().strip("{}")
    return int(value) if len(value) == 4 and value.isdecimal() else None


# ---------------------------------------------------------------- arXiv


def _arxiv_only(name: str, value: str) -> bool:
    """A field of a preprint that only says "arXiv" (`journal = {arXiv preprint ...}`,
    DBLP's `volume = {abs/2112.05682}`): the arXiv id says it better."""
    if name in ("journal", "journaltitle", "howpublished"):
        return is_arxiv_venue(value)
    return name == "volume" and value.startswith("abs/")


def is_preprint(etype: str, fields: Mapping[str, str]) -> bool:
    """An arXiv preprint that is not (yet) anything else."""
    if not arxiv_id(fields) or fields.get("booktitle"):
        return False
    if etype in ("misc", "online", "electronic", "www", "unpublished", "preprint"):
        return not fields.get("journal")  or is_arxiv_venue(fields["journal"])
    if etype == "article":
        journal = fields.get("journal") or fields.get("journaltitle") or ""
        return not journal or is_arxiv_venue(journal)
    return False


# ---------------------------------------------------------------- names


# `(?<!\s)`: one try per run of spaces, not one per space (quadratic on a long run)
_AND = re.compile(r"(?<!\s)\s+and\s+", re.I)


def split_names(value: str) -> list[str]:
    """An author/editor field -> its names as written (split on top-level `and`)."""
    if "{" not in value:
        return [n.strip() for n in _AND.split(value) if n.strip()]
    names: list[str] = []
    depth = 0
    start = 0
    low = value.lower()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and char.isspace() and low.startswith("and", i + 1) \
                and i + 4 < len(value) and value[i + 4].isspace():
            names.append(value[start:i])
            i += 5
            start = i
            continue
        i += 1
    names.append(value[start:])
    return [n.strip() for n in names if n.strip()]


_ET_AL = re.compile(r"^(?:et\.?\s*al\.?|others)$", re.I)


def bibtex_name_list(value: str) -> list[str]:
    """The names of an author list as BibTeX should read them: no trailing commas,
    `et al.` as `others`. An organisation written `{Name}` stays one braced name."""
    out = []
    for name in split_names(value):
        name = name.rstrip(",").strip()
        if name:
            out.append("others" if _ET_AL.match(name) else name)
    return out


def bibtex_names(value: str) -> str:
    """An author list rewritten by bibtex_name_list, `and`-joined."""
    return " and ".join(bibtex_name_list(value))


# ---------------------------------------------------------------- case protection


_WORD_RUN = re.compile(r"[^\W_]+")
_HAS_DIGIT_AND_CAPITAL = re.compile(r"(?=.*\d)(?=.*[^\W\d_a-z])")


def _protect_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if not any(c.isupper() for c in run[1:]) and not (
        run[0].isupper() and any(c.isdigit() for c in run)
    ):
        return run
    stem = run[:-1]
    if run.endswith("s") and len(stem) >= 2 and stem.isupper():
        return "{" + stem + "}s"  # a plural acronym: {GPU}s, {LLM}s
    return "{" + run + "}"


@lru_cache(maxsize=1 << 14)
def protect_case(title: str) -> str:
    """Brace the words of a title that a style's case change would spoil: those with
    capitals after their first letter (`{LLM}`, `{GPU}s`, `{SpecInfer}`), letters
    mixed with digits (`{A100}`) and math with capitals (`{$O(n)$}`). A word that
    already has braces or a LaTeX command is left exactly as the user wrote it."""
    if "{" not in title and "\\" not in title and "$" not in title:
        return " ".join(_WORD_RUN.sub(_protect_run, w) for w in title.split(" "))
    return " ".join(_protect_word(w) for w in _top_level_words(title))


_MATH_SPAN = re.compile(r"\$[^$]*\$")


def _protect_word(word: str) -> str:
    if "{" in word:
        return word
    if "$" in word:
        if word.count("$") % 2:
            return word
        return _MATH_SPAN.sub(
            lambda m: "{" + m.group(0) + "}" if re.search("[A-Z]", m.group(0)) else m.group(0),
            word)
    if "\\" in word:
        return word
    return _WORD_RUN.sub(_protect_run, word)


def _top_level_words(text: str) -> list[str]:
    """Split on spaces outside braces and outside `$...$` math."""
    words: list[str] = []
    depth = 0
    math = False
    start = 0
    for i, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif char == "$" and (i == 0 or text[i - 1] != "\\"):
            math = not math
        elif char == " " and depth == 0 and not math:
            words.append(text[start:i])
            start = i + 1
    words.append(text[start:])
    return [w for w in words if w]


# ---------------------------------------------------------------- BibTeX


CLASSIC_TYPES = frozenset({
    "article", "book", "booklet", "conference", "inbook", "incollection", "inproceedings",
    "manual", "mastersthesis", "misc", "phdthesis", "proceedings", "techreport", "unpublished",
})
_TO_CLASSIC = {
    "report": "techreport", "mvbook": "book", "bookinbook": "inbook", "collection": "book",
    "mvcollection": "book", "reference": "book", "mvreference": "book",
    "inreference": "incollection", "suppbook": "inbook", "suppcollection": "incollection",
    "mvproceedings": "proceedings",
}
_TO_CLASSIC_FIELDS = {"journaltitle": "journal", "location": "address",
                      "eprinttype": "archiveprefix", "eprintclass": "primaryclass"}


def bibtex_type(etype: str, fields: Mapping[str, str]) -> str:
    """An entry type classic BibTeX styles know (biblatex-only types mapped)."""
    if etype in CLASSIC_TYPES:
        return etype
    if etype == "thesis":
        return "mastersthesis" if "master" in fields.get("type", "").lower() else "phdthesis"
    return _TO_CLASSIC.get(etype, "misc")


def to_bibtex(entries: Sequence[Entry], *, unicode: bool = False,
              strip: frozenset[str] = DEFAULT_SKIP) -> Export:
    """Entries -> a .bib for classic 8-bit BibTeX (or UTF-8 BibTeX with `unicode`)."""
    problems: list[Problem] = []
    blocks = []
    for entry in crossref_last(readable_keys(entries, "BibTeX", problems)):
        fields = classic_fields(clean_fields(entry, strip))
        etype = bibtex_type(entry.type, fields)
        lines = [f"@{etype}{{{entry.key},"]
        for name, value in fields.items():
            lines.append(f"  {name} = {_bibtex_value(entry, name, value, unicode, problems)},")
        if len(lines) > 1:
            lines[-1] = lines[-1].rstrip(",")
        blocks.append("\n".join(lines) + "\n}\n")
    return Export("\n".join(blocks), tuple(problems), len(blocks))


def readable_keys(entries: Sequence[Entry], what: str, problems: list[Problem]
                  ) -> list[Entry]:
    """The entries whose key BibTeX and biber can read; each other one is an error."""
    kept = []
    for entry in entries:
        why = key_problem(entry.key)
        if why is None:
            kept.append(entry)
        else:
            problems.append(Problem(entry.path, entry.line, entry.key, f"{why}; left out of the "
                                    f"{what} export (BibTeX and biber cannot read it)", "export",
                                    rule="bad-key"))
    return kept


def classic_fields(fields: dict[str, str]) -> dict[str, str]:
    """biblatex field names -> BibTeX's, where the BibTeX one is not there already."""
    if not any(name in fields for name in (*_TO_CLASSIC_FIELDS, "date")):
        return fields
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name == "date" and "year" not in fields:
            year, month, _ = _split_date(value)
            if year:
                out.setdefault("year", year)
                if month and "month" not in fields:
                    out.setdefault("month", month)
                continue
        target = _TO_CLASSIC_FIELDS.get(name, name)
        if target != name and target in fields:
            target = name
        out.setdefault(target, value)
    return out


def _split_date(value: str) -> tuple[str, str, str]:
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not match:
        return "", "", ""
    return match.group(1), match.group(2) or "", match.group(3) or ""


def _bibtex_value(entry: Entry, name: str, value: str, unicode: bool,
                  problems: list[Problem]) -> str:
    if name in ("doi", "url"):
        return "{" + _balanced_link(value) + "}"
    if name == "month":
        number = month_number(value)
        if number:
            return MONTH_MACROS[number - 1]
    elif name in NAME_FIELDS:
        value = bibtex_names(value)
    elif name == "title":
        value = protect_case(value)
    elif name == "pages":
        value = dash_pages(value)
    if not unicode:
        value = to_ascii_latex(value)
    return "{" + balance_braces(entry, name, value, problems) + "}"


def balance_braces(entry: Entry, name: str, value: str, problems: list[Problem]) -> str:
    """A value BibTeX can read: escaped braces that unbalance it (metadata escapes a lone
    `{` as `\\{`, and BibTeX counts it) become \\textbraceleft{}/\\textbraceright{};
    if it is still unbalanced its braces go, and that is reported."""
    if brace_balanced(value):
        return value
    fixed = value.replace("\\{", "\\textbraceleft{}").replace("\\}", "\\textbraceright{}")
    if brace_balanced(fixed):
        return fixed
    problems.append(Problem(entry.path, entry.line, entry.key,
                            f"field '{name}' has unbalanced braces; written without braces",
                            "export", level="warning", rule="export-braces"))
    return value.replace("{", "").replace("}", "")


def _balanced_link(value: str) -> str:
    if brace_balanced(value):
        return value
    return value.replace("{", "%7B").replace("}", "%7D")


def brace_balanced(value: str) -> bool:
    """True when BibTeX, which counts every brace (escaped or not), sees them matched."""
    if "{" not in value and "}" not in value:
        return True
    depth = 0
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def crossref_last(entries: Sequence[Entry]) -> list[Entry]:
    """BibTeX needs a cross-referenced entry after every entry that refers to it."""
    targets = {e.get("crossref").strip() for e in entries if e.get("crossref").strip()}
    if not targets:
        return list(entries)
    return ([e for e in entries if e.key not in targets]
            + [e for e in entries if e.key in targets])


# ---------------------------------------------------------------- BibLaTeX


_TO_BIBLATEX_FIELDS = {"journal": "journaltitle", "address": "location",
                       "archiveprefix": "eprinttype", "primaryclass": "eprintclass",
                       "articleno": "eid", "numpages": "pagetotal"}


def to_biblatex(entries: Sequence[Entry], *, strip: frozenset[str] = DEFAULT_SKIP) -> Export:
    """Entries -> a UTF-8 .bib for biblatex/biber: `date`, `journaltitle`,
    `eprint`/`eprinttype = {arxiv}`, `@online` for preprints and web pages."""
    problems: list[Problem] = []
    blocks = []
    for entry in crossref_last(readable_keys(entries, "BibLaTeX", problems)):
        etype, fields = biblatex_fields(entry.type, clean_fields(entry, strip))
        lines = [f"@{etype}{{{entry.key},"]
        for name, value in fields.items():
            lines.append(f"  {name} = {_biblatex_value(entry, name, value, problems)},")
        if len(lines) > 1:
            lines[-1] = lines[-1].rstrip(",")
        blocks.append("\n".join(lines) + "\n}\n")
    return Export("\n".join(blocks), tuple(problems), len(blocks))


def biblatex_fields(etype: str, fields: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(type, fields) in biblatex's terms."""
    aid = arxiv_id(fields)
    preprint = is_preprint(etype, fields)
    if preprint or (etype in ("misc", "electronic", "www") and "url" in fields and not any(
            f in fields for f in ("publisher", "institution", "organization", "howpublished"))):
        etype = "online"
    year = fields.get("year", "")
    month = month_number(fields["month"]) if "month" in fields else None
    day = fields.get("day", "").strip()
    date = ""
    if year_number(year) and "date" not in fields and ("month" not in fields or month):
        date = year + (f"-{month:02d}" if month else "")
        if month and (number := day_number(day)):
            date += f"-{number:02d}"
        else:
            day = ""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name == "year" and date:
            out["date"] = date
            continue
        if (name == "month" and date) or (name == "day" and date and day):
            continue
        if preprint and _arxiv_only(name, value):
            continue  # the venue is arXiv itself: eprint says it
        if aid and name in ("archiveprefix", "eprinttype"):
            continue
        target = _TO_BIBLATEX_FIELDS.get(name, name)
        if target != name and target in fields:
            target = name
        out.setdefault(target, value)
    if aid:
        out["eprint"] = aid
        out["eprinttype"] = "arxiv"
    return etype, out


def _biblatex_value(entry: Entry, name: str, value: str, problems: list[Problem]) -> str:
    if name in ("doi", "url", "eprint"):
        return "{" + _balanced_link(value) + "}"
    if name in NAME_FIELDS:
        value = bibtex_names(value)
    elif name == "title":
        value = protect_case(value)
    elif name == "pages":
        value = dash_pages(value)
    elif name == "month" and month_number(value):
        value = str(month_number(value))
    return "{" + balance_braces(entry, name, value, problems) + "}"


# ---------------------------------------------------------------- CSL-JSON


_CSL_TYPES = {
    "article": "article-journal", "inproceedings": "paper-conference",
    "conference": "paper-conference", "incollection": "chapter", "inbook": "chapter",
    "bookinbook": "chapter", "suppbook": "chapter", "suppcollection": "chapter",
    "book": "book", "mvbook": "book", "collection": "book", "mvcollection": "book",
    "proceedings": "book", "mvproceedings": "book", "reference": "book",
    "inreference": "entry-encyclopedia", "phdthesis": "thesis", "mastersthesis": "thesis",
    "thesis": "thesis", "techreport": "report", "report": "report", "manual": "report",
    "booklet": "pamphlet", "unpublished": "manuscript", "online": "webpage",
    "electronic": "webpage", "www": "webpage", "software": "software", "dataset": "dataset",
    "patent": "patent", "periodical": "periodical", "misc": "document",
}
_CSL_TEXT = {
    "volume": "volume", "edition": "edition", "isbn": "ISBN", "issn": "ISSN",
    "note": "note", "abstract": "abstract", "language": "language", "series": "collection-title",
    "chapter": "chapter-number", "version": "version", "keywords": "keyword",
    "howpublished": "medium",
}
_CSL_PUBLISHER = ("publisher", "institution", "school", "organization")


def csl_type(etype: str, fields: Mapping[str, str]) -> str:
    """The CSL item type of a BibTeX entry (`article` for an arXiv preprint)."""
    if is_preprint(etype, fields):
        return "article"
    if etype in ("misc", "online", "electronic", "www") and "url" in fields and not any(
            f in fields for f in ("publisher", "institution", "organization", "howpublished")):
        return "webpage"
    return _CSL_TYPES.get(etype, "document")


def to_csl_json(entries: Sequence[Entry], *,
                strip: frozenset[str] = DEFAULT_SKIP) -> list[dict[str, object]]:
    """Entries -> CSL-JSON items (plain Unicode text; names as family/given or literal)."""
    parents = {e.key: e for e in entries}
    return [csl_item(entry, _inherit(entry, parents, strip)) for entry in entries]


def _inherit(entry: Entry, parents: Mapping[str, Entry], strip: frozenset[str]
             ) -> dict[str, str]:
    """An entry's fields with the ones it lacks taken from its `crossref` parent."""
    fields = clean_fields(entry, strip)
    parent = parents.get(fields.get("crossref", ""))
    if parent is None:
        return fields
    for name, value in clean_fields(parent, strip).items():
        if name == "title" and parent.type in ("proceedings", "book", "collection"):
            name = "booktitle"
        if name not in ("key", "crossref") and name not in fields:
            fields[name] = value
    return fields


def csl_item(entry: Entry, fields: dict[str, str]) -> dict[str, object]:
    """One entry's CSL-JSON item (fields already cleaned)."""
    etype = csl_type(entry.type, fields)
    item: dict[str, object] = {"id": entry.key, "type": etype}
    for role in ("author", "editor", "translator"):
        if role in fields:
            names = csl_names(fields[role])
            if names:
                item[role] = names
    issued = csl_date(fields)
    if issued:
        item["issued"] = issued
    for name, value in fields.items():
        target = _CSL_TEXT.get(name)
        if target and not (etype == "article" and _arxiv_only(name, value)):
            item[target] = to_text(value)
    if "title" in fields:
        item["title"] = to_text(fields["title"])
    container = fields.get("journal") or fields.get("journaltitle") or fields.get("booktitle")
    if container and not (etype == "article" and is_arxiv_venue(container)):
        item["container-title"] = to_text(container)
    publisher = next((fields[p] for p in _CSL_PUBLISHER if p in fields), "")
    if publisher:
        item["publisher"] = to_text(publisher)
    place = fields.get("address") or fields.get("location")
    if place:
        item["publisher-place"] = to_text(place)
    if "pages" in fields:
        item["page"] = to_text(dash_pages(fields["pages"], "-"))
    _csl_numbers(entry.type, fields, item)
    if "doi" in fields:
        item["DOI"] = fields["doi"]
    if "url" in fields:
        item["URL"] = fields["url"]
    if etype == "thesis":
        item["genre"] = to_text(fields.get("type") or (
            "Master's thesis" if entry.type == "mastersthesis" else "PhD thesis"))
    if etype == "article":
        item["number"] = "arXiv:" + arxiv_id(fields)
        item.setdefault("publisher", "arXiv")
    return item


def _csl_numbers(etype: str, fields: Mapping[str, str], item: dict[str, object]) -> None:
    number = fields.get("number", "")
    issue = fields.get("issue", "")
    if etype == "article":
        issue = issue or number
        number = ""
    if issue:
        item["issue"] = to_text(issue)
    if number:
        key = "collection-number" if etype in ("inproceedings", "incollection", "book",
                                               "proceedings", "inbook") else "number"
        item[key] = to_text(number)
    article_number = fields.get("eid") or fields.get("articleno")
    if article_number:
        item["number"] = to_text(article_number)


def csl_names(value: str) -> list[dict[str, str]]:
    """An author list -> CSL names: family/given (von as non-dropping-particle, jr as
    suffix), `literal` for an organisation, and BibTeX's `others` as the literal
    "others" (as Pandoc reads it; its citeproc renders "et al.")."""
    return [dict(parts) for parts in map(_csl_name, bibtex_name_list(value)) if parts]


@lru_cache(maxsize=1 << 14)
def _csl_name(name: str) -> tuple[tuple[str, str], ...]:
    person = parse_name(name)
    if person.literal.strip():
        return (("literal", to_text(person.literal)),)
    if not person.family.strip():
        return ()  # `{}` or a stray separator: no name to give
    if person.family == "others" and not person.given:
        return (("literal", "others"),)
    parts = [("family", to_text(person.family))]
    if person.given:
        parts.append(("given", to_text(person.given)))
    if person.von:
        parts.append(("non-dropping-particle", to_text(person.von)))
    if person.jr:
        parts.append(("suffix", to_text(person.jr)))
    return tuple(parts)


def csl_date(fields: Mapping[str, str]) -> dict[str, object] | None:
    """`issued` from year/month/day or a biblatex `date`: date-parts, else a literal."""
    if "date" in fields and "year" not in fields:
        parts = [int(p) for p in _split_date(fields["date"]) if p]
        if parts:
            return {"date-parts": [parts]}
        return {"literal": to_text(fields["date"])}
    year_text = fields.get("year", "")
    if not year_text:
        return None
    year = year_number(year_text)
    if year is None:
        return {"literal": to_text(year_text)}
    date: list[int] = [year]
    month = month_number(fields.get("month", "")) if "month" in fields else None
    if month:
        date.append(month)
        day = day_number(fields.get("day", ""))
        if day:
            date.append(day)
    return {"date-parts": [date]}


def dump_csl_json(items: Sequence[Mapping[str, object]]) -> str:
    """CSL-JSON text: sorted keys, two-space indent, UTF-8 kept, final newline."""
    return json.dumps(list(items), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------- RIS


_RIS_TYPES = {
    "article": "JOUR", "inproceedings": "CPAPER", "conference": "CPAPER",
    "incollection": "CHAP", "inbook": "CHAP", "book": "BOOK", "mvbook": "BOOK",
    "collection": "EDBOOK", "proceedings": "CONF", "phdthesis": "THES", "mastersthesis": "THES",
    "thesis": "THES", "techreport": "RPRT", "report": "RPRT", "manual": "RPRT",
    "booklet": "PAMP", "unpublished": "UNPB", "online": "ELEC", "electronic": "ELEC",
    "www": "ELEC", "software": "COMP", "dataset": "DATA", "patent": "PAT", "misc": "GEN",
}


def ris_type(etype: str, fields: Mapping[str, str]) -> str:
    """The RIS `TY` of a BibTeX entry (`UNPB` for an arXiv preprint)."""
    if is_preprint(etype, fields):
        return "UNPB"
    return _RIS_TYPES.get(etype, "GEN")


def to_ris(entries: Sequence[Entry], *, strip: frozenset[str] = DEFAULT_SKIP) -> str:
    """Entries -> RIS records (`TY` ... `ER`), one blank line between records."""
    parents = {e.key: e for e in entries}
    return "\n".join(ris_record(e, _inherit(e, parents, strip)) for e in entries)


def ris_record(entry: Entry, fields: dict[str, str]) -> str:
    """One entry as an RIS record."""
    lines = [("TY", ris_type(entry.type, fields)), ("ID", entry.key)]
    for role, tag in (("author", "AU"), ("editor", "A2")):
        for name in bibtex_name_list(fields.get(role, "")):
            text = _ris_name(name)
            if text:
                lines.append((tag, text))
    lines.append(("TI", fields.get("title", "")))
    container = fields.get("journal") or fields.get("journaltitle") or fields.get("booktitle")
    if container and not is_arxiv_venue(container):
        lines.append(("T2", container))
    lines.append(("T3", fields.get("series", "")))
    lines.append(("PY", fields.get("year", "") or _split_date(fields.get("date", ""))[0]))
    month = month_number(fields.get("month", "")) if "month" in fields else None
    year = year_number(fields.get("year", ""))
    if year and month:
        lines.append(("DA", f"{year}/{month:02d}//"))
    preprint = is_preprint(entry.type, fields)
    volume = fields.get("volume", "")
    lines.append(("VL", "" if preprint and _arxiv_only("volume", volume) else volume))
    issue = fields.get("issue") or (fields.get("number", "") if entry.type == "article" else "")
    lines.append(("IS", issue))
    if "pages" in fields:
        ranges = page_range(fields["pages"])
        if ranges:
            lines.append(("SP", ranges[0][0]))
            lines.append(("EP", ranges[-1][1] or ""))
    lines.append(("C7", fields.get("eid") or fields.get("articleno") or ""))
    lines.append(("PB", next((fields[p] for p in _CSL_PUBLISHER if p in fields), "")))
    lines.append(("CY", fields.get("address") or fields.get("location") or ""))
    lines.append(("ET", fields.get("edition", "")))
    lines.append(("SN", fields.get("isbn") or fields.get("issn") or ""))
    aid = arxiv_id(fields)
    if aid:
        lines.append(("M1", f"arXiv:{aid}"))
    lines.append(("AB", fields.get("abstract", "")))
    lines.append(("N1", fields.get("note", "")))
    lines.append(("DO", fields.get("doi", "")))
    lines.append(("UR", fields.get("url", "")))
    text = "".join(f"{tag}  - {_ris_text(tag, value)}\n" for tag, value in lines if value)
    return text + "ER  - \n"


def _ris_text(tag: str, value: str) -> str:
    if tag in ("DO", "UR", "ID", "TY", "DA", "M1"):
        return value
    return to_text(value)


@lru_cache(maxsize=1 << 14)
def _ris_name(name: str) -> str:
    person = parse_name(name)
    if person.literal:
        return to_text(person.literal)
    if person.family == "others" and not person.given:
        return ""
    family = " ".join(p for p in (person.von, person.family) if p)
    parts = [to_text(family)]
    if person.given or person.jr:
        parts.append(to_text(person.given))
    if person.jr:
        parts.append(to_text(person.jr))
    return ", ".join(parts)
