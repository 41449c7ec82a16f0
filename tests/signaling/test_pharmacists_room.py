"""The pharmacists' room of the hub: every pharmacist's socket joins it on connect, and an event
sent to it reaches the pharmacists on every node (two apps in one process sharing Redis), and
nobody else (PROTOCOL "Prescriptions that a pharmacist reviews")."""

from __future__ import annotations

import asyncio

import pytest

from domain.users import Role
from server import keys
from server.settings import RedisSettings, Settings
from tests.clock import FakeClock
from tests.signaling.conftest import ClinicFactory

pytestmark = pytest.mark.redis


async def test_an_event_for_pharmacists_reaches_them_on_every_node_and_no_one_else(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    clock = FakeClock()
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    one = await make_clinic(shared, clock=clock)
    two = await make_clinic(shared, clock=clock)
    here = await one.connect(await one.user(Role.PHARMACIST))
    there = await two.connect(await one.user(Role.PHARMACIST))
    others = [
        await one.connect(await one.user(role)) for role in (Role.PATIENT, Role.DOCTOR, Role.ADMIN)
    ]
    queued = {"prescription_id": "p1", "patient_id": "u1"}
    await one.client.app[keys.HUB].push_to_pharmacists("pharmacy:review_queued", queued)
    assert await there.wait_for("pharmacy:review_queued") == queued  # the other node's
    assert await here.wait_for("pharmacy:review_queued") == queued
    await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
    assert [o.received("pharmacy:review_queued") for o in others] == [[], [], []]
    assert here.received("pharmacy:review_queued") == [queued]  # once, not once per node
