"""Markdown that is safe to put in the README: escaped data, link targets, user markdown
(notes, the intro) passed through as written, and the final tidy-up.

surveybib marks what it writes with private-use characters (\\ue000-\\ue004) while it
renders; they are dropped from every text that comes from the user (with NUL and the
bidirectional overrides, readme/hidden.py), so no title or note can forge a marker.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from surveybib.readme.blocks import leaves_containers_open
from surveybib.readme.hidden import HIDDEN_OR_PRIVATE

# Dropped from everything the README shows: our markers, NUL and bidirectional overrides.
_DROPPED = HIDDEN_OR_PRIVATE
# User markdown (notes, the intro) goes into the README between these marker lines, so
# the final tidy-up leaves it exactly as written (hard line breaks, blank lines in code).
VERBATIM_OPEN, VERBATIM_CLOSE = "\ue003", "\ue004"
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# CommonMark's HTML block of type 2: from a line starting `<!--` to the line with `-->`;
# a `# ...` line inside it is not a heading on GitHub, so it takes no anchor.
COMMENT_START = re.compile(r"^ {0,3}<!--")


def drop_markers(text: str) -> str:
    """Text from the user without the characters the README never shows."""
    return _DROPPED.sub("", text)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!])")
_MATH = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])+(?<!\\)\$")


@lru_cache(maxsize=1 << 15)
def md_text(text: str) -> str:
    """Display text -> inert inline markdown on one line (math spans kept for GitHub)."""
    return md_escape(_DROPPED.sub("", " ".join(text.split())))


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
    """Math stays math for GitHub, but can neither open a tag, split a table cell, nor
    close or open a link label (`$a](javascript:...)$` inside `[...](#anchor)`)."""
    if not any(c in math for c in "<>|[]"):
        return math
    return (math.replace("<", r"\lt{}").replace(">", r"\gt{}").replace("|", r"\vert{}")
            .replace("[", r"\lbrack{}").replace("]", r"\rbrack{}"))


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
    text = _DROPPED.sub("", markdown.strip("\n"))
    return f"{VERBATIM_OPEN}\n{text}\n{VERBATIM_CLOSE}"


def next_fence(fence: str | None, mark: str) -> str | None:
    """The open code fence after a fence line `mark`: it opens one, or closes the open
    one when it is of the same character and at least as long (CommonMark)."""
    if fence is None:
        return mark
    return None if mark[0] == fence[0] and len(mark) >= len(fence) else fence


_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+$", re.M)


def strip_line_ends(text: str) -> str:
    """No spaces or tabs at line ends (user text; the templates write none)."""
    return _TRAILING_SPACE.sub("", text) if " \n" in text or "\t\n" in text else text


def tidy(text: str) -> str:
    """No runs of blank lines or spaces at line ends, one final newline; user markdown
    (between the verbatim markers) is left exactly as written."""
    if VERBATIM_OPEN not in text:  # no user markdown: tidy in place (a 50k-entry README
        return _tidy_template(text).strip("\n") + "\n"  # is 20 MB; spare it copies)
    pieces: list[str] = []
    chunks = text.split(f"{VERBATIM_OPEN}\n")
    for i, chunk in enumerate(chunks):
        if i:  # user markdown first, then the template output that follows it
            user, _, chunk = chunk.partition(f"\n{VERBATIM_CLOSE}")
            chunk = _tidy_template(chunk)
            pieces.append(user + _end_of_user_blocks(user, chunk))
            if chunk.strip():  # a blank line ends the user's paragraph (no lazy line)
                chunk = "\n\n" + chunk.lstrip("\n")
        else:
            chunk = _tidy_template(chunk)
        if i < len(chunks) - 1 and chunk.strip():  # and one starts it
            chunk = chunk.rstrip("\n") + "\n\n"
        pieces.append(chunk)
    return "".join(pieces).strip("\n") + "\n"


_MAY_CONTINUE = re.compile(r"[ \t]|>|[-+*](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)")


END_OF_NOTE = "<!-- end of note -->"


def _end_of_user_blocks(user: str, following: str) -> str:
    """What to put after user markdown that ends inside a list or a block quote when the
    next generated line could continue it (a `- ` item after a note's own list): an HTML
    comment after a blank line, which ends every open list and quote on GitHub."""
    line = following.lstrip("\n").partition("\n")[0]
    if not line.strip() or not _MAY_CONTINUE.match(line):
        return ""
    return f"\n\n{END_OF_NOTE}" if leaves_containers_open(user) else ""


def _tidy_template(text: str) -> str:
    text = strip_line_ends(text)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
