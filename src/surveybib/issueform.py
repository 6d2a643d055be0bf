"""The add-paper issue form: its YAML, generated from `[tool.surveybib] taxonomy`, and the
issue body GitHub writes when someone fills it in.

GitHub writes each answer under a `### Label` heading: `_No response_` for an empty
field, a dropdown's choices joined by `, ` (`None` when nothing is chosen), checkboxes as
`- [X] label` lines. A contributor's body is untrusted text: it is parsed as data, and
what is shown back to them is put in code blocks (no markdown, no @mentions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from surveybib.config import DEFAULT_TITLE, Settings
from surveybib.errors import UsageError
from surveybib.model import Problem
from surveybib.rules import Rule
from surveybib.scaffold.text import render

FORM_PATH = ".github/ISSUE_TEMPLATE/add-paper.yml"
LABEL = "add-paper"  # the label the form puts on its issues; the workflow listens for it
NO_RESPONSE = "_No response_"


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of the form: its id and the label GitHub writes as its heading."""

    id: str
    label: str


PAPER = FormField("paper", "DOI or arXiv id")
TITLE = FormField("title", "Title")
AUTHOR = FormField("author", "First author")
YEAR = FormField("year", "Year")
CATEGORY = FormField("taxonomy", "Category")
READER = FormField("reader", "Reader")
NOTE = FormField("note", "Note")
FIELDS = (PAPER, TITLE, AUTHOR, YEAR, CATEGORY, READER, NOTE)


class IssueFormError(UsageError):
    """The issue body cannot be used as it is (exit 2); the message says what to fill in."""

    def __init__(self, message: str, hint: str = "Change that answer in the issue.") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class PaperRequest:
    """What a contributor asked for in the form (empty strings for empty fields)."""

    paper: str = ""
    title: str = ""
    author: str = ""
    year: str = ""
    taxonomy: str = ""  # categories joined by "; ", as the taxonomy field holds them
    reader: str = ""
    note: str = ""


# ------------------------------------------------------------------ the form


def form_options(taxonomy: Sequence[str]) -> tuple[tuple[str, ...], tuple[Problem, ...]]:
    """The categories a dropdown can offer, and a warning for each one GitHub would refuse
    (an empty or multi-line name, its reserved word `None`, a repeat)."""
    options: list[str] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in taxonomy:
        why = ""
        if not name.strip():
            why = "it is empty"
        elif not name.isprintable():
            why = "it holds a line break or another control character"
        elif name.strip().casefold() == "none":
            why = "GitHub reserves 'None' in dropdowns for 'nothing chosen'"
        elif name.strip() in seen:
            why = "another category differs from it only in spaces around it"
        if why:
            problems.append(Rule.ISSUE_FORM.at(FORM_PATH, None, None, f"category {name!r} is "
                                               "left out of the form's Category list: "
                                               f"{why}", "build"))
            continue
        seen.add(name.strip())
        options.append(name)
    return tuple(options), tuple(problems)


def render_form(title: str, taxonomy: Sequence[str]) -> tuple[str, tuple[Problem, ...]]:
    """The issue form's YAML for a survey with this title and taxonomy."""
    options, problems = form_options(taxonomy)
    fields = {f.id: f.label for f in FIELDS}
    text = render("issue-form.yml.j2", survey_title=title, options=options, fields=fields,
                  label=LABEL)
    return text, problems


def form_enabled(settings: Settings) -> bool:
    """`issue_form = true`, or no setting and the form's file is there."""
    if settings.issue_form is None:
        return (settings.root / FORM_PATH).is_file()
    return settings.issue_form


def form_output(settings: Settings) -> tuple[Path, str, tuple[Problem, ...]] | None:
    """The form as build writes it (path, text, warnings), or None when it is not wanted."""
    if not form_enabled(settings):
        return None
    text, problems = render_form(settings.title or DEFAULT_TITLE, settings.taxonomy)
    return settings.root / FORM_PATH, text, problems


# ------------------------------------------------------------------ the issue body


# Greedy, then one step back (linear: a lazy `(.+?)` before `[ \t]*` is quadratic on a
# long line of spaces); a heading of blanks only is still a heading, as before.
_HEADING = re.compile(r"### +(.*[^ \t]|[ \t])[ \t]*")
_CHECKBOX = re.compile(r"- \[([ xX])\] (.*)")


def parse_body(text: str, taxonomy: Sequence[str]) -> PaperRequest:
    """The answers in an issue body GitHub wrote for the form. Raises IssueFormError when
    it is not the form's body, gives neither an identifier nor a title, or has a bad year."""
    sections = _sections(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not sections:
        raise IssueFormError(f"the issue is not the add-paper form's (no '### {PAPER.label}' "
                             "heading): open the issue with the 'Add a paper' form",
                             "Open a new issue with the 'Add a paper' form (Issues > New "
                             "issue), or put the answers under the form's headings.")
    value = {f.id: _answer(sections.get(f.label, "")) for f in FIELDS}
    request = PaperRequest(
        paper=_one_line(value[PAPER.id]), title=_one_line(value[TITLE.id]),
        author=_one_line(value[AUTHOR.id]), year=_one_line(value[YEAR.id]),
        taxonomy="; ".join(_categories(sections.get(CATEGORY.label, ""), taxonomy)),
        reader=_one_line(value[READER.id]), note=value[NOTE.id])
    if not request.paper and not request.title:
        raise IssueFormError(f"the issue gives neither a DOI or arXiv id nor a title: fill in "
                             f"'{PAPER.label}' (or '{TITLE.label}' when the paper has neither)")
    if request.year and not re.fullmatch(r"\d{4}", request.year):
        raise IssueFormError(f"'{YEAR.label}' is '{request.year}': give a four-digit year")
    return request


def require_categories(request: PaperRequest, taxonomy: Sequence[str]) -> None:
    """A survey with a category list takes no paper without one: the form marks Category
    required, but GitHub enforces that only in public repositories."""
    if taxonomy and not request.taxonomy.strip():
        names = ", ".join(repr(name) for name in taxonomy)
        raise IssueFormError(f"'{CATEGORY.label}' is empty: choose one or more of {names}",
                             f"Choose the categories under '{CATEGORY.label}' in the issue.")


def _sections(text: str) -> dict[str, str]:
    """Label -> the raw text under its heading. Every `### ` line starts a section (a
    maintainer's extra fields are kept apart and ignored), except inside the note, which
    only a field not seen yet ends: a note may hold headings of its own."""
    known = {f.label for f in FIELDS}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_note = False
    for line in text.split("\n"):
        match = _HEADING.fullmatch(line)
        if match is not None:
            label = match.group(1)
            fresh = label in known and label not in sections
            if fresh or (not in_note and label not in known):
                current = sections.setdefault(label, []) if fresh else []
                in_note = label == NOTE.label
                continue
        if current is not None:
            current.append(line)
    return {label: "\n".join(lines) for label, lines in sections.items()}


def _answer(raw: str) -> str:
    """The text under a heading without the blank lines around it (a note's own line
    breaks and spacing kept); "" for GitHub's `_No response_`."""
    lines = raw.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    value = "\n".join(lines).rstrip()
    return "" if value.strip() == NO_RESPONSE else value


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _categories(raw: str, taxonomy: Sequence[str]) -> tuple[str, ...]:
    """A dropdown's `A, B` (split at the configured names, which may hold `, ` themselves)
    or a checkbox list's ticked labels."""
    value = _answer(raw).strip()
    if not value or value == "None":
        return ()
    lines = [line.strip() for line in value.split("\n") if line.strip()]
    boxes = [_CHECKBOX.fullmatch(line) for line in lines]
    if all(boxes):
        return tuple(m.group(2).strip() for m in boxes if m and m.group(1) in "xX")
    flat = " ".join(lines)  # one line as GitHub writes it; a name's own spaces kept
    if not taxonomy:
        return (flat,)
    parts = split_selection(flat, tuple(t.strip() for t in taxonomy))
    if parts is None:  # not made of configured names: `add` names the odd one out
        parts = tuple(p.strip() for p in flat.split(", ") if p.strip())
    by_stripped = {t.strip(): t for t in taxonomy}
    return tuple(by_stripped.get(p, p) for p in parts)


def split_selection(value: str, options: tuple[str, ...]) -> tuple[str, ...] | None:
    """`A, B` -> (A, B) when VALUE is configured names joined by `, ` (None otherwise).
    A name may itself hold `, `: every way of reading VALUE is tried, longest names first."""
    ordered = tuple(sorted(set(options), key=len, reverse=True))

    @cache
    def parse(at: int) -> tuple[str, ...] | None:
        for name in ordered:
            end = at + len(name)
            if not name or not value.startswith(name, at):
                continue
            if end == len(value):
                return (name,)
            if value.startswith(", ", end):
                rest = parse(end + 2)
                if rest is not None:
                    return (name, *rest)
        return None

    return parse(0)


# ------------------------------------------------------------------ what goes back to GitHub


def code_block(text: str, info: str = "text") -> str:
    """TEXT as a fenced code block no line of it can close: shown as it is, never as
    markdown, links or @mentions."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def refusal_comment(message: str, hint: str) -> str:
    """The comment a workflow posts on the issue when the paper was not added."""
    return (f"surveybib did not add this paper:\n\n{code_block(message)}\n\n{hint}\n\n"
            "Edit this issue to change the answers; saving the edit tries again.\n")


def added_comment(bib: str, key: str, line: int, entry_text: str, source: str,
                  note: str | None, warnings: Sequence[str], *, note_given: bool = True) -> str:
    """The pull request's description when the paper was added. NOTE is the note file add
    created: with the issue's note in it (NOTE_GIVEN), or the note template."""
    parts = [f"Adds the paper below to {bib} (line {line}), {source}.",
             code_block(entry_text.rstrip(), "bibtex")]
    if note and note_given:
        parts.append(f"The note from the issue is in {note}.")
    elif note:
        parts.append(f"The issue gives no note: {note} holds the note template, to fill in "
                     "later.")
    if warnings:
        parts.append("surveybib's warnings about it:\n\n" + code_block("\n".join(warnings)))
    parts.append(f"The entry's key is {code_span(key)}.")
    return "\n\n".join(parts) + "\n"


def code_span(text: str) -> str:
    """TEXT as inline code that no backtick in it can end."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
