"""What bounds a run's network work, whatever the servers do.

- A deadline for the whole run: past it nothing more is asked, and what is left is
  asked again next run (a throttling Crossref once made 10 DOIs take 198 s).
- A circuit breaker per host: after a number of failed requests in a row, or an answer
  asking to wait longer than surveybib waits, the host is left alone for the run.
- A watchdog per request: a server that drips one byte every few seconds never trips a
  read timeout, so each request also has a total deadline, and its socket is shut when
  that passes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from surveybib.errors import NetworkError


class Stopped(NetworkError):
    """Not asked at all: the run's deadline passed or the host's circuit is open. The
    message says which; the DOI or title is asked again next run."""


@dataclass(slots=True)
class Deadline:
    """The moment a run's network work must end (time.monotonic() seconds)."""

    seconds: float
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.at = time.monotonic() + self.seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        """Raise Stopped once the deadline has passed."""
        if self.left() <= 0:
            raise Stopped(f"the run's network deadline ({self.seconds:g} s, "
                          "SURVEYBIB_DEADLINE) passed")


class Breaker:
    """Per host: open (stop asking) after `threshold` failed requests in a row, or at once
    when the host asks for a longer pause than the run can give."""

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._open: dict[str, str] = {}

    def check(self, host: str) -> None:
        with self._lock:
            reason = self._open.get(host)
        if reason is not None:
            raise Stopped(reason)

    def succeeded(self, host: str) -> None:
        with self._lock:
            self._failures[host] = 0

    def failed(self, host: str, shown: str, why: str) -> None:
        with self._lock:
            count = self._failures.get(host, 0) + 1
            self._failures[host] = count
            if count >= self.threshold and host not in self._open:
                self._open[host] = (f"stopped asking {shown} after {count} requests in a row "
                                    f"failed, each after its retries (the last: {why}; "
                                    "SURVEYBIB_BREAKER)")

    def trip(self, host: str, reason: str) -> None:
        with self._lock:
            self._open.setdefault(host, reason)


# ------------------------------------------------------------------ the watchdog

_watch = threading.local()  # the Watch of the request this thread is making, if any


class Watch:
    """Shuts the socket of this thread's request when `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.cut = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watch:
        _watch.current = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _watch.current = None

    def attach(self, sock: Any) -> None:
        with self._lock:
            self._sock = sock if isinstance(sock, socket.socket) else None
            if self.cut:
                self._shut()

    def _fire(self) -> None:
        with self._lock:
            self.cut = True
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed
                self._sock.shutdown(socket.SHUT_RDWR)


def _attach(sock: Any) -> None:
    watch = getattr(_watch, "current", None)
    if watch is not None:
        watch.attach(sock)


@cache
def watched_pools() -> dict[str, type[Any]]:
    """urllib3's connection pools whose connections hand their socket to this thread's
    Watch as the answer is awaited. Made on first use, so urllib3 is imported only by a
    run that asks the network."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPConnection(HTTPConnection):
        def getresponse(self) -> Any:
            _attach(self.sock)
            return super().getresponse()

    class WatchedHTTPSConnection(HTTPSConnection):
        def getresponse(self) -> Any:
            _attach(self.sock)
            return super().getresponse()

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    return {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}
