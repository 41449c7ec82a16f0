"""Two apps in one process sharing Redis and the database: the Redis registry and the Redis
manager are wired by create_app, and start and stop cleanly (warnings are errors here)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from domain.users import Role
from server import keys
from server.settings import RedisSettings, Settings
from tests.clock import FakeClock
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient, in_call, joined
from tests.support.redis_server import RedisProcess
from tests.support.waiting import poll

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
    else has that socket); a signal to a socket on another node still crosses Redis, on the
    channel of that node alone."""
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
    await pubsub.psubscribe(f"{channel}*")  # the shared channel and every node's
    try:
        await pubsub.get_message(timeout=1)  # the subscription confirmation

        async def published(within: float = 0.5) -> list[Any]:
            seen = []
            loop = asyncio.get_running_loop()
            until = loop.time() + within
            while (left := until - loop.time()) > 0:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                if message is not None:
                    data = json.loads(message["data"])
                    seen.append({**data, "channel": message["channel"].decode()})
            return seen

        def signals(messages: list[Any]) -> list[Any]:
            """Signals on the channel: an emit, or the hub's relay to another node."""
            return [m for m in messages if m.get("event") == "rtc:signal" or "signal" in m]

        assert (await d.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["delivered"]
        await p.wait_for("rtc:signal")
        assert signals(await published()) == []

        d2 = await two.connect(doctor)  # the doctor moves to node two
        assert (await d2.call("consult:join", ref))["ok"]
        assert (await p.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["delivered"]
        await d2.wait_for("rtc:signal")
        crossing = signals(await published())
        assert [(m["method"], m["to"]) for m in crossing] == [("hub_relay", d2.sid)]
        node_two = two.client.app[keys.HUB].node_id
        assert crossing[0]["channel"] == f"{channel}:node:{node_two}"
    finally:
        await pubsub.aclose()
        await watcher.aclose()


@dataclass
class SplitCall:
    """A consultation admitted across two nodes: the patient on ``two``, the doctor on ``one``."""

    one: Clinic
    two: Clinic
    patient: dict[str, Any]
    appointment: str
    patient_socket: HubClient
    doctor_socket: HubClient


async def _split_call(make_clinic: ClinicFactory, settings: Settings, redis_url: str) -> SplitCall:
    """Two nodes on Redis, a call across them, and a signal each way: both nodes know the room."""
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    clock = FakeClock()
    one = await make_clinic(shared, clock=clock)
    two = await make_clinic(shared, clock=clock)
    patient, doctor = await one.user(Role.PATIENT), await one.user(Role.DOCTOR)
    appointment = await one.appointment(patient, doctor)
    ref = {"appointment_id": appointment}
    p = await joined(two, patient, appointment)
    d = await joined(one, doctor, appointment)
    assert (await d.call("consult:admit", ref))["ok"]
    await p.wait_for("consult:admitted")
    assert (await d.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["delivered"]
    await p.wait_for("rtc:signal")
    assert (await p.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["delivered"]
    await d.wait_for("rtc:signal")
    return SplitCall(one, two, patient, appointment, p, d)


def _is_seq(event: str, data: Any, seq: int) -> bool:
    return event == "rtc:signal" and data["data"].get("seq") == seq


def _signals_after_closed(client: Any) -> list[Any]:
    events = [e for e, _ in client.events]
    closed = events.index("consult:closed")
    return [d for e, d in client.events[closed:] if e == "rtc:signal"]


@pytest.mark.parametrize("new_socket_on", ["doctor's node", "other node"])
async def test_a_replaced_seat_gets_no_signal_once_it_is_closed(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str, new_socket_on: str
) -> None:
    """Each node relays from the rooms it knows (no Redis read per signal); while the doctor
    signals without pause, the patient's seat moves to a new socket: the old socket gets no
    signal after its ``consult:closed``, and the new one gets the signals."""
    call = await _split_call(make_clinic, settings, redis_url)
    one, two, patient, appointment = call.one, call.two, call.patient, call.appointment
    ref, p1, d = {"appointment_id": appointment}, call.patient_socket, call.doctor_socket
    registry = one.client.app[keys.HUB].consult.registry
    assert registry.known(appointment) is not None  # the doctor's node relays from its cache

    sending = True

    async def signal_all_along() -> int:
        sent = 0
        while sending or sent < 20:
            ack = await d.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": sent}})
            assert ack["ok"], ack
            sent += 1
        return sent

    signals = asyncio.ensure_future(signal_all_along())
    p2 = await (one if new_socket_on == "doctor's node" else two).connect(patient)
    assert (await p2.call("consult:join", ref))["ok"]
    await p1.wait_for("consult:closed")
    await p2.wait_for("rtc:signal")
    sending = False
    await signals
    # A last signal and a barrier behind it on the channel (typing goes to the room).
    assert (await d.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": -1}}))["delivered"]
    await p2.wait_for("rtc:signal", lambda s: s["data"]["seq"] == -1)
    assert (await d.call("chat:typing", {**ref, "typing": True}))["ok"]
    await p2.wait_for("chat:typing")
    assert _signals_after_closed(p1) == []


async def test_a_stale_view_is_checked_again_on_the_node_of_the_socket(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    """Should a node relay from a room older than the registry's (an announcement not heard
    yet), the node holding the target socket delivers only if, as it knows the room, that
    socket still holds the seat the sender signals to."""
    call = await _split_call(make_clinic, settings, redis_url)
    one, two, patient, appointment = call.one, call.two, call.patient, call.appointment
    ref, p1, d = {"appointment_id": appointment}, call.patient_socket, call.doctor_socket
    registry = one.client.app[keys.HUB].consult.registry
    stale = registry.known(appointment)
    assert stale is not None
    assert stale.seat_of_sid(p1.sid) is not None

    p2 = await two.connect(patient)  # the seat moves to another socket of node two
    assert (await p2.call("consult:join", ref))["ok"]
    await p1.wait_for("consult:closed")
    registry._cache[appointment] = (stale, registry._monotonic())  # as if not heard yet

    ack = await d.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": 1}})
    assert ack["delivered"]  # node one routed it to p1's node, from its stale view
    assert (await d.call("chat:typing", {**ref, "typing": True}))["ok"]  # behind it
    await p2.wait_for("chat:typing")
    assert _signals_after_closed(p1) == []


async def test_a_redis_restart_without_its_data_leaves_no_stale_room_in_use(
    make_clinic: ClinicFactory, settings: Settings, tmp_path: Path
) -> None:
    """Redis stops under a call across two nodes and comes back empty (no persistence): while it
    is gone a signal is refused with ``unavailable`` or delivered, never lost with a success ack
    and never a failed handler; once the nodes hear the channel again nothing they cached before
    is used: the participants join again (the room is new), both nodes see it, and signals go
    to the patient's new socket only, the old one getting nothing."""
    redis = RedisProcess(tmp_path / "redis", persistent=False)
    await asyncio.to_thread(redis.start)
    try:
        call = await _split_call(make_clinic, settings, redis.url)
        one, two, patient, appointment = call.one, call.two, call.patient, call.appointment
        ref, p1, d = {"appointment_id": appointment}, call.patient_socket, call.doctor_socket
        registries = [c.client.app[keys.HUB].consult.registry for c in (one, two)]
        assert all(r.hearing for r in registries)

        await asyncio.to_thread(redis.stop)
        await poll(lambda: not any(r.hearing for r in registries))
        manager = one.client.app[keys.HUB].sio.manager
        assert all(r.known(appointment) is None for r in registries)
        before = len(p1.events)
        ack = await d.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": 1}})
        if ack["ok"]:
            assert ack["delivered"] is True
            await p1.wait_for("rtc:signal", lambda s: s["data"].get("seq") == 1)
        else:
            assert ack["error"]["code"] == "unavailable", ack
        # What the failed publishes began ends: no probe sent again and again while Redis is down.
        await poll(lambda: manager._probing is None or manager._probing.done(), within=5)

        await asyncio.to_thread(redis.start)  # the same port, nothing in it
        await poll(lambda: all(r.hearing for r in registries), within=20)
        for r in registries:
            assert r.known(appointment) is None
            assert await r.get(appointment) is None

        # Housekeeping takes the sockets whose seats were lost out of the room's broadcasts.
        hubs = {p1.sid: two.client.app[keys.HUB], d.sid: one.client.app[keys.HUB]}
        await poll(lambda: all(h._sockets[sid].appointment_id is None for sid, h in hubs.items()))
        # ... and tells them, so that a browser joins again by itself.
        for socket in (p1, d):
            assert await socket.wait_for("consult:seat_lost") == ref
        # The room is gone: an in-room event says so (join first), and nothing is relayed.
        refused = await d.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": 2}})
        assert refused["error"]["code"] == "forbidden", refused

        # The patient comes back on a new socket of its node and the doctor joins again: the
        # consultation is in progress (the database says so), so both are admitted at once.
        p2 = await two.connect(patient)
        rejoined = await p2.call("consult:join", ref)
        assert (rejoined["ok"], rejoined["state"]) == (True, "admitted"), rejoined
        again = await d.call("consult:join", ref)
        assert (again["ok"], again["state"]) == (True, "admitted"), again
        for r in registries:  # both nodes see the new room, with the new socket in it
            room = await r.get(appointment)
            assert room is not None
            assert room.seat_of_sid(p2.sid) is not None
            assert room.seat_of_sid(p1.sid) is None
        assert (await d.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": 3}}))["delivered"]
        await p2.wait_for("rtc:signal", lambda s: s["data"].get("seq") == 3)
        assert (await p2.call("rtc:signal", {**ref, "data": {"type": "bye", "seq": 4}}))["ok"]
        await d.wait_for("rtc:signal", lambda s: s["data"].get("seq") == 4)
        # A barrier behind the signals on the channel: room events reach p2, none reaches p1.
        assert (await d.call("chat:typing", {**ref, "typing": True}))["ok"]
        await p2.wait_for("chat:typing")
        assert (await p1.call("rtc:signal", {**ref, "data": {"type": "bye"}}))["ok"] is False
        # p1 got nothing since the outage began (but the signal sent during it, if delivered).
        late = [
            (e, s)
            for e, s in p1.events[before:]
            if not _is_seq(e, s, 1) and e != "consult:seat_lost"
        ]
        assert late == []
    finally:
        await asyncio.to_thread(redis.stop)
