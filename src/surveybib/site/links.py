"""Where a note's relative links and images point on the explorer page.

A note is a file of the repository: `![arch](figures/arch.png)` in notes/KEY.md means
notes/figures/arch.png, and the README rewrites it to resolve from README.md
(readme/links.py). The page is published on its own (GitHub Pages serves the built
folder, not the repository), so there a relative target written in a note goes:

1. to the paper on the page, when it is the note of a paper (`[GPTQ](frantar2023gptq.md)`);
2. else to the file in the repository, `files_url` + its path, when the files' address is
   known (`surveybib site --files-url`; the Pages workflow gives
   https://github.com/OWNER/REPO/blob/COMMIT/);
3. else, when the page is written inside the survey (`site/`, a local preview), to the
   file itself, relative to the page;
4. else nowhere: the link keeps its text and loses its target, and the run says so.

A root-relative target (`/docs/usage.md`) is read as GitHub reads it in a note: from the
top of the repository. Absolute URLs and `#anchors` are left as they are (the sanitiser
has already dropped every scheme but http, https and mailto).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from surveybib.errors import UsageError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PATH_SAFE = "/-._~!$&'()*+,;=@"  # what a path keeps unencoded (RFC 3986 pchar but ':')


@dataclass(frozen=True, slots=True)
class NoteLinks:
    """How the page resolves relative targets in the notes (paths relative to the root)."""

    notes: str = "notes"  # the notes folder
    files_url: str = ""  # where the repository's files are published, ending in "/"
    page_folder: str | None = None  # the page's folder when it is inside the survey
    papers: Mapping[str, str] = field(default_factory=dict)  # a note's path -> its anchor

    def resolve(self, target: str) -> str | None:
        """The href a target written in a note gets on the page; None: it has none."""
        if not target or target.startswith(("#", "?", "//")) or _SCHEME.match(target):
            return target
        cut = min((i for i in (target.find("?"), target.find("#")) if i >= 0),
                  default=len(target))
        path, rest = _in_repository(target[:cut], self.notes), target[cut:]
        if path is None:
            return None
        if path in self.papers:
            return "#" + self.papers[path]
        if self.files_url:
            return self.files_url + quote(path, safe=_PATH_SAFE) + rest
        if self.page_folder is not None:
            return quote(posixpath.relpath(path or ".", self.page_folder or "."),
                         safe=_PATH_SAFE) + rest
        return None

    def why_dropped(self, target: str) -> str:
        """What the run says about a target `resolve` gave no place."""
        if _in_repository(target.split("#")[0].split("?")[0], self.notes) is None:
            return (f"link to '{target}' left out of the explorer page: it points outside "
                    "the repository")
        return (f"link to '{target}' left out of the explorer page: it is a file of the "
                "repository, and the page is written outside it; give `surveybib site "
                "--files-url URL` (e.g. https://github.com/OWNER/REPO/blob/main/)")


def _in_repository(written: str, notes: str) -> str | None:
    """A note's relative path (%-encoded or not) as a path from the repository's top;
    None when it climbs out of the repository."""
    raw = unquote(written)
    path = posixpath.normpath(raw.lstrip("/") if raw.startswith("/") else f"{notes}/{raw}")
    if path == ".." or path.startswith("../"):
        return None
    return "" if path == "." else path


def files_url(value: str) -> str:
    """--files-url as given: an http(s) URL, with a final "/" added when it has none."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or \
            any(c.isspace() or c in "\"'<>" for c in value.strip()):
        raise UsageError(f"--files-url {value!r}: give the http(s) address the repository's "
                         "files are published at, e.g. https://github.com/OWNER/REPO/blob/main/")
    return value.strip().rstrip("/") + "/"
