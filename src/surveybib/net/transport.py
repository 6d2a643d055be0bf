"""The HTTP transport every API client goes through: one requests.Session, retries with
backoff (with jitter, honouring Retry-After) on 429, 5xx and broken answers that each wait
their turn in a client-side limiter (a token bucket per route and a concurrency gate) that
follows the limits each response announces, urllib3's Retry for connection errors, and
bodies read with a size cap. A run's requests keep to a deadline and a circuit breaker per
host, and each request to a total deadline of its own (net/guard.py).

`Transport` is the interface the API modules (crossref.py, datacite.py) use; tests or
other programs may hand `fetch.Client` any object with its `get`. requests and urllib3
are imported only when an `HttpTransport` is made, so a build with nothing to fetch never
loads them. What a client asks with (addresses, timeouts, the run's bounds) is in
net/settings.py.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from surveybib.errors import NetworkError
from surveybib.limits import MAX_DEPTH, too_deep
from surveybib.net.guard import Breaker, Deadline, Stopped, Watch, watched_pools
from surveybib.net.ratelimit import header_number
from surveybib.net.settings import MAX_BODY, Patience, user_agent

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# ------------------------------------------------------------------ answers and errors


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer: its status, the body (read with the size cap) and the headers."""

    status: int
    body: bytes
    headers: Mapping[str, str]


class Unreachable(NetworkError):
    """The API host cannot be reached at all (no network, DNS failure, refused)."""


class RequestFailed(NetworkError):
    """One request ended without a usable answer (after the retries)."""

    def __init__(self, message: str, status: int | None = None, final: bool = False) -> None:
        super().__init__(message)
        self.status = status  # the last HTTP status, when the server answered
        self.final = final  # retrying would not help (the request outlived its deadline)


class BadAnswer(Exception):
    """An answer that retrying will not fix (malformed JSON, 400, too large)."""


class Limiter(Protocol):
    """An API's limits as the transport uses them: a concurrency gate, a start per route,
    the limits an answer announces, and a slow-down after a 429."""

    @property
    def gate(self) -> AbstractContextManager[Any]: ...

    def take(self, route: str, within: float) -> None: ...

    def update(self, route: str, headers: Mapping[str, str]) -> None: ...

    def throttled(self) -> None: ...


class Transport(Protocol):
    """What the API modules need from the network: a limited GET, and a way to say which
    limits apply to a host (so a 429 from it slows the right limiter down)."""

    @property
    def requests_made(self) -> int: ...

    def get(self, url: str, limits: Limiter, route: str) -> Reply: ...

    def request(self, method: str, url: str, limits: Limiter, route: str = "single", *,
                params: Mapping[str, str] | None = None, json: Any = None) -> Reply: ...

    def register(self, base_url: str, limits: Limiter) -> None: ...

    def close(self) -> None: ...


class WindowClient:
    """The part every client of an API limited per window shares (Semantic Scholar,
    Hugging Face): a context manager over its transport, and the transport's Limiter for
    its host, its starts spaced by `limiter` (a WindowLimiter) behind `gate`."""

    transport: Transport
    limiter: Any  # net.ratelimit.WindowLimiter; tests swap in a faster one
    gate: AbstractContextManager[Any]

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.transport.close()

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def take(self, route: str, within: float) -> None:
        self.limiter.take(within)

    def update(self, route: str, headers: Mapping[str, str]) -> None:
        """Limits the answers announce (none, unless a client says otherwise)."""

    def throttled(self) -> None:
        self.limiter.slow_down()


# ------------------------------------------------------------------ retries


@dataclass(slots=True)
class Hosts:
    """What the retry policy shares with the transport: hosts that have answered, and what
    to slow down when a host says 429."""

    answered: set[str] = field(default_factory=set)
    on_throttle: Callable[[str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self, host: str) -> None:
        with self.lock:
            self.answered.add(host)

    def has_answered(self, host: str) -> bool:
        with self.lock:
            return host in self.answered


@cache
def retry_classes() -> tuple[type[Any], type[Any]]:
    """(Retry, FailFast): urllib3's Retry, plus: no connect retries while a host has never
    answered (so a machine without network stops at once), a backoff that waits before the
    first retry too, and a hook that slows the client down on 429. Made on first use, so
    urllib3 is imported only by a run that asks the network."""
    from urllib3.exceptions import MaxRetryError
    from urllib3.util.retry import Retry

    class FailFast(MaxRetryError):
        """Raised instead of retrying a connection error to a host that never answered."""

    class SurveybibRetry(Retry):
        hosts: Hosts

        def __init__(self, *args: Any, hosts: Hosts | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.hosts = hosts if hosts is not None else Hosts()

        def new(self, **kw: Any) -> SurveybibRetry:
            fresh: SurveybibRetry = super().new(**kw)
            fresh.hosts = self.hosts
            return fresh

        def increment(self, method: str | None = None, url: str | None = None,
                      response: Any = None, error: Exception | None = None, _pool: Any = None,
                      _stacktrace: Any = None) -> SurveybibRetry:
            host = pool_address(_pool)
            if error is not None and self._is_connection_error(error) and host \
                    and not self.hosts.has_answered(host):
                raise FailFast(_pool, url or "", error) from error
            if response is not None and response.status == 429 and self.hosts.on_throttle:
                self.hosts.on_throttle(host)
            result: SurveybibRetry = super().increment(method, url, response, error, _pool,
                                                       _stacktrace)
            return result

        def get_backoff_time(self) -> float:
            errors = 0
            for item in reversed(self.history):
                if item.redirect_location is not None:
                    break
                errors += 1
            if errors == 0:
                return 0.0
            value = self.backoff_factor * (2 ** (errors - 1)) \
                + random.random() * self.backoff_jitter
            return float(min(self.backoff_max, value))

    return SurveybibRetry, FailFast


# ------------------------------------------------------------------ the transport


class HttpTransport:
    """A Transport over one requests.Session. Thread-safe.

    `headers` are sent with every request (an API key); `methods` are those a failed
    request may be repeated with (the scholarly batch endpoint only reads, through POST);
    `max_body` caps every answer. Every attempt of a request, retries included, waits its
    turn in the limiter; the run's deadline and each host's breaker hold for all of them."""

    def __init__(self, config: Patience, *, headers: Mapping[str, str] | None = None,
                 methods: Sequence[str] = ("GET",), max_body: int = MAX_BODY) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.config = config
        self.max_body = max_body
        self.methods = frozenset(methods)
        self.requests_made = 0
        self._hosts = Hosts(on_throttle=self._throttled)
        self._down: dict[str, str] = {}
        self._count_lock = threading.Lock()
        self._host_limits: dict[str, Limiter] = {}
        self._deadline = Deadline(config.deadline)
        self._breaker = Breaker(config.breaker)
        retry_class, _ = retry_classes()
        retry = retry_class(  # connection errors only: answers are retried by `request`
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
            allowed_methods=frozenset(methods),
            respect_retry_after_header=False,
            raise_on_status=False,
            hosts=self._hosts,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4,
                              pool_maxsize=max(4, config.workers + 1))
        adapter.poolmanager.pool_classes_by_scheme = dict(watched_pools())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent(config.mailto)
        self.session.headers["Accept"] = "application/json"
        self.session.headers.update(headers or {})

    def register(self, base_url: str, limits: Limiter) -> None:
        self._host_limits[address(base_url)] = limits

    def close(self) -> None:
        self.session.close()

    def _throttled(self, host: str) -> None:
        limits = self._host_limits.get(host)
        if limits is not None:
            log.info("%s answered 429: slowing down", host)
            limits.throttled()

    def get(self, url: str, limits: Limiter, route: str) -> Reply:
        """One GET through the limiter and the retry policy; the body read with a size cap."""
        return self.request("GET", url, limits, route)

    def request(self, method: str, url: str, limits: Limiter, route: str = "single", *,
                params: Mapping[str, str] | None = None, json: Any = None) -> Reply:
        """One request, retried on 429, 5xx and broken answers with backoff or Retry-After;
        every attempt waits its turn in the limiter and keeps to the run's deadline and the
        host's breaker. A 429 or 5xx still there after the retries is returned (callers
        report it); a Retry-After longer than the run waits fails at once and rests the
        host. Raises Unreachable (the host never answered), Stopped (not asked: deadline or
        breaker), RequestFailed, BadAnswer."""
        host, shown = address(url), urlsplit(url).netloc
        retries = self.config.retries if method in self.methods else 0
        attempt = 0
        while True:
            try:
                reply = self._attempt(method, url, limits, route, params, json, host, shown)
            except RequestFailed as exc:
                if exc.final or attempt >= retries:
                    self._breaker.failed(host, shown, str(exc))
                    raise
                wait = self._backoff(attempt)
            else:
                if reply.status not in RETRY_STATUSES:
                    self._breaker.succeeded(host)
                    return reply
                if reply.status == 429:
                    self._throttled(host)
                asked = _retry_after(reply.headers)
                if asked is not None and asked > min(self.config.max_wait, self._deadline.left()):
                    reason = (f"{shown} answered HTTP {reply.status} asking to wait "
                              f"{asked:,.0f} s, longer than this run waits")
                    self._breaker.trip(host, f"{reason}; asked again next run")
                    raise RequestFailed(reason, reply.status)
                if attempt >= retries:
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

    def _attempt(self, method: str, url: str, limits: Limiter, route: str,
                 params: Mapping[str, str] | None, json: Any, host: str, shown: str) -> Reply:
        """One request through the limiter, cut when it outlives its own deadline."""
        import requests

        self._open(host)
        with limits.gate:
            self._open(host)  # the deadline may pass, or the host fail, while this waits
            limits.take(route, self._deadline.left())
            with self._count_lock:
                self.requests_made += 1
            seconds = max(0.0, min(self.config.request_deadline, self._deadline.left()))
            with Watch(seconds) as watch:
                try:
                    response = self.session.request(
                        method, url, params=params, json=json, stream=True,
                        allow_redirects=True,
                        timeout=(self.config.connect_timeout, self.config.read_timeout),
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
        return Reply(response.status_code, body, response.headers)

    def _transport_error(self, host: str, shown: str, exc: Exception) -> NetworkError:
        from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

        _, fail_fast = retry_classes()
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, MaxRetryError):
            cause = reason.reason
            if isinstance(reason, fail_fast) or isinstance(cause, ConnectTimeoutError):
                message = f"cannot reach {shown}: {connect_reason(cause)}"
                self._down[host] = message
                return Unreachable(message)
            return RequestFailed(f"{shown}: {short_error(cause)} (after retries)")
        return RequestFailed(f"{shown}: {short_error(exc)}")

    def _read(self, response: Any, watch: Watch, shown: str) -> bytes:
        import requests

        limit = self.max_body
        length = header_number(response.headers.get("content-length"))
        if length is not None and length > limit:
            raise BadAnswer(f"answer of {length:,} bytes is over the {limit:,}-byte limit")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise BadAnswer(f"answer is over the {limit:,}-byte limit; not read further")
                chunks.append(chunk)
        except requests.RequestException as exc:
            if watch.cut:
                raise _too_slow(shown, watch.seconds) from None
            raise RequestFailed(f"answer broke off: {short_error(exc)}") from None
        return b"".join(chunks)


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


def address(url: str) -> str:
    """`host:port` of a URL: what reachability and limits are kept per."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or ''}:{port}"


def pool_address(pool: Any) -> str:
    """`host:port` of a urllib3 connection pool."""
    host = str(getattr(pool, "host", "") or "")
    scheme = str(getattr(pool, "scheme", "http"))
    port = getattr(pool, "port", None) or (443 if scheme == "https" else 80)
    return f"{host}:{port}" if host else ""


def connect_reason(cause: BaseException | None) -> str:
    """Why a connection could not be made, in a few words."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    if isinstance(cause, NameResolutionError):
        return "name lookup failed (no network or no DNS?)"
    text = str(cause)
    for known in ("Connection refused", "Network is unreachable", "No route to host"):
        if known in text:
            return known.lower()
    if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, NewConnectionError):
        return "connection timed out"
    return short_error(cause)


def short_error(exc: BaseException | None) -> str:
    """An exception's message, urllib3's `(Caused by X(...))` unwrapped, cut to 200."""
    text = str(exc)[:2000]
    inner = re.search(r"\(Caused by (\w+)\((?:.*?: )?(.*)\)\)$", text)
    if inner:
        text = f"{inner.group(1)}: {inner.group(2)}"
    return text if len(text) <= 200 else text[:197] + "..."


def json_body(reply: Reply, api: str) -> Any:
    """The JSON of an answer; RequestFailed for a server still failing after the retries,
    BadAnswer for anything that is not JSON."""
    if reply.status == 429 or reply.status >= 500:
        # Still failing after the retries: the server is in trouble, not the request.
        raise RequestFailed(f"{api} answered HTTP {reply.status} (after retries)", reply.status)
    try:
        data = json.loads(reply.body)
    except RecursionError:
        raise BadAnswer(f"{api} sent JSON nested too deeply to read (HTTP {reply.status})"
                        ) from None
    except (ValueError, UnicodeDecodeError):
        if reply.status >= 400:
            snippet = reply.body[:60].decode("utf-8", "replace").strip()
            raise BadAnswer(f"{api} answered HTTP {reply.status}: {snippet!r}") from None
        raise BadAnswer(f"{api} sent malformed JSON (HTTP {reply.status})") from None
    if too_deep(data):
        raise BadAnswer(f"{api} sent JSON nested deeper than {MAX_DEPTH} levels "
                        f"(HTTP {reply.status})")
    return data
