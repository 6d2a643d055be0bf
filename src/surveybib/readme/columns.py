"""The optional README columns (`columns = ["citations", "code"]` in [tool.surveybib]):
static text rendered from the metadata store, never fetched by `build` and never a live
badge image, so an offline rebuild gives the same bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from surveybib.identifiers import paper_keys
from surveybib.metadata.store import MetadataStore
from surveybib.model import Entry
from surveybib.readme.markdown import safe_url

HEADINGS = {"citations": "Citations", "code": "Code"}


def column_heads(columns: Sequence[str]) -> list[tuple[str, str]]:
    """(id, heading) of each configured column, in the configured order."""
    return [(name, HEADINGS[name]) for name in columns]


def column_cells(entries: Sequence[Entry], store: MetadataStore,
                 columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """{entry key: {column: cell markdown}} for the configured columns ("" when the store
    has nothing for the paper)."""
    if not columns:
        return {}
    out: dict[str, dict[str, str]] = {}
    for entry in entries:
        keys = paper_keys(entry)
        cells: dict[str, str] = {}
        if "citations" in columns:
            cells["citations"] = citations_cell(_first(store.citations, keys))
        if "code" in columns:
            cells["code"] = code_cell(_first(store.code, keys))
        out[entry.key] = cells
    return out


def _first(section: Mapping[str, Mapping[str, Any]], keys: Sequence[str]
           ) -> Mapping[str, Any] | None:
    return next((section[k] for k in keys if k in section), None)


def citations_cell(record: Mapping[str, Any] | None) -> str:
    """`1,234`: Semantic Scholar's citation count ("" when unknown)."""
    count = record.get("count") if record else None
    return f"{count:,}" if isinstance(count, int) and not isinstance(count, bool) else ""


def code_cell(record: Mapping[str, Any] | None) -> str:
    """`[code](https://github.com/o/r) ★ 1,234, [project](https://...)`, or ""."""
    if not record:
        return ""
    parts = []
    repo = safe_url(str(record.get("repo") or ""))
    if repo:
        stars = record.get("stars")
        star_text = f" \u2605 {stars:,}" if isinstance(stars, int) \
            and not isinstance(stars, bool) else ""
        parts.append(f"[code]({repo}){star_text}")
    project = safe_url(str(record.get("project") or ""))
    if project:
        parts.append(f"[project]({project})")
    return ", ".join(parts)
