"""Latency histograms from the load generators (log buckets of 1 %), merged and read as
percentiles, and small figures of a run."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Histogram:
    """Counts per bucket index; bucket ``i`` holds values around ``step ** i`` microseconds."""

    step: float = 1.01
    counts: Counter[int] = field(default_factory=Counter)
    max_ms: float = 0.0

    @classmethod
    def merged(cls, parts: Iterable[Mapping[str, Any]]) -> Histogram:
        merged = cls()
        for part in parts:
            merged.step = float(part.get("step", merged.step))
            merged.max_ms = max(merged.max_ms, float(part.get("max_ms", 0.0)))
            for index, count in part.get("buckets", {}).items():
                merged.counts[int(index)] += int(count)
        return merged

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile in milliseconds (None without samples)."""
        total = self.count
        if total == 0:
            return None
        rank = max(1, round(p / 100 * total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return float(self.step**index / 1000)
        return self.max_ms

    def summary(self) -> dict[str, float | int | None]:
        return {
            "count": self.count,
            "p50_ms": _round(self.percentile(50)),
            "p90_ms": _round(self.percentile(90)),
            "p99_ms": _round(self.percentile(99)),
            "p999_ms": _round(self.percentile(99.9)),
            "max_ms": _round(self.max_ms) if self.count else None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0:
        return None
    return round(value / reference, 3)


def median_of(values: Sequence[float | None]) -> float | None:
    """The median of the known values (None when none is known)."""
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def median_interval(
    values: Sequence[float | None], confidence: float = 0.9
) -> tuple[float, float, float] | None:
    """A distribution-free interval for the median of the known values (the sign test's): the
    order statistics ``x(k)`` and ``x(n+1-k)`` for the largest ``k`` whose coverage,
    ``1 - 2 P(Binomial(n, 1/2) < k)``, is at least ``confidence``. Returns ``(low, high,
    coverage)``; None when there are too few values for one (5 for 90 %)."""
    known = sorted(v for v in values if v is not None)
    n = len(known)
    interval: tuple[float, float, float] | None = None
    below = 0  # ways of fewer than k values below the median, of 2**n
    for k in range(1, n // 2 + 1):
        below += math.comb(n, k - 1)
        coverage = 1 - 2 * below / 2**n
        if coverage < confidence:
            break
        interval = (round(known[k - 1], 3), round(known[n - k], 3), round(coverage, 3))
    return interval
