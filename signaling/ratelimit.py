"""Per-socket rate limits: a token bucket per connection.

A socket lives on exactly one node, so its bucket is plain process memory; nothing needs to
be shared between nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` events per second on average, bursts of up to ``burst``."""

    def __init__(
        self, *, rate: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._tokens = float(burst)
        self._at = monotonic()

    def take(self) -> float:
        """Spend one token. Returns 0 when allowed, else the seconds until one is available."""
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate
