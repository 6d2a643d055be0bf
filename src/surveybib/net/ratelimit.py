"""Client-side limiters, so that a normal run never receives a 429: a token bucket per
route and a concurrency gate that follow the limits an API announces in its headers
(Crossref, DataCite: `Limits`), and a window limiter for APIs that publish theirs as "N
requests per window" (Semantic Scholar: 100 per 5 minutes without a key, 1 a second with
one; Hugging Face: 500 Hub API calls per 5 minutes per IP).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Mapping

from surveybib.net.guard import Stopped

SAFETY = 0.85  # run at this fraction of the published limit, to absorb timing jitter


def _within(wait: float, within: float) -> None:
    """Stopped when a limiter's wait passes what the run has left: a server that announces
    a window of a hundred million seconds must end the run, not hold it."""
    if wait > within:
        raise Stopped(f"the next request could start only in {wait:,.0f} s (the limits the "
                      "server announced), after the run's network deadline "
                      "(SURVEYBIB_DEADLINE)")


class WindowLimiter:
    """At most `count` request starts in any `window` seconds, and starts at least
    `spacing` seconds apart. Thread-safe: `take()` blocks until a start is allowed."""

    def __init__(self, count: int, window: float, spacing: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._count = max(1, count)
        self._window = window
        self._spacing = spacing
        self._starts: deque[float] = deque()
        self._paused_until = 0.0

    @classmethod
    def published(cls, count: int, window: float, spacing: float = 0.0) -> WindowLimiter:
        """A limiter at SAFETY times a published limit of `count` per `window` seconds."""
        return cls(max(1, int(count * SAFETY)), window, spacing)

    def set_limit(self, count: int, window: float) -> None:
        """Follow a limit the server announced (SAFETY applied)."""
        with self._lock:
            self._count = max(1, int(count * SAFETY))
            self._window = window

    def pause(self, seconds: float) -> None:
        """No start before `seconds` from now (the server said its window is used up)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def slow_down(self) -> None:
        """After a 429: double the spacing (at most one start every 20 s)."""
        with self._lock:
            floor = self._window / self._count
            self._spacing = min(max(self._spacing, floor) * 2, 20.0)

    def _next_start(self, now: float) -> float:
        start = max(now, self._paused_until)
        while self._starts and start - self._starts[0] >= self._window:
            self._starts.popleft()
        if len(self._starts) >= self._count:
            start = max(start, self._starts[-self._count] + self._window)
        if self._starts:
            start = max(start, self._starts[-1] + self._spacing)
        return start

    def take(self, within: float = math.inf) -> float:
        """Wait for the next allowed start; returns the seconds waited. Raises Stopped, and
        takes no start, when that wait would pass `within` seconds (the run's deadline)."""
        with self._lock:
            now = time.monotonic()
            start = self._next_start(now)
            _within(start - now, within)
            self._starts.append(start)
        if start > now:
            time.sleep(start - now)
        return max(0.0, start - now)


class Bucket:
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

    def take(self, within: float = math.inf) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            _within(start - now, within)
            self._last = start
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


class Gate:
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
    """A header's whole number (ASCII digits, at most 18 of them), else None: a hostile
    server's 5,000 digits are more than int() takes."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


class Limits:
    """The rate and concurrency limits of one API (a rate per route: `single`, `list`),
    updated from the `x-rate-limit-*` and `x-concurrency-limit` headers it sends."""

    def __init__(self, defaults: Mapping[str, float]) -> None:
        self.buckets = {
            "single": Bucket(defaults["single"] * SAFETY),
            "list": Bucket(defaults["list"] * SAFETY),
        }
        self.gate = Gate(int(defaults["concurrency"]))

    def update(self, route: str, headers: Mapping[str, str]) -> None:
        limit = header_number(headers.get("x-rate-limit-limit"))
        interval = _INTERVAL_RE.match((headers.get("x-rate-limit-interval") or "1s")[:40])
        if limit and interval:
            scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[interval.group(2) or "s"]
            seconds = float(interval.group(1)) * scale
            if seconds > 0:
                self.buckets[route].set_rate(limit / seconds * SAFETY)
        concurrency = header_number(headers.get("x-concurrency-limit"))
        if concurrency:
            self.gate.set_limit(min(concurrency, 64))

    def take(self, route: str, within: float = math.inf) -> None:
        """Wait for this route's next start (at most `within` seconds, else Stopped)."""
        self.buckets[route].take(within)

    def throttled(self) -> None:
        """The API answered 429: every route slows down."""
        for bucket in self.buckets.values():
            bucket.slow_down()
