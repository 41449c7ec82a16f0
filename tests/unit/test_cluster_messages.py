"""The cluster protocol without Redis (signaling/cluster.py): the wire format of each message,
what a malformed one becomes, and what a node's listener does with each; the Redis manager's
publishing and listening are tested against a real Redis in tests/signaling/test_redis_publish.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from signaling.cluster import (
    RELAY,
    ROOM_CHANGED,
    SESSION_ENDED,
    MemoryBus,
    NodeListener,
    RedisBus,
    Relay,
    RoomChanged,
    SessionEnded,
    relay_from_wire,
)


def test_the_wire_format_is_the_one_every_node_version_reads() -> None:
    assert RoomChanged("a" * 24, 7).wire("host-1") == {
        "method": ROOM_CHANGED,
        "appointment_id": "a" * 24,
        "rev": 7,
        "host_id": "host-1",
    }
    assert SessionEnded("s-1", "signed_out").wire("host-1") == {
        "method": SESSION_ENDED,
        "session_id": "s-1",
        "reason": "signed_out",
        "host_id": "host-1",
    }
    signal = {"appointment_id": "a" * 24, "from": "u1", "data": {"type": "bye"}}
    relay = Relay(appointment_id="a" * 24, from_sid="sid-a", to="sid-b", signal=signal)
    assert relay == {
        "appointment_id": "a" * 24,
        "from_sid": "sid-a",
        "to": "sid-b",
        "signal": signal,
    }
    # Read as it arrives, with the method and sender the manager adds (no copy).
    wire = {**relay, "method": RELAY, "host_id": "h"}
    assert relay_from_wire(wire) is wire
    assert RoomChanged.from_wire(RoomChanged("b" * 24, 3).wire("h")) == RoomChanged("b" * 24, 3)
    ended = SessionEnded("s-1", "revoked")
    assert SessionEnded.from_wire(ended.wire("h")) == ended


@pytest.mark.parametrize(
    "fields",
    [
        {"to": 5, "appointment_id": "a", "from_sid": "x"},
        {"to": "b", "appointment_id": None, "from_sid": "x"},
        {"to": "b", "appointment_id": "a"},  # no sender
        {"to": "b", "appointment_id": "a", "from_sid": ["x"]},
    ],
)
def test_a_relay_without_its_addresses_is_not_read(fields: dict[str, Any]) -> None:
    assert relay_from_wire({**fields, "signal": {}}) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"session_id": "s" * 65, "reason": "signed_out"},
        {"session_id": "s 1", "reason": "signed_out"},
        {"session_id": "s1", "reason": "Signed Out"},
        {"session_id": "s1"},
        {"session_id": 1, "reason": "signed_out"},
    ],
)
def test_a_malformed_session_ending_is_not_read(fields: dict[str, Any]) -> None:
    assert SessionEnded.from_wire({"method": SESSION_ENDED, **fields}) is None


class Cache:
    def __init__(self) -> None:
        self.heard: list[tuple[str, Any]] = []

    def room_changed(self, appointment_id: str, rev: int) -> None:
        self.heard.append(("change", (appointment_id, rev)))

    def listening(self, live: bool) -> None:
        self.heard.append(("listening", live))


class Node:
    def __init__(self) -> None:
        self.relays: list[Relay] = []
        self.ended: list[tuple[str, str]] = []

    async def relayed(self, relay: Relay) -> None:
        self.relays.append(relay)

    def session_ended(self, session_id: str, reason: str) -> None:
        self.ended.append((session_id, reason))


async def test_a_nodes_listener_sends_room_news_to_its_cache_and_the_rest_to_the_hub() -> None:
    cache, node = Cache(), Node()
    listener = NodeListener(cache, relayed=node.relayed, session_ended=node.session_ended)
    listener.listening(True)
    listener.room_changed("a" * 24, 4)
    relay = Relay(appointment_id="a" * 24, from_sid="x", to="y", signal={})
    await listener.relayed(relay)
    listener.session_ended("s1", "signed_out")
    assert cache.heard == [("listening", True), ("change", ("a" * 24, 4))]
    assert node.relays == [relay]
    assert node.ended == [("s1", "signed_out")]

    # Without a cache (rooms in memory), room news are nobody's business.
    alone = NodeListener(None, relayed=node.relayed, session_ended=node.session_ended)
    alone.listening(False)
    alone.room_changed("a" * 24, 5)
    assert cache.heard == [("listening", True), ("change", ("a" * 24, 4))]


class Manager:
    """The part of the Redis manager the bus uses: what it would publish, and its listener."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.node: str | None = None
        self.events: Any = None

    def serve_node(self, node: str) -> None:
        self.node = node

    async def publish_room_change(self, appointment_id: str, rev: int) -> None:
        self.sent.append(("change", (appointment_id, rev)))

    async def publish_relay(self, message: dict[str, Any], node: str | None = None) -> None:
        self.sent.append(("relay", (message, node)))

    async def publish_session_ended(self, session_id: str, reason: str) -> None:
        self.sent.append(("ended", (session_id, reason)))

    async def close_connections(self) -> None:
        self.sent.append(("closed", None))


async def test_the_redis_bus_publishes_each_message_and_reads_relays_once() -> None:
    manager, cache, node = Manager(), Cache(), Node()
    bus = RedisBus(manager)  # type: ignore[arg-type]
    assert bus.shared
    bus.serve("node-1", NodeListener(cache, relayed=node.relayed, session_ended=node.session_ended))
    assert manager.node == "node-1"

    relay = Relay(appointment_id="a" * 24, from_sid="x", to="y", signal={"data": 1})
    await bus.room_changed("a" * 24, 2)
    await bus.relay(relay, node="node-2")
    await bus.session_ended("s1", "revoked")
    await bus.close()
    assert manager.sent == [
        ("change", ("a" * 24, 2)),
        ("relay", (relay, "node-2")),
        ("ended", ("s1", "revoked")),
        ("closed", None),
    ]

    # What the manager hears: a relay in its wire form is read once; a malformed one is dropped.
    await manager.events.relayed({**relay, "method": RELAY, "host_id": "other"})
    await manager.events.relayed({"method": RELAY, "to": "y", "host_id": "other"})
    manager.events.room_changed("a" * 24, 3)
    manager.events.listening(True)
    manager.events.session_ended("s2", "signed_out")
    assert [{key: r[key] for key in relay} for r in node.relays] == [relay]  # type: ignore[literal-required]
    assert cache.heard == [("change", ("a" * 24, 3)), ("listening", True)]
    assert node.ended == [("s2", "signed_out")]


async def test_one_process_has_nobody_to_tell() -> None:
    bus = MemoryBus()
    assert not bus.shared
    bus.serve("node-1", NodeListener(None, relayed=Node().relayed, session_ended=print))
    await bus.room_changed("a" * 24, 1)
    await bus.session_ended("s1", "signed_out")
    relay = Relay(appointment_id="a" * 24, from_sid="x", to="y", signal={})
    with pytest.raises(RuntimeError):
        await bus.relay(relay, node=None)
    await bus.close()
