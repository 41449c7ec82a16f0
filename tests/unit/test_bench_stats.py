"""The benchmark's interval for a median ratio (bench/stats.py): the sign test's order
statistics, checked against coverages worked out by hand and against simulation."""

from __future__ import annotations

import random

import pytest

from bench.stats import median_interval


def test_five_rounds_give_their_range_at_94_percent() -> None:
    # k = 1: 1 - 2 * 1/32
    assert median_interval([1.2, 0.9, None, 1.0, 1.1, 0.8]) == (0.8, 1.2, 0.938)


def test_ten_rounds_drop_one_from_each_end_at_90_percent() -> None:
    # k = 2: 1 - 2 * (1 + 10)/1024; k = 3 would cover only 1 - 2 * (1 + 10 + 45)/1024
    values = [float(v) for v in range(10, 0, -1)]
    assert median_interval(values) == (2.0, 9.0, 0.979)
    assert median_interval(values, confidence=0.85) == (3.0, 8.0, 0.891)


@pytest.mark.parametrize("n", [0, 1, 4])
def test_too_few_rounds_give_no_interval(n: int) -> None:
    assert median_interval([1.0] * n) is None
    assert median_interval([None] * 9) is None


def test_the_interval_holds_the_true_median_as_often_as_it_says() -> None:
    rng = random.Random(7)
    trials, held = 4000, 0
    for _ in range(trials):
        sample = [rng.lognormvariate(0.0, 0.15) for _ in range(10)]  # true median 1.0
        interval = median_interval(sample, confidence=0.85)
        assert interval is not None
        low, high, coverage = interval
        held += low <= 1.0 <= high
    assert coverage == 0.891
    assert abs(held / trials - coverage) < 0.02
