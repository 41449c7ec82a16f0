"""The hub's Prometheus metrics, registered on the application's registry.

``telemed_hub_rooms_active`` and ``telemed_hub_patients_waiting`` describe the whole deployment
(every node reports the same value from the shared registry: aggregate them with ``max``);
``telemed_hub_sockets_connected`` counts this process's sockets (aggregate with ``sum``).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
        self.relay_latency = Histogram(
            "telemed_hub_signal_relay_seconds",
            "Time from receiving an rtc:signal to handing it to the other participant",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.chat_ack_latency = Histogram(
            "telemed_hub_chat_ack_seconds",
            "Time from receiving a chat:send to acknowledging it (stored durably)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "telemed_hub_events_total",
            "Socket.IO events answered, by event and outcome (ok or the error code)",
            ["event", "outcome"],
            registry=r,
        )
        self.connections_refused = Counter(
            "telemed_hub_connections_refused_total",
            "Socket.IO connections refused, by reason",
            ["reason"],
            registry=r,
        )
        # The labelled children, looked up once (labels() takes a lock and builds a key).
        self._events: dict[tuple[str, str], Any] = {}

    def event(self, event: str, outcome: str) -> Any:
        """``events.labels(event, outcome)``, remembered (events and outcomes are few)."""
        child = self._events.get((event, outcome))
        if child is None:
            child = self._events[(event, outcome)] = self.events.labels(event, outcome)
        return child
