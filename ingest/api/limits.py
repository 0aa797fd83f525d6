"""Back-pressure at the API's door: per-company request rates and pushes in flight.

:class:`InFlight` bounds the pushes waiting for Kafka at once: when Kafka is slow, pushes past
the bound are answered 503 at once (with ``Retry-After``) instead of queueing, so the
process's memory and threads stay bounded whatever the historians send.

Per-company request rates: token buckets, bounded, refusing with how long to wait.

Each company has a bucket of ``burst`` tokens refilled at ``rate_per_s``; a request takes one.
An empty bucket answers the seconds until the next token (the API's ``Retry-After``). Buckets of
companies idle long enough to be full again are dropped, so memory stays bounded by the number
of companies active within ``burst / rate_per_s`` seconds, and at most ``max_keys`` in any case
(the oldest bucket goes first: it is the one nearest to full).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Token buckets by key; thread-safe."""

    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(burst, 1.0)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, t)
        self._lock = threading.Lock()

    def take(self, key: str) -> float | None:
        """Take one token for ``key``.

        Returns:
            ``None`` when allowed; otherwise the seconds until a token is available.
        """
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate_per_s)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = None
            else:
                wait = (1.0 - tokens) / self.rate_per_s if self.rate_per_s > 0 else 3600.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


class InFlight:
    """A count of work in progress with a bound; :meth:`enter` refuses past it. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        """Count one more unless the bound is reached; returns whether it was counted."""
        with self._lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        """Count one less (once per successful :meth:`enter`)."""
        with self._lock:
            self.count -= 1
