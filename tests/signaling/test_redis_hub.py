"""Two apps in one process sharing Redis and the database: the Redis registry and the Redis
manager are wired by create_app, and start and stop cleanly (warnings are errors here)."""

from __future__ import annotations

import pytest

from domain.users import Role
from server import keys
from server.settings import RedisSettings, Settings
from tests.clock import FakeClock
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import joined

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
