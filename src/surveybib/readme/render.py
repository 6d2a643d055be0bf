"""The README: the jinja2 environment (the user's templates/ over the packaged ones, which
stay reachable as `surveybib/<name>`) and rendering, followed by the anchor pass
(anchors.py) and the tidy-up (markdown.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from surveybib.config import README_BLOCKS
from surveybib.errors import FileError, TemplateError
from surveybib.files import read_regular
from surveybib.limits import MAX_TEXT_BYTES
from surveybib.model import Entry, Note
from surveybib.readme import mermaid
from surveybib.readme.anchors import heading, link_to, resolve_anchors
from surveybib.readme.contributors import contributors
from surveybib.readme.links import rebase_links
from surveybib.readme.markdown import md_text, safe_url, tidy, user_markdown
from surveybib.readme.papers import Paper, note_markdown
from surveybib.readme.taxonomy import build_categories
from surveybib.sandbox import sandbox_class

GENERATED_MARKER = "<!-- surveybib:generated"


def _bytecode_cache(folder: str = "templates") -> Any:
    """Compiled templates cached in the user's cache directory (jinja2 keys them by
    name and source checksum, so an edited template is recompiled). Compiling the
    README template costs about as much as rendering 1,000 papers. None when the
    directory cannot be created, or when SURVEYBIB_NO_CACHE is set."""
    import jinja2

    if os.environ.get("SURVEYBIB_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "surveybib", folder)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


TEMPLATE_PREFIX = "surveybib"


def make_environment(user_templates: Path | None) -> Any:
    """A jinja2 environment: the user's templates/ first, then the packaged ones, which
    are also always reachable as `surveybib/<name>` (so a user's README.md.j2 can
    `{% extends "surveybib/README.md.j2" %}` and override its blocks)."""
    import jinja2

    packaged = jinja2.PackageLoader("surveybib.readme", "templates")
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({TEMPLATE_PREFIX: packaged})]
    own = user_templates if user_templates is not None and user_templates.is_dir() else None
    if own is not None:
        loaders.append(_user_loader(own))
    loaders.append(packaged)
    # The survey's own templates run sandboxed (surveybib/sandbox.py); their compiled code
    # differs (every call intercepted), so it is cached apart from the packaged one's.
    env = (jinja2.Environment if own is None else sandbox_class())(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_bytecode_cache("templates" if own is None else "templates-sandboxed"),
    )
    env.filters.update(TEMPLATE_FILTERS)
    env.globals.update(TEMPLATE_GLOBALS)
    env.globals["note_at"] = jinja2.pass_context(  # links rebased as for `p.note`
        lambda context, paper, top: _note_at(paper, top, context.get("note_folder", "")))
    return env


def _user_loader(folder: Path) -> Any:
    """The user's templates/, read as regular files of at most limits.MAX_TEXT_BYTES (a
    template that is a FIFO would block the build; it is refused by name)."""
    import jinja2
    from jinja2.loaders import split_template_path

    class Loader(jinja2.BaseLoader):
        def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
            path = folder.joinpath(*split_template_path(template))
            shown = f"{folder.name}/{template}"
            try:
                text = read_regular(path, MAX_TEXT_BYTES, shown).decode("utf-8")
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                raise jinja2.TemplateNotFound(template) from None
            except UnicodeDecodeError as exc:
                raise FileError(f"{shown}: not UTF-8 (byte {exc.start})") from None
            return text, str(path), lambda: _unchanged(path, mtime)

    return Loader()


def _unchanged(path: Path, mtime: float) -> bool:
    try:
        return path.stat().st_mtime == mtime
    except OSError:
        return False


def _note_at(paper: Paper, top: int, folder: str = "") -> str:
    """A paper's note with its highest heading at level `top` (for a template that puts
    the paper's own heading somewhere else than the packaged layout does)."""
    return "" if paper.source is None else note_markdown(paper.source, top, folder)


TEMPLATE_FILTERS: dict[str, Any] = {
    "md": md_text,
    "short_name": mermaid.short_title,  # the filter keeps its documented name
    "cell": lambda text: md_text(text).replace("\n", " "),
}


TEMPLATE_GLOBALS: dict[str, Any] = {
    "heading": heading,
    "link_to": link_to,
    "url": lambda u: safe_url(u) or "",
    "note_at": _note_at,
}


def render_readme(
    env: Any,
    *,
    entries: Sequence[Entry],
    notes: dict[str, Note],
    taxonomy: Sequence[str],
    group_by: str,
    intro: str,
    title: str,
    source: str,
    venues: tuple[tuple[str, str], ...] = (),
    note_folder: str = "",
    intro_folder: str = "",
    blocks: Collection[str] = README_BLOCKS,
    columns: Sequence[tuple[str, str]] = (),
    cells: Mapping[str, dict[str, str]] | None = None,
) -> tuple[str, list[tuple[Entry, str]]]:
    """Render README.md; returns the text and the entries whose category is unknown.
    `note_folder` and `intro_folder` are where the notes and INTRO.md are, relative to
    the README's folder (their relative links are rewritten against them). `blocks`
    names the optional sections shown (README_BLOCKS: all of them); `columns` the
    optional (id, heading) table columns, `cells` their markdown by entry key."""
    categories, papers, unknown = build_categories(entries, notes, taxonomy, group_by,
                                                   venues=venues, note_folder=note_folder)
    if cells:
        for paper in papers:
            paper.cells = cells.get(paper.key, {})
    template = env.get_template("README.md.j2")
    _refuse_self_reference(env, template)
    intro = intro.strip()
    text = template.render(
        taxonomy_figure=mermaid.taxonomy_mindmap(title, categories)
        if "taxonomy" in blocks and papers else None,
        year_chart=mermaid.year_chart(p.year for p in papers) if "years" in blocks else None,
        contributors=contributors(papers) if "contributors" in blocks else [],
        title=title,
        intro=user_markdown(rebase_links(intro, intro_folder)) if intro else "",
        categories=categories,
        all_categories=[c for top in categories for c in top.walk()],
        papers=papers,
        source=source,
        marker=GENERATED_MARKER,
        note_folder=note_folder,
        columns=[{"id": ident, "title": heading} for ident, heading in columns],
    )
    text = _header(source, len(papers)) + _without_marker(text.replace("\r\n", "\n"))
    return tidy(resolve_anchors(text)), unknown


def _header(source: str, papers: int) -> str:
    """The generated marker: written by the renderer, whatever the template does, so a
    README built from any template is recognised as surveybib's on the next build, and
    says how many papers it lists (build refuses to empty it: `readme_papers`)."""
    source = re.sub(r"[\s>]", "", source)
    return (f"{GENERATED_MARKER}: made by surveybib from {source} ({papers} "
            f"paper{'s' * (papers != 1)}). Do not edit it by hand:\n"
            "edit survey.bib, notes/ or INTRO.md instead, then run `make readme`. -->\n\n")


_HEADER_COUNT = re.compile(re.escape(GENERATED_MARKER)
                           + r": made by surveybib from \S* \((\d+) papers?\)\.")
# What READMEs written before the header held a count show: the packaged template's
# progress line, "44 papers in 8 categories; ...".
_PROGRESS_COUNT = re.compile(r"^(\d+) papers? in \d+ categor", re.M)


def readme_papers(readme: str) -> int | None:
    """How many papers a README surveybib wrote lists (None when it does not say)."""
    found = _HEADER_COUNT.search(readme) or _PROGRESS_COUNT.search(readme)
    if found is None:
        return None
    digits = found.group(1).lstrip("0") or "0"  # a README is anyone's text:
    return int(digits) if len(digits) <= 18 else 10 ** 18  # int() takes no 5,000 digits


def _without_marker(text: str) -> str:
    """A template's own copy of the marker comment (templates written before the renderer
    added it start with `{{ marker }}`), dropped so the README has it once."""
    if not text.startswith(GENERATED_MARKER):
        return text
    end = text.find("-->")
    return text[end + 3:].lstrip("\n") if end >= 0 else ""


def _refuse_self_reference(env: Any, template: Any) -> None:
    """A user's README.md.j2 that extends or includes `README.md.j2` would load itself
    forever; say how to build on the packaged one instead."""
    filename = template.filename or ""
    packaged = Path(__file__).resolve().parent / "templates"
    if not filename or Path(filename).resolve().is_relative_to(packaged):
        return
    import jinja2.meta

    source = Path(filename).read_text(encoding="utf-8")
    if "README.md.j2" in set(jinja2.meta.find_referenced_templates(env.parse(source))):
        raise TemplateError(
            f"{Path(filename).name} extends or includes itself ('README.md.j2'); write "
            f'{{% extends "{TEMPLATE_PREFIX}/README.md.j2" %}} to build on the packaged one')
