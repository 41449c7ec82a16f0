"""The hub's lock-free histogram and counter expose what prometheus_client's own would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from signaling.metrics import LATENCY_BUCKETS, LoopCounter, LoopHistogram

VALUES = [0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.04, 0.5, 1.0, 2.0, 4.9, 5.0, 7.5, 120.0]


def test_the_histogram_exposes_what_prometheus_client_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopHistogram("x_seconds", "doc", LATENCY_BUCKETS)
    ours.register(mine)
    reference = Histogram("x_seconds", "doc", buckets=LATENCY_BUCKETS, registry=theirs)
    for value in VALUES:
        mine.observe(value)
        reference.observe(value)
    expected = [
        line for line in generate_latest(theirs).decode().splitlines() if "_created" not in line
    ]
    assert generate_latest(ours).decode().splitlines() == expected


def test_the_counter_exposes_what_prometheus_client_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopCounter("y", "doc", ("event", "outcome"))
    ours.register(mine)
    reference = Counter("y", "doc", ["event", "outcome"], registry=theirs)
    for event, outcome in [("a", "ok"), ("a", "ok"), ("b", "rate_limited"), ("a", "forbidden")]:
        mine.inc(event, outcome)
        reference.labels(event, outcome).inc()
    expected = [
        line for line in generate_latest(theirs).decode().splitlines() if "_created" not in line
    ]
    assert sorted(generate_latest(ours).decode().splitlines()) == sorted(expected)
