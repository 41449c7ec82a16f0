"""Prometheus metrics, one registry per application (so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "telemed_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "telemed_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.logins = Counter("telemed_logins_total", "Sign-in attempts", ["outcome"], registry=r)
        self.ready = Gauge(
            "telemed_dependency_up", "1 when a dependency answers", ["dependency"], registry=r
        )
        self.precall_peers = Gauge(
            "telemed_precall_peers", "Pre-call check peers open in this process", registry=r
        )
        self.recordings = Gauge(
            "telemed_recordings_running", "Consultation recordings this process writes", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
