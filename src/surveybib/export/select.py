"""Which entries an export writes (keys, a category) and in what order."""

from __future__ import annotations

import re
from collections.abc import Sequence

from surveybib.bibtex.names import parse_names
from surveybib.errors import UsageError
from surveybib.export.base import SORTS
from surveybib.latex import to_text
from surveybib.lint import category_hint
from surveybib.model import Entry, Person
from surveybib.readme.taxonomy import split_categories


def select_entries(
    entries: Sequence[Entry],
    *,
    keys: Sequence[str] | None = None,
    taxonomy: str | None = None,
    group_by: str = "taxonomy",
    declared: Sequence[str] = (),
) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Keep the entries named in `keys` (None: all) and, with `taxonomy`, those filed
    under that category, in bibliography order. A category's `T/...` sub-categories
    count only when T is in the `declared` taxonomy list (otherwise `/` is part of a
    name, as in `Survey/Review`).

    Returns (selected entries, requested keys that are not in the bibliography). The
    entries a selected one cross-references are kept too (BibTeX needs them)."""
    by_key = {e.key: e for e in entries}
    names = frozenset(declared)  # looked up once per category of every entry
    unknown = tuple(dict.fromkeys(k for k in keys if k not in by_key)) if keys is not None else ()
    chosen = set(keys) if keys is not None else None
    wanted = taxonomy.strip().casefold() if taxonomy else None
    parent = wanted is not None and wanted in {d.casefold() for d in declared}
    selected = [
        e for e in entries
        if (chosen is None or e.key in chosen)
        and (wanted is None or _in_category(split_categories(
            e.get(group_by), names, commas=group_by != "taxonomy"), wanted, parent))
    ]
    have = {e.key for e in selected}
    for entry in list(selected):
        target = by_key.get(entry.get("crossref").strip())
        if target is not None and target.key not in have:
            selected.append(target)
            have.add(target.key)
    return tuple(selected), unknown


def check_category(taxonomy: str, entries: Sequence[Entry], *, group_by: str = "taxonomy",
                   declared: Sequence[str] = ()) -> None:
    """`--taxonomy T` must name a declared category or one an entry is filed under (any
    case); otherwise a UsageError with the hint `add` gives ("did you mean ...")."""
    names = frozenset(declared)  # looked up once per category of every entry
    known = list(dict.fromkeys([*declared, *(
        name for e in entries
        for name in split_categories(e.get(group_by), names, commas=group_by != "taxonomy"))]))
    wanted = taxonomy.strip().casefold()
    if any(k.casefold() == wanted for k in known):
        return
    hint = category_hint(taxonomy.strip(), known)
    listed = ", ".join(f"'{k}'" for k in known) or "none yet"
    raise UsageError(f"--taxonomy '{taxonomy.strip()}': no such category"
                     f"{'; ' + hint if hint else ''} (the categories: {listed})")


def _in_category(names: Sequence[str], wanted: str, parent: bool) -> bool:
    for name in names:
        name = name.casefold()
        if name == wanted or (parent and name.startswith(wanted + "/")):
            return True
    return False


def sort_entries(entries: Sequence[Entry], sort: str) -> tuple[Entry, ...]:
    """Order entries by `key`, `year` (oldest first) or `author` (first author's
    family name, then year and title); ties keep the bibliography's order."""
    if sort == "key":
        return tuple(sorted(entries, key=lambda e: e.key.casefold()))
    if sort == "year":
        return tuple(sorted(entries, key=_year_sort_key))
    if sort == "author":
        return tuple(sorted(entries, key=_author_sort_key))
    raise UsageError(f"unknown sort '{sort}'; use one of {', '.join(SORTS)}")


def _year_sort_key(entry: Entry) -> tuple[int, int]:
    match = re.search(r"\d{4}", entry.get("year") or entry.get("date"))
    return (0, int(match.group(0))) if match else (1, 0)


def _author_sort_key(entry: Entry) -> tuple[str, str, tuple[int, int], str]:
    people = parse_names(entry.get("author") or entry.get("editor"))
    first = people[0] if people else Person()
    family = first.literal or " ".join(p for p in (first.von, first.family) if p)
    return (to_text(family).casefold() or "\uffff", to_text(first.given).casefold(),
            _year_sort_key(entry), to_text(entry.get("title")).casefold())
