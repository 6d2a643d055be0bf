"""Markdown that is safe to put in the README: escaped data, link targets, user markdown
(notes, the intro) passed through as written, and blocks a note leaves open closed.

surveybib marks what it writes with private-use characters (\\ue000-\\ue004) while it
renders; they are dropped from every text that comes from the user, so no title or note
can forge a marker.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

_PRIVATE = re.compile("[\ue000-\ue004]")
# User markdown (notes, the intro) goes into the README between these marker lines, so
# the final tidy-up leaves it exactly as written (hard line breaks, blank lines in code).
_VERBATIM_OPEN, _VERBATIM_CLOSE = "\ue003", "\ue004"
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# CommonMark's HTML block of type 2: from a line starting `<!--` to the line with `-->`;
# a `# ...` line inside it is not a heading on GitHub, so it takes no anchor.
COMMENT_START = re.compile(r"^ {0,3}<!--")


def drop_markers(text: str) -> str:
    """Text from the user with surveybib's private-use marker characters removed."""
    return _PRIVATE.sub("", text)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!])")
_MATH = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])+(?<!\\)\$")


@lru_cache(maxsize=1 << 15)
def md_text(text: str) -> str:
    """Display text -> inert inline markdown on one line (math spans kept for GitHub)."""
    return md_escape(_PRIVATE.sub("", " ".join(text.split())))


def md_escape(text: str) -> str:
    """Text -> inert markdown, its spaces kept as they are (for text set beside other text,
    such as a citation style's punctuation); `$...$` math spans stay math."""
    if "$" not in text:
        return _md_plain(text)
    out: list[str] = []
    last = 0
    for math in _MATH.finditer(text):
        out.append(_md_plain(text[last : math.start()]))
        out.append(_inert_math(math.group(0)))
        last = math.end()
    out.append(_md_plain(text[last:]))
    return "".join(out)


def _inert_math(math: str) -> str:
    """Math stays math for GitHub, but can neither open a tag nor split a table cell."""
    return math.replace("<", r"\lt{}").replace(">", r"\gt{}").replace("|", r"\vert{}")


def _md_plain(text: str) -> str:
    text = text.replace("&", "&amp;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("$", r"\$")


_PLAIN_URL = re.compile(r"^[A-Za-z0-9/:?#\[\]@!$&'*+,;=%~._-]+$")


def safe_url(url: str) -> str | None:
    """A URL usable as a markdown link target: http(s) only, no spaces or parentheses."""
    url = url.strip()
    if not re.match(r"^https?://[^\s/]", url, re.I):
        return None
    if _PLAIN_URL.match(url):
        return url
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._")


def user_markdown(markdown: str) -> str:
    """User markdown, marked to pass the final tidy-up untouched."""
    text = _PRIVATE.sub("", markdown.strip("\n"))
    return f"{_VERBATIM_OPEN}\n{text}\n{_VERBATIM_CLOSE}"


def next_fence(fence: str | None, mark: str) -> str | None:
    """The open code fence after a fence line `mark`: it opens one, or closes the open
    one when it is of the same character and at least as long (CommonMark)."""
    if fence is None:
        return mark
    return None if mark[0] == fence[0] and len(mark) >= len(fence) else fence


def close_open_blocks(markdown: str) -> tuple[str, str | None]:
    """A note or intro with a code fence or HTML comment left open would swallow the
    rest of the README on GitHub: close it at the end, and say what was closed."""
    fence: str | None = None
    comment = False
    for line in markdown.split("\n"):
        if comment:
            comment = "-->" not in line
            continue
        opener = FENCE.match(line)
        if opener:
            fence = next_fence(fence, opener.group(1))
        elif fence is None and COMMENT_START.match(line):
            comment = "-->" not in line[line.index("<!--") + 4 :]
    if fence is not None:
        return f"{markdown.rstrip()}\n{fence}", f"code fence {fence} is never closed"
    if comment:
        return f"{markdown.rstrip()} -->", "HTML comment <!-- is never closed"
    return markdown, None


_TRAILING_SPACE = re.compile(r"[ \t]+$", re.M)


def strip_line_ends(text: str) -> str:
    """No spaces or tabs at line ends (user text; the templates write none)."""
    return _TRAILING_SPACE.sub("", text) if " \n" in text or "\t\n" in text else text


def tidy(text: str) -> str:
    """No runs of blank lines or spaces at line ends, one final newline; user markdown
    (between the verbatim markers) is left exactly as written."""
    if _VERBATIM_OPEN not in text:  # no user markdown: tidy in place (a 50k-entry README
        return _tidy_template(text).strip("\n") + "\n"  # is 20 MB; spare it copies)
    pieces: list[str] = []
    for i, chunk in enumerate(text.split(f"{_VERBATIM_OPEN}\n")):
        if i:  # user markdown first, then the template output that follows it
            user, _, chunk = chunk.partition(f"\n{_VERBATIM_CLOSE}")
            pieces.append(user)
        pieces.append(_tidy_template(chunk))
    return "".join(pieces).strip("\n") + "\n"


def _tidy_template(text: str) -> str:
    text = strip_line_ends(text)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
