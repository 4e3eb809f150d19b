"""Optional per-client rate limiting (PAPERSEARCH_RATE_LIMIT requests a minute).

A sliding one-minute window per client address, kept in each worker process
(with N workers a client gets up to N times the limit; put a limit in the
reverse proxy too when that matters). Off by default.
"""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_SECONDS = 60.0
MAX_CLIENTS = 100_000  # addresses remembered at once; the idle ones are forgotten first


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> float | None:
        """None if ``client`` may go ahead (and count it), else seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= MAX_CLIENTS:
                    self._forget_idle(now)
                hits = self._hits[client] = deque()
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return hits[0] + WINDOW_SECONDS - now
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        for client in [c for c, h in self._hits.items() if not h or h[-1] <= now - WINDOW_SECONDS]:
            del self._hits[client]
        if len(self._hits) >= MAX_CLIENTS:  # all active: forget the oldest half
            for client in sorted(self._hits, key=lambda c: self._hits[c][-1])[: MAX_CLIENTS // 2]:
                del self._hits[client]
