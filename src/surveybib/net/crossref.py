"""The HTTP clients for Crossref and DataCite: the only code in surveybib that touches the
network.

One requests.Session; urllib3's Retry for backoff (with jitter, honouring Retry-After) on
429, 5xx and connection errors; a client-side limiter (a token bucket per route and a
concurrency gate) that starts from Crossref's documented pool limits and follows the limits
each response announces, so a normal run never receives a 429. Bodies are read with a size
cap. DOIs are percent-encoded into the path, so no DOI can change the host or the route.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.retry import Retry

from surveybib import __version__
from surveybib.errors import ConfigError, NetworkError
from surveybib.identifiers import doi_path, is_arxiv_doi
from surveybib.limits import MAX_DEPTH, too_deep
from surveybib.metadata.store import NOT_FOUND
from surveybib.net.guard import WATCHED_POOLS, Breaker, Deadline, Stopped, Watch

log = logging.getLogger(__name__)

DEFAULT_CROSSREF_URL = "https://api.crossref.org"
DEFAULT_DATACITE_URL = "https://api.datacite.org"
MAX_BODY = 20 * 1024 * 1024  # a work-list of 1,000 full records is about 10 MB
MAX_URL = 4000  # Crossref rejects very long URLs; stay well below
DEADLINE = 600.0  # a run's requests end within ten minutes; what is left waits for the next
BREAKER = 5  # failed requests in a row after which a host is left alone for the run
MAX_WAIT = 15.0  # the longest Retry-After (seconds) honoured; a longer one fails at once
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFETY = 0.85  # run at this fraction of the announced rate, to absorb timing jitter

# Registration agencies other than Crossref hold these prefixes: ask DataCite directly.
# 10.48550 arXiv, 10.4230 Dagstuhl LIPIcs, 10.5281 Zenodo.
DATACITE_PREFIXES = ("10.48550/", "10.4230/", "10.5281/")

# Crossref's documented pools (since December 2025): requests per second for single works
# and for lists/searches, and concurrent requests. Responses' headers then take over.
POLITE = {"single": 10.0, "list": 3.0, "concurrency": 3}
PUBLIC = {"single": 5.0, "list": 1.0, "concurrency": 1}
DATACITE = {"single": 10.0, "list": 10.0, "concurrency": 3}  # 3,000 requests / 5 minutes

# Only what the mapping and the match guard read: keeps search answers small. Every name
# must be one /works accepts in `select` (an unknown one, e.g. `institution`, makes
# Crossref answer 400 select-not-available to every search).
SEARCH_SELECT = (
    "DOI,title,subtitle,short-title,author,editor,issued,published-print,published-online,"
    "posted,type,container-title,event,page,article-number,volume,issue,publisher,"
    "publisher-location,ISSN,ISBN,URL,relation,score"
)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Where and how to ask. Built from the environment by `config_from_env`."""

    crossref_url: str = DEFAULT_CROSSREF_URL
    datacite_url: str = DEFAULT_DATACITE_URL
    mailto: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    max_body: int = MAX_BODY
    max_url: int = MAX_URL
    workers: int = 3
    deadline: float = DEADLINE  # seconds for all of a run's requests
    request_deadline: float = 60.0  # seconds for one request, headers and body
    breaker: int = BREAKER  # failed requests in a row after which a host is left alone
    max_wait: float = MAX_WAIT  # the longest Retry-After honoured; a longer one fails at once


def config_from_env(mailto: str = "", environ: Mapping[str, str] = os.environ) -> ClientConfig:
    """SURVEYBIB_CROSSREF_URL, SURVEYBIB_DATACITE_URL, SURVEYBIB_MAILTO (over the configured
    mailto), SURVEYBIB_TIMEOUT (read timeout, seconds; a request gets twice that in all),
    SURVEYBIB_RETRIES, SURVEYBIB_DEADLINE (seconds for a run's requests), SURVEYBIB_BREAKER
    (failed requests in a row that stop asking a host)."""
    timeout = max(0.05, _number(environ.get("SURVEYBIB_TIMEOUT"), 30.0))
    return ClientConfig(
        crossref_url=_base_url(environ, "SURVEYBIB_CROSSREF_URL", DEFAULT_CROSSREF_URL),
        datacite_url=_base_url(environ, "SURVEYBIB_DATACITE_URL", DEFAULT_DATACITE_URL),
        mailto=(environ.get("SURVEYBIB_MAILTO") or mailto).strip(),
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        retries=max(0, int(_number(environ.get("SURVEYBIB_RETRIES"), 4))),
        backoff=min(0.5, timeout / 4),
        deadline=max(0.0, _number(environ.get("SURVEYBIB_DEADLINE"), DEADLINE)),
        request_deadline=2 * timeout,
        breaker=max(1, int(_number(environ.get("SURVEYBIB_BREAKER"), BREAKER))),
        max_wait=min(MAX_WAIT, timeout),
    )


def _base_url(environ: Mapping[str, str], name: str, default: str) -> str:
    """An API base URL from the environment; one without http(s):// is a ConfigError that
    says so (requests would only say "No connection adapters were found")."""
    value = (environ.get(name) or "").strip() or default
    if not re.match(r"https?://[^/\s]", value, re.I):
        raise ConfigError(f"{name}={value!r} is not an http(s) URL; give it with its scheme, "
                          f"e.g. {name}={default}")
    return value.rstrip("/")


def _number(value: str | None, default: float) -> float:
    try:
        number = float(value[:30]) if value else default
    except ValueError:
        return default
    return number if number == number and abs(number) != float("inf") else default


# ------------------------------------------------------------------ results and errors


@dataclass(frozen=True, slots=True)
class Fetched:
    """A record found for a DOI: Crossref's `message` or DataCite's `data.attributes`."""

    doi: str
    source: str
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Failed:
    """No record for a DOI: not registered anywhere (not_found) or a request that failed."""

    doi: str
    message: str
    not_found: bool = False
    unreachable: bool = False  # the API host could not be reached: not the DOI's fault
    left: bool = False  # not asked: the run's deadline passed or the host's circuit is open


Outcome = Fetched | Failed


class Unreachable(NetworkError):
    """The API host cannot be reached at all (no network, DNS failure, refused)."""


class RequestFailed(NetworkError):
    """One request ended without a usable answer (after the retries)."""

    def __init__(self, message: str, status: int | None = None, final: bool = False) -> None:
        super().__init__(message)
        self.status = status  # the last HTTP status, when the server answered
        self.final = final  # retrying would not help (the request outlived its deadline)


class _BadAnswer(Exception):
    """An answer that retrying will not fix (malformed JSON, 400, too large)."""


# ------------------------------------------------------------------ the limiter


class _Bucket:
    """A token bucket of capacity one: callers reserve evenly spaced start times."""

    def __init__(self, rate: float) -> None:
        self._lock = threading.Lock()
        self._interval = 1.0 / rate
        self._last = -1e9  # start time of the latest reservation
        self._next = 0.0

    def set_rate(self, rate: float) -> None:
        self._set_interval(1.0 / max(rate, 0.05))

    def slow_down(self) -> None:
        self._set_interval(min(self._interval * 2, 20.0))

    def _set_interval(self, interval: float) -> None:
        with self._lock:
            self._interval = interval
            self._next = self._last + interval  # the spacing applies from the latest start

    def take(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._last = start
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


class _Gate:
    """A semaphore whose size can change while it is in use."""

    def __init__(self, limit: int) -> None:
        self._cond = threading.Condition()
        self._limit = max(1, limit)
        self._active = 0

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self._limit = max(1, limit)
            self._cond.notify_all()

    def __enter__(self) -> None:
        with self._cond:
            while self._active >= self._limit:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()


_INTERVAL_RE = re.compile(r"^\s*+(\d+(?:\.\d+)?)\s*+(ms|s|m|h)?\s*$")


def header_number(value: str | None) -> int | None:
    """A header's whole number (ASCII digits, at most 18 of them), else None."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


class _Limits:
    """The rate and concurrency limits of one API, updated from response headers."""

    def __init__(self, defaults: Mapping[str, float]) -> None:
        self.buckets = {
            "single": _Bucket(defaults["single"] * SAFETY),
            "list": _Bucket(defaults["list"] * SAFETY),
        }
        self.gate = _Gate(int(defaults["concurrency"]))

    def update(self, route: str, headers: Mapping[str, str]) -> None:
        limit = headers.get("x-rate-limit-limit")
        interval = _INTERVAL_RE.match(headers.get("x-rate-limit-interval") or "1s")
        count = header_number(limit)
        if count and interval:
            scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[interval.group(2) or "s"]
            seconds = float(interval.group(1)[:20]) * scale
            if seconds > 0:
                self.buckets[route].set_rate(count / seconds * SAFETY)
        concurrency = header_number(headers.get("x-concurrency-limit"))
        if concurrency:
            self.gate.set_limit(min(concurrency, 64))

    def throttled(self) -> None:
        for bucket in self.buckets.values():
            bucket.slow_down()


# ------------------------------------------------------------------ retries


@dataclass(slots=True)
class _Hosts:
    """What the retry policy shares with a client: hosts that have answered, and (for the
    clients that let urllib3 retry answers) what to slow down when a host says 429."""

    answered: set[str] = field(default_factory=set)
    on_throttle: Callable[[str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self, host: str) -> None:
        with self.lock:
            self.answered.add(host)

    def has_answered(self, host: str) -> bool:
        with self.lock:
            return host in self.answered


class _FailFast(MaxRetryError):
    """Raised instead of retrying a connection error to a host that never answered."""


class _Retry(Retry):
    """urllib3's Retry, plus: no connect retries while a host has never answered (so a
    machine without network stops at once), a backoff that waits before the first retry
    too, and a hook that slows a client down on 429. The Crossref client uses it for
    connection errors only: it retries answers (429, 5xx) and broken reads itself, so that
    every retry waits its turn in the rate limiter."""

    hosts: _Hosts

    def __init__(self, *args: Any, hosts: _Hosts | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hosts = hosts if hosts is not None else _Hosts()

    def new(self, **kw: Any) -> _Retry:
        fresh = super().new(**kw)
        fresh.hosts = self.hosts
        return fresh

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None,
                  _stacktrace: Any = None) -> _Retry:
        host = _pool_address(_pool)
        if error is not None and self._is_connection_error(error) and host \
                and not self.hosts.has_answered(host):
            raise _FailFast(_pool, url or "", error) from error
        if response is not None and response.status == 429 and self.hosts.on_throttle:
            self.hosts.on_throttle(host)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        errors = 0
        for item in reversed(self.history):
            if item.redirect_location is not None:
                break
            errors += 1
        if errors == 0:
            return 0.0
        value = self.backoff_factor * (2 ** (errors - 1)) + random.random() * self.backoff_jitter
        return float(min(self.backoff_max, value))


# ------------------------------------------------------------------ the client


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]


class Client:
    """Crossref + DataCite over one session. Thread-safe; use as a context manager."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._hosts = _Hosts()
        self._down: dict[str, str] = {}
        self._deadline = Deadline(config.deadline)
        self._breaker = Breaker(config.breaker)
        self._count_lock = threading.Lock()
        self.requests_made = 0
        polite = bool(config.mailto)
        self._crossref = _Limits(POLITE if polite else PUBLIC)
        self._datacite = _Limits(DATACITE)
        self._host_limits: dict[str, _Limits] = {}
        for url, limits in ((config.datacite_url, self._datacite),
                            (config.crossref_url, self._crossref)):
            self._host_limits[_address(url)] = limits
        retry = _Retry(
            total=2,
            connect=2,
            read=0,
            status=0,
            other=0,
            redirect=3,
            backoff_factor=config.backoff,
            backoff_jitter=config.backoff,
            backoff_max=30.0,
            status_forcelist=(),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=False,
            raise_on_status=False,
            hosts=self._hosts,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4,
                              pool_maxsize=max(4, config.workers + 1))
        adapter.poolmanager.pool_classes_by_scheme = dict(WATCHED_POOLS)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent(config.mailto)
        self.session.headers["Accept"] = "application/json"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -------------------------------------------------------------- one request

    def _get(self, limits: _Limits, route: str, url: str) -> _Reply:
        """One GET, retried on 429, 5xx and broken answers with backoff or Retry-After; every
        attempt waits its turn in the limiter and keeps to the run's deadline and the host's
        breaker. A 429 or 5xx still there after the retries is returned (callers report it);
        a Retry-After longer than the run waits fails at once and rests the host."""
        host, shown = _address(url), urlsplit(url).netloc
        attempt = 0
        while True:
            try:
                reply = self._attempt(limits, route, url, host, shown)
            except RequestFailed as exc:
                if exc.final or attempt >= self.config.retries:
                    self._breaker.failed(host, shown, str(exc))
                    raise
                wait = self._backoff(attempt)
            else:
                if reply.status not in RETRY_STATUSES:
                    self._breaker.succeeded(host)
                    return reply
                if reply.status == 429:
                    log.info("%s answered 429: slowing down", host)
                    limits.throttled()
                asked = _retry_after(reply.headers)
                if asked is not None and asked > min(self.config.max_wait, self._deadline.left()):
                    reason = (f"{shown} answered HTTP {reply.status} asking to wait "
                              f"{asked:,.0f} s, longer than this run waits")
                    self._breaker.trip(host, f"{reason}; asked again next run")
                    raise RequestFailed(reason, reply.status)
                if attempt >= self.config.retries:
                    self._breaker.failed(host, shown, f"HTTP {reply.status}")
                    return reply
                wait = asked if asked is not None else self._backoff(attempt)
            if wait >= self._deadline.left():
                self._deadline.check()
                raise Stopped(f"the run's network deadline ({self._deadline.seconds:g} s, "
                              "SURVEYBIB_DEADLINE) passes before a retry could be made")
            time.sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        value = self.config.backoff * (2 ** attempt) + random.random() * self.config.backoff
        return float(min(30.0, value))

    def _open(self, host: str) -> None:
        """Raise when this host may not be asked now (deadline, breaker, known down)."""
        self._deadline.check()
        self._breaker.check(host)
        if host in self._down:
            raise Unreachable(self._down[host])

    def _attempt(self, limits: _Limits, route: str, url: str, host: str, shown: str) -> _Reply:
        """One request through the limiter, cut when it outlives its own deadline."""
        self._open(host)
        with limits.gate:
            self._open(host)  # the deadline may pass, or the host fail, while this waits
            limits.buckets[route].take()
            with self._count_lock:
                self.requests_made += 1
            seconds = max(0.0, min(self.config.request_deadline, self._deadline.left()))
            with Watch(seconds) as watch:
                try:
                    response = self.session.get(
                        url, timeout=(self.config.connect_timeout, self.config.read_timeout),
                        stream=True, allow_redirects=True,
                    )
                except requests.RequestException as exc:
                    if watch.cut:
                        raise _too_slow(shown, seconds) from None
                    raise self._transport_error(host, shown, exc) from None
                try:
                    self._hosts.mark(host)
                    limits.update(route, response.headers)
                    body = self._read(response, watch, shown)
                finally:
                    response.close()
            if watch.cut:  # cut short, the answer can look whole (headers ended by the cut)
                raise _too_slow(shown, seconds)
        return _Reply(response.status_code, body, response.headers)

    def _transport_error(self, host: str, shown: str,
                         exc: requests.RequestException) -> NetworkError:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, MaxRetryError):
            cause = reason.reason
            if isinstance(reason, _FailFast) or isinstance(cause, ConnectTimeoutError):
                message = f"cannot reach {shown}: {_connect_reason(cause)}"
                self._down[host] = message
                return Unreachable(message)
            return RequestFailed(f"{shown}: {_short(cause)} (after retries)")
        return RequestFailed(f"{shown}: {_short(exc)}")

    def _read(self, response: requests.Response, watch: Watch, shown: str) -> bytes:
        limit = self.config.max_body
        length = header_number(response.headers.get("content-length"))
        if length is not None and length > limit:
            raise _BadAnswer(f"answer of {length:,} bytes is over the {limit:,}-byte limit")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise _BadAnswer(f"answer is over the {limit:,}-byte limit; not read further")
                chunks.append(chunk)
        except requests.RequestException as exc:
            if watch.cut:
                raise _too_slow(shown, watch.seconds) from None
            raise RequestFailed(f"answer broke off: {_short(exc)}") from None
        return b"".join(chunks)

    # -------------------------------------------------------------- routes

    def _crossref_params(self, params: Mapping[str, str]) -> str:
        items = dict(params)
        if self.config.mailto:
            items["mailto"] = self.config.mailto
        return urlencode(items, safe=":,/", quote_via=quote)

    def work_url(self, doi: str) -> str:
        """`{base}/works/{doi}`, the DOI percent-encoded into the path."""
        url = f"{self.config.crossref_url}/works/{doi_path(doi)}"
        query = self._crossref_params({})
        return f"{url}?{query}" if query else url

    def list_url(self, dois: Sequence[str]) -> str:
        """`{base}/works?filter=doi:A,doi:B,...&rows=N`."""
        query = {"filter": ",".join(f"doi:{d}" for d in dois), "rows": str(len(dois))}
        return f"{self.config.crossref_url}/works?{self._crossref_params(query)}"

    def datacite_url(self, doi: str) -> str:
        return f"{self.config.datacite_url}/dois/{doi_path(doi)}"

    def get_work(self, doi: str) -> Outcome:
        """One DOI: Crossref `/works/{doi}`, then DataCite; a failed request is an outcome."""
        try:
            if doi.startswith(DATACITE_PREFIXES) or is_arxiv_doi(doi):
                return self._datacite_or_missing(doi)
            found = self._crossref_single(doi)
            return found if found is not None else self._datacite_or_missing(doi)
        except RequestFailed as exc:
            return Failed(doi, str(exc))
        except _BadAnswer as exc:
            return Failed(doi, str(exc))
        except Stopped as exc:
            return Failed(doi, str(exc), left=True)

    def _crossref_single(self, doi: str) -> Fetched | None:
        reply = self._get(self._crossref, "single", self.work_url(doi))
        if reply.status == 404:
            return None
        message = _envelope(reply, "Crossref", "work")
        return Fetched(doi, "crossref", message)

    def _datacite_or_missing(self, doi: str) -> Outcome:
        try:
            reply = self._get(self._datacite, "single", self.datacite_url(doi))
        except Unreachable as exc:
            return Failed(doi, str(exc), unreachable=True)
        if reply.status == 404:
            return Failed(doi, NOT_FOUND, not_found=True)
        data = _json_body(reply, "DataCite")
        record = data.get("data") if isinstance(data, dict) else None
        attributes = record.get("attributes") if isinstance(record, dict) else None
        if not isinstance(attributes, dict):
            raise _BadAnswer(f"DataCite answered HTTP {reply.status} without data.attributes")
        return Fetched(doi, "datacite", attributes)

    def fetch_list(self, dois: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """One `filter=doi:` request: the works Crossref returned, by lower-case DOI."""
        reply = self._get(self._crossref, "list", self.list_url(dois))
        message = _envelope(reply, "Crossref", "work-list")
        items = message.get("items")
        if not isinstance(items, list):
            raise _BadAnswer("Crossref's work-list has no items")
        wanted = set(dois)
        found: dict[str, Mapping[str, Any]] = {}
        for item in items:
            if isinstance(item, dict):
                doi = str(item.get("DOI") or "").lower()
                if doi in wanted:
                    found[doi] = item
        return found

    def search(self, text: str, rows: int = 5) -> list[Mapping[str, Any]]:
        """`query.bibliographic` title search: the items, best first. Raises NetworkError."""
        query = {"query.bibliographic": text, "rows": str(rows), "select": SEARCH_SELECT}
        url = f"{self.config.crossref_url}/works?{self._crossref_params(query)}"
        try:
            reply = self._get(self._crossref, "list", url)
            message = _envelope(reply, "Crossref", "work-list")
        except _BadAnswer as exc:
            raise RequestFailed(str(exc)) from None
        items = message.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    # -------------------------------------------------------------- batches

    def batches(self, dois: Sequence[str]) -> list[list[str]]:
        """Split DOIs into `filter=doi:` lists whose URL stays under the length limit.
        DOIs the filter syntax cannot carry (a comma inside) are left out: asked singly."""
        out: list[list[str]] = []
        current: list[str] = []
        for doi in dois:
            if "," in doi:
                continue
            if current and len(self.list_url([*current, doi])) > self.config.max_url:
                out.append(current)
                current = []
            current.append(doi)
        if current:
            out.append(current)
        return out

    def _batch_job(self, dois: Sequence[str]) -> list[Outcome]:
        """One list request, then every DOI it did not return singly (then at DataCite)."""
        try:
            found = self.fetch_list(dois)
        except Stopped as exc:
            return [Failed(doi, str(exc), left=True) for doi in dois]
        except _BadAnswer as exc:
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
        outcomes: list[Outcome] = [Fetched(d, "crossref", found[d]) for d in dois if d in found]
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
        direct = [d for d in unique if d.startswith(DATACITE_PREFIXES) or is_arxiv_doi(d)]
        rest = [d for d in unique if d not in set(direct)]
        batches = self.batches(rest)
        batched = {d for batch in batches for d in batch}
        singles = direct + [d for d in rest if d not in batched]
        jobs: list[tuple[Callable[[Sequence[str]], list[Outcome]], list[str]]] = [
            (self._batch_job, b) for b in batches
        ]
        jobs.extend((self._single_job, singles[i:i + 20]) for i in range(0, len(singles), 20))
        if not jobs:
            return
        # The first job runs alone: if the host is unreachable we learn it from one request.
        first, *others = jobs
        on_done(first[0](first[1]))
        if others:
            self._run_pool(others, on_done)

    def _run_pool(self, jobs: Sequence[tuple[Callable[[Sequence[str]], list[Outcome]],
                                                list[str]]],
                  on_done: Callable[[Sequence[Outcome]], None]) -> None:
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


def _too_slow(shown: str, seconds: float) -> RequestFailed:
    return RequestFailed(f"{shown}: the answer took longer than {seconds:g} s to arrive (a slow "
                         "or stalled server); not waited for further", final=True)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a Retry-After header asks for, in seconds (a number or an HTTP date)."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    number = header_number(value)
    if number is not None:
        return float(number)
    try:
        when = parsedate_to_datetime(value[:100])
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _address(url: str) -> str:
    """`host:port` of a URL: what reachability and limits are kept per."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or ''}:{port}"


def _pool_address(pool: Any) -> str:
    host = str(getattr(pool, "host", "") or "")
    scheme = str(getattr(pool, "scheme", "http"))
    port = getattr(pool, "port", None) or (443 if scheme == "https" else 80)
    return f"{host}:{port}" if host else ""


def user_agent(mailto: str) -> str:
    """`surveybib/<version> (mailto:<address>)`: the tool, its version and a contact, as
    Crossref asks (no project URL is named: the tool has no published home yet)."""
    return f"surveybib/{__version__} (mailto:{mailto})" if mailto else f"surveybib/{__version__}"


def _connect_reason(cause: BaseException | None) -> str:
    """Why a connection could not be made, in a few words."""
    if isinstance(cause, NameResolutionError):
        return "name lookup failed (no network or no DNS?)"
    text = str(cause)
    for known in ("Connection refused", "Network is unreachable", "No route to host"):
        if known in text:
            return known.lower()
    if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, NewConnectionError):
        return "connection timed out"
    return _short(cause)


def _short(exc: BaseException | None) -> str:
    text = str(exc)[:2000]
    inner = re.search(r"\(Caused by (\w+)\((?:.*?: )?(.*)\)\)$", text)
    if inner:
        text = f"{inner.group(1)}: {inner.group(2)}"
    return text if len(text) <= 200 else text[:197] + "..."


def _json_body(reply: _Reply, api: str) -> Any:
    if reply.status == 429 or reply.status >= 500:
        # Still failing after the retries: the server is in trouble, not the request.
        raise RequestFailed(f"{api} answered HTTP {reply.status} (after retries)", reply.status)
    try:
        data = json.loads(reply.body)
    except RecursionError:
        raise _BadAnswer(f"{api} sent JSON nested too deeply to read (HTTP {reply.status})"
                         ) from None
    except (ValueError, UnicodeDecodeError):
        if reply.status >= 400:
            snippet = reply.body[:60].decode("utf-8", "replace").strip()
            raise _BadAnswer(f"{api} answered HTTP {reply.status}: {snippet!r}") from None
        raise _BadAnswer(f"{api} sent malformed JSON (HTTP {reply.status})") from None
    if too_deep(data):
        raise _BadAnswer(f"{api} sent JSON nested deeper than {MAX_DEPTH} levels "
                         f"(HTTP {reply.status})")
    return data


def _envelope(reply: _Reply, api: str, kind: str) -> Mapping[str, Any]:
    """Crossref's `{"status": "ok", "message-type": kind, "message": {...}}` -> message."""
    data = _json_body(reply, api)
    if reply.status >= 400:
        detail = _validation(data) if isinstance(data, dict) else f"HTTP {reply.status}"
        raise _BadAnswer(f"{api} rejected the request (HTTP {reply.status}): {detail}")
    if not isinstance(data, dict) or data.get("message-type") != kind \
            or not isinstance(data.get("message"), dict):
        raise _BadAnswer(f"{api} answered something other than a {kind}")
    message: Mapping[str, Any] = data["message"]
    return message


def _validation(data: Mapping[str, Any]) -> str:
    """The messages of a `validation-failure` envelope."""
    message = data.get("message")
    if isinstance(message, list):
        parts = [str(m.get("message") or m.get("type")) for m in message if isinstance(m, dict)]
        if parts:
            return "; ".join(parts)
    return str(message or data.get("message-type") or "validation failure")
