"""Fill the metadata store from Crossref/DataCite, and (on request) survey.bib itself.

`run_enrich` decides what to ask for (DOIs not stored yet, titles never searched), asks
through a crossref.Client, guards title matches, and reports per-entry field changes.
`fetch_pending` is the fetching step of `surveybib build`; `additions` are the fields
`--write` adds to survey.bib (through bibtex/source.py, which changes no other byte).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from surveybib.config import Settings, is_offline
from surveybib.errors import NetworkError
from surveybib.identifiers import entry_doi
from surveybib.limits import MAX_QUERY
from surveybib.metadata.match import Query, candidates_from_items, judge, query_for
from surveybib.metadata.store import (
    MetadataStore,
    SearchResult,
    current_search,
    lack_line,
    merge_entry,
    pending,
    stored_doi,
    stored_findings,
    trimmed,
)
from surveybib.model import NOT_FOUND, Entry, Problem, Work
from surveybib.net.fetch import Client, Failed, Outcome, Trouble
from surveybib.net.settings import config_from_env
from surveybib.net.transport import Unreachable
from surveybib.rules import Rule

SEARCH_ROWS = 5
# The findings of the fetching step that `build` reports (the rest are enrich's own).
_FETCH_RULES = frozenset({Rule.FETCH_FAILED.id, Rule.AMBIGUOUS.id, Rule.VALUE_CUT.id})


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field an enrichment adds (`old` is "" when the entry lacked it)."""

    name: str
    old: str
    new: str
    source: str  # "Crossref 10.1145/...", "DataCite 10.48550/...", "Crossref title search ..."


@dataclass(frozen=True, slots=True)
class EntryChange:
    """The fields one entry gains."""

    key: str
    path: str
    line: int
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class Counts:
    """Progress so far (what the progress bar and the summary show)."""

    total: int = 0
    done: int = 0
    fetched: int = 0
    cached: int = 0
    not_found: int = 0
    ambiguous: int = 0
    failed: int = 0


Progress = Callable[[Counts], None]
Checkpoint = Callable[[MetadataStore], None]


@dataclass(frozen=True, slots=True)
class EnrichResult:
    """What one enrichment run did."""

    store: MetadataStore
    fetched: tuple[str, ...] = ()  # DOIs whose records were fetched this run
    cached: tuple[str, ...] = ()  # DOIs already in the store
    not_found: tuple[str, ...] = ()  # DOIs neither Crossref nor DataCite knows (this run or before)
    failed: tuple[str, ...] = ()  # DOIs whose requests failed (asked again next run)
    left: tuple[str, ...] = ()  # DOIs not asked: the deadline passed or a host's circuit opened
    stopped: str = ""  # why DOIs were left ("" when none was)
    matched: tuple[str, ...] = ()  # entry keys whose title search found the DOI
    ambiguous: tuple[str, ...] = ()  # entry keys whose title search was ambiguous
    no_match: tuple[str, ...] = ()  # entry keys whose title search found nothing certain
    problems: tuple[Problem, ...] = ()
    changes: tuple[EntryChange, ...] = ()
    lacking: int = 0  # selected entries still without metadata that a fetch could get
    unreachable: str = ""  # why the network could not be used ("" when it could)
    offline: bool = False

    def summary(self) -> str:
        """The one-line summary every run prints."""
        lacking = lack_line(self.lacking)
        if self.offline:
            return f"offline: {lacking}"
        if self.unreachable and not self.fetched and not self.matched:
            return f"offline ({self.unreachable}): {lacking}"
        parts = [f"{len(self.fetched)} fetched", f"{len(self.cached)} cached",
                 f"{len(self.not_found)} not found"]
        if self.matched or self.ambiguous or self.no_match:
            parts.append(f"{len(self.matched)} matched by title")
            parts.append(f"{len(self.ambiguous)} ambiguous")
            parts.append(f"{len(self.no_match)} without a match")
        if self.failed:
            parts.append(f"{len(self.failed)} failed (retried next run)")
        if self.left:
            parts.append(f"{len(self.left)} left for the next run ({self.stopped})")
        changed = sum(len(c.fields) for c in self.changes)
        parts.append(f"{changed} field{'s' * (changed != 1)} to add")
        tail = f"; {self.unreachable}: {lacking}" if self.unreachable else ""
        return "metadata: " + ", ".join(parts) + tail


@dataclass(slots=True)
class _Run:
    """Mutable bookkeeping of one run (never leaves this module)."""

    store: MetadataStore
    checkpoint: Checkpoint | None
    progress: Progress | None
    by_doi: dict[str, list[Entry]]
    counts: Counts
    fetched: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreachable: str = ""
    stopped: str = ""
    taken: dict[str, str] = field(default_factory=dict)  # DOI -> key of the entry that has it

    def tick(self, **kw: int) -> None:
        values = {name: getattr(self.counts, name) + n for name, n in kw.items()}
        self.counts = replace(self.counts, **values)
        if self.progress is not None:
            self.progress(self.counts)

    def save(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint(self.store)


def run_enrich(
    entries: Sequence[Entry],
    store: MetadataStore,
    client: Client | None,
    *,
    keys: Sequence[str] = (),
    refresh: bool = False,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> EnrichResult:
    """Fetch what the store lacks for the selected entries (all, or `keys`); client None
    means offline. The store is handed to `checkpoint` after every batch."""
    wanted = set(keys)
    selected = [e for e in entries if not wanted or e.key in wanted]
    by_doi: dict[str, list[Entry]] = {}
    titles: list[Entry] = []
    for entry in selected:
        doi = entry_doi(entry)
        if doi is not None:
            by_doi.setdefault(doi, []).append(entry)
        elif entry.get("title").strip():
            titles.append(entry)
    to_fetch = [d for d in by_doi if refresh or (d not in store.works and d not in store.missing)]
    cached = tuple(d for d in by_doi if d in store.works and d not in to_fetch)
    to_search = [e for e in titles if refresh or current_search(e, store) is None]
    run = _Run(store, checkpoint, progress, by_doi,
               Counts(total=len(to_fetch) + len(to_search), cached=len(cached)))
    if to_search:
        run.taken = {doi: e.key for e in entries if (doi := entry_doi(e)) is not None}
    if client is not None and (to_fetch or to_search):
        if progress is not None:
            progress(run.counts)
        try:
            with _heartbeat(None if progress is None else lambda: _beat(run)):
                if to_fetch:
                    client.fetch_works(to_fetch, lambda outcomes: _take(run, outcomes))
                if to_search and not run.unreachable:
                    _search_all(run, client, to_search)
        except Unreachable as exc:
            run.unreachable = str(exc)
        run.save()
    return _result(run, selected, cached, client is None)


HEARTBEAT = 0.5  # seconds between calls of the progress callback while nothing finishes


@contextmanager
def _heartbeat(beat: Callable[[], None] | None) -> Iterator[None]:
    """Call `beat` every HEARTBEAT seconds while the body runs: progress is otherwise
    reported only when a batch finishes, and one batch that a throttling server holds
    for minutes left a CI log silent. The callback decides whether to print."""
    if beat is None:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(HEARTBEAT):
            beat()

    thread = threading.Thread(target=loop, name="surveybib-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _beat(run: _Run) -> None:
    """The heartbeat's call: progress while work is left (the finished bar is drawn once,
    by the tick that finished it, not again while the store is saved)."""
    counts = run.counts
    if run.progress is not None and counts.done < counts.total:
        run.progress(counts)


def _take(run: _Run, outcomes: Sequence[Outcome]) -> None:
    """One job's outcomes into the store, then a checkpoint (called in the main thread)."""
    works: dict[str, Work] = {}
    missing: dict[str, str] = {}
    failed = 0
    for outcome in outcomes:
        if isinstance(outcome, Work):
            works[outcome.doi] = trimmed(outcome)
            run.fetched.append(outcome.doi)
        elif outcome.trouble is Trouble.NOT_FOUND:
            missing[outcome.doi] = NOT_FOUND
            run.not_found.append(outcome.doi)
        elif outcome.trouble is Trouble.UNREACHABLE:
            run.unreachable = run.unreachable or outcome.message
            failed += 1
        else:
            if outcome.trouble is Trouble.LEFT:
                run.left.append(outcome.doi)
                run.stopped = run.stopped or outcome.message
            else:
                run.failed.append(outcome.doi)
            run.problems.extend(_failure(e, outcome) for e in run.by_doi.get(outcome.doi, []))
            failed += 1
    run.store = run.store.with_updates(works=works, missing=missing)
    run.tick(done=len(outcomes), fetched=len(works), not_found=len(missing), failed=failed)
    run.save()


def _failure(entry: Entry, outcome: Failed) -> Problem:
    return Rule.FETCH_FAILED.about(
        entry, f"could not fetch {outcome.doi}: {outcome.message}; asked again next run",
        "metadata")


def _search_all(run: _Run, client: Client, entries: Sequence[Entry]) -> None:
    """Title searches, a few at a time; no-DOI venues are settled without a request."""
    asked: list[Entry] = []
    results: dict[str, SearchResult] = {}
    asked_queries: list[Query] = []
    for entry in entries:
        query = query_for(entry)
        if query is not None and query.venue:
            verdict = judge(query, ())
            results[entry.key] = SearchResult("no match", None, query.text, (), verdict.reason)
        elif query is not None:
            asked.append(entry)
            asked_queries.append(query)
            if query.cut:
                run.problems.append(Rule.VALUE_CUT.about(
                    entry, f"title is {len(query.title):,} characters long; searched with its "
                           f"first {MAX_QUERY}", "metadata"))
    if results:
        run.store = run.store.with_updates(searches=results)
        run.tick(done=len(results))
    workers = max(1, min(client.config.workers, len(asked)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="surveybib-search") as pool:
        for start in range(0, len(asked), 10):
            chunk = asked[start:start + 10]
            queries = asked_queries[start:start + 10]
            answers = list(pool.map(lambda q: _search_one(client, q), queries))
            _take_searches(run, chunk, answers)
            if run.unreachable:
                return


@dataclass(frozen=True, slots=True)
class _Answer:
    """One title search: the guard's result and the matched item, or why there is none."""

    result: SearchResult | None = None
    item: Mapping[str, Any] | None = None
    error: str = ""
    trouble: Trouble | None = None  # set when the search itself failed


def _search_one(client: Client, query: Query) -> _Answer:
    """The search for one entry's query, judged by the match guard."""
    try:
        items = client.search(query.text, SEARCH_ROWS)
    except Unreachable as exc:
        return _Answer(error=str(exc), trouble=Trouble.UNREACHABLE)
    except NetworkError as exc:
        return _Answer(error=str(exc), trouble=Trouble.FAILED)
    verdict = judge(query, candidates_from_items(items))
    item = next((i for i in items if str(i.get("DOI", "")).lower() == verdict.doi), None)
    return _Answer(SearchResult(verdict.status, verdict.doi, query.text, verdict.candidates,
                                verdict.reason), item)


def _take_searches(run: _Run, entries: Sequence[Entry], answers: Sequence[_Answer]) -> None:
    searches: dict[str, SearchResult] = {}
    works: dict[str, Work] = {}
    failed = 0
    for entry, answer in zip(entries, answers, strict=True):
        result, item = answer.result, answer.item
        if answer.trouble is Trouble.UNREACHABLE:
            run.unreachable = run.unreachable or answer.error
            continue
        if result is None:
            failed += 1
            run.problems.append(Rule.FETCH_FAILED.about(
                entry, f"title search failed: {answer.error}; asked again next run",
                "metadata"))
            continue
        owner = run.taken.get(result.doi or "")
        if owner is not None and owner != entry.key:
            # The guard's match is the DOI of another entry: one paper twice, or a wrong
            # match. Either way this entry gets nothing, and the user is told.
            result = replace(result, status="no match", doi=None,
                             reason=f"{result.doi} is already the DOI of '{owner}'")
            run.problems.append(Rule.AMBIGUOUS.about(
                entry, f"title search found {owner}'s DOI; the same paper twice? nothing taken",
                "metadata"))
        searches[entry.key] = result
        if result.doi and item is not None and result.doi not in run.store.works:
            works[result.doi] = trimmed(Work(result.doi, "crossref", item))
    run.store = run.store.with_updates(works=works, searches=searches)
    ambiguous = sum(1 for r in searches.values() if r.status == "ambiguous")
    run.tick(done=len(searches) + failed, ambiguous=ambiguous, failed=failed)
    run.save()


def _result(run: _Run, selected: Sequence[Entry], cached: tuple[str, ...],
            offline: bool) -> EnrichResult:
    store = run.store
    changes: list[EntryChange] = []
    problems = list(run.problems)
    for entry in selected:
        merged, found = merge_entry(entry, store)
        problems.extend(found)
        change = _change(entry, merged, store)
        if change is not None:
            changes.append(change)
    keys = {e.key for e in selected}
    searched = {k: s for k, s in store.searches.items() if k in keys}
    problems.extend(stored_findings(selected, store))
    return EnrichResult(
        store=store,
        fetched=tuple(run.fetched),
        cached=cached,
        not_found=tuple(dict.fromkeys([*run.not_found,
                                       *(d for d in run.by_doi if d in store.missing)])),
        failed=tuple(run.failed),
        left=tuple(run.left),
        stopped=run.stopped,
        matched=tuple(k for k, s in searched.items() if s.status == "matched"),
        ambiguous=tuple(k for k, s in searched.items() if s.status == "ambiguous"),
        no_match=tuple(k for k, s in searched.items() if s.status == "no match"),
        problems=tuple(problems),
        changes=tuple(changes),
        lacking=len(pending(selected, store)),
        unreachable=run.unreachable,
        offline=offline,
    )


def _change(entry: Entry, merged: Entry, store: MetadataStore) -> EntryChange | None:
    if not merged.filled or merged.filled == entry.filled:
        return None
    doi = stored_doi(entry, store) or ""
    work = store.works.get(doi)
    source = f"{work.source_name if work else '?'} {doi}"
    if entry_doi(entry) is None:
        source = f"Crossref title search {doi}"
    own = dict(entry.fields)
    new = dict(merged.fields)
    fields = tuple(FieldChange(name, own.get(name, ""), new[name], source)
                   for name in merged.filled if name not in entry.filled)
    return EntryChange(entry.key, entry.path, entry.line, fields)


# ------------------------------------------------------------------ build's fetching step


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What `build` needs from the fetching step."""

    store: MetadataStore
    problems: tuple[Problem, ...]
    summary: str
    requests: int = 0


def fetch_pending(
    settings: Settings,
    entries: Sequence[Entry],
    store: MetadataStore,
    *,
    offline: bool = False,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
) -> FetchOutcome:
    """The fetching step of `build`: ask only for what the store lacks (zero requests when
    it has everything). Offline (the flag, SURVEYBIB_OFFLINE=1, or no network reachable)
    nothing is fetched and the summary says how many entries lack metadata."""
    todo = pending(entries, store)
    if not todo:
        return FetchOutcome(store, (), "")
    with open_client(settings.mailto, offline=offline, environ=environ) as client:
        if client is None:
            return FetchOutcome(store, (), f"offline: {lack_line(len(todo))}")
        result = run_enrich(entries, store, client, progress=progress, checkpoint=checkpoint)
        requests = client.requests_made
    # not-found and ambiguous come from the store on every run (Survey.with_store)
    stored = stored_findings(entries, result.store)
    fetch_problems = tuple(p for p in result.problems
                           if p.rule in _FETCH_RULES and p not in stored)
    return FetchOutcome(result.store, fetch_problems, result.summary(), requests)


@contextmanager
def open_client(mailto: str, *, offline: bool = False,
                environ: Mapping[str, str] | None = None) -> Iterator[Client | None]:
    """A Client configured from the environment, or None when offline (the flag or
    SURVEYBIB_OFFLINE=1); closed on exit."""
    env = os.environ if environ is None else environ
    if offline or is_offline(env):
        yield None
        return
    with Client(config_from_env(mailto, env)) as client:
        yield client


# ------------------------------------------------------------------ --write


def additions(changes: Sequence[EntryChange]) -> dict[str, list[tuple[str, str]]]:
    """What `--write` adds to survey.bib: key -> the (name, value) of each new field."""
    return {c.key: [(f.name, f.new) for f in c.fields if not f.old] for c in changes}


# ------------------------------------------------------------------ what the user sees


def change_lines(changes: Sequence[EntryChange]) -> list[str]:
    """`--dry-run` output: one line per field, `path:line: key: field: old -> new (source)`."""
    lines = []
    for change in changes:
        where = f"{change.path}:{change.line}" if change.line else change.path
        for item in change.fields:
            old = item.old or "(none)"
            lines.append(f"{where}: {change.key}: {item.name}: {old} -> {item.new} "
                         f"(from {item.source})")
    return lines


def progress_line(counts: Counts, width: int = 24) -> str:
    """`[#####.....] 120/300 fetched 100, cached 20, not found 0, ambiguous 0`."""
    total = max(counts.total, 1)
    filled = min(width, width * counts.done // total)
    return (f"[{'#' * filled}{'.' * (width - filled)}] {counts.done}/{counts.total} "
            f"fetched {counts.fetched}, cached {counts.cached}, not found {counts.not_found}, "
            f"ambiguous {counts.ambiguous}")
