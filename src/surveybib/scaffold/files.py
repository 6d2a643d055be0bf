"""`surveybib init`: the files of a new survey repository, from packaged templates.

`plan_new` lists every file of a new survey and refuses (naming each one) when any of
them exists; `plan_here` fills in only what an existing survey lacks. `write_files`
creates them atomically and never replaces a file that appeared meanwhile.
"""

from __future__ import annotations

import json
import re
import shlex
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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
PAGES_WORKFLOW = ".github/workflows/pages.yml"
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


def install_origin() -> dict[str, Any] | None:
    """Where this surveybib was installed from, as pip records it (PEP 610's
    direct_url.json): None for a release from a package index."""
    try:
        text = metadata.distribution("surveybib").read_text("direct_url.json")
        origin = json.loads(text) if text else None
    except (metadata.PackageNotFoundError, ValueError):
        return None
    return origin if isinstance(origin, dict) and isinstance(origin.get("url"), str) else None


def default_spec(origin: Mapping[str, Any] | None = None) -> str:
    """What `pip install` gets as surveybib in a new survey: the release that made it, or
    the git commit or URL it was installed from (which any machine can fetch)."""
    release = f"surveybib=={__version__}"
    if origin is None or origin["url"].startswith("file:"):
        return release
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict):
        spec = f"surveybib @ {vcs.get('vcs', 'git')}+{origin['url']}@{vcs.get('commit_id')}"
        if origin.get("subdirectory"):
            spec += f"#subdirectory={origin['subdirectory']}"
    else:
        spec = f"surveybib @ {origin['url']}"
    try:
        return check_spec(spec)
    except UsageError:
        return release


def origin_note(origin: Mapping[str, Any] | None, spec: str) -> str:
    """What to tell the user when SPEC names a release while this surveybib came from a
    file or a folder: pip finds that release only on an index, and today it may not be
    there ("" otherwise)."""
    if origin is None or spec != f"surveybib=={__version__}" or \
            not origin["url"].startswith("file:"):
        return ""

    url = origin["url"]
    path = unquote(urlsplit(url).path)
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".whl"):
        how = ("commit a copy of the wheel with the survey; in the survey's folder: `mkdir -p "
               f"wheels && cp {shlex.quote(path)} wheels/ && surveybib init --here --update "
               f"--spec ./wheels/{shlex.quote(name)}`")
    else:
        how = ("run `surveybib init --here --update --spec REQ` in the survey's folder, "
               "with a git URL (surveybib @ git+https://...) or the path of a wheel inside "
               "the survey")
    return (f"this surveybib was installed from {url}, not from a package index; the "
            f"Makefile and the workflows install '{spec}', which pip finds only if that "
            f"release is on PyPI. If it is not on PyPI, {how}.")


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


def ignore_file(before: str = "") -> ScaffoldFile:
    """.gitignore, or BEFORE (an existing one) with the lines it lacks added at its end
    (`.venv` and `/.venv/` count as `.venv/`)."""
    wanted = render("gitignore.j2")
    if not before.strip():
        return ScaffoldFile(".gitignore", wanted)
    have = {line.strip().strip("/") for line in before.splitlines()}
    missing = [line for line in wanted.splitlines() if line.strip("/") not in have]
    if not missing:
        return ScaffoldFile(".gitignore", before)
    return ScaffoldFile(".gitignore", before.rstrip("\n") + "\n\n# surveybib\n" +
                        "\n".join(missing) + "\n")


def github_files(title: str, taxonomy: Sequence[str], spec: str,
                 layout: Layout = Layout()) -> tuple[ScaffoldFile, ...]:
    """The workflows (check, add-paper, pages) and the issue form: the files surveybib
    owns entirely, which `init --here --update` writes again."""
    sources = (f"{layout.bib} (the papers), {layout.notes}/<key>.md (the notes), "
               f"{layout.intro} (the introduction) or {layout.templates}/")
    common = {"spec": spec, "version": __version__, "label": LABEL}
    form, _ = render_form(title, taxonomy)
    return (
        ScaffoldFile(CHECK_WORKFLOW, render("check.yml.j2", readme=layout.readme,
                                            sources=sources, **common)),
        ScaffoldFile(ADD_WORKFLOW, render("add-paper.yml.j2", **common)),
        ScaffoldFile(PAGES_WORKFLOW, render("pages.yml.j2", **common)),
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
        ScaffoldFile("Makefile", render("Makefile.j2", spec=spec, version=__version__)),
        ignore_file(),
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
    """(files to write, paths kept): what is missing, plus the REPLACE paths whose text
    differs."""
    write = [f for f in files if not _exists(root, f.path) or
             (f.path in replace and _read_text(root / f.path) != f.text)]
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
    """The files an existing repository lacks (an existing survey, or a repository made
    on GitHub with its README, licence and .gitignore). A pyproject.toml without
    [tool.surveybib] gets the table added; one with it is left as it is, and --title and
    --taxonomy are then refused (edit the table instead). Without --taxonomy, the
    categories are the ones survey.bib already uses, in order of first use. A .gitignore
    gets the lines it lacks added at its end. UPDATE writes the workflows and the form
    again and sets the Makefile's SURVEYBIB_SPEC line to SPEC, as the workflows have it."""
    settings = load_settings(root)
    has_bib = settings.bib.is_file()
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
        taxonomy = taxonomy or (used_categories(settings) if has_bib else ())
    layout = Layout(*(settings.rel(p) for p in (settings.bib, settings.notes, settings.intro,
                                                settings.readme, settings.templates)))
    unwanted = ({layout.bib} if has_bib else set()) | \
        ({FORM_PATH} if settings.issue_form is False else set())
    files = [f for f in survey_files(title, taxonomy, spec, layout) if f.path not in unwanted]
    replace = [f.path for f in github_files(title, taxonomy, spec, layout)
               if update and f.path not in unwanted]
    if before and not configured:
        files[0] = config_file(title, taxonomy, before)
        _check_toml(files[0].text)
        replace.append("pyproject.toml")
    before_make = _read_text(root / "Makefile") if update else None
    if before_make is not None and with_spec(before_make, spec) != before_make:
        files = [ScaffoldFile("Makefile", with_spec(before_make, spec))
                 if f.path == "Makefile" else f for f in files]
        replace.append("Makefile")
    before_ignore = _read_text(root / ".gitignore")
    if before_ignore is not None:
        added = ignore_file(before_ignore)
        files = [added if f.path == ".gitignore" else f for f in files]
        if added.text != before_ignore:
            replace.append(".gitignore")
    write, kept = plan_missing(root, files, replace)
    return HerePlan(write, tuple(replace), kept)


_SPEC_LINE = re.compile(r"^SURVEYBIB_SPEC \?= .*$", re.M)


def with_spec(makefile: str, spec: str) -> str:
    """MAKEFILE with its `SURVEYBIB_SPEC ?= ...` line set to SPEC (the rest as it is)."""
    return _SPEC_LINE.sub(lambda _: f"SURVEYBIB_SPEC ?= {spec}", makefile, count=1)


def _read_text(path: Path) -> str | None:
    """A small text file's UTF-8 text; None when it is absent or not UTF-8 (left alone)."""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


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
