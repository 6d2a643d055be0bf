"""`surveybib init`: the files of a new survey repository, from packaged templates.

`plan_new` lists every file of a new survey and refuses (naming each one) when any of
them exists; `plan_here` fills in only what an existing survey lacks. `write_files`
creates them atomically and never replaces a file that appeared meanwhile.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from surveybib import __version__
from surveybib.bibtex.parse import parse_bib
from surveybib.config import DEFAULT_TITLE, Settings, load_settings
from surveybib.errors import SurveybibError, UsageError
from surveybib.files import write_bytes_atomic, write_new_atomic
from surveybib.issueform import FORM_PATH, LABEL, render_form
from surveybib.readme.taxonomy import split_categories
from surveybib.scaffold.text import render
from surveybib.survey import read_bib

CHECK_WORKFLOW = ".github/workflows/check.yml"
ADD_WORKFLOW = ".github/workflows/add-paper.yml"
_UNSAFE_SPEC = set("'\"`$\\") | {chr(c) for c in range(0x20)} | {"\x7f"}


class InitRefused(SurveybibError):
    """init would overwrite files that exist (exit 1); the message names each one."""


@dataclass(frozen=True, slots=True)
class ScaffoldFile:
    """One file init writes: its path relative to the survey's root (with /), its text."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the survey keeps its files (the config's paths, relative, with /)."""

    bib: str = "survey.bib"
    notes: str = "notes"
    intro: str = "INTRO.md"
    readme: str = "README.md"
    templates: str = "templates"


def default_spec() -> str:
    """What `pip install` gets as surveybib in a new survey: the release that made it."""
    return f"surveybib=={__version__}"


def check_spec(spec: str) -> str:
    """A pip requirement safe to put in the Makefile and the workflows as it is."""
    if not spec.strip() or _UNSAFE_SPEC & set(spec):
        raise UsageError(f"--spec {spec!r}: give a pip requirement, path or URL without "
                         "quotes, $, backslashes or control characters")
    return spec.strip()


def check_taxonomy(taxonomy: Sequence[str]) -> tuple[str, ...]:
    """--taxonomy values: named, each once."""
    names = tuple(name.strip() for name in taxonomy)
    if any(not name for name in names):
        raise UsageError("--taxonomy: a category needs a name")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--taxonomy lists {', '.join(map(repr, twice))} more than once")
    return names


# ------------------------------------------------------------------ the files


def config_file(title: str, taxonomy: Sequence[str], before: str = "") -> ScaffoldFile:
    """pyproject.toml with only a [tool.surveybib] table (a survey is not a package), or
    BEFORE (an existing pyproject.toml) with the table added at its end."""
    table = render("pyproject.toml.j2", title=title, taxonomy=list(taxonomy),
                   standalone=not before)
    if before:
        table = before.rstrip("\n") + "\n\n" + table
    return ScaffoldFile("pyproject.toml", table)


def github_files(title: str, taxonomy: Sequence[str], spec: str,
                 layout: Layout = Layout()) -> tuple[ScaffoldFile, ...]:
    """The two workflows and the issue form: the files surveybib owns entirely, which
    `init --here --update` writes again."""
    sources = (f"{layout.bib} (the papers), {layout.notes}/<key>.md (the notes), "
               f"{layout.intro} (the introduction) or {layout.templates}/")
    common = {"spec": spec, "version": __version__, "label": LABEL}
    form, _ = render_form(title, taxonomy)
    return (
        ScaffoldFile(CHECK_WORKFLOW, render("check.yml.j2", readme=layout.readme,
                                            sources=sources, **common)),
        ScaffoldFile(ADD_WORKFLOW, render("add-paper.yml.j2", **common)),
        ScaffoldFile(FORM_PATH, form),
    )


def survey_files(title: str, taxonomy: Sequence[str], spec: str,
                 layout: Layout = Layout()) -> tuple[ScaffoldFile, ...]:
    """Every file of a new survey, config first."""
    example = next((name for name in taxonomy if _plain(name)), "Your category")
    return (
        config_file(title, taxonomy),
        ScaffoldFile(layout.bib, render("survey.bib.j2", example_category=example)),
        ScaffoldFile(f"{layout.notes}/.gitkeep", ""),
        ScaffoldFile(layout.intro, render("INTRO.md.j2", title=title)),
        ScaffoldFile("Makefile", render("Makefile.j2", spec=spec)),
        ScaffoldFile(".gitignore", render("gitignore.j2")),
        *github_files(title, taxonomy, spec, layout),
    )


_PLAIN = set(string.ascii_letters + string.digits + " -_/&.,+()")


def _plain(name: str) -> bool:
    """A category that can stand in survey.bib's commented example (no '@', which BibTeX
    reads as an entry even in a comment; no braces or quotes)."""
    return bool(name) and set(name) <= _PLAIN


# ------------------------------------------------------------------ planning and writing


def plan_new(root: Path, files: Sequence[ScaffoldFile]) -> tuple[ScaffoldFile, ...]:
    """All of FILES, or InitRefused naming each one that already exists under root."""
    taken = [shown(f.path) for f in files if _exists(root, f.path)]
    if taken:
        raise InitRefused(f"{root}: {', '.join(taken)} already exist"
                          f"{'s' if len(taken) == 1 else ''}; nothing written (`surveybib "
                          "init --here` fills in only what is missing)")
    return tuple(files)


def plan_missing(root: Path, files: Sequence[ScaffoldFile],
                 replace: Sequence[str] = ()) -> tuple[tuple[ScaffoldFile, ...], tuple[str, ...]]:
    """(files to write, paths kept): what is missing, plus the REPLACE paths."""
    write = [f for f in files if f.path in replace or not _exists(root, f.path)]
    kept = tuple(f.path for f in files if f not in write)
    return tuple(write), kept


def shown(path: str) -> str:
    """A path as init names it: the notes folder rather than its placeholder file."""
    return path.removesuffix(".gitkeep")


def _exists(root: Path, path: str) -> bool:
    target = root / path
    if path.endswith("/.gitkeep"):  # notes/ is there when the folder is
        return target.parent.exists()
    return target.exists() or target.is_symlink()


def write_files(root: Path, files: Sequence[ScaffoldFile],
                replace: Sequence[str] = ()) -> list[str]:
    """Write FILES under root (each atomically); only the REPLACE paths may be replaced.
    Returns the paths written, in order."""
    written: list[str] = []
    for item in files:
        path = root / item.path
        data = item.text.encode("utf-8")
        if item.path in replace:
            write_bytes_atomic(path, data)
        else:
            try:
                write_new_atomic(path, data)
            except FileExistsError:
                raise InitRefused(f"{root}: {item.path} appeared while init was writing; "
                                  f"kept it (written so far: {', '.join(written) or 'nothing'})"
                                  ) from None
        written.append(item.path)
    return written


# ------------------------------------------------------------------ init --here


@dataclass(frozen=True, slots=True)
class HerePlan:
    """What `init --here` writes into an existing survey, and what it leaves alone."""

    write: tuple[ScaffoldFile, ...]
    replace: tuple[str, ...]  # paths written although they exist (config table, --update)
    kept: tuple[str, ...]


def plan_here(root: Path, *, title: str, taxonomy: Sequence[str], spec: str,
              update: bool) -> HerePlan:
    """The files an existing survey (it has its survey.bib) lacks. A pyproject.toml without
    [tool.surveybib] gets the table added; one with it is left as it is, and --title and
    --taxonomy are then refused (edit the table instead). Without --taxonomy, the
    categories are the ones survey.bib already uses, in order of first use."""
    settings = load_settings(root)
    if not settings.bib.is_file():
        raise UsageError(f"--here: {settings.rel(settings.bib)} is not in {root}; run "
                         "`surveybib init` without --here to start a new survey")
    pyproject = root / "pyproject.toml"
    before = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    configured = _has_table(before)
    if configured and (title or taxonomy):
        raise UsageError("--here: pyproject.toml already has [tool.surveybib]; change the "
                         "title and taxonomy there instead of with --title/--taxonomy")
    if configured:
        title, taxonomy = settings.title or DEFAULT_TITLE, settings.taxonomy
    else:
        title = title or root.name
        taxonomy = taxonomy or used_categories(settings)
    layout = Layout(*(settings.rel(p) for p in (settings.bib, settings.notes, settings.intro,
                                                settings.readme, settings.templates)))
    unwanted = {layout.bib} | ({FORM_PATH} if settings.issue_form is False else set())
    files = [f for f in survey_files(title, taxonomy, spec, layout) if f.path not in unwanted]
    replace = [f.path for f in github_files(title, taxonomy, spec, layout)
               if update and f.path not in unwanted]
    if before and not configured:
        files[0] = config_file(title, taxonomy, before)
        _check_toml(files[0].text)
        replace.append("pyproject.toml")
    write, kept = plan_missing(root, files, replace)
    return HerePlan(write, tuple(replace), kept)


def _has_table(text: str) -> bool:
    if not text:
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"pyproject.toml is not valid TOML ({exc}); fix it first") from None
    tool = data.get("tool")
    return isinstance(tool, dict) and "surveybib" in tool


def _check_toml(text: str) -> None:
    """The table added to an existing pyproject.toml must leave it valid TOML."""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"pyproject.toml would not stay valid TOML with [tool.surveybib] "
                         f"added at its end ({exc}); add the table yourself") from None


def used_categories(settings: Settings) -> tuple[str, ...]:
    """The categories survey.bib's entries name, in order of first use."""
    source = read_bib(settings)
    parsed = parse_bib(source.text, source.path)
    names: dict[str, None] = {}
    for entry in parsed.entries:
        for name in split_categories(entry.get(settings.group_by), (),
                                     commas=settings.group_by != "taxonomy"):
            names.setdefault(name.strip(), None)
    return tuple(name for name in names if name)
