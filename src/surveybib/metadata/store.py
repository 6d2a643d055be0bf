"""The committed metadata store (survey.lock.json): load, merge into entries, atomic save.

The store holds the trimmed Crossref/DataCite records fetched so far, keyed by lower-case
DOI, the DOIs neither agency knows, and the title-search results keyed by entry key. It is
written deterministically so that it diffs well and a clone rebuilds the same README offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from surveybib.errors import FileError, MetadataStoreError
from surveybib.files import read_existing, read_regular, write_bytes_atomic
from surveybib.identifiers import entry_arxiv_id, entry_doi
from surveybib.limits import MAX_DEPTH, MAX_STORE_BYTES, MAX_VALUE, too_deep
from surveybib.metadata.match import (
    Candidate,
    Status,
    no_doi_venue,
    query_for,
    title_similarity,
)
from surveybib.metadata.published import s2_doi
from surveybib.metadata.records import Record, map_record
from surveybib.model import SOURCE_NAMES, Entry, Problem, Work
from surveybib.rules import Rule
from surveybib.text import normalize_title

FORMAT = 1

# Large or volatile parts of a record that nothing here reads: dropping them keeps the
# committed file small and its diffs quiet (`indexed` and `score` change on every fetch).
_CROSSREF_DROP = frozenset({"reference", "license", "link", "assertion", "indexed", "score"})
_DATACITE_DROP = frozenset(
    {"xml", "viewsOverTime", "downloadsOverTime", "citationsOverTime", "citationCount",
     "viewCount", "downloadCount", "partCount", "partOfCount", "versionCount",
     "versionOfCount", "referenceCount"}
)
_VENUE_FIELDS = ("journal", "booktitle", "howpublished")


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The outcome of one entry's title search, kept so later runs do not repeat it."""

    status: Status
    doi: str | None
    query: str
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MetadataStore:
    """Everything fetched so far. Treated as immutable: updates return a new store."""

    works: Mapping[str, Work] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)
    searches: Mapping[str, SearchResult] = field(default_factory=dict)
    # Semantic Scholar and Hugging Face (enrich --upgrade / --counts), as JSON records that
    # each carry their "fetched" date: S2 papers and citation counts keyed by the id asked
    # ("arxiv:2106.09685", "doi:10.1145/..."), code links by "arxiv:<id>", and the
    # upgrades written into survey.bib by entry key.
    scholar: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    citations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    code: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    upgrades: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _mapped: dict[str, Record] = field(default_factory=dict, compare=False, repr=False)

    def record(self, doi: str) -> Record | None:
        """The mapped Record for a stored DOI (mapped once, then remembered)."""
        found = self._mapped.get(doi)
        if found is None:
            work = self.works.get(doi)
            if work is None:
                return None
            found = map_record(work.source, work.record)
            self._mapped[doi] = found
        return found

    def with_updates(
        self,
        works: Mapping[str, Work] | None = None,
        missing: Mapping[str, str] | None = None,
        searches: Mapping[str, SearchResult] | None = None,
        *,
        scholar: Mapping[str, Mapping[str, Any]] | None = None,
        citations: Mapping[str, Mapping[str, Any]] | None = None,
        code: Mapping[str, Mapping[str, Any]] | None = None,
        upgrades: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> MetadataStore:
        """A new store with these records added (a found DOI leaves the missing list)."""
        new_works = {**self.works, **(works or {})}
        new_missing = {k: v for k, v in {**self.missing, **(missing or {})}.items()
                       if k not in new_works}
        new_searches = {**self.searches, **(searches or {})}
        return MetadataStore(new_works, new_missing, new_searches,
                             scholar={**self.scholar, **(scholar or {})},
                             citations={**self.citations, **(citations or {})},
                             code={**self.code, **(code or {})},
                             upgrades={**self.upgrades, **(upgrades or {})})


def trimmed(work: Work) -> Work:
    """The work without its large arrays (references, licences, links, assertions,
    DataCite's xml): what the store keeps."""
    drop = _DATACITE_DROP if work.source == "datacite" else _CROSSREF_DROP
    return Work(work.doi, work.source, {k: v for k, v in work.record.items() if k not in drop})


# ------------------------------------------------------------------ (de)serialising


def store_to_json(store: MetadataStore) -> str:
    """The store as deterministic JSON text (sorted keys, LF, final newline)."""
    data = {
        "surveybib-metadata": FORMAT,
        "works": {doi: {"source": w.source, "record": dict(w.record)}
                  for doi, w in store.works.items()},
        "not-found": dict(store.missing),
        "searches": {key: _search_json(s) for key, s in store.searches.items()},
    }
    for name, section in _sections(store):
        if section:  # absent until used: older stores stay byte for byte the same
            data[name] = {key: dict(value) for key, value in section.items()}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2) + "\n"


def _search_json(result: SearchResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "doi": result.doi,
        "query": result.query,
        "reason": result.reason,
        "candidates": [c.as_json() for c in result.candidates],
    }


def store_from_json(text: str, where: str) -> MetadataStore:
    """Parse store text; anything unexpected is a MetadataStoreError naming `where`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _unreadable(where, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise _unreadable(where, f"its JSON nests deeper than {MAX_DEPTH} levels") from None
    if too_deep(data, MAX_DEPTH + 4):  # the store's own levels come on top of a record's
        raise _unreadable(where, f"its JSON nests deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict) or data.get("surveybib-metadata") != FORMAT:
        raise _unreadable(where, f"not a surveybib metadata store (format {FORMAT})")
    try:
        works = {str(doi): Work(str(doi), str(w["source"]), dict(w["record"]))
                 for doi, w in data.get("works", {}).items()}
        missing = {str(k): str(v) for k, v in data.get("not-found", {}).items()}
        searches = {str(k): _search_from_json(v) for k, v in data.get("searches", {}).items()}
        scholar, citations, code, upgrades = (_dated(data.get(name, {}))
                                              for name in _SECTION_NAMES)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unreadable(where, f"unexpected content ({type(exc).__name__}: {exc})") from None
    return MetadataStore(works, missing, searches, scholar=scholar, citations=citations,
                         code=code, upgrades=upgrades)


_SECTION_NAMES = ("semanticscholar", "citations", "code", "upgrades")


def _sections(store: MetadataStore) -> list[tuple[str, Mapping[str, Mapping[str, Any]]]]:
    return list(zip(_SECTION_NAMES, (store.scholar, store.citations, store.code,
                                     store.upgrades), strict=True))


def _dated(section: Any) -> dict[str, dict[str, Any]]:
    """One Semantic Scholar / Hugging Face section: every record an object with a date."""
    if not isinstance(section, dict):
        raise TypeError("a section that is not an object")
    out: dict[str, dict[str, Any]] = {}
    for key, value in section.items():
        if not isinstance(value, dict) or not isinstance(value.get("fetched"), str):
            raise ValueError(f"{key!r} has no 'fetched' date")
        out[str(key)] = value
    return out


def _search_from_json(value: Mapping[str, Any]) -> SearchResult:
    status = value["status"]
    if status not in ("matched", "ambiguous", "no match"):
        raise ValueError(f"unknown search status {status!r}")
    candidates = tuple(
        Candidate(str(c["doi"]), str(c.get("title", "")), str(c.get("first_author", "")),
                  str(c.get("year", "")), float(c.get("score", 0.0)),
                  str(c.get("container", "")), str(c.get("note", "")))
        for c in value.get("candidates", [])
    )
    doi = value.get("doi")
    return SearchResult(status, str(doi) if doi else None, str(value.get("query", "")),
                        candidates, str(value.get("reason", "")))


def _unreadable(where: str, why: str) -> MetadataStoreError:
    return MetadataStoreError(
        f"{where}: metadata store cannot be read: {why}. Fix the file (it is in git), or move "
        "it away to start an empty store; surveybib never replaces it on its own."
    )


def load_store(path: Path) -> MetadataStore:
    """Read the store; a missing file is an empty store, an unreadable one an error."""
    try:
        raw = read_regular(path, MAX_STORE_BYTES)
    except FileNotFoundError:
        return MetadataStore()
    except FileError as exc:
        raise _unreadable(str(path), str(exc).removeprefix(f"{path}: ")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _unreadable(str(path), f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return store_from_json(text, str(path))


def save_store(path: Path, store: MetadataStore) -> bool:
    """Write the store atomically (temp file beside it + os.replace); skip when unchanged.

    Returns True when the file was written."""
    data = store_to_json(store).encode("utf-8")
    try:
        current = read_existing(path, MAX_STORE_BYTES)
        if current == data:
            return False
        if current is None and not (store.works or store.missing or store.searches
                                    or any(section for _, section in _sections(store))):
            return False  # nothing fetched yet: no file to commit
        write_bytes_atomic(path, data)
    except FileError as exc:
        raise MetadataStoreError(str(exc)) from None
    return True


# ------------------------------------------------------------------ merging


def stored_doi(entry: Entry, store: MetadataStore) -> str | None:
    """The DOI whose stored record belongs to this entry (its own DOI, its arXiv DOI, or the
    DOI a title search accepted), or None."""
    doi = entry_doi(entry)
    if doi is not None and doi in store.works:
        return doi
    found = current_search(entry, store)
    if found is not None and found.status == "matched" and found.doi in store.works:
        return found.doi
    return None


def current_search(entry: Entry, store: MetadataStore) -> SearchResult | None:
    """The stored title search for this entry, if it was made for the entry as it is now:
    an entry whose title, first author or year changed (or a key reused for another paper)
    must be searched again, never given the old answer's DOI."""
    found = store.searches.get(entry.key)
    if found is None:
        return None
    query = query_for(entry)
    return found if query is not None and query.text == found.query else None


def merge_entry(entry: Entry, store: MetadataStore) -> tuple[Entry, tuple[Problem, ...]]:
    """Fill the entry's gaps from its stored record; the user's fields always win.

    Conflicts (year, title) and a known published version of a preprint come back as
    warnings; the entry's own values are never changed."""
    doi = stored_doi(entry, store)
    if doi is None:
        return entry, ()
    record = store.record(doi)
    if record is None:
        return entry, ()
    added = fill_fields(entry, record, from_search=entry_doi(entry) is None)
    long = [(name, len(value)) for name, value in added if len(value) > MAX_VALUE]
    if long:  # an answer's value is capped as survey.bib's own are
        added = tuple((name, value[:MAX_VALUE]) for name, value in added)
    merged = entry
    if added:
        merged = replace(entry, fields=_with_fields(entry.fields, added),
                         filled=(*entry.filled, *(name for name, _ in added)))
    if entry.type == "misc" and record.type != "misc":
        # A bare `@misc{key, doi = ...}` is a placeholder: show it as what it is.
        merged = replace(merged, type=record.type)
    source = f"{SOURCE_NAMES.get(record.source, record.source)} ({record.doi})"
    cut = tuple(Rule.VALUE_CUT.about(entry, f"field '{name}' from {source} is {size:,} "
                                            f"characters long; cut at {MAX_VALUE:,}", "metadata")
                for name, size in long)
    return merged, conflicts(entry, record) + cut


def _with_fields(fields: tuple[tuple[str, str], ...],
                 added: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Added values replace empty fields of the same name in place, the rest go at the end."""
    values = dict(added)
    kept = tuple((name, values.pop(name) if name in values and not value.strip() else value)
                 for name, value in fields)
    return (*kept, *((name, value) for name, value in added if name in values))


def fill_fields(entry: Entry, record: Record, *, from_search: bool) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs the record adds: only fields the entry lacks."""
    own = entry.as_dict()
    has_venue = any(own.get(name, "").strip() for name in _VENUE_FIELDS)
    arxiv_key = not own.get("doi") and entry_arxiv_id(entry) is not None
    out: list[tuple[str, str]] = []
    for name, value in record.fields:
        if own.get(name, "").strip() or not value:
            continue
        if name in _VENUE_FIELDS and has_venue:
            continue
        if name == "doi" and arxiv_key and not from_search:
            continue  # the entry's eprint already names this arXiv paper
        out.append((name, value))
    return tuple(out)


def conflicts(entry: Entry, record: Record) -> tuple[Problem, ...]:
    """Where the user's fields and the record disagree, as warnings (nothing is changed)."""
    source = f"{SOURCE_NAMES.get(record.source, record.source)} ({record.doi})"
    problems: list[Problem] = []
    mine_year = _year(entry.get("year") or entry.get("date"))
    if mine_year and record.year and mine_year != record.year:
        problems.append(Rule.CONFLICT.about(entry, f"year {mine_year} here, {record.year} at "
                                                   f"{source}; keeping {mine_year}", "metadata"))
    mine_title, theirs = entry.get("title"), record.get("title")
    if mine_title and theirs and not _same_title(mine_title, theirs):
        shown = theirs if len(theirs) <= 300 else theirs[:299] + "…"  # a message, not a dump
        problems.append(Rule.CONFLICT.about(
            entry, f"title differs from {source}: {shown!r}; keeping yours", "metadata"))
    for published in record.preprint_of:
        problems.append(Rule.PREPRINT.about(
            entry, f"this preprint has a published version: {published}", "metadata"))
    return tuple(problems)


def _same_title(mine: str, theirs: str) -> bool:
    if mine == theirs:
        return True
    a, b = normalize_title(mine), normalize_title(theirs)
    if title_similarity(a, b) >= 0.95:
        return True
    # "Title" against Crossref's "Title: Subtitle" (or the other way round) is no conflict.
    return bool(a) and bool(b) and (b.startswith(a + " ") or a.startswith(b + " "))


def _year(value: str) -> str:
    digits = value.strip()[:4]
    return digits if len(digits) == 4 and digits.isdigit() else ""



def merge_entries(
    entries: Sequence[Entry], store: MetadataStore
) -> tuple[tuple[Entry, ...], tuple[Problem, ...]]:
    """merge_entry over the whole bibliography (nothing is done for entries with no record)."""
    if not store.works:
        return tuple(entries), ()
    merged: list[Entry] = []
    problems: list[Problem] = []
    for entry in entries:
        new, found = merge_entry(entry, store)
        merged.append(new)
        problems.extend(found)
    return tuple(merged), tuple(problems)


def stored_findings(entries: Iterable[Entry], store: MetadataStore) -> tuple[Problem, ...]:
    """What the store says about the entries as they are now: DOIs neither agency holds
    (`not-found`), title searches with several close candidates (`ambiguous`). Read from
    the store, so every build and every check reports them, not only the run that asked."""
    if not (store.missing or store.searches):
        return ()
    out: list[Problem] = []
    for entry in entries:
        doi = entry_doi(entry)
        if doi is not None and doi in store.missing:
            out.append(Rule.NOT_FOUND.about(entry, f"{doi} {store.missing[doi]}", "metadata"))
        elif doi is None:
            result = current_search(entry, store)
            if result is not None and result.status == "ambiguous":
                names = ", ".join(c.doi for c in result.candidates if not c.note)
                out.append(Rule.AMBIGUOUS.about(entry, f"title search is ambiguous ({names}); "
                                                "add the right DOI by hand", "metadata"))
    return tuple(out)


def unused_records(entries: Iterable[Entry], store: MetadataStore
                   ) -> tuple[tuple[str, str], ...]:
    """(section, id) of the Crossref/DataCite part of the store that no entry uses: works
    and not-found DOIs no entry names (nor a title search of one, nor a published version
    Semantic Scholar gave for one), title searches of keys no longer in survey.bib."""
    entries = tuple(entries)
    used = {doi for e in entries for doi in (entry_doi(e), stored_doi(e, store)) if doi}
    used |= {doi for record in store.scholar.values() if (doi := s2_doi(record))}
    keys = {e.key for e in entries}
    found = [("works", doi) for doi in store.works if doi not in used]
    found += [("not-found", doi) for doi in store.missing if doi not in used]
    found += [("searches", key) for key in store.searches if key not in keys]
    return tuple(sorted(found))


def pruned(store: MetadataStore, unused: Iterable[tuple[str, str]]) -> MetadataStore:
    """The store without these (section, id) records."""
    drop = set(unused)
    return replace(
        store,
        works={k: v for k, v in store.works.items() if ("works", k) not in drop},
        missing={k: v for k, v in store.missing.items() if ("not-found", k) not in drop},
        searches={k: v for k, v in store.searches.items() if ("searches", k) not in drop},
        _mapped={})


def lack_line(count: int) -> str:
    """`1 entry lacks metadata`, `5 entries lack metadata`."""
    return f"{count} entry lacks metadata" if count == 1 else f"{count} entries lack metadata"


def pending(entries: Iterable[Entry], store: MetadataStore) -> tuple[Entry, ...]:
    """Entries a fetch would still ask about: a DOI not stored, or a title never searched
    (except at venues that publish without DOIs, where there is nothing to ask)."""
    out: list[Entry] = []
    for entry in entries:
        doi = entry_doi(entry)
        if doi is not None:
            if doi not in store.works and doi not in store.missing:
                out.append(entry)
        elif entry.get("title").strip() and current_search(entry, store) is None \
                and not no_doi_venue(entry):
            out.append(entry)
    return tuple(out)
