"""The build pipeline as library functions: plan the outputs, find the stale ones, write.

`build`, `check` and `build --check` all go through `render_outputs`, so they can
never disagree about what README.md and the exports should contain.
"""

from __future__ import annotations

import difflib
import gc
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from surveybib.config import DEFAULT_TITLE, Settings, load_settings
from surveybib.enrich import fetch_pending
from surveybib.errors import SurveybibError, TemplateError
from surveybib.export import render_configured
from surveybib.files import read_existing, write_bytes_atomic, write_text_atomic
from surveybib.issueform import FORM_PATH, form_output
from surveybib.latex import latex_problems
from surveybib.limits import MAX_OUTPUT_BYTES, MAX_SHOWN, MAX_TEXT_BYTES
from surveybib.lint import configure, lint, unknown_categories
from surveybib.metadata.store import MetadataStore, pending, save_store, unused_records
from surveybib.model import Entry, Problem
from surveybib.notes import check_note_name, note_filename
from surveybib.readme import hidden, render
from surveybib.readme.blocks import close_open_blocks
from surveybib.readme.columns import column_cells, column_heads
from surveybib.readme.papers import display_title, too_long_to_show
from surveybib.readme.rawhtml import close_open_elements
from surveybib.rules import Rule
from surveybib.survey import Survey, load_survey


@dataclass(frozen=True, slots=True)
class Output:
    """A file that build writes: where, and what it should contain."""

    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """What build's fetching step did: the survey merged with the new store, and a
    one-line summary for the user (empty when nothing was asked)."""

    survey: Survey
    summary: str = ""


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build runs: it allocates hundreds of thousands
    of acyclic objects that live until it ends, and the collector would only walk them
    again and again (about 5% of a 3,644-entry build). Refcounting still frees the rest."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_outputs(settings: Settings, survey: Survey) -> tuple[list[Output], list[Problem]]:
    """Everything build writes, computed from the survey (no writing)."""
    gc.freeze()  # the survey lives until the process ends: later collections can skip it
    intro, intro_problems = read_intro(settings)
    env = render.make_environment(settings.templates)
    with template_errors(settings):
        text, unknown = render.render_readme(
            env,
            entries=survey.entries,
            notes=survey.notes,
            taxonomy=settings.taxonomy,
            group_by=settings.group_by,
            intro=intro,
            title=settings.title or DEFAULT_TITLE,
            source=settings.rel(settings.bib),
            venues=settings.venues,
            note_folder=_relative(settings.notes, settings.readme.parent),
            intro_folder=_relative(settings.intro.parent, settings.readme.parent),
            **_columns(settings, survey),
            blocks=settings.readme_blocks,
        )
    problems = [*survey.problems, *intro_problems,
                *hidden.entry_problems(survey.entries, survey.source.text)]
    problems.extend(unknown_categories(unknown, settings))
    problems.extend(latex_problems(survey.entries, math=False))  # GitHub renders $math$
    problems.extend(Rule.VALUE_CUT.about(e, f"{name} is {len(e.get(name)):,} characters long; "
                                            f"the README shows its first {MAX_SHOWN:,}",
                                         "render")
                    for e in survey.entries for name in too_long_to_show(e, settings.group_by))
    outputs = [Output(settings.readme, keep_preamble(settings.readme, text))]
    if settings.exports:
        for path, export in render_configured(survey.entries, settings):
            outputs.append(Output(path, export.text))
            problems.extend(export.problems)
    form = form_output(settings)
    if form is not None:  # the add-paper issue form, in step with the taxonomy
        outputs.append(Output(form[0], form[1]))
        problems.extend(form[2])
    return outputs, list(dict.fromkeys(problems))  # the README and an export may agree


def _relative(folder: Path, start: Path) -> str:
    """`folder` as a relative URL path from `start` (both inside the survey)."""
    return Path(os.path.relpath(folder, start)).as_posix()


def _columns(settings: Settings, survey: Survey) -> dict[str, Any]:
    """The optional README columns (citations, code), rendered from the store."""
    if not settings.columns:
        return {}
    return {"columns": column_heads(settings.columns),
            "cells": column_cells(survey.entries, survey.store, settings.columns)}


def site_output(settings: Settings, survey: Survey, folder: Path | None = None,
                files_url: str = "") -> tuple[Output, tuple[Problem, ...]]:
    """The paper explorer, folder/index.html (default: the configured site folder, else
    site/). It is published, not committed: `build --check` and `check` never ask for it.
    `files_url`: where the repository's files are published (the notes' links go there)."""
    from surveybib.site import render_site  # only a survey that publishes one needs it

    page = site_page(settings, folder)
    with template_errors(settings):
        html, problems = render_site(survey, page=page, files_url=files_url)
    return Output(page, html), problems


def site_page(settings: Settings, folder: Path | None = None) -> Path:
    """Where the explorer goes: folder/index.html, else the configured folder's, else site/'s."""
    chosen = folder if folder is not None else settings.site or settings.root / "site"
    return chosen / "index.html"


def with_site(settings: Settings, survey: Survey, outputs: list[Output],
              problems: list[Problem]) -> tuple[list[Output], list[Problem]]:
    """build's outputs plus the explorer when `site` is configured (its per-entry BibTeX
    problems are those of a BibTeX export: each is reported once)."""
    if settings.site is None:
        return outputs, problems
    site, found = site_output(settings, survey)
    known = set(problems)
    return [*outputs, site], [*problems, *(p for p in found if p not in known)]


def read_intro(settings: Settings) -> tuple[str, list[Problem]]:
    """INTRO.md (optional), with a code fence, comment or HTML block it leaves open
    closed, and hidden characters reported (the renderer drops them)."""
    name = settings.rel(settings.intro)
    raw = read_existing(settings.intro, MAX_TEXT_BYTES, name)
    if raw is None:
        return "", []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SurveybibError(f"{name}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    problems = [p for p in (hidden.text_problem(name, None, text),) if p is not None]
    text, unclosed = close_open_blocks(text.strip())
    text, open_html = close_open_elements(text)
    for what in (unclosed, open_html):
        if what is not None:
            problems.append(Rule.NOTE_UNCLOSED.at(name, None, None, f"{what}; closed at its end",
                                                  "render"))
    return text, problems


@contextmanager
def template_errors(settings: Settings) -> Iterator[None]:
    """jinja2's errors -> a TemplateError naming the template file and line."""
    import jinja2

    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        where = _template_where(settings, exc.filename or exc.name, exc.lineno)
        raise TemplateError(f"{where}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name} (looked in "
                            f"{settings.rel(settings.templates)}/ and the packaged ones)") from None
    except jinja2.TemplateError as exc:
        filename, line = _template_frame(exc)
        where = _template_where(settings, filename, line)
        raise TemplateError(f"{where}: template error: {exc.message or exc}") from None
    except RecursionError:  # templates that include or extend each other in a circle
        raise TemplateError(f"{settings.rel(settings.templates)}/: templates include or extend "
                            "each other in a circle; extend the packaged ones as "
                            '"surveybib/<name>"') from None


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost traceback frame inside a template (jinja2 rewrites them to .j2 lines)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _template_where(settings: Settings, filename: str | None, line: int | None) -> str:
    name = settings.rel(Path(filename)) if filename else "template"
    return f"{name}:{line}" if line else name


def stale_outputs(outputs: Sequence[Output], settings: Settings) -> list[tuple[Output, str]]:
    """(output, diff) for each output whose file differs from what it should be."""
    stale = []
    for out in outputs:
        name = settings.rel(out.path)
        raw = read_existing(out.path, MAX_OUTPUT_BYTES, name)
        try:
            current = None if raw is None else raw.decode("utf-8")
        except UnicodeDecodeError:
            current = ""
        if current == out.text:
            continue
        if current is None:
            stale.append((out, f"{name}: missing (run `surveybib build`)"))
            continue
        diff = difflib.unified_diff(current.splitlines(), out.text.splitlines(),
                                    f"{name} (on disk)", f"{name} (from survey.bib)", n=1,
                                    lineterm="")
        stale.append((out, "\n".join(_head(diff, 40))))
    return stale


def _head(lines: Iterable[str], limit: int) -> list[str]:
    out = []
    for i, line in enumerate(lines):
        if i == limit:
            out.append("... (diff cut; run `surveybib build` to regenerate)")
            break
        out.append(line)
    return out


def fetch_missing(settings: Settings, survey: Survey, offline: bool,
                  progress: Callable[..., None] | None = None) -> Fetched:
    """build's fetching step: ask Crossref/DataCite only for what the store lacks, save
    the store after every batch, and merge what came back."""
    def checkpoint(store: MetadataStore) -> None:
        save_store(settings.metadata, store)

    out = fetch_pending(settings, survey.parsed, survey.store, offline=offline,
                        checkpoint=checkpoint, progress=progress)
    if out.store == survey.store:  # nothing came back: each entry's reason is still named
        return Fetched(replace(survey, problems=survey.problems + tuple(out.problems)),
                       out.summary)
    checkpoint(out.store)
    merged = survey.with_store(out.store)
    return Fetched(replace(merged, problems=merged.problems + tuple(out.problems)), out.summary)


def keep_preamble(readme: Path, generated: str) -> str:
    """Text a user keeps above the generated marker stays; only what follows is ours."""
    try:
        current = (read_existing(readme, MAX_OUTPUT_BYTES) or b"").decode("utf-8")
    except UnicodeDecodeError:
        return generated
    at = current.find(render.GENERATED_MARKER)
    return current[:at] + generated if at > 0 else generated


def refuse_foreign_readme(settings: Settings) -> None:
    """Never overwrite a README.md that surveybib did not write (no marker in it)."""
    current = read_existing(settings.readme, MAX_OUTPUT_BYTES, settings.rel(settings.readme))
    if current is None:
        return
    if current.strip() and render.GENERATED_MARKER.encode() not in current:
        name = settings.rel(settings.readme)
        raise SurveybibError(
            f"{name} exists and was not written by surveybib (it has no "
            f"'{render.GENERATED_MARKER}' marker); move your text to "
            f"{settings.rel(settings.intro)} or above the marker, or run "
            "`surveybib build --force` to replace it")


LOST_RULES = frozenset({Rule.PARSE_ERROR.id, Rule.DUPLICATE_KEY.id})


def lost_entries(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that mean an entry of survey.bib is in no output (it could not be
    read, or its key was taken), in file order."""
    lost = [p for p in problems if p.rule in LOST_RULES and p.stage == "parse" and p.key]
    return sorted(dict.fromkeys(lost), key=_problem_order)


def entry_outputs(settings: Settings, outputs: Sequence[Output]) -> list[str]:
    """The names of the outputs that list the entries (the README, the exports, the
    explorer): every one but the add-paper issue form, which lists categories."""
    form = settings.root / FORM_PATH
    return [settings.rel(o.path) for o in outputs if o.path != form]


def lost_line(lost: Sequence[Problem], outputs: Sequence[str]) -> str:
    """`2 entries are missing from README.md: a (survey.bib:3), ...; fix them ...`"""
    names = ", ".join(f"{p.key} ({p.path}:{p.line})" for p in lost)
    count = "1 entry is" if len(lost) == 1 else f"{len(lost)} entries are"
    return (f"{count} missing from {', '.join(outputs)}: {names}; fix "
            f"{'it' if len(lost) == 1 else 'them'} (see above) and build again")


def refuse_emptied_survey(settings: Settings, survey: Survey) -> None:
    """A survey.bib with no readable entry never replaces a README that lists papers
    (a truncated file or a bad merge would otherwise empty the README without a word)."""
    if survey.entries:
        return
    try:
        raw = read_existing(settings.readme, MAX_OUTPUT_BYTES, settings.rel(settings.readme))
        current = (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        return
    listed = render.readme_papers(current)  # the count the renderer wrote into it
    if current.find(render.GENERATED_MARKER) < 0 or not listed:
        return
    bib, readme = settings.rel(settings.bib), settings.rel(settings.readme)
    raise SurveybibError(
        f"{bib} has no entry that can be read, and {readme} lists {listed} "
        f"paper{'s' * (listed != 1)}: "
        f"nothing written. Restore {bib} (e.g. `git checkout {bib}`), or run `surveybib "
        "build --force` to write a README without papers")


def write_outputs(outputs: Sequence[Output], settings: Settings | None = None) -> list[Output]:
    """Write each output whose file differs (atomically); leave the others untouched.
    Returns the outputs written."""
    written = []
    for out in outputs:
        name = settings.rel(out.path) if settings is not None else str(out.path)
        data = out.text.encode("utf-8")
        if read_existing(out.path, MAX_OUTPUT_BYTES, name) == data:
            continue
        write_bytes_atomic(out.path, data, name)
        written.append(out)
    return written


def ensure_note(settings: Settings, entry: Entry, text: str = "") -> tuple[Path, bool]:
    """notes/<key>.md unless it exists (never overwritten): TEXT when given, else the note
    template; returns its path and whether it was created."""
    check_note_name(entry.key)
    path = settings.notes / note_filename(entry.key)
    if path.exists() or path.is_symlink():  # a link is never followed to write a note
        return path, False
    if text.strip():
        write_text_atomic(path, text.rstrip() + "\n", shown=settings.rel(path))
        return path, True
    env = render.make_environment(settings.templates)
    with template_errors(settings):
        stub = env.get_template("note.md.j2").render(key=entry.key,
                                                      title=display_title(entry, settings.venues))
    write_text_atomic(path, stub, shown=settings.rel(path))
    return path, True


def check_problems(settings: Settings, encoding: str | None = None) -> list[Problem]:
    """Every finding of `check`, levels applied, sorted by file and line."""
    survey = load_survey(settings, encoding=encoding)
    outputs, problems = render_outputs(settings, survey)
    for out, _ in stale_outputs(outputs, settings):
        problems.append(Rule.STALE_OUTPUT.at(
            settings.rel(out.path), None, None,
            "stale: run `make readme` (or `surveybib build`) and commit it"
            + missing_store_hint(settings, survey), "check"))
    problems.extend(store_problems(settings))
    problems.extend(unused_problems(settings, survey))
    problems.extend(lint(survey, settings))
    unique = dict.fromkeys(configure(problems, settings))  # unknown-taxonomy comes twice
    return sorted(unique, key=_problem_order)


def missing_store_hint(settings: Settings, survey: Survey) -> str:
    """Why an output may be stale on a fresh clone: the store it was built with is not
    here (never committed), so this run renders without the fetched metadata."""
    name = settings.rel(settings.metadata)
    if settings.metadata.exists() or not pending(survey.parsed, survey.store) \
            or tracked_by_git(settings.root, name) is not False:
        return ""
    return (f" ({name} is not in this repository: if the outputs were built with it, "
            f"commit {name} with them)")


def store_problems(settings: Settings) -> list[Problem]:
    """The metadata store exists but git does not track it: a clone (CI) renders without
    it, so its check would call the README stale while this one calls it current."""
    name = settings.rel(settings.metadata)
    if not settings.metadata.is_file() or tracked_by_git(settings.root, name) is not False:
        return []
    return [Rule.UNCOMMITTED_STORE.at(
        name, None, None, f"not committed: a clone (CI) builds without it, so README.md "
        f"differs there; `git add {name}` and commit it with README.md", "check")]


def unused_problems(settings: Settings, survey: Survey) -> list[Problem]:
    """One warning per stored record that no entry uses (`enrich --prune` removes them)."""
    name = settings.rel(settings.metadata)
    return [Rule.UNUSED_RECORD.at(name, None, ident, f"no entry uses this record ({section}); "
                                  "`surveybib enrich --prune` removes it", "check")
            for section, ident in unused_records(survey.parsed, survey.store)]


def tracked_by_git(root: Path, name: str) -> bool | None:
    """Whether git tracks (or has staged) root/name; None when root is not in a git work
    tree or git is not installed."""
    try:
        inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root,
                                capture_output=True, text=True, check=False)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        listed = subprocess.run(["git", "ls-files", "--error-unmatch", "--", name], cwd=root,
                                capture_output=True, check=False)
    except OSError:
        return None
    return listed.returncode == 0


def _problem_order(p: Problem) -> tuple[str, int, str, str]:
    return (p.path, p.line or 0, p.key or "", p.message)


def render_at(root: Path, encoding: str | None = None) -> tuple[list[Output], list[Problem]]:
    """render_outputs for the survey repository at root, read with its own settings."""
    settings = load_settings(root, {"encoding": encoding} if encoding else None)
    return render_outputs(settings, load_survey(settings, encoding=encoding))
