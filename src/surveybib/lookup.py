"""One paper at a time: `surveybib doi`, `search` and `add` (no file I/O here).

Parse what the user pasted (a DOI in any spelling, an arXiv id), fetch its record (the
metadata store first, then Crossref, then DataCite), build the Entry that `add` appends,
and check it against the bibliography (a DOI already there, a taken key, a taxonomy value
outside the configured list, a near-identical title).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from surveybib.bibtex.keys import make_key, valid_key
from surveybib.bibtex.names import first_family
from surveybib.errors import NetworkError, SurveybibError, UsageError
from surveybib.identifiers import arxiv_doi, entry_ids, normalize_doi, parse_arxiv_id
from surveybib.latex import to_unicode
from surveybib.lint import category_hint, title_duplicates
from surveybib.metadata.match import Candidate, Query, Verdict, candidates_from_items, judge
from surveybib.metadata.records import map_record
from surveybib.metadata.store import MetadataStore, trimmed
from surveybib.model import NOT_FOUND, Entry, Problem, Work
from surveybib.net.fetch import Client, Failed, Trouble
from surveybib.notes import check_note_name
from surveybib.readme.taxonomy import split_categories
from surveybib.rules import Rule


class NotFound(SurveybibError):
    """Neither Crossref nor DataCite holds the DOI (exit 1)."""


class Refused(SurveybibError):
    """`add` will not append this entry (a DOI already in the file): exit 1."""


class TitleNotMatched(NotFound):
    """No Crossref record passes the match guard for a title (exit 1)."""


# ------------------------------------------------------------------ identifiers


@dataclass(frozen=True, slots=True)
class Target:
    """What the user asked for: a lower-case DOI, and the arXiv id when it is arXiv's."""

    doi: str
    arxiv: str = ""


def parse_target(text: str) -> Target:
    """A DOI (bare, `doi:`, doi.org URL, percent-encoded, trailing punctuation) or an arXiv
    id (`2305.09781v2`, `arXiv:...`, an arxiv.org URL, `cs/0112017`) -> Target.
    Raises UsageError (exit 2) for anything else."""
    arxiv = parse_arxiv_id(text)
    if arxiv:
        return Target(arxiv_doi(arxiv), arxiv)
    doi = normalize_doi(text)
    if doi:
        return Target(doi)
    raise UsageError(f"'{text.strip()}' is not a DOI (10.NNNN/...) or an arXiv id "
                     "(2305.09781, arXiv:2305.09781, cs/0112017)")


# ------------------------------------------------------------------ fetching


def fetch(target: Target, store: MetadataStore | None, client: Client | None,
          offline_by: str = "SURVEYBIB_OFFLINE=1") -> tuple[Work, bool]:
    """The stored record if the store has it (then True: from the store), else Crossref,
    then DataCite (trimmed as the store keeps it); client None is offline, because of
    `offline_by` (the flag or the variable, named in the error).

    Raises NotFound (neither holds it), NetworkError (a request failed; offline without a
    stored record)."""
    if store is not None:
        work = store.works.get(target.doi)
        if work is not None:
            return work, True
    if client is None:
        raise NetworkError(f"{target.doi} is not in the metadata store, and {offline_by} "
                           "turns the network off; run again without it")
    outcome = client.get_work(target.doi)
    if isinstance(outcome, Failed):
        if outcome.trouble is Trouble.NOT_FOUND:
            raise NotFound(f"{target.doi}: {NOT_FOUND}")
        raise NetworkError(f"{target.doi}: {outcome.message}")
    return trimmed(outcome), False


def stored(store: MetadataStore, work: Work) -> MetadataStore:
    """The store with the fetched record in it."""
    if store.works.get(work.doi) == work:
        return store
    return store.with_updates(works={work.doi: work})


# ------------------------------------------------------------------ the entry


def build_entry(found: Work, target: Target, taken: Sequence[str], *, key: str = "",
                extra: Sequence[tuple[str, str]] = ()) -> Entry:
    """The entry for a fetched record: our own mapping (records.py), a generated key
    (`miao2024specinfer`) unless one is given, the short venue, then the extra (custom)
    fields. An arXiv paper keeps `eprint` + `archiveprefix`, and its DOI reads
    `10.48550/arXiv.<id>`."""
    record = map_record(found.source, found.record)
    fields = dict(record.fields)
    if target.arxiv:
        fields["doi"] = f"10.48550/arXiv.{target.arxiv}"
        fields.setdefault("eprint", target.arxiv)
        fields.setdefault("archiveprefix", "arXiv")
    if record.venue:
        fields.setdefault("venue", record.venue)
    fields.update((name, value) for name, value in extra if value)
    if not key:
        year = record.year or fields.get("year", "")
        key = make_key(to_unicode(first_family(record.get("author"))), year,
                       to_unicode(fields.get("title", "")), taken)
    return Entry(key, record.type or "misc", tuple(fields.items()))


def entry_for_output(found: Work, target: Target) -> Entry:
    """`surveybib doi`: the entry with a generated key and no custom fields."""
    return build_entry(found, target, ())


# ------------------------------------------------------------------ checks


def check_key(key: str, entries: Sequence[Entry]) -> None:
    """A key given with --key (or pasted) must be valid BibTeX and not taken (also not in
    another case: `check` reports keys that differ only in case). Raises UsageError."""
    if not valid_key(key):
        raise UsageError(f"{key!r} is not a valid BibTeX key (no spaces or any of "
                         ", { } ( ) = \" # % ' ~ \\)")
    check_note_name(key)
    for entry in entries:
        if entry.key.casefold() == key.casefold():
            where = f" (line {entry.line})" if entry.line else ""
            same = "taken" if entry.key == key else f"taken, as '{entry.key}'"
            raise UsageError(f"key '{key}' is already {same}{where}; choose another with --key")


def same_doi(doi: str, entries: Sequence[Entry]) -> Entry | None:
    """The entry that already names this DOI (by the rule `check`'s duplicate-doi uses)."""
    return next((e for e in entries if doi in entry_ids(e)), None)


def refuse_duplicate(doi: str, entries: Sequence[Entry], bib: str) -> None:
    """Raise Refused (exit 1) naming the entry that already holds DOI."""
    other = same_doi(doi, entries)
    if other is not None:
        where = f"{bib}:{other.line}" if other.line else bib
        raise Refused(f"{doi} is already in {where} as '{other.key}'; nothing added")


def check_categories(value: str, taxonomy: Sequence[str], group_by: str = "taxonomy") -> None:
    """Every category in VALUE (`A; B`) must be in the configured list (when there is one).
    Raises UsageError with a "did you mean"."""
    if not taxonomy or not value.strip():
        return
    for name in split_categories(value, taxonomy, commas=group_by != "taxonomy"):
        if name in taxonomy:
            continue
        hint = category_hint(name, taxonomy)
        hint = f"; {hint}" if hint else ""
        listed = ", ".join(f"'{t}'" for t in taxonomy)
        raise UsageError(f"{group_by} '{name}' is not in the configured list{hint} "
                         f"(the list: {listed})")


def near_titles(entry: Entry, entries: Sequence[Entry]) -> tuple[Entry, ...]:
    """Existing entries whose title is (nearly) the same as the new entry's, by the rule
    `check` uses for near-duplicate-title (a preprint and its published version)."""
    return tuple(other for other in title_duplicates(entry, entries) if other.key != entry.key)


def related_versions(found: Work, entries: Sequence[Entry]) -> tuple[tuple[str, Entry], ...]:
    """Entries that are the published version or a preprint of the fetched paper:
    (relation, entry) with relation "published version" or "preprint"."""
    record = map_record(found.source, found.record)
    out: list[tuple[str, Entry]] = []
    for relation, dois in (("published version", record.preprint_of),
                           ("preprint", record.has_preprint)):
        for doi in dois:
            other = same_doi(doi.lower(), entries)
            if other is not None and all(other is not e for _, e in out):
                out.append((relation, other))
    return tuple(out)


def warnings_for(entry: Entry, line: int, entries: Sequence[Entry], bib: str,
                 found: Work | None = None) -> list[Problem]:
    """Warnings about a new entry: a near-identical title, a preprint/published version."""
    problems: list[Problem] = []
    seen: set[str] = set()
    if found is not None:
        for relation, other in related_versions(found, entries):
            seen.add(other.key)
            problems.append(Rule.NEAR_DUPLICATE_TITLE.at(
                bib, line, entry.key, f"its {relation} is already in {bib} as '{other.key}' "
                f"(line {other.line})", "add"))
    for other in near_titles(entry, entries):
        if other.key in seen:
            continue
        problems.append(Rule.NEAR_DUPLICATE_TITLE.at(
            bib, line, entry.key, f"title (nearly) the same as '{other.key}' (line "
            f"{other.line}): a preprint and its published version?", "add"))
    return problems


# ------------------------------------------------------------------ pasted entries


def prepare_pasted(entries: Sequence[Entry], existing: Sequence[Entry], *, key: str = "",
                   extra: Sequence[tuple[str, str]] = ()) -> tuple[Entry, ...]:
    """Entries read from stdin, checked like a fetched one: a key given or generated (a
    keyless one gets `miao2024specinfer`), not taken; no DOI already in the file (nor twice
    in the paste). --key only with one entry. Raises UsageError or Refused."""
    if key and len(entries) != 1:
        raise UsageError(f"--key names one entry, but {len(entries)} were given on stdin")
    out: list[Entry] = []
    for entry in entries:
        fields = dict(entry.fields)
        fields.update((name, value) for name, value in extra if value)
        new_key = key or entry.key
        if not new_key:
            family = first_family(entry.get("author"))
            new_key = make_key(to_unicode(family), fields.get("year", "")[:4],
                               to_unicode(fields.get("title", "")),
                               [e.key for e in (*existing, *out)])
        check_key(new_key, [*existing, *out])
        for doi in entry_ids(entry):
            other = same_doi(doi, (*existing, *out))
            if other is not None:
                where = "survey.bib" if other in existing else "the pasted text"
                raise Refused(f"{new_key}: {doi} is already in {where} as '{other.key}'"
                              "; nothing added")
        out.append(dataclasses.replace(entry, key=new_key, fields=tuple(fields.items()),
                                       path="", line=0, filled=()))
    return tuple(out)


# ------------------------------------------------------------------ search


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    query: Query
    verdict: Verdict

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return self.verdict.candidates

    def as_json(self) -> dict[str, Any]:
        return {
            "query": {"title": self.query.title, "author": self.query.family,
                      "year": self.query.year},
            "status": self.verdict.status,
            "doi": self.verdict.doi,
            "reason": self.verdict.reason,
            "candidates": [{**c.as_json(), "passes": c.doi == self.verdict.doi}
                           for c in self.candidates],
        }


def search(client: Client, title: str, *, author: str = "", year: str = "",
           rows: int = 5) -> SearchAnswer:
    """Crossref title search, judged by the wrong-match guard (match.judge)."""
    query = Query(title, author, year)
    items = client.search(query.text, rows=rows)
    return SearchAnswer(query, judge(query, candidates_from_items(items)))


def target_for_title(client: Client, title: str, *, author: str = "",
                     year: str = "") -> Target:
    """The DOI of the one record the match guard accepts for TITLE (with the first
    author's family name and the year); TitleNotMatched names the closest candidate."""
    verdict = search(client, title, author=author, year=year).verdict
    if verdict.doi:
        return parse_target(verdict.doi)
    best = verdict.candidates[0] if verdict.candidates else None
    closest = (f"; the closest, {best.doi} '{best.title.split(' | ')[0]}' "
               f"({best.year or 'no year'}), was left: {best.note}" if best else "")
    raise TitleNotMatched(f"no Crossref record passes the match guard for the title "
                          f"'{title}' ({verdict.reason}){closest}")


def candidate_lines(answer: SearchAnswer) -> list[str]:
    """One line per candidate, best first: mark, score, DOI, year, first author, title,
    venue; the guard's reason for each rejected one."""
    lines = []
    for c in answer.candidates:
        mark = "*" if c.doi == answer.verdict.doi else " "
        venue = f"  [{c.container}]" if c.container else ""
        why = f"  ({c.note})" if c.note else ""
        lines.append(f"{mark} {c.score:8.3f}  {c.doi}  {c.year or '----'}  "
                     f"{c.first_author or '-'}  {c.title.split(' | ')[0]}{venue}{why}")
    return lines
