"""Fill the store from Semantic Scholar and Hugging Face (`enrich --upgrade`, `--counts`).

One Semantic Scholar batch answers both the upgrade (the paper's venue) and the counts
(citationCount, influentialCitationCount), so asking for both costs no more requests than
asking for one. Every record is stored with the day it was fetched; a record younger than
STALE_DAYS is not asked for again (unless `refresh`), so a re-run makes no request.
`build` never calls this module: the README renders counts and code links from the store.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from surveybib.enrich import Counts
from surveybib.identifiers import paper_key
from surveybib.metadata.published import trim_s2
from surveybib.metadata.store import MetadataStore
from surveybib.model import Entry, Problem
from surveybib.net.guard import Stopped
from surveybib.net.hfpapers import CodeLinks, HFOutcome, HFPapers
from surveybib.net.semanticscholar import (
    COUNT_FIELDS,
    UPGRADE_FIELDS,
    Found,
    Missed,
    S2Outcome,
    SemanticScholar,
    Unknown,
)
from surveybib.net.transport import Unreachable
from surveybib.rules import Rule

STALE_DAYS = 7  # counts, code links and "only a preprint" answers are asked again after this
S2_SOURCE = "semanticscholar"
HF_SOURCE = "huggingface"

Checkpoint = Callable[[MetadataStore], None]
Progress = Callable[[Counts], None]


def s2_id(key: str) -> str:
    """`arxiv:2106.09685` -> `ARXIV:2106.09685`, `doi:10.x/y` -> `DOI:10.x/y`."""
    kind, _, value = key.partition(":")
    return f"{kind.upper()}:{value}"


def is_fresh(record: Mapping[str, Any] | None, today: datetime.date) -> bool:
    """A stored record fetched less than STALE_DAYS ago."""
    if record is None:
        return False
    try:
        fetched = datetime.date.fromisoformat(str(record.get("fetched")))
    except ValueError:
        return False
    return (today - fetched).days < STALE_DAYS


@dataclass(slots=True)
class ScholarRun:
    """What one fetch from Semantic Scholar and Hugging Face did (bookkeeping)."""

    store: MetadataStore
    asked: int = 0  # ids asked of Semantic Scholar
    found: int = 0
    unknown: int = 0
    code_asked: int = 0
    failed: int = 0
    problems: list[Problem] = field(default_factory=list)
    unreachable: str = ""

    def counts(self, total: int) -> Counts:
        """Progress so far, as the progress bar shows it."""
        return Counts(total=total, done=self.found + self.unknown + self.failed,
                      fetched=self.found, not_found=self.unknown, failed=self.failed)


def fetch_scholar(
    client: SemanticScholar,
    store: MetadataStore,
    keys: Iterable[str],
    today: datetime.date,
    *,
    entries: Mapping[str, Sequence[Entry]] | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
) -> ScholarRun:
    """Ask Semantic Scholar for these store keys (upgrade and count fields in one batch);
    each answer goes into the store's paper and citation sections, dated `today`."""
    run = ScholarRun(store)
    wanted = list(dict.fromkeys(keys))
    by_id = {s2_id(k): k for k in wanted}
    run.asked = len(wanted)
    fields = (*UPGRADE_FIELDS, *COUNT_FIELDS, "paperId")

    def take(outcomes: Sequence[S2Outcome]) -> None:
        _take_s2(run, outcomes, by_id, today, entries or {})
        if checkpoint is not None:
            checkpoint(run.store)
        if progress is not None:
            progress(run.counts(run.asked))

    try:
        client.fetch_papers(list(by_id), fields, take)
    except (Unreachable, Stopped) as exc:  # what was answered before is kept
        run.unreachable = str(exc)
    return run


def _take_s2(run: ScholarRun, outcomes: Sequence[S2Outcome], by_id: Mapping[str, str],
             today: datetime.date, entries: Mapping[str, Sequence[Entry]]) -> None:
    papers: dict[str, dict[str, Any]] = {}
    counts: dict[str, dict[str, Any]] = {}
    date = today.isoformat()
    for outcome in outcomes:
        key = by_id[outcome.id]
        if isinstance(outcome, Found):
            run.found += 1
            papers[key] = {"fetched": date, "record": trim_s2(outcome.record)}
            counts[key] = _count_record(outcome.record, date)
        elif isinstance(outcome, Unknown):
            run.unknown += 1
            papers[key] = {"fetched": date, "record": None}
            counts[key] = {"count": None, "influential": None, "source": S2_SOURCE,
                           "fetched": date}
        elif isinstance(outcome, Missed):
            run.failed += 1
            run.problems.extend(_missed(e, outcome.message) for e in entries.get(key, ()))
    run.store = run.store.with_updates(scholar=papers, citations=counts)


def _count_record(record: Mapping[str, Any], date: str) -> dict[str, Any]:
    def number(name: str) -> int | None:
        value = record.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) \
            and value >= 0 else None

    return {"count": number("citationCount"), "influential": number("influentialCitationCount"),
            "source": S2_SOURCE, "fetched": date}


def _missed(entry: Entry, message: str) -> Problem:
    return Rule.FETCH_FAILED.about(entry, f"{message}; asked again next run", "metadata")


def fetch_code(
    client: HFPapers,
    store: MetadataStore,
    arxiv_ids: Iterable[str],
    today: datetime.date,
    *,
    entries: Mapping[str, Sequence[Entry]] | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
) -> ScholarRun:
    """Ask Hugging Face Papers for the code links of these arXiv ids; a paper it does not
    index is stored as such (no repository), dated like the rest."""
    run = ScholarRun(store)
    wanted = list(dict.fromkeys(arxiv_ids))
    run.code_asked = len(wanted)
    date = today.isoformat()

    def take(outcomes: Sequence[HFOutcome]) -> None:
        code: dict[str, dict[str, Any]] = {}
        for outcome in outcomes:
            key = f"arxiv:{outcome.arxiv_id}"
            if isinstance(outcome, CodeLinks):
                run.found += outcome.indexed
                run.unknown += not outcome.indexed
                code[key] = {"repo": outcome.repo or None, "stars": outcome.stars,
                             "project": outcome.project or None, "source": HF_SOURCE,
                             "fetched": date}
            else:
                run.failed += 1
                run.problems.extend(_missed(e, outcome.message)
                                    for e in (entries or {}).get(key, ()))
        run.store = run.store.with_updates(code=code)
        if checkpoint is not None:
            checkpoint(run.store)
        if progress is not None:
            progress(run.counts(run.code_asked))

    try:
        client.fetch_papers(wanted, take)
    except (Unreachable, Stopped) as exc:  # what was answered before is kept
        run.unreachable = str(exc)
    return run


def count_keys(entries: Iterable[Entry], store: MetadataStore, today: datetime.date,
               refresh: bool) -> dict[str, list[Entry]]:
    """The store keys whose citation counts are missing or stale, with their entries."""
    out: dict[str, list[Entry]] = {}
    for entry in entries:
        key = paper_key(entry)
        if key and (refresh or not is_fresh(store.citations.get(key), today)):
            out.setdefault(key, []).append(entry)
    return out


def code_keys(entries: Iterable[Entry], store: MetadataStore, today: datetime.date,
              refresh: bool) -> dict[str, list[Entry]]:
    """The `arxiv:` keys whose code links are missing or stale, with their entries."""
    out: dict[str, list[Entry]] = {}
    for entry in entries:
        key = paper_key(entry)
        if key.startswith("arxiv:") and (refresh or not is_fresh(store.code.get(key), today)):
            out.setdefault(key, []).append(entry)
    return out
