"""The HTTP transport every API client goes through: one requests.Session, urllib3's Retry
for backoff (with jitter, honouring Retry-After) on 429, 5xx and connection errors, a
client-side limiter (a token bucket per route and a concurrency gate) that follows the
limits each response announces, and bodies read with a size cap.

`Transport` is the interface the API modules (crossref.py, datacite.py) use; tests or
other programs may hand `fetch.Client` any object with its `get`. requests and urllib3
are imported only when an `HttpTransport` is made, so a build with nothing to fetch never
loads them.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from surveybib import __version__
from surveybib.config import base_url
from surveybib.errors import NetworkError

log = logging.getLogger(__name__)

DEFAULT_CROSSREF_URL = "https://api.crossref.org"
DEFAULT_DATACITE_URL = "https://api.datacite.org"
MAX_BODY = 20 * 1024 * 1024  # a work-list of 1,000 full records is about 10 MB
MAX_URL = 4000  # Crossref rejects very long URLs; stay well below


@dataclass(frozen=True, slots=True)
class Patience:
    """What every API client's config holds: who asks (the polite pool's mailto) and how
    long to wait, how often to retry (`patience_from_env` reads them)."""

    mailto: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5


@dataclass(frozen=True, slots=True)
class ClientConfig(Patience):
    """Where and how to ask Crossref and DataCite. Built from the environment by
    `config_from_env`."""

    crossref_url: str = DEFAULT_CROSSREF_URL
    datacite_url: str = DEFAULT_DATACITE_URL
    max_body: int = MAX_BODY
    max_url: int = MAX_URL
    workers: int = 3


def config_from_env(mailto: str = "", environ: Mapping[str, str] = os.environ) -> ClientConfig:
    """SURVEYBIB_CROSSREF_URL, SURVEYBIB_DATACITE_URL, SURVEYBIB_MAILTO (over the configured
    mailto), SURVEYBIB_TIMEOUT (read timeout, seconds), SURVEYBIB_RETRIES."""
    return ClientConfig(
        crossref_url=base_url("SURVEYBIB_CROSSREF_URL", DEFAULT_CROSSREF_URL, environ),
        datacite_url=base_url("SURVEYBIB_DATACITE_URL", DEFAULT_DATACITE_URL, environ),
        mailto=(environ.get("SURVEYBIB_MAILTO") or mailto).strip(),
        **patience_from_env(environ),
    )


def patience_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The timeouts, retries and backoff every API client takes from SURVEYBIB_TIMEOUT
    (the read timeout, seconds) and SURVEYBIB_RETRIES."""
    timeout = env_number(environ.get("SURVEYBIB_TIMEOUT"), 30.0)
    return {"connect_timeout": min(5.0, timeout), "read_timeout": timeout,
            "retries": int(env_number(environ.get("SURVEYBIB_RETRIES"), 4)),
            "backoff": min(0.5, timeout / 4)}


def env_number(value: str | None, default: float) -> float:
    """A number from an environment variable; the default when it is unset or not a number."""
    try:
        return float(value) if value else default
    except ValueError:
        return default


def user_agent(mailto: str) -> str:
    """`surveybib/<version> (mailto:<address>)`: the tool, its version and a contact, as
    Crossref asks (no project URL is named: the tool has no published home yet)."""
    return f"surveybib/{__version__} (mailto:{mailto})" if mailto else f"surveybib/{__version__}"


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

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the last HTTP status, when the server answered


class BadAnswer(Exception):
    """An answer that retrying will not fix (malformed JSON, 400, too large)."""


class Limiter(Protocol):
    """An API's limits as the transport uses them: a concurrency gate, a start per route,
    the limits an answer announces, and a slow-down after a 429."""

    @property
    def gate(self) -> AbstractContextManager[Any]: ...

    def take(self, route: str) -> None: ...

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


class TransportConfig(Protocol):
    """How patient a transport is (ClientConfig and the scholarly APIs' configs)."""

    @property
    def mailto(self) -> str: ...

    @property
    def connect_timeout(self) -> float: ...

    @property
    def read_timeout(self) -> float: ...

    @property
    def retries(self) -> int: ...

    @property
    def backoff(self) -> float: ...

    @property
    def workers(self) -> int: ...


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

    def take(self, route: str) -> None:
        self.limiter.take()

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
    `max_body` caps every answer."""

    def __init__(self, config: TransportConfig, *, headers: Mapping[str, str] | None = None,
                 methods: Sequence[str] = ("GET",), max_body: int = MAX_BODY) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.config = config
        self.max_body = max_body
        self.requests_made = 0
        self._hosts = Hosts(on_throttle=self._throttled)
        self._down: dict[str, str] = {}
        self._count_lock = threading.Lock()
        self._host_limits: dict[str, Limiter] = {}
        retry_class, _ = retry_classes()
        retry = retry_class(
            total=config.retries + 2,
            connect=2,
            read=2,
            status=config.retries,
            other=0,
            redirect=3,
            backoff_factor=config.backoff,
            backoff_jitter=config.backoff,
            backoff_max=30.0,
            retry_after_max=15,  # a longer wait asked for fails the request, reported
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset(methods),
            respect_retry_after_header=True,
            raise_on_status=False,
            hosts=self._hosts,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4,
                              pool_maxsize=max(4, config.workers + 1))
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
        """One request through the limiter and the retry policy; the body read with the
        size cap. Raises Unreachable (the host never answered), RequestFailed, BadAnswer."""
        import requests

        host = address(url)
        if host in self._down:
            raise Unreachable(self._down[host])
        with limits.gate:
            if host in self._down:  # found down while this request waited its turn
                raise Unreachable(self._down[host])
            limits.take(route)
            with self._count_lock:
                self.requests_made += 1
            try:
                response = self.session.request(
                    method, url, params=params, json=json, stream=True, allow_redirects=True,
                    timeout=(self.config.connect_timeout, self.config.read_timeout),
                )
            except requests.RequestException as exc:
                raise self._transport_error(host, urlsplit(url).netloc, exc) from None
            try:
                self._hosts.mark(host)
                limits.update(route, response.headers)
                body = self._read(response)
            finally:
                response.close()
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

    def _read(self, response: Any) -> bytes:
        import requests

        limit = self.max_body
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise BadAnswer(f"answer of {int(length):,} bytes is over the {limit:,}-byte limit")
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + max(60.0, self.config.read_timeout * 4)
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise BadAnswer(f"answer is over the {limit:,}-byte limit; not read further")
                if time.monotonic() > deadline:
                    raise BadAnswer("answer took too long to arrive; not read further")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise RequestFailed(f"answer broke off: {short_error(exc)}") from None
        return b"".join(chunks)


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
    text = str(exc)
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
        return json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        if reply.status >= 400:
            snippet = reply.body[:60].decode("utf-8", "replace").strip()
            raise BadAnswer(f"{api} answered HTTP {reply.status}: {snippet!r}") from None
        raise BadAnswer(f"{api} sent malformed JSON (HTTP {reply.status})") from None
