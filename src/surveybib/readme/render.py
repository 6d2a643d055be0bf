"""The README: the jinja2 environment (the user's templates/ over the packaged ones) and
rendering, followed by the anchor pass (anchors.py) and the tidy-up (markdown.py)."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from surveybib.config import README_BLOCKS
from surveybib.model import Entry, Note
from surveybib.readme import mermaid
from surveybib.readme.anchors import heading, link_to, resolve_anchors
from surveybib.readme.contributors import contributors
from surveybib.readme.markdown import md_text, safe_url, tidy, user_markdown
from surveybib.readme.taxonomy import build_categories

GENERATED_MARKER = "<!-- surveybib:generated"


def _bytecode_cache() -> Any:
    """Compiled templates cached in the user's cache directory (jinja2 keys them by
    name and source checksum, so an edited template is recompiled). Compiling the
    README template costs about as much as rendering 1,000 papers. None when the
    directory cannot be created, or when SURVEYBIB_NO_CACHE is set."""
    import jinja2

    if os.environ.get("SURVEYBIB_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "surveybib", "templates")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


def make_environment(user_templates: Path | None) -> Any:
    """A jinja2 environment: the user's templates/ first, then the packaged ones."""
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None and user_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders.append(jinja2.PackageLoader("surveybib.readme", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["md"] = md_text
    env.filters["short_name"] = mermaid.short_name
    env.filters["cell"] = lambda text: md_text(text).replace("\n", " ")
    env.globals["heading"] = heading
    env.globals["link_to"] = link_to
    env.globals["url"] = lambda u: safe_url(u) or ""
    return env


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
    blocks: Collection[str] = README_BLOCKS,
    columns: Sequence[tuple[str, str]] = (),
    cells: Mapping[str, dict[str, str]] | None = None,
) -> tuple[str, list[tuple[Entry, str]]]:
    """Render README.md; returns the text and the entries whose category is unknown.
    `blocks` names the optional sections shown (README_BLOCKS: all of them); `columns`
    the optional (id, heading) table columns, `cells` their markdown by entry key."""
    categories, papers, unknown = build_categories(entries, notes, taxonomy, group_by)
    if cells:
        for paper in papers:
            paper.cells = cells.get(paper.key, {})
    template = env.get_template("README.md.j2")
    text = template.render(
        taxonomy_figure=mermaid.taxonomy_mindmap(title, categories)
        if "taxonomy" in blocks and papers else None,
        year_chart=mermaid.year_chart(p.year for p in papers) if "years" in blocks else None,
        contributors=contributors(papers) if "contributors" in blocks else [],
        title=title,
        intro=user_markdown(intro.strip()) if intro.strip() else "",
        categories=categories,
        all_categories=[c for top in categories for c in top.walk()],
        papers=papers,
        source=source,
        marker=GENERATED_MARKER,
        columns=[{"id": ident, "title": heading} for ident, heading in columns],
    )
    return tidy(resolve_anchors(text.replace("\r\n", "\n"))), unknown
