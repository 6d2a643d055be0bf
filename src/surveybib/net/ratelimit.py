"""A client-side limiter for APIs that publish their limits as "N requests per window"
(Semantic Scholar: 100 per 5 minutes without a key, 1 a second with one; Hugging Face: 500
Hub API calls per 5 minutes per IP), so that a normal run never receives a 429.
"""

from __future__ import annotations

import threading
import time
from collections import deque

SAFETY = 0.85  # run at this fraction of the published limit, to absorb timing jitter


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

    def take(self) -> float:
        """Wait for the next allowed start; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            start = self._next_start(now)
            self._starts.append(start)
        if start > now:
            time.sleep(start - now)
        return max(0.0, start - now)
