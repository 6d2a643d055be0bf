"""The README's Contributors section: who read which papers and wrote which notes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

_SEPARATOR = re.compile(r";\s*|(?<!\s)\s+and\s+")


class _Paper(Protocol):
    @property
    def reader(self) -> str: ...

    @property
    def note(self) -> str | None: ...


P = TypeVar("P", bound=_Paper)


@dataclass(slots=True)
class Contributor(Generic[P]):
    """One reader and the papers they read, in file order; `noted` are those with notes."""

    name: str
    read: list[P] = field(default_factory=list)

    @property
    def noted(self) -> list[P]:
        return [p for p in self.read if p.note]


def split_readers(value: str) -> list[str]:
    """`Yin, Lihao; Wang, Xin` or `Yin, Lihao and Wang, Xin` -> each reader once."""
    return list(dict.fromkeys(part.strip() for part in _SEPARATOR.split(value) if part.strip()))


def contributors(papers: Iterable[P]) -> list[Contributor[P]]:
    """Each reader with the papers they read, most papers first, then by name."""
    by_name: dict[str, Contributor[P]] = {}
    for paper in papers:
        for name in split_readers(paper.reader):
            by_name.setdefault(name, Contributor(name)).read.append(paper)
    return sorted(by_name.values(), key=lambda c: (-len(c.read), c.name.casefold()))
