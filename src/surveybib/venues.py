"""Short venue names: `Proceedings of the 40th International Conference on Machine
Learning` -> `ICML`, from the packaged table (data/venues.toml) and the user's
`[tool.surveybib] venues`. One table for every reader of a venue: the README and the
paper explorer (a booktitle or journal), and `enrich --upgrade` (Semantic Scholar's
venue name and its alternate names, metadata/published.py).

Names are compared by a key that ignores what varies between bibliographies: case,
punctuation, "Proceedings of the", ordinals, years, volume numbers and the publishers'
prefixes. A long booktitle is also tried by its part before the first comma and by
either side of a colon (DBLP writes `... Machine Learning, {ICML} 2023, Honolulu ...`;
SC writes `SC22: International Conference for ...`), except a name that mentions a
workshop, which is tried whole: `NeurIPS 2019, Workshop on ...` is not NeurIPS.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

_WORD = re.compile(r"[^\W_]+")
_PARENTHESES = re.compile(r"\([^()]*\)")
_NUMBER_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "
    "thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth hundredth one two "
    "three four five six seven eight nine ten twenty thirty forty fifty sixty seventy "
    "eighty ninety")
_IGNORED = frozenset(
    f"proceedings proc of the in on and for a an annual vol volume part main track "
    f"acm ieee cvf usenix {_NUMBER_WORDS}".split())
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)?")


def venue_key(name: str) -> str:
    """The comparison key of a venue name."""
    text = _PARENTHESES.sub(" ", name.casefold().replace("&", " and "))
    words = (w for w in _WORD.findall(text) if w not in _IGNORED and not _ORDINAL.fullmatch(w))
    return " ".join(words)


_DATA = Path(__file__).resolve().parent / "data" / "venues.toml"


@lru_cache(maxsize=1)
def _packaged() -> tuple[tuple[str, str], ...]:
    # read beside this module: importlib.resources alone costs a build 10 ms to import
    return tuple(tomllib.loads(_DATA.read_text(encoding="utf-8"))["venues"].items())


@lru_cache(maxsize=64)
def venue_table(overrides: tuple[tuple[str, str], ...] = ()) -> Mapping[str, str]:
    """key -> short name: the packaged table, then the user's entries over it (an empty
    short name turns a packaged one off: the venue is shown as written)."""
    return _table((*_packaged(), *overrides))


def _table(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for name, short in pairs:
        key = venue_key(name)
        if key:
            table[key] = short.strip()
    return table


def short_name(name: str, overrides: tuple[tuple[str, str], ...] = ()) -> str | None:
    """The short name for a venue name (display text), or None: not in the table, or
    turned off by the user."""
    return table_entry(name, overrides) or None


@lru_cache(maxsize=1 << 14)
def table_entry(name: str, overrides: tuple[tuple[str, str], ...] = ()) -> str | None:
    """The table's short name for a venue name: "" where the user turned a packaged one
    off, None where the table does not know the name (cached: a bibliography names the
    same few venues thousands of times)."""
    return _lookup(venue_table(overrides), name)


@lru_cache(maxsize=1 << 10)
def user_entry(name: str, overrides: tuple[tuple[str, str], ...]) -> str | None:
    """What the user's own `venues` say of a venue name ("" for turned off), or None where
    they say nothing: their word comes before any other source's short name."""
    return _lookup(_own_table(overrides), name) if overrides else None


@lru_cache(maxsize=8)
def _own_table(overrides: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    """The user's entries alone, keyed once per run (as venue_table keys the whole table)."""
    return _table(overrides)


def _lookup(table: Mapping[str, str], name: str) -> str | None:
    for part in _parts(name):
        short = table.get(venue_key(part))
        if short is not None:
            return short
    return None


def _parts(name: str) -> Iterable[str]:
    yield name
    if "workshop" in name.casefold():
        return  # `NeurIPS 2019, Workshop on ...`: a workshop at a venue is not the venue
    if "," in name:
        yield name.split(",", 1)[0]
    if ":" in name:
        before, after = name.split(":", 1)
        yield after
        yield before
