"""Every finding surveybib reports, once: the Rule enumeration (id, default level, what it
finds). Problems are made only through a Rule, `[tool.surveybib.check]` may turn any of them
off or change its level, and docs/usage.md's rule table is generated from this list (a test
fails when the two differ)."""

from __future__ import annotations

from enum import Enum

from surveybib.model import Entry, Level, Problem


class Rule(Enum):
    """A kind of finding: its id (as in `[tool.surveybib.check]`), default level and text."""

    PARSE_ERROR = ("parse-error", "error", "a block that does not parse")
    DUPLICATE_KEY = ("duplicate-key", "error", "a key defined twice")
    DUPLICATE_FIELD = ("duplicate-field", "error", "a field given twice in one entry")
    UNDEFINED_MACRO = ("undefined-macro", "error", "an @string macro that is not defined")
    DUPLICATE_STRING = (
        "duplicate-string", "warning",
        "an @string macro defined twice (the later value wins)")
    NO_TITLE = ("no-title", "warning", "an entry without a title")
    VALUE_TOO_LONG = (
        "value-too-long", "error",
        "a value longer than 1,000,000 characters (after @string expansion): cut")
    ORPHAN_NOTE = ("orphan-note", "error", "a note whose key is not in the bibliography")
    NOTE_UNREADABLE = ("note-unreadable", "error", "a note that is not UTF-8 text")
    NOTE_COLLISION = ("note-collision", "warning", "note files that differ only in case")
    NOTE_UNCLOSED = (
        "note-unclosed", "warning",
        "a note (or the intro) that leaves a code fence, an HTML comment or an HTML block "
        "(`<pre>`, `<script>`, ...) open")
    HIDDEN_CHARACTER = (
        "hidden-character", "warning",
        "a control character (NUL, ESC, ...) or a bidirectional override in a field, a note "
        "or the intro (dropped from the README)")
    STALE_OUTPUT = (
        "stale-output", "error",
        "README.md, an export or the issue form is not what build would write")
    UNCOMMITTED_STORE = (
        "uncommitted-store", "error", "the metadata store exists but git does not track it")
    UNUSED_RECORD = (
        "unused-record", "warning",
        "a record in the metadata store that no entry uses (`enrich --prune` removes them)")
    ISSUE_FORM = (
        "issue-form", "warning",
        "a category the issue form's dropdown cannot offer (`None`, empty, multi-line)")
    EXPORT_UNKNOWN_KEY = (
        "export-unknown-key", "error",
        "a key cited (--aux) or asked for (--keys) that is not in the bibliography")
    EXPORT_FORMAT = (
        "export-format", "warning",
        "an entry a formatting style could not format as its type")
    EXPORT_BRACES = ("export-braces", "warning", "a value whose braces BibTeX cannot balance")
    SITE_LINK = (
        "site-link", "warning",
        "a relative link in a note that the explorer page cannot place (no `--files-url`, or "
        "outside the repository): left without target")
    CONFLICT = ("conflict", "warning", "the user's year or title differs from the fetched record's")
    PREPRINT = ("preprint", "warning", "a preprint whose record names a published version")
    NOT_FOUND = ("not-found", "warning", "a DOI found at neither Crossref nor DataCite")
    FETCH_FAILED = (
        "fetch-failed", "warning",
        "a lookup that failed (network, server, malformed answer)")
    AMBIGUOUS = (
        "ambiguous", "warning",
        "a title search with several close candidates: nothing taken")
    VALUE_CUT = (
        "value-cut", "warning",
        "a value shown or sent cut: a README cell over 1,000 characters, a title search over "
        "300, a fetched value over 1,000,000")
    UPGRADE_REFUSED = (
        "upgrade-refused", "warning",
        "an arXiv preprint whose Semantic Scholar record fails the upgrade guard "
        "(enrich --upgrade): left as it is")
    LATEX_COMMAND = (
        "latex-command", "warning",
        "a LaTeX command no conversion knows: left out (with a space) of the README and the "
        "formatted exports")
    DUPLICATE_KEY_CASE = ("duplicate-key-case", "error", "keys that differ only in case")
    DUPLICATE_DOI = ("duplicate-doi", "error", "two entries with the same DOI or arXiv id")
    NEAR_DUPLICATE_TITLE = (
        "near-duplicate-title", "warning",
        "two entries with (nearly) the same title")
    PREPRINT_DUPLICATE = (
        "preprint-duplicate", "warning",
        "an arXiv preprint and its likely published version both listed (same title, "
        "shared authors)")
    MISSING_FIELD = ("missing-field", "error", "a field the entry type requires is missing")
    UNKNOWN_TAXONOMY = ("unknown-taxonomy", "error", "a taxonomy value not in the configured list")
    NO_TAXONOMY = ("no-taxonomy", "warning", "an entry without a taxonomy value")
    BAD_DOI = ("bad-doi", "error", "a DOI that is not of the form 10.NNNN/...")
    BAD_ARXIV = (
        "bad-arxiv", "error",
        "an arXiv id that is not of the form 2101.01234 or hep-th/9901001")
    BAD_YEAR = ("bad-year", "error", "a year that is not a four-digit year")
    BAD_URL = ("bad-url", "error", "a url that is not an http(s) or ftp URL")
    READER_WITHOUT_NOTE = (
        "reader-without-note", "warning",
        "an entry marked as read (reader) but without a note")
    BAD_KEY = (
        "bad-key", "error",
        "a key BibTeX or biber cannot read (empty, a space or tab, a control character, or "
        "any of `, { } ( ) = \" # % \\`); the BibTeX and BibLaTeX exports leave it out")

    def __init__(self, ident: str, level: Level, text: str) -> None:
        self.id = ident
        self.level: Level = level
        self.text = text

    def at(self, path: str, line: int | None, key: str | None, message: str, stage: str,
           level: Level | None = None) -> Problem:
        """A finding of this rule at `path:line` about `key` (default level unless given)."""
        return Problem(path, line, key, message, stage, level or self.level, self.id)

    def about(self, entry: Entry, message: str, stage: str, level: Level | None = None
              ) -> Problem:
        """A finding of this rule about one entry, at the entry's file and line."""
        return self.at(entry.path, entry.line or None, entry.key, message, stage, level)

    @classmethod
    def by_id(cls) -> dict[str, Rule]:
        return {rule.id: rule for rule in cls}


def rule_table() -> str:
    """The markdown table of every rule, as docs/usage.md shows it."""
    rows = ["| rule | default | finds |", "|---|---|---|"]
    rows += [f"| `{rule.id}` | {rule.level} | {rule.text} |" for rule in Rule]
    return "\n".join(rows) + "\n"
