"""What a hub node publishes on the Socket.IO channel, against a real Redis of its own: messages
published together go out together (a pipeline, not a round trip each) and arrive in the order
of the calls; a Redis that is gone gives every caller a refusal, after which publishing works
again once it is back."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from domain.errors import Unavailable
from signaling.transport import ROOM_PROBE as PROBE
from signaling.transport import HubRedisManager
from tests.support.redis_server import RedisProcess

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
