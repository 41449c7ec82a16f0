"""The hub's Prometheus metrics, registered on the application's registry.

``telemed_hub_rooms_active`` and ``telemed_hub_patients_waiting`` describe the whole deployment
(every node reports the same value from the shared registry: aggregate them with ``max``);
``telemed_hub_sockets_connected`` counts this process's sockets (aggregate with ``sum``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class HubMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.rooms_active = Gauge(
            "telemed_hub_rooms_active", "Consultation rooms open in the deployment", registry=r
        )
        self.patients_waiting = Gauge(
            "telemed_hub_patients_waiting",
            "Patients connected and waiting to be admitted, in the deployment",
            registry=r,
        )
        self.sockets_connected = Gauge(
            "telemed_hub_sockets_connected",
            "Socket.IO connections open on this process",
            ["namespace"],
            registry=r,
        )
        # Counted on every signal and event: plain integers (below), not prometheus_client's
        # lock per increment and walk over the buckets in Python.
        self.relay_latency = LoopHistogram(
            "telemed_hub_signal_relay_seconds",
            "Time from receiving an rtc:signal to handing it to the other participant",
            LATENCY_BUCKETS,
        )
        self.chat_ack_latency = LoopHistogram(
            "telemed_hub_chat_ack_seconds",
            "Time from receiving a chat:send to acknowledging it (stored durably)",
            LATENCY_BUCKETS,
        )
        self.events = LoopCounter(
            "telemed_hub_events",
            "Socket.IO events answered, by event and outcome (ok or the error code)",
            ("event", "outcome"),
        )
        for collector in (self.relay_latency, self.chat_ack_latency, self.events):
            r.register(collector)
        self.connections_refused = Counter(
            "telemed_hub_connections_refused_total",
            "Socket.IO connections refused, by reason",
            ["reason"],
            registry=r,
        )


class LoopHistogram(Collector):
    """A histogram observed and collected on the event loop's thread only (the hub's events and
    ``/metrics`` both run there), so it needs no lock: a bucket count is a list item."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self._bounds = tuple(float(b) for b in buckets)
        self._counts = [0] * (len(buckets) + 1)  # the last one: above every bound (+Inf)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def collect(self) -> Iterator[Metric]:
        cumulative: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip((*self._bounds, float("inf")), self._counts, strict=True):
            total += count
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), total))
        yield HistogramMetricFamily(
            self.name, self.documentation, buckets=cumulative, sum_value=self._sum
        )


class LoopCounter(Collector):
    """A labelled counter incremented and collected on the event loop's thread only (as
    :class:`LoopHistogram`): a count is a dict value."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self._counts: dict[tuple[str, ...], int] = {}

    def inc(self, *values: str) -> None:
        counts = self._counts
        counts[values] = counts.get(values, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, count in list(self._counts.items()):
            family.add_metric(list(values), count)
        yield family
