"""Fetching works by DOI: Crossref lists, then single works, then DataCite, a few jobs at
a time; every DOI ends as a typed outcome (a Work, or a Failed saying why).

`Client` is what the rest of surveybib holds: the transport (injectable) and the two APIs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum
from typing import Any

from surveybib.model import NOT_FOUND, Work
from surveybib.net.crossref import Crossref
from surveybib.net.datacite import DataCite, datacite_first
from surveybib.net.guard import Stopped
from surveybib.net.settings import ClientConfig
from surveybib.net.transport import (
    BadAnswer,
    HttpTransport,
    RequestFailed,
    Transport,
    Unreachable,
)

log = logging.getLogger(__name__)


class Trouble(Enum):
    """Why a DOI has no record."""

    NOT_FOUND = "not found"  # registered at neither Crossref nor DataCite
    UNREACHABLE = "unreachable"  # the API host could not be reached: not the DOI's fault
    FAILED = "failed"  # a request failed (server error, malformed answer)
    LEFT = "left"  # not asked: the run's deadline passed or the host's breaker opened


@dataclass(frozen=True, slots=True)
class Failed:
    """No record for a DOI, and why."""

    doi: str
    message: str
    trouble: Trouble = Trouble.FAILED

    @property
    def not_found(self) -> bool:
        return self.trouble is Trouble.NOT_FOUND


Outcome = Work | Failed
Job = tuple[Callable[[Sequence[str]], list[Outcome]], list[str]]


class Client:
    """Crossref + DataCite over one transport. Thread-safe; use as a context manager."""

    def __init__(self, config: ClientConfig, transport: Transport | None = None) -> None:
        self.config = config
        self.transport: Transport = (transport if transport is not None
                                     else HttpTransport(config, max_body=config.max_body))
        self.crossref = Crossref(self.transport, config)
        self.datacite = DataCite(self.transport, config)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def search(self, text: str, rows: int = 5) -> list[Mapping[str, Any]]:
        """Crossref's title search (see Crossref.search)."""
        return self.crossref.search(text, rows)

    def get_work(self, doi: str) -> Outcome:
        """One DOI: Crossref `/works/{doi}`, then DataCite; a failed request is an outcome.
        Raises Unreachable when Crossref cannot be reached at all."""
        try:
            if not datacite_first(doi):
                found = self.crossref.work(doi)
                if found is not None:
                    return found
            return self._datacite(doi)
        except (RequestFailed, BadAnswer) as exc:
            return Failed(doi, str(exc))
        except Stopped as exc:
            return Failed(doi, str(exc), Trouble.LEFT)

    def _datacite(self, doi: str) -> Outcome:
        try:
            found = self.datacite.work(doi)
        except Unreachable as exc:
            return Failed(doi, str(exc), Trouble.UNREACHABLE)
        return found if found is not None else Failed(doi, NOT_FOUND, Trouble.NOT_FOUND)

    def _batch_job(self, dois: Sequence[str]) -> list[Outcome]:
        """One list request, then every DOI it did not return singly (then at DataCite)."""
        try:
            found = self.crossref.works(dois)
        except Stopped as exc:
            return [Failed(doi, str(exc), Trouble.LEFT) for doi in dois]
        except BadAnswer as exc:
            # An answer no retry fixes (malformed JSON, 400): each DOI on its own.
            log.info("batch of %d DOIs: %s; asking singly", len(dois), exc)
            found = {}
        except RequestFailed as exc:
            if exc.status != 429:
                return [Failed(doi, f"Crossref: {exc}") for doi in dois]
            # Lists are throttled harder than single works (3/s against 10/s in the
            # polite pool): what the list route will not give, ask for one by one.
            log.info("batch of %d DOIs: %s; asking singly", len(dois), exc)
            found = {}
        outcomes: list[Outcome] = [Work(d, "crossref", found[d]) for d in dois if d in found]
        outcomes.extend(self.get_work(doi) for doi in dois if doi not in found)
        return outcomes

    def _single_job(self, dois: Sequence[str]) -> list[Outcome]:
        return [self.get_work(doi) for doi in dois]

    def fetch_works(self, dois: Iterable[str],
                    on_done: Callable[[Sequence[Outcome]], None]) -> None:
        """Fetch every DOI: Crossref lists, then singles, then DataCite (arXiv's and other
        DataCite prefixes go to DataCite directly). `on_done` receives each job's outcomes
        in the calling thread, so it can save the store after every batch. Raises
        Unreachable as soon as a host cannot be reached (what finished was delivered)."""
        unique = list(dict.fromkeys(dois))
        direct = [d for d in unique if datacite_first(d)]
        rest = [d for d in unique if d not in set(direct)]
        batches = self.crossref.batches(rest)
        batched = {d for batch in batches for d in batch}
        singles = direct + [d for d in rest if d not in batched]
        jobs: list[Job] = [(self._batch_job, b) for b in batches]
        jobs.extend((self._single_job, singles[i:i + 20]) for i in range(0, len(singles), 20))
        if not jobs:
            return
        # The first job runs alone: if the host is unreachable we learn it from one request.
        first, *others = jobs
        on_done(first[0](first[1]))
        if others:
            self._run_pool(others, on_done)

    def _run_pool(self, jobs: Sequence[Job], on_done: Callable[[Sequence[Outcome]], None]
                  ) -> None:
        with ThreadPoolExecutor(max_workers=max(1, self.config.workers),
                                thread_name_prefix="surveybib-fetch") as pool:
            futures: set[Future[list[Outcome]]] = {pool.submit(fn, arg) for fn, arg in jobs}
            try:
                while futures:
                    done, futures = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        on_done(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
