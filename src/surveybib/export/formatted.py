"""Formatted references: pybtex's styles through pybtex's backends, or any CSL style
through citeproc-py, as plain text, markdown or HTML.

pybtex gets its BibliographyData built straight from our entries (no second parse),
so the cost is pybtex's formatting and nothing else. Both libraries are imported
only here and only when a formatted export is asked for. Everything that came
from the data is escaped in HTML and markdown, and only http(s), ftp and mailto
links become links.
"""

from __future__ import annotations

import html
import io
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from surveybib.bibtex.dates import MONTH_NAMES, month_number
from surveybib.bibtex.names import bibtex_name_list
from surveybib.bibtex.write import balance_braces, dash_pages, protect_case
from surveybib.errors import UsageError
from surveybib.export.base import Export, ExportOptions, braces_problem
from surveybib.export.csl_json import to_csl_json
from surveybib.export.fields import clean_fields
from surveybib.files import read_regular
from surveybib.latex import to_text
from surveybib.limits import MAX_BRACE_DEPTH, MAX_TEXT_BYTES
from surveybib.model import Entry, Level, Problem
from surveybib.readme.markdown import md_escape
from surveybib.rules import Rule

_BRACE = re.compile("[{}]")
STYLES_DIR = Path(__file__).resolve().parent / "styles"
BUNDLED_CSL = "surveybib-numeric"
_SAFE_SCHEME = re.compile(r"^(?:https?|ftp)://[^\s]|^mailto:[^\s]", re.I)


def format_references(fmt: str, entries: Sequence[Entry], options: ExportOptions) -> Export:
    """Entries -> formatted references (`text`, `markdown` or `html`)."""
    if options.csl:
        return format_with_csl(entries, fmt, csl_path(options.csl), strip=options.strip)
    return format_with_pybtex(entries, fmt, options.style or "plain", strip=options.strip,
                              keep_order=options.sort is not None)


# ---------------------------------------------------------------- pybtex


def pybtex_data(entries: Sequence[Entry], strip: frozenset[str]
                ) -> tuple[Any, list[Problem]]:
    """Our entries as pybtex's BibliographyData (fields as BibTeX values, titles with
    the same case protection as the BibTeX export)."""
    from pybtex.database import BibliographyData
    from pybtex.database import Entry as PybtexEntry
    from pybtex.database import Person as PybtexPerson

    data = BibliographyData()
    problems: list[Problem] = []
    for entry in entries:
        if entry.key in data.entries:  # pybtex's keys are case-insensitive
            problems.append(_problem(entry, "a key that differs only in case was exported "
                                            "already; this entry is left out"))
            continue
        deep = next((name for name, value in entry.fields
                     if brace_depth(value) > MAX_BRACE_DEPTH), None)
        if deep is not None:  # pybtex reads and formats nested braces recursively
            problems.append(_problem(entry, f"field '{deep}' nests braces more than "
                                            f"{MAX_BRACE_DEPTH} deep; this entry is left out"))
            continue
        fields = clean_fields(entry, strip)
        for name, value in fields.items():
            if name not in ("doi", "url"):
                fields[name], ok = balance_braces(value)
                if not ok:
                    problems.append(braces_problem(entry, name))
        persons = {role: [_person(PybtexPerson(name))
                          for name in bibtex_name_list(fields.pop(role))]
                   for role in ("author", "editor") if role in fields}
        fields = {name: value if name in ("doi", "url", "pages") else _plain(value)
                  for name, value in fields.items()}
        if "title" in fields:
            fields["title"] = _protected(fields["title"], entry.get("title"))
        if "pages" in fields:
            fields["pages"] = dash_pages(fields["pages"])
        if "month" in fields and month_number(fields["month"]):
            fields["month"] = MONTH_NAMES[(month_number(fields["month"]) or 1) - 1]
        pybtex_entry = PybtexEntry(entry.type, fields=fields, persons=persons)
        pybtex_entry.key = entry.key
        data.entries[entry.key] = pybtex_entry
    return data, problems


def _plain(value: str) -> str:
    """A field value as plain Unicode (latex.to_text: no TeX left), written so that
    pybtex's own LaTeX reading keeps it as it is (`%` would start a comment there)."""
    text = to_text(value).replace("{", "").replace("}", "")
    return text.replace("\\", r"\textbackslash ").replace("%", r"\%")


_COMMAND_BEFORE = re.compile(r"\\(?:[A-Za-z]+|[\"'^`~=.])\s*$")


def _protected(text: str, raw: str) -> str:
    """A converted title with the case protection its TeX had: what the user braced and
    its math stay as written when a style changes the case, and so do the words the
    BibTeX export protects (capitals inside a word, letters with digits)."""
    phrases = {_plain(group) for group in _braced_groups(raw)}
    phrases |= {_plain(math.group(0)) for math in _MATH.finditer(raw)}
    phrases = {p for p in phrases if p.strip() and p in text}
    if phrases:
        pattern = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
        text = re.sub(pattern, lambda m: "{" + m.group(0) + "}", text)
    return protect_case(text)


def _braced_groups(raw: str) -> list[str]:
    """The top-level {...} groups of a value that are not a command's argument."""
    groups: list[str] = []
    depth = start = 0
    for index, char in enumerate(raw):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0 and not _COMMAND_BEFORE.search(raw[:start]):
                groups.append(raw[start:index + 1])
    return groups


_MATH = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])+(?<!\\)\$")


def _person(person: Any) -> Any:
    """A pybtex Person whose name parts are plain Unicode (split first, as BibTeX does,
    so a braced organisation stays one name)."""
    from pybtex.database import Person as PybtexPerson

    def part(names: list[str]) -> str:  # a braced name ({OpenAI}) stays one braced name
        return " ".join("{" + _plain(name[1:-1]) + "}" if _braced_groups(name) == [name]
                        else _plain(name) for name in names)

    return PybtexPerson(first=part(person.first_names), middle=part(person.middle_names),
                        prelast=part(person.prelast_names), last=part(person.last_names),
                        lineage=part(person.lineage_names))


def format_with_pybtex(entries: Sequence[Entry], fmt: str, style: str, *,
                       strip: frozenset[str] = frozenset(), keep_order: bool = False) -> Export:
    """Format with a pybtex style (plain, unsrt, alpha, unsrtalpha)."""
    import pybtex.errors
    from pybtex.plugin import find_plugin

    by_key = {e.key: e for e in entries}
    with pybtex.errors.capture() as captured:
        data, problems = pybtex_data(entries, strip)
        style_class = find_plugin("pybtex.style.formatting", style)
        formatter = style_class(sorting_style="none" if keep_order else None)
        ordered = formatter.sort(list(data.entries.values()))
        labels = list(formatter.format_labels(ordered))
        backend = _pybtex_backend(fmt)
        rendered: list[tuple[str, str, str]] = []
        for label, pybtex_entry in zip(labels, ordered, strict=True):
            text = _format_one(formatter, label, pybtex_entry, data, by_key, problems)
            if text is not None:
                rendered.append((pybtex_entry.key, label, text.render(backend)))
    source = entries[0].path if entries else ""
    for error in captured:  # not tied to an entry by pybtex (a name it could not split)
        problems.append(Rule.EXPORT_FORMAT.at(source, None, None, f"pybtex: {error}", "export"))
    return Export(_write(fmt, rendered, backend), tuple(problems), len(rendered))


def _format_one(formatter: Any, label: str, pybtex_entry: Any, data: Any,
                by_key: dict[str, Entry], problems: list[Problem]) -> Any:
    """One formatted entry; an entry missing a field its type needs is formatted as
    @misc (which needs none) and reported, rather than failing the export."""
    from pybtex.database import Entry as PybtexEntry
    from pybtex.exceptions import PybtexError

    entry = by_key.get(pybtex_entry.key)
    kind = pybtex_entry.type
    if hasattr(formatter, f"get_{kind}_template") or hasattr(formatter, f"format_{kind}"):
        try:
            return formatter.format_entry(label, pybtex_entry, bib_data=data).text
        except PybtexError as exc:
            reason = str(exc)
    else:
        reason = f"the style has no @{kind}"
    fallback = PybtexEntry("misc", fields=pybtex_entry.fields, persons=pybtex_entry.persons)
    fallback.key = pybtex_entry.key
    try:
        text = formatter.format_entry(label, fallback, bib_data=data).text
    except PybtexError as exc:
        if entry is not None:
            problems.append(_problem(entry, f"cannot be formatted ({exc}); left out"))
        return None
    if entry is not None:
        problems.append(_problem(entry, f"{reason}; formatted as @misc", level="warning"))
    return text


def brace_depth(value: str) -> int:
    """How deep braces nest in a value (escaped ones count, as BibTeX counts them)."""
    if "{" not in value:
        return 0
    depth = deepest = 0
    for match in _BRACE.finditer(value):
        depth = depth + 1 if match.group() == "{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _problem(entry: Entry, message: str, level: Level = "error") -> Problem:
    return Rule.EXPORT_FORMAT.at(entry.path, entry.line, entry.key, message, "export", level)


def _pybtex_backend(fmt: str) -> Any:
    from pybtex.backends import html as html_backend
    from pybtex.backends import markdown as markdown_backend
    from pybtex.backends import plaintext

    class HtmlBackend(html_backend.Backend):  # type: ignore[misc]
        """pybtex's HTML, with the link target escaped and limited to safe schemes,
        and without spans around case-protected text (which only matters to LaTeX)."""

        def format_protected(self, text: str) -> str:
            return text

        def format_href(self, url: str, text: str, external: bool = False) -> str:
            return _link(url, text, lambda: f'<a href="{html.escape(url, quote=True)}">'
                                            f'{text}</a>')

    class MarkdownBackend(markdown_backend.Backend):  # type: ignore[misc]
        """pybtex's markdown, with link targets percent-encoded and safe schemes only."""

        def format_href(self, url: str, text: str, external: bool = False) -> str:
            return _link(url, text, lambda: f"[{text}]({_markdown_url(url)})")

    if fmt == "html":
        return HtmlBackend()
    if fmt == "markdown":
        return MarkdownBackend()
    return plaintext.Backend()


def _link(url: str, text: str, link: Callable[[], str]) -> str:
    """A link to `url` only for the safe schemes (http(s), ftp, mailto); else the text."""
    if not text:
        return ""
    return link() if _SAFE_SCHEME.match(url) else text


def _markdown_url(url: str) -> str:
    return quote(url, safe="/:?#@!$&'*+,;=%~-._")


def _write(fmt: str, rendered: Sequence[tuple[str, str, str]], backend: Any) -> str:
    if fmt == "html":
        rows = [f'<dt id="ref-{html.escape(key, quote=True)}">[{html.escape(label)}]</dt>\n'
                f"<dd>{text}</dd>\n" for key, label, text in rendered]
        return '<dl class="references">\n' + "".join(rows) + "</dl>\n"
    if fmt == "markdown":
        return "\n".join(f"\\[{backend.format_str(label)}\\] {text}\n"
                         for _, label, text in rendered)
    return "".join(f"[{label}] {text}\n" for _, label, text in rendered)


# ---------------------------------------------------------------- CSL (citeproc-py)


def csl_path(csl: str) -> Path:
    """A CSL style: a file path, or the name of a style bundled with surveybib."""
    path = Path(csl)
    if path.is_file():
        return path
    bundled = STYLES_DIR / f"{csl.removesuffix('.csl')}.csl"
    if "/" not in csl and bundled.is_file():
        return bundled
    names = ", ".join(sorted(p.stem for p in STYLES_DIR.glob("*.csl")))
    raise UsageError(f"CSL style '{csl}': no such file (bundled styles: {names})")


def format_with_csl(entries: Sequence[Entry], fmt: str, style_path: Path, *,
                    strip: frozenset[str] = frozenset()) -> Export:
    """Format with a CSL style file through citeproc-py."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter

    items = to_csl_json(entries, strip=strip)
    if fmt != "text":  # citeproc-py escapes its own terms but not the data: we do
        escape = _md_text if fmt == "markdown" else _html_escape
        items = [_escaped(item, escape) for item in items]
    # citeproc-py lower-cases ids; ours are positions, so keys differing in case survive.
    ids = [f"item{i}" for i in range(len(items))]
    keys = {ident: item["id"] for ident, item in zip(ids, items, strict=True)}
    output = {"text": formatter.plain, "html": formatter.html, "markdown": _MARKDOWN}[fmt]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # citeproc-py warns about every CSL feature it skips
        style = _load_csl(style_path)
        source = _csl_source([{**item, "id": ident} for ident, item in zip(ids, items,
                                                                          strict=True)])
        bibliography = CitationStylesBibliography(style, source, output)
        for ident in ids:
            bibliography.register(Citation([CitationItem(ident)]))
        bibliography.sort()
        rendered = [str(text) for text in bibliography.bibliography()]
    order = [str(keys[key]) for key in bibliography.keys]
    return Export(_write_csl(fmt, list(zip(order, rendered, strict=True))), count=len(rendered))


def _html_escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def _escaped(value: Any, escape: Any) -> Any:
    """Every string of a CSL item escaped (ids and types are not data shown)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [_escaped(v, escape) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ("id", "type") else _escaped(v, escape) for k, v in value.items()}
    return value


def _load_csl(path: Path) -> Any:
    from citeproc import CitationStylesStyle

    data = read_regular(path, MAX_TEXT_BYTES, str(path))  # a style is a few hundred KB
    try:
        return CitationStylesStyle(io.BytesIO(data), validate=False)
    except (SyntaxError, OSError, ValueError, KeyError, AttributeError) as exc:  # lxml's
        # XMLSyntaxError is a SyntaxError; the others come from XML that is not CSL
        raise UsageError(f"{path}: not a readable CSL style ({exc})") from None


def _csl_source(items: list[dict[str, object]]) -> Any:
    from citeproc.source.json import CiteProcJSON

    return CiteProcJSON(items)


def _write_csl(fmt: str, rendered: Sequence[tuple[str, str]]) -> str:
    if fmt == "html":
        rows = [f'  <div class="csl-entry" id="ref-{html.escape(key, quote=True)}">{text}</div>\n'
                for key, text in rendered]
        return '<div class="csl-bib-body">\n' + "".join(rows) + "</div>\n"
    if fmt == "markdown":
        return "\n".join(f"{text}\n" for _, text in rendered)
    return "".join(f"{text}\n" for _, text in rendered)


def _md_text(text: object) -> str:
    return md_escape(str(text))


def _md_wrap(before: str, after: str) -> Any:
    return lambda text: f"{before}{text}{after}" if str(text) else ""


# A citeproc-py formatter (a module-like namespace) that writes markdown.
_MARKDOWN = SimpleNamespace(
    preformat=_md_text,
    Italic=_md_wrap("*", "*"),
    Oblique=_md_wrap("*", "*"),
    Bold=_md_wrap("**", "**"),
    Light=str,
    Underline=str,
    Superscript=_md_wrap("<sup>", "</sup>"),
    Subscript=_md_wrap("<sub>", "</sub>"),
    SmallCaps=str,
)
