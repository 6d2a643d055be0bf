"""The paper explorer: one static, self-contained index.html made from the Survey.

`site_data` (data.py) turns the survey into what the page shows, `render_note`
(markup.py) turns a note into sanitised HTML, and `render_page` (page.py) writes the
page: escaped HTML for every paper (the full list, grouped by taxonomy, works without
JavaScript), the facet data as escaped JSON, and an inline script and stylesheet allowed
by hash in a Content-Security-Policy that forbids everything else.
"""

from __future__ import annotations

from pathlib import Path

from surveybib.model import Problem
from surveybib.site.data import SiteData, site_data
from surveybib.site.page import render_page
from surveybib.survey import Survey

__all__ = ["SiteData", "render_site", "site_data"]


def render_site(survey: Survey, *, page: Path | None = None, files_url: str = ""
                ) -> tuple[str, tuple[Problem, ...]]:
    """The explorer's index.html for a survey, and the problems met on the way. `page`
    (where it will be written) and `files_url` (where the repository's files are
    published) tell the notes' relative links where to go (links.py)."""
    root, page_folder = survey.settings.root.resolve(), None
    folder = page.parent.resolve() if page is not None else None
    if folder is not None and (folder == root or root in folder.parents):
        page_folder = folder.relative_to(root).as_posix()
    data = site_data(survey, files_url=files_url, page_folder=page_folder)
    return render_page(data, survey.settings.templates), data.problems
