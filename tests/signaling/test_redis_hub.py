"""Two apps in one process sharing Redis and the database: the Redis registry and the Redis
manager are wired by create_app, and start and stop cleanly (warnings are errors here)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis.asyncio

from domain.users import Role
from server import keys
from server.settings import RedisSettings, Settings
from tests.clock import FakeClock
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import in_call, joined

pytestmark = pytest.mark.redis


async def test_two_nodes_share_rooms_and_events(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    clock = FakeClock()
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    one = await make_clinic(shared, clock=clock)
    two = await make_clinic(shared, clock=clock)
    patient = await one.user(Role.PATIENT)
    doctor = await one.user(Role.DOCTOR)
    admin = await one.user(Role.ADMIN)
    appointment = await one.appointment(patient, doctor)
    ref = {"appointment_id": appointment}

    feed = await one.connect(admin, namespace="/admin")
    await feed.wait_for("rooms:snapshot")
    p = await joined(one, patient, appointment)
    d = await joined(two, doctor, appointment)
    assert [x["role"] for x in (await d.call("consult:join", ref))["room"]["participants"]] == [
        "doctor",
        "patient",
    ]
    assert (await d.call("consult:admit", ref))["ok"] is True
    await p.wait_for("consult:admitted")
    await d.call("rtc:signal", {**ref, "data": {"type": "offer", "sdp": "v=0"}})
    assert (await p.wait_for("rtc:signal"))["from"] == doctor["id"]
    await p.call("chat:send", {**ref, "client_msg_id": "x", "text": "hello"})
    assert (await d.wait_for("chat:message"))["seq"] == 1
    await feed.wait_for("rooms:update", lambda s: s["message_count"] == 1)  # from node two's peer

    # The other node lists the same room.
    assert [r.appointment_id for r in await two.client.app[keys.HUB].rooms()] == [appointment]


async def test_signals_between_sockets_of_one_node_are_not_published(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    """With Redis, an emit to one socket of this node is delivered without a publish (nobody
    else has that socket); a signal to a socket on another node still crosses Redis."""
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    clock = FakeClock()
    one = await make_clinic(shared, clock=clock)
    two = await make_clinic(shared, clock=clock)
    patient, doctor = await one.user(Role.PATIENT), await one.user(Role.DOCTOR)
    appointment = await one.appointment(patient, doctor)
    ref = {"appointment_id": appointment}
    p, d = await in_call(one, patient, doctor, appointment)

    channel = f"telemed:{shared.database.mongodb_database}:socketio"
    watcher = redis.asyncio.Redis.from_url(redis_url)
    pubsub = watcher.pubsub()
    await pubsub.subscribe(channel)
    try:
        await pubsub.get_message(timeout=1)  # the subscription confirmation

        async def published(within: float = 0.5) -> list[Any]:
            seen = []
            loop = asyncio.get_running_loop()
            until = loop.time() + within
            while (left := until - loop.time()) > 0:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                if message is not None:
                    seen.append(json.loads(message["data"]))
            return seen

        assert (await d.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["delivered"]
        await p.wait_for("rtc:signal")
        assert [m for m in await published() if m.get("event") == "rtc:signal"] == []

        d2 = await two.connect(doctor)  # the doctor moves to node two
        assert (await d2.call("consult:join", ref))["ok"]
        assert (await p.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["delivered"]
        await d2.wait_for("rtc:signal")
        assert [m["event"] for m in await published() if m.get("event") == "rtc:signal"] == [
            "rtc:signal"
        ]
    finally:
        await pubsub.aclose()
        await watcher.aclose()
