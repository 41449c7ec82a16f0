"""What a hub node publishes on the Socket.IO channel, against a real Redis of its own: messages
published together go out together (a pipeline, not a round trip each) and arrive in the order
of the calls; a relay goes to its target node alone, in that order with the room changes; a
Redis that is gone gives every caller a refusal, after which publishing works again once it is
back."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from domain.errors import Unavailable
from signaling.transport import ROOM_PROBE as PROBE
from signaling.transport import HubRedisManager
from tests.support.redis_server import RedisProcess
from tests.support.waiting import poll

pytestmark = pytest.mark.redis


@pytest.fixture
def channel() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:socketio"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RedisProcess]:
    process = RedisProcess(tmp_path / "redis", persistent=False)
    await asyncio.to_thread(process.start)
    try:
        yield process
    finally:
        await asyncio.to_thread(process.stop)


@pytest.fixture
async def manager(server: RedisProcess, channel: str) -> AsyncIterator[HubRedisManager]:
    node = HubRedisManager(server.url, channel=channel)
    try:
        yield node
    finally:
        await node.close_connections()


@asynccontextmanager
async def subscribed(url: str, channel: str) -> AsyncIterator[tuple[Any, Any]]:
    """A client of the server and its subscription to the channel, confirmed."""
    watcher = redis.asyncio.Redis.from_url(url)
    pubsub = watcher.pubsub()
    await pubsub.subscribe(channel)
    try:
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        yield watcher, pubsub
    finally:
        await pubsub.aclose()
        await watcher.aclose()


class Heard:
    """What a listening node makes of the hub's messages (transport.RoomEvents), in order."""

    def __init__(self) -> None:
        self.order: list[tuple[str, Any]] = []
        self.live = asyncio.Event()

    def room_changed(self, appointment_id: str, rev: int) -> None:
        self.order.append(("change", rev))

    def listening(self, live: bool) -> None:
        if live:
            self.live.set()

    async def relayed(self, message: dict[str, Any]) -> None:
        self.order.append(("relay", message["to"]))

    def session_ended(self, session_id: str, reason: str) -> None:
        self.order.append(("ended", session_id))


@asynccontextmanager
async def listening(url: str, channel: str, node: str) -> AsyncIterator[Heard]:
    """A node serving ``node`` that hears its channels (its listener, without a Socket.IO
    server: the hub's own messages need none), once it knows it hears them."""
    manager = HubRedisManager(url, channel=channel)
    manager.serve_node(node)
    heard = Heard()
    manager.events = heard

    async def listen() -> None:
        async for _ in manager._listen():  # only the hub's own messages are sent here
            pass

    task = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(heard.live.wait(), 10)
        yield heard
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await manager.close_connections()


async def reads_processed(client: Any) -> int:
    """How many times the server has read from its clients' connections."""
    return int((await client.info("stats"))["total_reads_processed"])


async def received(pubsub: Any, count: int) -> list[dict[str, Any]]:
    """The next ``count`` messages on the channel, less the node's probes of its own hearing."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(seen) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None and (data := json.loads(message["data"]))["method"] != PROBE:
                seen.append(data)
    return seen


async def test_messages_published_together_go_out_together_in_the_order_of_the_calls(
    manager: HubRedisManager, server: RedisProcess, channel: str
) -> None:
    async with subscribed(server.url, channel) as (watcher, pubsub):
        await manager.publish_room_change("b" * 24, 0)  # connected (and its probe sent)
        await received(pubsub, 1)
        reads_before = await reads_processed(watcher)
        relays = [{"appointment_id": "a" * 24, "to": f"sid-{i}", "signal": {}} for i in range(200)]
        changes = [manager.publish_room_change("b" * 24, rev) for rev in range(1, 51)]
        await asyncio.gather(*(manager.publish_relay(r) for r in relays), *changes)
        reads = await reads_processed(watcher) - reads_before - 1  # less the INFO itself
        seen = await received(pubsub, 250)
    assert [m.get("to") for m in seen[:200]] == [f"sid-{i}" for i in range(200)]
    assert [m.get("rev") for m in seen[200:]] == list(range(1, 51))
    assert {m["host_id"] for m in seen} == {manager.host_id}
    assert reads < 25, reads  # the first on its own, the rest in a pipeline (one read each 16 KB)


async def test_publishes_within_the_window_of_the_last_batch_go_out_together_in_order(
    manager: HubRedisManager, server: RedisProcess, channel: str
) -> None:
    """A node under load writes one pipeline per window, not one write per message; a publish
    after a quiet spell goes out at once."""
    manager.publish_window = 0.4
    loop = asyncio.get_running_loop()
    async with subscribed(server.url, channel) as (watcher, pubsub):
        await manager.publish_room_change("b" * 24, 0)  # connected (and its probe sent)
        await received(pubsub, 1)
        await asyncio.sleep(1.0)  # the windows of that batch and of the probe's are over

        started = loop.time()
        await manager.publish_room_change("b" * 24, 1)  # alone, after a quiet spell
        alone = loop.time() - started
        reads_before = await reads_processed(watcher)

        async def spaced(rev: int) -> None:  # one every 10 ms, inside the first one's window
            await asyncio.sleep(0.01 * rev)
            await manager.publish_room_change("b" * 24, rev)

        await asyncio.gather(*(spaced(rev) for rev in range(2, 22)))
        together = loop.time() - started
        reads = await reads_processed(watcher) - reads_before - 1  # less the INFO itself
        seen = await received(pubsub, 21)
    assert alone < 0.2, alone  # not held for the window
    assert 0.4 <= together < 0.8, together  # held until the window's end, then sent at once
    assert [m["rev"] for m in seen] == list(range(1, 22))
    assert reads <= 2, reads  # 20 publishes 10 ms apart: one pipeline


async def test_a_message_that_cannot_be_encoded_fails_alone(
    manager: HubRedisManager, server: RedisProcess, channel: str
) -> None:
    async with subscribed(server.url, channel) as (_, pubsub):
        relays = [
            {"appointment_id": "a" * 24, "to": to, "signal": signal}
            for to, signal in (("first", {}), ("bad", {"not": {1, 2}}), ("last", {}))
        ]
        outcomes = await asyncio.gather(
            *(manager.publish_relay(r) for r in relays), return_exceptions=True
        )
        seen = await received(pubsub, 2)
    assert [o is None for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1], Unavailable)
    assert [m["to"] for m in seen] == ["first", "last"]


async def test_a_redis_that_is_gone_refuses_every_caller_and_publishing_resumes(
    manager: HubRedisManager, server: RedisProcess, channel: str
) -> None:
    relay = {"appointment_id": "a" * 24, "to": "sid", "signal": {}}
    await manager.publish_relay(relay)
    await asyncio.to_thread(server.stop)
    outcomes = await asyncio.gather(
        *(manager.publish_relay(relay) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes

    await asyncio.to_thread(server.start)  # the same port
    async with subscribed(server.url, channel) as (_, pubsub):
        await manager.publish_relay({**relay, "to": "after"})
        seen = await received(pubsub, 1)
    assert seen[0]["to"] == "after"


@pytest.fixture
async def nodes_b_and_c(server: RedisProcess, channel: str) -> AsyncIterator[tuple[Heard, Heard]]:
    """Two other nodes, "node-b" and "node-c", listening."""
    async with (
        listening(server.url, channel, "node-b") as b,
        listening(server.url, channel, "node-c") as c,
    ):
        yield b, c


async def test_a_relay_reaches_its_target_node_alone_in_order_with_the_room_changes(
    manager: HubRedisManager, nodes_b_and_c: tuple[Heard, Heard]
) -> None:
    b, c = nodes_b_and_c
    calls = []
    for i in range(100):
        calls.append(manager.publish_room_change("a" * 24, i))
        relay = {"appointment_id": "a" * 24, "to": f"sid-{i}", "signal": {}}
        calls.append(manager.publish_relay(relay, node="node-b"))
    await asyncio.gather(*calls)
    await manager.publish_room_change("a" * 24, 100)  # the last one
    await poll(lambda: len(b.order) == 201 and len(c.order) == 101, within=10, every=0.01)
    changes = [("change", i) for i in range(100)]
    relays = [("relay", f"sid-{i}") for i in range(100)]
    assert b.order == [x for pair in zip(changes, relays, strict=True) for x in pair] + [
        ("change", 100)
    ]
    assert c.order == [*changes, ("change", 100)]  # relays to another node never reach it


async def test_a_relay_to_a_node_nobody_hears_goes_to_every_node(
    manager: HubRedisManager, nodes_b_and_c: tuple[Heard, Heard]
) -> None:
    """As to a node of an earlier version, which hears relays on the shared channel only."""
    b, c = nodes_b_and_c
    relay = {"appointment_id": "a" * 24, "to": "sid-old", "signal": {}}
    await manager.publish_relay(relay, node="node-old")
    await poll(lambda: b.order and c.order, within=10, every=0.01)
    assert b.order == c.order == [("relay", "sid-old")]


@asynccontextmanager
async def silent_redis() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and reads what it is sent, but never
    answers (a Redis that hangs)."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_a_redis_that_never_answers_refuses_the_callers_within_the_publish_bound() -> None:
    """The clients have no per-command timeout (redis-py's runs each write in a task): each
    attempt to publish is bounded by the manager's own, two attempts in all."""
    async with silent_redis() as url:
        manager = HubRedisManager(url, channel="test:silent:socketio")
        manager.publish_seconds = 0.2
        relay = {"appointment_id": "a" * 24, "to": "sid", "signal": {}}
        started = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(5):
                outcomes = await asyncio.gather(
                    *(manager.publish_relay(relay) for _ in range(3)), return_exceptions=True
                )
        finally:
            await manager.close_connections()
        elapsed = asyncio.get_running_loop().time() - started
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    assert elapsed < 2.0, elapsed
