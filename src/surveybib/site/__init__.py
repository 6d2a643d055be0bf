"""The paper explorer: one static, self-contained index.html made from the Survey.

`site_data` (data.py) turns the survey into what the page shows, `render_note`
(markup.py) turns a note into sanitised HTML, and `render_page` (page.py) writes the
page: escaped HTML for every paper (the full list, grouped by taxonomy, works without
JavaScript), the facet data as escaped JSON, and an inline script and stylesheet allowed
by hash in a Content-Security-Policy that forbids everything else.
"""

from __future__ import annotations

from surveybib.model import Problem
from surveybib.site.data import SiteData, site_data
from surveybib.site.page import render_page
from surveybib.survey import Survey

__all__ = ["SiteData", "render_site", "site_data"]


def render_site(survey: Survey) -> tuple[str, tuple[Problem, ...]]:
    """The explorer's index.html for a survey, and the problems met on the way."""
    data = site_data(survey)
    return render_page(data, survey.settings.templates), data.problems
