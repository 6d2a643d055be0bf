"""Months and years as BibTeX writes them (`month = may`, `{May}`, `5`; `year = 2024`)."""

from __future__ import annotations

import re
from functools import lru_cache

MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
# BibTeX's predefined month macros -> the text they stand for.
MONTH_MACRO_TEXT = dict(zip(MONTH_MACROS, MONTH_NAMES, strict=True))
_MONTHS = {name: i + 1 for i, name in enumerate(MONTH_MACROS)}
_MONTHS.update({name.lower(): i + 1 for i, name in enumerate(MONTH_NAMES)})
_MONTHS["sept"] = 9


@lru_cache(maxsize=256)
def month_number(value: str) -> int | None:
    """`5`, `05`, `May`, `may.`, `{May}` -> 5; None when it is not one month."""
    text = value.strip().strip("{}").strip().rstrip(".").lower()
    if text.isdecimal():  # not isdigit: "²" is a digit that int() refuses
        number = int(text) if len(text) <= 2 else 0  # 4,300 digits are more than int() takes
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(text)


def day_number(value: str) -> int | None:
    """`9`, `09` -> 9; None when it is not a day of a month."""
    text = value.strip()
    number = int(text) if text.isdecimal() and len(text) <= 2 else 0
    return number if 1 <= number <= 31 else None


def year_number(value: str) -> int | None:
    """`2024` -> 2024; None for `in press`, `2024a` and the like."""
    value = value.strip().strip("{}")
    return int(value) if len(value) == 4 and value.isdecimal() else None


def split_date(value: str) -> tuple[str, str, str]:
    """A biblatex `date` (`2024-05-17`, `2024-05`, `2024`) -> (year, month, day) text."""
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not match:
        return "", "", ""
    return match.group(1), match.group(2) or "", match.group(3) or ""
