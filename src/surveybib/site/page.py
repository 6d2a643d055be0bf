"""SiteData -> one self-contained index.html.

The page is rendered by jinja2 with autoescaping, so every title, name and note reaches
it as escaped text (notes as HTML that markup.py sanitised). The facet data goes in as
JSON inside `<script type="application/json">` with `<`, `>` and `&` escaped, so it
cannot close the element. The stylesheet and the script are inlined and allowed by their
SHA-256 in a Content-Security-Policy that forbids everything else: other hosts, inline
event handlers, `javascript:` URLs, plugins, forms and `<base>`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from surveybib.sandbox import sandbox_class
from surveybib.site.data import SiteData, SitePaper

TEMPLATE = "site.html.j2"
SORTS = (("order", "Reading order"), ("year", "Year, newest first"),
         ("title", "Title, A to Z"), ("citations", "Citations, most first"))
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}


def asset(name: str) -> str:
    """A packaged asset (explorer.css, explorer.js) as text."""
    return (resources.files("surveybib.site") / "assets" / name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    """Nothing but the page's own inline script and style; no other host, ever."""
    return ("default-src 'none'; "
            f"script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
            "img-src 'none'; base-uri 'none'; form-action 'none'")


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (nothing in it can end the element)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def page_json(data: SiteData) -> dict[str, Any]:
    """What the script filters and sorts on: one item per paper in the order the papers
    appear in the HTML (under their first category), with its place in survey.bib."""
    categories = [c.name for c in data.categories]
    venues, readers = data.venues, data.readers
    cat_at = {name: i for i, name in enumerate(categories)}
    venue_at = {name: i for i, name in enumerate(venues)}
    reader_at = {name: i for i, name in enumerate(readers)}
    papers = [{  # the text (title, authors, note) is in the HTML; the script reads it there
        "order": p.index, "venue": venue_at.get(p.venue, -1), "year": p.year,
        "categories": [cat_at[c] for c in data.facet_categories(p)],
        "readers": [reader_at[r] for r in p.readers], "note": bool(p.note_html),
        "code": bool(p.code), "citations": p.citations,
    } for p in placed(data)]
    return {"categories": categories, "venues": list(venues), "readers": list(readers),
            "papers": papers}


def placed(data: SiteData) -> list[SitePaper]:
    """The papers in the order the page writes them: each under its first category."""
    return [data.papers[i] for c in data.categories for i in c.papers
            if data.papers[i].categories[0] == c.name]


@lru_cache(maxsize=4)
def _environment(user_templates: Path | None) -> Any:
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    own = user_templates is not None and user_templates.is_dir()
    if user_templates is not None and own:
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders.append(jinja2.PackageLoader("surveybib.site", "templates"))
    # the survey's own templates run sandboxed, as the README's do (surveybib/sandbox.py)
    environment = sandbox_class() if own else jinja2.Environment
    return environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def render_page(data: SiteData, user_templates: Path | None = None) -> str:
    """The explorer page for data (templates/site.html.j2 replaces the packaged one)."""
    from markupsafe import Markup

    script, style = asset("explorer.js"), asset("explorer.css")
    template = _environment(user_templates).get_template(TEMPLATE)
    html: str = template.render(
        data=data, papers=data.papers, categories=data.categories,
        venues=data.venues, readers=data.readers, years=data.years,
        sorts=[s for s in SORTS if s[0] != "citations" or data.has_citations],
        csp=content_security_policy(script, style), script=Markup(script),
        style=Markup(style), json=Markup(script_json(page_json(data))),
        counts=_counts(data))
    return html.strip() + "\n"


def _counts(data: SiteData) -> Mapping[str, int]:
    return {"papers": len(data.papers), "notes": sum(bool(p.note_html) for p in data.papers),
            "categories": len(data.categories), "code": sum(bool(p.code) for p in data.papers)}
